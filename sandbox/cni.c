/* cni.c - CNI ADD/DEL of a pod's network (see cni.h). */
#include "sandbox/cni.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "util/fs.h"
#include "util/json.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/run.h"
#include "util/sys.h"

#ifndef NSFS_MAGIC
#define NSFS_MAGIC 0x6e736673
#endif

#define CACHE_KIND "cradle-cni-cache"
#define CACHE_VERSION 1
#define RESULT_ARRAY_MAX 256 /* interfaces, IPs, routes of a result */
#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
#define JSON_OUT (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)

const char *const cni_bin_dirs_default[] = { "/opt/cni/bin", "/usr/lib/cni", NULL };

static const char *const versions[] = { "0.3.0", "0.3.1", "0.4.0", "1.0.0" };

struct cni_net {
	char *name, *version, *file;
	char *conf; /* the conflist text: what each call parses for itself */
	size_t conf_len;
	size_t n;
	char *types[CNI_PLUGINS_MAX];
};

const char *
cni_version(void)
{
	return versions[sizeof(versions) / sizeof(versions[0]) - 1];
}

bool
cni_version_supported(const char *v)
{
	for (size_t i = 0; v != NULL && i < sizeof(versions) / sizeof(versions[0]); i++) {
		if (strcmp(v, versions[i]) == 0)
			return true;
	}
	return false;
}

const char *
cni_net_name(const struct cni_net *net)
{
	return net->name;
}

const char *
cni_net_version(const struct cni_net *net)
{
	return net->version;
}

const char *
cni_net_file(const struct cni_net *net)
{
	return net->file;
}

size_t
cni_net_plugins(const struct cni_net *net)
{
	return net->n;
}

const char *
cni_net_plugin_type(const struct cni_net *net, size_t i)
{
	return i < net->n ? net->types[i] : NULL;
}

void
cni_free(struct cni_net *net)
{
	if (net == NULL)
		return;
	for (size_t i = 0; i < net->n; i++)
		free(net->types[i]);
	free(net->name);
	free(net->version);
	free(net->file);
	free(net->conf);
	free(net);
}

/* --- small JSON helpers ----------------------------------------------- */

/* obj[key] as a string: 0, -ENOENT when absent, -EINVAL when not a
 * string or holding a NUL. */
static int
get_str(json_object *obj, const char *key, const char **out)
{
	json_object *v;

	if (!json_object_object_get_ex(obj, key, &v) || v == NULL)
		return -ENOENT;
	if (!json_object_is_type(v, json_type_string))
		return -EINVAL;
	*out = json_object_get_string(v);
	if (strlen(*out) != (size_t)json_object_get_string_len(v))
		return -EINVAL;
	return 0;
}

/* A network name as libcni validates it, also a host-local directory. */
static bool
valid_name(const char *s)
{
	if (s[0] == '\0' || !isalnum((unsigned char)s[0]))
		return false;
	for (const char *p = s; *p != '\0'; p++) {
		unsigned char c = (unsigned char)*p;
		if (!(isalnum(c) || c == '_' || c == '.' || c == '-'))
			return false;
	}
	return strlen(s) <= 253;
}

static bool
valid_type(const char *s)
{
	return s[0] != '\0' && strchr(s, '/') == NULL && strcmp(s, ".") != 0 &&
	       strcmp(s, "..") != 0 && strlen(s) <= 255;
}

/* --- config ----------------------------------------------------------- */

/* The network of doc (a conflist, or with single one plugin's config);
 * text/len are doc's text, kept for a list. */
static int
net_from_doc(json_object *doc, bool single, const char *text, size_t len, const char *what,
             struct cni_net **out, struct cradle_err *err)
{
	json_object *plugins, *list = NULL;
	const char *name, *version;
	struct cni_net *net;
	int r;

