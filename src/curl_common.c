/*-------------------------------------------------------------------------
 *
 * curl_common.c
 *	  libcurl as depwatch uses it, once for its two users: the probes
 *	  (probe_curl.c) and the alert webhooks (alert_sender.c).
 *
 * Both drive a multi handle through the worker's event loop (the socket
 * and timer callbacks below; nothing waits on a socket), set up every
 * request with the same outbound rules (dw_curl_request), and tell a
 * failed transfer in the same words (dw_curl_failed).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <arpa/inet.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "utils/timestamp.h"

#include "address_policy.h"
#include "curl_common.h"
#include "depwatch.h"

/* CURLOPT_QUICK_EXIT: a timed-out name resolution does not block the loop */
#if LIBCURL_VERSION_NUM < 0x075700
#error "depwatch needs libcurl 7.87 or later"
#endif

/*
 * libcurl: watch fd for "what" in m's epoll set, or stop watching it.
 */
static int
socket_callback(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
	DwCurlMulti *m = userp;
	struct epoll_event ev;

	if (what == CURL_POLL_REMOVE)
	{
		/* the socket may be closed already: then epoll has forgotten it */
		(void) epoll_ctl(m->epoll_fd, EPOLL_CTL_DEL, fd, NULL);
		return 0;
	}
	memset(&ev, 0, sizeof(ev));
	ev.data.fd = fd;
	if (what & CURL_POLL_IN)
		ev.events |= EPOLLIN;
	if (what & CURL_POLL_OUT)
		ev.events |= EPOLLOUT;
	if (epoll_ctl(m->epoll_fd, EPOLL_CTL_MOD, fd, &ev) != 0 &&
		epoll_ctl(m->epoll_fd, EPOLL_CTL_ADD, fd, &ev) != 0)
		elog(WARNING, "depwatch: could not watch %s: %m", m->what);
	return 0;
}

/* libcurl: call me back in timeout_ms (-1: never) */
static int
timer_callback(CURLM *multi, long timeout_ms, void *userp)
{
	DwCurlMulti *m = userp;

	m->timer_at = timeout_ms < 0 ? DT_NOEND :
		TimestampTzPlusMilliseconds(GetCurrentTimestamp(), timeout_ms);
	return 0;
}

/*
 * dw_curl_multi_init makes m's multi handle and its epoll set; "what"
 * names one of its sockets in the log ("a probe socket").
 */
void
dw_curl_multi_init(DwCurlMulti *m, const char *what)
{
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		elog(ERROR, "could not initialize libcurl");
	m->what = what;
	m->timer_at = DT_NOEND;
	m->multi = curl_multi_init();
	if (m->multi == NULL)
		elog(ERROR, "could not create a libcurl multi handle");
	m->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	if (m->epoll_fd < 0)
		elog(ERROR, "could not create an epoll set: %m");
	curl_multi_setopt(m->multi, CURLMOPT_SOCKETFUNCTION, socket_callback);
	curl_multi_setopt(m->multi, CURLMOPT_SOCKETDATA, m);
	curl_multi_setopt(m->multi, CURLMOPT_TIMERFUNCTION, timer_callback);
	curl_multi_setopt(m->multi, CURLMOPT_TIMERDATA, m);
}

/* dw_curl_multi_ready hands libcurl every socket of m that is ready */
void
dw_curl_multi_ready(DwCurlMulti *m)
{
	struct epoll_event ready[256];
	int			n;
	int			running;

	n = epoll_wait(m->epoll_fd, ready, lengthof(ready), 0);
	for (int i = 0; i < n; i++)
	{
		int			mask = 0;

		if (ready[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR))
			mask |= CURL_CSELECT_IN;
		if (ready[i].events & (EPOLLOUT | EPOLLERR))
			mask |= CURL_CSELECT_OUT;
		if (ready[i].events & EPOLLERR)
			mask |= CURL_CSELECT_ERR;
		curl_multi_socket_action(m->multi, ready[i].data.fd, mask, &running);
	}
}

/*
 * dw_curl_multi_timer calls libcurl back if its timer is due at "now";
 * true if it did (transfers may have ended).
 */
