// SPDX-License-Identifier: GPL-2.0
/*
 * KPortReserve selftests - program identity
 *
 * A rule names a program by path. These tests try to pass for that program
 * without being it: replacing mm->exe_file with prctl(PR_SET_MM), bind
 * mounting another binary over the path in a private mount namespace, and
 * running another binary at the same path inside a chroot, and outliving a
 * filesystem so that another file gets its device and inode numbers. They
 * also check that every change of what the path names counts at the next
 * bind: a binary replaced (a package upgrade) or written again, a symbolic
 * link flipped or created again, a directory's search permission. And a
 * rule that names a user too: another user's code preloaded into the
 * program is not it, and the effective ids decide, as setresuid() leaves them.
 */

#include <grp.h>
#include <sys/mount.h>

#include "common.h"
#include "../kselftest_harness.h"

#define ID_PORT 21000

FIXTURE(identity)
{
	char *saved_policy;
	char dir[64];
	char server[96];
	char impostor[96];
	char port[16];
};

FIXTURE_SETUP(identity)
{
	char policy[256];

	if (!kpr_enabled())
		SKIP(return, "KPortReserve is not enabled");
	self->saved_policy = kpr_save_policy();
	ASSERT_NE(NULL, self->saved_policy);
	snprintf(self->dir, sizeof(self->dir), "/tmp/kpr-id-%d", getpid());
	snprintf(self->server, sizeof(self->server), "%s/server", self->dir);
	snprintf(self->impostor, sizeof(self->impostor), "%s/impostor", self->dir);
	snprintf(self->port, sizeof(self->port), "%d", ID_PORT);
	ASSERT_EQ(0, mkdir(self->dir, 0755));
	ASSERT_EQ(0, kpr_install_helper(self->server));
	ASSERT_EQ(0, kpr_install_helper(self->impostor));
	snprintf(policy, sizeof(policy), "clear\n%d %s\n", ID_PORT, self->server);
	ASSERT_EQ(0, kpr_write(policy));
}

FIXTURE_TEARDOWN(identity)
{
	char cmd[128];

	kpr_restore_policy(self->saved_policy);
	/* Left mounted by a failed recycled_filesystem_does_not_impersonate. */
	snprintf(cmd, sizeof(cmd), "%s/merged", self->dir);
	umount2(cmd, MNT_DETACH);
	snprintf(cmd, sizeof(cmd), "%s/lower", self->dir);
	umount2(cmd, MNT_DETACH);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", self->dir);
	system(cmd);
}

TEST_F(identity, server_and_impostor_baseline)
{
	EXPECT_EQ(0, kpr_bind_as(self->server, "inet", "tcp", ID_PORT));
	EXPECT_EQ(EADDRINUSE, kpr_bind_as(self->impostor, "inet", "tcp", ID_PORT));
}

TEST_F(identity, prctl_exe_file_does_not_impersonate)
{
	char spoof[128];

	/* The helper exits with 100 or more if the kernel does not name the server. */
	snprintf(spoof, sizeof(spoof), "spoof=%s", self->server);
	EXPECT_EQ(EADDRINUSE, kpr_runl(self->impostor, "inet", "tcp", self->port, spoof, NULL));
}

TEST_F(identity, prctl_exe_file_spoof_works_on_unreserved_port)
{
	char spoof[128];

	/* The same attack, on a free port: proves the spoof itself succeeds. */
	snprintf(spoof, sizeof(spoof), "spoof=%s", self->server);
	EXPECT_EQ(0, kpr_runl(self->impostor, "inet", "tcp", "21001", spoof, NULL));
}

TEST_F(identity, bind_mount_in_private_namespace_does_not_impersonate)
{
	struct stat impostor, seen;
	int status;
	pid_t pid;

	ASSERT_EQ(0, stat(self->impostor, &impostor));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		if (unshare(CLONE_NEWNS) ||
		    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) ||
		    mount(self->impostor, self->server, NULL, MS_BIND, NULL))
			_exit(120);
		/* The server's path now leads to the impostor, in here only. */
		if (stat(self->server, &seen) || seen.st_ino != impostor.st_ino)
			_exit(121);
		execl(self->server, self->server, "inet", "tcp", self->port, NULL);
		_exit(126);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(EADDRINUSE, WEXITSTATUS(status));
}

