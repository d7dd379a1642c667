/*
 * The device allow list of a cgroup v2 container, as runc sets it: cgroup v2
 * has no devices.allow/deny files, so the kernel asks a
 * BPF_PROG_TYPE_CGROUP_DEVICE program attached to the cgroup on every mknod
 * and every open of a device node by a process in it (or below it). Without
 * one, a container (which keeps CAP_MKNOD, as in Docker) can make a node for
 * the machine's disk or console and read or write it.
 *
 * The program is compiled here from an allow list, as raw instructions (no
 * compiler, no libbpf): each rule is a block of compares that jumps to the
 * next rule on a mismatch and returns 1 (allow) when all match; past the
 * last rule it returns 0 (deny: EPERM to the caller). It calls no helpers,
 * so it needs no GPL license string.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <linux/magic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "addon.h"
#include "args.h"
#include "errors.h"

#define MAX_RULES 512 /* the defaults plus a --device per node of a directory such as /dev/snd */
/* Per rule: type, access (3), major, minor, allow (2). Plus 5 loads and 2 to deny. */
#define MAX_INSNS (MAX_RULES * 8 + 8)
#define MAX_OLD_PROGS 64 /* the kernel's limit per cgroup and attach type (BPF_CGROUP_MAX_PROGS) */
#define ACC_ALL (BPF_DEVCG_ACC_MKNOD | BPF_DEVCG_ACC_READ | BPF_DEVCG_ACC_WRITE)

struct dev_rule {
  int type;   /* BPF_DEVCG_DEV_BLOCK or BPF_DEVCG_DEV_CHAR; 0: either */
  int64_t major, minor; /* -1: any */
  int access; /* BPF_DEVCG_ACC_* bits the rule allows */
};

/* Registers of the program. R1 is the context (struct bpf_cgroup_dev_ctx). */
enum { R0 = 0, R1 = 1, R_ACC = 2, R_TYPE = 3, R_MAJOR = 4, R_MINOR = 5, R_TMP = 6 };

struct prog {
  struct bpf_insn insns[MAX_INSNS];
  int n;
};

static void emit(struct prog *p, uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm) {
  p->insns[p->n++] = (struct bpf_insn){.code = code, .dst_reg = dst, .src_reg = src, .off = off, .imm = imm};
}

static int sys_bpf(int cmd, union bpf_attr *attr) { return (int)syscall(SYS_bpf, cmd, attr, sizeof *attr); }

