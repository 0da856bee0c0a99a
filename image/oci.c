/* oci.c - OCI image index / manifest documents, and image import.
 *
 * Documents are parsed with json-c, strictly (util/json.h): every field is
 * type checked and an error names the document and the field
 * ("manifest.layers[1].size: expected an integer, got string").
 *
 * Import reads three kinds of source:
 *   - an OCI image layout directory (oci-layout, index.json, blobs/sha256/),
 *   - an OCI archive (a tar of such a layout, maybe compressed),
 *   - a `docker save` archive (manifest.json, <config>.json, <dir>/layer.tar).
 * Nothing is ever extracted to disk: an archive is read in a few streaming
 * passes with libarchive.  The first pass lists the entries (names, types,
 * link targets) and keeps the small top-level documents; later passes copy
 * the entries wanted, by their position in the archive, straight into the
 * content store, whose writer verifies digest and size before the blob
 * becomes visible.  Entry names with absolute paths or ".." are refused;
 * symbolic and hard links are resolved inside the archive's own name space
 * (docker save links duplicate layers), never on the host.  A directory is
 * read with openat2(RESOLVE_IN_ROOT) so its links cannot leave it either.
 */
#include "image/oci.h"

#include <archive.h>
#include <archive_entry.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <limits.h>
#include <linux/openat2.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "proto/ref.h"
#include "util/json.h"

#define MT_OCI_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define MT_OCI_INDEX "application/vnd.oci.image.index.v1+json"
#define MT_OCI_CONFIG "application/vnd.oci.image.config.v1+json"
#define MT_OCI_LAYER_TAR "application/vnd.oci.image.layer.v1.tar"
#define MT_DOCKER_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"
#define MT_DOCKER_LIST "application/vnd.docker.distribution.manifest.list.v2+json"
#define MT_DOCKER_CONFIG "application/vnd.docker.container.image.v1+json"

#define ANN_REF_NAME "org.opencontainers.image.ref.name"
#define ANN_CTRD_NAME "io.containerd.image.name"

#define MAX_DOC (4u << 20) /* index.json, manifest.json, manifests */
#define MAX_CONFIG (16u << 20)
#define MAX_LAYOUT 4096u
#define MAX_ENTRIES 100000u
#define MAX_NEST 4
#define MAX_LINKS 16
#define COPY_BUF (128u * 1024u)

static const char *const layer_types[] = {
	"application/vnd.oci.image.layer.v1.tar",
	"application/vnd.oci.image.layer.v1.tar+gzip",
	"application/vnd.oci.image.layer.v1.tar+zstd",
	"application/vnd.oci.image.layer.nondistributable.v1.tar",
	"application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
	"application/vnd.oci.image.layer.nondistributable.v1.tar+zstd",
	"application/vnd.docker.image.rootfs.diff.tar",
	"application/vnd.docker.image.rootfs.diff.tar.gzip",
	"application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
};

/* --- platform ----------------------------------------------------------- */

static pthread_once_t arch_once = PTHREAD_ONCE_INIT;
static char arch_name[sizeof(((struct utsname *)0)->machine)];
static char arch_variant[8];

static void
arch_init(void)
{
	static const struct {
		const char *machine, *arch, *variant;
	} map[] = {
		{ "x86_64", "amd64", "" },
		{ "amd64", "amd64", "" },
		{ "aarch64", "arm64", "v8" },
		{ "arm64", "arm64", "v8" },
		{ "i386", "386", "" },
		{ "i486", "386", "" },
		{ "i586", "386", "" },
		{ "i686", "386", "" },
		{ "ppc64le", "ppc64le", "" },
		{ "ppc64", "ppc64", "" },
		{ "s390x", "s390x", "" },
		{ "riscv64", "riscv64", "" },
		{ "loongarch64", "loong64", "" },
		{ "mips64", "mips64", "" },
		{ "armv8l", "arm", "v7" },
		{ "armv7l", "arm", "v7" },
		{ "armv7", "arm", "v7" },
		{ "armv6l", "arm", "v6" },
		{ "armv5tel", "arm", "v5" },
	};
	struct utsname u;
	size_t i;

	if (uname(&u) != 0) {
		snprintf(arch_name, sizeof(arch_name), "unknown");
		return;
	}
	for (i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
		if (strcmp(u.machine, map[i].machine) == 0) {
			snprintf(arch_name, sizeof(arch_name), "%s", map[i].arch);
			snprintf(arch_variant, sizeof(arch_variant), "%s", map[i].variant);
			return;
		}
	}
	if (strncmp(u.machine, "arm", 3) == 0) {
		snprintf(arch_name, sizeof(arch_name), "arm");
		return;
	}
	snprintf(arch_name, sizeof(arch_name), "%s", u.machine);
}

const char *
oci_arch(void)
{
	(void)pthread_once(&arch_once, arch_init);
	return (arch_name);
}

static const char *
oci_variant(void)
{
	(void)pthread_once(&arch_once, arch_init);
	return (arch_variant);
}

/* --- JSON helpers ------------------------------------------------------- */

static const char *
jtype(json_object *o)
{
	switch (json_object_get_type(o)) {
	case json_type_null:
		return ("null");
	case json_type_boolean:
		return ("boolean");
	case json_type_double:
		return ("number");
	case json_type_int:
		return ("integer");
	case json_type_object:
		return ("object");
	case json_type_array:
		return ("array");
	case json_type_string:
		return ("string");
	}
	return ("unknown");
}

static const char *
tname(json_type t)
{
	switch (t) {
	case json_type_object:
		return ("an object");
	case json_type_array:
		return ("an array");
	case json_type_string:
		return ("a string");
	case json_type_int:
		return ("an integer");
	default:
		return ("a value");
	}
}

/* o (context ctx) must be of type t. */
static int
jwant(json_object *o, const char *ctx, json_type t, struct cradle_err *err)
{
	if (json_object_is_type(o, t))
		return (0);
	return (cradle_err_set(err, CRADLE_INVALID_ARGUMENT, "%s: expected %s, got %s", ctx,
	                       tname(t), jtype(o)));
}

/* An image document named what: one JSON value (util/json.h); an empty
 * one is called so. */
static json_object *
doc_parse(const char *doc, size_t len, const char *what, struct cradle_err *err)
{
	if (len == 0) {
		cradle_err_set(err, CRADLE_INVALID_ARGUMENT, "%s: empty", what);
		return (NULL);
	}
	return (json_doc_parse(doc, len, what, err));
}

/* What a document is read for: o is its value, what names it. */
typedef int doc_fn(json_object *o, const char *what, void *arg, struct cradle_err *err);

/* Parse doc (len bytes, the document what), hand its value to fn with
 * arg, release it.  fn's result, or -1 when doc is not one JSON value. */
static int
doc_apply(const char *doc, size_t len, const char *what, doc_fn *fn, void *arg,
          struct cradle_err *err)
{
	json_object *o = doc_parse(doc, len, what, err);
	int rc;

	if (o == NULL)
		return (-1);
	rc = fn(o, what, arg, err);
	json_object_put(o);
	return (rc);
}

/* Field key of object obj (context ctx) with type t.  Absent (or null when
 * optional): *out = NULL and 0 when optional, an error when required. */
static int
jfield(json_object *obj, const char *ctx, const char *key, json_type t, bool required,
       json_object **out, struct cradle_err *err)
{
	json_object *v = NULL;

	*out = NULL;
	if (!json_object_object_get_ex(obj, key, &v) || (!required && v == NULL)) {
		if (!required)
			return (0);
		return (cradle_err_set(err, CRADLE_INVALID_ARGUMENT, "%s.%s: missing", ctx, key));
	}
	if (!json_object_is_type(v, t)) {
		return (cradle_err_set(err, CRADLE_INVALID_ARGUMENT, "%s.%s: expected %s, got %s",
		                       ctx, key, tname(t), v == NULL ? "null" : jtype(v)));
	}
	*out = v;
	return (0);
}

