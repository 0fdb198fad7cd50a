/*-------------------------------------------------------------------------
 *
 * validate.c
 *	  SQL-callable checks over the C rules: requirement groups, names,
 *	  probe targets, the masking of secrets in targets, and options.
 *
 * The configuration API (PL/pgSQL, src/sql/) and the tables' CHECK
 * constraints call these, so every syntax rule is written once, in C
 * (requirements.c, targets.c, options.c), and its errors raised here.
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

#include "depwatch.h"
#include "options.h"
#include "requirements.h"
#include "targets.h"

PG_FUNCTION_INFO_V1(dw_parse_requirements);
PG_FUNCTION_INFO_V1(dw_valid_name_sql);
PG_FUNCTION_INFO_V1(dw_check_probe_target);
PG_FUNCTION_INFO_V1(dw_mask_probe_target);
PG_FUNCTION_INFO_V1(dw_option_number_sql);
PG_FUNCTION_INFO_V1(dw_check_options);
PG_FUNCTION_INFO_V1(dw_options_problem);

/* the longest target accepted: a host:port, a URL or a conninfo */
#define DW_MAX_TARGET 2048

/*
 * report_requirement_error raises the error for one bad group.
 */
static void
report_requirement_error(DwReqError err, const char *group,
						 const DwRequirement *req)
{
	const char *bad = dw_clip(pnstrdup(req->offender.start ? req->offender.start : "",
									 req->offender.len));

	group = dw_clip(group);

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
 * depwatch_internal._valid_name(name text) RETURNS boolean
 *
 * dw_valid_name for the tables' CHECK constraints and the API's checks.
 */
Datum
dw_valid_name_sql(PG_FUNCTION_ARGS)
{
	text	   *name = PG_GETARG_TEXT_PP(0);

	PG_RETURN_BOOL(dw_valid_name(VARDATA_ANY(name), VARSIZE_ANY_EXHDR(name)));
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
				 errmsg("unknown probe \"%s\"", dw_clip(probe_name)),
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
		const char *quoted = dw_clip(pstrdup(redacted ? redacted : ""));

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

/* report_options_problem raises the error for what dw_options_ok found */
static void
report_options_problem(const char *why)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("invalid options: %s", why),
			 errhint("Send at most %d request headers of %d bytes in all; %s",
					 DW_MAX_REQUEST_HEADERS, DW_MAX_REQUEST_HEADER_BYTES,
					 DW_OPTION_RANGES_HINT)));
}

/*
 * check_number_option raises an error unless value (a jsonb scalar) is a
 * number that dw_option_number accepts for option key, as the worker
 * parses it; returns it.
 */
static double
check_number_option(const char *key, const JsonbValue *value)
{
	char	   *numtext;
	double		d;
	char		why[128];

	if (value->type != jbvNumeric)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("option \"%s\" must be a JSON number", dw_clip(key)),
				 errhint(DW_OPTION_RANGES_HINT)));
	numtext = DatumGetCString(DirectFunctionCall1(numeric_out,
											   NumericGetDatum(value->val.numeric)));
	/* too big, too small to tell from zero, or outside the documented range */
	if (!dw_option_number(key, numtext, &d, why, sizeof(why)))
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("option \"%s\" is out of range: %s", dw_clip(key), dw_clip(numtext)),
				 errhint(DW_OPTION_RANGES_HINT)));
	return d;
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
	Jsonb	   *value;
	JsonbValue	scalar;

	if (PG_ARGISNULL(0))
		elog(ERROR, "option name must not be NULL");
	if (PG_ARGISNULL(1))
	{
		if (PG_ARGISNULL(2))
			PG_RETURN_NULL();
		PG_RETURN_DATUM(PG_GETARG_DATUM(2));
	}
	value = PG_GETARG_JSONB_P(1);
	if (!JsonbExtractScalar(&value->root, &scalar))
		scalar.type = jbvBinary;
	PG_RETURN_FLOAT8(check_number_option(text_to_cstring(PG_GETARG_TEXT_PP(0)), &scalar));
}

