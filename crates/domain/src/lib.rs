//! Kith's shared CRM model and its rules. Dialect adapters call `Crm`; nothing here knows
//! HTTP or SQL.

pub mod actions;
mod actor;
pub mod auth;
pub mod blobs;
pub mod cache;
pub mod catalog;
pub mod choices;
pub mod companies;
pub mod contacts;
pub mod conversions;
pub mod countries;
pub mod crm;
pub mod custom_fields;
pub mod deal_rows;
pub mod deals;
pub mod engagements;
pub mod entity;
pub mod error;
pub mod files;
pub mod forecasts;
pub mod idempotency;
pub mod imports;
pub mod leads;
mod lookups;
pub mod loss_reasons;
pub mod mail;
pub mod model;
pub mod money;
pub mod notifications;
mod opportunity_import;
pub mod orders;
pub mod people;
mod provision;
pub mod query;
pub mod rate_limits;
mod records;
pub mod relationships;
pub mod saved_filters;
pub mod settings;
pub mod sources;
pub mod sync;
pub mod tags;
#[cfg(test)]
mod testing;
pub mod text_messages;
pub mod webhooks;

pub use auth::{Account, IssuedKey, NewAccount, open};
pub use contacts::{CompanyLink, ContactDraft, DealStats, Lookups};
pub use crm::{Actor, Crm};
pub use entity::Entity;
pub use error::{DomainError, FieldError, Result};
pub use people::{PeopleQuery, PeopleSort, PersonOrOrganization};
pub use provision::{DEFAULT_LEAD_SOURCES, DEFAULT_STATUSES};
