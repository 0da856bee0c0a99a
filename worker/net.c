/* net.c - the pods' network (see net.h). */
#include "worker/net.h"

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/fs.h"
#include "util/log.h"

#define NET_BIN_DIRS_MAX 32

struct net_ref {
	atomic_int refs;
	struct cni_net *net;
};

struct worker_net {
	char *conf_dir;
	unsigned max_conf_num;
	char *bin_buf;                              /* bin_dir, split in place */
	const char *bin_dirs[NET_BIN_DIRS_MAX + 1]; /* NULL-terminated */
	int timeout_ms;
	bool required;
	pthread_mutex_t lock; /* cur and the directory's identity */
	struct net_ref *cur;  /* NULL: no network loaded */
	bool have_stat;       /* the directory's identity when cur was read */
	struct stat dir_st;
	struct stat file_st; /* cur's file's, when cur was read */
	atomic_bool warned;  /* "no network config" logged */
};

static void
ref_put(struct net_ref *r)
{
	if (r != NULL && atomic_fetch_sub(&r->refs, 1) == 1) {
		cni_free(r->net);
		free(r);
	}
}

static bool
same_ident(const struct stat *a, const struct stat *b)
{
	return a->st_ino == b->st_ino && a->st_dev == b->st_dev &&
	       a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec &&
	       a->st_ctim.tv_sec == b->st_ctim.tv_sec && a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

/* Whether cur's file is no longer what was read (edited in place, which
 * leaves the directory as it was, or gone). */
static bool
file_changed(const struct worker_net *n)
{
	struct stat st;

	return stat(cni_net_file(n->cur->net), &st) != 0 || !same_ident(&st, &n->file_st) ||
	       st.st_size != n->file_st.st_size;
}

/* The current network with a reference (NULL and 0: none, err says why
 * with its code: FAILED_PRECONDITION for no config), reading the
 * directory again when none is loaded, it changed, or the file the
 * network came from did.  lock held. */
static int
get_locked(struct worker_net *n, struct net_ref **out, struct cradle_err *err)
{
	struct stat st;
	bool have = stat(n->conf_dir, &st) == 0;

	*out = NULL;
	if (n->cur == NULL || have != n->have_stat || (have && !same_ident(&st, &n->dir_st)) ||
	    file_changed(n)) {
		struct cni_net *net = NULL;
		struct net_ref *old = n->cur;
		n->cur = NULL;
		n->have_stat = have;
		if (have)
			n->dir_st = st;
		ref_put(old);
		if (cni_load(n->conf_dir, n->max_conf_num, &net, err) < 0)
			return -1;
		struct net_ref *r = malloc(sizeof(*r));
		if (r == NULL) {
			cni_free(net);
			return cradle_err_nomem(err);
		}
		atomic_init(&r->refs, 1);
		r->net = net;
		n->cur = r;
		/* its identity now (an edit between the read and this stat
		 * would go unnoticed until the next change) */
		if (stat(cni_net_file(net), &n->file_st) != 0)
			memset(&n->file_st, 0, sizeof(n->file_st));
		atomic_store(&n->warned, false);
		log_info("CNI network \"%s\" (%s, %zu plugin%s) from %s", cni_net_name(net),
		         cni_net_version(net), cni_net_plugins(net),
		         cni_net_plugins(net) == 1 ? "" : "s", cni_net_file(net));
	}
	atomic_fetch_add(&n->cur->refs, 1);
	*out = n->cur;
	return 0;
}

static int
net_get(struct worker_net *n, struct net_ref **out, struct cradle_err *err)
{
	pthread_mutex_lock(&n->lock);
	int rc = get_locked(n, out, err);
	pthread_mutex_unlock(&n->lock);
	return rc;
}

int
net_new(const struct net_config *cfg, struct worker_net **out, struct cradle_err *err)
{
	struct worker_net *n = calloc(1, sizeof(*n));
	size_t k = 0;

	*out = NULL;
	if (n == NULL)
		return cradle_err_nomem(err);
	pthread_mutex_init(&n->lock, NULL);
	if ((n->conf_dir = strdup(cfg->conf_dir)) == NULL ||
	    (n->bin_buf = strdup(cfg->bin_dir)) == NULL) {
		net_free(n);
		return cradle_err_nomem(err);
	}
	for (char *s = n->bin_buf, *save = NULL, *d; (d = strtok_r(s, ":", &save)) != NULL;
	     s = NULL) {
		if (k == NET_BIN_DIRS_MAX) {
			net_free(n);
			return cradle_err_set(err, CRADLE_INVALID_ARGUMENT,
			                      "cni bin_dir \"%s\": more than %d directories",
			                      cfg->bin_dir, NET_BIN_DIRS_MAX);
		}
		n->bin_dirs[k++] = d;
	}
	n->bin_dirs[k] = NULL;
	n->max_conf_num = cfg->max_conf_num;
	n->timeout_ms = cfg->timeout_ms;
	n->required = cfg->required;
	struct net_ref *r = NULL;
	struct cradle_err e = { 0 };
	if (net_get(n, &r, &e) < 0)
		log_warn("CNI: %s%s", e.msg,
		         e.code == CRADLE_FAILED_PRECONDITION && !n->required
		                 ? " (pods start with loopback only until a config appears)"
		                 : "");
	ref_put(r);
	*out = n;
	return 0;
}

void
net_free(struct worker_net *n)
{
	if (n == NULL)
		return;
	ref_put(n->cur);
	pthread_mutex_destroy(&n->lock);
	free(n->conf_dir);
	free(n->bin_buf);
	free(n);
}

void
net_pod_of(const char *id, const struct pod_config *cfg, const char *netns_path,
           const char *cgroup_path, struct cni_pod *cp, struct cni_port *ports)
{
	memset(cp, 0, sizeof(*cp));
	cp->id = id;
	cp->ns = cfg->metadata.namespace;
	cp->name = cfg->metadata.name;
	cp->uid = cfg->metadata.uid;
	cp->netns_path = netns_path != NULL ? netns_path : "";
	cp->cgroup_path = cgroup_path;
	for (size_t i = 0; ports != NULL && i < cfg->port_mappings.n; i++) {
		const struct proto_port_mapping *pm = &cfg->port_mappings.v[i];
		ports[i] = (struct cni_port){
			.host_port = pm->host_port,
			.container_port = pm->container_port,
			.protocol = proto_protocol_name(pm->protocol),
			.host_ip = pm->host_ip,
		};
	}
	cp->ports = ports;
	cp->n_ports = ports != NULL ? cfg->port_mappings.n : 0;
	cp->has_dns = cfg->has_dns_config;
	cp->dns_servers = &cfg->dns_config.servers;
	cp->dns_searches = &cfg->dns_config.searches;
	cp->dns_options = &cfg->dns_config.options;
	cp->annotations = &cfg->annotations;
}

/* A Kubernetes quantity: digits, an optional fraction, an optional
 * decimal (k M G T P E) or binary (Ki .. Ei) suffix.  -1 when it is none. */
static int
quantity(const char *s, long double *out)
{
	static const struct {
		const char *sfx;
		long double mul;
	} sfx[] = { { "Ki", 1024.0L },
		    { "Mi", 1048576.0L },
		    { "Gi", 1073741824.0L },
		    { "Ti", 1099511627776.0L },
		    { "Pi", 1125899906842624.0L },
		    { "Ei", 1152921504606846976.0L },
		    { "k", 1e3L },
		    { "M", 1e6L },
		    { "G", 1e9L },
		    { "T", 1e12L },
		    { "P", 1e15L },
		    { "E", 1e18L },
		    { "", 1.0L } };
	long double v = 0, scale = 1;
	const char *p = s;
	bool digits = false;

	if (strlen(s) > 32)
		return -1;
	for (; *p >= '0' && *p <= '9'; p++, digits = true)
		v = v * 10 + (*p - '0');
	if (*p == '.')
		for (p++; *p >= '0' && *p <= '9'; p++, digits = true)
			v += (*p - '0') * (scale /= 10);
	if (!digits)
		return -1;
	for (size_t i = 0; i < sizeof(sfx) / sizeof(sfx[0]); i++)
		if (strcmp(p, sfx[i].sfx) == 0) {
			*out = v * sfx[i].mul;
			return 0;
		}
	return -1;
}

int
net_cache_path(char buf[FS_PATH_MAX], const char *root, const char *id, struct cradle_err *err)
{
	return fs_path(buf, err, "%s/sandboxes/%s/" NET_CACHE_FILE, root, id);
}

int
net_orphan(const char *root, const char *id)
{
	char cache_path[FS_PATH_MAX], dir[FS_PATH_MAX], to[FS_PATH_MAX];
	struct cradle_err e = { 0 };

	if (net_cache_path(cache_path, root, id, &e) == 0 && access(cache_path, F_OK) != 0)
		return 0;
	if (e.msg[0] != '\0' || fs_path(dir, &e, "%s/" NET_ORPHANS_DIR, root) < 0 ||
	    fs_path(to, &e, "%s/%s.json", dir, id) < 0 ||
	    (mkdir(dir, 0700) != 0 && errno != EEXIST) || rename(cache_path, to) != 0) {
		log_error("sandbox %s: cannot keep its CNI cache for a later DEL (%s): its "
		          "addresses stay taken",
		          id, e.msg[0] ? e.msg : strerror(errno));
		return -1;
	}
	log_warn("sandbox %s: CNI cache kept as %s; DEL is tried again at the next start-up", id,
	         to);
	return 0;
}

void
net_retry_orphans(struct worker_net *n, const char *root)
{
	char dir[FS_PATH_MAX];
	struct cradle_err err = { 0 };
	struct dirent *de;
	DIR *dd;

	if (n == NULL || fs_path(dir, &err, "%s/" NET_ORPHANS_DIR, root) < 0 ||
	    (dd = opendir(dir)) == NULL)
		return;
	while ((de = readdir(dd)) != NULL) {
		char id[FS_PATH_MAX], path[FS_PATH_MAX];
		size_t l = strlen(de->d_name);
		struct cni_pod cp = { .netns_path = "" };
		if (l <= 5 || strcmp(de->d_name + l - 5, ".json") != 0 || l - 5 >= sizeof(id) ||
		    fs_path(path, &err, "%s/%s", dir, de->d_name) < 0)
			continue;
		memcpy(id, de->d_name, l - 5);
		id[l - 5] = '\0';
		cp.id = id;
		if (net_teardown(n, &cp, path, false, &err) < 0)
			log_warn_drop(&err, "CNI DEL of removed sandbox %s", id);
		else
			log_info("released the network of removed sandbox %s", id);
	}
	closedir(dd);
	rmdir(dir); /* when empty */
}

int
net_bandwidth(const struct proto_kvs *annotations, struct cni_pod *cp, struct cradle_err *err)
{
	static const char *const keys[] = { "kubernetes.io/ingress-bandwidth",
		                            "kubernetes.io/egress-bandwidth" };
	uint64_t *rate[] = { &cp->ingress_rate, &cp->egress_rate };
	uint64_t *burst[] = { &cp->ingress_burst, &cp->egress_burst };

	for (size_t k = 0; k < 2; k++)
		for (size_t i = 0; annotations != NULL && i < annotations->n; i++) {
			const struct proto_kv *kv = &annotations->v[i];
			long double v;
			if (strcmp(kv->key, keys[k]) != 0)
				continue;
			if (quantity(kv->value, &v) < 0)
				return cradle_err_set(err, CRADLE_INVALID_ARGUMENT,
				                      "annotation %s: \"%.64s\" is no quantity "
				                      "(bits per second, e.g. \"10M\")",
				                      keys[k], kv->value);
			if (v < 1e3L || v > 1e15L)
				return cradle_err_set(err, CRADLE_INVALID_ARGUMENT,
				                      "annotation %s: %s is unreasonably %s "
				                      "(from 1k to 1P bits per second)",
				                      keys[k], kv->value,
				                      v < 1e3L ? "small" : "large");
			*rate[k] = (uint64_t)v;
			*burst[k] = 4294967295u;
		}
	return 0;
}

int
net_setup(struct worker_net *n, const struct cni_pod *pod, const char *cache_path,
          struct cni_result *res, struct cradle_err *err)
{
	struct net_ref *r;
	char *cache = NULL;
	size_t len = 0;
	int rc;

	if (net_get(n, &r, err) < 0) {
		if (err->code == CRADLE_FAILED_PRECONDITION && n->required)
			cradle_err_wrap(err, "cni plugin not initialized ([cni] required)");
		if (err->code != CRADLE_FAILED_PRECONDITION || n->required)
			return -1;
		if (!atomic_exchange(&n->warned, true))
			log_warn("%s: pods start with loopback only ([cni] required = false)",
			         err->msg);
		memset(err, 0, sizeof(*err));
		return 0;
	}
	rc = cni_add(r->net, n->bin_dirs, pod, n->timeout_ms, res, &cache, &len, err);
	if (rc == 0 && (rc = fs_write_replace(cache_path, cache, len, 0600)) < 0) {
		struct cradle_err e = { 0 };
		cradle_err_errno(err, -rc, "write CNI cache \"%s\"", cache_path);
		if (cni_del(cache, len, r->net, n->bin_dirs, pod, n->timeout_ms, &e) < 0)
			log_warn_drop(&e, "sandbox %s: DEL after a failed cache write", pod->id);
		unlink(cache_path);
		rc = -1;
	}
	free(cache);
	ref_put(r);
	return rc < 0 ? -1 : 1;
}

int
net_teardown(struct worker_net *n, const struct cni_pod *pod, const char *cache_path, bool blind,
             struct cradle_err *err)
{
	struct net_ref *r = NULL;
	char *cache = NULL;
	size_t len = 0;
	int rc = fs_read_alloc(cache_path, CNI_CACHE_MAX, FS_NOFOLLOW, &cache, &len);

	if (rc == -ENOENT && !blind)
		return 0;
	if (rc < 0 && rc != -ENOENT)
		log_warn("sandbox %s: CNI cache \"%s\" unreadable (%s): DEL with the current "
		         "network",
		         pod->id, cache_path, strerror(-rc));
	if (cache != NULL) {
		/* a cache no DEL can use (a machine crash after its rename, a
		 * disk error): the chain as configured now is the best left */
		struct cni_result ignored;
		struct cradle_err e = { 0 };
		if (cni_cache_result(cache, len, &ignored, &e) < 0) {
			log_warn("sandbox %s: CNI cache \"%s\" is damaged (%s): DEL with the "
			         "current network",
			         pod->id, cache_path, e.msg);
			free(cache);
			cache = NULL;
			len = 0;
			rc = -EINVAL;
		}
	}
	if (cache == NULL) {
		struct cradle_err e = { 0 };
		/* no cache: the chain as configured now, when there is one */
		if (net_get(n, &r, &e) < 0) {
			if (rc == -ENOENT)
				return 0;
			*err = e;
			cradle_err_wrap(err, "DEL of sandbox %s without its cache", pod->id);
			return -1;
		}
	}
	for (int attempt = 0; attempt < 2; attempt++) {
		if (attempt > 0)
			log_warn("sandbox %s: CNI DEL failed (%s); trying again", pod->id,
			         err->msg);
		memset(err, 0, sizeof(*err));
		rc = cni_del(cache, len, r != NULL ? r->net : NULL, n->bin_dirs, pod, n->timeout_ms,
		             err);
		if (rc == 0)
			break;
	}
	free(cache);
	ref_put(r);
	if (rc < 0)
		return -1;
	if (unlink(cache_path) != 0 && errno != ENOENT)
		log_warn("sandbox %s: remove \"%s\": %s", pod->id, cache_path, strerror(errno));
	return 0;
}
