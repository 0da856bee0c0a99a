/* table.c - the in-memory sandbox table and sandbox lifetime.
 *
 * DESIGN
 *
 * Two chained hash maps, id -> sandbox and reserved name -> sandbox, live
 * under one rwlock.  Lookups take it shared, insert/remove exclusive; the
 * lock covers only map operations (and the refcount increment of a found
 * sandbox), never a sandbox operation, so it is a leaf: it may be taken with
 * a sandbox lock held (table_del) but nothing is locked while it is held.
 * Nodes are allocated before the lock is taken, so the only allocation under
 * it is the occasional resize of a bucket array; if that fails the maps
 * keep their old size and only get slower (or stay larger).
 *
 * Both maps grow by doubling when they hold more entries than buckets,
 * which keeps chains short for tens of thousands of sandboxes, and halve
 * when fewer than a quarter of the buckets would be used (down to the
 * initial size), so the memory of a crowd of sandboxes goes back when they
 * do; the gap between the two keeps a count near a boundary from resizing
 * back and forth.
 *
 * References: the table owns one reference per sandbox from table_add to
 * table_del.  table_del drops it after releasing the table lock, because the
 * last release destroys the sandbox (close, free) and that should not run
 * under the table lock.
 */
#include "core/table.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TABLE_INITIAL_BUCKETS 64

struct node {
	struct node *next;
	uint64_t hash;
	struct sandbox *sb;
};

struct map {
	struct node **buckets;
	size_t nbuckets; /* power of two */
	size_t count;
};

struct table {
	pthread_rwlock_t lock;
	struct map by_id;          /* key: sb->id */
	struct map by_name;        /* key: sb->name */
	size_t limit;              /* table_add refuses the limit+1-th; 0: none */
	atomic_size_t quarantined; /* table_set_quarantined */
};

/* FNV-1a: ids are random hex and names are short; this spreads both well
 * enough and needs no seed. */
static uint64_t
hash_str(const char *s)
{
	uint64_t h = 14695981039346656037ULL;

	while (*s != '\0') {
		h ^= (unsigned char)*s++;
		h *= 1099511628211ULL;
	}
	/* fold the high bits in: the bucket index uses only the low ones */
	return (h ^ (h >> 32));
}

static const char *
key_id(const struct sandbox *sb)
{
	return (sb->id);
}

static const char *
key_name(const struct sandbox *sb)
{
	return (sb->name);
}

static int
map_init(struct map *m)
{
	m->buckets = calloc(TABLE_INITIAL_BUCKETS, sizeof(*m->buckets));
	if (m->buckets == NULL) {
		return (-ENOMEM);
	}
	m->nbuckets = TABLE_INITIAL_BUCKETS;
	m->count = 0;
	return (0);
}

/* Frees the nodes only; sandbox references are the caller's business. */
static void
map_fini(struct map *m)
{
	size_t i;
	struct node *n, *next;

	if (m->buckets == NULL) {
		return;
	}
	for (i = 0; i < m->nbuckets; i++) {
		for (n = m->buckets[i]; n != NULL; n = next) {
			next = n->next;
			free(n);
		}
	}
	free(m->buckets);
	m->buckets = NULL;
	m->nbuckets = 0;
	m->count = 0;
}

static struct node *
map_find(const struct map *m, const char *key, uint64_t hash,
         const char *(*keyof)(const struct sandbox *))
{
	struct node *n;

	for (n = m->buckets[hash & (m->nbuckets - 1)]; n != NULL; n = n->next) {
		if (n->hash == hash && strcmp(keyof(n->sb), key) == 0) {
			return (n);
		}
	}
	return (NULL);
}

