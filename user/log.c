// SPDX-License-Identifier: GPL-2.0-only
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <bpf/libbpf.h>

#include "log.h"

static bool verbose;
static char *kept;
static size_t kept_size;

void log_set_verbose(bool on)
{
	verbose = on;
}

bool log_verbose(void)
{
	return verbose;
}

static void log_line(const char *fmt, va_list ap)
{
	fputs("bpfnat: ", stderr);
	vfprintf(stderr, fmt, ap);
	if (!*fmt || fmt[strlen(fmt) - 1] != '\n')
		fputc('\n', stderr);
}

void log_keep_first(char *buf, size_t size)
{
	kept = buf;
	kept_size = size;
	if (buf && size)
		buf[0] = '\0';
}

void pr_warn(const char *fmt, ...)
{
	va_list ap;

	if (kept && kept_size && !kept[0]) {
		va_start(ap, fmt);
		vsnprintf(kept, kept_size, fmt, ap);
		va_end(ap);
		kept[strcspn(kept, "\n")] = '\0';
	}
	va_start(ap, fmt);
	log_line(fmt, ap);
	va_end(ap);
}

void pr_info(const char *fmt, ...)
{
	va_list ap;

	if (!verbose)
		return;
	va_start(ap, fmt);
	log_line(fmt, ap);
	va_end(ap);
}

void pr_debug(const char *fmt, ...)
{
	va_list ap;

	if (!verbose)
		return;
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
}

static int libbpf_print(enum libbpf_print_level level, const char *fmt,
			va_list ap)
{
	(void)level;
	if (!verbose)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

void log_setup_libbpf(void)
{
	libbpf_set_print(libbpf_print);
}
