/*
 * Published TCP ports, relayed in the kernel: listening, accepting, and
 * moving bytes between each accepted client and a connection to the
 * container with splice(2) through a pipe, so no byte is copied into user
 * space and no JavaScript runs per connection (docker-proxy does the same
 * in Go: its io.Copy between TCP connections splices on Linux).
 *
 * Worker threads (one per CPU, at most RELAY_MAX_WORKERS) start with the
 * first listener. Each runs an epoll loop; every listener is in every
 * worker's epoll set (EPOLLEXCLUSIVE: a connection wakes one idle worker),
 * and the worker that accepts a connection relays it for its whole life.
 * Sockets are edge-triggered and drained to EAGAIN. Several threads, as Go's
 * runtime has for docker-proxy, so concurrent transfers use every core and
 * a busy machine's scheduler gives the relay more than one thread's share.
 *
 * Ownership and closing:
 *  - The relay owns every fd it makes (listeners, accepted and upstream
 *    sockets, pipes; all close-on-exec) and closes each exactly once
 *    (close_fd forgets it); JavaScript never sees them.
 *  - A direction ends when its source reads EOF and its pipe is drained:
 *    the destination is shut down for writing (half-close travels). The pair
 *    is closed when both directions have ended, or at once on any error
 *    (connect refused, reset, broken pipe, out of fds); unsent data is then
 *    dropped and the kernel resets the connection, as a userland proxy's
 *    destroy would.
 *  - relayCloseGroup closes a listener and every pair it accepted, at once
 *    (its ports are being unpublished).
 *  - Writing to a peer that has gone raises SIGPIPE; Node ignores it
 *    process-wide, so splice just fails with EPIPE and the pair closes.
 *
 * Threads and memory: a worker's `lock` guards its pairs, and is held while
 * it handles an event. Listeners are shared, so adding or closing one takes
 * every worker's lock, in index order (only the JavaScript thread takes more
 * than one, so no deadlock); a worker reads a listener under its own lock.
 * Whatever is closed is removed from epoll and its fds closed at once, but
 * its memory is freed only when no worker can still hold its pointer from a
 * batch of events: a pair by its worker after the batch, a listener once
 * every worker has finished a batch since (they are woken to do so).
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "addon.h"
#include "args.h"
#include "errors.h"

/* Bytes a pipe holds once a flow has moved RELAY_BULK_BYTES: larger than the
 * 64 KiB default, so a bulk transfer takes fewer splice calls (best effort).
 * Pipes are made at the default size when the pair is first served (after
 * connect), so a short exchange never pays for a large pipe, and a refused
 * connect for none. */
#define RELAY_PIPE_BYTES (1024 * 1024)
#define RELAY_BULK_BYTES (256 * 1024)
#define RELAY_BATCH 64
/* Bytes one flow moves per turn before others get theirs: an edge-triggered
 * socket that still has data is put on the `again` list and served after
 * the current batch, so one bulk transfer cannot starve the others (or keep
 * the lock from the JavaScript thread). */
#define RELAY_TURN_BYTES (4 * 1024 * 1024)
#define RELAY_MAX_WORKERS 4
#define RELAY_BACKLOG 1024

struct pair;
struct listener;

struct worker {
  int index;
  pthread_mutex_t lock;
  int epfd;
  int wakefd;             /* eventfd: makes the worker finish a batch */
  struct pair *live;      /* guarded by lock */
  struct pair *graveyard; /* closed, freed by the worker after its batch */
  struct pair *again;     /* used its turn with data left; worker only */
  size_t count;           /* live pairs; atomic, read without the lock */
};

/* What epoll names: one socket of a pair, or a listener (pair NULL). */
struct end {
  struct pair *pair;
  struct listener *listener;
  int fd;
};

/* Bytes flowing from one end to the other through a pipe. */
struct flow {
  struct end *from, *to;
  int pipe_r, pipe_w;
  size_t queued; /* bytes in the pipe */
  size_t moved;  /* bytes through so far, up to RELAY_BULK_BYTES */
  bool eof;      /* `from` read EOF */
  bool done;     /* eof, pipe drained, `to` shut down for writing */
};

struct pair {
  struct worker *w;
  struct pair *prev, *next; /* live list, or the graveyard (next only) */
  struct pair *again_next;
  uint32_t group;
  bool connecting; /* upstream connect(2) in progress */
  bool closed;
  bool again; /* on the again list, which then owns its memory once closed */
  struct end client, upstream;
  struct flow up, down; /* client -> upstream, upstream -> client */
};

struct listener {
  struct end end;
  struct listener *next; /* `listeners`, or `dead` */
  uint32_t group;
  bool closed;
  unsigned pending; /* dead: bit i set until worker i has finished a batch */
  struct sockaddr_storage target;
  socklen_t target_len;
};

