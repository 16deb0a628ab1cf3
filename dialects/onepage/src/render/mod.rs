//! How OnePage shows each record: the renderers and the loaders of what they show beside a
//! record (users, attachments, related deals and activities). Handlers call these; nothing here
//! handles a request.

pub mod action;
pub mod attachment;
pub mod common;
pub mod company;
pub mod contact;
pub mod deal;
pub mod engagement;
