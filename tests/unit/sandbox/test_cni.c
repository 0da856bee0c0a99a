/* test_cni.c - CNI configs, plugin execution and the pod network
 * (sandbox/cni.c).
 *
 * ROOT: the "net" tests run Debian's real plugins (/usr/lib/cni: bridge,
 * host-local, portmap, loopback).  Each test runs in its own process
 * (Check forks), which first takes a private mount namespace
 * (unit_scratch_setup_ns) and a network namespace of its own: that is the
 * "node" here, where the bridge, the veths and the iptables rules go, so
 * the host's network, /etc/cni and /var/lib/cni are never touched.  Pod
 * namespaces are pins (bind mounts of a new namespace) on a tmpfs the test
 * mounts.  What is asserted is what the kernel shows: addresses inside a
 * pod's namespace, the veths on the node, a TCP connection from one pod to
 * another, NAT rules, host-local's allocation files; every test removes
 * what it made (DEL, unpin, the bridge) and checks that it is gone.
 *
 * The "exec" tests use shell-script plugins written into a temp bin dir
 * that record their stdin, environment, signal state and descriptors, or
 * fail, hang, or write too much.
 */
#include <arpa/inet.h>
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <limits.h>
#include <net/if.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <json-c/json.h>

#include "sandbox/cni.h"
#include "tests/unit/lib/unit.h"

#define NET_NAME "cradle-test"
#define SUBNET "10.88.77"
#define TIMEOUT_MS 20000

static struct {
	char conf[PATH_MAX];   /* the conf dir */
	char data[PATH_MAX];   /* host-local's dataDir */
	char netns[PATH_MAX];  /* tmpfs of pod namespace pins */
	char bin[PATH_MAX];    /* script plugins */
	char out[PATH_MAX];    /* what they record */
	const char *dirs[3];   /* bin, /usr/lib/cni */
	struct cradle_err err; /* the last call's */
} F;

static void
dirs_setup(void)
{
	memset(&F, 0, sizeof(F));
	unit_path(F.conf, sizeof(F.conf), "net.d");
	unit_path(F.data, sizeof(F.data), "ipam");
	unit_path(F.netns, sizeof(F.netns), "netns");
	unit_path(F.bin, sizeof(F.bin), "bin");
	unit_path(F.out, sizeof(F.out), "out");
	ck_assert_int_eq(mkdir(F.conf, 0755), 0);
	ck_assert_int_eq(mkdir(F.data, 0755), 0);
	ck_assert_int_eq(mkdir(F.netns, 0755), 0);
	ck_assert_int_eq(mkdir(F.bin, 0755), 0);
	ck_assert_int_eq(mkdir(F.out, 0755), 0);
	F.dirs[0] = F.bin;
	F.dirs[1] = "/usr/lib/cni";
	F.dirs[2] = NULL;
}

static void
config_setup(void)
{
	unit_scratch_setup();
	dirs_setup();
}

