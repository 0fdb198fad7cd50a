/*-------------------------------------------------------------------------
 *
 * worker.c
 *	  The probe worker of one database: probes every enabled dependency on
 *	  its schedule and keeps depwatch.sample and depwatch.outage true.
 *
 * One event loop waits on a WaitEventSet holding the latch, postmaster
 * death and the sockets of every probe in flight; no probe waits for
 * another.  Finished probes are buffered and written once per tick, in one
 * transaction, through the same outage_store functions as report_sample(),
 * so the worker, report_sample() and derive_outages() decide alike.  The
 * machine's counters are saved with the samples, and whether an outage is
 * open is read from depwatch.outage, so a worker that is killed resumes an
 * open outage instead of opening it again.
 *
 * The configuration is read at start and again whenever the dependency
 * table changes (a trigger wakes the worker at commit), never polled; a row
 * whose options break the rules of options.c is skipped with one WARNING,
 * never allowed to fail the reading of the others.  An error in one
 * dependency's writes is logged and rolled back alone; an error in a tick
 * is logged and survived.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <sys/resource.h>

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/fd.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/proc.h"
#include "tcop/tcopprot.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "depwatch.h"
#include "peer_text.h"
#include "probe.h"
#include "shmem.h"
#include "worker.h"

#define TICK_MS				500		/* how often samples are written */
#define PASSIVE_EVERY_MS	1000	/* how often passive rules are evaluated */
#define PASSIVE_BATCH		32		/* passive dependencies evaluated per turn */
#define STATS_EVERY_MS		1000
#define PARTITIONS_EVERY_MS (3600 * 1000)
#define EXTENSION_POLL_MS	10000
#define EXTENSION_VISIBLE_POLL_MS 100	/* installed, tables not yet visible */
/*
 * The longest the worker waits for a lock when it writes samples or
 * maintains the sample partitions.  Someone else's transaction that holds
 * depwatch.sample (maintain_sample_partitions() or LOCK TABLE left open, a
 * long report reading a partition the worker would drop) must not stop the
 * event loop, hence every probe: the write gives up, keeps its samples and
 * tries again at the next tick; the maintenance tries again a minute later.
 */
#define LOCK_TIMEOUT		"100ms"
#define PARTITIONS_RETRY_MS (60 * 1000)
#define ALERT_TICK_MS		500		/* tolerance events are due within 1 s */
#define LAG_RING			4096
/*
 * When the worker wakes to start a due probe, it also starts those due in
 * the next few milliseconds (at most a tenth of their interval early):
 * with hundreds of dependencies a second, one wake-up then starts several
 * probes, and their connections complete together, instead of one wake-up
 * (and one round of epoll and clock calls) per probe.
 */
#define START_AHEAD_MS		10

/* A finished probe, waiting for the next tick. */
typedef struct PendingSample
{
	int64		dependency_id;
	TimestampTz at;
	bool		ok;
	int64		latency;		/* microseconds */
	bool		deferred;		/* its dependency was busy: next tick */
	char		detail[160];
} PendingSample;

static DwWorkerSlot *slot = NULL;
static MemoryContext config_context = NULL;
/* what one turn of the event loop allocates; reset at the start of the next */
static MemoryContext loop_context = NULL;
static DwTarget **targets = NULL;
static int	ntargets = 0;
static uint64 loaded_generation = 0;
static bool config_stale = true;

static PendingSample *pending = NULL;
static int	npending = 0;
static int	pending_cap = 0;
static int	in_flight = 0;

/* probes in flight the descriptors allow, whatever max_concurrency says */
static int	fd_capacity = INT_MAX;

static int64 lags[LAG_RING];
static int	nlags = 0;
static int64 finished_since_stats = 0;
static int64 probes_total = 0;

/* the SQLSTATE of the last transaction run_in_transaction() rolled back */
static int	last_sqlerrcode = 0;

static void
release_slot(int code, Datum arg)
{
	if (slot != NULL)
		dw_release_slot(slot);
	slot = NULL;
}

/*
 * record_error keeps the last error for depwatch.worker_status.
 */
static void
record_error(const char *message)
{
	SpinLockAcquire(&dw_shared->mutex);
	slot->last_error_at = GetCurrentTimestamp();
	strlcpy(slot->last_error, message, DW_ERROR_LEN);
	SpinLockRelease(&dw_shared->mutex);
}

/*
 * run_in_transaction runs fn in its own transaction with SPI connected.
 * An error is logged, kept for worker_status, rolled back and survived;
 * returns whether the transaction committed.
 */
static bool
run_in_transaction(void (*fn) (void *), void *arg, const char *what)
{
	MemoryContext oldcontext = CurrentMemoryContext;
	volatile bool committed = false;

	PG_TRY();
	{
		SetCurrentStatementStartTimestamp();
		StartTransactionCommand();
		if (SPI_connect() != SPI_OK_CONNECT)
			elog(ERROR, "SPI_connect failed");
		PushActiveSnapshot(GetTransactionSnapshot());
		pgstat_report_activity(STATE_RUNNING, what);
		fn(arg);
		SPI_finish();
		PopActiveSnapshot();
		CommitTransactionCommand();
		committed = true;
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(oldcontext);
		edata = CopyErrorData();
		FlushErrorState();
		AbortCurrentTransaction();
		last_sqlerrcode = edata->sqlerrcode;
		if (edata->sqlerrcode == ERRCODE_LOCK_NOT_AVAILABLE)
		{
			/* nothing is lost: the caller tries again (see LOCK_TIMEOUT) */
			ereport(LOG,
					(errmsg("depwatch worker: %s waits for a lock held by another transaction; trying again later",
							what),
					 errdetail("%s", edata->message)));
		}
		else
		{
			ereport(WARNING,
					(errmsg("depwatch worker: %s failed: %s", what, edata->message)));
			record_error(edata->message);
		}
		/* the extension may have been dropped: look again */
		if (edata->sqlerrcode == ERRCODE_UNDEFINED_TABLE ||
			edata->sqlerrcode == ERRCODE_UNDEFINED_FUNCTION ||
			edata->sqlerrcode == ERRCODE_INVALID_SCHEMA_NAME)
			config_stale = true;
		FreeErrorData(edata);
	}
	PG_END_TRY();
	MemoryContextSwitchTo(oldcontext);
	pgstat_report_stat(false);
	pgstat_report_activity(STATE_IDLE, NULL);
	return committed;
}

