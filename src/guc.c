/*-------------------------------------------------------------------------
 *
 * guc.c
 *	  depwatch's settings (the module's entry point is in depwatch.c).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <arpa/inet.h>
#include <limits.h>
#include <unistd.h>

#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/timestamp.h"

#include "address_policy.h"
#include "depwatch.h"

PG_FUNCTION_INFO_V1(dw_sample_retention);
PG_FUNCTION_INFO_V1(dw_vantage_name);

char	   *dw_vantage_setting = NULL;
int			dw_sample_retention_min = 90 * 24 * 60;

/* how far ahead of the server's clock a reported sample may be (bounds.c) */
int			dw_max_clock_skew_ms = 5000;

/* changes recorded about a past older than this make no alert (src/sql/85-alerts.sql) */
static int	dw_alert_max_age_s = 15 * 60;

/*
 * The alert events' state within a transaction (src/sql/85-alerts.sql): the
 * first event id it appended, where routing at commit starts, and whether
 * its capabilities are to be checked at commit.  Set only by depwatch's
 * own functions, with SET LOCAL semantics; superuser-only, so that no
 * session can plant a value that would re-route old events or route none.
 */
static char *dw_alert_route_from = NULL;
static bool dw_alert_capabilities_due = false;

char	   *dw_databases = NULL;
int			dw_max_concurrency = 1000;
char	   *dw_source_address = NULL;
int			dw_quorum = 0;
bool		dw_consensus = false;
char	   *dw_allowed_addresses = NULL;
const DwAddressPolicy *dw_address_policy = NULL;

/* depwatch.source_address must be empty or a numeric IP address */
static bool
check_source_address(char **newval, void **extra, GucSource source)
{
	unsigned char buf[sizeof(struct in6_addr)];

	if (**newval == '\0' ||
		inet_pton(AF_INET, *newval, buf) == 1 ||
		inet_pton(AF_INET6, *newval, buf) == 1)
		return true;
	GUC_check_errdetail("\"%s\" is not an IPv4 or IPv6 address.", *newval);
	GUC_check_errhint("Give an address of this host, such as 127.0.0.2, or an empty string.");
	return false;
}

/*
 * depwatch.allowed_addresses is parsed once, here: the probe worker checks
 * addresses against the parsed form before every connect of a restricted
 * probe.
 */
static bool
check_allowed_addresses(char **newval, void **extra, GucSource source)
{
	DwAddressPolicy *policy = malloc(sizeof(DwAddressPolicy));
	char		why[256];

	if (policy == NULL)
	{
		GUC_check_errcode(ERRCODE_OUT_OF_MEMORY);
		return false;
	}
	if (!dw_policy_parse(*newval, policy, why, sizeof(why)))
	{
		free(policy);
		GUC_check_errdetail("%s", why);
		GUC_check_errhint("List networks such as '10.20.0.0/16, !10.20.9.0/24, 2001:db8::/32'; a leading '!' refuses, the first entry that contains an address decides.");
		return false;
	}
	*extra = policy;
	return true;
}

static void
assign_allowed_addresses(const char *newval, void *extra)
{
	dw_address_policy = extra;
}

