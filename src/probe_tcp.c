/*-------------------------------------------------------------------------
 *
 * probe_tcp.c
 *	  tcp probes of targets given by address: a non-blocking connect() and
 *	  nothing more.
 *
 * A tcp probe asks one thing: does the peer complete the handshake within
 * the timeout?  When the target's host is a numeric address there is
 * nothing to resolve, and a socket, a connect and a close answer it.
 * Through libcurl the same probe also cost a handle's set-up, the
 * getsockname, getpeername and fcntl calls libcurl makes on every
 * connection and its bookkeeping: about a third of the worker's CPU at
 * hundreds of probes a second.  Targets named by host name still go
 * through libcurl, which resolves them without blocking (probe_curl.c).
 *
 * The sockets in flight sit in an epoll set of their own, which the
 * worker's WaitEventSet watches as one descriptor.  The probes in flight
 * are kept in the order of their deadlines, so the next timeout is the
 * list's head; as most dependencies share a timeout, a probe started now
 * usually goes at the tail.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lib/ilist.h"
#include "utils/timestamp.h"

#include "address_policy.h"
#include "depwatch.h"
#include "probe.h"

static int	epoll_fd = -1;
static dlist_head in_flight = DLIST_STATIC_INIT(in_flight);

/* tcp_claims: tcp targets given by a numeric address (load_config sets addr) */
static bool
tcp_claims(const DwTarget *t)
{
	return t->dep.probe == DW_PROBE_TCP && t->addrlen > 0;
}

static void
tcp_init(void)
{
	epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	if (epoll_fd < 0)
		elog(ERROR, "could not create an epoll set: %m");
}

/*
 * bind_source binds fd to depwatch.source_address, when one is set.  The
 * kernel then picks the local port at connect(), as it does for an unbound
 * socket (IP_BIND_ADDRESS_NO_PORT), instead of reserving one for any
 * destination at bind().
 */
static bool
bind_source(int fd, char *why, size_t whylen)
{
	struct sockaddr_storage src;
	socklen_t	len;
	int			one = 1;

	if (dw_source_address == NULL || dw_source_address[0] == '\0')
		return true;
	memset(&src, 0, sizeof(src));
	if (inet_pton(AF_INET, dw_source_address, &((struct sockaddr_in *) &src)->sin_addr) == 1)
	{
		src.ss_family = AF_INET;
		len = sizeof(struct sockaddr_in);
	}
	else if (inet_pton(AF_INET6, dw_source_address, &((struct sockaddr_in6 *) &src)->sin6_addr) == 1)
	{
		src.ss_family = AF_INET6;
		len = sizeof(struct sockaddr_in6);
	}
	else
	{
		/* the setting's check hook lets nothing else through */
		snprintf(why, whylen, "source address \"%s\" is not an IP address", dw_source_address);
		return false;
	}
	(void) setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *) &src, len) != 0)
	{
		snprintf(why, whylen, "could not bind to source address %s: %m", dw_source_address);
		return false;
	}
	return true;
}

/*
 * tcp_start starts one probe of t.  Returns false, with the reason in
 * why[], when the probe failed at once; the worker then records it as a
 * failed sample.
 */
