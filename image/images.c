/* images.c - the image service. */
#include "image/images.h"

#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "proto/ref.h"
#include "util/store.h"
#include "util/fs.h"
#include "util/log.h"
#include "image/config.h"
#include "image/content.h"
#include "image/oci.h"
#include "image/unpack.h"

/* One manifest some sandboxes use: its blobs (config and layers; the
 * snapshots of the layers) are kept while count > 0, whatever records
 * say. */
struct pin {
	char manifest[DIGEST_LEN + 1];
	char **digests; /* config, layers */
	size_t n;
	unsigned count;
	struct pin *next;
};

/* A manifest the uses of one ref pinned, and how many of them. */
struct entry_pin {
	char manifest[DIGEST_LEN + 1];
	unsigned count;
};

/* An image in use by sandboxes, or a pull in flight. */
struct entry {
	char ref[IMAGE_REF_MAX + 1];
	unsigned uses;
	unsigned waiters; /* starts waiting for this pull */
	bool pulling;
	unsigned pulls;   /* pulls finished, counted under the lock */
	bool pull_failed; /* the last one failed, with pull_err */
	struct cradle_err pull_err;
	struct entry_pin *pins; /* what its uses pinned */
	size_t n_pins;
	struct entry *next;
};

/* The [registry] settings one pull uses: images_set_registry replaces the
 * set whole while pulls run, and each pull holds the set it started with
 * (a reference) until it ends. */
struct registry {
	atomic_uint refs;
	char *ca_file, *insecure;
	char *config_path, *auth_file; /* per-host dirs, credentials; NULL: none */
	int pull_timeout;
};

struct images {
	char root[4096];
	char snapdir[4200];
	struct store *store;
	struct content *content;
	pthread_mutex_t reg_lock; /* guards the pointer reg */
	struct registry *reg;
	struct unpack_limits limits;
	atomic_bool cancel;     /* images_cancel: pulls stop, new ones fail */
	pthread_mutex_t lock;   /* guards entries, pins, serialises snapshot creation per digest */
	pthread_cond_t changed; /* a pull finished */
	unsigned ingests;       /* pulls and imports writing blobs now */
	struct entry *entries;
	struct pin *pins;
};

static struct entry *
entry_of(struct images *im, const char *ref, bool create)
{
	for (struct entry *e = im->entries; e; e = e->next)
		if (strcmp(e->ref, ref) == 0)
			return e;
	if (!create)
		return NULL;
	struct entry *e = calloc(1, sizeof(*e));
	if (e == NULL)
		return NULL;
	snprintf(e->ref, sizeof(e->ref), "%s", ref);
	e->next = im->entries;
	im->entries = e;
	return e;
}

static void pin_put(struct images *im, const char *manifest);

/* --- references: canonical (proto/ref.h) before they touch the store --- */

#define CANON_MAX (PROTO_REF_CANON_MAX + 1)
#define ID_PREFIX_MIN 4 /* hex digits of an image id prefix */

/* ref's canonical form in buf; ref itself when it does not parse (a name
 * an earlier version kept), for the calls that cannot fail. */
static const char *
canon_or_raw(const char *ref, char *buf)
{
	struct cradle_err e;

	if (ref == NULL || proto_ref_normalize(ref, buf, CANON_MAX, &e) < 0)
		return ref;
	return buf;
}

struct refs {
	char **digests;
	size_t n, cap;
};

static int refs_add(struct refs *r, const char *d);
static bool referenced(const struct refs *r, const char *d);
static void refs_free(struct refs *r);

/* The records whose image id (config digest) starts with hex. */
struct id_match {
	const char *hex;
	size_t n;
	struct refs ids;  /* distinct ids matched */
	struct refs keys; /* the records' refs */
};

static int
match_id(struct image_record *rec, void *arg)
{
	struct id_match *m = arg;

	if (strncmp(rec->config_digest, "sha256:", 7) != 0 ||
	    strncmp(rec->config_digest + 7, m->hex, m->n) != 0)
		return 0;
	if (!referenced(&m->ids, rec->config_digest) && refs_add(&m->ids, rec->config_digest) < 0)
		return -ENOMEM;
	return refs_add(&m->keys, rec->ref) < 0 ? -ENOMEM : 0;
}

/* What ref names, in containerd's LocalResolve order: "sha256:<hex>" is
 * an image id (or a prefix of one); anything else the record of its
 * canonical form, else, when it is hex (ID_PREFIX_MIN digits or more), the
 * image whose id starts with it.  keys gets the records' refs (every ref
 * of one image id).  NOT_FOUND when nothing matches, INVALID_ARGUMENT when
 * a prefix matches several images or ref is neither a reference nor an
 * id. */
