// SPDX-License-Identifier: GPL-2.0-only
/*
 * bpfnat monitor: the data path's drops and flows as they happen, read
 * from the events ring buffer (bpf/monitor.h) while this process holds the
 * lease that makes the data path write them.
 */
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/file.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "cmd.h"
#include "flow.h"
#include "lock.h"
#include "log.h"
#include "maps.h"
#include "pins.h"

/* One monitor at a time: the ring has one reader. */
#define MONITOR_LOCK_FILE	BPFNAT_RUN_DIR "/monitor.lock"

/* How often the lease is renewed, well within MONITOR_LEASE_NS. */
#define RENEW_MS		1000

static volatile sig_atomic_t stopping;

static void on_stop(int sig)
{
	(void)sig;
	stopping = 1;
}

struct monitor {
	bool drops, flows;
	int ctl_fd;
	__u64 start_ns;		/* events before it are a killed one's */
	__u64 wall_offset_ns;	/* CLOCK_REALTIME - CLOCK_MONOTONIC */
	__u64 lost;		/* monitor_lost when we last looked */
	__u64 renewed_ns;	/* the lease, last renewed */
	unsigned int shown;	/* events, for renew()'s checks */
	int err;		/* what stopped the reading of events */
};

static __u64 clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (__u64)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

/* @ns of the data path's clock as UTC, to the microsecond. */
static const char *time_str(const struct monitor *m, __u64 ns, bool iso)
{
	static char buf[64];
	__u64 wall = ns + m->wall_offset_ns;
	time_t sec = wall / 1000000000ULL;
	struct tm tm;
	size_t n;

	gmtime_r(&sec, &tm);
	n = strftime(buf, sizeof(buf), iso ? "%Y-%m-%dT%H:%M:%S" : "%H:%M:%S",
		     &tm);
	snprintf(buf + n, sizeof(buf) - n, ".%06llu%s",
		 (unsigned long long)(wall % 1000000000ULL / 1000),
		 iso ? "Z" : "");
	return buf;
}

static const char *hook_name(__u8 hook)
{
	switch (hook) {
	case MON_HOOK_TC:
		return "tc";
	case MON_HOOK_XDP:
		return "xdp";
	default:
		return "sweep";
	}
}

static const char *end_name(__u32 why)
{
	return why == MON_END_EXPIRED ? "expired" : "removed";
}

static const char *dev_name(__u32 ifindex, char *buf)
{
	if (!ifindex || !if_indextoname(ifindex, buf))
		return "-";
	return buf;
}

static const char *event_name(__u8 type)
{
	switch (type) {
	case MON_DROP:
		return "drop";
	case MON_FLOW_NEW:
		return "new";
	default:
		return "destroy";
	}
}

static json_t *event_json(const struct monitor *m,
			  const struct monitor_event *e)
{
	char dev[IF_NAMESIZE];
	json_t *o, *t;

	o = json_pack("{s:s, s:s}", "time", time_str(m, e->time_ns, true),
		      "event", event_name(e->type));
	if (e->type == MON_DROP) {
		json_object_set_new(o, "reason", json_string(
			e->reason < STAT_MAX ? stat_names[e->reason] : "?"));
		json_object_set_new(o, "hook", json_string(hook_name(e->hook)));
	} else if (e->type == MON_FLOW_DESTROY) {
		json_object_set_new(o, "reason",
				    json_string(end_name(e->reason)));
	} else {
		json_object_set_new(o, "hook", json_string(hook_name(e->hook)));
	}
	json_object_set_new(o, "ifindex", json_integer(e->ifindex));
	json_object_set_new(o, "ifname",
			    json_string(dev_name(e->ifindex, dev)));
	json_object_set_new(o, "family",
			    json_string(family_name(&e->tuple[0])));
	json_object_set_new(o, "protocol",
			    json_string(proto_name(e->tuple[0].proto)));
	if (e->type == MON_DROP) {
		json_object_set_new(o, "len", json_integer(e->len));
		json_object_set_new(o, "packet", tuple_json(&e->tuple[0]));
		return o;
	}
	json_object_set_new(o, "kind", json_string(kind_name(e->kind)));
	if (e->tuple[0].proto == IPPROTO_TCP && e->state < CT_STATE_MAX)
		json_object_set_new(o, "state",
				    json_string(ct_state_names[e->state]));
	for (int d = CT_DIR_ORIG; d <= CT_DIR_REPLY; d++) {
		t = tuple_json(&e->tuple[d]);
		if (e->type == MON_FLOW_DESTROY) {
			json_object_set_new(t, "packets",
					    json_integer(e->packets[d]));
			json_object_set_new(t, "bytes",
					    json_integer(e->bytes[d]));
		}
		json_object_set_new(o, d == CT_DIR_ORIG ? "original" : "reply",
				    t);
	}
	return o;
}