static int
jstring(json_object *obj, const char *ctx, const char *key, bool required, const char **out,
        struct cradle_err *err)
{
	json_object *v;

	*out = NULL;
	if (jfield(obj, ctx, key, json_type_string, required, &v, err) < 0)
		return (-1);
	if (v != NULL)
		*out = json_object_get_string(v);
	return (0);
}

static int
schema_version(json_object *o, const char *ctx, struct cradle_err *err)
{
	json_object *v;

	if (jfield(o, ctx, "schemaVersion", json_type_int, true, &v, err) < 0)
		return (-1);
	if (json_object_get_int64(v) != 2) {
		return (cradle_err_set(err, CRADLE_INVALID_ARGUMENT,
		                       "%s.schemaVersion: expected 2, got %" PRId64, ctx,
		                       json_object_get_int64(v)));
	}
	return (0);
}

static bool
is_index_mt(const char *mt)
{
	return (strcmp(mt, MT_OCI_INDEX) == 0 || strcmp(mt, MT_DOCKER_LIST) == 0);
}

static bool
is_manifest_mt(const char *mt)
{
	return (strcmp(mt, MT_OCI_MANIFEST) == 0 || strcmp(mt, MT_DOCKER_MANIFEST) == 0);
}

static bool
is_layer_mt(const char *mt)
{
	size_t i;

	for (i = 0; i < sizeof(layer_types) / sizeof(layer_types[0]); i++) {
		if (strcmp(mt, layer_types[i]) == 0)
			return (true);
	}
	return (false);
}

static int
parse_descriptor(json_object *o, const char *ctx, struct oci_descriptor *d, struct cradle_err *err)
{
	const char *mt, *dg;
	json_object *sz;

	memset(d, 0, sizeof(*d));
	if (jwant(o, ctx, json_type_object, err) < 0)
		return (-1);
	if (jstring(o, ctx, "mediaType", true, &mt, err) < 0 ||
	    jstring(o, ctx, "digest", true, &dg, err) < 0 ||
	    jfield(o, ctx, "size", json_type_int, true, &sz, err) < 0)
		return (-1);
	if (strlen(mt) >= sizeof(d->media_type)) {
		return (cradle_err_set(err, CRADLE_INVALID_ARGUMENT,
		                       "%s.mediaType: longer than %zu bytes", ctx,
		                       sizeof(d->media_type) - 1));
	}
	if (!digest_valid(dg)) {
		return (cradle_err_set(
			err, CRADLE_INVALID_ARGUMENT,
			"%s.digest: \"%.80s\" is not a sha256 digest (\"sha256:\" and 64 lower-case hex)",
			ctx, dg));
	}
	d->size = json_object_get_int64(sz);
	if (d->size < 0) {
		return (cradle_err_set(err, CRADLE_INVALID_ARGUMENT,
		                       "%s.size: negative (%" PRId64 ")", ctx, d->size));
	}
	snprintf(d->media_type, sizeof(d->media_type), "%s", mt);
	memcpy(d->digest, dg, DIGEST_LEN + 1);
	return (0);
}

/* --- manifest ----------------------------------------------------------- */

void
oci_image_fini(struct oci_image *img)
{
	if (img == NULL)
		return;
	free(img->layers);
	memset(img, 0, sizeof(*img));
}

/* What a manifest is read into. */
struct manifest_out {
	size_t len; /* of the document, counted in the size */
	struct oci_image *img;
	struct oci_descriptor *cfg; /* may be NULL */
};

static int
manifest_doc(json_object *o, const char *what, void *arg, struct cradle_err *err)
{
	const struct manifest_out *m = arg;
	struct oci_image *img = m->img;
	struct oci_descriptor cfg;
	json_object *layers, *v;
	const char *mt;
	char ctx[48];
	size_t i, n;
	int64_t total;

	if (jwant(o, what, json_type_object, err) < 0)
		return (-1);
	if (schema_version(o, "manifest", err) < 0 ||
	    jstring(o, "manifest", "mediaType", false, &mt, err) < 0)
		return (-1);
	if (mt != NULL && !is_manifest_mt(mt)) {
		return (cradle_err_set(
			err, CRADLE_INVALID_ARGUMENT, "manifest.mediaType: \"%.128s\" is %s", mt,
			is_index_mt(mt) ? "an index, not a manifest" : "not an image manifest"));
	}
	if (mt == NULL && json_object_object_get_ex(o, "manifests", &v)) {
		return (cradle_err_set(err, CRADLE_INVALID_ARGUMENT,
		                       "manifest: has \"manifests\": an index, not a manifest"));
	}
	if (jfield(o, "manifest", "config", json_type_object, true, &v, err) < 0 ||
	    parse_descriptor(v, "manifest.config", &cfg, err) < 0)
		return (-1);
	if (strcmp(cfg.media_type, MT_OCI_CONFIG) != 0 &&
	    strcmp(cfg.media_type, MT_DOCKER_CONFIG) != 0) {
		return (cradle_err_set(
			err, CRADLE_INVALID_ARGUMENT,
			"manifest.config.mediaType: \"%s\" is not a container image config",
			cfg.media_type));
	}
	if (jfield(o, "manifest", "layers", json_type_array, true, &layers, err) < 0)
		return (-1);
	n = json_object_array_length(layers);
	img->layers = calloc(n ? n : 1, sizeof(*img->layers));
	if (img->layers == NULL)
		return (cradle_err_nomem(err));
	img->n_layers = n;
	total = (int64_t)m->len;
	if (total < 0 || cfg.size > INT64_MAX - total)
		return (cradle_err_set(err, CRADLE_INVALID_ARGUMENT, "manifest: sizes overflow"));
	total += cfg.size;
	for (i = 0; i < n; i++) {
		struct oci_descriptor *d = &img->layers[i];

		snprintf(ctx, sizeof(ctx), "manifest.layers[%zu]", i);
		if (parse_descriptor(json_object_array_get_idx(layers, i), ctx, d, err) < 0)
			return (-1);
		if (!is_layer_mt(d->media_type)) {
			return (cradle_err_set(err, CRADLE_INVALID_ARGUMENT,
			                       "%s.mediaType: \"%s\" is not a supported layer type",
			                       ctx, d->media_type));
		}
		if (d->size > INT64_MAX - total)
			return (cradle_err_set(err, CRADLE_INVALID_ARGUMENT,
			                       "manifest: sizes overflow"));
		total += d->size;
	}
	memcpy(img->config_digest, cfg.digest, DIGEST_LEN + 1);
	img->size = total;
	if (m->cfg != NULL)
		*m->cfg = cfg;
	return (0);
}

/* oci_parse_manifest, also giving the config descriptor (cfg may be NULL). */
static int
parse_manifest(const char *json, size_t len, struct oci_image *img, struct oci_descriptor *cfg,
               struct cradle_err *err)
{
	struct manifest_out m = { len, img, cfg };

	memset(img, 0, sizeof(*img));
	if (doc_apply(json, len, "manifest", manifest_doc, &m, err) < 0) {
		oci_image_fini(img);
		return (-1);
	}
	return (0);
}

int
oci_parse_manifest(const char *json, size_t len, struct oci_image *img, struct cradle_err *err)
{
	return (parse_manifest(json, len, img, NULL, err));
}

/* --- index / manifest list ---------------------------------------------- */

