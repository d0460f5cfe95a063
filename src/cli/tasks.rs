//! `baton task …`: tasks, subtasks and dependencies.

use serde_json::Value;

use super::output::{self, age, list, s, value};
use super::run::Ctx;
use super::{MergeHow, SubtaskCommand, TaskCommand};
use crate::client::{ClientError, ClientResult};
use crate::model::{
    CancelTask, CommitTask, ExecuteTask, ListArchives, ListTasks, LoopSpec, MergeStrategy,
    MergeTask, NewMessage, NewSubtask, NewTask, ReviewComment, ReviewComments, SetDependencies,
    SubtaskPatch, SubtaskStatus, TaskPatch, TaskStatus,
};

pub(super) async fn run(ctx: &Ctx, command: TaskCommand) -> ClientResult<()> {
    match command {
        TaskCommand::List {
            project,
            status,
            tag,
            search,
        } => {
            let names: Vec<&str> = status.into_iter().map(TaskStatus::as_str).collect();
            let query = ListTasks {
                project_id: Some(ctx.project(&project).await?),
                status: (!names.is_empty()).then(|| names.join(",")),
                tag,
                q: search,
                ..Default::default()
            };
            let tasks = value(ctx.client.list_tasks(&query).await?);
            ctx.print(&tasks, |v| {
                let rows = v
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|t| {
                        vec![
                            s(t, "id"),
                            s(t, "status"),
                            s(t, "priority"),
                            s(t, "title"),
                            subtask_progress(t),
                            list(t, "tags"),
                        ]
                    })
                    .collect();
                output::table(
                    &["id", "status", "priority", "title", "subtasks", "tags"],
                    rows,
                );
            });
        }
        TaskCommand::Create {
            title,
            project,
            description,
            prompt,
            priority,
            tags,
            depends_on,
        } => {
            let input = NewTask {
                project_id: ctx.project(&project).await?,
                title,
                description,
                prompt,
                status: None,
                priority,
                tags: (!tags.is_empty()).then_some(tags),
                depends_on: (!depends_on.is_empty()).then_some(depends_on),
                thread_parent: None,
            };
            let task = value(ctx.client.create_task(&input).await?);
            ctx.print(&task, |t| println!("{}", s(t, "id")));
        }
        TaskCommand::Show { id } => {
            let id = ctx.task(id)?;
            let task = get(ctx, &id).await?;
            ctx.print(&task, show);
        }
        TaskCommand::Update {
            id,
            title,
            description,
            prompt,
            status,
            priority,
            tags,
        } => {
            let id = ctx.task(id)?;
            let patch = TaskPatch {
                title,
                description,
                prompt,
                status,
                priority,
                tags,
                completed_at: None,
            };
            if value(&patch).as_object().is_some_and(|o| o.is_empty()) {
                return Err(ClientError::Setup(
                    "nothing to change: give --title, --status, --priority, … (see --help)".into(),
                ));
            }
            patch_and_print(ctx, &id, &patch).await?;
        }
        TaskCommand::Done { id } => {
            let id = ctx.task(id)?;
            let done = TaskPatch {
                status: Some(TaskStatus::Completed),
                ..Default::default()
            };
            patch_and_print(ctx, &id, &done).await?;
        }
        TaskCommand::Block { id, reason } => {
            let id = ctx.task(id)?;
            let blocked = TaskPatch {
                status: Some(TaskStatus::Blocked),
                ..Default::default()
            };
            let task = ctx.client.update_task(&id, &blocked).await?;
            if let Some(reason) = reason {
                let message = NewMessage {
                    project_id: task.project_id.clone(),
                    task_id: Some(id),
                    session_id: ctx.agent.session_id.clone(),
                    r#type: Some("BLOCKED".into()),
                    body: reason,
                    parent_ids: None,
                };
                ctx.client.post_message(&message).await?;
            }
            ctx.print(&value(task), |t| println!("{} is blocked", s(t, "id")));
        }
        TaskCommand::Run {
            id,
            agent,
            priority,
            attempts,
            loop_runs,
            cooldown_ms,
            cost_limit,
        } => {
            let id = ctx.task(id)?;
            let input = ExecuteTask {
                agent_id: agent,
                priority,
                max_attempts: attempts,
                loop_spec: loop_runs.map(|max_runs| LoopSpec {
                    max_runs,
                    cooldown_ms: cooldown_ms.unwrap_or(0),
                }),
                cost_limit_usd: cost_limit,
            };
            let executed = value(ctx.client.execute_task(&id, &input).await?);
            ctx.print(&executed, print_executed);
        }
        TaskCommand::Cancel { id, reason } => {
            let id = ctx.task(id)?;
            let task = value(ctx.client.cancel_task(&id, &CancelTask { reason }).await?);
            ctx.print(&task, |t| println!("{} is {}", s(t, "id"), s(t, "status")));
        }
        TaskCommand::Retry { id } => {
            let id = ctx.task(id)?;
            let executed = value(ctx.client.retry_task(&id).await?);
            ctx.print(&executed, print_executed);
        }
        TaskCommand::Resume { id } => {
            let id = ctx.task(id)?;
            let executed = value(ctx.client.resume_task(&id).await?);
            ctx.print(&executed, print_executed);
        }
        TaskCommand::Workspace { id, remove, force } => {
            let id = ctx.task(id)?;
            if remove {
                ctx.client.remove_workspace(&id, force).await?;
                ctx.print(&serde_json::json!({ "removed": id }), |_| {
                    println!("removed the worktree of {id}")
                });
            } else {
                let w = value(ctx.client.task_workspace(&id).await?);
                ctx.print(&w, |w| {
                    output::fields(&[
                        ("mode", s(w, "mode")),
                        ("path", s(w, "path")),
                        ("branch", s(w, "branch")),
                        ("base", s(w, "baseBranch")),
                        ("why", s(w, "reason")),
                    ])
                });
            }
        }
        TaskCommand::Diff { id, stat } => {
            let id = ctx.task(id)?;
            let diff = value(ctx.client.task_diff(&id).await?);
            ctx.print(&diff, |d| print_diff(d, stat));
        }
        TaskCommand::Conflicts { id } => {
            let id = ctx.task(id)?;
            let found = value(ctx.client.task_conflicts(&id).await?);
            ctx.print(&found, |v| {
                let rows = v
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|c| {
                        let with = match c["taskId"].as_str() {
                            Some(t) => t.to_owned(),
                            None => format!("base {}", s(c, "branch")),
                        };
                        vec![with, s(c, "branch"), list(c, "files")]
                    })
                    .collect();
                output::table(&["with", "branch", "files"], rows);
            });
        }
        TaskCommand::Commit { id, message } => {
            let id = ctx.task(id)?;
            let w = value(ctx.client.commit_task(&id, &CommitTask { message }).await?);
            ctx.print(&w, |w| println!("committed on {}", s(w, "branch")));
        }
        TaskCommand::Merge { id, strategy } => {
            let id = ctx.task(id)?;
            let strategy = strategy.map(|h| match h {
                MergeHow::Auto => MergeStrategy::Auto,
                MergeHow::FastForwardOnly => MergeStrategy::FastForwardOnly,
                MergeHow::MergeCommit => MergeStrategy::MergeCommit,
            });
            let input = MergeTask {
                strategy,
                message: None,
            };
            let merged = value(ctx.client.merge_task(&id, &input).await?);
            ctx.print(&merged, |m| {
                let how = if m["fastForward"] == true {
                    "fast-forward"
                } else {
                    "merge commit"
                };
                println!(
                    "merged {} into {} ({how}, {})",
                    s(m, "branch"),
                    s(m, "baseBranch"),
                    s(m, "commit")
                )
            });
        }
        TaskCommand::Rebase { id } => {
            let id = ctx.task(id)?;
            let w = value(ctx.client.rebase_task(&id).await?);
            ctx.print(&w, |w| {
                println!("rebased {} onto {}", s(w, "branch"), s(w, "baseBranch"))
            });
        }
        TaskCommand::Pr { id } => {
            let id = ctx.task(id)?;
            let pr = value(ctx.client.pull_request(&id).await?);
            ctx.print(&pr, |p| println!("{}", s(p, "url")));
        }
        TaskCommand::Archive { id } => {
            let id = ctx.task(id)?;
            let a = value(ctx.client.archive_task(&id).await?);
            ctx.print(&a, |a| {
                println!(
                    "archived {} as {} ({} files)",
                    s(a, "branch"),
                    s(a, "id"),
                    s(a, "files")
                )
            });
        }
        TaskCommand::Archives { project } => {
            let q = ListArchives {
                project_id: project,
            };
            let all = value(ctx.client.list_archives(&q).await?);
            ctx.print(&all, |v| {
                let rows = v
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|a| {
                        vec![
                            s(a, "id"),
                            s(a, "taskId"),
                            s(a, "branch"),
                            s(a, "files"),
                            age(a, "createdAt"),
                        ]
                    })
                    .collect();
                output::table(&["id", "task", "branch", "files", "archived"], rows);
            });
        }
        TaskCommand::Restore { archive } => {
            let w = value(ctx.client.restore_archive(&archive).await?);
            ctx.print(&w, |w| {
                println!("restored {} at {}", s(w, "branch"), s(w, "path"))
            });
        }
        TaskCommand::Review { id, comments } => {
            let id = ctx.task(id)?;
            let comments = comments
                .iter()
                .map(|c| parse_comment(c))
                .collect::<ClientResult<Vec<_>>>()?;
            let input = ReviewComments {
                comments,
                summary: None,
            };
            let sent = value(ctx.client.send_review(&id, &input).await?);
            ctx.print(&sent, |r| {
                if r["typed"] == true {
                    println!("sent to {} and typed into its terminal", s(r, "sessionId"))
                } else {
                    println!(
                        "posted as message {} (no agent of the task runs)",
                        s(r, "messageId")
                    )
                }
            });
        }
        TaskCommand::Runs { id } => {
            let id = ctx.task(id)?;
            let runs = value(ctx.client.task_runs(&id).await?);
            ctx.print(&runs, |v| {
                let rows = v
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|r| {
                        let ended = match (r["endReason"].as_str(), r["exitCode"].as_i64()) {
                            (None, _) => "running".to_owned(),
                            (Some(reason), Some(code)) => format!("{reason} ({code})"),
                            (Some(reason), None) => reason.to_owned(),
                        };
                        vec![
                            s(r, "id"),
                            s(r, "attempt"),
                            s(r, "number"),
                            s(r, "sessionId"),
                            age(r, "startedAt"),
                            ended,
                        ]
                    })
                    .collect();
                output::table(
                    &["id", "attempt", "run", "session", "started", "ended"],
                    rows,
                );
            });
        }
        TaskCommand::Delete { id } => {
            ctx.client.delete_task(&id).await?;
            ctx.print(&serde_json::json!({ "success": true }), |_| {
                println!("deleted {id}")
            });
        }
        TaskCommand::Subtask(SubtaskCommand::Add { title, task }) => {
            let id = ctx.task(task)?;
            let input = NewSubtask {
                title: title.join(" "),
                status: None,
            };
            let sub = value(ctx.client.add_subtask(&id, &input).await?);
            ctx.print(&sub, |st| println!("{}", s(st, "id")));
        }
        TaskCommand::Subtask(SubtaskCommand::Done { subtask, task }) => {
            let id = ctx.task(task)?;
            let current = get(ctx, &id).await?;
            let sid = find_subtask(&current, &subtask)?;
            let done = SubtaskPatch {
                title: None,
                status: Some(SubtaskStatus::Completed),
            };
            let sub = value(ctx.client.update_subtask(&id, &sid, &done).await?);
            ctx.print(&sub, |st| println!("done: {}", s(st, "title")));
        }
        TaskCommand::Depend { on, task, replace } => {
            let id = ctx.task(task)?;
            let mut depends: Vec<String> = if replace {
                Vec::new()
            } else {
                serde_json::from_value(get(ctx, &id).await?["dependsOn"].clone())
                    .unwrap_or_default()
            };
            for dep in on {
                if !depends.contains(&dep) {
                    depends.push(dep);
                }
            }
            let input = SetDependencies {
                depends_on: depends,
            };
            let task = value(ctx.client.set_dependencies(&id, &input).await?);
            ctx.print(&task, |t| {
                println!("{} waits for: {}", s(t, "id"), list(t, "dependsOn"))
            });
        }
    }
    Ok(())
}

