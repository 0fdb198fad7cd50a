/*-------------------------------------------------------------------------
 *
 * timeline.c
 *	  The interval algebra of SPEC section 3 ("Unmonitored time",
 *	  "Capabilities", "Availability"): sweeps over sorted window endpoints.
 *
 * A dependency's timeline comes from its windows (down and degraded
 * outages, monitor gaps, maintenance); a capability's from its members'
 * timelines, group by group, k of n; dw_account() turns a timeline into
 * the numbers of an availability report.  Each sweep sorts its points once
 * and walks them, so the cost is O(n log n) in the number of windows.
 *
 *-------------------------------------------------------------------------
 */
#include <stdlib.h>
#include <string.h>

#include "timeline.h"

/* the end of change i: the next change, or the end of the timeline */
#define CHANGE_END(t, i) ((i) + 1 < (t)->n ? (t)->changes[(i) + 1].at : (t)->hi)

static int
point_cmp(const void *a, const void *b)
{
	int64_t		x = ((const DwSweepPoint *) a)->at;
	int64_t		y = ((const DwSweepPoint *) b)->at;

	return x < y ? -1 : x > y;
}

/*
 * append adds a change at "at", later than every change before it, unless
 * it says what the last one already says.
 */
static void
append(DwTimeline *out, int64_t at, DwState state, bool maintenance, uint64_t causes)
{
	DwChange   *c;

	if (out->n > 0)
	{
		c = &out->changes[out->n - 1];
		if (c->state == state && c->maintenance == maintenance && c->causes == causes)
			return;
	}
	c = &out->changes[out->n++];
	c->at = at;
	c->state = (uint8_t) state;
	c->maintenance = maintenance;
	c->causes = causes;
}

/* dw_dependency_timeline_max: the changes (and scratch points) it may need */
int
dw_dependency_timeline_max(int nspans)
{
	return 2 * nspans + 1;
}

/*
 * dw_dependency_timeline builds a dependency's timeline over [lo, hi) from
 * its windows.  A monitor gap wins over an outage (the caller has already
 * dropped the gaps a down outage spans from end to end), down over
 * degraded; maintenance is a flag beside the state.  scratch holds
 * 2 * nspans points, out->changes dw_dependency_timeline_max(nspans).
 */
void
dw_dependency_timeline(int64_t lo, int64_t hi, const DwSpan *spans, int nspans,
					   DwSweepPoint *scratch, DwTimeline *out)
{
	int			count[DW_NUM_SPAN_KINDS] = {0};
	int			npoints = 0;
	int			i = 0;
	int64_t		at = lo;

	for (int s = 0; s < nspans; s++)
	{
		int64_t		a = spans[s].lo > lo ? spans[s].lo : lo;
		int64_t		b = spans[s].hi < hi ? spans[s].hi : hi;

		if (a >= b)
			continue;
		scratch[npoints++] = (DwSweepPoint) {a, spans[s].kind, 0, +1};
		scratch[npoints++] = (DwSweepPoint) {b, spans[s].kind, 0, -1};
	}
	qsort(scratch, npoints, sizeof(DwSweepPoint), point_cmp);

	out->lo = lo;
	out->hi = hi;
	out->n = 0;
	while (at < hi)
	{
		DwState		state;

		for (; i < npoints && scratch[i].at == at; i++)
			count[scratch[i].who] += scratch[i].delta;
		state = count[DW_SPAN_UNMONITORED] > 0 ? DW_STATE_UNMONITORED :
			count[DW_SPAN_DOWN] > 0 ? DW_STATE_DOWN :
			count[DW_SPAN_DEGRADED] > 0 ? DW_STATE_DEGRADED : DW_STATE_UP;
		append(out, at, state, count[DW_SPAN_MAINTENANCE] > 0, 0);
		if (i == npoints)
			break;
		at = scratch[i].at;
	}
}

