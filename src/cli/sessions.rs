//! `baton session list|show|start|stop|attach|logs|actions|approve|deny|resume|usage`.

use std::io::Write;

use futures_util::StreamExt;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

use super::output::{self, age, list, s, value};
use super::run::Ctx;
use super::SessionCommand;
use crate::client::{ClientError, ClientResult};
use crate::model::{ListSessions, NewSession, StopSession};

pub(super) async fn run(ctx: &Ctx, command: SessionCommand) -> ClientResult<()> {
    match command {
        SessionCommand::List {
            project,
            all,
            status,
        } => {
            let query = ListSessions {
                project_id: if all {
                    None
                } else {
                    Some(ctx.project(&project).await?)
                },
                status,
                task_id: None,
            };
            let sessions = value(ctx.client.list_sessions(&query).await?);
            ctx.print(&sessions, |v| {
                let rows = v
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|x| {
                        vec![
                            s(x, "id"),
                            s(x, "name"),
                            state(x),
                            s(x, "agentId"),
                            list(x, "taskIds"),
                            report(x),
                            age(x, "startedAt"),
                        ]
                    })
                    .collect();
                output::table(
                    &[
                        "id", "name", "status", "agent", "tasks", "report", "started",
                    ],
                    rows,
                );
            });
        }
        SessionCommand::Show { id } => {
            let session = value(ctx.client.get_session(&id).await?);
            ctx.print(&session, |x| {
                output::fields(&[
                    ("id", s(x, "id")),
                    ("name", s(x, "name")),
                    ("status", state(x)),
                    ("agent", s(x, "agentId")),
                    ("command", output::argv(x, "command")),
                    ("folder", s(x, "cwd")),
                    ("tasks", list(x, "taskIds")),
                    ("report", report(x)),
                    ("pid", s(x, "pid")),
                    ("exit code", s(x, "exitCode")),
                    ("signal", s(x, "signal")),
                    ("started", age(x, "startedAt")),
                    ("last output", age(x, "lastActivity")),
                ]);
            });
        }
        SessionCommand::Start {
            project,
            tasks,
            agent,
            name,
            cwd,
            no_mcp,
            command,
        } => {
            if agent.is_some() != command.is_empty() {
                return Err(ClientError::Setup(
                    "say what to run: --agent PROFILE, or a command after `--` (one of the two)"
                        .into(),
                ));
            }
            let input = NewSession {
                project_id: ctx.project(&project).await?,
                task_ids: (!tasks.is_empty()).then_some(tasks),
                agent_id: agent,
                command: (!command.is_empty()).then_some(command),
                name,
                cwd: cwd.map(|cwd| {
                    let cwd = std::path::absolute(&cwd).unwrap_or(cwd);
                    cwd.display().to_string()
                }),
                mcp: no_mcp.then_some(false),
                ..Default::default()
            };
            let session = value(ctx.client.create_session(&input).await?);
            ctx.print(&session, |x| println!("{}", s(x, "id")));
        }
        SessionCommand::Stop { id, grace_ms } => {
            let input = StopSession { grace_ms };
            let session = value(ctx.client.stop_session(&id, &input).await?);
            ctx.print(&session, |x| println!("{} is {}", s(x, "id"), state(x)));
        }
        SessionCommand::Attach { id } => super::attach::attach(ctx, &id).await?,
        SessionCommand::Logs { id, follow } => {
            if follow {
                follow_output(ctx, &id).await?;
            } else {
                let bytes = ctx.client.session_output(&id).await?;
                write_out(&bytes)?;
            }
        }
        SessionCommand::Actions { id } => {
            let actions = ctx
                .client
                .get(&format!("/api/sessions/{id}/actions"))
                .await?;
            ctx.print(&actions, |v| {
                let rows = v
                    .as_array()
                    .into_iter()
                    .flatten()
                    .rev()
                    .map(|x| vec![s(x, "id"), s(x, "status"), s(x, "tool"), s(x, "summary")])
                    .collect();
                output::table(&["id", "status", "tool", "asks"], rows);
            });
        }
        SessionCommand::Approve { id, action } => {
            decide(ctx, &id, action, json!({ "decision": "allow" })).await?;
        }
        SessionCommand::Deny { id, action, reason } => {
            decide(
                ctx,
                &id,
                action,
                json!({ "decision": "deny", "reason": reason }),
            )
            .await?;
        }
        SessionCommand::Resume { id } => {
            let session = ctx
                .client
                .post(&format!("/api/sessions/{id}/resume"), &json!({}))
                .await?;
            ctx.print(&session, |x| println!("{} is {}", s(x, "id"), state(x)));
        }
        SessionCommand::Usage { id } => {
            let usage = ctx.client.get(&format!("/api/sessions/{id}/usage")).await?;
            ctx.print(&usage, |v| {
                let rows = v["models"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|m| {
                        let n = |k: &str| m[k].as_i64().unwrap_or(0).to_string();
                        vec![
                            s(m, "model"),
                            n("inputTokens"),
                            n("outputTokens"),
                            n("cacheReadTokens"),
                            n("cacheWriteTokens"),
                            m["costUsd"]
                                .as_f64()
                                .map_or("-".to_owned(), |c| format!("${c:.4}")),
                        ]
                    })
                    .collect();
                output::table(
                    &[
                        "model",
                        "input",
                        "output",
                        "cache read",
                        "cache write",
                        "cost",
                    ],
                    rows,
                );
                println!("total ${:.4}", v["costUsd"].as_f64().unwrap_or(0.0));
            });
        }
    }
    Ok(())
}

