/* test_spec_kvs.c - a sandbox's spec annotations and labels on the wire
 * (proto/codec.c, proto/config.c): "spec_annotations" and "spec_labels"
 * of the SANDBOX map are written only when set and read back, copied and
 * freed with the sandbox; a record written before they existed (no such
 * keys) still decodes, with none; the largest sandbox a request can lead
 * to fits a record and a status reply.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/proto.h"
#include "tests/unit/lib/unit.h"

static const char id_a[] = "00000000000000000000000000000000000000000000000000000000000000aa";

static void
pk_s(msgpack_packer *pk, const char *s)
{
	ck_assert_int_eq(msgpack_pack_str(pk, strlen(s)), 0);
	ck_assert_int_eq(msgpack_pack_str_body(pk, s, strlen(s)), 0);
}

static void
pk_kv(msgpack_packer *pk, const char *k, const char *v)
{
	pk_s(pk, k);
	pk_s(pk, v);
}

static void
pk_ki(msgpack_packer *pk, const char *k, int64_t v)
{
	pk_s(pk, k);
	ck_assert_int_eq(msgpack_pack_int64(pk, v), 0);
}

/* A running sandbox's record as cradle wrote it before the spec's
 * annotations and labels were kept: every key it had then, no others. */
static void
old_record(msgpack_sbuffer *sb)
{
	msgpack_packer pk;

	msgpack_sbuffer_init(sb);
	msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
	ck_assert_int_eq(msgpack_pack_map(&pk, 23), 0);
	pk_kv(&pk, "id", id_a);
	pk_s(&pk, "config");
	ck_assert_int_eq(msgpack_pack_map(&pk, 3), 0);
	pk_s(&pk, "metadata");
	ck_assert_int_eq(msgpack_pack_map(&pk, 4), 0);
	pk_kv(&pk, "name", "old");
	pk_kv(&pk, "uid", "uid-old");
	pk_kv(&pk, "namespace", "default");
	pk_ki(&pk, "attempt", 1);
	pk_s(&pk, "labels");
	ck_assert_int_eq(msgpack_pack_map(&pk, 1), 0);
	pk_kv(&pk, "app", "old");
	pk_s(&pk, "annotations");
	ck_assert_int_eq(msgpack_pack_map(&pk, 1), 0);
	pk_kv(&pk, "note", "kept");
	pk_kv(&pk, "runtime_handler", "runc");
	pk_kv(&pk, "phase", "running");
	pk_kv(&pk, "state", "SANDBOX_READY");
	pk_ki(&pk, "created_at", 1000);
	pk_ki(&pk, "started_at", 2000);
	pk_ki(&pk, "pid", 4242);
	pk_ki(&pk, "pid_start_time", 77);
	pk_ki(&pk, "exit_status", 0);
	pk_ki(&pk, "exited_at", 0);
	pk_kv(&pk, "netns_path", "/run/netns/cni-1");
	pk_kv(&pk, "hostname_path", "/s/hostname");
	pk_kv(&pk, "hosts_path", "/s/hosts");
	pk_kv(&pk, "resolv_conf_path", "/s/resolv.conf");
	pk_kv(&pk, "shm_path", "/s/shm");
	pk_kv(&pk, "cgroup_path",
	      "/cradle/"
	      "aa");
	pk_kv(&pk, "process_label", "system_u:system_r:container_t:s0:c1,c2");
	pk_kv(&pk, "mount_label", "system_u:object_r:container_file_t:s0:c1,c2");
	pk_kv(&pk, "runtime_type", "io.containerd.runc.v2");
	pk_kv(&pk, "image_ref", "cradle.local/pause:built-in");
	pk_kv(&pk, "image_digest",
	      "sha256:"
	      "0000000000000000000000000000000000000000000000000000000000000001");
	pk_s(&pk, "pod_ips");
	ck_assert_int_eq(msgpack_pack_array(&pk, 1), 0);
	pk_s(&pk, "10.88.0.5");
}

