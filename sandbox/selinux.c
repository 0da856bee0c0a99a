/* selinux.c - SELinux label allocation and MCS level reservation.
 *
 * See selinux.h for the contract.  Labels are built with libselinux's
 * context_t, which only parses and formats strings and so works without a
 * loaded policy.  The contexts file is parsed here rather than through
 * libselinux because go-selinux parses it itself (and differently: any
 * `key = "value"` line, last one wins), and that is what we reproduce.
 */
#include "sandbox/selinux.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include <selinux/context.h>
#include <selinux/selinux.h>

/* One reserved level and its holders. */
struct level_ent {
	struct level_ent *next;
	unsigned long refs;
	char name[];
};

struct selinux_labels {
	bool enabled;
	unsigned range;
	char *process_ctx; /* template contexts; NULL when absent */
	char *file_ctx;
	char *kvm_type;         /* type of kvm_process (or process) */
	bool process_has_level; /* non-MLS policies get no MCS level */

	pthread_mutex_t mu; /* guards everything below */
	struct level_ent **buckets;
	size_t nbuckets; /* power of two */
	size_t nlevels;
	/* Held levels that are one of the range's "s0:cX,cY" pairs: when this
	 * reaches the number of pairs no random level can be found, and we say
	 * so instead of looping forever as go-selinux's uniqMcs would. */
	size_t pairs_held;
	uint64_t prng; /* fallback when getrandom fails */
};

/* ---- level check ---------------------------------------------------- */

static bool
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* "c" followed by 1 to 4 digits.  Greedy is exact here: what may follow a
 * category in the pattern ('.', ',' or the end) is never a digit. */
static const char *
match_cat(const char *p)
{
	int n = 0;

	if (*p++ != 'c')
		return NULL;
	while (is_digit(*p) && n < 5) {
		p++;
		n++;
	}
	return n >= 1 && n <= 4 ? p : NULL;
}

/* ^s\d(-s\d)??(:c\d{1,4}(\.c\d{1,4})?(,c\d{1,4}(\.c\d{1,4})?)*)?$ by hand:
 * it is small, and POSIX regex has no lazy "??" to copy it verbatim. */
static bool
level_ok(const char *p)
{
	if (p[0] != 's' || !is_digit(p[1]))
		return false;
	p += 2;
	if (p[0] == '-') {
		if (p[1] != 's' || !is_digit(p[2]))
			return false;
		p += 3;
	}
	if (*p == '\0')
		return true;
	if (*p++ != ':')
		return false;
	for (;;) {
		if (!(p = match_cat(p)))
			return false;
		if (*p == '.' && !(p = match_cat(p + 1)))
			return false;
		if (*p == '\0')
			return true;
		if (*p++ != ',')
			return false;
	}
}

int
selinux_check_level(const char *level, struct cradle_err *err)
{
	if (!level || !*level || level_ok(level))
		return 0;
	return cradle_err_set(err, CRADLE_INVALID_ARGUMENT,
	                      "the format of 'level' \"%s\" is not correct", level);
}

/* ---- the reservation table (callers hold l->mu) ----------------------- */

static size_t
hash_str(const char *s)
{
	uint64_t h = 1469598103934665603ull; /* FNV-1a */

	while (*s)
		h = (h ^ (unsigned char)*s++) * 1099511628211ull;
	return (size_t)h;
}

static struct level_ent **
find_slot(struct selinux_labels *l, const char *level)
{
	struct level_ent **pp = &l->buckets[hash_str(level) & (l->nbuckets - 1)];

	while (*pp && strcmp((*pp)->name, level) != 0)
		pp = &(*pp)->next;
	return pp;
}

/* Parse a decimal category number as uniqMcs prints it (no sign, no
 * leading zero), so that only the exact strings it could produce count. */