/// Allows or denies `action` (default: the session's only pending request).
async fn decide(ctx: &Ctx, id: &str, action: Option<String>, body: Value) -> ClientResult<()> {
    let action = match action {
        Some(a) => a,
        None => {
            let actions = ctx
                .client
                .get(&format!("/api/sessions/{id}/actions"))
                .await?;
            let pending: Vec<String> = actions
                .as_array()
                .into_iter()
                .flatten()
                .filter(|a| a["status"] == "pending")
                .map(|a| s(a, "id"))
                .collect();
            match pending.as_slice() {
                [one] => one.clone(),
                [] => {
                    return Err(ClientError::Setup(format!(
                        "session {id} asks for no permission now"
                    )))
                }
                _ => {
                    return Err(ClientError::Setup(format!(
                        "session {id} asks for several: say which with --action ({})",
                        pending.join(", ")
                    )))
                }
            }
        }
    };
    let decided = ctx
        .client
        .post(&format!("/api/sessions/{id}/actions/{action}"), &body)
        .await?;
    ctx.print(&decided, |x| {
        println!(
            "{} {}: {} {}",
            s(x, "id"),
            s(x, "status"),
            s(x, "tool"),
            s(x, "summary")
        )
    });
    Ok(())
}

/// `running`, or `waiting (for input)`, `waiting (to run Bash)`, `running (idle)`.
fn state(x: &Value) -> String {
    match x["activity"].as_str() {
        Some("waiting_input") => format!("{} (for input)", s(x, "status")),
        Some("waiting_permission") => format!(
            "{} (to run {})",
            s(x, "status"),
            x["permission"]["tool"].as_str().unwrap_or("a tool")
        ),
        Some("idle") => format!("{} (idle)", s(x, "status")),
        _ => s(x, "status"),
    }
}

fn report(x: &Value) -> String {
    match (x["progress"].as_i64(), s(x, "statusText")) {
        (Some(p), t) if t.is_empty() => format!("{p}%"),
        (Some(p), t) => format!("{p}% {t}"),
        (None, t) => t,
    }
}

pub(super) fn write_out(bytes: &[u8]) -> ClientResult<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(bytes)
        .and_then(|()| out.flush())
        .map_err(|e| ClientError::Protocol(format!("cannot write the output: {e}")))
}

/// Everything the session printed, from the first byte, then live until it exits.
async fn follow_output(ctx: &Ctx, id: &str) -> ClientResult<()> {
    let mut ws = ctx.client.terminal(id, true).await?;
    while let Some(frame) = ws.next().await {
        match frame
            .map_err(|e| ClientError::Protocol(format!("the terminal stream broke off: {e}")))?
        {
            Message::Binary(bytes) => write_out(&bytes)?,
            Message::Text(text) => {
                let control: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
                if control["type"] == "exit" {
                    eprintln!("\n[{}]", exit_words(&control));
                    return Ok(());
                }
            }
            Message::Close(_) => return Ok(()),
            _ => {}
        }
    }
    Ok(())
}

pub(super) fn exit_words(control: &Value) -> String {
    match (control["code"].as_i64(), control["signal"].as_str()) {
        (_, Some(signal)) => format!("the agent was ended by {signal}"),
        (Some(code), None) => format!("the agent exited with code {code}"),
        (None, None) => "the agent exited".to_owned(),
    }
}
