/*
 * Process lifetime through pidfds: exit notification without polling (the
 * pidfd becomes readable when the process exits; libuv watches it), reaping
 * with waitid(P_PIDFD), and signals with pidfd_send_signal, which can not hit
 * a recycled pid.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <uv.h>

#include "addon.h"
#include "args.h"
#include "errors.h"

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

struct watch {
  napi_env env;
  napi_ref callback;
  napi_async_context ctx;
  uv_poll_t poll;
  int pidfd;
  bool reap;
};

static void free_watch(uv_handle_t *h) { free(h->data); }

/* Reaps without blocking; status unknown (nulls) when not our child. */
static void wait_status(int pidfd, int flags, napi_env env, napi_value *code, napi_value *signal) {
  siginfo_t info = {0};
  napi_get_null(env, code);
  napi_get_null(env, signal);
  int r;
  do r = waitid((idtype_t)P_PIDFD, (id_t)pidfd, &info, WEXITED | __WALL | flags);
  while (r != 0 && errno == EINTR);
  if (r != 0 || info.si_pid == 0) return;
  if (info.si_code == CLD_EXITED) napi_create_int32(env, info.si_status, code);
  else napi_create_int32(env, info.si_status, signal);
}

static void on_exit_readable(uv_poll_t *h, int status, int events) {
  struct watch *w = h->data;
  napi_env env = w->env;
  napi_handle_scope hs;
  napi_value argv[2], cb, resource, ignored;
  uv_poll_stop(h);
  napi_open_handle_scope(env, &hs);
  if (w->reap) {
    wait_status(w->pidfd, WNOHANG, env, &argv[0], &argv[1]);
  } else {
    napi_get_null(env, &argv[0]);
    napi_get_null(env, &argv[1]);
  }
  napi_get_reference_value(env, w->callback, &cb);
  napi_create_object(env, &resource);
  napi_make_callback(env, w->ctx, resource, cb, 2, argv, &ignored);
  napi_close_handle_scope(env, hs);
  napi_delete_reference(env, w->callback);
  napi_async_destroy(env, w->ctx);
  uv_close((uv_handle_t *)h, free_watch);
}

/* watchExit(pidfd, reap, callback(exitCode, signal)): once. Never closes pidfd. */
static napi_value js_watch_exit(napi_env env, napi_callback_info info) {
  napi_value argv[3], name;
  uint32_t pidfd;
  bool reap;
  napi_valuetype t;
  if (!args_get(env, info, 3, argv) || !args_uint32(env, argv[0], "watchExit: pidfd", &pidfd) ||
      !args_bool(env, argv[1], "watchExit: reap", &reap))
    return NULL;
  if (napi_typeof(env, argv[2], &t) != napi_ok || t != napi_function)
    return berth_throw_type(env, "watchExit: callback must be a function");
  struct watch *w = calloc(1, sizeof *w);
  if (!w) return berth_throw_errno(env, ENOMEM, "malloc", "watchExit");
  uv_loop_t *loop;
  NAPI_CALL(env, napi_get_uv_event_loop(env, &loop));
  int r = uv_poll_init(loop, &w->poll, (int)pidfd);
  if (r != 0) {
    free(w);
    return berth_throw_errno(env, -r, "uv_poll_init", "watch pidfd %u", pidfd);
  }
  w->env = env;
  w->pidfd = (int)pidfd;
  w->reap = reap;
  w->poll.data = w;
  napi_create_reference(env, argv[2], 1, &w->callback);
  napi_create_string_utf8(env, "berth:exit", NAPI_AUTO_LENGTH, &name);
  napi_async_init(env, NULL, name, &w->ctx);
  uv_poll_start(&w->poll, UV_READABLE, on_exit_readable);
  return NULL;
}

/* reap(pidfd): blocks until the process exits; { exitCode, signal }. For
 * starts that were abandoned (the child is already exiting). */
static napi_value js_reap(napi_env env, napi_callback_info info) {
  napi_value argv[1], result, code, signal;
  uint32_t pidfd;
  if (!args_get(env, info, 1, argv) || !args_uint32(env, argv[0], "reap: pidfd", &pidfd)) return NULL;
  wait_status((int)pidfd, 0, env, &code, &signal);
  NAPI_CALL(env, napi_create_object(env, &result));
  berth_set(env, result, "exitCode", code);
  berth_set(env, result, "signal", signal);
  return result;
}

/* pidfdOpen(pid): a pidfd for any process (close-on-exec). */
static napi_value js_pidfd_open(napi_env env, napi_callback_info info) {
  napi_value argv[1], result;
  uint32_t pid;
  if (!args_get(env, info, 1, argv) || !args_uint32(env, argv[0], "pidfdOpen: pid", &pid)) return NULL;
  int fd = (int)syscall(SYS_pidfd_open, (pid_t)pid, 0);
  if (fd < 0) return berth_throw_errno(env, errno, "pidfd_open", "pidfd_open %u", pid);
  NAPI_CALL(env, napi_create_int32(env, fd, &result));
  return result;
}

/* sendSignal(pidfd, signal) */
static napi_value js_send_signal(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  uint32_t pidfd, sig;
  if (!args_get(env, info, 2, argv) || !args_uint32(env, argv[0], "sendSignal: pidfd", &pidfd) ||
      !args_uint32(env, argv[1], "sendSignal: signal", &sig))
    return NULL;
  if (syscall(SYS_pidfd_send_signal, (int)pidfd, (int)sig, NULL, 0) != 0)
    berth_throw_errno(env, errno, "pidfd_send_signal", "send signal %u (pidfd %u)", sig, pidfd);
  return NULL;
}

void berth_init_wait(napi_env env, napi_value exports) {
  berth_export(env, exports, "watchExit", js_watch_exit);
  berth_export(env, exports, "reap", js_reap);
  berth_export(env, exports, "pidfdOpen", js_pidfd_open);
  berth_export(env, exports, "sendSignal", js_send_signal);
}
