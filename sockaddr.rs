// SPDX-License-Identifier: GPL-2.0-only

//! Reading the local port (and, for the record of a denial, the IP address) out of the
//! addresses `bind(2)` and `sctp_bindx()` take, and the transports whose ports they are.
//!
//! Pure functions of the address bytes, so that KUnit tests them without sockets. A port is
//! read from every address the socket's family might accept, so that no bind the stack would
//! carry out escapes the policy; within that they lean to leniency (lengths are checked as
//! the most lenient protocol checks them). An address the socket cannot take yields no port
//! and is left to the stack, which refuses it with its own errno; a malformed address to a
//! reserved port may at worst be refused with KPortReserve's errno instead.

use core::net::{
    Ipv4Addr,
    Ipv6Addr, //
};
use kernel::{bindings, prelude::*};

/// A transport whose ports KPortReserve guards, named as the log shows it.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Transport {
    Tcp,
    Mptcp,
    Udp,
    Sctp,
    /// SMC: a TCP port, bound on the SMC socket's internal TCP socket.
    Smc,
    /// RxRPC: a UDP port, bound on the RxRPC endpoint's internal UDP socket.
    Rxrpc,
}

impl Transport {
    /// The name in log lines.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Tcp => "tcp",
            Self::Mptcp => "mptcp",
            Self::Udp => "udp",
            Self::Sctp => "sctp",
            Self::Smc => "smc",
            Self::Rxrpc => "rxrpc",
        }
    }
}

/// Reads the native-endian `u16` at `offset`.
fn u16_at(bytes: &[u8], offset: usize) -> Option<u16> {
    let pair = bytes.get(offset..offset.checked_add(2)?)?;
    Some(u16::from_ne_bytes([pair[0], pair[1]]))
}

/// Reads the big-endian port at `offset`; `None` for port 0, which asks for automatic choice.
fn port_at(bytes: &[u8], offset: usize) -> Option<u16> {
    u16_at(bytes, offset)
        .map(u16::from_be)
        .filter(|&port| port != 0)
}

/// Size of a `sockaddr_in`: what every IPv4 bind requires (and AF_UNSPEC, which IPv4 binds
/// as INADDR_ANY).
const SOCKADDR_IN_LEN: usize = core::mem::size_of::<bindings::sockaddr_in>();

/// `SIN6_LEN_RFC2133`: an RFC 2133 `sockaddr_in6`, without `sin6_scope_id`, the shortest
/// IPv6 address `bind(2)` takes.
const SOCKADDR_IN6_MIN_LEN: usize = core::mem::offset_of!(bindings::sockaddr_in6, sin6_scope_id);

/// Size of a full `sockaddr_in6`, as each address of an SCTP address list has.
const SOCKADDR_IN6_LEN: usize = core::mem::size_of::<bindings::sockaddr_in6>();

/// Offset of the port in both `sockaddr_in` and `sockaddr_in6`.
const INET_PORT_OFFSET: usize = core::mem::offset_of!(bindings::sockaddr_in, sin_port);

const _: () = assert!(INET_PORT_OFFSET == core::mem::offset_of!(bindings::sockaddr_in6, sin6_port));

/// The address families a socket's `bind()` takes.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum InetFamilies {
    /// An IPv4 socket: AF_INET, and AF_UNSPEC, which IPv4 binds as AF_INET.
    V4,
    /// An IPv6 TCP, MPTCP or UDP socket: AF_INET6 only.
    V6,
    /// An IPv6 SCTP socket, which also takes IPv4 addresses.
    V6AndV4,
    /// An AF_SMC socket: its own checks take all three and pass the address on to its TCP
    /// socket, whose family decides.
    Any,
}

impl InetFamilies {
    /// Whether a socket of these families may take an address of family `family`.
    fn take(self, family: u32) -> bool {
        match family {
            bindings::AF_INET => self != Self::V6,
            bindings::AF_INET6 => self != Self::V4,
            bindings::AF_UNSPEC => matches!(self, Self::V4 | Self::Any),
            _ => false,
        }
    }
}