/* The node: a mount and a network namespace of the test's own. */
static void
net_setup(void)
{
	unit_scratch_setup_ns();
	ck_assert_int_eq(unshare(CLONE_NEWNET), 0);
	dirs_setup();
	ck_assert_int_eq(mount("tmpfs", F.netns, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755"), 0);
	ck_assert_int_eq(unit_sh("ip link set lo up"), 0);
}

static int count_veths(void);

static void
net_teardown(void)
{
	ck_assert_int_eq(count_veths(), 0);
	if (if_nametoindex("cni0") != 0)
		ck_assert_int_eq(unit_sh("ip link del cni0"), 0);
	ck_assert_uint_eq(if_nametoindex("cni0"), 0);
	ck_assert_int_eq(umount2(F.netns, MNT_DETACH), 0);
	unit_scratch_teardown();
	ck_assert(!unit_exists(F.conf));
}

static void
put_conf(const char *name, const char *text)
{
	char path[PATH_MAX];

	UNIT_FMT(path, "%s/%s", F.conf, name);
	unit_put_str(path, text);
}

/* --- namespaces and links ---------------------------------------------- */

/* A new network namespace pinned at <netns>/<name>. */
static void
pod_netns(const char *name, char *path, size_t len)
{
	int fd, st;
	pid_t pid;

	ck_assert(snprintf(path, len, "%s/%s", F.netns, name) < (int)len);
	fd = open(path, O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0444);
	ck_assert_int_ge(fd, 0);
	close(fd);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		if (unshare(CLONE_NEWNET) != 0 ||
		    mount("/proc/self/ns/net", path, NULL, MS_BIND, NULL) != 0)
			_exit(1);
		_exit(0);
	}
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

static void
pod_unpin(const char *path)
{
	ck_assert_int_eq(umount2(path, MNT_DETACH), 0);
	ck_assert_int_eq(unlink(path), 0);
}

/* Enter the namespace at path; the node's back with leave_netns. */
static int
enter_netns(const char *path)
{
	int self = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	ck_assert_int_ge(self, 0);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(setns(fd, CLONE_NEWNET), 0);
	close(fd);
	return self;
}

static void
leave_netns(int self)
{
	ck_assert_int_eq(setns(self, CLONE_NEWNET), 0);
	close(self);
}

/* The IPv4 address of ifname in the namespace at path ("" when none) and
 * its flags (0 when the link is absent). */
static unsigned
link_in(const char *path, const char *ifname, char addr[INET_ADDRSTRLEN])
{
	struct ifaddrs *ifa, *i;
	unsigned flags = 0;
	int self = enter_netns(path);

	addr[0] = '\0';
	ck_assert_int_eq(getifaddrs(&ifa), 0);
	for (i = ifa; i != NULL; i = i->ifa_next) {
		if (strcmp(i->ifa_name, ifname) != 0)
			continue;
		flags |= i->ifa_flags | 0x80000000u;
		if (i->ifa_addr != NULL && i->ifa_addr->sa_family == AF_INET)
			inet_ntop(AF_INET, &((struct sockaddr_in *)i->ifa_addr)->sin_addr, addr,
			          INET_ADDRSTRLEN);
	}
	freeifaddrs(ifa);
	leave_netns(self);
	return flags;
}

/* veths on the node. */
static int
count_veths(void)
{
	struct if_nameindex *ni = if_nameindex(), *i;
	int n = 0;

	ck_assert_ptr_nonnull(ni);
	for (i = ni; i->if_index != 0; i++)
		n += strncmp(i->if_name, "veth", 4) == 0;
	if_freenameindex(ni);
	return n;
}

/* host-local's allocations of the test network (files named by an IP). */
static int
count_allocs(void)
{
	char dir[PATH_MAX + 16];
	int n = 0;

	UNIT_FMT(dir, "%s/%s", F.data, NET_NAME);
	DIR *d = opendir(dir);
	if (d == NULL)
		return 0;
	for (struct dirent *de; (de = readdir(d)) != NULL;)
		n += strncmp(de->d_name, SUBNET ".", strlen(SUBNET ".")) == 0;
	closedir(d);
	return n;
}

static char *
alloc_file(const char *ip)
{
	static char path[PATH_MAX + 64];

	UNIT_FMT(path, "%s/%s/%s", F.data, NET_NAME, ip);
	return path;
}

/* The bridge network: bridge + host-local + portmap. */
static void
put_bridge_conf(const char *file, const char *extra_plugin)
{
	char text[4096];

	UNIT_FMT(text,
	         "{\"cniVersion\":\"1.0.0\",\"name\":\"" NET_NAME "\",\"plugins\":["
	         "{\"type\":\"bridge\",\"bridge\":\"cni0\",\"isGateway\":true,\"ipMasq\":false,"
	         "\"hairpinMode\":true,\"ipam\":{\"type\":\"host-local\",\"ranges\":[[{"
	         "\"subnet\":\"" SUBNET ".0/24\"}]],\"routes\":[{\"dst\":\"0.0.0.0/0\"}],"
	         "\"dataDir\":\"%s\"}},"
	         "{\"type\":\"portmap\",\"capabilities\":{\"portMappings\":true}}%s%s]}",
	         F.data, extra_plugin != NULL ? "," : "", extra_plugin != NULL ? extra_plugin : "");
	put_conf(file, text);
}

static struct cni_net *
load_ok(void)
{
	struct cni_net *net = NULL;

	ck_assert_msg(cni_load(F.conf, 0, &net, &F.err) == 0, "%s", F.err.msg);
	return net;
}

/* --- script plugins ------------------------------------------------------ */

static void
put_plugin(const char *name, const char *body)
{
	char path[PATH_MAX + 32], text[4096];

	UNIT_FMT(path, "%s/%s", F.bin, name);
	UNIT_FMT(text,
	         "#!/bin/sh\nOUT='%s'\nNAME='%s'\n"
	         "echo \"$CNI_COMMAND $NAME\" >> \"$OUT/log\"\n%s",
	         F.out, name, body);
	unit_put_file(path, text, strlen(text), 0755);
}

/* Records stdin, environment, signals and descriptors; ADD prints
 * <out>/<name>.result.  The signal lines first, and read by the shell
 * itself (builtins, no child): while a child of its runs, the shell may
 * block signals of its own, and a grep of /proc/$$/status saw that. */
static const char REC[] = "P=\"$OUT/$NAME.$CNI_COMMAND\"\n"
			  "while IFS= read -r l; do case $l in Sig[BI][lg][kn]:*) "
			  "printf '%s\\n' \"$l\";; esac; done < /proc/$$/status > \"$P.sig\"\n"
			  "cat > \"$P.stdin\"\n"
			  "tr '\\0' '\\n' < /proc/$$/environ > \"$P.env\"\n"
			  "ls /proc/$$/fd > \"$P.fd\"\n"
			  "if [ \"$CNI_COMMAND\" = ADD ]; then cat \"$OUT/$NAME.result\"; fi\n";

static void
put_out(const char *name, const char *text)
{
	char path[PATH_MAX + 32];

	UNIT_FMT(path, "%s/%s", F.out, name);
	unit_put_str(path, text);
}

static char *
slurp_out(const char *name)
{
	char path[PATH_MAX + 32];

	UNIT_FMT(path, "%s/%s", F.out, name);
	return unit_slurp_ok(path, NULL);
}

static json_object *
out_json(const char *name)
{
	char *s = slurp_out(name);
	json_object *o = json_tokener_parse(s);

	ck_assert_msg(o != NULL, "%s: not JSON: %s", name, s);
	free(s);
	return o;
}

/* o at a dotted path ("runtimeConfig.dns"), NULL when absent. */
static json_object *
at(json_object *o, const char *path)
{
	char buf[256], *save = NULL;

	UNIT_FMT(buf, "%s", path);
	for (char *k = strtok_r(buf, ".", &save); k != NULL && o != NULL;
	     k = strtok_r(NULL, ".", &save)) {
		if (!json_object_object_get_ex(o, k, &o))
			return NULL;
	}
	return o;
}

static const char *
at_str(json_object *o, const char *path)
{
	json_object *v = at(o, path);

	ck_assert_msg(v != NULL && json_object_is_type(v, json_type_string), "%s: no string", path);
	return json_object_get_string(v);
}

#define FAKE_NETNS "/run/netns/not-used-by-scripts"

static struct cni_pod
pod_of(const char *id, const char *netns)
{
	return (struct cni_pod){
		.id = id, .ns = "default", .name = id, .uid = "uid-1", .netns_path = netns
	};
}

/* --- config --------------------------------------------------------------- */

static void
load_fails(unsigned max, int code, const char *want1, const char *want2)
{
	struct cni_net *net = (struct cni_net *)1;
	struct cradle_err err = { 0 };

	ck_assert_int_lt(cni_load(F.conf, max, &net, &err), 0);
	ck_assert_ptr_eq(net, (struct cni_net *)1);
	ck_assert_msg(err.code == code, "code %s: %s", cradle_code_name(err.code), err.msg);
	ck_assert_msg(strstr(err.msg, want1) != NULL, "want \"%s\" in: %s", want1, err.msg);
	ck_assert_msg(want2 == NULL || strstr(err.msg, want2) != NULL, "want \"%s\" in: %s", want2,
	              err.msg);
}

START_TEST(test_load_none)
{
	char missing[PATH_MAX], sub[PATH_MAX + 16];
	struct cni_net *net = NULL;
	struct cradle_err err;

	unit_path(missing, sizeof(missing), "no-such-dir");
	ck_assert_int_eq(cni_load(missing, 0, &net, &err), -ENOENT);
	ck_assert_int_eq(err.code, CRADLE_FAILED_PRECONDITION);
	ck_assert_ptr_nonnull(strstr(err.msg, "no-such-dir"));
	load_fails(0, CRADLE_FAILED_PRECONDITION, F.conf, "no CNI network config");
	/* neither other names nor directories count */
	put_conf("README", "{}");
	put_conf("10-net.conflist.bak", "{}");
	UNIT_FMT(sub, "%s/20-dir.conflist", F.conf);
	ck_assert_int_eq(mkdir(sub, 0755), 0);
	ck_assert_int_eq(cni_load(F.conf, 5, &net, &err), -ENOENT);
	ck_assert_int_eq(err.code, CRADLE_FAILED_PRECONDITION);
}
END_TEST

START_TEST(test_load_order)
{
	struct cni_net *net;

	put_conf("20-c.json", "{\"cniVersion\":\"0.4.0\",\"name\":\"c\",\"type\":\"ptp\"}");
	put_conf("10-b.conf", "{\"cniVersion\":\"0.3.1\",\"name\":\"b\",\"type\":\"bridge\","
	                      "\"ipam\":{\"type\":\"host-local\"}}");
	put_conf("05-a.conflist", "{\"cniVersion\":\"1.0.0\",\"name\":\"a\",\"plugins\":["
	                          "{\"type\":\"bridge\"},{\"type\":\"portmap\",\"capabilities\":"
	                          "{\"portMappings\":true}}]}");
	net = load_ok();
	ck_assert_str_eq(cni_net_name(net), "a");
	ck_assert_str_eq(cni_net_version(net), "1.0.0");
	ck_assert_uint_eq(cni_net_plugins(net), 2);
	ck_assert_str_eq(cni_net_plugin_type(net, 0), "bridge");
	ck_assert_str_eq(cni_net_plugin_type(net, 1), "portmap");
	ck_assert_ptr_null(cni_net_plugin_type(net, 2));
	ck_assert_ptr_nonnull(strstr(cni_net_file(net), "/net.d/05-a.conflist"));
	cni_free(net);

	/* a .conf becomes a one-plugin list */
	char path[PATH_MAX + 32];
	UNIT_FMT(path, "%s/05-a.conflist", F.conf);
	ck_assert_int_eq(unlink(path), 0);
	net = load_ok();
	ck_assert_str_eq(cni_net_name(net), "b");
	ck_assert_str_eq(cni_net_version(net), "0.3.1");
	ck_assert_uint_eq(cni_net_plugins(net), 1);
	ck_assert_str_eq(cni_net_plugin_type(net, 0), "bridge");
	cni_free(net);
	UNIT_FMT(path, "%s/10-b.conf", F.conf);
	ck_assert_int_eq(unlink(path), 0);
	net = load_ok();
	ck_assert_str_eq(cni_net_name(net), "c");
	ck_assert_str_eq(cni_net_plugin_type(net, 0), "ptp");
	cni_free(net);
}
END_TEST

/* Each broken file alone in the conf dir: INVALID_ARGUMENT naming it. */
static void
broken(const char *file, const char *text, const char *want)
{
	char path[PATH_MAX + 32];

	put_conf(file, text);
	load_fails(0, CRADLE_INVALID_ARGUMENT, file, want);
	UNIT_FMT(path, "%s/%s", F.conf, file);
	ck_assert_int_eq(unlink(path), 0);
}

#define LIST(plugins) "{\"cniVersion\":\"1.0.0\",\"name\":\"n\",\"plugins\":" plugins "}"

START_TEST(test_load_errors)
{
	broken("a.conflist", "{\"cniVersion\":", "invalid JSON");
	broken("a.conflist", "[1,2]", "not a JSON object");
	broken("a.conflist", LIST("[{\"type\":\"../bridge\"}]"), "not a plain file name");
	broken("a.conflist", LIST("[{\"type\":\"sub/bridge\"}]"), "not a plain file name");
	broken("a.conflist", LIST("[{\"type\":\"..\"}]"), "not a plain file name");
	broken("a.conflist", LIST("[{\"type\":\"\"}]"), "not a plain file name");
	broken("a.conflist", LIST("[{\"type\":7}]"), "non-string \"type\"");
	broken("a.conflist", LIST("[{\"bridge\":\"cni0\"}]"), "no \"type\"");
	broken("a.conflist", LIST("[]"), "0 plugins");
	broken("a.conflist", LIST("[1]"), "not a JSON object");
	broken("a.conflist", LIST("{}"), "no \"plugins\" array");
	broken("a.conflist", LIST("[{\"type\":\"b\",\"capabilities\":{\"portMappings\":1}}]"),
	       "capabilities");
	broken("a.conflist",
	       "{\"cniVersion\":\"0.2.0\",\"name\":\"n\",\"plugins\":[{\"type\":\"b\"}]}",
	       "cniVersion 0.2.0 is not supported");
	broken("a.conflist", "{\"name\":\"n\",\"plugins\":[{\"type\":\"b\"}]}",
	       "no \"cniVersion\"");
	broken("a.conflist", "{\"cniVersion\":\"1.0.0\",\"plugins\":[{\"type\":\"b\"}]}",
	       "no \"name\"");
	broken("a.conflist",
	       "{\"cniVersion\":\"1.0.0\",\"name\":\"../x\",\"plugins\":[{\"type\":\"b\"}]}",
	       "network name");
	broken("a.conf", LIST("[{\"type\":\"bridge\"}]"), "belongs in a .conflist");
	broken("a.json", "{\"cniVersion\":\"1.0.0\",\"name\":\"n\"}", "no \"type\"");

	/* more plugins than allowed */
	char text[8192];
	size_t w = (size_t)snprintf(text, sizeof(text),
	                            "{\"cniVersion\":\"1.0.0\",\"name\":\"n\","
	                            "\"plugins\":[");
	for (int i = 0; i <= CNI_PLUGINS_MAX; i++)
		w += (size_t)snprintf(text + w, sizeof(text) - w, "%s{\"type\":\"p\"}",
		                      i > 0 ? "," : "");
	snprintf(text + w, sizeof(text) - w, "]}");
	broken("a.conflist", text, "plugins (1 to 16");

	/* too big: valid JSON padded past the bound */
	size_t big = CNI_CONF_MAX + 1;
	char *pad = malloc(big + 1);
	const char *head = LIST("[{\"type\":\"bridge\"}]");
	ck_assert_ptr_nonnull(pad);
	memset(pad, ' ', big);
	memcpy(pad, head, strlen(head));
	pad[big] = '\0';
	broken("big.conflist", pad, "larger than 1048576 bytes");
	free(pad);
}
END_TEST

START_TEST(test_load_max)
{
	struct cni_net *net;
	struct cradle_err err;

	put_conf("01-bad.conflist", "{ not json");
	put_conf("02-good.conflist", LIST("[{\"type\":\"bridge\"}]"));
	/* containerd's default: only the first file counts */
	load_fails(0, CRADLE_INVALID_ARGUMENT, "01-bad.conflist", "invalid JSON");
	load_fails(1, CRADLE_INVALID_ARGUMENT, "01-bad.conflist", "invalid JSON");
	ck_assert_int_eq(cni_load(F.conf, 2, &net, &err), 0);
	ck_assert_str_eq(cni_net_name(net), "n");
	cni_free(net);
	/* none valid: the first error */
	put_conf("02-good.conflist", LIST("[{\"type\":\"a/b\"}]"));
	load_fails(5, CRADLE_INVALID_ARGUMENT, "01-bad.conflist", "invalid JSON");
}
END_TEST

START_TEST(test_parse)
{
	const char *lo = "{\"cniVersion\":\"0.3.1\",\"name\":\"cni-loopback\","
			 "\"plugins\":[{\"type\":\"loopback\"}]}";
	struct cni_net *net = NULL;
	struct cradle_err err;

	ck_assert_int_eq(cni_parse(lo, strlen(lo), "loopback", &net, &err), 0);
	ck_assert_str_eq(cni_net_name(net), "cni-loopback");
	ck_assert_str_eq(cni_net_file(net), "loopback");
	cni_free(net);
	ck_assert_int_lt(cni_parse(lo, strlen(lo) - 1, "loopback", &net, &err), 0);
	ck_assert_int_eq(err.code, CRADLE_INVALID_ARGUMENT);
	ck_assert_ptr_nonnull(strstr(err.msg, "loopback: invalid JSON"));
	ck_assert_str_eq(cni_version(), "1.0.0");
	ck_assert(cni_version_supported("0.3.0") && cni_version_supported("0.4.0"));
	ck_assert(!cni_version_supported("0.2.0") && !cni_version_supported("1.1.0"));
}
END_TEST

static void
result_fails(const char *json, const char *want)
{
	struct cni_result r;
	struct cradle_err err;

	ck_assert_int_lt(cni_result_parse(json, strlen(json), &r, &err), 0);
	ck_assert_int_eq(err.code, CRADLE_INVALID_ARGUMENT);
	ck_assert_msg(strstr(err.msg, want) != NULL, "want \"%s\" in: %s", want, err.msg);
}

START_TEST(test_result)
{
	const char *bridge =
		"{\"cniVersion\":\"1.0.0\",\"interfaces\":[{\"name\":\"cni0\",\"mac\":\"aa\"},"
		"{\"name\":\"veth1\",\"mac\":\"bb\"},{\"name\":\"eth0\",\"mac\":\"cc\","
		"\"sandbox\":\"/run/netns/x\"}],\"ips\":[{\"address\":\"fd00::0005/64\","
		"\"interface\":2},{\"address\":\"10.88.77.9/24\",\"gateway\":\"10.88.77.1\","
		"\"interface\":2},{\"address\":\"10.88.77.1/24\",\"interface\":0},"
		"{\"address\":\"192.168.7.3/16\"}],\"routes\":[{\"dst\":\"0.0.0.0/0\"}],"
		"\"dns\":{\"nameservers\":[\"1.1.1.1\"]}}";
	struct cni_result r;
	struct cradle_err err;

	ck_assert_msg(cni_result_parse(bridge, strlen(bridge), &r, &err) == 0, "%s", err.msg);
	ck_assert_str_eq(r.cni_version, "1.0.0");
	ck_assert_uint_eq(r.n_ips, 3);
	/* primary: the first IPv4; the bridge's own address is no pod IP */
	ck_assert_int_eq(r.ips[0].family, AF_INET);
	ck_assert_str_eq(r.ips[0].addr, "10.88.77.9");
	ck_assert_uint_eq(r.ips[0].prefix, 24);
	ck_assert_str_eq(r.ips[0].gateway, "10.88.77.1");
	ck_assert_int_eq(r.ips[1].family, AF_INET6);
	ck_assert_str_eq(r.ips[1].addr, "fd00::5");
	ck_assert_uint_eq(r.ips[1].prefix, 64);
	ck_assert_str_eq(r.ips[1].gateway, "");
	ck_assert_str_eq(r.ips[2].addr, "192.168.7.3");

	/* 0.3.x shape ("version"), IPv6 only */
	const char *v6 = "{\"cniVersion\":\"0.3.1\",\"ips\":[{\"version\":\"6\","
			 "\"address\":\"2001:db8::1/128\"}]}";
	ck_assert_int_eq(cni_result_parse(v6, strlen(v6), &r, &err), 0);
	ck_assert_uint_eq(r.n_ips, 1);
	ck_assert_str_eq(r.ips[0].addr, "2001:db8::1");

	result_fails("[]", "not a JSON object");
	result_fails("{\"ips\":{}}", "\"ips\" is not an array");
	result_fails("{\"ips\":[{\"address\":\"10.1.1.1\"}]}", "is not an address/prefix");
	result_fails("{\"ips\":[{\"address\":\"10.1.1.1/33\"}]}", "is not an address/prefix");
	result_fails("{\"ips\":[{\"address\":\"10.1.1.300/24\"}]}", "is not an address/prefix");
	result_fails("{\"ips\":[{\"address\":\"10.1.1.1/24\",\"gateway\":\"x\"}]}", "gateway");
	result_fails("{\"ips\":[{\"address\":\"10.1.1.1/24\",\"interface\":1}],"
	             "\"interfaces\":[{\"name\":\"eth0\"}]}",
	             "interface index");
	result_fails("{\"ips\":[{\"gateway\":\"10.1.1.1\"}]}", "no \"address\"");

	char many[4096];
	size_t w = (size_t)snprintf(many, sizeof(many), "{\"ips\":[");
	for (int i = 0; i <= CNI_IPS_MAX; i++)
		w += (size_t)snprintf(many + w, sizeof(many) - w, "%s{\"address\":\"10.0.0.%d/8\"}",
		                      i > 0 ? "," : "", i + 1);
	snprintf(many + w, sizeof(many) - w, "]}");
	result_fails(many, "more than 16 pod IPs");
}
END_TEST

START_TEST(test_del_nothing)
{
	struct cni_pod pod = pod_of("abc", FAKE_NETNS);
	struct cradle_err err;

	ck_assert_int_lt(cni_del(NULL, 0, NULL, F.dirs, &pod, 1000, &err), 0);
	ck_assert_int_eq(err.code, CRADLE_FAILED_PRECONDITION);
	ck_assert_int_lt(cni_del("{}", 2, NULL, F.dirs, &pod, 1000, &err), 0);
	ck_assert_int_eq(err.code, CRADLE_INVALID_ARGUMENT);
	ck_assert_ptr_nonnull(strstr(err.msg, "CNI cache"));
}
END_TEST

/* --- exec (script plugins) -------------------------------------------- */

static const char R1[] =
	"{\"cniVersion\":\"1.0.0\",\"interfaces\":[{\"name\":\"eth0\",\"sandbox\":\"/x\"}],"
	"\"ips\":[{\"address\":\"10.1.2.3/24\",\"interface\":0}]}";
static const char R2[] =
	"{\"cniVersion\":\"1.0.0\",\"interfaces\":[{\"name\":\"eth0\",\"sandbox\":\"/x\"},"
	"{\"name\":\"veth9\"}],\"ips\":[{\"address\":\"fd00::5/64\",\"interface\":0},"
	"{\"address\":\"10.1.2.3/24\",\"gateway\":\"10.1.2.1\",\"interface\":0},"
	"{\"address\":\"192.168.1.1/24\",\"interface\":1}]}";

static bool
has_line(const char *text, const char *line)
{
	size_t n = strlen(line);

	for (const char *p = text; (p = strstr(p, line)) != NULL; p++) {
		if ((p == text || p[-1] == '\n') && (p[n] == '\n' || p[n] == '\0'))
			return true;
	}
	return false;
}

static int
count_lines(const char *text)
{
	int n = 0;

	for (const char *p = text; *p != '\0'; p++)
		n += *p == '\n';
	return n;
}

START_TEST(test_exec_stdin_env)
{
	struct cni_port ports[] = {
		{ .host_port = 8080, .container_port = 80, .protocol = "TCP" },
		{ .host_port = 0, .container_port = 81 }, /* not mapped */
		{ .host_port = 5353,
		  .container_port = 53,
		  .protocol = "udp",
		  .host_ip = "127.0.0.1" },
	};
	char *servers[] = { "10.0.0.10" }, *searches[] = { "svc.local", "local" },
	     *options[] = { "ndots:5" };
	struct proto_strs dns_s = { 1, servers }, dns_q = { 2, searches }, dns_o = { 1, options };
	struct proto_kv kv[] = { { "a.b/c", "d" } };
	struct proto_kvs ann = { 1, kv };
	struct cni_pod pod = pod_of("sandbox-1", FAKE_NETNS);
	struct cni_result r;
	char *cache = NULL, *s, line[PATH_MAX + 64];
	size_t cache_len;
	struct cni_net *net;
	json_object *o, *v;
	sigset_t usr1, old;

	pod.ports = ports;
	pod.n_ports = 3;
	pod.has_dns = true;
	pod.dns_servers = &dns_s;
	pod.dns_searches = &dns_q;
	pod.dns_options = &dns_o;
	pod.ingress_rate = 1000000;
	pod.ingress_burst = 2147483647;
	pod.cgroup_path = "/kubepods/pod1";
	pod.annotations = &ann;
	put_plugin("rec1", REC);
	put_plugin("rec2", REC);
	put_out("rec1.result", R1);
	put_out("rec2.result", R2);
	put_conf("10.conflist",
	         "{\"cniVersion\":\"1.0.0\",\"name\":\"rec\",\"plugins\":["
	         "{\"type\":\"rec1\",\"x\":1,\"capabilities\":{\"portMappings\":true,\"dns\":true,"
	         "\"bandwidth\":false}},"
	         "{\"type\":\"rec2\",\"capabilities\":{\"bandwidth\":true,\"cgroupPath\":true,"
	         "\"io.kubernetes.cri.pod-annotations\":true,\"ipRanges\":true}}]}");
	net = load_ok();

	/* what the daemon has that a plugin must not inherit */
	ck_assert_int_eq(dup2(open("/dev/null", O_RDONLY), 77), 77);
	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	ck_assert_int_eq(sigprocmask(SIG_BLOCK, &usr1, &old), 0);
	signal(SIGUSR2, SIG_IGN);

	ck_assert_msg(cni_add(net, F.dirs, &pod, TIMEOUT_MS, &r, &cache, &cache_len, &F.err) == 0,
	              "%s", F.err.msg);
	ck_assert_int_eq(sigprocmask(SIG_SETMASK, &old, NULL), 0);
	signal(SIGUSR2, SIG_DFL);
	close(77);
	ck_assert_uint_eq(r.n_ips, 2);
	ck_assert_str_eq(r.ips[0].addr, "10.1.2.3");
	ck_assert_str_eq(r.ips[1].addr, "fd00::5");
	ck_assert_uint_eq(strlen(cache), cache_len);

	/* rec1: its object, name, version, the capabilities it declares */
	o = out_json("rec1.ADD.stdin");
	ck_assert_str_eq(at_str(o, "type"), "rec1");
	ck_assert_str_eq(at_str(o, "name"), "rec");
	ck_assert_str_eq(at_str(o, "cniVersion"), "1.0.0");
	ck_assert_int_eq(json_object_get_int(at(o, "x")), 1);
	ck_assert_ptr_null(at(o, "prevResult"));
	v = at(o, "runtimeConfig.portMappings");
	ck_assert_ptr_nonnull(v);
	ck_assert_uint_eq(json_object_array_length(v), 2);
	ck_assert_str_eq(json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN),
	                 "[{\"hostPort\":8080,\"containerPort\":80,\"protocol\":\"tcp\","
	                 "\"hostIP\":\"\"},{\"hostPort\":5353,\"containerPort\":53,"
	                 "\"protocol\":\"udp\",\"hostIP\":\"127.0.0.1\"}]");
	ck_assert_str_eq(
		json_object_to_json_string_ext(at(o, "runtimeConfig.dns"), JSON_C_TO_STRING_PLAIN),
		"{\"servers\":[\"10.0.0.10\"],\"searches\":[\"svc.local\",\"local\"],"
		"\"options\":[\"ndots:5\"]}");
	ck_assert_ptr_null(at(o, "runtimeConfig.bandwidth"));
	ck_assert_ptr_null(at(o, "runtimeConfig.cgroupPath"));
	ck_assert_int_eq(json_object_object_length(at(o, "runtimeConfig")), 2);
	json_object_put(o);

	/* rec2: rec1's result as prevResult, its own capabilities only */
	o = out_json("rec2.ADD.stdin");
	ck_assert_str_eq(at_str(o, "prevResult.cniVersion"), "1.0.0");
	ck_assert_str_eq(at_str(json_object_array_get_idx(at(o, "prevResult.ips"), 0), "address"),
	                 "10.1.2.3/24");
	ck_assert_int_eq(json_object_get_int64(at(o, "runtimeConfig.bandwidth.ingressRate")),
	                 1000000);
	ck_assert_int_eq(json_object_get_int64(at(o, "runtimeConfig.bandwidth.ingressBurst")),
	                 2147483647);
	ck_assert_str_eq(at_str(o, "runtimeConfig.cgroupPath"), "/kubepods/pod1");
	v = json_object_object_get(at(o, "runtimeConfig"), "io.kubernetes.cri.pod-annotations");
	ck_assert_ptr_nonnull(v);
	ck_assert_str_eq(json_object_get_string(json_object_object_get(v, "a.b/c")), "d");
	ck_assert_ptr_null(at(o, "runtimeConfig.portMappings"));
	ck_assert_ptr_null(at(o, "runtimeConfig.ipRanges"));
	ck_assert_int_eq(json_object_object_length(at(o, "runtimeConfig")), 3);
	json_object_put(o);

	/* the environment, exactly */
	s = slurp_out("rec1.ADD.env");
	ck_assert_msg(count_lines(s) == 7, "environment: %s", s);
	ck_assert(has_line(s, "CNI_COMMAND=ADD"));
	ck_assert(has_line(s, "CNI_CONTAINERID=sandbox-1"));
	ck_assert(has_line(s, "CNI_NETNS=" FAKE_NETNS));
	ck_assert(has_line(s, "CNI_IFNAME=eth0"));
	ck_assert(has_line(s, "CNI_ARGS=IgnoreUnknown=1;K8S_POD_NAMESPACE=default;"
	                      "K8S_POD_NAME=sandbox-1;K8S_POD_INFRA_CONTAINER_ID=sandbox-1;"
	                      "K8S_POD_UID=uid-1"));
	UNIT_FMT(line, "CNI_PATH=%s:/usr/lib/cni", F.bin);
	ck_assert(has_line(s, line));
	ck_assert_ptr_nonnull(strstr(s, "\nPATH="));
	free(s);
	/* no blocked or ignored signal, no descriptor but 0-2 (and the
	 * shell's own script descriptor, above 9) */
	s = slurp_out("rec1.ADD.sig");
	ck_assert_msg(has_line(s, "SigBlk:\t0000000000000000"), "%s", s);
	/* glibc's posix_spawn leaves its two internal signals (32, 33:
	 * SIGCANCEL, SIGSETXID) ignored in every child it makes; glibc
	 * reinstalls its handlers for them when it needs them */
	char *ign = strstr(s, "SigIgn:\t");
	ck_assert_ptr_nonnull(ign);
	ck_assert_msg((strtoull(ign + 8, NULL, 16) & ~0x180000000ull) == 0, "%s", s);
	free(s);
	s = slurp_out("rec1.ADD.fd");
	ck_assert(has_line(s, "0") && has_line(s, "1") && has_line(s, "2"));
	ck_assert(!has_line(s, "77"));
	for (int fd = 3; fd < 10; fd++) {
		char n[4];
		snprintf(n, sizeof(n), "%d", fd);
		ck_assert_msg(!has_line(s, n), "fd %d inherited: %s", fd, s);
	}
	free(s);

	/* DEL with the cache: reverse order, the cached result and config */
	put_conf("10.conflist", LIST("[{\"type\":\"gone\"}]"));
	cni_free(net);
	pod.ports = NULL;
	pod.n_ports = 0;
	ck_assert_msg(cni_del(cache, cache_len, NULL, F.dirs, &pod, TIMEOUT_MS, &F.err) == 0, "%s",
	              F.err.msg);
	s = slurp_out("log");
	ck_assert_str_eq(s, "ADD rec1\nADD rec2\nDEL rec2\nDEL rec1\n");
	free(s);
	o = out_json("rec1.DEL.stdin");
	ck_assert_str_eq(at_str(o, "name"), "rec");
	ck_assert_uint_eq(json_object_array_length(at(o, "prevResult.ips")), 3);
	ck_assert_uint_eq(json_object_array_length(at(o, "runtimeConfig.portMappings")), 2);
	json_object_put(o);
	s = slurp_out("rec1.DEL.env");
	ck_assert(has_line(s, "CNI_COMMAND=DEL"));
	/* not a namespace: passed as "" */
	ck_assert(has_line(s, "CNI_NETNS="));
	free(s);

	/* the cache's IPs */
	memset(&r, 0, sizeof(r));
	ck_assert_int_eq(cni_cache_result(cache, cache_len, &r, &F.err), 0);
	ck_assert_uint_eq(r.n_ips, 2);
	ck_assert_str_eq(r.ips[0].addr, "10.1.2.3");

	/* a cache of another sandbox is refused */
	pod.id = "sandbox-2";
	ck_assert_int_lt(cni_del(cache, cache_len, NULL, F.dirs, &pod, TIMEOUT_MS, &F.err), 0);
	ck_assert_int_eq(F.err.code, CRADLE_INVALID_ARGUMENT);
	free(cache);
	unit_assert_no_children();
}
END_TEST

static void
add_fails(const char *conflist, int timeout_ms, int code, const char *want1, const char *want2)
{
	struct cni_pod pod = pod_of("sandbox-f", FAKE_NETNS);
	struct cni_result r;
	char *cache = (char *)1;
	size_t len = 1;
	struct cni_net *net;
	struct cradle_err err;

	put_conf("10.conflist", conflist);
	net = load_ok();
	ck_assert_int_lt(cni_add(net, F.dirs, &pod, timeout_ms, &r, &cache, &len, &err), 0);
	ck_assert_ptr_null(cache);
	ck_assert_msg(err.code == code, "code %s: %s", cradle_code_name(err.code), err.msg);
	ck_assert_msg(strstr(err.msg, want1) != NULL, "want \"%s\" in: %s", want1, err.msg);
	ck_assert_msg(want2 == NULL || strstr(err.msg, want2) != NULL, "want \"%s\" in: %s", want2,
	              err.msg);
	cni_free(net);
}

START_TEST(test_exec_failures)
{
	char *s;

	put_plugin("rec1", REC);
	put_out("rec1.result", R1);
	put_plugin("fail", "cat > /dev/null\nif [ \"$CNI_COMMAND\" = DEL ]; then exit 0; fi\n"
	                   "echo '{\"cniVersion\":\"1.0.0\",\"code\":7,\"msg\":\"no luck\","
	                   "\"details\":\"pool empty\"}'\nexit 1\n");
	put_plugin("later", "cat > /dev/null\n[ \"$CNI_COMMAND\" = DEL ] && exit 0\n"
	                    "echo '{\"cniVersion\":\"1.0.0\",\"code\":11,\"msg\":\"busy\"}'\n"
	                    "exit 1\n");
	put_plugin("boom", "echo 'boom: it broke' >&2\nexit 3\n");
	put_plugin("killed", "kill -9 $$\n");
	put_plugin("junk", "cat >/dev/null\necho 'not json'\n");
	put_plugin("empty", "cat >/dev/null\n");
	put_plugin("huge", "cat >/dev/null\nhead -c 3000000 /dev/zero\n");

	/* a CNI error: the plugin's type, the command, code, msg, details;
	 * the chain is DELeted at once */
	add_fails(LIST("[{\"type\":\"rec1\"},{\"type\":\"fail\"}]"), TIMEOUT_MS, CRADLE_INTERNAL,
	          "CNI plugin fail ADD failed (code 7): no luck: pool empty", "sandbox-f");
	s = slurp_out("log");
	ck_assert_str_eq(s, "ADD rec1\nADD fail\nDEL fail\nDEL rec1\n");
	free(s);
	add_fails(LIST("[{\"type\":\"later\"}]"), TIMEOUT_MS, CRADLE_UNAVAILABLE,
	          "CNI plugin later ADD failed (code 11): busy", NULL);
	/* no CNI error: the exit status and stderr's tail */
	add_fails(LIST("[{\"type\":\"boom\"}]"), TIMEOUT_MS, CRADLE_INTERNAL,
	          "CNI plugin boom ADD exited with status 3: boom: it broke", NULL);
	add_fails(LIST("[{\"type\":\"killed\"}]"), TIMEOUT_MS, CRADLE_INTERNAL,
	          "CNI plugin killed ADD killed by signal 9", NULL);
	add_fails(LIST("[{\"type\":\"junk\"}]"), TIMEOUT_MS, CRADLE_INTERNAL,
	          "result of CNI plugin junk ADD: invalid JSON", NULL);
	add_fails(LIST("[{\"type\":\"empty\"}]"), TIMEOUT_MS, CRADLE_INTERNAL,
	          "result of CNI plugin empty ADD: empty", NULL);
	add_fails(LIST("[{\"type\":\"huge\"}]"), TIMEOUT_MS, CRADLE_INTERNAL,
	          "CNI plugin huge ADD wrote more than 1048576 bytes", NULL);
	add_fails(LIST("[{\"type\":\"nowhere\"}]"), TIMEOUT_MS, CRADLE_FAILED_PRECONDITION,
	          "CNI plugin nowhere not found in ", "/usr/lib/cni");
	/* a result without a pod IP */
	put_out("rec1.result", "{\"cniVersion\":\"1.0.0\"}");
	add_fails(LIST("[{\"type\":\"rec1\"}]"), TIMEOUT_MS, CRADLE_INTERNAL, "no IP", NULL);
	unit_assert_no_children();
}
END_TEST

START_TEST(test_exec_timeout)
{
	char *s;
	int st;

	/* killed grandchildren come back to us */
	ck_assert_int_eq(prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0), 0);
	put_plugin("hang", "if [ \"$CNI_COMMAND\" = DEL ]; then exit 0; fi\n"
	                   "sleep 1000 &\necho $! > \"$OUT/sleep.pid\"\nwait\n");
	/* 1 s: room for the plugin's shell to write sleep.pid on a loaded
	 * machine (three sandbox suites run at once in make test) */
	add_fails(LIST("[{\"type\":\"hang\"}]"), 1000, CRADLE_UNAVAILABLE,
	          "CNI plugin hang ADD timed out after 1000 ms", NULL);
	s = slurp_out("log");
	ck_assert_str_eq(s, "ADD hang\nDEL hang\n");
	free(s);
	/* the plugin's group was killed with it: its sleep too */
	s = slurp_out("sleep.pid");
	pid_t sleeper = (pid_t)atoi(s);
	free(s);
	ck_assert_int_gt(sleeper, 1);
	ck_assert_int_eq(waitpid(sleeper, &st, 0), sleeper);
	ck_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
	unit_assert_no_children();
}
END_TEST

