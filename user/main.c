// SPDX-License-Identifier: GPL-2.0-only
/*
 * bpfnat: object, verb, arguments, in the way of iproute2.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cmd.h"
#include "log.h"

#ifndef BPFNAT_VERSION
#define BPFNAT_VERSION "unknown"
#endif

bool json_output;

static const char usage_text[] =
"Usage: bpfnat [-v] [-j] OBJECT VERB [ARGS]\n"
"       bpfnat [-v] [-j] [-force] -batch FILE\n"
"\n"
"  bpfnat up     [--uplink IF] [--snat-ip ADDR] [--pool CIDR] [--ports LO-HI]\n"
"                [--pool6 CIDR] [--snat-ip6 ADDR] [--exclude CIDR]...\n"
"                [--mode tc|xdp] [--ct-max N]\n"
"                [--xdp-uplink auto|on|off] [--cgroup PATH|none]\n"
"                [--filtering address-dependent|endpoint-independent]\n"
"                [--tcp-timeout-syn S] [--tcp-timeout-est S]\n"
"                [--tcp-timeout-fin S] [--tcp-timeout-close S]\n"
"                [--udp-timeout S] [--udp-timeout-stream S] [--icmp-timeout S]\n"
"  bpfnat down\n"
"  bpfnat status [-j]\n"
"  bpfnat ns add NAME [--ip ADDR] [--ip6 ADDR] [--publish SPEC]...\n"
"  bpfnat ns del NAME\n"
"  bpfnat ns list [-j]\n"
"  bpfnat ct list [-j] [FILTER...]\n"
"  bpfnat ct del [-j] FILTER...\n"
"  bpfnat ct count\n"
"  bpfnat ct flush\n"
"  bpfnat stats [-j | --prometheus]\n"
"  bpfnat port add NAME [HOSTIP:]HOSTPORT[-END]:PORT[-END][/tcp|/udp]\n"
"  bpfnat port del NAME [HOSTIP:]HOSTPORT[-END][/tcp|/udp]\n"
"  bpfnat port list [-j]\n"
"  bpfnat monitor [-j] [--drops] [--flows]\n"
"\n"
"  -v, --verbose   say more, libbpf's messages included\n"
"  -j, --json      JSON on stdout\n"
"  -h, --help      this text\n"
"  -V, --version   the version\n"
"  -b, -batch FILE  the commands of FILE (- for standard input), one a line\n"
"                  as after bpfnat, in one process; stop at the first that\n"
"                  fails and exit as it did\n"
"  -force          with -batch: go on after a failure, exit with the worst\n"
"\n"
"up attaches the data path (tc ingress of the uplink and of every\n"
"container's host-side veth, and a guard at egress of the uplink that\n"
"drops whatever would leave with a container's address); down removes it\n"
"and nothing else.  Defaults: uplink = device of the default route, SNAT\n"
"address = its first IPv4 address, pool 172.18.0.0/16 (gateway .1), ports\n"
"those below the host's ephemeral range (1024-32767 with Linux's default),\n"
"ct-max 65536.  Every container has an IPv6 address too, from --pool6\n"
"(fd00:18::/64, gateway fd00:18::1), or ns add --ip6; containers reach each\n"
"other and the host over IPv6, and IPv6 to the outside is answered\n"
"unreachable (nothing translates it yet).  In XDP mode, --xdp-uplink auto leaves a virtual uplink\n"
"(veth, ...) to tc and takes a NIC's traffic in XDP.  A container's TCP or\n"
"UDP endpoint keeps one external port for every destination while a flow\n"
"of it lives; --filtering endpoint-independent lets any outside host reach\n"
"it through that port (by default only the hosts it sent to: address and\n"
"port dependent).\n"
"--cgroup PATH attaches socket hooks to that cgroup2 directory, so that its\n"
"processes in the host's namespace reach published ports at 127.0.0.1 (and\n"
"::1), the SNAT address and the host's other addresses, of either family\n"
"(--cgroup /sys/fs/cgroup: every process); none detaches them; not given,\n"
"up keeps what runs (a first up attaches none).\n"
"port add publishes a container's port on the host as docker's -p does:\n"
"tcp and every host address, IPv4's and IPv6's, unless SPEC says (0.0.0.0\n"
"every IPv4 one, [::] every IPv6 one, [ADDR6] one), ranges of one length,\n"
"one port to one port; a host port that another mapping or a socket of\n"
"the host holds is refused.  port del names a mapping by its host side\n"
"alone.  ns add --publish SPEC publishes with the new container:\n"
"every SPEC, or no container.  These need the data path up; ns del and\n"
"down remove the mappings with the rest.\n"
"ct list and ct del take conntrack's filters, all of which must match:\n"
"-p, --proto tcp|udp|icmp; -s, --src ADDR[/LEN]; -d, --dst ADDR[/LEN];\n"
"--sport N; --dport N (TCP and UDP); --state STATE (TCP: NEW, ESTABLISHED,\n"
"SYN_SENT, SYN_RECV, FIN_WAIT, TIME_WAIT, CLOSE, in any case): the original\n"
"direction's, as conntrack's; --reply-src, --reply-dst ADDR[/LEN]: the\n"
"reply direction's.  ct del removes the flows matched, both directions,\n"
"and says how many (0 is no failure); without a filter it is refused\n"
"(ct flush removes every flow).\n"
"stats --prometheus prints the counters in Prometheus's text format (for\n"
"node_exporter's textfile collector): bpfnat_packets_total,\n"
"bpfnat_bytes_total, bpfnat_xdp_packets_total, bpfnat_xdp_bytes_total,\n"
"bpfnat_ipv6_packets_total, bpfnat_ipv6_bytes_total\n"
"{outcome=COUNTER}, bpfnat_sock_events_total{event=COUNTER},\n"
"bpfnat_monitor_events_lost_total, and the flow table's bpfnat_ct_flows,\n"
"bpfnat_ct_max, bpfnat_ct_expired_total and bpfnat_ct_reclaimed_total;\n"
"not with -j.\n"
"monitor shows each drop (reason, hook, tuple) and, like conntrack -E, each\n"
"flow created and removed, until SIGINT, SIGTERM or SIGHUP; both unless\n"
"--drops or --flows says, -j a JSON object a line.  One monitor at a time;\n"
"the data path writes no event while none runs.\n"
"Commands that change state wait for each other (a lock in /run/bpfnat).\n"
"Exit codes: 0 done, 1 failed, 2 usage error.\n";

struct command {
	const char *object;
	const char *verb;	/* NULL: the object is the command */
	int (*run)(int argc, char **argv);
};

