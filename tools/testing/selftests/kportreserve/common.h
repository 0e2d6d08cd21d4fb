/* SPDX-License-Identifier: GPL-2.0 */
/*
 * KPortReserve selftests - shared helpers
 *
 * These are static inline helpers in a header rather than a library because
 * kselftest_harness.h must be included by each test file.
 */

#ifndef _SELFTESTS_KPORTRESERVE_COMMON_H
#define _SELFTESTS_KPORTRESERVE_COMMON_H

#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <linux/capability.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <net/if.h>
#include <stdarg.h>
#include <unistd.h>

#define KPR_POLICY "/sys/kernel/security/kportreserve/policy"
/* The rules of the network namespace of whoever opens it (not the initial one). */
#define KPR_NETNS "/sys/kernel/security/kportreserve/netns"
/* The template: rules of every network namespace but the initial one. */
#define KPR_NETNS_DEFAULT "/sys/kernel/security/kportreserve/netns-default"
#define KPR_MODE "/sys/kernel/security/kportreserve/mode"
#define KPR_LSM_LIST "/sys/kernel/security/lsm"
#define KPR_HELPER_NAME "bind_helper"

#ifndef IPPROTO_MPTCP
#define IPPROTO_MPTCP 262
#endif
#ifndef IPPROTO_SMC
#define IPPROTO_SMC 256
#endif
#ifndef AF_SMC
#define AF_SMC 43
#endif
#ifndef AF_RXRPC
#define AF_RXRPC 33
#endif

/*
 * A pseudo-random number below @bound from *@state, xorshift64*: the same
 * sequence for the same seed, on every kernel, so that a run can be repeated
 * (and, for the differential test, compared call for call).
 */
static inline unsigned int kpr_draw(unsigned long long *state, unsigned int bound)
{
	*state ^= *state >> 12;
	*state ^= *state << 25;
	*state ^= *state >> 27;
	return (unsigned int)((*state * 0x2545F4914F6CDD1DULL) >> 32) % bound;
}

/* Returns true if @name is an item of the comma-separated @list. */
static inline bool kpr_in_list(const char *list, const char *name)
{
	size_t len = strlen(name);
	const char *p = list;

	while ((p = strstr(p, name))) {
		if ((p == list || p[-1] == ',') && (p[len] == ',' || p[len] == '\0'))
			return true;
		p += len;
	}
	return false;
}

/* Reads the active LSMs, comma-separated, into @buf: "" if unreadable. */
static inline void kpr_active_lsms(char *buf, size_t size)
{
	ssize_t len = -1;
	int fd;

	fd = open(KPR_LSM_LIST, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		len = read(fd, buf, size - 1);
		close(fd);
	}
	buf[len > 0 ? len : 0] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
}

/* Returns true if the LSM @name is active. */
static inline bool kpr_lsm_active(const char *name)
{
	char lsms[512];

	kpr_active_lsms(lsms, sizeof(lsms));
	return kpr_in_list(lsms, name);
}

/* Returns true if "kportreserve" is an active LSM and its policy file exists. */
static inline bool kpr_enabled(void)
{
	return kpr_lsm_active("kportreserve") && access(KPR_POLICY, F_OK) == 0;
}

/*
 * Writes @len bytes of @text in one write(2) to @path, a file of the policy's
 * grammar (policy, netns-default, netns).  Returns 0 or -errno of open(2) or
 * write(2).
 */
static inline int kpr_write_policy_file_len(const char *path, const char *text, size_t len)
{
	ssize_t ret;
	int fd, err = 0;

	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ret = write(fd, text, len);
	if (ret < 0)
		err = -errno;
	else if ((size_t)ret != len)
		err = -EIO;
	close(fd);
	return err;
}

/* Writes @len bytes of @text to the policy file in one write(2), as above. */
static inline int kpr_write_len(const char *text, size_t len)
{
	return kpr_write_policy_file_len(KPR_POLICY, text, len);
}

static inline int kpr_write(const char *text)
{
	return kpr_write_len(text, strlen(text));
}

