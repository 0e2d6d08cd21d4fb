// SPDX-License-Identifier: GPL-2.0
/*
 * KPortReserve benchmark - what a reservation costs
 *
 * Usage: bind_bench off|on ITERATIONS REPEATS
 *
 * "off" runs in a kernel booted without kportreserve in lsm=: the baseline
 * bind loop (a), the same loop under a Landlock ruleset that allows the port
 * (f), and execve(). "on" runs with kportreserve: an empty policy (b), 60,000
 * rules none of which covers the port (c, also with 1 and 1,024 rules), the
 * owner binding its reserved port (d), and named by program and uid (d'), a
 * denied bind (e), a task of the cgroup a
 * rule names binding its port (h), the cost of loading
 * policies of 1, 1,024 and 60,000 rules, and execve(). Both phases also time
 * connect() on unbound sockets (g), where the kernel chooses the port and
 * asks KPortReserve about each candidate: off, with an empty policy, and with
 * 60,000 rules outside the local port range (narrowed to 61000-65535).
 *
 * Each measurement runs ITERATIONS times, REPEATS times over; lines
 * "RESULT name proto min_ns median_ns" give nanoseconds per iteration.
 * This is a benchmark, not a test: it never fails on speed.
 */

#include <linux/landlock.h>
#include <netinet/tcp.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <time.h>

#include "common.h"

#define BENCH_PORT 40000
#define FAR_PORT 50000		/* the rules of (c) avoid it */
#define MAX_REPEATS 64

static long iterations, repeats;
static char self_exe[PATH_MAX];

static long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int cmp_ll(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;

	return (x > y) - (x < y);
}

static void report(const char *name, const char *proto, long long *samples)
{
	qsort(samples, repeats, sizeof(*samples), cmp_ll);
	printf("RESULT %s %s %lld %lld\n", name, proto, samples[0], samples[repeats / 2]);
	fflush(stdout);
}

/*
 * Runs one socket()+bind()+close() loop; returns ns per iteration, or -1 if a
 * bind did not give @expect.
 */
static long long bind_loop(int type, unsigned short port, int expect)
{
	struct sockaddr_in addr = {
		.sin_family = AF_INET,
		.sin_port = htons(port),
	};
	long long start = now_ns();
	long i;

	for (i = 0; i < iterations; i++) {
		int fd = socket(AF_INET, type, 0);
		int err = bind(fd, (struct sockaddr *)&addr, sizeof(addr)) ? errno : 0;

		close(fd);
		if (err != expect) {
			fprintf(stderr, "bind to %hu: got errno %d, expected %d\n",
				port, err, expect);
			return -1;
		}
	}
	return (now_ns() - start) / iterations;
}

static void measure_binds(const char *name, unsigned short port, int expect)
{
	static const struct {
		const char *name;
		int type;
	} protos[] = { { "tcp", SOCK_STREAM }, { "udp", SOCK_DGRAM } };
	long long samples[MAX_REPEATS];
	unsigned int p;
	long r;

	for (p = 0; p < 2; p++) {
		bind_loop(protos[p].type, port, expect);	/* warm up */
		for (r = 0; r < repeats; r++)
			samples[r] = bind_loop(protos[p].type, port, expect);
		report(name, protos[p].name, samples);
	}
}

/*
 * Runs one socket()+connect()+close() loop to FAR_PORT on loopback, the kernel
 * choosing each local port; for TCP, a listener accepts and resets each
 * connection. Returns ns per iteration, or -1 on a failure.
 */
static long long connect_loop(int type, int listener)
{
	struct sockaddr_in addr = {
		.sin_family = AF_INET,
		.sin_addr.s_addr = htonl(INADDR_LOOPBACK),
		.sin_port = htons(FAR_PORT),
	};
	long long start = now_ns();
	long i;

	for (i = 0; i < iterations; i++) {
		int fd = socket(AF_INET, type, 0);

		if (connect(fd, (struct sockaddr *)&addr, sizeof(addr))) {
			perror("connect");
			return -1;
		}
		if (type == SOCK_STREAM) {
			int peer = accept(listener, NULL, NULL);

			if (peer < 0)
				return -1;
			kpr_close_now(peer);
			kpr_close_now(fd);
		} else {
			close(fd);
		}
	}
	return (now_ns() - start) / iterations;
}

