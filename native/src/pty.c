/*
 * Terminals and stdio.
 *
 * The pty is allocated by the child from the container's own devpts instance
 * (mounted with newinstance), so inside the container it is /dev/pts/0 as in
 * Docker; the master goes to the parent over the socket (SCM_RIGHTS). The
 * slave becomes the controlling terminal and fds 0-2. Without a tty, the
 * parent's pipes (or /dev/null for stdin) become fds 0-2.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <termios.h>
#include <unistd.h>

#include "addon.h"
#include "args.h"
#include "child.h"
#include "errors.h"

/* Puts `fds[i]` on i for i in 0..2 without one clobbering another. */
static void install_stdio(const struct child_spec *s, const int fds[3]) {
  int high[3];
  for (int i = 0; i < 3; i++) {
    high[i] = fcntl(fds[i], F_DUPFD_CLOEXEC, 3);
    if (high[i] < 0) child_fail(s, errno, "fcntl", "F_DUPFD_CLOEXEC stdio fd %d", fds[i]);
  }
  for (int i = 0; i < 3; i++) {
    if (dup2(high[i], i) < 0) child_fail(s, errno, "dup2", "dup2 fd %d onto %d", high[i], i);
    close(high[i]);
  }
}

static void setup_pty(const struct child_spec *s, bool console) {
  int master = open("/dev/pts/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (master < 0) child_fail(s, errno, "open", "open `/dev/pts/ptmx` in the container");
  int unlock = 0, n = 0;
  if (ioctl(master, TIOCSPTLCK, &unlock) != 0) child_fail(s, errno, "ioctl", "TIOCSPTLCK (unlock pty)");
  if (ioctl(master, TIOCGPTN, &n) != 0) child_fail(s, errno, "ioctl", "TIOCGPTN (pty number)");
  if (s->cols && s->rows) {
    struct winsize ws = {.ws_row = s->rows, .ws_col = s->cols};
    if (ioctl(master, TIOCSWINSZ, &ws) != 0) child_fail(s, errno, "ioctl", "TIOCSWINSZ %ux%u", s->cols, s->rows);
  }
  int slave = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (slave < 0) child_fail(s, errno, "ioctl", "TIOCGPTPEER (open /dev/pts/%d)", n);
  if (console) {
    /* runc binds the terminal onto /dev/console; /dev is our tmpfs. */
    char path[32];
    snprintf(path, sizeof path, "/dev/pts/%d", n);
    int f = open("/dev/console", O_CREAT | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (f < 0) child_fail(s, errno, "open", "create `/dev/console`");
    close(f);
    if (mount(path, "/dev/console", NULL, MS_BIND, NULL) != 0)
      child_fail(s, errno, "mount", "bind `%s` on `/dev/console`", path);
  }
  struct child_msg m = {.type = MSG_PTY};
  child_send(s, &m, master);
  close(master);
  if (setsid() < 0) child_fail(s, errno, "setsid", "setsid");
  if (ioctl(slave, TIOCSCTTY, 0) != 0) child_fail(s, errno, "ioctl", "TIOCSCTTY (make /dev/pts/%d the controlling terminal)", n);
  int fds[3] = {slave, slave, slave};
  install_stdio(s, fds);
  close(slave);
}

void child_setup_stdio(const struct child_spec *s, bool console) {
  if (s->tty) {
    setup_pty(s, console);
    return;
  }
  if (setsid() < 0) child_fail(s, errno, "setsid", "setsid");
  int fds[3] = {s->stdio[0], s->stdio[1], s->stdio[2]};
  if (fds[0] < 0) {
    fds[0] = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (fds[0] < 0) child_fail(s, errno, "open", "open `/dev/null` for stdin");
  }
  install_stdio(s, fds);
}

/* resize(ptyMaster, cols, rows): TIOCSWINSZ; the kernel sends SIGWINCH. */
static napi_value js_resize(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  uint32_t fd, cols, rows;
  if (!args_get(env, info, 3, argv) || !args_uint32(env, argv[0], "resize: fd", &fd) ||
      !args_uint32(env, argv[1], "resize: cols", &cols) || !args_uint32(env, argv[2], "resize: rows", &rows))
    return NULL;
  if (cols > 0xffff || rows > 0xffff) return berth_throw_type(env, "resize: cols and rows must be below 65536");
  struct winsize ws = {.ws_row = (unsigned short)rows, .ws_col = (unsigned short)cols};
  if (ioctl((int)fd, TIOCSWINSZ, &ws) != 0)
    berth_throw_errno(env, errno, "ioctl", "resize the pty (TIOCSWINSZ %ux%u on fd %u)", cols, rows, fd);
  return NULL;
}

void berth_init_pty(napi_env env, napi_value exports) { berth_export(env, exports, "resize", js_resize); }
