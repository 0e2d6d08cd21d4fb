// SPDX-License-Identifier: GPL-2.0-only

//! The socket hooks: each turns its C arguments into the port a socket is about to take,
//! asks the policy, and answers with an errno.
//!
//! Three ways lead to a local port, and each has its hook here:
//!
//! - `socket_bind`: `bind(2)` and io_uring's bind, on TCP, MPTCP, UDP and SCTP sockets, on
//!   SMC sockets (AF_SMC, and AF_INET/AF_INET6 with `IPPROTO_SMC`), which bind the address
//!   on a TCP socket of their own, and on AF_RXRPC sockets, which bind their transport
//!   address on a UDP socket of their own. Both internal sockets are bound with
//!   `kernel_bind()`, which no hook sees, so the request is checked here, where the task
//!   asking is known;
//! - `sctp_bind_connect`: the addresses `sctp_bindx()` adds;
//! - `sk_port_reserved`: every automatic choice of a port (port 0, `connect()`, `listen()`,
//!   `sendmsg()` on an unbound socket, SCTP autobind, the SUNRPC client) skips reserved
//!   ports, for every program, as it skips `ip_local_reserved_ports`.
//!
//! A socket of the initial network namespace is governed by the policy; a socket of another
//! namespace by that namespace's layers (see [`crate::netns`]): its ports are its own.

use kernel::{
    bindings,
    lsm::Hooks,
    net::{
        namespace::Net,
        sock::{
            Sock,
            Socket, //
        },
    },
    prelude::*,
};

#[cfg(CONFIG_SECURITY_KPORTRESERVE_KUNIT_TEST)]
use crate::grammar;
use crate::{
    identity, netns, policy, report,
    rule::Protocol,
    sockaddr,
    sockaddr::{
        InetFamilies,
        Transport, //
    },
};

/// The errno of a denied bind.
///
/// `EADDRINUSE`, as kportreserve 0.1 returned: to the program the port is taken, which is
/// true, so `bindresvport()` and servers that probe for a free port move on to the next one,
/// where `EACCES` would make them give up. Every denial is logged for the administrator.
pub(crate) const DENIED: Error = EADDRINUSE;

/// The transport of an AF_INET or AF_INET6 socket, by socket type and protocol.
///
/// MPTCP and SMC share TCP's port space. Raw sockets are left out (their "port" is a
/// protocol), and so are ICMP sockets (their "port" is an echo identifier).
fn inet_transport(sk_type: u16, protocol: u16) -> Option<Transport> {
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
        bindings::IPPROTO_TCP => Some(Transport::Tcp),
        bindings::IPPROTO_MPTCP => Some(Transport::Mptcp),
        bindings::IPPROTO_UDP => Some(Transport::Udp),
        bindings::IPPROTO_SCTP => Some(Transport::Sctp),
        bindings::IPPROTO_SMC => Some(Transport::Smc),
        _ => None,
    }
}

/// The port space `transport` takes its ports from, as rules select it.
fn protocol(transport: Transport) -> Protocol {
    match transport {
        Transport::Tcp | Transport::Mptcp | Transport::Smc => Protocol::Tcp,
        Transport::Udp | Transport::Rxrpc => Protocol::Udp,
        Transport::Sctp => Protocol::Sctp,
    }
}

/// The port space of `sk`, for automatic port choice; `None` for one the LSM does not know,
/// which every rule then covers.
fn sock_protocol(sk: &Sock) -> Option<Protocol> {
    match u32::from(sk.family()) {
        bindings::AF_INET | bindings::AF_INET6 => {
            inet_transport(sk.sock_type(), sk.protocol()).map(protocol)
        }
        bindings::AF_SMC => Some(Protocol::Tcp),
        bindings::AF_RXRPC => Some(Protocol::Udp),
        _ => None,
    }
}

