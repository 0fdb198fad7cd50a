/*-------------------------------------------------------------------------
 *
 * samples.c
 *	  report_sample() and derive_outages(): the two SQL entry points into
 *	  the outage state machine.
 *
 * report_sample feeds one sample at a time and keeps depwatch.outage true;
 * derive_outages replays stored samples through a fresh machine and returns
 * the windows without writing anything.  Both classify samples with
 * dw_classify and decide with dw_machine_step, so on the same history they
 * give the same outages.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "nodes/params.h"
#include "utils/builtins.h"
#include "utils/rangetypes.h"
#include "utils/timestamp.h"

#include "depwatch.h"
#include "outage_store.h"

PG_FUNCTION_INFO_V1(dw_report_sample);
PG_FUNCTION_INFO_V1(dw_derive_outages);
PG_FUNCTION_INFO_V1(dw_rederive_outages);

/*
 * depwatch.report_sample(dependency text, ok boolean, latency interval,
 *						  at timestamptz, vantage text, detail text)
 *
 * Stores one sample and advances the dependency's outage state machine.
 * For a passive dependency the machine is fed the error-rate verdict over
 * the trailing window instead of the sample itself.
 */
Datum
dw_report_sample(PG_FUNCTION_ARGS)
{
	char	   *name;
	bool		ok;
	Interval   *latency = PG_ARGISNULL(2) ? NULL : PG_GETARG_INTERVAL_P(2);
	TimestampTz at;
	DwDependency dep;
	DwMachine	m;
	TimestampTz last_at;
	int			rc;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(3))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s must not be NULL",
						PG_ARGISNULL(0) ? "dependency" :
						PG_ARGISNULL(1) ? "ok" : "at"),
				 errhint("Call report_sample(dependency, ok[, latency[, at]]).")));
	name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	ok = PG_GETARG_BOOL(1);
	at = PG_GETARG_TIMESTAMPTZ(3);
	/* time and size bounds (bounds.c) */
	dw_check_sample_time(at);
	if (!PG_ARGISNULL(4))
		dw_check_text("vantage", PG_GETARG_TEXT_PP(4));
	if (!PG_ARGISNULL(5))
		dw_check_text("detail", PG_GETARG_TEXT_PP(5));
	if (latency && dw_interval_usecs(latency) < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("latency must not be negative"),
				 errhint("Pass how long the call took, or NULL.")));
	if (latency && dw_interval_usecs(latency) > USECS_PER_DAY)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("latency must be at most 1 day"),
				 errhint("Pass how long the call took, or NULL.")));

	if ((rc = SPI_connect()) != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed: %s", SPI_result_code_string(rc));

	dw_load_dependency(name, &dep);
	dep.reported = true;
	last_at = dw_lock_machine(&dep, &m);
	/* under the machine's lock: alter_dependency takes it to move tracked_since later */
	dw_check_tracked(dep.id, "at", at);
	if (at < last_at && dep.probe != DW_PROBE_PASSIVE)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("sample for dependency \"%s\" at %s is older than its latest sample at %s",
						name, pstrdup(timestamptz_to_str(at)),
						pstrdup(timestamptz_to_str(last_at))),
				 errdetail("Outages are decided from samples in time order."),
				 errhint("Report samples in time order; derive_outages() replays a history.")));

	/* a passive rule may have changed since the last call, as calls left */
	if (dep.probe == DW_PROBE_PASSIVE && at >= last_at)
		dw_passive_expiries(&dep, &m, last_at, at);
	dw_store_sample(&dep,
					PG_ARGISNULL(4) ? dw_vantage() : text_to_cstring(PG_GETARG_TEXT_PP(4)),
					at, ok, latency,
					PG_ARGISNULL(5) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(5)));

	/* a late call of a passive dependency is counted by later windows */
	if (at >= last_at)
	{
		DwSampleClass class;

		if (dep.probe == DW_PROBE_PASSIVE)
			class = dw_passive_verdict(&dep, at);
		else
			class = dw_classify(&dep, ok, latency != NULL,
								latency ? dw_interval_usecs(latency) : 0);
		dw_advance(&dep, &m, at, class);
		dw_save_machine(&dep, &m, at);
	}

	SPI_finish();
	PG_RETURN_VOID();
}

