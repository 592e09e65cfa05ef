/*
 * jobfile.h: open the file of a job, and remove an ended upload's, without
 * letting jobs.path reach outside its directory.
 */
#ifndef TRIPLINE_JOBFILE_H
#define TRIPLINE_JOBFILE_H

#include <stddef.h>
#include <stdint.h>

struct jobfile;

enum jobfile_source {
	JOBFILE_UPLOAD,		/* path: absolute, inside TRIPLINE_SPOOL */
	JOBFILE_INBOX,		/* path: relative to TRIPLINE_INBOX */
	JOBFILE__MAX
};

/*
 * Open the spool and inbox directories (once, at start).  Returns NULL
 * after logging when neither can be opened.
 */
struct jobfile *jobfile_new(const char *spool_dir, const char *inbox_dir);
void	jobfile_free(struct jobfile *);

/* The source for a jobs.source value, or JOBFILE__MAX. */
enum jobfile_source jobfile_source(const char *name);

/*
 * Open a regular file for reading.  Returns the descriptor and its size,
 * or -1 with a user-facing reason in err and *permanent set to 1 when
 * trying again cannot help (no such file, outside the directory, not a
 * regular file).
 */
int	jobfile_open(const struct jobfile *, enum jobfile_source,
	    const char *path, int64_t *size, int *permanent, char *err,
	    size_t errsz);

enum jobfile_removal {
	JOBFILE_REMOVED,	/* removed, or already gone */
	JOBFILE_REFUSED,	/* not a regular file directly in the spool */
	JOBFILE_REMOVE_ERROR	/* could not remove it now (errno) */
};

/*
 * Remove an ended upload's file from the spool.  path must name a file
 * directly inside the spool directory (jobs.path of an upload: the spool
 * program writes no subdirectory); it is removed through the directory's
 * descriptor and never through a link.
 */
enum jobfile_removal jobfile_remove(const struct jobfile *, const char *path);

/*
 * The file as it is now, to tell later whether it changed: its device,
 * inode, size and modification time as text.  0, or -1 (errno).
 */
int	jobfile_stamp(int fd, char *buf, size_t size);

#endif
