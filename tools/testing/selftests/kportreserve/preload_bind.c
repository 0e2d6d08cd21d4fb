// SPDX-License-Identifier: GPL-2.0
/*
 * KPortReserve selftests - code another user runs inside a program
 *
 * identity_test preloads this shared object (LD_PRELOAD) into
 * bind_helper_dynamic, as any user may preload code into a program that is
 * not set-user-ID: before the program's main(), it binds the TCP port given
 * in KPR_PRELOAD_PORT and exits with 0 or the errno of bind(2), as
 * bind_helper does, and with 101 if it cannot even try.
 */

#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

__attribute__((constructor)) static void bind_before_main(void)
{
	const char *port = getenv("KPR_PRELOAD_PORT");
	struct sockaddr_in addr = { .sin_family = AF_INET };
	int fd;

	if (!port)
		return;
	addr.sin_port = htons(atoi(port));
	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0)
		_exit(101);
	_exit(bind(fd, (struct sockaddr *)&addr, sizeof(addr)) ? errno : 0);
}
