/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * CNI attachments: containers that a runtime made and handed to the CNI
 * plugin, known by (CNI_CONTAINERID, CNI_IFNAME) in a namespace of the
 * runtime's (/proc/PID/ns/net, /run/netns/X, ...), not a named namespace
 * of bpfnat's.
 *
 * To the rest of bpfnat such a container is a container like any other:
 * its host side carries the alias "bpfnat:NAME:ADDRESS/PREFIX" (see
 * container.h), so `ns list`, `port add NAME`, `up` and the data path see
 * it.  Its NAME is the container ID's first characters and the interface
 * name, "0123456789ab-eth0"; a longer part of the ID when that is taken.
 * What the kernel does not hold lives in a record, ATTACH_DIR/NAME, a
 * JSON object: the container ID, interface, namespace path and network
 * name, the host side's name and the address.  The plugin writes it
 * before it changes anything (it is also the attachment's intent) and
 * removes it last, on DEL or GC; while it exists, its address is taken.
 */
#ifndef BPFNAT_ATTACH_H
#define BPFNAT_ATTACH_H

#include <stddef.h>
#include <stdint.h>
#include <net/if.h>
#include <netinet/in.h>

#include "lock.h"
#include "netns.h"

#define ATTACH_DIR BPFNAT_RUN_DIR "/cni"

/* Longer container IDs, paths and network names are refused. */
#define ATTACH_ID_MAX		128
#define ATTACH_NETNS_MAX	256
#define ATTACH_NETWORK_MAX	128

struct attachment {
	char name[NETNS_NAME_MAX + 1];		/* as a container's name */
	char container_id[ATTACH_ID_MAX + 1];
	char ifname[IF_NAMESIZE];		/* inside the container */
	char netns[ATTACH_NETNS_MAX];		/* "" when not known */
	char network[ATTACH_NETWORK_MAX + 1];
	char host_if[IF_NAMESIZE];		/* "" before the veth */
	uint32_t addr;				/* 0 before it has one */
	int plen;
	struct in6_addr addr6;
	int plen6;				/* 0: no IPv6 address */
};

/*
 * The @i-th name that attachment (@id, @ifname) may have, into @name:
 * 0, or -ENOENT when there are no more (@i too large).
 */
int attachment_name(const char *id, const char *ifname, int i, char *name);

/* The record of (@id, @ifname): 0 and @a, or -ENOENT. */
int attachment_find(const char *id, const char *ifname,
		    struct attachment *a);

/* The record named @name: 0 and @a, -ENOENT, or another -errno. */
int attachment_read(const char *name, struct attachment *a);

/* Write @a's record, whole or not at all: 0 or -errno. */
int attachment_write(const struct attachment *a);
void attachment_remove(const char *name);

/* Every record there is, in a malloc'd array: 0 or -errno. */
int attachment_list(struct attachment **out, size_t *count);

#endif /* BPFNAT_ATTACH_H */