static const struct command commands[] = {
	{ "up", NULL, cmd_up },
	{ "down", NULL, cmd_down },
	{ "status", NULL, cmd_status },
	{ "stats", NULL, cmd_stats },
	{ "ns", "add", cmd_ns_add },
	{ "ns", "del", cmd_ns_del },
	{ "ns", "list", cmd_ns_list },
	{ "ct", "list", cmd_ct_list },
	{ "ct", "del", cmd_ct_del },
	{ "ct", "count", cmd_ct_count },
	{ "ct", "flush", cmd_ct_flush },
	{ "port", "add", cmd_port_add },
	{ "port", "del", cmd_port_del },
	{ "port", "list", cmd_port_list },
	{ "monitor", NULL, cmd_monitor },
};

int usage_error(const char *what, const char *fmt, ...)
{
	va_list ap;

	fputs("bpfnat: ", stderr);
	if (what)
		fprintf(stderr, "%s: ", what);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs(" (see bpfnat --help)\n", stderr);
	return EXIT_USAGE;
}

void json_print(json_t *v)
{
	json_dumpf(v, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	fputc('\n', stdout);
	json_decref(v);
}

/* Is @object one whose commands are its verbs (ns, ct, port)? */
static bool has_verbs(const char *object)
{
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (commands[i].verb && !strcmp(commands[i].object, object))
			return true;
	return false;
}

/* Take -v and -j wherever they stand; leave the rest in order. */
static int global_options(int argc, char **argv)
{
	int out = 1;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-v") || !strcmp(argv[i], "--verbose"))
			log_set_verbose(true);
		else if (!strcmp(argv[i], "-j") || !strcmp(argv[i], "--json"))
			json_output = true;
		else
			argv[out++] = argv[i];
	}
	argv[out] = NULL;
	return out;
}

int run_command(int argc, char **argv)
{
	const char *object, *verb;

	argc = global_options(argc, argv);
	if (argc < 2)
		return usage_error(NULL, "no command");
	object = argv[1];
	if (!strcmp(object, "-h") || !strcmp(object, "--help") ||
	    !strcmp(object, "help")) {
		fputs(usage_text, stdout);
		return EXIT_OK;
	}
	if (!strcmp(object, "-V") || !strcmp(object, "--version")) {
		printf("bpfnat %s\n", BPFNAT_VERSION);
		return EXIT_OK;
	}
	verb = argc > 2 ? argv[2] : NULL;

	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		const struct command *c = &commands[i];

		if (strcmp(c->object, object))
			continue;
		if (!c->verb)
			return c->run(argc - 1, argv + 1);
		if (verb && !strcmp(c->verb, verb))
			return c->run(argc - 2, argv + 2);
	}
	if (has_verbs(object) && verb)
		return usage_error(object, "unknown verb '%s'", verb);
	if (has_verbs(object))
		return usage_error(object, "which verb?");
	return usage_error(NULL, "unknown command '%s'", object);
}

static bool is_batch(const char *arg)
{
	return !strcmp(arg, "-b") || !strcmp(arg, "-batch") ||
	       !strcmp(arg, "--batch");
}

static bool is_force(const char *arg)
{
	return !strcmp(arg, "-force") || !strcmp(arg, "--force");
}

int main(int argc, char **argv)
{
	const char *file = NULL;
	bool force = false, batch = false;
	int others = 0;

	argc = global_options(argc, argv);
	log_setup_libbpf();
	/* -batch FILE and -force, in any order, and nothing else */
	for (int i = 1; i < argc; i++) {
		if (is_force(argv[i])) {
			force = true;
		} else if (is_batch(argv[i])) {
			batch = true;
			if (i + 1 < argc && is_force(argv[i + 1])) {
				force = true;	/* -batch -force FILE */
				i++;
			}
			file = i + 1 < argc ? argv[++i] : NULL;
		} else {
			others++;
		}
		if (!batch && !force)
			break;	/* a command: its own words follow */
	}
	if (batch && (!file || others))
		return usage_error(NULL, "-batch takes one FILE "
				   "(- for standard input)");
	if (batch)
		return cmd_batch(file, force);
	if (force)
		return usage_error(NULL, "-force is for -batch");
	return run_command(argc, argv);
}
