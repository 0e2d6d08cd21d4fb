// SPDX-License-Identifier: GPL-2.0
/*
 * KPortReserve selftests - stacked with the other LSMs
 *
 * KPortReserve is a minor LSM: it must keep its reservations beside whatever
 * else the machine runs, and leave the other LSMs' decisions alone. For each
 * LSM active in this boot (see /sys/kernel/security/lsm) these tests check
 * that it still enforces a rule of its own, and that a port KPortReserve
 * reserves stays reserved where that LSM allows the bind:
 *
 *   landlock  a ruleset that allows binding one TCP port denies another
 *   yama      ptrace_scope=1 denies tracing a sibling that scope 0 allows
 *   selinux   a port labelled with a type the domain may not name_bind
 *   apparmor  a profile that denies writing a file, and allows the rest
 *   smack     a task with a label of its own cannot write a floor ("_") file
 *   tomoyo    a domain whose network ACL allows one port denies another
 *   safesetid a uid its policy restricts may become the uid it allows, and
 *             is killed when it tries another, which an unrestricted uid may
 *             become
 *   lockdown  raising the level to confidentiality closes tracefs (last:
 *             it cannot be undone, so only where KPR_TEST_KERNEL_LOCKDOWN=1
 *             says the machine may stay locked down until reboot)
 *
 * Run without arguments, the program selects the fixtures of the active LSMs
 * itself (and "booted"); with arguments, the harness's filters apply as
 * usual. dev/test boots the test kernel beside SELinux, AppArmor and Smack,
 * then beside TOMOYO and every minor LSM; the guest's init (dev/guest/init,
 * kpr.mode=stack) loads the SELinux, AppArmor and TOMOYO policies these
 * tests rely on, as a distribution's boot would.
 */

#include "common.h"

#include <linux/landlock.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>

#include "../kselftest_harness.h"

#define SELINUX_ENFORCE "/sys/fs/selinux/enforce"
#define APPARMOR_PROFILES "/sys/kernel/security/apparmor/profiles"
#define YAMA_SCOPE "/proc/sys/kernel/yama/ptrace_scope"
#define TOMOYO_DOMAINS "/sys/kernel/security/tomoyo/domain_policy"
#define SAFESETID_POLICY "/sys/kernel/security/safesetid/uid_allowlist_policy"
#define LOCKDOWN_LEVEL "/sys/kernel/security/lockdown"
#define TRACEFS "/sys/kernel/tracing"

/*
 * The ports, 10 per LSM: + 0 the other LSM allows, + 1 it denies (where its
 * test is about ports), + 2 it allows but KPortReserve reserves for
 * <kernel>. The guest's SELinux policy (dev/boot) and TOMOYO policy
 * (dev/guest/stacking/tomoyo-load) name them.
 */
#define PORT_LANDLOCK 23900
#define PORT_SELINUX 23910
#define PORT_APPARMOR 23920
#define PORT_SMACK 23930
#define PORT_TOMOYO 23940
#define PORT_SAFESETID 23950
#define PORT_LOCKDOWN 23960

/*
 * SafeSetID: the policy restricts SETID_RESTRICTED to becoming SETID_ALLOWED
 * (and itself); SETID_UNRESTRICTED has no policy, so CAP_SETUID takes it to
 * any uid, SETID_OTHER among them.
 */
#define SETID_RESTRICTED 23950
#define SETID_ALLOWED 23951
#define SETID_OTHER 23952
#define SETID_UNRESTRICTED 23953

/* Where the TOMOYO policy's domain starts: a hard link to bind_helper. */
#define TOMOYO_HELPER "/kselftest/kportreserve/tomoyo_helper"

/* The fixtures, by the name of the LSM they check. */
static const char *const lsm_fixtures[] = {
	"landlock", "yama", "selinux", "apparmor", "smack", "tomoyo", "safesetid", "lockdown",
};

/* The exit status of a child that could not confine itself. */
#define CONFINE_FAILED 255

/*
 * In a child: @confine(@confine_arg) unless @confine is NULL, then
 * @act(@act_arg), whose result (0 or an errno) is the child's exit status.
 * Returns the child's wait status, or -1 if it could not be started.
 */
