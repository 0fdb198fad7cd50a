/*-------------------------------------------------------------------------
 *
 * availability.c
 *	  SQL functions over state timelines: availability(),
 *	  capability_outages(), state_timeline() and current_status()'s
 *	  states (_status()).
 *
 * doc/semantics.md, "Availability", defines every number; subjects.c and
 * timeline.c say what each target was doing, this file only counts.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "fmgr.h"
#include "funcapi.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/numeric.h"
#include "utils/timestamp.h"

#include "availability.h"
#include "depwatch.h"
#include "subjects.h"

PG_FUNCTION_INFO_V1(dw_availability);
PG_FUNCTION_INFO_V1(dw_capability_outages);
PG_FUNCTION_INFO_V1(dw_state_timeline);
PG_FUNCTION_INFO_V1(dw_status);
PG_FUNCTION_INFO_V1(dw_capability_status);
PG_FUNCTION_INFO_V1(dw_check_period);

/*
 * What current_status shows: a state, or maintenance over whatever state
 * lies beneath (doc/semantics.md, "Current status").
 */
#define STATUS_MAINTENANCE (DW_STATE_DOWN + 1)

/* a DwState's name, or STATUS_MAINTENANCE's */
static const char *const state_names[] = {"up", "degraded", "unmonitored", "down", "maintenance"};

/*
 * bucket_step: the length of one bucket ('hour', 'day', 'week', 'month'),
 * or an error naming the choices.
 */
static Interval
bucket_step(text *bucket)
{
	char	   *unit = text_to_cstring(bucket);
	Interval	step = {0, 0, 0};

	if (strcmp(unit, "hour") == 0)
		step.time = USECS_PER_HOUR;
	else if (strcmp(unit, "day") == 0)
		step.day = 1;
	else if (strcmp(unit, "week") == 0)
		step.day = 7;
	else if (strcmp(unit, "month") == 0)
		step.month = 1;
	else
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("unknown bucket \"%s\"", unit),
				 errhint("Use 'hour', 'day', 'week' or 'month'.")));
	return step;
}

/*
 * bucket_bounds cuts [lo, hi) at the starts of hours, days, weeks or
 * months in the session time zone (date_trunc), or not at all when bucket
 * is NULL.  Returns the number of buckets; *bounds gets n + 1 instants
 * (clipped to the period) and *starts the n bucket starts (unclipped).
 */
static int
bucket_bounds(TimestampTz lo, TimestampTz hi, text *bucket,
			  int64 **bounds, TimestampTz **starts)
{
	Interval	step;
	TimestampTz at;
	int			n = 0;
	int			cap = 16;

	*bounds = palloc(sizeof(int64) * (cap + 1));
	*starts = palloc(sizeof(TimestampTz) * cap);
	if (bucket == NULL)
	{
		(*bounds)[0] = lo;
		(*bounds)[1] = hi;
		(*starts)[0] = lo;
		return 1;
	}
	step = bucket_step(bucket);
	at = DatumGetTimestampTz(DirectFunctionCall2(timestamptz_trunc,
												 PointerGetDatum(bucket),
												 TimestampTzGetDatum(lo)));
	while (at < hi)
	{
		if (n == cap)
		{
			cap *= 2;
			*bounds = repalloc_huge(*bounds, sizeof(int64) * (cap + 1));
			*starts = repalloc_huge(*starts, sizeof(TimestampTz) * cap);
		}
		(*starts)[n] = at;
		(*bounds)[n] = Max(at, lo);
		n++;
		at = DatumGetTimestampTz(DirectFunctionCall2(timestamptz_pl_interval,
													 TimestampTzGetDatum(at),
													 IntervalPGetDatum(&step)));
	}
	(*bounds)[n] = hi;
	return n;
}

/*
 * depwatch._check_period(period tstzrange, bucket text) RETURNS void
 *
 * The checks availability() makes of its arguments, for reports written
 * in SQL: a bounded, non-empty period of at most 10 years, and a known
 * bucket (or NULL).
 */
Datum
dw_check_period(PG_FUNCTION_ARGS)
{
	TimestampTz lo;
	TimestampTz hi;

	dw_period_arg(fcinfo, &lo, &hi);
	if (!PG_ARGISNULL(1))
		(void) bucket_step(PG_GETARG_TEXT_PP(1));
	PG_RETURN_VOID();
}

