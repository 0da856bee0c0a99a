/* journal.c - cradled's log in systemd's journal (see journal.h). */
#include "server/journal.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/uio.h>
#include <systemd/sd-journal.h>
#include <unistd.h>

/* sd-journal.h brings syslog.h, whose LOG_DEBUG and LOG_INFO (the
 * priorities 7 and 6) are names of util/log.h's levels too */
#undef LOG_DEBUG
#undef LOG_INFO
#include "util/log.h"

bool
journal_stream_is_stderr(void)
{
	const char *v = getenv("JOURNAL_STREAM");
	uintmax_t dev, ino;
	struct stat st;
	int end = 0;

	if (v == NULL || sscanf(v, "%ju:%ju%n", &dev, &ino, &end) != 2 || v[end] != '\0')
		return false;
	if (fstat(STDERR_FILENO, &st) != 0)
		return false;
	return (uintmax_t)st.st_dev == dev && (uintmax_t)st.st_ino == ino;
}

/* syslog(3)'s priorities, as journald reads PRIORITY= */
static const int priorities[] = {
	[LOG_DEBUG] = 7, [LOG_INFO] = 6, [LOG_WARN] = 4, [LOG_ERROR] = 3
};

static void
journal_sink(void *arg, const struct log_record *rec)
{
	const struct log_ctx *c = rec->ctx;
	char prio[16], msg[2100], id[80], name[80], ns[96];
	struct iovec iov[6];
	int n = 0;

	(void)arg;
	snprintf(prio, sizeof(prio), "PRIORITY=%d", priorities[rec->level]);
	snprintf(msg, sizeof(msg), "MESSAGE=%s", rec->msg);
	iov[n++] = (struct iovec){ msg, strlen(msg) };
	iov[n++] = (struct iovec){ prio, strlen(prio) };
	iov[n++] =
		(struct iovec){ "SYSLOG_IDENTIFIER=cradled", strlen("SYSLOG_IDENTIFIER=cradled") };
	if (c->sandbox_id[0] != '\0') {
		snprintf(id, sizeof(id), "SANDBOX_ID=%s", c->sandbox_id);
		iov[n++] = (struct iovec){ id, strlen(id) };
	}
	if (c->pod_name[0] != '\0') {
		snprintf(name, sizeof(name), "POD_NAME=%s", c->pod_name);
		iov[n++] = (struct iovec){ name, strlen(name) };
	}
	if (c->pod_namespace[0] != '\0') {
		snprintf(ns, sizeof(ns), "POD_NAMESPACE=%s", c->pod_namespace);
		iov[n++] = (struct iovec){ ns, strlen(ns) };
	}
	if (sd_journal_sendv(iov, n) >= 0)
		return;
	/* no journald to take it: the line is not lost */
	char line[4096];
	log_format_line(LOG_FORMAT_TEXT, rec, line, sizeof(line) - 1);
	size_t len = strlen(line);
	line[len++] = '\n';
	if (write(STDERR_FILENO, line, len) < 0)
		return;
}

void
journal_log_start(void)
{
	log_set_record_sink(journal_sink, NULL);
}