static int child_status(int (*confine)(const void *arg), const void *confine_arg,
			int (*act)(const void *arg), const void *act_arg)
{
	int status;
	pid_t pid;

	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		if (confine && confine(confine_arg))
			_exit(CONFINE_FAILED);
		_exit(act(act_arg));
	}
	return waitpid(pid, &status, 0) == pid ? status : -1;
}

/*
 * As child_status(), but returns the child's result, or -1 if the child
 * could not confine itself or did not exit.
 */
static int in_child(int (*confine)(const void *arg), const void *confine_arg,
		    int (*act)(const void *arg), const void *act_arg)
{
	int status = child_status(confine, confine_arg, act, act_arg);

	if (status == -1 || !WIFEXITED(status) || WEXITSTATUS(status) == CONFINE_FAILED)
		return -1;
	return WEXITSTATUS(status);
}

/* Binds TCP port *@port on the loopback address: 0 or errno. */
static int bind_port(const void *port)
{
	return kpr_bind_tcp(*(const unsigned short *)port);
}

/* Opens the file at @path for reading: 0 or errno. */
static int open_for_reading(const void *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	return fd < 0 ? errno : 0;
}

/* Opens the file at @path for writing: 0 or errno. */
static int open_for_writing(const void *path)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);

	return fd < 0 ? errno : 0;
}

/*
 * In a child: @confine(@arg), then binds TCP @port. Returns the errno of the
 * bind (or of socket(2)), 0 on success, or -1 if the child could not confine
 * itself or did not exit.
 */
static int bind_confined(int (*confine)(const void *arg), const void *arg, unsigned short port)
{
	return in_child(confine, arg, bind_port, &port);
}

/* Reserves @port for <kernel>, saving the policy in @saved first. */
static int reserve_for_kernel(char **saved, unsigned short port)
{
	char rule[32];

	*saved = kpr_save_policy();
	if (!*saved)
		return -1;
	snprintf(rule, sizeof(rule), "%hu <kernel>\n", port);
	return kpr_write(rule);
}

/*
 * Every LSM the kernel command line asks for is active, KPortReserve among
 * them: an exclusive LSM that lost to another would be missing.
 */
FIXTURE(booted) {};
FIXTURE_SETUP(booted) {}
FIXTURE_TEARDOWN(booted) {}

TEST_F(booted, lsm_list_is_what_the_command_line_asks)
{
	char active[512], cmdline[4096], *lsm, *name, *save;

	kpr_active_lsms(active, sizeof(active));
	ASSERT_TRUE(kpr_in_list(active, "kportreserve")) TH_LOG("active: %s", active);
	ASSERT_LE(0, kpr_read_file("/proc/cmdline", cmdline, sizeof(cmdline)));
	lsm = strstr(cmdline, "lsm=");
	if (!lsm)
		return;
	lsm += strlen("lsm=");
	lsm[strcspn(lsm, "\n ")] = '\0';
	TH_LOG("lsm=%s, active: %s", lsm, active);
	for (name = strtok_r(lsm, ",", &save); name; name = strtok_r(NULL, ",", &save)) {
		if (!kpr_in_list(active, name))
			ksft_print_msg("%s is not active\n", name);
		EXPECT_TRUE(kpr_in_list(active, name));
	}
}

/* Landlock: a ruleset handling TCP binds that allows only the port at @arg. */
static int landlock_allow_bind(const void *arg)
{
	struct landlock_ruleset_attr ruleset = {
		.handled_access_net = LANDLOCK_ACCESS_NET_BIND_TCP,
	};
	struct landlock_net_port_attr rule = {
		.allowed_access = LANDLOCK_ACCESS_NET_BIND_TCP,
		.port = *(const unsigned short *)arg,
	};
	int fd, err;

	fd = syscall(__NR_landlock_create_ruleset, &ruleset, sizeof(ruleset), 0);
	if (fd < 0)
		return -1;
	err = syscall(__NR_landlock_add_rule, fd, LANDLOCK_RULE_NET_PORT, &rule, 0) ||
	      prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) ||
	      syscall(__NR_landlock_restrict_self, fd, 0);
	close(fd);
	return err ? -1 : 0;
}

FIXTURE(landlock)
{
	char *saved_policy;
};

FIXTURE_SETUP(landlock)
{
	ASSERT_EQ(0, reserve_for_kernel(&self->saved_policy, PORT_LANDLOCK + 2));
}

