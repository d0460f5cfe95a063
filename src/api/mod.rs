//! The loopback HTTP + WebSocket API (axum). Handlers are a few lines around one service call;
//! rules live in the service layer, failures become responses in [`error`], and every request
//! passes the [`guard`] first. The OpenAPI document is generated from the handlers' annotations
//! (utoipa) and served at `/api/openapi.json`.

mod agents;
pub mod audit;
mod commands;
pub mod error;
pub mod extract;
pub mod guard;
mod messages;
mod projects;
mod queue;
pub mod rate_limit;
mod runs;
mod sessions;
mod signals;
pub mod state;
mod system;
mod tasks;
mod terminal;
pub mod ui;
mod webhooks;
mod workspaces;
mod ws;

use std::sync::Arc;

use axum::http::Uri;
use axum::routing::get;
use axum::{middleware, Json, Router};
use serde::Serialize;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use error::ApiError;
use guard::Guard;
use state::AppState;

/// The error body every failure carries.
#[derive(Serialize, ToSchema)]
pub struct ErrorBody {
    /// A sentence saying what went wrong.
    pub error: String,
    /// A stable machine-readable code (`invalid_field`, `not_found`, `dependency_cycle`, …).
    pub code: String,
    /// Specifics, e.g. `{"field": "title", "problem": "..."}` or `{"cycle": [...]}`.
    #[schema(value_type = Object)]
    pub details: serde_json::Value,
}

/// `{"success": true}`, the answer to a delete.
#[derive(Serialize, ToSchema)]
pub struct Success {
    pub success: bool,
}

impl Default for Success {
    fn default() -> Self {
        Self { success: true }
    }
}

#[derive(OpenApi)]
#[openapi(
    info(title = "Baton API", description = "The loopback API of Baton: projects, tasks, sessions, messages and live events."),
    modifiers(&BearerAuth),
    // Used by query parameters only, which utoipa does not collect by itself; and the events of
    // `/ws`, SSE and webhooks (not a route's body), so that clients can generate their types.
    components(schemas(
        crate::model::SortField, crate::model::SortOrder, crate::model::DeliveryStatus,
        crate::events::Event, ErrorBody
    )),
    security(("bearer" = [])),
    tags(
        (name = "projects"), (name = "tasks"), (name = "sessions"), (name = "agents"), (name = "messages"),
        (name = "events", description = "WebSocket at /ws"), (name = "webhooks"), (name = "system"),
        (name = "runs", description = "every start of a session's process"),
        (name = "queue", description = "executing tasks: the durable queue"),
        (name = "commands", description = "the safety check of commands Baton runs"),
        (name = "workspaces", description = "a task's own git worktree, its diff, merge and archive"),
        (name = "signals", description = "agent hooks, permission requests decided in Baton, resuming conversations, token usage")
    )
)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// The failures every operation can meet before or beside its own: the guard's (401, 403, 413,
/// 415, 429), bad parameters or bodies (400), and a missing record named in the path (404). Added
/// to each operation that does not describe them itself, so that the document lists every status
/// an operation can answer. Also makes each operation id unique (`tasks_list`).
struct CommonResponses;

impl Modify for CommonResponses {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::path::ParameterIn;
        use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
        let error = |description: &str| {
            ResponseBuilder::new()
                .description(description)
                .content(
                    "application/json",
                    ContentBuilder::new()
                        .schema(Some(Ref::from_schema_name("ErrorBody")))
                        .build(),
                )
                .build()
        };
        for (path, item) in openapi.paths.paths.iter_mut() {
            if path == "/api/health" {
                continue;
            }
            let operations = [
                (&mut item.get, false),
                (&mut item.post, true),
                (&mut item.put, true),
                (&mut item.patch, true),
                (&mut item.delete, true),
            ];
            for (operation, changes) in operations {
                let Some(operation) = operation else { continue };
                // Handlers are named for what they do within their family (`list`, `create`):
                // the family makes the id unique, as OpenAPI requires (`tasks_list`).
                if let (Some(id), Some(tag)) = (
                    operation.operation_id.as_ref(),
                    operation.tags.as_ref().and_then(|t| t.first()),
                ) {
                    operation.operation_id = Some(format!("{tag}_{id}"));
                }
                let params = operation.parameters.as_deref().unwrap_or_default();
                let in_path = params
                    .iter()
                    .any(|p| matches!(p.parameter_in, ParameterIn::Path));
                let mut common = vec![
                    ("401", "no token, or not a valid one"),
                    (
                        "403",
                        "a foreign Host or Origin, or the caller may not do this",
                    ),
                    ("429", "too many requests with this token (see Retry-After)"),
                ];
                if !params.is_empty() || operation.request_body.is_some() {
                    common.push(("400", "a parameter or the body is not valid"));
                }
                if in_path {
                    common.push(("404", "no such record"));
                }
                if changes {
                    common.push(("413", "the body is over 1 MiB"));
                    common.push(("415", "the body is not declared as JSON"));
                }
                for (status, description) in common {
                    operation
                        .responses
                        .responses
                        .entry(status.to_owned())
                        .or_insert_with(|| error(description).into());
                }
            }
        }
    }
}