static pthread_mutex_t start_lock = PTHREAD_MUTEX_INITIALIZER;
static struct worker workers[RELAY_MAX_WORKERS];
static int started; /* workers running; guarded by start_lock, never shrinks */

static struct listener *listeners; /* changed only with every worker's lock held */
static pthread_mutex_t dead_lock = PTHREAD_MUTEX_INITIALIZER;
static struct listener *dead; /* guarded by dead_lock */

static void close_fd(int *fd) {
  if (*fd >= 0) close(*fd);
  *fd = -1;
}

static void bury(struct pair *p) {
  p->next = p->w->graveyard;
  p->w->graveyard = p;
}

/* Under its worker's lock. Removes the pair from epoll and the live list,
 * closes its fds and leaves the memory to the worker. */
static void close_pair(struct pair *p) {
  struct worker *w = p->w;
  if (p->closed) return;
  p->closed = true;
  if (p->client.fd >= 0) epoll_ctl(w->epfd, EPOLL_CTL_DEL, p->client.fd, NULL);
  if (p->upstream.fd >= 0) epoll_ctl(w->epfd, EPOLL_CTL_DEL, p->upstream.fd, NULL);
  close_fd(&p->client.fd);
  close_fd(&p->upstream.fd);
  close_fd(&p->up.pipe_r);
  close_fd(&p->up.pipe_w);
  close_fd(&p->down.pipe_r);
  close_fd(&p->down.pipe_w);
  if (p->prev) p->prev->next = p->next;
  else w->live = p->next;
  if (p->next) p->next->prev = p->prev;
  __atomic_fetch_sub(&w->count, 1, __ATOMIC_RELAXED);
  p->prev = NULL;
  p->next = NULL;
  if (!p->again) bury(p);
}

/* The flow's pipe, made when the pair is first served. Returns 0 or an errno. */
static int make_pipe(struct flow *f) {
  int fds[2];
  if (pipe2(fds, O_NONBLOCK | O_CLOEXEC) != 0) return errno;
  f->pipe_r = fds[0];
  f->pipe_w = fds[1];
  return 0;
}

/*
 * Moves what can be moved from `f->from` to `f->to` without blocking.
 * Returns false on an error that ends the pair. A splice into the pipe can
 * also fail with EAGAIN when the pipe's slots are full though bytes remain
 * (a slot holds part of a page), so EAGAIN only ends the loop when nothing
 * moved in either step.
 */
