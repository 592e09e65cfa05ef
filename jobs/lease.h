/*
 * lease.h: the control thread that runs beside a load.  On its own
 * connection it extends the job's lease every lease_seconds / 3, looks
 * for a cancel request every LEASE_CANCEL_MS, and every
 * LEASE_PROGRESS_MS writes the counters the loader updates into the
 * job's row (a part's into its row, and their sums into the job's) and
 * commits a 'progress' event with them, so that watchers and clients
 * reading the job see progress while the load transaction is still
 * open.  Each write checks that the job (the part) is still ours, as
 * the lease's extension does.
 *
 * On a cancel request, a lost lease or the runner's stop, it also cancels
 * the statement running on the work connection (PQcancel), so that a long
 * server-side step (the aggregates' merge, the end of the COPY) ends
 * within a second too; the loader then rolls back.
 */
#ifndef TRIPLINE_LEASE_H
#define TRIPLINE_LEASE_H

#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>

#include <libpq-fe.h>

struct config;
struct runner_db_job;
struct parts_db_part;
struct lease;

#define LEASE_CANCEL_MS		200
#define LEASE_PROGRESS_MS	500

/*
 * What the load is doing (jobs.phase, sql/migrations/028_job_phase.sql
 * says what each is), in the order a part of a split job goes through
 * them: a split job's phase is the least advanced of its parts'.  A job
 * loaded whole goes reading, aggregating, indexing.
 */
enum lease_phase {
	LEASE_PHASE_SPLITTING,
	LEASE_PHASE_READING,
	LEASE_PHASE_INDEXING,
	LEASE_PHASE_AGGREGATING,
	LEASE_PHASE_MERGING,
	LEASE_PHASE__MAX
};

/* Written by the loader, read by the control thread. */
struct lease_counters {
	_Atomic uint64_t	rows_loaded;
	_Atomic uint64_t	rows_rejected;
	_Atomic uint64_t	bytes_read;
	_Atomic int		phase;		/* enum lease_phase */
};

/* Counters at 0, in phase p. */
void	lease_counters_init(struct lease_counters *, enum lease_phase p);
/* The load enters phase p. */
void	lease_counters_phase(struct lease_counters *, enum lease_phase p);

/*
 * Start the control thread on conn (which it uses alone until
 * lease_stop); work is the load's connection, only ever cancelled from
 * the thread; stop is the runner's SIGTERM flag.  With a part (of a
 * split job), the lease is the part's, the counters are the part's, and
 * the job's row and progress events have the sums of its parts' last
 * recorded counts.
 * Returns NULL with errno set, for the caller to report.
 */
struct lease *lease_start(const struct config *, PGconn *conn, PGconn *work,
	    volatile sig_atomic_t *stop, const struct runner_db_job *,
	    const struct parts_db_part *part, struct lease_counters *);
/* Stop and join the thread; accepts NULL. */
void	lease_stop(struct lease *);

/*
 * After a part of job committed, its lease stopped: on the control
 * connection c, the job's sums with that part's counts, and its
 * progress event when one is due.  A part shorter than a progress step
 * (LEASE_PROGRESS_MS) never wrote either from its thread, whose steps
 * start with each lease: a job of such parts showed 0 rows and no event
 * until its merge.  Failures are logged, and leave the sums to the next
 * step.
 */
void	lease_part_loaded(PGconn *c, const struct runner_db_job *job);

/*
 * In the caller's transaction, lock the job's row as every writer of a
 * split job's sums does, before it touches a part (lease.c); 0 or -1.
 */
int	lease_sum_lock(PGconn *, int job_id);

/*
 * A split job's counts and phase summed from its parts again, without an
 * event, in the caller's transaction, after lease_sum_lock: a part
 * queued again takes its counts out of the job's at once, not at
 * another part's next step.  0 or -1.
 */
int	lease_sum_write(PGconn *, int job_id);

/* A cancel was requested for the job. */
int	lease_cancelled(const struct lease *);
/* The lease could not be extended: another runner may own the job. */
int	lease_lost(const struct lease *);
/*
 * A cancel, a lost lease or the runner's stop: the thread cancels (or
 * has cancelled) the work connection's statement.  Takes the lease as
 * void * to serve as aggregate_interrupt_with's and rejectlog_interrupt_with's
 * function.
 */
int	lease_interrupts(void *);

#endif
