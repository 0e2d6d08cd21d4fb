// SPDX-License-Identifier: GPL-2.0
/*
 * KPortReserve selftests - automatic port choice
 *
 * The local port range is narrowed to ten ports: seven reserved for this very
 * program, one for <kernel>, one listed in ip_local_reserved_ports, and one
 * free.  Every automatic choice of a port (bind() to port 0, listen() and
 * connect() on an unbound socket, MSG_FASTOPEN, IP_BIND_ADDRESS_NO_PORT then
 * connect(), MPTCP connect(), UDP bind() to port 0, connect() and sendto(),
 * SCTP autobind), on IPv4 and IPv6, lands on the free port: a reserved port
 * is never chosen automatically, not even for its owner.  Once the free port
 * is held, each fails with the error the stack gives when
 * ip_local_reserved_ports covers the range.  Ports reserved for the other
 * protocols only (443/udp for a TCP choice) are chosen.  A deleted rule returns its port
 * to the pool, a child network namespace still gets every port, and
 * ip_local_reserved_ports stays as the administrator wrote it.
 *
 * The tests narrow the initial namespace's ip_local_port_range: run them on a
 * test machine (the QEMU guest of dev/test), where nothing else picks ports.
 */

#include "common.h"

#include <netinet/tcp.h>

#include "../kselftest_harness.h"

#define RANGE "30000 30009"
#define OWNER_PORTS "30000-30006"	/* reserved for this program */
#define KERNEL_PORT 30007		/* reserved for <kernel> */
#define SYSCTL_PORT 30008		/* in ip_local_reserved_ports */
#define FREE_PORT 30009
#define RANGE_LOW 30000
#define PEER_PORT 31000			/* the peer of connect(), outside the range */
#define ROUNDS 40

#define PORT_RANGE_SYSCTL "/proc/sys/net/ipv4/ip_local_port_range"
#define RESERVED_PORTS_SYSCTL "/proc/sys/net/ipv4/ip_local_reserved_ports"

#ifndef IP_BIND_ADDRESS_NO_PORT
#define IP_BIND_ADDRESS_NO_PORT 24
#endif
#ifndef MSG_FASTOPEN
#define MSG_FASTOPEN 0x20000000
#endif

enum autobind_op {
	OP_TCP_BIND0,
	OP_TCP_LISTEN,
	OP_TCP_CONNECT,
	OP_TCP_FASTOPEN,
	OP_TCP_NO_PORT_CONNECT,
	OP_MPTCP_CONNECT,
	OP_UDP_BIND0,
	OP_UDP_CONNECT,
	OP_UDP_SENDTO,
	OP_SCTP_BIND0,
};

/* Returns the socket type and protocol of @op. */
static void op_socket(enum autobind_op op, int *type, int *protocol)
{
	switch (op) {
	case OP_MPTCP_CONNECT:
		*type = SOCK_STREAM;
		*protocol = IPPROTO_MPTCP;
		break;
	case OP_UDP_BIND0:
	case OP_UDP_CONNECT:
	case OP_UDP_SENDTO:
		*type = SOCK_DGRAM;
		*protocol = IPPROTO_UDP;
		break;
	case OP_SCTP_BIND0:
		*type = SOCK_STREAM;
		*protocol = IPPROTO_SCTP;
		break;
	default:
		*type = SOCK_STREAM;
		*protocol = IPPROTO_TCP;
		break;
	}
}

/* Whether @op connects to a TCP listener, which must accept. */
static bool op_needs_listener(enum autobind_op op)
{
	return op == OP_TCP_CONNECT || op == OP_TCP_FASTOPEN || op == OP_TCP_NO_PORT_CONNECT ||
	       op == OP_MPTCP_CONNECT;
}

/* Fills @addr with the loopback address of @family and @port; returns its length. */
static socklen_t loopback(int family, unsigned short port, struct sockaddr_storage *addr)
{
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)addr;
	struct sockaddr_in *in4 = (struct sockaddr_in *)addr;

	memset(addr, 0, sizeof(*addr));
	if (family == AF_INET) {
		in4->sin_family = AF_INET;
		in4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		in4->sin_port = htons(port);
		return sizeof(*in4);
	}
	in6->sin6_family = AF_INET6;
	in6->sin6_addr = in6addr_loopback;
	in6->sin6_port = htons(port);
	return sizeof(*in6);
}

