//! Agent profiles: how to start each kind of agent. Built-in profiles (Claude Code, Codex CLI,
//! Gemini CLI, Aider, OpenCode, a plain shell) are added at start when missing; users add their
//! own. Listing tells whether each program is on `PATH` and, when it answers `--version` quickly,
//! its version (cached per program file, so a list does not start six processes every time).

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use sea_orm::{ActiveModelTrait, EntityTrait, QueryOrder, Set};
use serde_json::json;

use super::access::{Admin, Operation, Target};
use super::error::{ServiceError, ServiceResult};
use super::{ids, validate, Actor, Service};
use crate::clock::now_ms;
use crate::model::{
    AgentProfile, AgentProfilePatch, McpStyle, NewAgentProfile, PromptMode, SignalStyle,
    APPROVAL_WAIT_VAR, MAX_APPROVAL_WAIT_MS,
};
use crate::pty::find_program;
use crate::security::redact::{self, REDACTED};
use crate::store::entity::agent_profile;
use crate::store::json::{from_text, to_text};

/// The program name that means "the user's shell".
pub const USER_SHELL: &str = "$SHELL";
/// How long an agent is quiet before it counts as waiting, when its profile does not say.
pub(super) const DEFAULT_QUIET_MS: u32 = 3000;
/// How long Claude's permission hook waits for Allow / Deny from Baton by default; its own
/// prompt shows in its terminal meanwhile and answers too.
const DEFAULT_APPROVAL_WAIT_MS: u32 = 120_000;
const VERSION_TIMEOUT: Duration = Duration::from_secs(2);

struct Builtin {
    id: &'static str,
    name: &'static str,
    program: &'static str,
    prompt_mode: PromptMode,
    wait_pattern: Option<&'static str>,
    mcp: McpStyle,
    signals: SignalStyle,
    approval_wait_ms: u32,
}

const BUILTINS: &[Builtin] = &[
    Builtin {
        id: "claude",
        name: "Claude Code",
        program: "claude",
        prompt_mode: PromptMode::Argument,
        wait_pattern: None,
        mcp: McpStyle::Claude,
        signals: SignalStyle::Claude,
        approval_wait_ms: DEFAULT_APPROVAL_WAIT_MS,
    },
    Builtin {
        id: "codex",
        name: "Codex CLI",
        program: "codex",
        prompt_mode: PromptMode::Argument,
        wait_pattern: None,
        mcp: McpStyle::Codex,
        signals: SignalStyle::Codex,
        approval_wait_ms: 0,
    },
    Builtin {
        id: "gemini",
        name: "Gemini CLI",
        program: "gemini",
        prompt_mode: PromptMode::Type,
        // Its input box; the prompt is typed only once it shows (not into a login menu).
        wait_pattern: Some("Type your message"),
        mcp: McpStyle::Gemini,
        signals: SignalStyle::Gemini,
        approval_wait_ms: 0,
    },
    Builtin {
        id: "aider",
        name: "Aider",
        program: "aider",
        prompt_mode: PromptMode::Type,
        wait_pattern: Some(r"(?m)^\w*> $"),
        mcp: McpStyle::None,
        signals: SignalStyle::None,
        approval_wait_ms: 0,
    },
    Builtin {
        id: "opencode",
        name: "OpenCode",
        program: "opencode",
        prompt_mode: PromptMode::Type,
        wait_pattern: None,
        mcp: McpStyle::None,
        signals: SignalStyle::None,
        approval_wait_ms: 0,
    },
    Builtin {
        id: "shell",
        name: "Shell",
        program: USER_SHELL,
        prompt_mode: PromptMode::None,
        wait_pattern: Some(r"[$#%>]\s*$"),
        mcp: McpStyle::None,
        signals: SignalStyle::None,
        approval_wait_ms: 0,
    },
];

/// A program file: its path and modification time (a new install is probed again).
type ProgramFile = (PathBuf, Option<SystemTime>);

/// `--version` answers, per program file.
#[derive(Default)]
pub struct VersionCache(Mutex<HashMap<ProgramFile, Probe>>);

enum Probe {
    Running,
    Done(Option<String>),
}

