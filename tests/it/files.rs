//! Files over real HTTP: upload (sniffed type, sha256, stored once, the
//! company's limit), download (bytes, Range, the headers that keep a file
//! inert), who may read a file, thumbnails, and the collector.

use crate::support::*;
use reqwest::Method;
use reqwest::multipart::{Form, Part};
use serde_json::json;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

/// A server with its files on disk or in a local S3 (moto).
pub struct Fx {
    s: Server,
    moto: Option<Moto>,
}

impl std::ops::Deref for Fx {
    type Target = Server;
    fn deref(&self) -> &Server {
        &self.s
    }
}

async fn disk() -> Fx {
    Fx { s: start().await, moto: None }
}

async fn s3() -> Fx {
    let moto = Moto::start().await;
    let files = moto.config();
    Fx { s: start_with(move |c| c.files = files).await, moto: Some(moto) }
}

/// Both backends run the same test.
macro_rules! on_both {
    ($test:ident, $disk:ident, $s3:ident) => {
        #[tokio::test]
        async fn $disk() {
            $test(&disk().await).await
        }
        #[tokio::test]
        async fn $s3() {
            $test(&s3().await).await
        }
    };
}

/// Uploads `bytes` as `name` with `token`.
pub async fn upload(s: &Server, co: &Company, token: &str, name: &str, bytes: Vec<u8>) -> Resp {
    let form = Form::new().part("file", Part::bytes(bytes).file_name(name.to_string()).mime_str("image/png").unwrap());
    s.send(s.req(Method::POST, &co.path("/files"), token).multipart(form)).await
}

/// A small PNG (a gradient), made here.
pub fn png(w: u32, h: u32) -> Vec<u8> {
    let img = image::RgbImage::from_fn(w, h, |x, y| image::Rgb([(x % 256) as u8, (y % 256) as u8, 128]));
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

fn jpeg(w: u32, h: u32) -> Vec<u8> {
    let img = image::RgbImage::from_fn(w, h, |x, y| image::Rgb([(y % 256) as u8, 90, (x % 256) as u8]));
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Jpeg).unwrap();
    out.into_inner()
}

/// Every regular file under `dir`, recursively.
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else { continue };
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() { stack.push(p) } else { out.push(p) }
        }
    }
    out
}

fn files_dir(s: &Server, slug: &str) -> PathBuf {
    s.state().config.data_dir.join("tenants").join(slug).join("files")
}

/// How many pieces of content a company stores (files on disk, or objects
/// in the bucket).
async fn stored(s: &Fx, slug: &str) -> usize {
    match &s.moto {
        Some(m) => m.keys(slug).await.len(),
        None => {
            let dir = files_dir(s, slug);
            files_under(&dir).into_iter().filter(|p| !p.starts_with(dir.join("tmp"))).count()
        }
    }
}

async fn bytes_of(s: &Server, path: &str, token: &str, range: Option<&str>) -> (u16, reqwest::header::HeaderMap, Vec<u8>) {
    let mut req = s.req(Method::GET, path, token);
    if let Some(r) = range {
        req = req.header("range", r);
    }
    let r = req.send().await.unwrap();
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    (status, headers, r.bytes().await.unwrap().to_vec())
}

