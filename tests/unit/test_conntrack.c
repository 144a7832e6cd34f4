// SPDX-License-Identifier: GPL-2.0-only
/*
 * Conntrack under concurrency, one interleaving at a time: what another
 * CPU may have done between two steps of a packet (a slot recycled, a key
 * delete refused) is set up by hand in the maps, then a packet runs.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "checks.h"
#include "env.h"
#include "unit.h"

/* The slot of the flow whose original tuple is @k, or -1. */
static int slot_of(struct env *e, const struct ct_key *k)
{
	struct ct_ref ref;

	if (bpf_map_lookup_elem(bpf_map__fd(e->skel->maps.ct_index), k, &ref))
		return -1;
	return ref.flow;
}

/* Point @key at @slot in ct_index, as a key left behind would. */
static bool index_put(struct env *e, const struct ct_key *key, uint32_t slot,
		      uint8_t dir)
{
	struct ct_ref ref = { .flow = slot, .dir = dir };

	return ASSERT_OK(bpf_map_update_elem(bpf_map__fd(e->skel->maps.ct_index),
					     key, &ref, BPF_NOEXIST),
			 "plant a key");
}

/*
 * A key whose slot now holds another flow (it was removed and its slot
 * given to a new flow between a lookup of the key and of the slot) is not
 * that flow's: the packet is neither translated with the other flow's
 * mapping nor counted to it, in either direction.
 */
UNIT_TEST(lookup_ignores_a_recycled_slot)
{
	uint8_t pkt[PKT_MAX];
	struct ct_key k1, k2, r2;
	struct ct_flow f1, after;
	struct pkt_spec s;
	struct env e;
	struct run r;
	int slot;

	if (!env_setup(&e, NULL))
		return;
	/* flow 1 is a:40000 -> remote:80, in some slot */
	s = env_spec_from(&e, false, IPPROTO_UDP, e.remote, 40000, 80);
	env_send(&e, e.ifindex_ha, &s, pkt, &r);
	k1 = key_of(IPPROTO_UDP, e.a, e.remote, 40000, 80);
	slot = slot_of(&e, &k1);
	if (!ASSERT_TRUE(slot >= 0 && env_flow_of(&e, &k1, &f1), "flow 1"))
		return;

	/* keys of an older flow 2 (a:40001 -> remote:81, mapped to 40001)
	 * that still lead to the slot flow 1 took over
	 */
	k2 = key_of(IPPROTO_UDP, e.a, e.remote, 40001, 81);
	r2 = key_of(IPPROTO_UDP, e.remote, e.snat, 81, 40001);
	if (!index_put(&e, &k2, slot, CT_DIR_ORIG) ||
	    !index_put(&e, &r2, slot, CT_DIR_REPLY))
		return;

	s = env_spec_from(&e, false, IPPROTO_UDP, e.remote, 40001, 81);
	env_send(&e, e.ifindex_ha, &s, pkt, &r);
	ASSERT_TRUE(r.verdict != TC_ACT_REDIRECT ||
		    ntohs(*(uint16_t *)pkt_l4(r.out)) != ntohs(f1.nat_port),
		    "not sent out with flow 1's port");
	/* the reply of flow 2 is not delivered as one of flow 1 */
	s = env_spec_reply(&e, IPPROTO_UDP, e.remote, 81, 40001);
	env_receive(&e, &s, pkt, &r);
	ASSERT_EQ(r.verdict, TC_ACT_OK, "reply: not flow 1's, the host's");
	ASSERT_EQ(r.redirect.count, 0, "reply: not redirected");

	if (!ASSERT_TRUE(env_flow_of(&e, &k1, &after), "flow 1 still there"))
		return;
	ASSERT_EQ(after.packets[CT_DIR_ORIG], 1, "flow 1: no packet of flow 2");
	ASSERT_EQ(after.packets[CT_DIR_REPLY], 0, "flow 1: no reply of flow 2");
}
