#include "rtnl.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static char *tail(struct rtnl_msg *m) { return m->u.bytes + NLMSG_ALIGN(m->u.h.nlmsg_len); }

static int fits(struct rtnl_msg *m, size_t more) {
  if (NLMSG_ALIGN(m->u.h.nlmsg_len) + RTA_ALIGN(more) <= sizeof m->u.bytes) return 1;
  m->overflow = 1;
  return 0;
}

void *rtnl_begin(struct rtnl_msg *m, uint16_t type, uint16_t flags, size_t hdr_len) {
  memset(m, 0, sizeof *m);
  m->u.h.nlmsg_len = NLMSG_LENGTH(hdr_len);
  m->u.h.nlmsg_type = type;
  m->u.h.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | flags;
  return NLMSG_DATA(&m->u.h);
}

void rtnl_put(struct rtnl_msg *m, uint16_t type, const void *data, size_t len) {
  if (!fits(m, RTA_LENGTH(len))) return;
  struct rtattr *a = (struct rtattr *)tail(m);
  a->rta_type = type;
  a->rta_len = RTA_LENGTH(len);
  if (len) memcpy(RTA_DATA(a), data, len);
  m->u.h.nlmsg_len = NLMSG_ALIGN(m->u.h.nlmsg_len) + RTA_ALIGN(a->rta_len);
}

void rtnl_put_u32(struct rtnl_msg *m, uint16_t type, uint32_t v) { rtnl_put(m, type, &v, sizeof v); }

void rtnl_put_str(struct rtnl_msg *m, uint16_t type, const char *s) { rtnl_put(m, type, s, strlen(s) + 1); }

struct rtattr *rtnl_nest(struct rtnl_msg *m, uint16_t type) {
  struct rtattr *a = (struct rtattr *)tail(m);
  rtnl_put(m, type, NULL, 0);
  return a;
}

void rtnl_nest_end(struct rtnl_msg *m, struct rtattr *nest) {
  if (!m->overflow) nest->rta_len = (unsigned short)(tail(m) - (char *)nest);
}

int rtnl_open(void) {
  int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
  if (fd < 0) return -1;
  int one = 1;
  /* Best effort: without them the errno alone names the failure. */
  setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof one);
  setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof one);
  return fd;
}

/* The NLMSGERR_ATTR_MSG of an extended ack, copied into `why`. */
static void ack_text(const struct nlmsghdr *h, char *why, size_t why_len) {
  if (!(h->nlmsg_flags & NLM_F_ACK_TLVS)) return;
  const struct nlmsgerr *e = NLMSG_DATA(h);
  /* With NETLINK_CAP_ACK the original message is not echoed past its header. */
  size_t off = NLMSG_HDRLEN + sizeof *e + ((h->nlmsg_flags & NLM_F_CAPPED) ? 0 : e->msg.nlmsg_len - NLMSG_HDRLEN);
  if (off >= h->nlmsg_len) return;
  const struct rtattr *a = (const struct rtattr *)((const char *)h + NLMSG_ALIGN(off));
  int left = (int)(h->nlmsg_len - NLMSG_ALIGN(off));
  for (; RTA_OK(a, left); a = RTA_NEXT(a, left)) {
    if (a->rta_type != NLMSGERR_ATTR_MSG) continue;
    snprintf(why, why_len, "%.*s", (int)RTA_PAYLOAD(a), (const char *)RTA_DATA(a));
    return;
  }
}

int rtnl_talk(int fd, struct rtnl_msg *m, char *why, size_t why_len) {
  static __thread uint32_t seq;
  if (why_len) why[0] = '\0';
  if (m->overflow) return EMSGSIZE;
  m->u.h.nlmsg_seq = ++seq;
  struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
  ssize_t n;
  do n = sendto(fd, &m->u.h, m->u.h.nlmsg_len, 0, (struct sockaddr *)&kernel, sizeof kernel);
  while (n < 0 && errno == EINTR);
  if (n < 0) return errno;
  for (;;) {
    union {
      struct nlmsghdr h;
      char bytes[8192];
    } r;
    do n = recv(fd, r.bytes, sizeof r.bytes, 0);
    while (n < 0 && errno == EINTR);
    if (n < 0) return errno;
    int left = (int)n;
    for (struct nlmsghdr *h = &r.h; NLMSG_OK(h, left); h = NLMSG_NEXT(h, left)) {
      if (h->nlmsg_seq != m->u.h.nlmsg_seq || h->nlmsg_type != NLMSG_ERROR) continue;
      const struct nlmsgerr *e = NLMSG_DATA(h);
      if (e->error) ack_text(h, why, why_len);
      return -e->error;
    }
  }
}
