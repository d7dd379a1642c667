/*
 * berth-shim: one small static program, three ways in (main.c).
 *   exec   argv[0] is SHIM_MAGIC (report.h): the child's last exec; it execs
 *          the container's command, a failure reported on the report socket.
 *   init   run as /sbin/docker-init (--init): PID 1 that forwards signals,
 *          reaps zombies and exits with the command's status (init.c).
 *   else   refused with 126: someone ran /proc/self/exe of a process that was
 *          starting (an image's `#!/proc/self/exe`), which must reach nothing.
 * Static, because it runs after pivot_root, where the container's files are
 * all there is (no loader of ours); it needs no privilege of its own.
 */
#ifndef BERTH_SHIM_H
#define BERTH_SHIM_H

#include "../src/report.h"

/* The PATH when the environment has none (runc's and dockerd's). */
#define SHIM_DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/* Execs argv[0] as runc does: a name with a slash as it is, else each entry
 * of `path` in turn (an empty entry is "."). Returns only on failure, with
 * `m` an MSG_ERROR in runc's words: `exec: "x": executable file not found in
 * $PATH` (ENOENT), `exec: "x": permission denied` (EACCES), or the path and
 * errno of another failure. */
void shim_exec_lookup(char **argv, char **envp, const char *path, struct child_msg *m);

/* Writes `m` as text to stderr, after `prefix` ("docker-init: "). */
void shim_print_error(const char *prefix, const struct child_msg *m);

int shim_init_main(int argc, char **argv, char **envp);

#endif
