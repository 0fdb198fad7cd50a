/*-------------------------------------------------------------------------
 *
 * worker.h
 *	  The launcher and the per-database probe workers.
 *
 *-------------------------------------------------------------------------
 */
#ifndef DEPWATCH_WORKER_H
#define DEPWATCH_WORKER_H

#include "postgres.h"

extern void dw_register_launcher(void);
extern PGDLLEXPORT void dw_launcher_main(Datum arg) pg_attribute_noreturn();
extern PGDLLEXPORT void dw_worker_main(Datum arg) pg_attribute_noreturn();
/* in the probe worker: fn(arg) in a transaction of its own, errors survived */
extern bool dw_worker_transaction(void (*fn) (void *), void *arg, const char *what);

#endif							/* DEPWATCH_WORKER_H */
