/*
 * main.c: tripline-runner, the job runner.  It sleeps on LISTEN
 * tripline_jobs, claims jobs one at a time, loads each (loader.c) and
 * ends it: succeeded, failed, cancelled, or queued again with a backoff.
 * Any number of runners, on any number of machines, share the queue.
 *
 * Connections: "work" (claims, the load transaction, job ends; LISTEN),
 * "control" (the lease thread of lease.c), "trips" (a whole job's trips
 * table: its COPY and index builds, beside the load transaction; see
 * sql/migrations/013_trips_index_apart.sql; between jobs it builds and
 * merges the rim tables, rimtend.c), and the dimension cache's own autocommit
 * connection (dimcache.c).  An idle runner also drops what killed loads
 * and ended jobs left (unattached trips tables, the parts of split jobs),
 * removes the spool files of ended uploads (spoolsweep.c) and the names
 * no trip uses (dimcache_sweep), on work.
 *
 * SIGTERM or SIGINT: an idle runner exits at once; a loading one rolls
 * back, queues the job again without counting the attempt, and exits.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <malloc.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "config.h"
#include "db.h"
#include "dimcache.h"
#include "joberror.h"
#include "jobfile.h"
#include "jobsplit.h"
#include "loader.h"
#include "log.h"
#include "parts_db.h"
#include "rimtend.h"
#include "runner_db.h"
#include "spoolsweep.h"
#include "tripspart.h"

#define RUNNER_IDLE_MAX		5.0	/* seconds between queue checks */
#define RUNNER_IDLE_MIN		0.1
#define RUNNER_IDLE_TEND	0.5	/* while the rims are tended */
#define RUNNER_BACKOFF_MAX	300	/* seconds, retry of a failed load */
#define RUNNER_RECONNECT_MAX	30	/* seconds between reconnects */

/* For the log line of each end. */
static const char *const runner_end_verbs[RUNNER_DB_END__MAX] = {
	"succeeded",		/* RUNNER_DB_SUCCEEDED */
	"failed",		/* RUNNER_DB_FAILED */
	"cancelled",		/* RUNNER_DB_CANCELLED */
	"retrying",		/* RUNNER_DB_RETRY */
	"queued again",		/* RUNNER_DB_REQUEUE */
};

static volatile sig_atomic_t runner_stop;
static int runner_wake[2] = { -1, -1 };

struct runner {
	struct config		 cfg;
	char			 owner[HOST_NAME_MAX + 24];
	PGconn			*work;
	PGconn			*control;
	PGconn			*trips;
	int			 swept;		/* runner_sweep ran once */
	struct dimcache		*dims;
	struct jobfile		*files;
	struct rimtend		*rims;		/* on trips, between jobs */
};

static void
runner_signal(int sig)
{
	int saved = errno;

	(void)sig;
	runner_stop = 1;
	/* Wake the poll(2) of runner_db_wait (the self-pipe trick). */
	(void)!write(runner_wake[1], "", 1);
	errno = saved;
}

static int
runner_signals(void)
{
	struct sigaction sa;

	if (pipe2(runner_wake, O_CLOEXEC | O_NONBLOCK) == -1)
		return -1;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = runner_signal;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGTERM, &sa, NULL) == -1 ||
	    sigaction(SIGINT, &sa, NULL) == -1)
		return -1;
	signal(SIGPIPE, SIG_IGN);
	return 0;
}

/*
 * Sleep up to seconds, waking early on a signal, a job's notification or
 * the answer of a rim step: its next step starts at once, where waiting
 * out RUNNER_IDLE_TEND made a 0.25 s step take 0.5 s (the upkeep after
 * 200 small jobs took twice as long).
 */
static void
runner_sleep(struct runner *rn, double seconds)
{
	struct pollfd	 pfd = { runner_wake[0], POLLIN, 0 };
	char		 buf[64];

	if (runner_stop)
		return;
	if (rn->work != NULL && PQstatus(rn->work) == CONNECTION_OK)
		(void)runner_db_wait(rn->work, runner_wake[0],
		    rimtend_socket(rn->rims, rn->trips), seconds);
	else
		(void)poll(&pfd, 1, (int)(seconds * 1000));
	while (read(runner_wake[0], buf, sizeof(buf)) > 0)
		;
}

