/*-------------------------------------------------------------------------
 *
 * timeline.c
 *	  The interval algebra of doc/semantics.md ("Unmonitored time",
 *	  "Capabilities", "State timelines", "Availability"): sweeps over
 *	  sorted window endpoints.
 *
 * A dependency's timeline comes from its windows (down and degraded
 * outages, monitor gaps, maintenance); a capability's from its members'
 * timelines, group by group, k of n; a dependency's consensus on a central
 * node from its vantages' views, by the same sweep with a quorum group
 * ("Vantages and consensus"); dw_account() turns a timeline into the
 * numbers of an availability report.  A dependency's sweep sorts its
 * windows' ends once; a capability's merges its members' timelines, sorted
 * already, through a heap.  Either costs O(n log n) in the number of windows.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "timeline.h"

/* the end of change i: the next change, or the end of the timeline */
#define CHANGE_END(t, i) ((i) + 1 < (t)->n ? (t)->changes[(i) + 1].at : (t)->hi)

/*
 * sort_points sorts sweep points by time, in place, with the comparison
 * inlined (libc's qsort calls a function per comparison and allocates a
 * copy of the array: the sort was a fifth of availability()'s time).
 */
#define ST_SORT sort_points
#define ST_ELEMENT_TYPE DwSweepPoint
#define ST_COMPARE(a, b) (((a)->at > (b)->at) - ((a)->at < (b)->at))
#define ST_SCOPE static
#define ST_DECLARE
#define ST_DEFINE
#include "lib/sort_template.h"

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
	sort_points(scratch, npoints);

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

/* dw_capability_timeline_max: the changes it may make */
int
dw_capability_timeline_max(const DwGroup *groups, int ngroups, int nmaintenance)
{
	int			n = 2 * nmaintenance + 1;

	for (int g = 0; g < ngroups; g++)
		for (int m = 0; m < groups[g].nmembers; m++)
			n += groups[g].members[m]->n;
	return n;
}