/*
 * Lets the kernel choose a local port for a new socket by @op, then closes
 * the socket.  Returns the port chosen, or -errno if the operation failed.
 */
static int autobind(enum autobind_op op, int family, int listener)
{
	struct sockaddr_storage addr;
	int type, protocol, fd, ret = 0, one = 1;
	socklen_t len;

	op_socket(op, &type, &protocol);
	fd = socket(family, type | SOCK_CLOEXEC, protocol);
	if (fd < 0)
		return -errno;

	switch (op) {
	case OP_TCP_BIND0:
	case OP_UDP_BIND0:
	case OP_SCTP_BIND0:
		len = loopback(family, 0, &addr);
		ret = bind(fd, (struct sockaddr *)&addr, len);
		break;
	case OP_TCP_LISTEN:
		ret = listen(fd, 1);
		break;
	case OP_TCP_NO_PORT_CONNECT:
		/* The address is bound now, the port only at connect(). */
		len = loopback(family, 0, &addr);
		ret = setsockopt(fd, SOL_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one)) ?:
		      bind(fd, (struct sockaddr *)&addr, len);
		if (!ret) {
			len = loopback(family, PEER_PORT, &addr);
			ret = connect(fd, (struct sockaddr *)&addr, len);
		}
		break;
	case OP_TCP_CONNECT:
	case OP_MPTCP_CONNECT:
	case OP_UDP_CONNECT:
		len = loopback(family, PEER_PORT, &addr);
		ret = connect(fd, (struct sockaddr *)&addr, len);
		break;
	case OP_TCP_FASTOPEN:
	case OP_UDP_SENDTO:
		len = loopback(family, PEER_PORT, &addr);
		ret = sendto(fd, "x", 1, op == OP_TCP_FASTOPEN ? MSG_FASTOPEN : 0,
			     (struct sockaddr *)&addr, len) == 1 ? 0 : -1;
		break;
	}
	ret = ret ? -errno : kpr_local_port(fd);
	if (ret > 0 && op_needs_listener(op)) {
		int peer = accept(listener, NULL, NULL);

		if (peer >= 0)
			kpr_close_now(peer);
	}
	if (type == SOCK_STREAM)
		kpr_close_now(fd);
	else
		close(fd);
	return ret;
}

/* Binds a socket of @op's protocol to the wildcard address of both families, port @port. */
static int hold_port(enum autobind_op op, unsigned short port)
{
	struct sockaddr_in6 any = {
		.sin6_family = AF_INET6,
		.sin6_addr = IN6ADDR_ANY_INIT,
		.sin6_port = htons(port),
	};
	int type, protocol, fd, v6only = 0;

	op_socket(op, &type, &protocol);
	/* MPTCP shares TCP's ports; hold them with TCP. */
	if (protocol == IPPROTO_MPTCP)
		protocol = IPPROTO_TCP;
	fd = socket(AF_INET6, type | SOCK_CLOEXEC, protocol);
	if (fd < 0)
		return -errno;
	if (setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof(v6only)) ||
	    bind(fd, (struct sockaddr *)&any, sizeof(any))) {
		close(fd);
		return -errno;
	}
	return fd;
}

/* The selector of @op's port space (MPTCP takes TCP ports). */
static const char *op_selector(enum autobind_op op)
{
	int type, protocol;

	op_socket(op, &type, &protocol);
	if (protocol == IPPROTO_UDP)
		return "udp";
	if (protocol == IPPROTO_SCTP)
		return "sctp";
	return "tcp";
}

/*
 * Writes the fixture's rules again, each for the protocols @mine selects: the
 * one of @op if @mine, else the two others.
 */
