// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <linux/pkt_sched.h>

#include "bpfnat.h"
#include "log.h"
#include "pins.h"
#include "tc.h"

__u32 tc_ours(int ifindex, enum bpf_tc_attach_point point)
{
	DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex,
			    .attach_point = point);
	DECLARE_LIBBPF_OPTS(bpf_tc_opts, q, .handle = BPFNAT_TC_HANDLE,
			    .priority = BPFNAT_TC_PRIO);

	if (bpf_tc_query(&hook, &q) || !dp_prog_is_ours(q.prog_id))
		return 0;
	return q.prog_id;
}

/* Is @link's qdisc in QDISCS_FILE (by index and name: an index can be
 * reused by a later device)?
 */
static bool qdisc_recorded(const struct nl_link *link)
{
	char name[IF_NAMESIZE];
	bool found = false;
	int ifindex;
	FILE *f;

	f = fopen(QDISCS_FILE, "r");
	if (!f)
		return false;
	while (!found && fscanf(f, "%d %15s", &ifindex, name) == 2)
		found = ifindex == link->ifindex && !strcmp(name, link->name);
	fclose(f);
	return found;
}

/* QDISCS_FILE without @link's line (and without @link's when @add is
 * false), or with it.
 */
static int qdisc_rewrite(const struct nl_link *link, bool add)
{
	char tmp[] = QDISCS_FILE "_new", name[IF_NAMESIZE];
	FILE *in, *out;
	int ifindex, err = 0;

	out = fopen(tmp, "w");
	if (!out)
		return -errno;
	in = fopen(QDISCS_FILE, "r");
	while (in && fscanf(in, "%d %15s", &ifindex, name) == 2)
		if (ifindex != link->ifindex)
			fprintf(out, "%d %s\n", ifindex, name);
	if (in)
		fclose(in);
	if (add)
		fprintf(out, "%d %s\n", link->ifindex, link->name);
	if (fclose(out) || rename(tmp, QDISCS_FILE)) {
		err = -errno;
		unlink(tmp);
	}
	return err;
}

int tc_attach(struct nl *nl, const struct nl_link *link,
	      enum bpf_tc_attach_point point, int prog_fd, bool device_ours)
{
	DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = link->ifindex,
			    .attach_point = point);
	DECLARE_LIBBPF_OPTS(bpf_tc_opts, q, .handle = BPFNAT_TC_HANDLE,
			    .priority = BPFNAT_TC_PRIO);
	DECLARE_LIBBPF_OPTS(bpf_tc_opts, opts, .handle = BPFNAT_TC_HANDLE,
			    .priority = BPFNAT_TC_PRIO, .prog_fd = prog_fd,
			    .flags = BPF_TC_F_REPLACE);
	const char *where = point == BPF_TC_EGRESS ? " egress" : "";
	int err, has;

	has = nl_qdisc_clsact(nl, link->ifindex);
	if (has < 0) {
		pr_warn("attach to %s: read its qdiscs: %s", link->name,
			nl_strerror(nl, has));
		return has;
	}
	if (!has) {
		/* ours from before it exists: a kill in between leaves it
		 * known
		 */
		err = device_ours ? 0 : qdisc_rewrite(link, true);
		if (!err) {
			err = bpf_tc_hook_create(&hook);
			if (err == -EEXIST)
				err = 0;
		}
		if (err) {
			pr_warn("attach to %s: create clsact qdisc: %s",
				link->name, strerror(-err));
			return err;
		}
	}
	if (!bpf_tc_query(&hook, &q) && !dp_prog_is_ours(q.prog_id)) {
		pr_warn("attach to %s%s: tc filter pref %u handle %#x belongs "
			"to another program (id %u)", link->name, where,
			BPFNAT_TC_PRIO, BPFNAT_TC_HANDLE, q.prog_id);
		return -EBUSY;
	}
	err = bpf_tc_attach(&hook, &opts);
	if (err)
		pr_warn("attach to %s%s: %s", link->name, where,
			strerror(-err));
	return err;
}

int tc_detach_point(const struct nl_link *link,
		    enum bpf_tc_attach_point point)
{
	DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = link->ifindex,
			    .attach_point = point);
	DECLARE_LIBBPF_OPTS(bpf_tc_opts, opts, .handle = BPFNAT_TC_HANDLE,
			    .priority = BPFNAT_TC_PRIO);
	int err;

	if (!tc_ours(link->ifindex, point))
		return 0;
	err = bpf_tc_detach(&hook, &opts);
	if (err && err != -ENOENT) {
		pr_warn("detach from %s: %s", link->name, strerror(-err));
		return err;
	}
	return 0;
}

int tc_detach(struct nl *nl, const struct nl_link *link, bool device_ours)
{
	DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = link->ifindex,
			    .attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS);
	bool recorded = !device_ours && qdisc_recorded(link);
	int err;

	err = tc_detach_point(link, BPF_TC_INGRESS) ?:
	      tc_detach_point(link, BPF_TC_EGRESS);
	if (err || (!device_ours && !recorded))
		return err;
	if (recorded && nl_qdisc_clsact(nl, link->ifindex) == 0) {
		qdisc_rewrite(link, false);	/* gone already */
		return 0;
	}
	/* bare, whether bpfnat's filter was still there or not */
	if (nl_tc_filter_count(nl, link->ifindex,
			       TC_H_MAKE(TC_H_CLSACT, TC_H_MIN_INGRESS)) == 0 &&
	    nl_tc_filter_count(nl, link->ifindex,
			       TC_H_MAKE(TC_H_CLSACT, TC_H_MIN_EGRESS)) == 0) {
		bpf_tc_hook_destroy(&hook);
		if (recorded)
			qdisc_rewrite(link, false);
	}
	return 0;
}