static Datum
usecs_datum(int64 usecs)
{
	return IntervalPGetDatum(dw_usecs_interval(usecs));
}

/* numeric_of: an int64 as numeric */
static Numeric
numeric_of(int64 v)
{
	return int64_to_numeric(v);
}

/*
 * dw_availability_percent: 100 x (monitored - maintenance - downtime) /
 * (monitored - maintenance), or NULL (*isnull) when the divisor is 0.
 */
Datum
dw_availability_percent(const DwAccount *a, bool *isnull)
{
	int64		counted = a->length - a->unmonitored - a->maintenance;

	*isnull = counted <= 0;
	if (*isnull)
		return (Datum) 0;
	return NumericGetDatum(numeric_div_opt_error(numeric_mul_opt_error(numeric_of(100),
																	   numeric_of(counted - a->downtime),
																	   NULL),
												 numeric_of(counted), NULL));
}

/*
 * put_availability_row adds one target's figures for one bucket, by the
 * formulas of doc/semantics.md, "Availability".
 */
static void
put_availability_row(ReturnSetInfo *rsinfo, const DwSubject *sub,
					 TimestampTz bucket_start, const DwAccount *a)
{
	Datum		values[16];
	bool		nulls[16] = {0};
	int64		monitored = a->length - a->unmonitored;
	int64		counted = monitored - a->maintenance;	/* what availability is over */
	int64		up = counted - a->downtime;
	Numeric		slo = DatumGetNumeric(sub->slo);
	Numeric		budget;
	int64		budget_us;

	values[0] = CStringGetTextDatum(sub->name);
	values[1] = CStringGetTextDatum(sub->is_capability ? "capability" : "dependency");
	values[2] = TimestampTzGetDatum(bucket_start);
	values[3] = usecs_datum(monitored);
	values[4] = usecs_datum(a->downtime);
	values[5] = usecs_datum(a->degraded);
	values[6] = usecs_datum(a->maintenance);
	values[7] = usecs_datum(a->unmonitored);
	values[8] = dw_availability_percent(a, &nulls[8]);
	values[9] = NumericGetDatum(slo);
	/* budget = (1 - slo/100) * counted = (100 - slo) * counted / 100, in whole microseconds */
	budget = numeric_div_opt_error(numeric_mul_opt_error(numeric_sub_opt_error(numeric_of(100),
																			   slo, NULL),
														 numeric_of(counted), NULL),
								   numeric_of(100), NULL);
	budget_us = DatumGetInt64(DirectFunctionCall1(numeric_int8, NumericGetDatum(budget)));
	values[10] = usecs_datum(budget_us);
	values[11] = usecs_datum(budget_us - a->downtime);
	values[12] = Int32GetDatum(a->outages);
	if (a->outages > 0)
	{
		values[13] = usecs_datum(a->outage_time / a->outages);
		values[14] = usecs_datum(up / a->outages);
		values[15] = usecs_datum(a->longest);
	}
	else
		nulls[13] = nulls[14] = nulls[15] = true;
	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
}

/*
 * depwatch.availability(period tstzrange, bucket text DEFAULT NULL)
 *
 * One row per dependency and capability, and per bucket when asked (every
 * bucket, even one where nothing happened).
 */
Datum
dw_availability(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	TimestampTz lo;
	TimestampTz hi;
	DwSubjects *s;
	int64	   *bounds;
	TimestampTz *starts;
	int			nbuckets;
	DwAccount  *accounts;
	MemoryContext rowcxt;

	InitMaterializedSRF(fcinfo, 0);
	dw_period_arg(fcinfo, &lo, &hi);
	nbuckets = bucket_bounds(lo, hi, PG_ARGISNULL(1) ? NULL : PG_GETARG_TEXT_PP(1),
							 &bounds, &starts);
	s = dw_load_subjects(lo, hi, DW_WINDOWS_ALL, NULL, NULL);
	accounts = palloc_extended(sizeof(DwAccount) * nbuckets, MCXT_ALLOC_HUGE);
	/* a row's numbers are garbage once the tuplestore has its copy */
	rowcxt = AllocSetContextCreate(CurrentMemoryContext, "depwatch availability row",
								   ALLOCSET_SMALL_SIZES);
	for (int i = 0; i < s->n; i++)
	{
		dw_account(dw_subject_timeline(s, i), bounds, nbuckets, accounts);
		for (int b = 0; b < nbuckets; b++)
		{
			MemoryContext oldcontext = MemoryContextSwitchTo(rowcxt);

			put_availability_row(rsinfo, &s->items[i], starts[b], &accounts[b]);
			MemoryContextSwitchTo(oldcontext);
			MemoryContextReset(rowcxt);
		}
	}
	PG_RETURN_NULL();
}