/// A prompt is typed only when the agent's input box shows: a typing profile needs its pattern.
fn check_typed_prompt(mode: PromptMode, wait_pattern: Option<&str>) -> ServiceResult<()> {
    if mode == PromptMode::Type && wait_pattern.is_none() {
        return Err(ServiceError::invalid(
            "waitPattern",
            "required when promptMode is type: the pattern of the agent's input box, so that the prompt is typed only when it shows",
        ));
    }
    Ok(())
}

fn check_approval_wait(ms: u32) -> ServiceResult<u32> {
    if ms > MAX_APPROVAL_WAIT_MS {
        return Err(ServiceError::invalid(
            "approvalWaitMs",
            format!("must be at most {MAX_APPROVAL_WAIT_MS}"),
        ));
    }
    Ok(ms)
}

/// The program a profile names, with `$SHELL` resolved.
pub fn resolve_program(program: &str) -> String {
    if program == USER_SHELL {
        std::env::var("SHELL")
            .ok()
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| "/bin/sh".to_owned())
    } else {
        program.to_owned()
    }
}

impl Service {
    /// Adds the built-in profiles that are missing (never overwrites a user's edits).
    pub async fn seed_agent_profiles(&self) -> ServiceResult<()> {
        let now = now_ms();
        for b in BUILTINS {
            if agent_profile::Entity::find_by_id(b.id.to_owned())
                .one(&self.db)
                .await?
                .is_some()
            {
                continue;
            }
            agent_profile::ActiveModel {
                id: Set(b.id.to_owned()),
                name: Set(b.name.to_owned()),
                program: Set(b.program.to_owned()),
                args: Set("[]".to_owned()),
                env: Set("{}".to_owned()),
                prompt_mode: Set(b.prompt_mode.as_str().to_owned()),
                builtin: Set(true),
                wait_pattern: Set(b.wait_pattern.map(str::to_owned)),
                quiet_ms: Set(DEFAULT_QUIET_MS as i32),
                mcp: Set(b.mcp.as_str().to_owned()),
                exit_means_done: Set(false),
                signals: Set(b.signals.as_str().to_owned()),
                approval_wait_ms: Set(b.approval_wait_ms as i32),
                resume_after_limit: Set(false),
                created_at: Set(now),
                updated_at: Set(now),
            }
            .insert(&self.db)
            .await?;
        }
        Ok(())
    }

    /// Starts probing every profile's program version, so that the first list has them.
    pub async fn warm_agent_versions(&self) {
        if let Err(err) = self.list_agent_profiles(&Actor::System).await {
            tracing::debug!(%err, "cannot list agent profiles to probe their versions");
        }
    }

    pub async fn list_agent_profiles(&self, actor: &Actor) -> ServiceResult<Vec<AgentProfile>> {
        actor.may(Operation::ReadShared, Target::Any)?;
        let rows = agent_profile::Entity::find()
            .order_by_desc(agent_profile::Column::Builtin)
            .order_by_asc(agent_profile::Column::Id)
            .all(&self.db)
            .await?;
        let probes = rows.into_iter().map(|row| self.profile_view(row));
        Ok(futures_util::future::join_all(probes).await)
    }

    pub async fn get_agent_profile(&self, id: &str, actor: &Actor) -> ServiceResult<AgentProfile> {
        actor.may(Operation::ReadShared, Target::Any)?;
        Ok(self.profile_view(self.profile_row(id).await?).await)
    }

    pub(super) async fn profile_row(&self, id: &str) -> ServiceResult<agent_profile::Model> {
        agent_profile::Entity::find_by_id(id.to_owned())
            .one(&self.reads())
            .await?
            .ok_or_else(|| ServiceError::not_found("agent profile", id))
    }

