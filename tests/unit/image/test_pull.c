/* test_pull.c - pulling images over the distribution API (image/pull.c).
 *
 * Needs Debian's docker-registry and skopeo (`make deps` installs both).
 *
 * The "registry" cases run against a real registry: a checked fixture
 * starts /usr/bin/docker-registry on 127.0.0.1 with a free port and a
 * filesystem store in the test's own directory (tests/unit/lib), waits
 * until GET /v2/ answers 200 and pushes the pause image (the build's
 * pause.oci.tar, `make build/pause.oci.tar`) with skopeo; teardown kills it
 * and removes the directory.  The
 * registry is started with fork + PR_SET_PDEATHSIG(SIGKILL) rather than
 * posix_spawn so that it dies with the test's process even when a failed
 * assertion or a timeout ends that process before teardown runs.
 *
 * The "fake" cases run against a tiny HTTP responder on a loopback socket
 * (a thread of the test) for what Debian's registry cannot do without a
 * token server: the bearer challenge and token fetch ("token" and
 * "access_token"), 401 after auth, a blob redirect, 5xx retries and an
 * image index resolved to this platform.
 *
 * The pause archive is found through $CRADLE_BUILD (tests/run.sh sets it;
 * default "build").
 */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <openssl/evp.h>

#include "image/content.h"
#include "image/images.h"
#include "image/oci.h"
#include "image/pull.h"
#include "proto/ref.h"
#include "tests/unit/lib/unit.h"
#include "util/store.h"

/* --- helpers ---------------------------------------------------------------- */

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
dump_file(const char *path)
{
	char line[512];
	FILE *f = fopen(path, "r");

	if (!f)
		return;
	while (fgets(line, sizeof(line), f))
		fprintf(stderr, "  | %s", line);
	fclose(f);
}

static void
sha256_hex(const void *data, size_t len, char out[DIGEST_LEN + 1])
{
	unsigned char md[32];
	unsigned int n = 0;

	EVP_Digest(data, len, md, &n, EVP_sha256(), NULL);
	memcpy(out, "sha256:", 7);
	for (unsigned i = 0; i < 32; i++)
		snprintf(out + 7 + 2 * i, 3, "%02x", md[i]);
}

/* sha256 of a file, independently of the content store */
static int
sha256_file(const char *path, char out[DIGEST_LEN + 1])
{
	unsigned char buf[65536], md[32];
	unsigned int n = 0;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	FILE *f = fopen(path, "rb");
	size_t got;

	if (!f || !ctx) {
		if (f)
			fclose(f);
		EVP_MD_CTX_free(ctx);
		return -1;
	}
	EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
	while ((got = fread(buf, 1, sizeof(buf), f)) > 0)
		EVP_DigestUpdate(ctx, buf, got);
	fclose(f);
	EVP_DigestFinal_ex(ctx, md, &n);
	EVP_MD_CTX_free(ctx);
	memcpy(out, "sha256:", 7);
	for (unsigned i = 0; i < 32; i++)
		snprintf(out + 7 + 2 * i, 3, "%02x", md[i]);
	return 0;
}

static int
free_port(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t sl = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), port;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &sl) != 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	port = ntohs(sa.sin_port);
	close(fd);
	return port;
}

static size_t
discard(char *p, size_t s, size_t n, void *a)
{
	(void)p;
	(void)a;
	return s * n;
}

static long
http_status(const char *url)
{
	CURL *h = curl_easy_init();
	long code = 0;

	if (!h)
		return 0;
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 1000L);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard);
	if (curl_easy_perform(h) == CURLE_OK)
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
	curl_easy_cleanup(h);
	return code;
}

/* A fresh content store at root = <test dir>/name. */
static struct content *
fresh_content(const char *name, char root[PATH_MAX])
{
	struct cradle_err err = { 0 };
	struct content *c = NULL;

	unit_path(root, PATH_MAX, name);
	ck_assert_msg(content_open(root, &c, &err) == 0, "content_open: %s", err.msg);
	return c;
}

/* Nothing is left half-written in the store at root. */
static void
assert_no_ingest(const char *root)
{
	char path[PATH_MAX + 32];

	UNIT_FMT(path, "%s/content/ingest", root);
	ck_assert_int_eq(unit_count_entries(path), 0);
}

/* --- the registry fixture --------------------------------------------------- */

static struct {
	char dir[PATH_MAX]; /* the test's own */
	char log[PATH_MAX + 16];
	pid_t pid;
	int port;
	char host[64];               /* 127.0.0.1:PORT */
	char digest[DIGEST_LEN + 1]; /* the pushed manifest's, from skopeo */
} reg;

static pid_t
start_registry(const char *yaml, const char *log)
{
	pid_t parent = getpid(), pid = fork();

	if (pid != 0)
		return pid;
	/* the registry must never outlive the test's process */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent)
		_exit(127);
	int fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (fd < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
		_exit(127);
	execlp("docker-registry", "docker-registry", "serve", yaml, (char *)NULL);
	_exit(127);
}

static void
stop_registry(void)
{
	int st;

	if (reg.pid <= 0)
		return;
	kill(reg.pid, SIGTERM);
	for (int i = 0; i < 200; i++) {
		if (waitpid(reg.pid, &st, WNOHANG) == reg.pid) {
			reg.pid = 0;
			return;
		}
		usleep(10000);
	}
	kill(reg.pid, SIGKILL);
	waitpid(reg.pid, &st, 0);
	reg.pid = 0;
}

static void
registry_setup(void)
{
	char yaml[PATH_MAX + 16], conf[PATH_MAX + 1024], url[128], dest[160], dfile[PATH_MAX + 16];
	char archive[PATH_MAX];
	bool up = false;
	int st, rc;

	memset(&reg, 0, sizeof(reg));
	unit_scratch_setup();
	UNIT_FMT(reg.dir, "%s", unit_test_dir());
	UNIT_FMT(reg.log, "%s/registry.log", reg.dir);
	UNIT_FMT(yaml, "%s/config.yml", reg.dir);
	ck_assert_msg(unit_build_path(archive, "pause.oci.tar") == 0, "no pause archive (above)");

	/* a free port can be taken between the probe and the registry's
	 * bind: try a few */
	for (int attempt = 0; attempt < 5 && !up; attempt++) {
		reg.port = free_port();
		ck_assert_int_gt(reg.port, 0);
		snprintf(reg.host, sizeof(reg.host), "127.0.0.1:%d", reg.port);
		snprintf(conf, sizeof(conf),
		         "version: 0.1\n"
		         "log:\n  level: warn\n  accesslog:\n    disabled: true\n"
		         "storage:\n  filesystem:\n    rootdirectory: %s/data\n"
		         "  delete:\n    enabled: true\n"
		         "http:\n  addr: %s\n  secret: cradle-test\n",
		         reg.dir, reg.host);
		unit_put_str(yaml, conf);
		reg.pid = start_registry(yaml, reg.log);
		ck_assert_int_gt(reg.pid, 0);
		snprintf(url, sizeof(url), "http://%s/v2/", reg.host);
		for (int i = 0; i < 300; i++) { /* 15 s */
			if (http_status(url) == 200) {
				up = true;
				break;
			}
			if (waitpid(reg.pid, &st, WNOHANG) == reg.pid) {
				reg.pid = 0;
				break;
			}
			usleep(50000);
		}
		if (!up)
			stop_registry();
	}
	if (!up)
		dump_file(reg.log);
	ck_assert_msg(up, "docker-registry did not answer on 127.0.0.1 (log above)");

	/* push the pause image */
	snprintf(dest, sizeof(dest), "docker://%s/pause:test", reg.host);
	UNIT_FMT(dfile, "%s/digest", reg.dir);
	rc = unit_sh("skopeo copy --quiet --dest-tls-verify=false --digestfile '%s' "
	             "'oci-archive:%s' '%s' >>'%s' 2>&1",
	             dfile, archive, dest, reg.log);
	if (rc != 0)
		dump_file(reg.log);
	ck_assert_msg(rc == 0, "skopeo copy to %s: exit %d (log above)", dest, rc);
	FILE *f = fopen(dfile, "r");
	ck_assert_ptr_nonnull(f);
	ck_assert_ptr_nonnull(fgets(reg.digest, sizeof(reg.digest), f));
	fclose(f);
	ck_assert_msg(strlen(reg.digest) == DIGEST_LEN, "digest file: \"%s\"", reg.digest);
}