/* Rehash into nb buckets (a power of two). */
static void
map_resize(struct map *m, size_t nb)
{
	struct node **nbk;
	struct node *n, *next;
	size_t i;

	if (nb == 0 || nb > SIZE_MAX / sizeof(*nbk)) {
		return;
	}
	nbk = calloc(nb, sizeof(*nbk));
	if (nbk == NULL) {
		/* Not an error: longer chains (or a larger array) are still
		 * correct. */
		return;
	}
	for (i = 0; i < m->nbuckets; i++) {
		for (n = m->buckets[i]; n != NULL; n = next) {
			next = n->next;
			n->next = nbk[n->hash & (nb - 1)];
			nbk[n->hash & (nb - 1)] = n;
		}
	}
	free(m->buckets);
	m->buckets = nbk;
	m->nbuckets = nb;
}

static void
map_insert(struct map *m, struct node *n)
{
	struct node **b;

	if (m->count >= m->nbuckets && m->nbuckets * 2 > m->nbuckets) {
		map_resize(m, m->nbuckets * 2);
	}
	b = &m->buckets[n->hash & (m->nbuckets - 1)];
	n->next = *b;
	*b = n;
	m->count++;
}

/* Unlinks the node whose sandbox is exactly sb (not merely one with the
 * same key) and returns it, or NULL. */
static struct node *
map_remove(struct map *m, const struct sandbox *sb, uint64_t hash)
{
	struct node **pp;
	struct node *n;

	for (pp = &m->buckets[hash & (m->nbuckets - 1)]; (n = *pp) != NULL; pp = &n->next) {
		if (n->sb == sb) {
			*pp = n->next;
			m->count--;
			if (m->nbuckets > TABLE_INITIAL_BUCKETS && m->count < m->nbuckets / 4) {
				map_resize(m, m->nbuckets / 2);
			}
			return (n);
		}
	}
	return (NULL);
}

/* --- sandboxes ---------------------------------------------------------- */

/* rec as proto_sandbox_encode packs it, in a buffer of exactly its size
 * (*msg, owned by the caller).  -ENOMEM, or what the encoder refused. */
static int
view_encode(const struct proto_sandbox *rec, char **msg, size_t *len)
{
	msgpack_sbuffer buf;
	struct cradle_err e;
	char *p;

	msgpack_sbuffer_init(&buf);
	if (proto_sandbox_encode(&buf, rec, &e) < 0) {
		msgpack_sbuffer_destroy(&buf);
		return -ENOMEM;
	}
	*len = buf.size;
	p = msgpack_sbuffer_release(&buf);
	*msg = realloc(p, *len); /* the encoder's buffer grows in 8 KiB steps */
	if (*msg == NULL) {
		free(p);
		return -ENOMEM;
	}
	return 0;
}

struct sandbox *
sandbox_new(struct proto_sandbox *rec)
{
	struct sandbox *sb;
	pthread_mutexattr_t ma;
	pthread_condattr_t ca;
	int rc;

	sb = calloc(1, sizeof(*sb));
	if (sb == NULL) {
		return (NULL);
	}
	if (pthread_mutexattr_init(&ma) != 0) {
		free(sb);
		return (NULL);
	}
#ifdef CRADLE_DEBUG
	/* Debug builds turn relocking and foreign unlocks into EDEADLK/EPERM
	 * instead of silent deadlock or corruption (as nng does). */
	(void)pthread_mutexattr_settype(&ma, PTHREAD_MUTEX_ERRORCHECK);
#endif
	rc = pthread_mutex_init(&sb->lock, &ma);
	pthread_mutexattr_destroy(&ma);
	if (rc != 0) {
		free(sb);
		return (NULL);
	}
	/* Waits on the phase (stop with a timeout) must not jump when the
	 * wall clock is set, so timed waits use CLOCK_MONOTONIC deadlines. */
	if (pthread_condattr_init(&ca) != 0) {
		pthread_mutex_destroy(&sb->lock);
		free(sb);
		return (NULL);
	}
	rc = pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	if (rc == 0) {
		rc = pthread_cond_init(&sb->cond, &ca);
	}
	pthread_condattr_destroy(&ca);
	if (rc != 0) {
		pthread_mutex_destroy(&sb->lock);
		free(sb);
		return (NULL);
	}

	if (pthread_mutex_init(&sb->view_lock, NULL) != 0) {
		pthread_cond_destroy(&sb->cond);
		pthread_mutex_destroy(&sb->lock);
		free(sb);
		return (NULL);
	}
	sb->view_phase = rec->phase;
	if (view_encode(rec, &sb->view_msg, &sb->view_len) < 0) {
		pthread_mutex_destroy(&sb->view_lock);
		pthread_cond_destroy(&sb->cond);
		pthread_mutex_destroy(&sb->lock);
		free(sb);
		return (NULL);
	}

	/* Move the record in: the caller's copy is left zeroed, owning
	 * nothing.  Nothing can fail after this point. */
	sb->rec = *rec;
	memset(rec, 0, sizeof(*rec));
	memcpy(sb->id, sb->rec.id, sizeof(sb->id));
	sb->id[CRADLE_ID_LEN] = '\0';
	sb->name = NULL;
	sb->pidfd = -1;
	sb->removed = false;
	atomic_init(&sb->refs, 1);
	return (sb);
}

