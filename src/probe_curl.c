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
 * The multi handle, its epoll set and the outbound rules of every request
 * are curl_common.c's, shared with the alert sender; the worker waits on
 * curl_fd() and calls curl_ready() and curl_timer_fired().
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <sys/socket.h>

#include "mb/pg_wchar.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "curl_common.h"
#include "outbound.h"
#include "probe.h"

static DwCurlMulti curl;

static void check_done(void);

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
	dw_curl_multi_init(&curl, "a probe socket");
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

	if (!dw_curl_request(h, url, t, (long) (t->timeout / 1000), t->restricted,
						 t->probe.curl.refused, &t->probe.curl.headers_seen))
		goto fail;
	SETOPT(h, CURLOPT_SOCKOPTFUNCTION, sockopt_callback);
	if (t->dep.probe == DW_PROBE_TCP)
		SETOPT(h, CURLOPT_CONNECT_ONLY, 1L);
	else
	{
		SETOPT(h, CURLOPT_USERAGENT, "depwatch/0.1");
		SETOPT(h, CURLOPT_SSL_VERIFYPEER, t->verify_tls ? 1L : 0L);
		SETOPT(h, CURLOPT_SSL_VERIFYHOST, t->verify_tls ? 2L : 0L);
		SETOPT(h, CURLOPT_WRITEFUNCTION, write_callback);
		SETOPT(h, CURLOPT_WRITEDATA, t);
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
	if (curl_multi_add_handle(curl.multi, h) != CURLM_OK)
		goto fail;
	t->probe.curl.body_len = 0;
	t->probe.curl.body_seen = 0;
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
	curl_multi_remove_handle(curl.multi, c->easy);
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
	capped = rc == CURLE_WRITE_ERROR && c->body_seen >= DW_BODY_MAX;
	if (dw_curl_failed(rc, capped, c->headers_seen, c->refused,
					   (long) (t->timeout / 1000), detail, len))
		return false;
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

	while ((msg = curl_multi_info_read(curl.multi, &left)) != NULL)
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
	return curl.epoll_fd;
}

static long
curl_timeout_ms(TimestampTz now)
{
	if (curl.timer_at == DT_NOEND)
		return -1;
	if (curl.timer_at <= now)
		return 0;
	return (long) ((curl.timer_at - now + 999) / 1000);
}

/*
 * curl_ready hands libcurl every probe socket that is ready.
 */
static void
curl_ready(void)
{
	dw_curl_multi_ready(&curl);
	check_done();
}

static void
curl_timer_fired(TimestampTz now)
{
	if (dw_curl_multi_timer(&curl, now))
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