/*
 * What killed loads and ended jobs leave, removed when the runner is
 * first connected and whenever the queue is empty: on the work
 * connection, as the trips connection may be tending the rims.
 *
 *   - trips: the trips tables that loads killed between their two
 *     commits left unattached (013_trips_index_apart.sql), of jobs not
 *     running, as a job can end without being loaded again (a cancel
 *     after its runner died, its attempts used up at the claim;
 *     033_trips_sweep_idle.sql);
 *   - parts: what the parts of ended split jobs left
 *     (022_parts_sweep.sql), as a split job can end without a runner (a
 *     cancel after its runners died);
 *   - names: the region and datasource names no loaded trip uses
 *     (026_name_sweep.sql); cheap when no name was added since the last.
 *
 * Each returns how many it removed, or -1.  The messages take that
 * count and a plural "s".
 */
enum runner_sweep {
	RUNNER_SWEEP_TRIPS,
	RUNNER_SWEEP_PARTS,
	RUNNER_SWEEP_NAMES,
	RUNNER_SWEEP__MAX
};

static const struct {
	int		(*run)(PGconn *);
	const char	*failed;	/* then the server's message */
	const char	*done;		/* %d and "s" or "" */
} runner_sweeps[RUNNER_SWEEP__MAX] = {
	{ tripspart_sweep, "could not drop unattached trips tables",
	  "dropped %d unattached trips table%s" },
	{ tripspart_parts_sweep,
	  "could not drop what the parts of ended jobs left",
	  "dropped what the parts of %d ended job%s left" },
	{ dimcache_sweep, "could not remove unused names",
	  "removed %d region or datasource name%s no trip uses" },
};

/*
 * Every sweep, then the spool files of ended uploads
 * (025_spool_sweep.sql; a job can end without a runner: a cancel while
 * it was queued).  1 when a whole batch of spool files was removed, so
 * the next should come soon; else 0.
 */
static int
runner_sweep(struct runner *rn)
{
	size_t	 i;
	int	 n;

	for (i = 0; i < RUNNER_SWEEP__MAX; i++) {
		if ((n = runner_sweeps[i].run(rn->work)) < 0)
			log_warn("%s: %s", runner_sweeps[i].failed,
			    PQerrorMessage(rn->work));
		else if (n > 0)
			log_info(runner_sweeps[i].done, n, n == 1 ? "" : "s");
	}
	return spoolsweep_run(rn->work, rn->files, rn->cfg.spool_keep_failed) ==
	    SPOOLSWEEP_BATCH;
}

/*
 * Make sure the three connections are up, reconnecting with a growing
 * pause.  Returns 0, or -1 when stopping.
 */
static int
runner_connect(struct runner *rn)
{
	int pause = 1;

	for (;;) {
		/*
		 * Also one the server ended while it was idle: the next job
		 * would find it dead and spend an attempt on it.
		 */
		rn->work = db_check(rn->work);
		rn->control = db_check(rn->control);
		rn->trips = db_check(rn->trips);
		if (rn->work == NULL &&
		    (rn->work = db_connect(&rn->cfg, "tripline-runner")) !=
		    NULL && runner_db_listen(rn->work) != 0) {
			PQfinish(rn->work);
			rn->work = NULL;
		}
		if (rn->control == NULL)
			rn->control = db_connect(&rn->cfg,
			    "tripline-runner-control");
		if (rn->trips == NULL)
			rn->trips = db_connect(&rn->cfg, "tripline-runner-trips");
		if (rn->work != NULL && rn->control != NULL &&
		    rn->trips != NULL) {
			/* Once, before any job. */
			if (!rn->swept)
				(void)runner_sweep(rn);
			rn->swept = 1;
			return 0;
		}
		if (runner_stop)
			return -1;
		log_warn("database unavailable, trying again in %d s", pause);
		runner_sleep(rn, pause);
		if (runner_stop)
			return -1;
		pause = pause * 2 > RUNNER_RECONNECT_MAX ?
		    RUNNER_RECONNECT_MAX : pause * 2;
	}
}

