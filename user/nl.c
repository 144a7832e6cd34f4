// SPDX-License-Identifier: GPL-2.0-only
/*
 * rtnetlink requests, built the way iproute2 builds them.  nl_request() is
 * the only place that talks to the socket: it sends, reads until the
 * acknowledgement (or the end of a dump), and turns an error message into
 * -errno plus the kernel's extended-ack text.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/ip.h>
#include <linux/neighbour.h>
#include <linux/netlink.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>

#include "nl.h"

/* Dumps of a few thousand links need room; the kernel fills what fits. */
#define NL_BUF_SIZE (64 * 1024)

#ifndef IN6_ADDR_GEN_MODE_NONE
#define IN6_ADDR_GEN_MODE_NONE 1
#endif

int nl_open(struct nl *nl)
{
	int one = 1, err;

	memset(nl, 0, sizeof(*nl));
	nl->sock = mnl_socket_open(NETLINK_ROUTE);
	if (!nl->sock)
		return -errno;
	if (mnl_socket_bind(nl->sock, 0, MNL_SOCKET_AUTOPID) < 0)
		goto fail;
	/* Ask for the kernel's error text, and only the header of the
	 * failed request back with it.
	 */
	mnl_socket_setsockopt(nl->sock, NETLINK_EXT_ACK, &one, sizeof(one));
	mnl_socket_setsockopt(nl->sock, NETLINK_CAP_ACK, &one, sizeof(one));
	nl->portid = mnl_socket_get_portid(nl->sock);
	nl->seq = time(NULL);
	return 0;
fail:
	err = -errno;
	mnl_socket_close(nl->sock);
	nl->sock = NULL;
	return err;
}

void nl_close(struct nl *nl)
{
	if (nl->sock)
		mnl_socket_close(nl->sock);
	nl->sock = NULL;
}

const char *nl_strerror(const struct nl *nl, int err)
{
	static char buf[512];

	if (nl && nl->extack[0])
		snprintf(buf, sizeof(buf), "%s (%s)", strerror(-err),
			 nl->extack);
	else
		snprintf(buf, sizeof(buf), "%s", strerror(-err));
	return buf;
}

static uint32_t plen_mask(int plen)
{
	return plen ? htonl(~0u << (32 - plen)) : 0;
}

struct request {
	struct nl *nl;
	mnl_cb_t cb;
	void *data;
	int err;
};

static int extack_attr(const struct nlattr *attr, void *data)
{
	struct nl *nl = data;

	if (mnl_attr_get_type(attr) == NLMSGERR_ATTR_MSG &&
	    mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) == 0)
		snprintf(nl->extack, sizeof(nl->extack), "%s",
			 mnl_attr_get_str(attr));
	return MNL_CB_OK;
}

static int on_error(const struct nlmsghdr *nlh, void *data)
{
	struct request *req = data;
	const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);
	unsigned int off = sizeof(*nlh) + sizeof(*e);

	if (nlh->nlmsg_len < off)
		return MNL_CB_ERROR;
	if (e->error == 0)
		return MNL_CB_STOP;		/* the acknowledgement */

	/* Extended ack attributes follow the echoed request. */
	if (!(nlh->nlmsg_flags & NLM_F_CAPPED))
		off += e->msg.nlmsg_len - sizeof(e->msg);
	if (nlh->nlmsg_flags & NLM_F_ACK_TLVS)
		mnl_attr_parse(nlh, off - sizeof(*nlh), extack_attr, req->nl);
	req->err = e->error;
	return MNL_CB_ERROR;
}

static int on_done(const struct nlmsghdr *nlh, void *data)
{
	struct request *req = data;
	const int *err = mnl_nlmsg_get_payload(nlh);

	if (mnl_nlmsg_get_payload_len(nlh) >= sizeof(*err) && *err < 0) {
		req->err = *err;
		return MNL_CB_ERROR;
	}
	return MNL_CB_STOP;
}

static int on_data(const struct nlmsghdr *nlh, void *data)
{
	struct request *req = data;

	return req->cb ? req->cb(nlh, req->data) : MNL_CB_OK;
}

