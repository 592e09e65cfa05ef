/*
 * tripsend.h: a job's trips sorted and sent as binary COPY tuples by a
 * thread of its own, a run at a time, while the loader parses the next.
 *
 * From the loader's own thread the two took turns: the loader parsed a
 * run while the server waited, then waited in PQputCopyData while the
 * server stored it (docs/scalability.md, "The trips sent from a thread").
 *
 * Between tripsend_open and tripsend_close the connection belongs to the
 * thread: the caller must not use it (libpq allows one thread at a time
 * per connection: PostgreSQL docs, 34.21 "Behavior in Threaded Programs").
 */
#ifndef TRIPLINE_TRIPSEND_H
#define TRIPLINE_TRIPSEND_H

#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>

/* One good row, as it goes to COPY. */
struct tripsend_rec {
	uint64_t	 ocell, dcell;
	double		 olon, olat, dlon, dlat;
	int64_t		 ts;		/* PostgreSQL epoch */
	int32_t		 region;
	int16_t		 ds;
};

struct tripsend;

/*
 * Start sending on c, which is in the COPY IN state of the trips table
 * (tripspart_copy_sql), runs of at most nrec records, each tuple with
 * the job and part given.  Returns NULL when out of memory or threads.
 */
struct tripsend		*tripsend_open(PGconn *c, size_t nrec, int32_t job,
			    int16_t part);
/* The run to fill first, of nrec records (tripsend_close frees every run). */
struct tripsend_rec	*tripsend_run(struct tripsend *);
/*
 * Hand over the n records of *run, to be sorted by origin cell and sent,
 * and set *run to an empty one; waits while the thread is still sending
 * the run before.  Returns 0, or -1 once a send has failed (the reason is
 * in PQerrorMessage after tripsend_close).
 */
int			 tripsend_pass(struct tripsend *,
			    struct tripsend_rec **run, size_t n);
/*
 * Stop the thread and free: after the runs handed over are sent and the
 * data's trailer too (flush), or dropping what is not sent yet (!flush,
 * an abandoned COPY).  The connection is the caller's again, still in
 * the COPY IN state.  Returns 0, or -1 if a send failed.  Accepts NULL.
 */
int			 tripsend_close(struct tripsend *, int flush);

#endif
