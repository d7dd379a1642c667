/*
 * The port relay's connections: one pair per accepted client, its upstream
 * connect to the container, and the bytes moved both ways through a pipe
 * with splice(2), half-closes passed on. The whole design (threads,
 * ownership, when memory is freed) is described in relay.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "relay.h"

void relay_bury(struct pair *p) {
  p->next = p->w->graveyard;
  p->w->graveyard = p;
}

void relay_close_pair(struct pair *p) {
  struct worker *w = p->w;
  if (p->closed) return;
  p->closed = true;
  if (p->client.fd >= 0) epoll_ctl(w->epfd, EPOLL_CTL_DEL, p->client.fd, NULL);
  if (p->upstream.fd >= 0) epoll_ctl(w->epfd, EPOLL_CTL_DEL, p->upstream.fd, NULL);
  relay_close_fd(&p->client.fd);
  relay_close_fd(&p->upstream.fd);
  relay_close_fd(&p->up.pipe_r);
  relay_close_fd(&p->up.pipe_w);
  relay_close_fd(&p->down.pipe_r);
  relay_close_fd(&p->down.pipe_w);
  if (p->prev) p->prev->next = p->next;
  else w->live = p->next;
  if (p->next) p->next->prev = p->prev;
  __atomic_fetch_sub(&w->count, 1, __ATOMIC_RELAXED);
  p->prev = NULL;
  p->next = NULL;
  if (!p->again) relay_bury(p);
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

bool relay_finish_connect(struct pair *p) {
  int err = 0;
  socklen_t len = sizeof err;
  if (getsockopt(p->upstream.fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0) return false;
  p->connecting = false;
  return true;
}

/* Either end's readiness may unblock both flows (read from it, write to it),
 * so both are pumped. A flow that used its turn with bytes left puts the pair
 * on the worker's `again` list, served after the current batch. */
void relay_serve(struct pair *p) {
  bool more = false;
  if (!pump(&p->up, &more) || !pump(&p->down, &more) || (p->up.done && p->down.done)) {
    relay_close_pair(p);
  } else if (more && !p->again) {
    p->again = true;
    p->again_next = p->w->again;
    p->w->again = p;
  }
}

/* On failure everything is closed: the client sees its connection end, as
 * when the container refuses it. */
void relay_start_pair(struct worker *w, int fd, const struct listener *l) {
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
  /* Linked first, so every failure below unwinds through relay_close_pair. */
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
  if (relay_watch(w, &p->client, ev) != 0 || relay_watch(w, &p->upstream, ev) != 0) goto fail;
  return;
fail:
  relay_close_pair(p);
}
