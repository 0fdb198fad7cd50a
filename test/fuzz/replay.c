/*-------------------------------------------------------------------------
 *
 * replay.c
 *	  A main() for fuzz targets built without libFuzzer: runs every file
 *	  named on the command line, or found in a directory named there,
 *	  through LLVMFuzzerTestOneInput once.
 *
 * "make test" builds each target with gcc, AddressSanitizer and UBSan and
 * replays the committed corpus (seeds and every case a fuzzing run found),
 * so a fixed bug that comes back fails the suite even where clang is not
 * installed.  A broken property aborts; so does any sanitizer report.
 *
 *-------------------------------------------------------------------------
 */
#include "fuzz.h"

#include <dirent.h>
#include <sys/stat.h>

static int	replayed = 0;

static void
replay_file(const char *path)
{
	FILE	   *f = fopen(path, "rb");
	uint8_t    *buf;
	long		len;

	if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (len = ftell(f)) < 0 ||
		fseek(f, 0, SEEK_SET) != 0)
	{
		fprintf(stderr, "cannot read %s\n", path);
		exit(2);
	}
	/* an exact-size buffer, so that AddressSanitizer sees any overread */
	buf = malloc(len > 0 ? (size_t) len : 1);
	if (buf == NULL || fread(buf, 1, (size_t) len, f) != (size_t) len)
	{
		fprintf(stderr, "cannot read %s\n", path);
		exit(2);
	}
	fclose(f);
	LLVMFuzzerTestOneInput(buf, (size_t) len);
	free(buf);
	replayed++;
}

static int
by_name(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

static void
replay_path(const char *path)
{
	struct stat st;
	struct dirent **entries;
	int			n;

	if (stat(path, &st) != 0)
	{
		fprintf(stderr, "cannot read %s\n", path);
		exit(2);
	}
	if (!S_ISDIR(st.st_mode))
	{
		replay_file(path);
		return;
	}
	n = scandir(path, &entries, NULL, by_name);
	if (n < 0)
	{
		fprintf(stderr, "cannot list %s\n", path);
		exit(2);
	}
	for (int i = 0; i < n; i++)
	{
		if (entries[i]->d_name[0] != '.')
		{
			char	   *child = malloc(strlen(path) + strlen(entries[i]->d_name) + 2);

			sprintf(child, "%s/%s", path, entries[i]->d_name);
			replay_path(child);
			free(child);
		}
		free(entries[i]);
	}
	free(entries);
}

int
main(int argc, char **argv)
{
	for (int i = 1; i < argc; i++)
		replay_path(argv[i]);
	printf("%d inputs replayed\n", replayed);
	/* an empty corpus proves nothing */
	return replayed > 0 ? 0 : 1;
}