on_both!(upload_download_and_ranges, upload_download_and_ranges_on_disk, upload_download_and_ranges_on_s3);
async fn upload_download_and_ranges(s: &Fx) {
    let co = s.company("acme", true).await;
    let content: Vec<u8> = (0..300_000u32).map(|i| (i * 7 % 251) as u8).collect();
    let sha = hex::encode(Sha256::digest(&content));
    let up = upload(s, &co, &co.admin, "hisobot 1.bin", content.clone()).await.check(201);
    assert_eq!(up.str("sha256"), sha);
    assert_eq!(up.body["size"], 300_000);
    assert_eq!(up.str("name"), "hisobot 1.bin");
    assert_eq!(up.str("mime"), "application/octet-stream", "not the client's image/png: sniffed");
    let id = up.id();
    let path = co.path(&format!("/files/{id}"));

    let (st, h, body) = bytes_of(s, &path, &co.admin, None).await;
    assert_eq!(st, 200);
    assert_eq!(body, content);
    assert_eq!(h["accept-ranges"], "bytes");
    assert_eq!(h["etag"], format!("\"{sha}\"").as_str());
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert_eq!(h["content-security-policy"], "sandbox; default-src 'none'");
    assert_eq!(h["content-disposition"], "attachment; filename=\"hisobot 1.bin\"; filename*=UTF-8''hisobot%201.bin");

    let (st, h, body) = bytes_of(s, &path, &co.admin, Some("bytes=1000-1999")).await;
    assert_eq!(st, 206);
    assert_eq!(body, content[1000..2000]);
    assert_eq!(h["content-range"], "bytes 1000-1999/300000");
    let (st, h, body) = bytes_of(s, &path, &co.admin, Some("bytes=-10")).await;
    assert_eq!((st, body.as_slice()), (206, &content[299_990..]));
    assert_eq!(h["content-range"], "bytes 299990-299999/300000");
    let (st, _, body) = bytes_of(s, &path, &co.admin, Some("bytes=299000-")).await;
    assert_eq!((st, body.as_slice()), (206, &content[299_000..]));
    let (st, h, _) = bytes_of(s, &path, &co.admin, Some("bytes=300000-")).await;
    assert_eq!(st, 416);
    assert_eq!(h["content-range"], "bytes */300000");

    // Cached: the same ETag is a 304.
    let r = s.req(Method::GET, &path, &co.admin).header("if-none-match", format!("\"{sha}\"")).send().await.unwrap();
    assert_eq!(r.status(), 304);

    // No file, no such id, no token.
    s.send(s.req(Method::POST, &co.path("/files"), &co.admin).multipart(Form::new().text("other", "x"))).await.refused(422, "validation");
    s.get(&co.path("/files/999"), &co.admin).await.refused(404, "not_found");
    s.get(&path, "").await.refused(401, "unauthorized");
}

on_both!(
    active_content_is_an_inert_attachment_and_images_show_in_place,
    active_content_is_an_inert_attachment_and_images_show_in_place_on_disk,
    active_content_is_an_inert_attachment_and_images_show_in_place_on_s3
);
async fn active_content_is_an_inert_attachment_and_images_show_in_place(s: &Fx) {
    let co = s.company("acme", true).await;
    let html = b"<!DOCTYPE html><html><body><script>alert(document.cookie)</script></body></html>".to_vec();
    let up = upload(s, &co, &co.admin, "x.png", html.clone()).await.check(201);
    assert_eq!(up.str("mime"), "text/html", "sniffed, whatever the name and the client's type");
    let (st, h, body) = bytes_of(s, &co.path(&format!("/files/{}", up.id())), &co.admin, None).await;
    assert_eq!((st, body), (200, html));
    assert!(h["content-disposition"].to_str().unwrap().starts_with("attachment;"), "{:?}", h["content-disposition"]);
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert_eq!(h["content-security-policy"], "sandbox; default-src 'none'");

    let svg = b"<svg xmlns=\"http://www.w3.org/2000/svg\" onload=\"alert(1)\"></svg>".to_vec();
    let up = upload(s, &co, &co.admin, "logo.svg", svg).await.check(201);
    let (_, h, _) = bytes_of(s, &co.path(&format!("/files/{}", up.id())), &co.admin, None).await;
    assert!(h["content-disposition"].to_str().unwrap().starts_with("attachment;"));

    let up = upload(s, &co, &co.admin, "rasm.png", png(40, 30)).await.check(201);
    assert_eq!(up.str("mime"), "image/png");
    let (_, h, _) = bytes_of(s, &co.path(&format!("/files/{}", up.id())), &co.admin, None).await;
    assert_eq!(h["content-type"], "image/png");
    assert!(h["content-disposition"].to_str().unwrap().starts_with("inline;"));
    assert_eq!(h["content-security-policy"], "sandbox; default-src 'none'");
}

