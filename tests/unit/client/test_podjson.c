/* test_podjson.c - crictl-style PodSandboxConfig JSON (client/podjson.c).
 *
 * Good configs land in the right fields; namespace modes and seccomp
 * profile types as numbers and names; run_as_user/run_as_group as crictl's
 * wrapper objects and as bare integers; unknown fields and nulls are accepted;
 * every wrong type is refused with an error naming its field path; JSON
 * syntax errors name line and column; input over 1 MiB, missing metadata
 * and what pod_config_validate() refuses are refused; every examples/ file
 * parse.  Examples are found under $CRADLE_SRC, else the current
 * directory (tests/run.sh runs from the repository root).
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client/podjson.h"
#include "tests/unit/lib/unit.h"

#define META "\"metadata\": {\"name\": \"web\", \"uid\": \"u-1\", \"namespace\": \"default\"}"

/* Parse a NUL-terminated string; on failure *e says why. */
static int
parse(const char *json, struct pod_config *c, struct cradle_err *e)
{
	memset(e, 0, sizeof(*e));
	return podjson_parse(json, strlen(json), c, e);
}

/* Expect json to be refused with INVALID_ARGUMENT and a message starting
 * with want. */
static void
refused(const char *json, const char *want)
{
	struct pod_config c;
	struct cradle_err e;
	int rc = parse(json, &c, &e);

	ck_assert_msg(rc < 0, "accepted: %s", json);
	ck_assert_int_eq(e.code, CRADLE_INVALID_ARGUMENT);
	ck_assert_msg(strncmp(e.msg, want, strlen(want)) == 0,
	              "for %s\n  want prefix: %s\n  got:         %s", json, want, e.msg);
	/* nothing left to free after a failure */
	ck_assert_ptr_null(c.metadata.name);
	ck_assert_ptr_null(c.hostname);
	ck_assert_uint_eq(c.labels.n, 0);
	ck_assert_ptr_null(c.labels.v);
}

static const char *
src_dir(void)
{
	const char *s = getenv("CRADLE_SRC");

	return s && s[0] ? s : ".";
}

START_TEST(test_full_config)
{
	static const char json[] =
		"{\n"
		"  \"metadata\": {\"name\": \"nginx\", \"uid\": \"abc-123\",\n"
		"                \"namespace\": \"prod\", \"attempt\": 3},\n"
		"  \"hostname\": \"nginx-1.example\",\n"
		"  \"log_directory\": \"/var/log/pods/prod_nginx_abc-123\",\n"
		"  \"dns_config\": {\"servers\": [\"10.0.0.10\", \"10.0.0.11\"],\n"
		"                 \"searches\": [\"prod.svc.cluster.local\"],\n"
		"                 \"options\": [\"ndots:5\", \"timeout:2\"]},\n"
		"  \"labels\": {\"app\": \"nginx\", \"app.kubernetes.io/name\": \"web\"},\n"
		"  \"annotations\": {\"note\": \"x y z\"},\n"
		"  \"linux\": {\n"
		"    \"cgroup_parent\": \"/kubepods/burstable/podabc-123\",\n"
		"    \"sysctls\": {\"net.ipv4.ip_forward\": \"1\"},\n"
		"    \"security_context\": {\n"
		"      \"namespace_options\": {\"network\": 2, \"pid\": 1, \"ipc\": 0,\n"
		"                            \"target_id\": \"c0ffee\"},\n"
		"      \"privileged\": true\n"
		"    }\n"
		"  }\n"
		"}\n";
	struct pod_config c;
	struct cradle_err e;

	ck_assert_msg(parse(json, &c, &e) == 0, "%s", e.msg);
	ck_assert_str_eq(c.metadata.name, "nginx");
	ck_assert_str_eq(c.metadata.uid, "abc-123");
	ck_assert_str_eq(c.metadata.namespace, "prod");
	ck_assert_uint_eq(c.metadata.attempt, 3);
	ck_assert_str_eq(c.hostname, "nginx-1.example");
	ck_assert_str_eq(c.log_directory, "/var/log/pods/prod_nginx_abc-123");
	ck_assert(c.has_dns_config);
	ck_assert_uint_eq(c.dns_config.servers.n, 2);
	ck_assert_str_eq(c.dns_config.servers.v[0], "10.0.0.10");
	ck_assert_str_eq(c.dns_config.servers.v[1], "10.0.0.11");
	ck_assert_uint_eq(c.dns_config.searches.n, 1);
	ck_assert_str_eq(c.dns_config.searches.v[0], "prod.svc.cluster.local");
	ck_assert_uint_eq(c.dns_config.options.n, 2);
	ck_assert_str_eq(c.dns_config.options.v[1], "timeout:2");
	ck_assert_uint_eq(c.labels.n, 2);
	ck_assert_str_eq(proto_kvs_get(&c.labels, "app"), "nginx");
	ck_assert_str_eq(proto_kvs_get(&c.labels, "app.kubernetes.io/name"), "web");
	ck_assert_uint_eq(c.annotations.n, 1);
	ck_assert_str_eq(proto_kvs_get(&c.annotations, "note"), "x y z");
	ck_assert_str_eq(c.linux.cgroup_parent, "/kubepods/burstable/podabc-123");
	ck_assert_uint_eq(c.linux.sysctls.n, 1);
	ck_assert_str_eq(proto_kvs_get(&c.linux.sysctls, "net.ipv4.ip_forward"), "1");
	ck_assert_int_eq(c.linux.security_context.namespace_options.network, NS_NODE);
	ck_assert_int_eq(c.linux.security_context.namespace_options.pid, NS_CONTAINER);
	ck_assert_int_eq(c.linux.security_context.namespace_options.ipc, NS_POD);
	ck_assert_str_eq(c.linux.security_context.namespace_options.target_id, "c0ffee");
	ck_assert(c.linux.security_context.privileged);
	pod_config_fini(&c);
}
END_TEST

START_TEST(test_minimal_defaults)
{
	struct pod_config c;
	struct cradle_err e;

	ck_assert_msg(parse("{" META "}", &c, &e) == 0, "%s", e.msg);
	ck_assert_str_eq(c.metadata.name, "web");
	ck_assert_uint_eq(c.metadata.attempt, 0);
	ck_assert_ptr_null(c.hostname);
	ck_assert_ptr_null(c.log_directory);
	ck_assert(!c.has_dns_config);
	ck_assert_uint_eq(c.labels.n, 0);
	ck_assert_uint_eq(c.annotations.n, 0);
	ck_assert_ptr_null(c.linux.cgroup_parent);
	ck_assert_int_eq(c.linux.security_context.namespace_options.network, NS_POD);
	ck_assert_int_eq(c.linux.security_context.namespace_options.pid, NS_POD);
	ck_assert_int_eq(c.linux.security_context.namespace_options.ipc, NS_POD);
	ck_assert(!c.linux.security_context.privileged);
	pod_config_fini(&c);

	/* an empty dns_config is still "present" */
	ck_assert_msg(parse("{" META ", \"dns_config\": {}}", &c, &e) == 0, "%s", e.msg);
	ck_assert(c.has_dns_config);
	ck_assert_uint_eq(c.dns_config.servers.n, 0);
	pod_config_fini(&c);
}
END_TEST

