// SPDX-License-Identifier: GPL-2.0-only
/*
 * bpfnat stats: the data path's and the socket hooks' counters.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cmd.h"
#include "loader.h"
#include "log.h"
#include "maps.h"

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
