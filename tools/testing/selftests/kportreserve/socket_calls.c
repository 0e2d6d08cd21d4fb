// SPDX-License-Identifier: GPL-2.0
/*
 * KPortReserve differential test - the calls
 *
 * Usage: socket_calls SEED COUNT
 *
 * Makes COUNT socket calls that take or choose a local port: bind(),
 * connect(), sendto() and io_uring's IORING_OP_BIND, each on a new
 * non-blocking socket of a family, type and protocol drawn from SEED (mostly
 * as programs create them, sometimes at random), with an address whose
 * family, length, port and IP address are drawn too, lengths half the time
 * among edge cases.  Prints one line per call: what it did and what it got
 * (0 or -errno).
 *
 * It checks nothing itself.  dev/test runs it with the same SEED in a boot
 * without KPortReserve and, with KPortReserve, under an empty policy and under
 * a policy that reserves none of the ports it uses (CALL_PORT_FIRST on);
 * dev/results.py then requires the lines to be identical: outside its policy,
 * KPortReserve changes nothing, call for call.
 *
 * Call i asks for port CALL_PORT_FIRST + i, or for port 0, so that no call
 * depends on how soon the kernel released the port of an earlier one (SCTP
 * and RxRPC release theirs after close() returns).
 */

#include "common.h"

#include <linux/io_uring.h>
#include <sys/mman.h>

/*
 * Below the local port range, where no automatic choice of another socket
 * takes a port before the call that asks for it, and clear of the ports the
 * other suites of the test boot use.
 */
#define CALL_PORT_FIRST 24100
#define MAX_CALLS 1000		/* ports CALL_PORT_FIRST to CALL_PORT_FIRST + 999 */

#ifndef IORING_OP_BIND
#define IORING_OP_BIND 56
#endif

enum op { OP_BIND, OP_CONNECT, OP_SENDTO, OP_URING_BIND, OP_COUNT };

static const char *const op_names[OP_COUNT] = { "bind", "connect", "sendto", "uring-bind" };

/* The sockets that take ports, as programs create them. */
static const struct kind {
	int family, type, protocol;
} kinds[] = {
	{ AF_INET, SOCK_STREAM, 0 },		{ AF_INET6, SOCK_STREAM, 0 },
	{ AF_INET, SOCK_DGRAM, 0 },		{ AF_INET6, SOCK_DGRAM, 0 },
	{ AF_INET, SOCK_STREAM, IPPROTO_MPTCP }, { AF_INET6, SOCK_STREAM, IPPROTO_MPTCP },
	{ AF_INET, SOCK_STREAM, IPPROTO_SMC },	{ AF_INET6, SOCK_STREAM, IPPROTO_SMC },
	{ AF_INET, SOCK_STREAM, IPPROTO_SCTP },	{ AF_INET6, SOCK_SEQPACKET, IPPROTO_SCTP },
	{ AF_INET, SOCK_RAW, IPPROTO_TCP },	{ AF_INET6, SOCK_RAW, IPPROTO_UDP },
	{ AF_INET, SOCK_DGRAM, IPPROTO_ICMP },	{ AF_INET6, SOCK_DGRAM, IPPROTO_ICMPV6 },
	{ AF_SMC, SOCK_STREAM, 0 },		{ AF_SMC, SOCK_STREAM, 1 },
	{ AF_RXRPC, SOCK_DGRAM, AF_INET },	{ AF_RXRPC, SOCK_DGRAM, AF_INET6 },
};

/*
 * And the parts of any socket(), combined at random.  Not AF_UNIX: its bind()
 * would create files named by the address bytes.
 */
static const int families[] = { AF_INET, AF_INET6, AF_SMC, AF_RXRPC };
static const int types[] = { SOCK_STREAM, SOCK_DGRAM, SOCK_SEQPACKET, SOCK_RAW };

static const int protocols[] = {
	0, IPPROTO_TCP, IPPROTO_UDP, IPPROTO_UDPLITE, IPPROTO_SCTP, IPPROTO_MPTCP,
	IPPROTO_SMC, IPPROTO_ICMP, IPPROTO_ICMPV6,
};

