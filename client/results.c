/* results.c - what the daemon hands back, as the opaque handles of
 * cradle.h: one sandbox, one image, a list of either, and their getters.
 *
 * A handle wraps the decoded wire struct (client/internal.h) and owns
 * everything in it; getters return pointers into it and accept NULL.
 */
#include <stdlib.h>
#include <string.h>

#include "client/internal.h"

_Static_assert((int)CRADLE_PHASE_CREATED == (int)PHASE_CREATED &&
                       (int)CRADLE_PHASE_RUNNING == (int)PHASE_RUNNING &&
                       (int)CRADLE_PHASE_EXITED == (int)PHASE_EXITED,
               "enum cradle_phase differs from proto/proto.h");

/* --- taking decoded results ---------------------------------------- */

struct cradle_sandbox *
cradle_sandbox_take(struct proto_sandbox *p)
{
	struct cradle_sandbox *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->p = *p;
	memset(p, 0, sizeof(*p));
	pod_config_init(&p->config);
	return s;
}

struct cradle_image *
cradle_image_take(struct proto_image *p)
{
	struct cradle_image *img = calloc(1, sizeof(*img));

	if (!img)
		return NULL;
	img->p = *p;
	memset(p, 0, sizeof(*p));
	return img;
}

/* The n wire structs of v as the handles wrapping them: the same bytes,
 * since a handle is its wire struct alone.  NULL when out of memory. */
static void *
wrap_array(const void *v, size_t n, size_t size)
{
	void *w = malloc(n ? n * size : 1);

	if (w && n)
		memcpy(w, v, n * size);
	return w;
}

_Static_assert(sizeof(struct cradle_sandbox) == sizeof(struct proto_sandbox) &&
                       sizeof(struct cradle_image) == sizeof(struct proto_image),
               "a handle is more than its wire struct");

struct cradle_sandbox_list *
cradle_sandbox_list_take(struct proto_reply *rep)
{
	struct cradle_sandbox_list *l = calloc(1, sizeof(*l));

	if (!l || !(l->v = wrap_array(rep->sandboxes, rep->n_sandboxes, sizeof(*l->v)))) {
		free(l);
		return NULL;
	}
	l->n = rep->n_sandboxes;
	free(rep->sandboxes);
	rep->sandboxes = NULL;
	rep->n_sandboxes = 0;
	return l;
}

struct cradle_image_list *
cradle_image_list_take(struct proto_reply *rep)
{
	struct cradle_image_list *l = calloc(1, sizeof(*l));

	if (!l || !(l->v = wrap_array(rep->images, rep->n_images, sizeof(*l->v)))) {
		free(l);
		return NULL;
	}
	l->n = rep->n_images;
	free(rep->images);
	rep->images = NULL;
	rep->n_images = 0;
	return l;
}

/* --- freeing and walking ------------------------------------------- */

void
cradle_sandbox_free(struct cradle_sandbox *s)
{
	if (s)
		proto_sandbox_fini(&s->p);
	free(s);
}

void
cradle_image_free(struct cradle_image *img)
{
	if (img)
		proto_image_fini(&img->p);
	free(img);
}

void
cradle_sandbox_list_free(struct cradle_sandbox_list *l)
{
	for (size_t i = 0; l && i < l->n; i++)
		proto_sandbox_fini(&l->v[i].p);
	if (l)
		free(l->v);
	free(l);
}

void
cradle_image_list_free(struct cradle_image_list *l)
{
	for (size_t i = 0; l && i < l->n; i++)
		proto_image_fini(&l->v[i].p);
	if (l)
		free(l->v);
	free(l);
}

size_t
cradle_sandbox_list_count(const struct cradle_sandbox_list *l)
{
	return l ? l->n : 0;
}

const struct cradle_sandbox *
cradle_sandbox_list_at(const struct cradle_sandbox_list *l, size_t i)
{
	return l && i < l->n ? &l->v[i] : NULL;
}

size_t
cradle_image_list_count(const struct cradle_image_list *l)
{
	return l ? l->n : 0;
}

const struct cradle_image *
cradle_image_list_at(const struct cradle_image_list *l, size_t i)
{
	return l && i < l->n ? &l->v[i] : NULL;
}

/* --- key/value pairs ----------------------------------------------- */

