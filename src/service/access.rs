//! Who may do what: Baton's one permission decision, a pure function of the caller, the kind of
//! operation and its target. Every service operation asks it before it reads or changes anything
//! (through [`Actor::may`](super::Actor::may)); the doors only say who is calling. The event
//! stream asks it too ([`may_see`]), so that every subscriber — `/ws`, the SSE message stream,
//! the desktop window, webhooks — gets the same filtered stream.
//!
//! | caller | may |
//! | --- | --- |
//! | the person (admin token, the desktop window), Baton itself | everything |
//! | an agent (its session's token) | read and change its own project's tasks, subtasks, sessions and messages; read agent profiles; act as its own session (report progress and hook events, type into and watch its terminal) |
//!
//! An agent may never: see or change another project, manage projects, agent profiles or
//! webhooks, replace the token, read the audit log, the system status or the metrics, or allow or deny any agent's tool.

use super::Actor;

/// The kind of operation a caller asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Operation {
    /// Reading a project's records: tasks, subtasks, history, sessions, messages, its events.
    Read,
    /// Changing a project's records: tasks, subtasks, dependencies, sessions, messages.
    Write,
    /// Acting as one session: reporting its progress, typing into or watching its terminal.
    ActAs,
    /// Reading what belongs to no project: agent profiles.
    ReadShared,
    /// What only the person may do.
    Administer(Admin),
}

/// The person-only areas.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Admin {
    /// Creating, changing and deleting projects.
    Projects,
    /// Creating, changing and deleting agent profiles.
    Agents,
    Webhooks,
    /// Replacing the admin token.
    Token,
    Audit,
    /// The system status and the metrics.
    System,
    /// The queue's settings and status (it spans every project).
    Queue,
    /// Running a command the safety check calls dangerous.
    ConfirmDanger,
    /// Removing a workspace whose work is neither merged nor pushed.
    DiscardWork,
    /// Allowing or denying an agent's tool: one agent must never approve another's.
    Approve,
    /// Changing the price table (what every project's usage costs).
    Prices,
}

impl Admin {
    fn what(self) -> &'static str {
        match self {
            Admin::Projects => "manage projects",
            Admin::Agents => "manage agent profiles",
            Admin::Webhooks => "manage webhooks",
            Admin::Token => "replace the token",
            Admin::Audit => "read the audit log",
            Admin::System => "read the system status and metrics",
            Admin::Queue => "see or change the queue",
            Admin::ConfirmDanger => "confirm a dangerous command",
            Admin::DiscardWork => "remove a workspace with unsaved work",
            Admin::Approve => "allow or deny an agent's tool",
            Admin::Prices => "change the price table",
        }
    }
}

/// What an operation acts on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target<'a> {
    /// Nothing in particular: a list (narrowed to the caller's project later) or a global thing.
    Any,
    Project(&'a str),
    Session {
        project: &'a str,
        session: &'a str,
    },
}

/// Why a caller was refused: a sentence for the 403.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Denied(pub String);

/// The decision: may `caller` do `operation` on `target`?
pub fn decide(caller: &Actor, operation: Operation, target: Target<'_>) -> Result<(), Denied> {
    let (own_session, own_project) = match caller {
        Actor::User | Actor::Desktop | Actor::System => return Ok(()),
        Actor::Session {
            session_id,
            project_id,
        } => (session_id.as_str(), project_id.as_str()),
    };
    let project = match target {
        Target::Any => None,
        Target::Project(p) | Target::Session { project: p, .. } => Some(p),
    };
    match operation {
        Operation::Administer(area) => Err(Denied(format!(
            "only the person's token may {}",
            area.what()
        ))),
        Operation::ReadShared => Ok(()),
        _ if project.is_some_and(|p| p != own_project) => Err(Denied(
            "a session token acts on its own project only".into(),
        )),
        Operation::ActAs => match target {
            Target::Session { session, .. } if session == own_session => Ok(()),
            _ => Err(Denied(
                "an agent acts as its own session only (its progress, its terminal)".into(),
            )),
        },
        Operation::Write if project.is_none() => Err(Denied(
            "a session token changes its own project only".into(),
        )),
        Operation::Read | Operation::Write => Ok(()),
    }
}