FIXTURE_TEARDOWN(landlock)
{
	EXPECT_EQ(0, kpr_restore_policy(self->saved_policy));
}

TEST_F(landlock, ruleset_still_denies_and_reservation_still_holds)
{
	unsigned short allowed = PORT_LANDLOCK, reserved = PORT_LANDLOCK + 2;

	EXPECT_EQ(0, bind_confined(landlock_allow_bind, &allowed, PORT_LANDLOCK));
	EXPECT_EQ(EACCES, bind_confined(landlock_allow_bind, &allowed, PORT_LANDLOCK + 1));
	EXPECT_EQ(0, kpr_bind_tcp(PORT_LANDLOCK + 1));
	EXPECT_EQ(EADDRINUSE, bind_confined(landlock_allow_bind, &reserved, reserved));
}

/*
 * Yama: as uid 65534 without capabilities, one child attaches to another,
 * its sibling, with ptrace(2). Returns 0 if it could, its errno otherwise,
 * -1 if the test could not run.
 */
static int ptrace_sibling(void)
{
	int ready[2], status, result = -1;
	pid_t target, tracer;
	char c;

	if (pipe(ready))
		return -1;
	target = fork();
	if (target == 0) {
		close(ready[0]);
		if (kpr_become_nobody() || prctl(PR_SET_DUMPABLE, 1, 0, 0, 0))
			_exit(1);
		if (write(ready[1], "r", 1) != 1)
			_exit(1);
		pause();
		_exit(0);
	}
	close(ready[1]);
	if (target < 0 || read(ready[0], &c, 1) != 1)
		goto out;
	tracer = fork();
	if (tracer == 0) {
		if (kpr_become_nobody() || prctl(PR_SET_DUMPABLE, 1, 0, 0, 0))
			_exit(CONFINE_FAILED);
		if (ptrace(PTRACE_ATTACH, target, NULL, NULL))
			_exit(errno);
		waitpid(target, NULL, __WALL);
		ptrace(PTRACE_DETACH, target, NULL, NULL);
		_exit(0);
	}
	if (tracer > 0 && waitpid(tracer, &status, 0) == tracer && WIFEXITED(status) &&
	    WEXITSTATUS(status) != CONFINE_FAILED)
		result = WEXITSTATUS(status);
out:
	close(ready[0]);
	if (target > 0) {
		kill(target, SIGKILL);
		waitpid(target, NULL, 0);
	}
	return result;
}

FIXTURE(yama)
{
	char scope[8];
};

FIXTURE_SETUP(yama)
{
	ASSERT_EQ(0, kpr_read_file(YAMA_SCOPE, self->scope, sizeof(self->scope)));
}

FIXTURE_TEARDOWN(yama)
{
	EXPECT_EQ(0, kpr_write_file(YAMA_SCOPE, self->scope));
}

TEST_F(yama, relational_scope_still_denies_tracing_a_sibling)
{
	ASSERT_EQ(0, kpr_write_file(YAMA_SCOPE, "0"));
	EXPECT_EQ(0, ptrace_sibling());
	ASSERT_EQ(0, kpr_write_file(YAMA_SCOPE, "1"));
	EXPECT_EQ(EPERM, ptrace_sibling());
}

/*
 * SELinux: the guest's policy (dev/boot: the kernel's dummy policy, mdp, and
 * one port type no domain may bind) labels PORT_SELINUX + 1; init loaded it
 * and switched to enforcing.
 */
FIXTURE(selinux)
{
	char *saved_policy;
};

FIXTURE_SETUP(selinux)
{
	char enforce[8] = "";

	ASSERT_EQ(0, kpr_read_file(SELINUX_ENFORCE, enforce, sizeof(enforce)))
		TH_LOG("no policy loaded: is selinuxfs mounted?");
	ASSERT_EQ('1', enforce[0]) TH_LOG("SELinux is not enforcing");
	ASSERT_EQ(0, reserve_for_kernel(&self->saved_policy, PORT_SELINUX + 2));
}

FIXTURE_TEARDOWN(selinux)
{
	EXPECT_EQ(0, kpr_restore_policy(self->saved_policy));
}

TEST_F(selinux, port_type_still_denies_and_reservation_still_holds)
{
	EXPECT_EQ(0, kpr_bind_tcp(PORT_SELINUX));
	EXPECT_EQ(EACCES, kpr_bind_tcp(PORT_SELINUX + 1));
	EXPECT_EQ(EADDRINUSE, kpr_bind_tcp(PORT_SELINUX + 2));
}

