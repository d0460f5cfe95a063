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
/// acknowledged survives a power loss), foreign keys and a busy timeout.
pub async fn connect(url: &str) -> Result<DatabaseConnection, StoreError> {
    let mut options = ConnectOptions::new(url.to_owned());
    options
        .sqlx_logging(false)
        .max_connections(8)
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
