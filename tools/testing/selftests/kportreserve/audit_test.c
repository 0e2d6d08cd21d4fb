// SPDX-License-Identifier: GPL-2.0
/*
 * KPortReserve selftests - audit records
 *
 * With audit enabled, a denied bind, a bind permissive mode lets through, a
 * policy write and a mode change each emit one audit record naming the task;
 * an allowed bind emits none.  Each test registers itself as the audit daemon
 * to read the records from the audit netlink socket, and puts the audit
 * status, the policy and the mode back as it found them.
 */

#include "common.h"
#include <linux/audit.h>
#include <linux/netlink.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/sysmacros.h>
#include <sys/prctl.h>
#include <sys/time.h>
#include "../kselftest_harness.h"

#ifndef AUDIT_KPORTRESERVE_ACCESS
#define AUDIT_KPORTRESERVE_ACCESS 1427
#endif

/* The longest record, as libaudit's MAX_AUDIT_MESSAGE_LENGTH. */
#define AUDIT_RECORD_MAX 8970

/* The tests reserve and bind free ports of this range. */
#define PORT_FIRST 42000
#define PORT_LAST 42999

/* audit_status.enabled of a locked audit configuration (AUDIT_LOCKED). */
#define AUDIT_ENABLED_LOCKED 2

/* How many markers audit_read() sends before it gives up. */
#define MARKER_TRIES 3

/* A drain reads at most this many records, should something keep logging. */
#define DRAIN_MAX 1000

struct audit_msg {
	struct nlmsghdr hdr;
	union {
		struct audit_status status;
		struct nlmsgerr err;
		char data[AUDIT_RECORD_MAX + 1];
	};
};

/* Waits for a record that must come: kauditd is slow under KASAN and TCG. */
static const struct timeval wait_tv = { .tv_sec = 2 };

/* Then waits this long for records that must not come, once none is pending. */
static const struct timeval drain_tv = { .tv_usec = 300000 };

/* Sequence numbers of requests, and numbers of markers, in this process. */
static __u32 audit_seq;
static unsigned int marker_count;

/* How the records name the test task: as the kernel logs them. */
struct task_fields {
	char pid[16];
	char euid[16];
	char egid[16];
	char comm[2 * 16 + 3];
	char exe[2 * PATH_MAX + 3];
	char cgroup[2 * PATH_MAX + 3];
};

/* What a test changes, to put back. */
struct saved_state {
	char *policy;
	char mode[32];
	int audit_fd;			/* -1 unless registered as the audit daemon */
	struct audit_status audit;
};

static int set_timeout(int fd, const struct timeval *tv)
{
	return setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, tv, sizeof(*tv)) ? -errno : 0;
}

/* Sends a message of @type carrying @size bytes of @payload. */
static int audit_send(int fd, __u16 type, __u16 flags, __u32 seq, const void *payload,
		      size_t size)
{
	struct sockaddr_nl addr = { .nl_family = AF_NETLINK };
	struct audit_msg msg = {
		.hdr = {
			.nlmsg_len = NLMSG_LENGTH(size),
			.nlmsg_type = type,
			.nlmsg_flags = NLM_F_REQUEST | flags,
			.nlmsg_seq = seq,
		},
	};
	ssize_t ret;

	if (size > sizeof(msg.data))
		return -E2BIG;
	if (size)
		memcpy(msg.data, payload, size);
	do {
		ret = sendto(fd, &msg, msg.hdr.nlmsg_len, 0, (struct sockaddr *)&addr,
			     sizeof(addr));
	} while (ret < 0 && errno == EINTR);
	if (ret < 0)
		return -errno;
	return ret == msg.hdr.nlmsg_len ? 0 : -EIO;
}

/*
 * Receives one message from the kernel.  A record's text is NUL-terminated in
 * msg->data.  Returns 0, or -errno: -EAGAIN when the receive timeout expires.
 */
static int audit_recv(int fd, struct audit_msg *msg)
{
	struct sockaddr_nl addr;
	socklen_t addrlen;
	ssize_t len;

	do {
		addrlen = sizeof(addr);
		/* One byte short of msg->data, for the NUL. */
		len = recvfrom(fd, msg, NLMSG_HDRLEN + sizeof(msg->data) - 1, 0,
			       (struct sockaddr *)&addr, &addrlen);
	} while (len < 0 && errno == EINTR);
	if (len < 0)
		return -errno;
	if (len < NLMSG_HDRLEN || addr.nl_pid)
		return -EPROTO;
	/* Records' nlmsg_len leaves out the header: trust the length received. */
	msg->data[len - NLMSG_HDRLEN] = '\0';
	return 0;
}

