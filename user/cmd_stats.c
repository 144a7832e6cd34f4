// SPDX-License-Identifier: GPL-2.0-only
/*
 * bpfnat stats [-j | --prometheus]: the data path's and the socket hooks'
 * counters.  They are read once, into rows; the table, the JSON and the
 * Prometheus printers only walk the rows, so that a counter added to a
 * table of include/bpfnat.h shows in all three by itself.
 */
#include <errno.h>
#include <getopt.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "cmd.h"
#include "loader.h"
#include "log.h"
#include "maps.h"

/* A number of a row, as Prometheus exposes it: bpfnat_NAME. */
struct stat_family {
	const char *name;
	const char *type;	/* "counter" or "gauge" */
	const char *help;
	size_t field;		/* offsetof(struct stat_row, ...) */
};

/* Rows of one source (a map), and what they count. */
struct stat_group {
	const char *label;	/* the label that carries a row's name */
	const struct stat_family *families;	/* ends with a NULL name */
};

/*
 * One counter: its name (stats' row, -j's key, the Prometheus label), and
 * its numbers.  A group without bytes or XDP share leaves them 0.
 */
struct stat_row {
	const char *name;
	const struct stat_group *group;
	uint64_t packets;
	uint64_t bytes;
	uint64_t xdp_packets;	/* of packets, what the XDP programs saw */
	uint64_t xdp_bytes;
	uint64_t ipv6_packets;	/* of packets, the IPv6 ones */
	uint64_t ipv6_bytes;
};

/* A number of the flow table (status -j shows the same); only the
 * Prometheus output has them, so that stats' table and -j keep their shape.
 */
struct stat_scalar {
	const char *name;
	const char *type;	/* "gauge" or "counter" */
	const char *help;
	uint64_t value;
};

/* room for the rows of every group, and the flow table's numbers */
#define N_ROWS		(STAT_MAX + SOCK_STAT_MAX)
#define N_SCALARS	4

struct stats {
	struct stat_row row[N_ROWS];
	int n_rows;
	struct stat_scalar scalar[N_SCALARS];
	int n_scalars;
};

static const struct stat_group outcomes = {
	.label = "outcome",
	.families = (const struct stat_family[]){
		{ "packets_total", "counter",
		  "Packets bpfnat's programs handled, tc and XDP together, "
		  "by outcome.",
		  offsetof(struct stat_row, packets) },
		{ "bytes_total", "counter",
		  "Bytes of those packets, by outcome.",
		  offsetof(struct stat_row, bytes) },
		{ "xdp_packets_total", "counter",
		  "Of bpfnat_packets_total, the packets the XDP programs "
		  "handled.",
		  offsetof(struct stat_row, xdp_packets) },
		{ "xdp_bytes_total", "counter",
		  "Of bpfnat_bytes_total, the bytes the XDP programs handled.",
		  offsetof(struct stat_row, xdp_bytes) },
		{ "ipv6_packets_total", "counter",
		  "Of bpfnat_packets_total, the IPv6 packets.",
		  offsetof(struct stat_row, ipv6_packets) },
		{ "ipv6_bytes_total", "counter",
		  "Of bpfnat_bytes_total, the bytes of IPv6 packets.",
		  offsetof(struct stat_row, ipv6_bytes) },
		{ NULL, NULL, NULL, 0 },
	},
};

/* system calls, not packets: a call is counted as a packet, no bytes */
static const struct stat_group sock_events = {
	.label = "event",
	.families = (const struct stat_family[]){
		{ "sock_events_total", "counter",
		  "What the socket hooks of host-local access did, by event "
		  "(a system call each).",
		  offsetof(struct stat_row, packets) },
		{ NULL, NULL, NULL, 0 },
	},
};

/* not packets: the events `bpfnat monitor`'s ring had no room for, a
 * number of its own (no label)
 */
static const struct stat_group monitor_events = {
	.label = NULL,
	.families = (const struct stat_family[]){
		{ "monitor_events_lost_total", "counter",
		  "Events bpfnat monitor's full ring buffer had no room for "
		  "(never packets).",
		  offsetof(struct stat_row, packets) },
		{ NULL, NULL, NULL, 0 },
	},
};

static struct stat_row *row_add(struct stats *s, const char *name,
				const struct stat_group *group)
{
	struct stat_row *r = &s->row[s->n_rows++];

	memset(r, 0, sizeof(*r));
	r->name = name;
	r->group = group;
	return r;
}

static void scalar_add(struct stats *s, const char *name, const char *type,
		       const char *help, uint64_t value)
{
	s->scalar[s->n_scalars++] = (struct stat_scalar){
		.name = name, .type = type, .help = help, .value = value,
	};
}

