/*
 * Kernel settings the child writes through /proc before it execs, as runc
 * does: the container's namespaced sysctls (--sysctl) and the process's OOM
 * score adjustment (--oom-score-adj). Runs after clone: no malloc, no locks.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "child.h"

/* Writes all of `text` to `path`; fails the child naming both. */
static void write_proc(const struct child_spec *s, const char *path, const char *text, size_t len) {
  int fd = open(path, O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) child_fail(s, errno, "open", "open `%s` to write `%.*s`", path, (int)len, text);
  ssize_t n;
  do n = write(fd, text, len);
  while (n < 0 && errno == EINTR);
  if (n != (ssize_t)len) child_fail(s, n < 0 ? errno : EIO, "write", "write `%.*s` to `%s`", (int)len, text, path);
  close(fd);
}

/*
 * Each entry is "path=value", the path relative to /proc/sys and checked by
 * the agent (no empty, `.` or `..` component). The /proc written to is the
 * container's own, mounted for its pid namespace, and the settings land in
 * the net, ipc and uts namespaces the child is in; /proc/sys is made
 * read-only only later (child_finish_rootfs).
 */
void child_write_sysctls(const struct child_spec *s) {
  for (char **e = s->sysctls; e && *e; e++) {
    const char *eq = strchr(*e, '=');
    if (!eq) child_fail(s, EINVAL, "write", "sysctl entry `%s` has no value", *e);
    char path[512];
    if (snprintf(path, sizeof path, "/proc/sys/%.*s", (int)(eq - *e), *e) >= (int)sizeof path)
      child_fail(s, ENAMETOOLONG, "open", "sysctl `%.*s`", (int)(eq - *e), *e);
    write_proc(s, path, eq + 1, strlen(eq + 1));
  }
}

/* While still root with every capability: lowering the score needs CAP_SYS_RESOURCE. */
void child_set_oom_score_adj(const struct child_spec *s) {
  if (!s->has_oom_score_adj) return;
  char text[16];
  int len = snprintf(text, sizeof text, "%d", s->oom_score_adj);
  write_proc(s, "/proc/self/oom_score_adj", text, (size_t)len);
}