/* A plugin that does not read its stdin: no SIGPIPE, its result counts. */
START_TEST(test_exec_unread_stdin)
{
	struct cni_pod pod = pod_of("sandbox-u", FAKE_NETNS);
	struct proto_kv kv[64];
	struct proto_kvs ann = { 64, kv };
	char *big = malloc(8192), keys[64][8];
	struct cni_result r;
	char *cache;
	size_t len;
	struct cni_net *net;

	ck_assert_ptr_nonnull(big);
	memset(big, 'v', 8191);
	big[8191] = '\0';
	for (int i = 0; i < 64; i++) {
		snprintf(keys[i], sizeof(keys[i]), "k%d", i);
		kv[i] = (struct proto_kv){ keys[i], big };
	}
	pod.annotations = &ann;
	put_plugin("lazy", "cat \"$OUT/lazy.result\"\n");
	put_out("lazy.result", R1);
	put_conf("10.conflist", LIST("[{\"type\":\"lazy\",\"capabilities\":"
	                             "{\"io.kubernetes.cri.pod-annotations\":true}}]"));
	net = load_ok();
	ck_assert_msg(cni_add(net, F.dirs, &pod, TIMEOUT_MS, &r, &cache, &len, &F.err) == 0, "%s",
	              F.err.msg);
	ck_assert_str_eq(r.ips[0].addr, "10.1.2.3");
	ck_assert_uint_gt(len, 64 * 8191);
	free(cache);
	cni_free(net);
	free(big);
	unit_assert_no_children();
}
END_TEST

