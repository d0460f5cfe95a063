//! Where the service's hot path runs its statements: through Baton's own SQLite connections
//! when there are some (see `local_sqlite`), else through the pool. Both speak
//! [`ConnectionTrait`], so the code that reads and writes is the same either way.

use sea_orm::{
    ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbBackend, DbErr, ExecResult,
    QueryResult, Statement, TransactionTrait,
};

use super::local_sqlite::{LocalReads, LocalSqlite, LocalTxn};

/// A write transaction.
pub enum WriteTxn {
    Pool(DatabaseTransaction),
    Local(LocalTxn),
}

impl WriteTxn {
    pub async fn begin(
        db: &DatabaseConnection,
        local: Option<&LocalSqlite>,
    ) -> Result<Self, DbErr> {
        Ok(match local {
            Some(local) => Self::Local(local.begin().await?),
            None => Self::Pool(db.begin().await?),
        })
    }

    pub async fn commit(self) -> Result<(), DbErr> {
        match self {
            Self::Pool(txn) => txn.commit().await,
            Self::Local(txn) => txn.commit(),
        }
    }
}

/// Reads outside a transaction.
pub enum Reads<'a> {
    Pool(&'a DatabaseConnection),
    Local(&'a LocalReads),
}

impl<'a> Reads<'a> {
    pub fn of(db: &'a DatabaseConnection, local: Option<&'a LocalSqlite>) -> Self {
        match local {
            Some(local) => Self::Local(local.reads()),
            None => Self::Pool(db),
        }
    }
}

/// `ConnectionTrait` for an enum whose two variants both implement it.
macro_rules! either_connection {
    ($type:ty) => {
        #[async_trait::async_trait]
        impl ConnectionTrait for $type {
            fn get_database_backend(&self) -> DbBackend {
                match self {
                    Self::Pool(c) => c.get_database_backend(),
                    Self::Local(c) => c.get_database_backend(),
                }
            }

            async fn execute_raw(&self, stmt: Statement) -> Result<ExecResult, DbErr> {
                match self {
                    Self::Pool(c) => c.execute_raw(stmt).await,
                    Self::Local(c) => c.execute_raw(stmt).await,
                }
            }

            async fn execute_unprepared(&self, sql: &str) -> Result<ExecResult, DbErr> {
                match self {
                    Self::Pool(c) => c.execute_unprepared(sql).await,
                    Self::Local(c) => c.execute_unprepared(sql).await,
                }
            }

            async fn query_one_raw(&self, stmt: Statement) -> Result<Option<QueryResult>, DbErr> {
                match self {
                    Self::Pool(c) => c.query_one_raw(stmt).await,
                    Self::Local(c) => c.query_one_raw(stmt).await,
                }
            }

            async fn query_all_raw(&self, stmt: Statement) -> Result<Vec<QueryResult>, DbErr> {
                match self {
                    Self::Pool(c) => c.query_all_raw(stmt).await,
                    Self::Local(c) => c.query_all_raw(stmt).await,
                }
            }
        }
    };
}

either_connection!(WriteTxn);
either_connection!(Reads<'_>);
