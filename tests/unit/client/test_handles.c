/* test_handles.c - libcradle's handles from the inside (client/internal.h):
 * a decoded sandbox or image taken into a handle answers every getter with
 * what the wire struct held and renders as the CLI prints it; list replies
 * become lists and leave the reply empty; a pod setter that refuses a
 * value leaves the pod as it was.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "client/internal.h"
#include "tests/unit/lib/unit.h"

#define ID "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static void
fill_sandbox(struct proto_sandbox *p, const char *name, int64_t created_at)
{
	memset(p, 0, sizeof(*p));
	pod_config_init(&p->config);
	memcpy(p->id, ID, sizeof(p->id));
	p->config.metadata.name = strdup(name);
	p->config.metadata.namespace = strdup("prod");
	p->config.metadata.uid = strdup("u-1");
	p->config.metadata.attempt = 2;
	p->config.hostname = strdup("web-1");
	ck_assert_int_eq(proto_kvs_add(&p->config.labels, "app", "web"), 0);
	ck_assert_int_eq(proto_kvs_add(&p->config.labels, "tier", "front"), 0);
	p->phase = PHASE_RUNNING;
	p->created_at = created_at;
	p->started_at = created_at + 1;
	p->pid = 42;
	p->netns_path = strdup("/run/cradle/netns/x");
	p->shm_path = strdup("/run/cradle/shm");
	p->runtime_handler = strdup("runc");
	p->image_ref = strdup("cradle.local/pause:built-in");
}

START_TEST(test_sandbox_getters)
{
	struct proto_sandbox p;
	struct cradle_sandbox *s;
	const char *k, *v;

	fill_sandbox(&p, "web", 1000000000);
	s = cradle_sandbox_take(&p);
	ck_assert_ptr_nonnull(s);
	/* the source gave everything away */
	ck_assert_ptr_null(p.config.metadata.name);
	ck_assert_ptr_null(p.netns_path);

	ck_assert_str_eq(cradle_sandbox_id(s), ID);
	ck_assert_str_eq(cradle_sandbox_name(s), "web");
	ck_assert_str_eq(cradle_sandbox_namespace(s), "prod");
	ck_assert_str_eq(cradle_sandbox_uid(s), "u-1");
	ck_assert_uint_eq(cradle_sandbox_attempt(s), 2);
	ck_assert_int_eq(cradle_sandbox_state(s), CRADLE_STATE_READY);
	ck_assert_int_eq(cradle_sandbox_phase(s), CRADLE_PHASE_RUNNING);
	ck_assert_int_eq(cradle_sandbox_created_at(s), 1000000000);
	ck_assert_int_eq(cradle_sandbox_started_at(s), 1000000001);
	ck_assert_int_eq(cradle_sandbox_exited_at(s), 0);
	ck_assert_int_eq(cradle_sandbox_pid(s), 42);
	ck_assert_str_eq(cradle_sandbox_hostname(s), "web-1");
	ck_assert_str_eq(cradle_sandbox_runtime_handler(s), "runc");
	ck_assert_str_eq(cradle_sandbox_image(s), "cradle.local/pause:built-in");
	ck_assert_str_eq(cradle_sandbox_netns_path(s), "/run/cradle/netns/x");
	ck_assert_str_eq(cradle_sandbox_shm_path(s), "/run/cradle/shm");
	ck_assert_ptr_null(cradle_sandbox_cgroup_path(s));
	ck_assert_ptr_null(cradle_sandbox_process_label(s));
	ck_assert_str_eq(cradle_sandbox_label(s, "tier"), "front");
	ck_assert_ptr_null(cradle_sandbox_label(s, "nope"));
	ck_assert_uint_eq(cradle_sandbox_label_count(s), 2);
	ck_assert(cradle_sandbox_label_at(s, 1, &k, &v));
	ck_assert_str_eq(k, "tier");
	ck_assert_str_eq(v, "front");
	ck_assert(!cradle_sandbox_label_at(s, 2, &k, &v));
	ck_assert_uint_eq(cradle_sandbox_annotation_count(s), 0);
	ck_assert(!cradle_sandbox_annotation_at(s, 0, &k, &v));
	cradle_sandbox_free(s);

	/* NULL is answered, not crashed on */
	ck_assert_ptr_null(cradle_sandbox_id(NULL));
	ck_assert_int_eq(cradle_sandbox_pid(NULL), 0);
	ck_assert_int_eq(cradle_sandbox_state(NULL), CRADLE_STATE_NOTREADY);
	ck_assert_ptr_null(cradle_sandbox_label(NULL, "app"));
	ck_assert(!cradle_image_pinned(NULL));
	ck_assert_ptr_null(cradle_image_layer(NULL, 0));
	cradle_sandbox_free(NULL);
}
END_TEST

