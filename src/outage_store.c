/*-------------------------------------------------------------------------
 *
 * outage_store.c
 *	  Load a dependency's rules and saved state machine, and write the
 *	  outages the machine opens and closes.
 *
 * The machine's streak counters are kept in depwatch.probe_state, but
 * whether an outage is open is always read from depwatch.outage itself: an
 * outage ended by hand (end_outage) or resumed after a crash is never
 * duplicated.  Plans are prepared once per backend.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

#include "depwatch.h"
#include "outage_store.h"

static void dw_apply_events(const DwDependency *dep, const DwEvent *events,
							int nevents);

/*
 * run_plan prepares sql once per backend (keeping the plan in *plan) and
 * executes it with the given arguments.  Never read-only: each query must
 * see what the previous sample of the same statement wrote.  Returns the
 * SPI result code.
 */
static int
run_plan(SPIPlanPtr *plan, const char *sql, int nargs, Oid *types,
		 Datum *values, const char *nulls)
{
	int			rc;

	if (*plan == NULL)
	{
		SPIPlanPtr	p = SPI_prepare(sql, nargs, types);

		if (p == NULL)
			elog(ERROR, "SPI_prepare failed for \"%s\": %s", sql,
				 SPI_result_code_string(SPI_result));
		if (SPI_keepplan(p) != 0)
			elog(ERROR, "SPI_keepplan failed");
		*plan = p;
	}
	rc = SPI_execute_plan(*plan, values, nulls, false, 0);
	if (rc < 0)
		elog(ERROR, "SPI_execute_plan failed for \"%s\": %s", sql,
			 SPI_result_code_string(rc));
	return rc;
}

static Datum
get_col(int col, bool *isnull)
{
	return SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, col,
						 isnull);
}

/*
 * dw_dependency_from_tuple fills dep from the columns of
 * depwatch._machine_rules, which start at column "first" of tup.
 */
void
dw_dependency_from_tuple(HeapTuple tup, TupleDesc desc, int first, DwDependency *dep)
{
	bool		isnull;
	Datum		d;

	dep->id = DatumGetInt64(SPI_getbinval(tup, desc, first, &isnull));
	dep->name = SPI_getvalue(tup, desc, first + 1);
	dep->probe = dw_probe_from_name(SPI_getvalue(tup, desc, first + 2));
	dep->fail_after = DatumGetInt32(SPI_getbinval(tup, desc, first + 3, &isnull));
	dep->recover_after = DatumGetInt32(SPI_getbinval(tup, desc, first + 4, &isnull));
	d = SPI_getbinval(tup, desc, first + 5, &isnull);
	dep->degraded_after = isnull ? -1 : dw_interval_usecs(DatumGetIntervalP(d));
	dep->rate.error_rate = DatumGetFloat8(SPI_getbinval(tup, desc, first + 6, &isnull));
	dep->rate.min_calls = DatumGetInt64(SPI_getbinval(tup, desc, first + 7, &isnull));
	dep->window = dw_interval_usecs(DatumGetIntervalP(SPI_getbinval(tup, desc, first + 8, &isnull)));

	/*
	 * A passive dependency is down exactly while its error-rate rule holds:
	 * the machine is fed one verdict per call and acts on the first.
	 */
	if (dep->probe == DW_PROBE_PASSIVE)
	{
		dep->fail_after = 1;
		dep->recover_after = 1;
	}
}

/*
 * dw_load_dependency reads the rules of dependency "name", or raises the
 * error for an unknown dependency.
 */
void
dw_load_dependency(const char *name, DwDependency *dep)
{
	static SPIPlanPtr plan = NULL;
	Oid			types[1] = {TEXTOID};
	Datum		values[1];

	values[0] = CStringGetTextDatum(name);
	run_plan(&plan, "SELECT * FROM depwatch._machine_rules WHERE name = $1",
			 1, types, values, NULL);
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("dependency \"%s\" does not exist", name),
				 errhint("See depwatch.dependencies for the dependencies there are.")));
	dw_dependency_from_tuple(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, dep);
}

