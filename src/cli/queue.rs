//! `baton queue …`: the queue that runs tasks.

use super::output::{s, value};
use super::run::Ctx;
use super::QueueCommand;
use crate::client::{ClientError, ClientResult};
use crate::model::{QueuePatch, QueueScope};

pub(super) async fn run(ctx: &Ctx, command: QueueCommand) -> ClientResult<()> {
    let status = match command {
        QueueCommand::Status => ctx.client.queue_status().await?,
        QueueCommand::Pause { project } => {
            let scope = QueueScope {
                project_id: project,
            };
            ctx.client.pause_queue(&scope, true).await?
        }
        QueueCommand::Resume { project } => {
            let scope = QueueScope {
                project_id: project,
            };
            ctx.client.pause_queue(&scope, false).await?
        }
        QueueCommand::Limit { max } => {
            let patch = QueuePatch {
                max_concurrent: max,
            };
            ctx.client.update_queue(&patch).await?
        }
        QueueCommand::Clear { yes } => {
            if !yes {
                return Err(ClientError::Setup(
                    "clearing sends every queued task back to pending: add --yes".into(),
                ));
            }
            let cleared = value(ctx.client.clear_queue().await?);
            ctx.print(&cleared, |c| {
                println!("{} task(s) back to pending", s(c, "affectedCount"))
            });
            return Ok(());
        }
    };
    let status = value(status);
    ctx.print(&status, |q| {
        let paused = if q["paused"] == true {
            "paused".to_owned()
        } else {
            match q["pausedProjects"].as_array() {
                Some(p) if !p.is_empty() => format!("paused in {} project(s)", p.len()),
                _ => "running".to_owned(),
            }
        };
        println!(
            "{paused}: {} of {} running, {} queued (high {}, medium {}, low {}), {} blocked",
            s(q, "running"),
            s(q, "maxConcurrent"),
            s(&q["queued"], "total"),
            s(&q["queued"], "high"),
            s(&q["queued"], "medium"),
            s(&q["queued"], "low"),
            s(q, "blocked"),
        );
        println!(
            "last hour: {} completed, {} failed",
            s(q, "completedLastHour"),
            s(q, "failedLastHour")
        );
    });
    Ok(())
}