static int write_selected_policy(enum autobind_op op, bool mine)
{
	static const char *const selectors[] = { "tcp", "udp", "sctp" };
	const char *own = op_selector(op);
	char exe[PATH_MAX], policy[3 * PATH_MAX];
	size_t i, n;
	ssize_t len;

	len = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (len < 0)
		return -errno;
	exe[len] = '\0';
	n = snprintf(policy, sizeof(policy), "clear\n");
	for (i = 0; i < ARRAY_SIZE(selectors); i++)
		if (!strcmp(selectors[i], own) == mine)
			n += snprintf(policy + n, sizeof(policy) - n, "%s/%s %s\n%d/%s <kernel>\n",
				      OWNER_PORTS, selectors[i], exe, KERNEL_PORT, selectors[i]);
	return kpr_write(policy);
}

FIXTURE(autobind)
{
	char *saved_policy;
	char saved_range[64];
	char saved_reserved[4096];
	char policy[PATH_MAX + 128];
	int listener;
};

FIXTURE_VARIANT(autobind)
{
	int family;
	enum autobind_op op;
};

/* clang-format off */
FIXTURE_VARIANT_ADD(autobind, tcp4_bind0) {
	.family = AF_INET,
	.op = OP_TCP_BIND0,
};

FIXTURE_VARIANT_ADD(autobind, tcp6_bind0) {
	.family = AF_INET6,
	.op = OP_TCP_BIND0,
};

FIXTURE_VARIANT_ADD(autobind, tcp4_listen) {
	.family = AF_INET,
	.op = OP_TCP_LISTEN,
};

FIXTURE_VARIANT_ADD(autobind, tcp6_listen) {
	.family = AF_INET6,
	.op = OP_TCP_LISTEN,
};

FIXTURE_VARIANT_ADD(autobind, tcp4_connect) {
	.family = AF_INET,
	.op = OP_TCP_CONNECT,
};

FIXTURE_VARIANT_ADD(autobind, tcp6_connect) {
	.family = AF_INET6,
	.op = OP_TCP_CONNECT,
};

FIXTURE_VARIANT_ADD(autobind, tcp4_fastopen) {
	.family = AF_INET,
	.op = OP_TCP_FASTOPEN,
};

FIXTURE_VARIANT_ADD(autobind, tcp6_fastopen) {
	.family = AF_INET6,
	.op = OP_TCP_FASTOPEN,
};

FIXTURE_VARIANT_ADD(autobind, tcp4_no_port_connect) {
	.family = AF_INET,
	.op = OP_TCP_NO_PORT_CONNECT,
};

FIXTURE_VARIANT_ADD(autobind, tcp6_no_port_connect) {
	.family = AF_INET6,
	.op = OP_TCP_NO_PORT_CONNECT,
};

FIXTURE_VARIANT_ADD(autobind, mptcp4_connect) {
	.family = AF_INET,
	.op = OP_MPTCP_CONNECT,
};

FIXTURE_VARIANT_ADD(autobind, mptcp6_connect) {
	.family = AF_INET6,
	.op = OP_MPTCP_CONNECT,
};

FIXTURE_VARIANT_ADD(autobind, udp4_bind0) {
	.family = AF_INET,
	.op = OP_UDP_BIND0,
};

FIXTURE_VARIANT_ADD(autobind, udp6_bind0) {
	.family = AF_INET6,
	.op = OP_UDP_BIND0,
};

FIXTURE_VARIANT_ADD(autobind, udp4_connect) {
	.family = AF_INET,
	.op = OP_UDP_CONNECT,
};

FIXTURE_VARIANT_ADD(autobind, udp6_connect) {
	.family = AF_INET6,
	.op = OP_UDP_CONNECT,
};

FIXTURE_VARIANT_ADD(autobind, udp4_sendto) {
	.family = AF_INET,
	.op = OP_UDP_SENDTO,
};

FIXTURE_VARIANT_ADD(autobind, udp6_sendto) {
	.family = AF_INET6,
	.op = OP_UDP_SENDTO,
};

FIXTURE_VARIANT_ADD(autobind, sctp4_bind0) {
	.family = AF_INET,
	.op = OP_SCTP_BIND0,
};

FIXTURE_VARIANT_ADD(autobind, sctp6_bind0) {
	.family = AF_INET6,
	.op = OP_SCTP_BIND0,
};

/* clang-format on */

