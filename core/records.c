/* records.c - sandbox records on the store (see records.h). */
#include "core/records.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util/clock.h"

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
	void (*bad)(const char *key, const void *data, size_t len, const struct cradle_err *e,
	            void *arg);
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
			w->bad(key, data, len, &e, w->arg);
		return 0;
	}
	rc = w->fn(&rec, w->arg);
	proto_sandbox_fini(&rec);
	return rc;
}

int
records_foreach(struct store *st, int (*fn)(struct proto_sandbox *s, void *arg),
                void (*bad)(const char *key, const void *data, size_t len,
                            const struct cradle_err *e, void *arg),
                void *arg, struct cradle_err *err)
{
	struct walk w = { .fn = fn, .bad = bad, .arg = arg };

	return store_foreach(st, RECORDS_DB, walk_one, &w, err);
}

/* --- quarantine ---------------------------------------------------------- */

/* The value's head; then "at <ns>\n", "reason <text>\n" (newlines in the
 * text become blanks), an empty line, and the record's raw bytes. */
#define QUARANTINE_MAGIC "cradle-quarantine 1\n"

int
records_quarantine(struct store *st, const char *key, const void *data, size_t len,
                   const char *reason, struct cradle_err *err)
{
	char head[CRADLE_ERR_MSG_MAX + 128];
	int n, rc;

	n = snprintf(head, sizeof(head), QUARANTINE_MAGIC "at %lld\nreason %s\n\n",
	             (long long)clock_now_ns(), reason != NULL ? reason : "");
	if (n < 0 || (size_t)n >= sizeof(head))
		n = (int)sizeof(head) - 1; /* (a reason is shorter than an error message) */
	/* one line: the reason ends at the first newline of the value */
	for (char *p = strstr(head, "reason ") + 7; p < head + n - 2; p++)
		if (*p == '\n')
			*p = ' ';
	head[n - 2] = '\n';
	head[n - 1] = '\n';
	char *val = malloc((size_t)n + len + 1);
	if (val == NULL)
		return cradle_err_nomem(err);
	memcpy(val, head, (size_t)n);
	if (len > 0)
		memcpy(val + n, data, len);
	rc = store_put(st, RECORDS_QUARANTINE_DB, key, val, (size_t)n + len, err);
	free(val);
	if (rc == 0)
		rc = store_del(st, RECORDS_DB, key, err);
	if (rc < 0)
		cradle_err_wrap(err, "failed to quarantine the record of sandbox \"%.64s\"", key);
	return rc;
}

/* Split a stored quarantine value (NUL-terminated by the store) into q;
 * reason is copied into buf.  False when it is not what
 * records_quarantine writes. */
static bool
quarantine_parse(const char *v, size_t len, struct records_quarantined *q, char *buf,
                 size_t buf_len)
{
	const size_t ml = strlen(QUARANTINE_MAGIC);
	const char *p, *nl, *end = v + len;
	char *num_end;

	if (len < ml || memcmp(v, QUARANTINE_MAGIC, ml) != 0)
		return false;
	p = v + ml;
	if ((size_t)(end - p) < 3 || memcmp(p, "at ", 3) != 0 ||
	    (nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
		return false;
	q->at = strtoll(p + 3, &num_end, 10);
	if (num_end != nl)
		return false;
	p = nl + 1;
	if ((size_t)(end - p) < 7 || memcmp(p, "reason ", 7) != 0 ||
	    (nl = memchr(p, '\n', (size_t)(end - p))) == NULL || nl + 1 >= end || nl[1] != '\n')
		return false;
	size_t n = (size_t)(nl - (p + 7));
	if (n >= buf_len)
		n = buf_len - 1;
	memcpy(buf, p + 7, n);
	buf[n] = '\0';
	q->reason = buf;
	q->record = nl + 2;
	q->len = (size_t)(end - (nl + 2));
	return true;
}

struct qwalk {
	int (*fn)(const struct records_quarantined *q, void *arg);
	void *arg;
};

static int
qwalk_one(const char *key, const void *data, size_t len, void *arg)
{
	struct qwalk *w = arg;
	struct records_quarantined q = { .key = key };
	char reason[CRADLE_ERR_MSG_MAX];

	if (!quarantine_parse(data, len, &q, reason, sizeof(reason))) {
		q.reason = "(unreadable quarantine entry)";
		q.at = 0;
		q.record = data;
		q.len = len;
	}
	return w->fn(&q, w->arg);
}

int
records_quarantined_foreach(struct store *st,
                            int (*fn)(const struct records_quarantined *q, void *arg), void *arg,
                            struct cradle_err *err)
{
	struct qwalk w = { .fn = fn, .arg = arg };

	return store_foreach(st, RECORDS_QUARANTINE_DB, qwalk_one, &w, err);
}

struct qdrop {
	struct store *st;
	struct cradle_err *err;
	long n;
};

static int
drop_one(const struct records_quarantined *q, void *arg)
{
	struct qdrop *d = arg;

	if (store_del(d->st, RECORDS_QUARANTINE_DB, q->key, d->err) < 0)
		return -1;
	d->n++;
	return 0;
}

long
records_drop_quarantined(struct store *st, struct cradle_err *err)
{
	struct qdrop d = { .st = st, .err = err };

	if (records_quarantined_foreach(st, drop_one, &d, err) < 0) {
		cradle_err_wrap(err, "failed to drop quarantined records");
		return -1;
	}
	return d.n;
}
