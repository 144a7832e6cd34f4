/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The one definition of everything the BPF data path and the bpfnat CLI both
 * see: map names, map key and value layouts, configuration, counters.
 *
 * Layout rules: fixed-width types only, network byte order marked by __be
 * types, explicit padding, a size assertion per struct.  Fields are never
 * reordered or reused; a change to any layout bumps BPFNAT_LAYOUT_VERSION so
 * that `bpfnat up` refuses pinned maps of the old shape instead of misreading
 * them.
 */
#ifndef BPFNAT_H
#define BPFNAT_H

#include <linux/types.h>
#include <linux/bpf.h>
#include <stddef.h>

#define BPFNAT_LAYOUT_VERSION	13

/* Where the kernel keeps bpfnat's state between CLI runs. */
#define BPFNAT_PIN_DIR		"/sys/fs/bpf/bpfnat"

/* Pinned names: map names as the kernel shows them (at most 15 chars). */
#define PIN_CONFIG		"config"
#define PIN_ENDPOINTS		"endpoints"
#define PIN_ENDPOINTS6		"endpoints6"
#define PIN_EXCLUDE		"exclude"
#define PIN_EXCLUDE6		"exclude6"
#define PIN_CT_INDEX		"ct_index"
#define PIN_CT_FLOWS		"ct_flows"
#define PIN_CT_FREE		"ct_free"
#define PIN_CT_SWEEP		"ct_sweep"
#define PIN_STATS		"stats"
#define PIN_FRAGS		"frags"
#define PIN_CT_EXHAUSTED	"ct_exhausted"
#define PIN_TX_PORTS		"tx_ports"
#define PIN_FRAG_STASH		"frag_stash"
#define PIN_PORTS		"ports"
#define PIN_NAT_BINDINGS	"nat_bindings"
#define PIN_NAT_BOUND		"nat_bound"
#define PIN_EVENTS		"events"
#define PIN_MONITOR		"monitor"
#define PIN_PROG_CONTAINER	"tc_container"
#define PIN_PROG_UPLINK		"tc_uplink"
#define PIN_PROG_GUARD		"tc_guard"
#define PIN_PROG_FLUSH		"ct_flush"
#define PIN_PROG_XDP_CONTAINER	"xdp_container"
#define PIN_PROG_XDP_UPLINK	"xdp_uplink"
#define PIN_PROG_XDP_PASS	"xdp_pass"
/* Host-local access to published ports (bpf/sock.h): the maps, the
 * cgroup socket programs and the bpf_links that attach them.
 */
#define PIN_HOST_ADDRS		"host_addrs"
#define PIN_SOCK_REV		"sock_rev"
#define PIN_SOCK_STATS		"sock_stats"
#define PIN_PROG_CONNECT4	"sock_connect4"
#define PIN_PROG_SENDMSG4	"sock_sendmsg4"
#define PIN_PROG_RECVMSG4	"sock_recvmsg4"
#define PIN_PROG_GETPEERNAME4	"sock_getpeer4"
#define PIN_LINK_CONNECT4	"link_connect4"
#define PIN_LINK_SENDMSG4	"link_sendmsg4"
#define PIN_LINK_RECVMSG4	"link_recvmsg4"
#define PIN_LINK_GETPEERNAME4	"link_getpeer4"
#define PIN_HOST_ADDRS6		"host_addrs6"
#define PIN_PROG_CONNECT6	"sock_connect6"
#define PIN_PROG_SENDMSG6	"sock_sendmsg6"
#define PIN_PROG_RECVMSG6	"sock_recvmsg6"
#define PIN_PROG_GETPEERNAME6	"sock_getpeer6"
#define PIN_LINK_CONNECT6	"link_connect6"
#define PIN_LINK_SENDMSG6	"link_sendmsg6"
#define PIN_LINK_RECVMSG6	"link_recvmsg6"
#define PIN_LINK_GETPEERNAME6	"link_getpeer6"

/* tc filter identity: bpfnat only ever touches filters at this spot. */
#define BPFNAT_TC_PRIO		0xb9
#define BPFNAT_TC_HANDLE	0xb9f

/* Default sizes, overridable at build time and by `bpfnat up` flags. */
#ifndef CT_MAX_DEFAULT
#define CT_MAX_DEFAULT		65536
#endif
#ifndef ENDPOINTS_MAX
#define ENDPOINTS_MAX		4096
#endif
#ifndef EXCLUDE_MAX
#define EXCLUDE_MAX		64
#endif
#ifndef FRAGS_MAX
#define FRAGS_MAX		4096
#endif
#ifndef PORTS_MAX
#define PORTS_MAX		8192	/* a port on every address: 2 */
#endif
#ifndef EXHAUSTED_MAX
#define EXHAUSTED_MAX		1024
#endif
#ifndef HOST_ADDRS_MAX
#define HOST_ADDRS_MAX		256
#endif

