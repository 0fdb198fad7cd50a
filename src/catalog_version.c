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
