/*
 * jobfile.c: openat2(2) with RESOLVE_BENEATH refuses "..", absolute paths
 * and symbolic links that lead out of the directory; RESOLVE_NO_MAGICLINKS
 * refuses /proc-style links (Linux 5.6, openat2(2)).  glibc 2.36 has no
 * wrapper, hence syscall(2).  An upload path is absolute, so it is first
 * checked to start with the spool directory, then opened beneath it.
 * An ended upload's file is removed the same way: a name directly in the
 * spool, through the directory's descriptor (jobfile_remove).
 */
#include <sys/stat.h>
#include <sys/syscall.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <linux/openat2.h>

#include "jobfile.h"
#include "log.h"
#include "safetext.h"

struct jobfile {
	int	 dirfd[JOBFILE__MAX];
	/* The spool directory as configured and as resolved. */
	char	*spool_as_given;
	char	*spool_real;
};

static const char *const jobfile_sources[JOBFILE__MAX] = {
	"upload",	/* JOBFILE_UPLOAD */
	"inbox",	/* JOBFILE_INBOX */
};

/* The directory of each source, as a job's error names it. */
static const char *const jobfile_dirs[JOBFILE__MAX] = {
	"spool",	/* JOBFILE_UPLOAD */
	"inbox",	/* JOBFILE_INBOX */
};

/*
 * What a failed open tells the job (jobs.error), naming the file as it
 * lies in its directory (the inbox name its submitter gave): the first
 * %s is the quoted name, the second the directory.  Any other errno is
 * passing (the job is tried again): "could not open".
 */
static const struct {
	int		 errnum;
	const char	*fmt;
} jobfile_open_errors[] = {
	{ ENOENT, "%s is no longer in the %s" },
	{ ENOTDIR, "%s is no longer in the %s" },
	{ EXDEV, "%s is outside the %s" },
	{ ELOOP, "%s is outside the %s" },
};
#define NJOBFILE_OPEN_ERRORS \
	(sizeof(jobfile_open_errors) / sizeof(jobfile_open_errors[0]))

/*
 * Room for a name quoted (safetext_quote): 200 bytes of it, for an inbox
 * name has up to 1 KiB and a job's error shows most of it.
 */
#define JOBFILE_QUOTE_SIZE	(200 + 6)

/* strerror's text as the project's errors read: lower-case. */
static void
jobfile_strerror(int e, char *out, size_t outsz)
{
	snprintf(out, outsz, "%s", strerror(e));
	if (out[0] >= 'A' && out[0] <= 'Z' && out[1] >= 'a' && out[1] <= 'z')
		out[0] = (char)(out[0] - 'A' + 'a');
}

/*
 * A failed open or check of rel in src's directory: the job's reason in
 * err, *permanent cleared when the cause may pass (errnum not in the
 * table, or a failure after the open).
 */
static void
jobfile_open_error(enum jobfile_source src, const char *rel, int errnum,
    int opened, int *permanent, char *err, size_t errsz)
{
	char	 q[JOBFILE_QUOTE_SIZE], why[128];
	size_t	 i;

	safetext_quote(rel, strlen(rel), q, sizeof(q));
	for (i = 0; !opened && i < NJOBFILE_OPEN_ERRORS; i++)
		if (jobfile_open_errors[i].errnum == errnum) {
			snprintf(err, errsz, jobfile_open_errors[i].fmt, q,
			    jobfile_dirs[src]);
			return;
		}
	*permanent = 0;
	jobfile_strerror(errnum, why, sizeof(why));
	snprintf(err, errsz, "could not open %s in the %s: %s", q,
	    jobfile_dirs[src], why);
}

enum jobfile_source
jobfile_source(const char *name)
{
	int i;

	for (i = 0; i < JOBFILE__MAX; i++)
		if (strcmp(jobfile_sources[i], name) == 0)
			break;
	return (enum jobfile_source)i;
}

