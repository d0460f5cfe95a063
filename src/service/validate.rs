//! Checks of input values that need no database: names, titles, tags, message types, paging.
//! Each returns the cleaned value or an error naming the field.

use std::path::Path;

use super::error::{ServiceError, ServiceResult};
use crate::model::one_of;

pub const MAX_NAME: usize = 200;
pub const MAX_TITLE: usize = 500;
pub const MAX_TAG: usize = 64;
pub const MAX_TAGS: usize = 32;
pub const MAX_PAGE: u64 = 1000;

/// A required one-line text: trimmed, not empty, at most `max` characters, no control characters.
pub fn required_line(field: &str, value: &str, max: usize) -> ServiceResult<String> {
    let trimmed = required_text(field, value, max)?;
    if trimmed.chars().any(char::is_control) {
        return Err(ServiceError::invalid(
            field,
            "must not contain control characters",
        ));
    }
    Ok(trimmed)
}

/// A required text that may span lines (a commit message): trimmed, not empty, at most `max`
/// characters, no NUL.
pub fn required_text(field: &str, value: &str, max: usize) -> ServiceResult<String> {
    let trimmed = value.trim();
    if trimmed.is_empty() {
        return Err(ServiceError::invalid(field, "must not be empty"));
    }
    if trimmed.chars().count() > max {
        return Err(ServiceError::invalid(
            field,
            format!("must be at most {max} characters"),
        ));
    }
    if trimmed.contains('\0') {
        return Err(ServiceError::invalid(field, "must not contain NUL"));
    }
    Ok(trimmed.to_owned())
}

/// A project's base path: absolute, and an existing folder.
pub fn base_path(value: &str) -> ServiceResult<String> {
    let path = Path::new(value);
    if !path.is_absolute() {
        return Err(ServiceError::invalid(
            "basePath",
            "must be an absolute path",
        ));
    }
    if !path.is_dir() {
        return Err(ServiceError::invalid(
            "basePath",
            "must be an existing folder",
        ));
    }
    Ok(value.to_owned())
}

/// Tags: each trimmed, 1–64 characters, no commas or control characters; duplicates dropped,
/// sorted (the order tasks show them in); at most 32.
pub fn tags(values: &[String]) -> ServiceResult<Vec<String>> {
    let mut out: Vec<String> = Vec::with_capacity(values.len());
    for value in values {
        let tag = value.trim();
        if tag.is_empty() || tag.chars().count() > MAX_TAG {
            return Err(ServiceError::invalid(
                "tags",
                format!("each tag must be 1-{MAX_TAG} characters"),
            ));
        }
        if tag.chars().any(|c| c.is_control() || c == ',') {
            return Err(ServiceError::invalid(
                "tags",
                "a tag must not contain commas or control characters",
            ));
        }
        if !out.iter().any(|t| t == tag) {
            out.push(tag.to_owned());
        }
    }
    out.sort();
    if out.len() > MAX_TAGS {
        return Err(ServiceError::invalid(
            "tags",
            format!("at most {MAX_TAGS} tags"),
        ));
    }
    Ok(out)
}

/// A message type: an upper-case word such as `PROGRESS` (letters, digits, `_`; at most 32).
pub fn message_type(value: &str) -> ServiceResult<String> {
    let ok = !value.is_empty()
        && value.len() <= 32
        && value.as_bytes()[0].is_ascii_uppercase()
        && value
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_');
    if ok {
        Ok(value.to_owned())
    } else {
        Err(ServiceError::invalid(
            "type",
            "must be an upper-case word such as USER, PROGRESS or QUESTION",
        ))
    }
}

/// A whole number given as a query string, within `min..=max`.
pub fn number(
    field: &str,
    value: Option<&str>,
    default: u64,
    min: u64,
    max: u64,
) -> ServiceResult<u64> {
    let Some(text) = value else {
        return Ok(default);
    };
    match text.parse::<u64>() {
        Ok(n) if (min..=max).contains(&n) => Ok(n),
        _ => Err(ServiceError::invalid(
            field,
            format!("must be a whole number from {min} to {max}"),
        )),
    }
}

/// A comma list of an enum's spellings, or `None` when the parameter is absent. Empty items are
/// refused, `status=` included: the OpenAPI document asks for at least one item.
pub fn comma_list<T>(field: &str, value: Option<&str>) -> ServiceResult<Option<Vec<T>>>
where
    T: std::str::FromStr + strum::IntoEnumIterator + Into<&'static str>,
{
    let Some(value) = value else {
        return Ok(None);
    };
    value
        .split(',')
        .map(|item| one_of(item.trim()).map_err(|problem| ServiceError::invalid(field, problem)))
        .collect::<ServiceResult<Vec<T>>>()
        .map(Some)
}

/// `text` cut to at most `max` characters (a name made from a longer title).
pub fn clip(text: &str, max: usize) -> String {
    text.chars().take(max).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn required_lines_are_trimmed_and_bounded() {
        assert_eq!(required_line("name", "  x ", 10).unwrap(), "x");
        assert!(required_line("name", "   ", 10).is_err());
        assert!(required_line("name", "a\nb", 10).is_err());
        assert!(required_line("name", &"é".repeat(11), 10).is_err());
        assert!(required_line("name", &"é".repeat(10), 10).is_ok());
    }

    #[test]
    fn tags_are_deduplicated_and_sorted() {
        let got = tags(&["b".into(), " a".into(), "b".into()]).unwrap();
        assert_eq!(got, vec!["a", "b"]);
        assert!(tags(&["a,b".into()]).is_err());
        assert!(tags(&["".into()]).is_err());
    }

    #[test]
    fn message_types_are_upper_case_words() {
        assert!(message_type("PROGRESS").is_ok());
        assert!(message_type("NEEDS_REVIEW2").is_ok());
        for bad in ["", "progress", "2X", "A-B", &"A".repeat(33)] {
            assert!(message_type(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn base_paths_must_be_absolute_existing_folders() {
        let dir = std::env::temp_dir();
        assert!(base_path(dir.to_str().unwrap()).is_ok());
        assert!(base_path("relative/path").is_err());
        assert!(base_path("/definitely/not/here/baton").is_err());
    }

    #[test]
    fn numbers_are_checked_against_their_range() {
        assert_eq!(number("limit", None, 7, 1, 10).unwrap(), 7);
        assert_eq!(number("limit", Some("10"), 7, 1, 10).unwrap(), 10);
        for bad in ["0", "11", "-1", "x", ""] {
            assert!(number("limit", Some(bad), 7, 1, 10).is_err(), "{bad:?}");
        }
    }

    proptest::proptest! {
        /// Query values: numbers and comma lists are accepted or named in a 400, never a panic.
        #[test]
        fn query_values_are_accepted_or_refused(text in ".{0,60}") {
            if let Ok(n) = number("limit", Some(&text), 1, 1, 1000) {
                proptest::prop_assert!((1..=1000).contains(&n));
            }
            let _ = comma_list::<crate::model::TaskStatus>("status", Some(&text));
        }
    }
}
