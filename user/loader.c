// SPDX-License-Identifier: GPL-2.0-only
/*
 * `up` in phases with one rollback, `down`, and containers joining and
 * leaving a running data path (see loader.h).
 */
#define _GNU_SOURCE		/* sched_setaffinity() */
#include <errno.h>
#include <limits.h>
#include <assert.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "bpfnat.skel.h"
#include "loader.h"
#include "lock.h"
#include "log.h"
#include "maps.h"
#include "ports.h"
#include "sock.h"
#include "tc.h"
#include "xdp.h"

/*
 * What one `up` makes anew, by fd (-1 where there is none): its programs,
 * and the two maps that belong to one configuration, which a repeated
 * `up` stages with its programs and moves into place with them, so that
 * the running programs keep reading what they were given until the
 * commit.  Every other map is shared by all generations of programs.
 */
struct gen {
	int container, uplink, guard, flush;
	int xdp_container, xdp_uplink, xdp_pass;
	int sock[SOCK_HOOKS];	/* the cgroup socket hooks (sock.h) */
	int exclude, exclude6;
	int config;		/* last: its pin says "running" */
};

/* Each program of a generation with its pin name; then each object, in
 * the order of a commit.
 */
#define GEN_EACH_PROG(g, X)						\
	X((g)->container, PIN_PROG_CONTAINER)				\
	X((g)->uplink, PIN_PROG_UPLINK)					\
	X((g)->guard, PIN_PROG_GUARD)					\
	X((g)->flush, PIN_PROG_FLUSH)					\
	X((g)->xdp_container, PIN_PROG_XDP_CONTAINER)			\
	X((g)->xdp_uplink, PIN_PROG_XDP_UPLINK)				\
	X((g)->xdp_pass, PIN_PROG_XDP_PASS)				\
	X((g)->sock[SOCK_CONNECT4], PIN_PROG_CONNECT4)			\
	X((g)->sock[SOCK_SENDMSG4], PIN_PROG_SENDMSG4)			\
	X((g)->sock[SOCK_RECVMSG4], PIN_PROG_RECVMSG4)			\
	X((g)->sock[SOCK_GETPEERNAME4], PIN_PROG_GETPEERNAME4)		\
	X((g)->sock[SOCK_CONNECT6], PIN_PROG_CONNECT6)			\
	X((g)->sock[SOCK_SENDMSG6], PIN_PROG_SENDMSG6)			\
	X((g)->sock[SOCK_RECVMSG6], PIN_PROG_RECVMSG6)			\
	X((g)->sock[SOCK_GETPEERNAME6], PIN_PROG_GETPEERNAME6)
#define GEN_EACH(g, X)							\
	GEN_EACH_PROG(g, X)						\
	X((g)->exclude, PIN_EXCLUDE)					\
	X((g)->exclude6, PIN_EXCLUDE6)					\
	X((g)->config, PIN_CONFIG)

/* What the devices are to run; world_attach() makes it so. */
struct world {
	struct gen g;
	struct bpfnat_config cfg;	/* the mode and flags that matter */
	struct nl_link uplink;		/* .ifindex 0: none */
	int tx_ports;			/* XDP mode's devmap */
};

struct up {
	struct nl *nl;
	struct up_opts *o;
	bool fresh;		/* no data path was running */
	bool leftovers;		/* a killed or failed command's things */
	bool xdp_maybe;		/* containers may be in XDP mode */
	bool attaching;		/* devices may run what the world does not */
	struct bpfnat_config running;
	struct container *v;
	size_t n;
	struct bpfnat_bpf *skel;
	struct world new, old;
	struct sock_up sock;	/* the cgroup socket hooks */
};

static int up_stop(const char *phase)
{
	const char *sig = lock_interrupted();

	if (!sig)
		return 0;
	pr_warn("up: interrupted by %s while %s", sig, phase);
	return -EINTR;
}

static int resolve_uplink(struct nl *nl, struct up_opts *o,
			  struct nl_link *uplink)
{
	int ifindex, err;

	if (o->uplink) {
		err = nl_link_get(nl, o->uplink, uplink);
		if (err) {
			pr_warn("up: uplink %s: %s", o->uplink,
				nl_strerror(nl, err));
			return err;
		}
	} else {
		err = nl_route_default(nl, &ifindex);
		if (!err)
			err = nl_link_get_index(nl, ifindex, uplink);
		if (err) {
			pr_warn("up: no default route to take the uplink "
				"from; name it with --uplink");
			return err;
		}
	}
	if (!o->snat_addr) {
		err = nl_addr_first(nl, uplink->ifindex, &o->snat_addr);
		if (err) {
			pr_warn("up: uplink %s has no IPv4 address; give one "
				"with --snat-ip", uplink->name);
			return err;
		}
	}
	if (IN6_IS_ADDR_UNSPECIFIED(&o->snat6) &&
	    nl_addr6_first(nl, uplink->ifindex, &o->snat6) == -ENOENT)
		pr_info("note: uplink %s has no global IPv6 address: IPv6 to "
			"the outside is answered unreachable (give one with "
			"--snat-ip6)", uplink->name);
	if (in6_in_prefix(&o->snat6, &o->pool6.net, o->pool6.plen)) {
		pr_warn("up: the IPv6 SNAT address %s is in the IPv6 pool %s",
			ip6_str(&o->snat6),
			cidr6_str(&o->pool6.net, o->pool6.plen));
		return -EINVAL;
	}
	return 0;
}

