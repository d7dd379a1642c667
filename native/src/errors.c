#include "errors.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <uv.h>

void berth_set(napi_env env, napi_value obj, const char *key, napi_value value) {
  napi_set_named_property(env, obj, key, value);
}

void berth_set_int(napi_env env, napi_value obj, const char *key, int64_t value) {
  napi_value v;
  if (napi_create_int64(env, value, &v) == napi_ok) berth_set(env, obj, key, v);
}

void berth_set_str(napi_env env, napi_value obj, const char *key, const char *value) {
  napi_value v;
  if (napi_create_string_utf8(env, value, NAPI_AUTO_LENGTH, &v) == napi_ok) berth_set(env, obj, key, v);
}

napi_value berth_errno_error(napi_env env, int err, const char *syscall, const char *context) {
  char text[1200];
  /* libuv knows every errno's name (ENOENT) and message; Node uses the same. */
  const char *code = err > 0 ? uv_err_name(-err) : "EUNKNOWN";
  if (err > 0)
    snprintf(text, sizeof text, "%s: %s", context, strerror(err));
  else
    snprintf(text, sizeof text, "%s", context);
  napi_value msg, codev, error;
  napi_create_string_utf8(env, text, NAPI_AUTO_LENGTH, &msg);
  napi_create_string_utf8(env, code, NAPI_AUTO_LENGTH, &codev);
  napi_create_error(env, codev, msg, &error);
  if (err > 0) berth_set_int(env, error, "errno", -err);
  berth_set_str(env, error, "syscall", syscall);
  return error;
}

napi_value berth_throw_errno(napi_env env, int err, const char *syscall, const char *fmt, ...) {
  char context[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(context, sizeof context, fmt, ap);
  va_end(ap);
  napi_throw(env, berth_errno_error(env, err, syscall, context));
  return NULL;
}

napi_value berth_throw_type(napi_env env, const char *fmt, ...) {
  char text[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(text, sizeof text, fmt, ap);
  va_end(ap);
  napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", text);
  return NULL;
}
