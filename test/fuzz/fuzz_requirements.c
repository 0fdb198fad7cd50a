/*-------------------------------------------------------------------------
 *
 * fuzz_requirements.c
 *	  Fuzz target for the requirement-group parser (src/requirements.c).
 *
 * The input is one group as SQL would pass it.  Beyond not crashing, the
 * parser must be deterministic; on error the offending slice must lie
 * inside the text (validate.c copies it into the message); on success the
 * members must be distinct valid names no longer than a NAME (subjects.c
 * copies them into NAMEDATALEN buffers), k must be between 1 and the number
 * of members, and the group rebuilt from the result, with or without
 * blanks, must parse to the same k and members.
 *
 *-------------------------------------------------------------------------
 */
#include "fuzz.h"

#include "requirements.h"

static void
check_same(const DwRequirement *a, const DwRequirement *b)
{
	FUZZ_CHECK(a->k == b->k, "k %d then %d", a->k, b->k);
	FUZZ_CHECK(a->nmembers == b->nmembers, "%d members then %d",
			   a->nmembers, b->nmembers);
	for (int i = 0; i < a->nmembers; i++)
		FUZZ_CHECK(a->members[i].len == b->members[i].len &&
				   memcmp(a->members[i].start, b->members[i].start,
						  a->members[i].len) == 0,
				   "member %d differs", i + 1);
}

/*
 * reparse renders req as text (k always; no blanks, or every kind of blank
 * around every token) and parses it
 */
static void
reparse(const DwRequirement *req, bool blanks)
{
	/* k (at most 4 digits), members and separators */
	char		buf[16 + DW_REQ_MAX_MEMBERS * (DW_NAME_MAX + 4)];
	char	   *w = buf;
	DwRequirement again;
	DwReqError	err;

	w += sprintf(w, blanks ? " \r%d\n:\t" : "%d:", req->k);
	for (int i = 0; i < req->nmembers; i++)
	{
		if (i > 0)
			w += sprintf(w, blanks ? "\r|\n " : "|");
		memcpy(w, req->members[i].start, req->members[i].len);
		w += req->members[i].len;
	}
	*w = '\0';
	err = dw_parse_requirement(buf, &again);
	FUZZ_CHECK(err == DW_REQ_OK, "\"%s\" rebuilt from an accepted group fails with %d",
			   buf, (int) err);
	check_same(req, &again);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char	   *text = fuzz_cstring(data, size);
	size_t		len = strlen(text);
	DwRequirement req;
	DwRequirement twice;
	DwReqError	err = dw_parse_requirement(text, &req);
	DwReqError	err2 = dw_parse_requirement(text, &twice);

	FUZZ_CHECK(err >= DW_REQ_OK && err <= DW_REQ_TOO_MANY, "error code %d", (int) err);
	FUZZ_CHECK(err == err2, "error %d then %d", (int) err, (int) err2);
	check_same(&req, &twice);

	if (err != DW_REQ_OK)
	{
		const char *o = req.offender.start;

		FUZZ_CHECK(o != NULL, "error %d without an offender", (int) err);
		FUZZ_CHECK(o >= text && o + req.offender.len <= text + len,
				   "offender outside the text");
		FUZZ_CHECK(o == twice.offender.start &&
				   req.offender.len == twice.offender.len,
				   "offender differs between runs");
		if (err == DW_REQ_BAD_NAME)
			FUZZ_CHECK(!dw_valid_name(o, req.offender.len),
					   "offender of a bad name is a valid name");
		if (err == DW_REQ_DUPLICATE)
			FUZZ_CHECK(dw_valid_name(o, req.offender.len),
					   "duplicate is not a valid name");
		if (err == DW_REQ_IMPOSSIBLE_K)
			FUZZ_CHECK(req.k > req.nmembers, "k %d of %d members is possible",
					   req.k, req.nmembers);
		free(text);
		return 0;
	}

	FUZZ_CHECK(req.offender.start == NULL && req.offender.len == 0,
			   "an accepted group has an offender");
	FUZZ_CHECK(req.nmembers >= 1 && req.nmembers <= DW_REQ_MAX_MEMBERS,
			   "%d members", req.nmembers);
	FUZZ_CHECK(req.k >= 1 && req.k <= req.nmembers, "k %d of %d members",
			   req.k, req.nmembers);
	for (int i = 0; i < req.nmembers; i++)
	{
		const DwSlice *m = &req.members[i];

		FUZZ_CHECK(m->start >= text && m->start + m->len <= text + len,
				   "member %d outside the text", i + 1);
		FUZZ_CHECK(i == 0 || m->start > req.members[i - 1].start,
				   "member %d out of order", i + 1);
		FUZZ_CHECK(m->len >= 1 && m->len <= DW_NAME_MAX, "member %d is %zu bytes",
				   i + 1, m->len);
		FUZZ_CHECK(dw_valid_name(m->start, m->len), "member %d is not a valid name",
				   i + 1);
		for (int j = 0; j < i; j++)
			FUZZ_CHECK(m->len != req.members[j].len ||
					   memcmp(m->start, req.members[j].start, m->len) != 0,
					   "members %d and %d are the same", j + 1, i + 1);
	}
	reparse(&req, false);
	reparse(&req, true);
	free(text);
	return 0;
}
