/*-------------------------------------------------------------------------
 *
 * outbound_sql.c
 *	  SQL-callable checks of the outbound rules (outbound.c), for
 *	  add_dependency() and alter_dependency().
 *
 * The probe worker enforces the same rules when it connects; these give
 * the admin an immediate error for what can be known when a dependency is
 * set.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"

#include "depwatch.h"
#include "outbound.h"

PG_FUNCTION_INFO_V1(dw_caller_is_superuser);
PG_FUNCTION_INFO_V1(dw_check_restricted_probe);

#define RESTRICTED_DETAIL \
	"Probe settings made by a role that is not a superuser may reach only " \
	"the addresses depwatch.allowed_addresses allows, never a unix socket, " \
	"and use only plain connection keywords, GET, HEAD or OPTIONS, and " \
	"headers that keep the request as addressed."

/*
 * depwatch._caller_is_superuser() RETURNS boolean
 *
 * Whether the role on whose behalf the API function runs is a superuser:
 * inside a SECURITY DEFINER function current_user is the owner, so this is
 * the outer role, the one SET ROLE chose (or the session's).  A superuser
 * who SET ROLE to another role is that role here.
 */
Datum
dw_caller_is_superuser(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(superuser_arg(GetOuterUserId()));
}

static void
refuse(DwOutbound v, const char *why)
{
	/* the statement would show the target, password and all, in the log */
	ereport(ERROR,
			(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
			 errhidestmt(true),
			 errmsg("%s for a probe not set by a superuser", why),
			 errdetail(RESTRICTED_DETAIL),
			 v == DW_OUTBOUND_ADDRESS ?
			 errhint("A superuser must set this dependency's probe, or allow the address in depwatch.allowed_addresses.") :
			 errhint("A superuser must set this dependency's probe.")));
}

/*
 * depwatch._check_restricted_probe(probe text, target text, method text,
 *									headers text[]) RETURNS void
 *
 * Raises insufficient_privilege when a restricted probe of these settings
 * would be refused; headers are the names of options->'headers'.
 */
Datum
dw_check_restricted_probe(PG_FUNCTION_ARGS)
{
	DwProbe		probe;
	char		why[256];
	DwOutbound	v;

	if (PG_ARGISNULL(0))
		PG_RETURN_VOID();
	probe = dw_probe_from_name(text_to_cstring(PG_GETARG_TEXT_PP(0)));
	if (dw_address_policy == NULL)
		elog(ERROR, "depwatch.allowed_addresses is not set up");
	if (!PG_ARGISNULL(1))
	{
		v = dw_restricted_target(probe, text_to_cstring(PG_GETARG_TEXT_PP(1)),
								 dw_address_policy, why, sizeof(why));
		/* a target that does not parse was refused already, by its own check */
		if (v != DW_OUTBOUND_OK && v != DW_OUTBOUND_INVALID)
			refuse(v, why);
	}
	if (probe != DW_PROBE_HTTP)
		PG_RETURN_VOID();
	if (!PG_ARGISNULL(2))
	{
		char	   *method = text_to_cstring(PG_GETARG_TEXT_PP(2));

		if (!dw_restricted_http_method(method))
		{
			snprintf(why, sizeof(why), "method %s is not allowed", method);
			refuse(DW_OUTBOUND_KEYWORD, why);
		}
	}
	if (!PG_ARGISNULL(3))
	{
		Datum	   *names;
		bool	   *nulls;
		int			n;

		deconstruct_array(PG_GETARG_ARRAYTYPE_P(3), TEXTOID, -1, false, TYPALIGN_INT,
						  &names, &nulls, &n);
		for (int i = 0; i < n; i++)
		{
			char	   *name;

			if (nulls[i])
				continue;
			name = text_to_cstring(DatumGetTextPP(names[i]));
			if (!dw_restricted_http_header(name, strlen(name)))
			{
				snprintf(why, sizeof(why), "header \"%.60s\" is not allowed", name);
				refuse(DW_OUTBOUND_KEYWORD, why);
			}
		}
	}
	PG_RETURN_VOID();
}