static void measure_connects(const char *name)
{
	struct sockaddr_in addr = {
		.sin_family = AF_INET,
		.sin_addr.s_addr = htonl(INADDR_LOOPBACK),
		.sin_port = htons(FAR_PORT),
	};
	long long samples[MAX_REPEATS];
	int listener, one = 1;
	long r;

	listener = socket(AF_INET, SOCK_STREAM, 0);
	setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(listener, (struct sockaddr *)&addr, sizeof(addr)) || listen(listener, 128)) {
		printf("RESULT %s tcp -1 -1\nRESULT %s udp -1 -1\n", name, name);
		return;
	}
	connect_loop(SOCK_STREAM, listener);	/* warm up */
	for (r = 0; r < repeats; r++)
		samples[r] = connect_loop(SOCK_STREAM, listener);
	report(name, "tcp", samples);
	close(listener);
	connect_loop(SOCK_DGRAM, -1);
	for (r = 0; r < repeats; r++)
		samples[r] = connect_loop(SOCK_DGRAM, -1);
	report(name, "udp", samples);
}

static void measure_exec(const char *name)
{
	char helper[PATH_MAX];
	long long samples[MAX_REPEATS];
	long r, i, n = iterations / 10 + 1;

	kpr_test_dir(helper, sizeof(helper) - sizeof("/" KPR_HELPER_NAME));
	strcat(helper, "/" KPR_HELPER_NAME);
	for (r = 0; r < repeats; r++) {
		long long start = now_ns();

		/* bind_helper without arguments exits at once. */
		for (i = 0; i < n; i++)
			kpr_runl(helper, NULL);
		samples[r] = (now_ns() - start) / n;
	}
	report(name, "-", samples);
}

static long meminfo_kb(const char *key)
{
	char line[128];
	long value = -1;
	FILE *f = fopen("/proc/meminfo", "r");

	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, key, strlen(key)))
			value = atol(line + strlen(key));
	if (f)
		fclose(f);
	return value;
}

/* Builds a policy of @rules single-port rules avoiding FAR_PORT; returns its size. */
static size_t make_policy(char *buf, size_t cap, long rules, const char *program,
			  size_t *path_bytes)
{
	size_t len = snprintf(buf, cap, "clear\n");
	long i;

	*path_bytes = 0;
	for (i = 0; i < rules; i++) {
		unsigned int port = 1 + i + (1 + i >= FAR_PORT);

		len += snprintf(buf + len, cap - len, "%u %s\n", port, program);
		*path_bytes += strlen(program) + 1;
	}
	return len;
}

static void measure_policy(long rules, char *buf, size_t cap)
{
	long long samples[MAX_REPEATS], start;
	char name[32];
	size_t len, path_bytes;
	long before, after, r;

	len = make_policy(buf, cap, rules, "/usr/sbin/daemon", &path_bytes);
	for (r = 0; r < repeats; r++) {
		if (kpr_write("clear\n"))
			exit(1);
		start = now_ns();
		if (kpr_write_len(buf, len)) {
			fprintf(stderr, "loading %ld rules failed\n", rules);
			exit(1);
		}
		samples[r] = now_ns() - start;
	}
	snprintf(name, sizeof(name), "load_%ld", rules);
	report(name, "-", samples);

	/*
	 * Memory: the policy lives in slab (kmalloc) and vmalloc (kvmalloc)
	 * memory; their growth from an empty policy, paths included.
	 */
	kpr_write("clear\n");
	before = meminfo_kb("Slab:") + meminfo_kb("VmallocUsed:");
	kpr_write_len(buf, len);
	after = meminfo_kb("Slab:") + meminfo_kb("VmallocUsed:");
	printf("MEMORY %ld %ld %zu\n", rules, (after - before) * 1024, path_bytes);

	snprintf(name, sizeof(name), "c_rules_%ld", rules);
	measure_binds(name, FAR_PORT, 0);
}

