/* records.c - sandbox records on the store (see records.h). */
#include "core/records.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static int
check_id(const char *id, struct cradle_err *err)
{
	if (id == NULL || !proto_valid_id(id))
		return cradle_err_errno(
			err, EINVAL,
			"invalid sandbox id \"%.64s\": must be %d lower-case hex characters",
			id != NULL ? id : "", CRADLE_ID_LEN);
	return 0;
}

int
records_put(struct store *st, const struct proto_sandbox *s, struct cradle_err *err)
{
	msgpack_sbuffer sb;
	int rc;

	if ((rc = check_id(s->id, err)) < 0)
		return rc;
	/* Encode before the write transaction: LMDB's writer lock is then
	 * held only for the copy into the map. */
	msgpack_sbuffer_init(&sb);
	if ((rc = proto_sandbox_encode(&sb, s, err)) == 0)
		rc = store_put(st, RECORDS_DB, s->id, sb.data, sb.size, err);
	msgpack_sbuffer_destroy(&sb);
	if (rc < 0)
		cradle_err_wrap(err, "failed to store sandbox \"%s\"", s->id);
	return rc;
}

int
records_del(struct store *st, const char *id, struct cradle_err *err)
{
	int rc = check_id(id, err);

	if (rc == 0 && (rc = store_del(st, RECORDS_DB, id, err)) < 0)
		cradle_err_wrap(err, "failed to delete sandbox \"%s\"", id);
	return rc;
}

/* Decode the stored value of key id into out (which owns nothing on
 * failure). */
static int
decode(const char *id, const void *buf, size_t len, struct proto_sandbox *out,
       struct cradle_err *err)
{
	memset(out, 0, sizeof(*out));
	if (strlen(id) != CRADLE_ID_LEN || !proto_valid_id(id)) {
		/* (a NUL inside the key shortens it: the length check sees that) */
		cradle_err_set(err, CRADLE_INTERNAL,
		               "corrupt sandbox record: key \"%.64s\" is not a sandbox id", id);
		return -EIO;
	}
	if (proto_sandbox_decode(buf, len, out, err) < 0) {
		proto_sandbox_fini(out);
		cradle_err_wrap(err, "corrupt record for sandbox \"%s\"", id);
		if (err != NULL)
			err->code = CRADLE_INTERNAL;
		return -EIO;
	}
	if (strcmp(out->id, id) != 0) {
		cradle_err_set(err, CRADLE_INTERNAL,
		               "corrupt record for sandbox \"%s\": it holds id \"%s\"", id,
		               out->id);
		proto_sandbox_fini(out);
		return -EIO;
	}
	return 0;
}

int
records_get(struct store *st, const char *id, struct proto_sandbox *out, struct cradle_err *err)
{
	void *buf = NULL;
	size_t len = 0;
	int rc;

	/* On every failure out owns nothing, so proto_sandbox_fini is safe. */
	memset(out, 0, sizeof(*out));
	pod_config_init(&out->config);
	if ((rc = check_id(id, err)) < 0)
		return rc;
	if ((rc = store_get(st, RECORDS_DB, id, &buf, &len, err)) < 0) {
		if (rc == -ENOENT)
			cradle_err_set(err, CRADLE_NOT_FOUND,
			               "sandbox \"%s\" not found in the store", id);
		return rc;
	}
	rc = decode(id, buf, len, out, err);
	free(buf);
	return rc;
}

struct walk {
	int (*fn)(struct proto_sandbox *s, void *arg);
	void (*bad)(const char *id, const struct cradle_err *e, void *arg);
	void *arg;
};

static int
walk_one(const char *key, const void *data, size_t len, void *arg)
{
	struct walk *w = arg;
	struct proto_sandbox rec;
	struct cradle_err e = { 0 };
	int rc;

	if (decode(key, data, len, &rec, &e) < 0) {
		if (w->bad != NULL)
			w->bad(key, &e, w->arg);
		return 0;
	}
	rc = w->fn(&rec, w->arg);
	proto_sandbox_fini(&rec);
	return rc;
}

int
records_foreach(struct store *st, int (*fn)(struct proto_sandbox *s, void *arg),
                void (*bad)(const char *id, const struct cradle_err *e, void *arg), void *arg,
                struct cradle_err *err)
{
	struct walk w = { .fn = fn, .bad = bad, .arg = arg };

	return store_foreach(st, RECORDS_DB, walk_one, &w, err);
}
