/* plan.c - sandbox spec -> launch plan. */
#include "sandbox/plan.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

static char *
keep(struct launch_prep *prep, char *s)
{
	if (s == NULL)
		return NULL;
	if (prep->n_strings == prep->cap_strings) {
		size_t ncap = prep->cap_strings ? prep->cap_strings * 2 : 64;
		char **n = realloc(prep->strings, ncap * sizeof(*n));
		if (n == NULL) {
			free(s);
			return NULL;
		}
		prep->strings = n;
		prep->cap_strings = ncap;
	}
	prep->strings[prep->n_strings++] = s;
	return s;
}

static struct launch_op *
add_op(struct launch_prep *prep, int kind, const char *step)
{
	if (prep->n_ops == prep->cap_ops) {
		size_t ncap = prep->cap_ops ? prep->cap_ops * 2 : 64;
		struct launch_op *n = realloc(prep->ops, ncap * sizeof(*n));
		if (n == NULL)
			return NULL;
		prep->ops = n;
		prep->cap_ops = ncap;
	}
	struct launch_op *op = &prep->ops[prep->n_ops++];
	memset(op, 0, sizeof(*op));
	op->kind = kind;
	op->step = step;
	return op;
}

/* "/dev/pts" -> "dev/pts": the child works relative to the rootfs. */
static const char *
rel(const char *dest)
{
	while (*dest == '/')
		dest++;
	return *dest ? dest : ".";
}

int
plan_mount_options(const struct proto_strs *options, unsigned long *flags, char **data, bool *bind,
                   bool *readonly)
{
	static const struct {
		const char *name;
		unsigned long set;
	} known[] = {
		{ "nosuid", MS_NOSUID },     { "nodev", MS_NODEV },
		{ "noexec", MS_NOEXEC },     { "strictatime", MS_STRICTATIME },
		{ "relatime", MS_RELATIME }, { "noatime", MS_NOATIME },
		{ "sync", MS_SYNCHRONOUS },
	};
	size_t len = 0;
	char *out = NULL;

	*flags = 0;
	*bind = *readonly = false;
	*data = NULL;
	for (size_t i = 0; i < options->n; i++) {
		const char *o = options->v[i];
		bool matched = false;
		if (strcmp(o, "ro") == 0) {
			*readonly = true;
			continue;
		}
		if (strcmp(o, "rw") == 0)
			continue;
		if (strcmp(o, "bind") == 0 || strcmp(o, "rbind") == 0) {
			*bind = true;
			continue;
		}
		for (size_t k = 0; k < sizeof(known) / sizeof(known[0]); k++) {
			if (strcmp(o, known[k].name) == 0) {
				*flags |= known[k].set;
				matched = true;
			}
		}
		if (matched)
			continue;
		size_t n = strlen(o);
		char *grown = realloc(out, len + n + 2);
		if (grown == NULL) {
			free(out);
			return -ENOMEM;
		}
		out = grown;
		if (len > 0)
			out[len++] = ',';
		memcpy(out + len, o, n + 1);
		len += n;
	}
	*data = out;
	return 0;
}

/* The nodes every sandbox /dev gets.  /dev is a nodev tmpfs (add_mount),
 * so a node made in it, by the plan or later by a pause keeping
 * CAP_MKNOD, opens nothing; the allowed nodes are the host's, each bound
 * onto an empty file (a bind is a mount of its own, and keeps the host's
 * /dev mount's flags, which allow devices).  In a user namespace mknod is
 * refused anyway. */
