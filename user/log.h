/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * One logging module.  Errors are one line on stderr, "bpfnat: ...";
 * pr_info and pr_debug speak only with -v, and so do libbpf's messages.
 */
#ifndef BPFNAT_LOG_H
#define BPFNAT_LOG_H

#include <stdbool.h>
#include <stddef.h>

void log_set_verbose(bool on);
bool log_verbose(void);

void pr_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void pr_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void pr_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * Keep the first pr_warn line from now on in @buf (without "bpfnat: "),
 * as well as printing it: for a front end that reports errors elsewhere
 * (the CNI plugin's error object).  @buf NULL stops it.
 */
void log_keep_first(char *buf, size_t size);

/* libbpf's print callback: through pr_debug. */
void log_setup_libbpf(void);

#endif /* BPFNAT_LOG_H */