static const int addr_families[] = { AF_INET, AF_INET6, AF_UNSPEC, AF_SMC, AF_RXRPC, 0xffff };

static const int lengths[] = {
	0, 1, 2, 4, 8, 15, 16, 17, 23, 24, 27, 28, 32, 36, 40,
	(int)sizeof(struct sockaddr_storage),
};

/* The IP addresses: any, loopback, IPv4-mapped loopback, and one no host has. */
enum ip { IP_ANY, IP_LOOPBACK, IP_MAPPED, IP_FOREIGN, IP_COUNT };

static unsigned long long rng_state;

static unsigned int draw(unsigned int bound)
{
	return kpr_draw(&rng_state, bound);
}

#define PICK(array) ((array)[draw(sizeof(array) / sizeof((array)[0]))])

/*
 * Fills @ss with an address of family @family to @port at @ip, laid out as
 * sockaddr_in or sockaddr_in6, or as a sockaddr_rxrpc with either inside.
 */
static void fill_address(struct sockaddr_storage *ss, int family, unsigned short port,
			 enum ip ip)
{
	struct sockaddr_in6 *in6;
	struct sockaddr_in *in;
	int inner = draw(2) ? AF_INET : AF_INET6;
	char *base = (char *)ss;

	unsigned short *rxrpc = (unsigned short *)ss;
	unsigned short service = draw(2);

	memset(ss, 0, sizeof(*ss));
	ss->ss_family = family;
	if (family == AF_RXRPC) {
		/* srx_service, transport_type, transport_len, then the transport. */
		rxrpc[1] = service;
		rxrpc[2] = SOCK_DGRAM;
		rxrpc[3] = inner == AF_INET ? sizeof(*in) : sizeof(*in6);
		base += 4 * sizeof(*rxrpc);
		((struct sockaddr *)base)->sa_family = inner;
		family = inner;
	}
	if (family == AF_INET6) {
		in6 = (struct sockaddr_in6 *)base;
		in6->sin6_port = htons(port);
		if (ip == IP_LOOPBACK)
			in6->sin6_addr = in6addr_loopback;
		else if (ip == IP_MAPPED)
			inet_pton(AF_INET6, "::ffff:127.0.0.1", &in6->sin6_addr);
		else if (ip == IP_FOREIGN)
			inet_pton(AF_INET6, "2001:db8::1", &in6->sin6_addr);
	} else {
		in = (struct sockaddr_in *)base;
		in->sin_port = htons(port);
		if (ip == IP_LOOPBACK || ip == IP_MAPPED)
			in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		else if (ip == IP_FOREIGN)
			inet_pton(AF_INET, "192.0.2.1", &in->sin_addr);
	}
}

/* One io_uring of one entry, set up once. */
static struct {
	int fd;
	unsigned int *sq_tail, *sq_mask, *sq_array, *cq_head, *cq_tail, *cq_mask;
	struct io_uring_sqe *sqes;
	struct io_uring_cqe *cqes;
} ring = { .fd = -1 };

static int ring_setup(void)
{
	struct io_uring_params p = {};
	void *sq, *cq;

	ring.fd = syscall(__NR_io_uring_setup, 1, &p);
	if (ring.fd < 0)
		return -errno;
	sq = mmap(NULL, p.sq_off.array + p.sq_entries * sizeof(unsigned int),
		  PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, ring.fd, IORING_OFF_SQ_RING);
	cq = mmap(NULL, p.cq_off.cqes + p.cq_entries * sizeof(struct io_uring_cqe),
		  PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, ring.fd, IORING_OFF_CQ_RING);
	ring.sqes = mmap(NULL, p.sq_entries * sizeof(struct io_uring_sqe),
			 PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, ring.fd,
			 IORING_OFF_SQES);
	if (sq == MAP_FAILED || cq == MAP_FAILED || ring.sqes == MAP_FAILED) {
		close(ring.fd);
		ring.fd = -1;
		return -ENOMEM;
	}
	ring.sq_tail = sq + p.sq_off.tail;
	ring.sq_mask = sq + p.sq_off.ring_mask;
	ring.sq_array = sq + p.sq_off.array;
	ring.cq_head = cq + p.cq_off.head;
	ring.cq_tail = cq + p.cq_off.tail;
	ring.cq_mask = cq + p.cq_off.ring_mask;
	ring.cqes = cq + p.cq_off.cqes;
	return 0;
}

