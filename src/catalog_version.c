/*-------------------------------------------------------------------------
 *
 * catalog_version.c
 *	  What the depwatch catalog of this database has.
 *
 * One library serves every database that installed depwatch, and a
 * database may still be at an older version until ALTER EXTENSION depwatch
 * UPDATE runs there: the probe worker and the SQL functions ask here
 * instead of assuming the newest catalog (test/integration/upgrade.sh runs
 * this library on 0.1 and 0.2 catalogs).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "nodes/value.h"
#include "parser/parse_func.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"

#include "depwatch.h"

/*
 * dw_internal_schema: where the helpers (functions named _*, _machine_rules)
 * live: depwatch_internal from 0.3 on, depwatch before.
 */
const char *
dw_internal_schema(void)
{
	return OidIsValid(get_namespace_oid("depwatch_internal", true)) ? "depwatch_internal" : "depwatch";
}

/*
 * dw_catalog_has_tracked_since: the catalog is at 0.3 or later, where
 * depwatch.dependency has tracked_since.
 */
bool
dw_catalog_has_tracked_since(void)
{
	Oid			nsp = get_namespace_oid("depwatch", true);
	Oid			rel = OidIsValid(nsp) ? get_relname_relid("dependency", nsp) : InvalidOid;

	return OidIsValid(rel) && get_attnum(rel, "tracked_since") != InvalidAttrNumber;
}

/*
 * has_shared_rules: the catalog has the functions of src/sql/12-rules.sql
 * (0.3 on).
 */
static bool
has_shared_rules(void)
{
	Oid			args[1] = {TEXTOID};

	return OidIsValid(LookupFuncName(list_make2(makeString("depwatch_internal"),
												makeString("_probed")),
									 1, args, true));
}

/*
 * dw_sql_probed and dw_sql_silent_until: the two rules that
 * src/sql/12-rules.sql writes once (doc/semantics.md), as SQL over the
 * given expressions, for the queries this library builds.  A 0.1 or 0.2
 * catalog has not got those functions: there, and only there, the rule is
 * spelled out as those versions wrote it, in this one place of the C code.
 */
const char *
dw_sql_probed(const char *probe)
{
	if (has_shared_rules())
		return psprintf("depwatch_internal._probed(%s)", probe);
	return psprintf("(%s) IN ('tcp', 'http', 'postgres')", probe);
}

const char *
dw_sql_silent_until(const char *last_at, const char *every)
{
	if (has_shared_rules())
		return psprintf("depwatch_internal._silent_until(%s, %s)", last_at, every);
	return psprintf("((%s) + 3 * (%s))", last_at, every);
}