static const char *
parse_cat(const char *p, unsigned *out)
{
	unsigned v = 0;
	int n = 0;

	if (*p++ != 'c' || !is_digit(*p) || (p[0] == '0' && is_digit(p[1])))
		return NULL;
	while (is_digit(*p) && n < 5) {
		v = v * 10 + (unsigned)(*p++ - '0');
		n++;
	}
	*out = v;
	return n <= 4 ? p : NULL;
}

static bool
is_range_pair(const struct selinux_labels *l, const char *level)
{
	unsigned x, y;
	const char *p;

	if (strncmp(level, "s0:", 3) != 0 || !(p = parse_cat(level + 3, &x)) || *p++ != ',' ||
	    !(p = parse_cat(p, &y)) || *p != '\0')
		return false;
	return x < y && y < l->range;
}

static int
grow(struct selinux_labels *l)
{
	size_t n = l->nbuckets * 2, i;
	struct level_ent **nb = calloc(n, sizeof(*nb));

	if (!nb)
		return -ENOMEM;
	for (i = 0; i < l->nbuckets; i++) {
		struct level_ent *e = l->buckets[i], *next;

		for (; e; e = next) {
			size_t h = hash_str(e->name) & (n - 1);

			next = e->next;
			e->next = nb[h];
			nb[h] = e;
		}
	}
	free(l->buckets);
	l->buckets = nb;
	l->nbuckets = n;
	return 0;
}

static int
level_get(struct selinux_labels *l, const char *level)
{
	struct level_ent **pp = find_slot(l, level), *e;
	size_t len;

	if (*pp) {
		(*pp)->refs++;
		return 0;
	}
	len = strlen(level);
	if (!(e = malloc(sizeof(*e) + len + 1)))
		return -ENOMEM;
	memcpy(e->name, level, len + 1);
	e->refs = 1;
	e->next = NULL;
	*pp = e;
	l->nlevels++;
	if (is_range_pair(l, level))
		l->pairs_held++;
	/* A failed grow only makes chains longer, never loses an entry. */
	if (l->nlevels > l->nbuckets)
		(void)grow(l);
	return 0;
}

static void
level_put(struct selinux_labels *l, const char *level)
{
	struct level_ent **pp = find_slot(l, level), *e = *pp;

	if (!e)
		return; /* not held: ignored, like label.Store */
	if (--e->refs > 0)
		return;
	*pp = e->next;
	l->nlevels--;
	if (is_range_pair(l, level))
		l->pairs_held--;
	free(e);
}

static bool
level_held(struct selinux_labels *l, const char *level)
{
	return *find_slot(l, level) != NULL;
}

/* ---- random levels --------------------------------------------------- */

