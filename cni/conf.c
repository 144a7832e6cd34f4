// SPDX-License-Identifier: GPL-2.0-only
/*
 * The network configuration: "name", the "ipam" section, bpfnat's own
 * keys (the options of `up`, by up_opt_names[].key), the portMappings of
 * runtimeConfig and, for CHECK, the prevResult.  Unknown keys are the
 * runtime's or another plugin's, and left alone.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include "cni.h"

static int bad(const char *key, const char *why)
{
	return cni_fail(CNI_ERR_CONFIG, "invalid network configuration",
			"%s: %s", key, why);
}

/* An option's value as the text up_opt_set() takes: strings as they are,
 * numbers written out.
 */
static const char *opt_text(json_t *v, char *buf, size_t size)
{
	if (json_is_string(v))
		return json_string_value(v);
	if (json_is_integer(v)) {
		snprintf(buf, size, "%lld", (long long)json_integer_value(v));
		return buf;
	}
	return NULL;
}

static int up_keys(struct cni_req *r)
{
	char buf[32], what[64];
	const char *text, *why;
	json_t *v, *item;
	size_t i;

	up_opts_default(&r->up);
	for (int opt = 0; opt < UP_OPT_MAX; opt++) {
		const char *key = up_opt_names[opt].key;

		v = json_object_get(r->conf, key);
		if (!v)
			continue;
		/* "exclude": a list, each one an --exclude */
		if (opt == UP_OPT_EXCLUDE) {
			if (!json_is_array(v))
				return bad(key, "expected a list of CIDRs");
			json_array_foreach(v, i, item) {
				text = json_string_value(item);
				snprintf(what, sizeof(what), "%s[%zu]", key, i);
				if (!text)
					return bad(what, "expected a CIDR");
				why = up_opt_set(&r->up, opt, text);
				if (why)
					return cni_fail(CNI_ERR_CONFIG,
							"invalid network "
							"configuration",
							"%s '%s': %s", what,
							text, why);
			}
			continue;
		}
		text = opt_text(v, buf, sizeof(buf));
		if (!text)
			return bad(key, "expected a string or a number");
		why = up_opt_set(&r->up, opt, text);
		if (why)
			return cni_fail(CNI_ERR_CONFIG, "invalid network "
					"configuration", "%s '%s': %s", key,
					text, why);
		if (opt == UP_OPT_POOL)
			r->pool_given = true;
	}
	return 0;
}

/* runtimeConfig.portMappings: [{hostPort, containerPort, protocol,
 * hostIP}], each one port to one port.
 */
static int port_mappings(struct cni_req *r)
{
	json_t *list, *m;
	size_t i;

	list = json_object_get(json_object_get(r->conf, "runtimeConfig"),
			       "portMappings");
	if (!list)
		return 0;
	if (!json_is_array(list))
		return bad("runtimeConfig.portMappings", "expected a list");
	if (json_array_size(list) > PORT_MAPPINGS_MAX)
		return cni_fail(CNI_ERR_UNSUPPORTED, "unsupported field",
				"runtimeConfig.portMappings: %zu mappings, "
				"bpfnat takes at most %d",
				json_array_size(list), PORT_MAPPINGS_MAX);
	json_array_foreach(list, i, m) {
		struct port_spec *s = &r->ports[i];
		json_int_t host = json_integer_value(json_object_get(m, "hostPort"));
		json_int_t cont = json_integer_value(json_object_get(m, "containerPort"));
		const char *proto = json_string_value(json_object_get(m, "protocol"));
		const char *ip = json_string_value(json_object_get(m, "hostIP"));
		char what[64];

		snprintf(what, sizeof(what), "runtimeConfig.portMappings[%zu]",
			 i);
		if (host < 1 || host > 65535 || cont < 1 || cont > 65535)
			return bad(what, "hostPort and containerPort must be "
				   "1 to 65535");
		memset(s, 0, sizeof(*s));
		s->host_lo = s->host_hi = host;
		s->port_lo = cont;
		s->proto = IPPROTO_TCP;
		if (proto && !strcasecmp(proto, "udp"))
			s->proto = IPPROTO_UDP;
		else if (proto && *proto && strcasecmp(proto, "tcp"))
			return cni_fail(CNI_ERR_UNSUPPORTED, "unsupported "
					"field", "%s.protocol '%s': bpfnat "
					"publishes tcp and udp", what, proto);
		/* no hostIP: every address of both families */
		if (ip && *ip && strchr(ip, ':')) {
			if (inet_pton(AF_INET6, ip, &s->host_addr6) != 1)
				return bad(what, "hostIP is not an address");
			s->host_family = AF_INET6;
		} else if (ip && *ip) {
			if (parse_ipv4(ip, &s->host_addr))
				return bad(what, "hostIP is not an address");
			s->host_family = AF_INET;
		}
		r->n_ports++;
	}
	return 0;
}

