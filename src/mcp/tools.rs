//! The MCP tools: each is one API call (through [`crate::client`]) with the agent's own ids
//! filled in where the caller left them out.

use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::{CallToolResult, ContentBlock};
use rmcp::schemars::{self, JsonSchema};
use rmcp::{tool, tool_router, ErrorData as McpError};
use serde::{Deserialize, Serialize};

use crate::client::{AgentEnv, Client, ClientError};
use crate::model::{
    CancelTask, ExecuteTask, ListMessages, ListSessions, ListTasks, LoopSpec, NewMessage,
    NewSession, NewSubtask, NewTask, Priority, SessionReport, SubtaskPatch, SubtaskStatus,
    TaskPatch, TaskStatus,
};

/// The MCP server: a client of the API plus who the agent is.
#[derive(Clone)]
pub struct BatonMcp {
    pub(super) client: Client,
    pub(super) context: AgentEnv,
    pub(super) tool_router: ToolRouter<Self>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ListTasksArgs {
    /// The project (default: this session's).
    pub project_id: Option<String>,
    /// Comma-separated statuses: pending, queued, in_progress, blocked, completed, failed, cancelled.
    pub status: Option<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TaskRef {
    /// The task (default: this session's task).
    pub task_id: Option<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreateTaskArgs {
    pub title: String,
    pub description: Option<String>,
    /// What an agent started on the task is told to do.
    pub prompt: Option<String>,
    /// low, medium or high.
    pub priority: Option<String>,
    pub tags: Option<Vec<String>>,
    /// Tasks this one waits for.
    pub depends_on: Option<Vec<String>>,
    /// The project (default: this session's).
    pub project_id: Option<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExecuteTaskArgs {
    /// The task (default: this session's task).
    pub task_id: Option<String>,
    /// The agent profile to run it (default: the project's defaultAgentId setting).
    pub agent_id: Option<String>,
    /// low, medium or high: its place in the queue.
    pub priority: Option<String>,
    /// Attempts before it fails (default 1).
    pub max_attempts: Option<u32>,
    /// Restart the agent until the task is done, at most this many runs.
    pub loop_max_runs: Option<u32>,
    /// Start no new run of it once its agents used this many US dollars.
    pub cost_limit_usd: Option<f64>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TaskDiffArgs {
    /// The task (default: this session's task).
    pub task_id: Option<String>,
    /// Files and counts only, without the hunks.
    pub stat: Option<bool>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TaskOnlyArgs {
    /// The task (default: this session's task).
    pub task_id: Option<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CommitWorkArgs {
    /// The task (default: this session's task).
    pub task_id: Option<String>,
    pub message: String,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CancelTaskArgs {
    /// The task (default: this session's task).
    pub task_id: Option<String>,
    pub reason: Option<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct UpdateTaskArgs {
    /// The task (default: this session's task).
    pub task_id: Option<String>,
    pub title: Option<String>,
    pub description: Option<String>,
    pub prompt: Option<String>,
    /// pending, queued, in_progress, blocked, completed, failed or cancelled.
    pub status: Option<String>,
    /// low, medium or high.
    pub priority: Option<String>,
    /// Replaces the tags.
    pub tags: Option<Vec<String>>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AddSubtaskArgs {
    /// The task (default: this session's task).
    pub task_id: Option<String>,
    pub title: String,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct UpdateSubtaskArgs {
    /// The task (default: this session's task).
    pub task_id: Option<String>,
    pub subtask_id: String,
    /// pending or completed.
    pub status: Option<String>,
    pub title: Option<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PostMessageArgs {
    pub body: String,
    /// USER, FACT, PROGRESS, DECISION, QUESTION, ERROR, or another upper-case word (default USER).
    #[serde(rename = "type")]
    pub kind: Option<String>,
    /// The task it is about (default: this session's task, when it has one).
    pub task_id: Option<String>,
    /// Messages this one answers.
    pub parent_ids: Option<Vec<String>>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ListMessagesArgs {
    /// Only messages about this task.
    pub task_id: Option<String>,
    /// Only messages after this one (to read what is new since last time).
    pub after: Option<String>,
    /// At most this many (default 50).
    pub limit: Option<u32>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReportArgs {
    /// One line: what you are doing now.
    pub text: Option<String>,
    /// How far along, 0–100.
    pub progress: Option<i32>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ListSessionsArgs {
    /// The project (default: this session's).
    pub project_id: Option<String>,
    /// Comma-separated statuses: starting, running, waiting, completed, failed, stopped, interrupted.
    pub status: Option<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct StartSessionArgs {
    /// The tasks the new agent works on (their prompt is handed over).
    pub task_ids: Vec<String>,
    /// An agent profile id (claude, codex, gemini, aider, opencode, shell, …).
    pub agent_id: String,
    pub name: Option<String>,
}

/// A tool's answer: what the API answered, as JSON, or its error sentence as a tool error.
fn answer(result: Result<impl Serialize, ClientError>) -> Result<CallToolResult, McpError> {
    Ok(match result {
        Ok(value) => CallToolResult::success(vec![ContentBlock::text(
            serde_json::to_string_pretty(&value).unwrap_or_default(),
        )]),
        Err(err) => CallToolResult::error(vec![ContentBlock::text(err.to_string())]),
    })
}

/// A value the tool takes as text (for the model's sake) read as the API's type; a wrong one is
/// said the way the API says it.
fn one_of<T>(field: &str, value: Option<String>) -> Result<Option<T>, ClientError>
where
    T: std::str::FromStr + strum::IntoEnumIterator + Into<&'static str>,
{
    value
        .map(|v| {
            crate::model::one_of(&v)
                .map_err(|problem| ClientError::Setup(format!("{field}: {problem}")))
        })
        .transpose()
}

impl BatonMcp {
    pub fn new(client: Client, context: AgentEnv) -> Self {
        Self {
            client,
            context,
            tool_router: Self::tool_router(),
        }
    }

    fn project(&self, given: Option<String>) -> Result<String, ClientError> {
        given
            .or_else(|| self.context.project_id.clone())
            .ok_or_else(|| {
                ClientError::Setup("projectId is required outside an agent session".into())
            })
    }

    fn task(&self, given: Option<String>) -> Result<String, ClientError> {
        self.context.task(given, "taskId is required")
    }

    pub(super) async fn task_title(&self, id: &str) -> String {
        match self.client.get_task(id).await {
            Ok(task) => task.title,
            Err(_) => id.to_owned(),
        }
    }
}

#[tool_router]
impl BatonMcp {
    #[tool(description = "List the tasks of a project (default: yours), optionally by status.")]
    async fn list_tasks(
        &self,
        Parameters(a): Parameters<ListTasksArgs>,
    ) -> Result<CallToolResult, McpError> {
        let result = async {
            let q = ListTasks {
                project_id: Some(self.project(a.project_id)?),
                status: a.status,
                ..Default::default()
            };
            self.client.list_tasks(&q).await
        };
        answer(result.await)
    }

    #[tool(
        description = "Get a task (default: yours) with its prompt, subtasks, dependencies and sessions."
    )]
    async fn get_task(
        &self,
        Parameters(a): Parameters<TaskRef>,
    ) -> Result<CallToolResult, McpError> {
        let result = async {
            let id = self.task(a.task_id)?;
            self.client.get_task(&id).await
        };
        answer(result.await)
    }

    #[tool(
        description = "Create a task in a project (default: yours), e.g. to hand part of the work to another agent."
    )]
    async fn create_task(
        &self,
        Parameters(a): Parameters<CreateTaskArgs>,
    ) -> Result<CallToolResult, McpError> {
        let result = async {
            let input = NewTask {
                project_id: self.project(a.project_id)?,
                title: a.title,
                description: a.description,
                prompt: a.prompt,
                status: None,
                priority: one_of::<Priority>("priority", a.priority)?,
                tags: a.tags,
                depends_on: a.depends_on,
                thread_parent: None,
            };
            self.client.create_task(&input).await
        };
        answer(result.await)
    }

    #[tool(
        description = "Change a task (default: yours): title, description, prompt, status, priority, tags."
    )]
    async fn update_task(
        &self,
        Parameters(a): Parameters<UpdateTaskArgs>,
    ) -> Result<CallToolResult, McpError> {
        let result = async {
            let id = self.task(a.task_id)?;
            let patch = TaskPatch {
                title: a.title,
                description: a.description,
                prompt: a.prompt,
                status: one_of::<TaskStatus>("status", a.status)?,
                priority: one_of::<Priority>("priority", a.priority)?,
                tags: a.tags,
                completed_at: None,
            };
            self.client.update_task(&id, &patch).await
        };
        answer(result.await)
    }

    #[tool(
        description = "Run a task of your project with an agent: it is queued and starts when a slot is free and its dependencies are completed (the answer says queued, blocked or running)."
    )]
    async fn execute_task(
        &self,
        Parameters(a): Parameters<ExecuteTaskArgs>,
    ) -> Result<CallToolResult, McpError> {
        let result = async {
            let id = self.task(a.task_id)?;
            let input = ExecuteTask {
                agent_id: a.agent_id,
                priority: one_of::<Priority>("priority", a.priority)?,
                max_attempts: a.max_attempts,
                loop_spec: a.loop_max_runs.map(|max_runs| LoopSpec {
                    max_runs,
                    cooldown_ms: 0,
                }),
                cost_limit_usd: a.cost_limit_usd,
            };
            self.client.execute_task(&id, &input).await
        };
        answer(result.await)
    }

    #[tool(
        description = "Cancel a queued, blocked or running task of your project (a running one has its agent stopped)."
    )]
    async fn cancel_task(
        &self,
        Parameters(a): Parameters<CancelTaskArgs>,
    ) -> Result<CallToolResult, McpError> {
        let result = async {
            let id = self.task(a.task_id)?;
            let input = CancelTask { reason: a.reason };
            self.client.cancel_task(&id, &input).await
        };
        answer(result.await)
    }

    #[tool(
        description = "What a task (default: yours) changed in its own git worktree against its base branch: files with status and line counts, and hunks unless stat is true."
    )]
    async fn task_diff(
        &self,
        Parameters(a): Parameters<TaskDiffArgs>,
    ) -> Result<CallToolResult, McpError> {
        let result = async {
            let id = self.task(a.task_id)?;
            let mut diff = self.client.task_diff(&id).await?;
            if a.stat.unwrap_or(false) {
                for f in &mut diff.files {
                    f.hunks.clear();
                }
            }
            Ok(diff)
        };
        answer(result.await)
    }

    #[tool(
        description = "The sibling tasks (and the base branch: taskId null) whose work conflicts with a task's (default: yours), with the files. Check it before you merge or when you touch shared files."
    )]
    async fn task_conflicts(
        &self,
        Parameters(a): Parameters<TaskOnlyArgs>,
    ) -> Result<CallToolResult, McpError> {
        let result = async {
            let id = self.task(a.task_id)?;
            self.client.task_conflicts(&id).await
        };
        answer(result.await)
    }

    #[tool(description = "Commit everything in a task's (default: yours) worktree on its branch.")]
    async fn commit_work(
        &self,
        Parameters(a): Parameters<CommitWorkArgs>,
    ) -> Result<CallToolResult, McpError> {
        let result = async {
            let id = self.task(a.task_id)?;
            self.client
                .commit_task(&id, &crate::model::CommitTask { message: a.message })
                .await
        };
        answer(result.await)
    }

    #[tool(
        description = "Merge a task's (default: yours) branch into its base branch: a fast-forward or a merge commit. On a conflict nothing changes and the files are listed."
    )]
    async fn merge_task(
        &self,
        Parameters(a): Parameters<TaskOnlyArgs>,
    ) -> Result<CallToolResult, McpError> {
        let result = async {
            let id = self.task(a.task_id)?;
            self.client
                .merge_task(&id, &crate::model::MergeTask::default())
                .await
        };
        answer(result.await)
    }

