// SPDX-License-Identifier: GPL-2.0-only
/*
 * prog_insns: what the running kernel's verifier makes of every program in
 * a BPF object.
 *
 *   prog_insns [-j]
 *
 * Loads every program of the data path this was built with (its build
 * dir's skeleton; those `up` leaves out too: XDP and the socket hooks)
 * into the kernel this runs on, without attaching or pinning anything,
 * and prints per program the instructions the verifier processed
 * (bpf_prog_info.verified_insns, the figure it holds against its limit of
 * one million), the instructions loaded after the kernel's rewrites, and
 * the JIT's bytes.  -j prints one JSON object instead.  The constants
 * `up` sets before it loads are set to values like its own (non-zero, so
 * that no code is pruned as dead), as the verifier's count depends on
 * them.
 *
 * Exits 0 when every program loaded, 1 when one did not (libbpf names it
 * and the verifier's log follows), 2 on a usage error.  It is how vmtest
 * and CI show that each compiler's objects pass each kernel's verifier,
 * and with what margin.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "bpfnat.skel.h"
#include "config.h"

static int print_warnings(enum libbpf_print_level level, const char *fmt,
			  va_list ap)
{
	if (level != LIBBPF_WARN)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

static int usage(void)
{
	fprintf(stderr, "usage: prog_insns [-j]\n");
	return 2;
}

int main(int argc, char **argv)
{
	struct bpf_prog_info info;
	struct bpf_program *prog;
	struct bpfnat_bpf *skel;
	struct up_opts o;
	unsigned int len, total = 0, most = 0, n = 0;
	int json = 0, opt, err;

	while ((opt = getopt(argc, argv, "jh")) != -1) {
		switch (opt) {
		case 'j':
			json = 1;
			break;
		default:
			return usage();
		}
	}
	if (optind != argc)
		return usage();

	libbpf_set_print(print_warnings);
	skel = bpfnat_bpf__open();
	if (!skel) {
		fprintf(stderr, "prog_insns: open: %s\n", strerror(errno));
		return 1;
	}
	bpf_object__for_each_program(prog, skel->obj)
		bpf_program__set_autoload(prog, true);
	/* as `up` sets them: the default pool, some network namespace */
	up_opts_default(&o);
	skel->rodata->guard_pool_addr = o.pool.net;
	skel->rodata->guard_pool_mask = o.pool.mask;
	skel->rodata->sock_netns_cookie = 1;
	err = bpfnat_bpf__load(skel);
	if (err) {
		fprintf(stderr, "prog_insns: load: %s\n", strerror(-err));
		bpfnat_bpf__destroy(skel);
		return 1;
	}

	if (json)
		printf("{\"programs\":[");
	else
		printf("%-24s %-20s %9s %7s %7s\n", "program", "section",
		       "verified", "insns", "jited");
	bpf_object__for_each_program(prog, skel->obj) {
		memset(&info, 0, sizeof(info));
		len = sizeof(info);
		err = bpf_obj_get_info_by_fd(bpf_program__fd(prog), &info,
					     &len);
		if (err) {
			fprintf(stderr, "prog_insns: info of %s: %s\n",
				bpf_program__name(prog), strerror(errno));
			bpfnat_bpf__destroy(skel);
			return 1;
		}
		if (json)
			printf("%s{\"name\":\"%s\",\"section\":\"%s\","
			       "\"verified_insns\":%u,\"insns\":%u,"
			       "\"jited_bytes\":%u}", n ? "," : "",
			       bpf_program__name(prog),
			       bpf_program__section_name(prog),
			       info.verified_insns,
			       info.xlated_prog_len / 8, info.jited_prog_len);
		else
			printf("%-24s %-20s %9u %7u %7u\n",
			       bpf_program__name(prog),
			       bpf_program__section_name(prog),
			       info.verified_insns, info.xlated_prog_len / 8,
			       info.jited_prog_len);
		total += info.verified_insns;
		if (info.verified_insns > most)
			most = info.verified_insns;
		n++;
	}
	if (json)
		printf("],\"total_verified_insns\":%u}\n", total);
	else
		printf("%u programs, %u instructions verified, at most %u in "
		       "one\n", n, total, most);
	bpfnat_bpf__destroy(skel);
	return 0;
}
