// SPDX-License-Identifier: GPL-2.0-only
/*
 * Published ports: Docker's -p parsed, and the `ports` map changed all or
 * nothing (see ports.h).  Every change is checked in full against the map
 * and the host's sockets before the first entry is written, so that a
 * refusal writes nothing; a write that fails anyway takes back the ones
 * before it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <bpf/bpf.h>

#include "addr.h"
#include "container.h"
#include "log.h"
#include "pins.h"
#include "ports.h"
#include "sockdiag.h"

/* Long enough for "255.255.255.255:65535-65535:65535-65535/tcp". */
#define SPEC_MAX 64

static char why_buf[128];

static const char *why(const char *fmt, const char *arg)
{
	snprintf(why_buf, sizeof(why_buf), fmt, arg);
	return why_buf;
}

const char *port_proto_str(uint8_t proto)
{
	return proto == IPPROTO_TCP ? "tcp" : proto == IPPROTO_UDP ? "udp" :
								     "?";
}

/* "N" or "N-M" into @lo, @hi; NULL, or what is wrong. */
static const char *parse_range(const char *s, uint16_t *lo, uint16_t *hi)
{
	char buf[SPEC_MAX];
	const char *dash = strchr(s, '-');
	uint32_t a, b;

	snprintf(buf, sizeof(buf), "%.*s",
		 (int)(dash ? dash - s : (long)strlen(s)), s);
	if (!buf[0] || (dash && !dash[1]))
		return "a port is missing";
	/* digits alone: strtoul() would take " 80" and "80" alike */
	if (strspn(buf, "0123456789") != strlen(buf) ||
	    parse_u32(buf, 0, 65535, &a))
		return why("'%s' is not a port (1-65535)", buf);
	b = a;
	if (dash && (strspn(dash + 1, "0123456789") != strlen(dash + 1) ||
		     parse_u32(dash + 1, 0, 65535, &b)))
		return why("'%s' is not a port (1-65535)", dash + 1);
	if (!a || !b)
		return "port 0 cannot be published";
	if (a > b)
		return why("the range %s runs backwards", s);
	*lo = a;
	*hi = b;
	return NULL;
}

int port_spec_parse(const char *s, bool container_side,
		    struct port_spec *spec, const char **reason)
{
	const char *form = container_side ?
		"expected [HOSTIP:]HOSTPORT[-END]:PORT[-END][/tcp|/udp]" :
		"expected [HOSTIP:]HOSTPORT[-END][/tcp|/udp]";
	char buf[SPEC_MAX], *proto, *part[4], *colon;
	int n = 0, want = container_side ? 2 : 1;
	uint16_t lo, hi;
	const char *bad;

	memset(spec, 0, sizeof(*spec));
	spec->proto = IPPROTO_TCP;
	*reason = form;
	if (strlen(s) >= sizeof(buf))
		return -EINVAL;
	snprintf(buf, sizeof(buf), "%s", s);
	if (buf[0] == '[') {
		*reason = "IPv6 host addresses are not supported yet";
		return -EINVAL;
	}
	proto = strrchr(buf, '/');
	if (proto) {
		*proto++ = '\0';
		if (!strcmp(proto, "udp")) {
			spec->proto = IPPROTO_UDP;
		} else if (strcmp(proto, "tcp")) {
			*reason = why("the protocol '%s' is not tcp or udp",
				      proto);
			return -EINVAL;
		}
	}
	part[n++] = buf;
	while (n < 4 && (colon = strchr(part[n - 1], ':'))) {
		*colon = '\0';
		part[n++] = colon + 1;
	}
	if (n != want && n != want + 1)
		return -EINVAL;
	if (n == want + 1) {
		/* 0.0.0.0 is every address, as no HOSTIP is */
		if (parse_ipv4(part[0], &spec->host_addr)) {
			*reason = why("'%s' is not an IPv4 address", part[0]);
			return -EINVAL;
		}
	}
	bad = parse_range(part[n - want], &spec->host_lo, &spec->host_hi);
	if (!bad && container_side) {
		bad = parse_range(part[n - 1], &lo, &hi);
		if (!bad && hi - lo != spec->host_hi - spec->host_lo)
			bad = "the host's and the container's ranges are not "
			      "of one length";
		spec->port_lo = lo;
	}
	if (bad) {
		*reason = bad;
		return -EINVAL;
	}
	return 0;
}

