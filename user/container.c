// SPDX-License-Identifier: GPL-2.0-only
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/stat.h>

#include "alloc.h"
#include "attach.h"
#include "container.h"
#include "log.h"

void container_host_ifname(uint32_t addr, char *name)
{
	snprintf(name, IF_NAMESIZE, "bn%08x", ntohl(addr));
}

/* "bpfnat:NAME:A.B.C.D/N[,IPV6/N]" -> name, addresses, prefix lengths. */
static int alias_parse(const char *alias, struct container *c)
{
	const char *name = alias + strlen(CONTAINER_ALIAS_PREFIX);
	const char *colon, *comma;
	char v4[INET_ADDRSTRLEN + 4];

	if (strncmp(alias, CONTAINER_ALIAS_PREFIX,
		    strlen(CONTAINER_ALIAS_PREFIX)))
		return -ENOENT;
	colon = strchr(name, ':');
	if (!colon || colon == name || colon - name > NETNS_NAME_MAX)
		return -EINVAL;
	snprintf(c->name, sizeof(c->name), "%.*s", (int)(colon - name), name);
	comma = strchr(colon + 1, ',');
	if (!comma)
		return parse_cidr(colon + 1, &c->addr, &c->plen, false);
	if (comma - colon - 1 >= (long)sizeof(v4))
		return -EINVAL;
	snprintf(v4, sizeof(v4), "%.*s", (int)(comma - colon - 1), colon + 1);
	return parse_cidr(v4, &c->addr, &c->plen, false) ?:
	       parse_cidr6(comma + 1, &c->addr6, &c->plen6, false);
}

struct list_ctx {
	struct container *v;
	size_t n, cap;
	bool locate;	/* each one's record read too (container_locate) */
};

void container_locate(struct container *c)
{
	struct attachment a;

	if (!attachment_read(c->name, &a)) {
		snprintf(c->ifname, sizeof(c->ifname), "%s", a.ifname);
		snprintf(c->netns, sizeof(c->netns), "%s", a.netns);
		c->attachment = true;
		return;
	}
	snprintf(c->ifname, sizeof(c->ifname), "%s", CONTAINER_IFNAME);
	snprintf(c->netns, sizeof(c->netns), "%s/%s", NETNS_RUN_DIR, c->name);
	c->attachment = false;
}

