//! Signals: what an agent says besides its output. Its hook events (posted by `baton hook
//! <event>` with the session's token) become its activity — fed to the run's state machine,
//! where a signal wins over the output heuristic — and its permission requests become pending
//! actions the person allows or denies from Baton, answered to the agent as the hook's output.
//! Its transcript is read after each turn into usage rows, priced by [`prices`].
//!
//! The pure parts: [`hooks`] (what an event means), [`claude`] (the settings file and argv),
//! [`transcript`] (usage lines), [`prices`] (the price table).

pub mod budget;
pub mod claude;
pub mod codex;
pub mod gemini;
pub mod hooks;
pub mod prices;
pub mod transcript;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, Set, TransactionTrait,
};
use serde_json::{json, Value};

use super::access::{Admin, Operation, Target};
use super::error::{ServiceError, ServiceResult};
use super::runtime::Run;
use super::{ids, lookup, views, Actor, Service};
use crate::clock::now_ms;
use crate::events::Event;
use crate::model::{
    ActionStatus, Activity, DecideAction, Decision, HookAnswer, HookEvent, ModelUsage,
    PermissionAsked, PriceTable, SessionAction, SetPrices, Usage, APPROVAL_WAIT_VAR,
};
use crate::store::entity::{session, session_action, session_task, usage_record};

/// The most of a transcript read at once (a long one is read over several turns).
const TRANSCRIPT_CHUNK: u64 = 8 * 1024 * 1024;
/// When a transcript is read after a hook names it: at once, and twice more shortly after.
const TRANSCRIPT_READS: [Duration; 3] = [
    Duration::ZERO,
    Duration::from_millis(500),
    Duration::from_millis(2000),
];
/// How long an agent that hit its usage limit without saying when it resets is held back.
const UNKNOWN_RESET_MS: i64 = 60_000;
/// How long after a reset Baton continues a session (the provider's clock may be behind).
const RESUME_MARGIN_MS: u64 = 5_000;
/// The longest event name.
const MAX_EVENT: usize = 64;

fn action_view(row: session_action::Model) -> SessionAction {
    SessionAction {
        input: serde_json::from_str(&row.input).unwrap_or(Value::Null),
        status: ActionStatus::parse(&row.status).unwrap_or(ActionStatus::Expired),
        id: row.id,
        session_id: row.session_id,
        project_id: row.project_id,
        kind: row.kind,
        tool: row.tool,
        summary: row.summary,
        reason: row.reason,
        decided_by: row.decided_by,
        created_at: row.created_at,
        decided_at: row.decided_at,
    }
}

/// Who decided, as recorded on the action.
fn decider(actor: &Actor) -> &'static str {
    match actor {
        Actor::Desktop => "desktop",
        Actor::Session { .. } => "agent",
        Actor::User | Actor::System => "user",
    }
}

/// What the permission hook prints for `decision`: Claude Code's `PermissionRequest` answer.
pub fn permission_answer(decision: Decision, reason: Option<&str>) -> Value {
    let mut decided = json!({
        "behavior": match decision {
            Decision::Allow => "allow",
            Decision::Deny => "deny",
        }
    });
    if decision == Decision::Deny {
        decided["message"] = json!(reason.unwrap_or("Denied from Baton."));
    }
    json!({ "hookSpecificOutput": { "hookEventName": "PermissionRequest", "decision": decided } })
}

