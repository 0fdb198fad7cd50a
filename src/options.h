/*-------------------------------------------------------------------------
 *
 * options.h
 *	  The rules of dependency options, which the SQL check and the probe
 *	  worker apply alike.
 *
 *-------------------------------------------------------------------------
 */
#ifndef DEPWATCH_OPTIONS_H
#define DEPWATCH_OPTIONS_H

#include "utils/jsonb.h"

#include "targets.h"

/* request headers of an http probe: at most this many, this many bytes */
#define DW_MAX_REQUEST_HEADERS		32
#define DW_MAX_REQUEST_HEADER_BYTES	8192

/* the ranges of the numeric options, as error hints quote them */
#define DW_OPTION_RANGES_HINT \
	"slo is in (0, 100], error_rate in (0, 1], min_calls and quorum are whole numbers of at least 1."

extern bool dw_option_takes(DwProbe probe, const char *key);
extern const char *dw_option_type(const char *key);
extern char *dw_option_list(DwProbe probe);
extern char *dw_bad_header(JsonbContainer *headers);
extern bool dw_option_value_ok(const char *key, const JsonbValue *value,
							   const char **must, const char **hint);
extern bool dw_window_ok(const char *text);
extern bool dw_is_number_option(const char *key);
extern bool dw_option_number(const char *key, const char *text, double *value,
							 char *why, size_t whylen);
extern bool dw_options_ok(Jsonb *options, char *why, size_t whylen);

#endif							/* DEPWATCH_OPTIONS_H */
