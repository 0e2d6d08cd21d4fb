// SPDX-License-Identifier: GPL-2.0
/*
 * KPortReserve selftests - lock-down
 *
 * A "lock" line ends every change of the policy and the mode until reboot,
 * even for CAP_MAC_ADMIN.  This test cannot undo that, so it runs only when
 * KPR_TEST_LOCKDOWN=1 says the machine may be locked (the test guest sets it
 * for its last test), and skips otherwise.
 *
 * Once locked, nothing else may unlock it either: not KUnit's debugfs "run"
 * files, which re-run the LSM's KUnit suites on request (uid 0 may write them
 * without any capability), and whose tests take the policy over while the
 * kernel boots.
 */

#include "common.h"
#include <sys/mount.h>
#include "../kselftest_harness.h"

#define LOCK_PORT 20700

FIXTURE(lockdown)
{
};

FIXTURE_SETUP(lockdown)
{
	const char *allowed = getenv("KPR_TEST_LOCKDOWN");

	if (!kpr_enabled())
		SKIP(return, "KPortReserve is not enabled");
	if (!allowed || strcmp(allowed, "1"))
		SKIP(return, "locks the policy until reboot: set KPR_TEST_LOCKDOWN=1");
}

FIXTURE_TEARDOWN(lockdown)
{
}

/* Returns the errno of writing @text to @path in one write(2), 0 on success. */
static int write_errno(const char *path, const char *text)
{
	int err = kpr_write_file(path, text);

	return err < 0 ? -err : 0;
}

TEST_F(lockdown, lock_line_ends_every_change)
{
	char policy[128], reserved[64], *now;
	struct sockaddr_in addr = {
		.sin_family = AF_INET,
		.sin_port = htons(LOCK_PORT),
	};
	int fd;

	/* A lock in a refused write does not lock. */
	snprintf(policy, sizeof(policy), "clear\n%d <kernel>\nlock\nbad line\n", LOCK_PORT);
	ASSERT_EQ(EINVAL, write_errno(KPR_POLICY, policy));
	ASSERT_EQ(0, kpr_write("clear\n"));

	snprintf(policy, sizeof(policy), "clear\n%d <kernel>\nlock\n", LOCK_PORT);
	ASSERT_EQ(0, kpr_write(policy));

	/* Reading still works, and says the policy is locked. */
	now = kpr_read();
	ASSERT_NE(NULL, now);
	snprintf(policy, sizeof(policy), "%d <kernel>\nlock\n", LOCK_PORT);
	EXPECT_STREQ(policy, now);
	free(now);
	/* The reserved file lists the locked policy's port. */
	ASSERT_EQ(0, kpr_read_file("/sys/kernel/security/kportreserve/reserved", reserved,
				   sizeof(reserved)));
	snprintf(policy, sizeof(policy), "%d\n", LOCK_PORT);
	EXPECT_STREQ(policy, reserved);

	/* Nothing changes the policy, the mode or the lock any more. */
	EXPECT_EQ(EPERM, write_errno(KPR_POLICY, "clear\n"));
	EXPECT_EQ(EPERM, write_errno(KPR_POLICY, "20701 <kernel>\n"));
	EXPECT_EQ(EPERM, write_errno(KPR_POLICY, "lock\n"));
	EXPECT_EQ(EPERM, write_errno(KPR_MODE, "permissive"));
	EXPECT_EQ(EPERM, write_errno(KPR_MODE, "enforcing"));
	/* Not even opening them for writing: a locked policy has no writers. */
	EXPECT_EQ(-1, open(KPR_POLICY, O_WRONLY | O_CLOEXEC));
	EXPECT_EQ(EPERM, errno);
	EXPECT_EQ(-1, open(KPR_POLICY, O_RDWR | O_CLOEXEC));
	EXPECT_EQ(EPERM, errno);
	EXPECT_EQ(-1, open(KPR_MODE, O_WRONLY | O_CLOEXEC));
	EXPECT_EQ(EPERM, errno);
	/* Reading the mode still works. */
	fd = open(KPR_MODE, O_RDONLY | O_CLOEXEC);
	EXPECT_LE(0, fd);
	if (fd >= 0)
		close(fd);

	/* And the locked policy is enforced. */
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ASSERT_LE(0, fd);
	EXPECT_EQ(-1, bind(fd, (struct sockaddr *)&addr, sizeof(addr)));
	EXPECT_EQ(EADDRINUSE, errno);
	close(fd);
}