/*
 * Sends a request of @type and waits for its answer: a message of
 * @reply_type, copied to @reply, or with @reply_type NLMSG_ERROR the ack.
 * Records that arrive meanwhile are skipped.  Returns 0 or -errno.
 */
static int audit_request(int fd, __u16 type, const void *payload, size_t size,
			 __u16 reply_type, struct audit_msg *reply)
{
	__u32 seq = ++audit_seq;
	struct audit_msg msg;
	int err;

	err = audit_send(fd, type, reply_type == NLMSG_ERROR ? NLM_F_ACK : 0, seq,
			 payload, size);
	while (!err) {
		err = audit_recv(fd, &msg);
		if (err || msg.hdr.nlmsg_seq != seq)
			continue;
		if (msg.hdr.nlmsg_type == NLMSG_ERROR)
			return msg.err.error;
		if (msg.hdr.nlmsg_type == reply_type) {
			if (reply)
				*reply = msg;
			return 0;
		}
	}
	return err;
}

static int audit_set(int fd, __u32 mask, __u32 enabled, __u32 pid)
{
	struct audit_status status = {
		.mask = mask,
		.enabled = enabled,
		.pid = pid,
	};

	return audit_request(fd, AUDIT_SET, &status, sizeof(status), NLMSG_ERROR, NULL);
}

/*
 * Opens the audit netlink socket, saves the audit status in @saved, enables
 * audit and registers the calling process as the audit daemon.  Returns the
 * socket, or -errno with the status unchanged.
 */
static int audit_start(struct audit_status *saved)
{
	struct audit_msg reply;
	int fd, err;

	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_AUDIT);
	if (fd < 0)
		return -errno;
	err = set_timeout(fd, &wait_tv);
	if (!err)
		err = audit_request(fd, AUDIT_GET, NULL, 0, AUDIT_GET, &reply);
	if (!err) {
		*saved = reply.status;
		/*
		 * Another audit daemon's records are not ours to take; a dead
		 * one (a test killed on timeout) the kernel drops on AUDIT_SET.
		 */
		if (saved->pid && !kill(saved->pid, 0))
			err = -EEXIST;
	}
	if (!err && saved->enabled == AUDIT_ENABLED_LOCKED) {
		/* Enabled for good: only the daemon is left to register. */
		err = audit_set(fd, AUDIT_STATUS_PID, 0, getpid());
	} else if (!err) {
		err = audit_set(fd, AUDIT_STATUS_ENABLED | AUDIT_STATUS_PID, 1, getpid());
		/* The kernel applies "enabled" before it tries the pid. */
		if (err)
			audit_set(fd, AUDIT_STATUS_ENABLED, saved->enabled, 0);
	}
	if (err) {
		close(fd);
		return err;
	}
	return fd;
}

/*
 * Copies the value of the field @key of the record @text to @value and returns
 * it, or "(missing)".  Fields are space-separated key=value pairs after the
 * "audit(SECONDS.MS:SERIAL): " prefix: untrusted strings never hold a space.
 */
static const char *field(const char *text, const char *key, char *value, size_t size)
{
	const char *p = strstr(text, "): ");
	size_t key_len = strlen(key);

	for (p = p ? p + 3 : text; *p; p += strspn(p, " ")) {
		size_t len = strcspn(p, " ");

		if (len > key_len && !strncmp(p, key, key_len) && p[key_len] == '=') {
			snprintf(value, size, "%.*s", (int)(len - key_len - 1), p + key_len + 1);
			return value;
		}
		p += len;
	}
	snprintf(value, size, "(missing)");
	return value;
}

/* Returns true if the record @text has the field @key=@value. */
static bool has_field(const char *text, const char *key, const char *value)
{
	char found[2 * PATH_MAX + 3];

	return !strcmp(value, field(text, key, found, sizeof(found)));
}

/*
 * Logs a marker record through the audit socket and reads records until it
 * comes back (sending another if it does not, as kauditd may drop a record
 * sent just as the daemon registered), then, if @drain, until none comes for
 * drain_tv.  A record is sent in order, so every record the test caused before
 * has been read.  Returns how many records of @type had the field @key=@value,
 * the first copied to @first if not NULL ("" if none), or -errno.
 */