void
sandbox_hold(struct sandbox *sb)
{
	/* relaxed: the caller already owns a reference, so the object cannot
	 * be freed concurrently; the increment needs atomicity only. */
	atomic_fetch_add_explicit(&sb->refs, 1, memory_order_relaxed);
}

int
sandbox_publish(struct sandbox *sb)
{
	char *msg, *old;
	size_t len;

	/* encoded outside view_lock: readers wait only for the swap */
	if (view_encode(&sb->rec, &msg, &len) < 0)
		return -ENOMEM;
	pthread_mutex_lock(&sb->view_lock);
	old = sb->view_msg;
	sb->view_msg = msg;
	sb->view_len = len;
	sb->view_phase = sb->rec.phase;
	sb->view_removed = sb->removed;
	pthread_mutex_unlock(&sb->view_lock);
	free(old);
	return 0;
}

int
sandbox_view_decode(const struct sandbox *sb, struct proto_sandbox *out, struct cradle_err *err)
{
	/* encoded by us from a record that passed the same checks: only
	 * memory can fail here */
	if (proto_sandbox_decode(sb->view_msg, sb->view_len, out, err) < 0)
		return cradle_err_nomem(err);
	return 0;
}

static void
sandbox_destroy(struct sandbox *sb)
{
	proto_sandbox_fini(&sb->rec);
	free(sb->view_msg);
	pthread_mutex_destroy(&sb->view_lock);
	free(sb->name);
	pthread_cond_destroy(&sb->cond);
	pthread_mutex_destroy(&sb->lock);
	if (sb->pidfd >= 0) {
		close(sb->pidfd);
	}
	/* sandbox_unlock publishes every event; none should be left */
	while (sb->pending != NULL) {
		struct sandbox_event *next = sb->pending->next;

		free(sb->pending);
		sb->pending = next;
	}
	free(sb);
}

void
sandbox_rele(struct sandbox *sb)
{
	int old;

	if (sb == NULL) {
		return;
	}
	/* acq_rel: the release half orders this holder's writes to the
	 * sandbox before the decrement; the acquire half, needed only by the
	 * thread that reaches zero, makes every other holder's writes visible
	 * before destroy touches the object.  (An acquire fence after the
	 * last decrement would do too, but TSan does not model fences.) */
	old = atomic_fetch_sub_explicit(&sb->refs, 1, memory_order_acq_rel);
	if (old == 1) {
		sandbox_destroy(sb);
	} else if (old <= 0) {
		/* More releases than holds: a use-after-free in the making. */
		abort();
	}
}

char *
sandbox_make_name(const struct pod_config *c)
{
	char *s;

	/* containerd's makeSandboxName: name, namespace, uid and attempt
	 * joined with "_" (absent strings are empty, as Go's are). */
	if (asprintf(&s, "%s_%s_%s_%u", c->metadata.name != NULL ? c->metadata.name : "",
	             c->metadata.namespace != NULL ? c->metadata.namespace : "",
	             c->metadata.uid != NULL ? c->metadata.uid : "",
	             (unsigned)c->metadata.attempt) < 0) {
		return (NULL);
	}
	return (s);
}

