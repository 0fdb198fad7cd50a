/*-------------------------------------------------------------------------
 *
 * subjects.c
 *	  Reads the dependencies and capabilities, with their outages,
 *	  maintenance and monitor gaps over a period, and builds their state
 *	  timelines with the interval algebra of timeline.c.
 *
 * Every availability report (availability, capability_outages,
 * state_timeline, current_status, timeline_svg, metrics) starts here, so
 * that they all agree on what a target was doing at each instant.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "nodes/params.h"
#include "nodes/value.h"
#include "parser/parse_func.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/hsearch.h"
#include "utils/timestamp.h"
#include "utils/typcache.h"

#include "depwatch.h"
#include "requirements.h"
#include "subjects.h"

/* Name -> subject index. */
typedef struct NameEntry
{
	char		name[NAMEDATALEN];
	int			index;
} NameEntry;

/* Catalog id -> subject index (dependencies and capabilities apart). */
typedef struct IdEntry
{
	int64		id;
	int			index;
} IdEntry;

typedef struct Loader
{
	DwSubjects *s;
	bool		consensus;		/* probed dependencies read by consensus */
	MemoryContext outer;		/* where the subjects live, beyond SPI */
	HTAB	   *by_name;
	HTAB	   *dependency_ids;
	HTAB	   *capability_ids;
} Loader;

/*
 * dw_period_bounds checks a report's period: bounded, not empty, at most
 * 10 years.  Bound inclusivity does not matter to durations: the period is
 * taken as [lower, upper).
 */
void
dw_period_bounds(RangeType *period, const char *argname, TimestampTz *lo, TimestampTz *hi)
{
	TypeCacheEntry *typcache = lookup_type_cache(RangeTypeGetOid(period), TYPECACHE_RANGE_INFO);
	RangeBound	lower;
	RangeBound	upper;
	bool		empty;
	Interval	ten_years = {0, 0, 120};

	range_deserialize(typcache, period, &lower, &upper, &empty);
	if (!empty && (lower.infinite || upper.infinite ||
				   TIMESTAMP_NOT_FINITE(DatumGetTimestampTz(lower.val)) ||
				   TIMESTAMP_NOT_FINITE(DatumGetTimestampTz(upper.val))))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must have a finite start and end", argname),
				 errhint("Pass a range such as tstzrange('2024-01-01', '2024-02-01').")));
	if (empty || DatumGetTimestampTz(lower.val) >= DatumGetTimestampTz(upper.val))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s is empty", argname),
				 errhint("Pass a range such as tstzrange('2024-01-01', '2024-02-01').")));
	*lo = DatumGetTimestampTz(lower.val);
	*hi = DatumGetTimestampTz(upper.val);
	if (*hi > DatumGetTimestampTz(DirectFunctionCall2(timestamptz_pl_interval,
													  TimestampTzGetDatum(*lo),
													  IntervalPGetDatum(&ten_years))))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s is longer than 10 years", argname),
				 errdetail("It runs from %s to %s.",
						   pstrdup(timestamptz_to_str(*lo)), pstrdup(timestamptz_to_str(*hi))),
				 errhint("Ask for at most 10 years at a time.")));
}

/*
 * dw_period_arg checks a report's first argument, its period: not NULL,
 * then as dw_period_bounds.
 */
void
dw_period_arg(FunctionCallInfo fcinfo, TimestampTz *lo, TimestampTz *hi)
{
	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("period must not be NULL"),
				 errhint("Pass a range such as tstzrange('2024-01-01', '2024-02-01').")));
	dw_period_bounds(PG_GETARG_RANGE_P(0), "period", lo, hi);
}

