//! Running agents: starting a session's process, watching it (activity and exit), stopping,
//! restarting, and the two moments Baton itself starts or stops.
//!
//! A run's end is recorded by its supervisor task: status (`completed` for exit 0, `failed` for
//! anything else or a signal, `stopped` when Baton was asked to stop it), exit code, signal, end
//! time; then its token is revoked and `session:updated` is published.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use strum::IntoEnumIterator;

use regex::Regex;
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};
use serde_json::json;

use super::agents::{resolve_program, DEFAULT_QUIET_MS};
use super::error::{ServiceError, ServiceResult};
use super::handover::{self, PromptGate};
use super::runtime::Run;
use super::{agents, mcp_config, views, Actor, Service};
use crate::clock::now_ms;
use crate::events::Event;
use crate::model::{
    Activity, McpStyle, NewSession, PromptMode, Session, SessionStatus, StopSession,
};
use crate::pty::{find_program, Exit, Output, PtyError, Size, SpawnRequest};
use crate::security::Grant;
use crate::store::entity::{agent_profile, project, session};
use crate::store::json::from_text;

pub const DEFAULT_SIZE: Size = Size {
    cols: 120,
    rows: 32,
};
pub const DEFAULT_GRACE: Duration = Duration::from_secs(5);
/// The longest grace period a caller may ask for.
pub const MAX_GRACE_MS: u64 = 600_000;
const TICK: Duration = Duration::from_millis(100);
/// How many lines of a waiting agent's screen make its question.
pub(super) const QUESTION_LINES: usize = 3;

/// Everything needed to start (and later restart) a session's process.
pub(super) struct Launch {
    pub argv: Vec<String>,
    pub cwd: PathBuf,
    /// What Baton adds to the server's environment (shown as the session's `env`).
    pub env: BTreeMap<String, String>,
    pub size: Size,
    pub watch: Watch,
}

/// How to tell that the agent waits for input, and what to type when it first does.
#[derive(Clone)]
pub(super) struct Watch {
    pub quiet_ms: u32,
    pub pattern: Option<Regex>,
    pub typed_prompt: Option<String>,
}

/// Without a profile: the default quiet time, no pattern, nothing to type.
impl Default for Watch {
    fn default() -> Self {
        Self {
            quiet_ms: DEFAULT_QUIET_MS,
            pattern: None,
            typed_prompt: None,
        }
    }
}

impl Service {
    /// Works out what `input` starts, or `None` for a record with no process. Checks the
    /// program exists, so that nothing is written for a session that cannot start.
    pub(super) async fn plan_launch(
        &self,
        input: &NewSession,
        session_id: &str,
        project: &project::Model,
        task_ids: &[String],
        prompt: Option<String>,
    ) -> ServiceResult<Option<Launch>> {
        let (argv, profile_env, watch, field, mcp) = match (&input.command, &input.agent_id) {
            (Some(command), _) => {
                if command.first().is_none_or(|p| p.trim().is_empty()) {
                    return Err(ServiceError::invalid(
                        "command",
                        "must name a program: a non-empty argv array",
                    ));
                }
                if command.iter().any(|a| a.contains('\0')) {
                    return Err(ServiceError::invalid(
                        "command",
                        "arguments must not contain NUL bytes",
                    ));
                }
                let watch = Watch::default();
                (
                    command.clone(),
                    BTreeMap::new(),
                    watch,
                    "command",
                    McpStyle::None,
                )
            }
            (None, Some(agent_id)) => {
                let profile = super::lookup::as_field(self.profile_row(agent_id).await, "agentId")?;
                let (argv, watch) = profile_argv(&profile, prompt);
                (
                    argv,
                    from_text("agent_profile.env", &profile.env),
                    watch,
                    "agentId",
                    McpStyle::parse(&profile.mcp).unwrap_or(McpStyle::None),
                )
            }
            (None, None) => return Ok(None),
        };
        let path = std::env::var("PATH").ok();
        if find_program(&argv[0], path.as_deref()).is_none() {
            return Err(ServiceError::invalid(
                field,
                format!("program not found: {}", argv[0]),
            ));
        }
        let cwd = match (&input.cwd, &project.base_path) {
            (Some(cwd), _) => {
                let path = PathBuf::from(cwd);
                if !path.is_absolute() || !path.is_dir() {
                    return Err(ServiceError::invalid(
                        "cwd",
                        "must be an existing absolute folder",
                    ));
                }
                path
            }
            (None, Some(base)) => PathBuf::from(base),
            (None, None) => std::env::var_os("HOME")
                .map(PathBuf::from)
                .unwrap_or_else(|| PathBuf::from("/")),
        };
        let extra = input.env.clone().unwrap_or_default();
        agents::check_env("env", &extra)?;
        let size = Size {
            cols: check_size("cols", input.cols, DEFAULT_SIZE.cols)?,
            rows: check_size("rows", input.rows, DEFAULT_SIZE.rows)?,
        };
        let mut env = profile_env;
        env.extend(extra);
        let argv = match (&self.runtime.cli, input.mcp.unwrap_or(true)) {
            (Some(cli), true) if mcp != McpStyle::None => {
                let setup =
                    mcp_config::configure(mcp, cli, argv, &self.runtime.session_dir(session_id));
                if let Some((path, contents)) = &setup.file {
                    write_private(path, contents).map_err(|e| {
                        ServiceError::Unavailable(format!(
                            "cannot write the agent's MCP settings: {e}"
                        ))
                    })?;
                }
                env.extend(setup.env);
                setup.argv
            }
            _ => argv,
        };
        env.insert("TERM".into(), "xterm-256color".into());
        env.insert("COLORTERM".into(), "truecolor".into());
        env.insert("BATON_API_URL".into(), self.api_url.to_string());
        env.insert("BATON_PROJECT_ID".into(), project.id.clone());
        env.insert("BATON_SESSION_ID".into(), session_id.to_owned());
        env.insert("BATON_TASK_IDS".into(), task_ids.join(","));
        Ok(Some(Launch {
            argv,
            cwd,
            env,
            size,
            watch,
        }))
    }

