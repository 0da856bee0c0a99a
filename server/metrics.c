/* metrics.c - GET /metrics in Prometheus's text format, on nng's HTTP
 * server (server/metrics.h).
 *
 * Each scrape reads the stats once (core/stats.h: relaxed loads of the
 * shards, each sandbox's published view for the phases) into a struct
 * proto_stats, the same snapshot daemon.stats sends, and prints it.  The
 * handler runs on nng's threads and never takes a sandbox's lock, so a
 * scrape never waits behind a start.  Durations are seconds, as
 * Prometheus wants them; bucket bounds are the wire's (proto.h), printed
 * exactly ("0.000001" ... "1073.741824", "+Inf").
 */
#include "server/metrics.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nng/nng.h>
#include <nng/supplemental/http/http.h>

#include "util/log.h"

#define NS_PER_US 1000u
#define US_PER_S 1000000u
#define NS_PER_S 1000000000u
#define CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

struct metrics {
	struct stats *stats;
	nng_http_server *srv;
	char url[300];
};

/* One histogram's series: buckets (cumulative), _sum, _count; labels is
 * "" or `step="x",` to put before le. */
static void
put_hist(FILE *f, const char *name, const char *labels, const struct proto_histogram *h)
{
	uint64_t cum = 0;
	const char *l = labels[0] ? labels : NULL;

	for (size_t i = 0; i < PROTO_STATS_BUCKETS; i++) {
		cum += h->buckets[i];
		if (i + 1 < PROTO_STATS_BUCKETS) {
			uint64_t us = proto_bucket_le_ns(i) / NS_PER_US;
			fprintf(f, "%s_bucket{%sle=\"%" PRIu64 ".%06" PRIu64 "\"} %" PRIu64 "\n",
			        name, labels, us / US_PER_S, us % US_PER_S, cum);
		} else {
			fprintf(f, "%s_bucket{%sle=\"+Inf\"} %" PRIu64 "\n", name, labels, cum);
		}
	}
	/* the labels without their trailing comma, for _sum and _count */
	int n = l ? (int)strlen(l) - 1 : 0;
	fprintf(f, "%s_sum%s%.*s%s %" PRIu64 ".%09" PRIu64 "\n", name, l ? "{" : "", n, l ? l : "",
	        l ? "}" : "", h->sum_ns / NS_PER_S, h->sum_ns % NS_PER_S);
	fprintf(f, "%s_count%s%.*s%s %" PRIu64 "\n", name, l ? "{" : "", n, l ? l : "",
	        l ? "}" : "", h->count);
}

