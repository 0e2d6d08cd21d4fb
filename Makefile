# SPDX-License-Identifier: GPL-2.0-only
#
# Only the crate root is listed: every other .rs file here is one of its
# modules.

obj-$(CONFIG_SECURITY_KPORTRESERVE) += kportreserve.o
