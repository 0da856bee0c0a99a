/* config.c - an image's config and user databases (see config.h). */
#include "image/config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>

#include "util/fs.h"

static int
strs_from(json_object *arr, struct proto_strs *out, const char *path, const char *field,
          struct cradle_err *err)
{
	if (arr == NULL || json_object_is_type(arr, json_type_null))
		return 0;
	if (!json_object_is_type(arr, json_type_array))
		return cradle_err_set(err, CRADLE_INVALID_ARGUMENT, "image config \"%s\": %s: expected an array",
		                      path, field);
	for (size_t i = 0; i < json_object_array_length(arr); i++) {
		json_object *v = json_object_array_get_idx(arr, i);
		if (!json_object_is_type(v, json_type_string))
			return cradle_err_set(err, CRADLE_INVALID_ARGUMENT,
			                      "image config \"%s\": %s[%zu]: expected a string", path, field, i);
		if (proto_strs_add(out, json_object_get_string(v)) < 0)
			return cradle_err_set(err, CRADLE_RESOURCE_EXHAUSTED, "out of memory");
	}
	return 0;
}

static int
str_from(json_object *v, char **out, const char *path, const char *field, struct cradle_err *err)
{
	if (v == NULL || json_object_is_type(v, json_type_null))
		return 0;
	if (!json_object_is_type(v, json_type_string))
		return cradle_err_set(err, CRADLE_INVALID_ARGUMENT, "image config \"%s\": %s: expected a string",
		                      path, field);
	if ((*out = strdup(json_object_get_string(v))) == NULL)
		return cradle_err_set(err, CRADLE_RESOURCE_EXHAUSTED, "out of memory");
	return 0;
}

int
image_config_parse(const char *text, size_t len, const char *path, struct image_config *out,
                   struct cradle_err *err)
{
	memset(out, 0, sizeof(*out));
	struct json_tokener *tok = json_tokener_new();
	if (tok == NULL)
		return cradle_err_set(err, CRADLE_RESOURCE_EXHAUSTED, "out of memory");
	json_object *root = json_tokener_parse_ex(tok, text, (int)len);
	enum json_tokener_error jerr = json_tokener_get_error(tok);
	size_t end = json_tokener_get_parse_end(tok);
	json_tokener_free(tok);
	/* one JSON value and nothing after it but white space */
	bool trailing = false;
	for (size_t i = end; root != NULL && i < len; i++)
		if (text[i] != ' ' && text[i] != '\n' && text[i] != '\t' && text[i] != '\r')
			trailing = true;
	if (root == NULL || jerr != json_tokener_success || trailing) {
		json_object_put(root);
		return cradle_err_set(err, CRADLE_INVALID_ARGUMENT, "image config \"%s\": %s", path,
		                      trailing ? "text after the JSON value"
		                      : jerr == json_tokener_continue ? "unexpected end of file"
		                      : json_tokener_error_desc(jerr));
	}
	json_object *cfg = NULL, *v;
	if (!json_object_object_get_ex(root, "config", &cfg) || !json_object_is_type(cfg, json_type_object)) {
		json_object_put(root);
		return cradle_err_set(err, CRADLE_INVALID_ARGUMENT, "image config \"%s\": no \"config\" object", path);
	}
	json_object *labels = NULL;
	int r = 0;
	if (r == 0)
		r = strs_from(json_object_object_get_ex(cfg, "Entrypoint", &v) ? v : NULL, &out->entrypoint, path, "Entrypoint", err);
	if (r == 0)
		r = strs_from(json_object_object_get_ex(cfg, "Cmd", &v) ? v : NULL, &out->cmd, path, "Cmd", err);
	if (r == 0)
		r = strs_from(json_object_object_get_ex(cfg, "Env", &v) ? v : NULL, &out->env, path, "Env", err);
	if (r == 0)
		r = str_from(json_object_object_get_ex(cfg, "WorkingDir", &v) ? v : NULL, &out->working_dir, path, "WorkingDir", err);
	if (r == 0)
		r = str_from(json_object_object_get_ex(cfg, "User", &v) ? v : NULL, &out->user, path, "User", err);
	if (r == 0 && json_object_object_get_ex(cfg, "Labels", &labels) && labels != NULL &&
	    !json_object_is_type(labels, json_type_null)) {
		if (!json_object_is_type(labels, json_type_object)) {
			r = cradle_err_set(err, CRADLE_INVALID_ARGUMENT, "image config \"%s\": Labels: expected an object", path);
		} else {
			json_object_object_foreach(labels, key, val) {
				if (!json_object_is_type(val, json_type_string)) {
					r = cradle_err_set(err, CRADLE_INVALID_ARGUMENT,
					                   "image config \"%s\": Labels.%s: expected a string", path, key);
					break;
				}
				if (proto_kvs_add(&out->labels, key, json_object_get_string(val)) < 0) {
					r = cradle_err_set(err, CRADLE_RESOURCE_EXHAUSTED, "out of memory");
					break;
				}
			}
		}
	}
	json_object_put(root);
	if (r < 0) {
		image_config_fini(out);
		return -1;
	}
	return 0;
}

int
image_config_read_user_dbs(struct image_config *out, const char *const *dirs, size_t n_dirs,
                           struct cradle_err *err)
{
	static const char *const files[] = { "etc/passwd", "etc/group" };
	char **dst[] = { &out->etc_passwd, &out->etc_group };
	char path[FS_PATH_MAX];
	struct stat st;
	int rc;

	for (size_t f = 0; f < 2; f++) {
		for (size_t i = 0; i < n_dirs; i++) {
			if (fs_path(path, err, "%s/%s", dirs[i], files[f]) < 0)
				return -1;
			if (lstat(path, &st) != 0) {
				if (errno == ENOENT)
					continue;
				return cradle_err_errno(err, errno, "read \"%s\"", path);
			}
			if (S_ISCHR(st.st_mode) && st.st_rdev == 0)
				break; /* deleted by an upper layer */
			if ((rc = fs_read_alloc(path, IMAGE_FILE_MAX, FS_NOFOLLOW, dst[f], NULL)) < 0)
				return cradle_err_errno(err, -rc, "read \"%s\"", path);
			break;
		}
	}
	return 0;
}

int
image_load(const char *rootfs, struct image_config *out, struct cradle_err *err)
{
	char path[FS_PATH_MAX];
	char *text = NULL;
	size_t len = 0;
	int rc;

	memset(out, 0, sizeof(*out));
	if (fs_path(path, err, "%s.json", rootfs) < 0)
		return -1;
	if ((rc = fs_read_alloc(path, IMAGE_FILE_MAX, FS_NOFOLLOW, &text, &len)) < 0)
		return cradle_err_errno(err, -rc, "failed to get sandbox image \"%s\": read config \"%s\"",
		                        rootfs, path);
	rc = image_config_parse(text, len, path, out, err);
	free(text);
	if (rc < 0)
		return -1;
	/* The user databases are optional: a numeric user needs neither. */
	if (image_config_read_user_dbs(out, &rootfs, 1, err) < 0) {
		image_config_fini(out);
		return -1;
	}
	return 0;
}