/*
 * Reads the whole file @path (policy, netns-default, netns) into a malloc'ed,
 * NUL-terminated buffer; NULL on error.
 */
static inline char *kpr_read_policy_file(const char *path)
{
	size_t size = 4096, len = 0;
	char *buf = malloc(size);
	ssize_t ret;
	int fd;

	if (!buf)
		return NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		free(buf);
		return NULL;
	}
	for (;;) {
		if (size - len < 2) {
			char *bigger = realloc(buf, size * 2);

			if (!bigger)
				break;
			buf = bigger;
			size *= 2;
		}
		ret = read(fd, buf + len, size - len - 1);
		if (ret <= 0)
			break;
		len += ret;
	}
	close(fd);
	buf[len] = '\0';
	return buf;
}

/* Reads the whole policy into a malloc'ed, NUL-terminated buffer; NULL on error. */
static inline char *kpr_read(void)
{
	return kpr_read_policy_file(KPR_POLICY);
}

/*
 * Saves the rules of @path (policy, netns-default, netns), for
 * kpr_restore_policy_file(), and clears them, so that a test starts from no
 * rules.  Returns the saved text (malloc'ed), or NULL on error.
 */
static inline char *kpr_save_policy_file(const char *path)
{
	char *saved = kpr_read_policy_file(path);

	if (saved && kpr_write_policy_file_len(path, "clear\n", strlen("clear\n"))) {
		free(saved);
		return NULL;
	}
	return saved;
}

/* Saves the policy in force and clears it, as kpr_save_policy_file(). */
static inline char *kpr_save_policy(void)
{
	return kpr_save_policy_file(KPR_POLICY);
}

/*
 * Replaces the rules of @path with @saved in one write, as a test found them,
 * and frees @saved; nothing to do for NULL (a fixture that skipped).
 */
static inline int kpr_restore_policy_file(const char *path, char *saved)
{
	size_t len;
	char *text;
	int err;

	if (!saved)
		return 0;
	len = strlen("clear\n") + strlen(saved);
	text = malloc(len + 1);
	err = text ? 0 : -ENOMEM;
	if (text) {
		snprintf(text, len + 1, "clear\n%s", saved);
		err = kpr_write_policy_file_len(path, text, len);
	}
	free(text);
	free(saved);
	return err;
}

/* Puts back the policy @saved by kpr_save_policy(), as kpr_restore_policy_file(). */
static inline int kpr_restore_policy(char *saved)
{
	return kpr_restore_policy_file(KPR_POLICY, saved);
}

/* Directory of the running test, where bind_helper was built. */
static inline void kpr_test_dir(char *dir, size_t size)
{
	ssize_t len = readlink("/proc/self/exe", dir, size - 1);
	char *slash;

	if (len < 0)
		len = 0;
	dir[len] = '\0';
	slash = strrchr(dir, '/');
	if (slash)
		*slash = '\0';
}

/* Copies @src to @dst with mode 0755, replacing @dst. Returns 0 or -errno. */
static inline int kpr_copy_file(const char *src, const char *dst)
{
	char buf[65536];
	int in, out, err = 0;
	ssize_t len;

	in = open(src, O_RDONLY | O_CLOEXEC);
	if (in < 0)
		return -errno;
	unlink(dst);
	out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0755);
	if (out < 0) {
		err = -errno;
		close(in);
		return err;
	}
	while ((len = read(in, buf, sizeof(buf))) > 0) {
		if (write(out, buf, len) != len) {
			err = -EIO;
			break;
		}
	}
	if (len < 0)
		err = -errno;
	close(in);
	if (close(out))
		err = -errno;
	return err;
}

/*
 * Points the symbolic link @link at @target in one step, as deployments flip
 * a "current" link: a new link beside it, renamed over it. Returns 0 or -errno.
 */
static inline int kpr_replace_symlink(const char *target, const char *link)
{
	char staged[PATH_MAX];

	if (snprintf(staged, sizeof(staged), "%s.new", link) >= (int)sizeof(staged))
		return -ENAMETOOLONG;
	if (symlink(target, staged) || rename(staged, link))
		return -errno;
	return 0;
}

