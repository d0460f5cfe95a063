//! JSON documents kept in `TEXT` columns (argv arrays, environments, settings, id lists).
//!
//! The store writes these itself, so a value that does not parse means the file was edited by
//! hand or damaged; it is logged and read as the type's default rather than failing every read.

use serde::de::DeserializeOwned;
use serde::Serialize;

/// Serializes `value` for a `TEXT` column.
pub fn to_text<T: Serialize>(value: &T) -> String {
    // Serializing plain maps, vectors and strings cannot fail.
    serde_json::to_string(value).unwrap_or_else(|_| "null".to_owned())
}

/// Parses a `TEXT` column written by [`to_text`].
pub fn from_text<T: DeserializeOwned + Default>(column: &str, text: &str) -> T {
    match serde_json::from_str(text) {
        Ok(value) => value,
        Err(err) => {
            tracing::warn!(column, %err, "unreadable JSON in the database; using an empty value");
            T::default()
        }
    }
}
