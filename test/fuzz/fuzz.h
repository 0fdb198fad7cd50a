/*-------------------------------------------------------------------------
 *
 * fuzz.h
 *	  What every fuzz target shares: the libFuzzer entry point, turning the
 *	  input into a C string, and failing on a broken property.
 *
 * A target is built twice from the same source: with clang and libFuzzer
 * for "make fuzz", and with gcc and replay.c for "make test", which runs
 * the committed corpus through it.
 *
 *-------------------------------------------------------------------------
 */
#ifndef DEPWATCH_FUZZ_H
#define DEPWATCH_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * FUZZ_CHECK fails the run, with a message, when a property does not hold:
 * libFuzzer then saves the input as a crash.
 */
#define FUZZ_CHECK(cond, ...) \
	do { \
		if (!(cond)) \
		{ \
			fprintf(stderr, "property failed at %s:%d: %s: ", \
					__FILE__, __LINE__, #cond); \
			fprintf(stderr, __VA_ARGS__); \
			fputc('\n', stderr); \
			abort(); \
		} \
	} while (0)

/*
 * fuzz_cstring returns a malloc'd C string of the input up to its first
 * NUL byte: SQL text never holds one.
 */
static inline char *
fuzz_cstring(const uint8_t *data, size_t size)
{
	size_t		len = strnlen((const char *) data, size);
	char	   *s = malloc(len + 1);

	if (s == NULL)
		abort();
	memcpy(s, data, len);
	s[len] = '\0';
	return s;
}

#endif							/* DEPWATCH_FUZZ_H */
