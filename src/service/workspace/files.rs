//! A task's workspace files: listing a folder, reading a file (size-capped), running a file
//! by its shebang or extension as a new session. Every path is relative to the workspace root
//! and must stay inside it: `..`, absolute paths and symlinks that point out are refused (400).

use std::io::Read;
use std::path::{Component, Path, PathBuf};
use std::time::UNIX_EPOCH;

use super::Service;
use crate::model::{FileEntry, NewSession, RunFile, Session};
use crate::service::error::{ServiceError, ServiceResult};
use crate::service::{lookup, Actor};
use crate::store::entity::workspace;
use sea_orm::EntityTrait;

/// How much of a file `/files/content` returns.
pub const CONTENT_CAP: u64 = 1024 * 1024;

/// `relative` under `root`, refused when it would leave it. Pure on the words of the path;
/// [`inside`] then checks the file system (symlinks).
pub fn join(root: &Path, relative: &str) -> Result<PathBuf, &'static str> {
    if relative.contains('\0') {
        return Err("must not contain NUL");
    }
    let path = Path::new(relative);
    let mut out = root.to_path_buf();
    for part in path.components() {
        match part {
            Component::Normal(p) => out.push(p),
            Component::CurDir => {}
            Component::ParentDir => {
                return Err("must not contain '..': it would leave the workspace")
            }
            Component::RootDir | Component::Prefix(_) => {
                return Err("must be relative to the workspace root, not absolute")
            }
        }
    }
    Ok(out)
}

/// `path` resolved (symlinks followed) when it stays inside `root`.
fn inside(root: &Path, path: &Path) -> ServiceResult<PathBuf> {
    let real_root = root.canonicalize().map_err(|e| {
        ServiceError::Unavailable(format!("the workspace folder cannot be read: {e}"))
    })?;
    let real = path
        .canonicalize()
        .map_err(|_| ServiceError::not_found("file", path.display().to_string()))?;
    if !real.starts_with(&real_root) {
        return Err(ServiceError::invalid(
            "path",
            "leaves the workspace (a symlink pointing out)",
        ));
    }
    Ok(real)
}

/// How to run `path`: its argv, or `None` when it is not runnable.
pub fn runner(path: &Path, head: &[u8], executable: bool) -> Option<Vec<String>> {
    let file = path.display().to_string();
    if head.starts_with(b"#!") && executable {
        return Some(vec![file]);
    }
    if head.starts_with(b"#!") {
        // `#!/usr/bin/env python3 -u` → python3 -u FILE (argv, never a shell).
        let line = String::from_utf8_lossy(head[2..].split(|b| *b == b'\n').next()?).into_owned();
        let mut words: Vec<String> = line.split_whitespace().map(str::to_owned).collect();
        if words.first().is_some_and(|w| w.ends_with("/env")) {
            words.remove(0);
        }
        if words.is_empty() {
            return None;
        }
        words.push(file);
        return Some(words);
    }
    let by_extension = match path.extension().and_then(|e| e.to_str()) {
        Some("sh") => Some("sh"),
        Some("bash") => Some("bash"),
        Some("py") => Some("python3"),
        Some("js" | "mjs" | "cjs") => Some("node"),
        Some("rb") => Some("ruby"),
        Some("pl") => Some("perl"),
        _ => None,
    };
    match by_extension {
        Some(program) => Some(vec![program.to_owned(), file]),
        None if executable => Some(vec![file]),
        None => None,
    }
}

/// Bytes of the files under `dir` (symlinks not followed).
pub fn disk_usage(dir: &Path) -> u64 {
    let mut total = 0;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(read) = std::fs::read_dir(&d) else {
            continue;
        };
        for entry in read.flatten() {
            let Ok(meta) = entry.metadata() else { continue };
            if meta.is_dir() {
                stack.push(entry.path());
            } else if meta.is_file() {
                total += meta.len();
            }
        }
    }
    total
}

fn is_executable(meta: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::PermissionsExt;
    meta.is_file() && meta.permissions().mode() & 0o111 != 0
}

fn head_of(path: &Path) -> Vec<u8> {
    let mut head = vec![0; 256];
    let n = std::fs::File::open(path)
        .and_then(|mut f| f.read(&mut head))
        .unwrap_or(0);
    head.truncate(n);
    head
}

impl Service {
    /// The folder a task's files live in: its worktree, or the shared project folder.
    async fn files_root(&self, task_id: &str, actor: &Actor) -> ServiceResult<(PathBuf, String)> {
        let task = lookup::task(&self.db, task_id).await?;
        actor.may_read(&task.project_id)?;
        if let Some(row) = workspace::Entity::find_by_id(task_id).one(&self.db).await? {
            return Ok((PathBuf::from(row.path), task.project_id));
        }
        let project = lookup::project(&self.db, &task.project_id).await?;
        match project.base_path {
            Some(p) => Ok((PathBuf::from(p), task.project_id)),
            None => Err(ServiceError::conflict(
                "no_workspace",
                "the task has no worktree and its project no folder",
                serde_json::json!({ "taskId": task_id }),
            )),
        }
    }

