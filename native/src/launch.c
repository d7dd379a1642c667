/*
 * Starting a child, the parent's half.
 *
 *   launch()  clone3 with CLONE_PIDFD; the child runs its body up to the start
 *             gate (it waits on the sync pipe) and the caller gets its pid,
 *             pidfd and fds, so it can move it into a cgroup or network first.
 *   start()   opens the gate and reads the child's reports until the socket's
 *             end-of-file (exec succeeded, or the child died); resolves with
 *             the pty master and, for exec, the process in the container, or
 *             rejects with the child's error (and reaps what it started).
 */
#include "launch.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <uv.h>

#include "addon.h"
#include "args.h"
#include "errors.h"
#include "exec_shim.h"

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

static void close_fd(int *fd) {
  if (*fd >= 0) close(*fd);
  *fd = -1;
}

napi_value launch(napi_env env, struct child_spec *s, uint64_t flags, void (*body)(struct child_spec *s)) {
  int sync[2] = {-1, -1}, sock[2] = {-1, -1}, io[3][2] = {{-1, -1}, {-1, -1}, {-1, -1}};
  int pidfd = -1;
  napi_value result = NULL;
  if (pipe2(sync, O_CLOEXEC) != 0) {
    berth_throw_errno(env, errno, "pipe2", "create the start pipe");
    goto out;
  }
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sock) != 0) {
    berth_throw_errno(env, errno, "socketpair", "create the report socket");
    goto out;
  }
  for (int i = 0; i < 3 && !s->tty; i++) {
    if (i == 0 && s->stdio[0] == -2) continue; /* no stdin: /dev/null in the child */
    if (pipe2(io[i], O_CLOEXEC) != 0) {
      berth_throw_errno(env, errno, "pipe2", "create the pipe for fd %d", i);
      goto out;
    }
  }
  s->sync_fd = sync[0];
  s->msg_fd = sock[1];
  s->stdio[0] = io[0][0]; /* child reads stdin, writes stdout/stderr */
  s->stdio[1] = io[1][1];
  s->stdio[2] = io[2][1];
  if (!shim_argv_make(env, s)) goto out;

  /* Block signals across clone so no Node handler runs in the child; the
   * child resets every disposition and unblocks before exec. */
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  pid_t pid = launch_clone(env, s, flags, &pidfd, body);
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  if (pid < 0) goto out;
  NAPI_CALL(env, napi_create_object(env, &result));
  berth_set_int(env, result, "pid", pid);
  berth_set_int(env, result, "pidfd", pidfd);
  berth_set_int(env, result, "syncFd", sync[1]);
  berth_set_int(env, result, "msgFd", sock[0]);
  sync[1] = sock[0] = -1;
  static const char *names[3] = {"stdin", "stdout", "stderr"};
  for (int i = 0; i < 3; i++) {
    int *parent_end = &io[i][i == 0 ? 1 : 0];
    if (*parent_end >= 0) berth_set_int(env, result, names[i], *parent_end);
    *parent_end = -1;
  }
out:
  close_fd(&sync[0]);
  close_fd(&sync[1]);
  close_fd(&sock[0]);
  close_fd(&sock[1]);
  for (int i = 0; i < 3; i++) {
    close_fd(&io[i][0]);
    close_fd(&io[i][1]);
  }
  free(s->shim_argv); /* the strings are s->argv's and static */
  s->shim_argv = NULL;
  s->sync_fd = s->msg_fd = -1;
  s->stdio[0] = s->stdio[1] = s->stdio[2] = -1;
  return result;
}

/* ---- start ---- */

struct start_state {
  napi_env env;
  napi_deferred deferred;
  napi_async_context ctx;
  uv_poll_t poll;
  int msg_fd, pidfd;
  int pty_fd, exec_pid, exec_pidfd;
  bool failed;
  struct child_msg error;
};

static void reap(int pidfd) {
  siginfo_t info;
  if (pidfd < 0) return;
  while (waitid((idtype_t)P_PIDFD, (id_t)pidfd, &info, WEXITED | __WALL) != 0 && errno == EINTR) {
  }
}

static void free_state(uv_handle_t *h) { free(h->data); }

