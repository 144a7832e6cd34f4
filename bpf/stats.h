/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The single exit of every program: the packet's outcome (an enum stat_id)
 * is counted per CPU and turned into the hook's verdict.  Nothing is
 * dropped anywhere else, so every drop has a named counter.
 */
#ifndef BPFNAT_STATS_H
#define BPFNAT_STATS_H

#include "common.h"
#include "maps.h"
#include "monitor.h"
#include "parse.h"

static __always_inline void stat_count(__u32 id, __u32 bytes, const bool xdp,
				       bool ipv6)
{
	__u32 key = stat_key(id, xdp, ipv6);
	struct stat_val *v = bpf_map_lookup_elem(&stats, &key);

	if (v) {
		v->packets++;
		v->bytes += bytes;
	}
}

/* The build the upgrade test swaps in (Makefile: UPGRADE_BIN) has one more
 * instruction in every data-path program, so other program tags.
 */
#ifdef BPFNAT_REBUILD_MARK
#define REBUILD_MARK()							\
	asm volatile("r0 = %[m]" : : [m] "i"(BPFNAT_REBUILD_MARK) : "r0")
#else
#define REBUILD_MARK()	do { } while (0)
#endif

static __always_inline int verdict(const struct pkt *p, int outcome,
				   const bool xdp)
{
	REBUILD_MARK();
	/* a step that forgot to decide is a bug; never let it through */
	if (outcome < 0 || outcome >= STAT_MAX)
		outcome = STAT_DROP_UNSUPPORTED;
	/* On XDP, the stack's way goes through the tc hook first, which
	 * counts it again: XDP counts what it leaves to tc.
	 */
	if (xdp && outcome == STAT_PASS)
		outcome = STAT_TO_TC;
	stat_count(outcome, p->frame_len, xdp, p->key.family == AF_INET6);
	if (STAT_IS_DROP(outcome) && monitor_listener(MON_DROP))
		monitor_drop(p, outcome, xdp ? MON_HOOK_XDP : MON_HOOK_TC);

	if (outcome == STAT_PASS || outcome == STAT_TO_TC)
		return xdp ? XDP_PASS : TC_ACT_OK;
	if (STAT_IS_DROP(outcome) && !p->answered)
		return xdp ? XDP_DROP : TC_ACT_SHOT;
	return p->redirect;
}

#endif /* BPFNAT_STATS_H */
