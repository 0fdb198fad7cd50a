/*-------------------------------------------------------------------------
 *
 * consensus.c
 *	  The consensus of several vantages (doc/semantics.md, "Vantages and
 *	  consensus"; doc/vantages.md): consensus_timeline() and
 *	  vantage_availability(), and what subjects.c reads in place of this
 *	  node's outages when depwatch.consensus is on.
 *
 * _vantage_windows (src/sql/80-vantages.sql) says, per probed dependency
 * and vantage, when the vantage did not watch and when it saw the
 * dependency down.  Each vantage's view becomes a timeline
 * (dw_dependency_timeline), and the consensus is the capability sweep
 * (dw_capability_timeline) over one group of the views with the quorum
 * rule: the same algebra as a capability's k of n, the same accounting
 * (dw_account) as availability().
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "nodes/value.h"
#include "parser/parse_func.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/rangetypes.h"
#include "utils/timestamp.h"

#include "availability.h"
#include "consensus.h"
#include "depwatch.h"
#include "subjects.h"

PG_FUNCTION_INFO_V1(dw_consensus_timeline);
PG_FUNCTION_INFO_V1(dw_vantage_availability);

/* the columns of _vantage_windows */
enum
{
	COL_DEPENDENCY_ID = 1,
	COL_DEPENDENCY,
	COL_QUORUM,
	COL_VANTAGE,
	COL_KIND,
	COL_STARTED_AT,
	COL_ENDED_AT
};

/* kind_of: row r's kind */
static char *
kind_of(SPITupleTable *rows, uint64 r)
{
	return SPI_getvalue(rows->vals[r], rows->tupdesc, COL_KIND);
}

/* time_of: row r's column col, or "otherwise" when NULL */
static TimestampTz
time_of(SPITupleTable *rows, uint64 r, int col, TimestampTz otherwise)
{
	bool		isnull;
	Datum		d = SPI_getbinval(rows->vals[r], rows->tupdesc, col, &isnull);

	return isnull ? otherwise : DatumGetTimestampTz(d);
}

/*
 * check_vantage_windows: the consensus needs version 0.3's
 * _vantage_windows (a catalog not yet updated has not got it).
 */
static void
check_vantage_windows(void)
{
	Oid			args[2] = {TIMESTAMPTZOID, TIMESTAMPTZOID};

	if (!OidIsValid(LookupFuncName(list_make2(makeString(pstrdup(dw_internal_schema())),
											  makeString("_vantage_windows")),
								   2, args, true)))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("the consensus of vantages needs depwatch 0.3 in this database"),
				 errhint("Run ALTER EXTENSION depwatch UPDATE, or SET depwatch.consensus = off.")));
}

/*
 * build_view makes one vantage's timeline over [lo, end) from its rows
 * [first, last): unwatched windows are unmonitored, down windows down.
 */
static void
build_view(SPITupleTable *rows, uint64 first, uint64 last, TimestampTz lo, TimestampTz end,
		   MemoryContext outer, DwTimeline *view)
{
	int			nspans = 0;
	DwSpan	   *spans = palloc(sizeof(DwSpan) * Max(last - first, 1));
	DwSweepPoint *scratch;
	int			max;

	for (uint64 r = first; r < last; r++)
	{
		char	   *kind = kind_of(rows, r);

		spans[nspans++] = (DwSpan) {
			time_of(rows, r, COL_STARTED_AT, lo),
			time_of(rows, r, COL_ENDED_AT, end),
			strcmp(kind, "down") == 0 ? DW_SPAN_DOWN : DW_SPAN_UNMONITORED
		};
	}
	max = dw_dependency_timeline_max(nspans);
	scratch = palloc(sizeof(DwSweepPoint) * max);
	view->changes = MemoryContextAlloc(outer, sizeof(DwChange) * max);
	dw_dependency_timeline(lo, end, spans, nspans, scratch, view);
}

