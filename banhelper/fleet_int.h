/*
 * fleet_int.h - what fleet.c (the daemon's side) and fleet_link.c (the
 * threads that talk to Redis) share: the queues between them and the
 * handle.  Fields under "under mu" are only touched with the mutex held.
 */
#ifndef FLEET_INT_H
#define FLEET_INT_H

#include <pthread.h>

#include "fleet.h"

#define IN_MAX		200000	/* events waiting for the daemon's thread */
#define OUT_MAX		100000	/* changes waiting for the publisher */
#define BATCH		1000	/* per pipeline, per XREAD */
#define APPLY_BATCH	4096	/* per write transaction */
#define IO_TIMEOUT_MS	3000
#define BLOCK_MS	1000

struct inev {
	char line[FLEET_LINE_MAX];
	size_t len;			/* 0: the end of a snapshot */
	char id[FLEET_ID_MAX];
	int snapshot;
};

struct outev {
	int op;				/* 0: only marks tag as sent */
	char line[FLEET_LINE_MAX];
	char key[sizeof(FLEET_BAN_KEY) + AB_ADDRSTRLEN];
	int64_t until;
	uint64_t tag;			/* change number published with it */
};

/* prefix -> who owns its ban (name index; SELF; LIFTED by the fleet):
 * the daemon's side only (fleet.c, fleet_omap.c). */
#define SELF		0
#define LIFTED		0xffff
#define NAMES_MAX	1024
struct onode {
	struct ab_addr a;
	uint16_t who;
	int32_t next;
};
struct omap {
	int32_t *head;
	size_t nbucket;
	struct onode *node;
	size_t nnode, cap;
	int32_t free;
	char (*name)[AB_FLEET_NAME_MAX];
	size_t nname;
};

/* fleet_omap.c */
int omap_init(struct omap *m);			/* 0 or -ENOMEM */
void omap_free(struct omap *m);
/* The index of a server's name (SELF for ""), LIFTED if none is left. */
uint16_t oname(struct omap *m, const char *from);
/* a's owner set to who (an allocation failure leaves it unset). */
void omap_set(struct omap *m, const struct ab_addr *a, uint16_t who);
/* Take a's entry out: its owner, or -1 if none. */
int omap_take(struct omap *m, const struct ab_addr *a);

struct fleet {
	const struct ab_config *cfg;
	const struct ab_log *log;
	char self[AB_FLEET_NAME_MAX];
	char user[128], pass[256];
	int wake[2];

	pthread_mutex_t mu;
	pthread_cond_t cv;
	int started, loaded, stop;
	pthread_t rd, pub;
	/* under mu */
	struct inev *in;
	size_t nin, capin;
	struct outev *out;
	size_t nout;
	uint64_t tag_sent;
	int tag_new, republish;
	char last[FLEET_ID_MAX];	/* the reader's position */
	int rd_up, pub_up;
	int64_t since;
	char error[128];
	uint64_t published;

	/* the daemon's thread only */
	uint64_t scan;			/* change number queued up to */
	struct omap map;
	struct fleet_rate *rate;
	struct fleet_counts cnt;
	uint64_t received;
	int64_t last_event, lag_ms;
	char applied_id[FLEET_ID_MAX];
	int64_t state_at;
	int64_t log_at;			/* s: the window of log_ok */
	int last_dirty;			/* applied_id not yet in the store */
	int64_t saved_at;		/* ms: positions last written */
	uint64_t tag_saved;
	unsigned log_n;
};

/* fleet_link.c, which calls nothing of fleet.c: the wall clock in ms,
 * waking the daemon's poll, and the two threads. */
int64_t fleet_wall_ms(void);
void fleet_poke(struct fleet *f);
void *fleet_reader_main(void *arg);
void *fleet_publisher_main(void *arg);

#endif
