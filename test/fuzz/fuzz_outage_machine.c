/*-------------------------------------------------------------------------
 *
 * fuzz_outage_machine.c
 *	  Fuzz target for the outage state machine (src/outage_machine.c) and
 *	  the error-rate verdict of passive dependencies.
 *
 * Input: fail_after and recover_after (one signed byte each, so zero and
 * negative values test the clamping), a mode byte, then samples.  In
 * probe mode each byte is a sample: its class (byte % 3) and the seconds
 * since the previous one (byte / 3, zero included).  In passive mode
 * (mode bit 0) two bytes give the rule (error rate, min calls) and each
 * three bytes a window's calls, bad and slow counts, which dw_rate_verdict
 * turns into the sample.
 *
 * The machine is checked against a reference that decides from the
 * history instead of from streak counters: for each kind, an outage opens
 * exactly when the run of samples bad for that kind reaches fail_after
 * while none is open, backdated to the first of them; it closes exactly
 * when the run of samples good for that kind reaches recover_after, ended
 * at the first of them, with the bad samples in [start, end) counted.  So
 * there are never two open outages of one kind, transitions happen only on
 * the configured thresholds, and a down outage is never open without a
 * degraded one.  A machine without a degraded level, fed the same samples,
 * gives exactly the down events and no degraded one.  The verdict must say
 * good below min calls, and more bad calls must never make it better.
 *
 *-------------------------------------------------------------------------
 */
#include "fuzz.h"

#include "outage_machine.h"

/* 2000-01-01 plus some 30 years, in microseconds */
#define BASE_AT INT64_C(946684800000000)
#define USECS_PER_SEC INT64_C(1000000)

typedef struct Reference
{
	bool		open;
	int			start;			/* index of the open outage's first sample */
} Reference;

static bool
bad_for(DwOutageKind kind, DwSampleClass c)
{
	return kind == DW_KIND_DOWN ? c == DW_SAMPLE_BAD : c != DW_SAMPLE_GOOD;
}

static int
severity(DwSampleClass c)
{
	return c == DW_SAMPLE_GOOD ? 0 : c == DW_SAMPLE_SLOW ? 1 : 2;
}