START_TEST(test_ns_modes)
{
	static const struct {
		const char *v;
		int want;
	} good[] = {
		{ "0", NS_POD },         { "1", NS_CONTAINER },
		{ "2", NS_NODE },        { "3", NS_TARGET },
		{ "\"POD\"", NS_POD },   { "\"CONTAINER\"", NS_CONTAINER },
		{ "\"NODE\"", NS_NODE }, { "\"TARGET\"", NS_TARGET },
		{ "\"node\"", NS_NODE }, { "\"Container\"", NS_CONTAINER },
	};
	static const char *const bad[] = {
		"4", "-1", "\"HOST\"", "\"\"", "1.0", "true", "{}", "[2]", "\"NODE \"", "\"2\"",
	};
	static const char *const fields[] = { "network", "pid", "ipc" };
	char json[512], want[256];
	struct pod_config c;
	struct cradle_err e;
	size_t i, f;
	int got;

	for (f = 0; f < 3; f++) {
		for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
			snprintf(json, sizeof(json),
			         "{" META ", \"linux\": {\"security_context\": "
			         "{\"namespace_options\": {\"%s\": %s}}}}",
			         fields[f], good[i].v);
			ck_assert_msg(parse(json, &c, &e) == 0, "%s: %s", json, e.msg);
			got = f == 0   ? c.linux.security_context.namespace_options.network
			      : f == 1 ? c.linux.security_context.namespace_options.pid
			               : c.linux.security_context.namespace_options.ipc;
			ck_assert_msg(got == good[i].want, "%s: got %d", json, got);
			pod_config_fini(&c);
		}
		for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			snprintf(json, sizeof(json),
			         "{" META ", \"linux\": {\"security_context\": "
			         "{\"namespace_options\": {\"%s\": %s}}}}",
			         fields[f], bad[i]);
			snprintf(
				want, sizeof(want),
				"linux.security_context.namespace_options.%s: "
				"expected a namespace mode (0-3 or POD/CONTAINER/NODE/TARGET), got ",
				fields[f]);
			refused(json, want);
		}
	}
	/* the value shows in the message */
	parse("{" META ", \"linux\": {\"security_context\": {\"namespace_options\": "
	      "{\"network\": \"HOST\"}}}}",
	      &c, &e);
	ck_assert_str_eq(e.msg,
	                 "linux.security_context.namespace_options.network: expected "
	                 "a namespace mode (0-3 or POD/CONTAINER/NODE/TARGET), got \"HOST\"");
}
END_TEST

START_TEST(test_unknown_fields_ignored)
{
	static const char json[] =
		"{\"metadata\": {\"name\": \"web\", \"uid\": \"u\", \"namespace\": \"ns\","
		"                \"future\": [1, {\"x\": null}]},"
		" \"port_mappings\": [{\"protocol\": 0, \"container_port\": 80, \"host_port\": 8080,"
		"                      \"host_ip\": \"0.0.0.0\"}],"
		" \"windows\": {\"security_context\": {\"run_as_username\": \"x\"}},"
		" \"something_new\": {\"deep\": {\"deeper\": [true, false, 1.5e3]}},"
		" \"linux\": {"
		"   \"overhead\": {\"cpu_shares\": 2}, \"resources\": {\"memory_limit_in_bytes\": 1},"
		"   \"security_context\": {"
		"     \"namespace_options\": {\"network\": 0, \"userns_options\": {\"mode\": 0}},"
		"     \"selinux_options\": {\"user\": \"u\", \"role\": \"r\", \"type\": \"t\","
		"                           \"level\": \"s0\"},"
		"     \"run_as_user\": {\"value\": 1000},"
		"     \"run_as_group\": {\"value\": 1000},"
		"     \"readonly_rootfs\": true,"
		"     \"supplemental_groups\": [1, 2, 3],"
		"     \"seccomp_profile_path\": \"runtime/default\","
		"     \"seccomp\": {\"profile_type\": 0},"
		"     \"apparmor\": {\"profile_type\": 1}"
		"   }"
		" }"
		"}";
	struct pod_config c;
	struct cradle_err e;

	ck_assert_msg(parse(json, &c, &e) == 0, "%s", e.msg);
	ck_assert_str_eq(c.metadata.namespace, "ns");
	pod_config_fini(&c);
}
END_TEST

START_TEST(test_null_is_absent)
{
	struct pod_config c;
	struct cradle_err e;

	ck_assert_msg(parse("{" META ", \"hostname\": null, \"labels\": null, \"dns_config\": "
	                    "null, \"linux\": {\"security_context\": null}}",
	                    &c, &e) == 0,
	              "%s", e.msg);
	ck_assert_ptr_null(c.hostname);
	ck_assert_uint_eq(c.labels.n, 0);
	ck_assert(!c.has_dns_config);
	pod_config_fini(&c);
}
END_TEST

/* Go's encoding/json (crictl) matches field names ignoring case; an exact
 * match wins. */
START_TEST(test_key_case)
{
	struct pod_config c;
	struct cradle_err e;

	ck_assert_msg(parse("{\"Metadata\": {\"NAME\": \"a\", \"Uid\": \"u\", \"namespace\": "
	                    "\"n\", \"Attempt\": 2}, \"HostName\": \"h\"}",
	                    &c, &e) == 0,
	              "%s", e.msg);
	ck_assert_str_eq(c.metadata.name, "a");
	ck_assert_uint_eq(c.metadata.attempt, 2);
	ck_assert_str_eq(c.hostname, "h");
	pod_config_fini(&c);

	ck_assert_msg(
		parse("{" META ", \"Hostname\": \"wrong\", \"hostname\": \"right\"}", &c, &e) == 0,
		"%s", e.msg);
	ck_assert_str_eq(c.hostname, "right");
	pod_config_fini(&c);
}
END_TEST

