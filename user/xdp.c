// SPDX-License-Identifier: GPL-2.0-only
/*
 * XDP mode's devices.  bpfnat's XDP programs run in native (driver) mode
 * before its tc programs, which stay attached as the complete path for
 * what XDP leaves to them.  On veth that takes two more things, both on
 * the container's eth0, which bpfnat created and owns:
 *
 *  - an XDP program (xdp_pass): a veth accepts redirected frames only when
 *    an XDP program runs on the receiving end;
 *  - no TX checksum offload: XDP sees a frame's bytes, not the skb's
 *    CHECKSUM_PARTIAL state, so the container must send full checksums for
 *    XDP's incremental updates to come out right.  (The kernel itself
 *    turns TSO and GSO off on a veth whose peer runs XDP.)
 *
 * An XDP program is bpfnat's when bpfnat loaded it (dp_prog_is_ours());
 * a foreign one is never replaced or removed.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <linux/ethtool.h>
#include <linux/if_link.h>
#include <linux/sockios.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "bpfnat.h"
#include "container.h"
#include "log.h"
#include "pins.h"
#include "xdp.h"

__u32 xdp_ours(int ifindex)
{
	__u32 id = 0;

	if (bpf_xdp_query_id(ifindex, XDP_FLAGS_DRV_MODE, &id) || !id)
		return 0;
	return dp_prog_is_ours(id) ? id : 0;
}

int xdp_attach(int ifindex, const char *ifname, int prog_fd)
{
	DECLARE_LIBBPF_OPTS(bpf_xdp_attach_opts, opts);
	__u32 flags = XDP_FLAGS_DRV_MODE, id = 0;
	int old = -1, err;

	bpf_xdp_query_id(ifindex, XDP_FLAGS_DRV_MODE, &id);
	if (id && !dp_prog_is_ours(id)) {
		pr_warn("attach XDP to %s: it runs another program (id %u)",
			ifname, id);
		return -EBUSY;
	}
	if (id) {
		/* replace ours atomically, and only if it is still ours */
		old = bpf_prog_get_fd_by_id(id);
		if (old < 0) {
			err = -errno;
			pr_warn("attach XDP to %s: its program %u: %s", ifname,
				id, strerror(-err));
			return err;
		}
		opts.old_prog_fd = old;
		flags |= XDP_FLAGS_REPLACE;
	} else {
		/* and where there was none, only if there still is none */
		flags |= XDP_FLAGS_UPDATE_IF_NOEXIST;
	}
	err = bpf_xdp_attach(ifindex, prog_fd, flags, &opts);
	if (old >= 0)
		close(old);
	if (err)
		pr_warn("attach XDP to %s: %s", ifname, strerror(-err));
	return err;
}

int xdp_detach(int ifindex)
{
	DECLARE_LIBBPF_OPTS(bpf_xdp_attach_opts, opts);
	__u32 id = xdp_ours(ifindex);
	int old, err;

	if (!id)
		return 0;
	old = bpf_prog_get_fd_by_id(id);
	if (old < 0)
		return 0;
	opts.old_prog_fd = old;
	err = bpf_xdp_detach(ifindex, XDP_FLAGS_DRV_MODE | XDP_FLAGS_REPLACE,
			     &opts);
	close(old);
	return err == -EEXIST ? 0 : err;	/* replaced meanwhile: not ours */
}

int eth_tx_csum(const char *ifname, bool on)
{
	struct ethtool_value v = { .cmd = ETHTOOL_STXCSUM, .data = on };
	struct ifreq ifr = { .ifr_data = (void *)&v };
	int fd, err = 0;

	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	if (ioctl(fd, SIOCETHTOOL, &ifr))
		err = -errno;
	close(fd);
	return err;
}

/* Inside a container: eth0 ready for XDP mode, or back to normal. */
struct eth_xdp {
	int pass_fd;		/* xdp_pass; -1 to undo */
};

static int eth_xdp_apply(const struct container *c, void *arg)
{
	const struct eth_xdp *x = arg;
	char what[NETNS_NAME_MAX + IF_NAMESIZE + 8];
	int ifindex, err;
	__u32 id;

	snprintf(what, sizeof(what), "%s of %s", c->ifname, c->name);
	ifindex = if_nametoindex(c->ifname);
	if (!ifindex)
		return -errno;
	if (x->pass_fd < 0) {
		/* not where another tool's XDP program runs; where none
		 * does, the offload is put back all the same: a command
		 * killed between its two steps may have left it off
		 */
		if (bpf_xdp_query_id(ifindex, XDP_FLAGS_DRV_MODE, &id))
			id = 0;
		if (id && !dp_prog_is_ours(id))
			return 0;
		err = xdp_detach(ifindex);
		return err ? err : eth_tx_csum(c->ifname, true);
	}
	err = eth_tx_csum(c->ifname, false);
	if (err) {
		pr_warn("%s: turn TX checksum offload off: %s", what,
			strerror(-err));
		return err;
	}
	return xdp_attach(ifindex, what, x->pass_fd);
}

int xdp_container_up(const struct container *c, int pass_fd, int prog_fd,
		     int tx_ports)
{
	struct eth_xdp x = { .pass_fd = pass_fd };
	__u32 ifindex = c->host_ifindex;
	int err;

	err = container_run(c, eth_xdp_apply, &x);
	if (err)
		return err;
	if (bpf_map_update_elem(tx_ports, &ifindex, &ifindex, 0)) {
		err = -errno;
		pr_warn("XDP: add %s to tx_ports: %s", c->host_if,
			strerror(-err));
		return err;
	}
	return xdp_attach(c->host_ifindex, c->host_if, prog_fd);
}

int xdp_container_down(const struct container *c)
{
	struct eth_xdp undo = { .pass_fd = -1 };
	int err, ret;

	/* senders first: nothing is redirected to an eth0 that refuses */
	ret = xdp_detach(c->host_ifindex);
	if (ret == -ENODEV)
		ret = 0;
	err = container_run(c, eth_xdp_apply, &undo);
	if (err == -ENOENT || err == -ENODEV)
		err = 0;
	if (err || ret)
		pr_warn("container %s: undo XDP mode: %s", c->name,
			strerror(-(ret ? ret : err)));
	return ret ? ret : err;
}