/* Compiles the allow list; every jump of a rule's block goes to the next block. */
static void compile(struct prog *p, const struct dev_rule *rules, size_t nrules) {
  p->n = 0;
  /* access_type is (access << 16) | type; major and minor are plain u32. */
  emit(p, BPF_LDX | BPF_MEM | BPF_W, R_ACC, R1, offsetof(struct bpf_cgroup_dev_ctx, access_type), 0);
  emit(p, BPF_ALU64 | BPF_MOV | BPF_X, R_TYPE, R_ACC, 0, 0);
  emit(p, BPF_ALU64 | BPF_AND | BPF_K, R_TYPE, 0, 0, 0xffff);
  emit(p, BPF_ALU64 | BPF_RSH | BPF_K, R_ACC, 0, 0, 16);
  emit(p, BPF_LDX | BPF_MEM | BPF_W, R_MAJOR, R1, offsetof(struct bpf_cgroup_dev_ctx, major), 0);
  emit(p, BPF_LDX | BPF_MEM | BPF_W, R_MINOR, R1, offsetof(struct bpf_cgroup_dev_ctx, minor), 0);
  for (size_t i = 0; i < nrules; i++) {
    const struct dev_rule *r = &rules[i];
    int jumps[4], njumps = 0;
    if (r->type) {
      jumps[njumps++] = p->n;
      emit(p, BPF_JMP | BPF_JNE | BPF_K, R_TYPE, 0, 0, r->type);
    }
    if ((r->access & ACC_ALL) != ACC_ALL) {
      /* Allowed when the requested bits are a subset of the rule's. */
      emit(p, BPF_ALU64 | BPF_MOV | BPF_X, R_TMP, R_ACC, 0, 0);
      emit(p, BPF_ALU64 | BPF_AND | BPF_K, R_TMP, 0, 0, ~r->access & ACC_ALL);
      jumps[njumps++] = p->n;
      emit(p, BPF_JMP | BPF_JNE | BPF_K, R_TMP, 0, 0, 0);
    }
    if (r->major >= 0) {
      jumps[njumps++] = p->n;
      emit(p, BPF_JMP | BPF_JNE | BPF_K, R_MAJOR, 0, 0, (int32_t)r->major);
    }
    if (r->minor >= 0) {
      jumps[njumps++] = p->n;
      emit(p, BPF_JMP | BPF_JNE | BPF_K, R_MINOR, 0, 0, (int32_t)r->minor);
    }
    emit(p, BPF_ALU64 | BPF_MOV | BPF_K, R0, 0, 0, 1);
    emit(p, BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
    /* A rule without conditions allows everything: what follows would be
     * unreachable, which the verifier refuses. */
    if (njumps == 0) return;
    for (int j = 0; j < njumps; j++) p->insns[jumps[j]].off = (int16_t)(p->n - jumps[j] - 1);
  }
  emit(p, BPF_ALU64 | BPF_MOV | BPF_K, R0, 0, 0, 0);
  emit(p, BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
}

/* BPF_PROG_LOAD; on failure, loads again with the verifier's log to say why. */
static int load(napi_env env, const struct prog *p, const char *cgroup) {
  union bpf_attr attr;
  memset(&attr, 0, sizeof attr);
  attr.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
  attr.insns = (uint64_t)(uintptr_t)p->insns;
  attr.insn_cnt = (uint32_t)p->n;
  attr.license = (uint64_t)(uintptr_t) "MIT";
  memcpy(attr.prog_name, "berth_devices", sizeof "berth_devices");
  int fd = sys_bpf(BPF_PROG_LOAD, &attr);
  if (fd >= 0) return fd;
  int err = errno;
  char log[4096] = "";
  attr.log_level = 1;
  attr.log_buf = (uint64_t)(uintptr_t)log;
  attr.log_size = sizeof log;
  fd = sys_bpf(BPF_PROG_LOAD, &attr);
  if (fd >= 0) close(fd); /* loaded with a log after all: report the first error anyway */
  log[sizeof log - 1] = '\0';
  size_t len = strlen(log);
  while (len && log[len - 1] == '\n') log[--len] = '\0';
  const char *tail = len > 300 ? log + len - 300 : log;
  berth_throw_errno(env, err, "bpf", "BPF_PROG_LOAD of the device filter (%d instructions) for cgroup `%s`%s%s", p->n,
                    cgroup, *tail ? "; verifier: " : "", tail);
  return -1;
}

/*
 * Attaches a freshly loaded program to the cgroup, then detaches whatever
 * device programs were attached to it before (a previous agent's, for a
 * reused cgroup), so exactly one remains. BPF_F_ALLOW_MULTI: programs of
 * parent cgroups (systemd's) still run too; every one must allow.
 * Returns how many old programs were replaced, or -1 with an error thrown.
 */
static int attach(napi_env env, int cgfd, int progfd, const char *cgroup) {
  uint32_t old_ids[MAX_OLD_PROGS];
  union bpf_attr attr;
  memset(&attr, 0, sizeof attr);
  attr.query.target_fd = (uint32_t)cgfd;
  attr.query.attach_type = BPF_CGROUP_DEVICE;
  attr.query.prog_ids = (uint64_t)(uintptr_t)old_ids;
  attr.query.prog_cnt = MAX_OLD_PROGS;
  if (sys_bpf(BPF_PROG_QUERY, &attr) != 0) {
    berth_throw_errno(env, errno, "bpf", "BPF_PROG_QUERY of the device programs of cgroup `%s`", cgroup);
    return -1;
  }
  uint32_t nold = attr.query.prog_cnt;

  memset(&attr, 0, sizeof attr);
  attr.target_fd = (uint32_t)cgfd;
  attr.attach_bpf_fd = (uint32_t)progfd;
  attr.attach_type = BPF_CGROUP_DEVICE;
  attr.attach_flags = BPF_F_ALLOW_MULTI;
  if (sys_bpf(BPF_PROG_ATTACH, &attr) != 0) {
    berth_throw_errno(env, errno, "bpf", "BPF_PROG_ATTACH of the device filter to cgroup `%s`", cgroup);
    return -1;
  }

  for (uint32_t i = 0; i < nold; i++) {
    memset(&attr, 0, sizeof attr);
    attr.prog_id = old_ids[i];
    int oldfd = sys_bpf(BPF_PROG_GET_FD_BY_ID, &attr);
    if (oldfd < 0) {
      if (errno == ENOENT) continue; /* detached and freed meanwhile */
      berth_throw_errno(env, errno, "bpf", "BPF_PROG_GET_FD_BY_ID %u (an old device program of cgroup `%s`)", old_ids[i],
                        cgroup);
      return -1;
    }
    memset(&attr, 0, sizeof attr);
    attr.target_fd = (uint32_t)cgfd;
    attr.attach_bpf_fd = (uint32_t)oldfd;
    attr.attach_type = BPF_CGROUP_DEVICE;
    int r = sys_bpf(BPF_PROG_DETACH, &attr);
    int err = errno;
    close(oldfd);
    if (r != 0 && err != ENOENT) {
      berth_throw_errno(env, err, "bpf", "BPF_PROG_DETACH of old device program %u from cgroup `%s`", old_ids[i], cgroup);
      return -1;
    }
  }
  return (int)nold;
}

/* rules[i]: {type, major, minor, access}; see native-addon.ts. */
static bool read_rules(napi_env env, napi_value v, struct dev_rule *rules, size_t *count) {
  bool is_array = false;
  uint32_t n = 0;
  if (napi_is_array(env, v, &is_array) != napi_ok || !is_array) {
    berth_throw_type(env, "attachDeviceFilter: rules must be an array");
    return false;
  }
  napi_get_array_length(env, v, &n);
  if (n > MAX_RULES) {
    berth_throw_type(env, "attachDeviceFilter: at most %d rules, got %u", MAX_RULES, n);
    return false;
  }
  for (uint32_t i = 0; i < n; i++) {
    napi_value item, field;
    bool present;
    int64_t value[4];
    static const char *keys[] = {"type", "major", "minor", "access"};
    napi_get_element(env, v, i, &item);
    for (int k = 0; k < 4; k++) {
      if (!args_prop(env, item, keys[k], &field, &present)) return false;
      if (!present) {
        berth_throw_type(env, "attachDeviceFilter: rules[%u].%s is missing", i, keys[k]);
        return false;
      }
      if (!args_int64(env, field, "attachDeviceFilter: rule field", &value[k])) return false;
    }
    struct dev_rule *r = &rules[i];
    r->type = (int)value[0];
    r->major = value[1];
    r->minor = value[2];
    r->access = (int)value[3];
    /* Majors are 12 bits and minors 20 in the kernel's dev_t. */
    if ((value[0] != 0 && value[0] != BPF_DEVCG_DEV_BLOCK && value[0] != BPF_DEVCG_DEV_CHAR) || value[1] < -1 ||
        value[1] > 0xfff || value[2] < -1 || value[2] > 0xfffff || value[3] <= 0 || (value[3] & ~ACC_ALL)) {
      berth_throw_type(env, "attachDeviceFilter: rules[%u] is invalid (type %lld, %lld:%lld, access %lld)", i,
                       (long long)value[0], (long long)value[1], (long long)value[2], (long long)value[3]);
      return false;
    }
  }
  *count = n;
  return true;
}

/* attachDeviceFilter(cgroupDir, rules): number of old device programs replaced. */
static napi_value js_attach_device_filter(napi_env env, napi_callback_info info) {
  napi_value argv[2], result = NULL;
  char *dir = NULL;
  struct dev_rule *rules = calloc(MAX_RULES, sizeof *rules);
  struct prog *p = malloc(sizeof *p);
  size_t nrules = 0;
  int cgfd = -1, progfd = -1;
  if (!rules || !p) {
    berth_throw_errno(env, ENOMEM, "malloc", "attachDeviceFilter");
    goto out;
  }
  if (!args_get(env, info, 2, argv) || !args_string(env, argv[0], "attachDeviceFilter: cgroupDir", &dir) ||
      !read_rules(env, argv[1], rules, &nrules))
    goto out;
  compile(p, rules, nrules);
  cgfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (cgfd < 0) {
    berth_throw_errno(env, errno, "open", "open cgroup `%s` to attach the device filter", dir);
    goto out;
  }
  struct statfs fs;
  if (fstatfs(cgfd, &fs) != 0) {
    berth_throw_errno(env, errno, "fstatfs", "fstatfs cgroup `%s`", dir);
    goto out;
  }
  if (fs.f_type != CGROUP2_SUPER_MAGIC) {
    berth_throw_errno(env, ENOTDIR, "fstatfs", "`%s` is not a cgroup v2 directory; device filters attach to cgroup v2 only", dir);
    goto out;
  }
  progfd = load(env, p, dir);
  if (progfd < 0) goto out;
  int replaced = attach(env, cgfd, progfd, dir);
  if (replaced >= 0) napi_create_int32(env, replaced, &result);
out:
  /* The attachment holds its own reference to the program. */
  if (progfd >= 0) close(progfd);
  if (cgfd >= 0) close(cgfd);
  free(dir);
  free(rules);
  free(p);
  return result;
}

void berth_init_devices_bpf(napi_env env, napi_value exports) {
  berth_export(env, exports, "attachDeviceFilter", js_attach_device_filter);
}