const char *port_key_str(const struct port_key *key)
{
	static char buf[4][sizeof("255.255.255.255:65535/tcp")];
	static int next;
	char *out = buf[next++ % 4];

	if (key->host_addr)
		snprintf(out, sizeof(buf[0]), "%s:%u/%s",
			 ip_str(key->host_addr), ntohs(key->host_port),
			 port_proto_str(key->proto));
	else
		snprintf(out, sizeof(buf[0]), "%u/%s", ntohs(key->host_port),
			 port_proto_str(key->proto));
	return out;
}

int ports_open(const char *what)
{
	int fd;

	if (!dp_running(NULL)) {
		pr_warn("%s: bpfnat is down (run 'bpfnat up')", what);
		return -ENOENT;
	}
	fd = dp_pin_open(PIN_PORTS);
	if (fd < 0)
		pr_warn("%s: open %s/%s: %s", what, BPFNAT_PIN_DIR, PIN_PORTS,
			strerror(-fd));
	return fd;
}

static int by_host_side(const void *a, const void *b)
{
	const struct port_key *x = &((const struct port_entry *)a)->key;
	const struct port_key *y = &((const struct port_entry *)b)->key;

	if (x->family != y->family)
		return x->family < y->family ? -1 : 1;
	if (x->proto != y->proto)
		return x->proto < y->proto ? -1 : 1;
	if (x->host_port != y->host_port)
		return ntohs(x->host_port) < ntohs(y->host_port) ? -1 : 1;
	if (x->host_addr != y->host_addr)
		return ntohl(x->host_addr) < ntohl(y->host_addr) ? -1 : 1;
	return 0;
}

int ports_read(int fd, struct port_entry **out, size_t *count)
{
	struct port_entry *v = NULL, *grown;
	struct port_key key, prev;
	size_t n = 0, cap = 0, i, kept;
	bool first = true;

	while (!bpf_map_get_next_key(fd, first ? NULL : &prev, &key)) {
		first = false;
		prev = key;
		if (n == cap) {
			cap = cap ? 2 * cap : 64;
			grown = realloc(v, cap * sizeof(*v));
			if (!grown) {
				free(v);
				return -ENOMEM;
			}
			v = grown;
		}
		v[n].key = key;
		/* gone since (port list holds no lock): not an entry */
		if (!bpf_map_lookup_elem(fd, &key, &v[n].val))
			n++;
	}
	if (errno != ENOENT) {
		free(v);
		return -errno;
	}
	if (n)
		qsort(v, n, sizeof(*v), by_host_side);
	/* A walk whose last key went meanwhile starts again from the
	 * first: each entry once.
	 */
	for (i = 1, kept = n ? 1 : 0; i < n; i++)
		if (by_host_side(&v[i], &v[kept - 1]))
			v[kept++] = v[i];
	*out = v;
	*count = kept;
	return 0;
}

static int port_log_add(struct port_log *log, const struct port_key *key)
{
	struct port_key *keys;

	if (log->n == log->cap) {
		size_t cap = log->cap ? 2 * log->cap : 64;

		keys = realloc(log->keys, cap * sizeof(*keys));
		if (!keys)
			return -ENOMEM;
		log->keys = keys;
		log->cap = cap;
	}
	log->keys[log->n++] = *key;
	return 0;
}

/* Delete what @log holds from entry @from on. */
static void port_log_undo_from(int fd, struct port_log *log, size_t from)
{
	while (log->n > from)
		bpf_map_delete_elem(fd, &log->keys[--log->n]);
}

void port_log_undo(int fd, struct port_log *log)
{
	port_log_undo_from(fd, log, 0);
}

