// SPDX-License-Identifier: GPL-2.0-only
/*
 * bpfnat ct list | del | count | flush
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include "addr.h"
#include "cmd.h"
#include "loader.h"
#include "lock.h"
#include "log.h"
#include "flow.h"
#include "maps.h"

bool need_running(const char *what, struct bpfnat_config *cfg)
{
	if (dp_running(cfg))
		return true;
	pr_warn("%s: bpfnat is down (run 'bpfnat up')", what);
	return false;
}

/*
 * Which flows `ct list` and `ct del` mean, in conntrack's spelling and
 * with its sense: --src, --dst, --sport and --dport are the original
 * direction's tuple (the initiator's packet as it sent it), --reply-src
 * and --reply-dst the reply direction's (the answer as its sender sent
 * it: for SNAT, from the outside to the SNAT address).  Every part given
 * must match.  An address takes a prefix, ADDR/LEN.
 */
struct ct_filter {
	unsigned int given;		/* FILTER_* */
	uint8_t proto;			/* IPPROTO_*, if FILTER_PROTO */
	struct prefix {
		bool v6;
		uint32_t addr;		/* IPv4, masked */
		uint32_t mask;
		struct in6_addr addr6;	/* IPv6 */
		int plen6;
	} src, dst, reply_src, reply_dst;
	uint16_t sport, dport;		/* host byte order */
	uint32_t state;			/* enum ct_state */
};

enum {
	FILTER_PROTO = 1 << 0,
	FILTER_SRC = 1 << 1,
	FILTER_DST = 1 << 2,
	FILTER_REPLY_SRC = 1 << 3,
	FILTER_REPLY_DST = 1 << 4,
	FILTER_SPORT = 1 << 5,
	FILTER_DPORT = 1 << 6,
	FILTER_STATE = 1 << 7,
};

static const struct option filter_options[] = {
	{ "proto", required_argument, NULL, 'p' },
	{ "src", required_argument, NULL, 's' },
	{ "dst", required_argument, NULL, 'd' },
	{ "reply-src", required_argument, NULL, 'r' },
	{ "reply-dst", required_argument, NULL, 'q' },
	{ "sport", required_argument, NULL, 'S' },
	{ "dport", required_argument, NULL, 'D' },
	{ "state", required_argument, NULL, 't' },
	{ NULL, 0, NULL, 0 },
};

/* The long name of filter option @opt, for messages. */
static const char *option_name(int opt)
{
	for (const struct option *o = filter_options; o->name; o++)
		if (o->val == opt)
			return o->name;
	return "?";
}

static bool has_ports(uint8_t proto)
{
	return proto == IPPROTO_TCP || proto == IPPROTO_UDP;
}

static int parse_proto(const char *s, uint8_t *proto)
{
	if (!strcasecmp(s, "tcp"))
		*proto = IPPROTO_TCP;
	else if (!strcasecmp(s, "udp"))
		*proto = IPPROTO_UDP;
	else if (!strcasecmp(s, "icmp"))
		*proto = IPPROTO_ICMP;
	else if (!strcasecmp(s, "icmpv6"))
		*proto = IPPROTO_ICMPV6;
	else
		return -EINVAL;
	return 0;
}

static int parse_prefix(const char *s, struct prefix *p)
{
	int plen;

	if (strchr(s, ':')) {
		if (parse_cidr6(s, &p->addr6, &p->plen6, true))
			return -EINVAL;
		p->v6 = true;
		return 0;
	}
	if (parse_cidr(s, &p->addr, &plen, true))
		return -EINVAL;
	p->mask = plen_to_mask(plen);
	p->addr &= p->mask;
	return 0;
}

/* A state by the name ct list prints, in any case. */
static int parse_state(const char *s, uint32_t *state)
{
	for (uint32_t i = 0; i < CT_STATE_MAX; i++) {
		if (!strcasecmp(s, ct_state_names[i])) {
			*state = i;
			return 0;
		}
	}
	return -EINVAL;
}