    #[tool(
        description = "Rebase a task's (default: yours) branch onto its base branch in its worktree; on a conflict the rebase is aborted, nothing changes and the files are listed."
    )]
    async fn rebase_task(
        &self,
        Parameters(a): Parameters<TaskOnlyArgs>,
    ) -> Result<CallToolResult, McpError> {
        let result = async {
            let id = self.task(a.task_id)?;
            self.client.rebase_task(&id).await
        };
        answer(result.await)
    }

    #[tool(description = "Add a subtask to a task (default: yours).")]
    async fn add_subtask(
        &self,
        Parameters(a): Parameters<AddSubtaskArgs>,
    ) -> Result<CallToolResult, McpError> {
        let result = async {
            let id = self.task(a.task_id)?;
            let input = NewSubtask {
                title: a.title,
                status: None,
            };
            self.client.add_subtask(&id, &input).await
        };
        answer(result.await)
    }

    #[tool(description = "Update a subtask: mark it completed (status) or rename it.")]
    async fn update_subtask(
        &self,
        Parameters(a): Parameters<UpdateSubtaskArgs>,
    ) -> Result<CallToolResult, McpError> {
        let result = async {
            let id = self.task(a.task_id)?;
            let patch = SubtaskPatch {
                title: a.title,
                status: one_of::<SubtaskStatus>("status", a.status)?,
            };
            self.client.update_subtask(&id, &a.subtask_id, &patch).await
        };
        answer(result.await)
    }

    #[tool(
        description = "Post a message on your project's message bus: a QUESTION for the person, a DECISION, a FACT for other agents, an answer to earlier messages (parentIds)."
    )]
    async fn post_message(
        &self,
        Parameters(a): Parameters<PostMessageArgs>,
    ) -> Result<CallToolResult, McpError> {
        let result = async {
            let input = NewMessage {
                project_id: self.project(None)?,
                task_id: a.task_id.or_else(|| self.context.only_task()),
                session_id: self.context.session_id.clone(),
                r#type: a.kind,
                body: a.body,
                parent_ids: a.parent_ids,
            };
            self.client.post_message(&input).await
        };
        answer(result.await)
    }

    #[tool(
        description = "Read your project's messages, oldest first (after: only those after a message id)."
    )]
    async fn list_messages(
        &self,
        Parameters(a): Parameters<ListMessagesArgs>,
    ) -> Result<CallToolResult, McpError> {
        let result = async {
            let q = ListMessages {
                project_id: Some(self.project(None)?),
                task_id: a.task_id,
                after: a.after,
                limit: Some(a.limit.unwrap_or(50).to_string()),
                ..Default::default()
            };
            self.client.list_messages(&q).await
        };
        answer(result.await)
    }

    #[tool(
        description = "Report your progress: a one-line status and/or a percentage (0-100). Shown on your session and posted as a PROGRESS message."
    )]
    async fn report_progress(
        &self,
        Parameters(a): Parameters<ReportArgs>,
    ) -> Result<CallToolResult, McpError> {
        let result = async {
            let session = self.context.session_id.clone().ok_or_else(|| {
                ClientError::Setup("report_progress works inside an agent session only".into())
            })?;
            let report = SessionReport {
                text: a.text,
                progress: a.progress,
            };
            self.client.report(&session, &report).await
        };
        answer(result.await)
    }

    #[tool(
        description = "List agent sessions of a project (default: yours): who runs, who waits for input, who finished."
    )]
    async fn list_sessions(
        &self,
        Parameters(a): Parameters<ListSessionsArgs>,
    ) -> Result<CallToolResult, McpError> {
        let result = async {
            let q = ListSessions {
                project_id: Some(self.project(a.project_id)?),
                status: a.status,
                task_id: None,
            };
            self.client.list_sessions(&q).await
        };
        answer(result.await)
    }

    #[tool(
        description = "Start another agent (an agent profile) on tasks of your project, in its own terminal."
    )]
    async fn start_session(
        &self,
        Parameters(a): Parameters<StartSessionArgs>,
    ) -> Result<CallToolResult, McpError> {
        let result = async {
            let input = NewSession {
                project_id: self.project(None)?,
                task_ids: Some(a.task_ids),
                agent_id: Some(a.agent_id),
                name: a.name,
                ..Default::default()
            };
            self.client.create_session(&input).await
        };
        answer(result.await)
    }
}
