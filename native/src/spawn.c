/*
 * spawn(spec): a container's init. The child is cloned straight into new
 * pid, mount, uts, ipc and net namespaces, or the ones it shares (the host's,
 * or another container's: ns_join.c), never by unsharing the multi-threaded
 * agent; it joins its cgroups, waits at the start gate, then unshares its
 * cgroup namespace (so the cgroup it joined is its root), builds the rootfs,
 * writes its sysctls and execs.
 */
#include <linux/sched.h>

#include "addon.h"
#include "args.h"
#include "child.h"
#include "errors.h"
#include "launch.h"

static void container_main(struct child_spec *s) {
  child_close_other_fds(s);
  /* Joining a cgroup waits for the kernel (a migration takes an RCU grace
   * period: 5-40 ms measured on the 2-core machine): done before the gate,
   * it overlaps the agent's network attach instead of following it. Nothing
   * of the container runs yet; an aborted start kills and reaps the child,
   * which empties the cgroup as before. */
  child_join_cgroups(s);
  child_wait_for_go(s);
  child_setup_rootfs(s);
  child_write_sysctls(s);
  child_setup_stdio(s, true);
  child_finish_rootfs(s);
  child_exec(s);
}

static napi_value js_spawn(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  struct child_spec s;
  if (!args_get(env, info, 1, argv) || !spec_read(env, argv[0], true, &s)) return NULL;
  /* `--network host` (and --pid, --ipc, --uts host): the container stays in
   * the agent's namespace; container:ID joins one (ns_join.c) instead. */
  uint64_t flags = CLONE_NEWNS | (s.host_network ? 0 : CLONE_NEWNET) | (s.host_uts ? 0 : CLONE_NEWUTS) |
                   (s.host_pid || s.join_pid_fd >= 0 ? 0 : CLONE_NEWPID) |
                   (s.host_ipc || s.join_ipc_fd >= 0 ? 0 : CLONE_NEWIPC);
  napi_value result = launch(env, &s, flags, container_main);
  spec_free(&s);
  return result;
}

void berth_init_spawn(napi_env env, napi_value exports) { berth_export(env, exports, "spawn", js_spawn); }