/* Check an index document; *manifests gets its "manifests" array. */
static int
index_check(json_object *o, const char *ctx, json_object **manifests, struct cradle_err *err)
{
	struct oci_descriptor d;
	json_object *m, *p, *v;
	const char *mt, *s;
	char c[80], pc[96];
	size_t i, n;

	if (jwant(o, ctx, json_type_object, err) < 0)
		return (-1);
	if (schema_version(o, ctx, err) < 0 || jstring(o, ctx, "mediaType", false, &mt, err) < 0)
		return (-1);
	if (mt != NULL && !is_index_mt(mt)) {
		return (cradle_err_set(
			err, CRADLE_INVALID_ARGUMENT,
			"%s.mediaType: \"%.128s\" is not an image index or manifest list", ctx,
			mt));
	}
	if (jfield(o, ctx, "manifests", json_type_array, true, manifests, err) < 0)
		return (-1);
	n = json_object_array_length(*manifests);
	for (i = 0; i < n; i++) {
		m = json_object_array_get_idx(*manifests, i);
		snprintf(c, sizeof(c), "%s.manifests[%zu]", ctx, i);
		if (parse_descriptor(m, c, &d, err) < 0 ||
		    jfield(m, c, "platform", json_type_object, false, &p, err) < 0 ||
		    jfield(m, c, "annotations", json_type_object, false, &v, err) < 0)
			return (-1);
		if (v != NULL) {
			json_object_object_foreach(v, key, val) {
				if (!json_object_is_type(val, json_type_string)) {
					return (cradle_err_set(
						err, CRADLE_INVALID_ARGUMENT,
						"%s.annotations.%.128s: expected a string, got %s",
						c, key, val == NULL ? "null" : jtype(val)));
				}
			}
		}
		if (p == NULL)
			continue;
		snprintf(pc, sizeof(pc), "%s.platform", c);
		if (jstring(p, pc, "os", true, &s, err) < 0 ||
		    jstring(p, pc, "architecture", true, &s, err) < 0 ||
		    jstring(p, pc, "variant", false, &s, err) < 0)
			return (-1);
	}
	return (0);
}

/* How well does platform p suit this node?  < 0: not at all. */
static int
platform_score(json_object *p)
{
	const char *os, *arch, *variant = "", *want = oci_variant();
	json_object *v;

	if (p == NULL)
		return (-1);
	os = json_object_object_get_ex(p, "os", &v) ? json_object_get_string(v) : "";
	arch = json_object_object_get_ex(p, "architecture", &v) ? json_object_get_string(v) : "";
	if (json_object_object_get_ex(p, "variant", &v) && v != NULL)
		variant = json_object_get_string(v);
	if (strcmp(os, "linux") != 0 || strcmp(arch, oci_arch()) != 0)
		return (-1);
	if (strcmp(variant, want) == 0)
		return (20);
	if (variant[0] == '\0')
		return (19);
	/* arm: an older variant runs too, the newest of them best */
	if (strcmp(arch, "arm") == 0 && want[0] == 'v' && variant[0] == 'v' &&
	    isdigit((unsigned char)variant[1]) && variant[2] == '\0' && variant[1] < want[1])
		return (10 + (variant[1] - '0'));
	if (strcmp(arch, "amd64") == 0 && strcmp(variant, "v1") == 0)
		return (18);
	return (-1);
}

static void
platform_wanted(char *buf, size_t len)
{
	if (oci_variant()[0] != '\0' && strcmp(oci_arch(), "arm64") != 0)
		snprintf(buf, len, "linux/%s/%s", oci_arch(), oci_variant());
	else
		snprintf(buf, len, "linux/%s", oci_arch());
}

/* Best entry of a checked manifests array among those mask allows (NULL:
 * all); -1 when none suits. */
static long
pick_in(json_object *manifests, const bool *mask)
{
	long best = -1;
	int best_score = -1, s;
	json_object *p;
	size_t i, n = json_object_array_length(manifests);

	for (i = 0; i < n; i++) {
		if (mask != NULL && !mask[i])
			continue;
		if (!json_object_object_get_ex(json_object_array_get_idx(manifests, i), "platform",
		                               &p))
			continue;
		s = platform_score(p);
		if (s > best_score) {
			best_score = s;
			best = (long)i;
		}
	}
	return (best);
}

/* The descriptor (arg) of the manifest for this node in index o. */
static int
pick_doc(json_object *o, const char *ctx, void *arg, struct cradle_err *err)
{
	struct oci_descriptor *out = arg;
	json_object *manifests;
	char want[96], c[80];
	long i;

	if (index_check(o, ctx, &manifests, err) < 0)
		return (-1);
	i = pick_in(manifests, NULL);
	if (i < 0) {
		platform_wanted(want, sizeof(want));
		return (cradle_err_set(err, CRADLE_NOT_FOUND, "no manifest for %s in %s", want,
		                       ctx));
	}
	snprintf(c, sizeof(c), "%s.manifests[%ld]", ctx, i);
	return (parse_descriptor(json_object_array_get_idx(manifests, (size_t)i), c, out, err));
}

int
oci_pick_platform(const char *json, size_t len, struct oci_descriptor *out, struct cradle_err *err)
{
	memset(out, 0, sizeof(*out));
	return (doc_apply(json, len, "index", pick_doc, out, err) < 0 ? -1 : 0);
}

/* 1 when o looks like an index: by its mediaType, else by having
 * manifests and no config. */
static int
index_like_doc(json_object *o, const char *what, void *arg, struct cradle_err *err)
{
	json_object *v;

	(void)what;
	(void)arg;
	(void)err;
	if (!json_object_is_type(o, json_type_object))
		return (0);
	if (json_object_object_get_ex(o, "mediaType", &v) &&
	    json_object_is_type(v, json_type_string))
		return (is_index_mt(json_object_get_string(v)));
	return (json_object_object_get_ex(o, "manifests", &v) &&
	        json_object_is_type(v, json_type_array) &&
	        !json_object_object_get_ex(o, "config", &v));
}

int
oci_is_index(const char *media_type, const char *json, size_t len)
{
	if (media_type != NULL && media_type[0] != '\0')
		return (is_index_mt(media_type));
	if (json == NULL || len == 0)
		return (0);
	return (doc_apply(json, len, "document", index_like_doc, NULL, NULL) > 0);
}

/* --- references ----------------------------------------------------------- */

/* Does the annotated name ann stand for the reference name? */
static bool
ref_matches(const char *name, const char *ann)
{
	const char *colon, *slash;

	if (ann == NULL || ann[0] == '\0')
		return (false);
	if (strcmp(name, ann) == 0)
		return (true);
	/* an OCI ref.name is often just the tag */
	colon = strrchr(name, ':');
	slash = strrchr(name, '/');
	if (colon != NULL && (slash == NULL || colon > slash) && strchr(name, '@') == NULL &&
	    strcmp(colon + 1, ann) == 0)
		return (true);
	return (proto_ref_same(name, ann));
}

/* --- sources: a directory or an archive ---------------------------------- */

enum ent_type { E_REG, E_HARD, E_SYM, E_DIR, E_OTHER };

struct aent {
	char *name; /* normalized: no "./", no trailing "/" */
	char *link; /* hard link: normalized target; symlink: as written */
	enum ent_type type;
};

enum { DOC_LAYOUT, DOC_INDEX, DOC_DOCKER, N_DOCS };
static const char *const doc_names[N_DOCS] = { "oci-layout", "index.json", "manifest.json" };
static const size_t doc_max[N_DOCS] = { MAX_LAYOUT, MAX_DOC, MAX_DOC };

struct src {
	const char *path;
	int dirfd;         /* >= 0: a layout directory */
	struct aent *ents; /* archive entries in order */
	size_t n, cap;
	char *doc[N_DOCS]; /* archive: the small documents, last copy */
	size_t doc_len[N_DOCS];
	bool has_doc[N_DOCS];
};