static int
add_dev_nodes(struct launch_prep *prep)
{
	static const char *const nodes[] = { "null", "zero", "full", "random", "urandom", "tty" };
	static const struct {
		const char *link, *to;
	} links[] = {
		{ "dev/fd", "/proc/self/fd" },       { "dev/stdin", "/proc/self/fd/0" },
		{ "dev/stdout", "/proc/self/fd/1" }, { "dev/stderr", "/proc/self/fd/2" },
		{ "dev/ptmx", "pts/ptmx" },
	};
	char path[64];

	for (size_t i = 0; i < sizeof(nodes) / sizeof(nodes[0]); i++) {
		snprintf(path, sizeof(path), "dev/%s", nodes[i]);
		char *target = keep(prep, strdup(path));
		struct launch_op *op = add_op(prep, LOP_MKNOD, "mount-dev");
		if (target == NULL || op == NULL)
			return -ENOMEM;
		op->target = target;
		op->mode = S_IFREG | 0666;
		snprintf(path, sizeof(path), "/dev/%s", nodes[i]);
		char *src = keep(prep, strdup(path));
		if (src == NULL || (op = add_op(prep, LOP_MOUNT, "mount-dev")) == NULL)
			return -ENOMEM;
		op->source = src;
		op->target = target;
		op->flags = MS_BIND;
	}
	for (size_t i = 0; i < sizeof(links) / sizeof(links[0]); i++) {
		struct launch_op *op = add_op(prep, LOP_SYMLINK, "mount-dev");
		if (op == NULL)
			return -ENOMEM;
		op->source = links[i].to;
		op->target = links[i].link;
	}
	return 0;
}

/* A ".." path component (not just two dots inside a name). */
static bool
has_dotdot(const char *p)
{
	for (const char *c = p; (c = strstr(c, "..")) != NULL; c += 2)
		if ((c == p || c[-1] == '/') && (c[2] == '\0' || c[2] == '/'))
			return true;
	return false;
}

/* A bind mount: the source is opened here as a detached copy of its mount
 * tree (open_tree), the mount flags are set on the copy, and the child
 * attaches it (LOP_ATTACH).  So the source is found in the caller's mount
 * namespace, not the child's (which is cloned from a template that does not
 * show the daemon's per-sandbox mounts, see sandbox/mntns.h), and with the
 * caller's credentials (in a user namespace the child's root may not search
 * the directories above it). */
static int
add_bind(struct launch_prep *prep, const char *source, const char *target, unsigned long flags,
         struct cradle_err *err)
{
	struct launch_op *op;
	struct stat st;
	int fd;

	if (prep->n_fds >= sizeof(prep->fds) / sizeof(prep->fds[0]))
		return cradle_err_set(err, CRADLE_INVALID_ARGUMENT,
		                      "too many bind mounts (at most %zu)",
		                      sizeof(prep->fds) / sizeof(prep->fds[0]));
	/* Recursive for a directory, as rbind; a file has no submounts, and
	 * asking anyway walks every mount on the file system holding it (the
	 * state tmpfs: every pod's pins) for each one. */
	if (stat(source, &st) != 0)
		return cradle_err_errno(err, errno, "open bind mount source \"%s\"", source);
	if ((fd = launch_open_tree(source, flags, S_ISDIR(st.st_mode), err)) < 0)
		return -1;
	prep->fds[prep->n_fds++] = fd;
	if ((op = add_op(prep, LOP_ATTACH, "mount-bind")) == NULL)
		return cradle_err_nomem(err);
	op->fd = fd;
	op->target = target;
	return 0;
}

/* A label as an error message shows it: at most 64 characters, anything
 * outside printable ASCII as '?'. */
static void
label_shown(const char *label, char *out, size_t size)
{
	size_t i = 0, max = size > 4 ? size - 4 : 0;

	for (; label[i] != '\0' && i < max && i < 64; i++)
		out[i] = label[i] >= 0x20 && label[i] < 0x7f ? label[i] : '?';
	if (label[i] != '\0' && i + 3 < size) {
		memcpy(out + i, "...", 3);
		i += 3;
	}
	out[i] = '\0';
}

