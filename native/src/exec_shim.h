/* The exec shim in its sealed memfd (exec_shim.c): the child's last exec. */
#ifndef BERTH_EXEC_SHIM_H
#define BERTH_EXEC_SHIM_H

#include <node_api.h>
#include <stdbool.h>

#include "child.h"

/* The sealed memfd holding the shim, close-on-exec; -1 until shimLoad. */
extern int berth_shim_fd;

/* Parent, before clone: s->shim_argv for `s` (the fd slot is filled in by
 * the child). False with an exception pending when the shim is not loaded. */
bool shim_argv_make(napi_env env, struct child_spec *s);

#endif