static bool is_dump(const struct nlmsghdr *nlh)
{
	/* rtnetlink types come in fours: NEW, DEL, GET, SET */
	bool get = (nlh->nlmsg_type - RTM_BASE) % 4 == 2;

	return get && (nlh->nlmsg_flags & NLM_F_DUMP) == NLM_F_DUMP;
}

/*
 * Send @nlh and read replies, each through @cb, until the kernel
 * acknowledges the request or ends the dump.  Returns 0 or -errno.
 */
static int nl_request(struct nl *nl, struct nlmsghdr *nlh, mnl_cb_t cb,
		      void *data)
{
	static mnl_cb_t ctl[NLMSG_MIN_TYPE] = {
		[NLMSG_ERROR] = on_error,
		[NLMSG_DONE] = on_done,
	};
	struct request req = { .nl = nl, .cb = cb, .data = data };
	static char buf[NL_BUF_SIZE];
	ssize_t n;
	int ret;

	nl->extack[0] = '\0';
	nlh->nlmsg_seq = ++nl->seq;
	/* A dump ends with NLMSG_DONE; everything else asks for an ack.
	 * (NLM_F_DUMP's bits mean CREATE/EXCL on other requests.)
	 */
	if (!is_dump(nlh))
		nlh->nlmsg_flags |= NLM_F_ACK;
	if (mnl_socket_sendto(nl->sock, nlh, nlh->nlmsg_len) < 0)
		return -errno;

	errno = 0;
	do {
		n = mnl_socket_recvfrom(nl->sock, buf, sizeof(buf));
		if (n < 0)
			return -errno;
		ret = mnl_cb_run2(buf, n, nlh->nlmsg_seq, nl->portid, on_data,
				  &req, ctl, NLMSG_MIN_TYPE);
	} while (ret > MNL_CB_STOP);

	if (ret == MNL_CB_ERROR)
		return req.err ? req.err : (errno ? -errno : -EPROTO);
	return 0;
}

static struct nlmsghdr *msg_link(char *buf, uint16_t type, uint16_t flags,
				 int ifindex, struct ifinfomsg **ifm_out)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct ifinfomsg *ifm;

	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | flags;
	ifm = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifm));
	ifm->ifi_family = AF_UNSPEC;
	ifm->ifi_index = ifindex;
	if (ifm_out)
		*ifm_out = ifm;
	return nlh;
}

/*
 * A veth pair: @name here, @peer created directly inside the namespace of
 * @peer_netns_fd, as `ip link add NAME type veth peer PEER netns NS` does.
 */
int nl_veth_add(struct nl *nl, const char *name, const char *peer,
		int peer_netns_fd)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlattr *linkinfo, *data, *peer_attr;
	struct ifinfomsg *peer_ifm;
	struct nlmsghdr *nlh;

	nlh = msg_link(buf, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, 0, NULL);
	mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	linkinfo = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
	mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "veth");
	data = mnl_attr_nest_start(nlh, IFLA_INFO_DATA);
	peer_attr = mnl_attr_nest_start(nlh, VETH_INFO_PEER);
	/* The peer's attributes follow an ifinfomsg of its own. */
	peer_ifm = mnl_nlmsg_put_extra_header(nlh, sizeof(*peer_ifm));
	memset(peer_ifm, 0, sizeof(*peer_ifm));
	mnl_attr_put_strz(nlh, IFLA_IFNAME, peer);
	if (peer_netns_fd >= 0)
		mnl_attr_put_u32(nlh, IFLA_NET_NS_FD, peer_netns_fd);
	mnl_attr_nest_end(nlh, peer_attr);
	mnl_attr_nest_end(nlh, data);
	mnl_attr_nest_end(nlh, linkinfo);
	return nl_request(nl, nlh, NULL, NULL);
}

int nl_link_del(struct nl *nl, int ifindex)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];

	return nl_request(nl, msg_link(buf, RTM_DELLINK, 0, ifindex, NULL),
			  NULL, NULL);
}

int nl_link_set_up(struct nl *nl, int ifindex)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct ifinfomsg *ifm;
	struct nlmsghdr *nlh;

	nlh = msg_link(buf, RTM_NEWLINK, 0, ifindex, &ifm);
	ifm->ifi_flags = IFF_UP;
	ifm->ifi_change = IFF_UP;
	return nl_request(nl, nlh, NULL, NULL);
}