on_both!(
    a_file_over_the_company_limit_is_refused_and_leaves_nothing,
    a_file_over_the_company_limit_is_refused_and_leaves_nothing_on_disk,
    a_file_over_the_company_limit_is_refused_and_leaves_nothing_on_s3
);
async fn a_file_over_the_company_limit_is_refused_and_leaves_nothing(s: &Fx) {
    let co = s.company("acme", true).await;
    let set = s.put(&co.path("/company"), &co.admin, json!({"file_limit_mb": 1})).await.check(200);
    assert_eq!(set.body["file_limit_mb"], 1);
    let big = vec![7u8; 3 * 1024 * 1024];
    let r = upload(s, &co, &co.admin, "big.bin", big).await.refused(413, "payload_too_large");
    assert_eq!(r.message(), msg_with(idora::i18n::Lang::En, "files.too_large", &[("limit", "1 MB")]));
    assert!(r.message().contains("1 MB"), "{}", r.message());
    assert!(files_under(&files_dir(s, "acme")).is_empty(), "nothing left on disk: {:?}", files_under(&files_dir(s, "acme")));
    // Under the limit: fine.
    upload(s, &co, &co.admin, "ok.bin", vec![1u8; 1000 * 1024]).await.check(201);
    // The global body limit (1 MB by default) does not apply: the company's does.
    s.put(&co.path("/company"), &co.admin, json!({"file_limit_mb": 5})).await.check(200);
    upload(s, &co, &co.admin, "three.bin", vec![4u8; 3 * 1024 * 1024]).await.check(201);
    s.put(&co.path("/company"), &co.admin, json!({"file_limit_mb": 1})).await.check(200);

    // The quota: all files together.
    s.put(&co.path("/company"), &co.admin, json!({"file_limit_mb": 5, "storage_quota_mb": 5})).await.check(200);
    let r = upload(s, &co, &co.admin, "more.bin", vec![2u8; 1500 * 1024]).await.refused(413, "payload_too_large");
    assert!(r.message().contains("5 MB"), "{}", r.message());
    assert_eq!(r.message(), msg_with(idora::i18n::Lang::En, "files.quota", &[("quota", "5 MB")]));
    assert_eq!(stored(s, "acme").await, 2);
    s.put(&co.path("/company"), &co.admin, json!({"file_limit_mb": 0})).await.refused(422, "validation");
    let (_, token) = s.user(&co, "ali", "employee").await;
    s.put(&co.path("/company"), &token, json!({"file_limit_mb": 100})).await.refused(403, "forbidden");
}

on_both!(
    another_user_gets_404_and_the_same_content_is_stored_once,
    another_user_gets_404_and_the_same_content_is_stored_once_on_disk,
    another_user_gets_404_and_the_same_content_is_stored_once_on_s3
);
async fn another_user_gets_404_and_the_same_content_is_stored_once(s: &Fx) {
    let co = s.company("acme", true).await;
    let (_, ali) = s.user(&co, "ali", "employee").await;
    let content = b"same bytes, twice".to_vec();
    let a = upload(s, &co, &co.admin, "a.txt", content.clone()).await.check(201);
    let b = upload(s, &co, &ali, "b.txt", content.clone()).await.check(201);
    assert_ne!(a.id(), b.id());
    assert_eq!(a.str("sha256"), b.str("sha256"));
    assert_eq!(a.str("mime"), "text/plain");
    assert_eq!(stored(s, "acme").await, 1, "stored once");
    // Each reads their own; the other's is not found (never forbidden).
    s.get(&co.path(&format!("/files/{}", a.id())), &ali).await.refused(404, "not_found");
    s.get(&co.path(&format!("/files/{}/thumb", a.id())), &ali).await.refused(404, "not_found");
    s.get(&co.path(&format!("/files/{}", b.id())), &ali).await.check(200);
    // Another company's user: not found either (their token is refused here).
    let other = s.company("other", true).await;
    let r = s.get(&co.path(&format!("/files/{}", a.id())), &other.admin).await;
    assert!(r.status == 403 || r.status == 404, "{}", r.text);
    s.get(&other.path(&format!("/files/{}", a.id())), &other.admin).await.refused(404, "not_found");

    // The cookie session of a browser uploads too (with its CSRF token).
    let br = s.browser("acme", "ali", USER_PASSWORD).await;
    let form = Form::new().part("file", Part::bytes(b"from the page".to_vec()).file_name("p.txt"));
    let r = br.http.post(s.url(&co.path("/files"))).header("x-csrf-token", &br.csrf).multipart(form).send().await.unwrap();
    assert_eq!(r.status(), 201);
}

