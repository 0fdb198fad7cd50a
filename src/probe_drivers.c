/*-------------------------------------------------------------------------
 *
 * probe_drivers.c
 *	  The list of probe drivers the worker's event loop drives, and the
 *	  choice of the one that probes a target.
 *
 * A new driver is a file defining its DwProbeDriver (see probe.h) and one
 * line here; the worker knows no driver by name.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "probe.h"

extern const DwProbeDriver dw_curl_driver;	/* probe_curl.c */
extern const DwProbeDriver dw_tcp_driver;	/* probe_tcp.c */
extern const DwProbeDriver dw_pg_driver;	/* probe_pg.c */
extern const DwProbeDriver dw_alert_driver;	/* alert_sender.c: probes nothing */

const DwProbeDriver *const dw_probe_drivers[] = {
	&dw_curl_driver,
	&dw_tcp_driver,
	&dw_pg_driver,
	&dw_alert_driver,
};

const int	dw_nprobe_drivers = lengthof(dw_probe_drivers);

/*
 * dw_probe_driver_for: the driver that probes t, NULL if none does (a
 * passive dependency).  Asked once per target, not per probe: the worker
 * keeps the answer in t->driver.
 */
const DwProbeDriver *
dw_probe_driver_for(const DwTarget *t)
{
	for (int i = 0; i < dw_nprobe_drivers; i++)
		if (dw_probe_drivers[i]->claims(t))
			return dw_probe_drivers[i];
	return NULL;
}
