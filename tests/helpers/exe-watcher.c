/*
 * A CVE-2019-5736 attacker inside a container: watches /proc for processes
 * that are still Berth's runtime (comm "node": cloned from the agent and not
 * yet exec'd, as a `docker exec` child is while it sets up), stops each one
 * and tries to reach its executable through /proc/PID/exe, with O_PATH (what
 * the exploit keeps to reopen for writing later) and O_WRONLY. Prints one
 * line per process that was still node after the tries, "PID
 * dropped|privileged path=RESULT write=RESULT", then "done" when it has seen
 * `want` that had dropped to the container's capabilities (the window where
 * only the runtime's own care keeps it out) or `seconds` have passed.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* CapPrm of /proc/PID/status ("self" for our own), 0 when unreadable. */
static unsigned long long cap_prm(const char *pid) {
  char path[64], buf[4096];
  snprintf(path, sizeof path, "/proc/%s/status", pid);
  int fd = open(path, O_RDONLY);
  if (fd < 0) return 0;
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  buf[n > 0 ? n : 0] = '\0';
  const char *p = strstr(buf, "CapPrm:");
  return p ? strtoull(p + 7, NULL, 16) : 0;
}

static const char *result(int fd) {
  if (fd >= 0) {
    close(fd);
    return "opened";
  }
  return strerrorname_np(errno);
}

int main(int argc, char **argv) {
  int seconds = argc > 1 ? atoi(argv[1]) : 30, want = argc > 2 ? atoi(argv[2]) : 5, found = 0;
  static char seen[1 << 22];
  pid_t self = getpid();
  time_t end = time(NULL) + seconds;
  setvbuf(stdout, NULL, _IOLBF, 0);
  printf("watching\n");
  while (found < want && time(NULL) < end) {
    DIR *d = opendir("/proc");
    if (!d) return perror("opendir /proc"), 1;
    for (struct dirent *e; (e = readdir(d));) {
      int pid = atoi(e->d_name);
      if (pid <= 1 || pid == self || pid >= (int)sizeof seen || seen[pid]) continue;
      char path[64], comm[32] = "";
      snprintf(path, sizeof path, "/proc/%d/comm", pid);
      int fd = open(path, O_RDONLY);
      if (fd < 0) continue;
      ssize_t n = read(fd, comm, sizeof comm - 1);
      close(fd);
      if (n <= 0 || strcmp(comm, "node\n") != 0) continue;
      kill(pid, SIGSTOP);
      /* Until it drops to the container's capabilities, the kernel keeps a
       * process with fewer (us) out anyway; after, only being undumpable does. */
      char pidstr[16];
      snprintf(pidstr, sizeof pidstr, "%d", pid);
      int dropped = (cap_prm(pidstr) & ~cap_prm("self")) == 0;
      snprintf(path, sizeof path, "/proc/%d/exe", pid);
      const char *opath = result(open(path, O_PATH));
      const char *write = result(open(path, O_WRONLY));
      /* Still node after the tries (it is stopped)? Else it exec'd in
       * between, and what was opened is no longer the runtime. */
      snprintf(path, sizeof path, "/proc/%d/comm", pid);
      fd = open(path, O_RDONLY);
      n = fd < 0 ? 0 : read(fd, comm, sizeof comm - 1);
      if (fd >= 0) close(fd);
      comm[n > 0 ? n : 0] = '\0';
      kill(pid, SIGCONT);
      seen[pid] = 1;
      if (strcmp(comm, "node\n") != 0) continue;
      found += dropped;
      printf("%d %s path=%s write=%s\n", pid, dropped ? "dropped" : "privileged", opath, write);
    }
    closedir(d);
  }
  printf("done\n");
  return 0;
}
