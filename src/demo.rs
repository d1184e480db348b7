//! `idora serve --demo`: a platform admin and an active company "Demo Bank"
//! with two branches, three departments and one user per role, so that a
//! newcomer can click through every role at once.

use crate::app::AppState;
use crate::auth::Caller;
use crate::auth::rbac;
use crate::org::service::{self, BranchInput, NewUser, parse_hours};
use crate::store::schema::CompanyStatus;
use crate::tenancy::service::{CompanyPatch, NewCompany, create_company, update_company, upsert_platform_admin};

pub const SLUG: &str = "demo";
/// Every demo account has this password. It is a demo: never use it for real data.
pub const PASSWORD: &str = "idora-demo";
pub const PLATFORM_ADMIN: &str = "platform";

/// The demo users: username, full name, role.
pub const USERS: [(&str, &str, &str); 6] = [
    ("owner", "Aziz Karimov", "owner"),
    ("director", "Dilnoza Rahimova", "director"),
    ("admin", "Sardor Tursunov", "admin"),
    ("manager", "Malika Yusupova", "manager"),
    ("employee", "Bekzod Aliyev", "employee"),
    ("operator", "Nilufar Xasanova", "operator"),
];

/// Seeds the demo when the company does not exist yet. Returns whether it
/// seeded anything.
/// The demo queue's services: names in Uzbek, Russian, English; minutes per visit.
pub const QUEUE_SERVICES: [(&str, &str, &str, u16); 4] = [
    ("Kassa", "Касса", "Cash desk", 5),
    ("Kreditlar", "Кредиты", "Loans", 20),
    ("Plastik kartalar", "Пластиковые карты", "Bank cards", 10),
    ("Valyuta ayirboshlash", "Обмен валюты", "Currency exchange", 5),
];

/// The demo departments: names in Uzbek, Russian, English.
pub const DEPARTMENTS: [(&str, &str, &str); 3] = [
    ("Kredit bo‘limi", "Кредитный отдел", "Loans department"),
    ("Kassa xizmati", "Кассовое обслуживание", "Cash services"),
    ("IT bo‘limi", "ИТ-отдел", "IT department"),
];

/// The demo's task categories (written with its history): names in Uzbek,
/// Russian, English; colour; the words of a task title that put it there.
const CATEGORIES: [(&str, &str, &str, &str, &[&str]); 4] = [
    (
        "Texnika",
        "Техника",
        "Equipment",
        "#8250df",
        &["server", "wi-fi", "printer", "kompyuter", "antivirus", "apparat", "kiosk", "terminal"],
    ),
    ("Hisobotlar", "Отчёты", "Reports", "#1f6feb", &["hisobot", "tahlil", "taqdimot", "jadval", "statistika"]),
    ("Mijozlar", "Клиенты", "Clients", "#0a7d5a", &["mijoz", "ariza", "sms"]),
    (
        "Hujjatlar",
        "Документы",
        "Documents",
        "#bf5b04",
        &["hujjat", "shartnoma", "bayonnoma", "kvitansiya", "tartib", "eslatma", "faq", "siyosat", "ro‘yxat"],
    ),
];

pub async fn seed(state: &AppState) -> anyhow::Result<bool> {
    if state.tenants.get(SLUG).is_some() {
        return Ok(false);
    }
    let e = |e: crate::error::AppError| anyhow::anyhow!("demo: {e}");
    upsert_platform_admin(&state.platform, state.now_ms(), PLATFORM_ADMIN, PASSWORD.into()).await.map_err(e)?;
    let system = Caller::System;
    let input = NewCompany {
        name: "Demo Bank".into(),
        slug: SLUG.into(),
        timezone: Some("Asia/Tashkent".into()),
        language: Some("uz".into()),
        admin_username: "admin".into(),
        admin_full_name: Some("Sardor Tursunov".into()),
        admin_password: Some(PASSWORD.into()),
        admin_role: None,
        contacts: Default::default(),
    };
    let created = create_company(state, &system, input).await.map_err(e)?;
    let tenant = created.tenant;
    let hours = |weekday: (&str, &str), sat: Option<(&str, &str)>| {
        let mut d: [Option<(String, String)>; 7] = Default::default();
        for day in d.iter_mut().take(5) {
            *day = Some((weekday.0.into(), weekday.1.into()));
        }
        d[5] = sat.map(|(o, c)| (o.into(), c.into()));
        parse_hours(d)
    };
    let head = service::create_branch(
        state,
        &tenant,
        &system,
        BranchInput {
            name: Some("Bosh ofis".into()),
            address: Some("Toshkent, Amir Temur ko‘chasi, 1".into()),
            hours: Some(Some(hours(("09:00", "18:00"), Some(("09:00", "14:00"))).map_err(e)?)),
            active: None,
            name_ru: Some("Головной офис".into()),
            name_en: Some("Head office".into()),
            // The hall's board speaks Uzbek and Russian at once.
            board_langs: Some(vec!["uz".into(), "ru".into()]),
        },
    )
    .await
    .map_err(e)?;
    let second = service::create_branch(
        state,
        &tenant,
        &system,
        BranchInput {
            name: Some("Chilonzor filiali".into()),
            address: Some("Toshkent, Chilonzor, Bunyodkor ko‘chasi, 12".into()),
            hours: Some(Some(hours(("09:00", "17:00"), Some(("09:00", "17:00"))).map_err(e)?)),
            active: None,
            name_ru: Some("Чиланзарский филиал".into()),
            name_en: Some("Chilanzar branch".into()),
            board_langs: None,
        },
    )
    .await
    .map_err(e)?;
    let mut depts = Vec::new();
    for (name, ru, en) in DEPARTMENTS {
        let input = service::DepartmentInput { name: Some(name.into()), name_ru: Some(ru.into()), name_en: Some(en.into()), active: None };
        depts.push(service::create_department(state, &tenant, &system, input).await.map_err(e)?);
    }
    let db = tenant.db().map_err(e)?;
    for (username, full_name, role) in USERS {
        if username == "admin" {
            // The first admin exists already; give them a name and a place.
            let (id, _) = crate::auth::session::find_by_username(db, crate::auth::session::TENANT_REALM, "admin")
                .map_err(e)?
                .ok_or_else(|| anyhow::anyhow!("demo: first admin missing"))?;
            let patch = service::UserPatch {
                full_name: Some(full_name.into()),
                department_id: Some(depts.get(2).copied()),
                branch_id: Some(Some(head)),
                ..Default::default()
            };
            service::update_user(state, &tenant, &system, id, patch).await.map_err(e)?;
            continue;
        }
        let dept = match role {
            "manager" | "employee" => depts.first().copied(),
            "operator" => depts.get(1).copied(),
            _ => None,
        };
        let user = NewUser {
            username: username.into(),
            full_name: full_name.into(),
            phone: None,
            role: role.into(),
            department_id: dept,
            branch_id: Some(head),
            password: None,
            language: None,
            must_change_password: false,
        };
        service::insert_user(db, state.now_ms(), &system, user, PASSWORD.into()).await.map_err(e)?;
    }
    // The queue: four services at both branches, the operator at window 1.
    let mut services = Vec::new();
    for (uz, ru, en, minutes) in QUEUE_SERVICES {
        let input = crate::queue::service::ServiceInput {
            names: Some(crate::queue::service::Names { uz: uz.into(), ru: ru.into(), en: en.into() }),
            minutes: Some(minutes),
            target_wait_minutes: Some(15),
            branch_ids: Some(vec![head, second]),
            active: None,
            prefix: None,
        };
        services.push(crate::queue::service::create_service(state, &tenant, &system, input).await.map_err(e)?.0);
    }
    let (operator, _) = crate::auth::session::find_by_username(db, crate::auth::session::TENANT_REALM, "operator")
        .map_err(e)?
        .ok_or_else(|| anyhow::anyhow!("demo: operator missing"))?;
    crate::queue::service::set_operator(state, &tenant, &system, operator, head, 1, services).await.map_err(e)?;
    update_company(state, &system, SLUG, CompanyPatch { status: Some(CompanyStatus::Active), ..Default::default() }).await.map_err(e)?;
    debug_assert!(USERS.iter().all(|(_, _, r)| rbac::is_role(r)));
    Ok(true)
}

