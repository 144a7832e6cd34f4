/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Bindings, for endpoint-independent mapping (struct nat_binding): one
 * external port per container endpoint, whatever the destination, for as
 * long as a flow of it lives.
 *
 * A binding is counted, not timed: each flow that uses it holds one
 * reference (CT_F_BOUND), taken when the flow is made and given back when
 * it is removed.  A reference is taken only from a count above 0, with
 * compare-and-swap; whoever brings the count to 0 removes both entries,
 * and until they are gone the binding can be neither taken nor made
 * again (the insert that makes one is BPF_NOEXIST), so such a flow is
 * refused once as a race.  A new binding's external port is claimed by
 * inserting nat_bound with BPF_NOEXIST, atomic across CPUs, as ct_index
 * claims a port towards one destination.
 *
 * Keys live in a per-CPU room, not on the stack; a program runs to its
 * end on the CPU it started on, and no program that uses the room runs
 * inside another (tc and XDP run in softirq or with it held off).
 */
#ifndef BPFNAT_CT_BIND_H
#define BPFNAT_CT_BIND_H

#include "common.h"
#include "maps.h"

struct bind_room {
	struct nat_endpoint in;		/* the container's endpoint */
	struct nat_endpoint ext;	/* its external one */
	struct nat_binding b;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct bind_room);
} bind_room SEC(".maps");

static __always_inline struct bind_room *bind_room_get(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&bind_room, &zero);
}

/* Do flows of protocol @proto have bindings?  TCP and UDP do; an ICMP
 * echo id is mapped per destination.
 */
static __always_inline bool bind_applies(__u8 proto)
{
	return proto == IPPROTO_TCP || proto == IPPROTO_UDP;
}

/* @e is IPv4 endpoint @addr:@port/@proto, every byte set. */
static __always_inline void bind_endpoint(struct nat_endpoint *e,
					  __be32 addr, __be16 port, __u8 proto)
{
	e->addr6[0] = addr;
	e->addr6[1] = 0;
	e->addr6[2] = 0;
	e->addr6[3] = 0;
	e->port = port;
	e->proto = proto;
	e->family = AF_INET;
}

/* @e is IPv6 endpoint @addr (four words):@port/@proto. */
static __always_inline void bind_endpoint6(struct nat_endpoint *e,
					   const __be32 *addr, __be16 port,
					   __u8 proto)
{
	__builtin_memcpy(e->addr6, addr, sizeof(e->addr6));
	e->port = port;
	e->proto = proto;
	e->family = AF_INET6;
}

/* @e is the source endpoint of tuple @t, of either family (an IPv4
 * tuple's address words after the first are zeros, as ct_key_set4()
 * leaves them).
 */
static __always_inline void bind_endpoint_src(struct nat_endpoint *e,
					      const struct ct_key *t)
{
	__builtin_memcpy(e->addr6, t->saddr6, sizeof(e->addr6));
	e->port = t->sport;
	e->proto = t->proto;
	e->family = t->family ? AF_INET6 : AF_INET;
}

/* Take a reference on @b; false if it is being removed. */
static __always_inline bool bind_get(struct nat_binding *b)
{
	__u32 refs;

	for (int i = 0; i < 2; i++) {
		refs = *(volatile __u32 *)&b->refs;
		if (!refs)
			return false;
		if (__sync_val_compare_and_swap(&b->refs, refs, refs + 1) ==
		    refs)
			return true;
	}
	return false;		/* busy: refused once, as a race */
}

/*
 * The binding operations are global functions that take the endpoint
 * from bind_room, where the caller wrote it (room->in; for bind_new()
 * room->ext too): the verifier checks each once, and their frames hold
 * one 4-byte key, so that the programs, ct_create() and one of these
 * stay within the verifier's 512 bytes.
 */

/*
 * A reference on the live binding of endpoint room->in: its external
 * port (network order, in the low 16 bits), or -ENOENT.
 */