/* Copies bind_helper, which sits beside the test, to @dst. */
static inline int kpr_install_helper(const char *dst)
{
	char src[PATH_MAX];

	kpr_test_dir(src, sizeof(src) - sizeof("/" KPR_HELPER_NAME));
	strcat(src, "/" KPR_HELPER_NAME);
	return kpr_copy_file(src, dst);
}

/*
 * Runs @argv[0] with @argv and returns its exit status (bind_helper exits with
 * the errno of its bind, 0 on success), or -1 if it did not exit normally.
 */
static inline int kpr_run(char *const argv[])
{
	int status;
	pid_t pid;

	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		execv(argv[0], argv);
		_exit(126);
	}
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

/*
 * Runs @program with the arguments that follow, up to a NULL, and returns its
 * exit status as kpr_run() does.
 */
static inline int kpr_runl(const char *program, ...)
{
	char *argv[16];
	unsigned int argc = 0;
	va_list args;

	va_start(args, program);
	argv[argc++] = (char *)program;
	while (argc < 15 && (argv[argc] = va_arg(args, char *)))
		argc++;
	argv[argc] = NULL;
	va_end(args);
	return kpr_run(argv);
}

/*
 * Runs @program (a copy of bind_helper) to bind a socket of @proto to @port
 * with the address family @addr_family ("inet", "inet6", "mapped" or
 * "unspec"). Returns the errno of bind(2), 0 on success.
 */
static inline int kpr_bind_as(const char *program, const char *addr_family,
			      const char *proto, unsigned short port)
{
	char port_str[16];

	snprintf(port_str, sizeof(port_str), "%hu", port);
	return kpr_runl(program, addr_family, proto, port_str, NULL);
}

/* Runs @check in a child process and returns its exit status. */
static inline int kpr_in_child(int (*check)(void))
{
	int status;
	pid_t pid = fork();

	if (pid == 0)
		_exit(check());
	if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

/* Binds a TCP socket to @port on the IPv4 loopback address; returns 0 or errno. */
static inline int kpr_bind_tcp(unsigned short port)
{
	struct sockaddr_in addr = {
		.sin_family = AF_INET,
		.sin_port = htons(port),
		.sin_addr.s_addr = htonl(INADDR_LOOPBACK),
	};
	int fd, err = 0;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return errno;
	if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)))
		err = errno;
	close(fd);
	return err;
}

/* Brings up the loopback interface of the current network namespace. */
static inline int kpr_loopback_up(void)
{
	struct ifreq ifr = { .ifr_name = "lo" };
	int fd, err = 0;

	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (ioctl(fd, SIOCGIFFLAGS, &ifr) == 0) {
		ifr.ifr_flags |= IFF_UP;
		if (ioctl(fd, SIOCSIFFLAGS, &ifr))
			err = -errno;
	} else {
		err = -errno;
	}
	close(fd);
	return err;
}

/* Drops every capability of the calling thread (effective, permitted, inheritable). */
static inline int kpr_drop_caps(void)
{
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct data[2] = {};

	return syscall(SYS_capset, &hdr, data) ? -errno : 0;
}

