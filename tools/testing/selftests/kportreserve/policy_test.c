// SPDX-License-Identifier: GPL-2.0
/*
 * KPortReserve selftests - the policy file ABI
 *
 * Who may read and write /sys/kernel/security/kportreserve/policy, the
 * canonical text it reads back, and the transactions writes make: all or
 * nothing, lines split across writes, errors returned by close(), large
 * policies; and the reserved file, the port list any user may read.
 */

#include "common.h"
#include "../kselftest_harness.h"

#define KPR_RESERVED "/sys/kernel/security/kportreserve/reserved"

FIXTURE(policy)
{
	char *saved_policy;
	char *saved;
};

FIXTURE_SETUP(policy)
{
	if (!kpr_enabled())
		SKIP(return, "KPortReserve is not enabled");
	self->saved_policy = kpr_save_policy();
	ASSERT_NE(NULL, self->saved_policy);
	ASSERT_EQ(0, kpr_write("clear\n"));
	self->saved = NULL;
}

FIXTURE_TEARDOWN(policy)
{
	free(self->saved);
	kpr_restore_policy(self->saved_policy);
}

TEST_F(policy, lsm_is_listed)
{
	char buf[512] = {};
	int fd = open(KPR_LSM_LIST, O_RDONLY);

	ASSERT_LE(0, fd);
	ASSERT_LT(0, read(fd, buf, sizeof(buf) - 1));
	close(fd);
	EXPECT_NE(NULL, strstr(buf, "kportreserve"));
}

TEST_F(policy, file_is_0600_root)
{
	struct stat st;

	ASSERT_EQ(0, stat(KPR_POLICY, &st));
	EXPECT_EQ(S_IFREG | 0600, st.st_mode);
	EXPECT_EQ(0, st.st_uid);
}

TEST_F(policy, reads_back_canonical_and_sorted)
{
	ASSERT_EQ(0, kpr_write("# services\n\n9000\t/usr/bin/z\n100-200 /srv/my\\040app\n"
			       "100 <kernel>\n100 /a\\\\b\n  100   /a\\\\b\t\n"));
	KPR_EXPECT_POLICY("100 <kernel>\n100 /a\\\\b\n100-200 /srv/my\\040app\n9000 /usr/bin/z\n");
}

TEST_F(policy, round_trip)
{
	char *first, *second;

	ASSERT_EQ(0, kpr_write("443 /usr/sbin/nginx\n80-81 /usr/sbin/nginx\n"
			       "53 <kernel>\n8080 /opt/a\\303\\251\n"));
	first = kpr_read();
	ASSERT_NE(NULL, first);
	ASSERT_EQ(0, kpr_write("clear\n"));
	KPR_EXPECT_POLICY("");
	ASSERT_EQ(0, kpr_write(first));
	second = kpr_read();
	ASSERT_NE(NULL, second);
	EXPECT_STREQ(first, second);
	free(first);
	free(second);
}

TEST_F(policy, bad_input_leaves_policy_unchanged)
{
	static const char *const bad[] = {
		"0 /a\n",		/* port 0 is never reserved */
		"010 /a\n",		/* no leading zeros */
		"+80 /a\n",		/* no sign */
		"65536 /a\n",
		"90-80 /a\n",
		"80 a/relative\n",
		"80 /a//b\n",
		"80 /a/../b\n",
		"80 /a b\n",		/* spaces must be escaped */
		"80 /a\\x\n",
		"80 /a\\101\n",		/* needless escape */
		"80\n",
		"delete 99 /not/there\n",
		"clear all\n",
		"81 /fine\n82 /fine\nbogus\n",	/* the good lines do not apply either */
	};
	unsigned int i;

	ASSERT_EQ(0, kpr_write("80 /usr/sbin/server\n"));
	self->saved = kpr_read();
	ASSERT_NE(NULL, self->saved);
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		EXPECT_EQ(-EINVAL, kpr_write(bad[i])) {
			TH_LOG("accepted: %s", bad[i]);
		}
		KPR_EXPECT_POLICY(self->saved);
	}
}

