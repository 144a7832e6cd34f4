// SPDX-License-Identifier: GPL-2.0-only
/*
 * bpfnat's CNI plugin: the request read and checked, one command run, the
 * answer printed (see cni.h).
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cni.h"
#include "log.h"

#ifndef BPFNAT_VERSION
#define BPFNAT_VERSION "unknown"
#endif

/* What a plugin that is asked nothing else answers with. */
#define CNI_VERSION_LATEST "1.1.0"

static const char *const supported_versions[] = {
	"0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0",
};
#define N_VERSIONS (sizeof(supported_versions) / sizeof(supported_versions[0]))

static struct {
	int code;
	char msg[128];
	char details[1024];
} failure;

/* The library's first complaint, for an error's details. */
static char said[1024];

int cni_fail(int code, const char *msg, const char *fmt, ...)
{
	va_list ap;

	if (failure.code)
		return -1;
	failure.code = code;
	snprintf(failure.msg, sizeof(failure.msg), "%s", msg);
	if (fmt) {
		va_start(ap, fmt);
		vsnprintf(failure.details, sizeof(failure.details), fmt, ap);
		va_end(ap);
	} else {
		snprintf(failure.details, sizeof(failure.details), "%s", said);
	}
	/* the runtime logs stderr; the error object alone goes to stdout */
	fprintf(stderr, "bpfnat: CNI error %d: %s%s%s\n", code, msg,
		failure.details[0] ? ": " : "", failure.details);
	return -1;
}

int cni_failed(void)
{
	return failure.code;
}

static int version_parse(const char *v, int *out)
{
	return sscanf(v, "%d.%d.%d", &out[0], &out[1], &out[2]) == 3 ? 0 :
								       -EINVAL;
}

bool cni_version_ge(const char *version, const char *min)
{
	int a[3], b[3];

	if (version_parse(version, a) || version_parse(min, b))
		return false;
	for (int i = 0; i < 3; i++)
		if (a[i] != b[i])
			return a[i] > b[i];
	return true;
}

static bool version_supported(const char *v)
{
	for (size_t i = 0; i < N_VERSIONS; i++)
		if (!strcmp(v, supported_versions[i]))
			return true;
	return false;
}

