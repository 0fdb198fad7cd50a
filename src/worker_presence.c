/*-------------------------------------------------------------------------
 *
 * worker_presence.c
 *	  Whether this database has a probe worker, as the configuration says.
 *
 * A probed dependency in a database without a worker is never probed; the
 * SQL side says so (a NOTICE when one is added or enabled, current_status,
 * worker_status) instead of letting it drift silently to unmonitored.
 *
 * The answer comes from the configuration, not from the worker slots: a
 * listed database's worker may be starting, restarting after a crash or
 * waiting for CREATE EXTENSION to commit, and none of those is a reason to
 * warn.  A database has a worker when the library was preloaded (so the
 * launcher runs: dw_shared exists only then) and the database is named in
 * depwatch.databases, read the way the launcher reads it
 * (SplitIdentifierString: unquoted names fold to lower case).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "commands/dbcommands.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "nodes/pg_list.h"
#include "utils/builtins.h"
#include "utils/varlena.h"

#include "depwatch.h"
#include "shmem.h"

PG_FUNCTION_INFO_V1(dw_no_worker_reason);

/* whether depwatch.databases names this database */
static bool
database_listed(void)
{
	char	   *raw = pstrdup(dw_databases ? dw_databases : "");
	char	   *self = get_database_name(MyDatabaseId);
	List	   *names = NIL;
	ListCell   *lc;
	bool		listed = false;

	/* a list the launcher cannot read starts no worker either */
	if (self != NULL && SplitIdentifierString(raw, ',', &names))
	{
		foreach(lc, names)
		{
			if (strcmp(lfirst(lc), self) == 0)
				listed = true;
		}
	}
	list_free(names);
	pfree(raw);
	return listed;
}

/*
 * depwatch._no_worker_reason() RETURNS text: NULL when this database has a
 * probe worker; else 'shared_preload_libraries' (no launcher runs) or
 * 'depwatch.databases' (the launcher does not start one here): the setting
 * to change.
 */
Datum
dw_no_worker_reason(PG_FUNCTION_ARGS)
{
	if (dw_shared == NULL)
		PG_RETURN_TEXT_P(cstring_to_text("shared_preload_libraries"));
	if (!database_listed())
		PG_RETURN_TEXT_P(cstring_to_text("depwatch.databases"));
	PG_RETURN_NULL();
}
