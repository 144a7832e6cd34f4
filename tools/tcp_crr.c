// SPDX-License-Identifier: GPL-2.0-only
/*
 * tcp_crr: TCP transactions and connections per second, with latency.
 *
 *   tcp_crr server [-b ADDR] [-p PORT] [-s SIZE] [-n THREADS] [-t SECONDS]
 *   tcp_crr rr  -c ADDR [-p PORT] [-s SIZE] [-n CONNS]   [-t SECONDS]
 *   tcp_crr crr -c ADDR [-p PORT] [-s SIZE] [-n THREADS] [-t SECONDS]
 *
 * rr: CONNS connections, each with one request of SIZE bytes in flight and
 * its response of SIZE bytes (netperf's TCP_RR).  crr: every transaction
 * is a new connection: connect, one request, one response, close
 * (netperf's TCP_CRR, HTTP/1.0).  The server listens on PORT for rr and on
 * PORT + 1 for crr, and exits after SECONDS.
 *
 * In crr the server closes first, as an HTTP/1.0 server does, so TIME_WAIT
 * stays on the server, where it costs no port; the client's ports come back
 * as soon as it has closed, and the test can run at any rate for any time
 * without running out of them.  A NAT in between still sees every
 * connection as a new flow and the whole handshake and teardown.
 *
 * The client prints one JSON object: transactions, their rate, latency
 * percentiles (microseconds, 100 ns resolution) and errors.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#define PORT_DEFAULT	8001
#define SIZE_DEFAULT	64
#define SIZE_MAX_	65536
#define THREADS_MAX	64
#define SECONDS_MAX	3600
#define IO_TIMEOUT_S	2	/* a lost peer must not stall a thread */
#define HIST_STEP_NS	100
#define HIST_BUCKETS	200000	/* up to 20 ms; slower ones in the last */
#define ERRORS_MAX	1000	/* a client that only fails stops early */

enum mode { MODE_SERVER, MODE_RR, MODE_CRR };

struct opts {
	enum mode mode;
	struct sockaddr_in addr;
	unsigned int size;
	unsigned int threads;
	unsigned int seconds;
};

struct worker {
	pthread_t tid;
	const struct opts *o;
	int listen_fd;		/* server */
	int fd;			/* rr: this worker's connection */
	uint64_t deadline_ns;
	uint64_t count;
	uint64_t errors;
	uint32_t *hist;
	char *buf;
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static void record(struct worker *w, uint64_t ns)
{
	uint64_t b = ns / HIST_STEP_NS;

	w->hist[b < HIST_BUCKETS ? b : HIST_BUCKETS - 1]++;
	w->count++;
}

static int io_full(int fd, char *buf, size_t len, bool wr)
{
	size_t done = 0;
	ssize_t n;

	while (done < len) {
		n = wr ? send(fd, buf + done, len - done, MSG_NOSIGNAL) :
			 recv(fd, buf + done, len - done, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n ? -errno : -EPIPE;
		done += n;
	}
	return 0;
}

static void sock_tune(int fd)
{
	struct timeval tv = { .tv_sec = IO_TIMEOUT_S };
	int one = 1;

	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

/* ---- server ---- */

static void *serve_rr_conn(void *arg)
{
	struct worker *w = arg;

	while (io_full(w->fd, w->buf, w->o->size, false) == 0 &&
	       io_full(w->fd, w->buf, w->o->size, true) == 0)
		;
	close(w->fd);
	free(w->buf);
	free(w);
	return NULL;
}

static void *serve_rr(void *arg)
{
	struct worker *l = arg, *w;
	pthread_t tid;
	int fd;

	for (;;) {
		fd = accept(l->listen_fd, NULL, NULL);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			return NULL;
		}
		sock_tune(fd);
		w = calloc(1, sizeof(*w));
		if (w)
			w->buf = malloc(l->o->size);
		if (!w || !w->buf) {
			free(w);
			close(fd);
			continue;
		}
		w->o = l->o;
		w->fd = fd;
		if (pthread_create(&tid, NULL, serve_rr_conn, w)) {
			close(fd);
			free(w->buf);
			free(w);
			continue;
		}
		pthread_detach(tid);
	}
}

static void *serve_crr(void *arg)
{
	struct worker *w = arg;
	int fd;

	for (;;) {
		fd = accept(w->listen_fd, NULL, NULL);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			return NULL;
		}
		sock_tune(fd);
		if (io_full(fd, w->buf, w->o->size, false) == 0)
			io_full(fd, w->buf, w->o->size, true);
		close(fd);	/* first: TIME_WAIT stays here */
	}
}

static int listen_on(const struct opts *o, uint16_t port)
{
	struct sockaddr_in a = o->addr;
	int fd, one = 1;

	a.sin_port = htons(port);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) || listen(fd, 4096)) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fd;
}

