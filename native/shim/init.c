/*
 * docker-init (--init): PID 1 of a container, as dockerd's tini is. Run as
 * `/sbin/docker-init -- COMMAND ARGS`, it starts the command as its child,
 * forwards every signal it gets to it, reaps every zombie (orphans are
 * re-parented to PID 1), and exits with the command's status, 128+N when a
 * signal N killed it.
 *
 * Signals are taken with sigwaitinfo with all of them blocked, never by
 * handlers: a PID 1 with a handler-less (SIG_DFL) signal would have the
 * kernel drop it, while a blocked one stays pending until waited for.
 */
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "shim.h"

static const char *env_path(char **envp) {
  for (char **e = envp; *e; e++)
    if (strncmp(*e, "PATH=", 5) == 0) return *e + 5;
  return SHIM_DEFAULT_PATH;
}

/* Reaps every child that has exited; true (and *code) once `child` has. */
static bool reap(pid_t child, int *code) {
  bool done = false;
  for (;;) {
    int st;
    pid_t p = waitpid(-1, &st, WNOHANG);
    if (p <= 0) return done;
    if (p == child) {
      done = true;
      *code = WIFSIGNALED(st) ? 128 + WTERMSIG(st) : WEXITSTATUS(st);
    }
  }
}

int shim_init_main(int argc, char **argv, char **envp) {
  int first = argc > 1 && strcmp(argv[1], "--") == 0 ? 2 : 1;
  if (first >= argc) {
    fprintf(stderr, "docker-init: usage: %s -- COMMAND [ARG...]\n", argv[0]);
    return 1;
  }
  sigset_t all, old;
  sigfillset(&all);
  sigprocmask(SIG_SETMASK, &all, &old);
  /* Not PID 1 (run by hand): orphans still come to us. */
  if (getpid() != 1) prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
  pid_t child = fork();
  if (child < 0) {
    fprintf(stderr, "docker-init: fork: %s\n", strerror(errno));
    return 1;
  }
  if (child == 0) {
    sigprocmask(SIG_SETMASK, &old, NULL);
    struct child_msg m;
    shim_exec_lookup(argv + first, envp, env_path(envp), &m);
    shim_print_error("docker-init: ", &m);
    _exit(m.err == EACCES ? 126 : 127);
  }
  for (;;) {
    siginfo_t si;
    int sig = sigwaitinfo(&all, &si);
    if (sig < 0) continue; /* EINTR */
    int code = 0;
    if (sig == SIGCHLD) {
      if (reap(child, &code)) return code;
    } else {
      kill(child, sig);
    }
  }
}
