//! `baton mcp`: Baton as a Model Context Protocol server on stdio, for the agents it runs.
//!
//! It is one more client of the loopback API (like the CLI, through [`crate::client`]), started
//! by the agent inside its terminal with the environment Baton gave it: tools act on the
//! agent's own project, session and tasks unless told otherwise, and the session's tasks are
//! readable as resources (`baton://task/current`, `baton://task/<id>`). A failed call comes back
//! as a tool error (`isError: true`) carrying the API's sentence, so the model can correct itself.
//! stdout belongs to the protocol: logs go to stderr.

mod tools;

use rmcp::model::{
    Implementation, ListResourcesResult, PaginatedRequestParams, ReadResourceRequestParams,
    ReadResourceResponse, ReadResourceResult, Resource, ResourceContents, ServerCapabilities,
    ServerConfig,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData as McpError, RoleServer, ServerHandler, ServiceExt};

use crate::cli::Global;
use crate::client::{discover, AgentEnv, Client, ClientError};

pub use tools::BatonMcp;

/// Serves MCP on stdin/stdout until the client hangs up.
pub async fn serve_stdio(global: &Global) -> Result<(), String> {
    let token = std::env::var("BATON_TOKEN").ok();
    let endpoint = discover(
        global.url.as_deref(),
        token.as_deref(),
        global.data_dir.as_deref(),
    )
    .map_err(|e| e.to_string())?;
    let client = Client::new(endpoint, "mcp").map_err(|e| e.to_string())?;
    let server = BatonMcp::new(client, AgentEnv::from_env());
    let running = server
        .serve(rmcp::transport::stdio())
        .await
        .map_err(|e| format!("MCP start-up failed: {e}"))?;
    running
        .waiting()
        .await
        .map_err(|e| format!("MCP server stopped: {e}"))?;
    Ok(())
}

const INSTRUCTIONS: &str = "Baton runs you in a terminal on a task. Use these tools to read your \
task (resource baton://task/current), split it into subtasks and tick them off, report progress \
(report_progress) as you go, ask questions or note decisions on the project's message bus \
(post_message with type QUESTION or DECISION), and hand work to another agent (create_task, then \
execute_task to queue it, or start_session to start an agent at once; cancel_task stops it). Ids \
default to your own project, session and task.";

#[rmcp::tool_handler(router = self.tool_router)]
impl ServerHandler for BatonMcp {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(
            ServerCapabilities::builder()
                .enable_tools()
                .enable_resources()
                .build(),
        )
        .with_server_info(Implementation::new("baton", env!("CARGO_PKG_VERSION")))
        .with_instructions(INSTRUCTIONS)
    }

    async fn list_resources(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListResourcesResult, McpError> {
        let mut resources = Vec::new();
        if let Some(first) = self.context.task_ids.first() {
            let title = self.task_title(first).await;
            resources.push(
                Resource::new("baton://task/current", format!("Current task: {title}"))
                    .with_description(
                        "The task this session works on: prompt, status, subtasks, dependencies.",
                    )
                    .with_mime_type("application/json"),
            );
        }
        for id in &self.context.task_ids {
            let title = self.task_title(id).await;
            resources.push(
                Resource::new(format!("baton://task/{id}"), format!("Task: {title}"))
                    .with_mime_type("application/json"),
            );
        }
        Ok(ListResourcesResult::with_all_items(resources))
    }

    async fn read_resource(
        &self,
        request: ReadResourceRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<ReadResourceResponse, McpError> {
        let uri = request.uri.as_str();
        let Some(which) = uri.strip_prefix("baton://task/") else {
            return Err(McpError::resource_not_found(
                format!("no such resource: {uri}"),
                None,
            ));
        };
        let id =
            match which {
                "current" => self.context.task_ids.first().cloned().ok_or_else(|| {
                    McpError::resource_not_found("this session has no task", None)
                })?,
                id => id.to_owned(),
            };
        let task = self.client.get_task(&id).await.map_err(|e| match e {
            ClientError::Api {
                status: 404,
                message,
                ..
            } => McpError::resource_not_found(message, None),
            other => McpError::internal_error(other.to_string(), None),
        })?;
        let text = serde_json::to_string_pretty(&task).unwrap_or_default();
        let contents = ResourceContents::text(text, uri).with_mime_type("application/json");
        Ok(ReadResourceResult::new(vec![contents]).into())
    }
}