static const char *state_choices(void)
{
	static char buf[128];
	size_t len = 0;

	for (int i = 0; i < CT_STATE_MAX && len < sizeof(buf); i++)
		len += snprintf(buf + len, sizeof(buf) - len, "%s%s",
				i ? ", " : "", ct_state_names[i]);
	return buf;
}

/*
 * The filter of `ct WHAT`'s command line into @flt: EXIT_OK, or EXIT_USAGE
 * after saying why.
 */
static int ct_filter_parse(const char *what, int argc, char **argv,
			   struct ct_filter *flt)
{
	uint32_t port;
	int opt, bit;

	memset(flt, 0, sizeof(*flt));
	optind = 0;	/* glibc: start afresh (a batch runs many) */
	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":p:s:d:", filter_options,
				  NULL)) != -1) {
		if (opt == ':')
			return usage_error(what, "'%s' needs a value",
					   argv[optind - 1]);
		if (opt == '?')
			return usage_error(what, "unknown option '%s'",
					   argv[optind - 1]);
		switch (opt) {
		case 'p':
			bit = FILTER_PROTO;
			if (parse_proto(optarg, &flt->proto))
				return usage_error(what, "--proto '%s': "
						   "expected tcp, udp, icmp or icmpv6",
						   optarg);
			break;
		case 's':
			bit = FILTER_SRC;
			if (parse_prefix(optarg, &flt->src))
				goto bad_addr;
			break;
		case 'd':
			bit = FILTER_DST;
			if (parse_prefix(optarg, &flt->dst))
				goto bad_addr;
			break;
		case 'r':
			bit = FILTER_REPLY_SRC;
			if (parse_prefix(optarg, &flt->reply_src))
				goto bad_addr;
			break;
		case 'q':
			bit = FILTER_REPLY_DST;
			if (parse_prefix(optarg, &flt->reply_dst))
				goto bad_addr;
			break;
		case 'S':
		case 'D':
			bit = opt == 'S' ? FILTER_SPORT : FILTER_DPORT;
			if (parse_u32(optarg, 1, 65535, &port))
				return usage_error(what, "--%s '%s': expected "
						   "a port, 1-65535",
						   option_name(opt), optarg);
			if (opt == 'S')
				flt->sport = port;
			else
				flt->dport = port;
			break;
		default: /* 't' */
			bit = FILTER_STATE;
			if (parse_state(optarg, &flt->state))
				return usage_error(what, "--state '%s': "
						   "expected one of %s", optarg,
						   state_choices());
			break;
		}
		if (flt->given & bit)
			return usage_error(what, "--%s given twice",
					   option_name(opt));
		flt->given |= bit;
	}
	if (optind != argc)
		return usage_error(what, "unexpected argument '%s'",
				   argv[optind]);

	/* as conntrack's: ports are TCP's and UDP's, states TCP's */
	if ((flt->given & FILTER_PROTO) && !has_ports(flt->proto) &&
	    (flt->given & (FILTER_SPORT | FILTER_DPORT)))
		return usage_error(what, "--sport and --dport are for tcp "
				   "and udp, not %s", proto_name(flt->proto));
	if ((flt->given & FILTER_PROTO) && flt->proto != IPPROTO_TCP &&
	    (flt->given & FILTER_STATE))
		return usage_error(what, "--state is for tcp, not %s",
				   proto_name(flt->proto));
	return EXIT_OK;

bad_addr:
	return usage_error(what, "--%s '%s': expected ADDR or ADDR/LEN",
			   option_name(opt), optarg);
}

/* Is address @addr of @k (its saddr6 or daddr6) in @p, of its family? */
static bool prefix_has(const struct prefix *p, const struct ct_key *k,
		       const __be32 *addr)
{
	struct in6_addr a;

	if (p->v6 != (k->family == AF_INET6))
		return false;
	if (!p->v6)
		return (addr[0] & p->mask) == p->addr;
	memcpy(&a, addr, sizeof(a));
	return in6_in_prefix(&a, &p->addr6, p->plen6);
}

