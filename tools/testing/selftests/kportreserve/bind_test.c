// SPDX-License-Identifier: GPL-2.0
/*
 * KPortReserve selftests - bind enforcement
 *
 * For each address family (IPv4, IPv6, v4-mapped IPv6, AF_UNSPEC on IPv4)
 * and each protocol (TCP, MPTCP, UDP, SCTP), and for the families that bind
 * a TCP or UDP port on the user's behalf (AF_SMC and IPPROTO_SMC over TCP,
 * AF_RXRPC over UDP): the program a port is reserved for binds it, another
 * program does not, not even as an unprivileged user, nobody binds a
 * <kernel> port, and unreserved ports are left alone; by bind(2) and by
 * io_uring.
 */

#include "common.h"
#include "../kselftest_harness.h"

/*
 * Each variant gets its own ports, derived from its address family and
 * protocol: base + 10 * index, + 0 owner, + 1 <kernel>, + 2 free.
 */
#define PORT_BASE 20000

/* The names bind_helper takes; a variant's index is its place in both lists. */
static const char *const families[] = { "inet", "inet6", "mapped", "unspec" };
static const char *const protocols[] = {
	"tcp", "mptcp", "udp", "sctp", "smc", "smcinet", "rxrpc",
};

/* Returns the index of @name in @names, or -1. */
static int name_index(const char *const *names, size_t count, const char *name)
{
	size_t i;

	for (i = 0; i < count; i++)
		if (!strcmp(names[i], name))
			return i;
	return -1;
}

FIXTURE(bind)
{
	char *saved_policy;
	char dir[64];
	char owner[96];
	char other[96];
	unsigned short owner_port, kernel_port, free_port;
};

FIXTURE_VARIANT(bind)
{
	const char *addr_family;
	const char *proto;
};

/* clang-format off */
FIXTURE_VARIANT_ADD(bind, inet_tcp) {
	.addr_family = "inet",
	.proto = "tcp",
};

FIXTURE_VARIANT_ADD(bind, inet_mptcp) {
	.addr_family = "inet",
	.proto = "mptcp",
};

FIXTURE_VARIANT_ADD(bind, inet_udp) {
	.addr_family = "inet",
	.proto = "udp",
};

FIXTURE_VARIANT_ADD(bind, inet6_tcp) {
	.addr_family = "inet6",
	.proto = "tcp",
};

FIXTURE_VARIANT_ADD(bind, inet6_mptcp) {
	.addr_family = "inet6",
	.proto = "mptcp",
};

FIXTURE_VARIANT_ADD(bind, inet6_udp) {
	.addr_family = "inet6",
	.proto = "udp",
};

FIXTURE_VARIANT_ADD(bind, mapped_tcp) {
	.addr_family = "mapped",
	.proto = "tcp",
};

FIXTURE_VARIANT_ADD(bind, mapped_mptcp) {
	.addr_family = "mapped",
	.proto = "mptcp",
};

FIXTURE_VARIANT_ADD(bind, mapped_udp) {
	.addr_family = "mapped",
	.proto = "udp",
};

FIXTURE_VARIANT_ADD(bind, unspec_tcp) {
	.addr_family = "unspec",
	.proto = "tcp",
};

FIXTURE_VARIANT_ADD(bind, unspec_mptcp) {
	.addr_family = "unspec",
	.proto = "mptcp",
};

FIXTURE_VARIANT_ADD(bind, unspec_udp) {
	.addr_family = "unspec",
	.proto = "udp",
};

FIXTURE_VARIANT_ADD(bind, inet_sctp) {
	.addr_family = "inet",
	.proto = "sctp",
};

FIXTURE_VARIANT_ADD(bind, inet6_sctp) {
	.addr_family = "inet6",
	.proto = "sctp",
};

FIXTURE_VARIANT_ADD(bind, inet_smc) {
	.addr_family = "inet",
	.proto = "smc",
};

FIXTURE_VARIANT_ADD(bind, inet6_smc) {
	.addr_family = "inet6",
	.proto = "smc",
};

FIXTURE_VARIANT_ADD(bind, unspec_smc) {
	.addr_family = "unspec",
	.proto = "smc",
};

FIXTURE_VARIANT_ADD(bind, inet_smcinet) {
	.addr_family = "inet",
	.proto = "smcinet",
};

FIXTURE_VARIANT_ADD(bind, inet6_smcinet) {
	.addr_family = "inet6",
	.proto = "smcinet",
};

FIXTURE_VARIANT_ADD(bind, inet_rxrpc) {
	.addr_family = "inet",
	.proto = "rxrpc",
};

FIXTURE_VARIANT_ADD(bind, inet6_rxrpc) {
	.addr_family = "inet6",
	.proto = "rxrpc",
};

/* clang-format on */

