//! Reports and histories as files: the CSV opens with a BOM and the
//! reader's columns and separator, never runs a formula; the XLSX has typed
//! cells and a sheet per table; who may export what; the background job
//! with its progress and file.

use crate::support::*;
use calamine::{Data, Reader, Xlsx};
use idora::i18n::{Lang, t};
use idora::reports::history::{HistoryTable, columns};
use idora::reports::{Cell, Column, Kind, Period, PeriodKind, Report, Table};
use jiff::SignedDuration;
use reqwest::Method;
use serde_json::json;
use std::io::Cursor;

/// Thursday 3 December 2026, 11:00 in Tashkent.
const NOW: &str = "2026-12-03T06:00:00Z";

/// The demo company with its weeks of history written up to [`NOW`].
async fn demo() -> Server {
    let s = demo_at(NOW).await;
    let now: jiff::Timestamp = NOW.parse().unwrap();
    let clock = s.clock();
    idora::demo::seed_history(s.state(), &|t| clock.set(t.unwrap_or(now))).await.unwrap();
    s
}

struct Got {
    status: u16,
    content_type: String,
    disposition: String,
    body: Vec<u8>,
}

async fn fetch(s: &Server, method: Method, path: &str, token: &str, lang: &str) -> Got {
    let r = s.req(method, path, token).header("accept-language", lang).send().await.unwrap();
    let status = r.status().as_u16();
    assert_ne!(status, 500, "the server failed on {path}");
    let h = |n: &str| r.headers().get(n).and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
    let (content_type, disposition) = (h("content-type"), h("content-disposition"));
    let body = r.bytes().await.unwrap().to_vec();
    Got { status, content_type, disposition, body }
}

fn text(g: &Got) -> String {
    String::from_utf8(g.body.clone()).expect("CSV is UTF-8")
}

fn labels(table: HistoryTable, lang: Lang) -> Vec<String> {
    columns(table, lang).into_iter().map(|c| c.label).collect()
}

/// The CSV's lines without the BOM (no field of these tables spans lines).
fn lines(csv: &str) -> Vec<String> {
    let body = csv.strip_prefix('\u{feff}').expect("a BOM first");
    assert!(body.ends_with("\r\n"), "CRLF line ends");
    body.split("\r\n").filter(|l| !l.is_empty()).map(str::to_string).collect()
}

fn workbook(bytes: &[u8]) -> Xlsx<Cursor<Vec<u8>>> {
    Xlsx::new(Cursor::new(bytes.to_vec())).expect("an XLSX that opens")
}

