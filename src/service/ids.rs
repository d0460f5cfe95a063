//! Identifiers: a type prefix and a time-ordered UUID (`task_0193…`), so ids sort by creation and
//! say what they name. Client-chosen ids (sessions) are checked by [`check_client_id`].

use super::error::{ServiceError, ServiceResult};

pub fn new_id(prefix: &str) -> String {
    format!("{prefix}_{}", uuid::Uuid::now_v7().simple())
}

/// A client-chosen id: 1–128 characters of `[A-Za-z0-9_.-]`, so it is safe in a path, a file
/// name and a URL without escaping.
pub fn check_client_id(field: &str, id: &str) -> ServiceResult<()> {
    let ok = !id.is_empty()
        && id.len() <= 128
        && id != "."
        && id != ".."
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'));
    if ok {
        Ok(())
    } else {
        Err(ServiceError::invalid(
            field,
            "must be 1-128 characters of letters, digits, '_', '-' or '.'",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_ids_carry_their_prefix_and_sort_by_creation() {
        let a = new_id("task");
        let b = new_id("task");
        assert!(a.starts_with("task_"));
        assert!(a < b, "{a} should sort before {b}");
        assert!(check_client_id("id", &a).is_ok());
    }

    #[test]
    fn client_ids_that_could_escape_a_path_are_refused() {
        for bad in ["", ".", "..", "a/b", "a b", "ä", &"x".repeat(129)] {
            assert!(check_client_id("id", bad).is_err(), "{bad:?} accepted");
        }
        assert!(check_client_id("id", "sess_task-1.2").is_ok());
    }
}