/* One file to copy into the content store. */
struct xfer {
	char name[600];      /* path inside the source */
	char label[48];      /* "config", "layer 2", "manifest" */
	const char *expect;  /* digest or NULL */
	int64_t expect_size; /* or -1 */
	size_t ord;          /* archive: entry position */
	struct content_writer *w;
	bool done;
	char digest[DIGEST_LEN + 1];
	int64_t size;
};

static void
src_fini(struct src *s)
{
	size_t i;

	for (i = 0; i < s->n; i++) {
		free(s->ents[i].name);
		free(s->ents[i].link);
	}
	free(s->ents);
	for (i = 0; i < N_DOCS; i++)
		free(s->doc[i]);
	if (s->dirfd >= 0)
		close(s->dirfd);
	memset(s, 0, sizeof(*s));
	s->dirfd = -1;
}

/* Normalize path in (relative to dir base, "" for the top) into out.
 * -1: absolute, or ".." where dotdot is false or leaving the top. */
static int
norm_path(const char *base, const char *in, bool dotdot, char *out, size_t len)
{
	char buf[1200];
	size_t o = 0, stack[256], depth = 0;
	const char *p, *q;

	if (in[0] == '/')
		return (-1);
	if ((size_t)snprintf(buf, sizeof(buf), "%s%s%s", base, base[0] ? "/" : "", in) >=
	    sizeof(buf))
		return (-1);
	out[0] = '\0';
	for (p = buf; *p != '\0'; p = q) {
		size_t cl;

		while (*p == '/')
			p++;
		if (*p == '\0')
			break;
		q = strchr(p, '/');
		if (q == NULL)
			q = p + strlen(p);
		cl = (size_t)(q - p);
		if (cl == 1 && p[0] == '.')
			continue;
		if (cl == 2 && p[0] == '.' && p[1] == '.') {
			if (!dotdot || depth == 0)
				return (-1);
			o = stack[--depth];
			out[o] = '\0';
			continue;
		}
		if (depth == sizeof(stack) / sizeof(stack[0]) || o + cl + 2 > len)
			return (-1);
		stack[depth++] = o;
		if (o > 0)
			out[o++] = '/';
		memcpy(out + o, p, cl);
		o += cl;
		out[o] = '\0';
	}
	return (0);
}

static struct archive *
arc_open(const char *path, struct cradle_err *err)
{
	struct archive *a = archive_read_new();

	if (a == NULL) {
		cradle_err_nomem(err);
		return (NULL);
	}
	/* no external-program filters: only the built-in decompressors */
	(void)archive_read_support_filter_gzip(a);
	(void)archive_read_support_filter_bzip2(a);
	(void)archive_read_support_filter_xz(a);
	(void)archive_read_support_filter_zstd(a);
	(void)archive_read_support_format_tar(a);
	if (archive_read_open_filename(a, path, 64 * 1024) != ARCHIVE_OK) {
		cradle_err_set(err, CRADLE_INVALID_ARGUMENT, "not a tar archive: %s",
		               archive_error_string(a) ? archive_error_string(a) : "unknown error");
		archive_read_free(a);
		return (NULL);
	}
	return (a);
}

static const char *
arc_errstr(struct archive *a)
{
	const char *s = archive_error_string(a);

	return (s != NULL ? s : "unknown error");
}

/* Read the current entry's data whole into memory (at most max bytes). */
static int
arc_slurp(struct archive *a, const char *name, size_t max, char **out, size_t *outlen,
          struct cradle_err *err)
{
	char *buf = NULL, *nb;
	size_t len = 0, cap = 0;
	la_ssize_t r;

	for (;;) {
		if (len == cap) {
			if (cap > max) {
				free(buf);
				return (cradle_err_set(err, CRADLE_INVALID_ARGUMENT,
				                       "\"%s\": larger than %zu bytes", name, max));
			}
			cap = cap ? cap * 2 : 4096;
			if (cap > max + 1)
				cap = max + 1;
			nb = realloc(buf, cap);
			if (nb == NULL) {
				free(buf);
				return (cradle_err_nomem(err));
			}
			buf = nb;
		}
		r = archive_read_data(a, buf + len, cap - len);
		if (r < 0) {
			free(buf);
			return (cradle_err_set(err, CRADLE_INVALID_ARGUMENT, "entry \"%s\": %s",
			                       name, arc_errstr(a)));
		}
		if (r == 0)
			break;
		len += (size_t)r;
	}
	if (len > max) {
		free(buf);
		return (cradle_err_set(err, CRADLE_INVALID_ARGUMENT,
		                       "\"%s\": larger than %zu bytes", name, max));
	}
	*out = buf;
	*outlen = len;
	return (0);
}

/* Pass 1: list the entries, keep the small documents. */
static int
arc_scan(struct src *s, struct cradle_err *err)
{
	struct archive_entry *e;
	struct archive *a;
	char name[600], link[600];
	const char *raw, *hl, *sl;
	size_t i;
	int ar, rc = 0;

	a = arc_open(s->path, err);
	if (a == NULL)
		return (-1);
	while ((ar = archive_read_next_header(a, &e)) == ARCHIVE_OK || ar == ARCHIVE_WARN) {
		struct aent *ne;

		raw = archive_entry_pathname(e);
		if (raw == NULL || raw[0] == '\0') {
			rc = cradle_err_set(err, CRADLE_INVALID_ARGUMENT, "entry %zu has no name",
			                    s->n);
			goto out;
		}
		if (norm_path("", raw, false, name, sizeof(name)) < 0) {
			rc = cradle_err_set(err, CRADLE_INVALID_ARGUMENT,
			                    "entry \"%.256s\": absolute path, \"..\" or too long",
			                    raw);
			goto out;
		}
		if (name[0] == '\0')
			name[0] = '.', name[1] = '\0';
		if (s->n == MAX_ENTRIES) {
			rc = cradle_err_set(err, CRADLE_INVALID_ARGUMENT, "more than %u entries",
			                    MAX_ENTRIES);
			goto out;
		}
		if (s->n == s->cap) {
			size_t nc = s->cap ? s->cap * 2 : 64;

			ne = realloc(s->ents, nc * sizeof(*ne));
			if (ne == NULL) {
				rc = cradle_err_nomem(err);
				goto out;
			}
			s->ents = ne;
			s->cap = nc;
		}
		ne = &s->ents[s->n];
		memset(ne, 0, sizeof(*ne));
		hl = archive_entry_hardlink(e);
		sl = archive_entry_symlink(e);
		link[0] = '\0';
		if (hl != NULL) {
			ne->type = E_HARD;
			if (norm_path("", hl, false, link, sizeof(link)) < 0) {
				rc = cradle_err_set(
					err, CRADLE_INVALID_ARGUMENT,
					"entry \"%.256s\": hard link to \"%.256s\" leaves the archive",
					name, hl);
				goto out;
			}
		} else {
			switch (archive_entry_filetype(e)) {
			case AE_IFREG:
				ne->type = E_REG;
				break;
			case AE_IFLNK:
				ne->type = E_SYM;
				snprintf(link, sizeof(link), "%s", sl != NULL ? sl : "");
				break;
			case AE_IFDIR:
				ne->type = E_DIR;
				break;
			default:
				ne->type = E_OTHER;
				break;
			}
		}
		ne->name = strdup(name);
		ne->link = ne->type == E_HARD || ne->type == E_SYM ? strdup(link) : NULL;
		if (ne->name == NULL ||
		    ((ne->type == E_HARD || ne->type == E_SYM) && ne->link == NULL)) {
			free(ne->name);
			free(ne->link);
			rc = cradle_err_nomem(err);
			goto out;
		}
		s->n++;
		for (i = 0; i < N_DOCS; i++) {
			if (ne->type != E_REG || strcmp(name, doc_names[i]) != 0)
				continue;
			free(s->doc[i]);
			s->doc[i] = NULL;
			s->has_doc[i] = false;
			if (arc_slurp(a, name, doc_max[i], &s->doc[i], &s->doc_len[i], err) < 0) {
				rc = -1;
				goto out;
			}
			s->has_doc[i] = true;
		}
	}
	if (ar != ARCHIVE_EOF) {
		rc = cradle_err_set(err, CRADLE_INVALID_ARGUMENT,
		                    "truncated or corrupt archive after entry %zu (\"%.256s\"): %s",
		                    s->n, s->n ? s->ents[s->n - 1].name : "", arc_errstr(a));
	}
out:
	archive_read_free(a);
	return (rc);
}

