//! SQLite in the caller's thread: two `rusqlite` connections of Baton's own to the database
//! file, one for the transactions of the queue's hot path (a round's starts, a batch of ends),
//! one for the reads of that path (admission, a start's preparation).
//!
//! sqlx runs each SQLite connection on a worker thread of its own, so every statement is a
//! hand-off there and back: two thread wake-ups, which on these machines cost more than the
//! statement itself. A transaction of a dozen statements pays that a dozen times while it holds
//! the service's write lock. Here the statements run where they are awaited, one after the
//! other, with no hand-off at all (a statement on the local file takes microseconds). The
//! writer's commits do not wait for the disk: see [`Synchronous`].
//!
//! The same sea-orm code runs through it: [`LocalTxn`] and [`LocalReads`] implement
//! [`ConnectionTrait`], binding the values sea-query built and answering rows that sea-orm
//! decodes into its models (sea-orm builds a `QueryResult` only from its own drivers' rows, so
//! the rows read here are handed back through its mock connection, which answers exactly the
//! rows it is given). Two rules follow from that:
//!
//! - sea-orm decodes such rows strictly (an `i32` field wants an `Int`, an `i64` one a
//!   `BigInt`), so a value read from a table's column is typed by that column's entity (SQLite
//!   names the table and column each result column comes from; a test pins that every table
//!   has its entity here), and an expression's by the value SQLite returns (an integer is an
//!   `i64`: cast literals to `BIGINT`).
//! - Rows are keyed by column name: code that may run here reads columns by name, never by
//!   index (`into_tuple`, `try_get_by_index`).
//!
//! It is SQLite only. On PostgreSQL, and for an in-memory SQLite database, there is none and
//! everything goes through the pool.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use rusqlite::types::{ToSqlOutput, Value as SqlValue, ValueRef};
use rusqlite::{CachedStatement, Connection, OpenFlags};
use sea_orm::sea_query::Value;
use sea_orm::{
    ColumnTrait, ColumnType, ConnectionTrait, DbBackend, DbErr, EntityTrait, ExecResult, Iterable,
    MockDatabase, MockExecResult, QueryResult, RuntimeErr, Statement,
};
use tokio::sync::OwnedMutexGuard;

use super::entity;

/// Baton's own connections to the database file.
pub struct LocalSqlite {
    writer: Arc<tokio::sync::Mutex<Conn>>,
    reads: LocalReads,
}

impl LocalSqlite {
    /// The connections for a `sqlite://` URL naming a file; `None` for any other database.
    pub fn for_url(url: &str) -> Result<Option<Self>, DbErr> {
        match file_of(url) {
            Some(path) => Self::open(&path).map(Some),
            None => Ok(None),
        }
    }

    /// Opens `path` twice. The schema must already be there (the pool migrates it).
    pub fn open(path: &Path) -> Result<Self, DbErr> {
        Ok(Self {
            writer: Arc::new(tokio::sync::Mutex::new(open(path, Synchronous::Normal)?)),
            reads: LocalReads {
                conn: Mutex::new(open(path, Synchronous::Full)?),
            },
        })
    }

    /// Begins a transaction (`BEGIN IMMEDIATE`: it takes SQLite's write lock at once, waiting
    /// for another writer within the busy timeout, so it never fails half-way for a stale read).
    pub async fn begin(&self) -> Result<LocalTxn, DbErr> {
        let conn = Arc::clone(&self.writer).lock_owned().await;
        conn.execute_batch("BEGIN IMMEDIATE").map_err(exec_err)?;
        Ok(LocalTxn {
            conn: Mutex::new(conn),
            open: true,
        })
    }

    /// The connection for reads outside a transaction.
    pub fn reads(&self) -> &LocalReads {
        &self.reads
    }
}

/// When a commit waits for the disk (`PRAGMA synchronous`).
///
/// The writer commits runs' starts and ends: the record of processes, which a power cut kills
/// anyway. It does not wait for the disk (`Normal`); everything people and agents write (tasks,
/// messages, execute, mark done: the pool) still does (`Full`). In WAL mode the log is written in
/// order and replayed up to its first incomplete frame, so the database after a power cut (never
/// after a crash of Baton alone: the OS has the writes) is as it was at some commit, and every
/// commit before the last `Full` one is in it (its `fsync` covers the frames before its own).
/// What can go is the last moments' starts and ends; on the next start, a run the database
/// still shows running is ended as `interrupted` and its task queued again, and a start that
/// was lost leaves its task queued. Each commit on the queue's path thus spends no `fdatasync`
/// under the write lock.
#[derive(Clone, Copy)]
enum Synchronous {
    /// Every commit `fsync`s the WAL, as the pool's do.
    Full,
    /// Commits do not wait for the disk; the WAL is synced at checkpoints and by the next
    /// `Full` commit on any connection.
    Normal,
}