/* dw_worker_transaction: run_in_transaction, for the drivers (worker.h) */
bool
dw_worker_transaction(void (*fn) (void *), void *arg, const char *what)
{
	return run_in_transaction(fn, arg, what);
}

/*
 * in_subtransaction runs fn in a subtransaction of the current transaction,
 * so that one dependency's failure does not cost the others their writes.
 */
static void
in_subtransaction(void (*fn) (void *), void *arg, const char *name)
{
	MemoryContext oldcontext = CurrentMemoryContext;
	ResourceOwner oldowner = CurrentResourceOwner;

	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(oldcontext);
	PG_TRY();
	{
		fn(arg);
		ReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(oldcontext);
		CurrentResourceOwner = oldowner;
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(oldcontext);
		edata = CopyErrorData();
		FlushErrorState();
		RollbackAndReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(oldcontext);
		CurrentResourceOwner = oldowner;
		ereport(WARNING,
				(errmsg("depwatch worker: dependency \"%s\" skipped this tick: %s",
						name, edata->message)));
		record_error(edata->message);
		FreeErrorData(edata);
	}
	PG_END_TRY();
}

/* ---------------------------------------------------------------------
 * Configuration
 * ---------------------------------------------------------------------
 */

/* find_target: binary search, targets being in id order (see load_config) */
static DwTarget *
find_target(int64 id)
{
	int			lo = 0;
	int			hi = ntargets - 1;

	while (lo <= hi)
	{
		int			mid = lo + (hi - lo) / 2;

		if (targets[mid]->dep.id == id)
			return targets[mid];
		if (targets[mid]->dep.id < id)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	return NULL;
}

static bool run_isolating(void (*fn) (void *), const char *what);

static void
pfree_if(void *p)
{
	if (p)
		pfree(p);
}

/* free_target cancels a target's probe in flight and frees all it holds */
static void
free_target(DwTarget *t)
{
	if (t->in_flight)
		in_flight--;
	if (t->driver != NULL)
		t->driver->cancel(t);
	pfree_if(t->dep.name);
	pfree_if(t->target);
	pfree_if(t->signature);
	pfree_if(t->method);
	pfree_if(t->expect_status);
	pfree_if(t->body_contains);
	pfree_if(t->headers);
	pfree_if(t->query);
	dw_free_secrets(t->secrets);
	pfree(t);
}

/*
 * The idle targets, in a binary min-heap by next_due: starting what is due
 * and knowing how long to sleep cost O(log n), not a scan of every target.
 * A target in flight is out of the heap and goes back when its probe ends.
 */
static DwTarget **heap = NULL;
static int	heap_n = 0;
static int	heap_cap = 0;

static void
heap_swap(int a, int b)
{
	DwTarget   *t = heap[a];

	heap[a] = heap[b];
	heap[b] = t;
}

static void
heap_push(DwTarget *t)
{
	int			i;

	if (heap_n == heap_cap)
	{
		heap_cap = heap_cap ? heap_cap * 2 : 256;
		heap = heap ? repalloc(heap, sizeof(DwTarget *) * heap_cap) :
			MemoryContextAlloc(TopMemoryContext, sizeof(DwTarget *) * heap_cap);
	}
	i = heap_n++;
	heap[i] = t;
	while (i > 0 && heap[(i - 1) / 2]->next_due > heap[i]->next_due)
	{
		heap_swap(i, (i - 1) / 2);
		i = (i - 1) / 2;
	}
}

static DwTarget *
heap_pop(void)
{
	DwTarget   *top = heap[0];
	int			i = 0;

	heap[0] = heap[--heap_n];
	for (;;)
	{
		int			l = 2 * i + 1;
		int			r = l + 1;
		int			m = i;

		if (l < heap_n && heap[l]->next_due < heap[m]->next_due)
			m = l;
		if (r < heap_n && heap[r]->next_due < heap[m]->next_due)
			m = r;
		if (m == i)
			break;
		heap_swap(i, m);
		i = m;
	}
	return top;
}

/* heap_rebuild puts every idle probed target in the heap */
static void
heap_rebuild(void)
{
	heap_n = 0;
	for (int i = 0; i < ntargets; i++)
		if (targets[i]->dep.probe != DW_PROBE_PASSIVE && !targets[i]->in_flight)
			heap_push(targets[i]);
}

/* the first due time: spread over one interval, the same on every start */
static TimestampTz
first_due(const DwTarget *t, TimestampTz now)
{
	uint64		h = (uint64) t->dep.id * UINT64CONST(0x9E3779B97F4A7C15);

	return now + (int64) (h % (uint64) Max(t->every, 1));
}

static char *
col_text(HeapTuple tup, TupleDesc desc, int col)
{
	char	   *v = SPI_getvalue(tup, desc, col);

	return v ? MemoryContextStrdup(config_context, v) : NULL;
}

/*
 * The rows the last load skipped because their options break the rules
 * of src/options.c (stored before 0.3, or written around the API): each is
 * warned about once, not at every load, until its settings change.
 */
typedef struct SkippedRow
{
	int64		id;
	char		signature[33];	/* md5 of its settings */
} SkippedRow;

#define MAX_SKIPPED_REMEMBERED 64
static SkippedRow skipped[MAX_SKIPPED_REMEMBERED];
static int	nskipped = 0;
static SkippedRow skipped_now[MAX_SKIPPED_REMEMBERED];
static int	nskipped_now = 0;

static void
skip_row(int64 id, const char *name, const char *signature, const char *problem)
{
	bool		known = false;

	for (int i = 0; i < nskipped && !known; i++)
		known = skipped[i].id == id && strcmp(skipped[i].signature, signature) == 0;
	if (!known)
		ereport(WARNING,
				(errmsg("depwatch worker: dependency \"%s\" is skipped: %s", name, problem),
				 errhint("Fix its options with depwatch.alter_dependency().")));
	if (nskipped_now < MAX_SKIPPED_REMEMBERED)
	{
		skipped_now[nskipped_now].id = id;
		strlcpy(skipped_now[nskipped_now].signature, signature, sizeof(skipped_now[0].signature));
		nskipped_now++;
	}
}

/* Where load_config's query has each column, found by name once per load */
typedef struct ConfigColumns
{
	DwRuleColumns rules;		/* those of depwatch._machine_rules */
	int			target;
	int			every;
	int			timeout;
	int			method;
	int			expect_status;
	int			body_contains;
	int			headers;
	int			verify_tls;
	int			query;
	int			signature;
	int			by_superuser;
	int			problem;
	int			dependency_id;
	int			dependency;
} ConfigColumns;

static void
config_columns(TupleDesc desc, ConfigColumns *cols)
{
	const char *what = "the probe worker's configuration query";

	dw_rule_columns(desc, &cols->rules);
	cols->target = dw_column(desc, "target", true, what);
	cols->every = dw_column(desc, "every_us", true, what);
	cols->timeout = dw_column(desc, "timeout_us", true, what);
	cols->method = dw_column(desc, "method", true, what);
	cols->expect_status = dw_column(desc, "expect_status", true, what);
	cols->body_contains = dw_column(desc, "body_contains", true, what);
	cols->headers = dw_column(desc, "headers", true, what);
	cols->verify_tls = dw_column(desc, "verify_tls", true, what);
	cols->query = dw_column(desc, "query", true, what);
	cols->signature = dw_column(desc, "signature", true, what);
	cols->by_superuser = dw_column(desc, "by_superuser", true, what);
	cols->problem = dw_column(desc, "problem", true, what);
	cols->dependency_id = dw_column(desc, "dependency_id", true, what);
	cols->dependency = dw_column(desc, "dependency", true, what);
}

/*
 * load_config reads the enabled dependencies and merges them into targets:
 * unchanged ones keep their schedule and any probe in flight, changed ones
 * start afresh, removed ones are cancelled.
 */
static void
load_config(void *arg)
{
	TimestampTz now = GetCurrentTimestamp();
	DwTarget  **fresh;
	int			nfresh = 0;
	bool		options_checked;
	const char *internal;
	ConfigColumns cols;

	/* an earlier load may have failed halfway */
	for (int i = 0; i < ntargets; i++)
		targets[i]->keep = false;
	nskipped_now = 0;

	/*
	 * A catalog not yet updated to 0.3 has no _options_problem: its rows are
	 * read as that version read them.
	 */
	internal = dw_internal_schema();
	SPI_execute(psprintf("SELECT pg_catalog.to_regprocedure('%s._options_problem(jsonb)') IS NOT NULL",
						 internal),
				true, 1);
	{
		bool		isnull;

		options_checked = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc,
													 1, &isnull));
	}
	/*
	 * Every column is read by name (dw_column, dw_rule_columns): the view's
	 * columns may come in any order, and a catalog still at 0.1 or 0.2 has
	 * fewer of them.  Rows with bad options have no view columns (NULL).
	 */
	SPI_execute(psprintf("SELECT r.*, d.target,"
				"       (extract(epoch FROM d.every) * 1000000)::int8 AS every_us,"
				"       (extract(epoch FROM d.timeout) * 1000000)::int8 AS timeout_us,"
				"       d.options->>'method' AS method,"
	/* what could fail on a row with bad options is only evaluated for good ones */
				"       CASE WHEN d.problem IS NULL THEN (SELECT string_agg(s, ',')"
				"          FROM jsonb_array_elements_text(d.options->'expect_status') s) END AS expect_status,"
				"       d.options->>'body_contains' AS body_contains,"
				"       CASE WHEN d.problem IS NULL THEN (SELECT string_agg(h.key || ': ' || h.value, E'\\n')"
				"          FROM jsonb_each_text(d.options->'headers') h) END AS headers,"
				"       CASE WHEN d.problem IS NULL THEN coalesce((d.options->>'verify_tls')::boolean, true) END AS verify_tls,"
				"       d.options->>'query' AS query,"
				"       md5(row(d.probe, d.target, d.every, d.timeout, d.fail_after, d.recover_after,"
				"               d.degraded_after, d.options, d.by_superuser)::text) AS signature,"
				"       d.by_superuser, d.problem, d.id AS dependency_id, d.name AS dependency"
				"  FROM (SELECT d.*, %s AS problem,"
				/* read by name: a 0.2 catalog not yet updated has no such column */
				"               coalesce((to_jsonb(d)->>'probe_set_by_superuser')::boolean,"
				"                        false) AS by_superuser"
				"          FROM depwatch.dependency d"
	/* probed ones, and passive ones whose windows age out between calls */
				"         WHERE d.enabled AND (%s OR d.probe = 'passive')) d"
	/* a row with bad options is never given to the view, whose parse would fail */
				"  LEFT JOIN LATERAL (SELECT * FROM %s._machine_rules r"
				"                      WHERE r.id = d.id AND d.problem IS NULL OFFSET 0) r ON true"
				" ORDER BY d.id",
						 options_checked ? psprintf("%s._options_problem(d.options)", internal) : "NULL::text",
						 dw_sql_probed("d.probe"), internal),
				true, 0);
	config_columns(SPI_tuptable->tupdesc, &cols);

	fresh = MemoryContextAllocZero(config_context, sizeof(DwTarget *) * (SPI_processed + 1));
	for (uint64 r = 0; r < SPI_processed; r++)
	{
		HeapTuple	tup = SPI_tuptable->vals[r];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		bool		isnull;
		int64		id = DatumGetInt64(SPI_getbinval(tup, desc, cols.dependency_id, &isnull));
		char	   *signature = SPI_getvalue(tup, desc, cols.signature);
		char	   *problem = SPI_getvalue(tup, desc, cols.problem);
		DwTarget   *old;
		DwTarget   *t;
		char	   *expect;

		if (problem != NULL)
		{
			skip_row(id, SPI_getvalue(tup, desc, cols.dependency), signature, problem);
			continue;
		}
		old = find_target(id);
		if (old != NULL && strcmp(old->signature, signature) == 0)
		{
			old->keep = true;
			fresh[nfresh++] = old;
			continue;
		}

		t = MemoryContextAllocZero(config_context, sizeof(DwTarget));
		{
			MemoryContext m = MemoryContextSwitchTo(config_context);

			dw_dependency_from_tuple(tup, desc, &cols.rules, &t->dep);
			MemoryContextSwitchTo(m);
		}
		t->target = col_text(tup, desc, cols.target);
		if (t->dep.probe != DW_PROBE_TCP || t->target == NULL ||
			!dw_tcp_address(t->target, &t->addr, &t->addrlen))
			t->addrlen = 0;
		t->every = DatumGetInt64(SPI_getbinval(tup, desc, cols.every, &isnull));
		t->timeout = DatumGetInt64(SPI_getbinval(tup, desc, cols.timeout, &isnull));
		t->method = col_text(tup, desc, cols.method);
		expect = col_text(tup, desc, cols.expect_status);
		t->body_contains = col_text(tup, desc, cols.body_contains);
		t->headers = col_text(tup, desc, cols.headers);
		t->verify_tls = DatumGetBool(SPI_getbinval(tup, desc, cols.verify_tls, &isnull));
		t->query = col_text(tup, desc, cols.query);
		t->secrets = dw_target_secrets(t->target, t->headers);
		t->signature = MemoryContextStrdup(config_context, signature);
		t->restricted = !DatumGetBool(SPI_getbinval(tup, desc, cols.by_superuser, &isnull));
		if (expect != NULL)
		{
			char	   *save = NULL;

			t->expect_status = MemoryContextAllocZero(config_context, sizeof(int) * 64);
			for (char *s = strtok_r(expect, ",", &save); s && t->nexpect < 64;
				 s = strtok_r(NULL, ",", &save))
				t->expect_status[t->nexpect++] = atoi(s);
			pfree(expect);
		}
		t->next_due = first_due(t, now);
		fresh[nfresh++] = t;
	}

	/* cancel and free what is gone or changed */
	for (int i = 0; i < ntargets; i++)
	{
		if (!targets[i]->keep)
			free_target(targets[i]);
		else
			targets[i]->keep = false;
	}
	if (targets)
		pfree(targets);
	targets = fresh;
	ntargets = nfresh;
	heap_rebuild();
	memcpy(skipped, skipped_now, sizeof(SkippedRow) * nskipped_now);
	nskipped = nskipped_now;

	SpinLockAcquire(&dw_shared->mutex);
	slot->dependencies = ntargets;
	SpinLockRelease(&dw_shared->mutex);
}

