// SPDX-License-Identifier: GPL-2.0
/*
 * KPortReserve selftests - per-network-namespace rules
 *
 * The netns file holds the rules of the network namespace of whoever opens
 * it, the netns-default file the template: rules of every network namespace
 * but the initial one, existing and future.  These tests create namespaces
 * (unshare(CLONE_NEWNET), then setns() back and forth) and check that each
 * namespace's rules hold there only, for every way of binding (TCP, MPTCP,
 * UDP, SCTP bind() and sctp_bindx(), io_uring) and for automatic choices;
 * that the template holds in namespaces made before and after it is written,
 * never in the initial one; that a namespace made inside another starts with
 * no rules; who may open the files (CAP_MAC_ADMIN of the initial user
 * namespace, the opener's credentials for writes); that an open file keeps
 * its namespace; two pod scenarios; and the namespace's id in denials and
 * its layers in the counters file.
 *
 * The tests leave the initial namespace's port range alone: they narrow or
 * widen it in namespaces of their own.
 */

#include "common.h"

#include <linux/nsfs.h>

#include "../kselftest_harness.h"

#ifndef NS_GET_ID
#define NS_GET_ID _IOR(0xb7, 13, __u64)
#endif

#define KPR_COUNTERS "/sys/kernel/security/kportreserve/counters"
#define PORT_RANGE_SYSCTL "/proc/sys/net/ipv4/ip_local_port_range"

#define PORT_A 26000		/* reserved in namespace A */
#define PORT_B 26010		/* reserved in namespace B */
#define AUTO_PORT 26105		/* reserved in the middle of AUTO_RANGE */
#define AUTO_RANGE "26100 26110"
#define AUTO_LOW 26100
#define AUTO_HIGH 26110
#define PEER_PORT 26200		/* the listener connect() reaches, outside AUTO_RANGE */
#define TEMPLATE_PORT 26300	/* reserved by the template */
#define NESTED_PORT 26400
#define CRED_PORT 26500		/* 26500 and 26501 */
#define LIFETIME_PORT 26600	/* 26600 and 26601 */
#define SERVER_PORT 26700	/* the pod's server */
#define SIDECAR_PEER_PORT 26701
#define REPORT_PORT 26800	/* reserved in a namespace */
#define REPORT_TEMPLATE_PORT 26801
#define REPORT_INIT_PORT 26802	/* reserved in the initial namespace */

#define CHOICES 10000		/* automatic choices in a namespace that reserves AUTO_PORT */
#define SIDECAR_CONNECTIONS 3000
#define SIDECAR_OPEN 200	/* connections the sidecar keeps open at most */
#define SERVER_RESTARTS 5	/* at least; more while the sidecar connects */
#define REPORT_TRIES 10		/* denials, a second apart, until one is logged */

/* Namespaces a test may create; the teardown clears their rules. */
#define MAX_NETNS 8

FIXTURE(netns)
{
	char *saved_policy;
	char *saved_template;
	char mode[32];
	int init_ns;		/* the initial network namespace, to go back to */
	int ns[MAX_NETNS];
	unsigned int ns_count;
	char dir[64];
	char owner[96];		/* the program the tests' rules name */
	char other[96];		/* a program no rule names */
};

/* Enters the network namespace @ns. Returns 0 or -errno. */
static int enter(int ns)
{
	return setns(ns, CLONE_NEWNET) ? -errno : 0;
}

/*
 * Creates a network namespace, from the caller's, with its loopback
 * interface up, and leaves the caller where it was. Returns an fd of the
 * namespace (it lives as long as the fd), or -errno.
 */
static int create_netns(void)
{
	int here, ns = -1, err = 0;

	here = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (here < 0)
		return -errno;
	if (unshare(CLONE_NEWNET)) {
		err = -errno;
	} else {
		err = kpr_loopback_up();
		if (!err) {
			ns = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
			if (ns < 0)
				err = -errno;
		}
		if (enter(here) && !err)
			err = -EIO;
	}
	close(here);
	if (err && ns >= 0)
		close(ns);
	return err ? err : ns;
}

/* Creates a namespace as create_netns() does, for the teardown to clear. */
static int add_netns(FIXTURE_DATA(netns) * self)
{
	int ns;

	if (self->ns_count == MAX_NETNS)
		return -ENOSPC;
	ns = create_netns();
	if (ns >= 0)
		self->ns[self->ns_count++] = ns;
	return ns;
}

/* Writes @text to the netns file of @ns, and comes back to the initial namespace. */
static int netns_write(FIXTURE_DATA(netns) * self, int ns, const char *text)
{
	int err = enter(ns);

	if (!err)
		err = kpr_write_file(KPR_NETNS, text);
	if (enter(self->init_ns) && !err)
		err = -EIO;
	return err;
}