static bool ct_filter_match(const struct ct_filter *flt,
			    const struct ct_flow *f)
{
	const struct ct_key *orig = &f->tuple[CT_DIR_ORIG];
	const struct ct_key *reply = &f->tuple[CT_DIR_REPLY];
	unsigned int g = flt->given;

	if ((g & FILTER_PROTO) && orig->proto != flt->proto)
		return false;
	if ((g & FILTER_SRC) && !prefix_has(&flt->src, orig, orig->saddr6))
		return false;
	if ((g & FILTER_DST) && !prefix_has(&flt->dst, orig, orig->daddr6))
		return false;
	if ((g & FILTER_REPLY_SRC) &&
	    !prefix_has(&flt->reply_src, reply, reply->saddr6))
		return false;
	if ((g & FILTER_REPLY_DST) &&
	    !prefix_has(&flt->reply_dst, reply, reply->daddr6))
		return false;
	/* an ICMP flow's key holds the echo id where the ports would be */
	if ((g & FILTER_SPORT) && (!has_ports(orig->proto) ||
				   ntohs(orig->sport) != flt->sport))
		return false;
	if ((g & FILTER_DPORT) && (!has_ports(orig->proto) ||
				   ntohs(orig->dport) != flt->dport))
		return false;
	if ((g & FILTER_STATE) && (orig->proto != IPPROTO_TCP ||
				   f->state != flt->state))
		return false;
	return true;
}

/* One direction of @f with its counters, as conntrack -L prints it. */
static void counted_print(const struct ct_key *k, const struct ct_flow *f,
			  int dir)
{
	tuple_print(k);
	printf(" packets=%llu bytes=%llu", (unsigned long long)f->packets[dir],
	       (unsigned long long)f->bytes[dir]);
}

static json_t *counted_json(const struct ct_key *k, const struct ct_flow *f,
			    int dir)
{
	json_t *o = tuple_json(k);

	json_object_set_new(o, "packets", json_integer(f->packets[dir]));
	json_object_set_new(o, "bytes", json_integer(f->bytes[dir]));
	return o;
}

struct list_ctx {
	const struct bpfnat_config *cfg;
	const struct ct_filter *flt;
	json_t *arr;
};

/* The host side of the veth of the flow's container (a hairpin's: the
 * initiator's).
 */
static uint32_t flow_ifindex(const struct ct_flow *f)
{
	return f->ifindex[CT_DIR_ORIG] ? f->ifindex[CT_DIR_ORIG] :
					 f->ifindex[CT_DIR_REPLY];
}

static int flow_print(uint32_t slot, const struct ct_flow *f, void *data)
{
	const struct ct_key *orig = &f->tuple[CT_DIR_ORIG];
	const struct ct_key *reply = &f->tuple[CT_DIR_REPLY];
	struct list_ctx *l = data;
	const char *state = f->state < CT_STATE_MAX ? ct_state_names[f->state] :
						      "?";
	bool replied = f->flags & CT_F_REPLIED;

	if (!ct_filter_match(l->flt, f))
		return 0;
	if (l->arr) {
		json_array_append_new(l->arr, json_pack(
			"{s:s, s:s, s:i, s:s, s:s, s:I, s:b, s:o, s:o, s:i, s:i}",
			"family", family_name(orig),
			"protocol", proto_name(orig->proto),
			"protonum", orig->proto,
			"kind", kind_name(f->kind),
			"state", state,
			"timeout", (json_int_t)ct_seconds_left(f, l->cfg),
			"replied", replied,
			"original", counted_json(orig, f, CT_DIR_ORIG),
			"reply", counted_json(reply, f, CT_DIR_REPLY),
			"ifindex", flow_ifindex(f),
			"slot", slot));
		return 0;
	}
	printf("%-8s %u %llu", proto_name(orig->proto), orig->proto,
	       (unsigned long long)ct_seconds_left(f, l->cfg));
	if (orig->proto == IPPROTO_TCP)
		printf(" %s", state);
	counted_print(orig, f, CT_DIR_ORIG);
	if (!replied)
		printf(" [UNREPLIED]");
	counted_print(reply, f, CT_DIR_REPLY);
	printf(" kind=%s\n", kind_name(f->kind));
	return 0;
}

