/*-------------------------------------------------------------------------
 *
 * guc.c
 *	  depwatch's settings, and the module's entry point.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <arpa/inet.h>
#include <limits.h>
#include <unistd.h>

#include "common/int.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/timestamp.h"

#include "depwatch.h"
#include "shmem.h"
#include "utility_hook.h"
#include "worker.h"

PG_MODULE_MAGIC;

PG_FUNCTION_INFO_V1(dw_sample_retention);
PG_FUNCTION_INFO_V1(dw_vantage_name);

void		_PG_init(void);

char	   *dw_vantage_setting = NULL;
int			dw_sample_retention_min = 90 * 24 * 60;

/* how far ahead of the server's clock a reported sample may be (bounds.c) */
int			dw_max_clock_skew_ms = 5000;

char	   *dw_databases = NULL;
int			dw_max_concurrency = 1000;
char	   *dw_source_address = NULL;
int			dw_quorum = 0;
bool		dw_consensus = false;

/*
 * _PG_init defines the settings (all of them can change at SIGHUP, so they
 * are defined whether or not the library is preloaded) and, when preloaded,
 * sets up shared memory and the launcher of the probe workers.
 */
void
_PG_init(void)
{
	dw_define_gucs();
	if (!process_shared_preload_libraries_in_progress || IsBinaryUpgrade)
		return;
	dw_shmem_init();
	dw_install_utility_hook();
	dw_register_launcher();
}

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

int64
dw_interval_usecs(const Interval *iv)
{
	int64		days;
	int64		usecs;

	/* at most 2^31 months of 30 days, so no overflow yet */
	days = (int64) iv->month * DAYS_PER_MONTH + iv->day;
	if (pg_mul_s64_overflow(days, USECS_PER_DAY, &usecs) ||
		pg_add_s64_overflow(usecs, iv->time, &usecs))
		return (days < 0) ? PG_INT64_MIN : PG_INT64_MAX;
	return usecs;
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