/// What `--demo` prints at start: every login and where to go.
pub fn banner(base: &str) -> String {
    let mut s = String::new();
    s.push_str("\n  Idora demo is running.\n\n");
    s.push_str(&format!("  Platform console  {base}/admin        login: {PLATFORM_ADMIN} / {PASSWORD}\n"));
    s.push_str(&format!("  Demo Bank         {base}/c/{SLUG}/     logins below, password {PASSWORD}\n"));
    for (u, name, role) in USERS {
        s.push_str(&format!("      {role:<9} {u:<9} ({name})\n"));
    }
    s.push_str(&format!("  Company admin     {base}/c/{SLUG}/admin\n"));
    s.push_str(&format!("  Queue kiosk       {base}/c/{SLUG}/kiosk/1     display board {base}/c/{SLUG}/display/1\n"));
    s.push_str(&format!("  Operator window   {base}/c/{SLUG}/operator    (as operator)\n"));
    s.push_str(&format!("  Customers' page   {base}/c/{SLUG}/visit       online tickets and booking\n"));
    s.push_str("\n  These are demo passwords: do not keep real data in a demo.\n");
    s
}

/// More staff for the demo's history: username, full name, role, department
/// (index into the demo's departments).
const MORE_STAFF: [(&str, &str, &str, usize); 6] = [
    ("jasur", "Jasur Ergashev", "employee", 0),
    ("gulnora", "Gulnora Saidova", "employee", 0),
    ("otabek", "Otabek Nazarov", "manager", 1),
    ("shahzod", "Shahzod Mirzayev", "employee", 1),
    ("kamola", "Kamola Ismoilova", "employee", 2),
    ("rustam", "Rustam Qodirov", "employee", 2),
];

/// Weeks of work in the demo company, written through the core at the
/// times it pretends to have happened (`travel` stands the clock there;
/// `None` lets it run from now again): tasks in every state across the
/// departments, points earned over the last weeks, and today's queue at
/// both branches. Run once, right after [`seed`].
pub async fn seed_history(state: &AppState, travel: &(dyn Fn(Option<jiff::Timestamp>) + Sync)) -> anyhow::Result<()> {
    seed_history_days(state, travel, RECENT_DAYS).await
}

/// The weeks [`seed_history`] writes by hand.
const RECENT_DAYS: i64 = 35;

/// How far back the history of `idora serve --demo` reaches: every chart
/// of the reports (points by day over 90 days, a quarter's trends, the
/// queue's week by hour) has a shape.
pub const HISTORY_DAYS: i64 = 90;

/// [`seed_history`], reaching `days` back: beyond its five weeks, every
/// weekday some tasks given and done by each employee (a few late, a few
/// sent back once), and the head office's queue with its operator.
pub async fn seed_history_days(state: &AppState, travel: &(dyn Fn(Option<jiff::Timestamp>) + Sync), days: i64) -> anyhow::Result<()> {
    let tenant = state.tenants.get(SLUG).ok_or_else(|| anyhow::anyhow!("demo history: no demo company"))?;
    let db = tenant.db().map_err(|e| anyhow::anyhow!("demo history: {e}"))?;
    // Thousands of small writes: flushed to disk once, at the end.
    db.set_bulk(true).await.map_err(|e| anyhow::anyhow!("demo history: {e}"))?;
    let r = history(state, travel, days).await;
    travel(None);
    db.set_bulk(false).await.map_err(|e| anyhow::anyhow!("demo history: {e}"))?;
    r
}

/// A task done in the history: given `given` hours ago, due two days later.
struct Done<'a> {
    by: &'a Caller,
    to: &'a Caller,
    title: &'static str,
    points: u32,
    given: i64,
    /// Hours from being given to being handed in.
    took: i64,
    /// Sent back once before it was accepted.
    redo: bool,
}

/// What each department's people do day to day (the older history's titles).
const PAST_TITLES: [[&str; 6]; 3] = [
    [
        "Kredit arizalarini ko‘rib chiqish",
        "Garov hujjatlarini tekshirish",
        "Mijozlar bilan qayta aloqa",
        "Kredit portfeli hisoboti",
        "Muammoli kreditlar tahlili",
        "Kredit shartnomalarini arxivlash",
    ],
    [
        "Kassa jurnalini tekshirish",
        "Valyuta kurslari taxtasini yangilash",
        "Kassa limitini hisoblash",
        "Inkassatsiya hujjatlari",
        "Tangalar qoldig‘i statistikasi",
        "Kassa hisobotini topshirish",
    ],
    [
        "Serverni zaxiralash",
        "Printerlarni tekshirish",
        "Foydalanuvchi parollarini tiklash",
        "Kiosk dasturini yangilash",
        "Tarmoq jurnalini ko‘rib chiqish",
        "Antivirus bazasini yangilash",
    ],
];

/// A fixed scramble of two numbers: the demo's "random" choices, the same on every start.
fn mix(a: u64, b: u64) -> u64 {
    let mut x = a.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ b.wrapping_mul(0xC2B2_AE3D_27D4_EB4F) ^ 0x2545_F491_4F6C_DD1D;
    x ^= x >> 29;
    x = x.wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x ^ (x >> 32)
}

/// The local midnight `days` days before `now`, and that day's weekday (Monday 0).
fn day_ago(now: jiff::Timestamp, tz: &jiff::tz::TimeZone, days: i64) -> Option<(jiff::Timestamp, usize)> {
    let date = now.to_zoned(tz.clone()).date().checked_sub(jiff::Span::new().days(days)).ok()?;
    let midnight = date.to_zoned(tz.clone()).ok()?.timestamp();
    Some((midnight, usize::from(date.weekday().to_monday_zero_offset().unsigned_abs())))
}

