//! One sea-orm entity per table. Relations are not declared: the service layer queries links
//! explicitly (batched `IN` lookups), which keeps each query visible where it is made.

pub mod agent_profile;
pub mod audit_log;
pub mod message;
pub mod project;
pub mod queue_setting;
pub mod run;
pub mod session;
pub mod session_action;
pub mod session_task;
pub mod subtask;
pub mod task;
pub mod task_dependency;
pub mod task_execution;
pub mod task_history;
pub mod task_tag;
pub mod usage_record;
pub mod webhook;
pub mod webhook_delivery;
pub mod workspace;
pub mod workspace_archive;
