/* test_oci.c - OCI documents and image import (image/oci.c).
 *
 * Manifests (OCI and Docker schema 2) parsed and malformed ones refused
 * naming the field; the platform picked from an index; import of the pause
 * image that pause/mkimage.sh builds, as a layout directory and as an OCI
 * archive, and of a `docker save` archive written here with libarchive; a
 * corrupted blob, a missing blob, a truncated archive and a hostile entry
 * refused.  Every imported blob is checked in the content store against its
 * digest.
 *
 * The pause image is $CRADLE_BUILD/pause.oci.tar (default build/;
 * `make build/pause.oci.tar`), unpacked once per run into the run's base
 * directory as a layout; every import test works in its own scratch
 * directory (tests/unit/lib) with a content store of its own, S.
 */
#include <archive.h>
#include <archive_entry.h>
#include <check.h>
#include <errno.h>
#include <json-c/json.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "image/content.h"
#include "image/oci.h"
#include "tests/unit/lib/unit.h"

#define REF_BUILTIN "cradle.local/pause:built-in"

static char pause_tar[PATH_MAX]; /* the build's pause.oci.tar */
static char pause_dir[PATH_MAX]; /* the same, unpacked once per run */

/* --- helpers -------------------------------------------------------------- */

static void
hex_sha256(const void *buf, size_t len, char out[DIGEST_LEN + 1])
{
	unsigned char md[32];
	unsigned int n = 0;
	size_t i;

	ck_assert_int_eq(EVP_Digest(buf, len, md, &n, EVP_sha256(), NULL), 1);
	ck_assert_uint_eq(n, 32);
	memcpy(out, "sha256:", 7);
	for (i = 0; i < 32; i++)
		snprintf(out + 7 + 2 * i, 3, "%02x", md[i]);
}

struct scratch {
	char tmp[128];
	char root[192];
	struct content *c;
};

