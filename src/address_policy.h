/*-------------------------------------------------------------------------
 *
 * address_policy.h
 *	  depwatch.allowed_addresses: which addresses the probes of dependencies
 *	  not set by a superuser may connect to.
 *
 * Pure C (no PostgreSQL backend calls), so that unit tests and fuzzers can
 * use it directly.
 *
 *-------------------------------------------------------------------------
 */
#ifndef DEPWATCH_ADDRESS_POLICY_H
#define DEPWATCH_ADDRESS_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* the most entries a policy may have: every check walks them */
#define DW_POLICY_MAX_RULES 256

/* the setting's default: everything but loopback, link-local, unspecified, multicast */
#define DW_POLICY_DEFAULT \
	"!127.0.0.0/8, !0.0.0.0/8, !169.254.0.0/16, !224.0.0.0/4, 0.0.0.0/0, " \
	"!::1/128, !::/128, !fe80::/10, !ff00::/8, ::/0"

typedef struct DwAddressRule
{
	bool		deny;			/* written with a leading '!' */
	int			family;			/* AF_INET or AF_INET6 */
	int			bits;			/* prefix length */
	uint8_t		addr[16];		/* network byte order; 4 bytes for IPv4 */
} DwAddressRule;

typedef struct DwAddressPolicy
{
	int			nrules;
	DwAddressRule rules[DW_POLICY_MAX_RULES];
} DwAddressPolicy;

extern bool dw_policy_parse(const char *list, DwAddressPolicy *policy,
							char *why, size_t whylen);
extern bool dw_policy_allows(const DwAddressPolicy *policy,
							 const struct sockaddr *sa);
extern bool dw_policy_allows_text(const DwAddressPolicy *policy,
								  const char *numeric, bool *is_numeric);
extern void dw_address_text(const struct sockaddr *sa, char *buf, size_t len);

#endif							/* DEPWATCH_ADDRESS_POLICY_H */
