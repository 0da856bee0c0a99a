/* cli_text.c - time stamps and sizes as text, the way crictl prints
 * them, and step times, for the `cradle` CLI (cli.h).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "client/cli.h"
#include "client/cradle.h"

#define NS_PER_SEC 1000000000LL

int64_t
cli_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * NS_PER_SEC + ts.tv_nsec;
}

void
cli_time_ago(int64_t ns, int64_t now_ns, char *buf, size_t size)
{
	/* Go's HumanDuration works on truncated seconds and minutes but on
	 * rounded hours; copied so the column reads as crictl's does */
	int64_t d = now_ns - ns, seconds, minutes, hours;

	if (d < 0)
		d = 0;
	seconds = d / NS_PER_SEC;
	minutes = seconds / 60;
	hours = (d + 1800 * NS_PER_SEC) / (3600 * NS_PER_SEC);
	if (seconds < 1)
		snprintf(buf, size, "Less than a second ago");
	else if (seconds == 1)
		snprintf(buf, size, "1 second ago");
	else if (seconds < 60)
		snprintf(buf, size, "%lld seconds ago", (long long)seconds);
	else if (minutes == 1)
		snprintf(buf, size, "About a minute ago");
	else if (minutes < 60)
		snprintf(buf, size, "%lld minutes ago", (long long)minutes);
	else if (hours == 1)
		snprintf(buf, size, "About an hour ago");
	else if (hours < 48)
		snprintf(buf, size, "%lld hours ago", (long long)hours);
	else if (hours < 24 * 7 * 2)
		snprintf(buf, size, "%lld days ago", (long long)(hours / 24));
	else if (hours < 24 * 30 * 2)
		snprintf(buf, size, "%lld weeks ago", (long long)(hours / 24 / 7));
	else if (hours < 24 * 365 * 2)
		snprintf(buf, size, "%lld months ago", (long long)(hours / 24 / 30));
	else
		snprintf(buf, size, "%lld years ago",
		         (long long)(d / (3600 * NS_PER_SEC) / 24 / 365));
}

/* docker/go-units: divide by 1000 while >= 1000, then print with the
 * unit: "%.3g" as HumanSizeWithPrecision(v, 3) (Go's %g and C's agree
 * below 1000), or with one decimal (whole bytes) for progress lines. */
static void
size_with_unit(double v, bool one_decimal, char *buf, size_t size)
{
	static const char *const units[] = { "B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB" };
	size_t u = 0;

	while (v >= 1000.0 && u + 1 < sizeof(units) / sizeof(units[0])) {
		v /= 1000.0;
		u++;
	}
	if (!one_decimal)
		snprintf(buf, size, "%.3g%s", v, units[u]);
	else
		snprintf(buf, size, "%.*f%s", u == 0 ? 0 : 1, v, units[u]);
}

void
cli_human_size(int64_t bytes, char *buf, size_t size)
{
	size_with_unit(bytes < 0 ? 0.0 : (double)bytes, false, buf, size);
}

void
cli_progress_size(uint64_t bytes, char *buf, size_t size)
{
	size_with_unit((double)bytes, true, buf, size);
}

int
cli_append_steps(char **text, const struct cradle_sandbox *s)
{
	static const char *const ops[] = {
		[CRADLE_TIMED_START] = "start", [CRADLE_TIMED_STOP] = "stop"
	};
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		return -ENOMEM;
	fputs(*text, f);
	for (int op = CRADLE_TIMED_START; op <= CRADLE_TIMED_STOP; op++) {
		size_t n = cradle_sandbox_step_count(s, op);
		uint64_t sum = 0;
		const char *name;
		uint32_t us;

		if (n == 0)
			fprintf(f, "\n%-5s  (not timed since cradled started)", ops[op]);
		for (size_t i = 0; cradle_sandbox_step_at(s, op, i, &name, &us); i++) {
			fprintf(f, "\n%-5s  %-20s %12.3f ms", ops[op], name, us / 1000.0);
			sum += us;
		}
		if (n > 0)
			fprintf(f, "\n%-5s  %-20s %12.3f ms", ops[op], "(sum of steps)",
			        sum / 1000.0);
	}
	int bad = ferror(f);
	if (fclose(f) != 0 || bad) {
		free(buf);
		return -ENOMEM;
	}
	free(*text);
	*text = buf;
	return 0;
}