/* One derived window. */
typedef struct DerivedWindow
{
	DwOutageKind kind;
	TimestampTz started_at;
	TimestampTz detected_at;
	TimestampTz ended_at;
	bool		ongoing;		/* still open at the last sample */
	bool		dropped;		/* closed at the instant it opened */
	int64		bad_samples;
} DerivedWindow;

/* derive_outages' replay: the machine and the windows it has found */
typedef struct Derivation
{
	DwMachine	m;
	DerivedWindow *found;
	int			nfound;
	int			capfound;
	int			current[DW_NUM_KINDS];	/* index of the open window, or -1 */
} Derivation;

/* The calls of a passive dependency inside the trailing window. */
typedef struct CallWindow
{
	TimestampTz *at;
	DwSampleClass *class;
	int			head;
	int			tail;
	int			cap;
	int64		bad;
	int64		slow;
} CallWindow;

/* feed steps the machine and records the windows it opens and closes */
static void
feed(Derivation *d, TimestampTz at, DwSampleClass class)
{
	DwEvent		events[DW_NUM_KINDS];
	int			n = dw_machine_step(&d->m, at, class, events);

	for (int e = 0; e < n; e++)
	{
		DwEvent    *ev = &events[e];
		DerivedWindow *w;

		if (ev->opened)
		{
			if (d->nfound == d->capfound)
			{
				d->capfound *= 2;
				d->found = repalloc(d->found, sizeof(DerivedWindow) * d->capfound);
			}
			w = &d->found[d->nfound];
			memset(w, 0, sizeof(*w));
			w->kind = ev->kind;
			w->started_at = ev->started_at;
			w->detected_at = ev->detected_at;
			w->ongoing = true;
			d->current[ev->kind] = d->nfound++;
			continue;
		}
		w = &d->found[d->current[ev->kind]];
		d->current[ev->kind] = -1;
		w->ongoing = false;
		w->ended_at = ev->ended_at;
		w->bad_samples = ev->bad_samples;
		/* it lasted no time (samples with equal times): it never was */
		w->dropped = w->started_at == ev->ended_at;
	}
}

/*
 * window_expire removes from the window the calls that left it by "at",
 * one instant at a time: returns that instant, or DT_NOBEGIN when none is
 * left to go.
 */
static TimestampTz
window_expire(CallWindow *w, const DwDependency *dep, TimestampTz at)
{
	TimestampTz first;

	if (w->head == w->tail || w->at[w->head] + dep->window > at)
		return DT_NOBEGIN;
	first = w->at[w->head];
	while (w->head < w->tail && w->at[w->head] == first)
	{
		w->bad -= w->class[w->head] == DW_SAMPLE_BAD;
		w->slow -= w->class[w->head] == DW_SAMPLE_SLOW;
		w->head++;
	}
	return first + dep->window;
}

/*
 * window_verdict adds one call at "at" to the window (whose expired calls
 * are gone already) and applies the error-rate rule.
 */
static DwSampleClass
window_verdict(CallWindow *w, const DwDependency *dep, TimestampTz at,
			   DwSampleClass class)
{
	if (w->tail == w->cap)
	{
		/* slide the live part to the front, or grow */
		if (w->head > w->cap / 2)
		{
			memmove(w->at, w->at + w->head, sizeof(TimestampTz) * (w->tail - w->head));
			memmove(w->class, w->class + w->head, sizeof(DwSampleClass) * (w->tail - w->head));
			w->tail -= w->head;
			w->head = 0;
		}
		else
		{
			w->cap *= 2;
			w->at = repalloc(w->at, sizeof(TimestampTz) * w->cap);
			w->class = repalloc(w->class, sizeof(DwSampleClass) * w->cap);
		}
	}
	w->at[w->tail] = at;
	w->class[w->tail++] = class;
	w->bad += class == DW_SAMPLE_BAD;
	w->slow += class == DW_SAMPLE_SLOW;
	return dw_rate_verdict(&dep->rate, w->tail - w->head, w->bad, w->slow);
}

static int
window_cmp(const void *a, const void *b)
{
	const DerivedWindow *x = a;
	const DerivedWindow *y = b;

	if (x->started_at != y->started_at)
		return x->started_at < y->started_at ? -1 : 1;
	return (int) x->kind - (int) y->kind;
}

/*
 * The replay is fed straight from the executor's slots, sample by sample:
 * no copy of the (up to tens of millions of) samples is made.
 */