static void
registry_teardown(void)
{
	stop_registry();
	unit_scratch_teardown();
}

/* --- progress recording ------------------------------------------------------ */

struct prog {
	unsigned calls;
	uint64_t last_done;
	int64_t last_total;
	bool went_back;
};

static void
on_progress(void *arg, uint64_t done, int64_t total)
{
	struct prog *p = arg;

	if (p->calls && done < p->last_done && total == p->last_total)
		p->went_back = true;
	p->calls++;
	p->last_done = done;
	p->last_total = total;
}

/* Every blob of img is in c and hashes to its name. */
static void
check_blobs(struct content *c, const struct oci_image *img)
{
	char path[PATH_MAX], got[DIGEST_LEN + 1];
	const char *d[64];
	size_t n = 0;

	d[n++] = img->manifest_digest;
	d[n++] = img->config_digest;
	for (size_t i = 0; i < img->n_layers && n < 64; i++)
		d[n++] = img->layers[i].digest;
	for (size_t i = 0; i < n; i++) {
		ck_assert_msg(content_has(c, d[i]), "%s not in the store", d[i]);
		ck_assert_int_eq(content_path(c, d[i], path, sizeof(path)), 0);
		ck_assert_int_eq(sha256_file(path, got), 0);
		ck_assert_str_eq(got, d[i]);
	}
}

/* --- registry tests ---------------------------------------------------------- */

START_TEST(test_pull_by_tag)
{
	struct pull_opts opts = { .insecure = reg.host, .timeout_ms = 20000 };
	struct cradle_err err = { 0 };
	struct oci_image img;
	struct prog pr = { 0 };
	char ref[128], root[PATH_MAX];
	struct content *c = fresh_content("store", root);
	int64_t sum;

	opts.progress = on_progress;
	opts.progress_arg = &pr;
	snprintf(ref, sizeof(ref), "%s/pause:test", reg.host);
	ck_assert_msg(pull_image(c, ref, &opts, &img, &err) == 0, "pull %s: %s", ref, err.msg);
	ck_assert_str_eq(img.manifest_digest, reg.digest);
	ck_assert_uint_ge(img.n_layers, 1);
	ck_assert_str_ne(img.config_digest, img.manifest_digest);
	check_blobs(c, &img);
	sum = 0;
	for (size_t i = 0; i < img.n_layers; i++)
		sum += img.layers[i].size;
	ck_assert_int_gt(img.size, sum); /* + manifest + config */
	ck_assert_uint_ge(pr.calls, 2);
	ck_assert_int_eq(pr.last_total, img.size);
	ck_assert_uint_eq(pr.last_done, (uint64_t)img.size);
	ck_assert(!pr.went_back);
	assert_no_ingest(root);
	oci_image_fini(&img);

	/* again: everything present, nothing fetched but the manifest */
	ck_assert_msg(pull_image(c, ref, &opts, &img, &err) == 0, "re-pull %s: %s", ref, err.msg);
	ck_assert_str_eq(img.manifest_digest, reg.digest);
	oci_image_fini(&img);
	content_close(c);
}
END_TEST

/* The sandbox image is pinned when images_ensure pulls it (the reference's
 * EnsureImageExists), or a pull names it pinned; a pinned image is never
 * removed, an unpinned one is (and its blobs go). */
START_TEST(test_sandbox_image_pinned)
{
	struct cradle_err err = { 0 };
	struct store *st = NULL;
	struct images *im = NULL;
	struct image_record rec;
	char root[PATH_MAX], ref[128], other[192], blob[PATH_MAX + 128];

	unit_path(root, sizeof(root), "pinned");
	ck_assert_msg(store_open(root, &st, &err) == 0, "%s", err.msg);
	struct images_cfg cfg = { .root = root, .store = st, .insecure = reg.host };
	ck_assert_msg(images_open(&cfg, &im, &err) == 0, "%s", err.msg);
	snprintf(ref, sizeof(ref), "%s/pause:test", reg.host);
	snprintf(other, sizeof(other), "%s/pause@%s", reg.host, reg.digest);

	/* missing: images_ensure pulls it, pinned */
	memset(&rec, 0, sizeof(rec));
	ck_assert_msg(images_ensure(im, ref, &rec, &err) == 0, "ensure %s: %s", ref, err.msg);
	ck_assert(rec.pinned);
	image_record_fini(&rec);
	ck_assert_int_eq(images_get(im, ref, &rec, &err), 0);
	ck_assert(rec.pinned);
	image_record_fini(&rec);

	/* an rmi is refused, naming it and why; it stays */
	ck_assert_int_lt(images_remove(im, ref, &err), 0);
	ck_assert_int_eq(err.code, CRADLE_FAILED_PRECONDITION);
	snprintf(blob, sizeof(blob), "image \"%s\" is pinned as the sandbox image", ref);
	ck_assert_msg(strstr(err.msg, blob) != NULL, "%s", err.msg);
	ck_assert_int_eq(images_get(im, ref, &rec, &err), 0);
	image_record_fini(&rec);

	/* another ref of the same image, pulled unpinned: removable, and the
	 * pinned one keeps every blob */
	memset(&rec, 0, sizeof(rec));
	ck_assert_msg(images_pull(im, other, false, NULL, NULL, &rec, &err) == 0, "%s", err.msg);
	ck_assert(!rec.pinned);
	snprintf(blob, sizeof(blob), "%s/content/blobs/sha256/%s", root, rec.layers[0] + 7);
	image_record_fini(&rec);
	ck_assert_msg(images_remove(im, other, &err) == 0, "rmi %s: %s", other, err.msg);
	ck_assert_int_lt(images_get(im, other, &rec, &err), 0);
	ck_assert_int_eq(err.code, CRADLE_NOT_FOUND);
	ck_assert_int_eq(access(blob, F_OK), 0);

	/* a pull that does not pin it (not the sandbox image any more): the
	 * record is unpinned, and an rmi takes it and its blobs */
	memset(&rec, 0, sizeof(rec));
	ck_assert_msg(images_pull(im, ref, false, NULL, NULL, &rec, &err) == 0, "%s", err.msg);
	ck_assert(!rec.pinned);
	image_record_fini(&rec);
	ck_assert_msg(images_remove(im, ref, &err) == 0, "rmi %s: %s", ref, err.msg);
	ck_assert_int_ne(access(blob, F_OK), 0);

	/* pulled pinned by name: pinned */
	memset(&rec, 0, sizeof(rec));
	ck_assert_msg(images_pull(im, ref, true, NULL, NULL, &rec, &err) == 0, "%s", err.msg);
	ck_assert(rec.pinned);
	image_record_fini(&rec);
	ck_assert_int_lt(images_remove(im, ref, &err), 0);
	ck_assert_int_eq(err.code, CRADLE_FAILED_PRECONDITION);
	images_close(im);
	store_close(st);
}
END_TEST