impl Service {
    /// One hook event of session `id`'s agent: its activity goes to the run's state machine, a
    /// permission request becomes a pending action (waited for, when the profile says so), and
    /// the transcript is read for usage. Only the session itself (or the person) may post.
    pub async fn session_hook(
        &self,
        id: &str,
        input: HookEvent,
        actor: &Actor,
    ) -> ServiceResult<HookAnswer> {
        let event = input.event.trim();
        if event.is_empty() || event.len() > MAX_EVENT {
            return Err(ServiceError::invalid(
                "event",
                format!("must be an event name of 1 to {MAX_EVENT} characters"),
            ));
        }
        if let Actor::Session { project_id, .. } = actor {
            actor.may_act_as(project_id, id)?;
        }
        // An agent may report the moment it starts, while its start is still being recorded
        // (its process already running, its run not yet watched): the hook waits for the record
        // rather than being lost — a permission asked then would go unseen. (An agent's own
        // requests wait at the API's gate already; this covers any caller.)
        self.runtime.tokens.starting(id).await;
        let row = lookup::session(&self.db, id).await?;
        actor.may_act_as(&row.project_id, id)?;
        let payload = input.payload.map_or(Value::Null, Value::Object);
        let meaning = hooks::meaning(event, &payload);
        tracing::debug!(session = id, event, "hook event");
        if let Some(conversation) = &meaning.conversation {
            self.note_conversation(&row, conversation).await?;
        }
        if meaning.settles_pending {
            self.settle_pending(id).await?;
        }
        if let Some(reset) = meaning.limit {
            self.note_limit(id, reset).await?;
        }
        if let Some(path) = meaning.transcript.clone() {
            let service = self.clone();
            let (session, project) = (row.id.clone(), row.project_id.clone());
            // Off the hook's path: the agent never waits for its usage to be counted. The agent
            // writes its transcript as it goes, so the last message of a turn may land just
            // after the hook: read again shortly after.
            tokio::spawn(async move {
                for delay in TRANSCRIPT_READS {
                    tokio::time::sleep(delay).await;
                    if let Err(err) = service.read_transcript(&session, &project, &path).await {
                        tracing::warn!(%err, session, "cannot read the agent's transcript");
                    }
                }
            });
        }
        let run = self.runtime.get(id);
        let Some((tool, summary)) = meaning.permission else {
            // A permission asked in the agent's terminal only: shown, not decided here.
            let asked = meaning.asks.map(|(tool, summary)| PermissionAsked {
                action_id: None,
                tool,
                summary,
            });
            if let (Some(run), Some(activity)) = (&run, meaning.activity) {
                run.signal(activity, asked);
            }
            return Ok(HookAnswer::default());
        };
        let input = payload.get("tool_input").cloned().unwrap_or(Value::Null);
        let action = self.request_action(&row, &tool, &summary, &input).await?;
        let Some(run) = run else {
            return Ok(HookAnswer::default());
        };
        run.signal(
            Activity::WaitingPermission,
            Some(PermissionAsked {
                action_id: Some(action.id.clone()),
                tool,
                summary,
            }),
        );
        self.await_decision(&action.id, approval_wait_ms(&row))
            .await
    }

    /// Waits (as long as the session's profile says) for the person to decide `action_id`; no
    /// decision in time is no answer: the agent's own prompt decides.
    async fn await_decision(&self, action_id: &str, wait_ms: u64) -> ServiceResult<HookAnswer> {
        if wait_ms == 0 {
            return Ok(HookAnswer::default());
        }
        let mut decided = {
            let (tx, rx) = tokio::sync::watch::channel(None);
            self.runtime
                .approvals
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert(action_id.to_owned(), tx);
            rx
        };
        let waited = tokio::time::timeout(
            Duration::from_millis(wait_ms),
            decided.wait_for(Option::is_some),
        )
        .await;
        self.runtime
            .approvals
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(action_id);
        let answer = match waited {
            Ok(Ok(value)) => value
                .clone()
                .map(|(decision, reason)| permission_answer(decision, reason.as_deref())),
            _ => None,
        };
        Ok(HookAnswer { output: answer })
    }

    /// Session `id`'s agent reached its usage limit, resetting at `reset` (when it said; else
    /// in [`UNKNOWN_RESET_MS`]): the session says so, the queue holds its kind of agent back,
    /// and — when its profile opts in — the session is continued after the reset.
    pub(super) async fn note_limit(&self, id: &str, reset: Option<i64>) -> ServiceResult<()> {
        let until = reset.unwrap_or_else(|| now_ms() + UNKNOWN_RESET_MS);
        let row = {
            let _lock = self.write_lock().await;
            let row = lookup::session(&self.db, id).await?;
            let mut active: session::ActiveModel = row.clone().into();
            active.limited_until = Set(Some(until));
            active.updated_at = Set(now_ms());
            active.update(&self.db).await?;
            let view = views::session_by_id(&self.db, &self.runtime, id).await?;
            self.publish_all(vec![Event::SessionUpdated(view)]);
            row
        };
        tracing::warn!(session = id, until, "the agent reached its usage limit");
        self.wake_queue();
        let resumes = match &row.agent_id {
            Some(agent) => crate::store::entity::agent_profile::Entity::find_by_id(agent.clone())
                .one(&self.db)
                .await?
                .is_some_and(|p| p.resume_after_limit),
            None => false,
        };
        if resumes {
            let service = self.clone();
            let id = id.to_owned();
            tokio::spawn(async move {
                let wait = (until - now_ms()).max(0) as u64 + RESUME_MARGIN_MS;
                tokio::time::sleep(Duration::from_millis(wait)).await;
                if let Err(err) = service.continue_after_limit(&id, until).await {
                    tracing::warn!(%err, session = id, "cannot continue after the usage limit");
                }
            });
        }
        Ok(())
    }