static void
scratch_make(struct scratch *s)
{
	struct cradle_err err = { 0 };

	unit_path(s->tmp, sizeof(s->tmp), "s-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(s->tmp));
	snprintf(s->root, sizeof(s->root), "%s/root", s->tmp);
	ck_assert_msg(content_open(s->root, &s->c, &err) == 0, "content_open: %s", err.msg);
}

static void
scratch_remove(struct scratch *s)
{
	content_close(s->c);
	ck_assert_int_eq(unit_rm_rf(s->tmp), 0);
}

/* The import tests' store, a fresh one per test (fixture). */
static struct scratch S;

static void
import_setup(void)
{
	unit_scratch_setup();
	scratch_make(&S);
}

static void
import_teardown(void)
{
	scratch_remove(&S);
	unit_scratch_teardown();
}

static void
import_ok(struct content *c, const char *src, const char *name, struct oci_import *imp)
{
	struct cradle_err err = { 0 };

	ck_assert_msg(oci_import(c, src, name, imp, &err) == 0, "import %s: %s", src, err.msg);
}

/* The pause layout as imported into a store of its own, thrown away. */
static void
pause_import(struct oci_import *imp)
{
	struct scratch s;

	scratch_make(&s);
	import_ok(s.c, pause_dir, NULL, imp);
	scratch_remove(&s);
}

/* The blob is in the store and its bytes hash to its digest. */
static void
assert_blob(struct content *c, const char *digest)
{
	char path[512], got[DIGEST_LEN + 1];
	size_t len;
	char *buf;

	ck_assert_msg(content_has(c, digest), "blob %s not in the store", digest);
	ck_assert_int_eq(content_path(c, digest, path, sizeof(path)), 0);
	buf = unit_slurp_ok(path, &len);
	hex_sha256(buf, len, got);
	free(buf);
	ck_assert_str_eq(got, digest);
}

static void
assert_image_stored(struct content *c, const struct oci_import *imp)
{
	size_t i;

	assert_blob(c, imp->image.manifest_digest);
	assert_blob(c, imp->image.config_digest);
	for (i = 0; i < imp->image.n_layers; i++)
		assert_blob(c, imp->image.layers[i].digest);
}

/* The layer descriptor of the pause layout, read from its manifest. */
static void
pause_layer(char digest[DIGEST_LEN + 1], char *path, size_t plen, const char *dir)
{
	struct oci_import imp;

	pause_import(&imp);
	ck_assert_uint_eq(imp.image.n_layers, 1);
	memcpy(digest, imp.image.layers[0].digest, DIGEST_LEN + 1);
	snprintf(path, plen, "%s/blobs/sha256/%s", dir, digest + 7);
	oci_image_fini(&imp.image);
}

/* A tar file (or, with path NULL, a tar in memory) of these entries. */
struct tent {
	const char *name;
	const void *data;
	size_t len;
	const char *symlink;
};

static void
tar_write(const char *path, const struct tent *e, size_t n, void *mem, size_t cap, size_t *used)
{
	struct archive *a = archive_write_new();
	struct archive_entry *ae;
	size_t i;

	ck_assert_ptr_nonnull(a);
	ck_assert_int_eq(archive_write_set_format_pax_restricted(a), ARCHIVE_OK);
	if (path != NULL)
		ck_assert_int_eq(archive_write_open_filename(a, path), ARCHIVE_OK);
	else
		ck_assert_int_eq(archive_write_open_memory(a, mem, cap, used), ARCHIVE_OK);
	for (i = 0; i < n; i++) {
		ae = archive_entry_new();
		archive_entry_set_pathname(ae, e[i].name);
		archive_entry_set_mtime(ae, 0, 0);
		if (e[i].symlink != NULL) {
			archive_entry_set_filetype(ae, AE_IFLNK);
			archive_entry_set_perm(ae, 0777);
			archive_entry_set_symlink(ae, e[i].symlink);
			archive_entry_set_size(ae, 0);
		} else {
			archive_entry_set_filetype(ae, AE_IFREG);
			archive_entry_set_perm(ae, 0644);
			archive_entry_set_size(ae, (la_int64_t)e[i].len);
		}
		ck_assert_int_eq(archive_write_header(a, ae), ARCHIVE_OK);
		if (e[i].symlink == NULL && e[i].len > 0)
			ck_assert_int_eq(archive_write_data(a, e[i].data, e[i].len),
			                 (la_ssize_t)e[i].len);
		archive_entry_free(ae);
	}
	ck_assert_int_eq(archive_write_close(a), ARCHIVE_OK);
	archive_write_free(a);
}

/* --- platform / documents --------------------------------------------- */

START_TEST(test_arch)
{
	struct utsname u;
	const char *a = oci_arch();

	ck_assert_int_eq(uname(&u), 0);
	if (strcmp(u.machine, "x86_64") == 0)
		ck_assert_str_eq(a, "amd64");
	else if (strcmp(u.machine, "aarch64") == 0)
		ck_assert_str_eq(a, "arm64");
	ck_assert_ptr_eq(oci_arch(), a);
	ck_assert_uint_gt(strlen(a), 0);
}
END_TEST

#define D1 "sha256:1111111111111111111111111111111111111111111111111111111111111111"
#define D2 "sha256:2222222222222222222222222222222222222222222222222222222222222222"
#define D3 "sha256:3333333333333333333333333333333333333333333333333333333333333333"
#define D4 "sha256:4444444444444444444444444444444444444444444444444444444444444444"
#define D5 "sha256:5555555555555555555555555555555555555555555555555555555555555555"

START_TEST(test_parse_oci)
{
	static const char m[] =
		"{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
		"\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\","
		"\"digest\":\"" D1 "\",\"size\":100},"
		"\"layers\":[{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+gzip\","
		"\"digest\":\"" D2 "\",\"size\":2000},"
		"{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+zstd\","
		"\"digest\":\"" D3 "\",\"size\":30000,\"annotations\":{\"a\":\"b\"}}]}\n";
	struct oci_image img;
	struct cradle_err err = { 0 };

	ck_assert_msg(oci_parse_manifest(m, strlen(m), &img, &err) == 0, "%s", err.msg);
	ck_assert_str_eq(img.config_digest, D1);
	ck_assert_uint_eq(img.n_layers, 2);
	ck_assert_str_eq(img.layers[0].digest, D2);
	ck_assert_str_eq(img.layers[0].media_type, "application/vnd.oci.image.layer.v1.tar+gzip");
	ck_assert_int_eq(img.layers[0].size, 2000);
	ck_assert_str_eq(img.layers[1].digest, D3);
	ck_assert_int_eq(img.layers[1].size, 30000);
	ck_assert_int_eq(img.size, (int64_t)strlen(m) + 100 + 2000 + 30000);
	oci_image_fini(&img);
	ck_assert_ptr_null(img.layers);
	ck_assert_uint_eq(img.n_layers, 0);
	oci_image_fini(&img); /* twice is fine */
}
END_TEST

START_TEST(test_parse_docker)
{
	static const char m[] =
		"{\"schemaVersion\":2,"
		"\"mediaType\":\"application/vnd.docker.distribution.manifest.v2+json\","
		"\"config\":{\"mediaType\":\"application/vnd.docker.container.image.v1+json\","
		"\"size\":7023,\"digest\":\"" D4 "\"},"
		"\"layers\":[{\"mediaType\":\"application/vnd.docker.image.rootfs.diff.tar.gzip\","
		"\"size\":32654,\"digest\":\"" D5 "\"}]}";
	struct oci_image img;
	struct cradle_err err = { 0 };

	ck_assert_msg(oci_parse_manifest(m, strlen(m), &img, &err) == 0, "%s", err.msg);
	ck_assert_str_eq(img.config_digest, D4);
	ck_assert_uint_eq(img.n_layers, 1);
	ck_assert_str_eq(img.layers[0].media_type,
	                 "application/vnd.docker.image.rootfs.diff.tar.gzip");
	ck_assert_str_eq(img.layers[0].digest, D5);
	ck_assert_str_eq(img.manifest_digest, "");
	oci_image_fini(&img);
}
END_TEST

#define CFG                                                                       \
	"\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\"," \
	"\"digest\":\"" D1 "\",\"size\":1}"
#define LAY                                                                          \
	"{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar\",\"digest\":\"" D2 \
	"\",\"size\":5}"

static const struct {
	const char *json, *want;
} bad_manifests[] = {
	{ "{}", "manifest.schemaVersion: missing" },
	{ "[]", "manifest: expected an object, got array" },
	{ "{\"schemaVersion\":\"2\"," CFG ",\"layers\":[]}",
	  "manifest.schemaVersion: expected an integer, got string" },
	{ "{\"schemaVersion\":1," CFG ",\"layers\":[]}",
	  "manifest.schemaVersion: expected 2, got 1" },
	{ "{\"schemaVersion\":2,\"layers\":[]}", "manifest.config: missing" },
	{ "{\"schemaVersion\":2,\"config\":[],"
	  "\"layers\":[]}",
	  "manifest.config: expected an object, got array" },
	{ "{\"schemaVersion\":2,\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\","
	  "\"digest\":\"sha256:abc\",\"size\":1},\"layers\":[]}",
	  "manifest.config.digest" },
	{ "{\"schemaVersion\":2,\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\","
	  "\"digest\":\"" D1 "\",\"size\":-1},\"layers\":[]}",
	  "manifest.config.size: negative" },
	{ "{\"schemaVersion\":2,\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\","
	  "\"digest\":\"" D1 "\",\"size\":\"1\"},\"layers\":[]}",
	  "manifest.config.size: expected an integer, got string" },
	{ "{\"schemaVersion\":2,\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\","
	  "\"digest\":\"" D1 "\",\"size\":1.5},\"layers\":[]}",
	  "manifest.config.size: expected an integer, got number" },
	{ "{\"schemaVersion\":2,\"config\":{\"mediaType\":\"text/plain\","
	  "\"digest\":\"" D1 "\",\"size\":1},\"layers\":[]}",
	  "manifest.config.mediaType" },
	{ "{\"schemaVersion\":2," CFG "}", "manifest.layers: missing" },
	{ "{\"schemaVersion\":2," CFG ",\"layers\":{}}", "manifest.layers: expected an array" },
	{ "{\"schemaVersion\":2," CFG ",\"layers\":[" LAY ",{\"mediaType\":"
	  "\"application/vnd.oci.image.layer.v1.tar\",\"size\":5}]}",
	  "manifest.layers[1].digest: missing" },
	{ "{\"schemaVersion\":2," CFG ",\"layers\":[{\"mediaType\":\"text/html\",\"digest\":\"" D2
	  "\",\"size\":5}]}",
	  "manifest.layers[0].mediaType" },
	{ "{\"schemaVersion\":2," CFG ",\"layers\":[" LAY ",7]}",
	  "manifest.layers[1]: expected an object, got integer" },
	{ "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.index.v1+json\","
	  "\"manifests\":[]}",
	  "is an index" },
	{ "{\"schemaVersion\":2,\"manifests\":[]}", "an index, not a manifest" },
	{ "{\"schemaVersion\":2," CFG ",\"layers\":[" LAY, "invalid JSON" },
	{ "{\"schemaVersion\":2," CFG ",\"layers\":[]} x", "manifest: invalid JSON" },
	{ "", "manifest: empty" },
};

START_TEST(test_parse_bad)
{
	struct oci_image img;
	struct cradle_err err = { 0 };
	const char *j = bad_manifests[_i].json;

	ck_assert_int_lt(oci_parse_manifest(j, strlen(j), &img, &err), 0);
	ck_assert_int_eq(err.code, CRADLE_INVALID_ARGUMENT);
	ck_assert_msg(strstr(err.msg, bad_manifests[_i].want) != NULL,
	              "case %d: \"%s\" lacks \"%s\"", _i, err.msg, bad_manifests[_i].want);
	ck_assert_ptr_null(img.layers);
}
END_TEST

#define ENTRY(d, os, arch, variant)                                                           \
	"{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"" d "\"," \
	"\"size\":500,\"platform\":{\"os\":\"" os "\",\"architecture\":\"" arch "\"" variant "}}"

START_TEST(test_pick_platform)
{
	/* clang-format off */
	static const char idx[] =
	    "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.index.v1+json\","
	    "\"manifests\":["
	    ENTRY(D1, "windows", "amd64", "") ","
	    ENTRY(D2, "linux", "arm64", ",\"variant\":\"v8\"") ","
	    ENTRY(D3, "linux", "amd64", "") ","
	    ENTRY(D4, "linux", "arm", ",\"variant\":\"v7\"") ","
	    ENTRY(D5, "linux", "s390x", "") "]}";
	/* clang-format on */
	/* a Docker manifest list, arm64 without a variant */
	/* clang-format off */
	static const char list[] =
	    "{\"schemaVersion\":2,"
	    "\"mediaType\":\"application/vnd.docker.distribution.manifest.list.v2+json\","
	    "\"manifests\":["
	    ENTRY(D2, "linux", "arm64", ",\"variant\":\"v9\"") ","
	    ENTRY(D1, "linux", "arm64", "") ","
	    ENTRY(D3, "linux", "amd64", "") "]}";
	/* clang-format on */
	struct oci_descriptor d;
	struct cradle_err err = { 0 };
	const char *want = NULL, *want_list = NULL;

	if (strcmp(oci_arch(), "amd64") == 0)
		want = D3, want_list = D3;
	else if (strcmp(oci_arch(), "arm64") == 0)
		want = D2, want_list = D1;
	else if (strcmp(oci_arch(), "s390x") == 0)
		want = D5;
	if (want == NULL)
		return;
	ck_assert_msg(oci_pick_platform(idx, strlen(idx), &d, &err) == 0, "%s", err.msg);
	ck_assert_str_eq(d.digest, want);
	ck_assert_str_eq(d.media_type, "application/vnd.oci.image.manifest.v1+json");
	ck_assert_int_eq(d.size, 500);
	if (want_list != NULL) {
		ck_assert_msg(oci_pick_platform(list, strlen(list), &d, &err) == 0, "%s", err.msg);
		ck_assert_str_eq(d.digest, want_list);
	}
}
END_TEST

START_TEST(test_pick_none)
{
	/* clang-format off */
	static const char idx[] =
	    "{\"schemaVersion\":2,\"manifests\":["
	    ENTRY(D1, "windows", "amd64", "") ","
	    ENTRY(D2, "linux", "mips64le", "") ","
	    "{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"" D3 "\","
	    "\"size\":1}]}";
	/* clang-format on */
	struct oci_descriptor d;
	struct cradle_err err = { 0 };
	char want[96];

	ck_assert_int_lt(oci_pick_platform(idx, strlen(idx), &d, &err), 0);
	ck_assert_int_eq(err.code, CRADLE_NOT_FOUND);
	snprintf(want, sizeof(want), "no manifest for linux/%s", oci_arch());
	ck_assert_msg(strstr(err.msg, want) != NULL, "%s", err.msg);
}
END_TEST

START_TEST(test_pick_malformed)
{
	static const char *const bad[][2] = {
		{ "{\"schemaVersion\":2,\"manifests\":[" ENTRY(
			  D1, "linux", "amd64",
			  "") ","
		              "{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"" D2
		              "\","
		              "\"size\":1,\"platform\":{\"os\":\"linux\",\"architecture\":7}}]}",
		  "index.manifests[1].platform.architecture: expected a string, got integer" },
		{ "{\"schemaVersion\":2}", "index.manifests: missing" },
		{ "{\"schemaVersion\":2,\"manifests\":[{\"digest\":\"" D1 "\",\"size\":1}]}",
		  "index.manifests[0].mediaType: missing" },
		{ "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
		  "\"manifests\":[]}",
		  "index.mediaType" },
		{ "{\"manifests\":[]}", "index.schemaVersion: missing" },
	};
	struct oci_descriptor d;
	struct cradle_err err;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&err, 0, sizeof(err));
		ck_assert_int_lt(oci_pick_platform(bad[i][0], strlen(bad[i][0]), &d, &err), 0);
		ck_assert_int_eq(err.code, CRADLE_INVALID_ARGUMENT);
		ck_assert_msg(strstr(err.msg, bad[i][1]) != NULL, "%zu: \"%s\" lacks \"%s\"", i,
		              err.msg, bad[i][1]);
	}
}
END_TEST