FIXTURE_SETUP(autobind)
{
	struct sockaddr_storage addr;
	char exe[PATH_MAX];
	socklen_t len;
	ssize_t n;

	self->listener = -1;
	if (!kpr_enabled())
		SKIP(return, "KPortReserve is not enabled");
	self->saved_policy = kpr_save_policy();
	ASSERT_NE(NULL, self->saved_policy);
	ASSERT_EQ(0, kpr_read_file(PORT_RANGE_SYSCTL, self->saved_range,
				   sizeof(self->saved_range)));
	ASSERT_EQ(0, kpr_read_file(RESERVED_PORTS_SYSCTL, self->saved_reserved,
				   sizeof(self->saved_reserved)));
	ASSERT_EQ(0, kpr_write_file(PORT_RANGE_SYSCTL, RANGE));
	ASSERT_EQ(0, kpr_write_file(RESERVED_PORTS_SYSCTL, "30008"));

	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	ASSERT_LT(0, n);
	exe[n] = '\0';
	snprintf(self->policy, sizeof(self->policy), "clear\n%s %s\n%d <kernel>\n",
		 OWNER_PORTS, exe, KERNEL_PORT);
	ASSERT_EQ(0, kpr_write(self->policy));

	if (op_needs_listener(variant->op)) {
		int one = 1;

		self->listener = socket(variant->family, SOCK_STREAM | SOCK_CLOEXEC, 0);
		ASSERT_LE(0, self->listener);
		len = loopback(variant->family, PEER_PORT, &addr);
		setsockopt(self->listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		setsockopt(self->listener, SOL_TCP, TCP_FASTOPEN, &one, sizeof(one));
		ASSERT_EQ(0, bind(self->listener, (struct sockaddr *)&addr, len));
		ASSERT_EQ(0, listen(self->listener, 64));
	}
}

FIXTURE_TEARDOWN(autobind)
{
	if (self->listener >= 0)
		close(self->listener);
	kpr_restore_policy(self->saved_policy);
	if (self->saved_range[0])
		kpr_write_file(PORT_RANGE_SYSCTL, self->saved_range);
	kpr_write_file(RESERVED_PORTS_SYSCTL, self->saved_reserved);
}

TEST_F(autobind, lands_on_the_only_free_port)
{
	int i, port;

	for (i = 0; i < ROUNDS; i++) {
		port = autobind(variant->op, variant->family, self->listener);
		ASSERT_EQ(FREE_PORT, port)
			TH_LOG("round %d chose %d", i, port);
	}
}

TEST_F(autobind, exhausted_range_fails_as_the_stack_does)
{
	int held, i, stack_error, port;

	held = hold_port(variant->op, FREE_PORT);
	ASSERT_LE(0, held);

	/* The stack's own answer: ip_local_reserved_ports covering the rest. */
	ASSERT_EQ(0, kpr_write("clear\n"));
	ASSERT_EQ(0, kpr_write_file(RESERVED_PORTS_SYSCTL, "30000-30008"));
	stack_error = autobind(variant->op, variant->family, self->listener);
	ASSERT_GT(0, stack_error);

	/* The same answer when KPortReserve reserves them. */
	ASSERT_EQ(0, kpr_write_file(RESERVED_PORTS_SYSCTL, "30008"));
	ASSERT_EQ(0, kpr_write(self->policy));
	for (i = 0; i < ROUNDS / 4; i++) {
		port = autobind(variant->op, variant->family, self->listener);
		ASSERT_EQ(stack_error, port)
			TH_LOG("round %d: %d where the stack gives %d", i, port, stack_error);
	}
	close(held);
}

TEST_F(autobind, ports_reserved_for_other_protocols_are_chosen)
{
	int held, i, port;

	/* Only reservations for this protocol are skipped. */
	ASSERT_EQ(0, write_selected_policy(variant->op, true));
	for (i = 0; i < ROUNDS / 4; i++)
		ASSERT_EQ(FREE_PORT, autobind(variant->op, variant->family, self->listener));

	/* Every rule selects the two other protocols: their ports are this one's to choose. */
	held = hold_port(variant->op, FREE_PORT);
	ASSERT_LE(0, held);
	ASSERT_EQ(0, write_selected_policy(variant->op, false));
	for (i = 0; i < ROUNDS; i++) {
		port = autobind(variant->op, variant->family, self->listener);
		ASSERT_LE(RANGE_LOW, port)
			TH_LOG("round %d: %d", i, port);
		ASSERT_GE(KERNEL_PORT, port)
			TH_LOG("round %d chose %d", i, port);
	}
	close(held);
}

TEST_F(autobind, deleted_rule_returns_its_port)
{
	char line[64];
	int held;

	held = hold_port(variant->op, FREE_PORT);
	ASSERT_LE(0, held);
	snprintf(line, sizeof(line), "delete %d <kernel>\n", KERNEL_PORT);
	ASSERT_EQ(0, kpr_write(line));
	EXPECT_EQ(KERNEL_PORT, autobind(variant->op, variant->family, self->listener));
	close(held);
}

TEST_F(autobind, child_network_namespace_gets_every_port)
{
	int status, held, port;
	pid_t pid;

	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct sockaddr_storage addr;
		int listener = -1, one = 1;
		socklen_t len;

		/*
		 * The same range, and the same sysctl reservation, in a new
		 * namespace: only KPortReserve's rules are missing there.
		 */
		if (unshare(CLONE_NEWNET) || kpr_loopback_up() ||
		    kpr_write_file(PORT_RANGE_SYSCTL, RANGE) ||
		    kpr_write_file(RESERVED_PORTS_SYSCTL, "30008"))
			_exit(100);
		if (op_needs_listener(variant->op)) {
			listener = socket(variant->family, SOCK_STREAM | SOCK_CLOEXEC, 0);
			len = loopback(variant->family, PEER_PORT, &addr);
			setsockopt(listener, SOL_TCP, TCP_FASTOPEN, &one, sizeof(one));
			if (listener < 0 || bind(listener, (struct sockaddr *)&addr, len) ||
			    listen(listener, 64))
				_exit(101);
		}
		/* The reservations hold in the initial namespace only. */
		held = hold_port(variant->op, FREE_PORT);
		if (held < 0)
			_exit(102);
		port = autobind(variant->op, variant->family, listener);
		_exit(port >= RANGE_LOW && port <= KERNEL_PORT ? 0 : 103);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
}

TEST_F(autobind, policy_rewrites_during_automatic_choices)
{
	int i, status;
	pid_t pid;

	/* Every policy written holds the same rules: no choice may ever see another. */
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		int bad = 0;

		for (i = 0; i < ROUNDS; i++)
			bad += autobind(variant->op, variant->family, self->listener) != FREE_PORT;
		_exit(bad ? 1 : 0);
	}
	for (i = 0; i < ROUNDS / 2; i++)
		EXPECT_EQ(0, kpr_write(self->policy));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
}

