// SPDX-License-Identifier: GPL-2.0-only
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <linux/magic.h>
#include <bpf/bpf.h>

#include "log.h"
#include "pins.h"

#define BPFFS_ROOT "/sys/fs/bpf"

/* Every program pin bpfnat makes. */
static const char *const prog_pins[] = {
	PIN_PROG_CONTAINER,	PIN_PROG_UPLINK,	PIN_PROG_GUARD,
	PIN_PROG_FLUSH,		PIN_PROG_XDP_CONTAINER,	PIN_PROG_XDP_UPLINK,
	PIN_PROG_XDP_PASS,	PIN_PROG_CONNECT4,	PIN_PROG_SENDMSG4,
	PIN_PROG_RECVMSG4,	PIN_PROG_GETPEERNAME4,	PIN_PROG_CONNECT6,
	PIN_PROG_SENDMSG6,	PIN_PROG_RECVMSG6,	PIN_PROG_GETPEERNAME6,
};
#define N_PROG_PINS (sizeof(prog_pins) / sizeof(prog_pins[0]))

int bpffs_ready(void)
{
	struct statfs st;

	if (statfs(BPFFS_ROOT, &st) == 0 && st.f_type == BPF_FS_MAGIC)
		return 0;
	if (mount("bpf", BPFFS_ROOT, "bpf", 0, "mode=0700")) {
		int err = -errno;

		pr_warn("up: mount bpffs at %s: %s", BPFFS_ROOT,
			strerror(-err));
		return err;
	}
	return 0;
}

int pin_dir_make(const char *dir)
{
	if (mkdir(dir, 0700) && errno != EEXIST) {
		int err = -errno;

		pr_warn("up: create %s: %s", dir, strerror(-err));
		return err;
	}
	chmod(dir, 0700);
	return 0;
}

void pin_path(const char *dir, const char *name, char *path, size_t size)
{
	snprintf(path, size, "%s/%s", dir, name);
}

static int pin_open_in(const char *dir, const char *name)
{
	char path[PATH_MAX];
	int fd;

	pin_path(dir, name, path, sizeof(path));
	fd = bpf_obj_get(path);
	return fd < 0 ? -errno : fd;
}

int dp_pin_open(const char *name)
{
	return pin_open_in(BPFNAT_PIN_DIR, name);
}

int dp_config(struct bpfnat_config *cfg)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info), zero = 0;
	struct bpfnat_config c = {};
	int fd, err;

	fd = dp_pin_open(PIN_CONFIG);
	if (fd < 0)
		return fd;	/* -ENOENT: none; else unreadable */
	err = bpf_obj_get_info_by_fd(fd, &info, &len) ? -errno : 0;
	if (!err && info.value_size == sizeof(c)) {
		err = bpf_map_lookup_elem(fd, &zero, &c) ? -errno : 0;
	} else if (!err) {
		/* Another layout's config is read no further than its
		 * version, the first field of every layout so far.
		 */
		__u8 other[info.value_size >= 4 && info.value_size <= 4096 ?
			   info.value_size : 4];

		if (info.value_size < 4 || info.value_size > 4096)
			c.version = ~0u;	/* some other thing altogether */
		else if (bpf_map_lookup_elem(fd, &zero, other))
			err = -errno;
		else
			memcpy(&c.version, other, sizeof(c.version));
	}
	close(fd);
	if (err)
		return err;
	if (!c.version)
		return -ENOENT;		/* never committed */
	*cfg = c;
	return c.version == BPFNAT_LAYOUT_VERSION ? 0 : -EPROTO;
}

bool dp_running(struct bpfnat_config *cfg)
{
	struct bpfnat_config c;

	if (dp_config(&c))
		return false;
	if (cfg)
		*cfg = c;
	return true;
}

void pins_remove(const char *dir)
{
	char path[PATH_MAX];
	struct dirent *d;
	DIR *dh;

	dh = opendir(dir);
	if (!dh)
		return;
	while ((d = readdir(dh))) {
		if (d->d_name[0] == '.')
			continue;
		pin_path(dir, d->d_name, path, sizeof(path));
		unlink(path);
	}
	closedir(dh);
	rmdir(dir);
}

void pin_unlink(const char *dir, const char *name)
{
	char path[PATH_MAX];

	pin_path(dir, name, path, sizeof(path));
	unlink(path);
}

