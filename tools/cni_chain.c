// SPDX-License-Identifier: GPL-2.0-only
/*
 * cni_chain: a network configuration list (a conflist) run the way a
 * runtime runs it through libcni, for the benchmark (cnitool is not
 * packaged in Debian 12).
 *
 *   cni_chain [-t] [-r RUNTIMECONFIG] ADD|DEL|CHECK CONFLIST ID NETNS IFNAME
 *
 * ADD runs each plugin of CONFLIST in order, each given the one before's
 * result as "prevResult", and keeps the last result in the cache; CHECK
 * and DEL give every plugin the cached result, CHECK in order and DEL in
 * reverse order, and DEL removes the cache.  Each plugin's configuration
 * is its entry in "plugins" with the list's "name" and "cniVersion", and a
 * "runtimeConfig" holding those keys of RUNTIMECONFIG (a JSON object such
 * as {"portMappings": [...]}) that its "capabilities" asks for, as libcni
 * injects them.  Plugins are found on CNI_PATH (default /usr/lib/cni and
 * /opt/cni/bin), and run with the CNI_* variables set, on stdin the
 * configuration, on stdout their answer.
 *
 * The cache is a file per attachment, CNI_CACHE_DIR (default
 * /var/lib/cni, libcni's) /results/NAME-ID-IFNAME, holding the result
 * alone.  A DEL without a cached result gives no prevResult, as libcni.
 *
 * Prints ADD's result on stdout; with -t, instead, the time the whole
 * command took (wall clock, from reading the conflist to writing the
 * cache) and then each plugin's, in microseconds, on one line.  A plugin
 * that fails: its error object on stdout, the plugin named on stderr,
 * exit 1, and no plugin after it runs (libcni stops there too, for DEL
 * as for ADD).  Usage errors exit 2.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <jansson.h>

#define PLUGINS_MAX	16
#define ANSWER_MAX	(1 << 20)

extern char **environ;

struct chain {
	const char *command, *id, *netns, *ifname;
	const char *path;		/* CNI_PATH */
	char cache[4096];		/* this attachment's cache file */
	json_t *list;			/* the conflist */
	json_t *runtime;		/* RUNTIMECONFIG, or NULL */
	double plugin_us[PLUGINS_MAX];
};

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

/* @type's executable on CNI_PATH into @out: 0, or -ENOENT. */
static int plugin_find(const struct chain *c, const char *type, char *out,
		       size_t len)
{
	char dirs[4096], *dir, *save;

	snprintf(dirs, sizeof(dirs), "%s", c->path);
	for (dir = strtok_r(dirs, ":", &save); dir;
	     dir = strtok_r(NULL, ":", &save)) {
		snprintf(out, len, "%s/%s", dir, type);
		if (!access(out, X_OK))
			return 0;
	}
	return -ENOENT;
}

/* The environment of a plugin: ours, the CNI_* variables replaced. */
static char **plugin_env(const struct chain *c)
{
	static char vars[6][4200];
	size_t n = 0, i;
	char **env;

	for (char **e = environ; *e; e++)
		n++;
	env = calloc(n + 7, sizeof(*env));
	if (!env)
		return NULL;
	n = 0;
	for (char **e = environ; *e; e++)
		if (strncmp(*e, "CNI_", 4))
			env[n++] = *e;
	snprintf(vars[0], sizeof(vars[0]), "CNI_COMMAND=%s", c->command);
	snprintf(vars[1], sizeof(vars[1]), "CNI_CONTAINERID=%s", c->id);
	snprintf(vars[2], sizeof(vars[2]), "CNI_NETNS=%s", c->netns);
	snprintf(vars[3], sizeof(vars[3]), "CNI_IFNAME=%s", c->ifname);
	snprintf(vars[4], sizeof(vars[4]), "CNI_PATH=%s", c->path);
	snprintf(vars[5], sizeof(vars[5]), "CNI_ARGS=IgnoreUnknown=1");
	for (i = 0; i < 6; i++)
		env[n++] = vars[i];
	return env;
}

/*
 * Run @exe with @conf on stdin: its answer (decoded; NULL when it printed
 * nothing, as DEL and CHECK do) in @answer, its exit status returned, or
 * -errno when it could not run.
 */
