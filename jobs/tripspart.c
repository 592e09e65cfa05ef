/*
 * tripspart.c: a job's partition of trips.  Loading into a table of its
 * own with no index, then indexing it in one sorted build, is what keeps
 * the two cell indexes from costing a B-tree descent per row (see
 * sql/migrations/004_partitions.sql).  The SQL functions run as the
 * schema's owner and take only the job id.
 */
#include <stdio.h>

#include "tripspart.h"

/* Type OID of int4 (src/include/catalog/pg_type.dat). */
#define OID_INT4	23

static const char create_sql[] =
    "SELECT tripline.trips_partition_create($1)";
static const char attach_sql[] =
    "SELECT tripline.trips_partition_attach($1)";

static int
tripspart_call(PGconn *c, const char *sql, int job_id)
{
	const Oid	 type = OID_INT4;
	char		 id[16];
	const char	*val = id;
	PGresult	*res;
	int		 rc;

	snprintf(id, sizeof(id), "%d", job_id);
	res = PQexecParams(c, sql, 1, &type, &val, NULL, NULL, 0);
	rc = PQresultStatus(res) == PGRES_TUPLES_OK ? 0 : -1;
	PQclear(res);
	return rc;
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
tripspart_copy_sql(char *buf, size_t size, int job_id)
{
	int n;

	n = snprintf(buf, size, "COPY tripline.trips_job_%d (origin_lon, "
	    "origin_lat, dest_lon, dest_lat, ts, origin_cell, dest_cell, "
	    "job_id, region_id, datasource_id) FROM STDIN "
	    "(FORMAT binary, FREEZE)", job_id);
	return n < 0 || (size_t)n >= size ? -1 : 0;
}
