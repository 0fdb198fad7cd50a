/*-------------------------------------------------------------------------
 *
 * scenario.c
 *	  The ledger baseline of a "what if" scenario (doc/semantics.md,
 *	  "Scenarios"), read once per statement.
 *
 *	  A scenario's expectations, and the DORA and FSS outcomes of each
 *	  capability down and up, depend on its window and baseline weeks, not
 *	  on what it loses, so a sweep (every site and vendor, LATERAL over the
 *	  providers) would otherwise read the same baseline windows of the
 *	  ledger, and judge the same criteria, once per provider.  The rows of
 *	  depwatch_internal._scenario_baseline_rows() are kept for as long as
 *	  the same user reads through the same snapshot in the same
 *	  transaction and command: the ledger is then the same, and read with
 *	  the same rights.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "storage/proc.h"
#include "utils/datetime.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"

#include "depwatch.h"

PG_FUNCTION_INFO_V1(dw_scenario_baseline);

/* What the rows were read for: the arguments and what the ledger looked like. */
typedef struct BaselineKey
{
	TimestampTz starts;
	Interval	lasts;
	int32		weeks;
	Oid			user;
	LocalTransactionId lxid;
	CommandId	curcid;
	TransactionId xmin;
	TransactionId xmax;
	uint64		completions;	/* transactions completed when the snapshot
								 * was taken: equal counts, equal visibility */
} BaselineKey;

typedef struct BaselineCache
{
	BaselineKey key;
	TupleDesc	desc;
	HeapTuple  *rows;
	uint64		nrows;
} BaselineCache;

/* In a child of TopTransactionContext; reset with it at the transaction's end. */
static BaselineCache *cache = NULL;
static MemoryContext cache_context = NULL;

static void
cache_forget(void *arg)
{
	cache = NULL;
	cache_context = NULL;
}

static void
baseline_key(BaselineKey *key, TimestampTz starts, Interval *lasts, int32 weeks)
{
	Snapshot	snap = GetActiveSnapshot();

	memset(key, 0, sizeof(*key));
	key->starts = starts;
	key->lasts = *lasts;
	key->weeks = weeks;
	key->user = GetUserId();
	key->lxid = MyProc->lxid;
	key->curcid = snap->curcid;
	key->xmin = snap->xmin;
	key->xmax = snap->xmax;
	key->completions = snap->snapXactCompletionCount;
}

/*
 * depwatch_internal._scenario_baseline(starts timestamptz, lasts interval,
 *		weeks int) RETURNS TABLE(capability text, down boolean,
 *		transfers numeric, customers numeric, value numeric,
 *		applications numeric, fees numeric, customers_total bigint,
 *		dora_major boolean, fss_reportable boolean)
 *
 * The rows of _scenario_baseline_rows(starts, lasts, weeks), read with the
 * caller's rights, from the cache when this statement read them already.
 * A snapshot that lets no commit in since (the completion count) sees the
 * same rows; anything the transaction writes moves the command id.
 */
Datum
dw_scenario_baseline(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	BaselineKey key;

	baseline_key(&key, PG_GETARG_TIMESTAMPTZ(0), PG_GETARG_INTERVAL_P(1), PG_GETARG_INT32(2));
	InitMaterializedSRF(fcinfo, 0);

	if (cache == NULL || memcmp(&cache->key, &key, sizeof(key)) != 0)
	{
		MemoryContext old;
		MemoryContextCallback *cb;
		char	   *query;
		Datum		args[3];
		Oid			types[3] = {TIMESTAMPTZOID, INTERVALOID, INT4OID};
		int			rc;

		if (cache_context != NULL)
			MemoryContextDelete(cache_context);	/* its callback clears both */
		Assert(cache == NULL && cache_context == NULL);

		query = psprintf("SELECT * FROM %s._scenario_baseline_rows($1, $2, $3)", dw_internal_schema());
		args[0] = PG_GETARG_DATUM(0);
		args[1] = PG_GETARG_DATUM(1);
		args[2] = PG_GETARG_DATUM(2);
		if ((rc = SPI_connect()) != SPI_OK_CONNECT)
			elog(ERROR, "SPI_connect failed: %s", SPI_result_code_string(rc));
		if ((rc = SPI_execute_with_args(query, 3, types, args, NULL, true, 0)) != SPI_OK_SELECT)
			elog(ERROR, "reading the scenario baseline failed: %s", SPI_result_code_string(rc));

		cache_context = AllocSetContextCreate(TopTransactionContext, "depwatch scenario baseline",
											  ALLOCSET_SMALL_SIZES);
		old = MemoryContextSwitchTo(cache_context);
		cb = palloc(sizeof(*cb));
		cb->func = cache_forget;
		cb->arg = NULL;
		MemoryContextRegisterResetCallback(cache_context, cb);
		cache = palloc(sizeof(*cache));
		cache->key = key;
		cache->desc = CreateTupleDescCopy(SPI_tuptable->tupdesc);
		cache->nrows = SPI_processed;
		cache->rows = palloc(sizeof(HeapTuple) * Max(SPI_processed, 1));
		for (uint64 i = 0; i < SPI_processed; i++)
			cache->rows[i] = heap_copytuple(SPI_tuptable->vals[i]);
		MemoryContextSwitchTo(old);
		SPI_finish();
	}

	{
		int			natts = cache->desc->natts;
		Datum	   *values = palloc(sizeof(Datum) * natts);
		bool	   *nulls = palloc(sizeof(bool) * natts);

		if (natts != rsinfo->setDesc->natts)
			elog(ERROR, "the scenario baseline has %d columns, not %d", natts, rsinfo->setDesc->natts);
		for (uint64 i = 0; i < cache->nrows; i++)
		{
			heap_deform_tuple(cache->rows[i], cache->desc, values, nulls);
			tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
		}
	}
	return (Datum) 0;
}
