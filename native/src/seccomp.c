/*
 * seccomp filters, compiled with libseccomp (the library runc and crun use)
 * from the rule list the agent resolved out of a Docker-format profile
 * (apps/vm-agent/src/engine/seccomp-profile.ts). Compiling happens here, in
 * the parent, once per distinct filter: libseccomp allocates, which a cloned
 * child must not. The result is classic BPF bytes that the child installs
 * with seccomp(2) as its last step before changing user (process.c).
 *
 *   seccompCompile({ defaultAction, architectures, rules }) -> Buffer
 *
 * An action is { action: "allow" | "errno" | "kill-thread" | "kill-process"
 * | "trap" | "trace" | "log", errno? }. A rule is { syscall, action, args }
 * with args [{ index, op, value, valueTwo }] (op "ne" | "lt" | "le" | "eq" |
 * "ge" | "gt" | "masked-eq", values BigInt). A syscall name this libseccomp
 * does not know is skipped, as runc does: a profile lists syscalls of newer
 * kernels and of every architecture.
 */
#include <errno.h>
#include <seccomp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "addon.h"
#include "args.h"
#include "errors.h"

static bool read_action(napi_env env, napi_value obj, const char *what, uint32_t *out) {
  napi_value v;
  bool present;
  char *name = NULL;
  uint32_t err = EPERM;
  if (!args_prop(env, obj, "action", &v, &present)) return false;
  if (!present) {
    berth_throw_type(env, "%s.action is required", what);
    return false;
  }
  if (!args_string(env, v, what, &name)) return false;
  if (!args_prop(env, obj, "errno", &v, &present) || (present && !args_uint32(env, v, what, &err))) {
    free(name);
    return false;
  }
  bool ok = true;
  if (strcmp(name, "allow") == 0) *out = SCMP_ACT_ALLOW;
  else if (strcmp(name, "errno") == 0) *out = SCMP_ACT_ERRNO(err & 0xffff);
  else if (strcmp(name, "kill-thread") == 0) *out = SCMP_ACT_KILL_THREAD;
  else if (strcmp(name, "kill-process") == 0) *out = SCMP_ACT_KILL_PROCESS;
  else if (strcmp(name, "trap") == 0) *out = SCMP_ACT_TRAP;
  else if (strcmp(name, "trace") == 0) *out = SCMP_ACT_TRACE(err & 0xffff);
  else if (strcmp(name, "log") == 0) *out = SCMP_ACT_LOG;
  else ok = false;
  if (!ok) berth_throw_type(env, "%s.action \"%s\" is not a seccomp action", what, name);
  free(name);
  return ok;
}

static bool read_op(napi_env env, napi_value v, enum scmp_compare *out) {
  static const struct {
    const char *name;
    enum scmp_compare op;
  } ops[] = {{"ne", SCMP_CMP_NE}, {"lt", SCMP_CMP_LT}, {"le", SCMP_CMP_LE},       {"eq", SCMP_CMP_EQ},
             {"ge", SCMP_CMP_GE}, {"gt", SCMP_CMP_GT}, {"masked-eq", SCMP_CMP_MASKED_EQ}};
  char *name = NULL;
  if (!args_string(env, v, "rule.args[].op", &name)) return false;
  for (size_t i = 0; i < sizeof ops / sizeof *ops; i++)
    if (strcmp(name, ops[i].name) == 0) {
      *out = ops[i].op;
      free(name);
      return true;
    }
  berth_throw_type(env, "rule.args[].op \"%s\" is not a comparison", name);
  free(name);
  return false;
}

static bool read_u64(napi_env env, napi_value obj, const char *key, uint64_t *out) {
  napi_value v;
  bool present, lossless;
  *out = 0;
  if (!args_prop(env, obj, key, &v, &present)) return false;
  if (!present) return true;
  if (napi_get_value_bigint_uint64(env, v, out, &lossless) != napi_ok || !lossless) {
    berth_throw_type(env, "rule.args[].%s must be a BigInt from 0 to 2^64-1", key);
    return false;
  }
  return true;
}

/* rule.args: at most 6 comparisons (a syscall has 6 arguments). */
static bool read_args(napi_env env, napi_value rule, struct scmp_arg_cmp *cmps, unsigned int *n) {
  napi_value v;
  bool present, is;
  uint32_t len = 0;
  *n = 0;
  if (!args_prop(env, rule, "args", &v, &present)) return false;
  if (!present) return true;
  if (napi_is_array(env, v, &is) != napi_ok || !is || napi_get_array_length(env, v, &len) != napi_ok || len > 6) {
    berth_throw_type(env, "rule.args must be an array of at most 6 comparisons");
    return false;
  }
  for (uint32_t i = 0; i < len; i++) {
    napi_value item, field;
    uint32_t index = 0;
    if (napi_get_element(env, v, i, &item) != napi_ok || !args_prop(env, item, "index", &field, &present)) return false;
    if (!present || !args_uint32(env, field, "rule.args[].index", &index)) {
      if (!present) berth_throw_type(env, "rule.args[].index is required");
      return false;
    }
    if (index > 5) {
      berth_throw_type(env, "rule.args[].index must be 0 to 5, got %u", index);
      return false;
    }
    if (!args_prop(env, item, "op", &field, &present) || !read_op(env, field, &cmps[i].op) ||
        !read_u64(env, item, "value", &cmps[i].datum_a) || !read_u64(env, item, "valueTwo", &cmps[i].datum_b))
      return false;
    cmps[i].arg = index;
  }
  *n = len;
  return true;
}