	if (!json_object_is_type(doc, json_type_object))
		return cradle_err_set(err, CRADLE_INVALID_ARGUMENT, "%s: not a JSON object", what);
	r = get_str(doc, "cniVersion", &version);
	if (r == -ENOENT)
		return cradle_err_set(err, CRADLE_INVALID_ARGUMENT, "%s: no \"cniVersion\"", what);
	if (r < 0 || !cni_version_supported(version))
		return cradle_err_set(err, CRADLE_INVALID_ARGUMENT,
		                      "%s: cniVersion %s is not supported (0.3.0, 0.3.1, 0.4.0, "
		                      "1.0.0)",
		                      what, r < 0 ? "(not a string)" : version);
	r = get_str(doc, "name", &name);
	if (r < 0)
		return cradle_err_set(err, CRADLE_INVALID_ARGUMENT, "%s: %s \"name\"", what,
		                      r == -ENOENT ? "no" : "a non-string");
	if (!valid_name(name))
		return cradle_err_set(
			err, CRADLE_INVALID_ARGUMENT,
			"%s: network name \"%.64s\" is not [A-Za-z0-9][A-Za-z0-9_.-]*", what, name);
	if (single) {
		if (json_object_object_get_ex(doc, "plugins", NULL) &&
		    !json_object_object_get_ex(doc, "type", NULL))
			return cradle_err_set(err, CRADLE_INVALID_ARGUMENT,
			                      "%s: no \"type\" (a plugin list belongs in a "
			                      ".conflist file)",
			                      what);
		list = json_object_new_object();
		plugins = json_object_new_array();
		if (list == NULL || plugins == NULL) {
			json_object_put(list);
			json_object_put(plugins);
			return cradle_err_nomem(err);
		}
		json_object_object_add(list, "cniVersion", json_object_new_string(version));
		json_object_object_add(list, "name", json_object_new_string(name));
		json_object_object_add(list, "plugins", plugins);
		json_object_array_add(plugins, json_object_get(doc));
	} else if (!json_object_object_get_ex(doc, "plugins", &plugins) ||
	           !json_object_is_type(plugins, json_type_array)) {
		return cradle_err_set(err, CRADLE_INVALID_ARGUMENT,
		                      "%s: no \"plugins\" array (one plugin's config belongs in a "
		                      ".conf file)",
		                      what);
	}
	size_t n = json_object_array_length(plugins);
	if (n == 0 || n > CNI_PLUGINS_MAX) {
		json_object_put(list);
		return cradle_err_set(err, CRADLE_INVALID_ARGUMENT,
		                      "%s: %zu plugins (1 to %d are allowed)", what, n,
		                      CNI_PLUGINS_MAX);
	}
	net = calloc(1, sizeof(*net));
	if (net == NULL) {
		json_object_put(list);
		return cradle_err_nomem(err);
	}
	for (size_t i = 0; i < n; i++) {
		json_object *p = json_object_array_get_idx(plugins, i), *caps;
		const char *type;

		if (!json_object_is_type(p, json_type_object)) {
			r = cradle_err_set(err, CRADLE_INVALID_ARGUMENT,
			                   "%s: plugin %zu is not a JSON object", what, i);
			goto fail;
		}
		r = get_str(p, "type", &type);
		if (r < 0) {
			r = cradle_err_set(err, CRADLE_INVALID_ARGUMENT,
			                   "%s: plugin %zu has %s \"type\"", what, i,
			                   r == -ENOENT ? "no" : "a non-string");
			goto fail;
		}
		if (!valid_type(type)) {
			r = cradle_err_set(
				err, CRADLE_INVALID_ARGUMENT,
				"%s: plugin %zu: type \"%.64s\" is not a plain file name", what, i,
				type);
			goto fail;
		}
		if (json_object_object_get_ex(p, "capabilities", &caps)) {
			bool ok = json_object_is_type(caps, json_type_object);
			if (ok) {
				json_object_object_foreach(caps, k, v) {
					(void)k;
					ok = ok && json_object_is_type(v, json_type_boolean);
				}
			}
			if (!ok) {
				r = cradle_err_set(
					err, CRADLE_INVALID_ARGUMENT,
					"%s: plugin %s: \"capabilities\" is not an object of "
					"booleans",
					what, type);
				goto fail;
			}
		}
		net->types[i] = strdup(type);
		if (net->types[i] == NULL) {
			r = cradle_err_nomem(err);
			goto fail;
		}
		net->n = i + 1;
	}
	if (list != NULL) {
		size_t l;
		const char *s = json_object_to_json_string_length(list, JSON_OUT, &l);
		net->conf = s != NULL ? strndup(s, l) : NULL;
		net->conf_len = l;
	} else {
		net->conf = strndup(text, len);
		net->conf_len = len;
	}
	net->name = strdup(name);
	net->version = strdup(version);
	net->file = strdup(what);
	if (net->conf == NULL || net->name == NULL || net->version == NULL || net->file == NULL) {
		r = cradle_err_nomem(err);
		goto fail;
	}
	json_object_put(list);
	*out = net;
	return 0;
fail:
	json_object_put(list);
	cni_free(net);
	return r < 0 ? r : -EINVAL;
}

static int
parse_text(const char *text, size_t len, bool single, const char *what, struct cni_net **out,
           struct cradle_err *err)
{
	json_object *doc;
	int r;

	if (len > CNI_CONF_MAX)
		return cradle_err_set(err, CRADLE_INVALID_ARGUMENT, "%s: %zu bytes (at most %u)",
		                      what, len, CNI_CONF_MAX);
	doc = json_doc_parse(text, len, what, err);
	if (doc == NULL)
		return err != NULL && err->code == CRADLE_RESOURCE_EXHAUSTED ? -ENOMEM : -EINVAL;
	r = net_from_doc(doc, single, text, len, what, out, err);
	json_object_put(doc);
	return r;
}

int
cni_parse(const char *text, size_t len, const char *what, struct cni_net **out,
          struct cradle_err *err)
{
	return parse_text(text, len, false, what, out, err);
}

static bool
has_suffix(const char *s, const char *suf)
{
	size_t a = strlen(s), b = strlen(suf);

	return a > b && strcmp(s + a - b, suf) == 0;
}

static int
cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int
cni_load(const char *conf_dir, unsigned max_conf_num, struct cni_net **out, struct cradle_err *err)
{
	char **names = NULL, path[FS_PATH_MAX];
	size_t n = 0, cap = 0;
	struct cradle_err first = { 0 };
	struct dirent *de;
	int r = 0, first_r = 0;
	DIR *d;

	if (max_conf_num == 0)
		max_conf_num = 1;
	d = opendir(conf_dir);
	if (d == NULL) {
		if (errno == ENOENT) {
			cradle_err_set(err, CRADLE_FAILED_PRECONDITION,
			               "no CNI network config in \"%s\": no such directory",
			               conf_dir);
			return -ENOENT;
		}
		return cradle_err_errno(err, errno, "failed to read CNI config directory \"%s\"",
		                        conf_dir);
	}
	while ((errno = 0, de = readdir(d)) != NULL) {
		struct stat st;

		if (!has_suffix(de->d_name, ".conflist") && !has_suffix(de->d_name, ".conf") &&
		    !has_suffix(de->d_name, ".json"))
			continue;
		/* libcni skips directories only; the reader refuses the rest */
		if (fstatat(dirfd(d), de->d_name, &st, 0) == 0 && S_ISDIR(st.st_mode))
			continue;
		if (n == cap) {
			size_t ncap = cap == 0 ? 16 : cap * 2;
			char **nn = realloc(names, ncap * sizeof(*names));
			if (nn == NULL) {
				r = cradle_err_nomem(err);
				goto out;
			}
			names = nn;
			cap = ncap;
		}
		names[n] = strdup(de->d_name);
		if (names[n] == NULL) {
			r = cradle_err_nomem(err);
			goto out;
		}
		n++;
	}
	if (errno != 0) {
		r = cradle_err_errno(err, errno, "failed to read CNI config directory \"%s\"",
		                     conf_dir);
		goto out;
	}
	if (n == 0) {
		cradle_err_set(err, CRADLE_FAILED_PRECONDITION,
		               "no CNI network config in \"%s\" (.conflist, .conf, .json)",
		               conf_dir);
		r = -ENOENT;
		goto out;
	}
	qsort(names, n, sizeof(*names), cmp_names);
	for (size_t i = 0; i < n && i < max_conf_num; i++) {
		struct cradle_err e = { 0 };
		char *text = NULL;
		size_t len = 0;

		if (fs_path(path, &e, "%s/%s", conf_dir, names[i]) == 0) {
			r = fs_read_alloc(path, CNI_CONF_MAX, 0, &text, &len);
			if (r == -EFBIG)
				r = cradle_err_set(&e, CRADLE_INVALID_ARGUMENT,
				                   "%s: larger than %u bytes", path, CNI_CONF_MAX);
			else if (r == -EINVAL)
				r = cradle_err_set(&e, CRADLE_INVALID_ARGUMENT,
				                   "%s: not a regular file", path);
			else if (r < 0)
				r = cradle_err_errno(&e, -r, "failed to read CNI config %s", path);
			else
				r = parse_text(text, len, !has_suffix(names[i], ".conflist"), path,
				               out, &e);
			free(text);
		} else {
			r = -ENAMETOOLONG;
		}
		if (r == 0)
			goto out;
		if (first_r == 0) {
			first = e;
			first_r = r;
		}
	}
	r = first_r;
	if (err != NULL)
		*err = first;
out:
	closedir(d);
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return r;
}

