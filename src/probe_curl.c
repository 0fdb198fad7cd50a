/*-------------------------------------------------------------------------
 *
 * probe_curl.c
 *	  tcp and http probes, all at once, through libcurl's multi socket
 *	  interface driven by the worker's WaitEventSet.
 *
 * libcurl resolves names without blocking and bounds every phase (name
 * resolution included) by the probe's timeout, so a hung, refusing,
 * unresolvable or slow peer only ever costs its own probe.  A tcp probe is
 * a connection and nothing more (CURLOPT_CONNECT_ONLY).  Every probe opens
 * a fresh connection, so that latency means the same each time.
 *
 * libcurl tells us which sockets to watch through the socket callback and
 * when to call it back through the timer callback; the worker waits on
 * curl_fd() and calls curl_ready() and curl_timer_fired().
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <arpa/inet.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <curl/curl.h>

/* CURLOPT_QUICK_EXIT: a timed-out name resolution does not block the loop */
#if LIBCURL_VERSION_NUM < 0x075700
#error "depwatch needs libcurl 7.87 or later"
#endif

#include "mb/pg_wchar.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "address_policy.h"
#include "depwatch.h"
#include "outbound.h"
#include "probe.h"

static CURLM *multi = NULL;
static int	epoll_fd = -1;
static TimestampTz timer_at = DT_NOEND;

static void check_done(void);

/*
 * libcurl: watch fd for "what", or stop watching it.  libcurl's sockets
 * live in an epoll set of their own, which the worker's WaitEventSet
 * watches as one readable descriptor: adding and removing a socket costs
 * one epoll_ctl, whatever the number of probes in flight.
 */
static int
socket_callback(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
	struct epoll_event ev;

	if (what == CURL_POLL_REMOVE)
	{
		/* the socket may be closed already: then epoll has forgotten it */
		(void) epoll_ctl(epoll_fd, EPOLL_CTL_DEL, fd, NULL);
		return 0;
	}
	memset(&ev, 0, sizeof(ev));
	ev.data.fd = fd;
	if (what & CURL_POLL_IN)
		ev.events |= EPOLLIN;
	if (what & CURL_POLL_OUT)
		ev.events |= EPOLLOUT;
	if (epoll_ctl(epoll_fd, EPOLL_CTL_MOD, fd, &ev) != 0 &&
		epoll_ctl(epoll_fd, EPOLL_CTL_ADD, fd, &ev) != 0)
		elog(WARNING, "depwatch: could not watch a probe socket: %m");
	return 0;
}

/* libcurl: call me back in timeout_ms (-1: never) */
static int
timer_callback(CURLM *m, long timeout_ms, void *userp)
{
	timer_at = timeout_ms < 0 ? DT_NOEND :
		TimestampTzPlusMilliseconds(GetCurrentTimestamp(), timeout_ms);
	return 0;
}

/*
 * libcurl: a piece of the body.  Keep the start of it when body_contains
 * asks for it, and stop the transfer (by refusing the piece) once
 * DW_BODY_MAX bytes came: a peer's endless or huge body costs neither
 * memory nor the rest of the timeout.  judge() knows a transfer stopped so.
 */
static size_t
write_callback(char *data, size_t size, size_t nmemb, void *userp)
{
	DwTarget   *t = userp;
	size_t		n = size * nmemb;

	DwCurlState *c = &t->probe.curl;

	if (t->body_contains != NULL && c->body_len < DW_BODY_MAX)
	{
		size_t		keep = Min(n, DW_BODY_MAX - c->body_len);

		if (c->body == NULL)
			c->body = MemoryContextAlloc(TopMemoryContext, DW_BODY_MAX + 1);
		memcpy(c->body + c->body_len, data, keep);
		c->body_len += keep;
		c->body[c->body_len] = '\0';
	}
	c->body_seen += n;
	if (c->body_seen >= DW_BODY_MAX)
		return 0;
	return n;
}

/* libcurl: one header line; more than DW_HEADERS_MAX in all stops the probe */
static size_t
header_callback(char *data, size_t size, size_t nmemb, void *userp)
{
	DwTarget   *t = userp;
	size_t		n = size * nmemb;

	t->probe.curl.headers_seen += n;
	if (t->probe.curl.headers_seen > DW_HEADERS_MAX)
		return 0;
	return n;
}

/* curl_claims: http targets, and tcp targets given by host name */
static bool
curl_claims(const DwTarget *t)
{
	return t->dep.probe == DW_PROBE_HTTP ||
		(t->dep.probe == DW_PROBE_TCP && t->addrlen == 0);
}