START_TEST(test_wrong_types)
{
	static const struct {
		const char *json;
		const char *want;
	} cases[] = {
		{ "{\"metadata\": \"web\"}", "metadata: expected an object, got \"web\"" },
		{ "{\"metadata\": [1]}", "metadata: expected an object, got an array" },
		{ "{\"metadata\": {\"name\": 5, \"uid\": \"u\", \"namespace\": \"n\"}}",
		  "metadata.name: expected a string, got 5" },
		{ "{\"metadata\": {\"name\": \"a\", \"uid\": {}, \"namespace\": \"n\"}}",
		  "metadata.uid: expected a string, got an object" },
		{ "{\"metadata\": {\"name\": \"a\", \"uid\": \"u\", \"namespace\": true}}",
		  "metadata.namespace: expected a string, got true" },
		{ "{\"metadata\": {\"name\": \"a\", \"uid\": \"u\", \"namespace\": \"n\", "
		  "\"attempt\": \"1\"}}",
		  "metadata.attempt: expected an integer 0..4294967295" },
		{ "{\"metadata\": {\"name\": \"a\", \"uid\": \"u\", \"namespace\": \"n\", "
		  "\"attempt\": -1}}",
		  "metadata.attempt: expected an integer 0..4294967295, got -1" },
		{ "{\"metadata\": {\"name\": \"a\", \"uid\": \"u\", \"namespace\": \"n\", "
		  "\"attempt\": 4294967296}}",
		  "metadata.attempt: expected an integer" },
		{ "{\"metadata\": {\"name\": \"a\", \"uid\": \"u\", \"namespace\": \"n\", "
		  "\"attempt\": 1.5}}",
		  "metadata.attempt: expected an integer 0..4294967295, got 1.5" },
		{ "{" META ", \"hostname\": [\"h\"]}",
		  "hostname: expected a string, got an array" },
		{ "{" META ", \"log_directory\": false}", "log_directory: expected a string" },
		{ "{" META ", \"dns_config\": []}", "dns_config: expected an object" },
		{ "{" META ", \"dns_config\": {\"servers\": \"1.1.1.1\"}}",
		  "dns_config.servers: expected an array of strings, got \"1.1.1.1\"" },
		{ "{" META ", \"dns_config\": {\"servers\": [\"1.1.1.1\", 8]}}",
		  "dns_config.servers[1]: expected a string, got 8" },
		{ "{" META ", \"dns_config\": {\"searches\": [null]}}",
		  "dns_config.searches[0]: expected a string, got null" },
		{ "{" META ", \"dns_config\": {\"options\": {}}}", "dns_config.options: expected" },
		{ "{" META ", \"labels\": [\"a=b\"]}", "labels: expected an object of strings" },
		{ "{" META ", \"labels\": {\"app\": 5}}", "labels.app: expected a string, got 5" },
		{ "{" META ", \"labels\": {\"app.kubernetes.io/name\": true}}",
		  "labels[\"app.kubernetes.io/name\"]: expected a string, got true" },
		{ "{" META ", \"annotations\": {\"a\": {\"b\": \"c\"}}}",
		  "annotations.a: expected a string, got an object" },
		{ "{" META ", \"linux\": \"yes\"}", "linux: expected an object, got \"yes\"" },
		{ "{" META ", \"linux\": {\"cgroup_parent\": 1}}",
		  "linux.cgroup_parent: expected a string, got 1" },
		{ "{" META ", \"linux\": {\"sysctls\": {\"net.core.somaxconn\": 1024}}}",
		  "linux.sysctls[\"net.core.somaxconn\"]: expected a string, got 1024" },
		{ "{" META ", \"linux\": {\"security_context\": 0}}",
		  "linux.security_context: expected an object" },
		{ "{" META ", \"linux\": {\"security_context\": {\"namespace_options\": [0]}}}",
		  "linux.security_context.namespace_options: expected an object" },
		{ "{" META ", \"linux\": {\"security_context\": {\"namespace_options\": "
		  "{\"target_id\": 7}}}}",
		  "linux.security_context.namespace_options.target_id: expected a string" },
		{ "{" META ", \"linux\": {\"security_context\": {\"privileged\": \"yes\"}}}",
		  "linux.security_context.privileged: expected true or false, got \"yes\"" },
		{ "{" META ", \"linux\": {\"security_context\": {\"privileged\": 1}}}",
		  "linux.security_context.privileged: expected true or false, got 1" },
		{ "{" META ", \"linux\": {\"security_context\": {\"run_as_user\": \"1000\"}}}",
		  "linux.security_context.run_as_user: expected an integer or {\"value\": integer}, "
		  "got \"1000\"" },
		{ "{" META ", \"linux\": {\"security_context\": {\"run_as_user\": [1000]}}}",
		  "linux.security_context.run_as_user: expected an integer or {\"value\": integer}, "
		  "got an array" },
		{ "{" META ", \"linux\": {\"security_context\": {\"run_as_user\": 1.5}}}",
		  "linux.security_context.run_as_user: expected an integer or {\"value\": integer}, "
		  "got 1.5" },
		{ "{" META ", \"linux\": {\"security_context\": {\"run_as_user\": "
		  "{\"value\": 9223372036854775808}}}}",
		  "linux.security_context.run_as_user.value: expected an integer, got "
		  "9223372036854775808" },
		{ "{" META ", \"linux\": {\"security_context\": {\"run_as_group\": true}}}",
		  "linux.security_context.run_as_group: expected an integer or {\"value\": integer}" },
		{ "{" META ", \"linux\": {\"security_context\": {\"run_as_username\": 0}}}",
		  "linux.security_context.run_as_username: expected a string, got 0" },
		{ "{" META ", \"linux\": {\"security_context\": {\"supplemental_groups\": "
		  "[{\"value\": 1}]}}}",
		  "linux.security_context.supplemental_groups[0]: expected an integer, got an object" },
		{ "{" META ", \"linux\": {\"security_context\": {\"selinux_options\": \"s0\"}}}",
		  "linux.security_context.selinux_options: expected an object, got \"s0\"" },
		{ "{" META ", \"linux\": {\"security_context\": {\"selinux_options\": "
		  "{\"level\": 0}}}}",
		  "linux.security_context.selinux_options.level: expected a string, got 0" },
		{ "{" META ", \"linux\": {\"security_context\": {\"selinux_options\": "
		  "{\"user\": [\"u\"]}}}}",
		  "linux.security_context.selinux_options.user: expected a string, got an array" },
		{ "{" META ", \"linux\": {\"security_context\": {\"seccomp\": \"unconfined\"}}}",
		  "linux.security_context.seccomp: expected an object, got \"unconfined\"" },
		{ "{" META ", \"linux\": {\"security_context\": {\"seccomp\": "
		  "{\"profile_type\": 3}}}}",
		  "linux.security_context.seccomp.profile_type: expected a seccomp profile type "
		  "(0-2 or RuntimeDefault/Unconfined/Localhost), got 3" },
		{ "{" META ", \"linux\": {\"security_context\": {\"seccomp\": "
		  "{\"profile_type\": \"runtime/default\"}}}}",
		  "linux.security_context.seccomp.profile_type: expected a seccomp profile type "
		  "(0-2 or RuntimeDefault/Unconfined/Localhost), got \"runtime/default\"" },
		{ "{" META ", \"linux\": {\"security_context\": {\"seccomp\": "
		  "{\"profile_type\": true}}}}",
		  "linux.security_context.seccomp.profile_type: expected a seccomp profile type" },
		{ "{" META ", \"linux\": {\"security_context\": {\"seccomp\": "
		  "{\"localhost_ref\": 1}}}}",
		  "linux.security_context.seccomp.localhost_ref: expected a string, got 1" },
		{ "{" META ", \"linux\": {\"security_context\": {\"seccomp_profile_path\": {}}}}",
		  "linux.security_context.seccomp_profile_path: expected a string, got an object" },
		{ "{" META ", \"linux\": {\"security_context\": {\"apparmor\": 1}}}",
		  "linux.security_context.apparmor: expected an object, got 1" },
		{ "{" META ", \"linux\": {\"security_context\": {\"namespace_options\": "
		  "{\"userns_options\": []}}}}",
		  "linux.security_context.namespace_options.userns_options: expected an object, "
		  "got an array" },
		{ "{" META ", \"linux\": {\"security_context\": {\"namespace_options\": "
		  "{\"userns_options\": {\"mode\": \"HOST\"}}}}}",
		  "linux.security_context.namespace_options.userns_options.mode: expected a "
		  "namespace mode (0-3 or POD/CONTAINER/NODE/TARGET), got \"HOST\"" },
		{ "{" META ", \"linux\": {\"security_context\": {\"namespace_options\": "
		  "{\"userns_options\": {\"uids\": {}}}}}}",
		  "linux.security_context.namespace_options.userns_options.uids: expected an array "
		  "of objects, got an object" },
		{ "{" META ", \"linux\": {\"security_context\": {\"namespace_options\": "
		  "{\"userns_options\": {\"gids\": [{\"host_id\": 1}, 5]}}}}}",
		  "linux.security_context.namespace_options.userns_options.gids[1]: expected an "
		  "object, got 5" },
		{ "{" META ", \"linux\": {\"security_context\": {\"namespace_options\": "
		  "{\"userns_options\": {\"uids\": [{\"host_id\": -1}]}}}}}",
		  "linux.security_context.namespace_options.userns_options.uids[0].host_id: "
		  "expected an integer 0..4294967295, got -1" },
		{ "{" META ", \"linux\": {\"security_context\": {\"namespace_options\": "
		  "{\"userns_options\": {\"uids\": [{\"container_id\": 4294967296}]}}}}}",
		  "linux.security_context.namespace_options.userns_options.uids[0].container_id: "
		  "expected an integer 0..4294967295, got 4294967296" },
		{ "{" META ", \"linux\": {\"security_context\": {\"namespace_options\": "
		  "{\"userns_options\": {\"gids\": [{\"length\": \"65536\"}]}}}}}",
		  "linux.security_context.namespace_options.userns_options.gids[0].length: "
		  "expected an integer 0..4294967295, got \"65536\"" },
		{ "{" META ", \"linux\": {\"resources\": 1}}",
		  "linux.resources: expected an object, got 1" },
		{ "{" META ", \"linux\": {\"resources\": {\"cpu_period\": \"100ms\"}}}",
		  "linux.resources.cpu_period: expected an integer, got \"100ms\"" },
		{ "{" META ", \"linux\": {\"resources\": {\"cpu_quota\": 1.5}}}",
		  "linux.resources.cpu_quota: expected an integer, got 1.5" },
		{ "{" META ", \"linux\": {\"resources\": {\"cpu_shares\": null, "
		  "\"memory_limit_in_bytes\": [1]}}}",
		  "linux.resources.memory_limit_in_bytes: expected an integer, got an array" },
		{ "{" META ", \"linux\": {\"security_context\": {\"run_as_group\": "
		  "{\"value\": \"root\"}}}}",
		  "linux.security_context.run_as_group.value: expected an integer, got \"root\"" },
		{ "{" META ", \"linux\": {\"security_context\": {\"readonly_rootfs\": \"no\"}}}",
		  "linux.security_context.readonly_rootfs: expected true or false" },
		{ "{" META ", \"linux\": {\"security_context\": {\"supplemental_groups\": \"1\"}}}",
		  "linux.security_context.supplemental_groups: expected an array of integers" },
		{ "{" META ", \"linux\": {\"security_context\": {\"supplemental_groups\": [1, "
		  "\"x\"]}}}",
		  "linux.security_context.supplemental_groups[1]: expected an integer" },
		{ "[]",
		  "expected a JSON object (PodSandboxConfig) at the top level, got an array" },
		{ "\"pod\"",
		  "expected a JSON object (PodSandboxConfig) at the top level, got \"pod\"" },
		{ "null", "expected a JSON object (PodSandboxConfig) at the top level, got null" },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		refused(cases[i].json, cases[i].want);
}
END_TEST

START_TEST(test_security_context)
{
	static const char json[] =
		"{" META ",\n"
		"  \"linux\": {\n"
		"    \"resources\": {\"cpu_period\": 100000, \"cpu_quota\": -1, \"cpu_shares\": 512,\n"
		"                  \"memory_limit_in_bytes\": 268435456, \"oom_score_adj\": 5},\n"
		"    \"security_context\": {\n"
		"      \"namespace_options\": {\"network\": 0, \"userns_options\": {\n"
		"        \"mode\": \"POD\",\n"
		"        \"uids\": [{\"host_id\": 100000, \"container_id\": 0, \"length\": 65536}],\n"
		"        \"gids\": [{\"host_id\": 100000, \"container_id\": 0, \"length\": 65536},\n"
		"                 {\"host_id\": 4294967295, \"container_id\": 65536, \"length\": 1}]}},\n"
		"      \"run_as_user\": {\"value\": 1000},\n"
		"      \"run_as_group\": 0,\n"
		"      \"run_as_username\": \"nginx\",\n"
		"      \"supplemental_groups\": [1, 65534, 1099511627776],\n"
		"      \"readonly_rootfs\": true,\n"
		"      \"selinux_options\": {\"user\": \"system_u\", \"role\": \"system_r\",\n"
		"                          \"type\": \"container_t\", \"level\": \"s0:c1,c2\"},\n"
		"      \"seccomp\": {\"profile_type\": \"Localhost\", \"localhost_ref\": \"/p/a.json\"},\n"
		"      \"seccomp_profile_path\": \"localhost//p/a.json\"\n"
		"    }\n"
		"  }\n"
		"}\n";
	struct pod_config c;
	struct cradle_err e;

	ck_assert_msg(parse(json, &c, &e) == 0, "%s", e.msg);
	ck_assert(c.linux.resources.present);
	ck_assert_int_eq(c.linux.resources.cpu_period, 100000);
	ck_assert_int_eq(c.linux.resources.cpu_quota, -1);
	ck_assert_int_eq(c.linux.resources.cpu_shares, 512);
	ck_assert_int_eq(c.linux.resources.memory_limit_in_bytes, 268435456);
	ck_assert(c.linux.security_context.namespace_options.userns_options.present);
	ck_assert_int_eq(c.linux.security_context.namespace_options.userns_options.mode, NS_POD);
	ck_assert_uint_eq(c.linux.security_context.namespace_options.userns_options.uids.n, 1);
	ck_assert_uint_eq(
		c.linux.security_context.namespace_options.userns_options.uids.v[0].host_id,
		100000);
	ck_assert_uint_eq(
		c.linux.security_context.namespace_options.userns_options.uids.v[0].length, 65536);
	ck_assert_uint_eq(c.linux.security_context.namespace_options.userns_options.gids.n, 2);
	ck_assert_uint_eq(
		c.linux.security_context.namespace_options.userns_options.gids.v[1].host_id,
		4294967295u);
	ck_assert_uint_eq(
		c.linux.security_context.namespace_options.userns_options.gids.v[1].container_id,
		65536);
	ck_assert(c.linux.security_context.has_run_as_user);
	ck_assert_int_eq(c.linux.security_context.run_as_user, 1000);
	ck_assert(c.linux.security_context.has_run_as_group);
	ck_assert_int_eq(c.linux.security_context.run_as_group, 0);
	ck_assert_str_eq(c.linux.security_context.run_as_username, "nginx");
	ck_assert_uint_eq(c.linux.security_context.supplemental_groups.n, 3);
	ck_assert_int_eq(c.linux.security_context.supplemental_groups.v[2], 1099511627776LL);
	ck_assert(c.linux.security_context.readonly_rootfs);
	ck_assert_str_eq(c.linux.security_context.selinux_options.user, "system_u");
	ck_assert_str_eq(c.linux.security_context.selinux_options.role, "system_r");
	ck_assert_str_eq(c.linux.security_context.selinux_options.type, "container_t");
	ck_assert_str_eq(c.linux.security_context.selinux_options.level, "s0:c1,c2");
	ck_assert(c.linux.security_context.seccomp.present);
	ck_assert_int_eq(c.linux.security_context.seccomp.profile_type, SECCOMP_PROFILE_LOCALHOST);
	ck_assert_str_eq(c.linux.security_context.seccomp.localhost_ref, "/p/a.json");
	ck_assert_str_eq(c.linux.security_context.seccomp_profile_path, "localhost//p/a.json");
	pod_config_fini(&c);

	/* none of it given: nothing set */
	ck_assert_msg(parse("{" META "}", &c, &e) == 0, "%s", e.msg);
	ck_assert(!c.linux.resources.present);
	ck_assert(!c.linux.security_context.namespace_options.userns_options.present);
	ck_assert(!c.linux.security_context.has_run_as_user);
	ck_assert(!c.linux.security_context.has_run_as_group);
	ck_assert(!c.linux.security_context.seccomp.present);
	ck_assert_ptr_null(c.linux.security_context.selinux_options.user);
	ck_assert_uint_eq(c.linux.security_context.supplemental_groups.n, 0);
	pod_config_fini(&c);
}
END_TEST

/* run_as_user / run_as_group: crictl's wrapper, a bare integer, and the
 * wrapper's zero forms. */
START_TEST(test_run_as_forms)
{
	static const struct {
		const char *v;
		bool has;
		int64_t want;
	} cases[] = {
		{ "{\"value\": 1000}", true, 1000 },
		{ "1000", true, 1000 },
		{ "0", true, 0 },
		{ "{\"value\": 0}", true, 0 },
		{ "{}", true, 0 },
		{ "{\"value\": null}", true, 0 },
		{ "{\"Value\": 7}", true, 7 },
		{ "{\"value\": 9223372036854775807}", true, INT64_MAX },
		{ "null", false, 0 },
	};
	static const char *const keys[] = { "run_as_user", "run_as_group" };
	char json[512];
	struct pod_config c;
	struct cradle_err e;
	size_t i, k;

	for (k = 0; k < 2; k++) {
		for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
			snprintf(json, sizeof(json),
			         "{" META ", \"linux\": {\"security_context\": "
			         "{\"%s\": %s%s}}}",
			         keys[k], cases[i].v, k ? ", \"run_as_user\": 1" : "");
			ck_assert_msg(parse(json, &c, &e) == 0, "%s: %s", json, e.msg);
			if (k == 0) {
				ck_assert_msg(c.linux.security_context.has_run_as_user ==
				                      cases[i].has,
				              "%s", json);
				ck_assert_int_eq(c.linux.security_context.run_as_user,
				                 cases[i].want);
			} else {
				ck_assert_msg(c.linux.security_context.has_run_as_group ==
				                      cases[i].has,
				              "%s", json);
				ck_assert_int_eq(c.linux.security_context.run_as_group,
				                 cases[i].want);
			}
			pod_config_fini(&c);
		}
	}
	/* negative ids are the validator's, in the daemon's words, in both forms */
	refused("{" META ", \"linux\": {\"security_context\": {\"run_as_user\": -1}}}",
	        "linux.security_context.run_as_user: -1 is out of range (0..9223372036854775807)");
	refused("{" META ", \"linux\": {\"security_context\": {\"run_as_user\": {\"value\": -2}}}}",
	        "linux.security_context.run_as_user: -2 is out of range (0..9223372036854775807)");
	refused("{" META
	        ", \"linux\": {\"security_context\": {\"run_as_group\": {\"value\": -3}}}}",
	        "linux.security_context.run_as_group: -3 is out of range");
}
END_TEST