/* the verdict's rules, on one window and its neighbours */
static DwSampleClass
checked_verdict(const DwRateRule *rule, int64_t calls, int64_t bad, int64_t slow)
{
	DwSampleClass v = dw_rate_verdict(rule, calls, bad, slow);

	if (calls <= 0 || calls < rule->min_calls)
		FUZZ_CHECK(v == DW_SAMPLE_GOOD, "%lld calls, fewer than %lld, give a verdict",
				   (long long) calls, (long long) rule->min_calls);
	if (v == DW_SAMPLE_BAD)
		FUZZ_CHECK((double) bad >= rule->error_rate * (double) calls,
				   "%lld bad of %lld calls is below the rate",
				   (long long) bad, (long long) calls);
	if (bad < calls)
		FUZZ_CHECK(severity(dw_rate_verdict(rule, calls, bad + 1, slow)) >= severity(v),
				   "one more bad call made the verdict better");
	if (slow > 0)
		FUZZ_CHECK(severity(dw_rate_verdict(rule, calls, bad + 1, slow - 1)) >= severity(v),
				   "a slow call turned bad made the verdict better");
	return v;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	DwMachine	m;
	DwMachine	flat;			/* the same thresholds, no degraded level */
	DwRateRule	rule = {0.5, 10, 0};
	Reference	ref[DW_NUM_KINDS] = {{false, 0}, {false, 0}};
	int32_t		fail_after;
	int32_t		recover_after;
	bool		passive;
	size_t		pos = 3;
	size_t		n = 0;
	size_t		cap;
	DwSampleClass *cls;
	int64_t    *at;
	int		   *run[DW_NUM_KINDS];
	int		   *nbad[DW_NUM_KINDS];	/* bad samples before index i */

	if (size < 3)
		return 0;
	dw_machine_init(&m, (int8_t) data[0], (int8_t) data[1], true);
	dw_machine_init(&flat, (int8_t) data[0], (int8_t) data[1], false);
	fail_after = (int8_t) data[0] < 1 ? 1 : (int8_t) data[0];
	recover_after = (int8_t) data[1] < 1 ? 1 : (int8_t) data[1];
	FUZZ_CHECK(m.fail_after == fail_after && m.recover_after == recover_after,
			   "thresholds %d, %d became %d, %d", (int8_t) data[0],
			   (int8_t) data[1], m.fail_after, m.recover_after);
	passive = data[2] & 1;
	if (passive && size >= 5)
	{
		rule.error_rate = data[3] / 200.0;
		rule.min_calls = data[4];
		pos = 5;
	}

	cap = size + 1;
	cls = malloc(cap * sizeof(*cls));
	at = malloc(cap * sizeof(*at));
	for (int k = 0; k < DW_NUM_KINDS; k++)
	{
		run[k] = malloc(cap * sizeof(int));
		nbad[k] = malloc((cap + 1) * sizeof(int));
		nbad[k][0] = 0;
	}

	while (pos < size)
	{
		DwEvent		events[DW_NUM_KINDS];
		int			nevents;
		int			e = 0;

		if (passive)
		{
			int64_t		calls;
			int64_t		bad;
			int64_t		slow;

			if (pos + 3 > size)
				break;
			calls = data[pos] * 7;
			bad = calls ? data[pos + 1] % (calls + 1) : 0;
			slow = calls - bad ? data[pos + 2] % (calls - bad + 1) : 0;
			cls[n] = checked_verdict(&rule, calls, bad, slow);
			at[n] = (n ? at[n - 1] : BASE_AT) + 10 * USECS_PER_SEC;
			pos += 3;
		}
		else
		{
			cls[n] = (DwSampleClass) (data[pos] % 3);
			at[n] = (n ? at[n - 1] : BASE_AT) + (data[pos] / 3) * USECS_PER_SEC;
			pos++;
		}

		nevents = dw_machine_step(&m, at[n], cls[n], events);
		FUZZ_CHECK(nevents >= 0 && nevents <= DW_NUM_KINDS, "%d events", nevents);
		{
			DwEvent		flat_events[DW_NUM_KINDS];
			int			nflat = dw_machine_step(&flat, at[n], cls[n], flat_events);
			int			ndown = nevents > 0 && events[0].kind == DW_KIND_DOWN;

			FUZZ_CHECK(nflat == ndown &&
					   (nflat == 0 ||
						(flat_events[0].kind == DW_KIND_DOWN &&
						 flat_events[0].opened == events[0].opened &&
						 flat_events[0].started_at == events[0].started_at &&
						 flat_events[0].detected_at == events[0].detected_at &&
						 flat_events[0].ended_at == events[0].ended_at &&
						 flat_events[0].bad_samples == events[0].bad_samples)),
					   "sample %zu: the machine without a degraded level gave %d events, not the %d down ones",
					   n + 1, nflat, ndown);
		}

		for (int k = 0; k < DW_NUM_KINDS; k++)
		{
			DwOutageKind kind = (DwOutageKind) k;
			bool		bad = bad_for(kind, cls[n]);
			bool		opens;
			bool		closes;

			run[k][n] = n > 0 && bad_for(kind, cls[n - 1]) == bad ? run[k][n - 1] + 1 : 1;
			nbad[k][n + 1] = nbad[k][n] + bad;
			opens = !ref[k].open && bad && run[k][n] >= fail_after;
			closes = ref[k].open && !bad && run[k][n] >= recover_after;

			if (!opens && !closes)
			{
				FUZZ_CHECK(e == nevents || events[e].kind != kind,
						   "sample %zu: %s changed off its threshold", n + 1,
						   dw_kind_name(kind));
				continue;
			}
			FUZZ_CHECK(e < nevents && events[e].kind == kind,
					   "sample %zu: %s did not %s (fail_after %d, recover_after %d)",
					   n + 1, dw_kind_name(kind), opens ? "open" : "close",
					   fail_after, recover_after);
			FUZZ_CHECK(events[e].opened == opens, "sample %zu: %s went the wrong way",
					   n + 1, dw_kind_name(kind));
			if (opens)
			{
				int			first = (int) n - fail_after + 1;

				FUZZ_CHECK(events[e].started_at == at[first] &&
						   events[e].detected_at == at[n] &&
						   events[e].bad_samples == fail_after,
						   "sample %zu: %s opened with the wrong times or count",
						   n + 1, dw_kind_name(kind));
				ref[k].open = true;
				ref[k].start = first;
			}
			else
			{
				int			first = (int) n - recover_after + 1;

				FUZZ_CHECK(first > ref[k].start &&
						   events[e].ended_at == at[first] &&
						   events[e].ended_at >= at[ref[k].start] &&
						   events[e].bad_samples == nbad[k][first] - nbad[k][ref[k].start],
						   "sample %zu: %s closed with the wrong end or count",
						   n + 1, dw_kind_name(kind));
				ref[k].open = false;
			}
			e++;
		}
		FUZZ_CHECK(e == nevents, "sample %zu: %d unexpected events", n + 1, nevents - e);
		for (int k = 0; k < DW_NUM_KINDS; k++)
			FUZZ_CHECK(m.track[k].open == ref[k].open, "sample %zu: %s open is %d",
					   n + 1, dw_kind_name((DwOutageKind) k), m.track[k].open);
		FUZZ_CHECK(!m.track[DW_KIND_DOWN].open || m.track[DW_KIND_DEGRADED].open,
				   "sample %zu: down without degraded", n + 1);
		n++;
	}

	free(cls);
	free(at);
	for (int k = 0; k < DW_NUM_KINDS; k++)
	{
		free(run[k]);
		free(nbad[k]);
	}
	return 0;
}