static int
resolve(struct images *im, const char *ref, struct refs *keys, struct cradle_err *err)
{
	char canon[CANON_MAX];
	struct cradle_err perr, e;
	struct image_record rec;
	const char *hex = proto_ref_id_hex(ref);
	bool by_digest = ref != NULL && strncmp(ref, "sha256:", 7) == 0;
	int parsed = -1;

	memset(keys, 0, sizeof(*keys));
	memset(&perr, 0, sizeof(perr));
	if (!by_digest) {
		parsed = proto_ref_normalize(ref, canon, sizeof(canon), &perr);
		if (parsed == 0 && image_record_get(im->store, canon, &rec, &e) == 0) {
			image_record_fini(&rec);
			return refs_add(keys, canon) < 0 ? cradle_err_nomem(err) : 0;
		}
	}
	if (hex == NULL || strlen(hex) < ID_PREFIX_MIN) {
		if (parsed < 0) {
			if (by_digest)
				return cradle_err_set(
					err, CRADLE_INVALID_ARGUMENT,
					"invalid image id \"%.80s\": want sha256: and "
					"4 to 64 lower-case hex digits",
					ref);
			*err = perr;
			return -1;
		}
		return cradle_err_set(err, CRADLE_NOT_FOUND, "image \"%s\" not found", canon);
	}
	struct id_match m = { .hex = hex, .n = strlen(hex) };
	if (image_record_foreach(im->store, match_id, &m, err) < 0) {
		refs_free(&m.ids);
		refs_free(&m.keys);
		return -1;
	}
	size_t found = m.ids.n;
	refs_free(&m.ids);
	if (found == 1) {
		*keys = m.keys;
		return 0;
	}
	refs_free(&m.keys);
	if (found > 1)
		return cradle_err_set(err, CRADLE_INVALID_ARGUMENT,
		                      "image id prefix \"%s\" is ambiguous: %zu images match", ref,
		                      found);
	return cradle_err_set(err, CRADLE_NOT_FOUND, "image \"%s\" not found", ref);
}

static void
entry_drop_if_idle(struct images *im, struct entry *e)
{
	if (e->uses > 0 || e->pulling || e->waiters > 0)
		return;
	/* the last use is gone: so are all its pins (those releases without
	 * a manifest could not name) */
	for (size_t i = 0; i < e->n_pins; i++)
		while (e->pins[i].count > 0) {
			e->pins[i].count--;
			pin_put(im, e->pins[i].manifest);
		}
	for (struct entry **p = &im->entries; *p; p = &(*p)->next)
		if (*p == e) {
			*p = e->next;
			free(e->pins);
			free(e);
			return;
		}
}

/* --- pins (under im->lock) --- */

static struct pin *
pin_of(struct images *im, const char *manifest)
{
	for (struct pin *p = im->pins; p; p = p->next)
		if (strcmp(p->manifest, manifest) == 0)
			return p;
	return NULL;
}

static void
pin_free(struct pin *p)
{
	for (size_t i = 0; i < p->n; i++)
		free(p->digests[i]);
	free(p->digests);
	free(p);
}

/* One more use of manifest, whose config and layers are given (the first
 * use's list is kept: a manifest digest fixes them).  -1 when out of
 * memory. */
static int
pin_get(struct images *im, const char *manifest, const char *config, char *const *layers,
        size_t n_layers)
{
	struct pin *p = pin_of(im, manifest);

	if (p != NULL) {
		p->count++;
		return 0;
	}
	if ((p = calloc(1, sizeof(*p))) == NULL ||
	    (p->digests = calloc(n_layers + 1, sizeof(char *))) == NULL)
		goto oom;
	snprintf(p->manifest, sizeof(p->manifest), "%s", manifest);
	if (config != NULL && config[0] != '\0' && (p->digests[p->n++] = strdup(config)) == NULL)
		goto oom;
	for (size_t i = 0; i < n_layers; i++)
		if ((p->digests[p->n++] = strdup(layers[i])) == NULL)
			goto oom;
	p->count = 1;
	p->next = im->pins;
	im->pins = p;
	return 0;
oom:
	if (p != NULL)
		pin_free(p);
	return -1;
}

static void
pin_put(struct images *im, const char *manifest)
{
	for (struct pin **pp = &im->pins; *pp; pp = &(*pp)->next) {
		struct pin *p = *pp;
		if (strcmp(p->manifest, manifest) != 0)
			continue;
		if (--p->count == 0) {
			*pp = p->next;
			pin_free(p);
		}
		return;
	}
}

/* e's uses pinned manifest once more.  -1 when out of memory. */
static int
entry_pin_add(struct entry *e, const char *manifest)
{
	for (size_t i = 0; i < e->n_pins; i++)
		if (strcmp(e->pins[i].manifest, manifest) == 0) {
			e->pins[i].count++;
			return 0;
		}
	struct entry_pin *np = realloc(e->pins, (e->n_pins + 1) * sizeof(*np));
	if (np == NULL)
		return -1;
	e->pins = np;
	snprintf(np[e->n_pins].manifest, sizeof(np[e->n_pins].manifest), "%s", manifest);
	np[e->n_pins].count = 1;
	e->n_pins++;
	return 0;
}

/* Pin rec's blobs for one use of e.  -1 when out of memory. */
static int
pin_record(struct images *im, struct entry *e, const struct image_record *rec)
{
	if (pin_get(im, rec->manifest_digest, rec->config_digest, rec->layers, rec->n_layers) < 0)
		return -1;
	if (entry_pin_add(e, rec->manifest_digest) < 0) {
		pin_put(im, rec->manifest_digest);
		return -1;
	}
	return 0;
}

/* Make dir durable: with whole_fs, syncfs(2) of its file system (every
 * file of a freshly unpacked tree in one call); else fsync(2) of dir
 * itself (its entries: a rename into it).  0, or -1 with errno. */
static int
sync_dir(const char *dir, bool whole_fs)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int rc;

	if (fd < 0)
		return -1;
	rc = whole_fs ? syncfs(fd) : fsync(fd);
	int e = errno;
	close(fd);
	errno = e;
	return rc;
}

/* Temp dirs of unpacks a crash cut short ("<hex>.tmp-XXXXXX", see
 * ensure_snapshot): nothing uses them, nothing else would remove them. */
