//! Kith's integration tests, one binary (one link) for all of them: each module drives the real
//! server over SQLite, and over PostgreSQL when `KITH_TEST_DATABASE_URL` is set.

mod apideck;
mod apideck_more;
mod auth_schemes;
mod backup;
mod bad_input;
mod cli;
mod common;
mod crash;
mod isolation;
mod isolation_routes;
mod jsend;
mod jsend_bulk;
mod jsend_mail;
mod limits;
mod onepage_activities;
mod onepage_contact_ops;
mod onepage_contacts;
mod onepage_files;
mod onepage_filters;
mod onepage_relationships;
mod onepage_settings;
mod openapi_validator;
mod query_fuzz;
mod revocation;
mod seed;
mod sell;
mod sell_activities;
mod sell_catalog;
mod sell_contact_pages;
mod sell_deals;
mod sell_sync;
mod server;
mod shared_rules;
mod upsales;
mod webhooks;
