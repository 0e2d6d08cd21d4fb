# SPDX-License-Identifier: GPL-2.0-only
#
# Only the crate root is listed: policy.rs, securityfs.rs and identity.rs are
# modules of kportreserve.rs.

obj-$(CONFIG_SECURITY_KPORTRESERVE) += kportreserve.o