    pub async fn create_agent_profile(
        &self,
        input: NewAgentProfile,
        actor: &Actor,
    ) -> ServiceResult<AgentProfile> {
        actor.may_administer(Admin::Agents)?;
        let id = match &input.id {
            Some(id) => {
                ids::check_client_id("id", id)?;
                id.clone()
            }
            None => ids::new_id("agent"),
        };
        let name = validate::required_line("name", &input.name, validate::MAX_NAME)?;
        let program = check_program(&input.program)?;
        let args = input.args.unwrap_or_default();
        check_args(&args)?;
        let env = input.env.unwrap_or_default();
        check_env("env", &env)?;
        let wait_pattern = input.wait_pattern.map(|p| check_pattern(&p)).transpose()?;
        let quiet_ms = check_quiet(input.quiet_ms.unwrap_or(DEFAULT_QUIET_MS))?;
        let prompt_mode = input.prompt_mode.unwrap_or(PromptMode::Argument);
        check_typed_prompt(prompt_mode, wait_pattern.as_deref())?;
        let _lock = self.write_lock().await;
        if agent_profile::Entity::find_by_id(id.clone())
            .one(&self.db)
            .await?
            .is_some()
        {
            return Err(ServiceError::conflict(
                "already_exists",
                format!("an agent profile with id '{id}' already exists"),
                json!({ "field": "id", "id": id }),
            ));
        }
        let now = now_ms();
        let row = agent_profile::ActiveModel {
            id: Set(id),
            name: Set(name),
            program: Set(program),
            args: Set(to_text(&args)),
            env: Set(to_text(&env)),
            prompt_mode: Set(prompt_mode.as_str().to_owned()),
            builtin: Set(false),
            wait_pattern: Set(wait_pattern),
            quiet_ms: Set(quiet_ms as i32),
            mcp: Set(input.mcp.unwrap_or(McpStyle::None).as_str().to_owned()),
            exit_means_done: Set(input.exit_means_done.unwrap_or(false)),
            signals: Set(input
                .signals
                .unwrap_or(SignalStyle::None)
                .as_str()
                .to_owned()),
            approval_wait_ms: Set(check_approval_wait(input.approval_wait_ms.unwrap_or(0))? as i32),
            resume_after_limit: Set(input.resume_after_limit.unwrap_or(false)),
            created_at: Set(now),
            updated_at: Set(now),
        }
        .insert(&self.db)
        .await?;
        Ok(self.profile_view(row).await)
    }

    pub async fn update_agent_profile(
        &self,
        id: &str,
        patch: AgentProfilePatch,
        actor: &Actor,
    ) -> ServiceResult<AgentProfile> {
        actor.may_administer(Admin::Agents)?;
        let _lock = self.write_lock().await;
        let row = self.profile_row(id).await?;
        let kept: BTreeMap<String, String> = from_text("agent_profile.env", &row.env);
        let kept_args: Vec<String> = from_text("agent_profile.args", &row.args);
        let mut active: agent_profile::ActiveModel = row.into();
        if let Some(name) = &patch.name {
            active.name = Set(validate::required_line("name", name, validate::MAX_NAME)?);
        }
        if let Some(program) = &patch.program {
            active.program = Set(check_program(program)?);
        }
        if let Some(args) = &patch.args {
            check_args(args)?;
            // Likewise for a secret argument sent back as it was shown.
            let shown = redact::split_argv(&kept_args).0;
            let args: Vec<String> = args
                .iter()
                .enumerate()
                .map(|(i, arg)| match (shown.get(i), kept_args.get(i)) {
                    (Some(seen), Some(old)) if arg == seen && arg.contains(REDACTED) => old.clone(),
                    _ => arg.clone(),
                })
                .collect();
            active.args = Set(to_text(&args));
        }
        if let Some(env) = &patch.env {
            check_env("env", env)?;
            // Secrets are shown as `[redacted]`: sent back so, they keep their stored value.
            let mut env = env.clone();
            redact::put_back(&mut env, &kept);
            active.env = Set(to_text(&env));
        }
        if let Some(mode) = patch.prompt_mode {
            active.prompt_mode = Set(mode.as_str().to_owned());
        }
        if let Some(pattern) = &patch.wait_pattern {
            active.wait_pattern = Set(pattern.as_deref().map(check_pattern).transpose()?);
        }
        if let Some(quiet) = patch.quiet_ms {
            active.quiet_ms = Set(check_quiet(quiet)? as i32);
        }
        if let Some(mcp) = patch.mcp {
            active.mcp = Set(mcp.as_str().to_owned());
        }
        if let Some(done) = patch.exit_means_done {
            active.exit_means_done = Set(done);
        }
        if let Some(signals) = patch.signals {
            active.signals = Set(signals.as_str().to_owned());
        }
        if let Some(wait) = patch.approval_wait_ms {
            active.approval_wait_ms = Set(check_approval_wait(wait)? as i32);
        }
        if let Some(resume) = patch.resume_after_limit {
            active.resume_after_limit = Set(resume);
        }
        if patch.prompt_mode.is_some() || patch.wait_pattern.is_some() {
            let mode = PromptMode::parse(active.prompt_mode.as_ref()).unwrap_or(PromptMode::None);
            check_typed_prompt(mode, active.wait_pattern.as_ref().as_deref())?;
        }
        if active.is_changed() {
            active.updated_at = Set(now_ms());
            let row = active.update(&self.db).await?;
            return Ok(self.profile_view(row).await);
        }
        self.get_agent_profile(id, actor).await
    }