/* build_consensus sweeps the vantages' views with the quorum rule */
static void
build_consensus(DwConsensus *c, TimestampTz lo, TimestampTz end, MemoryContext outer)
{
	const DwTimeline **members = palloc(sizeof(DwTimeline *) * Max(c->nvantages, 1));
	DwGroup		group;
	DwSweepPoint *scratch;

	if (lo >= end)
	{
		c->timeline.n = 0;
		return;
	}
	for (int v = 0; v < c->nvantages; v++)
		members[v] = &c->views[v];
	group.k = c->quorum;
	group.nmembers = c->nvantages;
	group.members = members;
	group.rule = DW_GROUP_QUORUM;
	scratch = palloc(sizeof(DwSweepPoint) * Max(dw_capability_scratch_max(&group, 1, 0), 1));
	c->timeline.changes = MemoryContextAlloc(outer, sizeof(DwChange) *
											 dw_capability_timeline_max(&group, 1, 0));
	dw_capability_timeline(lo, end, &group, 1, NULL, 0, scratch, &c->timeline);
}

static int
compare_by_id(const void *a, const void *b)
{
	int64		x = (*(DwConsensus *const *) a)->dependency_id;
	int64		y = (*(DwConsensus *const *) b)->dependency_id;

	return (x > y) - (x < y);
}

/*
 * dw_load_consensus reads what the vantages saw over [lo, min(hi, now)) and
 * builds every probed dependency's views and consensus, in "outer" (the
 * caller is connected to SPI).  A dependency no vantage reported has no
 * views: its consensus is unmonitored throughout.
 */
DwConsensusSet *
dw_load_consensus(TimestampTz lo, TimestampTz hi, TimestampTz now, MemoryContext outer)
{
	DwConsensusSet *cs = MemoryContextAllocZero(outer, sizeof(DwConsensusSet));
	Oid			types[2] = {TIMESTAMPTZOID, TIMESTAMPTZOID};
	Datum		values[2];
	SPITupleTable *rows;
	uint64		nrows;
	uint64		r = 0;

	cs->lo = lo;
	cs->end = Max(lo, Min(hi, now));	/* empty when the period is all to come */
	check_vantage_windows();
	values[0] = TimestampTzGetDatum(lo);
	values[1] = TimestampTzGetDatum(hi);
	if (SPI_execute_with_args(psprintf("SELECT * FROM %s._vantage_windows($1, $2)"
									   " ORDER BY dependency, vantage NULLS FIRST,"
									   " kind = 'vantage' DESC, started_at",
									   dw_internal_schema()),
							  2, types, values, NULL, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "depwatch: could not read _vantage_windows");
	rows = SPI_tuptable;
	nrows = SPI_processed;

	for (uint64 k = 0; k < nrows; k++)
		if (strcmp(kind_of(rows, k), "dependency") == 0)
			cs->n++;
	cs->items = MemoryContextAllocZero(outer, sizeof(DwConsensus) * Max(cs->n, 1));
	cs->by_id = MemoryContextAlloc(outer, sizeof(DwConsensus *) * Max(cs->n, 1));

	for (int i = 0; i < cs->n; i++)
	{
		DwConsensus *c = &cs->items[i];
		bool		isnull;
		Datum		quorum;
		uint64		first = ++r;	/* after the dependency's own row */
		int			v = 0;

		c->dependency_id = DatumGetInt64(SPI_getbinval(rows->vals[first - 1], rows->tupdesc,
													   COL_DEPENDENCY_ID, &isnull));
		c->dependency = MemoryContextStrdup(outer, SPI_getvalue(rows->vals[first - 1], rows->tupdesc,
																COL_DEPENDENCY));
		quorum = SPI_getbinval(rows->vals[first - 1], rows->tupdesc, COL_QUORUM, &isnull);
		c->quorum = isnull ? dw_quorum : DatumGetInt32(quorum);
		for (; r < nrows && strcmp(kind_of(rows, r), "dependency") != 0; r++)
			if (strcmp(kind_of(rows, r), "vantage") == 0)
				c->nvantages++;
		if (c->nvantages > DW_GROUP_MAX_INCIDENCES)
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("dependency \"%s\" has %d vantages, more than the consensus counts",
							c->dependency, c->nvantages),
					 errdetail("The consensus counts at most %d vantages per dependency.",
							   DW_GROUP_MAX_INCIDENCES),
					 errhint("Forget vantages that are retired (doc/vantages.md, \"Retiring a vantage\").")));
		c->vantages = MemoryContextAlloc(outer, sizeof(char *) * Max(c->nvantages, 1));
		c->views = MemoryContextAllocZero(outer, sizeof(DwTimeline) * Max(c->nvantages, 1));
		/* each vantage: its own row, then its windows */
		for (uint64 k = first; k < r; v++)
		{
			uint64		windows = k + 1;

			c->vantages[v] = MemoryContextStrdup(outer, SPI_getvalue(rows->vals[k], rows->tupdesc,
																	 COL_VANTAGE));
			for (k = windows; k < r && strcmp(kind_of(rows, k), "vantage") != 0; k++)
				;
			build_view(rows, windows, k, cs->lo, cs->end, outer, &c->views[v]);
		}
		build_consensus(c, cs->lo, cs->end, outer);
		cs->by_id[i] = c;
	}
	qsort(cs->by_id, cs->n, sizeof(DwConsensus *), compare_by_id);
	return cs;
}

