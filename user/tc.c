// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <string.h>
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

int tc_attach(int ifindex, const char *ifname, enum bpf_tc_attach_point point,
	      int prog_fd, bool *created)
{
	DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex,
			    .attach_point = point);
	DECLARE_LIBBPF_OPTS(bpf_tc_opts, q, .handle = BPFNAT_TC_HANDLE,
			    .priority = BPFNAT_TC_PRIO);
	DECLARE_LIBBPF_OPTS(bpf_tc_opts, opts, .handle = BPFNAT_TC_HANDLE,
			    .priority = BPFNAT_TC_PRIO, .prog_fd = prog_fd,
			    .flags = BPF_TC_F_REPLACE);
	const char *where = point == BPF_TC_EGRESS ? " egress" : "";
	int err;

	err = bpf_tc_hook_create(&hook);
	if (err && err != -EEXIST) {
		pr_warn("attach to %s: create clsact qdisc: %s", ifname,
			strerror(-err));
		return err;
	}
	if (created)
		*created = !err;
	if (!bpf_tc_query(&hook, &q) && !dp_prog_is_ours(q.prog_id)) {
		pr_warn("attach to %s%s: tc filter pref %u handle %#x belongs "
			"to another program (id %u)", ifname, where,
			BPFNAT_TC_PRIO, BPFNAT_TC_HANDLE, q.prog_id);
		return -EBUSY;
	}
	err = bpf_tc_attach(&hook, &opts);
	if (err)
		pr_warn("attach to %s%s: %s", ifname, where, strerror(-err));
	return err;
}

int tc_detach(struct nl *nl, int ifindex, enum bpf_tc_attach_point point,
	      bool may_destroy)
{
	DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex,
			    .attach_point = point);
	DECLARE_LIBBPF_OPTS(bpf_tc_opts, opts, .handle = BPFNAT_TC_HANDLE,
			    .priority = BPFNAT_TC_PRIO);
	int err;

	if (!tc_ours(ifindex, point))
		return 0;
	err = bpf_tc_detach(&hook, &opts);
	if (err && err != -ENOENT)
		return err;
	if (may_destroy &&
	    nl_tc_filter_count(nl, ifindex, TC_H_MAKE(TC_H_CLSACT,
						      TC_H_MIN_INGRESS)) == 0 &&
	    nl_tc_filter_count(nl, ifindex, TC_H_MAKE(TC_H_CLSACT,
						      TC_H_MIN_EGRESS)) == 0) {
		hook.attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS;
		bpf_tc_hook_destroy(&hook);
	}
	return 0;
}
