// SPDX-License-Identifier: GPL-2.0
/*
 * KPortReserve selftests - the program that binds
 *
 * The tests copy this program to the paths their policies name, run it, and
 * read the outcome of bind(2) from its exit status.
 *
 * Usage: bind_helper inet|inet6|mapped|unspec PROTO PORT [OPTION...]
 * PROTO: tcp, mptcp, udp, sctp; smc (an AF_SMC socket), smcinet (IPPROTO_SMC),
 *        both binding a TCP port; rxrpc (AF_RXRPC, whose transport address is
 *        a UDP port)
 * Options: uring      bind with io_uring's IORING_OP_BIND instead of bind(2)
 *          bindx      bind an SCTP socket with sctp_bindx()
 *                     (SCTP_SOCKOPT_BINDX_ADD) instead of bind(2)
 *          netns      bind in a new network namespace
 *          spoof=PATH first make /proc/self/exe (mm->exe_file) point at PATH
 *          nobody     first become uid and gid 65534, without capabilities
 *          gid=R,E    first set the real and the effective (and saved) group
 *                     ids, with no supplementary group
 *          uid=R,E    first set the real and the effective (and saved) user
 *                     ids: an effective id other than 0 drops the capabilities
 *          wait       write one byte to stdout, then read one from stdin
 *                     before binding (after the options before it)
 * Exits with 0 when the bind succeeds, the errno of the bind when it fails,
 * and 100 or more when it cannot even try.
 */

#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <grp.h>
#include <linux/io_uring.h>
#include <linux/rxrpc.h>
#include <net/if.h>
#include <netinet/in.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

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
#ifndef SOL_SCTP
#define SOL_SCTP 132
#endif
#ifndef SCTP_SOCKOPT_BINDX_ADD
#define SCTP_SOCKOPT_BINDX_ADD 100
#endif
/* The protocols of an AF_SMC socket (net/smc/smc.h). */
#define SMCPROTO_SMC 0
#define SMCPROTO_SMC6 1

enum {
	EXIT_USAGE = 100,
	EXIT_SOCKET,
	EXIT_URING,
	EXIT_NETNS,
	EXIT_SPOOF,
	EXIT_NOBODY,
	EXIT_IDS,
	EXIT_WAIT,
};

struct exe_mapping {
	unsigned long start, end;
	int prot;
};

/*
 * Replaces mm->exe_file with @path, as a process with CAP_SYS_RESOURCE in its
 * user namespace can: prctl(PR_SET_MM_EXE_FILE) refuses while the old file
 * is mapped, so first move every mapping of our own executable to anonymous
 * memory holding the same bytes at the same address (as CRIU restores code).
 */
static void spoof_exe(const char *path)
{
	struct exe_mapping maps[32];
	char exe[PATH_MAX], line[PATH_MAX + 128], *name;
	int count = 0, fd, i;
	ssize_t len;
	FILE *f;

	len = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	f = fopen("/proc/self/maps", "r");
	if (len < 0 || !f)
		exit(EXIT_SPOOF);
	exe[len] = '\0';
	while (count < 32 && fgets(line, sizeof(line), f)) {
		char perms[5];

		if (sscanf(line, "%lx-%lx %4s", &maps[count].start, &maps[count].end, perms) != 3)
			continue;
		name = strchr(line, '/');
		if (!name || strncmp(name, exe, len) || name[len] != '\n')
			continue;
		maps[count].prot = (perms[0] == 'r' ? PROT_READ : 0) |
				   (perms[1] == 'w' ? PROT_WRITE : 0) |
				   (perms[2] == 'x' ? PROT_EXEC : 0);
		count++;
	}
	fclose(f);

	for (i = 0; i < count; i++) {
		size_t size = maps[i].end - maps[i].start;
		void *copy = mmap(NULL, size, PROT_READ | PROT_WRITE,
				  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		if (copy == MAP_FAILED)
			exit(EXIT_SPOOF);
		if (maps[i].prot & PROT_READ)
			memcpy(copy, (void *)maps[i].start, size);
		if (mprotect(copy, size, maps[i].prot) ||
		    mremap(copy, size, size, MREMAP_MAYMOVE | MREMAP_FIXED,
			   (void *)maps[i].start) == MAP_FAILED)
			exit(EXIT_SPOOF);
	}

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || prctl(PR_SET_MM, PR_SET_MM_EXE_FILE, fd, 0, 0))
		exit(EXIT_SPOOF);
	close(fd);
	/* Check that the kernel now names @path as our executable. */
	len = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (len < 0)
		exit(EXIT_SPOOF);
	exe[len] = '\0';
	if (strcmp(exe, path))
		exit(EXIT_SPOOF);
}

