/*
 * tripspart.c: a job's partition of trips.  Loading into a table of its
 * own with no index, then indexing it in one sorted build, is what keeps
 * the two cell indexes from costing a B-tree descent per row (see
 * sql/migrations/004_partitions.sql).  The SQL functions run as the
 * schema's owner and take only the job id.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>

#include "db.h"
#include "tripspart.h"

static const char create_sql[] =
    "SELECT tripline.trips_partition_create($1)";
static const char attach_sql[] =
    "SELECT tripline.trips_partition_attach($1)";
static const char index_sql[] =
    "SELECT tripline.trips_partition_index($1)";
static const char drop_sql[] =
    "SELECT tripline.trips_partition_drop($1)";
static const char sweep_sql[] =
    "SELECT tripline.trips_partition_sweep()";
/* The parts of a split job (sql/migrations/008_parts.sql). */
static const char part_create_sql[] =
    "SELECT tripline.trips_part_create($1, $2, $3)";
static const char part_index_sql[] =
    "SELECT tripline.trips_part_index($1, $2, $3)";
static const char parts_attach_sql[] =
    "SELECT tripline.trips_parts_attach($1)";
static const char parts_drop_sql[] =
    "SELECT tripline.trips_parts_drop($1)";
static const char parts_sweep_sql[] =
    "SELECT tripline.trips_parts_sweep()";

/*
 * Send the statement without waiting: 0 or -1.  Parameters: $1 job, and
 * for a part $2 part, $3 its lease owner.
 */
static int
tripspart_send3(PGconn *c, const char *sql, int nparams, int job_id,
    int part, const char *owner)
{
	static const Oid types[3] = { DB_OID_INT4, DB_OID_INT4, DB_OID_TEXT };
	char		 id[16], p[16];
	const char	*vals[3] = { id, p, owner };

	snprintf(id, sizeof(id), "%d", job_id);
	snprintf(p, sizeof(p), "%d", part);
	return PQsendQueryParams(c, sql, nparams, types, vals, NULL, NULL,
	    0) == 1 ? 0 : -1;
}

/* Run the statement: 0, or -1 (the error is on the connection). */
static int
tripspart_call3(PGconn *c, const char *sql, int nparams, int job_id,
    int part, const char *owner)
{
	PGresult	*res;
	int		 rc = 0;

	if (tripspart_send3(c, sql, nparams, job_id, part, owner) != 0)
		return -1;
	while ((res = PQgetResult(c)) != NULL) {
		if (PQresultStatus(res) != PGRES_TUPLES_OK)
			rc = -1;
		PQclear(res);
	}
	return rc;
}

static int
tripspart_call(PGconn *c, const char *sql, int job_id)
{
	return tripspart_call3(c, sql, 1, job_id, 0, NULL);
}

int
tripspart_create(PGconn *c, int job_id)
{
	return tripspart_call(c, create_sql, job_id);
}

int
tripspart_attach(PGconn *c, int job_id)
{
	return tripspart_call(c, attach_sql, job_id);
}

int
tripspart_index_send(PGconn *c, int job_id)
{
	return tripspart_send3(c, index_sql, 1, job_id, 0, NULL);
}

int
tripspart_drop(PGconn *c, int job_id)
{
	return tripspart_call(c, drop_sql, job_id);
}

/* A statement that returns a count: it, or -1. */
static int
tripspart_count(PGconn *c, const char *sql)
{
	PGresult	*res;
	int		 n = -1;

	res = PQexec(c, sql);
	if (PQresultStatus(res) != PGRES_TUPLES_OK ||
	    db_get_int(res, 0, 0, 0, INT_MAX, &n) != 0)
		n = -1;
	PQclear(res);
	return n;
}

int
tripspart_sweep(PGconn *c)
{
	return tripspart_count(c, sweep_sql);
}

int
tripspart_part_create(PGconn *c, int job_id, int part, const char *owner)
{
	return tripspart_call3(c, part_create_sql, 3, job_id, part, owner);
}

int
tripspart_part_index(PGconn *c, int job_id, int part, const char *owner)
{
	return tripspart_call3(c, part_index_sql, 3, job_id, part, owner);
}

int
tripspart_parts_attach(PGconn *c, int job_id)
{
	return tripspart_call(c, parts_attach_sql, job_id);
}

int
tripspart_parts_drop(PGconn *c, int job_id)
{
	return tripspart_call(c, parts_drop_sql, job_id);
}

int
tripspart_parts_sweep(PGconn *c)
{
	return tripspart_count(c, parts_sweep_sql);
}

/*
 * COPY takes no parameter for its table: the name is made from the job
 * id, an integer the database gave us, exactly as the SQL function names
 * the table (format('trips_job_%s', id)).  FREEZE: the table was created
 * in this transaction, so its rows can be written frozen and its pages
 * marked all-visible at once; otherwise the first reader or VACUUM
 * rewrites every page of the job to set hint bits and freeze (PostgreSQL
 * docs, COPY, the FREEZE option).  Its one departure from MVCC, that a
 * transaction whose snapshot predates our commit may see the rows, is
 * the same as seeing the partition, which catalog lookups already do.
 */
int
tripspart_copy_sql(char *buf, size_t size, int job_id, int part)
{
	char	 table[48];
	int	 n;

	if (part < 0)
		n = snprintf(table, sizeof(table), "trips_job_%d", job_id);
	else
		n = snprintf(table, sizeof(table), "trips_job_%d_p%d", job_id,
		    part);
	if (n < 0 || (size_t)n >= sizeof(table))
		return -1;
	n = snprintf(buf, size, "COPY tripline.%s (origin_lon, "
	    "origin_lat, dest_lon, dest_lat, ts, origin_cell, dest_cell, "
	    "job_id, region_id, datasource_id, part) FROM STDIN "
	    "(FORMAT binary, FREEZE)", table);
	return n < 0 || (size_t)n >= size ? -1 : 0;
}
