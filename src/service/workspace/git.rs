//! Running the `git` program: always an argv array (never a shell string), in a given folder,
//! with prompts off and messages in English so that answers can be read. Git is the `git`
//! program rather than `gix` or `git2` because Baton needs `worktree add`, `merge-tree
//! --write-tree`, `bundle` and the user's own configuration, attributes and hooks exactly as
//! their terminal sees them; neither library covers all of that.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use tokio::process::Command;

/// Why a git command failed.
#[derive(Debug, thiserror::Error)]
pub enum GitError {
    #[error("the git program cannot be run: {0}")]
    Missing(std::io::Error),
    #[error("git {command} failed: {stderr}")]
    Failed {
        command: String,
        code: Option<i32>,
        stderr: String,
    },
}

/// What a git command printed and how it ended.
#[derive(Debug)]
pub struct Answer {
    pub code: i32,
    pub stdout: Vec<u8>,
    pub stderr: String,
}

impl Answer {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }
}

/// Git in one folder.
#[derive(Clone, Debug)]
pub struct Git {
    dir: PathBuf,
    env: Vec<(String, String)>,
}

impl Git {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self {
            dir: dir.into(),
            env: Vec::new(),
        }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The same, with an extra environment variable (`GIT_INDEX_FILE`, an identity).
    pub fn with_env(mut self, name: &str, value: impl AsRef<OsStr>) -> Self {
        self.env.push((
            name.to_owned(),
            value.as_ref().to_string_lossy().into_owned(),
        ));
        self
    }

    /// Runs `git args…`; any exit code is an answer.
    pub async fn answer<S: AsRef<OsStr>>(&self, args: &[S]) -> Result<Answer, GitError> {
        let mut command = Command::new("git");
        command
            .args(args)
            .current_dir(&self.dir)
            .env("GIT_TERMINAL_PROMPT", "0")
            .env("LC_ALL", "C")
            .env("GIT_PAGER", "cat")
            .env_remove("GIT_DIR")
            .env_remove("GIT_WORK_TREE")
            .env_remove("GIT_INDEX_FILE")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        for (name, value) in &self.env {
            command.env(name, value);
        }
        let output = command.output().await.map_err(GitError::Missing)?;
        Ok(Answer {
            code: output.status.code().unwrap_or(-1),
            stdout: output.stdout,
            stderr: String::from_utf8_lossy(&output.stderr).trim().to_owned(),
        })
    }

    /// Runs `git args…`; a non-zero exit is an error.
    pub async fn run<S: AsRef<OsStr>>(&self, args: &[S]) -> Result<Answer, GitError> {
        let answer = self.answer(args).await?;
        if answer.code != 0 {
            return Err(failed(args, answer));
        }
        Ok(answer)
    }

    /// Runs `git args…` and returns its output, trimmed.
    pub async fn text<S: AsRef<OsStr>>(&self, args: &[S]) -> Result<String, GitError> {
        Ok(self.run(args).await?.text().trim().to_owned())
    }

    /// The repository's top folder, or `None` when the folder is not in a git repository.
    pub async fn toplevel(&self) -> Option<PathBuf> {
        let answer = self.answer(&["rev-parse", "--show-toplevel"]).await.ok()?;
        (answer.code == 0).then(|| PathBuf::from(answer.text().trim()))
    }
}

pub fn failed<S: AsRef<OsStr>>(args: &[S], answer: Answer) -> GitError {
    let command: Vec<String> = args
        .iter()
        .take(3)
        .map(|a| a.as_ref().to_string_lossy().into_owned())
        .collect();
    GitError::Failed {
        command: command.join(" "),
        code: Some(answer.code),
        stderr: answer.stderr,
    }
}