int nl_link_set_alias(struct nl *nl, int ifindex, const char *alias)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh;

	nlh = msg_link(buf, RTM_NEWLINK, 0, ifindex, NULL);
	mnl_attr_put_strz(nlh, IFLA_IFALIAS, alias);
	return nl_request(nl, nlh, NULL, NULL);
}

int nl_link_set_inet(struct nl *nl, int ifindex, bool forwarding,
		     bool proxy_arp)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlattr *af, *inet, *conf, *inet6;
	struct nlmsghdr *nlh;
	int err;

	nlh = msg_link(buf, RTM_NEWLINK, 0, ifindex, NULL);
	af = mnl_attr_nest_start(nlh, IFLA_AF_SPEC);
	inet = mnl_attr_nest_start(nlh, AF_INET);
	conf = mnl_attr_nest_start(nlh, IFLA_INET_CONF);
	mnl_attr_put_u32(nlh, IPV4_DEVCONF_FORWARDING, forwarding);
	mnl_attr_put_u32(nlh, IPV4_DEVCONF_PROXY_ARP, proxy_arp);
	mnl_attr_nest_end(nlh, conf);
	mnl_attr_nest_end(nlh, inet);
	mnl_attr_nest_end(nlh, af);
	err = nl_request(nl, nlh, NULL, NULL);
	if (err)
		return err;

	/* A request of its own: on a host without IPv6 it has no object. */
	nlh = msg_link(buf, RTM_NEWLINK, 0, ifindex, NULL);
	af = mnl_attr_nest_start(nlh, IFLA_AF_SPEC);
	inet6 = mnl_attr_nest_start(nlh, AF_INET6);
	mnl_attr_put_u8(nlh, IFLA_INET6_ADDR_GEN_MODE, IN6_ADDR_GEN_MODE_NONE);
	mnl_attr_nest_end(nlh, inet6);
	mnl_attr_nest_end(nlh, af);
	err = nl_request(nl, nlh, NULL, NULL);
	return err == -EAFNOSUPPORT || err == -EOPNOTSUPP ? 0 : err;
}

int nl_arp_proxy_delay(struct nl *nl, int ifindex, uint64_t msecs)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct nlattr *parms;
	struct ndtmsg *ndtm;

	nlh->nlmsg_type = RTM_SETNEIGHTBL;
	nlh->nlmsg_flags = NLM_F_REQUEST;
	ndtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*ndtm));
	ndtm->ndtm_family = AF_INET;
	mnl_attr_put_strz(nlh, NDTA_NAME, "arp_cache");
	parms = mnl_attr_nest_start(nlh, NDTA_PARMS);
	mnl_attr_put_u32(nlh, NDTPA_IFINDEX, ifindex);
	mnl_attr_put_u64(nlh, NDTPA_PROXY_DELAY, msecs);
	mnl_attr_nest_end(nlh, parms);
	return nl_request(nl, nlh, NULL, NULL);
}

static int linkinfo_attr(const struct nlattr *attr, void *data)
{
	struct nl_link *link = data;

	if (mnl_attr_get_type(attr) == IFLA_INFO_KIND &&
	    mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) == 0)
		snprintf(link->kind, sizeof(link->kind), "%s",
			 mnl_attr_get_str(attr));
	return MNL_CB_OK;
}

static int link_attr(const struct nlattr *attr, void *data)
{
	struct nl_link *link = data;

	switch (mnl_attr_get_type(attr)) {
	case IFLA_IFNAME:
		if (mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) == 0)
			snprintf(link->name, sizeof(link->name), "%s",
				 mnl_attr_get_str(attr));
		break;
	case IFLA_IFALIAS:
		if (mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) == 0)
			snprintf(link->alias, sizeof(link->alias), "%s",
				 mnl_attr_get_str(attr));
		break;
	case IFLA_ADDRESS:
		if (mnl_attr_get_payload_len(attr) == ETH_ALEN)
			memcpy(link->mac, mnl_attr_get_payload(attr),
			       ETH_ALEN);
		break;
	case IFLA_MTU:
		if (mnl_attr_validate(attr, MNL_TYPE_U32) == 0)
			link->mtu = mnl_attr_get_u32(attr);
		break;
	case IFLA_LINK:
		if (mnl_attr_validate(attr, MNL_TYPE_U32) == 0)
			link->peer_ifindex = mnl_attr_get_u32(attr);
		break;
	case IFLA_LINKINFO:
		mnl_attr_parse_nested(attr, linkinfo_attr, link);
		break;
	}
	return MNL_CB_OK;
}

