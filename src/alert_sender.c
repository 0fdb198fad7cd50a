/*-------------------------------------------------------------------------
 *
 * alert_sender.c
 *	  The delivery of alerts to webhook routes: a driver of the probe
 *	  worker's event loop (probe.h) that probes nothing and POSTs the
 *	  pending deliveries of depwatch.alert_delivery with libcurl.
 *
 * Per route, one request at a time, in event id order: the worker asks
 * depwatch._alert_due() for the first pending delivery of each route that
 * has no request in flight, so an event never overtakes an earlier one of
 * its route, while a hung or failing receiver holds up only its own route.
 * The requests go through a libcurl multi handle of their own, watched by
 * the loop's WaitEventSet through one epoll descriptor, like the probes':
 * nothing here waits on a socket.  Every request is bounded (a per-request
 * timeout, the headers and the body of the answer, which is read only far
 * enough to be dropped), and follows the outbound rules of the probes
 * (dw_curl_request: depwatch.allowed_addresses for a route not set by a
 * superuser, no proxy, http and https only).
 *
 * Answers are buffered and written at the next turn, in one transaction
 * with the search for what is due next (depwatch._alert_record(): 2xx
 * delivers, anything else backs off 1 s doubling, up to
 * depwatch.alert_backoff_max, until depwatch.alert_retry_for).  A request
 * whose answer was not recorded (the worker killed meanwhile) is sent again
 * with the same Idempotency-Key: delivery is at least once.
 *
 * The worker looks for due deliveries when a committed transaction added or
 * changed a delivery or a route (the triggers on alert_delivery and
 * alert_route bump alert_generation in the worker's slot and set its
 * latch), when a retry falls due, when a request ends, and every
 * ALERT_POLL_MS in any case.  A catalog without the alert
 * functions (0.1, 0.2) is looked at again every ALERT_POLL_MS.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <limits.h>

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "curl_common.h"
#include "depwatch.h"
#include "outbound.h"
#include "probe.h"
#include "shmem.h"
#include "worker.h"

/* routes with a request in flight, at most */
#define ALERT_MAX_IN_FLIGHT 64
/* what is read of an answer's body before the transfer is stopped */
#define ALERT_BODY_MAX 4096
/*
 * The longest the worker goes without looking for due deliveries: the
 * trigger and the retry times say when, this is a safety net.
 */
#define ALERT_POLL_MS 60000
/* after a failed turn (a lock, an error), the next try */
#define ALERT_RETRY_TURN_MS 1000
#define ALERT_ERROR_LEN 160

/* settings (doc/reference.md, "Alert delivery") */
static int	alert_retry_for_ms = 24 * 3600 * 1000;
static int	alert_backoff_max_ms = 300 * 1000;
static int	alert_timeout_ms = 10 * 1000;

/* one request in flight */
typedef struct AlertSend
{
	int64		route_id;
	int64		event_id;
	CURL	   *easy;
	struct curl_slist *headers;
	char		refused[DW_REFUSED_LEN];
	size_t		headers_seen;
	size_t		body_seen;
} AlertSend;

/* one answer, waiting to be recorded */
typedef struct AlertResult
{
	int64		route_id;
	int64		event_id;
	bool		ok;
	char		error[ALERT_ERROR_LEN];
} AlertResult;

static DwCurlMulti curl;

static AlertSend *sends[ALERT_MAX_IN_FLIGHT];
static int	nsends = 0;
/* every send ends in one result, recorded before more are started */
static AlertResult results[ALERT_MAX_IN_FLIGHT];
static int	nresults = 0;

static DwWorkerSlot *my_slot = NULL;
static uint64 seen_generation = 0;
static TimestampTz next_turn = 0;	/* when to look again; 0: at once */
/* set while this process records answers: its own updates wake nobody */
static bool in_turn = false;

/* ---------------------------------------------------------------------
 * Settings
 * ---------------------------------------------------------------------
 */