/// The routes and the OpenAPI document describing them.
fn routes() -> (Router<AppState>, utoipa::openapi::OpenApi) {
    let router = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(system::health))
        .routes(routes!(system::version))
        .routes(routes!(system::regenerate_token))
        .routes(routes!(system::status))
        .routes(routes!(system::metrics))
        .routes(routes!(audit::list))
        .routes(routes!(projects::list, projects::create))
        .routes(routes!(projects::get, projects::update, projects::delete))
        .routes(routes!(tasks::list, tasks::create))
        .routes(routes!(tasks::get, tasks::update, tasks::delete))
        .routes(routes!(tasks::add_subtask))
        .routes(routes!(tasks::update_subtask, tasks::remove_subtask))
        .routes(routes!(tasks::set_dependencies))
        .routes(routes!(tasks::history))
        .routes(routes!(sessions::list, sessions::create))
        .routes(routes!(sessions::get, sessions::update, sessions::delete))
        .routes(routes!(sessions::add_task, sessions::remove_task))
        .routes(routes!(sessions::stop))
        .routes(routes!(sessions::restart))
        .routes(routes!(signals::hook))
        .routes(routes!(signals::actions))
        .routes(routes!(signals::decide))
        .routes(routes!(signals::resume))
        .routes(routes!(signals::session_usage))
        .routes(routes!(signals::task_usage))
        .routes(routes!(signals::project_usage))
        .routes(routes!(
            signals::prices,
            signals::set_prices,
            signals::reset_prices
        ))
        .routes(routes!(sessions::report))
        .routes(routes!(sessions::input))
        .routes(routes!(terminal::upgrade))
        .routes(routes!(terminal::output))
        .routes(routes!(agents::list, agents::create))
        .routes(routes!(agents::get, agents::update, agents::delete))
        .routes(routes!(messages::list, messages::create))
        .routes(routes!(messages::stream))
        .routes(routes!(webhooks::list, webhooks::create))
        .routes(routes!(webhooks::delete))
        .routes(routes!(webhooks::deliveries))
        .routes(routes!(runs::of_session))
        .routes(routes!(runs::of_task))
        .routes(routes!(runs::get))
        .routes(routes!(runs::output))
        .routes(routes!(queue::execute))
        .routes(routes!(queue::cancel))
        .routes(routes!(queue::retry))
        .routes(routes!(queue::resume))
        .routes(routes!(queue::status, queue::update, queue::clear))
        .routes(routes!(queue::pause))
        .routes(routes!(queue::resume_queue))
        .routes(routes!(queue::priority))
        .routes(routes!(queue::bulk))
        .routes(routes!(queue::stats))
        .routes(routes!(commands::validate))
        .routes(routes!(workspaces::get, workspaces::remove))
        .routes(routes!(workspaces::archive))
        .routes(routes!(workspaces::files))
        .routes(routes!(workspaces::file_content))
        .routes(routes!(workspaces::run_file))
        .routes(routes!(workspaces::run_script))
        .routes(routes!(workspaces::review))
        .routes(routes!(workspaces::archives))
        .routes(routes!(workspaces::archive_files))
        .routes(routes!(workspaces::restore))
        .routes(routes!(workspaces::diff))
        .routes(routes!(workspaces::conflicts))
        .routes(routes!(workspaces::commit))
        .routes(routes!(workspaces::merge))
        .routes(routes!(workspaces::rebase))
        .routes(routes!(workspaces::pull_request))
        .routes(routes!(ws::upgrade));
    let (router, mut doc) = router.split_for_parts();
    // After the routes: they are what it describes.
    CommonResponses.modify(&mut doc);
    (router, doc)
}

/// Counts every answered request by route template (not the raw path: ids would make a new
/// series per task) and status.
async fn count_request(
    axum::extract::State(state): axum::extract::State<AppState>,
    req: axum::extract::Request,
    next: middleware::Next,
) -> axum::response::Response {
    let route = match req.extensions().get::<axum::extract::MatchedPath>() {
        // `/api/tasks/:id` rather than axum's `{id}`: braces inside a label value trip up some
        // Prometheus text parsers.
        Some(matched) => format!(
            "{} {}",
            req.method(),
            matched.as_str().replace('{', ":").replace('}', "")
        ),
        None if req.uri().path().starts_with("/api") => "unmatched".to_owned(),
        None => "static".to_owned(),
    };
    let response = next.run(req).await;
    state
        .service
        .metrics()
        .api_request(&route, response.status().as_u16());
    response
}

