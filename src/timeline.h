/*-------------------------------------------------------------------------
 *
 * timeline.h
 *	  The interval algebra: state timelines of dependencies and capabilities,
 *	  built by sweeping sorted window endpoints, and the accounting of a
 *	  timeline over buckets (downtime, maintenance, unmonitored time, ...).
 *
 * Pure C with no PostgreSQL state.  Times are microseconds (TimestampTz).
 * Every function writes into arrays the caller allocates; the *_max()
 * functions say how large they must be.
 *
 *-------------------------------------------------------------------------
 */
#ifndef DEPWATCH_TIMELINE_H
#define DEPWATCH_TIMELINE_H

#include <stdbool.h>
#include <stdint.h>

#include "requirements.h"

/* What a target is doing at an instant. */
typedef enum DwState
{
	DW_STATE_UP = 0,
	DW_STATE_DEGRADED,
	DW_STATE_UNMONITORED,
	DW_STATE_DOWN
} DwState;

/*
 * From "at" until the next change, the target is in "state", under
 * maintenance or not.  For a capability, "causes" has bit g set for each
 * (of at most DW_REQ_MAX_GROUPS)
 * requirement group g that is failing (down) or, while degraded, losing
 * members (down or degraded).
 */
typedef struct DwChange
{
	int64_t		at;
	uint64_t	causes;
	uint8_t		state;
	bool		maintenance;
} DwChange;

/* A target's states over [lo, hi): changes[0].at == lo, strictly increasing. */
typedef struct DwTimeline
{
	int64_t		lo;
	int64_t		hi;
	int			n;
	DwChange   *changes;
} DwTimeline;

/* What a window on a dependency says. */
typedef enum DwSpanKind
{
	DW_SPAN_DOWN = 0,
	DW_SPAN_DEGRADED,
	DW_SPAN_UNMONITORED,
	DW_SPAN_MAINTENANCE,
	DW_NUM_SPAN_KINDS
} DwSpanKind;

/* A window [lo, hi) of some kind; windows may overlap one another. */
typedef struct DwSpan
{
	int64_t		lo;
	int64_t		hi;
	DwSpanKind	kind;
} DwSpan;

/* One point of a sweep, or a member's next change (scratch space for the builders). */
typedef struct DwSweepPoint
{
	int64_t		at;
	int32_t		who;			/* span kind, or member incidence */
	int32_t		seq;			/* the change's index within its member */
	int8_t		delta;			/* +1 window opens, -1 closes, 0 member change */
} DwSweepPoint;

/* Members of all groups of one sweep, at most. */
#define DW_GROUP_MAX_INCIDENCES (DW_REQ_MAX_GROUPS * DW_REQ_MAX_MEMBERS)

/* How a group judges its members' tallies. */
typedef enum DwGroupRule
{
	DW_GROUP_K_OF_N = 0,		/* a capability's requirement group */
	DW_GROUP_QUORUM				/* vantages voting on a dependency */
} DwGroupRule;

/*
 * A group of members whose timelines cover the same [lo, hi).
 *
 * DW_GROUP_K_OF_N: at least k of the members must be up (not down).
 * DW_GROUP_QUORUM: the members are the vantages watching one dependency;
 * k is the quorum, 0 for a majority of those watching (dw_quorum_needed).
 */
typedef struct DwGroup
{
	int			k;
	int			nmembers;
	const DwTimeline *const *members;
	DwGroupRule rule;
} DwGroup;

/* A timeline's accounting over one bucket, in microseconds. */
typedef struct DwAccount
{
	int64_t		length;
	int64_t		unmonitored;
	int64_t		maintenance;	/* within monitored time */
	int64_t		downtime;		/* within monitored time, outside maintenance */
	int64_t		degraded;		/* neither down nor maintenance */
	int64_t		outage_time;	/* the outages' lengths, summed */
	int64_t		longest;		/* the longest outage */
	int32_t		outages;		/* maximal down runs in the bucket, but those
								 * wholly under maintenance */
} DwAccount;

extern int	dw_dependency_timeline_max(int nspans);
extern void dw_dependency_timeline(int64_t lo, int64_t hi,
								   const DwSpan *spans, int nspans,
								   DwSweepPoint *scratch, DwTimeline *out);

extern int	dw_capability_timeline_max(const DwGroup *groups, int ngroups, int nmaintenance);
extern int	dw_capability_scratch_max(const DwGroup *groups, int ngroups, int nmaintenance);
extern void dw_capability_timeline(int64_t lo, int64_t hi,
								   const DwGroup *groups, int ngroups,
								   const DwSpan *maintenance, int nmaintenance,
								   DwSweepPoint *scratch, DwTimeline *out);

extern int	dw_quorum_needed(int quorum, int watching);

extern int	dw_timeline_find(const DwTimeline *t, int64_t at);
extern void dw_account(const DwTimeline *t, const int64_t *bounds, int nbuckets,
					   DwAccount *out);

#endif							/* DEPWATCH_TIMELINE_H */
