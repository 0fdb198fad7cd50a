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
 * included), then body; past either it stops reading (doc/semantics.md,
 * "Peer answers").
 */
#define DW_HEADERS_MAX (32 * 1024)
#define DW_BODY_MAX (64 * 1024)

/* why depwatch.allowed_addresses refused an address (dw_curl_request) */
#define DW_REFUSED_LEN 80

/*
 * What a driver keeps for one target, inside the target itself: starting a
 * probe costs no allocation and reaching its state no indirection.  A
 * driver that keeps nothing between probes may hold a pointer to a struct
 * of its own file (struct PgProbe).
 */

/* probe_curl.c: the transfer in flight, and the start of the last body */
typedef struct DwCurlState
{
	void	   *easy;			/* CURL * */
	struct curl_slist *header_list; /* given to the handle */
	char		refused[DW_REFUSED_LEN];	/* why an address was refused, or "" */
	char	   *body;			/* the start of the response, for body_contains */
	size_t		body_len;
	size_t		body_seen;		/* bytes of body read, kept or not */
	size_t		headers_seen;	/* bytes of headers read */
} DwCurlState;

/* probe_tcp.c: the socket, its deadline and its place among those in flight */
typedef struct DwTcpState
{
	int			sock;
	TimestampTz deadline;
	dlist_node	node;
} DwTcpState;

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
	/* what probes it, chosen at its first probe (dw_probe_driver_for) */
	const struct DwProbeDriver *driver;
	/* what its driver keeps for it: the member named for the driver */
	union
	{
		DwCurlState curl;
		DwTcpState	tcp;
		struct PgProbe *pg;		/* probe_pg.c's own, while in flight */
	}			probe;
} DwTarget;

/*
 * DwProbeDriver: one kind of probe, as the worker's event loop drives it.
 * A driver watches all its probes' sockets through one descriptor of its
 * own (an epoll set), which the loop's WaitEventSet watches as one.  The
 * loop, per turn: start() for each target due, sleeps at most timeout_ms(),
 * ready() when fd() is readable, tick() after every wait.  A probe ends
 * when its driver calls dw_probe_finished() (from any of these), or when
 * start() returns false and the worker records it failed.
 *
 * Adding a driver: its file defines one DwProbeDriver, and probe_drivers.c
 * lists it; a driver that keeps something per target also adds its member
 * to DwTarget's union.  A driver may probe nothing and only use the loop
 * (alert_sender.c): it claims no target, so its start() and cancel() are
 * never called.
 */
typedef struct DwProbeDriver
{
	/* does this driver probe t?  At most one driver says yes */
	bool		(*claims) (const DwTarget *t);
	/* once per worker, before the loop; an ERROR stops the worker */
	void		(*init) (void);
	/* start a probe of t; false, with the reason in why[], if it failed at once */
	bool		(*start) (DwTarget *t, TimestampTz now, char *why, size_t whylen);
	/* t is being freed: end its probe in flight without a sample, free t->probe */
	void		(*cancel) (DwTarget *t);
	/* the one descriptor the loop waits on, readable when ready() has work */
	pgsocket	(*fd) (void);
	/* milliseconds the loop may sleep, as far as this driver goes; -1: no limit */
	long		(*timeout_ms) (TimestampTz now);
	void		(*ready) (void);
	/* timers and deadlines: end what is past its time */
	void		(*tick) (TimestampTz now);
} DwProbeDriver;

/* probe_drivers.c: every driver, and the one that probes a target */
extern const DwProbeDriver *const dw_probe_drivers[];
extern const int dw_nprobe_drivers;
extern const DwProbeDriver *dw_probe_driver_for(const DwTarget *t);

/* worker.c: a probe has ended */
extern void dw_probe_finished(DwTarget *t, bool ok, const char *detail);

#endif							/* DEPWATCH_PROBE_H */
