//! The shapes Baton speaks: what the service layer returns and accepts, serialized exactly as the
//! API, the WebSocket and (later) the desktop shell send them. camelCase fields, times in Unix
//! milliseconds, a superset of the Agent Maestro shapes.
//!
//! Inputs reject unknown fields, so a typo is a 400 naming the field rather than a silent no-op.

mod agent;
mod audit;
mod bulk;
mod command;
mod message;
mod patch;
mod project;
mod queue;
mod run;
pub mod schema;
mod session;
mod signals;
mod system;
mod task;
mod webhook;
mod workspace;

pub use agent::{
    AgentProfile, AgentProfilePatch, McpStyle, NewAgentProfile, PromptMode, SignalStyle,
    APPROVAL_WAIT_VAR, MAX_APPROVAL_WAIT_MS,
};
pub use audit::{AuditEntry, ListAudit};
pub use bulk::{
    BulkFailure, BulkOperation, BulkRequest, BulkResult, MessageStats, ProjectStats, WorkspaceDisk,
};
pub use command::{CommandCheck, CommandText, ValidateCommand};
pub use message::{ListMessages, Message, NewMessage};
pub use patch::nullable;
pub use project::{NewProject, Project, ProjectPatch};
pub use queue::{
    Affected, CancelTask, ClearQueue, ExecuteTask, Executed, Execution, ExecutionState, LoopSpec,
    QueuePatch, QueuePriority, QueueScope, QueueStatus, QueuedByPriority,
};
pub use run::{EndReason, Run};
pub use session::{
    Activity, ActivitySource, DeleteSession, ListSessions, NewSession, PermissionAsked, Reported,
    Session, SessionInput, SessionPatch, SessionReport, SessionStatus, StopSession,
};
pub use signals::{
    ActionStatus, DecideAction, Decision, HookAnswer, HookEvent, ModelPrice, ModelUsage,
    PriceTable, SessionAction, SetPrices, Usage, UsageQuery,
};
pub use system::{DatabaseStatus, Queues, SystemStatus};
pub use task::{
    HistoryEntry, ListTasks, NewSubtask, NewTask, Priority, SetDependencies, SortField, SortOrder,
    Subtask, SubtaskPatch, SubtaskStatus, Task, TaskPatch, TaskStatus, ThreadParent,
};
pub use webhook::{CreatedWebhook, Delivery, DeliveryStatus, ListDeliveries, NewWebhook, Webhook};
pub use workspace::{
    Archive, ArchiveFile, CommitTask, DiffFile, DiffHunk, FileChange, FileContentPath, FileEntry,
    FilePath, ListArchives, MergeStrategy, MergeTask, Merged, PullRequest, RemoveWorkspace,
    ReviewComment, ReviewComments, ReviewSent, RunFile, TaskConflict, TaskConflicts, TaskDiff,
    Workspace,
};

/// An enum's value, read from its spelling; a wrong one is told with every spelling there is
/// (`'x' is not one of pending, queued, …`).
pub fn one_of<T>(text: &str) -> Result<T, String>
where
    T: std::str::FromStr + strum::IntoEnumIterator + Into<&'static str>,
{
    text.parse().map_err(|_| {
        let all: Vec<&'static str> = T::iter().map(Into::into).collect();
        format!("'{text}' is not one of {}", all.join(", "))
    })
}

#[cfg(test)]
mod tests {
    use strum::IntoEnumIterator;

    use super::*;

    /// The stored and queried spelling of every enum (strum) is its JSON spelling (serde).
    #[test]
    fn enum_strings_are_their_json() {
        fn check<T: IntoEnumIterator + serde::Serialize + Copy + PartialEq + std::fmt::Debug>(
            as_str: fn(T) -> &'static str,
            parse: fn(&str) -> Option<T>,
        ) {
            for v in T::iter() {
                assert_eq!(serde_json::to_value(v).unwrap(), as_str(v), "{v:?}");
                assert_eq!(parse(as_str(v)), Some(v));
            }
            assert_eq!(parse("no such thing"), None);
        }
        check(TaskStatus::as_str, TaskStatus::parse);
        check(Priority::as_str, Priority::parse);
        check(SubtaskStatus::as_str, SubtaskStatus::parse);
        check(SessionStatus::as_str, SessionStatus::parse);
        check(PromptMode::as_str, PromptMode::parse);
        check(McpStyle::as_str, McpStyle::parse);
        check(DeliveryStatus::as_str, DeliveryStatus::parse);
    }

    #[test]
    fn a_wrong_spelling_is_told_with_every_right_one() {
        assert_eq!(one_of::<Priority>("high"), Ok(Priority::High));
        assert_eq!(
            one_of::<Priority>("urgent"),
            Err("'urgent' is not one of low, medium, high".to_owned())
        );
    }
}
