/*
 * What a starting child reports to the agent over its SOCK_SEQPACKET report
 * socket: one `child_msg` per datagram. Shared by the addon's child code
 * (child.h) and the exec shim (native/shim/), which reports a failed exec of
 * the user's command on the same socket, so both must agree on the layout;
 * and the argv with which the child starts the shim.
 */
#ifndef BERTH_REPORT_H
#define BERTH_REPORT_H

#include <stdint.h>

enum child_msg_type {
  MSG_ERROR = 1, /* err, syscall, text: the child failed and will exit */
  MSG_PTY = 2,   /* the pty master rides along as SCM_RIGHTS */
  MSG_EXEC = 3,  /* exec mode: pid of the process in the container; its pidfd rides along */
};

struct child_msg {
  int32_t type;
  int32_t err;          /* positive errno, 0 when `text` is the whole message */
  int32_t pid;          /* MSG_EXEC */
  int32_t complete;     /* MSG_ERROR: `text` is the whole message (no strerror suffix) */
  char syscall[32];
  char text[900];
};

/*
 * The child's last step is execveat(shim memfd) with this argv; the shim
 * execs the user's command with argv[SHIM_ARG_COMMAND...] and the same env:
 *   [0] SHIM_MAGIC, [1] the report socket's fd in decimal, [2] the PATH to
 *   look the command up in, [3...] the command and its arguments.
 * The magic only picks the mode: whoever else runs the shim can make it do
 * nothing the container could not do itself.
 */
#define SHIM_MAGIC "berth-shim:exec"
#define SHIM_ARG_FD 1
#define SHIM_ARG_PATH 2
#define SHIM_ARG_COMMAND 3

#endif