int
plan_check_mount_label(const char *label, struct cradle_err *err)
{
	char shown[80];
	size_t colons = 0, i;

	if (label == NULL || label[0] == '\0')
		return 0;
	label_shown(label, shown, sizeof(shown));
	for (i = 0; label[i] != '\0'; i++) {
		unsigned char ch = (unsigned char)label[i];
		/* user:role:type[:level]: identifiers, and a level's ranges
		 * and category sets ("s0-s0:c0.c1023", "s0:c1,c2").  The comma
		 * is safe: the label is quoted in the mount data, and the
		 * kernel splits options only outside quotes.  A quote, a
		 * backslash or a control character is not: one closes the
		 * quotes early (and the rest is read as options), the others
		 * would need escapes the kernel does not read. */
		if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		    (ch >= '0' && ch <= '9') || ch == '_' || ch == '.' || ch == '-' || ch == ',')
			continue;
		if (ch == ':') {
			colons++;
			continue;
		}
		return cradle_err_set(err, CRADLE_INVALID_ARGUMENT,
		                      "SELinux mount label \"%s\": character %#04x at %zu is "
		                      "not allowed in a mount's context= option",
		                      shown, ch, i);
	}
	if (i > PLAN_MOUNT_LABEL_MAX)
		return cradle_err_set(err, CRADLE_INVALID_ARGUMENT,
		                      "SELinux mount label \"%s\": %zu characters, at most %d",
		                      shown, i, PLAN_MOUNT_LABEL_MAX);
	if (colons < 2)
		return cradle_err_set(err, CRADLE_INVALID_ARGUMENT,
		                      "SELinux mount label \"%s\" is not user:role:type[:level]",
		                      shown);
	return 0;
}

int
plan_mount_label_data(const char *data, const char *label, char **out, struct cradle_err *err)
{
	int n;

	*out = NULL;
	if (plan_check_mount_label(label, err) < 0)
		return -1;
	if (label == NULL || label[0] == '\0') {
		if (data != NULL && (*out = strdup(data)) == NULL)
			return cradle_err_nomem(err);
		return 0;
	}
	/* label.FormatMountLabel: the data, then context="<label>" */
	if (data != NULL && data[0] != '\0')
		n = asprintf(out, "%s,context=\"%s\"", data, label);
	else
		n = asprintf(out, "context=\"%s\"", label);
	if (n < 0) {
		*out = NULL;
		return cradle_err_nomem(err);
	}
	/* the kernel copies one page of mount data */
	if ((size_t)n >= PLAN_MOUNT_DATA_MAX) {
		char shown[80];
		label_shown(label, shown, sizeof(shown));
		free(*out);
		*out = NULL;
		return cradle_err_set(err, CRADLE_INVALID_ARGUMENT,
		                      "SELinux mount label \"%s\": the mount data would be %d "
		                      "bytes, at most %d",
		                      shown, n, PLAN_MOUNT_DATA_MAX - 1);
	}
	return 0;
}

/* runc labels every file system it mounts (context=, FormatMountLabel)
 * except proc and sysfs ("do not support labeling"), cgroup file systems
 * (mounted with the spec's data only) and binds, which keep their
 * source's label (the data of a MS_BIND mount is not read). */
static bool
takes_label(const struct spec_mount *m)
{
	static const char *const unlabelled[] = { "proc", "sysfs", "cgroup", "cgroup2" };

	if (m->type == NULL)
		return false;
	for (size_t i = 0; i < sizeof(unlabelled) / sizeof(unlabelled[0]); i++)
		if (strcmp(m->type, unlabelled[i]) == 0)
			return false;
	return true;
}

static int
add_mount(struct launch_prep *prep, const struct spec_mount *m, const char *mount_label,
          struct cradle_err *err)
{
	unsigned long flags;
	char *data;
	bool bind, ro;
	const char *target = rel(m->destination);
	struct launch_op *op;