/* dw_capability_timeline_max: the changes (and scratch points) it may need */
int
dw_capability_timeline_max(const DwGroup *groups, int ngroups, int nmaintenance)
{
	int			n = 2 * nmaintenance + 1;

	for (int g = 0; g < ngroups; g++)
		for (int m = 0; m < groups[g].nmembers; m++)
			n += groups[g].members[m]->n;
	return n;
}

/* Per-group tallies of the members that are not up. */
typedef struct GroupTally
{
	int			down;
	int			unmonitored;
	int			degraded;
} GroupTally;

/* tally counts (+1) or uncounts (-1) one member's state in its group */
static void
tally(GroupTally *t, int *in_maintenance, const DwChange *c, int delta)
{
	if (c->state == DW_STATE_DOWN)
		t->down += delta;
	else if (c->state == DW_STATE_UNMONITORED)
		t->unmonitored += delta;
	else if (c->state == DW_STATE_DEGRADED)
		t->degraded += delta;
	if (c->maintenance)
		*in_maintenance += delta;
}

/*
 * dw_capability_timeline builds a capability's timeline over [lo, hi) from
 * its requirement groups (whose members' timelines cover the same span)
 * and its own maintenance windows.  With n members and k needed, a group
 * fails when more than n - k members are down; when the unmonitored ones
 * could decide it, it is unknown.  The capability is down when a group
 * fails, else unmonitored when a group is unknown, else degraded when a
 * member of any group is down or degraded.  It is under maintenance during
 * its own windows, and while down during any member's.  scratch and
 * out->changes hold dw_capability_timeline_max() entries.
 */
void
dw_capability_timeline(int64_t lo, int64_t hi, const DwGroup *groups, int ngroups,
					   const DwSpan *maintenance, int nmaintenance,
					   DwSweepPoint *scratch, DwTimeline *out)
{
	GroupTally	tallies[DW_REQ_MAX_GROUPS] = {{0}};
	const DwChange *current[DW_REQ_MAX_GROUPS * DW_REQ_MAX_MEMBERS];
	const DwTimeline *member_of[DW_REQ_MAX_GROUPS * DW_REQ_MAX_MEMBERS];
	int			group_of[DW_REQ_MAX_GROUPS * DW_REQ_MAX_MEMBERS];
	int			members_in_maintenance = 0;
	int			own_maintenance = 0;
	int			npoints = 0;
	int			nincidences = 0;
	int			i = 0;
	int64_t		at = lo;

	/* every member of every group starts in its state at lo */
	for (int g = 0; g < ngroups && g < DW_REQ_MAX_GROUPS; g++)
	{
		for (int m = 0; m < groups[g].nmembers && m < DW_REQ_MAX_MEMBERS; m++)
		{
			const DwTimeline *t = groups[g].members[m];
			int			who = nincidences++;
			int			first = dw_timeline_find(t, lo);

			member_of[who] = t;
			group_of[who] = g;
			current[who] = &t->changes[first];
			tally(&tallies[g], &members_in_maintenance, current[who], +1);
			for (int c = first + 1; c < t->n && t->changes[c].at < hi; c++)
				scratch[npoints++] = (DwSweepPoint) {t->changes[c].at, who, c, 0};
		}
	}
	for (int s = 0; s < nmaintenance; s++)
	{
		int64_t		a = maintenance[s].lo > lo ? maintenance[s].lo : lo;
		int64_t		b = maintenance[s].hi < hi ? maintenance[s].hi : hi;

		if (a >= b)
			continue;
		scratch[npoints++] = (DwSweepPoint) {a, -1, 0, +1};
		scratch[npoints++] = (DwSweepPoint) {b, -1, 0, -1};
	}
	qsort(scratch, npoints, sizeof(DwSweepPoint), point_cmp);

	out->lo = lo;
	out->hi = hi;
	out->n = 0;
	while (at < hi)
	{
		uint64_t	failing = 0;
		uint64_t	unknown = 0;
		uint64_t	losing = 0;
		DwState		state;
		uint64_t	causes;

		for (; i < npoints && scratch[i].at == at; i++)
		{
			const DwSweepPoint *p = &scratch[i];

			if (p->who < 0)
			{
				own_maintenance += p->delta;
				continue;
			}
			tally(&tallies[group_of[p->who]], &members_in_maintenance, current[p->who], -1);
			current[p->who] = &member_of[p->who]->changes[p->seq];
			tally(&tallies[group_of[p->who]], &members_in_maintenance, current[p->who], +1);
		}
		for (int g = 0; g < ngroups && g < DW_REQ_MAX_GROUPS; g++)
		{
			int			spare = groups[g].nmembers - groups[g].k;
			uint64_t	bit = UINT64_C(1) << g;

			if (tallies[g].down > spare)
				failing |= bit;
			else if (tallies[g].down + tallies[g].unmonitored > spare)
				unknown |= bit;
			if (tallies[g].down + tallies[g].degraded > 0)
				losing |= bit;
		}
		if (failing)
			state = DW_STATE_DOWN, causes = failing;
		else if (unknown)
			state = DW_STATE_UNMONITORED, causes = unknown;
		else if (losing)
			state = DW_STATE_DEGRADED, causes = losing;
		else
			state = DW_STATE_UP, causes = 0;
		append(out, at, state,
			   own_maintenance > 0 || (state == DW_STATE_DOWN && members_in_maintenance > 0),
			   causes);
		if (i == npoints)
			break;
		at = scratch[i].at;
	}
}