START_TEST(test_sandbox_json)
{
	struct proto_sandbox p;
	struct cradle_sandbox *s;
	struct cradle_error err;
	char *text = NULL;

	fill_sandbox(&p, "web", 1500000000);
	s = cradle_sandbox_take(&p);
	ck_assert_int_eq(cradle_sandbox_to_json(s, CRADLE_JSON_PRETTY, &text, &err), 0);
	/* what `cradle inspectp` prints and test_cli reads */
	ck_assert_msg(strstr(text, "\"id\": \"" ID "\""), "%s", text);
	ck_assert_msg(strstr(text, "\"state\": \"SANDBOX_READY\""), "%s", text);
	ck_assert_msg(strstr(text, "\"phase\": \"running\""), "%s", text);
	ck_assert_msg(strstr(text, "\"created\": \"1970-01-01T00:00:01.5Z\""), "%s", text);
	ck_assert_msg(strstr(text, "\"pid\": 42"), "%s", text);
	ck_assert_msg(strstr(text, "\"netns\": \"/run/cradle/netns/x\""), "%s", text);
	ck_assert_msg(strstr(text, "\"app\": \"web\""), "%s", text);
	ck_assert_msg(strstr(text, "\"annotations\": {}"), "%s", text);
	ck_assert_msg(strstr(text, "\"cgroup_path\": null"), "%s", text);
	ck_assert_msg(strstr(text, "\"network\": \"POD\""), "%s", text);
	free(text);
	ck_assert_int_eq(cradle_sandbox_to_json(s, 0, &text, &err), 0);
	ck_assert_msg(!strchr(text, '\n') && strstr(text, "\"pid\":42"), "%s", text);
	free(text);
	cradle_sandbox_free(s);
}
END_TEST

START_TEST(test_lists)
{
	const struct cradle_sandbox *v[3];
	struct cradle_sandbox_list *l;
	struct cradle_image_list *il;
	struct cradle_error err;
	struct proto_reply rep;
	char *text;
	size_t i;

	proto_reply_init(&rep, OP_LIST);
	rep.sandboxes = calloc(3, sizeof(*rep.sandboxes));
	ck_assert_ptr_nonnull(rep.sandboxes);
	rep.n_sandboxes = 3;
	fill_sandbox(&rep.sandboxes[0], "a", 1);
	fill_sandbox(&rep.sandboxes[1], "b", 2);
	fill_sandbox(&rep.sandboxes[2], "c", 3);
	l = cradle_sandbox_list_take(&rep);
	ck_assert_ptr_nonnull(l);
	ck_assert_ptr_null(rep.sandboxes);
	ck_assert_uint_eq(rep.n_sandboxes, 0);
	proto_reply_fini(&rep);
	ck_assert_uint_eq(cradle_sandbox_list_count(l), 3);
	ck_assert_str_eq(cradle_sandbox_name(cradle_sandbox_list_at(l, 2)), "c");
	ck_assert_ptr_null(cradle_sandbox_list_at(l, 3));
	for (i = 0; i < 3; i++)
		v[i] = cradle_sandbox_list_at(l, 2 - i);
	ck_assert_int_eq(cradle_sandboxes_to_json(v, 3, 0, &text, &err), 0);
	ck_assert_msg(text[0] == '[' &&
	                      strstr(text, "\"name\":\"c\"") < strstr(text, "\"name\":\"a\""),
	              "%s", text);
	free(text);
	v[1] = NULL;
	ck_assert_int_lt(cradle_sandboxes_to_json(v, 3, 0, &text, &err), 0);
	ck_assert_int_eq(err.code, CRADLE_STATUS_INVALID_ARGUMENT);
	ck_assert_str_eq(err.message, "sandboxes to JSON: an item of the array is NULL");
	cradle_sandbox_list_free(l);

	/* an empty image list is a list */
	proto_reply_init(&rep, OP_IMAGE_LIST);
	il = cradle_image_list_take(&rep);
	ck_assert_ptr_nonnull(il);
	ck_assert_uint_eq(cradle_image_list_count(il), 0);
	ck_assert_ptr_null(cradle_image_list_at(il, 0));
	cradle_image_list_free(il);
	cradle_sandbox_list_free(NULL);
}
END_TEST