/* Enters a new network namespace, with its loopback interface up. */
static void enter_netns(void)
{
	struct ifreq ifr = { .ifr_name = "lo" };
	int fd;

	if (unshare(CLONE_NEWNET))
		exit(EXIT_NETNS);
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || ioctl(fd, SIOCGIFFLAGS, &ifr))
		exit(EXIT_NETNS);
	ifr.ifr_flags |= IFF_UP;
	if (ioctl(fd, SIOCSIFFLAGS, &ifr))
		exit(EXIT_NETNS);
	close(fd);
}

/* Becomes the unprivileged user nobody (65534), as any local user is. */
static void become_nobody(void)
{
	if (setgroups(0, NULL) || setresgid(65534, 65534, 65534) ||
	    setresuid(65534, 65534, 65534))
		exit(EXIT_NOBODY);
}

/*
 * Sets the real id and the effective and saved ids to those of @spec, "R,E":
 * of the user, or with @group, of the group (with no supplementary group).
 */
static void set_ids(const char *spec, int group)
{
	unsigned int real, effective;
	char end;

	if (sscanf(spec, "%u,%u%c", &real, &effective, &end) != 2)
		exit(EXIT_USAGE);
	if (group ? setgroups(0, NULL) || setresgid(real, effective, effective) :
		    setresuid(real, effective, effective))
		exit(EXIT_IDS);
}

/* Tells the caller we are ready, and waits until it says go. */
static void wait_for_go(void)
{
	char c = 'r';

	if (write(STDOUT_FILENO, &c, 1) != 1 || read(STDIN_FILENO, &c, 1) != 1)
		exit(EXIT_WAIT);
}

/* Binds @fd through io_uring's IORING_OP_BIND; returns 0 or a positive errno. */
static int uring_bind(int fd, const struct sockaddr *addr, socklen_t len)
{
	struct io_uring_params params = {};
	struct io_uring_sqe *sqes;
	struct io_uring_cqe *cqe;
	unsigned int *sq_tail, *sq_array, *cq_head;
	void *sq_ring, *cq_ring;
	int ring, res;

	ring = syscall(__NR_io_uring_setup, 1, &params);
	if (ring < 0)
		exit(EXIT_URING);
	sq_ring = mmap(NULL, params.sq_off.array + params.sq_entries * sizeof(unsigned int),
		       PROT_READ | PROT_WRITE, MAP_SHARED, ring, IORING_OFF_SQ_RING);
	cq_ring = mmap(NULL, params.cq_off.cqes + params.cq_entries * sizeof(struct io_uring_cqe),
		       PROT_READ | PROT_WRITE, MAP_SHARED, ring, IORING_OFF_CQ_RING);
	sqes = mmap(NULL, params.sq_entries * sizeof(struct io_uring_sqe),
		    PROT_READ | PROT_WRITE, MAP_SHARED, ring, IORING_OFF_SQES);
	if (sq_ring == MAP_FAILED || cq_ring == MAP_FAILED || sqes == MAP_FAILED)
		exit(EXIT_URING);

	memset(&sqes[0], 0, sizeof(sqes[0]));
	sqes[0].opcode = IORING_OP_BIND;
	sqes[0].fd = fd;
	sqes[0].addr = (unsigned long)addr;
	sqes[0].addr2 = len;
	sq_array = sq_ring + params.sq_off.array;
	sq_tail = sq_ring + params.sq_off.tail;
	sq_array[0] = 0;
	__atomic_store_n(sq_tail, *sq_tail + 1, __ATOMIC_RELEASE);

	if (syscall(__NR_io_uring_enter, ring, 1, 1, IORING_ENTER_GETEVENTS, NULL, 0) < 0)
		exit(EXIT_URING);
	cq_head = cq_ring + params.cq_off.head;
	cqe = (struct io_uring_cqe *)(cq_ring + params.cq_off.cqes) +
	      (*cq_head & *(unsigned int *)(cq_ring + params.cq_off.ring_mask));
	res = cqe->res;
	return res < 0 ? -res : 0;
}

