/*-------------------------------------------------------------------------
 *
 * outbound.c
 *	  The rules for restricted probes (doc/semantics.md, "Restricted
 *	  probes").
 *
 * A dependency whose probe settings a superuser made last is probed as
 * set.  Any other is restricted:
 *   - it reaches only the addresses depwatch.allowed_addresses allows, and
 *     never a unix socket.  What can be known from the target (numeric
 *     addresses, socket paths, "localhost") is refused when it is set; the
 *     probe worker checks every address it actually connects to, after
 *     resolution, since a name may resolve anywhere;
 *   - a postgres probe takes only plain connection keywords: nothing that
 *     changes the session (options), reads the server's files (passfile,
 *     service, ssl* paths) or its credentials (gss*, krbsrvname);
 *   - an http probe uses only GET, HEAD or OPTIONS, which change nothing
 *     on the peer, and no header that picks another virtual host or
 *     changes how the request is framed or forwarded.
 *
 *-------------------------------------------------------------------------
 */
#include "outbound.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/*
 * the libpq keywords a restricted postgres probe may set (doc/semantics.md,
 * "Restricted probes")
 */
static const char *const plain_keywords[] = {
	"host", "hostaddr", "port", "dbname", "user", "password",
	"connect_timeout", "sslmode", "application_name"
};

/* headers a restricted http probe may not set (compared case-insensitively) */
static const char *const refused_headers[] = {
	"host", "connection", "content-length", "transfer-encoding", "te",
	"trailer", "upgrade", "expect", "keep-alive", "forwarded",
	"x-forwarded-for", "x-forwarded-host", "x-forwarded-proto", "x-real-ip",
	"proxy-authorization", "proxy-connection"
};

bool
dw_restricted_pg_keyword(const char *keyword)
{
	for (size_t i = 0; i < sizeof(plain_keywords) / sizeof(plain_keywords[0]); i++)
		if (strcmp(keyword, plain_keywords[i]) == 0)
			return true;
	return false;
}

bool
dw_restricted_http_method(const char *method)
{
	return method == NULL || strcmp(method, "GET") == 0 ||
		strcmp(method, "HEAD") == 0 || strcmp(method, "OPTIONS") == 0;
}

bool
dw_restricted_http_header(const char *name, size_t len)
{
	for (size_t i = 0; i < sizeof(refused_headers) / sizeof(refused_headers[0]); i++)
		if (strlen(refused_headers[i]) == len &&
			strncasecmp(name, refused_headers[i], len) == 0)
			return false;
	return true;
}

/* is_localhost: "localhost" and names under it resolve to loopback (RFC 6761) */
static bool
is_localhost(const char *host, size_t len)
{
	static const char suffix[] = ".localhost";

	while (len > 0 && host[len - 1] == '.')
		len--;
	if (len == 9 && strncasecmp(host, "localhost", 9) == 0)
		return true;
	return len > sizeof(suffix) - 1 &&
		strncasecmp(host + len - (sizeof(suffix) - 1), suffix, sizeof(suffix) - 1) == 0;
}

/*
 * check_host judges one host as far as it can be known without resolving
 * it: a numeric address against the policy, "localhost" as loopback.
 */
static DwOutbound
check_host(const char *host, size_t len, const DwAddressPolicy *policy,
		   char *why, size_t whylen)
{
	char		buf[256];
	bool		numeric;

	if (len >= sizeof(buf))
		return DW_OUTBOUND_OK;	/* too long for an address: a name */
	memcpy(buf, host, len);
	buf[len] = '\0';
	if (is_localhost(buf, len) ||
		!dw_policy_allows_text(policy, buf, &numeric))
	{
		snprintf(why, whylen, "address %s is not allowed by depwatch.allowed_addresses", buf);
		return DW_OUTBOUND_ADDRESS;
	}
	return DW_OUTBOUND_OK;
}

/* nth_item: the n-th comma-separated item of list (NULL: none), its length in *len */
static const char *
nth_item(const char *list, int n, size_t *len)
{
	if (list == NULL)
		return NULL;
	for (int i = 0; i < n; i++)
	{
		list = strchr(list, ',');
		if (list == NULL)
			return NULL;
		list++;
	}
	*len = strcspn(list, ",");
	return list;
}