static int landlock_allow_port(unsigned short port)
{
	struct landlock_ruleset_attr ruleset = {
		.handled_access_net = LANDLOCK_ACCESS_NET_BIND_TCP |
				      LANDLOCK_ACCESS_NET_BIND_UDP,
	};
	struct landlock_net_port_attr rule = {
		.allowed_access = LANDLOCK_ACCESS_NET_BIND_TCP |
				  LANDLOCK_ACCESS_NET_BIND_UDP,
		.port = port,
	};
	int fd = syscall(__NR_landlock_create_ruleset, &ruleset, sizeof(ruleset), 0);

	if (fd < 0 || syscall(__NR_landlock_add_rule, fd, LANDLOCK_RULE_NET_PORT, &rule, 0) ||
	    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) || syscall(__NR_landlock_restrict_self, fd, 0))
		return -1;
	close(fd);
	return 0;
}

#define CGROUP_ROOT "/sys/fs/cgroup"
#define BENCH_CGROUP "kpr-bench"

/*
 * Moves this process into the cgroup BENCH_CGROUP (cgroup v2, made and mounted
 * as needed) when @enter, back to the root when not.  Returns 0 or -1.
 */
static int bench_cgroup(bool enter)
{
	char pid[16];

	if (access(CGROUP_ROOT "/cgroup.procs", F_OK) &&
	    mount("none", CGROUP_ROOT, "cgroup2", 0, NULL))
		return -1;
	if (enter && mkdir(CGROUP_ROOT "/" BENCH_CGROUP, 0755) && errno != EEXIST)
		return -1;
	snprintf(pid, sizeof(pid), "%d", getpid());
	if (kpr_write_file(enter ? CGROUP_ROOT "/" BENCH_CGROUP "/cgroup.procs" :
				   CGROUP_ROOT "/cgroup.procs", pid))
		return -1;
	if (!enter)
		rmdir(CGROUP_ROOT "/" BENCH_CGROUP);
	return 0;
}

/*
 * Moves this process into a new network namespace with loopback up and the
 * same automatic range, for the rows measured outside the initial one.
 * Returns 0 or -1.
 */
static int enter_new_netns(void)
{
	if (unshare(CLONE_NEWNET) || kpr_loopback_up())
		return -1;
	return kpr_write_file("/proc/sys/net/ipv4/ip_local_port_range", "61000 65535");
}

/* Prints the rows a failed step could not measure. */
static void not_measured(const char *const names[], int n)
{
	int i;

	for (i = 0; i < n; i++)
		printf("RESULT %s tcp -1 -1\nRESULT %s udp -1 -1\n", names[i], names[i]);
	fflush(stdout);
}

/* The rows of measure_netns(), measured in a new network namespace. */
static void measure_netns_child(bool on, char *buf, size_t cap)
{
	static const char *const off_rows[] = { "a_netns", "g_connect_netns_off" };
	static const char *const on_rows[] = {
		"c_netns_empty", "g_connect_netns_empty",
		"c_netns_60000", "g_connect_netns_60000",
	};
	size_t len, path_bytes;

	if (enter_new_netns()) {
		if (on)
			not_measured(on_rows, 4);
		else
			not_measured(off_rows, 2);
		return;
	}
	if (!on) {
		measure_binds("a_netns", BENCH_PORT, 0);
		measure_connects("g_connect_netns_off");
		return;
	}
	measure_binds("c_netns_empty", BENCH_PORT, 0);
	measure_connects("g_connect_netns_empty");
	len = make_policy(buf, cap, 60000, "/usr/sbin/daemon", &path_bytes);
	if (kpr_write_policy_file_len(KPR_NETNS, buf, len)) {
		not_measured(on_rows + 2, 2);
		return;
	}
	measure_binds("c_netns_60000", FAR_PORT, 0);
	measure_connects("g_connect_netns_60000");
	kpr_write_policy_file_len(KPR_NETNS, "clear\n", strlen("clear\n"));
}

