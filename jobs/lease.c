/*
 * lease.c: the control thread.  It never touches the load transaction's
 * connection: a PGconn is not safe to share between threads (libpq docs,
 * "Behavior in Threaded Programs").
 */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "config.h"
#include "db.h"
#include "jobstate.h"
#include "lease.h"
#include "log.h"
#include "monoclock.h"
#include "parts_db.h"
#include "runner_db.h"
#include "runner_event.h"

struct lease {
	pthread_t		 thread;
	pthread_mutex_t		 mu;
	pthread_cond_t		 cv;
	int			 stop;		/* under mu */
	_Atomic int		 cancelled;
	_Atomic int		 lost;
	PGconn			*conn;
	PGcancel		*work;		/* the load's connection */
	int			 interrupted;	/* work was cancelled once */
	volatile sig_atomic_t	*sigterm;	/* the runner is stopping */
	const struct runner_db_job	*job;
	const struct parts_db_part	*part;		/* NULL: the whole job */
	struct lease_counters	*ctr;
	int			 lease_seconds;
	char			 id[16], attempt[16], secs[16], partno[16];
};

/* jobs.phase and job_parts.phase (028_job_phase.sql), the events' phase. */
static const char *const lease_phase_names[LEASE_PHASE__MAX] = {
	"splitting",		/* LEASE_PHASE_SPLITTING */
	"reading",		/* LEASE_PHASE_READING */
	"indexing",		/* LEASE_PHASE_INDEXING */
	"aggregating",		/* LEASE_PHASE_AGGREGATING */
	"merging",		/* LEASE_PHASE_MERGING */
};

enum lease_task {
	LEASE_TASK_CANCEL,
	LEASE_TASK_EXTEND,
	LEASE_TASK_PROGRESS,
	LEASE_TASK__MAX
};

/*
 * A split job's progress event at most this often, whichever of its
 * parts' runners sends it (lease_sum_sql): a little under
 * LEASE_PROGRESS_MS, so that one runner's steps are never skipped.
 */
#define LEASE_PACE_MS		(LEASE_PROGRESS_MS * 9 / 10)

enum lease_mode {
	LEASE_MODE_JOB,		/* a job loaded whole, or being split */
	LEASE_MODE_PART,	/* a part of a split job (parts_db.h) */
	LEASE_MODE__MAX
};

/*
 * The queries of the tasks; each returns the job's cancel flag, or no
 * row when the job (the part) is no longer ours.  Parameters: $1 id, $2
 * owner, $3 attempt, $4 lease seconds, $5 bytes read; for a part, $6
 * the part; $7 rows loaded, $8 rows rejected, $9 the phase.  A part's
 * job that ended (another part failed it) counts as cancelled.
 *
 * The progress task writes the counts and the phase, committed at once,
 * under the same guard as the lease's extension: a runner that lost the
 * job (the part) writes nothing.  A job's row thus shows them for GET
 * /api/jobs/{id} as its progress events do (a split job's, summed from
 * its parts by lease_sum_sql).  The end writes the exact counts.
 */
