/* content.c - the content store: blobs addressed by their sha256 digest.
 *
 * DESIGN
 *
 * Layout under <root>/content/ (every directory created 0700):
 *   blobs/sha256/<64 hex>   committed blobs, never modified in place
 *   ingest/ingest-XXXXXX    temp files of writers in progress
 *
 * A writer is a temp file made with mkostemp(O_CLOEXEC) in ingest/ and an
 * OpenSSL EVP sha256 context; every write goes to both.  Commit finishes
 * the hash, compares size and digest with what the caller expected, and
 * only then fsyncs the file, renames it to blobs/sha256/<hex> and fsyncs
 * blobs/sha256 so the name survives a crash too.  Any failure unlinks the
 * temp file, so a refused or aborted blob leaves nothing behind.
 *
 * Concurrency: struct content is read-only after content_open (two path
 * strings), and a writer belongs to one thread at a time, so there is no
 * lock.  Two writers of the same digest each rename their own temp file
 * over the same name: rename(2) is atomic and the bytes are identical, so
 * readers see one complete blob or the other, never a partial one.
 * ingest/ and blobs/sha256/ are on the same file system by construction,
 * so the rename never crosses devices.
 *
 * A daemon that crashed mid-write leaves temp files behind; content_open
 * removes ingest files whose mtime is more than an hour old (a live writer
 * touches its file on every write, and a writer open but silent for an hour
 * is broken anyway: its commit then fails with a clear error).
 *
 * content_read re-hashes what it reads: a blob damaged on disk is refused
 * (INTERNAL, naming the path and both digests), never handed to a parser.
 * The data it returns has a NUL after the last byte (not counted in len)
 * so JSON parsers can take it directly.
 */
#include "image/content.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "util/fs.h"

#define DIGEST_PREFIX "sha256:"
#define DIGEST_PREFIX_LEN 7
#define DIGEST_HEX_LEN 64
#define INGEST_PREFIX "ingest-"
#define INGEST_STALE_SEC 3600

struct content {
	char *blobs;  /* <root>/content/blobs/sha256 */
	char *ingest; /* <root>/content/ingest */
};

struct content_writer {
	struct content *c;
	int fd;
	char *tmp; /* path of the temp file */
	EVP_MD_CTX *md;
	uint64_t size;                 /* bytes written so far */
	int64_t expected_size;         /* < 0: unknown */
	char expected[DIGEST_LEN + 1]; /* "" when not given */
	int failed;                    /* a write failed: commit refuses */
};

/* ------------------------------------------------------------------ */
/* helpers                                                            */

bool
digest_valid(const char *digest)
{
	size_t i;

	if (digest == NULL || strncmp(digest, DIGEST_PREFIX, DIGEST_PREFIX_LEN) != 0) {
		return (false);
	}
	for (i = DIGEST_PREFIX_LEN; i < DIGEST_LEN; i++) {
		char ch = digest[i];

		if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f'))) {
			return (false);
		}
	}
	return (digest[DIGEST_LEN] == '\0');
}

/* A digest for a message: the string itself when short and printable,
 * else a marker, so a hostile string cannot flood or garble a message. */
static const char *
shown(const char *digest)
{
	size_t i;

	if (digest == NULL) {
		return ("(null)");
	}
	for (i = 0; digest[i] != '\0'; i++) {
		if (i > 128 || digest[i] < 0x20 || digest[i] > 0x7e || digest[i] == '"' ||
		    digest[i] == '\\') {
			return ("(unprintable or overlong string)");
		}
	}
	return (digest);
}

static void
to_hex(const unsigned char *md, unsigned int n, char *out)
{
	static const char hex[] = "0123456789abcdef";
	unsigned int i;

	for (i = 0; i < n; i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 0xf];
	}
	out[2 * n] = '\0';
}

