//! Running agents: starting a session's process, watching it (activity and exit), stopping,
//! restarting, and the two moments Baton itself starts or stops.
//!
//! A run's end is recorded by its supervisor task: status (`completed` for exit 0, `failed` for
//! anything else or a signal, `stopped` when Baton was asked to stop it), exit code, signal, end
//! time; then its token is revoked and `session:updated` is published.

mod ending;
pub(crate) mod launch;
pub mod machine;
pub(super) mod records;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set, TransactionTrait};
use serde_json::json;
use tokio::time::Instant;

use super::error::{ServiceError, ServiceResult};
use super::handover;
use super::runtime::{Run, RunInfo};
use super::signals::{claude, codex, gemini, hooks};
use super::{agents, mcp_config, views, Actor, Service};
use crate::clock::now_ms;
use crate::events::Event;
use crate::model::{
    Activity, EndReason, McpStyle, NewSession, Session, SessionStatus, SignalStyle, StopSession,
    APPROVAL_WAIT_VAR,
};
use crate::pty::{find_program, Exit, Output, PtyError, Size, SpawnRequest};
use crate::security::Grant;
use crate::store::entity::{agent_profile, project, run, session};
use crate::store::json::from_text;
pub(super) use ending::Ends;
pub(super) use launch::{baton_env, default_cwd, profile_argv, Launch, Stored, Watch};
use machine::{Effect, Input, Machine};

pub const DEFAULT_SIZE: Size = Size {
    cols: 120,
    rows: 32,
};
pub const DEFAULT_GRACE: Duration = Duration::from_secs(5);
/// The longest grace period a caller may ask for.
pub const MAX_GRACE_MS: u64 = 600_000;
/// How many lines of a waiting agent's screen make its question.
pub(super) const QUESTION_LINES: usize = 3;

/// A process that is running but not yet supervised. Dropped without [`Unsupervised::hand_over`]
/// — any error between the spawn and the supervisor taking it — it is killed and its token
/// revoked: no process runs unwatched, and no token outlives its process.
///
/// Until then its session is *starting*: requests made with its token wait (see
/// [`crate::security::Starting`]); they go on once the supervisor has it, or once it was killed
/// and its token revoked.
pub(super) struct Unsupervised<'a> {
    service: &'a Service,
    run: Option<Arc<Run>>,
    starting: Option<crate::security::Starting>,
}

impl Unsupervised<'_> {
    pub fn run(&self) -> &Arc<Run> {
        self.run.as_ref().expect("present until handed over")
    }

    /// The supervisor takes it: from now on, its end is recorded.
    fn hand_over(mut self) -> (Arc<Run>, Option<crate::security::Starting>) {
        let run = self.run.take().expect("handed over once");
        (run, self.starting.take())
    }
}

impl Drop for Unsupervised<'_> {
    fn drop(&mut self) {
        if let Some(run) = self.run.take() {
            self.service.runtime.tokens.revoke(&run.session_id);
            if let Err(err) = run.terminal.signal(libc::SIGKILL) {
                tracing::warn!(%err, session = run.session_id, "cannot kill an unsupervised process");
            }
            tracing::warn!(
                session = run.session_id,
                "a started process was killed: its start could not be recorded"
            );
        }
    }
}