/* causes_array: the requirement groups whose bits are set, as text[] */
static Datum
causes_array(const DwSubject *sub, uint64 causes)
{
	Datum	   *elems = palloc(sizeof(Datum) * Max(sub->ngroups, 1));
	int			n = 0;

	for (int g = 0; g < sub->ngroups; g++)
		if (causes & (UINT64CONST(1) << g))
			elems[n++] = CStringGetTextDatum(sub->group_text[g]);
	return PointerGetDatum(construct_array(elems, n, TEXTOID, -1, false, TYPALIGN_INT));
}

/* the end of a window: NULL while it is still going on now */
static void
put_end(const DwSubjects *s, TimestampTz end, Datum *value, bool *isnull)
{
	*isnull = (end == s->now && s->now < s->hi);
	*value = TimestampTzGetDatum(end);
}

/*
 * depwatch.capability_outages(capability text, period tstzrange)
 *
 * The down and degraded windows of a capability, clipped to the period;
 * causes names the requirement groups that failed (or lost members, for a
 * degraded window) at any time within the window.
 */
Datum
dw_capability_outages(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	char	   *name;
	TimestampTz lo;
	TimestampTz hi;
	DwSubjects *s;
	int			i;
	const DwTimeline *t;
	const DwSubject *sub;
	MemoryContext rowcxt;

	InitMaterializedSRF(fcinfo, 0);
	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("capability and period must not be NULL"),
				 errhint("Call it as capability_outages('transfer', tstzrange('2024-01-01', '2024-02-01')).")));
	name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	dw_period_bounds(PG_GETARG_RANGE_P(1), "period", &lo, &hi);
	{
		Datum		root = PG_GETARG_DATUM(0);

		s = dw_load_subjects(lo, hi, DW_WINDOWS_ALL, NULL,
							 construct_array(&root, 1, TEXTOID, -1, false, TYPALIGN_INT));
	}
	i = dw_find_subject(s, name);
	if (i < 0 || !s->items[i].is_capability)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("capability \"%s\" does not exist", name),
				 i >= 0 ? errhint("\"%s\" is a dependency: its outages are in depwatch.outages.", name) :
				 errhint("The capabilities are listed in depwatch.capability.")));
	sub = &s->items[i];
	t = dw_subject_timeline(s, i);

	/* a row's values are garbage once the tuplestore has its copy */
	rowcxt = AllocSetContextCreate(CurrentMemoryContext, "depwatch capability_outages row",
								   ALLOCSET_SMALL_SIZES);
	for (int c = 0; c < t->n;)
	{
		DwState		state = t->changes[c].state;
		uint64		causes = 0;
		int			end;
		Datum		values[4];
		bool		nulls[4] = {0};
		MemoryContext oldcontext;

		if (state != DW_STATE_DOWN && state != DW_STATE_DEGRADED)
		{
			c++;
			continue;
		}
		for (end = c; end < t->n && t->changes[end].state == state; end++)
			causes |= t->changes[end].causes;
		oldcontext = MemoryContextSwitchTo(rowcxt);
		values[0] = CStringGetTextDatum(state_names[state]);
		values[1] = TimestampTzGetDatum(t->changes[c].at);
		put_end(s, end < t->n ? t->changes[end].at : t->hi, &values[2], &nulls[2]);
		values[3] = causes_array(sub, causes);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
		MemoryContextSwitchTo(oldcontext);
		MemoryContextReset(rowcxt);
		c = end;
	}
	PG_RETURN_NULL();
}

