// SPDX-License-Identifier: GPL-2.0-only

//! Program identity: whether the current task is the program a rule names.
//!
//! A rule names a program by path, but a path is easy to fake from user space:
//! `mm->exe_file` can be replaced with `prctl(PR_SET_MM)`, a private mount namespace can
//! bind-mount any binary over the path, and `d_path()` is relative to a root that `chroot()`
//! moves. So the decision never uses a path the task can influence:
//!
//! - at exec, the task keeps a reference to the file it executed (see [`crate::task`]),
//!   inherited by `fork()`; a script records its interpreter, which is what the kernel
//!   executes;
//! - at bind, the rule's path is resolved from the root of the initial user-space
//!   (`userspace_init_fs`, PID 1's root), and the inode found there is compared with the
//!   inode of the task's file. The task's reference keeps that inode alive, so no other
//!   file can ever be found at the same address.
//!
//! A binary replaced at the rule's path (a package upgrade) is the program from then on:
//! tasks executed from the new file match, tasks still running the old one do not.

use kernel::fs::{path::LOOKUP_FOLLOW, OwnedPath};

use crate::{rule::ProgramPath, task};

/// Returns whether the current task executed the file at `path` in the initial mount
/// namespace, as that path resolves now (following symbolic links, as `execve()` does).
///
/// Sleeps: never call it under an RCU read lock or a spinlock.
pub(crate) fn current_is(path: &ProgramPath) -> bool {
    task::with_current_exe(|exe| {
        let Some(exe) = exe else {
            return false;
        };
        OwnedPath::userspace_init_root()
            .and_then(|root| root.lookup(path.as_cstr(), LOOKUP_FOLLOW).ok())
            .is_some_and(|found| found.is_inode_of(exe))
    })
}
