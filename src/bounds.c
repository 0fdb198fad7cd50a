/*-------------------------------------------------------------------------
 *
 * bounds.c
 *	  The time and size bounds on every value a role hands depwatch
 *	  (doc/semantics.md, "Bounds on input").
 *
 * A time far in the future or the past, or a text of megabytes, stored by
 * one operator breaks reports for everyone (timestamp arithmetic overflows)
 * or blinds monitoring (the worker drops its samples older than the last
 * one), and lands in the append-only audit log for good.  So every SQL
 * entry point checks its times and texts here, where they enter, with one
 * rule each:
 *
 *	- samples (report_sample): at from 1990-01-01 to the server's clock plus
 *	  depwatch.max_clock_skew;
 *	- samples and outages of a dependency: not before its tracked_since
 *	  (doc/semantics.md, "Tracked since": before it the dependency is
 *	  untracked);
 *	- outages, maintenance and incidents: from 1990-01-01 to now() plus 10
 *	  years (maintenance windows also at most 31 days, checked in SQL);
 *	- free text: at most 4,000 characters;
 *	- a value an error message quotes back: clipped (dw_clip, the SQL
 *	  helper _clip), so that a huge argument is never sent back whole.
 *
 * The probe worker stamps its samples with its own clock and does not come
 * through here.
 *
 * The conversions between intervals and microseconds, which every duration
 * depwatch reads or reports goes through, are here too: an interval too
 * long for microseconds saturates instead of overflowing.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/namespace.h"
#include "common/int.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "mb/pg_wchar.h"
#include "utils/builtins.h"
#include "utils/datetime.h"
#include "utils/lsyscache.h"
#include "utils/timestamp.h"

#include "depwatch.h"

PG_FUNCTION_INFO_V1(dw_check_text_sql);
PG_FUNCTION_INFO_V1(dw_check_time_sql);
PG_FUNCTION_INFO_V1(dw_check_tracked_sql);
PG_FUNCTION_INFO_V1(dw_clip_sql);

/*
 * The earliest time depwatch stores: 1990-01-01 00:00 UTC.  Nothing it
 * monitors is older, and a lower bound keeps "4713 BC" out of the reports'
 * arithmetic.
 */
#define DW_EARLIEST ((TimestampTz) (date2j(1990, 1, 1) - POSTGRES_EPOCH_JDATE) * USECS_PER_DAY)

/*
 * dw_check_text refuses a free text (a title, note, root cause, detail,
 * vantage name) longer than DW_MAX_TEXT_CHARS characters.  The value is
 * never quoted back: only its length.  Its encoding needs no check: the
 * server validated it in the database encoding when it arrived (UTF-8 in
 * a UTF8 database, which depwatch expects).
 */
void
dw_check_text(const char *argname, const text *value)
{
	int			bytes = VARSIZE_ANY_EXHDR(value);

	/* a character is at least one byte, and at most max_length bytes */
	if (bytes <= DW_MAX_TEXT_CHARS)
		return;
	if (bytes <= DW_MAX_TEXT_CHARS * pg_database_encoding_max_length() &&
		pg_mbstrlen_with_len(VARDATA_ANY(value), bytes) <= DW_MAX_TEXT_CHARS)
		return;
	ereport(ERROR,
			(errcode(ERRCODE_STRING_DATA_RIGHT_TRUNCATION),
			 errmsg("%s must be at most %d characters long", argname, DW_MAX_TEXT_CHARS),
			 errdetail("It is %d bytes long.", bytes),
			 errhint("Keep the text short and put long material elsewhere, with a reference to it here.")));
}

/*
 * dw_check_event_time refuses a time of an outage, a maintenance window or
 * an incident that is not from 1990-01-01 to now() plus 10 years (now() is
 * the transaction's start, as SQL's now()).
 */
void
dw_check_event_time(const char *argname, TimestampTz t)
{
	Interval	ten_years = {0, 0, 120};
	TimestampTz latest;

	latest = DatumGetTimestampTz(DirectFunctionCall2(timestamptz_pl_interval,
													 TimestampTzGetDatum(GetCurrentTransactionStartTimestamp()),
													 IntervalPGetDatum(&ten_years)));
	if (!TIMESTAMP_NOT_FINITE(t) && t >= DW_EARLIEST && t < latest)
		return;
	ereport(ERROR,
			(errcode(ERRCODE_DATETIME_FIELD_OVERFLOW),
			 errmsg("%s must be from 1990-01-01 to 10 years from now, not %s",
					argname, timestamptz_to_str(t)),
			 errdetail("Outages, maintenance and incidents lie from 1990-01-01 00:00 UTC to now() + 10 years, so that every report can compute with their times."),
			 errhint("Pass the time it happened, or is planned, such as '2026-11-28 02:00+09'.")));
}

/*
 * dw_check_sample_time refuses a sample time before 1990-01-01 or more
 * than depwatch.max_clock_skew after the server's clock: a sample from the
 * future would hide the dependency's later samples (taken in time order)
 * until then.  The server's clock is read now, not at the transaction's
 * start, so that a long transaction may report what it has just seen.
 */
void
dw_check_sample_time(TimestampTz at)
{
	TimestampTz clock = GetCurrentTimestamp();
	TimestampTz latest = clock + (TimestampTz) dw_max_clock_skew_ms * 1000;

	/* the dependency's tracked_since is checked later (dw_check_tracked) */
	if (TIMESTAMP_NOT_FINITE(at) || at < DW_EARLIEST)
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_FIELD_OVERFLOW),
				 errmsg("at must be from 1990-01-01 to depwatch.max_clock_skew after the server's clock, not %s",
						timestamptz_to_str(at)),
				 errhint("Pass the time the call or probe was made.")));
	if (at > latest)
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_FIELD_OVERFLOW),
				 errmsg("at is more than depwatch.max_clock_skew ahead of the server's clock"),
				 errdetail("at is %s, the server's clock %s, and depwatch.max_clock_skew %d ms.",
						   pstrdup(timestamptz_to_str(at)), pstrdup(timestamptz_to_str(clock)),
						   dw_max_clock_skew_ms),
				 errhint("Pass the time the call was made, from a clock in step with the server's.")));
}