#define COUNT_ONE(fd, name) +1
static_assert(sizeof(struct gen) == sizeof(int) * (0 GEN_EACH(g, COUNT_ONE)),
	      "GEN_EACH names every fd of struct gen");
#undef COUNT_ONE

/* A generation with nothing in it: every fd that GEN_EACH names is -1
 * (an fd left 0 would be stdin, closed by gen_close()).
 */
static void gen_none(struct gen *g)
{
#define NONE_ONE(fd, name) (fd) = -1;
	GEN_EACH(g, NONE_ONE)
#undef NONE_ONE
}

static void gen_close(struct gen *g)
{
#define CLOSE_ONE(fd, name)						\
	if ((fd) >= 0)							\
		close(fd);						\
	(fd) = -1;
	GEN_EACH(g, CLOSE_ONE)
#undef CLOSE_ONE
}

/* The running data path's programs, configuration and devices, to go
 * back to.
 */
static int old_world_open(struct up *u)
{
	struct world *w = &u->old;

	w->cfg = u->running;
	w->tx_ports = dp_pin_open(PIN_TX_PORTS);
#define OPEN_ONE(fd, name) (fd) = dp_pin_open(name);
	GEN_EACH(&w->g, OPEN_ONE)
#undef OPEN_ONE
	if (w->g.container < 0 || w->g.uplink < 0 || w->g.config < 0) {
		pr_warn("up: the running data path has lost its pins: run "
			"'bpfnat down' first");
		return -ENOENT;
	}
	if (nl_link_get_index(u->nl, u->running.uplink_ifindex, &w->uplink))
		w->uplink.ifindex = 0;	/* gone: nothing to go back to */
	return 0;
}

static int up_plan(struct up *u)
{
	struct up_opts *o = u->o;
	const char *why;
	struct stat st;
	int err;

	err = bpffs_ready();
	if (err)
		return err;
	/* who is bpfnat's, before anything is re-pinned or removed */
	progs_learn();
	err = dp_config(&u->running);
	if (err && err != -ENOENT && err != -EPROTO) {
		pr_warn("up: read %s/%s: %s", BPFNAT_PIN_DIR, PIN_CONFIG,
			strerror(-err));
		return err;
	}
	u->fresh = err == -ENOENT;
	/* A killed or failed command may have left programs attached: the
	 * attach phase, or a rollback, goes over every device.
	 */
	u->leftovers = !stat(PIN_STAGING_DIR, &st) || progs_stray() ||
		       (u->fresh && !stat(BPFNAT_PIN_DIR, &st));
	u->attaching = u->leftovers;
	if (u->fresh) {
		u->xdp_maybe = u->leftovers;
		if (!(o->given & GIVEN_PORTS))
			up_opts_ports_default(o);
	} else {
		if (u->running.version != BPFNAT_LAYOUT_VERSION) {
			pr_warn("up: the running data path has layout v%u, "
				"this bpfnat v%u: run 'bpfnat down' first",
				u->running.version, BPFNAT_LAYOUT_VERSION);
			return -EEXIST;
		}
		if (o->ct_max && o->ct_max != u->running.ct_max) {
			pr_warn("up: --ct-max %u differs from the running %u: "
				"run 'bpfnat down' first (drops live flows)",
				o->ct_max, u->running.ct_max);
			return -EEXIST;
		}
		o->ct_max = u->running.ct_max;
		up_opts_inherit(o, &u->running);
		u->xdp_maybe = u->leftovers || u->running.mode == MODE_XDP;
	}
	if (!o->ct_max)
		o->ct_max = CT_MAX_DEFAULT;
	err = resolve_uplink(u->nl, o, &u->new.uplink);
	if (err)
		return err;
	err = container_list(u->nl, &u->v, &u->n);
	if (err) {
		pr_warn("up: list containers: %s", nl_strerror(u->nl, err));
		return err;
	}
	config_make(o, &u->new.uplink,
		    nl_addr_plen(u->nl, u->new.uplink.ifindex, o->snat_addr),
		    &u->new.cfg);
	err = sock_plan(&u->sock, o->cgroup, o->given & GIVEN_CGROUP,
			u->fresh);
	if (err)
		return err;
	if (o->mode == MODE_XDP &&
	    !xdp_uplink_wanted(o->xdp_uplink, &u->new.uplink, &why))
		pr_warn("note: XDP leaves uplink %s to tc (%s)%s",
			u->new.uplink.name, why,
			o->xdp_uplink == XDP_UPLINK_AUTO ?
				"; --xdp-uplink on to override" : "");
	return u->fresh ? 0 : old_world_open(u);
}

