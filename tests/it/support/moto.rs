//! A local S3-compatible server (moto) for the files backend's tests: one
//! per test, on a free port, killed when dropped. moto lives in a virtualenv
//! under `target/moto-venv`, which `tests/run-all` makes; when it is missing
//! the first test makes it (pip, from PyPI) and fails loudly if it cannot.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// The moto version the tests run against.
pub const MOTO: &str = "moto[server]==5.1.*";

fn venv() -> PathBuf {
    std::env::var_os("IDORA_MOTO_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target").join("moto-venv"))
}

/// The virtualenv's python with moto installed; installs it when missing.
/// (Built under another name and renamed: tests running at once never see
/// half an install.)
fn python() -> PathBuf {
    let venv = venv();
    let python = venv.join("bin").join("python");
    let ready = |p: &Path| Command::new(p).args(["-c", "import moto.server"]).stderr(Stdio::null()).status().is_ok_and(|s| s.success());
    if ready(&python) {
        return python;
    }
    let tmp = venv.with_file_name(format!("moto-venv.{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    let ok = Command::new("python3").arg("-m").arg("venv").arg(&tmp).status().is_ok_and(|s| s.success())
        && Command::new(tmp.join("bin").join("pip"))
            .args(["install", "--quiet", "--disable-pip-version-check", MOTO])
            .status()
            .is_ok_and(|s| s.success());
    assert!(ok, "could not install {MOTO} into {} (python3 -m venv, pip from PyPI): the S3 tests need it", tmp.display());
    if std::fs::rename(&tmp, &venv).is_err() {
        // Another test installed it meanwhile.
        let _ = std::fs::remove_dir_all(&tmp);
    }
    assert!(ready(&python), "moto does not import from {}", python.display());
    python
}

/// A running moto server with one bucket.
pub struct Moto {
    child: Child,
    pub endpoint: String,
    pub bucket: String,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Moto {
    pub async fn start() -> Moto {
        let python = python();
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let child = Command::new(python)
            .args(["-m", "moto.server", "-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("moto starts");
        let moto = Moto { child, endpoint: format!("http://127.0.0.1:{port}"), bucket: "idora-files".into() };
        let http = reqwest::Client::new();
        for _ in 0..300 {
            if let Ok(r) = http.put(format!("{}/{}", moto.endpoint, moto.bucket)).send().await
                && r.status().is_success()
            {
                return moto;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("moto did not answer on {} within 15 s", moto.endpoint);
    }

    /// The configuration of the S3 backend on this server.
    pub fn config(&self) -> idora::config::FilesBackend {
        idora::config::FilesBackend::S3(idora::config::S3Config {
            bucket: self.bucket.clone(),
            endpoint: Some(self.endpoint.clone()),
            region: "us-east-1".into(),
            allow_http: true,
            access_key_id: Some("testing".into()),
            secret_access_key: Some(idora::config::Secret::new("testing".into())),
        })
    }

    /// The keys of the objects under `prefix/`.
    pub async fn keys(&self, prefix: &str) -> Vec<String> {
        let url = format!("{}/{}?list-type=2&prefix={prefix}/", self.endpoint, self.bucket);
        let xml = reqwest::get(url).await.unwrap().text().await.unwrap();
        xml.split("<Key>").skip(1).filter_map(|s| s.split("</Key>").next()).map(str::to_string).collect()
    }
}