TEST_F(policy, write_is_one_transaction)
{
	ASSERT_EQ(0, kpr_write("80 /old\n"));
	/* clear and new rules in one write: an atomic replace. */
	ASSERT_EQ(0, kpr_write("clear\n81 /new\n82 /new\n"));
	KPR_EXPECT_POLICY("81 /new\n82 /new\n");
	/* Lines apply in order. */
	ASSERT_EQ(0, kpr_write("delete 81 /new\n81 /newer\ndelete 82 /new\n"));
	KPR_EXPECT_POLICY("81 /newer\n");
	/* A duplicate add changes nothing; a delete of an absent rule fails. */
	ASSERT_EQ(0, kpr_write("81 /newer\n"));
	KPR_EXPECT_POLICY("81 /newer\n");
	EXPECT_EQ(-EINVAL, kpr_write("delete 81 /newer\ndelete 81 /newer\n"));
	KPR_EXPECT_POLICY("81 /newer\n");
}

TEST_F(policy, lines_split_across_writes)
{
	static const char *const chunks[] = {
		"300", "00 /bin/", "a\n30001 /b", "in/b\n", "30002 /last/without/newline",
	};
	unsigned int i;
	int fd;

	fd = open(KPR_POLICY, O_WRONLY);
	ASSERT_LE(0, fd);
	for (i = 0; i < ARRAY_SIZE(chunks); i++)
		ASSERT_EQ((ssize_t)strlen(chunks[i]), write(fd, chunks[i], strlen(chunks[i])));
	/* The last line is applied when the file is closed. */
	KPR_EXPECT_POLICY("30000 /bin/a\n30001 /bin/b\n");
	ASSERT_EQ(0, close(fd));
	KPR_EXPECT_POLICY("30000 /bin/a\n30001 /bin/b\n30002 /last/without/newline\n");
}

TEST_F(policy, close_returns_the_error_of_a_last_line)
{
	int fd, dup_fd;

	ASSERT_EQ(0, kpr_write("40000 /kept\n"));
	fd = open(KPR_POLICY, O_WRONLY);
	ASSERT_LE(0, fd);
	ASSERT_EQ(3, write(fd, "bad", 3));
	/* As `echo -n bad > policy`: close() is where the writer learns. */
	errno = 0;
	EXPECT_EQ(-1, close(fd));
	EXPECT_EQ(EINVAL, errno);
	KPR_EXPECT_POLICY("40000 /kept\n");

	/* Each close() of a descriptor applies what is pending, once. */
	fd = open(KPR_POLICY, O_WRONLY);
	ASSERT_LE(0, fd);
	dup_fd = dup(fd);
	ASSERT_LE(0, dup_fd);
	ASSERT_EQ(14, write(fd, "40001 /applied", 14));
	EXPECT_EQ(0, close(dup_fd));
	KPR_EXPECT_POLICY("40000 /kept\n40001 /applied\n");
	EXPECT_EQ(0, close(fd));
	KPR_EXPECT_POLICY("40000 /kept\n40001 /applied\n");
}

/*
 * Each of the eight writes is a transaction over every rule written so far:
 * under KASAN and lockdep in an emulated guest the whole load takes tens of
 * seconds, near the harness's default 30 s limit.  What is tested is the
 * outcome, not the speed (dev/bench measures loads).
 */
TEST_F_TIMEOUT(policy, one_mebibyte_policy_loads_like_cat, 180)
{
	const size_t chunk = 128 * 1024;	/* what cat(1) writes at a time */
	size_t size = 0, cap = 1536 * 1024, off;
	char *text = malloc(cap), *back;
	unsigned int port;
	int fd;

	ASSERT_NE(NULL, text);
	for (port = 1; size < 1024 * 1024; port++)
		size += snprintf(text + size, cap - size,
				 "%u /usr/lib/kportreserve/selftest/daemon-%05u\n", port, port);
	fd = open(KPR_POLICY, O_WRONLY);
	ASSERT_LE(0, fd);
	for (off = 0; off < size; off += chunk) {
		size_t len = size - off < chunk ? size - off : chunk;

		ASSERT_EQ((ssize_t)len, write(fd, text + off, len));
	}
	ASSERT_EQ(0, close(fd));
	back = kpr_read();
	ASSERT_NE(NULL, back);
	EXPECT_EQ(size, strlen(back));
	EXPECT_EQ(0, strcmp(text, back));
	free(back);
	free(text);
}

