/*-------------------------------------------------------------------------
 *
 * curl_common.h
 *	  libcurl as depwatch uses it, once for its two users: the probes
 *	  (probe_curl.c) and the alert webhooks (alert_sender.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef DEPWATCH_CURL_COMMON_H
#define DEPWATCH_CURL_COMMON_H

#include <curl/curl.h>

#include "datatype/timestamp.h"

#include "probe.h"

/*
 * A libcurl multi handle whose sockets live in an epoll set of their own,
 * which the worker's WaitEventSet watches as one readable descriptor:
 * adding and removing a socket costs one epoll_ctl, whatever the number of
 * requests in flight.
 */
typedef struct DwCurlMulti
{
	CURLM	   *multi;
	int			epoll_fd;
	TimestampTz timer_at;		/* when libcurl wants to be called; DT_NOEND */
	const char *what;			/* "a probe socket": one socket, in the log */
} DwCurlMulti;

/* set one option of easy handle h, or go to the caller's "fail" label */
#define SETOPT(h, opt, val) \
	do { if (curl_easy_setopt((h), (opt), (val)) != CURLE_OK) goto fail; } while (0)

extern void dw_curl_multi_init(DwCurlMulti *m, const char *what);
extern void dw_curl_multi_ready(DwCurlMulti *m);
extern bool dw_curl_multi_timer(DwCurlMulti *m, TimestampTz now);
extern bool dw_curl_request(CURL *h, const char *url, void *owner, long timeout_ms,
							bool restricted, char *refused, size_t *headers_seen);
extern bool dw_curl_failed(CURLcode rc, bool body_capped, size_t headers_seen,
						   const char *refused, long timeout_ms,
						   char *error, size_t len);

#endif							/* DEPWATCH_CURL_COMMON_H */
