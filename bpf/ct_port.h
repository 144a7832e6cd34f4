/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Source ports for new flows.  A port is reserved by inserting the flow's
 * reply key into ct_index with BPF_NOEXIST: the insert is the
 * reservation, atomic across CPUs.  The container's own port is kept when
 * it is free for that destination (RFC 4787 port preservation); otherwise
 * one bounded pass over the range, from a hashed start, takes the first
 * free port that none of the host's own sockets holds and that is not
 * published.  A destination
 * found with no free port is refused for a second (ct_exhausted), until a
 * port towards it is freed.  A port given back while a search ran could
 * be cached as taken: every give-back counts in ct_sweep.port_frees, and a
 * search that found nothing checks, after caching its refusal, that the
 * count did not move; if it did, the refusal goes.
 */
#ifndef BPFNAT_CT_PORT_H
#define BPFNAT_CT_PORT_H

#include "common.h"
#include "maps.h"
#include "ct_hooks.h"
#include "ct_bind.h"

/* ct_exhausted's key for the destination of reply key @rkey. */
static __always_inline void exhausted_key(const struct ct_key *rkey,
					  struct ct_key *k)
{
	__builtin_memset(k, 0, sizeof(*k));
	__builtin_memcpy(k->saddr6, rkey->saddr6, sizeof(k->saddr6));
	k->sport = rkey->sport;
	k->proto = rkey->proto;
	k->family = rkey->family;
}

/* ct_sweep.port_frees, or NULL (never, once `up` made the map). */
static __always_inline __u64 *ct_port_frees(void)
{
	__u32 zero = 0;
	struct ct_sweep *t = bpf_map_lookup_elem(&ct_sweep, &zero);

	return t ? &t->port_frees : NULL;
}

/*
 * The port of reply key @rkey is free again: a refusal cached for its
 * destination (ct_exhausted) must not outlive that, or new flows there
 * would be refused while a port is free.  Counted first, then the cache
 * cleared: a search that ran meanwhile sees one or the other.
 */
static __always_inline void ct_port_freed(const struct ct_key *rkey)
{
	__u64 *frees = ct_port_frees();
	struct ct_key ek;

	if (frees)
		__sync_fetch_and_add(frees, 1);
	exhausted_key(rkey, &ek);
	/* a lookup first: almost no destination is in there */
	if (bpf_map_lookup_elem(&ct_exhausted, &ek))
		bpf_map_delete_elem(&ct_exhausted, &ek);
}

/*
 * The port search's keys that do not fit the stack the programs,
 * ct_create() and its loop's callback share: port_is_hosts()'s IPv4
 * tuple, the destination's ct_exhausted key.  Per CPU.
 */
struct port_room {
	struct bpf_sock_tuple tuple;
	struct ct_key exhausted;
	struct port_key published;	/* for port_is_published() */
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct port_room);
} port_room SEC(".maps");

static __always_inline struct port_room *port_room_get(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&port_room, &zero);
}

/*
 * Is the reply tuple @rkey already the host's own: a socket of the host
 * bound to the SNAT address and that port (a listener, an unconnected UDP
 * socket, or a connection to that very remote)?  Then the port is not
 * free, whatever the conntrack says: replies would be taken from the host.
 */
static __always_inline bool port_is_hosts(void *ctx, struct ct_key *rkey)
{
	/* an IPv6 key begins as the helpers' IPv6 tuple does; an IPv4
	 * one is copied to the room.  No stack in port_search_step(),
	 * which the combined stack of tc_container -> ct_create_tc -> that
	 * callback has no room for.
	 */
	struct bpf_sock_tuple *t = (struct bpf_sock_tuple *)rkey;
	__u32 size = sizeof(t->ipv6);
	struct port_room *r;
	struct bpf_sock *sk;

	if (rkey->proto != IPPROTO_TCP && rkey->proto != IPPROTO_UDP)
		return false;
	if (!rkey->family) {
		r = port_room_get();
		if (!r)
			return false;
		t = &r->tuple;
		t->ipv4.saddr = rkey->saddr;
		t->ipv4.daddr = rkey->daddr;
		t->ipv4.sport = rkey->sport;
		t->ipv4.dport = rkey->dport;
		size = sizeof(t->ipv4);
	}
	if (rkey->proto == IPPROTO_TCP)
		sk = bpf_skc_lookup_tcp(ctx, t, size, BPF_F_CURRENT_NETNS, 0);
	else
		sk = bpf_sk_lookup_udp(ctx, t, size, BPF_F_CURRENT_NETNS, 0);
	if (!sk)
		return false;
	bpf_sk_release(sk);
	return true;
}

_Static_assert(offsetof(struct ct_key, saddr6) ==
	       offsetof(struct bpf_sock_tuple, ipv6.saddr) &&
	       offsetof(struct ct_key, daddr6) ==
	       offsetof(struct bpf_sock_tuple, ipv6.daddr) &&
	       offsetof(struct ct_key, sport) ==
	       offsetof(struct bpf_sock_tuple, ipv6.sport) &&
	       offsetof(struct ct_key, dport) ==
	       offsetof(struct bpf_sock_tuple, ipv6.dport),
	       "an IPv6 ct_key starts as an IPv6 bpf_sock_tuple");