/* --- results ---------------------------------------------------------- */

/* "10.1.2.3/24" (want_prefix) or "10.1.2.1" into ip; false when bad. */
static bool
parse_addr(const char *s, bool want_prefix, struct cni_ip *ip, char *addr_out)
{
	char buf[64], *slash;
	unsigned char bin[16];
	size_t len = strlen(s);

	if (len >= sizeof(buf))
		return false;
	memcpy(buf, s, len + 1);
	slash = strchr(buf, '/');
	if ((slash != NULL) != want_prefix)
		return false;
	if (slash != NULL)
		*slash = '\0';
	int family = strchr(buf, ':') != NULL ? AF_INET6 : AF_INET;
	if (inet_pton(family, buf, bin) != 1)
		return false;
	if (inet_ntop(family, bin, addr_out, 46) == NULL)
		return false;
	if (slash != NULL) {
		char *end;
		unsigned long p;
		if (!isdigit((unsigned char)slash[1]))
			return false;
		errno = 0;
		p = strtoul(slash + 1, &end, 10);
		if (errno != 0 || *end != '\0' || p > (family == AF_INET ? 32u : 128u))
			return false;
		ip->prefix = (unsigned)p;
		ip->family = family;
	}
	return true;
}

static int
bounded_array(json_object *r, const char *key, const char *what, json_object **out,
              struct cradle_err *err)
{
	json_object *a;

	*out = NULL;
	if (!json_object_object_get_ex(r, key, &a) || a == NULL)
		return 0;
	if (!json_object_is_type(a, json_type_array))
		return cradle_err_set(err, CRADLE_INVALID_ARGUMENT, "%s: \"%s\" is not an array",
		                      what, key);
	if (json_object_array_length(a) > RESULT_ARRAY_MAX)
		return cradle_err_set(err, CRADLE_INVALID_ARGUMENT,
		                      "%s: more than %d entries in \"%s\"", what, RESULT_ARRAY_MAX,
		                      key);
	*out = a;
	return 0;
}

static int
result_from_obj(json_object *r, const char *what, struct cni_result *out, struct cradle_err *err)
{
	json_object *ifs, *ips, *routes;
	bool in_sandbox[RESULT_ARRAY_MAX] = { false };
	struct cni_ip found[CNI_IPS_MAX];
	size_t n_if = 0, n = 0, primary = 0;
	const char *s;

	memset(out, 0, sizeof(*out));
	if (!json_object_is_type(r, json_type_object))
		return cradle_err_set(err, CRADLE_INVALID_ARGUMENT, "%s: not a JSON object", what);
	if (get_str(r, "cniVersion", &s) == 0)
		snprintf(out->cni_version, sizeof(out->cni_version), "%s", s);
	if (bounded_array(r, "interfaces", what, &ifs, err) < 0 ||
	    bounded_array(r, "ips", what, &ips, err) < 0 ||
	    bounded_array(r, "routes", what, &routes, err) < 0)
		return -EINVAL;
	n_if = ifs != NULL ? json_object_array_length(ifs) : 0;
	for (size_t i = 0; i < n_if; i++) {
		json_object *itf = json_object_array_get_idx(ifs, i);
		if (!json_object_is_type(itf, json_type_object))
			return cradle_err_set(err, CRADLE_INVALID_ARGUMENT,
			                      "%s: interface %zu is not an object", what, i);
		in_sandbox[i] = get_str(itf, "sandbox", &s) == 0 && s[0] != '\0';
	}
	for (size_t i = 0; ips != NULL && i < json_object_array_length(ips); i++) {
		json_object *o = json_object_array_get_idx(ips, i), *idx;
		struct cni_ip ip = { 0 };

		if (!json_object_is_type(o, json_type_object) || get_str(o, "address", &s) != 0)
			return cradle_err_set(err, CRADLE_INVALID_ARGUMENT,
			                      "%s: IP %zu has no \"address\"", what, i);
		if (!parse_addr(s, true, &ip, ip.addr))
			return cradle_err_set(err, CRADLE_INVALID_ARGUMENT,
			                      "%s: IP %zu: \"%.64s\" is not an address/prefix",
			                      what, i, s);
		if (get_str(o, "gateway", &s) == 0 && s[0] != '\0' &&
		    !parse_addr(s, false, &ip, ip.gateway))
			return cradle_err_set(err, CRADLE_INVALID_ARGUMENT,
			                      "%s: IP %zu: gateway \"%.64s\" is not an address",
			                      what, i, s);
		if (json_object_object_get_ex(o, "interface", &idx) && idx != NULL) {
			int64_t k = json_object_get_int64(idx);
			if (!json_object_is_type(idx, json_type_int) || k < 0 || (size_t)k >= n_if)
				return cradle_err_set(
					err, CRADLE_INVALID_ARGUMENT,
					"%s: IP %zu: interface index is not one of the "
					"%zu interfaces",
					what, i, n_if);
			if (!in_sandbox[k])
				continue; /* the host side of a veth, a bridge */
		}
		if (n == CNI_IPS_MAX)
			return cradle_err_set(err, CRADLE_INVALID_ARGUMENT,
			                      "%s: more than %d pod IPs", what, CNI_IPS_MAX);
		found[n++] = ip;
	}
	for (size_t i = 0; i < n; i++) {
		if (found[i].family == AF_INET) {
			primary = i;
			break;
		}
	}
	out->n_ips = n;
	if (n > 0) {
		out->ips[0] = found[primary];
		for (size_t i = 0, j = 1; i < n; i++) {
			if (i != primary)
				out->ips[j++] = found[i];
		}
	}
	return 0;
}