/// Opens `path` with the pool's settings (WAL, foreign keys, a busy timeout) and `sync`.
fn open(path: &Path, sync: Synchronous) -> Result<Conn, DbErr> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(conn_err)?;
    conn.busy_timeout(Duration::from_secs(10))
        .map_err(conn_err)?;
    let sync = match sync {
        Synchronous::Full => "FULL",
        Synchronous::Normal => "NORMAL",
    };
    conn.execute_batch(&format!(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = {sync}; PRAGMA foreign_keys = ON;"
    ))
    .map_err(conn_err)?;
    conn.set_prepared_statement_cache_capacity(128);
    Ok(Conn {
        sqlite: conn,
        columns: HashMap::new(),
    })
}

/// A connection with what its statements' result columns are, by SQL text.
struct Conn {
    sqlite: Connection,
    /// Each query's columns (name and kind) as SQLite described them the first time: the same
    /// text always has the same columns, and asking SQLite for them (the table and column each
    /// comes from) costs more than the rows of a short query.
    columns: HashMap<String, Columns>,
}

type Columns = Arc<[(String, Kind)]>;

/// Distinct query texts kept (a list of `IN (…)` values makes a text per length); past it
/// the map starts again.
const COLUMNS_KEPT: usize = 256;

impl std::ops::Deref for Conn {
    type Target = Connection;

    fn deref(&self) -> &Connection {
        &self.sqlite
    }
}

/// The file a `sqlite:` URL names, unless it is in memory.
fn file_of(url: &str) -> Option<PathBuf> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or_default();
    if path.is_empty() || path.contains(":memory:") || url.contains("mode=memory") {
        return None;
    }
    Some(PathBuf::from(path))
}

/// An open transaction on the local writer connection. Dropped without [`LocalTxn::commit`],
/// it is rolled back.
pub struct LocalTxn {
    // The std mutex makes the transaction `Sync` (a connection is not); it is only ever taken
    // inside one synchronous call, never across an await.
    conn: Mutex<OwnedMutexGuard<Conn>>,
    open: bool,
}

impl LocalTxn {
    fn with<T>(&self, f: impl FnOnce(&mut Conn) -> T) -> T {
        let mut guard = self.conn.lock().unwrap_or_else(|e| e.into_inner());
        f(&mut guard)
    }

    /// Commits; when that fails the transaction is rolled back (as it drops).
    pub fn commit(mut self) -> Result<(), DbErr> {
        self.with(|c| c.execute_batch("COMMIT")).map_err(exec_err)?;
        self.open = false;
        Ok(())
    }
}

impl Drop for LocalTxn {
    fn drop(&mut self) {
        if self.open {
            if let Err(err) = self.with(|c| c.execute_batch("ROLLBACK")) {
                tracing::warn!(%err, "rolling back a local transaction failed");
            }
        }
    }
}

/// Reads outside a transaction, one statement at a time (the connection is taken for that
/// statement only, never across an await).
pub struct LocalReads {
    conn: Mutex<Conn>,
}

impl LocalReads {
    fn with<T>(&self, f: impl FnOnce(&mut Conn) -> T) -> T {
        let mut guard = self.conn.lock().unwrap_or_else(|e| e.into_inner());
        f(&mut guard)
    }
}

/// `ConnectionTrait` for a type with `with(|conn| ...)`.
macro_rules! local_connection {
    ($type:ty) => {
        #[async_trait::async_trait]
        impl ConnectionTrait for $type {
            fn get_database_backend(&self) -> DbBackend {
                DbBackend::Sqlite
            }

            async fn execute_raw(&self, stmt: Statement) -> Result<ExecResult, DbErr> {
                let result = self.with(|c| execute(c, &stmt))?;
                answering_exec(result).execute_raw(stmt).await
            }

            async fn execute_unprepared(&self, sql: &str) -> Result<ExecResult, DbErr> {
                let result = self.with(|c| execute_batch(c, sql))?;
                answering_exec(result).execute_unprepared(sql).await
            }

            async fn query_one_raw(&self, stmt: Statement) -> Result<Option<QueryResult>, DbErr> {
                let rows = self.with(|c| query(c, &stmt, Some(1)))?;
                answering_rows(rows).query_one_raw(stmt).await
            }

            async fn query_all_raw(&self, stmt: Statement) -> Result<Vec<QueryResult>, DbErr> {
                let rows = self.with(|c| query(c, &stmt, None))?;
                answering_rows(rows).query_all_raw(stmt).await
            }
        }
    };
}

