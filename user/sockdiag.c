// SPDX-License-Identifier: GPL-2.0-only
/*
 * One dump per address family over NETLINK_SOCK_DIAG, filtered here: a
 * kernel-side filter (inet_diag bytecode) would save little on a host's
 * few hundred sockets and cost a small compiler.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <libmnl/libmnl.h>
#include <linux/inet_diag.h>
#include <linux/sock_diag.h>

#include "sockdiag.h"

/* A dump answers in messages of up to a page or so each, many per read. */
#define DIAG_BUF_SIZE (32 * 1024)

struct sock_list {
	struct host_sock *v;
	size_t n, cap;
};

static int sock_list_add(struct sock_list *l, const struct host_sock *h)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 64;
		struct host_sock *v = realloc(l->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = *h;
	return 0;
}

static int v6only_attr(const struct nlattr *attr, void *data)
{
	if (mnl_attr_get_type(attr) == INET_DIAG_SKV6ONLY &&
	    mnl_attr_get_payload_len(attr) >= 1)
		*(bool *)data = mnl_attr_get_u8(attr);
	return MNL_CB_OK;
}

/*
 * What an IPv6 socket holds: its IPv6 port (@v6), unless it is bound to
 * an IPv4-mapped address ::ffff:a.b.c.d, and the IPv4 port (@v4) of that
 * address, or of every one (0) when it is bound to :: without
 * IPV6_V6ONLY.  Sets @has4 when it takes IPv4, @has6 when IPv6.
 */
static void v6_holds(const struct nlmsghdr *nlh, const struct inet_diag_msg *m,
		     struct host_sock *v4, bool *has4, struct host_sock *v6,
		     bool *has6)
{
	const __be32 *a = m->id.idiag_src;
	bool v6only = false;	/* not said: as if it took both */

	*has4 = *has6 = false;
	if (!a[0] && !a[1] && a[2] == htonl(0xffff)) {
		v4->addr = a[3];
		*has4 = true;
		return;
	}
	memcpy(&v6->addr6, a, sizeof(v6->addr6));
	*has6 = true;
	if (a[0] || a[1] || a[2] || a[3])
		return;
	mnl_attr_parse(nlh, sizeof(*m), v6only_attr, &v6only);
	v4->addr = 0;
	*has4 = !v6only;
}

static int on_sock(const struct nlmsghdr *nlh, void *data)
{
	const struct inet_diag_msg *m = mnl_nlmsg_get_payload(nlh);
	struct host_sock v4 = { .family = AF_INET };
	struct host_sock v6 = { .family = AF_INET6 };
	struct sock_list *l = data;
	bool has4 = true, has6 = false;

	if (nlh->nlmsg_type != SOCK_DIAG_BY_FAMILY)
		return MNL_CB_OK;
	if (mnl_nlmsg_get_payload_len(nlh) < sizeof(*m)) {
		errno = EPROTO;
		return MNL_CB_ERROR;
	}
	if (!m->id.idiag_sport)
		return MNL_CB_OK;	/* a UDP socket bound to no port yet */
	v4.port = v6.port = m->id.idiag_sport;
	if (m->idiag_family == AF_INET)
		v4.addr = m->id.idiag_src[0];
	else
		v6_holds(nlh, m, &v4, &has4, &v6, &has6);
	if ((has4 && sock_list_add(l, &v4)) || (has6 && sock_list_add(l, &v6))) {
		errno = ENOMEM;
		return MNL_CB_ERROR;
	}
	return MNL_CB_OK;
}

static int dump_family(struct mnl_socket *sock, uint8_t family,
		       uint8_t proto, struct sock_list *l)
{
	static char buf[DIAG_BUF_SIZE];
	unsigned int portid = mnl_socket_get_portid(sock);
	struct inet_diag_req_v2 *req;
	struct nlmsghdr *nlh;
	ssize_t n;
	int ret;

	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = SOCK_DIAG_BY_FAMILY;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	nlh->nlmsg_seq = time(NULL) + family;
	req = mnl_nlmsg_put_extra_header(nlh, sizeof(*req));
	req->sdiag_family = family;
	req->sdiag_protocol = proto;
	/* A TCP port is held by its listener (a connection's port is the
	 * listener's or an ephemeral one); a UDP one by any socket bound to
	 * it, connected or not.
	 */
	req->idiag_states = proto == IPPROTO_TCP ? 1u << TCP_LISTEN : ~0u;
	if (mnl_socket_sendto(sock, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	errno = 0;
	do {
		n = mnl_socket_recvfrom(sock, buf, sizeof(buf));
		if (n < 0)
			return -errno;
		ret = mnl_cb_run(buf, n, nlh->nlmsg_seq, portid, on_sock, l);
	} while (ret > MNL_CB_STOP);
	return ret < 0 ? -(errno ? errno : EPROTO) : 0;
}

int host_socks(uint8_t proto, struct host_sock **out, size_t *count)
{
	struct sock_list l = {};
	struct mnl_socket *sock;
	int err;

	sock = mnl_socket_open(NETLINK_SOCK_DIAG);
	if (!sock)
		return -errno;
	if (mnl_socket_bind(sock, 0, MNL_SOCKET_AUTOPID) < 0) {
		err = -errno;
		goto out;
	}
	err = dump_family(sock, AF_INET, proto, &l);
	/* a kernel without IPv6 has no IPv6 socket to report */
	if (!err) {
		err = dump_family(sock, AF_INET6, proto, &l);
		if (err == -EAFNOSUPPORT || err == -ENOENT)
			err = 0;
	}
out:
	mnl_socket_close(sock);
	if (err) {
		free(l.v);
		return err;
	}
	*out = l.v;
	*count = l.n;
	return 0;
}