/* Which entry holds the data of name?  Links are followed inside the
 * archive; the last entry of a name wins, as when extracting. */
static int
arc_find(struct src *s, const char *name, size_t *ord, struct cradle_err *err)
{
	char cur[600], next[600], dir[600], *slash;
	size_t i;
	int hops;

	if (norm_path("", name, false, cur, sizeof(cur)) < 0) {
		return (cradle_err_set(err, CRADLE_INVALID_ARGUMENT,
		                       "\"%.256s\": absolute path, \"..\" or too long", name));
	}
	for (hops = 0; hops <= MAX_LINKS; hops++) {
		for (i = s->n; i > 0; i--) {
			if (strcmp(s->ents[i - 1].name, cur) == 0)
				break;
		}
		if (i == 0) {
			if (hops == 0)
				return (cradle_err_set(err, CRADLE_NOT_FOUND,
				                       "\"%.256s\": not in the archive", name));
			return (cradle_err_set(
				err, CRADLE_NOT_FOUND,
				"\"%.256s\": links to \"%.256s\", which is not in the archive",
				name, cur));
		}
		i--;
		switch (s->ents[i].type) {
		case E_REG:
			*ord = i;
			return (0);
		case E_HARD:
			snprintf(next, sizeof(next), "%s", s->ents[i].link);
			break;
		case E_SYM:
			snprintf(dir, sizeof(dir), "%s", cur);
			slash = strrchr(dir, '/');
			if (slash != NULL)
				*slash = '\0';
			else
				dir[0] = '\0';
			if (norm_path(dir, s->ents[i].link, true, next, sizeof(next)) < 0) {
				return (cradle_err_set(
					err, CRADLE_INVALID_ARGUMENT,
					"\"%.256s\": symbolic link to \"%.256s\" leaves the archive",
					cur, s->ents[i].link));
			}
			break;
		default:
			return (cradle_err_set(err, CRADLE_INVALID_ARGUMENT,
			                       "\"%.256s\": not a regular file", cur));
		}
		snprintf(cur, sizeof(cur), "%s", next);
	}
	return (cradle_err_set(err, CRADLE_INVALID_ARGUMENT, "\"%.256s\": too many levels of links",
	                       name));
}

/* Open name inside the layout directory; links may not leave it. */
static int
dir_open(struct src *s, const char *name, struct cradle_err *err)
{
	struct open_how how;
	struct stat st;
	char norm[600];
	int fd, e;

	if (norm_path("", name, false, norm, sizeof(norm)) < 0 || norm[0] == '\0') {
		return (cradle_err_set(err, CRADLE_INVALID_ARGUMENT,
		                       "\"%.256s\": absolute path, \"..\" or too long", name));
	}
	memset(&how, 0, sizeof(how));
	how.flags = O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK;
	how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
	fd = (int)syscall(SYS_openat2, s->dirfd, norm, &how, sizeof(how));
	if (fd < 0 && errno == ENOSYS)
		fd = openat(s->dirfd, norm,
		            O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK | O_NOFOLLOW);
	if (fd < 0) {
		e = errno;
		if (e == ENOENT)
			return (cradle_err_set(err, CRADLE_NOT_FOUND, "\"%s\": missing", norm));
		return (cradle_err_errno(err, e, "failed to open \"%s\"", norm));
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return (cradle_err_set(err, CRADLE_INVALID_ARGUMENT, "\"%s\": not a regular file",
		                       norm));
	}
	return (fd);
}

/* A small document, whole. */
static int
src_doc(struct src *s, int which, char **out, size_t *len, struct cradle_err *err)
{
	const char *name = doc_names[which];
	size_t max = doc_max[which], cap = 0;
	char *buf = NULL, *nb;
	ssize_t rc;
	int fd;

	*out = NULL;
	*len = 0;
	if (s->dirfd < 0) {
		size_t ord;

		/* a link to it (or one that is not a file) is not taken */
		if (arc_find(s, name, &ord, err) < 0)
			return (-1);
		if (!s->has_doc[which] || strcmp(s->ents[ord].name, name) != 0)
			return (cradle_err_set(err, CRADLE_INVALID_ARGUMENT,
			                       "\"%s\": not a regular file", name));
		*out = malloc(s->doc_len[which] + 1);
		if (*out == NULL)
			return (cradle_err_nomem(err));
		memcpy(*out, s->doc[which], s->doc_len[which]);
		(*out)[s->doc_len[which]] = '\0';
		*len = s->doc_len[which];
		return (0);
	}
	fd = dir_open(s, name, err);
	if (fd < 0)
		return (-1);
	for (;;) {
		if (cap - *len < 2) {
			if (cap > max) {
				close(fd);
				free(buf);
				return (cradle_err_set(err, CRADLE_INVALID_ARGUMENT,
				                       "\"%s\": larger than %zu bytes", name, max));
			}
			cap = cap ? cap * 2 : 8192;
			nb = realloc(buf, cap);
			if (nb == NULL) {
				close(fd);
				free(buf);
				return (cradle_err_nomem(err));
			}
			buf = nb;
		}
		rc = read(fd, buf + *len, cap - *len - 1);
		if (rc < 0 && errno == EINTR)
			continue;
		if (rc < 0) {
			int e = errno;

			close(fd);
			free(buf);
			return (cradle_err_errno(err, e, "failed to read \"%s\"", name));
		}
		if (rc == 0)
			break;
		*len += (size_t)rc;
	}
	close(fd);
	if (*len > max) {
		free(buf);
		return (cradle_err_set(err, CRADLE_INVALID_ARGUMENT,
		                       "\"%s\": larger than %zu bytes", name, max));
	}
	buf[*len] = '\0';
	*out = buf;
	return (0);
}

static void
xfer_abort_all(struct xfer *xs, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		content_writer_abort(xs[i].w);
		xs[i].w = NULL;
	}
}

static int
xfer_open(struct content *c, struct xfer *x, struct cradle_err *err)
{
	if (content_writer_open(c, x->expect, x->expect_size, &x->w, err) < 0) {
		cradle_err_wrap(err, "%s", x->label);
		return (-1);
	}
	return (0);
}

static int
xfer_commit(struct xfer *x, struct cradle_err *err)
{
	struct content_writer *w = x->w;

	x->w = NULL;
	x->size = (int64_t)content_writer_size(w);
	if (content_writer_commit(w, x->digest, err) < 0) {
		cradle_err_wrap(err, "%s", x->label);
		return (-1);
	}
	x->done = true;
	return (0);
}

