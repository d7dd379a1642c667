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
 *    (relay_close_fd forgets it); JavaScript never sees them.
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
 *
 * The files, by concern:
 *  - relay_pump.c: a relayed connection (a pair): connecting upstream,
 *    moving bytes both ways with splice, half-closes, closing.
 *  - relay_workers.c: the worker threads, their epoll loop and accepting.
 *  - relay_listeners.c: a listener's life: added to every worker, closed
 *    with its group's pairs, freed once no worker can name it.
 *  - relay_bindings.c: the JavaScript functions (relayListen,
 *    relayCloseGroup, relayCount) and their arguments.
 *  This header holds what they share: the limits, the structures and the
 *  functions one file calls in another.
 */
#ifndef BERTH_RELAY_H
#define BERTH_RELAY_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

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

/* relay_workers.c */

/* The worker threads, indexed 0..n-1 for the n relay_running_workers() gives. */
extern struct worker relay_workers[RELAY_MAX_WORKERS];

/* Starts the workers once; returns how many run (0: *err says why). */
int relay_start_workers(int *err);
/* How many workers run (without starting any). */
int relay_running_workers(void);
/* Adds `e`'s fd to w's epoll set. Returns 0 or an errno. */
int relay_watch(struct worker *w, struct end *e, uint32_t events);
void relay_close_fd(int *fd);

/* relay_pump.c */

/* Under w's lock: relays the accepted socket `fd` (now owned by the pair) to
 * the listener's target. */
void relay_start_pair(struct worker *w, int fd, const struct listener *l);
/* Under p's worker's lock: moves both flows; closes the pair when it is over. */
void relay_serve(struct pair *p);
/* Under p's worker's lock: the upstream connect finished (or failed). */
bool relay_finish_connect(struct pair *p);
/* Under p's worker's lock: removes the pair from epoll and its worker's live
 * list, closes its fds and leaves the memory to the worker. */
void relay_close_pair(struct pair *p);
/* Under w's lock: the pair's memory goes to w's graveyard, freed after the batch. */
void relay_bury(struct pair *p);

/* relay_listeners.c */

/* Links a new listener (its end, group and target set) into every running
 * worker's epoll set. Returns 0, or an errno after undoing it (the listener
 * is then freed later, as a closed one). */
int relay_add_listener(struct listener *l, int n);
/* Closes the group's listener and every pair it accepted; returns how many pairs. */
uint32_t relay_close_group(uint32_t group);
/* Pairs open now, across the workers. */
uint32_t relay_count(void);
/* After a worker's batch: frees the listeners no worker can still name. */
void relay_reap_listeners(struct worker *w);

#endif
