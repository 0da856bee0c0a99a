/* test_image_refs.c - image references and ids through a real cradled,
 * offline: images are variants of the built-in pause archive (its config
 * blob with k trailing spaces, so a new image id, the same layer) laid out
 * as OCI directories and imported.  Short names are recorded canonical;
 * status and rmi take a reference in any spelling, an image id or an
 * unambiguous prefix of one; `rmi -a`, `rmi --prune`, `images -q` and
 * `images --pinned`.  Needs root (starts cradled). */
#include <check.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/integ/libinteg.h"

static struct it_daemon D;

/* The first line a shell command prints, without its newline. */
static void
sh_line(char *out, size_t len, const char *fmt, ...)
{
	char cmd[4096];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	FILE *p = popen(cmd, "r");
	ck_assert_ptr_nonnull(p);
	out[0] = '\0';
	ck_assert_msg(fgets(out, (int)len, p) != NULL, "no output from: %s", cmd);
	out[strcspn(out, "\n")] = '\0';
	ck_assert_int_eq(pclose(p), 0);
}

/* The built-in archive unpacked as an OCI layout under D.dir/<what>;
 * the config blob's path in cfg. */
static void
unpack_pause(const char *what, char *dir, size_t dlen, char *cfg, size_t clen)
{
	char path[512], man[128];

	snprintf(dir, dlen, "%s/%s", D.dir, what);
	ck_assert(realpath(it_bin("pause.oci.tar"), path) != NULL);
	ck_assert_int_eq(it_sh("mkdir -p '%s' && tar -xf '%s' -C '%s'", dir, path, dir), 0);
	sh_line(man, sizeof(man),
	        "sed 's/.*\"digest\":\"sha256:\\([0-9a-f]\\{64\\}\\)\".*/\\1/' '%s/index.json'",
	        dir);
	ck_assert_uint_eq(strlen(man), 64);
	sh_line(path, sizeof(path),
	        "sed 's/.*\"config\":{[^}]*\"digest\":\"sha256:\\([0-9a-f]\\{64\\}\\)\".*/\\1/' "
	        "'%s/blobs/sha256/%s'",
	        dir, man);
	ck_assert_uint_eq(strlen(path), 64);
	snprintf(cfg, clen, "%s/blobs/sha256/%s", dir, path);
}

/* A variant of the pause image as an OCI layout directory: its config with
 * k spaces after it (so another id), its index annotated with name.  The
 * directory in dir, the image id ("sha256:<hex>") in id. */
static void
make_variant(int k, const char *name, char *dir, size_t dlen, char *id, size_t ilen)
{
	char what[64], cfg[600];

	snprintf(what, sizeof(what), "variant-%d-%d", k, getpid());
	unpack_pause(what, dir, dlen, cfg, sizeof(cfg));
	ck_assert_int_eq(
		it_sh("set -e; d='%s'; b=$d/blobs/sha256; c='%s'; "
	              "m=$(sed 's/.*\"digest\":\"sha256:\\([0-9a-f]\\{64\\}\\)\".*/\\1/' $d/index.json); "
	              "{ cat $c; head -c %d /dev/zero | tr '\\0' ' '; } > $d/cfg; "
	              "nc=$(sha256sum $d/cfg | cut -d' ' -f1); ns=$(stat -c %%s $d/cfg); "
	              "os=$(stat -c %%s $c); oc=$(basename $c); mv $d/cfg $b/$nc; "
	              "sed \"s/$oc\\\",\\\"size\\\":$os/$nc\\\",\\\"size\\\":$ns/\" $b/$m > $d/man; "
	              "nm=$(sha256sum $d/man | cut -d' ' -f1); ms=$(stat -c %%s $d/man); "
	              "mv $d/man $b/$nm; "
	              "sed \"s/$m\\\",\\\"size\\\":[0-9]*/$nm\\\",\\\"size\\\":$ms/; "
	              "s#cradle.local/pause:built-in#%s#\" $d/index.json > $d/idx; mv $d/idx $d/index.json; "
	              "rm -f $c $b/$m; echo sha256:$nc > $d/id",
	              dir, cfg, k, name),
		0);
	char path[700];
	snprintf(path, sizeof(path), "%s/id", dir);
	it_read_text(path, id, ilen);
	id[strcspn(id, "\n")] = '\0';
	ck_assert_uint_eq(strlen(id), 71);
}

