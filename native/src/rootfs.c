/*
 * The container's filesystem view, built in the child inside its new mount
 * namespace: the caller's prepared rootfs (an overlay already mounted on the
 * host) becomes `/`, with /proc, /dev, /dev/pts, /dev/shm, /dev/mqueue, /sys
 * and the caller's bind mounts (/etc/hosts, volumes) on top, as runc does for
 * dockerd.
 *
 * Paths inside the rootfs are resolved with openat2(RESOLVE_IN_ROOT), so a
 * symlink in an image (/proc -> /) can not point a mount outside the rootfs;
 * the mount then targets the opened fd through /proc/self/fd.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "child.h"

#define FD_PATH_MAX 64

static void fd_path(char *buf, int fd) { snprintf(buf, FD_PATH_MAX, "/proc/self/fd/%d", fd); }

static int open_in(int dirfd, const char *path, int flags) {
  struct open_how how = {.flags = (uint64_t)(flags | O_CLOEXEC), .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS};
  return (int)syscall(SYS_openat2, dirfd, path, &how, sizeof how);
}

/*
 * Opens `path` (absolute, inside the root `rootfd`) as O_PATH, creating it
 * when missing: parents as directories, the last component as a directory
 * (`dir`) or an empty file. Fails the child with the step on error.
 */
static int resolve(const struct child_spec *s, int rootfd, const char *path, bool dir) {
  int fd = open_in(rootfd, path, O_PATH);
  if (fd >= 0 || errno != ENOENT) {
    if (fd < 0) child_fail(s, errno, "openat2", "open `%s` in the container's rootfs", path);
    return fd;
  }
  char part[4096];
  size_t len = strlen(path);
  if (len >= sizeof part) child_fail(s, ENAMETOOLONG, "openat2", "open `%s` in the container's rootfs", path);
  int parent = open_in(rootfd, "/", O_PATH | O_DIRECTORY);
  if (parent < 0) child_fail(s, errno, "openat2", "open the container's rootfs `%s`", s->rootfs);
  const char *p = path;
  for (;;) {
    while (*p == '/') p++;
    const char *end = strchr(p, '/');
    size_t n = end ? (size_t)(end - p) : strlen(p);
    memcpy(part, p, n);
    part[n] = '\0';
    bool last = !end || end[strspn(end, "/")] == '\0';
    if (last && !dir) {
      /* 0755, as runc makes a file mount point: it shows so in docker diff and commit (--init's /sbin/docker-init) */
      int f = openat(parent, part, O_CREAT | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0755);
      if (f < 0 && errno != EEXIST) child_fail(s, errno, "openat", "create mount point `%s` in the rootfs", path);
      if (f >= 0) close(f);
    } else if (mkdirat(parent, part, 0755) != 0 && errno != EEXIST) {
      child_fail(s, errno, "mkdirat", "create directory `%s` for `%s` in the rootfs", part, path);
    }
    int next = open_in(parent, part, O_PATH | (last && !dir ? 0 : O_DIRECTORY));
    if (next < 0) child_fail(s, errno, "openat2", "open `%s` of `%s` in the rootfs", part, path);
    close(parent);
    parent = next;
    if (last) return parent;
    p = end;
  }
}

int child_open_in_root(const struct child_spec *s, int rootfd, const char *path, bool dir) {
  return resolve(s, rootfd, path, dir);
}

static void mount_at(const struct child_spec *s, int rootfd, const char *path, const char *source, const char *fstype,
                     unsigned long flags, const char *data, bool dir) {
  char fdp[FD_PATH_MAX];
  int fd = resolve(s, rootfd, path, dir);
  fd_path(fdp, fd);
  if (mount(source, fdp, fstype, flags, data) != 0)
    child_fail(s, errno, "mount", "mount `%s` (type %s) on `%s`%s%s", source, fstype ? fstype : "bind", path,
               data ? " with options " : "", data ? data : "");
  close(fd);
}

