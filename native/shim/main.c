/* berth-shim's entry: which of its modes (shim.h) this run is. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "shim.h"

/* Anything but the child's exec or /sbin/docker-init: refuse, with why. */
static int refuse(const char *as) {
  fprintf(stderr,
          "berth-shim: refusing to run as \"%s\": this is Berth's exec shim, which only starts a container's command; "
          "a script naming /proc/self/exe as its interpreter reaches it (CVE-2019-5736)\n",
          as);
  return 126;
}

/* The report socket's fd, or -1 unless argv names an open socket. */
static int report_fd(const char *arg) {
  char *end;
  errno = 0;
  long fd = strtol(arg, &end, 10);
  struct stat st;
  if (errno || *end || fd < 3 || fd > 1 << 20 || fstat((int)fd, &st) != 0 || !S_ISSOCK(st.st_mode)) return -1;
  return (int)fd;
}

static int exec_mode(char **argv, char **envp) {
  int fd = report_fd(argv[SHIM_ARG_FD]);
  if (fd < 0) return refuse(argv[0]);
  /* Closed by the command's exec: the agent reads to that end-of-file. */
  if (fcntl(fd, F_SETFD, FD_CLOEXEC) != 0) return refuse(argv[0]);
  struct child_msg m;
  shim_exec_lookup(argv + SHIM_ARG_COMMAND, envp, argv[SHIM_ARG_PATH], &m);
  ssize_t n;
  do n = send(fd, &m, sizeof m, MSG_NOSIGNAL);
  while (n < 0 && errno == EINTR);
  return 127;
}

int main(int argc, char **argv, char **envp) {
  if (argc < 1) return refuse("");
  if (argc > SHIM_ARG_COMMAND && strcmp(argv[0], SHIM_MAGIC) == 0) return exec_mode(argv, envp);
  const char *base = strrchr(argv[0], '/');
  if (strcmp(base ? base + 1 : argv[0], "docker-init") == 0) return shim_init_main(argc, argv, envp);
  return refuse(argv[0]);
}
