/* config.c - an image's config and user databases (see config.h). */
#include "image/config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <json-c/json.h>

#include "util/fs.h"
#include "util/json.h"
#include "util/sys.h"

/* obj's member key; NULL when absent or JSON null. */
static json_object *
member(json_object *obj, const char *key)
{
	json_object *v = NULL;

	if (!json_object_object_get_ex(obj, key, &v) || json_object_is_type(v, json_type_null))
		return NULL;
	return v;
}

/* cfg's member field into *out (NULL when absent): it must be of type t. */
static int
typed_member(json_object *cfg, const char *field, json_type t, const char *what, json_object **out,
             struct cradle_err *err)
{
	*out = member(cfg, field);
	if (*out == NULL || json_object_is_type(*out, t))
		return 0;
	return cradle_err_set(err, CRADLE_INVALID_ARGUMENT, "%s: %s: expected %s", what, field,
	                      t == json_type_array    ? "an array"
	                      : t == json_type_object ? "an object"
	                                              : "a string");
}

static int
strs_from(json_object *cfg, const char *field, struct proto_strs *out, const char *what,
          struct cradle_err *err)
{
	json_object *arr;

	if (typed_member(cfg, field, json_type_array, what, &arr, err) < 0)
		return -1;
	for (size_t i = 0; arr != NULL && i < json_object_array_length(arr); i++) {
		json_object *v = json_object_array_get_idx(arr, i);
		if (!json_object_is_type(v, json_type_string))
			return cradle_err_set(err, CRADLE_INVALID_ARGUMENT,
			                      "%s: %s[%zu]: expected a string", what, field, i);
		if (proto_strs_add(out, json_object_get_string(v)) < 0)
			return cradle_err_nomem(err);
	}
	return 0;
}

static int
str_from(json_object *cfg, const char *field, char **out, const char *what, struct cradle_err *err)
{
	json_object *v;

	if (typed_member(cfg, field, json_type_string, what, &v, err) < 0)
		return -1;
	if (v != NULL && (*out = strdup(json_object_get_string(v))) == NULL)
		return cradle_err_nomem(err);
	return 0;
}

static int
labels_from(json_object *cfg, struct proto_kvs *out, const char *what, struct cradle_err *err)
{
	json_object *labels;

	if (typed_member(cfg, "Labels", json_type_object, what, &labels, err) < 0)
		return -1;
	if (labels == NULL)
		return 0;
	json_object_object_foreach(labels, key, val) {
		if (!json_object_is_type(val, json_type_string))
			return cradle_err_set(err, CRADLE_INVALID_ARGUMENT,
			                      "%s: Labels.%s: expected a string", what, key);
		if (proto_kvs_add(out, key, json_object_get_string(val)) < 0)
			return cradle_err_nomem(err);
	}
	return 0;
}

int
image_config_parse(const char *text, size_t len, const char *name, struct image_config *out,
                   struct cradle_err *err)
{
	char what[CRADLE_ERR_MSG_MAX];
	json_object *root, *cfg;
	int rc;

	memset(out, 0, sizeof(*out));
	snprintf(what, sizeof(what), "image config \"%s\"", name);
	if ((root = json_doc_parse(text, len, what, err)) == NULL)
		return -1;
	cfg = member(root, "config");
	if (cfg == NULL || !json_object_is_type(cfg, json_type_object))
		rc = cradle_err_set(err, CRADLE_INVALID_ARGUMENT, "%s: no \"config\" object", what);
	else if (strs_from(cfg, "Entrypoint", &out->entrypoint, what, err) < 0 ||
	         strs_from(cfg, "Cmd", &out->cmd, what, err) < 0 ||
	         strs_from(cfg, "Env", &out->env, what, err) < 0 ||
	         str_from(cfg, "WorkingDir", &out->working_dir, what, err) < 0 ||
	         str_from(cfg, "User", &out->user, what, err) < 0 ||
	         labels_from(cfg, &out->labels, what, err) < 0)
		rc = -1;
	else
		rc = 0;
	json_object_put(root);
	if (rc < 0)
		image_config_fini(out);
	return rc < 0 ? -1 : 0;
}