/// What a launch is planned from besides the session's input.
pub(super) struct LaunchFrom {
    /// The first task's prompt.
    pub prompt: Option<String>,
    /// The task's own worktree.
    pub workspace: Option<PathBuf>,
    /// The agent profile, when the caller read it already.
    pub profile: Option<agent_profile::Model>,
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
        from: LaunchFrom,
    ) -> ServiceResult<Option<Launch>> {
        let LaunchFrom {
            prompt,
            workspace,
            profile: known_profile,
        } = from;
        let mut signals = None;
        let mut prompt_at = None;
        let (argv, profile_env, watch, field, mcp, exit_means_done) =
            match (&input.command, &input.agent_id) {
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
                        false,
                    )
                }
                (None, Some(agent_id)) => {
                    let profile = match known_profile.filter(|p| p.id == *agent_id) {
                        Some(row) => row,
                        None => {
                            super::lookup::as_field(self.profile_row(agent_id).await, "agentId")?
                        }
                    };
                    prompt_at = launch::prompt_position(&profile, prompt.as_deref());
                    signals = SignalStyle::parse(&profile.signals)
                        .map(|style| (style, u32::try_from(profile.approval_wait_ms).unwrap_or(0)));
                    let (argv, watch) = profile_argv(&profile, prompt);
                    (
                        argv,
                        from_text("agent_profile.env", &profile.env),
                        watch,
                        "agentId",
                        McpStyle::parse(&profile.mcp).unwrap_or(McpStyle::None),
                        profile.exit_means_done,
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
        let cwd = match (&input.cwd, workspace, &project.base_path) {
            (Some(cwd), _, _) => {
                let path = PathBuf::from(cwd);
                if !path.is_absolute() || !path.is_dir() {
                    return Err(ServiceError::invalid(
                        "cwd",
                        "must be an existing absolute folder",
                    ));
                }
                path
            }
            (None, Some(worktree), _) => worktree,
            (None, None, Some(base)) => PathBuf::from(base),
            (None, None, None) => default_cwd(),
        };
        let extra = input.env.clone().unwrap_or_default();
        agents::check_env("env", &extra)?;
        let size = Size {
            cols: check_size("cols", input.cols, DEFAULT_SIZE.cols)?,
            rows: check_size("rows", input.rows, DEFAULT_SIZE.rows)?,
        };
        let mut env = profile_env;
        env.extend(extra);
        let (argv, mut settings_file) = match (&self.runtime.cli, input.mcp.unwrap_or(true)) {
            (Some(cli), true) if mcp != McpStyle::None => {
                let setup =
                    mcp_config::configure(mcp, cli, argv, &self.runtime.session_dir(session_id));
                env.extend(setup.env);
                (setup.argv, setup.file)
            }
            _ => (argv, None),
        };
        // The agent's hooks report to Baton, and its conversation gets an id Baton chose.
        let (argv, conversation) = match (signals, &self.runtime.cli) {
            (Some((SignalStyle::Gemini, _)), Some(cli)) => {
                let conversation = uuid::Uuid::now_v7().to_string();
                let path = self
                    .runtime
                    .session_dir(session_id)
                    .join("gemini-settings.json");
                // Beside Baton's MCP server when that went into the same file.
                let base = settings_file
                    .take()
                    .filter(|(p, _)| *p == path)
                    .and_then(|(_, text)| serde_json::from_str(&text).ok())
                    .unwrap_or(serde_json::Value::Null);
                let settings = gemini::settings(cli, base);
                settings_file = Some((path.clone(), format!("{settings:#}\n")));
                env.insert(
                    "GEMINI_CLI_SYSTEM_SETTINGS_PATH".into(),
                    path.display().to_string(),
                );
                prompt_at = prompt_at.map(|at| at + 2);
                (gemini::argv(argv, &conversation), Some(conversation))
            }
            (Some((SignalStyle::Codex, _)), Some(cli)) => {
                prompt_at = prompt_at.map(|at| at + 2);
                (codex::with_notify(argv, cli), None)
            }
            (Some((SignalStyle::Claude, wait_ms)), Some(cli)) => {
                let conversation = uuid::Uuid::now_v7().to_string();
                let file = self
                    .runtime
                    .session_dir(session_id)
                    .join("claude-settings.json");
                let settings = claude::settings(cli, wait_ms);
                write_private(&file, &settings.to_string()).map_err(|e| {
                    ServiceError::Unavailable(format!(
                        "cannot write the agent's hook settings: {e}"
                    ))
                })?;
                env.insert(APPROVAL_WAIT_VAR.into(), wait_ms.to_string());
                prompt_at = prompt_at.map(|at| at + 4);
                let argv = claude::argv(argv, &file, claude::Conversation::Start(&conversation));
                (argv, Some(conversation))
            }
            _ => (argv, None),
        };
        if let Some((path, contents)) = &settings_file {
            write_private(path, contents).map_err(|e| {
                ServiceError::Unavailable(format!("cannot write the agent's settings: {e}"))
            })?;
        }
        baton_env(&mut env, &self.api_url, &project.id, session_id, task_ids);
        Ok(Some(Launch {
            argv,
            cwd,
            env,
            size,
            watch,
            exit_means_done,
            prompt_at,
            conversation,
        }))
    }

    /// The session's log, opened for a new run (a restart continues it).
    pub(super) fn open_output(&self, session_id: &str) -> ServiceResult<Arc<Output>> {
        Output::open(&self.runtime.session_dir(session_id).join("output.log"))
            .map(Arc::new)
            .map_err(|e| ServiceError::Unavailable(format!("cannot open the session log: {e}")))
    }

    /// Starts `launch` for `session_id` with a fresh session token. The process is not yet
    /// supervised: hand it over once its start is recorded (see [`Unsupervised`]).
    pub(super) async fn start_process(
        &self,
        session_id: &str,
        project_id: &str,
        launch: &Launch,
        output: Arc<Output>,
        info: RunInfo,
    ) -> ServiceResult<Unsupervised<'_>> {
        let rt = &self.runtime;
        let (token, starting) = rt
            .tokens
            .issue_starting(Grant {
                session_id: session_id.to_owned(),
                project_id: project_id.to_owned(),
            })
            .map_err(|e| ServiceError::Unavailable(format!("cannot make a session token: {e}")))?;
        let mut env = launch::server_env().clone();
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
        // A spawn blocks (the PTY, its threads, the child): not on the runtime's workers, so
        // that the other starts of a queue round go on meanwhile.
        let host = Arc::clone(&rt.host);
        let for_host = Arc::clone(&output);
        let spawned = tokio::task::spawn_blocking(move || host.spawn(request, for_host))
            .await
            .unwrap_or_else(|e| Err(PtyError::Open(format!("the spawn did not finish: {e}"))));
        match spawned {
            Ok(terminal) => Ok(Unsupervised {
                service: self,
                run: Some(Arc::new(Run::new(
                    session_id, project_id, info, terminal, output,
                ))),
                starting: Some(starting),
            }),
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

    /// Registers `run` and watches it until it ends, performing what its state machine
    /// ([`machine`]) decides: activity, the typed prompt, stopping, recording the end. Woken by
    /// output, its timers, a stop or the exit — never by polling.
    pub(super) fn supervise(&self, started: Unsupervised<'_>, launch: &Launch) {
        let (run, starting) = started.hand_over();
        self.runtime.insert(Arc::clone(&run));
        // Recorded and watched: the agent's requests go on.
        drop(starting);
        let service = self.clone();
        let watch = launch.watch.clone();
        let exit_means_done = launch.exit_means_done;
        let settings = machine::Settings {
            quiet_ms: i64::from(watch.quiet_ms),
            has_pattern: watch.pattern.is_some(),
            prompt: watch.typed_prompt.is_some(),
        };
        tokio::spawn(async move {
            let mut exited = run.terminal.exited();
            let (_, output) = run.output.subscribe();
            let mut output = Some(output);
            let mut stop = run.stop_asked();
            let mut signals = run.take_signals();
            let mut in_band = run.terminal.screen().states();
            let (mut machine, first) = Machine::start(settings, now_ms());
            let mut timers = Timers::default();
            let mut asked: Vec<String> = Vec::new();
            let mut pending = first;
            // What it printed before this watch began (between the spawn and now).
            if run.output.end() > run.first_byte {
                let at = run.output.last_output_ms().max(1);
                pending.extend(machine.step(Input::Output { at, redraw: false }));
            }
            let mut ended = None;
            loop {
                for effect in std::mem::take(&mut pending) {
                    match effect {
                        Effect::Record {
                            reason,
                            code,
                            signal,
                        } => ended = Some((reason, Exit { code, signal })),
                        other => {
                            service
                                .perform(&run, &watch, other, &mut timers, &mut asked)
                                .await
                        }
                    }
                }
                if ended.is_some() {
                    break;
                }
                let input = tokio::select! {
                    exit = wait_exit(&mut exited) => Input::Exited { code: exit.code, signal: exit.signal },
                    closed = next_output(&mut output) => {
                        if closed {
                            // The log is gone: only the exit is left to wait for.
                            output = None;
                            continue;
                        }
                        let at = now_ms();
                        Input::Output { at, redraw: run.redraw_window().contains(at) }
                    }
                    Some(activity) = next_signal(&mut signals) => Input::Signal(activity),
                    Ok(()) = in_band.changed() => {
                        let state = in_band.borrow_and_update().1.clone().unwrap_or_default();
                        if let Some(activity) = hooks::in_band(&state) {
                            // Reported by the agent itself, as its hooks would.
                            run.signal(activity, None);
                            if state == "done" {
                                service.after_codex_turn(&run);
                            }
                        }
                        continue;
                    }
                    Ok(()) = stop.changed() => {
                        let asked = *stop.borrow_and_update();
                        match asked {
                            Some((reason, grace)) => {
                                timers.grace = grace;
                                Input::Stop(reason)
                            }
                            None => continue,
                        }
                    }
                    _ = sleep_until(timers.quiet) => {
                        timers.quiet = None;
                        Input::QuietTimer { at: now_ms() }
                    }
                    _ = sleep_until(timers.screen) => {
                        timers.screen = None;
                        let screen = handover::screen_text(&run.terminal.screen().text());
                        let shown = watch.pattern.as_ref().is_some_and(|p| p.is_match(&screen));
                        Input::Screen { at: now_ms(), pattern_shown: shown }
                    }
                    _ = sleep_until(timers.kill) => {
                        timers.kill = None;
                        Input::GraceExpired
                    }
                };
                pending = machine.step(input);
            }
            let (reason, exit) = ended.unwrap_or((
                EndReason::Exited,
                Exit {
                    code: -1,
                    signal: None,
                },
            ));
            if let Err(err) = service
                .finish_run(&run, &exit, reason, exit_means_done)
                .await
            {
                tracing::error!(%err, session = run.session_id, "cannot record the end of a run");
            }
            // Recorded or not, this run is over.
            service.runtime.remove(&run);
            run.mark_done();
        });
    }

    /// Carries out one effect of the run's state machine.
    async fn perform(
        &self,
        run: &Arc<Run>,
        watch: &Watch,
        effect: Effect,
        timers: &mut Timers,
        asked: &mut Vec<String>,
    ) {
        let at = |ms: i64| Instant::now() + Duration::from_millis((ms - now_ms()).max(0) as u64);
        match effect {
            Effect::QuietTimer(ms) => timers.quiet = Some(at(ms)),
            Effect::ReadScreen(ms) => timers.screen = Some(at(ms)),
            Effect::Publish(activity) => {
                // A waiting agent that printed is published again only with a new question
                // (or, from its hooks, a new permission asked).
                let mut question = run.terminal.screen().last_lines(QUESTION_LINES);
                if let Some(p) = run
                    .permission()
                    .filter(|_| activity == Activity::WaitingPermission)
                {
                    question.extend(p.action_id);
                }
                if activity == run.activity() && question == *asked {
                    return;
                }
                *asked = question;
                run.set_activity(activity);
                if let Err(err) = self.record_activity(run, activity).await {
                    tracing::warn!(%err, session = run.session_id, "cannot record activity");
                }
            }
            Effect::HoldPrompt(why) => self.note_status(run, why).await,
            Effect::TypePrompt => {
                let prompt = watch.typed_prompt.clone().unwrap_or_default();
                let terminal = Arc::clone(&run.terminal);
                let wrote =
                    tokio::task::spawn_blocking(move || type_prompt(terminal.as_ref(), &prompt))
                        .await;
                if !matches!(wrote, Ok(Ok(()))) {
                    tracing::warn!(session = run.session_id, "could not type the prompt");
                }
            }
            Effect::Terminate => {
                for signal in [libc::SIGHUP, libc::SIGTERM] {
                    if let Err(err) = run.terminal.signal(signal) {
                        tracing::debug!(%err, "signal after exit");
                    }
                }
                timers.kill = Some(Instant::now() + timers.grace);
            }
            Effect::Kill => {
                tracing::info!(session = run.session_id, "did not stop in time; killing it");
                if let Err(err) = run.terminal.signal(libc::SIGKILL) {
                    tracing::debug!(%err, "kill after exit");
                }
            }
            Effect::Record { .. } => {}
        }
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

    /// The session's status follows its activity (running or waiting) while it is active; one
    /// update, and the links read for the event.
    async fn record_activity(&self, run: &Run, activity: Activity) -> ServiceResult<()> {
        let status = if activity.is_waiting() {
            SessionStatus::Waiting
        } else {
            SessionStatus::Running
        };
        let _lock = self.write_lock().await;
        let mut update = session::Entity::update_many()
            .col_expr(session::Column::Status, Expr::value(status.as_str()))
            .col_expr(session::Column::UpdatedAt, Expr::value(now_ms()));
        let last = run.output.last_output_ms();
        if last > 0 {
            update = update.col_expr(session::Column::LastActivity, Expr::value(last));
        }
        let updated = update
            .filter(session::Column::Id.eq(run.session_id.as_str()))
            .filter(session::Column::Status.is_in(SessionStatus::active_names()))
            .exec_with_returning(&self.db)
            .await?;
        let Some(row) = updated.into_iter().next() else {
            return Ok(());
        };
        let task_ids = views::tasks_of_session(&self.db, &run.session_id).await?;
        let session = views::session_with(&self.runtime, row, task_ids);
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
        self.stop_run(&run, EndReason::Stopped, grace).await?;
        views::session_by_id(&self.db, &self.runtime, id).await
    }

    /// Asks the run's supervisor to stop it for `reason`, and waits until its end is recorded.
    pub(super) async fn stop_run(
        &self,
        run: &Run,
        reason: EndReason,
        grace: Duration,
    ) -> ServiceResult<()> {
        let mut done = run.done();
        run.request_stop(reason, grace);
        let ended = tokio::time::timeout(grace + Duration::from_secs(10), done.wait_for(|d| *d))
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

    /// The launch spec a session stored, ready for its next run: secrets put back, the Baton
    /// variables made afresh.
    pub(super) async fn launch_again(&self, row: &session::Model) -> ServiceResult<Launch> {
        let mut argv: Vec<String> = from_text("session.command", &row.command);
        if argv.is_empty() {
            return Err(ServiceError::conflict(
                "no_command",
                format!("session '{}' is a record with no command to run", row.id),
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
        let mut env: BTreeMap<String, String> = from_text("session.env", &row.env);
        super::secret_env::restore(&self.runtime.session_dir(&row.id), &mut env, &mut argv)?;
        // The tasks linked now, in the order the session shows them.
        let task_ids = views::tasks_of_session(&self.db, &row.id).await?;
        baton_env(&mut env, &self.api_url, &row.project_id, &row.id, &task_ids);
        let stored = row
            .launch
            .as_deref()
            .and_then(|text| serde_json::from_str::<Stored>(text).ok());
        Ok(Launch::again(
            argv,
            row.cwd.as_deref(),
            env,
            stored,
            profile.as_ref(),
        ))
    }

    /// Starts the session's command again as a new run (stopping the current one first), keeping
    /// its output. 409 for a session with no command (a record only).
    pub async fn restart_session(&self, id: &str, actor: &Actor) -> ServiceResult<Session> {
        self.restart_session_for(id, actor, None, false)
            .await
            .map(|(session, _)| session)
    }

    /// Continues a stopped or interrupted session's conversation (Claude's `--resume <id>`)
    /// as a new run of the same session. 409 while it runs, or when the agent has no
    /// conversation id Baton knows.
    pub async fn resume_session(&self, id: &str, actor: &Actor) -> ServiceResult<Session> {
        let row = super::lookup::session(&self.db, id).await?;
        actor.may_write(&row.project_id)?;
        if self.runtime.get(id).is_some() {
            return Err(ServiceError::conflict(
                "running",
                format!("session '{id}' is running: stop it first, or type into it"),
                json!({ "status": row.status }),
            ));
        }
        if row.conversation_id.is_none() {
            return Err(ServiceError::conflict(
                "no_conversation",
                format!("session '{id}' has no conversation to resume (its agent reported none)"),
                json!({}),
            ));
        }
        self.restart_session_for(id, actor, None, true)
            .await
            .map(|(session, _)| session)
    }

    /// Restarts session `id` as a new run, for a task's attempt when the queue asks; with
    /// `resume`, into the same conversation of its agent.
    pub(super) async fn restart_session_for(
        &self,
        id: &str,
        actor: &Actor,
        task: Option<(&str, u32)>,
        resume: bool,
    ) -> ServiceResult<(Session, crate::model::Run)> {
        let row = super::lookup::session(&self.db, id).await?;
        actor.may_write(&row.project_id)?;
        if let Some(run) = self.runtime.get(id) {
            self.stop_run(&run, EndReason::Stopped, DEFAULT_GRACE)
                .await?;
        }
        let _lock = self.write_lock().await;
        // Ends of runs whose slot this run may take go first (see `record_waiting_ends`).
        self.record_waiting_ends().await;
        let row = super::lookup::session(&self.db, id).await?;
        let mut launch = self.launch_again(&row).await?;
        if resume {
            let conversation = row.conversation_id.clone().unwrap_or_default();
            let style = match &row.agent_id {
                Some(agent) => agent_profile::Entity::find_by_id(agent.clone())
                    .one(&self.db)
                    .await?
                    .and_then(|p| SignalStyle::parse(&p.signals)),
                None => None,
            };
            let argv = std::mem::take(&mut launch.argv);
            launch.argv = match style {
                Some(SignalStyle::Codex) => Some(launch::codex_resumed(argv, launch.prompt_at, &conversation)),
                Some(SignalStyle::Claude | SignalStyle::Gemini) => launch::resumed(argv, launch.prompt_at, &conversation),
                _ => None,
            }
            .ok_or_else(|| {
                ServiceError::conflict(
                    "no_conversation",
                    format!("session '{id}' has no agent Baton knows how to resume (Claude Code, Codex CLI or Gemini CLI)"),
                    json!({}),
                )
            })?;
            launch.prompt_at = None;
        }
        let output = self.open_output(id)?;
        let txn = self.db.begin().await?;
        // The run's row first, then the process, then the session's row: a failure anywhere
        // rolls the rows back and kills the process (see `Unsupervised`).
        let opened = records::open(
            &txn,
            records::Opening {
                id: super::ids::new_id("run"),
                session_id: id,
                task_id: task.map(|(t, _)| t),
                attempt: task.map(|(_, a)| a),
                log_start: output.end(),
                started_at: now_ms(),
                first: false,
            },
        )
        .await?;
        let info = RunInfo {
            started_at: opened.started_at,
            run_id: opened.id.clone(),
            log_start: opened.log_start.max(0) as u64,
            number: opened.number as u32,
            task_id: opened.task_id.clone(),
            attempt: task.map(|(_, a)| a),
        };
        let started = self
            .start_process(id, &row.project_id, &launch, output, info)
            .await?;
        let now = now_ms();
        let shown = super::secret_env::keep(
            &self.runtime.session_dir(id),
            &launch.env,
            &launch.argv,
            false,
        )?;
        let mut active: session::ActiveModel = row.into();
        active.status = Set(SessionStatus::Running.as_str().to_owned());
        active.env = Set(crate::store::json::to_text(&shown.env));
        active.command = Set(crate::store::json::to_text(&shown.argv));
        active.launch = Set(Some(crate::store::json::to_text(&launch.stored())));
        active.pid = Set(Some(started.run().terminal.pid() as i32));
        active.exit_code = Set(None);
        active.signal = Set(None);
        active.status_text = Set(None);
        active.started_at = Set(Some(now));
        active.last_activity = Set(Some(now));
        active.completed_at = Set(None);
        active.updated_at = Set(now);
        active.update(&txn).await?;
        let mut events = Vec::new();
        if let Some((task_id, _)) = task {
            let (task, execution) = self.mark_started(&txn, task_id, id).await?;
            events.push(Event::TaskUpdated(
                views::task_with(&txn, task, execution).await?,
            ));
        }
        txn.commit().await?;
        self.supervise(started, &launch);
        let session = views::session_by_id(&self.db, &self.runtime, id).await?;
        let run = records::view(opened, &session.project_id);
        events.insert(0, Event::SessionUpdated(session.clone()));
        events.insert(1, Event::RunStarted(run.clone()));
        self.publish_all(events);
        Ok((session, run))
    }

    /// At start: sessions still marked active belong to a Baton that went away. They become
    /// `interrupted`, once (an interrupted session is no longer active), and their open runs
    /// end as `interrupted` where their log ends.
    pub async fn mark_interrupted(&self) -> ServiceResult<u64> {
        let open = run::Entity::find()
            .filter(run::Column::EndedAt.is_null())
            .all(&self.db)
            .await?;
        for row in open {
            let log_end =
                std::fs::metadata(self.runtime.session_dir(&row.session_id).join("output.log"))
                    .map(|m| m.len())
                    .unwrap_or(row.log_start.max(0) as u64);
            let closing = records::Closing {
                reason: EndReason::Interrupted,
                code: None,
                signal: None,
                log_end,
            };
            records::close(&self.db, &row.id, &closing, now_ms()).await?;
        }
        let now = now_ms();
        let result = session::Entity::update_many()
            .col_expr(
                session::Column::Status,
                Expr::value(SessionStatus::Interrupted.as_str()),
            )
            .col_expr(session::Column::CompletedAt, Expr::value(now))
            .col_expr(session::Column::UpdatedAt, Expr::value(now))
            .filter(session::Column::Status.is_in(SessionStatus::active_names()))
            .exec(&self.db)
            .await?;
        Ok(result.rows_affected)
    }

    /// At shutdown: stops every running session (SIGKILL after `grace`) and records their end
    /// as `interrupted`; the queue starts their tasks again at the next start.
    pub async fn stop_all_sessions(&self, grace: Duration) {
        self.queue_shutting_down();
        let runs = self.runtime.all();
        let stops = runs
            .iter()
            .map(|run| self.stop_run(run, EndReason::Interrupted, grace));
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

/// The supervisor's timers: each fires once, when armed.
#[derive(Default)]
struct Timers {
    quiet: Option<Instant>,
    screen: Option<Instant>,
    kill: Option<Instant>,
    /// The grace of the stop asked, for the kill timer.
    grace: Duration,
}

/// The next chunk of output (true: the log is closed); forever once there is none.
async fn next_output(
    output: &mut Option<tokio::sync::broadcast::Receiver<crate::pty::Chunk>>,
) -> bool {
    match output {
        Some(rx) => matches!(
            rx.recv().await,
            Err(tokio::sync::broadcast::error::RecvError::Closed)
        ),
        None => std::future::pending().await,
    }
}

/// The process's exit, once it is known.
/// The next activity the agent's hooks reported; never resolves once there are none to come.
async fn next_signal(
    signals: &mut Option<tokio::sync::mpsc::UnboundedReceiver<Activity>>,
) -> Option<Activity> {
    match signals {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

async fn wait_exit(exited: &mut tokio::sync::watch::Receiver<Option<Exit>>) -> Exit {
    let unknown = Exit {
        code: -1,
        signal: None,
    };
    match exited.wait_for(Option::is_some).await {
        Ok(exit) => exit.clone().unwrap_or(unknown),
        Err(_) => unknown,
    }
}

/// Sleeps until `at`, or forever when nothing is armed.
async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
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

/// What is written for `prompt`: as one bracketed paste when the agent asked for those (with any
/// end-of-paste marker inside it taken out, so that the text cannot end the paste early and be
/// read as keys), else as it is.
fn pasted(prompt: &str, bracketed: bool) -> String {
    if bracketed {
        format!("\x1b[200~{}\x1b[201~", prompt.replace("\x1b[201~", ""))
    } else {
        prompt.to_owned()
    }
}

/// How long typing a prompt waits for the agent to show it before pressing Enter.
const ECHO_WAIT: Duration = Duration::from_secs(1);
/// Enter comes at least this long after the prompt: Gemini CLI takes an Enter within 30 ms of
/// the key before it as a new line, not a submission.
const ENTER_GAP: Duration = Duration::from_millis(100);

/// Types `prompt` into an agent's input box and submits it. A program that brackets pastes
/// (`CSI ? 2004 h`: Gemini CLI, Claude Code) gets the prompt as one paste, so that its lines stay
/// one prompt; Enter follows as a key of its own once the agent shows the prompt's last line (at
/// most [`ECHO_WAIT`]) and [`ENTER_GAP`] has passed — sent with the text, such an agent takes it
/// as one more line of it.
fn type_prompt(terminal: &dyn crate::pty::Terminal, prompt: &str) -> Result<(), PtyError> {
    let screen = terminal.screen();
    terminal.write(pasted(prompt, screen.bracketed_paste()).as_bytes())?;
    let last: String = {
        let line = prompt
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("");
        let chars: Vec<char> = line.trim().chars().collect();
        chars[chars.len().saturating_sub(20)..].iter().collect()
    };
    let typed = std::time::Instant::now();
    let until = typed + ECHO_WAIT;
    while !last.is_empty() && std::time::Instant::now() < until && !screen.text().contains(&last) {
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(ENTER_GAP.saturating_sub(typed.elapsed()));
    terminal.write(b"\r")
}

#[cfg(test)]
mod tests {
    use super::pasted;

    #[test]
    fn a_prompt_is_one_paste_that_cannot_end_itself_early() {
        assert_eq!(pasted("fix it", false), "fix it");
        assert_eq!(pasted("a\nb", true), "\x1b[200~a\nb\x1b[201~");
        assert_eq!(
            pasted("x\x1b[201~\rrm -rf /\r", true),
            "\x1b[200~x\rrm -rf /\r\x1b[201~"
        );
    }
}