async fn get(ctx: &Ctx, id: &str) -> ClientResult<Value> {
    Ok(value(ctx.client.get_task(id).await?))
}

/// `queued (position 3)`, `blocked: waiting for …`, or `running (run run_…)`.
fn print_executed(e: &Value) {
    let task = &e["task"];
    let state = s(e, "status");
    match state.as_str() {
        "queued" => println!(
            "{} is queued (position {})",
            s(task, "id"),
            s(e, "queuePosition")
        ),
        "blocked" => println!(
            "{} is blocked: {}",
            s(task, "id"),
            s(&task["execution"], "reason")
        ),
        _ => println!(
            "{} is {} (session {})",
            s(task, "id"),
            state,
            s(&e["run"], "sessionId")
        ),
    }
}

async fn patch_and_print(ctx: &Ctx, id: &str, patch: &TaskPatch) -> ClientResult<()> {
    let task = value(ctx.client.update_task(id, patch).await?);
    ctx.print(&task, |t| println!("{} is {}", s(t, "id"), s(t, "status")));
    Ok(())
}

/// A subtask by id, by its number in `task show` (1-based), or by its exact title.
fn find_subtask(task: &Value, wanted: &str) -> ClientResult<String> {
    let subtasks = task["subtasks"].as_array().cloned().unwrap_or_default();
    let by_number = wanted
        .parse::<usize>()
        .ok()
        .and_then(|n| n.checked_sub(1))
        .and_then(|i| subtasks.get(i));
    by_number
        .or_else(|| subtasks.iter().find(|st| st["id"] == wanted))
        .or_else(|| subtasks.iter().find(|st| st["title"] == wanted))
        .map(|st| s(st, "id"))
        .ok_or_else(|| {
            ClientError::Setup(format!(
                "task {} has no subtask '{wanted}' (give its id, number or title; see `baton task show`)",
                s(task, "id")
            ))
        })
}

