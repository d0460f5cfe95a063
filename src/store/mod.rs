//! The store: sea-orm entities and the database connection.
//!
//! It knows tables and rows, nothing of HTTP, events or rules: the service layer decides what to
//! write. SQLite is the default (a file in the data folder, WAL, `synchronous=FULL` except for the
//! queue's own writer — see `local_sqlite` —, foreign keys on); a `postgres://` URL works the
//! same, since the schema and every query go through sea-query.

pub mod connect;
pub mod entity;
pub mod json;
pub mod local_sqlite;
pub mod shapes;
pub mod write_txn;

pub use connect::{connect, StoreError};
pub use local_sqlite::LocalSqlite;
pub use write_txn::{Reads, WriteTxn};
