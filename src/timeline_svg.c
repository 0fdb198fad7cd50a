/*-------------------------------------------------------------------------
 *
 * timeline_svg.c
 *	  depwatch.timeline_svg(): a status-page picture of the state timelines,
 *	  one row per target, time across, as a standalone SVG 1.1 document.
 *
 * The runs come from dw_subject_timeline() (subjects.c), merged the way
 * state_timeline() merges them, so the picture agrees with availability().
 * Every time is written by PostgreSQL's to_char() in the session time zone;
 * axis ticks fall on round wall-clock times there.  The document is ASCII
 * and is the same for the same data, period, targets and time zone.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_collation.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "pgtime.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

#include "subjects.h"

PG_FUNCTION_INFO_V1(dw_timeline_svg);
PG_FUNCTION_INFO_V1(dw_html_escape);

/* Picture geometry, in pixels */
#define SVG_WIDTH		960
#define NAME_MIN_WIDTH	96		/* the names' column, at least */
#define NAME_CHAR_WIDTH 8		/* a generous width of one bold 12 px character */
#define RIGHT_WIDTH		80		/* the availability column */
#define HEADER_HEIGHT	40
#define ROW_PITCH		24
#define BAR_TOP			4		/* the bar within its row */
#define BAR_HEIGHT		16
#define TICK_SPACING	90		/* at least this far apart, roughly */

/* What a run is drawn as: a state, or maintenance over any state */
typedef enum SvgClass
{
	SVG_UP = DW_STATE_UP,
	SVG_DEGRADED = DW_STATE_DEGRADED,
	SVG_UNMONITORED = DW_STATE_UNMONITORED,
	SVG_DOWN = DW_STATE_DOWN,
	SVG_MAINTENANCE,
	SVG_NUM_CLASSES
} SvgClass;

static const char *const class_names[SVG_NUM_CLASSES] = {
	"up", "degraded", "unmonitored", "down", "maintenance"
};
static const char *const class_colours[SVG_NUM_CLASSES] = {
	"#2e9e44",					/* up: green */
	"#f0a30a",					/* degraded: amber */
	"#9e9e9e",					/* unmonitored: grey */
	"#d62728",					/* down: red */
	"#3b7dd8"					/* maintenance: blue */
};

/* The legend's order: from good to bad, then planned work */
static const SvgClass legend_order[SVG_NUM_CLASSES] = {
	SVG_UP, SVG_DEGRADED, SVG_DOWN, SVG_UNMONITORED, SVG_MAINTENANCE
};

/*
 * One way to place axis ticks: every "step" of local time from the start
 * of each "container" (a date_trunc unit of container_len), labelled with
 * the to_char formats primary and, below it where it changes, secondary.
 */
typedef struct TickLevel
{
	const char *container;
	Interval	container_len;
	Interval	step;
	int64		nominal;		/* the step in microseconds, roughly */
	const char *primary;
	const char *secondary;		/* NULL: one line of labels */
} TickLevel;

#define MINUTES(m)	{(m) * USECS_PER_MINUTE, 0, 0}
#define HOURS(h)	{(h) * USECS_PER_HOUR, 0, 0}
#define DAYS(d)		{0, (d), 0}
#define MONTHS(m)	{0, 0, (m)}

