/*-------------------------------------------------------------------------
 *
 * fuzz_targets.c
 *	  Fuzz target for probe targets (src/targets.c): the check, the masking
 *	  of secrets and the redaction of targets that do not parse.
 *
 * The first input byte picks the probe name (bits 0-2: tcp, http,
 * postgres, passive, none or an unknown name), a NULL target (bit 7) and a
 * short message buffer (bit 6, length from bits 3-5); the rest is the
 * target.  Properties:
 *   - the check is deterministic, writes a full sentence within the buffer
 *     it is given, and gives the same verdict whatever the buffer's size;
 *   - a tcp or http target it accepts is one the probe can use: libcurl
 *     parses the URL the probe builds from it, with the probe's flags, and
 *     finds the same port (tcp) or scheme (http);
 *   - a tcp target given by address is connected to without libcurl, at
 *     the address and port libcurl would have used;
 *   - masking goes by structure, whatever the probe: a target libpq parses
 *     is masked as a conninfo, which parses to the same options as the
 *     original with every password replaced by the mask, and is only masked
 *     when it has a password; what a reader is shown (the masked target, or
 *     the target when there is nothing to mask) gives libpq and libcurl no
 *     password but the mask; masking is idempotent (what is masked masks to
 *     itself or has nothing left to hide, so no secret survives the first
 *     pass);
 *   - a redacted target shows no value after any "password=" but the mask,
 *     libpq and libcurl read no password from it but the mask, redacting
 *     it again changes nothing, and it is the target itself when there is
 *     nothing to redact (no "password", "@", "=", "?" or "#").
 *
 *-------------------------------------------------------------------------
 */
#define _GNU_SOURCE				/* strcasestr */
#include "fuzz.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <libpq-fe.h>
#include <strings.h>

#include "targets.h"

static const char *const names[] = {"tcp", "http", "postgres", "passive",
"none", "bogus", "", "TCP"};

/* what libcurl does to the URL of a probe (CURLOPT_URL) */
#define PROBE_URL_FLAGS (CURLU_GUESS_SCHEME | CURLU_NON_SUPPORT_SCHEME)

static bool
is_secret_keyword(const char *keyword)
{
	return strcmp(keyword, "password") == 0 || strcmp(keyword, "sslpassword") == 0;
}

static void
check_why(bool ok, const char *why, size_t whylen)
{
	size_t		n = strnlen(why, whylen);

	if (ok)
		return;
	FUZZ_CHECK(n < whylen, "message not terminated within %zu bytes", whylen);
	if (whylen < 64)
		return;
	FUZZ_CHECK(n > 0, "rejected without a reason");
	FUZZ_CHECK(n == whylen - 1 || why[n - 1] == '.',
			   "reason \"%s\" is not a sentence", why);
}

/*
 * check_tcp_address: a tcp target the worker connects to without libcurl
 * (dw_tcp_address) is the address and port libcurl would have connected
 * to; an address written as libcurl writes it back (dotted quad, or
 * bracketed IPv6 in its shortest form) is not left to libcurl.
 */
static void
check_tcp_address(const char *target, CURLU *u, int port)
{
	struct sockaddr_storage addr;
	socklen_t	len = 0;
	bool		direct = dw_tcp_address(target, &addr, &len);
	char	   *host = NULL;
	char		bare[INET6_ADDRSTRLEN + 2];
	unsigned char want[sizeof(struct in6_addr)];
	int			family;

	FUZZ_CHECK(curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK,
			   "accepted tcp target \"%s\" has no host for libcurl", target);
	family = host[0] == '[' ? AF_INET6 : AF_INET;
	snprintf(bare, sizeof(bare), "%.*s", (int) strcspn(host + (family == AF_INET6), "]"),
			 host + (family == AF_INET6));
	if (inet_pton(family, bare, want) != 1)
	{
		FUZZ_CHECK(!direct, "tcp target \"%s\": connected to directly, but libcurl reads host %s",
				   target, host);
		curl_free(host);
		return;
	}
	/* libcurl also reads "127.1" or "0x7f.0.0.1" as addresses; those it may keep */
	FUZZ_CHECK(direct || strncmp(target, host, strlen(host)) != 0 ||
			   target[strlen(host)] != ':',
			   "tcp target \"%s\" is an address (%s) but goes through libcurl",
			   target, host);
	if (!direct)
	{
		curl_free(host);
		return;
	}
	FUZZ_CHECK(addr.ss_family == family &&
			   len == (family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6)),
			   "tcp target \"%s\": address family %d, length %u", target,
			   (int) addr.ss_family, (unsigned) len);
	if (family == AF_INET)
		FUZZ_CHECK(memcmp(&((struct sockaddr_in *) &addr)->sin_addr, want, 4) == 0 &&
				   ntohs(((struct sockaddr_in *) &addr)->sin_port) == port,
				   "tcp target \"%s\": not the address and port libcurl reads", target);
	else
		FUZZ_CHECK(memcmp(&((struct sockaddr_in6 *) &addr)->sin6_addr, want, 16) == 0 &&
				   ntohs(((struct sockaddr_in6 *) &addr)->sin6_port) == port,
				   "tcp target \"%s\": not the address and port libcurl reads", target);
	curl_free(host);
}

