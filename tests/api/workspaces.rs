//! Workspaces over the real server on real repositories made by the tests (Debian's `git`):
//! each task in its own worktree and branch, `.worktreeinclude`, the diff of what an agent
//! changed.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{json, Value};

use crate::common::{wait_task, Server};

/// Runs git in `dir` (argv), asserting it succeeds; its output.
pub fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_AUTHOR_NAME", "Test")
        .env("GIT_AUTHOR_EMAIL", "test@example.com")
        .env("GIT_COMMITTER_NAME", "Test")
        .env("GIT_COMMITTER_EMAIL", "test@example.com")
        .output()
        .expect("git runs");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// A repository on `main` with a few committed files, and `.env` ignored but listed in
/// `.worktreeinclude`.
pub fn repository() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    git(root, &["init", "-q", "-b", "main"]);
    git(root, &["config", "user.name", "Test"]);
    git(root, &["config", "user.email", "test@example.com"]);
    std::fs::write(root.join("README.md"), "# app\n\nline two\nline three\n").unwrap();
    std::fs::write(root.join("gone.txt"), "to be deleted\n").unwrap();
    std::fs::write(
        root.join("old.txt"),
        "a file that will be renamed, long enough to be recognised\n".repeat(4),
    )
    .unwrap();
    std::fs::create_dir(root.join("src")).unwrap();
    std::fs::write(root.join("src/lib.rs"), "pub fn one() -> u8 {\n    1\n}\n").unwrap();
    std::fs::write(root.join(".gitignore"), ".env\ntarget/\n").unwrap();
    std::fs::write(root.join(".worktreeinclude"), ".env\n").unwrap();
    git(root, &["add", "-A"]);
    git(root, &["commit", "-q", "-m", "start"]);
    std::fs::write(root.join(".env"), "SECRET=local\n").unwrap();
    dir
}

impl Server {
    /// A project on `repo`.
    pub async fn repo_project(&self, repo: &Path, settings: Value) -> String {
        let r = self
            .post(
                "/api/projects",
                json!({ "name": "repo", "basePath": repo, "settings": settings }),
            )
            .await;
        assert_eq!(r.status, 201, "{:?}", r.body);
        r.id()
    }

    /// Runs `script` (sh) as a session of `task` and waits for it to end; the session.
    pub async fn run_in_task(&self, project: &str, task: &str, script: &str) -> Value {
        let r = self
            .post(
                "/api/sessions",
                json!({ "projectId": project, "taskIds": [task], "command": ["sh", "-c", script] }),
            )
            .await;
        assert_eq!(r.status, 201, "{:?}", r.body);
        self.wait_session(&r.id(), |v| v["status"] != "running")
            .await
    }
}