TEST_F(identity, chroot_does_not_impersonate)
{
	char jail[128], fake[256], *slash;
	int status;
	pid_t pid;

	/* Inside the jail, the server's absolute path leads to another copy. */
	snprintf(jail, sizeof(jail), "%s/jail", self->dir);
	snprintf(fake, sizeof(fake), "%s%s", jail, self->server);
	ASSERT_EQ(0, mkdir(jail, 0755));
	for (slash = strchr(fake + strlen(jail) + 1, '/'); slash; slash = strchr(slash + 1, '/')) {
		*slash = '\0';
		mkdir(fake, 0755);
		*slash = '/';
	}
	ASSERT_EQ(0, kpr_install_helper(fake));

	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		if (chroot(jail) || chdir("/"))
			_exit(120);
		execl(self->server, self->server, "inet", "tcp", self->port, NULL);
		_exit(126);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(EADDRINUSE, WEXITSTATUS(status));
}

TEST_F(identity, upgraded_binary_at_the_path_keeps_the_port)
{
	char staged[128];
	struct stat before, after;

	ASSERT_EQ(0, stat(self->server, &before));
	/* As a package manager does: write the new file, rename it over the old. */
	snprintf(staged, sizeof(staged), "%s/server.dpkg-new", self->dir);
	ASSERT_EQ(0, kpr_install_helper(staged));
	ASSERT_EQ(0, rename(staged, self->server));
	ASSERT_EQ(0, stat(self->server, &after));
	ASSERT_NE(before.st_ino, after.st_ino);

	EXPECT_EQ(0, kpr_bind_as(self->server, "inet", "tcp", ID_PORT));
	EXPECT_EQ(EADDRINUSE, kpr_bind_as(self->impostor, "inet", "tcp", ID_PORT));
}

TEST_F(identity, symlink_in_rule_names_its_target)
{
	char link[128], policy[256];

	snprintf(link, sizeof(link), "%s/server-link", self->dir);
	ASSERT_EQ(0, symlink(self->server, link));
	snprintf(policy, sizeof(policy), "clear\n%d %s\n", ID_PORT, link);
	ASSERT_EQ(0, kpr_write(policy));
	EXPECT_EQ(0, kpr_bind_as(self->server, "inet", "tcp", ID_PORT));
	EXPECT_EQ(EADDRINUSE, kpr_bind_as(self->impostor, "inet", "tcp", ID_PORT));
}

/* A symbolic link flipped to another version, as deployments do, counts at once. */
TEST_F(identity, flipped_symlink_names_its_new_target)
{
	char link[128], policy[256];

	snprintf(link, sizeof(link), "%s/current", self->dir);
	ASSERT_EQ(0, symlink(self->server, link));
	snprintf(policy, sizeof(policy), "clear\n%d %s\n", ID_PORT, link);
	ASSERT_EQ(0, kpr_write(policy));
	ASSERT_EQ(0, kpr_bind_as(self->server, "inet", "tcp", ID_PORT));
	ASSERT_EQ(EADDRINUSE, kpr_bind_as(self->impostor, "inet", "tcp", ID_PORT));

	ASSERT_EQ(0, kpr_replace_symlink(self->impostor, link));
	EXPECT_EQ(0, kpr_bind_as(self->impostor, "inet", "tcp", ID_PORT));
	EXPECT_EQ(EADDRINUSE, kpr_bind_as(self->server, "inet", "tcp", ID_PORT));
}

/*
 * The same with the link in the middle of the path, as releases are kept:
 * "current -> releases/N", the rule naming current/server.
 */
TEST_F(identity, flipped_directory_symlink_names_the_new_release)
{
	char one[128], two[128], current[128], path[160], policy[256];

	snprintf(one, sizeof(one), "%s/release-1", self->dir);
	snprintf(two, sizeof(two), "%s/release-2", self->dir);
	snprintf(current, sizeof(current), "%s/current", self->dir);
	ASSERT_EQ(0, mkdir(one, 0755));
	ASSERT_EQ(0, mkdir(two, 0755));
	snprintf(path, sizeof(path), "%s/server", one);
	ASSERT_EQ(0, kpr_install_helper(path));
	snprintf(path, sizeof(path), "%s/server", two);
	ASSERT_EQ(0, kpr_install_helper(path));
	ASSERT_EQ(0, symlink("release-1", current));
	snprintf(policy, sizeof(policy), "clear\n%d %s/server\n", ID_PORT, current);
	ASSERT_EQ(0, kpr_write(policy));

	snprintf(path, sizeof(path), "%s/server", one);
	ASSERT_EQ(0, kpr_bind_as(path, "inet", "tcp", ID_PORT));
	ASSERT_EQ(0, kpr_replace_symlink("release-2", current));
	EXPECT_EQ(EADDRINUSE, kpr_bind_as(path, "inet", "tcp", ID_PORT));
	snprintf(path, sizeof(path), "%s/server", two);
	EXPECT_EQ(0, kpr_bind_as(path, "inet", "tcp", ID_PORT));
}