static bool
kv_at(const struct proto_kvs *kvs, size_t i, const char **key, const char **value)
{
	if (i >= kvs->n)
		return false;
	if (key)
		*key = kvs->v[i].key;
	if (value)
		*value = kvs->v[i].value;
	return true;
}

/* The sandbox's labels or annotations, an image's labels; NULL for NULL. */
static const struct proto_kvs *
sandbox_kvs(const struct cradle_sandbox *s, bool labels)
{
	if (!s)
		return NULL;
	return labels ? &s->p.config.labels : &s->p.config.annotations;
}

static const struct proto_kvs *
image_kvs(const struct cradle_image *img)
{
	return img ? &img->p.labels : NULL;
}

const char *
cradle_sandbox_label(const struct cradle_sandbox *s, const char *key)
{
	return proto_kvs_get(sandbox_kvs(s, true), key);
}

size_t
cradle_sandbox_label_count(const struct cradle_sandbox *s)
{
	return s ? s->p.config.labels.n : 0;
}

bool
cradle_sandbox_label_at(const struct cradle_sandbox *s, size_t i, const char **key,
                        const char **value)
{
	return s && kv_at(sandbox_kvs(s, true), i, key, value);
}

const char *
cradle_sandbox_annotation(const struct cradle_sandbox *s, const char *key)
{
	return proto_kvs_get(sandbox_kvs(s, false), key);
}

size_t
cradle_sandbox_annotation_count(const struct cradle_sandbox *s)
{
	return s ? s->p.config.annotations.n : 0;
}

bool
cradle_sandbox_annotation_at(const struct cradle_sandbox *s, size_t i, const char **key,
                             const char **value)
{
	return s && kv_at(sandbox_kvs(s, false), i, key, value);
}

/* The spec's labels or annotations of the sandbox's last start. */
static const struct proto_kvs *
spec_kvs(const struct cradle_sandbox *s, bool labels)
{
	if (!s)
		return NULL;
	return labels ? &s->p.spec_labels : &s->p.spec_annotations;
}

const char *
cradle_sandbox_spec_label(const struct cradle_sandbox *s, const char *key)
{
	return proto_kvs_get(spec_kvs(s, true), key);
}

size_t
cradle_sandbox_spec_label_count(const struct cradle_sandbox *s)
{
	return s ? s->p.spec_labels.n : 0;
}

bool
cradle_sandbox_spec_label_at(const struct cradle_sandbox *s, size_t i, const char **key,
                             const char **value)
{
	return s && kv_at(spec_kvs(s, true), i, key, value);
}

const char *
cradle_sandbox_spec_annotation(const struct cradle_sandbox *s, const char *key)
{
	return proto_kvs_get(spec_kvs(s, false), key);
}

size_t
cradle_sandbox_spec_annotation_count(const struct cradle_sandbox *s)
{
	return s ? s->p.spec_annotations.n : 0;
}

bool
cradle_sandbox_spec_annotation_at(const struct cradle_sandbox *s, size_t i, const char **key,
                                  const char **value)
{
	return s && kv_at(spec_kvs(s, false), i, key, value);
}

const char *
cradle_image_label(const struct cradle_image *img, const char *key)
{
	return proto_kvs_get(image_kvs(img), key);
}

size_t
cradle_image_label_count(const struct cradle_image *img)
{
	return img ? img->p.labels.n : 0;
}

bool
cradle_image_label_at(const struct cradle_image *img, size_t i, const char **key,
                      const char **value)
{
	return img && kv_at(image_kvs(img), i, key, value);
}

/* --- sandbox getters ----------------------------------------------- */

const char *
cradle_sandbox_id(const struct cradle_sandbox *s)
{
	return s ? s->p.id : NULL;
}

const char *
cradle_sandbox_name(const struct cradle_sandbox *s)
{
	return s ? s->p.config.metadata.name : NULL;
}

const char *
cradle_sandbox_namespace(const struct cradle_sandbox *s)
{
	return s ? s->p.config.metadata.namespace : NULL;
}

const char *
cradle_sandbox_uid(const struct cradle_sandbox *s)
{
	return s ? s->p.config.metadata.uid : NULL;
}

const char *
cradle_sandbox_hostname(const struct cradle_sandbox *s)
{
	return s ? s->p.config.hostname : NULL;
}

const char *
cradle_sandbox_runtime_handler(const struct cradle_sandbox *s)
{
	return s ? s->p.runtime_handler : NULL;
}