/* dw_define_alert_gucs: called by dw_define_gucs (guc.c) */
void
dw_define_alert_gucs(void)
{
	DefineCustomIntVariable("depwatch.alert_retry_for",
							"How long a webhook delivery is retried before it is failed.",
							"Counted from the event's recorded_at.",
							&alert_retry_for_ms,
							24 * 3600 * 1000, 1000, INT_MAX,
							PGC_SIGHUP, GUC_UNIT_MS,
							NULL, NULL, NULL);
	DefineCustomIntVariable("depwatch.alert_backoff_max",
							"The longest wait between two attempts of a webhook delivery.",
							"The wait starts at 1 s and doubles after each failed attempt, up to this.",
							&alert_backoff_max_ms,
							300 * 1000, 1000, 3600 * 1000,
							PGC_SIGHUP, GUC_UNIT_MS,
							NULL, NULL, NULL);
	DefineCustomIntVariable("depwatch.alert_timeout",
							"How long one webhook request may take, connection included.",
							NULL,
							&alert_timeout_ms,
							10 * 1000, 100, 600 * 1000,
							PGC_SIGHUP, GUC_UNIT_MS,
							NULL, NULL, NULL);
}

/* ---------------------------------------------------------------------
 * Waking the worker
 * ---------------------------------------------------------------------
 */

/*
 * depwatch._alerts_changed(): statement trigger on alert_delivery and
 * alert_route.  Wakes
 * the worker when the transaction commits (before, it would not see the
 * rows).
 */
PG_FUNCTION_INFO_V1(dw_alerts_changed);

Datum
dw_alerts_changed(PG_FUNCTION_ARGS)
{
	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("_alerts_changed() must be called as a trigger")));
	if (!in_turn)
		dw_wake_at_commit(DW_WAKE_ALERTS);
	return PointerGetDatum(NULL);
}

/* ---------------------------------------------------------------------
 * libcurl
 * ---------------------------------------------------------------------
 */

/* the answer's body is not wanted: ALERT_BODY_MAX bytes of it stop the transfer */
static size_t
write_callback(char *data, size_t size, size_t nmemb, void *userp)
{
	AlertSend  *s = userp;
	size_t		n = size * nmemb;

	s->body_seen += n;
	return s->body_seen > ALERT_BODY_MAX ? 0 : n;
}

/* ---------------------------------------------------------------------
 * Requests
 * ---------------------------------------------------------------------
 */

/* add_result keeps one answer for the next turn, which comes at once */
static void
add_result(int64 route_id, int64 event_id, bool ok, const char *error)
{
	AlertResult *r;

	Assert(nresults < ALERT_MAX_IN_FLIGHT);
	r = &results[nresults++];
	r->route_id = route_id;
	r->event_id = event_id;
	r->ok = ok;
	strlcpy(r->error, error, sizeof(r->error));
	next_turn = 0;				/* to be recorded at the next turn */
}

/*
 * start_send POSTs body to url for one delivery; what cannot even start
 * (a header a restricted route may not send, libcurl refusing a setting)
 * is a failed attempt at once.
 */
static void
start_send(int64 route_id, int64 event_id, const char *url, const char *body,
		   const char *header_lines, bool restricted)
{
	AlertSend  *s;
	CURL	   *h;
	char		why[ALERT_ERROR_LEN];
	char	   *copy;
	char	   *save = NULL;

	s = MemoryContextAllocZero(TopMemoryContext, sizeof(AlertSend));
	s->route_id = route_id;
	s->event_id = event_id;
	snprintf(why, sizeof(why), "could not set up the request");
	h = curl_easy_init();
	if (h == NULL)
		goto fail;
	s->easy = h;
	s->headers = curl_slist_append(NULL, "Content-Type: application/json");
	if (s->headers == NULL)
		goto fail;
	copy = pstrdup(header_lines ? header_lines : "");
	for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
	{
		struct curl_slist *more;

		if (restricted && !dw_restricted_http_header(line, strcspn(line, ":")))
		{
			snprintf(why, sizeof(why), "header \"%.*s\" is not allowed for a route not set by a superuser",
					 (int) Min(strcspn(line, ":"), 40), line);
			goto fail;
		}
		if ((more = curl_slist_append(s->headers, line)) == NULL)
			goto fail;
		s->headers = more;
	}
	/* no "Expect: 100-continue" round trip */
	if ((s->headers = curl_slist_append(s->headers, "Expect:")) == NULL)
		goto fail;

	if (!dw_curl_request(h, url, s, (long) alert_timeout_ms, restricted, s->refused,
						 &s->headers_seen))
		goto fail;
	SETOPT(h, CURLOPT_USERAGENT, "depwatch/0.3");
	SETOPT(h, CURLOPT_POSTFIELDSIZE, (long) strlen(body));
	SETOPT(h, CURLOPT_COPYPOSTFIELDS, body);
	SETOPT(h, CURLOPT_HTTPHEADER, s->headers);
	SETOPT(h, CURLOPT_WRITEFUNCTION, write_callback);
	SETOPT(h, CURLOPT_WRITEDATA, s);
	if (curl_multi_add_handle(curl.multi, h) != CURLM_OK)
		goto fail;
	sends[nsends++] = s;
	return;

fail:
	if (s->easy)
		curl_easy_cleanup(s->easy);
	curl_slist_free_all(s->headers);
	pfree(s);
	add_result(route_id, event_id, false, why);
}