START_TEST(test_old_record_decodes)
{
	struct cradle_err err = { 0 };
	struct proto_sandbox s, back;
	msgpack_sbuffer sb, sb2;

	old_record(&sb);
	ck_assert_msg(proto_sandbox_decode(sb.data, sb.size, &s, &err) == 0, "%s", err.msg);
	ck_assert_str_eq(s.id, id_a);
	ck_assert_int_eq(s.phase, PHASE_RUNNING);
	ck_assert_int_eq(s.pid, 4242);
	ck_assert_str_eq(s.config.metadata.name, "old");
	ck_assert_str_eq(proto_kvs_get(&s.config.labels, "app"), "old");
	ck_assert_str_eq(s.image_ref, "cradle.local/pause:built-in");
	ck_assert_uint_eq(s.pod_ips.n, 1);
	/* none kept then: none now */
	ck_assert_uint_eq(s.spec_annotations.n, 0);
	ck_assert_uint_eq(s.spec_labels.n, 0);
	/* and written back as it was: no keys for them */
	msgpack_sbuffer_init(&sb2);
	ck_assert_int_eq(proto_sandbox_encode(&sb2, &s, &err), 0);
	ck_assert_ptr_null(memmem(sb2.data, sb2.size, "spec_", 5));
	ck_assert_int_eq(proto_sandbox_decode(sb2.data, sb2.size, &back, &err), 0);
	ck_assert_uint_eq(back.spec_labels.n, 0);
	proto_sandbox_fini(&back);
	msgpack_sbuffer_destroy(&sb2);
	proto_sandbox_fini(&s);
	msgpack_sbuffer_destroy(&sb);
}
END_TEST

static void
fill(struct proto_sandbox *s)
{
	memset(s, 0, sizeof(*s));
	pod_config_init(&s->config);
	memcpy(s->id, id_a, sizeof(s->id));
	s->phase = PHASE_RUNNING;
	s->pid = 7;
	s->config.metadata.name = unit_strdup("web");
	s->config.metadata.uid = unit_strdup("uid-1");
	s->config.metadata.namespace = unit_strdup("default");
	ck_assert_int_eq(proto_kvs_add(&s->config.labels, "app", "web"), 0);
	ck_assert_int_eq(proto_kvs_add(&s->spec_labels, "app", "web"), 0);
	ck_assert_int_eq(proto_kvs_add(&s->spec_labels, "io.cri-containerd.kind", "sandbox"), 0);
	ck_assert_int_eq(
		proto_kvs_add(&s->spec_annotations, "io.kubernetes.cri.sandbox-name", "web"), 0);
	ck_assert_int_eq(proto_kvs_add(&s->spec_annotations, "io.kubernetes.cri.sandbox-id", id_a),
	                 0);
	ck_assert_int_eq(proto_kvs_add(&s->spec_annotations, "example.com/pass", ""), 0);
}

static void
assert_kvs_eq(const struct proto_kvs *a, const struct proto_kvs *b)
{
	ck_assert_uint_eq(a->n, b->n);
	for (size_t i = 0; i < a->n; i++)
		ck_assert_str_eq(proto_kvs_get(b, a->v[i].key), a->v[i].value);
}