static void
sweep_tmp_snapshots(struct images *im)
{
	DIR *d = opendir(im->snapdir);
	struct dirent *de;
	char path[sizeof(im->snapdir) + 256 + 2];

	if (d == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (strstr(de->d_name, ".tmp-") == NULL)
			continue;
		snprintf(path, sizeof(path), "%s/%s", im->snapdir, de->d_name);
		int rc = fs_rmtree(path);
		if (rc < 0)
			log_warn("remove stale snapshot \"%s\": %s", path, strerror(-rc));
		else
			log_info("removed stale snapshot \"%s\"", path);
	}
	closedir(d);
}

static void
registry_put(struct registry *r)
{
	if (r == NULL || atomic_fetch_sub(&r->refs, 1) != 1)
		return;
	free(r->ca_file);
	free(r->insecure);
	free(r->config_path);
	free(r->auth_file);
	free(r);
}

static struct registry *
registry_new(const struct images_cfg *cfg)
{
	struct registry *r = calloc(1, sizeof(*r));

	if (r == NULL)
		return NULL;
	atomic_init(&r->refs, 1);
	r->ca_file = cfg->ca_file ? strdup(cfg->ca_file) : NULL;
	r->insecure = cfg->insecure ? strdup(cfg->insecure) : NULL;
	r->config_path = cfg->config_path ? strdup(cfg->config_path) : NULL;
	r->auth_file = cfg->auth_file ? strdup(cfg->auth_file) : NULL;
	r->pull_timeout = cfg->pull_timeout;
	if ((cfg->ca_file && !r->ca_file) || (cfg->insecure && !r->insecure) ||
	    (cfg->config_path && !r->config_path) || (cfg->auth_file && !r->auth_file)) {
		registry_put(r);
		return NULL;
	}
	return r;
}

/* The settings in effect, held until registry_put. */
static struct registry *
registry_get(struct images *im)
{
	pthread_mutex_lock(&im->reg_lock);
	struct registry *r = im->reg;
	atomic_fetch_add(&r->refs, 1);
	pthread_mutex_unlock(&im->reg_lock);
	return r;
}

int
images_set_registry(struct images *im, const struct images_cfg *cfg, struct cradle_err *err)
{
	struct registry *r = registry_new(cfg);

	if (r == NULL)
		return cradle_err_nomem(err);
	pthread_mutex_lock(&im->reg_lock);
	struct registry *old = im->reg;
	im->reg = r;
	pthread_mutex_unlock(&im->reg_lock);
	registry_put(old); /* freed by the last pull that holds it */
	return 0;
}

static int
collect_noncanon(struct image_record *rec, void *arg)
{
	char canon[CANON_MAX];
	struct cradle_err e;

	if (proto_ref_normalize(rec->ref, canon, sizeof(canon), &e) < 0) {
		log_warn("image \"%s\": %s; kept under that name (rmi takes its id)", rec->ref,
		         e.msg);
		return 0;
	}
	if (strcmp(canon, rec->ref) != 0 && refs_add(arg, rec->ref) < 0)
		return -ENOMEM;
	return 0;
}

/* Records an earlier version kept under a name as it was given
 * ("busybox") move to the canonical one ("docker.io/library/busybox:latest");
 * when that one exists too, it is kept and the other goes.  Failures are
 * logged: the record stays as it was. */
static void
canon_records(struct images *im)
{
	struct refs old = { 0 };
	struct cradle_err e;

	if (image_record_foreach(im->store, collect_noncanon, &old, &e) < 0) {
		log_warn("image records not made canonical: %s", e.msg);
		refs_free(&old);
		return;
	}
	for (size_t i = 0; i < old.n; i++) {
		struct image_record rec, have;
		char canon[CANON_MAX];

		if (image_record_get(im->store, old.digests[i], &rec, &e) < 0 ||
		    proto_ref_normalize(rec.ref, canon, sizeof(canon), &e) < 0) {
			log_warn("image \"%s\" not renamed: %s", old.digests[i], e.msg);
			image_record_fini(&rec);
			continue;
		}
		bool dup = image_record_get(im->store, canon, &have, &e) == 0;
		if (dup) {
			image_record_fini(&have);
		} else {
			snprintf(rec.ref, sizeof(rec.ref), "%s", canon);
			if (image_record_put(im->store, &rec, &e) < 0) {
				log_warn("image \"%s\" not renamed: %s", old.digests[i], e.msg);
				image_record_fini(&rec);
				continue;
			}
		}
		image_record_fini(&rec);
		if (image_record_del(im->store, old.digests[i], &e) < 0)
			log_warn("image \"%s\": renamed to \"%s\", but the old record stays: %s",
			         old.digests[i], canon, e.msg);
		else if (dup)
			log_info("image \"%s\" dropped: \"%s\" is recorded already", old.digests[i],
			         canon);
		else
			log_info("image \"%s\" is now recorded as \"%s\"", old.digests[i], canon);
	}
	refs_free(&old);
}

