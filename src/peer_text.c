/*-------------------------------------------------------------------------
 *
 * peer_text.c
 *	  Text read from a monitored peer, made fit to store.
 *
 * A peer answers in whatever encoding it likes (a Korean server's login
 * error in EUC-KR, a proxy's binary garbage), and a text datum built from
 * its bytes is not checked: stored as is, it fails pg_dump's restore of the
 * whole sample partition.  Every text the worker stores from a probe goes
 * through dw_peer_text, which keeps only valid characters of the database
 * encoding and cuts at a character boundary.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "mb/pg_wchar.h"

#include "peer_text.h"

/*
 * dw_peer_text copies src into dst (dstlen bytes, terminator included):
 * each byte that does not start a valid character of the database encoding
 * is replaced (by U+FFFD in UTF-8, '?' otherwise), and the copy stops
 * before the first character that does not fit whole.
 */
void
dw_peer_text(char *dst, size_t dstlen, const char *src)
{
	int			encoding = GetDatabaseEncoding();
	const char *replacement = encoding == PG_UTF8 ? "\xEF\xBF\xBD" : "?";
	int			replacement_len = strlen(replacement);
	int			remaining = strlen(src);
	size_t		used = 0;

	Assert(dstlen > 0);
	while (remaining > 0)
	{
		int			len = pg_encoding_verifymbchar(encoding, src, remaining);
		const char *from = src;
		int			n = len;

		if (len < 0)
		{
			/* one bad byte: replace it, then look again at the next one */
			from = replacement;
			n = replacement_len;
			len = 1;
		}
		if (used + n >= dstlen)
			break;
		memcpy(dst + used, from, n);
		used += n;
		src += len;
		remaining -= len;
	}
	dst[used] = '\0';
}