static const struct {
	const char	*sql;
	int		 nparams;
} lease_sql[LEASE_MODE__MAX][LEASE_TASK__MAX] = {
	{ /* LEASE_MODE_JOB */
	{ "SELECT cancel_requested FROM tripline.jobs WHERE id = $1 "
	  "AND lease_owner = $2 AND attempts = $3 AND state = 'running'",
	  3 },			/* LEASE_TASK_CANCEL */
	{ "UPDATE tripline.jobs SET "
	  "lease_until = now() + $4 * interval '1 second' "
	  "WHERE id = $1 AND lease_owner = $2 AND attempts = $3 "
	  "AND state = 'running' RETURNING cancel_requested",
	  4 },			/* LEASE_TASK_EXTEND */
	{ "UPDATE tripline.jobs SET "
	  "rows_loaded = $7, rows_rejected = $8, bytes_read = $5, phase = $9, "
	  "progress_at = statement_timestamp() "
	  "WHERE id = $1 AND lease_owner = $2 AND attempts = $3 "
	  "AND state = 'running' RETURNING cancel_requested",
	  9 },			/* LEASE_TASK_PROGRESS */
	},
	{ /* LEASE_MODE_PART */
	{ "SELECT j.cancel_requested OR j.state <> 'running' "
	  "FROM tripline.job_parts p JOIN tripline.jobs j ON j.id = p.job_id "
	  "WHERE p.job_id = $1 AND p.part = $6 AND p.lease_owner = $2 "
	  "AND p.attempts = $3 AND p.state = 'running'",
	  6 },			/* LEASE_TASK_CANCEL */
	{ "UPDATE tripline.job_parts p SET "
	  "lease_until = now() + $4 * interval '1 second' "
	  "WHERE p.job_id = $1 AND p.part = $6 AND p.lease_owner = $2 "
	  "AND p.attempts = $3 AND p.state = 'running' "
	  "RETURNING (SELECT j.cancel_requested OR j.state <> 'running' "
	  "FROM tripline.jobs j WHERE j.id = $1)",
	  6 },			/* LEASE_TASK_EXTEND */
	/* The part's counts: the job's are their sum (lease_sum_sql). */
	{ "UPDATE tripline.job_parts p SET "
	  "rows_loaded = $7, rows_rejected = $8, bytes_read = $5, phase = $9 "
	  "WHERE p.job_id = $1 AND p.part = $6 AND p.lease_owner = $2 "
	  "AND p.attempts = $3 AND p.state = 'running' "
	  "RETURNING (SELECT j.cancel_requested OR j.state <> 'running' "
	  "FROM tripline.jobs j WHERE j.id = $1)",
	  9 },			/* LEASE_TASK_PROGRESS */
	},
};

/* The types of $1 .. $9: given, so that a query may leave some unused. */
static const Oid lease_types[9] = { DB_OID_INT4, DB_OID_TEXT, DB_OID_INT4,
    DB_OID_INT4, DB_OID_INT8, DB_OID_INT4, DB_OID_INT8, DB_OID_INT8,
    DB_OID_TEXT };

/*
 * A split job's counts: the sums of its parts' as last recorded (a
 * loaded part's are exact, a queued one's 0), and its phase: the least
 * advanced of its parts not yet loaded, in the order of $2 (the phases'
 * names), a part that reported none (queued, just claimed) counting as
 * $3 (reading).  Written to the job's row while it is split and
 * running, after the part's own.
 *
 * Several parts write it: each in a short transaction that first locks
 * the job's row (lease_sum_lock_sql), then sums in a statement of its
 * own, whose snapshot is taken once the lock is held (READ COMMITTED,
 * PostgreSQL docs 13.2.1), then writes its event.  In one statement the
 * sums would be read before waiting for the row, and a part that waited
 * behind another would write older sums over newer ones; and the events
 * of two parts could come in the other order than their sums.  It locks
 * the job's row and no part's, so it never waits in a cycle with an end
 * of the job, which locks the job's row and then deletes the parts
 * (parts_db.c).
 *
 * Each part's runner sums every LEASE_PROGRESS_MS, but the job's event
 * is sent only when the last one is $4 ms old (LEASE_PACE_MS): with two
 * runners it came twice as often, the second a few ms after the first
 * (sql/migrations/031_progress_pace.sql).  The time is the statement's
 * start, after the wait for the row lock (the transaction's, now(), would
 * count the wait as time passed); the event's created_at is the moment it
 * is written, a few ms later (runner_event.c).  A progress_at ahead of it
 * (the clock set back) is taken as old.
 */
static const char lease_sum_lock_sql[] =
    "SELECT FROM tripline.jobs WHERE id = $1 FOR NO KEY UPDATE";