START_TEST(test_pull_by_digest)
{
	struct pull_opts opts = { .insecure = reg.host, .timeout_ms = 20000 };
	struct cradle_err err = { 0 };
	struct oci_image img;
	char ref[192], root[PATH_MAX];
	struct content *c = fresh_content("store", root);

	snprintf(ref, sizeof(ref), "%s/pause@%s", reg.host, reg.digest);
	ck_assert_msg(pull_image(c, ref, &opts, &img, &err) == 0, "pull %s: %s", ref, err.msg);
	ck_assert_str_eq(img.manifest_digest, reg.digest);
	check_blobs(c, &img);
	oci_image_fini(&img);

	/* tag and digest: the digest wins and is checked */
	snprintf(ref, sizeof(ref), "%s/pause:test@%s", reg.host, reg.digest);
	ck_assert_msg(pull_image(c, ref, &opts, &img, &err) == 0, "pull %s: %s", ref, err.msg);
	oci_image_fini(&img);

	/* a digest the registry does not have */
	snprintf(ref, sizeof(ref), "%s/pause@sha256:%064d", reg.host, 0);
	ck_assert_int_lt(pull_image(c, ref, &opts, &img, &err), 0);
	ck_assert_int_eq(err.code, CRADLE_NOT_FOUND);
	ck_assert_ptr_nonnull(strstr(err.msg, "manifest unknown"));
	content_close(c);
}
END_TEST

START_TEST(test_unknown_tag)
{
	struct pull_opts opts = { .insecure = reg.host, .timeout_ms = 20000 };
	struct cradle_err err = { 0 };
	struct oci_image img;
	char ref[128], root[PATH_MAX];
	struct content *c = fresh_content("store", root);

	snprintf(ref, sizeof(ref), "%s/pause:no-such-tag", reg.host);
	ck_assert_int_lt(pull_image(c, ref, &opts, &img, &err), 0);
	ck_assert_int_eq(err.code, CRADLE_NOT_FOUND);
	ck_assert_msg(strstr(err.msg, "manifest unknown") && strstr(err.msg, ref), "%s", err.msg);
	ck_assert_ptr_null(img.layers);
	content_close(c);
}
END_TEST

START_TEST(test_unknown_repo)
{
	struct pull_opts opts = { .insecure = reg.host, .timeout_ms = 20000 };
	struct cradle_err err = { 0 };
	struct oci_image img;
	char ref[128], root[PATH_MAX];
	struct content *c = fresh_content("store", root);

	snprintf(ref, sizeof(ref), "%s/no/such-repo:test", reg.host);
	ck_assert_int_lt(pull_image(c, ref, &opts, &img, &err), 0);
	ck_assert_int_eq(err.code, CRADLE_NOT_FOUND);
	ck_assert_msg(strstr(err.msg, "manifest unknown") && strstr(err.msg, ref), "%s", err.msg);
	content_close(c);
}
END_TEST

START_TEST(test_https_not_insecure)
{
	/* the registry speaks plain HTTP; without an insecure entry for it
	 * the pull uses https and fails in the TLS handshake, quickly */
	struct pull_opts opts = { .insecure = "example.com,127.0.0.1:1", .timeout_ms = 5000 };
	struct cradle_err err = { 0 };
	struct oci_image img;
	char ref[128], root[PATH_MAX];
	struct content *c = fresh_content("store", root);
	double t0 = now_s();

	snprintf(ref, sizeof(ref), "%s/pause:test", reg.host);
	ck_assert_int_lt(pull_image(c, ref, &opts, &img, &err), 0);
	ck_assert_double_lt(now_s() - t0, 5.0);
	ck_assert_int_eq(err.code, CRADLE_UNAVAILABLE);
	ck_assert_msg(strstr(err.msg, "https://") && strstr(err.msg, ref) &&
	                      (strstr(err.msg, "SSL") || strstr(err.msg, "TLS")),
	              "%s", err.msg);
	content_close(c);
}
END_TEST

/* Replace the registry's copy of blob digest: same length, other bytes
 * (flip) or the first half only (!flip). */
static void
corrupt_blob(const char *digest, bool flip)
{
	char path[PATH_MAX + 128];
	char *buf;
	size_t len;

	UNIT_FMT(path, "%s/data/docker/registry/v2/blobs/sha256/%.2s/%s/data", reg.dir, digest + 7,
	         digest + 7);
	buf = unit_slurp_ok(path, &len);
	ck_assert_uint_gt(len, 1);
	for (size_t i = 0; i < len; i++)
		buf[i] ^= 0x5a;
	unit_put_file(path, buf, flip ? len : len / 2, 0644);
	free(buf);
}

static void
check_corrupt(bool flip)
{
	struct pull_opts opts = { .insecure = reg.host, .timeout_ms = 20000 };
	struct cradle_err err = { 0 };
	struct oci_image img, img2;
	char ref[128], root[PATH_MAX], layer[DIGEST_LEN + 1];
	struct content *c = fresh_content("first", root);

	/* learn the layer's digest from a good pull */
	snprintf(ref, sizeof(ref), "%s/pause:test", reg.host);
	ck_assert_msg(pull_image(c, ref, &opts, &img, &err) == 0, "pull %s: %s", ref, err.msg);
	memcpy(layer, img.layers[img.n_layers - 1].digest, sizeof(layer));
	content_close(c);

	corrupt_blob(layer, flip);
	c = fresh_content("second", root);
	ck_assert_int_lt(pull_image(c, ref, &opts, &img2, &err), 0);
	ck_assert_int_eq(err.code, CRADLE_INVALID_ARGUMENT);
	ck_assert_msg(strstr(err.msg, layer) && strstr(err.msg, ref), "%s", err.msg);
	if (flip)
		ck_assert_msg(strstr(err.msg, "digest mismatch"), "%s", err.msg);
	else
		ck_assert_msg(strstr(err.msg, "mismatch"), "%s", err.msg);
	ck_assert(!content_has(c, layer));
	ck_assert(content_has(c, img.config_digest));
	assert_no_ingest(root);
	oci_image_fini(&img);
	content_close(c);
}

START_TEST(test_corrupt_blob)
{
	check_corrupt(true);
}
END_TEST

START_TEST(test_truncated_blob)
{
	check_corrupt(false);
}
END_TEST

/* --- a fake registry for auth, redirects, retries and indexes --------------- */

enum fake_mode {
	FAKE_TOKEN,        /* token server answers {"token"} */
	FAKE_ACCESS_TOKEN, /* ... {"access_token"} */
	FAKE_DENY,         /* the registry refuses every token */
	FAKE_BASIC,        /* Basic challenge, no token server */
	FAKE_5XX,          /* every registry request: 503 */
	FAKE_STALL,        /* the layer: a byte now and then, never all of it */
	FAKE_REDIR_FILE,   /* the config blob: redirected to ftp://.../etc/passwd?<signature> */
	FAKE_TOKEN_CREDS,  /* token server wants Basic FAKE_CREDS_B64, else 401 */
};

#define FAKE_CREDS_B64 "cHVsbGVyOnMzY3JldA==" /* puller:s3cret */

static struct fake {
	int fd, port;
	pthread_t th;
	atomic_bool stop;
	enum fake_mode mode;
	atomic_int layer_fails; /* 503s before the layer is served */
	atomic_int tokens, manifests, layers, v2_requests;
	char host[64];
	char config[256], manifest[1024], index[1024];
	unsigned char layer[4096];
	char config_d[DIGEST_LEN + 1], layer_d[DIGEST_LEN + 1], manifest_d[DIGEST_LEN + 1];
	char bad_query[256];          /* a token request without service/scope */
	atomic_int basic_to_registry; /* /v2/ requests with Basic creds (token modes) */
	atomic_int auth_to_storage;   /* redirected requests with any Authorization */
	atomic_int tokens_refused;    /* FAKE_TOKEN_CREDS: without the right creds */
} fk;

