/*-------------------------------------------------------------------------
 *
 * shmem.c
 *	  depwatch's shared memory: worker slots, and the commit-time wake-up
 *	  that makes configuration changes take effect at once.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "commands/trigger.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "storage/ipc.h"
#include "storage/proc.h"
#include "storage/shmem.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

#include "shmem.h"

PG_FUNCTION_INFO_V1(dw_config_changed);

DwShared   *dw_shared = NULL;

static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;
/* the DW_WAKE_* news this transaction has for its worker, told at commit */
static int	wake_pending = 0;

static void
dw_shmem_request(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
	RequestAddinShmemSpace(MAXALIGN(sizeof(DwShared)));
}

static void
dw_shmem_startup(void)
{
	bool		found;

	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();

	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	dw_shared = ShmemInitStruct("depwatch", sizeof(DwShared), &found);
	if (!found)
	{
		memset(dw_shared, 0, sizeof(DwShared));
		SpinLockInit(&dw_shared->mutex);
		for (int i = 0; i < DW_MAX_WORKERS; i++)
		{
			pg_atomic_init_u64(&dw_shared->slots[i].config_generation, 0);
			pg_atomic_init_u64(&dw_shared->slots[i].alert_generation, 0);
		}
	}
	LWLockRelease(AddinShmemInitLock);
}

/*
 * dw_shmem_init installs the hooks; called from _PG_init while preloading.
 */
void
dw_shmem_init(void)
{
	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = dw_shmem_request;
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = dw_shmem_startup;
}

/*
 * dw_claim_slot takes the slot of database dboid for the calling worker,
 * or returns NULL when another live worker holds it.
 */
DwWorkerSlot *
dw_claim_slot(Oid dboid, const char *dbname)
{
	DwWorkerSlot *free_slot = NULL;

	SpinLockAcquire(&dw_shared->mutex);
	for (int i = 0; i < DW_MAX_WORKERS; i++)
	{
		DwWorkerSlot *s = &dw_shared->slots[i];

		if (s->in_use && s->dboid == dboid)
		{
			SpinLockRelease(&dw_shared->mutex);
			return NULL;
		}
		if (!s->in_use && free_slot == NULL)
			free_slot = s;
	}
	if (free_slot != NULL)
	{
		uint64		generation = pg_atomic_read_u64(&free_slot->config_generation);

		memset(((char *) free_slot) + offsetof(DwWorkerSlot, started_at), 0,
			   sizeof(DwWorkerSlot) - offsetof(DwWorkerSlot, started_at));
		free_slot->in_use = true;
		free_slot->dboid = dboid;
		strlcpy(free_slot->dbname, dbname, NAMEDATALEN);
		free_slot->pid = MyProcPid;
		free_slot->latch = &MyProc->procLatch;
		pg_atomic_write_u64(&free_slot->config_generation, generation);
	}
	SpinLockRelease(&dw_shared->mutex);
	return free_slot;
}

void
dw_release_slot(DwWorkerSlot *slot)
{
	SpinLockAcquire(&dw_shared->mutex);
	slot->in_use = false;
	slot->pid = 0;
	slot->latch = NULL;
	SpinLockRelease(&dw_shared->mutex);
}

/*
 * dw_hold_database keeps the launcher from starting dboid's worker until
 * "until".  The caller holds dw_shared->mutex.
 */
void
dw_hold_database(Oid dboid, TimestampTz until)
{
	DwHold	   *free_hold = NULL;

	for (int i = 0; i < DW_MAX_WORKERS; i++)
	{
		DwHold	   *h = &dw_shared->holds[i];

		if (h->dboid == dboid)
		{
			h->until = until;
			return;
		}
		if (free_hold == NULL && (h->dboid == InvalidOid || h->until < until - USECS_PER_HOUR))
			free_hold = h;
	}
	if (free_hold != NULL)
	{
		free_hold->dboid = dboid;
		free_hold->until = until;
	}
}

/* dw_database_held: may the launcher not start dboid's worker yet? */
bool
dw_database_held(Oid dboid, TimestampTz now)
{
	bool		held = false;

	SpinLockAcquire(&dw_shared->mutex);
	for (int i = 0; i < DW_MAX_WORKERS; i++)
		if (dw_shared->holds[i].dboid == dboid && dw_shared->holds[i].until > now)
			held = true;
	SpinLockRelease(&dw_shared->mutex);
	return held;
}