static int audit_read(int fd, __u16 type, const char *key, const char *value,
		      char *first, size_t size, bool drain)
{
	unsigned int first_marker = marker_count + 1, tries = 0, marker, drained = 0;
	char prefix[64], text[64];
	struct audit_msg msg;
	const char *found;
	int count = 0, err = -EAGAIN;

	if (first)
		*first = '\0';
	snprintf(prefix, sizeof(prefix), " msg='kportreserve-selftest-%d-", getpid());
	for (;;) {
		if (err == -EAGAIN) {
			if (tries++ == MARKER_TRIES)
				return -ETIMEDOUT;
			snprintf(text, sizeof(text), "%s%u", prefix + 6, ++marker_count);
			/* Without NLM_F_ACK: only an error answers, not to be missed. */
			err = audit_send(fd, AUDIT_USER, 0, ++audit_seq, text, strlen(text) + 1);
			if (err)
				return err;
		}
		err = audit_recv(fd, &msg);
		if (err == -EAGAIN)
			continue;
		if (err)
			return err;
		if (msg.hdr.nlmsg_type == NLMSG_ERROR) {
			if (msg.err.error)
				return msg.err.error;
			continue;
		}
		if (msg.hdr.nlmsg_type == AUDIT_USER) {
			found = strstr(msg.data, prefix);
			if (found && sscanf(found + strlen(prefix), "%u'", &marker) == 1 &&
			    marker >= first_marker)
				break;
			continue;
		}
		if (msg.hdr.nlmsg_type == type && has_field(msg.data, key, value) &&
		    !count++ && first)
			snprintf(first, size, "%s", msg.data);
	}
	if (!drain)
		return count;

	err = set_timeout(fd, &drain_tv);
	while (!err && drained++ < DRAIN_MAX) {
		err = audit_recv(fd, &msg);
		if (!err && msg.hdr.nlmsg_type == type && has_field(msg.data, key, value))
			count++;
	}
	if (err && err != -EAGAIN)
		return err;
	err = set_timeout(fd, &wait_tv);
	return err ? err : count;
}

/* Reads the records up to now, and counts the new ones of @type with @key=@value. */
static int audit_count(int fd, __u16 type, const char *key, const char *value,
		       char *first, size_t size)
{
	return audit_read(fd, type, key, value, first, size, true);
}

/* Reads, and forgets, the records up to now. */
static int audit_sync(int fd)
{
	return audit_read(fd, 0, "", "", NULL, 0, false);
}

/*
 * Writes @s as audit logs an untrusted string: in quotes, or in upper-case hex
 * if it holds a quote, a space, a control byte or a byte above 0x7e.
 */
static void audit_untrusted(const char *s, char *out, size_t size)
{
	const unsigned char *p;
	size_t len = 0;

	for (p = (const unsigned char *)s; *p; p++)
		if (*p == '"' || *p < 0x21 || *p > 0x7e)
			break;
	if (!*p) {
		snprintf(out, size, "\"%s\"", s);
		return;
	}
	*out = '\0';
	for (p = (const unsigned char *)s; *p && len + 2 < size; p++)
		len += snprintf(out + len, size - len, "%02X", *p);
}

static int task_fields_init(struct task_fields *task)
{
	char comm[16] = {}, exe[PATH_MAX], cgroup[PATH_MAX], *line;
	ssize_t len;

	snprintf(task->pid, sizeof(task->pid), "%d", getpid());
	snprintf(task->euid, sizeof(task->euid), "%u", geteuid());
	snprintf(task->egid, sizeof(task->egid), "%u", getegid());
	if (prctl(PR_GET_NAME, comm))
		return -errno;
	audit_untrusted(comm, task->comm, sizeof(task->comm));
	/* The path of the executable as the kernel sees it. */
	len = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (len < 0)
		return -errno;
	exe[len] = '\0';
	audit_untrusted(exe, task->exe, sizeof(task->exe));
	/*
	 * Its cgroup v2 path from the root: "0::/PATH" in the initial cgroup
	 * namespace. Until cgroup2 is first mounted, the line is missing, and
	 * every task is in the root.
	 */
	if (kpr_read_file("/proc/self/cgroup", cgroup, sizeof(cgroup)))
		return -ENOENT;
	line = !strncmp(cgroup, "0::", 3) ? cgroup : strstr(cgroup, "\n0::");
	if (line) {
		line += *line == '\n' ? 4 : 3;
		line[strcspn(line, "\n")] = '\0';
	}
	audit_untrusted(line ? line : "/", task->cgroup, sizeof(task->cgroup));
	return 0;
}

