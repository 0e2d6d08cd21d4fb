// SPDX-License-Identifier: GPL-2.0
/*
 * KPortReserve selftests - kportreserve-load, the policy loader
 *
 * The loader of tools/kportreserve reads a configuration tree (here under a
 * temporary root, with --root) and replaces the policy in one write: every
 * file in order, or nothing, with the file and line of a refused rule.  It
 * turns the names of services, users and groups into numbers, from the
 * databases under its root (DIR/etc/services, passwd, group), and refuses,
 * with the file and line, a name they do not have.
 *
 * With --netns it loads the files named into the rules of its own network
 * namespace (here a new one, made by a child), and refuses to run in the
 * initial one; with --template, into netns-default, the rules of every
 * namespace but the initial one.
 */

#include "common.h"
#include <sys/mman.h>
#include "../kselftest_harness.h"

FIXTURE(loader)
{
	char *saved_policy;
	char *saved_template;	/* NULL without rules per network namespace */
	char root[64];
	char loader[PATH_MAX];
	char output[4096];
};

FIXTURE_SETUP(loader)
{
	char path[128];

	if (!kpr_enabled())
		SKIP(return, "KPortReserve is not enabled");
	self->saved_policy = kpr_save_policy();
	ASSERT_NE(NULL, self->saved_policy);
	/* NULL on a kernel without rules per network namespace: those tests skip. */
	self->saved_template = kpr_save_policy_file(KPR_NETNS_DEFAULT);
	kpr_test_dir(self->loader, sizeof(self->loader) - 32);
	strcat(self->loader, "/kportreserve-load");
	ASSERT_EQ(0, access(self->loader, X_OK));
	snprintf(self->root, sizeof(self->root), "/tmp/kpr-load-%d", getpid());
	ASSERT_EQ(0, mkdir(self->root, 0755));
	snprintf(path, sizeof(path), "%s/etc", self->root);
	ASSERT_EQ(0, mkdir(path, 0755));
	snprintf(path, sizeof(path), "%s/etc/kportreserve.d", self->root);
	ASSERT_EQ(0, mkdir(path, 0755));
}

FIXTURE_TEARDOWN(loader)
{
	char cmd[128];

	kpr_restore_policy(self->saved_policy);
	kpr_restore_policy_file(KPR_NETNS_DEFAULT, self->saved_template);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", self->root);
	system(cmd);
}

/* Writes @text to the file @name under the fixture's root. */
static int put_file(const char *root, const char *name, const char *text)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", root, name);
	return kpr_write_file_new(path, text);
}

/*
 * Runs the loader with the arguments @argv (@argv[0] its path), its output
 * (stdout and stderr) kept in @output; returns its exit status, -1 if it
 * did not exit.
 */
static int run_argv(char *const argv[], char *output, size_t size)
{
	int pipefd[2], status;
	size_t len = 0;
	ssize_t ret;
	pid_t pid;

	if (pipe(pipefd))
		return -1;
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		dup2(pipefd[1], STDOUT_FILENO);
		dup2(pipefd[1], STDERR_FILENO);
		close(pipefd[0]);
		execv(argv[0], argv);
		_exit(126);
	}
	close(pipefd[1]);
	while (len < size - 1 && (ret = read(pipefd[0], output + len, size - 1 - len)) > 0)
		len += ret;
	output[len] = '\0';
	close(pipefd[0]);
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

/* Runs the loader on the fixture's root with @option (or none), as run_argv(). */
static int run_loader(const char *loader, const char *root, const char *option,
		      char *output, size_t size)
{
	char *argv[5] = { (char *)loader, "--root", (char *)root, (char *)option };

	return run_argv(argv, output, size);
}

#define RUN_LOADER(option) \
	run_loader(self->loader, self->root, option, self->output, sizeof(self->output))

