/* journal.h - cradled's log in systemd's journal.
 *
 * Under systemd, stderr is a stream to journald, which keeps one line as
 * one entry with the unit's fields and nothing else.  The native protocol
 * (sd_journal_sendv) keeps the level and the context of log.h as fields:
 *   MESSAGE=<text>  PRIORITY=<7 debug, 6 info, 4 warn, 3 error>
 *   SYSLOG_IDENTIFIER=cradled
 *   SANDBOX_ID=, POD_NAME=, POD_NAMESPACE=  (only when the context has them)
 * so `journalctl -u cradled SANDBOX_ID=<id>` finds what one sandbox did.
 */
#ifndef CRADLE_SERVER_JOURNAL_H
#define CRADLE_SERVER_JOURNAL_H

#include <stdbool.h>

/* Whether systemd connected our stderr to the journal: $JOURNAL_STREAM
 * ("<device>:<inode>") names the file stderr is (systemd.exec(5)); a
 * child that inherited the variable but not the descriptor is not. */
bool journal_stream_is_stderr(void);

/* From now on every message goes to the journal (log_set_record_sink).
 * A message the journal does not take (no journald) goes to stderr as a
 * text line instead.  At start-up, before other threads log. */
void journal_log_start(void);

#endif
