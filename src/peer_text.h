/*-------------------------------------------------------------------------
 *
 * peer_text.h
 *	  Text read from a monitored peer, made fit to store.
 *
 *-------------------------------------------------------------------------
 */
#ifndef DEPWATCH_PEER_TEXT_H
#define DEPWATCH_PEER_TEXT_H

extern void dw_peer_text(char *dst, size_t dstlen, const char *src);

#endif							/* DEPWATCH_PEER_TEXT_H */