/* Expects the netns file of @ns to read back @expected. */
static void expect_netns_rules(struct __test_metadata *const _metadata,
			       FIXTURE_DATA(netns) * self, int ns, const char *expected)
{
	char *text;

	ASSERT_EQ(0, enter(ns));
	text = kpr_read_policy_file(KPR_NETNS);
	ASSERT_EQ(0, enter(self->init_ns));
	ASSERT_NE(NULL, text);
	EXPECT_STREQ(expected, text);
	free(text);
}

/* Runs @program to bind TCP, UDP, ... @proto port @port; returns the errno of its bind. */
static int bind_as(const char *program, const char *proto, unsigned short port)
{
	return kpr_bind_as(program, "inet", proto, port);
}

/* The id NS_GET_ID gives the caller's network namespace; 0 on error. */
static __u64 netns_id(void)
{
	__u64 id = 0;
	int fd;

	fd = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	if (ioctl(fd, NS_GET_ID, &id))
		id = 0;
	close(fd);
	return id;
}

/* Puts back the mode @saved, if any, and only if it changed: a mode change is audited. */
static void restore_mode(const char *saved)
{
	char mode[32];

	if (saved[0] && !kpr_read_file(KPR_MODE, mode, sizeof(mode)) && strcmp(mode, saved))
		kpr_write_file(KPR_MODE, saved);
}

FIXTURE_SETUP(netns)
{
	self->init_ns = -1;
	if (!kpr_enabled())
		SKIP(return, "KPortReserve is not enabled");
	if (access(KPR_NETNS_DEFAULT, F_OK))
		SKIP(return, "KPortReserve has no per-namespace rules");
	self->init_ns = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	ASSERT_LE(0, self->init_ns);
	snprintf(self->dir, sizeof(self->dir), "/tmp/kpr-netns-%d", getpid());
	snprintf(self->owner, sizeof(self->owner), "%s/owner", self->dir);
	snprintf(self->other, sizeof(self->other), "%s/other", self->dir);
	ASSERT_EQ(0, mkdir(self->dir, 0755));
	ASSERT_EQ(0, kpr_install_helper(self->owner));
	ASSERT_EQ(0, kpr_install_helper(self->other));

	/* A test machine may have booted permissive, where nothing is denied. */
	ASSERT_EQ(0, kpr_read_file(KPR_MODE, self->mode, sizeof(self->mode)));
	if (strcmp(self->mode, "enforcing\n"))
		ASSERT_EQ(0, kpr_write_file(KPR_MODE, "enforcing\n"));
	/* No rule in the initial namespace, none in the template. */
	self->saved_policy = kpr_save_policy();
	ASSERT_NE(NULL, self->saved_policy);
	self->saved_template = kpr_save_policy_file(KPR_NETNS_DEFAULT);
	ASSERT_NE(NULL, self->saved_template);
}

FIXTURE_TEARDOWN(netns)
{
	unsigned int i;

	/* A failed test may have been left in any namespace. */
	if (self->init_ns >= 0)
		enter(self->init_ns);
	for (i = 0; i < self->ns_count; i++) {
		if (!enter(self->ns[i]))
			kpr_write_file(KPR_NETNS, "clear\n");
		enter(self->init_ns);
		close(self->ns[i]);
	}
	kpr_restore_policy_file(KPR_NETNS_DEFAULT, self->saved_template);
	kpr_restore_policy(self->saved_policy);
	restore_mode(self->mode);
	unlink(self->owner);
	unlink(self->other);
	rmdir(self->dir);
	if (self->init_ns >= 0)
		close(self->init_ns);
}

/* The ways of binding a port that the first test tries, as bind_helper takes them. */
static const struct bind_way {
	const char *proto;
	const char *option;	/* bind_helper's, after the port; or NULL */
} ways[] = {
	{ "tcp", NULL },
	{ "mptcp", NULL },
	{ "udp", NULL },
	{ "sctp", NULL },
	{ "sctp", "bindx" },
	{ "tcp", "uring" },
	{ "udp", "uring" },
};

/* Runs @program to bind @port the way @way says; returns the errno of its bind. */
static int bind_way(const char *program, const struct bind_way *way, unsigned short port)
{
	char port_arg[16];

	snprintf(port_arg, sizeof(port_arg), "%hu", port);
	return kpr_runl(program, "inet", way->proto, port_arg, way->option, NULL);
}

/*
 * Expects @port, in the caller's namespace, to bind for the owner, and for
 * the other program only if not @reserved.
 */
static void expect_port(struct __test_metadata *const _metadata, FIXTURE_DATA(netns) * self,
			const struct bind_way *way, unsigned short port, bool reserved,
			const char *where)
{
	const char *option = way->option ? way->option : "bind";

	EXPECT_EQ(0, bind_way(self->owner, way, port)) {
		TH_LOG("%s: owner's %s %s of %hu", where, way->proto, option, port);
	}
	EXPECT_EQ(reserved ? EADDRINUSE : 0, bind_way(self->other, way, port)) {
		TH_LOG("%s: other's %s %s of %hu", where, way->proto, option, port);
	}
}