    /// The limit of session `id` reset (and no later one was reported): a running agent is told
    /// to continue, a stopped one is resumed.
    async fn continue_after_limit(&self, id: &str, until: i64) -> ServiceResult<()> {
        let row = lookup::session(&self.db, id).await?;
        if row.limited_until != Some(until) {
            return Ok(());
        }
        if self.runtime.get(id).is_some() {
            self.write_terminal(id, b"continue\r".to_vec(), &Actor::System)
                .await
                .map(drop)
        } else {
            self.resume_session(id, &Actor::System).await.map(drop)
        }
    }

    async fn note_conversation(
        &self,
        row: &session::Model,
        conversation: &str,
    ) -> ServiceResult<()> {
        if row.conversation_id.as_deref() == Some(conversation) || conversation.len() > 128 {
            return Ok(());
        }
        let _lock = self.write_lock().await;
        session::Entity::update_many()
            .col_expr(
                session::Column::ConversationId,
                sea_orm::sea_query::Expr::value(conversation.to_owned()),
            )
            .col_expr(
                session::Column::UpdatedAt,
                sea_orm::sea_query::Expr::value(now_ms()),
            )
            .filter(session::Column::Id.eq(row.id.as_str()))
            .exec(&self.db)
            .await?;
        let view = views::session_by_id(&self.db, &self.runtime, &row.id).await?;
        self.publish_all(vec![Event::SessionUpdated(view)]);
        Ok(())
    }

    async fn request_action(
        &self,
        row: &session::Model,
        tool: &str,
        summary: &str,
        input: &Value,
    ) -> ServiceResult<SessionAction> {
        let _lock = self.write_lock().await;
        let created = session_action::ActiveModel {
            id: Set(ids::new_id("act")),
            session_id: Set(row.id.clone()),
            project_id: Set(row.project_id.clone()),
            kind: Set("permission".to_owned()),
            tool: Set(tool.to_owned()),
            summary: Set(summary.to_owned()),
            input: Set(input.to_string()),
            status: Set(ActionStatus::Pending.as_str().to_owned()),
            reason: Set(None),
            decided_by: Set(None),
            created_at: Set(now_ms()),
            decided_at: Set(None),
        }
        .insert(&self.db)
        .await?;
        let action = action_view(created);
        self.publish_all(vec![Event::SessionActionRequested(action.clone())]);
        Ok(action)
    }

    /// Pending actions of `session_id` are over: answered in the terminal, or not asked any more.
    async fn settle_pending(&self, session_id: &str) -> ServiceResult<()> {
        let _lock = self.write_lock().await;
        let txn = self.db.begin().await?;
        let pending = session_action::Entity::find()
            .filter(session_action::Column::SessionId.eq(session_id))
            .filter(session_action::Column::Status.eq(ActionStatus::Pending.as_str()))
            .all(&txn)
            .await?;
        if pending.is_empty() {
            return Ok(());
        }
        let now = now_ms();
        let mut events = Vec::new();
        for row in pending {
            let mut active: session_action::ActiveModel = row.into();
            active.status = Set(ActionStatus::Expired.as_str().to_owned());
            active.decided_by = Set(Some("terminal".to_owned()));
            active.decided_at = Set(Some(now));
            events.push(Event::SessionActionResolved(action_view(
                active.update(&txn).await?,
            )));
        }
        txn.commit().await?;
        self.publish_all(events);
        Ok(())
    }