/* dw_capability_scratch_max: the scratch points it needs */
int
dw_capability_scratch_max(const DwGroup *groups, int ngroups, int nmaintenance)
{
	int			n = 2 * nmaintenance;

	for (int g = 0; g < ngroups; g++)
		n += groups[g].nmembers;
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
 * What the groups' tallies say: bit g of "failing" when group g has more
 * members down than it can spare, of "unknown" when the unmonitored ones
 * could make it so, of "losing" when a member is down or degraded.
 */
typedef struct GroupBits
{
	uint64_t	failing;
	uint64_t	unknown;
	uint64_t	losing;
} GroupBits;

/*
 * dw_quorum_needed: how many vantages must see a dependency down, of
 * "watching" that watch it, when the setting is "quorum" (0: a majority of
 * those watching).
 */
int
dw_quorum_needed(int quorum, int watching)
{
	return quorum > 0 ? quorum : watching / 2 + 1;
}

/*
 * quorum_state: the consensus of "watching" vantages of which "down"
 * see the dependency down: unmonitored when none or fewer than the quorum
 * watch, down when at least the quorum see it down, else up.  Degraded is
 * no part of it.
 */
static DwState
quorum_state(int quorum, int watching, int down)
{
	int			needed = dw_quorum_needed(quorum, watching);

	if (watching == 0 || watching < needed)
		return DW_STATE_UNMONITORED;
	return down >= needed ? DW_STATE_DOWN : DW_STATE_UP;
}

/* group_bits sets group g's bits from its tally, by the group's rule */
static void
group_bits(GroupBits *bits, int g, const GroupTally *t, const DwGroup *group)
{
	uint64_t	bit = UINT64_C(1) << g;
	int			spare = group->nmembers - group->k;

	bits->failing &= ~bit;
	bits->unknown &= ~bit;
	bits->losing &= ~bit;
	if (group->rule == DW_GROUP_QUORUM)
	{
		DwState		state = quorum_state(group->k, group->nmembers - t->unmonitored, t->down);

		if (state == DW_STATE_DOWN)
			bits->failing |= bit;
		else if (state == DW_STATE_UNMONITORED)
			bits->unknown |= bit;
		return;
	}
	if (t->down > spare)
		bits->failing |= bit;
	else if (t->down + t->unmonitored > spare)
		bits->unknown |= bit;
	if (t->down + t->degraded > 0)
		bits->losing |= bit;
}

/*
 * The members' changes are merged in time order through a binary heap of
 * each member's next change (who: the member incidence, seq: the change).
 */
static void
heap_down(DwSweepPoint *heap, int n, int i)
{
	DwSweepPoint p = heap[i];

	for (;;)
	{
		int			c = 2 * i + 1;

		if (c >= n)
			break;
		if (c + 1 < n && heap[c + 1].at < heap[c].at)
			c++;
		if (heap[c].at >= p.at)
			break;
		heap[i] = heap[c];
		i = c;
	}
	heap[i] = p;
}

/*
 * dw_capability_timeline builds a capability's timeline over [lo, hi) from
 * its requirement groups (whose members' timelines cover the same span)
 * and its own maintenance windows.  With n members and k needed, a group
 * fails when more than n - k members are down; when the unmonitored ones
 * could decide it, it is unknown.  (A quorum group instead fails when its
 * quorum of the members watching is down, and is unknown when too few
 * watch: quorum_state.)  The capability is down when a group
 * fails, else unmonitored when a group is unknown, else degraded when a
 * member of any group is down or degraded.  It is under maintenance during
 * its own windows, and while down during any member's.  The members'
 * timelines are merged, already sorted, and only the maintenance windows'
 * ends are sorted.  scratch holds dw_capability_scratch_max() points,
 * out->changes dw_capability_timeline_max() changes.
 */
void
dw_capability_timeline(int64_t lo, int64_t hi, const DwGroup *groups, int ngroups,
					   const DwSpan *maintenance, int nmaintenance,
					   DwSweepPoint *scratch, DwTimeline *out)
{
	GroupTally	tallies[DW_REQ_MAX_GROUPS] = {{0}};
	GroupBits	bits = {0, 0, 0};
	const DwChange *current[DW_GROUP_MAX_INCIDENCES];
	const DwTimeline *member_of[DW_GROUP_MAX_INCIDENCES];
	int			group_of[DW_GROUP_MAX_INCIDENCES];
	int			members_in_maintenance = 0;
	int			own_maintenance = 0;
	int			nincidences = 0;
	DwSweepPoint *heap = scratch;
	int			nheap = 0;
	DwSweepPoint *points;
	int			npoints = 0;
	int			i = 0;
	int64_t		at = lo;

	/* every member of every group starts in its state at lo */
	for (int g = 0; g < ngroups && g < DW_REQ_MAX_GROUPS; g++)
	{
		for (int m = 0; m < groups[g].nmembers && nincidences < DW_GROUP_MAX_INCIDENCES; m++)
		{
			const DwTimeline *t = groups[g].members[m];
			int			who = nincidences++;
			int			first = dw_timeline_find(t, lo);

			member_of[who] = t;
			group_of[who] = g;
			current[who] = &t->changes[first];
			tally(&tallies[g], &members_in_maintenance, current[who], +1);
			if (first + 1 < t->n && t->changes[first + 1].at < hi)
				heap[nheap++] = (DwSweepPoint) {t->changes[first + 1].at, who, first + 1, 0};
		}
		group_bits(&bits, g, &tallies[g], &groups[g]);
	}
	for (int h = nheap / 2 - 1; h >= 0; h--)
		heap_down(heap, nheap, h);
	points = heap + nincidences;
	for (int s = 0; s < nmaintenance; s++)
	{
		int64_t		a = maintenance[s].lo > lo ? maintenance[s].lo : lo;
		int64_t		b = maintenance[s].hi < hi ? maintenance[s].hi : hi;

		if (a >= b)
			continue;
		points[npoints++] = (DwSweepPoint) {a, -1, 0, +1};
		points[npoints++] = (DwSweepPoint) {b, -1, 0, -1};
	}
	sort_points(points, npoints);

	out->lo = lo;
	out->hi = hi;
	out->n = 0;
	while (at < hi)
	{
		DwState		state;
		uint64_t	causes;

		for (; i < npoints && points[i].at == at; i++)
			own_maintenance += points[i].delta;
		while (nheap > 0 && heap[0].at == at)
		{
			int			who = heap[0].who;
			int			next = heap[0].seq + 1;
			const DwTimeline *t = member_of[who];
			int			g = group_of[who];

			tally(&tallies[g], &members_in_maintenance, current[who], -1);
			current[who] = &t->changes[heap[0].seq];
			tally(&tallies[g], &members_in_maintenance, current[who], +1);
			group_bits(&bits, g, &tallies[g], &groups[g]);
			if (next < t->n && t->changes[next].at < hi)
				heap[0] = (DwSweepPoint) {t->changes[next].at, who, next, 0};
			else
				heap[0] = heap[--nheap];
			heap_down(heap, nheap, 0);
		}
		if (bits.failing)
			state = DW_STATE_DOWN, causes = bits.failing;
		else if (bits.unknown)
			state = DW_STATE_UNMONITORED, causes = bits.unknown;
		else if (bits.losing)
			state = DW_STATE_DEGRADED, causes = bits.losing;
		else
			state = DW_STATE_UP, causes = 0;
		append(out, at, state,
			   own_maintenance > 0 || (state == DW_STATE_DOWN && members_in_maintenance > 0),
			   causes);
		if (nheap == 0 && i == npoints)
			break;
		at = nheap == 0 ? points[i].at :
			i == npoints || heap[0].at < points[i].at ? heap[0].at : points[i].at;
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