/* Writes @text to @path. Returns 0 or -errno. */
/* Opens @path with @flags (O_WRONLY and more) and writes @text in one write(2). */
static inline int kpr_write_file_flags(const char *path, const char *text, int flags)
{
	int fd, err = 0;
	ssize_t len = strlen(text);

	fd = open(path, flags | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	if (write(fd, text, len) != len)
		err = -errno;
	close(fd);
	return err;
}

static inline int kpr_write_file(const char *path, const char *text)
{
	return kpr_write_file_flags(path, text, O_WRONLY);
}

/* Creates (or truncates) the file @path and writes @text to it. */
static inline int kpr_write_file_new(const char *path, const char *text)
{
	return kpr_write_file_flags(path, text, O_WRONLY | O_CREAT | O_TRUNC);
}

/*
 * Expects the policy to read back exactly as @expected (in a kselftest
 * harness test).
 */
#define KPR_EXPECT_POLICY(expected)					\
	do {								\
		char *now = kpr_read();					\
									\
		ASSERT_NE(NULL, now);					\
		EXPECT_STREQ(expected, now);				\
		free(now);						\
	} while (0)

/* Reads the file at @path, a sysctl for example, into @buf as a string. Returns 0 or -errno. */
static inline int kpr_read_file(const char *path, char *buf, size_t size)
{
	size_t done = 0;
	ssize_t len = 0;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	/* A seq_file may return less than asked before its end. */
	while (done < size - 1 && (len = read(fd, buf + done, size - 1 - done)) > 0)
		done += len;
	close(fd);
	if (len < 0)
		return -errno;
	buf[done] = '\0';
	return 0;
}

/* Returns the local port of the IPv4 or IPv6 socket @fd, 0 while unbound or on error. */
static inline unsigned short kpr_local_port(int fd)
{
	struct sockaddr_storage addr;
	socklen_t len = sizeof(addr);

	if (getsockname(fd, (struct sockaddr *)&addr, &len))
		return 0;
	/* sin_port and sin6_port share their offset. */
	return ntohs(((struct sockaddr_in *)&addr)->sin_port);
}

/* Closes a TCP socket with a reset: no TIME_WAIT keeps its port. */
static inline void kpr_close_now(int fd)
{
	struct linger linger = { .l_onoff = 1, .l_linger = 0 };

	setsockopt(fd, SOL_SOCKET, SO_LINGER, &linger, sizeof(linger));
	close(fd);
}

/* Becomes the unprivileged user nobody (65534), as any local user is. Returns 0 or -errno. */
static inline int kpr_become_nobody(void)
{
	if (setgroups(0, NULL) || setresgid(65534, 65534, 65534) ||
	    setresuid(65534, 65534, 65534))
		return -errno;
	return 0;
}

/*
 * Returns whether a socket of the initial network namespace in @table
 * (/proc/net/tcp, udp6, ...) holds local port @port.
 */
static inline bool kpr_port_held(const char *table, unsigned short port)
{
	char line[512], local[32];
	bool held = false;
	FILE *file;

	snprintf(local, sizeof(local), ":%04X ", port);
	file = fopen(table, "r");
	if (!file)
		return false;
	while (!held && fgets(line, sizeof(line), file)) {
		/* "  sl  local_address rem_address ...": the first address is the local one. */
		char *addr = strchr(line, ':');

		addr = addr ? strchr(addr + 1, ':') : NULL;
		held = addr && !strncmp(addr, local, strlen(local));
	}
	fclose(file);
	return held;
}

/*
 * Starts @argv[0] with @argv, whose last argument is bind_helper's "wait",
 * and waits until it is ready to bind.  Its stdin and stdout are pipes, and
 * it holds no other end of them (close-on-exec); @to gets the end that sends
 * it "go" (one byte), @from the one it said "ready" on.  Returns its pid, or
 * -1 (with the child reaped, or none started).
 */
static inline pid_t kpr_start_waiting(char *const argv[], int *to, int *from)
{
	int to_helper[2], from_helper[2];
	pid_t pid;
	char c;

	if (pipe2(to_helper, O_CLOEXEC))
		return -1;
	if (pipe2(from_helper, O_CLOEXEC)) {
		close(to_helper[0]);
		close(to_helper[1]);
		return -1;
	}
	pid = fork();
	if (pid == 0) {
		if (dup2(to_helper[0], STDIN_FILENO) < 0 ||
		    dup2(from_helper[1], STDOUT_FILENO) < 0)
			_exit(120);
		execv(argv[0], argv);
		_exit(126);
	}
	close(to_helper[0]);
	close(from_helper[1]);
	if (pid > 0 && read(from_helper[0], &c, 1) != 1) {
		close(to_helper[1]);
		waitpid(pid, NULL, 0);
		pid = -1;
	}
	if (pid < 0) {
		close(to_helper[1]);
		close(from_helper[0]);
		return -1;
	}
	*to = to_helper[1];
	*from = from_helper[0];
	return pid;
}

#endif /* _SELFTESTS_KPORTRESERVE_COMMON_H */