TEST_F_TIMEOUT(netns, each_namespace_has_its_own_rules, 300)
{
	char rule_a[128], rule_b[128];
	int a, b;
	size_t i;

	a = add_netns(self);
	ASSERT_LE(0, a);
	b = add_netns(self);
	ASSERT_LE(0, b);
	snprintf(rule_a, sizeof(rule_a), "%d %s\n", PORT_A, self->owner);
	snprintf(rule_b, sizeof(rule_b), "%d %s\n", PORT_B, self->owner);
	ASSERT_EQ(0, netns_write(self, a, rule_a));
	ASSERT_EQ(0, netns_write(self, b, rule_b));
	expect_netns_rules(_metadata, self, a, rule_a);
	expect_netns_rules(_metadata, self, b, rule_b);
	KPR_EXPECT_POLICY("");

	for (i = 0; i < ARRAY_SIZE(ways); i++) {
		ASSERT_EQ(0, enter(a));
		expect_port(_metadata, self, &ways[i], PORT_A, true, "A");
		expect_port(_metadata, self, &ways[i], PORT_B, false, "A");
		ASSERT_EQ(0, enter(b));
		expect_port(_metadata, self, &ways[i], PORT_B, true, "B");
		expect_port(_metadata, self, &ways[i], PORT_A, false, "B");
		/* Neither namespace's rules reach the initial one. */
		ASSERT_EQ(0, enter(self->init_ns));
		expect_port(_metadata, self, &ways[i], PORT_A, false, "initial");
		expect_port(_metadata, self, &ways[i], PORT_B, false, "initial");
	}
}

/* A socket bound to 127.0.0.1:@port and listening; -errno on error. */
static int listen_on(unsigned short port)
{
	struct sockaddr_in addr = {
		.sin_family = AF_INET,
		.sin_port = htons(port),
		.sin_addr.s_addr = htonl(INADDR_LOOPBACK),
	};
	int fd, one = 1;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) || listen(fd, SIDECAR_OPEN)) {
		close(fd);
		return -errno;
	}
	return fd;
}

/* A socket of @type bound to the wildcard address, port @port; -errno on error. */
static int hold(int type, unsigned short port)
{
	struct sockaddr_in addr = {
		.sin_family = AF_INET,
		.sin_port = htons(port),
	};
	int fd;

	fd = socket(AF_INET, type | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&addr, sizeof(addr))) {
		close(fd);
		return -errno;
	}
	return fd;
}

enum choice { CHOICE_TCP_BIND0, CHOICE_UDP_BIND0, CHOICE_TCP_CONNECT, CHOICE_COUNT };

static const char *const choice_names[CHOICE_COUNT] = {
	"TCP bind() to port 0", "UDP bind() to port 0", "TCP connect()",
};

/*
 * Lets the kernel choose a local port for a new socket by @choice (connect()
 * reaches @listener, at PEER_PORT), then closes it without TIME_WAIT.
 * Returns the port chosen, or -errno.
 */