/* --- the real plugins -------------------------------------------------- */

struct added {
	char netns[PATH_MAX];
	char id[32];
	char *cache;
	size_t cache_len;
	struct cni_result r;
};

static void
add_ok(const struct cni_net *net, const char *const *dirs, struct added *a, const char *id,
       const struct cni_port *ports, size_t n_ports)
{
	struct cni_pod pod;

	UNIT_FMT(a->id, "%s", id);
	pod_netns(id, a->netns, sizeof(a->netns));
	pod = pod_of(a->id, a->netns);
	pod.ports = ports;
	pod.n_ports = n_ports;
	ck_assert_msg(
		cni_add(net, dirs, &pod, TIMEOUT_MS, &a->r, &a->cache, &a->cache_len, &F.err) == 0,
		"%s", F.err.msg);
}

static void
del_ok(struct added *a, const char *const *dirs)
{
	struct cni_pod pod = pod_of(a->id, a->netns);

	ck_assert_msg(cni_del(a->cache, a->cache_len, NULL, dirs, &pod, TIMEOUT_MS, &F.err) == 0,
	              "%s", F.err.msg);
}

/* a's eth0 in its namespace holds the result's IP, host-local's file
 * names a. */
static void
assert_pod_ip(const struct added *a)
{
	char addr[INET_ADDRSTRLEN], *s;

	ck_assert_uint_ge(a->r.n_ips, 1);
	ck_assert_int_eq(a->r.ips[0].family, AF_INET);
	ck_assert_uint_eq(a->r.ips[0].prefix, 24);
	ck_assert_str_eq(a->r.ips[0].gateway, SUBNET ".1");
	ck_assert_int_eq(strncmp(a->r.ips[0].addr, SUBNET ".", strlen(SUBNET ".")), 0);
	ck_assert(link_in(a->netns, "eth0", addr) & IFF_UP);
	ck_assert_str_eq(addr, a->r.ips[0].addr);
	s = unit_slurp_ok(alloc_file(a->r.ips[0].addr), NULL);
	ck_assert_msg(strncmp(s, a->id, strlen(a->id)) == 0, "allocation: %s", s);
	free(s);
}