/// Returns the port a `bind(2)` of `addr` on a socket of `family` asks for, read as leniently
/// as any socket of the family takes it; `None` for another family, for port 0 (an automatic
/// choice) and for addresses no socket of the family takes.
///
/// The first half of the bind hook's fast path, inlined into it: no call, no lock.
#[inline(always)]
fn requested_port(family: u16, addr: &[u8]) -> Option<u16> {
    match u32::from(family) {
        bindings::AF_INET => sockaddr::inet_port(addr, InetFamilies::V4),
        bindings::AF_INET6 => sockaddr::inet_port(addr, InetFamilies::V6AndV4),
        bindings::AF_SMC => sockaddr::inet_port(addr, InetFamilies::Any),
        bindings::AF_RXRPC => sockaddr::rxrpc_port(addr),
        _ => None,
    }
}

/// Returns the transport whose port a `bind(2)` of `addr` on `sk`, a socket of `family`,
/// asks for, if KPortReserve guards it; `None` for another protocol, and for addresses the
/// stack refuses anyway.
fn bind_transport(sk: &Sock, family: u16, addr: &[u8]) -> Option<Transport> {
    let family = u32::from(family);
    let transport = match family {
        bindings::AF_INET | bindings::AF_INET6 => {
            let transport = inet_transport(sk.sock_type(), sk.protocol())?;
            // Of the IPv6 sockets, only SCTP's take IPv4 addresses too.
            let ipv6_only = family == bindings::AF_INET6 && transport != Transport::Sctp;
            if ipv6_only && sockaddr::inet_port(addr, InetFamilies::V6).is_none() {
                return None;
            }
            transport
        }
        bindings::AF_SMC => Transport::Smc,
        bindings::AF_RXRPC => Transport::Rxrpc,
        _ => return None,
    };
    Some(transport)
}

/// The bind hook's slow path, for a port reserved here or while some other namespace's layer
/// holds a rule: out of line, so that the fast path saves no registers and sets up no frame
/// for it.
#[cold]
#[inline(never)]
fn check_bind(sk: &Sock, family: u16, addr: &[u8], port: u16) -> Result {
    let reserved = if sk.in_initial_net() {
        policy::is_reserved(port)
    } else {
        netns::is_reserved(sk.net(), port)
    };
    if !reserved {
        return Ok(());
    }
    match bind_transport(sk, family, addr) {
        Some(transport) => decide("bind", transport, sk.net(), addr, port),
        None => Ok(()),
    }
}

/// Decides whether the current task may take `port` in `net` (asked for at the socket
/// address `addr`) and reports a denial; in permissive mode, a would-be denial is reported
/// and allowed.
///
/// May sleep: the rule's path is resolved for a reserved port.
fn decide(
    operation: &'static str,
    transport: Transport,
    net: &Net,
    addr: &[u8],
    port: u16,
) -> Result {
    let protocol = protocol(transport);
    let allowed = if net.is_initial() {
        policy::may_bind(port, protocol, identity::current_is)
    } else {
        netns::may_bind(net, port, protocol, identity::current_is)
    };
    if allowed {
        return Ok(());
    }
    let permissive = policy::is_permissive();
    report::denied(operation, transport, net.id(), addr, port, permissive);
    if permissive {
        Ok(())
    } else {
        Err(DENIED)
    }
}

/// The socket hooks.
pub(crate) struct NetHooks;

#[vtable]
impl Hooks for NetHooks {
    /// Denies a reserved port to every program the policy does not name.
    ///
    /// Malformed addresses are left to the stack, which refuses them with its own errno.
    ///
    /// Inlined into the trampoline that calls it, so that an unreserved bind pays no call.
    #[inline(always)]
    fn socket_bind(sock: &Socket, addr: &[u8]) -> Result {
        let Some(sk) = sock.sk() else {
            return Ok(());
        };
        // Most binds are to unreserved ports, and an empty policy reserves none: such a bind
        // pays two loads from the socket, the port's, one bit test, and while no other
        // namespace has rules, one more load.
        let family = sk.family();
        match requested_port(family, addr) {
            Some(port) if policy::is_reserved(port) || netns::in_use() => {
                check_bind(sk, family, addr, port)
            }
            _ => Ok(()),
        }
    }