#define POOL_DEFAULT		"172.18.0.0/16"
#define POOL6_DEFAULT		"fd00:18::/64"
#define PORTS_DEFAULT_LO	1024
#define PORTS_DEFAULT_HI	65535

enum bpfnat_mode {
	MODE_TC = 0,
	MODE_XDP = 1,
};

/*
 * A packet's 5-tuple as seen at the hook that looks it up, of either
 * family.  For ICMP and ICMPv6 echo the identifier plays the port: it is
 * the source port of the container's request and the destination port of
 * the reply.  An IPv4 key has its addresses in saddr and daddr, the first
 * words of saddr6 and daddr6, and zeros in the rest; family tells an IPv4
 * key from an IPv6 one whose address ends in 96 zero bits.  An IPv6 key
 * begins as the helpers' IPv6 struct bpf_sock_tuple does.  Aligned to 8
 * so that two keys compare as five 64-bit words (the verifier wants
 * aligned stack loads); the padding is always zero.
 */
struct ct_key {
	union {
		__be32 saddr;
		__be32 saddr6[4];
	};
	union {
		__be32 daddr;
		__be32 daddr6[4];
	};
	__be16 sport;
	__be16 dport;
	__u8 proto;
	__u8 family;		/* 0: IPv4; AF_INET6: IPv6 */
	__u8 pad[2];
} __attribute__((aligned(8)));
_Static_assert(sizeof(struct ct_key) == 40, "ct_key layout");
_Static_assert(offsetof(struct ct_key, daddr) == 16 &&
	       offsetof(struct ct_key, sport) == 32, "ct_key: v6 tuple");

/* As nf_conntrack names them: the direction of the flow's first packet,
 * and that of its answers.
 */
enum ct_dir {
	CT_DIR_ORIG = 0,	/* from the initiator, as it sent it */
	CT_DIR_REPLY = 1,	/* from the responder, as it sent it */
};

/* ct_flow.kind: who started the flow, and what is translated. */
enum ct_kind {
	CT_KIND_SNAT = 1,	/* a container to the outside: new source */
	CT_KIND_DNAT = 2,	/* the outside to a published port: new
				 * destination, the container's address
				 */
	CT_KIND_HAIRPIN = 3,	/* a container to a published port: both */
};

/* ct_index value: which flow a tuple belongs to, and in which direction. */
struct ct_ref {
	__u32 flow;
	__u8 dir;		/* enum ct_dir */
	__u8 pad[3];
};
_Static_assert(sizeof(struct ct_ref) == 8, "ct_ref layout");

enum ct_state {
	CT_NEW = 0,		/* seen from the container, never answered */
	CT_ESTABLISHED,		/* answered (UDP, ICMP) or handshake done */
	CT_SYN_SENT,
	CT_SYN_RECV,
	CT_FIN_WAIT,		/* one side sent FIN */
	CT_TIME_WAIT,		/* both sides sent FIN */
	CT_CLOSE,		/* reset seen */
	CT_STATE_MAX,
};

/* ct_flow.live */
enum ct_slot {
	CT_SLOT_FREE = 0,	/* unused; its number waits in ct_free */
	CT_SLOT_LIVE = 1,	/* both keys are in ct_index */
	CT_SLOT_NEW = 2,	/* being created; no one may remove it */
	CT_SLOT_DYING = 3,	/* removed, but a key of it could not be
				 * deleted: the slot keeps the tuple until
				 * the sweep has deleted both keys
				 */
};

/* ct_flow.flags */
#define CT_F_REPLIED		(1 << 0)
#define CT_F_FIN_ORIG		(1 << 1)
#define CT_F_FIN_REPLY		(1 << 2)
#define CT_F_TCP_LIBERAL	(1 << 3)	/* picked up mid-stream: no
						 * SYN gave the window scales,
						 * so no window is judged
						 */
#define CT_F_BOUND		(1 << 4)	/* holds a reference on the
						 * binding of its container's
						 * endpoint (nat_bindings)
						 */

/*
 * What one side of a TCP flow has shown, as nf_conntrack's tcp_in_window()
 * tracks it, so that a RST changes the state only when it lies in the
 * receiver's window.  Sequence numbers are the same on both sides of the
 * NAT, which rewrites no sequence number.
 */
