/* The parent half of starting a child (launch.c), shared by spawn.c and exec.c. */
#ifndef BERTH_LAUNCH_H
#define BERTH_LAUNCH_H

#include <node_api.h>

#include "child.h"

/* Creates the pipes, clones with `flags` and runs `body` in the child (which
 * never returns). Returns { pid, pidfd, syncFd, msgFd, stdin?, stdout?,
 * stderr? }, all close-on-exec and owned by the caller; or NULL with an
 * exception pending. Frees nothing of `s` (the caller calls spec_free). */
napi_value launch(napi_env env, struct child_spec *s, uint64_t flags, void (*body)(struct child_spec *s));

/* ns_join.c: clone3 with `flags` running `body` in the child, from a thread
 * that has joined s->join_pid_fd's pid and s->join_ipc_fd's ipc namespace
 * when set. Returns the pid, or -1 with an exception pending. */
pid_t launch_clone(napi_env env, struct child_spec *s, uint64_t flags, int *pidfd, void (*body)(struct child_spec *s));

#endif
