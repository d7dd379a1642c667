/*
 * The child's plumbing: reporting to the parent, the start gate, fds and
 * cgroups. Runs after clone: no malloc, no locks, no stdio streams.
 */
#include "child.h"
#include "exec_shim.h"

#include <errno.h>
#include <linux/sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

void child_send(const struct child_spec *s, const struct child_msg *m, int fd) {
  struct iovec iov = {.iov_base = (void *)m, .iov_len = sizeof *m};
  union {
    char buf[CMSG_SPACE(sizeof(int))];
    struct cmsghdr align;
  } u;
  struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
  if (fd >= 0) {
    memset(&u, 0, sizeof u);
    msg.msg_control = u.buf;
    msg.msg_controllen = sizeof u.buf;
    struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(c), &fd, sizeof fd);
  }
  ssize_t n;
  do n = sendmsg(s->msg_fd, &msg, MSG_NOSIGNAL);
  while (n < 0 && errno == EINTR);
  /* If the parent is gone there is no one to tell: stop here. */
  if (n < 0) _exit(126);
}

__attribute__((noreturn)) static void fail(const struct child_spec *s, int err, bool complete, const char *syscall,
                                           const char *fmt, va_list ap) {
  struct child_msg m;
  memset(&m, 0, sizeof m);
  m.type = MSG_ERROR;
  m.err = err;
  m.complete = complete;
  snprintf(m.syscall, sizeof m.syscall, "%s", syscall);
  vsnprintf(m.text, sizeof m.text, fmt, ap);
  child_send(s, &m, -1);
  _exit(127);
}

void child_fail(const struct child_spec *s, int err, const char *syscall, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fail(s, err, false, syscall, fmt, ap);
}

void child_fail_text(const struct child_spec *s, int err, const char *syscall, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fail(s, err, true, syscall, fmt, ap);
}

pid_t berth_clone3(uint64_t flags, int *pidfd) {
  struct clone_args args;
  memset(&args, 0, sizeof args);
  args.flags = flags | (pidfd ? CLONE_PIDFD : 0);
  args.pidfd = (uint64_t)(uintptr_t)pidfd;
  /* With CLONE_PARENT the kernel takes the caller's exit signal and wants 0 here. */
  args.exit_signal = (flags & CLONE_PARENT) ? 0 : SIGCHLD;
  return (pid_t)syscall(SYS_clone3, &args, sizeof args);
}

static void sort_ints(int *a, size_t n) {
  for (size_t i = 1; i < n; i++)
    for (size_t j = i; j > 0 && a[j - 1] > a[j]; j--) {
      int t = a[j];
      a[j] = a[j - 1];
      a[j - 1] = t;
    }
}

/* Closes every fd the child inherited from the agent except its own, so
 * other containers' pipes do not stay open while this one waits to start. */
void child_close_other_fds(const struct child_spec *s) {
  int keep[64];
  size_t n = 0;
  int own[] = {0, 1, 2, s->stdio[0], s->stdio[1], s->stdio[2], s->sync_fd, s->msg_fd, s->target_pidfd, berth_shim_fd};
  for (size_t i = 0; i < sizeof own / sizeof *own; i++)
    if (own[i] >= 0) keep[n++] = own[i];
  for (size_t i = 0; i < s->ncgroup_fds && n < 64; i++) keep[n++] = s->cgroup_fds[i];
  sort_ints(keep, n);
  unsigned int from = 0;
  for (size_t i = 0; i <= n; i++) {
    unsigned int upto = i < n ? (unsigned int)keep[i] : ~0U;
    if (upto > from && syscall(SYS_close_range, from, upto - 1, 0) != 0)
      child_fail(s, errno, "close_range", "close inherited fds %u-%u", from, upto - 1);
    if (i < n) from = (unsigned int)keep[i] + 1;
  }
}

void child_wait_for_go(const struct child_spec *s) {
  char c;
  ssize_t n;
  do n = read(s->sync_fd, &c, 1);
  while (n < 0 && errno == EINTR);
  /* EOF: the parent gave up on this start (its hook failed, or it died). */
  if (n != 1) _exit(125);
  close(s->sync_fd);
}

/* Writing "0" to cgroup.procs moves the writer: v1 and v2 alike. */
void child_join_cgroups(const struct child_spec *s) {
  for (size_t i = 0; i < s->ncgroup_fds; i++) {
    if (write(s->cgroup_fds[i], "0", 1) != 1) child_fail(s, errno, "write", "join cgroup (cgroup.procs fd %d)", s->cgroup_fds[i]);
    close(s->cgroup_fds[i]);
  }
}