struct ct_tcp_side {
	__u32 end;		/* highest seq + len it sent (td_end) */
	__u32 maxend;		/* highest ack + window the other side
				 * gave it: its right edge (td_maxend)
				 */
	__u32 maxwin;		/* largest window it advertised, scaled;
				 * 0: nothing seen of it yet (td_maxwin)
				 */
	__u8 scale;		/* its windows' shift (RFC 7323), 0 unless
				 * both SYNs had the option
				 */
	__u8 flags;		/* CT_TCP_* */
	__u16 pad;
};
_Static_assert(sizeof(struct ct_tcp_side) == 16, "ct_tcp_side layout");

/* ct_tcp_side.flags: its SYN offered a window scale */
#define CT_TCP_WSCALE		(1 << 0)

/*
 * One NATed flow, as nf_conntrack holds one: the tuple of each direction
 * as its sender sent it, both of them keys of ct_index that point at this
 * slot, so the two directions share one state, one clock and one set of
 * counters, and are created and removed together.  A packet that matches
 * tuple[d] leaves as the mirror of tuple[!d]: its source becomes
 * tuple[!d]'s destination and its destination tuple[!d]'s source.  So
 * one rule translates every kind (SNAT: tuple[REPLY] is the outside's
 * answer to the SNAT address; DNAT: tuple[REPLY] is the container's
 * answer; a hairpin: both).
 *
 * A slot whose `live` is 0 is free and its number waits in ct_free;
 * whoever turns `live` from 1 to 0 (one compare-and-swap) owns the removal
 * of both keys.  If a key cannot be deleted, the slot stays out of ct_free
 * as CT_SLOT_DYING, so that no key ever leads to a slot another flow took;
 * the sweep owns it then.
 */
struct ct_flow {
	struct ct_key tuple[2];	/* indexed by enum ct_dir */
	__u32 ifindex[2];	/* whence each direction's sender comes: a
				 * container's host-side veth, 0 for the
				 * uplink (the outside)
				 */
	__u32 state;		/* enum ct_state */
	__u32 pad0;
	/* live and gen form one 64-bit word, changed with compare-and-swap:
	 * gen grows each time the slot is taken, so a remover that looked
	 * at an earlier flow in this slot cannot remove a later one.
	 */
	__u32 live;		/* enum ct_slot */
	__u32 gen;
	__u32 flags;		/* CT_F_*, changed with atomic and/or */
	__u8 kind;		/* enum ct_kind */
	__u8 pad1[3];
	__u64 created_ns;	/* bpf_ktime_get_coarse_ns() clock */
	__u64 last_seen_ns;
	__u64 packets[2];	/* indexed by enum ct_dir */
	__u64 bytes[2];
	/* TCP: each side's sequence space, indexed by the direction it
	 * sends in.  Next to the counters: both change with nearly every
	 * packet, so they share cache lines.  (An array map's values are
	 * only 8-byte aligned, so which lines depends on the kernel; kept
	 * together, they touch as few as they can.)
	 */
	struct ct_tcp_side tcp[2];
	/* The next hop out of the uplink, as bpf_fib_lookup() last said;
	 * trusted for CT_NEXTHOP_TTL_NS, then asked again.
	 */
	__u64 nh_checked_ns;
	__u32 nh_ifindex;	/* 0: nothing cached */
	__u16 nh_mtu;
	__u8 nh_dmac[6];
	__u8 nh_smac[6];
	__u8 pad2[6];
};
_Static_assert(sizeof(struct ct_flow) == 224, "ct_flow layout");
_Static_assert(offsetof(struct ct_flow, tcp) ==
	       offsetof(struct ct_flow, bytes) + 16,
	       "ct_flow: the TCP windows follow the counters");
_Static_assert(offsetof(struct ct_flow, live) % 8 == 0 &&
	       offsetof(struct ct_flow, gen) ==
	       offsetof(struct ct_flow, live) + 4, "ct_flow claim word");

/* endpoints value, keyed by the container's __be32 address. */
struct endpoint {
	__u32 ifindex;		/* host side of the container's veth */
	__u8 mac[6];		/* container's eth0 */
	__u8 host_mac[6];	/* host side of the veth (the gateway) */
};
_Static_assert(sizeof(struct endpoint) == 16, "endpoint layout");

/* endpoints6 key: a container's IPv6 address; the value is its struct
 * endpoint, the same as for its IPv4 address.
 */
struct in6_key {
	__be32 addr[4];
};
_Static_assert(sizeof(struct in6_key) == 16, "in6_key layout");

/* exclude: destinations that are never NATed (LPM trie key). */
struct exclude_key {
	__u32 prefixlen;
	__be32 addr;
};
_Static_assert(sizeof(struct exclude_key) == 8, "exclude_key layout");

