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
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
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

/* cell: column col of row "row" of the last result, where never NULL */
static Datum
cell(uint64 row, int col)
{
	bool		isnull;

	return SPI_getbinval(SPI_tuptable->vals[row], SPI_tuptable->tupdesc, col, &isnull);
}

/*
 * dw_column finds the column called "name" in a query's result, so that
 * nothing is read by position: a view that gains a column, or a catalog
 * whose view lists its columns in another order, shifts no read.  Returns
 * 0 for a missing column that is not required (one a catalog not yet
 * updated lacks; the caller reads its default).  A name found twice is
 * refused, never resolved by position.  "what" names the relation in the
 * messages.
 */
int
dw_column(TupleDesc desc, const char *name, bool required, const char *what)
{
	int			found = 0;

	for (int i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);

		if (att->attisdropped || strcmp(NameStr(att->attname), name) != 0)
			continue;
		/* a view's names are unique: only a query of ours can repeat one */
		if (found != 0)
			elog(ERROR, "column \"%s\" appears more than once in %s", name, what);
		found = i + 1;
	}
	if (found == 0 && required)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg("column \"%s\" is missing from %s", name, what),
				 errdetail("depwatch reads the columns of %s by name.", what),
				 errhint("Update the extension with ALTER EXTENSION depwatch UPDATE; if it is up to date, reinstall it.")));
	return found;
}

/*
 * dw_rule_columns finds the columns of depwatch._machine_rules in a result
 * that includes them: the one place that maps the view's columns.  Call it
 * once per query, then dw_dependency_from_tuple for each row.  Every column
 * the view has had since 0.1 is required; degraded_error_rate came in 0.3,
 * and a catalog still at 0.1 or 0.2 has none (no degraded error rate then).
 */
void
dw_rule_columns(TupleDesc desc, DwRuleColumns *cols)
{
	const char *what = psprintf("%s._machine_rules", dw_internal_schema());

	cols->id = dw_column(desc, "id", true, what);
	cols->name = dw_column(desc, "name", true, what);
	cols->probe = dw_column(desc, "probe", true, what);
	cols->fail_after = dw_column(desc, "fail_after", true, what);
	cols->recover_after = dw_column(desc, "recover_after", true, what);
	cols->degraded_after = dw_column(desc, "degraded_after", true, what);
	cols->error_rate = dw_column(desc, "error_rate", true, what);
	cols->min_calls = dw_column(desc, "min_calls", true, what);
	cols->window = dw_column(desc, "window", true, what);
	cols->degraded_error_rate = dw_column(desc, "degraded_error_rate", false, what);
}

/*
 * dw_dependency_from_tuple fills dep from a row of depwatch._machine_rules,
 * whose columns dw_rule_columns found in desc.
 */