TEST_F(loader, loads_every_file_in_one_write)
{
	ASSERT_EQ(0, kpr_write("30000 /old\n"));
	ASSERT_EQ(0, put_file(self->root, "etc/kportreserve.conf", "30001 /main\n"));
	/* In name order, a last line without its newline included. */
	ASSERT_EQ(0, put_file(self->root, "etc/kportreserve.d/20-b.conf", "30003 /b"));
	ASSERT_EQ(0, put_file(self->root, "etc/kportreserve.d/10-a.conf",
			      "# comment\n30002 /a\n"));
	/* Not *.conf: ignored. */
	ASSERT_EQ(0, put_file(self->root, "etc/kportreserve.d/30-c.conf.bak", "bad\n"));

	EXPECT_EQ(0, RUN_LOADER(NULL));
	EXPECT_NE(NULL, strstr(self->output, "from 3 files"));
	KPR_EXPECT_POLICY("30001 /main\n30002 /a\n30003 /b\n");
}

TEST_F(loader, refused_line_is_named_and_nothing_changes)
{
	ASSERT_EQ(0, kpr_write("30000 /old\n"));
	ASSERT_EQ(0, put_file(self->root, "etc/kportreserve.conf", "30001 /main\n"));
	ASSERT_EQ(0, put_file(self->root, "etc/kportreserve.d/10-a.conf",
			      "30002 /a\n30003 relative/path\n"));

	EXPECT_EQ(1, RUN_LOADER(NULL));
	/* The kernel's line number, turned back into the file's. */
	EXPECT_NE(NULL, strstr(self->output, "/etc/kportreserve.d/10-a.conf:2: "))
		TH_LOG("output: %s", self->output);
	KPR_EXPECT_POLICY("30000 /old\n");
}

/* Runs the loader with --check and FILE under the fixture's root. */
static int check_file(FIXTURE_DATA(loader) * self, const char *file)
{
	char path[256];
	char *argv[4] = { self->loader, "--check", path };

	snprintf(path, sizeof(path), "%s/%s", self->root, file);
	return run_argv(argv, self->output, sizeof(self->output));
}

TEST_F(loader, check_changes_nothing_and_names_each_error)
{
	static const struct {
		const char *text;
		int status;
		const char *message;
	} cases[] = {
		{ "30005 /x\n30006-30007/udp /y uid:0\n", 0, "the kernel accepts 2 lines" },
		{ "30005 /x\n30006 relative\n", 1, "bad.conf:2: " },
		{ "30005 uid:1 /x\n", 1, "bad.conf:1: atoms repeated or out of order" },
		{ "\n\n30005/tcp6 /x\n", 1, "bad.conf:3: bad protocol" },
		{ "delete 30000 /old\n", 1, "bad.conf:1: delete of a rule that is not in force" },
		{ "30005 /x uid:no-such-user\n", 2, "bad.conf:1: unknown user 'no-such-user'" },
	};
	char *before, *after;
	size_t i;

	ASSERT_EQ(0, kpr_write("30000 /old\n"));
	ASSERT_EQ(0, put_file(self->root, "etc/kportreserve.conf", "30001 /main uid:0\n"));
	before = kpr_read();
	ASSERT_NE(NULL, before);
	/* The configuration under the root, as it would be loaded. */
	EXPECT_EQ(0, RUN_LOADER("--check"));
	EXPECT_NE(NULL, strstr(self->output, "the kernel accepts 1 lines from 1 files"))
		TH_LOG("output: %s", self->output);
	/* Files named on the command line, one kind of error each. */
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		ASSERT_EQ(0, put_file(self->root, "bad.conf", cases[i].text));
		EXPECT_EQ(cases[i].status, check_file(self, "bad.conf"))
			TH_LOG("case %zu: %s", i, self->output);
		EXPECT_NE(NULL, strstr(self->output, cases[i].message))
			TH_LOG("case %zu: %s", i, self->output);
	}
	/* The policy in force, byte for byte. */
	after = kpr_read();
	ASSERT_NE(NULL, after);
	EXPECT_STREQ(before, after);
	free(before);
	free(after);
}