#[tokio::test]
async fn two_tasks_get_their_own_worktrees_and_branches() {
    let s = Server::start().await;
    let repo = repository();
    let project = s.repo_project(repo.path(), json!({})).await;
    let a = s.task(&project, json!({ "title": "Fix login" })).await;
    let b = s.task(&project, json!({ "title": "Add search" })).await;

    let before = s.get(&format!("/api/tasks/{a}/workspace")).await;
    assert_eq!(before.status, 200);
    assert_eq!(before.body["mode"], "worktree");
    assert!(before.body["path"].is_null(), "made on the first session");

    let mut events = s.events().await;
    let ran = s
        .run_in_task(&project, &a, "pwd > where.txt; cat .env > env.txt")
        .await;
    events.next_named("workspace:updated").await;
    s.run_in_task(&project, &b, "pwd > where.txt").await;
    let wa = s.get(&format!("/api/tasks/{a}/workspace")).await.body;
    let wb = s.get(&format!("/api/tasks/{b}/workspace")).await.body;
    let (pa, pb) = (
        PathBuf::from(wa["path"].as_str().unwrap()),
        PathBuf::from(wb["path"].as_str().unwrap()),
    );
    assert_ne!(pa, pb);
    assert!(pa.starts_with(&s.data_dir), "{pa:?} under the data folder");
    assert_eq!(ran["cwd"], wa["path"]);
    assert_eq!(
        std::fs::read_to_string(pa.join("where.txt"))
            .unwrap()
            .trim(),
        pa.canonicalize().unwrap().display().to_string()
    );
    assert!(wa["branch"]
        .as_str()
        .unwrap()
        .starts_with("baton/fix-login-"));
    assert!(wb["branch"]
        .as_str()
        .unwrap()
        .starts_with("baton/add-search-"));
    assert_eq!(wa["baseBranch"], "main");
    assert_eq!(
        git(&pa, &["branch", "--show-current"]),
        wa["branch"].as_str().unwrap()
    );
    // `.worktreeinclude` brought the ignored `.env` along.
    assert_eq!(
        std::fs::read_to_string(pa.join("env.txt")).unwrap(),
        "SECRET=local\n"
    );
    // The project folder is untouched.
    assert!(!repo.path().join("where.txt").exists());
    assert_eq!(git(repo.path(), &["branch", "--show-current"]), "main");

    // Project stats show the disk each worktree uses.
    std::fs::write(pa.join("big.bin"), vec![7u8; 100_000]).unwrap();
    let stats = s.get(&format!("/api/projects/{project}/stats")).await.body;
    let disk = |task: &str| {
        stats["workspaces"]
            .as_array()
            .unwrap()
            .iter()
            .find(|w| w["taskId"] == task)
            .unwrap()["bytes"]
            .as_u64()
            .unwrap()
    };
    assert!(disk(&a) >= 100_000 + disk(&b) - 1_000, "{stats}");
    assert!(disk(&b) > 0);

    // A second session of the same task works in the same worktree.
    let again = s.run_in_task(&project, &a, "true").await;
    assert_eq!(again["cwd"], wa["path"]);
}

#[tokio::test]
async fn a_shared_or_non_git_project_says_why() {
    let s = Server::start().await;
    let (plain, _dir) = s.project_with_folder().await;
    let t = s.task(&plain, json!({ "title": "t" })).await;
    let w = s.get(&format!("/api/tasks/{t}/workspace")).await.body;
    assert_eq!(w["mode"], "shared");
    assert!(w["reason"]
        .as_str()
        .unwrap()
        .contains("not a git repository"));
    let repo = repository();
    let shared = s
        .repo_project(repo.path(), json!({ "workspaceMode": "shared" }))
        .await;
    let t = s.task(&shared, json!({ "title": "t" })).await;
    let ran = s.run_in_task(&shared, &t, "true").await;
    assert_eq!(ran["cwd"], json!(repo.path()));
    let r = s.get(&format!("/api/tasks/{t}/diff")).await;
    assert_eq!(r.status, 409);
    assert_eq!(r.body["code"], "no_workspace");
    let bad = s
        .post(
            "/api/projects",
            json!({ "name": "x", "settings": { "workspaceMode": "copy" } }),
        )
        .await;
    assert_eq!(bad.status, 400);
    assert_eq!(bad.field(), "settings.workspaceMode");
}

