//! The `baton` command line. `baton serve` runs the headless server; `baton mcp` serves MCP on
//! stdio; every other subcommand is a client of a running server's API (see [`crate::client`]),
//! so that the rules stay in the service layer. Each prints a human table, or the API's JSON
//! with `--json`; failures print one line on stderr and exit non-zero.

mod attach;
pub mod entry;
mod hook;
mod messages;
mod output;
mod projects;
mod queue;
mod report;
mod run;
mod sessions;
mod tasks;

pub use run::run;

use std::net::IpAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::config::{platform_data_dir, Config, DEFAULT_PORT};
use crate::model::{Priority, TaskStatus};

#[derive(Debug, Parser)]
#[command(
    name = "baton",
    version,
    about = "Run many AI coding agents at once: tasks, sessions, live terminals, a loopback API.",
    long_about = "Baton keeps projects, tasks, sessions and messages in a database, runs agents in \
                  real terminals, and serves it all over a loopback HTTP + WebSocket API guarded \
                  by a token.\n\n\
                  `baton serve` runs that server. The other commands are its clients: they find it \
                  through $BATON_API_URL and $BATON_TOKEN (what every agent Baton starts has), else \
                  through the data folder — --data-dir, else $BATON_DATA_DIR, else the platform's \
                  (~/.local/share/baton on Linux) — where the running server records its address \
                  (server.json) beside its token. Inside an agent's terminal `baton status`, \
                  `baton progress` and the task commands act on that agent's own session and task."
)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

