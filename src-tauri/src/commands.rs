//! One thin Tauri command per service call: arguments in, `baton::service` call, result out.
//! Errors reach the UI as `{"error", "code", "details"}`, the same shape the HTTP API uses.

use std::sync::atomic::Ordering;
use std::sync::Mutex;

use baton::model::{
    AgentProfile, ListMessages, ListSessions, ListTasks, Message, NewAgentProfile, NewMessage,
    NewProject, NewSession, NewSubtask, Project, Session, SubtaskPatch, Task, TaskPatch,
};
use baton::model::{AgentProfilePatch, HistoryEntry, NewTask, Subtask};
use baton::model::{
    Archive, CommitTask, MergeTask, Merged, ReviewComment, ReviewComments, ReviewSent,
    TaskConflict, TaskDiff, Workspace,
};
use baton::model::{
    BulkRequest, BulkResult, CancelTask, ExecuteTask, Executed, QueuePatch, QueueScope,
    QueueStatus, Run,
};
use baton::model::{DecideAction, Decision, PriceTable, SessionAction, SetPrices, Usage};
use baton::server::Server;
use baton::service::audit::{self, Change, Door};
use baton::service::terminal_feed::FeedItem;
use baton::service::{Actor, ServiceError};
use std::marker::PhantomData;

use serde::{Deserialize, Serialize};
use tauri::ipc::{Channel, InvokeResponseBody, IpcResponse};
use tauri::{AppHandle, State};

use crate::Desktop;

#[derive(Debug, Serialize, specta::Type)]
pub struct CommandError {
    error: String,
    code: String,
    details: serde_json::Value,
}

impl From<ServiceError> for CommandError {
    fn from(err: ServiceError) -> Self {
        if matches!(err, ServiceError::Database(_)) {
            tracing::error!(error = %err, "command failed");
        }
        Self {
            error: err.public_message(),
            code: err.code().to_owned(),
            details: err.details(),
        }
    }
}

/// A body that did not fit its type: the same `invalid_field` error the API gives.
fn bad_body(err: serde_json::Error) -> CommandError {
    CommandError {
        error: baton::security::redact::redact_text(&err.to_string()).into_owned(),
        code: "invalid_field".into(),
        details: serde_json::json!({}),
    }
}

/// A command's JSON body, typed as `T` in the generated bindings but received as JSON, so that a
/// body that does not fit gets the API's `invalid_field` error (not Tauri's own) and the audit log
/// keeps what was asked.
pub struct Body<T> {
    value: serde_json::Value,
    shape: PhantomData<T>,
}

impl<T: serde::de::DeserializeOwned> Body<T> {
    fn parse(&self) -> Result<T, CommandError> {
        serde_json::from_value(self.value.clone()).map_err(bad_body)
    }

    fn into_value(self) -> serde_json::Value {
        self.value
    }
}

impl<'de, T> Deserialize<'de> for Body<T> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(Self {
            value: serde_json::Value::deserialize(deserializer)?,
            shape: PhantomData,
        })
    }
}

impl<T: specta::Type> specta::Type for Body<T> {
    fn definition(types: &mut specta::Types) -> specta::datatype::DataType {
        T::definition(types)
    }
}

/// One message on a terminal channel: output bytes (an `ArrayBuffer`), or a JSON control message
/// (`replay`, `screen`, `exit`, `lagged`).
pub struct TerminalFrame(InvokeResponseBody);

impl IpcResponse for TerminalFrame {
    fn body(self) -> tauri::Result<InvokeResponseBody> {
        Ok(self.0)
    }
}

impl specta::Type for TerminalFrame {
    fn definition(types: &mut specta::Types) -> specta::datatype::DataType {
        <serde_json::Value as specta::Type>::definition(types)
    }
}

/// The loopback API's address and admin token, and the port saved for the next start.
#[derive(Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct ApiInfo {
    url: String,
    token: String,
    saved_port: Option<u16>,
}

type R<T> = Result<T, CommandError>;