/* ---------------------------------------------------------------------
 * Probing
 * ---------------------------------------------------------------------
 */

/*
 * dw_probe_finished is called by a probe driver when a probe ends: the
 * sample waits in the buffer for the next tick.
 */
void
dw_probe_finished(DwTarget *t, bool ok, const char *detail)
{
	TimestampTz now = GetCurrentTimestamp();
	PendingSample *p;

	in_flight--;
	if (npending == pending_cap)
	{
		pending_cap = pending_cap ? pending_cap * 2 : 1024;
		pending = pending ?
			repalloc(pending, sizeof(PendingSample) * pending_cap) :
			MemoryContextAlloc(TopMemoryContext, sizeof(PendingSample) * pending_cap);
	}
	p = &pending[npending++];
	p->dependency_id = t->dep.id;
	p->at = t->started_at;
	p->ok = ok;
	p->latency = now - t->started_at;
	p->deferred = false;
	/*
	 * The detail may quote the peer, which may quote what it was sent (a
	 * server asking for a cleartext password has it): the probe's secrets
	 * are hidden first, then the text is made valid and cut between
	 * characters.
	 */
	if (t->secrets != NULL)
	{
		char	   *hidden = dw_hide_secrets(detail, t->secrets);

		dw_peer_text(p->detail, sizeof(p->detail), hidden ? hidden : "(detail withheld: out of memory)");
		free(hidden);
	}
	else
		dw_peer_text(p->detail, sizeof(p->detail), detail);
	heap_push(t);				/* idle again, due at t->next_due */
	finished_since_stats++;
	probes_total++;
}