static const char lease_sum_sql[] =
    "UPDATE tripline.jobs j SET rows_loaded = s.rows, "
    "rows_rejected = s.rej, bytes_read = s.bytes, phase = s.phase, "
    "progress_at = CASE WHEN j.progress_at IS NULL OR j.progress_at <= "
    "statement_timestamp() - $4 * interval '1 millisecond' "
    "OR j.progress_at > statement_timestamp() "
    "THEN statement_timestamp() ELSE j.progress_at END "
    "FROM (SELECT coalesce(sum(rows_loaded), 0) AS rows, "
    "coalesce(sum(rows_rejected), 0) AS rej, "
    "coalesce(sum(bytes_read), 0) AS bytes, "
    "($2::text[])[min(array_position($2::text[], coalesce(phase, $3))) "
    "FILTER (WHERE state <> 'loaded')] AS phase "
    "FROM tripline.job_parts WHERE job_id = $1) AS s "
    "WHERE j.id = $1 AND j.state = 'running' "
    "AND j.lease_owner = '" PARTS_DB_OWNER "' "
    "RETURNING j.rows_loaded, j.rows_rejected, j.bytes_read, j.phase, "
    "j.progress_at = statement_timestamp()";

/* The counts as the loader last published them: one reading for all. */
struct lease_snap {
	uint64_t		rows_loaded;
	uint64_t		rows_rejected;
	uint64_t		bytes_read;
	enum lease_phase	phase;	/* LEASE_PHASE__MAX: none */
};

void
lease_counters_init(struct lease_counters *c, enum lease_phase p)
{
	atomic_init(&c->rows_loaded, 0);
	atomic_init(&c->rows_rejected, 0);
	atomic_init(&c->bytes_read, 0);
	atomic_init(&c->phase, (int)p);
}

void
lease_counters_phase(struct lease_counters *c, enum lease_phase p)
{
	atomic_store_explicit(&c->phase, (int)p, memory_order_relaxed);
}

/* The phase named name; LEASE_PHASE__MAX for none (NULL) or another. */
static enum lease_phase
lease_phase_named(const char *name)
{
	int p;

	for (p = 0; p < LEASE_PHASE__MAX && name != NULL; p++)
		if (strcmp(name, lease_phase_names[p]) == 0)
			return (enum lease_phase)p;
	return LEASE_PHASE__MAX;
}

/* The phase's name, NULL for none. */
static const char *
lease_phase_name(enum lease_phase p)
{
	return p < LEASE_PHASE__MAX ? lease_phase_names[p] : NULL;
}

/* Keep the connection usable: a broken one is reset before next use. */
static void
lease_conn_check(PGconn *c, int job_id)
{
	if (PQstatus(c) != CONNECTION_OK) {
		log_warn("job %d: control connection lost, reconnecting",
		    job_id);
		PQreset(c);
	}
}

static void
lease_snap(const struct lease *l, struct lease_snap *s)
{
	s->rows_loaded = atomic_load_explicit(&l->ctr->rows_loaded,
	    memory_order_relaxed);
	s->rows_rejected = atomic_load_explicit(&l->ctr->rows_rejected,
	    memory_order_relaxed);
	s->bytes_read = atomic_load_explicit(&l->ctr->bytes_read,
	    memory_order_relaxed);
	s->phase = (enum lease_phase)atomic_load_explicit(&l->ctr->phase,
	    memory_order_relaxed);
}

/*
 * Run a one-row query about the job, with the counts of s: 1 and the
 * cancel flag in *cancel when the job is still ours, 0 when it is not,
 * -1 on error.
 */
static int
lease_query(struct lease *l, enum lease_task t, const struct lease_snap *s,
    int *cancel)
{
	char		 bytes[24], rows[24], rej[24];
	const char	*vals[9] = { l->id, l->part != NULL ? l->part->owner :
	    l->job->owner, l->attempt, l->secs, bytes, l->partno, rows, rej,
	    lease_phase_name(s->phase) };
	enum lease_mode	 m = l->part != NULL ? LEASE_MODE_PART : LEASE_MODE_JOB;
	PGresult	*res;
	int		 rc = -1;

	snprintf(bytes, sizeof(bytes), "%llu",
	    (unsigned long long)s->bytes_read);
	snprintf(rows, sizeof(rows), "%llu",
	    (unsigned long long)s->rows_loaded);
	snprintf(rej, sizeof(rej), "%llu",
	    (unsigned long long)s->rows_rejected);
	res = PQexecParams(l->conn, lease_sql[m][t].sql, lease_sql[m][t].nparams,
	    lease_types, vals, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		log_warn("job %d: control query failed: %s", l->job->id,
		    PQerrorMessage(l->conn));
	} else if (PQntuples(res) == 1) {
		*cancel = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
		rc = 1;
	} else
		rc = 0;
	PQclear(res);
	return rc;
}