static const TickLevel tick_levels[] = {
	{"hour", HOURS(1), MINUTES(1), USECS_PER_MINUTE, "HH24:MI", "YYYY-MM-DD"},
	{"hour", HOURS(1), MINUTES(5), 5 * USECS_PER_MINUTE, "HH24:MI", "YYYY-MM-DD"},
	{"hour", HOURS(1), MINUTES(10), 10 * USECS_PER_MINUTE, "HH24:MI", "YYYY-MM-DD"},
	{"hour", HOURS(1), MINUTES(15), 15 * USECS_PER_MINUTE, "HH24:MI", "YYYY-MM-DD"},
	{"hour", HOURS(1), MINUTES(30), 30 * USECS_PER_MINUTE, "HH24:MI", "YYYY-MM-DD"},
	{"day", DAYS(1), HOURS(1), USECS_PER_HOUR, "HH24:MI", "YYYY-MM-DD"},
	{"day", DAYS(1), HOURS(2), 2 * USECS_PER_HOUR, "HH24:MI", "YYYY-MM-DD"},
	{"day", DAYS(1), HOURS(3), 3 * USECS_PER_HOUR, "HH24:MI", "YYYY-MM-DD"},
	{"day", DAYS(1), HOURS(6), 6 * USECS_PER_HOUR, "HH24:MI", "YYYY-MM-DD"},
	{"day", DAYS(1), HOURS(12), 12 * USECS_PER_HOUR, "HH24:MI", "YYYY-MM-DD"},
	{"month", MONTHS(1), DAYS(1), USECS_PER_DAY, "DD Mon", "YYYY"},
	{"week", DAYS(7), DAYS(7), 7 * USECS_PER_DAY, "DD Mon", "YYYY"},
	{"year", MONTHS(12), MONTHS(1), 30 * USECS_PER_DAY, "Mon", "YYYY"},
	{"year", MONTHS(12), MONTHS(3), 91 * USECS_PER_DAY, "Mon", "YYYY"},
	{"year", MONTHS(12), MONTHS(6), 182 * USECS_PER_DAY, "Mon", "YYYY"},
	{"year", MONTHS(12), MONTHS(12), 365 * USECS_PER_DAY, "YYYY", NULL},
	{"decade", MONTHS(120), MONTHS(24), 730 * USECS_PER_DAY, "YYYY", NULL},
};

/* Where things go: the plot spans [x0, x0 + plot_w) across [lo, hi) */
typedef struct SvgLayout
{
	TimestampTz lo;
	TimestampTz hi;
	TimestampTz now;			/* runs ending here (before hi) are ongoing */
	int			x0;
	int			plot_w;
	int			rows_top;
	int			axis_y;
	int			height;
} SvgLayout;

/* The full date and time in tooltips and the heading */
#define TIME_FORMAT "YYYY-MM-DD HH24:MI:SS TZ"

/*
 * append_escaped adds str as XML character data or attribute text: the
 * markup characters become entities and control characters, which XML 1.0
 * forbids, become spaces.  The status page (status_page(), in SQL) escapes
 * through the same function: dw_html_escape below.
 */
static void
append_escaped(StringInfo buf, const char *str)
{
	for (const char *p = str; *p; p++)
	{
		switch (*p)
		{
			case '&':
				appendStringInfoString(buf, "&amp;");
				break;
			case '<':
				appendStringInfoString(buf, "&lt;");
				break;
			case '>':
				appendStringInfoString(buf, "&gt;");
				break;
			case '"':
				appendStringInfoString(buf, "&quot;");
				break;
			case '\'':
				appendStringInfoString(buf, "&apos;");
				break;
			default:
				if ((unsigned char) *p < 0x20)
					appendStringInfoChar(buf, ' ');
				else
					appendStringInfoChar(buf, *p);
				break;
		}
	}
}

/*
 * dw_html_escape: depwatch_internal._html_escape(text), append_escaped for
 * SQL callers: text safe as HTML or XML character data and as a quoted
 * attribute value.
 */
Datum
dw_html_escape(PG_FUNCTION_ARGS)
{
	StringInfoData buf;

	initStringInfo(&buf);
	append_escaped(&buf, text_to_cstring(PG_GETARG_TEXT_PP(0)));
	PG_RETURN_TEXT_P(cstring_to_text_with_len(buf.data, buf.len));
}

/* format_time: to_char(t, fmt) in the session time zone, as a C string */
static char *
format_time(TimestampTz t, const char *fmt)
{
	Datum		result = DirectFunctionCall2Coll(timestamptz_to_char, C_COLLATION_OID,
												 TimestampTzGetDatum(t),
												 PointerGetDatum(cstring_to_text(fmt)));

	return text_to_cstring(DatumGetTextPP(result));
}

/* append_time adds to_char(t, fmt), escaped */
static void
append_time(StringInfo buf, TimestampTz t, const char *fmt)
{
	append_escaped(buf, format_time(t, fmt));
}

/*
 * append_duration adds a duration as "2 d 3 h 4 min 5 s", leaving out the
 * parts that are zero (and fractions of a second, unless that is all).
 */
