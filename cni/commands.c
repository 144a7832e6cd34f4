// SPDX-License-Identifier: GPL-2.0-only
/*
 * ADD, DEL, CHECK, GC and STATUS, over the library the CLI uses: the same
 * lock, the same veth plumbing as `ns add` (container_plumb()), the same
 * address allocator, the same `up` and the same published ports.  An
 * attachment is a container whose record (attach.h) says which runtime
 * container and interface it is.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>

#include "cni.h"
#include "loader.h"
#include "lock.h"
#include "log.h"
#include "pins.h"

static int lock(void)
{
	int err = lock_take("CNI");

	if (err == -ETIMEDOUT)
		return cni_fail(CNI_ERR_TRY_AGAIN, "bpfnat is busy", NULL);
	return err ? cni_fail(CNI_ERR_IO, "cannot take bpfnat's lock", NULL) :
		     0;
}

/* The lock and a netlink socket in the host's namespace, and whatever a
 * killed `ns add` or `ns del` left removed.
 */
static int begin(struct nl *nl)
{
	int err;

	if (lock())
		return -1;
	err = nl_open(nl);
	if (err)
		return cni_fail(CNI_ERR_FAILED, "netlink", "%s",
				strerror(-err));
	dp_containers_recover(nl);
	return 0;
}

/*
 * What bpfnat made for attachment @a undone, its lease apart: its veth,
 * its endpoint, published ports and flows.  Its namespace, when the
 * runtime removed it first, took the veth with it; the address the
 * record holds still leads to what the data path keeps of it.
 */
static int attachment_undo(struct nl *nl, const struct attachment *a)
{
	struct container c;
	struct nl_link link;
	int err;

	if (!container_find(nl, a->name, &c))
		return dp_container_detach(&c) ?: container_del(nl, &c);
	if (a->addr) {
		memset(&c, 0, sizeof(c));
		snprintf(c.name, sizeof(c.name), "%s", a->name);
		c.addr = a->addr;
		c.plen = a->plen;
		c.addr6 = a->addr6;
		c.plen6 = a->plen6;
		c.attachment = true;
		err = dp_container_detach(&c);
		if (err)
			return err;
	}
	/* made, but killed before its alias: the address is the record's */
	if (a->host_if[0] && !nl_link_get(nl, a->host_if, &link) &&
	    !link.alias[0]) {
		err = nl_link_del(nl, link.ifindex);
		if (err && err != -ENODEV)
			return err;
	}
	return 0;
}

/* Attachment @a gone entirely: what bpfnat made, its lease, its record. */
static int attachment_remove_all(struct cni_req *r, struct nl *nl,
				 const struct attachment *a)
{
	if (attachment_undo(nl, a))
		return cni_fail(CNI_ERR_FAILED, "cannot remove the attachment",
				NULL);
	if (r->ipam_type &&
	    ipam_run(r, "DEL", a->container_id, a->ifname, NULL))
		return -1;	/* the record stays: the lease is to go */
	attachment_remove(a->name);
	return 0;
}

/* The data path running, brought up with the configuration's settings if
 * it is down.
 */
static int datapath_ready(struct cni_req *r, struct nl *nl)
{
	struct bpfnat_config cfg;
	char pool[24];
	int err;

	err = dp_config(&cfg);
	if (err == -EPROTO)
		return cni_fail(CNI_ERR_DATAPATH, "another bpfnat's data path "
				"runs", "layout v%u: 'bpfnat down' removes it",
				cfg.version);
	if (!err) {
		/* (cidr_str() has one buffer) */
		snprintf(pool, sizeof(pool), "%s",
			 cidr_str(r->up.pool.net, r->up.pool.plen));
		if (r->pool_given && (cfg.pool_addr != r->up.pool.net ||
				      cfg.pool_mask != r->up.pool.mask))
			return cni_fail(CNI_ERR_CONFIG, "invalid network "
					"configuration", "pool %s differs "
					"from the running data path's %s",
					pool, cidr_str(cfg.pool_addr,
						       __builtin_popcount(
							       cfg.pool_mask)));
		return 0;
	}
	if (dp_up(nl, &r->up))
		return cni_fail(CNI_ERR_DATAPATH, "cannot bring bpfnat's data "
				"path up", NULL);
	return 0;
}