/// Each documented route's methods, by template (`/api/tasks/{id}` → GET, PATCH, DELETE).
fn route_methods(
    doc: &utoipa::openapi::OpenApi,
) -> std::collections::HashMap<String, Vec<axum::http::Method>> {
    let mut methods: std::collections::HashMap<String, Vec<axum::http::Method>> = doc
        .paths
        .paths
        .iter()
        .map(|(path, item)| {
            let has = [
                (&item.get, axum::http::Method::GET),
                (&item.post, axum::http::Method::POST),
                (&item.put, axum::http::Method::PUT),
                (&item.patch, axum::http::Method::PATCH),
                (&item.delete, axum::http::Method::DELETE),
            ];
            let list = has
                .into_iter()
                .filter(|(op, _)| op.is_some())
                .map(|(_, m)| m)
                .collect();
            (path.clone(), list)
        })
        .collect();
    methods.insert("/api/openapi.json".into(), vec![axum::http::Method::GET]);
    methods
}

/// The OpenAPI document, for tools that want it without a running server.
pub fn openapi() -> utoipa::openapi::OpenApi {
    routes().1
}

/// The whole application: routes, the OpenAPI document, and the guard in front of all of it
/// (unknown routes included).
pub fn router(state: AppState, guard: Guard, ui_dir: &std::path::Path) -> Router {
    let (router, mut doc) = routes();
    doc.info.version = env!("CARGO_PKG_VERSION").to_owned();
    let guard = guard.route_methods(route_methods(&doc));
    let doc = Arc::new(doc);
    router
        .route(
            "/api/openapi.json",
            get(move || {
                let doc = Arc::clone(&doc);
                async move { Json(doc) }
            }),
        )
        .nest_service(
            "/api",
            Router::new().fallback(|uri: Uri| async move {
                ApiError::RouteNotFound(format!("/api{}", uri.path()))
            }),
        )
        .merge(ui::routes(ui_dir))
        // Documented routes are answered by the guard; this is for the UI's files.
        .method_not_allowed_fallback(|| async {
            ApiError::MethodNotAllowed {
                allow: "GET, HEAD".into(),
            }
        })
        // Inside the guard: only callers it let through are recorded, with who they are.
        .layer(middleware::from_fn_with_state(state.clone(), audit::record))
        .layer(middleware::from_fn_with_state(Arc::new(guard), guard::gate))
        // Outermost, so that refusals by the guard are counted too.
        .layer(middleware::from_fn_with_state(state.clone(), count_request))
        .with_state(state)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Operation ids are unique, as OpenAPI requires (code generators name functions by them).
    #[test]
    fn operation_ids_are_unique() {
        let doc = serde_json::to_value(openapi()).unwrap();
        let mut ids: Vec<&str> = doc["paths"]
            .as_object()
            .unwrap()
            .values()
            .flat_map(|item| item.as_object().unwrap().values())
            .filter_map(|op| op["operationId"].as_str())
            .collect();
        let count = ids.len();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), count, "{ids:?}");
    }

    /// The document's `Event` union names exactly the events there are.
    #[test]
    fn the_event_union_names_every_event() {
        let doc = serde_json::to_value(openapi()).unwrap();
        let union = &doc["components"]["schemas"]["Event"]["oneOf"];
        let mut named: Vec<String> = union
            .as_array()
            .expect("Event is a union")
            .iter()
            .map(|variant| {
                variant["properties"]["event"]["enum"][0]
                    .as_str()
                    .unwrap_or_else(|| panic!("a variant without its name: {variant}"))
                    .to_owned()
            })
            .collect();
        named.sort();
        let mut names: Vec<String> = crate::events::NAMES
            .iter()
            .map(|n| (*n).to_owned())
            .collect();
        names.sort();
        assert_eq!(named, names);
    }

    /// The contract the UI's types are generated from (`ui/openapi.json`, see `ui/package.json`
    /// `contract`) is the one the code describes. `BATON_UPDATE_CONTRACT=1 cargo test` rewrites it.
    #[test]
    fn the_checked_in_contract_is_current() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("ui/openapi.json");
        let mut doc = openapi();
        doc.info.version = env!("CARGO_PKG_VERSION").to_owned();
        let current = serde_json::to_string_pretty(&doc).unwrap() + "\n";
        if std::env::var_os("BATON_UPDATE_CONTRACT").is_some() {
            std::fs::write(&path, &current).unwrap();
        }
        let checked_in = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            checked_in == current,
            "ui/openapi.json is stale: run `BATON_UPDATE_CONTRACT=1 cargo test -p baton --lib contract` and `cd ui && npm run contract`, then commit both"
        );
    }
}