static bool add_architectures(napi_env env, scmp_filter_ctx ctx, napi_value obj) {
  char **names = NULL;
  napi_value v;
  bool present;
  if (!args_prop(env, obj, "architectures", &v, &present)) return false;
  if (!present) return true;
  if (!args_strv(env, v, "filter.architectures", &names, NULL)) return false;
  bool ok = true;
  for (char **a = names; ok && *a; a++) {
    uint32_t arch = seccomp_arch_resolve_name(*a);
    int rc = arch ? seccomp_arch_add(ctx, arch) : -EINVAL;
    if (rc != 0 && rc != -EEXIST) {
      berth_throw_type(env, "filter.architectures: \"%s\" is not an architecture libseccomp supports", *a);
      ok = false;
    }
  }
  args_free_strv(names);
  return ok;
}

static bool add_rules(napi_env env, scmp_filter_ctx ctx, napi_value obj) {
  napi_value rules;
  bool present, is;
  uint32_t n = 0;
  if (!args_prop(env, obj, "rules", &rules, &present)) return false;
  if (!present) return true;
  if (napi_is_array(env, rules, &is) != napi_ok || !is || napi_get_array_length(env, rules, &n) != napi_ok) {
    berth_throw_type(env, "filter.rules must be an array");
    return false;
  }
  for (uint32_t i = 0; i < n; i++) {
    napi_value rule, v;
    char *name = NULL;
    uint32_t action;
    struct scmp_arg_cmp cmps[6];
    unsigned int ncmps;
    memset(cmps, 0, sizeof cmps);
    if (napi_get_element(env, rules, i, &rule) != napi_ok || !args_prop(env, rule, "syscall", &v, &present) ||
        !args_string(env, v, "rule.syscall", &name))
      return false;
    napi_value av;
    if (!args_prop(env, rule, "action", &av, &present) || !read_action(env, av, "rule.action", &action) ||
        !read_args(env, rule, cmps, &ncmps)) {
      free(name);
      return false;
    }
    int nr = seccomp_syscall_resolve_name(name);
    /* _array and not _exact: libseccomp rewrites a rule for each architecture's
     * calling convention (x86's socketcall multiplexing, for example). */
    int rc = nr == __NR_SCMP_ERROR ? 0 : seccomp_rule_add_array(ctx, action, nr, ncmps, cmps);
    if (rc != 0) {
      berth_throw_errno(env, -rc, "seccomp_rule_add", "seccomp rule %u for `%s`", i, name);
      free(name);
      return false;
    }
    free(name);
  }
  return true;
}

/* The filter as BPF bytes: libseccomp exports to an fd, so a memfd carries them back. */
static napi_value export_bpf(napi_env env, scmp_filter_ctx ctx) {
  int fd = memfd_create("berth-seccomp", MFD_CLOEXEC);
  if (fd < 0) return berth_throw_errno(env, errno, "memfd_create", "memfd for the seccomp filter");
  int rc = seccomp_export_bpf(ctx, fd);
  off_t size = rc == 0 ? lseek(fd, 0, SEEK_END) : -1;
  if (rc != 0 || size < 0) {
    close(fd);
    return berth_throw_errno(env, rc ? -rc : errno, "seccomp_export_bpf", "export the seccomp filter");
  }
  void *data;
  napi_value buf;
  if (napi_create_buffer(env, (size_t)size, &data, &buf) != napi_ok) {
    close(fd);
    return NULL;
  }
  ssize_t got = pread(fd, data, (size_t)size, 0);
  int err = errno;
  close(fd);
  if (got != size) return berth_throw_errno(env, got < 0 ? err : EIO, "pread", "read back the seccomp filter");
  return buf;
}

static napi_value seccomp_compile(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  uint32_t dflt;
  if (!args_get(env, info, 1, argv)) return NULL;
  napi_value dv;
  bool present;
  if (!args_prop(env, argv[0], "defaultAction", &dv, &present)) return NULL;
  if (!present) return berth_throw_type(env, "filter.defaultAction is required");
  if (!read_action(env, dv, "filter.defaultAction", &dflt)) return NULL;
  scmp_filter_ctx ctx = seccomp_init(dflt);
  if (!ctx) return berth_throw_errno(env, ENOMEM, "seccomp_init", "create a seccomp filter");
  /* A process of an architecture the filter does not list gets ENOSYS for
   * every call rather than being killed: it then fails with a message. */
  seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_ERRNO(ENOSYS));
  napi_value out = NULL;
  if (add_architectures(env, ctx, argv[0]) && add_rules(env, ctx, argv[0])) out = export_bpf(env, ctx);
  seccomp_release(ctx);
  return out;
}

void berth_init_seccomp(napi_env env, napi_value exports) {
  berth_export(env, exports, "seccompCompile", seccomp_compile);
}
