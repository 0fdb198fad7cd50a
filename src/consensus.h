/*-------------------------------------------------------------------------
 *
 * consensus.h
 *	  The consensus of several vantages on each probed dependency
 *	  (doc/semantics.md, "Vantages and consensus"): each vantage's view as a
 *	  timeline, and the consensus built from the views by timeline.c's
 *	  sweep with a quorum group.
 *
 *-------------------------------------------------------------------------
 */
#ifndef DEPWATCH_CONSENSUS_H
#define DEPWATCH_CONSENSUS_H

#include "postgres.h"

#include "datatype/timestamp.h"

#include "timeline.h"

/* One probed dependency as the vantages saw it over [lo, end). */
typedef struct DwConsensus
{
	int64		dependency_id;
	char	   *dependency;
	int			quorum;			/* its quorum setting; 0: a majority of those
								 * watching */
	int			nvantages;
	char	  **vantages;		/* by name */
	DwTimeline *views;			/* each vantage's: up, down or unmonitored */
	DwTimeline	timeline;		/* the consensus: up, down or unmonitored */
} DwConsensus;

typedef struct DwConsensusSet
{
	TimestampTz lo;
	TimestampTz end;			/* min(hi, now): what comes later is unknown */
	int			n;				/* every probed dependency, by name */
	DwConsensus *items;
	DwConsensus **by_id;		/* the same, by dependency id */
} DwConsensusSet;

extern DwConsensusSet *dw_load_consensus(TimestampTz lo, TimestampTz hi, TimestampTz now,
										 MemoryContext outer);
extern const DwConsensus *dw_find_consensus(const DwConsensusSet *cs, int64 dependency_id);

#endif							/* DEPWATCH_CONSENSUS_H */
