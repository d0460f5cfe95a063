//! Statements whose SQL is built once per shape. sea-query builds a statement's SQL from its
//! syntax tree at every call; for the queue's hottest reads (a task's links, a run's task with
//! its execution) that building cost as much as SQLite running them. A [`Shapes`] builds one
//! with marker ids in place of the real ones, once per backend and number of ids, keeps the SQL
//! and where each marker went, and then makes the statement for any ids of that number by putting
//! them there: the same SQL and values sea-query would have built (a test checks it).

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use sea_orm::{DbBackend, Statement, Value, Values};

/// Shapes with more ids than this are built every time (each number of ids is a shape).
const MOST_IDS: usize = 64;

/// One family of statements: the same builder, called with different ids.
pub struct Shapes {
    built: OnceLock<Mutex<HashMap<(u8, usize), Template>>>,
}

/// A built statement with its id values marked.
#[derive(Clone)]
struct Template {
    sql: String,
    values: Vec<Slot>,
}

#[derive(Clone)]
enum Slot {
    /// The value of `ids[n]`.
    Id(usize),
    /// A value that is the same at every call (a constant of the statement).
    Fixed(Value),
}

impl Default for Shapes {
    fn default() -> Self {
        Self::new()
    }
}

impl Shapes {
    pub const fn new() -> Self {
        Self {
            built: OnceLock::new(),
        }
    }

    /// The statement `build` makes for `ids` on `backend`. `build` must use the ids only as
    /// values (never in the SQL text) and be the same function at every call for this family.
    pub fn statement(
        &self,
        backend: DbBackend,
        ids: &[String],
        build: impl Fn(&[String]) -> Statement,
    ) -> Statement {
        if ids.len() > MOST_IDS {
            return build(ids);
        }
        let key = (backend_key(backend), ids.len());
        let built = self.built.get_or_init(Mutex::default);
        let known = built
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&key)
            .cloned();
        let template = match known {
            Some(template) => template,
            None => {
                let template = template_of(build, ids.len());
                built
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .insert(key, template.clone());
                template
            }
        };
        let values = template
            .values
            .into_iter()
            .map(|slot| match slot {
                Slot::Id(n) => Value::String(Some(ids[n].clone())),
                Slot::Fixed(value) => value,
            })
            .collect();
        Statement::from_sql_and_values(backend, template.sql, Values(values))
    }
}

fn backend_key(backend: DbBackend) -> u8 {
    match backend {
        DbBackend::Sqlite => 0,
        DbBackend::Postgres => 1,
        _ => 2,
    }
}

/// A marker no real id holds.
fn marker(n: usize) -> String {
    format!("\u{0}baton-shape-id-{n}\u{0}")
}

fn template_of(build: impl Fn(&[String]) -> Statement, count: usize) -> Template {
    let markers: Vec<String> = (0..count).map(marker).collect();
    let built = build(&markers);
    let values = built
        .values
        .map(|v| v.0)
        .unwrap_or_default()
        .into_iter()
        .map(|value| match &value {
            Value::String(Some(text)) => match markers.iter().position(|m| m == text) {
                Some(n) => Slot::Id(n),
                None => Slot::Fixed(value),
            },
            _ => Slot::Fixed(value),
        })
        .collect();
    Template {
        sql: built.sql,
        values,
    }
}

#[cfg(test)]
mod tests {
    use sea_orm::sea_query::{Expr, ExprTrait, Query};
    use sea_orm::{EntityTrait, QueryFilter, QueryTrait};

    use super::*;
    use crate::store::entity::task;

    /// A statement with constants around its ids, like the queue's reads.
    fn build(backend: DbBackend, ids: &[String]) -> Statement {
        let mut query = Query::select();
        query
            .expr(Expr::val(7))
            .column(task::Column::Id)
            .from(task::Entity)
            .and_where(Expr::col(task::Column::Id).is_in(ids.to_vec()))
            .and_where(Expr::col(task::Column::Status).eq("queued"));
        let first = backend.build(&query);
        // And a second part naming the same ids again (as a union's parts do).
        let second = task::Entity::find()
            .filter(sea_orm::ColumnTrait::is_in(&task::Column::Id, ids.to_vec()))
            .build(backend);
        let mut values = first.values.map(|v| v.0).unwrap_or_default();
        values.extend(second.values.map(|v| v.0).unwrap_or_default());
        Statement::from_sql_and_values(
            backend,
            format!("{} UNION ALL {}", first.sql, second.sql),
            Values(values),
        )
    }

    #[test]
    fn a_shape_makes_what_the_builder_makes_for_any_ids() {
        let shapes = Shapes::new();
        for backend in [DbBackend::Sqlite, DbBackend::Postgres] {
            for ids in [
                vec!["task_a".to_owned()],
                vec!["task_b".to_owned(), "task_c".to_owned()],
                vec!["task_d".to_owned(), "task_e".to_owned()],
                vec!["task_f".to_owned()],
            ] {
                let made = shapes.statement(backend, &ids, |ids| build(backend, ids));
                let built = build(backend, &ids);
                assert_eq!(made.sql, built.sql);
                assert_eq!(made.values, built.values, "{backend:?} {ids:?}");
                assert_eq!(made.db_backend, backend);
            }
        }
        // Two backends, two numbers of ids: four shapes, each built once.
        assert_eq!(shapes.built.get().unwrap().lock().unwrap().len(), 4);
    }
}