static void link_parse(const struct nlmsghdr *nlh, struct nl_link *link)
{
	const struct ifinfomsg *ifm = mnl_nlmsg_get_payload(nlh);

	memset(link, 0, sizeof(*link));
	link->ifindex = ifm->ifi_index;
	link->flags = ifm->ifi_flags;
	mnl_attr_parse(nlh, sizeof(*ifm), link_attr, link);
}

static int link_one(const struct nlmsghdr *nlh, void *data)
{
	if (nlh->nlmsg_type == RTM_NEWLINK)
		link_parse(nlh, data);
	return MNL_CB_OK;
}

int nl_link_get(struct nl *nl, const char *name, struct nl_link *link)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh;

	nlh = msg_link(buf, RTM_GETLINK, 0, 0, NULL);
	mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	memset(link, 0, sizeof(*link));
	return nl_request(nl, nlh, link_one, link);
}

int nl_link_get_index(struct nl *nl, int ifindex, struct nl_link *link)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];

	memset(link, 0, sizeof(*link));
	return nl_request(nl, msg_link(buf, RTM_GETLINK, 0, ifindex, NULL),
			  link_one, link);
}

struct link_walk {
	nl_link_cb cb;
	void *data;
	int err;
};

static int link_each(const struct nlmsghdr *nlh, void *data)
{
	struct link_walk *w = data;
	struct nl_link link;

	if (nlh->nlmsg_type != RTM_NEWLINK || w->err)
		return MNL_CB_OK;
	link_parse(nlh, &link);
	w->err = w->cb(&link, w->data);
	return MNL_CB_OK;
}

int nl_link_dump(struct nl *nl, nl_link_cb cb, void *data)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct link_walk w = { .cb = cb, .data = data };
	int err;

	err = nl_request(nl, msg_link(buf, RTM_GETLINK, NLM_F_DUMP, 0, NULL),
			 link_each, &w);
	return err ? err : w.err;
}

/* RTM_NEWADDR of @family, @plen on @ifindex, with the address @len
 * bytes at @addr as both its local and its peer address.
 */
static struct nlmsghdr *msg_addr_new(char *buf, int family, int ifindex,
				     int plen, const void *addr, size_t len)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct ifaddrmsg *ifa;

	nlh->nlmsg_type = RTM_NEWADDR;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_CREATE | NLM_F_EXCL;
	ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
	ifa->ifa_family = family;
	ifa->ifa_prefixlen = plen;
	ifa->ifa_scope = RT_SCOPE_UNIVERSE;
	ifa->ifa_index = ifindex;
	mnl_attr_put(nlh, IFA_LOCAL, len, addr);
	mnl_attr_put(nlh, IFA_ADDRESS, len, addr);
	return nlh;
}

int nl_addr_add(struct nl *nl, int ifindex, uint32_t addr, int plen)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];

	return nl_request(nl, msg_addr_new(buf, AF_INET, ifindex, plen, &addr,
					   sizeof(addr)), NULL, NULL);
}

/* Looking for the first primary address, or for address @want. */
struct addr_find {
	int ifindex;
	uint32_t want;		/* 0: the first primary one */
	uint32_t addr;
	int plen;
	bool found;
};

static int addr_attr(const struct nlattr *attr, void *data)
{
	uint32_t *local = data;

	if (mnl_attr_get_type(attr) == IFA_LOCAL &&
	    mnl_attr_validate(attr, MNL_TYPE_U32) == 0)
		*local = mnl_attr_get_u32(attr);
	return MNL_CB_OK;
}

