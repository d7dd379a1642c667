/*
 * Reads the JavaScript spec of a container or exec process into a
 * child_spec, in the parent, before clone. Field names and meanings are
 * documented on the TypeScript side (runtime/native-addon.ts, NativeSpec).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/filter.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "args.h"
#include "child.h"
#include "errors.h"

/* runc's and dockerd's PATH when the image sets none. */
static const char default_path[] = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/* A spec property: its value, whether it is set, and its name for messages. */
struct prop {
  napi_value v;
  bool present;
  char what[64];
};

static bool prop_get(napi_env env, napi_value obj, const char *key, struct prop *p) {
  snprintf(p->what, sizeof p->what, "spec.%s", key);
  return args_prop(env, obj, key, &p->v, &p->present);
}

static bool prop_string(napi_env env, napi_value obj, const char *key, bool required, char **out) {
  struct prop p;
  if (!prop_get(env, obj, key, &p)) return false;
  if (!p.present) {
    if (required) berth_throw_type(env, "%s is required", p.what);
    *out = NULL;
    return !required;
  }
  return args_string(env, p.v, p.what, out);
}

static bool prop_strv(napi_env env, napi_value obj, const char *key, char ***out, size_t *count) {
  struct prop p;
  if (!prop_get(env, obj, key, &p)) return false;
  if (!p.present) {
    *out = calloc(1, sizeof **out);
    if (count) *count = 0;
    return *out != NULL;
  }
  return args_strv(env, p.v, p.what, out, count);
}

static bool prop_u32(napi_env env, napi_value obj, const char *key, uint32_t dflt, uint32_t *out) {
  struct prop p;
  if (!prop_get(env, obj, key, &p)) return false;
  if (!p.present) {
    *out = dflt;
    return true;
  }
  return args_uint32(env, p.v, p.what, out);
}

static bool prop_bool(napi_env env, napi_value obj, const char *key, bool *out) {
  struct prop p;
  *out = false;
  if (!prop_get(env, obj, key, &p)) return false;
  return !p.present || args_bool(env, p.v, p.what, out);
}

/* A non-negative integer up to 2^53 (a JS number), `dflt` when absent. */
static bool prop_u64(napi_env env, napi_value obj, const char *key, uint64_t dflt, uint64_t *out) {
  struct prop p;
  int64_t v;
  *out = dflt;
  if (!prop_get(env, obj, key, &p)) return false;
  if (!p.present) return true;
  if (!args_int64(env, p.v, p.what, &v)) return false;
  if (v < 0) {
    berth_throw_type(env, "%s must not be negative", p.what);
    return false;
  }
  *out = (uint64_t)v;
  return true;
}

/* An array of numbers, each checked by args_uint32. */
static bool prop_u32v(napi_env env, napi_value obj, const char *key, uint32_t **out, size_t *count) {
  struct prop p;
  bool is;
  uint32_t n = 0;
  *out = NULL;
  *count = 0;
  if (!prop_get(env, obj, key, &p)) return false;
  if (!p.present) return true;
  if (napi_is_array(env, p.v, &is) != napi_ok || !is) {
    berth_throw_type(env, "%s must be an array of numbers", p.what);
    return false;
  }
  napi_get_array_length(env, p.v, &n);
  *out = calloc(n ? n : 1, sizeof **out);
  for (uint32_t i = 0; i < n; i++) {
    napi_value item;
    napi_get_element(env, p.v, i, &item);
    if (!args_uint32(env, item, p.what, &(*out)[i])) return false;
  }
  *count = n;
  return true;
}

/* An optional array property: *n is its length (0 when absent); a TypeError when not an array. */
static bool prop_array(napi_env env, napi_value obj, const char *key, napi_value *v, uint32_t *n) {
  bool present, is;
  *n = 0;
  if (!args_prop(env, obj, key, v, &present)) return false;
  if (!present) return true;
  if (napi_is_array(env, *v, &is) != napi_ok || !is) {
    berth_throw_type(env, "spec.%s must be an array", key);
    return false;
  }
  napi_get_array_length(env, *v, n);
  return true;
}

