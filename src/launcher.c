/*-------------------------------------------------------------------------
 *
 * launcher.c
 *	  The launcher: starts one probe worker per database listed in
 *	  depwatch.databases, and starts it again when it dies.
 *
 * The launcher is registered from shared_preload_libraries to start once
 * recovery has finished, so a hot standby runs no probes and a promoted one
 * starts at once.  It connects to no database (it only reads pg_database)
 * and never exits on its own: workers that fail are restarted after a
 * pause, a database that does not exist is skipped with a warning, and a
 * database dropped from the list has its worker stopped.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/pg_database.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/proc.h"
#include "tcop/tcopprot.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"
#include "utils/varlena.h"

#include "depwatch.h"
#include "shmem.h"
#include "worker.h"

/*
 * A worker that dies is started again after RESTART_DELAY_MS; each time it
 * dies again within QUICK_DEATH_MS of its start the delay doubles, up to
 * MAX_RESTART_DELAY_MS, so a worker that cannot run does not loop.
 */
#define QUICK_DEATH_MS		10000
#define RESTART_DELAY_MS	1000
#define MAX_RESTART_DELAY_MS 30000

typedef struct LaunchedWorker
{
	char		dbname[NAMEDATALEN];
	BackgroundWorkerHandle *handle;
	TimestampTz started_at;
	TimestampTz retry_at;
	int			delay_ms;		/* before the next restart */
	bool		warned_missing;
	bool		listed;
} LaunchedWorker;

static LaunchedWorker launched[DW_MAX_WORKERS];
static int	nlaunched = 0;

/*
 * dw_register_launcher registers the launcher; called from _PG_init while
 * the server preloads libraries.
 */
void
dw_register_launcher(void)
{
	BackgroundWorker worker;

	memset(&worker, 0, sizeof(worker));
	worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
	worker.bgw_restart_time = 5;
	strlcpy(worker.bgw_library_name, "depwatch", BGW_MAXLEN);
	strlcpy(worker.bgw_function_name, "dw_launcher_main", BGW_MAXLEN);
	strlcpy(worker.bgw_name, "depwatch launcher", BGW_MAXLEN);
	strlcpy(worker.bgw_type, "depwatch launcher", BGW_MAXLEN);
	RegisterBackgroundWorker(&worker);
}

/*
 * database_oid looks name up in the shared catalog pg_database, with a
 * plain scan: the launcher has no database, hence no relcache for indexes.
 * InvalidOid if there is no such database, or it takes no connections.
 */
static Oid
database_oid(const char *name)
{
	Relation	rel;
	TableScanDesc scan;
	HeapTuple	tup;
	Oid			found = InvalidOid;

	StartTransactionCommand();
	(void) GetTransactionSnapshot();
	rel = table_open(DatabaseRelationId, AccessShareLock);
	scan = table_beginscan_catalog(rel, 0, NULL);
	while (!OidIsValid(found) && HeapTupleIsValid(tup = heap_getnext(scan, ForwardScanDirection)))
	{
		Form_pg_database db = (Form_pg_database) GETSTRUCT(tup);

		if (strcmp(NameStr(db->datname), name) == 0 && db->datallowconn)
			found = db->oid;
	}
	table_endscan(scan);
	table_close(rel, AccessShareLock);
	CommitTransactionCommand();
	return found;
}

static void
start_worker(LaunchedWorker *w)
{
	BackgroundWorker worker;
	TimestampTz now = GetCurrentTimestamp();
	MemoryContext old;
	bool		registered;

	memset(&worker, 0, sizeof(worker));
	worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
	worker.bgw_restart_time = BGW_NEVER_RESTART;	/* the launcher does it */
	strlcpy(worker.bgw_library_name, "depwatch", BGW_MAXLEN);
	strlcpy(worker.bgw_function_name, "dw_worker_main", BGW_MAXLEN);
	snprintf(worker.bgw_name, BGW_MAXLEN, "depwatch worker for database %s", w->dbname);
	strlcpy(worker.bgw_type, "depwatch worker", BGW_MAXLEN);
	strlcpy(worker.bgw_extra, w->dbname, BGW_EXTRALEN);
	worker.bgw_notify_pid = MyProcPid;

	/* the handle outlives the loop's memory context */
	old = MemoryContextSwitchTo(TopMemoryContext);
	registered = RegisterDynamicBackgroundWorker(&worker, &w->handle);
	MemoryContextSwitchTo(old);
	if (!registered)
	{
		ereport(WARNING,
				(errcode(ERRCODE_CONFIGURATION_LIMIT_EXCEEDED),
				 errmsg("depwatch could not start a worker for database \"%s\": out of background worker slots",
						w->dbname),
				 errhint("You might need to increase %s.", "max_worker_processes")));
		w->handle = NULL;
		w->retry_at = TimestampTzPlusMilliseconds(now, MAX_RESTART_DELAY_MS);
		return;
	}
	w->started_at = now;
}