START_TEST(test_net_add_del)
{
	const char *lo_text = "{\"cniVersion\":\"1.0.0\",\"name\":\"cni-loopback\","
			      "\"plugins\":[{\"type\":\"loopback\"}]}";
	struct cni_port port = { .host_port = 18080, .container_port = 80, .protocol = "tcp" };
	struct cni_net *net, *lo;
	struct added a = { 0 };
	struct cni_pod lo_pod;
	struct cni_result lr;
	char addr[INET_ADDRSTRLEN], *lo_cache;
	size_t lo_len;

	put_bridge_conf("10-test.conflist", NULL);
	net = load_ok();
	ck_assert_int_eq(cni_parse(lo_text, strlen(lo_text), "loopback", &lo, &F.err), 0);
	add_ok(net, NULL, &a, "pod-a", &port, 1);
	assert_pod_ip(&a);
	ck_assert_int_eq(count_veths(), 1);
	ck_assert_int_eq(count_allocs(), 1);
	ck_assert_uint_ne(if_nametoindex("cni0"), 0);
	/* portmap's DNAT to the pod */
	ck_assert_int_eq(unit_sh("iptables -w -t nat -S | grep -q -- '--to-destination %s:80'",
	                         a.r.ips[0].addr),
	                 0);
	/* the cache holds the same IPs */
	struct cni_result cr;
	ck_assert_int_eq(cni_cache_result(a.cache, a.cache_len, &cr, &F.err), 0);
	ck_assert_str_eq(cr.ips[0].addr, a.r.ips[0].addr);

	/* loopback as a network of its own, on "lo" */
	ck_assert(!(link_in(a.netns, "lo", addr) & IFF_UP));
	lo_pod = pod_of("pod-a", a.netns);
	lo_pod.ifname = "lo";
	ck_assert_msg(cni_add(lo, NULL, &lo_pod, TIMEOUT_MS, &lr, &lo_cache, &lo_len, &F.err) == 0,
	              "%s", F.err.msg);
	ck_assert_str_eq(lr.ips[0].addr, "127.0.0.1");
	ck_assert(link_in(a.netns, "lo", addr) & IFF_UP);
	ck_assert_str_eq(addr, "127.0.0.1");
	ck_assert_int_eq(cni_del(lo_cache, lo_len, NULL, NULL, &lo_pod, TIMEOUT_MS, &F.err), 0);
	ck_assert(!(link_in(a.netns, "lo", addr) & IFF_UP));
	free(lo_cache);

	del_ok(&a, NULL);
	ck_assert_int_eq(count_veths(), 0);
	ck_assert_int_eq(count_allocs(), 0);
	ck_assert(!unit_exists(alloc_file(a.r.ips[0].addr)));
	ck_assert_uint_eq(link_in(a.netns, "eth0", addr), 0);
	ck_assert_int_ne(unit_sh("iptables -w -t nat -S | grep -q -- '%s'", a.r.ips[0].addr), 0);
	/* DEL again: nothing left to do, no failure */
	del_ok(&a, NULL);
	free(a.cache);
	pod_unpin(a.netns);
	cni_free(lo);
	cni_free(net);
	unit_assert_no_children();
}
END_TEST