/*
 * dw_classify says whether one call or probe was good, slow or bad.
 */
DwSampleClass
dw_classify(const DwDependency *dep, bool ok, bool has_latency, int64 latency)
{
	if (!ok)
		return DW_SAMPLE_BAD;
	if (has_latency && dep->degraded_after >= 0 && latency > dep->degraded_after)
		return DW_SAMPLE_SLOW;
	return DW_SAMPLE_GOOD;
}

/*
 * dw_lock_machine loads dep's machine, locking its state row until the end
 * of the transaction so that concurrent reports for one dependency take
 * turns.  Returns the time of the last sample fed to it (DT_NOBEGIN if
 * none).
 */
TimestampTz
dw_lock_machine(const DwDependency *dep, DwMachine *m)
{
	static SPIPlanPtr lock_plan = NULL;
	static SPIPlanPtr open_plan = NULL;
	Oid			types[1] = {INT8OID};
	Datum		values[1];
	bool		isnull;
	bool		open_now[DW_NUM_KINDS] = {false, false};
	TimestampTz last_at;

	values[0] = Int64GetDatum(dep->id);
	/* DO UPDATE (not DO NOTHING) so that the row is locked and returned */
	run_plan(&lock_plan,
			 "INSERT INTO depwatch.probe_state AS s (dependency_id) VALUES ($1)"
			 " ON CONFLICT (dependency_id) DO UPDATE SET dependency_id = s.dependency_id"
			 " RETURNING coalesce(last_at, '-infinity'), down_open, down_streak,"
			 "   coalesce(down_since, '-infinity'), degraded_open, degraded_streak,"
			 "   coalesce(degraded_since, '-infinity')",
			 1, types, values, NULL);

	dw_machine_init(m, dep->fail_after, dep->recover_after);
	last_at = DatumGetTimestampTz(get_col(1, &isnull));
	for (int k = 0; k < DW_NUM_KINDS; k++)
	{
		m->track[k].open = DatumGetBool(get_col(2 + 3 * k, &isnull));
		m->track[k].streak = DatumGetInt32(get_col(3 + 3 * k, &isnull));
		m->track[k].streak_since = DatumGetTimestampTz(get_col(4 + 3 * k, &isnull));
	}

	run_plan(&open_plan,
			 "SELECT kind FROM depwatch.outage"
			 " WHERE dependency_id = $1 AND upper_inf(during)",
			 1, types, values, NULL);
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		char	   *kind = SPI_getvalue(SPI_tuptable->vals[i],
										SPI_tuptable->tupdesc, 1);

		open_now[strcmp(kind, "down") == 0 ? DW_KIND_DOWN : DW_KIND_DEGRADED] = true;
	}

	/*
	 * An outage opened or ended by hand since the last sample: the saved
	 * streak counted the other phase, so start counting afresh.
	 */
	for (int k = 0; k < DW_NUM_KINDS; k++)
		if (m->track[k].open != open_now[k])
		{
			m->track[k].open = open_now[k];
			m->track[k].streak = 0;
		}
	return last_at;
}

/*
 * dw_save_machine stores the streak counters for the next sample.
 */
void
dw_save_machine(const DwDependency *dep, const DwMachine *m,
				TimestampTz last_at)
{
	static SPIPlanPtr plan = NULL;
	Oid			types[8] = {INT8OID, TIMESTAMPTZOID, BOOLOID, INT4OID,
	TIMESTAMPTZOID, BOOLOID, INT4OID, TIMESTAMPTZOID};
	Datum		values[8];
	char		nulls[8] = "        ";

	values[0] = Int64GetDatum(dep->id);
	values[1] = TimestampTzGetDatum(last_at);
	for (int k = 0; k < DW_NUM_KINDS; k++)
	{
		const DwTrack *t = &m->track[k];

		values[2 + 3 * k] = BoolGetDatum(t->open);
		values[3 + 3 * k] = Int32GetDatum(t->streak);
		values[4 + 3 * k] = TimestampTzGetDatum(t->streak_since);
		if (t->streak == 0)
			nulls[4 + 3 * k] = 'n';
	}
	run_plan(&plan,
			 "UPDATE depwatch.probe_state SET last_at = $2,"
			 "  down_open = $3, down_streak = $4, down_since = $5,"
			 "  degraded_open = $6, degraded_streak = $7, degraded_since = $8"
			 " WHERE dependency_id = $1",
			 8, types, values, nulls);
}