/* Puts back what the fixture setup and audit_start() changed, as far as they went. */
static void saved_state_restore(struct saved_state *saved)
{
	if (saved->mode[0])
		kpr_write_file(KPR_MODE, saved->mode);
	kpr_restore_policy(saved->policy);
	saved->policy = NULL;
	if (saved->audit_fd < 0)
		return;
	/* Takes the records of the restore, rather than leave them to the console. */
	audit_sync(saved->audit_fd);
	/* Two requests: a failure to set the first must not keep the test the daemon. */
	if (saved->audit.enabled != AUDIT_ENABLED_LOCKED)
		audit_set(saved->audit_fd, AUDIT_STATUS_ENABLED, saved->audit.enabled, 0);
	audit_set(saved->audit_fd, AUDIT_STATUS_PID, 0, 0);
	close(saved->audit_fd);
	saved->audit_fd = -1;
}

/* Why audit_start() failed, if the kernel or the system rather than a bug. */
static const char *skip_reason(int err)
{
	switch (err) {
	case -EPROTONOSUPPORT:
	case -ECONNREFUSED:
		return "no audit (kernel without CONFIG_AUDIT, or booted with audit=0)";
	case -EPERM:
		return "no CAP_AUDIT_CONTROL, or not in the initial PID namespace";
	case -EEXIST:
		return "an audit daemon is running";
	}
	return NULL;
}

FIXTURE(audit)
{
	struct saved_state saved;
	struct task_fields task;
};

FIXTURE_SETUP(audit)
{
	int fd, err;

	/* Teardown does not run after setup fails or skips: setup puts things back itself. */
	self->saved.audit_fd = -1;
	if (!kpr_enabled())
		SKIP(return, "KPortReserve is not enabled");
	ASSERT_EQ(0, task_fields_init(&self->task));

	/* An empty policy and enforcing mode, before audit sees anything. */
	self->saved.policy = kpr_save_policy();
	ASSERT_NE(NULL, self->saved.policy);
	err = kpr_read_file(KPR_MODE, self->saved.mode, sizeof(self->saved.mode));
	if (!err)
		err = kpr_write_file(KPR_MODE, "enforcing");
	if (err) {
		saved_state_restore(&self->saved);
		ASSERT_EQ(0, err);
	}

	fd = audit_start(&self->saved.audit);
	if (skip_reason(fd)) {
		saved_state_restore(&self->saved);
		SKIP(return, "cannot be the audit daemon: %s", skip_reason(fd));
	}
	if (fd < 0) {
		saved_state_restore(&self->saved);
		ASSERT_LE(0, fd);
	}
	self->saved.audit_fd = fd;

	/* Records from before the test, held for the daemon, are not the test's. */
	err = audit_sync(fd);
	if (err) {
		saved_state_restore(&self->saved);
		ASSERT_EQ(0, err);
	}
}

FIXTURE_TEARDOWN(audit)
{
	saved_state_restore(&self->saved);
}

/*
 * Binds a new socket of @family and @type to the loopback address at @port.
 * Returns the socket, or -errno.
 */