START_TEST(test_enum_names)
{
	static const struct {
		const char *v;
		int want;
	} seccomp[] = {
		{ "0", 0 }, { "1", 1 }, { "2", 2 },
		{ "\"RuntimeDefault\"", 0 }, { "\"Unconfined\"", 1 }, { "\"Localhost\"", 2 },
		{ "\"runtimedefault\"", 0 }, { "\"UNCONFINED\"", 1 },
	}, userns[] = {
		{ "0", NS_POD }, { "2", NS_NODE }, { "\"POD\"", NS_POD }, { "\"NODE\"", NS_NODE },
		{ "\"container\"", NS_CONTAINER }, { "\"TARGET\"", NS_TARGET },
	};
	static const char *const bad_seccomp[] = {
		"3", "-1", "\"\"", "\"RuntimeDefault \"", "\"runtime/default\"", "1.0", "[0]",
	};
	char json[512], want[256];
	struct pod_config c;
	struct cradle_err e;
	size_t i;

	for (i = 0; i < sizeof(seccomp) / sizeof(seccomp[0]); i++) {
		snprintf(json, sizeof(json),
		         "{" META ", \"linux\": {\"security_context\": "
		         "{\"seccomp\": {\"profile_type\": %s}}}}",
		         seccomp[i].v);
		ck_assert_msg(parse(json, &c, &e) == 0, "%s: %s", json, e.msg);
		ck_assert(c.linux.security_context.seccomp.present);
		ck_assert_int_eq(c.linux.security_context.seccomp.profile_type, seccomp[i].want);
		pod_config_fini(&c);
	}
	for (i = 0; i < sizeof(bad_seccomp) / sizeof(bad_seccomp[0]); i++) {
		snprintf(json, sizeof(json),
		         "{" META ", \"linux\": {\"security_context\": "
		         "{\"seccomp\": {\"profile_type\": %s}}}}",
		         bad_seccomp[i]);
		refused(json, "linux.security_context.seccomp.profile_type: expected a seccomp "
		              "profile type (0-2 or RuntimeDefault/Unconfined/Localhost), got ");
	}
	for (i = 0; i < sizeof(userns) / sizeof(userns[0]); i++) {
		snprintf(json, sizeof(json),
		         "{" META ", \"linux\": {\"security_context\": "
		         "{\"namespace_options\": {\"userns_options\": {\"mode\": %s}}}}}",
		         userns[i].v);
		ck_assert_msg(parse(json, &c, &e) == 0, "%s: %s", json, e.msg);
		ck_assert(c.linux.security_context.namespace_options.userns_options.present);
		ck_assert_int_eq(c.linux.security_context.namespace_options.userns_options.mode,
		                 userns[i].want);
		pod_config_fini(&c);
	}
	snprintf(want, sizeof(want),
	         "linux.security_context.namespace_options.userns_options."
	         "mode: expected a namespace mode (0-3 or POD/CONTAINER/NODE/TARGET), got 4");
	refused("{" META ", \"linux\": {\"security_context\": {\"namespace_options\": "
	        "{\"userns_options\": {\"mode\": 4}}}}}",
	        want);

	/* an empty seccomp or userns_options is still present */
	ck_assert_msg(parse("{" META ", \"linux\": {\"security_context\": {\"seccomp\": {}, "
	                    "\"namespace_options\": {\"userns_options\": {}}}}}",
	                    &c, &e) == 0,
	              "%s", e.msg);
	ck_assert(c.linux.security_context.seccomp.present);
	ck_assert_int_eq(c.linux.security_context.seccomp.profile_type,
	                 SECCOMP_PROFILE_RUNTIME_DEFAULT);
	ck_assert(c.linux.security_context.namespace_options.userns_options.present);
	ck_assert_int_eq(c.linux.security_context.namespace_options.userns_options.mode, NS_POD);
	pod_config_fini(&c);
}
END_TEST

