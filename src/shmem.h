/*-------------------------------------------------------------------------
 *
 * shmem.h
 *	  Shared memory of depwatch: one slot per probe worker, for waking it
 *	  when its configuration changes and for publishing its statistics.
 *
 * Only shared things live here: process-local pointers (curl handles,
 * sockets) never do.  A worker's latch is its PGPROC's, which is itself in
 * shared memory.
 *
 *-------------------------------------------------------------------------
 */
#ifndef DEPWATCH_SHMEM_H
#define DEPWATCH_SHMEM_H

#include "datatype/timestamp.h"
#include "port/atomics.h"
#include "storage/latch.h"
#include "storage/spin.h"

#define DW_MAX_WORKERS 64
#define DW_ERROR_LEN 256

typedef struct DwWorkerSlot
{
	bool		in_use;
	Oid			dboid;
	char		dbname[NAMEDATALEN];
	char		vantage[NAMEDATALEN];
	int			pid;
	Latch	   *latch;
	pg_atomic_uint64 config_generation; /* bumped on every committed change */
	pg_atomic_uint64 alert_generation;	/* bumped when alert deliveries change */

	/* statistics, published about once a second */
	TimestampTz started_at;
	int			dependencies;
	int			in_flight;
	double		probes_per_second;
	int64		lag_p50;		/* microseconds */
	int64		lag_p99;
	int64		probes_total;
	TimestampTz last_error_at;
	char		last_error[DW_ERROR_LEN];
} DwWorkerSlot;

/* A database whose worker must not be started before "until". */
typedef struct DwHold
{
	Oid			dboid;
	TimestampTz until;
} DwHold;

typedef struct DwShared
{
	slock_t		mutex;			/* protects everything but the atomics */
	Latch	   *launcher_latch;
	DwWorkerSlot slots[DW_MAX_WORKERS];
	DwHold		holds[DW_MAX_WORKERS];
} DwShared;

extern DwShared *dw_shared;

extern void dw_shmem_init(void);
extern DwWorkerSlot *dw_claim_slot(Oid dboid, const char *dbname);
extern void dw_release_slot(DwWorkerSlot *slot);
extern void dw_hold_database(Oid dboid, TimestampTz until);
extern bool dw_database_held(Oid dboid, TimestampTz now);

/* what a committed change tells its database's worker (dw_wake_at_commit) */
#define DW_WAKE_CONFIG	0x01	/* dependencies: bumps config_generation */
#define DW_WAKE_ALERTS	0x02	/* deliveries, routes: bumps alert_generation */
extern void dw_wake_at_commit(int what);

#endif							/* DEPWATCH_SHMEM_H */
