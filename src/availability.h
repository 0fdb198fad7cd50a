/*-------------------------------------------------------------------------
 *
 * availability.h
 *	  The availability figure of doc/semantics.md, "Availability", for the
 *	  reports that give it beside availability() (vantage_availability).
 *
 *-------------------------------------------------------------------------
 */
#ifndef DEPWATCH_AVAILABILITY_H
#define DEPWATCH_AVAILABILITY_H

#include "postgres.h"

#include "timeline.h"

extern Datum dw_availability_percent(const DwAccount *a, bool *isnull);

#endif							/* DEPWATCH_AVAILABILITY_H */
