// SPDX-License-Identifier: GPL-2.0
/*
 * KPortReserve selftests - cgroup subjects
 *
 * A rule may name a cgroup (v2) by its path from the root of the hierarchy:
 * a task in that cgroup or below it may bind the port, whatever program it
 * runs. These tests move themselves between cgroups and bind: in the cgroup,
 * in a child, outside it, in a sibling whose name starts the same, in a fake
 * of the path made inside a cgroup namespace, and in a cgroup removed and
 * created again at the rule's path; and rules that also name a program or a
 * user, which a task must match as well.
 */

#include <grp.h>
#include <sys/mount.h>
#include <sys/vfs.h>

#include "common.h"
#include "../kselftest_harness.h"

#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif
#ifndef CLONE_NEWCGROUP
#define CLONE_NEWCGROUP 0x02000000
#endif

#define CG_ROOT "/sys/fs/cgroup"
#define CG_PORT 21100		/* reserved for the cgroup "svc" */
#define CG_OTHER_PORT 21101	/* reserved for the cgroup "late" */

/* Mounts the cgroup2 hierarchy at CG_ROOT unless it is there. Returns 0 or -errno. */
static int cg_mount(void)
{
	struct statfs fs;

	if (statfs(CG_ROOT, &fs) == 0 && fs.f_type == CGROUP2_SUPER_MAGIC)
		return 0;
	if (mount("none", CG_ROOT, "cgroup2", 0, NULL))
		return -errno;
	return 0;
}

/* Moves the calling task into the cgroup at @dir (a path under CG_ROOT). */
static int cg_enter(const char *dir)
{
	char procs[PATH_MAX];

	snprintf(procs, sizeof(procs), "%s/cgroup.procs", dir);
	return kpr_write_file(procs, "0");
}

FIXTURE(cgroup)
{
	char *saved_policy;
	char top[64];		/* the tests' cgroup, under CG_ROOT */
	char name[32];		/* its name, for the rules */
	char svc[96], child[128], other[96], svcx[96], late[96];
};

FIXTURE_SETUP(cgroup)
{
	char policy[256];
	int err;

	if (!kpr_enabled())
		SKIP(return, "KPortReserve is not enabled");
	err = cg_mount();
	if (err == -ENODEV)
		SKIP(return, "cgroup2 is not built in");
	ASSERT_EQ(0, err);
	self->saved_policy = kpr_save_policy();
	ASSERT_NE(NULL, self->saved_policy);
	snprintf(self->name, sizeof(self->name), "kpr-cg-%d", getpid());
	snprintf(self->top, sizeof(self->top), CG_ROOT "/%s", self->name);
	snprintf(self->svc, sizeof(self->svc), "%s/svc", self->top);
	snprintf(self->child, sizeof(self->child), "%s/svc/child", self->top);
	snprintf(self->other, sizeof(self->other), "%s/other", self->top);
	snprintf(self->svcx, sizeof(self->svcx), "%s/svcx", self->top);
	snprintf(self->late, sizeof(self->late), "%s/late", self->top);
	ASSERT_EQ(0, mkdir(self->top, 0755));
	ASSERT_EQ(0, mkdir(self->svc, 0755));
	ASSERT_EQ(0, mkdir(self->child, 0755));
	ASSERT_EQ(0, mkdir(self->other, 0755));
	ASSERT_EQ(0, mkdir(self->svcx, 0755));
	snprintf(policy, sizeof(policy), "clear\n%d cgroup:/%s/svc\n%d cgroup:/%s/late\n",
		 CG_PORT, self->name, CG_OTHER_PORT, self->name);
	ASSERT_EQ(0, kpr_write(policy));
}

FIXTURE_TEARDOWN(cgroup)
{
	kpr_restore_policy(self->saved_policy);
	/* A cgroup with a task in it cannot be removed. */
	cg_enter(CG_ROOT);
	rmdir(self->child);
	rmdir(self->svc);
	rmdir(self->other);
	rmdir(self->svcx);
	rmdir(self->late);
	rmdir(self->top);
}

TEST_F(cgroup, policy_reads_back)
{
	char expected[256];

	snprintf(expected, sizeof(expected), "%d cgroup:/%s/svc\n%d cgroup:/%s/late\n",
		 CG_PORT, self->name, CG_OTHER_PORT, self->name);
	KPR_EXPECT_POLICY(expected);
}

TEST_F(cgroup, task_in_the_cgroup_binds)
{
	ASSERT_EQ(0, cg_enter(self->svc));
	EXPECT_EQ(0, kpr_bind_tcp(CG_PORT));
}