static void settle(struct start_state *st) {
  napi_env env = st->env;
  napi_handle_scope hs;
  napi_callback_scope cs;
  napi_value resource, value;
  uv_poll_stop(&st->poll);
  close_fd(&st->msg_fd);
  napi_open_handle_scope(env, &hs);
  napi_create_object(env, &resource);
  napi_open_callback_scope(env, resource, st->ctx, &cs);
  if (!st->failed && st->exec_pid == 0 && st->exec_pidfd == -2) {
    /* exec mode, but the helper died without placing the process */
    st->failed = true;
    st->error.complete = 1;
    strcpy(st->error.syscall, "clone3");
    strcpy(st->error.text, "exec: the helper that enters the container exited before starting the process");
  }
  if (st->failed) {
    /* The child reported and is exiting: reap it, and its exec'd half. */
    if (st->exec_pidfd >= 0) {
      reap(st->exec_pidfd);
      close_fd(&st->exec_pidfd);
    }
    reap(st->pidfd);
    close_fd(&st->pty_fd);
    value = st->error.complete ? berth_errno_error(env, 0, st->error.syscall, st->error.text)
                               : berth_errno_error(env, st->error.err, st->error.syscall, st->error.text);
    if (st->error.complete && st->error.err > 0) {
      napi_value code;
      napi_create_string_utf8(env, uv_err_name(-st->error.err), NAPI_AUTO_LENGTH, &code);
      berth_set(env, value, "code", code);
      berth_set_int(env, value, "errno", -st->error.err);
    }
    napi_reject_deferred(env, st->deferred, value);
  } else {
    napi_create_object(env, &value);
    if (st->pty_fd >= 0) berth_set_int(env, value, "ptyMaster", st->pty_fd);
    if (st->exec_pidfd >= 0) {
      reap(st->pidfd); /* the helper exits once it has placed the process */
      berth_set_int(env, value, "pid", st->exec_pid);
      berth_set_int(env, value, "pidfd", st->exec_pidfd);
    }
    napi_resolve_deferred(env, st->deferred, value);
  }
  napi_close_callback_scope(env, cs);
  napi_close_handle_scope(env, hs);
  napi_async_destroy(env, st->ctx);
  uv_close((uv_handle_t *)&st->poll, free_state);
}

static void on_message(struct start_state *st, const struct child_msg *m, int fd) {
  switch (m->type) {
    case MSG_PTY:
      if (fd >= 0 && st->pty_fd < 0) st->pty_fd = fd, fd = -1;
      break;
    case MSG_EXEC:
      if (fd >= 0 && st->exec_pidfd < 0) st->exec_pidfd = fd, st->exec_pid = m->pid, fd = -1;
      break;
    case MSG_ERROR:
      if (!st->failed) st->failed = true, st->error = *m;
      break;
  }
  if (fd >= 0) close(fd);
}

static void on_readable(uv_poll_t *h, int status, int events) {
  struct start_state *st = h->data;
  for (;;) {
    struct child_msg m;
    union {
      char buf[CMSG_SPACE(sizeof(int))];
      struct cmsghdr align;
    } u;
    struct iovec iov = {.iov_base = &m, .iov_len = sizeof m};
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof u.buf};
    memset(&m, 0, sizeof m);
    ssize_t n = recvmsg(st->msg_fd, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    if (n <= 0) break; /* end-of-file (or a broken socket): the child is done */
    int fd = -1;
    struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
    if (c && c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) memcpy(&fd, CMSG_DATA(c), sizeof fd);
    m.text[sizeof m.text - 1] = m.syscall[sizeof m.syscall - 1] = '\0';
    on_message(st, &m, fd);
  }
  settle(st);
}

/* start(syncFd, msgFd, pidfd, isExec): closes syncFd and msgFd; never closes pidfd. */
static napi_value js_start(napi_env env, napi_callback_info info) {
  napi_value argv[4], promise, name;
  uint32_t sync_fd, msg_fd, pidfd;
  bool is_exec = false;
  if (!args_get(env, info, 4, argv) || !args_uint32(env, argv[0], "start: syncFd", &sync_fd) ||
      !args_uint32(env, argv[1], "start: msgFd", &msg_fd) || !args_uint32(env, argv[2], "start: pidfd", &pidfd) ||
      !args_bool(env, argv[3], "start: isExec", &is_exec))
    return NULL;
  struct start_state *st = calloc(1, sizeof *st);
  if (!st) return berth_throw_errno(env, ENOMEM, "malloc", "start");
  st->env = env;
  st->msg_fd = (int)msg_fd;
  st->pidfd = (int)pidfd;
  st->pty_fd = -1;
  st->exec_pidfd = is_exec ? -2 : -1; /* -2: a process is expected */
  uv_loop_t *loop;
  NAPI_CALL(env, napi_get_uv_event_loop(env, &loop));
  /* Nonblocking from here: reports are read from the event loop. */
  fcntl(st->msg_fd, F_SETFL, fcntl(st->msg_fd, F_GETFL) | O_NONBLOCK);
  int r = uv_poll_init(loop, &st->poll, st->msg_fd);
  if (r != 0) {
    close((int)sync_fd);
    close(st->msg_fd);
    free(st);
    return berth_throw_errno(env, -r, "uv_poll_init", "watch the report socket");
  }
  st->poll.data = st;
  NAPI_CALL(env, napi_create_promise(env, &st->deferred, &promise));
  napi_create_string_utf8(env, "berth:start", NAPI_AUTO_LENGTH, &name);
  napi_async_init(env, NULL, name, &st->ctx);
  /* The go byte; if the child already died, EPIPE is fine: EOF tells. */
  ssize_t w;
  do w = write((int)sync_fd, "g", 1);
  while (w < 0 && errno == EINTR);
  close((int)sync_fd);
  uv_poll_start(&st->poll, UV_READABLE | UV_DISCONNECT, on_readable);
  return promise;
}

void berth_init_launch(napi_env env, napi_value exports) { berth_export(env, exports, "start", js_start); }
