/* files.c - the sandbox's hostname, hosts and resolv.conf (see files.h). */
#include "sandbox/files.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/fs.h"

/* Append s to a growing buffer; false on OOM. */
static bool
buf_add(char **buf, size_t *len, size_t *cap, const char *s)
{
	size_t n = strlen(s);
	if (*len + n + 1 > *cap) {
		size_t ncap = (*cap + n + 1) * 2;
		char *nb = realloc(*buf, ncap);
		if (nb == NULL)
			return false;
		*buf = nb;
		*cap = ncap;
	}
	memcpy(*buf + *len, s, n + 1);
	*len += n;
	return true;
}

static bool
buf_line(char **buf, size_t *len, size_t *cap, const char *head, const struct proto_strs *v)
{
	if (!buf_add(buf, len, cap, head))
		return false;
	for (size_t i = 0; i < v->n; i++)
		if (!buf_add(buf, len, cap, " ") || !buf_add(buf, len, cap, v->v[i]))
			return false;
	return buf_add(buf, len, cap, "\n");
}

char *
files_resolv_conf(const struct pod_config *cfg)
{
	char *buf = NULL;
	size_t len = 0, cap = 0;
	const struct proto_strs *srv = &cfg->dns_config.servers;

	if (!buf_add(&buf, &len, &cap, ""))
		return NULL;
	if (cfg->dns_config.searches.n > 0 &&
	    !buf_line(&buf, &len, &cap, "search", &cfg->dns_config.searches))
		goto oom;
	for (size_t i = 0; i < srv->n; i++)
		if (!buf_add(&buf, &len, &cap, "nameserver ") ||
		    !buf_add(&buf, &len, &cap, srv->v[i]) || !buf_add(&buf, &len, &cap, "\n"))
			goto oom;
	if (cfg->dns_config.options.n > 0 &&
	    !buf_line(&buf, &len, &cap, "options", &cfg->dns_config.options))
		goto oom;
	return buf;
oom:
	free(buf);
	return NULL;
}

/* resolv.conf as setupSandboxFiles writes it: the dns_config's lines, or
 * (nil, or present with nothing in it: the content is "") a copy of the
 * host's file, which must be there. */
static int
write_resolv_conf(const char *path, const struct pod_config *cfg, const char *host,
                  struct cradle_err *err)
{
	char *text = cfg->has_dns_config ? files_resolv_conf(cfg) : strdup("");
	int rc;

	if (text == NULL)
		return cradle_err_nomem(err);
	if (text[0] != '\0') {
		rc = fs_write(path, text, strlen(text), 0644);
		free(text);
		if (rc < 0)
			return cradle_err_errno(err, -rc,
			                        "failed to write resolv content to \"%s\"", path);
		return 0;
	}
	free(text);
	if ((rc = fs_copy(host, path)) < 0) {
		cradle_err_errno(err, -rc, "failed to copy host's resolv.conf to \"%s\"", path);
		/* the node lacks the file, the request is fine */
		if (rc == -ENOENT && err != NULL)
			err->code = CRADLE_FAILED_PRECONDITION;
		return rc;
	}
	return 0;
}

int
files_setup_sandbox(const char *dir, const struct pod_config *cfg, const char *host_resolv_conf,
                    struct cradle_err *err)
{
	char path[FS_PATH_MAX];
	char host[256 + 2];
	int rc;

	if (fs_path(path, err, "%s/hostname", dir) < 0)
		return -1;
	if (cfg->hostname != NULL && cfg->hostname[0] != '\0') {
		snprintf(host, sizeof(host), "%s\n", cfg->hostname);
	} else {
		if (gethostname(host, sizeof(host) - 2) != 0)
			return cradle_err_errno(err, errno, "failed to get hostname");
		host[sizeof(host) - 2] = '\0';
		strcat(host, "\n");
	}
	if ((rc = fs_write(path, host, strlen(host), 0644)) < 0)
		return cradle_err_errno(err, -rc, "failed to write hostname to \"%s\"", path);

