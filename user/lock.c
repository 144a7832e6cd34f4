// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/file.h>
#include <sys/stat.h>

#include "lock.h"
#include "log.h"

static const struct {
	int sig;
	const char *name;
} held_back[] = {
	{ SIGINT, "SIGINT" },
	{ SIGTERM, "SIGTERM" },
	{ SIGHUP, "SIGHUP" },
	{ SIGQUIT, "SIGQUIT" },
};
#define N_HELD_BACK (sizeof(held_back) / sizeof(held_back[0]))

static bool lock_held;

static void on_alarm(int sig)
{
	(void)sig;	/* only to end the wait: flock() returns EINTR */
}

/* flock(LOCK_EX) that gives up after @seconds. */
static int flock_wait(int fd, unsigned int seconds)
{
	struct sigaction sa = { .sa_handler = on_alarm }, old;
	int err = 0;

	if (!flock(fd, LOCK_EX | LOCK_NB))
		return 0;
	if (errno != EWOULDBLOCK)
		return -errno;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, &old);	/* no SA_RESTART: the wait ends */
	alarm(seconds);
	if (flock(fd, LOCK_EX))
		err = errno == EINTR ? -ETIMEDOUT : -errno;
	alarm(0);
	sigaction(SIGALRM, &old, NULL);
	return err;
}

/* LOCK_WAIT_SECONDS, or what BPFNAT_LOCK_WAIT says (1 to 3600). */
static int wait_seconds(void)
{
	const char *v = getenv("BPFNAT_LOCK_WAIT");
	char *end;
	long n;

	if (!v || !*v)
		return LOCK_WAIT_SECONDS;
	n = strtol(v, &end, 10);
	if (*end || n < 1 || n > 3600)
		return LOCK_WAIT_SECONDS;
	return n;
}

int lock_take(const char *what)
{
	int wait = wait_seconds();
	sigset_t set;
	int fd, err;

	if (lock_held)
		return 0;	/* by an earlier command of a batch */
	if (mkdir(BPFNAT_RUN_DIR, 0755) && errno != EEXIST) {
		err = -errno;
		pr_warn("%s: create %s: %s", what, BPFNAT_RUN_DIR,
			strerror(-err));
		return err;
	}
	/* never closed: the lock lasts as long as the process */
	fd = open(BPFNAT_LOCK_FILE, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0) {
		err = -errno;
		pr_warn("%s: open %s: %s", what, BPFNAT_LOCK_FILE,
			strerror(-err));
		return err;
	}
	err = flock_wait(fd, wait);
	if (err) {
		if (err == -ETIMEDOUT)
			pr_warn("%s: another bpfnat command has held %s for "
				"%d s", what, BPFNAT_LOCK_FILE, wait);
		else
			pr_warn("%s: lock %s: %s", what, BPFNAT_LOCK_FILE,
				strerror(-err));
		close(fd);
		return err;
	}
	sigemptyset(&set);
	for (size_t i = 0; i < N_HELD_BACK; i++)
		sigaddset(&set, held_back[i].sig);
	sigprocmask(SIG_BLOCK, &set, NULL);
	lock_held = true;
	return 0;
}

void lock_signals_hold(bool hold)
{
	sigset_t set;

	if (!lock_held)
		return;
	sigemptyset(&set);
	for (size_t i = 0; i < N_HELD_BACK; i++)
		sigaddset(&set, held_back[i].sig);
	sigprocmask(hold ? SIG_BLOCK : SIG_UNBLOCK, &set, NULL);
}

const char *lock_interrupted(void)
{
	sigset_t pending;

	if (sigpending(&pending))
		return NULL;
	for (size_t i = 0; i < N_HELD_BACK; i++)
		if (sigismember(&pending, held_back[i].sig) == 1)
			return held_back[i].name;
	return NULL;
}