/*
 * depwatch.state_timeline(period tstzrange, targets text[] DEFAULT NULL)
 *
 * What each target (all when NULL) was doing over the period, as runs of
 * one state: up, degraded, down, unmonitored, with maintenance beside.
 */
Datum
dw_state_timeline(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	TimestampTz lo;
	TimestampTz hi;
	DwSubjects *s;
	int		   *chosen;
	int			nchosen = 0;

	InitMaterializedSRF(fcinfo, 0);
	dw_period_arg(fcinfo, &lo, &hi);
	s = dw_load_subjects(lo, hi, DW_WINDOWS_ALL, NULL, PG_ARGISNULL(1) ? NULL : PG_GETARG_ARRAYTYPE_P(1));
	chosen = dw_choose_subjects(s, PG_ARGISNULL(1) ? NULL : PG_GETARG_ARRAYTYPE_P(1), &nchosen);

	for (int k = 0; k < nchosen; k++)
	{
		const DwSubject *sub = &s->items[chosen[k]];
		const DwTimeline *t = dw_subject_timeline(s, chosen[k]);

		for (int c = 0; c < t->n;)
		{
			int			end = c + 1;
			Datum		values[6];
			bool		nulls[6] = {0};

			while (end < t->n && t->changes[end].state == t->changes[c].state &&
				   t->changes[end].maintenance == t->changes[c].maintenance)
				end++;
			values[0] = CStringGetTextDatum(sub->name);
			values[1] = CStringGetTextDatum(sub->is_capability ? "capability" : "dependency");
			values[2] = CStringGetTextDatum(state_names[t->changes[c].state]);
			values[3] = BoolGetDatum(t->changes[c].maintenance);
			values[4] = TimestampTzGetDatum(t->changes[c].at);
			values[5] = TimestampTzGetDatum(end < t->n ? t->changes[end].at : t->hi);
			tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
			c = end;
		}
	}
	PG_RETURN_NULL();
}

/* the look-backs a status is read over, each for what the last left open */
static const int64 status_lookbacks[] = {
	USECS_PER_DAY, 31 * USECS_PER_DAY, 366 * USECS_PER_DAY
};

/* One target's status now. */
typedef struct TargetStatus
{
	char	   *name;
	bool		is_capability;
	int64		id;
	int			status;			/* a DwState or STATUS_MAINTENANCE */
	TimestampTz since;
	bool		by_consensus;
	bool		decided;		/* since is known (else: at least since then) */
} TargetStatus;

static int
status_of(const DwChange *c)
{
	return c->maintenance ? STATUS_MAINTENANCE : c->state;
}

/*
 * status_run: the index of the change that began the stretch, reaching the
 * timeline's end, over which the status stays the same.
 */
static int
status_run(const DwTimeline *t)
{
	int			c = t->n - 1;
	int			status = status_of(&t->changes[c]);

	while (c > 0 && status_of(&t->changes[c - 1]) == status)
		c--;
	return c;
}

/*
 * decide_status reads subject i's status at now (the end of its timeline)
 * and since when, by doc/semantics.md, "Current status": the start of its
 * current stretch, up counting from the target's creation at the
 * earliest.  A stretch that began at the look-back's start or earlier is
 * left undecided, since the later of the look-back's start and the
 * target's creation: what the widest look-back tells.
 */
static void
decide_status(DwSubjects *s, int i, TargetStatus *out)
{
	const DwSubject *sub = &s->items[i];
	const DwTimeline *t = dw_subject_timeline(s, i);
	int			c = status_run(t);
	TimestampTz at = t->changes[c].at;

	out->status = status_of(&t->changes[c]);
	out->by_consensus = sub->consensus != NULL;
	out->decided = true;
	if (out->status == DW_STATE_UP && sub->created_at >= at)
		out->since = sub->created_at;
	else if (c > 0)
		out->since = at;
	else
	{
		out->since = Max(s->lo, sub->created_at);
		out->decided = false;
	}
}

/*
 * load_statuses decides the status of every target (only the capabilities
 * when capabilities_only), reading their timelines over the last day, and
 * again over each wider look-back for the targets whose status began
 * before the last (only them and what they stand on: a long steady state
 * costs its own history, not everyone's).  Returns the targets,
 * dependencies then capabilities, each by name.
 */