static HTAB *
id_table(const char *what, int n)
{
	HASHCTL		ctl;

	ctl.keysize = sizeof(int64);
	ctl.entrysize = sizeof(IdEntry);
	ctl.hcxt = CurrentMemoryContext; /* the caller's, not SPI's */
	return hash_create(what, Max(n, 16), &ctl, HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
}

static int
lookup_id(HTAB *table, int64 id)
{
	IdEntry    *e = hash_search(table, &id, HASH_FIND, NULL);

	return e ? e->index : -1;
}

/* add_span gives subject i one more window */
static void
add_span(Loader *ld, int i, TimestampTz lo, TimestampTz hi, DwSpanKind kind)
{
	DwSubject  *sub = &ld->s->items[i];

	if (sub->nspans == sub->maxspans)
	{
		sub->maxspans = sub->maxspans ? sub->maxspans * 2 : 8;
		sub->spans = sub->spans ?
			repalloc_huge(sub->spans, sizeof(DwSpan) * sub->maxspans) :
			MemoryContextAlloc(ld->outer, sizeof(DwSpan) * sub->maxspans);
	}
	sub->spans[sub->nspans++] = (DwSpan) {lo, hi, kind};
}

/* add_subject fills in item i from one catalog row */
static void
add_subject(Loader *ld, int i, bool is_capability, HeapTuple tuple, TupleDesc desc)
{
	DwSubject  *sub = &ld->s->items[i];
	bool		isnull;
	NameEntry  *ne;
	IdEntry    *ie;
	bool		found;
	MemoryContext oldcontext;

	sub->is_capability = is_capability;
	sub->id = DatumGetInt64(SPI_getbinval(tuple, desc, 1, &isnull));
	sub->name = MemoryContextStrdup(ld->outer, SPI_getvalue(tuple, desc, 2));
	oldcontext = MemoryContextSwitchTo(ld->outer);
	sub->slo = datumCopy(SPI_getbinval(tuple, desc, 3, &isnull), false, -1);
	MemoryContextSwitchTo(oldcontext);
	sub->created_at = DatumGetTimestampTz(SPI_getbinval(tuple, desc, 4, &isnull));
	if (!is_capability)
		sub->tracked_since = DatumGetTimestampTz(SPI_getbinval(tuple, desc, 5, &isnull));

	ne = hash_search(ld->by_name, sub->name, HASH_ENTER, &found);
	ne->index = i;
	ie = hash_search(is_capability ? ld->capability_ids : ld->dependency_ids,
					 &sub->id, HASH_ENTER, &found);
	ie->index = i;
}

/* add_groups parses capability i's stored requirement groups */
static void
add_groups(Loader *ld, int i, Datum requires)
{
	DwSubject  *sub = &ld->s->items[i];
	Datum	   *elems;
	int			nelems;

	deconstruct_array(DatumGetArrayTypeP(requires), TEXTOID, -1, false, TYPALIGN_INT,
					  &elems, NULL, &nelems);
	sub->ngroups = nelems;
	sub->group_text = MemoryContextAlloc(ld->outer, sizeof(char *) * nelems);
	sub->group_k = MemoryContextAlloc(ld->outer, sizeof(int) * nelems);
	sub->group_size = MemoryContextAlloc(ld->outer, sizeof(int) * nelems);
	sub->group_members = MemoryContextAlloc(ld->outer, sizeof(int *) * nelems);
	for (int g = 0; g < nelems; g++)
	{
		char	   *group = TextDatumGetCString(elems[g]);
		DwRequirement req;

		if (dw_parse_requirement(group, &req) != DW_REQ_OK)
			elog(ERROR, "capability \"%s\" has a malformed requirement group \"%s\"",
				 sub->name, group);
		sub->group_text[g] = MemoryContextStrdup(ld->outer, group);
		sub->group_k[g] = req.k;
		sub->group_size[g] = req.nmembers;
		sub->group_members[g] = MemoryContextAlloc(ld->outer, sizeof(int) * req.nmembers);
		for (int m = 0; m < req.nmembers; m++)
		{
			char		name[NAMEDATALEN];
			NameEntry  *ne;

			strlcpy(name, req.members[m].start, Min(req.members[m].len + 1, NAMEDATALEN));
			ne = hash_search(ld->by_name, name, HASH_FIND, NULL);
			if (ne == NULL)
				elog(ERROR, "capability \"%s\" requires \"%s\", which does not exist",
					 sub->name, name);
			sub->group_members[g][m] = ne->index;
		}
	}
}

/*
 * execute runs a read-only query with the period as $1 and $2, and
 * dependency ids (bigint[]) as $3 when given
 */
static void
execute(const char *sql, TimestampTz lo, TimestampTz hi, ArrayType *ids)
{
	Oid			types[3] = {TIMESTAMPTZOID, TIMESTAMPTZOID, INT8ARRAYOID};
	Datum		values[3] = {TimestampTzGetDatum(lo), TimestampTzGetDatum(hi), PointerGetDatum(ids)};

	if (SPI_execute_with_args(sql, ids ? 3 : 2, types, values, NULL, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "depwatch: could not run \"%s\"", sql);
}

/*
 * A window query's rows, each given to its subject as the executor makes
 * it, with no copy of the (up to millions of) rows.  A window query returns
 * (dependency_id, capability_id, from, to[, degraded]): windows of "kind",
 * or degraded ones where the fifth column says so.
 */
typedef struct WindowReceiver
{
	DestReceiver pub;
	Loader	   *ld;
	DwSpanKind	kind;
} WindowReceiver;

/* add_window gives one row of a window query to its subject */
static bool
add_window(TupleTableSlot *slot, DestReceiver *self)
{
	WindowReceiver *r = (WindowReceiver *) self;
	Datum	   *v = slot->tts_values;
	bool	   *null = slot->tts_isnull;
	int			i;

	slot_getallattrs(slot);
	i = !null[0] ? lookup_id(r->ld->dependency_ids, DatumGetInt64(v[0])) :
		!null[1] ? lookup_id(r->ld->capability_ids, DatumGetInt64(v[1])) : -1;
	/* the consensus stands for this node's outages of probed dependencies */
	if (i >= 0 && r->kind == DW_SPAN_DOWN && r->ld->s->items[i].consensus != NULL)
		return true;
	if (i >= 0)
		add_span(r->ld, i,
				 null[2] ? r->ld->s->lo : DatumGetTimestampTz(v[2]),
				 null[3] ? r->ld->s->hi : DatumGetTimestampTz(v[3]),
				 slot->tts_nvalid > 4 && !null[4] && DatumGetBool(v[4]) ? DW_SPAN_DEGRADED : r->kind);
	return true;
}

static void
windows_startup(DestReceiver *self, int operation, TupleDesc typeinfo)
{
}

static void
windows_end(DestReceiver *self)
{
}

/*
 * execute_windows runs a window query with the period as $1 and $2, and
 * dependency ids (bigint[]) as $3 when given, and adds its windows.
 */
static void
execute_windows(Loader *ld, const char *sql, ArrayType *ids, DwSpanKind kind)
{
	Oid			types[3] = {TIMESTAMPTZOID, TIMESTAMPTZOID, INT8ARRAYOID};
	Datum		values[3] = {TimestampTzGetDatum(ld->s->lo), TimestampTzGetDatum(ld->s->hi),
							 PointerGetDatum(ids)};
	int			nargs = ids ? 3 : 2;
	ParamListInfo params = makeParamList(nargs);
	WindowReceiver receiver = {
		{add_window, windows_startup, windows_end, windows_end, DestNone}, ld, kind
	};
	SPIExecuteOptions options = {0};
	SPIPlanPtr	plan;

	for (int k = 0; k < nargs; k++)
		params->params[k] = (ParamExternData) {values[k], false, PARAM_FLAG_CONST, types[k]};
	params->numParams = nargs;
	plan = SPI_prepare(sql, nargs, types);
	if (plan == NULL)
		elog(ERROR, "depwatch: could not prepare \"%s\": %s", sql,
			 SPI_result_code_string(SPI_result));
	options.params = params;
	options.read_only = true;
	options.dest = &receiver.pub;
	if (SPI_execute_plan_extended(plan, &options) < 0)
		elog(ERROR, "depwatch: could not run \"%s\"", sql);
	SPI_freeplan(plan);
}

/*
 * timeline_runs writes the down and unmonitored runs of a consensus, or of
 * one vantage's view, as windows into "out" (t->n at most) and returns how
 * many.  The timeline ends at now or before: a run that reaches its end
 * was still going on, and goes on to hi.  DW_WINDOWS_DOWN_OF takes only
 * the down runs.
 */
static int
timeline_runs(const DwTimeline *t, TimestampTz hi, DwWindowSource source, DwSpan *out)
{
	int			n = 0;

	for (int c = 0; c < t->n; c++)
	{
		bool		last = c + 1 == t->n;
		DwSpanKind	kind;

		if (t->changes[c].state == DW_STATE_DOWN)
			kind = DW_SPAN_DOWN;
		else if (t->changes[c].state == DW_STATE_UNMONITORED && source != DW_WINDOWS_DOWN_OF)
			kind = DW_SPAN_UNMONITORED;
		else
			continue;
		out[n++] = (DwSpan) {t->changes[c].at, last ? hi : t->changes[c + 1].at, kind};
	}
	return n;
}

/*
 * load_consensus gives each probed dependency the windows of its
 * vantages' consensus (doc/vantages.md) in place of this node's outages
 * and monitor gaps: with DW_WINDOWS_DOWN_OF, only those of the given
 * dependencies.
 */
static void
load_consensus(Loader *ld, DwWindowSource source, ArrayType *dependencies)
{
	DwSubjects *s = ld->s;
	DwConsensusSet *cs = dw_load_consensus(s->lo, s->hi, s->now, ld->outer);
	Datum	   *ids = NULL;
	int			nids = 0;

	if (source == DW_WINDOWS_DOWN_OF)
		deconstruct_array(dependencies, INT8OID, sizeof(int64), true, TYPALIGN_DOUBLE,
						  &ids, NULL, &nids);
	for (int i = 0; i < s->n; i++)
	{
		DwSubject  *sub = &s->items[i];
		bool		wanted = source != DW_WINDOWS_DOWN_OF;
		DwSpan	   *runs;
		int			nruns;

		if (sub->is_capability || (sub->consensus = dw_find_consensus(cs, sub->id)) == NULL)
			continue;
		for (int k = 0; k < nids && !wanted; k++)
			wanted = DatumGetInt64(ids[k]) == sub->id;
		if (!wanted)
			continue;
		runs = palloc(sizeof(DwSpan) * Max(sub->consensus->timeline.n, 1));
		nruns = timeline_runs(&sub->consensus->timeline, s->hi, source, runs);
		for (int r = 0; r < nruns; r++)
			add_span(ld, i, runs[r].lo, runs[r].hi, runs[r].kind);
		sub->nconsensus = sub->nspans;
	}
}

/*
 * suppose_down gives each of the dependencies (bigint[]) one down window
 * over the whole period, and nothing else to anyone: no outage, gap,
 * maintenance or consensus is read (DW_WINDOWS_SUPPOSED).
 */
static void
suppose_down(Loader *ld, ArrayType *dependencies)
{
	Datum	   *ids;
	bool	   *nulls;
	int			nids;

	deconstruct_array(dependencies, INT8OID, sizeof(int64), true, TYPALIGN_DOUBLE,
					  &ids, &nulls, &nids);
	for (int k = 0; k < nids; k++)
	{
		int			i = nulls[k] ? -1 : lookup_id(ld->dependency_ids, DatumGetInt64(ids[k]));

		if (i >= 0)
			add_span(ld, i, ld->s->lo, ld->s->hi, DW_SPAN_DOWN);
	}
}

/* load_windows reads the windows the source asks for over the period */
static void
load_windows(Loader *ld, DwWindowSource source, ArrayType *dependencies)
{
	DwSubjects *s = ld->s;

	if (source == DW_WINDOWS_SUPPOSED)
	{
		suppose_down(ld, dependencies);
		return;
	}
	if (ld->consensus)
		load_consensus(ld, source, dependencies);
	if (source == DW_WINDOWS_DOWN_OF)
		execute_windows(ld, "SELECT o.dependency_id, NULL::bigint, lower(o.during), upper(o.during)"
						" FROM depwatch.outage o WHERE o.during && tstzrange($1, $2)"
						" AND o.kind = 'down' AND o.dependency_id = ANY ($3)",
						dependencies, DW_SPAN_DOWN);
	else if (dependencies != NULL)
		/* one index scan per dependency: GiST cannot take = ANY */
		execute_windows(ld, "SELECT o.dependency_id, NULL::bigint, lower(o.during), upper(o.during),"
						" o.kind = 'degraded'"
						" FROM unnest($3) d(id) CROSS JOIN LATERAL ("
						"  SELECT o.* FROM depwatch.outage o"
						"   WHERE o.dependency_id = d.id AND o.during && tstzrange($1, $2)) o",
						dependencies, DW_SPAN_DOWN);
	else
		execute_windows(ld, "SELECT o.dependency_id, NULL::bigint, lower(o.during), upper(o.during),"
						" o.kind = 'degraded'"
						" FROM depwatch.outage o WHERE o.during && tstzrange($1, $2)",
						NULL, DW_SPAN_DOWN);
	if (source == DW_WINDOWS_DOWN_OF)
		return;

	/* with dependencies, only theirs: the other subjects' timelines are not asked for */
	execute_windows(ld, psprintf("SELECT m.dependency_id, m.capability_id, lower(m.during), upper(m.during)"
								 " FROM depwatch.maintenance m WHERE m.during && tstzrange($1, $2)%s",
								 dependencies == NULL ? "" :
								 " AND (m.capability_id IS NOT NULL OR m.dependency_id = ANY ($3))"),
					dependencies, DW_SPAN_MAINTENANCE);

	/* by consensus, its unmonitored runs stand for the monitor gaps */
	if (!ld->consensus)
		execute_windows(ld, psprintf("SELECT g.dependency_id, NULL::bigint, g.gap_from, g.gap_to"
									 " FROM %s._monitor_gaps($1, $2) g%s", dw_internal_schema(),
									 dependencies == NULL ? "" : " WHERE g.dependency_id = ANY ($3)"),
						dependencies, DW_SPAN_UNMONITORED);

	/*
	 * Before 0.3 (a catalog without tracked_since), _monitor_gaps ends the
	 * gap still open at now: at now itself, it goes on as that catalog's
	 * _unmonitored_now says.
	 */
	if (!ld->consensus && source == DW_WINDOWS_STATUS && !dw_catalog_has_tracked_since())
		execute_windows(ld, "SELECT u.dependency_id, NULL::bigint, u.since, NULL::timestamptz"
						" FROM depwatch._unmonitored_now() u WHERE $1 < $2",
						NULL, DW_SPAN_UNMONITORED);

	/* what has not happened yet is not monitored */
	if (source == DW_WINDOWS_ALL && s->now < s->hi)
		for (int i = 0; i < s->n; i++)
			if (!s->items[i].is_capability)
				add_span(ld, i, Max(s->now, s->lo), s->hi, DW_SPAN_UNMONITORED);

	/*
	 * Nor what came before the dependency's history (doc/semantics.md,
	 * "Tracked since"): whatever its probe kind, and for every report and
	 * every capability that requires it, an untracked dependency is
	 * unmonitored, never up.
	 */
	for (int i = 0; i < s->n; i++)
		if (!s->items[i].is_capability && s->items[i].tracked_since > s->lo)
			add_span(ld, i, s->lo, Min(s->items[i].tracked_since, s->hi), DW_SPAN_UNMONITORED);
}

/*
 * needed_dependencies: the ids of the dependencies the named subjects
 * stand on (themselves, or their capabilities' members, all the way down),
 * as a bigint[]; the names are checked later by dw_choose_subjects.
 */
static ArrayType *
needed_dependencies(Loader *ld, ArrayType *roots)
{
	DwSubjects *s = ld->s;
	bool	   *seen = palloc0(sizeof(bool) * Max(s->n, 1));
	int		   *stack = palloc(sizeof(int) * Max(s->n, 1));
	Datum	   *ids = palloc(sizeof(Datum) * Max(s->n, 1));
	int			nstack = 0;
	int			nids = 0;
	Datum	   *names;
	bool	   *nulls;
	int			nnames;

	deconstruct_array(roots, TEXTOID, -1, false, TYPALIGN_INT, &names, &nulls, &nnames);
	for (int k = 0; k < nnames; k++)
	{
		NameEntry  *e;
		char		key[NAMEDATALEN];

		if (nulls[k])
			continue;
		strlcpy(key, TextDatumGetCString(names[k]), sizeof(key));
		e = hash_search(ld->by_name, key, HASH_FIND, NULL);
		if (e != NULL && !seen[e->index])
		{
			seen[e->index] = true;
			stack[nstack++] = e->index;
		}
	}
	while (nstack > 0)
	{
		DwSubject  *sub = &s->items[stack[--nstack]];

		if (!sub->is_capability)
		{
			ids[nids++] = Int64GetDatum(sub->id);
			continue;
		}
		for (int g = 0; g < sub->ngroups; g++)
			for (int m = 0; m < sub->group_size[g]; m++)
				if (!seen[sub->group_members[g][m]])
				{
					seen[sub->group_members[g][m]] = true;
					stack[nstack++] = sub->group_members[g][m];
				}
	}
	return construct_array(ids, nids, INT8OID, sizeof(int64), true, TYPALIGN_DOUBLE);
}

/*
 * dw_load_subjects reads every dependency and capability and the windows
 * the source asks for over [lo, hi); dependencies (bigint[]) is for
 * DW_WINDOWS_DOWN_OF and DW_WINDOWS_SUPPOSED.  With roots (text[]), only the outages, maintenance
 * and monitor gaps of the dependencies those subjects stand on are read:
 * the others' timelines lack them, so only the roots and what they require
 * may be asked for.
 */
DwSubjects *
dw_load_subjects(TimestampTz lo, TimestampTz hi, DwWindowSource source, ArrayType *dependencies,
				 ArrayType *roots)
{
	return dw_load_subjects_as(lo, hi, source, dependencies, roots, dw_consensus);
}

/*
 * dw_load_subjects_as: dw_load_subjects, reading the probed dependencies'
 * windows from their vantages' consensus or not, whatever
 * depwatch.consensus says.
 */
DwSubjects *
dw_load_subjects_as(TimestampTz lo, TimestampTz hi, DwWindowSource source,
					ArrayType *dependencies, ArrayType *roots, bool consensus)
{
	Loader		ld;
	HASHCTL		ctl;
	SPITupleTable *deps;
	SPITupleTable *caps;
	uint64		ndeps;
	uint64		ncaps;

	ld.outer = CurrentMemoryContext;
	ld.consensus = consensus;
	ld.s = palloc0(sizeof(DwSubjects));
	ld.s->lo = lo;
	ld.s->hi = hi;
	ld.s->now = GetCurrentTransactionStartTimestamp();
	ctl.keysize = NAMEDATALEN;
	ctl.entrysize = sizeof(NameEntry);
	ctl.hcxt = ld.outer;
	ld.by_name = hash_create("depwatch subjects", 64, &ctl,
							 HASH_ELEM | HASH_STRINGS | HASH_CONTEXT);
	ld.dependency_ids = id_table("depwatch dependency ids", 64);
	ld.capability_ids = id_table("depwatch capability ids", 64);

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	/* a catalog not yet updated to 0.3 has no tracked_since: from -infinity */
	execute(dw_catalog_has_tracked_since() ?
			"SELECT d.id, d.name, coalesce((d.options->>'slo')::numeric, 99.9), d.created_at,"
			" d.tracked_since FROM depwatch.dependency d WHERE $1 < $2 ORDER BY d.name" :
			"SELECT d.id, d.name, coalesce((d.options->>'slo')::numeric, 99.9), d.created_at,"
			" '-infinity'::timestamptz FROM depwatch.dependency d WHERE $1 < $2 ORDER BY d.name",
			lo, hi, NULL);
	deps = SPI_tuptable;
	ndeps = SPI_processed;
	execute("SELECT c.id, c.name, c.slo, c.created_at, c.requires"
			" FROM depwatch.capability c WHERE $1 < $2 ORDER BY c.name", lo, hi, NULL);
	caps = SPI_tuptable;
	ncaps = SPI_processed;

	ld.s->n = (int) (ndeps + ncaps);
	ld.s->items = MemoryContextAllocZero(ld.outer, sizeof(DwSubject) * Max(ld.s->n, 1));

	for (uint64 r = 0; r < ndeps; r++)
		add_subject(&ld, (int) r, false, deps->vals[r], deps->tupdesc);
	for (uint64 r = 0; r < ncaps; r++)
		add_subject(&ld, (int) (ndeps + r), true, caps->vals[r], caps->tupdesc);
	for (uint64 r = 0; r < ncaps; r++)
	{
		bool		isnull;

		add_groups(&ld, (int) (ndeps + r),
				   SPI_getbinval(caps->vals[r], caps->tupdesc, 5, &isnull));
	}
	if (roots != NULL && source != DW_WINDOWS_DOWN_OF && source != DW_WINDOWS_SUPPOSED)
		dependencies = needed_dependencies(&ld, roots);
	load_windows(&ld, source, dependencies);
	SPI_finish();

	/* kept for dw_find_subject */
	hash_destroy(ld.dependency_ids);
	hash_destroy(ld.capability_ids);
	ld.s->by_name = ld.by_name;
	return ld.s;
}

/* dw_find_subject: the index of the named dependency or capability, or -1 */
int
dw_find_subject(const DwSubjects *s, const char *name)
{
	char		key[NAMEDATALEN];
	NameEntry  *e;

	strlcpy(key, name, sizeof(key));
	if (strlen(name) >= NAMEDATALEN)
		return -1;
	e = hash_search(s->by_name, key, HASH_FIND, NULL);
	return e ? e->index : -1;
}

/*
 * dw_subject_timeline returns subject i's timeline over the period,
 * building it (and its members', for a capability) the first time.
 */
const DwTimeline *
dw_subject_timeline(DwSubjects *s, int i)
{
	DwSubject  *sub = &s->items[i];
	DwSweepPoint *scratch;
	int			max;

	if (sub->build_state == 2)
		return &sub->timeline;
	if (sub->build_state == 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_OBJECT_DEFINITION),
				 errmsg("capability \"%s\" requires itself", sub->name),
				 errhint("Change its requirements with alter_capability().")));
	check_stack_depth();
	sub->build_state = 1;
	if (!sub->is_capability)
	{
		max = dw_dependency_timeline_max(sub->nspans);
		scratch = palloc_extended(sizeof(DwSweepPoint) * max, MCXT_ALLOC_HUGE);
		sub->timeline.changes = palloc_extended(sizeof(DwChange) * max, MCXT_ALLOC_HUGE);
		dw_dependency_timeline(s->lo, s->hi, sub->spans, sub->nspans, scratch, &sub->timeline);
	}
	else
	{
		DwGroup    *groups = palloc(sizeof(DwGroup) * sub->ngroups);

		for (int g = 0; g < sub->ngroups; g++)
		{
			const DwTimeline **members = palloc(sizeof(DwTimeline *) * sub->group_size[g]);

			for (int m = 0; m < sub->group_size[g]; m++)
				members[m] = dw_subject_timeline(s, sub->group_members[g][m]);
			groups[g].k = sub->group_k[g];
			groups[g].nmembers = sub->group_size[g];
			groups[g].members = members;
			groups[g].rule = DW_GROUP_K_OF_N;
		}
		scratch = palloc_extended(sizeof(DwSweepPoint) *
								  dw_capability_scratch_max(groups, sub->ngroups, sub->nspans),
								  MCXT_ALLOC_HUGE);
		max = dw_capability_timeline_max(groups, sub->ngroups, sub->nspans);
		sub->timeline.changes = palloc_extended(sizeof(DwChange) * max, MCXT_ALLOC_HUGE);
		dw_capability_timeline(s->lo, s->hi, groups, sub->ngroups, sub->spans, sub->nspans,
							   scratch, &sub->timeline);
	}
	pfree(scratch);
	sub->build_state = 2;
	return &sub->timeline;
}