TEST_F(cgroup, task_in_a_child_cgroup_binds)
{
	ASSERT_EQ(0, cg_enter(self->child));
	EXPECT_EQ(0, kpr_bind_tcp(CG_PORT));
}

TEST_F(cgroup, any_program_in_the_cgroup_binds)
{
	char helper[PATH_MAX];

	/* The cgroup names no program: a child running bind_helper inherits the cgroup. */
	kpr_test_dir(helper, sizeof(helper) - sizeof("/" KPR_HELPER_NAME));
	strcat(helper, "/" KPR_HELPER_NAME);
	ASSERT_EQ(0, cg_enter(self->svc));
	EXPECT_EQ(0, kpr_bind_as(helper, "inet6", "udp", CG_PORT));
	ASSERT_EQ(0, cg_enter(self->other));
	EXPECT_EQ(EADDRINUSE, kpr_bind_as(helper, "inet6", "udp", CG_PORT));
}

TEST_F(cgroup, task_outside_is_denied)
{
	ASSERT_EQ(0, cg_enter(self->other));
	EXPECT_EQ(EADDRINUSE, kpr_bind_tcp(CG_PORT));
	/* The parent of the rule's cgroup is outside it too. */
	ASSERT_EQ(0, cg_enter(self->top));
	EXPECT_EQ(EADDRINUSE, kpr_bind_tcp(CG_PORT));
	ASSERT_EQ(0, cg_enter(CG_ROOT));
	EXPECT_EQ(EADDRINUSE, kpr_bind_tcp(CG_PORT));
	/* Other ports are not the cgroup's business. */
	EXPECT_EQ(0, kpr_bind_tcp(CG_PORT + 10));
}

TEST_F(cgroup, sibling_with_a_longer_name_is_denied)
{
	/* "svcx" starts with "svc": a cgroup matches by path component, not by prefix. */
	ASSERT_EQ(0, cg_enter(self->svcx));
	EXPECT_EQ(EADDRINUSE, kpr_bind_tcp(CG_PORT));
}

TEST_F(cgroup, path_faked_in_a_cgroup_namespace_is_denied)
{
	char fake_top[160], fake_svc[192], seen[256], expected[128];
	int status;
	pid_t pid;

	/* Under "other", the rule's path again: /NAME/svc seen from "other". */
	snprintf(fake_top, sizeof(fake_top), "%s/%s", self->other, self->name);
	snprintf(fake_svc, sizeof(fake_svc), "%s/svc", fake_top);
	ASSERT_EQ(0, mkdir(fake_top, 0755));
	ASSERT_EQ(0, mkdir(fake_svc, 0755));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		if (cg_enter(self->other) || unshare(CLONE_NEWCGROUP) || cg_enter(fake_svc))
			_exit(120);
		/* The task sees itself in the rule's cgroup. */
		snprintf(expected, sizeof(expected), "0::/%s/svc\n", self->name);
		if (kpr_read_file("/proc/self/cgroup", seen, sizeof(seen)) < 0 ||
		    strcmp(seen, expected))
			_exit(121);
		_exit(kpr_bind_tcp(CG_PORT));
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	rmdir(fake_svc);
	rmdir(fake_top);
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(EADDRINUSE, WEXITSTATUS(status));
}

TEST_F(cgroup, cgroup_removed_and_created_again_matches_again)
{
	/* No cgroup at the path: the rule matches nobody, the port stays reserved. */
	EXPECT_EQ(EADDRINUSE, kpr_bind_tcp(CG_OTHER_PORT));
	ASSERT_EQ(0, mkdir(self->late, 0755));
	ASSERT_EQ(0, cg_enter(self->late));
	EXPECT_EQ(0, kpr_bind_tcp(CG_OTHER_PORT));
	ASSERT_EQ(0, cg_enter(self->other));
	ASSERT_EQ(0, rmdir(self->late));
	EXPECT_EQ(EADDRINUSE, kpr_bind_tcp(CG_OTHER_PORT));
	ASSERT_EQ(0, mkdir(self->late, 0755));
	ASSERT_EQ(0, cg_enter(self->late));
	EXPECT_EQ(0, kpr_bind_tcp(CG_OTHER_PORT));
}