/// Returns the port an IPv4 or IPv6 address asks for, on a socket taking `families`: what
/// TCP, UDP, MPTCP and SCTP sockets, and AF_SMC (which passes it on to its TCP socket), bind.
#[inline]
pub(crate) fn inet_port(addr: &[u8], families: InetFamilies) -> Option<u16> {
    let family = u32::from(u16_at(addr, 0)?);
    if !families.take(family) {
        return None;
    }
    let min_len = match family {
        bindings::AF_INET6 => SOCKADDR_IN6_MIN_LEN,
        _ => SOCKADDR_IN_LEN,
    };
    if addr.len() < min_len {
        return None;
    }
    port_at(addr, INET_PORT_OFFSET)
}

/// An IP address a bind asks for. `core::net` writes it as `%pI4` and `%pI6c` do (RFC 5952,
/// and IPv4-mapped addresses in dotted form), which a KUnit test checks, except ISATAP
/// addresses (`...:5efe:a.b.c.d`), whose last 32 bits it writes in hexadecimal.
pub(crate) use core::net::IpAddr;

/// Offsets of the IP address in a `sockaddr_in` and a `sockaddr_in6`.
const IN_ADDR_OFFSET: usize = core::mem::offset_of!(bindings::sockaddr_in, sin_addr);
const IN6_ADDR_OFFSET: usize = core::mem::offset_of!(bindings::sockaddr_in6, sin6_addr);

/// Returns the IP address of an IPv4 (or AF_UNSPEC, which IPv4 binds as IPv4), IPv6 or
/// AF_RXRPC address; `None` for another family or a short address.
pub(crate) fn ip_address(addr: &[u8]) -> Option<IpAddr> {
    match u32::from(u16_at(addr, 0)?) {
        bindings::AF_INET | bindings::AF_UNSPEC => {
            let bytes: [u8; 4] = addr
                .get(IN_ADDR_OFFSET..IN_ADDR_OFFSET + 4)?
                .try_into()
                .ok()?;
            Some(IpAddr::V4(Ipv4Addr::from(bytes)))
        }
        bindings::AF_INET6 => {
            let bytes: [u8; 16] = addr
                .get(IN6_ADDR_OFFSET..IN6_ADDR_OFFSET + 16)?
                .try_into()
                .ok()?;
            Some(IpAddr::V6(Ipv6Addr::from(bytes)))
        }
        bindings::AF_RXRPC => ip_address(addr.get(RXRPC_TRANSPORT_OFFSET..)?),
        _ => None,
    }
}

/// Offset of the transport address in a `sockaddr_rxrpc`.
const RXRPC_TRANSPORT_OFFSET: usize = core::mem::offset_of!(bindings::sockaddr_rxrpc, transport);

/// Returns the UDP port an AF_RXRPC address asks for: RxRPC binds a UDP socket of its own
/// (`rxrpc_open_socket()`) to the transport address.
pub(crate) fn rxrpc_port(addr: &[u8]) -> Option<u16> {
    // rxrpc_validate_address() requires a whole `sockaddr_rxrpc` of family AF_RXRPC.
    if addr.len() < core::mem::size_of::<bindings::sockaddr_rxrpc>()
        || u32::from(u16_at(addr, 0)?) != bindings::AF_RXRPC
    {
        return None;
    }
    let transport = addr.get(RXRPC_TRANSPORT_OFFSET..)?;
    match u32::from(u16_at(transport, 0)?) {
        bindings::AF_INET | bindings::AF_INET6 => port_at(transport, INET_PORT_OFFSET),
        _ => None,
    }
}

/// The ports of a packed `sctp_bindx()` address list, in order, port 0 left out.
///
/// The list is a run of whole `sockaddr_in` and `sockaddr_in6`, each as long as its family
/// says, as `sctp_setsockopt_bindx()` walks it.
pub(crate) struct BindxPorts<'a> {
    rest: &'a [u8],
}

