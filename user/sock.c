// SPDX-License-Identifier: GPL-2.0-only
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <linux/magic.h>
#include <bpf/bpf.h>

#include "bpfnat.h"
#include "log.h"
#include "pins.h"
#include "sock.h"

#ifndef SO_NETNS_COOKIE
#define SO_NETNS_COOKIE		71
#endif

const struct sock_hook sock_hooks[SOCK_HOOKS] = {
	[SOCK_CONNECT4] = { "connect4", PIN_PROG_CONNECT4, PIN_LINK_CONNECT4,
			    BPF_CGROUP_INET4_CONNECT },
	[SOCK_SENDMSG4] = { "sendmsg4", PIN_PROG_SENDMSG4, PIN_LINK_SENDMSG4,
			    BPF_CGROUP_UDP4_SENDMSG },
	[SOCK_RECVMSG4] = { "recvmsg4", PIN_PROG_RECVMSG4, PIN_LINK_RECVMSG4,
			    BPF_CGROUP_UDP4_RECVMSG },
	[SOCK_GETPEERNAME4] = { "getpeername4", PIN_PROG_GETPEERNAME4,
				PIN_LINK_GETPEERNAME4,
				BPF_CGROUP_INET4_GETPEERNAME },
	[SOCK_CONNECT6] = { "connect6", PIN_PROG_CONNECT6, PIN_LINK_CONNECT6,
			    BPF_CGROUP_INET6_CONNECT },
	[SOCK_SENDMSG6] = { "sendmsg6", PIN_PROG_SENDMSG6, PIN_LINK_SENDMSG6,
			    BPF_CGROUP_UDP6_SENDMSG },
	[SOCK_RECVMSG6] = { "recvmsg6", PIN_PROG_RECVMSG6, PIN_LINK_RECVMSG6,
			    BPF_CGROUP_UDP6_RECVMSG },
	[SOCK_GETPEERNAME6] = { "getpeername6", PIN_PROG_GETPEERNAME6,
				PIN_LINK_GETPEERNAME6,
				BPF_CGROUP_INET6_GETPEERNAME },
};

static int pin_open_at(const char *dir, const char *name)
{
	char path[PATH_MAX];
	int fd;

	pin_path(dir, name, path, sizeof(path));
	fd = bpf_obj_get(path);
	return fd < 0 ? -errno : fd;
}

/* The cgroup a cgroup link is on: its id, 0 if the cgroup is gone. */
static __u64 link_cgroup_id(int fd)
{
	struct bpf_link_info info = {};
	__u32 len = sizeof(info);

	if (bpf_obj_get_info_by_fd(fd, &info, &len) ||
	    info.type != BPF_LINK_TYPE_CGROUP)
		return 0;
	return info.cgroup.cgroup_id;
}

/*
 * CGROUP_FILE: a line "ID PATH" for each cgroup the hooks may be on: one,
 * or two while an up moves them (the file is written before the links
 * move and pruned after), so that whatever a kill leaves, the links'
 * cgroup is found in it by its id.
 */
static int cgroup_file_lookup(__u64 id, char *path, size_t size)
{
	char line[PATH_MAX + 32];
	unsigned long long v;
	int at, err = -ENOENT;
	size_t len;
	FILE *f;

	f = fopen(CGROUP_FILE, "r");
	if (!f)
		return -errno;
	while (err && fgets(line, sizeof(line), f)) {
		at = 0;
		if (sscanf(line, "%llu %n", &v, &at) != 1 || !at ||
		    (id && v != id))
			continue;
		len = strcspn(line + at, "\n");
		if (len >= size)
			continue;
		memcpy(path, line + at, len);
		path[len] = '\0';
		err = 0;
	}
	fclose(f);
	return err;
}

/* The file holds @n cgroups (those with an id and a path), or none. */
static int cgroup_file_write(int n, const __u64 *id, const char *const *path)
{
	char tmp[] = CGROUP_FILE "_new";
	int err = 0, lines = 0;
	FILE *f;

	f = fopen(tmp, "w");
	if (!f)
		return -errno;
	for (int i = 0; i < n; i++) {
		if (!id[i] || !path[i][0] || (i && id[i] == id[0]))
			continue;
		if (fprintf(f, "%llu %s\n", (unsigned long long)id[i],
			    path[i]) < 0)
			err = -EIO;
		lines++;
	}
	if (fclose(f) && !err)
		err = -errno;
	if (!err && !lines && unlink(CGROUP_FILE) && errno != ENOENT)
		err = -errno;
	if (!err && lines && rename(tmp, CGROUP_FILE))
		err = -errno;
	unlink(tmp);
	return err;
}