void
dw_dependency_from_tuple(HeapTuple tup, TupleDesc desc, const DwRuleColumns *cols,
						 DwDependency *dep)
{
	bool		isnull;
	Datum		d;

	dep->id = DatumGetInt64(SPI_getbinval(tup, desc, cols->id, &isnull));
	dep->name = SPI_getvalue(tup, desc, cols->name);
	dep->probe = dw_probe_from_name(SPI_getvalue(tup, desc, cols->probe));
	dep->fail_after = DatumGetInt32(SPI_getbinval(tup, desc, cols->fail_after, &isnull));
	dep->recover_after = DatumGetInt32(SPI_getbinval(tup, desc, cols->recover_after, &isnull));
	d = SPI_getbinval(tup, desc, cols->degraded_after, &isnull);
	dep->degraded_after = isnull ? -1 : dw_interval_usecs(DatumGetIntervalP(d));
	dep->rate.error_rate = DatumGetFloat8(SPI_getbinval(tup, desc, cols->error_rate, &isnull));
	dep->rate.min_calls = DatumGetInt64(SPI_getbinval(tup, desc, cols->min_calls, &isnull));
	dep->window = dw_interval_usecs(DatumGetIntervalP(SPI_getbinval(tup, desc, cols->window, &isnull)));
	dep->rate.degraded_error_rate = 0;
	if (cols->degraded_error_rate > 0)
	{
		d = SPI_getbinval(tup, desc, cols->degraded_error_rate, &isnull);
		if (!isnull)
			dep->rate.degraded_error_rate = DatumGetFloat8(d);
	}
	dep->reported = false;

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
 * dw_has_degraded is the one place that decides whether a dependency has a
 * degraded level (doc/semantics.md, "Degraded level"): it has
 * one with degraded_after, or, passive, with degraded_error_rate.  Without
 * it there is no degraded machine and no degraded outage; the worker,
 * report_sample and derive_outages all set up their machines from here.
 */
bool
dw_has_degraded(const DwDependency *dep)
{
	return dep->degraded_after >= 0 ||
		(dep->probe == DW_PROBE_PASSIVE && dep->rate.degraded_error_rate > 0);
}

/*
 * dw_outage_source names where the outages the machine opens for dep come
 * from (doc/semantics.md, "Outage sources"): "passive" for the
 * error-rate rule, "reported" for report_sample's samples of any other
 * dependency, "probe" for the worker's.
 */
const char *
dw_outage_source(const DwDependency *dep)
{
	if (dep->probe == DW_PROBE_PASSIVE)
		return "passive";
	return dep->reported ? "reported" : "probe";
}

/*
 * dw_load_dependency reads the rules of dependency "name", or raises the
 * error for an unknown dependency.
 */
void
dw_load_dependency(const char *name, DwDependency *dep)
{
	static SPIPlanPtr plan = NULL;
	static char plan_schema[NAMEDATALEN];
	const char *schema = dw_internal_schema();
	Oid			types[1] = {TEXTOID};
	Datum		values[1];
	DwRuleColumns cols;

	/*
	 * The view moves to depwatch_internal when this database's catalog is
	 * updated to 0.3, maybe within this session: a plan of the other name
	 * would fail when it is planned again.
	 */
	if (plan != NULL && strcmp(plan_schema, schema) != 0)
	{
		SPI_freeplan(plan);
		plan = NULL;
	}
	strlcpy(plan_schema, schema, sizeof(plan_schema));
	values[0] = CStringGetTextDatum(name);
	run_plan(&plan, psprintf("SELECT * FROM %s._machine_rules WHERE name = $1", schema),
			 1, types, values, NULL);
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("dependency \"%s\" does not exist", name),
				 errhint("See depwatch.dependencies for the dependencies there are.")));
	dw_rule_columns(SPI_tuptable->tupdesc, &cols);
	dw_dependency_from_tuple(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, &cols, dep);
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

/* make_array builds a one-dimensional array of n elements of type elemtype */
static Datum
make_array(Datum *elems, bool *nulls, int n, Oid elemtype)
{
	int16		typlen;
	bool		typbyval;
	char		typalign;
	int			dims[1] = {n};
	int			lbs[1] = {1};

	get_typlenbyvalalign(elemtype, &typlen, &typbyval, &typalign);
	return PointerGetDatum(construct_md_array(elems, nulls, 1, dims, lbs, elemtype,
											  typlen, typbyval, typalign));
}