impl<'a> BindxPorts<'a> {
    /// Walks the address list `addrs`.
    pub(crate) fn new(addrs: &'a [u8]) -> Self {
        Self { rest: addrs }
    }
}

impl<'a> Iterator for BindxPorts<'a> {
    /// A port and the address that holds it, or `EINVAL` for a malformed list (as the stack
    /// answers), after which the walk ends.
    type Item = Result<(u16, &'a [u8])>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if self.rest.is_empty() {
                return None;
            }
            let len = match u16_at(self.rest, 0).map(u32::from) {
                Some(bindings::AF_INET) => SOCKADDR_IN_LEN,
                Some(bindings::AF_INET6) => SOCKADDR_IN6_LEN,
                _ => 0,
            };
            let (addr, rest) = match (len, self.rest.get(..len), self.rest.get(len..)) {
                (1.., Some(addr), Some(rest)) => (addr, rest),
                _ => {
                    self.rest = &[];
                    return Some(Err(EINVAL));
                }
            };
            self.rest = rest;
            if let Some(port) = port_at(addr, INET_PORT_OFFSET) {
                return Some(Ok((port, addr)));
            }
        }
    }
}

#[cfg(CONFIG_SECURITY_KPORTRESERVE_KUNIT_TEST)]
#[kunit_tests(kportreserve_sockaddr)]
mod tests {
    use super::*;
    use core::fmt;

    /// A `sockaddr_in` of `family` and `port`, as bytes.
    fn in4(family: u32, port: u16) -> [u8; SOCKADDR_IN_LEN] {
        let mut addr = [0u8; SOCKADDR_IN_LEN];
        addr[..2].copy_from_slice(&(family as u16).to_ne_bytes());
        addr[2..4].copy_from_slice(&port.to_be_bytes());
        addr
    }

    /// A `sockaddr_in6` of `port`, as bytes.
    fn in6(port: u16) -> [u8; SOCKADDR_IN6_LEN] {
        let mut addr = [0u8; SOCKADDR_IN6_LEN];
        addr[..2].copy_from_slice(&(bindings::AF_INET6 as u16).to_ne_bytes());
        addr[2..4].copy_from_slice(&port.to_be_bytes());
        addr
    }

    #[test]
    fn inet_ports_and_lengths() {
        let v4 = InetFamilies::V4;
        assert_eq!(inet_port(&in4(bindings::AF_INET, 10000), v4), Some(10000));
        assert_eq!(inet_port(&in4(bindings::AF_UNSPEC, 10000), v4), Some(10000));
        assert_eq!(inet_port(&in4(bindings::AF_INET, 65535), v4), Some(65535));
        // Port 0 is an automatic choice, decided where the port is chosen.
        assert_eq!(inet_port(&in4(bindings::AF_INET, 0), v4), None);
        // Too short for the family: the stack refuses it with EINVAL.
        assert_eq!(inet_port(&in4(bindings::AF_INET, 10000)[..15], v4), None);
        assert_eq!(inet_port(&in4(bindings::AF_INET, 10000)[..1], v4), None);
        assert_eq!(inet_port(&[], v4), None);
        // Families without a port: the stack refuses them with EAFNOSUPPORT.
        assert_eq!(inet_port(&in4(bindings::AF_UNIX, 10000), v4), None);
        assert_eq!(
            inet_port(&in4(bindings::AF_RXRPC, 10000), InetFamilies::Any),
            None
        );
    }

