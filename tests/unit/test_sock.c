// SPDX-License-Identifier: GPL-2.0-only
/*
 * Host-local access to published ports (bpf/sock.h) with real sockets.
 * BPF_PROG_TEST_RUN does not run cgroup sock_addr programs (neither 6.1
 * nor 6.18 do), so the hooks are attached to a cgroup of the test's own
 * (never the root: nothing of a test goes where every process of the
 * machine runs) and a child process in it connects and sends; the parent,
 * never in it, removes it when the child is done, whatever the child did.
 *
 * The containers are 127.0.0.2 and 127.0.0.3 here (endpoints in the map,
 * addresses of lo), so that the rewritten sockets reach servers of the
 * test's own; over IPv6, fd00:18::22 on lo.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <stdlib.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <linux/magic.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "env.h"
#include "unit.h"

#define CGROUP_ROOT	"/sys/fs/cgroup"
#define SERVER_PORT	9090

struct sock_env {
	struct env e;
	uint32_t a, b;			/* the containers: 127.0.0.2, .3 */
	char cgroup[64];
	int cgroup_fd;
	struct bpf_link *link[8];
};

static bool sock_env_setup(struct sock_env *s)
{
	struct env_opts o = { .sock = true };
	struct bpf_program *prog[8];
	struct statfs st;

	memset(s, 0, sizeof(*s));
	s->cgroup_fd = -1;
	if (!env_setup(&s->e, &o))
		return false;
	prog[0] = s->e.skel->progs.sock_connect4;
	prog[1] = s->e.skel->progs.sock_sendmsg4;
	prog[2] = s->e.skel->progs.sock_recvmsg4;
	prog[3] = s->e.skel->progs.sock_getpeer4;
	prog[4] = s->e.skel->progs.sock_connect6;
	prog[5] = s->e.skel->progs.sock_sendmsg6;
	prog[6] = s->e.skel->progs.sock_recvmsg6;
	prog[7] = s->e.skel->progs.sock_getpeer6;
	s->a = ip("127.0.0.2");
	s->b = ip("127.0.0.3");
	if (!env_endpoint_add(&s->e, s->a) || !env_endpoint_add(&s->e, s->b))
		return false;
	/* the sandbox's own sysfs comes without the cgroup2 hierarchy */
	if ((statfs(CGROUP_ROOT, &st) || st.f_type != CGROUP2_SUPER_MAGIC) &&
	    mount("cgroup2", CGROUP_ROOT, "cgroup2", 0, NULL))
		unit_skip("no cgroup2 hierarchy to make a cgroup in");
	snprintf(s->cgroup, sizeof(s->cgroup),
		 CGROUP_ROOT "/bpfnat-unit-XXXXXX");
	if (!ASSERT_TRUE(mkdtemp(s->cgroup), "make a cgroup")) {
		s->cgroup[0] = '\0';
		return false;
	}
	s->cgroup_fd = open(s->cgroup, O_RDONLY | O_DIRECTORY);
	if (!ASSERT_TRUE(s->cgroup_fd >= 0, "open the cgroup"))
		return false;
	for (int i = 0; i < 8; i++) {
		s->link[i] = bpf_program__attach_cgroup(prog[i], s->cgroup_fd);
		if (!ASSERT_TRUE(s->link[i], "attach a hook to the cgroup"))
			return false;
	}
	return true;
}

/* Everything off the cgroup and the cgroup gone; its one process, the
 * child, has been waited for.
 */
static void sock_env_teardown(struct sock_env *s)
{
	for (int i = 0; i < 8; i++)
		bpf_link__destroy(s->link[i]);	/* unpinned: detached */
	if (s->cgroup_fd >= 0)
		close(s->cgroup_fd);
	if (s->cgroup[0])
		ASSERT_OK(rmdir(s->cgroup) ? -errno : 0, "remove the cgroup");
}

/* @fn in a child process in the cgroup; its failures are the test's. */
static void in_cgroup(struct sock_env *s, void (*fn)(struct sock_env *))
{
	char path[96], pid[16];
	int status, fd;
	pid_t child;

	fflush(NULL);
	child = fork();
	if (child == 0) {
		snprintf(path, sizeof(path), "%s/cgroup.procs", s->cgroup);
		snprintf(pid, sizeof(pid), "%d", getpid());
		fd = open(path, O_WRONLY);
		if (!ASSERT_TRUE(fd >= 0 && write(fd, pid, strlen(pid)) > 0,
				 "join the cgroup"))
			_exit(1);
		close(fd);
		fn(s);
		fflush(NULL);
		_exit(unit_failures ? 1 : 0);
	}
	if (!ASSERT_TRUE(child > 0, "fork"))
		return;
	waitpid(child, &status, 0);
	ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		    "the child in the cgroup");
}

