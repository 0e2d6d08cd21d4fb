// SPDX-License-Identifier: GPL-2.0-only

//! Identity: whether the current task is the subject a rule names: runs its program, in its
//! cgroup, with its effective user and group ids, as many of these as the rule names.
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
//!
//! The answer is found again at every bind, by a lookup through the VFS as it is
//! (`vfs_path_lookup()`, as the current task: it must be allowed to search each directory on
//! the way): a symbolic link flipped, a binary rewritten or replaced, or a file system
//! mounted over a directory counts at the next bind. Only a server's own bind of its port
//! pays for it, once at start-up; every other bind of an unreserved port never gets here.
//!
//! A rule may name a cgroup (v2) instead, for a service whose port the service manager binds
//! (systemd binds a socket unit's ports in a helper it forks into the unit's cgroup). The
//! rule's path is looked up from the root of the hierarchy, never from the root of the
//! task's cgroup namespace, which the task may have created; the task matches if its cgroup
//! is that cgroup or a descendant. As `xt_cgroup` does, the rule holds the cgroup it found,
//! and a bind uses it without walking the hierarchy again; unlike `xt_cgroup`, the path is
//! looked up again at a bind that finds the held cgroup removed, or none held: a cgroup that
//! does not exist matches no task, and one removed and created again at the path matches
//! again. Cgroups of the default hierarchy cannot be renamed, so the held cgroup is the one
//! at the path for as long as it lives. A removed cgroup stays pinned until a bind that
//! reaches its rule looks again, or a policy write drops the rule. The rule trusts whoever may
//! move a task into that cgroup: writing to `cgroup.procs` takes write access to it and to
//! the common ancestor's, which only root and the delegatee of a subtree have.
//!
//! A rule may name the effective user and group ids too (`uid:N`, `gid:N`), as ids of the
//! initial user namespace, which is what the kernel holds whatever user namespace the task
//! runs in. An id trusts whoever can act as it: the user itself, and root. A program with a
//! `uid:` is that program run by that user: another user's `LD_PRELOAD` or `ptrace` of the
//! program no longer takes the port. The group is the effective one, not the supplementary
//! groups: a set-group-ID program gets it, a member of the group does not.

#[cfg(CONFIG_CGROUPS)]
use crate::rule::HELD_CGROUPS;
#[cfg(CONFIG_CGROUPS)]
use kernel::cgroup::Cgroup;
use kernel::{
    fs::path::{
        FsStruct,
        LOOKUP_FOLLOW, //
    },
    sync::Arc,
    task::{
        Kgid,
        Kuid, //
    },
};

use crate::{
    rule::{
        AbsolutePath,
        CgroupSubject,
        Subject, //
    },
    task,
};

/// Returns whether the current task is `subject`: matches each of its atoms. `<kernel>` is no
/// task.
///
/// The effective ids are compared first, as they cost nothing; the cgroup next, and the
/// program, which takes a path lookup, last.
///
/// Sleeps: never call it under an RCU read lock or a spinlock.
pub(crate) fn current_is(subject: &Arc<Subject>) -> bool {
    let Subject::Tasks(atoms) = &**subject else {
        return false;
    };
    atoms
        .uid
        .is_none_or(|uid| Kuid::current_euid().into_uid_in_init_ns() == uid)
        && atoms
            .gid
            .is_none_or(|gid| Kgid::current_egid().into_gid_in_init_ns() == gid)
        && atoms.cgroup.as_ref().is_none_or(current_in_cgroup)
        && atoms.program.as_ref().is_none_or(current_executed)
}

/// Returns whether the current task executed the file at `path`, in the initial mount
/// namespace, as that path resolves now (following symbolic links, as `execve()` does).
fn current_executed(path: &AbsolutePath) -> bool {
    let Some(init) = FsStruct::userspace_init() else {
        return false;
    };
    task::with_current_exe(|exe| {
        exe.is_some_and(|exe| {
            init.root()
                .lookup(path.as_cstr(), LOOKUP_FOLLOW)
                .is_ok_and(|found| found.is_inode_of(exe))
        })
    })
}

/// Returns whether the current task is in the cgroup `subject` names, or in a descendant of
/// it: the cgroup the subject holds, or, if it holds none or a removed one, the one found at
/// its path now, which it holds from then on.
///
/// The lock is held only to read or replace what the subject holds: the hierarchy is walked
/// outside it, so that the binds of a port whose cgroup is missing serialise nothing.
#[cfg(CONFIG_CGROUPS)]
fn current_in_cgroup(subject: &CgroupSubject) -> bool {
    let held = {
        let guard = HELD_CGROUPS.lock();
        let held = subject.held.as_ref(&guard).as_ref();
        held.filter(|cgroup| !cgroup.is_dead()).cloned()
    };
    let cgroup = match held {
        Some(cgroup) => cgroup,
        None => {
            let Ok(found) = Cgroup::from_root_path(subject.path.as_cstr()) else {
                return false;
            };
            let mut guard = HELD_CGROUPS.lock();
            let held = subject.held.as_mut(&mut guard);
            if held.as_ref().is_none_or(|cgroup| cgroup.is_dead()) {
                *held = Some(found.clone());
            }
            found
        }
    };
    cgroup.contains_current()
}

/// Without cgroups, the grammar refuses cgroup rules.
#[cfg(not(CONFIG_CGROUPS))]
fn current_in_cgroup(_subject: &CgroupSubject) -> bool {
    false
}