/* "A.B.C.D/N" or, with @plen_optional, "A.B.C.D"; IPv6 is told apart. */
static int cidr_of(json_t *v, uint32_t *addr, int *plen, bool plen_optional)
{
	const char *s = json_string_value(v);

	if (!s)
		return -EINVAL;
	if (strchr(s, ':'))
		return -EAFNOSUPPORT;
	return parse_cidr(s, addr, plen, plen_optional);
}

int result_parse(json_t *res, struct cni_result *out, const char *what)
{
	json_t *list, *e;
	size_t i;
	int err;

	memset(out, 0, sizeof(*out));
	out->sandbox_index = -1;
	json_array_foreach(json_object_get(res, "interfaces"), i, e) {
		const char *name = json_string_value(json_object_get(e, "name"));
		const char *sb = json_string_value(json_object_get(e, "sandbox"));

		if (name && sb && *sb && out->sandbox_index < 0) {
			snprintf(out->sandbox_if, sizeof(out->sandbox_if), "%s",
				 name);
			out->sandbox_index = i;
		}
	}
	list = json_object_get(res, "ips");
	json_array_foreach(list, i, e) {
		json_t *index = json_object_get(e, "interface");

		if (out->n_ips == sizeof(out->ips) / sizeof(out->ips[0]))
			break;
		err = cidr_of(json_object_get(e, "address"),
			      &out->ips[out->n_ips].addr,
			      &out->ips[out->n_ips].plen, false);
		if (err == -EAFNOSUPPORT)
			continue;
		if (err)
			return cni_fail(CNI_ERR_DECODE, "cannot decode a "
					"result", "%s: ips[%zu].address is "
					"not a CIDR", what, i);
		out->ips[out->n_ips].interface = json_is_integer(index) ?
			(int)json_integer_value(index) : -1;
		out->n_ips++;
	}
	list = json_object_get(res, "routes");
	json_array_foreach(list, i, e) {
		struct container_route *rt = &out->routes[out->n_routes];
		json_t *gw = json_object_get(e, "gw");
		int plen;

		if (out->n_routes == ROUTES_MAX)
			break;
		err = cidr_of(json_object_get(e, "dst"), &rt->dst, &rt->plen,
			      false);
		if (err == -EAFNOSUPPORT)
			continue;
		if (!err && gw)
			err = cidr_of(gw, &rt->gw, &plen, true);
		if (err)
			return cni_fail(CNI_ERR_DECODE, "cannot decode a "
					"result", "%s: routes[%zu] is not an "
					"IPv4 route", what, i);
		out->n_routes++;
	}
	return 0;
}

int conf_parse(struct cni_req *r)
{
	json_t *ipam, *prev;

	/* the runtime passes one plugin's configuration, never the list */
	if (!json_is_string(json_object_get(r->conf, "type")))
		return bad("type", json_object_get(r->conf, "plugins") ?
			   "missing: a network configuration list, not one "
			   "plugin's configuration from it" : "missing");
	r->network = json_string_value(json_object_get(r->conf, "name"));
	if (!r->network || !*r->network)
		return bad("name", "the network's name is missing");
	if (strlen(r->network) > ATTACH_NETWORK_MAX)
		return bad("name", "longer than bpfnat keeps");
	ipam = json_object_get(r->conf, "ipam");
	if (ipam && !json_is_object(ipam))
		return bad("ipam", "expected an object");
	/* an ipam section without a type (podman's {}): the own pool */
	r->ipam_type = json_string_value(json_object_get(ipam, "type"));
	if (r->ipam_type && (!*r->ipam_type || strchr(r->ipam_type, '/')))
		return bad("ipam.type", "not a plugin's name");
	if (up_keys(r) || port_mappings(r))
		return -1;
	prev = json_object_get(r->conf, "prevResult");
	if (prev && r->command == CNI_CHECK) {
		r->has_prev = true;
		if (result_parse(prev, &r->prev, "prevResult"))
			return -1;
	}
	return 0;
}