local_connection!(LocalTxn);
local_connection!(LocalReads);

fn execute(c: &Conn, stmt: &Statement) -> Result<MockExecResult, DbErr> {
    let mut prepared = prepare(c, stmt)?;
    let rows_affected = prepared.raw_execute().map_err(exec_err)? as u64;
    Ok(MockExecResult {
        last_insert_id: c.last_insert_rowid() as u64,
        rows_affected,
    })
}

fn execute_batch(c: &Conn, sql: &str) -> Result<MockExecResult, DbErr> {
    c.execute_batch(sql).map_err(exec_err)?;
    Ok(MockExecResult {
        last_insert_id: c.last_insert_rowid() as u64,
        rows_affected: c.changes(),
    })
}

/// The rows `stmt` answers (at most `limit`), each value typed as its column's entity wants.
fn query(c: &mut Conn, stmt: &Statement, limit: Option<usize>) -> Result<Vec<Row>, DbErr> {
    let mut prepared = prepare(&c.sqlite, stmt)?;
    let columns = match c.columns.get(&stmt.sql) {
        Some(columns) => Arc::clone(columns),
        None => {
            let columns: Columns = prepared
                .columns_with_metadata()
                .iter()
                .map(|col| {
                    (
                        col.name().to_owned(),
                        Kind::of(col.table_name(), col.origin_name()),
                    )
                })
                .collect();
            if c.columns.len() >= COLUMNS_KEPT {
                c.columns.clear();
            }
            c.columns.insert(stmt.sql.clone(), Arc::clone(&columns));
            columns
        }
    };
    let mut rows = prepared.raw_query();
    let mut answer = Vec::new();
    while let Some(row) = rows.next().map_err(query_err)? {
        let mut values = BTreeMap::new();
        for (i, (name, kind)) in columns.iter().enumerate() {
            let value = row.get_ref(i).map_err(query_err)?;
            values.insert(name.clone(), kind.value(value)?);
        }
        answer.push(values);
        if limit.is_some_and(|n| answer.len() >= n) {
            break;
        }
    }
    Ok(answer)
}

/// A row read here, by column name.
type Row = BTreeMap<String, Value>;

/// A connection that answers the one statement it is given with `result`: how what SQLite
/// answered here becomes sea-orm's own `ExecResult`.
fn answering_exec(result: MockExecResult) -> sea_orm::DatabaseConnection {
    MockDatabase::new(DbBackend::Sqlite)
        .append_exec_results([result])
        .into_connection()
}

/// The same for `rows`, which become sea-orm's own `QueryResult`s.
fn answering_rows(rows: Vec<Row>) -> sea_orm::DatabaseConnection {
    MockDatabase::new(DbBackend::Sqlite)
        .append_query_results([rows])
        .into_connection()
}

/// Prepares `stmt` (from the connection's statement cache) with its values bound.
fn prepare<'c>(conn: &'c Connection, stmt: &Statement) -> Result<CachedStatement<'c>, DbErr> {
    let mut prepared = conn.prepare_cached(&stmt.sql).map_err(query_err)?;
    if let Some(values) = &stmt.values {
        for (i, value) in values.0.iter().enumerate() {
            prepared
                .raw_bind_parameter(i + 1, bind(value)?)
                .map_err(query_err)?;
        }
    }
    Ok(prepared)
}