static int plugin_run(const struct chain *c, const char *exe, json_t *conf,
		      json_t **answer)
{
	char *argv[] = { (char *)exe, NULL }, *in, *out;
	int to[2], from[2], status, err;
	posix_spawn_file_actions_t fa;
	size_t len = 0, in_len;
	char **env;
	pid_t pid;
	ssize_t k;

	*answer = NULL;
	in = json_dumps(conf, JSON_COMPACT);
	env = plugin_env(c);
	out = malloc(ANSWER_MAX + 1);
	if (!in || !env || !out || pipe2(to, O_CLOEXEC) ||
	    pipe2(from, O_CLOEXEC)) {
		free(in);
		free(env);
		free(out);
		return -ENOMEM;
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, to[0], 0);
	posix_spawn_file_actions_adddup2(&fa, from[1], 1);
	err = -posix_spawn(&pid, exe, &fa, NULL, argv, env);
	posix_spawn_file_actions_destroy(&fa);
	close(to[0]);
	close(from[1]);
	if (!err) {
		/* a configuration is a few kB: the pipe takes it whole */
		in_len = strlen(in);
		if (write(to[1], in, in_len) != (ssize_t)in_len)
			err = -EPIPE;
	}
	close(to[1]);
	while (!err && len < ANSWER_MAX &&
	       (k = read(from[0], out + len, ANSWER_MAX - len)) > 0)
		len += k;
	close(from[0]);
	if (!err && waitpid(pid, &status, 0) < 0)
		err = -errno;
	if (!err) {
		out[len] = '\0';
		if (len && strspn(out, " \t\r\n") < len)
			*answer = json_loads(out, 0, NULL);
		if (len && !*answer)
			fprintf(stderr, "cni_chain: %s printed what is not "
				"JSON: %s\n", exe, out);
		err = WIFEXITED(status) ? WEXITSTATUS(status) : 128;
	}
	free(in);
	free(env);
	free(out);
	return err;
}

/* @plugin's configuration, as libcni's buildOneConfig makes it. */
static json_t *plugin_conf(const struct chain *c, json_t *plugin, json_t *prev)
{
	json_t *conf = json_deep_copy(plugin), *caps, *rt = json_object();
	const char *key;
	json_t *v;

	json_object_set(conf, "name", json_object_get(c->list, "name"));
	json_object_set(conf, "cniVersion",
			json_object_get(c->list, "cniVersion"));
	if (prev)
		json_object_set(conf, "prevResult", prev);
	caps = json_object_get(plugin, "capabilities");
	json_object_foreach(c->runtime, key, v)
		if (json_is_true(json_object_get(caps, key)))
			json_object_set(rt, key, v);
	if (json_object_size(rt))
		json_object_set(conf, "runtimeConfig", rt);
	json_decref(rt);
	return conf;
}

/*
 * Every plugin of the list, in order (@reverse: the other way), each given
 * @prev (NULL: none), or, when @chain_results, the one before's result:
 * 0 and, for ADD, the last result in @result; 1 when a plugin failed.
 */
static int chain_run(struct chain *c, bool reverse, bool chain_results,
		     json_t *prev, json_t **result)
{
	json_t *plugins = json_object_get(c->list, "plugins");
	size_t n = json_array_size(plugins);
	json_t *last = json_incref(prev);
	char exe[4096];

	if (!n || n > PLUGINS_MAX) {
		fprintf(stderr, "cni_chain: %s: 1 to %d plugins\n",
			"plugins", PLUGINS_MAX);
		return 2;
	}
	for (size_t k = 0; k < n; k++) {
		size_t i = reverse ? n - 1 - k : k;
		json_t *plugin = json_array_get(plugins, i), *conf, *answer;
		const char *type = json_string_value(json_object_get(plugin,
								     "type"));
		double t0;
		int rc;

		if (!type || plugin_find(c, type, exe, sizeof(exe))) {
			fprintf(stderr, "cni_chain: plugin %s not on "
				"CNI_PATH %s\n", type ? type : "(no type)",
				c->path);
			json_decref(last);
			return 1;
		}
		conf = plugin_conf(c, plugin, last);
		t0 = now_us();
		rc = plugin_run(c, exe, conf, &answer);
		c->plugin_us[i] = now_us() - t0;
		json_decref(conf);
		if (rc) {
			if (answer)
				json_dumpf(answer, stdout, JSON_COMPACT);
			printf("\n");
			fprintf(stderr, "cni_chain: %s %s failed (%s %d)\n",
				type, c->command,
				rc < 0 ? strerror(-rc) : "exit", rc);
			json_decref(answer);
			json_decref(last);
			return 1;
		}
		if (chain_results) {
			json_decref(last);
			last = answer;
		} else {
			json_decref(answer);
		}
	}
	if (result)
		*result = last;
	else
		json_decref(last);
	return 0;
}