static bool read_binds(napi_env env, napi_value obj, struct child_spec *s) {
  napi_value v;
  uint32_t n;
  if (!prop_array(env, obj, "binds", &v, &n)) return false;
  if (n == 0) return true;
  s->binds = calloc(n ? n : 1, sizeof *s->binds);
  for (uint32_t i = 0; i < n; i++) {
    napi_value item;
    napi_get_element(env, v, i, &item);
    s->nbinds = i + 1;
    char *type = NULL;
    uint32_t flags = 0;
    if (!prop_string(env, item, "type", false, &type)) return false;
    bool tmpfs = type && strcmp(type, "tmpfs") == 0;
    bool known = !type || tmpfs || strcmp(type, "bind") == 0;
    free(type);
    if (!known) {
      berth_throw_type(env, "spec.binds[%u].type must be \"bind\" or \"tmpfs\"", i);
      return false;
    }
    s->binds[i].tmpfs = tmpfs;
    if (!prop_string(env, item, "source", !tmpfs, &s->binds[i].source) ||
        !prop_string(env, item, "destination", true, &s->binds[i].destination) ||
        !prop_bool(env, item, "readonly", &s->binds[i].readonly) || !prop_u32(env, item, "flags", 0, &flags) ||
        !prop_bool(env, item, "nonRecursive", &s->binds[i].nonrecursive) ||
        !prop_bool(env, item, "readonlyTopOnly", &s->binds[i].readonly_top_only) ||
        !prop_string(env, item, "data", false, &s->binds[i].data))
      return false;
    s->binds[i].flags = flags;
    if (s->binds[i].destination[0] != '/') {
      berth_throw_type(env, "spec.binds[%u].destination must be an absolute path, got \"%s\"", i,
                       s->binds[i].destination);
      return false;
    }
  }
  return true;
}

/* spec.rlimits: [{resource, soft, hard}]; a negative limit is RLIM_INFINITY. */
static bool read_rlimits(napi_env env, napi_value obj, struct child_spec *s) {
  napi_value v;
  uint32_t n;
  if (!prop_array(env, obj, "rlimits", &v, &n)) return false;
  if (n == 0) return true;
  s->rlimits = calloc(n ? n : 1, sizeof *s->rlimits);
  for (uint32_t i = 0; i < n; i++) {
    napi_value item, soft, hard;
    uint32_t resource;
    int64_t lo, hi;
    bool has_soft, has_hard;
    napi_get_element(env, v, i, &item);
    if (!prop_u32(env, item, "resource", 0, &resource) || !args_prop(env, item, "soft", &soft, &has_soft) ||
        !args_prop(env, item, "hard", &hard, &has_hard))
      return false;
    if (!has_soft || !has_hard) {
      berth_throw_type(env, "spec.rlimits[%u] needs soft and hard", i);
      return false;
    }
    if (!args_int64(env, soft, "spec.rlimits[].soft", &lo) || !args_int64(env, hard, "spec.rlimits[].hard", &hi))
      return false;
    s->rlimits[i].resource = (int)resource;
    s->rlimits[i].soft = lo < 0 ? (uint64_t)-1 : (uint64_t)lo;
    s->rlimits[i].hard = hi < 0 ? (uint64_t)-1 : (uint64_t)hi;
    s->nrlimits = i + 1;
  }
  return true;
}

/* spec.seccomp: the BPF bytes of seccompCompile, copied (the child runs after this call returns). */
static bool read_seccomp(napi_env env, napi_value obj, struct child_spec *s) {
  struct prop p;
  void *data;
  size_t len;
  if (!prop_get(env, obj, "seccomp", &p)) return false;
  if (!p.present) return true;
  if (!args_bytes(env, p.v, p.what, &data, &len)) return false;
  if (len == 0 || len % sizeof(struct sock_filter) != 0 || len / sizeof(struct sock_filter) > BPF_MAXINSNS) {
    berth_throw_type(env, "%s must be whole BPF instructions (1 to %d of %zu bytes), got %zu bytes", p.what,
                     BPF_MAXINSNS, sizeof(struct sock_filter), len);
    return false;
  }
  s->seccomp_filter = malloc(len);
  if (!s->seccomp_filter) {
    berth_throw_errno(env, ENOMEM, "malloc", "copy the seccomp filter");
    return false;
  }
  memcpy(s->seccomp_filter, data, len);
  s->seccomp_len = (unsigned short)(len / sizeof(struct sock_filter));
  return true;
}