/* index_of finds id in deps, which are in ascending id order */
static int
index_of(const DwDependency *const *deps, int n, int64 id)
{
	int			lo = 0;
	int			hi = n - 1;

	while (lo <= hi)
	{
		int			mid = lo + (hi - lo) / 2;

		if (deps[mid]->id == id)
			return mid;
		if (deps[mid]->id < id)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	elog(ERROR, "dependency " INT64_FORMAT " came back from nowhere", id);
	return -1;					/* keep the compiler quiet */
}

/*
 * dw_lock_machines loads the machines of n dependencies, locking their
 * state rows until the end of the transaction so that concurrent writers
 * of one dependency take turns.  Pass them in ascending id order (then two
 * writers never wait for each other in a circle).  last_at[i] is the time
 * of the last sample fed to machine i (DT_NOBEGIN if none).
 *
 * With locked == NULL it waits for the rows.  Otherwise (the worker, which
 * must never wait) it skips the dependencies whose rows another
 * transaction holds, or that are gone, and says which it got in locked[].
 */
void
dw_lock_machines(const DwDependency *const *deps, int n, DwMachine *machines,
				 TimestampTz *last_at, bool *locked)
{
	static SPIPlanPtr lock_plan = NULL;
	static SPIPlanPtr available_plan = NULL;
	static SPIPlanPtr create_plan = NULL;
	static SPIPlanPtr skip_plan = NULL;
	static SPIPlanPtr open_plan = NULL;
	Oid			types[1] = {INT8ARRAYOID};
	Datum		values[1];
	Datum	   *ids = palloc(sizeof(Datum) * n);

	for (int i = 0; i < n; i++)
	{
		Assert(i == 0 || deps[i - 1]->id < deps[i]->id);
		ids[i] = Int64GetDatum(deps[i]->id);
		dw_machine_init(&machines[i], deps[i]->fail_after, deps[i]->recover_after,
						dw_has_degraded(deps[i]));
		last_at[i] = DT_NOBEGIN;
		if (locked)
			locked[i] = false;
	}
	values[0] = make_array(ids, NULL, n, INT8OID);

	if (locked == NULL)
	{
		/* DO UPDATE (not DO NOTHING) so that the rows are locked and returned */
		run_plan(&lock_plan,
				 "INSERT INTO depwatch.probe_state AS s (dependency_id)"
				 " SELECT unnest($1::int8[])"
				 " ON CONFLICT (dependency_id) DO UPDATE SET dependency_id = s.dependency_id"
				 " RETURNING dependency_id, coalesce(last_at, '-infinity'), down_open, down_streak,"
				 "   coalesce(down_since, '-infinity'), degraded_open, degraded_streak,"
				 "   coalesce(degraded_since, '-infinity')",
				 1, types, values, NULL);
	}
	else
	{
		/*
		 * The dependency rows first (key share: what the foreign keys of
		 * our writes take anyway), so that a DROP in progress is skipped
		 * rather than waited for or deadlocked with; then the state rows.
		 */
		run_plan(&available_plan,
				 "SELECT array_agg(id ORDER BY id) FROM"
				 " (SELECT id FROM depwatch.dependency WHERE id = ANY ($1)"
				 "  ORDER BY id FOR KEY SHARE SKIP LOCKED) d",
				 1, types, values, NULL);
		{
			bool		isnull;
			Datum		available = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);

			if (isnull)
			{
				pfree(ids);
				return;
			}
			values[0] = available;
		}
		run_plan(&create_plan,
				 "INSERT INTO depwatch.probe_state (dependency_id) SELECT unnest($1::int8[])"
				 " ON CONFLICT (dependency_id) DO NOTHING",
				 1, types, values, NULL);
		run_plan(&skip_plan,
				 "SELECT dependency_id, coalesce(last_at, '-infinity'), down_open, down_streak,"
				 "   coalesce(down_since, '-infinity'), degraded_open, degraded_streak,"
				 "   coalesce(degraded_since, '-infinity')"
				 " FROM depwatch.probe_state WHERE dependency_id = ANY ($1)"
				 " ORDER BY dependency_id FOR UPDATE SKIP LOCKED",
				 1, types, values, NULL);
	}
	for (uint64 r = 0; r < SPI_processed; r++)
	{
		int			i = index_of(deps, n, DatumGetInt64(cell(r, 1)));
		DwMachine  *m = &machines[i];

		if (locked)
			locked[i] = true;
		last_at[i] = DatumGetTimestampTz(cell(r, 2));
		for (int k = 0; k < DW_NUM_KINDS; k++)
		{
			m->track[k].open = DatumGetBool(cell(r, 3 + 3 * k));
			m->track[k].streak = DatumGetInt32(cell(r, 4 + 3 * k));
			m->track[k].streak_since = DatumGetTimestampTz(cell(r, 5 + 3 * k));
		}
	}

	/*
	 * Whether an outage is open is what depwatch.outage says.  One opened
	 * or ended by hand since the last sample: the saved streak counted the
	 * other phase, so start counting afresh.
	 */
	{
		bool	   *open_now = palloc0(sizeof(bool) * n * DW_NUM_KINDS);

		run_plan(&open_plan,
				 "SELECT dependency_id, kind = 'down' FROM depwatch.outage"
				 " WHERE dependency_id = ANY ($1) AND upper_inf(during)",
				 1, types, values, NULL);
		for (uint64 r = 0; r < SPI_processed; r++)
		{
			int			i = index_of(deps, n, DatumGetInt64(cell(r, 1)));
			bool		down = DatumGetBool(cell(r, 2));

			open_now[i * DW_NUM_KINDS + (down ? DW_KIND_DOWN : DW_KIND_DEGRADED)] = true;
		}
		for (int i = 0; i < n; i++)
			for (int k = 0; k < DW_NUM_KINDS; k++)
				if (machines[i].track[k].open != open_now[i * DW_NUM_KINDS + k])
				{
					machines[i].track[k].open = open_now[i * DW_NUM_KINDS + k];
					machines[i].track[k].streak = 0;
				}
		pfree(open_now);
	}
	pfree(ids);
}