/* Pod a connects to pod b over TCP through the bridge. */
static void
assert_connects(const struct added *a, const struct added *b)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(5555) };
	struct timeval tv = { .tv_sec = 5 };
	int self, lfd, cfd, afd;
	char c = 0;

	ck_assert_int_eq(inet_pton(AF_INET, b->r.ips[0].addr, &sa.sin_addr), 1);
	self = enter_netns(b->netns);
	lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(lfd, 0);
	ck_assert_int_eq(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(listen(lfd, 1), 0);
	leave_netns(self);
	self = enter_netns(a->netns);
	cfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(cfd, 0);
	leave_netns(self);
	ck_assert_int_eq(setsockopt(cfd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)), 0);
	ck_assert_msg(connect(cfd, (struct sockaddr *)&sa, sizeof(sa)) == 0, "connect %s: %s",
	              b->r.ips[0].addr, strerror(errno));
	ck_assert_int_eq(write(cfd, "x", 1), 1);
	afd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	ck_assert_int_ge(afd, 0);
	ck_assert_int_eq(read(afd, &c, 1), 1);
	ck_assert_int_eq(c, 'x');
	close(afd);
	close(cfd);
	close(lfd);
}

START_TEST(test_net_two_pods)
{
	struct added a = { 0 }, b = { 0 };
	struct cni_net *net;

	put_bridge_conf("10-test.conflist", NULL);
	net = load_ok();
	add_ok(net, NULL, &a, "pod-a", NULL, 0);
	add_ok(net, NULL, &b, "pod-b", NULL, 0);
	assert_pod_ip(&a);
	assert_pod_ip(&b);
	ck_assert_str_ne(a.r.ips[0].addr, b.r.ips[0].addr);
	ck_assert_int_eq(count_veths(), 2);
	assert_connects(&a, &b);
	assert_connects(&b, &a);
	del_ok(&a, NULL);
	del_ok(&b, NULL);
	ck_assert_int_eq(count_veths(), 0);
	ck_assert_int_eq(count_allocs(), 0);
	pod_unpin(a.netns);
	pod_unpin(b.netns);
	free(a.cache);
	free(b.cache);
	cni_free(net);
}
END_TEST