/* What pod_config_validate() refuses in the new fields, through JSON. */
START_TEST(test_security_context_validated)
{
	char *text, *p;
	int i;

	refused("{" META ", \"linux\": {\"security_context\": {\"run_as_username\": \"a:b\"}}}",
	        "linux.security_context.run_as_username: must not contain ':'");
	refused("{" META ", \"linux\": {\"security_context\": {\"run_as_username\": \"../x\"}}}",
	        "linux.security_context.run_as_username: must not contain '/'");
	refused("{" META ", \"linux\": {\"security_context\": {\"supplemental_groups\": [1, -1]}}}",
	        "linux.security_context.supplemental_groups[1]: -1 is out of range");
	refused("{" META ", \"linux\": {\"security_context\": {\"selinux_options\": "
	        "{\"level\": \"s0 c1\"}}}}",
	        "linux.security_context.selinux_options.level: \"s0 c1\" may only hold letters, "
	        "digits, '_', '.', ':', ',' and '-'");
	refused("{" META ", \"linux\": {\"security_context\": {\"selinux_options\": "
	        "{\"type\": \"t\\n\"}}}}",
	        "linux.security_context.selinux_options.type: \"t\\x0a\" may only hold");

	text = malloc(8192);
	ck_assert_ptr_nonnull(text);
	p = text + sprintf(text, "{" META ", \"linux\": {\"security_context\": "
	                         "{\"supplemental_groups\": [");
	for (i = 0; i < 65; i++)
		p += sprintf(p, "%s%d", i ? ", " : "", i);
	strcpy(p, "]}}}");
	refused(text, "linux.security_context.supplemental_groups: 65 entries exceed the "
	              "limit of 64");

	p = text + sprintf(text, "{" META ", \"linux\": {\"security_context\": "
	                         "{\"namespace_options\": {\"userns_options\": {\"uids\": [");
	for (i = 0; i < 17; i++)
		p += sprintf(p, "%s{\"host_id\": %d, \"length\": 1}", i ? ", " : "", i);
	strcpy(p, "]}}}}}");
	refused(text, "linux.security_context.namespace_options.userns_options.uids: 17 "
	              "entries exceed the limit of 16");

	p = text + sprintf(text, "{" META ", \"linux\": {\"security_context\": "
	                         "{\"seccomp\": {\"localhost_ref\": \"");
	memset(p, 'x', 4097);
	strcpy(p + 4097, "\"}}}}");
	refused(text, "linux.security_context.seccomp.localhost_ref: 4097 bytes exceeds 4096");
	free(text);
}
END_TEST

