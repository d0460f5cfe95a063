//! `baton session list|show|start|stop|attach|logs`.

use std::io::Write;

use futures_util::StreamExt;
use serde_json::Value;
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
    }
    Ok(())
}

/// `running`, or `running (waiting)` while the agent waits for input.
fn state(x: &Value) -> String {
    match x["activity"].as_str() {
        Some("waiting") => format!("{} (waiting)", s(x, "status")),
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
