// SPDX-License-Identifier: GPL-2.0-only
/*
 * bpfnat ct list | count | flush, bpfnat stats
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include "cmd.h"
#include "loader.h"
#include "lock.h"
#include "log.h"
#include "flow.h"
#include "maps.h"

static bool need_running(const char *what, struct bpfnat_config *cfg)
{
	if (dp_running(cfg))
		return true;
	pr_warn("%s: bpfnat is down (run 'bpfnat up')", what);
	return false;
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

	if (l->arr) {
		json_array_append_new(l->arr, json_pack(
			"{s:s, s:i, s:s, s:s, s:I, s:b, s:o, s:o, s:i, s:i}",
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
	struct list_ctx l = { .cfg = &cfg };
	int err;

	if (argc != 1)
		return usage_error("ct list", "unexpected argument '%s'",
				   argv[1]);
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
	n = dp_running(NULL) ? ct_flush(0) : 0;
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

int cmd_stats(int argc, char **argv)
{
	struct stat_val v[STAT_MAX], x[STAT_MAX];
	uint64_t sock[SOCK_STAT_MAX];
	json_t *o;
	int err;

	if (argc != 1)
		return usage_error("stats", "unexpected argument '%s'",
				   argv[1]);
	if (!need_running("stats", NULL))
		return EXIT_FAIL;
	err = stats_read(v, x);
	if (err) {
		pr_warn("stats: read counters: %s", strerror(-err));
		return EXIT_FAIL;
	}
	err = sock_stats_read(sock);
	if (err && err != -ENOENT) {
		pr_warn("stats: read socket hook counters: %s", strerror(-err));
		return EXIT_FAIL;
	}
	if (json_output) {
		o = json_object();
		for (int i = 0; i < STAT_MAX; i++)
			json_object_set_new(o, stat_names[i], json_pack(
				"{s:I, s:I, s:I, s:I}",
				"packets", (json_int_t)v[i].packets,
				"bytes", (json_int_t)v[i].bytes,
				"xdp_packets", (json_int_t)x[i].packets,
				"xdp_bytes", (json_int_t)x[i].bytes));
		/* the socket hooks': a system call counts as a packet */
		for (int i = 0; i < SOCK_STAT_MAX; i++)
			json_object_set_new(o, sock_stat_names[i], json_pack(
				"{s:I, s:I, s:I, s:I}",
				"packets", (json_int_t)sock[i], "bytes", 0,
				"xdp_packets", 0, "xdp_bytes", 0));
		json_print(o);
		return EXIT_OK;
	}
	/* packets and bytes of both hooks; the XDP programs' share apart */
	printf("%-22s %14s %16s %14s\n", "COUNTER", "PACKETS", "BYTES",
	       "OF_WHICH_XDP");
	for (int i = 0; i < STAT_MAX; i++)
		printf("%-22s %14llu %16llu %14llu\n", stat_names[i],
		       (unsigned long long)v[i].packets,
		       (unsigned long long)v[i].bytes,
		       (unsigned long long)x[i].packets);
	/* the socket hooks': system calls, in the packets' column */
	for (int i = 0; i < SOCK_STAT_MAX; i++)
		printf("%-22s %14llu %16u %14u\n", sock_stat_names[i],
		       (unsigned long long)sock[i], 0, 0);
	return EXIT_OK;
}