TEST_F(policy, oversized_write_is_refused)
{
	size_t len = (4 << 20) + 1;
	char *text = malloc(len);

	ASSERT_NE(NULL, text);
	memset(text, '\n', len);
	EXPECT_EQ(-E2BIG, kpr_write_len(text, len));
	free(text);
}

/* Returns the errno of opening the policy with @flags, 0 on success. */
static int open_errno(int flags)
{
	int fd = open(KPR_POLICY, flags);

	if (fd < 0)
		return errno;
	close(fd);
	return 0;
}

static int as_nobody(void)
{
	if (setresgid(65534, 65534, 65534) || setresuid(65534, 65534, 65534))
		return 200;
	if (open_errno(O_RDONLY) != EACCES)
		return 1;
	return open_errno(O_WRONLY) == EACCES ? 0 : 2;
}

static int as_root_without_capabilities(void)
{
	if (kpr_drop_caps())
		return 200;
	/* uid 0 owns the file, so only the capability check stops it. */
	if (open_errno(O_RDONLY) != EPERM)
		return 1;
	if (open(KPR_MODE, O_RDONLY) >= 0 || errno != EPERM)
		return 3;
	return open_errno(O_WRONLY) == EPERM ? 0 : 2;
}

static int as_user_namespace_root(void)
{
	/* Root of a new user namespace, even mapped to the real uid 0. */
	if (unshare(CLONE_NEWUSER))
		return 200;
	if (kpr_write_file("/proc/self/uid_map", "0 0 1"))
		return 201;
	if (open_errno(O_RDONLY) != EPERM)
		return 1;
	return open_errno(O_WRONLY) == EPERM ? 0 : 2;
}

static int opener_credentials_decide(void)
{
	int fd = open(KPR_POLICY, O_WRONLY);
	int ok;

	if (fd < 0)
		return 200;
	/* Dropping capabilities after open(2) does not revoke the opener's right. */
	if (kpr_drop_caps())
		return 201;
	ok = write(fd, "31000 /opened/by/root\n", 22) == 22;
	close(fd);
	return ok ? 0 : 1;
}

/* As nobody, reads the reserved file and compares it with $KPR_EXPECTED. */
static int nobody_reads_reserved(void)
{
	char buf[256];

	if (kpr_become_nobody())
		return 200;
	if (kpr_read_file(KPR_RESERVED, buf, sizeof(buf)))
		return 1;
	return strcmp(buf, getenv("KPR_EXPECTED")) ? 2 : 0;
}

/* Expects the reserved file to read @expected, as root and as nobody. */
static void expect_reserved(struct __test_metadata *const _metadata, const char *expected)
{
	char buf[256];

	ASSERT_EQ(0, kpr_read_file(KPR_RESERVED, buf, sizeof(buf)));
	EXPECT_STREQ(expected, buf);
	ASSERT_EQ(0, setenv("KPR_EXPECTED", expected, 1));
	EXPECT_EQ(0, kpr_in_child(nobody_reads_reserved));
}

/* Expects reserved_@protocol to read @expected. */
static void expect_reserved_for(struct __test_metadata *const _metadata, const char *protocol,
				const char *expected)
{
	char path[128], buf[256];
	struct stat st;

	snprintf(path, sizeof(path), "%s_%s", KPR_RESERVED, protocol);
	ASSERT_EQ(0, stat(path, &st));
	EXPECT_EQ(0444, st.st_mode & 07777);
	ASSERT_EQ(0, kpr_read_file(path, buf, sizeof(buf)));
	EXPECT_STREQ(expected, buf) {
		TH_LOG("%s", path);
	}
}

TEST_F(policy, reserved_per_protocol_follows_the_selectors)
{
	ASSERT_EQ(0, kpr_write("31001/tcp /a\n31002/udp /a\n31003 /a\n31004/tcp /b\n"
			       "31004/sctp uid:7\n31010-31020/udp <kernel>\n"));
	expect_reserved(_metadata, "31001-31004,31010-31020\n");
	expect_reserved_for(_metadata, "tcp", "31001,31003-31004\n");
	expect_reserved_for(_metadata, "udp", "31002-31003,31010-31020\n");
	expect_reserved_for(_metadata, "sctp", "31003-31004\n");
	ASSERT_EQ(0, kpr_write("delete 31003 /a\n"));
	expect_reserved_for(_metadata, "tcp", "31001,31004\n");
	expect_reserved_for(_metadata, "sctp", "31004\n");
	ASSERT_EQ(0, kpr_write("clear\n"));
	expect_reserved_for(_metadata, "udp", "\n");
}

