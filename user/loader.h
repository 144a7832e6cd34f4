/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The data path in the kernel: `up` and `down`, and keeping a running
 * data path in step with its containers.  Every function here expects the
 * caller to hold the lock (lock.h).
 *
 * `up` runs in phases, each on what the one before it built:
 *
 *   plan      read what runs and what is asked; nothing changes yet
 *   load      the programs (and, from down, the maps) into the kernel,
 *             pinned in the staging directory, recorded as bpfnat's
 *   populate  the maps filled, the configuration last: no program runs
 *             before it has its configuration
 *   attach    the socket hooks on their cgroup (sock.h), then every
 *             device made to run the new programs: the uplink's guard
 *             first, then receivers before senders
 *   commit    the expiry timer, then the staging pins moved into place
 *             (the socket hooks' links before the programs), and last
 *             the links this up replaced detached
 *
 * A phase that fails, or a SIGINT or SIGTERM between two steps, rolls
 * everything back in one place: from down, nothing of the new data path
 * stays; on a running one, the old programs, configuration and exclusions
 * are put back on every device.  A command killed outright leaves its
 * programs recorded as bpfnat's and its pins in the staging directory:
 * the next `up` or `down` finds both and cleans up.
 */
#ifndef BPFNAT_LOADER_H
#define BPFNAT_LOADER_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"
#include "container.h"
#include "nl.h"
#include "pins.h"

int dp_up(struct nl *nl, struct up_opts *o);
int dp_down(struct nl *nl);

/* The pool of the running data path, or the default one. */
void dp_pool(struct pool *pool);
/* The same for the IPv6 pool. */
void dp_pool6(struct pool6 *pool6);

/* A container appeared or is going: keep the data path in step.  Both do
 * nothing when bpfnat is down.
 */
int dp_container_attach(struct nl *nl, const struct container *c);
int dp_container_detach(const struct container *c);

/*
 * What a killed `ns add` or `ns del` of @name left (its intent, see
 * container.h) removed, data path state included: 1 if there was such a
 * thing, 0 if not, or -errno after saying why.  dp_containers_recover()
 * does it for every intent there is.
 */
int dp_container_recover(struct nl *nl, const char *name);
void dp_containers_recover(struct nl *nl);

/* Devices with bpfnat's tc filter at ingress: fills @ifindex up to @max,
 * returns the count or -errno.
 */
int dp_attached(struct nl *nl, int *ifindex, size_t max);

#endif /* BPFNAT_LOADER_H */
