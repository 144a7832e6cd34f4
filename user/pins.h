/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Where the kernel keeps bpfnat's objects between commands, and which
 * programs are bpfnat's.
 *
 * A running data path is its pins under BPFNAT_PIN_DIR: the maps, the
 * programs, and last the config map, whose version says "running".  An
 * `up` builds what is new under PIN_STAGING_DIR (every map on a first
 * `up`, the programs always) and moves it into place only once every
 * device runs it: its commit.  A staging directory that a command finds
 * when it takes the lock was left by an `up` that was killed; the next
 * `up` or `down` removes it.
 *
 * A program is bpfnat's when bpfnat loaded it: its id is written to
 * PROGS_FILE before it is attached anywhere, so a program attached by a
 * command that was killed at any point is still known as bpfnat's, and
 * `up` and `down` replace or remove it.  Every other program is foreign
 * and never touched, whatever its name.
 */
#ifndef BPFNAT_PINS_H
#define BPFNAT_PINS_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

#include "bpfnat.h"
#include "lock.h"

#define PIN_STAGING_DIR		BPFNAT_PIN_DIR "_staging"
#define PROGS_FILE		BPFNAT_RUN_DIR "/programs"

/* bpffs mounted at /sys/fs/bpf (mounted if it is not), and @dir in it. */
int bpffs_ready(void);
int pin_dir_make(const char *dir);

void pin_path(const char *dir, const char *name, char *path, size_t size);

/* An fd for the running data path's object @name, or -errno. */
int dp_pin_open(const char *name);

/*
 * The running data path's configuration: 0 and @cfg; -ENOENT if none
 * runs; -EPROTO if one of another layout runs (@cfg->version says which);
 * another -errno if its pin cannot be read.
 */
int dp_config(struct bpfnat_config *cfg);

/* Does a data path of this layout run?  Fills @cfg (if not NULL). */
bool dp_running(struct bpfnat_config *cfg);

/* Remove every pin under @dir, and @dir; or just @dir/@name. */
void pins_remove(const char *dir);
void pin_unlink(const char *dir, const char *name);

/* Pin @fd (a program) as @dir/@name, replacing an older pin in one step. */
int pin_fd(int fd, const char *dir, const char *name);

/* Move @name from the staging directory into the running data path's,
 * replacing what was there in one step.
 */
int pin_commit(const char *name);

/* Read who is bpfnat's (PROGS_FILE and the pins) now, before anything is
 * re-pinned or removed; dp_prog_is_ours() answers from that.
 */
void progs_learn(void);

/* Does PROGS_FILE name programs the running data path has not pinned,
 * which a killed or failed command may have left attached?
 */
bool progs_stray(void);

/* Is program @id bpfnat's? */
bool dp_prog_is_ours(__u32 id);

/* Record program @fd as bpfnat's, in PROGS_FILE, before it is attached. */
int prog_own(int fd);

/* After a commit or a down: PROGS_FILE holds the pinned programs alone,
 * since nothing else of bpfnat's runs any more.
 */
void progs_forget_unpinned(void);

/* The id of program @fd, or 0. */
__u32 prog_fd_id(int fd);

#endif /* BPFNAT_PINS_H */