/* AppArmor: moves the calling task to the profile named @arg. */
static int apparmor_change_profile(const void *arg)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "changeprofile %s", (const char *)arg);
	return kpr_write_file("/proc/self/attr/apparmor/current", cmd) ? -1 : 0;
}

#define APPARMOR_FILE "/tmp/kpr-apparmor-denied"

/*
 * The profile init loaded with apparmor_parser (dev/guest/stacking/
 * apparmor.profile): kpr-stack allows everything but writing APPARMOR_FILE.
 */
FIXTURE(apparmor)
{
	char *saved_policy;
};

FIXTURE_SETUP(apparmor)
{
	char profiles[4096] = "";

	ASSERT_EQ(0, kpr_read_file(APPARMOR_PROFILES, profiles, sizeof(profiles)));
	ASSERT_NE(NULL, strstr(profiles, "kpr-stack (enforce)"))
		TH_LOG("profiles: %s", profiles);
	ASSERT_EQ(0, kpr_write_file_new(APPARMOR_FILE, "x"));
	ASSERT_EQ(0, reserve_for_kernel(&self->saved_policy, PORT_APPARMOR + 2));
}

FIXTURE_TEARDOWN(apparmor)
{
	unlink(APPARMOR_FILE);
	EXPECT_EQ(0, kpr_restore_policy(self->saved_policy));
}

TEST_F(apparmor, profile_still_denies_and_reservation_still_holds)
{
	EXPECT_EQ(0, in_child(NULL, NULL, open_for_writing, APPARMOR_FILE));
	EXPECT_EQ(0, in_child(apparmor_change_profile, "kpr-stack", open_for_reading,
			      APPARMOR_FILE));
	EXPECT_EQ(EACCES, in_child(apparmor_change_profile, "kpr-stack", open_for_writing,
				   APPARMOR_FILE));
	EXPECT_EQ(0, bind_confined(apparmor_change_profile, "kpr-stack", PORT_APPARMOR));
	EXPECT_EQ(EADDRINUSE, bind_confined(apparmor_change_profile, "kpr-stack",
					    PORT_APPARMOR + 2));
}

/*
 * Smack: takes the label @arg (NULL: keeps the floor label "_"), then gives
 * up every capability, CAP_MAC_OVERRIDE included, by becoming nobody.
 */
static int smack_relabel_unprivileged(const void *arg)
{
	if (arg && kpr_write_file("/proc/self/attr/smack/current", arg))
		return -1;
	return kpr_become_nobody();
}

#define SMACK_FILE "/tmp/kpr-smack-floor"

FIXTURE(smack)
{
	char *saved_policy;
};

FIXTURE_SETUP(smack)
{
	int fd;

	/* Created by a task with the floor label, the file gets it too. */
	fd = open(SMACK_FILE, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, fchmod(fd, 0666));
	close(fd);
	ASSERT_EQ(0, reserve_for_kernel(&self->saved_policy, PORT_SMACK + 2));
}

FIXTURE_TEARDOWN(smack)
{
	unlink(SMACK_FILE);
	EXPECT_EQ(0, kpr_restore_policy(self->saved_policy));
}

TEST_F(smack, label_still_denies_and_reservation_still_holds)
{
	EXPECT_EQ(0, in_child(smack_relabel_unprivileged, NULL, open_for_writing, SMACK_FILE));
	EXPECT_EQ(EACCES, in_child(smack_relabel_unprivileged, "kprstack", open_for_writing,
				   SMACK_FILE));
	EXPECT_EQ(0, bind_confined(smack_relabel_unprivileged, "kprstack", PORT_SMACK));
	EXPECT_EQ(EADDRINUSE, bind_confined(smack_relabel_unprivileged, "kprstack",
					    PORT_SMACK + 2));
}

/*
 * TOMOYO: the policy init loaded (dev/guest/stacking/tomoyo-load) starts
 * the domain "<kernel> TOMOYO_HELPER" at each exec of TOMOYO_HELPER, with a
 * profile that enforces network ACLs and an ACL that allows binding
 * PORT_TOMOYO and PORT_TOMOYO + 2.
 */
