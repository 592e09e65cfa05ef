/*
 * loader.h: load one claimed job in one transaction on the work
 * connection: the trips (binary COPY), the rejects (binary COPY), the
 * aggregates (aggregate.h), the job's final row and its 'succeeded' event
 * all commit together or not at all.
 */
#ifndef TRIPLINE_LOADER_H
#define TRIPLINE_LOADER_H

#include <signal.h>
#include <stddef.h>

#include <libpq-fe.h>

struct config;
struct dimcache;
struct runner_db_job;
struct parts_db_part;
struct runner_db_result;
struct jobfile;

/* Everything a load uses that outlives it. */
struct loader_env {
	const struct config	*cfg;
	PGconn			*work;		/* the load transaction */
	PGconn			*control;	/* lease, cancel, progress */
	PGconn			*trips;		/* a whole job's trips table */
	struct dimcache		*dims;
	const struct jobfile	*files;
	volatile sig_atomic_t	*stop;		/* SIGTERM seen */
};

enum loader_outcome {
	LOADER_DONE,		/* committed as succeeded (or a duplicate) */
	LOADER_CANCELLED,	/* rolled back: a cancel was requested */
	LOADER_LOST,		/* rolled back: the lease went to another runner */
	LOADER_STOPPED,		/* rolled back: the runner is stopping */
	LOADER_FAILED,		/* rolled back: the file cannot load, see err */
	LOADER_ERROR		/* rolled back: may work next time, see err */
};

/* Line records longer than this are rejected. */
#define LOADER_MAX_RECORD	65536

/*
 * Load the job, or with part, that part of a split job (parts_db.h).
 * Every outcome but LOADER_DONE leaves the job running with nothing
 * written: the caller ends it (runner_db_finish), or for a part ends the
 * job or gives the part back (parts_db_end_job, parts_db_release).  r
 * gets the counts so far (rows_loaded of a cancelled load, for its
 * event); a part that ended its job gets the job's.
 */
enum loader_outcome loader_run(const struct loader_env *, const struct runner_db_job *,
	    const struct parts_db_part *part, struct runner_db_result *r, char *err,
	    size_t errsz);

#endif
