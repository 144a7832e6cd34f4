// SPDX-License-Identifier: GPL-2.0-only
/*
 * bpfnat port add | del | list
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include "cmd.h"
#include "container.h"
#include "loader.h"
#include "lock.h"
#include "log.h"
#include "ports.h"

/* @name NULL: no container has the entry's address (any more). */
static json_t *entry_json(const struct port_entry *e, const char *name)
{
	return json_pack("{s:s?, s:s, s:s, s:i, s:i, s:s}",
			 "container", name,
			 "address", ip_str(e->val.addr),
			 "host_ip", ip_str(e->key.host_addr),
			 "host_port", ntohs(e->key.host_port),
			 "container_port", ntohs(e->val.port),
			 "proto", port_proto_str(e->key.proto));
}

/*
 * What add and del share: the lock, container @name in @c and the ports
 * map in @fd; EXIT_OK, or the exit code after saying why.
 */
static int port_begin(const char *verb, const char *name, const char *what,
		      struct container *c, int *fd)
{
	struct nl nl;
	int err;

	if (lock_take(verb))
		return EXIT_FAIL;
	err = nl_open(&nl);
	if (err) {
		pr_warn("%s: netlink: %s", what, strerror(-err));
		return EXIT_FAIL;
	}
	/* a half-made container is not one to publish to */
	dp_containers_recover(&nl);
	err = container_find(&nl, name, c);
	if (err == -ENOENT)
		pr_warn("%s: no such container", what);
	else if (err)
		pr_warn("%s: list containers: %s", what, nl_strerror(&nl, err));
	nl_close(&nl);
	if (err)
		return EXIT_FAIL;
	*fd = ports_open(what);
	if (*fd < 0)
		return EXIT_FAIL;
	if (ports_recover(*fd, what)) {
		close(*fd);
		return EXIT_FAIL;
	}
	return EXIT_OK;
}

int cmd_port_add(int argc, char **argv)
{
	struct port_log log = {};
	struct port_spec spec;
	struct container c;
	char what[64];
	const char *why;
	json_t *arr;
	int fd, err, ret;

	if (argc != 3)
		return usage_error("port add", "expected NAME and "
				   "[HOSTIP:]HOSTPORT[-END]:PORT[-END]"
				   "[/tcp|/udp]");
	ret = check_name("port add", argv[1]);
	if (ret)
		return ret;
	if (port_spec_parse(argv[2], true, &spec, &why))
		return usage_error("port add", "'%s': %s", argv[2], why);

	snprintf(what, sizeof(what), "port add %s", argv[1]);
	ret = port_begin("port add", argv[1], what, &c, &fd);
	if (ret)
		return ret;
	err = ports_publish(fd, what, &spec, c.addr, &log);
	port_log_free(&log);
	close(fd);
	if (err)
		return EXIT_FAIL;
	if (json_output) {
		arr = json_array();
		for (unsigned int i = 0; i < port_spec_count(&spec); i++) {
			struct port_entry e = {
				.key = { .host_addr = spec.host_addr,
					 .host_port = htons(spec.host_lo + i),
					 .proto = spec.proto,
					 .family = AF_INET },
				.val = { .addr = c.addr,
					 .port = htons(spec.port_lo + i) },
			};

			json_array_append_new(arr, entry_json(&e, c.name));
		}
		json_print(arr);
	}
	return EXIT_OK;
}

int cmd_port_del(int argc, char **argv)
{
	struct port_spec spec;
	struct container c;
	char what[64];
	const char *why;
	int fd, err, ret;

	if (argc != 3)
		return usage_error("port del", "expected NAME and "
				   "[HOSTIP:]HOSTPORT[-END][/tcp|/udp]");
	ret = check_name("port del", argv[1]);
	if (ret)
		return ret;
	if (port_spec_parse(argv[2], false, &spec, &why))
		return usage_error("port del", "'%s': %s", argv[2], why);

	snprintf(what, sizeof(what), "port del %s", argv[1]);
	ret = port_begin("port del", argv[1], what, &c, &fd);
	if (ret)
		return ret;
	err = ports_unpublish(fd, what, &spec, c.addr);
	close(fd);
	return err ? EXIT_FAIL : EXIT_OK;
}

static const char *name_of(const struct container *v, size_t n, uint32_t addr)
{
	for (size_t i = 0; i < n; i++)
		if (v[i].addr == addr)
			return v[i].name;
	return NULL;
}

int cmd_port_list(int argc, char **argv)
{
	struct container *v = NULL;
	struct port_entry *e;
	size_t n_v = 0, n, i;
	const char *name;
	struct nl nl;
	json_t *arr;
	int fd, err;

	if (argc != 1)
		return usage_error("port list", "unexpected argument '%s'",
				   argv[1]);
	fd = ports_open("port list");
	if (fd < 0)
		return EXIT_FAIL;
	err = ports_read(fd, &e, &n);
	close(fd);
	if (err) {
		pr_warn("port list: read %s: %s", PIN_PORTS, strerror(-err));
		return EXIT_FAIL;
	}
	err = nl_open(&nl);
	if (!err) {
		err = container_list(&nl, &v, &n_v);
		nl_close(&nl);
	}
	if (err) {
		pr_warn("port list: list containers: %s", strerror(-err));
		free(e);
		return EXIT_FAIL;
	}
	if (json_output) {
		arr = json_array();
		for (i = 0; i < n; i++)
			json_array_append_new(arr, entry_json(&e[i], name_of(
				v, n_v, e[i].val.addr)));
		json_print(arr);
	} else {
		if (n)
			printf("%-20s %-15s %-15s %-9s %-14s %s\n",
			       "CONTAINER", "ADDRESS", "HOST_IP", "HOST_PORT",
			       "CONTAINER_PORT", "PROTO");
		for (i = 0; i < n; i++) {
			name = name_of(v, n_v, e[i].val.addr);
			printf("%-20s %-15s %-15s %-9u %-14u %s\n",
			       name ? name : "-", ip_str(e[i].val.addr),
			       ip_str(e[i].key.host_addr),
			       ntohs(e[i].key.host_port), ntohs(e[i].val.port),
			       port_proto_str(e[i].key.proto));
		}
	}
	free(v);
	free(e);
	return EXIT_OK;
}
