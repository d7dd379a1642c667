/*
 * rtnetlink requests: build one message, send it, wait for the kernel's ack.
 *
 * Hand-rolled rather than libmnl: the agent sends four kinds of small
 * request (a new veth pair, an address, a route, a link deletion), each a
 * header and a few attributes, and reads only acks. That is a page of code;
 * libmnl would save little of it and add a shared library to the guest
 * image of each architecture (and to the arm64 cross-build).
 *
 * No N-API here: these run on worker threads (veth.c).
 */
#ifndef BERTH_RTNL_H
#define BERTH_RTNL_H

#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <stddef.h>
#include <stdint.h>

/* One request being built: a netlink header and its payload, in place. */
struct rtnl_msg {
  union {
    struct nlmsghdr h;
    char bytes[1024];
  } u;
  int overflow; /* set when an attribute did not fit: rtnl_talk refuses the message */
};

/* Starts a request of `type` (RTM_NEWLINK...) with `flags` besides REQUEST|ACK, and a
 * zeroed family header of `hdr_len` bytes, returned for the caller to fill. */
void *rtnl_begin(struct rtnl_msg *m, uint16_t type, uint16_t flags, size_t hdr_len);
void rtnl_put(struct rtnl_msg *m, uint16_t type, const void *data, size_t len);
void rtnl_put_u32(struct rtnl_msg *m, uint16_t type, uint32_t v);
void rtnl_put_str(struct rtnl_msg *m, uint16_t type, const char *s);
/* A nested attribute: everything put until rtnl_nest_end goes inside it. */
struct rtattr *rtnl_nest(struct rtnl_msg *m, uint16_t type);
void rtnl_nest_end(struct rtnl_msg *m, struct rtattr *nest);

/* A NETLINK_ROUTE socket in the calling thread's network namespace, asking for
 * the kernel's own words with errors (extended acks). -1 with errno on failure. */
int rtnl_open(void);

/* Sends `m` on `fd` and waits for its ack: 0, or the kernel's positive errno.
 * `why` receives the kernel's extended-ack text, if any ("" when none). */
int rtnl_talk(int fd, struct rtnl_msg *m, char *why, size_t why_len);

#endif