START_TEST(test_image)
{
	struct proto_image p = { 0 };
	struct cradle_image *img;
	struct cradle_error err;
	char *text;

	p.ref = strdup("docker.io/library/busybox:latest");
	snprintf(p.config_digest, sizeof(p.config_digest), "sha256:%064d", 7);
	ck_assert_int_eq(proto_strs_add(&p.layers, "sha256:aa"), 0);
	ck_assert_int_eq(proto_kvs_add(&p.labels, "maintainer", "me"), 0);
	p.size = 742;
	p.pinned = true;
	img = cradle_image_take(&p);
	ck_assert_ptr_nonnull(img);
	ck_assert_ptr_null(p.ref);
	ck_assert_str_eq(cradle_image_ref(img), "docker.io/library/busybox:latest");
	ck_assert_str_eq(cradle_image_manifest_digest(img), "");
	ck_assert_uint_eq(strlen(cradle_image_id(img)), 71);
	ck_assert_int_eq(cradle_image_size(img), 742);
	ck_assert(cradle_image_pinned(img) && !cradle_image_in_use(img));
	ck_assert_uint_eq(cradle_image_layer_count(img), 1);
	ck_assert_str_eq(cradle_image_layer(img, 0), "sha256:aa");
	ck_assert_ptr_null(cradle_image_layer(img, 1));
	ck_assert_str_eq(cradle_image_label(img, "maintainer"), "me");
	ck_assert_uint_eq(cradle_image_label_count(img), 1);
	ck_assert_int_eq(cradle_image_to_json(img, 0, &text, &err), 0);
	ck_assert_msg(strstr(text, "\"layers\":[\"sha256:aa\"]") &&
	                      strstr(text, "\"created\":null"),
	              "%s", text);
	free(text);
	cradle_image_free(img);
}
END_TEST

START_TEST(test_refused_setter_leaves_pod)
{
	struct cradle_error err;
	struct cradle_pod *pod;
	size_t i;

	ck_assert_int_eq(cradle_pod_new("web", "default", "u-1", &pod, &err), 0);
	ck_assert_int_eq(cradle_pod_set_hostname(pod, "web-1", &err), 0);
	ck_assert_int_lt(cradle_pod_set_hostname(pod, "Web_1", &err), 0);
	ck_assert_str_eq(pod->cfg.hostname, "web-1");
	ck_assert_int_eq(cradle_pod_set_label(pod, "app", "web", &err), 0);
	ck_assert_int_eq(cradle_pod_set_label(pod, "app", "api", &err), 0);
	ck_assert_int_lt(cradle_pod_set_label(pod, "bad\xff", "x", &err), 0);
	ck_assert_uint_eq(pod->cfg.labels.n, 1);
	ck_assert_str_eq(proto_kvs_get(&pod->cfg.labels, "app"), "api");
	ck_assert_int_eq(
		cradle_pod_set_namespace_mode(pod, CRADLE_NS_NETWORK, CRADLE_NS_MODE_NODE, &err),
		0);
	ck_assert_int_lt(cradle_pod_set_namespace_mode(pod, CRADLE_NS_NETWORK, -1, &err), 0);
	ck_assert_int_eq(pod->cfg.linux.security_context.namespace_options.network, NS_NODE);
	ck_assert_int_eq(cradle_pod_set_log_directory(pod, "/var/log/pods/x", &err), 0);
	ck_assert_int_eq(cradle_pod_set_log_directory(pod, "", &err), 0);
	ck_assert_ptr_null(pod->cfg.log_directory);
	/* the limit of entries holds for new keys only */
	for (i = pod->cfg.annotations.n; i < PROTO_MAX_KV; i++) {
		char key[32];

		snprintf(key, sizeof(key), "k%zu", i);
		ck_assert_int_eq(cradle_pod_set_annotation(pod, key, "v", &err), 0);
	}
	ck_assert_int_lt(cradle_pod_set_annotation(pod, "one-more", "v", &err), 0);
	ck_assert_msg(strstr(err.message, "annotations: cannot add \"one-more\""), "%s",
	              err.message);
	ck_assert_int_eq(cradle_pod_set_annotation(pod, "k0", "w", &err), 0);
	ck_assert(pod_config_validate(&pod->cfg, "", NULL) == 0);
	cradle_pod_free(pod);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("handles");
	TCase *tc = tcase_create("inside");

	tcase_add_test(tc, test_sandbox_getters);
	tcase_add_test(tc, test_sandbox_json);
	tcase_add_test(tc, test_lists);
	tcase_add_test(tc, test_image);
	tcase_add_test(tc, test_refused_setter_leaves_pod);
	suite_add_tcase(s, tc);
	return unit_run(s, "test_handles", 0);
}
