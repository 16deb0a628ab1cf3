//! Reference data a renderer needs next to contacts.

use std::collections::HashMap;

use crate::model::{CustomFieldDefinition, LeadSource, Status};

/// Reference data a renderer needs next to contacts, loaded once per request.
#[derive(Debug, Clone, Default)]
pub struct Lookups {
    pub statuses: HashMap<i64, Status>,
    pub lead_sources: HashMap<i64, LeadSource>,
    pub custom_fields: Vec<CustomFieldDefinition>,
}