static int pins_compatible(struct bpfnat_bpf *skel)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);
	struct bpf_map *map;
	int fd, err;

	bpf_object__for_each_map(map, skel->obj) {
		if (bpf_map__is_internal(map))
			continue;
		fd = dp_pin_open(bpf_map__name(map));
		if (fd < 0)
			continue;
		memset(&info, 0, sizeof(info));
		err = bpf_obj_get_info_by_fd(fd, &info, &len);
		close(fd);
		if (err)
			return -errno;
		if (info.type != bpf_map__type(map) ||
		    info.key_size != bpf_map__key_size(map) ||
		    info.value_size != bpf_map__value_size(map) ||
		    info.max_entries != bpf_map__max_entries(map)) {
			pr_warn("up: pinned map %s has another layout "
				"(value %u bytes, %u entries; this bpfnat "
				"wants %u, %u): run 'bpfnat down' first",
				bpf_map__name(map), info.value_size,
				info.max_entries, bpf_map__value_size(map),
				bpf_map__max_entries(map));
			return -EEXIST;
		}
	}
	return 0;
}
static int devmap_reuse(struct bpf_map *map)
{
	int fd, err;

	fd = dp_pin_open(bpf_map__name(map));
	if (fd < 0)
		return 0;	/* none yet: libbpf creates and pins it */
	err = bpf_map__reuse_fd(map, fd);
	close(fd);
	if (err)
		pr_warn("up: reuse pinned %s: %s", bpf_map__name(map),
			strerror(-err));
	return err;
}

/*
 * A per-CPU buffer a program uses while it runs (the programs' "rooms",
 * kept off the verifier's 512 bytes of stack), not state to pin.
 */
static bool map_is_scratch(const struct bpfnat_bpf *skel,
			   const struct bpf_map *map)
{
	const char *name = bpf_map__name(map);
	size_t n = strlen(name);

	return map == skel->maps.scratch || map == skel->maps.frag_scratch ||
	       (n > 5 && !strcmp(name + n - 5, "_room"));
}

/* The program of socket hook @i (sock.h's order). */
static struct bpf_program *sock_prog(struct bpfnat_bpf *skel, int i)
{
	struct bpf_program *const prog[SOCK_HOOKS] = {
		[SOCK_CONNECT4] = skel->progs.sock_connect4,
		[SOCK_SENDMSG4] = skel->progs.sock_sendmsg4,
		[SOCK_RECVMSG4] = skel->progs.sock_recvmsg4,
		[SOCK_GETPEERNAME4] = skel->progs.sock_getpeer4,
		[SOCK_CONNECT6] = skel->progs.sock_connect6,
		[SOCK_SENDMSG6] = skel->progs.sock_sendmsg6,
		[SOCK_RECVMSG6] = skel->progs.sock_recvmsg6,
		[SOCK_GETPEERNAME6] = skel->progs.sock_getpeer6,
	};

	return prog[i];
}