/*
 * reserve_descriptors raises the soft limit on open files to the hard one
 * and works out how many probes may be in flight: each holds a socket, and
 * PostgreSQL keeps max_files_per_process for itself.  A probe that cannot
 * get a socket would fail, and the dependency would look down because the
 * monitor ran out of descriptors.
 */
static void
reserve_descriptors(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return;
	if (rl.rlim_cur < rl.rlim_max)
	{
		rl.rlim_cur = rl.rlim_max;
		(void) setrlimit(RLIMIT_NOFILE, &rl);
		(void) getrlimit(RLIMIT_NOFILE, &rl);
	}
	if (rl.rlim_cur == RLIM_INFINITY)
		return;
	fd_capacity = Max(1, (int) Min(rl.rlim_cur, (rlim_t) INT_MAX) - max_files_per_process - 64);
	if (fd_capacity < dw_max_concurrency)
		ereport(LOG,
				(errmsg("depwatch worker: at most %d probes in flight (open files limit %lu, max_files_per_process %d)",
						fd_capacity, (unsigned long) rl.rlim_cur, max_files_per_process),
				 errhint("Raise the open files limit (ulimit -n) of the server to probe more at once.")));
}

/*
 * start_due_probes starts every probe whose time has come, as long as
 * depwatch.max_concurrency and the descriptors allow; missed ticks are
 * skipped, not queued.
 */
static void
start_due_probes(TimestampTz now)
{
	int			cap = Min(dw_max_concurrency, fd_capacity);

	while (heap_n > 0 && in_flight < cap &&
		   heap[0]->next_due <= now + Min(START_AHEAD_MS * INT64CONST(1000), heap[0]->every / 10))
	{
		DwTarget   *t = heap_pop();
		char		why[160];

		/* once per target: one with other settings is a new target */
		if (t->driver == NULL)
			t->driver = dw_probe_driver_for(t);

		t->due_at = t->next_due;
		t->started_at = now;
		lags[nlags++ % LAG_RING] = Max(now - t->due_at, 0);
		do
			t->next_due += t->every;
		while (t->next_due <= now);
		in_flight++;			/* dw_probe_finished counts it down */
		if (t->driver == NULL)
			dw_probe_finished(t, false, "no probe driver for this kind of probe");
		else if (!t->driver->start(t, now, why, sizeof(why)))
			dw_probe_finished(t, false, why);
	}
}

