/*
 * @berth/native: the few kernel interfaces Node lacks. Loaded only through
 * apps/vm-agent/src/runtime/native.ts, which documents the JavaScript API.
 */
#include "addon.h"

void berth_export(napi_env env, napi_value exports, const char *name, napi_callback fn) {
  napi_value f;
  if (napi_create_function(env, name, NAPI_AUTO_LENGTH, fn, NULL, &f) == napi_ok)
    napi_set_named_property(env, exports, name, f);
}

static napi_value init(napi_env env, napi_value exports) {
  berth_init_fs(env, exports);
  berth_init_mount(env, exports);
  berth_init_launch(env, exports);
  berth_init_spawn(env, exports);
  berth_init_exec(env, exports);
  berth_init_pty(env, exports);
  berth_init_wait(env, exports);
  berth_init_relay(env, exports);
  berth_init_devices_bpf(env, exports);
  berth_init_seccomp(env, exports);
  berth_init_exec_shim(env, exports);
  berth_init_veth(env, exports);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