/* Copy each x->name into the content store, verifying x->expect. */
static int
src_copy(struct src *s, struct content *c, struct xfer *xs, size_t n, struct cradle_err *err)
{
	struct archive_entry *e;
	struct archive *a;
	char *buf;
	size_t i, ord;
	int ar, rc = 0;

	if (n == 0)
		return (0);
	buf = malloc(COPY_BUF);
	if (buf == NULL)
		return (cradle_err_nomem(err));
	if (s->dirfd >= 0) {
		for (i = 0; i < n && rc == 0; i++) {
			struct xfer *x = &xs[i];
			int fd = dir_open(s, x->name, err);
			ssize_t got;

			if (fd < 0) {
				cradle_err_wrap(err, "%s", x->label);
				rc = -1;
				break;
			}
			if (xfer_open(c, x, err) < 0) {
				close(fd);
				rc = -1;
				break;
			}
			while ((got = read(fd, buf, COPY_BUF)) != 0) {
				if (got < 0 && errno == EINTR)
					continue;
				if (got < 0) {
					rc = cradle_err_errno(err, errno,
					                      "%s: failed to read \"%s\"", x->label,
					                      x->name);
					break;
				}
				if (content_writer_write(x->w, buf, (size_t)got, err) < 0) {
					cradle_err_wrap(err, "%s", x->label);
					rc = -1;
					break;
				}
			}
			close(fd);
			if (rc == 0)
				rc = xfer_commit(x, err);
		}
		xfer_abort_all(xs, n);
		free(buf);
		return (rc);
	}

	for (i = 0; i < n; i++) {
		if (arc_find(s, xs[i].name, &xs[i].ord, err) < 0) {
			cradle_err_wrap(err, "%s", xs[i].label);
			free(buf);
			return (-1);
		}
	}
	a = arc_open(s->path, err);
	if (a == NULL) {
		free(buf);
		return (-1);
	}
	for (ord = 0; (ar = archive_read_next_header(a, &e)) == ARCHIVE_OK || ar == ARCHIVE_WARN;
	     ord++) {
		bool any = false;
		la_ssize_t got;

		for (i = 0; i < n; i++) {
			if (xs[i].ord != ord || xs[i].done)
				continue;
			if (xfer_open(c, &xs[i], err) < 0) {
				rc = -1;
				goto out;
			}
			any = true;
		}
		if (!any)
			continue;
		while ((got = archive_read_data(a, buf, COPY_BUF)) != 0) {
			if (got < 0) {
				rc = cradle_err_set(
					err, CRADLE_INVALID_ARGUMENT, "entry \"%.256s\": %s",
					ord < s->n ? s->ents[ord].name : "?", arc_errstr(a));
				goto out;
			}
			for (i = 0; i < n; i++) {
				if (xs[i].w == NULL)
					continue;
				if (content_writer_write(xs[i].w, buf, (size_t)got, err) < 0) {
					cradle_err_wrap(err, "%s", xs[i].label);
					rc = -1;
					goto out;
				}
			}
		}
		for (i = 0; i < n; i++) {
			if (xs[i].w != NULL && xfer_commit(&xs[i], err) < 0) {
				rc = -1;
				goto out;
			}
		}
	}
	if (ar != ARCHIVE_EOF) {
		rc = cradle_err_set(err, CRADLE_INVALID_ARGUMENT,
		                    "truncated or corrupt archive after entry %zu: %s", ord,
		                    arc_errstr(a));
		goto out;
	}
	for (i = 0; i < n; i++) {
		if (!xs[i].done) {
			rc = cradle_err_set(err, CRADLE_INVALID_ARGUMENT,
			                    "%s: \"%s\" gone on the second read (archive changed?)",
			                    xs[i].label, xs[i].name);
			goto out;
		}
	}
out:
	xfer_abort_all(xs, n);
	archive_read_free(a);
	free(buf);
	return (rc);
}

static void
xfer_blob(struct xfer *x, const char *label, const struct oci_descriptor *d)
{
	memset(x, 0, sizeof(*x));
	snprintf(x->name, sizeof(x->name), "blobs/sha256/%s", d->digest + 7);
	snprintf(x->label, sizeof(x->label), "%s", label);
	x->expect = d->digest;
	x->expect_size = d->size;
}

/* Copy one blob of the layout (unless present) and read it back. */
static int
blob_read(struct src *s, struct content *c, const char *label, const struct oci_descriptor *d,
          size_t max, char **data, size_t *len, struct cradle_err *err)
{
	struct xfer x;

	if (!content_has(c, d->digest)) {
		xfer_blob(&x, label, d);
		if (src_copy(s, c, &x, 1, err) < 0)
			return (-1);
	}
	if (content_read(c, d->digest, max, data, len, err) < 0) {
		cradle_err_wrap(err, "%s %s", label, d->digest);
		return (-1);
	}
	return (0);
}

static int
set_name(struct oci_import *out, const char *name, struct cradle_err *err)
{
	if (name == NULL || name[0] == '\0')
		return (cradle_err_set(err, CRADLE_INVALID_ARGUMENT,
		                       "image has no name: give one"));
	/* recorded in its canonical form (proto/ref.h) */
	if (proto_ref_normalize(name, out->name, sizeof(out->name), err) < 0) {
		cradle_err_wrap(err, "image name");
		return (-1);
	}
	return (0);
}

static const char *
annotation(json_object *desc, const char *key)
{
	json_object *a, *v;

	if (!json_object_object_get_ex(desc, "annotations", &a) || a == NULL ||
	    !json_object_object_get_ex(a, key, &v) || !json_object_is_type(v, json_type_string))
		return (NULL);
	return (json_object_get_string(v));
}

/* --- OCI layout --------------------------------------------------------- */

static int
layout_doc(json_object *o, const char *what, void *arg, struct cradle_err *err)
{
	const char *v;

	(void)arg;
	if (jwant(o, what, json_type_object, err) < 0 ||
	    jstring(o, what, "imageLayoutVersion", true, &v, err) < 0)
		return (-1);
	if (strcmp(v, "1.0.0") != 0) {
		return (cradle_err_set(
			err, CRADLE_INVALID_ARGUMENT,
			"%s.imageLayoutVersion: \"%.32s\" is not supported (want \"1.0.0\")", what,
			v));
	}
	return (0);
}

static int
check_layout(struct src *s, struct cradle_err *err)
{
	char *doc;
	size_t len;
	int rc;

	if (src_doc(s, DOC_LAYOUT, &doc, &len, err) < 0)
		return (-1);
	rc = doc_apply(doc, len, "oci-layout", layout_doc, NULL, err);
	free(doc);
	return (rc);
}

/* Choose the entry of index.json to import (its position, or -1 and err). */
static long
choose_entry(json_object *manifests, const char *name, struct cradle_err *err)
{
	size_t i, n = json_object_array_length(manifests), hits = 0;
	bool *mask;
	long pick = -1, any_platform = 0;
	char want[96];

	if (n == 0) {
		cradle_err_set(err, CRADLE_INVALID_ARGUMENT, "index.json: lists no manifests");
		return (-1);
	}
	mask = calloc(n, sizeof(*mask));
	if (mask == NULL) {
		cradle_err_nomem(err);
		return (-1);
	}
	for (i = 0; i < n; i++) {
		json_object *m = json_object_array_get_idx(manifests, i), *p;

		if (json_object_object_get_ex(m, "platform", &p) && p != NULL)
			any_platform = 1;
		if (name != NULL && (ref_matches(name, annotation(m, ANN_REF_NAME)) ||
		                     ref_matches(name, annotation(m, ANN_CTRD_NAME)))) {
			mask[i] = true;
			hits++;
			pick = (long)i;
		}
	}
	if (hits == 1)
		goto out;
	if (hits == 0 && n == 1) {
		pick = 0;
		goto out;
	}
	pick = pick_in(manifests, hits > 0 ? mask : NULL);
	if (pick >= 0)
		goto out;
	if (any_platform) {
		platform_wanted(want, sizeof(want));
		cradle_err_set(err, CRADLE_NOT_FOUND, "no manifest for %s in index.json", want);
	} else if (hits > 1) {
		cradle_err_set(err, CRADLE_INVALID_ARGUMENT,
		               "index.json: %zu manifests are named \"%.256s\"", hits, name);
	} else if (name != NULL) {
		cradle_err_set(err, CRADLE_NOT_FOUND,
		               "index.json: none of its %zu manifests is named \"%.256s\"", n,
		               name);
	} else {
		cradle_err_set(err, CRADLE_INVALID_ARGUMENT,
		               "index.json: lists %zu manifests: give a name", n);
	}
out:
	free(mask);
	return (pick);
}

