// SPDX-License-Identifier: GPL-2.0-only
/*
 * bpfnat ct list | count | flush
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

bool need_running(const char *what, struct bpfnat_config *cfg)
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