TEST(administrators_reserved_ports_are_left_as_written)
{
	char saved[4096], written[4096], seen[4096];

	if (!kpr_enabled())
		SKIP(return, "KPortReserve is not enabled");
	ASSERT_EQ(0, kpr_read_file(RESERVED_PORTS_SYSCTL, saved, sizeof(saved)));
	ASSERT_EQ(0, kpr_write_file(RESERVED_PORTS_SYSCTL, "30008,40000-40010,50123"));
	ASSERT_EQ(0, kpr_read_file(RESERVED_PORTS_SYSCTL, written, sizeof(written)));
	EXPECT_STREQ("30008,40000-40010,50123\n", written);

	ASSERT_EQ(0, kpr_write("clear\n30000-30007 <kernel>\n40005 <kernel>\n"));
	ASSERT_EQ(0, kpr_read_file(RESERVED_PORTS_SYSCTL, seen, sizeof(seen)));
	EXPECT_STREQ(written, seen);
	ASSERT_EQ(0, kpr_write("delete 40005 <kernel>\n"));
	ASSERT_EQ(0, kpr_write("clear\n"));
	ASSERT_EQ(0, kpr_read_file(RESERVED_PORTS_SYSCTL, seen, sizeof(seen)));
	EXPECT_STREQ(written, seen);
	kpr_write_file(RESERVED_PORTS_SYSCTL, saved);
}

TEST_HARNESS_MAIN