static int addr_each(const struct nlmsghdr *nlh, void *data)
{
	const struct ifaddrmsg *ifa = mnl_nlmsg_get_payload(nlh);
	struct addr_find *f = data;
	uint32_t local = 0;

	if (f->found || nlh->nlmsg_type != RTM_NEWADDR ||
	    ifa->ifa_family != AF_INET || (int)ifa->ifa_index != f->ifindex)
		return MNL_CB_OK;
	/* Secondary addresses come after the primary one; skip them. */
	if (!f->want && (ifa->ifa_flags & IFA_F_SECONDARY))
		return MNL_CB_OK;
	mnl_attr_parse(nlh, sizeof(*ifa), addr_attr, &local);
	if (!local || (f->want && local != f->want))
		return MNL_CB_OK;
	f->addr = local;
	f->plen = ifa->ifa_prefixlen;
	f->found = true;
	return MNL_CB_OK;
}

static int addr_find(struct nl *nl, struct addr_find *f)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct ifaddrmsg *ifa;
	int err;

	nlh->nlmsg_type = RTM_GETADDR;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
	ifa->ifa_family = AF_INET;
	err = nl_request(nl, nlh, addr_each, f);
	if (err)
		return err;
	return f->found ? 0 : -ENOENT;
}

/* Looking for an interface's first global IPv6 address. */
struct addr6_find {
	int ifindex;
	struct in6_addr addr;
	bool found;
};

static int addr6_attr(const struct nlattr *attr, void *data)
{
	struct in6_addr *a = data;

	if (mnl_attr_get_type(attr) == IFA_ADDRESS &&
	    mnl_attr_get_payload_len(attr) == sizeof(*a))
		memcpy(a, mnl_attr_get_payload(attr), sizeof(*a));
	return MNL_CB_OK;
}

static int addr6_each(const struct nlmsghdr *nlh, void *data)
{
	const struct ifaddrmsg *ifa = mnl_nlmsg_get_payload(nlh);
	struct addr6_find *f = data;
	struct in6_addr a = {};

	if (f->found || nlh->nlmsg_type != RTM_NEWADDR ||
	    ifa->ifa_family != AF_INET6 || (int)ifa->ifa_index != f->ifindex)
		return MNL_CB_OK;
	/* global scope (ULAs are, too), and one that lasts: not a
	 * duplicate DAD found, nor one whose lifetime is over, nor a
	 * temporary (privacy) address, which goes within days
	 */
	if (ifa->ifa_scope != RT_SCOPE_UNIVERSE ||
	    (ifa->ifa_flags & (IFA_F_DADFAILED | IFA_F_DEPRECATED |
			       IFA_F_TEMPORARY)))
		return MNL_CB_OK;
	mnl_attr_parse(nlh, sizeof(*ifa), addr6_attr, &a);
	if (IN6_IS_ADDR_UNSPECIFIED(&a))
		return MNL_CB_OK;
	f->addr = a;
	f->found = true;
	return MNL_CB_OK;
}

int nl_addr6_first(struct nl *nl, int ifindex, struct in6_addr *addr)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct addr6_find f = { .ifindex = ifindex };
	struct ifaddrmsg *ifa;
	int err;

	nlh->nlmsg_type = RTM_GETADDR;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
	ifa->ifa_family = AF_INET6;
	err = nl_request(nl, nlh, addr6_each, &f);
	if (err)
		return err;
	if (!f.found)
		return -ENOENT;
	*addr = f.addr;
	return 0;
}

struct addr_walk {
	nl_addr_cb cb;
	void *data;
	int err;
};

static int addr_walk_each(const struct nlmsghdr *nlh, void *data)
{
	const struct ifaddrmsg *ifa = mnl_nlmsg_get_payload(nlh);
	struct addr_walk *w = data;
	uint32_t local = 0;

	if (w->err || nlh->nlmsg_type != RTM_NEWADDR ||
	    ifa->ifa_family != AF_INET)
		return MNL_CB_OK;
	mnl_attr_parse(nlh, sizeof(*ifa), addr_attr, &local);
	if (local)
		w->err = w->cb(ifa->ifa_index, local, w->data);
	return MNL_CB_OK;
}

int nl_addr_dump(struct nl *nl, nl_addr_cb cb, void *data)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct addr_walk w = { .cb = cb, .data = data };
	struct ifaddrmsg *ifa;
	int err;

	nlh->nlmsg_type = RTM_GETADDR;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
	ifa->ifa_family = AF_INET;
	err = nl_request(nl, nlh, addr_walk_each, &w);
	return err ?: w.err;
}

