/*
 * tripspart.h: the job's own partition of trips (trips_job_<id>), made
 * before its COPY and indexed and attached after it, in the load
 * transaction (sql/migrations/004_partitions.sql).
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
/* Index and attach it; 0 or -1. */
int	tripspart_attach(PGconn *, int job_id);

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

#endif