static uint64_t
splitmix64(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* go-selinux reads crypto/rand; getrandom is the same source.  It only
 * fails on ancient kernels or before the pool is ready, and a level merely
 * has to be unused, so a seeded PRNG is an acceptable fallback. */
static uint64_t
rand64(struct selinux_labels *l)
{
	uint64_t v;

	if (getrandom(&v, sizeof(v), GRND_NONBLOCK) == (ssize_t)sizeof(v))
		return v;
	return splitmix64(&l->prng);
}

/* room for any unsigned pair, which keeps -Wformat-truncation content */
#define LEVEL_MAX sizeof("s0:c4294967295,c4294967295")
#define RANDOM_TRIES 64

/* Pick an unused "s0:cX,cY" and reserve it, all under l->mu. */
static int
reserve_random(struct selinux_labels *l, char *buf, size_t len, struct cradle_err *err)
{
	size_t total = (size_t)l->range * (l->range - 1) / 2;
	unsigned x, y, x0, i;
	int tries;

	if (l->pairs_held >= total)
		return cradle_err_set(
			err, CRADLE_RESOURCE_EXHAUSTED,
			"failed to allocate an SELinux MCS level: all %zu category pairs "
			"of selinux_category_range %u are reserved",
			total, l->range);
	/* As uniqMcs: two random categories, distinct, smaller first. */
	for (tries = 0; tries < RANDOM_TRIES; tries++) {
		uint64_t r = rand64(l);

		x = (unsigned)((r & 0xffffffffu) % l->range);
		y = (unsigned)((r >> 32) % l->range);
		if (x == y)
			continue;
		if (x > y) {
			unsigned t = x;

			x = y;
			y = t;
		}
		snprintf(buf, len, "s0:c%u,c%u", x, y);
		if (!level_held(l, buf))
			goto found;
	}
	/* Nearly full: random probing keeps missing, so walk every pair from a
	 * random start.  pairs_held < total guarantees a free one. */
	x0 = (unsigned)(rand64(l) % l->range);
	for (i = 0; i < l->range; i++) {
		x = (x0 + i) % l->range;
		for (y = x + 1; y < l->range; y++) {
			snprintf(buf, len, "s0:c%u,c%u", x, y);
			if (!level_held(l, buf))
				goto found;
		}
	}
	return cradle_err_set(err, CRADLE_INTERNAL, "SELinux MCS level table is inconsistent");
found:
	if (level_get(l, buf) < 0)
		return cradle_err_nomem(err);
	return 0;
}

/* ---- labels ---------------------------------------------------------- */

/* The level of a label: what follows the third ':' (go's SplitN(l,":",4)). */
static const char *
label_level(const char *label)
{
	const char *p = label;
	int i;

	if (!label)
		return NULL;
	for (i = 0; i < 3; i++) {
		if (!(p = strchr(p, ':')))
			return NULL;
		p++;
	}
	return *p ? p : NULL;
}

static const char *
opt(const char *s)
{
	return s && *s ? s : NULL;
}

/* Apply one override; libselinux refuses what cannot be a part (':' in a
 * user, whitespace, ...), which go-selinux would have pasted in blindly. */
static int
set_part(context_t c, int (*set)(context_t, const char *), const char *what, const char *val,
         struct cradle_err *err)
{
	if (!val)
		return 0;
	errno = 0;
	if (set(c, val) == 0)
		return 0;
	if (errno == ENOMEM)
		return cradle_err_nomem(err);
	return cradle_err_set(err, CRADLE_INVALID_ARGUMENT, "invalid SELinux %s \"%s\"", what, val);
}

/* tpl with the given parts replaced (NULL: keep), as a malloc'd string. */
static int
build_label(const char *tpl, const char *user, const char *role, const char *type,
            const char *level, char **out, struct cradle_err *err)
{
	context_t c = context_new(tpl);
	const char *s;
	int rc;

	if (!c)
		return cradle_err_set(err, CRADLE_INTERNAL, "invalid SELinux context \"%s\"", tpl);
	if ((rc = set_part(c, context_user_set, "user", user, err)) < 0 ||
	    (rc = set_part(c, context_role_set, "role", role, err)) < 0 ||
	    (rc = set_part(c, context_type_set, "type", type, err)) < 0 ||
	    (rc = set_part(c, context_range_set, "level", level, err)) < 0)
		goto out;
	if (!(s = context_str(c)) || !(*out = strdup(s)))
		rc = cradle_err_nomem(err);
out:
	context_free(c);
	return rc;
}

static int
empty_pair(char **process_label, char **mount_label, const char *mount, struct cradle_err *err)
{
	*process_label = strdup("");
	*mount_label = strdup(mount ? mount : "");
	if (*process_label && *mount_label)
		return 0;
	free(*process_label);
	free(*mount_label);
	*process_label = *mount_label = NULL;
	return cradle_err_nomem(err);
}

static int
init_labels(struct selinux_labels *l, const struct pod_config *pod, bool vm, char **process_label,
            char **mount_label, struct cradle_err *err)
{
	const char *user = NULL, *role = NULL, *type = NULL, *ulevel = NULL;
	char rnd[LEVEL_MAX];
	const char *level;
	int rc;

	*process_label = *mount_label = NULL;
	if (pod) {
		user = opt(pod->linux.security_context.selinux_options.user);
		role = opt(pod->linux.security_context.selinux_options.role);
		type = opt(pod->linux.security_context.selinux_options.type);
		ulevel = opt(pod->linux.security_context.selinux_options.level);
	}
	/* containerd checks the level before asking go-selinux, so a bad level
	 * fails even with SELinux disabled. */
	if ((rc = selinux_check_level(ulevel, err)) < 0)
		return rc;
	if (!l->enabled)
		return empty_pair(process_label, mount_label, NULL, err);
	/* No process or file context (container-selinux absent): go-selinux
	 * returns no process label, the bare file context, and ignores the
	 * options. */
	if (!l->process_ctx || !l->file_ctx)
		return empty_pair(process_label, mount_label, l->file_ctx, err);

	/* The level: the user's as-is (sharing is allowed, the count says how
	 * many hold it), else a fresh pair when the policy has levels at all. */
	pthread_mutex_lock(&l->mu);
	if (ulevel) {
		level = ulevel;
		rc = level_get(l, level) < 0 ? cradle_err_nomem(err) : 0;
	} else if (l->process_has_level) {
		level = rnd;
		rc = reserve_random(l, rnd, sizeof(rnd), err);
	} else {
		level = NULL;
		rc = 0;
	}
	pthread_mutex_unlock(&l->mu);
	if (rc < 0)
		return rc;

	/* user and level apply to both labels, role and type to the process
	 * label only; the KVM type comes last, as ChangeToKVM runs after the
	 * spec is built. */
	if ((rc = build_label(l->process_ctx, user, role, vm ? l->kvm_type : type, level,
	                      process_label, err)) < 0 ||
	    (rc = build_label(l->file_ctx, user, NULL, NULL, level, mount_label, err)) < 0) {
		free(*process_label);
		*process_label = NULL;
		if (level) {
			pthread_mutex_lock(&l->mu);
			level_put(l, level);
			pthread_mutex_unlock(&l->mu);
		}
		return rc;
	}
	return 0;
}

/* The pod's selinux_options as containerd's error prints them (%+v of the
 * CRI message): "nil" when absent, else
 * "&SELinuxOption{User:u,Role:r,Type:t,Level:l,}". */
static const char *
options_str(const struct pod_config *pod, char *buf, size_t len)
{
	const char *u = NULL, *r = NULL, *t = NULL, *lv = NULL;

	if (pod) {
		u = pod->linux.security_context.selinux_options.user;
		r = pod->linux.security_context.selinux_options.role;
		t = pod->linux.security_context.selinux_options.type;
		lv = pod->linux.security_context.selinux_options.level;
	}
	if (!u && !r && !t && !lv)
		return "nil";
	snprintf(buf, len, "&SELinuxOption{User:%s,Role:%s,Type:%s,Level:%s,}", u ? u : "",
	         r ? r : "", t ? t : "", lv ? lv : "");
	return buf;
}

int
selinux_labels_alloc(struct selinux_labels *l, const struct pod_config *pod, bool vm,
                     char **process_label, char **mount_label, struct cradle_err *err)
{
	char opts[CRADLE_ERR_MSG_MAX];
	int rc = init_labels(l, pod, vm, process_label, mount_label, err);

	/* sandboxContainerSpec wraps initLabelsFromOpt's errors so */
	if (rc < 0)
		cradle_err_wrap(err, "failed to init selinux options %s",
		                options_str(pod, opts, sizeof(opts)));
	return rc;
}

int
selinux_labels_to_kvm(const struct selinux_labels *l, const char *label, char **out,
                      struct cradle_err *err)
{
	int rc;

	*out = NULL;
	if (!l->enabled || !label || !*label || !l->kvm_type) {
		if (!(*out = strdup("")))
			return cradle_err_nomem(err);
		return 0;
	}
	if ((rc = build_label(label, NULL, NULL, l->kvm_type, NULL, out, err)) < 0)
		cradle_err_wrap(err, "failed to get selinux kvm label");
	return rc;
}

void
selinux_labels_reserve(struct selinux_labels *l, const char *label)
{
	const char *level = label_level(label);

	if (!l->enabled || !level)
		return;
	pthread_mutex_lock(&l->mu);
	/* Out of memory here loses a count; the level then merely becomes
	 * allocatable again, which recovery cannot report anyway. */
	(void)level_get(l, level);
	pthread_mutex_unlock(&l->mu);
}

void
selinux_labels_release(struct selinux_labels *l, const char *label)
{
	const char *level = label_level(label);

	if (!l->enabled || !level)
		return;
	pthread_mutex_lock(&l->mu);
	level_put(l, level);
	pthread_mutex_unlock(&l->mu);
}

size_t
selinux_labels_reserved(const struct selinux_labels *cl)
{
	/* The mutex is the only mutable part of a const table; the object
	 * itself was allocated non-const, so dropping the qualifier is fine. */
	struct selinux_labels *l = (struct selinux_labels *)cl;
	size_t n;

	pthread_mutex_lock(&l->mu);
	n = l->nlevels;
	pthread_mutex_unlock(&l->mu);
	return n;
}

unsigned long
selinux_labels_refs(const struct selinux_labels *cl, const char *label)
{
	struct selinux_labels *l = (struct selinux_labels *)cl;
	const char *level = label_level(label);
	struct level_ent *e;
	unsigned long n;

	if (!level)
		return 0;
	pthread_mutex_lock(&l->mu);
	e = *find_slot(l, level);
	n = e ? e->refs : 0;
	pthread_mutex_unlock(&l->mu);
	return n;
}

bool
selinux_apply_enabled(void)
{
	return is_selinux_enabled() > 0;
}

/* ---- the contexts file ----------------------------------------------- */

static char *
trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r' || *s == '\v' || *s == '\f')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\n' || e[-1] == '\r' ||
	                 e[-1] == '\v' || e[-1] == '\f'))
		*--e = '\0';
	return s;
}

