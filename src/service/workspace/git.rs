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

    /// The repository's top folder, or `None` when the folder is not in a git repository. A
    /// folder with no `.git` in it or above it is answered without running git (every start of
    /// a task in a project that is not a repository asks).
    pub async fn toplevel(&self) -> Option<PathBuf> {
        if !may_be_in_repository(&self.dir) {
            return None;
        }
        let answer = self.answer(&["rev-parse", "--show-toplevel"]).await.ok()?;
        (answer.code == 0).then(|| PathBuf::from(answer.text().trim()))
    }
}

/// Whether `folder` or a folder above it has a `.git` (a folder, or a file for a worktree).
/// Without one, git finds no repository (`GIT_DIR` is never passed on, see [`Git::answer`]).
fn may_be_in_repository(folder: &Path) -> bool {
    !folder.is_absolute() || folder.ancestors().any(|f| f.join(".git").exists())
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_folder_with_no_git_above_it_is_not_in_a_repository() {
        let top = tempfile::tempdir().unwrap();
        let inner = top.path().join("a/b");
        std::fs::create_dir_all(&inner).unwrap();
        // A temporary folder may itself sit in a repository; only what is made here is known.
        let outside = !top.path().ancestors().any(|f| f.join(".git").exists());
        if outside {
            assert!(!may_be_in_repository(&inner));
        }
        std::fs::create_dir(top.path().join("a/.git")).unwrap();
        assert!(may_be_in_repository(&inner));
        assert!(may_be_in_repository(&top.path().join("a")));
        // A worktree's `.git` is a file.
        let worktree = top.path().join("w");
        std::fs::create_dir(&worktree).unwrap();
        std::fs::write(worktree.join(".git"), "gitdir: elsewhere").unwrap();
        assert!(may_be_in_repository(&worktree));
        assert!(may_be_in_repository(Path::new("relative")));
    }
}