struct jobfile *
jobfile_new(const char *spool_dir, const char *inbox_dir)
{
	const char	*dirs[JOBFILE__MAX] = { spool_dir, inbox_dir };
	struct jobfile	*j;
	int		 i, n = 0;

	if ((j = calloc(1, sizeof(*j))) == NULL)
		return NULL;
	for (i = 0; i < JOBFILE__MAX; i++) {
		j->dirfd[i] = open(dirs[i], O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (j->dirfd[i] == -1)
			log_warn("cannot open the %s directory %s: %m",
			    jobfile_sources[i], dirs[i]);
		else
			n++;
	}
	j->spool_as_given = strdup(spool_dir);
	j->spool_real = realpath(spool_dir, NULL);
	if (n == 0 || j->spool_as_given == NULL) {
		jobfile_free(j);
		return NULL;
	}
	return j;
}

void
jobfile_free(struct jobfile *j)
{
	int i;

	if (j == NULL)
		return;
	for (i = 0; i < JOBFILE__MAX; i++)
		if (j->dirfd[i] != -1)
			close(j->dirfd[i]);
	free(j->spool_as_given);
	free(j->spool_real);
	free(j);
}

/* The part of path after "dir/", or NULL. */
static const char *
jobfile_beneath(const char *dir, const char *path)
{
	size_t n;

	if (dir == NULL || dir[0] != '/')
		return NULL;
	n = strlen(dir);
	while (n > 1 && dir[n - 1] == '/')
		n--;
	if (strncmp(path, dir, n) != 0 || path[n] != '/')
		return NULL;
	path += n;
	while (*path == '/')
		path++;
	return path;
}

int
jobfile_open(const struct jobfile *j, enum jobfile_source src,
    const char *path, int64_t *size, int *permanent, char *err, size_t errsz)
{
	struct open_how	 how;
	struct stat	 st;
	const char	*rel = path;
	char		 q[JOBFILE_QUOTE_SIZE];
	int		 fd = -1;

	*permanent = 1;
	if (src == JOBFILE_UPLOAD &&
	    (rel = jobfile_beneath(j->spool_as_given, path)) == NULL &&
	    (rel = jobfile_beneath(j->spool_real, path)) == NULL) {
		snprintf(err, errsz, "file is outside the spool directory");
		return -1;
	}
	if (src >= JOBFILE__MAX || j->dirfd[src] == -1) {
		*permanent = 0;
		snprintf(err, errsz, "the %s directory is not available",
		    src < JOBFILE__MAX ? jobfile_dirs[src] : "job's");
		return -1;
	}
	memset(&how, 0, sizeof(how));
	/* O_NONBLOCK: opening a FIFO must not wait for a writer. */
	how.flags = O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK;
	how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
	fd = (int)syscall(SYS_openat2, j->dirfd[src], rel, &how, sizeof(how));
	if (fd == -1) {
		jobfile_open_error(src, rel, errno, 0, permanent, err, errsz);
		return -1;
	}
	if (fstat(fd, &st) == -1) {
		jobfile_open_error(src, rel, errno, 1, permanent, err, errsz);
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		safetext_quote(rel, strlen(rel), q, sizeof(q));
		snprintf(err, errsz, "%s in the %s is not a regular file", q,
		    jobfile_dirs[src]);
		goto fail;
	}
	if (fcntl(fd, F_SETFL, 0) == -1) {
		jobfile_open_error(src, rel, errno, 1, permanent, err, errsz);
		goto fail;
	}
	*size = st.st_size;
	return fd;
fail:
	close(fd);
	return -1;
}

enum jobfile_removal
jobfile_remove(const struct jobfile *j, const char *path)
{
	struct stat	 st;
	const char	*name;
	int		 dirfd = j->dirfd[JOBFILE_UPLOAD];

	/*
	 * No spool here is not a path to refuse: the caller would record
	 * the file as dealt with while it stays.
	 */
	if (dirfd == -1) {
		errno = ENOENT;
		return JOBFILE_REMOVE_ERROR;
	}
	if ((name = jobfile_beneath(j->spool_as_given, path)) == NULL &&
	    (name = jobfile_beneath(j->spool_real, path)) == NULL)
		return JOBFILE_REFUSED;
	/* One name: "a/b" could cross a link to a directory, ".." leaves. */
	if (name[0] == '\0' || strchr(name, '/') != NULL ||
	    strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		return JOBFILE_REFUSED;
	/*
	 * A link, even one pointing inside, or anything but a regular file
	 * is not what the spool program writes: left alone.  unlinkat(2)
	 * never follows the last name, so a link swapped in after this
	 * check is itself removed, never its target.
	 */
	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0)
		return errno == ENOENT ? JOBFILE_REMOVED : JOBFILE_REMOVE_ERROR;
	if (!S_ISREG(st.st_mode))
		return JOBFILE_REFUSED;
	if (unlinkat(dirfd, name, 0) != 0 && errno != ENOENT)
		return JOBFILE_REMOVE_ERROR;
	return JOBFILE_REMOVED;
}

int
jobfile_stamp(int fd, char *buf, size_t size)
{
	struct stat	st;
	int		n;

	if (fstat(fd, &st) != 0)
		return -1;
	n = snprintf(buf, size, "%llu:%llu:%lld:%lld.%09ld",
	    (unsigned long long)st.st_dev, (unsigned long long)st.st_ino,
	    (long long)st.st_size, (long long)st.st_mtim.tv_sec,
	    st.st_mtim.tv_nsec);
	if (n < 0 || (size_t)n >= size) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}