TimestampTz
dw_lock_machine(const DwDependency *dep, DwMachine *m)
{
	TimestampTz last_at;

	dw_lock_machines(&dep, 1, m, &last_at, NULL);
	return last_at;
}

/*
 * dw_save_machines stores the streak counters of n machines for their next
 * samples, in one statement.
 */
void
dw_save_machines(const DwDependency *const *deps, int n, const DwMachine *machines,
				 const TimestampTz *last_at)
{
	static SPIPlanPtr plan = NULL;
	Oid			types[8] = {INT8ARRAYOID, TIMESTAMPTZARRAYOID,
		BOOLARRAYOID, INT4ARRAYOID, TIMESTAMPTZARRAYOID,
	BOOLARRAYOID, INT4ARRAYOID, TIMESTAMPTZARRAYOID};
	Datum		values[8];
	Datum	   *cols[8];
	bool	   *nulls[8];

	for (int c = 0; c < 8; c++)
	{
		cols[c] = palloc(sizeof(Datum) * n);
		nulls[c] = palloc0(sizeof(bool) * n);
	}
	for (int i = 0; i < n; i++)
	{
		cols[0][i] = Int64GetDatum(deps[i]->id);
		cols[1][i] = TimestampTzGetDatum(last_at[i]);
		for (int k = 0; k < DW_NUM_KINDS; k++)
		{
			const DwTrack *t = &machines[i].track[k];

			cols[2 + 3 * k][i] = BoolGetDatum(t->open);
			cols[3 + 3 * k][i] = Int32GetDatum(t->streak);
			cols[4 + 3 * k][i] = TimestampTzGetDatum(t->streak_since);
			nulls[4 + 3 * k][i] = t->streak == 0;
		}
	}
	values[0] = make_array(cols[0], NULL, n, INT8OID);
	values[1] = make_array(cols[1], NULL, n, TIMESTAMPTZOID);
	for (int k = 0; k < DW_NUM_KINDS; k++)
	{
		values[2 + 3 * k] = make_array(cols[2 + 3 * k], NULL, n, BOOLOID);
		values[3 + 3 * k] = make_array(cols[3 + 3 * k], NULL, n, INT4OID);
		values[4 + 3 * k] = make_array(cols[4 + 3 * k], nulls[4 + 3 * k], n, TIMESTAMPTZOID);
	}
	run_plan(&plan,
			 "UPDATE depwatch.probe_state s SET last_at = v.last_at,"
			 "  down_open = v.down_open, down_streak = v.down_streak, down_since = v.down_since,"
			 "  degraded_open = v.degraded_open, degraded_streak = v.degraded_streak,"
			 "  degraded_since = v.degraded_since"
			 " FROM unnest($1, $2, $3, $4, $5, $6, $7, $8)"
			 "   AS v(id, last_at, down_open, down_streak, down_since,"
			 "        degraded_open, degraded_streak, degraded_since)"
			 " WHERE s.dependency_id = v.id",
			 8, types, values, NULL);
	for (int c = 0; c < 8; c++)
	{
		pfree(cols[c]);
		pfree(nulls[c]);
	}
}