    /// The session's pending and past actions, newest first.
    pub async fn list_session_actions(
        &self,
        id: &str,
        actor: &Actor,
    ) -> ServiceResult<Vec<SessionAction>> {
        let row = lookup::session(&self.db, id).await?;
        actor.may_read(&row.project_id)?;
        Ok(session_action::Entity::find()
            .filter(session_action::Column::SessionId.eq(id))
            .order_by_desc(session_action::Column::CreatedAt)
            .order_by_desc(session_action::Column::Id)
            .all(&self.db)
            .await?
            .into_iter()
            .map(action_view)
            .collect())
    }

    /// Allows or denies a pending action. The person only: an agent never decides (403).
    pub async fn decide_session_action(
        &self,
        id: &str,
        action_id: &str,
        input: DecideAction,
        actor: &Actor,
    ) -> ServiceResult<SessionAction> {
        actor.may_administer(Admin::Approve)?;
        let reason = input
            .reason
            .as_deref()
            .filter(|r| !r.trim().is_empty())
            .map(|r| super::validate::required_text("reason", r, 2000))
            .transpose()?;
        let resolved = {
            let _lock = self.write_lock().await;
            let row = session_action::Entity::find_by_id(action_id.to_owned())
                .one(&self.db)
                .await?
                .filter(|a| a.session_id == id)
                .ok_or_else(|| ServiceError::not_found("action", action_id))?;
            if ActionStatus::parse(&row.status) != Some(ActionStatus::Pending) {
                return Err(ServiceError::conflict(
                    "not_pending",
                    format!("action '{action_id}' is already {}", row.status),
                    json!({ "status": row.status }),
                ));
            }
            let mut active: session_action::ActiveModel = row.into();
            active.status = Set(match input.decision {
                Decision::Allow => ActionStatus::Allowed,
                Decision::Deny => ActionStatus::Denied,
            }
            .as_str()
            .to_owned());
            active.reason = Set(reason.clone());
            active.decided_by = Set(Some(decider(actor).to_owned()));
            active.decided_at = Set(Some(now_ms()));
            let view = action_view(active.update(&self.db).await?);
            self.publish_all(vec![Event::SessionActionResolved(view.clone())]);
            view
        };
        let waiter = self
            .runtime
            .approvals
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(action_id)
            .cloned();
        if let Some(waiter) = waiter {
            waiter.send_replace(Some((input.decision, reason)));
        }
        if let Some(run) = self.runtime.get(id) {
            run.signal(Activity::Working, None);
        }
        Ok(resolved)
    }

    /// Reads what `path` (the agent's transcript) gained since the last read into usage rows.
    async fn read_transcript(
        &self,
        session_id: &str,
        project_id: &str,
        path: &Path,
    ) -> ServiceResult<()> {
        if !readable_transcript(path) {
            return Ok(());
        }
        // One reader per Baton at a time: offsets move in order.
        let mut offsets = self.runtime.transcripts.lock().await;
        let from = offsets.get(path).copied().unwrap_or(0);
        let chunk = {
            let path = path.to_path_buf();
            tokio::task::spawn_blocking(move || read_from(&path, from))
                .await
                .map_err(|e| ServiceError::Unavailable(e.to_string()))?
        };
        let Ok(chunk) = chunk else {
            return Ok(()); // not written yet
        };
        let (found, used) = transcript::read(&chunk);
        offsets.insert(path.to_path_buf(), from + used as u64);
        drop(offsets);
        self.record_usage(session_id, project_id, found).await
    }

