//! What a live stream may listen to: a typed topic, and the one rule that
//! says who may read it.

use crate::auth::Caller;
use std::fmt;

/// A topic of a company's live hub. Its text form (`user:7`,
/// `queue:branch:3`, `ticket:<token>`, `audit`, `users`, `roles`, `tasks`)
/// is what clients name and what each event carries as `topic`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Topic {
    /// One user's own events: notifications, their role changing.
    User(u64),
    /// A branch's queue: numbers called, windows, statuses.
    QueueBranch(u64),
    /// One ticket's changes, by its public tracking token.
    Ticket(String),
    /// Audit log entries.
    Audit,
    /// Users created or changed.
    Users,
    /// Role permissions changed.
    Roles,
    /// One client request's public side (status, public replies), by its
    /// tracking token: what the client's status page hears. Internal notes
    /// are never published here.
    Request(String),
    /// Request ids that changed (read through the API, which checks who
    /// may see each): the staff's request lists.
    Requests,
    /// Task ids that changed (the task itself is read through the API,
    /// which checks who may see it).
    Tasks,
}

impl Topic {
    /// Reads a topic's text form; anything else is `None`.
    pub fn parse(s: &str) -> Option<Topic> {
        if let Some(id) = s.strip_prefix("user:") {
            return id.parse().ok().map(Topic::User);
        }
        if let Some(id) = s.strip_prefix("queue:branch:") {
            return id.parse().ok().map(Topic::QueueBranch);
        }
        if let Some(token) = s.strip_prefix("ticket:") {
            let ok = !token.is_empty() && token.len() <= 64 && token.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
            return ok.then(|| Topic::Ticket(token.to_string()));
        }
        if let Some(token) = s.strip_prefix("request:") {
            let ok = token.len() == 32 && token.bytes().all(|b| b.is_ascii_hexdigit());
            return ok.then(|| Topic::Request(token.to_string()));
        }
        match s {
            "requests" => Some(Topic::Requests),
            "audit" => Some(Topic::Audit),
            "users" => Some(Topic::Users),
            "roles" => Some(Topic::Roles),
            "tasks" => Some(Topic::Tasks),
            _ => None,
        }
    }
}

impl fmt::Display for Topic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Topic::User(id) => write!(f, "user:{id}"),
            Topic::QueueBranch(id) => write!(f, "queue:branch:{id}"),
            Topic::Ticket(token) => write!(f, "ticket:{token}"),
            Topic::Request(token) => write!(f, "request:{token}"),
            Topic::Requests => f.write_str("requests"),
            Topic::Audit => f.write_str("audit"),
            Topic::Users => f.write_str("users"),
            Topic::Roles => f.write_str("roles"),
            Topic::Tasks => f.write_str("tasks"),
        }
    }
}

/// Whether `caller` may read `topic` — the one rule for the WebSocket, the
/// SSE live token, the display board and the tracking page, checked when a
/// stream listens and again on every re-check.
///
/// - A user reads their own topic; a branch's queue with `queue.operate` or
///   `queue.manage`; the audit with `audit.view`; users and roles with
///   `users.view`; task ids always.
/// - The public (a display board) reads a branch's queue: numbers and
///   windows only, what the hall's screen shows anyway.
/// - A customer holding a ticket reads that ticket's topic and the
///   branches' queues (a call may move their place).
/// - A platform admin is not a company caller and reads nothing; the
///   system reads everything.
pub fn may_read(caller: &Caller, topic: &Topic) -> bool {
    match caller {
        Caller::User(p) => match topic {
            Topic::User(id) => *id == p.id,
            Topic::QueueBranch(_) => p.can("queue.operate") || p.can("queue.manage"),
            Topic::Ticket(_) | Topic::Request(_) => false,
            Topic::Requests => true,
            Topic::Audit => p.can("audit.view"),
            Topic::Users | Topic::Roles => p.can("users.view"),
            Topic::Tasks => true,
        },
        Caller::Customer(token) => match topic {
            Topic::Ticket(t) | Topic::Request(t) => t == token,
            Topic::QueueBranch(_) => true,
            _ => false,
        },
        Caller::Public => matches!(topic, Topic::QueueBranch(_)),
        Caller::Platform { .. } => false,
        Caller::System => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_topic_reads_back_from_its_text() {
        let all =
            [Topic::User(7), Topic::QueueBranch(3), Topic::Ticket("Ab-9_x".into()), Topic::Audit, Topic::Users, Topic::Roles, Topic::Tasks];
        for t in all {
            assert_eq!(Topic::parse(&t.to_string()), Some(t.clone()), "{t}");
        }
        for bad in ["", "user:", "user:x", "user:-1", "queue:branch:", "queue:3", "ticket:", "ticket:a b", "audits", "AUDIT", "tasks:1"] {
            assert_eq!(Topic::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn the_public_and_customers_read_only_public_topics() {
        let public = Caller::Public;
        assert!(may_read(&public, &Topic::QueueBranch(1)));
        for t in [Topic::User(1), Topic::Ticket("abc".into()), Topic::Audit, Topic::Users, Topic::Roles, Topic::Tasks] {
            assert!(!may_read(&public, &t), "{t}");
        }
        let customer = Caller::Customer("abc".into());
        assert!(may_read(&customer, &Topic::Ticket("abc".into())));
        assert!(may_read(&customer, &Topic::QueueBranch(2)));
        assert!(!may_read(&customer, &Topic::Ticket("abd".into())));
        assert!(!may_read(&customer, &Topic::User(0)));
        assert!(!may_read(&customer, &Topic::Tasks));
        let platform = Caller::Platform { id: 1, name: "root".into() };
        assert!(!may_read(&platform, &Topic::QueueBranch(1)));
        assert!(!may_read(&platform, &Topic::Audit));
    }
}
