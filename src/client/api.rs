//! The typed API client of the doors that run in another process (the `baton` CLI and
//! `baton mcp`): one method per operation, taking and returning the model types the server
//! speaks. Every URL is built here, once; a door never assembles a path or a JSON body by hand.

use serde::Serialize;

use super::{Client, ClientResult};
use crate::model::{
    Affected, CancelTask, ClearQueue, ExecuteTask, Executed, ListMessages, ListSessions, ListTasks,
    Message, NewMessage, NewProject, NewSession, NewSubtask, NewTask, Project, QueuePatch,
    QueueScope, QueueStatus, Reported, Run, Session, SessionReport, SetDependencies, StopSession,
    Subtask, SubtaskPatch, Task, TaskPatch,
};
use crate::model::{
    Archive, CommitTask, ListArchives, MergeTask, Merged, PullRequest, ReviewComments, ReviewSent,
    TaskConflict, TaskDiff, Workspace,
};

/// A path segment (an id), percent-encoded.
fn seg(id: &str) -> String {
    serde_urlencoded::to_string([("", id)])
        .map(|s| s.trim_start_matches('=').to_owned())
        .unwrap_or_default()
}

/// `?query` for a list (empty when nothing is asked).
fn query(q: &impl Serialize) -> String {
    match serde_urlencoded::to_string(q) {
        Ok(text) if !text.is_empty() => format!("?{text}"),
        _ => String::new(),
    }
}

impl Client {
    pub async fn list_projects(&self) -> ClientResult<Vec<Project>> {
        self.get_as("/api/projects").await
    }

    pub async fn get_project(&self, id: &str) -> ClientResult<Project> {
        self.get_as(&format!("/api/projects/{}", seg(id))).await
    }

    pub async fn create_project(&self, input: &NewProject) -> ClientResult<Project> {
        self.post_as("/api/projects", input).await
    }

    pub async fn list_tasks(&self, q: &ListTasks) -> ClientResult<Vec<Task>> {
        self.get_as(&format!("/api/tasks{}", query(q))).await
    }

    pub async fn get_task(&self, id: &str) -> ClientResult<Task> {
        self.get_as(&format!("/api/tasks/{}", seg(id))).await
    }

    pub async fn create_task(&self, input: &NewTask) -> ClientResult<Task> {
        self.post_as("/api/tasks", input).await
    }

    pub async fn update_task(&self, id: &str, patch: &TaskPatch) -> ClientResult<Task> {
        self.patch_as(&format!("/api/tasks/{}", seg(id)), patch)
            .await
    }

    pub async fn delete_task(&self, id: &str) -> ClientResult<()> {
        self.delete(&format!("/api/tasks/{}", seg(id))).await?;
        Ok(())
    }

    pub async fn add_subtask(&self, task: &str, input: &NewSubtask) -> ClientResult<Subtask> {
        self.post_as(&format!("/api/tasks/{}/subtasks", seg(task)), input)
            .await
    }

    pub async fn update_subtask(
        &self,
        task: &str,
        subtask: &str,
        patch: &SubtaskPatch,
    ) -> ClientResult<Subtask> {
        let path = format!("/api/tasks/{}/subtasks/{}", seg(task), seg(subtask));
        self.patch_as(&path, patch).await
    }

    pub async fn set_dependencies(
        &self,
        task: &str,
        input: &SetDependencies,
    ) -> ClientResult<Task> {
        self.put_as(&format!("/api/tasks/{}/dependencies", seg(task)), input)
            .await
    }

    pub async fn list_sessions(&self, q: &ListSessions) -> ClientResult<Vec<Session>> {
        self.get_as(&format!("/api/sessions{}", query(q))).await
    }

    pub async fn get_session(&self, id: &str) -> ClientResult<Session> {
        self.get_as(&format!("/api/sessions/{}", seg(id))).await
    }

    pub async fn create_session(&self, input: &NewSession) -> ClientResult<Session> {
        self.post_as("/api/sessions", input).await
    }

    pub async fn stop_session(&self, id: &str, input: &StopSession) -> ClientResult<Session> {
        self.post_as(&format!("/api/sessions/{}/stop", seg(id)), input)
            .await
    }

    pub async fn report(&self, session: &str, report: &SessionReport) -> ClientResult<Reported> {
        self.post_as(&format!("/api/sessions/{}/report", seg(session)), report)
            .await
    }

    /// The raw bytes of a session's output log.
    pub async fn session_output(&self, id: &str) -> ClientResult<bytes::Bytes> {
        self.get_bytes(&format!("/api/sessions/{}/output", seg(id)))
            .await
    }

    /// A session's terminal: from its current screen, or (`from_start`) its whole output.
    pub async fn terminal(&self, id: &str, from_start: bool) -> ClientResult<super::Terminal> {
        let offset = if from_start { "?offset=0" } else { "" };
        self.websocket(&format!("/api/sessions/{}/terminal{offset}", seg(id)))
            .await
    }