/*
 * judge: the outcome of a finished request, in words that quote neither
 * the receiver (its body is never kept) nor the route's URL or headers.
 */
static bool
judge(AlertSend *s, CURLcode rc, char *error, size_t len)
{
	long		status = 0;

	/* we stopped reading a long body: the status was known before it */
	if (dw_curl_failed(rc, rc == CURLE_WRITE_ERROR && s->body_seen > ALERT_BODY_MAX,
					   s->headers_seen, s->refused, (long) alert_timeout_ms, error, len))
		return false;
	curl_easy_getinfo(s->easy, CURLINFO_RESPONSE_CODE, &status);
	snprintf(error, len, "HTTP %ld", status);
	return status >= 200 && status <= 299;
}

/* collect_done turns every finished request into a result */
static void
collect_done(void)
{
	CURLMsg    *msg;
	int			left;

	while ((msg = curl_multi_info_read(curl.multi, &left)) != NULL)
	{
		AlertSend  *s = NULL;
		char		error[ALERT_ERROR_LEN];
		bool		ok;

		if (msg->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **) &s);
		ok = judge(s, msg->data.result, error, sizeof(error));
		add_result(s->route_id, s->event_id, ok, error);
		curl_multi_remove_handle(curl.multi, s->easy);
		curl_easy_cleanup(s->easy);
		curl_slist_free_all(s->headers);
		for (int i = 0; i < nsends; i++)
			if (sends[i] == s)
				sends[i] = sends[--nsends];
		pfree(s);
	}
}

/* ---------------------------------------------------------------------
 * The turn: record the answers, start what is due
 * ---------------------------------------------------------------------
 */

/* int8_array: a bigint[] of n values */
static Datum
int8_array(int64 *values, int n)
{
	Datum	   *d = palloc(sizeof(Datum) * Max(n, 1));

	for (int i = 0; i < n; i++)
		d[i] = Int64GetDatum(values[i]);
	return PointerGetDatum(construct_array(d, n, INT8OID, 8, true, TYPALIGN_DOUBLE));
}

/* ms_interval: an interval of ms milliseconds */
static Interval *
ms_interval(int ms)
{
	Interval   *iv = palloc0(sizeof(Interval));

	iv->time = (int64) ms * 1000;
	return iv;
}