START_TEST(test_is_index)
{
	static const char idx[] = "{\"schemaVersion\":2,\"manifests\":[]}";
	static const char man[] = "{\"schemaVersion\":2," CFG ",\"layers\":[]}";
	static const char typed[] =
		"{\"mediaType\":\"application/vnd.docker.distribution.manifest.list.v2+json\"}";

	ck_assert(oci_is_index("application/vnd.oci.image.index.v1+json", NULL, 0));
	ck_assert(
		oci_is_index("application/vnd.docker.distribution.manifest.list.v2+json", NULL, 0));
	ck_assert(!oci_is_index("application/vnd.oci.image.manifest.v1+json", idx, strlen(idx)));
	ck_assert(oci_is_index("", idx, strlen(idx)));
	ck_assert(oci_is_index(NULL, typed, strlen(typed)));
	ck_assert(!oci_is_index(NULL, man, strlen(man)));
	ck_assert(!oci_is_index(NULL, "{", 1));
	ck_assert(!oci_is_index(NULL, NULL, 0));
}
END_TEST

/* --- import ------------------------------------------------------------- */

static void
check_pause(struct content *c, const struct oci_import *imp)
{
	char *m;
	size_t len;
	struct oci_image again;
	struct cradle_err err = { 0 };

	ck_assert_uint_eq(imp->image.n_layers, 1);
	ck_assert_str_eq(imp->image.layers[0].media_type,
	                 "application/vnd.oci.image.layer.v1.tar+gzip");
	assert_image_stored(c, imp);
	ck_assert_int_eq(content_read(c, imp->image.manifest_digest, 1 << 20, &m, &len, &err), 0);
	ck_assert_int_eq(oci_parse_manifest(m, len, &again, &err), 0);
	ck_assert_str_eq(again.config_digest, imp->image.config_digest);
	ck_assert_int_eq(again.size, imp->image.size);
	ck_assert_int_gt(imp->image.size, imp->image.layers[0].size);
	oci_image_fini(&again);
	free(m);
}

