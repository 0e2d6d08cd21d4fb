# shellcheck shell=bash
# The one place that pins what the project builds against.
KERNEL_PKG=linux-source-7.3
KERNEL_PKG_VERSION=7.3.4-1~bpo13+1
KERNEL_SUITE=trixie-backports
DEBIAN_MIRROR=http://deb.debian.org/debian
BINDGEN_VERSION=0.72.1
# Debian 12's AppArmor policy compiler, for the stacking boots' guest.
APPARMOR_VERSION=3.0.8-3
LLVM_SUFFIX=-19
# Everything downloaded or built lives here, ignored by git and reused by later runs.
KPR_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
WORK=${KPR_WORK:-$KPR_ROOT/.work}
# Pinned downloads and tools, shared by every clone on this machine and keyed
# by their pinned versions, so that a fresh clone neither fetches nor compiles
# them again. dev/setup creates them where they are missing.
CACHE=${KPR_CACHE:-/var/cache/kportreserve}
BINDGEN_ROOT=$CACHE/bindgen-$BINDGEN_VERSION
TOOLS_PATH=/usr/bin:$BINDGEN_ROOT/bin
APPARMOR_ROOT=$CACHE/apparmor-$APPARMOR_VERSION
# The test kernel has lockdep and KASAN; dev/bench builds a second kernel
# without them (KPR_PROFILE=bench), in its own build directory.
KPR_PROFILE=${KPR_PROFILE:-test}
case $KPR_PROFILE in
bench) BUILD=$WORK/build-bench CONFIG_FRAGMENTS="kernel.config" ;;
*) BUILD=$WORK/build CONFIG_FRAGMENTS="kernel.config kernel-debug.config kernel-systemd.config kernel-stacking.config" ;;
esac
