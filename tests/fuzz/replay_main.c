/*
 * replay_main.c - a main() for fuzz targets in builds without libFuzzer
 * (gcc, TSan, plain Release): runs LLVMFuzzerTestOneInput() once on every
 * file named on the command line and on every regular file of every
 * directory named there (not recursively, in name order), then prints
 * "N passed, M failed".  It exits 1 if any input could not be read or no
 * input was found; a failing check in the target traps, which fails the run
 * by itself.
 *
 * Each input is copied into a buffer of exactly its size, so AddressSanitizer
 * catches a read one byte past the end as it would under libFuzzer.  Owns
 * nothing beyond one input at a time; single-threaded.
 */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct replay_count {
	unsigned long passed;
	unsigned long failed;
};

/* Reads the whole file at path into a malloc'd buffer of exactly its size
 * (the caller frees it).  Returns 0, or -errno. */
static int
read_file(const char *path, uint8_t **out, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL;
	size_t cap = 0, n = 0;
	int rc = 0;

	if (f == NULL) {
		return -errno;
	}
	for (;;) {
		size_t got;

		if (n == cap) {
			size_t ncap = cap == 0 ? 4096 : cap * 2;
			uint8_t *nbuf = realloc(buf, ncap);

			if (nbuf == NULL) {
				rc = -ENOMEM;
				goto fail;
			}
			buf = nbuf;
			cap = ncap;
		}
		got = fread(buf + n, 1, cap - n, f);
		n += got;
		if (got == 0) {
			if (ferror(f)) {
				rc = -EIO;
				goto fail;
			}
			break;
		}
	}
	fclose(f);
	/* Shrink to the exact size so overreads are caught. */
	*out = malloc(n > 0 ? n : 1);
	if (*out == NULL) {
		free(buf);
		return -ENOMEM;
	}
	if (n > 0) {
		memcpy(*out, buf, n);
	}
	free(buf);
	*len = n;
	return 0;
fail:
	fclose(f);
	free(buf);
	return rc;
}

static void
run_file(const char *path, struct replay_count *c)
{
	uint8_t *data = NULL;
	size_t len = 0;
	int rc = read_file(path, &data, &len);

	if (rc != 0) {
		fprintf(stderr, "%s: %s\n", path, strerror(-rc));
		c->failed++;
		return;
	}
	(void)LLVMFuzzerTestOneInput(data, len);
	free(data);
	c->passed++;
}

static int
skip_dot(const struct dirent *d)
{
	return d->d_name[0] != '.';
}

static void
run_dir(const char *dir, struct replay_count *c)
{
	struct dirent **names;
	int n, i;

	n = scandir(dir, &names, skip_dot, alphasort);
	if (n < 0) {
		fprintf(stderr, "%s: %s\n", dir, strerror(errno));
		c->failed++;
		return;
	}
	for (i = 0; i < n; i++) {
		struct stat st;
		size_t plen = strlen(dir) + strlen(names[i]->d_name) + 2;
		char *path = malloc(plen);

		if (path == NULL) {
			c->failed++;
			free(names[i]);
			continue;
		}
		snprintf(path, plen, "%s/%s", dir, names[i]->d_name);
		if (stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
			run_file(path, c);
		}
		free(path);
		free(names[i]);
	}
	free(names);
}

int
main(int argc, char **argv)
{
	struct replay_count c = { 0, 0 };
	int i;

	if (argc < 2) {
		fprintf(stderr, "usage: %s FILE|DIR...\n", argv[0]);
		return 2;
	}
	for (i = 1; i < argc; i++) {
		struct stat st;

		if (stat(argv[i], &st) != 0) {
			fprintf(stderr, "%s: %s\n", argv[i], strerror(errno));
			c.failed++;
		} else if (S_ISDIR(st.st_mode)) {
			run_dir(argv[i], &c);
		} else {
			run_file(argv[i], &c);
		}
	}
	printf("%lu passed, %lu failed\n", c.passed, c.failed);
	if (c.passed + c.failed == 0) {
		fprintf(stderr, "no inputs found\n");
		return 1;
	}
	return c.failed == 0 ? 0 : 1;
}