    #[test]
    fn families_each_socket_takes() {
        let unspec = in4(bindings::AF_UNSPEC, 10002);
        let inet = in4(bindings::AF_INET, 10002);
        let inet6 = in6(10002);
        // IPv6 sockets refuse AF_UNSPEC and, but for SCTP, AF_INET: EAFNOSUPPORT.
        assert_eq!(inet_port(&unspec, InetFamilies::V6), None);
        assert_eq!(inet_port(&unspec, InetFamilies::V6AndV4), None);
        assert_eq!(inet_port(&inet, InetFamilies::V6), None);
        assert_eq!(inet_port(&inet, InetFamilies::V6AndV4), Some(10002));
        assert_eq!(inet_port(&inet6, InetFamilies::V6), Some(10002));
        // IPv4 sockets refuse AF_INET6.
        assert_eq!(inet_port(&inet6, InetFamilies::V4), None);
        // AF_SMC passes all three on.
        for addr in [&unspec[..], &inet[..], &inet6[..]] {
            assert_eq!(inet_port(addr, InetFamilies::Any), Some(10002));
        }
    }

    #[test]
    fn inet6_takes_rfc2133_length() {
        let addr = in6(10001);
        let v6 = InetFamilies::V6;
        assert_eq!(inet_port(&addr, v6), Some(10001));
        assert_eq!(inet_port(&addr[..SOCKADDR_IN6_MIN_LEN], v6), Some(10001));
        assert_eq!(inet_port(&addr[..SOCKADDR_IN6_MIN_LEN - 1], v6), None);
        // An IPv6 family with an IPv4 length is not an address any socket takes.
        assert_eq!(inet_port(&addr[..SOCKADDR_IN_LEN], InetFamilies::Any), None);
    }

    /// A `sockaddr_rxrpc` whose transport is `transport`.
    fn rxrpc(transport: &[u8]) -> [u8; core::mem::size_of::<bindings::sockaddr_rxrpc>()] {
        let mut addr = [0u8; core::mem::size_of::<bindings::sockaddr_rxrpc>()];
        addr[..2].copy_from_slice(&(bindings::AF_RXRPC as u16).to_ne_bytes());
        let end = RXRPC_TRANSPORT_OFFSET + transport.len();
        addr[RXRPC_TRANSPORT_OFFSET..end].copy_from_slice(transport);
        addr
    }

    #[test]
    fn rxrpc_reads_the_transport_port() {
        assert_eq!(
            rxrpc_port(&rxrpc(&in4(bindings::AF_INET, 7001))),
            Some(7001)
        );
        assert_eq!(rxrpc_port(&rxrpc(&in6(7002))), Some(7002));
        assert_eq!(rxrpc_port(&rxrpc(&in4(bindings::AF_INET, 0))), None);
        assert_eq!(rxrpc_port(&rxrpc(&in4(bindings::AF_UNIX, 7001))), None);
        // The stack requires a whole sockaddr_rxrpc of family AF_RXRPC.
        let whole = rxrpc(&in4(bindings::AF_INET, 7001));
        assert_eq!(rxrpc_port(&whole[..whole.len() - 1]), None);
        assert_eq!(rxrpc_port(&in4(bindings::AF_INET, 7001)), None);
    }

    /// Collects the ports of a bindx list, or its error.
    fn bindx(addrs: &[u8]) -> Result<KVec<u16>> {
        let mut ports = KVec::new();
        for port in BindxPorts::new(addrs) {
            ports.push(port?.0, GFP_KERNEL)?;
        }
        Ok(ports)
    }

    #[test]
    fn bindx_walks_mixed_lists() -> Result {
        let mut list = KVec::new();
        list.extend_from_slice(&in4(bindings::AF_INET, 9000), GFP_KERNEL)?;
        list.extend_from_slice(&in6(9001), GFP_KERNEL)?;
        list.extend_from_slice(&in4(bindings::AF_INET, 0), GFP_KERNEL)?;
        list.extend_from_slice(&in4(bindings::AF_INET, 9002), GFP_KERNEL)?;
        assert_eq!(&bindx(&list)?[..], &[9000, 9001, 9002]);
        assert_eq!(bindx(&[])?.len(), 0);
        Ok(())
    }