static void
curl_init(void)
{
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		elog(ERROR, "could not initialize libcurl");
	multi = curl_multi_init();
	if (multi == NULL)
		elog(ERROR, "could not create a libcurl multi handle");
	epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	if (epoll_fd < 0)
		elog(ERROR, "could not create an epoll set: %m");
	curl_multi_setopt(multi, CURLMOPT_SOCKETFUNCTION, socket_callback);
	curl_multi_setopt(multi, CURLMOPT_TIMERFUNCTION, timer_callback);
}

/*
 * libcurl: a probe socket was created.  Closing it will reset the
 * connection (SO_LINGER with a zero timeout) instead of the FIN exchange,
 * as load balancers' health checks do: a probe has nothing left to say
 * when it closes, and a monitor opening hundreds of connections a second
 * would otherwise leave each in TIME_WAIT for a minute, costing packets,
 * kernel work and ephemeral ports on the database server.
 */
static int
sockopt_callback(void *clientp, curl_socket_t fd, curlsocktype purpose)
{
	struct linger reset = {1, 0};

	if (purpose == CURLSOCKTYPE_IPCXN &&
		setsockopt(fd, SOL_SOCKET, SO_LINGER, &reset, sizeof(reset)) != 0)
		elog(DEBUG1, "depwatch: could not set SO_LINGER on a probe socket: %m");
	return CURL_SOCKOPT_OK;
}

/*
 * libcurl: open the socket of one connection attempt, after resolution
 * and for every address tried (a name's other addresses, a redirect's).
 * Installed for restricted requests only (dw_curl_outbound), with clientp
 * the request's refused[DW_REFUSED_LEN]: an address that
 * depwatch.allowed_addresses refuses gets no socket, so not a packet goes
 * to it; libcurl then tries the next address, or fails with
 * CURLE_COULDNT_CONNECT and refused[] says why.
 */
static curl_socket_t
opensocket_callback(void *clientp, curlsocktype purpose, struct curl_sockaddr *address)
{
	char	   *refused = clientp;

	if (!dw_policy_allows(dw_address_policy, &address->addr))
	{
		char		addr[INET6_ADDRSTRLEN];

		dw_address_text(&address->addr, addr, sizeof(addr));
		if (refused[0] == '\0')
			snprintf(refused, DW_REFUSED_LEN,
					 "address %s is not allowed by depwatch.allowed_addresses", addr);
		return CURL_SOCKET_BAD;
	}
	return socket(address->family, address->socktype | SOCK_CLOEXEC, address->protocol);
}

/*
 * dw_curl_outbound sets what every outbound request of depwatch shares, the
 * probes' and the alert webhooks' (alert_sender.c): http and https only,
 * redirects included; never a proxy from the server's environment
 * (http_proxy, ALL_PROXY...); depwatch.source_address; a timed-out name
 * resolution that does not block the loop; and, for a restricted request,
 * depwatch.allowed_addresses checked on every address it connects to (the
 * reason of a refusal in refused[DW_REFUSED_LEN], emptied here).  False if
 * libcurl refused a setting.
 */
bool
dw_curl_outbound(void *easy, bool restricted, char *refused)
{
	CURL	   *h = easy;

	refused[0] = '\0';
	if (curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https") != CURLE_OK ||
		curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https") != CURLE_OK ||
		curl_easy_setopt(h, CURLOPT_PROXY, "") != CURLE_OK ||
		curl_easy_setopt(h, CURLOPT_QUICK_EXIT, 1L) != CURLE_OK)
		return false;
	if (restricted &&
		(curl_easy_setopt(h, CURLOPT_OPENSOCKETFUNCTION, opensocket_callback) != CURLE_OK ||
		 curl_easy_setopt(h, CURLOPT_OPENSOCKETDATA, refused) != CURLE_OK))
		return false;
	/* "host!" binds to that address, never to an interface of that name */
	if (dw_source_address != NULL && dw_source_address[0] != '\0' &&
		curl_easy_setopt(h, CURLOPT_INTERFACE, psprintf("host!%s", dw_source_address)) != CURLE_OK)
		return false;
	return true;
}

/*
 * restricted_request: what a restricted http probe may not send (a 0.2
 * dependency may still hold it; the SQL functions refuse it when set).
 */
static const char *
restricted_request(DwTarget *t, char *why, size_t whylen)
{
	if (!dw_restricted_http_method(t->method))
	{
		snprintf(why, whylen, "method %s is not allowed for a probe not set by a superuser", t->method);
		return why;
	}
	for (const char *line = t->headers; line != NULL && *line; line += strcspn(line, "\n"), line += *line == '\n')
		if (!dw_restricted_http_header(line, strcspn(line, ":")))
		{
			snprintf(why, whylen, "header \"%.*s\" is not allowed for a probe not set by a superuser",
					 (int) Min(strcspn(line, ":"), 40), line);
			return why;
		}
	return NULL;
}

