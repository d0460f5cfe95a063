//! Session tokens: each agent gets its own token instead of the admin token, because it reads
//! text an attacker may have written. Only a SHA-256 of each token is kept, in memory: a token
//! lives exactly as long as its session's process, and is revoked when it ends (or when Baton
//! stops, which ends every process).
//!
//! A token is live from the moment its process starts, which is before that start is recorded
//! (the process runs outside the database's write lock). Until then its session is *starting*:
//! requests made with its token wait for the record ([`SessionTokens::starting`]), so an agent
//! that acts at once (marks its task done, asks a permission) can never be undone or lost by the
//! record of its own start.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};

use tokio::sync::watch;

use sha2::{Digest, Sha256};

/// What a session token allows: acting as that session, within its project.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Grant {
    pub session_id: String,
    pub project_id: String,
}

#[derive(Clone, Default)]
pub struct SessionTokens {
    by_hash: Arc<RwLock<HashMap<[u8; 32], Grant>>>,
    /// Sessions whose start is being recorded: their requests wait until the sender drops.
    starting: Arc<Mutex<HashMap<String, watch::Receiver<()>>>>,
}

/// Held while a session's start is being recorded; dropped once it is (or once it failed, after
/// its token was revoked), which lets its waiting requests go on.
pub struct Starting {
    session_id: String,
    starting: Arc<Mutex<HashMap<String, watch::Receiver<()>>>>,
    _recorded: watch::Sender<()>,
}

impl Drop for Starting {
    fn drop(&mut self) {
        self.starting
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&self.session_id);
        // `_recorded` drops after this: the waiters wake and find the entry gone.
    }
}

impl SessionTokens {
    /// Makes a new token for `grant` (replacing any earlier one of the same session).
    pub fn issue(&self, grant: Grant) -> Result<String, getrandom::Error> {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes)?;
        let token: String = std::iter::once("bst_".to_owned())
            .chain(bytes.iter().map(|b| format!("{b:02x}")))
            .collect();
        let mut map = self.by_hash.write().unwrap_or_else(|p| p.into_inner());
        map.retain(|_, g| g.session_id != grant.session_id);
        map.insert(hash(&token), grant);
        Ok(token)
    }

    /// [`SessionTokens::issue`] for a session whose start is about to be recorded: until the
    /// returned guard drops, [`SessionTokens::starting`] makes its requests wait.
    pub fn issue_starting(&self, grant: Grant) -> Result<(String, Starting), getrandom::Error> {
        let session_id = grant.session_id.clone();
        let (tx, rx) = watch::channel(());
        self.starting
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(session_id.clone(), rx);
        let guard = Starting {
            session_id,
            starting: Arc::clone(&self.starting),
            _recorded: tx,
        };
        // On an error the guard drops here, and with it the entry.
        let token = self.issue(grant)?;
        Ok((token, guard))
    }

    /// Waits while `session_id`'s start is being recorded (at once when it is not).
    pub async fn starting(&self, session_id: &str) {
        let pending = self
            .starting
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(session_id)
            .cloned();
        if let Some(mut recorded) = pending {
            // Only ever closed, never sent to: this returns when the guard drops.
            let _ = recorded.changed().await;
        }
    }

    /// Whether `session_id` has a live token.
    pub fn is_live(&self, session_id: &str) -> bool {
        self.by_hash
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .values()
            .any(|g| g.session_id == session_id)
    }

    /// Revokes the token of `session_id`, if it has one.
    pub fn revoke(&self, session_id: &str) {
        self.by_hash
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .retain(|_, g| g.session_id != session_id);
    }

    /// The grant of `token`, if it is a live session token. (A lookup by hash: timing can tell
    /// nothing about a token from its hash.)
    pub fn resolve(&self, token: &str) -> Option<Grant> {
        if !token.starts_with("bst_") {
            return None;
        }
        self.by_hash
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(&hash(token))
            .cloned()
    }
}

fn hash(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grant(s: &str) -> Grant {
        Grant {
            session_id: s.into(),
            project_id: "p".into(),
        }
    }

    #[test]
    fn a_token_resolves_until_revoked() {
        let tokens = SessionTokens::default();
        let t = tokens.issue(grant("s1")).unwrap();
        let other = tokens.issue(grant("s2")).unwrap();
        assert_eq!(tokens.resolve(&t), Some(grant("s1")));
        tokens.revoke("s1");
        assert_eq!(tokens.resolve(&t), None);
        assert_eq!(tokens.resolve(&other), Some(grant("s2")));
        assert_eq!(tokens.resolve("bst_nope"), None);
    }

    #[tokio::test]
    async fn requests_of_a_starting_session_wait_until_its_start_is_recorded() {
        let tokens = SessionTokens::default();
        let (token, starting) = tokens.issue_starting(grant("s1")).unwrap();
        // The token is live at once (the process has it)...
        assert_eq!(tokens.resolve(&token), Some(grant("s1")));
        // ...but its requests wait for the record.
        let waiting = tokio::spawn({
            let tokens = tokens.clone();
            async move { tokens.starting("s1").await }
        });
        tokio::task::yield_now().await;
        assert!(!waiting.is_finished());
        // Another session does not wait.
        tokens.starting("s2").await;
        drop(starting);
        tokio::time::timeout(std::time::Duration::from_secs(5), waiting)
            .await
            .expect("released when the start is recorded")
            .unwrap();
        tokens.starting("s1").await;
        assert!(tokens.is_live("s1"));
    }

    #[tokio::test]
    async fn a_start_that_failed_releases_its_waiters_to_a_revoked_token() {
        let tokens = SessionTokens::default();
        let (token, starting) = tokens.issue_starting(grant("s1")).unwrap();
        let waiting = tokio::spawn({
            let tokens = tokens.clone();
            async move {
                tokens.starting("s1").await;
                tokens.is_live("s1")
            }
        });
        tokens.revoke("s1");
        drop(starting);
        assert!(
            !waiting.await.unwrap(),
            "revoked before its waiters went on"
        );
        assert_eq!(tokens.resolve(&token), None);
    }

    #[test]
    fn a_new_token_replaces_the_old_one_of_the_same_session() {
        let tokens = SessionTokens::default();
        let first = tokens.issue(grant("s1")).unwrap();
        let second = tokens.issue(grant("s1")).unwrap();
        assert_eq!(tokens.resolve(&first), None);
        assert!(tokens.resolve(&second).is_some());
    }
}