int
cni_result_parse(const char *json, size_t len, struct cni_result *out, struct cradle_err *err)
{
	json_object *r;
	int ret;

	if (len > CNI_STDOUT_MAX)
		return cradle_err_set(err, CRADLE_INVALID_ARGUMENT, "CNI result: %zu bytes", len);
	r = json_doc_parse(json, len, "CNI result", err);
	if (r == NULL)
		return -EINVAL;
	ret = result_from_obj(r, "CNI result", out, err);
	json_object_put(r);
	return ret;
}

/* --- running one plugin ----------------------------------------------- */

struct call {
	const char *cmd; /* "ADD", "DEL" */
	char *env[8];
	const char *const *bin_dirs;
	int timeout_ms;
};

/* The CNI error in a failed plugin's stdout, or its stderr's tail. */
static int
plugin_failed(const char *type, const char *cmd, const struct run_result *res,
              struct cradle_err *err)
{
	struct cradle_err ignored;
	json_object *e = NULL, *code;
	char status[48], text[256];
	const char *msg, *details;
	int ret;

	run_status_text(&res->si, status, sizeof(status));
	if (res->si.si_code == CLD_EXITED && res->out_len > 0)
		e = json_doc_parse(res->out, res->out_len, "error", &ignored);
	if (e != NULL && json_object_is_type(e, json_type_object) &&
	    json_object_object_get_ex(e, "code", &code) &&
	    json_object_is_type(code, json_type_int) && get_str(e, "msg", &msg) == 0) {
		int64_t c = json_object_get_int64(code);
		if (get_str(e, "details", &details) != 0)
			details = "";
		ret = cradle_err_set(err, c == 11 ? CRADLE_UNAVAILABLE : CRADLE_INTERNAL,
		                     "CNI plugin %s %s failed (code %lld): %s%s%s", type, cmd,
		                     (long long)c, msg, details[0] != '\0' ? ": " : "", details);
	} else {
		if (res->err_len > 0)
			run_tail_text(res->err, res->err_len, text, sizeof(text));
		else
			run_tail_text(res->out, res->out_len, text, sizeof(text));
		ret = cradle_err_set(err, CRADLE_INTERNAL, "CNI plugin %s %s %s%s%s", type, cmd,
		                     status, text[0] != '\0' ? ": " : "", text);
	}
	json_object_put(e);
	return ret;
}

/* Run the plugin at path with stdin `in` (util/run.h); its stdout in
 * *result (malloc'd, NUL-terminated) when it exits 0. */
static int
plugin_run(const struct call *call, const char *path, const char *type, const char *in,
           size_t in_len, char **result, size_t *result_len, struct cradle_err *err)
{
	char *argv[] = { (char *)path, NULL };
	const struct run_spec spec = {
		.path = path,
		.argv = argv,
		.envp = call->env,
		.in = in,
		.in_len = in_len,
		.out_max = CNI_STDOUT_MAX,
		.err_max = CNI_STDERR_MAX,
		.timeout_ms = call->timeout_ms,
	};
	struct run_result res;
	const char *what;
	int ret = 0, r;

	*result = NULL;
	r = run_program(&spec, &res, &what);
	if (r == -ENOMEM) {
		ret = cradle_err_nomem(err);
	} else if (r < 0 && (strcmp(what, "spawn") == 0 || strcmp(what, "exec") == 0)) {
		ret = cradle_err_errno(err, -r, "failed to run CNI plugin %s (%s) %s", type, path,
		                       call->cmd);
	} else if (r < 0) {
		ret = cradle_err_errno(err, -r, "CNI plugin %s %s: %s", type, call->cmd, what);
	} else if (res.timed_out) {
		ret = cradle_err_set(err, CRADLE_UNAVAILABLE,
		                     "CNI plugin %s %s timed out after %d ms", type, call->cmd,
		                     call->timeout_ms);
	} else if (res.out_over) {
		ret = cradle_err_set(err, CRADLE_INTERNAL,
		                     "CNI plugin %s %s wrote more than %u bytes to stdout", type,
		                     call->cmd, CNI_STDOUT_MAX);
	} else if (res.si.si_code != CLD_EXITED || res.si.si_status != 0) {
		ret = plugin_failed(type, call->cmd, &res, err);
	} else {
		if (res.err_len > 0) {
			char text[256];
			run_tail_text(res.err, res.err_len, text, sizeof(text));
			log_debug("CNI plugin %s %s wrote to stderr: %s", type, call->cmd, text);
		}
		*result = res.out;
		*result_len = res.out_len;
		res.out = NULL;
	}
	run_result_fini(&res);
	return ret;
}

/* The first executable regular file of that type in the bin dirs. */
static int
plugin_path(const char *const *dirs, const char *type, char path[FS_PATH_MAX],
            struct cradle_err *err)
{
	char where[512];
	size_t w = 0;