#[tokio::test]
async fn a_tasks_history_csv_has_the_bom_the_readers_columns_and_separator_and_no_formulas() {
    let s = demo().await;
    let director = s.demo_token("director").await;
    let users = s.demo_users().await;
    // A title a spreadsheet would run as a formula.
    let body = json!({"title": "=HYPERLINK(\"http://x\",\"ok\")", "assignee_id": users["employee"],
        "deadline": (s.now() + SignedDuration::from_hours(24)).to_string(), "points": 5});
    s.post(&c(DEMO, "/tasks"), &director, body).await.check(201);

    let ru = fetch(&s, Method::GET, &c(DEMO, "/exports/tasks.csv"), &director, "ru").await;
    assert_eq!(ru.status, 200);
    assert_eq!(ru.content_type, "text/csv; charset=utf-8");
    assert!(ru.disposition.starts_with("attachment; filename=\"tasks.csv\""), "{}", ru.disposition);
    let ru_lines = lines(&text(&ru));
    assert_eq!(ru_lines[0], labels(HistoryTable::Tasks, Lang::Ru).join(";"), "Russian labels, `;`");
    assert!(ru_lines.len() > 50, "the demo's task history: {} lines", ru_lines.len());
    let formula = ru_lines.iter().find(|l| l.contains("HYPERLINK")).expect("the new task's events");
    assert!(formula.contains(";\"'=HYPERLINK(\"\"http://x\"\",\"\"ok\"\")\";"), "escaped and quoted: {formula}");
    assert!(!ru_lines.iter().any(|l| l.starts_with('=') || l.contains(";=")), "no field starts a formula");

    let en = fetch(&s, Method::GET, &c(DEMO, "/exports/tasks.csv"), &director, "en").await;
    let en_lines = lines(&text(&en));
    assert_eq!(en_lines[0], labels(HistoryTable::Tasks, Lang::En).join(","), "English labels, `,`");
    assert_eq!(en_lines.len(), ru_lines.len());

    // The separator asked for wins over the language's.
    let asked = fetch(&s, Method::GET, &c(DEMO, "/exports/tasks.csv?sep=,"), &director, "ru").await;
    assert_eq!(lines(&text(&asked))[0], labels(HistoryTable::Tasks, Lang::Ru).join(","));
    s.get(&c(DEMO, "/exports/tasks.csv?sep=x"), &director).await.refused(422, "validation");
    s.get(&c(DEMO, "/exports/tasks.pdf"), &director).await.check(404);
    s.get(&c(DEMO, "/exports/budget.csv"), &director).await.check(404);

    // A period narrows the rows to its days' events.
    let today = fetch(&s, Method::GET, &c(DEMO, "/exports/tasks.csv?from=2026-12-03&to=2026-12-03"), &director, "en").await;
    assert!(today.disposition.contains("tasks-2026-12-03_2026-12-03.csv"), "{}", today.disposition);
    let today_lines = lines(&text(&today));
    assert!(today_lines.len() > 1 && today_lines.len() < en_lines.len(), "{} of {}", today_lines.len(), en_lines.len());
    assert!(today_lines.iter().any(|l| l.contains("HYPERLINK")));
    s.get(&c(DEMO, "/exports/tasks.csv?from=2026-12-04&to=2026-12-01"), &director).await.refused(422, "validation");
}

#[tokio::test]
async fn an_employee_exports_only_their_own_points_and_no_tasks() {
    let s = demo().await;
    let employee = s.demo_token("employee").await;
    let director = s.demo_token("director").await;
    s.get(&c(DEMO, "/exports/tasks.csv"), &employee).await.refused(403, "forbidden");
    s.get(&c(DEMO, "/exports/tasks.xlsx"), &employee).await.refused(403, "forbidden");
    s.post(&c(DEMO, "/exports/tasks.xlsx"), &employee, json!({})).await.refused(403, "forbidden");
    s.get(&c(DEMO, "/exports/requests.csv"), &employee).await.refused(403, "forbidden");
    s.get(&c(DEMO, "/exports/tickets.csv"), &employee).await.refused(403, "forbidden");

    let employee_col = |line: &str| line.split(',').nth(1).unwrap().to_string();
    let mine = lines(&text(&fetch(&s, Method::GET, &c(DEMO, "/exports/points.csv"), &employee, "en").await));
    assert_eq!(mine[0], labels(HistoryTable::Points, Lang::En).join(","));
    assert!(mine.len() > 1, "Bekzod earned points in the demo's history");
    assert!(mine[1..].iter().all(|l| employee_col(l) == "Bekzod Aliyev"), "only their rows: {mine:?}");
    let all = lines(&text(&fetch(&s, Method::GET, &c(DEMO, "/exports/points.csv"), &director, "en").await));
    let people: std::collections::HashSet<String> = all[1..].iter().map(|l| employee_col(l)).collect();
    assert!(people.len() > 1 && all.len() > mine.len(), "the director reads everyone's: {people:?}");
}