static void
append_duration(StringInfo buf, int64 usecs)
{
	static const struct
	{
		int64		unit;
		const char *name;
	}			parts[] = {
		{USECS_PER_DAY, "d"}, {USECS_PER_HOUR, "h"}, {USECS_PER_MINUTE, "min"},
		{USECS_PER_SEC, "s"}
	};
	bool		any = false;

	for (int i = 0; i < (int) lengthof(parts); i++)
	{
		int64		n = usecs / parts[i].unit;

		usecs -= n * parts[i].unit;
		if (n == 0)
			continue;
		appendStringInfo(buf, "%s" INT64_FORMAT " %s", any ? " " : "", n, parts[i].name);
		any = true;
	}
	if (!any)
		appendStringInfo(buf, INT64_FORMAT " ms", usecs / 1000);
}

/* append_px adds a coordinate given in hundredths of a pixel */
static void
append_px(StringInfo buf, int64 px100)
{
	appendStringInfo(buf, INT64_FORMAT ".%02d", px100 / 100, (int) (px100 % 100));
}

/* x_of: where instant t falls, in hundredths of a pixel */
static int64
x_of(const SvgLayout *lay, TimestampTz t)
{
	double		share = (double) (t - lay->lo) / (double) (lay->hi - lay->lo);

	return (int64) lay->x0 * 100 + (int64) rint(share * lay->plot_w * 100);
}

/* local_plus: a local (time zone less) timestamp plus an interval */
static Timestamp
local_plus(Timestamp t, const Interval *iv)
{
	return DatumGetTimestamp(DirectFunctionCall2(timestamp_pl_interval,
												 TimestampGetDatum(t),
												 IntervalPGetDatum(iv)));
}

/* local_instant: the instant a wall-clock time of the session time zone names */
static TimestampTz
local_instant(Timestamp t)
{
	return DatumGetTimestampTz(DirectFunctionCall1(timestamp_timestamptz,
												   TimestampGetDatum(t)));
}

/*
 * choose_level picks the finest tick level that puts at most one tick per
 * TICK_SPACING pixels over the period.
 */
static const TickLevel *
choose_level(const SvgLayout *lay)
{
	int64		max_ticks = Max(lay->plot_w / TICK_SPACING, 2);

	for (int i = 0; i < (int) lengthof(tick_levels); i++)
		if ((lay->hi - lay->lo) / tick_levels[i].nominal <= max_ticks)
			return &tick_levels[i];
	return &tick_levels[lengthof(tick_levels) - 1];
}

/*
 * axis_ticks returns the instants in [lo, hi] that are round wall-clock
 * times of the session time zone at the chosen level, in increasing order
 * (a local time that a DST change skips or repeats gives one tick).
 */
static TimestampTz *
axis_ticks(const SvgLayout *lay, const TickLevel *lv, int *n)
{
	int			cap = 16;
	TimestampTz *ticks = palloc(sizeof(TimestampTz) * cap);
	TimestampTz last = lay->lo - 1;
	Timestamp	container;

	container = DatumGetTimestamp(DirectFunctionCall2(timestamp_trunc,
													  PointerGetDatum(cstring_to_text(lv->container)),
													  DirectFunctionCall1(timestamptz_timestamp,
																		  TimestampTzGetDatum(lay->lo))));
	*n = 0;
	while (local_instant(container) <= lay->hi)
	{
		Timestamp	next = local_plus(container, &lv->container_len);

		for (Timestamp t = container; t < next; t = local_plus(t, &lv->step))
		{
			TimestampTz at = local_instant(t);

			if (at > lay->hi)
				break;
			if (at < lay->lo || at <= last)
				continue;
			if (*n == cap)
			{
				cap *= 2;
				ticks = repalloc(ticks, sizeof(TimestampTz) * cap);
			}
			ticks[(*n)++] = last = at;
		}
		container = next;
	}
	return ticks;
}

/* append_text adds a <text> element at (x, y) with extra attributes */
static void
append_text(StringInfo buf, int64 x100, int y, const char *attrs, const char *content)
{
	appendStringInfoString(buf, "<text x=\"");
	append_px(buf, x100);
	appendStringInfo(buf, "\" y=\"%d\"%s>", y, attrs);
	append_escaped(buf, content);
	appendStringInfoString(buf, "</text>\n");
}