fn subtask_progress(t: &Value) -> String {
    let subtasks = t["subtasks"].as_array().cloned().unwrap_or_default();
    if subtasks.is_empty() {
        return String::new();
    }
    let done = subtasks
        .iter()
        .filter(|st| st["status"] == "completed")
        .count();
    format!("{done}/{}", subtasks.len())
}

fn show(t: &Value) {
    output::fields(&[
        ("id", s(t, "id")),
        ("title", s(t, "title")),
        ("status", s(t, "status")),
        ("priority", s(t, "priority")),
        ("tags", list(t, "tags")),
        ("depends on", list(t, "dependsOn")),
        ("sessions", list(t, "sessionIds")),
        ("updated", age(t, "updatedAt")),
    ]);
    for (label, key) in [("description", "description"), ("prompt", "prompt")] {
        let text = s(t, key);
        if !text.is_empty() {
            println!("\n{label}:\n{text}");
        }
    }
    if let Some(subtasks) = t["subtasks"].as_array().filter(|a| !a.is_empty()) {
        println!("\nsubtasks:");
        for (i, st) in subtasks.iter().enumerate() {
            let tick = if st["status"] == "completed" {
                "x"
            } else {
                " "
            };
            println!(
                "  {}. [{tick}] {}  ({})",
                i + 1,
                s(st, "title"),
                s(st, "id")
            );
        }
    }
}

