//! `baton status "…"` and `baton progress N`: an agent's one-line report.

use super::output::{s, value};
use super::run::Ctx;
use crate::client::{ClientError, ClientResult};
use crate::model::SessionReport;

pub(super) async fn run(
    ctx: &Ctx,
    session: Option<String>,
    text: Option<String>,
    percent: Option<i64>,
) -> ClientResult<()> {
    if let Some(p) = percent {
        if !(0..=100).contains(&p) {
            return Err(ClientError::Setup(format!(
                "progress must be from 0 to 100, not {p}"
            )));
        }
    }
    let session = ctx.session(session)?;
    let report = SessionReport {
        text,
        progress: percent.map(|p| p as i32),
    };
    let reported = value(ctx.client.report(&session, &report).await?);
    ctx.print(&reported, |r| {
        println!("reported: {}", s(&r["message"], "body"))
    });
    Ok(())
}
