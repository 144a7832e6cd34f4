/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Named network namespaces, compatible with iproute2: a namespace NAME is a
 * bind mount of its nsfs file at /run/netns/NAME, so `ip netns exec NAME`
 * and `ip netns list` see bpfnat's containers.
 */
#ifndef BPFNAT_NETNS_H
#define BPFNAT_NETNS_H

#include <stdbool.h>

#define NETNS_RUN_DIR "/run/netns"

/* Container names: letters, digits, '_', '.', '-'; at most this long. */
#define NETNS_NAME_MAX 32

bool netns_name_valid(const char *name);
bool netns_exists(const char *name);

/*
 * Create namespace @name and return an fd for it (>= 0), or -errno.  The
 * calling process stays in the namespace it was in; -EEXIST if the name is
 * taken.
 */
int netns_add(const char *name);
/* Unmount and remove /run/netns/@name. */
int netns_del(const char *name);
/* An fd for namespace @name, or -errno. */
int netns_open(const char *name);

/*
 * Run in another namespace for a while: netns_enter() switches this
 * process to @fd and returns an fd for where it was, which netns_leave()
 * switches back to (and closes).
 */
int netns_enter(int fd);
int netns_leave(int saved);

#endif /* BPFNAT_NETNS_H */
