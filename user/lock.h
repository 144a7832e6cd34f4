/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The one lock.  Every command that changes state (up, down, ns add/del,
 * ct flush, ...) holds an exclusive flock(2) on BPFNAT_LOCK_FILE for its
 * whole run, so commands started together run one after the other and
 * each sees the state the one before it left.  The kernel drops the lock
 * when its holder dies, however it dies, so a lock is never stale; what a
 * killed holder left half done is recognised by whoever takes the lock
 * next (see the intents in container.h, the staging pins in pins.h).
 * Reading commands (status, list, stats) do not take it.
 *
 * While the lock is held SIGINT, SIGTERM, SIGHUP and SIGQUIT are held back:
 * a command is never stopped between two steps that belong together.  A
 * long one (up) asks lock_interrupted() between its phases and rolls back.
 */
#ifndef BPFNAT_LOCK_H
#define BPFNAT_LOCK_H

#include <stdbool.h>

/* bpfnat's run-time files, beside the named namespaces of /run/netns. */
#define BPFNAT_RUN_DIR		"/run/bpfnat"
#define BPFNAT_LOCK_FILE	BPFNAT_RUN_DIR "/lock"

/* How long a command waits for another to finish before it gives up;
 * the environment's BPFNAT_LOCK_WAIT (seconds, 1 to 3600) says otherwise.
 */
#define LOCK_WAIT_SECONDS	300

/*
 * Take the lock for command @what (as error messages name it), waiting for
 * the holder to finish; then hold the signals back.  Returns 0, or -errno
 * after saying why on stderr.  Released when the process exits; a later
 * command of the same process (a batch) finds it taken already.
 */
int lock_take(const char *what);

/* Hold the signals back again (@hold) or let them through, while the lock
 * is held: a batch lets them through while it waits for its next line.
 */
void lock_signals_hold(bool hold);

/* Was the command asked to stop (a held-back signal is pending)?  Its
 * name for messages, or NULL.
 */
const char *lock_interrupted(void);

#endif /* BPFNAT_LOCK_H */
