//! `baton project list|create|show`.

use serde_json::json;

use super::output::{self, age, s};
use super::run::{enc, Ctx};
use super::ProjectCommand;
use crate::client::ClientResult;

pub(super) async fn run(ctx: &Ctx, command: ProjectCommand) -> ClientResult<()> {
    match command {
        ProjectCommand::List => {
            let projects = ctx.client.get("/api/projects").await?;
            ctx.print(&projects, |v| {
                let rows = v
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|p| {
                        vec![
                            s(p, "id"),
                            s(p, "name"),
                            s(p, "basePath"),
                            age(p, "createdAt"),
                        ]
                    })
                    .collect();
                output::table(&["id", "name", "folder", "created"], rows);
            });
        }
        ProjectCommand::Create { name, path } => {
            let mut body = json!({ "name": name });
            if let Some(path) = path {
                let path = std::path::absolute(&path).unwrap_or(path);
                body["basePath"] = json!(path.display().to_string());
            }
            let project = ctx.client.post("/api/projects", &body).await?;
            ctx.print(&project, |p| println!("{}", s(p, "id")));
        }
        ProjectCommand::Show { id } => {
            let project = ctx
                .client
                .get(&format!("/api/projects/{}", enc(&id)))
                .await?;
            ctx.print(&project, |p| {
                output::fields(&[
                    ("id", s(p, "id")),
                    ("name", s(p, "name")),
                    ("folder", s(p, "basePath")),
                    ("created", age(p, "createdAt")),
                ]);
            });
        }
    }
    Ok(())
}