static int choose_port(enum choice choice, int listener)
{
	struct sockaddr_in addr = {
		.sin_family = AF_INET,
		.sin_addr.s_addr = htonl(INADDR_LOOPBACK),
	};
	int fd, port, conn;

	fd = socket(AF_INET, (choice == CHOICE_UDP_BIND0 ? SOCK_DGRAM : SOCK_STREAM) |
		    SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (choice == CHOICE_TCP_CONNECT) {
		addr.sin_port = htons(PEER_PORT);
		port = connect(fd, (struct sockaddr *)&addr, sizeof(addr)) ? -errno :
		       kpr_local_port(fd);
		if (port > 0) {
			conn = accept(listener, NULL, NULL);
			if (conn >= 0)
				kpr_close_now(conn);
		}
	} else {
		port = bind(fd, (struct sockaddr *)&addr, sizeof(addr)) ? -errno :
		       kpr_local_port(fd);
	}
	if (choice == CHOICE_UDP_BIND0)
		close(fd);
	else
		kpr_close_now(fd);
	return port;
}

/*
 * Holds every port of AUTO_RANGE but AUTO_PORT, for TCP and UDP, in @held
 * (room for 2 * (AUTO_HIGH - AUTO_LOW) sockets). Returns 0 or -errno.
 */
static int hold_all_but_auto_port(int *held)
{
	unsigned int port, n = 0;

	for (port = AUTO_LOW; port <= AUTO_HIGH; port++) {
		if (port == AUTO_PORT)
			continue;
		held[n] = hold(SOCK_STREAM, port);
		held[n + 1] = hold(SOCK_DGRAM, port);
		if (held[n] < 0 || held[n + 1] < 0)
			return held[n] < 0 ? held[n] : held[n + 1];
		n += 2;
	}
	return 0;
}

static void release(int *held, unsigned int count)
{
	unsigned int i;

	for (i = 0; i < count; i++)
		if (held[i] >= 0)
			close(held[i]);
}

TEST_F_TIMEOUT(netns, automatic_choices_skip_the_port_reserved_in_the_namespace, 600)
{
	int held[2 * (AUTO_HIGH - AUTO_LOW)], a, b, listener, port, i;
	char rule[128];

	a = add_netns(self);
	ASSERT_LE(0, a);
	b = add_netns(self);
	ASSERT_LE(0, b);
	snprintf(rule, sizeof(rule), "%d %s\n", AUTO_PORT, self->owner);
	ASSERT_EQ(0, netns_write(self, a, rule));
	/* B has a rule too, for a port outside the range. */
	snprintf(rule, sizeof(rule), "%d %s\n", PORT_B, self->owner);
	ASSERT_EQ(0, netns_write(self, b, rule));

	/* In A, eleven ports to choose from, one of them reserved. */
	ASSERT_EQ(0, enter(a));
	ASSERT_EQ(0, kpr_write_file(PORT_RANGE_SYSCTL, AUTO_RANGE));
	listener = listen_on(PEER_PORT);
	ASSERT_LE(0, listener);
	for (i = 0; i < CHOICES; i++) {
		port = choose_port(i % CHOICE_COUNT, listener);
		ASSERT_TRUE(port >= AUTO_LOW && port <= AUTO_HIGH && port != AUTO_PORT) {
			TH_LOG("choice %d, %s, gave %d", i, choice_names[i % CHOICE_COUNT], port);
		}
	}
	/* With the ten others held, there is none: the reserved one is not taken. */
	memset(held, -1, sizeof(held));
	ASSERT_EQ(0, hold_all_but_auto_port(held));
	for (i = 0; i < CHOICE_COUNT; i++) {
		EXPECT_GT(0, choose_port(i, listener)) {
			TH_LOG("A: %s with the range held", choice_names[i]);
		}
	}
	release(held, ARRAY_SIZE(held));
	close(listener);

	/* In B, with the same range and the same ports held, it is the one chosen. */
	ASSERT_EQ(0, enter(b));
	ASSERT_EQ(0, kpr_write_file(PORT_RANGE_SYSCTL, AUTO_RANGE));
	listener = listen_on(PEER_PORT);
	ASSERT_LE(0, listener);
	memset(held, -1, sizeof(held));
	ASSERT_EQ(0, hold_all_but_auto_port(held));
	for (i = 0; i < CHOICE_COUNT; i++) {
		EXPECT_EQ(AUTO_PORT, choose_port(i, listener)) {
			TH_LOG("B: %s with the range held", choice_names[i]);
		}
	}
	release(held, ARRAY_SIZE(held));
	close(listener);
	ASSERT_EQ(0, enter(self->init_ns));
}

TEST_F(netns, template_holds_in_every_namespace_but_the_initial_one)
{
	char rule[128], *text;
	int early, late, ns[2];
	size_t i;

	early = add_netns(self);
	ASSERT_LE(0, early);
	snprintf(rule, sizeof(rule), "%d %s\n", TEMPLATE_PORT, self->owner);
	ASSERT_EQ(0, kpr_write_file(KPR_NETNS_DEFAULT, rule));
	late = add_netns(self);
	ASSERT_LE(0, late);
	text = kpr_read_policy_file(KPR_NETNS_DEFAULT);
	ASSERT_NE(NULL, text);
	EXPECT_STREQ(rule, text);
	free(text);

	ns[0] = early;
	ns[1] = late;
	for (i = 0; i < ARRAY_SIZE(ns); i++) {
		ASSERT_EQ(0, enter(ns[i]));
		EXPECT_EQ(0, bind_as(self->owner, "tcp", TEMPLATE_PORT));
		EXPECT_EQ(EADDRINUSE, bind_as(self->other, "tcp", TEMPLATE_PORT)) {
			TH_LOG("namespace made %s the template", i ? "after" : "before");
		}
		EXPECT_EQ(EADDRINUSE, bind_as(self->other, "udp", TEMPLATE_PORT));
		/* The template is not the namespace's own layer. */
		text = kpr_read_policy_file(KPR_NETNS);
		ASSERT_NE(NULL, text);
		EXPECT_STREQ("", text);
		free(text);
	}
	ASSERT_EQ(0, enter(self->init_ns));
	EXPECT_EQ(0, bind_as(self->other, "tcp", TEMPLATE_PORT));
	KPR_EXPECT_POLICY("");

	/* Deleted: free everywhere at once. */
	snprintf(rule, sizeof(rule), "delete %d %s\n", TEMPLATE_PORT, self->owner);
	ASSERT_EQ(0, kpr_write_file(KPR_NETNS_DEFAULT, rule));
	for (i = 0; i < ARRAY_SIZE(ns); i++) {
		ASSERT_EQ(0, enter(ns[i]));
		EXPECT_EQ(0, bind_as(self->other, "tcp", TEMPLATE_PORT)) {
			TH_LOG("namespace made %s the template", i ? "after" : "before");
		}
		EXPECT_EQ(0, bind_as(self->other, "udp", TEMPLATE_PORT));
	}
	ASSERT_EQ(0, enter(self->init_ns));
	EXPECT_EQ(0, bind_as(self->other, "tcp", TEMPLATE_PORT));
}

TEST_F(netns, namespace_made_inside_another_starts_empty)
{
	char rule[128], *text;
	int a, nested;

	a = add_netns(self);
	ASSERT_LE(0, a);
	snprintf(rule, sizeof(rule), "%d %s\n", NESTED_PORT, self->owner);
	ASSERT_EQ(0, netns_write(self, a, rule));

	/* Made by this process while in A. */
	ASSERT_EQ(0, enter(a));
	nested = add_netns(self);
	ASSERT_LE(0, nested);
	ASSERT_EQ(0, enter(nested));
	text = kpr_read_policy_file(KPR_NETNS);
	ASSERT_NE(NULL, text);
	EXPECT_STREQ("", text);
	free(text);
	EXPECT_EQ(0, bind_as(self->other, "tcp", NESTED_PORT));

	ASSERT_EQ(0, enter(a));
	EXPECT_EQ(EADDRINUSE, bind_as(self->other, "tcp", NESTED_PORT));
	EXPECT_EQ(0, bind_as(self->owner, "tcp", NESTED_PORT));
	ASSERT_EQ(0, enter(self->init_ns));
	expect_netns_rules(_metadata, self, a, rule);
}

/*
 * As root of a new user namespace, which owns a new network namespace:
 * opening either file for writing must fail with EPERM.
 */
static int user_namespace_root_opens(void)
{
	if (unshare(CLONE_NEWUSER | CLONE_NEWNET))
		return 100;
	/* Mapped to the real uid 0, the files' owner: only the capability is missing. */
	if (kpr_write_file("/proc/self/uid_map", "0 0 1"))
		return 101;
	if (open(KPR_NETNS, O_WRONLY | O_CLOEXEC) >= 0 || errno != EPERM)
		return 1;
	if (open(KPR_NETNS_DEFAULT, O_WRONLY | O_CLOEXEC) >= 0 || errno != EPERM)
		return 2;
	return 0;
}

TEST_F(netns, user_namespace_root_cannot_open_the_files)
{
	int a, fd;

	EXPECT_EQ(0, kpr_in_child(user_namespace_root_opens));

	/* Host root can, in a namespace of its own. */
	a = add_netns(self);
	ASSERT_LE(0, a);
	ASSERT_EQ(0, enter(a));
	fd = open(KPR_NETNS, O_WRONLY | O_CLOEXEC);
	EXPECT_LE(0, fd);
	if (fd >= 0)
		close(fd);
	fd = open(KPR_NETNS_DEFAULT, O_WRONLY | O_CLOEXEC);
	EXPECT_LE(0, fd);
	if (fd >= 0)
		close(fd);
	ASSERT_EQ(0, enter(self->init_ns));
}

TEST_F(netns, netns_file_of_the_initial_namespace_is_invalid)
{
	int fd;

	/* Its rules are in the policy file: one name each. */
	fd = open(KPR_NETNS, O_WRONLY | O_CLOEXEC);
	EXPECT_EQ(-1, fd);
	EXPECT_EQ(EINVAL, errno);
	if (fd >= 0)
		close(fd);
	fd = open(KPR_NETNS, O_RDONLY | O_CLOEXEC);
	EXPECT_EQ(-1, fd);
	EXPECT_EQ(EINVAL, errno);
	if (fd >= 0)
		close(fd);
	/* The template, from anywhere. */
	fd = open(KPR_NETNS_DEFAULT, O_WRONLY | O_CLOEXEC);
	EXPECT_LE(0, fd);
	if (fd >= 0)
		close(fd);
}

/* Waits for the child @pid; returns its exit status, or -1. */
static int wait_status(pid_t pid)
{
	int status;

	if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

TEST_F(netns, write_uses_the_opener_credentials)
{
	char rules[256], rule[128];
	int a, fd;
	ssize_t len;
	pid_t pid;

	a = add_netns(self);
	ASSERT_LE(0, a);
	ASSERT_EQ(0, enter(a));
	fd = open(KPR_NETNS, O_WRONLY | O_CLOEXEC);
	ASSERT_EQ(0, enter(self->init_ns));
	ASSERT_LE(0, fd);

	/* Root without capabilities, in A: cannot open the file, writes through the fd. */
	snprintf(rule, sizeof(rule), "%d %s\n", CRED_PORT, self->owner);
	len = strlen(rule);
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		if (enter(a) || kpr_drop_caps())
			_exit(100);
		if (open(KPR_NETNS, O_WRONLY | O_CLOEXEC) >= 0 || errno != EPERM)
			_exit(1);
		if (open(KPR_NETNS, O_RDONLY | O_CLOEXEC) >= 0 || errno != EPERM)
			_exit(2);
		_exit(write(fd, rule, len) == len ? 0 : 3);
	}
	EXPECT_EQ(0, wait_status(pid));

	/* nobody, in the initial namespace: the file is still A's. */
	snprintf(rules, sizeof(rules), "%s%d %s\n", rule, CRED_PORT + 1, self->owner);
	snprintf(rule, sizeof(rule), "%d %s\n", CRED_PORT + 1, self->owner);
	len = strlen(rule);
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		if (kpr_become_nobody())
			_exit(100);
		_exit(write(fd, rule, len) == len ? 0 : 1);
	}
	EXPECT_EQ(0, wait_status(pid));
	close(fd);

	expect_netns_rules(_metadata, self, a, rules);
	KPR_EXPECT_POLICY("");
	ASSERT_EQ(0, enter(a));
	EXPECT_EQ(EADDRINUSE, bind_as(self->other, "tcp", CRED_PORT));
	EXPECT_EQ(EADDRINUSE, bind_as(self->other, "tcp", CRED_PORT + 1));
	EXPECT_EQ(0, bind_as(self->owner, "tcp", CRED_PORT));
	ASSERT_EQ(0, enter(self->init_ns));
}