/*
 * json_type: the type of a jsonb value, as jsonb_typeof names it (a nested
 * container comes as jbvBinary).
 */
static const char *
json_type(const JsonbValue *v)
{
	switch (v->type)
	{
		case jbvNull:
			return "null";
		case jbvString:
			return "string";
		case jbvNumeric:
			return "number";
		case jbvBool:
			return "boolean";
		case jbvBinary:
			return JsonContainerIsObject(v->val.binary.data) ? "object" : "array";
		default:
			return "unknown";
	}
}

/* json_text: a jsonb value as jsonb_out prints it */
static char *
json_text(JsonbValue *v)
{
	Jsonb	   *jb = JsonbValueToJsonb(v);

	return JsonbToCString(NULL, &jb->root, VARSIZE(jb));
}

/*
 * check_option raises an error unless value suits option key of probe:
 * a key the probe takes, of the option's JSON type, and for each option
 * whatever its syntax is (options.c).
 */
static void
check_option(DwProbe probe, const char *probe_name, const char *key,
			 JsonbValue *value)
{
	const char *type = dw_option_type(key);
	const char *must;
	const char *hint;
	char	   *bad;

	if (!dw_option_takes(probe, key))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("unknown option \"%s\" for probe \"%s\"", dw_clip(key), probe_name),
				 errhint("Probe \"%s\" takes: %s.", probe_name, dw_option_list(probe))));
	if (strcmp(json_type(value), type) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("option \"%s\" must be a JSON %s, not a JSON %s", key, type, json_type(value)),
				 errhint("See the options of add_dependency() in the reference.")));
	if (value->type == jbvNumeric)
		check_number_option(key, value);
	else if (strcmp(key, "headers") == 0 && (bad = dw_bad_header(value->val.binary.data)) != NULL)
		/* the value may be a secret: name the header, never its value */
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("option \"headers\" has an invalid header \"%s\"", dw_clip(bad)),
				 errdetail("Header names are HTTP tokens; values are strings of one line."),
				 errhint("Write it as {\"Authorization\": \"Bearer ...\"}.")));
	else if (!dw_option_value_ok(key, value, &must, &hint))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("option \"%s\" must %s, not %s", key, must, dw_clip(json_text(value))),
				 errhint("%s", hint)));
}

/*
 * depwatch._check_options(probe text, options jsonb) RETURNS void
 *
 * Raises an error unless options is a JSON object of options that probe
 * takes, each of its type and syntax, and dw_options_ok accepts their
 * values: what the configuration API stores, the probe worker can load.
 * The probe was checked before (_check_probe_target).
 */
Datum
dw_check_options(PG_FUNCTION_ARGS)
{
	const char *probe_name;
	DwProbe		probe;
	Jsonb	   *options;
	JsonbIterator *it;
	JsonbValue	v;
	JsonbIteratorToken tok;
	char	   *key = NULL;
	char		why[128];

	if (PG_ARGISNULL(0) ||
		(probe = dw_probe_from_name(probe_name = text_to_cstring(PG_GETARG_TEXT_PP(0)))) == DW_PROBE_INVALID)
		elog(ERROR, "options checked for an unknown probe");
	options = PG_ARGISNULL(1) ? NULL : PG_GETARG_JSONB_P(1);
	if (options == NULL || !JB_ROOT_IS_OBJECT(options))
	{
		JsonbValue	scalar;

		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("options must be a JSON object, not %s",
						options == NULL ? "NULL" :
						JsonbExtractScalar(&options->root, &scalar) ? json_type(&scalar) : "array"),
				 errhint("Pass options such as '{\"slo\": 99.95}'.")));
	}
	it = JsonbIteratorInit(&options->root);
	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		if (tok == WJB_KEY)
			key = pnstrdup(v.val.string.val, v.val.string.len);
		else if (tok == WJB_VALUE)
			check_option(probe, probe_name, key, &v);
	}
	/* request headers are bounded (count and bytes), as the worker needs */
	if (!dw_options_ok(options, why, sizeof(why)))
		report_options_problem(why);
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
