// SPDX-License-Identifier: GPL-2.0-only
/*
 * Loading, pinning and attaching.  A filter is bpfnat's when it sits at
 * (BPFNAT_TC_PRIO, BPFNAT_TC_HANDLE) on a clsact ingress hook and runs a
 * program of bpfnat's name; nothing else is ever replaced or removed.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <net/if.h>
#include <linux/magic.h>
#include <linux/pkt_sched.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "bpfnat.skel.h"
#include "loader.h"
#include "log.h"
#include "maps.h"
#include "xdp.h"

#define BPFFS_ROOT "/sys/fs/bpf"

void up_opts_default(struct up_opts *o)
{
	uint32_t addr;
	int plen;

	memset(o, 0, sizeof(*o));
	parse_cidr(POOL_DEFAULT, &addr, &plen, false);
	pool_init(&o->pool, addr, plen);
	o->port_lo = PORTS_DEFAULT_LO;
	o->port_hi = PORTS_DEFAULT_HI;
	o->mode = MODE_TC;
	/* RFC 5382 REQ-5, RFC 4787 REQ-5, RFC 5508 REQ-1 minimums, and
	 * nf_conntrack's 10 s after a reset.
	 */
	o->timeout[TMO_TCP_SYN] = 240;
	o->timeout[TMO_TCP_EST] = 7440;
	o->timeout[TMO_TCP_FIN] = 240;
	o->timeout[TMO_TCP_CLOSE] = 10;
	o->timeout[TMO_UDP_NEW] = 120;
	o->timeout[TMO_UDP_EST] = 300;
	o->timeout[TMO_ICMP] = 60;
}

static void pin_path(const char *name, char *path, size_t size)
{
	snprintf(path, size, "%s/%s", BPFNAT_PIN_DIR, name);
}

int dp_pin_open(const char *name)
{
	char path[PATH_MAX];
	int fd;

	pin_path(name, path, sizeof(path));
	fd = bpf_obj_get(path);
	return fd < 0 ? -errno : fd;
}

bool dp_running(struct bpfnat_config *cfg)
{
	struct bpfnat_config c;
	__u32 zero = 0;
	int fd, err;

	fd = dp_pin_open(PIN_CONFIG);
	if (fd < 0)
		return false;
	err = bpf_map_lookup_elem(fd, &zero, &c);
	close(fd);
	if (err || !c.version)
		return false;
	if (cfg)
		*cfg = c;
	return true;
}

/* The ids of bpfnat's programs: those pinned, and those this `up` loads. */
#define OURS_MAX 32
static __u32 ours[OURS_MAX];
static size_t n_ours;
static bool ours_learnt;

static void ours_add(__u32 id)
{
	if (id && n_ours < OURS_MAX)
		ours[n_ours++] = id;
}

static __u32 prog_fd_id(int fd)
{
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info);

	return bpf_obj_get_info_by_fd(fd, &info, &len) ? 0 : info.id;
}

/* The programs of the running data path, before anything re-pins them. */
static void ours_learn(void)
{
	static const char *const names[] = {
		PIN_PROG_CONTAINER, PIN_PROG_UPLINK, PIN_PROG_XDP_CONTAINER,
		PIN_PROG_XDP_UPLINK, PIN_PROG_XDP_PASS,
	};
	int fd;

	if (ours_learnt)
		return;
	ours_learnt = true;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		fd = dp_pin_open(names[i]);
		if (fd >= 0) {
			ours_add(prog_fd_id(fd));
			close(fd);
		}
	}
}

bool dp_prog_is_ours(__u32 id)
{
	ours_learn();
	for (size_t i = 0; id && i < n_ours; i++)
		if (ours[i] == id)
			return true;
	return false;
}

/* The id of bpfnat's program at tc ingress of @ifindex, or 0. */
static __u32 tc_ours(int ifindex)
{
	DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex,
			    .attach_point = BPF_TC_INGRESS);
	DECLARE_LIBBPF_OPTS(bpf_tc_opts, q, .handle = BPFNAT_TC_HANDLE,
			    .priority = BPFNAT_TC_PRIO);

	if (bpf_tc_query(&hook, &q) || !dp_prog_is_ours(q.prog_id))
		return 0;
	return q.prog_id;
}

