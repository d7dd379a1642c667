/*
 * Device nodes beyond the default ones (--device, --privileged), as runc
 * makes them: each is mknod'ed in the container with the host node's type,
 * numbers, mode and owner (the umask does not apply), after the default
 * nodes and replacing one at the same path; missing parent directories are
 * made 0755. Whether a node may be opened is the device cgroup's business
 * (cgroups.ts), not this file's.
 *
 * Also read here: the two mounts --privileged makes writable.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "args.h"
#include "child.h"
#include "errors.h"

#define PATH_BUF 4096

/* An absolute path whose last component is a name (not "", "." or ".."). */
static bool valid_node_path(const char *path) {
  if (path[0] != '/' || strlen(path) >= PATH_BUF) return false;
  const char *name = strrchr(path, '/') + 1;
  return *name && strcmp(name, ".") != 0 && strcmp(name, "..") != 0;
}

static bool read_string(napi_env env, napi_value item, uint32_t i, const char *key, char **out) {
  napi_value field;
  bool present = false;
  if (!args_prop(env, item, key, &field, &present)) return false;
  if (!present) {
    berth_throw_type(env, "spec.devices[%u].%s is missing", i, key);
    return false;
  }
  return args_string(env, field, "spec.devices[] field", out);
}

static bool read_device(napi_env env, napi_value item, uint32_t i, struct device_spec *d) {
  static const char *keys[] = {"major", "minor", "mode", "uid", "gid"};
  int64_t v[5];
  char *type = NULL;
  napi_value field;
  bool present;
  for (int k = 0; k < 5; k++) {
    if (!args_prop(env, item, keys[k], &field, &present)) return false;
    if (!present) {
      berth_throw_type(env, "spec.devices[%u].%s is missing", i, keys[k]);
      return false;
    }
    if (!args_int64(env, field, "spec.devices[] field", &v[k])) return false;
  }
  if (!read_string(env, item, i, "path", &d->path) || !read_string(env, item, i, "type", &type)) return false;
  mode_t fmt = strcmp(type, "c") == 0 ? S_IFCHR : strcmp(type, "b") == 0 ? S_IFBLK : strcmp(type, "p") == 0 ? S_IFIFO : 0;
  free(type);
  if (!fmt || !valid_node_path(d->path) || v[0] < 0 || v[0] > 0xfff || v[1] < 0 || v[1] > 0xfffff || v[2] < 0 ||
      v[2] > 07777 || v[3] < 0 || v[3] > UINT32_MAX || v[4] < 0 || v[4] > UINT32_MAX) {
    berth_throw_type(env, "spec.devices[%u] is invalid (path `%s`, %lld:%lld, mode %llo, owner %lld:%lld)", i, d->path,
                     (long long)v[0], (long long)v[1], (long long)v[2], (long long)v[3], (long long)v[4]);
    return false;
  }
  d->mode = fmt | (mode_t)v[2];
  d->dev = makedev((unsigned)v[0], (unsigned)v[1]);
  d->uid = (uid_t)v[3];
  d->gid = (gid_t)v[4];
  return true;
}

bool spec_read_devices(napi_env env, napi_value obj, struct child_spec *s) {
  napi_value v, flag;
  bool present, is_array;
  uint32_t n = 0;
  if (!args_prop(env, obj, "sysfsWritable", &flag, &present)) return false;
  if (present && !args_bool(env, flag, "spec.sysfsWritable", &s->sysfs_writable)) return false;
  if (!args_prop(env, obj, "cgroupWritable", &flag, &present)) return false;
  if (present && !args_bool(env, flag, "spec.cgroupWritable", &s->cgroup_writable)) return false;
  if (!args_prop(env, obj, "devices", &v, &present)) return false;
  if (!present) return true;
  if (napi_is_array(env, v, &is_array) != napi_ok || !is_array) {
    berth_throw_type(env, "spec.devices must be an array");
    return false;
  }
  napi_get_array_length(env, v, &n);
  if (n == 0) return true;
  s->devices = calloc(n, sizeof *s->devices);
  if (!s->devices) {
    berth_throw_errno(env, ENOMEM, "calloc", "spec.devices (%u)", n);
    return false;
  }
  for (uint32_t i = 0; i < n; i++) {
    napi_value item;
    napi_get_element(env, v, i, &item);
    s->ndevices = i + 1; /* counted before reading, so spec_free frees a half-read path */
    if (!read_device(env, item, i, &s->devices[i])) return false;
  }
  return true;
}

void spec_free_devices(struct child_spec *s) {
  for (size_t i = 0; i < s->ndevices; i++) free(s->devices[i].path);
  free(s->devices);
  s->devices = NULL;
  s->ndevices = 0;
}

static char type_char(mode_t mode) { return S_ISBLK(mode) ? 'b' : S_ISCHR(mode) ? 'c' : 'p'; }

/* In the child, after the default nodes: no allocation, paths resolved in the root. */
void child_make_devices(const struct child_spec *s, int rootfd) {
  for (size_t i = 0; i < s->ndevices; i++) {
    const struct device_spec *d = &s->devices[i];
    char dir[PATH_BUF];
    const char *name = strrchr(d->path, '/') + 1;
    size_t len = (size_t)(name - 1 - d->path);
    if (len == 0) len = 1; /* a node in `/` */
    memcpy(dir, d->path, len);
    dir[len] = '\0';
    int dirfd = child_open_in_root(s, rootfd, dir, true);
    if (unlinkat(dirfd, name, 0) != 0 && errno != ENOENT)
      child_fail(s, errno, "unlinkat", "remove `%s` to make the device node there", d->path);
    if (mknodat(dirfd, name, d->mode, d->dev) != 0)
      child_fail(s, errno, "mknod", "mknod `%s` (%c %u:%u)", d->path, type_char(d->mode), major(d->dev), minor(d->dev));
    if (fchownat(dirfd, name, d->uid, d->gid, AT_SYMLINK_NOFOLLOW) != 0)
      child_fail(s, errno, "chown", "chown `%s` to %u:%u", d->path, (unsigned)d->uid, (unsigned)d->gid);
    /* mknod applied the umask; the node keeps the host's mode */
    if (fchmodat(dirfd, name, d->mode & 07777, 0) != 0)
      child_fail(s, errno, "chmod", "chmod `%s` to %o", d->path, (unsigned)(d->mode & 07777));
    close(dirfd);
  }
}
