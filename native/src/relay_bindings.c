/*
 * The port relay's JavaScript functions: relayListen, relayCloseGroup and
 * relayCount, with their arguments read and their errors thrown in the
 * addon's way (the syscall and its argument). See relay.h for the design.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "addon.h"
#include "args.h"
#include "errors.h"
#include "relay.h"

/* An IP literal and port as a socket address; false if `host` is not one. */
static bool to_sockaddr(const char *host, uint32_t port, struct sockaddr_storage *addr, socklen_t *len) {
  struct sockaddr_in *v4 = (struct sockaddr_in *)addr;
  struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)addr;
  memset(addr, 0, sizeof *addr);
  if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons((uint16_t)port);
    *len = sizeof *v4;
    return true;
  }
  if (inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons((uint16_t)port);
    *len = sizeof *v6;
    return true;
  }
  return false;
}

/* A bound, listening socket (SO_REUSEADDR as Node sets it; "::" also takes
 * IPv4). Returns the fd, or -1 with errno and *step set. */
static int open_listener(const struct sockaddr_storage *addr, socklen_t len, const char **step) {
  int one = 1, zero = 0;
  *step = "socket";
  int fd = socket(addr->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (addr->ss_family == AF_INET6) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero);
  *step = "bind";
  if (bind(fd, (const struct sockaddr *)addr, len) == 0) {
    *step = "listen";
    if (listen(fd, RELAY_BACKLOG) == 0) return fd;
  }
  int err = errno;
  close(fd);
  errno = err;
  return -1;
}

/*
 * relayListen(host, port, targetHost, targetPort, group): listens on
 * host:port (port 0: the kernel picks) and relays every connection to
 * targetHost:targetPort; returns the bound port. Throws a system error
 * (EADDRINUSE with syscall "bind", ...) when it cannot listen.
 */
static napi_value js_relay_listen(napi_env env, napi_callback_info info) {
  napi_value argv[5], result;
  uint32_t port, tport, group;
  char *host = NULL, *thost = NULL;
  struct sockaddr_storage addr;
  socklen_t addrlen;
  const char *step;
  int err = 0;
  if (!args_get(env, info, 5, argv) || !args_string(env, argv[0], "relayListen: host", &host)) return NULL;
  if (!args_uint32(env, argv[1], "relayListen: port", &port) || !args_string(env, argv[2], "relayListen: targetHost", &thost) ||
      !args_uint32(env, argv[3], "relayListen: targetPort", &tport) || !args_uint32(env, argv[4], "relayListen: group", &group))
    goto out;
  struct listener *l = calloc(1, sizeof *l);
  if (!l) {
    berth_throw_errno(env, ENOMEM, "malloc", "listen on %s:%u", host, port);
    goto out;
  }
  if (port > 65535 || tport == 0 || tport > 65535 || !to_sockaddr(host, port, &addr, &addrlen) ||
      !to_sockaddr(thost, tport, &l->target, &l->target_len)) {
    free(l);
    berth_throw_type(env, "relayListen: %s:%u -> %s:%u is not an IP address and port", host, port, thost, tport);
    goto out;
  }
  int n = relay_start_workers(&err);
  if (n == 0) {
    free(l);
    berth_throw_errno(env, err, "pthread_create", "start the relay threads for %s:%u", host, port);
    goto out;
  }
  int fd = open_listener(&addr, addrlen, &step);
  if (fd < 0) {
    err = errno;
    free(l);
    berth_throw_errno(env, err, step, "%s %s:%u", step, host, port);
    goto out;
  }
  struct sockaddr_storage bound;
  socklen_t boundlen = sizeof bound;
  getsockname(fd, (struct sockaddr *)&bound, &boundlen);
  uint32_t bound_port = ntohs(bound.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&bound)->sin6_port : ((struct sockaddr_in *)&bound)->sin_port);
  l->end = (struct end){.listener = l, .fd = fd};
  l->group = group;
  if ((err = relay_add_listener(l, n)) != 0) {
    berth_throw_errno(env, err, "epoll_ctl", "watch %s:%u", host, port);
    goto out;
  }
  NAPI_CALL(env, napi_create_uint32(env, bound_port, &result));
  free(host);
  free(thost);
  return result;
out:
  free(host);
  free(thost);
  return NULL;
}

/* relayCloseGroup(group): closes the group's listener and every pair it
 * accepted; returns how many pairs. */
static napi_value js_relay_close_group(napi_env env, napi_callback_info info) {
  napi_value argv[1], result;
  uint32_t group;
  if (!args_get(env, info, 1, argv) || !args_uint32(env, argv[0], "relayCloseGroup: group", &group)) return NULL;
  NAPI_CALL(env, napi_create_uint32(env, relay_close_group(group), &result));
  return result;
}

/* relayCount(): pairs open now (for leak checks). */
static napi_value js_relay_count(napi_env env, napi_callback_info info) {
  napi_value result;
  NAPI_CALL(env, napi_create_uint32(env, relay_count(), &result));
  return result;
}

void berth_init_relay(napi_env env, napi_value exports) {
  berth_export(env, exports, "relayListen", js_relay_listen);
  berth_export(env, exports, "relayCloseGroup", js_relay_close_group);
  berth_export(env, exports, "relayCount", js_relay_count);
}
