//! `GET /dashboard`: the home page's figures as JSON, from the core's
//! `home::dashboard` (what the page shows, for the same caller).

use crate::app::AppState;
use crate::auth::Caller;
use crate::error::AppError;
use crate::home::{self, Kind};
use crate::web::api::auth::PointsOut;
use crate::web::extract::CurrentUser;
use axum::extract::State;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(dashboard))
}

fn rfc3339(ms: i64) -> String {
    crate::clock::from_ms(ms).to_string()
}

/// A task on the dashboard.
#[derive(Debug, Serialize, ToSchema)]
pub struct TaskLineOut {
    pub id: u64,
    pub title: String,
    pub status: String,
    pub deadline: String,
    pub assignee_id: u64,
    /// Set while the assignee works on it.
    pub working_since: Option<String>,
    pub spent_secs: i64,
    /// Sent back for redo: the reviewer's reason.
    pub reason: Option<String>,
}

impl From<&home::Line> for TaskLineOut {
    fn from(l: &home::Line) -> Self {
        TaskLineOut {
            id: l.id,
            title: l.title.clone(),
            status: crate::tasks::status_code(l.status).to_string(),
            deadline: rfc3339(l.deadline),
            assignee_id: l.assignee_id,
            working_since: l.working_since.map(rfc3339),
            spent_secs: l.spent_secs,
            reason: l.reason.clone(),
        }
    }
}

fn lines(v: &[home::Line]) -> Vec<TaskLineOut> {
    v.iter().map(TaskLineOut::from).collect()
}

/// An employee's own work and points.
#[derive(Debug, Serialize, ToSchema)]
pub struct MineOut {
    pub due_today: Vec<TaskLineOut>,
    pub overdue: Vec<TaskLineOut>,
    pub redo: Vec<TaskLineOut>,
    pub points: PointsOut,
    /// Place among colleagues by this month's points (1 is first).
    pub place: Option<usize>,
    /// How many earned points this month.
    pub ranked: Option<usize>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LoadOut {
    pub user_id: u64,
    pub name: String,
    pub open: usize,
    pub overdue: usize,
    pub overloaded: bool,
}

/// A manager's department.
#[derive(Debug, Serialize, ToSchema)]
pub struct TeamOut {
    pub review: usize,
    pub department_id: Option<u64>,
    pub overdue: usize,
    pub load: Vec<LoadOut>,
    pub points_month: u64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DeptOverdueOut {
    pub department_id: Option<u64>,
    pub name: String,
    pub overdue: usize,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BranchTodayOut {
    pub branch_id: u64,
    pub name: String,
    pub waiting: usize,
    pub served: usize,
    pub longest_wait_secs: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BestOut {
    pub user_id: u64,
    pub name: String,
    pub points: u64,
}

/// A director's or owner's company.
#[derive(Debug, Serialize, ToSchema)]
pub struct CompanyDeskOut {
    pub approval: usize,
    pub extensions: Vec<TaskLineOut>,
    pub overdue: usize,
    pub overdue_by_department: Vec<DeptOverdueOut>,
    pub queue: Vec<BranchTodayOut>,
    pub best: Vec<BestOut>,
}

/// An operator's window today.
#[derive(Debug, Serialize, ToSchema)]
pub struct WindowOut {
    pub branch_id: Option<u64>,
    pub window: Option<u16>,
    pub waiting: usize,
    pub served: usize,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StepOut {
    /// `branches`, `departments`, `users`, `services`, `operators`, `branding`.
    pub step: String,
    pub done: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AuditLineOut {
    pub id: u64,
    pub at: String,
    pub actor_name: String,
    pub action: String,
}

/// The setup checklist, then the newest audit entries once it is complete.
#[derive(Debug, Serialize, ToSchema)]
pub struct SetupOut {
    pub complete: bool,
    pub steps: Vec<StepOut>,
    pub recent: Vec<AuditLineOut>,
}

/// What the caller's home shows; only their role's parts are present.
#[derive(Debug, Serialize, ToSchema)]
pub struct DashboardOut {
    /// `employee`, `manager`, `director` (also the owner), `operator`, `admin`.
    pub kind: String,
    pub mine: Option<MineOut>,
    pub team: Option<TeamOut>,
    pub company: Option<CompanyDeskOut>,
    pub window: Option<WindowOut>,
    pub setup: Option<SetupOut>,
}

/// The signed-in user's dashboard: what needs them now, by role.
#[utoipa::path(get, path = "/api/v1/dashboard", tag = "company", params(("slug" = String, Path)),
    responses((status = 200, body = DashboardOut), (status = 401)), security(("bearer" = [])))]
pub async fn dashboard(State(state): State<AppState>, user: CurrentUser) -> Result<axum::Json<DashboardOut>, AppError> {
    let d = home::dashboard(user.tenant.db()?, &Caller::from(&user), state.now_ms(), &user.tenant.timezone())?;
    let kind = match d.kind {
        Kind::Employee => "employee",
        Kind::Manager => "manager",
        Kind::Director => "director",
        Kind::Operator => "operator",
        Kind::Admin => "admin",
    };
    Ok(axum::Json(DashboardOut {
        kind: kind.into(),
        mine: d.mine.map(|m| MineOut {
            due_today: lines(&m.due_today),
            overdue: lines(&m.overdue),
            redo: lines(&m.redo),
            points: m.points.into(),
            place: m.place.map(|p| p.0),
            ranked: m.place.map(|p| p.1),
        }),
        team: d.team.map(|t| TeamOut {
            review: t.review,
            department_id: t.department_id,
            overdue: t.overdue,
            load: t
                .load
                .into_iter()
                .map(|l| LoadOut {
                    user_id: l.user_id,
                    name: l.name,
                    open: l.open,
                    overdue: l.overdue,
                    overloaded: l.open >= home::OVERLOAD,
                })
                .collect(),
            points_month: t.points_month,
        }),
        company: d.company.map(|c| CompanyDeskOut {
            approval: c.approval,
            extensions: lines(&c.extensions),
            overdue: c.overdue,
            overdue_by_department: c
                .overdue_by_department
                .into_iter()
                .map(|o| DeptOverdueOut { department_id: o.department_id, name: o.name, overdue: o.overdue })
                .collect(),
            queue: c
                .queue
                .into_iter()
                .map(|b| BranchTodayOut {
                    branch_id: b.branch_id,
                    name: b.name,
                    waiting: b.waiting,
                    served: b.served,
                    longest_wait_secs: b.longest_wait_secs,
                })
                .collect(),
            best: c.best.into_iter().map(|b| BestOut { user_id: b.user_id, name: b.name, points: b.points }).collect(),
        }),
        window: d.window.map(|w| WindowOut {
            branch_id: w.place.as_ref().map(|p| p.0),
            window: w.place.as_ref().map(|p| p.2),
            waiting: w.waiting,
            served: w.served,
        }),
        setup: d.setup.map(|s| SetupOut {
            complete: s.complete(),
            steps: s.steps.iter().map(|(st, done)| StepOut { step: st.code().into(), done: *done }).collect(),
            recent: s
                .recent
                .into_iter()
                .map(|(id, a)| AuditLineOut { id, at: rfc3339(a.at), actor_name: a.actor_name, action: a.action })
                .collect(),
        }),
    }))
}