    /// Usage rows for `found` (one per message id: a message read again replaces its row), and
    /// the growth of each counted in `/metrics`.
    async fn record_usage(
        &self,
        session_id: &str,
        project_id: &str,
        found: Vec<transcript::MessageUsage>,
    ) -> ServiceResult<()> {
        if found.is_empty() {
            return Ok(());
        }
        let task_id = self
            .runtime
            .get(session_id)
            .and_then(|r| r.info.task_id.clone());
        let _lock = self.write_lock().await;
        let txn = self.db.begin().await?;
        for usage in found {
            let before =
                usage_record::Entity::find_by_id((session_id.to_owned(), usage.message_id.clone()))
                    .one(&txn)
                    .await?;
            let old = |f: fn(&usage_record::Model) -> i64| before.as_ref().map_or(0, f);
            for (kind, now, was) in [
                ("input", usage.input, old(|r| r.input_tokens)),
                ("output", usage.output, old(|r| r.output_tokens)),
                ("cache_read", usage.cache_read, old(|r| r.cache_read_tokens)),
                (
                    "cache_write",
                    usage.cache_write,
                    old(|r| r.cache_write_tokens),
                ),
            ] {
                self.metrics
                    .tokens(&usage.model, kind, (now - was).max(0) as u64);
            }
            usage_record::Entity::insert(usage_record::ActiveModel {
                session_id: Set(session_id.to_owned()),
                message_id: Set(usage.message_id),
                project_id: Set(project_id.to_owned()),
                task_id: Set(task_id.clone()),
                model: Set(usage.model),
                input_tokens: Set(usage.input),
                output_tokens: Set(usage.output),
                cache_read_tokens: Set(usage.cache_read),
                cache_write_tokens: Set(usage.cache_write),
                created_at: Set(now_ms()),
            })
            .on_conflict(
                OnConflict::columns([
                    usage_record::Column::SessionId,
                    usage_record::Column::MessageId,
                ])
                .update_columns([
                    usage_record::Column::Model,
                    usage_record::Column::InputTokens,
                    usage_record::Column::OutputTokens,
                    usage_record::Column::CacheReadTokens,
                    usage_record::Column::CacheWriteTokens,
                ])
                .to_owned(),
            )
            .exec(&txn)
            .await?;
        }
        txn.commit().await?;
        drop(_lock);
        if let Some(task_id) = &task_id {
            self.check_task_budget(task_id).await?;
        }
        self.check_budget(project_id).await
    }

    /// After a Codex turn (it reported `done` in-band): its rollout file gives the conversation
    /// id and the usage so far. Off the supervisor's path.
    pub(super) fn after_codex_turn(&self, run: &Run) {
        let service = self.clone();
        let (session_id, started) = (run.session_id.clone(), run.started_at_ms());
        tokio::spawn(async move {
            if let Err(err) = service.read_codex_rollout(&session_id, started).await {
                tracing::warn!(%err, session = session_id, "cannot read Codex's rollout");
            }
        });
    }

    async fn read_codex_rollout(&self, session_id: &str, started_ms: i64) -> ServiceResult<()> {
        let row = lookup::session(&self.db, session_id).await?;
        let env: BTreeMap<String, String> = crate::store::json::from_text("session.env", &row.env);
        let home = codex_home(&env);
        let (known, cwd) = (
            row.conversation_id.clone(),
            row.cwd.clone().unwrap_or_default(),
        );
        let found = tokio::task::spawn_blocking(move || {
            find_rollout(&home.join("sessions"), known.as_deref(), &cwd, started_ms)
        })
        .await
        .map_err(|e| ServiceError::Unavailable(e.to_string()))?;
        let Some((path, id)) = found else {
            return Ok(());
        };
        if let Ok(row) = lookup::session(&self.db, session_id).await {
            self.note_conversation(&row, &id).await?;
        }
        let text = tokio::task::spawn_blocking(move || std::fs::read(path))
            .await
            .map_err(|e| ServiceError::Unavailable(e.to_string()))?
            .unwrap_or_default();
        if let Some(reset) = codex::limit_reset(&text).filter(|&t| t > now_ms()) {
            if row.limited_until != Some(reset) {
                self.note_limit(session_id, Some(reset)).await?;
            }
        }
        let usage = codex::usage(&id, &text).into_iter().collect();
        self.record_usage(session_id, &row.project_id, usage).await
    }

    /// A session's token usage and its cost.
    pub async fn session_usage(&self, id: &str, actor: &Actor) -> ServiceResult<Usage> {
        let row = lookup::session(&self.db, id).await?;
        actor.may_read(&row.project_id)?;
        self.usage_where(usage_record::Column::SessionId.eq(id))
            .await
    }

    /// A task's usage: its sessions' (a session on two tasks counts for both).
    pub async fn task_usage(&self, id: &str, actor: &Actor) -> ServiceResult<Usage> {
        let row = lookup::task(&self.db, id).await?;
        actor.may_read(&row.project_id)?;
        let sessions: Vec<String> = session_task::Entity::find()
            .filter(session_task::Column::TaskId.eq(id))
            .all(&self.db)
            .await?
            .into_iter()
            .map(|l| l.session_id)
            .collect();
        self.usage_where(usage_record::Column::SessionId.is_in(sessions))
            .await
    }

