/*-------------------------------------------------------------------------
 *
 * outage_store.h
 *	  Catalog access for the outage state machine: a dependency's rules,
 *	  its saved machine, and the outage rows the machine opens and closes.
 *
 * All functions run inside an SPI connection and a transaction.
 *
 *-------------------------------------------------------------------------
 */
#ifndef DEPWATCH_OUTAGE_STORE_H
#define DEPWATCH_OUTAGE_STORE_H

#include "access/htup.h"
#include "access/tupdesc.h"
#include "datatype/timestamp.h"

#include "outage_machine.h"
#include "targets.h"

/* What the state machine needs to know about one dependency. */
typedef struct DwDependency
{
	int64		id;
	char	   *name;
	DwProbe		probe;
	int32		fail_after;
	int32		recover_after;
	int64		degraded_after; /* microseconds; -1 = never slow */
	DwRateRule	rate;			/* passive only */
	int64		window;			/* passive only: microseconds */
	bool		reported;		/* samples come from report_sample */
} DwDependency;

extern bool dw_has_degraded(const DwDependency *dep);
extern const char *dw_outage_source(const DwDependency *dep);

/*
 * Where the columns of depwatch._machine_rules are in a query's result,
 * found by name (dw_rule_columns); 0 for an optional column the catalog
 * does not have yet.
 */
typedef struct DwRuleColumns
{
	int			id;
	int			name;
	int			probe;
	int			fail_after;
	int			recover_after;
	int			degraded_after;
	int			error_rate;
	int			min_calls;
	int			window;
	int			degraded_error_rate;	/* new in 0.3: optional */
} DwRuleColumns;

extern int	dw_column(TupleDesc desc, const char *name, bool required,
					  const char *what);
extern void dw_rule_columns(TupleDesc desc, DwRuleColumns *cols);
extern void dw_dependency_from_tuple(HeapTuple tup, TupleDesc desc,
									 const DwRuleColumns *cols, DwDependency *dep);
extern void dw_load_dependency(const char *name, DwDependency *dep);
/* One sample row on its way to depwatch.sample. */
typedef struct DwSampleRow
{
	int64		dependency_id;
	TimestampTz at;
	bool		ok;
	const Interval *latency;	/* NULL: unknown */
	const char *detail;			/* NULL: none */
} DwSampleRow;

extern DwSampleClass dw_classify(const DwDependency *dep, bool ok,
								 bool has_latency, int64 latency);
extern void dw_lock_machines(const DwDependency *const *deps, int n,
							 DwMachine *machines, TimestampTz *last_at,
							 bool *locked);
extern void dw_save_machines(const DwDependency *const *deps, int n,
							 const DwMachine *machines, const TimestampTz *last_at);
extern void dw_store_samples(const char *vantage, const DwSampleRow *rows, int n);
extern TimestampTz dw_lock_machine(const DwDependency *dep, DwMachine *m);
extern void dw_save_machine(const DwDependency *dep, const DwMachine *m,
							TimestampTz last_at);
extern void dw_store_sample(const DwDependency *dep, const char *vantage,
							TimestampTz at, bool ok, const Interval *latency,
							const char *detail);
extern int	dw_advance(const DwDependency *dep, DwMachine *m, TimestampTz at,
					   DwSampleClass class);
extern DwSampleClass dw_passive_verdict(const DwDependency *dep,
										TimestampTz at);
extern void dw_passive_expiries(const DwDependency *dep, DwMachine *m,
								TimestampTz since, TimestampTz until);

#endif							/* DEPWATCH_OUTAGE_STORE_H */