void
dw_save_machine(const DwDependency *dep, const DwMachine *m, TimestampTz last_at)
{
	dw_save_machines(&dep, 1, m, &last_at);
}

/*
 * source_in_catalog: a catalog not yet updated to 0.3 (the library is
 * updated first) knows no source "reported"; report_sample's outages are
 * written as "probe" there, as 0.2 wrote them, which the update then
 * converts where it can tell.  Asked at each opening, which is rare, so
 * that the session sees the update as soon as it is committed.
 */
static const char *
source_in_catalog(const char *source)
{
	static SPIPlanPtr plan = NULL;
	bool		isnull;

	if (strcmp(source, "reported") != 0)
		return source;
	run_plan(&plan,
			 "SELECT pg_catalog.to_regprocedure('depwatch.discard_samples(text, tstzrange, text)') IS NOT NULL",
			 0, NULL, NULL, NULL);
	return DatumGetBool(get_col(1, &isnull)) ? source : "probe";
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
			values[4] = CStringGetTextDatum(source_in_catalog(dw_outage_source(dep)));
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
						 "   AND source IN ('probe', 'reported', 'passive')",
						 3, types, values, NULL);
		}
	}
}

/*
 * dw_store_samples inserts n sample rows, taken at one vantage, in one
 * statement.
 */
void
dw_store_samples(const char *vantage, const DwSampleRow *rows, int n)
{
	static SPIPlanPtr plan = NULL;
	Oid			types[6] = {TEXTOID, INT8ARRAYOID, TIMESTAMPTZARRAYOID, BOOLARRAYOID,
	INTERVALARRAYOID, TEXTARRAYOID};
	Datum		values[6];
	Datum	   *ids = palloc(sizeof(Datum) * n);
	Datum	   *ats = palloc(sizeof(Datum) * n);
	Datum	   *oks = palloc(sizeof(Datum) * n);
	Datum	   *latencies = palloc(sizeof(Datum) * n);
	bool	   *no_latency = palloc(sizeof(bool) * n);
	Datum	   *details = palloc(sizeof(Datum) * n);
	bool	   *no_detail = palloc(sizeof(bool) * n);

	for (int i = 0; i < n; i++)
	{
		ids[i] = Int64GetDatum(rows[i].dependency_id);
		ats[i] = TimestampTzGetDatum(rows[i].at);
		oks[i] = BoolGetDatum(rows[i].ok);
		no_latency[i] = rows[i].latency == NULL;
		latencies[i] = rows[i].latency ? IntervalPGetDatum(rows[i].latency) : (Datum) 0;
		no_detail[i] = rows[i].detail == NULL;
		details[i] = rows[i].detail ? CStringGetTextDatum(rows[i].detail) : (Datum) 0;
	}
	values[0] = CStringGetTextDatum(vantage);
	values[1] = make_array(ids, NULL, n, INT8OID);
	values[2] = make_array(ats, NULL, n, TIMESTAMPTZOID);
	values[3] = make_array(oks, NULL, n, BOOLOID);
	values[4] = make_array(latencies, no_latency, n, INTERVALOID);
	values[5] = make_array(details, no_detail, n, TEXTOID);
	/*
	 * A probed dependency's sample more than 3 x every after the one before
	 * it (or after the dependency was added) closes a monitor gap, and its
	 * very first sample ends the time before anyone watched it: record both
	 * now, from probe_state.last_at as it was before this batch, so that
	 * availability reports need not scan the samples (doc/semantics.md,
	 * "Unmonitored time").
	 */
	run_plan(&plan, psprintf(
			 "WITH v AS (SELECT * FROM unnest($2, $3, $4, $5, $6) AS v(id, at, ok, latency, detail)),"
			 " stored AS ("
			 "  INSERT INTO depwatch.sample (dependency_id, vantage, at, ok, latency, detail)"
			 "  SELECT v.id, $1, v.at, v.ok, v.latency, v.detail FROM v),"
			 " p AS ("
			 "  SELECT x.id, x.at, d.every, d.created_at, s.last_at IS NULL AND x.prev IS NULL AS first,"
			 "         coalesce(x.prev, s.last_at,"
			 "                  CASE WHEN d.created_at < x.at THEN d.created_at END) AS after"
			 "    FROM (SELECT v.id, v.at, lag(v.at) OVER (PARTITION BY v.id ORDER BY v.at) AS prev"
			 "            FROM v) x"
			 "    JOIN depwatch.dependency d ON d.id = x.id"
			 "    LEFT JOIN depwatch.probe_state s ON s.dependency_id = x.id"
			 "   WHERE %s),"
			 " q AS (SELECT p.*, %s AS silent FROM p)"
			 " INSERT INTO depwatch.monitor_gap (dependency_id, after, before, unmonitored)"
			 " SELECT q.id, q.after, q.at, tstzrange(q.silent, q.at) FROM q"
			 "  WHERE q.at > q.silent"
			 " UNION ALL"
			 " SELECT q.id, '-infinity', least(q.at, q.created_at), tstzrange(NULL, least(q.at, q.created_at))"
			 "   FROM q WHERE q.first"
			 " ON CONFLICT DO NOTHING",
			 dw_sql_probed("d.probe"), dw_sql_silent_until("p.after", "p.every")),
			 6, types, values, NULL);
}