    /// A project's usage, optionally since a time (Unix ms).
    pub async fn project_usage(
        &self,
        id: &str,
        since: Option<i64>,
        actor: &Actor,
    ) -> ServiceResult<Usage> {
        actor.may_read(id)?;
        if since.is_some_and(|t| t < 0) {
            return Err(ServiceError::invalid(
                "since",
                "must be a time in Unix ms (0 or more)",
            ));
        }
        lookup::project(&self.db, id).await?;
        let mut filter = sea_orm::Condition::all().add(usage_record::Column::ProjectId.eq(id));
        if let Some(since) = since {
            filter = filter.add(usage_record::Column::CreatedAt.gte(since));
        }
        self.usage_where(filter).await
    }

    /// `GET /api/prices`: the price table in effect, and whether it is Baton's own.
    pub async fn price_table(&self, actor: &Actor) -> ServiceResult<PriceTable> {
        actor.may(Operation::ReadShared, Target::Any)?;
        Ok(self.price_view())
    }

    /// `PUT /api/prices`: replaces the table (kept as `<data-dir>/prices.json`); every usage
    /// read from now on is priced by it.
    pub async fn set_prices(&self, input: SetPrices, actor: &Actor) -> ServiceResult<PriceTable> {
        actor.may_administer(Admin::Prices)?;
        let prices = prices::Prices::checked(input.prices)
            .map_err(|(field, why)| ServiceError::invalid(&field, why))?;
        let text = serde_json::to_string_pretty(prices.entries())
            .map_err(|e| ServiceError::Unavailable(e.to_string()))?;
        let path = self.runtime.data_dir.join(prices::FILE);
        let staged = path.with_extension("json.new");
        std::fs::write(&staged, format!("{text}\n"))
            .and_then(|()| std::fs::rename(&staged, &path))
            .map_err(|e| ServiceError::Unavailable(format!("cannot save the price table: {e}")))?;
        Ok(self.price_view())
    }

    /// `DELETE /api/prices`: back to Baton's own table.
    pub async fn reset_prices(&self, actor: &Actor) -> ServiceResult<PriceTable> {
        actor.may_administer(Admin::Prices)?;
        match std::fs::remove_file(self.runtime.data_dir.join(prices::FILE)) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                return Err(ServiceError::Unavailable(format!(
                    "cannot remove the price table: {e}"
                )))
            }
        }
        Ok(self.price_view())
    }

    fn price_view(&self) -> PriceTable {
        let own = prices::Prices::own(&self.runtime.data_dir);
        let source = if own.is_some() {
            "data_dir"
        } else {
            "built_in"
        };
        PriceTable {
            prices: own
                .unwrap_or_else(prices::Prices::built_in)
                .entries()
                .clone(),
            source: source.to_owned(),
        }
    }

    async fn usage_where(
        &self,
        filter: impl sea_orm::sea_query::IntoCondition,
    ) -> ServiceResult<Usage> {
        let rows = usage_record::Entity::find()
            .filter(filter)
            .all(&self.db)
            .await?;
        let mut by_model: BTreeMap<String, ModelUsage> = BTreeMap::new();
        for r in rows {
            let m = by_model
                .entry(r.model.clone())
                .or_insert_with(|| ModelUsage {
                    model: r.model.clone(),
                    ..ModelUsage::default()
                });
            m.messages += 1;
            m.input_tokens += r.input_tokens;
            m.output_tokens += r.output_tokens;
            m.cache_read_tokens += r.cache_read_tokens;
            m.cache_write_tokens += r.cache_write_tokens;
        }
        Ok(prices::Prices::load(&self.runtime.data_dir).usage(by_model.into_values().collect()))
    }
}