/* Sends @count fds over the UNIX socket @sock. Returns 0 or -errno. */
static int send_fds(int sock, const int *fds, unsigned int count)
{
	char control[CMSG_SPACE(4 * sizeof(int))] = {}, byte = 'f';
	struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
	struct msghdr msg = {
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = control,
		.msg_controllen = CMSG_SPACE(count * sizeof(int)),
	};
	struct cmsghdr *cmsg = CMSG_FIRSTHDR(&msg);

	cmsg->cmsg_level = SOL_SOCKET;
	cmsg->cmsg_type = SCM_RIGHTS;
	cmsg->cmsg_len = CMSG_LEN(count * sizeof(int));
	memcpy(CMSG_DATA(cmsg), fds, count * sizeof(int));
	return sendmsg(sock, &msg, 0) == 1 ? 0 : -errno;
}

/* Receives @count fds from the UNIX socket @sock. Returns 0 or -errno. */
static int recv_fds(int sock, int *fds, unsigned int count)
{
	char control[CMSG_SPACE(4 * sizeof(int))] = {}, byte;
	struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
	struct msghdr msg = {
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = control,
		.msg_controllen = CMSG_SPACE(count * sizeof(int)),
	};
	struct cmsghdr *cmsg;

	if (recvmsg(sock, &msg, MSG_CMSG_CLOEXEC) != 1)
		return -EIO;
	cmsg = CMSG_FIRSTHDR(&msg);
	if (!cmsg || cmsg->cmsg_type != SCM_RIGHTS ||
	    cmsg->cmsg_len != CMSG_LEN(count * sizeof(int)))
		return -EPROTO;
	memcpy(fds, CMSG_DATA(cmsg), count * sizeof(int));
	return 0;
}