TEST_F(cgroup, program_or_cgroup_may_bind)
{
	char dir[64], server[96], policy[256];

	snprintf(dir, sizeof(dir), "/tmp/kpr-cg-%d", getpid());
	snprintf(server, sizeof(server), "%s/server", dir);
	ASSERT_EQ(0, mkdir(dir, 0755));
	ASSERT_EQ(0, kpr_install_helper(server));
	snprintf(policy, sizeof(policy), "%d %s\n", CG_PORT, server);
	ASSERT_EQ(0, kpr_write(policy));
	/* The program, outside the cgroup; any task in the cgroup. */
	ASSERT_EQ(0, cg_enter(self->other));
	EXPECT_EQ(0, kpr_bind_as(server, "inet", "tcp", CG_PORT));
	EXPECT_EQ(EADDRINUSE, kpr_bind_tcp(CG_PORT));
	ASSERT_EQ(0, cg_enter(self->svc));
	EXPECT_EQ(0, kpr_bind_tcp(CG_PORT));
	unlink(server);
	rmdir(dir);
}

TEST_F(cgroup, program_and_cgroup_must_both_match)
{
	char dir[64], server[96], policy[256];

	snprintf(dir, sizeof(dir), "/tmp/kpr-cg-%d", getpid());
	snprintf(server, sizeof(server), "%s/server", dir);
	ASSERT_EQ(0, mkdir(dir, 0755));
	ASSERT_EQ(0, kpr_install_helper(server));
	snprintf(policy, sizeof(policy), "clear\n%d %s cgroup:/%s/svc\n", CG_PORT, server,
		 self->name);
	ASSERT_EQ(0, kpr_write(policy));
	KPR_EXPECT_POLICY(policy + strlen("clear\n"));
	/* The program outside the cgroup; a shell (this test) inside it; then both. */
	ASSERT_EQ(0, cg_enter(self->other));
	EXPECT_EQ(EADDRINUSE, kpr_bind_as(server, "inet", "tcp", CG_PORT));
	ASSERT_EQ(0, cg_enter(self->svc));
	EXPECT_EQ(EADDRINUSE, kpr_bind_tcp(CG_PORT));
	EXPECT_EQ(0, kpr_bind_as(server, "inet", "tcp", CG_PORT));
	ASSERT_EQ(0, cg_enter(self->child));
	EXPECT_EQ(0, kpr_bind_as(server, "inet6", "udp", CG_PORT));
	unlink(server);
	rmdir(dir);
}

/* Binds CG_PORT over TCP in a child moved into @cgroup that then becomes @uid. */
static int bind_in_cgroup_as(const char *cgroup, uid_t uid)
{
	int status;
	pid_t pid;

	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		if (cg_enter(cgroup) || setgroups(0, NULL) || setresgid(uid, uid, uid) ||
		    setresuid(uid, uid, uid))
			_exit(120);
		_exit(kpr_bind_tcp(CG_PORT));
	}
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return -ECHILD;
	return WEXITSTATUS(status);
}

TEST_F(cgroup, cgroup_and_uid_must_both_match)
{
	char policy[256];

	/* A service's cgroup and its User=: its ExecStartPre= run as root is not the service. */
	snprintf(policy, sizeof(policy), "clear\n%d cgroup:/%s/svc uid:1000\n", CG_PORT,
		 self->name);
	ASSERT_EQ(0, kpr_write(policy));
	EXPECT_EQ(EADDRINUSE, bind_in_cgroup_as(self->svc, 0));
	EXPECT_EQ(0, bind_in_cgroup_as(self->svc, 1000));
	EXPECT_EQ(0, bind_in_cgroup_as(self->child, 1000));
	EXPECT_EQ(EADDRINUSE, bind_in_cgroup_as(self->other, 1000));
}

TEST_F(cgroup, unprivileged_task_cannot_join_the_cgroup)
{
	int status;
	pid_t pid;

	/* The rule trusts whoever may write to the cgroup's cgroup.procs: root here. */
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		if (cg_enter(self->other) || kpr_become_nobody())
			_exit(120);
		if (cg_enter(self->svc) != -EACCES)
			_exit(121);
		_exit(kpr_bind_tcp(CG_PORT));
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(EADDRINUSE, WEXITSTATUS(status));
}

TEST_F(cgroup, unprivileged_task_placed_in_the_cgroup_binds)
{
	int status;
	pid_t pid;

	/* Root placed it there (as a service manager does): the user does not matter. */
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		if (cg_enter(self->svc) || kpr_become_nobody())
			_exit(120);
		_exit(kpr_bind_tcp(CG_PORT));
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
}

TEST_HARNESS_MAIN