/* exclude6: IPv6 destinations that are never NATed (LPM trie key). */
struct exclude6_key {
	__u32 prefixlen;
	__be32 addr[4];
};
_Static_assert(sizeof(struct exclude6_key) == 20, "exclude6_key layout");

/*
 * ports: published ports (`bpfnat port add`, Docker's -p), keyed by their
 * host side.  A packet from the outside to host_addr:host_port, or to any
 * of the host's addresses when host_addr is 0 (::), is DNATed to
 * addr:port.  A range is one entry per port, and a mapping with no host
 * address one entry per family.  Of either family, as struct ct_key: an
 * IPv4 entry has its addresses in the first words and zeros in the rest.
 */
struct port_key {
	union {			/* 0: every address of the host */
		__be32 host_addr;
		__be32 host_addr6[4];
	};
	__be16 host_port;
	__u8 proto;		/* IPPROTO_TCP or IPPROTO_UDP */
	__u8 family;		/* AF_INET or AF_INET6 */
};
_Static_assert(sizeof(struct port_key) == 20, "port_key layout");

struct port_val {
	union {			/* the container */
		__be32 addr;
		__be32 addr6[4];
	};
	__be16 port;		/* its port */
	__u16 pad;
};
_Static_assert(sizeof(struct port_val) == 20, "port_val layout");

/*
 * Endpoint-independent mapping (RFC 4787 REQ-1, RFC 5382 REQ-1): a
 * container's endpoint (address, port, protocol) keeps one external port
 * of the SNAT address for every destination while a flow of it lives,
 * as RFC 6146's binding table keeps it apart from the flows.  Each TCP
 * and UDP flow a container starts (SNAT, hairpin) holds a reference on
 * its endpoint's binding, and so does a flow the outside starts through
 * one (--filtering endpoint-independent); the flow that gives back the
 * last reference removes the binding.  nat_bindings is keyed by the
 * container's endpoint, nat_bound by the external one, pointing back.
 * Both families: an IPv4 address is the first word, the rest zeros.
 */
struct nat_endpoint {
	union {
		__be32 addr;
		__be32 addr6[4];
	};
	__be16 port;
	__u8 proto;
	__u8 family;		/* AF_INET or AF_INET6 */
};
_Static_assert(sizeof(struct nat_endpoint) == 20, "nat_endpoint layout");

struct nat_binding {
	union {			/* the SNAT address */
		__be32 ext_addr;
		__be32 ext_addr6[4];
	};
	__be16 ext_port;
	__u16 pad;
	__u32 refs;		/* flows that use it; 0: being removed */
	__u32 pad1;
};
_Static_assert(sizeof(struct nat_binding) == 28, "nat_binding layout");

/*
 * sock_rev: per socket (socket-local storage, freed with the socket),
 * where the socket's connects and datagrams to published ports were sent
 * instead, so that what the application reads back names the address it
 * asked for: the source of an answer (recvmsg) and the peer
 * (getpeername).  SOCK_REV_SLOTS containers at once; one more takes the
 * oldest slot (sock_rev_replaced counts it).
 */
#define SOCK_REV_SLOTS		8

struct sock_rev_slot {
	/* of the socket's family: an IPv4 address in the first word */
	__be32 asked_addr[4];	/* what the application sent to */
	__be32 addr[4];		/* the container it went to; 0: free */
	__be16 asked_port;
	__be16 port;
};
_Static_assert(sizeof(struct sock_rev_slot) == 36, "sock_rev_slot layout");

struct sock_rev {
	struct sock_rev_slot slot[SOCK_REV_SLOTS];
	__u32 next;		/* destinations remembered so far: the next
				 * one takes slot next % SOCK_REV_SLOTS
				 */
	__u32 pad;
};
_Static_assert(sizeof(struct sock_rev) == 8 + 36 * SOCK_REV_SLOTS,
	       "sock_rev layout");

/*
 * frags: what became of a fragmented datagram from the outside, learnt from
 * its first fragment, so that the later ones (which carry no ports) follow.
 * Of either family, laid out as struct ct_key: an IPv4 datagram has its
 * addresses in the first words and zeros in the rest.
 */
struct frag_key {
	union {
		__be32 saddr;
		__be32 saddr6[4];
	};
	union {
		__be32 daddr;
		__be32 daddr6[4];
	};
	__be32 id;		/* IPv4's 16-bit identification, or IPv6's */
	__u8 proto;
	__u8 family;		/* 0: IPv4; AF_INET6: IPv6 */
	__u8 pad[2];
};
_Static_assert(sizeof(struct frag_key) == 40, "frag_key layout");

