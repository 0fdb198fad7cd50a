/*-------------------------------------------------------------------------
 *
 * outage_machine.c
 *	  The outage state machine (doc/semantics.md, "Outage state machine").
 *
 * A down outage opens after fail_after consecutive bad samples and is
 * backdated to the first of them; it closes at the first good sample of the
 * first streak of recover_after consecutive good-or-slow samples.  Degraded
 * works the same with "slow or bad" as bad, on a machine that has a degraded
 * level at all: one without never opens a degraded outage (else every down
 * outage would have a degraded twin).  Shorter streaks are blips.
 *
 * Streaks count samples, not time: the caller feeds samples in time order.
 *
 *-------------------------------------------------------------------------
 */
#include "outage_machine.h"

#include <string.h>

/*
 * dw_machine_init sets up a machine with no open outage and no streak;
 * "degraded" says whether it has a degraded level (dw_has_degraded decides).
 */
void
dw_machine_init(DwMachine *m, int32_t fail_after, int32_t recover_after,
				bool degraded)
{
	memset(m, 0, sizeof(*m));
	m->fail_after = fail_after < 1 ? 1 : fail_after;
	m->recover_after = recover_after < 1 ? 1 : recover_after;
	m->degraded = degraded;
}

/*
 * track_step advances one kind's track by one sample that is bad or not for
 * that kind.  Returns true and fills *ev when an outage opens or closes.
 */
static bool
track_step(DwTrack *t, int32_t fail_after, int32_t recover_after,
		   int64_t at, bool bad, DwEvent *ev)
{
	if (!t->open)
	{
		if (!bad)
		{
			t->streak = 0;
			return false;
		}
		if (t->streak == 0)
			t->streak_since = at;
		t->streak++;
		if (t->streak < fail_after)
			return false;
		ev->opened = true;
		ev->started_at = t->streak_since;
		ev->detected_at = at;
		ev->ended_at = 0;
		ev->bad_samples = t->streak;
		t->open = true;
		t->bad_samples = t->streak;
		t->streak = 0;
		return true;
	}

	if (bad)
	{
		t->streak = 0;
		t->bad_samples++;
		return false;
	}
	if (t->streak == 0)
		t->streak_since = at;
	t->streak++;
	if (t->streak < recover_after)
		return false;
	ev->opened = false;
	ev->started_at = 0;
	ev->detected_at = 0;
	ev->ended_at = t->streak_since;
	ev->bad_samples = t->bad_samples;
	t->open = false;
	t->streak = 0;
	t->bad_samples = 0;
	return true;
}

/*
 * dw_machine_step feeds one sample taken at "at" (microseconds) into both
 * tracks.  It writes the outages it opened or closed into events[] and
 * returns how many (0, 1 or 2).
 */
int
dw_machine_step(DwMachine *m, int64_t at, DwSampleClass sample,
				DwEvent events[DW_NUM_KINDS])
{
	int			n = 0;

	if (track_step(&m->track[DW_KIND_DOWN], m->fail_after, m->recover_after,
				   at, sample == DW_SAMPLE_BAD, &events[n]))
		events[n++].kind = DW_KIND_DOWN;
	if (m->degraded &&
		track_step(&m->track[DW_KIND_DEGRADED], m->fail_after,
				   m->recover_after, at, sample != DW_SAMPLE_GOOD, &events[n]))
		events[n++].kind = DW_KIND_DEGRADED;
	return n;
}

/*
 * dw_rate_verdict turns the calls of a passive dependency's trailing window
 * into one sample for the machine: bad when the error rate is at or above
 * the rule with enough calls; slow when the share of slow-or-bad calls is,
 * or the error rate is at or above degraded_error_rate (when set); good
 * otherwise.  Passive machines run with fail_after = recover_after = 1,
 * so an outage lasts exactly while the rule holds.
 */
DwSampleClass
dw_rate_verdict(const DwRateRule *rule, int64_t calls, int64_t bad,
				int64_t slow)
{
	if (calls <= 0 || calls < rule->min_calls)
		return DW_SAMPLE_GOOD;
	if ((double) bad >= rule->error_rate * (double) calls)
		return DW_SAMPLE_BAD;
	if ((double) (bad + slow) >= rule->error_rate * (double) calls)
		return DW_SAMPLE_SLOW;
	if (rule->degraded_error_rate > 0 &&
		(double) bad >= rule->degraded_error_rate * (double) calls)
		return DW_SAMPLE_SLOW;
	return DW_SAMPLE_GOOD;
}

/*
 * dw_kind_name returns the SQL name of an outage kind.
 */
const char *
dw_kind_name(DwOutageKind kind)
{
	return kind == DW_KIND_DOWN ? "down" : "degraded";
}