TEST_F(netns, open_file_keeps_its_namespace)
{
	char rule[128], text[256], lines[256];
	int sv[2], fds[2] = { -1, -1 };
	ssize_t len;
	pid_t pid;

	snprintf(rule, sizeof(rule), "%d %s\n", LIFETIME_PORT, self->owner);
	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		/* The namespace's only process: a rule, two open files, and gone. */
		if (unshare(CLONE_NEWNET) || kpr_write_file(KPR_NETNS, rule))
			_exit(100);
		fds[0] = open(KPR_NETNS, O_RDONLY | O_CLOEXEC);
		fds[1] = open(KPR_NETNS, O_WRONLY | O_CLOEXEC);
		if (fds[0] < 0 || fds[1] < 0)
			_exit(101);
		_exit(send_fds(sv[1], fds, 2) ? 102 : 0);
	}
	close(sv[1]);
	ASSERT_EQ(0, recv_fds(sv[0], fds, 2));
	close(sv[0]);
	ASSERT_EQ(0, wait_status(pid));

	/* No process and no nsfs fd hold the namespace now: the files do. */
	len = read(fds[0], text, sizeof(text) - 1);
	ASSERT_LE(0, len);
	text[len] = '\0';
	EXPECT_STREQ(rule, text);
	snprintf(lines, sizeof(lines), "clear\n%d %s\n", LIFETIME_PORT + 1, self->owner);
	len = strlen(lines);
	EXPECT_EQ(len, write(fds[1], lines, len));
	/* The rule is there to delete once, then no more. */
	snprintf(lines, sizeof(lines), "delete %d %s\n", LIFETIME_PORT + 1, self->owner);
	len = strlen(lines);
	EXPECT_EQ(len, write(fds[1], lines, len));
	EXPECT_EQ(-1, write(fds[1], lines, len));
	EXPECT_EQ(EINVAL, errno);
	/* The last reference: the namespace, and its rules, go. */
	EXPECT_EQ(0, close(fds[0]));
	EXPECT_EQ(0, close(fds[1]));
	KPR_EXPECT_POLICY("");
}