enum frag_state {
	FRAG_PENDING = 0,	/* a later fragment came first; waiting */
	FRAG_NAT = 1,		/* for container `addr` */
	FRAG_HOST = 2,		/* not bpfnat's: the host's stack */
};

struct frag_val {
	union {			/* the container, when FRAG_NAT */
		__be32 addr;
		__be32 addr6[4];
	};
	__u32 state;		/* enum frag_state */
	__u32 held;		/* later fragments in frag_stash, FRAG_PENDING */
	__u64 first_ns;		/* when the datagram was first seen */
};
_Static_assert(sizeof(struct frag_val) == 32, "frag_val layout");

/*
 * frag_stash: later fragments that came before their first, held (copied
 * whole) until it comes.  A bounded budget: FRAG_HOLD_PER_DGRAM per
 * datagram, FRAG_STASH_MAX in all, each for FRAG_HOLD_SECONDS at most.
 */
#ifndef FRAG_STASH_MAX
#define FRAG_STASH_MAX		256
#endif
#define FRAG_HOLD_PER_DGRAM	4
#define FRAG_HOLD_SECONDS	1
#define FRAG_STASH_BYTES	2048	/* an IP fragment of up to 2047 bytes */

struct frag_stash_key {
	struct frag_key dgram;
	__u32 index;		/* 0 .. FRAG_HOLD_PER_DGRAM - 1 */
};
_Static_assert(sizeof(struct frag_stash_key) == 44, "frag_stash_key layout");

struct frag_held {
	__u64 held_ns;
	__u32 len;		/* bytes of IP packet in data */
	__u32 pad;
	__u8 data[FRAG_STASH_BYTES];
};
_Static_assert(sizeof(struct frag_held) == 16 + FRAG_STASH_BYTES,
	       "frag_held layout");

/* Idle timeouts in seconds, indexed by ct_timeout_id. */
enum ct_timeout_id {
	TMO_TCP_SYN = 0,	/* handshake not finished */
	TMO_TCP_EST,
	TMO_TCP_FIN,		/* closing, time-wait */
	TMO_TCP_CLOSE,		/* after a reset */
	TMO_UDP_NEW,		/* never answered */
	TMO_UDP_EST,
	TMO_ICMP,
	TMO_MAX,
};

/* config[0]: what `bpfnat up` was told, read by every program. */
struct bpfnat_config {
	__u32 version;		/* BPFNAT_LAYOUT_VERSION */
	__u32 mode;		/* enum bpfnat_mode */
	__u32 uplink_ifindex;
	__be32 snat_addr;
	__be32 pool_addr;	/* network address of the container pool */
	__be32 pool_mask;
	__be32 gateway;		/* the pool's first address */
	__u16 port_lo;		/* SNAT port range, host byte order */
	__u16 port_hi;
	__u32 ct_max;
	__u32 timeout[TMO_MAX];	/* seconds */
	__u32 uplink_mtu;
	__u32 flags;		/* CFG_F_* */
	__be32 uplink_bcast;	/* broadcast of the SNAT address's subnet on
				 * the uplink; 0 if it has none there
				 */
	__u32 pool6_plen;	/* the IPv6 pool's prefix length */
	struct in6_key pool6;	/* its network address */
	struct in6_key gateway6; /* its first address */
	struct in6_key snat6;	/* the IPv6 SNAT address; all zeros: none,
				 * and IPv6 to the outside is answered
				 * "no route" (drop_no_nat66)
				 */
};
_Static_assert(sizeof(struct bpfnat_config) == 128, "bpfnat_config layout");

/* bpfnat_config.flags */
/* (1 << 0) is not used: which qdiscs are bpfnat's is in /run/bpfnat/qdiscs */
#define CFG_F_XDP_UPLINK	(1 << 1)	/* XDP mode: XDP takes the uplink */
#define CFG_F_XDP_UPLINK_ON	(1 << 2)	/* ... told --xdp-uplink on */
#define CFG_F_XDP_UPLINK_OFF	(1 << 3)	/* ... told --xdp-uplink off */
#define CFG_F_FILTER_EIF	(1 << 4)	/* --filtering
						 * endpoint-independent: any
						 * outside host may reach a
						 * live binding (RFC 4787
						 * REQ-8)
						 */