/* Attach at tc ingress; *@created tells if the clsact qdisc is new. */
static int tc_attach(int ifindex, const char *ifname, int prog_fd,
		     bool *created)
{
	DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex,
			    .attach_point = BPF_TC_INGRESS);
	DECLARE_LIBBPF_OPTS(bpf_tc_opts, q, .handle = BPFNAT_TC_HANDLE,
			    .priority = BPFNAT_TC_PRIO);
	DECLARE_LIBBPF_OPTS(bpf_tc_opts, opts, .handle = BPFNAT_TC_HANDLE,
			    .priority = BPFNAT_TC_PRIO, .prog_fd = prog_fd,
			    .flags = BPF_TC_F_REPLACE);
	int err;

	err = bpf_tc_hook_create(&hook);
	if (err && err != -EEXIST) {
		pr_warn("attach to %s: create clsact qdisc: %s", ifname,
			strerror(-err));
		return err;
	}
	if (created)
		*created = !err;
	if (!bpf_tc_query(&hook, &q) && !dp_prog_is_ours(q.prog_id)) {
		pr_warn("attach to %s: tc filter pref %u handle %#x belongs "
			"to another program (id %u)", ifname, BPFNAT_TC_PRIO,
			BPFNAT_TC_HANDLE, q.prog_id);
		return -EBUSY;
	}
	err = bpf_tc_attach(&hook, &opts);
	if (err)
		pr_warn("attach to %s: %s", ifname, strerror(-err));
	return err;
}

/*
 * Take bpfnat's filter off @ifindex; with @may_destroy (bpfnat created the
 * clsact qdisc, or the device), drop the qdisc too when no filter at all
 * is left on it, so the device looks as it did before `up`.
 */
static int tc_detach(struct nl *nl, int ifindex, bool may_destroy)
{
	DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex,
			    .attach_point = BPF_TC_INGRESS);
	DECLARE_LIBBPF_OPTS(bpf_tc_opts, opts, .handle = BPFNAT_TC_HANDLE,
			    .priority = BPFNAT_TC_PRIO);
	int err;

	err = bpf_tc_detach(&hook, &opts);
	if (err && err != -ENOENT)
		return err;
	if (may_destroy &&
	    nl_tc_filter_count(nl, ifindex, TC_H_MAKE(TC_H_CLSACT,
						      TC_H_MIN_INGRESS)) == 0 &&
	    nl_tc_filter_count(nl, ifindex, TC_H_MAKE(TC_H_CLSACT,
						      TC_H_MIN_EGRESS)) == 0) {
		hook.attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS;
		bpf_tc_hook_destroy(&hook);
	}
	return 0;
}

static int bpffs_ready(void)
{
	struct statfs st;

	if (statfs(BPFFS_ROOT, &st) == 0 && st.f_type == BPF_FS_MAGIC)
		return 0;
	if (mount("bpf", BPFFS_ROOT, "bpf", 0, "mode=0700")) {
		int err = -errno;

		pr_warn("up: mount bpffs at %s: %s", BPFFS_ROOT,
			strerror(-err));
		return err;
	}
	return 0;
}

static int pin_dir_ready(void)
{
	if (mkdir(BPFNAT_PIN_DIR, 0700) && errno != EEXIST) {
		int err = -errno;

		pr_warn("up: create %s: %s", BPFNAT_PIN_DIR, strerror(-err));
		return err;
	}
	chmod(BPFNAT_PIN_DIR, 0700);
	return 0;
}

/*
 * A pinned map from an earlier `up` must have exactly the shape this
 * build expects; otherwise libbpf would refuse it with a message only -v
 * shows, or worse, an old layout would be misread.
 */