START_TEST(test_invalid_json)
{
	static const struct {
		const char *json;
		const char *want;
	} cases[] = {
		{ "", "invalid JSON at line 1, column 1: " },
		{ "   \n  ", "invalid JSON at line 2, column 3: " },
		{ "{", "invalid JSON at line 1, column 2: " },
		{ "{" META ",\n  \"hostname\": tru\n}", "invalid JSON at line 2, column " },
		{ "{" META ",}", "invalid JSON at line 1, column " },
		{ "{" META "} {}", "invalid JSON at line 1, column " },
		{ "{" META ", /* comment */ \"x\": 1}", "invalid JSON at line 1, column " },
		{ "{\n\n\"a\": \"\xff\"}", "invalid JSON at line 3, column " },
		{ "{" META ", \"hostname\": \"h\\u0000x\"}", "hostname: contains a NUL character" },
	};
	static const char with_nul[] = "{\"a\":\0 1}";
	struct pod_config c;
	struct cradle_err e;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		refused(cases[i].json, cases[i].want);

	/* a raw NUL byte inside the text */
	memset(&e, 0, sizeof(e));
	ck_assert_int_lt(podjson_parse(with_nul, sizeof(with_nul) - 1, &c, &e), 0);
	ck_assert_int_eq(e.code, CRADLE_INVALID_ARGUMENT);
	ck_assert_msg(strstr(e.msg, "line 1, column 6") != NULL, "%s", e.msg);
}
END_TEST

