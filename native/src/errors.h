/*
 * Errors thrown to JavaScript.
 *
 * Every failure names the step, the syscall and its argument, in crun's style:
 *   "mount `overlay` on `/x/merged`: No such file or directory"
 * and the Error carries Node's system-error fields: `code` ("ENOENT"),
 * `errno` (negative, as Node's), `syscall` ("mount").
 */
#ifndef BERTH_ERRORS_H
#define BERTH_ERRORS_H

#include <node_api.h>

/* Builds an Error for `err` (a positive errno). `context` is the step text;
 * the strerror text is appended after ": ". */
napi_value berth_errno_error(napi_env env, int err, const char *syscall, const char *context);

/* Throws berth_errno_error with a printf-formatted context. Returns NULL so
 * callers can `return berth_throw_errno(...)`. */
napi_value berth_throw_errno(napi_env env, int err, const char *syscall, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Throws a TypeError for a bad argument. Returns NULL. */
napi_value berth_throw_type(napi_env env, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Sets own property `key` of `obj`. */
void berth_set(napi_env env, napi_value obj, const char *key, napi_value value);
void berth_set_int(napi_env env, napi_value obj, const char *key, int64_t value);
void berth_set_str(napi_env env, napi_value obj, const char *key, const char *value);

/* Evaluates a napi call; on failure throws a generic error and returns NULL. */
#define NAPI_CALL(env, call)                                                          \
  do {                                                                                \
    if ((call) != napi_ok) {                                                          \
      bool pending_ = false;                                                          \
      napi_is_exception_pending((env), &pending_);                                    \
      if (!pending_) napi_throw_error((env), "EBERTHNAPI", "napi call failed: " #call); \
      return NULL;                                                                    \
    }                                                                                 \
  } while (0)

#endif