static int
import_oci(struct src *s, struct content *c, const char *name, struct oci_import *out,
           struct cradle_err *err)
{
	struct oci_descriptor d, cd;
	json_object *idx = NULL, *manifests, *m;
	struct xfer *xs = NULL;
	char *doc = NULL, label[48];
	size_t len, i, j, nx = 0;
	long pick;
	int depth, rc = -1;

	if (check_layout(s, err) < 0)
		return (-1);
	if (src_doc(s, DOC_INDEX, &doc, &len, err) < 0)
		return (-1);
	idx = doc_parse(doc, len, "index.json", err);
	free(doc);
	doc = NULL;
	if (idx == NULL || index_check(idx, "index.json", &manifests, err) < 0)
		goto out;
	pick = choose_entry(manifests, name, err);
	if (pick < 0)
		goto out;
	m = json_object_array_get_idx(manifests, (size_t)pick);
	if (name == NULL) {
		name = annotation(m, ANN_CTRD_NAME);
		if (name == NULL)
			name = annotation(m, ANN_REF_NAME);
	}
	if (set_name(out, name, err) < 0)
		goto out;
	snprintf(label, sizeof(label), "index.json.manifests[%ld]", pick);
	if (parse_descriptor(m, label, &d, err) < 0)
		goto out;

	/* nested indexes (skopeo / buildx layouts): pick the platform */
	for (depth = 0; is_index_mt(d.media_type); depth++) {
		if (depth == MAX_NEST) {
			cradle_err_set(err, CRADLE_INVALID_ARGUMENT,
			               "indexes nested deeper than %d", MAX_NEST);
			goto out;
		}
		if (blob_read(s, c, "index", &d, MAX_DOC, &doc, &len, err) < 0)
			goto out;
		snprintf(label, sizeof(label), "index %.20s", d.digest);
		rc = doc_apply(doc, len, label, pick_doc, &d, err);
		free(doc);
		doc = NULL;
		if (rc < 0)
			goto out;
		rc = -1;
	}
	if (!is_manifest_mt(d.media_type)) {
		cradle_err_set(err, CRADLE_INVALID_ARGUMENT,
		               "manifest %s: media type \"%s\" is not an image manifest", d.digest,
		               d.media_type);
		goto out;
	}
	if (blob_read(s, c, "manifest", &d, MAX_DOC, &doc, &len, err) < 0)
		goto out;
	if (parse_manifest(doc, len, &out->image, &cd, err) < 0) {
		cradle_err_wrap(err, "%s", d.digest);
		goto out;
	}
	memcpy(out->image.manifest_digest, d.digest, DIGEST_LEN + 1);

	/* the config and the layers, each once, unless already stored */
	xs = calloc(out->image.n_layers + 1, sizeof(*xs));
	if (xs == NULL) {
		cradle_err_nomem(err);
		goto out;
	}
	if (!content_has(c, cd.digest))
		xfer_blob(&xs[nx++], "config", &cd);
	for (i = 0; i < out->image.n_layers; i++) {
		const struct oci_descriptor *l = &out->image.layers[i];
		bool dup = content_has(c, l->digest);

		for (j = 0; j < nx && !dup; j++)
			dup = strcmp(xs[j].expect, l->digest) == 0;
		if (dup)
			continue;
		snprintf(label, sizeof(label), "layer %zu", i + 1);
		xfer_blob(&xs[nx], label, l);
		snprintf(xs[nx].label, sizeof(xs[nx].label), "layer %zu %.20s", i + 1, l->digest);
		nx++;
	}
	if (nx > 0 && strcmp(xs[0].label, "config") == 0)
		snprintf(xs[0].label, sizeof(xs[0].label), "config %.20s", cd.digest);
	if (src_copy(s, c, xs, nx, err) < 0)
		goto out;
	rc = 0;
out:
	free(xs);
	free(doc);
	json_object_put(idx);
	return (rc);
}

/* --- docker save ---------------------------------------------------------- */

/* The layers whose digests a docker save config's rootfs.diff_ids lists. */
struct diff_ids {
	const struct xfer *layers;
	size_t n;
};

static int
diff_ids_doc(json_object *o, const char *what, void *arg, struct cradle_err *err)
{
	const struct diff_ids *want = arg;
	const struct xfer *layers = want->layers;
	json_object *rootfs, *ids, *v;
	size_t i;

	if (jwant(o, what, json_type_object, err) < 0 ||
	    jfield(o, "config", "rootfs", json_type_object, true, &rootfs, err) < 0 ||
	    jfield(rootfs, "config.rootfs", "diff_ids", json_type_array, true, &ids, err) < 0)
		return (-1);
	if (json_object_array_length(ids) != want->n) {
		return (cradle_err_set(err, CRADLE_INVALID_ARGUMENT,
		                       "config.rootfs.diff_ids: %zu entries for %zu layers",
		                       json_object_array_length(ids), want->n));
	}
	for (i = 0; i < want->n; i++) {
		v = json_object_array_get_idx(ids, i);
		if (!json_object_is_type(v, json_type_string)) {
			return (cradle_err_set(
				err, CRADLE_INVALID_ARGUMENT,
				"config.rootfs.diff_ids[%zu]: expected a string, got %s", i,
				jtype(v)));
		}
		if (strcmp(json_object_get_string(v), layers[i].digest) != 0) {
			return (cradle_err_set(
				err, CRADLE_INVALID_ARGUMENT,
				"layer %zu (\"%.200s\"): digest mismatch: the config's diff_id is %.80s, "
				"the layer is %s",
				i + 1, layers[i].name, json_object_get_string(v),
				layers[i].digest));
		}
	}
	return (0);
}

static int
check_diff_ids(struct content *c, const char *config, const struct xfer *layers, size_t n,
               struct cradle_err *err)
{
	struct diff_ids want = { layers, n };
	char *doc;
	size_t len;
	int rc;

	if (content_read(c, config, MAX_CONFIG, &doc, &len, err) < 0) {
		cradle_err_wrap(err, "config %s", config);
		return (-1);
	}
	rc = doc_apply(doc, len, "config", diff_ids_doc, &want, err);
	free(doc);
	return (rc);
}

static int
import_docker(struct src *s, struct content *c, const char *name, struct oci_import *out,
              struct cradle_err *err)
{
	json_object *top = NULL, *ent = NULL, *tags, *layers, *v, *mo = NULL, *cfg, *ls, *l;
	struct xfer *xs = NULL;
	const char *cfgname, *mjson;
	char *doc = NULL, ctx[64], digest[DIGEST_LEN + 1];
	size_t len, i, j, n, nl, hits = 0;
	long pick = -1;
	int rc = -1;