#[tokio::test]
async fn the_diff_lists_exactly_what_the_agent_changed() {
    let s = Server::start().await;
    let repo = repository();
    let project = s.repo_project(repo.path(), json!({})).await;
    let t = s.task(&project, json!({ "title": "change things" })).await;
    // Committed: a modification and a rename; uncommitted: a deletion, a new text file and a
    // new binary file (untracked), an ignored build output (not in the diff).
    let script = "set -e
        printf 'pub fn one() -> u8 {\\n    2\\n}\\n' > src/lib.rs
        git mv old.txt new.txt
        git -c user.name=A -c user.email=a@x commit -q -am work
        rm gone.txt
        printf 'hello\\n' > notes.md
        printf '\\000\\001\\002binary' > logo.png
        mkdir -p target && echo built > target/out";
    s.run_in_task(&project, &t, script).await;
    let r = s.get(&format!("/api/tasks/{t}/diff")).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let files: Vec<(String, String, u64, u64, bool)> = r.body["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["path"].as_str().unwrap().to_owned(),
                f["status"].as_str().unwrap().to_owned(),
                f["additions"].as_u64().unwrap(),
                f["deletions"].as_u64().unwrap(),
                f["binary"].as_bool().unwrap(),
            )
        })
        .collect();
    let expect =
        |p: &str, st: &str, a: u64, d: u64, bin: bool| (p.to_owned(), st.to_owned(), a, d, bin);
    let mut files_sorted = files.clone();
    files_sorted.sort();
    assert_eq!(
        files_sorted,
        vec![
            expect("gone.txt", "deleted", 0, 1, false),
            expect("logo.png", "added", 0, 0, true),
            expect("new.txt", "renamed", 0, 0, false),
            expect("notes.md", "added", 1, 0, false),
            expect("src/lib.rs", "modified", 1, 1, false),
        ]
    );
    let renamed = r.body["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["path"] == "new.txt")
        .unwrap();
    assert_eq!(renamed["oldPath"], "old.txt");
    let lib = r.body["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["path"] == "src/lib.rs")
        .unwrap();
    assert!(lib["hunks"][0]["lines"]
        .as_array()
        .unwrap()
        .contains(&json!("+    2")));
    assert_eq!(
        (r.body["additions"].as_u64(), r.body["deletions"].as_u64()),
        (Some(2), Some(2))
    );
    assert_eq!(r.body["truncated"], false);
    assert_eq!(r.body["baseBranch"], "main");
    // The worktree's index is untouched: the new files are still untracked there.
    let path = s.get(&format!("/api/tasks/{t}/workspace")).await.body["path"]
        .as_str()
        .unwrap()
        .to_owned();
    let status = git(Path::new(&path), &["status", "--porcelain"]);
    assert!(status.contains("?? notes.md"), "{status}");
    assert!(status.contains("D gone.txt"), "{status}");
}

/// The task's worktree folder.
async fn worktree(s: &Server, task: &str) -> PathBuf {
    let w = s.get(&format!("/api/tasks/{task}/workspace")).await.body;
    PathBuf::from(w["path"].as_str().expect("a worktree"))
}

#[tokio::test]
async fn sibling_conflicts_are_flagged_early_and_a_conflicting_merge_changes_nothing() {
    let s = Server::start().await;
    let repo = repository();
    let project = s.repo_project(repo.path(), json!({})).await;
    let a = s.task(&project, json!({ "title": "edit readme A" })).await;
    let b = s.task(&project, json!({ "title": "edit readme B" })).await;
    let c = s.task(&project, json!({ "title": "other file" })).await;
    let mut events = s.events().await;
    // A and B change the same line of README.md (A commits, B leaves it uncommitted); C adds
    // a file of its own.
    s.run_in_task(
        &project,
        &a,
        "sed -i 's/line two/line two by A/' README.md && git -c user.name=A -c user.email=a@x commit -qam A",
    )
    .await;
    s.run_in_task(&project, &b, "sed -i 's/line two/line two by B/' README.md")
        .await;
    s.run_in_task(&project, &c, "echo new > other.txt").await;

    // Flagged by the background check after the runs ended, for both tasks, before anyone
    // asks.
    let mut flagged = std::collections::BTreeSet::new();
    while flagged.len() < 2 {
        let e = events.next_named("task:conflicts").await;
        if !e["data"]["conflicts"].as_array().unwrap().is_empty() {
            flagged.insert(e["data"]["taskId"].as_str().unwrap().to_owned());
        }
    }
    assert_eq!(flagged, [a.clone(), b.clone()].into_iter().collect());

    let ca = s.get(&format!("/api/tasks/{a}/conflicts")).await;
    assert_eq!(ca.status, 200, "{:?}", ca.body);
    assert_eq!(
        ca.body,
        json!([{ "taskId": b, "branch": s.get(&format!("/api/tasks/{b}/workspace")).await.body["branch"], "files": ["README.md"] }])
    );
    let cb = s.get(&format!("/api/tasks/{b}/conflicts")).await.body;
    assert_eq!(cb[0]["taskId"], json!(a));
    assert_eq!(
        s.get(&format!("/api/tasks/{c}/conflicts")).await.body,
        json!([])
    );
    // Merge A (a fast-forward; the project folder has main checked out and follows).
    let merged = s.post(&format!("/api/tasks/{a}/merge"), json!({})).await;
    assert_eq!(merged.status, 200, "{:?}", merged.body);
    assert_eq!(merged.body["fastForward"], true);
    assert_eq!(
        git(repo.path(), &["rev-parse", "main"]),
        merged.body["commit"].as_str().unwrap()
    );
    assert!(std::fs::read_to_string(repo.path().join("README.md"))
        .unwrap()
        .contains("line two by A"));

    // B now conflicts with main itself; committing and merging it changes nothing.
    let r = s.post(&format!("/api/tasks/{b}/merge"), json!({})).await;
    assert_eq!(r.status, 409);
    assert_eq!(r.body["code"], "uncommitted_changes");
    let r = s
        .post(
            &format!("/api/tasks/{b}/commit"),
            json!({ "message": "B's edit" }),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let main_before = git(repo.path(), &["rev-parse", "main"]);
    let readme_before = std::fs::read(repo.path().join("README.md")).unwrap();
    let r = s.post(&format!("/api/tasks/{b}/merge"), json!({})).await;
    assert_eq!(r.status, 409, "{:?}", r.body);
    assert_eq!(r.body["code"], "merge_conflict");
    assert_eq!(r.body["details"]["files"], json!(["README.md"]));
    assert_eq!(git(repo.path(), &["rev-parse", "main"]), main_before);
    assert_eq!(
        std::fs::read(repo.path().join("README.md")).unwrap(),
        readme_before
    );
    assert_eq!(git(repo.path(), &["status", "--porcelain"]), "");
    let cb = s.get(&format!("/api/tasks/{b}/conflicts")).await.body;
    assert!(
        cb.as_array()
            .unwrap()
            .iter()
            .any(|c| c["taskId"].is_null() && c["branch"] == "main"),
        "{cb}"
    );

    // C merges with a merge commit (main moved on since C branched).
    s.post(
        &format!("/api/tasks/{c}/commit"),
        json!({ "message": "other" }),
    )
    .await;
    let r = s
        .post(
            &format!("/api/tasks/{c}/merge"),
            json!({ "strategy": "fast_forward_only" }),
        )
        .await;
    assert_eq!(r.body["code"], "not_fast_forward");
    let r = s.post(&format!("/api/tasks/{c}/merge"), json!({})).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.body["fastForward"], false);
    let parents = git(repo.path(), &["rev-list", "--parents", "-n", "1", "main"]);
    assert_eq!(parents.split(' ').count(), 3, "a merge commit: {parents}");
    assert!(repo.path().join("other.txt").exists());
    let r = s.post(&format!("/api/tasks/{c}/merge"), json!({})).await;
    assert_eq!(r.body["code"], "nothing_to_merge");
}

#[tokio::test]
async fn a_pull_request_without_gh_says_what_is_missing() {
    // A PATH with git and sh but no gh.
    let bin = tempfile::tempdir().unwrap();
    for program in ["git", "sh"] {
        let found = Command::new("sh")
            .args(["-c", &format!("command -v {program}")])
            .output()
            .unwrap();
        let path = String::from_utf8_lossy(&found.stdout).trim().to_owned();
        std::os::unix::fs::symlink(path, bin.path().join(program)).unwrap();
    }
    let s = Server::start_with_env(&[("PATH", bin.path().to_str().unwrap())]).await;
    let repo = repository();
    let project = s.repo_project(repo.path(), json!({})).await;
    let t = s.task(&project, json!({ "title": "pr" })).await;
    s.run_in_task(&project, &t, "echo x > x.txt").await;
    let r = s.post_empty(&format!("/api/tasks/{t}/pull-request")).await;
    assert_eq!(r.status, 422, "{:?}", r.body);
    assert_eq!(r.body["code"], "gh_missing");
    assert!(r.body["error"].as_str().unwrap().contains("gh auth login"));
    let _ = worktree(&s, &t).await;
}

/// Every file under `dir` but `.git`: path → (bytes, executable).
fn files_of(dir: &Path) -> std::collections::BTreeMap<String, (Vec<u8>, bool)> {
    use std::os::unix::fs::PermissionsExt;
    let mut out = std::collections::BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let entry = entry.unwrap();
            let path = entry.path();
            if entry.file_name() == ".git" {
                continue;
            }
            if path.is_dir() {
                stack.push(path);
            } else {
                let mode = entry.metadata().unwrap().permissions().mode();
                let rel = path.strip_prefix(dir).unwrap().display().to_string();
                out.insert(rel, (std::fs::read(&path).unwrap(), mode & 0o111 != 0));
            }
        }
    }
    out
}

