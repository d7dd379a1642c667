/*
 * A CVE-2019-5736 attacker inside a container, watching /proc while the test
 * runs `docker exec` again and again:
 *   - a process that is still Berth's runtime (comm "node": cloned from the
 *     agent, not yet exec'd) is stopped and its /proc/PID/exe opened, with
 *     O_PATH (what the exploit keeps to reopen for writing later) and
 *     O_WRONLY: "PID dropped|privileged path=RESULT write=RESULT", where
 *     dropped means it already had no capability we lack (before that the
 *     kernel keeps us out anyway; after, only being undumpable does);
 *   - a process running the exec shim (/proc/PID/exe a memfd) is stopped and
 *     its exe kept as O_PATH; once idle it is reopened for writing and its
 *     first byte written back unchanged: "shim reopen=RESULT write=RESULT"
 *     (the seals must refuse the write).
 * Ends with "done" when it has seen `want` dropped runtimes and a shim, or
 * after `seconds`.
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

static void read_comm(int pid, char *comm, size_t len) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/comm", pid);
  int fd = open(path, O_RDONLY);
  ssize_t n = fd < 0 ? 0 : read(fd, comm, len - 1);
  if (fd >= 0) close(fd);
  comm[n > 0 ? n : 0] = '\0';
}

static const char *result(int fd) {
  if (fd >= 0) {
    close(fd);
    return "opened";
  }
  return strerrorname_np(errno);
}

/* A stopped process still in the runtime: 1 when it had dropped its capabilities. */
static int try_runtime(int pid) {
  char path[64], pidstr[16], comm[32];
  snprintf(pidstr, sizeof pidstr, "%d", pid);
  int dropped = (cap_prm(pidstr) & ~cap_prm("self")) == 0;
  snprintf(path, sizeof path, "/proc/%d/exe", pid);
  const char *opath = result(open(path, O_PATH));
  const char *write = result(open(path, O_WRONLY));
  /* Still node after the tries (it is stopped)? Else it exec'd in between,
   * and what was opened is no longer the runtime. */
  read_comm(pid, comm, sizeof comm);
  if (strcmp(comm, "node\n") != 0) return 0;
  printf("%d %s path=%s write=%s\n", pid, dropped ? "dropped" : "privileged", opath, write);
  return dropped;
}

/* A stopped process: its exe as O_PATH if it is the shim's memfd, else -1. */
static int grab_shim(int pid) {
  char path[64], link[256];
  snprintf(path, sizeof path, "/proc/%d/exe", pid);
  ssize_t n = readlink(path, link, sizeof link - 1);
  if (n <= 0) return -1;
  link[n] = '\0';
  if (strncmp(link, "/memfd:", 7) != 0) return -1;
  return open(path, O_PATH);
}

/* Reopens the kept shim for writing once no one runs it, and writes its first byte back as it was. */
static void write_shim(int keep) {
  char path[64];
  unsigned char first;
  snprintf(path, sizeof path, "/proc/self/fd/%d", keep);
  int fd = -1;
  for (int i = 0; i < 200 && fd < 0; i++) {
    fd = open(path, O_RDWR);
    if (fd < 0 && errno == ETXTBSY) usleep(10000);
    else break;
  }
  if (fd < 0) {
    printf("shim reopen=%s write=none\n", strerrorname_np(errno));
    return;
  }
  const char *w = pread(fd, &first, 1, 0) != 1 ? "unread" : pwrite(fd, &first, 1, 0) == 1 ? "written" : strerrorname_np(errno);
  printf("shim reopen=opened write=%s\n", w);
  close(fd);
}

int main(int argc, char **argv) {
  int seconds = argc > 1 ? atoi(argv[1]) : 30, want = argc > 2 ? atoi(argv[2]) : 5, found = 0, shim = -1;
  static char seen[1 << 22];
  pid_t self = getpid();
  time_t end = time(NULL) + seconds;
  setvbuf(stdout, NULL, _IOLBF, 0);
  printf("watching\n");
  while ((found < want || shim < 0) && time(NULL) < end) {
    DIR *d = opendir("/proc");
    if (!d) return perror("opendir /proc"), 1;
    for (struct dirent *e; (e = readdir(d));) {
      int pid = atoi(e->d_name);
      if (pid <= 1 || pid == self || pid >= (int)sizeof seen || seen[pid]) continue;
      char comm[32];
      read_comm(pid, comm, sizeof comm);
      int runtime = strcmp(comm, "node\n") == 0;
      /* execveat(fd, "") names the process after the fd's number, or
       * (newer kernels) after the file: "memfd:berth-shim" */
      int maybe_shim = shim < 0 && ((comm[0] >= '0' && comm[0] <= '9') || strncmp(comm, "memfd:", 6) == 0);
      if (!runtime && !maybe_shim) continue;
      kill(pid, SIGSTOP);
      if (runtime) found += try_runtime(pid);
      else shim = grab_shim(pid);
      kill(pid, SIGCONT);
      seen[pid] = 1;
    }
    closedir(d);
  }
  if (shim >= 0) write_shim(shim);
  printf("done\n");
  return 0;
}