/* A plugin failing after bridge: the failed ADD leaves nothing. */
START_TEST(test_net_failed_add)
{
	struct cni_pod pod;
	struct cni_result r;
	char netns[PATH_MAX], addr[INET_ADDRSTRLEN], *cache;
	size_t len;
	struct cni_net *net;

	put_plugin("fail", "cat > /dev/null\n[ \"$CNI_COMMAND\" = DEL ] && exit 0\n"
	                   "echo '{\"cniVersion\":\"1.0.0\",\"code\":100,\"msg\":\"refused\"}'\n"
	                   "exit 1\n");
	put_bridge_conf("10-test.conflist", "{\"type\":\"fail\"}");
	net = load_ok();
	pod_netns("pod-f", netns, sizeof(netns));
	pod = pod_of("pod-f", netns);
	ck_assert_int_lt(cni_add(net, F.dirs, &pod, TIMEOUT_MS, &r, &cache, &len, &F.err), 0);
	ck_assert_ptr_nonnull(strstr(F.err.msg, "CNI plugin fail ADD failed (code 100): refused"));
	ck_assert_int_eq(count_veths(), 0);
	ck_assert_int_eq(count_allocs(), 0);
	ck_assert_uint_eq(link_in(netns, "eth0", addr), 0);
	pod_unpin(netns);
	cni_free(net);
}
END_TEST