void
dw_define_gucs(void)
{
	DefineCustomStringVariable("depwatch.vantage",
							   "Name of the place this node probes from.",
							   "Every sample carries it.  Empty means the "
							   "cluster_name setting, or else the host name.",
							   &dw_vantage_setting,
							   "",
							   PGC_SIGHUP,
							   0,
							   NULL, NULL, NULL);

	DefineCustomIntVariable("depwatch.sample_retention",
							"How long samples are kept.",
							"maintain_sample_partitions() drops older ones.",
							&dw_sample_retention_min,
							90 * 24 * 60,
							24 * 60,
							INT_MAX,
							PGC_SIGHUP,
							GUC_UNIT_MIN,
							NULL, NULL, NULL);

	/*
	 * Superuser-only to change: the operators whose samples it bounds must
	 * not lift it.  A superuser may raise it for one session (an import
	 * from a node whose clock runs ahead).
	 */
	DefineCustomIntVariable("depwatch.max_clock_skew",
							"How far ahead of the server's clock a reported sample may be.",
							"report_sample() refuses samples later than the server's "
							"clock plus this.",
							&dw_max_clock_skew_ms,
							5000,
							0,
							60 * 60 * 1000,
							PGC_SUSET,
							GUC_UNIT_MS,
							NULL, NULL, NULL);

	/*
	 * Superuser-only: an operator recording an old outage must not make it
	 * page (or keep a fresh one from paging) by changing it.
	 */
	DefineCustomIntVariable("depwatch.alert_max_age",
							"How old a recorded change may be and still make alerts.",
							"An outage recorded or ended longer ago than this makes "
							"no alert event; imports never do.",
							&dw_alert_max_age_s,
							15 * 60,
							0,
							INT_MAX,
							PGC_SUSET,
							GUC_UNIT_S,
							NULL, NULL, NULL);

	DefineCustomStringVariable("depwatch.alert_route_from",
							   "Internal: the first alert event this transaction appended.",
							   NULL,
							   &dw_alert_route_from,
							   "",
							   PGC_SUSET,
							   GUC_NO_SHOW_ALL | GUC_NOT_IN_SAMPLE | GUC_DISALLOW_IN_FILE,
							   NULL, NULL, NULL);

	DefineCustomBoolVariable("depwatch.alert_capabilities_due",
							 "Internal: this transaction changed outages; check the capabilities at commit.",
							 NULL,
							 &dw_alert_capabilities_due,
							 false,
							 PGC_SUSET,
							 GUC_NO_SHOW_ALL | GUC_NOT_IN_SAMPLE | GUC_DISALLOW_IN_FILE,
							 NULL, NULL, NULL);

	DefineCustomStringVariable("depwatch.databases",
							   "Databases whose dependencies depwatch probes.",
							   "A comma-separated list; a probe worker runs in each "
							   "one that exists and has the extension.",
							   &dw_databases,
							   "postgres",
							   PGC_SIGHUP,
							   GUC_LIST_INPUT | GUC_SUPERUSER_ONLY,
							   NULL, NULL, NULL);

	DefineCustomIntVariable("depwatch.max_concurrency",
							"Most probes one worker runs at once.",
							"Due probes beyond it wait for a free place.",
							&dw_max_concurrency,
							1000,
							1,
							10000,
							PGC_SIGHUP,
							0,
							NULL, NULL, NULL);

	DefineCustomStringVariable("depwatch.source_address",
							   "Local address that tcp and http probes connect from.",
							   "An IPv4 or IPv6 address of this host; empty lets the "
							   "system choose.  postgres probes always connect from "
							   "the address the system chooses (libpq cannot bind one).",
							   &dw_source_address,
							   "",
							   PGC_SIGHUP,
							   GUC_SUPERUSER_ONLY,
							   check_source_address, NULL, NULL);

	DefineCustomIntVariable("depwatch.quorum",
							"Vantages that must see a dependency down for a consensus outage.",
							"0 means a majority of the vantages reporting at the time.  "
							"A dependency's options->>'quorum' overrides it.",
							&dw_quorum,
							0,
							0,
							1000,
							PGC_SIGHUP,
							0,
							NULL, NULL, NULL);

	DefineCustomBoolVariable("depwatch.consensus",
							 "Reports read the vantages' consensus instead of this node's outages.",
							 "For the central node (doc/vantages.md): availability(), "
							 "capability_outages(), state_timeline(), timeline_svg(), "
							 "capabilities' current status and incidents' capability windows use the consensus "
							 "outages of probed dependencies.",
							 &dw_consensus,
							 false,
							 PGC_USERSET,
							 0,
							 NULL, NULL, NULL);

	DefineCustomStringVariable("depwatch.allowed_addresses",
							   "Addresses that probes not set by a superuser may connect to.",
							   "Comma-separated IPv4 and IPv6 networks, each refused "
							   "with a leading '!'; the first that contains an address "
							   "decides, and an address none contains is refused.  "
							   "Unix sockets are always refused.  Probes whose settings "
							   "a superuser made last are not restricted.",
							   &dw_allowed_addresses,
							   DW_POLICY_DEFAULT,
							   PGC_SIGHUP,
							   GUC_LIST_INPUT,
							   check_allowed_addresses, assign_allowed_addresses, NULL);

	dw_define_alert_gucs();

	MarkGUCPrefixReserved("depwatch");
}

/*
 * dw_vantage returns the vantage name samples are stamped with.
 */
const char *
dw_vantage(void)
{
	static char hostname[256];
	const char *cluster = GetConfigOption("cluster_name", true, false);

	if (dw_vantage_setting && dw_vantage_setting[0] != '\0')
		return dw_vantage_setting;
	if (cluster && cluster[0] != '\0')
		return cluster;
	if (hostname[0] == '\0' &&
		gethostname(hostname, sizeof(hostname) - 1) != 0)
		strlcpy(hostname, "local", sizeof(hostname));
	return hostname;
}

/*
 * depwatch._sample_retention() returns depwatch.sample_retention as an
 * interval.  Calling it loads the library, so the setting exists even in a
 * session of a server that does not preload depwatch.
 */
Datum
dw_sample_retention(PG_FUNCTION_ARGS)
{
	Interval   *result = palloc0(sizeof(Interval));

	result->time = (int64) dw_sample_retention_min * USECS_PER_MINUTE;
	PG_RETURN_INTERVAL_P(result);
}

/*
 * depwatch._vantage() returns this node's vantage name, as the probe
 * worker stamps it on samples.
 */
Datum
dw_vantage_name(PG_FUNCTION_ARGS)
{
	PG_RETURN_TEXT_P(cstring_to_text(dw_vantage()));
}
