// SPDX-License-Identifier: GPL-2.0
/*
 * KPortReserve selftests - stress, and a leak scan after it
 *
 * Many tasks at once, for KPR_STRESS_SECONDS (20 unless set, 7,200 at most):
 * binders that bind explicitly and let the kernel choose ports, over TCP and
 * UDP; a task that forks, execs a copy of bind_helper (a reserved port's
 * owner) and exits; writers that replace the whole policy in one write, now
 * and then with a bad line that must leave it alone; a reader of the policy
 * and the counters; and a flipper that points a directory symlink in an
 * owner's path at another release and back, checking between flips that the
 * owner is who it points at, beside a binder of that port. The writers'
 * policies all hold the same fixed rules, so that whatever policy is in
 * force, each bind has one right answer: the owner binds its port, nobody
 * binds a <kernel> port, a free port is free, and no automatic choice lands
 * in the reserved range. Ports the writers reserve now and then may bind or
 * not, but fail with nothing else. Every read of the policy must show the
 * fixed rules: one policy, never half of two.
 *
 * For the second half of the time, namespace churners join them: each, again
 * and again, makes a network namespace (a child that unshares), writes its
 * netns file, binds as an owner and as a stranger there, and exits, which
 * frees the namespace; meanwhile a template writer adds and deletes a rule of
 * netns-default, beside one it always keeps. In every namespace the
 * namespace's rules and the kept template rule hold, the initial namespace's
 * rules do not, and the changing template rule may hold or not.
 *
 * Then, on a kernel with kmemleak (booted with kmemleak=on, as dev/test's
 * test boot is), a scan must find no leak. The counts of each kind of
 * operation are printed; the long form is documented in CONTRIBUTING.md.
 */

#include "common.h"

#include <sys/mman.h>
#include <sys/mount.h>
#include <time.h>

#include "../kselftest_harness.h"

#define OWN_PORT 23800		/* reserved for this program */
#define KERNEL_PORT 23801	/* reserved for <kernel> */
#define FREE_PORT 23802		/* never reserved */
#define HELPER_PORT 23803	/* reserved for HELPER */
#define FLIP_PORT 23804		/* reserved for FLIP_DIR/current/owner */
#define VARIABLE_PORT 23810	/* 23810-23829: as the writers go */
#define VARIABLE_PORTS 20
#define NS_OWN_PORT 23830	/* in each churned namespace: reserved for this program */
#define NS_HELPER_PORT 23831	/* in each churned namespace: reserved for HELPER */
#define TEMPLATE_PORT 23832	/* in the template, always: <kernel> */
#define TEMPLATE_VARIABLE_PORT 23833	/* in the template now and then: <kernel> */
#define AUTO_LOW 40000		/* AUTO_LOW-AUTO_HIGH: reserved for <kernel> */
#define AUTO_HIGH 40999
#define HELPER "/tmp/kpr-stress-helper"
/*
 * current -> release-0 or release-1, flipped all the time; release-0/owner
 * -> this program, release-1/owner -> HELPER.
 */
#define FLIP_DIR "/tmp/kpr-stress-flip"
#define FLIP_HOST 8		/* the flipper binds from 127.0.0.8 */
#define FLIP_BINDER_HOST 9
#define KMEMLEAK "/sys/kernel/debug/kmemleak"

#define BINDERS 4
#define WRITERS 2
#define CHURNERS 2
#define TEMPLATE_RULE "23832 <kernel>\n"

/* What the tasks did, and the first thing that went wrong, shared by all. */
struct stress_tally {
	unsigned long binds, auto_binds, execs, flips, writes, bad_writes, reads;
	unsigned long namespaces, template_writes;
	unsigned long errors;
	char first_error[256];
};

static struct stress_tally *tally;

/* Records the first error; the others are only counted. */
static void stress_error(const char *fmt, ...)
{
	va_list args;

	if (__atomic_fetch_add(&tally->errors, 1, __ATOMIC_SEQ_CST) == 0) {
		va_start(args, fmt);
		vsnprintf(tally->first_error, sizeof(tally->first_error), fmt, args);
		va_end(args);
	}
}

static void count(unsigned long *counter)
{
	__atomic_fetch_add(counter, 1, __ATOMIC_RELAXED);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/*
 * Binds a socket of @type to 127.0.0.@host:@port (each binder has its own
 * address, so that binders never hold each other's ports). Returns the errno
 * of bind(2), 0 on success; the chosen port in @chosen if @port is 0.
 */
static int bind_local(int type, unsigned int host, unsigned short port, unsigned short *chosen)
{
	struct sockaddr_in addr = {
		.sin_family = AF_INET,
		.sin_port = htons(port),
		.sin_addr.s_addr = htonl(INADDR_LOOPBACK + host),
	};
	int fd, err = 0;

	fd = socket(AF_INET, type | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return errno;
	if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)))
		err = errno;
	else if (chosen)
		*chosen = kpr_local_port(fd);
	close(fd);
	return err;
}