/* A sha256 hash of n bytes into "sha256:<hex>".  0 or -EIO. */
static int
digest_format(const unsigned char *md, unsigned int n, char out[DIGEST_LEN + 1])
{
	if (n * 2 != DIGEST_HEX_LEN) {
		return (-EIO);
	}
	memcpy(out, DIGEST_PREFIX, DIGEST_PREFIX_LEN);
	to_hex(md, n, out + DIGEST_PREFIX_LEN);
	return (0);
}

/* Finish ctx into "sha256:<hex>".  0 or -EIO. */
static int
md_final(EVP_MD_CTX *ctx, char out[DIGEST_LEN + 1])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;

	if (EVP_DigestFinal_ex(ctx, md, &n) != 1) {
		return (-EIO);
	}
	return (digest_format(md, n, out));
}

int
digest_of(const void *data, size_t len, char out[DIGEST_LEN + 1])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;

	if (EVP_Digest(data, len, md, &n, EVP_sha256(), NULL) != 1) {
		return (-EIO);
	}
	return (digest_format(md, n, out));
}

static char *
blob_path(const struct content *c, const char *digest)
{
	char *p;

	if (asprintf(&p, "%s/%s", c->blobs, digest + DIGEST_PREFIX_LEN) < 0) {
		return (NULL);
	}
	return (p);
}

/* mkdir -p: components we create get 0700 (the last one) or 0755 (its
 * parents, which the daemon made 0700 already); existing ones are kept. */
static int
make_dir(const char *dir, struct cradle_err *err)
{
	int rc = fs_mkdir_p(dir, 0700);

	if (rc < 0) {
		return (cradle_err_errno(err, -rc,
		                         "failed to create content store directory \"%s\"", dir));
	}
	return (0);
}

/* fsync a directory so a rename or unlink in it is durable. */
static int
fsync_dir(const char *dir)
{
	int fd, rc = 0;

	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		return (-errno);
	}
	if (fsync(fd) != 0) {
		rc = -errno;
	}
	close(fd);
	return (rc);
}

static int
write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0) {
			if (errno == EINTR) {
				continue;
			}
			return (-errno);
		}
		p += n;
		len -= (size_t)n;
	}
	return (0);
}

/* Remove ingest files left by a crashed writer (see DESIGN). */
static void
clean_ingest(const char *dir)
{
	struct dirent *de;
	struct stat sb;
	time_t now = time(NULL);
	DIR *d;

	d = opendir(dir);
	if (d == NULL) {
		return;
	}
	while ((de = readdir(d)) != NULL) {
		if (strncmp(de->d_name, INGEST_PREFIX, sizeof(INGEST_PREFIX) - 1) != 0) {
			continue;
		}
		if (fstatat(dirfd(d), de->d_name, &sb, AT_SYMLINK_NOFOLLOW) != 0 ||
		    !S_ISREG(sb.st_mode)) {
			continue;
		}
		if (now - sb.st_mtime > INGEST_STALE_SEC) {
			(void)unlinkat(dirfd(d), de->d_name, 0);
		}
	}
	closedir(d);
}

/* ------------------------------------------------------------------ */
/* the store                                                          */

int
content_open(const char *root, struct content **out, struct cradle_err *err)
{
	struct content *c;
	char *base = NULL;
	int rc;

	*out = NULL;
	if (root == NULL || root[0] == '\0') {
		cradle_err_set(err, CRADLE_INVALID_ARGUMENT, "invalid content store root \"\"");
		return (-EINVAL);
	}
	c = calloc(1, sizeof(*c));
	if (c == NULL || asprintf(&base, "%s/content", root) < 0) {
		/* asprintf leaves its pointer undefined on failure */
		free(c);
		return (cradle_err_nomem(err));
	}
	if (asprintf(&c->blobs, "%s/blobs/sha256", base) < 0) {
		c->blobs = NULL;
	}
	if (asprintf(&c->ingest, "%s/ingest", base) < 0) {
		c->ingest = NULL;
	}
	if (c->blobs == NULL || c->ingest == NULL) {
		free(base);
		content_close(c);
		return (cradle_err_nomem(err));
	}
	free(base);
	if ((rc = make_dir(c->blobs, err)) < 0 || (rc = make_dir(c->ingest, err)) < 0) {
		content_close(c);
		return (rc);
	}
	clean_ingest(c->ingest);
	*out = c;
	return (0);
}