START_TEST(test_import_layout)
{
	struct oci_import imp;

	import_ok(S.c, pause_dir, NULL, &imp);
	ck_assert_str_eq(imp.name, REF_BUILTIN);
	check_pause(S.c, &imp);
	oci_image_fini(&imp.image);
	/* again: everything present already */
	import_ok(S.c, pause_dir, REF_BUILTIN, &imp);
	check_pause(S.c, &imp);
	oci_image_fini(&imp.image);
}
END_TEST

START_TEST(test_import_archive)
{
	struct oci_import a, b;

	import_ok(S.c, pause_tar, NULL, &a);
	ck_assert_str_eq(a.name, REF_BUILTIN);
	check_pause(S.c, &a);
	scratch_remove(&S);

	/* the same image as the layout, in a fresh store */
	scratch_make(&S);
	import_ok(S.c, pause_dir, NULL, &b);
	ck_assert_str_eq(a.image.manifest_digest, b.image.manifest_digest);
	ck_assert_str_eq(a.image.config_digest, b.image.config_digest);
	ck_assert_int_eq(a.image.size, b.image.size);
	oci_image_fini(&a.image);
	oci_image_fini(&b.image);
}
END_TEST

START_TEST(test_import_compressed_archive)
{
	struct oci_import imp;
	char gz[256];

	snprintf(gz, sizeof(gz), "%s/p.tar.gz", S.tmp);
	ck_assert_int_eq(unit_sh("gzip -c '%s' > '%s'", pause_tar, gz), 0);
	import_ok(S.c, gz, NULL, &imp);
	check_pause(S.c, &imp);
	oci_image_fini(&imp.image);
}
END_TEST

