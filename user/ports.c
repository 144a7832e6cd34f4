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

/* Long enough for "[IPv6]:65535-65535:65535-65535/tcp". */
#define SPEC_MAX 96

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
		"expected [HOSTIP:]HOSTPORT[-END]:PORT[-END][/tcp|/udp] "
		"(an IPv6 HOSTIP in brackets)" :
		"expected [HOSTIP:]HOSTPORT[-END][/tcp|/udp] "
		"(an IPv6 HOSTIP in brackets)";
	char buf[SPEC_MAX], *start, *proto, *part[4], *colon;
	int n = 0, want = container_side ? 2 : 1;
	uint16_t lo, hi;
	const char *bad;

	memset(spec, 0, sizeof(*spec));
	spec->proto = IPPROTO_TCP;
	*reason = form;
	if (strlen(s) >= sizeof(buf))
		return -EINVAL;
	snprintf(buf, sizeof(buf), "%s", s);
	start = buf;
	if (buf[0] == '[') {
		/* an IPv6 HOSTIP, in brackets as Docker's */
		char *end = strchr(buf, ']');

		if (!end || end[1] != ':')
			return -EINVAL;
		*end = '\0';
		if (inet_pton(AF_INET6, buf + 1, &spec->host_addr6) != 1) {
			*reason = why("'%s' is not an IPv6 address", buf + 1);
			return -EINVAL;
		}
		spec->host_family = AF_INET6;
		start = end + 2;
	}
	proto = strrchr(start, '/');
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
	part[n++] = start;
	while (n < 4 && (colon = strchr(part[n - 1], ':'))) {
		*colon = '\0';
		part[n++] = colon + 1;
	}
	if (n != want && (n != want + 1 || spec->host_family))
		return -EINVAL;
	if (n == want + 1) {
		/* 0.0.0.0 is every IPv4 address */
		if (parse_ipv4(part[0], &spec->host_addr)) {
			*reason = why("'%s' is not an IPv4 address", part[0]);
			return -EINVAL;
		}
		spec->host_family = AF_INET;
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

/* Is @key's host side every address of its family? */
static bool key_any(const struct port_key *key)
{
	static const uint32_t zero[4];

	return !memcmp(key->host_addr6, zero, sizeof(zero));
}

const char *port_key_str(const struct port_key *key)
{
	static char buf[4][sizeof("[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]"
				  ":65535/tcp")];
	static int next;
	char *out = buf[next++ % 4];

	if (key->family == AF_INET6)
		snprintf(out, sizeof(buf[0]), "[%s]:%u/%s",
			 ip6_str((const struct in6_addr *)key->host_addr6),
			 ntohs(key->host_port), port_proto_str(key->proto));
	else if (!key_any(key))
		snprintf(out, sizeof(buf[0]), "%s:%u/%s",
			 ip_str(key->host_addr), ntohs(key->host_port),
			 port_proto_str(key->proto));
	else
		snprintf(out, sizeof(buf[0]), "%u/%s", ntohs(key->host_port),
			 port_proto_str(key->proto));
	return out;
}

const char *port_target_str(const struct port_entry *e)
{
	return e->key.family == AF_INET6 ?
		       ip6_str((const struct in6_addr *)e->val.addr6) :
		       ip_str(e->val.addr);
}

const char *port_host_ip_str(const struct port_key *key)
{
	return key->family == AF_INET6 ?
		       ip6_str((const struct in6_addr *)key->host_addr6) :
		       ip_str(key->host_addr);
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
	/* (byte order: an IPv4 address is the first four bytes) */
	return memcmp(x->host_addr6, y->host_addr6, sizeof(x->host_addr6));
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

/* Does entry @e lead to container @c? */
static bool leads_to(const struct port_entry *e, const struct container *c)
{
	if (e->key.family == AF_INET6)
		return c->plen6 && !memcmp(e->val.addr6, &c->addr6,
					   sizeof(c->addr6));
	return e->val.addr == c->addr;
}

const struct container *port_container(const struct port_entry *e,
				       const struct container *cs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (leads_to(e, &cs[i]))
			return &cs[i];
	return NULL;
}

/* The name of the container entry @e leads to, for messages. */
static const char *container_name_of(const struct port_entry *e)
{
	static char name[NETNS_NAME_MAX + 1];
	const struct container *c;
	struct container *v;
	struct nl nl;
	size_t n = 0;

	snprintf(name, sizeof(name), "%s", "(none)");
	if (nl_open(&nl))
		return name;
	if (!container_list(&nl, &v, &n)) {
		c = port_container(e, v, n);
		if (c)
			snprintf(name, sizeof(name), "%s", c->name);
		free(v);
	}
	nl_close(&nl);
	return name;
}

/* Two host sides that one packet could match: the same family, protocol
 * and port, and the same address or either of them every address.
 */
static bool host_sides_meet(const struct port_key *a, const struct port_key *b)
{
	return a->family == b->family && a->proto == b->proto &&
	       a->host_port == b->host_port &&
	       (key_any(a) || key_any(b) ||
		!memcmp(a->host_addr6, b->host_addr6, sizeof(a->host_addr6)));
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
	       !memcmp(e->val.addr6, val->addr6, sizeof(val->addr6)) &&
	       e->val.port == val->port;
}

static const struct host_sock *sock_holding(const struct host_sock *v,
					    size_t n,
					    const struct port_key *key)
{
	static const struct in6_addr any6;

	for (size_t i = 0; i < n; i++) {
		if (v[i].family != key->family || v[i].port != key->host_port)
			continue;
		if (key_any(key))
			return &v[i];
		if (key->family == AF_INET &&
		    (!v[i].addr || v[i].addr == key->host_addr))
			return &v[i];
		if (key->family == AF_INET6 &&
		    (!memcmp(&v[i].addr6, &any6, sizeof(any6)) ||
		     !memcmp(&v[i].addr6, key->host_addr6, sizeof(any6))))
			return &v[i];
	}
	return NULL;
}

static const char *sock_str(const struct host_sock *s)
{
	static char buf[sizeof("[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]"
			       ":65535")];

	if (s->family == AF_INET6)
		snprintf(buf, sizeof(buf), "[%s]:%u", ip6_str(&s->addr6),
			 ntohs(s->port));
	else
		snprintf(buf, sizeof(buf), "%s:%u", ip_str(s->addr),
			 ntohs(s->port));
	return buf;
}

/* Does @spec name @family (with no HOSTIP, both)? */
static bool spec_has(const struct port_spec *spec, uint8_t family)
{
	return !spec->host_family || spec->host_family == family;
}

/* Entry @i of @spec over @family, to container @c (NULL: no target, for
 * a del).
 */
static void entry_of(const struct port_spec *spec, uint8_t family,
		     const struct container *c, unsigned int i,
		     struct port_key *key, struct port_val *val)
{
	memset(key, 0, sizeof(*key));
	memset(val, 0, sizeof(*val));
	if (family == AF_INET6)
		memcpy(key->host_addr6, &spec->host_addr6,
		       sizeof(key->host_addr6));
	else
		key->host_addr = spec->host_addr;
	key->host_port = htons(spec->host_lo + i);
	key->proto = spec->proto;
	key->family = family;
	if (c && family == AF_INET6)
		memcpy(val->addr6, &c->addr6, sizeof(val->addr6));
	else if (c)
		val->addr = c->addr;
	val->port = htons(spec->port_lo + i);
}

/* 32 hex digits of the 16 bytes at @p into @out. */
static void hex16(const void *p, char *out)
{
	const uint8_t *b = p;

	for (int i = 0; i < 16; i++)
		sprintf(out + 2 * i, "%02x", b[i]);
}

static int unhex16(const char *s, void *p)
{
	uint8_t *b = p;
	unsigned int x;

	if (strlen(s) != 32)
		return -EINVAL;
	for (int i = 0; i < 16; i++) {
		if (sscanf(s + 2 * i, "%2x", &x) != 1)
			return -EINVAL;
		b[i] = x;
	}
	return 0;
}

/*
 * List @v in PORTS_INTENT, whole or not at all: a line per entry, its
 * family, host address (16 bytes in hex, an IPv4 one first), host port,
 * protocol, target address and port.
 */
static int intent_write(const char *what, const struct port_entry *v,
			size_t n)
{
	const char *tmp = PORTS_INTENT "_new";
	char host[33], to[33];
	int err = 0;
	FILE *f;

	f = fopen(tmp, "w");
	if (!f) {
		err = -errno;
		goto out;
	}
	for (size_t i = 0; i < n && !err; i++) {
		hex16(v[i].key.host_addr6, host);
		hex16(v[i].val.addr6, to);
		if (fprintf(f, "%u %s %04x %u %s %04x\n", v[i].key.family, host,
			    ntohs(v[i].key.host_port), v[i].key.proto, to,
			    ntohs(v[i].val.port)) < 0)
			err = -errno;
	}
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
	unsigned int family, host_port, proto, port, n = 0;
	char host[33], to[33];
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
	while (fscanf(f, "%u %32s %x %u %32s %x", &family, host, &host_port,
		      &proto, to, &port) == 6) {
		memset(&key, 0, sizeof(key));
		memset(&val, 0, sizeof(val));
		if (unhex16(host, key.host_addr6) || unhex16(to, val.addr6))
			break;
		key.host_port = htons(host_port);
		key.proto = proto;
		key.family = family;
		val.port = htons(port);
		if (!bpf_map_lookup_elem(fd, &key, &cur) &&
		    !memcmp(cur.addr6, val.addr6, sizeof(val.addr6)) &&
		    cur.port == val.port && !bpf_map_delete_elem(fd, &key))
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

/* May entry @key, @val be published?  0, or -EADDRINUSE said why. */
static int publish_check(const char *what, const struct port_key *key,
			 const struct port_val *val,
			 const struct port_entry *have, size_t n_have,
			 const struct host_sock *socks, size_t n_socks)
{
	const struct port_entry *e;
	const struct host_sock *s;

	e = entry_meeting(have, n_have, key);
	if (entry_is(e, key, val))
		return 0;	/* published just so already */
	if (e && !memcmp(&e->key, key, sizeof(*key))) {
		pr_warn("%s: host port %s is published already, to "
			"container %s (%s:%u)", what, port_key_str(key),
			container_name_of(e), port_target_str(e),
			ntohs(e->val.port));
		return -EADDRINUSE;
	}
	if (e) {
		pr_warn("%s: host port %s is taken: %s leads to container %s "
			"(%s:%u)", what, port_key_str(key),
			port_key_str(&e->key), container_name_of(e),
			port_target_str(e), ntohs(e->val.port));
		return -EADDRINUSE;
	}
	s = sock_holding(socks, n_socks, key);
	if (s) {
		pr_warn("%s: host port %s is taken: a socket of the host %s "
			"%s", what, port_key_str(key),
			key->proto == IPPROTO_TCP ? "listens on" :
						    "is bound to",
			sock_str(s));
		return -EADDRINUSE;
	}
	return 0;
}

/* The families @spec publishes to container @c, in @fam (@n of them). */
static int publish_families(const char *what, const struct port_spec *spec,
			    const struct container *c, uint8_t *fam, int *n)
{
	*n = 0;
	if (spec_has(spec, AF_INET))
		fam[(*n)++] = AF_INET;
	if (spec_has(spec, AF_INET6) && c->plen6)
		fam[(*n)++] = AF_INET6;
	if (spec->host_family == AF_INET6 && !c->plen6) {
		pr_warn("%s: container %s has no IPv6 address to publish "
			"[%s] to", what, c->name, ip6_str(&spec->host_addr6));
		return -EINVAL;
	}
	return 0;
}

int ports_publish(int fd, const char *what, const struct port_spec *spec,
		  const struct container *c, struct port_log *log)
{
	unsigned int count = port_spec_count(spec);
	struct port_entry *have = NULL, *todo = NULL;
	struct host_sock *socks = NULL;
	size_t n_have, n_socks, n_todo = 0, from = log->n;
	struct port_key key;
	struct port_val val;
	uint8_t fam[2];
	int err, n_fam;

	err = publish_families(what, spec, c, fam, &n_fam);
	if (err)
		return err;
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
	todo = calloc(2 * count, sizeof(*todo));
	if (!todo) {
		err = -ENOMEM;
		pr_warn("%s: %s", what, strerror(-err));
		goto out;
	}
	/* every entry checked before the first is written */
	for (int f = 0; f < n_fam; f++) {
		for (unsigned int i = 0; i < count; i++) {
			entry_of(spec, fam[f], c, i, &key, &val);
			err = publish_check(what, &key, &val, have, n_have,
					    socks, n_socks);
			if (err)
				goto out;
			if (!entry_is(entry_meeting(have, n_have, &key), &key,
				      &val))
				todo[n_todo++] = (struct port_entry){ key,
								      val };
		}
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
		      const struct container *c,
		      const char *(*what)(size_t i, void *arg), void *arg)
{
	struct port_log log = {};
	int err = 0;

	for (size_t i = 0; !err && i < n; i++)
		err = ports_publish(fd, what(i, arg), &specs[i], c, &log);
	if (err)
		port_log_undo(fd, &log);
	port_log_free(&log);
	return err;
}

/*
 * Entry @key of a del, into @gone when it leads to @c.  0 when it does;
 * -ENOENT when it is not there (@other false) or leads to another
 * container (@other true); or another -errno, said.
 */
static int unpublish_find(int fd, const char *what, const struct port_key *key,
			  const struct container *c, struct port_entry *gone,
			  bool *other)
{
	int err;

	*other = false;
	gone->key = *key;
	if (bpf_map_lookup_elem(fd, key, &gone->val)) {
		err = -errno;
		if (err != -ENOENT)
			pr_warn("%s: read %s: %s", what, port_key_str(key),
				strerror(-err));
		return err;
	}
	if (!leads_to(gone, c)) {
		*other = true;
		return -ENOENT;
	}
	return 0;
}

int ports_unpublish(int fd, const char *what, const struct port_spec *spec,
		    const struct container *c)
{
	unsigned int count = port_spec_count(spec), i;
	static const uint8_t fams[] = { AF_INET, AF_INET6 };
	struct port_entry *gone, other_entry;
	size_t n_gone = 0, found;
	struct port_key key;
	struct port_val val;
	bool other;
	int err = 0;

	gone = calloc(2 * count, sizeof(*gone));
	if (!gone)
		return -ENOMEM;
	for (i = 0; i < count; i++) {
		found = n_gone;
		other_entry.key.family = 0;
		for (int f = 0; f < 2; f++) {
			if (!spec_has(spec, fams[f]))
				continue;
			entry_of(spec, fams[f], NULL, i, &key, &val);
			err = unpublish_find(fd, what, &key, c, &gone[n_gone],
					     &other);
			if (!err)
				n_gone++;
			else if (err != -ENOENT)
				goto out;
			else if (other)
				other_entry = gone[n_gone];
		}
		err = 0;
		if (n_gone > found)
			continue;
		/* none of this port leads to @c */
		entry_of(spec, spec->host_family == AF_INET6 ? AF_INET6 :
							       AF_INET,
			 NULL, i, &key, &val);
		if (other_entry.key.family)
			pr_warn("%s: %s is published to container %s, not "
				"to this one", what,
				port_key_str(&other_entry.key),
				container_name_of(&other_entry));
		else
			pr_warn("%s: %s is not published", what,
				port_key_str(&key));
		err = -ENOENT;
		goto out;
	}
	err = intent_write(what, gone, n_gone);
	if (err)
		goto out;
	for (i = 0; i < n_gone; i++) {
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

int ports_forget(const struct container *c)
{
	struct port_entry *v = NULL;
	size_t n = 0, i;
	int fd, err, removed = 0;

	fd = dp_pin_open(PIN_PORTS);
	if (fd < 0)
		return fd == -ENOENT ? 0 : fd;
	err = ports_read(fd, &v, &n);
	for (i = 0; !err && i < n; i++) {
		if (!leads_to(&v[i], c))
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

/* Are @a, an IPv4 entry, and @b, an IPv6 one, what one add with no HOSTIP
 * made: both on every address, the same port, to one container's port?
 */
static bool twins(const struct port_entry *a, const struct port_entry *b,
		  const struct container *cs, size_t n_cs)
{
	const struct container *c;

	if (a->key.family != AF_INET || b->key.family != AF_INET6 ||
	    !key_any(&a->key) || !key_any(&b->key) ||
	    a->key.host_port != b->key.host_port ||
	    a->key.proto != b->key.proto || a->val.port != b->val.port)
		return false;
	c = port_container(a, cs, n_cs);
	return c && leads_to(b, c);
}

/* The entry of @v (@n, sorted) on every address of @family with @e's
 * protocol and host port, or NULL.
 */
static const struct port_entry *any_entry(const struct port_entry *v,
					  size_t n, const struct port_entry *e,
					  uint8_t family)
{
	struct port_entry k;

	memset(&k, 0, sizeof(k));
	k.key.family = family;
	k.key.proto = e->key.proto;
	k.key.host_port = e->key.host_port;
	return bsearch(&k, v, n, sizeof(*v), by_host_side);
}

bool port_row(const struct port_entry *v, size_t n, size_t i,
	      const struct container *cs, size_t n_cs,
	      const struct port_entry **twin)
{
	const struct port_entry *other;

	*twin = NULL;
	if (v[i].key.family == AF_INET6) {
		other = any_entry(v, n, &v[i], AF_INET);
		/* shown with its IPv4 twin */
		return !other || !twins(other, &v[i], cs, n_cs);
	}
	other = any_entry(v, n, &v[i], AF_INET6);
	if (other && twins(&v[i], other, cs, n_cs))
		*twin = other;
	return true;
}