/* An optional integer property; *has tells whether it was given. */
static bool prop_i64(napi_env env, napi_value obj, const char *key, int64_t dflt, int64_t *out, bool *has) {
  struct prop p;
  *out = dflt;
  if (has) *has = false;
  if (!prop_get(env, obj, key, &p)) return false;
  if (!p.present) return true;
  if (has) *has = true;
  return args_int64(env, p.v, p.what, out);
}

/* spec.oomScoreAdj: -1000..1000, as the kernel takes it. */
static bool read_oom_score_adj(napi_env env, napi_value obj, struct child_spec *s) {
  int64_t v;
  if (!prop_i64(env, obj, "oomScoreAdj", 0, &v, &s->has_oom_score_adj)) return false;
  if (v < -1000 || v > 1000) {
    berth_throw_type(env, "spec.oomScoreAdj must be between -1000 and 1000, got %lld", (long long)v);
    return false;
  }
  s->oom_score_adj = (int)v;
  return true;
}

/* spec.joinPidOf / joinIpcOf: a pid whose namespace to join (0: none), held as a pidfd until the clone. */
static bool open_join(napi_env env, napi_value obj, const char *key, int *fd) {
  uint32_t pid;
  if (!prop_u32(env, obj, key, 0, &pid)) return false;
  if (pid == 0) return true;
  *fd = (int)syscall(SYS_pidfd_open, (pid_t)pid, 0);
  if (*fd < 0) {
    berth_throw_errno(env, errno, "pidfd_open", "open process %u to join its namespace (spec.%s)", pid, key);
    return false;
  }
  return true;
}

/* The namespaces a container shares, /dev/shm and its sysctls. */
static bool read_namespaces(napi_env env, napi_value obj, struct child_spec *s) {
  return prop_bool(env, obj, "hostPid", &s->host_pid) && prop_bool(env, obj, "hostIpc", &s->host_ipc) &&
         prop_bool(env, obj, "hostUts", &s->host_uts) && open_join(env, obj, "joinPidOf", &s->join_pid_fd) &&
         open_join(env, obj, "joinIpcOf", &s->join_ipc_fd) &&
         prop_bool(env, obj, "noShm", &s->no_shm) &&
         prop_strv(env, obj, "sysctls", &s->sysctls, NULL);
}

/* The highest capability number this kernel knows. */
static bool read_cap_last(napi_env env, int *out) {
  char buf[16] = "";
  int fd = open("/proc/sys/kernel/cap_last_cap", O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    berth_throw_errno(env, errno, "open", "open `/proc/sys/kernel/cap_last_cap`");
    return false;
  }
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  *out = n > 0 ? atoi(buf) : 40;
  return true;
}

static bool open_cgroup_files(napi_env env, napi_value obj, struct child_spec *s) {
  char **paths;
  size_t n;
  if (!prop_strv(env, obj, "cgroupProcs", &paths, &n)) return false;
  s->cgroup_fds = calloc(n ? n : 1, sizeof *s->cgroup_fds);
  bool ok = true;
  for (size_t i = 0; i < n; i++) {
    int fd = open(paths[i], O_WRONLY | O_CLOEXEC);
    if (fd < 0) {
      berth_throw_errno(env, errno, "open", "open cgroup file `%s`", paths[i]);
      ok = false;
      break;
    }
    s->cgroup_fds[s->ncgroup_fds++] = fd;
  }
  args_free_strv(paths);
  return ok;
}