struct port_search {
	void *ctx;		/* the program's, for port_is_hosts() */
	struct ct_key *rkey;	/* the flow's reply key, in its slot; dport
				 * is the candidate
				 */
	struct ct_ref ref;
	__u32 start;		/* the first candidate, from lo */
	__u32 range;
	__u16 lo;
	__u16 port;		/* chosen port, host order */
	__s16 err;		/* an errno fits: 40 bytes in all, which the
				 * verifier's 512 for the stack of the whole
				 * call chain needs on 6.1 (README)
				 */
	bool stuck;		/* a host's port could not be given back */
	bool bind;		/* ports are bound (bind_applies()) */
};
_Static_assert(sizeof(struct port_search) == 40, "port_search fits");

/* Is @port of the SNAT address another endpoint's external port
 * (nat_bound)?  Then it is not free, towards any destination.  The key
 * is bind_room's ext.
 */
static __always_inline bool port_is_bound(struct port_search *s, __be16 port)
{
	const struct ct_key *rk = s->rkey;
	struct bind_room *r;

	if (!s->bind)
		return false;
	r = bind_room_get();
	if (!r)
		return false;
	__builtin_memcpy(r->ext.addr6, rk->daddr6, sizeof(r->ext.addr6));
	r->ext.port = port;
	r->ext.proto = rk->proto;
	r->ext.family = rk->family ? AF_INET6 : AF_INET;
	return bpf_map_lookup_elem(&nat_bound, &r->ext);
}

/*
 * port_room's key for published port @port/@proto of host address @addr
 * (one word for IPv4, four with @ipv6), or NULL.
 */
static __always_inline struct port_key *port_key_of(const __be32 *addr,
						    bool ipv6, __be16 port,
						    __u8 proto)
{
	struct port_room *r = port_room_get();
	struct port_key *k;

	if (!r)
		return NULL;
	k = &r->published;
	__builtin_memset(k, 0, sizeof(*k));
	if (ipv6)
		__builtin_memcpy(k->host_addr6, addr, sizeof(k->host_addr6));
	else
		k->host_addr = *addr;
	k->host_port = port;
	k->proto = proto;
	k->family = ipv6 ? AF_INET6 : AF_INET;
	return k;
}

/*
 * The container behind published port @k (port_key_of()'s), or NULL:
 * published on that very address first, then on every address of its
 * family (when @any_ok: the address is one of the host's).
 */
static __always_inline const struct port_val *port_lookup(struct port_key *k,
							  bool any_ok)
{
	const struct port_val *v;

	if (k->proto != IPPROTO_TCP && k->proto != IPPROTO_UDP)
		return NULL;
	v = bpf_map_lookup_elem(&ports, k);
	if (v || !any_ok)
		return v;
	__builtin_memset(k->host_addr6, 0, sizeof(k->host_addr6));
	return bpf_map_lookup_elem(&ports, k);
}

/*
 * Is @port published (`bpfnat port add`) on the SNAT address, or on every
 * address, of the flow's family?  Then it is never a NATed flow's: the
 * outside's connections to it are the container's behind it.  The key
 * lives in port_room, not on the stack (see port_is_hosts()).
 */
static __always_inline bool port_is_published(struct port_search *s,
					      __be16 port)
{
	struct port_room *r = port_room_get();
	const struct ct_key *rk = s->rkey;
	struct port_key *k;

	if (!r || (rk->proto != IPPROTO_TCP && rk->proto != IPPROTO_UDP))
		return false;
	/* the SNAT address, the reply's destination (an IPv4 one is the
	 * first word, the rest zeros), every field written: no memset,
	 * whose temporaries would cost the stack ct_create() is short of
	 */
	k = &r->published;
	__builtin_memcpy(k->host_addr6, rk->daddr6, sizeof(k->host_addr6));
	k->host_port = port;
	k->proto = rk->proto;
	k->family = rk->family ? AF_INET6 : AF_INET;
	return port_lookup(k, true);
}

static __always_inline long port_try(struct port_search *s, __u16 port)
{
	s->rkey->dport = bpf_htons(port);
	/* (int): on 6.1 map updates return an int, and the upper half of
	 * the register is zeros, so -EEXIST would not compare as such
	 */
	s->err = (int)bpf_map_update_elem(&ct_index, s->rkey, &s->ref,
					 BPF_NOEXIST);
	if (!s->err)
		s->port = port;
	return s->err;
}

/*
 * Candidate @i of the range, from the start.  A port the host's own
 * sockets use is given back and passed over here, within the one pass:
 * the search ends only when a port is ours or every port was tried.
 */