    /// Starts `launch` for `session_id` with a fresh session token. Returns the run (not yet
    /// registered or supervised: see [`Service::supervise`]).
    pub(super) fn start_process(
        &self,
        session_id: &str,
        project_id: &str,
        launch: &Launch,
    ) -> ServiceResult<Arc<Run>> {
        let rt = &self.runtime;
        let output = Arc::new(
            Output::open(&rt.session_dir(session_id).join("output.log")).map_err(|e| {
                ServiceError::Unavailable(format!("cannot open the session log: {e}"))
            })?,
        );
        let token = rt
            .tokens
            .issue(Grant {
                session_id: session_id.to_owned(),
                project_id: project_id.to_owned(),
            })
            .map_err(|e| ServiceError::Unavailable(format!("cannot make a session token: {e}")))?;
        // The server's environment, minus any Baton variables it was itself given (a server run
        // from inside an agent's terminal must not pass that agent's identity on).
        let mut env: BTreeMap<String, String> = std::env::vars()
            .filter(|(k, _)| !k.starts_with("BATON_"))
            .collect();
        env.extend(launch.env.clone());
        env.insert("BATON_TOKEN".into(), token);
        // The `baton` CLI works in the agent's terminal without set-up: its folder goes first
        // on the PATH (not recorded in the session's env: it is the server's to decide).
        if let Some(dir) = self.runtime.cli.as_deref().and_then(|c| c.parent()) {
            let path = env.get("PATH").cloned().unwrap_or_default();
            let dir = dir.display().to_string();
            if !path.split(':').any(|p| p == dir) {
                env.insert(
                    "PATH".into(),
                    if path.is_empty() {
                        dir
                    } else {
                        format!("{dir}:{path}")
                    },
                );
            }
        }
        let request = SpawnRequest {
            argv: launch.argv.clone(),
            cwd: launch.cwd.clone(),
            env: env.into_iter().collect(),
            size: launch.size,
        };
        match rt.host.spawn(request, Arc::clone(&output)) {
            Ok(terminal) => Ok(Arc::new(Run::new(session_id, project_id, terminal, output))),
            Err(err) => {
                rt.tokens.revoke(session_id);
                Err(match err {
                    PtyError::ProgramNotFound(p) => {
                        ServiceError::invalid("command", format!("program not found: {p}"))
                    }
                    PtyError::NoSuchFolder(f) => {
                        ServiceError::invalid("cwd", format!("folder {f} does not exist"))
                    }
                    other => ServiceError::Unavailable(other.to_string()),
                })
            }
        }
    }

