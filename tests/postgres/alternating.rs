//! Alternating users.
