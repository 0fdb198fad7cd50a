/*-------------------------------------------------------------------------
 *
 * outbound.h
 *	  What a probe whose settings no superuser made ("restricted") may do:
 *	  the addresses it may reach (depwatch.allowed_addresses), the libpq
 *	  connection keywords and the HTTP methods and headers it may use.
 *
 * Pure C (libpq's and libcurl's own parsers, no backend state): the SQL
 * functions check with it when a dependency is set, and the probe worker
 * when it connects, so both decide alike.
 *
 *-------------------------------------------------------------------------
 */
#ifndef DEPWATCH_OUTBOUND_H
#define DEPWATCH_OUTBOUND_H

#include <stdbool.h>
#include <stddef.h>

#include <libpq-fe.h>

#include "address_policy.h"
#include "targets.h"

typedef enum DwOutbound
{
	DW_OUTBOUND_OK,
	DW_OUTBOUND_ADDRESS,		/* an address the policy refuses */
	DW_OUTBOUND_SOCKET,			/* a unix socket */
	DW_OUTBOUND_KEYWORD,		/* a libpq keyword, HTTP method or header */
	DW_OUTBOUND_INVALID			/* the target does not parse */
} DwOutbound;

extern bool dw_restricted_pg_keyword(const char *keyword);
extern bool dw_restricted_http_method(const char *method);
extern bool dw_restricted_http_header(const char *name, size_t len);
extern DwOutbound dw_restricted_conninfo(const PQconninfoOption *opts,
										 const DwAddressPolicy *policy,
										 char *why, size_t whylen);
extern DwOutbound dw_restricted_target(DwProbe probe, const char *target,
									   const DwAddressPolicy *policy,
									   char *why, size_t whylen);

#endif							/* DEPWATCH_OUTBOUND_H */