static int up_load(struct up *u)
{
	const bool xdp = u->o->mode == MODE_XDP;
	const bool sock = u->sock.plan != SOCK_OFF;
	struct bpfnat_bpf *skel;
	char path[PATH_MAX];
	struct bpf_map *map;
	const char *dir;
	int err = 0;

	/* What a killed command left; its programs are known (up_plan). */
	sock_detach_pinned(PIN_STAGING_DIR);
	pins_remove(PIN_STAGING_DIR);
	if (u->fresh) {
		sock_detach_pinned(BPFNAT_PIN_DIR);
		pins_remove(BPFNAT_PIN_DIR);
	}
	err = pin_dir_make(PIN_STAGING_DIR);
	if (err)
		return err;

	u->skel = skel = bpfnat_bpf__open();
	if (!skel) {
		err = -errno;
		pr_warn("up: open BPF object: %s", strerror(-err));
		return err;
	}
	bpf_map__set_max_entries(skel->maps.ct_flows, u->o->ct_max);
	bpf_map__set_max_entries(skel->maps.ct_free, u->o->ct_max);
	bpf_map__set_max_entries(skel->maps.ct_index, 2 * u->o->ct_max);
	/* a binding has a flow */
	bpf_map__set_max_entries(skel->maps.nat_bindings, u->o->ct_max);
	bpf_map__set_max_entries(skel->maps.nat_bound, u->o->ct_max);
	bpf_object__for_each_map(map, skel->obj) {
		/* .rodata and per-CPU scratch buffers are not state */
		if (bpf_map__is_internal(map) || map_is_scratch(skel, map))
			continue;
		/* a generation's own maps are new; the rest are shared */
		dir = u->fresh || map == skel->maps.config ||
		      map == skel->maps.exclude ||
		      map == skel->maps.exclude6 ? PIN_STAGING_DIR :
						  BPFNAT_PIN_DIR;
		pin_path(dir, bpf_map__name(map), path, sizeof(path));
		bpf_map__set_pin_path(map, path);
	}
	/* the guard needs nothing but the pool to know a leak */
	skel->rodata->guard_pool_addr = u->o->pool.net;
	skel->rodata->guard_pool_mask = u->o->pool.mask;
	memcpy((void *)skel->rodata->guard_pool6, &u->o->pool6.net,
	       sizeof(skel->rodata->guard_pool6));
	skel->rodata->guard_pool6_plen = u->o->pool6.plen;
	/* the socket hooks rewrite the host's sockets alone */
	skel->rodata->sock_netns_cookie = u->sock.netns_cookie;
	if (!u->fresh) {
		err = devmap_reuse(skel->maps.tx_ports) ?:
		      pins_compatible(skel);
		if (err)
			return err;
	}
	/* The verifier's time is most of `up`: tc mode leaves XDP's out. */
	bpf_program__set_autoload(skel->progs.xdp_container, xdp);
	bpf_program__set_autoload(skel->progs.xdp_uplink, xdp);
	bpf_program__set_autoload(skel->progs.xdp_pass, xdp);
	/* ... and the socket hooks are loaded only to be attached */
	for (int i = 0; i < SOCK_HOOKS; i++)
		bpf_program__set_autoload(sock_prog(skel, i), sock);

	err = bpfnat_bpf__load(skel);
	if (err) {
		pr_warn("up: load BPF programs: %s%s", strerror(-err),
			log_verbose() ? "" : " (-v shows the verifier's log)");
		return err;
	}

	u->new.g = (struct gen){
		.container = bpf_program__fd(skel->progs.tc_container),
		.uplink = bpf_program__fd(skel->progs.tc_uplink),
		.guard = bpf_program__fd(skel->progs.tc_guard),
		.flush = bpf_program__fd(skel->progs.ct_flush),
		.xdp_container = xdp ? bpf_program__fd(skel->progs.xdp_container) : -1,
		.xdp_uplink = xdp ? bpf_program__fd(skel->progs.xdp_uplink) : -1,
		.xdp_pass = xdp ? bpf_program__fd(skel->progs.xdp_pass) : -1,
		.exclude = bpf_map__fd(skel->maps.exclude),
		.exclude6 = bpf_map__fd(skel->maps.exclude6),
		.config = bpf_map__fd(skel->maps.config),
	};
	for (int i = 0; i < SOCK_HOOKS; i++)
		u->new.g.sock[i] = sock ? bpf_program__fd(sock_prog(skel, i)) :
					  -1;
	u->new.tx_ports = bpf_map__fd(skel->maps.tx_ports);
	/* bpfnat's before it runs anywhere, and pinned where a killed
	 * `up` leaves it for the next to find (the maps are pinned by
	 * libbpf)
	 */
#define OWN_ONE(fd, name)						\
	if (!err && (fd) >= 0)						\
		err = prog_own(fd) ?: pin_fd(fd, PIN_STAGING_DIR, name);
	GEN_EACH_PROG(&u->new.g, OWN_ONE)
#undef OWN_ONE
	return err;
}

static int up_populate(struct up *u)
{
	struct bpfnat_bpf *skel = u->skel;
	__u32 zero = 0;
	int err;

	if (u->fresh) {
		err = ct_free_fill(bpf_map__fd(skel->maps.ct_free),
				   u->o->ct_max);
		if (err) {
			pr_warn("up: fill ct_free: %s", strerror(-err));
			return err;
		}
	}
	err = exclude_sync(u->new.g.exclude, u->new.g.exclude6, u->o);
	if (err) {
		pr_warn("up: fill exclude: %s", strerror(-err));
		return err;
	}
	err = endpoints_sync(bpf_map__fd(skel->maps.endpoints),
			     bpf_map__fd(skel->maps.endpoints6), &u->o->pool6,
			     u->v, u->n);
	if (err)
		return err;
	if (u->sock.plan != SOCK_OFF) {
		err = host_addrs_sync(bpf_map__fd(skel->maps.host_addrs),
				      bpf_map__fd(skel->maps.host_addrs6),
				      u->nl);
		if (err) {
			pr_warn("up: fill host_addrs: %s",
				nl_strerror(u->nl, err));
			return err;
		}
	}
	/* last: a program attached from here on has its configuration */
	if (bpf_map_update_elem(u->new.g.config, &zero, &u->new.cfg, 0)) {
		err = -errno;
		pr_warn("up: write config: %s", strerror(-err));
		return err;
	}
	return 0;
}

