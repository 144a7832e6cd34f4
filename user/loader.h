/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The loader: bpfnat's programs and maps in the kernel.  `up` loads the
 * skeleton, reuses or creates the pinned maps under BPFNAT_PIN_DIR, pins
 * the programs and attaches them at tc ingress of the uplink and of every
 * container's host side; `down` undoes exactly that.  Everything else here
 * works on the pins of a running data path, so any later bpfnat command
 * (ns add, ct list, stats, ...) finds it without a daemon.
 */
#ifndef BPFNAT_LOADER_H
#define BPFNAT_LOADER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "bpfnat.h"
#include "container.h"
#include "nl.h"

/* up_opts.given: what the command line set.  On a running data path
 * everything else is kept as it runs, so `up` again changes nothing.
 */
enum {
	GIVEN_UPLINK = 1 << 0,
	GIVEN_SNAT = 1 << 1,
	GIVEN_POOL = 1 << 2,
	GIVEN_PORTS = 1 << 3,
	GIVEN_EXCLUDE = 1 << 4,
	GIVEN_MODE = 1 << 5,
	GIVEN_TIMEOUT = 1 << 6,		/* << enum ct_timeout_id */
};

struct up_opts {
	unsigned int given;		/* GIVEN_* */
	const char *uplink;		/* NULL: the default route's device */
	uint32_t snat_addr;		/* 0: the uplink's first address */
	struct pool pool;
	uint16_t port_lo, port_hi;
	uint32_t ct_max;		/* 0: the running value, or default */
	enum bpfnat_mode mode;
	struct exclude_key exclude[EXCLUDE_MAX];
	unsigned int n_exclude;
	uint32_t timeout[TMO_MAX];	/* seconds */
};

/* Defaults of DESIGN.md and of the NAT RFCs' minimum timeouts.  The port
 * range is the one below the host's ephemeral ports (see dp_up()).
 */
void up_opts_default(struct up_opts *o);

int dp_up(struct nl *nl, struct up_opts *o);
int dp_down(struct nl *nl);

/* Is a data path pinned?  Fills @cfg when it is and @cfg is not NULL. */
bool dp_running(struct bpfnat_config *cfg);
/* Is program @id one of bpfnat's: pinned under BPFNAT_PIN_DIR, or just
 * loaded by this `up`?  Filters and XDP programs that are not are never
 * replaced or removed, whatever their names.
 */
bool dp_prog_is_ours(__u32 id);

/* An fd for pinned object @name (a map or program), or -errno. */
int dp_pin_open(const char *name);

/* A container appeared or is going: keep the data path in step.  Both do
 * nothing when bpfnat is down.
 */
int dp_container_attach(struct nl *nl, const struct container *c);
int dp_container_detach(const struct container *c);

/* Devices with bpfnat's tc filter: fills @ifindex up to @max, returns the
 * count or -errno.
 */
int dp_attached(struct nl *nl, int *ifindex, size_t max);

#endif /* BPFNAT_LOADER_H */