/* Checks that bind_local() gave @expected; -1: 0 or EADDRINUSE. */
static void expect_bind(int type, unsigned int host, unsigned short port, int expected)
{
	int err = bind_local(type, host, port, NULL);

	count(&tally->binds);
	if (expected < 0 ? (err != 0 && err != EADDRINUSE) : err != expected)
		stress_error("%s bind of port %hu: errno %d, expected %d",
			     type == SOCK_STREAM ? "TCP" : "UDP", port, err, expected);
}

static void binder(unsigned int host, double deadline)
{
	unsigned long long rng = host;
	unsigned short chosen;
	int type, err;

	while (now() < deadline) {
		type = kpr_draw(&rng, 2) ? SOCK_STREAM : SOCK_DGRAM;
		expect_bind(type, host, OWN_PORT, 0);
		expect_bind(type, host, KERNEL_PORT, EADDRINUSE);
		expect_bind(type, host, FREE_PORT, 0);
		expect_bind(type, host, VARIABLE_PORT + kpr_draw(&rng, VARIABLE_PORTS), -1);
		err = bind_local(type, host, 0, &chosen);
		count(&tally->auto_binds);
		if (err || (chosen >= AUTO_LOW && chosen <= AUTO_HIGH))
			stress_error("automatic choice: errno %d, port %hu", err, chosen);
	}
}

/* Forks, execs the helper (the owner of HELPER_PORT) and exits, again and again. */
static void execer(unsigned int unused, double deadline)
{
	int err;

	while (now() < deadline) {
		err = kpr_bind_as(HELPER, "inet", "tcp", HELPER_PORT);
		count(&tally->execs);
		if (err)
			stress_error("helper's bind of its port: %d", err);
		err = kpr_bind_as(HELPER, "inet", "udp", KERNEL_PORT);
		count(&tally->execs);
		if (err != EADDRINUSE)
			stress_error("helper's bind of a <kernel> port: %d", err);
	}
}

/* Points FLIP_DIR/current at release-@release, as deployments do: a rename. */
static int flip_to(unsigned int release)
{
	return kpr_replace_symlink(release ? "release-1" : "release-0", FLIP_DIR "/current");
}

/*
 * Flips FLIP_DIR/current, and checks between flips (it is the only one to
 * flip) that this program is FLIP_PORT's owner exactly while current points
 * at release-0: lookups in progress during a flip must not decide with what
 * they read before it.
 */
static void flipper(unsigned int unused, double deadline)
{
	unsigned int release = 0;
	int err;

	while (now() < deadline) {
		release ^= 1;
		err = flip_to(release);
		if (err)
			stress_error("a flip of %s/current: %d", FLIP_DIR, err);
		count(&tally->flips);
		expect_bind(SOCK_STREAM, FLIP_HOST, FLIP_PORT, release ? EADDRINUSE : 0);
	}
}

/* Binds FLIP_PORT during the flips: either answer, and no other error. */
static void flip_binder(unsigned int unused, double deadline)
{
	unsigned long long rng = FLIP_BINDER_HOST;

	while (now() < deadline)
		expect_bind(kpr_draw(&rng, 2) ? SOCK_STREAM : SOCK_DGRAM, FLIP_BINDER_HOST,
			    FLIP_PORT, -1);
}

/* The rules in every policy the writers write. */
static char fixed_rules[PATH_MAX + 128];

static void writer(unsigned int seed, double deadline)
{
	unsigned long long rng = seed;
	char policy[4096];
	unsigned int i, rules;
	size_t len;
	int err;

	while (now() < deadline) {
		len = snprintf(policy, sizeof(policy), "clear\n%s", fixed_rules);
		rules = kpr_draw(&rng, 8);
		for (i = 0; i < rules; i++) {
			unsigned int port = VARIABLE_PORT + kpr_draw(&rng, VARIABLE_PORTS);

			len += snprintf(policy + len, sizeof(policy) - len, "%u-%u %s\n", port,
					port + kpr_draw(&rng, 3),
					kpr_draw(&rng, 2) ? "<kernel>" : HELPER);
		}
		/* One write in eight has a bad line: all of it is refused. */
		if (kpr_draw(&rng, 8) == 0) {
			snprintf(policy + len, sizeof(policy) - len, "%u not/absolute\n",
				 VARIABLE_PORT);
			err = kpr_write(policy);
			count(&tally->bad_writes);
			if (err != -EINVAL)
				stress_error("a bad policy: %d, expected -EINVAL", err);
			continue;
		}
		err = kpr_write(policy);
		count(&tally->writes);
		if (err)
			stress_error("a policy write: %d", err);
	}
}

