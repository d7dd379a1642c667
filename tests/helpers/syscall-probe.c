/*
 * syscall-probe NAME...: makes each named system call with harmless
 * arguments and prints "NAME RESULT", RESULT being "ok" or the errno name.
 * The seccomp suites run it in a container: a call the filter blocks reads
 * EPERM (or the profile's errno), one it allows reaches the kernel and
 * fails some other way (EFAULT, EBADF, EINVAL) or succeeds. Built static,
 * so it runs in the busybox test image.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static long probe(const char *name) {
  if (!strcmp(name, "getpid")) return syscall(SYS_getpid);
  if (!strcmp(name, "unshare")) return syscall(SYS_unshare, 0);                 /* no flags: a no-op when allowed */
  if (!strcmp(name, "unshare-user")) return syscall(SYS_unshare, 0x10000000); /* CLONE_NEWUSER */
  if (!strcmp(name, "setns")) return syscall(SYS_setns, -1, 0);               /* EBADF when allowed */
  if (!strcmp(name, "keyctl")) return syscall(SYS_keyctl, 0, 0, 0);         /* KEYCTL_GET_KEYRING_ID of key 0 */
  if (!strcmp(name, "add_key")) return syscall(SYS_add_key, NULL, NULL, NULL, 0, 0);
  if (!strcmp(name, "perf_event_open")) return syscall(SYS_perf_event_open, NULL, 0, -1, -1, 0);
  if (!strcmp(name, "io_uring_setup")) return syscall(SYS_io_uring_setup, 0, NULL);
  if (!strcmp(name, "clone3")) return syscall(SYS_clone3, NULL, 0);
  if (!strcmp(name, "personality-addr-no-randomize")) return syscall(SYS_personality, 0x0040000);
  if (!strcmp(name, "mkdirat")) return syscall(SYS_mkdirat, -1, NULL, 0);
  errno = ENOSYS;
  fprintf(stderr, "syscall-probe: no probe for %s\n", name);
  return -2;
}

int main(int argc, char **argv) {
  for (int i = 1; i < argc; i++) {
    errno = 0;
    long r = probe(argv[i]);
    if (r == -2) return 2;
    printf("%s %s\n", argv[i], r >= 0 ? "ok" : strerrorname_np(errno));
  }
  return 0;
}