    /// Registers `run` and watches it until it ends: activity changes, the typed prompt, and
    /// recording the end.
    pub(super) fn supervise(&self, run: Arc<Run>, watch: Watch) {
        self.runtime.insert(Arc::clone(&run));
        let service = self.clone();
        tokio::spawn(async move {
            let started = now_ms();
            let mut exited = run.terminal.exited();
            let mut typed_prompt = watch.typed_prompt.clone();
            let mut ticker = tokio::time::interval(TICK);
            let mut seen_output = 0;
            let mut active_at = started;
            let mut screen = String::new();
            let mut held: Option<&'static str> = None;
            let mut asked: Vec<String> = Vec::new();
            loop {
                tokio::select! {
                    _ = exited.wait_for(Option::is_some) => break,
                    _ = ticker.tick() => {}
                }
                let last = run.output.last_output_ms();
                // A redraw right after a resize is not work, and changes nothing it decides on.
                let printed = last != seen_output && !run.redraw_window().contains(last);
                if printed {
                    active_at = last;
                    if watch.pattern.is_some() || typed_prompt.is_some() {
                        screen = handover::screen_text(&run.terminal.screen().text());
                    }
                }
                seen_output = last;
                let quiet = now_ms() - active_at.max(started) >= i64::from(watch.quiet_ms);
                let next = handover::activity(quiet, watch.pattern.as_ref(), &screen);
                // A new activity is published; so is a new question of an agent that still waits.
                let changed = next != run.activity();
                if changed || (printed && next == Activity::Waiting) {
                    let question = run.terminal.screen().last_lines(QUESTION_LINES);
                    if changed || question != asked {
                        asked = question;
                        run.set_activity(next);
                        if let Err(err) = service.record_activity(&run, next).await {
                            tracing::warn!(%err, session = run.session_id, "cannot record activity");
                        }
                    }
                }
                if typed_prompt.is_none() {
                    continue;
                }
                match handover::prompt_gate(quiet, watch.pattern.as_ref(), &screen) {
                    PromptGate::NotYet => {}
                    PromptGate::Hold(why) => {
                        if held != Some(why) {
                            held = Some(why);
                            service.note_status(&run, Some(why)).await;
                        }
                    }
                    PromptGate::Type => {
                        let prompt = typed_prompt.take().unwrap_or_default();
                        if held.take().is_some() {
                            service.note_status(&run, None).await;
                        }
                        let terminal = Arc::clone(&run.terminal);
                        let typed = format!("{prompt}\r");
                        let wrote =
                            tokio::task::spawn_blocking(move || terminal.write(typed.as_bytes()))
                                .await;
                        if !matches!(wrote, Ok(Ok(()))) {
                            tracing::warn!(session = run.session_id, "could not type the prompt");
                        }
                    }
                }
            }
            let exit = exited.borrow().clone().unwrap_or(Exit {
                code: -1,
                signal: None,
            });
            if let Err(err) = service.finish_run(&run, &exit).await {
                tracing::error!(%err, session = run.session_id, "cannot record the end of a run");
            }
            // Recorded or not, this run is over.
            service.runtime.remove(&run);
            run.mark_done();
        });
    }

    /// Sets (or clears) the session's status line on Baton's behalf, e.g. why its prompt waits.
    async fn note_status(&self, run: &Run, text: Option<&str>) {
        let result = async {
            let _lock = self.write_lock().await;
            session::Entity::update_many()
                .col_expr(
                    session::Column::StatusText,
                    Expr::value(text.map(str::to_owned)),
                )
                .col_expr(session::Column::UpdatedAt, Expr::value(now_ms()))
                .filter(session::Column::Id.eq(run.session_id.clone()))
                .exec(&self.db)
                .await?;
            let session = views::session_by_id(&self.db, &self.runtime, &run.session_id).await?;
            self.publish_all(vec![Event::SessionUpdated(session)]);
            ServiceResult::Ok(())
        }
        .await;
        if let Err(err) = result {
            tracing::warn!(%err, session = run.session_id, "cannot record the session's status");
        }
    }

