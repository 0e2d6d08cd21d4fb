// SPDX-License-Identifier: GPL-2.0-only

//! The policy grammar: text made of complete lines into numbered operations (a rule,
//! `delete` and a rule, `clear`, `lock`), or the line refused and why. Nothing is applied
//! here; see [`crate::ruleset::apply`].
//!
//! A rule is `PORTS[/PROTOCOL] SUBJECT`: a port or `LOW-HIGH`, optionally `/tcp`, `/udp` or
//! `/sctp` (without, every protocol), then `<kernel>` or atoms, in this order and each at
//! most once: an absolute program path, `cgroup:PATH`, `uid:N`, `gid:N`.

use kernel::{alloc::AllocError, prelude::*, sync::Arc};

use crate::{
    limits::MAX_LINE_LEN,
    rule::{
        parse_ports,
        Rule,
        Subject, //
    },
};

/// Why the writer side refused a batch of policy text.
#[derive(Debug)]
pub(crate) struct Rejection {
    /// The 1-based line that was refused, or 0 when the batch as a whole was.
    pub(crate) line: usize,
    /// What an administrator needs to fix, for the log.
    pub(crate) reason: &'static str,
    /// The errno returned to `write(2)`.
    pub(crate) error: Error,
}

impl Rejection {
    pub(crate) fn invalid(line: usize, reason: &'static str) -> Self {
        Self {
            line,
            reason,
            error: EINVAL,
        }
    }

    pub(crate) fn out_of_memory() -> Self {
        Self {
            line: 0,
            reason: "out of memory",
            error: ENOMEM,
        }
    }
}

impl From<AllocError> for Rejection {
    fn from(_: AllocError) -> Self {
        Self::out_of_memory()
    }
}

/// One parsed policy line.
#[derive(Debug)]
pub(crate) enum Op {
    /// A rule: adds it; adding a rule already in force changes nothing.
    Add(Rule),
    /// `delete` and a rule: removes it; deleting a rule not in force is an error.
    Delete(Rule),
    /// `clear`: removes every rule.
    Clear,
    /// `lock`: once the batch applies, no write changes the policy or the mode again until
    /// reboot.
    Lock,
}

/// A parsed policy line and its 1-based line number.
pub(crate) type Line = (usize, Op);

/// Parses policy text made of complete lines; line numbers start at `first_line`.
///
/// Blank lines and lines starting with `#` are skipped. Nothing is applied: the result is
/// handed to [`apply`] as one transaction.
pub(crate) fn parse(text: &[u8], first_line: usize) -> Result<KVVec<Line>, Rejection> {
    let mut lines = KVVec::new();
    for (number, line) in (first_line..).zip(text.split(|&c| c == b'\n')) {
        if let Some(op) = parse_line(line).map_err(|reason| Rejection::invalid(number, reason))? {
            lines.push((number, op), GFP_KERNEL)?;
        }
    }
    Ok(lines)
}

/// Parses one line, without its newline; `None` for a blank line or a comment.
fn parse_line(line: &[u8]) -> core::result::Result<Option<Op>, &'static str> {
    if line.len() > MAX_LINE_LEN {
        return Err("line too long");
    }
    let mut words = line
        .split(|&c| c == b' ' || c == b'\t')
        .filter(|word| !word.is_empty());
    let first = match words.next() {
        None => return Ok(None),
        Some(word) if word.first() == Some(&b'#') => return Ok(None),
        Some(word) => word,
    };
    let (delete, ports) = match first {
        b"clear" => {
            return match words.next() {
                None => Ok(Some(Op::Clear)),
                Some(_) => Err("clear takes no argument"),
            }
        }
        b"lock" => {
            return match words.next() {
                None => Ok(Some(Op::Lock)),
                Some(_) => Err("lock takes no argument"),
            }
        }
        b"delete" => (
            true,
            words.next().ok_or("delete needs a rule: PORTS SUBJECT")?,
        ),
        ports => (false, ports),
    };
    let (ports, selector) = parse_ports(ports)?;
    let subject = Subject::parse(words)?;
    let rule = Rule {
        ports,
        selector,
        subject: Arc::new(subject, GFP_KERNEL_ACCOUNT).map_err(|_| "out of memory")?,
        counters: None,
    };
    Ok(Some(if delete {
        Op::Delete(rule)
    } else {
        Op::Add(rule)
    }))
}