/// Records a change asked through the window in the audit log (like the HTTP door's
/// middleware), then hands the service's answer on.
async fn audited<T: Serialize>(
    d: &Desktop,
    operation: &str,
    ids: &[&str],
    body: Option<serde_json::Value>,
    result: Result<T, ServiceError>,
) -> R<T> {
    let created = result
        .as_ref()
        .ok()
        .and_then(|value| serde_json::to_value(value).ok())
        .and_then(|value| {
            value
                .get("id")
                .and_then(|id| id.as_str())
                .map(str::to_owned)
        });
    let mut targets: Vec<String> = ids.iter().map(|id| (*id).to_owned()).collect();
    targets.extend(audit::targets("", "", body.as_ref(), created.as_deref()));
    targets.dedup();
    d.service
        .record_change(Change {
            actor: DESKTOP,
            door: Door::Desktop,
            operation: operation.to_owned(),
            targets,
            status: result.as_ref().map_or_else(ServiceError::status, |_| 200),
            body,
        })
        .await;
    Ok(result?)
}
/// Who the window's commands act as: the person, at the desktop.
const DESKTOP: Actor = Actor::Desktop;

#[tauri::command]
#[specta::specta]
async fn list_projects(d: State<'_, Desktop>) -> R<Vec<Project>> {
    Ok(d.service.list_projects(&DESKTOP).await?)
}

#[tauri::command]
#[specta::specta]
async fn create_project(d: State<'_, Desktop>, body: Body<NewProject>) -> R<Project> {
    let input = body.parse()?;
    let result = d.service.create_project(input, &DESKTOP).await;
    audited(&d, "create_project", &[], Some(body.into_value()), result).await
}

#[tauri::command]
#[specta::specta]
async fn list_tasks(d: State<'_, Desktop>, project_id: String) -> R<Vec<Task>> {
    let query = ListTasks {
        project_id: Some(project_id),
        ..Default::default()
    };
    Ok(d.service.list_tasks(&query, &DESKTOP).await?.tasks.clone())
}

#[tauri::command]
#[specta::specta]
async fn create_task(d: State<'_, Desktop>, body: Body<NewTask>) -> R<Task> {
    let input = body.parse()?;
    let result = d.service.create_task(input, &DESKTOP).await;
    audited(&d, "create_task", &[], Some(body.into_value()), result).await
}

#[tauri::command]
#[specta::specta]
async fn update_task(d: State<'_, Desktop>, id: String, patch: Body<TaskPatch>) -> R<Task> {
    let input = patch.parse()?;
    let result = d.service.update_task(&id, input, &DESKTOP).await;
    audited(&d, "update_task", &[&id], Some(patch.into_value()), result).await
}

#[tauri::command]
#[specta::specta]
async fn delete_task(d: State<'_, Desktop>, id: String) -> R<()> {
    let result = d.service.delete_task(&id, &DESKTOP).await;
    audited(&d, "delete_task", &[&id], None, result).await
}

#[tauri::command]
#[specta::specta]
async fn add_subtask(d: State<'_, Desktop>, task_id: String, title: String) -> R<Subtask> {
    let body = serde_json::json!({ "title": title });
    let input = NewSubtask {
        title,
        status: None,
    };
    let result = d.service.add_subtask(&task_id, input, &DESKTOP).await;
    audited(&d, "add_subtask", &[&task_id], Some(body), result).await
}

#[tauri::command]
#[specta::specta]
async fn update_subtask(
    d: State<'_, Desktop>,
    task_id: String,
    subtask_id: String,
    patch: Body<SubtaskPatch>,
) -> R<Subtask> {
    let input = patch.parse()?;
    let result = d
        .service
        .update_subtask(&task_id, &subtask_id, input, &DESKTOP)
        .await;
    let ids = [task_id.as_str(), subtask_id.as_str()];
    audited(&d, "update_subtask", &ids, Some(patch.into_value()), result).await
}

#[tauri::command]
#[specta::specta]
async fn set_dependencies(
    d: State<'_, Desktop>,
    task_id: String,
    depends_on: Vec<String>,
) -> R<Task> {
    let body = serde_json::json!({ "dependsOn": depends_on });
    let result = d
        .service
        .set_dependencies(&task_id, depends_on, &DESKTOP)
        .await;
    audited(&d, "set_dependencies", &[&task_id], Some(body), result).await
}

