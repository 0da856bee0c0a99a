/* images.c - the image service. */
#include "image/images.h"

#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "util/store.h"
#include "util/fs.h"
#include "util/log.h"
#include "image/config.h"
#include "image/content.h"
#include "image/oci.h"
#include "image/unpack.h"

/* An image in use by sandboxes, or a pull in flight. */
struct entry {
	char ref[IMAGE_REF_MAX + 1];
	unsigned uses;
	unsigned waiters; /* starts waiting for this pull */
	bool pulling;
	struct entry *next;
};

struct images {
	char root[4096];
	char snapdir[4200];
	struct store *store;
	struct content *content;
	char *ca_file, *insecure;
	pthread_mutex_t lock;   /* guards entries, serialises snapshot creation per digest */
	pthread_cond_t changed; /* a pull finished */
	unsigned ingests;       /* pulls and imports writing blobs now */
	struct entry *entries;
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

static void
entry_drop_if_idle(struct images *im, struct entry *e)
{
	if (e->uses > 0 || e->pulling || e->waiters > 0)
		return;
	for (struct entry **p = &im->entries; *p; p = &(*p)->next)
		if (*p == e) {
			*p = e->next;
			free(e);
			return;
		}
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
	im->ca_file = cfg->ca_file ? strdup(cfg->ca_file) : NULL;
	im->insecure = cfg->insecure ? strdup(cfg->insecure) : NULL;
	pthread_mutex_init(&im->lock, NULL);
	pthread_cond_init(&im->changed, NULL);
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
		free(e);
	}
	pthread_cond_destroy(&im->changed);
	pthread_mutex_destroy(&im->lock);
	free(im->ca_file);
	free(im->insecure);
	free(im);
}

int
images_get(struct images *im, const char *ref, struct image_record *out, struct cradle_err *err)
{
	return image_record_get(im->store, ref, out, err);
}

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

int
images_import(struct images *im, const char *path, const char *name, bool pinned,
              struct image_record *out, struct cradle_err *err)
{
	struct oci_import imp;

	memset(&imp, 0, sizeof(imp));
	ingest_begin(im);
	int rc = oci_import(im->content, path, name, &imp, err);
	if (rc == 0)
		rc = record_image(im, imp.name, &imp.image, pinned, out, err);
	ingest_end(im);
	oci_image_fini(&imp.image);
	return rc;
}

int
images_pull(struct images *im, const char *ref,
            void (*progress)(void *arg, uint64_t done, int64_t total), void *arg,
            struct image_record *out, struct cradle_err *err)
{
	struct oci_image img;
	struct pull_opts opts = { .ca_file = im->ca_file,
		                  .insecure = im->insecure,
		                  .progress = progress,
		                  .progress_arg = arg };

	memset(&img, 0, sizeof(img));
	ingest_begin(im);
	int rc = pull_image(im->content, ref, &opts, &img, err);
	if (rc == 0)
		rc = record_image(im, ref, &img, false, out, err);
	ingest_end(im);
	oci_image_fini(&img);
	return rc;
}

