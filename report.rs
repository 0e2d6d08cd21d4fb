// SPDX-License-Identifier: GPL-2.0-only

//! Reporting decisions to the administrator: one rate-limited log line per denial.
//!
//! The program is named by the file the task executed (see [`crate::task`]), as the kernel
//! sees it from the task's root.

use core::ptr;
use kernel::{pr_notice_ratelimited, prelude::*, str::BStr, task::Task};

use crate::{net::Transport, task};

/// Logs that the current task was denied `port` of `transport` by `operation` (`bind`,
/// `bindx`), or in permissive mode would have been, at most ten times every five seconds.
pub(crate) fn denied(operation: &str, transport: Transport, port: u16, permissive: bool) {
    let task = current!();
    // SAFETY: `comm` of the current task is an array another thread of it may rename
    // concurrently: read it once, volatile, as get_task_comm() does with strscpy_pad(); a
    // torn read only garbles the log line.
    let comm = unsafe { ptr::read_volatile(&raw const (*Task::current_raw()).comm) };
    let comm = CStr::from_bytes_until_nul(&comm[..]).map_or(&b"?"[..], |c| c.to_bytes());
    let mut buf = [0u8; 256];
    let exe = task::with_current_exe(|exe| match exe {
        Some(exe) => exe.path().write_into(&mut buf).unwrap_or(b"?"),
        None => b"?",
    });
    pr_notice_ratelimited!(
        "{}denied {} to {} port {}: pid={} comm=\"{}\" exe=\"{}\"\n",
        if permissive {
            "permissive: would have "
        } else {
            ""
        },
        operation,
        transport.name(),
        port,
        task.pid(),
        BStr::from_bytes(comm),
        BStr::from_bytes(exe),
    );
}