#[tauri::command]
#[specta::specta]
async fn task_history(d: State<'_, Desktop>, task_id: String) -> R<Vec<HistoryEntry>> {
    Ok(d.service.task_history(&task_id, &DESKTOP).await?)
}

#[tauri::command]
#[specta::specta]
async fn list_sessions(d: State<'_, Desktop>, project_id: String) -> R<Vec<Session>> {
    let query = ListSessions {
        project_id: Some(project_id),
        ..Default::default()
    };
    Ok(d.service.list_sessions(&query, &DESKTOP).await?)
}

#[tauri::command]
#[specta::specta]
async fn start_session(d: State<'_, Desktop>, body: Body<NewSession>) -> R<Session> {
    let input = body.parse()?;
    let result = d.service.create_session(input, &DESKTOP).await;
    audited(&d, "start_session", &[], Some(body.into_value()), result).await
}

#[tauri::command]
#[specta::specta]
async fn stop_session(d: State<'_, Desktop>, id: String) -> R<Session> {
    let result = d
        .service
        .stop_session(&id, &Default::default(), &DESKTOP)
        .await;
    audited(&d, "stop_session", &[&id], None, result).await
}

#[tauri::command]
#[specta::specta]
async fn restart_session(d: State<'_, Desktop>, id: String) -> R<Session> {
    let result = d.service.restart_session(&id, &DESKTOP).await;
    audited(&d, "restart_session", &[&id], None, result).await
}

#[tauri::command]
#[specta::specta]
async fn resume_session(d: State<'_, Desktop>, id: String) -> R<Session> {
    let result = d.service.resume_session(&id, &DESKTOP).await;
    audited(&d, "resume_session", &[&id], None, result).await
}

/// Allows or denies what a session's agent asks (the person's decision: the desktop may).
#[tauri::command]
#[specta::specta]
async fn decide_action(
    d: State<'_, Desktop>,
    id: String,
    action_id: String,
    decision: Decision,
    reason: Option<String>,
) -> R<SessionAction> {
    let body = serde_json::json!({ "decision": decision, "reason": reason });
    let result = d
        .service
        .decide_session_action(&id, &action_id, DecideAction { decision, reason }, &DESKTOP)
        .await;
    audited(
        &d,
        "decide_session_action",
        &[&id, &action_id],
        Some(body),
        result,
    )
    .await
}

/// The price table usage is priced by.
#[tauri::command]
#[specta::specta]
async fn price_table(d: State<'_, Desktop>) -> R<PriceTable> {
    Ok(d.service.price_table(&DESKTOP).await?)
}

/// Replaces the price table (`{prices}`).
#[tauri::command]
#[specta::specta]
async fn set_prices(d: State<'_, Desktop>, body: Body<SetPrices>) -> R<PriceTable> {
    let input = body.parse()?;
    let result = d.service.set_prices(input, &DESKTOP).await;
    audited(&d, "set_prices", &[], Some(body.into_value()), result).await
}

/// Back to Baton's own price table.
#[tauri::command]
#[specta::specta]
async fn reset_prices(d: State<'_, Desktop>) -> R<PriceTable> {
    let result = d.service.reset_prices(&DESKTOP).await;
    audited(&d, "reset_prices", &[], None, result).await
}

#[tauri::command]
#[specta::specta]
async fn session_usage(d: State<'_, Desktop>, id: String) -> R<Usage> {
    Ok(d.service.session_usage(&id, &DESKTOP).await?)
}

#[tauri::command]
#[specta::specta]
async fn task_usage(d: State<'_, Desktop>, id: String) -> R<Usage> {
    Ok(d.service.task_usage(&id, &DESKTOP).await?)
}

#[tauri::command]
#[specta::specta]
async fn project_usage(d: State<'_, Desktop>, id: String) -> R<Usage> {
    Ok(d.service.project_usage(&id, None, &DESKTOP).await?)
}

#[tauri::command]
#[specta::specta]
async fn list_agents(d: State<'_, Desktop>) -> R<Vec<AgentProfile>> {
    Ok(d.service.list_agent_profiles(&DESKTOP).await?)
}