/* Open CNI_NETNS: an fd, or cni_fail()'s -1. */
static int netns_of(const struct cni_req *r)
{
	int fd, saved;

	fd = open(r->netns, O_RDONLY | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT)
		return cni_fail(CNI_ERR_UNKNOWN_CONTAINER, "no such network "
				"namespace", "CNI_NETNS %s does not exist",
				r->netns);
	if (fd < 0)
		return cni_fail(CNI_ERR_ENV, "invalid CNI_NETNS", "%s: %s",
				r->netns, strerror(errno));
	saved = netns_enter(fd);
	if (saved < 0) {
		close(fd);
		return cni_fail(CNI_ERR_ENV, "invalid CNI_NETNS", "%s: not a "
				"network namespace", r->netns);
	}
	netns_leave(saved);
	return fd;
}

/* A name for a new attachment: the first of its names that no record and
 * no container has (a container of `ns add` has its named namespace).
 */
static int name_pick(const struct cni_req *r, char *name)
{
	struct attachment other;

	for (int i = 0; !attachment_name(r->container_id, r->ifname, i, name);
	     i++)
		if (attachment_read(name, &other) == -ENOENT &&
		    !netns_exists(name))
			return 0;
	return cni_fail(CNI_ERR_FAILED, "no name for the container",
			"every name of %s/%s is taken", r->container_id,
			r->ifname);
}

/* container_plumb() tells the host side and the address: the record
 * knows them before the veth exists.
 */
static int note_record(const struct container *c, void *arg)
{
	struct attachment *a = arg;

	snprintf(a->host_if, sizeof(a->host_if), "%s", c->host_if);
	a->addr = c->addr;
	a->plen = c->plen;
	a->addr6 = c->addr6;
	a->plen6 = c->plen6;
	return attachment_write(a);
}

struct add {
	struct cni_req *r;
	struct nl nl;
	struct attachment a;
	struct container c;
	struct pool pool;
	struct ipam_result ipam;
	int nsfd;
};

/* The address: the IPAM plugin's, in the pool and with its gateway. */
static int add_lease(struct add *x)
{
	struct cni_req *r = x->r;

	if (ipam_run(r, "ADD", NULL, NULL, &x->ipam))
		return -1;
	x->c.addr = x->ipam.addr;
	x->c.plen = x->ipam.plen;
	if (!pool_usable(&x->pool, x->ipam.addr))
		return cni_fail(CNI_ERR_CONFIG, "invalid network "
				"configuration", "ipam %s gave %s, not a "
				"container address of bpfnat's pool %s (the "
				"data path NATs the pool alone): make the "
				"range's subnet the pool", r->ipam_type,
				ip_str(x->ipam.addr),
				cidr_str(x->pool.net, x->pool.plen));
	if (x->ipam.gateway && x->ipam.gateway != x->pool.gateway)
		return cni_fail(CNI_ERR_CONFIG, "invalid network "
				"configuration", "ipam %s gave gateway %s; "
				"bpfnat's containers have the pool's, %s",
				r->ipam_type, ip_str(x->ipam.gateway),
				ip_str(x->pool.gateway));
	return 0;
}

