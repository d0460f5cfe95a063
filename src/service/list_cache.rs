//! Answers to list queries, kept until the data changes. Every change publishes an event, and
//! the event bus counts them: an answer computed at version `v` is served again only while the
//! version is still `v`. A write publishes before it answers, so a reader never gets an answer
//! older than a write that was already acknowledged. The board, `baton task list` in an agent's
//! loop and polling scripts ask the same page again and again between changes.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// At most this many answers are kept; when full, answers of older versions go first, then all.
const CAPACITY: usize = 64;

pub struct ListCache<T> {
    entries: Mutex<HashMap<String, (u64, Arc<T>)>>,
}

impl<T> Default for ListCache<T> {
    fn default() -> Self {
        Self {
            entries: Mutex::default(),
        }
    }
}

impl<T> ListCache<T> {
    /// The answer to `key` computed at `version`, if there is one.
    pub fn get(&self, key: &str, version: u64) -> Option<Arc<T>> {
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries
            .get(key)
            .filter(|(at, _)| *at == version)
            .map(|(_, value)| value.clone())
    }

    /// Keeps `value` as the answer to `key` at `version`.
    pub fn put(&self, key: String, version: u64, value: Arc<T>) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if entries.len() >= CAPACITY && !entries.contains_key(&key) {
            entries.retain(|_, (at, _)| *at == version);
            if entries.len() >= CAPACITY {
                entries.clear();
            }
        }
        entries.insert(key, (version, value));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_answer_is_served_only_at_its_version() {
        let cache = ListCache::default();
        cache.put("q".into(), 3, Arc::new(1));
        assert_eq!(cache.get("q", 3).as_deref(), Some(&1));
        assert_eq!(cache.get("q", 4), None, "a change happened since");
        assert_eq!(cache.get("other", 3), None);
    }

    #[test]
    fn a_full_cache_drops_old_versions_first_and_never_grows_past_its_capacity() {
        let cache = ListCache::default();
        for i in 0..CAPACITY {
            cache.put(format!("old{i}"), 1, Arc::new(i));
        }
        cache.put("new".into(), 2, Arc::new(0));
        assert_eq!(cache.entries.lock().unwrap().len(), 1);
        for i in 0..CAPACITY * 2 {
            cache.put(format!("k{i}"), 2, Arc::new(i));
            assert!(cache.entries.lock().unwrap().len() <= CAPACITY);
        }
    }
}
