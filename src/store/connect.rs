//! Opening the database and bringing its schema up to date.

use std::path::Path;
use std::time::Duration;

use migration::{Migrator, MigratorTrait};
use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{ConnectOptions, Database, DatabaseConnection, DbErr};

/// Why the store could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot open the database: {0}")]
    Open(#[source] DbErr),
    #[error("cannot migrate the database schema: {0}")]
    Migrate(#[source] DbErr),
}

/// The URL of the default SQLite database inside `data_dir`.
pub fn sqlite_url(data_dir: &Path) -> String {
    format!("sqlite://{}?mode=rwc", data_dir.join("baton.db").display())
}

/// Connects to `url` and runs every pending migration.
///
/// For SQLite each pooled connection gets WAL journaling, `synchronous=FULL` (a write that was
/// acknowledged survives a power loss; the queue's own writer connection is the exception, see
/// `local_sqlite::Synchronous`), foreign keys and a busy timeout.
pub async fn connect(url: &str) -> Result<DatabaseConnection, StoreError> {
    let mut options = ConnectOptions::new(url.to_owned());
    options
        .sqlx_logging(false)
        .max_connections(8)
        // A connection to a local file cannot drop; pinging it before every use would add a
        // round trip to the connection's thread to every statement outside a transaction.
        .test_before_acquire(!url.starts_with("sqlite:"))
        .connect_timeout(Duration::from_secs(10))
        .map_sqlx_sqlite_opts(|opts| {
            opts.journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Full)
                .foreign_keys(true)
                .busy_timeout(Duration::from_secs(10))
        });
    let db = Database::connect(options).await.map_err(StoreError::Open)?;
    Migrator::up(&db, None).await.map_err(StoreError::Migrate)?;
    Ok(db)
}

#[cfg(test)]
mod tests {
    use sea_orm::{ConnectionTrait, DbBackend, Statement};

    use super::*;

    /// Column `name` of every row `sql` answers.
    async fn texts(db: &DatabaseConnection, sql: &str, name: &str) -> Vec<String> {
        db.query_all_raw(Statement::from_string(DbBackend::Sqlite, sql.to_owned()))
            .await
            .unwrap()
            .iter()
            .map(|r| r.try_get::<String>("", name).unwrap())
            .collect()
    }

    async fn pragma(db: &DatabaseConnection, name: &str) -> String {
        let row = db
            .query_one_raw(Statement::from_string(
                DbBackend::Sqlite,
                format!("PRAGMA {name}"),
            ))
            .await
            .unwrap()
            .unwrap();
        row.try_get_by_index::<i64>(0)
            .map(|n| n.to_string())
            .or_else(|_| row.try_get_by_index::<String>(0))
            .unwrap()
    }

    #[tokio::test]
    async fn every_pooled_connection_is_durable_and_enforces_foreign_keys() {
        let dir = tempfile::tempdir().unwrap();
        let db = connect(&sqlite_url(dir.path())).await.unwrap();
        // Ask several times at once so that more than one pooled connection answers.
        for _ in 0..3 {
            let (journal, sync, fk) = tokio::join!(
                pragma(&db, "journal_mode"),
                pragma(&db, "synchronous"),
                pragma(&db, "foreign_keys")
            );
            assert_eq!(journal, "wal");
            assert_eq!(sync, "2", "synchronous=FULL");
            assert_eq!(fk, "1");
        }
        let orphan = db
            .execute_unprepared(
                "INSERT INTO task (id, project_id, title, description, prompt, status, priority, created_at, updated_at) \
                 VALUES ('t', 'no-such-project', 'x', '', '', 'pending', 1, 0, 0)",
            )
            .await;
        assert!(orphan.is_err(), "a task without its project is refused");
    }