START_TEST(test_import_name_override)
{
	struct oci_import imp;

	import_ok(S.c, pause_tar, "example.com/other/pause:3.9", &imp);
	ck_assert_str_eq(imp.name, "example.com/other/pause:3.9");
	check_pause(S.c, &imp);
	oci_image_fini(&imp.image);
	/* the tag alone matches the annotation's tag too */
	import_ok(S.c, pause_dir, "cradle.local/pause:built-in", &imp);
	ck_assert_str_eq(imp.name, REF_BUILTIN);
	oci_image_fini(&imp.image);
}
END_TEST

/* A layout whose index.json lists one manifest without a name. */
static void
layout_copy(const char *dst)
{
	ck_assert_int_eq(unit_sh("cp -a '%s' '%s'", pause_dir, dst), 0);
}

static void
index_rewrite(const char *dir, void (*fn)(json_object *idx, const char *dir))
{
	char path[512];
	json_object *o;

	snprintf(path, sizeof(path), "%s/index.json", dir);
	o = json_object_from_file(path);
	ck_assert_ptr_nonnull(o);
	fn(o, dir);
	ck_assert_int_eq(json_object_to_file_ext(path, o, JSON_C_TO_STRING_PLAIN), 0);
	json_object_put(o);
}

static void
drop_annotations(json_object *idx, const char *dir)
{
	json_object *m;

	(void)dir;
	ck_assert(json_object_object_get_ex(idx, "manifests", &m));
	json_object_object_del(json_object_array_get_idx(m, 0), "annotations");
}

START_TEST(test_import_no_name)
{
	struct oci_import imp;
	struct cradle_err err = { 0 };
	char dir[256];

	snprintf(dir, sizeof(dir), "%s/layout", S.tmp);
	layout_copy(dir);
	index_rewrite(dir, drop_annotations);
	ck_assert_int_lt(oci_import(S.c, dir, NULL, &imp, &err), 0);
	ck_assert_int_eq(err.code, CRADLE_INVALID_ARGUMENT);
	ck_assert_msg(strstr(err.msg, "image has no name: give one") != NULL, "%s", err.msg);
	ck_assert_ptr_null(imp.image.layers);
	import_ok(S.c, dir, "x.io/y:z", &imp);
	ck_assert_str_eq(imp.name, "x.io/y:z");
	oci_image_fini(&imp.image);
}
END_TEST

/* index.json -> a nested index (windows, this platform, s390x) -> the
 * pause manifest, as skopeo and buildx lay out multi-platform images. */
static void
nest_index(json_object *idx, const char *dir)
{
	json_object *ms, *m, *nested, *list, *e, *p, *dg, *sz;
	char digest[DIGEST_LEN + 1], path[512];
	const char *txt;
	const char *arches[] = { "amd64", NULL, "s390x" };
	const char *oses[] = { "windows", "linux", "linux" };
	size_t i;

	ck_assert(json_object_object_get_ex(idx, "manifests", &ms));
	m = json_object_array_get_idx(ms, 0);
	ck_assert(json_object_object_get_ex(m, "digest", &dg));
	ck_assert(json_object_object_get_ex(m, "size", &sz));
	nested = json_object_new_object();
	json_object_object_add(nested, "schemaVersion", json_object_new_int(2));
	json_object_object_add(nested, "mediaType",
	                       json_object_new_string("application/vnd.oci.image.index.v1+json"));
	list = json_object_new_array();
	for (i = 0; i < 3; i++) {
		e = json_object_new_object();
		json_object_object_add(
			e, "mediaType",
			json_object_new_string("application/vnd.oci.image.manifest.v1+json"));
		/* the others point at a digest that is not there: never read */
		json_object_object_add(
			e, "digest",
			json_object_new_string(i == 1 ? json_object_get_string(dg) : D1));
		json_object_object_add(e, "size", json_object_new_int64(json_object_get_int64(sz)));
		p = json_object_new_object();
		json_object_object_add(p, "os", json_object_new_string(oses[i]));
		json_object_object_add(
			p, "architecture",
			json_object_new_string(arches[i] != NULL ? arches[i] : oci_arch()));
		json_object_object_add(e, "platform", p);
		json_object_array_add(list, e);
	}
	json_object_object_add(nested, "manifests", list);
	txt = json_object_to_json_string_ext(nested, JSON_C_TO_STRING_PLAIN);
	hex_sha256(txt, strlen(txt), digest);
	snprintf(path, sizeof(path), "%s/blobs/sha256/%s", dir, digest + 7);
	unit_put_file(path, txt, strlen(txt), 0644);
	json_object_object_add(m, "mediaType",
	                       json_object_new_string("application/vnd.oci.image.index.v1+json"));
	json_object_object_add(m, "digest", json_object_new_string(digest));
	json_object_object_add(m, "size", json_object_new_int64((int64_t)strlen(txt)));
	json_object_put(nested);
}