/* SHA-256 (FIPS 180-4), for the ids of variants without a process each. */
static const uint32_t K256[64] = {
	0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4,
	0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
	0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f,
	0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
	0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
	0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
	0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116,
	0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
	0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
	0xc67178f2,
};

#define ROR(x, n) (((x) >> (n)) | ((x) << (32 - (n))))

static void
sha256_block(uint32_t h[8], const uint8_t *p)
{
	uint32_t w[64], a[8], t1, t2;

	for (int i = 0; i < 16; i++)
		w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 |
		       (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
	for (int i = 16; i < 64; i++)
		w[i] = w[i - 16] + (ROR(w[i - 15], 7) ^ ROR(w[i - 15], 18) ^ (w[i - 15] >> 3)) +
		       w[i - 7] + (ROR(w[i - 2], 17) ^ ROR(w[i - 2], 19) ^ (w[i - 2] >> 10));
	memcpy(a, h, sizeof(a));
	for (int i = 0; i < 64; i++) {
		t1 = a[7] + (ROR(a[4], 6) ^ ROR(a[4], 11) ^ ROR(a[4], 25)) +
		     ((a[4] & a[5]) ^ (~a[4] & a[6])) + K256[i] + w[i];
		t2 = (ROR(a[0], 2) ^ ROR(a[0], 13) ^ ROR(a[0], 22)) +
		     ((a[0] & a[1]) ^ (a[0] & a[2]) ^ (a[1] & a[2]));
		memmove(a + 1, a, 7 * sizeof(a[0]));
		a[4] += t1;
		a[0] = t1 + t2;
	}
	for (int i = 0; i < 8; i++)
		h[i] += a[i];
}

/* The first 16 bits of sha256(data), as the 4 hex digits of an id. */
static unsigned
sha256_top16(const uint8_t *data, size_t n)
{
	uint32_t h[8] = { 0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
		          0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19 };
	uint8_t last[128] = { 0 };
	size_t i, rest, tail;

	for (i = 0; i + 64 <= n; i += 64)
		sha256_block(h, data + i);
	rest = n - i;
	memcpy(last, data + i, rest);
	last[rest] = 0x80;
	tail = rest + 1 + 8 <= 64 ? 64 : 128;
	for (int b = 0; b < 8; b++)
		last[tail - 1 - b] = (uint8_t)(((uint64_t)n * 8) >> (8 * b));
	for (i = 0; i < tail; i += 64)
		sha256_block(h, last + i);
	return h[0] >> 16;
}

/* Two k whose variants' ids share their first 4 hex digits (the archive
 * is deterministic; 5000 ids in 65536 prefixes collide about 190 times). */
static void
colliding_ks(int *k1, int *k2)
{
	enum { N = 5000 };
	char dir[512], cfg[600];
	static int first[65536];
	static uint8_t buf[65536 + N];

	unpack_pause("probe", dir, sizeof(dir), cfg, sizeof(cfg));
	FILE *f = fopen(cfg, "re");
	ck_assert_ptr_nonnull(f);
	size_t n = fread(buf, 1, sizeof(buf) - N, f);
	ck_assert(feof(f) && n > 0);
	fclose(f);
	memset(first, 0, sizeof(first));
	memset(buf + n, ' ', N);
	for (int k = 1; k <= N; k++) {
		unsigned top = sha256_top16(buf, n + (size_t)k);
		if (first[top]) {
			*k1 = first[top];
			*k2 = k;
			return;
		}
		first[top] = k;
	}
	ck_abort_msg("no two of %d variants share 4 hex digits of their id", N);
}

static void
import_dir(const char *dir, const char *name, char *ref, size_t len)
{
	struct cradle_image *img;
	struct cradle_error err;

	ck_assert_msg(cradle_image_import(D.conn, dir, name, &img, &err) == 0, "%s: %s", dir,
	              err.message);
	snprintf(ref, len, "%s", cradle_image_ref(img));
	cradle_image_free(img);
}

/* status(what) names ref */
static void
status_is(const char *what, const char *ref)
{
	struct cradle_image *img;
	struct cradle_error err;

	ck_assert_msg(cradle_image_status(D.conn, what, &img, &err) == 0, "status %s: %s", what,
	              err.message);
	ck_assert_msg(strcmp(cradle_image_ref(img), ref) == 0, "status %s: %s, want %s", what,
	              cradle_image_ref(img), ref);
	cradle_image_free(img);
}

static void
status_fails(const char *what, int code, const char *want)
{
	struct cradle_image *img;
	struct cradle_error err;

	ck_assert_msg(cradle_image_status(D.conn, what, &img, &err) < 0, "status %s succeeded",
	              what);
	ck_assert_msg(err.code == code, "status %s: code %d, want %d (%s)", what, err.code, code,
	              err.message);
	ck_assert_msg(strstr(err.message, want) != NULL, "status %s: want \"%s\" in: %s", what,
	              want, err.message);
}

static size_t
count_images(void)
{
	struct cradle_image_list *l;
	struct cradle_error err;

	ck_assert_msg(cradle_image_list(D.conn, &l, &err) == 0, "%s", err.message);
	size_t n = cradle_image_list_count(l);
	cradle_image_list_free(l);
	return n;
}

static void
teardown(void)
{
	it_cleanup(&D);
}

/* An import under a short name (given, or the archive's annotation) is
 * recorded and listed canonical; every spelling of it finds it, and so do
 * its id, the id's hex and a prefix of it; rmi by a short name removes it. */
START_TEST(test_short_names_canonical)
{
	char dir[512], dir2[512], id[80], id2[80], ref[600], out[8192], what[128];
	struct cradle_error err;

	it_start(&D, NULL);
	make_variant(1, "refs-ann:v1", dir, sizeof(dir), id, sizeof(id));
	make_variant(2, "refs-ann:v2", dir2, sizeof(dir2), id2, sizeof(id2));
	/* a name given */
	import_dir(dir, "refs-a", ref, sizeof(ref));
	ck_assert_str_eq(ref, "docker.io/library/refs-a:latest");
	/* the archive's own name */
	import_dir(dir2, NULL, ref, sizeof(ref));
	ck_assert_str_eq(ref, "docker.io/library/refs-ann:v2");
	/* the CLI too, and the listing */
	ck_assert_int_eq(it_cli(&D, out, sizeof(out), "import --name someone/refs-b:1 '%s'", dir),
	                 0);
	ck_assert_msg(strstr(out, "Loaded image: docker.io/someone/refs-b:1") != NULL, "%s", out);
	ck_assert_int_eq(it_cli(&D, out, sizeof(out), "images"), 0);
	ck_assert_msg(strstr(out, "docker.io/library/refs-a ") != NULL, "%s", out);
	ck_assert_msg(strstr(out, "docker.io/library/refs-ann ") != NULL, "%s", out);
	ck_assert_msg(strstr(out, "docker.io/someone/refs-b ") != NULL, "%s", out);
	ck_assert_msg(strstr(out, "refs-a:") == NULL && strstr(out, " refs-a ") == NULL, "%s", out);

	/* every spelling */
	status_is("refs-a", "docker.io/library/refs-a:latest");
	status_is("refs-a:latest", "docker.io/library/refs-a:latest");
	status_is("library/refs-a", "docker.io/library/refs-a:latest");
	status_is("docker.io/refs-a", "docker.io/library/refs-a:latest");
	status_is("index.docker.io/library/refs-a:latest", "docker.io/library/refs-a:latest");
	status_is("refs-ann:v2", "docker.io/library/refs-ann:v2");
	status_is("index.docker.io/someone/refs-b:1", "docker.io/someone/refs-b:1");
	/* by id: an id two refs share names the first of them */
	status_is(id, "docker.io/library/refs-a:latest");
	status_is(id + 7, "docker.io/library/refs-a:latest");
	snprintf(what, sizeof(what), "%.19s", id); /* sha256: + 12 */
	status_is(what, "docker.io/library/refs-a:latest");
	snprintf(what, sizeof(what), "%.12s", id2 + 7);
	status_is(what, "docker.io/library/refs-ann:v2");
	ck_assert_int_eq(it_cli(&D, out, sizeof(out), "inspecti %s", what), 0);
	ck_assert_msg(strstr(out, "docker.io/library/refs-ann:v2") != NULL, "%s", out);

	/* refused as what they are */
	status_fails("Refs-A", CRADLE_STATUS_INVALID_ARGUMENT,
	             "invalid reference \"Refs-A\": repository name must be lowercase");
	status_fails("refs-a:", CRADLE_STATUS_INVALID_ARGUMENT, "invalid tag");
	status_fails("refs-zz", CRADLE_STATUS_NOT_FOUND,
	             "image \"docker.io/library/refs-zz:latest\" not found");
	status_fails("sha256:xyz", CRADLE_STATUS_INVALID_ARGUMENT, "invalid image id");
	ck_assert_int_lt(cradle_image_import(D.conn, dir, "Refs-C", NULL, &err), 0);
	ck_assert_int_eq(err.code, CRADLE_STATUS_INVALID_ARGUMENT);
	ck_assert_msg(strstr(err.message, "repository name must be lowercase"), "%s", err.message);
	/* the CLI refuses with the same parse before it asks */
	ck_assert_int_ne(it_cli(&D, out, sizeof(out), "pull Busybox"), 0);
	ck_assert_msg(strstr(out, "invalid reference \"Busybox\": repository name must be "
	                          "lowercase") != NULL,
	              "%s", out);
	ck_assert_int_ne(it_cli(&D, out, sizeof(out), "import --name 'a//b' '%s'", dir), 0);
	ck_assert_msg(strstr(out, "invalid reference \"a//b\": invalid repository name: empty "
	                          "path component") != NULL,
	              "%s", out);

	/* rmi by short names: gone, in their canonical names */
	ck_assert_int_eq(it_cli(&D, out, sizeof(out), "rmi refs-a refs-ann:v2"), 0);
	ck_assert_msg(strstr(out, "Deleted: docker.io/library/refs-a:latest") != NULL, "%s", out);
	ck_assert_msg(strstr(out, "Deleted: docker.io/library/refs-ann:v2") != NULL, "%s", out);
	status_fails("docker.io/library/refs-a:latest", CRADLE_STATUS_NOT_FOUND, "not found");
	ck_assert_int_eq(it_cli(&D, out, sizeof(out), "rmi docker.io/someone/refs-b:1"), 0);
	ck_assert_uint_eq(count_images(), 1); /* the built-in */
}
END_TEST

/* Ids and prefixes: an ambiguous prefix is refused, saying how many images
 * match, and removes nothing; an unknown one is not found; a unique prefix
 * or the full id removes the image, under every ref it has. */
START_TEST(test_rmi_by_id_and_prefix)
{
	char dir1[512], dir2[512], id1[80], id2[80], ref[600], out[8192], what[128];
	struct cradle_error err;
	int k1, k2;

	it_start(&D, NULL);
	colliding_ks(&k1, &k2);
	make_variant(k1, "refs-p1", dir1, sizeof(dir1), id1, sizeof(id1));
	make_variant(k2, "refs-p2", dir2, sizeof(dir2), id2, sizeof(id2));
	ck_assert_msg(strncmp(id1, id2, 11) == 0 && strcmp(id1, id2) != 0, "%s %s", id1, id2);
	import_dir(dir1, NULL, ref, sizeof(ref));
	ck_assert_str_eq(ref, "docker.io/library/refs-p1:latest");
	import_dir(dir1, "example.com/refs/p1-again:x", ref, sizeof(ref));
	import_dir(dir2, NULL, ref, sizeof(ref));
	ck_assert_str_eq(ref, "docker.io/library/refs-p2:latest");
	ck_assert_uint_eq(count_images(), 4);

	/* ambiguous: 4 shared digits, with and without sha256: */
	snprintf(what, sizeof(what), "%.4s", id1 + 7);
	status_fails(what, CRADLE_STATUS_INVALID_ARGUMENT, "is ambiguous: 2 images match");
	snprintf(what, sizeof(what), "%.11s", id1);
	status_fails(what, CRADLE_STATUS_INVALID_ARGUMENT, "is ambiguous: 2 images match");
	ck_assert_int_lt(cradle_image_remove(D.conn, what, &err), 0);
	ck_assert_int_eq(err.code, CRADLE_STATUS_INVALID_ARGUMENT);
	ck_assert_int_ne(it_cli(&D, out, sizeof(out), "rmi %s", what), 0);
	ck_assert_msg(strstr(out, "ambiguous") != NULL, "%s", out);
	ck_assert_uint_eq(count_images(), 4);
	/* too short to be a prefix: a name, and none has it */
	snprintf(what, sizeof(what), "%.3s", id1 + 7);
	status_fails(what, CRADLE_STATUS_NOT_FOUND, "not found");
	/* unknown: no such image (the CLI says so; image.remove itself
	 * succeeds, as CRI's RemoveImage) */
	snprintf(what, sizeof(what), "sha256:%.4s", id1[7] == '0' ? "1111" : "0000");
	if (strncmp(what, id1, 11) != 0 && strncmp(what, id2, 11) != 0) {
		status_fails(what, CRADLE_STATUS_NOT_FOUND, "not found");
		ck_assert_int_ne(it_cli(&D, out, sizeof(out), "rmi %s", what), 0);
		ck_assert_msg(strstr(out, "not found") != NULL, "%s", out);
		ck_assert_int_eq(cradle_image_remove(D.conn, what, &err), 0);
	}
	ck_assert_uint_eq(count_images(), 4);

	/* a unique prefix: both refs of id1 go */
	size_t n = 5;
	while (strncmp(id1, id2, 7 + n) == 0)
		n++;
	snprintf(what, sizeof(what), "%.*s", (int)n, id1 + 7);
	ck_assert_int_eq(it_cli(&D, out, sizeof(out), "rmi %s", what), 0);
	ck_assert_msg(strstr(out, "Deleted: ") != NULL, "%s", out);
	status_fails("refs-p1", CRADLE_STATUS_NOT_FOUND, "not found");
	status_fails("example.com/refs/p1-again:x", CRADLE_STATUS_NOT_FOUND, "not found");
	status_is("refs-p2", "docker.io/library/refs-p2:latest");
	/* the full id */
	ck_assert_int_eq(it_cli(&D, out, sizeof(out), "rmi %s", id2), 0);
	ck_assert_msg(strstr(out, "Deleted: docker.io/library/refs-p2:latest") != NULL, "%s", out);
	ck_assert_uint_eq(count_images(), 1);
	/* the built-in's id is refused: pinned */
	struct cradle_image *img;
	ck_assert_int_eq(cradle_image_status(D.conn, "cradle.local/pause:built-in", &img, &err), 0);
	snprintf(what, sizeof(what), "%s", cradle_image_id(img));
	cradle_image_free(img);
	ck_assert_int_lt(cradle_image_remove(D.conn, what, &err), 0);
	ck_assert_int_eq(err.code, CRADLE_STATUS_FAILED_PRECONDITION);
	ck_assert_msg(strstr(err.message, "pinned") != NULL, "%s", err.message);
}
END_TEST

/* The sandbox image named short in the configuration is found under its
 * canonical record; --prune keeps it while a sandbox uses it and removes
 * the unused; -a refuses it in use and removes it once not. */
START_TEST(test_rmi_prune_and_all)
{
	char conf[512], dir1[512], dir2[512], id1[80], id2[80], ref[600], out[8192];
	char id[CRADLE_SANDBOX_ID_LEN + 1];
	struct cradle_error err;
	struct cradle_pod *pod;
	int32_t pid;

	snprintf(conf, sizeof(conf),
	         "[sandbox]\nimage = refs-sb\ncgroup_root = " IT_CGROUP_ROOT "\n");
	it_start_with(&D, NULL, conf);
	make_variant(3, "refs-sb", dir1, sizeof(dir1), id1, sizeof(id1));
	make_variant(4, "refs-unused:1", dir2, sizeof(dir2), id2, sizeof(id2));
	import_dir(dir1, NULL, ref, sizeof(ref));
	ck_assert_str_eq(ref, "docker.io/library/refs-sb:latest");
	import_dir(dir2, NULL, ref, sizeof(ref));
	ck_assert_uint_eq(count_images(), 2);
	/* no pull: the record of the canonical name is the image */
	pod = it_pod("refsprune", NULL);
	ck_assert_msg(cradle_sandbox_run(D.conn, pod, NULL, id, &pid, NULL, &err) == 0, "%s",
	              err.message);
	cradle_pod_free(pod);
	ck_assert_uint_eq(count_images(), 2);

	ck_assert_int_eq(it_cli(&D, out, sizeof(out), "rmi --prune"), 0);
	ck_assert_msg(strstr(out, "Deleted: docker.io/library/refs-unused:1") != NULL, "%s", out);
	ck_assert_msg(strstr(out, "refs-sb") == NULL, "%s", out);
	status_is("refs-sb", "docker.io/library/refs-sb:latest");
	ck_assert_uint_eq(count_images(), 1);
	/* nothing left to prune */
	ck_assert_int_eq(it_cli(&D, out, sizeof(out), "rmi --prune"), 0);
	ck_assert_msg(strstr(out, "no images to remove") != NULL, "%s", out);
	/* -a: the one in use is refused, and said so */
	ck_assert_int_ne(it_cli(&D, out, sizeof(out), "rmi -a"), 0);
	ck_assert_msg(strstr(out, "in use") != NULL, "%s", out);
	ck_assert_uint_eq(count_images(), 1);
	/* the sandbox gone (its use released under the canonical name), -a
	 * removes it */
	ck_assert_int_eq(cradle_sandbox_remove(D.conn, id, &err), 0);
	ck_assert_int_eq(it_cli(&D, out, sizeof(out), "rmi -a"), 0);
	ck_assert_msg(strstr(out, "Deleted: docker.io/library/refs-sb:latest") != NULL, "%s", out);
	ck_assert_uint_eq(count_images(), 0);
	ck_assert_int_ne(it_cli(&D, out, sizeof(out), "rmi"), 0);
}
END_TEST

/* -a skips the pinned built-in image (with a note) and removes the rest;
 * `images -q` prints each id once, `images` has no PINNED column unless
 * --pinned. */
START_TEST(test_all_skips_pinned_and_listing)
{
	char dir[512], id[80], ref[600], out[8192], builtin[80];
	struct cradle_image *img;
	struct cradle_error err;

	it_start(&D, NULL);
	make_variant(5, "refs-q", dir, sizeof(dir), id, sizeof(id));
	import_dir(dir, NULL, ref, sizeof(ref));
	import_dir(dir, "refs-q2", ref, sizeof(ref));
	ck_assert_int_eq(cradle_image_status(D.conn, "cradle.local/pause:built-in", &img, &err), 0);
	snprintf(builtin, sizeof(builtin), "%s", cradle_image_id(img));
	cradle_image_free(img);

	ck_assert_int_eq(it_cli(&D, out, sizeof(out), "images -q"), 0);
	char want[200];
	snprintf(want, sizeof(want), "%s\n%s\n", builtin,
	         id); /* by ref: cradle.local < docker.io */
	ck_assert_str_eq(out, want);
	ck_assert_int_eq(it_cli(&D, out, sizeof(out), "images"), 0);
	ck_assert_msg(strncmp(out, "IMAGE ", 6) == 0 && strstr(out, "PINNED") == NULL, "%s", out);
	snprintf(want, sizeof(want), " %.13s ", id + 7);
	ck_assert_msg(strstr(out, want) != NULL, "no %s in %s", want, out);
	ck_assert_int_eq(it_cli(&D, out, sizeof(out), "images --pinned --no-trunc"), 0);
	ck_assert_msg(strstr(out, "PINNED") != NULL && strstr(out, id) != NULL, "%s", out);

	ck_assert_int_eq(it_cli(&D, out, sizeof(out), "rmi -a"), 0);
	ck_assert_msg(strstr(out, "Deleted: docker.io/library/refs-q:latest") != NULL, "%s", out);
	ck_assert_msg(strstr(out, "Deleted: docker.io/library/refs-q2:latest") != NULL, "%s", out);
	ck_assert_msg(strstr(out, "skipped cradle.local/pause:built-in: pinned") != NULL, "%s",
	              out);
	ck_assert_uint_eq(count_images(), 1);
	status_is("cradle.local/pause:built-in", "cradle.local/pause:built-in");
}
END_TEST

static Suite *
image_refs_suite(void)
{
	Suite *s = suite_create("image_refs");
	TCase *tc = tcase_create("refs");

	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_set_timeout(tc, it_secs(120));
	tcase_add_test(tc, test_short_names_canonical);
	tcase_add_test(tc, test_rmi_by_id_and_prefix);
	tcase_add_test(tc, test_rmi_prune_and_all);
	tcase_add_test(tc, test_all_skips_pinned_and_listing);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	if (geteuid() != 0) {
		fprintf(stderr, "test_image_refs: needs root (starts cradled); CI runs as root\n");
		return 1;
	}
	return it_run_suite(image_refs_suite());
}
