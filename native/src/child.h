/*
 * The process that becomes a container's init (spawn.c) or an exec'd process
 * (exec.c). Everything the child needs is resolved in the parent into a
 * `child_spec` before clone: after clone the child is a copy of one thread of
 * a multi-threaded process, so it must not allocate or take locks. It only
 * makes syscalls and formats text into fixed buffers.
 *
 * Parent and child talk over a SOCK_SEQPACKET socketpair (close-on-exec):
 * the child sends `child_msg`s (an error, the pty master, the exec'd pid) and
 * the parent reads until end-of-file, which comes when the child has exec'd
 * (or died). A separate pipe holds the child until the parent says go, so
 * the caller can move it into its cgroup and network first.
 */
#ifndef BERTH_CHILD_H
#define BERTH_CHILD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct sock_filter;

#include "report.h"

struct bind_spec {
  char *source;      /* bind: the host path; tmpfs: NULL */
  char *destination; /* absolute path inside the container */
  bool readonly;
  bool nonrecursive;      /* bind: without the mounts under the source (MS_BIND without MS_REC) */
  bool readonly_top_only; /* bind: read-only leaves the mounts under it writable (before Docker 25) */
  bool tmpfs;        /* a new tmpfs instead of a bind */
  unsigned long flags; /* tmpfs: MS_* flags (nosuid, nodev, noexec, ro) */
  char *data;        /* tmpfs: mount data ("size=64m,mode=1777"), or NULL */
};

/* A device node made in the container (--device, --privileged) as it is on the host. */
struct device_spec {
  char *path; /* absolute, inside the container */
  mode_t mode; /* S_IFCHR, S_IFBLK or S_IFIFO, with the permission bits */
  dev_t dev;
  uid_t uid;
  gid_t gid;
};

/* setrlimit before exec; RLIM_INFINITY for "unlimited". */
struct rlimit_spec {
  int resource;
  uint64_t soft, hard;
};

struct child_spec {
  /* process */
  char **argv;
  char **envp;
  const char *path_env; /* the PATH used to look up argv[0]; points into envp or a default */
  char *cwd;
  uint32_t uid, gid;
  uint32_t *groups;
  size_t ngroups;
  uint64_t caps; /* bit n set: keep capability n */
  int cap_last;  /* /proc/sys/kernel/cap_last_cap */
  bool no_new_privs;
  /* seccomp: classic BPF from seccompCompile (seccomp.c), installed last
   * before the user changes; NULL: unconfined */
  struct sock_filter *seccomp_filter;
  unsigned short seccomp_len; /* instructions */
  bool create_cwd; /* containers create a missing working directory; exec does not */
  bool tty;
  uint16_t cols, rows; /* initial pty size, 0 for the kernel's default */
  struct rlimit_spec *rlimits;
  size_t nrlimits;
  bool has_oom_score_adj; /* write oom_score_adj before exec (--oom-score-adj) */
  int oom_score_adj;

  /* container (spawn.c only) */
  char *rootfs;
  char *hostname;
  bool readonly_rootfs;
  bool mount_cgroup2;
  bool host_network; /* share the agent's network namespace (no CLONE_NEWNET) */
  uint64_t shm_size;  /* /dev/shm in bytes (Docker's ShmSize); 0: Docker's default, 64 MiB */
  struct bind_spec *binds;
  size_t nbinds;
  struct device_spec *devices; /* made after the default nodes, replacing one at the same path */
  size_t ndevices;
  bool sysfs_writable;  /* --privileged: /sys read-write */
  bool cgroup_writable; /* --privileged: the cgroup2 mount read-write */
  char **masked_paths;
  char **readonly_paths;
  /* namespaces shared instead of new (--pid/--ipc/--uts host), and pidfds of
   * the processes whose pid or ipc namespace is joined (container:ID; -1: none) */
  bool host_pid, host_ipc, host_uts;
  int join_pid_fd, join_ipc_fd;
  bool no_shm;      /* no /dev/shm tmpfs: --ipc none, or a bind of a shared one provides it */
  char **sysctls;   /* "path=value", path under /proc/sys; written after /proc is mounted */

  /* fds, opened by the parent; -1 when unused */
  int stdio[3]; /* child ends; stdio[0] == -1 and !tty: /dev/null */
  int *cgroup_fds; /* cgroup.procs files to write "0" to */
  size_t ncgroup_fds;
  int sync_fd;   /* read end: one byte means go, EOF means abort */
  int msg_fd;    /* child end of the socketpair */
  int target_pidfd; /* exec mode: the container's init */
  char **shim_argv; /* the exec shim's argv (report.h), made by shim_argv_make in the parent */
};

/* Sends an error and exits. `err` is errno (0: `fmt` is the whole message). */
__attribute__((noreturn, format(printf, 4, 5))) void child_fail(const struct child_spec *s, int err,
                                                               const char *syscall, const char *fmt, ...);
/* Same, but `fmt` is the whole message; `err` still sets the JS error's code. */
__attribute__((noreturn, format(printf, 4, 5))) void child_fail_text(const struct child_spec *s, int err,
                                                                    const char *syscall, const char *fmt, ...);
/* Sends a message with an optional fd (SCM_RIGHTS); fails the child on error. */
void child_send(const struct child_spec *s, const struct child_msg *m, int fd);

/* Child steps, in the order they run. */
void child_close_other_fds(const struct child_spec *s);
void child_wait_for_go(const struct child_spec *s);
void child_join_cgroups(const struct child_spec *s);
void child_setup_rootfs(const struct child_spec *s); /* rootfs.c: mounts, /dev, pivot_root */
void child_finish_rootfs(const struct child_spec *s); /* rootfs.c: after the pty: masks, read-only */
void child_make_devices(const struct child_spec *s, int rootfd); /* devices.c: the spec's device nodes */
/* rootfs.c: opens `path` in the root as O_PATH, making it (and its parents) when missing. */
int child_open_in_root(const struct child_spec *s, int rootfd, const char *path, bool dir);
void child_setup_stdio(const struct child_spec *s, bool console); /* pty.c or pipes */
__attribute__((noreturn)) void child_exec(const struct child_spec *s); /* process.c: creds, caps, exec */
void child_write_sysctls(const struct child_spec *s); /* proc_settings.c: after the rootfs, before /proc/sys is read-only */
void child_set_oom_score_adj(const struct child_spec *s); /* proc_settings.c: in child_exec */

/* clone3 without a new stack (fork-like); *pidfd gets a pidfd when wanted. */
pid_t berth_clone3(uint64_t flags, int *pidfd);

/* Parent side (spec.c): read a JS spec into `s`; free what it holds. */
#include <node_api.h>
bool spec_read(napi_env env, napi_value obj, bool container, struct child_spec *s);
void spec_free(struct child_spec *s);
/* devices.c: spec.devices, sysfsWritable, cgroupWritable; freed by spec_free. */
bool spec_read_devices(napi_env env, napi_value obj, struct child_spec *s);
void spec_free_devices(struct child_spec *s);

#endif