async fn history(state: &AppState, travel: &(dyn Fn(Option<jiff::Timestamp>) + Sync), days: i64) -> anyhow::Result<()> {
    use crate::store::schema::TaskStatus as S;
    use crate::tasks::service as tasks;
    use jiff::{SignedDuration, Timestamp};
    let e = |e: crate::error::AppError| anyhow::anyhow!("demo history: {e}");
    let tenant = state.tenants.get(SLUG).ok_or_else(|| anyhow::anyhow!("demo history: no demo company"))?;
    let db = tenant.db().map_err(e)?;
    let tz = tenant.timezone();
    let now = state.now();
    let system = Caller::System;
    let ms = |t: Timestamp| t.as_millisecond();
    let ago = |h: i64| now - SignedDuration::from_hours(h);

    // Who is who.
    let depts: Vec<u64> = service::list_departments(db).map_err(e)?.into_iter().map(|(id, _)| id).collect();
    let head = service::list_branches(db).map_err(e)?.first().map(|(id, _)| *id).unwrap_or(1);
    travel(Some(ago(24 * days.max(RECENT_DAYS))));
    let mut categories = Vec::new();
    for (name, ru, en, color, words) in CATEGORIES {
        let input = tasks::CategoryInput {
            name: Some(name.into()),
            color: Some(color.into()),
            name_ru: Some(ru.into()),
            name_en: Some(en.into()),
            active: None,
        };
        categories.push((tasks::create_category(state, &tenant, &system, input).await.map_err(e)?, words));
    }
    for (username, full_name, role, dept) in MORE_STAFF {
        let user = NewUser {
            username: username.into(),
            full_name: full_name.into(),
            phone: None,
            role: role.into(),
            department_id: depts.get(dept).copied(),
            branch_id: Some(head),
            password: None,
            language: None,
            // Demo passwords are known: nobody must change them first.
            must_change_password: false,
        };
        service::insert_user(db, state.now_ms(), &system, user, PASSWORD.into()).await.map_err(e)?;
    }
    let lang = crate::i18n::Lang::Uz;
    let who = |username: &str| -> anyhow::Result<Caller> {
        let (id, _) = crate::auth::session::find_by_username(db, crate::auth::session::TENANT_REALM, username)
            .map_err(e)?
            .ok_or_else(|| anyhow::anyhow!("demo history: no user {username}"))?;
        Ok(Caller::User(Box::new(crate::auth::Principal::load(&tenant, id, "demo".into(), lang).map_err(e)?)))
    };
    let (director, manager, otabek) = (who("director")?, who("manager")?, who("otabek")?);

    let h = History { state, tenant: &tenant, travel, now, categories };
    let step = |hours: i64, who: &Caller, id: u64, to: S, note: Option<&str>| h.step(hours, who.clone(), id, to, note.map(str::to_string));

    // Done and accepted over the last five weeks: the points.
    let (bekzod, jasur, gulnora, shahzod, kamola, rustam) =
        (who("employee")?, who("jasur")?, who("gulnora")?, who("shahzod")?, who("kamola")?, who("rustam")?);
    let done: [(&Caller, &Caller, &str, u32, i64); 16] = [
        (&manager, &bekzod, "Oktabr oyi kredit hisoboti", 10, 24 * 33),
        (&manager, &jasur, "Garov hujjatlarini arxivlash", 5, 24 * 30),
        (&manager, &gulnora, "Mijozlar ro‘yxatini yangilash", 5, 24 * 26),
        (&otabek, &shahzod, "Kassa jurnalini tekshirish", 5, 24 * 23),
        (&director, &kamola, "Serverni zaxiralash", 15, 24 * 21),
        (&manager, &bekzod, "Ipoteka arizalarini ko‘rib chiqish", 10, 24 * 17),
        (&manager, &jasur, "Kredit shartnomalari shabloni", 5, 24 * 14),
        (&director, &rustam, "Wi-Fi tarmog‘ini sozlash", 10, 24 * 12),
        (&otabek, &shahzod, "Valyuta kurslari taxtasini yangilash", 5, 24 * 10),
        (&manager, &gulnora, "Kreditlar bo‘yicha FAQ tayyorlash", 10, 24 * 8),
        (&manager, &bekzod, "Noyabr kredit portfeli tahlili", 15, 24 * 6),
        (&director, &kamola, "Xodimlar uchun parollar siyosati", 10, 24 * 5),
        (&manager, &jasur, "Muammoli kreditlar ro‘yxati", 10, 24 * 4),
        (&otabek, &shahzod, "Kassa limitini qayta hisoblash", 10, 24 * 3),
        (&manager, &bekzod, "Kredit qo‘mitasi uchun taqdimot", 20, 30),
        (&director, &rustam, "Printerlarni almashtirish", 5, 26),
    ];
    let mut plans: Vec<Done> =
        done.into_iter().map(|(by, to, title, points, given)| Done { by, to, title, points, given, took: 20, redo: false }).collect();
    // Older weeks: each weekday, each of the six has a fair chance of a
    // task from their manager (the director gives the IT people theirs).
    if days > RECENT_DAYS {
        let people: [(&Caller, &Caller, usize); 6] = [
            (&bekzod, &manager, 0),
            (&jasur, &manager, 0),
            (&gulnora, &manager, 0),
            (&shahzod, &otabek, 1),
            (&kamola, &director, 2),
            (&rustam, &director, 2),
        ];
        // Up to ten days ago: the hand-written recent weeks go on from there.
        for back in (10..=days).rev() {
            let Some((midnight, weekday)) = day_ago(now, &tz, back) else { continue };
            if weekday >= 5 {
                continue;
            }
            for (i, (to, by, dept)) in people.iter().enumerate() {
                let r = mix(back as u64, i as u64);
                if r % 100 >= 45 {
                    continue;
                }
                let at = midnight + SignedDuration::from_hours(9 + (r % 6) as i64) + SignedDuration::from_mins((r % 50) as i64);
                let given = now.duration_since(at).as_hours();
                // One in seven is handed in after its two days; others within the day or the next.
                let took = if r.is_multiple_of(7) { 52 + (r % 18) as i64 } else { 3 + (r % 30) as i64 };
                let titles = PAST_TITLES.get(*dept).copied().unwrap_or_default();
                plans.push(Done {
                    by,
                    to,
                    title: titles.get((r / 7 % 6) as usize).copied().unwrap_or("Hisobot tayyorlash"),
                    points: [5, 10, 10, 15, 20].get((r / 3 % 5) as usize).copied().unwrap_or(10),
                    given,
                    took,
                    redo: r % 11 == 3,
                });
            }
        }
    }
    // Oldest first: task numbers grow with time, as in a real company.
    plans.sort_by_key(|p| std::cmp::Reverse(p.given));
    for p in plans {
        let (id, _) = h.give(Plan { by: p.by, to: p.to, title: p.title, points: p.points, given: p.given, due: 48 }).await.map_err(e)?;
        step(p.given - 2, p.to, id, S::InProgress, None).await.map_err(e)?;
        let mut handed = p.given - p.took;
        step(handed, p.to, id, S::PendingReview, Some("Tayyor")).await.map_err(e)?;
        if p.redo {
            step(handed - 1, p.by, id, S::Redo, Some("Raqamlarni yana bir bor tekshiring")).await.map_err(e)?;
            step(handed - 2, p.to, id, S::InProgress, None).await.map_err(e)?;
            handed -= 6;
            step(handed, p.to, id, S::PendingReview, Some("Tuzatildi")).await.map_err(e)?;
        }
        // Accepted a few hours after it was handed in (the recent ones: a day after they were given).
        let accepted = if p.took == 20 && !p.redo { (p.given - 24).max(1) } else { (handed - 2).max(1) };
        step(accepted, p.by, id, S::Completed, None).await.map_err(e)?;
    }

    // Still open, in every state. Due today: before the day ends.
    let end_of_day = crate::clock::from_ms(ms(now))
        .to_zoned(tz.clone())
        .date()
        .tomorrow()
        .ok()
        .and_then(|d| d.to_zoned(tz.clone()).ok())
        .map(|z| z.timestamp())
        .unwrap_or(now + SignedDuration::from_hours(6));
    let today_hours = ((end_of_day - SignedDuration::from_mins(10)).duration_since(now).as_secs() / 3600).max(1);
    // New and due today.
    h.give(Plan {
        by: &manager,
        to: &bekzod,
        title: "Yangi mijoz arizasini rasmiylashtirish",
        points: 5,
        given: 3,
        due: 3 + today_hours.min(6),
    })
    .await
    .map_err(e)?;
    // In progress, due today, the timer running.
    let (id, _) = h
        .give(Plan { by: &manager, to: &bekzod, title: "Kredit qo‘mitasi bayonnomasi", points: 10, given: 5, due: 5 + today_hours })
        .await
        .map_err(e)?;
    step(1, &bekzod, id, S::InProgress, None).await.map_err(e)?;
    // Sent back for redo, with the reason.
    let (id, _) = h
        .give(Plan { by: &manager, to: &bekzod, title: "Filial bo‘yicha kreditlar jadvali", points: 10, given: 50, due: 96 })
        .await
        .map_err(e)?;
    step(40, &bekzod, id, S::InProgress, None).await.map_err(e)?;
    step(30, &bekzod, id, S::PendingReview, Some("Jadval tayyor")).await.map_err(e)?;
    step(4, &manager, id, S::Redo, Some("Chilonzor filiali summalari hisobotdagi bilan mos kelmaydi. Iltimos, qayta tekshiring."))
        .await
        .map_err(e)?;
    // Its discussion.
    let redo_task = id;
    for (hours, by, text) in [
        (3, &bekzod, "Malika opa, Chilonzor bo‘yicha qaysi oyni solishtiray — noyabrmi?"),
        (3, &manager, "Ha, noyabr. Buxgalteriyadagi hisobot bilan solishtiring."),
        (2, &bekzod, "Tushunarli. Bugun kechgacha tuzatib yuboraman."),
    ] {
        h.say(hours, by, crate::chat::Target::Task(redo_task), text).await.map_err(e)?;
    }
    // A photo of the branch's summary, the report as a PDF and a voice note.
    let photo = h.file(&manager, "chilonzor-svod.png", demo_photo()).await.map_err(e)?;
    h.post(2, &manager, crate::chat::Target::Task(redo_task), "Mana Chilonzor bo‘yicha svod, solishtirib ko‘ring.", vec![photo])
        .await
        .map_err(e)?;
    let pdf = h.file(&bekzod, "kreditlar-jadvali.pdf", demo_pdf()).await.map_err(e)?;
    h.post(1, &bekzod, crate::chat::Target::Task(redo_task), "Tuzatilgan jadval ilova qilindi.", vec![pdf]).await.map_err(e)?;
    let voice = h.file(&manager, "ovozli-xabar.wav", demo_voice()).await.map_err(e)?;
    h.post(1, &manager, crate::chat::Target::Task(redo_task), "", vec![voice]).await.map_err(e)?;
    // Handed in, waiting for the manager's review.
    for (to, title, given) in [(&gulnora, "Kredit arizalari statistikasi", 30), (&jasur, "Mijozlarga SMS matni", 20)] {
        let (id, _) = h.give(Plan { by: &manager, to, title, points: 5, given, due: 72 }).await.map_err(e)?;
        step(given - 1, to, id, S::InProgress, None).await.map_err(e)?;
        step(2, to, id, S::PendingReview, Some("Tayyor, tekshirib bering")).await.map_err(e)?;
    }
    // Jasur has too much on his plate.
    for (i, title) in [
        "Garov bahosini yangilash",
        "Kredit tarixi so‘rovlari",
        "Qarzdorlarga xatlar",
        "Sug‘urta polislari",
        "Filial kassasi bilan solishtirish",
    ]
    .into_iter()
    .enumerate()
    {
        let given = 10 + i as i64 * 4;
        let (id, _) = h.give(Plan { by: &manager, to: &jasur, title, points: 5, given, due: 96 }).await.map_err(e)?;
        if i == 0 {
            step(given - 1, &jasur, id, S::InProgress, None).await.map_err(e)?;
        }
    }
    // Late: due days ago (the overdue job marks them below).
    let late: [(&Caller, &Caller, &str, i64); 4] = [
        (&manager, &bekzod, "Muddati o‘tgan to‘lovlar ro‘yxati", 24 * 5),
        (&manager, &bekzod, "Kredit xavfi bo‘yicha eslatma", 24 * 4),
        (&otabek, &shahzod, "Kassa apparatini ta’mirlatish", 24 * 6),
        (&director, &rustam, "Antivirus litsenziyasini yangilash", 24 * 7),
    ];
    let mut late_ids = Vec::new();
    for (by, to, title, given) in late {
        let (id, _) = h.give(Plan { by, to, title, points: 10, given, due: 48 }).await.map_err(e)?;
        late_ids.push(id);
    }
    // Given across departments: waiting for the director's approval; one declined.
    h.give(Plan { by: &manager, to: &shahzod, title: "Kassada kredit to‘lovlarini qabul qilish tartibi", points: 5, given: 6, due: 72 })
        .await
        .map_err(e)?;
    h.give(Plan { by: &otabek, to: &kamola, title: "Navbat terminaliga yangi printer", points: 5, given: 3, due: 48 }).await.map_err(e)?;
    let (id, _) = h
        .give(Plan { by: &manager, to: &rustam, title: "Kredit bo‘limiga yangi kompyuter", points: 5, given: 24 * 3, due: 96 })
        .await
        .map_err(e)?;
    travel(Some(ago(24 * 2)));
    tasks::decline(state, &tenant, &director, id, Some("Bu chorakda byudjet yo‘q".into())).await.map_err(e)?;
    // Rejected after review.
    let (id, _) = h
        .give(Plan { by: &otabek, to: &shahzod, title: "Eski kvitansiyalarni yo‘q qilish", points: 5, given: 24 * 9, due: 72 })
        .await
        .map_err(e)?;
    step(24 * 8, &shahzod, id, S::InProgress, None).await.map_err(e)?;
    step(24 * 7, &shahzod, id, S::PendingReview, None).await.map_err(e)?;
    step(24 * 6, &otabek, id, S::Rejected, Some("Arxiv qoidalariga ko‘ra 5 yil saqlanadi")).await.map_err(e)?;
    // New, not started, in the other departments.
    h.give(Plan { by: &otabek, to: &shahzod, title: "Tangalar uchun yangi qutilar", points: 5, given: 8, due: 48 }).await.map_err(e)?;
    h.give(Plan { by: &director, to: &kamola, title: "Kiosk ekranini kalibrlash", points: 5, given: 7, due: 30 }).await.map_err(e)?;

    // Chats: the credit department's group and a direct word from the director.
    let group = crate::chat::open_department(&tenant, &manager, ms(ago(26))).await.map_err(e)?;
    for (hours, by, text) in [
        (26, &manager, "Hammaga salom! Ertaga 9:00 da kredit qo‘mitasi. @employee taqdimotni tayyorlab keladi."),
        (25, &jasur, "Qabul qildim. Garov bo‘yicha ma’lumotlarni ham olib kelaymi?"),
        (25, &manager, "Ha, iltimos. Muammoli kreditlar ro‘yxati ham kerak bo‘ladi."),
    ] {
        h.say(hours, by, crate::chat::Target::Thread(group), text).await.map_err(e)?;
    }
    let direct = crate::chat::open_direct(&tenant, &director, manager.id(), ms(ago(5))).await.map_err(e)?;
    h.say(
        5,
        &director,
        crate::chat::Target::Thread(direct),
        "Malika, noyabr portfeli tahlilini ko‘rdim — yaxshi ish. Jasurga yordam kerakmi?",
    )
    .await
    .map_err(e)?;

    // Now: the overdue job finds the late ones; one asks for more time.
    travel(Some(ago(1)));
    tasks::mark_overdue(state, &tenant).await.map_err(e)?;
    if let Some(id) = late_ids.get(1) {
        let deadline = (now + SignedDuration::from_hours(48)).to_string();
        tasks::extension(state, &tenant, &bekzod, *id, &deadline, Some("Bank ma’lumotlari kechikdi, yana ikki kun kerak".into()))
            .await
            .map_err(e)?;
    }

    let staff = DemoStaff { bekzod: &bekzod, jasur: &jasur, gulnora: &gulnora, kamola: &kamola, rustam: &rustam, manager: &manager };
    requests_history(state, &tenant, travel, now, head, staff).await?;

    if days > RECENT_DAYS {
        queue_past(state, &tenant, travel, now, head, days).await?;
        schedules(state, &tenant, now, travel, &manager, &director).await.map_err(e)?;
    }
    queue_today(state, &tenant, travel, now).await
}