typedef struct Replay
{
	DestReceiver pub;
	DwDependency *dep;
	Derivation *d;
	CallWindow *w;
	TimestampTz first;			/* the first sample's time, DT_NOBEGIN: none */
	TimestampTz last;			/* the last sample's time, DT_NOBEGIN: none */
} Replay;

/* replay_sample feeds one sample (at, ok, latency) to the machine */
static bool
replay_sample(TupleTableSlot *slot, DestReceiver *self)
{
	Replay	   *r = (Replay *) self;
	DwDependency *dep = r->dep;
	TimestampTz at;
	bool		timed;
	DwSampleClass class;

	slot_getsomeattrs(slot, 3);
	at = DatumGetTimestampTz(slot->tts_values[0]);
	timed = !slot->tts_isnull[2];
	class = dw_classify(dep, DatumGetBool(slot->tts_values[1]), timed,
						timed ? dw_interval_usecs(DatumGetIntervalP(slot->tts_values[2])) : 0);
	if (dep->probe == DW_PROBE_PASSIVE)
	{
		/* the instants calls left the window, then this call */
		CallWindow *w = r->w;
		TimestampTz gone;

		while ((gone = window_expire(w, dep, at)) != DT_NOBEGIN)
			feed(r->d, gone, dw_rate_verdict(&dep->rate, w->tail - w->head, w->bad, w->slow));
		class = window_verdict(w, dep, at, class);
	}
	feed(r->d, at, class);
	if (r->first == DT_NOBEGIN)
		r->first = at;
	r->last = at;
	return true;
}

static void
replay_startup(DestReceiver *self, int operation, TupleDesc typeinfo)
{
}

static void
replay_end(DestReceiver *self)
{
}

/*
 * read_samples sends the samples of dependency $1 in period $2 (all when
 * NULL), in time order, to the replay.
 */
static void
read_samples(ParamListInfo params, Oid *types, DestReceiver *replay)
{
	SPIExecuteOptions options = {0};
	SPIPlanPtr	plan;
	int			rc;

	plan = SPI_prepare("SELECT at, ok, latency FROM depwatch.sample"
					   " WHERE dependency_id = $1"
					   "   AND ($2 IS NULL OR (at >= coalesce(lower($2), '-infinity')"
					   "        AND at <= coalesce(upper($2), 'infinity') AND $2 @> at))"
					   " ORDER BY at", 2, types);
	if (plan == NULL)
		elog(ERROR, "SPI_prepare failed: %s", SPI_result_code_string(SPI_result));
	options.params = params;
	options.read_only = true;
	options.dest = replay;
	if ((rc = SPI_execute_plan_extended(plan, &options)) < 0)
		elog(ERROR, "reading the samples failed: %s", SPI_result_code_string(rc));
	SPI_freeplan(plan);
}

/*
 * start_replay sets up a fresh machine for dep, with no window found yet,
 * and an empty call window.  Called inside SPI; the windows found outlive
 * it (derive_outages returns them after SPI_finish), so they are allocated
 * in the caller's context.
 */
static void
start_replay(const DwDependency *dep, Derivation *d, CallWindow *w)
{
	memset(d, 0, sizeof(*d));
	d->capfound = 16;
	d->found = SPI_palloc(sizeof(DerivedWindow) * d->capfound);
	d->current[DW_KIND_DOWN] = d->current[DW_KIND_DEGRADED] = -1;
	dw_machine_init(&d->m, dep->fail_after, dep->recover_after, dw_has_degraded(dep));
	memset(w, 0, sizeof(*w));
	w->cap = 1024;
	w->at = palloc(sizeof(TimestampTz) * w->cap);
	w->class = palloc(sizeof(DwSampleClass) * w->cap);
}

/*
 * depwatch.derive_outages(dependency text, period tstzrange,
 *						   fail_after int, recover_after int)
 *	 RETURNS TABLE(kind text, started_at timestamptz, ended_at timestamptz,
 *				   bad_samples bigint)
 *
 * Replays the dependency's stored samples in the period (all of them when
 * NULL) through a fresh machine, optionally with other thresholds.  A
 * passive dependency's rule is applied at each call and at each instant a
 * call leaves the trailing window, as report_sample does; its bad_samples
 * counts those verdicts that broke the rule.
 */
