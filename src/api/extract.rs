//! Request extractors that fail with *our* error shape: a body or query that does not fit is a
//! 400 naming the field and the problem, never axum's plain-text rejection.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Path, Request};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use super::error::ApiError;

/// The largest request body accepted (1 MiB).
pub const MAX_BODY: usize = 1024 * 1024;

/// A JSON body of type `T`.
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, _state: &S) -> Result<Self, ApiError> {
        if !super::guard::is_json(req.headers()) {
            return Err(ApiError::UnsupportedMediaType);
        }
        parse_json(&read_body(req).await?).map(ApiJson)
    }
}

/// A JSON body that may be empty (then `T::default()`).
pub struct OptionalJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Default> FromRequest<S> for OptionalJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, _state: &S) -> Result<Self, ApiError> {
        let bytes = read_body(req).await?;
        let text = bytes.trim_ascii();
        if text.is_empty() || text == b"null" {
            return Ok(OptionalJson(T::default()));
        }
        parse_json(&bytes).map(OptionalJson)
    }
}

/// The whole body, refused (413) past [`MAX_BODY`] even when no length was declared.
async fn read_body(req: Request) -> Result<Bytes, ApiError> {
    axum::body::to_bytes(req.into_body(), MAX_BODY)
        .await
        .map_err(|_| ApiError::PayloadTooLarge { limit: MAX_BODY })
}

/// Parses a JSON body, naming the field at fault.
pub fn parse_json<T: DeserializeOwned>(bytes: &Bytes) -> Result<T, ApiError> {
    // Every body Baton takes is an object; say so rather than report a positional field.
    if bytes.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Err(ApiError::MalformedBody {
            message: "request body must be a JSON object".to_owned(),
        });
    }
    // Two steps, so that syntax and shape errors are told apart: serde_json classifies some
    // type mismatches (a number where an enum is expected) as syntax errors when it reads
    // straight from bytes.
    let mut document: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|err| ApiError::MalformedBody {
            message: format!("request body is not valid JSON: {err}"),
        })?;
    whole_numbers(&mut document);
    let value = serde_path_to_error::deserialize(document).map_err(|err| {
        let path = err.path().to_string();
        field_error(&path, &err.into_inner().to_string())
    })?;
    Ok(value)
}

/// JSON does not tell `2` from `2.0`, and JSON Schema calls both integers: a number with no
/// fraction becomes an integer, so that a field typed as one accepts it.
fn whole_numbers(value: &mut serde_json::Value) {
    use serde_json::Value;
    match value {
        Value::Number(n) if n.is_f64() => {
            if let Some(f) = n.as_f64().filter(|f| f.fract() == 0.0 && f.abs() < 9.0e15) {
                *value = Value::from(f as i64);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(whole_numbers),
        Value::Object(members) => members.values_mut().for_each(whole_numbers),
        _ => {}
    }
}

/// A query string of type `T` (all fields optional strings, checked by the service).
pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        let query = parts.uri.query().unwrap_or_default();
        serde_urlencoded::from_str(query)
            .map(ApiQuery)
            .map_err(|err| field_error(".", &err.to_string()))
    }
}

/// Path parameters of type `T`.
pub struct ApiPath<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for ApiPath<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        Path::<T>::from_request_parts(parts, state)
            .await
            .map(|Path(value)| ApiPath(value))
            .map_err(|rejection| ApiError::InvalidField {
                field: "path".to_owned(),
                message: rejection.body_text(),
            })
    }
}

/// An `InvalidField` for a serde message. Unknown and missing fields are reported by serde at
/// the enclosing object, so their name is taken from the message itself.
fn field_error(path: &str, message: &str) -> ApiError {
    let quoted = ["unknown field `", "missing field `", "duplicate field `"]
        .iter()
        .find_map(|prefix| {
            let start = message.find(prefix)? + prefix.len();
            let len = message[start..].find('`')?;
            Some(&message[start..start + len])
        });
    let field = match (quoted, path) {
        (Some(name), "." | "") => name.to_owned(),
        // serde_path_to_error already ends the path with an unknown key.
        (Some(name), path) if path == name || path.ends_with(&format!(".{name}")) => {
            path.to_owned()
        }
        (Some(name), parent) => format!("{parent}.{name}"),
        (None, "." | "") => "body".to_owned(),
        (None, path) => path.to_owned(),
    };
    ApiError::InvalidField {
        field,
        message: message.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields, rename_all = "camelCase")]
    #[allow(dead_code)]
    struct Body {
        title: String,
        #[serde(default)]
        tags: Vec<String>,
        #[serde(default)]
        inner: Option<Inner>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Inner {
        n: u32,
    }

    fn field_of(json: &str) -> (String, String) {
        match parse_json::<Body>(&Bytes::from(json.to_owned())) {
            Err(ApiError::InvalidField { field, message }) => (field, message),
            other => panic!("expected a field error for {json}, got {other:?}"),
        }
    }

    #[test]
    fn unknown_missing_and_mistyped_fields_are_named() {
        assert_eq!(field_of(r#"{"title":"x","colour":1}"#).0, "colour");
        assert_eq!(field_of(r#"{}"#).0, "title");
        let (field, message) = field_of(r#"{"title":5}"#);
        assert_eq!(field, "title");
        assert!(message.contains("expected a string"), "{message}");
        assert_eq!(field_of(r#"{"title":"x","tags":["a",2]}"#).0, "tags[1]");
        assert_eq!(field_of(r#"{"title":"x","inner":{"m":1}}"#).0, "inner.m");
        assert_eq!(field_of(r#"{"title":"x","inner":{"n":-1}}"#).0, "inner.n");
    }

    #[test]
    fn syntax_errors_and_empty_bodies_are_malformed() {
        for body in ["", "  ", "{", "[1]", "null", r#"{"title":"x"} trailing"#] {
            assert!(
                matches!(
                    parse_json::<Body>(&Bytes::from(body)),
                    Err(ApiError::MalformedBody { .. })
                ),
                "{body:?}"
            );
        }
    }

    proptest::proptest! {
        /// Any serde message and path make a field error (the message is searched and cut).
        #[test]
        fn field_errors_take_any_message(path in ".{0,40}", message in ".{0,120}") {
            let _ = field_error(&path, &message);
        }

        /// Any query string: parsed into a list query or refused, never a panic.
        #[test]
        fn any_query_string_is_parsed_or_refused(query in "[a-zA-Z=&%,0-9._~-]{0,120}") {
            let _ = serde_urlencoded::from_str::<crate::model::ListTasks>(&query);
            let _ = serde_urlencoded::from_str::<crate::model::ListAudit>(&query);
        }
    }
}
