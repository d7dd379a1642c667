/*
 * The port relay's listeners: each is in every worker's epoll set, so
 * adding or closing one takes every worker's lock, in index order (only the
 * JavaScript thread takes more than one, so no deadlock). A closed listener
 * leaves epoll and has its fd closed at once; its memory waits until every
 * worker has finished a batch since, so none still holds its pointer. See
 * relay.h for the design.
 */
#include <stdlib.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "relay.h"

static struct listener *listeners; /* changed only with every worker's lock held */
static pthread_mutex_t dead_lock = PTHREAD_MUTEX_INITIALIZER;
static struct listener *dead; /* guarded by dead_lock */

static void lock_all(int n) {
  for (int i = 0; i < n; i++) pthread_mutex_lock(&relay_workers[i].lock);
}

static void unlock_all(int n) {
  for (int i = n - 1; i >= 0; i--) pthread_mutex_unlock(&relay_workers[i].lock);
}

/* With every worker's lock held: no worker watches or accepts on `l` any
 * more; its fd is closed. Its memory goes to bury_listeners afterwards. */
static void stop_listener(struct listener *l, int n) {
  for (int i = 0; i < n; i++) epoll_ctl(relay_workers[i].epfd, EPOLL_CTL_DEL, l->end.fd, NULL);
  relay_close_fd(&l->end.fd);
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
    if (write(relay_workers[i].wakefd, &one, sizeof one) < 0) { /* EAGAIN: already woken */ }
}

void relay_reap_listeners(struct worker *w) {
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

int relay_add_listener(struct listener *l, int n) {
  int err = 0;
  lock_all(n);
  for (int i = 0; i < n && err == 0; i++) err = relay_watch(&relay_workers[i], &l->end, EPOLLIN | EPOLLET | EPOLLEXCLUSIVE);
  if (err != 0) {
    stop_listener(l, n); /* a worker may already hold an event naming it */
    unlock_all(n);
    bury_listeners(l, n);
    return err;
  }
  l->next = listeners;
  listeners = l;
  unlock_all(n);
  return 0;
}

uint32_t relay_close_group(uint32_t group) {
  uint32_t closed = 0;
  int n = relay_running_workers();
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
    for (struct pair *p = relay_workers[i].live, *next; p; p = next) {
      next = p->next;
      if (p->group == group) {
        relay_close_pair(p);
        closed++;
      }
    }
  }
  unlock_all(n);
  bury_listeners(gone, n);
  return closed;
}

uint32_t relay_count(void) {
  int n = relay_running_workers();
  uint32_t count = 0;
  for (int i = 0; i < n; i++) count += (uint32_t)__atomic_load_n(&relay_workers[i].count, __ATOMIC_RELAXED);
  return count;
}
