// SPDX-License-Identifier: GPL-2.0-only
/*
 * testrun_ns: what a pinned tc program costs per packet, in nanoseconds.
 *
 *   testrun_ns run [-n CALLS] [-i IFINDEX] PIN SADDR:SPORT DADDR:DPORT
 *       Runs the program at PIN (tc or XDP) on a 60-byte IPv4 UDP packet
 *       CALLS times through BPF_PROG_TEST_RUN, as if it had arrived on
 *       IFINDEX, and prints the kernel's timing as one JSON object.
 *   testrun_ns stats SECONDS PIN...
 *       Turns on the kernel's run-time statistics for SECONDS (through a
 *       BPF_ENABLE_STATS file descriptor, so they go off again when this
 *       process ends, whatever happens) and prints the programs' run count
 *       and nanoseconds per run over that time, as they process real
 *       traffic.
 *
 * Each test run is one call with repeat = 1: bpfnat rewrites the packet it
 * is given, and a repeated run would see its own output (an already NATed
 * packet) instead of the packet we mean.  The kernel times the single run
 * between two clock reads, so the figure includes one clock read; run an
 * empty program the same way to see that floor.
 *
 * Raw bpf(2) calls only, so that the tool builds without libbpf.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/syscall.h>
#include <linux/bpf.h>

#define PKT_LEN		60	/* 64-byte Ethernet frame without FCS */
#define CALLS_DEFAULT	200000
#define CALLS_MAX	10000000
#define HIST_MAX_NS	100000	/* runs slower than 100 us: interrupted */
#define STATS_MAX_S	600
#define PROGS_MAX	8

static long sys_bpf(enum bpf_cmd cmd, union bpf_attr *attr)
{
	return syscall(__NR_bpf, cmd, attr, sizeof(*attr));
}

static int pin_open(const char *path)
{
	union bpf_attr attr;
	int fd;

	memset(&attr, 0, sizeof(attr));
	attr.pathname = (uint64_t)(unsigned long)path;
	fd = sys_bpf(BPF_OBJ_GET, &attr);
	if (fd < 0)
		fprintf(stderr, "testrun_ns: open %s: %s\n", path,
			strerror(errno));
	return fd;
}

static uint16_t csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static uint32_t csum_add(uint32_t sum, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)p[i] << 8 | p[i + 1];
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	return sum;
}

/* "A.B.C.D:PORT" -> network order address and port. */
static int parse_endpoint(const char *s, uint32_t *addr, uint16_t *port)
{
	char buf[64], *colon, *end;
	unsigned long p;

	if (strlen(s) >= sizeof(buf))
		return -1;
	strcpy(buf, s);
	colon = strchr(buf, ':');
	if (!colon)
		return -1;
	*colon = '\0';
	if (inet_pton(AF_INET, buf, addr) != 1)
		return -1;
	p = strtoul(colon + 1, &end, 10);
	if (*end || !colon[1] || p > 65535)
		return -1;
	*port = htons((uint16_t)p);
	return 0;
}

/*
 * The benchmark's load: Ethernet, IPv4 (TTL 64), UDP with 18 bytes of
 * payload, both checksums right, so that the program under test takes the
 * path a real packet takes.
 */
static void build_udp(uint8_t *pkt, uint32_t saddr, uint16_t sport,
		      uint32_t daddr, uint16_t dport)
{
	static const uint8_t dmac[6] = { 0x02, 0, 0, 0, 0, 0x01 };
	static const uint8_t smac[6] = { 0x02, 0, 0, 0, 0, 0x02 };
	uint8_t *ip = pkt + 14, *udp = ip + 20;
	uint16_t ulen = PKT_LEN - 14 - 20, sum;
	uint32_t s;

	memset(pkt, 0, PKT_LEN);
	memcpy(pkt, dmac, 6);
	memcpy(pkt + 6, smac, 6);
	pkt[12] = 0x08;			/* ETH_P_IP */
	ip[0] = 0x45;
	ip[2] = (PKT_LEN - 14) >> 8;
	ip[3] = (PKT_LEN - 14) & 0xff;
	ip[8] = 64;			/* TTL */
	ip[9] = 17;			/* UDP */
	memcpy(ip + 12, &saddr, 4);
	memcpy(ip + 16, &daddr, 4);
	sum = csum_fold(csum_add(0, ip, 20));
	ip[10] = sum >> 8;
	ip[11] = sum & 0xff;

	memcpy(udp, &sport, 2);
	memcpy(udp + 2, &dport, 2);
	udp[4] = ulen >> 8;
	udp[5] = ulen & 0xff;
	memset(udp + 8, 0x5a, ulen - 8);
	/* pseudo header, then the datagram */
	s = csum_add(0, ip + 12, 8) + 17 + ulen;
	sum = csum_fold(csum_add(s, udp, ulen));
	if (!sum)
		sum = 0xffff;
	udp[6] = sum >> 8;
	udp[7] = sum & 0xff;
}