void port_log_free(struct port_log *log)
{
	free(log->keys);
	memset(log, 0, sizeof(*log));
}

/* The name of the container at @addr, for messages. */
static const char *container_name_of(uint32_t addr)
{
	static char name[NETNS_NAME_MAX + 1];
	struct container *v;
	struct nl nl;
	size_t n = 0;

	snprintf(name, sizeof(name), "%s", "(none)");
	if (nl_open(&nl))
		return name;
	if (!container_list(&nl, &v, &n)) {
		for (size_t i = 0; i < n; i++)
			if (v[i].addr == addr)
				snprintf(name, sizeof(name), "%s", v[i].name);
		free(v);
	}
	nl_close(&nl);
	return name;
}

/* Two host sides that one packet could match: the same protocol and
 * port, and the same address or either of them every address.
 */
static bool host_sides_meet(const struct port_key *a, const struct port_key *b)
{
	return a->family == b->family && a->proto == b->proto &&
	       a->host_port == b->host_port &&
	       (!a->host_addr || !b->host_addr || a->host_addr == b->host_addr);
}

static const struct port_entry *entry_meeting(const struct port_entry *v,
					      size_t n,
					      const struct port_key *key)
{
	for (size_t i = 0; i < n; i++)
		if (host_sides_meet(&v[i].key, key))
			return &v[i];
	return NULL;
}

static bool entry_is(const struct port_entry *e, const struct port_key *key,
		     const struct port_val *val)
{
	return e && !memcmp(&e->key, key, sizeof(*key)) &&
	       e->val.addr == val->addr && e->val.port == val->port;
}

static const struct host_sock *sock_holding(const struct host_sock *v,
					    size_t n,
					    const struct port_key *key)
{
	for (size_t i = 0; i < n; i++)
		if (v[i].port == key->host_port &&
		    (!v[i].addr || !key->host_addr ||
		     v[i].addr == key->host_addr))
			return &v[i];
	return NULL;
}

static void entry_of(const struct port_spec *spec, uint32_t addr,
		     unsigned int i, struct port_key *key,
		     struct port_val *val)
{
	memset(key, 0, sizeof(*key));
	memset(val, 0, sizeof(*val));
	key->host_addr = spec->host_addr;
	key->host_port = htons(spec->host_lo + i);
	key->proto = spec->proto;
	key->family = AF_INET;
	val->addr = addr;
	val->port = htons(spec->port_lo + i);
}

/* List @v in PORTS_INTENT, whole or not at all. */
static int intent_write(const char *what, const struct port_entry *v,
			size_t n)
{
	const char *tmp = PORTS_INTENT "_new";
	int err = 0;
	FILE *f;

	f = fopen(tmp, "w");
	if (!f) {
		err = -errno;
		goto out;
	}
	for (size_t i = 0; i < n && !err; i++)
		if (fprintf(f, "%08x %04x %u %08x %04x\n",
			    ntohl(v[i].key.host_addr),
			    ntohs(v[i].key.host_port), v[i].key.proto,
			    ntohl(v[i].val.addr), ntohs(v[i].val.port)) < 0)
			err = -errno;
	if (fclose(f) && !err)
		err = -errno;
	if (!err && rename(tmp, PORTS_INTENT))
		err = -errno;
out:
	if (err) {
		unlink(tmp);
		pr_warn("%s: write %s: %s", what, PORTS_INTENT,
			strerror(-err));
	}
	return err;
}

static void intent_end(void)
{
	unlink(PORTS_INTENT);
}