static void
send_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len > 0) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		p += n;
		len -= (size_t)n;
	}
}

static void
respond(int fd, int status, const char *extra, const char *ctype, const void *body, size_t len)
{
	char head[2048];
	int n = snprintf(
		head, sizeof(head),
		"HTTP/1.1 %d X\r\nConnection: close\r\nContent-Length: %zu\r\n%s%s%s%s\r\n", status,
		len, ctype ? "Content-Type: " : "", ctype ? ctype : "", ctype ? "\r\n" : "",
		extra ? extra : "");

	send_all(fd, head, (size_t)n);
	send_all(fd, body, len);
}

static void
respond_str(int fd, int status, const char *extra, const char *ctype, const char *s)
{
	respond(fd, status, extra, ctype, s, strlen(s));
}

static void
fake_handle(int fd)
{
	char req[8192], path[1024], extra[1024], blob[128];
	size_t got = 0;
	bool authed;

	while (got < sizeof(req) - 1) {
		ssize_t n = recv(fd, req + got, sizeof(req) - 1 - got, 0);
		if (n <= 0)
			return;
		got += (size_t)n;
		req[got] = '\0';
		if (strstr(req, "\r\n\r\n"))
			break;
	}
	if (sscanf(req, "GET %1023s HTTP/1.1", path) != 1) {
		respond_str(fd, 400, NULL, NULL, "");
		return;
	}
	authed = fk.mode != FAKE_DENY && strcasestr(req, "\nAuthorization: Bearer tok-123\r\n");
	bool basic = strcasestr(req, "\nAuthorization: Basic " FAKE_CREDS_B64 "\r\n") != NULL;
	if (fk.mode == FAKE_BASIC && basic)
		authed = true;
	if (fk.mode != FAKE_BASIC && basic && strncmp(path, "/v2/", 4) == 0)
		fk.basic_to_registry++;
	if (strncmp(path, "/storage/", 9) == 0 && strcasestr(req, "\nAuthorization:"))
		fk.auth_to_storage++;

	if (strncmp(path, "/token?", 7) == 0) {
		if (fk.mode == FAKE_TOKEN_CREDS && !basic) {
			fk.tokens_refused++;
			respond_str(fd, 401, "WWW-Authenticate: Basic realm=\"tok\"\r\n",
			            "application/json", "{}");
			return;
		}
		fk.tokens++;
		/* form encoding (curl_url's): a space as '+' or %20, hex in
		 * either case */
		if ((!strstr(path, "service=fake%20svc") && !strstr(path, "service=fake+svc")) ||
		    !strcasestr(path, "scope=repository%3Aauth%2Fimg%3Apull"))
			snprintf(fk.bad_query, sizeof(fk.bad_query), "%.200s", path);
		respond_str(fd, 200, NULL, "application/json",
		            fk.mode == FAKE_ACCESS_TOKEN
		                    ? "{\"access_token\":\"tok-123\",\"expires_in\":60}"
		                    : "{\"token\":\"tok-123\"}");
		return;
	}
	if (strcmp(path, "/storage/config") == 0) {
		respond_str(fd, 200, NULL, "application/octet-stream", fk.config);
		return;
	}
	if (strncmp(path, "/v2/", 4) != 0) {
		respond_str(fd, 404, NULL, NULL, "");
		return;
	}
	fk.v2_requests++;
	if (fk.mode == FAKE_5XX) {
		respond_str(fd, 503, NULL, "text/plain", "busy");
		return;
	}
	if (!authed) {
		if (fk.mode == FAKE_BASIC)
			snprintf(extra, sizeof(extra),
			         "WWW-Authenticate: Basic realm=\"fake\"\r\n");
		else
			snprintf(
				extra, sizeof(extra),
				"WWW-Authenticate: Bearer realm=\"http://%s/token\",service=\"fake svc\","
				"scope=\"repository:auth/img:pull\"\r\n",
				fk.host);
		respond_str(fd, 401, extra, "application/json",
		            "{\"errors\":[{\"code\":\"UNAUTHORIZED\",\"message\":\"authentication "
		            "required\",\"detail\":null}]}");
		return;
	}
	if (strcmp(path, "/v2/auth/img/manifests/v1") == 0 ||
	    (strncmp(path, "/v2/auth/img/manifests/", 23) == 0 &&
	     strcmp(path + 23, fk.manifest_d) == 0)) {
		fk.manifests++;
		snprintf(extra, sizeof(extra), "Docker-Content-Digest: %s\r\n", fk.manifest_d);
		respond_str(fd, 200, extra, "application/vnd.oci.image.manifest.v1+json",
		            fk.manifest);
		return;
	}
	if (strcmp(path, "/v2/auth/img/manifests/multi") == 0) {
		respond_str(fd, 200, NULL, "application/vnd.oci.image.index.v1+json; charset=utf-8",
		            fk.index);
		return;
	}
	snprintf(blob, sizeof(blob), "/v2/auth/img/blobs/%s", fk.config_d);
	if (strcmp(path, blob) == 0) {
		if (fk.mode == FAKE_REDIR_FILE)
			snprintf(extra, sizeof(extra),
			         "Location: ftp://%s/etc/passwd?X-Amz-Signature=s3cr3t\r\n",
			         fk.host);
		else if (fk.mode == FAKE_TOKEN_CREDS || fk.mode == FAKE_BASIC)
			/* another origin (same server): no credentials may follow */
			snprintf(extra, sizeof(extra),
			         "Location: http://localhost:%d/storage/config\r\n", fk.port);
		else
			snprintf(extra, sizeof(extra), "Location: http://%s/storage/config\r\n",
			         fk.host);
		respond_str(fd, 307, extra, "text/html", "<a>redirect</a>");
		return;
	}
	snprintf(blob, sizeof(blob), "/v2/auth/img/blobs/%s", fk.layer_d);
	if (strcmp(path, blob) == 0) {
		fk.layers++;
		if (fk.mode == FAKE_STALL) {
			/* the head and one byte every 100 ms: never stalled long
			 * enough for the per-request stall timeout */
			char head[256];
			int n = snprintf(head, sizeof(head),
			                 "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\n"
			                 "Content-Type: application/octet-stream\r\n\r\n",
			                 sizeof(fk.layer));
			send_all(fd, head, (size_t)n);
			for (size_t i = 0; i < sizeof(fk.layer) - 1 && !fk.stop; i++) {
				if (send(fd, &fk.layer[i], 1, MSG_NOSIGNAL) != 1)
					return;
				usleep(100 * 1000);
			}
			return;
		}
		if (fk.layer_fails > 0) {
			fk.layer_fails--;
			respond_str(fd, 502, NULL, "text/plain", "bad gateway");
			return;
		}
		respond(fd, 200, NULL, "application/octet-stream", fk.layer, sizeof(fk.layer));
		return;
	}
	respond_str(
		fd, 404, NULL, "application/json",
		"{\"errors\":[{\"code\":\"MANIFEST_UNKNOWN\",\"message\":\"manifest unknown\"}]}");
}

static void *
fake_main(void *arg)
{
	(void)arg;
	while (!fk.stop) {
		struct pollfd pfd = { .fd = fk.fd, .events = POLLIN };
		int cfd;

		if (poll(&pfd, 1, 50) <= 0)
			continue;
		cfd = accept4(fk.fd, NULL, NULL, SOCK_CLOEXEC);
		if (cfd < 0)
			continue;
		fake_handle(cfd);
		shutdown(cfd, SHUT_WR);
		close(cfd);
	}
	return NULL;
}