struct addr6_walk {
	nl_addr6_cb cb;
	void *data;
	int err;
};

static int addr6_walk_each(const struct nlmsghdr *nlh, void *data)
{
	const struct ifaddrmsg *ifa = mnl_nlmsg_get_payload(nlh);
	struct addr6_walk *w = data;
	struct in6_addr a = {};

	if (w->err || nlh->nlmsg_type != RTM_NEWADDR ||
	    ifa->ifa_family != AF_INET6)
		return MNL_CB_OK;
	mnl_attr_parse(nlh, sizeof(*ifa), addr6_attr, &a);
	if (!IN6_IS_ADDR_UNSPECIFIED(&a))
		w->err = w->cb(ifa->ifa_index, &a, w->data);
	return MNL_CB_OK;
}

int nl_addr6_dump(struct nl *nl, nl_addr6_cb cb, void *data)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct addr6_walk w = { .cb = cb, .data = data };
	struct ifaddrmsg *ifa;
	int err;

	nlh->nlmsg_type = RTM_GETADDR;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
	ifa->ifa_family = AF_INET6;
	err = nl_request(nl, nlh, addr6_walk_each, &w);
	return err ?: w.err;
}

int nl_addr_first(struct nl *nl, int ifindex, uint32_t *addr)
{
	struct addr_find f = { .ifindex = ifindex };
	int err;

	err = addr_find(nl, &f);
	if (!err)
		*addr = f.addr;
	return err;
}

int nl_addr_plen(struct nl *nl, int ifindex, uint32_t addr)
{
	struct addr_find f = { .ifindex = ifindex, .want = addr };
	int err;

	err = addr_find(nl, &f);
	return err ? err : f.plen;
}

/* RTM_NEWROUTE of @family to a prefix of length @plen, in the main
 * table, a unicast route of @scope; the caller adds the attributes.
 */
static struct nlmsghdr *msg_route_new(char *buf, int family, int plen,
				      uint8_t scope)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct rtmsg *rtm;

	nlh->nlmsg_type = RTM_NEWROUTE;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_CREATE | NLM_F_EXCL;
	rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	rtm->rtm_family = family;
	rtm->rtm_dst_len = plen;
	rtm->rtm_table = RT_TABLE_MAIN;
	rtm->rtm_protocol = RTPROT_BOOT;
	rtm->rtm_scope = scope;
	rtm->rtm_type = RTN_UNICAST;
	return nlh;
}

int nl_addr_add6(struct nl *nl, int ifindex, const struct in6_addr *addr,
		 int plen, bool no_prefix_route)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh;
	uint32_t flags = IFA_F_NODAD;

	if (no_prefix_route)
		flags |= IFA_F_NOPREFIXROUTE;
	nlh = msg_addr_new(buf, AF_INET6, ifindex, plen, addr, sizeof(*addr));
	mnl_attr_put_u32(nlh, IFA_FLAGS, flags);
	return nl_request(nl, nlh, NULL, NULL);
}

int nl_route_add6(struct nl *nl, const struct in6_addr *dst, int plen,
		  const struct in6_addr *gw, int ifindex)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh;
	struct rtmsg *rtm;

	nlh = msg_route_new(buf, AF_INET6, plen, RT_SCOPE_UNIVERSE);
	rtm = mnl_nlmsg_get_payload(nlh);
	if (gw)
		rtm->rtm_flags = RTNH_F_ONLINK;
	if (plen)
		mnl_attr_put(nlh, RTA_DST, sizeof(*dst), dst);
	if (gw)
		mnl_attr_put(nlh, RTA_GATEWAY, sizeof(*gw), gw);
	mnl_attr_put_u32(nlh, RTA_OIF, ifindex);
	return nl_request(nl, nlh, NULL, NULL);
}

int nl_route_add(struct nl *nl, uint32_t dst, int plen, uint32_t gw,
		 int ifindex, uint32_t prefsrc)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh;

	nlh = msg_route_new(buf, AF_INET, plen,
			    gw ? RT_SCOPE_UNIVERSE : RT_SCOPE_LINK);
	if (plen)
		mnl_attr_put_u32(nlh, RTA_DST, dst);
	if (gw)
		mnl_attr_put_u32(nlh, RTA_GATEWAY, gw);
	if (prefsrc)
		mnl_attr_put_u32(nlh, RTA_PREFSRC, prefsrc);
	mnl_attr_put_u32(nlh, RTA_OIF, ifindex);
	return nl_request(nl, nlh, NULL, NULL);
}