on_both!(images_get_thumbnails, images_get_thumbnails_on_disk, images_get_thumbnails_on_s3);
async fn images_get_thumbnails(s: &Fx) {
    let co = s.company("acme", true).await;
    for (name, bytes) in [("rasm.png", png(1200, 800)), ("foto.jpg", jpeg(640, 960))] {
        let up = upload(s, &co, &co.admin, name, bytes.clone()).await.check(201);
        let path = co.path(&format!("/files/{}/thumb", up.id()));
        let mut got = None;
        for _ in 0..200 {
            let (st, h, body) = bytes_of(s, &path, &co.admin, None).await;
            // Until the thumbnail is made, the photo itself stands in (never a broken image).
            assert_eq!(st, 200, "{name}");
            if body != bytes {
                got = Some((h, body));
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        }
        let (h, body) = got.unwrap_or_else(|| panic!("no thumbnail for {name} in 5 s"));
        assert_eq!(h["content-type"], "image/jpeg");
        let img = image::load_from_memory(&body).unwrap();
        assert_eq!(img.width().max(img.height()), 320, "{name}: {}x{}", img.width(), img.height());
    }
    let tenant = s.state().tenants.get("acme").unwrap();
    assert_eq!(idora::store::check::verify_tenant(tenant.db().unwrap()).unwrap(), vec![], "thumbnails are counted");
    // Not an image: no thumbnail.
    let up = upload(s, &co, &co.admin, "a.txt", b"hello".to_vec()).await.check(201);
    s.get(&co.path(&format!("/files/{}/thumb", up.id())), &co.admin).await.refused(404, "not_found");
    // An image that does not decode is stored, without a thumbnail.
    let mut broken = png(100, 100);
    broken.truncate(60);
    upload(s, &co, &co.admin, "broken.png", broken).await.check(201);
}

on_both!(
    the_collector_removes_unreferenced_files_after_the_grace_period,
    the_collector_removes_unreferenced_files_after_the_grace_period_on_disk,
    the_collector_removes_unreferenced_files_after_the_grace_period_on_s3
);
async fn the_collector_removes_unreferenced_files_after_the_grace_period(s: &Fx) {
    let co = s.company("acme", true).await;
    let a = upload(s, &co, &co.admin, "a.bin", vec![1u8; 5000]).await.check(201).id();
    let b = upload(s, &co, &co.admin, "b.bin", vec![1u8; 5000]).await.check(201).id();
    let c = upload(s, &co, &co.admin, "c.bin", vec![2u8; 5000]).await.check(201).id();
    let tenant = s.state().tenants.get("acme").unwrap();
    let admin_id = co.admin_id;
    // `b` is attached to a message; `a` and `c` are not.
    tenant.db().unwrap().write(move |tx| idora::files::attach(tx, admin_id, &[b], 5, 50).map(|_| ())).await.unwrap();
    assert_eq!(idora::files::gc(s.state(), &tenant).await.unwrap(), 0, "within the grace period nothing goes");
    s.advance(jiff::SignedDuration::from_hours(25));
    assert_eq!(idora::files::gc(s.state(), &tenant).await.unwrap(), 2);
    // (A day later: signed in again.)
    let co = Company { admin: s.login("acme", "boss", ADMIN_PASSWORD).await.check(200).str("access_token"), ..co };
    s.get(&co.path(&format!("/files/{a}")), &co.admin).await.refused(404, "not_found");
    s.get(&co.path(&format!("/files/{c}")), &co.admin).await.refused(404, "not_found");
    // `a`'s content is `b`'s too: kept while `b` is referenced.
    let (st, _, body) = bytes_of(s, &co.path(&format!("/files/{b}")), &co.admin, None).await;
    assert_eq!((st, body), (200, vec![1u8; 5000]));
    assert_eq!(stored(s, "acme").await, 1);
    // Detached (the message deleted): it goes too, and the disk is empty.
    tenant.db().unwrap().write(move |tx| idora::files::detach(tx, 50, &[b])).await.unwrap();
    assert_eq!(idora::store::check::verify_tenant(tenant.db().unwrap()).unwrap(), vec![]);
    assert_eq!(idora::files::gc(s.state(), &tenant).await.unwrap(), 1);
    assert_eq!(stored(s, "acme").await, 0);
    assert_eq!(idora::store::check::verify_tenant(tenant.db().unwrap()).unwrap(), vec![]);
    assert_eq!(s.get(&co.path("/company"), &co.admin).await.check(200).body["storage_used_bytes"], 0);

    // Content no record counts (a crash between storing an upload and
    // recording it) goes with the next collection; counted content stays.
    let kept = upload(s, &co, &co.admin, "kept.bin", vec![5u8; 100]).await.check(201);
    let stray = hex::encode(Sha256::digest(b"stray"));
    let temp = s.state().config.data_dir.join("stray.tmp");
    std::fs::write(&temp, b"stray").unwrap();
    s.state().files.put("acme", &stray, &temp, 5).await.unwrap();
    assert_eq!(stored(s, "acme").await, 2);
    idora::files::gc(s.state(), &tenant).await.unwrap();
    assert_eq!(stored(s, "acme").await, 1);
    let (st, _, body) = bytes_of(s, &co.path(&format!("/files/{}", kept.id())), &co.admin, None).await;
    assert_eq!((st, body), (200, vec![5u8; 100]));
}

#[tokio::test]
async fn attaching_checks_owner_duplicates_and_count() {
    let s = &disk().await;
    let co = s.company("acme", true).await;
    let (ali_id, ali) = s.user(&co, "ali", "employee").await;
    let mine = upload(s, &co, &ali, "a.txt", b"a".to_vec()).await.check(201).id();
    let theirs = upload(s, &co, &co.admin, "b.txt", b"b".to_vec()).await.check(201).id();
    let db = s.state().tenants.get("acme").unwrap();
    let db = db.db().unwrap();
    let e = db.write(move |tx| idora::files::attach(tx, ali_id, &[mine, theirs], 1, 2).map(|_| ())).await.unwrap_err();
    assert_eq!((e.kind, e.field), (idora::error::ErrorKind::Validation, Some("file_ids")));
    assert!(e.info().message(idora::i18n::Lang::En).contains(&theirs.to_string()));
    let e = db.write(move |tx| idora::files::attach(tx, ali_id, &[mine, mine], 1, 2).map(|_| ())).await.unwrap_err();
    assert_eq!(e.field, Some("file_ids"));
    let many = vec![mine; 11];
    assert!(db.write(move |tx| idora::files::attach(tx, ali_id, &many, 1, 2).map(|_| ())).await.is_err());
    let got = db.write(move |tx| idora::files::attach(tx, ali_id, &[mine], 1, 2)).await.unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].name, "a.txt");
    assert_eq!(idora::store::check::verify_tenant(db).unwrap(), vec![], "the file tables are in step");

    // `idora check --deep` reports a reference to a file that has no record.
    db.write(|tx| {
        tx.open_table(idora::store::schema::FILE_REFS)
            .map_err(idora::store::store_err)?
            .insert((777, 3), 9)
            .map_err(idora::store::store_err)?;
        Ok(())
    })
    .await
    .unwrap();
    let found = idora::store::check::verify_tenant(db).unwrap();
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].to_string(), "file_refs: stray (777, 3) → 9");
}