static int list_one(const struct nl_link *link, void *data)
{
	struct list_ctx *l = data;
	struct container c = {};

	if (alias_parse(link->alias, &c))
		return 0;
	c.host_ifindex = link->ifindex;
	snprintf(c.host_if, sizeof(c.host_if), "%s", link->name);
	memcpy(c.host_mac, link->mac, ETH_ALEN);
	if (l->locate)
		container_locate(&c);
	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 64;
		struct container *v = realloc(l->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = c;
	return 0;
}

static int by_addr(const void *a, const void *b)
{
	uint32_t x = ntohl(((const struct container *)a)->addr);
	uint32_t y = ntohl(((const struct container *)b)->addr);

	return x < y ? -1 : x > y;
}

/*
 * The containers, sorted by address; located (@locate) or only named,
 * addressed and with their host side: locating reads a record file per
 * attachment, which those who want one container or the addresses alone
 * need not pay for each of them (a CNI ADD lists twice).
 */
static int containers_read(struct nl *nl, bool locate,
			   struct container **out, size_t *count)
{
	struct list_ctx l = { .locate = locate };
	int err;

	err = nl_link_dump(nl, list_one, &l);
	if (err) {
		free(l.v);
		return err;
	}
	if (l.n)
		qsort(l.v, l.n, sizeof(*l.v), by_addr);
	*out = l.v;
	*count = l.n;
	return 0;
}

int container_list(struct nl *nl, struct container **out, size_t *count)
{
	return containers_read(nl, true, out, count);
}

int container_find(struct nl *nl, const char *name, struct container *c)
{
	struct container *v;
	size_t n, i;
	int err;

	err = containers_read(nl, false, &v, &n);
	if (err)
		return err;
	err = -ENOENT;
	for (i = 0; i < n; i++) {
		if (!strcmp(v[i].name, name)) {
			*c = v[i];
			container_locate(c);
			err = 0;
			break;
		}
	}
	free(v);
	return err;
}

int container_pool_free(struct nl *nl, const struct pool *pool,
			uint32_t *addr)
{
	(void)nl;
	return alloc_pick(pool, 0, addr);
}

int container_inside_exists(int nsfd, const char *ifname)
{
	struct nl_link link;
	struct nl cnl;
	int saved, err;

	saved = netns_enter(nsfd);
	if (saved < 0)
		return saved;
	err = nl_open(&cnl);
	netns_leave(saved);
	if (err)
		return err;
	err = nl_link_get(&cnl, ifname, &link);
	nl_close(&cnl);
	if (err == -ENODEV)
		return 0;
	return err ? err : 1;
}

/* Everything inside the container: lo and its interface up, address,
 * routes.
 */
static int container_inside(struct container *c, int nsfd,
			    const struct plumb *p)
{
	const struct container_route def = { 0, 0, 0 };
	const struct container_route *r = p->n_routes ? p->routes : &def;
	size_t n_routes = p->n_routes ? p->n_routes : 1;
	struct nl_link lo, eth;
	char step[64];
	struct nl cnl;
	int saved, err;

	saved = netns_enter(nsfd);
	if (saved < 0) {
		pr_warn("%s: enter namespace: %s", p->what, strerror(-saved));
		return saved;
	}
	err = nl_open(&cnl);
	netns_leave(saved);
	if (err) {
		pr_warn("%s: netlink in namespace: %s", p->what,
			strerror(-err));
		return err;
	}

	snprintf(step, sizeof(step), "find lo");
	err = nl_link_get(&cnl, "lo", &lo);
	if (err)
		goto out;
	snprintf(step, sizeof(step), "set lo up");
	err = nl_link_set_up(&cnl, lo.ifindex);
	if (err)
		goto out;
	snprintf(step, sizeof(step), "find %s", c->ifname);
	err = nl_link_get(&cnl, c->ifname, &eth);
	if (err)
		goto out;
	snprintf(step, sizeof(step), "configure %s", c->ifname);
	err = nl_link_set_inet(&cnl, eth.ifindex, false, false);
	if (err)
		goto out;
	snprintf(step, sizeof(step), "add address");
	err = nl_addr_add(&cnl, eth.ifindex, c->addr, c->plen);
	if (err)
		goto out;
	snprintf(step, sizeof(step), "set %s up", c->ifname);
	err = nl_link_set_up(&cnl, eth.ifindex);
	if (err)
		goto out;
	for (size_t i = 0; !err && i < n_routes; i++) {
		if (r[i].plen)
			snprintf(step, sizeof(step), "add route to %s",
				 cidr_str(r[i].dst, r[i].plen));
		else
			snprintf(step, sizeof(step), "add default route");
		err = nl_route_add(&cnl, r[i].dst, r[i].plen,
				   r[i].gw ? r[i].gw : p->pool->gateway,
				   eth.ifindex, 0);
	}
	if (!err && c->plen6) {
		snprintf(step, sizeof(step), "add IPv6 address");
		err = nl_addr_add6(&cnl, eth.ifindex, &c->addr6, c->plen6,
				   true);
	}
	if (!err && c->plen6) {
		snprintf(step, sizeof(step), "add IPv6 default route");
		err = nl_route_add6(&cnl, &in6addr_any, 0, &p->pool6->gateway,
				    eth.ifindex);
	}
out:
	if (err)
		pr_warn("%s: %s: %s", p->what, step, nl_strerror(&cnl, err));
	nl_close(&cnl);
	return err;
}

/* Every host side's link-local address, fe80::1, as a router's. */
static const struct in6_addr host_ll = {
	.s6_addr = { 0xfe, 0x80, [15] = 1 },
};

/*
 * IPv6 forwarding on the host side, for the data path's FIB lookups (the
 * kernel's helper asks it of the device a packet came in by); the host's
 * own, net.ipv6.conf.all.forwarding, stays as it is.  Not a netlink
 * setting: the sysctl of this namespace.
 */
static int ipv6_forwarding_on(const char *ifname)
{
	char path[64];
	int fd, err = 0;

	snprintf(path, sizeof(path), "/proc/sys/net/ipv6/conf/%s/forwarding",
		 ifname);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (write(fd, "1", 1) != 1)
		err = -errno;
	close(fd);
	return err;
}

/* The host side's index and MAC address, by name: the kernel's index of
 * names answers, where a netlink answer would be filled with all the
 * link's attributes, its peer's namespace id among them (found by a walk
 * over every namespace's id that grows with the containers).
 */
static int host_side_find(struct container *c)
{
	struct ifreq ifr = { 0 };
	int fd, err = 0;

	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", c->host_if);
	if (ioctl(fd, SIOCGIFINDEX, &ifr))
		err = -errno;
	else
		c->host_ifindex = ifr.ifr_ifindex;
	if (!err && ioctl(fd, SIOCGIFHWADDR, &ifr))
		err = -errno;
	else if (!err)
		memcpy(c->host_mac, ifr.ifr_hwaddr.sa_data, ETH_ALEN);
	close(fd);
	return err;
}

/* The host side: alias, settings, gateway address, up, route. */
static int container_host_side(struct nl *nl, struct container *c,
			       const struct plumb *p)
{
	char alias[sizeof(CONTAINER_ALIAS_PREFIX) + NETNS_NAME_MAX + 20 +
		   INET6_ADDRSTRLEN + 4];
	uint32_t gateway = p->pool->gateway;
	const char *step;
	int err;

	step = "find host side";
	err = host_side_find(c);
	if (err)
		goto out;

	if (c->plen6) {
		step = "add IPv6 gateway address";
		err = nl_addr_add6(nl, c->host_ifindex, &p->pool6->gateway, 128,
				   true);
		if (err == -EAFNOSUPPORT || err == -EACCES) {
			/* no IPv6 here (ipv6.disable, disable_ipv6) */
			pr_info("%s: IPv6 is off on the host: IPv4 alone",
				p->what);
			c->plen6 = 0;
			err = 0;
		}
		if (!err && c->plen6) {
			/* the source of the host's neighbour solicitations
			 * for packets it forwards (the kernel path): the
			 * kernel sends none without a link-local address
			 */
			step = "add IPv6 link-local address";
			err = nl_addr_add6(nl, c->host_ifindex, &host_ll, 64,
					   true);
		}
		if (err)
			goto out;
	}
	if (c->plen6)
		snprintf(alias, sizeof(alias), "%s%s:%s,%s",
			 CONTAINER_ALIAS_PREFIX, c->name,
			 cidr_str(c->addr, c->plen),
			 cidr6_str(&c->addr6, c->plen6));
	else
		snprintf(alias, sizeof(alias), "%s%s:%s",
			 CONTAINER_ALIAS_PREFIX, c->name,
			 cidr_str(c->addr, c->plen));
	step = "set alias";
	err = nl_link_set_alias(nl, c->host_ifindex, alias);
	if (err)
		goto out;
	step = "set forwarding and proxy ARP";
	err = nl_link_set_inet(nl, c->host_ifindex, true, true);
	if (err)
		goto out;
	step = "set proxy ARP delay";
	err = nl_arp_proxy_delay(nl, c->host_ifindex, 0);
	if (err)
		goto out;
	step = "add gateway address";
	err = nl_addr_add(nl, c->host_ifindex, gateway, 32);
	if (err)
		goto out;
	step = "set host side up";
	err = nl_link_set_up(nl, c->host_ifindex);
	if (err)
		goto out;
	step = "add route";
	err = nl_route_add(nl, c->addr, 32, 0, c->host_ifindex, gateway);
	if (!err && c->plen6) {
		step = "set IPv6 forwarding";
		err = ipv6_forwarding_on(c->host_if);
		if (err) {
			pr_warn("%s: %s: %s", p->what, step, strerror(-err));
			return err;
		}
	}
	if (!err && c->plen6) {
		step = "add IPv6 route";
		err = nl_route_add6(nl, &c->addr6, 128, NULL,
				    c->host_ifindex);
	}
out:
	if (err)
		pr_warn("%s: %s: %s", p->what, step, nl_strerror(nl, err));
	return err;
}

int container_plumb(struct nl *nl, struct container *c, int nsfd,
		    const struct plumb *p)
{
	uint32_t addr = p->pick ? 0 : c->addr;
	int err, tries;

	err = p->new_netns ? 0 : container_inside_exists(nsfd, c->ifname);
	if (err) {
		if (err > 0)
			pr_warn("%s: interface %s exists in the container",
				p->what, c->ifname);
		else
			pr_warn("%s: look for %s in the container: %s",
				p->what, c->ifname, strerror(-err));
		return err > 0 ? -EEXIST : err;
	}
	if (!p->pick && alloc_taken(addr)) {
		pr_warn("%s: address %s is in use", p->what, ip_str(addr));
		return -EADDRINUSE;
	}
	c->plen6 = p->pool6 ? c->plen6 : 0;
	err = 0;
	if (p->pool6 && p->pick6) {
		err = alloc_pick6(nl, p->pool6, &c->addr6);
		if (!err)
			c->plen6 = p->pool6->plen;
	} else if (p->pool6) {
		err = alloc_taken6(nl, &c->addr6);
		if (err > 0) {
			pr_warn("%s: address %s is in use", p->what,
				ip6_str(&c->addr6));
			return -EADDRINUSE;
		}
	}
	if (err == -EAFNOSUPPORT) {
		/* no IPv6 here (ipv6.disable) */
		pr_info("%s: IPv6 is off on the host: IPv4 alone", p->what);
		c->plen6 = 0;
	} else if (err == -ENOSPC) {
		pr_warn("%s: no free address in %s", p->what,
			cidr6_str(&p->pool6->net, p->pool6->plen));
		return err;
	} else if (err < 0) {
		pr_warn("%s: look for a free IPv6 address: %s", p->what,
			nl_strerror(nl, err));
		return err;
	}
	/* The host side's name comes from the address, so two commands
	 * racing for one address cannot both get it: the kernel refuses the
	 * second veth, and a picked address moves on to the next.
	 */
	for (tries = 0; tries < 64; tries++) {
		if (p->pick) {
			err = alloc_pick(p->pool, addr, &addr);
			if (err == -ENOSPC)
				pr_warn("%s: no free address in %s", p->what,
					cidr_str(p->pool->net, p->pool->plen));
			else if (err)
				pr_warn("%s: look for a free address: %s",
					p->what, strerror(-err));
			if (err)
				return err;
			c->plen = p->pool->plen;
		}
		c->addr = addr;
		container_host_ifname(addr, c->host_if);
		err = p->note ? p->note(c, p->note_arg) : 0;
		if (err)
			return err;
		err = nl_veth_add(nl, c->host_if, c->ifname, nsfd);
		if (err != -EEXIST || !p->pick)
			break;
	}
	if (err == -EEXIST)
		err = -EADDRINUSE;	/* the interface inside was free */
	if (err) {
		if (err == -EADDRINUSE)
			pr_warn("%s: address %s is in use", p->what,
				ip_str(addr));
		else
			pr_warn("%s: create veth %s: %s", p->what, c->host_if,
				nl_strerror(nl, err));
		return err;
	}

	err = container_host_side(nl, c, p);
	if (!err)
		err = container_inside(c, nsfd, p);
	/* Deleting one end removes both, now rather than when the
	 * namespace is finally freed.
	 */
	if (err && !c->host_ifindex) {
		struct nl_link link;

		if (!nl_link_get(nl, c->host_if, &link))
			c->host_ifindex = link.ifindex;
	}
	if (err && c->host_ifindex)
		nl_link_del(nl, c->host_ifindex);
	if (!err)
		alloc_taken_now(p->pool, c->addr, p->pick, p->pool6,
				c->plen6 ? &c->addr6 : NULL, p->pick6);
	return err;
}

static int note_intent(const struct container *c, void *arg)
{
	(void)arg;
	return container_intent_note(c->name, c->host_if);
}

int container_add(struct nl *nl, const char *name, const struct pool *pool,
		  uint32_t addr, const struct pool6 *pool6,
		  const struct in6_addr *addr6, struct container *c)
{
	char what[NETNS_NAME_MAX + 16];
	struct plumb p = {
		.what = what,
		.pool = pool,
		.pick = !addr,
		.pool6 = pool6,
		.pick6 = !addr6,
		.new_netns = true,
		.note = note_intent,
	};
	int nsfd, err;

	snprintf(what, sizeof(what), "ns add %s", name);
	memset(c, 0, sizeof(*c));
	snprintf(c->name, sizeof(c->name), "%s", name);
	snprintf(c->ifname, sizeof(c->ifname), "%s", CONTAINER_IFNAME);
	snprintf(c->netns, sizeof(c->netns), "%s/%s", NETNS_RUN_DIR, name);
	c->plen = pool->plen;
	c->addr = addr;
	if (pool6 && addr6) {
		c->addr6 = *addr6;
		c->plen6 = pool6->plen;
	}

	nsfd = netns_add(name);
	if (nsfd < 0) {
		if (nsfd == -EEXIST && !container_find(nl, name, c))
			pr_warn("ns add %s: the container exists", name);
		else if (nsfd == -EEXIST)
			pr_warn("ns add %s: a namespace of that name exists",
				name);
		else
			pr_warn("ns add %s: create namespace: %s", name,
				strerror(-nsfd));
		return nsfd;
	}
	err = container_plumb(nl, c, nsfd, &p);
	close(nsfd);
	if (err) {
		netns_del(name);
		/* -EEXIST: the namespace's name, to ns add's caller */
		return err == -EEXIST ? -EIO : err;
	}
	return 0;
}

int container_del(struct nl *nl, const struct container *c)
{
	int err;

	/* the hint first: one too low costs a search, never an address */
	alloc_freed(c->addr, c->plen6 ? &c->addr6 : NULL);
	err = nl_link_del(nl, c->host_ifindex);
	if (err && err != -ENODEV) {
		pr_warn("%s: delete veth %s: %s", c->name, c->host_if,
			nl_strerror(nl, err));
		return err;
	}
	if (c->attachment)
		return 0;
	err = netns_del(c->name);
	if (err && err != -ENOENT) {
		pr_warn("ns del %s: remove namespace: %s", c->name,
			strerror(-err));
		return err;
	}
	return 0;
}

int container_run(const struct container *c, container_fn fn, void *arg)
{
	int nsfd, saved, err;

	nsfd = c->netns[0] ? open(c->netns, O_RDONLY | O_CLOEXEC) :
			     netns_open(c->name);
	if (nsfd < 0)
		return c->netns[0] ? -errno : nsfd;
	saved = netns_enter(nsfd);
	close(nsfd);
	if (saved < 0)
		return saved;
	err = fn(c, arg);
	netns_leave(saved);
	return err;
}

/* Inside a container: its interface, into the struct nl_link @arg. */
static int read_inside(const struct container *c, void *arg)
{
	struct nl cnl;
	int err;

	err = nl_open(&cnl);
	if (err)
		return err;
	err = nl_link_get(&cnl, c->ifname, arg);
	nl_close(&cnl);
	return err;
}

int container_endpoint(const struct container *c, struct endpoint *ep)
{
	struct nl_link eth;
	int err;

	memset(ep, 0, sizeof(*ep));
	ep->ifindex = c->host_ifindex;
	memcpy(ep->host_mac, c->host_mac, ETH_ALEN);
	err = container_run(c, read_inside, &eth);
	if (!err)
		memcpy(ep->mac, eth.mac, ETH_ALEN);
	return err;
}

static void intent_path(const char *name, char *path, size_t size)
{
	snprintf(path, size, "%s/%s", INTENT_DIR, name);
}

/* Write @text as the intent of @name, whole or not at all. */
static int intent_write(const char *name, const char *text)
{
	char path[PATH_MAX], tmp[PATH_MAX];
	int err = 0;
	FILE *f;

	if (mkdir(INTENT_DIR, 0755) && errno != EEXIST)
		return -errno;
	intent_path(name, path, sizeof(path));
	/* a dot first: no container's name, so never taken for an intent */
	snprintf(tmp, sizeof(tmp), "%s/.%s", INTENT_DIR, name);
	f = fopen(tmp, "w");
	if (!f)
		return -errno;
	if (fputs(text, f) < 0)
		err = -errno;
	if (fclose(f) && !err)
		err = -errno;
	if (!err && rename(tmp, path))
		err = -errno;
	if (err) {
		unlink(tmp);
		pr_warn("ns %s: write %s: %s", name, path, strerror(-err));
	}
	return err;
}

int container_intent_begin(const char *name)
{
	return intent_write(name, "");
}

int container_intent_note(const char *name, const char *host_if)
{
	char text[IF_NAMESIZE + 2];

	snprintf(text, sizeof(text), "%s\n", host_if);
	return intent_write(name, text);
}

void container_intent_end(const char *name)
{
	char path[PATH_MAX];

	intent_path(name, path, sizeof(path));
	unlink(path);
}

/* Is the eth0 of namespace @name the other end of host veth @ifindex? */
static bool peer_is_eth0(const char *name, int ifindex)
{
	struct container c = {};
	struct nl_link eth;

	snprintf(c.name, sizeof(c.name), "%s", name);
	snprintf(c.ifname, sizeof(c.ifname), "%s", CONTAINER_IFNAME);
	return !container_run(&c, read_inside, &eth) &&
	       eth.peer_ifindex == ifindex;
}

int container_intent_read(struct nl *nl, const char *name,
			  struct container *c)
{
	char path[PATH_MAX], host_if[IF_NAMESIZE + 2] = "";
	struct container other = {};
	struct nl_link link;
	unsigned int hex;
	FILE *f;

	intent_path(name, path, sizeof(path));
	f = fopen(path, "r");
	if (!f)
		return -ENOENT;
	if (!fgets(host_if, sizeof(host_if), f))
		host_if[0] = 0;
	fclose(f);
	host_if[strcspn(host_if, "\n")] = 0;

	memset(c, 0, sizeof(*c));
	snprintf(c->name, sizeof(c->name), "%s", name);
	snprintf(c->ifname, sizeof(c->ifname), "%s", CONTAINER_IFNAME);
	/* the host side's name holds the address (container_host_ifname()) */
	if (sscanf(host_if, "bn%8x", &hex) != 1)
		return 0;
	if (nl_link_get(nl, host_if, &link))
		return 0;
	/* the veth of that container, not another's of that name: its
	 * alias names the container, or before the alias was set, its
	 * other end is the eth0 of the container's namespace
	 */
	if (link.alias[0] ? alias_parse(link.alias, &other) ||
				    strcmp(other.name, name) :
			    !peer_is_eth0(name, link.ifindex))
		return 0;
	snprintf(c->host_if, sizeof(c->host_if), "%s", host_if);
	c->addr = htonl(hex);
	if (link.alias[0]) {
		/* its IPv6 endpoint goes too */
		c->addr6 = other.addr6;
		c->plen6 = other.plen6;
	}
	c->host_ifindex = link.ifindex;
	memcpy(c->host_mac, link.mac, ETH_ALEN);
	return 0;
}

int container_intents(char (*names)[NETNS_NAME_MAX + 1], int max)
{
	struct dirent *d;
	DIR *dh;
	int n = 0;

	dh = opendir(INTENT_DIR);
	if (!dh)
		return errno == ENOENT ? 0 : -errno;
	while (n < max && (d = readdir(dh)))
		if (netns_name_valid(d->d_name))
			snprintf(names[n++], NETNS_NAME_MAX + 1, "%.*s",
				 NETNS_NAME_MAX, d->d_name);
	closedir(dh);
	return n;
}