void
content_close(struct content *c)
{
	if (c == NULL) {
		return;
	}
	free(c->blobs);
	free(c->ingest);
	free(c);
}

/* ------------------------------------------------------------------ */
/* writers                                                            */

static void
writer_free(struct content_writer *w, bool unlink_tmp)
{
	if (w->fd >= 0) {
		close(w->fd);
	}
	if (unlink_tmp && w->tmp != NULL) {
		(void)unlink(w->tmp);
	}
	free(w->tmp);
	EVP_MD_CTX_free(w->md);
	free(w);
}

int
content_writer_open(struct content *c, const char *expected_digest, int64_t expected_size,
                    struct content_writer **out, struct cradle_err *err)
{
	struct content_writer *w;

	*out = NULL;
	if (expected_digest != NULL && !digest_valid(expected_digest)) {
		cradle_err_set(err, CRADLE_INVALID_ARGUMENT,
		               "invalid digest \"%s\": want \"sha256:\" and 64 "
		               "lower-case hex characters",
		               shown(expected_digest));
		return (-EINVAL);
	}
	w = calloc(1, sizeof(*w));
	if (w == NULL) {
		return (cradle_err_nomem(err));
	}
	w->c = c;
	w->fd = -1;
	w->expected_size = expected_size < 0 ? -1 : expected_size;
	if (expected_digest != NULL) {
		memcpy(w->expected, expected_digest, DIGEST_LEN + 1);
	}
	if (asprintf(&w->tmp, "%s/" INGEST_PREFIX "XXXXXX", c->ingest) < 0) {
		w->tmp = NULL;
		writer_free(w, false);
		return (cradle_err_nomem(err));
	}
	w->fd = mkostemp(w->tmp, O_CLOEXEC);
	if (w->fd < 0) {
		int e = errno;

		cradle_err_errno(err, e,
		                 "failed to create temp file \"%s\" "
		                 "for blob %s",
		                 w->tmp, expected_digest != NULL ? expected_digest : "(unknown)");
		writer_free(w, false);
		return (-e);
	}
	w->md = EVP_MD_CTX_new();
	if (w->md == NULL || EVP_DigestInit_ex(w->md, EVP_sha256(), NULL) != 1) {
		cradle_err_set(err, CRADLE_INTERNAL,
		               "failed to start sha256 "
		               "for temp file \"%s\"",
		               w->tmp);
		writer_free(w, true);
		return (-EIO);
	}
	*out = w;
	return (0);
}

int
content_writer_write(struct content_writer *w, const void *buf, size_t len, struct cradle_err *err)
{
	int rc;

	if (w->failed) {
		cradle_err_set(err, CRADLE_FAILED_PRECONDITION,
		               "temp file "
		               "\"%s\": an earlier write failed",
		               w->tmp);
		return (-EIO);
	}
	if (len == 0) {
		return (0);
	}
	/* Refuse as soon as the blob outgrows what was announced, rather
	 * than filling the disk with bytes the commit would throw away. */
	if (w->expected_size >= 0 && (uint64_t)w->expected_size - w->size < len) {
		w->failed = 1;
		cradle_err_set(err, CRADLE_INVALID_ARGUMENT,
		               "size mismatch "
		               "for blob %s: expected %" PRId64 " bytes, got more "
		               "(%" PRIu64 " so far)",
		               w->expected[0] != '\0' ? w->expected : "(unknown)", w->expected_size,
		               w->size + len);
		return (-EINVAL);
	}
	if (EVP_DigestUpdate(w->md, buf, len) != 1) {
		w->failed = 1;
		cradle_err_set(err, CRADLE_INTERNAL,
		               "failed to hash temp file "
		               "\"%s\"",
		               w->tmp);
		return (-EIO);
	}
	if ((rc = write_all(w->fd, buf, len)) < 0) {
		w->failed = 1;
		return (cradle_err_errno(err, -rc,
		                         "failed to write temp file "
		                         "\"%s\"",
		                         w->tmp));
	}
	w->size += len;
	return (0);
}

