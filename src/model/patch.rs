//! Partial updates that can clear a field: absent, `null` and a value are three different things.

use serde::{Deserialize, Deserializer};

/// For `#[serde(default, deserialize_with = "nullable")]` on an `Option<Option<T>>`: absent →
/// `None` (leave as is), `null` → `Some(None)` (clear), a value → `Some(Some(v))`.
pub fn nullable<'de, T, D>(de: D) -> Result<Option<Option<T>>, D::Error>
where
    T: Deserialize<'de>,
    D: Deserializer<'de>,
{
    Option::<T>::deserialize(de).map(Some)
}