/*
 * Whether @policy, as read back (one rule a line, sorted by port), has each
 * line of fixed_rules.
 */
static bool has_fixed_rules(const char *policy)
{
	const char *line = fixed_rules, *end;
	char want[PATH_MAX + 130];

	for (; (end = strchr(line, '\n')); line = end + 1) {
		snprintf(want, sizeof(want), "\n%.*s\n", (int)(end - line), line);
		/* At the start of the text, or after a newline. */
		if (strncmp(policy, want + 1, strlen(want + 1)) && !strstr(policy, want))
			return false;
	}
	return true;
}

static void reader(unsigned int unused, double deadline)
{
	char counters[8192];
	char *policy;

	while (now() < deadline) {
		policy = kpr_read();
		count(&tally->reads);
		if (!policy || !has_fixed_rules(policy))
			stress_error("a read of the policy lacks a fixed rule: %.160s",
				     policy ? policy : "(unreadable)");
		free(policy);
		if (kpr_read_file("/sys/kernel/security/kportreserve/counters", counters,
				  sizeof(counters)) < 0)
			stress_error("the counters are unreadable");
	}
}

/* When the namespace churners and the template writer start. */
static double churn_start;

/* Waits, without busy looping, until churn_start. */
static void wait_for_churn(void)
{
	double left;

	while ((left = churn_start - now()) > 0)
		usleep(left > 1 ? 1000000 : (useconds_t)(left * 1e6) + 1);
}

/*
 * In a new network namespace: writes its rules, checks them, and checks that
 * the template holds and the initial namespace's policy does not.
 */
static void churned_namespace(void)
{
	char rules[PATH_MAX + 128], self_path[PATH_MAX] = "", back[PATH_MAX + 128] = "";
	char template[256] = "";
	int err;

	if (unshare(CLONE_NEWNET) || kpr_loopback_up()) {
		stress_error("a new network namespace: errno %d", errno);
		return;
	}
	if (readlink("/proc/self/exe", self_path, sizeof(self_path) - 1) < 0) {
		stress_error("readlink of /proc/self/exe: errno %d", errno);
		return;
	}
	snprintf(rules, sizeof(rules), "%u %s\n%u %s\n", NS_OWN_PORT, self_path,
		 NS_HELPER_PORT, HELPER);
	err = kpr_write_file(KPR_NETNS, rules);
	if (err)
		stress_error("a write of a namespace's rules: %d", err);
	err = kpr_read_file(KPR_NETNS, back, sizeof(back));
	if (err || strcmp(back, rules))
		stress_error("a namespace's rules read back as %.160s (%d)", back, err);
	/* One template, never half of two: the kept rule comes first. */
	err = kpr_read_file(KPR_NETNS_DEFAULT, template, sizeof(template));
	if (err || strncmp(template, TEMPLATE_RULE, strlen(TEMPLATE_RULE)))
		stress_error("a read of the template lacks its kept rule: %.160s (%d)",
			     template, err);
	expect_bind(SOCK_STREAM, 1, NS_OWN_PORT, 0);
	expect_bind(SOCK_DGRAM, 1, NS_HELPER_PORT, EADDRINUSE);
	expect_bind(SOCK_STREAM, 1, TEMPLATE_PORT, EADDRINUSE);
	expect_bind(SOCK_DGRAM, 1, TEMPLATE_VARIABLE_PORT, -1);
	/* The initial namespace's rules: not here. */
	expect_bind(SOCK_STREAM, 1, KERNEL_PORT, 0);
	expect_bind(SOCK_DGRAM, 1, AUTO_LOW, 0);
}

/* Makes namespaces, each in a child that then exits, until @deadline. */
static void churner(unsigned int unused, double deadline)
{
	int status = 0;
	pid_t pid;

	wait_for_churn();
	while (now() < deadline) {
		pid = fork();
		if (pid == 0) {
			churned_namespace();
			_exit(0);
		}
		if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
		    WEXITSTATUS(status))
			stress_error("a namespace's child: pid %d, status %#x", pid, status);
		count(&tally->namespaces);
	}
}

/*
 * Writes the template again and again: the kept rule always, the other now
 * added, now deleted, now with the kept one in a whole new template.
 */