/* ---------------------------------------------------------------------
 * Writing samples
 * ---------------------------------------------------------------------
 */

static int
pending_cmp(const void *a, const void *b)
{
	const PendingSample *x = a;
	const PendingSample *y = b;

	if (x->dependency_id != y->dependency_id)
		return x->dependency_id < y->dependency_id ? -1 : 1;
	if (x->at != y->at)
		return x->at < y->at ? -1 : 1;
	return 0;
}

typedef struct SampleGroup
{
	DwTarget   *target;
	PendingSample *first;
	int			n;
} SampleGroup;

typedef struct SampleBatch
{
	SampleGroup *groups;
	int			ngroups;
	int			nsamples;
} SampleBatch;

/*
 * At most this many outages are opened or closed by one flush.  Each
 * writes an outage, its audit row and its alert event: a site of hundreds
 * of dependencies failing at once would hold the loop for as long as all of
 * them take (a third of a second for 500), and the probes due meanwhile
 * would start late.  The dependencies beyond the budget keep their samples
 * for the next turn of the loop, which comes at once, after the due probes
 * have started (bench/alerts.sh, part 2).
 */
#define MAX_CHANGES_PER_FLUSH 64
/*
 * Likewise at most this many dependencies' samples per flush: at 10,000
 * dependencies a second, half a second of samples is one transaction of
 * 5,000 rows, and the probes due while it is written would wait for it.
 */
#define MAX_GROUPS_PER_FLUSH 1000
static int	flush_changes = 0;		/* opened or closed by this flush */
static bool flush_cut = false;		/* it left some for the next turn */

/*
 * write_batch writes the samples of some dependencies and advances their
 * machines: the machines are locked, the samples inserted and the machines
 * saved in one statement each, whatever their number.
 */
static void
write_batch(void *arg)
{
	SampleBatch *b = arg;
	const DwDependency **deps = palloc(sizeof(DwDependency *) * b->ngroups);
	DwMachine  *machines = palloc(sizeof(DwMachine) * b->ngroups);
	TimestampTz *last_at = palloc(sizeof(TimestampTz) * b->ngroups);
	bool	   *locked = palloc(sizeof(bool) * b->ngroups);
	DwSampleRow *rows = palloc(sizeof(DwSampleRow) * b->nsamples);
	Interval   *latencies = palloc0(sizeof(Interval) * b->nsamples);
	int			nrows = 0;
	int			nlocked = 0;

	for (int g = 0; g < b->ngroups; g++)
		deps[g] = &b->groups[g].target->dep;
	dw_lock_machines(deps, b->ngroups, machines, last_at, locked);

	for (int g = 0; g < b->ngroups; g++)
	{
		if (!locked[g] || flush_changes >= MAX_CHANGES_PER_FLUSH)
		{
			/*
			 * another transaction holds it (an ALTER, a DROP, an app), or
			 * this flush has changed enough: next time
			 */
			for (int i = 0; i < b->groups[g].n; i++)
				b->groups[g].first[i].deferred = true;
			flush_cut |= locked[g];
			continue;
		}
		for (int i = 0; i < b->groups[g].n; i++)
		{
			PendingSample *p = &b->groups[g].first[i];
			DwSampleRow *row = &rows[nrows];

			if (p->at < last_at[g])
				continue;		/* a later sample was reported meanwhile */
			latencies[nrows].time = p->latency;
			row->dependency_id = p->dependency_id;
			row->at = p->at;
			row->ok = p->ok;
			row->latency = &latencies[nrows];
			row->detail = p->detail;
			nrows++;
			flush_changes += dw_advance(deps[g], &machines[g], p->at,
										dw_classify(deps[g], p->ok, true, p->latency));
			last_at[g] = p->at;
		}
		/* keep the locked ones together for the save */
		deps[nlocked] = deps[g];
		machines[nlocked] = machines[g];
		last_at[nlocked] = last_at[g];
		nlocked++;
	}
	if (nrows > 0)
		dw_store_samples(dw_vantage(), rows, nrows);
	if (nlocked > 0)
		dw_save_machines(deps, nlocked, machines, last_at);
}

/*
 * flush_samples writes every buffered sample.  Normally all in one batch;
 * when that failed, again with each dependency in a subtransaction of its
 * own, so that one bad dependency costs only its own samples.  (Not always:
 * more than 64 subtransactions in one transaction would slow every other
 * session's snapshots.)
 */
static void
flush_samples(void *arg)
{
	bool		isolated = *(bool *) arg;
	SampleBatch all;

	qsort(pending, npending, sizeof(PendingSample), pending_cmp);
	for (int i = 0; i < npending; i++)
		pending[i].deferred = false;
	flush_changes = 0;
	flush_cut = false;
	all.groups = palloc(sizeof(SampleGroup) * npending);
	all.ngroups = 0;
	all.nsamples = 0;
	for (int i = 0; i < npending;)
	{
		SampleGroup *g = &all.groups[all.ngroups];
		int			j = i;

		while (j < npending && pending[j].dependency_id == pending[i].dependency_id)
			j++;
		g->target = find_target(pending[i].dependency_id);
		g->first = &pending[i];
		g->n = j - i;
		/* samples of a dependency dropped meanwhile have nowhere to go */
		if (g->target != NULL)
		{
			all.ngroups++;
			all.nsamples += g->n;
		}
		i = j;
	}
	if (all.ngroups == 0)
		return;
	if (all.ngroups > MAX_GROUPS_PER_FLUSH)
	{
		for (int g = MAX_GROUPS_PER_FLUSH; g < all.ngroups; g++)
		{
			for (int i = 0; i < all.groups[g].n; i++)
				all.groups[g].first[i].deferred = true;
			all.nsamples -= all.groups[g].n;
		}
		all.ngroups = MAX_GROUPS_PER_FLUSH;
		flush_cut = true;
	}
	if (!isolated)
	{
		write_batch(&all);
		return;
	}
	for (int g = 0; g < all.ngroups; g++)
	{
		SampleBatch one = {&all.groups[g], 1, all.groups[g].n};

		in_subtransaction(write_batch, &one, all.groups[g].target->dep.name);
	}
}

