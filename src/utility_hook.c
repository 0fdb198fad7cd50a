/*-------------------------------------------------------------------------
 *
 * utility_hook.c
 *	  Get out of the way of DROP DATABASE and ALTER DATABASE ... RENAME.
 *
 * Both refuse to run while another session is connected to the database,
 * and a probe worker always is.  Before either runs, the worker of that
 * database is asked to exit and the launcher is told to hold off starting
 * it again for a while; PostgreSQL itself waits a few seconds for the
 * worker to go.  When the command fails (another session is connected, it
 * ran in a transaction block), the hold is lifted at once, so the worker
 * is back within a second instead of after HOLD_MS.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <signal.h>

#include "commands/dbcommands.h"
#include "nodes/parsenodes.h"
#include "tcop/utility.h"
#include "utils/timestamp.h"

#include "shmem.h"
#include "utility_hook.h"

#define HOLD_MS 30000

static ProcessUtility_hook_type prev_process_utility = NULL;

/*
 * stop_worker_for asks the worker of database "name" to exit, and holds
 * the launcher off it; returns the database held, or InvalidOid.
 */
static Oid
stop_worker_for(const char *name)
{
	Oid			dboid = get_database_oid(name, true);
	int			pid = 0;

	if (!OidIsValid(dboid) || dw_shared == NULL)
		return InvalidOid;
	SpinLockAcquire(&dw_shared->mutex);
	dw_hold_database(dboid, TimestampTzPlusMilliseconds(GetCurrentTimestamp(), HOLD_MS));
	for (int i = 0; i < DW_MAX_WORKERS; i++)
		if (dw_shared->slots[i].in_use && dw_shared->slots[i].dboid == dboid)
			pid = dw_shared->slots[i].pid;
	SpinLockRelease(&dw_shared->mutex);
	if (pid != 0)
		(void) kill(pid, SIGTERM);
	return dboid;
}

/*
 * release_hold lets the launcher start dboid's worker again at once (the
 * command it was stopped for failed).  Called while an error propagates:
 * nothing here can fail.
 */
static void
release_hold(Oid dboid)
{
	Latch	   *launcher;

	SpinLockAcquire(&dw_shared->mutex);
	dw_hold_database(dboid, 0);
	launcher = dw_shared->launcher_latch;
	SpinLockRelease(&dw_shared->mutex);
	if (launcher != NULL)
		SetLatch(launcher);
}

static void
dw_process_utility(PlannedStmt *pstmt, const char *queryString,
				   bool readOnlyTree, ProcessUtilityContext context,
				   ParamListInfo params, QueryEnvironment *queryEnv,
				   DestReceiver *dest, QueryCompletion *qc)
{
	Node	   *stmt = pstmt->utilityStmt;
	volatile Oid held = InvalidOid;

	if (IsA(stmt, DropdbStmt))
		held = stop_worker_for(((DropdbStmt *) stmt)->dbname);
	else if (IsA(stmt, RenameStmt) &&
			 ((RenameStmt *) stmt)->renameType == OBJECT_DATABASE)
		held = stop_worker_for(((RenameStmt *) stmt)->subname);

	PG_TRY();
	{
		if (prev_process_utility)
			prev_process_utility(pstmt, queryString, readOnlyTree, context,
								 params, queryEnv, dest, qc);
		else
			standard_ProcessUtility(pstmt, queryString, readOnlyTree, context,
									params, queryEnv, dest, qc);
	}
	PG_CATCH();
	{
		if (OidIsValid(held))
			release_hold(held);
		PG_RE_THROW();
	}
	PG_END_TRY();
}

void
dw_install_utility_hook(void)
{
	prev_process_utility = ProcessUtility_hook;
	ProcessUtility_hook = dw_process_utility;
}