TEST_F(loader, check_file_takes_complete_text_and_needs_the_capability)
{
	int fd, status;
	pid_t pid;

	EXPECT_EQ(0, kpr_write_file("/sys/kernel/security/kportreserve/check", "30005 /x"));
	EXPECT_EQ(-EINVAL, kpr_write_file("/sys/kernel/security/kportreserve/check",
					  "30005 /x\nbad\n"));
	KPR_EXPECT_POLICY("");
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		if (kpr_become_nobody())
			_exit(120);
		fd = open("/sys/kernel/security/kportreserve/check", O_WRONLY);
		_exit(fd < 0 && (errno == EPERM || errno == EACCES) ? 0 : 1);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

TEST_F(loader, dry_run_writes_nothing)
{
	ASSERT_EQ(0, kpr_write("30000 /old\n"));
	ASSERT_EQ(0, put_file(self->root, "etc/kportreserve.conf", "30001 /main\n"));

	EXPECT_EQ(0, RUN_LOADER("--dry-run"));
	EXPECT_STREQ("clear\n30001 /main\n", self->output);
	KPR_EXPECT_POLICY("30000 /old\n");
}

TEST_F(loader, no_configuration_loads_an_empty_policy)
{
	ASSERT_EQ(0, kpr_write("30000 /old\n"));
	EXPECT_EQ(0, RUN_LOADER(NULL));
	KPR_EXPECT_POLICY("");
}

/*
 * Names databases under @root with made-up names: kpr-web is a TCP service
 * (kpr-www another name for it), kpr-dns one port for TCP and UDP (kpr-name
 * on UDP), kpr-split a port for each; the user kpr-user and the group
 * kpr-group.
 */
static int put_names(const char *root)
{
	return put_file(root, "etc/services",
			"# Made up for loader_test.\n"
			"kpr-web\t\t30100/tcp\tkpr-www\t# a comment\n"
			"kpr-dns\t\t30101/tcp\n"
			"kpr-dns\t\t30101/udp\tkpr-name\n"
			"kpr-split\t30102/tcp\n"
			"kpr-split\t30103/udp\n") ?:
		put_file(root, "etc/passwd",
			 "root:x:0:0:root:/root:/bin/sh\n"
			 "kpr-user:x:30200:30300::/nonexistent:/bin/false\n") ?:
		put_file(root, "etc/group", "root:x:0:\nkpr-group:x:30300:\n");
}

TEST_F(loader, names_become_numbers_within_their_line)
{
	ASSERT_EQ(0, put_names(self->root));
	ASSERT_EQ(0, put_file(self->root, "etc/kportreserve.conf",
			      "# kpr-web uid:kpr-user\n"
			      "kpr-web/tcp /web uid:kpr-user\n"
			      "kpr-www/tcp /www\n"
			      "kpr-dns gid:kpr-group\n"
			      "  kpr-name/udp\tcgroup:/uid:kpr /uid:0 gid:kpr-group\n"
			      "30104-30105 uid:kpr-user gid:30300\n"
			      "delete kpr-web/tcp /web uid:kpr-user\n"));

	EXPECT_EQ(0, RUN_LOADER("--dry-run"));
	/* Paths, ids and everything but the names as they were. */
	EXPECT_STREQ("clear\n"
		     "# kpr-web uid:kpr-user\n"
		     "30100/tcp /web uid:30200\n"
		     "30100/tcp /www\n"
		     "30101 gid:30300\n"
		     "  30101/udp\tcgroup:/uid:kpr /uid:0 gid:30300\n"
		     "30104-30105 uid:30200 gid:30300\n"
		     "delete 30100/tcp /web uid:30200\n", self->output);
}

TEST_F(loader, translated_rules_load)
{
	ASSERT_EQ(0, put_names(self->root));
	ASSERT_EQ(0, put_file(self->root, "etc/kportreserve.conf",
			      "kpr-web/tcp /web uid:kpr-user\n"
			      "kpr-dns gid:kpr-group\n"));
	ASSERT_EQ(0, put_file(self->root, "etc/kportreserve.d/10-a.conf",
			      "30104-30105 uid:kpr-user\n"));

	EXPECT_EQ(0, RUN_LOADER(NULL))
		TH_LOG("output: %s", self->output);
	KPR_EXPECT_POLICY("30100/tcp /web uid:30200\n"
			  "30101 gid:30300\n"
			  "30104-30105 uid:30200\n");
}

TEST_F(loader, unknown_names_are_refused_with_their_file_and_line)
{
	static const struct {
		const char *rule, *message;
	} cases[] = {
		{ "kpr-none/tcp /x", "unknown service 'kpr-none/tcp'" },
		{ "kpr-web/udp /x", "unknown service 'kpr-web/udp'" },
		{ "kpr-none /x", "unknown service 'kpr-none'" },
		{ "30106 /x uid:kpr-nobody", "unknown user 'kpr-nobody'" },
		{ "30106 uid:kpr-user gid:kpr-nogroup", "unknown group 'kpr-nogroup'" },
		{ "delete 30106 uid:kpr-nobody", "unknown user 'kpr-nobody'" },
		/* Not one port for every protocol: which one is meant? */
		{ "kpr-split /x", "service 'kpr-split' has different ports for tcp and udp" },
	};
	char config[256], expected[256];
	unsigned int i;

	ASSERT_EQ(0, put_names(self->root));
	ASSERT_EQ(0, put_file(self->root, "etc/kportreserve.conf", "30001 /main\n"));
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		ASSERT_EQ(0, kpr_write("30000 /old\n"));
		snprintf(config, sizeof(config), "30002 /a\n%s\n", cases[i].rule);
		ASSERT_EQ(0, put_file(self->root, "etc/kportreserve.d/10-a.conf", config));
		snprintf(expected, sizeof(expected), "%s/etc/kportreserve.d/10-a.conf:2: %s",
			 self->root, cases[i].message);

		EXPECT_EQ(2, RUN_LOADER(NULL))
			TH_LOG("%s: output: %s", cases[i].rule, self->output);
		EXPECT_NE(NULL, strstr(self->output, expected))
			TH_LOG("%s: output: %s", cases[i].rule, self->output);
		/* Nothing written: the policy in force is the one that was. */
		KPR_EXPECT_POLICY("30000 /old\n");
		/* Nor anything printed for --dry-run. */
		EXPECT_EQ(2, RUN_LOADER("--dry-run"));
		EXPECT_EQ(NULL, strstr(self->output, "clear"))
			TH_LOG("%s: output: %s", cases[i].rule, self->output);
	}
}