START_TEST(test_roundtrip_copy_status)
{
	struct cradle_err err = { 0 };
	struct proto_sandbox s, back, copy;
	struct proto_reply rep, got;
	msgpack_sbuffer sb;

	fill(&s);
	/* a record */
	msgpack_sbuffer_init(&sb);
	ck_assert_int_eq(proto_sandbox_encode(&sb, &s, &err), 0);
	ck_assert_msg(proto_sandbox_decode(sb.data, sb.size, &back, &err) == 0, "%s", err.msg);
	assert_kvs_eq(&s.spec_labels, &back.spec_labels);
	assert_kvs_eq(&s.spec_annotations, &back.spec_annotations);
	ck_assert_str_eq(proto_kvs_get(&back.spec_annotations, "example.com/pass"), "");
	/* the pod's own stay apart */
	ck_assert_uint_eq(back.config.labels.n, 1);
	ck_assert_uint_eq(back.config.annotations.n, 0);
	msgpack_sbuffer_destroy(&sb);

	/* a copy owns its own */
	ck_assert_int_eq(proto_sandbox_copy(&copy, &back), 0);
	proto_sandbox_fini(&back);
	ck_assert_str_eq(proto_kvs_get(&copy.spec_labels, "io.cri-containerd.kind"), "sandbox");
	ck_assert_str_eq(proto_kvs_get(&copy.spec_annotations, "io.kubernetes.cri.sandbox-id"),
	                 id_a);

	/* a status reply carries them */
	proto_reply_init(&rep, OP_STATUS);
	rep.ok = true;
	rep.n_sandboxes = 1;
	rep.sandboxes = calloc(1, sizeof(*rep.sandboxes));
	ck_assert_ptr_nonnull(rep.sandboxes);
	rep.sandboxes[0] = copy;
	msgpack_sbuffer_init(&sb);
	ck_assert_int_eq(proto_reply_encode(&sb, &rep, &err), 0);
	ck_assert_msg(proto_reply_decode(OP_STATUS, sb.data, sb.size, &got, &err) == 0, "%s",
	              err.msg);
	ck_assert(got.ok);
	ck_assert_uint_eq(got.n_sandboxes, 1);
	assert_kvs_eq(&s.spec_labels, &got.sandboxes[0].spec_labels);
	assert_kvs_eq(&s.spec_annotations, &got.sandboxes[0].spec_annotations);
	proto_reply_fini(&got);
	proto_reply_fini(&rep);
	msgpack_sbuffer_destroy(&sb);

	/* a wrong type is refused by name */
	proto_kvs_fini(&s.spec_labels);
	ck_assert_int_eq(proto_kvs_add(&s.spec_labels, "k", "v"), 0);
	msgpack_sbuffer_init(&sb);
	ck_assert_int_eq(proto_sandbox_encode(&sb, &s, &err), 0);
	char *at = memmem(sb.data, sb.size, "spec_labels", 11);
	ck_assert_ptr_nonnull(at);
	/* the map header after the key: a fixmap of 1 pair -> a fixarray
	 * of its 2 strings */
	ck_assert_int_eq((unsigned char)at[11], 0x81);
	at[11] = (char)0x92;
	ck_assert_int_lt(proto_sandbox_decode(sb.data, sb.size, &back, &err), 0);
	ck_assert_int_eq(err.code, CRADLE_INVALID_ARGUMENT);
	ck_assert_msg(strstr(err.msg, "spec_labels") != NULL, "%s", err.msg);
	msgpack_sbuffer_destroy(&sb);
	proto_sandbox_fini(&s);
}
END_TEST

/* n labels "<prefix><i>" with values of vlen bytes. */
static void
add_many(struct proto_kvs *kvs, const char *prefix, size_t n, size_t vlen)
{
	char key[64], *v = malloc(vlen + 1);

	ck_assert_ptr_nonnull(v);
	memset(v, 'v', vlen);
	v[vlen] = '\0';
	for (size_t i = 0; i < n; i++) {
		snprintf(key, sizeof(key), "%s%zu", prefix, i);
		ck_assert_int_eq(proto_kvs_add(kvs, key, v), 0);
	}
	free(v);
}

/* The most a sandbox can carry: a config as large as a request may be
 * (labels and annotations filling it), every pod label and annotation
 * again in the spec, the sandbox image's labels as large as an image
 * record may be, the sandbox-* set with the longest log directory.  Its
 * record and its status reply are within PROTO_MAX_REPLY_MSG. */
