/*
 * TCP relay in the kernel: published ports move bytes between the accepted
 * client socket and a connection to the container with splice(2) through a
 * pipe, so no byte is copied into user space (docker-proxy does the same:
 * Go's io.Copy between TCP connections splices on Linux).
 *
 * Worker threads (one per CPU, at most RELAY_MAX_WORKERS), started on first
 * use, each run an epoll loop over their share of the connection pairs (a
 * new pair goes to the worker with the fewest); sockets are edge-triggered
 * and drained to EAGAIN. Several threads, as Go's runtime has for
 * docker-proxy, so concurrent transfers use every core and a busy machine's
 * scheduler gives the relay a share per transfer, not one for all.
 *
 * Ownership and closing:
 *  - relayAdd dups the client fd it is given (the caller still owns and
 *    closes its own), creates the upstream socket, and from then on the
 *    relay owns both sockets and both pipes: each is closed exactly once, by
 *    close_pair, and nothing else ever closes them.
 *  - A direction ends when its source reads EOF and its pipe is drained:
 *    the destination is shut down for writing (half-close travels). The pair
 *    is closed when both directions have ended, or at once on any error
 *    (connect refused, reset, broken pipe); unsent data is then dropped and
 *    the kernel resets the connection, as a userland proxy's destroy would.
 *  - relayCloseGroup closes every pair of a listener at once (its ports are
 *    being unpublished).
 *  - Writing to a peer that has gone raises SIGPIPE; Node ignores it
 *    process-wide, so splice just fails with EPIPE and the pair closes.
 *
 * Threads: a worker's `lock` guards its pair list and its pairs' state. The
 * worker takes it per event; the JavaScript thread takes it to add or close
 * pairs. A pair closed by either thread is removed from epoll and its fds
 * closed at once, but its memory is freed by its worker only after the
 * batch of events it is processing (which may still name the pair) is done.
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

struct pair;

struct worker {
  pthread_mutex_t lock;
  int epfd;
  struct pair *live;      /* guarded by lock */
  struct pair *graveyard; /* closed, freed by the worker after its batch */
  struct pair *again;     /* used its turn with data left; worker only */
  size_t count;           /* live pairs; atomic, read without the lock */
};

