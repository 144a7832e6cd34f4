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

static int sock_list_add(struct sock_list *l, uint32_t addr, uint16_t port)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 64;
		struct host_sock *v = realloc(l->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = (struct host_sock){ .addr = addr, .port = port };
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
 * The IPv4 address an IPv6 socket takes packets for: 0 for ::, the
 * address for ::ffff:a.b.c.d; false when it takes no IPv4 at all.
 */
static bool v6_takes_v4(const struct nlmsghdr *nlh,
			const struct inet_diag_msg *m, uint32_t *addr)
{
	const __be32 *a = m->id.idiag_src;
	bool v6only = false;	/* not said: as if it took both */

	if (!a[0] && !a[1] && a[2] == htonl(0xffff)) {
		*addr = a[3];
		return true;
	}
	if (a[0] || a[1] || a[2] || a[3])
		return false;
	mnl_attr_parse(nlh, sizeof(*m), v6only_attr, &v6only);
	*addr = 0;
	return !v6only;
}

static int on_sock(const struct nlmsghdr *nlh, void *data)
{
	const struct inet_diag_msg *m = mnl_nlmsg_get_payload(nlh);
	struct sock_list *l = data;
	uint32_t addr;

	if (nlh->nlmsg_type != SOCK_DIAG_BY_FAMILY)
		return MNL_CB_OK;
	if (mnl_nlmsg_get_payload_len(nlh) < sizeof(*m)) {
		errno = EPROTO;
		return MNL_CB_ERROR;
	}
	if (!m->id.idiag_sport)
		return MNL_CB_OK;	/* a UDP socket bound to no port yet */
	if (m->idiag_family == AF_INET)
		addr = m->id.idiag_src[0];
	else if (!v6_takes_v4(nlh, m, &addr))
		return MNL_CB_OK;
	if (sock_list_add(l, addr, m->id.idiag_sport)) {
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