Datum
dw_derive_outages(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	char	   *name;
	DwDependency dep;
	Derivation	d;
	CallWindow	w;
	Replay		replay = {{replay_sample, replay_startup, replay_end, replay_end, DestNone}, &dep, &d, &w, DT_NOBEGIN, DT_NOBEGIN};
	Oid			types[2] = {INT8OID, ANYRANGEOID};
	ParamListInfo params = makeParamList(2);
	int			rc;

	InitMaterializedSRF(fcinfo, 0);
	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("dependency must not be NULL")));
	for (int a = 2; a <= 3; a++)
		if (!PG_ARGISNULL(a) && PG_GETARG_INT32(a) < 1)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("%s must be at least 1, not %d",
							a == 2 ? "fail_after" : "recover_after",
							PG_GETARG_INT32(a)),
					 errhint("Pass NULL to use the dependency's own setting.")));
	name = text_to_cstring(PG_GETARG_TEXT_PP(0));

	if ((rc = SPI_connect()) != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed: %s", SPI_result_code_string(rc));
	dw_load_dependency(name, &dep);
	/* a passive dependency's thresholds are its error-rate rule */
	if (dep.probe != DW_PROBE_PASSIVE)
	{
		if (!PG_ARGISNULL(2))
			dep.fail_after = PG_GETARG_INT32(2);
		if (!PG_ARGISNULL(3))
			dep.recover_after = PG_GETARG_INT32(3);
	}
	start_replay(&dep, &d, &w);

	types[1] = get_fn_expr_argtype(fcinfo->flinfo, 1);
	params->params[0] = (ParamExternData) {Int64GetDatum(dep.id), false, PARAM_FLAG_CONST, types[0]};
	params->params[1] = (ParamExternData) {PG_ARGISNULL(1) ? (Datum) 0 : PG_GETARG_DATUM(1),
										   PG_ARGISNULL(1), PARAM_FLAG_CONST, types[1]};
	params->numParams = 2;

	read_samples(params, types, &replay.pub);
	for (int k = 0; k < DW_NUM_KINDS; k++)
		if (d.current[k] >= 0)
			d.found[d.current[k]].bad_samples = d.m.track[k].bad_samples;
	SPI_finish();

	qsort(d.found, d.nfound, sizeof(DerivedWindow), window_cmp);
	for (int i = 0; i < d.nfound; i++)
	{
		Datum		values[4];
		bool		isnull[4] = {false, false, d.found[i].ongoing, false};

		if (d.found[i].dropped)
			continue;
		values[0] = CStringGetTextDatum(dw_kind_name(d.found[i].kind));
		values[1] = TimestampTzGetDatum(d.found[i].started_at);
		values[2] = TimestampTzGetDatum(d.found[i].ended_at);
		values[3] = Int64GetDatum(d.found[i].bad_samples);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, isnull);
	}
	return (Datum) 0;
}

/* run_spi runs one statement of the rare repair below, unprepared */
static void
run_spi(const char *sql, int nargs, Oid *types, Datum *values, const char *nulls)
{
	int			rc = SPI_execute_with_args(sql, nargs, types, values, nulls, false, 0);

	if (rc < 0)
		elog(ERROR, "SPI_execute_with_args failed for \"%s\": %s", sql,
			 SPI_result_code_string(rc));
}

/*
 * depwatch._rederive_outages(dependency text, since timestamptz) RETURNS int
 *
 * discard_samples' second half, once the samples are gone: replays the
 * dependency's remaining samples through a fresh machine (as derive_outages
 * does), replaces its machine-made outages (probe, reported, passive) that
 * end after "since" or are ongoing by the replay's, and stores the
 * replay's machine as the dependency's state, so that later samples carry
 * on from what the samples say.  Outages recorded by hand or imported are
 * kept: a derived window that would overlap one is left out, its start
 * moved past one that ended within it, as report_sample does; so is an
 * outage that began before the oldest sample kept.  Returns how many
 * outages it wrote.
 *
 * The whole history is replayed, not only from "since": the machine's
 * streaks at "since" depend on the samples before it.  This is a repair,
 * run rarely, and the replay streams the samples without copying them.
 */