/// A sea-query value as SQLite stores it (what sqlx would have bound); text and bytes are
/// bound where they are, not copied.
fn bind(value: &Value) -> Result<ToSqlOutput<'_>, DbErr> {
    fn int<T: Into<i64> + Copy>(v: &Option<T>) -> SqlValue {
        v.map_or(SqlValue::Null, |v| SqlValue::Integer(v.into()))
    }
    let owned = match value {
        Value::String(Some(text)) => {
            return Ok(ToSqlOutput::Borrowed(ValueRef::Text(text.as_bytes())))
        }
        Value::Bytes(Some(bytes)) => return Ok(ToSqlOutput::Borrowed(ValueRef::Blob(bytes))),
        Value::Bool(v) => int(v),
        Value::TinyInt(v) => int(v),
        Value::SmallInt(v) => int(v),
        Value::Int(v) => int(v),
        Value::BigInt(v) => int(v),
        Value::TinyUnsigned(v) => int(v),
        Value::SmallUnsigned(v) => int(v),
        Value::Unsigned(v) => int(v),
        Value::BigUnsigned(v) => match v {
            None => SqlValue::Null,
            Some(v) => SqlValue::Integer(
                i64::try_from(*v)
                    .map_err(|_| DbErr::Type(format!("{v} does not fit a SQLite integer")))?,
            ),
        },
        Value::Float(v) => v.map_or(SqlValue::Null, |v| SqlValue::Real(v.into())),
        Value::Double(v) => v.map_or(SqlValue::Null, SqlValue::Real),
        Value::String(None) => SqlValue::Null,
        Value::Char(v) => v.map_or(SqlValue::Null, |c| SqlValue::Text(c.to_string())),
        Value::Bytes(None) => SqlValue::Null,
        Value::Json(v) => v
            .as_ref()
            .map_or(SqlValue::Null, |j| SqlValue::Text(j.to_string())),
        other => {
            return Err(DbErr::Type(format!(
                "the local SQLite writer cannot bind {other:?}"
            )))
        }
    };
    Ok(ToSqlOutput::Owned(owned))
}

/// What a result column holds: the Rust type of its entity's field.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    BigInt,
    Int,
    SmallInt,
    Bool,
    Text,
    /// An expression, or a column of no entity: the value's own SQLite type.
    Other,
}

impl Kind {
    /// The kind of a result column that comes from `table`.`column` (none for an expression).
    pub(crate) fn of(table: Option<&str>, column: Option<&str>) -> Self {
        match (table, column) {
            (Some(table), Some(column)) => kinds()
                .get(table)
                .and_then(|columns| columns.get(column))
                .copied()
                .unwrap_or(Self::Other),
            _ => Self::Other,
        }
    }

    fn of_column(column: &ColumnType) -> Self {
        match column {
            ColumnType::BigInteger => Self::BigInt,
            ColumnType::Integer => Self::Int,
            ColumnType::SmallInteger => Self::SmallInt,
            ColumnType::Boolean => Self::Bool,
            ColumnType::String(_) | ColumnType::Text | ColumnType::Char(_) => Self::Text,
            _ => Self::Other,
        }
    }

    /// The value sea-orm's decoding of the matching Rust type expects.
    fn value(self, v: ValueRef<'_>) -> Result<Value, DbErr> {
        let mismatch = || DbErr::Type(format!("a {v:?} in a column of kind {self:?}"));
        Ok(match (self, v) {
            (Self::BigInt, ValueRef::Null) => Value::BigInt(None),
            (Self::Int, ValueRef::Null) => Value::Int(None),
            (Self::SmallInt, ValueRef::Null) => Value::SmallInt(None),
            (Self::Bool, ValueRef::Null) => Value::Bool(None),
            (Self::Text, ValueRef::Null) => Value::String(None),
            (Self::Other, ValueRef::Null) => Value::BigInt(None),
            (Self::BigInt | Self::Other, ValueRef::Integer(n)) => Value::BigInt(Some(n)),
            (Self::Int, ValueRef::Integer(n)) => {
                Value::Int(Some(i32::try_from(n).map_err(|_| mismatch())?))
            }
            (Self::SmallInt, ValueRef::Integer(n)) => {
                Value::SmallInt(Some(i16::try_from(n).map_err(|_| mismatch())?))
            }
            (Self::Bool, ValueRef::Integer(n)) => Value::Bool(Some(n != 0)),
            (Self::Text | Self::Other, ValueRef::Text(t)) => Value::String(Some(
                std::str::from_utf8(t).map_err(|_| mismatch())?.to_owned(),
            )),
            (Self::Other, ValueRef::Real(f)) => Value::Double(Some(f)),
            (Self::Other, ValueRef::Blob(b)) => Value::Bytes(Some(b.to_vec())),
            _ => return Err(mismatch()),
        })
    }
}

