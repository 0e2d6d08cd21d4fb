// SPDX-License-Identifier: GPL-2.0
/*
 * KPortReserve selftests - the counters file
 *
 * /sys/kernel/security/kportreserve/counters reads one line per rule in
 * force, as the policy file spells it, followed by how many binds of its
 * ports the rule allowed, how many were denied (or let through by permissive
 * mode), and how many automatic port choices skipped them.  The counts belong
 * to the rule: a write that keeps the rule keeps them, a rule deleted and
 * added back starts from zero.  The file is read-only.
 *
 * The skipped test narrows the initial namespace's ip_local_port_range: run
 * it on a test machine (the QEMU guest of dev/test), where nothing else picks
 * ports.
 */

#include "common.h"
#include "../kselftest_harness.h"

#define KPR_COUNTERS "/sys/kernel/security/kportreserve/counters"

#define OWNER_PORT 22000	/* reserved by the counters fixture */
#define SECOND_PORT 22001	/* reserved by a later write */
#define FREE_PORT 22002		/* never reserved */

#define RANGE "22010 22011"
#define RANGE_LOW 22010		/* reserved for <kernel> */
#define RANGE_HIGH 22011
#define PEER_PORT 22020		/* the peer of connect(), outside the range */
#define ROUNDS 8

#define PORT_RANGE_SYSCTL "/proc/sys/net/ipv4/ip_local_port_range"

/* Returns true if @text holds @line, without its newline, as one whole line. */
static bool has_line(const char *text, const char *line)
{
	size_t len = strlen(line);

	while (*text) {
		const char *end = strchrnul(text, '\n');

		if ((size_t)(end - text) == len && !strncmp(text, line, len))
			return true;
		text = *end ? end + 1 : end;
	}
	return false;
}

/* Expects the counters file to hold the line of the rule @port @program with these counts. */
static void expect_counts(struct __test_metadata *const _metadata, unsigned short port,
			  const char *program, int allowed, int denied, int skipped)
{
	char line[PATH_MAX + 64], text[4096];

	snprintf(line, sizeof(line), "%hu %s allowed=%d denied=%d skipped=%d",
		 port, program, allowed, denied, skipped);
	ASSERT_EQ(0, kpr_read_file(KPR_COUNTERS, text, sizeof(text)));
	EXPECT_TRUE(has_line(text, line)) {
		TH_LOG("no line \"%s\" in the counters file:\n%s", line, text);
	}
}

/*
 * Saves the mode in @saved and enforces: a test machine may have booted
 * permissive, where no bind is denied.
 */
static int save_mode_and_enforce(char *saved, size_t size)
{
	int err = kpr_read_file(KPR_MODE, saved, size);

	if (err)
		return err;
	return strcmp(saved, "enforcing\n") ? kpr_write_file(KPR_MODE, "enforcing\n") : 0;
}

/* Puts back the mode @saved, if any, and only if it changed: a mode change is audited. */
static void restore_mode(const char *saved)
{
	char mode[32];

	if (saved[0] && !kpr_read_file(KPR_MODE, mode, sizeof(mode)) && strcmp(mode, saved))
		kpr_write_file(KPR_MODE, saved);
}

/* The policy and the mode a test found, put back after it. */
struct saved_state {
	char *policy;
	char mode[32];
};

/* Saves the policy and the mode in @saved, and enforces; non-zero on error. */
static int save_state_and_enforce(struct saved_state *saved)
{
	saved->policy = kpr_save_policy();
	if (!saved->policy)
		return -1;
	return save_mode_and_enforce(saved->mode, sizeof(saved->mode));
}

static void saved_state_restore(const struct saved_state *saved)
{
	restore_mode(saved->mode);
	kpr_restore_policy(saved->policy);
}

FIXTURE(counters)
{
	struct saved_state saved;
	char dir[64];
	char owner[96];		/* OWNER_PORT is reserved for it */
	char second[96];	/* another program a rule may name */
	char other[96];		/* named by no rule */
};

FIXTURE_SETUP(counters)
{
	char policy[256];

	if (!kpr_enabled())
		SKIP(return, "KPortReserve is not enabled");
	if (access(KPR_COUNTERS, F_OK))
		SKIP(return, "KPortReserve has no counters file");
	ASSERT_EQ(0, save_state_and_enforce(&self->saved));

	snprintf(self->dir, sizeof(self->dir), "/tmp/kpr-counters-%d", getpid());
	snprintf(self->owner, sizeof(self->owner), "%s/owner", self->dir);
	snprintf(self->second, sizeof(self->second), "%s/second", self->dir);
	snprintf(self->other, sizeof(self->other), "%s/other", self->dir);
	ASSERT_EQ(0, mkdir(self->dir, 0755));
	ASSERT_EQ(0, kpr_install_helper(self->owner));
	ASSERT_EQ(0, kpr_install_helper(self->second));
	ASSERT_EQ(0, kpr_install_helper(self->other));

	snprintf(policy, sizeof(policy), "%d %s\n", OWNER_PORT, self->owner);
	ASSERT_EQ(0, kpr_write(policy));
}

