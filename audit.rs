// SPDX-License-Identifier: GPL-2.0-only

//! Audit records, built with `CONFIG_AUDIT`: one `AUDIT_KPORTRESERVE_ACCESS` record per
//! denial, one `AUDIT_MAC_POLICY_LOAD` per policy write and one `AUDIT_MAC_STATUS` per mode
//! change and lock, each with `lsm=kportreserve`. The formats are in
//! `Documentation/admin-guide/LSM/kportreserve.rst`; [`crate::report`] calls these.

use core::fmt::Write;
use kernel::{alloc::flags::__GFP_NOWARN, audit::Record, bindings, prelude::*};

use crate::{
    sockaddr::{
        IpAddr,
        Transport, //
    },
    task::Subject,
};

/// Appends ` pid=N comm=... exe=...`, the strings as audit writes untrusted ones: `exe` from
/// PID 1's root (`?` where it cannot reach the file), `task_exe` where the task sees its file
/// at another path from a root of its own, `exe_deleted=1` where the file has no name any
/// more, and the file's `exe_dev` and `exe_ino`.
fn subject(record: &mut Record, subject: &Subject<'_>) {
    let _ = write!(
        record,
        " pid={} euid={} egid={} comm=",
        subject.pid, subject.euid, subject.egid
    );
    record.untrusted_string(subject.comm);
    let _ = record.write_str(" exe=");
    let Some(exe) = &subject.exe else {
        record.untrusted_string(b"?");
        return;
    };
    record.untrusted_string(exe.path.unwrap_or(b"?"));
    if let Some(task_path) = exe.task_path {
        let _ = record.write_str(" task_exe=");
        record.untrusted_string(task_path);
    }
    if exe.deleted {
        let _ = record.write_str(" exe_deleted=1");
    }
    let (major, minor, ino) = exe.dev_ino;
    let _ = write!(record, " exe_dev={major:02x}:{minor:02x} exe_ino={ino}");
}

/// Records a denial (`res=0`), or in permissive mode a would-be one (`permissive=1 res=1`);
/// returns whether audit is on: if so, audit decides about the record (its filters may drop
/// it), and no log line is written.
pub(crate) fn denied(
    operation: &str,
    transport: Transport,
    netns: u64,
    ip: Option<IpAddr>,
    port: u16,
    permissive: bool,
    task: &Subject<'_>,
) -> bool {
    if !kernel::audit::enabled() {
        return false;
    }
    // As other LSMs record accesses: a bind never waits for room in a full audit backlog.
    let flags = GFP_ATOMIC | __GFP_NOWARN;
    let Some(mut record) = Record::start(bindings::AUDIT_KPORTRESERVE_ACCESS, flags) else {
        return true;
    };
    let _ = write!(
        record,
        "lsm=kportreserve op={} proto={} laddr=",
        operation,
        transport.name()
    );
    let _ = match ip {
        Some(ip) => write!(record, "{ip}"),
        None => record.write_str("?"),
    };
    let _ = write!(record, " lport={port} netns={netns}");
    subject(&mut record, task);
    let _ = record.write_str(" cgroup=");
    record.untrusted_string(task.cgroup);
    let permissive = u8::from(permissive);
    let _ = write!(record, " permissive={permissive} res={permissive}");
    true
}

/// Starts a record of a change to the policy or the mode: `lsm=kportreserve op=OP`.
fn change(record_type: u32, op: &str) -> Option<Record> {
    let mut record = Record::start(record_type, GFP_KERNEL)?;
    let _ = write!(record, "lsm=kportreserve op={op}");
    Some(record)
}

/// Records a write to the file of a layer (`policy`, `netns-default`, `netns` with the id of
/// its namespace): `res=1` if it applied, `res=0` if it was refused.
pub(crate) fn policy_written(layer: &str, netns: Option<u64>, applied: bool, task: &Subject<'_>) {
    if let Some(mut record) = change(bindings::AUDIT_MAC_POLICY_LOAD, "load") {
        let _ = write!(record, " layer={layer}");
        if let Some(netns) = netns {
            let _ = write!(record, " netns={netns}");
        }
        record.session();
        subject(&mut record, task);
        let _ = write!(record, " res={}", u8::from(applied));
    }
}

/// Records a switch between enforcing and permissive mode, or a refused one.
pub(crate) fn mode_changed(permissive: bool, old: bool, applied: bool, task: &Subject<'_>) {
    if let Some(mut record) = change(bindings::AUDIT_MAC_STATUS, "mode") {
        let _ = write!(
            record,
            " permissive={} old_permissive={}",
            u8::from(permissive),
            u8::from(old)
        );
        record.session();
        subject(&mut record, task);
        let _ = write!(record, " res={}", u8::from(applied));
    }
}

/// Records the lock of the policy and the mode until reboot.
pub(crate) fn locked(task: &Subject<'_>) {
    if let Some(mut record) = change(bindings::AUDIT_MAC_STATUS, "lock") {
        let _ = record.write_str(" locked=1");
        record.session();
        subject(&mut record, task);
        let _ = record.write_str(" res=1");
    }
}