/*
 * append_grid draws a faint vertical line at each tick, behind the rows
 * (the bars hide it; it shows between them).
 */
static void
append_grid(StringInfo buf, const SvgLayout *lay, const TimestampTz *ticks, int nticks)
{
	appendStringInfoString(buf, "<g class=\"grid\" stroke=\"#666666\" stroke-opacity=\"0.35\">\n");
	for (int i = 0; i < nticks; i++)
	{
		int64		x = x_of(lay, ticks[i]);

		appendStringInfoString(buf, "<line x1=\"");
		append_px(buf, x);
		appendStringInfo(buf, "\" y1=\"%d\" x2=\"", lay->rows_top);
		append_px(buf, x);
		appendStringInfo(buf, "\" y2=\"%d\"/>\n", lay->axis_y);
	}
	appendStringInfoString(buf, "</g>\n");
}

/*
 * append_axis draws the time axis under the rows: a tick and a label at
 * each round time, and the secondary label (date or year) wherever it
 * changes from the tick before.
 */
static void
append_axis(StringInfo buf, const SvgLayout *lay, const TickLevel *lv,
			const TimestampTz *ticks, int nticks)
{
	char	   *previous = NULL;

	appendStringInfo(buf, "<g class=\"axis\" font-size=\"11\" fill=\"#333333\""
					 " text-anchor=\"middle\">\n"
					 "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#666666\"/>\n",
					 lay->x0, lay->axis_y, lay->x0 + lay->plot_w, lay->axis_y);
	for (int i = 0; i < nticks; i++)
	{
		int64		x = x_of(lay, ticks[i]);

		appendStringInfoString(buf, "<line x1=\"");
		append_px(buf, x);
		appendStringInfo(buf, "\" y1=\"%d\" x2=\"", lay->axis_y);
		append_px(buf, x);
		appendStringInfo(buf, "\" y2=\"%d\" stroke=\"#666666\"/>\n", lay->axis_y + 5);
		append_text(buf, x, lay->axis_y + 18, " class=\"tick\"", format_time(ticks[i], lv->primary));
		if (lv->secondary)
		{
			char	   *label = format_time(ticks[i], lv->secondary);

			if (previous == NULL || strcmp(label, previous) != 0)
				append_text(buf, x, lay->axis_y + 32, " class=\"tick2\"", label);
			previous = label;
		}
	}
	appendStringInfoString(buf, "</g>\n");
}

/* append_legend draws a swatch and a name for each colour */
static void
append_legend(StringInfo buf, const SvgLayout *lay)
{
	int			y = lay->axis_y + 54;

	appendStringInfoString(buf, "<g class=\"legend\" font-size=\"11\" fill=\"#333333\">\n");
	for (int i = 0; i < SVG_NUM_CLASSES; i++)
	{
		SvgClass	c = legend_order[i];
		int			x = lay->x0 + i * 110;

		appendStringInfo(buf, "<rect class=\"swatch %s\" x=\"%d\" y=\"%d\""
						 " width=\"12\" height=\"12\" fill=\"%s\"/>\n",
						 class_names[c], x, y - 10, class_colours[c]);
		append_text(buf, (int64) (x + 17) * 100, y, "", class_names[c]);
	}
	appendStringInfoString(buf, "</g>\n");
}

/*
 * append_run draws one run [from, to) of a row as a bar with a tooltip:
 * what, from when to when (or "ongoing" when it runs up to now), for how
 * long.  An outage narrower than a pixel is widened to one pixel, so that
 * a short outage over a long period still shows.
 */