/*
 * A binary deleted and written again at the path, with no rename, is the
 * program: the rename sequence count does not see this.
 */
TEST_F(identity, binary_written_again_at_the_path_is_the_program)
{
	struct stat before, after;

	ASSERT_EQ(0, stat(self->server, &before));
	ASSERT_EQ(0, kpr_bind_as(self->server, "inet", "tcp", ID_PORT));
	ASSERT_EQ(0, unlink(self->server));
	ASSERT_EQ(0, kpr_install_helper(self->server));
	ASSERT_EQ(0, stat(self->server, &after));
	ASSERT_NE(before.st_ino, after.st_ino);

	EXPECT_EQ(0, kpr_bind_as(self->server, "inet", "tcp", ID_PORT));
	EXPECT_EQ(EADDRINUSE, kpr_bind_as(self->impostor, "inet", "tcp", ID_PORT));
}

/*
 * The rule's path is resolved with the binder's credentials: the program,
 * once it runs as a user who may not search its directory, is not found.
 */
TEST_F(identity, binder_that_may_not_search_the_path_is_not_the_program)
{
	ASSERT_EQ(0, kpr_runl(self->server, "inet", "tcp", self->port, "nobody", NULL));
	ASSERT_EQ(0, chmod(self->dir, 0711));
	EXPECT_EQ(0, kpr_runl(self->server, "inet", "tcp", self->port, "nobody", NULL));
	ASSERT_EQ(0, chmod(self->dir, 0700));
	EXPECT_EQ(EADDRINUSE, kpr_runl(self->server, "inet", "tcp", self->port, "nobody", NULL));
	EXPECT_EQ(0, kpr_bind_as(self->server, "inet", "tcp", ID_PORT));
}

/*
 * One task binds again and again while the path changes under it: a link
 * removed and created again to another program, then back, and the search
 * permission of a directory on the path taken away, then given back. Neither
 * renames nor mounts anything, so the kernel's rename and mount sequence
 * counts do not move, and a per-task answer would be stale: each bind must
 * see the path as it is.
 */
TEST_F(identity, same_task_sees_every_change_of_the_path)
{
	static const int expected[] = { 0, EADDRINUSE, 0, EADDRINUSE, 0 };
	char self_exe[PATH_MAX], link[128], policy[PATH_MAX + 16];
	int to_binder[2], from_binder[2], result, status;
	unsigned int step;
	ssize_t len;
	char go = 'g';
	pid_t pid;

	len = readlink("/proc/self/exe", self_exe, sizeof(self_exe) - 1);
	ASSERT_LT(0, len);
	self_exe[len] = '\0';
	snprintf(link, sizeof(link), "%s/current", self->dir);
	ASSERT_EQ(0, symlink(self_exe, link));
	ASSERT_EQ(0, chmod(self->dir, 0711));
	snprintf(policy, sizeof(policy), "clear\n%d %s\n", ID_PORT, link);
	ASSERT_EQ(0, kpr_write(policy));

	ASSERT_EQ(0, pipe(to_binder));
	ASSERT_EQ(0, pipe(from_binder));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		/* This test program, as an unprivileged user: search permission counts. */
		if (kpr_become_nobody())
			_exit(120);
		for (step = 0; step < ARRAY_SIZE(expected); step++) {
			if (read(to_binder[0], &go, 1) != 1)
				_exit(121);
			result = kpr_bind_tcp(ID_PORT);
			if (write(from_binder[1], &result, sizeof(result)) != sizeof(result))
				_exit(122);
		}
		_exit(0);
	}

	for (step = 0; step < ARRAY_SIZE(expected); step++) {
		switch (step) {
		case 1:
			ASSERT_EQ(0, unlink(link));
			ASSERT_EQ(0, symlink(self->impostor, link));
			break;
		case 2:
			ASSERT_EQ(0, unlink(link));
			ASSERT_EQ(0, symlink(self_exe, link));
			break;
		case 3:
			ASSERT_EQ(0, chmod(self->dir, 0700));
			break;
		case 4:
			ASSERT_EQ(0, chmod(self->dir, 0711));
			break;
		}
		ASSERT_EQ(1, write(to_binder[1], &go, 1));
		ASSERT_EQ(sizeof(result), read(from_binder[0], &result, sizeof(result)));
		EXPECT_EQ(expected[step], result) {
			TH_LOG("bind %u of the same task", step);
		}
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
}