START_TEST(test_import_nested_index)
{
	struct oci_import imp, plain;
	char dir[256];

	pause_import(&plain);
	snprintf(dir, sizeof(dir), "%s/layout", S.tmp);
	layout_copy(dir);
	index_rewrite(dir, nest_index);
	import_ok(S.c, dir, NULL, &imp);
	ck_assert_str_eq(imp.name, REF_BUILTIN);
	ck_assert_str_eq(imp.image.manifest_digest, plain.image.manifest_digest);
	check_pause(S.c, &imp);
	ck_assert(!content_has(S.c, D1));
	oci_image_fini(&imp.image);
	oci_image_fini(&plain.image);
}
END_TEST

START_TEST(test_import_corrupt_blob)
{
	struct oci_import imp;
	struct cradle_err err = { 0 };
	char dir[256], tar[256], blob[512], layer[DIGEST_LEN + 1];
	size_t len;
	char *buf;

	snprintf(dir, sizeof(dir), "%s/layout", S.tmp);
	layout_copy(dir);
	pause_layer(layer, blob, sizeof(blob), dir);
	buf = unit_slurp_ok(blob, &len);
	buf[len / 2] ^= 0x20;
	unit_put_file(blob, buf, len, 0644);
	free(buf);

	ck_assert_int_lt(oci_import(S.c, dir, NULL, &imp, &err), 0);
	ck_assert_int_eq(err.code, CRADLE_INVALID_ARGUMENT);
	ck_assert_msg(strstr(err.msg, "digest mismatch") != NULL, "%s", err.msg);
	ck_assert_msg(strstr(err.msg, layer) != NULL, "%s", err.msg);
	ck_assert_msg(strstr(err.msg, "layer 1") != NULL, "%s", err.msg);
	ck_assert(!content_has(S.c, layer));

	/* the same as an archive */
	snprintf(tar, sizeof(tar), "%s/bad.tar", S.tmp);
	ck_assert_int_eq(unit_sh("tar -C '%s' -cf '%s' .", dir, tar), 0);
	memset(&err, 0, sizeof(err));
	ck_assert_int_lt(oci_import(S.c, tar, NULL, &imp, &err), 0);
	ck_assert_msg(strstr(err.msg, "digest mismatch") != NULL, "%s", err.msg);
	ck_assert(!content_has(S.c, layer));
}
END_TEST

START_TEST(test_import_missing_blob)
{
	struct oci_import imp, ok;
	struct cradle_err err = { 0 };
	char dir[256], path[512];

	pause_import(&ok);
	snprintf(dir, sizeof(dir), "%s/layout", S.tmp);
	layout_copy(dir);
	snprintf(path, sizeof(path), "%s/blobs/sha256/%s", dir, ok.image.config_digest + 7);
	ck_assert_int_eq(unlink(path), 0);
	ck_assert_int_lt(oci_import(S.c, dir, NULL, &imp, &err), 0);
	ck_assert_int_eq(err.code, CRADLE_NOT_FOUND);
	ck_assert_msg(strstr(err.msg, "config") != NULL && strstr(err.msg, "missing") != NULL, "%s",
	              err.msg);
	oci_image_fini(&ok.image);
}
END_TEST

START_TEST(test_import_truncated)
{
	struct oci_import imp;
	struct cradle_err err;
	char tar[256];
	size_t len, i;
	char *buf;
	const size_t cuts[] = { 100, 1000, 0, 0 };
	size_t n_cuts = sizeof(cuts) / sizeof(cuts[0]);

	buf = unit_slurp_ok(pause_tar, &len);
	snprintf(tar, sizeof(tar), "%s/cut.tar", S.tmp);
	for (i = 0; i < n_cuts; i++) {
		size_t cut = cuts[i];

		if (i == 2)
			cut = len / 2; /* inside the layer */
		if (i == 3)
			cut = len - 10240 - 100; /* its last block */
		unit_put_file(tar, buf, cut, 0644);
		memset(&err, 0, sizeof(err));
		ck_assert_msg(oci_import(S.c, tar, NULL, &imp, &err) < 0, "cut at %zu imported",
		              cut);
		ck_assert_msg(strstr(err.msg, "import \"") != NULL, "%s", err.msg);
		ck_assert_ptr_null(imp.image.layers);
		if (i >= 2)
			ck_assert_msg(strstr(err.msg, "runcated") != NULL, "cut %zu: %s", cut,
			              err.msg);
	}
	free(buf);
}
END_TEST