/// Reports on a schedule: the credit department's week to its manager on
/// Monday morning, the company's month to the director on the 1st.
async fn schedules(
    state: &AppState,
    tenant: &crate::tenancy::Tenant,
    now: jiff::Timestamp,
    travel: &(dyn Fn(Option<jiff::Timestamp>) + Sync),
    manager: &Caller,
    director: &Caller,
) -> Result<(), crate::error::AppError> {
    travel(Some(now));
    let dept = manager.department_id();
    for (report, every, weekday, day, to, department_id) in
        [("department", "week", Some(1), None, manager.id(), dept), ("company", "month", None, Some(1), director.id(), None)]
    {
        let input = crate::reports::schedule::ScheduleIn {
            report: report.into(),
            period: Some("previous".into()),
            every: every.into(),
            weekday,
            day,
            time: "09:00".into(),
            department_id,
            branch_id: None,
            recipients: vec![to],
            channels: vec!["in_app".into(), "telegram".into()],
        };
        crate::reports::schedule::create(tenant, &Caller::System, state.now_ms(), input).await?;
    }
    Ok(())
}

/// The head office's queue on every working day of the last `days` (but
/// today): customers arriving with the morning and afternoon peaks, the
/// operator calling them in turn, a few who do not come; whoever is still
/// waiting at closing time is closed with the day.
async fn queue_past(
    state: &AppState,
    tenant: &crate::tenancy::Tenant,
    travel: &(dyn Fn(Option<jiff::Timestamp>) + Sync),
    now: jiff::Timestamp,
    branch: u64,
    days: i64,
) -> anyhow::Result<()> {
    use crate::queue::tickets::{self, NewTicket};
    use crate::queue::window::{self, Act};
    use jiff::SignedDuration;
    let e = |e: crate::error::AppError| anyhow::anyhow!("demo queue history: {e}");
    let db = tenant.db().map_err(e)?;
    let tz = tenant.timezone();
    let services: Vec<u64> = crate::queue::service::list_services(db).map_err(e)?.into_iter().map(|(id, _)| id).collect();
    let Some(hours) = service::list_branches(db).map_err(e)?.into_iter().find(|(id, _)| *id == branch).and_then(|(_, b)| b.hours) else {
        return Ok(());
    };
    let (operator, _) = crate::auth::session::find_by_username(db, crate::auth::session::TENANT_REALM, "operator")
        .map_err(e)?
        .ok_or_else(|| anyhow::anyhow!("demo queue history: no operator"))?;
    let op = Caller::User(Box::new(crate::auth::Principal::load(tenant, operator, "demo".into(), crate::i18n::Lang::Uz).map_err(e)?));
    // When people come (hours of the day, the busy ones more than once).
    const HOURS: [i64; 14] = [9, 10, 10, 11, 11, 11, 12, 14, 14, 15, 15, 16, 16, 17];
    for back in (1..=days).rev() {
        let Some((midnight, weekday)) = day_ago(now, &tz, back) else { continue };
        let Some(Some((open, close))) = hours.get(weekday).copied() else { continue };
        let (open, close) = (i64::from(open), i64::from(close));
        let count = 16 + mix(back as u64, 99) % 12 + if weekday == 0 { 6 } else { 0 };
        let mut arrivals: Vec<i64> = (0..count)
            .map(|j| {
                let r = mix(back as u64, 1000 + j);
                HOURS.get((r % 14) as usize).copied().unwrap_or(11) * 60 + (r / 14 % 60) as i64
            })
            .filter(|m| *m >= open && *m < close - 10)
            .collect();
        arrivals.sort_unstable();
        let at = |m: i64| midnight + SignedDuration::from_mins(m);
        let mut waiting: std::collections::VecDeque<i64> = std::collections::VecDeque::new();
        let mut free_at = open;
        // The customers in order, and after the last one, closing time.
        for (j, next) in arrivals.iter().copied().map(Some).chain([None]).enumerate() {
            let until = next.unwrap_or(close);
            while let Some(&came) = waiting.front() {
                let call = (came + 2).max(free_at);
                if call >= until.min(close - 5) {
                    break;
                }
                waiting.pop_front();
                travel(Some(at(call)));
                let Some((id, _, _)) = window::call_next(state, tenant, &op).await.map_err(e)? else { break };
                let r = mix(back as u64, 5000 + j as u64 + call as u64);
                if r.is_multiple_of(13) {
                    travel(Some(at(call + 3)));
                    window::act(state, tenant, &op, id, Act::NoShow).await.map_err(e)?;
                    free_at = call + 3;
                } else {
                    window::act(state, tenant, &op, id, Act::Start).await.map_err(e)?;
                    let took = 6 + (r % 10) as i64;
                    travel(Some(at(call + took)));
                    window::act(state, tenant, &op, id, Act::Finish).await.map_err(e)?;
                    free_at = call + took;
                }
            }
            let Some(m) = next else { break };
            travel(Some(at(m)));
            let input = NewTicket {
                service_id: services.get(mix(back as u64, j as u64) as usize % services.len().max(1)).copied().unwrap_or(1),
                source: "kiosk".into(),
                priority: None,
                name: None,
                phone: None,
            };
            tickets::issue(state, tenant, &Caller::Public, branch, input).await.map_err(e)?;
            waiting.push_back(m);
        }
        // The day ends: whoever still waits is closed with it.
        travel(Some(at(close) + SignedDuration::from_mins(1)));
        tickets::expire_due(state, tenant).await.map_err(e)?;
    }
    Ok(())
}

