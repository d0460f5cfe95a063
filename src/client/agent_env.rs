//! Who the caller is when it runs inside an agent's terminal: the project, session and tasks
//! Baton put in the agent's environment. The CLI and `baton mcp` default to them when an id is
//! left out. Outside an agent session all are empty.

use super::{ClientError, ClientResult};

#[derive(Clone, Debug, Default)]
pub struct AgentEnv {
    pub project_id: Option<String>,
    pub session_id: Option<String>,
    pub task_ids: Vec<String>,
}

impl AgentEnv {
    /// `BATON_PROJECT_ID`, `BATON_SESSION_ID`, `BATON_TASK_IDS` (comma-separated).
    pub fn from_env() -> Self {
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
        Self {
            project_id: var("BATON_PROJECT_ID"),
            session_id: var("BATON_SESSION_ID"),
            task_ids: var("BATON_TASK_IDS")
                .unwrap_or_default()
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect(),
        }
    }

    /// The session's task, when it has exactly one.
    pub fn only_task(&self) -> Option<String> {
        match self.task_ids.as_slice() {
            [only] => Some(only.clone()),
            _ => None,
        }
    }

    /// The task meant: `given`, else the session's only task. `ask` says how to give one
    /// (`give its id`, `taskId is required`).
    pub fn task(&self, given: Option<String>, ask: &str) -> ClientResult<String> {
        if let Some(t) = given {
            return Ok(t);
        }
        match self.task_ids.as_slice() {
            [only] => Ok(only.clone()),
            [] => Err(ClientError::Setup(format!(
                "which task? {ask} (there is no current task outside an agent session)"
            ))),
            several => Err(ClientError::Setup(format!(
                "which task? {ask} (this session works on {})",
                several.join(", ")
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_task_is_the_given_one_else_the_sessions_only_one() {
        let two = AgentEnv {
            task_ids: vec!["a".into(), "b".into()],
            ..AgentEnv::default()
        };
        let one = AgentEnv {
            task_ids: vec!["a".into()],
            ..AgentEnv::default()
        };
        assert_eq!(two.task(Some("x".into()), "give it").unwrap(), "x");
        assert_eq!(one.task(None, "give it").unwrap(), "a");
        assert_eq!(one.only_task().as_deref(), Some("a"));
        assert_eq!(two.only_task(), None);
        assert!(two
            .task(None, "give it")
            .unwrap_err()
            .to_string()
            .contains("a, b"));
        assert!(AgentEnv::default().task(None, "give it").is_err());
    }
}
