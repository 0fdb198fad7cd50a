/*-------------------------------------------------------------------------
 *
 * validate.c
 *	  SQL-callable checks over the pure C parsers: requirement groups,
 *	  probe targets, the masking of secrets in targets, and the values of
 *	  options.
 *
 * The configuration API (PL/pgSQL in the install script) calls these, so
 * every syntax rule lives here once.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "funcapi.h"
#include "mb/pg_wchar.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/numeric.h"

#include "options.h"
#include "requirements.h"
#include "targets.h"

PG_FUNCTION_INFO_V1(dw_parse_requirements);
PG_FUNCTION_INFO_V1(dw_check_probe_target);
PG_FUNCTION_INFO_V1(dw_mask_probe_target);
PG_FUNCTION_INFO_V1(dw_option_number_sql);
PG_FUNCTION_INFO_V1(dw_check_option_values);
PG_FUNCTION_INFO_V1(dw_options_problem);

/* the longest target accepted: a host:port, a URL or a conninfo */
#define DW_MAX_TARGET 2048

/*
 * shown returns s as an error message may quote it: whole up to 100 bytes,
 * else its first 97 bytes or so (whole characters) and "...", as
 * depwatch._clip() does in SQL.
 */
static const char *
shown(const char *s)
{
	int			len = strlen(s);

	if (len <= 100)
		return s;
	return psprintf("%.*s...", pg_mbcliplen(s, len, 97), s);
}

/*
 * report_requirement_error raises the error for one bad group.
 */
static void
report_requirement_error(DwReqError err, const char *group,
						 const DwRequirement *req)
{
	const char *bad = shown(pnstrdup(req->offender.start ? req->offender.start : "",
									 req->offender.len));

	group = shown(group);

	switch (err)
	{
		case DW_REQ_EMPTY:
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("requirement group \"%s\" is empty", group),
					 errhint("Write a group as 'a', 'a|b' (any one) or '2:a|b|c' (at least 2).")));
			break;
		case DW_REQ_EMPTY_MEMBER:
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("requirement group \"%s\" has an empty member", group),
					 errdetail("Every '|' must stand between two names."),
					 errhint("Write a group as 'a', 'a|b' (any one) or '2:a|b|c' (at least 2).")));
			break;
		case DW_REQ_BAD_NAME:
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_NAME),
					 errmsg("requirement group \"%s\" names \"%s\", which is not a valid name",
							group, bad),
					 errhint("Names are lower-case identifiers: a letter or underscore, then letters, digits or underscores.")));
			break;
		case DW_REQ_BAD_K:
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("requirement group \"%s\" has an invalid count \"%s\"",
							group, bad),
					 errdetail("The count before ':' must be a whole number of at least 1."),
					 errhint("Write '2:a|b|c' for \"at least 2 of a, b and c\".")));
			break;
		case DW_REQ_IMPOSSIBLE_K:
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("requirement group \"%s\" needs %d members up but lists only %d",
							group, req->k, req->nmembers),
					 errhint("Lower the count or list more members.")));
			break;
		case DW_REQ_DUPLICATE:
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("requirement group \"%s\" lists \"%s\" twice", group, bad),
					 errhint("List each member once.")));
			break;
		case DW_REQ_TOO_MANY:
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("requirement group \"%s\" lists more than %d members",
							group, DW_REQ_MAX_MEMBERS),
					 errhint("Group the members into capabilities.")));
			break;
		case DW_REQ_OK:
			break;
	}
}

/*
 * depwatch.parse_requirements(requires text[])
 *	 RETURNS TABLE(requirement int, k int, members text[])
 *
 * One row per group, in order, numbered from 1; raises an error for the
 * first malformed group.
 */
