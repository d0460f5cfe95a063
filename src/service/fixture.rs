//! For the service's own tests: a real server on a temporary data folder, with one project, one
//! agent profile and the queue paused, so that executed tasks wait until a test lets them go.

use crate::config::Config;
use crate::model::{NewAgentProfile, NewProject, QueueScope};
use crate::server::Server;

use super::{Actor, Service};

pub(crate) struct PausedQueue {
    pub server: Server,
    pub service: Service,
    pub project: String,
    /// Kept for the test's length: the data folder and the project's folder.
    pub dir: tempfile::TempDir,
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
    service
        .create_agent_profile(profile, &Actor::User)
        .await
        .unwrap();
    service
        .pause_queue(QueueScope::default(), true, &Actor::User)
        .await
        .unwrap();
    PausedQueue {
        server,
        service,
        project,
        dir,
    }
}
