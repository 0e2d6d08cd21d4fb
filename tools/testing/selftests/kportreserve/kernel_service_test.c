// SPDX-License-Identifier: GPL-2.0
/*
 * KPortReserve selftests - kernel services any user can start
 *
 * kAFS (UDP 7001, the cache manager) and RDS/TCP (TCP 16385, the listener)
 * bind their protocol's port with kernel_bind(), in every network namespace,
 * as soon as their module loads, and any user can load them (fsopen("afs"),
 * SO_RDS_TRANSPORT).  A port reserved for a program must not be held by them:
 * kAFS takes a port of the stack's choice, RDS/TCP does not listen.
 *
 * The test kernel has both built in, so they start at boot, after the boot
 * policy is in force; dev/test's boot policy reserves both ports for
 * programs.  Elsewhere the test skips.
 */

#include "common.h"
#include "../kselftest_harness.h"

#define AFS_CM_PORT 7001
#define RDS_TCP_PORT 16385

/* What the boot log says when RDS/TCP leaves its port alone. */
#define RDS_NOT_LISTENING "RDS/TCP: port 16385 is reserved by a security module: not listening"

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
 * Returns whether a socket of the initial network namespace in the table
 * @table (/proc/net/tcp, udp6, ...) holds local port @port.
 */
static bool port_held(const char *table, unsigned short port)
{
	char line[512], local[32];
	bool held = false;
	FILE *file;

	snprintf(local, sizeof(local), ":%04X ", port);
	file = fopen(table, "r");
	if (!file)
		return false;
	while (!held && fgets(line, sizeof(line), file)) {
		/* "  sl  local_address rem_address ...": the first address is the local one. */
		char *addr = strchr(line, ':');

		addr = addr ? strchr(addr + 1, ':') : NULL;
		held = addr && !strncmp(addr, local, strlen(local));
	}
	fclose(file);
	return held;
}

/* Returns whether the kernel log holds @text. */
static bool kernel_log_has(const char *text)
{
	char record[1024];
	bool found = false;
	ssize_t len;
	int fd;

	fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return false;
	while (!found) {
		len = read(fd, record, sizeof(record) - 1);
		if (len < 0 && errno == EPIPE)
			continue;	/* overwritten while read: go on */
		if (len <= 0)
			break;
		record[len] = '\0';
		found = strstr(record, text);
	}
	close(fd);
	return found;
}

TEST_F(kernel_service, kafs_leaves_reserved_cm_port)
{
	if (access("/proc/fs/afs", F_OK))
		SKIP(return, "no kAFS in this kernel");
	EXPECT_FALSE(port_held("/proc/net/udp", AFS_CM_PORT));
	EXPECT_FALSE(port_held("/proc/net/udp6", AFS_CM_PORT));
}

TEST_F(kernel_service, rds_tcp_does_not_listen_on_reserved_port)
{
	EXPECT_FALSE(port_held("/proc/net/tcp", RDS_TCP_PORT));
	EXPECT_FALSE(port_held("/proc/net/tcp6", RDS_TCP_PORT));
	EXPECT_TRUE(kernel_log_has(RDS_NOT_LISTENING));
}

TEST_HARNESS_MAIN