static int
set_str(char **dst, const char *v)
{
	char *s = strdup(v);

	if (!s)
		return -ENOMEM;
	free(*dst);
	*dst = s;
	return 0;
}

/* go-selinux's loadLabels: trim; skip blank, '#' and ';' lines; split at
 * the first '='; trim both sides; strip every leading/trailing '"'.  Only
 * the keys we use are kept; a later line wins over an earlier one. */
static int
read_contexts(const char *path, char **process, char **file, char **kvm, struct cradle_err *err)
{
	FILE *f = fopen(path, "re");
	char *line = NULL, *k, *v, *eq;
	size_t cap = 0;
	int rc = 0;

	if (!f) {
		if (errno == ENOENT)
			return 0;
		return cradle_err_errno(err, errno, "failed to open SELinux contexts file \"%s\"",
		                        path);
	}
	errno = 0;
	while (getline(&line, &cap, f) >= 0) {
		k = trim(line);
		if (!*k || *k == '#' || *k == ';' || !(eq = strchr(k, '=')) || eq == k)
			continue;
		*eq = '\0';
		k = trim(k);
		v = trim(eq + 1);
		while (*v == '"')
			v++;
		for (eq = v + strlen(v); eq > v && eq[-1] == '"';)
			*--eq = '\0';
		if (strcmp(k, "process") == 0)
			rc = set_str(process, v);
		else if (strcmp(k, "file") == 0)
			rc = set_str(file, v);
		else if (strcmp(k, "kvm_process") == 0)
			rc = set_str(kvm, v);
		if (rc < 0) {
			rc = cradle_err_nomem(err);
			break;
		}
		errno = 0;
	}
	if (rc == 0 && ferror(f))
		rc = cradle_err_errno(err, errno ? errno : EIO,
		                      "failed to read SELinux contexts file \"%s\"", path);
	free(line);
	fclose(f);
	return rc;
}

