/*
 * The last steps before exec, shared by containers and exec'd processes:
 * working directory, fds, capabilities (Docker's default set), no_new_privs,
 * the seccomp filter, groups and ids, signal dispositions, then the exec
 * shim (exec_shim.c), which looks the command up in the container's own PATH
 * and execs it (as runc does, so a missing command reads as dockerd's
 * `exec: "x": executable file not found in $PATH`).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "child.h"
#include "exec_shim.h"

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

/* mkdir -p, as dockerd creates a missing WorkingDir (owned by root, 0755). */
static void make_cwd(const struct child_spec *s) {
  char path[4096];
  if (!s->cwd || !*s->cwd) return;
  if (!s->create_cwd) {
    if (chdir(s->cwd) != 0) child_fail(s, errno, "chdir", "chdir to working directory `%s`", s->cwd);
    return;
  }
  if (snprintf(path, sizeof path, "%s", s->cwd) >= (int)sizeof path)
    child_fail(s, ENAMETOOLONG, "mkdir", "create working directory `%s`", s->cwd);
  for (char *p = path + 1;; p++) {
    if (*p == '/' || *p == '\0') {
      char c = *p;
      *p = '\0';
      if (mkdir(path, 0755) != 0 && errno != EEXIST)
        child_fail(s, errno, "mkdir", "create working directory `%s` (at `%s`)", s->cwd, path);
      *p = c;
      if (!c) break;
    }
  }
  if (chdir(s->cwd) != 0) child_fail(s, errno, "chdir", "chdir to working directory `%s`", s->cwd);
}

static void set_capabilities(const struct child_spec *s) {
  for (int cap = 0; cap <= s->cap_last; cap++)
    if (!(s->caps & (1ULL << cap)) && prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0)
      child_fail(s, errno, "prctl", "PR_CAPBSET_DROP capability %d", cap);
  if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0)
    child_fail(s, errno, "prctl", "PR_CAP_AMBIENT_CLEAR_ALL");
}

static void set_user(const struct child_spec *s) {
  gid_t groups[256];
  size_t n = s->ngroups < 256 ? s->ngroups : 256;
  for (size_t i = 0; i < n; i++) groups[i] = s->groups[i];
  if (syscall(SYS_setgroups, n, groups) != 0) child_fail(s, errno, "setgroups", "setgroups (%zu groups)", n);
  if (syscall(SYS_setresgid, s->gid, s->gid, s->gid) != 0) child_fail(s, errno, "setresgid", "setresgid %u", s->gid);
  /* Keep the permitted set across the uid change; exec then gives a non-root
   * user none of it (no file caps, no ambient), as with dockerd. */
  if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) != 0) child_fail(s, errno, "prctl", "PR_SET_KEEPCAPS");
  if (syscall(SYS_setresuid, s->uid, s->uid, s->uid) != 0) child_fail(s, errno, "setresuid", "setresuid %u", s->uid);
  struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
  struct __user_cap_data_struct data[2];
  memset(data, 0, sizeof data);
  for (int i = 0; i < 2; i++) {
    data[i].effective = data[i].permitted = (uint32_t)(s->caps >> (32 * i));
    data[i].inheritable = 0; /* empty since dockerd 23 (CVE-2022-24769) */
  }
  if (syscall(SYS_capset, &hdr, data) != 0) child_fail(s, errno, "capset", "capset 0x%016llx", (unsigned long long)s->caps);
}

static void reset_signals(const struct child_spec *s) {
  /* Ignored signals stay ignored across exec: Node ignores SIGPIPE. */
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = SIG_DFL;
  for (int sig = 1; sig < NSIG; sig++)
    if (sig != SIGKILL && sig != SIGSTOP) sigaction(sig, &sa, NULL);
  sigset_t none;
  sigemptyset(&none);
  if (sigprocmask(SIG_SETMASK, &none, NULL) != 0) child_fail(s, errno, "sigprocmask", "unblock signals");
}

/*
 * The last step: exec the shim from its sealed memfd (exec_shim.c), which
 * looks the command up in PATH and execs it, reporting a failure on the
 * report socket in runc's words. The socket stays open across this exec
 * (the shim marks it close-on-exec again), so the parent still reads to its
 * end-of-file at the command's exec.
 */
static void exec_shim(const struct child_spec *s) {
  char fd[16];
  snprintf(fd, sizeof fd, "%d", s->msg_fd);
  s->shim_argv[SHIM_ARG_FD] = fd;
  if (fcntl(s->msg_fd, F_SETFD, 0) != 0) child_fail(s, errno, "fcntl", "keep the report socket open for the exec shim");
  syscall(SYS_execveat, berth_shim_fd, "", s->shim_argv, s->envp, AT_EMPTY_PATH);
  /* A seccomp profile may deny execveat and allow execve (runc's last step is
   * an execve, so such profiles work on dockerd): the same memfd through the
   * container's /proc, which every container mounts. */
  int at_err = errno;
  char path[32];
  snprintf(path, sizeof path, "/proc/self/fd/%d", berth_shim_fd);
  execve(path, s->shim_argv, s->envp);
  if (errno == ENOENT) child_fail(s, at_err, "execveat", "exec Berth's exec shim (memfd %d)", berth_shim_fd);
  child_fail(s, errno, "execve", "exec Berth's exec shim (%s; execveat: %s)", path, strerror(at_err));
}

/* --ulimit: set while the child still has CAP_SYS_RESOURCE (raising a hard limit needs it). */
static void set_rlimits(const struct child_spec *s) {
  for (size_t i = 0; i < s->nrlimits; i++) {
    struct rlimit r = {.rlim_cur = s->rlimits[i].soft, .rlim_max = s->rlimits[i].hard};
    if (setrlimit(s->rlimits[i].resource, &r) != 0)
      child_fail(s, errno, "setrlimit", "setrlimit resource %d (soft %llu, hard %llu)", s->rlimits[i].resource,
                 (unsigned long long)r.rlim_cur, (unsigned long long)r.rlim_max);
  }
}

/*
 * The seccomp filter goes on while the child is still root with every
 * capability of the agent (CAP_SYS_ADMIN lets it install a filter without
 * no_new_privs) and before setgroups/setresuid/capset/execve, which the
 * profile must therefore allow, as Docker's does (the shim's exec is an execveat,
 * or an execve where the profile denies execveat).
 */
static void set_seccomp(const struct child_spec *s) {
  if (!s->seccomp_filter) return;
  struct sock_fprog prog = {.len = s->seccomp_len, .filter = s->seccomp_filter};
  if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) != 0)
    child_fail(s, errno, "seccomp", "install the seccomp filter (%u instructions)", s->seccomp_len);
}

void child_exec(const struct child_spec *s) {
  set_rlimits(s);
  child_set_oom_score_adj(s);
  make_cwd(s);
  /* Everything above 2 closes at exec; the report socket stays usable until then. */
  if (syscall(SYS_close_range, 3, ~0U, CLOSE_RANGE_CLOEXEC) != 0)
    child_fail(s, errno, "close_range", "mark fds above 2 close-on-exec");
  set_capabilities(s);
  if (s->no_new_privs && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
    child_fail(s, errno, "prctl", "PR_SET_NO_NEW_PRIVS");
  set_seccomp(s);
  set_user(s);
  reset_signals(s);
  exec_shim(s);
  _exit(127);
}