static int pins_compatible(struct bpfnat_bpf *skel)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);
	char path[PATH_MAX];
	struct bpf_map *map;
	int fd, err;

	bpf_object__for_each_map(map, skel->obj) {
		if (bpf_map__is_internal(map))
			continue;
		pin_path(bpf_map__name(map), path, sizeof(path));
		fd = bpf_obj_get(path);
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

/*
 * libbpf 1.1 refuses to reuse a pinned devmap: the kernel adds
 * BPF_F_RDONLY_PROG to every devmap's flags and libbpf compares them with
 * the definition's.  Hand it the pinned map's fd ourselves.
 */
static int devmap_reuse(struct bpf_map *map)
{
	char path[PATH_MAX];
	int fd, err;

	pin_path(bpf_map__name(map), path, sizeof(path));
	fd = bpf_obj_get(path);
	if (fd < 0)
		return 0;	/* none yet: libbpf creates and pins it */
	err = bpf_map__reuse_fd(map, fd);
	close(fd);
	if (err)
		pr_warn("up: reuse pinned %s: %s", path, strerror(-err));
	return err;
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
	return 0;
}

static int ct_free_fill(int fd, uint32_t ct_max)
{
	for (uint32_t slot = 0; slot < ct_max; slot++)
		if (bpf_map_update_elem(fd, NULL, &slot, 0))
			return -errno;
	return 0;
}

static bool exclude_wanted(const struct up_opts *o,
			   const struct exclude_key *k)
{
	for (unsigned int i = 0; i < o->n_exclude; i++)
		if (o->exclude[i].prefixlen == k->prefixlen &&
		    o->exclude[i].addr == k->addr)
			return true;
	return false;
}

/* The wanted exclusions first, then the stale ones out: at no moment is
 * a destination that stays excluded NATed.
 */
static int exclude_sync(int fd, const struct up_opts *o)
{
	struct exclude_key key, *prev = NULL;
	__u8 one = 1;
	unsigned int i;

	for (i = 0; i < o->n_exclude; i++)
		if (bpf_map_update_elem(fd, &o->exclude[i], &one, 0))
			return -errno;
	while (bpf_map_get_next_key(fd, prev, &key) == 0) {
		if (!exclude_wanted(o, &key) && !bpf_map_delete_elem(fd, &key)) {
			prev = NULL;	/* LPM tries: restart after a delete */
			continue;
		}
		prev = &key;
	}
	return 0;
}

/* What `up` was given before, for the options not given now. */
static void exclude_read(int fd, struct up_opts *o)
{
	struct exclude_key key, *prev = NULL;

	o->n_exclude = 0;
	while (o->n_exclude < EXCLUDE_MAX &&
	       bpf_map_get_next_key(fd, prev, &key) == 0) {
		o->exclude[o->n_exclude++] = key;
		prev = &o->exclude[o->n_exclude - 1];
	}
}

static int endpoints_sync(int fd, const struct container *v, size_t n)
{
	__be32 key, next, *pkey = NULL;
	struct endpoint ep;
	size_t i;
	int err;

	for (i = 0; i < n; i++) {
		err = container_endpoint(&v[i], &ep);
		if (err) {
			pr_warn("up: container %s: read eth0: %s", v[i].name,
				strerror(-err));
			return err;
		}
		if (bpf_map_update_elem(fd, &v[i].addr, &ep, 0))
			return -errno;
	}
	/* forget containers that are gone */
	while (bpf_map_get_next_key(fd, pkey, &next) == 0) {
		key = next;
		pkey = &key;
		for (i = 0; i < n && v[i].addr != key; i++)
			;
		if (i == n) {
			bpf_map_delete_elem(fd, &key);
			pkey = NULL;
		}
	}
	return 0;
}

/* Pin @prog as @name, replacing an older pin in one step (a rename), so
 * there is always a program of that name while `up` runs.
 */
static int prog_pin(struct bpf_program *prog, const char *name)
{
	char path[PATH_MAX], tmp[PATH_MAX + 8];
	int err;

	pin_path(name, path, sizeof(path));
	/* bpffs refuses names with a dot */
	snprintf(tmp, sizeof(tmp), "%s_new", path);
	unlink(tmp);
	err = bpf_program__pin(prog, tmp);
	if (!err && rename(tmp, path))
		err = -errno;
	if (err) {
		unlink(tmp);
		pr_warn("up: pin %s: %s", path, strerror(-err));
	}
	return err;
}

static int sweep_start(struct bpfnat_bpf *skel)
{
	char pkt[ETH_HLEN] = {};
	DECLARE_LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = pkt,
			    .data_size_in = sizeof(pkt), .repeat = 1);
	int err;

	err = bpf_prog_test_run_opts(bpf_program__fd(skel->progs.ct_sweep_start),
				     &opts);
	if (err || opts.retval) {
		pr_warn("up: start conntrack expiry: %s",
			err ? strerror(errno) : "timer refused");
		return err ? -errno : -EINVAL;
	}
	return 0;
}

