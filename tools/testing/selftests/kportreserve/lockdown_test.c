// SPDX-License-Identifier: GPL-2.0
/*
 * KPortReserve selftests - lock-down
 *
 * A "lock" line ends every change of the policy and the mode until reboot,
 * even for CAP_MAC_ADMIN.  This test cannot undo that, so it runs only when
 * KPR_TEST_LOCKDOWN=1 says the machine may be locked (the test guest sets it
 * for its last test), and skips otherwise.
 */

#include "common.h"
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
	char policy[128], *now;
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

TEST_HARNESS_MAIN
