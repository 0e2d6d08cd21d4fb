// SPDX-License-Identifier: GPL-2.0
/*
 * KPortReserve selftests - the kernel's RPC client picks no reserved port
 *
 * An NFSv3 mount makes the kernel's SUNRPC client connect to mountd from a
 * privileged source port it picks itself (xs_bind(), between min_resvport and
 * max_resvport) and binds with kernel_bind().  With that range narrowed to
 * ten ports, nine of them reserved, a mount against a fake mountd on loopback
 * always comes from the free port, and from none once every port is reserved.
 * The fake mountd accepts, notes the peer's port and hangs up; the mount,
 * which then cannot succeed, is killed.  Each mount gets a fake mountd on a
 * port of its own, so that a killed mount's transport, which may reconnect
 * from its old port while it is torn down, never reaches a later one.
 */

#include <poll.h>
#include <signal.h>
#include <sys/mount.h>

#include "common.h"
#include "../kselftest_harness.h"

#define MIN_RESVPORT_SYSCTL "/proc/sys/sunrpc/min_resvport"
#define MAX_RESVPORT_SYSCTL "/proc/sys/sunrpc/max_resvport"
#define RESV_LOW "900"
#define RESV_HIGH "909"
#define FREE_RESVPORT 909
/* Each test's fake mountds take ports from its own base, one per mount. */
#define FREE_PORT_MOUNTD_BASE 20100
#define ALL_RESERVED_MOUNTD_BASE 20200
#define ROUNDS 3

FIXTURE(sunrpc)
{
	char *saved_policy;
	char saved_min[16], saved_max[16], mnt[64];
	unsigned short mountd_port;
};

FIXTURE_SETUP(sunrpc)
{
	if (!kpr_enabled())
		SKIP(return, "KPortReserve is not enabled");
	self->saved_policy = kpr_save_policy();
	ASSERT_NE(NULL, self->saved_policy);
	if (kpr_read_file(MIN_RESVPORT_SYSCTL, self->saved_min, sizeof(self->saved_min)) ||
	    kpr_read_file(MAX_RESVPORT_SYSCTL, self->saved_max, sizeof(self->saved_max)))
		SKIP(return, "no SUNRPC in this kernel");
	/* Lower the maximum first: the kernel keeps min <= max at each write. */
	ASSERT_EQ(0, kpr_write_file(MAX_RESVPORT_SYSCTL, RESV_HIGH));
	ASSERT_EQ(0, kpr_write_file(MIN_RESVPORT_SYSCTL, RESV_LOW));
	snprintf(self->mnt, sizeof(self->mnt), "/tmp/kpr-nfs-%d", getpid());
	ASSERT_EQ(0, mkdir(self->mnt, 0755));
}

FIXTURE_TEARDOWN(sunrpc)
{
	kpr_restore_policy(self->saved_policy);
	if (self->saved_min[0]) {
		kpr_write_file(MIN_RESVPORT_SYSCTL, self->saved_min);
		kpr_write_file(MAX_RESVPORT_SYSCTL, self->saved_max);
	}
	rmdir(self->mnt);
}

/*
 * Starts an NFSv3 mount whose mountd is a new fake one, and returns the source
 * port of the kernel's first connection to it within @timeout_ms, 0 if none
 * came, or -1 on error.  The mount is killed before returning.
 */
static int rpc_source_port(FIXTURE_DATA(sunrpc) * self, int timeout_ms)
{
	unsigned short mountd_port = self->mountd_port++;
	struct sockaddr_in addr = {
		.sin_family = AF_INET,
		.sin_addr.s_addr = htonl(INADDR_LOOPBACK),
		.sin_port = htons(mountd_port),
	};
	struct pollfd pfd = { .events = POLLIN };
	socklen_t len = sizeof(addr);
	int port = 0, conn, status, one = 1;
	pid_t pid;

	pfd.fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (pfd.fd < 0)
		return -1;
	setsockopt(pfd.fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(pfd.fd, (struct sockaddr *)&addr, sizeof(addr)) || listen(pfd.fd, 8)) {
		close(pfd.fd);
		return -1;
	}
	pid = fork();
	if (pid < 0) {
		close(pfd.fd);
		return -1;
	}
	if (pid == 0) {
		char options[128];

		snprintf(options, sizeof(options),
			 "vers=3,proto=tcp,mountproto=tcp,mountport=%d,addr=127.0.0.1,nolock,soft,timeo=600",
			 mountd_port);
		mount("127.0.0.1:/export", self->mnt, "nfs", 0, options);
		_exit(0);
	}
	if (poll(&pfd, 1, timeout_ms) == 1) {
		conn = accept(pfd.fd, (struct sockaddr *)&addr, &len);
		if (conn >= 0) {
			port = ntohs(addr.sin_port);
			close(conn);
		} else {
			port = -1;
		}
	}
	close(pfd.fd);
	kill(pid, SIGKILL);
	if (waitpid(pid, &status, 0) != pid)
		return -1;
	/* A mount that somehow succeeded is undone. */
	umount2(self->mnt, MNT_DETACH);
	return port;
}

TEST_F(sunrpc, source_port_is_the_free_one)
{
	int i, port;

	self->mountd_port = FREE_PORT_MOUNTD_BASE;
	ASSERT_EQ(0, kpr_write("clear\n900-908 <kernel>\n"));
	for (i = 0; i < ROUNDS; i++) {
		port = rpc_source_port(self, 30000);
		ASSERT_EQ(FREE_RESVPORT, port)
			TH_LOG("round %d: the RPC client came from port %d", i, port);
	}
}

TEST_F(sunrpc, no_source_port_when_all_are_reserved)
{
	int port;

	self->mountd_port = ALL_RESERVED_MOUNTD_BASE;
	/* The control: with the free port, the client connects... */
	ASSERT_EQ(0, kpr_write("clear\n900-908 <kernel>\n"));
	ASSERT_EQ(FREE_RESVPORT, rpc_source_port(self, 30000));
	/* ... and with none, it never does. */
	ASSERT_EQ(0, kpr_write("clear\n900-909 <kernel>\n"));
	port = rpc_source_port(self, 5000);
	EXPECT_EQ(0, port) TH_LOG("the RPC client came from reserved port %d", port);
}

TEST_HARNESS_MAIN
