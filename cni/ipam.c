// SPDX-License-Identifier: GPL-2.0-only
/*
 * Delegation to the IPAM plugin named by the configuration's ipam.type
 * (SPEC.md, section 4): found on CNI_PATH, run with this plugin's
 * environment and configuration, its stderr ours, its stdout read back.
 * A configuration of 1.1.0 goes to a plugin that does not speak 1.1.0
 * (Debian's host-local speaks up to 1.0.0) as 1.0.0: ADD's result and
 * DEL are the same in both.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>

#include "cni.h"

extern char **environ;

/* Where @r's IPAM plugin is: 0 and @path, or cni_fail()'s -1. */
static int plugin_find(const struct cni_req *r, char *path, size_t size)
{
	const char *dirs = r->path ? r->path : "";
	const char *p = dirs, *end;

	while (*p) {
		end = strchr(p, ':');
		if (!end)
			end = p + strlen(p);
		if (end > p) {
			snprintf(path, size, "%.*s/%s", (int)(end - p), p,
				 r->ipam_type);
			if (!access(path, X_OK))
				return 0;
		}
		p = *end ? end + 1 : end;
	}
	return cni_fail(CNI_ERR_ENV, "IPAM plugin not found",
			"ipam.type '%s' is in no directory of CNI_PATH (%s)",
			r->ipam_type, dirs);
}

/* The environment for the plugin: ours with CNI_COMMAND, and for another
 * attachment than ours CNI_CONTAINERID and CNI_IFNAME, replaced (and no
 * CNI_NETNS then: its namespace is not known).
 */
static char **plugin_env(const char *command, const char *id,
			 const char *ifname, char *storage, size_t size)
{
	size_t n = 0, used = 0;
	char **env;

	while (environ[n])
		n++;
	env = calloc(n + 4, sizeof(*env));
	if (!env)
		return NULL;
	n = 0;
	for (char **e = environ; *e; e++) {
		if (!strncmp(*e, "CNI_COMMAND=", 12) ||
		    (id && (!strncmp(*e, "CNI_CONTAINERID=", 16) ||
			    !strncmp(*e, "CNI_IFNAME=", 11) ||
			    !strncmp(*e, "CNI_NETNS=", 10))))
			continue;
		env[n++] = *e;
	}
	env[n++] = storage;
	used = snprintf(storage, size, "CNI_COMMAND=%s", command) + 1;
	if (id && used < size) {
		env[n++] = storage + used;
		used += snprintf(storage + used, size - used,
				 "CNI_CONTAINERID=%s", id) + 1;
	}
	if (id && used < size) {
		env[n++] = storage + used;
		snprintf(storage + used, size - used, "CNI_IFNAME=%s", ifname);
	}
	return env;
}

/*
 * @fd as @to across an exec: 0 or -1.  A pipe made while @to was closed
 * may already be @to, and then dup2() would leave its close-on-exec on.
 */
static int fd_onto(int fd, int to)
{
	if (fd == to)
		return fcntl(fd, F_SETFD, 0);
	return dup2(fd, to) < 0 ? -1 : 0;
}

/*
 * Run @path with @env and @input on its stdin: 0 with its exit status in
 * @status and its stdout (malloc'd) in @out, or -errno.
 */
static int plugin_exec(const char *path, char **env, const char *input,
		       int *status, char **out)
{
	int in[2] = { -1, -1 }, res[2] = { -1, -1 };
	size_t len = 0, cap = 4096, n;
	char *buf = NULL, *grown;
	sigset_t none;
	ssize_t got;
	pid_t pid;
	int err = 0;

	if (pipe2(in, O_CLOEXEC) || pipe2(res, O_CLOEXEC)) {
		err = -errno;
		goto out;
	}
	pid = fork();
	if (pid < 0) {
		err = -errno;
		goto out;
	}
	if (pid == 0) {
		/* the signals the lock holds back are the plugin's again */
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		signal(SIGPIPE, SIG_DFL);	/* ignored only in here */
		if (fd_onto(in[0], 0) || fd_onto(res[1], 1))
			_exit(127);
		execve(path, (char *[]){ (char *)path, NULL }, env);
		_exit(127);
	}
	close(in[0]);
	close(res[1]);
	in[0] = res[1] = -1;
	/* the plugin reads all of its configuration before it answers */
	for (size_t off = 0, total = strlen(input); off < total; off += n) {
		got = write(in[1], input + off, total - off);
		if (got < 0) {
			if (errno == EINTR) {
				n = 0;
				continue;
			}
			break;	/* it stopped reading; its status says why */
		}
		n = got;
	}
	close(in[1]);
	in[1] = -1;
	buf = malloc(cap);
	while (buf) {
		got = read(res[0], buf + len, cap - len - 1);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			break;
		len += got;
		if (len + 1 == cap) {
			grown = realloc(buf, 2 * cap);
			if (!grown) {
				free(buf);
				buf = NULL;
				break;
			}
			buf = grown;
			cap *= 2;
		}
	}
	while (waitpid(pid, status, 0) < 0 && errno == EINTR)
		;
	if (!buf) {
		err = -ENOMEM;
		goto out;
	}
	buf[len] = '\0';
	*out = buf;
	buf = NULL;
out:
	for (int i = 0; i < 2; i++) {
		if (in[i] >= 0)
			close(in[i]);
		if (res[i] >= 0)
			close(res[i]);
	}
	free(buf);
	return err;
}

/* Run the IPAM plugin: 0 with its exit status and its answer (NULL if it
 * printed no JSON), or cni_fail()'s -1.
 */
