/*
 * Reading JavaScript arguments. Each reader returns false with a TypeError
 * pending when the value has the wrong type; `what` names the argument in
 * the message ("mknod: path must be a string").
 */
#ifndef BERTH_ARGS_H
#define BERTH_ARGS_H

#include <node_api.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Gets up to `max` arguments; missing ones are `undefined`. */
bool args_get(napi_env env, napi_callback_info info, size_t max, napi_value *argv);

bool args_is_nullish(napi_env env, napi_value v);

/* A string, malloc'd (caller frees). Rejects embedded NUL bytes. */
bool args_string(napi_env env, napi_value v, const char *what, char **out);
/* Same, but null/undefined give *out = NULL. */
bool args_opt_string(napi_env env, napi_value v, const char *what, char **out);
bool args_int64(napi_env env, napi_value v, const char *what, int64_t *out);
bool args_uint32(napi_env env, napi_value v, const char *what, uint32_t *out);
bool args_bool(napi_env env, napi_value v, const char *what, bool *out);
/* A Buffer or Uint8Array; data points into JS memory (valid during the call). */
bool args_bytes(napi_env env, napi_value v, const char *what, void **data, size_t *len);
/* An array of strings as a NULL-terminated malloc'd vector (free with args_free_strv). */
bool args_strv(napi_env env, napi_value v, const char *what, char ***out, size_t *count);
void args_free_strv(char **v);

/* Property `key` of `obj`; *present is false when it is undefined or null. */
bool args_prop(napi_env env, napi_value obj, const char *key, napi_value *out, bool *present);

#endif
