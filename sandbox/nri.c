/* nri.c - NRI v1 plugins for a sandbox (see nri.h). */
#include "sandbox/nri.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "util/clock.h"
#include "util/fs.h"
#include "util/json.h"
#include "util/log.h"
#include "util/run.h"
#include "util/sys.h"

extern char **environ;

struct nri_plugin {
	char *type;
	char *conf; /* compact JSON text; NULL: none given */
};

struct nri {
	char *version;
	char *plugin_dir;
	int timeout_ms;
	size_t n;
	struct nri_plugin *plugins;
};

#define JSON_FLAGS (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)

void
nri_free(struct nri *n)
{
	if (n == NULL)
		return;
	for (size_t i = 0; i < n->n; i++) {
		free(n->plugins[i].type);
		free(n->plugins[i].conf);
	}
	free(n->plugins);
	free(n->version);
	free(n->plugin_dir);
	free(n);
}

size_t
nri_n_plugins(const struct nri *n)
{
	return n != NULL ? n->n : 0;
}

const char *
nri_plugin_type(const struct nri *n, size_t i)
{
	return n != NULL && i < n->n ? n->plugins[i].type : NULL;
}

/* A plain file name of printable characters: what the plugin dir may hold. */
static bool
valid_type(const char *s)
{
	size_t len = strlen(s);

	if (len == 0 || len > 255 || strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
		return false;
	for (const char *p = s; *p != '\0'; p++)
		if (*p == '/' || (unsigned char)*p < 0x20 || (unsigned char)*p == 0x7f)
			return false;
	return true;
}

static int
bad_conf(struct cradle_err *err, const char *path, const char *what)
{
	return cradle_err_set(err, CRADLE_INVALID_ARGUMENT, "NRI config \"%s\": %s", path, what);
}

static int
load_doc(json_object *doc, const char *path, struct nri *n, struct cradle_err *err)
{
	json_object *v = NULL, *plugins = NULL;
	char what[96];

	if (!json_object_is_type(doc, json_type_object))
		return bad_conf(err, path, "not a JSON object");
	if (json_object_object_get_ex(doc, "version", &v) && v != NULL &&
	    !json_object_is_type(v, json_type_string))
		return bad_conf(err, path, "version: not a string");
	/* a file without one says "" (Go's zero value), as the reference's */
	if ((n->version = strdup(v != NULL ? json_object_get_string(v) : "")) == NULL)
		return cradle_err_nomem(err);
	if (!json_object_object_get_ex(doc, "plugins", &plugins) || plugins == NULL)
		return 0;
	if (!json_object_is_type(plugins, json_type_array))
		return bad_conf(err, path, "plugins: not an array");
	size_t np = json_object_array_length(plugins);
	if (np > NRI_PLUGINS_MAX) {
		snprintf(what, sizeof(what), "plugins: %zu plugins, at most %d", np,
		         NRI_PLUGINS_MAX);
		return bad_conf(err, path, what);
	}
	if (np == 0)
		return 0;
	if ((n->plugins = calloc(np, sizeof(*n->plugins))) == NULL)
		return cradle_err_nomem(err);
	for (size_t i = 0; i < np; i++) {
		json_object *p = json_object_array_get_idx(plugins, i), *t = NULL, *c = NULL;
		struct nri_plugin *pl = &n->plugins[i];

		n->n = i + 1;
		if (p == NULL || !json_object_is_type(p, json_type_object)) {
			snprintf(what, sizeof(what), "plugins[%zu]: not an object", i);
			return bad_conf(err, path, what);
		}
		if (!json_object_object_get_ex(p, "type", &t) || t == NULL ||
		    !json_object_is_type(t, json_type_string) ||
		    !valid_type(json_object_get_string(t))) {
			snprintf(what, sizeof(what),
			         "plugins[%zu].type: not the file name of a plugin", i);
			return bad_conf(err, path, what);
		}
		if ((pl->type = strdup(json_object_get_string(t))) == NULL)
			return cradle_err_nomem(err);
		/* RawMessage with omitempty: absent stays absent, a null is
		 * passed on as null */
		if (json_object_object_get_ex(p, "conf", &c) &&
		    (pl->conf = strdup(c != NULL ? json_object_to_json_string_ext(c, JSON_FLAGS)
		                                 : "null")) == NULL)
			return cradle_err_nomem(err);
	}
	return 0;
}

int
nri_load(const char *conf_path, const char *plugin_dir, int timeout_ms, struct nri **out,
         struct cradle_err *err)
{
	char *text = NULL;
	size_t len = 0;
	struct nri *n;
	json_object *doc;
	int r;

	*out = NULL;
	r = fs_read_alloc(conf_path, NRI_CONF_MAX, 0, &text, &len);
	if (r == -ENOENT)
		return 0; /* NRI off, as the reference without the file */
	if (r == -EFBIG)
		return cradle_err_set(err, CRADLE_INVALID_ARGUMENT,
		                      "NRI config \"%s\": larger than %u bytes", conf_path,
		                      NRI_CONF_MAX);
	if (r < 0)
		return cradle_err_errno(err, -r, "read NRI config \"%s\"", conf_path);
	doc = json_doc_parse(text, len, conf_path, err);
	free(text);
	if (doc == NULL)
		return -1;
	if ((n = calloc(1, sizeof(*n))) == NULL) {
		json_object_put(doc);
		return cradle_err_nomem(err);
	}
	r = load_doc(doc, conf_path, n, err);
	json_object_put(doc);
	if (r == 0 && n->n > 0 && (n->plugin_dir = strdup(plugin_dir)) == NULL)
		r = cradle_err_nomem(err);
	if (r < 0 || n->n == 0) {
		nri_free(n);
		return r < 0 ? -1 : 0;
	}
	n->timeout_ms = timeout_ms > 0 ? timeout_ms : NRI_TIMEOUT_MS_DEFAULT;
	*out = n;
	return 0;
}

/* --- the request ------------------------------------------------------ */

static int
cmp_kv(const void *a, const void *b)
{
	const struct proto_kv *x = *(const struct proto_kv *const *)a;
	const struct proto_kv *y = *(const struct proto_kv *const *)b;

	return strcmp(x->key, y->key);
}

/* A Go map[string]string: keys sorted, as encoding/json writes them. */
static json_object *
kvs_object(const struct proto_kvs *kvs)
{
	const struct proto_kv **v = malloc(kvs->n * sizeof(*v));
	json_object *o = json_object_new_object();

	if (v == NULL || o == NULL)
		goto fail;
	for (size_t i = 0; i < kvs->n; i++)
		v[i] = &kvs->v[i];
	qsort(v, kvs->n, sizeof(*v), cmp_kv);
	for (size_t i = 0; i < kvs->n; i++) {
		json_object *s = json_object_new_string(v[i]->value ? v[i]->value : "");
		if (s == NULL || json_object_object_add(o, v[i]->key, s) != 0) {
			json_object_put(s);
			goto fail;
		}
	}
	free(v);
	return o;
fail:
	free(v);
	json_object_put(o);
	return NULL;
}

static int
cmp_ns(const void *a, const void *b)
{
	return strcmp(((const struct nri_ns *)a)->type, ((const struct nri_ns *)b)->type);
}

/* Add key (taking val); false when out of memory or val is NULL. */
static bool
add(json_object *o, const char *key, json_object *val)
{
	if (val == NULL)
		return false;
	if (json_object_object_add(o, key, val) != 0) {
		json_object_put(val);
		return false;
	}
	return true;
}

/* The spec's linux.resources as the reference's sandbox has them
 * (specs.LinuxResources: devices, then cpu). */
static json_object *
resources(const struct nri_request *r)
{
	json_object *res = json_object_new_object();

	if (res == NULL)
		return NULL;
	if (r->devices_deny_all) {
		json_object *devs = json_object_new_array(), *d = json_object_new_object();
		if (devs == NULL || d == NULL || !add(d, "allow", json_object_new_boolean(0)) ||
		    !add(d, "access", json_object_new_string("rwm")) ||
		    json_object_array_add(devs, d) != 0) {
			json_object_put(d);
			json_object_put(devs);
			goto fail;
		}
		if (!add(res, "devices", devs))
			goto fail;
	}
	if (r->cpu_shares > 0) {
		json_object *cpu = json_object_new_object();
		if (cpu == NULL || !add(cpu, "shares", json_object_new_uint64(r->cpu_shares))) {
			json_object_put(cpu);
			goto fail;
		}
		if (!add(res, "cpu", cpu))
			goto fail;
	}
	return res;
fail:
	json_object_put(res);
	return NULL;
}

static json_object *
spec_object(const struct nri_request *r)
{
	json_object *spec = json_object_new_object();
	struct nri_ns ns[NRI_NS_MAX];
	size_t nn = r->n_namespaces < NRI_NS_MAX ? r->n_namespaces : NRI_NS_MAX;

	if (spec == NULL || !add(spec, "resources", resources(r)))
		goto fail;
	if (nn > 0) {
		json_object *o = json_object_new_object();
		memcpy(ns, r->namespaces, nn * sizeof(ns[0]));
		qsort(ns, nn, sizeof(ns[0]), cmp_ns);
		for (size_t i = 0; o != NULL && i < nn; i++)
			if (!add(o, ns[i].type,
			         json_object_new_string(ns[i].path ? ns[i].path : ""))) {
				json_object_put(o);
				o = NULL;
			}
		if (!add(spec, "namespaces", o))
			goto fail;
	}
	if (r->cgroups_path != NULL && r->cgroups_path[0] != '\0' &&
	    !add(spec, "cgroupsPath", json_object_new_string(r->cgroups_path)))
		goto fail;
	if (r->annotations != NULL && r->annotations->n > 0 &&
	    !add(spec, "annotations", kvs_object(r->annotations)))
		goto fail;
	return spec;
fail:
	json_object_put(spec);
	return NULL;
}

/* The request of plugin i; results (an array, borrowed) when not empty. */
static json_object *
request_object(const struct nri *n, size_t i, const struct nri_request *r, json_object *results,
               struct cradle_err *err)
{
	json_object *o = json_object_new_object();
	const char *conf = n->plugins[i].conf;

	if (o == NULL)
		goto nomem;
	if (conf != NULL) {
		/* the file's own text, checked at load: parses again */
		json_object *c = json_doc_parse(conf, strlen(conf), "NRI plugin conf", err);
		if (c == NULL) {
			json_object_put(o);
			return NULL;
		}
		if (!add(o, "conf", c))
			goto nomem;
	}
	if (!add(o, "version", json_object_new_string(n->version)) ||
	    !add(o, "state",
	         json_object_new_string(r->state == NRI_DELETE ? "delete" : "create")) ||
	    !add(o, "id", json_object_new_string(r->id)))
		goto nomem;
	if (r->sandbox_id != NULL && r->sandbox_id[0] != '\0' &&
	    !add(o, "sandboxID", json_object_new_string(r->sandbox_id)))
		goto nomem;
	if (r->pid != 0 && !add(o, "pid", json_object_new_int(r->pid)))
		goto nomem;
	if (!add(o, "spec", spec_object(r)))
		goto nomem;
	if (r->labels != NULL && r->labels->n > 0 && !add(o, "labels", kvs_object(r->labels)))
		goto nomem;
	if (results != NULL && json_object_array_length(results) > 0 &&
	    !add(o, "results", json_object_get(results)))
		goto nomem;
	return o;
nomem:
	json_object_put(o);
	cradle_err_nomem(err);
	return NULL;
}

char *
nri_request_json(const struct nri *n, size_t i, const struct nri_request *r, const char *results,
                 struct cradle_err *err)
{
	json_object *res = NULL, *o;
	char *s;

	if (i >= n->n) {
		cradle_err_set(err, CRADLE_INTERNAL, "NRI: no plugin %zu", i);
		return NULL;
	}
	if (results != NULL &&
	    (res = json_doc_parse(results, strlen(results), "results", err)) == NULL)
		return NULL;
	o = request_object(n, i, r, res, err);
	json_object_put(res);
	if (o == NULL)
		return NULL;
	s = strdup(json_object_to_json_string_ext(o, JSON_FLAGS));
	json_object_put(o);
	if (s == NULL)
		cradle_err_nomem(err);
	return s;
}

/* --- running one plugin ----------------------------------------------- */

/* At most 200 bytes of text (its end when tail) as a quoted, escaped
 * string; "<empty>" when empty, as the reference's message says. */
static void
quote(const char *text, size_t len, bool tail, char *out, size_t size)
{
	size_t start = 0, j = 0;
	bool cut = false;

	/* a message line's end is not the message */
	while (tail && len > 0 &&
	       (text[len - 1] == '\n' || text[len - 1] == '\r' || text[len - 1] == ' '))
		len--;
	if (len == 0) {
		snprintf(out, size, "<empty>");
		return;
	}
	if (len > 200) {
		cut = true;
		if (tail)
			start = len - 200;
		else
			len = 200;
	}
	out[j++] = '"';
	if (cut && tail)
		j += (size_t)snprintf(out + j, size - j, "...");
	for (size_t i = start; i < len && j + 8 < size; i++) {
		unsigned char ch = (unsigned char)text[i];
		if (ch == '"' || ch == '\\') {
			out[j++] = '\\';
			out[j++] = (char)ch;
		} else if (ch == '\n') {
			out[j++] = '\\';
			out[j++] = 'n';
		} else if (ch >= 0x20 && ch < 0x7f) {
			out[j++] = (char)ch;
		} else {
			j += (size_t)snprintf(out + j, size - j, "\\x%02x", ch);
		}
	}
	if (cut && !tail && j + 4 < size)
		j += (size_t)snprintf(out + j, size - j, "...");
	out[j++] = '"';
	out[j] = '\0';
}

/* Run plugin `type` with stdin `in` (util/run.h); its stdout in *res
 * (malloc'd, NUL-terminated) when it exited 0. */
static int
run_plugin(const struct nri *n, const char *type, const char *in, char **res, size_t *res_len,
           struct cradle_err *err)
{
	char path[FS_PATH_MAX], qout[1024], qerr[1024], status[48];
	char *argv[] = { path, "invoke", NULL };
	struct run_result out;
	const char *what;
	int ret = 0, r;

	*res = NULL;
	if (fs_path(path, err, "%s/%s", n->plugin_dir, type) < 0)
		return -1;
	/* a missing or unexecutable plugin: run_program's "exec" says which */
	const struct run_spec spec = {
		.path = path,
		.argv = argv,
		.envp = environ,
		.in = in,
		.in_len = strlen(in),
		.out_max = NRI_STDOUT_MAX,
		.err_max = NRI_STDERR_MAX,
		.timeout_ms = n->timeout_ms,
	};
	r = run_program(&spec, &out, &what);
	if (r == -ENOMEM) {
		ret = cradle_err_nomem(err);
	} else if (r < 0 && (strcmp(what, "spawn") == 0 || strcmp(what, "exec") == 0)) {
		ret = cradle_err_errno(err, -r, "plugin: %s: exec \"%s\"", type, path);
	} else if (r < 0) {
		ret = cradle_err_errno(err, -r, "plugin: %s: %s", type, what);
	} else if (out.timed_out) {
		ret = cradle_err_set(err, CRADLE_UNAVAILABLE, "plugin: %s: timed out after %d ms",
		                     type, n->timeout_ms);
	} else if (out.out_over) {
		ret = cradle_err_set(err, CRADLE_INTERNAL, "plugin: %s: output: more than %u bytes",
		                     type, NRI_STDOUT_MAX);
	} else if (out.si.si_code != CLD_EXITED || out.si.si_status != 0) {
		if (out.si.si_code == CLD_EXITED)
			snprintf(status, sizeof(status), "exit code: %d", out.si.si_status);
		else
			snprintf(status, sizeof(status), "killed by signal %d", out.si.si_status);
		quote(out.out, out.out_len, false, qout, sizeof(qout));
		quote(out.err, out.err_len, true, qerr, sizeof(qerr));
		ret = cradle_err_set(err, CRADLE_INTERNAL, "plugin: %s: output: %s %s%s%s", type,
		                     qout, status, out.err_len > 0 ? ", stderr: " : "",
		                     out.err_len > 0 ? qerr : "");
	} else {
		if (out.err_len > 0) {
			quote(out.err, out.err_len, true, qerr, sizeof(qerr));
			log_debug("NRI plugin %s wrote to stderr: %s", type, qerr);
		}
		*res = out.out;
		*res_len = out.out_len;
		out.out = NULL;
	}
	run_result_fini(&out);
	return ret;
}

/* --- the result -------------------------------------------------------- */

static int
bad_output(const char *type, const char *text, size_t len, const char *why, struct cradle_err *err)
{
	char q[1024];

	quote(text, len, false, q, sizeof(q));
	return cradle_err_set(err, CRADLE_INTERNAL,
	                      "plugin: %s: failed to unmarshal plugin output output: %s: %s", type,
	                      q, why);
}

/* A string field of o, or "" when absent or null; false when of another
 * type. */
static bool
str_field(json_object *o, const char *key, const char **out)
{
	json_object *v;

	*out = "";
	if (!json_object_object_get_ex(o, key, &v) || v == NULL)
		return true;
	if (!json_object_is_type(v, json_type_string))
		return false;
	*out = json_object_get_string(v);
	return true;
}

/* types.Result from a plugin's output, appended to results as the
 * reference marshals it; a non-empty "error" fails. */
static int
take_result(const char *type, const char *text, size_t len, json_object *results,
            struct cradle_err *err)
{
	struct cradle_err perr = { 0 };
	json_object *doc, *md = NULL, *r = NULL;
	const char *plugin, *version, *error;
	char why[160];
	int ret = 0;

	if (len == 0)
		return bad_output(type, text, len, "unexpected end of JSON input", err);
	if ((doc = json_doc_parse(text, len, "plugin output", &perr)) == NULL) {
		if (perr.code == CRADLE_RESOURCE_EXHAUSTED || perr.msg[0] == '\0')
			return cradle_err_nomem(err);
		return bad_output(type, text, len, perr.msg, err);
	}
	if (!json_object_is_type(doc, json_type_object)) {
		ret = bad_output(type, text, len, "not a JSON object", err);
		goto out;
	}
	const char *fields[] = { "plugin", "version", "error" };
	const char **vals[] = { &plugin, &version, &error };
	for (size_t i = 0; i < 3; i++)
		if (!str_field(doc, fields[i], vals[i])) {
			snprintf(why, sizeof(why), "\"%s\" is not a string", fields[i]);
			ret = bad_output(type, text, len, why, err);
			goto out;
		}
	if (json_object_object_get_ex(doc, "metadata", &md) && md != NULL) {
		if (!json_object_is_type(md, json_type_object)) {
			ret = bad_output(type, text, len, "\"metadata\" is not an object", err);
			goto out;
		}
		json_object_object_foreach(md, k, v) {
			if (v == NULL || !json_object_is_type(v, json_type_string)) {
				snprintf(why, sizeof(why),
				         "\"metadata\": \"%.64s\" is not a string", k);
				ret = bad_output(type, text, len, why, err);
				goto out;
			}
		}
	}
	if (error[0] != '\0') {
		ret = cradle_err_set(err, CRADLE_INTERNAL, "plugin: %s: %s", type, error);
		goto out;
	}
	/* as Go marshals types.Result: metadata omitempty, keys sorted */
	if ((r = json_object_new_object()) == NULL ||
	    !add(r, "plugin", json_object_new_string(plugin)) ||
	    !add(r, "version", json_object_new_string(version)) ||
	    !add(r, "error", json_object_new_string(""))) {
		ret = cradle_err_nomem(err);
		goto out;
	}
	if (md != NULL && json_object_object_length(md) > 0) {
		struct proto_kvs kvs = { 0 };
		size_t n = 0;
		kvs.v = calloc((size_t)json_object_object_length(md), sizeof(*kvs.v));
		if (kvs.v == NULL) {
			ret = cradle_err_nomem(err);
			goto out;
		}
		json_object_object_foreach(md, k, v) {
			kvs.v[n].key = k;
			kvs.v[n].value = (char *)json_object_get_string(v);
			n++;
		}
		kvs.n = n;
		bool ok = add(r, "metadata", kvs_object(&kvs));
		free(kvs.v);
		if (!ok) {
			ret = cradle_err_nomem(err);
			goto out;
		}
	}
	if (json_object_array_add(results, r) != 0) {
		ret = cradle_err_nomem(err);
		goto out;
	}
	r = NULL;
out:
	json_object_put(r);
	json_object_put(doc);
	return ret;
}

int
nri_invoke(const struct nri *n, const struct nri_request *r, struct cradle_err *err)
{
	json_object *results;
	int ret = 0;

	if (n == NULL || n->n == 0)
		return 0;
	if ((results = json_object_new_array()) == NULL)
		return cradle_err_nomem(err);
	for (size_t i = 0; i < n->n && ret == 0; i++) {
		const char *type = n->plugins[i].type;
		json_object *req = request_object(n, i, r, results, err);
		char *out = NULL;
		size_t out_len = 0;

		if (req == NULL) {
			ret = -1;
			break;
		}
		const char *in = json_object_to_json_string_ext(req, JSON_FLAGS);
		if (in == NULL) {
			json_object_put(req);
			ret = cradle_err_nomem(err);
			break;
		}
		ret = run_plugin(n, type, in, &out, &out_len, err);
		json_object_put(req);
		if (ret == 0)
			ret = take_result(type, out, out_len, results, err);
		free(out);
	}
	json_object_put(results);
	return ret < 0 ? -1 : 0;
}