struct link_list {
	struct nl_link *v;
	size_t n, cap;
};
static int link_collect(const struct nl_link *link, void *data)
{
	struct link_list *l = data;

	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 64;
		struct nl_link *v = realloc(l->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = *link;
	return 0;
}
static int links_all(struct nl *nl, struct link_list *l)
{
	int err;

	memset(l, 0, sizeof(*l));
	err = nl_link_dump(nl, link_collect, l);
	if (err) {
		free(l->v);
		l->v = NULL;
	}
	return err;
}

/* Did bpfnat make @link (a container's host side)? */
static bool device_ours(const struct nl_link *link)
{
	return !strncmp(link->alias, CONTAINER_ALIAS_PREFIX,
			strlen(CONTAINER_ALIAS_PREFIX));
}

static bool is_container(const struct up *u, int ifindex)
{
	for (size_t i = 0; i < u->n; i++)
		if (u->v[i].host_ifindex == ifindex)
			return true;
	return false;
}

/* Was @ifindex an uplink, of the running data path or of this `up`? */
static bool is_uplink(const struct up *u, int ifindex)
{
	return ifindex == (int)u->running.uplink_ifindex ||
	       ifindex == u->new.uplink.ifindex;
}

/* bpfnat's filters and XDP program off @link (best effort). */
static int detach_link(struct up *u, const struct nl_link *link)
{
	int err;

	err = tc_detach(u->nl, link, device_ours(link));
	return xdp_detach(link->ifindex) ?: err;
}

/*
 * bpfnat's filters and XDP programs off every device but the uplink
 * @keep and, with @keep_containers, the containers' host sides.  Uplinks
 * come last, their guard with them: nothing runs un-NATed past a device
 * while a guard is gone.  Best effort: returns the first error.
 */
static int detach_all_but(struct up *u, int keep, bool keep_containers)
{
	struct link_list l;
	int err, ret;

	ret = links_all(u->nl, &l);
	for (int last = 0; last < 2; last++) {
		for (size_t i = 0; i < l.n; i++) {
			const struct nl_link *link = &l.v[i];

			if (link->ifindex == keep ||
			    is_uplink(u, link->ifindex) != last ||
			    (keep_containers && is_container(u, link->ifindex)))
				continue;
			err = detach_link(u, link);
			if (err && err != -ENODEV)
				ret = ret ?: err;
		}
	}
	free(l.v);
	return ret;
}

/* Inside every container, XDP mode undone (best effort). */
static int containers_xdp_down(const struct up *u)
{
	int err, ret = 0;

	for (size_t i = 0; i < u->n; i++) {
		err = xdp_container_down(&u->v[i]);
		ret = ret ?: err;
	}
	return ret;
}

/* A container's host side as a link. */
static struct nl_link host_side(const struct container *c)
{
	struct nl_link link = { .ifindex = c->host_ifindex };

	snprintf(link.name, sizeof(link.name), "%s", c->host_if);
	return link;
}

#define STOP_IF_ASKED(may_stop, what)					\
	do {								\
		if ((may_stop) && (err = up_stop(what)))		\
			return err;					\
	} while (0)

/*
 * Make every device run world @w: the uplink's guard first, then in XDP
 * mode the receivers (containers' eth0, the devmap) before the senders;
 * last, bpfnat's programs off every other device.  With @may_stop, a
 * held-back signal ends it between two devices.
 */
static int world_attach(struct up *u, const struct world *w, bool may_stop)
{
	const bool xdp = w->cfg.mode == MODE_XDP;
	const bool xdp_uplink = xdp && (w->cfg.flags & CFG_F_XDP_UPLINK);
	const struct nl_link *up = &w->uplink;
	__u32 up_if = up->ifindex;
	struct nl_link host;
	size_t i;
	int err;

	if (!up_if)
		return -ENODEV;
	if (w->g.guard >= 0)
		err = tc_attach(u->nl, up, BPF_TC_EGRESS, w->g.guard, false);
	else	/* a data path from before the guard */
		err = tc_detach_point(up, BPF_TC_EGRESS);
	if (err)
		return err;
	if (xdp) {
		u->xdp_maybe = true;
		for (i = 0; i < u->n; i++) {
			err = xdp_container_up(&u->v[i], w->g.xdp_pass,
					       w->g.xdp_container, w->tx_ports);
			if (err)
				return err;
			STOP_IF_ASKED(may_stop, "attaching XDP");
		}
		if (xdp_uplink) {
			if (bpf_map_update_elem(w->tx_ports, &up_if, &up_if, 0)) {
				err = -errno;
				pr_warn("XDP: add %s to tx_ports: %s", up->name,
					strerror(-err));
				return err;
			}
		} else {
			bpf_map_delete_elem(w->tx_ports, &up_if);
		}
	}
	err = tc_attach(u->nl, up, BPF_TC_INGRESS, w->g.uplink, false);
	if (err)
		return err;
	for (i = 0; i < u->n; i++) {
		host = host_side(&u->v[i]);
		err = tc_attach(u->nl, &host, BPF_TC_INGRESS, w->g.container,
				true);
		if (err)
			return err;
		STOP_IF_ASKED(may_stop, "attaching to containers");
	}
	err = xdp_uplink ? xdp_attach(up_if, up->name, w->g.xdp_uplink) :
			   xdp_detach(up_if);
	if (err)
		return err;
	if (!xdp && u->xdp_maybe) {
		err = containers_xdp_down(u);
		if (err)
			return err;
	}
	return detach_all_but(u, up_if, true);
}

static int up_sock_attach(struct up *u)
{
	struct bpf_program *prog[SOCK_HOOKS];

	for (int i = 0; i < SOCK_HOOKS; i++)
		prog[i] = sock_prog(u->skel, i);
	return sock_attach(&u->sock, prog);
}

/* How often, and how far apart, a timer the kernel could not allocate
 * is asked for again.
 */
#define SWEEP_START_TRIES	40
#define SWEEP_START_PAUSE_US	50000

/*
 * Run on the next CPU of @allowed after the one of @tries: the program
 * runs where its caller does, and an atomic allocation refused on one
 * CPU (its caches empty for a moment) is often granted on another.
 */
static void cpu_next(const cpu_set_t *allowed, int tries)
{
	int n = CPU_COUNT(allowed), k = tries % (n ? n : 1);
	cpu_set_t one;

	for (int cpu = 0; cpu < CPU_SETSIZE; cpu++) {
		if (!CPU_ISSET(cpu, allowed) || k--)
			continue;
		CPU_ZERO(&one);
		CPU_SET(cpu, &one);
		sched_setaffinity(0, sizeof(one), &one);
		return;
	}
}

static int sweep_start(struct bpfnat_bpf *skel)
{
	/* what ct_sweep_start() returns, by the step that refused (with
	 * bpf_timer_init()'s errno above the low byte)
	 */
	static const char *const step[] = {
		[1] = "no ct_sweep entry", [2] = "bpf_timer_init refused",
		[3] = "bpf_timer_set_callback refused",
		[4] = "bpf_timer_start refused",
	};
	char pkt[ETH_HLEN] = {};
	DECLARE_LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = pkt,
			    .data_size_in = sizeof(pkt), .repeat = 1);
	unsigned int why, errnum;
	int err, tries = 0;
	bool moved = false;
	cpu_set_t allowed;

	if (sched_getaffinity(0, sizeof(allowed), &allowed))
		CPU_ZERO(&allowed);
	do {
		err = bpf_prog_test_run_opts(
			bpf_program__fd(skel->progs.ct_sweep_start), &opts);
		if (err)
			break;
		why = opts.retval & 0xff;
		errnum = opts.retval >> 8;
		/* the timer is allocated atomically, which the kernel may
		 * refuse for a moment: again, on another CPU
		 */
		if (why == 2 && errnum == ENOMEM && CPU_COUNT(&allowed)) {
			cpu_next(&allowed, tries + 1);
			moved = true;
		}
	} while (why == 2 && errnum == ENOMEM &&
		 ++tries < SWEEP_START_TRIES && !usleep(SWEEP_START_PAUSE_US));
	if (moved)
		sched_setaffinity(0, sizeof(allowed), &allowed);
	if (!err && !opts.retval && tries)
		pr_info("up: conntrack expiry started after %d refusals", tries);
	if (err) {
		err = -errno;
		pr_warn("up: start conntrack expiry: %s", strerror(-err));
		return err;
	}
	if (!opts.retval)
		return 0;
	if (errnum)
		pr_warn("up: start conntrack expiry: %s: %s",
			why < sizeof(step) / sizeof(step[0]) && step[why] ?
			step[why] : "timer refused", strerror(errnum));
	else
		pr_warn("up: start conntrack expiry: %s",
			why < sizeof(step) / sizeof(step[0]) && step[why] ?
			step[why] : "timer refused");
	return errnum ? -(int)errnum : -EINVAL;
}