/// Options of every client subcommand.
#[derive(Debug, Args)]
pub struct Global {
    /// Print the API's JSON instead of a table (for scripts).
    #[arg(long, global = true)]
    pub json: bool,
    /// The server's address (default: $BATON_API_URL, else the one the running server recorded
    /// in the data folder).
    #[arg(
        long,
        global = true,
        value_name = "URL",
        env = "BATON_API_URL",
        hide_env_values = true
    )]
    pub url: Option<String>,
    /// The data folder: the database and token of `baton serve`, and where the other commands
    /// find the running server's address and token (default: $BATON_DATA_DIR, else the
    /// platform's data folder).
    #[arg(long, global = true, value_name = "DIR", env = "BATON_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the API server in the foreground until SIGINT or SIGTERM.
    #[command(
        long_about = "Run the API server in the foreground until SIGINT or SIGTERM.\n\n\
                      When it is ready it prints exactly one line to stdout, \
                      `listening on http://127.0.0.1:PORT`; logs go to stderr (RUST_LOG sets \
                      the level). Every route but GET /api/health needs the token; the OpenAPI \
                      document is at /api/openapi.json."
    )]
    Serve(ServeArgs),
    /// Projects: list, create, show.
    #[command(subcommand)]
    Project(ProjectCommand),
    /// Tasks, their subtasks and dependencies. Inside an agent session a task id may be left
    /// out: the session's task ($BATON_TASK_IDS) is meant.
    #[command(subcommand)]
    Task(TaskCommand),
    /// Agent sessions: list, show, start, stop, attach to the terminal, read the output.
    #[command(subcommand)]
    Session(SessionCommand),
    /// The project's message bus: post, list, follow.
    #[command(subcommand)]
    Msg(MsgCommand),
    /// The queue that runs tasks: its status, limit, pause and resume, clearing it.
    #[command(subcommand)]
    Queue(QueueCommand),
    /// Report what this agent is doing now, one line (a PROGRESS message; the session keeps it).
    #[command(long_about = "Report what this agent is doing now, in one line.\n\n\
                            It becomes a PROGRESS message on the project's message bus and the \
                            session's status line. Run it inside an agent session (it acts for \
                            $BATON_SESSION_ID), or pass --session.")]
    Status {
        /// The line to report.
        #[arg(required = true, num_args = 1.., value_name = "TEXT")]
        text: Vec<String>,
        /// The session to report for (default: $BATON_SESSION_ID).
        #[arg(long, value_name = "ID")]
        session: Option<String>,
    },
    /// Report how far along this agent is, 0–100 (with an optional line).
    Progress {
        /// Percent done, 0–100.
        #[arg(value_name = "N")]
        percent: i64,
        /// An optional line saying what is happening.
        #[arg(value_name = "TEXT")]
        text: Vec<String>,
        /// The session to report for (default: $BATON_SESSION_ID).
        #[arg(long, value_name = "ID")]
        session: Option<String>,
    },
    /// Print a shell completion script (e.g. `baton completions bash > ~/.local/share/bash-completion/completions/baton`).
    Completions { shell: clap_complete::Shell },
    /// Serve the Model Context Protocol on stdin/stdout for an agent (tools for tasks, messages,
    /// progress and sessions; the current task as a resource).
    Mcp,
    /// What an agent's own hooks run: posts the event's JSON (stdin) to Baton with the
    /// session's token; always exits 0; prints only a decision for the agent.
    #[command(hide = true)]
    Hook {
        /// The agent's name for the event (`PreToolUse`, `PermissionRequest`, `Stop`, …).
        event: String,
        /// The event's JSON, when the agent passes it as an argument (Codex's `notify` does);
        /// else it is read from stdin.
        payload: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum QueueCommand {
    /// What runs, what waits, the limit and the last hour.
    Status,
    /// Nothing new starts (all projects, or one with --project).
    Pause {
        #[arg(long, short = 'p', value_name = "ID")]
        project: Option<String>,
    },
    /// Undo a pause.
    Resume {
        #[arg(long, short = 'p', value_name = "ID")]
        project: Option<String>,
    },
    /// How many runs the queue keeps going at once (1–64).
    Limit { max: u32 },
    /// Send every queued task back to pending (running ones go on).
    Clear {
        /// Really: there is no undo.
        #[arg(long)]
        yes: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum ProjectCommand {
    /// Every project.
    List,
    /// Make a project.
    Create {
        name: String,
        /// Its working folder (agents start there).
        #[arg(long, value_name = "DIR")]
        path: Option<PathBuf>,
    },
    /// One project.
    Show { id: String },
}

#[derive(Debug, Args)]
pub struct ProjectOpt {
    /// The project (default: $BATON_PROJECT_ID, else the only project there is).
    #[arg(long, short = 'p', value_name = "ID")]
    pub project: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum TaskCommand {
    /// Tasks of a project.
    List {
        #[command(flatten)]
        project: ProjectOpt,
        /// Only these statuses (repeat or comma-separate).
        #[arg(long, value_delimiter = ',', value_name = "STATUS")]
        status: Vec<TaskStatus>,
        /// Only tasks with this tag.
        #[arg(long)]
        tag: Option<String>,
        /// Search title, description and prompt.
        #[arg(long, short = 'q')]
        search: Option<String>,
    },
    /// Make a task.
    Create {
        title: String,
        #[command(flatten)]
        project: ProjectOpt,
        #[arg(long, short = 'd')]
        description: Option<String>,
        /// What an agent started on this task is told to do.
        #[arg(long)]
        prompt: Option<String>,
        #[arg(long, value_enum)]
        priority: Option<Priority>,
        /// A tag (repeat for more).
        #[arg(long = "tag", value_name = "TAG")]
        tags: Vec<String>,
        /// A task this one waits for (repeat for more).
        #[arg(long = "depends-on", value_name = "TASK")]
        depends_on: Vec<String>,
    },
    /// One task with its subtasks, dependencies and sessions.
    Show { id: Option<String> },
    /// Change a task.
    Update {
        id: Option<String>,
        #[arg(long)]
        title: Option<String>,
        #[arg(long, short = 'd')]
        description: Option<String>,
        #[arg(long)]
        prompt: Option<String>,
        #[arg(long, value_enum)]
        status: Option<TaskStatus>,
        #[arg(long, value_enum)]
        priority: Option<Priority>,
        /// Replace the tags (repeat for more).
        #[arg(long = "tag", value_name = "TAG")]
        tags: Option<Vec<String>>,
    },
    /// Mark a task completed.
    Done { id: Option<String> },
    /// Mark a task blocked, optionally saying why (posted as a BLOCKED message).
    Block {
        id: Option<String>,
        #[arg(long)]
        reason: Option<String>,
    },
    /// Delete a task (its id is required).
    Delete { id: String },
    /// Subtasks: add one, or tick one off.
    #[command(subcommand)]
    Subtask(SubtaskCommand),
    /// Run a task: queue it for an agent (it starts when a slot is free and its dependencies
    /// are done).
    Run {
        id: Option<String>,
        /// The agent profile (default: the project's defaultAgentId setting).
        #[arg(long, value_name = "PROFILE")]
        agent: Option<String>,
        #[arg(long, value_enum)]
        priority: Option<Priority>,
        /// Attempts before it fails (a failed run is retried after a backoff).
        #[arg(long, value_name = "N")]
        attempts: Option<u32>,
        /// Restart the agent until the task is done, at most N runs.
        #[arg(long = "loop", value_name = "N")]
        loop_runs: Option<u32>,
        /// Wait this long between a loop's runs.
        #[arg(long, value_name = "MS", requires = "loop_runs")]
        cooldown_ms: Option<u64>,
        /// Stop starting runs of it once its agents used this many US dollars.
        #[arg(long, value_name = "USD")]
        cost_limit: Option<f64>,
    },
    /// Cancel a queued, blocked or running task (a running one has its agent stopped).
    Cancel {
        id: Option<String>,
        #[arg(long)]
        reason: Option<String>,
    },
    /// Queue a failed or cancelled task again, as its next attempt.
    Retry { id: Option<String> },
    /// Reopen a completed task so that it runs (its loop) again.
    Resume { id: Option<String> },
    /// The runs of a task: when, how each ended.
    Runs { id: Option<String> },
    /// Where a task works: its worktree and branch, or the shared folder and why. With
    /// --remove, removes the worktree (refused while it holds unsaved work, unless --force).
    Workspace {
        id: Option<String>,
        #[arg(long)]
        remove: bool,
        #[arg(long, requires = "remove")]
        force: bool,
    },
    /// What a task changed against its base branch (committed or not, untracked included).
    Diff {
        id: Option<String>,
        /// Files and counts only.
        #[arg(long)]
        stat: bool,
    },
    /// The sibling tasks (and the base branch) a task's work conflicts with.
    Conflicts { id: Option<String> },
    /// Commit everything in a task's worktree.
    Commit {
        id: Option<String>,
        #[arg(long, short = 'm')]
        message: String,
    },
    /// Merge a task's branch into its base branch (nothing changes on a conflict).
    Merge {
        id: Option<String>,
        #[arg(long, value_enum)]
        strategy: Option<MergeHow>,
    },
    /// Rebase a task's branch onto its base branch.
    Rebase { id: Option<String> },
    /// Push a task's branch and open a pull request with gh.
    Pr { id: Option<String> },
    /// Save a task's work in the data folder and remove its worktree and branch.
    Archive { id: Option<String> },
    /// Archived workspaces.
    Archives {
        #[arg(long, value_name = "ID")]
        project: Option<String>,
    },
    /// Bring an archived workspace back, byte for byte.
    Restore { archive: String },
    /// Send line comments to a task's agent: --comment PATH:LINE:TEXT (repeatable).
    Review {
        id: Option<String>,
        #[arg(long = "comment", required = true, value_name = "PATH:LINE:TEXT")]
        comments: Vec<String>,
    },
    /// Make a task wait for others (adds to its dependencies; --replace sets them).
    Depend {
        /// The tasks it waits for.
        #[arg(required = true, value_name = "ON")]
        on: Vec<String>,
        /// The task that waits (default: this session's task).
        #[arg(long, value_name = "ID")]
        task: Option<String>,
        /// Replace the dependency list instead of adding to it.
        #[arg(long)]
        replace: bool,
    },
}

/// How `baton task merge` merges.
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum MergeHow {
    Auto,
    FastForwardOnly,
    MergeCommit,
}

#[derive(Debug, Subcommand)]
pub enum SubtaskCommand {
    /// Add a subtask.
    Add {
        #[arg(required = true, num_args = 1.., value_name = "TITLE")]
        title: Vec<String>,
        /// The task (default: this session's task).
        #[arg(long, value_name = "ID")]
        task: Option<String>,
    },
    /// Mark a subtask completed: its id, its number in `task show` (1, 2, …) or its title.
    Done {
        subtask: String,
        #[arg(long, value_name = "ID")]
        task: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum SessionCommand {
    /// Sessions of a project (or of every project with --all).
    List {
        #[command(flatten)]
        project: ProjectOpt,
        /// Every project's sessions.
        #[arg(long)]
        all: bool,
        /// Only these statuses (comma-separated).
        #[arg(long)]
        status: Option<String>,
    },
    /// One session.
    Show { id: String },
    /// Start an agent on tasks: a profile (`--agent claude`) or a command after `--`.
    Start {
        #[command(flatten)]
        project: ProjectOpt,
        /// A task to work on (repeat for more); its prompt is handed over.
        #[arg(long = "task", short = 't', value_name = "ID")]
        tasks: Vec<String>,
        /// An agent profile (see the agents in the UI or GET /api/agents).
        #[arg(long, short = 'a', value_name = "PROFILE")]
        agent: Option<String>,
        #[arg(long)]
        name: Option<String>,
        /// Working folder (default: the project's).
        #[arg(long, value_name = "DIR")]
        cwd: Option<PathBuf>,
        /// Do not configure Baton's MCP server for the agent.
        #[arg(long)]
        no_mcp: bool,
        /// The program and its arguments (an argv, never a shell string).
        #[arg(last = true, value_name = "COMMAND")]
        command: Vec<String>,
    },
    /// Stop a session's agent (SIGTERM, then SIGKILL after the grace time).
    Stop {
        id: String,
        #[arg(long, value_name = "MS")]
        grace_ms: Option<u64>,
    },
    /// Join the session's terminal from this one (raw mode; detach with Ctrl-]).
    Attach { id: String },
    /// Print the session's output; -f keeps following it until the agent exits.
    Logs {
        id: String,
        #[arg(long, short = 'f')]
        follow: bool,
    },
    /// The session's permission requests (pending first in time, newest last).
    Actions { id: String },
    /// Allow the tool the session's agent asks to run (its pending request, or --action).
    Approve {
        id: String,
        /// Which request (default: the only pending one).
        #[arg(long, value_name = "ID")]
        action: Option<String>,
    },
    /// Deny the tool the session's agent asks to run, optionally saying why.
    Deny {
        id: String,
        #[arg(long, value_name = "ID")]
        action: Option<String>,
        /// Told to the agent.
        #[arg(long)]
        reason: Option<String>,
    },
    /// Continue a stopped session's conversation (`claude --resume`) as a new run.
    Resume { id: String },
    /// Tokens and cost of the session's agent.
    Usage { id: String },
}

#[derive(Debug, Args)]
pub struct MsgScope {
    #[command(flatten)]
    pub project: ProjectOpt,
    /// Only messages about this task.
    #[arg(long, value_name = "ID")]
    pub task: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum MsgCommand {
    /// Post a message (from this session, when run inside one).
    Post {
        #[arg(required = true, num_args = 1.., value_name = "BODY")]
        body: Vec<String>,
        #[command(flatten)]
        scope: MsgScope,
        /// USER (default), FACT, PROGRESS, DECISION, QUESTION, ERROR, or another upper-case word.
        #[arg(long = "type", short = 't', value_name = "TYPE")]
        kind: Option<String>,
        /// The message this one answers (repeat for more).
        #[arg(long = "reply-to", value_name = "MSG")]
        reply_to: Vec<String>,
    },
    /// The latest messages, oldest first.
    List {
        #[command(flatten)]
        scope: MsgScope,
        #[arg(long, short = 'n', default_value_t = 50)]
        limit: u32,
    },
    /// The last few messages; -f keeps following new ones.
    Tail {
        #[command(flatten)]
        scope: MsgScope,
        #[arg(long, short = 'n', default_value_t = 10)]
        lines: u32,
        #[arg(long, short = 'f')]
        follow: bool,
    },
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on. Keep the loopback default unless you know why not: the token is
    /// then the only protection.
    #[arg(long, default_value = "127.0.0.1", value_name = "IP")]
    pub host: IpAddr,
    /// Port to listen on; 0 picks a free one (the ready line says which).
    #[arg(long, default_value_t = DEFAULT_PORT, value_name = "N")]
    pub port: u16,
    /// Use this database instead of the SQLite file in the data folder (e.g. postgres://…).
    #[arg(
        long,
        env = "BATON_DATABASE_URL",
        hide_env_values = true,
        value_name = "URL"
    )]
    pub database_url: Option<String>,
    /// The built web UI to serve at `/` (default: ui/dist of the source tree). Open it as
    /// http://127.0.0.1:PORT/#token=<token>.
    #[arg(long, env = "BATON_UI_DIR", value_name = "DIR")]
    pub ui_dir: Option<PathBuf>,
    /// The wait before a failed webhook delivery is retried; it doubles after each failure
    /// (up to 5 minutes), for 8 attempts in all.
    #[arg(
        long,
        env = "BATON_WEBHOOK_BACKOFF_MS",
        default_value_t = 1000,
        value_name = "MS"
    )]
    pub webhook_backoff_ms: u64,
    /// Audit records older than this many days are deleted, at start and every hour
    /// (0 keeps them for ever).
    #[arg(
        long,
        env = "BATON_AUDIT_RETENTION_DAYS",
        default_value_t = crate::service::audit::DEFAULT_RETENTION_DAYS,
        value_name = "DAYS"
    )]
    pub audit_retention_days: u32,
    /// Requests per second allowed to the admin token (bursts of 5 s worth); 0: no limit.
    #[arg(long, env = "BATON_RATE_LIMIT", default_value_t = crate::api::rate_limit::PERSON_PER_SEC, value_name = "PER_SEC")]
    pub rate_limit: u32,
    /// Requests per second allowed to each agent's token (bursts of 5 s worth); 0: no limit.
    #[arg(long, env = "BATON_AGENT_RATE_LIMIT", default_value_t = crate::api::rate_limit::AGENT_PER_SEC, value_name = "PER_SEC")]
    pub agent_rate_limit: u32,
}

impl ServeArgs {
    /// The server configuration these arguments describe.
    /// `data_dir` is the global `--data-dir` (created with mode 0700).
    pub fn config(&self, data_dir: Option<&std::path::Path>) -> Result<Config, String> {
        let data_dir = match data_dir {
            Some(dir) => dir.to_path_buf(),
            None => platform_data_dir().ok_or(
                "no platform data folder could be found; pass --data-dir or set BATON_DATA_DIR",
            )?,
        };
        let data_dir = if data_dir.is_absolute() {
            data_dir
        } else {
            std::env::current_dir()
                .map_err(|e| format!("cannot resolve the data folder: {e}"))?
                .join(data_dir)
        };
        Ok(Config {
            data_dir,
            host: self.host,
            port: self.port,
            database_url: self.database_url.clone(),
            ui_dir: self
                .ui_dir
                .clone()
                .unwrap_or_else(crate::api::ui::default_dir),
            webhooks: crate::service::webhook_delivery::Policy {
                backoff: std::time::Duration::from_millis(self.webhook_backoff_ms),
                ..Default::default()
            },
            cli: std::env::current_exe().ok(),
            audit_retention_days: self.audit_retention_days,
            rates: crate::api::rate_limit::Rates {
                person_per_sec: self.rate_limit,
                agent_per_sec: self.agent_rate_limit,
            },
        })
    }
}