static uint64_t sock_stat(struct sock_env *s, __u32 id)
{
	int ncpu = libbpf_num_possible_cpus();
	__u64 v[ncpu], sum = 0;

	if (bpf_map_lookup_elem(bpf_map__fd(s->e.skel->maps.sock_stats), &id,
				v))
		return ~0ULL;
	for (int i = 0; i < ncpu; i++)
		sum += v[i];
	return sum;
}

static struct sockaddr_in sa_in(uint32_t addr, uint16_t port)
{
	return (struct sockaddr_in){ .sin_family = AF_INET,
				     .sin_addr.s_addr = addr,
				     .sin_port = htons(port) };
}

static int bound(int type, uint32_t addr, uint16_t port)
{
	struct sockaddr_in a = sa_in(addr, port);
	int fd = socket(AF_INET, type | SOCK_CLOEXEC, 0);
	int one = 1;

	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) ||
	    (type == SOCK_STREAM && listen(fd, 8))) {
		ASSERT_OK(-errno, "a server socket");
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

/* A datagram waiting on @fd within 500 ms: its length (and sender), or -1. */
static int wait_datagram(int fd, char *buf, size_t size,
			 struct sockaddr_in *from)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	socklen_t len = sizeof(*from);

	if (poll(&p, 1, 500) != 1)
		return -1;
	return recvfrom(fd, buf, size, 0, (struct sockaddr *)from, &len);
}

static void publish(struct sock_env *s, const char *host, uint16_t port,
		    uint8_t proto, uint32_t to, uint16_t to_port)
{
	env_publish(&s->e, host ? ip(host) : 0, port, proto, to, to_port);
}

/* Which of the two containers' servers a datagram to @dst:@port, sent
 * with connect() and send() or with sendto(), reached: 'a', 'b' or '-'.
 */
struct where_case {
	const char *dst;
	uint16_t port;
	char want;
	const char *why;
};

static char where_to(int server_a, int server_b, const struct where_case *c,
		     bool connected)
{
	struct sockaddr_in to = sa_in(ip(c->dst), c->port);
	struct pollfd p[2] = { { .fd = server_a, .events = POLLIN },
			       { .fd = server_b, .events = POLLIN } };
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	char buf[16], got = '-';

	if (connected) {
		/* an error (no route) is fine: what counts is where to */
		if (!connect(fd, (struct sockaddr *)&to, sizeof(to)))
			send(fd, "x", 1, 0);
	} else {
		sendto(fd, "x", 1, 0, (struct sockaddr *)&to, sizeof(to));
	}
	close(fd);
	/* (on loopback a datagram is there as soon as it is sent) */
	if (poll(p, 2, 200) > 0)
		got = p[0].revents & POLLIN ? 'a' : 'b';
	for (int i = 0; i < 2; i++)
		while (recv(p[i].fd, buf, sizeof(buf), MSG_DONTWAIT) > 0)
			;
	return got;
}

