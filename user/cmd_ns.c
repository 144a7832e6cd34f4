// SPDX-License-Identifier: GPL-2.0-only
/*
 * bpfnat ns add | del | list
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "attach.h"
#include "cmd.h"
#include "container.h"
#include "loader.h"
#include "lock.h"
#include "log.h"
#include "ports.h"

int check_name(const char *what, const char *name)
{
	if (!netns_name_valid(name))
		return usage_error(what, "invalid name '%s': 1 to %d letters, "
				   "digits, '_', '.' or '-', not starting "
				   "with '.' or '-'", name, NETNS_NAME_MAX);
	return EXIT_OK;
}

/* ifname and netns: where it lives; cni: made by the CNI plugin;
 * address6 only when it has one
 */
static json_t *container_json(const struct container *c)
{
	json_t *o = json_pack("{s:s, s:s, s:s, s:i, s:s, s:s, s:b}", "name",
			      c->name, "address", cidr_str(c->addr, c->plen),
			      "host_if", c->host_if, "host_ifindex",
			      c->host_ifindex, "ifname", c->ifname, "netns",
			      c->netns, "cni", c->attachment);

	if (o && c->plen6)
		json_object_set_new(o, "address6",
				    json_string(cidr6_str(&c->addr6,
							  c->plen6)));
	return o;
}

/* More would be a range, or a mistake. */
#define PUBLISH_MAX 64

struct publish_what {
	const char *name;
	char *const *args;
	char buf[128];
};

/* "ns add NAME: --publish SPEC", for the i-th --publish */
static const char *publish_what(size_t i, void *arg)
{
	struct publish_what *w = arg;

	snprintf(w->buf, sizeof(w->buf), "ns add %s: --publish %s", w->name,
		 w->args[i]);
	return w->buf;
}

int cmd_ns_add(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "ip", required_argument, NULL, 'i' },
		{ "ip6", required_argument, NULL, '6' },
		{ "publish", required_argument, NULL, 'p' },
		{ NULL, 0, NULL, 0 },
	};
	struct port_spec specs[PUBLISH_MAX];
	char *spec_args[PUBLISH_MAX];
	const char *ip = NULL, *ip6 = NULL, *name, *why;
	int n_specs = 0, ports_fd = -1;
	struct attachment a;
	struct container c;
	struct pool pool;
	struct pool6 pool6;
	struct in6_addr addr6;
	uint32_t addr = 0;
	struct nl nl;
	int opt, plen, plen6, err, ret;

	optind = 0;	/* glibc: start afresh, options may follow NAME */
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		if (opt == 'i') {
			ip = optarg;
		} else if (opt == '6') {
			ip6 = optarg;
		} else if (opt == 'p') {
			if (n_specs == PUBLISH_MAX)
				return usage_error("ns add", "more than %d "
						   "--publish", PUBLISH_MAX);
			if (port_spec_parse(optarg, true, &specs[n_specs],
					    &why))
				return usage_error("ns add", "--publish '%s': "
						   "%s", optarg, why);
			spec_args[n_specs++] = optarg;
		} else {
			return usage_error("ns add", "unknown option '%s'",
					   argv[optind - 1]);
		}
	}
	if (optind + 1 != argc)
		return usage_error("ns add", "expected one NAME");
	ret = check_name("ns add", argv[optind]);
	if (ret)
		return ret;

	if (ip && parse_cidr(ip, &addr, &plen, true))
		return usage_error("ns add", "--ip %s: not an address", ip);
	if (ip6 && parse_cidr6(ip6, &addr6, &plen6, true))
		return usage_error("ns add", "--ip6 %s: not an IPv6 address",
				   ip6);

	if (lock_take("ns add"))
		return EXIT_FAIL;
	/* the pool as it is once no `up` can change it any more */
	dp_pool(&pool);
	if (ip && ((strchr(ip, '/') && plen != pool.plen) ||
		   !pool_usable(&pool, addr)))
		return usage_error("ns add", "--ip %s is not a container "
				   "address of %s", ip,
				   cidr_str(pool.net, pool.plen));
	dp_pool6(&pool6);
	if (ip6 && ((strchr(ip6, '/') && plen6 != pool6.plen) ||
		    !pool6_usable(&pool6, &addr6)))
		return usage_error("ns add", "--ip6 %s is not a container "
				   "address of %s", ip6,
				   cidr6_str(&pool6.net, pool6.plen));
	name = argv[optind];
	/* ports are published only into a running data path: known before
	 * anything is made
	 */
	if (n_specs) {
		char what[64];

		snprintf(what, sizeof(what), "ns add %s: --publish", name);
		ports_fd = ports_open(what);
		if (ports_fd < 0)
			return EXIT_FAIL;
		if (ports_recover(ports_fd, what)) {
			close(ports_fd);
			return EXIT_FAIL;
		}
	}
	err = nl_open(&nl);
	if (err) {
		pr_warn("ns add: netlink: %s", strerror(-err));
		if (ports_fd >= 0)
			close(ports_fd);
		return EXIT_FAIL;
	}
	dp_containers_recover(&nl);
	/* A namespace that is not a container of ours is not touched: it
	 * has no intent, so no later command takes it for half made.  (A
	 * container of `ns add` has its named namespace; only the message
	 * needs the list of containers.)
	 */
	if (netns_exists(name) || !attachment_read(name, &a)) {
		err = -EEXIST;
		if (!attachment_read(name, &a))
			pr_warn("ns add %s: the name of a CNI attachment", name);
		else if (!container_find(&nl, name, &c))
			pr_warn("ns add %s: the container exists", name);
		else
			pr_warn("ns add %s: a namespace of that name exists",
				name);
		goto out;
	}
	err = container_intent_begin(name);
	if (err)
		goto out;
	err = container_add(&nl, name, &pool, addr, &pool6, ip6 ? &addr6 : NULL,
			    &c);
	if (!err) {
		err = dp_container_attach(&nl, &c);
		if (err)
			container_del(&nl, &c);
	}
	if (!err && n_specs) {
		struct publish_what w = { .name = name, .args = spec_args };

		err = ports_publish_all(ports_fd, specs, n_specs, &c,
					publish_what, &w);
		if (err) {
			dp_container_detach(&c);
			container_del(&nl, &c);
		}
	}
	if (!err || err == -EEXIST)
		container_intent_end(name);	/* done, or nothing ours made */
	else
		dp_container_recover(&nl, name);	/* what is left goes */
	if (!err && json_output)
		json_print(container_json(&c));
