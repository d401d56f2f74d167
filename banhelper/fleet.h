/*
 * fleet.h - bans shared between servers through Redis (docs/fleet.md).
 *
 * fleet_event.c: one event as a line of text, written and judged (pure).
 * fleet_apply.c: events from other servers applied to this store, under
 *   this server's own rules (pure but for the store).
 * fleet_link.c: the two threads that talk to Redis (one follows the
 *   stream, one publishes).
 * fleet.c: what the daemon calls; the only one that touches the store.
 */
#ifndef FLEET_H
#define FLEET_H

#include <stddef.h>
#include <stdint.h>

#include "autoban.h"

/* Redis keys: the ordered log every server follows, and the current set. */
#define FLEET_STREAM		"autoban:events"
#define FLEET_BAN_KEY		"autoban:ban:"	/* + prefix, expires with it */
#define FLEET_STREAM_KEEP	100000		/* XADD MAXLEN ~ */
#define FLEET_LINE_MAX		512
#define FLEET_REASON_MAX	120
#define FLEET_ID_MAX		48		/* "MS-SEQ" of two uint64 */
#define FLEET_STATE_FILE	"fleet.state"	/* in runtime_dir */
#define FLEET_V4_WIDEST		16	/* wider fleet bans are refused */
#define FLEET_V6_WIDEST		32

enum { FLEET_BAN = 1, FLEET_UNBAN = 2 };

/*
 * "v1 ban PREFIX UNTIL ORIGIN OWNER KIND SERVICE REASON..." and
 * "v1 unban PREFIX 0 ORIGIN OWNER - - -": origin published it, owner is
 * the server whose ban it is (the same for a ban); kind auto or manual;
 * "-" for no service or reason.
 */
struct fleet_event {
	int op;
	struct ab_addr prefix;
	int64_t until;
	char origin[AB_FLEET_NAME_MAX];
	char owner[AB_FLEET_NAME_MAX];
	int kind;			/* AB_ORIGIN_AUTO or AB_ORIGIN_MANUAL */
	char service[AB_SERVICE_MAX];
	char reason[FLEET_REASON_MAX + 1];
	char id[FLEET_ID_MAX];		/* stream id; "" from the current set */
};

/* Write ev as its line into out: the length, or -1 if it does not fit. */
int fleet_event_format(const struct fleet_event *ev, char *out, size_t len);

/*
 * Judge a line from outside: 0 and *ev, or -1 with *why naming the field
 * that is wrong.  Every field must be exactly as fleet_event_format writes
 * it (canonical prefix, no leading zeros, printable ASCII).
 */
int fleet_event_parse(const char *line, size_t len, struct fleet_event *ev,
    const char **why);

/* Compare two stream ids "MS-SEQ": <0, 0, >0; ids that do not parse are
 * the smallest. */
int fleet_id_cmp(const char *a, const char *b);
int fleet_id_ok(const char *id);

/* ---- fleet_apply.c ------------------------------------------------------ */

/* Per origin: how many of its events may still be taken (token bucket). */
struct fleet_rate;
struct fleet_rate *fleet_rate_new(void);
void fleet_rate_free(struct fleet_rate *r);

struct fleet_counts {
	uint64_t applied, ignored, rejected, limited;
};

/*
 * Apply n events of other servers (self: this server's name; snapshot:
 * they come from the current set, not the stream) to the store at now, in
 * one write transaction.  Refused (logged, escaped): a ban overlapping
 * loopback, ignoreip, an ignoreip name's addresses or a prefix some user
 * earned trust from, a kind fleet_accept does not take, events over the
 * origin's rate.  A ban never replaces an active ban made here; an unban
 * lifts only the ban its owner made (a copy from the fleet, or this
 * server's own when it is the owner).  lifted[i] (may be NULL) is set for
 * each event that removed a ban.  Returns 0 or a store error (nothing
 * written).
 */
int fleet_apply(struct ab_store *st, const char *self,
    struct fleet_event *ev, size_t n, int snapshot, int64_t now,
    struct fleet_rate *rate, const struct ab_log *log,
    struct fleet_counts *c, uint8_t *lifted);

/* ---- fleet.c ------------------------------------------------------------ */

struct fleet;

/*
 * Start the link for cfg (fleet_host set): reads fleet_password_file (as
 * root, before the drop), starts the threads.  Returns 0 and *fp, or an
 * error (logged).  The threads connect on their own and keep trying.
 */
int fleet_start(struct fleet **fp, const struct ab_config *cfg,
    const struct ab_log *log);

/* The descriptor the daemon polls: readable when events or news wait. */
int fleet_fd(const struct fleet *f);

/*
 * The daemon's turn, with the store open (st may be NULL while it is
 * not): apply what arrived, publish what changed here since the last
 * turn, record the positions in the store, write the state file.
 * Returns 1 if the store's bans changed (the kernel should follow), 0, or
 * an error.
 */
int fleet_turn(struct fleet *f, struct ab_store *st);

/* Write the positions not yet in the store (before a stop). */
void fleet_flush(struct fleet *f, struct ab_store *st);

/* Stop the threads and free everything (NULL is fine). */
void fleet_stop(struct fleet *f);

/*
 * For banhelper status: the state file the daemon writes.  0 and the
 * fields, or -1 if there is none.
 */
struct fleet_state {
	int connected;
	int64_t since;			/* connected or cut off since */
	int64_t last_event;		/* when the last event arrived */
	int64_t lag_ms;			/* its age then (Redis clock) */
	uint64_t published, received, applied, rejected;
	char last_id[FLEET_ID_MAX];
	char error[128];
};
int fleet_state_read(const struct ab_config *cfg, struct fleet_state *s);

#endif
