// SPDX-License-Identifier: GPL-2.0
/*
 * KPortReserve selftests - the policy in force at boot
 *
 * The built-in policy file (CONFIG_SECURITY_KPORTRESERVE_BOOT_POLICY, here
 * boot_test.policy) and the kportreserve.policy= and kportreserve.mode=
 * kernel parameters are in force before PID 1 runs.  The test guest boots
 * with the values below (see dev/test and dev/kernel-debug.config) and runs
 * this test first, before anything writes the policy; elsewhere it skips.
 */

#include "common.h"
#include "../kselftest_harness.h"

/* The parameters dev/test boots with. */
#define BOOT_POLICY_PARAM \
	"kportreserve.policy=\"# set by dev/test;10990 <kernel>;10991-10992 /bin/boot\\073test;" \
	"7001 /usr/sbin/afs-fileserver;16385 /usr/sbin/rds-owner;" \
	"10993/udp /bin/boot uid:0 gid:0\""
#define BOOT_MODE_PARAM "kportreserve.mode=permissive"

/*
 * What they put in force, the built-in policy's rule and the command line's,
 * read back sorted by port; ";" ends a line, "\073" is a ";" in a path.
 */
#define BOOT_POLICY_IN_FORCE \
	"7001 /usr/sbin/afs-fileserver\n" \
	"10989 /usr/sbin/kconfig-boot-policy\n" \
	"10990 <kernel>\n" \
	"10991-10992 /bin/boot;test\n" \
	"10993/udp /bin/boot uid:0 gid:0\n" \
	"16385 /usr/sbin/rds-owner\n"

FIXTURE(boot)
{
};

FIXTURE_SETUP(boot)
{
	char cmdline[4096] = {};

	if (!kpr_enabled())
		SKIP(return, "KPortReserve is not enabled");
	ASSERT_EQ(0, kpr_read_file("/proc/cmdline", cmdline, sizeof(cmdline)));
	if (!strstr(cmdline, BOOT_POLICY_PARAM) || !strstr(cmdline, BOOT_MODE_PARAM))
		SKIP(return, "not booted with dev/test's kportreserve.policy= and .mode=");
}

FIXTURE_TEARDOWN(boot)
{
}

TEST_F(boot, policy_is_in_force)
{
	KPR_EXPECT_POLICY(BOOT_POLICY_IN_FORCE);
}

TEST_F(boot, reserved_lists_its_ports)
{
	char reserved[256] = {};

	ASSERT_EQ(0, kpr_read_file("/sys/kernel/security/kportreserve/reserved", reserved,
				   sizeof(reserved)));
	EXPECT_STREQ("7001,10989-10993,16385\n", reserved);
	ASSERT_EQ(0, kpr_read_file("/sys/kernel/security/kportreserve/reserved_tcp", reserved,
				   sizeof(reserved)));
	EXPECT_STREQ("7001,10989-10992,16385\n", reserved);
	ASSERT_EQ(0, kpr_read_file("/sys/kernel/security/kportreserve/reserved_udp", reserved,
				   sizeof(reserved)));
	EXPECT_STREQ("7001,10989-10993,16385\n", reserved);
}

TEST_F(boot, mode_is_permissive)
{
	char mode[32] = {};

	ASSERT_EQ(0, kpr_read_file(KPR_MODE, mode, sizeof(mode)));
	EXPECT_STREQ("permissive\n", mode);
}

TEST_HARNESS_MAIN
