//! `baton task …`: tasks, subtasks and dependencies.

use serde_json::{json, Value};

use super::output::{self, age, list, s};
use super::run::{enc, Ctx};
use super::{SubtaskCommand, TaskCommand};
use crate::client::{with_present, ClientError, ClientResult};
use crate::model::TaskStatus;

pub(super) async fn run(ctx: &Ctx, command: TaskCommand) -> ClientResult<()> {
    match command {
        TaskCommand::List {
            project,
            status,
            tag,
            search,
        } => {
            let project = ctx.project(&project).await?;
            let mut query = vec![("projectId", project)];
            if !status.is_empty() {
                let names: Vec<&str> = status.into_iter().map(TaskStatus::as_str).collect();
                query.push(("status", names.join(",")));
            }
            query.extend(tag.map(|t| ("tag", t)));
            query.extend(search.map(|q| ("q", q)));
            let query = serde_urlencoded::to_string(&query).unwrap_or_default();
            let tasks = ctx.client.get(&format!("/api/tasks?{query}")).await?;
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
            let project = ctx.project(&project).await?;
            let body = with_present(
                json!({ "projectId": project, "title": title }),
                vec![
                    ("description", description.map(Value::from)),
                    ("prompt", prompt.map(Value::from)),
                    ("priority", priority.map(|p| p.as_str().into())),
                    ("tags", (!tags.is_empty()).then(|| json!(tags))),
                    (
                        "dependsOn",
                        (!depends_on.is_empty()).then(|| json!(depends_on)),
                    ),
                ],
            );
            let task = ctx.client.post("/api/tasks", &body).await?;
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
            let patch = with_present(
                json!({}),
                vec![
                    ("title", title.map(Value::from)),
                    ("description", description.map(Value::from)),
                    ("prompt", prompt.map(Value::from)),
                    ("status", status.map(|s| s.as_str().into())),
                    ("priority", priority.map(|p| p.as_str().into())),
                    ("tags", tags.map(|t| json!(t))),
                ],
            );
            if patch.as_object().is_some_and(|o| o.is_empty()) {
                return Err(ClientError::Setup(
                    "nothing to change: give --title, --status, --priority, … (see --help)".into(),
                ));
            }
            patch_and_print(ctx, &id, &patch).await?;
        }
        TaskCommand::Done { id } => {
            let id = ctx.task(id)?;
            patch_and_print(ctx, &id, &json!({ "status": "completed" })).await?;
        }
        TaskCommand::Block { id, reason } => {
            let id = ctx.task(id)?;
            let task = ctx
                .client
                .patch(
                    &format!("/api/tasks/{}", enc(&id)),
                    &json!({ "status": "blocked" }),
                )
                .await?;
            if let Some(reason) = reason {
                let msg = with_present(
                    json!({
                        "projectId": task["projectId"], "taskId": id, "type": "BLOCKED", "body": reason
                    }),
                    vec![("sessionId", ctx.agent.session_id.clone().map(Value::from))],
                );
                ctx.client.post("/api/messages", &msg).await?;
            }
            ctx.print(&task, |t| println!("{} is blocked", s(t, "id")));
        }
        TaskCommand::Delete { id } => {
            let answer = ctx
                .client
                .delete(&format!("/api/tasks/{}", enc(&id)))
                .await?;
            ctx.print(&answer, |_| println!("deleted {id}"));
        }
        TaskCommand::Subtask(SubtaskCommand::Add { title, task }) => {
            let id = ctx.task(task)?;
            let sub = ctx
                .client
                .post(
                    &format!("/api/tasks/{}/subtasks", enc(&id)),
                    &json!({ "title": title.join(" ") }),
                )
                .await?;
            ctx.print(&sub, |st| println!("{}", s(st, "id")));
        }
        TaskCommand::Subtask(SubtaskCommand::Done { subtask, task }) => {
            let id = ctx.task(task)?;
            let current = get(ctx, &id).await?;
            let sid = find_subtask(&current, &subtask)?;
            let sub = ctx
                .client
                .patch(
                    &format!("/api/tasks/{}/subtasks/{}", enc(&id), enc(&sid)),
                    &json!({ "status": "completed" }),
                )
                .await?;
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
            let task = ctx
                .client
                .put(
                    &format!("/api/tasks/{}/dependencies", enc(&id)),
                    &json!({ "dependsOn": depends }),
                )
                .await?;
            ctx.print(&task, |t| {
                println!("{} waits for: {}", s(t, "id"), list(t, "dependsOn"))
            });
        }
    }
    Ok(())
}

async fn get(ctx: &Ctx, id: &str) -> ClientResult<Value> {
    ctx.client.get(&format!("/api/tasks/{}", enc(id))).await
}

async fn patch_and_print(ctx: &Ctx, id: &str, patch: &Value) -> ClientResult<()> {
    let task = ctx
        .client
        .patch(&format!("/api/tasks/{}", enc(id)), patch)
        .await?;
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