static bool pump(struct flow *f, bool *more) {
  size_t budget = RELAY_TURN_BYTES;
  if (f->pipe_w < 0 && !f->done && make_pipe(f) != 0) return false;
  while (!f->done) {
    if (budget == 0) {
      *more = true;
      break;
    }
    bool moved = false;
    if (!f->eof) {
      ssize_t n = splice(f->from->fd, NULL, f->pipe_w, NULL, RELAY_PIPE_BYTES, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
      if (n > 0) {
        f->queued += (size_t)n;
        moved = true;
        if (f->moved < RELAY_BULK_BYTES && (f->moved += (size_t)n) >= RELAY_BULK_BYTES)
          fcntl(f->pipe_w, F_SETPIPE_SZ, RELAY_PIPE_BYTES); /* a bulk transfer: grow (best effort) */
      } else if (n == 0) {
        f->eof = true;
        moved = true;
      } else if (errno != EAGAIN && errno != EINTR) {
        return false;
      }
    }
    if (f->queued > 0) {
      ssize_t n = splice(f->pipe_r, NULL, f->to->fd, NULL, f->queued, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
      if (n > 0) {
        f->queued -= (size_t)n;
        budget = (size_t)n > budget ? 0 : budget - (size_t)n;
        moved = true;
      } else if (n < 0 && errno != EAGAIN && errno != EINTR) {
        return false;
      }
    }
    if (f->eof && f->queued == 0) {
      /* ENOTCONN: the peer is already gone; the pair ends with the other flow. */
      shutdown(f->to->fd, SHUT_WR);
      f->done = true;
    }
    if (!moved) break;
  }
  return true;
}

/* Under its worker's lock: the upstream connect finished (or failed). */
static bool finish_connect(struct pair *p) {
  int err = 0;
  socklen_t len = sizeof err;
  if (getsockopt(p->upstream.fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0) return false;
  p->connecting = false;
  return true;
}

/* Under its worker's lock: moves both flows (either end's readiness may unblock both:
 * read from it, write to it); closes the pair when it is over. */
static void serve(struct pair *p) {
  bool more = false;
  if (!pump(&p->up, &more) || !pump(&p->down, &more) || (p->up.done && p->down.done)) {
    close_pair(p);
  } else if (more && !p->again) {
    p->again = true;
    p->again_next = p->w->again;
    p->w->again = p;
  }
}

static int watch(struct worker *w, struct end *e, uint32_t events) {
  struct epoll_event ev = {.events = events, .data.ptr = e};
  return epoll_ctl(w->epfd, EPOLL_CTL_ADD, e->fd, &ev) == 0 ? 0 : errno;
}

/* Under w's lock: relays the accepted socket `fd` (now owned by the pair) to
 * the listener's target. On failure everything is closed: the client sees
 * its connection end, as when the container refuses it. */
static void start_pair(struct worker *w, int fd, const struct listener *l) {
  struct pair *p = calloc(1, sizeof *p);
  if (!p) {
    close(fd);
    return;
  }
  int one = 1;
  p->w = w;
  p->group = l->group;
  p->connecting = true;
  p->client = (struct end){.pair = p, .fd = fd};
  p->upstream = (struct end){.pair = p, .fd = -1};
  p->up = (struct flow){.from = &p->client, .to = &p->upstream, .pipe_r = -1, .pipe_w = -1};
  p->down = (struct flow){.from = &p->upstream, .to = &p->client, .pipe_r = -1, .pipe_w = -1};
  /* Linked first, so every failure below unwinds through close_pair. */
  p->next = w->live;
  if (w->live) w->live->prev = p;
  w->live = p;
  __atomic_fetch_add(&w->count, 1, __ATOMIC_RELAXED);
  p->upstream.fd = socket(l->target.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (p->upstream.fd < 0) goto fail;
  setsockopt(p->client.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  setsockopt(p->upstream.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (connect(p->upstream.fd, (const struct sockaddr *)&l->target, l->target_len) != 0 && errno != EINPROGRESS) goto fail;
  const uint32_t ev = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
  if (watch(w, &p->client, ev) != 0 || watch(w, &p->upstream, ev) != 0) goto fail;
  return;
fail:
  close_pair(p);
}

/* Under w's lock: accepts until the backlog is empty (the listener is
 * edge-triggered). Out of fds, the rest wait for the next connection. */
static void on_accept(struct worker *w, struct listener *l) {
  while (!l->closed) {
    int fd = accept4(l->end.fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      return; /* EAGAIN, EMFILE, ENFILE, ENOBUFS */
    }
    start_pair(w, fd, l);
  }
}

/* Under w's lock: one epoll event. */
static void on_event(struct worker *w, struct end *e, uint32_t events) {
  if (!e) {
    uint64_t n;
    if (read(w->wakefd, &n, sizeof n) < 0) { /* EAGAIN: another wake consumed it */ }
    return;
  }
  if (e->listener) {
    on_accept(w, e->listener);
    return;
  }
  struct pair *p = e->pair;
  if (p->closed) return;
  if (p->connecting) {
    if (e != &p->upstream) return; /* client data waits in its socket */
    if (!(events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) return;
    if (!finish_connect(p)) {
      close_pair(p);
      return;
    }
  }
  serve(p);
}

/* After a batch: frees the listeners no worker can still name. */
static void reap_listeners(struct worker *w) {
  pthread_mutex_lock(&dead_lock);
  for (struct listener **at = &dead; *at;) {
    struct listener *l = *at;
    l->pending &= ~(1u << w->index);
    if (l->pending == 0) {
      *at = l->next;
      free(l);
    } else {
      at = &l->next;
    }
  }
  pthread_mutex_unlock(&dead_lock);
}

static void *run_worker(void *arg) {
  struct worker *w = arg;
  struct epoll_event events[RELAY_BATCH];
  for (;;) {
    int n = epoll_wait(w->epfd, events, RELAY_BATCH, w->again ? 0 : -1);
    if (n < 0 && errno != EINTR) abort(); /* only EBADF/EINVAL: a bug */
    for (int i = 0; i < n; i++) {
      pthread_mutex_lock(&w->lock);
      on_event(w, events[i].data.ptr, events[i].events);
      pthread_mutex_unlock(&w->lock);
    }
    pthread_mutex_lock(&w->lock);
    /* Pairs that used up their turn; serving them may queue them again. */
    struct pair *turn = w->again;
    w->again = NULL;
    while (turn) {
      struct pair *p = turn;
      turn = p->again_next;
      p->again = false;
      if (p->closed) bury(p);
      else serve(p);
    }
    while (w->graveyard) {
      struct pair *p = w->graveyard;
      w->graveyard = p->next;
      free(p);
    }
    pthread_mutex_unlock(&w->lock);
    reap_listeners(w);
  }
  return NULL;
}

/* Starts the workers once; returns how many run (0: *err says why). */
static int start_workers(int *err) {
  pthread_mutex_lock(&start_lock);
  if (started == 0) {
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    int want = cpus < 1 ? 1 : cpus > RELAY_MAX_WORKERS ? RELAY_MAX_WORKERS : (int)cpus;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&attr, 64 * 1024);
    while (started < want) {
      struct worker *w = &workers[started];
      pthread_t t;
      struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
      w->index = started;
      w->epfd = epoll_create1(EPOLL_CLOEXEC);
      w->wakefd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
      if (w->epfd < 0 || w->wakefd < 0 || epoll_ctl(w->epfd, EPOLL_CTL_ADD, w->wakefd, &ev) != 0) {
        *err = errno;
        close_fd(&w->epfd);
        close_fd(&w->wakefd);
        break;
      }
      pthread_mutex_init(&w->lock, NULL);
      if ((*err = pthread_create(&t, &attr, run_worker, w)) != 0) {
        pthread_mutex_destroy(&w->lock);
        close_fd(&w->epfd);
        close_fd(&w->wakefd);
        break;
      }
      started++; /* fewer than wanted still relays */
    }
    pthread_attr_destroy(&attr);
  }
  int n = started;
  pthread_mutex_unlock(&start_lock);
  return n;
}

/* How many workers run (without starting any). */
static int running_workers(void) {
  pthread_mutex_lock(&start_lock);
  int n = started;
  pthread_mutex_unlock(&start_lock);
  return n;
}

/* With every worker's lock held: no worker watches or accepts on `l` any
 * more; its fd is closed. Its memory goes to bury_listeners afterwards. */
static void stop_listener(struct listener *l, int n) {
  for (int i = 0; i < n; i++) epoll_ctl(workers[i].epfd, EPOLL_CTL_DEL, l->end.fd, NULL);
  close_fd(&l->end.fd);
  l->closed = true;
  l->pending = (1u << n) - 1;
}

/* Without worker locks: queues stopped listeners (linked by `next`) to be
 * freed once every worker has finished a batch, and wakes the workers so
 * they do. */
static void bury_listeners(struct listener *gone, int n) {
  if (!gone) return;
  pthread_mutex_lock(&dead_lock);
  while (gone) {
    struct listener *l = gone;
    gone = l->next;
    l->next = dead;
    dead = l;
  }
  pthread_mutex_unlock(&dead_lock);
  uint64_t one = 1;
  for (int i = 0; i < n; i++)
    if (write(workers[i].wakefd, &one, sizeof one) < 0) { /* EAGAIN: already woken */ }
}

static void lock_all(int n) {
  for (int i = 0; i < n; i++) pthread_mutex_lock(&workers[i].lock);
}

static void unlock_all(int n) {
  for (int i = n - 1; i >= 0; i--) pthread_mutex_unlock(&workers[i].lock);
}

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
  int n = start_workers(&err);
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
  lock_all(n);
  for (int i = 0; i < n && err == 0; i++) err = watch(&workers[i], &l->end, EPOLLIN | EPOLLET | EPOLLEXCLUSIVE);
  if (err != 0) {
    stop_listener(l, n); /* a worker may already hold an event naming it */
    unlock_all(n);
    bury_listeners(l, n);
    berth_throw_errno(env, err, "epoll_ctl", "watch %s:%u", host, port);
    goto out;
  }
  l->next = listeners;
  listeners = l;
  unlock_all(n);
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
  uint32_t group, closed = 0;
  if (!args_get(env, info, 1, argv) || !args_uint32(env, argv[0], "relayCloseGroup: group", &group)) return NULL;
  int n = running_workers();
  struct listener *gone = NULL;
  lock_all(n);
  for (struct listener **at = &listeners; *at;) {
    struct listener *l = *at;
    if (l->group != group) {
      at = &l->next;
      continue;
    }
    *at = l->next;
    stop_listener(l, n);
    l->next = gone;
    gone = l;
  }
  for (int i = 0; i < n; i++) {
    for (struct pair *p = workers[i].live, *next; p; p = next) {
      next = p->next;
      if (p->group == group) {
        close_pair(p);
        closed++;
      }
    }
  }
  unlock_all(n);
  bury_listeners(gone, n);
  NAPI_CALL(env, napi_create_uint32(env, closed, &result));
  return result;
}

/* relayCount(): pairs open now (for leak checks). */
static napi_value js_relay_count(napi_env env, napi_callback_info info) {
  napi_value result;
  int n = running_workers();
  uint32_t count = 0;
  for (int i = 0; i < n; i++) count += (uint32_t)__atomic_load_n(&workers[i].count, __ATOMIC_RELAXED);
  NAPI_CALL(env, napi_create_uint32(env, count, &result));
  return result;
}

void berth_init_relay(napi_env env, napi_value exports) {
  berth_export(env, exports, "relayListen", js_relay_listen);
  berth_export(env, exports, "relayCloseGroup", js_relay_close_group);
  berth_export(env, exports, "relayCount", js_relay_count);
}