static void make_dev(const struct child_spec *s, int devfd) {
  static const struct {
    const char *name;
    unsigned major, minor;
  } nodes[] = {{"null", 1, 3}, {"zero", 1, 5}, {"full", 1, 7}, {"random", 1, 8}, {"urandom", 1, 9}, {"tty", 5, 0}};
  static const struct {
    const char *name, *target;
  } links[] = {{"ptmx", "pts/ptmx"},        {"fd", "/proc/self/fd"},     {"stdin", "/proc/self/fd/0"},
               {"stdout", "/proc/self/fd/1"}, {"stderr", "/proc/self/fd/2"}, {"core", "/proc/kcore"}};
  for (size_t i = 0; i < sizeof nodes / sizeof *nodes; i++) {
    if (mknodat(devfd, nodes[i].name, S_IFCHR | 0666, makedev(nodes[i].major, nodes[i].minor)) != 0)
      child_fail(s, errno, "mknod", "mknod `/dev/%s` (%u:%u)", nodes[i].name, nodes[i].major, nodes[i].minor);
    /* mknod applies the umask; the nodes must be 0666 as in Docker. */
    if (fchmodat(devfd, nodes[i].name, 0666, 0) != 0) child_fail(s, errno, "chmod", "chmod `/dev/%s`", nodes[i].name);
  }
  for (size_t i = 0; i < sizeof links / sizeof *links; i++)
    if (symlinkat(links[i].target, devfd, links[i].name) != 0)
      child_fail(s, errno, "symlink", "symlink `/dev/%s` -> `%s`", links[i].name, links[i].target);
}

static void mount_binds(const struct child_spec *s, int rootfd) {
  for (size_t i = 0; i < s->nbinds; i++) {
    const struct bind_spec *b = &s->binds[i];
    struct stat st;
    char fdp[FD_PATH_MAX];
    if (b->tmpfs) {
      mount_at(s, rootfd, b->destination, "tmpfs", "tmpfs", b->flags | (b->readonly ? MS_RDONLY : 0), b->data, true);
      continue;
    }
    if (stat(b->source, &st) != 0) child_fail(s, errno, "stat", "bind mount source `%s`", b->source);
    int fd = resolve(s, rootfd, b->destination, S_ISDIR(st.st_mode));
    fd_path(fdp, fd);
    if (mount(b->source, fdp, NULL, MS_BIND | (b->nonrecursive ? 0 : MS_REC), NULL) != 0)
      child_fail(s, errno, "mount", "bind mount `%s` on `%s`", b->source, b->destination);
    close(fd);
    if (!b->readonly) continue;
    /* The fd above is the file under the bind; the bind itself is opened again. */
    fd = resolve(s, rootfd, b->destination, S_ISDIR(st.st_mode));
    if (b->readonly_top_only) {
      fd_path(fdp, fd);
      if (mount(NULL, fdp, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY, NULL) != 0)
        child_fail(s, errno, "mount", "remount `%s` read-only", b->destination);
    } else {
      /* Docker 25+: a read-only bind is read-only all the way down, the
       * mounts under its source included (a remount reaches only the top). */
      struct mount_attr attr = {.attr_set = MOUNT_ATTR_RDONLY};
      if (syscall(SYS_mount_setattr, fd, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof attr) != 0)
        child_fail(s, errno, "mount_setattr", "make `%s` and the mounts under it read-only", b->destination);
    }
    close(fd);
  }
}

/* pivot_root(".", "."): the old root ends up stacked on the new one, and is
 * detached after being made a slave so the unmount does not reach the host. */
static void pivot(const struct child_spec *s, int rootfd) {
  int oldroot = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (oldroot < 0) child_fail(s, errno, "open", "open the old root `/`");
  if (fchdir(rootfd) != 0) child_fail(s, errno, "fchdir", "enter the rootfs `%s`", s->rootfs);
  if (syscall(SYS_pivot_root, ".", ".") != 0) child_fail(s, errno, "pivot_root", "pivot_root to `%s`", s->rootfs);
  if (fchdir(oldroot) != 0) child_fail(s, errno, "fchdir", "enter the old root");
  if (mount(NULL, ".", NULL, MS_SLAVE | MS_REC, NULL) != 0) child_fail(s, errno, "mount", "make the old root rslave");
  if (umount2(".", MNT_DETACH) != 0) child_fail(s, errno, "umount2", "detach the old root");
  if (chdir("/") != 0) child_fail(s, errno, "chdir", "chdir `/` in the new root");
  close(oldroot);
}

/* Every network namespace starts with `lo` down; containers expect it up. */
static void loopback_up(const struct child_spec *s) {
  int sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (sock < 0) child_fail(s, errno, "socket", "open a socket to bring `lo` up");
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  strcpy(ifr.ifr_name, "lo");
  if (ioctl(sock, SIOCGIFFLAGS, &ifr) != 0) child_fail(s, errno, "ioctl", "SIOCGIFFLAGS `lo`");
  ifr.ifr_flags |= IFF_UP;
  if (ioctl(sock, SIOCSIFFLAGS, &ifr) != 0) child_fail(s, errno, "ioctl", "SIOCSIFFLAGS `lo` up");
  close(sock);
}

