/*-------------------------------------------------------------------------
 *
 * address_policy.c
 *	  Parse depwatch.allowed_addresses and decide whether an address is
 *	  allowed.
 *
 * The setting is a comma-separated list of entries, each an IPv4 or IPv6
 * address with an optional prefix length ("10.0.0.0/8", "2001:db8::/32",
 * "192.0.2.7"), negated by a leading '!'.  An address is checked against
 * the entries in order and the first that contains it decides: allowed, or
 * refused when the entry is negated.  An address that no entry contains is
 * refused.  An IPv4-mapped IPv6 address (::ffff:a.b.c.d) is checked as the
 * IPv4 address it stands for, since connecting to it reaches that address;
 * an entry written that way is read as the IPv4 entry.
 *
 * A check walks the entries once: O(entries), with no allocation, so the
 * probe worker can make it before every connect.
 *
 *-------------------------------------------------------------------------
 */
#include "address_policy.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const uint8_t v4mapped_prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

/* prefix_match: do the first bits bits of a and b agree? */
static bool
prefix_match(const uint8_t *a, const uint8_t *b, int bits)
{
	int			whole = bits / 8;
	int			rest = bits % 8;

	if (memcmp(a, b, whole) != 0)
		return false;
	if (rest == 0)
		return true;
	return ((a[whole] ^ b[whole]) & (uint8_t) (0xff << (8 - rest))) == 0;
}

/* parse_entry reads one entry of len bytes at s into *rule */
static bool
parse_entry(const char *s, size_t len, DwAddressRule *rule, char *why, size_t whylen)
{
	char		buf[INET6_ADDRSTRLEN + 8];
	char	   *slash;
	int			maxbits;

	memset(rule, 0, sizeof(*rule));
	if (len > 0 && s[0] == '!')
	{
		rule->deny = true;
		s++;
		len--;
	}
	if (len == 0 || len >= sizeof(buf))
	{
		snprintf(why, whylen, "\"%.*s\" is not an address or a network.",
				 (int) (len > 60 ? 60 : len), s);
		return false;
	}
	memcpy(buf, s, len);
	buf[len] = '\0';
	slash = strchr(buf, '/');
	if (slash != NULL)
		*slash = '\0';
	if (inet_pton(AF_INET, buf, rule->addr) == 1)
	{
		rule->family = AF_INET;
		maxbits = 32;
	}
	else if (inet_pton(AF_INET6, buf, rule->addr) == 1)
	{
		rule->family = AF_INET6;
		maxbits = 128;
	}
	else
	{
		snprintf(why, whylen, "\"%s\" is not an IPv4 or IPv6 address.", buf);
		return false;
	}
	rule->bits = maxbits;
	if (slash != NULL)
	{
		char	   *end;
		long		bits;

		if (!isdigit((unsigned char) slash[1]))
			bits = -1;
		else
			bits = strtol(slash + 1, &end, 10);
		if (bits < 0 || bits > maxbits || *end != '\0' || strlen(slash + 1) > 3)
		{
			snprintf(why, whylen, "The prefix length of \"%s/%s\" must be a number from 0 to %d.",
					 buf, slash + 1, maxbits);
			return false;
		}
		rule->bits = (int) bits;
	}
	/* bits beyond the prefix make the entry ambiguous: refuse them */
	for (int b = rule->bits; b < maxbits; b++)
		if (rule->addr[b / 8] & (0x80 >> (b % 8)))
		{
			snprintf(why, whylen, "\"%.*s\" has bits set to the right of its prefix length.",
					 (int) len, s);
			return false;
		}
	if (rule->family == AF_INET6 && rule->bits >= 96 &&
		memcmp(rule->addr, v4mapped_prefix, 12) == 0)
	{
		memmove(rule->addr, rule->addr + 12, 4);
		memset(rule->addr + 4, 0, 12);
		rule->family = AF_INET;
		rule->bits -= 96;
	}
	return true;
}

/*
 * dw_policy_parse reads list into *policy.  On a bad entry it writes a
 * sentence naming it into why[] and returns false.  An empty list allows
 * nothing.
 */
bool
dw_policy_parse(const char *list, DwAddressPolicy *policy, char *why, size_t whylen)
{
	const char *blank = " \t\r\n";
	const char *p = list;

	policy->nrules = 0;
	if (list[strspn(list, blank)] == '\0')
		return true;			/* an empty list */
	for (;;)
	{
		size_t		len;

		p += strspn(p, blank);
		len = strcspn(p, ",");
		while (len > 0 && strchr(blank, p[len - 1]) != NULL)
			len--;
		if (len == 0)
		{
			snprintf(why, whylen, "The list has an empty entry.");
			return false;
		}
		if (policy->nrules == DW_POLICY_MAX_RULES)
		{
			snprintf(why, whylen, "The list has more than %d entries.", DW_POLICY_MAX_RULES);
			return false;
		}
		if (!parse_entry(p, len, &policy->rules[policy->nrules], why, whylen))
			return false;
		policy->nrules++;
		p += strcspn(p, ",");
		if (*p == '\0')
			return true;
		p++;
	}
}

/*
 * dw_policy_allows: may a restricted probe connect to sa?  Anything but an
 * IPv4 or IPv6 address (a unix socket) never may.
 */
bool
dw_policy_allows(const DwAddressPolicy *policy, const struct sockaddr *sa)
{
	const uint8_t *addr;
	int			family = sa->sa_family;

	if (family == AF_INET)
		addr = (const uint8_t *) &((const struct sockaddr_in *) sa)->sin_addr;
	else if (family == AF_INET6)
	{
		addr = (const uint8_t *) &((const struct sockaddr_in6 *) sa)->sin6_addr;
		if (memcmp(addr, v4mapped_prefix, 12) == 0)
		{
			addr += 12;
			family = AF_INET;
		}
	}
	else
		return false;
	for (int i = 0; i < policy->nrules; i++)
	{
		const DwAddressRule *r = &policy->rules[i];

		if (r->family == family && prefix_match(r->addr, addr, r->bits))
			return !r->deny;
	}
	return false;
}

/*
 * dw_policy_allows_text checks a host written as a numeric address (any
 * form getaddrinfo reads without a resolver, as libpq's hostaddr and the
 * probes do).  *is_numeric says whether it was one; a host name is not
 * judged here (true), since only its resolution can tell.
 */
bool
dw_policy_allows_text(const DwAddressPolicy *policy, const char *numeric, bool *is_numeric)
{
	struct addrinfo hints;
	struct addrinfo *res = NULL;
	bool		allowed;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_flags = AI_NUMERICHOST;
	hints.ai_socktype = SOCK_STREAM;
	*is_numeric = getaddrinfo(numeric, NULL, &hints, &res) == 0 && res != NULL;
	if (!*is_numeric)
		return true;
	allowed = dw_policy_allows(policy, res->ai_addr);
	freeaddrinfo(res);
	return allowed;
}

/* dw_address_text writes sa's address (without the port) into buf */
void
dw_address_text(const struct sockaddr *sa, char *buf, size_t len)
{
	const void *addr;

	if (sa->sa_family == AF_INET)
		addr = &((const struct sockaddr_in *) sa)->sin_addr;
	else if (sa->sa_family == AF_INET6)
		addr = &((const struct sockaddr_in6 *) sa)->sin6_addr;
	else
	{
		snprintf(buf, len, "(a non-IP socket)");
		return;
	}
	if (inet_ntop(sa->sa_family, addr, buf, (socklen_t) len) == NULL)
		snprintf(buf, len, "(an unprintable address)");
}