    #[test]
    fn bindx_refuses_malformed_lists() -> Result {
        let mut list = KVec::new();
        list.extend_from_slice(&in4(bindings::AF_INET, 9000), GFP_KERNEL)?;
        list.extend_from_slice(&in6(9001), GFP_KERNEL)?;
        // The last address is cut short, then a lone byte, then an unknown family.
        assert_eq!(bindx(&list[..list.len() - 1]).err(), Some(EINVAL));
        assert_eq!(bindx(&list[..SOCKADDR_IN_LEN + 1]).err(), Some(EINVAL));
        assert_eq!(bindx(&in4(bindings::AF_UNSPEC, 9000)).err(), Some(EINVAL));
        // The walk stops at the first error.
        let mut walk = BindxPorts::new(&list[..SOCKADDR_IN_LEN + 1]);
        assert_eq!(walk.next().map(|r| r.ok().map(|p| p.0)), Some(Some(9000)));
        assert_eq!(walk.next().map(|r| r.err()), Some(Some(EINVAL)));
        assert!(walk.next().is_none());
        Ok(())
    }

    /// The text of `addr` as the record of a denial has it.
    struct Shown {
        bytes: [u8; 64],
        len: usize,
    }

    impl fmt::Write for Shown {
        fn write_str(&mut self, s: &str) -> fmt::Result {
            let end = self.len + s.len();
            let to = self.bytes.get_mut(self.len..end).ok_or(fmt::Error)?;
            to.copy_from_slice(s.as_bytes());
            self.len = end;
            Ok(())
        }
    }

    fn shown(addr: IpAddr) -> Shown {
        let mut shown = Shown {
            bytes: [0; 64],
            len: 0,
        };
        let _ = fmt::Write::write_fmt(&mut shown, format_args!("{addr}"));
        shown
    }

    /// An IPv6 address from its eight groups.
    fn v6(groups: [u16; 8]) -> IpAddr {
        let [a, b, c, d, e, f, g, h] = groups;
        IpAddr::V6(Ipv6Addr::new(a, b, c, d, e, f, g, h))
    }

    #[test]
    fn addresses_are_written_as_the_kernel_writes_them() {
        let cases: [(IpAddr, &str); 9] = [
            (IpAddr::V4(Ipv4Addr::new(127, 0, 0, 1)), "127.0.0.1"),
            (v6([0; 8]), "::"),
            (v6([0, 0, 0, 0, 0, 0, 0, 1]), "::1"),
            (v6([0x2001, 0xdb8, 0, 0, 0, 0, 0, 1]), "2001:db8::1"),
            (v6([1, 0, 0, 2, 0, 0, 0, 3]), "1:0:0:2::3"),
            (v6([1, 0, 0, 2, 0, 0, 3, 4]), "1::2:0:0:3:4"),
            (v6([1, 2, 3, 4, 5, 6, 7, 0]), "1:2:3:4:5:6:7:0"),
            (v6([1, 0, 0, 0, 0, 0, 0, 0]), "1::"),
            (v6([0, 0, 0, 0, 0, 0xffff, 0x7f00, 1]), "::ffff:127.0.0.1"),
        ];
        for (addr, expected) in cases {
            let shown = shown(addr);
            assert_eq!(&shown.bytes[..shown.len], expected.as_bytes());
        }
    }

    #[test]
    fn addresses_are_read_by_family() {
        let mut v4 = in4(bindings::AF_INET, 80);
        v4[IN_ADDR_OFFSET..IN_ADDR_OFFSET + 4].copy_from_slice(&[10, 0, 0, 1]);
        assert_eq!(
            ip_address(&v4),
            Some(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)))
        );
        assert_eq!(ip_address(&v4[..IN_ADDR_OFFSET + 3]), None);
        let mut six = in6(80);
        six[IN6_ADDR_OFFSET + 15] = 1;
        assert_eq!(ip_address(&six), Some(v6([0, 0, 0, 0, 0, 0, 0, 1])));
        assert_eq!(
            ip_address(&rxrpc(&v4)),
            Some(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)))
        );
        assert_eq!(ip_address(&in4(bindings::AF_UNIX, 80)), None);
    }
}