    /// Checks each port `sctp_bindx()` adds as a bind.
    ///
    /// One denied address fails the whole call, before the socket changes. Other options carry
    /// peer addresses or come from softirq (ASCONF), and sockets the kernel created (DLM's
    /// `sock_bind_add()`) pass, as `kernel_bind()` does.
    fn sctp_bind_connect(sk: &Sock, optname: i32, addrs: &[u8]) -> Result {
        if u32::try_from(optname) != Ok(bindings::SCTP_SOCKOPT_BINDX_ADD)
            || (policy::is_empty() && !netns::in_use())
            || sk.is_kernel()
        {
            return Ok(());
        }
        for port in sockaddr::BindxPorts::new(addrs) {
            let (port, addr) = port?;
            decide("bindx", Transport::Sctp, sk.net(), addr, port)?;
        }
        Ok(())
    }

    /// Automatic port selection skips every port reserved for the socket's protocol.
    ///
    /// A reserved port is never chosen automatically, not even for a program the policy names
    /// (owners bind their port explicitly), and not for kernel sockets either. Called for each
    /// candidate port, possibly under `spin_lock_bh()`: one load and one bit test for an
    /// unreserved port, and one more load while no other namespace has rules; no lock, no
    /// allocation.
    #[inline(always)]
    fn sk_port_reserved(sk: &Sock, port: u16) -> bool {
        (policy::is_reserved(port) || netns::in_use()) && port_skipped(sk, port)
    }
}

/// The port-choice hook's slow path: whether the layers of `sk`'s namespace reserve `port`
/// for its protocol. RCU only: safe in atomic context.
#[cold]
#[inline(never)]
fn port_skipped(sk: &Sock, port: u16) -> bool {
    if sk.in_initial_net() {
        policy::is_reserved(port) && policy::skips(port, sock_protocol(sk))
    } else {
        netns::skips(sk.net(), port, || sock_protocol(sk))
    }
}

kernel::lsm_hooks! {
    /// The socket hooks, registered at init.
    pub(crate) static HOOKS: NetHooks = [
        socket_bind,
        sctp_bind_connect,
        sk_port_reserved,
    ];
}

#[cfg(CONFIG_SECURITY_KPORTRESERVE_KUNIT_TEST)]
#[kunit_tests(kportreserve_net)]
mod tests {
    use super::*;
    use crate::counters::Event;
    use core::ptr;
    use kernel::{error::to_result, ffi::c_int, lsm::Adapter};

    /// A kernel socket in the initial network namespace, released on drop.
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

        fn tcp() -> Result<Self> {
            Self::new(
                bindings::AF_INET,
                bindings::sock_type_SOCK_STREAM,
                bindings::IPPROTO_TCP,
            )
        }