START_TEST(test_largest_fits)
{
	struct cradle_err err = { 0 };
	struct proto_request req;
	struct proto_sandbox s, back;
	struct proto_reply rep, got;
	msgpack_sbuffer sb;
	char *logdir;

	proto_request_init(&req, OP_RUN);
	req.config.metadata.name = unit_strdup("big");
	req.config.metadata.uid = unit_strdup("uid-big");
	req.config.metadata.namespace = unit_strdup("default");
	add_many(&req.config.labels, "l", PROTO_MAX_KV, 2000);
	add_many(&req.config.annotations, "a", PROTO_MAX_KV, 2000);
	/* as close to PROTO_MAX_MSG as the request may be */
	logdir = malloc(PROTO_MAX_STR + 1);
	ck_assert_ptr_nonnull(logdir);
	memset(logdir, 'd', PROTO_MAX_STR);
	logdir[0] = '/';
	logdir[PROTO_MAX_STR - 1] = '\0';
	req.config.log_directory = unit_strdup(logdir);
	msgpack_sbuffer_init(&sb);
	ck_assert_msg(proto_request_encode(&sb, &req, &err) == 0, "%s", err.msg);
	ck_assert_uint_le(sb.size, PROTO_MAX_MSG);
	ck_assert_uint_gt(sb.size, PROTO_MAX_MSG - 40000);
	msgpack_sbuffer_destroy(&sb);

	memset(&s, 0, sizeof(s));
	ck_assert_int_eq(pod_config_copy(&s.config, &req.config), 0);
	proto_request_fini(&req);
	memcpy(s.id, id_a, sizeof(s.id));
	s.phase = PHASE_RUNNING;
	/* image labels: as many as fit with the pod's in one map, about
	 * PROTO_MAX_MSG of them */
	add_many(&s.spec_labels, "image.", PROTO_MAX_ENTRIES - PROTO_MAX_KV - 1,
	         PROTO_MAX_MSG / (PROTO_MAX_ENTRIES - PROTO_MAX_KV - 1));
	for (size_t i = 0; i < s.config.labels.n; i++)
		ck_assert_int_eq(proto_kvs_add(&s.spec_labels, s.config.labels.v[i].key,
		                               s.config.labels.v[i].value),
		                 0);
	ck_assert_int_eq(proto_kvs_add(&s.spec_labels, "io.cri-containerd.kind", "sandbox"), 0);
	ck_assert_uint_eq(s.spec_labels.n, PROTO_MAX_ENTRIES);
	for (size_t i = 0; i < s.config.annotations.n; i++)
		ck_assert_int_eq(proto_kvs_add(&s.spec_annotations, s.config.annotations.v[i].key,
		                               s.config.annotations.v[i].value),
		                 0);
	ck_assert_int_eq(proto_kvs_add(&s.spec_annotations,
	                               "io.kubernetes.cri.sandbox-log-directory", logdir),
	                 0);
	free(logdir);

	msgpack_sbuffer_init(&sb);
	ck_assert_msg(proto_sandbox_encode(&sb, &s, &err) == 0, "%s", err.msg);
	ck_assert_uint_gt(sb.size, 3 * (size_t)PROTO_MAX_MSG - 200000);
	ck_assert_msg(proto_sandbox_decode(sb.data, sb.size, &back, &err) == 0, "%s", err.msg);
	ck_assert_uint_eq(back.spec_labels.n, PROTO_MAX_ENTRIES);
	ck_assert_uint_eq(back.spec_annotations.n, PROTO_MAX_KV + 1);
	proto_sandbox_fini(&back);
	msgpack_sbuffer_destroy(&sb);

	proto_reply_init(&rep, OP_STATUS);
	rep.ok = true;
	rep.n_sandboxes = 1;
	rep.sandboxes = calloc(1, sizeof(*rep.sandboxes));
	ck_assert_ptr_nonnull(rep.sandboxes);
	ck_assert_int_eq(proto_sandbox_copy(&rep.sandboxes[0], &s), 0);
	msgpack_sbuffer_init(&sb);
	ck_assert_msg(proto_reply_encode(&sb, &rep, &err) == 0, "%s", err.msg);
	ck_assert_uint_le(sb.size, PROTO_MAX_REPLY_MSG);
	ck_assert_msg(proto_reply_decode(OP_STATUS, sb.data, sb.size, &got, &err) == 0, "%s",
	              err.msg);
	ck_assert_uint_eq(got.sandboxes[0].spec_labels.n, PROTO_MAX_ENTRIES);
	proto_reply_fini(&got);
	proto_reply_fini(&rep);
	msgpack_sbuffer_destroy(&sb);

	/* one label more than a map may hold: the encoder says so */
	ck_assert_int_eq(proto_kvs_add(&s.spec_labels, "one.more", "x"), 0);
	msgpack_sbuffer_init(&sb);
	ck_assert_int_lt(proto_sandbox_encode(&sb, &s, &err), 0);
	ck_assert_int_eq(err.code, CRADLE_RESOURCE_EXHAUSTED);
	ck_assert_msg(strstr(err.msg, "1025 labels") != NULL, "%s", err.msg);
	ck_assert_uint_eq(sb.size, 0);
	msgpack_sbuffer_destroy(&sb);
	proto_sandbox_fini(&s);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("spec_kvs");

	unit_tcase(
		s, "core", NULL, NULL, 60,
		UNIT_TESTS(test_old_record_decodes, test_roundtrip_copy_status, test_largest_fits));
	return unit_run(s, "test_spec_kvs", 0);
}