FIXTURE(tomoyo)
{
	char *saved_policy;
};

FIXTURE_SETUP(tomoyo)
{
	char domains[4096] = "";
	char helper[PATH_MAX];

	ASSERT_EQ(0, kpr_read_file(TOMOYO_DOMAINS, domains, sizeof(domains)));
	ASSERT_NE(NULL, strstr(domains, "<kernel> " TOMOYO_HELPER "\nuse_profile 1"))
		TH_LOG("domain policy: %s", domains);
	kpr_test_dir(helper, sizeof(helper) - sizeof("/" KPR_HELPER_NAME));
	strcat(helper, "/" KPR_HELPER_NAME);
	unlink(TOMOYO_HELPER);
	ASSERT_EQ(0, link(helper, TOMOYO_HELPER));
	ASSERT_EQ(0, reserve_for_kernel(&self->saved_policy, PORT_TOMOYO + 2));
}

FIXTURE_TEARDOWN(tomoyo)
{
	unlink(TOMOYO_HELPER);
	EXPECT_EQ(0, kpr_restore_policy(self->saved_policy));
}

TEST_F(tomoyo, network_acl_still_denies_and_reservation_still_holds)
{
	EXPECT_EQ(0, kpr_bind_as(TOMOYO_HELPER, "inet", "tcp", PORT_TOMOYO));
	EXPECT_EQ(EPERM, kpr_bind_as(TOMOYO_HELPER, "inet", "tcp", PORT_TOMOYO + 1));
	EXPECT_EQ(0, kpr_bind_tcp(PORT_TOMOYO + 1));
	EXPECT_EQ(EADDRINUSE, kpr_bind_as(TOMOYO_HELPER, "inet", "tcp", PORT_TOMOYO + 2));
}

/*
 * SafeSetID: becomes uid @arg with CAP_SETUID still effective, as a
 * privileged service that drops to its own uid and keeps the right to
 * change uid, which is what SafeSetID's policy restricts.
 */
static int become_uid_keeping_setuid(const void *arg)
{
	struct __user_cap_header_struct head = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2];
	uid_t uid = *(const uid_t *)arg;

	if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) || setresuid(uid, uid, uid) ||
	    syscall(__NR_capget, &head, data))
		return -1;
	data[0].effective |= 1U << CAP_SETUID;
	return syscall(__NR_capset, &head, data) ? -1 : 0;
}

/* SafeSetID: becomes SETID_RESTRICTED, then SETID_ALLOWED, which it may. */
static int become_allowed_uid(const void *arg)
{
	uid_t restricted = SETID_RESTRICTED;

	if (become_uid_keeping_setuid(&restricted))
		return -1;
	return setuid(SETID_ALLOWED) ? -1 : 0;
}

/* Changes every uid of the calling task to uid @arg: 0 or errno. */
static int set_uid(const void *arg)
{
	return setuid(*(const uid_t *)arg) ? errno : 0;
}

/*
 * SafeSetID: in a child, becomes @from keeping CAP_SETUID, then calls
 * setuid(@to). Returns the child's wait status (0: it could).
 */
static int setuid_status(uid_t from, uid_t to)
{
	return child_status(become_uid_keeping_setuid, &from, set_uid, &to);
}

FIXTURE(safesetid)
{
	char saved[4096];
	char *saved_policy;
};

FIXTURE_SETUP(safesetid)
{
	char policy[64];

	ASSERT_EQ(0, kpr_read_file(SAFESETID_POLICY, self->saved, sizeof(self->saved)));
	ASSERT_GT(sizeof(self->saved) - 1, strlen(self->saved)) TH_LOG("policy too long to save");
	snprintf(policy, sizeof(policy), "%d:%d\n%d:%d\n", SETID_RESTRICTED, SETID_ALLOWED,
		 SETID_ALLOWED, SETID_ALLOWED);
	ASSERT_EQ(0, kpr_write_file(SAFESETID_POLICY, policy));
	/* The teardown does not run after a failed setup: restore first. */
	if (reserve_for_kernel(&self->saved_policy, PORT_SAFESETID + 2)) {
		kpr_write_file(SAFESETID_POLICY, self->saved);
		ASSERT_TRUE(false) TH_LOG("could not reserve port %d", PORT_SAFESETID + 2);
	}
}