/* Every counter, read once.  0, or EXIT_FAIL after saying why. */
static int stats_collect(struct stats *s)
{
	struct stat_val v[STAT_MAX], x[STAT_MAX], v6[STAT_MAX];
	struct stat_row *r;
	uint64_t sock[SOCK_STAT_MAX];
	struct bpfnat_config cfg;
	struct ct_sweep sweep;
	long flows;
	int err;

	memset(s, 0, sizeof(*s));
	if (!need_running("stats", &cfg))
		return EXIT_FAIL;
	err = stats_read(v, x, v6);
	if (err) {
		pr_warn("stats: read counters: %s", strerror(-err));
		return EXIT_FAIL;
	}
	err = sock_stats_read(sock);
	if (err && err != -ENOENT) {
		pr_warn("stats: read socket hook counters: %s", strerror(-err));
		return EXIT_FAIL;
	}
	for (int i = 0; i < STAT_MAX; i++) {
		r = row_add(s, stat_names[i], i == STAT_MONITOR_LOST ?
						      &monitor_events :
						      &outcomes);
		r->packets = v[i].packets;
		r->bytes = v[i].bytes;
		r->xdp_packets = x[i].packets;
		r->xdp_bytes = x[i].bytes;
		r->ipv6_packets = v6[i].packets;
		r->ipv6_bytes = v6[i].bytes;
	}
	for (int i = 0; i < SOCK_STAT_MAX; i++)
		row_add(s, sock_stat_names[i], &sock_events)->packets = sock[i];

	/* the flow table's, which status shows too */
	flows = ct_count();
	if (flows < 0) {
		pr_warn("stats: read ct_flows: %s", strerror(-flows));
		return EXIT_FAIL;
	}
	ct_sweep_read(&sweep);
	scalar_add(s, "ct_flows", "gauge", "Flows in the connection tracking "
		   "table.", flows);
	scalar_add(s, "ct_max", "gauge", "Flows the connection tracking "
		   "table holds at most (up --ct-max).", cfg.ct_max);
	scalar_add(s, "ct_expired_total", "counter", "Flows the expiry timer "
		   "removed, idle past their timeout.", sweep.expired);
	scalar_add(s, "ct_reclaimed_total", "counter", "Removed flows whose "
		   "keys could not be deleted at once, deleted since by the "
		   "expiry timer or a flush.", sweep.reclaimed);
	return 0;
}

static uint64_t row_field(const struct stat_row *r, size_t field)
{
	return *(const uint64_t *)((const char *)r + field);
}

/* packets and bytes of both hooks; the XDP programs' and IPv6's shares
 * apart
 */
static void stats_print_table(const struct stats *s)
{
	printf("%-22s %14s %16s %14s %14s\n", "COUNTER", "PACKETS", "BYTES",
	       "OF_WHICH_XDP", "OF_WHICH_IPV6");
	for (int i = 0; i < s->n_rows; i++) {
		const struct stat_row *r = &s->row[i];

		printf("%-22s %14llu %16llu %14llu %14llu\n", r->name,
		       (unsigned long long)r->packets,
		       (unsigned long long)r->bytes,
		       (unsigned long long)r->xdp_packets,
		       (unsigned long long)r->ipv6_packets);
	}
}

static void stats_print_json(const struct stats *s)
{
	json_t *o = json_object();

	for (int i = 0; i < s->n_rows; i++) {
		const struct stat_row *r = &s->row[i];

		json_object_set_new(o, r->name, json_pack(
			"{s:I, s:I, s:I, s:I, s:I, s:I}",
			"packets", (json_int_t)r->packets,
			"bytes", (json_int_t)r->bytes,
			"xdp_packets", (json_int_t)r->xdp_packets,
			"xdp_bytes", (json_int_t)r->xdp_bytes,
			"ipv6_packets", (json_int_t)r->ipv6_packets,
			"ipv6_bytes", (json_int_t)r->ipv6_bytes));
	}
	json_print(o);
}

/*
 * The text exposition format (what node_exporter's textfile collector
 * reads): each family's HELP and TYPE once, then a sample per row of its
 * group, the row's name in the group's label.  No timestamps: the
 * collector refuses them.
 */
static void stats_print_prometheus(const struct stats *s)
{
	/* each family once, its rows wherever they stand */
	static const struct stat_group *const groups[] = {
		&outcomes, &monitor_events, &sock_events,
	};
	const struct stat_group *group;
	const struct stat_family *fam;

	for (size_t g = 0; g < sizeof(groups) / sizeof(groups[0]); g++) {
		group = groups[g];
		for (fam = group->families; fam->name; fam++) {
			printf("# HELP bpfnat_%s %s\n", fam->name, fam->help);
			printf("# TYPE bpfnat_%s %s\n", fam->name, fam->type);
			for (int i = 0; i < s->n_rows; i++) {
				const struct stat_row *r = &s->row[i];
				uint64_t v = row_field(r, fam->field);

				if (r->group != group)
					continue;
				if (!group->label) {
					printf("bpfnat_%s %llu\n", fam->name,
					       (unsigned long long)v);
					continue;
				}
				printf("bpfnat_%s{%s=\"%s\"} %llu\n", fam->name,
				       group->label, r->name,
				       (unsigned long long)v);
			}
		}
	}
	for (int i = 0; i < s->n_scalars; i++) {
		const struct stat_scalar *c = &s->scalar[i];

		printf("# HELP bpfnat_%s %s\n", c->name, c->help);
		printf("# TYPE bpfnat_%s %s\n", c->name, c->type);
		printf("bpfnat_%s %llu\n", c->name,
		       (unsigned long long)c->value);
	}
}

int cmd_stats(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "prometheus", no_argument, NULL, 'P' },
		{ NULL, 0, NULL, 0 },
	};
	bool prometheus = false;
	struct stats s;
	int opt, ret;

	optind = 0;	/* glibc: start afresh (a batch runs many) */
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		if (opt != 'P')
			return usage_error("stats", "unknown option '%s'",
					   argv[optind - 1]);
		prometheus = true;
	}
	if (optind != argc)
		return usage_error("stats", "unexpected argument '%s'",
				   argv[optind]);
	if (prometheus && json_output)
		return usage_error("stats", "-j and --prometheus: give one "
				   "output format");

	ret = stats_collect(&s);
	if (ret)
		return ret;
	if (prometheus)
		stats_print_prometheus(&s);
	else if (json_output)
		stats_print_json(&s);
	else
		stats_print_table(&s);
	return EXIT_OK;
}
