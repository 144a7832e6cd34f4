/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * bpfnat's CNI plugin: the CNI protocol (containernetworking/cni SPEC.md,
 * 1.0.0 and 1.1.0's GC and STATUS, with the 0.3.0 to 0.4.0 result
 * formats) over the library the CLI uses.  A request is the environment
 * (CNI_COMMAND, CNI_CONTAINERID, CNI_NETNS, CNI_IFNAME, CNI_ARGS,
 * CNI_PATH) and the network configuration on stdin; the answer is a
 * result, or an error object, on stdout.
 *
 *   main.c      the request read and checked, the command run, the answer
 *   conf.c      the network configuration: bpfnat's keys, portMappings,
 *               prevResult
 *   ipam.c      delegation to the IPAM plugin of the "ipam" section
 *   commands.c  ADD, DEL, CHECK, GC, STATUS
 */
#ifndef BPFNAT_CNI_H
#define BPFNAT_CNI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "attach.h"
#include "config.h"
#include "container.h"
#include "ports.h"

/*
 * The spec's error codes, and bpfnat's own from 100 on (README, "CNI
 * plugin").
 */
enum cni_code {
	CNI_ERR_VERSION = 1,		/* incompatible CNI version */
	CNI_ERR_UNSUPPORTED = 2,	/* unsupported field in the config */
	CNI_ERR_UNKNOWN_CONTAINER = 3,
	CNI_ERR_ENV = 4,		/* invalid environment variables */
	CNI_ERR_IO = 5,
	CNI_ERR_DECODE = 6,
	CNI_ERR_CONFIG = 7,		/* invalid network config */
	CNI_ERR_TRY_AGAIN = 11,
	CNI_ERR_UNAVAILABLE = 50,	/* STATUS: cannot serve ADD */

	CNI_ERR_FAILED = 100,		/* a step failed: details say which */
	CNI_ERR_IFACE_EXISTS = 101,	/* CNI_IFNAME exists in the netns */
	CNI_ERR_NO_ADDRESS = 102,	/* the pool has no free address */
	CNI_ERR_ADDRESS_IN_USE = 103,	/* the address IPAM gave is taken */
	CNI_ERR_PORT_TAKEN = 104,	/* a portMappings host port is taken */
	CNI_ERR_DATAPATH = 105,		/* the data path could not come up */
	CNI_ERR_IPAM = 106,		/* the IPAM plugin failed or said
					 * nothing bpfnat can use
					 */
	CNI_ERR_CHECK = 107,		/* CHECK: not as ADD left it */
};

enum cni_command {
	CNI_ADD,
	CNI_DEL,
	CNI_CHECK,
	CNI_GC,
	CNI_STATUS,
	CNI_VERSION,
};

#define PORT_MAPPINGS_MAX 64
#define ROUTES_MAX 16

/* The result of an ADD, as prevResult brings it back (IPv4 alone). */
struct cni_result {
	char sandbox_if[IF_NAMESIZE];	/* the interface with a sandbox */
	int sandbox_index;		/* its index in "interfaces"; -1 */
	struct {
		uint32_t addr;
		int plen;
		int interface;		/* -1: none said */
	} ips[8];
	size_t n_ips;
	struct container_route routes[ROUTES_MAX];
	size_t n_routes;
};

struct cni_req {
	enum cni_command command;
	const char *version;		/* the configuration's cniVersion */
	const char *container_id;
	const char *netns;
	const char *ifname;
	const char *path;		/* CNI_PATH */

	json_t *conf;			/* the network configuration */
	const char *network;		/* its "name" */
	const char *ipam_type;		/* NULL: bpfnat's own pool */
	struct up_opts up;		/* bpfnat's keys */
	bool pool_given;
	struct port_spec ports[PORT_MAPPINGS_MAX];	/* portMappings */
	size_t n_ports;
	bool has_prev;
	struct cni_result prev;		/* prevResult */
};

/*
 * Fail with @code: the error object's "msg" is @msg, its "details" the
 * text after it (or the first line the library said, when NULL).  Keeps
 * the first failure; returns -1 for `return cni_fail(...)`.
 */
int cni_fail(int code, const char *msg, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Has a failure been recorded?  Its code, or 0. */
int cni_failed(void);

/* Is @version (of a configuration) at least @min?  Both "X.Y.Z". */
bool cni_version_ge(const char *version, const char *min);

/* conf.c: @r->conf read into the rest of @r: 0, or cni_fail()'s -1. */
int conf_parse(struct cni_req *r);

/* A result (prevResult, or an IPAM plugin's) into @out, its IPv6 entries
 * skipped: 0, or cni_fail()'s -1 naming @what.
 */
int result_parse(json_t *res, struct cni_result *out, const char *what);

/* ipam.c */
struct ipam_result {
	uint32_t addr;
	int plen;
	uint32_t gateway;		/* 0: none given */
	struct container_route routes[ROUTES_MAX];
	size_t n_routes;
	json_t *dns;			/* owned; NULL: none */
};

/*
 * Run @r's IPAM plugin for @command ("ADD", "DEL", "CHECK", "GC",
 * "STATUS") on attachment (@id, @ifname) (NULL: @r's own), with @r's
 * configuration: 0 and, for ADD, @res; or cni_fail()'s -1, with the
 * plugin's own error when it gave one.
 */
int ipam_run(const struct cni_req *r, const char *command, const char *id,
	     const char *ifname, struct ipam_result *res);
/* Does @r's IPAM plugin speak spec 1.1.0 (GC, STATUS)? */
bool ipam_speaks_1_1(const struct cni_req *r);

/* commands.c: each 0, or cni_fail()'s -1; ADD prints its result. */
int cni_add(struct cni_req *r);
int cni_del(struct cni_req *r);
int cni_check(struct cni_req *r);
int cni_gc(struct cni_req *r);
int cni_status(struct cni_req *r);

#endif /* BPFNAT_CNI_H */