FIXTURE_TEARDOWN(safesetid)
{
	EXPECT_EQ(0, kpr_write_file(SAFESETID_POLICY, self->saved));
	EXPECT_EQ(0, kpr_restore_policy(self->saved_policy));
}

TEST_F(safesetid, uid_policy_still_denies_and_reservation_still_holds)
{
	int status;

	EXPECT_EQ(0, setuid_status(SETID_UNRESTRICTED, SETID_OTHER));
	EXPECT_EQ(0, setuid_status(SETID_RESTRICTED, SETID_ALLOWED));
	/* A transition the policy does not allow kills the task. */
	status = setuid_status(SETID_RESTRICTED, SETID_OTHER);
	EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
		TH_LOG("wait status %#x", status);
	EXPECT_EQ(0, bind_confined(become_allowed_uid, NULL, PORT_SAFESETID));
	EXPECT_EQ(EADDRINUSE, bind_confined(become_allowed_uid, NULL, PORT_SAFESETID + 2));
}

/*
 * Lockdown: raises the level from none to confidentiality, which closes
 * tracefs. A level cannot be lowered, so this fixture is the file's last,
 * and runs only where KPR_TEST_KERNEL_LOCKDOWN=1 (dev/guest/init, in the
 * stacking boots) says the machine may stay locked down until reboot.
 */
FIXTURE(lockdown)
{
	char *saved_policy;
};

FIXTURE_SETUP(lockdown)
{
	const char *allowed = getenv("KPR_TEST_KERNEL_LOCKDOWN");
	char level[128] = "";

	if (!allowed || strcmp(allowed, "1"))
		SKIP(return, "locks the kernel down until reboot: set KPR_TEST_KERNEL_LOCKDOWN=1");
	ASSERT_EQ(0, kpr_read_file(LOCKDOWN_LEVEL, level, sizeof(level)));
	ASSERT_NE(NULL, strstr(level, "[none]")) TH_LOG("lockdown: %s", level);
	ASSERT_EQ(0, mount("tracefs", TRACEFS, "tracefs", 0, NULL));
	/* The teardown does not run after a failed setup: unmount first. */
	if (reserve_for_kernel(&self->saved_policy, PORT_LOCKDOWN + 2)) {
		umount(TRACEFS);
		ASSERT_TRUE(false) TH_LOG("could not reserve port %d", PORT_LOCKDOWN + 2);
	}
}

FIXTURE_TEARDOWN(lockdown)
{
	umount(TRACEFS);
	EXPECT_EQ(0, kpr_restore_policy(self->saved_policy));
}

TEST_F(lockdown, confidentiality_still_closes_tracefs_and_reservation_still_holds)
{
	char level[128] = "";

	/* Before the step that cannot be undone: tracefs must be open. */
	ASSERT_EQ(0, in_child(NULL, NULL, open_for_reading, TRACEFS "/trace"));
	ASSERT_EQ(0, kpr_write_file(LOCKDOWN_LEVEL, "confidentiality"));
	ASSERT_EQ(0, kpr_read_file(LOCKDOWN_LEVEL, level, sizeof(level)));
	EXPECT_NE(NULL, strstr(level, "[confidentiality]")) TH_LOG("lockdown: %s", level);
	EXPECT_EQ(EPERM, in_child(NULL, NULL, open_for_reading, TRACEFS "/trace"));
	EXPECT_EQ(0, kpr_bind_tcp(PORT_LOCKDOWN));
	EXPECT_EQ(EADDRINUSE, kpr_bind_tcp(PORT_LOCKDOWN + 2));
}

/*
 * Without arguments: "booted" and the fixtures of the active LSMs, as
 * harness filters (-f NAME).
 */
int main(int argc, char **argv)
{
	char *args[4 + 2 * ARRAY_SIZE(lsm_fixtures)];
	size_t i;
	int n = 0;

	if (argc > 1)
		return test_harness_run(argc, argv);
	args[n++] = argv[0];
	args[n++] = "-f";
	args[n++] = "booted";
	for (i = 0; i < ARRAY_SIZE(lsm_fixtures); i++) {
		if (kpr_lsm_active(lsm_fixtures[i])) {
			args[n++] = "-f";
			args[n++] = (char *)lsm_fixtures[i];
		}
	}
	args[n] = NULL;
	return test_harness_run(n, args);
}
