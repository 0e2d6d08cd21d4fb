// SPDX-License-Identifier: GPL-2.0-only

//! KPortReserve: reserves local ports for specific programs.
//!
//! A minor, stackable LSM. Its `socket_bind` hook denies `bind(2)` (and io_uring's bind) of a
//! reserved TCP, MPTCP or UDP port in the initial network namespace to every program
//! but those the policy names. The policy is written to
//! `/sys/kernel/security/kportreserve/policy`.
//!
//! This file is the crate root: the LSM's identity, its hook list, its init functions and
//! the hooks themselves, which turn C arguments into safe values and return an errno. The
//! decisions are made in [`policy`] and [`identity`].
//!
//! See `Documentation/admin-guide/LSM/kportreserve.rst`.

use core::ptr;
use kernel::{
    bindings,
    ffi::c_int,
    prelude::*,
    task::Task, //
};

mod identity;
mod policy;
mod securityfs;

/// The prefix of every `pr_*!` message, as `pr_fmt()` is for C.
const __LOG_PREFIX: &[u8] = b"kportreserve\0";

/// The errno of a denied bind.
///
/// `EADDRINUSE`, as kportreserve 0.1 returned: to the program the port is taken, which is
/// true, so `bindresvport()` and servers that probe for a free port move on to the next one,
/// where `EACCES` would make them give up. Every denial is logged for the administrator.
const DENIED: Error = EADDRINUSE;

/// A C object holding raw pointers, shared read-only between CPUs.
///
/// # Invariants
///
/// The wrapped value is never written after it is built, or only by the LSM framework
/// during its single-threaded init.
#[repr(transparent)]
struct AssertSync<T>(T);

// SAFETY: By the type invariant, the value is immutable once other CPUs can see it.
unsafe impl<T> Sync for AssertSync<T> {}

/// The LSM's name and ID, as `/sys/kernel/security/lsm` and `lsm_list_modules(2)` show them.
static LSM_ID: AssertSync<bindings::lsm_id> = AssertSync(bindings::lsm_id {
    name: kernel::str::as_char_ptr_in_const_context(c"kportreserve"),
    id: bindings::LSM_ID_KPORTRESERVE as u64,
});

/// Builds one `LSM_HOOK_INIT()` entry: `$slot` names the field of `static_calls_table` and
/// of `security_list_options` the hook goes in.
macro_rules! lsm_hook_init {
    ($slot:ident, $hook:expr) => {
        bindings::security_hook_list {
            // SAFETY: Only the address is taken, without a reference: the table is
            // `__packed`, and the LSM framework writes it during init.
            scalls: unsafe { (&raw mut bindings::static_calls_table.$slot).cast() },
            hook: bindings::security_list_options { $slot: Some($hook) },
            lsmid: ptr::null(),
        }
    };
}

/// The number of hooks KPortReserve registers.
const HOOK_COUNT: usize = 3;

/// The hooks, in the form `security_add_hooks()` takes.
///
/// `security_add_hooks()` writes `lsmid` into each entry during init; afterwards the array
/// is read-only, as `__ro_after_init` makes it.
#[link_section = ".data..ro_after_init"]
static mut HOOKS: [bindings::security_hook_list; HOOK_COUNT] = [
    lsm_hook_init!(socket_bind, hook_socket_bind),
    lsm_hook_init!(task_alloc, hook_task_alloc),
    lsm_hook_init!(bprm_committed_creds, hook_bprm_committed_creds),
];

/// The `DEFINE_LSM(kportreserve)` entry the LSM framework finds in `.lsm_info.init`.
///
/// `#[used]` keeps it: nothing refers to it by name. The framework writes to it during init.
#[used]
#[link_section = ".lsm_info.init"]
static mut LSM_INFO: bindings::lsm_info = bindings::lsm_info {
    id: &raw const LSM_ID.0,
    order: bindings::lsm_order_LSM_ORDER_MUTABLE,
    blobs: &raw mut identity::BLOB_SIZES,
    init: Some(kportreserve_init),
    // securityfs is not mounted when `init` runs; files come later.
    initcall_fs: Some(securityfs::init),
    ..pin_init::zeroed()
};

