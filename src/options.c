/*-------------------------------------------------------------------------
 *
 * options.c
 *	  The rules of dependency options: which options each probe takes and
 *	  their JSON types, the syntax of methods, status codes and headers,
 *	  the numbers (finite, inside their documented ranges) and the size of
 *	  an http probe's request headers.
 *
 * _check_options() (validate.c) refuses a bad option when it is set, the _machine_rules
 * view reads the numbers through the same parser, and the probe worker asks
 * dw_options_ok() before it loads a row: what the check accepted, the worker
 * can load, and a row stored before these rules (or written around the API)
 * costs only itself.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <errno.h>
#include <math.h>

#include "lib/stringinfo.h"
#include "utils/builtins.h"
#include "utils/datetime.h"
#include "utils/jsonb.h"
#include "utils/numeric.h"

#include "options.h"

/* the options, in the order the hint of an unknown one lists them */
typedef struct OptionSpec
{
	const char *key;
	const char *type;			/* as jsonb_typeof names it */
	unsigned	probes;			/* bit (1 << DwProbe) for each probe taking it */
} OptionSpec;

#define ALL_PROBES	((1 << DW_PROBE_TCP) | (1 << DW_PROBE_HTTP) | (1 << DW_PROBE_POSTGRES) | \
					 (1 << DW_PROBE_PASSIVE) | (1 << DW_PROBE_NONE))

static const OptionSpec option_specs[] = {
	{"slo", "number", ALL_PROBES},
	{"quorum", "number", ALL_PROBES},
	{"method", "string", 1 << DW_PROBE_HTTP},
	{"expect_status", "array", 1 << DW_PROBE_HTTP},
	{"body_contains", "string", 1 << DW_PROBE_HTTP},
	{"headers", "object", 1 << DW_PROBE_HTTP},
	{"verify_tls", "boolean", 1 << DW_PROBE_HTTP},
	{"query", "string", 1 << DW_PROBE_POSTGRES},
	{"error_rate", "number", 1 << DW_PROBE_PASSIVE},
	{"window", "string", 1 << DW_PROBE_PASSIVE},
	{"min_calls", "number", 1 << DW_PROBE_PASSIVE},
	{"degraded_error_rate", "number", 1 << DW_PROBE_PASSIVE},
};

static const OptionSpec *
find_option(const char *key)
{
	for (size_t i = 0; i < lengthof(option_specs); i++)
		if (strcmp(option_specs[i].key, key) == 0)
			return &option_specs[i];
	return NULL;
}

/* dw_option_takes: does probe take option key? */
bool
dw_option_takes(DwProbe probe, const char *key)
{
	const OptionSpec *opt = find_option(key);

	return opt != NULL && probe != DW_PROBE_INVALID && (opt->probes & (1 << probe)) != 0;
}

/* dw_option_type: the JSON type of option key, NULL for an unknown one */
const char *
dw_option_type(const char *key)
{
	const OptionSpec *opt = find_option(key);

	return opt ? opt->type : NULL;
}

/* dw_option_list: the options probe takes, as "slo, quorum, ..." */
char *
dw_option_list(DwProbe probe)
{
	StringInfoData list;

	initStringInfo(&list);
	for (size_t i = 0; i < lengthof(option_specs); i++)
		if (probe != DW_PROBE_INVALID && (option_specs[i].probes & (1 << probe)) != 0)
			appendStringInfo(&list, "%s%s", list.len > 0 ? ", " : "", option_specs[i].key);
	return list.data;
}

/* dw_valid_method: one of the methods an http probe may send */
bool
dw_valid_method(const char *s, size_t len)
{
	static const char *const methods[] = {"GET", "HEAD", "POST", "PUT", "OPTIONS"};

	for (size_t i = 0; i < lengthof(methods); i++)
		if (len == strlen(methods[i]) && memcmp(s, methods[i], len) == 0)
			return true;
	return false;
}

/* digit: an ASCII digit, whatever the locale */
static bool
digit(char c)
{
	return c >= '0' && c <= '9';
}

/* dw_valid_status_code: an HTTP status code, 100 to 599, as jsonb prints it */
bool
dw_valid_status_code(const char *text)
{
	return strlen(text) == 3 && text[0] >= '1' && text[0] <= '5' &&
		digit(text[1]) && digit(text[2]);
}

/* dw_valid_header_name: an HTTP token (RFC 9110, section 5.6.2) */
bool
dw_valid_header_name(const char *s, size_t len)
{
	if (len == 0)
		return false;
	for (size_t i = 0; i < len; i++)
	{
		char		c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || digit(c) ||
			  (c != '\0' && strchr("!#$%&'*+.^_`|~-", c) != NULL)))
			return false;
	}
	return true;
}

