/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The commands.  Each takes the arguments after its verb, prints its own
 * one-line error when it fails, and returns the process exit code.
 */
#ifndef BPFNAT_CMD_H
#define BPFNAT_CMD_H

#include <stdbool.h>

#include <jansson.h>

enum exit_code {
	EXIT_OK = 0,
	EXIT_FAIL = 1,		/* the command could not be carried out */
	EXIT_USAGE = 2,		/* the command line is wrong */
};

/* -j anywhere on the command line */
extern bool json_output;

int cmd_up(int argc, char **argv);
int cmd_down(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_ns_add(int argc, char **argv);
int cmd_ns_del(int argc, char **argv);
int cmd_ns_list(int argc, char **argv);
int cmd_ct_list(int argc, char **argv);
int cmd_ct_del(int argc, char **argv);
int cmd_ct_count(int argc, char **argv);
int cmd_ct_flush(int argc, char **argv);
int cmd_stats(int argc, char **argv);
int cmd_port_add(int argc, char **argv);
int cmd_port_del(int argc, char **argv);
int cmd_port_list(int argc, char **argv);
int cmd_monitor(int argc, char **argv);

/* One command line as main() takes it (argv[0] the program's name). */
int run_command(int argc, char **argv);

/* The commands of @path ("-": standard input), a line each; @force: on
 * after a failure.
 */
int cmd_batch(const char *path, bool force);

/* "bpfnat: WHAT: MESSAGE" (WHAT NULL: "bpfnat: MESSAGE") and EXIT_USAGE */
int usage_error(const char *what, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* A container's name as `ns add` takes it: EXIT_OK, or EXIT_USAGE after
 * saying why.
 */
int check_name(const char *what, const char *name);

struct bpfnat_config;

/* Is the data path up (its configuration into @cfg, if not NULL)?  If not,
 * says "WHAT: bpfnat is down" on stderr.
 */
bool need_running(const char *what, struct bpfnat_config *cfg);

/* Print @v on stdout and release it. */
void json_print(json_t *v);

#endif /* BPFNAT_CMD_H */