/*
 * The sidecar: connects to the pod's listener again and again, without
 * bind(), keeping up to SIDECAR_OPEN connections open. Returns 0, 1 if a
 * connection got SERVER_PORT, or more on an error.
 */
static int sidecar(int listener)
{
	struct sockaddr_in addr = {
		.sin_family = AF_INET,
		.sin_port = htons(SIDECAR_PEER_PORT),
		.sin_addr.s_addr = htonl(INADDR_LOOPBACK),
	};
	int fds[2 * SIDECAR_OPEN], open_fds = 0, i, fd, conn;

	for (i = 0; i < SIDECAR_CONNECTIONS; i++) {
		fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof(addr)))
			return 2;
		if (kpr_local_port(fd) == SERVER_PORT)
			return 1;
		conn = accept(listener, NULL, NULL);
		if (conn < 0)
			return 3;
		fds[open_fds++] = fd;
		fds[open_fds++] = conn;
		if (open_fds == ARRAY_SIZE(fds)) {
			while (open_fds)
				kpr_close_now(fds[--open_fds]);
		}
	}
	return 0;
}

TEST_F_TIMEOUT(netns, sidecar_never_takes_the_server_port, 600)
{
	unsigned int restarts = 0, failures = 0;
	int pod, listener, status = -1, err;
	bool reaped = false;
	char rule[128];
	pid_t pid;

	pod = add_netns(self);
	ASSERT_LE(0, pod);
	ASSERT_EQ(0, enter(pod));
	ASSERT_EQ(0, kpr_write_file(PORT_RANGE_SYSCTL, "1024 65535"));
	snprintf(rule, sizeof(rule), "%d %s\n", SERVER_PORT, self->owner);
	ASSERT_EQ(0, kpr_write_file(KPR_NETNS, rule));
	EXPECT_EQ(EADDRINUSE, bind_as(self->other, "tcp", SERVER_PORT));
	listener = listen_on(SIDECAR_PEER_PORT);
	ASSERT_LE(0, listener);

	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0)
		_exit(sidecar(listener));
	close(listener);
	/* The server restarts, binding its port each time, while the sidecar connects. */
	while (!reaped || restarts < SERVER_RESTARTS) {
		err = bind_as(self->owner, "tcp", SERVER_PORT);
		if (err) {
			TH_LOG("restart %u: errno %d", restarts, err);
			failures++;
		}
		restarts++;
		if (!reaped && waitpid(pid, &status, WNOHANG) == pid)
			reaped = true;
	}
	ASSERT_EQ(0, enter(self->init_ns));
	TH_LOG("%u server restarts during %d connections", restarts, SIDECAR_CONNECTIONS);
	EXPECT_EQ(0U, failures);
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
}

/* Runs the other program as euid @uid to bind TCP @port; returns the errno of its bind. */
static int bind_as_uid(FIXTURE_DATA(netns) * self, const char *uid, const char *port)
{
	return kpr_runl(self->other, "inet", "tcp", port, uid, NULL);
}

TEST_F(netns, template_reserves_the_proxy_ports_of_every_pod)
{
	int pod;

	/* A service mesh's sidecar proxy, uid 1337, in every pod. */
	ASSERT_EQ(0, kpr_write_file(KPR_NETNS_DEFAULT, "15000-15090 uid:1337\n"));
	pod = add_netns(self);
	ASSERT_LE(0, pod);
	ASSERT_EQ(0, enter(pod));
	EXPECT_EQ(0, bind_as_uid(self, "uid=1337,1337", "15090"));
	EXPECT_EQ(0, bind_as_uid(self, "uid=1337,1337", "15001"));
	/* The application. */
	EXPECT_EQ(EADDRINUSE, bind_as_uid(self, "uid=1000,1000", "15090"));
	EXPECT_EQ(EADDRINUSE, bind_as_uid(self, "uid=1000,1000", "15001"));
	EXPECT_EQ(0, bind_as_uid(self, "uid=1000,1000", "15091"));
	ASSERT_EQ(0, enter(self->init_ns));
	/* Not in the initial namespace. */
	EXPECT_EQ(0, bind_as_uid(self, "uid=1000,1000", "15090"));
}

/* Whether @text holds @key followed by the number @n and no other digit. */
static bool has_number(const char *text, const char *key, unsigned long long n)
{
	char needle[48];
	const char *p = text;

	snprintf(needle, sizeof(needle), "%s%llu", key, n);
	while ((p = strstr(p, needle))) {
		p += strlen(needle);
		if (*p < '0' || *p > '9')
			return true;
	}
	return false;
}