/* dw_valid_header_value: a header value of one line */
bool
dw_valid_header_value(const char *s, size_t len)
{
	return memchr(s, '\r', len) == NULL && memchr(s, '\n', len) == NULL &&
		memchr(s, '\0', len) == NULL;
}

typedef struct NumberOption
{
	const char *key;
	double		min;			/* exclusive when min_open */
	bool		min_open;
	double		max;			/* inclusive */
	bool		whole;
} NumberOption;

static const NumberOption number_options[] = {
	{"slo", 0, true, 100, false},
	{"error_rate", 0, true, 1, false},
	{"degraded_error_rate", 0, true, 1, false},
	{"min_calls", 1, false, 2147483647, true},
	{"quorum", 1, false, 2147483647, true},
};

static const NumberOption *
find_number_option(const char *key)
{
	for (size_t i = 0; i < lengthof(number_options); i++)
		if (strcmp(number_options[i].key, key) == 0)
			return &number_options[i];
	return NULL;
}

/* dw_is_number_option: is key one of the numeric options? */
bool
dw_is_number_option(const char *key)
{
	return find_number_option(key) != NULL;
}

/*
 * dw_option_number parses the text of numeric option "key" (a JSON number
 * as jsonb prints it) into *value.  Returns false, with the reason in why[],
 * unless it is finite, representable as a double (neither overflow nor
 * underflow) and inside the option's range.
 */
bool
dw_option_number(const char *key, const char *text, double *value,
				 char *why, size_t whylen)
{
	const NumberOption *opt = find_number_option(key);
	char	   *end;
	double		v;

	if (opt == NULL)
	{
		snprintf(why, whylen, "\"%s\" is not a numeric option", key);
		return false;
	}
	errno = 0;
	v = strtod(text, &end);
	if (end == text || *end != '\0')
	{
		snprintf(why, whylen, "option \"%s\" is not a number", key);
		return false;
	}
	/* glibc sets ERANGE on overflow and on underflow to zero or a denormal */
	if (errno == ERANGE || isnan(v) || isinf(v))
	{
		snprintf(why, whylen, "option \"%s\" is not a finite number of usable size", key);
		return false;
	}
	if ((opt->min_open ? v <= opt->min : v < opt->min) || v > opt->max ||
		(opt->whole && v != floor(v)))
	{
		snprintf(why, whylen, "option \"%s\" is out of range", key);
		return false;
	}
	*value = v;
	return true;
}

/*
 * dw_window_ok: is text an interval in (0, 1 day], as a passive probe's
 * window must be?  Parsed as interval_in parses it, without raising.
 */
bool
dw_window_ok(const char *text)
{
	char	   *copy = pstrdup(text);
	char		workbuf[256];
	char	   *field[MAXDATEFIELDS];
	int			ftype[MAXDATEFIELDS];
	int			nf;
	int			dtype;
	struct pg_itm_in itm_in;
	Interval	span;
	int			dterr;
	double		usecs;

	memset(&itm_in, 0, sizeof(itm_in));
	dterr = ParseDateTime(copy, workbuf, sizeof(workbuf), field, ftype,
						  MAXDATEFIELDS, &nf);
	if (dterr == 0)
		dterr = DecodeInterval(field, ftype, nf, INTERVAL_FULL_RANGE, &dtype, &itm_in);
	if (dterr == DTERR_BAD_FORMAT)
		dterr = DecodeISO8601Interval(copy, &dtype, &itm_in);
	if (dterr != 0 || dtype != DTK_DELTA || itmin2interval(&itm_in, &span) != 0)
		return false;
	/* compared as interval values compare: a month is 30 days */
	usecs = (double) span.time + ((double) span.day + (double) span.month * DAYS_PER_MONTH) *
		(double) USECS_PER_DAY;
	return usecs > 0 && usecs <= (double) USECS_PER_DAY;
}

/*
 * dw_options_ok checks what the probe worker relies on in a dependency's
 * options: every numeric option a JSON number that dw_option_number
 * accepts, "headers" an object of at most DW_MAX_REQUEST_HEADERS string
 * values of DW_MAX_REQUEST_HEADER_BYTES in all, "window" an interval in
 * (0, 1 day], "verify_tls" a boolean, "expect_status" an array: whatever
 * the worker's loader would cast or expand; "degraded_error_rate" below
 * "error_rate" (0.5 when not given), or the degraded level would never be
 * reached before the down level.  Unknown names are
 * _check_options()'s business (dw_option_takes).  The reason never quotes a
 * value: a header value may be a secret.
 */