Datum
dw_rederive_outages(PG_FUNCTION_ARGS)
{
	char	   *name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	TimestampTz since = PG_GETARG_TIMESTAMPTZ(1);
	DwDependency dep;
	DwMachine	m;
	Derivation	d;
	CallWindow	w;
	Replay		replay = {{replay_sample, replay_startup, replay_end, replay_end, DestNone}, &dep, &d, &w, DT_NOBEGIN, DT_NOBEGIN};
	Oid			types[2] = {INT8OID, TSTZRANGEOID};
	ParamListInfo params = makeParamList(2);
	int32		written = 0;
	int			rc;

	if ((rc = SPI_connect()) != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed: %s", SPI_result_code_string(rc));
	dw_load_dependency(name, &dep);
	/* a dependency with no probe of its own has its samples reported */
	dep.reported = dep.probe == DW_PROBE_NONE;
	/* wait for report_sample and the worker, and keep them out until commit */
	(void) dw_lock_machine(&dep, &m);
	start_replay(&dep, &d, &w);

	params->params[0] = (ParamExternData) {Int64GetDatum(dep.id), false, PARAM_FLAG_CONST, types[0]};
	params->params[1] = (ParamExternData) {(Datum) 0, true, PARAM_FLAG_CONST, types[1]};
	params->numParams = 2;
	read_samples(params, types, &replay.pub);

	/*
	 * An outage that began before the oldest sample kept (the others went
	 * with their partitions) cannot be replayed: it stays as it is, and a
	 * derived window overlapping it is left out below.
	 */
	{
		Oid			ftypes[3] = {INT8OID, TIMESTAMPTZOID, TIMESTAMPTZOID};
		Datum		fvalues[3] = {Int64GetDatum(dep.id), TimestampTzGetDatum(since),
		TimestampTzGetDatum(replay.first)};

		run_spi("DELETE FROM depwatch.outage"
				" WHERE dependency_id = $1 AND source IN ('probe', 'reported', 'passive')"
				"   AND (upper_inf(during) OR upper(during) > $2)"
				"   AND lower(during) >= $3",
				3, ftypes, fvalues, NULL);
	}
	for (int i = 0; i < d.nfound; i++)
	{
		DerivedWindow *f = &d.found[i];
		Oid			wtypes[6] = {INT8OID, TEXTOID, TIMESTAMPTZOID, TIMESTAMPTZOID,
		TIMESTAMPTZOID, TEXTOID};
		Datum		wvalues[6];
		char		wnulls[6] = "      ";

		if (f->dropped || (!f->ongoing && f->ended_at <= since))
			continue;
		wvalues[0] = Int64GetDatum(dep.id);
		wvalues[1] = CStringGetTextDatum(dw_kind_name(f->kind));
		wvalues[2] = TimestampTzGetDatum(f->started_at);
		wvalues[3] = TimestampTzGetDatum(f->ended_at);
		if (f->ongoing)
			wnulls[3] = 'n';
		wvalues[4] = TimestampTzGetDatum(f->detected_at);
		wvalues[5] = CStringGetTextDatum(dw_outage_source(&dep));
		run_spi("INSERT INTO depwatch.outage (dependency_id, kind, during, detected_at, source)"
				" SELECT $1, $2, r, $5, $6"
				"   FROM (SELECT CASE WHEN greatest($3, max(upper(o.during))) < coalesce($4, 'infinity')"
				"                THEN tstzrange(greatest($3, max(upper(o.during))), $4)"
				"                ELSE 'empty' END AS r"
				"           FROM depwatch.outage o"
				"          WHERE o.dependency_id = $1 AND o.kind = $2"
				"            AND o.during && tstzrange($3, $4)"
				"            AND lower(o.during) <= $3) x"
				"  WHERE NOT isempty(r)"
				"    AND NOT EXISTS (SELECT FROM depwatch.outage o"
				"                     WHERE o.dependency_id = $1 AND o.kind = $2"
				"                       AND o.during && x.r)",
				6, wtypes, wvalues, wnulls);
		written += SPI_processed;
	}

	/* the machine as the samples leave it; a machine with none starts afresh */
	dw_save_machine(&dep, &d.m, replay.last);
	if (replay.last == DT_NOBEGIN)
	{
		Oid			ntypes[1] = {INT8OID};
		Datum		nvalues[1] = {Int64GetDatum(dep.id)};

		run_spi("UPDATE depwatch.probe_state SET last_at = NULL WHERE dependency_id = $1",
				1, ntypes, nvalues, NULL);
	}
	SPI_finish();
	PG_RETURN_INT32(written);
}