/// A task given at `given` hours ago, due `due` hours after it was given.
struct Plan<'a> {
    by: &'a Caller,
    to: &'a Caller,
    title: &'a str,
    points: u32,
    given: i64,
    due: i64,
}

/// Writes the history at the times it happened.
struct History<'a> {
    state: &'a AppState,
    tenant: &'a crate::tenancy::Tenant,
    travel: &'a (dyn Fn(Option<jiff::Timestamp>) + Sync),
    now: jiff::Timestamp,
    /// Category id, and the words of a title that put a task there.
    categories: Vec<(u64, &'static [&'static str])>,
}

impl History<'_> {
    /// The first category one of whose words the title holds.
    fn category_of(&self, title: &str) -> Option<u64> {
        let title = title.to_lowercase();
        self.categories.iter().find(|(_, words)| words.iter().any(|w| title.contains(w))).map(|(id, _)| *id)
    }

    fn ago(&self, hours: i64) -> jiff::Timestamp {
        self.now - jiff::SignedDuration::from_hours(hours)
    }

    async fn give(&self, p: Plan<'_>) -> Result<(u64, crate::store::schema::TaskV1), crate::error::AppError> {
        let at = self.ago(p.given);
        (self.travel)(Some(at));
        let input = crate::tasks::service::NewTask {
            title: p.title.into(),
            assignee_id: p.to.id(),
            deadline: (at + jiff::SignedDuration::from_hours(p.due)).to_string(),
            points: p.points,
            category_id: self.category_of(p.title),
            ..Default::default()
        };
        crate::tasks::service::create(self.state, self.tenant, p.by, input).await
    }

    /// `by` uploads a file (its bytes given whole: the demo's are small).
    async fn file(&self, by: &Caller, name: &str, bytes: Vec<u8>) -> Result<u64, crate::error::AppError> {
        let user = by.user().ok_or_else(|| crate::error::AppError::new(crate::error::ErrorKind::Forbidden))?;
        let body = futures_util::stream::iter([Ok::<_, crate::error::AppError>(bytes)]);
        Ok(crate::files::upload(self.state, user, name, body).await?.id)
    }

    /// `by` writes `text` with `files` in a chat `hours` ago.
    async fn post(
        &self,
        hours: i64,
        by: &Caller,
        target: crate::chat::Target,
        text: &str,
        files: Vec<u64>,
    ) -> Result<(), crate::error::AppError> {
        (self.travel)(Some(self.ago(hours)));
        let input = crate::chat::NewMessage { text: text.into(), file_ids: files, ..Default::default() };
        crate::chat::post(self.state, self.tenant, by, target, input).await.map(|_| ())
    }

    /// `by` writes `text` in a chat `hours` ago.
    async fn say(&self, hours: i64, by: &Caller, target: crate::chat::Target, text: &str) -> Result<(), crate::error::AppError> {
        (self.travel)(Some(self.ago(hours)));
        let input = crate::chat::NewMessage { text: text.into(), ..Default::default() };
        crate::chat::post(self.state, self.tenant, by, target, input).await.map(|_| ())
    }

    async fn step(
        &self,
        hours: i64,
        who: Caller,
        id: u64,
        to: crate::store::schema::TaskStatus,
        note: Option<String>,
    ) -> Result<crate::store::schema::TaskV1, crate::error::AppError> {
        (self.travel)(Some(self.ago(hours)));
        crate::tasks::service::change_status(self.state, self.tenant, &who, id, to, note).await
    }
}

