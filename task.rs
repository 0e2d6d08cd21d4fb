// SPDX-License-Identifier: GPL-2.0-only

//! The task hooks and the task blob: the file each task executed, held from its `execve()`
//! (or its creator's) until the task is freed; and the current task as records name it.
//!
//! The blob holds a reference to the executed file itself, not a number describing it: a
//! device number, inode number and generation can all be had again by another file once the
//! first one's filesystem is gone (anonymous device numbers are reused lowest first; overlayfs,
//! NFS and ramfs leave the generation 0; FUSE lets its server choose both), and
//! `prctl(PR_SET_MM_MAP)` lets user-namespace root drop `mm->exe_file`, the only other thing
//! that pins it. While a task holds its file, the file's inode and mount cannot go away, so
//! no other file can ever compare equal to it.
//!
//! `mm->exe_file` pins the same file for as long as the task runs it, so this keeps nothing
//! mounted that would not be anyway, except after `PR_SET_MM_MAP` and, briefly, for exited
//! tasks not yet reaped.

use core::ptr::{self, NonNull};
use kernel::{
    fs::{
        path::FsStruct,
        File, //
    },
    lsm::{
        Binprm,
        Blobs,
        HookTask,
        Hooks, //
    },
    prelude::*,
    sync::aref::ARef,
    task::{
        Kgid,
        Kuid,
        Task, //
    },
    types::Opaque, //
};

/// The task's part of its security blob: the file it executed.
///
/// # Invariants
///
/// `file` is null, or owns one reference to a file. It is written only by the task itself
/// (at exec), by its creator before it runs, and by whoever frees it; read only by the task
/// itself.
#[derive(Zeroable)]
pub(crate) struct ExeSlot {
    file: Opaque<*mut File>,
}

// SAFETY: By the type invariant, a slot is read and written by one task at a time: the task
// itself, or a task that owns it while it does not run.
unsafe impl Sync for ExeSlot {}

impl ExeSlot {
    /// Takes the reference out of the slot, leaving it empty.
    ///
    /// # Safety
    ///
    /// The caller must be allowed to write the slot (see the type invariant).
    unsafe fn take(&self) -> Option<ARef<File>> {
        // SAFETY: The caller may write the slot.
        let file = unsafe { self.file.get().replace(ptr::null_mut()) };
        // SAFETY: A non-null slot owns one reference to a file (type invariant).
        NonNull::new(file).map(|file| unsafe { ARef::from_raw(file) })
    }

    /// Stores `file`'s reference into the empty slot.
    ///
    /// # Safety
    ///
    /// The slot must be empty, and the caller allowed to write it (see the type invariant).
    unsafe fn put(&self, file: Option<ARef<File>>) {
        let raw = file.map_or(ptr::null_mut(), |file| ARef::into_raw(file).as_ptr());
        // INVARIANT: The slot now owns the reference `file` held.
        // SAFETY: The caller may write the slot.
        unsafe { self.file.get().write(raw) };
    }
}

/// KPortReserve's part of the framework's blobs: an [`ExeSlot`] in each task.
// SAFETY: `kportreserve.rs` names it as the LSM's blobs, and only the hooks read them.
pub(crate) static BLOBS: Blobs<ExeSlot> = unsafe { Blobs::new() };

/// The file the current task executed, borrowed for as long as the caller runs on it.
///
/// `None` for tasks that never executed a file since boot (kernel threads), or if
/// KPortReserve is not enabled.
pub(crate) fn with_current_exe<R>(f: impl FnOnce(Option<&File>) -> R) -> R {
    let current = current!();
    let Some(slot) = BLOBS.task(current) else {
        return f(None);
    };
    // SAFETY: The current task may read its own slot (type invariant of `ExeSlot`).
    let file = unsafe { *slot.file.get() };
    if file.is_null() {
        return f(None);
    }
    // SAFETY: The slot owns a reference, and the current task cannot exec, so drop it, while
    // it runs `f`.
    f(Some(unsafe { &*file }))
}

/// The task and exec hooks.
pub(crate) struct TaskHooks;

#[vtable]
impl Hooks for TaskHooks {
    /// A new task runs the program of its creator.
    fn task_alloc(task: &HookTask, _clone_flags: u64) -> Result {
        let file = with_current_exe(|file| file.map(ARef::from));
        if let Some(slot) = BLOBS.hook_task(task) {
            // SAFETY: The task does not run yet, so its creator may write its slot, empty as
            // the framework zeroes new blobs.
            unsafe { slot.put(file) };
        }
        Ok(())
    }