bool
dw_options_ok(Jsonb *options, char *why, size_t whylen)
{
	JsonbIterator *it;
	JsonbValue	v;
	JsonbIteratorToken tok;
	int			depth = 0;
	char	   *key = "";
	bool		in_headers = false;
	int			nheaders = 0;
	size_t		header_bytes = 0;
	double		error_rate = 0.5;
	double		degraded_error_rate = 0;

	if (!JB_ROOT_IS_OBJECT(options))
	{
		snprintf(why, whylen, "options are not a JSON object");
		return false;
	}
	it = JsonbIteratorInit(&options->root);
	while ((tok = JsonbIteratorNext(&it, &v, false)) != WJB_DONE)
	{
		switch (tok)
		{
			case WJB_BEGIN_OBJECT:
			case WJB_BEGIN_ARRAY:
				depth++;
				if (in_headers || (depth == 2 && strcmp(key, "headers") == 0 &&
								   tok == WJB_BEGIN_ARRAY))
				{
					snprintf(why, whylen, "option \"headers\" is not an object of strings");
					return false;
				}
				in_headers = depth == 2 && strcmp(key, "headers") == 0;
				if (depth == 2 && (strcmp(key, "window") == 0 || strcmp(key, "verify_tls") == 0 ||
								   (strcmp(key, "expect_status") == 0 && tok != WJB_BEGIN_ARRAY)))
				{
					snprintf(why, whylen, "option \"%s\" has the wrong type", key);
					return false;
				}
				if (depth == 2 && dw_is_number_option(key))
				{
					snprintf(why, whylen, "option \"%s\" is not a JSON number", key);
					return false;
				}
				break;
			case WJB_END_OBJECT:
			case WJB_END_ARRAY:
				depth--;
				in_headers = false;
				break;
			case WJB_KEY:
				if (depth == 1)
					key = pnstrdup(v.val.string.val, v.val.string.len);
				else if (in_headers)
				{
					if (++nheaders > DW_MAX_REQUEST_HEADERS)
					{
						snprintf(why, whylen, "option \"headers\" has more than %d headers",
								 DW_MAX_REQUEST_HEADERS);
						return false;
					}
					header_bytes += v.val.string.len + 2;	/* "Name: " */
				}
				break;
			case WJB_VALUE:
				if (depth == 1 && dw_is_number_option(key))
				{
					double		d;
					char	   *text;

					if (v.type != jbvNumeric)
					{
						snprintf(why, whylen, "option \"%s\" is not a JSON number", key);
						return false;
					}
					text = DatumGetCString(DirectFunctionCall1(numeric_out,
															   NumericGetDatum(v.val.numeric)));
					if (!dw_option_number(key, text, &d, why, whylen))
						return false;
					if (strcmp(key, "error_rate") == 0)
						error_rate = d;
					else if (strcmp(key, "degraded_error_rate") == 0)
						degraded_error_rate = d;
				}
				else if (depth == 1 && strcmp(key, "window") == 0 &&
						 (v.type != jbvString ||
						  !dw_window_ok(pnstrdup(v.val.string.val, v.val.string.len))))
				{
					snprintf(why, whylen, "option \"window\" is not an interval in (0, 1 day]");
					return false;
				}
				else if (depth == 1 && strcmp(key, "verify_tls") == 0 && v.type != jbvBool)
				{
					snprintf(why, whylen, "option \"verify_tls\" is not a JSON boolean");
					return false;
				}
				else if (depth == 1 && strcmp(key, "expect_status") == 0)
				{
					snprintf(why, whylen, "option \"expect_status\" is not an array");
					return false;
				}
				else if (depth == 1 && strcmp(key, "headers") == 0)
				{
					snprintf(why, whylen, "option \"headers\" is not an object of strings");
					return false;
				}
				else if (in_headers)
				{
					if (v.type != jbvString)
					{
						snprintf(why, whylen, "option \"headers\" has a value that is not a string");
						return false;
					}
					header_bytes += v.val.string.len;
					if (header_bytes > DW_MAX_REQUEST_HEADER_BYTES)
					{
						snprintf(why, whylen, "option \"headers\" is longer than %d bytes in all",
								 DW_MAX_REQUEST_HEADER_BYTES);
						return false;
					}
				}
				break;
			default:
				break;
		}
	}
	if (degraded_error_rate > 0 && degraded_error_rate >= error_rate)
	{
		snprintf(why, whylen, "option \"degraded_error_rate\" is not below \"error_rate\" (0.5 when not given)");
		return false;
	}
	return true;
}
