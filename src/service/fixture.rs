//! For the service's own tests: a real server on a temporary data folder, with one project, one
//! agent profile and the queue paused, so that executed tasks wait until a test lets them go.

use crate::config::Config;
use crate::model::{ExecuteTask, NewAgentProfile, NewProject, NewTask, QueueScope};
use crate::server::Server;

use super::{Actor, Service};

pub(crate) struct PausedQueue {
    pub server: Server,
    pub service: Service,
    pub project: String,
    /// The agent profile's id.
    pub agent: String,
    /// Kept for the test's length: the data folder and the project's folder.
    _dir: tempfile::TempDir,
}

impl PausedQueue {
    /// A new task of the project, with `fields` (`title` at least), executed with the profile:
    /// queued, waiting for the resume. Its id.
    pub async fn queued_task(&self, fields: serde_json::Value) -> String {
        let mut input = serde_json::json!({ "projectId": self.project });
        input
            .as_object_mut()
            .unwrap()
            .extend(fields.as_object().unwrap().clone());
        let input: NewTask = serde_json::from_value(input).unwrap();
        let id = self
            .service
            .create_task(input, &Actor::User)
            .await
            .unwrap()
            .id;
        let execute = ExecuteTask {
            agent_id: Some(self.agent.clone()),
            ..Default::default()
        };
        self.service
            .execute_task(&id, execute, &Actor::User)
            .await
            .unwrap();
        id
    }
}

/// Starts the fixture; `profile` is the agent profile's JSON (as `POST /api/agents` takes it).
pub(crate) async fn paused_queue(profile: serde_json::Value) -> PausedQueue {
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::new(dir.path().join("data"));
    config.port = 0;
    let server = crate::server::start(&config).await.unwrap();
    let service = server.service().clone();
    let project = service
        .create_project(
            NewProject {
                name: "p".into(),
                base_path: Some(dir.path().display().to_string()),
                settings: None,
            },
            &Actor::User,
        )
        .await
        .unwrap()
        .id;
    let profile: NewAgentProfile = serde_json::from_value(profile).unwrap();
    let agent = service
        .create_agent_profile(profile, &Actor::User)
        .await
        .unwrap()
        .id;
    service
        .pause_queue(QueueScope::default(), true, &Actor::User)
        .await
        .unwrap();
    PausedQueue {
        server,
        service,
        project,
        agent,
        _dir: dir,
    }
}