static int up_commit(struct up *u)
{
	int err;

	err = sweep_start(u->skel) ?: sock_commit(&u->sock, u->fresh);
	if (err)
		return err;
	if (u->fresh) {
		/* one step: from here on the data path runs */
		rmdir(BPFNAT_PIN_DIR);
		if (rename(PIN_STAGING_DIR, BPFNAT_PIN_DIR)) {
			err = -errno;
			pr_warn("up: move %s to %s: %s", PIN_STAGING_DIR,
				BPFNAT_PIN_DIR, strerror(-err));
			return err;
		}
	} else {
		/* the programs, then what they read, the config last */
#define COMMIT_ONE(fd, name)						\
		if (!err && (fd) >= 0)					\
			err = pin_commit(name);				\
		else if (!err)						\
			pin_unlink(BPFNAT_PIN_DIR, name);
		GEN_EACH(&u->new.g, COMMIT_ONE)
#undef COMMIT_ONE
		if (err)
			return err;
		pins_remove(PIN_STAGING_DIR);
	}
	/* what the new hooks replaced, off before the programs are forgotten */
	sock_finish(&u->sock);
	progs_forget_unpinned();
	return 0;
}

/* Back to where `up` started; says what it could not put back. */
static void up_rollback(struct up *u)
{
	int err, ret;

	err = sock_rollback(&u->sock, u->old.g.sock);
	if (u->fresh) {
		if (u->attaching) {
			ret = containers_xdp_down(u);
			err = err ?: ret;
			ret = detach_all_but(u, 0, false);
			err = err ?: ret;
		}
		pins_remove(PIN_STAGING_DIR);
		/* what could not be taken off stays known as bpfnat's */
		if (err)
			pr_warn("up: could not take everything off again: run "
				"'bpfnat down'");
		else
			progs_forget_unpinned();
		return;
	}
	if (u->attaching) {
		ret = world_attach(u, &u->old, false);
		err = err ?: ret;
	}
	/* the old generation's pins, where a failed commit moved them */
#define REPIN_ONE(fd, name)						\
	if ((fd) >= 0) {						\
		ret = pin_fd(fd, BPFNAT_PIN_DIR, name);			\
		err = err ?: ret;					\
	} else {							\
		pin_unlink(BPFNAT_PIN_DIR, name);			\
	}
	GEN_EACH(&u->old.g, REPIN_ONE)
#undef REPIN_ONE
	pins_remove(PIN_STAGING_DIR);
	if (err)
		pr_warn("up: could not put the running data path back as it "
			"was: run 'bpfnat up' again");
	else
		progs_forget_unpinned();
}

