// SPDX-License-Identifier: GPL-2.0
/*
 * KPortReserve selftests - kernel services any user can start
 *
 * kAFS (UDP 7001, the cache manager) and RDS/TCP (TCP 16385, the listener)
 * bind their protocol's port with kernel_bind(), in every network namespace,
 * as soon as their module loads, and any user can load them (fsopen("afs"),
 * SO_RDS_TRANSPORT).  A port reserved for a program must not be held by them:
 * kAFS takes a port of the stack's choice, RDS/TCP does not start (its
 * transport is not registered, as when it cannot listen).
 *
 * The test kernel has both built in, so they start at boot, after the boot
 * policy is in force; dev/test's boot policy reserves both ports for
 * programs.  Elsewhere the test skips.
 */

#include "common.h"
#include <linux/rds.h>
#include "../kselftest_harness.h"

#define AFS_CM_PORT 7001
#define RDS_TCP_PORT 16385

#ifndef SOL_RDS
#define SOL_RDS 276
#endif

FIXTURE(kernel_service)
{
};

FIXTURE_SETUP(kernel_service)
{
	char cmdline[4096] = {};

	if (!kpr_enabled())
		SKIP(return, "KPortReserve is not enabled");
	ASSERT_EQ(0, kpr_read_file("/proc/cmdline", cmdline, sizeof(cmdline)));
	if (!strstr(cmdline, ";7001 /usr/sbin/afs-fileserver;16385 /usr/sbin/rds-owner"))
		SKIP(return, "not booted with dev/test's reservations of 7001 and 16385");
}

FIXTURE_TEARDOWN(kernel_service)
{
}

/*
 * Returns 0 if an RDS socket takes the TCP transport, -errno if not:
 * -EAFNOSUPPORT without RDS, -ENOPROTOOPT when RDS/TCP is not registered.
 */
static int rds_tcp_transport(void)
{
	int fd, tcp = RDS_TRANS_TCP, err = 0;

	fd = socket(AF_RDS, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (setsockopt(fd, SOL_RDS, SO_RDS_TRANSPORT, &tcp, sizeof(tcp)))
		err = -errno;
	close(fd);
	return err;
}

TEST_F(kernel_service, kafs_leaves_reserved_cm_port)
{
	if (access("/proc/fs/afs", F_OK))
		SKIP(return, "no kAFS in this kernel");
	EXPECT_FALSE(kpr_port_held("/proc/net/udp", AFS_CM_PORT));
	EXPECT_FALSE(kpr_port_held("/proc/net/udp6", AFS_CM_PORT));
}

TEST_F(kernel_service, rds_tcp_does_not_listen_on_reserved_port)
{
	int rds = rds_tcp_transport();

	if (rds == -EAFNOSUPPORT)
		SKIP(return, "no RDS in this kernel");
	EXPECT_FALSE(kpr_port_held("/proc/net/tcp", RDS_TCP_PORT));
	EXPECT_FALSE(kpr_port_held("/proc/net/tcp6", RDS_TCP_PORT));
	/* Built in, RDS/TCP did not start: it would not listen on its port. */
	EXPECT_EQ(-ENOPROTOOPT, rds);
}

TEST_HARNESS_MAIN