FIXTURE_SETUP(bind)
{
	char policy[512];
	int family, protocol;

	if (!kpr_enabled())
		SKIP(return, "KPortReserve is not enabled");
	self->saved_policy = kpr_save_policy();
	ASSERT_NE(NULL, self->saved_policy);

	family = name_index(families, ARRAY_SIZE(families), variant->addr_family);
	protocol = name_index(protocols, ARRAY_SIZE(protocols), variant->proto);
	ASSERT_LE(0, family);
	ASSERT_LE(0, protocol);
	self->owner_port = PORT_BASE + 10 * (family * ARRAY_SIZE(protocols) + protocol);
	self->kernel_port = self->owner_port + 1;
	self->free_port = self->owner_port + 2;
	snprintf(self->dir, sizeof(self->dir), "/tmp/kpr-bind-%d", getpid());
	snprintf(self->owner, sizeof(self->owner), "%s/owner", self->dir);
	snprintf(self->other, sizeof(self->other), "%s/other", self->dir);
	ASSERT_EQ(0, mkdir(self->dir, 0755));
	ASSERT_EQ(0, kpr_install_helper(self->owner));
	ASSERT_EQ(0, kpr_install_helper(self->other));

	snprintf(policy, sizeof(policy), "clear\n%hu %s\n%hu <kernel>\n",
		 self->owner_port, self->owner, self->kernel_port);
	ASSERT_EQ(0, kpr_write(policy));
}

FIXTURE_TEARDOWN(bind)
{
	kpr_restore_policy(self->saved_policy);
	unlink(self->owner);
	unlink(self->other);
	rmdir(self->dir);
}

static int bind_as(FIXTURE_DATA(bind) * self, const FIXTURE_VARIANT(bind) * variant,
		   const char *program, unsigned short port)
{
	return kpr_bind_as(program, variant->addr_family, variant->proto, port);
}

TEST_F(bind, owner_binds_its_port)
{
	EXPECT_EQ(0, bind_as(self, variant, self->owner, self->owner_port));
}

TEST_F(bind, other_program_is_denied)
{
	EXPECT_EQ(EADDRINUSE, bind_as(self, variant, self->other, self->owner_port));
}

TEST_F(bind, unprivileged_user_is_denied_but_binds_free_ports)
{
	char port[16];

	snprintf(port, sizeof(port), "%hu", self->owner_port);
	EXPECT_EQ(EADDRINUSE, kpr_runl(self->other, variant->addr_family, variant->proto, port,
				       "nobody", NULL));
	snprintf(port, sizeof(port), "%hu", self->kernel_port);
	EXPECT_EQ(EADDRINUSE, kpr_runl(self->other, variant->addr_family, variant->proto, port,
				       "nobody", NULL));
	snprintf(port, sizeof(port), "%hu", self->free_port);
	EXPECT_EQ(0, kpr_runl(self->other, variant->addr_family, variant->proto, port,
			      "nobody", NULL));
}

TEST_F(bind, owner_binds_as_unprivileged_user)
{
	char port[16];

	/* A port above 1023: the owner needs no capability, only its identity. */
	snprintf(port, sizeof(port), "%hu", self->owner_port);
	EXPECT_EQ(0, kpr_runl(self->owner, variant->addr_family, variant->proto, port,
			      "nobody", NULL));
}

TEST_F(bind, kernel_port_is_denied_to_every_program)
{
	EXPECT_EQ(EADDRINUSE, bind_as(self, variant, self->owner, self->kernel_port));
	EXPECT_EQ(EADDRINUSE, bind_as(self, variant, self->other, self->kernel_port));
}

TEST_F(bind, unreserved_port_is_free)
{
	EXPECT_EQ(0, bind_as(self, variant, self->other, self->free_port));
	EXPECT_EQ(0, bind_as(self, variant, self->other, 0));
}

TEST_F(bind, cleared_policy_frees_the_port)
{
	ASSERT_EQ(0, kpr_write("clear\n"));
	EXPECT_EQ(0, bind_as(self, variant, self->other, self->owner_port));
	EXPECT_EQ(0, bind_as(self, variant, self->other, self->kernel_port));
}

TEST_F(bind, io_uring_bind_is_checked)
{
	char port[16];

	snprintf(port, sizeof(port), "%hu", self->owner_port);
	EXPECT_EQ(0, kpr_runl(self->owner, variant->addr_family, variant->proto, port,
			      "uring", NULL));
	EXPECT_EQ(EADDRINUSE, kpr_runl(self->other, variant->addr_family, variant->proto, port,
				       "uring", NULL));
}

TEST_F(bind, other_network_namespace_is_not_reserved)
{
	char port[16];

	/* The rules hold the ports of the initial network namespace only. */
	snprintf(port, sizeof(port), "%hu", self->owner_port);
	EXPECT_EQ(0, kpr_runl(self->other, variant->addr_family, variant->proto, port,
			      "netns", NULL));
}