	where[0] = '\0';
	for (size_t i = 0; dirs[i] != NULL; i++) {
		struct stat st;

		if (fs_path(path, err, "%s/%s", dirs[i], type) < 0)
			return -ENAMETOOLONG;
		if (stat(path, &st) == 0 && S_ISREG(st.st_mode) &&
		    faccessat(AT_FDCWD, path, X_OK, AT_EACCESS) == 0)
			return 0;
		int n = snprintf(where + w, sizeof(where) - w, "%s%s", i > 0 ? ":" : "", dirs[i]);
		if (n > 0 && (size_t)n < sizeof(where) - w)
			w += (size_t)n;
	}
	cradle_err_set(err, CRADLE_FAILED_PRECONDITION, "CNI plugin %s not found in %s", type,
	               where);
	return -ENOENT;
}

/* --- the chain ------------------------------------------------------- */

static void
call_fini(struct call *call)
{
	for (size_t i = 0; i < sizeof(call->env) / sizeof(call->env[0]); i++) {
		free(call->env[i]);
		call->env[i] = NULL;
	}
}

static bool
valid_arg(const char *s)
{
	return s == NULL || strpbrk(s, ";\n") == NULL;
}

/* CNI_ARGS of the pod (what the cache keeps), malloc'd. */
static char *
pod_args(const struct cni_pod *pod)
{
	char *s = NULL;

	if (asprintf(&s,
	             "IgnoreUnknown=1;K8S_POD_NAMESPACE=%s;K8S_POD_NAME=%s;"
	             "K8S_POD_INFRA_CONTAINER_ID=%s;K8S_POD_UID=%s",
	             pod->ns != NULL ? pod->ns : "", pod->name != NULL ? pod->name : "", pod->id,
	             pod->uid != NULL ? pod->uid : "") < 0)
		return NULL;
	return s;
}

/* "key=value", malloc'd; NULL when out of memory. */
static char *
env_var(const char *key, const char *value)
{
	size_t a = strlen(key), b = strlen(value);
	char *s = malloc(a + b + 2);

	if (s == NULL)
		return NULL;
	memcpy(s, key, a);
	s[a] = '=';
	memcpy(s + a + 1, value, b + 1);
	return s;
}

static int
call_init(struct call *call, const char *cmd, const char *const *bin_dirs, const char *id,
          const char *netns, const char *ifname, const char *args, int timeout_ms,
          struct cradle_err *err)
{
	char cni_path[FS_PATH_MAX];
	size_t w = 0;
	const char *path_env = getenv("PATH");

	memset(call, 0, sizeof(*call));
	call->cmd = cmd;
	call->bin_dirs = bin_dirs;
	call->timeout_ms = timeout_ms;
	cni_path[0] = '\0';
	for (size_t i = 0; bin_dirs[i] != NULL; i++) {
		int n = snprintf(cni_path + w, sizeof(cni_path) - w, "%s%s", i > 0 ? ":" : "",
		                 bin_dirs[i]);
		if (n < 0 || (size_t)n >= sizeof(cni_path) - w)
			return cradle_err_set(err, CRADLE_INVALID_ARGUMENT,
			                      "CNI bin dirs: too long together");
		w += (size_t)n;
	}
	if (path_env == NULL || path_env[0] == '\0')
		path_env = DEFAULT_PATH;
	call->env[0] = env_var("CNI_COMMAND", cmd);
	call->env[1] = env_var("CNI_CONTAINERID", id);
	call->env[2] = env_var("CNI_NETNS", netns);
	call->env[3] = env_var("CNI_IFNAME", ifname);
	call->env[4] = env_var("CNI_ARGS", args);
	call->env[5] = env_var("CNI_PATH", cni_path);
	call->env[6] = env_var("PATH", path_env);
	call->env[7] = NULL;
	for (size_t i = 0; i < 7; i++) {
		if (call->env[i] == NULL) {
			call_fini(call);
			return cradle_err_nomem(err);
		}
	}
	return 0;
}

/* The runtime config every capability of the pod offers. */
static json_object *
strs_array(const struct proto_strs *s)
{
	json_object *a = json_object_new_array();

	for (size_t i = 0; a != NULL && s != NULL && i < s->n; i++)
		json_object_array_add(a, json_object_new_string(s->v[i]));
	return a;
}

static int
capability_args(const struct cni_pod *pod, json_object **out, struct cradle_err *err)
{
	json_object *rc = json_object_new_object(), *ports = json_object_new_array(), *ann;

	*out = NULL;
	if (rc == NULL || ports == NULL) {
		json_object_put(rc);
		json_object_put(ports);
		return cradle_err_nomem(err);
	}
	json_object_object_add(rc, "portMappings", ports);
	for (size_t i = 0; i < pod->n_ports; i++) {
		const struct cni_port *p = &pod->ports[i];
		const char *proto = p->protocol != NULL ? p->protocol : "tcp";
		char lower[8];
		size_t k;

		if (p->host_port <= 0)
			continue;
		for (k = 0; proto[k] != '\0' && k + 1 < sizeof(lower); k++)
			lower[k] = (char)tolower((unsigned char)proto[k]);
		lower[k] = '\0';
		if (proto[k] != '\0' ||
		    (strcmp(lower, "tcp") != 0 && strcmp(lower, "udp") != 0 &&
		     strcmp(lower, "sctp") != 0) ||
		    p->host_port > 65535 || p->container_port <= 0 || p->container_port > 65535) {
			json_object_put(rc);
			return cradle_err_set(err, CRADLE_INVALID_ARGUMENT,
			                      "port mapping %zu (%d:%d/%.8s) is not valid", i,
			                      p->host_port, p->container_port, proto);
		}
		json_object *m = json_object_new_object();
		if (m == NULL) {
			json_object_put(rc);
			return cradle_err_nomem(err);
		}
		json_object_object_add(m, "hostPort", json_object_new_int(p->host_port));
		json_object_object_add(m, "containerPort", json_object_new_int(p->container_port));
		json_object_object_add(m, "protocol", json_object_new_string(lower));
		json_object_object_add(
			m, "hostIP", json_object_new_string(p->host_ip != NULL ? p->host_ip : ""));
		json_object_array_add(ports, m);
	}
	if (pod->has_dns) {
		json_object *dns = json_object_new_object();
		if (dns == NULL) {
			json_object_put(rc);
			return cradle_err_nomem(err);
		}
		json_object_object_add(dns, "servers", strs_array(pod->dns_servers));
		json_object_object_add(dns, "searches", strs_array(pod->dns_searches));
		json_object_object_add(dns, "options", strs_array(pod->dns_options));
		json_object_object_add(rc, "dns", dns);
	}
	if (pod->ingress_rate != 0 || pod->ingress_burst != 0 || pod->egress_rate != 0 ||
	    pod->egress_burst != 0) {
		json_object *bw = json_object_new_object();
		if (bw == NULL) {
			json_object_put(rc);
			return cradle_err_nomem(err);
		}
		json_object_object_add(bw, "ingressRate",
		                       json_object_new_uint64(pod->ingress_rate));
		json_object_object_add(bw, "ingressBurst",
		                       json_object_new_uint64(pod->ingress_burst));
		json_object_object_add(bw, "egressRate", json_object_new_uint64(pod->egress_rate));
		json_object_object_add(bw, "egressBurst",
		                       json_object_new_uint64(pod->egress_burst));
		json_object_object_add(rc, "bandwidth", bw);
	}
	if (pod->cgroup_path != NULL && pod->cgroup_path[0] != '\0')
		json_object_object_add(rc, "cgroupPath", json_object_new_string(pod->cgroup_path));
	ann = json_object_new_object();
	for (size_t i = 0; ann != NULL && pod->annotations != NULL && i < pod->annotations->n; i++)
		json_object_object_add(ann, pod->annotations->v[i].key,
		                       json_object_new_string(pod->annotations->v[i].value));
	if (ann == NULL) {
		json_object_put(rc);
		return cradle_err_nomem(err);
	}
	json_object_object_add(rc, "io.kubernetes.cri.pod-annotations", ann);
	*out = rc;
	return 0;
}