struct route_find {
	int ifindex;
	uint32_t metric;
};

static int route_attr(const struct nlattr *attr, void *data)
{
	uint32_t *v = data;
	int type = mnl_attr_get_type(attr);

	if ((type == RTA_OIF || type == RTA_PRIORITY) &&
	    mnl_attr_validate(attr, MNL_TYPE_U32) == 0)
		v[type == RTA_OIF ? 0 : 1] = mnl_attr_get_u32(attr);
	return MNL_CB_OK;
}

static int route_each(const struct nlmsghdr *nlh, void *data)
{
	const struct rtmsg *rtm = mnl_nlmsg_get_payload(nlh);
	struct route_find *f = data;
	uint32_t v[2] = { 0, 0 };	/* oif, metric */

	if (nlh->nlmsg_type != RTM_NEWROUTE || rtm->rtm_family != AF_INET ||
	    rtm->rtm_dst_len != 0 || rtm->rtm_table != RT_TABLE_MAIN ||
	    rtm->rtm_type != RTN_UNICAST)
		return MNL_CB_OK;
	mnl_attr_parse(nlh, sizeof(*rtm), route_attr, v);
	/* the lowest metric wins, as in the kernel's lookup */
	if (v[0] && (!f->ifindex || v[1] < f->metric)) {
		f->ifindex = v[0];
		f->metric = v[1];
	}
	return MNL_CB_OK;
}

struct route_want {
	uint32_t dst, gw;
	int plen, ifindex;
	bool found;
};

static int route_want_attr(const struct nlattr *attr, void *data)
{
	uint32_t *v = data;	/* dst, gateway, oif */
	int type = mnl_attr_get_type(attr);

	if (mnl_attr_validate(attr, MNL_TYPE_U32))
		return MNL_CB_OK;
	if (type == RTA_DST)
		v[0] = mnl_attr_get_u32(attr);
	else if (type == RTA_GATEWAY)
		v[1] = mnl_attr_get_u32(attr);
	else if (type == RTA_OIF)
		v[2] = mnl_attr_get_u32(attr);
	return MNL_CB_OK;
}

static int route_want_each(const struct nlmsghdr *nlh, void *data)
{
	const struct rtmsg *rtm = mnl_nlmsg_get_payload(nlh);
	struct route_want *w = data;
	uint32_t v[3] = { 0, 0, 0 };

	if (nlh->nlmsg_type != RTM_NEWROUTE || rtm->rtm_family != AF_INET ||
	    rtm->rtm_table != RT_TABLE_MAIN || rtm->rtm_dst_len != w->plen)
		return MNL_CB_OK;
	mnl_attr_parse(nlh, sizeof(*rtm), route_want_attr, v);
	if (v[0] == w->dst && (!w->gw || v[1] == w->gw) &&
	    (int)v[2] == w->ifindex)
		w->found = true;
	return MNL_CB_OK;
}

/* Every IPv4 route of the namespace, each to @cb. */
static int route_dump(struct nl *nl, mnl_cb_t cb, void *data)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct rtmsg *rtm;

	nlh->nlmsg_type = RTM_GETROUTE;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	rtm->rtm_family = AF_INET;
	return nl_request(nl, nlh, cb, data);
}

int nl_route_find(struct nl *nl, uint32_t dst, int plen, uint32_t gw,
		  int ifindex)
{
	struct route_want w = { dst & plen_mask(plen), gw, plen, ifindex,
				false };
	int err;

	err = route_dump(nl, route_want_each, &w);
	if (err)
		return err;
	return w.found ? 0 : -ENOENT;
}

struct route_host {
	const struct in6_addr *dst;
	bool found;
};