/* dw_find_consensus: the consensus of a probed dependency, or NULL */
const DwConsensus *
dw_find_consensus(const DwConsensusSet *cs, int64 dependency_id)
{
	int			lo = 0;
	int			hi = cs->n - 1;

	while (lo <= hi)
	{
		int			mid = (lo + hi) / 2;
		int64		id = cs->by_id[mid]->dependency_id;

		if (id == dependency_id)
			return cs->by_id[mid];
		if (id < dependency_id)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	return NULL;
}

/*
 * put_pieces lists one dependency's pieces: each maximal run of [lo, end)
 * in which every vantage's view stays the same, with the consensus's state
 * in it (the views change at every edge of the consensus, so a piece never
 * straddles one).
 */
static void
put_pieces(ReturnSetInfo *rsinfo, const DwConsensusSet *cs, const DwConsensus *c)
{
	static const char *const state_names[] = {"up", "degraded", "unmonitored", "down"};
	int		   *at = palloc0(sizeof(int) * c->nvantages);
	Datum	   *down_names = palloc(sizeof(Datum) * c->nvantages);
	int64		from = cs->lo;
	int			ch = 0;

	while (from < cs->end)
	{
		Datum		values[8];
		bool		nulls[8] = {0};
		int64		to = cs->end;
		int			reporting = 0;
		int			down = 0;

		for (int v = 0; v < c->nvantages; v++)
		{
			const DwTimeline *view = &c->views[v];
			const DwChange *in_force = &view->changes[at[v]];

			if (in_force->state != DW_STATE_UNMONITORED)
				reporting++;
			if (in_force->state == DW_STATE_DOWN)
				down_names[down++] = CStringGetTextDatum(c->vantages[v]);
			if (at[v] + 1 < view->n && view->changes[at[v] + 1].at < to)
				to = view->changes[at[v] + 1].at;
		}
		while (ch + 1 < c->timeline.n && c->timeline.changes[ch + 1].at <= from)
			ch++;
		values[0] = CStringGetTextDatum(c->dependency);
		values[1] = TimestampTzGetDatum(from);
		values[2] = TimestampTzGetDatum(to);
		values[3] = CStringGetTextDatum(state_names[c->timeline.changes[ch].state]);
		values[4] = Int32GetDatum(reporting);
		values[5] = Int32GetDatum(down);
		values[6] = Int32GetDatum(dw_quorum_needed(c->quorum, reporting));
		values[7] = PointerGetDatum(construct_array(down_names, down, TEXTOID, -1, false,
													TYPALIGN_INT));
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
		for (int v = 0; v < c->nvantages; v++)
			if (at[v] + 1 < c->views[v].n && c->views[v].changes[at[v] + 1].at == to)
				at[v]++;
		from = to;
	}
}

/*
 * depwatch.consensus_timeline(period tstzrange)
 *	 RETURNS TABLE(dependency, started_at, ended_at, state, reporting, down,
 *				   quorum, down_vantages)
 *
 * Per probed dependency some vantage reported, by name, the pieces of
 * [lo, min(hi, now)) with the same vantages watching and seeing it down,
 * and the consensus in each.
 */
Datum
dw_consensus_timeline(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	TimestampTz lo;
	TimestampTz hi;
	DwConsensusSet *cs;
	MemoryContext outer = CurrentMemoryContext;

	InitMaterializedSRF(fcinfo, 0);
	dw_period_arg(fcinfo, &lo, &hi);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	cs = dw_load_consensus(lo, hi, GetCurrentTransactionStartTimestamp(), outer);
	SPI_finish();
	for (int i = 0; i < cs->n; i++)
		if (cs->items[i].nvantages > 0)
			put_pieces(rsinfo, cs, &cs->items[i]);
	PG_RETURN_NULL();
}

/* put_account adds one row of vantage_availability */
static void
put_account(ReturnSetInfo *rsinfo, const char *dependency, const char *vantage,
			const DwTimeline *t, TimestampTz lo, TimestampTz hi)
{
	int64		bounds[2] = {lo, hi};
	DwAccount	a;
	Datum		values[8];
	bool		nulls[8] = {0};

	dw_account(t, bounds, 1, &a);
	values[0] = CStringGetTextDatum(dependency);
	if (vantage)
		values[1] = CStringGetTextDatum(vantage);
	else
		nulls[1] = true;
	values[2] = IntervalPGetDatum(dw_usecs_interval(a.length - a.unmonitored));
	values[3] = IntervalPGetDatum(dw_usecs_interval(a.downtime));
	values[4] = IntervalPGetDatum(dw_usecs_interval(a.maintenance));
	values[5] = IntervalPGetDatum(dw_usecs_interval(a.unmonitored));
	values[6] = dw_availability_percent(&a, &nulls[6]);
	values[7] = Int32GetDatum(a.outages);
	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
}

/*
 * depwatch.vantage_availability(period tstzrange)
 *	 RETURNS TABLE(dependency, vantage, monitored, downtime, maintenance,
 *				   unmonitored, availability, outages)
 *
 * Per probed dependency some vantage reported, by name: the consensus's
 * figures (vantage NULL), what availability() gives with
 * depwatch.consensus on, then each vantage's, its view in place of the
 * consensus in the same timeline (maintenance, tracked_since and the
 * future as for the consensus).
 */
Datum
dw_vantage_availability(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	TimestampTz lo;
	TimestampTz hi;
	DwSubjects *s;

	InitMaterializedSRF(fcinfo, 0);
	dw_period_arg(fcinfo, &lo, &hi);
	s = dw_load_subjects_as(lo, hi, DW_WINDOWS_ALL, NULL, NULL, true);
	for (int i = 0; i < s->n; i++)
	{
		const DwConsensus *c = s->items[i].consensus;

		if (c == NULL || c->nvantages == 0)
			continue;
		put_account(rsinfo, c->dependency, NULL, dw_subject_timeline(s, i), lo, hi);
		for (int v = 0; v < c->nvantages; v++)
			put_account(rsinfo, c->dependency, c->vantages[v],
						dw_subject_view_timeline(s, i, &c->views[v]), lo, hi);
	}
	PG_RETURN_NULL();
}
