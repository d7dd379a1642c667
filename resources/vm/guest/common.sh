# Sourced by the init scripts. Console lines start with "berth-init:" and the
# seconds since boot, which the host reads to follow the boot.
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root
# QEMU user networking's fixed address for the guest (eth0); its host forwards arrive there.
GUEST_ADDRESS=10.0.2.15

log() {
  read -r up _ < /proc/uptime
  echo "berth-init: [$up] $*"
}

# The value of a berth.NAME=VALUE kernel parameter, base64-decoded (values are
# encoded on the host so paths with spaces and keys survive the command line).
param() {
  for arg in $(cat /proc/cmdline); do
    case "$arg" in
      "berth.$1="*) echo "${arg#*=}" | base64 -d; return ;;
    esac
  done
  return 1
}
