/* The command's PATH lookup and its error texts (shim.h). */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "shim.h"

static void failed(struct child_msg *m, int err, bool complete, const char *fmt, const char *a, const char *b) {
  memset(m, 0, sizeof *m);
  m->type = MSG_ERROR;
  m->err = err;
  m->complete = complete;
  snprintf(m->syscall, sizeof m->syscall, "execve");
  snprintf(m->text, sizeof m->text, fmt, a, b);
}

void shim_exec_lookup(char **argv, char **envp, const char *path, struct child_msg *m) {
  const char *file = argv[0];
  if (strchr(file, '/')) {
    execve(file, argv, envp);
    if (errno == ENOENT) return failed(m, ENOENT, true, "exec: \"%s\": stat %s: no such file or directory", file, file);
    if (errno == EACCES) return failed(m, EACCES, true, "exec: \"%s\": permission denied%s", file, "");
    return failed(m, errno, false, "exec `%.800s`%s", file, "");
  }
  bool denied = false;
  char full[4096];
  for (const char *dir = path; dir;) {
    const char *colon = strchr(dir, ':');
    int len = colon ? (int)(colon - dir) : (int)strlen(dir);
    if (snprintf(full, sizeof full, "%.*s/%s", len ? len : 1, len ? dir : ".", file) < (int)sizeof full) {
      execve(full, argv, envp);
      if (errno == EACCES) denied = true;
      else if (errno != ENOENT && errno != ENOTDIR) return failed(m, errno, false, "exec `%.800s`%s", full, "");
    }
    dir = colon ? colon + 1 : NULL;
  }
  if (denied) return failed(m, EACCES, true, "exec: \"%s\": permission denied%s", file, "");
  failed(m, ENOENT, true, "exec: \"%s\": executable file not found in $PATH%s", file, "");
}

void shim_print_error(const char *prefix, const struct child_msg *m) {
  if (m->complete) fprintf(stderr, "%s%s\n", prefix, m->text);
  else fprintf(stderr, "%s%s: %s\n", prefix, m->text, strerror(m->err));
}
