//! Schemas of the OpenAPI document that say more than the Rust types can: a one-line text that
//! must not be blank, an environment's variable names, a client-chosen id, an http(s) URL. They
//! mirror the service's checks (`service::validate` and its neighbours), so that what the
//! document calls valid the server accepts — schemathesis checks both ways in the test command.
//! Rules no schema can say (an id that must exist, a folder that must exist, "text or
//! progress") are listed in `schemathesis.toml`.

use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, Schema, SchemaType, Type};
use utoipa::openapi::RefOr;

/// A line: no control characters, at least one character that is not a space.
const LINE: &str = r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$";
/// Any text with something in it.
const NOT_BLANK: &str = r"\S";
/// A plain variable name that does not start with `BATON_` (Baton's own), spelled without
/// look-ahead, which not every tool's regular expressions have: shorter than `BATON_`, or
/// leaving it at some letter.
const ENV_NAME: &str = concat!(
    "^(?:[A-Za-z_][A-Za-z0-9_]{0,4}",
    "|[AC-Za-z_][A-Za-z0-9_]*",
    "|B[B-Za-z0-9_][A-Za-z0-9_]*",
    "|BA[A-SU-Za-z0-9_][A-Za-z0-9_]*",
    "|BAT[A-NP-Za-z0-9_][A-Za-z0-9_]*",
    "|BATO[A-MO-Za-z0-9_][A-Za-z0-9_]*",
    "|BATON[A-Za-z0-9][A-Za-z0-9_]*)$"
);
/// Text with something besides spaces in it, and no NUL.
const TEXT: &str = r"^[^\x00]*[^\s\x00][^\x00]*$";
/// A path relative to a workspace root that never leaves it: segments that are neither `.`
/// nor `..` (a segment may start with one dot: `.env`), no leading `/`, no NUL.
const RELATIVE_PATH: &str = r"^(?:\.?[^./\x00][^/\x00]*)(?:/\.?[^./\x00][^/\x00]*)*$";
/// [`RELATIVE_PATH`], or empty.
const FOLDER_PATH: &str = r"^(?:|(?:\.?[^./\x00][^/\x00]*)(?:/\.?[^./\x00][^/\x00]*)*)$";
/// A client-chosen id: 1–128 of `[A-Za-z0-9_.-]`, but not `.` or `..`.
const CLIENT_ID: &str = concat!(
    r"^(?:[A-Za-z0-9_\-][A-Za-z0-9_.\-]{0,127}",
    r"|\.[A-Za-z0-9_\-][A-Za-z0-9_.\-]{0,126}",
    r"|\.\.[A-Za-z0-9_.\-]{1,126})$"
);

fn string(nullable: bool) -> ObjectBuilder {
    let kind = if nullable {
        SchemaType::from_iter([Type::String, Type::Null])
    } else {
        SchemaType::new(Type::String)
    };
    ObjectBuilder::new().schema_type(kind)
}

fn line(max: usize, nullable: bool) -> RefOr<Schema> {
    string(nullable)
        .min_length(Some(1))
        .max_length(Some(max))
        .pattern(Some(LINE))
        .into()
}

/// A name: a line of at most 200 characters.
pub fn name() -> RefOr<Schema> {
    line(200, false)
}
pub fn name_or_null() -> RefOr<Schema> {
    line(200, true)
}
/// A title: a line of at most 500 characters.
pub fn title() -> RefOr<Schema> {
    line(500, false)
}
pub fn title_or_null() -> RefOr<Schema> {
    line(500, true)
}

/// A text of 1 to `max` characters, not blank, without NUL (a commit message, a comment).
pub fn text(max: usize) -> RefOr<Schema> {
    string(false)
        .min_length(Some(1))
        .max_length(Some(max))
        .pattern(Some(TEXT))
        .into()
}
pub fn commit_message() -> RefOr<Schema> {
    text(10_000)
}
pub fn comment_body() -> RefOr<Schema> {
    text(4000)
}
pub fn comment_path() -> RefOr<Schema> {
    text(1000)
}

/// A folder inside a task's workspace, relative to its root; empty for the root.
pub fn folder_path() -> RefOr<Schema> {
    string(false).pattern(Some(FOLDER_PATH)).into()
}

/// A path inside a task's workspace, relative to its root.
pub fn relative_path() -> RefOr<Schema> {
    string(false)
        .min_length(Some(1))
        .pattern(Some(RELATIVE_PATH))
        .into()
}

/// Text that must hold something besides spaces.
pub fn not_blank() -> RefOr<Schema> {
    string(false)
        .min_length(Some(1))
        .pattern(Some(NOT_BLANK))
        .into()
}

/// A client-chosen id (1–128 of `[A-Za-z0-9_.-]`, not `.` or `..`).
pub fn client_id_or_null() -> RefOr<Schema> {
    string(true).pattern(Some(CLIENT_ID)).into()
}

