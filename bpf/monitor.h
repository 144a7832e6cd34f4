/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Events for `bpfnat monitor`: each drop with its reason and tuple, each
 * flow created and removed.  They go to the events ring buffer only while
 * a listener holds a lease (struct monitor_ctl): with nobody listening, a
 * drop or a new flow costs one array lookup.  A full ring loses the event,
 * counted as monitor_lost, never the packet.
 *
 * The emitters are subprograms, not inlined: their frames are not added to
 * the programs' own, which ct_create() shares (see ct.h).  Whether anyone
 * listens is asked inline, so that with nobody listening not even the
 * call is made.
 */
#ifndef BPFNAT_MONITOR_H
#define BPFNAT_MONITOR_H

#include "common.h"
#include "maps.h"
#include "parse.h"

/* The lease of @type's listener, or NULL when nobody listens. */
static __always_inline struct monitor_ctl *monitor_listener(__u8 type)
{
	struct monitor_ctl *m;
	__u32 zero = 0;
	__u64 until;

	m = bpf_map_lookup_elem(&monitor, &zero);
	if (!m)
		return NULL;
	until = type == MON_DROP ? m->drops_until_ns : m->flows_until_ns;
	/* no clock read when nobody ever listened */
	if (!until || bpf_ktime_get_ns() > until)
		return NULL;
	return m;
}

/* An event the ring had no room for (per CPU: no atomic needed). */
static __always_inline void monitor_lost(void)
{
	__u32 key = STAT_MONITOR_LOST;
	struct stat_val *v = bpf_map_lookup_elem(&stats, &key);

	if (v)
		v->packets++;
}

static __always_inline struct monitor_event *monitor_reserve(void)
{
	struct monitor_event *e;

	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		monitor_lost();
		return NULL;
	}
	__builtin_memset(e, 0, sizeof(*e));
	e->time_ns = bpf_ktime_get_ns();
	return e;
}

/* Packet @p is dropped as @reason at a @hook (enum monitor_hook), and a
 * listener wants to know (the caller asked monitor_listener(MON_DROP)).
 */
static __noinline int monitor_drop(const struct pkt *p, __u32 reason,
				   __u32 hook)
{
	struct monitor_event *e;

	if (!p)
		return 0;
	e = monitor_reserve();
	if (!e)
		return 0;
	e->type = MON_DROP;
	e->hook = hook;
	e->reason = reason;
	e->ifindex = p->ifindex;
	e->len = p->frame_len;
	e->tuple[0] = p->key;
	bpf_ringbuf_submit(e, 0);
	return 0;
}

/* The veth of @f's container (a hairpin's: the initiator's). */
static __always_inline __u32 monitor_flow_ifindex(const struct ct_flow *f)
{
	return f->ifindex[CT_DIR_ORIG] ? f->ifindex[CT_DIR_ORIG] :
					 f->ifindex[CT_DIR_REPLY];
}

static __always_inline void monitor_flow_fill(struct monitor_event *e,
					      const struct ct_flow *f)
{
	e->kind = f->kind;
	e->state = f->state;
	e->ifindex = monitor_flow_ifindex(f);
	e->tuple[CT_DIR_ORIG] = f->tuple[CT_DIR_ORIG];
	e->tuple[CT_DIR_REPLY] = f->tuple[CT_DIR_REPLY];
}

/* Flow @f was just created by a packet at @hook, and a listener wants to
 * know (the caller asked monitor_listener(MON_FLOW_NEW)).
 */
static __noinline int monitor_flow_new(const struct ct_flow *f, __u32 hook)
{
	struct monitor_event *e;

	if (!f)
		return 0;
	e = monitor_reserve();
	if (!e)
		return 0;
	e->type = MON_FLOW_NEW;
	e->hook = hook;
	monitor_flow_fill(e, f);
	bpf_ringbuf_submit(e, 0);
	return 0;
}

/*
 * A flow's end is written down before it is removed (its slot may be
 * reused at once after) and sent only once it was: @e on the caller's
 * stack.  False when nobody listens.
 */
static __always_inline bool monitor_flow_end_fill(struct monitor_event *e,
						  const struct ct_flow *f,
						  __u32 why)
{
	if (!monitor_listener(MON_FLOW_DESTROY))
		return false;
	__builtin_memset(e, 0, sizeof(*e));
	e->type = MON_FLOW_DESTROY;
	e->hook = MON_HOOK_SWEEP;
	e->reason = why;
	monitor_flow_fill(e, f);
	e->packets[0] = f->packets[0];
	e->packets[1] = f->packets[1];
	e->bytes[0] = f->bytes[0];
	e->bytes[1] = f->bytes[1];
	return true;
}

static __always_inline void monitor_flow_end_send(struct monitor_event *e)
{
	e->time_ns = bpf_ktime_get_ns();
	if (bpf_ringbuf_output(&events, e, sizeof(*e), 0))
		monitor_lost();
}

#endif /* BPFNAT_MONITOR_H */