int
images_open(const struct images_cfg *cfg, struct images **out, struct cradle_err *err)
{
	struct images *im = calloc(1, sizeof(*im));
	int rc;

	if (im == NULL)
		return cradle_err_nomem(err);
	snprintf(im->root, sizeof(im->root), "%s", cfg->root);
	snprintf(im->snapdir, sizeof(im->snapdir), "%s/snapshots/sha256", cfg->root);
	im->store = cfg->store;
	im->limits.max_bytes = cfg->max_layer_bytes;
	im->limits.max_entries = cfg->max_layer_entries;
	im->limits.max_expansion = cfg->max_expansion;
	pthread_mutex_init(&im->lock, NULL);
	pthread_cond_init(&im->changed, NULL);
	pthread_mutex_init(&im->reg_lock, NULL);
	im->reg = registry_new(cfg);
	if (im->reg == NULL) {
		images_close(im);
		return cradle_err_nomem(err);
	}
	if ((rc = fs_mkdir_p(im->snapdir, 0700)) < 0) {
		cradle_err_errno(err, -rc, "create snapshot directory \"%s\"", im->snapdir);
		images_close(im);
		return -1;
	}
	if (content_open(cfg->root, &im->content, err) < 0) {
		images_close(im);
		return -1;
	}
	sweep_tmp_snapshots(im);
	canon_records(im);
	*out = im;
	return 0;
}

void
images_close(struct images *im)
{
	if (im == NULL)
		return;
	content_close(im->content);
	while (im->entries) {
		struct entry *e = im->entries;
		im->entries = e->next;
		free(e->pins);
		free(e);
	}
	while (im->pins) {
		struct pin *p = im->pins;
		im->pins = p->next;
		pin_free(p);
	}
	pthread_cond_destroy(&im->changed);
	pthread_mutex_destroy(&im->lock);
	registry_put(im->reg);
	pthread_mutex_destroy(&im->reg_lock);
	free(im);
}

int
images_get(struct images *im, const char *ref, struct image_record *out, struct cradle_err *err)
{
	struct refs keys;

	memset(out, 0, sizeof(*out));
	if (resolve(im, ref, &keys, err) < 0)
		return -1;
	/* an id several refs share: the first of them, in ref order */
	int rc = image_record_get(im->store, keys.digests[0], out, err);
	refs_free(&keys);
	return rc;
}

static int ensure_snapshot(struct images *im, const char *digest, struct cradle_err *err);
static int collect_refs(struct image_record *rec, void *arg);
static int collect_pins(struct images *im, struct refs *r);
static bool referenced(const struct refs *r, const char *d);
static void refs_free(struct refs *r);
static void snap_path(struct images *im, const char *digest, char *buf, size_t len);

/* Record what an import or a pull brought in; the config's labels ride
 * along for the spec builder. */
static int
record_image(struct images *im, const char *ref, const struct oci_image *img, bool pinned,
             struct image_record *out, struct cradle_err *err)
{
	struct image_record rec;
	char *cfg_json = NULL;
	size_t cfg_len = 0;

	memset(&rec, 0, sizeof(rec));
	snprintf(rec.ref, sizeof(rec.ref), "%s", ref);
	memcpy(rec.manifest_digest, img->manifest_digest, sizeof(rec.manifest_digest));
	memcpy(rec.config_digest, img->config_digest, sizeof(rec.config_digest));
	rec.size = img->size;
	rec.pinned = pinned;
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	rec.created_at = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
	rec.layers = calloc(img->n_layers ? img->n_layers : 1, sizeof(char *));
	if (rec.layers == NULL)
		return cradle_err_nomem(err);
	for (size_t i = 0; i < img->n_layers; i++) {
		if ((rec.layers[i] = strdup(img->layers[i].digest)) == NULL) {
			image_record_fini(&rec);
			return cradle_err_nomem(err);
		}
		rec.n_layers++;
	}
	/* labels from the config */
	if (content_read(im->content, rec.config_digest, IMAGE_FILE_MAX, &cfg_json, &cfg_len,
	                 err) == 0) {
		struct image_config ic;
		if (image_config_parse(cfg_json, cfg_len, rec.config_digest, &ic, err) == 0) {
			rec.labels = ic.labels;
			memset(&ic.labels, 0, sizeof(ic.labels));
			image_config_fini(&ic);
		}
		free(cfg_json);
	}
	if (image_record_put(im->store, &rec, err) < 0) {
		image_record_fini(&rec);
		return -1;
	}
	if (out != NULL)
		*out = rec;
	else
		image_record_fini(&rec);
	return 0;
}

/* Blobs of an image being pulled or imported belong to no record yet:
 * collection must wait until none is in flight. */
static void
ingest_begin(struct images *im)
{
	pthread_mutex_lock(&im->lock);
	im->ingests++;
	pthread_mutex_unlock(&im->lock);
}

static void
ingest_end(struct images *im)
{
	pthread_mutex_lock(&im->lock);
	im->ingests--;
	pthread_mutex_unlock(&im->lock);
}

/* Every layer unpacked (within the limits) before the image is recorded:
 * a layer refused here never gets a record. */
static int
unpack_all(struct images *im, const struct oci_image *img, struct cradle_err *err)
{
	for (size_t i = 0; i < img->n_layers; i++)
		if (ensure_snapshot(im, img->layers[i].digest, err) < 0)
			return -1;
	return 0;
}

static void
drop_if_unreferenced(struct images *im, const struct refs *r, const char *digest)
{
	char dir[4400];

	if (digest[0] == '\0' || referenced(r, digest))
		return;
	content_delete(im->content, digest);
	snap_path(im, digest, dir, sizeof(dir));
	fs_rmtree(dir);
}

/* An ingest of img failed after its blobs were stored: those no record
 * and no use references go (and their snapshots), unless another ingest
 * is in flight (its blobs belong to no record yet, and may be these). */