const char *
cradle_sandbox_runtime_type(const struct cradle_sandbox *s)
{
	return s ? s->p.runtime_type : NULL;
}

const char *
cradle_sandbox_image(const struct cradle_sandbox *s)
{
	return s ? s->p.image_ref : NULL;
}

const char *
cradle_sandbox_ip(const struct cradle_sandbox *s)
{
	return s && s->p.pod_ips.n > 0 ? s->p.pod_ips.v[0] : "";
}

size_t
cradle_sandbox_ip_count(const struct cradle_sandbox *s)
{
	return s ? s->p.pod_ips.n : 0;
}

const char *
cradle_sandbox_ip_at(const struct cradle_sandbox *s, size_t i)
{
	return s && i < s->p.pod_ips.n ? s->p.pod_ips.v[i] : NULL;
}

const char *
cradle_sandbox_netns_path(const struct cradle_sandbox *s)
{
	return s ? s->p.netns_path : NULL;
}

const char *
cradle_sandbox_hostname_path(const struct cradle_sandbox *s)
{
	return s ? s->p.hostname_path : NULL;
}

const char *
cradle_sandbox_hosts_path(const struct cradle_sandbox *s)
{
	return s ? s->p.hosts_path : NULL;
}

const char *
cradle_sandbox_resolv_conf_path(const struct cradle_sandbox *s)
{
	return s ? s->p.resolv_conf_path : NULL;
}

const char *
cradle_sandbox_shm_path(const struct cradle_sandbox *s)
{
	return s ? s->p.shm_path : NULL;
}

const char *
cradle_sandbox_cgroup_path(const struct cradle_sandbox *s)
{
	return s ? s->p.cgroup_path : NULL;
}

const char *
cradle_sandbox_process_label(const struct cradle_sandbox *s)
{
	return s ? s->p.process_label : NULL;
}

const char *
cradle_sandbox_mount_label(const struct cradle_sandbox *s)
{
	return s ? s->p.mount_label : NULL;
}

uint32_t
cradle_sandbox_attempt(const struct cradle_sandbox *s)
{
	return s ? s->p.config.metadata.attempt : 0;
}

int
cradle_sandbox_state(const struct cradle_sandbox *s)
{
	return proto_sandbox_state(s ? &s->p : NULL);
}

int
cradle_sandbox_phase(const struct cradle_sandbox *s)
{
	return s ? s->p.phase : PHASE_CREATED;
}

int64_t
cradle_sandbox_created_at(const struct cradle_sandbox *s)
{
	return s ? s->p.created_at : 0;
}

int64_t
cradle_sandbox_started_at(const struct cradle_sandbox *s)
{
	return s ? s->p.started_at : 0;
}

int64_t
cradle_sandbox_exited_at(const struct cradle_sandbox *s)
{
	return s ? s->p.exited_at : 0;
}

int32_t
cradle_sandbox_pid(const struct cradle_sandbox *s)
{
	return s ? s->p.pid : 0;
}

int32_t
cradle_sandbox_exit_status(const struct cradle_sandbox *s)
{
	return s ? s->p.exit_status : 0;
}

/* --- image getters ------------------------------------------------- */

const char *
cradle_image_ref(const struct cradle_image *img)
{
	return img ? img->p.ref : NULL;
}

const char *
cradle_image_id(const struct cradle_image *img)
{
	return img ? img->p.config_digest : NULL;
}

const char *
cradle_image_manifest_digest(const struct cradle_image *img)
{
	return img ? img->p.manifest_digest : NULL;
}

int64_t
cradle_image_size(const struct cradle_image *img)
{
	return img ? img->p.size : 0;
}

int64_t
cradle_image_created_at(const struct cradle_image *img)
{
	return img ? img->p.created_at : 0;
}

bool
cradle_image_pinned(const struct cradle_image *img)
{
	return img && img->p.pinned;
}

bool
cradle_image_in_use(const struct cradle_image *img)
{
	return img && img->p.in_use;
}

size_t
cradle_image_layer_count(const struct cradle_image *img)
{
	return img ? img->p.layers.n : 0;
}

const char *
cradle_image_layer(const struct cradle_image *img, size_t i)
{
	return img && i < img->p.layers.n ? img->p.layers.v[i] : NULL;
}
