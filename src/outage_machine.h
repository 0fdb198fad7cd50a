/*-------------------------------------------------------------------------
 *
 * outage_machine.h
 *	  The outage state machine: samples in, outage openings and closings out.
 *
 * This is pure C with no PostgreSQL state, so that the background worker,
 * report_sample() and derive_outages() share one implementation and so that
 * unit tests and fuzzers can drive it directly.
 *
 *-------------------------------------------------------------------------
 */
#ifndef DEPWATCH_OUTAGE_MACHINE_H
#define DEPWATCH_OUTAGE_MACHINE_H

#include <stdbool.h>
#include <stdint.h>

/* What one sample says about a dependency. */
typedef enum DwSampleClass
{
	DW_SAMPLE_GOOD,				/* answered in time */
	DW_SAMPLE_SLOW,				/* answered, but slower than degraded_after */
	DW_SAMPLE_BAD				/* failed */
} DwSampleClass;

/* The two kinds of outage; each is tracked independently. */
typedef enum DwOutageKind
{
	DW_KIND_DOWN = 0,
	DW_KIND_DEGRADED = 1
} DwOutageKind;

#define DW_NUM_KINDS 2

/*
 * One kind's track.  While closed, "streak" counts consecutive bad samples
 * and "streak_since" is the first of them; while open, they count the
 * consecutive good samples of a possible recovery.  bad_samples counts the
 * bad samples since the open outage started (derive_outages reports it).
 */
typedef struct DwTrack
{
	bool		open;
	int32_t		streak;
	int64_t		streak_since;
	int64_t		bad_samples;
} DwTrack;

typedef struct DwMachine
{
	int32_t		fail_after;		/* bad samples in a row that open an outage */
	int32_t		recover_after;	/* good samples in a row that close it */
	bool		degraded;		/* has a degraded level (doc/semantics.md,
							 * "Degraded level") */
	DwTrack		track[DW_NUM_KINDS];
} DwMachine;

/* An outage opened or closed by one step. */
typedef struct DwEvent
{
	DwOutageKind kind;
	bool		opened;			/* true: opened; false: closed */
	int64_t		started_at;		/* opened: first bad sample of the streak */
	int64_t		detected_at;	/* opened: the fail_after-th bad sample */
	int64_t		ended_at;		/* closed: first good sample of recovery */
	int64_t		bad_samples;	/* closed: bad samples in [start, end) */
} DwEvent;

/* Passive dependencies: the error-rate rule over a trailing window. */
typedef struct DwRateRule
{
	double		error_rate;		/* at or above this share of bad calls: down */
	int64_t		min_calls;		/* fewer calls than this: no verdict of down */
	double		degraded_error_rate;	/* at or above this share: degraded;
										 * 0: no such level */
} DwRateRule;

extern void dw_machine_init(DwMachine *m, int32_t fail_after,
							int32_t recover_after, bool degraded);
extern int	dw_machine_step(DwMachine *m, int64_t at, DwSampleClass sample,
							DwEvent events[DW_NUM_KINDS]);
extern DwSampleClass dw_rate_verdict(const DwRateRule *rule, int64_t calls,
									 int64_t bad, int64_t slow);
extern const char *dw_kind_name(DwOutageKind kind);

#endif							/* DEPWATCH_OUTAGE_MACHINE_H */
