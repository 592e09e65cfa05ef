/*
 * aggregate.h: the hook through which a load keeps the report aggregates
 * current.  The loader calls it inside its one load transaction, so the
 * aggregates become visible together with the trips they count.
 */
#ifndef TRIPLINE_AGGREGATE_H
#define TRIPLINE_AGGREGATE_H

#include <stdint.h>

#include <libpq-fe.h>

#include "trip.h"

struct aggregate;

/*
 * Each int function returns 0 on success and -1 on failure, which fails
 * the job (it is retried as a transient error).  Nothing here logs: the
 * reason is aggregate_error's, for the caller to report once.
 */

/*
 * Called after BEGIN, before the trips COPY; NULL on failure, with the
 * reason in err (of size errsz).  map_keys caps the keys each in-memory
 * map holds before it spills to disk.
 */
struct aggregate *aggregate_new(PGconn *work, int job_id, size_t map_keys,
	    char *err, size_t errsz);
/* Called per loaded row, while the trips COPY is open: no SQL here. */
int	aggregate_add(struct aggregate *, const struct trip *t,
	    uint64_t origin_cell, uint64_t dest_cell, int slot, int region_id,
	    int datasource_id);
/*
 * Inside the load transaction, after the trips COPY has ended: the cells,
 * regions and datasources merged into their aggregates, the groups
 * COPYed to the job's stage table (sql/migrations/017_groups_later.sql).
 */
int	aggregate_flush(struct aggregate *);
/*
 * A part of a split job, instead of aggregate_flush: its rows go to the job's
 * stage tables (agg_stage_<job>_*), not into the aggregates.  The last
 * part calls aggregate_unstage instead: the other parts' staged rows are read
 * back into its maps, the sums merged as aggregate_flush does, and the stage
 * dropped, all in its transaction.
 */
int	aggregate_stage(struct aggregate *);
int	aggregate_unstage(struct aggregate *);
/*
 * From now on, fn(arg) is asked before each COPY buffer those three send
 * and each spilled file they read back; nonzero fails them at once.  A
 * backend whose statement was cancelled swallows the rest of a COPY, and
 * libpq reports its error only at the COPY's end, so a cancel otherwise
 * waits until a map spilled to disk has been read back and sent whole.
 */
void	aggregate_interrupt_with(struct aggregate *, int (*fn)(void *),
	    void *arg);
/*
 * Why the first of these calls that failed did: "could not aggregate"
 * when none said (one interrupted, which its caller knows).
 */
const char *aggregate_error(const struct aggregate *);
void	aggregate_free(struct aggregate *);

#endif