static void where_cases(struct sock_env *s)
{
	static const struct where_case cases[] = {
		{ "127.0.0.1", 8080, 'a', "loopback, published on all" },
		{ "127.1.2.3", 8080, 'a', "all of 127.0.0.0/8" },
		{ "0.0.0.0", 8080, 'a', "0.0.0.0, the host to connect()" },
		{ "198.51.100.1", 8080, 'a', "the SNAT address" },
		{ "172.18.0.1", 8080, 'a', "the gateway" },
		{ "203.0.113.5", 8080, 'a', "an address in host_addrs" },
		{ "198.51.100.2", 8080, '-', "an address not the host's" },
		{ "127.0.0.1", 8081, 'a', "published on 127.0.0.1 itself" },
		{ "127.0.0.4", 8081, 'b', "... and on all: the others" },
		{ "127.0.0.1", 8082, '-', "its container gone" },
		{ "127.0.0.1", 8083, '-', "published for TCP only" },
		{ "127.0.0.1", 8079, '-', "not published" },
	};
	int a = bound(SOCK_DGRAM, s->a, SERVER_PORT);
	int b = bound(SOCK_DGRAM, s->b, SERVER_PORT);
	uint64_t n, sent, connected;

	if (a < 0 || b < 0)
		return;
	for (int mode = 0; mode < 2; mode++) {
		sent = sock_stat(s, SOCK_STAT_SENDMSG);
		connected = sock_stat(s, SOCK_STAT_CONNECT);
		n = 0;
		for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
			char got = where_to(a, b, &cases[i], mode);

			CHECK(got == cases[i].want, "%s %s:%u (%s): went to "
			      "'%c', expected '%c'", mode ? "connect" :
			      "sendto", cases[i].dst, cases[i].port,
			      cases[i].why, got, cases[i].want);
			n += cases[i].want != '-';
		}
		ASSERT_EQ(sock_stat(s, mode ? SOCK_STAT_CONNECT :
					      SOCK_STAT_SENDMSG) -
			  (mode ? connected : sent), n, "rewrites counted");
	}
	close(a);
	close(b);
}

static void sock_env_publish(struct sock_env *s)
{
	uint32_t gone = ip("127.0.0.9"), host = ip("203.0.113.5");
	uint8_t one = 1;

	publish(s, NULL, 8080, IPPROTO_UDP, s->a, SERVER_PORT);
	publish(s, NULL, 8080, IPPROTO_TCP, s->a, SERVER_PORT);
	publish(s, "127.0.0.1", 8081, IPPROTO_UDP, s->a, SERVER_PORT);
	publish(s, NULL, 8081, IPPROTO_UDP, s->b, SERVER_PORT);
	publish(s, NULL, 8082, IPPROTO_UDP, gone, SERVER_PORT);
	publish(s, NULL, 8083, IPPROTO_TCP, s->a, SERVER_PORT);
	ASSERT_OK(bpf_map_update_elem(bpf_map__fd(s->e.skel->maps.host_addrs),
				      &host, &one, 0), "host_addrs");
}

UNIT_TEST(sock_destinations_rewritten)
{
	struct sock_env s;

	if (sock_env_setup(&s)) {
		sock_env_publish(&s);
		in_cgroup(&s, where_cases);
	}
	sock_env_teardown(&s);
}

/* What the application reads back names where it sent. */
static void answers_cases(struct sock_env *s)
{
	struct sockaddr_in to = sa_in(ip("127.0.0.1"), 8080), from, peer;
	int srv = bound(SOCK_DGRAM, s->a, SERVER_PORT);
	int lst = bound(SOCK_STREAM, s->a, SERVER_PORT);
	socklen_t len = sizeof(peer);
	uint64_t recvd, named;
	char buf[16];
	int fd, n;

	if (srv < 0 || lst < 0)
		return;
	recvd = sock_stat(s, SOCK_STAT_RECVMSG);
	named = sock_stat(s, SOCK_STAT_GETPEERNAME);

	/* unconnected UDP: the answer comes from 127.0.0.1:8080 */
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	sendto(fd, "q", 1, 0, (struct sockaddr *)&to, sizeof(to));
	n = wait_datagram(srv, buf, sizeof(buf), &from);
	if (ASSERT_EQ(n, 1, "the question reached a")) {
		ASSERT_EQ(from.sin_addr.s_addr, ip("127.0.0.1"),
			  "a sees the host's address");
		sendto(srv, "a", 1, 0, (struct sockaddr *)&from, sizeof(from));
		n = wait_datagram(fd, buf, sizeof(buf), &from);
		ASSERT_EQ(n, 1, "the answer");
		ASSERT_EQ(from.sin_addr.s_addr, ip("127.0.0.1"),
			  "the answer from the address asked");
		ASSERT_EQ(ntohs(from.sin_port), 8080,
			  "the answer from the port asked");
	}
	close(fd);

	/* connected UDP, to the SNAT address: peer and answer both */
	to = sa_in(ip("198.51.100.1"), 8080);
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	ASSERT_OK(connect(fd, (struct sockaddr *)&to, sizeof(to)) ? -errno : 0,
		  "connect UDP");
	send(fd, "q", 1, 0);
	n = wait_datagram(srv, buf, sizeof(buf), &from);
	if (ASSERT_EQ(n, 1, "the question reached a")) {
		sendto(srv, "a", 1, 0, (struct sockaddr *)&from, sizeof(from));
		n = wait_datagram(fd, buf, sizeof(buf), &from);
		ASSERT_EQ(n, 1, "the answer");
		ASSERT_EQ(from.sin_addr.s_addr, ip("198.51.100.1"),
			  "connected: the answer from the SNAT address");
	}
	getpeername(fd, (struct sockaddr *)&peer, &len);
	ASSERT_EQ(peer.sin_addr.s_addr, ip("198.51.100.1"), "UDP peer address");
	ASSERT_EQ(ntohs(peer.sin_port), 8080, "UDP peer port");
	close(fd);

	/* TCP: the peer is where the application connected */
	to = sa_in(ip("127.0.0.1"), 8080);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ASSERT_OK(connect(fd, (struct sockaddr *)&to, sizeof(to)) ? -errno : 0,
		  "connect TCP to 127.0.0.1:8080");
	len = sizeof(peer);
	getpeername(fd, (struct sockaddr *)&peer, &len);
	ASSERT_EQ(peer.sin_addr.s_addr, ip("127.0.0.1"), "TCP peer address");
	ASSERT_EQ(ntohs(peer.sin_port), 8080, "TCP peer port");
	n = accept(lst, NULL, NULL);
	ASSERT_TRUE(n >= 0, "a accepted it");
	if (n >= 0)
		close(n);
	close(fd);

	ASSERT_EQ(sock_stat(s, SOCK_STAT_RECVMSG) - recvd, 2,
		  "answers' sources put back");
	ASSERT_EQ(sock_stat(s, SOCK_STAT_GETPEERNAME) - named, 2,
		  "peer names put back");
	close(srv);
	close(lst);
}