#[tokio::test]
async fn removal_with_unsaved_work_is_refused_and_archive_restore_is_byte_exact() {
    let s = Server::start().await;
    let repo = repository();
    let project = s.repo_project(repo.path(), json!({})).await;
    let t = s.task(&project, json!({ "title": "keep my work" })).await;
    let script = "set -e
        echo committed >> README.md
        git -c user.name=A -c user.email=a@x commit -qam one
        printf 'pub fn one() -> u8 { 7 }\\n' > src/lib.rs
        rm gone.txt
        mkdir -p deep/er && printf 'untracked\\n' > deep/er/new.txt
        printf '\\000\\377\\001 binary' > blob.bin
        printf '#!/bin/sh\\necho hi\\n' > run.sh && chmod +x run.sh";
    s.run_in_task(&project, &t, script).await;
    let path = worktree(&s, &t).await;

    let r = s.delete(&format!("/api/tasks/{t}/workspace")).await;
    assert_eq!(r.status, 409, "{:?}", r.body);
    assert_eq!(r.body["code"], "would_lose_work");
    let mut uncommitted: Vec<&str> = r.body["details"]["uncommitted"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    uncommitted.sort();
    assert_eq!(
        uncommitted,
        [
            "blob.bin",
            "deep/er/new.txt",
            "gone.txt",
            "run.sh",
            "src/lib.rs"
        ]
    );
    assert_eq!(r.body["details"]["commits"].as_array().unwrap().len(), 1);
    assert!(r.body["details"]["commits"][0]
        .as_str()
        .unwrap()
        .ends_with(" one"));
    assert!(path.is_dir(), "nothing removed");
    // An agent may not force it.
    let (_, token) = s.agent_token(&project, repo.path()).await;
    let forced = reqwest::Client::new()
        .delete(format!("{}/api/tasks/{t}/workspace?force=true", s.url))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(forced.status(), 403);
    assert!(path.is_dir());

    // Nor may the task be deleted while Baton keeps its worktree.
    let r = s.delete(&format!("/api/tasks/{t}")).await;
    assert_eq!(r.status, 409, "{:?}", r.body);
    assert_eq!(r.body["code"], "has_workspace");

    let before = files_of(&path);
    let status_before = git(&path, &["status", "--porcelain"]);
    let branch = s.get(&format!("/api/tasks/{t}/workspace")).await.body["branch"].clone();
    let archived = s.post_empty(&format!("/api/tasks/{t}/archive")).await;
    assert_eq!(archived.status, 200, "{:?}", archived.body);
    let id = archived.body["id"].as_str().unwrap().to_owned();
    assert!(!path.exists(), "the worktree is gone");
    let branches = git(repo.path(), &["branch", "--list", branch.as_str().unwrap()]);
    assert_eq!(branches, "", "the branch is gone");
    assert_eq!(
        s.get(&format!("/api/tasks/{t}/workspace")).await.body["path"],
        Value::Null
    );
    let listed = s
        .get(&format!("/api/archives?projectId={project}"))
        .await
        .body;
    assert_eq!(listed[0]["id"], json!(id));
    assert!(listed[0]["bytes"].as_u64().unwrap() > 0);
    let files = s.get(&format!("/api/archives/{id}/files")).await.body;
    let mut names: Vec<(String, String)> = files
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["path"].as_str().unwrap().into(),
                f["status"].as_str().unwrap().into(),
            )
        })
        .collect();
    names.sort();
    let pair = |p: &str, st: &str| (p.to_owned(), st.to_owned());
    assert_eq!(
        names,
        [
            pair("README.md", "modified"),
            pair("blob.bin", "added"),
            pair("deep/er/new.txt", "added"),
            pair("gone.txt", "deleted"),
            pair("run.sh", "added"),
            pair("src/lib.rs", "modified"),
        ]
    );

    let restored = s.post_empty(&format!("/api/archives/{id}/restore")).await;
    assert_eq!(restored.status, 200, "{:?}", restored.body);
    let back = PathBuf::from(restored.body["path"].as_str().unwrap());
    assert_eq!(files_of(&back), before, "the same files, byte for byte");
    assert_eq!(git(&back, &["status", "--porcelain"]), status_before);
    assert_eq!(restored.body["branch"], branch);
    let again = s.post_empty(&format!("/api/archives/{id}/restore")).await;
    assert_eq!(again.status, 409);

    // Forced by the person, it goes; a worktree with nothing unsaved goes without forcing.
    let r = s
        .delete(&format!("/api/tasks/{t}/workspace?force=true"))
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert!(!back.exists());
    let clean = s.task(&project, json!({ "title": "nothing" })).await;
    s.run_in_task(&project, &clean, "true").await;
    let clean_path = worktree(&s, &clean).await;
    let r = s.delete(&format!("/api/tasks/{clean}/workspace")).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert!(!clean_path.exists());
}

