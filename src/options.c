/*-------------------------------------------------------------------------
 *
 * options.c
 *	  The rules of dependency options: which options each probe takes and
 *	  their JSON types, the syntax of methods, status codes and headers,
 *	  the numbers (finite, inside their documented ranges) and the size of
 *	  an http probe's request headers.
 *
 * _check_options() (validate.c) refuses a bad option when it is set, the
 * _machine_rules view reads the numbers through the same parser, and the
 * probe worker asks dw_options_ok() before it loads a row: what the check accepted, the worker
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

/*
 * Every option, in the order the hint of an unknown one lists them: the
 * probes that take it, its JSON type, the range of a number, and what any
 * other value must be (for the error that refuses it).
 */
typedef struct OptionSpec
{
	const char *key;
	unsigned	probes;			/* bit (1 << DwProbe) for each probe taking it */
	const char *type;			/* as jsonb_typeof names it */
	/* numbers */
	double		min;			/* exclusive when min_open */
	bool		min_open;
	double		max;			/* inclusive */
	bool		whole;
	/* the others: what a value must be, and how to write one */
	const char *must;
	const char *hint;
} OptionSpec;

#define ALL_PROBES	((1 << DW_PROBE_TCP) | (1 << DW_PROBE_HTTP) | (1 << DW_PROBE_POSTGRES) | \
					 (1 << DW_PROBE_PASSIVE) | (1 << DW_PROBE_NONE))
#define HTTP		(1 << DW_PROBE_HTTP)
#define PASSIVE		(1 << DW_PROBE_PASSIVE)

static const OptionSpec option_specs[] = {
	{.key = "slo", .probes = ALL_PROBES, .type = "number", .min = 0, .min_open = true, .max = 100},
	{.key = "quorum", .probes = ALL_PROBES, .type = "number", .min = 1, .max = 2147483647, .whole = true},
	{.key = "method", .probes = HTTP, .type = "string",
	.must = "be GET, HEAD, POST, PUT or OPTIONS", .hint = "Most health checks use GET or HEAD."},
	{.key = "expect_status", .probes = HTTP, .type = "array",
	.must = "list HTTP status codes", .hint = "Write it as [200, 204]."},
	{.key = "body_contains", .probes = HTTP, .type = "string"},
	{.key = "headers", .probes = HTTP, .type = "object"},
	{.key = "verify_tls", .probes = HTTP, .type = "boolean"},
	{.key = "query", .probes = 1 << DW_PROBE_POSTGRES, .type = "string"},
	{.key = "error_rate", .probes = PASSIVE, .type = "number", .min = 0, .min_open = true, .max = 1},
	{.key = "window", .probes = PASSIVE, .type = "string",
	.must = "be a positive interval of at most 1 day", .hint = "Write a window such as \"1 min\"."},
	{.key = "min_calls", .probes = PASSIVE, .type = "number", .min = 1, .max = 2147483647, .whole = true},
	{.key = "degraded_error_rate", .probes = PASSIVE, .type = "number", .min = 0, .min_open = true, .max = 1},
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

/* dw_is_number_option: is key one of the numeric options? */
bool
dw_is_number_option(const char *key)
{
	const OptionSpec *opt = find_option(key);

	return opt != NULL && strcmp(opt->type, "number") == 0;
}

/* digit: an ASCII digit, whatever the locale */
static bool
digit(char c)
{
	return c >= '0' && c <= '9';
}

/* valid_method: one of the methods an http probe may send */
static bool
valid_method(const char *s, size_t len)
{
	static const char *const methods[] = {"GET", "HEAD", "POST", "PUT", "OPTIONS"};

	for (size_t i = 0; i < lengthof(methods); i++)
		if (len == strlen(methods[i]) && memcmp(s, methods[i], len) == 0)
			return true;
	return false;
}

/* valid_status_codes: an array of HTTP status codes, 100 to 599 */
static bool
valid_status_codes(JsonbContainer *array)
{
	JsonbIterator *it = JsonbIteratorInit(array);
	JsonbValue	elem;
	JsonbIteratorToken tok;

	while ((tok = JsonbIteratorNext(&it, &elem, true)) != WJB_DONE)
	{
		char	   *text;

		if (tok != WJB_ELEM)
			continue;
		if (elem.type != jbvNumeric)
			return false;
		/* as jsonb prints it: 200.0 is no status code */
		text = DatumGetCString(DirectFunctionCall1(numeric_out,
												   NumericGetDatum(elem.val.numeric)));
		if (!(strlen(text) == 3 && text[0] >= '1' && text[0] <= '5' &&
			  digit(text[1]) && digit(text[2])))
			return false;
	}
	return true;
}

/* valid_header_name: an HTTP token (RFC 9110, section 5.6.2) */
static bool
valid_header_name(const char *s, size_t len)
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

/*
 * dw_bad_header: the name of the first header of the object that is no
 * HTTP token or whose value is not a string of one line, or NULL.  Only
 * the name: a value may be a secret.
 */
char *
dw_bad_header(JsonbContainer *headers)
{
	JsonbIterator *it = JsonbIteratorInit(headers);
	JsonbValue	name;
	JsonbValue	value;
	JsonbIteratorToken tok;

	while ((tok = JsonbIteratorNext(&it, &name, true)) != WJB_DONE)
	{
		if (tok != WJB_KEY)
			continue;
		JsonbIteratorNext(&it, &value, true);
		/* jsonb holds no NUL: a line break is what could split a request */
		if (!valid_header_name(name.val.string.val, name.val.string.len) ||
			value.type != jbvString ||
			memchr(value.val.string.val, '\r', value.val.string.len) != NULL ||
			memchr(value.val.string.val, '\n', value.val.string.len) != NULL)
			return pnstrdup(name.val.string.val, name.val.string.len);
	}
	return NULL;
}

/*
 * dw_option_value_ok: does value, of option key's JSON type, keep the
 * syntax of a method, a list of status codes or a window?  When it does
 * not, *must and *hint say what it must be, for the error.  Numbers and
 * headers have their own checks (dw_option_number, dw_bad_header).
 */
bool
dw_option_value_ok(const char *key, const JsonbValue *value, const char **must,
				   const char **hint)
{
	const OptionSpec *opt = find_option(key);
	bool		ok = true;

	if (opt == NULL || opt->must == NULL)
		return true;
	if (strcmp(key, "method") == 0)
		ok = valid_method(value->val.string.val, value->val.string.len);
	else if (strcmp(key, "expect_status") == 0)
		ok = valid_status_codes(value->val.binary.data);
	else if (strcmp(key, "window") == 0)
		ok = dw_window_ok(pnstrdup(value->val.string.val, value->val.string.len));
	*must = opt->must;
	*hint = opt->hint;
	return ok;
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
	const OptionSpec *opt = find_option(key);
	char	   *end;
	double		v;

	if (opt == NULL || strcmp(opt->type, "number") != 0)
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