/* As conntrack -E prints events, a drop as one more kind of event. */
static void event_print(const struct monitor *m,
			const struct monitor_event *e)
{
	char dev[IF_NAMESIZE];

	printf("%s ", time_str(m, e->time_ns, false));
	switch (e->type) {
	case MON_DROP:
		printf("[DROP] %s %s %s",
		       e->reason < STAT_MAX ? stat_names[e->reason] : "?",
		       hook_name(e->hook), proto_name(e->tuple[0].proto));
		tuple_print(&e->tuple[0]);
		printf(" len=%u", e->len);
		break;
	case MON_FLOW_NEW:
		printf("[NEW] %s %s", kind_name(e->kind),
		       proto_name(e->tuple[0].proto));
		if (e->tuple[0].proto == IPPROTO_TCP && e->state < CT_STATE_MAX)
			printf(" %s", ct_state_names[e->state]);
		tuple_print(&e->tuple[CT_DIR_ORIG]);
		tuple_print(&e->tuple[CT_DIR_REPLY]);
		break;
	default:
		printf("[DESTROY] %s %s %s", end_name(e->reason),
		       kind_name(e->kind), proto_name(e->tuple[0].proto));
		for (int d = CT_DIR_ORIG; d <= CT_DIR_REPLY; d++) {
			tuple_print(&e->tuple[d]);
			printf(" packets=%llu bytes=%llu",
			       (unsigned long long)e->packets[d],
			       (unsigned long long)e->bytes[d]);
		}
		break;
	}
	printf(" dev=%s\n", dev_name(e->ifindex, dev));
}

/* Say so when the ring lost events since the last look. */
static void lost_report(struct monitor *m, __u64 now)
{
	struct stat_val v[STAT_MAX];
	__u64 lost;

	if (stats_read(v, NULL, NULL))
		return;
	lost = v[STAT_MONITOR_LOST].packets;
	if (lost == m->lost)
		return;
	if (json_output)
		printf("{\"time\":\"%s\",\"event\":\"lost\",\"count\":%llu}\n",
		       time_str(m, now, true),
		       (unsigned long long)(lost - m->lost));
	else
		printf("%s [LOST] %llu events: the ring was full\n",
		       time_str(m, now, false),
		       (unsigned long long)(lost - m->lost));
	m->lost = lost;
}

/* Hold the data path's lease for what we show, or give it back (0). */
static int lease(const struct monitor *m, __u64 until)
{
	struct monitor_ctl ctl = {
		.drops_until_ns = m->drops ? until : 0,
		.flows_until_ns = m->flows ? until : 0,
	};
	__u32 zero = 0;

	if (bpf_map_update_elem(m->ctl_fd, &zero, &ctl, BPF_ANY))
		return -errno;
	return 0;
}

static int one_monitor(void)
{
	int fd = open(MONITOR_LOCK_FILE, O_RDWR | O_CREAT | O_CLOEXEC, 0600);

	if (fd < 0) {
		pr_warn("monitor: open %s: %s", MONITOR_LOCK_FILE,
			strerror(errno));
		return -errno;
	}
	if (flock(fd, LOCK_EX | LOCK_NB)) {
		int err = -errno;

		if (err == -EWOULDBLOCK)
			pr_warn("monitor: another monitor is running");
		else
			pr_warn("monitor: lock %s: %s", MONITOR_LOCK_FILE,
				strerror(-err));
		close(fd);
		return err;
	}
	return fd;	/* held until exit */
}