#[tokio::test]
async fn workspace_files_are_listed_read_and_run_and_never_outside_it() {
    let s = Server::start().await;
    let repo = repository();
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("secret.txt"), "outside").unwrap();
    let project = s.repo_project(repo.path(), json!({})).await;
    let t = s.task(&project, json!({ "title": "files" })).await;
    let script = format!(
        "set -e
        mkdir -p scripts
        printf '#!/bin/sh\\necho ran-with \"$@\"\\n' > scripts/hello.sh
        printf 'echo by-extension\\n' > scripts/plain.sh
        ln -s {} scripts/escape
        ln -s ../README.md scripts/readme-link",
        outside.path().join("secret.txt").display()
    );
    s.run_in_task(&project, &t, &script).await;

    let root = s.get(&format!("/api/tasks/{t}/files")).await;
    assert_eq!(root.status, 200, "{:?}", root.body);
    let names: Vec<&str> = root
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    assert_eq!(names[..2], ["scripts", "src"], "folders first: {names:?}");
    assert!(names.contains(&"README.md") && !names.contains(&".git"));
    let scripts = s
        .get(&format!("/api/tasks/{t}/files?path=scripts"))
        .await
        .body;
    let entry = |n: &str| {
        scripts
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["name"] == n)
            .unwrap()
            .clone()
    };
    assert_eq!(entry("hello.sh")["runnable"], true);
    assert_eq!(entry("hello.sh")["path"], "scripts/hello.sh");
    assert_eq!(entry("escape")["kind"], "symlink");

    let r = s
        .get(&format!("/api/tasks/{t}/files/content?path=README.md"))
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.headers["x-baton-truncated"], "false");
    let raw = s
        .send(s.request(
            reqwest::Method::GET,
            &format!("/api/tasks/{t}/files/content?path=scripts/readme-link"),
        ))
        .await;
    assert_eq!(raw.status, 200, "a symlink that stays inside is fine");

    for bad in [
        "../",
        "..%2F..%2Fetc%2Fpasswd",
        "%2Fetc%2Fpasswd",
        "scripts%2Fescape",
        "src%2F..%2F..%2Fx",
    ] {
        let r = s
            .get(&format!("/api/tasks/{t}/files/content?path={bad}"))
            .await;
        assert_eq!(r.status, 400, "{bad}: {:?}", r.body);
        assert_eq!(r.field(), "path", "{bad}");
        let r = s.get(&format!("/api/tasks/{t}/files?path={bad}")).await;
        assert_eq!(r.status, 400, "{bad}");
    }
    let r = s
        .post(
            &format!("/api/tasks/{t}/files/run"),
            json!({ "path": "scripts/escape" }),
        )
        .await;
    assert_eq!(r.status, 400);
    let r = s
        .post(
            &format!("/api/tasks/{t}/files/run"),
            json!({ "path": "README.md" }),
        )
        .await;
    assert_eq!(r.status, 400, "not runnable");

    let r = s
        .post(
            &format!("/api/tasks/{t}/files/run"),
            json!({ "path": "scripts/hello.sh", "args": ["a b", "$HOME"] }),
        )
        .await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    let mut term = s.terminal(&r.id(), "?offset=0").await;
    term.until("ran-with a b $HOME").await;
    let r = s
        .post(
            &format!("/api/tasks/{t}/files/run"),
            json!({ "path": "scripts/plain.sh" }),
        )
        .await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    assert_eq!(
        r.body["command"],
        json!([
            "sh",
            format!(
                "{}/scripts/plain.sh",
                worktree(&s, &t).await.canonicalize().unwrap().display()
            )
        ])
    );
}