    async fn record_activity(&self, run: &Run, activity: Activity) -> ServiceResult<()> {
        let _lock = self.write_lock().await;
        let Some(row) = session::Entity::find_by_id(run.session_id.clone())
            .one(&self.db)
            .await?
        else {
            return Ok(());
        };
        let status = match activity {
            Activity::Waiting => SessionStatus::Waiting,
            Activity::Working => SessionStatus::Running,
        };
        if !SessionStatus::parse(&row.status).is_some_and(SessionStatus::is_active) {
            return Ok(());
        }
        let mut active: session::ActiveModel = row.into();
        active.status = Set(status.as_str().to_owned());
        let last = run.output.last_output_ms();
        if last > 0 {
            active.last_activity = Set(Some(last));
        }
        active.updated_at = Set(now_ms());
        active.update(&self.db).await?;
        let session = views::session_by_id(&self.db, &self.runtime, &run.session_id).await?;
        self.publish_all(vec![Event::SessionUpdated(session)]);
        Ok(())
    }

    async fn finish_run(&self, run: &Arc<Run>, exit: &Exit) -> ServiceResult<()> {
        self.runtime.tokens.revoke(&run.session_id);
        let status = if run.stop_requested() {
            SessionStatus::Stopped
        } else if exit.success() {
            SessionStatus::Completed
        } else {
            SessionStatus::Failed
        };
        let _lock = self.write_lock().await;
        let Some(row) = session::Entity::find_by_id(run.session_id.clone())
            .one(&self.db)
            .await?
        else {
            return Ok(()); // deleted meanwhile
        };
        let now = now_ms();
        let mut active: session::ActiveModel = row.into();
        active.status = Set(status.as_str().to_owned());
        active.exit_code = Set(Some(exit.code));
        active.signal = Set(exit.signal.clone());
        active.completed_at = Set(Some(now));
        let last = run.output.last_output_ms();
        if last > 0 {
            active.last_activity = Set(Some(last));
        }
        active.updated_at = Set(now);
        active.update(&self.db).await?;
        // Counted before it leaves the running set: a scrape never sees it in neither.
        self.metrics.session_ended(status.as_str());
        // Registered runs show their live activity; this one has ended.
        self.runtime.remove(run);
        let session = views::session_by_id(&self.db, &self.runtime, &run.session_id).await?;
        self.publish_all(vec![Event::SessionUpdated(session)]);
        Ok(())
    }

    /// Stops a running session: SIGHUP and SIGTERM to its process group, SIGKILL after the
    /// grace period. Returns once the end is recorded. 409 when it is not running.
    pub async fn stop_session(
        &self,
        id: &str,
        input: &StopSession,
        actor: &Actor,
    ) -> ServiceResult<Session> {
        let grace = match input.grace_ms {
            None => DEFAULT_GRACE,
            Some(ms) if ms <= MAX_GRACE_MS => Duration::from_millis(ms),
            Some(_) => {
                return Err(ServiceError::invalid(
                    "graceMs",
                    format!("must be at most {MAX_GRACE_MS}"),
                ))
            }
        };
        self.stop_session_within(id, grace, actor).await
    }

    pub(super) async fn stop_session_within(
        &self,
        id: &str,
        grace: Duration,
        actor: &Actor,
    ) -> ServiceResult<Session> {
        let row = super::lookup::session(&self.db, id).await?;
        actor.may_write(&row.project_id)?;
        let Some(run) = self.runtime.get(id) else {
            return Err(ServiceError::conflict(
                "not_running",
                format!("session '{id}' has no running process"),
                json!({ "status": row.status }),
            ));
        };
        self.stop_run(&run, grace).await?;
        views::session_by_id(&self.db, &self.runtime, id).await
    }

    async fn stop_run(&self, run: &Run, grace: Duration) -> ServiceResult<()> {
        run.request_stop();
        let mut done = run.done();
        for signal in [libc::SIGHUP, libc::SIGTERM] {
            if let Err(err) = run.terminal.signal(signal) {
                tracing::debug!(%err, "signal after exit");
            }
        }
        if tokio::time::timeout(grace, done.wait_for(|d| *d))
            .await
            .is_ok()
        {
            return Ok(());
        }
        tracing::info!(session = run.session_id, "did not stop in time; killing it");
        if let Err(err) = run.terminal.signal(libc::SIGKILL) {
            tracing::debug!(%err, "kill after exit");
        }
        let ended = tokio::time::timeout(Duration::from_secs(10), done.wait_for(|d| *d))
            .await
            .is_ok();
        if ended {
            Ok(())
        } else {
            Err(ServiceError::Unavailable(format!(
                "session '{}' did not end after SIGKILL",
                run.session_id
            )))
        }
    }