START_TEST(test_import_hostile_entry)
{
	struct oci_import imp;
	struct cradle_err err = { 0 };
	char tar[256];
	const struct tent e[] = {
		{ "oci-layout", "{\"imageLayoutVersion\":\"1.0.0\"}", 30, NULL },
		{ "../escape", "x", 1, NULL },
	};
	static const char mj[] = "[{\"Config\":\"c.json\",\"RepoTags\":[\"a/b:c\"],"
				 "\"Layers\":[\"l/layer.tar\"]}]";
	const struct tent e2[] = {
		{ "manifest.json", mj, sizeof(mj) - 1, NULL },
		{ "c.json", "{}", 2, NULL },
		{ "l/layer.tar", NULL, 0, "../../../etc/passwd" },
	};

	snprintf(tar, sizeof(tar), "%s/h.tar", S.tmp);
	tar_write(tar, e, 2, NULL, 0, NULL);
	ck_assert_int_lt(oci_import(S.c, tar, NULL, &imp, &err), 0);
	ck_assert_int_eq(err.code, CRADLE_INVALID_ARGUMENT);
	ck_assert_msg(strstr(err.msg, "\"../escape\"") != NULL, "%s", err.msg);

	tar_write(tar, e2, 3, NULL, 0, NULL);
	memset(&err, 0, sizeof(err));
	ck_assert_int_lt(oci_import(S.c, tar, NULL, &imp, &err), 0);
	ck_assert_msg(strstr(err.msg, "leaves the archive") != NULL, "%s", err.msg);
	ck_assert_msg(strstr(err.msg, "layer 1") != NULL, "%s", err.msg);
}
END_TEST

START_TEST(test_import_not_an_image)
{
	struct oci_import imp;
	struct cradle_err err = { 0 };
	char path[256];

	snprintf(path, sizeof(path), "%s/empty", S.tmp);
	ck_assert_int_eq(mkdir(path, 0755), 0);
	ck_assert_int_lt(oci_import(S.c, path, NULL, &imp, &err), 0);
	ck_assert_msg(strstr(err.msg, "neither an OCI image layout") != NULL, "%s", err.msg);
	snprintf(path, sizeof(path), "%s/file", S.tmp);
	unit_put_file(path, "hello, world\n", 13, 0644);
	ck_assert_int_lt(oci_import(S.c, path, NULL, &imp, &err), 0);
	ck_assert_msg(strstr(err.msg, "import \"") != NULL, "%s", err.msg);
	snprintf(path, sizeof(path), "%s/absent", S.tmp);
	ck_assert_int_lt(oci_import(S.c, path, NULL, &imp, &err), 0);
	ck_assert_int_eq(err.code, CRADLE_NOT_FOUND);
}
END_TEST

/* --- docker save ---------------------------------------------------------- */

struct docker_arc {
	char layer_digest[DIGEST_LEN + 1];
	char config_digest[DIGEST_LEN + 1];
	size_t layer_len, config_len;
};

/* A docker save archive: two layers, the second a symbolic link to the
 * first (docker links duplicate layers), diff_ids as given or right. */
static void
docker_archive(const char *path, const char *diff_id, struct docker_arc *d)
{
	static char layer[16384];
	size_t used = 0;
	const struct tent files[] = {
		{ "hello", "hi\n", 3, NULL },
		{ "etc/passwd", "root:x:0:0:root:/:/bin/sh\n", 26, NULL },
	};
	char config[1024], manifest[1024], cfgname[128];

	tar_write(NULL, files, 2, layer, sizeof(layer), &used);
	d->layer_len = used;
	hex_sha256(layer, used, d->layer_digest);
	snprintf(config, sizeof(config),
	         "{\"architecture\":\"%s\",\"os\":\"linux\",\"config\":{\"Cmd\":[\"/hello\"]},"
	         "\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"%s\",\"%s\"]}}",
	         oci_arch(), d->layer_digest, diff_id != NULL ? diff_id : d->layer_digest);
	d->config_len = strlen(config);
	hex_sha256(config, d->config_len, d->config_digest);
	snprintf(cfgname, sizeof(cfgname), "%s.json", d->config_digest + 7);
	snprintf(manifest, sizeof(manifest),
	         "[{\"Config\":\"%s\",\"RepoTags\":[\"example.com/hello:1\",\"hello:latest\"],"
	         "\"Layers\":[\"aaa/layer.tar\",\"bbb/layer.tar\"]}]",
	         cfgname);
	{
		const struct tent e[] = {
			{ "aaa/VERSION", "1.0", 3, NULL },
			{ "aaa/layer.tar", layer, used, NULL },
			{ "bbb/layer.tar", NULL, 0, "../aaa/layer.tar" },
			{ cfgname, config, d->config_len, NULL },
			{ "manifest.json", manifest, strlen(manifest), NULL },
			{ "repositories", "{}", 2, NULL },
		};

		tar_write(path, e, sizeof(e) / sizeof(e[0]), NULL, 0, NULL);
	}
}