/*
 * reconcile makes the running workers match depwatch.databases: stops those
 * no longer listed, starts those missing, restarts those that died.
 */
static void
reconcile(void)
{
	char	   *raw = pstrdup(dw_databases ? dw_databases : "");
	List	   *names = NIL;
	ListCell   *lc;
	TimestampTz now = GetCurrentTimestamp();

	if (!SplitIdentifierString(raw, ',', &names))
	{
		ereport(WARNING,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid list syntax in \"depwatch.databases\": \"%s\"", dw_databases),
				 errhint("List database names separated by commas.")));
		names = NIL;
	}

	for (int i = 0; i < nlaunched; i++)
		launched[i].listed = false;
	foreach(lc, names)
	{
		const char *name = lfirst(lc);
		LaunchedWorker *w = NULL;

		for (int i = 0; i < nlaunched; i++)
			if (strcmp(launched[i].dbname, name) == 0)
				w = &launched[i];
		if (w == NULL)
		{
			if (nlaunched == DW_MAX_WORKERS)
			{
				ereport(WARNING,
						(errcode(ERRCODE_CONFIGURATION_LIMIT_EXCEEDED),
						 errmsg("depwatch probes at most %d databases; \"%s\" is left out",
								DW_MAX_WORKERS, name)));
				continue;
			}
			w = &launched[nlaunched++];
			memset(w, 0, sizeof(*w));
			strlcpy(w->dbname, name, NAMEDATALEN);
		}
		w->listed = true;
	}

	for (int i = 0; i < nlaunched; i++)
	{
		LaunchedWorker *w = &launched[i];
		pid_t		pid;
		Oid			dboid;

		if (w->handle != NULL &&
			GetBackgroundWorkerPid(w->handle, &pid) == BGWH_STOPPED)
		{
			/* it died: retry soon, later and later if it keeps dying at once */
			if (TimestampDifferenceExceeds(w->started_at, now, QUICK_DEATH_MS) ||
				w->delay_ms == 0)
				w->delay_ms = RESTART_DELAY_MS;
			else
				w->delay_ms = Min(w->delay_ms * 2, MAX_RESTART_DELAY_MS);
			pfree(w->handle);
			w->handle = NULL;
			w->retry_at = TimestampTzPlusMilliseconds(now, w->delay_ms);
		}

		if (!w->listed)
		{
			if (w->handle != NULL)
				TerminateBackgroundWorker(w->handle);
			continue;
		}
		if (w->handle != NULL || now < w->retry_at)
			continue;
		dboid = database_oid(w->dbname);
		if (OidIsValid(dboid) && dw_database_held(dboid, now))
			continue;			/* being dropped or renamed */
		if (!OidIsValid(dboid))
		{
			if (!w->warned_missing)
				ereport(WARNING,
						(errcode(ERRCODE_UNDEFINED_DATABASE),
						 errmsg("database \"%s\" listed in \"depwatch.databases\" does not exist",
								w->dbname),
						 errhint("Create it, or remove it from depwatch.databases.")));
			w->warned_missing = true;
			continue;
		}
		w->warned_missing = false;
		start_worker(w);
	}

	/* forget databases that are neither listed nor running */
	for (int i = 0; i < nlaunched;)
	{
		if (!launched[i].listed && launched[i].handle == NULL)
			launched[i] = launched[--nlaunched];
		else
			i++;
	}
	list_free(names);
	pfree(raw);
}

void
dw_launcher_main(Datum arg)
{
	MemoryContext loop_context;

	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();
	BackgroundWorkerInitializeConnection(NULL, NULL, 0);
	pgstat_report_appname("depwatch launcher");

	SpinLockAcquire(&dw_shared->mutex);
	dw_shared->launcher_latch = &MyProc->procLatch;
	SpinLockRelease(&dw_shared->mutex);

	loop_context = AllocSetContextCreate(TopMemoryContext, "depwatch launcher",
										 ALLOCSET_DEFAULT_SIZES);
	for (;;)
	{
		MemoryContext old;

		CHECK_FOR_INTERRUPTS();
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
		}
		old = MemoryContextSwitchTo(loop_context);
		reconcile();
		MemoryContextSwitchTo(old);
		MemoryContextReset(loop_context);

		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 RESTART_DELAY_MS, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
	}
}