static void
append_run(StringInfo buf, const SvgLayout *lay, int y, const char *name,
		   const DwChange *run, TimestampTz from, TimestampTz to)
{
	SvgClass	c = run->maintenance ? SVG_MAINTENANCE : (SvgClass) run->state;
	bool		outage = run->state == DW_STATE_DOWN || run->state == DW_STATE_DEGRADED;
	int64		x = x_of(lay, from);
	int64		w = x_of(lay, to) - x;
	int64		right = (int64) (lay->x0 + lay->plot_w) * 100;

	if (outage && w < 100)
	{
		w = 100;
		x = Min(x, right - w);
	}
	appendStringInfo(buf, "<rect class=\"run %s%s\" x=\"", class_names[run->state],
					 run->maintenance ? " maintenance" : "");
	append_px(buf, x);
	appendStringInfo(buf, "\" y=\"%d\" width=\"", y + BAR_TOP);
	append_px(buf, w);
	appendStringInfo(buf, "\" height=\"%d\" fill=\"%s\"><title>", BAR_HEIGHT, class_colours[c]);
	append_escaped(buf, name);
	appendStringInfoString(buf, ": ");
	if (run->maintenance && run->state == DW_STATE_UP)
		appendStringInfoString(buf, "maintenance");
	else
		appendStringInfo(buf, "%s%s", class_names[run->state],
						 run->maintenance ? " during maintenance" : "");
	appendStringInfoString(buf, " from ");
	append_time(buf, from, TIME_FORMAT);
	if (to == lay->now && lay->now < lay->hi)
	{
		appendStringInfoString(buf, ", ongoing (");
		append_duration(buf, to - from);
		appendStringInfoString(buf, " so far)");
	}
	else
	{
		appendStringInfoString(buf, " to ");
		append_time(buf, to, TIME_FORMAT);
		appendStringInfoString(buf, " (");
		append_duration(buf, to - from);
		appendStringInfoChar(buf, ')');
	}
	appendStringInfoString(buf, "</title></rect>\n");
}

/*
 * append_availability writes the row's availability over the period, as
 * availability() computes it (rounded to hundredths of a percent), with
 * the monitored share beside it in a tooltip.
 */
static void
append_availability(StringInfo buf, const SvgLayout *lay, int y, const DwTimeline *t)
{
	int64		bounds[2] = {lay->lo, lay->hi};
	DwAccount	a;
	int64		monitored;
	int64		counted;

	dw_account(t, bounds, 1, &a);
	monitored = a.length - a.unmonitored;
	counted = monitored - a.maintenance;
	appendStringInfoString(buf, "<text class=\"availability\" x=\"");
	append_px(buf, (int64) (lay->x0 + lay->plot_w + 8) * 100);
	appendStringInfo(buf, "\" y=\"%d\">", y);
	if (counted > 0)
	{
		int64		up = counted - a.downtime;
		int64		hundredths = (up * 10000 + counted / 2) / counted;

		/* rounded, but 100.00% only when there was no downtime at all */
		if (hundredths == 10000 && a.downtime > 0)
			hundredths = 9999;
		appendStringInfo(buf, INT64_FORMAT ".%02d%%", hundredths / 100, (int) (hundredths % 100));
	}
	else
		appendStringInfoString(buf, "n/a");
	appendStringInfo(buf, "<title>availability over monitored time outside maintenance;"
					 " monitored " INT64_FORMAT ".%02d%% of the period</title></text>\n",
					 monitored * 10000 / a.length / 100,
					 (int) (monitored * 10000 / a.length % 100));
}

/*
 * append_row draws one target: its name, its runs (outages last, so that
 * a widened one stays on top of its neighbours) and its availability.
 */
static void
append_row(StringInfo buf, const SvgLayout *lay, int k, const DwSubject *sub,
		   const DwTimeline *t)
{
	int			y = lay->rows_top + k * ROW_PITCH;

	appendStringInfo(buf, "<g class=\"row %s\" shape-rendering=\"crispEdges\">\n",
					 sub->is_capability ? "capability" : "dependency");
	append_text(buf, (int64) (lay->x0 - 8) * 100, y + BAR_TOP + 12,
				sub->is_capability ? " text-anchor=\"end\" font-weight=\"bold\"" :
				" text-anchor=\"end\"", sub->name);
	for (int pass = 0; pass < 2; pass++)
	{
		for (int c = 0; c < t->n;)
		{
			const DwChange *run = &t->changes[c];
			bool		outage = run->state == DW_STATE_DOWN || run->state == DW_STATE_DEGRADED;
			int			end = c + 1;

			while (end < t->n && t->changes[end].state == run->state &&
				   t->changes[end].maintenance == run->maintenance)
				end++;
			if (outage == (pass == 1))
				append_run(buf, lay, y, sub->name, run, run->at,
						   end < t->n ? t->changes[end].at : t->hi);
			c = end;
		}
	}
	append_availability(buf, lay, y + BAR_TOP + 12, t);
	appendStringInfoString(buf, "</g>\n");
}