/* The kernel's information on the program @fd: its type, its run time. */
static int prog_info(int fd, struct bpf_prog_info *info)
{
	union bpf_attr attr;

	memset(info, 0, sizeof(*info));
	memset(&attr, 0, sizeof(attr));
	attr.info.bpf_fd = fd;
	attr.info.info_len = sizeof(*info);
	attr.info.info = (uint64_t)(unsigned long)info;
	return sys_bpf(BPF_OBJ_GET_INFO_BY_FD, &attr) ? -errno : 0;
}

static int cmd_run(int argc, char **argv)
{
	static uint32_t hist[HIST_MAX_NS];
	uint8_t pkt[PKT_LEN];
	struct __sk_buff skb_ctx;
	struct xdp_md xdp_ctx;
	struct bpf_prog_info info;
	union bpf_attr attr;
	void *ctx;
	uint32_t ctx_size;
	unsigned long calls = CALLS_DEFAULT, ifindex = 0, slow = 0, n = 0;
	unsigned long median = 0, seen = 0, i;
	uint32_t saddr, daddr, retval = 0;
	uint16_t sport, dport;
	uint64_t total = 0;
	int opt, fd, type;

	while ((opt = getopt(argc, argv, "n:i:")) != -1) {
		switch (opt) {
		case 'n':
			calls = strtoul(optarg, NULL, 10);
			break;
		case 'i':
			ifindex = strtoul(optarg, NULL, 10);
			break;
		default:
			return 2;
		}
	}
	if (argc - optind != 3 || !calls || calls > CALLS_MAX ||
	    parse_endpoint(argv[optind + 1], &saddr, &sport) ||
	    parse_endpoint(argv[optind + 2], &daddr, &dport)) {
		fprintf(stderr, "usage: testrun_ns run [-n CALLS] [-i IFINDEX] "
			"PIN SADDR:SPORT DADDR:DPORT\n");
		return 2;
	}
	fd = pin_open(argv[optind]);
	if (fd < 0)
		return 1;
	build_udp(pkt, saddr, sport, daddr, dport);

	/* The data path checks the device a packet came in on. */
	type = prog_info(fd, &info) ? -1 : (int)info.type;
	memset(&skb_ctx, 0, sizeof(skb_ctx));
	memset(&xdp_ctx, 0, sizeof(xdp_ctx));
	if (type == BPF_PROG_TYPE_XDP) {
		xdp_ctx.ingress_ifindex = ifindex;
		xdp_ctx.data_end = sizeof(pkt);	/* else the frame is empty */
		ctx = &xdp_ctx;
		ctx_size = sizeof(xdp_ctx);
	} else {
		skb_ctx.ingress_ifindex = ifindex;
		skb_ctx.ifindex = ifindex;
		ctx = &skb_ctx;
		ctx_size = sizeof(skb_ctx);
	}

	for (i = 0; i < calls; i++) {
		memset(&attr, 0, sizeof(attr));
		attr.test.prog_fd = fd;
		attr.test.data_in = (uint64_t)(unsigned long)pkt;
		attr.test.data_size_in = sizeof(pkt);
		attr.test.repeat = 1;
		if (ifindex) {
			attr.test.ctx_in = (uint64_t)(unsigned long)ctx;
			attr.test.ctx_size_in = ctx_size;
		}
		if (sys_bpf(BPF_PROG_TEST_RUN, &attr)) {
			fprintf(stderr, "testrun_ns: test run %s: %s\n",
				argv[optind], strerror(errno));
			close(fd);
			return 1;
		}
		retval = attr.test.retval;
		total += attr.test.duration;
		if (attr.test.duration < HIST_MAX_NS)
			hist[attr.test.duration]++;
		else
			slow++;
		n++;
	}
	close(fd);
	for (i = 0; i < HIST_MAX_NS; i++) {
		seen += hist[i];
		if (seen * 2 >= n) {
			median = i;
			break;
		}
	}
	printf("{\"prog\":\"%s\",\"calls\":%lu,\"retval\":%u,"
	       "\"ns_mean\":%.1f,\"ns_median\":%lu,\"slow\":%lu}\n",
	       argv[optind], n, retval, (double)total / n, median, slow);
	return 0;
}