    /// Starts the session's command again as a new run (stopping the current one first), keeping
    /// its output. 409 for a session with no command (a record only).
    pub async fn restart_session(&self, id: &str, actor: &Actor) -> ServiceResult<Session> {
        let row = super::lookup::session(&self.db, id).await?;
        actor.may_write(&row.project_id)?;
        if let Some(run) = self.runtime.get(id) {
            self.stop_run(&run, DEFAULT_GRACE).await?;
        }
        let mut argv: Vec<String> = from_text("session.command", &row.command);
        if argv.is_empty() {
            return Err(ServiceError::conflict(
                "no_command",
                format!("session '{id}' is a record with no command to run"),
                json!({}),
            ));
        }
        let profile = match &row.agent_id {
            Some(agent) => {
                agent_profile::Entity::find_by_id(agent.clone())
                    .one(&self.db)
                    .await?
            }
            None => None,
        };
        let watch = profile
            .map(|p| profile_argv(&p, None).1)
            .unwrap_or_default();
        // The server may listen elsewhere now, and the tasks may have changed: a new run gets
        // the current values.
        let mut env: BTreeMap<String, String> = from_text("session.env", &row.env);
        super::secret_env::restore(&self.runtime.session_dir(id), &mut env, &mut argv)?;
        env.insert("BATON_API_URL".into(), self.api_url.to_string());
        let linked = views::sessions(&self.db, &self.runtime, vec![row.clone()]).await?;
        let task_ids = linked
            .into_iter()
            .next()
            .map(|s| s.task_ids)
            .unwrap_or_default();
        env.insert("BATON_TASK_IDS".into(), task_ids.join(","));
        let launch = Launch {
            argv,
            cwd: row
                .cwd
                .clone()
                .map(PathBuf::from)
                .unwrap_or_else(|| PathBuf::from("/")),
            env,
            size: DEFAULT_SIZE,
            watch,
        };
        let _lock = self.write_lock().await;
        let run = self.start_process(id, &row.project_id, &launch)?;
        let now = now_ms();
        let mut active: session::ActiveModel = row.into();
        active.status = Set(SessionStatus::Running.as_str().to_owned());
        let shown =
            super::secret_env::keep(&self.runtime.session_dir(id), &launch.env, &launch.argv)?;
        active.env = Set(crate::store::json::to_text(&shown.env));
        active.command = Set(crate::store::json::to_text(&shown.argv));
        active.pid = Set(Some(run.terminal.pid() as i32));
        active.exit_code = Set(None);
        active.signal = Set(None);
        active.started_at = Set(Some(now));
        active.last_activity = Set(Some(now));
        active.completed_at = Set(None);
        active.updated_at = Set(now);
        active.update(&self.db).await?;
        self.supervise(Arc::clone(&run), launch.watch);
        let session = views::session_by_id(&self.db, &self.runtime, id).await?;
        self.publish_all(vec![Event::SessionUpdated(session.clone())]);
        Ok(session)
    }

    /// At start: sessions still marked active belong to a Baton that went away. They become
    /// `interrupted`, once (an interrupted session is no longer active).
    pub async fn mark_interrupted(&self) -> ServiceResult<u64> {
        let active: Vec<&str> = SessionStatus::iter()
            .filter(|s| s.is_active())
            .map(SessionStatus::as_str)
            .collect();
        let now = now_ms();
        let result = session::Entity::update_many()
            .col_expr(
                session::Column::Status,
                Expr::value(SessionStatus::Interrupted.as_str()),
            )
            .col_expr(session::Column::CompletedAt, Expr::value(now))
            .col_expr(session::Column::UpdatedAt, Expr::value(now))
            .filter(session::Column::Status.is_in(active))
            .exec(&self.db)
            .await?;
        Ok(result.rows_affected)
    }

    /// At shutdown: stops every running session (SIGKILL after `grace`) and records their end.
    pub async fn stop_all_sessions(&self, grace: Duration) {
        let runs = self.runtime.all();
        let stops = runs.iter().map(|run| self.stop_run(run, grace));
        for result in futures_util::future::join_all(stops).await {
            if let Err(err) = result {
                tracing::error!(%err, "a session did not stop");
            }
        }
    }