#[tauri::command]
#[specta::specta]
async fn create_agent(d: State<'_, Desktop>, body: Body<NewAgentProfile>) -> R<AgentProfile> {
    let input = body.parse()?;
    let result = d.service.create_agent_profile(input, &DESKTOP).await;
    audited(&d, "create_agent", &[], Some(body.into_value()), result).await
}

#[tauri::command]
#[specta::specta]
async fn list_messages(
    d: State<'_, Desktop>,
    project_id: String,
    task_id: Option<String>,
) -> R<Vec<Message>> {
    let query = ListMessages {
        project_id: Some(project_id),
        task_id,
        ..Default::default()
    };
    Ok(d.service.list_messages(&query, &DESKTOP).await?)
}

#[tauri::command]
#[specta::specta]
async fn post_message(d: State<'_, Desktop>, body: Body<NewMessage>) -> R<Message> {
    let input = body.parse()?;
    let result = d.service.post_message(input, &DESKTOP).await;
    audited(&d, "post_message", &[], Some(body.into_value()), result).await
}

#[tauri::command]
#[specta::specta]
async fn execute_task(d: State<'_, Desktop>, id: String, body: Body<ExecuteTask>) -> R<Executed> {
    let input = body.parse()?;
    let result = d.service.execute_task(&id, input, &DESKTOP).await;
    audited(&d, "execute_task", &[&id], Some(body.into_value()), result).await
}

#[tauri::command]
#[specta::specta]
async fn cancel_task(d: State<'_, Desktop>, id: String, reason: Option<String>) -> R<Task> {
    let body = serde_json::json!({ "reason": reason });
    let result = d
        .service
        .cancel_task(&id, CancelTask { reason }, &DESKTOP)
        .await;
    audited(&d, "cancel_task", &[&id], Some(body), result).await
}

#[tauri::command]
#[specta::specta]
async fn retry_task(d: State<'_, Desktop>, id: String) -> R<Executed> {
    let result = d.service.retry_task(&id, &DESKTOP).await;
    audited(&d, "retry_task", &[&id], None, result).await
}

#[tauri::command]
#[specta::specta]
async fn resume_task(d: State<'_, Desktop>, id: String) -> R<Executed> {
    let result = d.service.resume_task(&id, &DESKTOP).await;
    audited(&d, "resume_task", &[&id], None, result).await
}

#[tauri::command]
#[specta::specta]
async fn bulk_tasks(d: State<'_, Desktop>, body: Body<BulkRequest>) -> R<BulkResult> {
    let input = body.parse()?;
    let result = d.service.bulk_tasks(input, &DESKTOP).await;
    audited(&d, "bulk_tasks", &[], Some(body.into_value()), result).await
}

#[tauri::command]
#[specta::specta]
async fn task_runs(d: State<'_, Desktop>, id: String) -> R<Vec<Run>> {
    Ok(d.service.list_task_runs(&id, &DESKTOP).await?)
}