static int prog_runtime(int fd, uint64_t *ns, uint64_t *cnt)
{
	struct bpf_prog_info info;
	int err = prog_info(fd, &info);

	if (err)
		return err;
	*ns = info.run_time_ns;
	*cnt = info.run_cnt;
	return 0;
}

static int cmd_stats(int argc, char **argv)
{
	uint64_t ns0[PROGS_MAX], cnt0[PROGS_MAX], ns1, cnt1;
	int fd[PROGS_MAX], n = argc - 2, i, stats_fd, ret = 1;
	union bpf_attr attr;
	struct timespec ts;
	unsigned long secs;
	char *end;

	if (argc < 3 || n > PROGS_MAX) {
		fprintf(stderr, "usage: testrun_ns stats SECONDS PIN...\n");
		return 2;
	}
	secs = strtoul(argv[1], &end, 10);
	if (*end || !secs || secs > STATS_MAX_S) {
		fprintf(stderr, "testrun_ns: stats: 1 to %d seconds\n",
			STATS_MAX_S);
		return 2;
	}
	for (i = 0; i < n; i++) {
		fd[i] = pin_open(argv[i + 2]);
		if (fd[i] < 0) {
			while (i--)
				close(fd[i]);
			return 1;
		}
	}

	/* On while this descriptor is open: the kernel turns it off when
	 * we exit, even if we are killed.
	 */
	memset(&attr, 0, sizeof(attr));
	attr.enable_stats.type = BPF_STATS_RUN_TIME;
	stats_fd = sys_bpf(BPF_ENABLE_STATS, &attr);
	if (stats_fd < 0) {
		fprintf(stderr, "testrun_ns: enable run-time stats: %s\n",
			strerror(errno));
		goto out;
	}
	for (i = 0; i < n; i++)
		if (prog_runtime(fd[i], &ns0[i], &cnt0[i]))
			goto out_stats;
	ts.tv_sec = secs;
	ts.tv_nsec = 0;
	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
	printf("{");
	for (i = 0; i < n; i++) {
		if (prog_runtime(fd[i], &ns1, &cnt1))
			goto out_stats;
		cnt1 -= cnt0[i];
		ns1 -= ns0[i];
		printf("%s\"%s\":{\"runs\":%llu,\"ns_per_run\":%.1f}",
		       i ? "," : "", argv[i + 2], (unsigned long long)cnt1,
		       cnt1 ? (double)ns1 / cnt1 : 0.0);
	}
	printf("}\n");
	ret = 0;
out_stats:
	close(stats_fd);
out:
	for (i = 0; i < n; i++)
		close(fd[i]);
	return ret;
}

int main(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "run"))
		return cmd_run(argc - 1, argv + 1);
	if (argc > 1 && !strcmp(argv[1], "stats"))
		return cmd_stats(argc - 1, argv + 1);
	fprintf(stderr, "usage: testrun_ns run [-n CALLS] [-i IFINDEX] PIN "
		"SADDR:SPORT DADDR:DPORT\n"
		"       testrun_ns stats SECONDS PIN...\n");
	return 2;
}