    /// Deletes a user's profile; built-in ones are refused (409).
    pub async fn delete_agent_profile(&self, id: &str, actor: &Actor) -> ServiceResult<()> {
        actor.may_administer(Admin::Agents)?;
        let _lock = self.write_lock().await;
        let row = self.profile_row(id).await?;
        if row.builtin {
            return Err(ServiceError::conflict(
                "builtin",
                format!("'{id}' is a built-in profile; edit it instead"),
                json!({ "id": id }),
            ));
        }
        agent_profile::Entity::delete_by_id(id.to_owned())
            .exec(&self.db)
            .await?;
        Ok(())
    }

    async fn profile_view(&self, row: agent_profile::Model) -> AgentProfile {
        let path = find_program(
            &resolve_program(&row.program),
            std::env::var("PATH").ok().as_deref(),
        );
        let version = match &path {
            Some(p) => self.versions.known(p),
            None => None,
        };
        AgentProfile {
            args: redact::split_argv(&from_text::<Vec<String>>("agent_profile.args", &row.args)).0,
            env: redact::split_env(&from_text("agent_profile.env", &row.env)).0,
            prompt_mode: PromptMode::parse(&row.prompt_mode).unwrap_or(PromptMode::None),
            quiet_ms: u32::try_from(row.quiet_ms).unwrap_or(DEFAULT_QUIET_MS),
            mcp: McpStyle::parse(&row.mcp).unwrap_or(McpStyle::None),
            exit_means_done: row.exit_means_done,
            signals: SignalStyle::parse(&row.signals).unwrap_or(SignalStyle::None),
            approval_wait_ms: u32::try_from(row.approval_wait_ms).unwrap_or(0),
            resume_after_limit: row.resume_after_limit,
            available: path.is_some(),
            path: path.map(|p| p.display().to_string()),
            version,
            id: row.id,
            name: row.name,
            program: row.program,
            wait_pattern: row.wait_pattern,
            builtin: row.builtin,
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

impl VersionCache {
    /// The first line `path --version` printed, when known. Never waits: an unknown program file
    /// is probed in the background (once), so listing profiles answers at once.
    fn known(self: &Arc<Self>, path: &Path) -> Option<String> {
        let modified = std::fs::metadata(path).and_then(|m| m.modified()).ok();
        let key = (path.to_path_buf(), modified);
        {
            let mut cache = self.0.lock().unwrap_or_else(|p| p.into_inner());
            match cache.get(&key) {
                Some(Probe::Done(version)) => return version.clone(),
                Some(Probe::Running) => return None,
                None => {
                    cache.insert(key.clone(), Probe::Running);
                }
            }
        }
        let cache = Arc::clone(self);
        let path = path.to_path_buf();
        tokio::spawn(async move {
            let version = probe(&path).await;
            cache
                .0
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert(key, Probe::Done(version));
        });
        None
    }
}

/// Runs `path --version` (bounded in time); the first non-empty line it shows (drawn by the
/// screen model: colours and other escape sequences are not text).
async fn probe(path: &Path) -> Option<String> {
    let run = tokio::process::Command::new(path)
        .arg("--version")
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .output();
    match tokio::time::timeout(VERSION_TIMEOUT, run).await {
        Ok(Ok(out)) if out.status.success() => shown(&out.stdout)
            .lines()
            .map(str::trim)
            .find(|l| !l.is_empty())
            .map(|l| l.chars().take(200).collect()),
        _ => None,
    }
}

/// The text `bytes` show on a terminal.
fn shown(bytes: &[u8]) -> String {
    let size = crate::pty::Size {
        cols: 200,
        rows: 24,
    };
    let mut screen = crate::pty::screen::ScreenModel::new(size, 0);
    screen.feed(0, bytes, std::time::Instant::now());
    screen.text()
}

fn check_program(program: &str) -> ServiceResult<String> {
    if program.is_empty() || program.contains('\0') || program.trim() != program {
        return Err(ServiceError::invalid(
            "program",
            "must be a program name or path, without spaces around it",
        ));
    }
    Ok(program.to_owned())
}

fn check_args(args: &[String]) -> ServiceResult<()> {
    if args.iter().any(|a| a.contains('\0')) {
        return Err(ServiceError::invalid(
            "args",
            "arguments must not contain NUL bytes",
        ));
    }
    Ok(())
}

/// Environment names must be plain and must not set Baton's own variables.
pub(super) fn check_env(field: &str, env: &BTreeMap<String, String>) -> ServiceResult<()> {
    for (key, value) in env {
        let plain = !key.is_empty()
            && !key.as_bytes()[0].is_ascii_digit()
            && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
        if !plain || value.contains('\0') {
            return Err(ServiceError::invalid(
                field,
                format!("'{key}' is not a valid environment variable"),
            ));
        }
        // `BATON_APPROVAL_WAIT_MS` is how long a permission hook waits for a decision made in
        // Baton (a setting, as the profile's `approvalWaitMs`), not an identity.
        if key == APPROVAL_WAIT_VAR
            && value
                .parse::<u32>()
                .map_or(true, |ms| ms > MAX_APPROVAL_WAIT_MS)
        {
            return Err(ServiceError::invalid(
                field,
                format!("'{key}' must be a number of ms, at most {MAX_APPROVAL_WAIT_MS}"),
            ));
        }
        // `BATON_PORT` is a port Baton found free for a run command, not an identity.
        if key.starts_with("BATON_") && key != "BATON_PORT" && key != APPROVAL_WAIT_VAR {
            return Err(ServiceError::invalid(
                field,
                format!("'{key}' is set by Baton itself"),
            ));
        }
    }
    Ok(())
}

fn check_pattern(pattern: &str) -> ServiceResult<String> {
    regex::Regex::new(pattern)
        .map(|_| pattern.to_owned())
        .map_err(|e| {
            ServiceError::invalid(
                "waitPattern",
                format!("not a valid regular expression: {e}"),
            )
        })
}

fn check_quiet(ms: u32) -> ServiceResult<u32> {
    if (50..=600_000).contains(&ms) {
        Ok(ms)
    } else {
        Err(ServiceError::invalid(
            "quietMs",
            "must be from 50 to 600000",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn a_version_is_the_text_its_program_shows() {
        let out = b"\x1b[1;32mtool ready\x1b[0m \x1b[38;5;208m1.2.3\x1b[0m\r\n";
        assert_eq!(shown(out).lines().next(), Some("tool ready 1.2.3"));
    }

    #[test]
    fn baton_variables_are_baton_s_except_the_port_and_the_approval_wait() {
        assert!(check_env("env", &env(&[("BATON_TOKEN", "x")])).is_err());
        assert!(check_env("env", &env(&[("BATON_SESSION_ID", "x")])).is_err());
        assert!(check_env("env", &env(&[("BATON_PORT", "4000")])).is_ok());
        assert!(check_env("env", &env(&[(APPROVAL_WAIT_VAR, "30000")])).is_ok());
        assert!(check_env("env", &env(&[(APPROVAL_WAIT_VAR, "600001")])).is_err());
        assert!(check_env("env", &env(&[(APPROVAL_WAIT_VAR, "soon")])).is_err());
        assert!(check_env("env", &env(&[("1BAD", "x")])).is_err());
    }
}