static void template_writer(unsigned int unused, double deadline)
{
	static const char *const texts[] = {
		"clear\n" TEMPLATE_RULE "23833 <kernel>\n",
		"delete 23833 <kernel>\n",
		"23833 <kernel>\n",
	};
	unsigned int i = 0;
	int err;

	wait_for_churn();
	while (now() < deadline) {
		err = kpr_write_file(KPR_NETNS_DEFAULT, texts[i]);
		count(&tally->template_writes);
		if (err)
			stress_error("a template write (%u): %d", i, err);
		i = (i + 1) % ARRAY_SIZE(texts);
	}
}

/* Runs @task(@arg, @deadline) in a child; returns its pid. */
static pid_t spawn(void (*task)(unsigned int arg, double deadline), unsigned int arg,
		   double deadline)
{
	pid_t pid = fork();

	if (pid == 0) {
		task(arg, deadline);
		_exit(0);
	}
	return pid;
}

/* The harness kills the test at STRESS_TIMEOUT: the stress ends well before. */
#define STRESS_TIMEOUT 7500
#define STRESS_MAX_SECONDS 7200

static unsigned int stress_seconds(void)
{
	const char *env = getenv("KPR_STRESS_SECONDS");
	int seconds = env ? atoi(env) : 0;

	if (seconds <= 0)
		return 20;
	if (seconds > STRESS_MAX_SECONDS) {
		ksft_print_msg("KPR_STRESS_SECONDS=%d: %d at most\n", seconds,
			       STRESS_MAX_SECONDS);
		return STRESS_MAX_SECONDS;
	}
	return seconds;
}

/* Opens kmemleak's file, mounting debugfs if needed; -1 if the kernel has none. */
static int kmemleak_open(void)
{
	int fd = open(KMEMLEAK, O_RDWR | O_CLOEXEC);

	if (fd < 0 && errno == ENOENT) {
		mount("debugfs", "/sys/kernel/debug", "debugfs", 0, NULL);
		fd = open(KMEMLEAK, O_RDWR | O_CLOEXEC);
	}
	return fd;
}

/* Sends @cmd to kmemleak; 0 or -errno. */
static int kmemleak_command(const char *cmd)
{
	int fd = kmemleak_open(), err = 0;

	if (fd < 0)
		return -errno;
	if (write(fd, cmd, strlen(cmd)) < 0)
		err = -errno;
	close(fd);
	return err;
}

FIXTURE(stress)
{
	char *saved_policy;
	char *saved_template;
	char ports_sysctl[64];
};

#define PORT_RANGE_SYSCTL "/proc/sys/net/ipv4/ip_local_port_range"

FIXTURE_SETUP(stress)
{
	char self_path[PATH_MAX] = "";

	tally = mmap(NULL, sizeof(*tally), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
		     -1, 0);
	ASSERT_NE(MAP_FAILED, tally);
	ASSERT_LT(0, readlink("/proc/self/exe", self_path, sizeof(self_path) - 1));
	snprintf(fixed_rules, sizeof(fixed_rules),
		 "%u %s\n%u <kernel>\n%u %s\n%u %s/current/owner\n%u-%u <kernel>\n",
		 OWN_PORT, self_path, KERNEL_PORT, HELPER_PORT, HELPER, FLIP_PORT, FLIP_DIR,
		 AUTO_LOW, AUTO_HIGH);
	ASSERT_EQ(0, kpr_install_helper(HELPER));
	ASSERT_EQ(0, mkdir(FLIP_DIR, 0755));
	ASSERT_EQ(0, mkdir(FLIP_DIR "/release-0", 0755));
	ASSERT_EQ(0, mkdir(FLIP_DIR "/release-1", 0755));
	ASSERT_EQ(0, symlink(self_path, FLIP_DIR "/release-0/owner"));
	ASSERT_EQ(0, symlink(HELPER, FLIP_DIR "/release-1/owner"));
	ASSERT_EQ(0, flip_to(0));
	/* The template the churned namespaces start with: one rule, kept. */
	self->saved_template = kpr_save_policy_file(KPR_NETNS_DEFAULT);
	ASSERT_NE(NULL, self->saved_template);
	ASSERT_EQ(0, kpr_write_file(KPR_NETNS_DEFAULT, TEMPLATE_RULE));
	/* The automatic choices: a range that the reserved ports are a third of. */
	ASSERT_EQ(0, kpr_read_file(PORT_RANGE_SYSCTL, self->ports_sysctl,
				   sizeof(self->ports_sysctl)));
	ASSERT_EQ(0, kpr_write_file(PORT_RANGE_SYSCTL, "39000 41999"));
	self->saved_policy = kpr_save_policy();
	ASSERT_NE(NULL, self->saved_policy);
	ASSERT_EQ(0, kpr_write(fixed_rules));
}