/* an accepted tcp target: the probe's "http://target/" URL gives its port */
static void
check_tcp_usable(const char *target)
{
	CURLU	   *u = curl_url();
	char	   *url = malloc(strlen(target) + 9);
	char	   *port = NULL;
	CURLUcode	rc;

	sprintf(url, "http://%s/", target);
	rc = curl_url_set(u, CURLUPART_URL, url, PROBE_URL_FLAGS);
	FUZZ_CHECK(rc == CURLUE_OK, "accepted tcp target \"%s\": libcurl says %s",
			   target, curl_url_strerror(rc));
	FUZZ_CHECK(curl_url_get(u, CURLUPART_PORT, &port, 0) == CURLUE_OK,
			   "accepted tcp target \"%s\" has no port for libcurl", target);
	FUZZ_CHECK(atol(port) == atol(strrchr(target, ':') + 1),
			   "tcp target \"%s\": libcurl reads port %s", target, port);
	check_tcp_address(target, u, atoi(port));
	curl_free(port);
	curl_url_cleanup(u);
	free(url);
}

/* an accepted http target parses the same with the probe's flags */
static void
check_http_usable(const char *target)
{
	CURLU	   *u = curl_url();
	char	   *scheme = NULL;
	CURLUcode	rc = curl_url_set(u, CURLUPART_URL, target, PROBE_URL_FLAGS);

	FUZZ_CHECK(rc == CURLUE_OK, "accepted http target \"%s\": libcurl says %s",
			   target, curl_url_strerror(rc));
	FUZZ_CHECK(curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
			   (strcmp(scheme, "http") == 0 || strcmp(scheme, "https") == 0),
			   "accepted http target \"%s\" has scheme %s", target,
			   scheme ? scheme : "(none)");
	curl_free(scheme);
	curl_url_cleanup(u);
}

/* a masked conninfo: the same options, every password masked */
static void
check_masked_conninfo(const char *target, const char *masked)
{
	PQconninfoOption *before = PQconninfoParse(target, NULL);
	PQconninfoOption *after;
	bool		has_secret = false;

	FUZZ_CHECK(before != NULL, "not a conninfo");
	for (PQconninfoOption *o = before; o->keyword != NULL; o++)
		has_secret |= o->val != NULL && is_secret_keyword(o->keyword);
	FUZZ_CHECK(has_secret == (masked != NULL),
			   "conninfo \"%s\": has a password %d, masked %d",
			   target, has_secret, masked != NULL);
	if (masked == NULL)
	{
		PQconninfoFree(before);
		return;
	}
	after = PQconninfoParse(masked, NULL);
	FUZZ_CHECK(after != NULL, "masked conninfo \"%s\" does not parse", masked);
	for (int i = 0; before[i].keyword != NULL; i++)
	{
		const char *want = before[i].val;
		const char *got = after[i].val;

		FUZZ_CHECK(after[i].keyword != NULL &&
				   strcmp(before[i].keyword, after[i].keyword) == 0,
				   "option lists differ");
		if (want != NULL && is_secret_keyword(before[i].keyword))
			want = DW_MASK;
		FUZZ_CHECK((want == NULL) == (got == NULL) &&
				   (want == NULL || strcmp(want, got) == 0),
				   "conninfo \"%s\" masked as \"%s\": %s is \"%s\", not \"%s\"",
				   target, masked, before[i].keyword, got ? got : "(null)",
				   want ? want : "(null)");
	}
	PQconninfoFree(after);
	PQconninfoFree(before);
}