/// Whether `caller` may see an event about `project_id`: the filter of every event subscription.
pub fn may_see(caller: &Actor, project_id: &str) -> bool {
    decide(caller, Operation::Read, Target::Project(project_id)).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn agent(session: &str, project: &str) -> Actor {
        Actor::Session {
            session_id: session.into(),
            project_id: project.into(),
        }
    }

    const ALL_ADMIN: [Admin; 11] = [
        Admin::Projects,
        Admin::Agents,
        Admin::Webhooks,
        Admin::Token,
        Admin::Audit,
        Admin::System,
        Admin::Queue,
        Admin::ConfirmDanger,
        Admin::DiscardWork,
        Admin::Approve,
        Admin::Prices,
    ];

    fn operations() -> Vec<Operation> {
        let mut ops = vec![
            Operation::Read,
            Operation::Write,
            Operation::ActAs,
            Operation::ReadShared,
        ];
        ops.extend(ALL_ADMIN.map(Operation::Administer));
        ops
    }

    fn targets() -> [Target<'static>; 5] {
        [
            Target::Any,
            Target::Project("p1"),
            Target::Project("p2"),
            Target::Session {
                project: "p1",
                session: "s1",
            },
            Target::Session {
                project: "p2",
                session: "s2",
            },
        ]
    }

    #[test]
    fn the_person_and_baton_itself_may_do_everything() {
        for caller in [Actor::User, Actor::Desktop, Actor::System] {
            for op in operations() {
                for target in targets() {
                    assert_eq!(
                        decide(&caller, op, target),
                        Ok(()),
                        "{caller} {op:?} {target:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn an_agent_never_administers() {
        for area in ALL_ADMIN {
            for target in targets() {
                let denied = decide(&agent("s1", "p1"), Operation::Administer(area), target);
                assert!(denied.unwrap_err().0.contains(area.what()));
            }
        }
    }

    #[test]
    fn an_agent_reads_and_writes_its_own_project_only() {
        let a = agent("s1", "p1");
        for op in [Operation::Read, Operation::Write] {
            assert_eq!(decide(&a, op, Target::Project("p1")), Ok(()));
            let other_session = Target::Session {
                project: "p1",
                session: "s9",
            };
            assert_eq!(decide(&a, op, other_session), Ok(()), "a sibling's record");
            assert!(decide(&a, op, Target::Project("p2")).is_err());
            let foreign = Target::Session {
                project: "p2",
                session: "s2",
            };
            assert!(decide(&a, op, foreign).is_err());
        }
        assert_eq!(
            decide(&a, Operation::Read, Target::Any),
            Ok(()),
            "lists are narrowed"
        );
        assert!(decide(&a, Operation::Write, Target::Any).is_err());
        assert_eq!(decide(&a, Operation::ReadShared, Target::Any), Ok(()));
    }

    #[test]
    fn an_agent_acts_as_its_own_session_only() {
        let a = agent("s1", "p1");
        let own = Target::Session {
            project: "p1",
            session: "s1",
        };
        let sibling = Target::Session {
            project: "p1",
            session: "s9",
        };
        assert_eq!(decide(&a, Operation::ActAs, own), Ok(()));
        assert!(decide(&a, Operation::ActAs, sibling).is_err());
        assert!(decide(&a, Operation::ActAs, Target::Project("p1")).is_err());
        assert!(decide(&a, Operation::ActAs, Target::Any).is_err());
    }

    #[test]
    fn events_are_seen_within_the_callers_project() {
        assert!(may_see(&Actor::User, "p2"));
        assert!(may_see(&Actor::Desktop, "p2"));
        assert!(may_see(&agent("s1", "p1"), "p1"));
        assert!(!may_see(&agent("s1", "p1"), "p2"));
    }
}