/*
 * lock_timeout_on sets lock_timeout to LOCK_TIMEOUT for the transactions
 * that follow; lock_timeout_off puts the configured value back.
 */
static char *saved_lock_timeout = NULL;

static void
lock_timeout_on(void)
{
	saved_lock_timeout = MemoryContextStrdup(TopMemoryContext,
											 GetConfigOption("lock_timeout", false, false));
	SetConfigOption("lock_timeout", LOCK_TIMEOUT, PGC_SUSET, PGC_S_SESSION);
}

static void
lock_timeout_off(void)
{
	SetConfigOption("lock_timeout", saved_lock_timeout, PGC_SUSET, PGC_S_SESSION);
	pfree(saved_lock_timeout);
	saved_lock_timeout = NULL;
}

/*
 * flush_pending writes the buffered samples, keeping for the next tick
 * those whose dependency another transaction holds, and all of them when
 * depwatch.sample itself is locked.
 */
static void
flush_pending(void)
{
	int			kept = 0;
	bool		written;

	if (npending == 0)
		return;
	lock_timeout_on();
	written = run_isolating(flush_samples, "depwatch: writing samples");
	lock_timeout_off();
	if (!written)
		return;
	for (int i = 0; i < npending; i++)
		if (pending[i].deferred)
			pending[kept++] = pending[i];
	npending = kept;
}

/*
 * Passive dependencies.  report_sample() feeds each call to the machine as
 * it comes; what is left for the worker is the instants calls leave the
 * trailing window, where the error-rate rule can start or stop holding
 * with no call at all.  Once a second one statement finds the passive
 * dependencies that have such instants since their machine last moved
 * (one index probe each), and only those are evaluated: idle ones cost
 * no statement of their own, so the cost follows the calls, not the
 * number of passive dependencies.
 */
static void
evaluate_one_passive(void *arg)
{
	const DwDependency *dep = arg;
	DwMachine	m;
	TimestampTz now = GetCurrentTimestamp();
	TimestampTz last_at;
	bool		locked;

	/* an application reporting in an open transaction holds it: next time */
	dw_lock_machines(&dep, 1, &m, &last_at, &locked);
	if (!locked || now < last_at)
		return;
	dw_passive_expiries(dep, &m, last_at, now);
	dw_advance(dep, &m, now, dw_passive_verdict(dep, now));
	dw_save_machine(dep, &m, now);
}

/*
 * The passive dependencies found due, evaluated PASSIVE_BATCH per turn of
 * the loop: a thousand windows emptying at once must not hold up the
 * probes for the time a thousand evaluations take.
 */
static int64 *passive_queue = NULL;
static int	passive_queued = 0;
static int	passive_next = 0;		/* the first not yet evaluated */
static int	passive_batch_end = 0;	/* where the batch being run ends */

/*
 * queue_passive_due queues the passive dependencies with calls that left
 * their window after their machine's last step, in id order.
 */
static void
queue_passive_due(TimestampTz now)
{
	static SPIPlanPtr plan = NULL;
	Oid			types[3] = {INT8ARRAYOID, INTERVALARRAYOID, TIMESTAMPTZOID};
	Datum		values[3];
	Datum	   *ids = palloc(sizeof(Datum) * Max(ntargets, 1));
	Datum	   *windows = palloc(sizeof(Datum) * Max(ntargets, 1));
	int			npassive = 0;

	passive_queued = passive_next = passive_batch_end = 0;
	for (int i = 0; i < ntargets; i++)
	{
		Interval   *w;

		if (targets[i]->dep.probe != DW_PROBE_PASSIVE)
			continue;
		w = palloc0(sizeof(Interval));
		w->time = targets[i]->dep.window;
		ids[npassive] = Int64GetDatum(targets[i]->dep.id);
		windows[npassive++] = IntervalPGetDatum(w);
	}
	if (npassive == 0)
		return;
	if (plan == NULL)
	{
		plan = SPI_prepare("SELECT v.id FROM unnest($1::int8[], $2::interval[]) AS v(id, win)"
						   "  JOIN depwatch.probe_state s ON s.dependency_id = v.id"
						   " WHERE s.last_at < $3"
						   "   AND EXISTS (SELECT FROM depwatch.sample x"
						   "                WHERE x.dependency_id = v.id"
						   "                  AND x.at > s.last_at - v.win AND x.at <= $3 - v.win)"
						   " ORDER BY v.id", 3, types);
		if (plan == NULL || SPI_keepplan(plan) != 0)
			elog(ERROR, "could not prepare the passive evaluation: %s",
				 SPI_result_code_string(SPI_result));
	}
	values[0] = PointerGetDatum(construct_array(ids, npassive, INT8OID, 8, true, TYPALIGN_DOUBLE));
	values[1] = PointerGetDatum(construct_array(windows, npassive, INTERVALOID, sizeof(Interval),
												false, TYPALIGN_DOUBLE));
	values[2] = TimestampTzGetDatum(now);
	if (SPI_execute_plan(plan, values, NULL, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not find the passive dependencies to evaluate");
	passive_queue = passive_queue ?
		repalloc(passive_queue, sizeof(int64) * Max(SPI_processed, 1)) :
		MemoryContextAlloc(TopMemoryContext, sizeof(int64) * Max(SPI_processed, 1));
	for (uint64 r = 0; r < SPI_processed; r++)
	{
		bool		isnull;

		passive_queue[passive_queued++] =
			DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[r], SPI_tuptable->tupdesc, 1, &isnull));
	}
}

/*
 * evaluate_passive evaluates the next batch of the queue (filling it first
 * when it is empty); the caller moves passive_next to passive_batch_end once
 * the batch is written.
 */
static void
evaluate_passive(void *arg)
{
	bool		isolated = *(bool *) arg;

	if (passive_next >= passive_queued)
		queue_passive_due(GetCurrentTimestamp());
	passive_batch_end = Min(passive_queued, passive_next + PASSIVE_BATCH);
	for (int i = passive_next; i < passive_batch_end; i++)
	{
		DwTarget   *t = find_target(passive_queue[i]);

		/* dropped, or no longer passive, since it was queued */
		if (t == NULL || t->dep.probe != DW_PROBE_PASSIVE)
			continue;
		if (isolated)
			in_subtransaction(evaluate_one_passive, &t->dep, t->dep.name);
		else
			evaluate_one_passive(&t->dep);
	}
}