/* Binds @fd to @len bytes of @addr through io_uring; returns 0 or -errno. */
static int uring_bind(int fd, const void *addr, int len)
{
	unsigned int tail = *ring.sq_tail, head;
	struct io_uring_sqe *sqe;
	int res;

	if (ring.fd < 0)
		return -EOPNOTSUPP;
	sqe = &ring.sqes[tail & *ring.sq_mask];
	memset(sqe, 0, sizeof(*sqe));
	sqe->opcode = IORING_OP_BIND;
	sqe->fd = fd;
	sqe->addr = (unsigned long)addr;
	sqe->addr2 = len;
	ring.sq_array[tail & *ring.sq_mask] = tail & *ring.sq_mask;
	__atomic_store_n(ring.sq_tail, tail + 1, __ATOMIC_RELEASE);
	if (syscall(__NR_io_uring_enter, ring.fd, 1, 1, IORING_ENTER_GETEVENTS, NULL, 0) < 0)
		return -errno;
	head = *ring.cq_head;
	if (head == __atomic_load_n(ring.cq_tail, __ATOMIC_ACQUIRE))
		return -EAGAIN;
	res = ring.cqes[head & *ring.cq_mask].res;
	__atomic_store_n(ring.cq_head, head + 1, __ATOMIC_RELEASE);
	return res;
}

/* Makes call number @i and prints it with its result. */
static void one_call(int i)
{
	static const char payload[] = "kportreserve";
	/* One draw per statement: the order of draws in an initializer is unspecified. */
	struct kind kind = PICK(kinds);
	int family = draw(8) ? kind.family : PICK(families);
	int type = draw(8) ? kind.type : PICK(types);
	int protocol = draw(8) ? kind.protocol : PICK(protocols);
	enum op op = draw(OP_COUNT);
	int addr_family = draw(3) ? family : PICK(addr_families);
	unsigned short port = draw(4) ? CALL_PORT_FIRST + i : 0;
	/* Edge cases first: the length is one of them half the time. */
	int len = draw(2) ? PICK(lengths) : (int)draw(sizeof(struct sockaddr_storage) + 1);
	enum ip ip = draw(IP_COUNT);
	struct sockaddr_storage ss;
	int fd, ret;

	fill_address(&ss, addr_family, port, ip);
	fd = socket(family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, protocol);
	if (fd < 0) {
		ret = -errno;
	} else {
		switch (op) {
		case OP_BIND:
			ret = bind(fd, (struct sockaddr *)&ss, len) ? -errno : 0;
			break;
		case OP_CONNECT:
			ret = connect(fd, (struct sockaddr *)&ss, len) ? -errno : 0;
			break;
		case OP_SENDTO:
			ret = sendto(fd, payload, sizeof(payload), MSG_NOSIGNAL | MSG_DONTWAIT,
				     (struct sockaddr *)&ss, len) < 0 ? -errno : 0;
			break;
		default:
			ret = uring_bind(fd, &ss, len);
			break;
		}
		close(fd);
	}
	printf("CALL %d %s socket(%d, %d, %d) af=%d len=%d port=%hu ip=%d: %d\n", i,
	       op_names[op], family, type, protocol, addr_family, len, port, ip, ret);
}

int main(int argc, char **argv)
{
	int i, count;

	if (argc != 3) {
		fprintf(stderr, "usage: %s SEED COUNT\n", argv[0]);
		return 2;
	}
	rng_state = strtoull(argv[1], NULL, 0) | 1;
	count = atoi(argv[2]);
	if (count < 0 || count > MAX_CALLS) {
		fprintf(stderr, "COUNT: at most %d\n", MAX_CALLS);
		return 2;
	}
	/* Without io_uring, every io_uring bind prints the same -EOPNOTSUPP. */
	ring_setup();
	for (i = 0; i < count; i++)
		one_call(i);
	printf("CALLS-DONE %d\n", count);
	return 0;
}