/* The phases' names in their order as a text[] literal: {a,b,...}. */
static void
lease_phases(char *buf, size_t size)
{
	size_t	n = 0;
	int	p;

	for (p = 0; p < LEASE_PHASE__MAX && n < size; p++)
		n += (size_t)snprintf(buf + n, size - n, "%c%s",
		    p == 0 ? '{' : ',', lease_phase_names[p]);
	if (n < size)
		snprintf(buf + n, size - n, "}");
}

/*
 * Sum job_id's parts into its row (lease_sum_sql): the result, NULL
 * (logged) when the statement failed.
 */
static PGresult *
lease_sum_exec(PGconn *c, int job_id)
{
	char		 id[16], pace[16], phases[96];
	const char	*vals[4] = { id, phases,
	    lease_phase_names[LEASE_PHASE_READING], pace };
	PGresult	*res;

	snprintf(id, sizeof(id), "%d", job_id);
	snprintf(pace, sizeof(pace), "%d", LEASE_PACE_MS);
	lease_phases(phases, sizeof(phases));
	res = PQexecParams(c, lease_sum_sql, 4, NULL, vals, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		log_warn("job %d: could not sum its parts' counts: %s", job_id,
		    PQerrorMessage(c));
		PQclear(res);
		res = NULL;
	}
	return res;
}

/*
 * A split job's counts and phase, summed from its parts into its row: 1
 * with them in *s, 0 when the job no longer runs split, -1 on error.
 * *due says whether its progress event is to be sent now.
 */
static int
lease_sum(PGconn *c, int job_id, struct lease_snap *s, int *due)
{
	PGresult	*res;
	uint64_t	 n[3];
	int		 rc = -1;

	if ((res = lease_sum_exec(c, job_id)) == NULL)
		return -1;
	if (PQntuples(res) == 1 && db_get_counts(res, 0, 0, 3, n) != 0) {
		log_warn("job %d: its parts' counts are not numbers",
		    job_id);
	} else if (PQntuples(res) == 1) {
		s->rows_loaded = n[0];
		s->rows_rejected = n[1];
		s->bytes_read = n[2];
		s->phase = lease_phase_named(PQgetisnull(res, 0, 3) ? NULL :
		    PQgetvalue(res, 0, 3));
		*due = strcmp(PQgetvalue(res, 0, 4), "t") == 0;
		rc = 1;
	} else
		rc = 0;
	PQclear(res);
	return rc;
}

/* A number rounded to tenths. */
static struct json_object *
lease_tenths(double v)
{
	return runner_event_number(round(v * 10) / 10);
}

/*
 * The progress event of the job's counts s (a split job's: summed).
 * percent and eta_s are about the reading: after it, the time the other
 * phases take is not estimated (eta_s null), the phase says which runs.
 */
static void
lease_progress(PGconn *c, const struct runner_db_job *job,
    const struct lease_snap *s)
{
	struct json_object	*o;
	double			 secs, total, pct, bytes;

	secs = runner_db_elapsed(&job->t0);
	total = (double)job->bytes;
	bytes = (double)s->bytes_read;
	pct = total > 0 ? 100.0 * bytes / total : 0;
	if (pct > 100)
		pct = 100;
	o = json_object_new_object();
	json_object_object_add(o, "job", json_object_new_int(job->id));
	json_object_object_add(o, "rows_loaded",
	    json_object_new_int64((int64_t)s->rows_loaded));
	json_object_object_add(o, "rows_rejected",
	    json_object_new_int64((int64_t)s->rows_rejected));
	json_object_object_add(o, "bytes_read",
	    json_object_new_int64((int64_t)s->bytes_read));
	json_object_object_add(o, "bytes_total",
	    json_object_new_int64(job->bytes));
	json_object_object_add(o, "percent", lease_tenths(pct));
	json_object_object_add(o, "rows_per_s", json_object_new_int64(
	    secs > 0 ? (int64_t)((double)(s->rows_loaded + s->rows_rejected) /
	    secs) : 0));
	/*
	 * Unknown (null) until some bytes are read, and once the last is
	 * (still "reading" while its rows go in): not 0, which would say
	 * the load ends now.
	 */
	json_object_object_add(o, "eta_s", s->phase == LEASE_PHASE_READING &&
	    bytes > 0 && total > bytes ?
	    lease_tenths(secs * (total - bytes) / bytes) : NULL);
	json_object_object_add(o, "phase", lease_phase_name(s->phase) != NULL ?
	    json_object_new_string(lease_phase_name(s->phase)) : NULL);
	if (runner_event_emit(c, job->id, JOB_EVENT_PROGRESS, o) != 0)
		lease_conn_check(c, job->id);
}

