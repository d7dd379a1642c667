#include "args.h"

#include <stdlib.h>
#include <string.h>

#include "errors.h"

bool args_get(napi_env env, napi_callback_info info, size_t max, napi_value *argv) {
  size_t argc = max;
  return napi_get_cb_info(env, info, &argc, argv, NULL, NULL) == napi_ok;
}

bool args_is_nullish(napi_env env, napi_value v) {
  napi_valuetype t;
  if (napi_typeof(env, v, &t) != napi_ok) return true;
  return t == napi_undefined || t == napi_null;
}

static bool expect(napi_env env, napi_value v, napi_valuetype want, const char *what, const char *name) {
  napi_valuetype t;
  if (napi_typeof(env, v, &t) != napi_ok || t != want) {
    berth_throw_type(env, "%s must be %s", what, name);
    return false;
  }
  return true;
}

bool args_string(napi_env env, napi_value v, const char *what, char **out) {
  size_t len;
  if (!expect(env, v, napi_string, what, "a string")) return false;
  napi_get_value_string_utf8(env, v, NULL, 0, &len);
  char *s = malloc(len + 1);
  if (!s) {
    berth_throw_errno(env, 12, "malloc", "%s", what);
    return false;
  }
  napi_get_value_string_utf8(env, v, s, len + 1, &len);
  if (strlen(s) != len) {
    free(s);
    berth_throw_type(env, "%s must not contain NUL bytes", what);
    return false;
  }
  *out = s;
  return true;
}

bool args_opt_string(napi_env env, napi_value v, const char *what, char **out) {
  *out = NULL;
  if (args_is_nullish(env, v)) return true;
  return args_string(env, v, what, out);
}

bool args_int64(napi_env env, napi_value v, const char *what, int64_t *out) {
  if (!expect(env, v, napi_number, what, "a number")) return false;
  return napi_get_value_int64(env, v, out) == napi_ok;
}

bool args_uint32(napi_env env, napi_value v, const char *what, uint32_t *out) {
  int64_t n;
  if (!args_int64(env, v, what, &n)) return false;
  if (n < 0 || n > UINT32_MAX) {
    berth_throw_type(env, "%s must be between 0 and 4294967295, got %lld", what, (long long)n);
    return false;
  }
  *out = (uint32_t)n;
  return true;
}

bool args_bool(napi_env env, napi_value v, const char *what, bool *out) {
  if (!expect(env, v, napi_boolean, what, "a boolean")) return false;
  return napi_get_value_bool(env, v, out) == napi_ok;
}

bool args_bytes(napi_env env, napi_value v, const char *what, void **data, size_t *len) {
  bool is;
  if (napi_is_buffer(env, v, &is) == napi_ok && is) return napi_get_buffer_info(env, v, data, len) == napi_ok;
  if (napi_is_typedarray(env, v, &is) == napi_ok && is) {
    napi_typedarray_type type;
    napi_value ab;
    size_t offset;
    if (napi_get_typedarray_info(env, v, &type, len, data, &ab, &offset) == napi_ok && type == napi_uint8_array)
      return true;
  }
  berth_throw_type(env, "%s must be a Buffer", what);
  return false;
}

void args_free_strv(char **v) {
  if (!v) return;
  for (char **p = v; *p; p++) free(*p);
  free(v);
}

bool args_strv(napi_env env, napi_value v, const char *what, char ***out, size_t *count) {
  bool is;
  uint32_t n;
  if (napi_is_array(env, v, &is) != napi_ok || !is) {
    berth_throw_type(env, "%s must be an array of strings", what);
    return false;
  }
  napi_get_array_length(env, v, &n);
  char **vec = calloc(n + 1, sizeof *vec);
  if (!vec) {
    berth_throw_errno(env, 12, "malloc", "%s", what);
    return false;
  }
  for (uint32_t i = 0; i < n; i++) {
    napi_value item;
    napi_get_element(env, v, i, &item);
    if (!args_string(env, item, what, &vec[i])) {
      args_free_strv(vec);
      return false;
    }
  }
  *out = vec;
  if (count) *count = n;
  return true;
}

bool args_prop(napi_env env, napi_value obj, const char *key, napi_value *out, bool *present) {
  if (napi_get_named_property(env, obj, key, out) != napi_ok) return false;
  *present = !args_is_nullish(env, *out);
  return true;
}
