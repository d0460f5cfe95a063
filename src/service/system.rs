//! The server's own state: `GET /api/system/status` and the scrape-time values of `GET /metrics`.

use std::collections::BTreeMap;
use strum::IntoEnumIterator;

use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseBackend, EntityTrait, PaginatorTrait, QueryFilter,
    QuerySelect, Statement,
};

use super::access::Admin;
use super::error::ServiceResult;
use super::{Actor, Service};
use crate::metrics::Snapshot;
use crate::model::{DatabaseStatus, Queues, SessionStatus, SystemStatus};
use crate::store::entity::{session, webhook_delivery};

impl Service {
    pub async fn system_status(&self, actor: &Actor) -> ServiceResult<SystemStatus> {
        actor.may_administer(Admin::System)?;
        let (since, started_at) = self.started;
        Ok(SystemStatus {
            version: env!("CARGO_PKG_VERSION").to_owned(),
            started_at,
            uptime_ms: u64::try_from(since.elapsed().as_millis()).unwrap_or(u64::MAX),
            sessions: self.sessions_by_status().await?,
            running_processes: self.runtime.running() as u64,
            output_bytes: self.runtime.output_bytes(),
            queues: Queues {
                webhook_deliveries: self.pending_deliveries().await?,
                event_subscribers: self.bus.subscribers() as u64,
            },
            database: self.database_status().await?,
        })
    }

    /// `GET /metrics`: the Prometheus text exposition.
    pub async fn metrics_text(&self, actor: &Actor) -> ServiceResult<String> {
        actor.may_administer(Admin::System)?;
        let by_status = self.sessions_by_status().await?;
        let by_status: Vec<(&str, u64)> = by_status.iter().map(|(k, v)| (k.as_str(), *v)).collect();
        Ok(self.metrics.render(&Snapshot {
            sessions_by_status: &by_status,
            running: self.runtime.running() as u64,
            output_bytes: self.runtime.output_bytes(),
            webhook_queue: self.pending_deliveries().await?,
        }))
    }

    async fn sessions_by_status(&self) -> ServiceResult<BTreeMap<String, u64>> {
        let counted: Vec<(String, i64)> = session::Entity::find()
            .select_only()
            .column(session::Column::Status)
            .column_as(session::Column::Id.count(), "n")
            .group_by(session::Column::Status)
            .into_tuple()
            .all(&self.db)
            .await?;
        let mut out: BTreeMap<String, u64> = SessionStatus::iter()
            .map(|s| (s.as_str().to_owned(), 0))
            .collect();
        for (status, n) in counted {
            out.insert(status, u64::try_from(n).unwrap_or(0));
        }
        Ok(out)
    }

    async fn pending_deliveries(&self) -> ServiceResult<u64> {
        Ok(webhook_delivery::Entity::find()
            .filter(webhook_delivery::Column::Status.eq("pending"))
            .count(&self.db)
            .await?)
    }

    async fn database_status(&self) -> ServiceResult<DatabaseStatus> {
        let backend = self.db.get_database_backend();
        let (name, sql) = match backend {
            DatabaseBackend::Postgres => (
                "postgres",
                "SELECT pg_database_size(current_database())::BIGINT AS size",
            ),
            _ => (
                "sqlite",
                "SELECT page_count * page_size AS size FROM pragma_page_count(), pragma_page_size()",
            ),
        };
        let size = self
            .db
            .query_one_raw(Statement::from_string(backend, sql))
            .await?
            .map(|row| row.try_get::<i64>("", "size"))
            .transpose()?
            .unwrap_or(0);
        Ok(DatabaseStatus {
            backend: name.to_owned(),
            size_bytes: u64::try_from(size).unwrap_or(0),
        })
    }
}
