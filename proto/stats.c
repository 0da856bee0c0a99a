/* stats.c - the histograms of daemon.stats as both ends read them: the
 * bucket bounds of the wire format (proto.h) and the quantiles of a set
 * of buckets, so the daemon's p50/p99 and a client's own (of the
 * difference of two snapshots, say) are the same computation.
 */
#include "proto/proto.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "proto/internal.h"

#define NS_PER_US 1000u

static const char *const timed_names[PROTO_TIMED_OPS] = {
	[PROTO_TIMED_START] = "start",
	[PROTO_TIMED_STOP] = "stop",
};

const char *
proto_timed_name(int op)
{
	if (op < 0 || op >= PROTO_TIMED_OPS)
		return NULL;
	return timed_names[op];
}

uint64_t
proto_bucket_le_ns(size_t i)
{
	if (i + 1 >= PROTO_STATS_BUCKETS)
		return UINT64_MAX;
	return (uint64_t)NS_PER_US << i;
}

size_t
proto_bucket_of(uint64_t ns)
{
	/* whole microseconds, rounded up: bucket i holds (2^(i-1), 2^i] us */
	uint64_t us = ns / NS_PER_US + (ns % NS_PER_US != 0);
	size_t i;

	if (us <= 1)
		return 0;
	i = (size_t)(64 - __builtin_clzll(us - 1));
	return i < PROTO_STATS_BUCKETS - 1 ? i : PROTO_STATS_BUCKETS - 1;
}

uint64_t
proto_hist_quantile(const uint64_t *buckets, size_t n, double q)
{
	uint64_t total = 0, below = 0, lo, hi;
	double rank;
	size_t i;

	if (!buckets || n == 0)
		return 0;
	if (n > PROTO_STATS_BUCKETS)
		n = PROTO_STATS_BUCKETS;
	for (i = 0; i < n; i++)
		total += buckets[i];
	if (total == 0)
		return 0;
	if (!(q > 0.0)) /* NaN too */
		q = 0.0;
	if (q > 1.0)
		q = 1.0;
	rank = q * (double)total;
	if (rank < 1.0)
		rank = 1.0;
	for (i = 0; i < n; i++) {
		if (buckets[i] == 0 || (double)(below + buckets[i]) < rank) {
			below += buckets[i];
			continue;
		}
		lo = i == 0 ? 0 : proto_bucket_le_ns(i - 1);
		if (i + 1 >= PROTO_STATS_BUCKETS)
			return lo; /* the open bucket: no upper bound to go by */
		hi = proto_bucket_le_ns(i);
		return lo + (uint64_t)((double)(hi - lo) *
		                       ((rank - (double)below) / (double)buckets[i]));
	}
	/* not reached: the last non-empty bucket holds rank total */
	return proto_bucket_le_ns(n - 1);
}

bool
proto_valid_step_name(const char *s)
{
	size_t n = s ? strnlen(s, PROTO_STEP_NAME_MAX + 1) : 0;

	return n >= 1 && n <= PROTO_STEP_NAME_MAX && proto_word_span(s, n, "._-") == n;
}