__noinline int bind_take(void)
{
	struct bind_room *r = bind_room_get();
	struct nat_binding *b;

	if (!r)
		return -ENOENT;
	b = bpf_map_lookup_elem(&nat_bindings, &r->in);
	if (!b || !bind_get(b))
		return -ENOENT;
	return b->ext_port;
}

/*
 * Give back a flow's reference on the binding of room->in; the last one
 * removes it, the external side first, so that its port is free once the
 * binding cannot be taken.
 */
__noinline int bind_put(void)
{
	struct bind_room *r = bind_room_get();
	struct nat_binding *b;

	if (!r)
		return 0;
	b = bpf_map_lookup_elem(&nat_bindings, &r->in);
	if (!b || __sync_fetch_and_add(&b->refs, -1) != 1)
		return 0;
	__builtin_memcpy(r->ext.addr6, b->ext_addr6, sizeof(r->ext.addr6));
	r->ext.port = b->ext_port;
	r->ext.proto = r->in.proto;
	r->ext.family = r->in.family;
	bpf_map_delete_elem(&nat_bound, &r->ext);
	bpf_map_delete_elem(&nat_bindings, &r->in);
	return 0;
}

/*
 * A new binding of room->in to @ext_port (network order) of room->ext's
 * address, with the caller's reference.  0, or -EAGAIN if another CPU
 * took the port or bound this endpoint meanwhile.
 */
__noinline int bind_new(__u32 ext_port)
{
	struct bind_room *r = bind_room_get();

	if (!r)
		return -EAGAIN;
	r->ext.port = (__be16)ext_port;
	if (bpf_map_update_elem(&nat_bound, &r->ext, &r->in, BPF_NOEXIST))
		return -EAGAIN;
	__builtin_memcpy(r->b.ext_addr6, r->ext.addr6, sizeof(r->b.ext_addr6));
	r->b.ext_port = (__be16)ext_port;
	r->b.pad = 0;
	r->b.refs = 1;
	r->b.pad1 = 0;
	if (bpf_map_update_elem(&nat_bindings, &r->in, &r->b, BPF_NOEXIST)) {
		bpf_map_delete_elem(&nat_bound, &r->ext);
		return -EAGAIN;
	}
	return 0;
}

/* Take a reference on the binding of tuple @t's source: as bind_take(). */
static __always_inline int bind_take_of(const struct ct_key *t)
{
	struct bind_room *r = bind_room_get();

	if (!r)
		return -ENOENT;
	bind_endpoint_src(&r->in, t);
	return bind_take();
}

/* Bind tuple @t's source to port @ext_port of reply key @rk's
 * destination (the SNAT address): as bind_new().
 */
static __always_inline int bind_new_of(const struct ct_key *t,
				       const struct ct_key *rk,
				       __be16 ext_port)
{
	struct bind_room *r = bind_room_get();

	if (!r)
		return -EAGAIN;
	bind_endpoint_src(&r->in, t);
	__builtin_memcpy(r->ext.addr6, rk->daddr6, sizeof(r->ext.addr6));
	r->ext.proto = t->proto;
	r->ext.family = r->in.family;
	return bind_new(ext_port);
}

/* The endpoint of @f's container that holds a binding: the initiator's
 * for the flows a container starts, the answerer's for the outside's.
 */
static __always_inline const struct ct_key *bind_tuple(const struct ct_flow *f)
{
	return &f->tuple[f->kind == CT_KIND_DNAT ? CT_DIR_REPLY : CT_DIR_ORIG];
}

/* @f gives back its binding's reference, if it holds one. */
static __always_inline void bind_release(const struct ct_flow *f)
{
	const struct ct_key *t = bind_tuple(f);
	struct bind_room *r;

	if (!(f->flags & CT_F_BOUND))
		return;
	r = bind_room_get();
	if (!r)
		return;
	bind_endpoint_src(&r->in, t);
	bind_put();
}

#endif /* BPFNAT_CT_BIND_H */