/*
 * Cancel the statement the loader is waiting for.  PQcancel is meant for
 * use from another thread (libpq docs, "Canceling Queries in Progress");
 * a backend reading the next command ignores it, so a cancel that came
 * between two statements did nothing: it is sent again at each cancel
 * check (LEASE_CANCEL_MS) until the loader stops the thread.  A failure
 * is logged once.
 */
static void
lease_interrupt(struct lease *l)
{
	char err[256];

	if (l->work == NULL)
		return;
	if (PQcancel(l->work, err, sizeof(err)) == 0 && !l->interrupted)
		log_warn("job %d: could not cancel the load: %s", l->job->id,
		    err);
	l->interrupted = 1;
}

/*
 * A split job's counts summed into its row, then its progress event, in
 * one transaction under the job's row lock (lease_sum_sql).
 */
static void
lease_sum_progress(PGconn *c, const struct runner_db_job *job)
{
	struct lease_snap	 s;
	int			 r = -1, due = 0;

	if (runner_db_command(c, "BEGIN") != 0 ||
	    lease_sum_lock(c, job->id) != 0)
		goto out;
	if ((r = lease_sum(c, job->id, &s, &due)) == 1 && due)
		lease_progress(c, job, &s);
out:
	if (r < 0 || runner_db_commit(c, NULL, 0) != 0) {
		runner_db_command(c, "ROLLBACK");
		lease_conn_check(c, job->id);
	}
}

/*
 * Every task is a query about the job (the progress task's writes its
 * counts); while the job is ours, the progress task then writes its
 * event, with a split job's counts summed first.
 */
static void
lease_task(struct lease *l, enum lease_task t)
{
	struct lease_snap	 s;
	int			 cancel = 0, r;

	lease_snap(l, &s);
	r = lease_query(l, t, &s, &cancel);
	if (r < 0)
		lease_conn_check(l->conn, l->job->id);
	if (r == 0 && !atomic_exchange(&l->lost, 1))
		log_warn("job %d: lease lost", l->job->id);
	if (r == 1 && cancel && !atomic_exchange(&l->cancelled, 1))
		log_info("job %d: cancel requested", l->job->id);
	if (r == 1 && t == LEASE_TASK_PROGRESS) {
		if (l->part != NULL)
			lease_sum_progress(l->conn, l->job);
		else
			lease_progress(l->conn, l->job, &s);
	}
	if (lease_interrupts(l) && (t == LEASE_TASK_CANCEL || !l->interrupted))
		lease_interrupt(l);
}

static void *
lease_main(void *arg)
{
	struct lease	*l = arg;
	int64_t		 period[LEASE_TASK__MAX], due[LEASE_TASK__MAX];
	int64_t		 now, next;
	struct timespec	 ts;
	int		 t, stop;

	period[LEASE_TASK_CANCEL] = LEASE_CANCEL_MS;
	period[LEASE_TASK_EXTEND] = l->lease_seconds * 1000 / 3;
	period[LEASE_TASK_PROGRESS] = LEASE_PROGRESS_MS;
	now = monoclock_ms();
	for (t = 0; t < LEASE_TASK__MAX; t++)
		due[t] = now + period[t];
	for (;;) {
		next = due[0];
		for (t = 1; t < LEASE_TASK__MAX; t++)
			if (due[t] < next)
				next = due[t];
		/* Wait on CLOCK_MONOTONIC (see lease_start) until next. */
		clock_gettime(CLOCK_MONOTONIC, &ts);
		now = monoclock_ms();
		if (next > now) {
			ts.tv_sec += (next - now) / 1000;
			ts.tv_nsec += ((next - now) % 1000) * 1000000;
			if (ts.tv_nsec >= 1000000000) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000;
			}
		}
		pthread_mutex_lock(&l->mu);
		while (!l->stop && next > monoclock_ms())
			if (pthread_cond_timedwait(&l->cv, &l->mu, &ts) ==
			    ETIMEDOUT)
				break;
		stop = l->stop;
		pthread_mutex_unlock(&l->mu);
		if (stop)
			break;
		now = monoclock_ms();
		for (t = 0; t < LEASE_TASK__MAX; t++)
			if (due[t] <= now) {
				lease_task(l, (enum lease_task)t);
				due[t] = monoclock_ms() + period[t];
			}
	}
	return NULL;
}