/* Empty values count as absent, as go's `labels[k] == ""` does. */
static void
drop_empty(char **s)
{
	if (*s && !**s) {
		free(*s);
		*s = NULL;
	}
}

/* A context from the file must parse, and be one we can take a type from. */
static int
check_ctx(const char *path, const char *key, const char *val, bool *has_level, char **type,
          struct cradle_err *err)
{
	context_t c = context_new(val);
	const char *t;
	int rc = 0;

	if (!c || !(t = context_type_get(c)) || !*t) {
		rc = cradle_err_set(err, CRADLE_FAILED_PRECONDITION,
		                    "invalid SELinux context %s = \"%s\" in \"%s\"", key, val,
		                    path);
		goto out;
	}
	if (has_level) {
		t = context_range_get(c);
		*has_level = t && *t;
	}
	if (type && !(*type = strdup(context_type_get(c))))
		rc = cradle_err_nomem(err);
out:
	if (c)
		context_free(c);
	return rc;
}

void
selinux_labels_fini(struct selinux_labels *l)
{
	size_t i;

	if (!l)
		return;
	for (i = 0; i < l->nbuckets; i++) {
		struct level_ent *e = l->buckets[i], *next;

		for (; e; e = next) {
			next = e->next;
			free(e);
		}
	}
	free(l->buckets);
	free(l->process_ctx);
	free(l->file_ctx);
	free(l->kvm_type);
	pthread_mutex_destroy(&l->mu);
	free(l);
}

