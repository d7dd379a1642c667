/*
 * Cloning a container's init into another process's pid or ipc namespace
 * (--pid container:ID, --ipc container:ID).
 *
 * A clone lands in a new namespace by its flags, but joining an existing one
 * takes setns, and setns changes the namespaces of the calling thread. The
 * agent's main thread runs Node: it must never move (its later clones, and
 * the host-side work it does between them, would land in the container's
 * namespaces). So the clone is made from a short-lived thread of its own,
 * which joins first and exits after: setns(CLONE_NEWPID) only sets the pid
 * namespace of that thread's future children, setns(CLONE_NEWIPC) that
 * thread's ipc namespace, and both go with the thread. A multi-threaded
 * process may do both (it may not join a user or mount namespace, which we
 * never do here). The child is the agent's child like any other: a thread's
 * children belong to the whole thread group, and pass to another thread of
 * it when the cloning thread exits, so the main thread's pidfd waits still
 * reap it.
 */
#include <errno.h>
#include <linux/sched.h>
#include <pthread.h>
#include <sched.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "errors.h"
#include "launch.h"

struct clone_job {
  struct child_spec *s;
  uint64_t flags;
  int *pidfd;
  void (*body)(struct child_spec *s);
  pid_t pid;
  int err;
  const char *setns_step; /* set when a setns failed: the step, for the message */
};

static void *clone_joined(void *arg) {
  struct clone_job *j = arg;
  j->pid = -1;
  if (j->s->join_pid_fd >= 0 && setns(j->s->join_pid_fd, CLONE_NEWPID) != 0) {
    j->err = errno;
    j->setns_step = "join the pid namespace of the container to share (setns CLONE_NEWPID on its init's pidfd)";
    return NULL;
  }
  if (j->s->join_ipc_fd >= 0 && setns(j->s->join_ipc_fd, CLONE_NEWIPC) != 0) {
    j->err = errno;
    j->setns_step = "join the ipc namespace of the container to share (setns CLONE_NEWIPC on its init's pidfd)";
    return NULL;
  }
  j->pid = berth_clone3(j->flags, j->pidfd);
  if (j->pid == 0) {
    /* Not dumpable while it is still node: no process in the container can
     * open its /proc/PID/exe (or mem) before the exec (exec_shim.c). */
    if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) child_fail(j->s, errno, "prctl", "PR_SET_DUMPABLE 0");
    j->body(j->s);
    _exit(127);
  }
  j->err = errno;
  return NULL;
}

pid_t launch_clone(napi_env env, struct child_spec *s, uint64_t flags, int *pidfd, void (*body)(struct child_spec *s)) {
  struct clone_job j = {.s = s, .flags = flags, .pidfd = pidfd, .body = body};
  if (s->join_pid_fd < 0 && s->join_ipc_fd < 0) {
    clone_joined(&j); /* nothing to join: clone from this thread */
  } else {
    /* The thread inherits the caller's signal mask: launch() blocked them all. */
    pthread_t t;
    int r = pthread_create(&t, NULL, clone_joined, &j);
    if (r != 0) {
      berth_throw_errno(env, r, "pthread_create", "start the thread that clones into the shared namespaces");
      return -1;
    }
    pthread_join(t, NULL);
  }
  if (j.pid < 0 && j.setns_step) berth_throw_errno(env, j.err, "setns", "%s", j.setns_step);
  else if (j.pid < 0) berth_throw_errno(env, j.err, "clone3", "clone3 (flags 0x%llx)", (unsigned long long)flags);
  return j.pid;
}