	if (fs_path(path, err, "%s/hosts", dir) < 0)
		return -1;
	if ((rc = fs_copy("/etc/hosts", path)) < 0)
		return cradle_err_errno(err, -rc, "failed to generate sandbox hosts file \"%s\"",
		                        path);

	if (fs_path(path, err, "%s/resolv.conf", dir) < 0)
		return -1;
	return write_resolv_conf(
		path, cfg, host_resolv_conf != NULL ? host_resolv_conf : FILES_HOST_RESOLV_CONF,
		err);
}

int
files_make_skeleton(const char *dir, struct cradle_err *err)
{
	static const char *dirs[] = { "proc", "dev", "sys", "etc" };
	static const char *files[] = { "etc/resolv.conf", "etc/hostname", "etc/hosts" };
	char path[FS_PATH_MAX];
	int rc;

	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		if (fs_path(path, err, "%s/%s", dir, dirs[i]) < 0)
			return -1;
		if ((rc = fs_mkdir_p(path, 0755)) < 0)
			return cradle_err_errno(err, -rc, "create \"%s\"", path);
	}
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		if (fs_path(path, err, "%s/%s", dir, files[i]) < 0)
			return -1;
		int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
		if (fd < 0)
			return cradle_err_errno(err, errno, "create \"%s\"", path);
		close(fd);
	}
	return 0;
}

int
files_new_id(char id[CRADLE_ID_LEN + 1], struct cradle_err *err)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char raw[CRADLE_ID_LEN / 2];
	size_t got = 0;

	while (got < sizeof(raw)) {
		ssize_t n = getrandom(raw + got, sizeof(raw) - got, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return cradle_err_errno(err, errno, "generate sandbox id");
		}
		got += (size_t)n;
	}
	for (size_t i = 0; i < sizeof(raw); i++) {
		id[2 * i] = hex[raw[i] >> 4];
		id[2 * i + 1] = hex[raw[i] & 15];
	}
	id[CRADLE_ID_LEN] = '\0';
	return 0;
}

/* The directory holding dir, 0711 (the shm mounts' parent: it is made
 * when the first pod needs it), its own parents 0755. */
static int
make_parent(const char *dir)
{
	char parent[FS_PATH_MAX];
	const char *slash = strrchr(dir, '/');
	int rc;

	if (slash == NULL || slash == dir || (size_t)(slash - dir) >= sizeof(parent)) {
		errno = ENOENT;
		return -1;
	}
	memcpy(parent, dir, (size_t)(slash - dir));
	parent[slash - dir] = '\0';
	if ((rc = fs_mkdir_p(parent, 0711)) < 0) {
		errno = -rc;
		return -1;
	}
	return 0;
}

int
files_setup_shm(const char *dir, const struct pod_config *cfg, uint64_t size, bool *mounted,
                struct cradle_err *err)
{
	char opts[64];
	struct stat st;

	*mounted = false;
	if (cfg->linux.security_context.namespace_options.ipc == NS_NODE) {
		if (stat("/dev/shm", &st) != 0)
			return cradle_err_errno(err, errno,
			                        "host \"/dev/shm\" is not available for host ipc");
		return 0;
	}
	if (mkdir(dir, 0700) != 0 &&
	    (errno != ENOENT || make_parent(dir) < 0 || mkdir(dir, 0700) != 0))
		return cradle_err_errno(err, errno, "failed to create sandbox shm \"%s\"", dir);
	snprintf(opts, sizeof(opts), "mode=1777,size=%llu", (unsigned long long)size);
	if (mount("shm", dir, "tmpfs", MS_NOEXEC | MS_NOSUID | MS_NODEV, opts) != 0) {
		int e = errno;
		rmdir(dir);
		return cradle_err_errno(err, e, "failed to mount sandbox shm \"%s\"", dir);
	}
	*mounted = true;
	return 0;
}

int
files_remove_shm(const char *dir)
{
	int rc = fs_unmount(dir);

	if (rc < 0)
		return rc;
	if (rmdir(dir) == 0 || errno == ENOENT)
		return 0;
	/* something is still mounted there, or in it: the careful way */
	return fs_rmtree(dir);
}