/// `PATH:LINE:TEXT` → a review comment.
fn parse_comment(text: &str) -> ClientResult<ReviewComment> {
    let mut parts = text.splitn(3, ':');
    let (Some(path), Some(line), Some(body)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(ClientError::Setup(format!(
            "--comment {text:?}: write PATH:LINE:TEXT"
        )));
    };
    let line = line
        .parse()
        .map_err(|_| ClientError::Setup(format!("--comment {text:?}: LINE must be a number")))?;
    Ok(ReviewComment {
        path: path.to_owned(),
        line,
        body: body.to_owned(),
    })
}

fn print_diff(d: &Value, stat: bool) {
    for f in d["files"].as_array().into_iter().flatten() {
        let name = match f["oldPath"].as_str() {
            Some(old) => format!("{old} -> {}", s(f, "path")),
            None => s(f, "path"),
        };
        let counts = if f["binary"] == true {
            "binary".to_owned()
        } else {
            format!("+{} -{}", s(f, "additions"), s(f, "deletions"))
        };
        println!("{:<9} {counts:<12} {name}", s(f, "status"));
        if !stat {
            for h in f["hunks"].as_array().into_iter().flatten() {
                println!("{}", s(h, "header"));
                for l in h["lines"].as_array().into_iter().flatten() {
                    println!("{}", l.as_str().unwrap_or_default());
                }
            }
        }
    }
    println!(
        "{} files, +{} -{} against {} ({}){}",
        d["files"].as_array().map_or(0, Vec::len),
        s(d, "additions"),
        s(d, "deletions"),
        s(d, "baseBranch"),
        s(d, "mergeBase").chars().take(10).collect::<String>(),
        if d["truncated"] == true {
            "; truncated"
        } else {
            ""
        }
    );
}