int cmd_ct_list(int argc, char **argv)
{
	struct bpfnat_config cfg;
	struct ct_filter flt;
	struct list_ctx l = { .cfg = &cfg, .flt = &flt };
	int err;

	err = ct_filter_parse("ct list", argc, argv, &flt);
	if (err)
		return err;
	if (!need_running("ct list", &cfg))
		return EXIT_FAIL;
	if (json_output)
		l.arr = json_array();
	err = ct_each(flow_print, &l);
	if (err) {
		json_decref(l.arr);
		pr_warn("ct list: read ct_flows: %s", strerror(-err));
		return EXIT_FAIL;
	}
	if (l.arr)
		json_print(l.arr);
	return EXIT_OK;
}

struct del_ctx {
	const struct ct_filter *flt;
	int deleted;
};

/* Both directions go: they are the one flow's two keys. */
static int flow_delete(uint32_t slot, const struct ct_flow *f, void *data)
{
	struct del_ctx *d = data;
	int n;

	if (!ct_filter_match(d->flt, f))
		return 0;
	/* 0: it ended, or its slot holds another flow, since it was read */
	n = ct_delete_flow(slot, f);
	if (n < 0)
		return n;
	d->deleted += n;
	return 0;
}

int cmd_ct_del(int argc, char **argv)
{
	struct ct_filter flt;
	struct del_ctx d = { .flt = &flt };
	int err;

	err = ct_filter_parse("ct del", argc, argv, &flt);
	if (err)
		return err;
	/* a forgotten filter must not empty the table */
	if (!flt.given)
		return usage_error("ct del", "give a filter, or use ct flush");
	if (lock_take("ct del"))
		return EXIT_FAIL;
	/* down, there is no flow: as with ct flush, nothing to remove */
	if (dp_running(NULL)) {
		err = ct_each(flow_delete, &d);
		if (err) {
			pr_warn("ct del: %s (after %d removed)", strerror(-err),
				d.deleted);
			return EXIT_FAIL;
		}
	}
	if (json_output)
		json_print(json_pack("{s:i}", "deleted", d.deleted));
	else
		printf("%d flows removed\n", d.deleted);
	return EXIT_OK;
}

int cmd_ct_count(int argc, char **argv)
{
	long n;

	if (argc != 1)
		return usage_error("ct count", "unexpected argument '%s'",
				   argv[1]);
	if (!need_running("ct count", NULL))
		return EXIT_FAIL;
	n = ct_count();
	if (n < 0) {
		pr_warn("ct count: read ct_flows: %s", strerror(-n));
		return EXIT_FAIL;
	}
	if (json_output)
		json_print(json_integer(n));
	else
		printf("%ld\n", n);
	return EXIT_OK;
}

int cmd_ct_flush(int argc, char **argv)
{
	int n;

	if (argc != 1)
		return usage_error("ct flush", "unexpected argument '%s'",
				   argv[1]);
	if (lock_take("ct flush"))
		return EXIT_FAIL;
	/* down, there is no flow: what a flush asks for already holds */
	n = dp_running(NULL) ? ct_flush(0, NULL) : 0;
	if (n < 0) {
		pr_warn("ct flush: %s", strerror(-n));
		return EXIT_FAIL;
	}
	if (json_output)
		json_print(json_pack("{s:i}", "flushed", n));
	else
		printf("%d flows removed\n", n);
	return EXIT_OK;
}