/// The session's profile's wait for a decision (ms), from its environment as launched.
fn approval_wait_ms(row: &session::Model) -> u64 {
    let env: BTreeMap<String, String> = crate::store::json::from_text("session.env", &row.env);
    env.get(APPROVAL_WAIT_VAR)
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// Claude's transcripts are absolute paths to JSON lines; nothing else a hook names is read.
fn readable_transcript(path: &Path) -> bool {
    path.is_absolute() && path.extension().and_then(|e| e.to_str()) == Some("jsonl")
}

/// Codex's home for a session: its `CODEX_HOME`, else its `HOME`'s `.codex`; Baton's own
/// environment the same way when the session sets neither.
fn codex_home(env: &BTreeMap<String, String>) -> std::path::PathBuf {
    let home = |env: &dyn Fn(&str) -> Option<String>| {
        env("CODEX_HOME")
            .map(std::path::PathBuf::from)
            .or_else(|| env("HOME").map(|h| Path::new(&h).join(".codex")))
    };
    home(&|k| env.get(k).cloned())
        .or_else(|| home(&|k| std::env::var(k).ok()))
        .unwrap_or_else(|| ".codex".into())
}

/// The rollout of a session's Codex conversation under `sessions`: the one named by `known`,
/// else the newest written since the run started (`started_ms`) in folder `cwd`. Its path and
/// conversation id.
fn find_rollout(
    sessions: &Path,
    known: Option<&str>,
    cwd: &str,
    started_ms: i64,
) -> Option<(std::path::PathBuf, String)> {
    let mut files = Vec::new();
    rollouts(sessions, 0, &mut files);
    if let Some(id) = known {
        let suffix = format!("-{id}.jsonl");
        if let Some(path) = files
            .iter()
            .find(|(p, _)| p.to_string_lossy().ends_with(&suffix))
        {
            return Some((path.0.clone(), id.to_owned()));
        }
    }
    let since = std::time::UNIX_EPOCH + Duration::from_millis(started_ms.max(0) as u64)
        - Duration::from_secs(2);
    files.retain(|(_, modified)| *modified >= since);
    files.sort_by_key(|(_, modified)| std::cmp::Reverse(*modified));
    files.into_iter().find_map(|(path, _)| {
        use std::io::{BufRead, Read};
        let mut first = Vec::new();
        let file = std::fs::File::open(&path).ok()?;
        std::io::BufReader::new(file.take(1024 * 1024))
            .read_until(b'\n', &mut first)
            .ok()?;
        let (id, in_folder) = codex::meta(first.trim_ascii_end())?;
        (in_folder == cwd).then_some((path, id))
    })
}

/// Every `rollout-*.jsonl` under `dir` (year / month / day folders), with its modification time.
fn rollouts(
    dir: &Path,
    depth: usize,
    found: &mut Vec<(std::path::PathBuf, std::time::SystemTime)>,
) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let Ok(meta) = entry.metadata() else { continue };
        if meta.is_dir() && depth < 3 {
            rollouts(&path, depth + 1, found);
        } else if meta.is_file()
            && path.extension().is_some_and(|e| e == "jsonl")
            && entry.file_name().to_string_lossy().starts_with("rollout-")
        {
            found.push((path, meta.modified().unwrap_or(std::time::UNIX_EPOCH)));
        }
    }
}

/// Up to [`TRANSCRIPT_CHUNK`] bytes of `path` from byte `from`.
fn read_from(path: &Path, from: u64) -> std::io::Result<Vec<u8>> {
    use std::io::{Read, Seek, SeekFrom};
    let mut file = std::fs::File::open(path)?;
    file.seek(SeekFrom::Start(from))?;
    let mut chunk = Vec::new();
    file.take(TRANSCRIPT_CHUNK).read_to_end(&mut chunk)?;
    Ok(chunk)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_absolute_json_lines_files_are_read_as_transcripts() {
        assert!(readable_transcript(Path::new(
            "/home/a/.claude/projects/x/c.jsonl"
        )));
        assert!(!readable_transcript(Path::new("/etc/shadow")));
        assert!(!readable_transcript(Path::new("relative.jsonl")));
        assert!(!readable_transcript(Path::new("/a/secret.txt")));
    }

    #[test]
    fn a_decision_is_answered_as_claude_reads_it() {
        assert_eq!(
            permission_answer(Decision::Allow, Some("ignored")),
            json!({"hookSpecificOutput": {"hookEventName": "PermissionRequest",
                   "decision": {"behavior": "allow"}}})
        );
        assert_eq!(
            permission_answer(Decision::Deny, Some("not now"))["hookSpecificOutput"]["decision"],
            json!({"behavior": "deny", "message": "not now"})
        );
    }
}
