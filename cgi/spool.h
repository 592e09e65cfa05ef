/*
 * spool.h: an upload's file in TRIPLINE_SPOOL, written while it streams
 * in, with its SHA-256 and byte count.
 *
 * The bytes go to a temporary ".upload-XXXXXX" (mkstemp), which no job
 * names.  spool_commit syncs it and renames it to a unique final name
 * "upload-XXXXXX.csv" (created empty first with mkstemps, so no other
 * upload's file is ever replaced), then syncs the directory.  Only then
 * is the job row inserted with that final path, so a crash leaves at
 * worst a spool file without a job, never a queued job without its file
 * (the web role may not UPDATE jobs.path, so the name cannot come from
 * the job id).  spool_free removes whichever file exists unless
 * spool_keep said the job now owns it: a failed upload leaves nothing.
 */
#ifndef TRIPLINE_SPOOL_H
#define TRIPLINE_SPOOL_H

#include <stddef.h>
#include <stdint.h>

#include "digest.h"

struct spool;

/* A new temporary file in dir, or NULL after logging. */
struct spool *spool_new(const char *dir);

/* Append bytes; 0, or an errno value (ENOSPC, ...) after logging. */
int	spool_write(struct spool *, const void *buf, size_t len);

int64_t	spool_bytes(const struct spool *);

/*
 * Sync and move to the final name; the absolute path and the lower-case
 * hex SHA-256 are then available.  0, or -1 after logging.
 */
int	spool_commit(struct spool *);
const char *spool_path(const struct spool *);
const char *spool_sha256(const struct spool *);

/* The job row now names the file: spool_free leaves it. */
void	spool_keep(struct spool *);

/* Close, and remove the file unless kept. */
void	spool_free(struct spool *);

#endif