/*
 * wake_worker_at_commit tells this database's worker the news of
 * wake_pending (its configuration or its alert deliveries changed), once
 * the change is visible: it bumps the matching generation counters of the
 * worker's slot and sets its latch.
 */
static void
wake_worker_at_commit(XactEvent event, void *arg)
{
	if (event != XACT_EVENT_COMMIT && event != XACT_EVENT_ABORT &&
		event != XACT_EVENT_PARALLEL_COMMIT && event != XACT_EVENT_PARALLEL_ABORT)
		return;
	if ((event == XACT_EVENT_COMMIT || event == XACT_EVENT_PARALLEL_COMMIT) &&
		dw_shared != NULL)
	{
		Latch	   *latch = NULL;

		SpinLockAcquire(&dw_shared->mutex);
		for (int i = 0; i < DW_MAX_WORKERS; i++)
		{
			DwWorkerSlot *s = &dw_shared->slots[i];

			if (s->in_use && s->dboid == MyDatabaseId)
			{
				if (wake_pending & DW_WAKE_CONFIG)
					pg_atomic_fetch_add_u64(&s->config_generation, 1);
				if (wake_pending & DW_WAKE_ALERTS)
					pg_atomic_fetch_add_u64(&s->alert_generation, 1);
				latch = s->latch;
			}
		}
		SpinLockRelease(&dw_shared->mutex);
		/* a latch in PGPROC stays valid even if its owner has just exited */
		if (latch)
			SetLatch(latch);
	}
	UnregisterXactCallback(wake_worker_at_commit, NULL);
	wake_pending = 0;
}

/*
 * dw_wake_at_commit: when this transaction commits, tell this database's
 * worker the news "what" (DW_WAKE_CONFIG, DW_WAKE_ALERTS); not before, as
 * it would not see the change.  An abort tells nothing.
 */
void
dw_wake_at_commit(int what)
{
	if (wake_pending == 0)
		RegisterXactCallback(wake_worker_at_commit, NULL);
	wake_pending |= what;
}

/*
 * depwatch._config_changed(): statement trigger on the dependency table.
 * Wakes the worker when the transaction commits (not before: it would
 * read the old configuration).
 */
Datum
dw_config_changed(PG_FUNCTION_ARGS)
{
	if (!CALLED_AS_TRIGGER(fcinfo))
		elog(ERROR, "_config_changed() must be called as a trigger");
	dw_wake_at_commit(DW_WAKE_CONFIG);
	return PointerGetDatum(NULL);
}

/*
 * depwatch.worker_status_internal(): one row per running probe worker.
 */
PG_FUNCTION_INFO_V1(dw_worker_status);

Datum
dw_worker_status(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;

	InitMaterializedSRF(fcinfo, 0);
	if (dw_shared == NULL)
		return (Datum) 0;		/* not preloaded: no workers */

	for (int i = 0; i < DW_MAX_WORKERS; i++)
	{
		DwWorkerSlot copy;
		Datum		values[11];
		bool		nulls[11] = {0};
		Interval   *p50 = palloc0(sizeof(Interval));
		Interval   *p99 = palloc0(sizeof(Interval));

		SpinLockAcquire(&dw_shared->mutex);
		memcpy(&copy, &dw_shared->slots[i], sizeof(copy));
		SpinLockRelease(&dw_shared->mutex);
		if (!copy.in_use)
			continue;
		p50->time = copy.lag_p50;
		p99->time = copy.lag_p99;
		values[0] = Int32GetDatum(copy.pid);
		values[1] = CStringGetTextDatum(copy.dbname);
		values[2] = CStringGetTextDatum(copy.vantage);
		values[3] = TimestampTzGetDatum(copy.started_at);
		values[4] = Int32GetDatum(copy.dependencies);
		values[5] = Int32GetDatum(copy.in_flight);
		values[6] = Float8GetDatum(copy.probes_per_second);
		values[7] = IntervalPGetDatum(p50);
		values[8] = IntervalPGetDatum(p99);
		values[9] = CStringGetTextDatum(copy.last_error);
		nulls[9] = copy.last_error[0] == '\0';
		values[10] = TimestampTzGetDatum(copy.last_error_at);
		nulls[10] = copy.last_error_at == 0;
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}