uint64_t
content_writer_size(const struct content_writer *w)
{
	return (w != NULL ? w->size : 0);
}

void
content_writer_abort(struct content_writer *w)
{
	if (w == NULL) {
		return;
	}
	writer_free(w, true);
}

int
content_writer_commit(struct content_writer *w, char digest_out[DIGEST_LEN + 1],
                      struct cradle_err *err)
{
	char got[DIGEST_LEN + 1];
	char *dst = NULL;
	int rc, e;

	if (digest_out != NULL) {
		digest_out[0] = '\0';
	}
	if (w->failed) {
		cradle_err_set(err, CRADLE_FAILED_PRECONDITION,
		               "cannot commit "
		               "blob %s from temp file \"%s\": an earlier write failed",
		               w->expected[0] != '\0' ? w->expected : "(unknown)", w->tmp);
		rc = -EIO;
		goto fail;
	}
	if (md_final(w->md, got) < 0) {
		cradle_err_set(err, CRADLE_INTERNAL,
		               "failed to finish sha256 "
		               "of temp file \"%s\"",
		               w->tmp);
		rc = -EIO;
		goto fail;
	}
	if (w->expected_size >= 0 && w->size != (uint64_t)w->expected_size) {
		cradle_err_set(err, CRADLE_INVALID_ARGUMENT,
		               "size mismatch "
		               "for blob %s: expected %" PRId64 " bytes, got %" PRIu64,
		               w->expected[0] != '\0' ? w->expected : got, w->expected_size,
		               w->size);
		rc = -EINVAL;
		goto fail;
	}
	if (w->expected[0] != '\0' && strcmp(w->expected, got) != 0) {
		cradle_err_set(err, CRADLE_INVALID_ARGUMENT,
		               "digest mismatch: "
		               "expected %s, got %s",
		               w->expected, got);
		rc = -EINVAL;
		goto fail;
	}
	if ((dst = blob_path(w->c, got)) == NULL) {
		rc = cradle_err_nomem(err);
		goto fail;
	}
	/* The data must be on disk before the name points at it: otherwise
	 * a crash could leave a blob of the right name and wrong bytes. */
	if (fsync(w->fd) != 0) {
		e = errno;
		rc = cradle_err_errno(err, e,
		                      "failed to sync temp file \"%s\" "
		                      "for blob %s",
		                      w->tmp, got);
		goto fail;
	}
	e = close(w->fd) != 0 ? errno : 0;
	w->fd = -1;
	if (e != 0 && e != EINTR) {
		rc = cradle_err_errno(err, e,
		                      "failed to close temp file \"%s\" "
		                      "for blob %s",
		                      w->tmp, got);
		goto fail;
	}
	if (rename(w->tmp, dst) != 0) {
		e = errno;
		rc = cradle_err_errno(err, e,
		                      "failed to move temp file \"%s\" "
		                      "to \"%s\" for blob %s",
		                      w->tmp, dst, got);
		goto fail;
	}
	if ((rc = fsync_dir(w->c->blobs)) < 0) {
		/* The blob is in place and correct; only its durability is
		 * in doubt.  Report it: the caller should not record an
		 * image on top of a name that may vanish. */
		cradle_err_errno(err, -rc,
		                 "failed to sync \"%s\" after "
		                 "adding blob %s",
		                 w->c->blobs, got);
		free(dst);
		writer_free(w, false);
		return (rc);
	}
	if (digest_out != NULL) {
		memcpy(digest_out, got, DIGEST_LEN + 1);
	}
	free(dst);
	writer_free(w, false);
	return (0);
fail:
	free(dst);
	writer_free(w, true);
	return (rc);
}