void
dw_store_sample(const DwDependency *dep, const char *vantage, TimestampTz at,
				bool ok, const Interval *latency, const char *detail)
{
	DwSampleRow row = {dep->id, at, ok, latency, detail};

	dw_store_samples(vantage, &row, 1);
}

/*
 * dw_advance feeds one sample's class into the machine and writes the
 * outages it opens or closes.
 */
int
dw_advance(const DwDependency *dep, DwMachine *m, TimestampTz at,
		   DwSampleClass class)
{
	DwEvent		events[DW_NUM_KINDS];
	int			n = dw_machine_step(m, at, class, events);

	dw_apply_events(dep, events, n);
	return n;
}

/*
 * passive_args fills the arguments the passive queries share: $1 the
 * dependency, $2 an instant, $3 the trailing window, $4 the latency that
 * counts as slow (NULL when none does), $5 "until".
 */
static void
passive_args(const DwDependency *dep, TimestampTz at, TimestampTz until,
			 Datum *values, char *nulls)
{
	Interval   *window = palloc0(sizeof(Interval));
	Interval   *slow = palloc0(sizeof(Interval));

	window->time = dep->window;
	slow->time = dep->degraded_after;
	values[0] = Int64GetDatum(dep->id);
	values[1] = TimestampTzGetDatum(at);
	values[2] = IntervalPGetDatum(window);
	values[3] = IntervalPGetDatum(slow);
	values[4] = TimestampTzGetDatum(until);
	memset(nulls, ' ', 5);
	if (dep->degraded_after < 0)
		nulls[3] = 'n';
}

/*
 * window_counts counts dep's calls in the window (at - window, at]: all,
 * bad, and good but slow.
 */
static void
window_counts(const DwDependency *dep, TimestampTz at, int64 *calls, int64 *bad, int64 *slows)
{
	static SPIPlanPtr plan = NULL;
	Oid			types[4] = {INT8OID, TIMESTAMPTZOID, INTERVALOID, INTERVALOID};
	Datum		values[5];
	char		nulls[5];
	bool		isnull;

	passive_args(dep, at, at, values, nulls);
	run_plan(&plan,
			 "SELECT count(*), count(*) FILTER (WHERE NOT ok),"
			 "       count(*) FILTER (WHERE ok AND latency > $4)"
			 "  FROM depwatch.sample"
			 " WHERE dependency_id = $1 AND at > $2 - $3 AND at <= $2",
			 4, types, values, nulls);
	*calls = DatumGetInt64(get_col(1, &isnull));
	*bad = DatumGetInt64(get_col(2, &isnull));
	*slows = DatumGetInt64(get_col(3, &isnull));
}

