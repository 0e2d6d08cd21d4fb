# SPDX-License-Identifier: GPL-2.0-only
#
# Only the crate root is listed: every other .rs file here is one of its
# modules.

obj-$(CONFIG_SECURITY_KPORTRESERVE) += kportreserve.o

# The built-in policy: the file CONFIG_SECURITY_KPORTRESERVE_BOOT_POLICY names
# (absolute, or relative to the source tree), in the policy file's grammar,
# built in as IPE builds in its boot policy.  It is copied into the build tree,
# empty without one, and boot.rs includes the copy, whose path reaches it
# through the environment; include_bytes!() makes it a dependency of the crate.
boot-policy := $(CONFIG_SECURITY_KPORTRESERVE_BOOT_POLICY)
boot-policy-src := $(if $(boot-policy),$(if $(filter /%,$(boot-policy)),,$(srctree)/)$(boot-policy))

filechk_boot_policy = $(if $(boot-policy-src),cat $(boot-policy-src),true)

$(obj)/boot_policy: $(boot-policy-src) FORCE
	$(call filechk,boot_policy)

$(obj)/kportreserve.o: $(obj)/boot_policy

clean-files += boot_policy

export KPORTRESERVE_BOOT_POLICY_FILE := $(abspath $(obj)/boot_policy)