/* masking what is already masked changes nothing */
static void
check_mask_idempotent(DwProbe probe, const char *masked)
{
	char	   *again = dw_mask_target(probe, masked);

	FUZZ_CHECK(again == NULL || strcmp(again, masked) == 0,
			   "masking \"%s\" again gives \"%s\"", masked,
			   again ? again : "(null)");
	dw_free_masked(again);
}

/*
 * check_redacted: whatever password libpq or libcurl read from the redacted
 * text is the mask; wherever "password", blanks, "=" and blanks appear, the
 * mask follows; redacting again changes nothing.
 */
/*
 * only_masks: v is masks, perhaps joined by what redaction writes between
 * them ("********#********": libpq knows no URL fragment)
 */
static bool
only_masks(const char *v)
{
	size_t		n = strlen(DW_MASK);

	while (*v)
	{
		if (strncmp(v, DW_MASK, n) == 0)
			v += n;
		else if (strchr("#&=", *v) != NULL)
			v++;
		else
			return false;
	}
	return true;
}

/*
 * check_no_password: libpq reads no password from what is shown but the
 * mask, nor does libcurl when it is no conninfo (a conninfo's values are
 * what libpq says they are, whatever libcurl would make of them).
 */
static void
check_no_password(const char *target, const char *shown, bool conninfo)
{
	PQconninfoOption *opts = PQconninfoParse(shown, NULL);

	for (PQconninfoOption *o = opts; o != NULL && o->keyword != NULL; o++)
		FUZZ_CHECK(o->val == NULL || !is_secret_keyword(o->keyword) ||
				   only_masks(o->val),
				   "\"%s\" shown as \"%s\": libpq reads %s \"%s\"",
				   target, shown, o->keyword, o->val);
	PQconninfoFree(opts);
	/* as check_http reads a URL, and as the probe does */
	for (int i = 0; i < 2 && !conninfo; i++)
	{
		CURLU	   *u = curl_url();
		char	   *pw = NULL;

		if (curl_url_set(u, CURLUPART_URL, shown,
						 i == 0 ? CURLU_NON_SUPPORT_SCHEME : PROBE_URL_FLAGS) == CURLUE_OK &&
			curl_url_get(u, CURLUPART_PASSWORD, &pw, 0) == CURLUE_OK)
			FUZZ_CHECK(pw[0] == '\0' || strcmp(pw, DW_MASK) == 0,
					   "\"%s\" shown as \"%s\": libcurl reads password \"%s\"",
					   target, shown, pw);
		curl_free(pw);
		curl_url_cleanup(u);
	}
}

static void
check_redacted(const char *target, const char *redacted)
{
	PQconninfoOption *opts = PQconninfoParse(redacted, NULL);
	PQconninfoOption *before = PQconninfoParse(target, NULL);
	char	   *again;

	check_no_password(target, redacted, false);
	/*
	 * A key=value conninfo whose only "password"s are its secret keywords
	 * still parses: no part of a password was left behind.
	 */
	if (before != NULL && strstr(target, "://") == NULL)
	{
		int			secrets = 0;
		int			mentions = 0;

		for (PQconninfoOption *o = before; o->keyword != NULL; o++)
			secrets += o->val != NULL && is_secret_keyword(o->keyword);
		for (const char *p = target; (p = strcasestr(p, "password")) != NULL; p++)
			mentions++;
		FUZZ_CHECK(mentions != secrets || opts != NULL,
				   "conninfo \"%s\" redacted as \"%s\", which libpq cannot read",
				   target, redacted);
	}
	PQconninfoFree(before);
	PQconninfoFree(opts);

	for (const char *p = redacted; *p; p++)
	{
		const char *q = p + 8;

		if (strncasecmp(p, "password", 8) != 0)
			continue;
		while (isspace((unsigned char) *q))
			q++;
		if (*q != '=')
			continue;
		for (q++; isspace((unsigned char) *q); q++)
			;
		FUZZ_CHECK(strncmp(q, DW_MASK, strlen(DW_MASK)) == 0,
				   "\"%s\" redacted as \"%s\" shows a password", target, redacted);
	}
	again = dw_redact_target(redacted);
	FUZZ_CHECK(again != NULL && strcmp(again, redacted) == 0,
			   "\"%s\" redacted as \"%s\", which redacts to \"%s\"",
			   target, redacted, again ? again : "(null)");
	dw_free_masked(again);
	if (strcasestr(target, "password") == NULL && strpbrk(target, "@=?#") == NULL)
		FUZZ_CHECK(strcmp(target, redacted) == 0,
				   "\"%s\" redacted as \"%s\" with nothing to hide", target, redacted);
}