static void
ingest_fail(struct images *im, const struct oci_image *img)
{
	struct refs refs = { 0 };
	struct cradle_err e;

	pthread_mutex_lock(&im->lock);
	if (im->ingests == 1 && image_record_foreach(im->store, collect_refs, &refs, &e) == 0 &&
	    collect_pins(im, &refs) == 0) {
		drop_if_unreferenced(im, &refs, img->manifest_digest);
		drop_if_unreferenced(im, &refs, img->config_digest);
		for (size_t i = 0; i < img->n_layers; i++)
			drop_if_unreferenced(im, &refs, img->layers[i].digest);
	}
	im->ingests--;
	pthread_mutex_unlock(&im->lock);
	refs_free(&refs);
}

int
images_import(struct images *im, const char *path, const char *name, bool pinned,
              struct image_record *out, struct cradle_err *err)
{
	struct oci_import imp;

	memset(&imp, 0, sizeof(imp));
	ingest_begin(im);
	int rc = oci_import(im->content, path, name, &imp, err);
	if (rc < 0) {
		ingest_end(im);
	} else if (unpack_all(im, &imp.image, err) < 0 ||
	           record_image(im, imp.name, &imp.image, pinned, out, err) < 0) {
		ingest_fail(im, &imp.image);
		rc = -1;
	} else {
		ingest_end(im);
	}
	oci_image_fini(&imp.image);
	return rc;
}

int
images_pull(struct images *im, const char *ref, bool pinned,
            void (*progress)(void *arg, uint64_t done, int64_t total), void *arg,
            struct image_record *out, struct cradle_err *err)
{
	return images_pull_auth(im, ref, pinned, NULL, progress, arg, out, err);
}

int
images_pull_auth(struct images *im, const char *ref, bool pinned, const char *auth,
                 void (*progress)(void *arg, uint64_t done, int64_t total), void *arg,
                 struct image_record *out, struct cradle_err *err)
{
	struct oci_image img;
	struct registry *reg = registry_get(im);
	struct pull_opts opts = { .ca_file = reg->ca_file,
		                  .insecure = reg->insecure,
		                  .config_path = reg->config_path,
		                  .auth_file = reg->auth_file,
		                  .auth = auth,
		                  .deadline_ms = (long)reg->pull_timeout * 1000,
		                  .progress = progress,
		                  .progress_arg = arg,
		                  .cancel = &im->cancel };

	char canon[CANON_MAX];

	memset(&img, 0, sizeof(img));
	if (proto_ref_normalize(ref, canon, sizeof(canon), err) < 0) {
		registry_put(reg);
		return -1;
	}
	ref = canon;
	ingest_begin(im);
	int rc = pull_image(im->content, ref, &opts, &img, err);
	registry_put(reg);
	if (rc < 0) {
		ingest_end(im);
	} else if (unpack_all(im, &img, err) < 0 ||
	           record_image(im, ref, &img, pinned, out, err) < 0) {
		ingest_fail(im, &img);
		rc = -1;
	} else {
		ingest_end(im);
	}
	oci_image_fini(&img);
	return rc;
}

void
images_cancel(struct images *im)
{
	if (im != NULL)
		atomic_store(&im->cancel, true);
}

int
images_ensure(struct images *im, const char *ref, struct image_record *out, struct cradle_err *err)
{
	struct cradle_err e;
	char canon[CANON_MAX];

	if (proto_ref_normalize(ref, canon, sizeof(canon), err) < 0)
		return -1;
	ref = canon;
	for (;;) {
		if (image_record_get(im->store, ref, out, &e) == 0)
			return 0;
		if (e.code != CRADLE_NOT_FOUND) {
			*err = e;
			return -1;
		}
		pthread_mutex_lock(&im->lock);
		struct entry *en = entry_of(im, ref, true);
		if (en == NULL) {
			pthread_mutex_unlock(&im->lock);
			return cradle_err_nomem(err);
		}
		if (en->pulling) {
			/* someone else pulls it: wait, then look again (counted,
			 * so the puller does not free the entry under us).  A
			 * failed pull fails its waiters too, with its error: each
			 * trying again in turn would make the k-th wait k times
			 * [registry] timeout. */
			unsigned seen = en->pulls;
			en->waiters++;
			while (en->pulling)
				pthread_cond_wait(&im->changed, &im->lock);
			en->waiters--;
			bool failed = en->pulls != seen && en->pull_failed;
			if (failed)
				*err = en->pull_err;
			entry_drop_if_idle(im, en);
			pthread_mutex_unlock(&im->lock);
			if (image_record_get(im->store, ref, out, &e) == 0)
				return 0;
			if (failed)
				return -1;
			continue;
		}
		en->pulling = true;
		pthread_mutex_unlock(&im->lock);
		/* EnsureImageExists: the sandbox image, pinned */
		int rc = images_pull(im, ref, true, NULL, NULL, out, err);
		pthread_mutex_lock(&im->lock);
		en->pulling = false;
		en->pulls++;
		en->pull_failed = rc < 0;
		if (rc < 0)
			en->pull_err = *err;
		pthread_cond_broadcast(&im->changed);
		entry_drop_if_idle(im, en);
		pthread_mutex_unlock(&im->lock);
		return rc;
	}
}

/* <snapdir>/<hex> for a layer digest. */
static void
snap_path(struct images *im, const char *digest, char *buf, size_t len)
{
	snprintf(buf, len, "%s/%s", im->snapdir, digest + 7);
}