    /// The queue-order migration copies each execution's task priority, and gives a row without
    /// a time queued its update time (the order the queue used for it before).
    #[tokio::test]
    async fn the_queue_order_migration_copies_priorities_onto_executions() {
        let dir = tempfile::tempdir().unwrap();
        let db = connect(&sqlite_url(dir.path())).await.unwrap();
        // Back to before migration 12 (13 came after it).
        Migrator::down(&db, Some(2)).await.unwrap();
        for sql in [
            "INSERT INTO project (id, name, settings, created_at, updated_at) \
             VALUES ('p', 'p', '{}', 1, 1)",
            "INSERT INTO task (id, project_id, title, description, prompt, status, priority, \
             created_at, updated_at) VALUES \
             ('hi', 'p', 'hi', '', '', 'queued', 2, 1, 1), \
             ('lo', 'p', 'lo', '', '', 'queued', 0, 1, 1)",
            "INSERT INTO task_execution (task_id, project_id, state, attempt, max_attempts, runs, \
             queued_at, created_at, updated_at) VALUES \
             ('hi', 'p', 'queued', 1, 1, 0, 50, 1, 7), ('lo', 'p', 'queued', 1, 1, 0, NULL, 1, 9)",
        ] {
            db.execute_unprepared(sql).await.unwrap();
        }
        Migrator::up(&db, None).await.unwrap();
        let rows = db
            .query_all_raw(Statement::from_string(
                DbBackend::Sqlite,
                "SELECT task_id, priority, queued_at FROM task_execution ORDER BY task_id",
            ))
            .await
            .unwrap();
        let read: Vec<(String, i64, i64)> = rows
            .iter()
            .map(|r| {
                (
                    r.try_get("", "task_id").unwrap(),
                    r.try_get("", "priority").unwrap(),
                    r.try_get("", "queued_at").unwrap(),
                )
            })
            .collect();
        assert_eq!(read, [("hi".into(), 2, 50), ("lo".into(), 0, 9)]);
    }

    /// Every query on an execution's state is served by the queue's order index, the only one
    /// left on the state.
    #[tokio::test]
    async fn the_queue_order_index_serves_every_query_on_the_state() {
        let dir = tempfile::tempdir().unwrap();
        // Migrated, then opened afresh: a connection that read the schema before the last
        // migration may still plan with a dropped index (`EXPLAIN` does not check the schema).
        connect(&sqlite_url(dir.path())).await.unwrap();
        let db = connect(&sqlite_url(dir.path())).await.unwrap();
        for sql in [
            "SELECT * FROM task_execution WHERE state = 'running'",
            "SELECT * FROM task_execution WHERE state = 'blocked' LIMIT 1",
            "SELECT * FROM task_execution WHERE state IN ('queued', 'blocked')",
            "SELECT state, COUNT(*) FROM task_execution GROUP BY state",
            "SELECT priority, COUNT(*) FROM task_execution WHERE state = 'queued' GROUP BY priority",
        ] {
            let plan = texts(&db, &format!("EXPLAIN QUERY PLAN {sql}"), "detail")
                .await
                .join("; ");
            assert!(
                plan.contains("idx_task_execution_queue_order"),
                "{sql}: {plan}"
            );
        }
        let left = texts(
            &db,
            "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'task_execution' \
             AND name LIKE 'idx_%' ORDER BY name",
            "name",
        )
        .await;
        assert_eq!(left, ["idx_task_execution_queue_order"]);
    }

    #[tokio::test]
    async fn migrations_go_down_and_up_again() {
        let dir = tempfile::tempdir().unwrap();
        let db = connect(&sqlite_url(dir.path())).await.unwrap();
        Migrator::down(&db, None).await.unwrap();
        let tables = db
            .query_all_raw(Statement::from_string(
                DbBackend::Sqlite,
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'task'",
            ))
            .await
            .unwrap();
        assert!(tables.is_empty(), "down removed the tables");
        Migrator::up(&db, None).await.unwrap();
        // Connecting again finds nothing pending.
        drop(db);
        let db = connect(&sqlite_url(dir.path())).await.unwrap();
        assert!(Migrator::get_pending_migrations(&db)
            .await
            .unwrap()
            .is_empty());
    }
}
