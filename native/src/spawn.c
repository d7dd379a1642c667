/*
 * spawn(spec): a container's init. The child is cloned straight into new
 * pid, mount, uts, ipc and (unless it shares the host's) net namespaces (never by unsharing the
 * multi-threaded agent), waits at the start gate, joins its cgroups, then
 * unshares its cgroup namespace (so the cgroup it joined is its root),
 * builds the rootfs and execs.
 */
#include <linux/sched.h>

#include "addon.h"
#include "args.h"
#include "child.h"
#include "errors.h"
#include "launch.h"

static void container_main(struct child_spec *s) {
  child_close_other_fds(s);
  child_wait_for_go(s);
  child_join_cgroups(s);
  child_setup_rootfs(s);
  child_setup_stdio(s, true);
  child_finish_rootfs(s);
  child_exec(s);
}

static napi_value js_spawn(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  struct child_spec s;
  if (!args_get(env, info, 1, argv) || !spec_read(env, argv[0], true, &s)) return NULL;
  /* `--network host`: the container stays in the agent's network namespace. */
  uint64_t flags = CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | (s.host_network ? 0 : CLONE_NEWNET);
  napi_value result = launch(env, &s, flags, container_main);
  spec_free(&s);
  return result;
}

void berth_init_spawn(napi_env env, napi_value exports) { berth_export(env, exports, "spawn", js_spawn); }