/* The KUnit suites whose tests take the policy over, and a port one of them binds. */
static const char *const kunit_suites[] = {
	"kportreserve_net", "kportreserve_securityfs", "kportreserve_boot",
};

#define KUNIT_DIR "/sys/kernel/debug/kunit"
#define KUNIT_BOUND_PORT 40123

/*
 * Holds TCP port @port as the unprivileged user nobody, in a child that lives
 * until @release is closed.  Returns the child's pid, or -1.
 */
static pid_t hold_port_as_nobody(unsigned short port, int release[2])
{
	struct sockaddr_in addr = {
		.sin_family = AF_INET,
		.sin_port = htons(port),
	};
	int ready[2], fd;
	char byte;
	pid_t pid;

	if (pipe(ready) || pipe(release))
		return -1;
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		close(ready[0]);
		close(release[1]);
		fd = socket(AF_INET, SOCK_STREAM, 0);
		if (kpr_become_nobody() || fd < 0 ||
		    bind(fd, (struct sockaddr *)&addr, sizeof(addr)) || listen(fd, 1))
			_exit(1);
		if (write(ready[1], "", 1) != 1)
			_exit(1);
		/* Until the parent closes its end. */
		while (read(release[0], &byte, 1) < 0 && errno == EINTR)
			;
		_exit(0);
	}
	close(ready[1]);
	close(release[0]);
	if (read(ready[0], &byte, 1) != 1) {
		close(ready[0]);
		close(release[1]);
		waitpid(pid, NULL, 0);
		return -1;
	}
	close(ready[0]);
	return pid;
}

TEST_F(lockdown, kunit_rerun_leaves_locked_policy_in_force)
{
	char path[128], results[8192], *before, *after;
	int release[2], status, err;
	unsigned int i;
	pid_t holder;

	/* Locked by the test above, or now. */
	err = write_errno(KPR_POLICY, "lock\n");
	ASSERT_TRUE(err == 0 || err == EPERM);
	if (access(KUNIT_DIR, F_OK))
		mount("debugfs", "/sys/kernel/debug", "debugfs", 0, NULL);
	snprintf(path, sizeof(path), KUNIT_DIR "/%s/run", kunit_suites[0]);
	if (access(path, W_OK))
		SKIP(return, "no KUnit debugfs run file: %s", path);
	before = kpr_read();
	ASSERT_NE(NULL, before);

	/* Another user holds a port a test asserts it gets. */
	holder = hold_port_as_nobody(KUNIT_BOUND_PORT, release);
	ASSERT_LT(0, holder);
	for (i = 0; i < ARRAY_SIZE(kunit_suites); i++) {
		snprintf(path, sizeof(path), KUNIT_DIR "/%s/run", kunit_suites[i]);
		EXPECT_EQ(0, kpr_write_file(path, "1")) {
			TH_LOG("re-running %s", kunit_suites[i]);
		}
	}
	close(release[1]);
	ASSERT_EQ(holder, waitpid(holder, &status, 0));
	EXPECT_TRUE(WIFEXITED(status) && !WEXITSTATUS(status));

	/* The policy, its lock and the mode are as they were. */
	after = kpr_read();
	ASSERT_NE(NULL, after);
	EXPECT_STREQ(before, after);
	EXPECT_EQ(EPERM, write_errno(KPR_POLICY, "clear\n"));
	EXPECT_EQ(EPERM, write_errno(KPR_MODE, "permissive"));
	free(before);
	free(after);

	/* The tests that take the policy over said why they did not run. */
	snprintf(path, sizeof(path), KUNIT_DIR "/%s/results", kunit_suites[0]);
	ASSERT_EQ(0, kpr_read_file(path, results, sizeof(results)));
	EXPECT_NE(NULL, strstr(results, "# SKIP user space runs")) {
		TH_LOG("results: %s", results);
	}
}

TEST_HARNESS_MAIN