UNIT_TEST(sock_answers_from_where_asked)
{
	struct sock_env s;

	if (sock_env_setup(&s)) {
		sock_env_publish(&s);
		in_cgroup(&s, answers_cases);
	}
	sock_env_teardown(&s);
}

/* One socket, more containers than it has slots: the oldest is forgotten,
 * the rest are answered right.
 */
#define MANY (SOCK_REV_SLOTS + 1)

static void slots_cases(struct sock_env *s)
{
	struct sockaddr_in to, from, first;
	int srv[MANY], fd, n;
	char buf[16];
	uint64_t replaced = sock_stat(s, SOCK_STAT_REV_REPLACED);

	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	for (int i = 0; i < MANY; i++) {
		srv[i] = bound(SOCK_DGRAM, s->a, SERVER_PORT + 10 + i);
		if (srv[i] < 0)
			return;
		to = sa_in(ip("127.0.0.1"), 8100 + i);
		sendto(fd, "q", 1, 0, (struct sockaddr *)&to, sizeof(to));
		n = wait_datagram(srv[i], buf, sizeof(buf), &from);
		if (!ASSERT_EQ(n, 1, "a question"))
			return;
		if (i == 0)
			first = from;
		sendto(srv[i], "a", 1, 0, (struct sockaddr *)&from,
		       sizeof(from));
		n = wait_datagram(fd, buf, sizeof(buf), &from);
		ASSERT_EQ(n, 1, "its answer");
		CHECK(from.sin_addr.s_addr == ip("127.0.0.1") &&
		      ntohs(from.sin_port) == 8100 + i,
		      "answer %d from %s:%u, expected 127.0.0.1:%u", i,
		      inet_ntoa(from.sin_addr), ntohs(from.sin_port), 8100 + i);
	}
	ASSERT_EQ(sock_stat(s, SOCK_STAT_REV_REPLACED) - replaced, 1,
		  "one slot taken over");
	/* the first container, forgotten, is seen as itself */
	sendto(srv[0], "late", 4, 0, (struct sockaddr *)&first, sizeof(first));
	n = wait_datagram(fd, buf, sizeof(buf), &from);
	ASSERT_EQ(n, 4, "a late answer");
	ASSERT_EQ(from.sin_addr.s_addr, s->a, "from the container itself");
	for (int i = 0; i < MANY; i++)
		close(srv[i]);
	close(fd);
}

UNIT_TEST(sock_slots_of_a_socket)
{
	struct sock_env s;

	if (!sock_env_setup(&s))
		goto out;
	for (int i = 0; i < MANY; i++)
		publish(&s, NULL, 8100 + i, IPPROTO_UDP, s.a,
			SERVER_PORT + 10 + i);
	in_cgroup(&s, slots_cases);
out:
	sock_env_teardown(&s);
}