/*
 * dw_apply_events writes the outages that one step opened or closed.
 *
 * An opening never overlaps an outage recorded by hand: it starts no
 * earlier than the end of any such outage.  A closing ends the ongoing
 * outage of that kind, unless that outage (recorded by hand) started after
 * the recovery did; then it stays open for end_outage().  An outage that
 * closes at the instant it opened is removed: it lasted no time.
 */
static void
dw_apply_events(const DwDependency *dep, const DwEvent *events, int nevents)
{
	static SPIPlanPtr open_plan = NULL;
	static SPIPlanPtr close_plan = NULL;
	static SPIPlanPtr empty_plan = NULL;

	for (int i = 0; i < nevents; i++)
	{
		const DwEvent *ev = &events[i];
		Datum		values[5];

		values[0] = Int64GetDatum(dep->id);
		values[1] = CStringGetTextDatum(dw_kind_name(ev->kind));
		if (ev->opened)
		{
			Oid			types[5] = {INT8OID, TEXTOID, TIMESTAMPTZOID,
			TIMESTAMPTZOID, TEXTOID};

			values[2] = TimestampTzGetDatum(ev->started_at);
			values[3] = TimestampTzGetDatum(ev->detected_at);
			values[4] = CStringGetTextDatum(dep->probe == DW_PROBE_PASSIVE ?
											"passive" : "probe");
			run_plan(&open_plan,
					 "INSERT INTO depwatch.outage"
					 "  (dependency_id, kind, during, detected_at, source)"
					 " SELECT $1, $2, tstzrange(greatest($3, max(upper(o.during))), NULL), $4, $5"
					 "   FROM depwatch.outage o"
					 "  WHERE o.dependency_id = $1 AND o.kind = $2"
					 "    AND o.during && tstzrange($3, NULL)",
					 5, types, values, NULL);
		}
		else
		{
			Oid			types[3] = {INT8OID, TEXTOID, TIMESTAMPTZOID};

			values[2] = TimestampTzGetDatum(ev->ended_at);
			run_plan(&close_plan,
					 "UPDATE depwatch.outage"
					 "   SET during = tstzrange(lower(during), $3)"
					 " WHERE dependency_id = $1 AND kind = $2"
					 "   AND upper_inf(during) AND lower(during) < $3",
					 3, types, values, NULL);
			/*
			 * Opened and closed at the same instant (samples with equal
			 * times): the outage lasted no time, so it never was.
			 */
			if (SPI_processed == 0)
				run_plan(&empty_plan,
						 "DELETE FROM depwatch.outage"
						 " WHERE dependency_id = $1 AND kind = $2"
						 "   AND upper_inf(during) AND lower(during) = $3"
						 "   AND source IN ('probe', 'passive')",
						 3, types, values, NULL);
		}
	}
}

/*
 * dw_store_sample inserts one sample row.  latency and detail may be NULL.
 */
void
dw_store_sample(const DwDependency *dep, const char *vantage, TimestampTz at,
				bool ok, const Interval *latency, const char *detail)
{
	static SPIPlanPtr plan = NULL;
	Oid			types[6] = {INT8OID, TEXTOID, TIMESTAMPTZOID, BOOLOID,
	INTERVALOID, TEXTOID};
	Datum		values[6];
	char		nulls[6] = "      ";

	values[0] = Int64GetDatum(dep->id);
	values[1] = CStringGetTextDatum(vantage);
	values[2] = TimestampTzGetDatum(at);
	values[3] = BoolGetDatum(ok);
	values[4] = latency ? IntervalPGetDatum(latency) : (Datum) 0;
	nulls[4] = latency ? ' ' : 'n';
	values[5] = detail ? CStringGetTextDatum(detail) : (Datum) 0;
	nulls[5] = detail ? ' ' : 'n';
	run_plan(&plan,
			 "INSERT INTO depwatch.sample (dependency_id, vantage, at, ok, latency, detail)"
			 " VALUES ($1, $2, $3, $4, $5, $6)",
			 6, types, values, nulls);
}