/*
 * Renew the lease if a second has passed since the last time: from the
 * wait for events, and from among them (under a flood, one read of the
 * ring may go on for longer than the lease lasts).  Also says what the
 * ring lost meanwhile, and notices bpfnat going down.
 */
static int renew(struct monitor *m)
{
	__u64 now = clock_ns(CLOCK_MONOTONIC);
	int err;

	if (now - m->renewed_ns < RENEW_MS * 1000000ULL)
		return 0;
	if (!dp_running(NULL)) {
		pr_warn("monitor: bpfnat went down");
		return -ENOENT;
	}
	err = lease(m, now + MONITOR_LEASE_NS);
	if (err) {
		pr_warn("monitor: renew the lease: %s", strerror(-err));
		return err;
	}
	m->renewed_ns = now;
	lost_report(m, now);
	return 0;
}

static int on_event(void *ctx, void *data, size_t size)
{
	const struct monitor_event *e = data;
	struct monitor *m = ctx;

	/* a look at the clock every 1024 events */
	if (!(++m->shown % 1024)) {
		m->err = renew(m);
		if (m->err)
			return m->err;
	}
	if (size < sizeof(*e) || e->time_ns < m->start_ns)
		return 0;
	if (e->type == MON_DROP ? !m->drops : !m->flows)
		return 0;
	if (json_output) {
		json_t *o = event_json(m, e);

		json_dumpf(o, stdout, JSON_COMPACT | JSON_PRESERVE_ORDER);
		fputc('\n', stdout);
		json_decref(o);
	} else {
		event_print(m, e);
	}
	return 0;
}

static int watch(struct monitor *m, struct ring_buffer *rb)
{
	struct stat_val v[STAT_MAX];
	int err;

	if (!stats_read(v, NULL, NULL))
		m->lost = v[STAT_MONITOR_LOST].packets;
	while (!stopping) {
		err = renew(m);
		if (err)
			return err;
		err = ring_buffer__poll(rb, RENEW_MS);
		if (m->err)
			return m->err;
		if (err < 0 && err != -EINTR) {
			pr_warn("monitor: read events: %s", strerror(-err));
			return err;
		}
		fflush(stdout);
	}
	/* what came before the stop is shown, then the lease given back */
	ring_buffer__consume(rb);
	lost_report(m, clock_ns(CLOCK_MONOTONIC));
	return 0;
}

int cmd_monitor(int argc, char **argv)
{
	struct monitor m = { .ctl_fd = -1 };
	struct sigaction sa = { .sa_handler = on_stop };
	struct ring_buffer *rb = NULL;
	int ring_fd = -1, err;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--drops"))
			m.drops = true;
		else if (!strcmp(argv[i], "--flows"))
			m.flows = true;
		else
			return usage_error("monitor", "unknown option '%s'",
					   argv[i]);
	}
	if (!m.drops && !m.flows)
		m.drops = m.flows = true;
	if (!dp_running(NULL)) {
		pr_warn("monitor: bpfnat is down (run 'bpfnat up')");
		return EXIT_FAIL;
	}
	if (one_monitor() < 0)
		return EXIT_FAIL;
	ring_fd = dp_pin_open(PIN_EVENTS);
	m.ctl_fd = dp_pin_open(PIN_MONITOR);
	if (ring_fd < 0 || m.ctl_fd < 0) {
		pr_warn("monitor: the running data path has no events ring "
			"(run 'bpfnat up' with this bpfnat)");
		err = -ENOENT;
		goto out;
	}
	m.start_ns = clock_ns(CLOCK_MONOTONIC);
	m.wall_offset_ns = clock_ns(CLOCK_REALTIME) - m.start_ns;
	rb = ring_buffer__new(ring_fd, on_event, &m, NULL);
	if (!rb) {
		err = -errno;
		pr_warn("monitor: open the events ring: %s", strerror(-err));
		goto out;
	}
	/* no SA_RESTART: a signal ends the wait for events */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	setvbuf(stdout, NULL, _IOLBF, 0);
	err = watch(&m, rb);
	lease(&m, 0);
out:
	ring_buffer__free(rb);
	if (ring_fd >= 0)
		close(ring_fd);
	if (m.ctl_fd >= 0)
		close(m.ctl_fd);
	return err ? EXIT_FAIL : EXIT_OK;
}