/*
 * Counters, one per outcome of a packet.  The list is the single source of
 * the enum and of the names `bpfnat stats` prints; drops start with DROP_.
 * New outcomes go at the end, so that a counter keeps its slot:
 *
 *   drop_no_config     from a container while no configuration is written
 *   drop_no_container  to a pool address no container has (the container
 *                      is told: ICMP host unreachable from the gateway)
 *   drop_broadcast     to 255.255.255.255 or the pool's broadcast address
 *   drop_multicast     to 224.0.0.0/4: never NATed out
 *   drop_unnated_leak  the uplink's guard: a pool source about to leave
 *                      un-NATed; stays 0 unless something is wrong
 *   drop_filtered      from the outside to a container's live binding,
 *                      by a host it never sent to (address-dependent
 *                      filtering, the default; RFC 4787 REQ-8)
 *   drop_no_nat66      IPv6 from a container that would leave by the
 *                      uplink while there is no IPv6 SNAT address (the
 *                      container is told: ICMPv6 unreachable)
 *   drop_multicast6    to an IPv6 multicast group beyond the link
 *                      (ff02::/16, neighbour discovery's, goes on to
 *                      the host): never NATed out
 *   drop_ipv6_ext_header  IPv6 to the outside whose next header is an
 *                      extension header NAT66 does not walk yet, or a
 *                      protocol it does not translate
 */
#define BPFNAT_STATS(X)							\
	X(FORWARD,		"forwarded")	/* container to container */ \
	X(SNAT,			"snat")		/* container to outside */ \
	X(REVERSE_NAT,		"reverse_nat")	/* outside to container,
						 * a SNAT flow's answer
						 */ \
	X(ARP_REPLY,		"arp_replied")	/* for another container */ \
	X(FRAG_HELD,		"frag_held")	/* until its first comes */ \
	X(TO_TC,		"xdp_to_tc")	/* left by XDP to tc */	\
	X(PASS,			"passed")	/* handed to the stack */ \
	X(DROP_TRUNCATED,	"drop_truncated")			\
	X(DROP_BAD_IHL,		"drop_bad_ihl")				\
	X(DROP_IP_OPTIONS,	"drop_ip_options")			\
	X(DROP_BAD_LENGTH,	"drop_bad_length")			\
	X(DROP_BAD_TCP_OFFSET,	"drop_bad_tcp_offset")			\
	X(DROP_BAD_UDP_LENGTH,	"drop_bad_udp_length")			\
	X(DROP_BAD_ICMP,	"drop_bad_icmp")			\
	X(DROP_ICMP_NO_FLOW,	"drop_icmp_no_flow")			\
	X(DROP_TTL,		"drop_ttl_exceeded")			\
	X(DROP_SPOOFED,		"drop_spoofed_source")			\
	X(DROP_CT_FULL,		"drop_ct_full")				\
	X(DROP_CT_RACE,		"drop_ct_race")				\
	X(DROP_NO_PORT,		"drop_no_free_port")			\
	X(DROP_FRAGMENT,	"drop_fragment")			\
	X(DROP_MTU,		"drop_mtu_exceeded")			\
	X(DROP_NO_ROUTE,	"drop_no_route")				\
	X(DROP_UNSUPPORTED,	"drop_unsupported")			\
	X(DROP_NO_CONFIG,	"drop_no_config")			\
	X(DROP_NO_CONTAINER,	"drop_no_container")			\
	X(DROP_BROADCAST,	"drop_broadcast")			\
	X(DROP_MULTICAST,	"drop_multicast")			\
	X(DROP_LEAK,		"drop_unnated_leak")			\
	X(DNAT,			"dnat")		/* outside to container,
						 * through a published port
						 */ \
	X(HAIRPIN,		"hairpin")	/* container to container,
						 * through a published port
						 */ \
	X(DROP_FILTERED,	"drop_filtered")				\
	X(MONITOR_LOST,		"monitor_lost")	/* not a packet: an event
						 * `bpfnat monitor`'s full
						 * ring had no room for
						 */ \
	X(ROUTED,		"routed")	/* container to or from an
						 * excluded network via
						 * the uplink, un-NATed
						 */ \
	X(FORWARD6,		"forwarded6")	/* container to container,
						 * IPv6
						 */ \
	X(DROP_NO_NAT66,	"drop_no_nat66")			\
	X(DROP_MULTICAST6,	"drop_multicast6")				\
	X(SNAT6,		"snat6")	/* container to outside,
						 * IPv6 (NAT66)
						 */ \
	X(REVERSE_NAT6,		"reverse_nat6")	/* outside to container,
						 * a NAT66 flow's answer
						 */ \
	X(DROP_IPV6_EXT,	"drop_ipv6_ext_header")

