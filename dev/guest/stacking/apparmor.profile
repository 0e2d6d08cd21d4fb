# The AppArmor profile of the stacking boots (dev/test), compiled and loaded
# in the guest by init with Debian 12's apparmor_parser. stacking_test moves
# a child into it with change_profile: it allows every file access but
# writing one file, and every network access. Nothing is confined by path.
#
# (A profile that leaves out "network inet" denies nothing on Linux 7.3 when
# apparmor_parser 3.0 compiles it: the kernel discards the old network
# permission tables that parser writes, and mediates only the newer network
# rules, which parser 4 writes.)

profile kpr-stack flags=(enforce) {
  file,
  network,
  deny /tmp/kpr-apparmor-denied w,
}