    pub async fn list_messages(&self, q: &ListMessages) -> ClientResult<Vec<Message>> {
        self.get_as(&format!("/api/messages{}", query(q))).await
    }

    pub async fn post_message(&self, input: &NewMessage) -> ClientResult<Message> {
        self.post_as("/api/messages", input).await
    }

    pub async fn execute_task(&self, id: &str, input: &ExecuteTask) -> ClientResult<Executed> {
        self.post_as(&format!("/api/tasks/{}/execute", seg(id)), input)
            .await
    }

    pub async fn cancel_task(&self, id: &str, input: &CancelTask) -> ClientResult<Task> {
        self.post_as(&format!("/api/tasks/{}/cancel", seg(id)), input)
            .await
    }

    pub async fn retry_task(&self, id: &str) -> ClientResult<Executed> {
        self.post_as(
            &format!("/api/tasks/{}/retry", seg(id)),
            &serde_json::json!({}),
        )
        .await
    }

    pub async fn resume_task(&self, id: &str) -> ClientResult<Executed> {
        self.post_as(
            &format!("/api/tasks/{}/resume", seg(id)),
            &serde_json::json!({}),
        )
        .await
    }

    pub async fn task_runs(&self, id: &str) -> ClientResult<Vec<Run>> {
        self.get_as(&format!("/api/tasks/{}/runs", seg(id))).await
    }

    pub async fn queue_status(&self) -> ClientResult<QueueStatus> {
        self.get_as("/api/queue").await
    }

    pub async fn update_queue(&self, patch: &QueuePatch) -> ClientResult<QueueStatus> {
        self.patch_as("/api/queue", patch).await
    }

    pub async fn pause_queue(&self, scope: &QueueScope, paused: bool) -> ClientResult<QueueStatus> {
        let verb = if paused { "pause" } else { "resume" };
        self.post_as(&format!("/api/queue/{verb}"), scope).await
    }

    pub async fn clear_queue(&self) -> ClientResult<Affected> {
        self.delete_as("/api/queue", &ClearQueue { confirm: true })
            .await
    }

    pub async fn task_workspace(&self, id: &str) -> ClientResult<Workspace> {
        self.get_as(&format!("/api/tasks/{}/workspace", seg(id)))
            .await
    }

    pub async fn task_diff(&self, id: &str) -> ClientResult<TaskDiff> {
        self.get_as(&format!("/api/tasks/{}/diff", seg(id))).await
    }

    pub async fn task_conflicts(&self, id: &str) -> ClientResult<Vec<TaskConflict>> {
        self.get_as(&format!("/api/tasks/{}/conflicts", seg(id)))
            .await
    }

    pub async fn commit_task(&self, id: &str, input: &CommitTask) -> ClientResult<Workspace> {
        self.post_as(&format!("/api/tasks/{}/commit", seg(id)), input)
            .await
    }

    pub async fn merge_task(&self, id: &str, input: &MergeTask) -> ClientResult<Merged> {
        self.post_as(&format!("/api/tasks/{}/merge", seg(id)), input)
            .await
    }

    pub async fn rebase_task(&self, id: &str) -> ClientResult<Workspace> {
        self.post_as(
            &format!("/api/tasks/{}/rebase", seg(id)),
            &serde_json::json!({}),
        )
        .await
    }

    pub async fn pull_request(&self, id: &str) -> ClientResult<PullRequest> {
        self.post_as(
            &format!("/api/tasks/{}/pull-request", seg(id)),
            &serde_json::json!({}),
        )
        .await
    }

    pub async fn archive_task(&self, id: &str) -> ClientResult<Archive> {
        self.post_as(
            &format!("/api/tasks/{}/archive", seg(id)),
            &serde_json::json!({}),
        )
        .await
    }

    pub async fn remove_workspace(&self, id: &str, force: bool) -> ClientResult<()> {
        let force = if force { "?force=true" } else { "" };
        self.delete(&format!("/api/tasks/{}/workspace{force}", seg(id)))
            .await?;
        Ok(())
    }

    pub async fn list_archives(&self, q: &ListArchives) -> ClientResult<Vec<Archive>> {
        self.get_as(&format!("/api/archives{}", query(q))).await
    }

    pub async fn restore_archive(&self, id: &str) -> ClientResult<Workspace> {
        self.post_as(
            &format!("/api/archives/{}/restore", seg(id)),
            &serde_json::json!({}),
        )
        .await
    }

    pub async fn send_review(&self, id: &str, input: &ReviewComments) -> ClientResult<ReviewSent> {
        self.post_as(&format!("/api/tasks/{}/review", seg(id)), input)
            .await
    }
}