static void
fake_start(enum fake_mode mode)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t sl = sizeof(sa);
	char other[DIGEST_LEN + 1];

	memset(&fk, 0, sizeof(fk));
	fk.mode = mode;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fk.fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(fk.fd, 0);
	ck_assert_int_eq(bind(fk.fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(getsockname(fk.fd, (struct sockaddr *)&sa, &sl), 0);
	ck_assert_int_eq(listen(fk.fd, 16), 0);
	fk.port = ntohs(sa.sin_port);
	snprintf(fk.host, sizeof(fk.host), "127.0.0.1:%d", fk.port);

	/* the image: a config, one layer of arbitrary bytes, its manifest and
	 * an index naming it for this platform (after another platform) */
	snprintf(fk.config, sizeof(fk.config),
	         "{\"architecture\":\"%s\",\"os\":\"linux\",\"config\":{\"Cmd\":[\"/pause\"]},"
	         "\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[]}}",
	         oci_arch());
	sha256_hex(fk.config, strlen(fk.config), fk.config_d);
	for (size_t i = 0; i < sizeof(fk.layer); i++)
		fk.layer[i] = (unsigned char)(i * 7 + 3);
	sha256_hex(fk.layer, sizeof(fk.layer), fk.layer_d);
	snprintf(
		fk.manifest, sizeof(fk.manifest),
		"{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
		"\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\","
		"\"digest\":\"%s\",\"size\":%zu},"
		"\"layers\":[{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar\","
		"\"digest\":\"%s\",\"size\":%zu}]}",
		fk.config_d, strlen(fk.config), fk.layer_d, sizeof(fk.layer));
	sha256_hex(fk.manifest, strlen(fk.manifest), fk.manifest_d);
	sha256_hex("other", 5, other);
	snprintf(fk.index, sizeof(fk.index),
	         "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.index.v1+json\","
	         "\"manifests\":["
	         "{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"%s\","
	         "\"size\":100,\"platform\":{\"architecture\":\"%s\",\"os\":\"linux\"}},"
	         "{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"%s\","
	         "\"size\":%zu,\"platform\":{\"architecture\":\"%s\",\"os\":\"linux\"}}]}",
	         other, strcmp(oci_arch(), "s390x") == 0 ? "ppc64le" : "s390x", fk.manifest_d,
	         strlen(fk.manifest), oci_arch());
	ck_assert_int_eq(pthread_create(&fk.th, NULL, fake_main, NULL), 0);
}

static void
fake_stop(void)
{
	fk.stop = true;
	pthread_join(fk.th, NULL);
	close(fk.fd);
}

static long fake_deadline_ms; /* pull_opts.deadline_ms of pull_fake */
static const char *fake_auth; /* pull_opts.auth of pull_fake */

static void
pull_fake(const char *tag, enum fake_mode mode, int layer_fails, int *rc, struct cradle_err *err,
          struct oci_image *img, struct content **cp)
{
	/* "127.0.0.1" without a port: any port of that host is insecure */
	struct pull_opts opts = { .insecure = "example.com, 127.0.0.1",
		                  .timeout_ms = 5000,
		                  .deadline_ms = fake_deadline_ms,
		                  .auth = fake_auth };
	char ref[128], root[PATH_MAX], name[32];
	static int n;

	fake_start(mode);
	fk.layer_fails = layer_fails;
	snprintf(name, sizeof(name), "fake-%d", n++);
	*cp = fresh_content(name, root);
	snprintf(ref, sizeof(ref), "%s/auth/img%s", fk.host, tag);
	*rc = pull_image(*cp, ref, &opts, img, err);
	fake_stop();
	ck_assert_str_eq(fk.bad_query, "");
}

START_TEST(test_fake_bearer_auth)
{
	struct cradle_err err = { 0 };
	struct oci_image img;
	struct content *c;
	int rc;

	/* bearer token fetched once and reused; config redirected to
	 * storage; the layer answered 502 twice before it is served */
	pull_fake(":v1", FAKE_TOKEN, 2, &rc, &err, &img, &c);
	ck_assert_msg(rc == 0, "pull: %s", err.msg);
	ck_assert_int_eq(fk.tokens, 1);
	ck_assert_int_eq(fk.layers, 3);
	ck_assert_str_eq(img.manifest_digest, fk.manifest_d);
	ck_assert_str_eq(img.config_digest, fk.config_d);
	ck_assert_uint_eq(img.n_layers, 1);
	ck_assert_str_eq(img.layers[0].digest, fk.layer_d);
	ck_assert_int_eq(img.size,
	                 (int64_t)(strlen(fk.manifest) + strlen(fk.config) + sizeof(fk.layer)));
	check_blobs(c, &img);
	oci_image_fini(&img);
	content_close(c);

	pull_fake(":v1", FAKE_ACCESS_TOKEN, 0, &rc, &err, &img, &c);
	ck_assert_msg(rc == 0, "pull: %s", err.msg);
	ck_assert_int_eq(fk.tokens, 1);
	check_blobs(c, &img);
	oci_image_fini(&img);
	content_close(c);
}
END_TEST

START_TEST(test_fake_index)
{
	struct cradle_err err = { 0 };
	struct oci_image img;
	struct content *c;
	int rc;

	pull_fake(":multi", FAKE_TOKEN, 0, &rc, &err, &img, &c);
	ck_assert_msg(rc == 0, "pull: %s", err.msg);
	ck_assert_str_eq(img.manifest_digest, fk.manifest_d);
	ck_assert_int_eq(fk.manifests, 1);
	check_blobs(c, &img);
	oci_image_fini(&img);
	content_close(c);
}
END_TEST

/* Credentials: Basic to a Basic registry, Basic to the token realm only
 * (never to /v2/ nor through the redirect to storage), refusals naming
 * the host and never the secret. */
START_TEST(test_fake_credentials)
{
	struct cradle_err err = { 0 };
	struct oci_image img;
	struct content *c;
	int rc;

	/* token realm that wants credentials: none, then the right ones */
	fake_auth = NULL;
	pull_fake(":v1", FAKE_TOKEN_CREDS, 0, &rc, &err, &img, &c);
	ck_assert_int_lt(rc, 0);
	ck_assert_int_eq(err.code, CRADLE_PERMISSION_DENIED);
	ck_assert_msg(strstr(err.msg, "unauthorized: token server") && strstr(err.msg, "HTTP 401"),
	              "%s", err.msg);
	ck_assert_int_eq(fk.tokens_refused, 1);
	content_close(c);

	fake_auth = FAKE_CREDS_B64;
	pull_fake(":v1", FAKE_TOKEN_CREDS, 0, &rc, &err, &img, &c);
	ck_assert_msg(rc == 0, "pull: %s", err.msg);
	ck_assert_int_eq(fk.tokens, 1);
	ck_assert_int_eq(fk.tokens_refused, 0);
	ck_assert_int_eq(fk.basic_to_registry, 0);
	ck_assert_int_eq(fk.auth_to_storage, 0);
	oci_image_fini(&img);
	content_close(c);

	/* wrong ones: the token server refuses them, the message says whose */
	fake_auth = "cHVsbGVyOndyb25n"; /* puller:wrong */
	pull_fake(":v1", FAKE_TOKEN_CREDS, 0, &rc, &err, &img, &c);
	ck_assert_int_lt(rc, 0);
	ck_assert_msg(strstr(err.msg, "refused the credentials given with the pull"), "%s",
	              err.msg);
	ck_assert_ptr_null(strstr(err.msg, "wrong"));
	content_close(c);

	/* a Basic registry: the credentials after its challenge */
	fake_auth = FAKE_CREDS_B64;
	pull_fake(":v1", FAKE_BASIC, 0, &rc, &err, &img, &c);
	ck_assert_msg(rc == 0, "pull: %s", err.msg);
	ck_assert_int_eq(fk.tokens, 0);
	ck_assert_int_eq(fk.auth_to_storage, 0);
	oci_image_fini(&img);
	content_close(c);
	fake_auth = "cHVsbGVyOndyb25n";
	pull_fake(":v1", FAKE_BASIC, 0, &rc, &err, &img, &c);
	ck_assert_int_lt(rc, 0);
	ck_assert_int_eq(err.code, CRADLE_PERMISSION_DENIED);
	ck_assert_msg(strstr(err.msg, "/auth/img:v1: unauthorized: 127.0.0.1:") &&
	                      strstr(err.msg, "refused the credentials given with the pull"),
	              "%s", err.msg);
	content_close(c);
	fake_auth = NULL;
}
END_TEST

START_TEST(test_fake_unauthorized)
{
	struct cradle_err err = { 0 };
	struct oci_image img;
	struct content *c;
	int rc;

	/* a token that the registry refuses: 401 after auth */
	pull_fake(":v1", FAKE_DENY, 0, &rc, &err, &img, &c);
	ck_assert_int_lt(rc, 0);
	ck_assert_int_eq(err.code, CRADLE_PERMISSION_DENIED);
	ck_assert_msg(strstr(err.msg, "/auth/img:v1: unauthorized"), "%s", err.msg);
	ck_assert_int_eq(fk.tokens, 1);
	content_close(c);

	/* no bearer challenge: no token to get */
	pull_fake(":v1", FAKE_BASIC, 0, &rc, &err, &img, &c);
	ck_assert_int_lt(rc, 0);
	ck_assert_int_eq(err.code, CRADLE_PERMISSION_DENIED);
	ck_assert_msg(strstr(err.msg, "/auth/img:v1: unauthorized"), "%s", err.msg);
	ck_assert_int_eq(fk.tokens, 0);
	content_close(c);

	/* unknown tag behind auth */
	pull_fake(":nope", FAKE_TOKEN, 0, &rc, &err, &img, &c);
	ck_assert_int_lt(rc, 0);
	ck_assert_int_eq(err.code, CRADLE_NOT_FOUND);
	ck_assert_msg(strstr(err.msg, "manifest unknown"), "%s", err.msg);
	content_close(c);
}
END_TEST

START_TEST(test_fake_5xx_retries)
{
	struct cradle_err err = { 0 };
	struct oci_image img;
	struct content *c;
	double t0 = now_s(), dt;
	int rc;

	pull_fake(":v1", FAKE_5XX, 0, &rc, &err, &img, &c);
	dt = now_s() - t0;
	ck_assert_int_lt(rc, 0);
	ck_assert_int_eq(err.code, CRADLE_UNAVAILABLE);
	ck_assert_msg(strstr(err.msg, "HTTP 503"), "%s", err.msg);
	ck_assert_int_eq(fk.v2_requests, 4); /* 1 + 3 retries */
	ck_assert_double_ge(dt, 1.35);       /* 200 + 400 + 800 ms */
	ck_assert_double_lt(dt, 5.0);
	content_close(c);
}
END_TEST

/* Starts that need the same missing image share one pull; when it fails,
 * they all fail with its error at once, rather than each pulling again in
 * turn (so the last would wait as many times [registry] timeout). */
struct ensure_arg {
	struct images *im;
	const char *ref;
	int rc;
	struct cradle_err err;
};

static void *
ensure_thread(void *arg)
{
	struct ensure_arg *a = arg;
	struct image_record rec;

	memset(&rec, 0, sizeof(rec));
	a->rc = images_ensure(a->im, a->ref, &rec, &a->err);
	if (a->rc == 0)
		image_record_fini(&rec);
	return NULL;
}

START_TEST(test_shared_pull_fails_its_waiters)
{
	struct cradle_err err = { 0 };
	struct store *st = NULL;
	struct images *im = NULL;
	char root[PATH_MAX], ref[128];
	enum { N = 3 };
	struct ensure_arg a[N];
	pthread_t th[N];

	unit_path(root, sizeof(root), "shared");
	ck_assert_msg(store_open(root, &st, &err) == 0, "%s", err.msg);
	struct images_cfg cfg = { .root = root, .store = st, .insecure = "127.0.0.1" };
	ck_assert_msg(images_open(&cfg, &im, &err) == 0, "%s", err.msg);
	fake_start(FAKE_5XX);
	snprintf(ref, sizeof(ref), "%s/auth/img:v1", fk.host);
	for (int i = 0; i < N; i++) {
		a[i] = (struct ensure_arg){ .im = im, .ref = ref };
		ck_assert_int_eq(pthread_create(&th[i], NULL, ensure_thread, &a[i]), 0);
	}
	for (int i = 0; i < N; i++)
		pthread_join(th[i], NULL);
	fake_stop();
	for (int i = 0; i < N; i++) {
		ck_assert_int_lt(a[i].rc, 0);
		ck_assert_int_eq(a[i].err.code, CRADLE_UNAVAILABLE);
		ck_assert_msg(strstr(a[i].err.msg, "HTTP 503"), "%s", a[i].err.msg);
	}
	/* one pull: the first request and its 3 retries, not N times that */
	ck_assert_int_eq(fk.v2_requests, 4);
	images_close(im);
	store_close(st);
}
END_TEST

START_TEST(test_connection_refused)
{
	struct pull_opts opts = { .insecure = "127.0.0.1", .timeout_ms = 2000 };
	struct cradle_err err = { 0 };
	struct oci_image img;
	char ref[128], root[PATH_MAX];
	struct content *c = fresh_content("refused", root);
	int port = free_port();

	snprintf(ref, sizeof(ref), "127.0.0.1:%d/pause:1", port);
	ck_assert_int_lt(pull_image(c, ref, &opts, &img, &err), 0);
	ck_assert_int_eq(err.code, CRADLE_UNAVAILABLE);
	ck_assert_msg(strstr(err.msg, ref) && strstr(err.msg, "onnect"), "%s", err.msg);
	content_close(c);
}
END_TEST

/* A registry that never finishes a layer but never stalls either: the
 * pull's deadline ends it, naming what it was fetching. */
START_TEST(test_fake_deadline)
{
	struct cradle_err err = { 0 };
	struct oci_image img;
	struct content *c;
	int rc;

	fake_deadline_ms = 1000;
	pull_fake(":v1", FAKE_STALL, 0, &rc, &err, &img, &c);
	fake_deadline_ms = 0;
	ck_assert_int_lt(rc, 0);
	ck_assert_int_eq(err.code, CRADLE_UNAVAILABLE);
	ck_assert_msg(strstr(err.msg, "timed out after 1 s") &&
	                      strstr(err.msg, "[registry] timeout") && strstr(err.msg, "layer") &&
	                      strstr(err.msg, fk.layer_d),
	              "%s", err.msg);
	/* nothing of it committed */
	ck_assert(!content_has(c, fk.layer_d));
	content_close(c);
}
END_TEST

START_TEST(test_fake_redirect_to_file_refused)
{
	struct cradle_err err = { 0 };
	struct oci_image img;
	struct content *c;
	int rc;

	pull_fake(":v1", FAKE_REDIR_FILE, 0, &rc, &err, &img, &c);
	ck_assert_int_lt(rc, 0);
	ck_assert_int_eq(err.code, CRADLE_PERMISSION_DENIED);
	ck_assert_msg(strstr(err.msg, "/etc/passwd?...\"") &&
	                      strstr(err.msg, "not an http(s) URL") && strstr(err.msg, fk.config_d),
	              "%s", err.msg);
	/* a query may be a credential (a presigned URL's): never in a message */
	ck_assert_msg(strstr(err.msg, "s3cr3t") == NULL, "%s", err.msg);
	content_close(c);
}
END_TEST

/* --- HTTPS: what may not leave TLS (tls_registry.py) ------------------------ */

static struct {
	char dir[PATH_MAX];
	char cert[PATH_MAX + 16];
	pid_t pid;
	int port;
} tls;

static void
tls_setup(void)
{
	char key[PATH_MAX + 16];

	unit_scratch_setup();
	snprintf(tls.dir, sizeof(tls.dir), "%s", unit_test_dir());
	snprintf(tls.cert, sizeof(tls.cert), "%s/cert.pem", tls.dir);
	snprintf(key, sizeof(key), "%s/key.pem", tls.dir);
	ck_assert_int_eq(unit_sh("openssl req -x509 -newkey rsa:2048 -nodes -keyout '%s' -out '%s' "
	                         "-days 1 -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 "
	                         ">/dev/null 2>&1",
	                         key, tls.cert),
	                 0);
	tls.pid = 0;
}

/* tls_registry.py in mode with url; tls.port set once it listens. */
static void
tls_start(const char *mode, const char *url)
{
	char script[PATH_MAX], portfile[PATH_MAX + 16], key[PATH_MAX + 16];
	const char *src = getenv("CRADLE_SRC");
	pid_t parent = getpid();

	snprintf(script, sizeof(script), "%s/tests/unit/image/tls_registry.py", src ? src : ".");
	ck_assert_msg(access(script, R_OK) == 0, "%s: run from the source tree", script);
	snprintf(portfile, sizeof(portfile), "%s/port", tls.dir);
	snprintf(key, sizeof(key), "%s/key.pem", tls.dir);
	unlink(portfile);
	tls.pid = fork();
	ck_assert_int_ge(tls.pid, 0);
	if (tls.pid == 0) {
		if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent)
			_exit(127);
		execlp("python3", "python3", script, tls.cert, key, portfile, mode, url,
		       (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 500; i++) {
		FILE *f = fopen(portfile, "r");
		if (f != NULL) {
			int ok = fscanf(f, "%d", &tls.port);
			fclose(f);
			if (ok == 1)
				return;
		}
		usleep(20 * 1000);
	}
	ck_abort_msg("tls_registry.py did not come up");
}

static void
tls_teardown(void)
{
	if (tls.pid > 0) {
		kill(tls.pid, SIGKILL);
		waitpid(tls.pid, NULL, 0);
		tls.pid = 0;
	}
	unit_scratch_teardown();
}

static int
pull_tls(const char *insecure, struct content **cp, struct cradle_err *err)
{
	struct pull_opts opts = { .ca_file = tls.cert, .insecure = insecure, .timeout_ms = 5000 };
	char ref[128], root[PATH_MAX];
	struct oci_image img;
	static int n;
	char name[32];

	snprintf(name, sizeof(name), "tls-%d", n++);
	*cp = fresh_content(name, root);
	snprintf(ref, sizeof(ref), "127.0.0.1:%d/auth/img:v1", tls.port);
	int rc = pull_image(*cp, ref, &opts, &img, err);
	if (rc == 0)
		oci_image_fini(&img);
	return rc;
}

START_TEST(test_tls_redirect_to_http_refused)
{
	struct cradle_err err = { 0 };
	struct content *c;

	/* plain HTTP on the fake: a followed redirect would reach it */
	fake_start(FAKE_TOKEN);
	char url[128];
	snprintf(url, sizeof(url), "http://%s/v2/auth/img/manifests/v1", fk.host);
	tls_start("redirect", url);
	int rc = pull_tls(NULL, &c, &err);
	fake_stop();
	ck_assert_int_lt(rc, 0);
	ck_assert_int_eq(err.code, CRADLE_PERMISSION_DENIED);
	ck_assert_msg(strstr(err.msg, "from HTTPS to plain HTTP") && strstr(err.msg, url) &&
	                      strstr(err.msg, "manifest"),
	              "%s", err.msg);
	ck_assert_int_eq(fk.v2_requests, 0);
	content_close(c);
}
END_TEST

START_TEST(test_tls_realm_on_http_refused)
{
	struct cradle_err err = { 0 };
	struct content *c;
	char url[128];
	int rc;

	/* the token server on plain HTTP, under another host name than
	 * the registry's 127.0.0.1 */
	fake_start(FAKE_TOKEN);
	snprintf(url, sizeof(url), "http://localhost:%d/token", fk.port);
	tls_start("challenge", url);
	rc = pull_tls(NULL, &c, &err);
	ck_assert_int_lt(rc, 0);
	ck_assert_int_eq(err.code, CRADLE_PERMISSION_DENIED);
	ck_assert_msg(strstr(err.msg, "plain HTTP for an HTTPS registry") && strstr(err.msg, url),
	              "%s", err.msg);
	ck_assert_int_eq(fk.tokens, 0);
	content_close(c);

	/* unless the operator listed that host as plain HTTP: the token is
	 * fetched, and the registry answers the authorised request */
	rc = pull_tls("localhost", &c, &err);
	fake_stop();
	ck_assert_int_lt(rc, 0);
	ck_assert_int_eq(err.code, CRADLE_NOT_FOUND);
	ck_assert_msg(strstr(err.msg, "manifest unknown"), "%s", err.msg);
	ck_assert_int_eq(fk.tokens, 1);
	content_close(c);
}
END_TEST

/* --- references ------------------------------------------------------------- */

static void
ref_ok(const char *ref, const char *registry, const char *repo, const char *tag, const char *digest,
       const char *formatted)
{
	struct image_ref r;
	struct cradle_err err = { 0 };
	char buf[1024];

	ck_assert_msg(image_ref_parse(ref, &r, &err) == 0, "%s: %s", ref, err.msg);
	ck_assert_str_eq(r.registry, registry);
	ck_assert_str_eq(r.repository, repo);
	ck_assert_str_eq(r.tag, tag);
	ck_assert_str_eq(r.digest, digest);
	image_ref_format(&r, buf, sizeof(buf));
	ck_assert_str_eq(buf, formatted);
}

static void
ref_bad(const char *ref, const char *why)
{
	struct image_ref r;
	struct cradle_err err = { 0 };

	ck_assert_msg(image_ref_parse(ref, &r, &err) < 0, "\"%s\" accepted", ref);
	ck_assert_int_eq(err.code, CRADLE_INVALID_ARGUMENT);
	if (strlen(ref) < 64 && !strchr(ref, '\n')) /* a newline is shown escaped */
		ck_assert_msg(strstr(err.msg, ref), "\"%s\" not named in: %s", ref, err.msg);
	if (why)
		ck_assert_msg(strstr(err.msg, why), "%s: want \"%s\" in: %s", ref, why, err.msg);
}

#define D64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

START_TEST(test_ref_parse)
{
	char long_name[400], long_tag[200], long_fmt[300];

	ref_ok("pause", "registry-1.docker.io", "library/pause", "latest", "",
	       "registry-1.docker.io/library/pause:latest");
	ref_ok("pause:3.9", "registry-1.docker.io", "library/pause", "3.9", "",
	       "registry-1.docker.io/library/pause:3.9");
	ref_ok("docker.io/library/busybox:1.36", "registry-1.docker.io", "library/busybox", "1.36",
	       "", "registry-1.docker.io/library/busybox:1.36");
	ref_ok("index.docker.io/busybox", "registry-1.docker.io", "library/busybox", "latest", "",
	       "registry-1.docker.io/library/busybox:latest");
	ref_ok("someuser/some-app_x__y.z", "registry-1.docker.io", "someuser/some-app_x__y.z",
	       "latest", "", "registry-1.docker.io/someuser/some-app_x__y.z:latest");
	ref_ok("registry.k8s.io/pause:3.9", "registry.k8s.io", "pause", "3.9", "",
	       "registry.k8s.io/pause:3.9");
	ref_ok("127.0.0.1:5000/pause:3.9", "127.0.0.1:5000", "pause", "3.9", "",
	       "127.0.0.1:5000/pause:3.9");
	ref_ok("localhost/a/b/c", "localhost", "a/b/c", "latest", "", "localhost/a/b/c:latest");
	ref_ok("localhost:5000/a/b", "localhost:5000", "a/b", "latest", "",
	       "localhost:5000/a/b:latest");
	ref_ok("[::1]:5000/pause:1", "[::1]:5000", "pause", "1", "", "[::1]:5000/pause:1");
	ref_ok("Registry.Example.COM/x", "Registry.Example.COM", "x", "latest", "",
	       "Registry.Example.COM/x:latest");
	ref_ok("pause@sha256:" D64, "registry-1.docker.io", "library/pause", "", "sha256:" D64,
	       "registry-1.docker.io/library/pause@sha256:" D64);
	ref_ok("127.0.0.1:5000/pause@sha256:" D64, "127.0.0.1:5000", "pause", "", "sha256:" D64,
	       "127.0.0.1:5000/pause@sha256:" D64);
	ref_ok("quay.io/org/img:v1.2_rc-3@sha256:" D64, "quay.io", "org/img", "v1.2_rc-3",
	       "sha256:" D64, "quay.io/org/img:v1.2_rc-3@sha256:" D64);

	ref_bad("", "empty");
	ref_bad("Pause", "lowercase");
	ref_bad("docker.io/Library/pause", "lowercase");
	ref_bad("pause:", "tag");
	ref_bad("pause:-x", "tag");
	ref_bad("pause:a/b", NULL);
	ref_bad("pause@sha256:abc", "digest");
	ref_bad("pause@sha256:" D64 "00", "digest");
	ref_bad("pause@sha256:0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef",
	        "digest");
	ref_bad("pause@sha512:" D64 D64, "sha256");
	ref_bad("pause@", "digest");
	ref_bad("@sha256:" D64, "repository");
	ref_bad("pa use", "space");
	ref_bad("pause\n", NULL);
	ref_bad("a//b", "repository");
	ref_bad("a/b/", "repository");
	ref_bad("-pause", "repository");
	ref_bad("pause_", "repository");
	ref_bad("pau..se", "repository");
	ref_bad("pause$", "repository");
	ref_bad("127.0.0.1:5000/", "repository");
	ref_bad("host:99999/pause", "port");
	ref_bad("host:/pause", "port");
	ref_bad("host:50x/pause", "port");
	ref_bad("-bad-.example.com/pause", "host");
	ref_bad("bad_host.example.com/pause", "host");
	ref_bad("a@b@sha256:" D64, NULL);

	/* docker allows 128 characters (struct image_ref held 127 before the
	 * parser moved to proto/ref.c) */
	memset(long_tag, 'a', sizeof(long_tag));
	memcpy(long_tag, "pause:", 6);
	long_tag[6 + 129] = '\0';
	ref_bad(long_tag, "tag");
	long_tag[6 + 128] = '\0';
	snprintf(long_fmt, sizeof(long_fmt), "registry-1.docker.io/library/%s", long_tag);
	ref_ok(long_tag, "registry-1.docker.io", "library/pause", long_tag + 6, "", long_fmt);
	memset(long_name, 'a', sizeof(long_name));
	memcpy(long_name, "example.com/", 12);
	long_name[300] = '\0';
	ref_bad(long_name, "too long");
	long_name[12 + 250] = '\0'; /* repository fits, the whole name not */
	ref_bad(long_name, "255");
	long_name[12 + 243] = '\0';
	snprintf(long_fmt, sizeof(long_fmt), "%s:latest", long_name);
	ref_ok(long_name, "example.com", long_name + 12, "latest", "", long_fmt);
}
END_TEST

/* The pull's split is the shared parse's (proto/ref.c), exactly: the
 * registry the HTTP requests go to is its domain (docker.io's API host
 * for docker.io), the repository path its path; refusals say the same. */
START_TEST(test_ref_agrees)
{
	static const char *const refs[] = {
		"busybox",
		"busybox:1.36",
		"docker.io/x",
		"index.docker.io/x/y",
		"library/busybox@sha256:" D64,
		"localhost/a",
		"localhost:5000/a/b:v1",
		"127.0.0.1:5000/pause@sha256:" D64,
		"[::1]:5000/p:1",
		"Upper/x",
		"quay.io/org/img:v1@sha256:" D64,
		"cradle.local/pause:built-in",
		/* refused */
		"",
		"Busybox",
		"a//b",
		"busybox:",
		"busybox@sha256:abc",
		"host:0/x",
		"busybox@sha512:" D64 D64,
		D64,
	};

	for (size_t i = 0; i < sizeof(refs) / sizeof(refs[0]); i++) {
		struct cradle_err e1 = { 0 }, e2 = { 0 };
		struct image_ref ir;
		struct proto_ref pr;
		char canon[PROTO_REF_CANON_MAX + 1];
		int a = image_ref_parse(refs[i], &ir, &e1), b = proto_ref_parse(refs[i], &pr, &e2);

		ck_assert_msg(a == b, "%s: pull %d, proto %d", refs[i], a, b);
		if (a < 0) {
			ck_assert_str_eq(e1.msg, e2.msg);
			ck_assert_int_eq(e1.code, e2.code);
			continue;
		}
		ck_assert_str_eq(ir.registry, strcmp(pr.domain, "docker.io") == 0
		                                      ? "registry-1.docker.io"
		                                      : pr.domain);
		ck_assert_str_eq(ir.repository, pr.path);
		ck_assert_str_eq(ir.tag, pr.tag);
		ck_assert_str_eq(ir.digest, pr.digest);
		/* and the record's name is that parse's canonical form */
		ck_assert_int_eq(proto_ref_normalize(refs[i], canon, sizeof(canon), &e2), 0);
		ck_assert_ptr_nonnull(strstr(canon, ir.repository));
	}
}
END_TEST

/* --- main --------------------------------------------------------------------- */

static Suite *
pull_suite(void)
{
	Suite *s = suite_create("pull");

	unit_tcase(s, "ref", NULL, NULL, 0, UNIT_TESTS(test_ref_parse, test_ref_agrees));

	unit_tcase(s, "registry", registry_setup, registry_teardown, 120,
	           UNIT_TESTS(test_pull_by_tag, test_sandbox_image_pinned, test_pull_by_digest,
	                      test_unknown_tag, test_unknown_repo, test_https_not_insecure,
	                      test_corrupt_blob, test_truncated_blob));

	unit_tcase(s, "fake", unit_scratch_setup, unit_scratch_teardown, 60,
	           UNIT_TESTS(test_fake_bearer_auth, test_fake_index, test_fake_unauthorized,
	                      test_fake_credentials, test_fake_5xx_retries,
	                      test_shared_pull_fails_its_waiters, test_connection_refused,
	                      test_fake_deadline, test_fake_redirect_to_file_refused));

	unit_tcase(s, "tls", tls_setup, tls_teardown, 60,
	           UNIT_TESTS(test_tls_redirect_to_http_refused, test_tls_realm_on_http_refused));

	return s;
}

/* Everything here is on loopback: never through a proxy.  libcurl is
 * initialised once, before any test starts a thread. */
static int
curl_up(void)
{
	setenv("no_proxy", "127.0.0.1,localhost", 1);
	setenv("NO_PROXY", "127.0.0.1,localhost", 1);
	return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -1;
}

static int
curl_down(void)
{
	curl_global_cleanup();
	return 0;
}

int
main(void)
{
	return unit_run_with(pull_suite(), "test_pull", UNIT_SUBREAPER, curl_up, curl_down);
}
