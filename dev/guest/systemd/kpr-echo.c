// SPDX-License-Identifier: GPL-2.0
/*
 * kpr-echo - a socket-activated echo server for the systemd guest
 *
 * Takes its listening socket from systemd (LISTEN_PID, LISTEN_FDS: the
 * socket is descriptor 3) and never binds one itself; echoes what each
 * connection sends until the peer closes it.
 */

#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#define SD_LISTEN_FDS_START 3

int main(void)
{
	const char *pid = getenv("LISTEN_PID"), *fds = getenv("LISTEN_FDS");
	char buf[4096];
	ssize_t len;
	int conn;

	if (!pid || !fds || atoi(pid) != getpid() || atoi(fds) != 1) {
		fprintf(stderr, "kpr-echo: no socket from systemd (LISTEN_FDS)\n");
		return 1;
	}
	for (;;) {
		conn = accept(SD_LISTEN_FDS_START, NULL, NULL);
		if (conn < 0) {
			perror("kpr-echo: accept");
			return 1;
		}
		while ((len = read(conn, buf, sizeof(buf))) > 0)
			if (write(conn, buf, len) != len)
				break;
		close(conn);
	}
}