TEST_F(identity, forked_child_keeps_its_program)
{
	char policy[PATH_MAX + 16], self_exe[PATH_MAX];
	struct sockaddr_in addr = {
		.sin_family = AF_INET,
		.sin_port = htons(ID_PORT + 2),
	};
	ssize_t len;
	int status, fd;
	pid_t pid;

	/* Reserve a port for this test program itself; a fork(2) child binds it. */
	len = readlink("/proc/self/exe", self_exe, sizeof(self_exe) - 1);
	ASSERT_LT(0, len);
	self_exe[len] = '\0';
	snprintf(policy, sizeof(policy), "%d %s\n", ID_PORT + 2, self_exe);
	ASSERT_EQ(0, kpr_write(policy));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		fd = socket(AF_INET, SOCK_STREAM, 0);
		_exit(fd < 0 ? 120 : bind(fd, (struct sockaddr *)&addr, sizeof(addr)) ? errno : 0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
	EXPECT_EQ(EADDRINUSE, kpr_bind_as(self->server, "inet", "tcp", ID_PORT + 2));
}

/*
 * Mounts a new tmpfs at @lower holding a copy of @binary as a/prog, and a
 * read-only overlay of it at @merged: @merged/prog is that copy. Overlayfs
 * gives its files generation 0 and, with every layer on one filesystem, the
 * lower inode number; tmpfs numbers inodes in creation order, and both get
 * the lowest free anonymous device number. So doing this twice gives the
 * second @merged/prog the device and inode numbers of the first, once the
 * first is gone.
 */
static int mount_overlay(const char *lower, const char *merged, const char *binary)
{
	char a[192], b[192], prog[256], options[512];
	int err;

	if (mount("tmpfs", lower, "tmpfs", 0, NULL))
		return -errno;
	snprintf(a, sizeof(a), "%s/a", lower);
	snprintf(b, sizeof(b), "%s/b", lower);
	if (mkdir(a, 0755) || mkdir(b, 0755))
		return -errno;
	snprintf(prog, sizeof(prog), "%s/prog", a);
	err = kpr_copy_file(binary, prog);
	if (err)
		return err;
	snprintf(options, sizeof(options), "lowerdir=%s:%s", a, b);
	return mount("overlay", merged, "overlay", 0, options) ? -errno : 0;
}

TEST_F(identity, recycled_filesystem_does_not_impersonate)
{
	char lower[128], merged[128], prog[160], spoof[160], policy[256];
	int to_helper, from_helper, status, err;
	struct stat first, second;
	pid_t pid;

	snprintf(lower, sizeof(lower), "%s/lower", self->dir);
	snprintf(merged, sizeof(merged), "%s/merged", self->dir);
	snprintf(prog, sizeof(prog), "%s/prog", merged);
	ASSERT_EQ(0, mkdir(lower, 0755));
	ASSERT_EQ(0, mkdir(merged, 0755));
	err = mount_overlay(lower, merged, self->impostor);
	if (err == -ENODEV)
		SKIP(return, "no overlayfs in this kernel");
	ASSERT_EQ(0, err);
	ASSERT_EQ(0, stat(prog, &first));

	/*
	 * The impostor runs from the first overlay, then replaces
	 * mm->exe_file (PR_SET_MM_MAP does it for user-namespace root) so
	 * that nothing it holds pins the overlay, and waits.
	 */
	snprintf(spoof, sizeof(spoof), "spoof=%s", self->impostor);
	pid = kpr_start_waiting((char *[]){ prog, "inet", "tcp", self->port, spoof, "wait", NULL },
				&to_helper, &from_helper);
	ASSERT_LT(0, pid);

	/* The first overlay goes; the server's comes, at the same path. */
	ASSERT_EQ(0, umount2(merged, MNT_DETACH));
	ASSERT_EQ(0, umount2(lower, MNT_DETACH));
	ASSERT_EQ(0, mount_overlay(lower, merged, self->server));
	ASSERT_EQ(0, stat(prog, &second));
	TH_LOG("first file %llx:%llu, second file %llx:%llu",
	       (unsigned long long)first.st_dev, (unsigned long long)first.st_ino,
	       (unsigned long long)second.st_dev, (unsigned long long)second.st_ino);
	snprintf(policy, sizeof(policy), "clear\n%d %s\n", ID_PORT, prog);
	ASSERT_EQ(0, kpr_write(policy));

	/* The impostor still runs the first file: it is not the server. */
	ASSERT_EQ(1, write(to_helper, "g", 1));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(EADDRINUSE, WEXITSTATUS(status));
	/* The server, executed from the second file, is. */
	EXPECT_EQ(0, kpr_bind_as(prog, "inet", "tcp", ID_PORT));

	close(to_helper);
	close(from_helper);
	EXPECT_EQ(0, umount2(merged, MNT_DETACH));
	EXPECT_EQ(0, umount2(lower, MNT_DETACH));
}

/*
 * Runs @program as @uid (and gid) with preload_bind.so preloaded, binding
 * TCP @port before the program's main(); returns its exit status.
 */
static int run_preloaded(const char *program, const char *port, uid_t uid)
{
	char preload[PATH_MAX];
	int status;
	pid_t pid;

	kpr_test_dir(preload, sizeof(preload) - sizeof("/preload_bind.so"));
	strcat(preload, "/preload_bind.so");
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		if (setgroups(0, NULL) || setresgid(uid, uid, uid) || setresuid(uid, uid, uid))
			_exit(120);
		if (setenv("LD_PRELOAD", preload, 1) || setenv("KPR_PRELOAD_PORT", port, 1))
			_exit(121);
		execl(program, program, "inet", "tcp", "1", NULL);
		_exit(126);
	}
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return -ECHILD;
	return WEXITSTATUS(status);
}