out:
	nl_close(&nl);
	if (ports_fd >= 0)
		close(ports_fd);
	return err < 0 ? EXIT_FAIL : EXIT_OK;
}

int cmd_ns_del(int argc, char **argv)
{
	struct container c;
	struct nl nl;
	int err, ret;

	if (argc != 2)
		return usage_error("ns del", "expected one NAME");
	ret = check_name("ns del", argv[1]);
	if (ret)
		return ret;

	if (lock_take("ns del"))
		return EXIT_FAIL;
	err = nl_open(&nl);
	if (err) {
		pr_warn("ns del: netlink: %s", strerror(-err));
		return EXIT_FAIL;
	}
	/* half made or half gone: removing it is the whole job */
	err = dp_container_recover(&nl, argv[1]);
	dp_containers_recover(&nl);
	if (err)
		goto out;
	err = container_find(&nl, argv[1], &c);
	if (err) {
		if (err == -ENOENT)
			pr_warn("ns del %s: no such container", argv[1]);
		else
			pr_warn("ns del %s: %s", argv[1], nl_strerror(&nl, err));
		goto out;
	}
	if (c.attachment) {
		pr_warn("ns del %s: a CNI attachment: its runtime removes it "
			"(CNI DEL)", argv[1]);
		err = -EPERM;
		goto out;
	}
	err = container_intent_note(c.name, c.host_if) ?:
	      dp_container_detach(&c) ?:
	      container_del(&nl, &c);
	if (!err)
		container_intent_end(c.name);
out:
	nl_close(&nl);
	return err < 0 ? EXIT_FAIL : EXIT_OK;
}

int cmd_ns_list(int argc, char **argv)
{
	struct container *v;
	struct nl nl;
	size_t n, i;
	json_t *arr;
	int err;

	(void)argv;
	if (argc != 1)
		return usage_error("ns list", "unexpected argument '%s'",
				   argv[1]);
	err = nl_open(&nl);
	if (err) {
		pr_warn("ns list: netlink: %s", strerror(-err));
		return EXIT_FAIL;
	}
	err = container_list(&nl, &v, &n);
	nl_close(&nl);
	if (err) {
		pr_warn("ns list: %s", strerror(-err));
		return EXIT_FAIL;
	}
	if (json_output) {
		arr = json_array();
		for (i = 0; i < n; i++)
			json_array_append_new(arr, container_json(&v[i]));
		json_print(arr);
	} else {
		if (n)
			printf("%-20s %-18s %-12s %-8s %s\n", "NAME", "ADDRESS",
			       "HOST_IF", "IFINDEX", "ADDRESS6");
		for (i = 0; i < n; i++)
			printf("%-20s %-18s %-12s %-8d %s\n", v[i].name,
			       cidr_str(v[i].addr, v[i].plen), v[i].host_if,
			       v[i].host_ifindex, v[i].plen6 ?
			       cidr6_str(&v[i].addr6, v[i].plen6) : "-");
	}
	free(v);
	return EXIT_OK;
}
