/* Registration: each concern file adds its functions to the exports object. */
#ifndef BERTH_ADDON_H
#define BERTH_ADDON_H

#include <node_api.h>

void berth_export(napi_env env, napi_value exports, const char *name, napi_callback fn);

void berth_init_fs(napi_env env, napi_value exports);
void berth_init_mount(napi_env env, napi_value exports);
void berth_init_launch(napi_env env, napi_value exports);
void berth_init_spawn(napi_env env, napi_value exports);
void berth_init_exec(napi_env env, napi_value exports);
void berth_init_pty(napi_env env, napi_value exports);
void berth_init_wait(napi_env env, napi_value exports);
void berth_init_relay(napi_env env, napi_value exports);
void berth_init_devices_bpf(napi_env env, napi_value exports);
void berth_init_seccomp(napi_env env, napi_value exports);
void berth_init_exec_shim(napi_env env, napi_value exports);
void berth_init_veth(napi_env env, napi_value exports);

#endif
