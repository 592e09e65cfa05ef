/*
 * tripsend.c: two runs of trip records, one filled by the loader while
 * the thread sorts, encodes and sends the other.
 *
 * Why sorted runs: a box's rim is read from the trips of the cells its
 * edge cuts (docs/reports.md), and in file order a cell's trips lie one
 * per heap page, so a rim of 70,000 trips read 61,500 pages at 10 M
 * trips.  Sorted by origin cell within each run, a cell's trips of one
 * run share a few pages: a rim cell costs about one page per run instead
 * of one per trip.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

#include "copybin.h"
#include "tripsend.h"

#define TRIPSEND_BUF	(256 * 1024)	/* bytes per PQputCopyData */
#define TRIPSEND_TUPLE	128		/* a trips tuple needs 108 */
#define TRIPSEND_NFIELDS 11		/* the columns of tripspart_copy_sql */

struct tripsend {
	PGconn			*conn;
	int32_t			 job;
	int16_t			 part;
	pthread_t		 thread;
	pthread_mutex_t		 mu;
	pthread_cond_t		 cv;
	struct tripsend_rec	*runs[2];	/* both runs, whoever holds them */
	struct tripsend_rec	*spare;		/* the empty run */
	struct tripsend_rec	*given;		/* handed over, not yet sent */
	size_t			 ngiven;
	int			 busy;		/* the thread holds a run */
	int			 closing;
	int			 drop;		/* closing without the rest */
	int			 failed;
	struct copybin		 out;		/* the thread's */
};

static int
tripsend_cmp(const void *a, const void *b)
{
	const struct tripsend_rec *x = a, *y = b;

	return x->ocell < y->ocell ? -1 : x->ocell > y->ocell;
}

/*
 * Send what out holds, and read what the server sent (its notices), as
 * libpq reads input only when a send blocks.  A server error (a cancel
 * from the lease thread) shows only at the COPY's end: libpq holds an
 * ErrorResponse back while in COPY IN (pqParseInput3), so the loader
 * stops on the lease's flags itself (loader_interrupted).
 */
static int
tripsend_flush(struct tripsend *t)
{
	int ok;

	if (t->out.len == 0)
		return 0;
	ok = PQputCopyData(t->conn, t->out.buf, (int)t->out.len) == 1 &&
	    PQconsumeInput(t->conn) == 1;
	t->out.len = 0;
	return ok ? 0 : -1;
}

static int
tripsend_encode(struct tripsend *t, struct tripsend_rec *run, size_t n)
{
	const struct tripsend_rec	*r;
	size_t				 i;

	qsort(run, n, sizeof(*run), tripsend_cmp);
	for (i = 0; i < n; i++) {
		r = &run[i];
		if (copybin_room(&t->out) < TRIPSEND_TUPLE &&
		    tripsend_flush(t) != 0)
			return -1;
		copybin_tuple(&t->out, TRIPSEND_NFIELDS);
		copybin_f64(&t->out, r->olon);
		copybin_f64(&t->out, r->olat);
		copybin_f64(&t->out, r->dlon);
		copybin_f64(&t->out, r->dlat);
		copybin_i64(&t->out, r->ts);
		copybin_i64(&t->out, (int64_t)r->ocell);
		copybin_i64(&t->out, (int64_t)r->dcell);
		copybin_i32(&t->out, t->job);
		copybin_i32(&t->out, r->region);
		copybin_i16(&t->out, r->ds);
		copybin_i16(&t->out, t->part);
	}
	return 0;
}

static void *
tripsend_main(void *arg)
{
	struct tripsend		*t = arg;
	struct tripsend_rec	*run;
	size_t			 n;
	int			 rc;

	copybin_header(&t->out);
	pthread_mutex_lock(&t->mu);
	for (;;) {
		while (t->given == NULL && !t->closing)
			pthread_cond_wait(&t->cv, &t->mu);
		if (t->drop || (t->given == NULL && t->closing))
			break;
		run = t->given;
		n = t->ngiven;
		t->busy = 1;
		pthread_mutex_unlock(&t->mu);
		rc = tripsend_encode(t, run, n);
		pthread_mutex_lock(&t->mu);
		/* The run is empty again: the loader's next one. */
		t->spare = run;
		t->given = NULL;
		t->busy = 0;
		if (rc != 0)
			t->failed = t->drop = 1;
		pthread_cond_broadcast(&t->cv);
	}
	if (!t->drop) {
		pthread_mutex_unlock(&t->mu);
		copybin_trailer(&t->out);
		rc = tripsend_flush(t);
		pthread_mutex_lock(&t->mu);
		if (rc != 0)
			t->failed = 1;
	}
	pthread_mutex_unlock(&t->mu);
	return NULL;
}

static void
tripsend_free(struct tripsend *t)
{
	if (t == NULL)
		return;
	free(t->runs[0]);
	free(t->runs[1]);
	copybin_release(&t->out);
	free(t);
}

struct tripsend *
tripsend_open(PGconn *c, size_t nrec, int32_t job, int16_t part)
{
	struct tripsend	*t;
	int		 e;

	if ((t = calloc(1, sizeof(*t))) == NULL)
		return NULL;
	t->conn = c;
	t->job = job;
	t->part = part;
	if ((t->runs[0] = malloc(nrec * sizeof(*t->runs[0]))) == NULL ||
	    (t->runs[1] = malloc(nrec * sizeof(*t->runs[1]))) == NULL ||
	    copybin_init(&t->out, TRIPSEND_BUF) != 0)
		goto fail;
	t->spare = t->runs[1];
	if ((e = pthread_mutex_init(&t->mu, NULL)) != 0)
		goto fail_errno;
	if ((e = pthread_cond_init(&t->cv, NULL)) != 0) {
		pthread_mutex_destroy(&t->mu);
		goto fail_errno;
	}
	if ((e = pthread_create(&t->thread, NULL, tripsend_main, t)) != 0) {
		pthread_cond_destroy(&t->cv);
		pthread_mutex_destroy(&t->mu);
		goto fail_errno;
	}
	return t;
fail_errno:
	errno = e;
fail:
	tripsend_free(t);
	return NULL;
}

struct tripsend_rec *
tripsend_run(struct tripsend *t)
{
	return t->runs[0];
}

int
tripsend_pass(struct tripsend *t, struct tripsend_rec **run, size_t n)
{
	int rc = 0;

	if (n == 0)
		return 0;
	pthread_mutex_lock(&t->mu);
	while ((t->given != NULL || t->busy) && !t->failed)
		pthread_cond_wait(&t->cv, &t->mu);
	if (t->failed) {
		rc = -1;
		goto out;
	}
	t->given = *run;
	t->ngiven = n;
	*run = t->spare;
	t->spare = NULL;
	pthread_cond_broadcast(&t->cv);
out:
	pthread_mutex_unlock(&t->mu);
	return rc;
}

int
tripsend_close(struct tripsend *t, int flush)
{
	int failed;

	if (t == NULL)
		return 0;
	pthread_mutex_lock(&t->mu);
	t->closing = 1;
	if (!flush)
		t->drop = 1;
	pthread_cond_broadcast(&t->cv);
	pthread_mutex_unlock(&t->mu);
	pthread_join(t->thread, NULL);
	failed = t->failed;
	pthread_cond_destroy(&t->cv);
	pthread_mutex_destroy(&t->mu);
	tripsend_free(t);
	return failed ? -1 : 0;
}
