/*-------------------------------------------------------------------------
 *
 * fuzz_address_policy.c
 *	  Fuzz target for depwatch.allowed_addresses (src/address_policy.c).
 *
 * The input is the setting as a superuser would write it.  Beyond not
 * crashing, parsing must be deterministic and say why it failed; a parsed
 * policy must decide every address the same way twice, decide an
 * IPv4-mapped IPv6 address as its IPv4 address, and refuse anything that is
 * not an IP address (a unix socket).  The addresses tried are the policy's
 * own entries and their neighbours, where the decisions change.
 *
 *-------------------------------------------------------------------------
 */
#include "fuzz.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/un.h>

#include "address_policy.h"

/* check_v4: the decisions about one IPv4 address, and about it mapped */
static void
check_v4(const DwAddressPolicy *p, const uint8_t *a4)
{
	struct sockaddr_in v4;
	struct sockaddr_in6 mapped;
	bool		allowed;

	memset(&v4, 0, sizeof(v4));
	v4.sin_family = AF_INET;
	memcpy(&v4.sin_addr, a4, 4);
	memset(&mapped, 0, sizeof(mapped));
	mapped.sin6_family = AF_INET6;
	mapped.sin6_addr.s6_addr[10] = 0xff;
	mapped.sin6_addr.s6_addr[11] = 0xff;
	memcpy(&mapped.sin6_addr.s6_addr[12], a4, 4);
	allowed = dw_policy_allows(p, (struct sockaddr *) &v4);
	FUZZ_CHECK(allowed == dw_policy_allows(p, (struct sockaddr *) &v4), "not deterministic");
	FUZZ_CHECK(allowed == dw_policy_allows(p, (struct sockaddr *) &mapped),
			   "an IPv4-mapped address is decided unlike its IPv4 address");
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char	   *list = fuzz_cstring(data, size);
	DwAddressPolicy *p = malloc(sizeof(DwAddressPolicy));
	DwAddressPolicy *again = malloc(sizeof(DwAddressPolicy));
	char		why[256] = "";
	char		why2[256] = "";
	bool		ok;
	struct sockaddr_un un;

	if (p == NULL || again == NULL)
		abort();
	ok = dw_policy_parse(list, p, why, sizeof(why));
	FUZZ_CHECK(ok == dw_policy_parse(list, again, why2, sizeof(why2)), "not deterministic");
	if (!ok)
	{
		FUZZ_CHECK(why[0] != '\0' && strcmp(why, why2) == 0, "no reason, or two");
		goto done;
	}
	FUZZ_CHECK(p->nrules >= 0 && p->nrules <= DW_POLICY_MAX_RULES, "%d rules", p->nrules);
	FUZZ_CHECK(memcmp(p->rules, again->rules, sizeof(DwAddressRule) * p->nrules) == 0,
			   "parsed differently twice");
	memset(&un, 0, sizeof(un));
	un.sun_family = AF_UNIX;
	FUZZ_CHECK(!dw_policy_allows(p, (struct sockaddr *) &un), "a unix socket was allowed");
	for (int i = 0; i < p->nrules; i++)
	{
		const DwAddressRule *r = &p->rules[i];

		FUZZ_CHECK(r->bits >= 0 && r->bits <= (r->family == AF_INET ? 32 : 128),
				   "prefix length %d", r->bits);
		if (r->family == AF_INET)
		{
			uint8_t		a[4];

			memcpy(a, r->addr, 4);
			check_v4(p, a);
			a[3] ^= 1;
			check_v4(p, a);
			a[0] ^= 0x80;
			check_v4(p, a);
		}
		else
		{
			struct sockaddr_in6 v6;
			bool		allowed;

			memset(&v6, 0, sizeof(v6));
			v6.sin6_family = AF_INET6;
			memcpy(&v6.sin6_addr, r->addr, 16);
			allowed = dw_policy_allows(p, (struct sockaddr *) &v6);
			FUZZ_CHECK(allowed == dw_policy_allows(p, (struct sockaddr *) &v6), "not deterministic");
			/* the first rule decides an address it contains */
			if (i == 0)
				FUZZ_CHECK(allowed == !r->deny, "the first entry did not decide its own address");
		}
	}
done:
	free(p);
	free(again);
	free(list);
	return 0;
}