/*
 * run_isolating runs fn (which takes a bool *isolated) in one transaction,
 * and if that fails, once more with each dependency isolated.  Except when
 * it failed waiting for a lock: each dependency would wait again, so it
 * returns false and the caller tries again later.
 */
static bool
run_isolating(void (*fn) (void *), const char *what)
{
	bool		isolated = false;

	if (run_in_transaction(fn, &isolated, what))
		return true;
	if (last_sqlerrcode == ERRCODE_LOCK_NOT_AVAILABLE)
		return false;
	isolated = true;
	run_in_transaction(fn, &isolated, what);
	return true;
}

static void
maintain_partitions(void *arg)
{
	SPI_execute("SELECT depwatch.maintain_sample_partitions()", false, 0);
}

/*
 * alert_tick appends the alert events that time alone brings (impact
 * tolerance, burn rates, reporting deadlines).  A catalog not yet updated
 * to 0.3 has no _alert_tick: nothing to do.
 */
static void
alert_tick(void *arg)
{
	bool		isnull;
	const char *internal = dw_internal_schema();

	SPI_execute(psprintf("SELECT pg_catalog.to_regprocedure('%s._alert_tick()') IS NOT NULL", internal),
				true, 1);
	if (!DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull)))
		return;
	SPI_execute(psprintf("SELECT %s._alert_tick()", internal), false, 0);
}

/* ---------------------------------------------------------------------
 * The loop
 * ---------------------------------------------------------------------
 */

static int
lag_cmp(const void *a, const void *b)
{
	int64		x = *(const int64 *) a;
	int64		y = *(const int64 *) b;

	return x < y ? -1 : x > y;
}

/* publish_stats puts probes per second and schedule lag in shared memory */
static void
publish_stats(double seconds)
{
	int			n = Min(nlags, LAG_RING);
	int64		p50 = 0;
	int64		p99 = 0;

	if (n > 0)
	{
		int64	   *sorted = palloc(sizeof(int64) * n);

		memcpy(sorted, lags, sizeof(int64) * n);
		qsort(sorted, n, sizeof(int64), lag_cmp);
		p50 = sorted[n / 2];
		p99 = sorted[Min(n - 1, (n * 99) / 100)];
		pfree(sorted);
	}
	SpinLockAcquire(&dw_shared->mutex);
	slot->probes_per_second = seconds > 0 ? finished_since_stats / seconds : 0;
	slot->lag_p50 = p50;
	slot->lag_p99 = p99;
	slot->in_flight = in_flight;
	slot->probes_total = probes_total;
	strlcpy(slot->vantage, dw_vantage(), NAMEDATALEN);
	SpinLockRelease(&dw_shared->mutex);
	finished_since_stats = 0;
	nlags = 0;
}

/*
 * extension_installed: is depwatch installed in this database, and can this
 * process see its tables?  The two can differ for a moment: a committing
 * CREATE EXTENSION becomes visible before it sends its catalog cache
 * invalidations, so a lookup made in that window can still hit a cached
 * "schema depwatch does not exist".  *pending says the extension is there
 * but its tables are not visible yet, or that pg_restore is still filling
 * them: a restore creates the extension first, then the sample partitions
 * and rows the dump holds, which the worker's own partitions and samples
 * would collide with (pg_restore names itself in application_name).
 */
static bool
extension_installed(bool *pending)
{
	bool		found;

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	SPI_connect();
	PushActiveSnapshot(GetTransactionSnapshot());
	SPI_execute("SELECT pg_catalog.to_regclass('depwatch.dependency') IS NOT NULL"
				"   AND pg_catalog.to_regclass('depwatch.sample') IS NOT NULL"
				"   AND NOT EXISTS (SELECT FROM pg_catalog.pg_stat_activity a"
				"                    WHERE a.datname = pg_catalog.current_database()"
				"                      AND a.application_name = 'pg_restore')"
				" FROM pg_catalog.pg_extension WHERE extname = 'depwatch'", true, 1);
	*pending = false;
	found = false;
	if (SPI_processed > 0)
	{
		bool		isnull;
		Datum		visible = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc,
											1, &isnull);

		found = !isnull && DatumGetBool(visible);
		*pending = !found;
	}
	SPI_finish();
	PopActiveSnapshot();
	CommitTransactionCommand();
	pgstat_report_activity(STATE_IDLE, NULL);
	return found;
}

/*
 * wait_for_extension waits (without exiting, so the launcher does not start
 * us again and again) until the extension is installed.
 */
static void
wait_for_extension(const char *dbname)
{
	bool		logged = false;
	bool		pending;

	while (!extension_installed(&pending))
	{
		if (!logged && !pending)
			ereport(LOG,
					(errmsg("depwatch worker: extension \"depwatch\" is not installed in database \"%s\"; waiting",
							dbname),
					 errhint("Run CREATE EXTENSION depwatch CASCADE in it, or remove it from depwatch.databases.")));
		logged = logged || !pending;
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 pending ? EXTENSION_VISIBLE_POLL_MS : EXTENSION_POLL_MS,
						 PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
		}
	}
	config_stale = true;
}

/* ms_until: milliseconds from now to t, within [0, cap] */
static long
ms_until(TimestampTz t, TimestampTz now, long cap)
{
	if (t <= now)
		return 0;
	return Min(cap, (long) ((t - now + 999) / 1000));
}