static int cache_write(const struct chain *c, json_t *result)
{
	char dir[4096], *slash;

	/* mkdir -p of the file's directory */
	snprintf(dir, sizeof(dir), "%s", c->cache);
	*strrchr(dir, '/') = '\0';
	for (slash = strchr(dir + 1, '/');; slash = strchr(slash + 1, '/')) {
		if (slash)
			*slash = '\0';
		mkdir(dir, 0700);
		if (!slash)
			break;
		*slash = '/';
	}
	if (json_dump_file(result, c->cache, JSON_COMPACT)) {
		fprintf(stderr, "cni_chain: cannot write %s\n", c->cache);
		return 1;
	}
	return 0;
}

static void usage(void)
{
	fprintf(stderr, "usage: cni_chain [-t] [-r RUNTIMECONFIG] "
		"ADD|DEL|CHECK CONFLIST ID NETNS IFNAME\n");
	exit(2);
}

int main(int argc, char **argv)
{
	const char *cache_dir = getenv("CNI_CACHE_DIR");
	struct chain c = {};
	json_t *result = NULL, *cached;
	bool timed = false;
	json_error_t jerr;
	int opt, rc;
	double t0;

	while ((opt = getopt(argc, argv, "tr:")) != -1) {
		switch (opt) {
		case 't':
			timed = true;
			break;
		case 'r':
			c.runtime = json_loads(optarg, 0, &jerr);
			if (!json_is_object(c.runtime)) {
				fprintf(stderr, "cni_chain: -r: not a JSON "
					"object\n");
				return 2;
			}
			break;
		default:
			usage();
		}
	}
	if (argc - optind != 5)
		usage();
	c.command = argv[optind];
	c.id = argv[optind + 2];
	c.netns = argv[optind + 3];
	c.ifname = argv[optind + 4];
	c.path = getenv("CNI_PATH") ?: "/usr/lib/cni:/opt/cni/bin";
	if (strcmp(c.command, "ADD") && strcmp(c.command, "DEL") &&
	    strcmp(c.command, "CHECK"))
		usage();

	t0 = now_us();
	c.list = json_load_file(argv[optind + 1], 0, &jerr);
	if (!json_is_string(json_object_get(c.list, "name"))) {
		fprintf(stderr, "cni_chain: %s: %s\n", argv[optind + 1],
			c.list ? "no \"name\"" : jerr.text);
		return 2;
	}
	snprintf(c.cache, sizeof(c.cache), "%s/results/%s-%s-%s",
		 cache_dir ?: "/var/lib/cni",
		 json_string_value(json_object_get(c.list, "name")), c.id,
		 c.ifname);

	if (!strcmp(c.command, "ADD")) {
		rc = chain_run(&c, false, true, NULL, &result);
		if (!rc)
			rc = cache_write(&c, result);
	} else {
		cached = json_load_file(c.cache, 0, &jerr);
		rc = chain_run(&c, !strcmp(c.command, "DEL"), false, cached,
			       NULL);
		if (!rc && !strcmp(c.command, "DEL"))
			unlink(c.cache);
		json_decref(cached);
	}

	if (!rc && timed) {
		printf("%.0f", now_us() - t0);
		for (size_t i = 0;
		     i < json_array_size(json_object_get(c.list, "plugins"));
		     i++)
			printf(" %.0f", c.plugin_us[i]);
		printf("\n");
	} else if (!rc && result) {
		json_dumpf(result, stdout, JSON_INDENT(2) |
			   JSON_PRESERVE_ORDER);
		printf("\n");
	}
	json_decref(result);
	json_decref(c.list);
	json_decref(c.runtime);
	return rc;
}
