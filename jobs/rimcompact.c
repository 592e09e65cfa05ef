/*
 * rimcompact.c: merging the partitions of trip_rims while the runner has
 * nothing else to do.  A box's rim reads one row per rim cell, week and
 * partition, so the fewer partitions the faster the box report
 * (sql/migrations/014_trip_rims.sql).  The merge runs on the trips
 * connection, which is idle between jobs, as one statement sent without
 * waiting: the runner keeps listening for jobs, and a claimed job first
 * cancels it.  The SQL function decides what to merge and takes an
 * advisory lock, so several runners never merge at once.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "db.h"
#include "log.h"
#include "rimcompact.h"

/* Type OID (src/include/catalog/pg_type.dat). */
#define OID_INT4	23

/* When nothing was merged, look again after this many seconds. */
#define RIMCOMPACT_RETRY	60.0

static const char compact_sql[] =
    "SELECT tripline.trip_rims_compact($1)";

struct rimcompact {
	int	 min_parts;	/* TRIPLINE_RIM_COMPACT; below 2: off */
	int	 running;	/* a statement is out on the connection */
	double	 started;	/* when it was sent */
	double	 next;		/* no new one before this */
};

static double
rimcompact_clock(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct rimcompact *
rimcompact_new(int min_parts)
{
	struct rimcompact *rc;

	if ((rc = calloc(1, sizeof(*rc))) == NULL)
		return NULL;
	rc->min_parts = min_parts;
	return rc;
}

void
rimcompact_free(struct rimcompact *rc)
{
	free(rc);
}

void
rimcompact_due(struct rimcompact *rc)
{
	if (rc != NULL)
		rc->next = 0;
}

/* Read what the statement returned; the connection is not busy. */
static void
rimcompact_finish(struct rimcompact *rc, PGconn *c)
{
	PGresult	*res;
	double		 secs = rimcompact_clock() - rc->started;

	while ((res = PQgetResult(c)) != NULL) {
		if (PQresultStatus(res) != PGRES_TUPLES_OK)
			log_warn("could not compact the rim tables: %s",
			    PQresultErrorMessage(res));
		else if (PQntuples(res) == 1 &&
		    atoi(PQgetvalue(res, 0, 0)) > 0)
			log_info("merged %s rim tables into one in %.1f s",
			    PQgetvalue(res, 0, 0), secs);
		PQclear(res);
	}
	rc->running = 0;
	rc->next = rimcompact_clock() + RIMCOMPACT_RETRY;
}

int
rimcompact_idle(struct rimcompact *rc, PGconn *c)
{
	static const Oid types[1] = { OID_INT4 };
	char		 n[16];
	const char	*vals[1] = { n };

	if (rc == NULL || c == NULL)
		return 0;
	if (rc->running) {
		if (PQconsumeInput(c) == 0) {
			rc->running = 0;
			return -1;
		}
		if (!PQisBusy(c))
			rimcompact_finish(rc, c);
		return 0;
	}
	if (rc->min_parts < 2 || rimcompact_clock() < rc->next)
		return 0;
	snprintf(n, sizeof(n), "%d", rc->min_parts);
	if (PQsendQueryParams(c, compact_sql, 1, types, vals, NULL, NULL,
	    0) != 1) {
		log_warn("could not start compacting the rim tables: %s",
		    PQerrorMessage(c));
		rc->next = rimcompact_clock() + RIMCOMPACT_RETRY;
		return -1;
	}
	rc->running = 1;
	rc->started = rimcompact_clock();
	return 0;
}

void
rimcompact_stop(struct rimcompact *rc, PGconn *c)
{
	if (rc == NULL || !rc->running || c == NULL)
		return;
	if (PQconsumeInput(c) != 0 && !PQisBusy(c))
		rimcompact_finish(rc, c);	/* it ended: say what it did */
	else if (db_cancel_wait(c) != 0)
		log_warn("could not cancel the rim compaction: it ran to its "
		    "end");
	/* A cancelled merge ends in an error; it is not worth a warning. */
	rc->running = 0;
}