/* One plugin's stdin: its object, the list's name and version, prevResult
 * and the runtime config of the capabilities it declares. */
static char *
plugin_stdin(json_object *plugin, const char *name, const char *version, json_object *prev,
             json_object *rc, size_t *len)
{
	json_object *o = json_object_new_object(), *caps, *rt, *v;
	const char *s;
	char *text = NULL;

	if (o == NULL)
		return NULL;
	json_object_object_foreach(plugin, key, val) {
		if (strcmp(key, "prevResult") != 0)
			json_object_object_add(o, key, json_object_get(val));
	}
	json_object_object_add(o, "name", json_object_new_string(name));
	json_object_object_add(o, "cniVersion", json_object_new_string(version));
	if (prev != NULL)
		json_object_object_add(o, "prevResult", json_object_get(prev));
	rt = json_object_new_object();
	if (rt != NULL && json_object_object_get_ex(plugin, "capabilities", &caps)) {
		json_object_object_foreach(caps, cap, on) {
			if (json_object_get_boolean(on) && json_object_object_get_ex(rc, cap, &v))
				json_object_object_add(rt, cap, json_object_get(v));
		}
	}
	if (rt != NULL && json_object_object_length(rt) > 0)
		json_object_object_add(o, "runtimeConfig", rt);
	else
		json_object_put(rt);
	s = json_object_to_json_string_length(o, JSON_OUT, len);
	if (s != NULL)
		text = strndup(s, *len);
	json_object_put(o);
	return text;
}

/* Run one plugin of the list doc; its parsed result in *res (ADD). */
static int
chain_step(const struct call *call, json_object *doc, size_t i, json_object *prev, json_object *rc,
           json_object **res, struct cradle_err *err)
{
	json_object *plugins, *plugin;
	const char *type, *name, *version;
	char path[FS_PATH_MAX], *in, *out = NULL, what[128];
	size_t in_len, out_len = 0;
	int r;

	json_object_object_get_ex(doc, "plugins", &plugins);
	plugin = json_object_array_get_idx(plugins, i);
	get_str(plugin, "type", &type);
	get_str(doc, "name", &name);
	get_str(doc, "cniVersion", &version);
	r = plugin_path(call->bin_dirs, type, path, err);
	if (r < 0)
		return r;
	in = plugin_stdin(plugin, name, version, prev, rc, &in_len);
	if (in == NULL)
		return cradle_err_nomem(err);
	r = plugin_run(call, path, type, in, in_len, &out, &out_len, err);
	free(in);
	if (r < 0 || res == NULL) {
		free(out);
		return r;
	}
	snprintf(what, sizeof(what), "result of CNI plugin %s ADD", type);
	*res = out_len > 0 ? json_doc_parse(out, out_len, what, err) : NULL;
	if (out_len == 0)
		cradle_err_set(err, CRADLE_INTERNAL, "%s: empty", what);
	free(out);
	if (*res == NULL) {
		/* the plugin's fault, not the caller's */
		if (err != NULL && err->code == CRADLE_INVALID_ARGUMENT)
			err->code = CRADLE_INTERNAL;
		return -EINVAL;
	}
	if (!json_object_is_type(*res, json_type_object)) {
		json_object_put(*res);
		*res = NULL;
		return cradle_err_set(err, CRADLE_INTERNAL, "%s: not a JSON object", what);
	}
	return 0;
}

/* DEL through the whole list, last plugin first; the first failure. */
static int
chain_del(const struct call *call, json_object *doc, json_object *prev, json_object *rc,
          struct cradle_err *err)
{
	json_object *plugins;
	int ret = 0;

	json_object_object_get_ex(doc, "plugins", &plugins);
	for (size_t i = json_object_array_length(plugins); i-- > 0;) {
		struct cradle_err e = { 0 };
		int r = chain_step(call, doc, i, prev, rc, NULL, &e);
		if (r < 0 && ret == 0) {
			ret = r;
			if (err != NULL)
				*err = e;
		}
	}
	return ret;
}

static int
check_pod(const struct cni_pod *pod, const char *const *bin_dirs, bool add, int timeout_ms,
          struct cradle_err *err)
{
	const char *ifname = pod->ifname != NULL ? pod->ifname : CNI_IFNAME_DEFAULT;

