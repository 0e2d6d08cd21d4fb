// SPDX-License-Identifier: GPL-2.0
/*
 * KPortReserve selftests - SCTP bind() and sctp_bindx()
 *
 * sctp_bindx() (SCTP_SOCKOPT_BINDX_ADD) adds addresses to a socket without
 * bind(2).  Each non-zero port in its list is checked as a bind: one denied
 * address fails the whole call and leaves the socket as it was.  This
 * program owns one port; a second is reserved for <kernel>, a third is free.
 */

#include "common.h"
#include "../kselftest_harness.h"

#ifndef SOL_SCTP
#define SOL_SCTP 132
#endif
#ifndef SCTP_SOCKOPT_BINDX_ADD
#define SCTP_SOCKOPT_BINDX_ADD 100
#endif

#define OWN_PORT 32000
#define KERNEL_PORT 32001
#define FREE_PORT 32002

/* A packed sctp_bindx() list, as the kernel walks it. */
struct addr_list {
	unsigned char buf[4 * sizeof(struct sockaddr_in6)];
	size_t len;
};

static void add_in4(struct addr_list *list, unsigned short port)
{
	struct sockaddr_in in4 = {
		.sin_family = AF_INET,
		.sin_addr.s_addr = htonl(INADDR_LOOPBACK),
		.sin_port = htons(port),
	};

	memcpy(list->buf + list->len, &in4, sizeof(in4));
	list->len += sizeof(in4);
}

static void add_in6(struct addr_list *list, unsigned short port)
{
	struct sockaddr_in6 in6 = {
		.sin6_family = AF_INET6,
		.sin6_addr = IN6ADDR_LOOPBACK_INIT,
		.sin6_port = htons(port),
	};

	memcpy(list->buf + list->len, &in6, sizeof(in6));
	list->len += sizeof(in6);
}

/* Adds @list to @fd with sctp_bindx(); returns 0 or errno. */
static int bindx(int fd, const struct addr_list *list)
{
	return setsockopt(fd, SOL_SCTP, SCTP_SOCKOPT_BINDX_ADD, list->buf, list->len) ?
	       errno : 0;
}

FIXTURE(sctp)
{
	char *saved_policy;
	int fd;
};

FIXTURE_SETUP(sctp)
{
	char exe[PATH_MAX], policy[PATH_MAX + 64];
	ssize_t len;

	self->fd = -1;
	if (!kpr_enabled())
		SKIP(return, "KPortReserve is not enabled");
	self->saved_policy = kpr_save_policy();
	ASSERT_NE(NULL, self->saved_policy);
	len = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	ASSERT_LT(0, len);
	exe[len] = '\0';
	snprintf(policy, sizeof(policy), "clear\n%d %s\n%d <kernel>\n", OWN_PORT, exe,
		 KERNEL_PORT);
	ASSERT_EQ(0, kpr_write(policy));
	/* An IPv6 socket takes IPv4 and IPv6 addresses in one list. */
	self->fd = socket(AF_INET6, SOCK_SEQPACKET | SOCK_CLOEXEC, IPPROTO_SCTP);
	if (self->fd < 0 && (errno == EPROTONOSUPPORT || errno == ESOCKTNOSUPPORT))
		SKIP(return, "no SCTP in this kernel");
	ASSERT_LE(0, self->fd);
}

FIXTURE_TEARDOWN(sctp)
{
	if (self->fd >= 0)
		close(self->fd);
	kpr_restore_policy(self->saved_policy);
}

TEST_F(sctp, bind_of_reserved_port_is_denied)
{
	struct sockaddr_in6 addr = {
		.sin6_family = AF_INET6,
		.sin6_port = htons(KERNEL_PORT),
	};

	EXPECT_EQ(-1, bind(self->fd, (struct sockaddr *)&addr, sizeof(addr)));
	EXPECT_EQ(EADDRINUSE, errno);
	addr.sin6_port = htons(OWN_PORT);
	EXPECT_EQ(0, bind(self->fd, (struct sockaddr *)&addr, sizeof(addr)));
}

TEST_F(sctp, bindx_of_free_port_in_both_families)
{
	struct addr_list list = {};

	add_in4(&list, FREE_PORT);
	add_in6(&list, FREE_PORT);
	EXPECT_EQ(0, bindx(self->fd, &list));
	EXPECT_EQ(FREE_PORT, kpr_local_port(self->fd));
}

TEST_F(sctp, bindx_of_reserved_port_is_denied)
{
	struct addr_list list = {};

	add_in4(&list, KERNEL_PORT);
	add_in6(&list, KERNEL_PORT);
	EXPECT_EQ(EADDRINUSE, bindx(self->fd, &list));
	EXPECT_EQ(0, kpr_local_port(self->fd));
}

TEST_F(sctp, reserved_second_address_fails_the_whole_call)
{
	struct addr_list list = {};

	add_in4(&list, FREE_PORT);
	add_in6(&list, KERNEL_PORT);
	EXPECT_EQ(EADDRINUSE, bindx(self->fd, &list));
	/* The first address was not bound either. */
	EXPECT_EQ(0, kpr_local_port(self->fd));
}

TEST_F(sctp, owner_bindx_of_its_port)
{
	struct addr_list list = {};

	add_in4(&list, OWN_PORT);
	add_in6(&list, OWN_PORT);
	EXPECT_EQ(0, bindx(self->fd, &list));
	EXPECT_EQ(OWN_PORT, kpr_local_port(self->fd));
}

TEST_F(sctp, port_zero_on_a_bound_socket_keeps_its_port)
{
	struct sockaddr_in addr = {
		.sin_family = AF_INET,
		.sin_addr.s_addr = htonl(INADDR_LOOPBACK),
		.sin_port = htons(FREE_PORT),
	};
	struct addr_list zero = {}, reserved = {};

	ASSERT_EQ(0, bind(self->fd, (struct sockaddr *)&addr, sizeof(addr)));
	add_in6(&zero, 0);
	EXPECT_EQ(0, bindx(self->fd, &zero));
	EXPECT_EQ(FREE_PORT, kpr_local_port(self->fd));
	/* A reserved port is refused before the stack looks at it. */
	add_in6(&reserved, KERNEL_PORT);
	EXPECT_EQ(EADDRINUSE, bindx(self->fd, &reserved));
}

TEST_F(sctp, malformed_list_is_refused_by_the_stack)
{
	struct addr_list list = {};

	add_in4(&list, FREE_PORT);
	add_in6(&list, FREE_PORT);
	list.len -= 1;
	EXPECT_EQ(EINVAL, bindx(self->fd, &list));
	EXPECT_EQ(0, kpr_local_port(self->fd));
}

TEST_F(sctp, unprivileged_user_is_denied)
{
	struct addr_list list = {};
	int status;
	pid_t pid;

	add_in4(&list, KERNEL_PORT);
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		if (kpr_become_nobody())
			_exit(100);
		_exit(bindx(self->fd, &list));
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(EADDRINUSE, WEXITSTATUS(status));
}

TEST_HARNESS_MAIN
