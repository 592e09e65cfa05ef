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
/* The COPY statement into it, binary format, columns in table order. */
int	tripspart_copy_sql(char *buf, size_t size, int job_id);
/* Index and attach it; 0 or -1. */
int	tripspart_attach(PGconn *, int job_id);

#endif