int
images_ensure(struct images *im, const char *ref, struct image_record *out, struct cradle_err *err)
{
	struct cradle_err e;

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
			 * so the puller does not free the entry under us) */
			en->waiters++;
			while (en->pulling)
				pthread_cond_wait(&im->changed, &im->lock);
			en->waiters--;
			entry_drop_if_idle(im, en);
			pthread_mutex_unlock(&im->lock);
			if (image_record_get(im->store, ref, out, &e) == 0)
				return 0;
			/* that pull failed: try ourselves */
			continue;
		}
		en->pulling = true;
		pthread_mutex_unlock(&im->lock);
		int rc = images_pull(im, ref, NULL, NULL, out, err);
		pthread_mutex_lock(&im->lock);
		en->pulling = false;
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
	if (unpack_layer(blob, tmp, NULL, err) < 0) {
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

int
images_use(struct images *im, const char *ref, struct image_rootfs *out, struct cradle_err *err)
{
	struct image_record rec;
	char *cfg_json = NULL;
	size_t cfg_len = 0;

	memset(out, 0, sizeof(*out));
	/* counted first, so an rmi between here and the unpack cannot take
	 * the layers away */
	pthread_mutex_lock(&im->lock);
	struct entry *en = entry_of(im, ref, true);
	if (en != NULL)
		en->uses++;
	pthread_mutex_unlock(&im->lock);
	if (en == NULL)
		return cradle_err_nomem(err);
	/* present, or pulled now (containerd's EnsureImageExists); one read of the record
	 * either way */
	if (images_ensure(im, ref, &rec, err) < 0) {
		images_unuse(im, ref);
		return -1;
	}
	out->layer_dirs = calloc(rec.n_layers ? rec.n_layers : 1, sizeof(char *));
	if (out->layer_dirs == NULL)
		goto oom;
	for (size_t i = 0; i < rec.n_layers; i++) {
		const char *d = rec.layers[rec.n_layers - 1 - i]; /* top first */
		char dir[4400];
		if (ensure_snapshot(im, d, err) < 0)
			goto fail;
		snap_path(im, d, dir, sizeof(dir));
		if ((out->layer_dirs[i] = strdup(dir)) == NULL)
			goto oom;
		out->n_layers++;
	}
	if (content_read(im->content, rec.config_digest, IMAGE_FILE_MAX, &cfg_json, &cfg_len, err) <
	            0 ||
	    image_config_parse(cfg_json, cfg_len, rec.config_digest, &out->config, err) < 0)
		goto fail;
	free(cfg_json);
	cfg_json = NULL;
	if (image_config_read_user_dbs(&out->config, (const char *const *)out->layer_dirs,
	                               out->n_layers, err) < 0)
		goto fail;
	image_record_fini(&rec);
	return 0;
oom:
	cradle_err_nomem(err);
fail:
	free(cfg_json);
	image_rootfs_fini(out);
	images_unuse(im, ref);
	image_record_fini(&rec);
	return -1;
}

void
images_unuse(struct images *im, const char *ref)
{
	pthread_mutex_lock(&im->lock);
	struct entry *en = entry_of(im, ref, false);
	if (en != NULL && en->uses > 0) {
		en->uses--;
		entry_drop_if_idle(im, en);
	}
	pthread_mutex_unlock(&im->lock);
}

bool
images_in_use(struct images *im, const char *ref)
{
	pthread_mutex_lock(&im->lock);
	struct entry *en = entry_of(im, ref, false);
	bool used = en != NULL && en->uses > 0;
	pthread_mutex_unlock(&im->lock);
	return used;
}

void
images_hold(struct images *im, const char *ref)
{
	pthread_mutex_lock(&im->lock);
	struct entry *en = entry_of(im, ref, true);
	if (en != NULL)
		en->uses++;
	pthread_mutex_unlock(&im->lock);
}

struct refs {
	char **digests;
	size_t n, cap;
};

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

int
images_remove(struct images *im, const char *ref, struct cradle_err *err)
{
	struct refs refs = { 0 };
	int rc = 0;

	pthread_mutex_lock(&im->lock);
	struct entry *en = entry_of(im, ref, false);
	if (en != NULL && (en->uses > 0 || en->pulling)) {
		pthread_mutex_unlock(&im->lock);
		return cradle_err_set(err, CRADLE_FAILED_PRECONDITION,
		                      "image \"%s\" is in use by a sandbox", ref);
	}
	/* the lock stays held: no use may start while blobs go */
	if (image_record_del(im->store, ref, err) < 0) {
		pthread_mutex_unlock(&im->lock);
		return -1;
	}
	if (im->ingests > 0) {
		/* blobs in flight belong to no record yet: collect next time */
	} else if (image_record_foreach(im->store, collect_refs, &refs, err) < 0) {
		rc = -1;
	} else {
		struct gc g = { im, &refs };
		content_walk(im->content, gc_blob, &g);
	}
	pthread_mutex_unlock(&im->lock);
	for (size_t i = 0; i < refs.n; i++)
		free(refs.digests[i]);
	free(refs.digests);
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