/*
 * Reads the records of the kernel log @kmsg that came since it last did, and
 * copies to @found the first one of a denial of @port: a log line ("... port
 * N: ...") or, with audit on and no audit daemon, a printed audit record
 * ("... lport=N ..."). Returns whether one came.
 */
static bool kmsg_find_denial(int kmsg, unsigned short port, char *found, size_t size)
{
	char record[8192];
	ssize_t len;

	for (;;) {
		len = read(kmsg, record, sizeof(record) - 1);
		/* Records overwritten before they were read: read on. */
		if (len < 0 && errno == EPIPE)
			continue;
		if (len <= 0)
			return false;
		record[len] = '\0';
		if (strstr(record, "kportreserve") &&
		    (has_number(record, " port ", port) || has_number(record, " lport=", port))) {
			snprintf(found, size, "%s", record);
			return true;
		}
	}
}

/*
 * Has the other program bind @port, reserved in the caller's namespace, until
 * the kernel log shows the denial (rate-limited: at most ten lines every five
 * seconds), and expects it to name the namespace @id. Returns the number of
 * denials, or -1.
 */
static int expect_logged_denial(struct __test_metadata *const _metadata,
				FIXTURE_DATA(netns) * self, unsigned short port, __u64 id)
{
	char record[8192];
	int kmsg, tries;
	bool found = false;

	kmsg = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (kmsg < 0 || lseek(kmsg, 0, SEEK_END) < 0) {
		EXPECT_LE(0, kmsg);
		return -1;
	}
	for (tries = 0; tries < REPORT_TRIES && !found; tries++) {
		if (tries)
			sleep(1);
		EXPECT_EQ(EADDRINUSE, bind_as(self->other, "tcp", port));
		found = kmsg_find_denial(kmsg, port, record, sizeof(record));
	}
	close(kmsg);
	EXPECT_TRUE(found) {
		TH_LOG("no denial of port %hu in the kernel log (an audit daemon takes them?)",
		       port);
	}
	if (!found)
		return -1;
	/* Anywhere in the line or the record. */
	EXPECT_TRUE(has_number(record, " netns=", id)) {
		TH_LOG("no netns=%llu in: %s", (unsigned long long)id, record);
	}
	return tries;
}

TEST_F_TIMEOUT(netns, denials_and_counters_name_the_namespace, 120)
{
	char rule[128], expected[512], text[4096];
	__u64 init_id, a_id;
	int a, denials;

	init_id = netns_id();
	ASSERT_NE(0ULL, init_id);
	a = add_netns(self);
	ASSERT_LE(0, a);
	snprintf(rule, sizeof(rule), "%d %s\n", REPORT_PORT, self->owner);
	ASSERT_EQ(0, netns_write(self, a, rule));
	snprintf(rule, sizeof(rule), "%d <kernel>\n", REPORT_TEMPLATE_PORT);
	ASSERT_EQ(0, kpr_write_file(KPR_NETNS_DEFAULT, rule));
	snprintf(rule, sizeof(rule), "%d %s\n", REPORT_INIT_PORT, self->owner);
	ASSERT_EQ(0, kpr_write(rule));

	ASSERT_EQ(0, enter(a));
	a_id = netns_id();
	ASSERT_NE(0ULL, a_id);
	EXPECT_NE(init_id, a_id);
	denials = expect_logged_denial(_metadata, self, REPORT_PORT, a_id);
	EXPECT_EQ(0, bind_as(self->owner, "tcp", REPORT_PORT));
	EXPECT_EQ(EADDRINUSE, bind_as(self->other, "tcp", REPORT_TEMPLATE_PORT));

	/* The namespace's rules, then the template's, each with its layer. */
	snprintf(expected, sizeof(expected),
		 "%d %s allowed=1 denied=%d skipped=0 layer=netns\n"
		 "%d <kernel> allowed=0 denied=1 skipped=0 layer=netns-default\n",
		 REPORT_PORT, self->owner, denials, REPORT_TEMPLATE_PORT);
	ASSERT_EQ(0, kpr_read_file(KPR_COUNTERS, text, sizeof(text)));
	EXPECT_STREQ(expected, text);

	/* The initial namespace: its own id, and its policy alone. */
	ASSERT_EQ(0, enter(self->init_ns));
	denials = expect_logged_denial(_metadata, self, REPORT_INIT_PORT, init_id);
	snprintf(expected, sizeof(expected), "%d %s allowed=0 denied=%d skipped=0\n",
		 REPORT_INIT_PORT, self->owner, denials);
	ASSERT_EQ(0, kpr_read_file(KPR_COUNTERS, text, sizeof(text)));
	EXPECT_STREQ(expected, text);
}

TEST_HARNESS_MAIN