static int route_host_each(const struct nlmsghdr *nlh, void *data)
{
	const struct rtmsg *rtm = mnl_nlmsg_get_payload(nlh);
	struct route_host *h = data;
	struct nlattr *attr;

	if (nlh->nlmsg_type != RTM_NEWROUTE || rtm->rtm_family != AF_INET6 ||
	    rtm->rtm_dst_len != 128)
		return MNL_CB_OK;
	mnl_attr_for_each(attr, nlh, sizeof(*rtm))
		if (mnl_attr_get_type(attr) == RTA_DST &&
		    mnl_attr_get_payload_len(attr) == sizeof(*h->dst) &&
		    !memcmp(mnl_attr_get_payload(attr), h->dst,
			    sizeof(*h->dst)))
			h->found = true;
	return MNL_CB_OK;
}

int nl_route_host6(struct nl *nl, const struct in6_addr *dst)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct route_host h = { .dst = dst };
	struct rtmsg *rtm;
	int err;

	/* the route the lookup matched (RTM_F_FIB_MATCH), not the one it
	 * would make up for the destination
	 */
	nlh->nlmsg_type = RTM_GETROUTE;
	nlh->nlmsg_flags = NLM_F_REQUEST;
	rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	rtm->rtm_family = AF_INET6;
	rtm->rtm_dst_len = 128;
	rtm->rtm_flags = RTM_F_FIB_MATCH;
	mnl_attr_put(nlh, RTA_DST, sizeof(*dst), dst);
	err = nl_request(nl, nlh, route_host_each, &h);
	/* no route at all, or one that rejects (unreachable, blackhole,
	 * prohibit, throw): none of a container
	 */
	if (err == -ENETUNREACH || err == -EHOSTUNREACH || err == -ENOENT ||
	    err == -EINVAL || err == -EACCES || err == -EAGAIN)
		return 0;
	return err ? err : h.found;
}

int nl_route_default(struct nl *nl, int *ifindex)
{
	struct route_find f = { 0, 0 };
	int err;

	err = route_dump(nl, route_each, &f);
	if (err)
		return err;
	if (!f.ifindex)
		return -ENOENT;
	*ifindex = f.ifindex;
	return 0;
}

static int filter_each(const struct nlmsghdr *nlh, void *data)
{
	if (nlh->nlmsg_type == RTM_NEWTFILTER)
		(*(int *)data)++;
	return MNL_CB_OK;
}

int nl_tc_filter_count(struct nl *nl, int ifindex, uint32_t parent)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct tcmsg *tcm;
	int count = 0, err;

	nlh->nlmsg_type = RTM_GETTFILTER;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	tcm = mnl_nlmsg_put_extra_header(nlh, sizeof(*tcm));
	tcm->tcm_family = AF_UNSPEC;
	tcm->tcm_ifindex = ifindex;
	tcm->tcm_parent = parent;
	err = nl_request(nl, nlh, filter_each, &count);
	return err ? err : count;
}

static int qdisc_each(const struct nlmsghdr *nlh, void *data)
{
	const struct tcmsg *tcm = mnl_nlmsg_get_payload(nlh);
	struct nlattr *attr;
	bool *found = data;

	if (nlh->nlmsg_type != RTM_NEWQDISC)
		return MNL_CB_OK;
	mnl_attr_for_each(attr, nlh, sizeof(*tcm))
		if (mnl_attr_get_type(attr) == TCA_KIND &&
		    !strcmp(mnl_attr_get_str(attr), "clsact"))
			*found = true;
	return MNL_CB_OK;
}

int nl_qdisc_clsact(struct nl *nl, int ifindex)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct tcmsg *tcm;
	bool found = false;
	int err;

	/* The device's ingress qdisc alone (clsact or ingress stand
	 * there), not a dump, which walks every device's qdiscs.  Older
	 * kernels answer a get as a notification, to the asker only if it
	 * asks for an echo.
	 */
	nlh->nlmsg_type = RTM_GETQDISC;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ECHO;
	tcm = mnl_nlmsg_put_extra_header(nlh, sizeof(*tcm));
	tcm->tcm_family = AF_UNSPEC;
	tcm->tcm_ifindex = ifindex;
	tcm->tcm_parent = TC_H_INGRESS;
	err = nl_request(nl, nlh, qdisc_each, &found);
	/* none (-ENOENT), the built-in one, which no answer shows, or no
	 * device any more
	 */
	if (err == -ENOENT || err == -EINVAL || err == -ENODEV)
		return 0;
	return err ? err : found;
}
