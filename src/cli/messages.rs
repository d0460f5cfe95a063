//! `baton msg post|list|tail [-f]`: the project's message bus.

use futures_util::StreamExt;
use serde_json::Value;

use super::output::{self, message_line, value};
use super::run::Ctx;
use super::{MsgCommand, MsgScope};
use crate::client::{ClientError, ClientResult};
use crate::model::{ListMessages, NewMessage};

pub(super) async fn run(ctx: &Ctx, command: MsgCommand) -> ClientResult<()> {
    match command {
        MsgCommand::Post {
            body,
            scope,
            kind,
            reply_to,
        } => {
            // Inside an agent: from this session, about its task (when it has just one).
            let message = NewMessage {
                project_id: ctx.project(&scope.project).await?,
                task_id: scope.task.or_else(|| ctx.agent.only_task()),
                session_id: ctx.agent.session_id.clone(),
                r#type: kind,
                body: body.join(" "),
                parent_ids: (!reply_to.is_empty()).then_some(reply_to),
            };
            let posted = value(ctx.client.post_message(&message).await?);
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
                let query = ListMessages {
                    project_id: Some(ctx.project(&scope.project).await?),
                    task_id: scope.task.clone(),
                    after: last.clone(),
                    ..Default::default()
                };
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
    let query = ListMessages {
        project_id: Some(ctx.project(&scope.project).await?),
        task_id: scope.task.clone(),
        limit: Some(limit.to_string()),
        ..Default::default()
    };
    Ok(value(ctx.client.list_messages(&query).await?))
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
