// SPDX-License-Identifier: GPL-2.0-only

//! Reporting decisions and policy changes to the administrator: for each denial, an audit
//! record where audit is on (see [`crate::audit`]), else a rate-limited log line; for each
//! policy write, mode change and lock, an audit record, and a log line for a refused write, a
//! mode change and the lock.
//!
//! The program is named by the file the task executed (see [`crate::task`]): its path as seen
//! from the root the rules resolve from (PID 1's), marked when the task sees it elsewhere
//! from a root of its own, and its device and inode numbers.

use kernel::{
    fmt,
    pr_notice_ratelimited,
    pr_warn_ratelimited,
    prelude::*, //
};

use crate::{
    grammar::Rejection,
    sockaddr::{
        self,
        Transport, //
    },
    task::{
        with_subject,
        Exe, //
    },
};

#[cfg(CONFIG_AUDIT)]
use crate::audit;

/// Without audit, no record is made: the log line stands alone.
#[cfg(not(CONFIG_AUDIT))]
mod audit {
    use crate::{
        sockaddr::{
            IpAddr,
            Transport, //
        },
        task::Subject,
    };

    pub(crate) fn denied(
        _: &str,
        _: Transport,
        _: u64,
        _: Option<IpAddr>,
        _: u16,
        _: bool,
        _: &Subject<'_>,
    ) -> bool {
        false
    }
    pub(crate) fn policy_written(_: &str, _: Option<u64>, _: bool, _: &Subject<'_>) {}
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

/// Writes ` exe="PATH" exe_dev=MAJ:MIN exe_ino=N`, with ` task_exe="PATH"` when the task sees
/// its file at another path (`exe="?"` when PID 1's root cannot reach it) and ` exe_deleted=1`
/// when the file has no name any more, or ` exe="?"` for a task that executed nothing: the log
/// line's form of the audit record's fields.
struct ExeFields<'a>(&'a Option<Exe<'a>>);

impl fmt::Display for ExeFields<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Some(exe) = self.0 else {
            return f.write_str(" exe=\"?\"");
        };
        f.write_str(" exe=\"")?;
        fmt::Display::fmt(&Quoted(exe.path.unwrap_or(b"?")), f)?;
        if let Some(task_path) = exe.task_path {
            f.write_str("\" task_exe=\"")?;
            fmt::Display::fmt(&Quoted(task_path), f)?;
        }
        f.write_str("\"")?;
        if exe.deleted {
            f.write_str(" exe_deleted=1")?;
        }
        let (major, minor, ino) = exe.dev_ino;
        write!(f, " exe_dev={major:02x}:{minor:02x} exe_ino={ino}")
    }
}

/// Reports that the current task was denied `port` of `transport` by `operation` (`bind`,
/// `bindx`) at the socket address `addr` in the network namespace whose id is `netns`, or in
/// permissive mode would have been: one audit record, or where audit makes none, a log line,
/// at most ten every five seconds.
pub(crate) fn denied(
    operation: &str,
    transport: Transport,
    netns: u64,
    addr: &[u8],
    port: u16,
    permissive: bool,
) {
    let ip = sockaddr::ip_address(addr);
    with_subject(|subject| {
        if audit::denied(operation, transport, netns, ip, port, permissive, subject) {
            return;
        }
        pr_notice_ratelimited!(
            "{}denied {} to {} port {}: netns={} pid={} euid={} egid={} \
             comm=\"{}\"{} cgroup=\"{}\"\n",
            if permissive {
                "permissive: would have "
            } else {
                ""
            },
            operation,
            transport.name(),
            port,
            netns,
            subject.pid,
            subject.euid,
            subject.egid,
            Quoted(subject.comm),
            ExeFields(&subject.exe),
            Quoted(subject.cgroup),
        );
    })
}

/// Reports a write of policy text to the file `layer` names (`policy`, `netns-default`,
/// `netns`, the last with the id of its namespace): refused (logged, rate-limited, with the
/// line and reason), or applied; and audits it either way.
pub(crate) fn policy_written(
    layer: &'static str,
    netns: Option<u64>,
    outcome: core::result::Result<(), &Rejection>,
) {
    if let Err(rejection) = outcome {
        log_rejection(layer, rejection);
    }
    with_subject(|subject| audit::policy_written(layer, netns, outcome.is_ok(), subject));
}

/// Reports a refused check of policy text (the `check` file), with its line and reason, for
/// the loader to find; a check changes nothing, and is not audited.
pub(crate) fn policy_checked(outcome: core::result::Result<(), &Rejection>) {
    if let Err(rejection) = outcome {
        log_rejection("policy check", rejection);
    }
}

/// Logs why `what` was refused, with the line when it is one line's fault, rate-limited.
fn log_rejection(what: &str, rejection: &Rejection) {
    if rejection.line == 0 {
        pr_warn_ratelimited!("{} rejected: {}\n", what, rejection.reason);
    } else {
        pr_warn_ratelimited!(
            "{} rejected: line {}: {}\n",
            what,
            rejection.line,
            rejection.reason
        );
    }
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

    #[test]
    fn exe_fields_mark_a_path_seen_from_another_root() -> Result {
        let fields = |exe: Option<Exe<'_>>| CString::try_from_fmt(fmt!("{}", ExeFields(&exe)));
        let exe = |path, task_path| Exe {
            path,
            task_path,
            deleted: false,
            dev_ino: (8, 1, 1234),
        };
        assert_eq!(fields(None)?.to_bytes(), br#" exe="?""#);
        assert_eq!(
            fields(Some(exe(Some(b"/usr/sbin/a"), None)))?.to_bytes(),
            br#" exe="/usr/sbin/a" exe_dev=08:01 exe_ino=1234"#
        );
        // A chroot's impostor: PID 1's root sees the file elsewhere, or not at all.
        assert_eq!(
            fields(Some(exe(Some(b"/tmp/r/usr/sbin/a"), Some(b"/usr/sbin/a"))))?.to_bytes(),
            br#" exe="/tmp/r/usr/sbin/a" task_exe="/usr/sbin/a" exe_dev=08:01 exe_ino=1234"#
        );
        assert_eq!(
            fields(Some(exe(None, Some(b"/usr/sbin/a"))))?.to_bytes(),
            br#" exe="?" task_exe="/usr/sbin/a" exe_dev=08:01 exe_ino=1234"#
        );
        // A binary replaced by an upgrade while it runs.
        let upgraded = Exe {
            deleted: true,
            ..exe(Some(b"/usr/sbin/a"), None)
        };
        assert_eq!(
            fields(Some(upgraded))?.to_bytes(),
            br#" exe="/usr/sbin/a" exe_deleted=1 exe_dev=08:01 exe_ino=1234"#
        );
        Ok(())
    }
}