static int bind_loopback(int family, int type, unsigned short port)
{
	struct sockaddr_in6 in6 = {
		.sin6_family = AF_INET6,
		.sin6_port = htons(port),
		.sin6_addr = IN6ADDR_LOOPBACK_INIT,
	};
	struct sockaddr_in in = {
		.sin_family = AF_INET,
		.sin_port = htons(port),
		.sin_addr.s_addr = htonl(INADDR_LOOPBACK),
	};
	int fd, err;

	fd = socket(family, type | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (family == AF_INET6)
		err = bind(fd, (struct sockaddr *)&in6, sizeof(in6));
	else
		err = bind(fd, (struct sockaddr *)&in, sizeof(in));
	if (err) {
		err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

/* Returns the first port after @after that @family and @type bind, 0 if none. */
static unsigned short free_port(int family, int type, unsigned short after)
{
	unsigned int port;
	int fd;

	for (port = after + 1; port <= PORT_LAST; port++) {
		fd = bind_loopback(family, type, port);
		if (fd >= 0) {
			/* Never listened on: no TIME_WAIT keeps the port. */
			close(fd);
			return port;
		}
	}
	return 0;
}

/* Reserves @port for a program that never runs, so that the test is denied it. */
static int reserve(unsigned short port)
{
	char policy[64];

	snprintf(policy, sizeof(policy), "%hu /nonexistent/owner\n", port);
	return kpr_write(policy);
}

/* Expects the field @key of the record @text to be @expected. */
static void expect_field(struct __test_metadata *const _metadata, const char *text,
			 const char *key, const char *expected)
{
	char value[2 * PATH_MAX + 3];

	EXPECT_STREQ(expected, field(text, key, value, sizeof(value))) {
		TH_LOG("record: %s", text);
	}
}

/* Expects the field @key of the record @text to be a decimal number. */
static void expect_number_field(struct __test_metadata *const _metadata, const char *text,
				const char *key)
{
	char value[32];

	field(text, key, value, sizeof(value));
	EXPECT_TRUE(value[0] && strlen(value) == strspn(value, "0123456789")) {
		TH_LOG("%s=%s in the record: %s", key, value, text);
	}
}

/* Expects the record of a bind of @port by the test task, denied unless @permissive. */
static void expect_bind_record(struct __test_metadata *const _metadata,
			       const struct task_fields *task, const char *text,
			       const char *proto, const char *laddr, unsigned short port,
			       bool permissive)
{
	char lport[8];

	snprintf(lport, sizeof(lport), "%hu", port);
	expect_field(_metadata, text, "lsm", "kportreserve");
	expect_field(_metadata, text, "op", "bind");
	expect_field(_metadata, text, "proto", proto);
	expect_field(_metadata, text, "laddr", laddr);
	expect_field(_metadata, text, "lport", lport);
	expect_field(_metadata, text, "pid", task->pid);
	expect_field(_metadata, text, "euid", task->euid);
	expect_field(_metadata, text, "egid", task->egid);
	expect_field(_metadata, text, "comm", task->comm);
	expect_field(_metadata, text, "exe", task->exe);
	expect_field(_metadata, text, "cgroup", task->cgroup);
	expect_field(_metadata, text, "permissive", permissive ? "1" : "0");
	expect_field(_metadata, text, "res", permissive ? "1" : "0");
}

/* Expects a policy load or mode change record, of @op, by the test task. */
static void expect_admin_record(struct __test_metadata *const _metadata,
				const struct task_fields *task, const char *text,
				const char *op, const char *res)
{
	expect_field(_metadata, text, "lsm", "kportreserve");
	expect_field(_metadata, text, "op", op);
	expect_number_field(_metadata, text, "auid");
	expect_number_field(_metadata, text, "ses");
	expect_field(_metadata, text, "pid", task->pid);
	expect_field(_metadata, text, "euid", task->euid);
	expect_field(_metadata, text, "egid", task->egid);
	expect_field(_metadata, text, "comm", task->comm);
	expect_field(_metadata, text, "exe", task->exe);
	expect_field(_metadata, text, "res", res);
}

/*
 * Reserves a free port of @family and @type, expects the test's bind of it on
 * the loopback address to be denied, and expects exactly one record of it,
 * with @proto and @laddr.
 */
static void expect_one_denial(struct __test_metadata *const _metadata,
			      const struct task_fields *task, int audit_fd, int family,
			      int type, const char *proto, const char *laddr)
{
	char record[AUDIT_RECORD_MAX + 1], lport[8];
	unsigned short port = free_port(family, type, PORT_FIRST - 1);

	ASSERT_NE(0, port);
	ASSERT_EQ(0, reserve(port));
	EXPECT_EQ(-EADDRINUSE, bind_loopback(family, type, port));

	/* One denial, one record. */
	snprintf(lport, sizeof(lport), "%hu", port);
	ASSERT_EQ(1, audit_count(audit_fd, AUDIT_KPORTRESERVE_ACCESS, "lport", lport,
				 record, sizeof(record)));
	expect_bind_record(_metadata, task, record, proto, laddr, port, false);
}

TEST_F(audit, denied_tcp4_bind_is_audited)
{
	expect_one_denial(_metadata, &self->task, self->saved.audit_fd, AF_INET, SOCK_STREAM,
			  "tcp", "127.0.0.1");
}

TEST_F(audit, denied_udp6_bind_is_audited)
{
	int fd = bind_loopback(AF_INET6, SOCK_DGRAM, 0);

	if (fd < 0)
		SKIP(return, "no IPv6 loopback: %s", strerror(-fd));
	close(fd);
	/* Compressed, as %pI6c prints it. */
	expect_one_denial(_metadata, &self->task, self->saved.audit_fd, AF_INET6, SOCK_DGRAM,
			  "udp", "::1");
}

TEST_F(audit, comm_that_would_forge_fields_is_written_in_hex)
{
	char record[AUDIT_RECORD_MAX + 1], lport[8], comm[16] = {};
	unsigned short port = free_port(AF_INET, SOCK_STREAM, PORT_FIRST - 1);

	ASSERT_NE(0, port);
	ASSERT_EQ(0, reserve(port));
	/* Written raw, this name would end comm= and add a res= field of its own. */
	ASSERT_EQ(0, prctl(PR_GET_NAME, comm));
	ASSERT_EQ(0, prctl(PR_SET_NAME, "a b\" res=1"));
	EXPECT_EQ(-EADDRINUSE, bind_loopback(AF_INET, SOCK_STREAM, port));
	ASSERT_EQ(0, prctl(PR_SET_NAME, comm));

	snprintf(lport, sizeof(lport), "%hu", port);
	ASSERT_EQ(1, audit_count(self->saved.audit_fd, AUDIT_KPORTRESERVE_ACCESS, "lport", lport,
				 record, sizeof(record)));
	/* The bytes of 'a b" res=1', in hex, without quotes. */
	expect_field(_metadata, record, "comm", "61206222207265733D31");
	EXPECT_EQ(NULL, strstr(record, " res=1"));
	expect_field(_metadata, record, "res", "0");
}

TEST_F(audit, permissive_bind_and_mode_changes_are_audited)
{
	char record[AUDIT_RECORD_MAX + 1], lport[8];
	unsigned short port = free_port(AF_INET, SOCK_STREAM, PORT_FIRST - 1);
	int fd;

	ASSERT_NE(0, port);
	ASSERT_EQ(0, reserve(port));

	ASSERT_EQ(0, kpr_write_file(KPR_MODE, "permissive"));
	ASSERT_EQ(1, audit_count(self->saved.audit_fd, AUDIT_MAC_STATUS, "op", "mode", record,
				 sizeof(record)));
	expect_admin_record(_metadata, &self->task, record, "mode", "1");
	expect_field(_metadata, record, "permissive", "1");
	expect_field(_metadata, record, "old_permissive", "0");

	/* Allowed, and logged as the denial enforcing mode would make. */
	fd = bind_loopback(AF_INET, SOCK_STREAM, port);
	EXPECT_LE(0, fd);
	if (fd >= 0)
		close(fd);
	snprintf(lport, sizeof(lport), "%hu", port);
	ASSERT_EQ(1, audit_count(self->saved.audit_fd, AUDIT_KPORTRESERVE_ACCESS, "lport", lport,
				 record, sizeof(record)));
	expect_bind_record(_metadata, &self->task, record, "tcp", "127.0.0.1", port, true);

	ASSERT_EQ(0, kpr_write_file(KPR_MODE, "enforcing"));
	ASSERT_EQ(1, audit_count(self->saved.audit_fd, AUDIT_MAC_STATUS, "op", "mode", record,
				 sizeof(record)));
	expect_admin_record(_metadata, &self->task, record, "mode", "1");
	expect_field(_metadata, record, "permissive", "0");
	expect_field(_metadata, record, "old_permissive", "1");
}

TEST_F(audit, policy_load_is_audited)
{
	char record[AUDIT_RECORD_MAX + 1];
	unsigned short port = free_port(AF_INET, SOCK_STREAM, PORT_FIRST - 1);

	ASSERT_NE(0, port);
	ASSERT_EQ(0, reserve(port));
	ASSERT_EQ(1, audit_count(self->saved.audit_fd, AUDIT_MAC_POLICY_LOAD, "op", "load",
				 record, sizeof(record)));
	expect_admin_record(_metadata, &self->task, record, "load", "1");

	/* A rejected write is logged as a failed load. */
	ASSERT_EQ(-EINVAL, kpr_write("bad line\n"));
	ASSERT_EQ(1, audit_count(self->saved.audit_fd, AUDIT_MAC_POLICY_LOAD, "op", "load",
				 record, sizeof(record)));
	expect_admin_record(_metadata, &self->task, record, "load", "0");
}

TEST_F(audit, owner_bind_is_not_audited)
{
	unsigned short port = free_port(AF_INET, SOCK_STREAM, PORT_FIRST - 1);
	char exe[PATH_MAX], rule[PATH_MAX + 16];
	ssize_t len;
	int fd;

	ASSERT_NE(0, port);
	/* The port is reserved for this very program: its bind goes through the rule. */
	len = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	ASSERT_LT(0, len);
	exe[len] = '\0';
	snprintf(rule, sizeof(rule), "%hu %s\n", port, exe);
	ASSERT_EQ(0, kpr_write(rule));
	fd = bind_loopback(AF_INET, SOCK_STREAM, port);
	ASSERT_LE(0, fd);
	close(fd);
	EXPECT_EQ(0, audit_count(self->saved.audit_fd, AUDIT_KPORTRESERVE_ACCESS, "pid",
				 self->task.pid, NULL, 0));
}

/* The rule's program in the impostor tests: a path no test installs outside a jail. */
#define JAILED_OWNER "/usr/sbin/kpr-audit-owner"

/*
 * Makes @jail, a copy of bind_helper at JAILED_OWNER inside it, and its
 * directories on the way; @fresh_mount puts a tmpfs of this mount namespace
 * at @jail first.  Writes the copy's device and inode numbers to @info.
 * Returns 0 or -errno.
 */
static int make_jail(const char *jail, bool fresh_mount, struct stat *info)
{
	char copy[PATH_MAX], *slash;

	if (mkdir(jail, 0755) && errno != EEXIST)
		return -errno;
	if (fresh_mount && mount("tmpfs", jail, "tmpfs", 0, "mode=0755"))
		return -errno;
	snprintf(copy, sizeof(copy), "%s%s", jail, JAILED_OWNER);
	for (slash = strchr(copy + strlen(jail) + 1, '/'); slash; slash = strchr(slash + 1, '/')) {
		*slash = '\0';
		mkdir(copy, 0755);
		*slash = '/';
	}
	if (kpr_install_helper(copy))
		return -EIO;
	return stat(copy, info) ? -errno : 0;
}

/*
 * Runs JAILED_OWNER chrooted in @jail, in a mount namespace of its own with a
 * tmpfs at @jail if @private_ns, binding @port.  Writes the device and inode
 * numbers of the file it ran to @info.  Returns its exit status (the errno of
 * its bind), or -1.
 */
static int run_jailed_owner(const char *jail, bool private_ns, unsigned short port,
			    struct stat *info)
{
	char port_arg[8];
	int pipefd[2], status;
	pid_t pid;

	snprintf(port_arg, sizeof(port_arg), "%hu", port);
	if (pipe(pipefd))
		return -1;
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		struct stat copy;

		close(pipefd[0]);
		if (private_ns && (unshare(CLONE_NEWNS) ||
				   mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL)))
			_exit(120);
		if (make_jail(jail, private_ns, &copy))
			_exit(121);
		if (write(pipefd[1], &copy, sizeof(copy)) != sizeof(copy))
			_exit(122);
		if (chroot(jail) || chdir("/"))
			_exit(123);
		execl(JAILED_OWNER, JAILED_OWNER, "inet", "tcp", port_arg, NULL);
		_exit(126);
	}
	close(pipefd[1]);
	if (read(pipefd[0], info, sizeof(*info)) != sizeof(*info))
		memset(info, 0, sizeof(*info));
	close(pipefd[0]);
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

/*
 * Reserves a free port for JAILED_OWNER, has a jailed copy of another binary
 * at that path bind it, and checks the denial's record: @exe where PID 1's
 * root sees the file, the rule's path only as task_exe, and the file's numbers.
 */
static void expect_jailed_impostor(struct __test_metadata *const _metadata, int audit_fd,
				   bool private_ns)
{
	char jail[PATH_MAX], expected[2 * PATH_MAX + 3], record[AUDIT_RECORD_MAX + 1];
	char rule[64], lport[8], number[32];
	unsigned short port = free_port(AF_INET, SOCK_STREAM, PORT_FIRST - 1);
	struct stat copy;

	ASSERT_NE(0, port);
	kpr_test_dir(jail, sizeof(jail) - 16);
	strcat(jail, private_ns ? "/ns-jail" : "/jail");
	snprintf(rule, sizeof(rule), "%hu %s\n", port, JAILED_OWNER);
	ASSERT_EQ(0, kpr_write(rule));
	ASSERT_EQ(EADDRINUSE, run_jailed_owner(jail, private_ns, port, &copy));
	ASSERT_NE(0, copy.st_ino);

	snprintf(lport, sizeof(lport), "%hu", port);
	ASSERT_EQ(1, audit_count(audit_fd, AUDIT_KPORTRESERVE_ACCESS, "lport", lport, record,
				 sizeof(record)));
	/* The rule's path appears only as what the task saw from its own root. */
	audit_untrusted(JAILED_OWNER, expected, sizeof(expected));
	expect_field(_metadata, record, "task_exe", expected);
	if (private_ns) {
		/* A tmpfs in a mount namespace of its own: PID 1's root cannot reach it. */
		expect_field(_metadata, record, "exe", "\"?\"");
	} else {
		char path[PATH_MAX];

		snprintf(path, sizeof(path), "%s%s", jail, JAILED_OWNER);
		audit_untrusted(path, expected, sizeof(expected));
		expect_field(_metadata, record, "exe", expected);
	}
	snprintf(number, sizeof(number), "%02x:%02x", major(copy.st_dev), minor(copy.st_dev));
	expect_field(_metadata, record, "exe_dev", number);
	snprintf(number, sizeof(number), "%llu", (unsigned long long)copy.st_ino);
	expect_field(_metadata, record, "exe_ino", number);
	if (!private_ns) {
		snprintf(expected, sizeof(expected), "%s%s", jail, JAILED_OWNER);
		unlink(expected);
	}
}

TEST_F(audit, chrooted_impostor_is_named_from_pid1_root)
{
	expect_jailed_impostor(_metadata, self->saved.audit_fd, false);
}

TEST_F(audit, impostor_in_own_mount_namespace_is_marked)
{
	expect_jailed_impostor(_metadata, self->saved.audit_fd, true);
}

/*
 * A server whose binary an upgrade replaced while it ran binds its port: it
 * no longer runs the rule's program, and the record says its file has no
 * name any more, at the path it had.
 */
TEST_F(audit, replaced_binary_is_marked_deleted)
{
	char dir[PATH_MAX], prog[PATH_MAX + 32], staged[PATH_MAX + 32], rule[PATH_MAX + 64];
	char record[AUDIT_RECORD_MAX + 1], expected[2 * PATH_MAX + 3], port_arg[8];
	unsigned short port = free_port(AF_INET, SOCK_STREAM, PORT_FIRST - 1);
	int to_helper, from_helper, status;
	struct stat old;
	pid_t pid;

	ASSERT_NE(0, port);
	kpr_test_dir(dir, sizeof(dir));
	snprintf(prog, sizeof(prog), "%s/kpr-upgraded", dir);
	snprintf(staged, sizeof(staged), "%s/kpr-upgraded.new", dir);
	snprintf(port_arg, sizeof(port_arg), "%hu", port);
	ASSERT_EQ(0, kpr_install_helper(prog));
	ASSERT_EQ(0, stat(prog, &old));
	snprintf(rule, sizeof(rule), "%hu %s\n", port, prog);
	ASSERT_EQ(0, kpr_write(rule));

	pid = kpr_start_waiting((char *[]){ prog, "inet", "tcp", port_arg, "wait", NULL },
				&to_helper, &from_helper);
	ASSERT_LT(0, pid);
	/* The upgrade: a new file renamed over the running one. */
	ASSERT_EQ(0, kpr_install_helper(staged));
	ASSERT_EQ(0, rename(staged, prog));
	ASSERT_EQ(1, write(to_helper, "g", 1));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	close(to_helper);
	close(from_helper);
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(EADDRINUSE, WEXITSTATUS(status));

	ASSERT_EQ(1, audit_count(self->saved.audit_fd, AUDIT_KPORTRESERVE_ACCESS, "lport",
				 port_arg, record, sizeof(record)));
	audit_untrusted(prog, expected, sizeof(expected));
	expect_field(_metadata, record, "exe", expected);
	expect_field(_metadata, record, "exe_deleted", "1");
	expect_field(_metadata, record, "task_exe", "(missing)");
	snprintf(expected, sizeof(expected), "%llu", (unsigned long long)old.st_ino);
	expect_field(_metadata, record, "exe_ino", expected);
	unlink(prog);
}

TEST_HARNESS_MAIN