static long port_search_step(__u32 i, struct port_search *s)
{
	/* start < range and i < range: no 32-bit wrap, every port once */
	__u32 at = s->start + i;
	long err;

	if (at >= s->range)
		at -= s->range;
	err = port_try(s, s->lo + at);
	if (err == -EEXIST)
		return 0;
	if (err || (!port_is_hosts(s->ctx, s->rkey) &&
		    !port_is_published(s, s->rkey->dport) &&
		    !port_is_bound(s, s->rkey->dport)))
		return 1;	/* ours, or a failure: stop */
	err = ct_index_delete(s->rkey);
	if (!ct_key_gone(err)) {
		/* the reservation stays: ct_create() leaves it to the
		 * sweep, with this port as the flow's
		 */
		s->err = err;
		s->stuck = true;
		return 1;
	}
	s->err = -EEXIST;
	return 0;
}

/* A destination found without a free port is refused this long. */
#define EXHAUSTED_NS		NSEC_PER_SEC

/*
 * Reserve a source port for @f towards its destination by inserting the
 * reply key.  A TCP or UDP endpoint that has a binding takes its port
 * (endpoint-independent mapping); one that has none is given a port no
 * other endpoint is bound to, and bound to it.  The container's own port
 * is kept when it is free (RFC 4787 port preservation); otherwise the
 * whole range is searched from a hashed start.  A port the host's own
 * sockets use is passed over.  Returns 0 or a negative errno; *@reserved
 * says whether the reply key with the port in f->tuple[CT_DIR_REPLY].dport
 * is in ct_index, ours (on success, and when a port could not be given
 * back).  @s is the search's room, the caller's (see ct_create()).
 */
static __always_inline long snat_alloc_port(void *ctx, struct ct_flow *f,
					    __u32 slot,
					    const struct bpfnat_config *cfg,
					    __u64 now, bool *reserved,
					    struct port_search *s)
{
	__u16 own = bpf_ntohs(f->tuple[CT_DIR_ORIG].sport);
	__u64 *until, *frees, before = 0;
	struct port_room *r = port_room_get();
	struct ct_key *ek;

	*s = (struct port_search){
		.ctx = ctx,
		.ref = { .flow = slot, .dir = CT_DIR_REPLY },
		.lo = cfg->port_lo,
		.range = (__u32)cfg->port_hi - cfg->port_lo + 1,
	};

	/* Echo ids are not ports: the whole 16-bit space is theirs. */
	if (proto_is_icmp(f->tuple[CT_DIR_ORIG].proto)) {
		s->lo = 0;
		s->range = 0x10000;
	}
	s->start = ct_hash(&f->tuple[CT_DIR_ORIG]) % s->range;
	*reserved = false;
	/* the slot is ours, not live: its key is the search's */
	s->rkey = &f->tuple[CT_DIR_REPLY];
	s->rkey->dport = 0;
	s->bind = bind_applies(s->rkey->proto);
	if (s->bind) {
		int ext = bind_take_of(&f->tuple[CT_DIR_ORIG]);

		if (ext >= 0) {
			/* the endpoint's one external port, towards every
			 * destination: free towards this one, as no other
			 * endpoint is bound to it
			 */
			f->flags |= CT_F_BOUND;
			port_try(s, bpf_ntohs((__u16)ext));
			goto out;
		}
	}
	if (!r)
		return -ENOMEM;
	ek = &r->exhausted;
	exhausted_key(s->rkey, ek);
	until = bpf_map_lookup_elem(&ct_exhausted, ek);
	if (until && now < *until)
		return -EEXIST;
	frees = ct_port_frees();
	if (frees)
		before = *(volatile __u64 *)frees;

	if (own >= s->lo && own - s->lo < s->range) {
		s->rkey->dport = f->tuple[CT_DIR_ORIG].sport;
		if (!port_is_hosts(ctx, s->rkey) &&
		    !port_is_published(s, s->rkey->dport) &&
		    !port_is_bound(s, s->rkey->dport) &&
		    port_try(s, own) != -EEXIST)
			goto out;
	}
	s->err = -EEXIST;
	bpf_loop(s->range, port_search_step, s, 0);
	if (s->err == -EEXIST) {
		__u64 later = now + EXHAUSTED_NS;

		ct_port_search_hook();
		bpf_map_update_elem(&ct_exhausted, ek, &later, BPF_ANY);
		/* a port given back since the search began may be free:
		 * then no refusal (the add is a full barrier, and a
		 * give-back counts before it clears the cache)
		 */
		if (frees && __sync_fetch_and_add(frees, 0) != before) {
			ct_race_hook(port_freed_meanwhile);
			bpf_map_delete_elem(&ct_exhausted, ek);
		}
	}
out:
	/* a port found (not a binding's): a new binding, or none and
	 * the port goes back
	 */
	if (!s->err && s->bind && !(f->flags & CT_F_BOUND)) {
		if (bind_new_of(&f->tuple[CT_DIR_ORIG], s->rkey,
				bpf_htons(s->port))) {
			s->rkey->dport = bpf_htons(s->port);
			if (ct_key_gone(ct_index_delete(s->rkey)))
				ct_port_freed(s->rkey);
			else
				s->stuck = true;
			s->err = -EAGAIN;
		} else {
			f->flags |= CT_F_BOUND;
		}
	}
	f->tuple[CT_DIR_REPLY].dport = bpf_htons(s->port);
	*reserved = !s->err || s->stuck;
	return s->err;
}

#endif /* BPFNAT_CT_PORT_H */