Datum
dw_parse_requirements(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	ArrayType  *arr;
	Datum	   *elems;
	bool	   *nulls;
	int			nelems;

	InitMaterializedSRF(fcinfo, 0);
	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("requirements must not be NULL"),
				 errhint("Pass an array of groups, such as ARRAY['core', 'nice|kcb'].")));
	arr = PG_GETARG_ARRAYTYPE_P(0);
	if (ARR_NDIM(arr) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("requirements must be a one-dimensional array")));
	deconstruct_array(arr, TEXTOID, -1, false, TYPALIGN_INT,
					  &elems, &nulls, &nelems);
	if (nelems == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("a capability needs at least one requirement group"),
				 errhint("Pass an array of groups, such as ARRAY['core', 'nice|kcb'].")));
	if (nelems > DW_REQ_MAX_GROUPS)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("a capability may have at most %d requirement groups, not %d",
						DW_REQ_MAX_GROUPS, nelems),
				 errhint("Group the requirements into capabilities and require those.")));

	for (int i = 0; i < nelems; i++)
	{
		DwRequirement req;
		DwReqError	err;
		char	   *group;
		Datum	   *members;
		Datum		values[3];
		bool		isnull[3] = {false, false, false};

		if (nulls[i])
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("requirement group %d is NULL", i + 1),
					 errhint("Write a group as 'a', 'a|b' (any one) or '2:a|b|c' (at least 2).")));
		group = TextDatumGetCString(elems[i]);
		err = dw_parse_requirement(group, &req);
		if (err != DW_REQ_OK)
			report_requirement_error(err, group, &req);

		members = palloc(sizeof(Datum) * req.nmembers);
		for (int m = 0; m < req.nmembers; m++)
			members[m] = PointerGetDatum(cstring_to_text_with_len(req.members[m].start,
																  (int) req.members[m].len));
		values[0] = Int32GetDatum(i + 1);
		values[1] = Int32GetDatum(req.k);
		values[2] = PointerGetDatum(construct_array(members, req.nmembers, TEXTOID,
													-1, false, TYPALIGN_INT));
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, isnull);
	}
	return (Datum) 0;
}

/*
 * depwatch._check_probe_target(probe text, target text) RETURNS void
 *
 * Raises an error unless the probe is known and target suits it.
 */
Datum
dw_check_probe_target(PG_FUNCTION_ARGS)
{
	char	   *probe_name;
	char	   *target;
	DwProbe		probe;
	char		why[512];

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errhidestmt(true),
				 errmsg("probe must not be NULL"),
				 errhint("Use one of tcp, http, postgres, passive or none.")));
	probe_name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	target = PG_ARGISNULL(1) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(1));
	probe = dw_probe_from_name(probe_name);
	if (probe == DW_PROBE_INVALID)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errhidestmt(true),
				 errmsg("unknown probe \"%s\"", shown(probe_name)),
				 errhint("Use one of tcp, http, postgres, passive or none.")));
	if (target && strlen(target) > DW_MAX_TARGET)
		ereport(ERROR,
				(errcode(ERRCODE_STRING_DATA_RIGHT_TRUNCATION),
				 errhidestmt(true),
				 errmsg("target for probe \"%s\" is longer than %d bytes", probe_name, DW_MAX_TARGET),
				 errhint("A target is a host:port, a URL or a connection string, none of them that long.")));
	if (!dw_check_target(probe, target, why, sizeof(why)))
	{
		/* a target that does not parse may still hold a password */
		char	   *redacted = target ? dw_redact_target(target) : NULL;
		const char *quoted = shown(pstrdup(redacted ? redacted : ""));

		dw_free_masked(redacted);
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errhidestmt(true),
				 errmsg("invalid target \"%s\" for probe \"%s\"", quoted, probe_name),
				 errdetail_internal("%s", why),
				 probe == DW_PROBE_TCP ?
				 errhint("Write a tcp target as 'host:port' or '[::1]:port'.") :
				 probe == DW_PROBE_HTTP ?
				 errhint("Write an http target as a full URL, such as 'https://bureau.example/health'.") :
				 errhint("Write a postgres target as a libpq connection string, such as 'host=db port=5432 dbname=core'.")));
	}
	PG_RETURN_VOID();
}