/* append_header opens the document: root element, title, background, heading */
static void
append_header(StringInfo buf, const SvgLayout *lay)
{
	StringInfoData heading;

	initStringInfo(&heading);
	appendStringInfoString(&heading, "depwatch: ");
	append_time(&heading, lay->lo, TIME_FORMAT);
	appendStringInfoString(&heading, " to ");
	append_time(&heading, lay->hi, TIME_FORMAT);
	appendStringInfoString(&heading, " (time zone ");
	append_escaped(&heading, pg_get_timezone_name(session_timezone));
	appendStringInfoChar(&heading, ')');

	appendStringInfo(buf,
					 "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
					 "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\""
					 " width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\""
					 " font-family=\"DejaVu Sans, Verdana, Arial, sans-serif\" font-size=\"12\">\n"
					 "<title>%s</title>\n"
					 "<rect class=\"background\" x=\"0\" y=\"0\" width=\"%d\" height=\"%d\" fill=\"#ffffff\"/>\n"
					 "<text class=\"heading\" x=\"8\" y=\"24\" font-size=\"14\" font-weight=\"bold\">%s</text>\n",
					 SVG_WIDTH, lay->height, SVG_WIDTH, lay->height, heading.data,
					 SVG_WIDTH, lay->height, heading.data);
	append_text(buf, (int64) (lay->x0 + lay->plot_w + 8) * 100, lay->rows_top - 2,
				" class=\"column\" font-size=\"10\" fill=\"#555555\"", "availability");
	pfree(heading.data);
}

/*
 * depwatch.timeline_svg(period tstzrange, targets text[] DEFAULT NULL)
 *
 * A status-page picture of what each target (all when NULL: dependencies,
 * then capabilities, each by name) was doing over the period: a row per
 * target coloured by state, maintenance in blue over any state, a tooltip
 * on every run, a time axis in the session time zone and a legend.
 */
Datum
dw_timeline_svg(PG_FUNCTION_ARGS)
{
	SvgLayout	lay;
	DwSubjects *s;
	int		   *chosen;
	int			nchosen = 0;
	int			namelen = 0;
	const TickLevel *level;
	TimestampTz *ticks;
	int			nticks;
	StringInfoData buf;

	dw_period_arg(fcinfo, &lay.lo, &lay.hi);
	s = dw_load_subjects(lay.lo, lay.hi, DW_WINDOWS_ALL, NULL, PG_ARGISNULL(1) ? NULL : PG_GETARG_ARRAYTYPE_P(1));
	chosen = dw_choose_subjects(s, PG_ARGISNULL(1) ? NULL : PG_GETARG_ARRAYTYPE_P(1), &nchosen);
	for (int k = 0; k < nchosen; k++)
		namelen = Max(namelen, (int) strlen(s->items[chosen[k]].name));

	lay.now = s->now;
	lay.x0 = Max(NAME_MIN_WIDTH, 16 + NAME_CHAR_WIDTH * namelen);
	lay.plot_w = SVG_WIDTH - lay.x0 - RIGHT_WIDTH;
	lay.rows_top = HEADER_HEIGHT;
	lay.axis_y = HEADER_HEIGHT + Max(nchosen, 1) * ROW_PITCH + 4;
	lay.height = lay.axis_y + 66;

	level = choose_level(&lay);
	ticks = axis_ticks(&lay, level, &nticks);

	initStringInfo(&buf);
	append_header(&buf, &lay);
	append_grid(&buf, &lay, ticks, nticks);
	for (int k = 0; k < nchosen; k++)
		append_row(&buf, &lay, k, &s->items[chosen[k]], dw_subject_timeline(s, chosen[k]));
	if (nchosen == 0)
		append_text(&buf, (int64) lay.x0 * 100, lay.rows_top + BAR_TOP + 12,
					" class=\"empty\"", "No dependencies or capabilities yet.");
	append_axis(&buf, &lay, level, ticks, nticks);
	append_legend(&buf, &lay);
	appendStringInfoString(&buf, "</svg>\n");
	PG_RETURN_TEXT_P(cstring_to_text_with_len(buf.data, buf.len));
}