int
lease_sum_lock(PGconn *c, int job_id)
{
	char		 id[16];
	const char	*vals[1] = { id };
	PGresult	*res;
	int		 rc = 0;

	snprintf(id, sizeof(id), "%d", job_id);
	res = PQexecParams(c, lease_sum_lock_sql, 1, NULL, vals, NULL, NULL,
	    0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		log_warn("job %d: could not lock it to sum its parts' counts: "
		    "%s", job_id, PQerrorMessage(c));
		rc = -1;
	}
	PQclear(res);
	return rc;
}

void
lease_part_loaded(PGconn *c, const struct runner_db_job *job)
{
	lease_sum_progress(c, job);
}

int
lease_sum_write(PGconn *c, int job_id)
{
	PGresult	*res;
	int		 rc = 0;

	if ((res = lease_sum_exec(c, job_id)) == NULL)
		rc = -1;
	PQclear(res);
	return rc;
}

/* What lease_start made, once its thread is gone or never was. */
static void
lease_free(struct lease *l)
{
	pthread_cond_destroy(&l->cv);
	pthread_mutex_destroy(&l->mu);
	PQfreeCancel(l->work);
	free(l);
}

struct lease *
lease_start(const struct config *cfg, PGconn *conn, PGconn *work,
    volatile sig_atomic_t *stop, const struct runner_db_job *job,
    const struct parts_db_part *part, struct lease_counters *ctr)
{
	struct lease		*l;
	pthread_condattr_t	 ca;
	sigset_t		 all, old;
	int			 e;

	if ((l = calloc(1, sizeof(*l))) == NULL)
		return NULL;		/* errno ENOMEM */
	l->conn = conn;
	l->work = PQgetCancel(work);
	l->sigterm = stop;
	l->job = job;
	l->part = part;
	l->ctr = ctr;
	l->lease_seconds = cfg->lease_seconds;
	snprintf(l->id, sizeof(l->id), "%d", job->id);
	snprintf(l->attempt, sizeof(l->attempt), "%d",
	    part != NULL ? part->attempt : job->attempt);
	snprintf(l->partno, sizeof(l->partno), "%d",
	    part != NULL ? part->part : 0);
	snprintf(l->secs, sizeof(l->secs), "%d", cfg->lease_seconds);
	pthread_mutex_init(&l->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&l->cv, &ca);
	pthread_condattr_destroy(&ca);
	/* Signals are for the main thread: the new thread blocks them all. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	e = pthread_create(&l->thread, NULL, lease_main, l);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (e != 0) {
		lease_free(l);
		errno = e;
		return NULL;
	}
	return l;
}

void
lease_stop(struct lease *l)
{
	if (l == NULL)
		return;
	pthread_mutex_lock(&l->mu);
	l->stop = 1;
	pthread_cond_signal(&l->cv);
	pthread_mutex_unlock(&l->mu);
	pthread_join(l->thread, NULL);
	lease_free(l);
}

int
lease_cancelled(const struct lease *l)
{
	return atomic_load(&l->cancelled);
}

int
lease_lost(const struct lease *l)
{
	return atomic_load(&l->lost);
}

int
lease_interrupts(void *arg)
{
	const struct lease *l = arg;

	return *l->sigterm || atomic_load(&l->cancelled) ||
	    atomic_load(&l->lost);
}