/* Unpack a layer once: into a temp dir, synced, renamed into place. */
static int
ensure_snapshot(struct images *im, const char *digest, struct cradle_err *err)
{
	char dir[4400], tmp[4420], blob[4400];
	struct stat st;

	snap_path(im, digest, dir, sizeof(dir));
	if (stat(dir, &st) == 0)
		return 0;
	if (content_path(im->content, digest, blob, sizeof(blob)) < 0 ||
	    !content_has(im->content, digest))
		return cradle_err_set(err, CRADLE_NOT_FOUND, "layer %s is not in the content store",
		                      digest);
	snprintf(tmp, sizeof(tmp), "%s.tmp-XXXXXX", dir);
	if (mkdtemp(tmp) == NULL)
		return cradle_err_errno(err, errno, "create snapshot \"%s\"", tmp);
	chmod(tmp, 0755);
	if (unpack_layer_limited(blob, digest, tmp, &im->limits, NULL, err) < 0) {
		fs_rmtree(tmp);
		return -1;
	}
	/* Complete only once on disk: a crash must not leave a snapshot
	 * under its final name with files the unpack never saw written.
	 * syncfs once for the whole tree (a layer is thousands of files);
	 * unpacks are rare, one per layer per node. */
	if (sync_dir(tmp, true) < 0) {
		int e = errno;
		fs_rmtree(tmp);
		return cradle_err_errno(err, e, "sync snapshot \"%s\"", tmp);
	}
	if (rename(tmp, dir) != 0) {
		int e = errno;
		fs_rmtree(tmp);
		/* another start unpacked it first: theirs is as good */
		if ((e == ENOTEMPTY || e == EEXIST) && stat(dir, &st) == 0)
			return 0;
		return cradle_err_errno(err, e, "commit snapshot \"%s\"", dir);
	}
	if (sync_dir(im->snapdir, false) < 0)
		return cradle_err_errno(err, errno, "sync snapshot directory \"%s\"", im->snapdir);
	return 0;
}

void
image_rootfs_fini(struct image_rootfs *r)
{
	for (size_t i = 0; i < r->n_layers; i++)
		free(r->layer_dirs[i]);
	free(r->layer_dirs);
	image_config_fini(&r->config);
	memset(r, 0, sizeof(*r));
}

/* A use of ref that pinned nothing ends. */
static void
use_end(struct images *im, const char *ref)
{
	pthread_mutex_lock(&im->lock);
	struct entry *en = entry_of(im, ref, false);
	if (en != NULL && en->uses > 0) {
		en->uses--;
		entry_drop_if_idle(im, en);
	}
	pthread_mutex_unlock(&im->lock);
}

int
images_use(struct images *im, const char *ref, struct image_rootfs *out, struct cradle_err *err)
{
	struct image_record rec, got;
	char *cfg_json = NULL;
	size_t cfg_len = 0;
	bool pinned = false;
	char canon[CANON_MAX];

	memset(out, 0, sizeof(*out));
	memset(&got, 0, sizeof(got));
	if (proto_ref_normalize(ref, canon, sizeof(canon), err) < 0)
		return -1;
	ref = canon;
	/* counted first, so an rmi between here and the unpack cannot take
	 * the layers away */
	pthread_mutex_lock(&im->lock);
	struct entry *en = entry_of(im, ref, true);
	if (en != NULL)
		en->uses++;
	pthread_mutex_unlock(&im->lock);
	if (en == NULL)
		return cradle_err_nomem(err);
	/* present, or pulled now (containerd's EnsureImageExists) */
	if (images_ensure(im, ref, &rec, err) < 0) {
		use_end(im, ref);
		return -1;
	}
	image_record_fini(&rec);
	/* What the sandbox gets is the record as it is now, pinned in the
	 * same hold of the lock that collection takes: an import that points
	 * ref elsewhere and an rmi of anything may come between, and must not
	 * take these blobs away. */
	pthread_mutex_lock(&im->lock);
	if (image_record_get(im->store, ref, &got, err) == 0) {
		if (pin_record(im, en, &got) == 0)
			pinned = true;
		else
			cradle_err_nomem(err);
	}
	pthread_mutex_unlock(&im->lock);
	if (!pinned) {
		image_record_fini(&got);
		use_end(im, ref);
		return -1;
	}
	memcpy(out->manifest_digest, got.manifest_digest, sizeof(out->manifest_digest));
	out->layer_dirs = calloc(got.n_layers ? got.n_layers : 1, sizeof(char *));
	if (out->layer_dirs == NULL)
		goto oom;
	for (size_t i = 0; i < got.n_layers; i++) {
		const char *d = got.layers[got.n_layers - 1 - i]; /* top first */
		char dir[4400];
		if (ensure_snapshot(im, d, err) < 0)
			goto fail;
		snap_path(im, d, dir, sizeof(dir));
		if ((out->layer_dirs[i] = strdup(dir)) == NULL)
			goto oom;
		out->n_layers++;
	}
	if (content_read(im->content, got.config_digest, IMAGE_FILE_MAX, &cfg_json, &cfg_len, err) <
	            0 ||
	    image_config_parse(cfg_json, cfg_len, got.config_digest, &out->config, err) < 0)
		goto fail;
	free(cfg_json);
	cfg_json = NULL;
	if (image_config_read_user_dbs(&out->config, (const char *const *)out->layer_dirs,
	                               out->n_layers, err) < 0)
		goto fail;
	image_record_fini(&got);
	return 0;
oom:
	cradle_err_nomem(err);
fail:
	free(cfg_json);
	image_rootfs_fini(out);
	images_release(im, ref, got.manifest_digest);
	image_record_fini(&got);
	return -1;
}

