/* test_net.c - the pods' traffic shaping annotations (worker/net.c,
 * net_bandwidth): Kubernetes quantities of bits per second, as containerd
 * hands them to the bandwidth capability.  No network is made here; the
 * plugins' side of runtimeConfig is tests/unit/sandbox/test_cni.c's. */
#include <check.h>
#include <string.h>

#include "tests/unit/lib/unit.h"
#include "worker/net.h"

/* net_bandwidth of one annotation key=value. */
static int
shape(const char *key, const char *value, struct cni_pod *cp, struct cradle_err *err)
{
	struct proto_kv kv = { .key = (char *)key, .value = (char *)value };
	struct proto_kvs kvs = { .n = 1, .v = &kv };

	memset(cp, 0, sizeof(*cp));
	memset(err, 0, sizeof(*err));
	return net_bandwidth(&kvs, cp, err);
}

START_TEST(test_quantities)
{
	static const struct {
		const char *value;
		uint64_t bits;
	} ok[] = {
		{ "1k", 1000 },
		{ "10M", 10000000 },
		{ "1.5M", 1500000 },
		{ "1Mi", 1048576 },
		{ "2Gi", 2147483648ULL },
		{ "1000", 1000 },
		{ "1P", 1000000000000000ULL },
		{ "0.5G", 500000000 },
	};
	struct cradle_err err;
	struct cni_pod cp;

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		ck_assert_msg(shape("kubernetes.io/ingress-bandwidth", ok[i].value, &cp, &err) == 0,
		              "%s: %s", ok[i].value, err.msg);
		ck_assert_uint_eq(cp.ingress_rate, ok[i].bits);
		ck_assert_uint_eq(cp.ingress_burst, 4294967295u);
		ck_assert_uint_eq(cp.egress_rate, 0);
		ck_assert_int_eq(shape("kubernetes.io/egress-bandwidth", ok[i].value, &cp, &err),
		                 0);
		ck_assert_uint_eq(cp.egress_rate, ok[i].bits);
		ck_assert_uint_eq(cp.egress_burst, 4294967295u);
		ck_assert_uint_eq(cp.ingress_rate, 0);
	}
	/* other annotations: no shaping */
	ck_assert_int_eq(shape("kubernetes.io/other", "junk", &cp, &err), 0);
	ck_assert_uint_eq(cp.ingress_rate + cp.egress_rate + cp.ingress_burst, 0);
	ck_assert_int_eq(net_bandwidth(NULL, &cp, &err), 0);
}
END_TEST

START_TEST(test_bad_quantities)
{
	static const char *const bad[] = { "",
		                           "M",
		                           "10 M",
		                           "-1M",
		                           "1MB",
		                           "1m",
		                           "1e6",
		                           "0x10",
		                           "1..5",
		                           "1.5.5M",
		                           "123456789012345678901234567890123" };
	struct cradle_err err;
	struct cni_pod cp;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_msg(shape("kubernetes.io/egress-bandwidth", bad[i], &cp, &err) < 0, "%s",
		              bad[i]);
		ck_assert_int_eq(err.code, CRADLE_INVALID_ARGUMENT);
		ck_assert_msg(strstr(err.msg, "kubernetes.io/egress-bandwidth") != NULL &&
		                      strstr(err.msg, "no quantity") != NULL,
		              "%s", err.msg);
	}
	/* below 1k and above 1P bits/s, as containerd's limits */
	ck_assert_int_lt(shape("kubernetes.io/ingress-bandwidth", "999", &cp, &err), 0);
	ck_assert_msg(strstr(err.msg, "unreasonably small") != NULL, "%s", err.msg);
	ck_assert_int_lt(shape("kubernetes.io/ingress-bandwidth", "2P", &cp, &err), 0);
	ck_assert_msg(strstr(err.msg, "unreasonably large") != NULL, "%s", err.msg);
	ck_assert_int_eq(err.code, CRADLE_INVALID_ARGUMENT);
}
END_TEST

static Suite *
net_suite(void)
{
	Suite *s = suite_create("net");

	unit_tcase(s, "bandwidth", NULL, NULL, 10,
	           UNIT_TESTS(test_quantities, test_bad_quantities));
	return s;
}

int
main(void)
{
	return unit_run(net_suite(), "test_net", 0);
}