/* Open rel (no leading '/') inside the layer root dirfd, as the image
 * would see it: every symlink on the way, absolute or "..", resolved with
 * root as "/" (openat2 RESOLVE_IN_ROOT), never a path of the host; no
 * /proc magic links, no other mount.  O_PATH; -1 with errno. */
static int
open_in_layer(int rootfd, const char *rel, int flags)
{
	struct open_how how;

	memset(&how, 0, sizeof(how));
	how.flags = (unsigned long long)(flags | O_CLOEXEC);
	how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV;
	return (int)syscall(SYS_openat2, rootfd, rel, &how, sizeof(how));
}

/* Read rel of the layer rootfd into *out (NUL-terminated).  1 when found
 * and read, 0 when absent here (look further down), 2 when this layer
 * hides it (a whiteout, or a non-directory on the way: *out stays NULL),
 * -1 with err set (path names it). */
static int
read_in_layer(int rootfd, const char *rel, const char *path, char **out, struct cradle_err *err)
{
	struct stat st;
	int fd = open_in_layer(rootfd, rel, O_PATH), e;

	if (fd < 0) {
		if (errno == ENOENT)
			return 0;
		if (errno == ENOTDIR)
			return 2;
		return cradle_err_errno(err, errno, "read \"%s\"", path);
	}
	if (fstat(fd, &st) != 0) {
		e = errno;
		close(fd);
		return cradle_err_errno(err, e, "read \"%s\"", path);
	}
	close(fd);
	if (S_ISCHR(st.st_mode) && st.st_rdev == 0)
		return 2; /* deleted by this layer */
	if (!S_ISREG(st.st_mode))
		return cradle_err_errno(err, EINVAL, "read \"%s\"", path);
	if (st.st_size > (off_t)IMAGE_FILE_MAX)
		return cradle_err_errno(err, EFBIG, "read \"%s\"", path);
	/* a regular file: open it for reading, resolved the same way */
	fd = open_in_layer(rootfd, rel, O_RDONLY | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return cradle_err_errno(err, errno, "read \"%s\"", path);
	char *buf = NULL;
	size_t len = 0, cap = 0;
	for (;;) {
		if (len == cap) {
			size_t nc = cap ? cap * 2 : 4096;
			char *nb;
			if (nc > IMAGE_FILE_MAX + 1)
				nc = IMAGE_FILE_MAX + 1;
			if (nc == cap) {
				e = EFBIG;
				goto bad;
			}
			if ((nb = realloc(buf, nc + 1)) == NULL) {
				e = ENOMEM;
				goto bad;
			}
			buf = nb;
			cap = nc;
		}
		ssize_t n = read(fd, buf + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			e = errno;
			goto bad;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		e = EINVAL;
		goto bad;
	}
	close(fd);
	buf[len] = '\0';
	*out = buf;
	return 1;
bad:
	close(fd);
	free(buf);
	return cradle_err_errno(err, e, "read \"%s\"", path);
}

int
image_config_read_user_dbs(struct image_config *out, const char *const *dirs, size_t n_dirs,
                           struct cradle_err *err)
{
	static const char *const files[] = { "etc/passwd", "etc/group" };
	char **dst[] = { &out->etc_passwd, &out->etc_group };
	char path[FS_PATH_MAX];

	for (size_t f = 0; f < 2; f++) {
		for (size_t i = 0; i < n_dirs; i++) {
			if (fs_path(path, err, "%s/%s", dirs[i], files[f]) < 0)
				return -1;
			int rootfd = open(dirs[i], O_PATH | O_DIRECTORY | O_CLOEXEC);
			if (rootfd < 0)
				return cradle_err_errno(err, errno, "read \"%s\"", path);
			int rc = read_in_layer(rootfd, files[f], path, dst[f], err);
			close(rootfd);
			if (rc < 0)
				return -1;
			if (rc > 0)
				break; /* read, or hidden by this layer */
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
		return cradle_err_errno(err, -rc,
		                        "failed to get sandbox image \"%s\": read config \"%s\"",
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
