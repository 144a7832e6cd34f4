/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The words and shapes a flow is shown in, by `ct list` and `monitor`:
 * conntrack's spelling for text, the same keys for JSON.
 */
#ifndef BPFNAT_FLOW_H
#define BPFNAT_FLOW_H

#include <stdint.h>
#include <jansson.h>

#include "bpfnat.h"

extern const char *const ct_state_names[CT_STATE_MAX];

/* "tcp", "udp", "icmp" or "unknown". */
const char *proto_name(uint8_t proto);

/* "snat", "dnat", "hairpin" (enum ct_kind). */
const char *kind_name(uint8_t kind);

/* One direction of a flow as conntrack -L prints it, each part after a
 * space: src=A dst=B sport=P dport=Q (ICMP: type=T code=0 id=I).
 */
void tuple_print(const struct ct_key *k);

/* The same as {"src", "dst", "sport", "dport"} or {"src", "dst", "id"}. */
json_t *tuple_json(const struct ct_key *k);
/* "ipv4" or "ipv6": -j's family of a flow or an event. */
const char *family_name(const struct ct_key *k);

#endif /* BPFNAT_FLOW_H */