/* 2^attempt seconds: 2, 4, 8, ... up to RUNNER_BACKOFF_MAX. */
static int
runner_backoff(int attempt)
{
	int s = 1 << (attempt < 9 ? attempt : 9);

	return s < RUNNER_BACKOFF_MAX ? s : RUNNER_BACKOFF_MAX;
}

/*
 * A load's error err as the job's (clean: its first line) and the log's
 * (full: all of it on one line).
 */
static void
runner_error_texts(const char *err, char *clean, size_t cleansz,
    char *full, size_t fullsz)
{
	joberror_clean(err, strlen(err), clean, cleansz);
	joberror_oneline(err, strlen(err), full, fullsz);
}

static void
runner_run(struct runner *rn, struct runner_db_job *job)
{
	struct loader_env	 env = { &rn->cfg, rn->work, rn->control,
	    rn->trips, rn->dims, rn->files, &runner_stop };
	struct runner_db_result	 r;
	enum runner_db_end	 end;
	enum runner_db_status	 st;
	enum loader_outcome	 o;
	char			 err[1024], clean[1024], full[1024];
	int			 split = 0;

	memset(&r, 0, sizeof(r));
	o = LOADER_DONE;
	if (rn->cfg.split_bytes > 0 && job->bytes > rn->cfg.split_bytes) {
		o = jobsplit_run(&env, job, &split, err, sizeof(err));
		if (o == LOADER_DONE && split)
			return;		/* the parts are in the queue */
	}
	if (o == LOADER_DONE)
		o = loader_run(&env, job, NULL, &r, err, sizeof(err));
	runner_error_texts(err, clean, sizeof(clean), full, sizeof(full));
	r.error = clean;
	switch (o) {
	case LOADER_DONE:
		log_info("job %d: succeeded, %llu rows loaded, %llu rejected, "
		    "%.1f s", job->id, (unsigned long long)r.rows_loaded,
		    (unsigned long long)r.rows_rejected,
		    runner_db_elapsed(&job->t0));
		return;
	case LOADER_LOST:
		log_warn("job %d: lease lost, leaving it to its new runner",
		    job->id);
		return;
	case LOADER_CANCELLED:
		end = RUNNER_DB_CANCELLED;
		break;
	case LOADER_STOPPED:
		end = RUNNER_DB_REQUEUE;
		break;
	case LOADER_FAILED:
		end = RUNNER_DB_FAILED;
		break;
	case LOADER_ERROR:
	default:
		end = job->attempt < job->max_attempts ? RUNNER_DB_RETRY :
		    RUNNER_DB_FAILED;
		r.retry_in = runner_backoff(job->attempt);
		break;
	}
	/* The error a cancel caused says nothing: it is not recorded. */
	log_info("job %d: %s (attempt %d)%s%s", job->id,
	    runner_end_verbs[end], job->attempt,
	    end == RUNNER_DB_CANCELLED ? "" : ": ",
	    end == RUNNER_DB_CANCELLED ? "" : full);
	/* A lost connection is the usual transient error: reconnect. */
	if (runner_connect(rn) != 0 && end != RUNNER_DB_REQUEUE)
		return;
	if (rn->work == NULL)
		return;
	st = runner_db_finish(rn->work, job, end, &r);
	/* Asked to cancel meanwhile: not queued again (runner_db.c). */
	if (st == RUNNER_DB_GONE &&
	    (end == RUNNER_DB_RETRY || end == RUNNER_DB_REQUEUE) &&
	    (st = runner_db_finish(rn->work, job, RUNNER_DB_CANCELLED, &r)) ==
	    RUNNER_DB_OK)
		log_info("job %d: cancelled, as asked meanwhile", job->id);
	if (st == RUNNER_DB_GONE)
		log_warn("job %d: no longer ours, left as it is", job->id);
}