	if (m->destination[0] != '/' || has_dotdot(m->destination))
		return cradle_err_set(err, CRADLE_INVALID_ARGUMENT,
		                      "mount destination \"%s\" is not a clean absolute path",
		                      m->destination);
	if (plan_mount_options(&m->options, &flags, &data, &bind, &ro) < 0)
		return cradle_err_nomem(err);
	if (data != NULL && keep(prep, data) == NULL)
		return cradle_err_nomem(err);

	/* Mount points below /dev live in the sandbox's own tmpfs: make them. */
	if (strncmp(m->destination, "/dev/", 5) == 0) {
		if ((op = add_op(prep, LOP_MKDIR, "mount-dev")) == NULL)
			return cradle_err_nomem(err);
		op->target = target;
		op->mode = 0755;
	}
	if (bind || (m->type != NULL && strcmp(m->type, "bind") == 0))
		return add_bind(prep, m->source, target, flags | (ro ? MS_RDONLY : 0), err);
	if (mount_label != NULL && mount_label[0] != '\0' && takes_label(m)) {
		char *labelled;
		if (plan_mount_label_data(data, mount_label, &labelled, err) < 0)
			return -1;
		if (keep(prep, labelled) == NULL)
			return cradle_err_nomem(err);
		data = labelled;
	}
	if ((op = add_op(prep, LOP_MOUNT, "mount")) == NULL)
		return cradle_err_nomem(err);
	op->source = m->source != NULL ? m->source : m->type;
	op->target = target;
	op->fstype = m->type;
	op->flags = flags | (ro ? MS_RDONLY : 0);
	op->data = data;
	/* Name the step after what is mounted, as failures are read by people. */
	if (strcmp(m->destination, "/proc") == 0)
		op->step = "mount-proc";
	else if (strcmp(m->destination, "/dev") == 0)
		op->step = "mount-dev";
	else if (strcmp(m->destination, "/sys") == 0)
		op->step = "mount-sys";
	else if (strcmp(m->destination, "/dev/pts") == 0)
		op->step = "mount-devpts";
	else if (strcmp(m->destination, "/dev/mqueue") == 0)
		op->step = "mount-mqueue";
	if (strcmp(m->destination, "/dev") == 0 && m->type != NULL &&
	    strcmp(m->type, "tmpfs") == 0) {
		/* nodev: only the bound nodes below open (add_dev_nodes) */
		op->flags |= MS_NODEV;
		if (add_dev_nodes(prep) < 0)
			return cradle_err_nomem(err);
	}
	return 0;
}

/* args[0] as the kernel will find it: absolute, or looked up in the image's
 * PATH inside the rootfs (from the parent, before the child runs). */
static bool
exec_in(const char *const *dirs, size_t n_dirs, const char *path)
{
	char host[8192];
	struct stat st;
	for (size_t i = 0; i < n_dirs; i++) {
		int n = snprintf(host, sizeof(host), "%s/%s", dirs[i], path);
		if (n < 0 || (size_t)n >= sizeof(host))
			continue;
		if (lstat(host, &st) == 0) /* the top-most layer with it decides */
			return S_ISREG(st.st_mode) && (st.st_mode & 0111);
	}
	return false;
}

static int
find_exec(struct launch_prep *prep, const struct sandbox_spec *spec, const char *const *dirs,
          size_t n_dirs, struct cradle_err *err)
{
	const char *arg0 = spec->args.v[0];
	char host[8192];

	if (strchr(arg0, '/') != NULL) {
		snprintf(prep->exec_path, sizeof(prep->exec_path), "%s", arg0);
		return 0;
	}
	const char *path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
	for (size_t i = 0; i < spec->env.n; i++)
		if (strncmp(spec->env.v[i], "PATH=", 5) == 0)
			path = spec->env.v[i] + 5;
	while (*path != '\0') {
		size_t n = strcspn(path, ":"), d = n;
		while (d > 0 && path[d - 1] == '/')
			d--; /* "/" and "/bin/" must not give "//pause" */
		snprintf(host, sizeof(host), "%.*s/%s", (int)d, path, arg0);
		if (n > 0 && exec_in(dirs, n_dirs, host)) {
			snprintf(prep->exec_path, sizeof(prep->exec_path), "%.*s/%s", (int)d, path,
			         arg0);
			return 0;
		}
		path += n;
		if (*path == ':')
			path++;
	}
	return cradle_err_set(err, CRADLE_FAILED_PRECONDITION,
	                      "executable \"%s\" not found in the image's PATH", arg0);
}