int dp_up(struct nl *nl, struct up_opts *o)
{
	struct up u = { .nl = nl, .o = o };
	int err;

	gen_none(&u.old.g);
	gen_none(&u.new.g);
	u.old.tx_ports = -1;
	sock_up_init(&u.sock);
	/* half-made containers go first: the plan lists what stays */
	dp_containers_recover(nl);
	err = up_plan(&u);
	if (err)
		goto out;
	err = up_stop("planning") ?: up_load(&u);
	if (!err)
		err = up_stop("loading") ?: up_populate(&u);
	if (!err) {
		u.attaching = true;
		/* the socket hooks first: they need nothing of the devices */
		err = up_stop("filling maps") ?: up_sock_attach(&u) ?:
		      world_attach(&u, &u.new, true);
	}
	if (!err)
		err = up_stop("attaching") ?: up_commit(&u);
	if (err) {
		up_rollback(&u);
		goto out;
	}
	pr_info("up: %s, SNAT to %s and %s, %zu containers",
		u.new.uplink.name, ip_str(o->snat_addr),
		IN6_IS_ADDR_UNSPECIFIED(&o->snat6) ? "no IPv6 address" :
						     ip6_str(&o->snat6), u.n);
out:
	sock_up_close(&u.sock);
	gen_close(&u.old.g);
	if (u.old.tx_ports >= 0)
		close(u.old.tx_ports);
	bpfnat_bpf__destroy(u.skel);
	free(u.v);
	return err;
}

int dp_down(struct nl *nl)
{
	struct up u = { .nl = nl };
	int err, ret;

	progs_learn();
	dp_running(&u.running);
	dp_containers_recover(nl);
	ret = container_list(nl, &u.v, &u.n);
	if (ret)
		pr_warn("down: list containers: %s", nl_strerror(nl, ret));
	err = containers_xdp_down(&u);
	ret = ret ?: err;
	err = detach_all_but(&u, 0, false);
	ret = ret ?: err;
	err = sock_down();
	ret = ret ?: err;
	pins_remove(PIN_STAGING_DIR);
	pins_remove(BPFNAT_PIN_DIR);
	/* what could not be taken off stays known as bpfnat's */
	if (!ret)
		progs_forget_unpinned();
	free(u.v);
	return ret;
}

void dp_pool(struct pool *pool)
{
	struct bpfnat_config cfg;
	uint32_t addr;
	int plen;

	if (dp_running(&cfg)) {
		pool_init(pool, cfg.pool_addr,
			  __builtin_popcount(cfg.pool_mask));
		return;
	}
	parse_cidr(POOL_DEFAULT, &addr, &plen, false);
	pool_init(pool, addr, plen);
}

void dp_pool6(struct pool6 *pool6)
{
	struct bpfnat_config cfg;
	struct in6_addr addr;
	int plen;

	if (dp_running(&cfg)) {
		config_pool6(&cfg, pool6);
		return;
	}
	parse_cidr6(POOL6_DEFAULT, &addr, &plen, false);
	pool6_init(pool6, &addr, plen);
}

/* The IPv6 endpoint of @c, if it has an address in the running pool:
 * added (@add) or removed.  0 or -errno.
 */
static int endpoint6_set(const struct container *c,
			 const struct bpfnat_config *cfg,
			 const struct endpoint *ep, bool add)
{
	struct pool6 pool6;
	int map, err = 0;

	config_pool6(cfg, &pool6);
	if (!c->plen6 || !in6_in_prefix(&c->addr6, &pool6.net, pool6.plen))
		return 0;
	map = dp_pin_open(PIN_ENDPOINTS6);
	if (map < 0)
		return map;
	if (add && bpf_map_update_elem(map, &c->addr6, ep, 0))
		err = -errno;
	if (!add)
		bpf_map_delete_elem(map, &c->addr6);
	close(map);
	return err;
}