/// An environment: plain variable names, none starting with `BATON_`, values without NUL.
pub fn env_or_null() -> RefOr<Schema> {
    let kind = SchemaType::from_iter([Type::Object, Type::Null]);
    let names = ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(Some(ENV_NAME))
        .build();
    let mut env = ObjectBuilder::new()
        .schema_type(kind)
        .additional_properties(Some(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .pattern(Some(r"^[^\x00]*$")),
        ))
        .build();
    env.property_names = Some(Box::new(Schema::Object(names)));
    env.into()
}

/// An argv: strings without NUL.
fn argv(first_non_blank: bool, nullable: bool) -> RefOr<Schema> {
    let item = ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(Some(r"^[^\x00]*$"));
    let mut array = ArrayBuilder::new().items(item);
    if nullable {
        array = array.schema_type(SchemaType::from_iter([Type::Array, Type::Null]));
    }
    if first_non_blank {
        let mut schema = array.min_items(Some(1)).build();
        schema.prefix_items = vec![Schema::Object(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .pattern(Some(r"^[^\x00]*[^\s\x00][^\x00]*$"))
                .build(),
        )];
        return schema.into();
    }
    array.build().into()
}

/// A command: a non-empty argv whose first item names a program.
pub fn command_or_null() -> RefOr<Schema> {
    argv(true, true)
}

/// Arguments: strings without NUL.
pub fn args_or_null() -> RefOr<Schema> {
    argv(false, true)
}

/// A program: a name or path without spaces around it, no NUL.
pub fn program() -> RefOr<Schema> {
    string(false)
        .min_length(Some(1))
        .pattern(Some(r"^[^\s\x00]([^\x00]*[^\s\x00])?$"))
        .into()
}
pub fn program_or_null() -> RefOr<Schema> {
    string(true)
        .min_length(Some(1))
        .pattern(Some(r"^[^\s\x00]([^\x00]*[^\s\x00])?$"))
        .into()
}

/// Tags: 1–64 characters each, no commas or control characters, at most 32.
pub fn tags_or_null() -> RefOr<Schema> {
    ArrayBuilder::new()
        .schema_type(SchemaType::from_iter([Type::Array, Type::Null]))
        .items(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .min_length(Some(1))
                .max_length(Some(64))
                .pattern(Some(
                    r"^[^,\x00-\x1f\x7f-\x9f]*[^\s,\x00-\x1f\x7f-\x9f][^,\x00-\x1f\x7f-\x9f]*$",
                )),
        )
        .max_items(Some(32))
        .into()
}

/// A message type: an upper-case word (default `USER`).
pub fn message_type_or_null() -> RefOr<Schema> {
    string(true).pattern(Some("^[A-Z][A-Z0-9_]{0,31}$")).into()
}

/// An http:// or https:// URL with a host name or address, an optional port, then anything
/// without spaces. The service checks webhook URLs with this same pattern.
pub const HTTP_URL: &str = concat!(
    r"^https?://",
    r"(?:[A-Za-z0-9](?:[A-Za-z0-9\-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9\-]*[A-Za-z0-9])?)*",
    r"|\[[0-9A-Fa-f:.]+\])",
    r"(?::[0-9]{1,5})?(?:[/?#]\S*)?$"
);

pub fn http_url() -> RefOr<Schema> {
    string(false)
        .max_length(Some(2048))
        .pattern(Some(HTTP_URL))
        .into()
}

/// Event names or patterns: a known name (`task:created`), a resource's `resource:*`, or `*`.
pub fn event_patterns() -> RefOr<Schema> {
    let mut patterns: Vec<String> = crate::events::NAMES
        .iter()
        .map(|n| (*n).to_owned())
        .collect();
    for name in crate::events::NAMES {
        let all = format!("{}:*", name.split(':').next().unwrap_or_default());
        if !patterns.contains(&all) {
            patterns.push(all);
        }
    }
    patterns.push("*".to_owned());
    ArrayBuilder::new()
        .items(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .enum_values(Some(patterns)),
        )
        .min_items(Some(1))
        .max_items(Some(64))
        .into()
}

/// An absolute path (that must also exist: see `schemathesis.toml`).
pub fn absolute_path_or_null() -> RefOr<Schema> {
    string(true).pattern(Some("^/")).into()
}

fn free_object(nullable: bool) -> RefOr<Schema> {
    use utoipa::openapi::schema::AdditionalProperties;
    let kind = if nullable {
        SchemaType::from_iter([Type::Object, Type::Null])
    } else {
        SchemaType::new(Type::Object)
    };
    ObjectBuilder::new()
        .schema_type(kind)
        .additional_properties(Some(AdditionalProperties::FreeForm(true)))
        .into()
}

/// A project's settings: an object of any keys and values.
pub fn settings() -> RefOr<Schema> {
    free_object(false)
}
pub fn settings_or_null() -> RefOr<Schema> {
    free_object(true)
}
/// Any object (its keys depend on something else, e.g. a bulk operation's `data`), or null.
pub fn object_or_null() -> RefOr<Schema> {
    free_object(true)
}