void
dw_worker_main(Datum arg)
{
	char		dbname[NAMEDATALEN];
	WaitEventSet *wes = NULL;
	TimestampTz next_tick,
				next_passive,
				next_stats,
				next_partitions,
				next_alerts;
	TimestampTz last_stats;
	bool		pending;

	strlcpy(dbname, MyBgworkerEntry->bgw_extra, NAMEDATALEN);
	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();
	BackgroundWorkerInitializeConnection(dbname, NULL, 0);
	/*
	 * The worker runs as a superuser: a search_path set on the database (by
	 * its owner, who need not be one) must not let another schema's
	 * operators or functions into its queries.
	 */
	SetConfigOption("search_path", "pg_catalog, depwatch, pg_temp", PGC_SUSET, PGC_S_OVERRIDE);
	pgstat_report_appname("depwatch worker");

	slot = dw_claim_slot(MyDatabaseId, dbname);
	if (slot == NULL)
	{
		ereport(LOG,
				(errmsg("depwatch worker: another worker already probes database \"%s\"", dbname)));
		proc_exit(0);
	}
	before_shmem_exit(release_slot, (Datum) 0);
	SpinLockAcquire(&dw_shared->mutex);
	slot->started_at = GetCurrentTimestamp();
	SpinLockRelease(&dw_shared->mutex);

	config_context = AllocSetContextCreate(TopMemoryContext, "depwatch worker config",
										   ALLOCSET_DEFAULT_SIZES);
	loop_context = AllocSetContextCreate(TopMemoryContext, "depwatch worker loop",
										 ALLOCSET_DEFAULT_SIZES);
	for (int i = 0; i < dw_nprobe_drivers; i++)
		dw_probe_drivers[i]->init();
	reserve_descriptors();
	wait_for_extension(dbname);
	ereport(LOG, (errmsg("depwatch worker started for database \"%s\"", dbname)));

	/* each driver's descriptor carries the driver, for its ready() */
	wes = CreateWaitEventSet(TopMemoryContext, 2 + dw_nprobe_drivers);
	AddWaitEventToSet(wes, WL_LATCH_SET, PGINVALID_SOCKET, MyLatch, NULL);
	AddWaitEventToSet(wes, WL_EXIT_ON_PM_DEATH, PGINVALID_SOCKET, NULL, NULL);
	for (int i = 0; i < dw_nprobe_drivers; i++)
		AddWaitEventToSet(wes, WL_SOCKET_READABLE, dw_probe_drivers[i]->fd(), NULL,
						  unconstify(DwProbeDriver *, dw_probe_drivers[i]));

	last_stats = GetCurrentTimestamp();
	next_tick = next_passive = next_stats = last_stats;
	next_partitions = last_stats;
	next_alerts = last_stats;

	for (;;)
	{
		TimestampTz now;
		long		timeout;
		WaitEvent	events[8];
		int			nevents;
		uint64		generation;

		MemoryContextReset(loop_context);
		MemoryContextSwitchTo(loop_context);
		CHECK_FOR_INTERRUPTS();
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
		}
		generation = pg_atomic_read_u64(&slot->config_generation);
		if (generation != loaded_generation)
		{
			loaded_generation = generation;
			config_stale = true;
		}
		if (config_stale)
		{
			/* on failure, try again at the next change, not at once */
			config_stale = false;
			/* probes already made belong to the configuration they ran under */
			flush_pending();
			if (!extension_installed(&pending))
			{
				for (int i = 0; i < ntargets; i++)
					free_target(targets[i]);
				ntargets = 0;
				heap_n = 0;
				npending = 0;
				wait_for_extension(dbname);
				config_stale = false;
			}
			run_in_transaction(load_config, NULL, "depwatch: reading configuration");
		}

		now = GetCurrentTimestamp();
		start_due_probes(now);

		now = GetCurrentTimestamp();
		if (now >= next_tick)
		{
			flush_pending();
			/* what the change budget left over goes at the next turn */
			next_tick = flush_cut ? now : TimestampTzPlusMilliseconds(now, TICK_MS);
		}
		if (now >= next_passive)
		{
			bool		any = false;

			for (int i = 0; i < ntargets && !any; i++)
				any = targets[i]->dep.probe == DW_PROBE_PASSIVE;
			if (any && run_isolating(evaluate_passive, "depwatch: evaluating passive dependencies"))
				passive_next = passive_batch_end;
			/* the rest of the queue at the next turn, after the probes */
			next_passive = any && passive_next < passive_queued ? now :
				TimestampTzPlusMilliseconds(now, PASSIVE_EVERY_MS);
		}
		if (now >= next_partitions)
		{
			bool		waited;

			lock_timeout_on();
			waited = !run_in_transaction(maintain_partitions, NULL, "depwatch: maintaining sample partitions") &&
				last_sqlerrcode == ERRCODE_LOCK_NOT_AVAILABLE;
			lock_timeout_off();
			next_partitions = TimestampTzPlusMilliseconds(now, waited ? PARTITIONS_RETRY_MS : PARTITIONS_EVERY_MS);
		}
		if (now >= next_alerts)
		{
			/* a session holding the event lock delays alerts, not probes */
			lock_timeout_on();
			run_in_transaction(alert_tick, NULL, "depwatch: alert events");
			lock_timeout_off();
			next_alerts = TimestampTzPlusMilliseconds(now, ALERT_TICK_MS);
		}
		if (now >= next_stats)
		{
			publish_stats((now - last_stats) / 1000000.0);
			last_stats = now;
			next_stats = TimestampTzPlusMilliseconds(now, STATS_EVERY_MS);
		}

		/* sleep until the next due probe, a driver's timer or our own */
		now = GetCurrentTimestamp();
		timeout = ms_until(next_stats, now, STATS_EVERY_MS);
		timeout = Min(timeout, ms_until(next_alerts, now, ALERT_TICK_MS));
		if (npending > 0)
			timeout = Min(timeout, ms_until(next_tick, now, TICK_MS));
		if (heap_n > 0 && in_flight < Min(dw_max_concurrency, fd_capacity))
			timeout = Min(timeout, ms_until(heap[0]->next_due, now, timeout));
		for (int i = 0; i < dw_nprobe_drivers; i++)
		{
			long		ms = dw_probe_drivers[i]->timeout_ms(now);

			if (ms >= 0)
				timeout = Min(timeout, ms);
		}

		nevents = WaitEventSetWait(wes, timeout, events, lengthof(events), PG_WAIT_EXTENSION);
		for (int i = 0; i < nevents; i++)
		{
			if (events[i].events & WL_LATCH_SET)
				ResetLatch(MyLatch);
			else if (events[i].events & WL_SOCKET_READABLE)
				((const DwProbeDriver *) events[i].user_data)->ready();
		}
		now = GetCurrentTimestamp();
		for (int i = 0; i < dw_nprobe_drivers; i++)
			dw_probe_drivers[i]->tick(now);
	}
}
