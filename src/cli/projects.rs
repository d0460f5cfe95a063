//! `baton project list|create|show`.

use super::output::{self, age, s, value};
use super::run::Ctx;
use super::ProjectCommand;
use crate::client::ClientResult;
use crate::model::NewProject;

pub(super) async fn run(ctx: &Ctx, command: ProjectCommand) -> ClientResult<()> {
    match command {
        ProjectCommand::List => {
            let projects = value(ctx.client.list_projects().await?);
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
            let input = NewProject {
                name,
                base_path: path.map(|path| {
                    let path = std::path::absolute(&path).unwrap_or(path);
                    path.display().to_string()
                }),
                settings: None,
            };
            let project = value(ctx.client.create_project(&input).await?);
            ctx.print(&project, |p| println!("{}", s(p, "id")));
        }
        ProjectCommand::Show { id } => {
            let project = value(ctx.client.get_project(&id).await?);
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