/* record_results writes the buffered answers (see _alert_record) */
static void
record_results(void)
{
	Oid			types[6] = {INT8ARRAYOID, INT8ARRAYOID, BOOLARRAYOID, TEXTARRAYOID,
	INTERVALOID, INTERVALOID};
	Datum		values[6];
	int64	   *routes = palloc(sizeof(int64) * nresults);
	int64	   *events = palloc(sizeof(int64) * nresults);
	Datum	   *oks = palloc(sizeof(Datum) * nresults);
	Datum	   *errors = palloc(sizeof(Datum) * nresults);

	for (int i = 0; i < nresults; i++)
	{
		routes[i] = results[i].route_id;
		events[i] = results[i].event_id;
		oks[i] = BoolGetDatum(results[i].ok);
		errors[i] = CStringGetTextDatum(results[i].error);
	}
	values[0] = int8_array(routes, nresults);
	values[1] = int8_array(events, nresults);
	values[2] = PointerGetDatum(construct_array(oks, nresults, BOOLOID, 1, true, TYPALIGN_CHAR));
	values[3] = PointerGetDatum(construct_array(errors, nresults, TEXTOID, -1, false, TYPALIGN_INT));
	values[4] = IntervalPGetDatum(ms_interval(alert_retry_for_ms));
	values[5] = IntervalPGetDatum(ms_interval(alert_backoff_max_ms));
	if (SPI_execute_with_args("SELECT depwatch_internal._alert_record($1, $2, $3, $4, $5, $6)",
							  6, types, values, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not record the alert deliveries");
}

/* a delivery due, read by the turn and started once the turn committed */
typedef struct AlertDue
{
	int64		route_id;
	int64		event_id;
	char	   *url;			/* NULL: the event or the route is gone */
	char	   *body;
	char	   *headers;
	bool		restricted;
} AlertDue;

typedef struct AlertTurn
{
	MemoryContext context;		/* where due[] lives: outlives the transaction */
	AlertDue   *due;
	int			ndue;
	int			recorded;		/* results[] recorded (or dropped) by the turn */
} AlertTurn;

/* copy_value: column col of tup as text in cxt, NULL when null */
static char *
copy_value(MemoryContext cxt, HeapTuple tup, TupleDesc desc, int col)
{
	char	   *v = SPI_getvalue(tup, desc, col);

	return v ? MemoryContextStrdup(cxt, v) : NULL;
}

/*
 * alert_turn, in a transaction of its own: record the answers, then find
 * the first pending delivery of every idle route that is due, and the time
 * of the first that is not.  The requests start after the commit: an
 * answer recorded in a transaction that then failed must not let the next
 * event of its route go first.
 */
static void
alert_turn(void *arg)
{
	AlertTurn  *turn = arg;
	TimestampTz now = GetCurrentTimestamp();
	bool		isnull;
	int64	   *busy;
	Oid			types[2] = {INT8ARRAYOID, INT4OID};
	Datum		values[2];
	int			room;

	turn->ndue = 0;
	turn->recorded = 0;
	/* a catalog still at 0.1 or 0.2 has no alerts: look again later */
	SPI_execute("SELECT pg_catalog.to_regprocedure('depwatch_internal._alert_due(bigint[],integer)') IS NOT NULL",
				true, 1);
	if (!DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull)))
	{
		turn->recorded = nresults;	/* nowhere to record them */
		return;
	}
	if (nresults > 0)
		record_results();
	turn->recorded = nresults;

	/* each request started ends in a result, which must find room */
	room = ALERT_MAX_IN_FLIGHT - nsends - nresults;
	if (room <= 0)
		return;
	busy = palloc(sizeof(int64) * Max(nsends, 1));
	for (int i = 0; i < nsends; i++)
		busy[i] = sends[i]->route_id;
	values[0] = int8_array(busy, nsends);
	values[1] = Int32GetDatum(room);
	/* not read-only: it must see the answers just recorded */
	if (SPI_execute_with_args("SELECT route_id, event_id, next_attempt_at, due, url, body, headers, restricted"
							  "  FROM depwatch_internal._alert_due($1, $2)",
							  2, types, values, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read the due alert deliveries");
	turn->due = MemoryContextAlloc(turn->context, sizeof(AlertDue) * Max(SPI_processed, 1));
	for (uint64 r = 0; r < SPI_processed; r++)
	{
		HeapTuple	tup = SPI_tuptable->vals[r];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		TimestampTz at = DatumGetTimestampTz(SPI_getbinval(tup, desc, 3, &isnull));
		AlertDue   *d;

		if (!DatumGetBool(SPI_getbinval(tup, desc, 4, &isnull)))
		{
			if (at < next_turn)
				next_turn = Max(at, now);
			continue;
		}
		d = &turn->due[turn->ndue++];
		d->route_id = DatumGetInt64(SPI_getbinval(tup, desc, 1, &isnull));
		d->event_id = DatumGetInt64(SPI_getbinval(tup, desc, 2, &isnull));
		d->url = copy_value(turn->context, tup, desc, 5);
		d->body = copy_value(turn->context, tup, desc, 6);
		d->headers = copy_value(turn->context, tup, desc, 7);
		d->restricted = DatumGetBool(SPI_getbinval(tup, desc, 8, &isnull));
		if (d->body == NULL)
			d->url = NULL;
	}
}

/* ---------------------------------------------------------------------
 * The driver
 * ---------------------------------------------------------------------
 */

/* it probes no dependency */
static bool
alert_claims(const DwTarget *t)
{
	return false;
}

/* alert_init: the multi handle, its epoll set, and the worker's slot */
static void
alert_init(void)
{
	dw_curl_multi_init(&curl, "an alert socket");

	/* the worker has claimed its slot: the trigger wakes it through it */
	SpinLockAcquire(&dw_shared->mutex);
	for (int i = 0; i < DW_MAX_WORKERS; i++)
		if (dw_shared->slots[i].in_use && dw_shared->slots[i].pid == MyProcPid)
			my_slot = &dw_shared->slots[i];
	SpinLockRelease(&dw_shared->mutex);
}

/* never called: no target is ever given to this driver */
static bool
alert_start(DwTarget *t, TimestampTz now, char *why, size_t whylen)
{
	snprintf(why, whylen, "the alert sender probes nothing");
	return false;
}

/* never called either */
static void
alert_cancel(DwTarget *t)
{
}

/* alert_fd: the one descriptor the loop waits on for every request */
static pgsocket
alert_fd(void)
{
	return curl.epoll_fd;
}

/* alert_timeout_ms_left: until libcurl's timer or the next turn */
static long
alert_timeout_ms_left(TimestampTz now)
{
	TimestampTz at = Min(next_turn, curl.timer_at);

	if (at == DT_NOEND)
		return -1;
	if (at <= now)
		return 0;
	return (long) Min((at - now + 999) / 1000, (int64) ALERT_POLL_MS);
}

/* alert_ready hands libcurl every request socket that is ready */
static void
alert_ready(void)
{
	dw_curl_multi_ready(&curl);
	collect_done();
}

/*
 * alert_tick: libcurl's timer, then a turn when there is something to do:
 * answers to record, news from the trigger, a retry due, or the poll.
 */
static void
alert_tick(TimestampTz now)
{
	uint64		generation = my_slot ? pg_atomic_read_u64(&my_slot->alert_generation) : 0;
	AlertTurn	turn = {0};
	bool		done;

	if (dw_curl_multi_timer(&curl, now))
		collect_done();
	if (generation == seen_generation && now < next_turn)
		return;
	seen_generation = generation;
	next_turn = TimestampTzPlusMilliseconds(now, ALERT_POLL_MS);
	turn.context = CurrentMemoryContext;
	in_turn = true;
	done = dw_worker_transaction(alert_turn, &turn, "depwatch: delivering alerts");
	in_turn = false;
	if (!done)
	{
		next_turn = TimestampTzPlusMilliseconds(now, ALERT_RETRY_TURN_MS);
		return;
	}
	/* answers that came meanwhile stay for the next turn */
	nresults -= turn.recorded;
	memmove(results, results + turn.recorded, sizeof(AlertResult) * nresults);
	for (int i = 0; i < turn.ndue; i++)
	{
		AlertDue   *d = &turn.due[i];

		if (d->url == NULL)
			add_result(d->route_id, d->event_id, false, "the event or the route could not be read");
		else
			start_send(d->route_id, d->event_id, d->url, d->body, d->headers, d->restricted);
	}
}

const DwProbeDriver dw_alert_driver = {
	.claims = alert_claims,
	.init = alert_init,
	.start = alert_start,
	.cancel = alert_cancel,
	.fd = alert_fd,
	.timeout_ms = alert_timeout_ms_left,
	.ready = alert_ready,
	.tick = alert_tick,
};