static bool
tcp_start(DwTarget *t, TimestampTz now, char *why, size_t whylen)
{
	/* closing resets the connection: see sockopt_callback in probe_curl.c */
	struct linger reset = {1, 0};
	struct epoll_event ev;
	dlist_iter	iter;
	dlist_node *after = NULL;
	int			fd;

	/* a restricted probe never sends a packet to an address not allowed */
	if (t->restricted && !dw_policy_allows(dw_address_policy, (struct sockaddr *) &t->addr))
	{
		char		addr[INET6_ADDRSTRLEN];

		dw_address_text((struct sockaddr *) &t->addr, addr, sizeof(addr));
		snprintf(why, whylen, "address %s is not allowed by depwatch.allowed_addresses", addr);
		return false;
	}
	fd = socket(t->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
	{
		snprintf(why, whylen, "could not create a socket: %m");
		return false;
	}
	if (setsockopt(fd, SOL_SOCKET, SO_LINGER, &reset, sizeof(reset)) != 0)
		elog(DEBUG1, "depwatch: could not set SO_LINGER on a probe socket: %m");
	if (!bind_source(fd, why, whylen))
	{
		close(fd);
		return false;
	}
	if (connect(fd, (struct sockaddr *) &t->addr, t->addrlen) != 0 && errno != EINPROGRESS)
	{
		snprintf(why, whylen, "%m");
		close(fd);
		return false;
	}

	/* connected or not yet: either way epoll reports the socket writable */
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLOUT;
	ev.data.ptr = t;
	if (epoll_ctl(epoll_fd, EPOLL_CTL_ADD, fd, &ev) != 0)
	{
		snprintf(why, whylen, "could not watch the probe socket: %m");
		close(fd);
		return false;
	}
	t->probe.tcp.sock = fd;
	t->probe.tcp.deadline = now + t->timeout;
	dlist_reverse_foreach(iter, &in_flight)
	{
		DwTarget   *other = dlist_container(DwTarget, probe.tcp.node, iter.cur);

		if (other->probe.tcp.deadline <= t->probe.tcp.deadline)
		{
			after = iter.cur;
			break;
		}
	}
	if (after != NULL)
		dlist_insert_after(after, &t->probe.tcp.node);
	else
		dlist_push_head(&in_flight, &t->probe.tcp.node);
	t->in_flight = true;
	return true;
}

/* finish closes a probe's socket, which also takes it out of the epoll set */
static void
finish(DwTarget *t)
{
	dlist_delete(&t->probe.tcp.node);
	close(t->probe.tcp.sock);
	t->probe.tcp.sock = -1;
	t->in_flight = false;
}

/* tcp_cancel: nothing is kept between probes */
static void
tcp_cancel(DwTarget *t)
{
	if (t->in_flight)
		finish(t);
}

static pgsocket
tcp_fd(void)
{
	return epoll_fd;
}

/*
 * tcp_ready ends every probe whose handshake has completed or failed.
 */
static void
tcp_ready(void)
{
	struct epoll_event ready[256];
	int			n;

	n = epoll_wait(epoll_fd, ready, lengthof(ready), 0);
	for (int i = 0; i < n; i++)
	{
		DwTarget   *t = ready[i].data.ptr;
		int			err = 0;
		socklen_t	len = sizeof(err);
		char		detail[160];

		if (getsockopt(t->probe.tcp.sock, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
			err = errno;
		if (err == 0)
			snprintf(detail, sizeof(detail), "connected");
		else
			snprintf(detail, sizeof(detail), "%s", strerror(err));
		finish(t);
		dw_probe_finished(t, err == 0, detail);
	}
}

/* tcp_timeout_ms: milliseconds until the next deadline; -1: none */
static long
tcp_timeout_ms(TimestampTz now)
{
	DwTarget   *t;

	if (dlist_is_empty(&in_flight))
		return -1;
	t = dlist_head_element(DwTarget, probe.tcp.node, &in_flight);
	if (t->probe.tcp.deadline <= now)
		return 0;
	return (long) ((t->probe.tcp.deadline - now + 999) / 1000);
}

/* tcp_expire ends every probe whose deadline has passed */
static void
tcp_expire(TimestampTz now)
{
	while (!dlist_is_empty(&in_flight))
	{
		DwTarget   *t = dlist_head_element(DwTarget, probe.tcp.node, &in_flight);
		char		detail[64];

		if (t->probe.tcp.deadline > now)
			break;
		snprintf(detail, sizeof(detail), "timeout after %ld ms", (long) (t->timeout / 1000));
		finish(t);
		dw_probe_finished(t, false, detail);
	}
}

const DwProbeDriver dw_tcp_driver = {
	.claims = tcp_claims,
	.init = tcp_init,
	.start = tcp_start,
	.cancel = tcp_cancel,
	.fd = tcp_fd,
	.timeout_ms = tcp_timeout_ms,
	.ready = tcp_ready,
	.tick = tcp_expire,
};