static void
put_help(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void
render(FILE *f, const struct proto_stats *st)
{
	static const char *const what[PROTO_TIMED_OPS] = {
		[PROTO_TIMED_START] = "Sandbox starts (sandbox.run, sandbox.start), failed ones "
				      "included.",
		[PROTO_TIMED_STOP] = "Sandbox stops that had something to stop (sandbox.stop, "
				     "sandbox.remove), failed ones included.",
	};
	char name[128], labels[PROTO_STEP_NAME_MAX + 16];

	for (int op = 0; op < PROTO_TIMED_OPS; op++) {
		snprintf(name, sizeof(name), "cradle_sandbox_%ss_total", proto_timed_name(op));
		put_help(f, name, "counter", what[op]);
		fprintf(f, "%s %" PRIu64 "\n", name, st->op[op].total.count);
	}
	put_help(f, "cradle_sandbox_errors_total", "counter",
	         "Failed sandbox starts and stops by operation and error code.");
	for (int op = 0; op < PROTO_TIMED_OPS; op++)
		for (int c = 1; c <= CRADLE_CODE_MAX; c++)
			fprintf(f,
			        "cradle_sandbox_errors_total{op=\"%s\",code=\"%s\"} %" PRIu64 "\n",
			        proto_timed_name(op), cradle_code_name(c), st->op[op].errors[c]);
	for (int op = 0; op < PROTO_TIMED_OPS; op++) {
		const struct proto_op_stats *o = &st->op[op];
		snprintf(name, sizeof(name), "cradle_sandbox_%s_duration_seconds",
		         proto_timed_name(op));
		fprintf(f, "# HELP %s Time of whole sandbox %ss, failed ones included.\n", name,
		        proto_timed_name(op));
		fprintf(f, "# TYPE %s histogram\n", name);
		put_hist(f, name, "", &o->total);
		snprintf(name, sizeof(name), "cradle_sandbox_%s_step_duration_seconds",
		         proto_timed_name(op));
		fprintf(f, "# HELP %s Time of each step of the sandbox %s.\n", name,
		        proto_timed_name(op));
		fprintf(f, "# TYPE %s histogram\n", name);
		for (size_t i = 0; i < o->n_steps; i++) {
			/* step names are plain words (proto_valid_step_name):
			 * nothing to escape */
			snprintf(labels, sizeof(labels), "step=\"%s\",", o->steps[i].step);
			put_hist(f, name, labels, &o->steps[i]);
		}
	}
	put_help(f, "cradle_queue_depth", "gauge", "Requests waiting for a worker.");
	fprintf(f, "cradle_queue_depth %" PRIu64 "\n", st->queue_depth);
	put_help(f, "cradle_sandboxes", "gauge", "Sandboxes by phase.");
	for (int i = 0; i < PROTO_N_PHASES; i++)
		fprintf(f, "cradle_sandboxes{phase=\"%s\"} %" PRIu64 "\n", proto_phase_name(i),
		        st->sandboxes[i]);
}

int
metrics_render(struct stats *st, char **text, size_t *len)
{
	struct proto_stats *snap = malloc(sizeof(*snap));
	FILE *f;

	*text = NULL;
	*len = 0;
	if (snap == NULL)
		return -ENOMEM;
	stats_read(st, snap);
	f = open_memstream(text, len);
	if (f == NULL) {
		free(snap);
		return -ENOMEM;
	}
	render(f, snap);
	free(snap);
	int bad = ferror(f);
	if (fclose(f) != 0 || bad) {
		free(*text);
		*text = NULL;
		*len = 0;
		return -ENOMEM;
	}
	return 0;
}

/* GET /metrics (and HEAD, which nng answers from the same handler). */
static void
handle(nng_aio *aio)
{
	nng_http_handler *h = nng_aio_get_input(aio, 1);
	struct metrics *m = nng_http_handler_get_data(h);
	nng_http_res *res = NULL;
	char *text;
	size_t len;
	int rc;

	if (metrics_render(m->stats, &text, &len) < 0) {
		log_warn("metrics: out of memory rendering a scrape");
		rc = nng_http_res_alloc_error(&res, NNG_HTTP_STATUS_INTERNAL_SERVER_ERROR);
	} else {
		rc = nng_http_res_alloc(&res);
		if (rc == 0)
			rc = nng_http_res_set_header(res, "Content-Type", CONTENT_TYPE);
		if (rc == 0)
			rc = nng_http_res_copy_data(res, text, len);
		free(text);
	}
	if (rc != 0) {
		if (res != NULL)
			nng_http_res_free(res);
		/* no response: nng closes the connection */
		nng_aio_finish(aio, rc);
		return;
	}
	nng_aio_set_output(aio, 0, res);
	nng_aio_finish(aio, 0);
}

int
metrics_start(const char *address, struct stats *st, struct metrics **out, struct cradle_err *err)
{
	struct metrics *m = calloc(1, sizeof(*m));
	nng_http_handler *h = NULL;
	nng_url *url = NULL;
	const char *what = "parse";
	int rc;

	*out = NULL;
	if (m == NULL)
		return cradle_err_nomem(err);
	m->stats = st;
	if (snprintf(m->url, sizeof(m->url), "http://%s", address) >= (int)sizeof(m->url)) {
		free(m);
		return cradle_err_set(err, CRADLE_INVALID_ARGUMENT,
		                      "metrics address \"%.64s...\" is too long", address);
	}
	if ((rc = nng_url_parse(&url, m->url)) != 0)
		goto fail;
	what = "serve";
	if ((rc = nng_http_server_hold(&m->srv, url)) != 0)
		goto fail;
	if ((rc = nng_http_handler_alloc(&h, "/metrics", handle)) != 0 ||
	    (rc = nng_http_handler_set_data(h, m, NULL)) != 0 ||
	    (rc = nng_http_handler_collect_body(h, true, 0)) != 0)
		goto fail;
	if ((rc = nng_http_server_add_handler(m->srv, h)) != 0)
		goto fail;
	h = NULL; /* the server's now */
	what = "listen on";
	if ((rc = nng_http_server_start(m->srv)) != 0)
		goto fail;
	nng_url_free(url);
	log_info("metrics: serving %s/metrics", m->url);
	*out = m;
	return 0;
fail:
	cradle_err_set(err, rc == NNG_EADDRINUSE ? CRADLE_UNAVAILABLE : CRADLE_INTERNAL,
	               "metrics endpoint: %s \"%s\": %s", what, m->url, nng_strerror(rc));
	if (h != NULL)
		nng_http_handler_free(h);
	if (m->srv != NULL)
		nng_http_server_release(m->srv);
	if (url != NULL)
		nng_url_free(url);
	free(m);
	return -1;
}

void
metrics_stop(struct metrics *m)
{
	if (m == NULL)
		return;
	nng_http_server_stop(m->srv);
	nng_http_server_release(m->srv);
	free(m);
}