void
images_release(struct images *im, const char *ref, const char *manifest)
{
	char canon[CANON_MAX];

	ref = canon_or_raw(ref, canon);
	pthread_mutex_lock(&im->lock);
	struct entry *en = entry_of(im, ref, false);
	if (en != NULL && en->uses > 0) {
		bool exact = manifest != NULL && manifest[0] != '\0';
		struct entry_pin *which = NULL;
		size_t live = 0;
		unsigned pinned = 0;
		for (size_t i = 0; i < en->n_pins; i++) {
			if (en->pins[i].count == 0)
				continue;
			live++;
			pinned += en->pins[i].count;
			if (exact ? strcmp(en->pins[i].manifest, manifest) == 0 : which == NULL)
				which = &en->pins[i];
		}
		/* Without a manifest, only one that must be this use's is
		 * released here (every use pinned one, all the same);
		 * entry_drop_if_idle releases the rest with the last use. */
		if (which != NULL && (exact || (live == 1 && pinned == en->uses))) {
			which->count--;
			pin_put(im, which->manifest);
		}
		en->uses--;
		entry_drop_if_idle(im, en);
	}
	pthread_mutex_unlock(&im->lock);
}

void
images_unuse(struct images *im, const char *ref)
{
	images_release(im, ref, NULL);
}

bool
images_in_use(struct images *im, const char *ref)
{
	char canon[CANON_MAX];

	ref = canon_or_raw(ref, canon);
	pthread_mutex_lock(&im->lock);
	struct entry *en = entry_of(im, ref, false);
	bool used = en != NULL && en->uses > 0;
	pthread_mutex_unlock(&im->lock);
	return used;
}

struct find_manifest {
	const char *manifest;
	struct image_record *out;
	bool found;
};

static int
find_manifest(struct image_record *rec, void *arg)
{
	struct find_manifest *f = arg;
	if (f->found || strcmp(rec->manifest_digest, f->manifest) != 0)
		return 0;
	*f->out = *rec;
	memset(rec, 0, sizeof(*rec)); /* stolen */
	f->found = true;
	return 0;
}

/* The blobs of manifest: from a record that has it (ref's first), else
 * from the manifest blob.  0, or -1 when none knows them. */
static int
manifest_blobs(struct images *im, const char *ref, const char *manifest, struct image_record *out)
{
	struct cradle_err e;
	char *json = NULL;
	size_t len = 0;

	memset(out, 0, sizeof(*out));
	if (image_record_get(im->store, ref, out, &e) == 0) {
		if (strcmp(out->manifest_digest, manifest) == 0)
			return 0;
		image_record_fini(out);
	}
	struct find_manifest f = { manifest, out, false };
	if (image_record_foreach(im->store, find_manifest, &f, &e) == 0 && f.found)
		return 0;
	image_record_fini(out);
	if (content_read(im->content, manifest, IMAGE_FILE_MAX, &json, &len, &e) < 0)
		return -1;
	struct oci_image img;
	memset(&img, 0, sizeof(img));
	int rc = oci_parse_manifest(json, len, &img, &e);
	free(json);
	if (rc < 0)
		return -1;
	snprintf(out->manifest_digest, sizeof(out->manifest_digest), "%s", manifest);
	memcpy(out->config_digest, img.config_digest, sizeof(out->config_digest));
	out->layers = calloc(img.n_layers ? img.n_layers : 1, sizeof(char *));
	for (size_t i = 0; out->layers != NULL && i < img.n_layers; i++) {
		if ((out->layers[i] = strdup(img.layers[i].digest)) == NULL)
			break;
		out->n_layers++;
	}
	rc = out->layers != NULL && out->n_layers == img.n_layers ? 0 : -1;
	oci_image_fini(&img);
	if (rc < 0)
		image_record_fini(out);
	return rc;
}

void
images_hold(struct images *im, const char *ref, const char *manifest)
{
	struct image_record rec;
	struct cradle_err e;
	bool have;
	char canon[CANON_MAX];

	ref = canon_or_raw(ref, canon);
	pthread_mutex_lock(&im->lock);
	struct entry *en = entry_of(im, ref, true);
	if (en == NULL) {
		pthread_mutex_unlock(&im->lock);
		log_error("hold image \"%s\": out of memory", ref);
		return;
	}
	en->uses++;
	if (manifest != NULL && manifest[0] != '\0')
		have = manifest_blobs(im, ref, manifest, &rec) == 0;
	else
		have = image_record_get(im->store, ref, &rec, &e) == 0;
	if (!have) {
		/* counted all the same, so that its release finds it */
		log_warn("hold image \"%s\" (%s): its manifest is gone, nothing to pin", ref,
		         manifest && manifest[0] ? manifest : "no digest recorded");
		memset(&rec, 0, sizeof(rec));
		snprintf(rec.manifest_digest, sizeof(rec.manifest_digest), "%s",
		         manifest && manifest[0] ? manifest : "none");
	}
	if (pin_record(im, en, &rec) < 0)
		log_error("hold image \"%s\": out of memory: its blobs are not pinned", ref);
	image_record_fini(&rec);
	pthread_mutex_unlock(&im->lock);
}

