// SPDX-License-Identifier: GPL-2.0-only

//! Reporting decisions to the administrator: one rate-limited log line per denial.

use core::ptr;
use kernel::{bindings, ffi::c_int, prelude::*, task::Task};

use crate::net::Transport;

/// Returns whether a rate-limited message may be printed now (`printk_ratelimit()`).
pub(crate) fn printk_ratelimit() -> bool {
    // SAFETY: `__printk_ratelimit()` takes a NUL-terminated name for its message.
    unsafe { bindings::__printk_ratelimit(c"kportreserve".as_char_ptr()) != 0 }
}

/// Logs that the current task was denied `port` of `transport` by `operation` (`bind`,
/// `bindx`), rate-limited.
pub(crate) fn denied(operation: &str, transport: Transport, port: u16) {
    if !printk_ratelimit() {
        return;
    }
    let task = current!();
    // SAFETY: `comm` of the current task is an array another thread of it may rename
    // concurrently: read it once, volatile, as get_task_comm() does with strscpy_pad(); a
    // torn read only garbles the log line.
    let comm = unsafe { ptr::read_volatile(&raw const (*Task::current_raw()).comm) };
    let comm = CStr::from_bytes_until_nul(&comm[..]).map_or(&b"?"[..], |c| c.to_bytes());
    let mut buf = [0u8; 256];
    let exe = exe_path(&mut buf);
    pr_notice!(
        "denied {} to {} port {}: pid={} comm=\"{}\" exe=\"{}\"\n",
        operation,
        transport.name(),
        port,
        task.pid(),
        kernel::str::BStr::from_bytes(comm),
        kernel::str::BStr::from_bytes(exe),
    );
}

/// Writes the path of the current executable into `buf`, for the log only.
fn exe_path(buf: &mut [u8; 256]) -> &[u8] {
    // SAFETY: The current task is live; the result holds a reference or is null.
    let file = unsafe { bindings::get_task_exe_file(Task::current_raw()) };
    if file.is_null() {
        return b"?";
    }
    // SAFETY: `file` is live while we hold its reference; `buf` is writable for its length.
    let start = unsafe {
        bindings::d_path(
            &raw const (*file).__bindgen_anon_1.f_path,
            buf.as_mut_ptr().cast(),
            buf.len() as c_int,
        )
    };
    // SAFETY: We own the reference taken by `get_task_exe_file()`.
    unsafe { bindings::fput(file) };
    if kernel::error::from_err_ptr(start).is_err() {
        return b"?";
    }
    // `d_path()` writes the NUL-terminated path at the end of `buf` and returns its start.
    let offset = (start as usize).wrapping_sub(buf.as_ptr() as usize);
    buf.get(offset..)
        .and_then(|tail| CStr::from_bytes_until_nul(tail).ok())
        .map_or(&b"?"[..], |path| path.to_bytes())
}