/* DEL from the cache alone, after the conf dir was emptied; and after the
 * pod's namespace went away. */
START_TEST(test_net_cache)
{
	struct added a = { 0 }, b = { 0 };
	struct cni_net *net;
	struct cradle_err err;
	char path[PATH_MAX + 32];

	put_bridge_conf("10-test.conflist", NULL);
	net = load_ok();
	add_ok(net, NULL, &a, "pod-a", NULL, 0);
	add_ok(net, NULL, &b, "pod-b", NULL, 0);
	cni_free(net);
	UNIT_FMT(path, "%s/10-test.conflist", F.conf);
	ck_assert_int_eq(unlink(path), 0);
	ck_assert_int_eq(cni_load(F.conf, 0, &net, &err), -ENOENT);
	ck_assert_int_eq(err.code, CRADLE_FAILED_PRECONDITION);

	del_ok(&a, NULL);
	ck_assert_int_eq(count_veths(), 1);
	ck_assert(!unit_exists(alloc_file(a.r.ips[0].addr)));
	ck_assert(unit_exists(alloc_file(b.r.ips[0].addr)));

	/* b's namespace is gone (its veth with it): DEL still frees its IP */
	pod_unpin(b.netns);
	for (int i = 0; i < 100 && count_veths() > 0; i++)
		unit_sleep_ms(20);
	ck_assert_int_eq(count_veths(), 0);
	del_ok(&b, NULL);
	ck_assert_int_eq(count_allocs(), 0);
	del_ok(&b, NULL);

	/* and without a cache, from a config */
	put_bridge_conf("10-test.conflist", NULL);
	net = load_ok();
	struct cni_pod pod = pod_of(a.id, a.netns);
	ck_assert_int_eq(cni_del(NULL, 0, net, NULL, &pod, TIMEOUT_MS, &F.err), 0);
	cni_free(net);
	pod_unpin(a.netns);
	free(a.cache);
	free(b.cache);
}
END_TEST

#define N_PODS 20
#define N_THREADS 4

struct worker {
	const struct cni_net *net;
	struct added *pods;
	int first;
	bool del;
	int failed;
	struct cradle_err err;
};

static void *
worker_run(void *arg)
{
	struct worker *w = arg;

	for (int i = w->first; i < N_PODS; i += N_THREADS) {
		struct added *a = &w->pods[i];
		struct cni_pod pod = pod_of(a->id, a->netns);
		int r = w->del ? cni_del(a->cache, a->cache_len, NULL, NULL, &pod, TIMEOUT_MS,
		                         &w->err)
		               : cni_add(w->net, NULL, &pod, TIMEOUT_MS, &a->r, &a->cache,
		                         &a->cache_len, &w->err);
		if (r < 0) {
			w->failed++;
			break;
		}
	}
	return NULL;
}

static void
run_workers(const struct cni_net *net, struct added *pods, bool del)
{
	struct worker w[N_THREADS];
	pthread_t t[N_THREADS];

	for (int i = 0; i < N_THREADS; i++) {
		w[i] = (struct worker){ .net = net, .pods = pods, .first = i, .del = del };
		ck_assert_int_eq(pthread_create(&t[i], NULL, worker_run, &w[i]), 0);
	}
	for (int i = 0; i < N_THREADS; i++) {
		ck_assert_int_eq(pthread_join(t[i], NULL), 0);
		ck_assert_msg(w[i].failed == 0, "thread %d: %s", i, w[i].err.msg);
	}
}

START_TEST(test_net_concurrent)
{
	static struct added pods[N_PODS];
	struct cni_net *net;

	memset(pods, 0, sizeof(pods));
	put_bridge_conf("10-test.conflist", NULL);
	net = load_ok();
	for (int i = 0; i < N_PODS; i++) {
		UNIT_FMT(pods[i].id, "pod-%02d", i);
		pod_netns(pods[i].id, pods[i].netns, sizeof(pods[i].netns));
	}
	run_workers(net, pods, false);
	for (int i = 0; i < N_PODS; i++) {
		assert_pod_ip(&pods[i]);
		for (int j = 0; j < i; j++)
			ck_assert_str_ne(pods[i].r.ips[0].addr, pods[j].r.ips[0].addr);
	}
	ck_assert_int_eq(count_veths(), N_PODS);
	ck_assert_int_eq(count_allocs(), N_PODS);
	assert_connects(&pods[0], &pods[N_PODS - 1]);
	run_workers(net, pods, true);
	ck_assert_int_eq(count_veths(), 0);
	ck_assert_int_eq(count_allocs(), 0);
	for (int i = 0; i < N_PODS; i++) {
		pod_unpin(pods[i].netns);
		free(pods[i].cache);
	}
	cni_free(net);
	unit_assert_no_children();
}
END_TEST

static Suite *
cni_suite(void)
{
	Suite *s = suite_create("cni");

	unit_tcase(s, "config", config_setup, unit_scratch_teardown, 0,
	           UNIT_TESTS(test_load_none, test_load_order, test_load_errors, test_load_max,
	                      test_parse, test_result, test_del_nothing));
	unit_tcase(s, "exec", config_setup, unit_scratch_teardown, 60,
	           UNIT_TESTS(test_exec_stdin_env, test_exec_failures, test_exec_timeout,
	                      test_exec_unread_stdin));
	unit_tcase(s, "net", net_setup, net_teardown, 120,
	           UNIT_TESTS(test_net_add_del, test_net_two_pods, test_net_failed_add,
	                      test_net_cache, test_net_concurrent));
	return s;
}

int
main(void)
{
	return unit_run(cni_suite(), "test_cni", UNIT_ROOT | UNIT_SUBREAPER);
}