#[tokio::test]
async fn setup_prepares_the_worktree_and_a_failed_setup_stops_the_task() {
    let s = Server::start().await;
    let repo = repository();
    let r = s
        .post(
            "/api/agents",
            json!({ "id": "batch", "name": "batch", "program": crate::common::agent_bin(),
                    "args": ["--batch"], "promptMode": "none", "exitMeansDone": true }),
        )
        .await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    let good = s
        .repo_project(
            repo.path(),
            json!({ "setup": ["sh", "-c", "echo installing; echo ready > prepared.txt"] }),
        )
        .await;
    let t = s.task(&good, json!({ "title": "prepared" })).await;
    let ran = s
        .run_in_task(&good, &t, "cat prepared.txt > seen.txt")
        .await;
    let path = PathBuf::from(ran["cwd"].as_str().unwrap());
    assert_eq!(
        std::fs::read_to_string(path.join("seen.txt")).unwrap(),
        "ready\n"
    );
    let sessions = s.get(&format!("/api/sessions?projectId={good}")).await.body;
    assert!(
        sessions
            .as_array()
            .unwrap()
            .iter()
            .any(|x| x["name"] == "setup: prepared"),
        "the setup ran as a session of its own: {sessions}"
    );

    let repo2 = repository();
    let bad = s
        .repo_project(
            repo2.path(),
            json!({ "setup": ["sh", "-c", "echo 'npm ERR! missing dependency left-pad' >&2; exit 3"] }),
        )
        .await;
    let t = s.task(&bad, json!({ "title": "never starts" })).await;
    let r = s
        .post(
            &format!("/api/tasks/{t}/execute"),
            json!({ "agentId": "batch" }),
        )
        .await;
    assert!(r.status < 300, "{:?}", r.body);
    let failed = wait_task(&s, &t, |t| t["status"] == "failed").await;
    let reason = failed["execution"]["reason"].as_str().unwrap();
    assert!(reason.contains("setup failed (exit 3)"), "{reason}");
    assert!(reason.contains("missing dependency left-pad"), "{reason}");
    // The fresh worktree went away with it; the agent never ran.
    assert_eq!(
        s.get(&format!("/api/tasks/{t}/workspace")).await.body["path"],
        Value::Null
    );
    assert_eq!(git(repo2.path(), &["branch", "--list", "baton/*"]), "");
    let runs = s.get(&format!("/api/tasks/{t}/runs")).await.body;
    assert!(
        runs.as_array()
            .unwrap()
            .iter()
            .all(|r| r["endReason"] != "exited"),
        "{runs}"
    );
}