/* One socket of a pair, as epoll sees it. */
struct end {
  struct pair *pair;
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

static pthread_mutex_t start_lock = PTHREAD_MUTEX_INITIALIZER;
static struct worker workers[RELAY_MAX_WORKERS];
static int started; /* workers running; guarded by start_lock */

static void close_fd(int *fd) {
  if (*fd >= 0) close(*fd);
  *fd = -1;
}

static void bury(struct pair *p) {
  p->next = p->w->graveyard;
  p->w->graveyard = p;
}

/* Under its worker's lock. Removes the pair from epoll and the live list,
 * closes its fds (each exactly once: close_fd forgets it) and leaves the
 * memory to the worker. */
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

/* Under lock: the upstream connect finished (or failed). */
static bool finish_connect(struct pair *p) {
  int err = 0;
  socklen_t len = sizeof err;
  if (getsockopt(p->upstream.fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0) return false;
  p->connecting = false;
  return true;
}

/* Under lock: moves both flows (either end's readiness may unblock both:
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

/* Under lock: one epoll event for end `e`. */
static void on_event(struct end *e, uint32_t events) {
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

static void *run_worker(void *arg) {
  struct worker *w = arg;
  struct epoll_event events[RELAY_BATCH];
  for (;;) {
    int n = epoll_wait(w->epfd, events, RELAY_BATCH, w->again ? 0 : -1);
    if (n < 0 && errno != EINTR) abort(); /* only EBADF/EINVAL: a bug */
    for (int i = 0; i < n; i++) {
      pthread_mutex_lock(&w->lock);
      on_event(events[i].data.ptr, events[i].events);
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
      w->epfd = epoll_create1(EPOLL_CLOEXEC);
      if (w->epfd < 0) {
        *err = errno;
        break;
      }
      pthread_mutex_init(&w->lock, NULL);
      if ((*err = pthread_create(&t, &attr, run_worker, w)) != 0) {
        pthread_mutex_destroy(&w->lock);
        close(w->epfd);
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

/* The worker with the fewest pairs. */
static struct worker *pick_worker(int n) {
  struct worker *best = &workers[0];
  for (int i = 1; i < n; i++)
    if (__atomic_load_n(&workers[i].count, __ATOMIC_RELAXED) < __atomic_load_n(&best->count, __ATOMIC_RELAXED)) best = &workers[i];
  return best;
}

static int watch(struct end *e) {
  struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, .data.ptr = e};
  return epoll_ctl(e->pair->w->epfd, EPOLL_CTL_ADD, e->fd, &ev) == 0 ? 0 : errno;
}

/*
 * relayAdd(clientFd, host, port, group): relays a dup of clientFd to
 * host:port (an IPv4 or IPv6 literal). Throws if the pair cannot be set
 * up (out of fds, bad address); a refused connect later just closes it.
 */
static napi_value js_relay_add(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  uint32_t client_fd, port, group;
  char *host = NULL;
  if (!args_get(env, info, 4, argv) || !args_uint32(env, argv[0], "relayAdd: fd", &client_fd) ||
      !args_string(env, argv[1], "relayAdd: host", &host))
    return NULL;
  if (!args_uint32(env, argv[2], "relayAdd: port", &port) || !args_uint32(env, argv[3], "relayAdd: group", &group) ||
      port == 0 || port > 65535) {
    free(host);
    return port == 0 || port > 65535 ? berth_throw_type(env, "relayAdd: port must be 1-65535") : NULL;
  }

  struct sockaddr_storage addr = {0};
  socklen_t addrlen;
  struct sockaddr_in *v4 = (struct sockaddr_in *)&addr;
  struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&addr;
  if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons((uint16_t)port);
    addrlen = sizeof *v4;
  } else if (inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons((uint16_t)port);
    addrlen = sizeof *v6;
  } else {
    napi_value e = berth_throw_type(env, "relayAdd: host `%s` is not an IP address", host);
    free(host);
    return e;
  }

  int err = 0;
  int nworkers = start_workers(&err);
  if (nworkers == 0) {
    berth_throw_errno(env, err, "pthread_create", "start the relay threads for %s:%u", host, port);
    free(host);
    return NULL;
  }
  struct pair *p = calloc(1, sizeof *p);
  if (!p) {
    berth_throw_errno(env, ENOMEM, "malloc", "relay to %s:%u", host, port);
    free(host);
    return NULL;
  }
  struct worker *w = pick_worker(nworkers);
  p->w = w;
  p->group = group;
  p->connecting = true;
  p->client = (struct end){p, -1};
  p->upstream = (struct end){p, -1};
  p->up = (struct flow){.from = &p->client, .to = &p->upstream, .pipe_r = -1, .pipe_w = -1};
  p->down = (struct flow){.from = &p->upstream, .to = &p->client, .pipe_r = -1, .pipe_w = -1};

  const char *step = "fcntl";
  int one = 1;
  pthread_mutex_lock(&w->lock);
  /* Linked first, so every failure below unwinds through close_pair. */
  p->next = w->live;
  if (w->live) w->live->prev = p;
  w->live = p;
  __atomic_fetch_add(&w->count, 1, __ATOMIC_RELAXED);
  p->client.fd = fcntl((int)client_fd, F_DUPFD_CLOEXEC, 0);
  if (p->client.fd < 0) {
    err = errno;
    goto fail;
  }
  /* The dup shares the file description: make sure it does not block. */
  int fl = fcntl(p->client.fd, F_GETFL);
  if (fl < 0 || fcntl(p->client.fd, F_SETFL, fl | O_NONBLOCK) != 0) {
    err = errno;
    goto fail;
  }
  step = "socket";
  p->upstream.fd = socket(addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (p->upstream.fd < 0) {
    err = errno;
    goto fail;
  }
  setsockopt(p->client.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  setsockopt(p->upstream.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  step = "connect";
  if (connect(p->upstream.fd, (struct sockaddr *)&addr, addrlen) != 0 && errno != EINPROGRESS) {
    /* Refused at once (rare for TCP): the same as a later refusal. */
    close_pair(p);
    pthread_mutex_unlock(&w->lock);
    free(host);
    return NULL;
  }
  step = "epoll_ctl";
  if ((err = watch(&p->client)) != 0 || (err = watch(&p->upstream)) != 0) goto fail;
  pthread_mutex_unlock(&w->lock);
  free(host);
  return NULL;

fail:
  close_pair(p);
  pthread_mutex_unlock(&w->lock);
  berth_throw_errno(env, err, step, "relay fd %u to %s:%u", client_fd, host, port);
  free(host);
  return NULL;
}

/* relayCloseGroup(group): closes every pair added with `group`; returns how many. */
static napi_value js_relay_close_group(napi_env env, napi_callback_info info) {
  napi_value argv[1], result;
  uint32_t group, closed = 0;
  if (!args_get(env, info, 1, argv) || !args_uint32(env, argv[0], "relayCloseGroup: group", &group)) return NULL;
  int n = running_workers();
  for (int i = 0; i < n; i++) {
    struct worker *w = &workers[i];
    pthread_mutex_lock(&w->lock);
    for (struct pair *p = w->live, *next; p; p = next) {
      next = p->next;
      if (p->group == group) {
        close_pair(p);
        closed++;
      }
    }
    pthread_mutex_unlock(&w->lock);
  }
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
  berth_export(env, exports, "relayAdd", js_relay_add);
  berth_export(env, exports, "relayCloseGroup", js_relay_close_group);
  berth_export(env, exports, "relayCount", js_relay_count);
}