int
selinux_labels_init(const struct selinux_cfg *cfg, struct selinux_labels **out,
                    struct cradle_err *err)
{
	struct selinux_labels *l;
	const char *path;
	char *kvm = NULL;
	int rc;

	*out = NULL;
	if (cfg->category_range == 1 || cfg->category_range > SELINUX_MAX_CATEGORY_RANGE)
		return cradle_err_set(err, CRADLE_INVALID_ARGUMENT,
		                      "invalid selinux_category_range %u: must be 2 to %u",
		                      cfg->category_range, SELINUX_MAX_CATEGORY_RANGE);
	if (!(l = calloc(1, sizeof(*l))))
		return cradle_err_nomem(err);
	l->enabled = cfg->enable;
	l->range = cfg->category_range ? cfg->category_range : SELINUX_DEFAULT_CATEGORY_RANGE;
	l->prng = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32) ^ (uint64_t)(uintptr_t)l;
	l->nbuckets = 64;
	pthread_mutex_init(&l->mu, NULL);
	if (!(l->buckets = calloc(l->nbuckets, sizeof(*l->buckets)))) {
		rc = cradle_err_nomem(err);
		goto fail;
	}
	if (!l->enabled)
		goto done; /* SetDisabled: the file is never read */

	path = cfg->contexts_path ? cfg->contexts_path : selinux_lxc_contexts_path();
	if (path && (rc = read_contexts(path, &l->process_ctx, &l->file_ctx, &kvm, err)) < 0)
		goto fail;
	drop_empty(&l->process_ctx);
	drop_empty(&l->file_ctx);
	drop_empty(&kvm);
	if (l->process_ctx &&
	    (rc = check_ctx(path, "process", l->process_ctx, &l->process_has_level,
	                    kvm ? NULL : &l->kvm_type, err)) < 0)
		goto fail;
	if (l->file_ctx && (rc = check_ctx(path, "file", l->file_ctx, NULL, NULL, err)) < 0)
		goto fail;
	if (kvm && (rc = check_ctx(path, "kvm_process", kvm, NULL, &l->kvm_type, err)) < 0)
		goto fail;
done:
	free(kvm);
	*out = l;
	return 0;
fail:
	free(kvm);
	selinux_labels_fini(l);
	return rc;
}