/* ------------------------------------------------------------------ */
/* blobs                                                              */

bool
content_has(struct content *c, const char *digest)
{
	struct stat sb;
	char *p;
	bool ok;

	if (!digest_valid(digest) || (p = blob_path(c, digest)) == NULL) {
		return (false);
	}
	ok = stat(p, &sb) == 0 && S_ISREG(sb.st_mode);
	free(p);
	return (ok);
}

/* 0, -EINVAL for a bad digest, -ENAMETOOLONG when buf is too small. */
int
content_path(struct content *c, const char *digest, char *buf, size_t len)
{
	int n;

	if (!digest_valid(digest)) {
		return (-EINVAL);
	}
	n = snprintf(buf, len, "%s/%s", c->blobs, digest + DIGEST_PREFIX_LEN);
	if (n < 0 || (size_t)n >= len) {
		if (len > 0) {
			buf[0] = '\0';
		}
		return (-ENAMETOOLONG);
	}
	return (0);
}

int
content_read(struct content *c, const char *digest, size_t max, char **data, size_t *len,
             struct cradle_err *err)
{
	char got[DIGEST_LEN + 1];
	struct stat sb;
	char *buf = NULL, *p = NULL;
	size_t n = 0;
	int fd = -1, rc, e;

	*data = NULL;
	*len = 0;
	if (!digest_valid(digest)) {
		cradle_err_set(err, CRADLE_INVALID_ARGUMENT,
		               "invalid digest \"%s\": want \"sha256:\" and 64 "
		               "lower-case hex characters",
		               shown(digest));
		return (-EINVAL);
	}
	if ((p = blob_path(c, digest)) == NULL) {
		return (cradle_err_nomem(err));
	}
	fd = open(p, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		e = errno;
		if (e == ENOENT) {
			cradle_err_set(err, CRADLE_NOT_FOUND,
			               "blob %s not "
			               "found in the content store (\"%s\")",
			               digest, p);
			rc = -ENOENT;
		} else {
			rc = cradle_err_errno(err, e,
			                      "failed to open blob %s "
			                      "(\"%s\")",
			                      digest, p);
		}
		goto out;
	}
	if (fstat(fd, &sb) != 0) {
		rc = cradle_err_errno(err, errno,
		                      "failed to stat blob %s "
		                      "(\"%s\")",
		                      digest, p);
		goto out;
	}
	if (!S_ISREG(sb.st_mode)) {
		cradle_err_set(err, CRADLE_INTERNAL,
		               "blob %s (\"%s\") is not "
		               "a regular file",
		               digest, p);
		rc = -EIO;
		goto out;
	}
	if ((uint64_t)sb.st_size > max) {
		cradle_err_set(err, CRADLE_INVALID_ARGUMENT,
		               "blob %s (\"%s\") "
		               "is %jd bytes, more than the limit of %zu",
		               digest, p, (intmax_t)sb.st_size, max);
		rc = -EFBIG;
		goto out;
	}
	/* One spare byte: the NUL, and a probe that catches a file that
	 * grew since fstat (nothing should write a blob, but a read must
	 * never run past max). */
	buf = malloc((size_t)sb.st_size + 1);
	if (buf == NULL) {
		rc = cradle_err_nomem(err);
		goto out;
	}
	for (;;) {
		size_t room = (size_t)sb.st_size + 1 - n;
		ssize_t nread;

		if (room == 0) {
			break;
		}
		nread = read(fd, buf + n, room);
		if (nread < 0) {
			if (errno == EINTR) {
				continue;
			}
			rc = cradle_err_errno(err, errno,
			                      "failed to read blob "
			                      "%s (\"%s\")",
			                      digest, p);
			goto out;
		}
		if (nread == 0) {
			break;
		}
		n += (size_t)nread;
	}
	if (n != (size_t)sb.st_size) {
		cradle_err_set(err, CRADLE_INTERNAL,
		               "blob %s (\"%s\") changed "
		               "size while being read (%jd bytes, then %zu%s)",
		               digest, p, (intmax_t)sb.st_size, n,
		               n > (size_t)sb.st_size ? " or more" : "");
		rc = -EIO;
		goto out;
	}
	if (digest_of(buf, n, got) < 0) {
		cradle_err_set(err, CRADLE_INTERNAL,
		               "failed to hash blob %s "
		               "(\"%s\")",
		               digest, p);
		rc = -EIO;
		goto out;
	}
	if (strcmp(got, digest) != 0) {
		cradle_err_set(err, CRADLE_INTERNAL,
		               "blob %s (\"%s\") is "
		               "corrupt: its content hashes to %s",
		               digest, p, got);
		rc = -EIO;
		goto out;
	}
	buf[n] = '\0';
	*data = buf;
	*len = n;
	buf = NULL;
	rc = 0;
out:
	if (fd >= 0) {
		close(fd);
	}
	free(buf);
	free(p);
	return (rc);
}

