//! The changes a transaction records: what the event log and the webhook outbox are written from.

/// What a write did to a row, as recorded in the event log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    Created,
    Updated,
    Deleted,
    Restored,
}

impl Operation {
    pub fn as_str(self) -> &'static str {
        match self {
            Operation::Created => "created",
            Operation::Updated => "updated",
            Operation::Deleted => "deleted",
            Operation::Restored => "restored",
        }
    }
}

/// An event written by the current transaction.
#[derive(Debug, Clone)]
pub(crate) struct RecordedEvent {
    pub id: i64,
    pub kind: &'static str,
    pub entity_id: i64,
    pub operation: Operation,
}
