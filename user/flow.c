// SPDX-License-Identifier: GPL-2.0-only
#include <stdio.h>
#include <string.h>
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
	case IPPROTO_ICMPV6:
		return "icmpv6";
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

/* An address of @k, of its family (a static buffer, as ip_str()'s). */
static const char *key_addr_str(const struct ct_key *k, const __be32 *addr)
{
	struct in6_addr a;

	if (k->family != AF_INET6)
		return ip_str(addr[0]);
	memcpy(&a, addr, sizeof(a));
	return ip6_str(&a);
}

void tuple_print(const struct ct_key *k)
{
	printf(" src=%s", key_addr_str(k, k->saddr6));
	printf(" dst=%s", key_addr_str(k, k->daddr6));
	/* as conntrack -L: echo request and reply types, ICMP's or
	 * ICMPv6's
	 */
	if (k->proto == IPPROTO_ICMP)
		printf(" type=%u code=0 id=%u", k->sport ? 8 : 0, icmp_id(k));
	else if (k->proto == IPPROTO_ICMPV6)
		printf(" type=%u code=0 id=%u", k->sport ? 128 : 129,
		       icmp_id(k));
	else
		printf(" sport=%u dport=%u", ntohs(k->sport), ntohs(k->dport));
}

const char *family_name(const struct ct_key *k)
{
	return k->family == AF_INET6 ? "ipv6" : "ipv4";
}

json_t *tuple_json(const struct ct_key *k)
{
	json_t *o = json_object();

	/* one at a time: the strings share a buffer per family */
	json_object_set_new(o, "src", json_string(key_addr_str(k, k->saddr6)));
	json_object_set_new(o, "dst", json_string(key_addr_str(k, k->daddr6)));
	if (k->proto == IPPROTO_ICMP || k->proto == IPPROTO_ICMPV6) {
		json_object_set_new(o, "id", json_integer(icmp_id(k)));
	} else {
		json_object_set_new(o, "sport", json_integer(ntohs(k->sport)));
		json_object_set_new(o, "dport", json_integer(ntohs(k->dport)));
	}
	return o;
}