/* The text need not be NUL-terminated: only len bytes are read. */
START_TEST(test_length_bounded)
{
	static const char text[] = "{" META "}GARBAGE";
	struct pod_config c;
	struct cradle_err e;

	memset(&e, 0, sizeof(e));
	ck_assert_msg(podjson_parse(text, strlen(text) - 7, &c, &e) == 0, "%s", e.msg);
	ck_assert_str_eq(c.metadata.name, "web");
	pod_config_fini(&c);
}
END_TEST

START_TEST(test_limits)
{
	size_t big = PODJSON_MAX_BYTES + 1, i, n;
	char path[] = "/tmp/test_podjson_XXXXXX";
	struct pod_config c;
	struct cradle_err e;
	char *text, *p;
	FILE *f;
	int fd;

	/* oversized text, refused before parsing (it is not even JSON) */
	text = malloc(big);
	ck_assert_ptr_nonnull(text);
	memset(text, ' ', big);
	memset(&e, 0, sizeof(e));
	ck_assert_int_lt(podjson_parse(text, big, &c, &e), 0);
	ck_assert_int_eq(e.code, CRADLE_INVALID_ARGUMENT);
	ck_assert_msg(strstr(e.msg, "exceeds the limit of 1048576 bytes"), "%s", e.msg);

	/* and as a file */
	fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	f = fdopen(fd, "w");
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(text, 1, big, f), big);
	fclose(f);
	memset(&e, 0, sizeof(e));
	ck_assert_int_lt(podjson_parse_file(path, &c, &e), 0);
	ck_assert_int_eq(e.code, CRADLE_INVALID_ARGUMENT);
	ck_assert_msg(strstr(e.msg, path) && strstr(e.msg, "limit of 1048576 bytes"), "%s", e.msg);
	unlink(path);

	/* nesting deeper than PODJSON_MAX_DEPTH */
	p = text;
	p += sprintf(p, "{" META ", \"x\": ");
	for (i = 0; i < PODJSON_MAX_DEPTH + 2; i++)
		*p++ = '[';
	for (i = 0; i < PODJSON_MAX_DEPTH + 2; i++)
		*p++ = ']';
	strcpy(p, "}");
	refused(text, "invalid JSON at line 1, column ");

	/* more labels than the wire allows */
	p = text;
	p += sprintf(p, "{" META ", \"labels\": {");
	n = PROTO_MAX_KV + 1;
	for (i = 0; i < n; i++)
		p += sprintf(p, "%s\"k%zu\": \"v\"", i ? ", " : "", i);
	strcpy(p, "}}");
	refused(text, "labels: 257 entries exceed the limit of 256");

	/* a string longer than the wire allows */
	p = text;
	p += sprintf(p, "{" META ", \"annotations\": {\"a\": \"");
	memset(p, 'x', PROTO_MAX_STR + 1);
	p += PROTO_MAX_STR + 1;
	strcpy(p, "\"}}");
	refused(text, "annotations.a: string of 16385 bytes exceeds the limit of 16384");
	free(text);
}
END_TEST

START_TEST(test_metadata_missing)
{
	refused("{}", "metadata: sandbox config must include metadata");
	refused("{\"hostname\": \"h\"}", "metadata: sandbox config must include metadata");
	refused("{\"metadata\": null}", "metadata: sandbox config must include metadata");
	refused("{\"metadata\": {}}", "metadata.name: required field is missing");
	refused("{\"metadata\": {\"name\": \"a\", \"namespace\": \"n\"}}",
	        "metadata.uid: required field is missing");
	refused("{\"metadata\": {\"name\": \"a\", \"uid\": \"u\"}}",
	        "metadata.namespace: required field is missing");
	refused("{\"metadata\": {\"uid\": \"u\", \"namespace\": \"n\"}}",
	        "metadata.name: required field is missing");
}
END_TEST

/* pod_config_validate runs on the result: the daemon's rules apply here. */
START_TEST(test_validated)
{
	refused("{\"metadata\": {\"name\": \"Web_1\", \"uid\": \"u\", \"namespace\": \"n\"}}",
	        "metadata.name: \"Web_1\" is not a valid DNS-1123 label");
	refused("{\"metadata\": {\"name\": \"a\", \"uid\": \"a/b\", \"namespace\": \"n\"}}",
	        "metadata.uid: must not contain '/'");
	refused("{" META ", \"hostname\": \"Bad_Host\"}",
	        "hostname: \"Bad_Host\" is not a valid DNS-1123 subdomain");
	refused("{" META ", \"log_directory\": \"relative/dir\"}",
	        "log_directory: must be an absolute path");
	refused("{" META ", \"dns_config\": {\"servers\": [\"1.1.1.1 8.8.8.8\"]}}",
	        "dns_config.servers[0]: must not contain whitespace");
	refused("{" META ", \"linux\": {\"sysctls\": {\"../x\": \"1\"}}}",
	        "linux.sysctls: \"../x\" is not a valid sysctl name");
	refused("{" META ", \"linux\": {\"cgroup_parent\": \"/a/../../b\"}}",
	        "linux.cgroup_parent: must not contain \"..\" components");
}
END_TEST

/* crictl's "port_mappings": numbers or names for the protocol, the
 * validator's ranges, a bad element freeing what was read before it. */
