/*-------------------------------------------------------------------------
 *
 * ledger_pin.c
 *	  Pin a bound ledger relation for the rest of the transaction, so that
 *	  what the economics reports checked is what they read.
 *
 * The reports find a bound relation by the name ledger_binding stores,
 * check it, then plan SQL that names it.  Between the check and the plan
 * its owner could rename it and put a view of their own under the name.
 * Once a report holds AccessShareLock on the relation's oid, it cannot be
 * renamed, dropped or replaced (each takes AccessExclusiveLock) until the
 * transaction ends; the report then looks the name up again and refuses
 * if it no longer leads to the pinned oid.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/pg_class.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "storage/lmgr.h"
#include "utils/acl.h"
#include "utils/syscache.h"

PG_FUNCTION_INFO_V1(dw_pin_relation);

/*
 * depwatch._pin_relation(rel regclass) RETURNS regclass
 *
 * Takes AccessShareLock on rel (held to the end of the transaction) when
 * the current user may read it, and returns it.  Locking needs the right
 * to read: no one can use this to hold a lock on a table they cannot read.
 */
Datum
dw_pin_relation(PG_FUNCTION_ARGS)
{
	Oid			relid = PG_GETARG_OID(0);

	if (pg_class_aclcheck(relid, GetUserId(), ACL_SELECT) != ACLCHECK_OK)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied for relation with OID %u", relid),
				 errhint("The ledger reports read the bound relations with the rights of the role that runs them: a superuser grants it SELECT on them.")));
	LockRelationOid(relid, AccessShareLock);
	/* it may have been dropped while we waited for the lock */
	if (!SearchSysCacheExists1(RELOID, ObjectIdGetDatum(relid)))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("relation with OID %u was dropped while a report waited to read it", relid),
				 errhint("Bind the ledger again with bind_ledger().")));
	PG_RETURN_OID(relid);
}
