/*-------------------------------------------------------------------------
 *
 * requirements.c
 *	  Parse one capability requirement group.
 *
 * A group is "[k:]member[|member...]": any k of the members suffice, and k
 * is 1 when not given.  Blanks around members and k are ignored; everything
 * else must be a lower-case identifier.
 *
 *-------------------------------------------------------------------------
 */
#include "requirements.h"

#include <string.h>

/*
 * dw_valid_name: a lower-case SQL identifier that needs no quoting, at most
 * DW_NAME_MAX bytes long.
 */
bool
dw_valid_name(const char *s, size_t len)
{
	if (len == 0 || len > DW_NAME_MAX)
		return false;
	if (!((s[0] >= 'a' && s[0] <= 'z') || s[0] == '_'))
		return false;
	for (size_t i = 1; i < len; i++)
	{
		char		c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'))
			return false;
	}
	return true;
}

static bool
is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* trim returns the slice [start, end) without surrounding blanks. */
static DwSlice
trim(const char *start, const char *end)
{
	DwSlice		s;

	while (start < end && is_blank(*start))
		start++;
	while (end > start && is_blank(end[-1]))
		end--;
	s.start = start;
	s.len = (size_t) (end - start);
	return s;
}

/* parse_k reads a positive decimal k; returns 0 when it is not one. */
static int
parse_k(DwSlice s)
{
	int			k = 0;

	if (s.len == 0 || s.len > 4)
		return 0;
	for (size_t i = 0; i < s.len; i++)
	{
		if (s.start[i] < '0' || s.start[i] > '9')
			return 0;
		k = k * 10 + (s.start[i] - '0');
	}
	return k;
}

/*
 * dw_parse_requirement parses one group into *req.  On error, req->offender
 * points at the part of the text that is wrong.
 */
DwReqError
dw_parse_requirement(const char *text, DwRequirement *req)
{
	const char *end = text + strlen(text);
	const char *p;
	const char *colon = strchr(text, ':');
	DwSlice		all = trim(text, end);

	memset(req, 0, sizeof(*req));
	req->k = 1;
	req->offender = all;
	if (all.len == 0)
		return DW_REQ_EMPTY;

	p = text;
	if (colon != NULL)
	{
		req->offender = trim(text, colon);
		req->k = parse_k(req->offender);
		if (req->k <= 0)
			return DW_REQ_BAD_K;
		p = colon + 1;
	}

	for (;;)
	{
		const char *bar = strchr(p, '|');
		const char *stop = bar ? bar : end;
		DwSlice		m = trim(p, stop);

		req->offender = m;
		if (m.len == 0)
			return DW_REQ_EMPTY_MEMBER;
		if (!dw_valid_name(m.start, m.len))
			return DW_REQ_BAD_NAME;
		for (int i = 0; i < req->nmembers; i++)
			if (req->members[i].len == m.len &&
				memcmp(req->members[i].start, m.start, m.len) == 0)
				return DW_REQ_DUPLICATE;
		if (req->nmembers == DW_REQ_MAX_MEMBERS)
			return DW_REQ_TOO_MANY;
		req->members[req->nmembers++] = m;
		if (bar == NULL)
			break;
		p = bar + 1;
	}

	if (req->k > req->nmembers)
	{
		req->offender = all;
		return DW_REQ_IMPOSSIBLE_K;
	}
	req->offender.start = NULL;
	req->offender.len = 0;
	return DW_REQ_OK;
}