void sock_running_read(struct sock_running *r)
{
	__u64 cg;

	memset(r, 0, sizeof(*r));
	r->whole = true;
	for (int i = 0; i < SOCK_HOOKS; i++) {
		r->link[i] = dp_pin_open(sock_hooks[i].link_pin);
		if (r->link[i] < 0) {
			r->link[i] = -1;
			r->whole = false;
			continue;
		}
		cg = link_cgroup_id(r->link[i]);
		if (r->n++ && cg != r->cgroup_id)
			r->whole = false;	/* a move a kill cut short */
		if (!r->cgroup_id)
			r->cgroup_id = cg;
	}
	/* the path, as recorded for the links' cgroup (gone: the first) */
	if (r->n && cgroup_file_lookup(r->cgroup_id, r->path, sizeof(r->path)))
		r->path[0] = '\0';
}

void sock_running_close(struct sock_running *r)
{
	for (int i = 0; i < SOCK_HOOKS; i++) {
		if (r->link[i] >= 0)
			close(r->link[i]);
		r->link[i] = -1;
	}
}

int cgroup_resolve(const char *path, char *canon, __u64 *id)
{
	struct file_handle *fh;
	struct statfs st;
	int mount_id, fd, err = 0;

	if (!realpath(path, canon))
		return -errno;
	fd = open(canon, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstatfs(fd, &st)) {
		err = -errno;
	} else if (st.f_type != CGROUP2_SUPER_MAGIC) {
		err = -ENOTDIR;
	} else {
		/* a cgroup's id is its kernfs node's, the file handle's */
		fh = calloc(1, sizeof(*fh) + sizeof(__u64));
		if (!fh) {
			err = -ENOMEM;
		} else {
			fh->handle_bytes = sizeof(__u64);
			if (name_to_handle_at(fd, "", fh, &mount_id,
					      AT_EMPTY_PATH))
				err = -errno;
			else
				memcpy(id, fh->f_handle, sizeof(*id));
			free(fh);
		}
	}
	close(fd);
	return err;
}

int netns_cookie(__u64 *cookie)
{
	socklen_t len = sizeof(*cookie);
	int fd, err = 0;

	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (getsockopt(fd, SOL_SOCKET, SO_NETNS_COOKIE, cookie, &len))
		err = -errno;
	close(fd);
	return err;
}

void sock_up_init(struct sock_up *s)
{
	memset(s, 0, sizeof(*s));
	s->cgroup_fd = -1;
	for (int i = 0; i < SOCK_HOOKS; i++)
		s->old.link[i] = -1;
}

void sock_up_close(struct sock_up *s)
{
	for (int i = 0; i < SOCK_HOOKS; i++) {
		/* closes the fd: a pinned link stays attached */
		bpf_link__destroy(s->link[i]);
		s->link[i] = NULL;
	}
	if (s->cgroup_fd >= 0)
		close(s->cgroup_fd);
	s->cgroup_fd = -1;
	sock_running_close(&s->old);
}

