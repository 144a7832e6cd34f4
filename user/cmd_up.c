// SPDX-License-Identifier: GPL-2.0-only
/*
 * bpfnat up | down | status
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <net/if.h>
#include <bpf/bpf.h>

#include "cmd.h"
#include "loader.h"
#include "lock.h"
#include "log.h"
#include "maps.h"
#include "sock.h"
#include "tc.h"
#include "xdp.h"

static const char *const mode_names[] = {
	[MODE_TC] = "tc",
	[MODE_XDP] = "xdp",
};

static const char *filtering_name(const struct bpfnat_config *cfg)
{
	return cfg->flags & CFG_F_FILTER_EIF ? "endpoint-independent" :
					      "address-and-port-dependent";
}

static bool snat6_set(const struct bpfnat_config *cfg)
{
	return cfg->snat6.addr[0] | cfg->snat6.addr[1] | cfg->snat6.addr[2] |
	       cfg->snat6.addr[3];
}

static int up_parse(int argc, char **argv, struct up_opts *o)
{
	struct option longopts[UP_OPT_MAX + 1] = {};
	const char *why;
	int opt;

	/* every option of up_opt_set(), by its CLI name */
	for (int i = 0; i < UP_OPT_MAX; i++)
		longopts[i] = (struct option){ up_opt_names[i].cli,
					       required_argument, NULL,
					       256 + i };
	optind = 0;	/* glibc: start afresh (a batch runs many) */
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "+", longopts, NULL)) != -1) {
		if (opt < 256 || opt >= 256 + UP_OPT_MAX)
			return usage_error("up", "unknown option '%s'",
					   argv[optind - 1]);
		why = up_opt_set(o, opt - 256, optarg);
		if (why)
			return usage_error("up", "--%s '%s': %s",
					   up_opt_names[opt - 256].cli, optarg,
					   why);
	}
	if (optind != argc)
		return usage_error("up", "unexpected argument '%s'",
				   argv[optind]);
	return EXIT_OK;
}

int cmd_up(int argc, char **argv)
{
	struct up_opts o;
	struct nl nl;
	int ret, err;

	up_opts_default(&o);
	ret = up_parse(argc, argv, &o);
	if (ret)
		return ret;
	if (lock_take("up"))
		return EXIT_FAIL;
	err = nl_open(&nl);
	if (err) {
		pr_warn("up: netlink: %s", strerror(-err));
		return EXIT_FAIL;
	}
	err = dp_up(&nl, &o);
	nl_close(&nl);
	return err ? EXIT_FAIL : EXIT_OK;
}

int cmd_down(int argc, char **argv)
{
	struct nl nl;
	int err;

	if (argc != 1)
		return usage_error("down", "unexpected argument '%s'", argv[1]);
	if (lock_take("down"))
		return EXIT_FAIL;
	err = nl_open(&nl);
	if (err) {
		pr_warn("down: netlink: %s", strerror(-err));
		return EXIT_FAIL;
	}
	err = dp_down(&nl);
	nl_close(&nl);
	return err ? EXIT_FAIL : EXIT_OK;
}

static __u32 pinned_prog_id(const char *name)
{
	int fd = dp_pin_open(name);
	__u32 id;

	if (fd < 0)
		return 0;
	id = prog_fd_id(fd);
	close(fd);
	return id;
}

static unsigned long endpoints_count(void)
{
	__be32 key, *prev = NULL;
	unsigned long n = 0;
	int fd;

	fd = dp_pin_open(PIN_ENDPOINTS);
	if (fd < 0)
		return 0;
	while (!bpf_map_get_next_key(fd, prev, &key)) {
		prev = &key;
		n++;
	}
	close(fd);
	return n;
}

/* The expiry timer's counts: flows expired, dying slots reclaimed. */
/*
 * Where the socket hooks run (host-local access to published ports), into
 * @o: "cgroup", its path (null: none, or not known), and with hooks,
 * "cgroup_id" (0: the cgroup is gone) and "cgroup_hooks".
 */
static void sock_status(json_t *o)
{
	struct sock_running r;
	json_t *hooks;

	sock_running_read(&r);
	json_object_set_new(o, "cgroup", r.n && r.path[0] ?
				json_string(r.path) : json_null());
	if (r.n) {
		hooks = json_array();
		for (int i = 0; i < SOCK_HOOKS; i++)
			if (r.link[i] >= 0)
				json_array_append_new(hooks, json_string(
					sock_hooks[i].name));
		json_object_set_new(o, "cgroup_id",
				    json_integer((json_int_t)r.cgroup_id));
		json_object_set_new(o, "cgroup_hooks", hooks);
	}
	sock_running_close(&r);
}