int
plan_prepare(struct launch_prep *prep, const struct sandbox_spec *spec, const char *rootfs,
             struct launch_plan *plan, struct cradle_err *err)
{
	const char *dirs[] = { rootfs };
	return plan_prepare_in(prep, spec, dirs, 1, rootfs, NULL, plan, err);
}

int
plan_prepare_in(struct launch_prep *prep, const struct sandbox_spec *spec, const char *const *dirs,
                size_t n_dirs, const char *rootfs, const char *mount_label,
                struct launch_plan *plan, struct cradle_err *err)
{
	struct launch_op *op;
	const char *mask_data = NULL;

	memset(prep, 0, sizeof(*prep));
	if (mount_label != NULL && mount_label[0] == '\0')
		mount_label = NULL;
	/* refused before anything is opened or allocated */
	if (plan_check_mount_label(mount_label, err) < 0)
		return -1;
	if (spec->args.n == 0)
		return cradle_err_set(err, CRADLE_INVALID_ARGUMENT,
		                      "invalid empty entrypoint and cmd in image config");
	if (find_exec(prep, spec, dirs, n_dirs, err) < 0)
		return -1;
	prep->argv = calloc(spec->args.n + 1, sizeof(char *));
	prep->envp = calloc(spec->env.n + 1, sizeof(char *));
	prep->groups = calloc(spec->n_additional_gids + 1, sizeof(uint32_t));
	if (prep->argv == NULL || prep->envp == NULL || prep->groups == NULL)
		goto oom;
	for (size_t i = 0; i < spec->args.n; i++)
		prep->argv[i] = spec->args.v[i];
	for (size_t i = 0; i < spec->env.n; i++)
		prep->envp[i] = spec->env.v[i];
	for (size_t i = 0; i < spec->n_additional_gids; i++)
		prep->groups[i] = (uint32_t)spec->additional_gids[i];

	for (size_t i = 0; i < spec->n_mounts; i++)
		if (add_mount(prep, &spec->mounts[i], mount_label, err) < 0)
			goto fail;

	/* sysctls before /proc/sys turns read-only */
	for (size_t i = 0; i < spec->sysctls.n; i++) {
		char path[512];
		int n = snprintf(path, sizeof(path), "proc/sys/%s", spec->sysctls.v[i].key);
		if (n < 0 || (size_t)n >= sizeof(path)) {
			cradle_err_set(err, CRADLE_INVALID_ARGUMENT, "sysctl \"%s\": name too long",
			               spec->sysctls.v[i].key);
			goto fail;
		}
		/* kubelet's form: '.' separates parts, '/' stands for a dot
		 * inside a part (net.ipv4.conf.eno2/100.rp_filter) */
		for (char *c = path + 9; *c; c++)
			*c = *c == '.' ? '/' : *c == '/' ? '.' : *c;
		char *t = keep(prep, strdup(path));
		if (t == NULL || (op = add_op(prep, LOP_WRITE, "sysctl")) == NULL)
			goto oom;
		op->target = t;
		op->value = spec->sysctls.v[i].value;
		op->len = strlen(op->value);
	}
	snprintf(prep->oom, sizeof(prep->oom), "%d", spec->oom_score_adj);
	if ((op = add_op(prep, LOP_WRITE, "oom-score-adj")) == NULL)
		goto oom;
	op->target = "proc/self/oom_score_adj";
	op->value = prep->oom;
	op->len = strlen(prep->oom);

