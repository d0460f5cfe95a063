//! `baton status "…"` and `baton progress N`: an agent's one-line report.

use serde_json::json;

use super::output::s;
use super::run::{enc, Ctx};
use crate::client::{ClientError, ClientResult};

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
    let reported = ctx
        .client
        .post(
            &format!("/api/sessions/{}/report", enc(&session)),
            &json!({ "text": text, "progress": percent }),
        )
        .await?;
    ctx.print(&reported, |r| {
        println!("reported: {}", s(&r["message"], "body"))
    });
    Ok(())
}