#[tokio::test]
async fn the_run_command_gets_a_port_and_teardown_runs_before_removal() {
    let s = Server::start().await;
    let repo = repository();
    let marks = tempfile::tempdir().unwrap();
    let gone = marks.path().join("teardown.txt");
    let project = s
        .repo_project(
            repo.path(),
            json!({
                "run": ["sh", "-c", "echo serving on port $BATON_PORT"],
                "teardown": ["sh", "-c", format!("pwd > {}", gone.display())],
            }),
        )
        .await;
    let t = s.task(&project, json!({ "title": "serve" })).await;
    let r = s.post_empty(&format!("/api/tasks/{t}/workspace/run")).await;
    assert_eq!(r.status, 409, "no worktree yet");
    s.run_in_task(&project, &t, "true").await;
    let path = worktree(&s, &t).await;
    let r = s.post_empty(&format!("/api/tasks/{t}/workspace/run")).await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    let port: u16 = r.body["env"]["BATON_PORT"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(port > 0);
    assert_eq!(r.body["cwd"], json!(path));
    let mut term = s.terminal(&r.id(), "?offset=0").await;
    term.until(&format!("serving on port {port}")).await;
    s.wait_session(&r.id(), |v| v["status"] != "running").await;

    let real = path.canonicalize().unwrap();
    let r = s.delete(&format!("/api/tasks/{t}/workspace")).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert!(!path.exists());
    assert_eq!(
        std::fs::read_to_string(&gone).unwrap().trim(),
        real.display().to_string(),
        "teardown ran in the worktree before it went"
    );
}

#[tokio::test]
async fn review_comments_reach_the_running_agent_and_its_messages() {
    let s = Server::start().await;
    let repo = repository();
    let project = s.repo_project(repo.path(), json!({})).await;
    let t = s.task(&project, json!({ "title": "reviewed" })).await;
    let r = s
        .post(
            "/api/sessions",
            json!({ "projectId": project, "taskIds": [t], "command": [crate::common::agent_bin()] }),
        )
        .await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    let sid = r.id();
    let mut term = s.terminal(&sid, "").await;
    term.until("agent> ").await;
    let bad = s
        .post(
            &format!("/api/tasks/{t}/review"),
            json!({ "comments": [{ "path": "a", "line": 0, "body": "x" }] }),
        )
        .await;
    assert_eq!(bad.status, 400);
    assert_eq!(bad.field(), "comments[0].line");
    let r = s
        .post(
            &format!("/api/tasks/{t}/review"),
            json!({ "comments": [
                { "path": "src/lib.rs", "line": 2, "body": "use a\nconstant" },
                { "path": "README.md", "line": 1, "body": "typo" },
            ] }),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.body["sessionId"], json!(sid));
    assert_eq!(r.body["typed"], true);
    term.until("you said: Review of your changes: src/lib.rs:2: use a constant; README.md:1: typo")
        .await;
    let messages = s.get(&format!("/api/messages?taskId={t}")).await.body;
    let review = messages
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["type"] == "REVIEW")
        .unwrap();
    assert!(review["body"]
        .as_str()
        .unwrap()
        .contains("- README.md:1: typo"));
}