/*
 * dw_restricted_conninfo judges a parsed postgres conninfo: only plain
 * keywords, and every host either a name or an allowed address; a unix
 * socket (a path, an abstract "@name", or no host at all, which is libpq's
 * default) never.
 */
DwOutbound
dw_restricted_conninfo(const PQconninfoOption *opts, const DwAddressPolicy *policy,
					   char *why, size_t whylen)
{
	const char *host = NULL;
	const char *hostaddr = NULL;
	int			n = 1;

	for (const PQconninfoOption *o = opts; o->keyword; o++)
	{
		if (o->val == NULL || o->val[0] == '\0')
			continue;
		if (!dw_restricted_pg_keyword(o->keyword))
		{
			snprintf(why, whylen, "connection keyword \"%s\" is not allowed", o->keyword);
			return DW_OUTBOUND_KEYWORD;
		}
		if (strcmp(o->keyword, "host") == 0)
			host = o->val;
		else if (strcmp(o->keyword, "hostaddr") == 0)
			hostaddr = o->val;
	}
	for (const char *c = host ? host : ""; *c; c++)
		n += *c == ',';
	for (int i = 0, m = 1; hostaddr && hostaddr[i]; i++)
		if (hostaddr[i] == ',' && ++m > n)
			n = m;

	for (int i = 0; i < n; i++)
	{
		size_t		hlen = 0;
		size_t		alen = 0;
		const char *h = nth_item(host, i, &hlen);
		const char *a = nth_item(hostaddr, i, &alen);
		DwOutbound	v;

		if (a != NULL && alen > 0)
			v = check_host(a, alen, policy, why, whylen);
		else if (h == NULL || hlen == 0 || h[0] == '/' || h[0] == '@')
		{
			snprintf(why, whylen, "a unix socket is not allowed");
			return DW_OUTBOUND_SOCKET;
		}
		else
			v = check_host(h, hlen, policy, why, whylen);
		if (v != DW_OUTBOUND_OK)
			return v;
	}
	return DW_OUTBOUND_OK;
}

/* the host of an http URL, without the brackets of an IPv6 address */
static DwOutbound
check_url(const char *url, const DwAddressPolicy *policy, char *why, size_t whylen)
{
	CURLU	   *u = curl_url();
	char	   *host = NULL;
	DwOutbound	v = DW_OUTBOUND_INVALID;

	if (u != NULL && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
		curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK)
	{
		size_t		len = strlen(host);

		if (len >= 2 && host[0] == '[' && host[len - 1] == ']')
			v = check_host(host + 1, len - 2, policy, why, whylen);
		else
			v = check_host(host, len, policy, why, whylen);
	}
	else
		snprintf(why, whylen, "the URL does not parse");
	curl_free(host);
	curl_url_cleanup(u);
	return v;
}

/*
 * dw_restricted_target judges a target as far as it can be known before
 * any resolution.  why[] gets a phrase such as "address 127.0.0.1 is not
 * allowed by depwatch.allowed_addresses".
 */
DwOutbound
dw_restricted_target(DwProbe probe, const char *target, const DwAddressPolicy *policy,
					 char *why, size_t whylen)
{
	if (target == NULL)
		return DW_OUTBOUND_OK;
	if (probe == DW_PROBE_TCP)
	{
		const char *colon = strrchr(target, ':');
		size_t		len = colon ? (size_t) (colon - target) : strlen(target);

		if (len >= 2 && target[0] == '[' && target[len - 1] == ']')
			return check_host(target + 1, len - 2, policy, why, whylen);
		return check_host(target, len, policy, why, whylen);
	}
	if (probe == DW_PROBE_HTTP)
		return check_url(target, policy, why, whylen);
	if (probe == DW_PROBE_POSTGRES)
	{
		PQconninfoOption *opts = PQconninfoParse(target, NULL);
		DwOutbound	v;

		if (opts == NULL)
		{
			snprintf(why, whylen, "the connection string does not parse");
			return DW_OUTBOUND_INVALID;
		}
		v = dw_restricted_conninfo(opts, policy, why, whylen);
		PQconninfoFree(opts);
		return v;
	}
	return DW_OUTBOUND_OK;
}