FIXTURE_TEARDOWN(counters)
{
	saved_state_restore(&self->saved);
	unlink(self->owner);
	unlink(self->second);
	unlink(self->other);
	rmdir(self->dir);
}

TEST_F(counters, allowed_and_denied_binds_are_counted_on_the_rule)
{
	char expected[PATH_MAX + 64], text[4096];

	EXPECT_EQ(0, kpr_bind_as(self->owner, "inet", "tcp", OWNER_PORT));
	EXPECT_EQ(0, kpr_bind_as(self->owner, "inet", "tcp", OWNER_PORT));
	EXPECT_EQ(EADDRINUSE, kpr_bind_as(self->other, "inet", "tcp", OWNER_PORT));
	/* A port no rule covers counts nowhere. */
	EXPECT_EQ(0, kpr_bind_as(self->other, "inet", "tcp", FREE_PORT));

	snprintf(expected, sizeof(expected), "%d %s allowed=2 denied=1 skipped=0\n",
		 OWNER_PORT, self->owner);
	ASSERT_EQ(0, kpr_read_file(KPR_COUNTERS, text, sizeof(text)));
	EXPECT_STREQ(expected, text);
}

TEST_F(counters, denial_is_counted_on_every_rule_of_the_port)
{
	char policy[256];

	snprintf(policy, sizeof(policy), "%d %s\n", OWNER_PORT, self->second);
	ASSERT_EQ(0, kpr_write(policy));
	EXPECT_EQ(EADDRINUSE, kpr_bind_as(self->other, "inet", "tcp", OWNER_PORT));
	/* An allowed bind counts on the rule that names the program only. */
	EXPECT_EQ(0, kpr_bind_as(self->second, "inet", "tcp", OWNER_PORT));

	expect_counts(_metadata, OWNER_PORT, self->owner, 0, 1, 0);
	expect_counts(_metadata, OWNER_PORT, self->second, 1, 1, 0);
}

TEST_F(counters, write_that_keeps_a_rule_keeps_its_counts)
{
	char policy[256], expected[PATH_MAX + 64], text[4096];

	EXPECT_EQ(0, kpr_bind_as(self->owner, "inet", "tcp", OWNER_PORT));
	EXPECT_EQ(0, kpr_bind_as(self->owner, "inet", "tcp", OWNER_PORT));
	EXPECT_EQ(EADDRINUSE, kpr_bind_as(self->other, "inet", "tcp", OWNER_PORT));

	/* Adding a rule, without clear, leaves the rules in force as they are. */
	snprintf(policy, sizeof(policy), "%d %s\n", SECOND_PORT, self->owner);
	ASSERT_EQ(0, kpr_write(policy));
	expect_counts(_metadata, OWNER_PORT, self->owner, 2, 1, 0);
	expect_counts(_metadata, SECOND_PORT, self->owner, 0, 0, 0);
	EXPECT_EQ(0, kpr_bind_as(self->owner, "inet", "tcp", SECOND_PORT));

	/* Deleted in one write and added back in another: a new rule. */
	snprintf(policy, sizeof(policy), "delete %d %s\n", OWNER_PORT, self->owner);
	ASSERT_EQ(0, kpr_write(policy));
	snprintf(expected, sizeof(expected), "%d %s allowed=1 denied=0 skipped=0\n",
		 SECOND_PORT, self->owner);
	ASSERT_EQ(0, kpr_read_file(KPR_COUNTERS, text, sizeof(text)));
	EXPECT_STREQ(expected, text);

	snprintf(policy, sizeof(policy), "%d %s\n", OWNER_PORT, self->owner);
	ASSERT_EQ(0, kpr_write(policy));
	expect_counts(_metadata, OWNER_PORT, self->owner, 0, 0, 0);
	expect_counts(_metadata, SECOND_PORT, self->owner, 1, 0, 0);
}

TEST_F(counters, permissive_mode_counts_would_be_denials)
{
	/* The teardown puts the mode back. */
	ASSERT_EQ(0, kpr_write_file(KPR_MODE, "permissive\n"));
	EXPECT_EQ(0, kpr_bind_as(self->other, "inet", "tcp", OWNER_PORT));
	expect_counts(_metadata, OWNER_PORT, self->owner, 0, 1, 0);
}

TEST_F(counters, file_is_root_only_and_read_only)
{
	char expected[PATH_MAX + 64], text[4096], *policy;
	struct stat st;

	/* No group or other access: the counts tell which programs bind what. */
	ASSERT_EQ(0, stat(KPR_COUNTERS, &st));
	EXPECT_TRUE(S_ISREG(st.st_mode));
	EXPECT_EQ((mode_t)0, st.st_mode & 077);
	EXPECT_EQ((uid_t)0, st.st_uid);

	policy = kpr_read();
	ASSERT_NE(NULL, policy);
	/* Neither a command nor a line as it reads back is taken. */
	EXPECT_NE(0, kpr_write_file(KPR_COUNTERS, "clear\n"));
	snprintf(expected, sizeof(expected), "%d %s allowed=0 denied=0 skipped=0\n",
		 OWNER_PORT, self->owner);
	EXPECT_NE(0, kpr_write_file(KPR_COUNTERS, expected));
	KPR_EXPECT_POLICY(policy);
	free(policy);

	ASSERT_EQ(0, kpr_read_file(KPR_COUNTERS, text, sizeof(text)));
	EXPECT_STREQ(expected, text);
}

