// SPDX-License-Identifier: GPL-2.0-only

//! The limits of a policy, in one place: what the grammar, the ruleset and the policy file
//! refuse beyond them, and what the admin guide documents.

/// Most rules a policy may hold.
pub(crate) const MAX_RULES: usize = 65536;

/// Most (port, rule) pairs the port index may hold: a range counts once per port it covers.
pub(crate) const MAX_PORT_ENTRIES: usize = 1 << 20;

/// Longest program path in bytes, unescaped and without its NUL (`PATH_MAX - 1`).
pub(crate) const MAX_PATH_LEN: usize = 4095;

/// Longest policy line in bytes: "delete", a range and a path with every byte escaped.
pub(crate) const MAX_LINE_LEN: usize = 4 * MAX_PATH_LEN + 32;

/// Largest single `write(2)` of the policy file, in bytes; larger policies need several
/// writes.
pub(crate) const MAX_WRITE_LEN: usize = 4 << 20;