static void sock_status_print(const json_t *o)
{
	const json_t *hooks = json_object_get(o, "cgroup_hooks");
	const char *path = json_string_value(json_object_get(o, "cgroup"));
	json_int_t id = json_integer_value(json_object_get(o, "cgroup_id"));

	printf("cgroup:    ");
	if (!hooks) {
		printf("none (no host-local access to published ports)\n");
		return;
	}
	if (!id) {
		printf("%s, gone: its hooks run nowhere\n", path ? path : "?");
		return;
	}
	if (path)
		printf("%s, hooks", path);
	else
		printf("id %lld (path not known), hooks", (long long)id);
	for (size_t i = 0; i < json_array_size(hooks); i++)
		printf(" %s", json_string_value(json_array_get(hooks, i)));
	printf("\n");
}

int cmd_status(int argc, char **argv)
{
	static const char *const progs[] = {
		PIN_PROG_CONTAINER, PIN_PROG_UPLINK, PIN_PROG_GUARD, PIN_PROG_FLUSH,
		PIN_PROG_XDP_CONTAINER, PIN_PROG_XDP_UPLINK, PIN_PROG_XDP_PASS,
		PIN_PROG_CONNECT4, PIN_PROG_SENDMSG4, PIN_PROG_RECVMSG4,
		PIN_PROG_GETPEERNAME4, PIN_PROG_CONNECT6, PIN_PROG_SENDMSG6,
		PIN_PROG_RECVMSG6, PIN_PROG_GETPEERNAME6,
	};
	const int n_progs = sizeof(progs) / sizeof(progs[0]);
	char uplink[IF_NAMESIZE] = "?", ifname[IF_NAMESIZE];
	long flows;
	struct bpfnat_config cfg;
	struct pool6 pool6;
	struct in6_addr snat6;
	int ifindex[4096], n, i;
	json_t *o, *arr, *pr;
	const char *xdp_uplink_why = NULL;
	struct ct_sweep sweep;
	struct nl_link link;
	struct nl nl;
	int err;

	if (argc != 1)
		return usage_error("status", "unexpected argument '%s'",
				   argv[1]);
	err = dp_config(&cfg);
	if (err == -EPROTO) {
		/* of another bpfnat: its version is all that can be read */
		if (json_output)
			json_print(json_pack("{s:s, s:i}", "state",
					     "incompatible", "layout",
					     cfg.version));
		else
			printf("state:     up, but of another bpfnat (layout v%u;"
			       " this one reads v%u): 'bpfnat down' removes it\n",
			       cfg.version, BPFNAT_LAYOUT_VERSION);
		return EXIT_OK;
	}
	if (err) {
		if (json_output)
			json_print(json_pack("{s:s}", "state", "down"));
		else
			printf("state:     down\n");
		return EXIT_OK;
	}
	err = nl_open(&nl);
	if (err) {
		pr_warn("status: netlink: %s", strerror(-err));
		return EXIT_FAIL;
	}
	n = dp_attached(&nl, ifindex, sizeof(ifindex) / sizeof(ifindex[0]));
	if (nl_link_get_index(&nl, cfg.uplink_ifindex, &link))
		link.kind[0] = 0;
	nl_close(&nl);
	if (n < 0) {
		pr_warn("status: list attached devices: %s", strerror(-n));
		return EXIT_FAIL;
	}
	if (n > (int)(sizeof(ifindex) / sizeof(ifindex[0])))
		n = sizeof(ifindex) / sizeof(ifindex[0]);
	if_indextoname(cfg.uplink_ifindex, uplink);
	flows = ct_count();
	ct_sweep_read(&sweep);
	if (flows < 0) {
		pr_warn("status: read ct_flows: %s", strerror(-flows));
		return EXIT_FAIL;
	}

	if (cfg.mode == MODE_XDP && !(cfg.flags & CFG_F_XDP_UPLINK))
		xdp_uplink_wanted(cfg.flags & CFG_F_XDP_UPLINK_OFF ?
				  XDP_UPLINK_OFF : XDP_UPLINK_AUTO, &link,
				  &xdp_uplink_why);

	o = json_object();
	json_object_set_new(o, "state", json_string("up"));
	json_object_set_new(o, "mode", json_string(mode_names[cfg.mode & 1]));
	/* XDP mode: does XDP take the uplink's traffic, and if not, why */
	json_object_set_new(o, "xdp_uplink",
			    json_boolean(cfg.flags & CFG_F_XDP_UPLINK));
	if (xdp_uplink_why)
		json_object_set_new(o, "xdp_uplink_note",
				    json_string(xdp_uplink_why));
	json_object_set_new(o, "uplink", json_string(uplink));
	json_object_set_new(o, "uplink_ifindex",
			    json_integer(cfg.uplink_ifindex));
	json_object_set_new(o, "snat_address", json_string(ip_str(cfg.snat_addr)));
	json_object_set_new(o, "filtering", json_string(filtering_name(&cfg)));
	json_object_set_new(o, "pool", json_string(cidr_str(cfg.pool_addr,
				__builtin_popcount(cfg.pool_mask))));
	json_object_set_new(o, "gateway", json_string(ip_str(cfg.gateway)));
	config_pool6(&cfg, &pool6);
	memcpy(&snat6, cfg.snat6.addr, sizeof(snat6));
	json_object_set_new(o, "pool6", json_string(cidr6_str(&pool6.net,
							      pool6.plen)));
	json_object_set_new(o, "gateway6", json_string(ip6_str(&pool6.gateway)));
	/* null: no IPv6 SNAT address, so no NAT66 */
	json_object_set_new(o, "snat_address6",
			    snat6_set(&cfg) ? json_string(ip6_str(&snat6)) :
					      json_null());
	json_object_set_new(o, "ports", json_pack("[i, i]", cfg.port_lo,
						  cfg.port_hi));
	json_object_set_new(o, "containers", json_integer(endpoints_count()));
	json_object_set_new(o, "ct_flows", json_integer(flows));
	json_object_set_new(o, "ct_max", json_integer(cfg.ct_max));
	json_object_set_new(o, "ct_expired", json_integer(sweep.expired));
	/* flows whose key a delete could not remove, freed by the sweep */
	json_object_set_new(o, "ct_reclaimed", json_integer(sweep.reclaimed));
	arr = json_array();
	for (i = 0; i < n; i++) {
		if (!if_indextoname(ifindex[i], ifname))
			snprintf(ifname, sizeof(ifname), "%d", ifindex[i]);
		json_array_append_new(arr, json_pack("{s:s, s:i, s:b, s:b}",
						     "name", ifname, "ifindex",
						     ifindex[i], "xdp",
						     xdp_ours(ifindex[i]) != 0,
						     "guard",
						     tc_ours(ifindex[i],
							     BPF_TC_EGRESS) != 0));
	}
	json_object_set_new(o, "attached", arr);
	/* the programs loaded: XDP's only in XDP mode */
	pr = json_object();
	for (i = 0; i < n_progs; i++) {
		__u32 id = pinned_prog_id(progs[i]);

		if (id)
			json_object_set_new(pr, progs[i], json_integer(id));
	}
	json_object_set_new(o, "program_ids", pr);
	sock_status(o);

	if (json_output) {
		json_print(o);
		return EXIT_OK;
	}
	printf("state:     up\n");
	printf("mode:      %s", mode_names[cfg.mode & 1]);
	if (xdp_uplink_why)
		printf(" (the uplink's traffic left to tc: %s)", xdp_uplink_why);
	printf("\n");
	printf("uplink:    %s (ifindex %u)\n", uplink, cfg.uplink_ifindex);
	printf("snat:      %s, ports %u-%u, %s filtering\n",
	       ip_str(cfg.snat_addr), cfg.port_lo, cfg.port_hi,
	       filtering_name(&cfg));
	printf("pool:      %s, gateway %s, %lu containers\n",
	       cidr_str(cfg.pool_addr, __builtin_popcount(cfg.pool_mask)),
	       ip_str(cfg.gateway), endpoints_count());
	printf("pool6:     %s, gateway %s\n", cidr6_str(&pool6.net, pool6.plen),
	       ip6_str(&pool6.gateway));
	if (snat6_set(&cfg))
		printf("snat6:     %s\n", ip6_str(&snat6));
	else
		printf("snat6:     none: IPv6 to the outside is answered "
		       "unreachable (--snat-ip6)\n");
	printf("conntrack: %ld flows of %u, %llu expired so far", flows,
	       cfg.ct_max, (unsigned long long)sweep.expired);
	if (sweep.reclaimed)
		printf(", %llu reclaimed after a failed delete",
		       (unsigned long long)sweep.reclaimed);
	printf("\n");
	printf("attached:  ");
	for (i = 0; i < n; i++) {
		json_t *dev = json_array_get(arr, i);

		printf("%s%s%s%s", i ? " " : "",
		       json_string_value(json_object_get(dev, "name")),
		       json_is_true(json_object_get(dev, "xdp")) ? "(+xdp)" :
								    "",
		       json_is_true(json_object_get(dev, "guard")) ?
			       "(+guard)" : "");
	}
	printf("\n");
	sock_status_print(o);
	printf("programs: ");
	for (i = 0; i < n_progs; i++)
		if (json_object_get(pr, progs[i]))
			printf(" %s id %lld", progs[i],
			       json_integer_value(json_object_get(pr, progs[i])));
	printf("\n");
	json_decref(o);
	return EXIT_OK;
}
