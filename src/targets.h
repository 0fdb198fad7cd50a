/*-------------------------------------------------------------------------
 *
 * targets.h
 *	  Probe kinds, and the validation and masking of probe targets.
 *
 * Pure C (libpq's and libcurl's own parsers, no backend state).
 *
 *-------------------------------------------------------------------------
 */
#ifndef DEPWATCH_TARGETS_H
#define DEPWATCH_TARGETS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

typedef enum DwProbe
{
	DW_PROBE_INVALID = -1,
	DW_PROBE_TCP,
	DW_PROBE_HTTP,
	DW_PROBE_POSTGRES,
	DW_PROBE_PASSIVE,
	DW_PROBE_NONE
} DwProbe;

/* What masked secrets read as. */
#define DW_MASK "********"

extern DwProbe dw_probe_from_name(const char *name);
extern bool dw_check_target(DwProbe probe, const char *target,
							char *why, size_t whylen);
extern bool dw_tcp_address(const char *target, struct sockaddr_storage *addr,
						   socklen_t *len);
extern char *dw_mask_target(DwProbe probe, const char *target);
extern char *dw_redact_target(const char *target);
extern void dw_free_masked(char *masked);
extern char **dw_target_secrets(const char *target, const char *headers);
extern char *dw_hide_secrets(const char *text, char *const *secrets);
extern void dw_free_secrets(char **secrets);

#endif							/* DEPWATCH_TARGETS_H */
