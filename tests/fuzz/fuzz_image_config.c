/* fuzz_image_config.c - the OCI image config reader (image_config_parse),
 * whose result feeds the spec builder (entrypoint, env, user, labels).
 *
 * Whatever the bytes: a refusal keeps the error contract and leaves
 * nothing owned; a config accepted holds only non-NULL strings, and the
 * user databases are left alone.
 */
#include "image/config.h"
#include "tests/fuzz/fuzz.h"

static void
check_strs(const struct proto_strs *l, const char *what)
{
	FUZZ_CHECK(l->n == 0 || l->v != NULL, "%s: %zu strings, no array", what, l->n);
	for (size_t i = 0; i < l->n; i++)
		FUZZ_CHECK(l->v[i] != NULL, "%s[%zu] is NULL", what, i);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct image_config ic;
	struct cradle_err e = { 0 };

	if (image_config_parse((const char *)data, size, "fuzz", &ic, &e) < 0) {
		fuzz_check_err(&e, "image config refused");
		FUZZ_CHECK(ic.entrypoint.n == 0 && ic.cmd.n == 0 && ic.env.n == 0 &&
		                   ic.labels.n == 0 && ic.working_dir == NULL && ic.user == NULL,
		           "refused config holds values");
		return 0;
	}
	check_strs(&ic.entrypoint, "Entrypoint");
	check_strs(&ic.cmd, "Cmd");
	check_strs(&ic.env, "Env");
	FUZZ_CHECK(ic.labels.n == 0 || ic.labels.v != NULL, "labels without an array");
	for (size_t i = 0; i < ic.labels.n; i++)
		FUZZ_CHECK(ic.labels.v[i].key != NULL && ic.labels.v[i].value != NULL,
		           "label %zu has a NULL", i);
	/* one value per key */
	for (size_t i = 0; i < ic.labels.n; i++)
		for (size_t j = i + 1; j < ic.labels.n; j++)
			FUZZ_CHECK(strcmp(ic.labels.v[i].key, ic.labels.v[j].key) != 0,
			           "label \"%s\" twice", ic.labels.v[i].key);
	FUZZ_CHECK(ic.etc_passwd == NULL && ic.etc_group == NULL, "user databases set");
	image_config_fini(&ic);
	return 0;
}