int pin_fd(int fd, const char *dir, const char *name)
{
	char path[PATH_MAX], tmp[PATH_MAX + 8];
	int err = 0;

	pin_path(dir, name, path, sizeof(path));
	/* bpffs refuses names with a dot */
	snprintf(tmp, sizeof(tmp), "%s_new", path);
	unlink(tmp);
	if (bpf_obj_pin(fd, tmp) || rename(tmp, path))
		err = -errno;
	if (err) {
		unlink(tmp);
		pr_warn("up: pin %s: %s", path, strerror(-err));
	}
	return err;
}

int pin_commit(const char *name)
{
	char from[PATH_MAX], to[PATH_MAX];
	int err;

	pin_path(PIN_STAGING_DIR, name, from, sizeof(from));
	pin_path(BPFNAT_PIN_DIR, name, to, sizeof(to));
	if (!rename(from, to))
		return 0;
	err = -errno;
	pr_warn("up: move %s into %s: %s", from, BPFNAT_PIN_DIR,
		strerror(-err));
	return err;
}

__u32 prog_fd_id(int fd)
{
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info);

	return bpf_obj_get_info_by_fd(fd, &info, &len) ? 0 : info.id;
}

/* The ids of bpfnat's programs, learnt once per command; how many of
 * them the running data path has pinned; whether PROGS_FILE names others.
 */
static __u32 *ours;
static size_t n_ours, cap_ours;
static bool ours_learnt, ours_stray;

static int ours_add(__u32 id)
{
	__u32 *v;

	for (size_t i = 0; i < n_ours; i++)
		if (ours[i] == id)
			return 0;
	if (!id)
		return 0;
	if (n_ours == cap_ours) {
		v = realloc(ours, (cap_ours ? 2 * cap_ours : 64) * sizeof(*v));
		if (!v)
			return -ENOMEM;
		ours = v;
		cap_ours = cap_ours ? 2 * cap_ours : 64;
	}
	ours[n_ours++] = id;
	return 1;
}

static void ours_add_pinned(const char *dir)
{
	int fd;

	for (size_t i = 0; i < N_PROG_PINS; i++) {
		fd = pin_open_in(dir, prog_pins[i]);
		if (fd >= 0) {
			ours_add(prog_fd_id(fd));
			close(fd);
		}
	}
}

void progs_learn(void)
{
	unsigned int id;
	FILE *f;

	if (ours_learnt)
		return;
	ours_learnt = true;
	/* pinned by a bpfnat from before PROGS_FILE, too */
	ours_add_pinned(BPFNAT_PIN_DIR);
	ours_add_pinned(PIN_STAGING_DIR);
	f = fopen(PROGS_FILE, "r");
	if (!f)
		return;
	while (fscanf(f, "%u", &id) == 1)
		if (ours_add(id))
			ours_stray = true;	/* loaded, and not pinned */
	fclose(f);
}

bool progs_stray(void)
{
	progs_learn();
	return ours_stray;
}

bool dp_prog_is_ours(__u32 id)
{
	progs_learn();
	for (size_t i = 0; id && i < n_ours; i++)
		if (ours[i] == id)
			return true;
	return false;
}

int prog_own(int fd)
{
	__u32 id;
	FILE *f;
	int err = 0;

	progs_learn();
	id = prog_fd_id(fd);
	if (!id)
		return -EINVAL;
	f = fopen(PROGS_FILE, "a");
	if (!f || fprintf(f, "%u\n", id) < 0 || fflush(f))
		err = -errno;
	if (f)
		fclose(f);
	if (err) {
		pr_warn("up: record program %u in %s: %s", id, PROGS_FILE,
			strerror(-err));
		return err;
	}
	ours_add(id);
	return 0;
}

void progs_forget_unpinned(void)
{
	char tmp[] = PROGS_FILE "_new";
	FILE *f;
	int fd;

	f = fopen(tmp, "w");
	if (!f)
		return;
	for (size_t i = 0; i < N_PROG_PINS; i++) {
		fd = dp_pin_open(prog_pins[i]);
		if (fd >= 0) {
			fprintf(f, "%u\n", prog_fd_id(fd));
			close(fd);
		}
	}
	if (fclose(f) || rename(tmp, PROGS_FILE))
		unlink(tmp);
}