/*
 * depwatch._mask_probe_target(probe text, target text) RETURNS text
 *
 * The target with its secrets replaced by asterisks, for readers and for
 * the audit log, whatever its probe: see dw_mask_target.
 */
Datum
dw_mask_probe_target(PG_FUNCTION_ARGS)
{
	char	   *target;
	char	   *masked;
	text	   *result;

	if (PG_ARGISNULL(1))
		PG_RETURN_NULL();
	target = text_to_cstring(PG_GETARG_TEXT_PP(1));
	/* the structure decides: a NULL or unknown probe masks all the same */
	masked = dw_mask_target(PG_ARGISNULL(0) ? DW_PROBE_INVALID :
							dw_probe_from_name(text_to_cstring(PG_GETARG_TEXT_PP(0))),
							target);
	if (masked == NULL)
		PG_RETURN_TEXT_P(PG_GETARG_TEXT_PP(1));
	result = cstring_to_text(masked);
	dw_free_masked(masked);
	PG_RETURN_TEXT_P(result);
}

/*
 * depwatch._option_number(key text, value jsonb, dflt float8) RETURNS float8
 *
 * The value of numeric option "key" (dflt when value is NULL), parsed by
 * dw_option_number as the worker parses it; raises an error for a value
 * that is not a finite number inside the option's range.
 */
Datum
dw_option_number_sql(PG_FUNCTION_ARGS)
{
	char	   *key;
	Jsonb	   *value;
	JsonbValue	scalar;
	char	   *numtext;
	double		d;
	char		why[128];

	if (PG_ARGISNULL(0))
		elog(ERROR, "option name must not be NULL");
	key = text_to_cstring(PG_GETARG_TEXT_PP(0));
	if (PG_ARGISNULL(1))
	{
		if (PG_ARGISNULL(2))
			PG_RETURN_NULL();
		PG_RETURN_DATUM(PG_GETARG_DATUM(2));
	}
	value = PG_GETARG_JSONB_P(1);
	if (!JsonbExtractScalar(&value->root, &scalar) || scalar.type != jbvNumeric)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("option \"%s\" must be a JSON number", shown(key)),
				 errhint(DW_OPTION_RANGES_HINT)));
	numtext = DatumGetCString(DirectFunctionCall1(numeric_out,
											   NumericGetDatum(scalar.val.numeric)));
	/* too big, too small to tell from zero, or outside the documented range */
	if (!dw_option_number(key, numtext, &d, why, sizeof(why)))
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("option \"%s\" is out of range: %s", shown(key), shown(numtext)),
				 errhint(DW_OPTION_RANGES_HINT)));
	PG_RETURN_FLOAT8(d);
}

/*
 * depwatch._check_option_values(options jsonb) RETURNS void
 *
 * Raises an error unless dw_options_ok accepts the options: what the
 * configuration API stores, the probe worker can load.
 */
Datum
dw_check_option_values(PG_FUNCTION_ARGS)
{
	char		why[128];

	if (PG_ARGISNULL(0))
		PG_RETURN_VOID();
	if (!dw_options_ok(PG_GETARG_JSONB_P(0), why, sizeof(why)))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid options: %s", why),
				 errhint("Send at most %d request headers of %d bytes in all; %s",
						 DW_MAX_REQUEST_HEADERS, DW_MAX_REQUEST_HEADER_BYTES,
						 DW_OPTION_RANGES_HINT)));
	PG_RETURN_VOID();
}

/*
 * depwatch._options_problem(options jsonb) RETURNS text
 *
 * What dw_options_ok finds wrong with the options, or NULL; never raises,
 * so that the worker can skip one bad row and load the others.
 */
Datum
dw_options_problem(PG_FUNCTION_ARGS)
{
	char		why[128];

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	if (dw_options_ok(PG_GETARG_JSONB_P(0), why, sizeof(why)))
		PG_RETURN_NULL();
	PG_RETURN_TEXT_P(cstring_to_text(why));
}