int
content_put(struct content *c, const void *data, size_t len, const char *expected_digest,
            char digest_out[DIGEST_LEN + 1], struct cradle_err *err)
{
	struct content_writer *w;
	int rc;

	if (digest_out != NULL) {
		digest_out[0] = '\0';
	}
	if (len > INT64_MAX) {
		cradle_err_set(err, CRADLE_INVALID_ARGUMENT,
		               "blob of %zu "
		               "bytes is too large",
		               len);
		return (-EFBIG);
	}
	if ((rc = content_writer_open(c, expected_digest, (int64_t)len, &w, err)) < 0) {
		return (rc);
	}
	if ((rc = content_writer_write(w, data, len, err)) < 0) {
		content_writer_abort(w);
		return (rc);
	}
	return (content_writer_commit(w, digest_out, err));
}

int
content_delete(struct content *c, const char *digest)
{
	char *p;
	int rc = 0;

	if (!digest_valid(digest)) {
		return (-EINVAL);
	}
	if ((p = blob_path(c, digest)) == NULL) {
		return (-ENOMEM);
	}
	if (unlink(p) != 0) {
		rc = errno == ENOENT ? 0 : -errno;
	}
	free(p);
	return (rc);
}

/* Is name, in blobs/sha256, a blob?  Then digest is its digest. */
static bool
blob_digest(const char *name, char digest[DIGEST_LEN + 1])
{
	if (strlen(name) != DIGEST_HEX_LEN) {
		return (false);
	}
	memcpy(digest, DIGEST_PREFIX, DIGEST_PREFIX_LEN);
	memcpy(digest + DIGEST_PREFIX_LEN, name, DIGEST_HEX_LEN + 1);
	return (digest_valid(digest));
}

static int
is_blob(const struct dirent *de)
{
	char digest[DIGEST_LEN + 1];

	return (blob_digest(de->d_name, digest));
}

static int
cmp_names(const struct dirent **a, const struct dirent **b)
{
	return (strcmp((*a)->d_name, (*b)->d_name));
}

/* Digests are collected and the directory closed before the first call,
 * in sorted order, so fn may delete blobs (garbage collection) or add
 * them.  fn returning non-zero stops the walk and is returned.  Names that
 * are not 64 lower-case hex (strays) are skipped.  Returns 0, fn's value,
 * or -errno when the directory cannot be read. */
int
content_walk(struct content *c, int (*fn)(const char *digest, void *arg), void *arg)
{
	char digest[DIGEST_LEN + 1];
	struct dirent **v;
	int n, i, rc = 0;

	n = scandir(c->blobs, &v, is_blob, cmp_names);
	if (n < 0) {
		return (-errno);
	}
	for (i = 0; i < n; i++) {
		if (rc == 0 && blob_digest(v[i]->d_name, digest)) {
			rc = fn(digest, arg);
		}
		free(v[i]);
	}
	free(v);
	return (rc);
}
