/*-------------------------------------------------------------------------
 *
 * requirements.h
 *	  Parser for capability requirement groups: 'a', 'a|b|c', '2:a|b|c'.
 *
 * Pure C, no PostgreSQL state: the SQL layer turns error codes into
 * ereports, and fuzzers can call it directly.
 *
 *-------------------------------------------------------------------------
 */
#ifndef DEPWATCH_REQUIREMENTS_H
#define DEPWATCH_REQUIREMENTS_H

#include <stdbool.h>
#include <stddef.h>

/* Longest name a dependency or capability may have (NAMEDATALEN - 1). */
#define DW_NAME_MAX 63
/* Most members one requirement group may list. */
#define DW_REQ_MAX_MEMBERS 64
/* Most requirement groups one capability may have. */
#define DW_REQ_MAX_GROUPS 64

typedef enum DwReqError
{
	DW_REQ_OK = 0,
	DW_REQ_EMPTY,				/* nothing but blanks */
	DW_REQ_EMPTY_MEMBER,		/* 'a||b', '|a', 'a|', '2:' */
	DW_REQ_BAD_NAME,			/* a member that is not a lower-case name */
	DW_REQ_BAD_K,				/* 'x:a', '0:a', a k too large to read */
	DW_REQ_IMPOSSIBLE_K,		/* k greater than the number of members */
	DW_REQ_DUPLICATE,			/* the same member twice */
	DW_REQ_TOO_MANY				/* more than DW_REQ_MAX_MEMBERS members */
} DwReqError;

/* A slice of the parsed text. */
typedef struct DwSlice
{
	const char *start;
	size_t		len;
} DwSlice;

typedef struct DwRequirement
{
	int			k;				/* members that must be up (1 if not given) */
	int			nmembers;
	DwSlice		members[DW_REQ_MAX_MEMBERS];
	DwSlice		offender;		/* on error: the offending part of the text */
} DwRequirement;

extern bool dw_valid_name(const char *s, size_t len);
extern DwReqError dw_parse_requirement(const char *text, DwRequirement *req);

#endif							/* DEPWATCH_REQUIREMENTS_H */
