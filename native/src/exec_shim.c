/*
 * The exec shim, held by the agent in a sealed memfd (the runc CVE-2019-5736
 * class).
 *
 * A container's process is cloned from the agent and runs this addon's child
 * code up to its last exec, so until then /proc/self/exe is the agent's node.
 * Were that last exec the user's command, an image script starting
 * `#!/proc/self/exe` would make the kernel start node as the container's
 * process, which could then reach the binary through /proc/PID/exe (and,
 * natively, rewrite the host's node once it is idle). So the child execs the
 * shim instead (execveat on this memfd) and the shim execs the command: at
 * that exec /proc/self/exe is the shim, the memfd is sealed against writing,
 * and the shim refuses to run when the child did not start it
 * (native/shim/). While the child is still node it is not dumpable
 * (launch.c), so no process in the container can open its /proc/PID/exe.
 *
 * The shim is a static program built beside the addon (berth-shim,
 * binding.gyp), read once per agent by shimLoad(path). It is a file, not
 * bytes inside the addon, because --init binds the same program at
 * /sbin/docker-init, and a memfd cannot be bind-mounted (it is on no mount
 * of any namespace: EINVAL).
 */
#include "exec_shim.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

#include "addon.h"
#include "args.h"
#include "errors.h"

/* linux/memfd.h's MFD_EXEC, absent from older headers. */
#define BERTH_MFD_EXEC 0x0010U

int berth_shim_fd = -1;

/* Copies the file into a new memfd and seals it; -1 with errno (and *step) on failure. */
static int seal_copy(const char *path, const char **step) {
  int src = open(path, O_RDONLY | O_CLOEXEC);
  if (src < 0) return *step = "open", -1;
  struct stat st;
  int fd = -1, err = 0;
  if (fstat(src, &st) != 0) {
    err = errno, *step = "fstat";
    goto out;
  }
  if (!S_ISREG(st.st_mode)) {
    err = EINVAL, *step = "fstat";
    goto out;
  }
  /* MFD_EXEC: with vm.memfd_noexec 1, a memfd made without it is sealed
   * non-executable (Linux 6.3+); kernels before 6.3 know no such flag
   * (EINVAL) and every memfd is executable there. */
  fd = memfd_create("berth-shim", MFD_CLOEXEC | MFD_ALLOW_SEALING | BERTH_MFD_EXEC);
  if (fd < 0 && errno == EINVAL) fd = memfd_create("berth-shim", MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (fd < 0) {
    err = errno, *step = "memfd_create";
    goto out;
  }
  for (off_t done = 0; done < st.st_size;) {
    ssize_t n = sendfile(fd, src, NULL, (size_t)(st.st_size - done));
    if (n <= 0) {
      err = n < 0 ? errno : EIO, *step = "sendfile";
      goto out;
    }
    done += n;
  }
  /* Sealed for good: no write, no resize, and no undoing the seals. */
  if (fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) != 0) {
    err = errno, *step = "fcntl";
    goto out;
  }
out:
  close(src);
  if (err) {
    if (fd >= 0) close(fd);
    errno = err;
    return -1;
  }
  return fd;
}

/* shimLoad(path): once per agent; later calls keep the first copy. */
static napi_value js_shim_load(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  char *path = NULL;
  if (!args_get(env, info, 1, argv) || !args_string(env, argv[0], "shimLoad: path", &path)) return NULL;
  if (berth_shim_fd < 0) {
    const char *step = "open";
    int fd = seal_copy(path, &step);
    if (fd < 0) berth_throw_errno(env, errno, step, "load the exec shim `%s` into a sealed memfd", path);
    else berth_shim_fd = fd;
  }
  free(path);
  return NULL;
}

bool shim_argv_make(napi_env env, struct child_spec *s) {
  if (berth_shim_fd < 0) {
    berth_throw_errno(env, ENOENT, "execveat", "the exec shim is not loaded (runtime/native.ts calls shimLoad first)");
    return false;
  }
  size_t n = 0;
  while (s->argv[n]) n++;
  s->shim_argv = calloc(SHIM_ARG_COMMAND + n + 1, sizeof *s->shim_argv);
  if (!s->shim_argv) {
    berth_throw_errno(env, ENOMEM, "malloc", "the exec shim's argv");
    return false;
  }
  s->shim_argv[0] = (char *)SHIM_MAGIC;
  s->shim_argv[SHIM_ARG_PATH] = (char *)s->path_env;
  memcpy(s->shim_argv + SHIM_ARG_COMMAND, s->argv, n * sizeof *s->argv);
  return true;
}

void berth_init_exec_shim(napi_env env, napi_value exports) { berth_export(env, exports, "shimLoad", js_shim_load); }