/*
 * dw_passive_expiries advances a passive dependency's machine through the
 * instants in (since, until] at which calls leave the trailing window: the
 * error-rate rule can stop (or start) holding then, between two calls.
 * Calls of one instant leave together.
 *
 * The window is counted once, as it stood at "since"; then the instants
 * calls enter it or leave it in (since, until] are read in time order and
 * the counts moved along.  The cost is the calls in the window plus those
 * that move, whatever the number of instants (counting the window again at
 * each instant would cost their product).
 */
void
dw_passive_expiries(const DwDependency *dep, DwMachine *m, TimestampTz since,
					TimestampTz until)
{
	static SPIPlanPtr moves_plan = NULL;
	Oid			types[5] = {INT8OID, TIMESTAMPTZOID, INTERVALOID, INTERVALOID, TIMESTAMPTZOID};
	Datum		values[5];
	char		nulls[5];
	int64		calls;
	int64		bad;
	int64		slows;
	uint64		n;
	TimestampTz *at;
	int64	   *moved;
	bool	   *leaves;

	if (since == DT_NOBEGIN || since >= until)
		return;
	window_counts(dep, since, &calls, &bad, &slows);
	passive_args(dep, since, until, values, nulls);
	run_plan(&moves_plan,
			 "SELECT t, sum(n)::int8, sum(bad)::int8, sum(slow)::int8, bool_or(n < 0) FROM ("
			 "  SELECT at AS t, 1 AS n, (NOT ok)::int AS bad,"
			 "         coalesce(ok AND latency > $4, false)::int AS slow"
			 "    FROM depwatch.sample"
			 "   WHERE dependency_id = $1 AND at > $2 AND at <= $5"
			 "  UNION ALL"
			 "  SELECT at + $3, -1, -(NOT ok)::int, -coalesce(ok AND latency > $4, false)::int"
			 "    FROM depwatch.sample"
			 "   WHERE dependency_id = $1 AND at > $2 - $3 AND at <= $5 - $3) e"
			 " GROUP BY t ORDER BY t",
			 5, types, values, nulls);

	/* copy them out: the steps below run queries of their own */
	n = SPI_processed;
	at = palloc(sizeof(TimestampTz) * Max(n, 1));
	moved = palloc(sizeof(int64) * 3 * Max(n, 1));
	leaves = palloc(sizeof(bool) * Max(n, 1));
	for (uint64 i = 0; i < n; i++)
	{
		at[i] = DatumGetTimestampTz(cell(i, 1));
		for (int c = 0; c < 3; c++)
			moved[3 * i + c] = DatumGetInt64(cell(i, 2 + c));
		leaves[i] = DatumGetBool(cell(i, 5));
	}
	for (uint64 i = 0; i < n; i++)
	{
		calls += moved[3 * i];
		bad += moved[3 * i + 1];
		slows += moved[3 * i + 2];
		/* a call coming in was fed by its own report_sample */
		if (leaves[i])
			dw_advance(dep, m, at[i], dw_rate_verdict(&dep->rate, calls, bad, slows));
	}
	pfree(at);
	pfree(moved);
	pfree(leaves);
}

/*
 * dw_passive_verdict applies the error-rate rule to dep's calls in the
 * window (at - window, at].
 */
DwSampleClass
dw_passive_verdict(const DwDependency *dep, TimestampTz at)
{
	int64		calls;
	int64		bad;
	int64		slows;

	window_counts(dep, at, &calls, &bad, &slows);
	return dw_rate_verdict(&dep->rate, calls, bad, slows);
}
