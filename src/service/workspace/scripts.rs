//! A project's workspace scripts (argv arrays in its settings or `baton.json`): **setup** runs
//! in a new worktree before the task's agent, as a session of its own with a visible terminal,
//! and a failure stops the task with its output; **run** (a dev server, tests) starts on demand
//! in its own terminal with a free port in `BATON_PORT`; **teardown** runs before a worktree is
//! removed.

use std::path::Path;
use std::time::Duration;

use serde_json::json;

use super::Service;
use crate::events::Event;
use crate::model::{NewSession, Session};
use crate::service::error::{ServiceError, ServiceResult};
use crate::service::{lookup, Actor};

/// How long a setup may take.
const SETUP_DEADLINE: Duration = Duration::from_secs(30 * 60);
/// How long a teardown may take before the removal goes on without it.
const TEARDOWN_DEADLINE: Duration = Duration::from_secs(120);

/// The last `max` characters of a terminal log, with escape sequences taken out.
pub fn tail_text(log: &[u8], max: usize) -> String {
    let text = String::from_utf8_lossy(log);
    let plain =
        regex::Regex::new(r"\x1b(\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(\x07|\x1b\\)|[@-Z\\-_])")
            .map(|re| re.replace_all(&text, "").into_owned())
            .unwrap_or_else(|_| text.into_owned());
    let plain = plain.replace('\r', "");
    let chars: Vec<char> = plain.trim_end().chars().collect();
    chars[chars.len().saturating_sub(max)..].iter().collect()
}

impl Service {
    /// Runs the project's setup in a new worktree as a session of its own and waits for it:
    /// `Ok` when it exits 0 (or there is none), else the error carrying its output.
    pub(super) async fn run_setup(
        &self,
        setup: &[String],
        project_id: &str,
        task_title: &str,
        worktree: &Path,
        actor: &Actor,
    ) -> ServiceResult<()> {
        let mut events = self.bus().subscribe();
        let input = NewSession {
            project_id: project_id.to_owned(),
            name: Some(format!(
                "setup: {}",
                crate::service::validate::clip(task_title, 180)
            )),
            command: Some(setup.to_vec()),
            cwd: Some(worktree.display().to_string()),
            ..Default::default()
        };
        let session = self
            .create_session(input, actor)
            .await
            .map_err(|e| match e {
                ServiceError::Invalid { message, .. } => {
                    ServiceError::invalid("settings.setup", message)
                }
                other => other,
            })?;
        let ended = tokio::time::timeout(SETUP_DEADLINE, async {
            loop {
                match events.recv().await {
                    Ok(p) => {
                        if let Event::RunEnded(run) = &p.event {
                            if run.session_id == session.id {
                                return Some(run.clone());
                            }
                        }
                    }
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {
                        // Missed events: ask the record instead.
                        let runs = self
                            .list_session_runs(&session.id, &Actor::System)
                            .await
                            .ok()?;
                        if let Some(run) = runs.into_iter().find(|r| r.ended_at.is_some()) {
                            return Some(run);
                        }
                    }
                    Err(_) => return None,
                }
            }
        })
        .await
        .ok()
        .flatten();
        let Some(run) = ended else {
            return Err(ServiceError::conflict(
                "setup_failed",
                "the project's setup did not finish in time",
                json!({ "sessionId": session.id }),
            ));
        };
        if run.exit_code == Some(0) {
            return Ok(());
        }
        let log = std::fs::read(self.runtime.session_dir(&session.id).join("output.log"))
            .unwrap_or_default();
        let start = (run.log_start as usize).min(log.len());
        let end = run
            .log_end
            .map_or(log.len(), |e| (e as usize).min(log.len()));
        let output = tail_text(&log[start..end.max(start)], 2000);
        Err(ServiceError::conflict(
            "setup_failed",
            format!(
                "the project's setup failed (exit {}): {output}",
                run.exit_code
                    .map_or("by a signal".to_owned(), |c| c.to_string())
            ),
            json!({ "sessionId": session.id, "exitCode": run.exit_code, "output": output }),
        ))
    }

    /// Runs the project's teardown in a worktree about to be removed (bounded; a failure is
    /// logged and the removal goes on).
    pub(super) async fn run_teardown(&self, teardown: &[String], worktree: &Path) {
        if let Err(err) = self.guard_command(
            "settings.teardown",
            teardown,
            Some(worktree),
            false,
            &Actor::System,
        ) {
            tracing::warn!(%err, "the teardown was not run");
            return;
        }
        let mut command = tokio::process::Command::new(&teardown[0]);
        command
            .args(&teardown[1..])
            .current_dir(worktree)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .kill_on_drop(true);
        match tokio::time::timeout(TEARDOWN_DEADLINE, command.output()).await {
            Ok(Ok(out)) if out.status.success() => {}
            Ok(Ok(out)) => tracing::warn!(
                status = %out.status,
                stderr = %String::from_utf8_lossy(&out.stderr).trim(),
                "the teardown failed; removing the worktree anyway"
            ),
            Ok(Err(err)) => tracing::warn!(%err, "the teardown could not start"),
            Err(_) => tracing::warn!("the teardown did not finish in time"),
        }
    }

    /// `POST /api/tasks/{id}/workspace/run`: the project's run command in the task's worktree,
    /// in a terminal of its own, with a free loopback port in `BATON_PORT`.
    pub async fn start_run_script(&self, task_id: &str, actor: &Actor) -> ServiceResult<Session> {
        let row = self.worktree_of(task_id, actor).await?;
        actor.may_write(&row.project_id)?;
        let project = lookup::project(&self.db, &row.project_id).await?;
        let plan = self.workspace_plan(&project).await?;
        let Some(run) = plan.settings.run else {
            return Err(ServiceError::conflict(
                "no_run_command",
                "the project has no run command: set settings.run (an argv array) or \"run\" in baton.json",
                json!({ "field": "settings.run" }),
            ));
        };
        let port = std::net::TcpListener::bind(("127.0.0.1", 0))
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .map_err(|e| ServiceError::Unavailable(format!("no free port: {e}")))?;
        let input = NewSession {
            project_id: row.project_id.clone(),
            name: Some(format!("run: {}", row.branch)),
            command: Some(run),
            cwd: Some(row.path.clone()),
            env: Some([("BATON_PORT".to_owned(), port.to_string())].into()),
            ..Default::default()
        };
        self.create_session(input, actor).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tail_of_a_log_is_plain_text() {
        let log = b"\x1b[1;31merror:\x1b[0m missing file\r\n\x1b]0;title\x07done\r\n";
        assert_eq!(tail_text(log, 100), "error: missing file\ndone");
        assert_eq!(tail_text(b"abcdef", 3), "def");
    }
}
