/*
 * exec(pid, spec): a process inside a running container.
 *
 * setns can move the caller into every namespace but the pid one, which only
 * applies to its children; so the helper we clone joins the container's
 * cgroups and namespaces (setns on the init's pidfd, all at once), then
 * clones the real process with CLONE_PARENT: it is the agent's child (the
 * agent reaps it and gets its exit status) and lives in the container's pid
 * namespace. The helper sends its pid and pidfd to the agent and exits.
 */
#include <errno.h>
#include <linux/sched.h>
#include <sched.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "addon.h"
#include "args.h"
#include "child.h"
#include "errors.h"
#include "launch.h"

static void exec_main(struct child_spec *s) {
  child_close_other_fds(s);
  child_wait_for_go(s);
  child_join_cgroups(s);
  const int ns = CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWNET | CLONE_NEWCGROUP;
  if (setns(s->target_pidfd, ns) != 0) child_fail(s, errno, "setns", "join the container's namespaces (setns on its init's pidfd)");
  close(s->target_pidfd);
  int pidfd = -1;
  pid_t pid = berth_clone3(CLONE_PARENT, &pidfd);
  if (pid < 0) child_fail(s, errno, "clone3", "clone3 CLONE_PARENT into the container");
  if (pid == 0) {
    child_setup_stdio(s, false);
    child_exec(s);
  }
  struct child_msg m = {.type = MSG_EXEC, .pid = pid};
  child_send(s, &m, pidfd);
  _exit(0);
}

static napi_value js_exec(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  uint32_t target;
  struct child_spec s;
  if (!args_get(env, info, 2, argv) || !args_uint32(env, argv[0], "exec: pid", &target)) return NULL;
  if (!spec_read(env, argv[1], false, &s)) return NULL;
  s.target_pidfd = (int)syscall(SYS_pidfd_open, (pid_t)target, 0);
  napi_value result = NULL;
  if (s.target_pidfd < 0)
    berth_throw_errno(env, errno, "pidfd_open", "open the container's init process %u", target);
  else
    result = launch(env, &s, 0, exec_main);
  if (s.target_pidfd >= 0) close(s.target_pidfd);
  spec_free(&s);
  return result;
}

void berth_init_exec(napi_env env, napi_value exports) { berth_export(env, exports, "exec", js_exec); }