static void print_json(json_t *v)
{
	json_dumpf(v, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	fputc('\n', stdout);
	json_decref(v);
}

static void print_error(const char *version)
{
	print_json(json_pack("{s:s, s:i, s:s, s:s}", "cniVersion",
			     version ? version : CNI_VERSION_LATEST, "code",
			     failure.code, "msg", failure.msg, "details",
			     failure.details));
}

static const struct {
	const char *name;
	enum cni_command command;
} commands[] = {
	{ "ADD", CNI_ADD },
	{ "DEL", CNI_DEL },
	{ "CHECK", CNI_CHECK },
	{ "GC", CNI_GC },
	{ "STATUS", CNI_STATUS },
	{ "VERSION", CNI_VERSION },
};

/* CNI_CONTAINERID: alphanumeric first, then alphanumerics, '_', '.', '-'. */
static bool container_id_valid(const char *id)
{
	if (!isalnum((unsigned char)id[0]) || strlen(id) > ATTACH_ID_MAX)
		return false;
	for (const char *c = id; *c; c++)
		if (!isalnum((unsigned char)*c) && !strchr("_.-", *c))
			return false;
	return true;
}

/* CNI_IFNAME: what Linux takes as an interface name. */
static bool ifname_valid(const char *name)
{
	size_t len = strlen(name);

	if (!len || len >= IF_NAMESIZE || !strcmp(name, ".") ||
	    !strcmp(name, ".."))
		return false;
	for (const char *c = name; *c; c++)
		if (*c == '/' || *c == ':' || isspace((unsigned char)*c))
			return false;
	return true;
}

/* The environment of @r->command: 0, or cni_fail()'s -1. */
static int env_read(struct cni_req *r)
{
	const bool attach = r->command == CNI_ADD || r->command == CNI_DEL ||
			    r->command == CNI_CHECK;
	const bool netns = r->command == CNI_ADD || r->command == CNI_CHECK;

	r->container_id = getenv("CNI_CONTAINERID");
	r->netns = getenv("CNI_NETNS");
	r->ifname = getenv("CNI_IFNAME");
	r->path = getenv("CNI_PATH");
	if (r->netns && !r->netns[0])
		r->netns = NULL;
	/* CNI_ARGS (IgnoreUnknown=1;K8S_POD_NAME=...) asks bpfnat nothing:
	 * every argument is one it does not know, and ignores
	 */
	if (!attach)
		return 0;
	if (!r->container_id || !container_id_valid(r->container_id))
		return cni_fail(CNI_ERR_ENV, "invalid CNI_CONTAINERID",
				"CNI_CONTAINERID '%s': expected an "
				"alphanumeric, then alphanumerics, '_', '.' "
				"or '-', at most %d",
				r->container_id ? r->container_id : "",
				ATTACH_ID_MAX);
	if (!r->ifname || !ifname_valid(r->ifname))
		return cni_fail(CNI_ERR_ENV, "invalid CNI_IFNAME",
				"CNI_IFNAME '%s': not an interface name",
				r->ifname ? r->ifname : "");
	if (netns && !r->netns)
		return cni_fail(CNI_ERR_ENV, "missing CNI_NETNS",
				"CNI_NETNS: the container's namespace is "
				"needed for %s",
				r->command == CNI_ADD ? "ADD" : "CHECK");
	if (r->netns && (r->netns[0] != '/' ||
			 strlen(r->netns) >= ATTACH_NETNS_MAX))
		return cni_fail(CNI_ERR_ENV, "invalid CNI_NETNS",
				"CNI_NETNS '%s': expected an absolute path "
				"shorter than %d", r->netns, ATTACH_NETNS_MAX);
	return 0;
}

/* The configuration on stdin into @r->conf: 0, or cni_fail()'s -1. */
static int conf_read(struct cni_req *r)
{
	json_error_t jerr;

	r->conf = json_loadf(stdin, 0, &jerr);
	if (r->conf && json_is_object(r->conf))
		return 0;
	if (ferror(stdin))
		return cni_fail(CNI_ERR_IO, "cannot read the network "
				"configuration", "stdin: %s", strerror(errno));
	if (r->command == CNI_VERSION && !r->conf &&
	    jerr.position == 0)
		return 0;	/* VERSION needs nothing */
	return cni_fail(CNI_ERR_DECODE, "cannot decode the network "
			"configuration", r->conf ? "not a JSON object" :
			"line %d: %s", jerr.line, jerr.text);
}

static int version_print(struct cni_req *r)
{
	const char *v = r->conf ? json_string_value(json_object_get(
					  r->conf, "cniVersion")) : NULL;
	json_t *list = json_array();

	for (size_t i = 0; i < N_VERSIONS; i++)
		json_array_append_new(list, json_string(supported_versions[i]));
	print_json(json_pack("{s:s, s:o}", "cniVersion",
			     v ? v : CNI_VERSION_LATEST, "supportedVersions",
			     list));
	return 0;
}

/* Does the configuration's version allow @r's command? */
static int version_check(struct cni_req *r)
{
	static const struct {
		enum cni_command command;
		const char *name, *since;
	} since[] = {
		{ CNI_CHECK, "CHECK", "0.4.0" },
		{ CNI_GC, "GC", "1.1.0" },
		{ CNI_STATUS, "STATUS", "1.1.0" },
	};
	char list[64] = "";

	r->version = json_string_value(json_object_get(r->conf, "cniVersion"));
	if (!r->version || !version_supported(r->version)) {
		for (size_t i = 0; i < N_VERSIONS; i++)
			snprintf(list + strlen(list), sizeof(list) - strlen(list),
				 "%s%s", i ? ", " : "", supported_versions[i]);
		return cni_fail(CNI_ERR_VERSION, "incompatible CNI version",
				"cniVersion %s: bpfnat speaks %s",
				r->version ? r->version : "(none, so 0.1.0)",
				list);
	}
	for (size_t i = 0; i < sizeof(since) / sizeof(since[0]); i++)
		if (r->command == since[i].command &&
		    !cni_version_ge(r->version, since[i].since))
			return cni_fail(CNI_ERR_VERSION, "incompatible CNI "
					"version", "%s needs cniVersion %s or "
					"later, the configuration has %s",
					since[i].name, since[i].since,
					r->version);
	return 0;
}

static int run(struct cni_req *r)
{
	const char *cmd = getenv("CNI_COMMAND");
	size_t i;

	for (i = 0; cmd && i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(cmd, commands[i].name))
			break;
	if (!cmd || i == sizeof(commands) / sizeof(commands[0]))
		return cni_fail(CNI_ERR_ENV, "invalid CNI_COMMAND",
				"CNI_COMMAND '%s': expected ADD, DEL, CHECK, "
				"GC, STATUS or VERSION", cmd ? cmd : "");
	r->command = commands[i].command;
	if (conf_read(r))
		return -1;
	if (r->command == CNI_VERSION)
		return version_print(r);
	if (version_check(r) || env_read(r) || conf_parse(r))
		return -1;
	switch (r->command) {
	case CNI_ADD:
		return cni_add(r);
	case CNI_DEL:
		return cni_del(r);
	case CNI_CHECK:
		return cni_check(r);
	case CNI_GC:
		return cni_gc(r);
	case CNI_STATUS:
		return cni_status(r);
	default:
		return 0;
	}
}

int main(int argc, char **argv)
{
	struct cni_req r = {};
	int err;

	if (argc > 1 && (!strcmp(argv[1], "--version") ||
			 !strcmp(argv[1], "-V"))) {
		printf("bpfnat CNI plugin %s, CNI spec %s\n", BPFNAT_VERSION,
		       CNI_VERSION_LATEST);
		return 0;
	}
	/* an IPAM plugin that stops reading, or a runtime that stops
	 * listening, is an error to report, not a reason to die of SIGPIPE
	 */
	signal(SIGPIPE, SIG_IGN);
	if (getenv("BPFNAT_CNI_VERBOSE"))
		log_set_verbose(true);
	log_setup_libbpf();
	log_keep_first(said, sizeof(said));
	err = run(&r);
	if (err && !cni_failed())
		cni_fail(CNI_ERR_FAILED, "bpfnat failed", NULL);
	if (err)
		print_error(r.version);
	json_decref(r.conf);
	return err ? 1 : 0;
}
