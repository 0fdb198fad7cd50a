/*-------------------------------------------------------------------------
 *
 * probe.h
 *	  What the worker knows about each dependency it watches, and the
 *	  interface between the worker's event loop and the probe drivers.
 *
 *-------------------------------------------------------------------------
 */
#ifndef DEPWATCH_PROBE_H
#define DEPWATCH_PROBE_H

#include <sys/socket.h>

#include "datatype/timestamp.h"
#include "lib/ilist.h"
#include "storage/latch.h"

#include "outage_store.h"

/*
 * What an http probe reads of an answer, at most: headers (status line
 * included), then body; past either it stops reading (SPEC section 6).
 */
#define DW_HEADERS_MAX (32 * 1024)
#define DW_BODY_MAX (64 * 1024)

typedef struct DwTarget
{
	DwDependency dep;			/* the state machine's rules; dep.id, dep.name */
	char	   *target;
	int64		every;			/* microseconds */
	int64		timeout;
	char	   *signature;		/* changes when anything that matters does */
	/* its probe settings were not made by a superuser: outbound.h's rules */
	bool		restricted;
	/* what it sends its peer that a detail must not quote (malloc'd) */
	char	  **secrets;

	/* http */
	char	   *method;
	int		   *expect_status;	/* NULL: any 2xx or 3xx */
	int			nexpect;
	char	   *body_contains;
	char	   *headers;		/* "Name: value" lines */
	bool		verify_tls;

	/* tcp to a numeric address (probe_tcp.c); addrlen 0: by name (libcurl) */
	struct sockaddr_storage addr;
	socklen_t	addrlen;

	/* postgres */
	char	   *query;

	/* schedule */
	TimestampTz next_due;
	bool		keep;			/* found again when the configuration is read */

	/* the probe in flight */
	bool		in_flight;
	TimestampTz due_at;
	TimestampTz started_at;
	void	   *handle;			/* CURL * */
	void	   *header_list;	/* struct curl_slist * given to the handle */
	char		refused[80];	/* libcurl: why an address was refused, or "" */
	char	   *body;			/* the start of the response, for body_contains */
	size_t		body_len;
	size_t		body_seen;		/* bytes of body read, kept or not */
	size_t		headers_seen;	/* bytes of headers read */
	int			sock;			/* probe_tcp.c: the socket, its deadline and */
	TimestampTz deadline;		/* its place among the probes in flight */
	dlist_node	tcp_node;
} DwTarget;

/* dw_tcp_direct: t is probed by probe_tcp.c rather than libcurl */
static inline bool
dw_tcp_direct(const DwTarget *t)
{
	return t->dep.probe == DW_PROBE_TCP && t->addrlen > 0;
}

/* worker.c: a probe has ended */
extern void dw_probe_finished(DwTarget *t, bool ok, const char *detail);

/* probe_tcp.c: tcp probes of numeric addresses, by non-blocking connect() */
extern void dw_tcp_init(void);
extern bool dw_tcp_start(DwTarget *t, char *why, size_t whylen);
extern void dw_tcp_cancel(DwTarget *t);
extern pgsocket dw_tcp_fd(void);
extern long dw_tcp_timeout_ms(TimestampTz now);
extern void dw_tcp_sockets_ready(void);
extern void dw_tcp_expire(TimestampTz now);

/* probe_curl.c: tcp probes of host names and http probes, through libcurl */
extern void dw_curl_init(void);
extern bool dw_curl_start(DwTarget *t, char *why, size_t whylen);
extern void dw_curl_cancel(DwTarget *t);
extern pgsocket dw_curl_fd(void);
extern long dw_curl_timeout_ms(TimestampTz now);
extern void dw_curl_sockets_ready(void);
extern void dw_curl_timer_fired(void);

/* probe_pg.c: postgres probes through libpq's asynchronous API */
extern void dw_pg_init(void);
extern bool dw_pg_start(DwTarget *t, TimestampTz now, char *why, size_t whylen);
extern void dw_pg_cancel(DwTarget *t);
extern pgsocket dw_pg_fd(void);
extern long dw_pg_timeout_ms(TimestampTz now);
extern void dw_pg_sockets_ready(void);
extern void dw_pg_tick(TimestampTz now);

#endif							/* DEPWATCH_PROBE_H */
