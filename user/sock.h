/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Host-local access to published ports: the cgroup socket hooks of
 * bpf/sock.h, attached by `up --cgroup PATH` to that cgroup (a cgroup2
 * directory) with one bpf_link per hook, pinned beside the programs, so
 * that the attachment outlives the command.  CGROUP_FILE records the
 * cgroup's id and path, for `status` and the next `up`; the links are
 * what is attached, and the file is believed only while its id is theirs.
 *
 * In the phases of `up` (loader.h):
 *
 *   plan      what the hooks are to become: off; kept on the cgroup they
 *             run on (the links are updated to the new programs in place,
 *             one atomic step each: host-local access never stops); or
 *             moved to a cgroup (new links, pinned in the staging
 *             directory as they are made)
 *   attach    that done
 *   commit    CGROUP_FILE written and the new links' pins moved into
 *             place, before the programs' and the configuration's
 *   finish    after the commit: the links that were replaced detached
 *
 * and one rollback: links updated back to the old programs, new links
 * detached, the old pins and CGROUP_FILE put back.  Without --cgroup, a
 * first `up` attaches nothing and a later one keeps what runs; `--cgroup
 * none` detaches.  Nothing here ever picks a cgroup by itself.
 */
#ifndef BPFNAT_SOCK_H
#define BPFNAT_SOCK_H

#include <limits.h>
#include <stdbool.h>
#include <linux/bpf.h>
#include <bpf/libbpf.h>

#include "lock.h"
#include "nl.h"

#define CGROUP_FILE		BPFNAT_RUN_DIR "/cgroup"

enum sock_hook_id {
	SOCK_CONNECT4,
	SOCK_SENDMSG4,
	SOCK_RECVMSG4,
	SOCK_GETPEERNAME4,
	SOCK_CONNECT6,
	SOCK_SENDMSG6,
	SOCK_RECVMSG6,
	SOCK_GETPEERNAME6,
	SOCK_HOOKS,
};

struct sock_hook {
	const char *name;		/* as status says it */
	const char *prog_pin;
	const char *link_pin;
	enum bpf_attach_type type;
};
extern const struct sock_hook sock_hooks[SOCK_HOOKS];

/* The running hooks: their pinned links and the cgroup they are on. */
struct sock_running {
	int link[SOCK_HOOKS];		/* -1: none */
	int n;				/* links pinned */
	bool whole;			/* every hook, all on one cgroup */
	__u64 cgroup_id;		/* 0: none, or the cgroup is gone */
	char path[PATH_MAX];		/* "": not known */
};

/* Read the running hooks; never fails (what cannot be read is not). */
void sock_running_read(struct sock_running *r);
void sock_running_close(struct sock_running *r);

enum sock_plan {
	SOCK_OFF,		/* no hook attached after this up */
	SOCK_KEEP,		/* the running links, updated in place */
	SOCK_MOVE,		/* new links on cgroup_fd */
};

/* One `up`'s part in the hooks. */
struct sock_up {
	enum sock_plan plan;
	struct sock_running old;
	__u64 netns_cookie;		/* the host's network namespace */
	int cgroup_fd;			/* SOCK_MOVE: where to */
	__u64 cgroup_id;
	char path[PATH_MAX];		/* where the hooks are after commit */
	struct bpf_link *link[SOCK_HOOKS];	/* SOCK_MOVE: the new ones */
	bool updated[SOCK_HOOKS];	/* SOCK_KEEP: running new programs */
	bool file_written, committed;
};

void sock_up_init(struct sock_up *s);
void sock_up_close(struct sock_up *s);

/*
 * What the hooks become: @cgroup given (@given) is a path, or NULL for
 * none; not given, what runs is kept (nothing on a @fresh up).  Says why
 * when it fails (a path that is no cgroup2 directory: -ENOTDIR).
 */
int sock_plan(struct sock_up *s, const char *cgroup, bool given,
	      bool fresh);

/* The host's own addresses into maps @fd (IPv4's) and @fd6 (IPv6's),
 * exactly.
 */
int host_addrs_sync(int fd, int fd6, struct nl *nl);

/* The hooks made to run programs @prog (the new generation's); new links
 * are pinned in PIN_STAGING_DIR.
 */
int sock_attach(struct sock_up *s, struct bpf_program *const prog[SOCK_HOOKS]);

/* Before the programs' pins move (@fresh: the staging directory moves
 * whole afterwards, the links with it).
 */
int sock_commit(struct sock_up *s, bool fresh);

/* After the commit: what this up replaced, detached (best effort). */
void sock_finish(struct sock_up *s);

/* Back to what ran, programs @old_prog; 0, or the first error. */
int sock_rollback(struct sock_up *s, const int old_prog[SOCK_HOOKS]);

/* Every link pinned in @dir detached (before its pins go). */
int sock_detach_pinned(const char *dir);

/* down: every hook detached, CGROUP_FILE gone. */
int sock_down(void);

/* The cookie of this process's network namespace (SO_NETNS_COOKIE). */
int netns_cookie(__u64 *cookie);

/* Is a path a cgroup2 directory?  Fills its canonical path and id. */
int cgroup_resolve(const char *path, char *canon, __u64 *id);

#endif /* BPFNAT_SOCK_H */
