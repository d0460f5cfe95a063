//! Running a client subcommand: find the server, call the API, print the answer.

use std::process::ExitCode;

use serde_json::Value;

use super::{output, Cli, Command, Global, ProjectOpt};
use crate::client::{discover, AgentEnv, Client, ClientError, ClientResult};

/// What every client command gets.
pub(super) struct Ctx {
    pub client: Client,
    pub json: bool,
    /// The agent's own ids, when run inside an agent's terminal.
    pub agent: AgentEnv,
}

/// Runs a client subcommand (everything but `serve`); the exit code says how it went.
pub async fn run(cli: Cli) -> ExitCode {
    let Cli { global, command } = cli;
    match dispatch(&global, command).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("baton: {}", describe(&err));
            ExitCode::FAILURE
        }
    }
}

/// One line for a failure.
fn describe(err: &ClientError) -> String {
    match err {
        ClientError::Api { status: 401, .. } => {
            "the server refused the token (was it regenerated? is BATON_TOKEN stale?)".to_owned()
        }
        other => other.to_string(),
    }
}

fn connect(global: &Global) -> ClientResult<Ctx> {
    let token = std::env::var("BATON_TOKEN").ok();
    let endpoint = discover(
        global.url.as_deref(),
        token.as_deref(),
        global.data_dir.as_deref(),
    )?;
    Ok(Ctx {
        client: Client::new(endpoint, "cli")?,
        json: global.json,
        agent: AgentEnv::from_env(),
    })
}

async fn dispatch(global: &Global, command: Command) -> ClientResult<()> {
    if let Command::Completions { shell } = command {
        let mut cmd = <Cli as clap::CommandFactory>::command();
        clap_complete::generate(shell, &mut cmd, "baton", &mut std::io::stdout());
        return Ok(());
    }
    let ctx = connect(global)?;
    match command {
        Command::Project(c) => super::projects::run(&ctx, c).await,
        Command::Task(c) => super::tasks::run(&ctx, c).await,
        Command::Session(c) => super::sessions::run(&ctx, c).await,
        Command::Msg(c) => super::messages::run(&ctx, c).await,
        Command::Queue(c) => super::queue::run(&ctx, c).await,
        Command::Status { text, session } => {
            super::report::run(&ctx, session, Some(text.join(" ")), None).await
        }
        Command::Progress {
            percent,
            text,
            session,
        } => {
            let text = (!text.is_empty()).then(|| text.join(" "));
            super::report::run(&ctx, session, text, Some(percent)).await
        }
        Command::Serve(_) | Command::Mcp | Command::Completions { .. } | Command::Hook { .. } => {
            Err(ClientError::Setup(
                "this command is not a client command".into(),
            ))
        }
    }
}

impl Ctx {
    /// Prints `value` as JSON, or as `human` says.
    pub fn print(&self, value: &Value, human: impl FnOnce(&Value)) {
        if self.json {
            output::json(value);
        } else {
            human(value);
        }
    }

    /// The project meant: `--project`, else the agent's own, else the only one there is.
    pub async fn project(&self, opt: &ProjectOpt) -> ClientResult<String> {
        if let Some(p) = &opt.project {
            return Ok(p.clone());
        }
        if let Some(p) = &self.agent.project_id {
            return Ok(p.clone());
        }
        let projects = self.client.list_projects().await?;
        match projects.as_slice() {
            [only] => Ok(only.id.clone()),
            [] => Err(ClientError::Setup(
                "there is no project yet: make one with `baton project create NAME`".into(),
            )),
            _ => Err(ClientError::Setup(
                "which project? pass --project ID (see `baton project list`)".into(),
            )),
        }
    }

    /// The task meant: the one given, else this session's only task.
    pub fn task(&self, given: Option<String>) -> ClientResult<String> {
        self.agent.task(given, "give its id")
    }

    /// The session meant: the one given, else this agent's own.
    pub fn session(&self, given: Option<String>) -> ClientResult<String> {
        given
            .or_else(|| self.agent.session_id.clone())
            .ok_or_else(|| {
                ClientError::Setup(
                    "which session? run this inside an agent session, or pass --session ID".into(),
                )
            })
    }
}