/*
 * check_secrets_hidden: a text that quotes each secret of the target (as a
 * peer quoting what it was sent) keeps none of them once hidden, unless the
 * secret is made of the mask's own characters; and the target itself, so
 * quoted, loses its password too.
 */
static void
check_secrets_hidden(const char *target)
{
	char	  **secrets = dw_target_secrets(target, "X-Key: k3y\nAccept: */*");
	size_t		textlen = strlen(target) + 64;
	char	   *text;
	char	   *hidden;

	for (int i = 0; secrets != NULL && secrets[i] != NULL; i++)
		textlen += strlen(secrets[i]) + 3;
	text = malloc(textlen);
	FUZZ_CHECK(text != NULL, "out of memory");
	strcpy(text, "peer said: ");
	strcat(text, target);
	for (int i = 0; secrets != NULL && secrets[i] != NULL; i++)
	{
		strcat(text, " <");
		strcat(text, secrets[i]);
		strcat(text, ">");
	}
	hidden = dw_hide_secrets(text, secrets);
	FUZZ_CHECK(hidden != NULL, "hiding failed");
	for (int i = 0; secrets != NULL && secrets[i] != NULL; i++)
		FUZZ_CHECK(strspn(secrets[i], "*") == strlen(secrets[i]) || strstr(hidden, secrets[i]) == NULL,
				   "secret \"%s\" still in \"%s\"", secrets[i], hidden);
	free(hidden);
	free(text);
	dw_free_secrets(secrets);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t		sel = size > 0 ? data[0] : 0;
	const char *name = names[sel & 7];
	char	   *text = fuzz_cstring(data + (size > 0), size - (size > 0));
	const char *target = (sel & 0x80) ? NULL : text;
	DwProbe		probe = dw_probe_from_name(name);
	char		why[512];
	char		why2[512];
	bool		ok;
	char	   *masked;

	FUZZ_CHECK((sel & 7) < 5 ? probe == (DwProbe) (sel & 7) : probe == DW_PROBE_INVALID,
			   "probe \"%s\" is %d", name, (int) probe);

	memset(why, 'x', sizeof(why));
	ok = dw_check_target(probe, target, why, sizeof(why));
	FUZZ_CHECK(ok == dw_check_target(probe, target, why2, sizeof(why2)),
			   "two verdicts on \"%s\"", text);
	check_why(ok, why, sizeof(why));
	FUZZ_CHECK(ok || strcmp(why, why2) == 0, "two reasons: \"%s\", \"%s\"", why, why2);
	if (probe == DW_PROBE_PASSIVE || probe == DW_PROBE_NONE)
		FUZZ_CHECK(ok, "a %s target was rejected", name);
	if (probe == DW_PROBE_INVALID ||
		((target == NULL || target[0] == '\0') &&
		 probe != DW_PROBE_PASSIVE && probe != DW_PROBE_NONE))
		FUZZ_CHECK(!ok, "probe \"%s\" accepted \"%s\"", name, target ? target : "(null)");
	if (sel & 0x40)
	{
		size_t		whylen = ((sel >> 3) & 7) + 1;
		char	   *small = malloc(whylen);

		FUZZ_CHECK(dw_check_target(probe, target, small, whylen) == ok,
				   "verdict depends on the buffer's size");
		check_why(ok, small, whylen);
		free(small);
	}
	if (ok && probe == DW_PROBE_TCP)
		check_tcp_usable(target);
	if (ok && probe == DW_PROBE_HTTP)
		check_http_usable(target);

	masked = dw_mask_target(probe, target);
	if (target == NULL)
		FUZZ_CHECK(masked == NULL, "a NULL target was masked");
	else
	{
		PQconninfoOption *opts = PQconninfoParse(target, NULL);

		if (opts != NULL)
			check_masked_conninfo(target, masked);
		check_no_password(target, masked ? masked : target, opts != NULL);
		PQconninfoFree(opts);
	}
	if (masked != NULL)
		check_mask_idempotent(probe, masked);
	dw_free_masked(masked);

	if (target != NULL)
	{
		char	   *redacted = dw_redact_target(target);

		FUZZ_CHECK(redacted != NULL, "redaction failed");
		check_redacted(target, redacted);
		dw_free_masked(redacted);
		check_secrets_hidden(target);
	}
	free(text);
	return 0;
}