/// Today's queue: customers at both branches, some served at window 1 of
/// the head office, some still waiting. Written inside the branches' hours
/// today (nothing on a day they are closed).
async fn queue_today(
    state: &AppState,
    tenant: &crate::tenancy::Tenant,
    travel: &(dyn Fn(Option<jiff::Timestamp>) + Sync),
    now: jiff::Timestamp,
) -> anyhow::Result<()> {
    use crate::queue::tickets::{self, NewTicket};
    use jiff::SignedDuration;
    let e = |e: crate::error::AppError| anyhow::anyhow!("demo queue: {e}");
    let db = tenant.db().map_err(e)?;
    let tz = tenant.timezone();
    let services: Vec<u64> = crate::queue::service::list_services(db).map_err(e)?.into_iter().map(|(id, _)| id).collect();
    let (_, weekday, minute) = tickets::local_day(now.as_millisecond(), &tz);
    let midnight = now - SignedDuration::from_mins(i64::from(minute));
    let (operator, _) = crate::auth::session::find_by_username(db, crate::auth::session::TENANT_REALM, "operator")
        .map_err(e)?
        .ok_or_else(|| anyhow::anyhow!("demo queue: no operator"))?;
    let op = Caller::User(Box::new(crate::auth::Principal::load(tenant, operator, "demo".into(), crate::i18n::Lang::Uz).map_err(e)?));
    let mut branches = service::list_branches(db).map_err(e)?;
    branches.sort_by_key(|(id, _)| *id);
    for (n, (branch, b)) in branches.into_iter().enumerate() {
        let Some(Some((open, close))) = b.hours.and_then(|h| h.get(weekday).copied()) else { continue };
        // The last customer came in now, or a little before closing; never
        // later than now (a demo started at night has no customers from the
        // future, whose wait would read "0 min"), and nobody yet before the
        // branch has been open for a quarter of an hour.
        let last = minute.min(close.saturating_sub(15));
        if last < open.saturating_add(15) {
            continue;
        }
        let first = last.saturating_sub(100).max(open);
        // About one customer every four minutes at most.
        let count: u16 = (if n == 0 { 14 } else { 6 }).min(((last - first) / 4).max(2));
        let mut issued = Vec::new();
        for i in 0..count {
            let at = first + (last - first) * i / count.max(1);
            travel(Some(midnight + SignedDuration::from_mins(i64::from(at))));
            let input = NewTicket {
                service_id: services.get(usize::from(i) % services.len().max(1)).copied().unwrap_or(1),
                source: "kiosk".into(),
                priority: None,
                name: None,
                phone: None,
            };
            issued.push(tickets::issue(state, tenant, &Caller::Public, branch, input).await.map_err(e)?.id);
            // At the head office the operator serves every other customer as they come.
            if n == 0 && i % 2 == 1 && i < count - 4 {
                travel(Some(midnight + SignedDuration::from_mins(i64::from(at) + 2)));
                if let Some((id, _, _)) = crate::queue::window::call_next(state, tenant, &op).await.map_err(e)? {
                    crate::queue::window::act(state, tenant, &op, id, crate::queue::window::Act::Start).await.map_err(e)?;
                    travel(Some(midnight + SignedDuration::from_mins(i64::from(at) + 6)));
                    crate::queue::window::act(state, tenant, &op, id, crate::queue::window::Act::Finish).await.map_err(e)?;
                }
            }
        }
    }
    // After closing, the day's unserved tickets expire as they would have
    // at closing time: nobody is left "waiting" for hours overnight.
    travel(Some(now));
    tickets::expire_due(state, tenant).await.map_err(e)?;
    Ok(())
}

/// A photo for the demo's chat: a table of figures, drawn (light rows, a
/// blue header), as a PNG.
fn demo_photo() -> Vec<u8> {
    let (w, h) = (480u32, 320u32);
    let img = image::RgbImage::from_fn(w, h, |x, y| {
        let header = y < 48;
        let line = y % 34 == 0 || x % 120 == 0;
        if header {
            image::Rgb([31, 111, 235])
        } else if line {
            image::Rgb([200, 208, 218])
        } else if (y / 34) % 2 == 0 {
            image::Rgb([244, 246, 248])
        } else {
            image::Rgb([255, 255, 255])
        }
    });
    let mut out = std::io::Cursor::new(Vec::new());
    // Encoding an in-memory image of known size does not fail.
    let _ = img.write_to(&mut out, image::ImageFormat::Png);
    out.into_inner()
}

/// A one-page PDF for the demo's chat.
fn demo_pdf() -> Vec<u8> {
    let text = "BT /F1 18 Tf 72 720 Td (Filial boyicha kreditlar jadvali - noyabr 2026) Tj ET";
    let objects = [
        "<< /Type /Catalog /Pages 2 0 R >>".to_string(),
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_string(),
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>".to_string(),
        format!("<< /Length {} >>\nstream\n{text}\nendstream", text.len()),
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".to_string(),
    ];
    let mut pdf = b"%PDF-1.4\n".to_vec();
    let mut offsets = Vec::new();
    for (i, o) in objects.iter().enumerate() {
        offsets.push(pdf.len());
        pdf.extend_from_slice(format!("{} 0 obj\n{o}\nendobj\n", i + 1).as_bytes());
    }
    let xref = pdf.len();
    pdf.extend_from_slice(format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes());
    for o in offsets {
        pdf.extend_from_slice(format!("{o:010} 00000 n \n").as_bytes());
    }
    pdf.extend_from_slice(format!("trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n", objects.len() + 1).as_bytes());
    pdf
}

/// A two-second voice note for the demo's chat: a soft two-tone chime as
/// 8 kHz mono WAV.
fn demo_voice() -> Vec<u8> {
    let rate = 8000u32;
    let samples: Vec<i16> = (0..rate * 2)
        .map(|i| {
            let t = f64::from(i) / f64::from(rate);
            let f = if t < 1.0 { 440.0 } else { 554.0 };
            let fade = (1.0 - (t % 1.0)).min(1.0);
            (f64::sin(2.0 * std::f64::consts::PI * f * t) * 6000.0 * fade) as i16
        })
        .collect();
    let data_len = u32::try_from(samples.len() * 2).unwrap_or(0);
    let mut wav = Vec::with_capacity(44 + samples.len() * 2);
    wav.extend_from_slice(b"RIFF");
    wav.extend_from_slice(&(36 + data_len).to_le_bytes());
    wav.extend_from_slice(b"WAVEfmt ");
    wav.extend_from_slice(&16u32.to_le_bytes());
    wav.extend_from_slice(&1u16.to_le_bytes());
    wav.extend_from_slice(&1u16.to_le_bytes());
    wav.extend_from_slice(&rate.to_le_bytes());
    wav.extend_from_slice(&(rate * 2).to_le_bytes());
    wav.extend_from_slice(&2u16.to_le_bytes());
    wav.extend_from_slice(&16u16.to_le_bytes());
    wav.extend_from_slice(b"data");
    wav.extend_from_slice(&data_len.to_le_bytes());
    for s in samples {
        wav.extend_from_slice(&s.to_le_bytes());
    }
    wav
}

/// The demo's people who work client requests.
struct DemoStaff<'a> {
    bekzod: &'a Caller,
    jasur: &'a Caller,
    gulnora: &'a Caller,
    kamola: &'a Caller,
    rustam: &'a Caller,
    manager: &'a Caller,
}

fn names3(uz: &str, ru: &str, en: &str) -> crate::store::schema::Names {
    crate::store::schema::Names { uz: uz.into(), ru: ru.into(), en: en.into() }
}

fn form_field(
    key: &str,
    kind: crate::store::schema::FieldKind,
    labels: crate::store::schema::Names,
    required: bool,
    options: &[(&str, &str, &str, &str)],
) -> crate::store::schema::FormField {
    crate::store::schema::FormField {
        key: key.into(),
        kind,
        labels,
        required,
        options: options
            .iter()
            .map(|(k, uz, ru, en)| crate::store::schema::ChoiceOption { key: (*k).into(), labels: names3(uz, ru, en) })
            .collect(),
    }
}