int ports_recover(int fd, const char *what)
{
	unsigned int host_addr, host_port, proto, addr, port, n = 0;
	struct port_key key;
	struct port_val val, cur;
	FILE *f;

	unlink(PORTS_INTENT "_new");	/* half written: nothing changed */
	f = fopen(PORTS_INTENT, "r");
	if (!f) {
		int err = -errno;

		if (err == -ENOENT)
			return 0;
		pr_warn("%s: read %s: %s", what, PORTS_INTENT,
			strerror(-err));
		return err;
	}
	while (fscanf(f, "%x %x %u %x %x", &host_addr, &host_port, &proto,
		      &addr, &port) == 5) {
		memset(&key, 0, sizeof(key));
		memset(&val, 0, sizeof(val));
		key.host_addr = htonl(host_addr);
		key.host_port = htons(host_port);
		key.proto = proto;
		key.family = AF_INET;
		val.addr = htonl(addr);
		val.port = htons(port);
		if (!bpf_map_lookup_elem(fd, &key, &cur) &&
		    cur.addr == val.addr && cur.port == val.port &&
		    !bpf_map_delete_elem(fd, &key))
			n++;
	}
	fclose(f);
	if (unlink(PORTS_INTENT) && errno != ENOENT) {
		int err = -errno;

		pr_warn("%s: remove %s: %s", what, PORTS_INTENT,
			strerror(-err));
		return err;
	}
	if (n)
		pr_info("%s: %u entries a killed command left removed", what,
			n);
	return 0;
}

/* May every port of @spec be published?  0, or -EADDRINUSE said why. */
static int publish_check(const char *what, const struct port_spec *spec,
			 uint32_t addr, const struct port_entry *have,
			 size_t n_have, const struct host_sock *socks,
			 size_t n_socks)
{
	unsigned int count = port_spec_count(spec);
	const struct port_entry *e;
	const struct host_sock *s;
	struct port_key key;
	struct port_val val;

	for (unsigned int i = 0; i < count; i++) {
		entry_of(spec, addr, i, &key, &val);
		e = entry_meeting(have, n_have, &key);
		if (entry_is(e, &key, &val))
			continue;	/* published just so already */
		if (e && !memcmp(&e->key, &key, sizeof(key))) {
			pr_warn("%s: host port %s is published already, to "
				"container %s (%s:%u)", what,
				port_key_str(&key),
				container_name_of(e->val.addr),
				ip_str(e->val.addr), ntohs(e->val.port));
			return -EADDRINUSE;
		}
		if (e) {
			pr_warn("%s: host port %s is taken: %s leads to "
				"container %s (%s:%u)", what,
				port_key_str(&key), port_key_str(&e->key),
				container_name_of(e->val.addr),
				ip_str(e->val.addr), ntohs(e->val.port));
			return -EADDRINUSE;
		}
		s = sock_holding(socks, n_socks, &key);
		if (s) {
			pr_warn("%s: host port %s is taken: a socket of the "
				"host %s %s:%u", what, port_key_str(&key),
				spec->proto == IPPROTO_TCP ? "listens on" :
							     "is bound to",
				ip_str(s->addr), ntohs(s->port));
			return -EADDRINUSE;
		}
	}
	return 0;
}

