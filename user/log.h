/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * One logging module.  Errors are one line on stderr, "bpfnat: ...";
 * pr_info and pr_debug speak only with -v, and so do libbpf's messages.
 */
#ifndef BPFNAT_LOG_H
#define BPFNAT_LOG_H

#include <stdbool.h>

void log_set_verbose(bool on);
bool log_verbose(void);

void pr_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void pr_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void pr_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* libbpf's print callback: through pr_debug. */
void log_setup_libbpf(void);

#endif /* BPFNAT_LOG_H */