/*
 * dw_subject_view_timeline: dependency i's timeline with one vantage's view
 * (of its consensus's vantages) in place of the consensus: its maintenance,
 * untracked time and the future as in dw_subject_timeline.
 */
const DwTimeline *
dw_subject_view_timeline(DwSubjects *s, int i, const DwTimeline *view)
{
	DwSubject  *sub = &s->items[i];
	int			nothers = sub->nspans - sub->nconsensus;
	DwSpan	   *spans = palloc(sizeof(DwSpan) * (view->n + nothers + 1));
	int			nspans = timeline_runs(view, s->hi, DW_WINDOWS_ALL, spans);
	DwTimeline *t = palloc(sizeof(DwTimeline));
	DwSweepPoint *scratch;
	int			max;

	memcpy(spans + nspans, sub->spans + sub->nconsensus, sizeof(DwSpan) * nothers);
	nspans += nothers;
	max = dw_dependency_timeline_max(nspans);
	scratch = palloc_extended(sizeof(DwSweepPoint) * max, MCXT_ALLOC_HUGE);
	t->changes = palloc_extended(sizeof(DwChange) * max, MCXT_ALLOC_HUGE);
	dw_dependency_timeline(s->lo, s->hi, spans, nspans, scratch, t);
	pfree(scratch);
	pfree(spans);
	return t;
}

