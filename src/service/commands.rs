//! The safety gate in front of every command Baton runs for someone: the pure check of
//! [`safety`](super::safety), given where the command would run, and the rule that only the
//! person may confirm a dangerous one.

use std::path::Path;

use serde_json::json;

use super::access::{Admin, Operation, Target};
use super::error::{ServiceError, ServiceResult};
use super::safety::{self, CommandCheck, Context};
use super::{lookup, Actor, Service};
use crate::model::{CommandText, ValidateCommand};

impl Service {
    /// What the check needs to know: the folder the command runs in, the data folder, home.
    pub(super) fn safety_context(&self, cwd: Option<&Path>) -> Context {
        Context {
            repository: cwd.map(Path::to_path_buf),
            data_dir: Some(self.runtime.data_dir.clone()),
            home: std::env::var_os("HOME").map(Into::into),
        }
    }

    /// `POST /api/commands/validate`: the check, changing nothing.
    pub async fn validate_command(
        &self,
        input: ValidateCommand,
        actor: &Actor,
    ) -> ServiceResult<CommandCheck> {
        let folder = match &input.project_id {
            Some(id) => {
                let project = lookup::project(&self.db, id).await?;
                actor.may(Operation::Read, Target::Project(&project.id))?;
                project.base_path
            }
            None => None,
        };
        let context = self.safety_context(folder.as_deref().map(Path::new));
        Ok(match &input.command {
            CommandText::Line(line) => safety::check_line(line, &context),
            CommandText::Argv(argv) => safety::check_argv(argv, &context),
        })
    }

    /// Refuses `argv` (422, naming `field`) when it is dangerous and not confirmed; a
    /// confirmation is the person's alone (403 for an agent).
    pub(super) fn guard_command(
        &self,
        field: &str,
        argv: &[String],
        cwd: Option<&Path>,
        confirm: bool,
        actor: &Actor,
    ) -> ServiceResult<()> {
        let check = safety::check_argv(argv, &self.safety_context(cwd));
        if check.safe {
            return Ok(());
        }
        if confirm {
            actor.may(Operation::Administer(Admin::ConfirmDanger), Target::Any)?;
            tracing::warn!(field, dangers = ?check.dangers, "a dangerous command runs, confirmed");
            return Ok(());
        }
        Err(ServiceError::refused(
            "dangerous_command",
            format!(
                "{field}: {}; the person may confirm with \"confirm\": true",
                check.dangers.join("; ")
            ),
            json!({
                "field": field,
                "dangers": check.dangers,
                "warnings": check.warnings,
                "suggestions": check.suggestions,
            }),
        ))
    }
}