	if (pod->id == NULL || !valid_name(pod->id))
		return cradle_err_set(err, CRADLE_INVALID_ARGUMENT,
		                      "CNI: sandbox id \"%.64s\" is not [A-Za-z0-9][A-Za-z0-9_.-]*",
		                      pod->id != NULL ? pod->id : "");
	if (ifname[0] == '\0' || strlen(ifname) > 15 || strpbrk(ifname, "/: \t\n=;") != NULL ||
	    strcmp(ifname, ".") == 0 || strcmp(ifname, "..") == 0)
		return cradle_err_set(err, CRADLE_INVALID_ARGUMENT,
		                      "CNI: sandbox %s: interface name \"%.32s\" is not valid",
		                      pod->id, ifname);
	if (!valid_arg(pod->ns) || !valid_arg(pod->name) || !valid_arg(pod->uid))
		return cradle_err_set(err, CRADLE_INVALID_ARGUMENT,
		                      "CNI: sandbox %s: a pod name, namespace or uid holds ';'",
		                      pod->id);
	if (add && (pod->netns_path == NULL || pod->netns_path[0] != '/'))
		return cradle_err_set(err, CRADLE_INVALID_ARGUMENT,
		                      "CNI: sandbox %s: no network namespace path", pod->id);
	if (pod->n_ports > CNI_PORTS_MAX)
		return cradle_err_set(err, CRADLE_INVALID_ARGUMENT,
		                      "CNI: sandbox %s: %zu port mappings (at most %d)", pod->id,
		                      pod->n_ports, CNI_PORTS_MAX);
	if (timeout_ms <= 0)
		return cradle_err_set(err, CRADLE_INVALID_ARGUMENT,
		                      "CNI: sandbox %s: timeout of %d ms", pod->id, timeout_ms);
	for (size_t i = 0; bin_dirs[i] != NULL; i++) {
		if (bin_dirs[i][0] != '/' || strchr(bin_dirs[i], ':') != NULL)
			return cradle_err_set(
				err, CRADLE_INVALID_ARGUMENT,
				"CNI bin dir \"%.128s\" is not an absolute path without "
				"':'",
				bin_dirs[i]);
	}
	if (bin_dirs[0] == NULL)
		return cradle_err_set(err, CRADLE_INVALID_ARGUMENT, "CNI: no bin dir");
	return 0;
}

static json_object *
parse_conf(const struct cni_net *net, struct cradle_err *err)
{
	return json_doc_parse(net->conf, net->conf_len, net->file, err);
}

/* The cache blob: what DEL needs, whatever happens to the conf dir. */
static int
cache_make(const struct cni_net *net, const struct cni_pod *pod, const char *ifname,
           const char *args, json_object *rc, json_object *result, char **cache, size_t *cache_len,
           struct cradle_err *err)
{
	json_object *c = json_object_new_object();
	const char *s;
	size_t len;

	if (c == NULL)
		return cradle_err_nomem(err);
	json_object_object_add(c, "kind", json_object_new_string(CACHE_KIND));
	json_object_object_add(c, "version", json_object_new_int(CACHE_VERSION));
	json_object_object_add(c, "containerId", json_object_new_string(pod->id));
	json_object_object_add(c, "ifName", json_object_new_string(ifname));
	json_object_object_add(c, "networkName", json_object_new_string(net->name));
	json_object_object_add(c, "cniArgs", json_object_new_string(args));
	json_object_object_add(c, "config",
	                       json_object_new_string_len(net->conf, (int)net->conf_len));
	json_object_object_add(c, "runtimeConfig", json_object_get(rc));
	json_object_object_add(c, "result", json_object_get(result));
	s = json_object_to_json_string_length(c, JSON_OUT, &len);
	*cache = s != NULL ? strndup(s, len) : NULL;
	json_object_put(c);
	if (*cache == NULL)
		return cradle_err_nomem(err);
	*cache_len = len;
	return 0;
}

/* What DEL passes as CNI_NETNS: "" when path is no namespace any more, as
 * containerd does for a closed one (plugins then clean up what they can
 * outside it). */
static const char *
del_netns(const char *path)
{
	struct statfs sf;

	if (path == NULL || path[0] == '\0')
		return "";
	if (statfs(path, &sf) != 0 || (unsigned long)sf.f_type != (unsigned long)NSFS_MAGIC)
		return "";
	return path;
}

int
cni_add(const struct cni_net *net, const char *const *bin_dirs, const struct cni_pod *pod,
        int timeout_ms, struct cni_result *out, char **cache, size_t *cache_len,
        struct cradle_err *err)
{
	const char *ifname = pod->ifname != NULL ? pod->ifname : CNI_IFNAME_DEFAULT;
	json_object *doc = NULL, *rc = NULL, *prev = NULL;
	struct call call = { 0 };
	char *args = NULL;
	bool ran = false;
	int r;

	*cache = NULL;
	*cache_len = 0;
	if (bin_dirs == NULL)
		bin_dirs = cni_bin_dirs_default;
	r = check_pod(pod, bin_dirs, true, timeout_ms, err);
	if (r < 0)
		return r;
	doc = parse_conf(net, err);
	if (doc == NULL)
		return -EINVAL;
	args = pod_args(pod);
	if (args == NULL) {
		r = cradle_err_nomem(err);
		goto out;
	}
	r = capability_args(pod, &rc, err);
	if (r < 0)
		goto out;
	r = call_init(&call, "ADD", bin_dirs, pod->id, pod->netns_path, ifname, args, timeout_ms,
	              err);
	if (r < 0)
		goto out;
	for (size_t i = 0; i < net->n; i++) {
		json_object *res = NULL;

		ran = true;
		r = chain_step(&call, doc, i, prev, rc, &res, err);
		if (r < 0)
			goto out;
		json_object_put(prev);
		prev = res;
	}
	r = result_from_obj(prev, "CNI result", out, err);
	if (r == 0 && out->n_ips == 0)
		r = cradle_err_set(err, CRADLE_INTERNAL, "the result has no IP in the sandbox");
	if (r == 0)
		r = cache_make(net, pod, ifname, args, rc, prev, cache, cache_len, err);
out:
	if (r < 0 && ran) {
		struct call del;
		struct cradle_err e = { 0 };

		/* undo what the plugins that ran may have done */
		if (call_init(&del, "DEL", bin_dirs, pod->id, del_netns(pod->netns_path), ifname,
		              args, timeout_ms, &e) == 0)
			chain_del(&del, doc, NULL, rc, &e);
		call_fini(&del);
		log_warn_drop(&e, "CNI network %s: DEL of sandbox %s after a failed ADD", net->name,
		              pod->id);
	}
	if (r < 0)
		cradle_err_wrap(err, "CNI network %s: ADD of sandbox %s", net->name, pod->id);
	call_fini(&call);
	json_object_put(prev);
	json_object_put(rc);
	json_object_put(doc);
	free(args);
	return r;
}

