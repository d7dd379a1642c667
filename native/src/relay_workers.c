/*
 * The port relay's worker threads: started with the first listener (one per
 * CPU, at most RELAY_MAX_WORKERS), each running an epoll loop that accepts
 * on the listeners and serves the pairs it accepted. See relay.h for the
 * design.
 */
#include <errno.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "relay.h"

struct worker relay_workers[RELAY_MAX_WORKERS];

static pthread_mutex_t start_lock = PTHREAD_MUTEX_INITIALIZER;
static int started; /* workers running; guarded by start_lock, never shrinks */

void relay_close_fd(int *fd) {
  if (*fd >= 0) close(*fd);
  *fd = -1;
}

int relay_watch(struct worker *w, struct end *e, uint32_t events) {
  struct epoll_event ev = {.events = events, .data.ptr = e};
  return epoll_ctl(w->epfd, EPOLL_CTL_ADD, e->fd, &ev) == 0 ? 0 : errno;
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
    relay_start_pair(w, fd, l);
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
    if (!relay_finish_connect(p)) {
      relay_close_pair(p);
      return;
    }
  }
  relay_serve(p);
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
      if (p->closed) relay_bury(p);
      else relay_serve(p);
    }
    while (w->graveyard) {
      struct pair *p = w->graveyard;
      w->graveyard = p->next;
      free(p);
    }
    pthread_mutex_unlock(&w->lock);
    relay_reap_listeners(w);
  }
  return NULL;
}

int relay_start_workers(int *err) {
  pthread_mutex_lock(&start_lock);
  if (started == 0) {
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    int want = cpus < 1 ? 1 : cpus > RELAY_MAX_WORKERS ? RELAY_MAX_WORKERS : (int)cpus;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&attr, 64 * 1024);
    while (started < want) {
      struct worker *w = &relay_workers[started];
      pthread_t t;
      struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
      w->index = started;
      w->epfd = epoll_create1(EPOLL_CLOEXEC);
      w->wakefd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
      if (w->epfd < 0 || w->wakefd < 0 || epoll_ctl(w->epfd, EPOLL_CTL_ADD, w->wakefd, &ev) != 0) {
        *err = errno;
        relay_close_fd(&w->epfd);
        relay_close_fd(&w->wakefd);
        break;
      }
      pthread_mutex_init(&w->lock, NULL);
      if ((*err = pthread_create(&t, &attr, run_worker, w)) != 0) {
        pthread_mutex_destroy(&w->lock);
        relay_close_fd(&w->epfd);
        relay_close_fd(&w->wakefd);
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

int relay_running_workers(void) {
  pthread_mutex_lock(&start_lock);
  int n = started;
  pthread_mutex_unlock(&start_lock);
  return n;
}