    /// The session's output (its live run's, or its log on disk).
    pub fn session_output(&self, id: &str) -> ServiceResult<Arc<Output>> {
        if let Some(run) = self.runtime.get(id) {
            return Ok(Arc::clone(&run.output));
        }
        Output::open(&self.runtime.session_dir(id).join("output.log"))
            .map(Arc::new)
            .map_err(|e| ServiceError::Unavailable(format!("cannot read the session log: {e}")))
    }

    pub fn session_run(&self, id: &str) -> Option<Arc<Run>> {
        self.runtime.get(id)
    }
}

/// The argv of a profile, with the prompt handed over as it says.
fn profile_argv(profile: &agent_profile::Model, prompt: Option<String>) -> (Vec<String>, Watch) {
    let mode = PromptMode::parse(&profile.prompt_mode).unwrap_or(PromptMode::None);
    let args: Vec<String> = from_text("agent_profile.args", &profile.args);
    let mut argv = vec![resolve_program(&profile.program)];
    let placeholder = args.iter().any(|a| a.contains("{prompt}"));
    match (&prompt, mode) {
        (Some(p), PromptMode::Argument) if placeholder => {
            argv.extend(args.iter().map(|a| a.replace("{prompt}", p)));
        }
        (Some(p), PromptMode::Argument) => {
            argv.extend(args);
            argv.push(p.clone());
        }
        _ => argv.extend(args.into_iter().filter(|a| !a.contains("{prompt}"))),
    }
    let watch = Watch {
        quiet_ms: u32::try_from(profile.quiet_ms).unwrap_or(DEFAULT_QUIET_MS),
        pattern: profile
            .wait_pattern
            .as_deref()
            .and_then(|p| Regex::new(p).ok()),
        typed_prompt: prompt.filter(|_| mode == PromptMode::Type),
    };
    (argv, watch)
}

/// Writes a file only its owner can read, creating its folder.
pub(super) fn write_private(path: &std::path::Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    #[cfg(unix)]
    use std::os::unix::fs::OpenOptionsExt;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    options.mode(0o600);
    options.open(path)?.write_all(contents.as_bytes())
}

/// The bounds of a terminal's size, in cells, for a new session and for every resize.
const TERMINAL_CELLS: std::ops::RangeInclusive<u16> = 2..=1000;

fn check_size(field: &str, value: Option<u16>, default: u16) -> ServiceResult<u16> {
    match value {
        None => Ok(default),
        Some(n) if TERMINAL_CELLS.contains(&n) => Ok(n),
        Some(_) => Err(ServiceError::invalid(field, "must be from 2 to 1000")),
    }
}

/// A resize's size, checked like a new session's.
pub(super) fn checked_size(cols: u16, rows: u16) -> ServiceResult<Size> {
    Ok(Size {
        cols: check_size("cols", Some(cols), cols)?,
        rows: check_size("rows", Some(rows), rows)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::json::to_text;

    fn profile(args: &[&str], mode: PromptMode) -> agent_profile::Model {
        agent_profile::Model {
            id: "p".into(),
            name: "p".into(),
            program: "agent".into(),
            args: to_text(&args),
            env: "{}".into(),
            prompt_mode: mode.as_str().into(),
            builtin: false,
            wait_pattern: Some(r"\$ $".into()),
            quiet_ms: 700,
            mcp: "none".into(),
            created_at: 0,
            updated_at: 0,
        }
    }

    #[test]
    fn prompts_are_handed_over_as_the_profile_says() {
        let p = Some("fix the bug".to_owned());
        let (argv, w) = profile_argv(&profile(&["--yes"], PromptMode::Argument), p.clone());
        assert_eq!(argv, ["agent", "--yes", "fix the bug"]);
        assert!(w.typed_prompt.is_none());
        let (argv, _) = profile_argv(
            &profile(&["-m", "{prompt}", "-v"], PromptMode::Argument),
            p.clone(),
        );
        assert_eq!(argv, ["agent", "-m", "fix the bug", "-v"]);
        let (argv, w) = profile_argv(&profile(&["-v"], PromptMode::Type), p.clone());
        assert_eq!(
            (argv, w.typed_prompt),
            (vec!["agent".to_owned(), "-v".to_owned()], p.clone())
        );
        let (argv, w) = profile_argv(&profile(&["{prompt}"], PromptMode::None), p);
        assert_eq!((argv, w.typed_prompt), (vec!["agent".to_owned()], None));
        assert_eq!(w.quiet_ms, 700);
        assert!(w.pattern.unwrap().is_match("~/src $ "));
    }
}
