//! Session tokens: each agent gets its own token instead of the admin token, because it reads
//! text an attacker may have written. Only a SHA-256 of each token is kept, in memory: a token
//! lives exactly as long as its session's process, and is revoked when it ends (or when Baton
//! stops, which ends every process).

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

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

    #[test]
    fn a_new_token_replaces_the_old_one_of_the_same_session() {
        let tokens = SessionTokens::default();
        let first = tokens.issue(grant("s1")).unwrap();
        let second = tokens.issue(grant("s1")).unwrap();
        assert_eq!(tokens.resolve(&first), None);
        assert!(tokens.resolve(&second).is_some());
    }
}