static int ipam_call(const struct cni_req *r, const char *command,
		     const char *id, const char *ifname, json_t *conf,
		     int *status, json_t **answer)
{
	char path[PATH_MAX], storage[512], *input, *out = NULL;
	json_error_t jerr;
	char **env;
	int err;

	if (plugin_find(r, path, sizeof(path)))
		return -1;
	input = json_dumps(conf, JSON_COMPACT);
	env = plugin_env(command, id, ifname, storage, sizeof(storage));
	if (!input || !env) {
		free(input);
		free(env);
		return cni_fail(CNI_ERR_FAILED, "out of memory", "ipam %s",
				r->ipam_type);
	}
	err = plugin_exec(path, env, input, status, &out);
	free(input);
	free(env);
	if (err)
		return cni_fail(CNI_ERR_IPAM, "cannot run the IPAM plugin",
				"%s: %s", path, strerror(-err));
	*answer = out[0] ? json_loads(out, 0, &jerr) : NULL;
	free(out);
	return 0;
}

bool ipam_speaks_1_1(const struct cni_req *r)
{
	static int known = -1;
	json_t *conf, *answer = NULL, *v;
	int status;
	size_t i;

	if (known >= 0)
		return known;
	known = 0;
	conf = json_pack("{s:s}", "cniVersion", "1.1.0");
	if (!ipam_call(r, "VERSION", NULL, NULL, conf, &status, &answer) &&
	    WIFEXITED(status) && !WEXITSTATUS(status))
		json_array_foreach(json_object_get(answer,
						   "supportedVersions"), i, v)
			if (!strcmp(json_string_value(v) ?: "", "1.1.0"))
				known = 1;
	json_decref(answer);
	json_decref(conf);
	return known;
}

/* The IPAM plugin's failure, in its own words when it gave them. */
static int ipam_failed(const struct cni_req *r, const char *command,
		       int status, json_t *answer)
{
	json_t *code = json_object_get(answer, "code");
	const char *msg = json_string_value(json_object_get(answer, "msg"));
	const char *details = json_string_value(json_object_get(answer,
								"details"));
	char what[160];

	if (json_is_integer(code) && msg) {
		snprintf(what, sizeof(what), "ipam %s %s: %s", r->ipam_type,
			 command, msg);
		return cni_fail(json_integer_value(code), what, "%s",
				details ? details : msg);
	}
	return cni_fail(CNI_ERR_IPAM, "the IPAM plugin failed",
			"ipam %s %s: %s %d", r->ipam_type, command,
			WIFEXITED(status) ? "exit status" : "signal",
			WIFEXITED(status) ? WEXITSTATUS(status) :
					    WTERMSIG(status));
}

/* ADD's answer: its first IPv4 address, that address's gateway, the
 * routes and dns.
 */
static int add_result(const struct cni_req *r, json_t *answer,
		      struct ipam_result *res)
{
	struct cni_result got;
	json_t *ip;
	size_t i;

	memset(res, 0, sizeof(*res));
	if (result_parse(answer, &got, "the IPAM plugin's result"))
		return -1;
	if (!got.n_ips) {
		json_array_foreach(json_object_get(answer, "ips"), i, ip)
			return cni_fail(CNI_ERR_UNSUPPORTED, "unsupported "
					"field", "ipam %s gave %s alone: "
					"bpfnat's containers are IPv4",
					r->ipam_type, json_string_value(
					json_object_get(ip, "address")) ?: "?");
		return cni_fail(CNI_ERR_IPAM, "the IPAM plugin gave no "
				"address", "ipam %s ADD", r->ipam_type);
	}
	res->addr = got.ips[0].addr;
	res->plen = got.ips[0].plen;
	json_array_foreach(json_object_get(answer, "ips"), i, ip) {
		const char *a = json_string_value(json_object_get(ip,
								  "address"));
		const char *gw = json_string_value(json_object_get(ip,
								   "gateway"));
		uint32_t addr;
		int plen;

		if (a && gw && !parse_cidr(a, &addr, &plen, false) &&
		    addr == res->addr && parse_ipv4(gw, &res->gateway))
			return cni_fail(CNI_ERR_DECODE, "cannot decode a "
					"result", "ipam %s: gateway '%s'",
					r->ipam_type, gw);
	}
	memcpy(res->routes, got.routes, sizeof(got.routes));
	res->n_routes = got.n_routes;
	res->dns = json_incref(json_object_get(answer, "dns"));
	return 0;
}

int ipam_run(const struct cni_req *r, const char *command, const char *id,
	     const char *ifname, struct ipam_result *res)
{
	json_t *conf, *answer = NULL;
	int status, err;

	conf = json_deep_copy(r->conf);
	if (!conf)
		return cni_fail(CNI_ERR_FAILED, "out of memory", "ipam");
	if (!strcmp(r->version, "1.1.0") && !ipam_speaks_1_1(r))
		json_object_set_new(conf, "cniVersion", json_string("1.0.0"));
	err = ipam_call(r, command, id, ifname, conf, &status, &answer);
	json_decref(conf);
	if (err)
		return err;
	if (!WIFEXITED(status) || WEXITSTATUS(status))
		err = ipam_failed(r, command, status, answer);
	else if (!strcmp(command, "ADD"))
		err = answer ? add_result(r, answer, res) :
			       cni_fail(CNI_ERR_IPAM, "the IPAM plugin gave "
					"no result", "ipam %s ADD",
					r->ipam_type);
	json_decref(answer);
	return err;
}
