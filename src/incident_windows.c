/*-------------------------------------------------------------------------
 *
 * incident_windows.c
 *	  The down windows of every capability made by the down outages of a
 *	  given set of dependencies (doc/semantics.md, "Incidents"): what the
 *	  economics reports (impact, fee waivers, deposit outflow) join the
 *	  bank's ledger against.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "funcapi.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

#include "subjects.h"

PG_FUNCTION_INFO_V1(dw_capability_down_windows);

/*
 * depwatch._capability_down_windows(lo timestamptz, hi timestamptz,
 *									 dependencies bigint[])
 *	 RETURNS TABLE(capability text, started_at timestamptz, ended_at timestamptz)
 *
 * Each capability's down windows within [lo, hi), counting only the down
 * outages of the given dependencies (others are taken as up; maintenance
 * and monitor gaps do not change who was affected).
 */
Datum
dw_capability_down_windows(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	TimestampTz lo = PG_GETARG_TIMESTAMPTZ(0);
	TimestampTz hi = PG_GETARG_TIMESTAMPTZ(1);
	DwSubjects *s;

	InitMaterializedSRF(fcinfo, 0);
	if (lo >= hi)
		PG_RETURN_NULL();
	s = dw_load_subjects(lo, hi, DW_WINDOWS_DOWN_OF, PG_GETARG_ARRAYTYPE_P(2), NULL);
	for (int i = 0; i < s->n; i++)
	{
		const DwTimeline *t;

		if (!s->items[i].is_capability)
			continue;
		t = dw_subject_timeline(s, i);
		for (int c = 0; c < t->n;)
		{
			int			end = c + 1;
			Datum		values[3];
			bool		nulls[3] = {0};

			if (t->changes[c].state != DW_STATE_DOWN)
			{
				c++;
				continue;
			}
			while (end < t->n && t->changes[end].state == DW_STATE_DOWN)
				end++;
			values[0] = CStringGetTextDatum(s->items[i].name);
			values[1] = TimestampTzGetDatum(t->changes[c].at);
			values[2] = TimestampTzGetDatum(end < t->n ? t->changes[end].at : t->hi);
			tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
			c = end;
		}
	}
	PG_RETURN_NULL();
}