#define SETOPT(h, opt, val) \
	do { if (curl_easy_setopt((h), (opt), (val)) != CURLE_OK) goto fail; } while (0)

/*
 * curl_start starts one probe of t.  Returns false, with the reason in
 * why[], if it could not even start.
 */
static bool
curl_start(DwTarget *t, TimestampTz now, char *why, size_t whylen)
{
	CURL	   *h;
	struct curl_slist *headers = NULL;
	char	   *url;

	if (t->restricted && t->dep.probe == DW_PROBE_HTTP &&
		restricted_request(t, why, whylen) != NULL)
		return false;
	h = curl_easy_init();
	if (h == NULL)
	{
		snprintf(why, whylen, "could not create a libcurl handle");
		return false;
	}
	url = t->dep.probe == DW_PROBE_TCP ? psprintf("http://%s/", t->target) : t->target;

	SETOPT(h, CURLOPT_URL, url);
	SETOPT(h, CURLOPT_PRIVATE, t);
	SETOPT(h, CURLOPT_NOSIGNAL, 1L);
	SETOPT(h, CURLOPT_TIMEOUT_MS, (long) (t->timeout / 1000));
	SETOPT(h, CURLOPT_CONNECTTIMEOUT_MS, (long) (t->timeout / 1000));
	SETOPT(h, CURLOPT_FRESH_CONNECT, 1L);
	SETOPT(h, CURLOPT_FORBID_REUSE, 1L);
	SETOPT(h, CURLOPT_SOCKOPTFUNCTION, sockopt_callback);
	if (!dw_curl_outbound(h, t->restricted, t->probe.curl.refused))
		goto fail;
	if (t->dep.probe == DW_PROBE_TCP)
		SETOPT(h, CURLOPT_CONNECT_ONLY, 1L);
	else
	{
		SETOPT(h, CURLOPT_USERAGENT, "depwatch/0.1");
		SETOPT(h, CURLOPT_FOLLOWLOCATION, 0L);
		SETOPT(h, CURLOPT_SSL_VERIFYPEER, t->verify_tls ? 1L : 0L);
		SETOPT(h, CURLOPT_SSL_VERIFYHOST, t->verify_tls ? 2L : 0L);
		SETOPT(h, CURLOPT_WRITEFUNCTION, write_callback);
		SETOPT(h, CURLOPT_WRITEDATA, t);
		SETOPT(h, CURLOPT_HEADERFUNCTION, header_callback);
		SETOPT(h, CURLOPT_HEADERDATA, t);
		if (t->method == NULL || strcmp(t->method, "GET") == 0)
			;
		else if (strcmp(t->method, "HEAD") == 0)
			SETOPT(h, CURLOPT_NOBODY, 1L);
		else if (strcmp(t->method, "POST") == 0)
			SETOPT(h, CURLOPT_POSTFIELDS, "");
		else
			SETOPT(h, CURLOPT_CUSTOMREQUEST, t->method);
		if (t->headers != NULL)
		{
			char	   *copy = pstrdup(t->headers);
			char	   *save = NULL;

			for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
			{
				struct curl_slist *more = curl_slist_append(headers, line);

				if (more == NULL)
					goto fail;
				headers = more;
			}
			pfree(copy);
			SETOPT(h, CURLOPT_HTTPHEADER, headers);
		}
	}
	if (curl_multi_add_handle(multi, h) != CURLM_OK)
		goto fail;
	t->probe.curl.body_len = 0;
	t->probe.curl.body_seen = 0;
	t->probe.curl.headers_seen = 0;
	t->probe.curl.easy = h;
	t->probe.curl.header_list = headers;	/* libcurl uses it until the probe ends */
	t->in_flight = true;
	return true;

fail:
	snprintf(why, whylen, "could not set up the libcurl request");
	curl_slist_free_all(headers);
	curl_easy_cleanup(h);
	return false;
}

/* finish frees what one probe held */
static void
finish(DwTarget *t)
{
	DwCurlState *c = &t->probe.curl;

	if (c->easy == NULL)
		return;
	curl_multi_remove_handle(multi, c->easy);
	curl_easy_cleanup(c->easy);
	curl_slist_free_all(c->header_list);
	c->easy = NULL;
	c->header_list = NULL;
	t->in_flight = false;
}