START_TEST(test_import_docker)
{
	struct oci_import imp;
	struct cradle_err err = { 0 };
	struct docker_arc d;
	char tar[256], *m;
	size_t len;
	json_object *o, *cfg, *v;

	snprintf(tar, sizeof(tar), "%s/docker.tar", S.tmp);
	docker_archive(tar, NULL, &d);
	import_ok(S.c, tar, NULL, &imp);
	ck_assert_str_eq(imp.name, "example.com/hello:1");
	ck_assert_str_eq(imp.image.config_digest, d.config_digest);
	ck_assert_uint_eq(imp.image.n_layers, 2);
	ck_assert_str_eq(imp.image.layers[0].digest, d.layer_digest);
	ck_assert_str_eq(imp.image.layers[1].digest, d.layer_digest);
	ck_assert_str_eq(imp.image.layers[0].media_type, "application/vnd.oci.image.layer.v1.tar");
	ck_assert_int_eq(imp.image.layers[0].size, (int64_t)d.layer_len);
	assert_image_stored(S.c, &imp);

	/* the synthesized manifest is an OCI one */
	ck_assert_int_eq(content_read(S.c, imp.image.manifest_digest, 1 << 20, &m, &len, &err), 0);
	ck_assert_int_eq(imp.image.size, (int64_t)(len + d.config_len + 2 * d.layer_len));
	o = json_tokener_parse(m);
	ck_assert_ptr_nonnull(o);
	ck_assert(json_object_object_get_ex(o, "mediaType", &v));
	ck_assert_str_eq(json_object_get_string(v), "application/vnd.oci.image.manifest.v1+json");
	ck_assert(json_object_object_get_ex(o, "config", &cfg));
	ck_assert(json_object_object_get_ex(cfg, "size", &v));
	ck_assert_int_eq(json_object_get_int64(v), (int64_t)d.config_len);
	json_object_put(o);
	free(m);
	oci_image_fini(&imp.image);

	/* by another of its names, and with a name of one's own */
	ck_assert_msg(oci_import(S.c, tar, "docker.io/library/hello:latest", &imp, &err) == 0, "%s",
	              err.msg);
	ck_assert_str_eq(imp.name, "docker.io/library/hello:latest");
	oci_image_fini(&imp.image);
	import_ok(S.c, tar, "mine.io/x:y", &imp);
	ck_assert_str_eq(imp.name, "mine.io/x:y");
	oci_image_fini(&imp.image);
}
END_TEST

START_TEST(test_import_docker_bad)
{
	struct oci_import imp;
	struct cradle_err err = { 0 };
	struct docker_arc d;
	char tar[256];
	size_t len;
	char *buf;

	snprintf(tar, sizeof(tar), "%s/docker.tar", S.tmp);
	docker_archive(tar, D5, &d);
	ck_assert_int_lt(oci_import(S.c, tar, NULL, &imp, &err), 0);
	ck_assert_int_eq(err.code, CRADLE_INVALID_ARGUMENT);
	ck_assert_msg(strstr(err.msg, "layer 2") != NULL && strstr(err.msg, "diff_id") != NULL,
	              "%s", err.msg);

	/* truncated inside a layer, into a fresh store */
	scratch_remove(&S);
	scratch_make(&S);
	snprintf(tar, sizeof(tar), "%s/docker.tar", S.tmp);
	docker_archive(tar, NULL, &d);
	buf = unit_slurp_ok(tar, &len);
	unit_put_file(tar, buf, 3000, 0644);
	free(buf);
	memset(&err, 0, sizeof(err));
	ck_assert_int_lt(oci_import(S.c, tar, NULL, &imp, &err), 0);
	ck_assert_msg(strstr(err.msg, "runcated") != NULL, "%s", err.msg);
	ck_assert(!content_has(S.c, d.layer_digest));
}
END_TEST

static Suite *
oci_suite(void)
{
	Suite *s = suite_create("oci");
	TCase *tc;

	tc = unit_tcase(s, "documents", NULL, NULL, 0,
	                UNIT_TESTS(test_arch, test_parse_oci, test_parse_docker, test_pick_platform,
	                           test_pick_none, test_pick_malformed, test_is_index));
	tcase_add_loop_test(tc, test_parse_bad, 0,
	                    (int)(sizeof(bad_manifests) / sizeof(bad_manifests[0])));

	unit_tcase(
		s, "import", import_setup, import_teardown, 60,
		UNIT_TESTS(test_import_layout, test_import_archive, test_import_compressed_archive,
	                   test_import_name_override, test_import_no_name, test_import_nested_index,
	                   test_import_corrupt_blob, test_import_missing_blob,
	                   test_import_truncated, test_import_hostile_entry,
	                   test_import_not_an_image, test_import_docker, test_import_docker_bad));

	return s;
}

/* The pause layout every import test reads, unpacked once for the run. */
static int
unpack_pause(void)
{
	if (unit_build_path(pause_tar, "pause.oci.tar") != 0)
		return -1;
	snprintf(pause_dir, sizeof(pause_dir), "%s/pause-layout", unit_base_dir());
	if (mkdir(pause_dir, 0755) != 0 ||
	    unit_sh("tar -C '%s' -xf '%s'", pause_dir, pause_tar) != 0) {
		fprintf(stderr, "test_oci: failed to unpack %s into %s\n", pause_tar, pause_dir);
		return -1;
	}
	return 0;
}

int
main(void)
{
	return unit_run_with(oci_suite(), "test_oci", UNIT_SUBREAPER, unpack_pause, NULL);
}
