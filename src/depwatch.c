/*-------------------------------------------------------------------------
 *
 * depwatch.c
 *	  The module's entry point: what the server calls when it loads the
 *	  library.
 *
 * Kept apart from the settings (guc.c), which every layer reads, so that
 * only this file reaches up to the workers and the hooks it installs.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "miscadmin.h"

#include "depwatch.h"
#include "shmem.h"
#include "utility_hook.h"
#include "worker.h"

PG_MODULE_MAGIC;

void		_PG_init(void);

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