/* In the cgroup but another namespace, or outside the cgroup: the host's
 * 127.0.0.1 is not theirs to reach the containers by.
 */
static void other_netns_case(struct sock_env *s)
{
	struct sockaddr_in to = sa_in(ip("127.0.0.1"), 8080);
	uint64_t before = sock_stat(s, SOCK_STAT_CONNECT);
	int fd;

	if (!ASSERT_OK(unshare(CLONE_NEWNET) ? -errno : 0, "a namespace"))
		return;
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	connect(fd, (struct sockaddr *)&to, sizeof(to));
	close(fd);
	ASSERT_EQ(sock_stat(s, SOCK_STAT_CONNECT), before,
		  "another namespace: not rewritten");
}

UNIT_TEST(sock_other_namespaces_and_cgroups_untouched)
{
	struct sockaddr_in to = sa_in(ip("127.0.0.1"), 8080);
	struct sock_env s;
	uint64_t before;
	int fd;

	if (!sock_env_setup(&s))
		goto out;
	sock_env_publish(&s);
	in_cgroup(&s, other_netns_case);
	before = sock_stat(&s, SOCK_STAT_CONNECT);
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	connect(fd, (struct sockaddr *)&to, sizeof(to));
	close(fd);
	ASSERT_EQ(sock_stat(&s, SOCK_STAT_CONNECT), before,
		  "outside the cgroup: not rewritten");
out:
	sock_env_teardown(&s);
}

/* IPv6: container a6 is fd00:18::22, an address of lo here. */
#define A6 "fd00:18::22"

static struct sockaddr_in6 sa_in6(const char *addr, uint16_t port)
{
	struct sockaddr_in6 a = { .sin6_family = AF_INET6,
				  .sin6_port = htons(port) };

	inet_pton(AF_INET6, addr, &a.sin6_addr);
	return a;
}