	if (src_doc(s, DOC_DOCKER, &doc, &len, err) < 0)
		return (-1);
	top = doc_parse(doc, len, "manifest.json", err);
	free(doc);
	doc = NULL;
	if (top == NULL || jwant(top, "manifest.json", json_type_array, err) < 0)
		goto out;
	n = json_object_array_length(top);
	if (n == 0) {
		cradle_err_set(err, CRADLE_INVALID_ARGUMENT, "manifest.json: lists no images");
		goto out;
	}
	for (i = 0; i < n; i++) {
		ent = json_object_array_get_idx(top, i);
		snprintf(ctx, sizeof(ctx), "manifest.json[%zu]", i);
		if (jwant(ent, ctx, json_type_object, err) < 0 ||
		    jstring(ent, ctx, "Config", true, &cfgname, err) < 0 ||
		    jfield(ent, ctx, "RepoTags", json_type_array, false, &tags, err) < 0 ||
		    jfield(ent, ctx, "Layers", json_type_array, true, &layers, err) < 0)
			goto out;
		for (j = 0; tags != NULL && j < json_object_array_length(tags); j++) {
			v = json_object_array_get_idx(tags, j);
			if (!json_object_is_type(v, json_type_string)) {
				cradle_err_set(err, CRADLE_INVALID_ARGUMENT,
				               "%s.RepoTags[%zu]: expected a string, got %s", ctx,
				               j, v == NULL ? "null" : jtype(v));
				goto out;
			}
			if (name != NULL && ref_matches(name, json_object_get_string(v)) &&
			    pick != (long)i) {
				pick = (long)i;
				hits++;
			}
		}
		for (j = 0; j < json_object_array_length(layers); j++) {
			v = json_object_array_get_idx(layers, j);
			if (!json_object_is_type(v, json_type_string)) {
				cradle_err_set(err, CRADLE_INVALID_ARGUMENT,
				               "%s.Layers[%zu]: expected a string, got %s", ctx, j,
				               v == NULL ? "null" : jtype(v));
				goto out;
			}
		}
	}
	if (hits > 1) {
		cradle_err_set(err, CRADLE_INVALID_ARGUMENT,
		               "manifest.json: %zu images are named \"%.256s\"", hits, name);
		goto out;
	}
	if (hits == 0) {
		if (n == 1) {
			pick = 0;
		} else if (name != NULL) {
			cradle_err_set(err, CRADLE_NOT_FOUND,
			               "manifest.json: none of its %zu images is named \"%.256s\"",
			               n, name);
			goto out;
		} else {
			cradle_err_set(err, CRADLE_INVALID_ARGUMENT,
			               "manifest.json: lists %zu images: give a name", n);
			goto out;
		}
	}
	ent = json_object_array_get_idx(top, (size_t)pick);
	(void)json_object_object_get_ex(ent, "RepoTags", &tags);
	(void)json_object_object_get_ex(ent, "Layers", &layers);
	(void)json_object_object_get_ex(ent, "Config", &v);
	cfgname = json_object_get_string(v);
	if (name == NULL && tags != NULL && json_object_array_length(tags) > 0)
		name = json_object_get_string(json_object_array_get_idx(tags, 0));
	if (set_name(out, name, err) < 0)
		goto out;

	/* xs[0]: the config, xs[1..]: the layers, digests computed */
	nl = json_object_array_length(layers);
	xs = calloc(nl + 1, sizeof(*xs));
	if (xs == NULL) {
		cradle_err_nomem(err);
		goto out;
	}
	for (i = 0; i <= nl; i++) {
		const char *fn =
			i == 0 ? cfgname
			       : json_object_get_string(json_object_array_get_idx(layers, i - 1));

		if (strlen(fn) >= sizeof(xs[i].name)) {
			cradle_err_set(err, CRADLE_INVALID_ARGUMENT, "\"%.64s...\": name too long",
			               fn);
			goto out;
		}
		snprintf(xs[i].name, sizeof(xs[i].name), "%s", fn);
		if (i == 0)
			snprintf(xs[i].label, sizeof(xs[i].label), "config");
		else
			snprintf(xs[i].label, sizeof(xs[i].label), "layer %zu", i);
		xs[i].expect_size = -1;
	}
	if (src_copy(s, c, xs, nl + 1, err) < 0)
		goto out;
	if (check_diff_ids(c, xs[0].digest, xs + 1, nl, err) < 0)
		goto out;

	/* an OCI manifest for what was copied */
	mo = json_object_new_object();
	cfg = json_object_new_object();
	ls = json_object_new_array();
	if (mo == NULL || cfg == NULL || ls == NULL) {
		json_object_put(cfg);
		json_object_put(ls);
		cradle_err_nomem(err);
		goto out;
	}
	json_object_object_add(mo, "schemaVersion", json_object_new_int(2));
	json_object_object_add(mo, "mediaType", json_object_new_string(MT_OCI_MANIFEST));
	json_object_object_add(cfg, "mediaType", json_object_new_string(MT_OCI_CONFIG));
	json_object_object_add(cfg, "digest", json_object_new_string(xs[0].digest));
	json_object_object_add(cfg, "size", json_object_new_int64(xs[0].size));
	json_object_object_add(mo, "config", cfg);
	for (i = 1; i <= nl; i++) {
		l = json_object_new_object();
		if (l == NULL) {
			json_object_put(ls);
			cradle_err_nomem(err);
			goto out;
		}
		json_object_object_add(l, "mediaType", json_object_new_string(MT_OCI_LAYER_TAR));
		json_object_object_add(l, "digest", json_object_new_string(xs[i].digest));
		json_object_object_add(l, "size", json_object_new_int64(xs[i].size));
		json_object_array_add(ls, l);
	}
	json_object_object_add(mo, "layers", ls);
	mjson = json_object_to_json_string_ext(mo, JSON_C_TO_STRING_PLAIN |
	                                                   JSON_C_TO_STRING_NOSLASHESCAPE);
	if (mjson == NULL) {
		cradle_err_nomem(err);
		goto out;
	}
	if (content_put(c, mjson, strlen(mjson), NULL, digest, err) < 0) {
		cradle_err_wrap(err, "manifest");
		goto out;
	}
	if (oci_parse_manifest(mjson, strlen(mjson), &out->image, err) < 0)
		goto out;
	memcpy(out->image.manifest_digest, digest, DIGEST_LEN + 1);
	rc = 0;
out:
	json_object_put(mo);
	free(xs);
	json_object_put(top);
	return (rc);
}

/* --- import --------------------------------------------------------------- */

static bool
src_has(struct src *s, const char *name)
{
	struct stat st;
	size_t i;

	if (s->dirfd >= 0)
		return (fstatat(s->dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0);
	for (i = 0; i < s->n; i++) {
		if (strcmp(s->ents[i].name, name) == 0)
			return (true);
	}
	return (false);
}

int
oci_import(struct content *c, const char *path, const char *name, struct oci_import *out,
           struct cradle_err *err)
{
	struct src s;
	struct stat st;
	int rc;

	memset(out, 0, sizeof(*out));
	memset(&s, 0, sizeof(s));
	s.dirfd = -1;
	s.path = path;
	if (name != NULL && name[0] == '\0')
		name = NULL;
	if (stat(path, &st) != 0) {
		return (cradle_err_errno(err, errno, "import \"%s\"", path));
	}
	if (S_ISDIR(st.st_mode)) {
		s.dirfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (s.dirfd < 0)
			return (cradle_err_errno(err, errno, "import \"%s\"", path));
	} else if (S_ISREG(st.st_mode)) {
		if (arc_scan(&s, err) < 0) {
			rc = -1;
			goto out;
		}
	} else {
		return (cradle_err_set(err, CRADLE_INVALID_ARGUMENT,
		                       "import \"%s\": not a directory or a file", path));
	}
	if (src_has(&s, "oci-layout")) {
		rc = import_oci(&s, c, name, out, err);
	} else if (src_has(&s, "manifest.json")) {
		rc = import_docker(&s, c, name, out, err);
	} else {
		rc = cradle_err_set(
			err, CRADLE_INVALID_ARGUMENT,
			"neither an OCI image layout (no oci-layout) nor a docker save archive "
			"(no manifest.json)");
	}
out:
	src_fini(&s);
	if (rc < 0) {
		oci_image_fini(&out->image);
		memset(out, 0, sizeof(*out));
		cradle_err_wrap(err, "import \"%s\"", path);
		return (-1);
	}
	return (0);
}