TEST_F(identity, preloaded_code_of_another_user_is_not_the_program_with_its_uid)
{
	char dynamic[PATH_MAX], policy[PATH_MAX + 64];

	kpr_test_dir(dynamic, sizeof(dynamic) - sizeof("/bind_helper_dynamic"));
	strcat(dynamic, "/bind_helper_dynamic");
	/* A program rule: anyone who may run the program takes its port as it. */
	snprintf(policy, sizeof(policy), "clear\n%d %s\n", ID_PORT, dynamic);
	ASSERT_EQ(0, kpr_write(policy));
	EXPECT_EQ(0, run_preloaded(dynamic, self->port, 65534));
	/* The program run by its user: another user's preloaded code is refused. */
	snprintf(policy, sizeof(policy), "clear\n%d %s uid:1000\n", ID_PORT, dynamic);
	ASSERT_EQ(0, kpr_write(policy));
	EXPECT_EQ(EADDRINUSE, run_preloaded(dynamic, self->port, 65534));
	EXPECT_EQ(EADDRINUSE, run_preloaded(dynamic, self->port, 0));
	/* The user itself is trusted, with or without code of its own. */
	EXPECT_EQ(0, run_preloaded(dynamic, self->port, 1000));
	EXPECT_EQ(0, kpr_runl(dynamic, "inet", "tcp", self->port, "gid=1000,1000",
			      "uid=1000,1000", NULL));
	/* The user running another program is not the program. */
	EXPECT_EQ(EADDRINUSE, kpr_runl(self->impostor, "inet", "tcp", self->port,
				       "gid=1000,1000", "uid=1000,1000", NULL));
}

TEST_F(identity, effective_ids_decide)
{
	char policy[128];

	/* setresuid(): the effective uid, not the real one, is the task's. */
	snprintf(policy, sizeof(policy), "clear\n%d uid:1000\n", ID_PORT);
	ASSERT_EQ(0, kpr_write(policy));
	EXPECT_EQ(0, kpr_runl(self->impostor, "inet", "tcp", self->port, "uid=0,1000", NULL));
	EXPECT_EQ(EADDRINUSE, kpr_runl(self->impostor, "inet", "tcp", self->port, "uid=1000,0",
				       NULL));
	EXPECT_EQ(EADDRINUSE, kpr_runl(self->impostor, "inet", "tcp", self->port, "uid=1001,1001",
				       NULL));
	/* The effective gid, and every atom of the rule. */
	snprintf(policy, sizeof(policy), "clear\n%d %s uid:1000 gid:2000\n", ID_PORT,
		 self->server);
	ASSERT_EQ(0, kpr_write(policy));
	EXPECT_EQ(0, kpr_runl(self->server, "inet", "tcp", self->port, "gid=0,2000",
			      "uid=1000,1000", NULL));
	EXPECT_EQ(EADDRINUSE, kpr_runl(self->server, "inet", "tcp", self->port, "gid=2000,0",
				       "uid=1000,1000", NULL));
	EXPECT_EQ(EADDRINUSE, kpr_runl(self->server, "inet", "tcp", self->port, "gid=0,2000",
				       "uid=1001,1001", NULL));
	EXPECT_EQ(EADDRINUSE, kpr_runl(self->impostor, "inet", "tcp", self->port, "gid=0,2000",
				       "uid=1000,1000", NULL));
}

TEST_HARNESS_MAIN