/* What a child saw in a network namespace of its own, shared with the test. */
struct in_netns {
	int status;		/* the loader's, as run_argv() returns it */
	int read_err;		/* of reading the namespace's netns file */
	char output[4096];	/* the loader's */
	char rules[4096];	/* the namespace's netns file, read after the loader */
};

/*
 * Runs the loader with @argv in a child's new network namespace, then reads
 * the namespace's rules there, into *@seen (shared memory).  Returns 0, or -1
 * if the child could not make the namespace or did not exit.
 */
static int run_in_new_netns(char *const argv[], struct in_netns *seen)
{
	int status;
	pid_t pid;

	memset(seen, 0, sizeof(*seen));
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		if (unshare(CLONE_NEWNET))
			_exit(1);
		seen->status = run_argv(argv, seen->output, sizeof(seen->output));
		seen->read_err = kpr_read_file(KPR_NETNS, seen->rules, sizeof(seen->rules));
		_exit(0);
	}
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status))
		return -1;
	return 0;
}

/* The shared memory for run_in_new_netns(); MAP_FAILED on error. */
static struct in_netns *map_in_netns(void)
{
	return mmap(NULL, sizeof(struct in_netns), PROT_READ | PROT_WRITE,
		    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
}

TEST_F(loader, netns_loads_the_rules_of_its_own_namespace)
{
	char good[256], bad[256];
	char *argv[4] = { self->loader, "--netns", bad };
	struct in_netns *seen;

	if (!self->saved_template)
		SKIP(return, "no rules per network namespace");
	seen = map_in_netns();
	ASSERT_NE(MAP_FAILED, seen);
	ASSERT_EQ(0, kpr_write("30000 /old\n"));
	ASSERT_EQ(0, put_file(self->root, "good.conf",
			      "# a pod's rules\n"
			      "30011 cgroup:/kpr-pod uid:0\n"
			      "30010/tcp /netns-a\n"));
	ASSERT_EQ(0, put_file(self->root, "bad.conf", "30010 /netns-a\n30012 relative\n"));
	snprintf(good, sizeof(good), "%s/good.conf", self->root);
	snprintf(bad, sizeof(bad), "%s/bad.conf", self->root);

	/* A refused line: its file and line, from the "netns rejected" record. */
	ASSERT_EQ(0, run_in_new_netns(argv, seen));
	EXPECT_EQ(1, seen->status);
	EXPECT_NE(NULL, strstr(seen->output, "bad.conf:2: "))
		TH_LOG("output: %s", seen->output);
	EXPECT_EQ(0, seen->read_err);
	EXPECT_STREQ("", seen->rules);

	/* A new namespace starts empty and takes the file, canonical. */
	argv[2] = good;
	ASSERT_EQ(0, run_in_new_netns(argv, seen));
	EXPECT_EQ(0, seen->status)
		TH_LOG("output: %s", seen->output);
	EXPECT_NE(NULL, strstr(seen->output, "loaded 3 lines from 1 files for netns"))
		TH_LOG("output: %s", seen->output);
	EXPECT_EQ(0, seen->read_err);
	EXPECT_STREQ("30010/tcp /netns-a\n30011 cgroup:/kpr-pod uid:0\n", seen->rules);

	/* Nothing else changed. */
	KPR_EXPECT_POLICY("30000 /old\n");
	EXPECT_EQ(0, kpr_read_file(KPR_NETNS_DEFAULT, self->output, sizeof(self->output)));
	EXPECT_STREQ("", self->output);
	munmap(seen, sizeof(*seen));
}

TEST_F(loader, netns_in_the_initial_namespace_is_refused)
{
	char path[256];
	char *argv[4] = { self->loader, "--netns", path };
	char *check_argv[5] = { self->loader, "--netns", "--check", path };

	if (!self->saved_template)
		SKIP(return, "no rules per network namespace");
	ASSERT_EQ(0, kpr_write("30000 /old\n"));
	ASSERT_EQ(0, put_file(self->root, "pod.conf", "30010 /netns-a\n"));
	snprintf(path, sizeof(path), "%s/pod.conf", self->root);

	/* The initial namespace's rules are the policy: the kernel says EINVAL. */
	EXPECT_EQ(1, run_argv(argv, self->output, sizeof(self->output)));
	EXPECT_NE(NULL, strstr(self->output,
			       "--netns: run it inside the container's network namespace"))
		TH_LOG("output: %s", self->output);
	/* And so does a check, which would otherwise check it as the policy. */
	EXPECT_EQ(1, run_argv(check_argv, self->output, sizeof(self->output)));
	EXPECT_NE(NULL, strstr(self->output,
			       "--netns: run it inside the container's network namespace"))
		TH_LOG("output: %s", self->output);
	KPR_EXPECT_POLICY("30000 /old\n");
}

TEST_F(loader, template_loads_netns_default)
{
	char good[256], bad[256];
	char *argv[4] = { self->loader, "--template", bad };

	if (!self->saved_template)
		SKIP(return, "no rules per network namespace");
	ASSERT_EQ(0, kpr_write("30000 /old\n"));
	ASSERT_EQ(0, put_file(self->root, "good.conf", "15000-15090 uid:1337\n"));
	ASSERT_EQ(0, put_file(self->root, "bad.conf", "\n15000-15090 uid:1337 /x\n"));
	snprintf(good, sizeof(good), "%s/good.conf", self->root);
	snprintf(bad, sizeof(bad), "%s/bad.conf", self->root);

	/* A refused line, from the "netns-default rejected" record. */
	EXPECT_EQ(1, run_argv(argv, self->output, sizeof(self->output)));
	EXPECT_NE(NULL, strstr(self->output, "bad.conf:2: atoms repeated or out of order"))
		TH_LOG("output: %s", self->output);
	EXPECT_EQ(0, kpr_read_file(KPR_NETNS_DEFAULT, self->output, sizeof(self->output)));
	EXPECT_STREQ("", self->output);

	argv[2] = good;
	EXPECT_EQ(0, run_argv(argv, self->output, sizeof(self->output)))
		TH_LOG("output: %s", self->output);
	EXPECT_NE(NULL, strstr(self->output, "loaded 1 lines from 1 files for netns-default"))
		TH_LOG("output: %s", self->output);
	EXPECT_EQ(0, kpr_read_file(KPR_NETNS_DEFAULT, self->output, sizeof(self->output)));
	EXPECT_STREQ("15000-15090 uid:1337\n", self->output);
	KPR_EXPECT_POLICY("30000 /old\n");
	/* The teardown puts back the template it found. */
}

TEST_F(loader, netns_check_names_the_error_and_changes_nothing)
{
	static const struct {
		const char *option, *text;
		int status;
		const char *message;
	} cases[] = {
		{ "--netns", "30010 /x\n30011/udp uid:0\n", 0,
		  "the kernel accepts 2 lines from 1 files for netns" },
		/* Each refusal is a rate-limited record: few of them. */
		{ "--netns", "30010 /x\n30011/tcp6 /x\n", 1, "bad.conf:2: bad protocol" },
		{ "--template", "30010 /x\n", 0,
		  "the kernel accepts 1 lines from 1 files for netns-default" },
	};
	char path[256];
	char *argv[5] = { self->loader, NULL, "--check", path };
	struct in_netns *seen;
	size_t i;

	if (!self->saved_template)
		SKIP(return, "no rules per network namespace");
	seen = map_in_netns();
	ASSERT_NE(MAP_FAILED, seen);
	snprintf(path, sizeof(path), "%s/bad.conf", self->root);
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		ASSERT_EQ(0, put_file(self->root, "bad.conf", cases[i].text));
		argv[1] = (char *)cases[i].option;
		/* Checked in a namespace of its own, which keeps its empty rules. */
		ASSERT_EQ(0, run_in_new_netns(argv, seen));
		EXPECT_EQ(cases[i].status, seen->status)
			TH_LOG("case %zu: %s", i, seen->output);
		EXPECT_NE(NULL, strstr(seen->output, cases[i].message))
			TH_LOG("case %zu: %s", i, seen->output);
		EXPECT_EQ(0, seen->read_err);
		EXPECT_STREQ("", seen->rules);
	}
	KPR_EXPECT_POLICY("");
	EXPECT_EQ(0, kpr_read_file(KPR_NETNS_DEFAULT, self->output, sizeof(self->output)));
	EXPECT_STREQ("", self->output);
	munmap(seen, sizeof(*seen));
}

TEST_F(loader, netns_and_template_take_files_and_exclude_each_other)
{
	char path[256];
	char *both[5] = { self->loader, "--netns", "--template", path };
	char *no_file[3] = { self->loader, "--netns" };

	ASSERT_EQ(0, put_file(self->root, "pod.conf", "30010 /netns-a\n"));
	snprintf(path, sizeof(path), "%s/pod.conf", self->root);
	EXPECT_EQ(2, run_argv(both, self->output, sizeof(self->output)));
	EXPECT_NE(NULL, strstr(self->output, "--netns or --template, not both"))
		TH_LOG("output: %s", self->output);
	/* Never the configuration in /etc, which is the initial namespace's. */
	EXPECT_EQ(2, run_argv(no_file, self->output, sizeof(self->output)));
	EXPECT_NE(NULL, strstr(self->output, "--netns: name the FILEs to load"))
		TH_LOG("output: %s", self->output);
	KPR_EXPECT_POLICY("");
}

TEST_HARNESS_MAIN