START_TEST(test_port_mappings)
{
	struct pod_config c;
	struct cradle_err e;

	ck_assert_int_eq(parse("{" META ", \"port_mappings\": [{\"protocol\": 0, "
	                       "\"container_port\": 80, \"host_port\": 8080, \"host_ip\": \"\"}, "
	                       "{\"protocol\": \"udp\", \"container_port\": 53, "
	                       "\"host_ip\": \"127.0.0.1\"}]}",
	                       &c, &e),
	                 0);
	ck_assert_uint_eq(c.port_mappings.n, 2);
	ck_assert_int_eq(c.port_mappings.v[0].protocol, PROTO_TCP);
	ck_assert_int_eq(c.port_mappings.v[0].container_port, 80);
	ck_assert_int_eq(c.port_mappings.v[0].host_port, 8080);
	ck_assert_ptr_null(c.port_mappings.v[0].host_ip);
	ck_assert_int_eq(c.port_mappings.v[1].protocol, PROTO_UDP);
	ck_assert_int_eq(c.port_mappings.v[1].host_port, 0);
	ck_assert_str_eq(c.port_mappings.v[1].host_ip, "127.0.0.1");
	pod_config_fini(&c);
	refused("{" META ", \"port_mappings\": [{\"host_port\": 65536}]}",
	        "port_mappings[0]: host_port 65536 is not 0..65535");
	refused("{" META ", \"port_mappings\": [{\"protocol\": \"icmp\"}]}",
	        "port_mappings[0].protocol: expected a protocol (0-2 or TCP/UDP/SCTP)");
	refused("{" META ", \"port_mappings\": [{\"host_ip\": \"::1\"}, 7]}",
	        "port_mappings[1]: expected an object");
	refused("{" META ", \"port_mappings\": [{\"host_ip\": \"localhost\"}]}",
	        "port_mappings[0]: host_ip is not an IPv4 or IPv6 address");
	refused("{" META ", \"port_mappings\": {}}", "port_mappings: expected an array");
}
END_TEST

START_TEST(test_duplicate_keys_last_wins)
{
	struct pod_config c;
	struct cradle_err e;

	ck_assert_msg(parse("{" META ", \"labels\": {\"a\": \"1\", \"a\": \"2\"}}", &c, &e) == 0,
	              "%s", e.msg);
	ck_assert_uint_eq(c.labels.n, 1);
	ck_assert_str_eq(proto_kvs_get(&c.labels, "a"), "2");
	pod_config_fini(&c);
}
END_TEST

static void
parse_example(const char *name, struct pod_config *c)
{
	char path[4096];
	struct cradle_err e;

	snprintf(path, sizeof(path), "%s/examples/%s", src_dir(), name);
	memset(&e, 0, sizeof(e));
	ck_assert_msg(access(path, R_OK) == 0,
	              "%s not found (set CRADLE_SRC to the source "
	              "tree or run from it)",
	              path);
	ck_assert_msg(podjson_parse_file(path, c, &e) == 0, "%s: %s", path, e.msg);
}

START_TEST(test_examples)
{
	struct pod_config c;

	parse_example("pod.json", &c);
	ck_assert_str_eq(c.metadata.name, "nginx-sandbox");
	ck_assert_str_eq(c.metadata.namespace, "default");
	ck_assert_int_eq(c.linux.security_context.namespace_options.network, NS_POD);
	ck_assert_int_eq(c.linux.security_context.namespace_options.pid, NS_CONTAINER);
	pod_config_fini(&c);

	parse_example("pod-hostnet.json", &c);
	ck_assert_int_eq(c.linux.security_context.namespace_options.network, NS_NODE);
	ck_assert_int_eq(c.linux.security_context.namespace_options.pid, NS_CONTAINER);
	ck_assert_int_eq(c.linux.security_context.namespace_options.ipc, NS_POD);
	ck_assert_ptr_null(c.hostname);
	pod_config_fini(&c);

	parse_example("pod-labels.json", &c);
	ck_assert_uint_eq(c.metadata.attempt, 2);
	ck_assert(c.has_dns_config);
	ck_assert_uint_eq(c.dns_config.servers.n, 1);
	ck_assert_uint_eq(c.dns_config.searches.n, 3);
	ck_assert_str_eq(c.dns_config.options.v[0], "ndots:5");
	ck_assert_str_eq(proto_kvs_get(&c.labels, "app"), "web");
	ck_assert_str_eq(proto_kvs_get(&c.annotations, "kubernetes.io/config.source"), "api");
	pod_config_fini(&c);
}
END_TEST

START_TEST(test_file_errors)
{
	char dir[] = "/tmp/test_podjson_dir_XXXXXX", path[64];
	struct pod_config c;
	struct cradle_err e;
	FILE *f;

	memset(&e, 0, sizeof(e));
	ck_assert_int_lt(podjson_parse_file("/nonexistent/pod.json", &c, &e), 0);
	ck_assert_int_eq(e.code, CRADLE_NOT_FOUND);
	ck_assert_str_eq(e.msg, "cannot open pod config \"/nonexistent/pod.json\": "
	                        "No such file or directory");

	ck_assert_ptr_nonnull(mkdtemp(dir));
	memset(&e, 0, sizeof(e));
	ck_assert_int_lt(podjson_parse_file(dir, &c, &e), 0);
	ck_assert_msg(strstr(e.msg, "Is a directory"), "%s", e.msg);

	/* errors inside the file are prefixed with its name */
	snprintf(path, sizeof(path), "%s/p.json", dir);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs("{\"metadata\": {\"name\": 1}}", f);
	fclose(f);
	memset(&e, 0, sizeof(e));
	ck_assert_int_lt(podjson_parse_file(path, &c, &e), 0);
	ck_assert_int_eq(e.code, CRADLE_INVALID_ARGUMENT);
	ck_assert_msg(strncmp(e.msg, "pod config \"", 12) == 0 &&
	                      strstr(e.msg, "\": metadata.name: expected a string, got 1"),
	              "%s", e.msg);
	unlink(path);
	rmdir(dir);
}
END_TEST

static Suite *
podjson_suite(void)
{
	Suite *s = suite_create("podjson");
	TCase *tc = tcase_create("parse");

	tcase_add_test(tc, test_full_config);
	tcase_add_test(tc, test_minimal_defaults);
	tcase_add_test(tc, test_ns_modes);
	tcase_add_test(tc, test_unknown_fields_ignored);
	tcase_add_test(tc, test_null_is_absent);
	tcase_add_test(tc, test_key_case);
	tcase_add_test(tc, test_wrong_types);
	tcase_add_test(tc, test_security_context);
	tcase_add_test(tc, test_run_as_forms);
	tcase_add_test(tc, test_enum_names);
	tcase_add_test(tc, test_security_context_validated);
	tcase_add_test(tc, test_invalid_json);
	tcase_add_test(tc, test_length_bounded);
	tcase_add_test(tc, test_limits);
	tcase_add_test(tc, test_metadata_missing);
	tcase_add_test(tc, test_validated);
	tcase_add_test(tc, test_port_mappings);
	tcase_add_test(tc, test_duplicate_keys_last_wins);
	tcase_add_test(tc, test_examples);
	tcase_add_test(tc, test_file_errors);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return unit_run(podjson_suite(), "test_podjson", 0);
}
