//! Statements whose SQL is built once per shape. sea-query builds a statement's SQL from its
//! syntax tree at every call; for the statements of a queued run's start and end, and the queue's
//! reads, that building cost as much as SQLite running them. A [`Shapes`] (one per call site)
//! builds its statement with marker values in place of the real ones, once per backend, number of
//! values and variant, keeps the SQL and where each marker went, and then makes the statement for
//! any values by putting them there: the same SQL and values sea-query would have built (tests
//! check it for ids, numbers, texts and NULLs on both backends).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use sea_orm::sea_query::{Expr, Query};
use sea_orm::{
    ActiveModelTrait, ActiveValue, ConnectionTrait, DbBackend, DbErr, EntityName, EntityTrait,
    FromQueryResult, Iterable, Statement, Value, Values,
};

/// Shapes with more ids than this are built every time (each number of ids is a shape).
const MOST_IDS: usize = 64;

/// One family of statements: the same builder, called with different ids.
pub struct Shapes {
    built: OnceLock<Mutex<HashMap<ShapeKey, Arc<Template>>>>,
}

/// A shape: the backend, the variant (see [`Shapes::variant`]), the number of values.
type ShapeKey = (u8, u64, usize);

/// A built statement with its given values marked.
struct Template {
    sql: String,
    values: Vec<Slot>,
}

#[derive(Clone)]
enum Slot {
    /// The `n`th value given.
    Given(usize),
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
        let values = ids
            .iter()
            .map(|id| Value::String(Some(id.clone())))
            .collect();
        self.with_values(backend, values, |markers| {
            let ids: Vec<String> = markers.iter().map(marker_text).collect();
            build(&ids)
        })
    }

    /// The same for a statement of any `values` (of any types, each bound where the statement
    /// takes it: `build` must not branch on them, nor write them into the SQL text).
    pub fn with_values(
        &self,
        backend: DbBackend,
        values: Vec<Value>,
        build: impl Fn(&[Value]) -> Statement,
    ) -> Statement {
        self.variant(backend, 0, values, build)
    }

    /// The same, for a family whose statements come in shapes told apart by `variant` (say,
    /// which columns an insert sets).
    fn variant(
        &self,
        backend: DbBackend,
        variant: u64,
        values: Vec<Value>,
        build: impl Fn(&[Value]) -> Statement,
    ) -> Statement {
        let key = (backend_key(backend), variant, values.len());
        let built = self.built.get_or_init(Mutex::default);
        let known = built
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&key)
            .cloned();
        let template = match known {
            Some(template) => template,
            None => {
                let template = Arc::new(template_of(build, values.len()));
                built
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .insert(key, Arc::clone(&template));
                template
            }
        };
        let bound = template
            .values
            .iter()
            .map(|slot| match slot {
                Slot::Given(n) => values[*n].clone(),
                Slot::Fixed(value) => value.clone(),
            })
            .collect();
        Statement::from_sql_and_values(backend, template.sql.clone(), Values(bound))
    }
}

/// Inserts `row` (the columns it sets) with the SQL of its shape built once; nothing read back.
pub async fn insert<A, C>(shapes: &Shapes, conn: &C, row: &A) -> Result<(), DbErr>
where
    A: ActiveModelTrait,
    C: ConnectionTrait,
{
    let mut columns = Vec::new();
    let mut values = Vec::new();
    let mut set = 0u64;
    let mut wide = false;
    for (n, column) in <A::Entity as EntityTrait>::Column::iter().enumerate() {
        if let ActiveValue::Set(value) | ActiveValue::Unchanged(value) = row.get(column) {
            match 1u64.checked_shl(n as u32) {
                Some(bit) => set |= bit,
                None => wide = true,
            }
            columns.push(column);
            values.push(value);
        }
    }
    let backend = conn.get_database_backend();
    let build = |v: &[Value]| {
        let mut insert = Query::insert();
        insert
            .into_table(A::Entity::default().table_ref())
            .columns(columns.clone())
            .values_panic(v.iter().cloned().map(Expr::val));
        backend.build(&insert)
    };
    // The set columns are the shape: a table of more than 64 columns is built every time.
    let stmt = if wide {
        build(&values)
    } else {
        shapes.variant(backend, set, values, build)
    };
    conn.execute_raw(stmt).await?;
    Ok(())
}

/// The rows of the read `build` makes for `values`, decoded as `M`; its SQL built once.
pub async fn all<M, C>(
    shapes: &Shapes,
    conn: &C,
    values: Vec<Value>,
    build: impl Fn(&[Value]) -> Statement,
) -> Result<Vec<M>, DbErr>
where
    M: FromQueryResult,
    C: ConnectionTrait,
{
    let stmt = shapes.with_values(conn.get_database_backend(), values, build);
    rows(conn, stmt).await
}

/// The rows `stmt` reads, decoded as `M` (by column name).
pub async fn rows<M: FromQueryResult, C: ConnectionTrait>(
    conn: &C,
    stmt: Statement,
) -> Result<Vec<M>, DbErr> {
    conn.query_all_raw(stmt)
        .await?
        .iter()
        .map(|row| M::from_query_result(row, ""))
        .collect()
}

/// The first row `stmt` reads (or writes, with `RETURNING`), decoded as `M`.
pub async fn one<M: FromQueryResult, C: ConnectionTrait>(
    conn: &C,
    stmt: Statement,
) -> Result<Option<M>, DbErr> {
    match conn.query_one_raw(stmt).await? {
        Some(row) => Ok(Some(M::from_query_result(&row, "")?)),
        None => Ok(None),
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

/// A marker's text (an id's marker is given to `build` as this text).
fn marker_text(value: &Value) -> String {
    match value {
        Value::String(Some(text)) => text.clone(),
        _ => String::new(),
    }
}

fn template_of(build: impl Fn(&[Value]) -> Statement, count: usize) -> Template {
    let markers: Vec<Value> = (0..count).map(|n| Value::String(Some(marker(n)))).collect();
    let built = build(&markers);
    let values = built
        .values
        .map(|v| v.0)
        .unwrap_or_default()
        .into_iter()
        .map(|value| match markers.iter().position(|m| *m == value) {
            Some(n) => Slot::Given(n),
            None => Slot::Fixed(value),
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

    /// An update of typed values (numbers, texts, NULLs) with a constant between them.
    fn update(backend: DbBackend, v: &[Value]) -> Statement {
        let mut query = task::Entity::update_many()
            .col_expr(task::Column::Status, Expr::value(v[0].clone()))
            .col_expr(task::Column::CompletedAt, Expr::value(v[1].clone()))
            .col_expr(task::Column::Priority, Expr::value(2))
            .filter(sea_orm::ColumnTrait::eq(&task::Column::Id, v[2].clone()))
            .into_query();
        query.returning_all();
        backend.build(&query)
    }

    #[test]
    fn a_shape_of_typed_values_binds_each_where_the_builder_would() {
        let shapes = Shapes::new();
        let calls: [Vec<Value>; 3] = [
            vec!["done".into(), Some(17i64).into(), "task_a".into()],
            vec!["failed".into(), Option::<i64>::None.into(), "task_b".into()],
            vec!["queued".into(), Some(-3i64).into(), "task_c".into()],
        ];
        for backend in [DbBackend::Sqlite, DbBackend::Postgres] {
            for values in &calls {
                let made = shapes.with_values(backend, values.clone(), |v| update(backend, v));
                let built = update(backend, values);
                assert_eq!(made.sql, built.sql);
                assert_eq!(made.values, built.values, "{backend:?} {values:?}");
            }
        }
    }
}
