/*-------------------------------------------------------------------------
 *
 * targets.c
 *	  Check that a probe target is well formed for its probe, and hide the
 *	  secrets it may hold.
 *
 * tcp targets are "host:port" or "[v6addr]:port"; http targets are absolute
 * http(s) URLs, checked with libcurl's URL parser, which the HTTP probe uses
 * too; postgres targets are anything libpq's conninfo parser accepts (URI
 * or key=value).  passive and none dependencies are not probed, so their
 * target is free text.  Secrets are masked by the structure libpq or
 * libcurl finds in a target, whatever its probe (dw_mask_target), and
 * redacted from targets that do not parse (dw_redact_target).
 *
 *-------------------------------------------------------------------------
 */
#include "targets.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <ctype.h>
#include <curl/curl.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *const probe_names[] = {"tcp", "http", "postgres",
"passive", "none"};

/*
 * dw_probe_from_name maps a probe's SQL name to its kind.
 */
DwProbe
dw_probe_from_name(const char *name)
{
	for (int i = 0; i < (int) (sizeof(probe_names) / sizeof(probe_names[0])); i++)
		if (strcmp(name, probe_names[i]) == 0)
			return (DwProbe) i;
	return DW_PROBE_INVALID;
}

/* valid_host: a DNS name or IPv4 address (letters, digits, '.', '-', '_'). */
static bool
valid_host(const char *s, size_t len)
{
	if (len == 0 || len > 253)
		return false;
	for (size_t i = 0; i < len; i++)
	{
		char		c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			  (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_'))
			return false;
	}
	return s[0] != '-' && s[0] != '.';
}

/*
 * valid_v6: the inside of "[...]" is an IPv6 address.  libcurl, which the
 * tcp probe hands "http://target/", refuses anything else.
 */
static bool
valid_v6(const char *s, size_t len)
{
	char		buf[INET6_ADDRSTRLEN];
	struct in6_addr addr;

	if (len < 2 || len >= sizeof(buf))
		return false;
	memcpy(buf, s, len);
	buf[len] = '\0';
	return inet_pton(AF_INET6, buf, &addr) == 1;
}

/* parse_port: "1" to "65535" (at most five digits); -1 for anything else */
static long
parse_port(const char *s)
{
	long		port = 0;

	if (s[0] == '\0' || strlen(s) > 5)
		return -1;
	for (const char *p = s; *p; p++)
	{
		if (*p < '0' || *p > '9')
			return -1;
		port = port * 10 + (*p - '0');
	}
	return (port >= 1 && port <= 65535) ? port : -1;
}

static bool
check_tcp(const char *t, char *why, size_t whylen)
{
	const char *colon = strrchr(t, ':');
	const char *host = t;
	size_t		hostlen;

	if (colon == NULL)
	{
		snprintf(why, whylen, "A tcp target needs a port: \"host:port\".");
		return false;
	}
	hostlen = (size_t) (colon - t);
	if (hostlen >= 2 && t[0] == '[' && t[hostlen - 1] == ']')
	{
		if (!valid_v6(t + 1, hostlen - 2))
		{
			snprintf(why, whylen, "The IPv6 address in brackets is not valid.");
			return false;
		}
	}
	else if (!valid_host(host, hostlen))
	{
		snprintf(why, whylen,
				 "The host must be a DNS name, an IPv4 address or an IPv6 address in brackets.");
		return false;
	}

	if (parse_port(colon + 1) < 0)
	{
		snprintf(why, whylen, "The port must be a number from 1 to 65535.");
		return false;
	}
	return true;
}

/*
 * dw_tcp_address: when a tcp target gives its host as a numeric address
 * ("192.0.2.7:443" or "[2001:db8::1]:443"), fills *addr and *len and
 * returns true, so that the probe can connect without a resolver.  A host
 * name, or anything that is not a valid tcp target, returns false.
 */
bool
dw_tcp_address(const char *target, struct sockaddr_storage *addr, socklen_t *len)
{
	const char *colon = strrchr(target, ':');
	char		host[INET6_ADDRSTRLEN];
	size_t		hostlen;
	long		port;

	if (colon == NULL || (port = parse_port(colon + 1)) < 0)
		return false;
	hostlen = (size_t) (colon - target);
	memset(addr, 0, sizeof(*addr));
	if (hostlen >= 2 && target[0] == '[' && target[hostlen - 1] == ']')
	{
		struct sockaddr_in6 *a6 = (struct sockaddr_in6 *) addr;

		if (hostlen - 2 >= sizeof(host))
			return false;
		memcpy(host, target + 1, hostlen - 2);
		host[hostlen - 2] = '\0';
		if (inet_pton(AF_INET6, host, &a6->sin6_addr) != 1)
			return false;
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons((uint16_t) port);
		*len = sizeof(*a6);
	}
	else
	{
		struct sockaddr_in *a4 = (struct sockaddr_in *) addr;

		if (hostlen >= sizeof(host))
			return false;
		memcpy(host, target, hostlen);
		host[hostlen] = '\0';
		if (inet_pton(AF_INET, host, &a4->sin_addr) != 1)
			return false;
		a4->sin_family = AF_INET;
		a4->sin_port = htons((uint16_t) port);
		*len = sizeof(*a4);
	}
	return true;
}

static bool
check_http(const char *t, char *why, size_t whylen)
{
	CURLU	   *u = curl_url();
	CURLUcode	rc;
	char	   *scheme = NULL;
	char	   *host = NULL;
	bool		ok = false;

	if (u == NULL)
	{
		snprintf(why, whylen, "Out of memory while parsing the URL.");
		return false;
	}
	rc = curl_url_set(u, CURLUPART_URL, t, 0);
	if (rc != CURLUE_OK)
		snprintf(why, whylen, "libcurl cannot parse it: %s.",
				 curl_url_strerror(rc));
	else if (curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
			 (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0))
		snprintf(why, whylen, "The URL must start with http:// or https://.");
	else if (curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
			 host[0] == '\0')
		snprintf(why, whylen, "The URL has no host.");
	else
		ok = true;
	curl_free(scheme);
	curl_free(host);
	curl_url_cleanup(u);
	return ok;
}

/*
 * conninfo_error says why libpq refused a conninfo in a sentence of ours.
 * libpq's own messages quote the string around the fault (missing "="
 * after "...", invalid URI query parameter: "..."), which may be a
 * password, so they are never passed on: only which kind of fault it is.
 */
static void
conninfo_error(const char *err, char *why, size_t whylen)
{
	static const struct
	{
		const char *libpq;		/* how libpq's message starts */
		const char *ours;
	}			faults[] = {
		{"missing \"=\" after", "A keyword is not followed by \"=\"."},
		{"invalid connection option", "It names a connection keyword libpq does not know."},
		{"unterminated quoted string", "A quoted value is not closed."},
		{"invalid percent-encoded token", "A percent-encoded value is not valid."},
		{"forbidden value %00", "A percent-encoded value holds %00."},
		{"extra key/value separator", "A URI query parameter has two \"=\"."},
		{"missing key/value separator", "A URI query parameter has no \"=\"."},
		{"invalid URI query parameter", "A URI query parameter names a keyword libpq does not know."},
		{"out of memory", "Out of memory while parsing it."},
	};

	for (size_t i = 0; i < sizeof(faults) / sizeof(faults[0]); i++)
		if (err != NULL && strncmp(err, faults[i].libpq, strlen(faults[i].libpq)) == 0)
		{
			snprintf(why, whylen, "libpq cannot parse it: %s", faults[i].ours);
			return;
		}
	snprintf(why, whylen, "libpq cannot parse it as a connection string or URI.");
}

static bool
check_conninfo(const char *t, char *why, size_t whylen)
{
	char	   *err = NULL;
	PQconninfoOption *opts = PQconninfoParse(t, &err);

	if (opts == NULL)
	{
		conninfo_error(err, why, whylen);
		PQfreemem(err);
		return false;
	}
	PQconninfoFree(opts);
	return true;
}

/*
 * dw_check_target returns true when target is well formed for probe.
 * Otherwise it writes a full sentence saying why into why[] and returns
 * false.  A NULL target is wrong for the probes that need one.
 */
bool
dw_check_target(DwProbe probe, const char *target, char *why, size_t whylen)
{
	if (probe == DW_PROBE_PASSIVE || probe == DW_PROBE_NONE)
		return true;
	/* before naming the probe: DW_PROBE_INVALID has no name */
	if (probe != DW_PROBE_TCP && probe != DW_PROBE_HTTP &&
		probe != DW_PROBE_POSTGRES)
	{
		snprintf(why, whylen, "Unknown probe.");
		return false;
	}
	if (target == NULL || target[0] == '\0')
	{
		snprintf(why, whylen, "Probe \"%s\" needs a target.",
				 probe_names[probe]);
		return false;
	}
	if (probe == DW_PROBE_TCP)
		return check_tcp(target, why, whylen);
	if (probe == DW_PROBE_HTTP)
		return check_http(target, why, whylen);
	return check_conninfo(target, why, whylen);
}

/*
 * mask_query masks the value of every parameter of a URL's query
 * ("a=1&b" becomes "a=********&********"): which names carry a credential
 * cannot be told from the name, so none is trusted.
 */
static char *
mask_query(const char *query)
{
	size_t		params = 1;
	char	   *out;
	char	   *w;
	const char *p = query;

	for (const char *c = query; *c; c++)
		params += *c == '&';
	out = malloc(strlen(query) + params * strlen(DW_MASK) + 1);
	if (out == NULL)
		return NULL;
	w = out;
	while (*p)
	{
		const char *end = p + strcspn(p, "&");
		const char *eq = memchr(p, '=', end - p);

		/*
		 * keep the name of "name=value" (an empty value is masked too, so
		 * that no "name=" tells it apart); a bare parameter is all value
		 */
		if (eq != NULL)
		{
			memcpy(w, p, eq - p + 1);
			w += eq - p + 1;
		}
		if (eq != NULL || end > p)
			w += sprintf(w, "%s", DW_MASK);
		p = end;
		if (*p == '&')
			*w++ = *p++;
	}
	*w = '\0';
	return out;
}

/*
 * mask_url masks the user info of a URL (its password; or its user when
 * there is no password, as tokens are often passed as the user), the value
 * of every query parameter and the fragment.  *parsed says whether libcurl
 * could parse it; NULL when it has nothing to hide or does not parse.
 */
static char *
mask_url(const char *t, bool *parsed)
{
	CURLU	   *u = curl_url();
	char	   *part = NULL;
	char	   *masked_query = NULL;
	char	   *out = NULL;
	char	   *masked = NULL;
	bool		ok = true;
	bool		changed = false;

	*parsed = u != NULL &&
		curl_url_set(u, CURLUPART_URL, t, CURLU_NON_SUPPORT_SCHEME) == CURLUE_OK;
	if (!*parsed)
		goto done;
	if (curl_url_get(u, CURLUPART_PASSWORD, &part, 0) == CURLUE_OK)
		ok = curl_url_set(u, CURLUPART_PASSWORD, DW_MASK, 0) == CURLUE_OK;
	else if (curl_url_get(u, CURLUPART_USER, &part, 0) == CURLUE_OK)
		ok = curl_url_set(u, CURLUPART_USER, DW_MASK, 0) == CURLUE_OK;
	changed |= part != NULL;
	curl_free(part);
	part = NULL;
	if (ok && curl_url_get(u, CURLUPART_QUERY, &part, 0) == CURLUE_OK)
		ok = (masked_query = mask_query(part)) != NULL &&
			curl_url_set(u, CURLUPART_QUERY, masked_query, 0) == CURLUE_OK;
	changed |= part != NULL;
	curl_free(part);
	part = NULL;
	if (ok && curl_url_get(u, CURLUPART_FRAGMENT, &part, 0) == CURLUE_OK)
		ok = curl_url_set(u, CURLUPART_FRAGMENT, DW_MASK, 0) == CURLUE_OK;
	changed |= part != NULL;
	if (ok && changed && curl_url_get(u, CURLUPART_URL, &out, 0) == CURLUE_OK)
		masked = strdup(out);
	/* a secret found but not masked: the caller redacts instead */
	if (changed && masked == NULL)
		*parsed = false;
done:
	free(masked_query);
	curl_free(part);
	curl_free(out);
	curl_url_cleanup(u);
	return masked;
}

/* conninfo keywords whose values are secrets */
static bool
is_secret_keyword(const char *keyword)
{
	return strcmp(keyword, "password") == 0 || strcmp(keyword, "sslpassword") == 0;
}

/*
 * mask_conninfo rebuilds a conninfo (key=value or a postgresql:// URI, as
 * libpq reads it) as key=value pairs with its passwords masked.  *parsed
 * says whether libpq could parse it; NULL when it has no password or does
 * not parse.  Values are quoted as libpq expects.
 */
static char *
mask_conninfo(const char *t, bool *parsed)
{
	PQconninfoOption *opts = PQconninfoParse(t, NULL);
	PQconninfoOption *o;
	bool		has_password = false;
	size_t		cap = 1;
	char	   *out;
	char	   *w;

	*parsed = opts != NULL;
	if (opts == NULL)
		return NULL;
	for (o = opts; o->keyword != NULL; o++)
	{
		if (o->val == NULL)
			continue;
		if (is_secret_keyword(o->keyword))
			has_password = true;
		cap += strlen(o->keyword) + 2 * strlen(o->val) + strlen(DW_MASK) + 5;
	}
	if (!has_password || (out = malloc(cap)) == NULL)
	{
		/* out of memory: say it did not parse, so that it is redacted */
		*parsed = !has_password;
		PQconninfoFree(opts);
		return NULL;
	}
	w = out;
	for (o = opts; o->keyword != NULL; o++)
	{
		const char *v = o->val;

		if (v == NULL)
			continue;
		if (is_secret_keyword(o->keyword))
			v = DW_MASK;
		if (w != out)
			*w++ = ' ';
		w += sprintf(w, "%s='", o->keyword);
		for (; *v; v++)
		{
			if (*v == '\'' || *v == '\\')
				*w++ = '\\';
			*w++ = *v;
		}
		*w++ = '\'';
	}
	*w = '\0';
	PQconninfoFree(opts);
	return out;
}

/* passes of mask_parsed that dw_mask_target allows itself */
#define DW_MASK_PASSES 4

/*
 * mask_parsed masks target as a conninfo or a URL when libpq or libcurl
 * parses it (*parsed); NULL when it has nothing to hide or does not parse.
 */
static char *
mask_parsed(const char *target, bool *parsed)
{
	char	   *masked = mask_conninfo(target, parsed);

	if (*parsed || masked != NULL || strstr(target, "://") == NULL)
		return masked;
	return mask_url(target, parsed);
}

/*
 * dw_mask_target returns a malloc'd copy of target with its secrets
 * replaced by DW_MASK, or NULL when there is nothing to hide.  The
 * structure decides, not the probe: a target is often kept while its probe
 * changes (a postgres target switched to probe none keeps its password),
 * so whatever libpq parses as a conninfo has its passwords masked, whatever
 * libcurl parses as a URL its user info, query values and fragment, and
 * anything else is redacted as error messages are (dw_redact_target).
 * Free the result with dw_free_masked.
 */
char *
dw_mask_target(DwProbe probe, const char *target)
{
	char	   *masked;
	char	   *again;
	bool		parsed;

	if (target == NULL)
		return NULL;
	masked = mask_parsed(target, &parsed);
	if (!parsed && masked == NULL)
	{
		masked = dw_redact_target(target);
		if (masked != NULL && strcmp(masked, target) == 0)
		{
			free(masked);
			return NULL;
		}
	}

	/*
	 * Masking may make it parse otherwise ("password='abc" redacted is
	 * "password=********", a URI with a bad query value masked is one libpq
	 * reads): it is shown as it would then be masked, so that masking what
	 * is masked changes nothing.
	 */
	for (int pass = 1; masked != NULL && pass < DW_MASK_PASSES; pass++)
	{
		again = mask_parsed(masked, &parsed);
		if (again == NULL || strcmp(again, masked) == 0)
		{
			free(again);
			break;
		}
		free(masked);
		masked = again;
	}
	return masked;
}

/*
 * value_end returns the end of the value that starts at q, so that it holds
 * whatever libpq would read as the value: in a URL's query, up to '&'; in
 * a conninfo, up to a blank that is neither quoted nor escaped with a
 * backslash, quotes anywhere in it.
 */
static const char *
value_end(const char *q, bool in_url)
{
	bool		quoted = false;

	if (in_url)
		return q + strcspn(q, "&");
	for (; *q; q++)
	{
		if (!quoted && isspace((unsigned char) *q))
			break;
		if (*q == '\\' && q[1])
			q++;
		else if (*q == '\'')
			quoted = !quoted;
	}
	return q;
}

/*
 * authority_start returns where the user part of a URL may begin, as
 * libcurl reads a probe's URL: after "scheme:" and its slashes, or at the
 * start when there is no scheme (libcurl then guesses one, so
 * "user:pw@host" has a password too).  *has_scheme says which.
 */
static const char *
authority_start(const char *t, bool *has_scheme)
{
	const char *p = t;

	while (isalnum((unsigned char) *p) || *p == '+' || *p == '-' || *p == '.')
		p++;
	*has_scheme = p > t && p[0] == ':' && p[1] == '/';
	if (!*has_scheme)
		return t;
	for (p++; *p == '/'; p++)
		;
	return p;
}

/* is_keyword: what may be a conninfo keyword, letters, digits and '_' */
static bool
is_keyword(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (!isalnum((unsigned char) s[i]) && s[i] != '_')
			return false;
	return len > 0;
}

/*
 * redact_conninfo returns a malloc'd copy of a key=value text that libpq
 * refused, keeping its keywords and masking everything else: every value,
 * every word not followed by "=" (libpq refuses it, and it may be a value
 * whose keyword was mistyped or left out), and every "keyword" that could
 * not be one (it may be a URL's user info).
 */
static char *
redact_conninfo(const char *t)
{
	size_t		len = strlen(t);

	/* at worst each byte becomes "mask=mask" */
	char	   *out = malloc((len + 1) * (2 * strlen(DW_MASK) + 2));
	char	   *w = out;
	const char *p = t;

	if (out == NULL)
		return NULL;
	while (*p)
	{
		const char *word = p;
		const char *q;
		bool		has_value;

		if (isspace((unsigned char) *p))
		{
			*w++ = *p++;
			continue;
		}
		while (*p && *p != '=' && !isspace((unsigned char) *p))
			p++;
		for (q = p; isspace((unsigned char) *q); q++)
			;
		has_value = *q == '=';
		/* a keyword is kept; no keyword, or one that is none ("u:pw@h=x"), is not */
		if (has_value && is_keyword(word, p - word))
		{
			memcpy(w, word, p - word);
			w += p - word;
		}
		else
			w += sprintf(w, "%s", DW_MASK);
		if (has_value)
		{
			for (q++; isspace((unsigned char) *q); q++)
				;
			p = value_end(q, false);
			w += sprintf(w, "=%s", DW_MASK);
		}
	}
	*w = '\0';
	return out;
}

/*
 * redact_once returns a malloc'd copy of target with the user info of a
 * URL ("//user:pw@" and "user:pw@" lose the password, "//token@" the
 * user), every value of a URL's query and its fragment, and the value of
 * any "password=" replaced by DW_MASK.  A text with "=" that is not a URL
 * is read as a conninfo: see redact_conninfo.
 */
static char *
redact_once(const char *target)
{
	size_t		len = strlen(target);
	char	   *out;
	char	   *w;
	const char *p = target;
	bool		in_url;
	const char *auth = authority_start(target, &in_url);

	/*
	 * libpq's URIs end the user part at the first '/', libcurl's URLs at the
	 * first '/', '?' or '#'; a URL that parses with neither may mean either,
	 * so its user part runs to the last '@'.
	 */
	const char *end = auth + strcspn(auth, "/");
	const char *at = in_url ? strrchr(auth, '@') : memchr(auth, '@', end - auth);
	const char *colon = at ? memchr(auth, ':', at - auth) : NULL;
	const char *query = in_url ? strpbrk(at ? at : auth, "?#") : NULL;

	if (!in_url && strchr(target, '=') != NULL)
		return redact_conninfo(target);
	/* at worst every other byte starts a masked value */
	out = malloc(len + strlen(DW_MASK) * (len / 2 + 2) + 1);
	if (out == NULL)
		return NULL;
	w = out;
	while (*p)
	{
		if (p == colon || (in_url && at > auth && colon == NULL && p == auth))
		{
			w += sprintf(w, "%s%s", p == colon ? ":" : "", DW_MASK);
			p = at;
			continue;
		}
		if (p == query)
		{
			size_t		qlen = strcspn(p, "#");

			if (*p == '?')
			{
				char	   *q = strndup(p + 1, qlen - 1);
				char	   *masked = q ? mask_query(q) : NULL;

				if (masked == NULL)
				{
					free(q);
					free(out);
					return NULL;
				}
				w += sprintf(w, "?%s", masked);
				free(q);
				free(masked);
			}
			if (p[qlen] == '#')
				w += sprintf(w, "#%s", DW_MASK);
			break;
		}
		if (strncasecmp(p, "password", 8) == 0)
		{
			const char *q = p + 8;

			while (isspace((unsigned char) *q))
				q++;
			if (*q == '=')
			{
				for (q++; isspace((unsigned char) *q); q++)
					;
				w += sprintf(w, "password=%s", DW_MASK);
				p = value_end(q, in_url);
				continue;
			}
		}
		*w++ = *p++;
	}
	*w = '\0';
	return out;
}

/* passes of redact_once that dw_redact_target allows itself */
#define DW_REDACT_PASSES 4

/*
 * dw_redact_target returns a malloc'd copy of a target that may not parse,
 * for error messages, with its passwords replaced by DW_MASK.  Masking a
 * value can join what the value kept apart (a '/' in it no longer ends a
 * URL's user part), so it redacts again until nothing changes.
 */
char *
dw_redact_target(const char *target)
{
	char	   *out = redact_once(target);

	for (int pass = 1; out != NULL && pass < DW_REDACT_PASSES; pass++)
	{
		char	   *again = redact_once(out);
		bool		same = again == NULL || strcmp(again, out) == 0;

		free(same ? again : out);
		if (same)
			break;
		out = again;
	}
	return out;
}

void
dw_free_masked(char *masked)
{
	free(masked);
}

/* add_secret appends a copy of value (when not empty) to the list */
static void
add_secret(char ***list, int *n, const char *value, size_t len)
{
	char	  **grown;
	char	   *copy;

	if (value == NULL || len == 0 || (copy = strndup(value, len)) == NULL)
		return;
	grown = realloc(*list, sizeof(char *) * (*n + 2));
	if (grown == NULL)
	{
		free(copy);
		return;
	}
	*list = grown;
	(*list)[(*n)++] = copy;
	(*list)[*n] = NULL;
}

/*
 * dw_target_secrets: what a probe hands its peer that the peer could echo
 * back into an error message, which a sample's detail would then show to
 * readers: the password and sslpassword of a connection string, the user
 * info of a URL (as written and decoded), and the values of the "Name:
 * value" header lines.  A malloc'd list ending with NULL, or NULL when
 * there is nothing; free it with dw_free_secrets.
 */
char	  **
dw_target_secrets(const char *target, const char *headers)
{
	char	  **list = NULL;
	int			n = 0;

	if (target != NULL)
	{
		PQconninfoOption *opts = PQconninfoParse(target, NULL);
		CURLU	   *u = curl_url();

		for (PQconninfoOption *o = opts; o != NULL && o->keyword != NULL; o++)
			if (o->val != NULL && (strcmp(o->keyword, "password") == 0 ||
								   strcmp(o->keyword, "sslpassword") == 0))
				add_secret(&list, &n, o->val, strlen(o->val));
		if (opts != NULL)
			PQconninfoFree(opts);
		if (u != NULL &&
			curl_url_set(u, CURLUPART_URL, target, CURLU_NON_SUPPORT_SCHEME) == CURLUE_OK)
		{
			static const CURLUPart parts[] = {CURLUPART_PASSWORD, CURLUPART_USER};

			for (int i = 0; i < 2; i++)
				for (unsigned int decode = 0; decode <= CURLU_URLDECODE; decode += CURLU_URLDECODE)
				{
					char	   *part = NULL;

					if (curl_url_get(u, parts[i], &part, decode) == CURLUE_OK && part != NULL)
						add_secret(&list, &n, part, strlen(part));
					curl_free(part);
				}
		}
		curl_url_cleanup(u);
	}
	for (const char *line = headers; line != NULL && *line != '\0';)
	{
		const char *end = strchr(line, '\n');
		const char *colon = memchr(line, ':', end ? (size_t) (end - line) : strlen(line));

		if (colon != NULL)
		{
			const char *value = colon + 1;
			size_t		len = (end ? end : line + strlen(line)) - value;

			while (len > 0 && *value == ' ')
				value++, len--;
			add_secret(&list, &n, value, len);
		}
		line = end ? end + 1 : NULL;
	}
	return list;
}

/* longer_first orders secrets longest first, for qsort */
static int
longer_first(const void *a, const void *b)
{
	size_t		la = strlen(*(char *const *) a);
	size_t		lb = strlen(*(char *const *) b);

	return (la < lb) - (la > lb);
}

/*
 * dw_hide_secrets: a malloc'd copy of text with every occurrence of each
 * secret replaced by DW_MASK, longer secrets first (so that one inside
 * another is not left half shown), or NULL when out of memory.  The search
 * goes on after each mask put in, so a secret the mask contains is not
 * found in it again.
 */
char *
dw_hide_secrets(const char *text, char *const *secrets)
{
	const size_t masklen = strlen(DW_MASK);
	char	   *out = strdup(text);
	char	  **sorted;
	int			n = 0;

	while (secrets != NULL && secrets[n] != NULL)
		n++;
	if (out == NULL || n == 0)
		return out;
	if ((sorted = malloc(sizeof(char *) * n)) == NULL)
	{
		free(out);
		return NULL;
	}
	memcpy(sorted, secrets, sizeof(char *) * n);
	qsort(sorted, n, sizeof(char *), longer_first);
	/*
	 * A mask put in can make, with what stands next to it, a secret hidden
	 * earlier ("a**" after "b" of "ab" is masked): go round until nothing is
	 * found.  Each mask takes away at least one character that is not '*'
	 * (secrets of '*' alone are left: the mask is made of them), so this
	 * ends.
	 */
	for (bool found = true; found && out != NULL;)
	{
		found = false;
		for (int i = 0; i < n && out != NULL; i++)
		{
			size_t		len = strlen(sorted[i]);
			size_t		from = 0;
			char	   *hit;

			if (strspn(sorted[i], "*") == len)
				continue;
			while ((hit = strstr(out + from, sorted[i])) != NULL)
			{
				size_t		before = hit - out;
				size_t		after = strlen(hit + len);
				char	   *next = malloc(before + masklen + after + 1);

				if (next != NULL)
				{
					memcpy(next, out, before);
					memcpy(next + before, DW_MASK, masklen);
					memcpy(next + before + masklen, hit + len, after + 1);
				}
				free(out);
				out = next;
				if (out == NULL)
					break;
				from = before + masklen;
				found = true;
			}
		}
	}
	free(sorted);
	return out;
}

void
dw_free_secrets(char **secrets)
{
	for (int i = 0; secrets != NULL && secrets[i] != NULL; i++)
		free(secrets[i]);
	free(secrets);
}