/*
 * Load a part of a split job and end it: the job, when the part failed
 * it or saw it cancelled; else the part goes back to the queue.
 */
static void
runner_run_part(struct runner *rn, struct runner_db_job *job, struct parts_db_part *part)
{
	struct loader_env	 env = { &rn->cfg, rn->work, rn->control,
	    rn->trips, rn->dims, rn->files, &runner_stop };
	struct runner_db_result	 r, others;
	enum loader_outcome	 o;
	enum runner_db_status	 st;
	char			 err[1024], clean[1024], full[1024];
	int			 retry = 0;

	o = loader_run(&env, job, part, &r, err, sizeof(err));
	runner_error_texts(err, clean, sizeof(clean), full, sizeof(full));
	r.error = clean;
	switch (o) {
	case LOADER_DONE:
		log_info("job %d: part %d loaded, %llu rows, %llu rejected, "
		    "%.1f s since the job started", job->id, part->part,
		    (unsigned long long)r.rows_loaded,
		    (unsigned long long)r.rows_rejected,
		    runner_db_elapsed(&job->t0));
		return;
	case LOADER_LOST:
		log_warn("job %d: part %d: lease lost or job ended, leaving it",
		    job->id, part->part);
		return;
	case LOADER_STOPPED:
		log_info("job %d: part %d queued again: the runner is stopping",
		    job->id, part->part);
		break;
	case LOADER_ERROR:
		retry = part->attempt < job->max_attempts;
		log_info("job %d: part %d %s (attempt %d): %s", job->id,
		    part->part, retry ? "retrying" : "failed", part->attempt,
		    full);
		break;
	default:
		log_info("job %d: part %d: %s", job->id, part->part,
		    o == LOADER_CANCELLED ? "cancelled" : full);
		break;
	}
	if (runner_connect(rn) != 0 && o != LOADER_STOPPED)
		return;
	if (rn->work == NULL)
		return;
	if (o == LOADER_STOPPED || retry)
		st = parts_db_release(rn->work, job, part, retry,
		    retry ? runner_backoff(part->attempt) : 0,
		    retry ? clean : NULL);
	else {
		/*
		 * A cancel's event tells the job's rows, as its progress
		 * summed them: this part's and the others' as last recorded.
		 */
		if (o == LOADER_CANCELLED &&
		    parts_db_others(rn->work, job, part, &others) >= 0)
			r.rows_loaded += others.rows_loaded;
		r.attempt = part->attempt;
		st = parts_db_end_job(rn->work, job, o == LOADER_CANCELLED ?
		    RUNNER_DB_CANCELLED : RUNNER_DB_FAILED, &r);
	}
	if (st == RUNNER_DB_GONE)
		log_warn("job %d: part %d no longer ours, left as it is",
		    job->id, part->part);
}