/*
 * The rows of a network namespace other than the initial one: its baseline
 * ("off"), or ("on") with an empty layer and with a 60,000-rule layer of its
 * own that does not cover the ports measured.  In a child, which leaves this
 * process in the initial namespace with nothing else changed.
 */
static void measure_netns(bool on, char *buf, size_t cap)
{
	pid_t child;

	fflush(stdout);
	child = fork();
	if (child < 0)
		return;
	if (child) {
		waitpid(child, NULL, 0);
		return;
	}
	measure_netns_child(on, buf, cap);
	fflush(stdout);
	_exit(0);
}

int main(int argc, char *argv[])
{
	size_t cap = 4 << 20;
	char *buf, policy[PATH_MAX + 64];
	ssize_t len;

	if (argc != 4)
		return 2;
	iterations = atol(argv[2]);
	repeats = atol(argv[3]);
	if (iterations < 1 || repeats < 1 || repeats > MAX_REPEATS)
		return 2;
	len = readlink("/proc/self/exe", self_exe, sizeof(self_exe) - 1);
	if (len < 0)
		return 1;
	self_exe[len] = '\0';
	/* Automatic choices come from here; the 60,000 rules stay below it. */
	if (kpr_write_file("/proc/sys/net/ipv4/ip_local_port_range", "61000 65535"))
		return 1;

	if (!strcmp(argv[1], "off")) {
		if (kpr_enabled())
			fprintf(stderr, "warning: kportreserve is enabled\n");
		measure_binds("a_baseline", BENCH_PORT, 0);
		measure_connects("g_connect_off");
		measure_exec("exec");
		measure_netns(false, NULL, 0);
		if (landlock_allow_port(BENCH_PORT)) {
			printf("RESULT f_landlock tcp -1 -1\nRESULT f_landlock udp -1 -1\n");
			return 0;
		}
		measure_binds("f_landlock", BENCH_PORT, 0);
		return 0;
	}
	if (strcmp(argv[1], "on") || !kpr_enabled())
		return 1;

	kpr_write("clear\n");
	measure_binds("b_empty", BENCH_PORT, 0);
	measure_connects("g_connect_empty");
	measure_exec("exec");

	buf = malloc(cap);
	if (!buf)
		return 1;
	measure_policy(1, buf, cap);
	measure_policy(1024, buf, cap);
	measure_policy(60000, buf, cap);
	measure_connects("g_connect_60000");

	snprintf(policy, sizeof(policy), "clear\n%d %s\n%d <kernel>\n",
		 BENCH_PORT, self_exe, BENCH_PORT + 1);
	kpr_write(policy);
	measure_binds("d_owner", BENCH_PORT, 0);
	measure_binds("e_denied", BENCH_PORT + 1, EADDRINUSE);

	/* The owner named by two atoms: its program and its user. */
	snprintf(policy, sizeof(policy), "clear\n%d %s uid:%u\n", BENCH_PORT, self_exe,
		 geteuid());
	kpr_write(policy);
	measure_binds("d_owner_uid", BENCH_PORT, 0);

	snprintf(policy, sizeof(policy), "clear\n%d cgroup:/" BENCH_CGROUP "\n", BENCH_PORT);
	if (!bench_cgroup(true) && !kpr_write(policy)) {
		measure_binds("h_cgroup", BENCH_PORT, 0);
	} else {
		printf("RESULT h_cgroup tcp -1 -1\nRESULT h_cgroup udp -1 -1\n");
		fflush(stdout);
	}
	kpr_write("clear\n");
	bench_cgroup(false);
	measure_netns(true, buf, cap);
	free(buf);
	return 0;
}
