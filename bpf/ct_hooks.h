/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Deleting conntrack keys, and what the unit tests' build replaces of it
 * (tests/unit/bpfnat_test.bpf.c defines these first): in bpfnat itself
 * the race counter is nothing and the delete is the plain one.
 */
#ifndef BPFNAT_CT_HOOKS_H
#define BPFNAT_CT_HOOKS_H

#include "maps.h"

/* Counts the races of ct.h as they happen (one CPU meeting what another
 * did meanwhile).
 */
#ifndef ct_race_hook
#define ct_race_hook(what)	do { } while (0)
#endif

/* Makes chosen deletes fail, as a bucket lock held by a program this one
 * interrupted would (-EBUSY).
 */
#ifndef ct_index_delete
#define ct_index_delete(key)	bpf_map_delete_elem(&ct_index, (key))
#endif

/* Runs when a port search found no free port, before that is cached:
 * where the unit tests make another CPU give a port back.
 */
#ifndef ct_port_search_hook
#define ct_port_search_hook()	do { } while (0)
#endif

/* Did a delete from ct_index leave the key out of it? */
static __always_inline bool ct_key_gone(long err)
{
	/* (int): on 6.1 map updates and deletes return an int */
	return !err || (int)err == -ENOENT;
}

#endif /* BPFNAT_CT_HOOKS_H */