static int bound6(int type, const char *addr, uint16_t port)
{
	struct sockaddr_in6 a = sa_in6(addr, port);
	int fd = socket(AF_INET6, type | SOCK_CLOEXEC, 0);
	int one = 1;

	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) ||
	    (type == SOCK_STREAM && listen(fd, 8))) {
		ASSERT_OK(-errno, "a server socket");
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

/* Did a datagram sent with sendto() to [@dst]:@port reach @server? */
static bool reached6(int server, const char *dst, uint16_t port)
{
	struct sockaddr_in6 to = sa_in6(dst, port);
	struct pollfd p = { .fd = server, .events = POLLIN };
	int fd = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	char buf[16];
	bool got;

	sendto(fd, "x", 1, 0, (struct sockaddr *)&to, sizeof(to));
	close(fd);
	got = poll(&p, 1, 200) > 0;
	while (recv(server, buf, sizeof(buf), MSG_DONTWAIT) > 0)
		;
	return got;
}

static void ipv6_cases(struct sock_env *s)
{
	static const struct {
		const char *dst;
		uint16_t port;
		bool want;
		const char *why;
	} cases[] = {
		{ "::1", 8080, true, "loopback, published on ::" },
		{ "::", 8080, true, ":: the host to connect()" },
		{ ADDR6_GW, 8080, true, "the IPv6 gateway" },
		{ "2001:db8:9::77", 8080, true, "an address in host_addrs6" },
		{ "2001:db8:1::2", 8080, false, "an address not the host's" },
		{ "::1", 8084, false, "published for IPv4 alone" },
		{ "::1", 8079, false, "not published" },
	};
	struct sockaddr_in6 to = sa_in6("::1", 8080), from, peer;
	int srv = bound6(SOCK_DGRAM, A6, SERVER_PORT);
	int lst = bound6(SOCK_STREAM, A6, SERVER_PORT);
	socklen_t len = sizeof(from);
	uint64_t sent = sock_stat(s, SOCK_STAT_SENDMSG);
	char buf[16], want[INET6_ADDRSTRLEN];
	int fd, n, expected = 0;

	if (srv < 0 || lst < 0)
		return;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint64_t before = sock_stat(s, SOCK_STAT_SENDMSG);

		CHECK(reached6(srv, cases[i].dst, cases[i].port) ==
		      cases[i].want, "sendto [%s]:%u (%s): %s", cases[i].dst,
		      cases[i].port, cases[i].why,
		      cases[i].want ? "did not reach a" : "reached a");
		CHECK(sock_stat(s, SOCK_STAT_SENDMSG) - before == cases[i].want,
		      "sendto [%s]:%u (%s): %s", cases[i].dst, cases[i].port,
		      cases[i].why, cases[i].want ? "not counted" :
		      "counted as rewritten");
		expected += cases[i].want;
	}
	ASSERT_EQ(sock_stat(s, SOCK_STAT_SENDMSG) - sent, expected,
		  "rewrites counted");

	/* an answer comes from where the question went */
	fd = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	sendto(fd, "q", 1, 0, (struct sockaddr *)&to, sizeof(to));
	if (poll(&(struct pollfd){ .fd = srv, .events = POLLIN }, 1, 500) == 1 &&
	    ASSERT_EQ(recvfrom(srv, buf, sizeof(buf), 0,
			       (struct sockaddr *)&from, &len), 1,
		      "the question reached a")) {
		sendto(srv, "a", 1, 0, (struct sockaddr *)&from, len);
		len = sizeof(from);
		n = -1;
		if (poll(&(struct pollfd){ .fd = fd, .events = POLLIN }, 1,
			 500) == 1)
			n = recvfrom(fd, buf, sizeof(buf), 0,
				     (struct sockaddr *)&from, &len);
		ASSERT_EQ(n, 1, "the answer");
		inet_ntop(AF_INET6, &from.sin6_addr, want, sizeof(want));
		CHECK(!strcmp(want, "::1") && ntohs(from.sin6_port) == 8080,
		      "the answer from [%s]:%u, expected [::1]:8080", want,
		      ntohs(from.sin6_port));
	} else {
		CHECK(false, "the question did not reach a");
	}
	close(fd);

	/* TCP: the peer is where the application connected */
	fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ASSERT_OK(connect(fd, (struct sockaddr *)&to, sizeof(to)) ? -errno : 0,
		  "connect TCP to [::1]:8080");
	len = sizeof(peer);
	getpeername(fd, (struct sockaddr *)&peer, &len);
	inet_ntop(AF_INET6, &peer.sin6_addr, want, sizeof(want));
	CHECK(!strcmp(want, "::1") && ntohs(peer.sin6_port) == 8080,
	      "TCP peer [%s]:%u, expected [::1]:8080", want,
	      ntohs(peer.sin6_port));
	n = accept(lst, NULL, NULL);
	ASSERT_TRUE(n >= 0, "a accepted it");
	if (n >= 0)
		close(n);
	close(fd);
	close(srv);
	close(lst);
}

/*
 * Over IPv6: a port published on :: answers at ::1, ::, the gateway and
 * the host's other IPv6 addresses, not at another's; what the application
 * reads back names where it asked.  (An IPv4-mapped destination is the
 * kernel's to hand to the IPv4 hooks, or not: a UDP datagram's sendto()
 * runs sendmsg4, a TCP connect() no IPv4 hook.)
 */
UNIT_TEST(sock_ipv6_destinations_rewritten)
{
	struct in6_addr a6 = ip6(A6), host = ip6("2001:db8:9::77");
	struct sock_env s;
	struct endpoint ep = {};
	uint8_t one = 1;

	if (sock_env_setup(&s) &&
	    ASSERT_OK(system("ip -6 addr add " A6 "/128 dev lo nodad"),
		      "a6 on lo") &&
	    ASSERT_OK(bpf_map_update_elem(
			      bpf_map__fd(s.e.skel->maps.endpoints6), &a6,
			      &ep, 0), "a6's endpoint") &&
	    ASSERT_OK(bpf_map_update_elem(
			      bpf_map__fd(s.e.skel->maps.host_addrs6), &host,
			      &one, 0), "host_addrs6") &&
	    env_publish6(&s.e, NULL, 8080, IPPROTO_UDP, &a6, SERVER_PORT) &&
	    env_publish6(&s.e, NULL, 8080, IPPROTO_TCP, &a6, SERVER_PORT) &&
	    env_publish(&s.e, 0, 8084, IPPROTO_UDP, s.a, SERVER_PORT))
		in_cgroup(&s, ipv6_cases);
	sock_env_teardown(&s);
}
