// SPDX-License-Identifier: GPL-2.0-only
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include "netns.h"

bool netns_name_valid(const char *name)
{
	size_t len = strlen(name);

	if (len == 0 || len > NETNS_NAME_MAX)
		return false;
	if (name[0] == '.' || name[0] == '-')
		return false;
	for (const char *c = name; *c; c++) {
		if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
		      (*c >= '0' && *c <= '9') || *c == '_' || *c == '.' ||
		      *c == '-'))
			return false;
	}
	return true;
}

static void netns_path(const char *name, char *path, size_t size)
{
	snprintf(path, size, "%s/%s", NETNS_RUN_DIR, name);
}

bool netns_exists(const char *name)
{
	char path[PATH_MAX];

	netns_path(name, path, sizeof(path));
	return access(path, F_OK) == 0;
}

/*
 * Make /run/netns a shared mount point of its own, as iproute2 does, so
 * that namespaces mounted there show up in every mount namespace that
 * shares it.
 */
static int netns_run_dir_prepare(void)
{
	if (mkdir(NETNS_RUN_DIR, 0755) && errno != EEXIST)
		return -errno;
	if (mount("", NETNS_RUN_DIR, "none", MS_SHARED | MS_REC, NULL) == 0)
		return 0;
	if (errno != EINVAL)
		return -errno;
	/* Not a mount point yet: bind it onto itself first. */
	if (mount(NETNS_RUN_DIR, NETNS_RUN_DIR, "none", MS_BIND | MS_REC,
		  NULL))
		return -errno;
	if (mount("", NETNS_RUN_DIR, "none", MS_SHARED | MS_REC, NULL))
		return -errno;
	return 0;
}

int netns_enter(int fd)
{
	int saved, err;

	saved = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (saved < 0)
		return -errno;
	if (setns(fd, CLONE_NEWNET)) {
		err = -errno;
		close(saved);
		return err;
	}
	return saved;
}

int netns_leave(int saved)
{
	int err = 0;

	if (setns(saved, CLONE_NEWNET))
		err = -errno;
	close(saved);
	return err;
}

int netns_add(const char *name)
{
	char path[PATH_MAX];
	int fd = -1, saved, err, ret;

	err = netns_run_dir_prepare();
	if (err)
		return err;
	netns_path(name, path, sizeof(path));
	saved = open(path, O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0);
	if (saved < 0)
		return -errno;
	close(saved);

	saved = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (saved < 0) {
		err = -errno;
		goto out_unlink;
	}
	if (unshare(CLONE_NEWNET)) {
		err = -errno;
		close(saved);
		goto out_unlink;
	}
	if (mount("/proc/self/ns/net", path, "none", MS_BIND, NULL))
		err = -errno;
	else if ((fd = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC)) < 0)
		err = -errno;
	/* back where we came from, whatever happened */
	ret = netns_leave(saved);
	if (ret && !err)
		err = ret;
	if (!err)
		return fd;
	if (fd >= 0)
		close(fd);
	umount2(path, MNT_DETACH);
out_unlink:
	unlink(path);
	return err;
}

int netns_del(const char *name)
{
	char path[PATH_MAX];

	netns_path(name, path, sizeof(path));
	umount2(path, MNT_DETACH);
	if (unlink(path))
		return -errno;
	return 0;
}

int netns_open(const char *name)
{
	char path[PATH_MAX];
	int fd;

	netns_path(name, path, sizeof(path));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}