/*
 * dw_choose_subjects returns the indexes of the named targets, in the
 * order given (every subject when targets is NULL); an empty list, a NULL
 * name or an unknown one is an error.
 */
int *
dw_choose_subjects(const DwSubjects *s, ArrayType *targets, int *n)
{
	Datum	   *names;
	bool	   *nulls;
	int			nnames;
	int		   *chosen;

	if (targets == NULL)
	{
		chosen = palloc(sizeof(int) * Max(s->n, 1));
		for (int i = 0; i < s->n; i++)
			chosen[i] = i;
		*n = s->n;
		return chosen;
	}
	deconstruct_array(targets, TEXTOID, -1, false, TYPALIGN_INT, &names, &nulls, &nnames);
	if (nnames == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("targets names nothing"),
				 errhint("Pass NULL for every target, or name dependencies and capabilities.")));
	chosen = palloc(sizeof(int) * nnames);
	for (int k = 0; k < nnames; k++)
	{
		char	   *name;

		if (nulls[k])
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("targets must not contain NULL")));
		name = TextDatumGetCString(names[k]);
		chosen[k] = dw_find_subject(s, name);
		if (chosen[k] < 0)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_OBJECT),
					 errmsg("\"%s\" is neither a dependency nor a capability", name),
					 errhint("The targets are listed in depwatch.dependency and depwatch.capability.")));
	}
	*n = nnames;
	return chosen;
}
