// SPDX-License-Identifier: GPL-2.0-only

//! Reporting decisions and policy changes to the administrator: for each denial, an audit
//! record where audit is on (see [`crate::audit`]), else a rate-limited log line; for each
//! policy write, mode change and lock, an audit record, and a log line for a refused write, a
//! mode change and the lock.
//!
//! The program is named by the file the task executed (see [`crate::task`]), as the kernel
//! sees it from the task's root.

use core::ptr;
use kernel::{fmt, pr_notice_ratelimited, pr_warn_ratelimited, prelude::*, task::Task};

use crate::{grammar::Rejection, net::Transport, sockaddr, task};

#[cfg(CONFIG_AUDIT)]
use crate::audit;

/// Without audit, no record is made: the log line stands alone.
#[cfg(not(CONFIG_AUDIT))]
mod audit {
    use super::{Subject, Transport};
    use crate::sockaddr::IpAddr;

    pub(crate) fn denied(
        _: &str,
        _: Transport,
        _: Option<IpAddr>,
        _: u16,
        _: bool,
        _: &Subject<'_>,
    ) -> bool {
        false
    }
    pub(crate) fn policy_written(_: bool, _: &Subject<'_>) {}
    pub(crate) fn mode_changed(_: bool, _: bool, _: bool, _: &Subject<'_>) {}
    pub(crate) fn locked(_: &Subject<'_>) {}
}

/// Untrusted bytes to write between double quotes in a log line: printable ASCII as it is,
/// but `"` as `\"`, `\` as `\\` and every other byte as `\xNN`, so that a name cannot end
/// its field and forge another.
struct Quoted<'a>(&'a [u8]);

impl fmt::Display for Quoted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for &byte in self.0 {
            match byte {
                b'"' => f.write_str("\\\"")?,
                b'\\' => f.write_str("\\\\")?,
                0x20..=0x7e => write!(f, "{}", char::from(byte))?,
                _ => write!(f, "\\x{byte:02x}")?,
            }
        }
        Ok(())
    }
}

/// The current task as records name it.
pub(crate) struct Subject<'a> {
    pub(crate) pid: i32,
    /// `comm`, untrusted: any task may set its own.
    pub(crate) comm: &'a [u8],
    /// The path of the file it executed, or `?`; untrusted: any user may name a file.
    pub(crate) exe: &'a [u8],
    /// The path of its cgroup from the root of the hierarchy, or `?`; untrusted: a delegated
    /// subtree's owner names the cgroups in it.
    pub(crate) cgroup: &'a [u8],
}

/// Runs `f` with the current task as records name it.
fn with_subject<R>(f: impl FnOnce(&Subject<'_>) -> R) -> R {
    // SAFETY: `comm` of the current task is an array another thread of it may rename
    // concurrently: read it once, volatile, as get_task_comm() does with strscpy_pad(); a
    // torn read only garbles the record.
    let comm = unsafe { ptr::read_volatile(&raw const (*Task::current_raw()).comm) };
    let comm = CStr::from_bytes_until_nul(&comm[..]).map_or(&b"?"[..], |c| c.to_bytes());
    let mut buf = [0u8; 256];
    let exe = task::with_current_exe(|exe| match exe {
        Some(exe) => exe.path().write_into(&mut buf).unwrap_or(b"?"),
        None => b"?",
    });
    let mut cgroup_buf = [0u8; 256];
    let cgroup = current_cgroup(&mut cgroup_buf);
    f(&Subject {
        // The process, as audit and the other LSMs name it: the thread group.
        pid: current!().tgid(),
        comm,
        exe,
        cgroup,
    })
}

/// The path of the current task's cgroup, from the root of the hierarchy, or `?`.
#[cfg(CONFIG_CGROUPS)]
fn current_cgroup(buf: &mut [u8]) -> &[u8] {
    kernel::cgroup::Cgroup::current_path(buf).unwrap_or(b"?")
}

/// Without cgroups, the task has none.
#[cfg(not(CONFIG_CGROUPS))]
fn current_cgroup(_buf: &mut [u8]) -> &[u8] {
    b"?"
}

/// Reports that the current task was denied `port` of `transport` by `operation` (`bind`,
/// `bindx`) at the socket address `addr`, or in permissive mode would have been: one audit
/// record, or where audit makes none, a log line, at most ten every five seconds.
pub(crate) fn denied(
    operation: &str,
    transport: Transport,
    addr: &[u8],
    port: u16,
    permissive: bool,
) {
    let ip = sockaddr::ip_address(addr);
    with_subject(|subject| {
        if audit::denied(operation, transport, ip, port, permissive, subject) {
            return;
        }
        pr_notice_ratelimited!(
            "{}denied {} to {} port {}: pid={} comm=\"{}\" exe=\"{}\" cgroup=\"{}\"\n",
            if permissive {
                "permissive: would have "
            } else {
                ""
            },
            operation,
            transport.name(),
            port,
            subject.pid,
            Quoted(subject.comm),
            Quoted(subject.exe),
            Quoted(subject.cgroup),
        );
    })
}

/// Reports a write of policy text: refused (logged, rate-limited, with the line and reason),
/// or applied; and audits it either way.
pub(crate) fn policy_written(outcome: core::result::Result<(), &Rejection>) {
    if let Err(rejection) = outcome {
        if rejection.line == 0 {
            pr_warn_ratelimited!("policy rejected: {}\n", rejection.reason);
        } else {
            pr_warn_ratelimited!(
                "policy rejected: line {}: {}\n",
                rejection.line,
                rejection.reason
            );
        }
    }
    with_subject(|subject| audit::policy_written(outcome.is_ok(), subject));
}

/// Reports a switch to permissive mode (or back), or a switch refused.
pub(crate) fn mode_changed(permissive: bool, old: bool, applied: bool) {
    let mode = |permissive| {
        if permissive {
            "permissive"
        } else {
            "enforcing"
        }
    };
    with_subject(|subject| {
        if applied {
            pr_notice!("mode set to {} by pid={}\n", mode(permissive), subject.pid);
        } else {
            pr_warn_ratelimited!("mode rejected: locked until reboot\n");
        }
        audit::mode_changed(permissive, old, applied, subject);
    })
}

/// Reports that the policy and the mode were locked until reboot.
pub(crate) fn locked() {
    with_subject(|subject| {
        pr_notice!(
            "policy and mode locked until reboot by pid={}\n",
            subject.pid
        );
        audit::locked(subject);
    })
}

#[cfg(CONFIG_SECURITY_KPORTRESERVE_KUNIT_TEST)]
#[kunit_tests(kportreserve_report)]
mod tests {
    use super::*;
    use kernel::str::CString;

    #[test]
    fn quoted_names_cannot_end_their_field() -> Result {
        let quoted = |bytes: &[u8]| CString::try_from_fmt(fmt!("{}", Quoted(bytes)));
        assert_eq!(quoted(b"/usr/sbin/sshd")?.to_bytes(), b"/usr/sbin/sshd");
        assert_eq!(
            quoted(b"/tmp/x\" pid=1 exe=\"/usr/sbin/sshd")?.to_bytes(),
            br#"/tmp/x\" pid=1 exe=\"/usr/sbin/sshd"#
        );
        assert_eq!(quoted(b"a\\b\nc\xff")?.to_bytes(), br"a\\b\x0ac\xff");
        Ok(())
    }
}