/*
 * The socket hooks' counters, in a per-CPU array of their own (sock_stats,
 * one __u64 per id), apart from the packet outcomes above, which are the
 * data path's: they count system calls, not packets.  `bpfnat stats`
 * prints them after those, a call as a packet, no bytes.  New ones go at
 * the end.
 */
#define BPFNAT_SOCK_STATS(X)						\
	X(CONNECT,	"sock_connect")	/* connect() to a published port,
					 * sent to its container
					 */				\
	X(SENDMSG,	"sock_sendmsg")	/* a datagram to one, the same */ \
	X(RECVMSG,	"sock_recvmsg")	/* an answer's source put back */ \
	X(GETPEERNAME,	"sock_getpeername") /* a peer's name put back */ \
	X(REV_REPLACED,	"sock_rev_replaced") /* a socket's slots all
					 * taken: the oldest forgotten
					 */				\
	X(REV_FAILED,	"sock_rev_failed") /* no storage for the socket:
					 * its answers show the container
					 */

#define BPFNAT_SOCK_STAT_ENUM(id, name) SOCK_STAT_##id,
enum sock_stat_id {
	BPFNAT_SOCK_STATS(BPFNAT_SOCK_STAT_ENUM)
	SOCK_STAT_MAX,
};
#undef BPFNAT_SOCK_STAT_ENUM

#define SOCK_STAT_SLOTS		16	/* room for counters to come */
_Static_assert(SOCK_STAT_MAX <= SOCK_STAT_SLOTS, "room for every counter");

/* How a packet was sent on; the unit tests' build records it. */
enum redirect_kind {
	REDIRECT_PEER = 1,	/* into a container's namespace */
	REDIRECT_EGRESS,	/* out of a device, MACs known */
	REDIRECT_NEIGH,		/* out, the kernel resolves the next hop */
	REDIRECT_CLONE,		/* a copy into a container's veth */
};

/* Outcomes after STAT_PASS are drops, but for those that came after the
 * drops began (a counter keeps its slot).
 */
#define STAT_LATE_NON_DROPS	((1ULL << STAT_DNAT) | (1ULL << STAT_HAIRPIN) | \
				 (1ULL << STAT_MONITOR_LOST) | \
				 (1ULL << STAT_ROUTED) | \
				 (1ULL << STAT_FORWARD6) | \
				 (1ULL << STAT_SNAT6) | \
				 (1ULL << STAT_REVERSE_NAT6))
#define STAT_IS_DROP(id)	((id) > STAT_PASS && \
				 !((1ULL << (id)) & STAT_LATE_NON_DROPS))

#define BPFNAT_STAT_ENUM(id, name) STAT_##id,
enum stat_id {
	BPFNAT_STATS(BPFNAT_STAT_ENUM)
	STAT_MAX,
};
#undef BPFNAT_STAT_ENUM

/*
 * stats is indexed by outcome, by hook and by family, each packet counted
 * once: key = outcome + STAT_XDP_BASE * xdp + STAT_IPV6_BASE * ipv6 (an
 * IPv6 frame, whether or not it could be parsed).  A counter's total is
 * the sum of its four keys.  Room is kept for outcomes to come, so that
 * the map keeps its size.
 */
#define STAT_SLOTS		64
#define STAT_XDP_BASE		STAT_SLOTS
#define STAT_IPV6_BASE		(2 * STAT_SLOTS)
#define STAT_KEYS		(4 * STAT_SLOTS)
_Static_assert(STAT_MAX <= STAT_SLOTS, "room for every outcome");

static inline __u32 stat_key(__u32 id, int xdp, int ipv6)
{
	return id + (xdp ? STAT_XDP_BASE : 0) + (ipv6 ? STAT_IPV6_BASE : 0);
}

/* stats value (per CPU). */
struct stat_val {
	__u64 packets;
	__u64 bytes;
};
_Static_assert(sizeof(struct stat_val) == 16, "stat_val layout");

/* The ct_flush program's input, in its context's cb[] (run by `ct flush`,
 * `ct del` and `ns del`); it returns how many flows it removed.
 */
struct ct_flush_args {
	__be32 addr;		/* only this container's flows; 0 for all */
	__u32 slot;		/* else just the flow in slot - 1, if ... */
	__u32 gen;		/* ... it is still this one (ct_flow.gen) */
	__u32 has_addr6;	/* with addr: and the IPv6 flows of the
				 * container whose address follows the
				 * Ethernet header of the packet the
				 * program is run on
				 */
};
_Static_assert(sizeof(struct ct_flush_args) == 16, "ct_flush_args layout");