/// Registers the hooks; called once by the LSM framework when `kportreserve` is enabled.
///
/// In `.init.text` because it calls the `__init` function `security_add_hooks()`.
///
/// # Safety
///
/// Called once, by the LSM framework during its single-threaded init.
#[link_section = ".init.text"]
unsafe extern "C" fn kportreserve_init() -> c_int {
    // SAFETY: Called once, before any hook or securityfs file can use the policy.
    unsafe { policy::init() };
    // SAFETY: `HOOKS` is only touched here, during single-threaded LSM init, and by the
    // framework through the pointer given; `LSM_ID` lives forever.
    unsafe {
        bindings::security_add_hooks((&raw mut HOOKS).cast(), HOOK_COUNT as c_int, &LSM_ID.0)
    };
    pr_info!("Up and running.\n");
    0
}

/// The transport protocols whose ports KPortReserve guards, by socket type and protocol.
///
/// MPTCP shares TCP's port space. Raw sockets are left out: their "port" is a protocol.
fn guarded_protocol(sk_type: u16, protocol: u16) -> Option<&'static str> {
    let stream_like = matches!(
        u32::from(sk_type),
        bindings::sock_type_SOCK_STREAM
            | bindings::sock_type_SOCK_DGRAM
            | bindings::sock_type_SOCK_SEQPACKET
    );
    if !stream_like {
        return None;
    }
    match u32::from(protocol) {
        bindings::IPPROTO_TCP => Some("tcp"),
        bindings::IPPROTO_MPTCP => Some("mptcp"),
        bindings::IPPROTO_UDP => Some("udp"),
        // Plain bind(2) only: sctp_bindx() does not reach this hook (see the docs).
        bindings::IPPROTO_SCTP => Some("sctp"),
        _ => None,
    }
}

/// Returns whether `sk` belongs to the initial network namespace.
///
/// # Safety
///
/// `sk` must point to a live socket.
#[cfg(CONFIG_NET_NS)]
unsafe fn in_initial_netns(sk: *const bindings::sock) -> bool {
    // SAFETY: `sk` is live by the contract, and its namespace is fixed at creation.
    let net = unsafe { (*sk).__sk_common.skc_net.net };
    ptr::eq(net, &raw const bindings::init_net)
}

/// Returns whether `sk` belongs to the initial network namespace: the only one.
///
/// # Safety
///
/// `sk` must point to a live socket.
#[cfg(not(CONFIG_NET_NS))]
unsafe fn in_initial_netns(_sk: *const bindings::sock) -> bool {
    true
}