FIXTURE_TEARDOWN(stress)
{
	EXPECT_EQ(0, kpr_restore_policy(self->saved_policy));
	EXPECT_EQ(0, kpr_restore_policy_file(KPR_NETNS_DEFAULT, self->saved_template));
	EXPECT_EQ(0, kpr_write_file(PORT_RANGE_SYSCTL, self->ports_sysctl));
	unlink(HELPER);
	unlink(FLIP_DIR "/current");
	unlink(FLIP_DIR "/release-0/owner");
	unlink(FLIP_DIR "/release-1/owner");
	rmdir(FLIP_DIR "/release-0");
	rmdir(FLIP_DIR "/release-1");
	rmdir(FLIP_DIR);
}

TEST_F_TIMEOUT(stress, binds_execs_and_rewrites_at_once, STRESS_TIMEOUT)
{
	pid_t pids[BINDERS + WRITERS + CHURNERS + 5];
	unsigned int i, n = 0, seconds = stress_seconds();
	double deadline = now() + seconds;
	int status;

	churn_start = deadline - seconds / 2.0;
	for (i = 0; i < BINDERS; i++)
		pids[n++] = spawn(binder, i + 1, deadline);
	for (i = 0; i < WRITERS; i++)
		pids[n++] = spawn(writer, 1000 + i, deadline);
	pids[n++] = spawn(execer, 0, deadline);
	pids[n++] = spawn(reader, 0, deadline);
	pids[n++] = spawn(flipper, 0, deadline);
	pids[n++] = spawn(flip_binder, 0, deadline);
	for (i = 0; i < CHURNERS; i++)
		pids[n++] = spawn(churner, i, deadline);
	pids[n++] = spawn(template_writer, 0, deadline);
	for (i = 0; i < n; i++) {
		ASSERT_EQ(pids[i], waitpid(pids[i], &status, 0));
		EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	ksft_print_msg("%u s: %lu binds, %lu automatic choices, %lu execs, %lu flips, ",
		       seconds, tally->binds, tally->auto_binds, tally->execs, tally->flips);
	printf("%lu policy writes, %lu refused, %lu reads, %lu namespaces, %lu template writes\n",
	       tally->writes, tally->bad_writes, tally->reads, tally->namespaces,
	       tally->template_writes);
	EXPECT_EQ(0, tally->errors)
		TH_LOG("%lu errors, the first: %s", tally->errors, tally->first_error);
	EXPECT_LT(0, tally->binds);
	EXPECT_LT(0, tally->execs);
	EXPECT_LT(0, tally->flips);
	EXPECT_LT(0, tally->writes);
	EXPECT_LT(0, tally->bad_writes);
	EXPECT_LT(0, tally->reads);
	EXPECT_LT(0, tally->namespaces);
	EXPECT_LT(0, tally->template_writes);
}

/*
 * After the stress: a scan finds nothing. kmemleak reports an object once it
 * is 5 s old and unreferenced in two scans in a row.
 */
FIXTURE(leaks) {};
FIXTURE_SETUP(leaks) {}
FIXTURE_TEARDOWN(leaks) {}

/*
 * Counts the objects in a kmemleak @report. The scan covers every allocation
 * since boot, the suite's before the stress included.
 */
static int count_leaks(const char *report)
{
	const char *object = strstr(report, "unreferenced object");
	int leaks = 0;

	for (; object; object = strstr(object + 1, "unreferenced object"))
		leaks++;
	return leaks;
}

TEST_F_TIMEOUT(leaks, kmemleak_finds_none_after_the_stress, 1200)
{
	static char report[65536];
	ssize_t len = 0, n;
	int fd;

	fd = kmemleak_open();
	if (fd < 0)
		SKIP(return, "no kmemleak: CONFIG_DEBUG_KMEMLEAK and kmemleak=on");
	close(fd);
	sleep(6);
	ASSERT_EQ(0, kmemleak_command("scan"));
	ASSERT_EQ(0, kmemleak_command("scan"));
	fd = kmemleak_open();
	ASSERT_LE(0, fd);
	while ((n = read(fd, report + len, sizeof(report) - 1 - len)) > 0)
		len += n;
	close(fd);
	report[len] = '\0';
	ASSERT_LE(0, n);
	/* A report cut short could hide an object past the cut. */
	ASSERT_LT(len, (ssize_t)sizeof(report) - 1) TH_LOG("kmemleak:\n%s", report);
	EXPECT_EQ(0, count_leaks(report)) TH_LOG("kmemleak:\n%s", report);
}

TEST_HARNESS_MAIN
