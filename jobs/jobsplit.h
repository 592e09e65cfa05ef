/*
 * jobsplit.h: split a claimed large job into parts for several runners
 * (docs/architecture.md, "Split jobs").  One read of the file: its
 * SHA-256 checked against the job's, its cut points found (split.h);
 * then the parts are written and the job handed over to them
 * (parts_db_split).
 */
#ifndef TRIPLINE_JOBSPLIT_H
#define TRIPLINE_JOBSPLIT_H

#include <stddef.h>

#include "loader.h"

struct runner_db_job;

/*
 * LOADER_DONE with *split 1: the job now runs as parts; with *split 0:
 * the file is not to be split, load it whole.  Any other outcome as
 * loader_run's, the job still ours and running.
 */
enum loader_outcome jobsplit_run(const struct loader_env *,
	    const struct runner_db_job *, int *split, char *err, size_t errsz);

#endif
