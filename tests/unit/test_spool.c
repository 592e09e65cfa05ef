/*
 * test_spool.c: cgi/spool.c on a real directory: a file written and
 * committed is under its final name with its SHA-256; a file not kept
 * is gone after spool_free; and a commit whose fsync fails closes its
 * descriptor (it stayed open, and with it the space of the unlinked
 * file, up to TRIPLINE_MAX_UPLOAD per upload).
 *
 * fsync is this file's own: the program's objects are linked into this
 * executable, so their calls come here, and go on to the system call
 * unless told to fail.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "spool.h"
#include "unit.h"

static int	 fsync_fails;

int
fsync(int fd)
{
	if (fsync_fails) {
		errno = EIO;
		return -1;
	}
	return (int)syscall(SYS_fsync, fd);
}

/* Entries of dir: files in the spool, or descriptors in /proc/self/fd. */
static int
entries(const char *dir)
{
	DIR		*d;
	struct dirent	*e;
	int		 n = 0;

	if ((d = opendir(dir)) == NULL)
		return -1;
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

static void
test_commit(const char *dir)
{
	struct spool	*sp;
	struct stat	 st;

	if ((sp = spool_new(dir)) == NULL) {
		UNIT_CHECK(0, "spool_new");
		return;
	}
	UNIT_CHECK(spool_write(sp, "abc", 3) == 0, "write");
	UNIT_CHECK(spool_bytes(sp) == 3, "bytes");
	UNIT_CHECK(spool_commit(sp) == 0, "commit");
	UNIT_CHECK(strcmp(spool_sha256(sp), "ba7816bf8f01cfea414140de5dae2223b"
	    "00361a396177a9cb410ff61f20015ad") == 0, "sha256 %s",
	    spool_sha256(sp));
	UNIT_CHECK(stat(spool_path(sp), &st) == 0 && st.st_size == 3,
	    "committed file %s", spool_path(sp));
	spool_keep(sp);
	spool_free(sp);
	UNIT_CHECK(entries(dir) == 1, "kept: %d files", entries(dir));
}

static void
test_commit_sync_fails(const char *dir)
{
	struct spool	*sp;
	int		 before, i, n = entries(dir);

	before = entries("/proc/self/fd");
	for (i = 0; i < 3; i++) {
		if ((sp = spool_new(dir)) == NULL) {
			UNIT_CHECK(0, "spool_new");
			return;
		}
		UNIT_CHECK(spool_write(sp, "abc", 3) == 0, "write");
		fsync_fails = 1;
		UNIT_CHECK(spool_commit(sp) == -1,
		    "a failed sync is a failure");
		fsync_fails = 0;
		spool_free(sp);
	}
	UNIT_CHECK(entries("/proc/self/fd") == before, "descriptors: %d "
	    "before, %d after", before, entries("/proc/self/fd"));
	UNIT_CHECK(entries(dir) == n, "not kept: %d files, %d before",
	    entries(dir), n);
	spool_free(NULL);
}

int
main(void)
{
	char	 dir[] = "/tmp/tripline-unit-spool-XXXXXX";
	char	 cmd[64];

	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	test_commit(dir);
	test_commit_sync_fails(dir);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
	return unit_done("test_spool");
}