/* A cache blob's parts: c is the parsed blob. */
static int
cache_parse(const char *cache, size_t len, json_object **c, struct cradle_err *err)
{
	const char *kind;
	json_object *v;

	if (len > CNI_CACHE_MAX)
		return cradle_err_set(err, CRADLE_INVALID_ARGUMENT, "CNI cache: %zu bytes", len);
	*c = json_doc_parse(cache, len, "CNI cache", err);
	if (*c == NULL)
		return -EINVAL;
	if (!json_object_is_type(*c, json_type_object) || get_str(*c, "kind", &kind) != 0 ||
	    strcmp(kind, CACHE_KIND) != 0 || !json_object_object_get_ex(*c, "version", &v) ||
	    json_object_get_int(v) != CACHE_VERSION) {
		json_object_put(*c);
		*c = NULL;
		return cradle_err_set(err, CRADLE_INVALID_ARGUMENT,
		                      "CNI cache: not a %s of version %d", CACHE_KIND,
		                      CACHE_VERSION);
	}
	return 0;
}

int
cni_cache_result(const char *cache, size_t cache_len, struct cni_result *out,
                 struct cradle_err *err)
{
	json_object *c, *res;
	int r;

	r = cache_parse(cache, cache_len, &c, err);
	if (r < 0)
		return r;
	if (!json_object_object_get_ex(c, "result", &res))
		r = cradle_err_set(err, CRADLE_INVALID_ARGUMENT, "CNI cache: no result");
	else
		r = result_from_obj(res, "CNI cache result", out, err);
	json_object_put(c);
	return r;
}

int
cni_del(const char *cache, size_t cache_len, const struct cni_net *net, const char *const *bin_dirs,
        const struct cni_pod *pod, int timeout_ms, struct cradle_err *err)
{
	const char *ifname = pod->ifname != NULL ? pod->ifname : CNI_IFNAME_DEFAULT;
	json_object *c = NULL, *doc = NULL, *rc = NULL, *prev = NULL;
	struct cni_net *cached = NULL;
	struct call call = { 0 };
	const char *netname = net != NULL ? net->name : NULL;
	char *args = NULL;
	int r;

	if (bin_dirs == NULL)
		bin_dirs = cni_bin_dirs_default;
	r = check_pod(pod, bin_dirs, false, timeout_ms, err);
	if (r < 0)
		return r;
	if (cache != NULL) {
		const char *s, *id, *ifn, *conf;
		json_object *c_rc, *c_res;

		r = cache_parse(cache, cache_len, &c, err);
		if (r < 0)
			goto out;
		if (get_str(c, "containerId", &id) != 0 || get_str(c, "ifName", &ifn) != 0 ||
		    get_str(c, "config", &conf) != 0 || get_str(c, "cniArgs", &s) != 0 ||
		    !json_object_object_get_ex(c, "runtimeConfig", &c_rc) ||
		    !json_object_is_type(c_rc, json_type_object) ||
		    !json_object_object_get_ex(c, "result", &c_res) ||
		    !json_object_is_type(c_res, json_type_object)) {
			r = cradle_err_set(err, CRADLE_INVALID_ARGUMENT, "CNI cache: incomplete");
			goto out;
		}
		if (strcmp(id, pod->id) != 0 || strcmp(ifn, ifname) != 0) {
			r = cradle_err_set(err, CRADLE_INVALID_ARGUMENT,
			                   "CNI cache of %.64s/%.16s is not sandbox %s's (%s)", id,
			                   ifn, pod->id, ifname);
			goto out;
		}
		args = strdup(s);
		if (args == NULL) {
			r = cradle_err_nomem(err);
			goto out;
		}
		r = cni_parse(conf, strlen(conf), "CNI cache config", &cached, err);
		if (r < 0)
			goto out;
		net = cached;
		netname = net->name;
		rc = json_object_get(c_rc);
		prev = json_object_get(c_res);
	} else if (net == NULL) {
		return cradle_err_set(
			err, CRADLE_FAILED_PRECONDITION,
			"CNI DEL of sandbox %s: no cached result and no network config", pod->id);
	} else {
		args = pod_args(pod);
		if (args == NULL) {
			r = cradle_err_nomem(err);
			goto out;
		}
		r = capability_args(pod, &rc, err);
		if (r < 0)
			goto out;
	}
	doc = parse_conf(net, err);
	if (doc == NULL) {
		r = -EINVAL;
		goto out;
	}
	r = call_init(&call, "DEL", bin_dirs, pod->id, del_netns(pod->netns_path), ifname, args,
	              timeout_ms, err);
	if (r == 0)
		r = chain_del(&call, doc, prev, rc, err);
out:
	if (r < 0 && netname != NULL)
		cradle_err_wrap(err, "CNI network %s: DEL of sandbox %s", netname, pod->id);
	else if (r < 0)
		cradle_err_wrap(err, "CNI DEL of sandbox %s", pod->id);
	call_fini(&call);
	json_object_put(doc);
	json_object_put(prev);
	json_object_put(rc);
	json_object_put(c);
	cni_free(cached);
	free(args);
	return r;
}