static TargetStatus *
load_statuses(bool capabilities_only, int *n)
{
	TimestampTz now = GetCurrentTransactionStartTimestamp();
	MemoryContext outer = CurrentMemoryContext;
	MemoryContext loadcxt = AllocSetContextCreate(outer, "depwatch status",
												  ALLOCSET_DEFAULT_SIZES);
	TargetStatus *out;
	DwSubjects *s;
	int			nopen = 0;

	MemoryContextSwitchTo(loadcxt);
	s = dw_load_subjects(now - status_lookbacks[0], now + 1, DW_WINDOWS_STATUS, NULL, NULL);
	out = MemoryContextAllocZero(outer, sizeof(TargetStatus) * Max(s->n, 1));
	for (int i = 0; i < s->n; i++)
	{
		out[i].name = MemoryContextStrdup(outer, s->items[i].name);
		out[i].is_capability = s->items[i].is_capability;
		out[i].id = s->items[i].id;
		out[i].decided = capabilities_only && !out[i].is_capability;
		if (!out[i].decided)
			decide_status(s, i, &out[i]);
		nopen += !out[i].decided;
	}
	*n = s->n;

	for (int w = 1; w < (int) lengthof(status_lookbacks) && nopen > 0; w++)
	{
		Datum	   *roots;
		int			nroots = 0;

		/* the last read goes; the names of those left open are made anew */
		MemoryContextReset(loadcxt);
		roots = palloc(sizeof(Datum) * nopen);
		for (int k = 0; k < *n; k++)
			if (!out[k].decided)
				roots[nroots++] = CStringGetTextDatum(out[k].name);
		s = dw_load_subjects(now - status_lookbacks[w], now + 1, DW_WINDOWS_STATUS, NULL,
							 construct_array(roots, nroots, TEXTOID, -1, false, TYPALIGN_INT));
		nopen = 0;
		for (int k = 0; k < *n; k++)
		{
			int			i;

			if (out[k].decided)
				continue;
			/* the same snapshot: every target is there again */
			i = dw_find_subject(s, out[k].name);
			if (i < 0)
				elog(ERROR, "depwatch: \"%s\" went missing between two reads", out[k].name);
			decide_status(s, i, &out[k]);
			nopen += !out[k].decided;
		}
	}
	MemoryContextSwitchTo(outer);
	MemoryContextDelete(loadcxt);
	return out;
}

/*
 * depwatch._status() RETURNS TABLE(target, target_type, target_id, state,
 * since, by_consensus)
 *
 * What each dependency and capability is doing now and since when, read
 * from the state timelines every report reads (doc/semantics.md, "Current
 * status").
 */
Datum
dw_status(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	TargetStatus *st;
	int			n;

	InitMaterializedSRF(fcinfo, 0);
	st = load_statuses(false, &n);
	for (int k = 0; k < n; k++)
	{
		Datum		values[6];
		bool		nulls[6] = {0};

		values[0] = CStringGetTextDatum(st[k].name);
		values[1] = CStringGetTextDatum(st[k].is_capability ? "capability" : "dependency");
		values[2] = Int64GetDatum(st[k].id);
		values[3] = CStringGetTextDatum(state_names[st[k].status]);
		values[4] = TimestampTzGetDatum(st[k].since);
		values[5] = BoolGetDatum(st[k].by_consensus);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	PG_RETURN_NULL();
}

/*
 * depwatch._capability_status() RETURNS TABLE(target, state, since)
 *
 * _status() of the capabilities (what the alerts compare, and what a 0.1
 * or 0.2 catalog's current_status shows of them).
 */
Datum
dw_capability_status(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	TargetStatus *st;
	int			n;

	InitMaterializedSRF(fcinfo, 0);
	st = load_statuses(true, &n);
	for (int k = 0; k < n; k++)
	{
		Datum		values[3];
		bool		nulls[3] = {0};

		if (!st[k].is_capability)
			continue;
		values[0] = CStringGetTextDatum(st[k].name);
		values[1] = CStringGetTextDatum(state_names[st[k].status]);
		values[2] = TimestampTzGetDatum(st[k].since);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	PG_RETURN_NULL();
}