#[tokio::test]
async fn a_manager_exports_their_departments_tasks_only() {
    let s = demo().await;
    let manager = s.demo_token("manager").await;
    let director = s.demo_token("director").await;
    let dept = |csv: &str| -> std::collections::HashSet<String> {
        let mut rdr = lines(csv);
        rdr.remove(0);
        // Task no., title, department: the titles of the demo hold no commas.
        rdr.iter().map(|l| l.split(',').nth(2).unwrap().to_string()).collect()
    };
    let theirs = dept(&text(&fetch(&s, Method::GET, &c(DEMO, "/exports/tasks.csv"), &manager, "en").await));
    let all = dept(&text(&fetch(&s, Method::GET, &c(DEMO, "/exports/tasks.csv"), &director, "en").await));
    assert_eq!(theirs.len(), 1, "one department: {theirs:?}");
    assert!(all.len() > 1 && all.is_superset(&theirs), "{all:?}");
}

#[tokio::test]
async fn every_history_exports_as_xlsx_with_typed_cells() {
    let s = demo().await;
    let director = s.demo_token("director").await;
    let admin = s.demo_token("admin").await;
    // A ticket taken, called and served today, so that the tickets' table has times in it.
    let branch = s.demo_branches().await[0];
    let services = s.demo_services().await;
    s.kiosk_ticket(branch, services["Kassa"]).await;

    let g = fetch(&s, Method::GET, &c(DEMO, "/exports/tasks.xlsx"), &director, "ru").await;
    assert_eq!(g.status, 200);
    assert_eq!(g.content_type, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet");
    assert!(g.disposition.contains("filename=\"tasks.xlsx\""), "{}", g.disposition);
    let mut wb = workbook(&g.body);
    let names = wb.sheet_names();
    assert_eq!(names, vec![t(Lang::Ru, "exports.table.tasks").to_string()]);
    let range = wb.worksheet_range(&names[0]).unwrap();
    let header: Vec<String> = range.rows().next().unwrap().iter().map(|c| c.to_string()).collect();
    assert_eq!(header, labels(HistoryTable::Tasks, Lang::Ru));
    let row = range.rows().nth(1).unwrap();
    assert!(matches!(row[0], Data::Float(_)), "task no. is a number: {:?}", row[0]);
    assert!(matches!(row[1], Data::String(_)), "the title is text: {:?}", row[1]);
    assert!(matches!(row[5], Data::DateTime(_)), "the deadline is a date-time: {:?}", row[5]);
    assert!(matches!(row[7], Data::DateTime(_)), "the event's time is a date-time: {:?}", row[7]);
    // The event's time is the company's local time (Tashkent, UTC+5) of a day of the demo's history.
    let Data::DateTime(at) = &row[7] else { unreachable!() };
    let (y, ..) = at.to_ymd_hms_milli();
    assert!((2026..=2026).contains(&y), "{at:?}");

    for (table, who) in [("points", &director), ("requests", &admin), ("files", &admin), ("tickets", &admin)] {
        let g = fetch(&s, Method::GET, &c(DEMO, &format!("/exports/{table}.xlsx")), who, "en").await;
        assert_eq!(g.status, 200, "{table}");
        let mut wb = workbook(&g.body);
        let name = wb.sheet_names()[0].clone();
        let range = wb.worksheet_range(&name).unwrap();
        let header: Vec<String> = range.rows().next().unwrap().iter().map(|c| c.to_string()).collect();
        assert_eq!(header, labels(HistoryTable::parse(table).unwrap(), Lang::En), "{table}");
    }
    let g = fetch(&s, Method::GET, &c(DEMO, "/exports/tickets.xlsx"), &admin, "en").await;
    let mut wb = workbook(&g.body);
    let range = wb.worksheet_range("Queue tickets").unwrap();
    let last = range.rows().next_back().unwrap();
    assert!(matches!(last[0], Data::String(_)), "the ticket's number: {:?}", last[0]);
    assert!(matches!(last[4], Data::DateTime(_)), "arrived: {:?}", last[4]);
}

#[tokio::test]
async fn an_export_job_reports_progress_and_its_file_opens() {
    let s = demo().await;
    let director = s.demo_token("director").await;
    let employee = s.demo_token("employee").await;
    let started = s.post(&c(DEMO, "/exports/tasks.xlsx?from=2026-11-01"), &director, json!({})).await.check(202);
    let id = started.str("job_id");
    let mut view = serde_json::Value::Null;
    for _ in 0..200 {
        view = s.get(&c(DEMO, &format!("/jobs/{id}")), &director).await.check(200).body;
        if view["state"] != "running" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(view["state"], "done", "{view}");
    assert_eq!(view["percent"], 100);
    assert!(view["total"].as_u64().unwrap() > 0 && view["done"].as_u64().unwrap() > 0, "{view}");
    let url = view["download_url"].as_str().unwrap().to_string();
    assert_eq!(url, format!("/c/{DEMO}/api/v1/jobs/{id}/file"));

    // Only its starter fetches it.
    s.get(&c(DEMO, &format!("/jobs/{id}/file")), &employee).await.refused(404, "not_found");
    let g = fetch(&s, Method::GET, &url, &director, "uz").await;
    assert_eq!(g.status, 200);
    assert!(g.disposition.contains("tasks-from-2026-11-01.xlsx"), "{}", g.disposition);
    let mut wb = workbook(&g.body);
    let name = wb.sheet_names()[0].clone();
    let rows = wb.worksheet_range(&name).unwrap().rows().count();
    assert!(rows > 1, "{rows} rows");

    // A CSV job too.
    let id = s.post(&c(DEMO, "/exports/points.csv"), &employee, json!({})).await.check(202).str("job_id");
    for _ in 0..200 {
        if s.get(&c(DEMO, &format!("/jobs/{id}")), &employee).await.check(200).body["state"] != "running" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let g = fetch(&s, Method::GET, &c(DEMO, &format!("/jobs/{id}/file")), &employee, "uz").await;
    assert_eq!(g.status, 200);
    assert_eq!(lines(&text(&g))[0], labels(HistoryTable::Points, Lang::Uz).join(";"));
}

#[tokio::test]
async fn the_exports_page_lists_what_the_reader_may_export() {
    let s = demo().await;
    let page = |who: &'static str| {
        let s = &s;
        async move {
            let token = s.demo_token(who).await;
            let r = s.req(Method::GET, &format!("/c/{DEMO}/reports/exports"), &token).header("accept-language", "en").send().await.unwrap();
            (r.status().as_u16(), r.text().await.unwrap())
        }
    };
    let (status, director) = page("director").await;
    assert_eq!(status, 200);
    for table in ["tasks", "points", "requests", "files", "tickets"] {
        assert!(director.contains(&format!("data-table=\"{table}\"")), "{table}");
    }
    let (status, employee) = page("employee").await;
    assert_eq!(status, 200);
    assert!(employee.contains("data-table=\"points\"") && !employee.contains("data-table=\"tasks\""));
    assert!(employee.contains(t(Lang::En, "exports.table.points")));
}

#[tokio::test]
async fn a_report_file_is_never_a_server_error() {
    let s = demo().await;
    let director = s.demo_token("director").await;
    for name in ["ranking", "department", "queue"] {
        for ext in ["csv", "xlsx"] {
            let g = fetch(&s, Method::GET, &c(DEMO, &format!("/reports/{name}.{ext}?period=month")), &director, "en").await;
            if g.status == 200 {
                assert!(g.disposition.contains(&format!("{name}-2026-12.{ext}")), "{}", g.disposition);
            }
        }
    }
}

/// A report of two tables with every kind of cell.
fn sample_report(lang: Lang) -> Report {
    let period = Period { kind: PeriodKind::Month, from: "2026-11-01".parse().unwrap(), to: "2026-11-30".parse().unwrap() };
    let col = |key, label: &str, kind| Column { key, label: label.into(), kind };
    let mut main = Table::new("people", "Xodimlar");
    main.columns = vec![
        col("name", "Xodim", Kind::Text),
        col("done", "Bajarildi", Kind::Integer),
        col("on_time", "O‘z vaqtida", Kind::Percent),
        col("avg", "O‘rtacha", Kind::Duration),
        col("rating", "Baho", Kind::Number),
        col("day", "Kun", Kind::Date),
        col("at", "Vaqt", Kind::DateTime),
    ];
    main.rows = vec![vec![
        Cell::Text("-Ali".into()),
        Cell::Int(7),
        Cell::Num(87.5),
        Cell::Secs(5400),
        Cell::Num(4.25),
        Cell::Date("2026-11-05".parse().unwrap()),
        // 05:30 UTC is 10:30 in Tashkent.
        Cell::Time("2026-11-05T05:30:00Z".parse::<jiff::Timestamp>().unwrap().as_millisecond()),
    ]];
    main.totals = Some(vec![Cell::Empty, Cell::Int(7), Cell::Num(87.5), Cell::Secs(5400), Cell::Empty, Cell::Empty, Cell::Empty]);
    let mut more = Table::new("overdue", "Muddati o‘tgan: ro‘yxat/2026");
    more.columns = vec![col("task", "Vazifa", Kind::Text)];
    more.rows = vec![vec![Cell::Text("Hisobot".into())]];
    let mut r = Report::new("department", t(lang, "report.total"), period, main);
    r.more.push(more);
    r
}

#[test]
fn a_reports_xlsx_has_a_sheet_per_table_and_typed_cells() {
    let tz = jiff::tz::TimeZone::get("Asia/Tashkent").unwrap();
    let bytes = idora::reports::export::xlsx(&sample_report(Lang::Uz), Lang::Uz, &tz).unwrap();
    let mut wb = workbook(&bytes);
    assert_eq!(wb.sheet_names(), vec!["Xodimlar".to_string(), "Muddati o‘tgan  ro‘yxat 2026".to_string()]);
    let range = wb.worksheet_range("Xodimlar").unwrap();
    let rows: Vec<&[Data]> = range.rows().collect();
    assert_eq!(rows[0][0], Data::String("Xodim".into()));
    let r = rows[1];
    assert_eq!(r[0], Data::String("-Ali".into()), "text stays text in XLSX (no formula there)");
    assert_eq!(r[1], Data::Float(7.0));
    assert_eq!(r[2], Data::Float(0.875), "a percentage is a fraction shown 0.0%");
    let Data::DateTime(d) = &r[3] else { panic!("a duration is an Excel time: {:?}", r[3]) };
    assert!((d.as_f64() - 5400.0 / 86400.0).abs() < 1e-9);
    assert!(d.is_duration(), "[h]:mm reads as a duration: {d:?}");
    assert_eq!(r[4], Data::Float(4.25));
    let Data::DateTime(day) = &r[5] else { panic!("a day is a date: {:?}", r[5]) };
    assert_eq!(day.to_ymd_hms_milli(), (2026, 11, 5, 0, 0, 0, 0));
    let Data::DateTime(at) = &r[6] else { panic!("a moment is a date-time: {:?}", r[6]) };
    assert_eq!(at.to_ymd_hms_milli(), (2026, 11, 5, 10, 30, 0, 0), "local time in Tashkent");
    assert_eq!(rows[2][0], Data::String(t(Lang::Uz, "report.total").into()), "the totals row is labelled");
    assert_eq!(rows[2][1], Data::Float(7.0));

    let csv = idora::reports::export::csv(&sample_report(Lang::Ru), Lang::Ru, &tz, ';');
    let l = lines(&csv);
    assert_eq!(l[0], "Xodim;Bajarildi;O‘z vaqtida;O‘rtacha;Baho;Kun;Vaqt");
    assert_eq!(l[1], "'-Ali;7;87,5;1:30;4,25;2026-11-05;2026-11-05 10:30", "decimal comma with `;`, h:mm, local time");
    assert_eq!(l[2], format!("{};7;87,5;1:30;;;", t(Lang::Ru, "report.total")));
    assert_eq!(l.len(), 3, "the CSV holds the main table only");
}