    /// Drops the task's reference to the file it executed.
    ///
    /// `fput()` may be called in any context, including the RCU callback that frees tasks.
    fn task_free(task: &HookTask) {
        if let Some(slot) = BLOBS.hook_task(task) {
            // SAFETY: The task is being freed: nobody else uses its slot any more.
            drop(unsafe { slot.take() });
        }
    }

    /// The current task now runs the file `bprm` executes.
    fn bprm_committed_creds(bprm: &Binprm) {
        let current = current!();
        let (Some(slot), Some(file)) = (BLOBS.task(current), bprm.file()) else {
            return;
        };
        let file: ARef<File> = file.into();
        // SAFETY: The current task writes its own slot; after `take()` it is empty.
        let old = unsafe { slot.take() };
        // SAFETY: As above.
        unsafe { slot.put(Some(file)) };
        drop(old);
    }
}

/// The current task as records name it.
pub(crate) struct Subject<'a> {
    pub(crate) pid: i32,
    /// The effective user and group ids, in the initial user namespace, as `uid:` and `gid:`
    /// atoms compare them.
    pub(crate) euid: u32,
    pub(crate) egid: u32,
    /// `comm`, untrusted: any task may set its own.
    pub(crate) comm: &'a [u8],
    /// The file it executed, if any.
    pub(crate) exe: Option<Exe<'a>>,
    /// The path of its cgroup from the root of the hierarchy, or `?`; untrusted: a delegated
    /// subtree's owner names the cgroups in it.
    pub(crate) cgroup: &'a [u8],
}

/// The file a task executed, as records name it.
pub(crate) struct Exe<'a> {
    /// Its path from the root rules resolve from (PID 1's), or `None` when it cannot be
    /// reached from there (a file in a mount namespace of the task's own). Untrusted, as any
    /// path: any user may name a file, but no task can choose the root it is seen from.
    pub(crate) path: Option<&'a [u8]>,
    /// Its path as the task sees it, from its own root, when that differs: the task chooses
    /// both its root and what it finds there.
    pub(crate) task_path: Option<&'a [u8]>,
    /// Whether the file has no name any more (unlinked, or replaced by an upgrade): its paths
    /// are where it was.
    pub(crate) deleted: bool,
    /// The device (major, minor) and inode numbers of the file: what no name can fake while
    /// the task runs it.
    pub(crate) dev_ino: (u32, u32, u64),
}

/// Runs `f` with the current task as records name it.
pub(crate) fn with_subject<R>(f: impl FnOnce(&Subject<'_>) -> R) -> R {
    // SAFETY: `comm` of the current task is an array another thread of it may rename
    // concurrently: read it once, volatile, as get_task_comm() does with strscpy_pad(); a
    // torn read only garbles the record.
    let comm = unsafe { ptr::read_volatile(&raw const (*Task::current_raw()).comm) };
    let comm = CStr::from_bytes_until_nul(&comm[..]).map_or(&b"?"[..], |c| c.to_bytes());
    let mut init_buf = [0u8; 256];
    let mut task_buf = [0u8; 256];
    let exe = with_current_exe(|exe| {
        let exe = exe?;
        let root = FsStruct::userspace_init().map(FsStruct::root);
        let path = root.and_then(|root| exe.path().write_from_into(&root, &mut init_buf).ok()?);
        let deleted = exe.path().is_unlinked();
        // `d_path()` says " (deleted)" where `__d_path()` does not: compare without it.
        let task_path =
            exe.path().write_into(&mut task_buf).ok().map(|task_path| {
                match task_path.strip_suffix(b" (deleted)") {
                    Some(name) if deleted => name,
                    _ => task_path,
                }
            });
        Some(Exe {
            task_path: task_path.filter(|task_path| Some(*task_path) != path),
            path,
            deleted,
            dev_ino: exe.dev_ino(),
        })
    });
    let mut cgroup_buf = [0u8; 256];
    let cgroup = current_cgroup(&mut cgroup_buf);
    f(&Subject {
        // The process, as audit and the other LSMs name it: the thread group.
        pid: current!().tgid(),
        euid: Kuid::current_euid().into_uid_in_init_ns(),
        egid: Kgid::current_egid().into_gid_in_init_ns(),
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

kernel::lsm_hooks! {
    /// The task and exec hooks, registered at init.
    pub(crate) static HOOKS: TaskHooks = [
        task_alloc,
        task_free,
        bprm_committed_creds,
    ];
}