/* --- the table ---------------------------------------------------------- */

int
table_init(struct table **out)
{
	pthread_rwlockattr_t ra;
	struct table *t;
	int rc;

	*out = NULL;
	t = calloc(1, sizeof(*t));
	if (t == NULL) {
		return (-ENOMEM);
	}
	if ((rc = map_init(&t->by_id)) != 0 || (rc = map_init(&t->by_name)) != 0) {
		map_fini(&t->by_id);
		free(t);
		return (rc);
	}
	if ((rc = pthread_rwlockattr_init(&ra)) != 0) {
		goto fail;
	}
	/* glibc's default prefers readers, so a steady stream of lookups
	 * (status, list) could starve create/remove.  Writers first; none of
	 * our readers recurse on the lock, which this kind forbids. */
	(void)pthread_rwlockattr_setkind_np(&ra, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	rc = pthread_rwlock_init(&t->lock, &ra);
	pthread_rwlockattr_destroy(&ra);
	if (rc != 0) {
		goto fail;
	}
	*out = t;
	return (0);
fail:
	map_fini(&t->by_name);
	map_fini(&t->by_id);
	free(t);
	return (-rc);
}

void
table_fini(struct table *t)
{
	size_t i;
	struct node *n;

	if (t == NULL) {
		return;
	}
	/* No other thread may use the table any more: drop the table's
	 * reference on every sandbox still in it. */
	for (i = 0; i < t->by_id.nbuckets; i++) {
		for (n = t->by_id.buckets[i]; n != NULL; n = n->next) {
			sandbox_rele(n->sb);
		}
	}
	map_fini(&t->by_id);
	map_fini(&t->by_name);
	pthread_rwlock_destroy(&t->lock);
	free(t);
}

int
table_add(struct table *t, struct sandbox *sb, struct cradle_err *err)
{
	struct node *nid, *nname;
	struct node *hit;

	/* The name is normally set by the caller (sandbox_make_name); derive
	 * it here if not, so the table never holds a sandbox without one. */
	if (sb->name == NULL) {
		sb->name = sandbox_make_name(&sb->rec.config);
		if (sb->name == NULL) {
			return (cradle_err_errno(err, ENOMEM,
			                         "failed to reserve a name for sandbox \"%s\"",
			                         sb->id));
		}
	}
	nid = malloc(sizeof(*nid));
	nname = malloc(sizeof(*nname));
	if (nid == NULL || nname == NULL) {
		free(nid);
		free(nname);
		return (cradle_err_errno(err, ENOMEM, "failed to add sandbox \"%s\" to the table",
		                         sb->id));
	}
	nid->sb = nname->sb = sb;
	nid->hash = hash_str(sb->id);
	nname->hash = hash_str(sb->name);

	pthread_rwlock_wrlock(&t->lock);
	/* The name first, as CRI reserves it before anything else happens. */
	hit = map_find(&t->by_name, sb->name, nname->hash, key_name);
	if (hit != NULL) {
		/* Format under the lock: hit->sb is only safe while held. */
		cradle_err_set(err, CRADLE_ALREADY_EXISTS,
		               "failed to reserve sandbox name \"%s\": name \"%s\" is "
		               "reserved for \"%s\"",
		               sb->name, sb->name, hit->sb->id);
		pthread_rwlock_unlock(&t->lock);
		free(nid);
		free(nname);
		return (-EEXIST);
	}
	/* counted under the same lock as the insert: two adds cannot both
	 * take the last place */
	if (t->limit != 0 && t->by_id.count >= t->limit) {
		cradle_err_set(err, CRADLE_RESOURCE_EXHAUSTED,
		               "cannot add sandbox \"%s\": %zu sandboxes exist and the limit "
		               "([cradled] max_sandboxes) is %zu; remove one, or raise the limit",
		               sb->name, t->by_id.count, t->limit);
		pthread_rwlock_unlock(&t->lock);
		free(nid);
		free(nname);
		return (-ENOSPC);
	}
	if (map_find(&t->by_id, sb->id, nid->hash, key_id) != NULL) {
		cradle_err_set(err, CRADLE_ALREADY_EXISTS, "sandbox id \"%s\" already exists",
		               sb->id);
		pthread_rwlock_unlock(&t->lock);
		free(nid);
		free(nname);
		return (-EEXIST);
	}
	/* The table's own reference; taken before the sandbox is visible. */
	sandbox_hold(sb);
	map_insert(&t->by_id, nid);
	map_insert(&t->by_name, nname);
	pthread_rwlock_unlock(&t->lock);
	return (0);
}

struct sandbox *
table_get(struct table *t, const char *id)
{
	struct node *n;
	struct sandbox *sb = NULL;

	if (id == NULL) {
		return (NULL);
	}
	pthread_rwlock_rdlock(&t->lock);
	n = map_find(&t->by_id, id, hash_str(id), key_id);
	if (n != NULL) {
		sb = n->sb;
		/* Under the lock the table's reference keeps sb alive, so a
		 * plain hold is safe; table_del cannot drop it meanwhile. */
		sandbox_hold(sb);
	}
	pthread_rwlock_unlock(&t->lock);
	return (sb);
}

void
table_del(struct table *t, struct sandbox *sb)
{
	struct node *nid, *nname = NULL;

	pthread_rwlock_wrlock(&t->lock);
	nid = map_remove(&t->by_id, sb, hash_str(sb->id));
	if (nid != NULL) {
		/* The name belongs to sb only if the id did: a sandbox that
		 * lost table_add must not free the holder's reservation. */
		nname = map_remove(&t->by_name, sb, hash_str(sb->name));
	}
	pthread_rwlock_unlock(&t->lock);
	free(nid);
	free(nname);
	if (nid != NULL) {
		/* Outside the lock: this may be the last reference. */
		sandbox_rele(sb);
	}
}

void
table_set_limit(struct table *t, size_t limit)
{
	pthread_rwlock_wrlock(&t->lock);
	t->limit = limit;
	pthread_rwlock_unlock(&t->lock);
}

void
table_set_quarantined(struct table *t, size_t n)
{
	atomic_store(&t->quarantined, n);
}

size_t
table_quarantined(struct table *t)
{
	return (atomic_load(&t->quarantined));
}

size_t
table_count(struct table *t)
{
	size_t n;

	pthread_rwlock_rdlock(&t->lock);
	n = t->by_id.count;
	pthread_rwlock_unlock(&t->lock);
	return (n);
}

static int
cmp_by_id(const void *a, const void *b)
{
	const struct sandbox *const *x = a, *const *y = b;

	return (strcmp((*x)->id, (*y)->id));
}

long
table_snapshot(struct table *t, struct sandbox ***out)
{
	struct sandbox **v = NULL;
	struct node *n;
	size_t i, k = 0;

	*out = NULL;
	pthread_rwlock_rdlock(&t->lock);
	if (t->by_id.count > 0) {
		v = malloc(t->by_id.count * sizeof(*v));
		if (v == NULL) {
			pthread_rwlock_unlock(&t->lock);
			return (-ENOMEM);
		}
		for (i = 0; i < t->by_id.nbuckets; i++) {
			for (n = t->by_id.buckets[i]; n != NULL; n = n->next) {
				sandbox_hold(n->sb);
				v[k++] = n->sb;
			}
		}
	}
	pthread_rwlock_unlock(&t->lock);
	/* Bucket order is an accident of hashing; id order is stable, so
	 * lists and tests see the same order for the same set.  The ids are
	 * immutable, so no sandbox lock is needed to compare them. */
	if (k > 1) {
		qsort(v, k, sizeof(*v), cmp_by_id);
	}
	*out = v;
	return ((long)k);
}