static void
refs_free(struct refs *r)
{
	for (size_t i = 0; i < r->n; i++)
		free(r->digests[i]);
	free(r->digests);
	r->digests = NULL;
	r->n = r->cap = 0;
}

static int
refs_add(struct refs *r, const char *d)
{
	if (r->n == r->cap) {
		size_t nc = r->cap ? r->cap * 2 : 64;
		char **nd = realloc(r->digests, nc * sizeof(*nd));
		if (nd == NULL)
			return -1;
		r->digests = nd;
		r->cap = nc;
	}
	return (r->digests[r->n++] = strdup(d)) ? 0 : -1;
}

static int
collect_refs(struct image_record *rec, void *arg)
{
	struct refs *r = arg;
	if (refs_add(r, rec->manifest_digest) < 0 || refs_add(r, rec->config_digest) < 0)
		return -ENOMEM;
	for (size_t i = 0; i < rec->n_layers; i++)
		if (refs_add(r, rec->layers[i]) < 0)
			return -ENOMEM;
	return 0;
}

/* Everything sandboxes use, whatever the records say now. */
static int
collect_pins(struct images *im, struct refs *r)
{
	for (struct pin *p = im->pins; p; p = p->next) {
		if (refs_add(r, p->manifest) < 0)
			return -1;
		for (size_t i = 0; i < p->n; i++)
			if (refs_add(r, p->digests[i]) < 0)
				return -1;
	}
	return 0;
}

static bool
referenced(const struct refs *r, const char *d)
{
	for (size_t i = 0; i < r->n; i++)
		if (strcmp(r->digests[i], d) == 0)
			return true;
	return false;
}

struct gc {
	struct images *im;
	struct refs *refs;
};

static int
gc_blob(const char *digest, void *arg)
{
	struct gc *g = arg;
	if (!referenced(g->refs, digest)) {
		char dir[4400];
		content_delete(g->im->content, digest);
		snap_path(g->im, digest, dir, sizeof(dir));
		fs_rmtree(dir);
	}
	return 0;
}

/* May the record of ref go?  Not while a sandbox uses it or it is pinned. */
static int
removable(struct images *im, const char *ref, struct cradle_err *err)
{
	struct entry *en = entry_of(im, ref, false);
	if (en != NULL && (en->uses > 0 || en->pulling))
		return cradle_err_set(err, CRADLE_FAILED_PRECONDITION,
		                      "image \"%s\" is in use by a sandbox", ref);
	/* the sandbox image is pinned (pulled or imported as it): kept, as
	 * kubelet's image GC keeps a pinned image */
	struct image_record rec;
	struct cradle_err e;
	memset(&rec, 0, sizeof(rec));
	if (image_record_get(im->store, ref, &rec, &e) == 0) {
		bool pinned = rec.pinned;
		image_record_fini(&rec);
		if (pinned)
			return cradle_err_set(err, CRADLE_FAILED_PRECONDITION,
			                      "image \"%s\" is pinned as the sandbox image: "
			                      "it cannot be removed",
			                      ref);
	}
	return 0;
}

int
images_remove(struct images *im, const char *ref, struct cradle_err *err)
{
	struct refs refs = { 0 }, keys;
	int rc = 0;

	/* a reference, an image id or a prefix of one (every ref of that id
	 * goes); nothing by that name: done, as CRI's RemoveImage */
	if (resolve(im, ref, &keys, err) < 0)
		return err->code == CRADLE_NOT_FOUND ? 0 : -1;
	pthread_mutex_lock(&im->lock);
	for (size_t i = 0; i < keys.n; i++) {
		if (removable(im, keys.digests[i], err) < 0) {
			pthread_mutex_unlock(&im->lock);
			refs_free(&keys);
			return -1;
		}
	}
	/* the lock stays held: no use may start while blobs go */
	for (size_t i = 0; i < keys.n; i++) {
		if (image_record_del(im->store, keys.digests[i], err) < 0) {
			pthread_mutex_unlock(&im->lock);
			refs_free(&keys);
			return -1;
		}
	}
	refs_free(&keys);
	if (im->ingests > 0) {
		/* blobs in flight belong to no record yet: collect next time */
	} else if (image_record_foreach(im->store, collect_refs, &refs, err) < 0) {
		rc = -1;
	} else if (collect_pins(im, &refs) < 0) {
		rc = cradle_err_nomem(err);
	} else {
		struct gc g = { im, &refs };
		content_walk(im->content, gc_blob, &g);
	}
	pthread_mutex_unlock(&im->lock);
	refs_free(&refs);
	return rc;
}

struct list {
	struct image_record *v;
	size_t n, cap;
};

static int
list_add(struct image_record *rec, void *arg)
{
	struct list *l = arg;
	if (l->n == l->cap) {
		size_t nc = l->cap ? l->cap * 2 : 16;
		struct image_record *nv = realloc(l->v, nc * sizeof(*nv));
		if (nv == NULL)
			return -ENOMEM;
		l->v = nv;
		l->cap = nc;
	}
	l->v[l->n++] = *rec;
	memset(rec, 0, sizeof(*rec)); /* stolen */
	return 0;
}

int
images_list(struct images *im, struct image_record **out, size_t *n, struct cradle_err *err)
{
	struct list l = { 0 };
	if (image_record_foreach(im->store, list_add, &l, err) < 0) {
		images_records_free(l.v, l.n);
		return -1;
	}
	*out = l.v;
	*n = l.n;
	return 0;
}

void
images_records_free(struct image_record *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		image_record_fini(&v[i]);
	free(v);
}