/// Client requests: three categories with their forms and requests in
/// every status, filed over the last two weeks through the core.
async fn requests_history(
    state: &AppState,
    tenant: &crate::tenancy::Tenant,
    travel: &(dyn Fn(Option<jiff::Timestamp>) + Sync),
    now: jiff::Timestamp,
    branch: u64,
    p: DemoStaff<'_>,
) -> anyhow::Result<()> {
    use crate::requests::service::{self as requests, ClientInput, NewRequest};
    use crate::store::schema::{FieldKind as K, Priority, RequestCategoryV1, RequestChannel, RequestStatus as R, SlaClock};
    use std::collections::BTreeMap;
    let e = |e: crate::error::AppError| anyhow::anyhow!("demo requests: {e}");
    let ago = |h: i64| now - jiff::SignedDuration::from_hours(h);
    travel(Some(ago(24 * 15)));
    let card = RequestCategoryV1 {
        names: names3("Karta bloklangan", "Карта заблокирована", "Card blocked"),
        icon: "card".into(),
        color: "#1f6feb".into(),
        team: vec![p.bekzod.id(), p.jasur.id(), p.gulnora.id()],
        lead_id: Some(p.manager.id()),
        auto_assign: true,
        default_priority: Priority::High,
        first_response_minutes: Some(30),
        resolution_minutes: Some(240),
        clock: SlaClock::WorkingHours,
        branch_id: Some(branch),
        fields: vec![
            form_field(
                "card_type",
                K::Choice,
                names3("Karta turi", "Тип карты", "Card type"),
                true,
                &[("uzcard", "Uzcard", "Uzcard", "Uzcard"), ("humo", "Humo", "Humo", "Humo"), ("visa", "Visa", "Visa", "Visa")],
            ),
            form_field("last4", K::Text, names3("Kartaning oxirgi 4 raqami", "Последние 4 цифры карты", "Last 4 digits"), true, &[]),
            form_field("when", K::Date, names3("Qachon bloklandi", "Когда заблокирована", "When it was blocked"), false, &[]),
        ],
        active: true,
        last_assigned: None,
        sort: 1,
    };
    let loan = RequestCategoryV1 {
        names: names3("Kredit bo‘yicha savol", "Вопрос по кредиту", "Loan question"),
        icon: "loan".into(),
        color: "#0a7d5a".into(),
        team: vec![p.bekzod.id(), p.jasur.id()],
        lead_id: Some(p.manager.id()),
        auto_assign: false,
        default_priority: Priority::Normal,
        first_response_minutes: Some(120),
        resolution_minutes: Some(2880),
        clock: SlaClock::WorkingHours,
        branch_id: Some(branch),
        fields: vec![
            form_field(
                "loan_type",
                K::Choice,
                names3("Kredit turi", "Вид кредита", "Loan type"),
                true,
                &[
                    ("mortgage", "Ipoteka", "Ипотека", "Mortgage"),
                    ("car", "Avtokredit", "Автокредит", "Car loan"),
                    ("consumer", "Iste’mol krediti", "Потребительский", "Consumer loan"),
                ],
            ),
            form_field("amount", K::Number, names3("Summa (so‘m)", "Сумма (сум)", "Amount (UZS)"), false, &[]),
            form_field("contract", K::Text, names3("Shartnoma raqami", "Номер договора", "Contract number"), false, &[]),
        ],
        active: true,
        last_assigned: None,
        sort: 2,
    };
    let complaint = RequestCategoryV1 {
        names: names3("Shikoyat", "Жалоба", "Complaint"),
        icon: "complaint".into(),
        color: "#b42318".into(),
        team: vec![p.kamola.id(), p.rustam.id()],
        lead_id: Some(p.manager.id()),
        auto_assign: true,
        default_priority: Priority::Normal,
        first_response_minutes: Some(60),
        resolution_minutes: Some(1440),
        clock: SlaClock::AllDay,
        branch_id: None,
        fields: vec![
            form_field(
                "branch",
                K::Choice,
                names3("Filial", "Филиал", "Branch"),
                true,
                &[
                    ("head", "Bosh ofis", "Головной офис", "Head office"),
                    ("chilonzor", "Chilonzor filiali", "Чиланзарский филиал", "Chilanzar branch"),
                ],
            ),
            form_field("visit", K::Date, names3("Tashrif sanasi", "Дата визита", "Date of the visit"), false, &[]),
            form_field(
                "phone_back",
                K::Phone,
                names3("Qayta qo‘ng‘iroq uchun telefon", "Телефон для обратного звонка", "Phone to call back"),
                false,
                &[],
            ),
        ],
        active: true,
        last_assigned: None,
        sort: 3,
    };
    // Made through the categories' own rules, as an admin would.
    let names_in =
        |n: &crate::store::schema::Names| crate::requests::categories::NamesInput { uz: n.uz.clone(), ru: n.ru.clone(), en: n.en.clone() };
    let mut ids = Vec::new();
    for cat in [card, loan, complaint] {
        let input = crate::requests::categories::CategoryInput {
            names: Some(names_in(&cat.names)),
            icon: Some(cat.icon.clone()),
            color: Some(cat.color.clone()),
            team_ids: Some(cat.team.clone()),
            lead_id: Some(cat.lead_id),
            auto_assign: Some(cat.auto_assign),
            default_priority: Some(crate::requests::priority_code(cat.default_priority).into()),
            sla: Some(crate::requests::categories::SlaInput {
                first_response_minutes: cat.first_response_minutes.map(i64::from),
                resolution_minutes: cat.resolution_minutes.map(i64::from),
                clock: Some(crate::requests::categories::clock_code(cat.clock).into()),
            }),
            branch_id: Some(cat.branch_id),
            fields: Some(
                cat.fields
                    .iter()
                    .map(|f| crate::requests::categories::FieldInput {
                        key: f.key.clone(),
                        kind: crate::requests::categories::kind_code(f.kind).into(),
                        labels: names_in(&f.labels),
                        required: f.required,
                        options: f
                            .options
                            .iter()
                            .map(|o| crate::requests::categories::OptionInput { key: o.key.clone(), labels: names_in(&o.labels) })
                            .collect(),
                    })
                    .collect(),
            ),
            active: Some(true),
            sort: Some(cat.sort),
        };
        ids.push(crate::requests::categories::create(state, tenant, &Caller::System, input).await.map_err(e)?.0);
    }
    let [card, loan, complaint] = ids[..] else { return Err(anyhow::anyhow!("demo requests: three categories")) };

    // (hours ago, category, client, phone, telegram, subject, text, fields)
    type Filing<'a> = (i64, u64, &'a str, &'a str, Option<i64>, &'a str, &'a str, &'a [(&'a str, &'a str)]);
    let filings: [Filing<'_>; 14] = [
        (
            24 * 14,
            card,
            "Aziz Karimov",
            "+998901234567",
            None,
            "Karta bankomatda qoldi",
            "Chilonzordagi bankomat kartani qaytarmadi.",
            &[("card_type", "uzcard"), ("last4", "4417")],
        ),
        (
            24 * 12,
            loan,
            "Дилноза Юсупова",
            "+998935551122",
            Some(5_001),
            "Ипотека: нужны документы",
            "Какие документы нужны для ипотеки на вторичное жильё?",
            &[("loan_type", "mortgage"), ("amount", "450000000")],
        ),
        (
            24 * 10,
            complaint,
            "Bobur Aliyev",
            "+998977003344",
            None,
            "Navbatda uzoq kutdim",
            "Bosh ofisda 40 daqiqa navbatda turdim, bitta oyna ishladi.",
            &[("branch", "head")],
        ),
        (
            24 * 9,
            card,
            "Шахноза Рахимова",
            "+998909998877",
            Some(5_002),
            "Карта Humo заблокирована",
            "После трёх неверных PIN карта заблокирована.",
            &[("card_type", "humo"), ("last4", "0932")],
        ),
        (
            24 * 7,
            loan,
            "Jasur Tursunov",
            "+998946667788",
            None,
            "Avtokredit muddatini uzaytirish",
            "Avtokredit to‘lov muddatini 6 oyga uzaytirish mumkinmi?",
            &[("loan_type", "car"), ("contract", "AK-2024/118")],
        ),
        (
            24 * 5,
            complaint,
            "Нилуфар Каримова",
            "+998911234000",
            None,
            "Грубость кассира",
            "В Чиланзарском филиале кассир отказался принять платёж.",
            &[("branch", "chilonzor")],
        ),
        (
            24 * 4,
            card,
            "Otabek Qodirov",
            "+998998887766",
            None,
            "Visa karta to‘lovni o‘tkazmayapti",
            "Xorijiy saytlarda Visa karta bilan to‘lov o‘tmayapti.",
            &[("card_type", "visa"), ("last4", "7781")],
        ),
        (
            24 * 3,
            loan,
            "Madina Saidova",
            "+998903332211",
            Some(5_003),
            "Iste’mol krediti foizi",
            "Iste’mol krediti bo‘yicha foiz stavkasi qancha?",
            &[("loan_type", "consumer")],
        ),
        (
            50,
            card,
            "Sardor Nazarov",
            "+998901010101",
            None,
            "Karta o‘g‘irlandi",
            "Kartam o‘g‘irlandi, zudlik bilan bloklang.",
            &[("card_type", "uzcard"), ("last4", "1200")],
        ),
        (
            30,
            complaint,
            "Rustam Xolmatov",
            "+998935550000",
            None,
            "SMS xabarnoma kelmayapti",
            "Oxirgi bir haftada karta bo‘yicha SMS kelmayapti.",
            &[("branch", "head")],
        ),
        (
            26,
            loan,
            "Aziz Karimov",
            "+998901234567",
            None,
            "Kredit kartasi limiti",
            "Kredit karta limitini oshirish uchun nima qilish kerak?",
            &[("loan_type", "consumer")],
        ),
        (
            20,
            card,
            "Лола Ахмедова",
            "+998977771234",
            Some(5_004),
            "Не приходят деньги на карту",
            "Перевод с другой карты не зачислился.",
            &[("card_type", "humo"), ("last4", "5550")],
        ),
        (
            6,
            loan,
            "Kamron Usmonov",
            "+998946660011",
            None,
            "Ipoteka kalkulyatori",
            "Ilovada ipoteka kalkulyatori ishlamayapti.",
            &[("loan_type", "mortgage")],
        ),
        (
            2,
            card,
            "Gulchehra Yo‘ldosheva",
            "+998909090909",
            None,
            "Kartani qayta chiqarish",
            "Kartaning muddati tugadi, yangisini qanday olaman?",
            &[("card_type", "uzcard"), ("last4", "3141")],
        ),
    ];
    let mut filed = Vec::new();
    for (hours, category_id, name, phone, telegram, subject, text, fields) in filings {
        travel(Some(ago(hours)));
        let input = NewRequest {
            category_id,
            subject: subject.into(),
            text: text.into(),
            fields: fields.iter().map(|(k, v)| ((*k).to_string(), (*v).to_string())).collect::<BTreeMap<_, _>>(),
            file_ids: Vec::new(),
            client: ClientInput {
                name: name.into(),
                phone: Some(phone.into()),
                phone_verified: telegram.is_some(),
                telegram_id: telegram,
                lang: Some(if name.chars().any(|c| ('А'..='я').contains(&c)) { crate::i18n::Lang::Ru } else { crate::i18n::Lang::Uz }),
                ..ClientInput::default()
            },
            channel: Some(if telegram.is_some() { RequestChannel::Telegram } else { RequestChannel::Web }),
            priority: None,
        };
        filed.push((hours, requests::create(state, tenant, &Caller::Public, input).await.map_err(e)?));
    }
    let at = |h: i64| travel(Some(ago(h)));
    let reply = |text: &str, internal: bool| crate::chat::NewMessage { text: text.into(), internal, ..Default::default() };
    // Who has each one (round-robin gave some); the loans a dispatcher hands out.
    let assignee_of = |i: usize| -> Option<u64> { filed.get(i).and_then(|(_, f)| f.request.assignee_id) };
    let by_id = |id: Option<u64>| -> &Caller {
        [p.bekzod, p.jasur, p.gulnora, p.kamola, p.rustam].into_iter().find(|c| Some(c.id()) == id).unwrap_or(p.bekzod)
    };
    let id_of = |i: usize| filed.get(i).map(|(_, f)| f.id).unwrap_or(0);
    let token_of = |i: usize| filed.get(i).map(|(_, f)| f.request.token.clone()).unwrap_or_default();
    let m = p.manager;
    for (i, who) in [(1, p.jasur), (4, p.bekzod), (7, p.jasur), (10, p.bekzod)] {
        let h = filed.get(i).map(|(h, _)| *h).unwrap_or(1) - 1;
        at(h);
        requests::assign(state, tenant, m, id_of(i), who.id(), Some("Kredit bo‘limi")).await.map_err(e)?;
    }

    // 0: done and rated 5.
    let w = by_id(assignee_of(0));
    at(24 * 14 - 1);
    requests::reply(
        state,
        tenant,
        w,
        id_of(0),
        reply("Assalomu alaykum! Karta blokdan chiqarildi, filialdan olib ketishingiz mumkin.", false),
    )
    .await
    .map_err(e)?;
    requests::change_status(state, tenant, w, id_of(0), R::InProgress, None).await.map_err(e)?;
    requests::change_status(state, tenant, w, id_of(0), R::PendingReview, None).await.map_err(e)?;
    at(24 * 13);
    requests::change_status(state, tenant, m, id_of(0), R::Done, None).await.map_err(e)?;
    requests::rate(state, tenant, &token_of(0), 5, Some("Tez hal qilishdi, rahmat!")).await.map_err(e)?;
    // 1: done and rated 4, with an internal note.
    at(24 * 12 - 2);
    requests::reply(state, tenant, p.jasur, id_of(1), reply("Клиенту нужна справка о доходах — уточнить у кредитного комитета.", true))
        .await
        .map_err(e)?;
    requests::reply(
        state,
        tenant,
        p.jasur,
        id_of(1),
        reply("Здравствуйте! Нужны паспорт, справка о доходах и документы на квартиру. Список отправили.", false),
    )
    .await
    .map_err(e)?;
    requests::change_status(state, tenant, p.jasur, id_of(1), R::InProgress, None).await.map_err(e)?;
    requests::change_status(state, tenant, p.jasur, id_of(1), R::PendingReview, None).await.map_err(e)?;
    at(24 * 11);
    requests::change_status(state, tenant, m, id_of(1), R::Done, None).await.map_err(e)?;
    requests::rate(state, tenant, &token_of(1), 4, None).await.map_err(e)?;
    // 2: rejected with a reason.
    let w = by_id(assignee_of(2));
    at(24 * 10 - 3);
    requests::change_status(
        state,
        tenant,
        w,
        id_of(2),
        R::Rejected,
        Some("O‘sha kuni tizimda nosozlik bo‘lgan; murojaatingiz texnik bo‘limga yuborildi."),
    )
    .await
    .map_err(e)?;
    // 3: done, then the client wrote again: reopened.
    let w = by_id(assignee_of(3));
    at(24 * 9 - 1);
    requests::reply(state, tenant, w, id_of(3), reply("Карта разблокирована, PIN можно сменить в приложении.", false)).await.map_err(e)?;
    requests::change_status(state, tenant, w, id_of(3), R::InProgress, None).await.map_err(e)?;
    requests::change_status(state, tenant, w, id_of(3), R::PendingReview, None).await.map_err(e)?;
    requests::change_status(state, tenant, m, id_of(3), R::Done, None).await.map_err(e)?;
    at(24 * 6);
    requests::client_reply(state, tenant, &token_of(3), "Карта снова заблокировалась после смены PIN.", Vec::new()).await.map_err(e)?;
    // 4: waiting for the client.
    at(24 * 7 - 2);
    requests::reply(
        state,
        tenant,
        p.bekzod,
        id_of(4),
        reply("Iltimos, pasport nusxasini va oxirgi to‘lov kvitansiyasini yuboring.", false),
    )
    .await
    .map_err(e)?;
    requests::change_status(state, tenant, p.bekzod, id_of(4), R::WaitingClient, None).await.map_err(e)?;
    // 5: in review.
    let w = by_id(assignee_of(5));
    at(24 * 5 - 2);
    requests::reply(state, tenant, w, id_of(5), reply("Приносим извинения. Мы разобрались с кассиром, платёж принят.", false))
        .await
        .map_err(e)?;
    requests::change_status(state, tenant, w, id_of(5), R::InProgress, None).await.map_err(e)?;
    requests::change_status(state, tenant, w, id_of(5), R::PendingReview, None).await.map_err(e)?;
    // 6: in progress.
    let w = by_id(assignee_of(6));
    at(24 * 4 - 1);
    requests::change_status(state, tenant, w, id_of(6), R::InProgress, None).await.map_err(e)?;
    requests::reply(state, tenant, w, id_of(6), reply("Karta xorijiy to‘lovlar uchun ochilishi kerak, tekshiryapmiz.", false))
        .await
        .map_err(e)?;
    // 7: assigned, a first answer given; 8: urgent, not answered (past its SLA);
    // 9: in progress with a note; 10: assigned; 11–13: as filed.
    at(24 * 3 - 1);
    requests::reply(
        state,
        tenant,
        p.jasur,
        id_of(7),
        reply("Foiz stavkasi 24% dan boshlanadi, aniq shartlar uchun filialga keling.", false),
    )
    .await
    .map_err(e)?;
    at(49);
    requests::set_priority(state, tenant, m, id_of(8), Priority::Urgent).await.map_err(e)?;
    let w = by_id(assignee_of(9));
    at(29);
    requests::change_status(state, tenant, w, id_of(9), R::InProgress, None).await.map_err(e)?;
    requests::reply(state, tenant, w, id_of(9), reply("SMS-xizmat provayderi bilan bog‘landik.", true)).await.map_err(e)?;
    Ok(())
}