int sock_plan(struct sock_up *s, const char *cgroup, bool given, bool fresh)
{
	int err;

	if (!fresh)
		sock_running_read(&s->old);
	if (!given) {
		if (!s->old.n)
			return 0;		/* off, and it stays off */
		if (!s->old.cgroup_id) {
			pr_warn("note: the cgroup of the socket hooks%s%s is "
				"gone: they are detached",
				s->old.path[0] ? " " : "", s->old.path);
			return 0;
		}
		if (s->old.whole) {
			s->plan = SOCK_KEEP;
			s->cgroup_id = s->old.cgroup_id;
			snprintf(s->path, sizeof(s->path), "%s", s->old.path);
			goto cookie;
		}
		/* a hook missing, or not where the others are (a killed
		 * up): all of them attached anew
		 */
		if (!s->old.path[0]) {
			pr_warn("up: the socket hooks' cgroup (id %llu) is not "
				"known by its path: give --cgroup PATH or "
				"--cgroup none",
				(unsigned long long)s->old.cgroup_id);
			return -ENOENT;
		}
		cgroup = s->old.path;
	}
	if (!cgroup)
		return 0;			/* --cgroup none */
	err = cgroup_resolve(cgroup, s->path, &s->cgroup_id);
	if (err) {
		pr_warn("up: --cgroup %s: %s", cgroup,
			err == -ENOTDIR ? "not a cgroup2 directory" :
					  strerror(-err));
		return err;
	}
	if (s->old.whole && s->old.cgroup_id == s->cgroup_id) {
		s->plan = SOCK_KEEP;
		goto cookie;
	}
	s->cgroup_fd = open(s->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (s->cgroup_fd < 0) {
		err = -errno;
		pr_warn("up: --cgroup %s: %s", s->path, strerror(-err));
		return err;
	}
	s->plan = SOCK_MOVE;
cookie:
	err = netns_cookie(&s->netns_cookie);
	if (err) {
		pr_warn("up: the network namespace's cookie (SO_NETNS_COOKIE, "
			"Linux 5.14): %s", strerror(-err));
		return err;
	}
	return 0;
}

/* A set of the host's addresses of one family, as the map's keys. */
struct addr_set {
	uint8_t v[HOST_ADDRS_MAX][16];
	size_t n, dropped;
	size_t size;		/* of a key: 4, or 16 for IPv6 */
};

static bool set_has(const struct addr_set *set, const void *addr)
{
	for (size_t i = 0; i < set->n; i++)
		if (!memcmp(set->v[i], addr, set->size))
			return true;
	return false;
}

static void set_add(struct addr_set *set, const void *addr)
{
	if (set_has(set, addr))
		return;		/* the gateway, on every container's veth */
	if (set->n < HOST_ADDRS_MAX)
		memcpy(set->v[set->n++], addr, set->size);
	else
		set->dropped++;
}

static int addr_note(int ifindex, uint32_t addr, void *data)
{
	(void)ifindex;
	set_add(data, &addr);
	return 0;
}

static int addr6_note(int ifindex, const struct in6_addr *addr, void *data)
{
	(void)ifindex;
	set_add(data, addr);
	return 0;
}

/* Map @fd's keys made @set's, exactly: the addresses there are first,
 * then the ones gone out.
 */
static int addr_set_sync(int fd, const struct addr_set *set)
{
	uint8_t key[16], next[16];
	__u8 one = 1;
	bool first = true;
	int err = 0;

	for (size_t i = 0; !err && i < set->n; i++)
		if (bpf_map_update_elem(fd, set->v[i], &one, 0))
			err = -errno;
	while (!err && !bpf_map_get_next_key(fd, first ? NULL : key, next)) {
		memcpy(key, next, set->size);
		first = false;
		if (!set_has(set, key)) {
			bpf_map_delete_elem(fd, key);
			first = true;
		}
	}
	if (!err && set->dropped)
		pr_warn("note: the host has more than %d IPv%d addresses: "
			"%zu of them are not taken for published ports",
			HOST_ADDRS_MAX, set->size == 4 ? 4 : 6, set->dropped);
	return err;
}

int host_addrs_sync(int fd, int fd6, struct nl *nl)
{
	struct addr_set *set;
	int err;

	set = calloc(1, sizeof(*set));
	if (!set)
		return -ENOMEM;
	set->size = 4;
	err = nl_addr_dump(nl, addr_note, set) ?: addr_set_sync(fd, set);
	if (!err) {
		memset(set, 0, sizeof(*set));
		set->size = 16;
		err = nl_addr6_dump(nl, addr6_note, set) ?:
		      addr_set_sync(fd6, set);
	}
	free(set);
	return err;
}

int sock_attach(struct sock_up *s, struct bpf_program *const prog[SOCK_HOOKS])
{
	int err, fd;

	if (s->plan == SOCK_OFF)
		return 0;
	for (int i = 0; i < SOCK_HOOKS; i++) {
		const struct sock_hook *h = &sock_hooks[i];

		if (s->plan == SOCK_KEEP) {
			/* one step: the hook never runs nothing */
			if (bpf_link_update(s->old.link[i],
					    bpf_program__fd(prog[i]), NULL)) {
				err = -errno;
				pr_warn("up: update the %s hook on %s: %s",
					h->name,
					s->path[0] ? s->path : "its cgroup",
					strerror(-err));
				return err;
			}
			s->updated[i] = true;
			continue;
		}
		s->link[i] = bpf_program__attach_cgroup(prog[i], s->cgroup_fd);
		if (!s->link[i]) {
			err = -errno;
			pr_warn("up: attach the %s hook to %s: %s", h->name,
				s->path, strerror(-err));
			return err;
		}
		/* pinned at once: a killed up leaves it for the next */
		fd = bpf_link__fd(s->link[i]);
		err = pin_fd(fd, PIN_STAGING_DIR, h->link_pin);
		if (err)
			return err;
	}
	return 0;
}

int sock_commit(struct sock_up *s, bool fresh)
{
	const __u64 id[2] = { s->cgroup_id, s->old.cgroup_id };
	const char *const path[2] = { s->plan == SOCK_OFF ? "" : s->path,
				      s->old.path };
	int err;

	/* both, until sock_finish() */
	err = cgroup_file_write(2, id, path);
	if (err) {
		pr_warn("up: write %s: %s", CGROUP_FILE, strerror(-err));
		return err;
	}
	s->file_written = true;
	if (fresh || s->plan != SOCK_MOVE)
		return 0;
	s->committed = true;
	for (int i = 0; i < SOCK_HOOKS; i++) {
		err = pin_commit(sock_hooks[i].link_pin);
		if (err)
			return err;
	}
	return 0;
}

void sock_finish(struct sock_up *s)
{
	const char *what = s->old.path[0] ? s->old.path : "their cgroup";
	const char *path = s->plan == SOCK_OFF ? "" : s->path;
	int err;

	err = cgroup_file_write(1, &s->cgroup_id, &path);
	if (err)
		pr_warn("up: write %s: %s", CGROUP_FILE, strerror(-err));
	if (s->plan == SOCK_KEEP)
		return;
	for (int i = 0; i < SOCK_HOOKS; i++) {
		if (s->old.link[i] < 0)
			continue;
		/* unpinned first: killed in between, the link goes with
		 * this process's fd
		 */
		if (s->plan == SOCK_OFF)
			pin_unlink(BPFNAT_PIN_DIR, sock_hooks[i].link_pin);
		if (bpf_link_detach(s->old.link[i]))
			pr_warn("up: detach the old %s hook from %s: %s",
				sock_hooks[i].name, what, strerror(errno));
	}
	if (s->old.n)
		pr_info("up: socket hooks off %s", what);
}

int sock_rollback(struct sock_up *s, const int old_prog[SOCK_HOOKS])
{
	int err = 0, ret;

	for (int i = 0; i < SOCK_HOOKS; i++) {
		if (s->updated[i] &&
		    bpf_link_update(s->old.link[i], old_prog[i], NULL)) {
			err = err ?: -errno;
			pr_warn("up: put the old %s hook back: %s",
				sock_hooks[i].name, strerror(errno));
		}
		s->updated[i] = false;
		if (s->link[i] && bpf_link__detach(s->link[i])) {
			err = err ?: -errno;
			pr_warn("up: detach the new %s hook: %s",
				sock_hooks[i].name, strerror(errno));
		}
		/* the old link's pin, where a commit moved the new one */
		if (!s->committed)
			continue;
		if (s->old.link[i] >= 0) {
			ret = pin_fd(s->old.link[i], BPFNAT_PIN_DIR,
				     sock_hooks[i].link_pin);
			err = err ?: ret;
		} else {
			pin_unlink(BPFNAT_PIN_DIR, sock_hooks[i].link_pin);
		}
	}
	if (s->file_written) {
		const char *path = s->old.path;

		ret = cgroup_file_write(1, &s->old.cgroup_id, &path);
		err = err ?: ret;
	}
	return err;
}

int sock_detach_pinned(const char *dir)
{
	int fd, err = 0;

	for (int i = 0; i < SOCK_HOOKS; i++) {
		fd = pin_open_at(dir, sock_hooks[i].link_pin);
		if (fd < 0)
			continue;
		if (bpf_link_detach(fd)) {
			err = err ?: -errno;
			pr_warn("detach the %s hook (%s/%s): %s",
				sock_hooks[i].name, dir, sock_hooks[i].link_pin,
				strerror(errno));
		}
		close(fd);
	}
	return err;
}

int sock_down(void)
{
	int err, ret;

	err = sock_detach_pinned(BPFNAT_PIN_DIR);
	ret = sock_detach_pinned(PIN_STAGING_DIR);
	err = err ?: ret;
	if (unlink(CGROUP_FILE) && errno != ENOENT)
		err = err ?: -errno;
	return err;
}
