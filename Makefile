# SPDX-License-Identifier: GPL-2.0-only
#
# Only the crate root is listed: every other .rs file here is one of its
# modules.

obj-$(CONFIG_SECURITY_KPORTRESERVE) += kportreserve.o

# A Kconfig string reaches Rust code only through the environment: boot.rs reads
# the built-in policy with env!(), as include/config/auto.conf has it. boot.rs
# names the option, so kbuild rebuilds it when the option changes.
export KPORTRESERVE_BOOT_POLICY := $(CONFIG_SECURITY_KPORTRESERVE_BOOT_POLICY)
