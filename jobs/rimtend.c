/*
 * rimtend.c: the upkeep of the reports' tables while the runner has
 * nothing else to do: a loaded job's groups merged into trip_groups
 * (sql/migrations/017_groups_later.sql), rim tables built and merged.
 * A box's rim is counted from each job's rim table, and read from
 * the trips of a job that has none yet; the fewer tables the faster
 * (sql/migrations/014_trip_rims.sql, 015_rims_both_ends.sql).  Each step
 * (one job's table built, or tables merged) runs on the trips
 * connection, which is idle between jobs, as one statement sent without
 * waiting: the runner keeps listening for jobs, and a claimed job first
 * cancels it.  The SQL function decides what to do and takes an
 * advisory lock, so several runners never tend the rims at once.
 */
#include <stdio.h>
#include <stdlib.h>

#include "db.h"
#include "log.h"
#include "monoclock.h"
#include "rimtend.h"

/* When there was nothing to do, look again after this many seconds. */
#define RIMTEND_RETRY	60.0

static const char tend_sql[] =
    "SELECT tripline.trip_rims_tend($1)";
/* A job's groups or rim table pending for longer than $1 seconds. */
static const char overdue_sql[] =
    "SELECT EXISTS (SELECT FROM tripline.trip_rims_pending "
    "WHERE since < now() - $1::integer * interval '1 second') "
    "OR EXISTS (SELECT FROM tripline.groups_pending "
    "WHERE since < now() - $1::integer * interval '1 second')";

struct rimtend {
	int	 min_parts;	/* TRIPLINE_RIM_COMPACT; 0: off */
	int	 lag;		/* TRIPLINE_RIM_LAG, seconds; 0: no limit */
	int	 running;	/* a statement is out on the connection */
	int	 overdue;	/* it builds a table that waited too long */
	double	 started;	/* when it was sent */
	double	 next;		/* no new one before this */
};

struct rimtend *
rimtend_new(int min_parts, int lag)
{
	struct rimtend *rt;

	if ((rt = calloc(1, sizeof(*rt))) == NULL)
		return NULL;
	rt->min_parts = min_parts;
	rt->lag = lag;
	return rt;
}

void
rimtend_free(struct rimtend *rt)
{
	free(rt);
}

void
rimtend_due(struct rimtend *rt)
{
	if (rt != NULL)
		rt->next = 0;
}

int
rimtend_socket(const struct rimtend *rt, PGconn *c)
{
	if (rt == NULL || c == NULL || !rt->running ||
	    PQconsumeInput(c) == 0 || !PQisBusy(c))
		return -1;
	return PQsocket(c);
}

/*
 * Read what the step returned; the connection is not busy.  A step that
 * did something is followed by the next at once, until none is left.
 */
static void
rimtend_finish(struct rimtend *rt, PGconn *c)
{
	PGresult	*res;
	double		 secs = monoclock_seconds() - rt->started;
	int		 did = 0;

	while ((res = PQgetResult(c)) != NULL) {
		if (PQresultStatus(res) != PGRES_TUPLES_OK)
			log_warn("could not tend the rim tables: %s",
			    PQresultErrorMessage(res));
		else if (PQntuples(res) == 1 && !PQgetisnull(res, 0, 0)) {
			log_info("%s in %.1f s", PQgetvalue(res, 0, 0), secs);
			did = 1;
		}
		PQclear(res);
	}
	rt->running = 0;
	rt->overdue = 0;
	rt->next = did ? 0 : monoclock_seconds() + RIMTEND_RETRY;
}

/* Send one step: tend(min_parts); 0 builds and never merges. */
static int
rimtend_send(struct rimtend *rt, PGconn *c, int min_parts)
{
	static const Oid types[1] = { DB_OID_INT4 };
	char		 n[16];
	const char	*vals[1] = { n };

	snprintf(n, sizeof(n), "%d", min_parts);
	if (PQsendQueryParams(c, tend_sql, 1, types, vals, NULL, NULL,
	    0) != 1) {
		log_warn("could not start tending the rim tables: %s",
		    PQerrorMessage(c));
		rt->next = monoclock_seconds() + RIMTEND_RETRY;
		return -1;
	}
	rt->running = 1;
	rt->started = monoclock_seconds();
	return 1;
}

/* A running step: 1 while it runs, 0 once it ended, -1 if c broke. */
static int
rimtend_poll(struct rimtend *rt, PGconn *c)
{
	if (PQconsumeInput(c) == 0) {
		rt->running = 0;
		rt->overdue = 0;
		return -1;
	}
	if (PQisBusy(c))
		return 1;
	rimtend_finish(rt, c);
	return 0;
}

int
rimtend_idle(struct rimtend *rt, PGconn *c)
{
	int r;

	if (rt == NULL || c == NULL)
		return 0;
	if (rt->running && (r = rimtend_poll(rt, c)) != 0)
		return r;
	if (rt->min_parts < 1 || monoclock_seconds() < rt->next)
		return 0;
	return rimtend_send(rt, c, rt->min_parts);
}

int
rimtend_hold(struct rimtend *rt, PGconn *work, PGconn *c)
{
	static const Oid types[1] = { DB_OID_INT4 };
	char		 n[16];
	const char	*vals[1] = { n };
	PGresult	*res;
	int		 r, late;

	if (rt == NULL || work == NULL || c == NULL || rt->min_parts < 1 ||
	    rt->lag < 1)
		return 0;
	if (rt->running) {
		if (!rt->overdue)
			return 0;	/* an idle moment's step: a job ends it */
		if ((r = rimtend_poll(rt, c)) != 0)
			return r;
	}
	if (monoclock_seconds() < rt->next)
		return 0;
	snprintf(n, sizeof(n), "%d", rt->lag);
	res = PQexecParams(work, overdue_sql, 1, types, vals, NULL, NULL, 0);
	late = PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1 &&
	    PQgetvalue(res, 0, 0)[0] == 't';
	if (PQresultStatus(res) != PGRES_TUPLES_OK)
		log_warn("could not look for late upkeep: %s",
		    PQresultErrorMessage(res));
	PQclear(res);
	if (!late)
		return 0;
	log_info("a job's groups or rim table waited more than %d s for an "
	    "idle moment: done before the next job", rt->lag);
	if ((r = rimtend_send(rt, c, 0)) > 0)
		rt->overdue = 1;
	return r;
}

void
rimtend_stop(struct rimtend *rt, PGconn *c)
{
	if (rt == NULL || !rt->running || c == NULL)
		return;
	if (PQconsumeInput(c) != 0 && !PQisBusy(c))
		rimtend_finish(rt, c);	/* it ended: say what it did */
	else if (db_cancel_wait(c) != 0)
		log_warn("could not cancel the rim tables' upkeep: it ran to "
		    "its end");
	/* A cancelled step ends in an error; it is not worth a warning. */
	rt->running = 0;
	rt->overdue = 0;
}
