// SPDX-License-Identifier: GPL-2.0-only
#include <stdio.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include "addr.h"
#include "flow.h"

const char *const ct_state_names[CT_STATE_MAX] = {
	[CT_NEW] = "NEW",
	[CT_ESTABLISHED] = "ESTABLISHED",
	[CT_SYN_SENT] = "SYN_SENT",
	[CT_SYN_RECV] = "SYN_RECV",
	[CT_FIN_WAIT] = "FIN_WAIT",
	[CT_TIME_WAIT] = "TIME_WAIT",
	[CT_CLOSE] = "CLOSE",
};

const char *proto_name(uint8_t proto)
{
	switch (proto) {
	case IPPROTO_TCP:
		return "tcp";
	case IPPROTO_UDP:
		return "udp";
	case IPPROTO_ICMP:
		return "icmp";
	default:
		return "unknown";
	}
}

const char *kind_name(uint8_t kind)
{
	switch (kind) {
	case CT_KIND_SNAT:
		return "snat";
	case CT_KIND_DNAT:
		return "dnat";
	case CT_KIND_HAIRPIN:
		return "hairpin";
	default:
		return "?";
	}
}

/* An ICMP flow's key holds the echo id as the request's sport or the
 * reply's dport.
 */
static uint16_t icmp_id(const struct ct_key *k)
{
	return ntohs(k->sport ? k->sport : k->dport);
}

void tuple_print(const struct ct_key *k)
{
	printf(" src=%s", ip_str(k->saddr));
	printf(" dst=%s", ip_str(k->daddr));
	if (k->proto == IPPROTO_ICMP)
		printf(" type=%u code=0 id=%u", k->sport ? 8 : 0, icmp_id(k));
	else
		printf(" sport=%u dport=%u", ntohs(k->sport), ntohs(k->dport));
}

json_t *tuple_json(const struct ct_key *k)
{
	json_t *o = json_pack("{s:s, s:s}", "src", ip_str(k->saddr), "dst",
			      ip_str(k->daddr));

	if (k->proto == IPPROTO_ICMP) {
		json_object_set_new(o, "id", json_integer(icmp_id(k)));
	} else {
		json_object_set_new(o, "sport", json_integer(ntohs(k->sport)));
		json_object_set_new(o, "dport", json_integer(ntohs(k->dport)));
	}
	return o;
}
