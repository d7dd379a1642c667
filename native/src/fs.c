/*
 * Filesystem calls Node does not have: device nodes (overlayfs whiteouts are
 * character devices 0/0) and extended attributes on the link itself
 * (trusted.overlay.opaque, security.capability), never following symlinks.
 */
#include <errno.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>

#include "addon.h"
#include "args.h"
#include "errors.h"

/* mknod(path, mode, major, minor): mode includes the file type bits
 * (S_IFCHR | 0o644). Not subject to the umask's surprise: callers chmod if
 * they need exact bits, as mknod(2) applies the process umask. */
static napi_value js_mknod(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  char *path = NULL;
  uint32_t mode, major, minor;
  if (!args_get(env, info, 4, argv)) return NULL;
  if (!args_string(env, argv[0], "mknod: path", &path)) return NULL;
  if (!args_uint32(env, argv[1], "mknod: mode", &mode) || !args_uint32(env, argv[2], "mknod: major", &major) ||
      !args_uint32(env, argv[3], "mknod: minor", &minor)) {
    free(path);
    return NULL;
  }
  if (mknod(path, mode, makedev(major, minor)) != 0) {
    int err = errno;
    berth_throw_errno(env, err, "mknod", "mknod `%s` (mode 0%o, device %u:%u)", path, mode, major, minor);
    free(path);
    return NULL;
  }
  free(path);
  return NULL;
}

/* lsetxattr(path, name, value: Buffer) */
static napi_value js_lsetxattr(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  char *path = NULL, *name = NULL;
  void *data;
  size_t len;
  if (!args_get(env, info, 3, argv)) return NULL;
  if (!args_string(env, argv[0], "lsetxattr: path", &path)) return NULL;
  if (!args_string(env, argv[1], "lsetxattr: name", &name) || !args_bytes(env, argv[2], "lsetxattr: value", &data, &len))
    goto out;
  if (lsetxattr(path, name, data, len, 0) != 0)
    berth_throw_errno(env, errno, "lsetxattr", "lsetxattr `%s` on `%s`", name, path);
out:
  free(path);
  free(name);
  return NULL;
}

/* lgetxattr(path, name): Buffer, or undefined when the attribute is absent. */
static napi_value js_lgetxattr(napi_env env, napi_callback_info info) {
  napi_value argv[2], result = NULL;
  char *path = NULL, *name = NULL, *buf = NULL;
  if (!args_get(env, info, 2, argv)) return NULL;
  if (!args_string(env, argv[0], "lgetxattr: path", &path)) return NULL;
  if (!args_string(env, argv[1], "lgetxattr: name", &name)) goto out;
  for (;;) {
    /* Ask the size, then read; retry if it grew in between (ERANGE). */
    ssize_t size = lgetxattr(path, name, NULL, 0);
    if (size < 0) break;
    free(buf);
    buf = malloc(size ? (size_t)size : 1);
    if (!buf) {
      errno = ENOMEM;
      break;
    }
    ssize_t got = lgetxattr(path, name, buf, (size_t)size);
    if (got >= 0) {
      void *dst;
      if (napi_create_buffer_copy(env, (size_t)got, buf, &dst, &result) != napi_ok) result = NULL;
      goto out;
    }
    if (errno != ERANGE) break;
  }
  if (errno == ENODATA) napi_get_undefined(env, &result);
  else berth_throw_errno(env, errno, "lgetxattr", "lgetxattr `%s` on `%s`", name, path);
out:
  free(buf);
  free(path);
  free(name);
  return result;
}

void berth_init_fs(napi_env env, napi_value exports) {
  berth_export(env, exports, "mknod", js_mknod);
  berth_export(env, exports, "lsetxattr", js_lsetxattr);
  berth_export(env, exports, "lgetxattr", js_lgetxattr);
}