TEST_F(bind, shared_port_admits_each_listed_program)
{
	char policy[256];

	snprintf(policy, sizeof(policy), "%hu %s\n", self->owner_port, self->other);
	ASSERT_EQ(0, kpr_write(policy));
	EXPECT_EQ(0, bind_as(self, variant, self->owner, self->owner_port));
	EXPECT_EQ(0, bind_as(self, variant, self->other, self->owner_port));
}

/* The selector of @proto's port space: MPTCP and SMC take TCP ports, RxRPC UDP ports. */
static const char *selector_of(const char *proto)
{
	if (!strcmp(proto, "udp") || !strcmp(proto, "rxrpc"))
		return "udp";
	if (!strcmp(proto, "sctp"))
		return "sctp";
	return "tcp";
}

TEST_F(bind, selector_reserves_only_its_protocol)
{
	static const char *const selectors[] = { "tcp", "udp", "sctp" };
	const char *own = selector_of(variant->proto);
	char policy[1024];
	size_t i, n;

	/* The owner's port for this protocol; the <kernel> port for the two others. */
	n = snprintf(policy, sizeof(policy), "clear\n%hu/%s %s\n", self->owner_port, own,
		     self->owner);
	for (i = 0; i < ARRAY_SIZE(selectors); i++)
		if (strcmp(selectors[i], own))
			n += snprintf(policy + n, sizeof(policy) - n, "%hu/%s <kernel>\n",
				      self->kernel_port, selectors[i]);
	ASSERT_EQ(0, kpr_write(policy));
	EXPECT_EQ(0, bind_as(self, variant, self->owner, self->owner_port));
	EXPECT_EQ(EADDRINUSE, bind_as(self, variant, self->other, self->owner_port));
	EXPECT_EQ(0, bind_as(self, variant, self->other, self->kernel_port));
	EXPECT_EQ(0, bind_as(self, variant, self->owner, self->kernel_port));

	/* The owner's port reserved for the other protocols only: free here. */
	n = snprintf(policy, sizeof(policy), "clear\n");
	for (i = 0; i < ARRAY_SIZE(selectors); i++)
		if (strcmp(selectors[i], own))
			n += snprintf(policy + n, sizeof(policy) - n, "%hu/%s %s\n",
				      self->owner_port, selectors[i], self->owner);
	ASSERT_EQ(0, kpr_write(policy));
	EXPECT_EQ(0, bind_as(self, variant, self->other, self->owner_port));
}

/* Raw socket bind(2) arguments, checked without any helper process. */
FIXTURE(bind_args)
{
	char *saved_policy;
	int fd;
};

FIXTURE_SETUP(bind_args)
{
	if (!kpr_enabled())
		SKIP(return, "KPortReserve is not enabled");
	self->saved_policy = kpr_save_policy();
	ASSERT_NE(NULL, self->saved_policy);
	ASSERT_EQ(0, kpr_write("clear\n20500 <kernel>\n"));
	self->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ASSERT_LE(0, self->fd);
}

FIXTURE_TEARDOWN(bind_args)
{
	close(self->fd);
	kpr_write_file(KPR_MODE, "enforcing");
	kpr_restore_policy(self->saved_policy);
}

TEST_F(bind_args, permissive_mode_allows_what_enforcing_denies)
{
	struct sockaddr_in addr = {
		.sin_family = AF_INET,
		.sin_port = htons(20500),
	};
	char mode[32];
	int fd;

	ASSERT_EQ(0, kpr_read_file(KPR_MODE, mode, sizeof(mode)));
	EXPECT_STREQ("enforcing\n", mode);
	EXPECT_EQ(-1, bind(self->fd, (struct sockaddr *)&addr, sizeof(addr)));
	EXPECT_EQ(EADDRINUSE, errno);

	/* Permissive: the would-be denial is logged and allowed. */
	ASSERT_EQ(0, kpr_write_file(KPR_MODE, "permissive\n"));
	ASSERT_EQ(0, kpr_read_file(KPR_MODE, mode, sizeof(mode)));
	EXPECT_STREQ("permissive\n", mode);
	EXPECT_EQ(0, bind(self->fd, (struct sockaddr *)&addr, sizeof(addr)));
	close(self->fd);
	self->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ASSERT_LE(0, self->fd);

	/* Enforcing again, without the newline. */
	ASSERT_EQ(0, kpr_write_file(KPR_MODE, "enforcing"));
	EXPECT_EQ(-1, bind(self->fd, (struct sockaddr *)&addr, sizeof(addr)));
	EXPECT_EQ(EADDRINUSE, errno);

	/* Anything else is refused, and changes nothing. */
	fd = open(KPR_MODE, O_WRONLY | O_CLOEXEC);
	ASSERT_LE(0, fd);
	EXPECT_EQ(-1, write(fd, "permissive ", 11));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, write(fd, "0", 1));
	EXPECT_EQ(EINVAL, errno);
	close(fd);
	ASSERT_EQ(0, kpr_read_file(KPR_MODE, mode, sizeof(mode)));
	EXPECT_STREQ("enforcing\n", mode);
}