static int
runner_loop(struct runner *rn)
{
	struct runner_db_job	 job;
	struct parts_db_part	 part;
	double		 wait;
	int		 tending, more;

	while (!runner_stop) {
		if (runner_connect(rn) != 0)
			break;
		/* A rim table too long without an idle moment: build it. */
		if ((tending = rimtend_hold(rn->rims, rn->work, rn->trips)) != 0) {
			if (tending < 0)
				rn->trips = db_check(rn->trips);
			else
				runner_sleep(rn, RUNNER_IDLE_TEND);
			continue;
		}
		/* The parts of split jobs first: finish what has begun. */
		switch (parts_db_claim(rn->work, &rn->cfg, rn->owner, &job,
		    &part)) {
		case RUNNER_DB_CLAIM_RUN:
			rimtend_stop(rn->rims, rn->trips);
			runner_run_part(rn, &job, &part);
			rimtend_due(rn->rims);
			runner_db_job_release(&job);
			continue;
		case RUNNER_DB_CLAIM_DONE:
			continue;
		case RUNNER_DB_CLAIM_ERROR:
			runner_sleep(rn, 1);
			continue;
		case RUNNER_DB_CLAIM_NONE:
		default:
			break;
		}
		switch (runner_db_claim(rn->work, &rn->cfg, rn->owner, &job)) {
		case RUNNER_DB_CLAIM_RUN:
			rimtend_stop(rn->rims, rn->trips);
			runner_run(rn, &job);
			rimtend_due(rn->rims);
			runner_db_job_release(&job);
			break;
		case RUNNER_DB_CLAIM_DONE:
			break;
		case RUNNER_DB_CLAIM_NONE:
			more = runner_sweep(rn);
			tending = rimtend_idle(rn->rims, rn->trips);
			if (tending < 0)
				rn->trips = db_check(rn->trips);
			wait = runner_db_next_due(rn->work, RUNNER_IDLE_MAX);
			/* A rim step that ends is followed by the next soon. */
			if (tending > 0 && wait > RUNNER_IDLE_TEND)
				wait = RUNNER_IDLE_TEND;
			/* A full batch of spool files: the rest soon. */
			if (more)
				wait = RUNNER_IDLE_MIN;
			if (wait < RUNNER_IDLE_MIN)
				wait = RUNNER_IDLE_MIN;
			runner_sleep(rn, wait);
			break;
		case RUNNER_DB_CLAIM_ERROR:
		default:
			runner_sleep(rn, 1);
			break;
		}
	}
	rimtend_stop(rn->rims, rn->trips);
	return 0;
}

int
main(int argc, char *argv[])
{
	struct runner	 rn;
	char		 host[HOST_NAME_MAX + 1];
	int		 rc = 1;

	(void)argv;
	memset(&rn, 0, sizeof(rn));
	if (log_init("tripline-runner") != 0)
		return 1;
	if (argc != 1) {
		fprintf(stderr, "usage: tripline-runner\n"
		    "(settings come from PG* and TRIPLINE_* variables)\n");
		return 2;
	}
	if (config_load(&rn.cfg, "tripline_runner") != 0)
		return 1;
	/*
	 * Each job allocates and frees aggregate maps of up to 48 MiB.  glibc
	 * serves a large block by mmap and gives it back on free, but after
	 * the first such free it raises its mmap threshold (up to 32 MiB), so
	 * later maps of the next jobs came from the heap, which fragments and
	 * does not shrink: peak memory rose from 98 MiB for one 10 M-row job
	 * to 128 MiB over ten, and (by hand) from 101 to 132 MiB over four
	 * 2 M-row jobs; with this, 100 MiB after four (make bench SIZES=8000000
	 * BENCH_FILES=4).  A fixed threshold keeps every map in its own
	 * mapping (mallopt(3), M_MMAP_THRESHOLD).
	 */
	if (mallopt(M_MMAP_THRESHOLD, 1 << 20) != 1)
		log_warn("could not fix the allocator's mmap threshold");
	if (runner_signals() != 0) {
		log_error("could not set up signals: %m");
		return 1;
	}
	if (gethostname(host, sizeof(host)) != 0)
		snprintf(host, sizeof(host), "unknown");
	host[sizeof(host) - 1] = '\0';
	snprintf(rn.owner, sizeof(rn.owner), "%s:%ld", host, (long)getpid());
	if ((rn.files = jobfile_new(rn.cfg.spool_dir, rn.cfg.inbox_dir)) ==
	    NULL || (rn.dims = dimcache_new(&rn.cfg)) == NULL ||
	    (rn.rims = rimtend_new(rn.cfg.rim_compact, rn.cfg.rim_lag)) == NULL) {
		log_error("could not start: no spool or inbox directory, or "
		    "out of memory");
		goto out;
	}
	log_info("runner %s started (lease %d s, %d attempts)", rn.owner,
	    rn.cfg.lease_seconds, rn.cfg.max_attempts);
	rc = runner_loop(&rn);
	log_info("runner %s stopped", rn.owner);
out:
	PQfinish(rn.work);
	PQfinish(rn.control);
	PQfinish(rn.trips);
	dimcache_free(rn.dims);
	jobfile_free(rn.files);
	rimtend_free(rn.rims);
	return rc;
}