    /// `GET /api/tasks/{id}/files?path=`: a folder's entries, folders first, by name.
    pub async fn list_files(
        &self,
        task_id: &str,
        relative: Option<&str>,
        actor: &Actor,
    ) -> ServiceResult<Vec<FileEntry>> {
        let (root, _) = self.files_root(task_id, actor).await?;
        let relative = relative.unwrap_or("");
        let path = join(&root, relative).map_err(|p| ServiceError::invalid("path", p))?;
        let real = inside(&root, &path)?;
        if !real.is_dir() {
            return Err(ServiceError::invalid("path", "is not a folder"));
        }
        let base = Path::new(relative);
        let mut entries = Vec::new();
        let read = std::fs::read_dir(&real)
            .map_err(|e| ServiceError::Unavailable(format!("the folder cannot be read: {e}")))?;
        for entry in read.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name == ".git" {
                continue;
            }
            let Ok(link) = entry.metadata() else { continue };
            let meta = std::fs::metadata(entry.path()).unwrap_or(link.clone());
            let kind = if link.file_type().is_symlink() {
                "symlink"
            } else if meta.is_dir() {
                "dir"
            } else {
                "file"
            };
            let runnable = meta.is_file()
                && runner(&entry.path(), &head_of(&entry.path()), is_executable(&meta)).is_some();
            entries.push(FileEntry {
                path: base.join(&name).display().to_string(),
                name,
                kind: kind.to_owned(),
                size: if meta.is_file() { meta.len() } else { 0 },
                modified_at: meta
                    .modified()
                    .ok()
                    .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
                    .map(|d| d.as_millis() as i64),
                runnable,
            });
        }
        entries.sort_by(|a, b| (a.kind != "dir", &a.name).cmp(&(b.kind != "dir", &b.name)));
        Ok(entries)
    }

    /// `GET /api/tasks/{id}/files/content?path=`: the first [`CONTENT_CAP`] bytes of a file,
    /// and whether that was all of it.
    pub async fn file_content(
        &self,
        task_id: &str,
        relative: Option<&str>,
        actor: &Actor,
    ) -> ServiceResult<(Vec<u8>, bool)> {
        let (root, _) = self.files_root(task_id, actor).await?;
        let relative = relative
            .filter(|r| !r.is_empty())
            .ok_or_else(|| ServiceError::invalid("path", "must name a file"))?;
        let path = join(&root, relative).map_err(|p| ServiceError::invalid("path", p))?;
        let real = inside(&root, &path)?;
        if !real.is_file() {
            return Err(ServiceError::invalid("path", "is not a file"));
        }
        let mut bytes = Vec::new();
        std::fs::File::open(&real)
            .and_then(|f| f.take(CONTENT_CAP + 1).read_to_end(&mut bytes))
            .map_err(|e| ServiceError::Unavailable(format!("the file cannot be read: {e}")))?;
        let truncated = bytes.len() as u64 > CONTENT_CAP;
        bytes.truncate(CONTENT_CAP as usize);
        Ok((bytes, truncated))
    }

    /// `POST /api/tasks/{id}/files/run`: runs a workspace file (by its shebang, executable bit
    /// or extension; argv only) as a new session of the task, in its workspace.
    pub async fn run_file(
        &self,
        task_id: &str,
        input: RunFile,
        actor: &Actor,
    ) -> ServiceResult<Session> {
        let (root, project_id) = self.files_root(task_id, actor).await?;
        actor.may_write(&project_id)?;
        let path = join(&root, &input.path).map_err(|p| ServiceError::invalid("path", p))?;
        let real = inside(&root, &path)?;
        let meta = std::fs::metadata(&real)
            .map_err(|_| ServiceError::not_found("file", input.path.clone()))?;
        if !meta.is_file() {
            return Err(ServiceError::invalid("path", "is not a file"));
        }
        let mut argv = runner(&real, &head_of(&real), is_executable(&meta)).ok_or_else(|| {
            ServiceError::invalid(
                "path",
                "is not runnable: no shebang, no executable bit and no known extension",
            )
        })?;
        let args = input.args.unwrap_or_default();
        if args.iter().any(|a| a.contains('\0')) {
            return Err(ServiceError::invalid("args", "must not contain NUL bytes"));
        }
        argv.extend(args);
        let session = NewSession {
            project_id,
            name: Some(format!("run {}", input.path)),
            task_ids: Some(vec![task_id.to_owned()]),
            command: Some(argv),
            cwd: Some(root.display().to_string()),
            confirm: input.confirm,
            ..Default::default()
        };
        self.create_session(session, actor).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_that_leave_the_workspace_are_refused_by_their_words() {
        let root = Path::new("/w");
        assert_eq!(join(root, "a/b.txt").unwrap(), Path::new("/w/a/b.txt"));
        assert_eq!(join(root, "").unwrap(), Path::new("/w"));
        assert_eq!(join(root, "./a").unwrap(), Path::new("/w/a"));
        for bad in ["..", "../x", "a/../../x", "a/..", "/etc/passwd", "a\0b"] {
            assert!(join(root, bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn files_run_by_shebang_bit_or_extension() {
        let p = Path::new("/w/x");
        assert_eq!(runner(p, b"#!/bin/sh\n", true), Some(vec!["/w/x".into()]));
        assert_eq!(
            runner(p, b"#!/usr/bin/env python3 -u\nprint()", false),
            Some(vec!["python3".into(), "-u".into(), "/w/x".into()])
        );
        assert_eq!(
            runner(Path::new("/w/t.sh"), b"echo", false),
            Some(vec!["sh".into(), "/w/t.sh".into()])
        );
        assert_eq!(
            runner(Path::new("/w/bin"), b"\x7fELF", true),
            Some(vec!["/w/bin".into()])
        );
        assert_eq!(runner(Path::new("/w/notes.md"), b"# hi", false), None);
    }
}