static int run_server(const struct opts *o, uint16_t port)
{
	struct worker rr = { .o = o }, crr[THREADS_MAX];
	unsigned int i;

	rr.listen_fd = listen_on(o, port);
	if (rr.listen_fd < 0) {
		fprintf(stderr, "tcp_crr: listen on %u: %s\n", port,
			strerror(-rr.listen_fd));
		return 1;
	}
	memset(crr, 0, sizeof(crr));
	crr[0].listen_fd = listen_on(o, port + 1);
	if (crr[0].listen_fd < 0) {
		fprintf(stderr, "tcp_crr: listen on %u: %s\n", port + 1,
			strerror(-crr[0].listen_fd));
		return 1;
	}
	if (pthread_create(&rr.tid, NULL, serve_rr, &rr))
		return 1;
	for (i = 0; i < o->threads; i++) {
		crr[i].o = o;
		crr[i].listen_fd = crr[0].listen_fd;
		crr[i].buf = malloc(o->size);
		if (!crr[i].buf ||
		    pthread_create(&crr[i].tid, NULL, serve_crr, &crr[i]))
			return 1;
	}
	/* Bounded life: the harness may forget us, the clock does not. */
	sleep(o->seconds);
	return 0;
}

/* ---- client ---- */

static int connect_to(const struct opts *o, uint16_t port)
{
	struct sockaddr_in a = o->addr;
	int fd, err;

	a.sin_port = htons(port);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	sock_tune(fd);
	if (connect(fd, (struct sockaddr *)&a, sizeof(a))) {
		err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

static void *client_rr(void *arg)
{
	struct worker *w = arg;
	uint64_t t0, t1;

	memset(w->buf, 'q', w->o->size);
	for (t0 = now_ns(); t0 < w->deadline_ns; t0 = t1) {
		if (io_full(w->fd, w->buf, w->o->size, true) ||
		    io_full(w->fd, w->buf, w->o->size, false)) {
			w->errors++;
			break;
		}
		t1 = now_ns();
		record(w, t1 - t0);
	}
	return NULL;
}

static void *client_crr(void *arg)
{
	struct worker *w = arg;
	uint16_t port = ntohs(w->o->addr.sin_port) + 1;
	uint64_t t0, t1;
	char eof;
	int fd;

	memset(w->buf, 'q', w->o->size);
	for (t0 = now_ns(); t0 < w->deadline_ns; t0 = t1) {
		fd = connect_to(w->o, port);
		if (fd >= 0 && io_full(fd, w->buf, w->o->size, true) == 0 &&
		    io_full(fd, w->buf, w->o->size, false) == 0 &&
		    recv(fd, &eof, 1, 0) == 0) {
			close(fd);
			t1 = now_ns();
			record(w, t1 - t0);
			continue;
		}
		if (fd >= 0)
			close(fd);
		t1 = now_ns();
		if (++w->errors >= ERRORS_MAX)
			break;
	}
	return NULL;
}

static double percentile_us(const uint32_t *hist, uint64_t n, double q)
{
	uint64_t want = (uint64_t)(q * n), seen = 0;

	for (uint32_t b = 0; b < HIST_BUCKETS; b++) {
		seen += hist[b];
		if (seen > want)
			return (b + 0.5) * HIST_STEP_NS / 1000.0;
	}
	return 0;
}

static int run_client(const struct opts *o)
{
	struct worker w[THREADS_MAX];
	uint64_t start, end, count = 0, errors = 0;
	uint32_t *hist;
	unsigned int i, started = 0;
	int ret = 1;

	hist = calloc(HIST_BUCKETS, sizeof(*hist));
	if (!hist)
		return 1;
	memset(w, 0, sizeof(w));
	start = now_ns();
	for (i = 0; i < o->threads; i++) {
		w[i].o = o;
		w[i].deadline_ns = start + o->seconds * 1000000000ULL;
		w[i].hist = calloc(HIST_BUCKETS, sizeof(*w[i].hist));
		w[i].buf = malloc(o->size);
		if (!w[i].hist || !w[i].buf)
			goto out;
		if (o->mode == MODE_RR) {
			w[i].fd = connect_to(o, ntohs(o->addr.sin_port));
			if (w[i].fd < 0) {
				fprintf(stderr, "tcp_crr: connect: %s\n",
					strerror(-w[i].fd));
				goto out;
			}
		}
	}
	start = now_ns();
	for (i = 0; i < o->threads; i++) {
		w[i].deadline_ns = start + o->seconds * 1000000000ULL;
		if (pthread_create(&w[i].tid, NULL, o->mode == MODE_RR ?
				   client_rr : client_crr, &w[i]))
			goto out;
		started++;
	}
	for (i = 0; i < started; i++)
		pthread_join(w[i].tid, NULL);
	end = now_ns();
	for (i = 0; i < o->threads; i++) {
		count += w[i].count;
		errors += w[i].errors;
		for (uint32_t b = 0; b < HIST_BUCKETS; b++)
			hist[b] += w[i].hist[b];
	}
	printf("{\"mode\":\"%s\",\"threads\":%u,\"size\":%u,"
	       "\"seconds\":%.3f,\"count\":%llu,\"per_second\":%.1f,"
	       "\"p50_us\":%.1f,\"p90_us\":%.1f,\"p99_us\":%.1f,"
	       "\"errors\":%llu}\n",
	       o->mode == MODE_RR ? "rr" : "crr", o->threads, o->size,
	       (end - start) / 1e9, (unsigned long long)count,
	       count * 1e9 / (end - start), percentile_us(hist, count, 0.50),
	       percentile_us(hist, count, 0.90),
	       percentile_us(hist, count, 0.99), (unsigned long long)errors);
	ret = count ? 0 : 1;
out:
	for (i = 0; i < o->threads; i++) {
		if (w[i].fd > 0 && o->mode == MODE_RR)
			close(w[i].fd);
		free(w[i].hist);
		free(w[i].buf);
	}
	free(hist);
	return ret;
}

static int usage(void)
{
	fprintf(stderr,
		"usage: tcp_crr server [-b ADDR] [-p PORT] [-s SIZE] "
		"[-n THREADS] [-t SECONDS]\n"
		"       tcp_crr rr|crr -c ADDR [-p PORT] [-s SIZE] "
		"[-n THREADS] [-t SECONDS]\n");
	return 2;
}

int main(int argc, char **argv)
{
	struct opts o = {
		.size = SIZE_DEFAULT,
		.threads = 1,
		.seconds = 5,
	};
	unsigned long port = PORT_DEFAULT, v;
	const char *addr = NULL;
	int opt;

	if (argc < 2)
		return usage();
	if (!strcmp(argv[1], "server"))
		o.mode = MODE_SERVER;
	else if (!strcmp(argv[1], "rr"))
		o.mode = MODE_RR;
	else if (!strcmp(argv[1], "crr"))
		o.mode = MODE_CRR;
	else
		return usage();
	if (o.mode == MODE_SERVER)
		o.seconds = 600;

	optind = 2;
	while ((opt = getopt(argc, argv, "b:c:p:s:n:t:")) != -1) {
		v = optarg ? strtoul(optarg, NULL, 10) : 0;
		switch (opt) {
		case 'b':
		case 'c':
			addr = optarg;
			break;
		case 'p':
			port = v;
			break;
		case 's':
			o.size = v;
			break;
		case 'n':
			o.threads = v;
			break;
		case 't':
			o.seconds = v;
			break;
		default:
			return usage();
		}
	}
	if (optind != argc || !port || port > 65534 || !o.size ||
	    o.size > SIZE_MAX_ || !o.threads || o.threads > THREADS_MAX ||
	    !o.seconds || o.seconds > SECONDS_MAX)
		return usage();
	if (o.mode != MODE_SERVER && !addr)
		return usage();

	o.addr.sin_family = AF_INET;
	o.addr.sin_port = htons(port);
	if (addr && inet_pton(AF_INET, addr, &o.addr.sin_addr) != 1) {
		fprintf(stderr, "tcp_crr: '%s' is not an IPv4 address\n",
			addr);
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	if (o.mode == MODE_SERVER)
		return run_server(&o, port);
	return run_client(&o);
}
