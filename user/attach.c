// SPDX-License-Identifier: GPL-2.0-only
/*
 * The records of CNI attachments (see attach.h), one JSON file each.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include <jansson.h>

#include "addr.h"
#include "alloc.h"
#include "attach.h"
#include "log.h"

/* The ID's part of a name: this many characters, then 4 more a time. */
#define NAME_ID_LEN 12

int attachment_name(const char *id, const char *ifname, int i, char *name)
{
	size_t id_len = strlen(id), if_len = strlen(ifname);
	size_t take = NAME_ID_LEN + 4 * (size_t)i;

	/* the whole ID was in the one before */
	if (i > 0 && NAME_ID_LEN + 4 * (size_t)(i - 1) >= id_len)
		return -ENOENT;
	if (take > id_len)
		take = id_len;
	if (take + 1 + if_len > NETNS_NAME_MAX)
		return -ENOENT;
	memcpy(name, id, take);
	name[take] = '-';
	memcpy(name + take + 1, ifname, if_len + 1);
	/* an interface name may hold what a container name may not */
	for (char *c = name + take + 1; *c; c++)
		if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
			    "0123456789_.-", *c))
			*c = '_';
	return 0;
}

int attachment_find(const char *id, const char *ifname,
		    struct attachment *a)
{
	char name[NETNS_NAME_MAX + 1];

	for (int i = 0; !attachment_name(id, ifname, i, name); i++)
		if (!attachment_read(name, a) && !strcmp(a->container_id, id) &&
		    !strcmp(a->ifname, ifname))
			return 0;
	return -ENOENT;
}

static void record_path(const char *name, char *path, size_t size)
{
	snprintf(path, size, "%s/%s", ATTACH_DIR, name);
}

/* @key's string of @o into @buf of @size: 0, or -EINVAL if it is not one
 * that fits.
 */
static int get_str(json_t *o, const char *key, char *buf, size_t size)
{
	const char *s = json_string_value(json_object_get(o, key));

	if (!s || strlen(s) >= size)
		return -EINVAL;
	snprintf(buf, size, "%s", s);
	return 0;
}

int attachment_read(const char *name, struct attachment *a)
{
	char path[PATH_MAX];
	const char *addr;
	json_error_t jerr;
	json_t *o;
	int err;

	if (!netns_name_valid(name))
		return -ENOENT;
	record_path(name, path, sizeof(path));
	memset(a, 0, sizeof(*a));
	o = json_load_file(path, 0, &jerr);
	if (!o)
		return access(path, F_OK) ? -ENOENT : -EINVAL;
	snprintf(a->name, sizeof(a->name), "%s", name);
	err = get_str(o, "containerID", a->container_id,
		      sizeof(a->container_id)) ?:
	      get_str(o, "ifname", a->ifname, sizeof(a->ifname)) ?:
	      get_str(o, "network", a->network, sizeof(a->network));
	/* the rest is there once it is known */
	get_str(o, "netns", a->netns, sizeof(a->netns));
	get_str(o, "host_if", a->host_if, sizeof(a->host_if));
	addr = json_string_value(json_object_get(o, "address"));
	if (!err && addr && parse_cidr(addr, &a->addr, &a->plen, false))
		err = -EINVAL;
	addr = json_string_value(json_object_get(o, "address6"));
	if (!err && addr && parse_cidr6(addr, &a->addr6, &a->plen6, false))
		err = -EINVAL;
	json_decref(o);
	return err;
}

int attachment_write(const struct attachment *a)
{
	char path[PATH_MAX], tmp[PATH_MAX];
	json_t *o;
	int err = 0;

	if (mkdir(ATTACH_DIR, 0700) && errno != EEXIST)
		return -errno;
	o = json_pack("{s:s, s:s, s:s, s:s}", "containerID", a->container_id,
		      "ifname", a->ifname, "network", a->network, "netns",
		      a->netns);
	if (!o)
		return -ENOMEM;
	if (a->host_if[0])
		json_object_set_new(o, "host_if", json_string(a->host_if));
	if (a->addr)
		json_object_set_new(o, "address",
				    json_string(cidr_str(a->addr, a->plen)));
	if (a->plen6)
		json_object_set_new(o, "address6",
				    json_string(cidr6_str(&a->addr6, a->plen6)));
	record_path(a->name, path, sizeof(path));
	/* a dot first: never a record's name */
	snprintf(tmp, sizeof(tmp), "%s/.%s", ATTACH_DIR, a->name);
	if (json_dump_file(o, tmp, JSON_INDENT(2) | JSON_PRESERVE_ORDER))
		err = -EIO;
	else if (rename(tmp, path))
		err = -errno;
	if (err)
		unlink(tmp);
	json_decref(o);
	return err;
}

void attachment_remove(const char *name)
{
	struct attachment a;
	char path[PATH_MAX];

	record_path(name, path, sizeof(path));
	if (!attachment_read(name, &a))
		alloc_freed(a.addr, NULL);	/* first, as container_del() */
	unlink(path);
}

int attachment_list(struct attachment **out, size_t *count)
{
	struct attachment *v = NULL, *grown;
	size_t n = 0, cap = 0;
	struct dirent *d;
	DIR *dh;

	*out = NULL;
	*count = 0;
	dh = opendir(ATTACH_DIR);
	if (!dh)
		return errno == ENOENT ? 0 : -errno;
	while ((d = readdir(dh))) {
		if (!netns_name_valid(d->d_name))
			continue;	/* ".", "..", a half-written ".NAME" */
		if (n == cap) {
			cap = cap ? 2 * cap : 64;
			grown = realloc(v, cap * sizeof(*v));
			if (!grown) {
				free(v);
				closedir(dh);
				return -ENOMEM;
			}
			v = grown;
		}
		if (!attachment_read(d->d_name, &v[n]))
			n++;
	}
	closedir(dh);
	*out = v;
	*count = n;
	return 0;
}