/*
 * dw_advance feeds one sample's class into the machine and writes the
 * outages it opens or closes.
 */
void
dw_advance(const DwDependency *dep, DwMachine *m, TimestampTz at,
		   DwSampleClass class)
{
	DwEvent		events[DW_NUM_KINDS];
	int			n = dw_machine_step(m, at, class, events);

	dw_apply_events(dep, events, n);
}

/*
 * dw_passive_expiries advances a passive dependency's machine through the
 * instants in (since, until] at which calls leave the trailing window: the
 * error-rate rule can stop (or start) holding then, between two calls.
 * Calls of one instant leave together.
 */
void
dw_passive_expiries(const DwDependency *dep, DwMachine *m, TimestampTz since,
					TimestampTz until)
{
	static SPIPlanPtr plan = NULL;
	Oid			types[4] = {INT8OID, TIMESTAMPTZOID, INTERVALOID, TIMESTAMPTZOID};
	Datum		values[4];
	Interval   *window = palloc0(sizeof(Interval));
	TimestampTz *expiries;
	uint64		n;

	if (since == DT_NOBEGIN || since >= until)
		return;
	window->time = dep->window;
	values[0] = Int64GetDatum(dep->id);
	values[1] = TimestampTzGetDatum(since);
	values[2] = IntervalPGetDatum(window);
	values[3] = TimestampTzGetDatum(until);
	run_plan(&plan,
			 "SELECT DISTINCT at + $3 FROM depwatch.sample"
			 " WHERE dependency_id = $1 AND at > $2 - $3 AND at <= $4 - $3"
			 " ORDER BY 1",
			 4, types, values, NULL);

	/* copy them out: the verdicts below run queries of their own */
	n = SPI_processed;
	expiries = palloc(sizeof(TimestampTz) * Max(n, 1));
	for (uint64 i = 0; i < n; i++)
	{
		bool		isnull;

		expiries[i] = DatumGetTimestampTz(SPI_getbinval(SPI_tuptable->vals[i],
														SPI_tuptable->tupdesc, 1, &isnull));
	}
	for (uint64 i = 0; i < n; i++)
		dw_advance(dep, m, expiries[i], dw_passive_verdict(dep, expiries[i]));
	pfree(expiries);
}

/*
 * dw_passive_verdict applies the error-rate rule to dep's calls in the
 * window (at - window, at].
 */
DwSampleClass
dw_passive_verdict(const DwDependency *dep, TimestampTz at)
{
	static SPIPlanPtr plan = NULL;
	Oid			types[4] = {INT8OID, TIMESTAMPTZOID, INTERVALOID, INTERVALOID};
	Datum		values[4];
	char		nulls[4] = "    ";
	Interval   *window = palloc0(sizeof(Interval));
	Interval   *slow = palloc0(sizeof(Interval));
	bool		isnull;

	window->time = dep->window;
	slow->time = dep->degraded_after;
	values[0] = Int64GetDatum(dep->id);
	values[1] = TimestampTzGetDatum(at);
	values[2] = IntervalPGetDatum(window);
	values[3] = IntervalPGetDatum(slow);
	if (dep->degraded_after < 0)
		nulls[3] = 'n';
	run_plan(&plan,
			 "SELECT count(*), count(*) FILTER (WHERE NOT ok),"
			 "       count(*) FILTER (WHERE ok AND latency > $4)"
			 "  FROM depwatch.sample"
			 " WHERE dependency_id = $1 AND at > $2 - $3 AND at <= $2",
			 4, types, values, nulls);
	return dw_rate_verdict(&dep->rate,
						   DatumGetInt64(get_col(1, &isnull)),
						   DatumGetInt64(get_col(2, &isnull)),
						   DatumGetInt64(get_col(3, &isnull)));
}