static int add_plumb(struct add *x)
{
	struct cni_req *r = x->r;
	char what[NETNS_NAME_MAX + 16];
	struct plumb p = {
		.what = what,
		.pool = &x->pool,
		.pick = !r->ipam_type,
		.routes = x->ipam.routes,
		.n_routes = x->ipam.n_routes,
		.note = note_record,
		.note_arg = &x->a,
	};
	int err;

	snprintf(what, sizeof(what), "ADD %s", x->a.name);
	err = container_plumb(&x->nl, &x->c, x->nsfd, &p);
	switch (err) {
	case 0:
		return 0;
	case -EEXIST:
		return cni_fail(CNI_ERR_IFACE_EXISTS, "the interface exists",
				NULL);
	case -EADDRINUSE:
		return cni_fail(CNI_ERR_ADDRESS_IN_USE, "the address is in "
				"use", NULL);
	case -ENOSPC:
		return cni_fail(CNI_ERR_NO_ADDRESS, "no free address", NULL);
	default:
		return cni_fail(CNI_ERR_FAILED, "cannot make the veth", NULL);
	}
}

/* "ADD NAME: portMappings[i]", for messages */
static const char *mapping_what(size_t i, void *arg)
{
	static char buf[96];

	snprintf(buf, sizeof(buf), "ADD %s: portMappings[%zu]",
		 ((struct add *)arg)->a.name, i);
	return buf;
}

static int add_ports(struct add *x)
{
	int fd, err;

	if (!x->r->n_ports)
		return 0;
	fd = ports_open("ADD: portMappings");
	if (fd < 0)
		return cni_fail(CNI_ERR_FAILED, "cannot publish ports", NULL);
	err = ports_recover(fd, "ADD: portMappings") ?:
	      ports_publish_all(fd, x->r->ports, x->r->n_ports, &x->c,
				mapping_what, x);
	close(fd);
	if (err == -EADDRINUSE)
		return cni_fail(CNI_ERR_PORT_TAKEN, "a host port is taken",
				NULL);
	return err ? cni_fail(CNI_ERR_FAILED, "cannot publish ports", NULL) :
		     0;
}

static json_t *route_json(const struct container_route *rt, uint32_t gw)
{
	return json_pack("{s:s, s:s}", "dst", cidr_str(rt->dst, rt->plen),
			 "gw", ip_str(rt->gw ? rt->gw : gw));
}

/* The spec's result, in the configuration's version: 0.3.x and 0.4.0
 * say each address's "version", 1.x does not.
 */
static json_t *add_result(const struct add *x, const struct endpoint *ep)
{
	const struct cni_req *r = x->r;
	const struct container_route def = { 0, 0, 0 };
	uint32_t gw = x->pool.gateway;
	json_t *res, *ip, *routes, *dns;
	char host_mac[18], mac[18];

	/* (mac_str() has one buffer) */
	snprintf(host_mac, sizeof(host_mac), "%s", mac_str(x->c.host_mac));
	snprintf(mac, sizeof(mac), "%s", mac_str(ep->mac));

	ip = json_pack("{s:s, s:s, s:i}", "address",
		       cidr_str(x->c.addr, x->c.plen), "gateway", ip_str(gw),
		       "interface", 1);
	if (!cni_version_ge(r->version, "1.0.0"))
		json_object_set_new(ip, "version", json_string("4"));
	routes = json_array();
	for (size_t i = 0; i < x->ipam.n_routes; i++)
		json_array_append_new(routes, route_json(&x->ipam.routes[i],
							 gw));
	if (!x->ipam.n_routes)
		json_array_append_new(routes, route_json(&def, gw));
	/* the IPAM plugin's dns, else the configuration's */
	dns = json_object_size(x->ipam.dns) ? x->ipam.dns :
	      json_object_get(r->conf, "dns");
	res = json_pack("{s:s, s:[{s:s, s:s}, {s:s, s:s, s:s}], s:[o], s:o, "
			"s:O}",
			"cniVersion", r->version,
			"interfaces",
			"name", x->c.host_if, "mac", host_mac,
			"name", x->c.ifname, "mac", mac,
			"sandbox", r->netns,
			"ips", ip,
			"routes", routes,
			"dns", json_is_object(dns) ? dns : json_object());
	return res;
}

/* Everything ADD made, undone in reverse, after a failure. */
static void add_undo(struct add *x, bool leased)
{
	if (attachment_undo(&x->nl, &x->a))
		pr_warn("ADD %s: could not undo everything", x->a.name);
	if (leased)
		ipam_run(x->r, "DEL", NULL, NULL, NULL);
	attachment_remove(x->a.name);
}