#[tokio::test]
async fn the_cli_reviews_commits_merges_and_archives_a_task() {
    use crate::cli::{baton, ok};
    let s = Server::start().await;
    let repo = repository();
    let project = s.repo_project(repo.path(), json!({})).await;
    let t = s.task(&project, json!({ "title": "cli flow" })).await;
    s.run_in_task(&project, &t, "echo more >> README.md; echo new > added.txt")
        .await;

    let stat = ok(&s, &["task", "diff", &t, "--stat"]).await.stdout;
    assert!(
        stat.contains("modified") && stat.contains("README.md"),
        "{stat}"
    );
    assert!(
        stat.contains("added") && stat.contains("added.txt"),
        "{stat}"
    );
    assert!(stat.contains("2 files, +2 -0 against main"), "{stat}");
    let refused = baton(&s, &["task", "merge", &t]).await;
    assert_ne!(refused.code, 0);
    assert!(refused.stderr.contains("uncommitted"), "{}", refused.stderr);
    ok(&s, &["task", "commit", &t, "-m", "from the cli"]).await;
    let merged = ok(&s, &["task", "merge", &t]).await.stdout;
    assert!(merged.contains("fast-forward"), "{merged}");
    assert!(repo.path().join("added.txt").exists());
    let w = ok(&s, &["--json", "task", "workspace", &t]).await.stdout;
    let w: Value = serde_json::from_str(&w).unwrap();
    assert_eq!(w["mode"], "worktree");
    let archived = ok(&s, &["task", "archive", &t]).await.stdout;
    assert!(archived.contains("archived baton/cli-flow-"), "{archived}");
    let listed = ok(&s, &["task", "archives", "--project", &project])
        .await
        .stdout;
    assert!(listed.contains("baton/cli-flow-"), "{listed}");
}