bool spec_read(napi_env env, napi_value obj, bool container, struct child_spec *s) {
  size_t argc;
  uint32_t cols = 0, rows = 0;
  uint32_t *caps = NULL;
  size_t ncaps = 0;
  memset(s, 0, sizeof *s);
  s->stdio[0] = s->stdio[1] = s->stdio[2] = -1;
  s->sync_fd = s->msg_fd = s->target_pidfd = -1;
  s->join_pid_fd = s->join_ipc_fd = -1;
  napi_valuetype t;
  if (napi_typeof(env, obj, &t) != napi_ok || t != napi_object) {
    berth_throw_type(env, "spec must be an object");
    return false;
  }
  if (!prop_strv(env, obj, "args", &s->argv, &argc)) return false;
  if (argc == 0) {
    berth_throw_type(env, "spec.args must name a command");
    return false;
  }
  if (!prop_strv(env, obj, "env", &s->envp, NULL) || !prop_string(env, obj, "cwd", false, &s->cwd) ||
      !prop_u32(env, obj, "uid", 0, &s->uid) || !prop_u32(env, obj, "gid", 0, &s->gid) ||
      !prop_u32v(env, obj, "groups", &s->groups, &s->ngroups) || !prop_u32v(env, obj, "capabilities", &caps, &ncaps) ||
      !prop_bool(env, obj, "noNewPrivileges", &s->no_new_privs) || !prop_bool(env, obj, "tty", &s->tty) ||
      !prop_u32(env, obj, "cols", 0, &cols) || !prop_u32(env, obj, "rows", 0, &rows) || !read_cap_last(env, &s->cap_last) ||
      !read_rlimits(env, obj, s) || !read_seccomp(env, obj, s) || !read_oom_score_adj(env, obj, s))
    goto fail;
  bool with_stdin = false;
  if (!prop_bool(env, obj, "stdin", &with_stdin)) goto fail;
  s->stdio[0] = with_stdin ? -1 : -2; /* -2: no stdin pipe (launch.c) */
  s->create_cwd = container;
  s->cols = (uint16_t)cols;
  s->rows = (uint16_t)rows;
  for (size_t i = 0; i < ncaps; i++) {
    if ((int)caps[i] > s->cap_last || caps[i] > 63) {
      berth_throw_type(env, "spec.capabilities: capability %u is unknown to this kernel (last is %d)", caps[i],
                       s->cap_last);
      goto fail;
    }
    s->caps |= 1ULL << caps[i];
  }
  free(caps);
  caps = NULL;
  s->path_env = default_path;
  for (char **e = s->envp; *e; e++)
    if (strncmp(*e, "PATH=", 5) == 0) s->path_env = *e + 5;
  if (container && !read_namespaces(env, obj, s)) goto fail;
  if (container) {
    if (!prop_string(env, obj, "rootfs", true, &s->rootfs) || !prop_string(env, obj, "hostname", false, &s->hostname) ||
        !prop_bool(env, obj, "readonlyRootfs", &s->readonly_rootfs) ||
        !prop_bool(env, obj, "mountCgroup2", &s->mount_cgroup2) ||
        !prop_bool(env, obj, "hostNetwork", &s->host_network) || !prop_u64(env, obj, "shmSize", 0, &s->shm_size) ||
        !read_binds(env, obj, s) ||
        !prop_strv(env, obj, "maskedPaths", &s->masked_paths, NULL) ||
        !prop_strv(env, obj, "readonlyPaths", &s->readonly_paths, NULL))
      goto fail;
  }
  if (container && !spec_read_devices(env, obj, s)) goto fail;
  if (!open_cgroup_files(env, obj, s)) goto fail;
  return true;
fail:
  free(caps);
  spec_free(s);
  return false;
}

void spec_free(struct child_spec *s) {
  args_free_strv(s->argv);
  args_free_strv(s->envp);
  free(s->cwd);
  free(s->groups);
  free(s->rootfs);
  free(s->hostname);
  args_free_strv(s->sysctls);
  if (s->join_pid_fd >= 0) close(s->join_pid_fd);
  if (s->join_ipc_fd >= 0) close(s->join_ipc_fd);
  for (size_t i = 0; i < s->nbinds; i++) {
    free(s->binds[i].source);
    free(s->binds[i].destination);
    free(s->binds[i].data);
  }
  free(s->rlimits);
  free(s->seccomp_filter);
  free(s->binds);
  args_free_strv(s->masked_paths);
  args_free_strv(s->readonly_paths);
  spec_free_devices(s);
  for (size_t i = 0; i < s->ncgroup_fds; i++) close(s->cgroup_fds[i]);
  free(s->cgroup_fds);
  memset(s, 0, sizeof *s);
}
