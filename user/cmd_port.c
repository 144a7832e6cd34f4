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

/*
 * A row of `port list`: entry @e and its IPv6 twin @twin (NULL if none,
 * port_row()); @name NULL: no container has the entry's address (any
 * more).
 */
static json_t *entry_json(const struct port_entry *e,
			  const struct port_entry *twin, const char *name)
{
	json_t *o = json_pack("{s:s?, s:s, s:s, s:i, s:i, s:s}",
			      "container", name,
			      "address", port_target_str(e),
			      "host_ip", port_host_ip_str(&e->key),
			      "host_port", ntohs(e->key.host_port),
			      "container_port", ntohs(e->val.port),
			      "proto", port_proto_str(e->key.proto));

	if (o && twin) {
		json_object_set_new(o, "address6",
				    json_string(port_target_str(twin)));
		json_object_set_new(o, "host_ip6",
				    json_string(port_host_ip_str(&twin->key)));
	}
	return o;
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

/* The rows `port list -j` shows of what @spec published to @c. */
static json_t *spec_json(const struct port_spec *spec,
			 const struct container *c)
{
	json_t *arr = json_array();
	struct port_entry e, six;

	for (unsigned int i = 0; i < port_spec_count(spec); i++) {
		memset(&e, 0, sizeof(e));
		memset(&six, 0, sizeof(six));
		e.key.host_port = six.key.host_port = htons(spec->host_lo + i);
		e.key.proto = six.key.proto = spec->proto;
		e.val.port = six.val.port = htons(spec->port_lo + i);
		e.key.family = AF_INET;
		e.key.host_addr = spec->host_addr;
		e.val.addr = c->addr;
		six.key.family = AF_INET6;
		memcpy(six.key.host_addr6, &spec->host_addr6, 16);
		memcpy(six.val.addr6, &c->addr6, 16);
		if (spec->host_family == AF_INET6)
			json_array_append_new(arr, entry_json(&six, NULL,
							      c->name));
		else
			json_array_append_new(arr, entry_json(&e,
				!spec->host_family && c->plen6 ? &six : NULL,
				c->name));
	}
	return arr;
}

int cmd_port_add(int argc, char **argv)
{
	struct port_log log = {};
	struct port_spec spec;
	struct container c;
	char what[64];
	const char *why;
	int fd, err, ret;

	if (argc != 3)
		return usage_error("port add", "expected NAME and "
				   "[HOSTIP:]HOSTPORT[-END]:PORT[-END]"
				   "[/tcp|/udp] (an IPv6 HOSTIP in "
				   "brackets)");
	ret = check_name("port add", argv[1]);
	if (ret)
		return ret;
	if (port_spec_parse(argv[2], true, &spec, &why))
		return usage_error("port add", "'%s': %s", argv[2], why);

	snprintf(what, sizeof(what), "port add %s", argv[1]);
	ret = port_begin("port add", argv[1], what, &c, &fd);
	if (ret)
		return ret;
	err = ports_publish(fd, what, &spec, &c, &log);
	port_log_free(&log);
	close(fd);
	if (err)
		return EXIT_FAIL;
	if (json_output)
		json_print(spec_json(&spec, &c));
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
				   "[HOSTIP:]HOSTPORT[-END][/tcp|/udp] "
				   "(an IPv6 HOSTIP in brackets)");
	ret = check_name("port del", argv[1]);
	if (ret)
		return ret;
	if (port_spec_parse(argv[2], false, &spec, &why))
		return usage_error("port del", "'%s': %s", argv[2], why);

	snprintf(what, sizeof(what), "port del %s", argv[1]);
	ret = port_begin("port del", argv[1], what, &c, &fd);
	if (ret)
		return ret;
	err = ports_unpublish(fd, what, &spec, &c);
	close(fd);
	return err ? EXIT_FAIL : EXIT_OK;
}

/* The name of the container @e leads to, or NULL. */
static const char *name_of(const struct container *v, size_t n,
			   const struct port_entry *e)
{
	const struct container *c = port_container(e, v, n);

	return c ? c->name : NULL;
}

static void row_print(const struct port_entry *e, const char *name)
{
	printf("%-20s %-15s %-15s %-9u %-14u %s\n", name ? name : "-",
	       port_target_str(e), port_host_ip_str(&e->key),
	       ntohs(e->key.host_port), ntohs(e->val.port),
	       port_proto_str(e->key.proto));
}

int cmd_port_list(int argc, char **argv)
{
	const struct port_entry *twin;
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
			if (port_row(e, n, i, v, n_v, &twin))
				json_array_append_new(arr, entry_json(&e[i],
					twin, name_of(v, n_v, &e[i])));
		json_print(arr);
	} else {
		if (n)
			printf("%-20s %-15s %-15s %-9s %-14s %s\n",
			       "CONTAINER", "ADDRESS", "HOST_IP", "HOST_PORT",
			       "CONTAINER_PORT", "PROTO");
		for (i = 0; i < n; i++) {
			if (!port_row(e, n, i, v, n_v, &twin))
				continue;
			name = name_of(v, n_v, &e[i]);
			row_print(&e[i], name);
			/* its IPv6 twin below it */
			if (twin)
				row_print(twin, name);
		}
	}
	free(v);
	free(e);
	return EXIT_OK;
}
