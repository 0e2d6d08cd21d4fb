// SPDX-License-Identifier: GPL-2.0
/*
 * KPortReserve selftests - a failed bind keeps no port
 *
 * A bind that fails (the port is busy) must leave the socket as unbound as it
 * was: a family that kept the address and bound it later, through a path no
 * LSM hook sees, would hand a port reserved in between to whoever armed the
 * socket before the rule.  RxRPC did: rxrpc_bind() stored the address before
 * opening the UDP endpoint, and sendmsg() on the still unbound socket opened
 * it at that port with kernel_bind().
 */

#include "common.h"
#include <linux/rxrpc.h>
#include "../kselftest_harness.h"

#ifndef SOL_RXRPC
#define SOL_RXRPC 272
#endif

/* The tests reserve a free port of this range. */
#define PORT_FIRST 43000
#define PORT_LAST 43999

FIXTURE(failed_bind)
{
	char *saved_policy;
};

FIXTURE_SETUP(failed_bind)
{
	if (!kpr_enabled())
		SKIP(return, "KPortReserve is not enabled");
	self->saved_policy = kpr_save_policy();
	ASSERT_NE(NULL, self->saved_policy);
	ASSERT_EQ(0, kpr_loopback_up());
}

FIXTURE_TEARDOWN(failed_bind)
{
	EXPECT_EQ(0, kpr_restore_policy(self->saved_policy));
}

/* Returns a UDP socket bound to 127.0.0.1:@port, or -errno. */
static int udp_bound(unsigned short port)
{
	struct sockaddr_in addr = {
		.sin_family = AF_INET,
		.sin_port = htons(port),
		.sin_addr.s_addr = htonl(INADDR_LOOPBACK),
	};
	int fd, err;

	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&addr, sizeof(addr))) {
		err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

/* A sockaddr_rxrpc of service @service over UDP at 127.0.0.1:@port. */
static struct sockaddr_rxrpc rxrpc_addr(unsigned short service, unsigned short port)
{
	struct sockaddr_rxrpc srx = {
		.srx_family = AF_RXRPC,
		.srx_service = service,
		.transport_type = SOCK_DGRAM,
		.transport_len = sizeof(struct sockaddr_in),
	};

	srx.transport.sin.sin_family = AF_INET;
	srx.transport.sin.sin_port = htons(port);
	srx.transport.sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	return srx;
}

/*
 * Starts a call from the unbound RxRPC socket @fd to a service at
 * 127.0.0.1:@port: the first sendmsg() of an unbound socket opens its UDP
 * endpoint.  The call itself may fail (nobody answers); the result is not
 * the point.
 */
static void rxrpc_start_call(int fd, unsigned short port)
{
	struct sockaddr_rxrpc target = rxrpc_addr(1, port);
	unsigned long call_id = 1;
	char control[CMSG_SPACE(sizeof(call_id))] = {};
	struct iovec iov = { .iov_base = "x", .iov_len = 1 };
	struct msghdr msg = {
		.msg_name = &target,
		.msg_namelen = sizeof(target),
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = control,
		.msg_controllen = sizeof(control),
	};
	struct cmsghdr *cmsg = CMSG_FIRSTHDR(&msg);

	cmsg->cmsg_level = SOL_RXRPC;
	cmsg->cmsg_type = RXRPC_USER_CALL_ID;
	cmsg->cmsg_len = CMSG_LEN(sizeof(call_id));
	memcpy(CMSG_DATA(cmsg), &call_id, sizeof(call_id));
	sendmsg(fd, &msg, MSG_DONTWAIT);
}

/* Returns an RxRPC socket, service @service, bound to 127.0.0.1:@port, or -errno. */
static int rxrpc_bound(unsigned short service, unsigned short port)
{
	struct sockaddr_rxrpc srx = rxrpc_addr(service, port);
	int fd, err;

	fd = socket(AF_RXRPC, SOCK_DGRAM | SOCK_CLOEXEC, AF_INET);
	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&srx, sizeof(srx))) {
		err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

/* Waits up to two seconds for @port to be free: RxRPC closes its endpoint from a work item. */
static bool udp_port_freed(unsigned short port)
{
	int i;

	for (i = 0; i < 200 && kpr_port_held("/proc/net/udp", port); i++)
		usleep(10000);
	return !kpr_port_held("/proc/net/udp", port);
}

/*
 * The sequence of the report: an RxRPC socket armed with a port that is busy
 * (held by a UDP socket, or by another RxRPC socket serving the same service)
 * and not yet reserved; the port reserved, then freed; sendmsg().  The
 * socket must open its endpoint at a port of the stack's choice, never the
 * reserved one.
 */
static void expect_armed_rxrpc_keeps_nothing(struct __test_metadata *const _metadata,
					     bool busy_by_rxrpc)
{
	struct sockaddr_rxrpc srx;
	unsigned short port;
	char rule[64];
	int busy = -1, fd;

	fd = socket(AF_RXRPC, SOCK_DGRAM | SOCK_CLOEXEC, AF_INET);
	if (fd < 0)
		SKIP(return, "no AF_RXRPC: %s", strerror(errno));
	for (port = PORT_FIRST; port <= PORT_LAST && busy < 0; port++)
		busy = busy_by_rxrpc ? rxrpc_bound(1, port) : udp_bound(port);
	ASSERT_LE(0, busy);
	port--;

	srx = rxrpc_addr(1, port);
	EXPECT_EQ(-1, bind(fd, (struct sockaddr *)&srx, sizeof(srx)));
	EXPECT_EQ(EADDRINUSE, errno);

	snprintf(rule, sizeof(rule), "%hu /nonexistent/owner\n", port);
	ASSERT_EQ(0, kpr_write(rule));
	close(busy);
	ASSERT_TRUE(udp_port_freed(port));

	rxrpc_start_call(fd, port);
	EXPECT_FALSE(kpr_port_held("/proc/net/udp", port)) {
		TH_LOG("the RxRPC socket took reserved UDP port %hu", port);
	}
	close(fd);
}

TEST_F(failed_bind, rxrpc_bind_to_busy_udp_port_keeps_no_port)
{
	expect_armed_rxrpc_keeps_nothing(_metadata, false);
}

TEST_F(failed_bind, rxrpc_bind_to_served_service_keeps_no_port)
{
	expect_armed_rxrpc_keeps_nothing(_metadata, true);
}

TEST_HARNESS_MAIN
