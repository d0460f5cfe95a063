//! `baton msg post|list|tail [-f]`: the project's message bus.

use futures_util::StreamExt;
use serde_json::{json, Value};

use super::output::{self, message_line};
use super::run::Ctx;
use super::{MsgCommand, MsgScope};
use crate::client::{ClientError, ClientResult};

pub(super) async fn run(ctx: &Ctx, command: MsgCommand) -> ClientResult<()> {
    match command {
        MsgCommand::Post {
            body,
            scope,
            kind,
            reply_to,
        } => {
            let project = ctx.project(&scope.project).await?;
            let mut msg = json!({ "projectId": project, "body": body.join(" ") });
            // Inside an agent: from this session, about its task (when it has just one).
            let task = scope.task.or_else(|| ctx.agent.only_task());
            if let Some(task) = task {
                msg["taskId"] = task.into();
            }
            if let Some(session) = &ctx.agent.session_id {
                msg["sessionId"] = session.clone().into();
            }
            if let Some(kind) = kind {
                msg["type"] = kind.into();
            }
            if !reply_to.is_empty() {
                msg["parentIds"] = json!(reply_to);
            }
            let posted = ctx.client.post("/api/messages", &msg).await?;
            ctx.print(&posted, |m| println!("{}", output::s(m, "id")));
        }
        MsgCommand::List { scope, limit } => {
            let messages = latest(ctx, &scope, limit).await?;
            ctx.print(&messages, print_all);
        }
        MsgCommand::Tail {
            scope,
            lines,
            follow,
        } => {
            let messages = latest(ctx, &scope, lines).await?;
            let last = messages
                .as_array()
                .and_then(|a| a.last())
                .map(|m| output::s(m, "id"));
            if ctx.json {
                // One JSON object per line, so that `--json tail -f` can be read as it comes.
                for m in messages.as_array().into_iter().flatten() {
                    println!("{m}");
                }
            } else {
                print_all(&messages);
            }
            if follow {
                let project = ctx.project(&scope.project).await?;
                let mut query = vec![("projectId", project.as_str())];
                if let Some(task) = &scope.task {
                    query.push(("taskId", task));
                }
                if let Some(last) = &last {
                    query.push(("after", last));
                }
                let mut stream = std::pin::pin!(ctx.client.message_stream(&query).await?);
                while let Some(message) = stream.next().await {
                    let message = message?;
                    if ctx.json {
                        println!("{message}");
                    } else {
                        println!("{}", message_line(&message));
                    }
                }
                return Err(ClientError::NotRunning(
                    "the message stream ended: the server stopped".into(),
                ));
            }
        }
    }
    Ok(())
}

async fn latest(ctx: &Ctx, scope: &MsgScope, limit: u32) -> ClientResult<Value> {
    let project = ctx.project(&scope.project).await?;
    let mut query = vec![("projectId", project), ("limit", limit.to_string())];
    if let Some(task) = &scope.task {
        query.push(("taskId", task.clone()));
    }
    let query = serde_urlencoded::to_string(&query).unwrap_or_default();
    ctx.client.get(&format!("/api/messages?{query}")).await
}

fn print_all(messages: &Value) {
    let all = messages.as_array().cloned().unwrap_or_default();
    if all.is_empty() {
        println!("(no messages)");
    }
    for m in all {
        println!("{}", message_line(&m));
    }
}
