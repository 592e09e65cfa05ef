/*
 * tripspart.h: the job's own partition of trips (trips_job_<id>), made
 * before its COPY and indexed and attached after it
 * (sql/migrations/004_partitions.sql).  A whole job's table is made,
 * loaded and indexed on a connection of its own while the load
 * transaction merges the aggregates, and attached in the load
 * transaction (013_trips_index_apart.sql).
 */
#ifndef TRIPLINE_TRIPSPART_H
#define TRIPLINE_TRIPSPART_H

#include <stddef.h>

#include <libpq-fe.h>

/* Create the empty partition; 0 or -1 (the error is on the connection). */
int	tripspart_create(PGconn *, int job_id);
/*
 * The COPY statement into it (part < 0), or into the table of a part of
 * a split job; binary format, columns in table order.
 */
int	tripspart_copy_sql(char *buf, size_t size, int job_id, int part);
/* Index and attach it (indexing only if not indexed yet); 0 or -1. */
int	tripspart_attach(PGconn *, int job_id);
/*
 * Start indexing it, in the transaction that made it, without waiting:
 * 0 or -1.  The caller reads the result (PQgetResult) before the next
 * statement on that connection.
 */
int	tripspart_index_send(PGconn *, int job_id);
/* Drop it unless it is attached: after a load that did not attach it. */
int	tripspart_drop(PGconn *, int job_id);
/* Drop the unattached tables of jobs no longer running; how many, or -1. */
int	tripspart_sweep(PGconn *);

/*
 * A split job (sql/migrations/008_parts.sql): each part's table is made
 * and indexed by the runner holding the part's lease (owner) in the
 * part's transaction; the last part attaches them all as the job's
 * partition; a failed or cancelled job's parts are dropped.  0 or -1.
 */
int	tripspart_part_create(PGconn *, int job_id, int part,
	    const char *owner);
int	tripspart_part_index(PGconn *, int job_id, int part,
	    const char *owner);
int	tripspart_parts_attach(PGconn *, int job_id);
int	tripspart_parts_drop(PGconn *, int job_id);
/*
 * Drop what the parts of every ended split job left (the job ended
 * without a runner, or a part committed just after; 022_parts_sweep.sql):
 * how many jobs, or -1.
 */
int	tripspart_parts_sweep(PGconn *);

#endif
