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
    request_categories(db).await.map_err(e)?;
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
    let r = history(state, travel).await;
    travel(None);
    r
}

async fn history(state: &AppState, travel: &(dyn Fn(Option<jiff::Timestamp>) + Sync)) -> anyhow::Result<()> {
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
    travel(Some(ago(24 * 35)));
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
    for (by, to, title, points, given) in done {
        let (id, _) = h.give(Plan { by, to, title, points, given, due: 48 }).await.map_err(e)?;
        step(given - 2, to, id, S::InProgress, None).await.map_err(e)?;
        step(given - 20, to, id, S::PendingReview, Some("Tayyor")).await.map_err(e)?;
        // Accepted a day after it was given, or within the last hours.
        step((given - 24).max(1), by, id, S::Completed, None).await.map_err(e)?;
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

    queue_today(state, &tenant, travel, now).await
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

/// INTERIM (the categories work may replace it with its own seeding): the
/// demo's request categories with their forms, so the client's form has
/// something to offer. "Card blocked" goes round-robin to the employee and
/// the manager.
async fn request_categories(db: &crate::store::Db) -> Result<(), crate::error::AppError> {
    use crate::store::schema::{ChoiceOption, FieldKind, FormField, Names, Priority, REQUEST_CATEGORIES, RequestCategoryV1, SlaClock};
    let n = |uz: &str, ru: &str, en: &str| Names { uz: uz.into(), ru: ru.into(), en: en.into() };
    let field = |key: &str, kind: FieldKind, labels: Names, required: bool, options: Vec<ChoiceOption>| FormField {
        key: key.into(),
        kind,
        labels,
        required,
        options,
    };
    let opt = |key: &str, labels: Names| ChoiceOption { key: key.into(), labels };
    let team: Vec<u64> = ["employee", "manager"]
        .into_iter()
        .filter_map(|u| crate::auth::session::find_by_username(db, crate::auth::session::TENANT_REALM, u).ok().flatten().map(|(id, _)| id))
        .collect();
    let base =
        |names: Names, icon: &str, color: &str, priority: Priority, first: u32, resolve: u32, fields: Vec<FormField>| RequestCategoryV1 {
            names,
            icon: icon.into(),
            color: color.into(),
            team: team.clone(),
            lead_id: None,
            auto_assign: false,
            default_priority: priority,
            first_response_minutes: Some(first),
            resolution_minutes: Some(resolve),
            clock: SlaClock::WorkingHours,
            branch_id: None,
            fields,
            active: true,
            last_assigned: None,
            sort: 0,
        };
    let mut card = base(
        n("Karta bloklangan", "Карта заблокирована", "Card blocked"),
        "card",
        "#1f6feb",
        Priority::High,
        30,
        480,
        vec![
            field(
                "card_type",
                FieldKind::Choice,
                n("Karta turi", "Тип карты", "Card type"),
                true,
                vec![
                    opt("uzcard", n("Uzcard", "Uzcard", "Uzcard")),
                    opt("humo", n("Humo", "Humo", "Humo")),
                    opt("visa", n("Visa", "Visa", "Visa")),
                    opt("mastercard", n("Mastercard", "Mastercard", "Mastercard")),
                ],
            ),
            field(
                "card_last4",
                FieldKind::Text,
                n("Kartaning oxirgi 4 raqami", "Последние 4 цифры карты", "Last 4 digits of the card"),
                true,
                vec![],
            ),
            field("since", FieldKind::Date, n("Qachon bloklandi", "Когда заблокирована", "Blocked since"), false, vec![]),
        ],
    );
    card.auto_assign = true;
    card.sort = 1;
    let mut loan = base(
        n("Kredit bo‘yicha savol", "Вопрос по кредиту", "Loan question"),
        "loan",
        "#1a7f37",
        Priority::Normal,
        120,
        1440,
        vec![
            field(
                "loan_type",
                FieldKind::Choice,
                n("Kredit turi", "Вид кредита", "Loan type"),
                true,
                vec![
                    opt("consumer", n("Iste’mol krediti", "Потребительский", "Consumer loan")),
                    opt("mortgage", n("Ipoteka", "Ипотека", "Mortgage")),
                    opt("car", n("Avtokredit", "Автокредит", "Car loan")),
                    opt("micro", n("Mikroqarz", "Микрозайм", "Microloan")),
                ],
            ),
            field("amount", FieldKind::Number, n("Summa (so‘m)", "Сумма (сум)", "Amount (sum)"), false, vec![]),
            field(
                "call_phone",
                FieldKind::Phone,
                n("Qaysi raqamga qo‘ng‘iroq qilaylik", "По какому номеру перезвонить", "Phone to call back"),
                false,
                vec![],
            ),
        ],
    );
    loan.sort = 2;
    let mut complaint = base(
        n("Shikoyat", "Жалоба", "Complaint"),
        "complaint",
        "#b42318",
        Priority::Normal,
        60,
        2880,
        vec![
            field("where", FieldKind::Text, n("Qaysi filialda", "В каком отделении", "Which branch"), false, vec![]),
            field("when", FieldKind::Date, n("Qachon", "Когда", "When"), false, vec![]),
            field("document", FieldKind::File, n("Hujjat yoki rasm", "Документ или фото", "Document or photo"), false, vec![]),
        ],
    );
    complaint.sort = 3;
    db.write(move |tx| {
        for c in [&card, &loan, &complaint] {
            let id = crate::store::next_id(tx, "request_category")?;
            REQUEST_CATEGORIES.open(tx)?.insert(id, c)?;
        }
        Ok(())
    })
    .await
}