TEST_F(counters, empty_policy_gives_an_empty_file)
{
	char text[4096];

	ASSERT_EQ(0, kpr_write("clear\n"));
	ASSERT_EQ(0, kpr_read_file(KPR_COUNTERS, text, sizeof(text)));
	EXPECT_STREQ("", text);
}

/* Automatic port choice in a local port range of two ports, the lower one reserved. */
FIXTURE(skipped)
{
	struct saved_state saved;
	char saved_range[64];
	int listener;
};

FIXTURE_SETUP(skipped)
{
	struct sockaddr_in peer = {
		.sin_family = AF_INET,
		.sin_port = htons(PEER_PORT),
		.sin_addr.s_addr = htonl(INADDR_LOOPBACK),
	};
	char policy[64];
	int one = 1;

	self->listener = -1;
	if (!kpr_enabled())
		SKIP(return, "KPortReserve is not enabled");
	if (access(KPR_COUNTERS, F_OK))
		SKIP(return, "KPortReserve has no counters file");
	ASSERT_EQ(0, save_state_and_enforce(&self->saved));
	ASSERT_EQ(0, kpr_read_file(PORT_RANGE_SYSCTL, self->saved_range,
				   sizeof(self->saved_range)));
	ASSERT_EQ(0, kpr_write_file(PORT_RANGE_SYSCTL, RANGE));
	snprintf(policy, sizeof(policy), "%d <kernel>\n", RANGE_LOW);
	ASSERT_EQ(0, kpr_write(policy));

	self->listener = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ASSERT_LE(0, self->listener);
	setsockopt(self->listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	ASSERT_EQ(0, bind(self->listener, (struct sockaddr *)&peer, sizeof(peer)));
	ASSERT_EQ(0, listen(self->listener, ROUNDS));
}

FIXTURE_TEARDOWN(skipped)
{
	if (self->listener >= 0)
		close(self->listener);
	if (self->saved_range[0])
		kpr_write_file(PORT_RANGE_SYSCTL, self->saved_range);
	saved_state_restore(&self->saved);
}

/* Binds a new TCP socket to port 0; returns the port chosen, or -errno. */
static int bind0_port(void)
{
	struct sockaddr_in any = { .sin_family = AF_INET };
	int fd, port;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	port = bind(fd, (struct sockaddr *)&any, sizeof(any)) ? -errno : kpr_local_port(fd);
	close(fd);
	return port;
}

/* Connects a new, unbound TCP socket to @listener; returns the port chosen, or -errno. */
static int connect_port(int listener)
{
	struct sockaddr_in peer = {
		.sin_family = AF_INET,
		.sin_port = htons(PEER_PORT),
		.sin_addr.s_addr = htonl(INADDR_LOOPBACK),
	};
	int fd, port, conn;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	port = connect(fd, (struct sockaddr *)&peer, sizeof(peer)) ? -errno : kpr_local_port(fd);
	if (port > 0) {
		conn = accept(listener, NULL, NULL);
		if (conn >= 0)
			kpr_close_now(conn);
	}
	/* A reset, not TIME_WAIT: the next round finds RANGE_HIGH free. */
	kpr_close_now(fd);
	return port;
}

TEST_F(skipped, automatic_choices_count_on_the_rule_they_skip)
{
	char prefix[64], text[4096], *line, *end;
	unsigned long skipped;
	int i, port;

	/*
	 * connect() tries the ports of the range's lower parity first, so each
	 * call meets RANGE_LOW; bind() to port 0 starts from the other parity,
	 * and may never look at it.
	 */
	for (i = 0; i < ROUNDS; i++) {
		port = bind0_port();
		ASSERT_EQ(RANGE_HIGH, port)
			TH_LOG("bind() round %d chose %d", i, port);
		port = connect_port(self->listener);
		ASSERT_EQ(RANGE_HIGH, port)
			TH_LOG("connect() round %d chose %d", i, port);
	}

	/* No bind named the port: only skipped counts. */
	snprintf(prefix, sizeof(prefix), "%d <kernel> allowed=0 denied=0 skipped=", RANGE_LOW);
	ASSERT_EQ(0, kpr_read_file(KPR_COUNTERS, text, sizeof(text)));
	line = strstr(text, prefix);
	ASSERT_TRUE(line && (line == text || line[-1] == '\n')) {
		TH_LOG("no line \"%s...\" in the counters file:\n%s", prefix, text);
	}
	line += strlen(prefix);
	errno = 0;
	skipped = strtoul(line, &end, 10);
	EXPECT_TRUE(end != line && *end == '\n' && !errno) {
		TH_LOG("bad count in the counters file:\n%s", text);
	}
	EXPECT_LE(1UL, skipped);
}

TEST_HARNESS_MAIN
