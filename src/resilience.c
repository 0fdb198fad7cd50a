/*-------------------------------------------------------------------------
 *
 * resilience.c
 *	  What a supposed loss breaks (doc/semantics.md, "Concentration"): the
 *	  capabilities that are down while some dependencies are down and every
 *	  other one is up, by the capability algebra of timeline.c, k of n and
 *	  nesting as every report counts them.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "utils/array.h"
#include "utils/builtins.h"

#include "subjects.h"

PG_FUNCTION_INFO_V1(dw_capabilities_lost);

/*
 * depwatch_internal._capabilities_lost(dependencies bigint[]) RETURNS text[]
 *
 * The capabilities, by name, that are down while the given dependencies
 * are down and every other dependency is up; recorded outages, monitor
 * gaps and maintenance play no part.  The state is the same at every
 * instant of the supposed loss, so one microsecond of it is swept.
 */
Datum
dw_capabilities_lost(PG_FUNCTION_ARGS)
{
	ArrayType  *dependencies = PG_GETARG_ARRAYTYPE_P(0);
	DwSubjects *s;
	Datum	   *lost;
	int			nlost = 0;

	s = dw_load_subjects(0, 1, DW_WINDOWS_SUPPOSED, dependencies, NULL);
	lost = palloc(sizeof(Datum) * Max(s->n, 1));
	for (int i = 0; i < s->n; i++)
		if (s->items[i].is_capability &&
			dw_subject_timeline(s, i)->changes[0].state == DW_STATE_DOWN)
			lost[nlost++] = CStringGetTextDatum(s->items[i].name);
	PG_RETURN_ARRAYTYPE_P(construct_array(lost, nlost, TEXTOID, -1, false, TYPALIGN_INT));
}
