// SPDX-License-Identifier: GPL-2.0
/*
 * Linked with -Wl,--wrap=unshare into the net selftests that move themselves
 * into a new network namespace: they stay in the initial one, the only one
 * whose ports KPortReserve reserves. Other namespaces are still unshared.
 */
#define _GNU_SOURCE
#include <sched.h>

int __real_unshare(int flags);

int __wrap_unshare(int flags)
{
	flags &= ~CLONE_NEWNET;
	return flags ? __real_unshare(flags) : 0;
}