/// Where a bind asks to go, once the C arguments are checked.
enum BindTarget {
    /// Nothing for KPortReserve to check: another family, protocol or namespace, or port 0.
    Unguarded,
    /// A guarded port in the initial network namespace.
    Port { port: u16, protocol: &'static str },
}

/// Reads the port a `socket_bind` call asks for.
///
/// Returns `EINVAL`, as the network stack would, when `addrlen` is too short to hold the
/// address family claims: the port is never read beyond `addrlen`.
///
/// # Safety
///
/// `sock` must point to a live socket and `address` to at least `addrlen` readable bytes,
/// as the `socket_bind` hook receives them.
unsafe fn bind_target(
    sock: *const bindings::socket,
    address: *const bindings::sockaddr,
    addrlen: c_int,
) -> Result<BindTarget> {
    // SAFETY: `sock` is live by the contract.
    let sk = unsafe { (*sock).sk };
    if sk.is_null() {
        return Ok(BindTarget::Unguarded);
    }
    // The socket's family, not the address's: IPv4 also takes AF_UNSPEC. READ_ONCE(), as
    // setsockopt(IPV6_ADDRFORM) may change it concurrently.
    // SAFETY: `sk` is live while its socket is.
    let family = unsafe { ptr::read_volatile(&raw const (*sk).__sk_common.skc_family) };
    let family = u32::from(family);
    if family != bindings::AF_INET && family != bindings::AF_INET6 {
        return Ok(BindTarget::Unguarded);
    }
    // Read in C: bindgen's layout of `struct sock` is wrong past its cache-line groups.
    // SAFETY: `sk` is live; type and protocol are set when the socket is created.
    let (sk_type, protocol) = unsafe { (bindings::sk_type(sk), bindings::sk_protocol(sk)) };
    let Some(protocol) = guarded_protocol(sk_type, protocol) else {
        return Ok(BindTarget::Unguarded);
    };
    // Ports are reserved in the initial network namespace only.
    // SAFETY: `sk` is live.
    if !unsafe { in_initial_netns(sk) } {
        return Ok(BindTarget::Unguarded);
    }

    let addrlen = usize::try_from(addrlen).map_err(|_| EINVAL)?;
    if addrlen < core::mem::offset_of!(bindings::sockaddr, sa_data) {
        return Err(EINVAL);
    }
    // SAFETY: `address` has at least `addrlen` bytes, which cover `sa_family`.
    let sa_family = u32::from(unsafe { (*address).sa_family });
    let min_len = match sa_family {
        // IPv4 binds AF_UNSPEC as AF_INET (if the address is INADDR_ANY): check its port too.
        bindings::AF_INET | bindings::AF_UNSPEC if family == bindings::AF_INET => {
            core::mem::size_of::<bindings::sockaddr_in>()
        }
        // SCTP on IPv6 also takes IPv4 addresses.
        bindings::AF_INET => core::mem::size_of::<bindings::sockaddr_in>(),
        // SIN6_LEN_RFC2133: an RFC 2133 `sockaddr_in6`, without `sin6_scope_id`.
        bindings::AF_INET6 => core::mem::offset_of!(bindings::sockaddr_in6, sin6_scope_id),
        // The stack refuses other families with EAFNOSUPPORT.
        _ => return Ok(BindTarget::Unguarded),
    };
    if addrlen < min_len {
        return Err(EINVAL);
    }
    // `sin_port` and `sin6_port` are both the big-endian 16 bits after the family.
    const _: () = assert!(
        core::mem::offset_of!(bindings::sockaddr_in, sin_port)
            == core::mem::offset_of!(bindings::sockaddr_in6, sin6_port)
    );
    // SAFETY: `addrlen >= min_len`, which covers `sin_port` of a `sockaddr_in`.
    let port = u16::from_be(unsafe { (*address.cast::<bindings::sockaddr_in>()).sin_port });
    if port == 0 {
        // Port 0 asks the kernel to pick one, which it never picks from reserved ports
        // listed in ip_local_reserved_ports; KPortReserve does not deny it.
        return Ok(BindTarget::Unguarded);
    }
    Ok(BindTarget::Port { port, protocol })
}

/// Returns whether a rate-limited message may be printed now (`printk_ratelimit()`).
fn printk_ratelimit() -> bool {
    // SAFETY: `__printk_ratelimit()` takes a NUL-terminated name for its message.
    unsafe { bindings::__printk_ratelimit(c"kportreserve".as_char_ptr()) != 0 }
}

/// Logs a denied bind, rate-limited.
fn report_denial(port: u16, protocol: &str) {
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
        "denied bind to {} port {}: pid={} comm=\"{}\" exe=\"{}\"\n",
        protocol,
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

/// The `socket_bind` hook: denies a reserved port to every program the policy does not name.
///
/// # Safety
///
/// Called by the LSM framework with a live socket and an address of `addrlen` bytes.
unsafe extern "C" fn hook_socket_bind(
    sock: *mut bindings::socket,
    address: *mut bindings::sockaddr,
    addrlen: c_int,
) -> c_int {
    // SAFETY: The framework passes what `bind_target()` requires.
    let (port, protocol) = match unsafe { bind_target(sock, address, addrlen) } {
        Ok(BindTarget::Unguarded) => return 0,
        Ok(BindTarget::Port { port, protocol }) => (port, protocol),
        Err(err) => return err.to_errno(),
    };
    if policy::may_bind(port, identity::current_is) {
        return 0;
    }
    report_denial(port, protocol);
    DENIED.to_errno()
}

/// The `task_alloc` hook: a new task runs the program of its creator.
///
/// # Safety
///
/// Called by the LSM framework for a task the current task is creating.
unsafe extern "C" fn hook_task_alloc(task: *mut bindings::task_struct, _clone_flags: u64) -> c_int {
    // SAFETY: `task` is being created by the current task and does not run yet.
    unsafe { identity::inherit(task) };
    0
}

/// The `bprm_committed_creds` hook: the current task now runs the file `bprm` executes.
///
/// # Safety
///
/// Called by the LSM framework after the point of no return of the current task's exec.
unsafe extern "C" fn hook_bprm_committed_creds(bprm: *const bindings::linux_binprm) {
    // SAFETY: As guaranteed by the framework.
    unsafe { identity::record_exec(bprm) };
}

#[cfg(CONFIG_SECURITY_KPORTRESERVE_KUNIT_TEST)]
#[kunit_tests(kportreserve_hooks)]
mod tests {
    use super::*;
    use kernel::error::to_result;

    /// A kernel TCP socket in the initial network namespace, released on drop.
    struct KernelSocket(*mut bindings::socket);

    impl KernelSocket {
        fn new(family: u32, sk_type: u32, protocol: u32) -> Result<Self> {
            let mut sock = ptr::null_mut();
            // SAFETY: `init_net` lives forever; `sock` is written on success.
            to_result(unsafe {
                bindings::sock_create_kern(
                    &raw mut bindings::init_net,
                    family as c_int,
                    sk_type as c_int,
                    protocol as c_int,
                    &mut sock,
                )
            })?;
            Ok(Self(sock))
        }
    }

    impl Drop for KernelSocket {
        fn drop(&mut self) {
            // SAFETY: We own the socket.
            unsafe { bindings::sock_release(self.0) };
        }
    }

    fn ipv4_any(port: u16) -> bindings::sockaddr_in {
        bindings::sockaddr_in {
            sin_family: bindings::AF_INET as u16,
            sin_port: port.to_be(),
            ..pin_init::zeroed()
        }
    }

    /// Calls the hook as `bind(2)` would, with `len` bytes of `addr`.
    fn hook<T>(sock: &KernelSocket, addr: &mut T, len: usize) -> c_int {
        // SAFETY: `sock` is live and `addr` is at least `len` bytes.
        unsafe { hook_socket_bind(sock.0, ptr::from_mut(addr).cast(), len as c_int) }
    }

    fn load(text: &str) -> Result {
        // SAFETY: KUnit runs after LSM init, one test at a time.
        unsafe { policy::init() };
        let lines = policy::parse(text.as_bytes(), 1).map_err(|r| r.error)?;
        let mut writer = policy::WRITER.lock();
        let retired = policy::update(&mut writer, &lines).map_err(|r| r.error)?;
        drop(writer);
        drop(retired);
        Ok(())
    }

    #[test]
    fn kernel_port_is_denied_to_tasks_but_not_to_kernel_bind() -> Result {
        let port = 40123;
        load("clear\n40123 <kernel>\n")?;
        let sock = KernelSocket::new(
            bindings::AF_INET,
            bindings::sock_type_SOCK_STREAM,
            bindings::IPPROTO_TCP,
        )?;
        let mut addr = ipv4_any(port);
        let len = core::mem::size_of_val(&addr);
        // A bind(2) from this task, even a kernel thread, would be denied...
        assert_eq!(hook(&sock, &mut addr, len), DENIED.to_errno());
        // ... while kernel_bind() never calls the hook and gets the port.
        // SAFETY: `sock` is live and `addr` is a full `sockaddr_in`.
        let ret = unsafe { bindings::kernel_bind(sock.0, (&raw mut addr).cast(), len as c_int) };
        assert_eq!(ret, 0);
        load("clear\n")?;
        assert_eq!(hook(&sock, &mut addr, len), 0);
        Ok(())
    }

    #[test]
    fn short_addresses_are_invalid_not_denied() -> Result {
        load("clear\n40124 <kernel>\n")?;
        let sock = KernelSocket::new(
            bindings::AF_INET,
            bindings::sock_type_SOCK_DGRAM,
            bindings::IPPROTO_UDP,
        )?;
        let mut addr = ipv4_any(40124);
        let full = core::mem::size_of_val(&addr);
        assert_eq!(hook(&sock, &mut addr, full), DENIED.to_errno());
        assert_eq!(hook(&sock, &mut addr, full - 1), EINVAL.to_errno());
        assert_eq!(hook(&sock, &mut addr, 1), EINVAL.to_errno());
        assert_eq!(hook(&sock, &mut addr, 0), EINVAL.to_errno());
        addr.sin_family = bindings::AF_UNSPEC as u16;
        assert_eq!(hook(&sock, &mut addr, full), DENIED.to_errno());
        addr.sin_port = 0;
        assert_eq!(hook(&sock, &mut addr, full), 0);
        load("clear\n")?;
        Ok(())
    }

    #[test]
    fn unguarded_protocols() {
        assert_eq!(
            guarded_protocol(
                bindings::sock_type_SOCK_STREAM as u16,
                bindings::IPPROTO_TCP as u16
            ),
            Some("tcp")
        );
        assert_eq!(
            guarded_protocol(
                bindings::sock_type_SOCK_STREAM as u16,
                bindings::IPPROTO_MPTCP as u16
            ),
            Some("mptcp")
        );
        assert_eq!(
            guarded_protocol(
                bindings::sock_type_SOCK_DGRAM as u16,
                bindings::IPPROTO_UDP as u16
            ),
            Some("udp")
        );
        assert_eq!(
            guarded_protocol(
                bindings::sock_type_SOCK_RAW as u16,
                bindings::IPPROTO_TCP as u16
            ),
            None
        );
        assert_eq!(
            guarded_protocol(
                bindings::sock_type_SOCK_DGRAM as u16,
                bindings::IPPROTO_ICMP as u16
            ),
            None
        );
    }
}