/// A file larger than one part goes to S3 as a multipart upload and comes
/// back whole, and by ranges across the parts.
#[tokio::test]
async fn a_large_file_goes_up_in_parts_on_s3() {
    let s = &s3().await;
    let co = s.company("acme", true).await;
    let content: Vec<u8> = (0..(20u32 << 20)).map(|i| (i % 241) as u8).collect();
    let up = upload(s, &co, &co.admin, "big.bin", content.clone()).await.check(201);
    assert_eq!(up.str("sha256"), hex::encode(Sha256::digest(&content)));
    assert_eq!(stored(s, "acme").await, 1);
    let path = co.path(&format!("/files/{}", up.id()));
    let (st, _, body) = bytes_of(s, &path, &co.admin, None).await;
    assert!(st == 200 && body == content, "the whole file comes back");
    let (st, h, body) = bytes_of(s, &path, &co.admin, Some("bytes=8388000-8389000")).await;
    assert_eq!((st, body.as_slice()), (206, &content[8_388_000..=8_389_000]));
    assert_eq!(h["content-range"], "bytes 8388000-8389000/20971520");
}

/// The company page of the admin console shows and changes the file limits.
#[tokio::test]
async fn the_admin_sets_the_file_limits_on_the_company_page() {
    let s = &disk().await;
    let co = s.company("acme", true).await;
    upload(s, &co, &co.admin, "a.bin", vec![3u8; 3000]).await.check(201);
    let admin = s.browser("acme", "boss", ADMIN_PASSWORD).await;
    let page = admin.get("admin/company").await;
    assert!(page.html.contains(r#"name="file_limit_mb""#) && page.html.contains(r#"value="50""#), "the default limit shows");
    assert!(page.html.contains(r#"value="5120""#), "the default quota shows");
    assert!(page.html.contains(&msg_with(idora::i18n::Lang::En, "admin.company.storage_used", &[("used", "3 KB")])), "what is in use");
    let mut fields = vec![("name", "acme Ltd"), ("phone", ""), ("address", ""), ("email", ""), ("timezone", "Asia/Tashkent")];
    let bad = [fields.clone(), vec![("file_limit_mb", "lots"), ("storage_quota_mb", "100")]].concat();
    let refused = admin.post("admin/company", &bad).await;
    assert_eq!(refused.status.as_u16(), 422);
    assert!(
        refused.html.contains(&msg_with(idora::i18n::Lang::En, "files.bad_limit", &[("min", "1"), ("max", "10240")])),
        "{}",
        refused.html
    );
    fields.extend([("file_limit_mb", "7"), ("storage_quota_mb", "100")]);
    let saved = admin.post("admin/company", &fields).await;
    assert_eq!(saved.query, "done=saved");
    let api = s.get(&co.path("/company"), &co.admin).await.check(200);
    assert_eq!((api.body["file_limit_mb"].as_u64(), api.body["storage_quota_mb"].as_u64()), (Some(7), Some(100)));
    assert_eq!(api.body["storage_used_bytes"], 3000);
}
