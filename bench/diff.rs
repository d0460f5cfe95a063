//! The review diff against git itself, measured in the same run (this machine is noisy):
//!
//! - **baton**: `GET /api/tasks/{id}/diff` over HTTP on a task whose worktree, in a repository
//!   of 10,000 files, has 200 changed files (100 committed on its branch, 100 uncommitted, some
//!   of those untracked) — everything the answer takes: the merge base, a snapshot of the
//!   worktree through a copy of its index, the diff, parsing it, and the JSON.
//! - **git**: `git diff --numstat <merge base>` then `git diff <merge base>` run directly in
//!   the same worktree (what a review needs at the least).
//!
//! Rounds alternate; p50 of each and the ratio. Target: ≤ 1.5× and < 300 ms.
//!
//! Run: `cargo bench --bench diff` (`BENCH_FILES`, default 10000; `BENCH_CHANGED`, default
//! 200; `BENCH_ROUNDS`, default 15).

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use baton::config::Config;
use baton::model::{NewProject, NewSession, NewTask};
use baton::service::Actor;

fn percentile(v: &mut [f64], p: f64) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[((v.len() as f64 - 1.0) * p).round() as usize]
}

fn git(dir: &Path, args: &[&str]) -> Vec<u8> {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_AUTHOR_NAME", "Bench")
        .env("GIT_AUTHOR_EMAIL", "bench@example.com")
        .env("GIT_COMMITTER_NAME", "Bench")
        .env("GIT_COMMITTER_EMAIL", "bench@example.com")
        .output()
        .expect("git runs");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// A file's lines: some source-like text, different per file.
fn contents(i: usize, version: usize) -> String {
    (0..40)
        .map(|l| {
            format!(
                "fn item_{i}_{l}() -> usize {{ {} }}\n",
                i * 7 + l + version * 1000 * (l % 3)
            )
        })
        .collect()
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let env = |name: &str, default: usize| {
        std::env::var(name)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    let (files, changed, rounds) = (
        env("BENCH_FILES", 10_000),
        env("BENCH_CHANGED", 200),
        env("BENCH_ROUNDS", 15),
    );
    let repo = tempfile::tempdir().unwrap();
    let root = repo.path();
    git(root, &["init", "-q", "-b", "main"]);
    for i in 0..files {
        let dir = root.join(format!("src/m{:03}", i / 100));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(format!("f{i}.rs")), contents(i, 0)).unwrap();
    }
    git(root, &["add", "-A"]);
    git(root, &["commit", "-q", "-m", "base"]);

    let data = tempfile::tempdir().unwrap();
    let mut config = Config::new(data.path().join("data"));
    config.port = 0;
    config.rates = baton::api::rate_limit::Rates {
        person_per_sec: 0,
        agent_per_sec: 0,
    };
    let server = baton::server::start(&config).await.expect("start baton");
    let service = server.service().clone();
    let project = service
        .create_project(
            NewProject {
                name: "bench".into(),
                base_path: Some(root.display().to_string()),
                settings: None,
            },
            &Actor::User,
        )
        .await
        .unwrap()
        .id;
    let task: NewTask =
        serde_json::from_value(serde_json::json!({ "projectId": project, "title": "bench diff" }))
            .unwrap();
    let task = service.create_task(task, &Actor::User).await.unwrap().id;
    let session = NewSession {
        project_id: project.clone(),
        task_ids: Some(vec![task.clone()]),
        command: Some(vec!["true".into()]),
        ..Default::default()
    };
    let worktree = service
        .create_session(session, &Actor::User)
        .await
        .unwrap()
        .cwd
        .expect("a worktree");
    let wt = Path::new(&worktree);
    // Half the changes committed on the task's branch, half left in the worktree (a fifth of
    // those new, untracked files).
    let step = files / changed.max(1);
    for (k, i) in (0..files).step_by(step.max(1)).take(changed).enumerate() {
        let path = wt.join(format!("src/m{:03}/f{i}.rs", i / 100));
        if k == changed / 2 {
            git(wt, &["add", "-A"]);
            git(wt, &["commit", "-q", "-m", "half"]);
        }
        if k > changed / 2 && k % 5 == 0 {
            std::fs::write(wt.join(format!("src/new_{k}.rs")), contents(k, 3)).unwrap();
        } else {
            std::fs::write(&path, contents(i, 1)).unwrap();
        }
    }
    // A fresh index (stat data current), so that git is not slowed by racily clean entries.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    git(wt, &["status", "--porcelain"]);
    let base = String::from_utf8(git(wt, &["merge-base", "main", "HEAD"]))
        .unwrap()
        .trim()
        .to_owned();

    let client = reqwest::Client::new();
    let token = service.runtime().admin.expose().to_string();
    let url = format!("{}/api/tasks/{task}/diff", server.url());
    let ask = || async {
        let started = Instant::now();
        let body = client
            .get(&url)
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        (started.elapsed().as_secs_f64() * 1000.0, body)
    };
    let (_, first) = ask().await;
    let answer: serde_json::Value = serde_json::from_slice(&first).unwrap();
    let listed = answer["files"].as_array().map_or(0, Vec::len);
    assert_eq!(listed, changed, "the diff lists every changed file");
    let direct = |wt: &Path, base: &str| {
        let started = Instant::now();
        git(wt, &["diff", "--numstat", base]);
        git(wt, &["diff", base]);
        started.elapsed().as_secs_f64() * 1000.0
    };
    direct(wt, &base);
    let (mut ours, mut theirs) = (Vec::new(), Vec::new());
    for _ in 0..rounds {
        ours.push(ask().await.0);
        let (wt, base) = (wt.to_path_buf(), base.clone());
        theirs.push(
            tokio::task::spawn_blocking(move || direct(&wt, &base))
                .await
                .unwrap(),
        );
    }
    let (p50, base50) = (percentile(&mut ours, 0.5), percentile(&mut theirs, 0.5));
    println!(
        "diff: {files} files, {changed} changed ({listed} listed, {} KiB of JSON): Baton p50 {p50:.1} ms; git diff --numstat + git diff p50 {base50:.1} ms; ratio {:.2}x (target <= 1.5x and < 300 ms)",
        first.len() / 1024,
        p50 / base50
    );
    server.stop().await.unwrap();
}