/* ct_sweep[0]: the in-kernel expiry timer and where it stopped. */
struct ct_sweep {
	struct bpf_timer timer;
	__u32 cursor;		/* next flow slot to look at */
	__u32 pad;
	__u64 expired;		/* flows reclaimed so far */
	__u64 reclaimed;	/* dying slots whose keys a sweep or flush
				 * deleted at last (see CT_SLOT_DYING)
				 */
	__u64 port_frees;	/* source ports given back so far: a port
				 * search that found none free looks again
				 * (bpf/ct_port.h)
				 */
};
_Static_assert(sizeof(struct ct_sweep) == 48, "ct_sweep layout");

/*
 * `bpfnat monitor`: what the data path tells a listener through the events
 * ring buffer (bpf/monitor.h).  Nothing is written there unless a listener
 * holds a lease in monitor[0]: it renews it every second, so the events of
 * a monitor killed with -9 stop within MONITOR_LEASE_NS.
 */
#define MONITOR_RING_BYTES	(1U << 20)
#define MONITOR_LEASE_NS	3000000000ULL

enum monitor_event_type {
	MON_DROP = 1,		/* a packet dropped, under reason (stat_id) */
	MON_FLOW_NEW,		/* a flow created */
	MON_FLOW_DESTROY,	/* a flow removed, for reason (monitor_end) */
};

enum monitor_end {
	MON_END_EXPIRED,	/* idle past its timeout: the sweep */
	MON_END_REMOVED,	/* ct flush, ct del, ns del */
};

enum monitor_hook {
	MON_HOOK_TC,
	MON_HOOK_XDP,
	MON_HOOK_SWEEP,		/* no packet: the expiry timer or a flush */
};

struct monitor_event {
	__u64 time_ns;		/* bpf_ktime_get_ns(): CLOCK_MONOTONIC */
	__u8 type;		/* enum monitor_event_type */
	__u8 hook;		/* enum monitor_hook */
	__u8 kind;		/* flows: enum ct_kind */
	__u8 state;		/* flows: enum ct_state */
	__u32 reason;		/* drops: enum stat_id; ends: monitor_end */
	__u32 ifindex;		/* drops: where it came; flows: the
				 * container's veth (see `ct list`)
				 */
	__u32 len;		/* drops: bytes of the frame */
	struct ct_key tuple[2];	/* drops: [0] as parsed; flows: by ct_dir */
	__u64 packets[2];	/* destroys: the flow's counters */
	__u64 bytes[2];
};
_Static_assert(sizeof(struct monitor_event) == 136, "monitor_event layout");

/* monitor[0]: the listener's leases, 0 for none; written by it alone.
 * (What the full ring lost is counted in stats, as monitor_lost.)
 */
struct monitor_ctl {
	__u64 drops_until_ns;	/* bpf_ktime_get_ns() clock */
	__u64 flows_until_ns;
};
_Static_assert(sizeof(struct monitor_ctl) == 16, "monitor_ctl layout");

/*
 * Logic both sides need to agree on, kept next to the layouts it reads.
 */
#ifndef __always_inline
#define __always_inline inline __attribute__((always_inline))
#endif

/* Where a flow's port search starts (and its early drop looks). */
static __always_inline __u32 ct_hash(const struct ct_key *k)
{
	__u32 h = k->saddr * 0x9e3779b1u;

	h ^= k->daddr * 0x85ebca6bu;
	h ^= ((__u32)k->sport << 16 | k->dport) * 0xc2b2ae35u;
	/* the rest of IPv6 addresses: zeros for IPv4 */
	h ^= (k->saddr6[1] ^ k->saddr6[2] ^ k->saddr6[3]) * 0x27d4eb2fu;
	h ^= (k->daddr6[1] ^ k->daddr6[2] ^ k->daddr6[3]) * 0x165667b1u;
	h ^= h >> 15;
	return h ^ k->proto;
}

/* Which idle timeout applies to @f now. */
static __always_inline enum ct_timeout_id ct_timeout_of(const struct ct_flow *f)
{
	switch (f->tuple[CT_DIR_ORIG].proto) {
	case 6: /* IPPROTO_TCP */
		switch (f->state) {
		case CT_ESTABLISHED:
			return TMO_TCP_EST;
		case CT_FIN_WAIT:
		case CT_TIME_WAIT:
			return TMO_TCP_FIN;
		case CT_CLOSE:
			return TMO_TCP_CLOSE;
		default:
			return TMO_TCP_SYN;
		}
	case 17: /* IPPROTO_UDP */
		return f->flags & CT_F_REPLIED ? TMO_UDP_EST : TMO_UDP_NEW;
	default:
		return TMO_ICMP;
	}
}

#endif /* BPFNAT_H */