TEST_F(policy, atoms_and_selectors_read_back_canonical)
{
	/* Written in any order of lines; each rule in its one spelling. */
	ASSERT_EQ(0, kpr_write("8080 /srv/api uid:998\n9000 cgroup:/app.service uid:999 gid:5\n"
			       "443/udp /srv/quic\n443/tcp /srv/web\n15000-15090 uid:1337\n"
			       "8080 /srv/api\n"));
	KPR_EXPECT_POLICY("443/tcp /srv/web\n443/udp /srv/quic\n8080 /srv/api uid:998\n"
			  "8080 /srv/api\n9000 cgroup:/app.service uid:999 gid:5\n"
			  "15000-15090 uid:1337\n");
	/* Out of order, repeated, or <kernel> with atoms: EINVAL, nothing applied. */
	EXPECT_EQ(-EINVAL, kpr_write("1 uid:1 /srv/api\n"));
	EXPECT_EQ(-EINVAL, kpr_write("1 uid:1 uid:2\n"));
	EXPECT_EQ(-EINVAL, kpr_write("1 <kernel> uid:1\n"));
	EXPECT_EQ(-EINVAL, kpr_write("1/tcp6 /srv/api\n"));
	EXPECT_EQ(-EINVAL, kpr_write("1 uid:www-data\n"));
	/* Delete names the rule with its selector and every atom. */
	EXPECT_EQ(-EINVAL, kpr_write("delete 443 /srv/web\n"));
	EXPECT_EQ(-EINVAL, kpr_write("delete 9000 cgroup:/app.service uid:999\n"));
	ASSERT_EQ(0, kpr_write("delete 443/tcp /srv/web\ndelete 8080 /srv/api uid:998\n"));
	KPR_EXPECT_POLICY("443/udp /srv/quic\n8080 /srv/api\n"
			  "9000 cgroup:/app.service uid:999 gid:5\n15000-15090 uid:1337\n");
}

TEST_F(policy, reserved_lists_the_ports_for_anyone)
{
	struct stat st;
	int fd;

	ASSERT_EQ(0, stat(KPR_RESERVED, &st));
	EXPECT_EQ(0444, st.st_mode & 07777);
	expect_reserved(_metadata, "\n");
	ASSERT_EQ(0, kpr_write("31005 /a\n31001-31003 /a\n31002 <kernel>\n31004 /b\n"
			       "31010-31020 cgroup:/c\n31012 /d\n65535 /e\n"));
	/* Ranges merged where they overlap or touch: the numbers, not the owners. */
	expect_reserved(_metadata, "31001-31005,31010-31020,65535\n");
	ASSERT_EQ(0, kpr_write("delete 31004 /b\n"));
	expect_reserved(_metadata, "31001-31003,31005,31010-31020,65535\n");
	/* A refused write changes nothing. */
	ASSERT_NE(0, kpr_write("31030 /f\nbad\n"));
	expect_reserved(_metadata, "31001-31003,31005,31010-31020,65535\n");
	ASSERT_EQ(0, kpr_write("clear\n"));
	expect_reserved(_metadata, "\n");
	/* Nobody may write it, not even root, who may open it for writing. */
	fd = open(KPR_RESERVED, O_WRONLY);
	if (fd >= 0) {
		EXPECT_GT(0, write(fd, "1\n", 2));
		close(fd);
	}
	expect_reserved(_metadata, "\n");
}

TEST_F(policy, unprivileged_user_cannot_open)
{
	EXPECT_EQ(0, kpr_in_child(as_nobody));
}

TEST_F(policy, root_without_cap_mac_admin_cannot_open)
{
	EXPECT_EQ(0, kpr_in_child(as_root_without_capabilities));
}

TEST_F(policy, user_namespace_root_cannot_open)
{
	EXPECT_EQ(0, kpr_in_child(as_user_namespace_root));
}

TEST_F(policy, write_uses_opener_credentials)
{
	EXPECT_EQ(0, kpr_in_child(opener_credentials_decide));
	KPR_EXPECT_POLICY("31000 /opened/by/root\n");
}

TEST_HARNESS_MAIN
