/*-------------------------------------------------------------------------
 *
 * depwatch.h
 *	  Settings and small helpers shared by depwatch's backend code.
 *
 *-------------------------------------------------------------------------
 */
#ifndef DEPWATCH_H
#define DEPWATCH_H

#include "datatype/timestamp.h"

/* GUCs (guc.c) */
extern char *dw_vantage_setting;
extern int	dw_sample_retention_min;
extern char *dw_databases;
extern int	dw_max_concurrency;
extern char *dw_source_address;
extern int	dw_quorum;
extern bool dw_consensus;
extern char *dw_allowed_addresses;
/* depwatch.allowed_addresses, parsed (address_policy.h) */
extern const struct DwAddressPolicy *dw_address_policy;

extern void dw_define_gucs(void);
extern void dw_define_alert_gucs(void);	/* alert_sender.c */
extern const char *dw_vantage(void);

/* Durations (bounds.c): interval <-> microseconds, months as 30 days */
extern int64 dw_interval_usecs(const Interval *iv);
extern Interval *dw_usecs_interval(int64 usecs);

/* Time and size bounds on input (bounds.c; the GUC in guc.c) */
#define DW_MAX_TEXT_CHARS 4000
/* the most characters of a value an error message quotes back */
#define DW_CLIP_CHARS 100
extern const char *dw_clip(const char *s);
extern int	dw_max_clock_skew_ms;
extern void dw_check_text(const char *argname, const text *value);
extern void dw_check_event_time(const char *argname, TimestampTz t);
extern void dw_check_sample_time(TimestampTz at);
extern void dw_check_tracked(int64 dependency_id, const char *argname, TimestampTz at);

/* What this database's catalog has (catalog_version.c) */
extern const char *dw_internal_schema(void);
extern bool dw_catalog_has_tracked_since(void);
extern const char *dw_sql_probed(const char *probe);
extern const char *dw_sql_silent_until(const char *last_at, const char *every);

#endif							/* DEPWATCH_H */