	/* maskPath: a masked directory's read-only tmpfs is labelled
	 * (FormatMountLabel("", label)); a file's /dev/null bind is not */
	if (mount_label != NULL) {
		char *d;
		if (plan_mount_label_data(NULL, mount_label, &d, err) < 0)
			goto fail;
		if ((mask_data = keep(prep, d)) == NULL)
			goto oom;
	}
	for (size_t i = 0; i < spec->masked_paths.n; i++) {
		if ((op = add_op(prep, LOP_MASK, "masked-paths")) == NULL)
			goto oom;
		op->target = rel(spec->masked_paths.v[i]);
		op->data = mask_data;
		op->optional = true;
	}
	for (size_t i = 0; i < spec->readonly_paths.n; i++) {
		if ((op = add_op(prep, LOP_READONLY, "readonly-paths")) == NULL)
			goto oom;
		op->target = rel(spec->readonly_paths.v[i]);
		/* proc's own flags are locked in a user namespace: keep them */
		op->flags = MS_NOSUID | MS_NODEV | MS_NOEXEC;
		op->optional = true;
	}

	plan->rootfs = rootfs;
	plan->exec_path = prep->exec_path;
	plan->argv = prep->argv;
	plan->envp = prep->envp;
	plan->ops = prep->ops;
	plan->n_ops = prep->n_ops;
	plan->cwd = spec->cwd;
	plan->new_net = spec->ns_net;
	plan->new_pid = spec->ns_pid;
	plan->new_ipc = spec->ns_ipc;
	plan->hostname[0] = '\0';
	if (spec->ns_uts && spec->hostname != NULL) {
		if (strlen(spec->hostname) > LAUNCH_HOSTNAME_MAX) {
			cradle_err_set(err, CRADLE_INVALID_ARGUMENT,
			               "hostname \"%.64s...\" is longer than %d characters",
			               spec->hostname, LAUNCH_HOSTNAME_MAX);
			goto fail;
		}
		snprintf(plan->hostname, sizeof(plan->hostname), "%s", spec->hostname);
	}
	plan->new_user = spec->ns_user;
	if (spec->ns_user) {
		snprintf(prep->uid_map, sizeof(prep->uid_map), "%u %u %u\n",
		         spec->uid_map.container_id, spec->uid_map.host_id, spec->uid_map.length);
		snprintf(prep->gid_map, sizeof(prep->gid_map), "%u %u %u\n",
		         spec->gid_map.container_id, spec->gid_map.host_id, spec->gid_map.length);
		plan->uid_map = prep->uid_map;
		plan->gid_map = prep->gid_map;
	}
	plan->set_ids = true;
	plan->uid = spec->uid;
	plan->gid = spec->gid;
	plan->groups = prep->groups;
	plan->n_groups = spec->n_additional_gids;
	plan->set_caps = true;
	/* libcap knows how many capabilities this kernel has */
	plan->cap_last = (int)cap_max_bits() - 1;
	plan->cap_bounding = spec->cap_bounding;
	plan->cap_effective = spec->cap_effective;
	plan->cap_permitted = spec->cap_permitted;
	plan->cap_inheritable = spec->cap_inheritable;
	plan->cap_ambient = spec->cap_ambient;
	plan->no_new_privs = spec->no_new_privs;
	plan->nofile = PLAN_NOFILE;
	return 0;
oom:
	cradle_err_nomem(err);
fail:
	plan_release(prep);
	return -1;
}

void
plan_release(struct launch_prep *prep)
{
	for (size_t i = 0; i < prep->n_fds; i++)
		close(prep->fds[i]);
	for (size_t i = 0; i < prep->n_strings; i++)
		free(prep->strings[i]);
	free(prep->strings);
	free(prep->ops);
	free(prep->argv);
	free(prep->envp);
	free(prep->groups);
	memset(prep, 0, sizeof(*prep));
}