bool
dw_curl_multi_timer(DwCurlMulti *m, TimestampTz now)
{
	int			running;

	if (m->timer_at == DT_NOEND || m->timer_at > now)
		return false;
	m->timer_at = DT_NOEND;
	curl_multi_socket_action(m->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	return true;
}

/*
 * libcurl: open the socket of one connection attempt, after resolution
 * and for every address tried (a name's other addresses, a redirect's).
 * Installed for restricted requests only (dw_curl_request), with clientp
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

/* libcurl: one header line; more than DW_HEADERS_MAX in all stops the transfer */
static size_t
header_callback(char *data, size_t size, size_t nmemb, void *userp)
{
	size_t	   *seen = userp;
	size_t		n = size * nmemb;

	*seen += n;
	return *seen > DW_HEADERS_MAX ? 0 : n;
}

/*
 * dw_curl_request sets what every outbound request of depwatch shares, the
 * probes' and the alert webhooks': the URL, the easy handle's owner
 * (CURLINFO_PRIVATE), timeout_ms for the whole request and for its
 * connection, a connection of its own each time (so that latency means the
 * same each time, and so that a connection kept from a request that may go
 * anywhere never carries a restricted one past the address check, which is
 * made when a socket is opened), no redirect followed, and the answer's
 * headers counted in *headers_seen, up to DW_HEADERS_MAX.  Then the
 * outbound rules: http and https only, redirects included; never a proxy
 * from the server's environment (http_proxy, ALL_PROXY...);
 * depwatch.source_address; a timed-out name resolution that does not block
 * the loop; and, for a restricted request, depwatch.allowed_addresses
 * checked on every address it connects to (the reason of a refusal in
 * refused[DW_REFUSED_LEN], emptied here).  False if libcurl refused a
 * setting.
 */
bool
dw_curl_request(CURL *h, const char *url, void *owner, long timeout_ms,
				bool restricted, char *refused, size_t *headers_seen)
{
	refused[0] = '\0';
	*headers_seen = 0;
	SETOPT(h, CURLOPT_URL, url);
	SETOPT(h, CURLOPT_PRIVATE, owner);
	SETOPT(h, CURLOPT_NOSIGNAL, 1L);
	SETOPT(h, CURLOPT_TIMEOUT_MS, timeout_ms);
	SETOPT(h, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
	SETOPT(h, CURLOPT_FRESH_CONNECT, 1L);
	SETOPT(h, CURLOPT_FORBID_REUSE, 1L);
	SETOPT(h, CURLOPT_FOLLOWLOCATION, 0L);
	SETOPT(h, CURLOPT_HEADERFUNCTION, header_callback);
	SETOPT(h, CURLOPT_HEADERDATA, headers_seen);
	SETOPT(h, CURLOPT_PROTOCOLS_STR, "http,https");
	SETOPT(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	SETOPT(h, CURLOPT_PROXY, "");
	SETOPT(h, CURLOPT_QUICK_EXIT, 1L);
	if (restricted)
	{
		SETOPT(h, CURLOPT_OPENSOCKETFUNCTION, opensocket_callback);
		SETOPT(h, CURLOPT_OPENSOCKETDATA, refused);
	}
	/* "host!" binds to that address, never to an interface of that name */
	if (dw_source_address != NULL && dw_source_address[0] != '\0')
		SETOPT(h, CURLOPT_INTERFACE, psprintf("host!%s", dw_source_address));
	return true;

fail:
	return false;
}

/*
 * dw_curl_failed: did a finished transfer fail?  If so, why, in error[]:
 * answer headers past DW_HEADERS_MAX, an address refused, the timeout, or
 * libcurl's word for it.  body_capped: the caller stopped reading a long
 * body (a CURLE_WRITE_ERROR), after the status was known; that is no
 * failure.
 */
bool
dw_curl_failed(CURLcode rc, bool body_capped, size_t headers_seen,
			   const char *refused, long timeout_ms, char *error, size_t len)
{
	if (rc == CURLE_WRITE_ERROR && headers_seen > DW_HEADERS_MAX)
	{
		snprintf(error, len, "response headers longer than %d bytes", DW_HEADERS_MAX);
		return true;
	}
	if (rc == CURLE_OK || body_capped)
		return false;
	if (refused[0] != '\0' && rc == CURLE_COULDNT_CONNECT)
		snprintf(error, len, "%s", refused);
	else if (rc == CURLE_OPERATION_TIMEDOUT)
		snprintf(error, len, "timeout after %ld ms", timeout_ms);
	else
		snprintf(error, len, "%s", curl_easy_strerror(rc));
	return true;
}
