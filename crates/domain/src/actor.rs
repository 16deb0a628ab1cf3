//! Who is calling: every domain call is made as an actor, and scoped to its account.

/// Who is calling: an account and one of its users.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Actor {
    pub account_id: i64,
    pub user_id: i64,
}