void child_setup_rootfs(const struct child_spec *s) {
  const unsigned long nse = MS_NOSUID | MS_NOEXEC | MS_NODEV;
  if (unshare(CLONE_NEWCGROUP) != 0) child_fail(s, errno, "unshare", "unshare CLONE_NEWCGROUP");
  if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0) child_fail(s, errno, "mount", "make `/` rprivate");
  if (mount(s->rootfs, s->rootfs, NULL, MS_BIND | MS_REC, NULL) != 0)
    child_fail(s, errno, "mount", "bind the rootfs `%s` onto itself", s->rootfs);
  int rootfd = open(s->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (rootfd < 0) child_fail(s, errno, "open", "open the rootfs `%s`", s->rootfs);

  mount_at(s, rootfd, "/proc", "proc", "proc", nse, NULL, true);
  mount_at(s, rootfd, "/dev", "tmpfs", "tmpfs", MS_NOSUID | MS_STRICTATIME, "mode=755,size=65536k", true);
  int devfd = resolve(s, rootfd, "/dev", true); /* reopened: now the tmpfs */
  make_dev(s, devfd);
  close(devfd);
  child_make_devices(s, rootfd);
  mount_at(s, rootfd, "/dev/pts", "devpts", "devpts", MS_NOSUID | MS_NOEXEC, "newinstance,ptmxmode=0666,mode=0620,gid=5",
           true);
  if (!s->no_shm) { /* else --ipc none, or a bind of a shared one comes with the binds */
    char shm_data[64];
    snprintf(shm_data, sizeof shm_data, "mode=1777,size=%llu", (unsigned long long)(s->shm_size ? s->shm_size : 64ULL << 20));
    mount_at(s, rootfd, "/dev/shm", "shm", "tmpfs", nse, shm_data, true);
  }
  mount_at(s, rootfd, "/dev/mqueue", "mqueue", "mqueue", nse, NULL, true);
  mount_at(s, rootfd, "/sys", "sysfs", "sysfs", nse | (s->sysfs_writable ? 0 : MS_RDONLY), NULL, true);
  if (s->mount_cgroup2)
    mount_at(s, rootfd, "/sys/fs/cgroup", "cgroup", "cgroup2", nse | (s->cgroup_writable ? 0 : MS_RDONLY) | MS_RELATIME, NULL,
             true);
  mount_binds(s, rootfd);
  pivot(s, rootfd);
  close(rootfd);
  /* --uts host: the name is the host's, never the container's to set */
  if (s->hostname && !s->host_uts && sethostname(s->hostname, strlen(s->hostname)) != 0)
    child_fail(s, errno, "sethostname", "sethostname `%s`", s->hostname);
  if (!s->host_network) loopback_up(s); /* the host's lo is the host's business */
}

/* After the pty (whose slave may be bound onto /dev/console): hide what
 * Docker hides under /proc and /sys, then make the rootfs read-only if asked. */
void child_finish_rootfs(const struct child_spec *s) {
  for (char **p = s->masked_paths; p && *p; p++) {
    struct stat st;
    if (lstat(*p, &st) != 0) {
      if (errno == ENOENT) continue;
      child_fail(s, errno, "stat", "stat masked path `%s`", *p);
    }
    int r = S_ISDIR(st.st_mode) ? mount("tmpfs", *p, "tmpfs", MS_RDONLY, NULL) : mount("/dev/null", *p, NULL, MS_BIND, NULL);
    if (r != 0) child_fail(s, errno, "mount", "mask `%s`", *p);
  }
  for (char **p = s->readonly_paths; p && *p; p++) {
    if (mount(*p, *p, NULL, MS_BIND | MS_REC, NULL) != 0) {
      if (errno == ENOENT) continue;
      child_fail(s, errno, "mount", "bind `%s` to make it read-only", *p);
    }
    if (mount(NULL, *p, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) != 0)
      child_fail(s, errno, "mount", "remount `%s` read-only", *p);
  }
  if (s->readonly_rootfs && mount(NULL, "/", NULL, MS_BIND | MS_REMOUNT | MS_RDONLY, NULL) != 0)
    child_fail(s, errno, "mount", "remount the rootfs `/` read-only");
}