/* XDP mode's programs, once no device runs them. */
static void xdp_unpin(void)
{
	static const char *const names[] = {
		PIN_PROG_XDP_CONTAINER, PIN_PROG_XDP_UPLINK, PIN_PROG_XDP_PASS,
	};
	char path[PATH_MAX];

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		pin_path(names[i], path, sizeof(path));
		unlink(path);
	}
}

/* Everything under the pin directory is bpfnat's: remove it all. */
static void remove_pins(void)
{
	char path[PATH_MAX];
	struct dirent *d;
	DIR *dir;

	dir = opendir(BPFNAT_PIN_DIR);
	if (!dir)
		return;
	while ((d = readdir(dir))) {
		if (d->d_name[0] == '.')
			continue;
		pin_path(d->d_name, path, sizeof(path));
		unlink(path);
	}
	closedir(dir);
	rmdir(BPFNAT_PIN_DIR);
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

/* Every link of the namespace: read whole before anything is changed,
 * since the socket cannot take requests in the middle of a dump.
 */
static int links_all(struct nl *nl, struct link_list *l)
{
	memset(l, 0, sizeof(*l));
	return nl_link_dump(nl, link_collect, l);
}

/*
 * Devices whose clsact qdisc bpfnat may remove when it leaves them bare:
 * the containers' host sides (bpfnat made the devices) and an uplink whose
 * qdisc `up` created.
 */
struct owned {
	const struct container *v;
	size_t n;
	int uplink;		/* 0: none */
};

static bool owns_qdisc(const struct owned *o, int ifindex)
{
	if (o->uplink && ifindex == o->uplink)
		return true;
	for (size_t i = 0; i < o->n; i++)
		if (o->v[i].host_ifindex == ifindex)
			return true;
	return false;
}

/* Take bpfnat's filter off every device but those in @keep. */
static int detach_all_but(struct nl *nl, const int *keep, size_t n_keep,
			  const struct owned *owned)
{
	struct link_list l;
	size_t i, k;
	int err, ret = 0;

	err = links_all(nl, &l);
	if (err) {
		free(l.v);
		return err;
	}
	for (i = 0; i < l.n; i++) {
		for (k = 0; k < n_keep && keep[k] != l.v[i].ifindex; k++)
			;
		if (k < n_keep || !tc_ours(l.v[i].ifindex))
			continue;
		err = tc_detach(nl, l.v[i].ifindex,
				owns_qdisc(owned, l.v[i].ifindex));
		if (err) {
			pr_warn("detach from %s: %s", l.v[i].name,
				nl_strerror(nl, err));
			if (!ret)
				ret = err;
		}
	}
	free(l.v);
	return ret;
}

/* Inside a container: eth0 ready for XDP mode, or back to normal. */
struct eth_xdp {
	int pass_fd;		/* xdp_pass; -1 to undo */
};

static int eth_xdp_apply(const struct container *c, void *arg)
{
	const struct eth_xdp *x = arg;
	char what[NETNS_NAME_MAX + 16];
	int ifindex, err;

	snprintf(what, sizeof(what), "eth0 of %s", c->name);
	ifindex = if_nametoindex(CONTAINER_IFNAME);
	if (!ifindex)
		return -errno;
	if (x->pass_fd < 0) {
		/* only where XDP mode had changed it */
		if (!xdp_ours(ifindex))
			return 0;
		err = xdp_detach(ifindex);
		return err ? err : eth_tx_csum(CONTAINER_IFNAME, true);
	}
	err = eth_tx_csum(CONTAINER_IFNAME, false);
	if (err) {
		pr_warn("%s: turn TX checksum offload off: %s", what,
			strerror(-err));
		return err;
	}
	return xdp_attach(ifindex, what, x->pass_fd);
}

/* One container into XDP mode: its eth0, the devmap, its host side. */
static int xdp_container_up(const struct container *c, int pass_fd,
			    int prog_fd, int tx_ports)
{
	struct eth_xdp x = { .pass_fd = pass_fd };
	__u32 ifindex = c->host_ifindex;
	int err;

	err = container_run(c, eth_xdp_apply, &x);
	if (err)
		return err;
	if (bpf_map_update_elem(tx_ports, &ifindex, &ifindex, 0)) {
		err = -errno;
		pr_warn("XDP: add %s to tx_ports: %s", c->host_if,
			strerror(-err));
		return err;
	}
	return xdp_attach(c->host_ifindex, c->host_if, prog_fd);
}

/*
 * XDP mode on, or its programs replaced in place: receivers first
 * (containers' eth0, the devmap), senders last, so no frame is redirected
 * where it cannot land.
 */
static int xdp_mode_up(struct bpfnat_bpf *skel, const struct nl_link *uplink,
		       const struct container *v, size_t n)
{
	int tx_ports = bpf_map__fd(skel->maps.tx_ports);
	__u32 ifindex = uplink->ifindex;
	size_t i;
	int err;

	for (i = 0; i < n; i++) {
		err = xdp_container_up(&v[i],
				       bpf_program__fd(skel->progs.xdp_pass),
				       bpf_program__fd(skel->progs.xdp_container),
				       tx_ports);
		if (err)
			return err;
	}
	if (bpf_map_update_elem(tx_ports, &ifindex, &ifindex, 0)) {
		err = -errno;
		pr_warn("XDP: add %s to tx_ports: %s", uplink->name,
			strerror(-err));
		return err;
	}
	/* What a veth uplink refuses, the kernel drops where bpfnat cannot
	 * count it: say so.
	 */
	if (!strcmp(uplink->kind, "veth"))
		pr_warn("note: uplink %s is a veth: XDP frames get through it "
			"only if its peer has NAPI (GRO on, or an XDP program)",
			uplink->name);
	return xdp_attach(uplink->ifindex, uplink->name,
			  bpf_program__fd(skel->progs.xdp_uplink));
}

/*
 * XDP mode off: bpfnat's XDP programs off the uplinks (@uplinks; 0 for
 * none) and the containers' host sides, the containers' eth0 restored.
 * Best effort: a container that is gone or broken does not stop the rest.
 */
static int xdp_mode_down(const int *uplinks, size_t n_uplinks,
			 const struct container *v, size_t n)
{
	struct eth_xdp undo = { .pass_fd = -1 };
	size_t i;
	int err, ret = 0;

	for (i = 0; i < n_uplinks + n; i++) {
		int ifindex = i < n_uplinks ? uplinks[i] :
					      v[i - n_uplinks].host_ifindex;

		if (!ifindex)
			continue;
		err = xdp_detach(ifindex);
		if (err && err != -ENODEV) {
			pr_warn("detach XDP from ifindex %d: %s", ifindex,
				strerror(-err));
			if (!ret)
				ret = err;
		}
	}
	for (i = 0; i < n; i++) {
		err = container_run(&v[i], eth_xdp_apply, &undo);
		if (err && err != -ENOENT && err != -ENODEV) {
			pr_warn("container %s: undo XDP mode: %s", v[i].name,
				strerror(-err));
			if (!ret)
				ret = err;
		}
	}
	return ret;
}

/* The ports the host's own sockets take (net.ipv4.ip_local_port_range). */
static void host_ephemeral(unsigned int *lo, unsigned int *hi)
{
	FILE *f = fopen("/proc/sys/net/ipv4/ip_local_port_range", "r");

	*lo = 32768;
	*hi = 60999;
	if (f) {
		if (fscanf(f, "%u %u", lo, hi) != 2) {
			*lo = 32768;
			*hi = 60999;
		}
		fclose(f);
	}
}

/*
 * The default SNAT ports: those below the host's ephemeral range (or else
 * above it), so that a NATed flow and one of the host's own connections
 * do not pick the same port.
 */
static void ports_default(struct up_opts *o)
{
	unsigned int lo, hi;

	host_ephemeral(&lo, &hi);
	if (lo >= PORTS_DEFAULT_LO + 1024) {
		o->port_lo = PORTS_DEFAULT_LO;
		o->port_hi = lo - 1;
	} else if (hi + 1024 <= 65535) {
		o->port_lo = hi + 1;
		o->port_hi = 65535;
	}
}

/* `up` on a running data path: what was not given stays as it runs. */
static void inherit_running(struct up_opts *o,
			    const struct bpfnat_config *r)
{
	static char uplink[IF_NAMESIZE];
	int fd;

	if (!(o->given & GIVEN_MODE))
		o->mode = r->mode;
	if (!(o->given & GIVEN_PORTS)) {
		o->port_lo = r->port_lo;
		o->port_hi = r->port_hi;
	}
	if (!(o->given & GIVEN_POOL))
		pool_init(&o->pool, r->pool_addr,
			  __builtin_popcount(r->pool_mask));
	for (int t = 0; t < TMO_MAX; t++)
		if (!(o->given & (GIVEN_TIMEOUT << t)))
			o->timeout[t] = r->timeout[t];
	if (!(o->given & GIVEN_EXCLUDE)) {
		fd = dp_pin_open(PIN_EXCLUDE);
		if (fd >= 0) {
			exclude_read(fd, o);
			close(fd);
		}
	}
	if (!(o->given & GIVEN_UPLINK) &&
	    if_indextoname(r->uplink_ifindex, uplink)) {
		o->uplink = uplink;
		if (!(o->given & GIVEN_SNAT))
			o->snat_addr = r->snat_addr;
	}
}

int dp_up(struct nl *nl, struct up_opts *o)
{
	struct bpfnat_config cfg = {}, running = {};
	struct container *v = NULL;
	struct bpfnat_bpf *skel;
	struct nl_link uplink;
	struct bpf_map *map;
	struct owned owned;
	char path[PATH_MAX];
	int *keep = NULL, uplinks[2];
	bool fresh, created, xdp;
	__u32 zero = 0;
	size_t n = 0, i;
	int err;

	err = bpffs_ready();
	if (err)
		return err;
	/* the running programs are ours, before anything re-pins them */
	ours_learn();

	fresh = !dp_running(&running);
	if (!fresh) {
		if (running.version != BPFNAT_LAYOUT_VERSION) {
			pr_warn("up: the running data path has layout v%u, "
				"this bpfnat v%u: run 'bpfnat down' first",
				running.version, BPFNAT_LAYOUT_VERSION);
			return -EEXIST;
		}
		if (o->ct_max && o->ct_max != running.ct_max) {
			pr_warn("up: --ct-max %u differs from the running %u: "
				"run 'bpfnat down' first (drops live flows)",
				o->ct_max, running.ct_max);
			return -EEXIST;
		}
		o->ct_max = running.ct_max;
		inherit_running(o, &running);
	} else if (!(o->given & GIVEN_PORTS)) {
		ports_default(o);
	}
	if (!o->ct_max)
		o->ct_max = CT_MAX_DEFAULT;
	err = resolve_uplink(nl, o, &uplink);
	if (err)
		return err;
	err = pin_dir_ready();
	if (err)
		return err;

	skel = bpfnat_bpf__open();
	if (!skel) {
		err = -errno;
		pr_warn("up: open BPF object: %s", strerror(-err));
		return err;
	}
	bpf_map__set_max_entries(skel->maps.ct_flows, o->ct_max);
	bpf_map__set_max_entries(skel->maps.ct_free, o->ct_max);
	bpf_map__set_max_entries(skel->maps.ct_index, 2 * o->ct_max);
	bpf_object__for_each_map(map, skel->obj) {
		/* .rodata and per-CPU scratch buffers are not state */
		if (bpf_map__is_internal(map) ||
		    map == skel->maps.scratch || map == skel->maps.frag_scratch)
			continue;
		pin_path(bpf_map__name(map), path, sizeof(path));
		bpf_map__set_pin_path(map, path);
	}
	err = devmap_reuse(skel->maps.tx_ports);
	if (err)
		goto out;
	err = pins_compatible(skel);
	if (err)
		goto out;
	/* The verifier's time is most of `up`: tc mode leaves XDP's out. */
	xdp = o->mode == MODE_XDP;
	bpf_program__set_autoload(skel->progs.xdp_container, xdp);
	bpf_program__set_autoload(skel->progs.xdp_uplink, xdp);
	bpf_program__set_autoload(skel->progs.xdp_pass, xdp);

	err = bpfnat_bpf__load(skel);
	if (err) {
		pr_warn("up: load BPF programs: %s%s", strerror(-err),
			log_verbose() ? "" : " (-v shows the verifier's log)");
		goto fail;
	}
	ours_add(prog_fd_id(bpf_program__fd(skel->progs.tc_container)));
	ours_add(prog_fd_id(bpf_program__fd(skel->progs.tc_uplink)));
	if (xdp) {
		ours_add(prog_fd_id(bpf_program__fd(skel->progs.xdp_container)));
		ours_add(prog_fd_id(bpf_program__fd(skel->progs.xdp_uplink)));
		ours_add(prog_fd_id(bpf_program__fd(skel->progs.xdp_pass)));
	}
	if (fresh) {
		err = ct_free_fill(bpf_map__fd(skel->maps.ct_free), o->ct_max);
		if (err) {
			pr_warn("up: fill ct_free: %s", strerror(-err));
			goto fail;
		}
	}

	cfg.version = BPFNAT_LAYOUT_VERSION;
	cfg.mode = o->mode;
	cfg.uplink_ifindex = uplink.ifindex;
	cfg.uplink_mtu = uplink.mtu;
	cfg.snat_addr = o->snat_addr;
	cfg.pool_addr = o->pool.net;
	cfg.pool_mask = o->pool.mask;
	cfg.gateway = o->pool.gateway;
	cfg.port_lo = o->port_lo;
	cfg.port_hi = o->port_hi;
	cfg.ct_max = o->ct_max;
	memcpy(cfg.timeout, o->timeout, sizeof(cfg.timeout));
	/* an uplink kept keeps what is known of its qdisc */
	if (!fresh && running.uplink_ifindex == cfg.uplink_ifindex)
		cfg.flags |= running.flags & CFG_F_UPLINK_CLSACT;

	err = exclude_sync(bpf_map__fd(skel->maps.exclude), o);
	if (err) {
		pr_warn("up: fill exclude: %s", strerror(-err));
		goto fail;
	}
	err = container_list(nl, &v, &n);
	if (err) {
		pr_warn("up: list containers: %s", nl_strerror(nl, err));
		goto fail;
	}
	err = endpoints_sync(bpf_map__fd(skel->maps.endpoints), v, n);
	if (err)
		goto fail;

	err = prog_pin(skel->progs.tc_container, PIN_PROG_CONTAINER) ?:
	      prog_pin(skel->progs.tc_uplink, PIN_PROG_UPLINK) ?:
	      prog_pin(skel->progs.ct_flush, PIN_PROG_FLUSH);
	if (!err && xdp)
		err = prog_pin(skel->progs.xdp_container,
			       PIN_PROG_XDP_CONTAINER) ?:
		      prog_pin(skel->progs.xdp_uplink, PIN_PROG_XDP_UPLINK) ?:
		      prog_pin(skel->progs.xdp_pass, PIN_PROG_XDP_PASS);
	if (err)
		goto fail;

	keep = calloc(n + 1, sizeof(*keep));
	if (!keep) {
		err = -ENOMEM;
		goto fail;
	}
	err = tc_attach(uplink.ifindex, uplink.name,
			bpf_program__fd(skel->progs.tc_uplink), &created);
	if (err)
		goto fail;
	if (created)
		cfg.flags |= CFG_F_UPLINK_CLSACT;
	keep[0] = uplink.ifindex;
	for (i = 0; i < n; i++) {
		err = tc_attach(v[i].host_ifindex, v[i].host_if,
				bpf_program__fd(skel->progs.tc_container),
				NULL);
		if (err)
			goto fail;
		keep[i + 1] = v[i].host_ifindex;
	}
	/* a device that is no longer the uplink nor a container */
	owned = (struct owned){ v, n,
		running.flags & CFG_F_UPLINK_CLSACT ? running.uplink_ifindex :
						      0 };
	err = detach_all_but(nl, keep, n + 1, &owned);
	if (err)
		goto fail;

	/* XDP in front of tc, replaced in place, or no longer */
	uplinks[0] = (int)running.uplink_ifindex;
	uplinks[1] = uplink.ifindex;
	if (xdp) {
		if (!fresh && (int)running.uplink_ifindex != uplink.ifindex)
			xdp_mode_down(uplinks, 1, NULL, 0);
		err = xdp_mode_up(skel, &uplink, v, n);
	} else if (!fresh && running.mode == MODE_XDP) {
		err = xdp_mode_down(uplinks, 2, v, n);
	}
	if (err)
		goto fail;
	if (!xdp)
		xdp_unpin();

	/* last: what it says now holds */
	if (bpf_map_update_elem(bpf_map__fd(skel->maps.config), &zero, &cfg,
				0)) {
		err = -errno;
		pr_warn("up: write config: %s", strerror(-err));
		goto fail;
	}
	err = sweep_start(skel);
	if (err)
		goto fail;
	pr_info("up: %s, SNAT to %s, %zu containers", uplink.name,
		ip_str(o->snat_addr), n);
	goto out;

fail:
	/* A first `up` leaves nothing behind.  A repeated one stops where
	 * it failed: every device still runs a program of bpfnat's, old or
	 * new, on the same maps, and the config it had.
	 */
	if (fresh) {
		owned = (struct owned){ v, n, created ? uplink.ifindex : 0 };
		xdp_mode_down(&uplink.ifindex, 1, v, n);
		detach_all_but(nl, NULL, 0, &owned);
		remove_pins();
	}
out:
	free(keep);
	free(v);
	bpfnat_bpf__destroy(skel);
	return err;
}

/*
 * Everything bpfnat attached comes off and its pins go, and nothing else:
 * best effort, so that one broken container does not keep the rest up.
 * Returns the first error.
 */
int dp_down(struct nl *nl)
{
	struct bpfnat_config running = {};
	struct container *v = NULL;
	struct owned owned;
	size_t n = 0;
	int err, ret, uplink;

	ours_learn();
	dp_running(&running);
	ret = container_list(nl, &v, &n);
	if (ret)
		pr_warn("down: list containers: %s", nl_strerror(nl, ret));
	uplink = (int)running.uplink_ifindex;
	err = xdp_mode_down(&uplink, 1, v, n);
	ret = ret ?: err;
	owned = (struct owned){ v, n,
		running.flags & CFG_F_UPLINK_CLSACT ? running.uplink_ifindex :
						      0 };
	err = detach_all_but(nl, NULL, 0, &owned);
	ret = ret ?: err;
	remove_pins();
	free(v);
	return ret;
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
	struct bpfnat_config cfg;
	struct endpoint ep;
	int prog, map, err;

	(void)nl;
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
	err = tc_attach(c->host_ifindex, c->host_if, prog, NULL);
	if (!err && cfg.mode == MODE_XDP)
		err = container_xdp_up(c);
	if (err)
		bpf_map_delete_elem(map, &c->addr);
out:
	if (map >= 0)
		close(map);
	if (prog >= 0)
		close(prog);
	return err;
}

int dp_container_detach(const struct container *c)
{
	int map, n;

	map = dp_pin_open(PIN_ENDPOINTS);
	if (map < 0)
		return 0;	/* bpfnat is down */
	bpf_map_delete_elem(map, &c->addr);
	close(map);
	/* a later container with this address must not inherit its flows */
	n = ct_flush(c->addr);
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
		if (!tc_ours(l.v[i].ifindex))
			continue;
		if (n < max)
			ifindex[n] = l.v[i].ifindex;
		n++;
	}
	free(l.v);
	return err ? err : (int)n;
}