int cni_add(struct cni_req *r)
{
	struct add x = { .r = r, .nsfd = -1 };
	struct attachment old;
	bool leased = false;
	json_t *res;
	struct endpoint ep;
	int err;

	if (begin(&x.nl))
		return -1;
	x.nsfd = netns_of(r);
	if (x.nsfd < 0)
		goto out;
	/* refused before anything is made, the lease too */
	err = container_inside_exists(x.nsfd, r->ifname);
	if (err) {
		err = err > 0 ? cni_fail(CNI_ERR_IFACE_EXISTS, "the interface "
					 "exists", "%s exists in %s",
					 r->ifname, r->netns) :
				cni_fail(CNI_ERR_FAILED, "cannot look into the "
					 "namespace", "%s: %s", r->netns,
					 strerror(-err));
		goto out;
	}
	/* a record of this attachment: an ADD that was killed */
	if (!attachment_find(r->container_id, r->ifname, &old) &&
	    attachment_remove_all(r, &x.nl, &old))
		goto out;
	err = datapath_ready(r, &x.nl);
	if (err)
		goto out;
	dp_pool(&x.pool);

	/* the record first: whatever follows, DEL and GC find it */
	if (name_pick(r, x.a.name))
		goto out;
	snprintf(x.a.container_id, sizeof(x.a.container_id), "%s",
		 r->container_id);
	snprintf(x.a.ifname, sizeof(x.a.ifname), "%s", r->ifname);
	snprintf(x.a.netns, sizeof(x.a.netns), "%s", r->netns);
	snprintf(x.a.network, sizeof(x.a.network), "%s", r->network);
	err = attachment_write(&x.a);
	if (err) {
		cni_fail(CNI_ERR_IO, "cannot write the attachment's record",
			 "%s/%s: %s", ATTACH_DIR, x.a.name, strerror(-err));
		goto out;
	}

	snprintf(x.c.name, sizeof(x.c.name), "%s", x.a.name);
	snprintf(x.c.ifname, sizeof(x.c.ifname), "%s", r->ifname);
	snprintf(x.c.netns, sizeof(x.c.netns), "%s", r->netns);
	x.c.attachment = true;
	leased = r->ipam_type != NULL;
	if ((r->ipam_type && add_lease(&x)) || add_plumb(&x))
		goto undo;
	err = dp_container_attach(&x.nl, &x.c);
	if (err) {
		cni_fail(CNI_ERR_FAILED, "cannot attach the data path", NULL);
		goto undo;
	}
	if (add_ports(&x))
		goto undo;
	err = container_endpoint(&x.c, &ep);
	if (err) {
		cni_fail(CNI_ERR_FAILED, "cannot read the interface",
			 "%s in %s: %s", r->ifname, r->netns, strerror(-err));
		goto undo;
	}
	res = add_result(&x, &ep);
	json_dumpf(res, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	fputc('\n', stdout);
	json_decref(res);
	goto out;
undo:
	add_undo(&x, leased);
out:
	json_decref(x.ipam.dns);
	if (x.nsfd >= 0)
		close(x.nsfd);
	nl_close(&x.nl);
	return cni_failed() ? -1 : 0;
}

int cni_del(struct cni_req *r)
{
	struct attachment a;
	struct nl nl;
	int err = 0;

	if (begin(&nl))
		return -1;
	if (!attachment_find(r->container_id, r->ifname, &a))
		err = attachment_remove_all(r, &nl, &a);
	/* nothing of ours left: the lease may be, all the same */
	else if (r->ipam_type)
		err = ipam_run(r, "DEL", NULL, NULL, NULL);
	nl_close(&nl);
	return err;
}

#define check_fail(...)							\
	cni_fail(CNI_ERR_CHECK, "the attachment is not as ADD left it",	\
		 __VA_ARGS__)

struct check_inside {
	const struct cni_req *r;
	int host_ifindex;
};

/* Inside the container: the interface, the other end of the host side,
 * with the addresses and routes of prevResult.
 */
static int check_inside(const struct container *c, void *arg)
{
	const struct check_inside *ci = arg;
	const struct cni_result *prev = &ci->r->prev;
	struct nl_link link;
	struct nl cnl;
	int err = 0;

	if (nl_open(&cnl))
		return cni_fail(CNI_ERR_FAILED, "netlink", "in %s", c->netns);
	if (nl_link_get(&cnl, c->ifname, &link)) {
		err = check_fail("%s is gone from %s", c->ifname, c->netns);
		goto out;
	}
	if (link.peer_ifindex != ci->host_ifindex) {
		err = check_fail("%s in %s is not the veth bpfnat made",
				 c->ifname, c->netns);
		goto out;
	}
	if (!(link.flags & IFF_UP)) {
		err = check_fail("%s in %s is down", c->ifname, c->netns);
		goto out;
	}
	for (size_t i = 0; !err && i < prev->n_ips; i++) {
		if (prev->ips[i].interface >= 0 &&
		    prev->ips[i].interface != prev->sandbox_index)
			continue;
		if (nl_addr_plen(&cnl, link.ifindex, prev->ips[i].addr) !=
		    prev->ips[i].plen)
			err = check_fail("address %s is gone from %s",
					 cidr_str(prev->ips[i].addr,
						  prev->ips[i].plen), c->ifname);
	}
	for (size_t i = 0; !err && i < prev->n_routes; i++) {
		const struct container_route *rt = &prev->routes[i];

		if (nl_route_find(&cnl, rt->dst, rt->plen, rt->gw,
				  link.ifindex))
			err = check_fail("the route to %s is gone from %s",
					 cidr_str(rt->dst, rt->plen),
					 c->ifname);
	}
out:
	nl_close(&cnl);
	return err;
}

/* The data path delivers to @c: its endpoint leads to its host side. */
static int check_datapath(const struct container *c)
{
	struct endpoint ep;
	int fd, err;

	if (!dp_running(NULL))
		return check_fail("bpfnat's data path is down");
	fd = dp_pin_open(PIN_ENDPOINTS);
	if (fd < 0)
		return cni_fail(CNI_ERR_FAILED, "cannot read the data path",
				"%s: %s", PIN_ENDPOINTS, strerror(-fd));
	err = bpf_map_lookup_elem(fd, &c->addr, &ep) ? -errno : 0;
	close(fd);
	if (err || (int)ep.ifindex != c->host_ifindex)
		return check_fail("the data path does not deliver %s to %s",
				  ip_str(c->addr), c->host_if);
	return 0;
}

int cni_check(struct cni_req *r)
{
	struct check_inside ci = { .r = r };
	struct attachment a;
	struct container c;
	struct nl nl;
	int err;

	if (!r->has_prev)
		return cni_fail(CNI_ERR_CONFIG, "invalid network "
				"configuration", "prevResult: CHECK needs the "
				"result of ADD");
	if (begin(&nl))
		return -1;
	err = attachment_find(r->container_id, r->ifname, &a);
	if (err) {
		err = cni_fail(CNI_ERR_UNKNOWN_CONTAINER, "unknown container",
			       "no attachment %s/%s", r->container_id,
			       r->ifname);
		goto out;
	}
	if (strcmp(a.netns, r->netns)) {
		err = check_fail("the attachment is in %s, not %s", a.netns,
				 r->netns);
		goto out;
	}
	if (r->prev.sandbox_index >= 0 && strcmp(r->prev.sandbox_if,
						 r->ifname)) {
		err = check_fail("prevResult's interface is %s, not %s",
				 r->prev.sandbox_if, r->ifname);
		goto out;
	}
	if (container_find(&nl, a.name, &c)) {
		err = check_fail("the host side of %s is gone", a.name);
		goto out;
	}
	ci.host_ifindex = c.host_ifindex;
	err = container_run(&c, check_inside, &ci);
	if (err && !cni_failed())
		err = check_fail("cannot enter %s: %s", r->netns,
				 strerror(-err));
	if (!err)
		err = check_datapath(&c);
	if (!err && r->ipam_type)
		err = ipam_run(r, "CHECK", NULL, NULL, NULL);
out:
	nl_close(&nl);
	return err ? -1 : 0;
}

static bool attachment_valid(json_t *valid, const struct attachment *a)
{
	json_t *v;
	size_t i;

	json_array_foreach(valid, i, v) {
		const char *id = json_string_value(json_object_get(
			v, "containerID"));
		const char *ifname = json_string_value(json_object_get(
			v, "ifname"));

		if (id && ifname && !strcmp(id, a->container_id) &&
		    !strcmp(ifname, a->ifname))
			return true;
	}
	return false;
}

int cni_gc(struct cni_req *r)
{
	json_t *valid = json_object_get(r->conf, "cni.dev/valid-attachments");
	struct attachment *v;
	struct nl nl;
	size_t n;
	int err;

	if (!json_is_array(valid))
		return cni_fail(CNI_ERR_CONFIG, "invalid network "
				"configuration", "cni.dev/valid-attachments: "
				"expected the list of attachments that stay");
	if (begin(&nl))
		return -1;
	err = attachment_list(&v, &n);
	if (err) {
		nl_close(&nl);
		return cni_fail(CNI_ERR_IO, "cannot read the attachments",
				"%s: %s", ATTACH_DIR, strerror(-err));
	}
	/* as much as can go goes; the first failure is reported */
	for (size_t i = 0; i < n; i++) {
		if (strcmp(v[i].network, r->network) ||
		    attachment_valid(valid, &v[i]))
			continue;
		pr_info("GC: %s (%s/%s)", v[i].name, v[i].container_id,
			v[i].ifname);
		attachment_remove_all(r, &nl, &v[i]);
	}
	free(v);
	nl_close(&nl);
	if (r->ipam_type && ipam_speaks_1_1(r))
		ipam_run(r, "GC", NULL, NULL, NULL);
	return cni_failed() ? -1 : 0;
}

int cni_status(struct cni_req *r)
{
	struct bpfnat_config cfg;
	struct nl_link link;
	struct pool pool;
	struct nl nl;
	uint32_t addr;
	int err, ifindex;

	err = nl_open(&nl);
	if (err)
		return cni_fail(CNI_ERR_FAILED, "netlink", "%s",
				strerror(-err));
	err = dp_config(&cfg);
	if (err == -EPROTO) {
		err = cni_fail(CNI_ERR_UNAVAILABLE, "another bpfnat's data "
			       "path runs", "layout v%u: 'bpfnat down' "
			       "removes it", cfg.version);
		goto out;
	}
	/* down: an ADD brings it up, on the uplink it needs */
	if (err && r->up.uplink && nl_link_get(&nl, r->up.uplink, &link)) {
		err = cni_fail(CNI_ERR_UNAVAILABLE, "no uplink", "uplink %s "
			       "does not exist", r->up.uplink);
		goto out;
	}
	if (err && !r->up.uplink && nl_route_default(&nl, &ifindex)) {
		err = cni_fail(CNI_ERR_UNAVAILABLE, "no uplink", "no default "
			       "route to take the uplink from, and no "
			       "\"uplink\" in the configuration");
		goto out;
	}
	err = 0;
	if (!r->ipam_type) {
		if (dp_running(NULL))
			dp_pool(&pool);
		else
			pool = r->up.pool;
		if (container_pool_free(&nl, &pool, &addr))
			err = cni_fail(CNI_ERR_UNAVAILABLE, "no free address",
				       "pool %s is full",
				       cidr_str(pool.net, pool.plen));
	} else if (ipam_speaks_1_1(r)) {
		err = ipam_run(r, "STATUS", NULL, NULL, NULL);
	}
out:
	nl_close(&nl);
	return err ? -1 : 0;
}
