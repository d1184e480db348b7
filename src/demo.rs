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
    for name in ["Kredit bo‘limi", "Kassa xizmati", "IT bo‘limi"] {
        depts.push(service::create_department(state, &tenant, &system, name).await.map_err(e)?);
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