/// Every entity's columns: table → column → kind (looked up for every column read, so by
/// `&str`, without making keys).
type Kinds = HashMap<&'static str, HashMap<&'static str, Kind>>;

pub(crate) fn kinds() -> &'static Kinds {
    static KINDS: OnceLock<Kinds> = OnceLock::new();
    KINDS.get_or_init(|| {
        let mut kinds = HashMap::new();
        macro_rules! entities {
            ($($entity:ident),* $(,)?) => {
                $(add::<entity::$entity::Entity>(&mut kinds);)*
            };
        }
        entities!(
            agent_profile,
            audit_log,
            message,
            project,
            queue_setting,
            run,
            session,
            session_action,
            session_task,
            subtask,
            task,
            task_dependency,
            task_execution,
            task_history,
            task_tag,
            usage_record,
            webhook,
            webhook_delivery,
            workspace,
            workspace_archive,
        );
        kinds
    })
}

fn add<E: EntityTrait>(kinds: &mut Kinds) {
    let columns = kinds.entry(E::default().table_name()).or_default();
    for column in E::Column::iter() {
        columns.insert(
            sea_orm::IdenStatic::as_str(&column),
            Kind::of_column(column.def().get_column_type()),
        );
    }
}

fn conn_err(err: rusqlite::Error) -> DbErr {
    DbErr::Conn(RuntimeErr::Internal(err.to_string()))
}

fn exec_err(err: rusqlite::Error) -> DbErr {
    DbErr::Exec(RuntimeErr::Internal(err.to_string()))
}

fn query_err(err: rusqlite::Error) -> DbErr {
    DbErr::Query(RuntimeErr::Internal(err.to_string()))
}

#[cfg(test)]
mod tests {
    use sea_orm::{ActiveModelTrait, DatabaseConnection, EntityTrait, Set};

    use super::*;
    use crate::store::entity::{agent_profile, project, session};

    async fn store() -> (tempfile::TempDir, DatabaseConnection, LocalSqlite) {
        let dir = tempfile::tempdir().unwrap();
        let url = crate::store::connect::sqlite_url(dir.path());
        let db = crate::store::connect(&url).await.unwrap();
        let local = LocalSqlite::for_url(&url)
            .unwrap()
            .expect("a file has local connections");
        (dir, db, local)
    }

    fn profile() -> agent_profile::ActiveModel {
        agent_profile::ActiveModel {
            id: Set("p".into()),
            name: Set("P".into()),
            program: Set("true".into()),
            args: Set("[]".into()),
            env: Set("{}".into()),
            prompt_mode: Set("none".into()),
            builtin: Set(true),
            wait_pattern: Set(None),
            quiet_ms: Set(-7),
            mcp: Set("none".into()),
            exit_means_done: Set(false),
            signals: Set("none".into()),
            approval_wait_ms: Set(1_500),
            resume_after_limit: Set(true),
            created_at: Set(1_796_378_317_171),
            updated_at: Set(i64::MAX),
        }
    }

    /// The writer's commits do not wait for the disk (queue bookkeeping; see `Synchronous`); reads and
    /// the pool keep `FULL`.
    #[tokio::test]
    async fn only_the_writer_commits_without_waiting_for_the_disk() {
        let (_dir, db, local) = store().await;
        let sync_of = |c: &Connection| -> i64 {
            c.query_row("PRAGMA synchronous", [], |r| r.get(0)).unwrap()
        };
        assert_eq!(sync_of(&local.writer.lock().await.sqlite), 1, "NORMAL");
        assert_eq!(sync_of(&local.reads.conn.lock().unwrap().sqlite), 2, "FULL");
        let pool = db
            .query_one_raw(Statement::from_string(
                DbBackend::Sqlite,
                "PRAGMA synchronous",
            ))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(pool.try_get_by_index::<i32>(0).unwrap(), 2, "FULL");
    }

    #[test]
    fn only_a_file_gets_local_connections() {
        assert!(file_of("postgres://u@localhost/db").is_none());
        assert!(file_of("sqlite::memory:").is_none());
        assert!(file_of("sqlite://x.db?mode=memory").is_none());
        assert_eq!(
            file_of("sqlite:///tmp/d/baton.db?mode=rwc"),
            Some(PathBuf::from("/tmp/d/baton.db"))
        );
    }

