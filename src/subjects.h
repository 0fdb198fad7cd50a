/*-------------------------------------------------------------------------
 *
 * subjects.h
 *	  The dependencies and capabilities a report is about ("subjects"),
 *	  read from the catalog with their windows over a period, and their
 *	  state timelines (timeline.h) built on demand.
 *
 *-------------------------------------------------------------------------
 */
#ifndef DEPWATCH_SUBJECTS_H
#define DEPWATCH_SUBJECTS_H

#include "postgres.h"

#include "datatype/timestamp.h"
#include "fmgr.h"
#include "utils/array.h"
#include "utils/hsearch.h"
#include "utils/rangetypes.h"

#include "consensus.h"
#include "timeline.h"

typedef struct DwSubject
{
	char	   *name;
	bool		is_capability;
	int64		id;
	Datum		slo;			/* numeric: the objective, in percent */
	TimestampTz created_at;
	TimestampTz tracked_since;	/* dependency: untracked (unmonitored) before */
	/* dependency: all its windows; capability: its own maintenance */
	DwSpan	   *spans;
	int			nspans;
	int			maxspans;
	/* probed dependency, read by consensus: its vantages and consensus */
	const DwConsensus *consensus;
	int			nconsensus;		/* the first spans come from the consensus */
	/* capability: requirement groups, members as subject indexes */
	int			ngroups;
	char	  **group_text;
	int		   *group_k;
	int		   *group_size;
	int		  **group_members;
	/* the timeline, once built */
	int			build_state;	/* 0 not yet, 1 being built, 2 built */
	DwTimeline	timeline;
} DwSubject;

/* Which windows a report reads. */
typedef enum DwWindowSource
{
	DW_WINDOWS_ALL,				/* outages, maintenance, every monitor gap in
								 * the samples, and the future and the time
								 * before tracked_since as unmonitored */
	DW_WINDOWS_STATUS,			/* the same but the future, a gap still open
								 * at now going on through it (current_status:
								 * a period that ends just after now) */
	DW_WINDOWS_DOWN_OF,			/* only the down outages of some dependencies
								 * (what an incident is made of) */
	DW_WINDOWS_SUPPOSED			/* nothing recorded: some dependencies down
								 * over the whole period, every other one up
								 * (a supposed loss: what it would break) */
} DwWindowSource;

typedef struct DwSubjects
{
	TimestampTz lo;				/* the period [lo, hi) */
	TimestampTz hi;
	TimestampTz now;			/* the transaction's now(): later is unmonitored */
	int			n;				/* dependencies, then capabilities, each by name */
	DwSubject  *items;
	HTAB	   *by_name;		/* name -> index */
} DwSubjects;

extern void dw_period_bounds(RangeType *period, const char *argname,
							 TimestampTz *lo, TimestampTz *hi);
extern void dw_period_arg(FunctionCallInfo fcinfo, TimestampTz *lo, TimestampTz *hi);
extern DwSubjects *dw_load_subjects(TimestampTz lo, TimestampTz hi, DwWindowSource source,
									 ArrayType *dependencies, ArrayType *roots);
extern DwSubjects *dw_load_subjects_as(TimestampTz lo, TimestampTz hi, DwWindowSource source,
										ArrayType *dependencies, ArrayType *roots,
										bool consensus);
extern int	dw_find_subject(const DwSubjects *s, const char *name);
extern int *dw_choose_subjects(const DwSubjects *s, ArrayType *targets, int *n);
extern const DwTimeline *dw_subject_timeline(DwSubjects *s, int i);
extern const DwTimeline *dw_subject_view_timeline(DwSubjects *s, int i, const DwTimeline *view);

#endif							/* DEPWATCH_SUBJECTS_H */