/*
 * dw_check_tracked refuses a sample or outage time of a dependency before
 * its tracked_since: that time is untracked, and every report counts it as
 * unmonitored, so what is stored there would silently count for nothing.
 * The caller is connected to SPI.
 */
void
dw_check_tracked(int64 dependency_id, const char *argname, TimestampTz at)
{
	Oid			types[1] = {INT8OID};
	Datum		values[1] = {Int64GetDatum(dependency_id)};
	bool		isnull;
	TimestampTz since;
	char	   *name;

	if (!dw_catalog_has_tracked_since())
		return;
	if (SPI_execute_with_args("SELECT d.name, d.tracked_since FROM depwatch.dependency d WHERE d.id = $1",
							  1, types, values, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "depwatch: could not read tracked_since");
	if (SPI_processed == 0)
		return;
	since = DatumGetTimestampTz(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));
	if (isnull || at >= since)
		return;
	name = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
	ereport(ERROR,
			(errcode(ERRCODE_DATETIME_FIELD_OVERFLOW),
			 errmsg("%s %s is before dependency \"%s\" is tracked, since %s",
					argname, pstrdup(timestamptz_to_str(at)), name,
					pstrdup(timestamptz_to_str(since))),
			 errdetail("Before its tracked_since a dependency is untracked: every report counts that time as unmonitored."),
			 errhint("To import older history, move tracked_since back first: SELECT depwatch.alter_dependency(%s, tracked_since => %s).",
					 quote_literal_cstr(name), quote_literal_cstr(timestamptz_to_str(at)))));
}

/*
 * depwatch._check_tracked(dependency_id bigint, argument text, value
 * timestamptz) RETURNS void
 *
 * dw_check_tracked for the PL/pgSQL API; NULL passes.
 */
Datum
dw_check_tracked_sql(PG_FUNCTION_ARGS)
{
	int			rc;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(2))
		PG_RETURN_VOID();
	if ((rc = SPI_connect()) != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed: %s", SPI_result_code_string(rc));
	dw_check_tracked(PG_GETARG_INT64(0),
					 PG_ARGISNULL(1) ? "time" : text_to_cstring(PG_GETARG_TEXT_PP(1)),
					 PG_GETARG_TIMESTAMPTZ(2));
	SPI_finish();
	PG_RETURN_VOID();
}

/*
 * depwatch._check_text(argument text, value text) RETURNS void
 *
 * dw_check_text for the PL/pgSQL API; NULL passes.
 */
Datum
dw_check_text_sql(PG_FUNCTION_ARGS)
{
	if (!PG_ARGISNULL(1))
		dw_check_text(PG_ARGISNULL(0) ? "text" : text_to_cstring(PG_GETARG_TEXT_PP(0)),
					  PG_GETARG_TEXT_PP(1));
	PG_RETURN_VOID();
}

/*
 * depwatch._check_time(argument text, value timestamptz) RETURNS void
 *
 * dw_check_event_time for the PL/pgSQL API; NULL passes.
 */
Datum
dw_check_time_sql(PG_FUNCTION_ARGS)
{
	if (!PG_ARGISNULL(1))
		dw_check_event_time(PG_ARGISNULL(0) ? "time" : text_to_cstring(PG_GETARG_TEXT_PP(0)),
							PG_GETARG_TIMESTAMPTZ(1));
	PG_RETURN_VOID();
}

/*
 * dw_clip: s as an error message quotes it: whole up to DW_CLIP_CHARS
 * characters, else its first DW_CLIP_CHARS - 3 characters and "...".
 */
const char *
dw_clip(const char *s)
{
	int			len = strlen(s);

	if (pg_mbstrlen_with_len(s, len) <= DW_CLIP_CHARS)
		return s;
	return psprintf("%.*s...", pg_mbcharcliplen(s, len, DW_CLIP_CHARS - 3), s);
}

/*
 * depwatch_internal._clip(v text) RETURNS text
 *
 * dw_clip for the PL/pgSQL API (STRICT: NULL stays NULL).
 */
Datum
dw_clip_sql(PG_FUNCTION_ARGS)
{
	char	   *v = text_to_cstring(PG_GETARG_TEXT_PP(0));
	const char *clipped = dw_clip(v);

	if (clipped == v)
		PG_RETURN_DATUM(PG_GETARG_DATUM(0));
	PG_RETURN_TEXT_P(cstring_to_text(clipped));
}

/*
 * dw_interval_usecs: an interval in microseconds, months counted as 30
 * days; saturates at the int64 bounds.
 */
int64
dw_interval_usecs(const Interval *iv)
{
	int64		days;
	int64		usecs;

	/* at most 2^31 months of 30 days, so no overflow yet */
	days = (int64) iv->month * DAYS_PER_MONTH + iv->day;
	if (pg_mul_s64_overflow(days, USECS_PER_DAY, &usecs) ||
		pg_add_s64_overflow(usecs, iv->time, &usecs))
		return (days < 0) ? PG_INT64_MIN : PG_INT64_MAX;
	return usecs;
}

/* dw_usecs_interval: a duration as an interval of hours, minutes, seconds */
Interval *
dw_usecs_interval(int64 usecs)
{
	Interval   *iv = palloc0(sizeof(Interval));

	iv->time = usecs;
	return iv;
}