TEST_F(bind_args, short_address_is_invalid_not_denied)
{
	struct sockaddr_in addr = {
		.sin_family = AF_INET,
		.sin_port = htons(20500),
	};

	EXPECT_EQ(-1, bind(self->fd, (struct sockaddr *)&addr, sizeof(addr) - 1));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, bind(self->fd, (struct sockaddr *)&addr, 1));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, bind(self->fd, (struct sockaddr *)&addr, sizeof(addr)));
	EXPECT_EQ(EADDRINUSE, errno);
}

TEST_F(bind_args, unspec_with_specific_address_is_refused_by_the_stack)
{
	struct sockaddr_in addr = {
		.sin_family = AF_UNSPEC,
		.sin_port = htons(20501),
		.sin_addr.s_addr = htonl(INADDR_LOOPBACK),
	};

	/* Not reserved: the stack's own answer comes through unchanged. */
	EXPECT_EQ(-1, bind(self->fd, (struct sockaddr *)&addr, sizeof(addr)));
	EXPECT_EQ(EAFNOSUPPORT, errno);
}

TEST_F(bind_args, wrong_family_on_ipv6_socket_is_left_to_the_stack)
{
	struct sockaddr_in6 addr = {
		.sin6_family = AF_UNSPEC,
		.sin6_port = htons(20500),
	};
	int fd6 = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);

	ASSERT_LE(0, fd6);
	EXPECT_EQ(-1, bind(fd6, (struct sockaddr *)&addr, sizeof(addr)));
	/*
	 * Smack, where it is active (dev/test's stacking boots), answers
	 * first: its socket_bind hook refuses any family but AF_INET6 on an
	 * IPv6 socket with EINVAL.
	 */
	EXPECT_EQ(kpr_lsm_active("smack") ? EINVAL : EAFNOSUPPORT, errno);
	close(fd6);
}

TEST_F(bind_args, raw_socket_is_not_a_port)
{
	struct sockaddr_in addr = {
		.sin_family = AF_INET,
		.sin_port = htons(20500),
	};
	int raw = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_TCP);

	ASSERT_LE(0, raw);
	EXPECT_EQ(0, bind(raw, (struct sockaddr *)&addr, sizeof(addr)));
	close(raw);
}

/* Binds @port once with a fresh socket; returns 0 or errno. */
static int bind_once(unsigned short port)
{
	struct sockaddr_in addr = {
		.sin_family = AF_INET,
		.sin_port = htons(port),
	};
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int err = 0;

	if (fd < 0)
		return -1;
	if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)))
		err = errno;
	close(fd);
	return err;
}

TEST(binds_see_whole_policies_while_it_is_rewritten)
{
	/* Each binder owns a port (binds in flight would collide on a shared one). */
	const unsigned short owned[2] = { 20600, 20602 }, kernel = 20601;
	const int rounds = 300, writes = 100;
	char self_exe[PATH_MAX], policy[2 * PATH_MAX + 64];
	int i, status, failures = 0;
	ssize_t len;
	pid_t pids[2];

	if (!kpr_enabled())
		SKIP(return, "KPortReserve is not enabled");
	len = readlink("/proc/self/exe", self_exe, sizeof(self_exe) - 1);
	ASSERT_LT(0, len);
	self_exe[len] = '\0';
	/* Every policy written holds all rules: no bind may ever see another. */
	snprintf(policy, sizeof(policy), "clear\n%hu %s\n%hu %s\n%hu <kernel>\n",
		 owned[0], self_exe, owned[1], self_exe, kernel);
	ASSERT_EQ(0, kpr_write(policy));

	for (i = 0; i < 2; i++) {
		pids[i] = fork();
		ASSERT_LE(0, pids[i]);
		if (pids[i] == 0) {
			int round, bad = 0;

			for (round = 0; round < rounds; round++) {
				bad += bind_once(owned[i]) != 0;
				bad += bind_once(kernel) != EADDRINUSE;
			}
			_exit(bad ? 1 : 0);
		}
	}
	for (i = 0; i < writes; i++)
		EXPECT_EQ(0, kpr_write(policy));
	for (i = 0; i < 2; i++) {
		ASSERT_EQ(pids[i], waitpid(pids[i], &status, 0));
		failures += !WIFEXITED(status) || WEXITSTATUS(status);
	}
	EXPECT_EQ(0, failures);
	kpr_write("clear\n");
}

TEST_HARNESS_MAIN