int main(int argc, char *argv[])
{
	struct sockaddr_storage storage = {};
	struct sockaddr_in *in4 = (struct sockaddr_in *)&storage;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&storage;
	struct sockaddr_rxrpc srx = {};
	struct sockaddr *addr = (struct sockaddr *)&storage;
	int family, type, protocol, fd, i;
	int use_uring = 0, use_bindx = 0;
	socklen_t len;
	long port;

	if (argc < 4)
		return EXIT_USAGE;
	for (i = 4; i < argc; i++) {
		if (!strcmp(argv[i], "uring"))
			use_uring = 1;
		else if (!strcmp(argv[i], "bindx"))
			use_bindx = 1;
		else if (!strcmp(argv[i], "netns"))
			enter_netns();
		else if (!strncmp(argv[i], "spoof=", 6))
			spoof_exe(argv[i] + 6);
		else if (!strcmp(argv[i], "nobody"))
			become_nobody();
		else if (!strncmp(argv[i], "gid=", 4))
			set_ids(argv[i] + 4, 1);
		else if (!strncmp(argv[i], "uid=", 4))
			set_ids(argv[i] + 4, 0);
		else if (!strcmp(argv[i], "wait"))
			wait_for_go();
		else
			return EXIT_USAGE;
	}
	port = strtol(argv[3], NULL, 10);
	if (port < 0 || port > 65535)
		return EXIT_USAGE;

	if (!strcmp(argv[1], "inet") || !strcmp(argv[1], "unspec")) {
		family = AF_INET;
		in4->sin_family = strcmp(argv[1], "inet") ? AF_UNSPEC : AF_INET;
		in4->sin_addr.s_addr = htonl(INADDR_ANY);
		in4->sin_port = htons(port);
		len = sizeof(*in4);
	} else if (!strcmp(argv[1], "inet6") || !strcmp(argv[1], "mapped")) {
		family = AF_INET6;
		in6->sin6_family = AF_INET6;
		if (strcmp(argv[1], "inet6"))
			inet_pton(AF_INET6, "::ffff:127.0.0.1", &in6->sin6_addr);
		else
			in6->sin6_addr = in6addr_loopback;
		in6->sin6_port = htons(port);
		len = sizeof(*in6);
	} else {
		return EXIT_USAGE;
	}

	if (!strcmp(argv[2], "tcp")) {
		type = SOCK_STREAM;
		protocol = IPPROTO_TCP;
	} else if (!strcmp(argv[2], "mptcp")) {
		type = SOCK_STREAM;
		protocol = IPPROTO_MPTCP;
	} else if (!strcmp(argv[2], "udp")) {
		type = SOCK_DGRAM;
		protocol = IPPROTO_UDP;
	} else if (!strcmp(argv[2], "sctp")) {
		type = SOCK_STREAM;
		protocol = IPPROTO_SCTP;
	} else if (!strcmp(argv[2], "smcinet")) {
		type = SOCK_STREAM;
		protocol = IPPROTO_SMC;
	} else if (!strcmp(argv[2], "smc")) {
		/* The same address, handed to the SMC socket's own TCP socket. */
		type = SOCK_STREAM;
		protocol = family == AF_INET ? SMCPROTO_SMC : SMCPROTO_SMC6;
		family = AF_SMC;
	} else if (!strcmp(argv[2], "rxrpc")) {
		/* The address becomes the transport of a client endpoint. */
		srx.srx_family = AF_RXRPC;
		srx.transport_type = SOCK_DGRAM;
		srx.transport_len = len;
		memcpy(&srx.transport, &storage, len);
		type = SOCK_DGRAM;
		protocol = family;
		family = AF_RXRPC;
		addr = (struct sockaddr *)&srx;
		len = sizeof(srx);
	} else {
		return EXIT_USAGE;
	}

	fd = socket(family, type | SOCK_CLOEXEC, protocol);
	if (fd < 0)
		return EXIT_SOCKET;
	if (use_uring)
		return uring_bind(fd, addr, len);
	/* The address list of one address: the socket's own. */
	if (use_bindx)
		return setsockopt(fd, SOL_SCTP, SCTP_SOCKOPT_BINDX_ADD, addr, len) ? errno : 0;
	if (bind(fd, addr, len))
		return errno;
	return 0;
}