/* A container added while XDP mode runs joins it. */
static int container_xdp_up(const struct container *c)
{
	int pass, prog, tx, err;

	pass = dp_pin_open(PIN_PROG_XDP_PASS);
	prog = dp_pin_open(PIN_PROG_XDP_CONTAINER);
	tx = dp_pin_open(PIN_TX_PORTS);
	if (pass < 0 || prog < 0 || tx < 0)
		err = pass < 0 ? pass : prog < 0 ? prog : tx;
	else
		err = xdp_container_up(c, pass, prog, tx);
	if (pass >= 0)
		close(pass);
	if (prog >= 0)
		close(prog);
	if (tx >= 0)
		close(tx);
	return err;
}

int dp_container_attach(struct nl *nl, const struct container *c)
{
	struct nl_link host = host_side(c);
	struct bpfnat_config cfg;
	struct endpoint ep;
	int prog, map, err;

	if (!dp_running(&cfg))
		return 0;
	err = container_endpoint(c, &ep);
	if (err) {
		pr_warn("ns add %s: read eth0: %s", c->name, strerror(-err));
		return err;
	}
	map = dp_pin_open(PIN_ENDPOINTS);
	prog = dp_pin_open(PIN_PROG_CONTAINER);
	if (map < 0 || prog < 0) {
		err = map < 0 ? map : prog;
		pr_warn("ns add %s: open pinned data path: %s", c->name,
			strerror(-err));
		goto out;
	}
	if (bpf_map_update_elem(map, &c->addr, &ep, 0)) {
		err = -errno;
		pr_warn("ns add %s: add endpoint: %s", c->name,
			strerror(-err));
		goto out;
	}
	err = endpoint6_set(c, &cfg, &ep, true);
	if (err) {
		pr_warn("ns add %s: add IPv6 endpoint: %s", c->name,
			strerror(-err));
		bpf_map_delete_elem(map, &c->addr);
		goto out;
	}
	err = tc_attach(nl, &host, BPF_TC_INGRESS, prog, true);
	if (!err && cfg.mode == MODE_XDP)
		err = container_xdp_up(c);
	if (err) {
		bpf_map_delete_elem(map, &c->addr);
		endpoint6_set(c, &cfg, &ep, false);
	}
out:
	if (map >= 0)
		close(map);
	if (prog >= 0)
		close(prog);
	return err;
}

int dp_container_detach(const struct container *c)
{
	struct bpfnat_config cfg;
	int map, n;

	map = dp_pin_open(PIN_ENDPOINTS);
	if (map < 0)
		return 0;	/* bpfnat is down */
	bpf_map_delete_elem(map, &c->addr);
	close(map);
	if (dp_running(&cfg))
		endpoint6_set(c, &cfg, NULL, false);
	/* its published ports go with it, or a later container of this
	 * address would receive them
	 */
	n = ports_forget(c);
	if (n < 0) {
		pr_warn("ns del %s: remove its published ports: %s", c->name,
			strerror(-n));
		return n;
	}
	if (n)
		pr_info("ns del %s: %d published ports removed", c->name, n);
	/* a later container with this address must not inherit its flows */
	n = ct_flush(c->addr, c->plen6 ? &c->addr6 : NULL);
	if (n < 0) {
		pr_warn("ns del %s: flush its flows: %s", c->name,
			strerror(-n));
		return n;
	}
	pr_info("ns del %s: %d flows removed", c->name, n);
	return 0;
}

int dp_attached(struct nl *nl, int *ifindex, size_t max)
{
	struct link_list l;
	size_t i, n = 0;
	int err;

	err = links_all(nl, &l);
	for (i = 0; !err && i < l.n; i++) {
		if (!tc_ours(l.v[i].ifindex, BPF_TC_INGRESS))
			continue;
		if (n < max)
			ifindex[n] = l.v[i].ifindex;
		n++;
	}
	free(l.v);
	return err ? err : (int)n;
}

int dp_container_recover(struct nl *nl, const char *name)
{
	struct container c;
	int err = 0;

	if (container_intent_read(nl, name, &c))
		return 0;
	pr_info("%s: removing what a killed command left of it", name);
	if (c.host_ifindex) {
		err = dp_container_detach(&c) ?: container_del(nl, &c);
	} else {
		err = netns_del(name);
		if (err == -ENOENT)
			err = 0;
		else if (err)
			pr_warn("%s: remove namespace: %s", name,
				strerror(-err));
	}
	if (err)
		return err;
	container_intent_end(name);
	return 1;
}

void dp_containers_recover(struct nl *nl)
{
	char names[64][NETNS_NAME_MAX + 1];
	int n;

	/* 64 at a time, each removal changing the directory; bounded, in
	 * case an intent will not go
	 */
	for (int round = 0; round < 64; round++) {
		n = container_intents(names, 64);
		if (n <= 0)
			return;
		for (int i = 0; i < n; i++)
			if (dp_container_recover(nl, names[i]) < 0)
				return;		/* said why; next time */
	}
}