        fn sk(&self) -> *mut bindings::sock {
            // SAFETY: We own the socket.
            unsafe { (*self.0).sk }
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

    /// Calls the bind hook as `bind(2)` would, with `len` bytes of `addr`.
    fn hook<T>(sock: &KernelSocket, addr: &mut T, len: usize) -> c_int {
        // SAFETY: `sock` is live and `addr` is at least `len` bytes.
        unsafe {
            Adapter::<NetHooks>::socket_bind(sock.0, ptr::from_mut(addr).cast(), len as c_int)
        }
    }

    /// Applies policy text; the test has taken the policy over ([`policy::take_over_for_test`]).
    fn load(text: &str) -> Result {
        let lines = grammar::parse(text.as_bytes(), 1).map_err(|r| r.error)?;
        let mut writer = policy::WRITER.lock();
        let retired = policy::update(&mut writer, &lines).map_err(|r| r.error)?;
        drop(writer);
        drop(retired);
        Ok(())
    }

    #[test]
    fn kernel_port_is_denied_to_tasks_but_not_to_kernel_bind() -> Result {
        if !policy::take_over_for_test() {
            return Ok(());
        }
        let port = 40123;
        load("clear\n40123 <kernel>\n")?;
        let sock = KernelSocket::tcp()?;
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
    fn short_addresses_are_left_to_the_stack() -> Result {
        if !policy::take_over_for_test() {
            return Ok(());
        }
        load("clear\n40124 <kernel>\n")?;
        let sock = KernelSocket::new(
            bindings::AF_INET,
            bindings::sock_type_SOCK_DGRAM,
            bindings::IPPROTO_UDP,
        )?;
        let mut addr = ipv4_any(40124);
        let full = core::mem::size_of_val(&addr);
        assert_eq!(hook(&sock, &mut addr, full), DENIED.to_errno());
        // The stack refuses these with EINVAL itself: the hook lets its answer through.
        assert_eq!(hook(&sock, &mut addr, full - 1), 0);
        assert_eq!(hook(&sock, &mut addr, 1), 0);
        assert_eq!(hook(&sock, &mut addr, 0), 0);
        addr.sin_family = bindings::AF_UNSPEC as u16;
        assert_eq!(hook(&sock, &mut addr, full), DENIED.to_errno());
        addr.sin_port = 0;
        assert_eq!(hook(&sock, &mut addr, full), 0);
        load("clear\n")?;
        Ok(())
    }

    #[test]
    fn automatic_choice_skips_every_reserved_port() -> Result {
        if !policy::take_over_for_test() {
            return Ok(());
        }
        let sock = KernelSocket::tcp()?;
        // SAFETY: `sock` is live.
        let reserved =
            |port| unsafe { Adapter::<NetHooks>::sk_port_reserved(sock.sk(), port) } != 0;
        load("clear\n40130-40131 <kernel>\n40132 /sbin/owner\n")?;
        assert!(reserved(40130));
        assert!(reserved(40131));
        // Reserved for a program: still never chosen automatically.
        assert!(reserved(40132));
        assert!(!reserved(40129));
        assert!(!reserved(40133));
        load("clear\n")?;
        assert!(!reserved(40130));
        Ok(())
    }

    /// The `(denied, skipped)` counts of the rule in force for exactly `port`.
    fn counts(port: u16) -> Option<(usize, usize)> {
        let snapshot = policy::current()?;
        let rule = snapshot.rules().iter().find(|r| r.ports.low == port)?;
        let counters = rule.counters.as_ref()?;
        Some((counters.get(Event::Denied), counters.get(Event::Skipped)))
    }

    #[test]
    fn denials_and_skips_are_counted_on_the_rule() -> Result {
        if !policy::take_over_for_test() {
            return Ok(());
        }
        let sock = KernelSocket::tcp()?;
        let mut addr = ipv4_any(40140);
        let len = core::mem::size_of_val(&addr);
        load("clear\n40140 <kernel>\n")?;
        assert_eq!(counts(40140), Some((0, 0)));
        assert_eq!(hook(&sock, &mut addr, len), DENIED.to_errno());
        assert_eq!(hook(&sock, &mut addr, len), DENIED.to_errno());
        // SAFETY: `sock` is live.
        let skipped = unsafe { Adapter::<NetHooks>::sk_port_reserved(sock.sk(), 40140) };
        assert_ne!(skipped, 0);
        assert_eq!(counts(40140), Some((2, 1)));
        // A write that keeps the rule keeps its counts; a new rule starts at zero.
        load("40141 <kernel>\n")?;
        assert_eq!(counts(40140), Some((2, 1)));
        assert_eq!(counts(40141), Some((0, 0)));
        // Deleted, then added back by a later write: a new rule.
        load("delete 40140 <kernel>\n")?;
        load("40140 <kernel>\n")?;
        assert_eq!(counts(40140), Some((0, 0)));
        load("clear\n")?;
        Ok(())
    }

    #[test]
    fn transports() {
        let stream = bindings::sock_type_SOCK_STREAM;
        let dgram = bindings::sock_type_SOCK_DGRAM;
        let raw = bindings::sock_type_SOCK_RAW;
        for (sk_type, protocol, expected) in [
            (stream, bindings::IPPROTO_TCP, Some(Transport::Tcp)),
            (stream, bindings::IPPROTO_MPTCP, Some(Transport::Mptcp)),
            (dgram, bindings::IPPROTO_UDP, Some(Transport::Udp)),
            (stream, bindings::IPPROTO_SCTP, Some(Transport::Sctp)),
            (stream, bindings::IPPROTO_SMC, Some(Transport::Smc)),
            // A raw socket's "port" is a protocol, an ICMP socket's an echo identifier.
            (raw, bindings::IPPROTO_TCP, None),
            (dgram, bindings::IPPROTO_ICMP, None),
        ] {
            assert_eq!(inet_transport(sk_type as u16, protocol as u16), expected);
        }
    }
}