    #[tokio::test]
    async fn every_column_of_every_table_has_its_entitys_kind() {
        let (_dir, _db, local) = store().await;
        let conn = local.reads.conn.lock().unwrap();
        let mut tables = conn
            .prepare(
                "SELECT name FROM sqlite_master WHERE type = 'table' \
                 AND name NOT LIKE 'sqlite_%' AND name <> 'seaql_migrations'",
            )
            .unwrap();
        let tables: Vec<String> = tables
            .query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert!(tables.len() >= 20, "the schema's tables: {tables:?}");
        for table in tables {
            let mut columns = conn
                .prepare(&format!(
                    "SELECT name, type FROM pragma_table_info('{table}')"
                ))
                .unwrap();
            let columns: Vec<(String, String)> = columns
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
                .unwrap()
                .map(Result::unwrap)
                .collect();
            for (column, declared) in columns {
                let kind = kinds()
                    .get(table.as_str())
                    .and_then(|columns| columns.get(column.as_str()));
                let kind = kind.unwrap_or_else(|| panic!("{table}.{column} has no entity kind"));
                // What SQLite stores agrees with what the entity reads.
                let stored = declared.to_ascii_lowercase();
                let text = stored.starts_with("varchar") || stored == "text";
                assert_eq!(*kind == Kind::Text, text, "{table}.{column}: {declared}");
            }
        }
    }

    #[tokio::test]
    async fn rows_written_here_read_the_same_here_and_through_the_pool() {
        let (_dir, db, local) = store().await;
        let txn = local.begin().await.unwrap();
        let written = profile().insert(&txn).await.unwrap();
        let project = project::ActiveModel {
            id: Set("proj".into()),
            name: Set("x".into()),
            base_path: Set(None),
            settings: Set("{}".into()),
            created_at: Set(1),
            updated_at: Set(2),
        }
        .insert(&txn)
        .await
        .unwrap();
        let row = session::ActiveModel {
            id: Set("s".into()),
            project_id: Set(project.id.clone()),
            name: Set("n".into()),
            agent_id: Set(Some("p".into())),
            command: Set("[]".into()),
            cwd: Set(None),
            env: Set("{}".into()),
            status: Set("running".into()),
            pid: Set(Some(4242)),
            exit_code: Set(Some(-1)),
            signal: Set(None),
            status_text: Set(Some("ü".into())),
            progress: Set(Some(55)),
            started_at: Set(Some(1_796_378_317_171)),
            last_activity: Set(None),
            completed_at: Set(None),
            launch: Set(None),
            conversation_id: Set(None),
            limited_until: Set(None),
            created_at: Set(3),
            updated_at: Set(4),
        }
        .insert(&txn)
        .await
        .unwrap();
        txn.commit().unwrap();
        let pooled = agent_profile::Entity::find_by_id("p")
            .one(&db)
            .await
            .unwrap();
        let here = agent_profile::Entity::find_by_id("p")
            .one(local.reads())
            .await
            .unwrap();
        assert_eq!(pooled.as_ref(), Some(&written));
        assert_eq!(here.as_ref(), Some(&written));
        let pooled = session::Entity::find_by_id("s").one(&db).await.unwrap();
        let here = session::Entity::find_by_id("s")
            .one(local.reads())
            .await
            .unwrap();
        assert_eq!(pooled.as_ref(), Some(&row));
        assert_eq!(here.as_ref(), Some(&row));
    }

    #[tokio::test]
    async fn a_transaction_dropped_uncommitted_leaves_nothing_and_the_connection_usable() {
        let (_dir, db, local) = store().await;
        let txn = local.begin().await.unwrap();
        profile().insert(&txn).await.unwrap();
        drop(txn);
        assert!(agent_profile::Entity::find_by_id("p")
            .one(&db)
            .await
            .unwrap()
            .is_none());
        // A failed statement is an error, and the next transaction begins cleanly.
        let txn = local.begin().await.unwrap();
        profile().insert(&txn).await.unwrap();
        let again = profile().insert(&txn).await;
        assert!(again.is_err(), "the same id twice is refused");
        drop(txn);
        let txn = local.begin().await.unwrap();
        profile().insert(&txn).await.unwrap();
        txn.commit().unwrap();
        assert!(agent_profile::Entity::find_by_id("p")
            .one(&db)
            .await
            .unwrap()
            .is_some());
    }
}