int ports_publish(int fd, const char *what, const struct port_spec *spec,
		  uint32_t addr, struct port_log *log)
{
	unsigned int count = port_spec_count(spec);
	struct port_entry *have = NULL, *todo = NULL;
	struct host_sock *socks = NULL;
	size_t n_have, n_socks, n_todo = 0, from = log->n;
	struct port_key key;
	struct port_val val;
	int err;

	err = ports_read(fd, &have, &n_have);
	if (err) {
		pr_warn("%s: read %s: %s", what, PIN_PORTS, strerror(-err));
		return err;
	}
	err = host_socks(spec->proto, &socks, &n_socks);
	if (err) {
		pr_warn("%s: read the host's sockets: %s", what,
			strerror(-err));
		goto out;
	}
	err = publish_check(what, spec, addr, have, n_have, socks, n_socks);
	if (err)
		goto out;
	todo = calloc(count, sizeof(*todo));
	if (!todo) {
		err = -ENOMEM;
		pr_warn("%s: %s", what, strerror(-err));
		goto out;
	}
	for (unsigned int i = 0; i < count; i++) {
		entry_of(spec, addr, i, &key, &val);
		if (!entry_is(entry_meeting(have, n_have, &key), &key, &val))
			todo[n_todo++] = (struct port_entry){ key, val };
	}
	if (!n_todo)
		goto out;	/* published just so already */
	err = intent_write(what, todo, n_todo);
	for (size_t i = 0; !err && i < n_todo; i++) {
		/* NOEXIST: what was checked is what is written over */
		if (bpf_map_update_elem(fd, &todo[i].key, &todo[i].val,
					BPF_NOEXIST)) {
			err = -errno;
			if (err == -E2BIG)
				pr_warn("%s: the table of published ports is "
					"full (%d entries)", what, PORTS_MAX);
			else
				pr_warn("%s: add %s: %s", what,
					port_key_str(&todo[i].key),
					strerror(-err));
			/* not -EEXIST, which ns add reads as "the name" */
			if (err == -EEXIST)
				err = -EADDRINUSE;
			break;
		}
		err = port_log_add(log, &todo[i].key);
		if (err) {
			bpf_map_delete_elem(fd, &todo[i].key);
			pr_warn("%s: %s", what, strerror(-err));
		}
	}
	if (err)
		port_log_undo_from(fd, log, from);
	intent_end();
out:
	free(todo);
	free(have);
	free(socks);
	return err;
}

int ports_publish_all(int fd, const struct port_spec *specs, size_t n,
		      uint32_t addr, const char *(*what)(size_t i, void *arg),
		      void *arg)
{
	struct port_log log = {};
	int err = 0;

	for (size_t i = 0; !err && i < n; i++)
		err = ports_publish(fd, what(i, arg), &specs[i], addr, &log);
	if (err)
		port_log_undo(fd, &log);
	port_log_free(&log);
	return err;
}

int ports_unpublish(int fd, const char *what, const struct port_spec *spec,
		    uint32_t addr)
{
	unsigned int count = port_spec_count(spec), i;
	struct port_entry *gone;
	struct port_key key;
	struct port_val val;
	int err = 0;

	gone = calloc(count, sizeof(*gone));
	if (!gone)
		return -ENOMEM;
	for (i = 0; i < count; i++) {
		entry_of(spec, 0, i, &key, &val);
		if (bpf_map_lookup_elem(fd, &key, &gone[i].val)) {
			err = -errno;
			if (err == -ENOENT)
				pr_warn("%s: %s is not published", what,
					port_key_str(&key));
			else
				pr_warn("%s: read %s: %s", what,
					port_key_str(&key), strerror(-err));
			goto out;
		}
		if (gone[i].val.addr != addr) {
			pr_warn("%s: %s is published to container %s, not "
				"to this one", what, port_key_str(&key),
				container_name_of(gone[i].val.addr));
			err = -ENOENT;
			goto out;
		}
		gone[i].key = key;
	}
	err = intent_write(what, gone, count);
	if (err)
		goto out;
	for (i = 0; i < count; i++) {
		if (bpf_map_delete_elem(fd, &gone[i].key)) {
			err = -errno;
			pr_warn("%s: remove %s: %s", what,
				port_key_str(&gone[i].key), strerror(-err));
			break;
		}
	}
	/* all or none: what went comes back */
	while (err && i-- > 0)
		bpf_map_update_elem(fd, &gone[i].key, &gone[i].val,
				    BPF_NOEXIST);
	intent_end();
out:
	free(gone);
	return err;
}

int ports_forget(uint32_t addr)
{
	struct port_entry *v = NULL;
	size_t n = 0, i;
	int fd, err, removed = 0;

	fd = dp_pin_open(PIN_PORTS);
	if (fd < 0)
		return fd == -ENOENT ? 0 : fd;
	err = ports_read(fd, &v, &n);
	for (i = 0; !err && i < n; i++) {
		if (v[i].val.addr != addr)
			continue;
		if (bpf_map_delete_elem(fd, &v[i].key) && errno != ENOENT)
			err = -errno;
		else
			removed++;
	}
	free(v);
	close(fd);
	return err ? err : removed;
}