/*
 * dw_timeline_find returns the index of the change in force at "at"
 * (lo <= at < hi).
 */
int
dw_timeline_find(const DwTimeline *t, int64_t at)
{
	int			lo = 0;
	int			hi = t->n - 1;

	while (lo < hi)
	{
		int			mid = (lo + hi + 1) / 2;

		if (t->changes[mid].at <= at)
			lo = mid;
		else
			hi = mid - 1;
	}
	return lo;
}

/* close_run counts a finished down run as an outage unless it was all planned */
static void
close_run(DwAccount *a, int64_t length, bool unplanned)
{
	if (length == 0 || !unplanned)
		return;
	a->outages++;
	a->outage_time += length;
	if (length > a->longest)
		a->longest = length;
}

/*
 * dw_account sums a timeline over nbuckets buckets [bounds[b], bounds[b+1])
 * (sorted, within the timeline's span).  Downtime is down time that is
 * monitored and outside maintenance.  An outage is a maximal down run,
 * clipped to the bucket, maintenance inside it included; a run wholly under
 * maintenance is planned work, not an outage.
 */
void
dw_account(const DwTimeline *t, const int64_t *bounds, int nbuckets, DwAccount *out)
{
	int			c;

	memset(out, 0, sizeof(DwAccount) * nbuckets);
	if (nbuckets == 0 || t->n == 0)
		return;
	c = dw_timeline_find(t, bounds[0]);
	for (int b = 0; b < nbuckets; b++)
	{
		DwAccount  *a = &out[b];
		int64_t		lo = bounds[b];
		int64_t		hi = bounds[b + 1];
		int64_t		run = 0;
		bool		unplanned = false;

		a->length = hi - lo;
		while (c < t->n)
		{
			const DwChange *ch = &t->changes[c];
			int64_t		end = CHANGE_END(t, c);
			int64_t		d = (end < hi ? end : hi) - (ch->at > lo ? ch->at : lo);

			if (ch->state == DW_STATE_DOWN)
			{
				run += d;
				if (ch->maintenance)
					a->maintenance += d;
				else
				{
					a->downtime += d;
					unplanned = true;
				}
			}
			else
			{
				close_run(a, run, unplanned);
				run = 0;
				unplanned = false;
				if (ch->state == DW_STATE_UNMONITORED)
					a->unmonitored += d;
				else if (ch->maintenance)
					a->maintenance += d;
				else if (ch->state == DW_STATE_DEGRADED)
					a->degraded += d;
			}
			if (end > hi)
				break;			/* this change goes on into the next bucket */
			c++;
		}
		close_run(a, run, unplanned);
	}
}