/* curl_cancel also frees the body buffer, kept from probe to probe */
static void
curl_cancel(DwTarget *t)
{
	finish(t);
	if (t->probe.curl.body != NULL)
		pfree(t->probe.curl.body);
	t->probe.curl.body = NULL;
}

/* judge says whether a finished transfer is a good sample */
static bool
judge(DwTarget *t, CURL *h, CURLcode rc, char *detail, size_t len)
{
	DwCurlState *c = &t->probe.curl;
	long		status = 0;
	bool		capped = false;

	/* we stopped reading: too many headers, or enough of the body */
	if (rc == CURLE_WRITE_ERROR && c->headers_seen > DW_HEADERS_MAX)
	{
		snprintf(detail, len, "response headers longer than %d bytes", DW_HEADERS_MAX);
		return false;
	}
	if (rc == CURLE_WRITE_ERROR && c->body_seen >= DW_BODY_MAX)
	{
		rc = CURLE_OK;
		capped = true;
	}
	if (rc != CURLE_OK)
	{
		if (c->refused[0] != '\0' && rc == CURLE_COULDNT_CONNECT)
			snprintf(detail, len, "%s", c->refused);
		else if (rc == CURLE_OPERATION_TIMEDOUT)
			snprintf(detail, len, "timeout after %ld ms", (long) (t->timeout / 1000));
		else
			snprintf(detail, len, "%s", curl_easy_strerror(rc));
		return false;
	}
	if (t->dep.probe == DW_PROBE_TCP)
	{
		snprintf(detail, len, "connected");
		return true;
	}
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	if (capped)
		snprintf(detail, len, "HTTP %ld, body read up to %d bytes", status, DW_BODY_MAX);
	else
		snprintf(detail, len, "HTTP %ld", status);
	if (t->expect_status != NULL)
	{
		bool		expected = false;

		for (int i = 0; i < t->nexpect; i++)
			expected |= t->expect_status[i] == status;
		if (!expected)
			return false;
	}
	else if (status < 200 || status > 399)
		return false;
	if (t->body_contains != NULL &&
		(c->body == NULL || strstr(c->body, t->body_contains) == NULL))
	{
		/* quote at most 40 bytes of it, whole characters */
		snprintf(detail, len, "HTTP %ld without \"%.*s\" in the %sbody", status,
				 pg_mbcliplen(t->body_contains, strlen(t->body_contains), 40), t->body_contains,
				 capped ? "first 64 KB of the " : "");
		return false;
	}
	return true;
}

/* check_done hands every finished transfer to the worker */
static void
check_done(void)
{
	CURLMsg    *msg;
	int			left;

	while ((msg = curl_multi_info_read(multi, &left)) != NULL)
	{
		DwTarget   *t = NULL;
		char		detail[160];
		bool		ok;

		if (msg->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **) &t);
		ok = judge(t, msg->easy_handle, msg->data.result, detail, sizeof(detail));
		finish(t);
		dw_probe_finished(t, ok, detail);
	}
}

/* curl_fd is the one descriptor the worker waits on for every probe */
static pgsocket
curl_fd(void)
{
	return epoll_fd;
}

static long
curl_timeout_ms(TimestampTz now)
{
	if (timer_at == DT_NOEND)
		return -1;
	if (timer_at <= now)
		return 0;
	return (long) ((timer_at - now + 999) / 1000);
}

/*
 * curl_ready hands libcurl every probe socket that is ready.
 */
static void
curl_ready(void)
{
	struct epoll_event ready[256];
	int			n;
	int			running;

	n = epoll_wait(epoll_fd, ready, lengthof(ready), 0);
	for (int i = 0; i < n; i++)
	{
		int			mask = 0;

		if (ready[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR))
			mask |= CURL_CSELECT_IN;
		if (ready[i].events & (EPOLLOUT | EPOLLERR))
			mask |= CURL_CSELECT_OUT;
		if (ready[i].events & EPOLLERR)
			mask |= CURL_CSELECT_ERR;
		curl_multi_socket_action(multi, ready[i].data.fd, mask, &running);
	}
	check_done();
}

static void
curl_timer_fired(TimestampTz now)
{
	int			running;

	if (timer_at == DT_NOEND || timer_at > now)
		return;
	timer_at = DT_NOEND;
	curl_multi_socket_action(multi, CURL_SOCKET_TIMEOUT, 0, &running);
	check_done();
}

const DwProbeDriver dw_curl_driver = {
	.claims = curl_claims,
	.init = curl_init,
	.start = curl_start,
	.cancel = curl_cancel,
	.fd = curl_fd,
	.timeout_ms = curl_timeout_ms,
	.ready = curl_ready,
	.tick = curl_timer_fired,
};
