// SPDX-License-Identifier: GPL-2.0-only
/*
 * bpfnat -batch FILE: one command a line, as `ip -batch` reads them, run
 * by one process.  What a batch saves is what every command pays before
 * its work: starting a process, loading its libraries, taking the lock
 * (held from the first command that takes it to the end of the batch).
 *
 * A line is what follows `bpfnat` on a command line: words split at
 * blanks, "..." or '...' keeping blanks in one word, a word that starts
 * with # ending the line (no backslash continues one).  -j and -v on a
 * line are that line's.  The batch stops at the first command that fails
 * and exits as it did; -force goes on to the end and exits with the worst
 * of them.  Each command is as whole as on its own (no partial state);
 * the batch is not one transaction.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "lock.h"
#include "log.h"

#define BATCH_WORDS_MAX 256

/*
 * Split @line into words in place; *@argc words into @argv[1..] (argv[0]
 * is the program's name, as dispatch wants it).  Returns 0, or a message
 * saying what is wrong.
 */
static const char *split_words(char *line, char **argv, int *argc)
{
	char *in = line, *out = line;
	int n = 1;

	for (;;) {
		while (*in == ' ' || *in == '\t' || *in == '\r' || *in == '\n')
			in++;
		if (!*in || *in == '#')
			break;
		if (n == BATCH_WORDS_MAX - 1)
			return "too many words";
		argv[n++] = out;
		while (*in && !strchr(" \t\r\n", *in)) {
			char quote = *in;

			if (quote != '"' && quote != '\'') {
				*out++ = *in++;
				continue;
			}
			in++;
			while (*in && *in != quote)
				*out++ = *in++;
			if (!*in)
				return "a quote is not closed";
			in++;
		}
		/* the word ends before what follows it is read: in can
		 * be out, so keep the blank's place first
		 */
		if (*in)
			in++;
		*out++ = '\0';
	}
	argv[n] = NULL;
	*argc = n;
	return NULL;
}

static bool is_global_option(const char *w)
{
	return !strcmp(w, "-j") || !strcmp(w, "--json") || !strcmp(w, "-v") ||
	       !strcmp(w, "--verbose");
}

/* Is this a command that cannot run in a batch (after -j and -v)? */
static const char *not_in_batch(int argc, char **argv)
{
	int i = 1;

	while (i < argc && is_global_option(argv[i]))
		i++;
	if (i == argc)
		return NULL;
	if (!strcmp(argv[i], "monitor"))
		return "monitor runs until a signal, which a batch holds back";
	if (!strcmp(argv[i], "-batch") || !strcmp(argv[i], "--batch") ||
	    !strcmp(argv[i], "-b") || !strcmp(argv[i], "-force") ||
	    !strcmp(argv[i], "--force"))
		return "a batch in a batch";
	return NULL;
}

int cmd_batch(const char *path, bool force)
{
	bool json = json_output, verbose = log_verbose();
	char *line = NULL, *argv[BATCH_WORDS_MAX];
	const char *name = strcmp(path, "-") ? path : "stdin";
	int worst = EXIT_OK, argc, ret;
	unsigned long lineno = 0;
	size_t cap = 0;
	FILE *f;

	f = strcmp(path, "-") ? fopen(path, "re") : stdin;
	if (!f) {
		pr_warn("-batch %s: %s", path, strerror(errno));
		return EXIT_FAIL;
	}
	argv[0] = "bpfnat";
	for (;;) {
		const char *why, *signal;
		ssize_t got;

		/* a signal held back since the lock was taken ends the
		 * batch between two commands; while it waits for a line,
		 * one ends it as it would end any command-line tool
		 */
		signal = lock_interrupted();
		if (signal) {
			pr_warn("%s:%lu: stopped by %s", name, lineno, signal);
			worst = worst > EXIT_FAIL ? worst : EXIT_FAIL;
			break;
		}
		lock_signals_hold(false);
		got = getline(&line, &cap, f);
		lock_signals_hold(true);
		if (got < 0)
			break;
		lineno++;
		why = split_words(line, argv, &argc);
		if (!why)
			why = not_in_batch(argc, argv);
		if (why) {
			pr_warn("%s:%lu: %s", name, lineno, why);
			worst = EXIT_USAGE;
			if (!force)
				break;
			continue;
		} else if (argc == 1) {
			continue;	/* blank, or a comment */
		} else {
			ret = run_command(argc, argv);
			fflush(stdout);
			json_output = json;
			log_set_verbose(verbose);
		}
		if (ret > worst)
			worst = ret;
		if (ret != EXIT_OK) {
			pr_warn("%s:%lu: command failed", name, lineno);
			if (!force)
				break;
		}
	}
	if (ferror(f)) {
		pr_warn("-batch %s: read: %s", path, strerror(errno));
		worst = worst > EXIT_FAIL ? worst : EXIT_FAIL;
	}
	free(line);
	if (f != stdin)
		fclose(f);
	return worst;
}