/// The bytes a run wrote, as text (invalid UTF-8 replaced).
#[tauri::command]
#[specta::specta]
async fn run_output(d: State<'_, Desktop>, id: String) -> R<String> {
    let (_, bytes) = d.service.run_output(&id, &DESKTOP).await?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

#[tauri::command]
#[specta::specta]
async fn task_workspace(d: State<'_, Desktop>, id: String) -> R<Workspace> {
    Ok(d.service.task_workspace(&id, &DESKTOP).await?)
}

#[tauri::command]
#[specta::specta]
async fn task_diff(d: State<'_, Desktop>, id: String) -> R<TaskDiff> {
    Ok(d.service.task_diff(&id, &DESKTOP).await?)
}

#[tauri::command]
#[specta::specta]
async fn task_conflicts(d: State<'_, Desktop>, id: String) -> R<Vec<TaskConflict>> {
    Ok(d.service.task_conflicts(&id, &DESKTOP).await?)
}

#[tauri::command]
#[specta::specta]
async fn commit_task(d: State<'_, Desktop>, id: String, message: String) -> R<Workspace> {
    Ok(d.service
        .commit_task(&id, CommitTask { message }, &DESKTOP)
        .await?)
}

#[tauri::command]
#[specta::specta]
async fn merge_task(d: State<'_, Desktop>, id: String) -> R<Merged> {
    Ok(d.service
        .merge_task(&id, MergeTask::default(), &DESKTOP)
        .await?)
}

#[tauri::command]
#[specta::specta]
async fn archive_task(d: State<'_, Desktop>, id: String) -> R<Archive> {
    Ok(d.service.archive_task(&id, &DESKTOP).await?)
}

#[tauri::command]
#[specta::specta]
async fn send_review(
    d: State<'_, Desktop>,
    id: String,
    comments: Vec<ReviewComment>,
) -> R<ReviewSent> {
    let input = ReviewComments {
        comments,
        summary: None,
    };
    Ok(d.service.send_review(&id, input, &DESKTOP).await?)
}

#[tauri::command]
#[specta::specta]
async fn queue_status(d: State<'_, Desktop>) -> R<QueueStatus> {
    Ok(d.service.queue_status(&DESKTOP).await?)
}

#[tauri::command]
#[specta::specta]
async fn set_queue_limit(d: State<'_, Desktop>, max_concurrent: u32) -> R<QueueStatus> {
    let body = serde_json::json!({ "maxConcurrent": max_concurrent });
    let result = d
        .service
        .update_queue(QueuePatch { max_concurrent }, &DESKTOP)
        .await;
    audited(&d, "set_queue_limit", &[], Some(body), result).await
}

#[tauri::command]
#[specta::specta]
async fn pause_queue(d: State<'_, Desktop>, paused: bool) -> R<QueueStatus> {
    let result = d
        .service
        .pause_queue(QueueScope::default(), paused, &DESKTOP)
        .await;
    let operation = if paused {
        "pause_queue"
    } else {
        "resume_queue"
    };
    audited(&d, operation, &[], None, result).await
}

/// The loopback API's address and token, for the settings page.
#[tauri::command]
#[specta::specta]
fn api_info(d: State<'_, Desktop>) -> ApiInfo {
    ApiInfo {
        url: d.url.clone(),
        token: d.service.runtime().admin.expose().to_owned(),
        saved_port: baton::config::saved_port(&d.data_dir),
    }
}

#[tauri::command]
#[specta::specta]
async fn regenerate_token(d: State<'_, Desktop>) -> R<String> {
    let result = d.service.regenerate_token(&DESKTOP);
    audited(&d, "regenerate_token", &[], None, result).await
}

#[tauri::command]
#[specta::specta]
async fn update_agent(
    d: State<'_, Desktop>,
    id: String,
    patch: Body<AgentProfilePatch>,
) -> R<AgentProfile> {
    let input = patch.parse()?;
    let result = d.service.update_agent_profile(&id, input, &DESKTOP).await;
    audited(&d, "update_agent", &[&id], Some(patch.into_value()), result).await
}

/// The window has painted its first screen: logged with the time since the process started.
#[tauri::command]
#[specta::specta]
fn ui_painted() {
    if let Some(started) = crate::STARTED.get() {
        tracing::info!(ms = started.elapsed().as_millis() as u64, "first paint");
    }
}

/// Saves the API port for the next start (0 or null: a free one).
#[tauri::command]
#[specta::specta]
fn set_api_port(d: State<'_, Desktop>, port: Option<u16>) -> R<()> {
    let value = serde_json::json!({ "apiPort": port.filter(|p| *p != 0) });
    std::fs::write(
        d.data_dir.join(baton::config::DESKTOP_SETTINGS),
        value.to_string(),
    )
    .map_err(|e| CommandError {
        error: format!("cannot save settings: {e}"),
        code: "unavailable".into(),
        details: serde_json::json!({}),
    })
}

/// Streams a session's terminal to `output`: JSON for the replay header and the exit, raw bytes
/// for output. Returns an id for `terminal_detach`.
#[tauri::command]
#[specta::specta]
async fn terminal_attach(
    d: State<'_, Desktop>,
    session_id: String,
    offset: Option<u64>,
    output: Channel<TerminalFrame>,
) -> R<u64> {
    let mut feed = d
        .service
        .attach_terminal(&session_id, offset, &DESKTOP)
        .await?;
    let id = d.next_attachment.fetch_add(1, Ordering::Relaxed);
    let task = tauri::async_runtime::spawn(async move {
        while let Some(item) = feed.next().await {
            let message = match item {
                FeedItem::Data(bytes) => InvokeResponseBody::Raw(bytes.to_vec()),
                FeedItem::Lagged { resume_at } => {
                    json(serde_json::json!({ "type": "lagged", "offset": resume_at }))
                }
                other => json(other.control().unwrap_or_default()),
            };
            if output.send(TerminalFrame(message)).is_err() {
                break;
            }
        }
    });
    d.attachments
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .insert(id, task);
    Ok(id)
}

fn json(value: serde_json::Value) -> InvokeResponseBody {
    InvokeResponseBody::Json(value.to_string())
}

#[tauri::command]
#[specta::specta]
fn terminal_detach(d: State<'_, Desktop>, attachment: u64) {
    if let Some(task) = d
        .attachments
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .remove(&attachment)
    {
        task.abort();
    }
}

#[tauri::command]
#[specta::specta]
async fn terminal_write(d: State<'_, Desktop>, session_id: String, data: String) -> R<()> {
    Ok(d.service
        .write_terminal(&session_id, data.into_bytes(), &DESKTOP)
        .await?)
}

#[tauri::command]
#[specta::specta]
fn terminal_resize(d: State<'_, Desktop>, session_id: String, cols: u16, rows: u16) -> R<()> {
    Ok(d.service
        .resize_terminal(&session_id, cols, rows, &DESKTOP)?)
}

/// Stops every agent cleanly, then the core, then the app (after the UI asked, if it had to).
#[tauri::command]
#[specta::specta]
async fn quit(app: AppHandle, server: State<'_, Mutex<Option<Server>>>) -> R<()> {
    let server = server.lock().unwrap_or_else(|p| p.into_inner()).take();
    if let Some(server) = server {
        if let Err(err) = server.stop().await {
            tracing::warn!(%err, "the core stopped with an error");
        }
    }
    app.exit(0);
    Ok(())
}

/// Every command the window may call: the one list the invoke handler and the TypeScript
/// bindings (`ui/src/generated/desktop.ts`) are both made from.
pub fn builder() -> tauri_specta::Builder<tauri::Wry> {
    tauri_specta::Builder::<tauri::Wry>::new().commands(tauri_specta::collect_commands![
        ui_painted,
        list_projects,
        create_project,
        list_tasks,
        create_task,
        update_task,
        delete_task,
        add_subtask,
        update_subtask,
        set_dependencies,
        task_history,
        list_sessions,
        start_session,
        stop_session,
        restart_session,
        resume_session,
        decide_action,
        session_usage,
        task_usage,
        project_usage,
        price_table,
        set_prices,
        reset_prices,
        list_agents,
        create_agent,
        list_messages,
        post_message,
        api_info,
        regenerate_token,
        update_agent,
        execute_task,
        cancel_task,
        retry_task,
        resume_task,
        bulk_tasks,
        task_runs,
        run_output,
        task_workspace,
        task_diff,
        task_conflicts,
        commit_task,
        merge_task,
        archive_task,
        send_review,
        queue_status,
        set_queue_limit,
        pause_queue,
        set_api_port,
        terminal_attach,
        terminal_detach,
        terminal_write,
        terminal_resize,
        quit,
    ])
}

/// Writes the TypeScript bindings of [`builder`]'s commands to `path`.
#[cfg(test)]
pub fn export_bindings(path: &std::path::Path) -> Result<(), String> {
    builder()
        .error_handling(tauri_specta::ErrorHandlingMode::Throw)
        .dangerously_cast_bigints_to_number()
        .export(
            specta_typescript::Typescript::default().header("// Generated from src-tauri/src/commands.rs by tauri-specta: do not edit.\n// Regenerate: BATON_UPDATE_CONTRACT=1 cargo test -p baton-desktop --lib bindings\n"),
            path,
        )
        .map_err(|e| e.to_string())
}
