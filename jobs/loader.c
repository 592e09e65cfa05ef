/*
 * loader.c: the load of one job.  The file is read in chunks into the
 * CSV reader; each good record becomes a trip record in a run of
 * LOADER_RUN records, and a full run goes to the sending thread
 * (tripsend.h), which sorts it by origin cell and sends it as binary
 * COPY tuples while this thread parses the next run and the server
 * stores the last.  Nothing is allocated per row.
 */
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "aggregate.h"
#include "config.h"
#include "csvstream.h"
#include "db.h"
#include "digest.h"
#include "dimcache.h"
#include "geohash.h"
#include "jobfile.h"
#include "lease.h"
#include "loader.h"
#include "log.h"
#include "monoclock.h"
#include "num.h"
#include "parts_db.h"
#include "rejectlog.h"
#include "runner_db.h"
#include "trip.h"
#include "tripsend.h"
#include "tripspart.h"

#define LOADER_CHUNK	(256 * 1024)	/* bytes read per read(2) */
#define LOADER_RUN	(128 * 1024)	/* trips sorted at a time: 8 MiB, two runs */
#define LOADER_WHY	512	/* a database error kept across a ROLLBACK */

/*
 * PostgreSQL timestamps count microseconds from 2000-01-01; valid from
 * 4714-11-24 BC to 294276 AD (src/include/datatype/timestamp.h,
 * MIN_TIMESTAMP and END_TIMESTAMP).
 */
#define PG_EPOCH_US	INT64_C(946684800000000)
#define PG_TS_MIN	INT64_C(-211813488000000000)
#define PG_TS_END	INT64_C(9223371331200000000)

#define US_PER_MINUTE	INT64_C(60000000)

#define LOADER_POLL_MS	100	/* checks for a cancel while indexing */
#define TRIPS_COPY_SQL	256

static const char slot_sql[] =
    "SELECT value FROM tripline.settings WHERE key = 'slot_minutes'";

/*
 * Where a load's time goes: logged when it commits (make bench reads it).
 * Clients see the step through the control thread's phase (lease.h),
 * set as each begins.
 */
enum loader_phase {
	LOADER_PHASE_READ,	/* parse and trips COPY: they overlap */
	LOADER_PHASE_AGGREGATE,	/* aggregates sent and merged (a part: none) */
	LOADER_PHASE_INDEX,	/* the wait for the trips' index builds, and
				 * the ATTACH (a part: its index builds) */
	LOADER_PHASE_COMMIT,	/* the job's row and COMMIT; for a part, its
				 * aggregates staged, or merged by the last */
	LOADER_PHASE__MAX
};

static const char *const loader_phase_names[LOADER_PHASE__MAX] = {
	"read and copy",	/* LOADER_PHASE_READ */
	"aggregates",		/* LOADER_PHASE_AGGREGATE */
	"index",		/* LOADER_PHASE_INDEX */
	"commit",		/* LOADER_PHASE_COMMIT */
};

/*
 * A whole job's trips table goes through its own transaction on the
 * trips connection (sql/migrations/013_trips_index_apart.sql): made and
 * loaded, indexed while the load transaction merges the aggregates, then
 * committed just before the load transaction attaches it.
 */
enum loader_tc {
	LOADER_TC_NONE,		/* not used (a part), or rolled back */
	LOADER_TC_OPEN,		/* its transaction is open */
	LOADER_TC_INDEXING,	/* the index builds are running */
	LOADER_TC_COMMITTED,	/* the table is committed, maybe not attached */
};

struct loader {
	const struct loader_env	*env;
	PGconn			*tc;		/* the trips COPY's connection */
	enum loader_tc		 tc_state;
	const struct runner_db_job	*job;
	const struct parts_db_part	*part;		/* NULL: the whole file */
	struct csvstream	*csv;
	struct rejectlog	*rejects;
	struct aggregate	*agg;
	struct tripsend		*send;		/* open while in_copy */
	struct tripsend_rec	*run;		/* LOADER_RUN records, send's */
	size_t			 nrun;
	struct trip_header	 hdr;
	int			 have_header;
	int			 slot_minutes;
	int			 in_copy;	/* the trips COPY is open */
	uint64_t		 loaded;
	/* Set by a callback that stops the reader. */
	enum loader_outcome	 fail;
	char			*err;
	size_t			 errsz;
	double			 mark;		/* when the current phase began */
	double			 phase[LOADER_PHASE__MAX]; /* seconds */
	struct lease_counters	*ctr;		/* the control thread's */
};

/* The phase p ends now. */
static void
loader_phase_end(struct loader *l, enum loader_phase p)
{
	double now = monoclock_seconds();

	l->phase[p] = now - l->mark;
	l->mark = now;
}

static void
loader_phase_log(const struct loader *l)
{
	char	buf[256];
	size_t	n = 0;
	int	p;

	buf[0] = '\0';
	for (p = 0; p < LOADER_PHASE__MAX && n < sizeof(buf); p++)
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s%s %.1f s",
		    p > 0 ? ", " : "", loader_phase_names[p], l->phase[p]);
	if (l->part != NULL)
		log_info("job %d part %d: %s", l->job->id, l->part->part, buf);
	else
		log_info("job %d: %s", l->job->id, buf);
}

static int
loader_stop(struct loader *l, enum loader_outcome o, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
loader_stop(struct loader *l, enum loader_outcome o, const char *fmt, ...)
{
	va_list ap;

	l->fail = o;
	va_start(ap, fmt);
	vsnprintf(l->err, l->errsz, fmt, ap);
	va_end(ap);
	return -1;
}

/*
 * The installation's slot length (settings, written by migrate.sh).  No
 * default here: the report functions read the same row, and a length of
 * the loader's own would group trips they cannot find.
 */
static int
loader_slot_minutes(struct loader *l)
{
	PGresult	*res;
	int64_t		 v = 0;
	const char	*s;
	int		 rc = 0;

	res = PQexec(l->env->work, slot_sql);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		rc = loader_stop(l, LOADER_ERROR, "could not read settings: %s",
		    PQerrorMessage(l->env->work));
	} else if (PQntuples(res) != 1) {
		rc = loader_stop(l, LOADER_FAILED,
		    "setting slot_minutes: missing");
	} else {
		s = PQgetvalue(res, 0, 0);
		if (num_parse_i64(s, strlen(s), 1, 1440, &v) != 0)
			rc = loader_stop(l, LOADER_FAILED,
			    "invalid setting slot_minutes: \"%.32s\"", s);
	}
	l->slot_minutes = (int)v;
	PQclear(res);
	return rc;
}

/* Hand the run to the sending thread. */
static int
loader_flush_run(struct loader *l)
{
	if (tripsend_pass(l->send, &l->run, l->nrun) != 0) {
		/* The reason is on the connection once the thread stopped. */
		(void)tripsend_close(l->send, 0);
		l->send = NULL;
		return loader_stop(l, LOADER_ERROR, "could not send trips: %s",
		    PQerrorMessage(l->tc));
	}
	l->nrun = 0;
	return 0;
}

static int
loader_reject(struct loader *l, const struct csvstream_row *row,
    const char *reason)
{
	if (rejectlog_add(l->rejects, row->line, reason, strlen(reason),
	    row->raw, row->rawlen) != 0)
		return loader_stop(l, LOADER_ERROR,
		    "could not write the rejects: %s", strerror(errno));
	return 0;
}

static int
loader_header(struct loader *l, const struct csvstream_row *row)
{
	static const char not_csv[] = "not a trips CSV: ";
	char err[512];

	l->have_header = 1;
	/* UTF-16 read as UTF-8 has quotes and CRs in odd places: first. */
	if (trip_header_text(row->raw, row->rawlen, err, sizeof(err)) != 0)
		return loader_stop(l, LOADER_FAILED, "%s", err);
	if (row->too_long)
		return loader_stop(l, LOADER_FAILED,
		    "not a trips CSV: first line longer than 64 KiB");
	/* "region";"origin_coord";...: its quotes are misplaced with ','. */
	if (row->bad_quote && trip_header_separator(row->raw, row->rawlen, err,
	    sizeof(err)) != 0)
		return loader_stop(l, LOADER_FAILED, "%s", err);
	if (row->bad_quote)
		return loader_stop(l, LOADER_FAILED, "not a trips CSV: %s "
		    "quote in the first line", row->unterminated ?
		    "unterminated" : "misplaced");
	if (trip_header_parse(row->raw, row->rawlen, row->field, row->len,
	    row->nfields, &l->hdr, err, sizeof(err)) != 0)
		return loader_stop(l, LOADER_FAILED, "%s%s",
		    strncmp(err, not_csv, sizeof(not_csv) - 1) == 0 ? "" :
		    not_csv, err);
	return 0;
}

/* The time-of-day slot of a timestamp (floor division: before 1970 too). */
static int
loader_slot(const struct loader *l, int64_t ts_us)
{
	int64_t min = ts_us / US_PER_MINUTE;

	if (ts_us % US_PER_MINUTE < 0)
		min--;
	min %= 1440;
	if (min < 0)
		min += 1440;
	return (int)(min / l->slot_minutes);
}

static int
loader_row(void *arg, const struct csvstream_row *row)
{
	struct loader	*l = arg;
	struct trip		 t;
	struct tripsend_rec	*r;
	char			 reason[256];
	int64_t			 ts;
	int			 region, ds, slot;

	if (!l->have_header)
		return loader_header(l, row);
	if (row->too_long)
		return loader_reject(l, row, "line longer than 64 KiB");
	/* RFC 4180 section 2: an escaped field ends with a quote. */
	if (row->unterminated)
		return loader_reject(l, row, "unterminated quote");
	/* RFC 4180 section 2: quotes only around a whole field. */
	if (row->bad_quote)
		return loader_reject(l, row, "misplaced quote");
	if (trip_parse(&l->hdr, row->field, row->len, row->nfields, &t,
	    reason, sizeof(reason)) != 0)
		return loader_reject(l, row, reason);
	ts = t.ts_us - PG_EPOCH_US;
	if (ts < PG_TS_MIN || ts >= PG_TS_END)
		return loader_reject(l, row, "datetime out of range");
	switch (dimcache_id(l->env->dims, DIMCACHE_REGION, t.region, t.region_len,
	    &region, reason, sizeof(reason))) {
	case DIMCACHE_OK:
		break;
	case DIMCACHE_REJECT:
		return loader_reject(l, row, reason);
	default:
		return loader_stop(l, LOADER_ERROR, "%s", reason);
	}
	switch (dimcache_id(l->env->dims, DIMCACHE_DATASOURCE, t.datasource,
	    t.datasource_len, &ds, reason, sizeof(reason))) {
	case DIMCACHE_OK:
		break;
	case DIMCACHE_REJECT:
		return loader_reject(l, row, reason);
	default:
		return loader_stop(l, LOADER_ERROR, "%s", reason);
	}
	if (l->nrun == LOADER_RUN && loader_flush_run(l) != 0)
		return -1;
	r = &l->run[l->nrun++];
	r->ocell = geohash_encode(t.olon, t.olat);
	r->dcell = geohash_encode(t.dlon, t.dlat);
	r->olon = t.olon;
	r->olat = t.olat;
	r->dlon = t.dlon;
	r->dlat = t.dlat;
	r->ts = ts;
	r->region = region;
	r->ds = (int16_t)ds;
	slot = loader_slot(l, t.ts_us);
	if (aggregate_add(l->agg, &t, r->ocell, r->dcell, slot, region,
	    ds) != 0)
		return loader_stop(l, LOADER_ERROR, "%s",
		    aggregate_error(l->agg));
	l->loaded++;
	return 0;
}

/* End the trips COPY; with why, make the server abort it. */
static int
loader_copy_end(struct loader *l, const char *why)
{
	PGconn		*c = l->tc;
	PGresult	*res;
	int		 rc = 0;

	l->in_copy = 0;
	if (tripsend_close(l->send, why == NULL) != 0)
		rc = -1;
	l->send = NULL;
	if (PQputCopyEnd(c, why) != 1)
		rc = -1;
	while ((res = PQgetResult(c)) != NULL) {
		if (PQresultStatus(res) != PGRES_COMMAND_OK)
			rc = -1;
		PQclear(res);
	}
	if (rc != 0 && why == NULL)
		loader_stop(l, LOADER_ERROR, "could not store trips: %s",
		    PQerrorMessage(c));
	return rc;
}

/*
 * Open the load transaction, the job's table and the trips COPY: for a
 * whole job the table and its COPY in a transaction of their own on the
 * trips connection, for a part in the part's transaction.
 */
static int
loader_begin(struct loader *l)
{
	PGconn		*c = l->env->work;
	PGresult	*res;
	char		 sql[TRIPS_COPY_SQL], why[256];
	int		 rc = 0;

	l->tc = l->part == NULL ? l->env->trips : c;
	if (runner_db_command(c, "BEGIN") != 0)
		return loader_stop(l, LOADER_ERROR, "could not start: %s",
		    PQerrorMessage(c));
	/* Before any name: no sweep may remove one until this load ends. */
	if (dimcache_hold(l->env->dims, c, why, sizeof(why)) != 0)
		return loader_stop(l, LOADER_ERROR, "could not start: %s", why);
	if (l->tc != c) {
		if (runner_db_command(l->tc, "BEGIN") != 0)
			return loader_stop(l, LOADER_ERROR, "could not start: "
			    "%s", PQerrorMessage(l->tc));
		l->tc_state = LOADER_TC_OPEN;
	}
	if ((l->agg = aggregate_new(c, l->job->id,
	    l->env->cfg->agg_map_keys, why, sizeof(why))) == NULL)
		return loader_stop(l, LOADER_ERROR, "%s", why);
	/*
	 * A whole job's table: first drop what a runner killed between the
	 * two commits of an earlier try left (013_trips_index_apart.sql).
	 */
	if (l->part == NULL)
		rc = tripspart_drop(l->tc, l->job->id) != 0 ||
		    tripspart_create(l->tc, l->job->id) != 0;
	else
		rc = tripspart_part_create(c, l->job->id, l->part->part,
		    l->part->owner) != 0;
	if (rc != 0 || tripspart_copy_sql(sql, sizeof(sql), l->job->id,
	    l->part != NULL ? l->part->part : -1) != 0)
		return loader_stop(l, LOADER_ERROR, "could not store trips: %s",
		    PQerrorMessage(l->tc));
	res = PQexec(l->tc, sql);
	if (PQresultStatus(res) != PGRES_COPY_IN)
		rc = loader_stop(l, LOADER_ERROR, "could not store trips: %s",
		    PQerrorMessage(l->tc));
	else {
		l->in_copy = 1;
		if ((l->send = tripsend_open(l->tc, LOADER_RUN, l->job->id,
		    (int16_t)(l->part != NULL ? l->part->part : 0))) == NULL)
			rc = loader_stop(l, LOADER_ERROR, "could not start "
			    "sending trips: %s", strerror(errno));
		else
			l->run = tripsend_run(l->send);
	}
	PQclear(res);
	return rc;
}

/* Publish the counts for the control thread's progress events. */
static void
loader_publish(const struct loader *l, struct lease_counters *ctr,
    uint64_t bytes)
{
	atomic_store_explicit(&ctr->bytes_read, bytes, memory_order_relaxed);
	atomic_store_explicit(&ctr->rows_loaded, l->loaded,
	    memory_order_relaxed);
	atomic_store_explicit(&ctr->rows_rejected,
	    rejectlog_count(l->rejects), memory_order_relaxed);
}

/*
 * The reader failed: a callback stopped it (l->err is set), or the CSV
 * itself is broken, which fails the job at the line reached.  -1.
 */
static int
loader_csv_failed(struct loader *l)
{
	if (l->err[0] == '\0')
		loader_stop(l, LOADER_FAILED, "line %llu: %s",
		    (unsigned long long)csvstream_lines(l->csv),
		    csvstream_error(l->csv));
	return -1;
}

/* A stop, a cancel or a lost lease: -1 with l->fail set, else 0. */
static int
loader_interrupted(struct loader *l, const struct lease *lease)
{
	if (*l->env->stop)
		return loader_stop(l, LOADER_STOPPED, "the runner is stopping");
	if (lease_cancelled(lease))
		return loader_stop(l, LOADER_CANCELLED, "cancelled");
	if (lease_lost(lease))
		return loader_stop(l, LOADER_LOST, "lease lost");
	return 0;
}

/*
 * Read bytes [from, to) of the file into the reader; for a part with
 * counted, its bytes go to the progress counters.  0 or -1 with l->fail.
 */
static int
loader_pread(struct loader *l, int fd, struct lease *lease,
    struct lease_counters *ctr, char *buf, int64_t from, int64_t to,
    int counted)
{
	ssize_t		 n;
	size_t		 want;
	uint64_t	 bytes = 0;

	while (from < to) {
		if (loader_interrupted(l, lease) != 0)
			return -1;
		want = to - from < LOADER_CHUNK ? (size_t)(to - from) :
		    LOADER_CHUNK;
		n = pread(fd, buf, want, from);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return loader_stop(l, LOADER_ERROR,
			    "could not read the file: %s", strerror(errno));
		if (n == 0)
			return loader_stop(l, LOADER_FAILED,
			    "the file changed after it was queued (shorter)");
		if (csvstream_feed(l->csv, buf, (size_t)n) != 0)
			return loader_csv_failed(l);
		from += n;
		if (counted) {
			bytes += (uint64_t)n;
			loader_publish(l, ctr, bytes);
		}
	}
	return 0;
}

/*
 * A part of a split job: the header line, then the part's lines, the
 * reader's line count set to the part's first line.  The split read the
 * whole file and checked its SHA-256 against the job's; here the file
 * must still be that one (its stamp), before and after the read.
 */
static int
loader_read_part(struct loader *l, int fd, struct lease *lease,
    struct lease_counters *ctr)
{
	const struct parts_db_part	*p = l->part;
	char			*buf, stamp[sizeof(p->stamp)];
	int			 rc = -1;

	if ((buf = malloc(LOADER_CHUNK)) == NULL)
		return loader_stop(l, LOADER_ERROR, "out of memory");
	if (jobfile_stamp(fd, stamp, sizeof(stamp)) != 0 ||
	    strcmp(stamp, p->stamp) != 0) {
		loader_stop(l, LOADER_FAILED, "the file changed after it was "
		    "queued");
		goto out;
	}
	if (p->first_byte > 0) {
		if (loader_pread(l, fd, lease, ctr, buf, 0, p->header_end, 0) !=
		    0)
			goto out;
		if (!l->have_header || csvstream_jump(l->csv,
		    (uint64_t)p->first_line) != 0) {
			loader_stop(l, LOADER_FAILED, "not a trips CSV: the "
			    "first line is not a header");
			goto out;
		}
	}
	if (loader_pread(l, fd, lease, ctr, buf, p->first_byte, p->end_byte,
	    1) != 0)
		goto out;
	if (csvstream_finish(l->csv) != 0) {
		loader_csv_failed(l);
		goto out;
	}
	if (jobfile_stamp(fd, stamp, sizeof(stamp)) != 0 ||
	    strcmp(stamp, p->stamp) != 0) {
		loader_stop(l, LOADER_FAILED, "the file changed after it was "
		    "queued");
		goto out;
	}
	loader_publish(l, ctr, (uint64_t)(p->end_byte - p->first_byte));
	rc = 0;
out:
	free(buf);
	return rc;
}

/* Read the whole file through the reader; 0 or -1 with l->fail set. */
static int
loader_read(struct loader *l, int fd, struct lease *lease,
    struct lease_counters *ctr)
{
	char		*buf;
	ssize_t		 n;
	uint64_t	 bytes = 0;
	int		 rc = -1;
	struct digest	*sha = NULL;
	char		 hex[DIGEST_HEX_SIZE];

	/*
	 * Hash what is loaded: an inbox file can change between its
	 * submission and its load, and its SHA-256 is what duplicate
	 * detection trusts (jobs_loaded_sha256).
	 */
	if ((buf = malloc(LOADER_CHUNK)) == NULL ||
	    (sha = digest_new()) == NULL) {
		rc = loader_stop(l, LOADER_ERROR, "out of memory");
		goto out;
	}
	for (;;) {
		if (loader_interrupted(l, lease) != 0)
			goto out;
		n = read(fd, buf, LOADER_CHUNK);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			loader_stop(l, LOADER_ERROR,
			    "could not read the file: %s", strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		if (digest_update(sha, buf, (size_t)n) != 0) {
			loader_stop(l, LOADER_ERROR, "could not hash the file");
			goto out;
		}
		if (csvstream_feed(l->csv, buf, (size_t)n) != 0)
			goto csv_failed;
		bytes += (uint64_t)n;
		loader_publish(l, ctr, bytes);
	}
	if (digest_hex(sha, hex) != 0) {
		loader_stop(l, LOADER_ERROR, "could not hash the file");
		goto out;
	}
	if (bytes != (uint64_t)l->job->bytes ||
	    strcmp(hex, l->job->sha256) != 0) {
		loader_stop(l, LOADER_FAILED, "the file changed after it was "
		    "queued (%llu bytes, SHA-256 %.12s...; queued: %lld bytes, "
		    "%.12s...)", (unsigned long long)bytes, hex,
		    (long long)l->job->bytes, l->job->sha256);
		goto out;
	}
	if (csvstream_finish(l->csv) != 0)
		goto csv_failed;
	if (csvstream_records(l->csv) == 0) {
		loader_stop(l, LOADER_FAILED, "empty file");
		goto out;
	}
	loader_publish(l, ctr, bytes);
	rc = 0;
	goto out;
csv_failed:
	loader_csv_failed(l);
out:
	digest_free(sha);
	free(buf);
	return rc;
}

/*
 * Wait for the index builds started on the trips connection, checking
 * for a cancel, a lost lease or a stop every LOADER_POLL_MS, then commit
 * the trips table: 0, or -1 with l->fail set.
 */
static int
loader_index_wait(struct loader *l, const struct lease *lease)
{
	struct pollfd	 pfd = { PQsocket(l->tc), POLLIN, 0 };
	PGresult	*res;
	int		 rc = 0;
	char		 why[LOADER_WHY];

	while (PQisBusy(l->tc)) {
		if (loader_interrupted(l, lease) != 0)
			return -1;
		if (poll(&pfd, 1, LOADER_POLL_MS) == -1 && errno != EINTR)
			return loader_stop(l, LOADER_ERROR, "could not wait "
			    "for the index: %s", strerror(errno));
		if (PQconsumeInput(l->tc) == 0)
			break;
	}
	while ((res = PQgetResult(l->tc)) != NULL) {
		if (PQresultStatus(res) != PGRES_TUPLES_OK)
			rc = -1;
		PQclear(res);
	}
	l->tc_state = LOADER_TC_OPEN;
	if (rc != 0)
		return loader_stop(l, LOADER_ERROR, "could not index the "
		    "trips: %s", PQerrorMessage(l->tc));
	if (runner_db_commit(l->tc, why, sizeof(why)) != 0) {
		l->tc_state = LOADER_TC_NONE;
		return loader_stop(l, LOADER_ERROR, "could not store trips: "
		    "%s", why);
	}
	l->tc_state = LOADER_TC_COMMITTED;
	return 0;
}

/*
 * Leave the trips connection idle: an index build still running is
 * cancelled, an open transaction rolled back, and a committed table
 * that the load did not attach (a failure, or a duplicate found at the
 * end) dropped; an attached one is the job's trips and stays.
 */
static void
loader_tc_end(struct loader *l)
{
	if (l->tc_state == LOADER_TC_INDEXING) {
		(void)db_cancel_wait(l->tc);
		l->tc_state = LOADER_TC_OPEN;
	}
	if (l->tc_state == LOADER_TC_OPEN && PQstatus(l->tc) == CONNECTION_OK)
		runner_db_command(l->tc, "ROLLBACK");
	if (l->tc_state == LOADER_TC_COMMITTED &&
	    tripspart_drop(l->tc, l->job->id) != 0)
		log_warn("job %d: could not drop its unattached trips table: "
		    "%s", l->job->id, PQerrorMessage(l->tc));
	l->tc_state = LOADER_TC_NONE;
}

/*
 * Commit the load: the job row and its event join the transaction.
 * Returns the outcome; the transaction is closed either way.
 */
static enum loader_outcome
loader_commit(struct loader *l, struct runner_db_result *r)
{
	PGconn			*c = l->env->work;
	enum runner_db_status	 st;
	int			 w;
	char			 why[LOADER_WHY];

	st = runner_db_end(c, l->job, RUNNER_DB_SUCCEEDED, r);
	if (st == RUNNER_DB_OK) {
		if (runner_db_commit(c, why, sizeof(why)) == 0)
			return LOADER_DONE;
		loader_stop(l, LOADER_ERROR, "could not commit: %s", why);
		return LOADER_ERROR;
	}
	/* Before the ROLLBACK, which clears it. */
	snprintf(why, sizeof(why), "%s", PQerrorMessage(c));
	runner_db_command(c, "ROLLBACK");
	if (st == RUNNER_DB_GONE) {
		/* Cancelled at the last moment, or no longer ours. */
		l->fail = LOADER_CANCELLED;
		return LOADER_CANCELLED;
	}
	if (st == RUNNER_DB_DUPLICATE) {
		/* Same content committed first by a concurrent load. */
		if ((w = runner_db_winner(c, l->job)) > 0) {
			memset(r, 0, sizeof(*r));
			r->duplicate_of = w;
			log_info("job %d: same content as job %d, loaded "
			    "concurrently", l->job->id, w);
			st = runner_db_finish(c, l->job, RUNNER_DB_SUCCEEDED,
			    r);
			if (st == RUNNER_DB_OK)
				return LOADER_DONE;
			/* As above: cancelled meanwhile, or not ours. */
			if (st == RUNNER_DB_GONE) {
				l->fail = LOADER_CANCELLED;
				return LOADER_CANCELLED;
			}
		}
	}
	/* A failure after the ROLLBACK (the duplicate's) is the one to tell. */
	loader_stop(l, LOADER_ERROR, "could not record the job: %s",
	    PQerrorMessage(c)[0] != '\0' ? PQerrorMessage(c) : why);
	return LOADER_ERROR;
}

/*
 * Commit a part of a split job (parts_db.h): under the job's parts lock,
 * a part that is not the last stages its aggregates; the last one merges
 * them with its own, attaches every part and ends the job as succeeded,
 * so that all of it appears in this one commit.  The lease is stopped before the final statements, as in
 * loader_commit.  Returns the outcome; the transaction is closed only
 * when it committed or the part was no longer ours.
 */
static enum loader_outcome
loader_commit_part(struct loader *l, struct lease **lease,
    struct runner_db_result *r)
{
	PGconn			*c = l->env->work;
	struct runner_db_result	 others, total;
	enum runner_db_status	 st;
	int			 last;
	char			 why[LOADER_WHY];

	if ((last = parts_db_others(c, l->job, l->part, &others)) < 0) {
		loader_stop(l, LOADER_ERROR, "could not record the part");
		return LOADER_ERROR;
	}
	lease_counters_phase(l->ctr, last ? LEASE_PHASE_MERGING :
	    LEASE_PHASE_AGGREGATING);
	if ((!last && aggregate_stage(l->agg) != 0) ||
	    (last && aggregate_unstage(l->agg) != 0)) {
		loader_stop(l, LOADER_ERROR, "%s", aggregate_error(l->agg));
		return LOADER_ERROR;
	}
	if (last && tripspart_parts_attach(c, l->job->id) != 0) {
		loader_stop(l, LOADER_ERROR, "could not attach the parts: %s",
		    PQerrorMessage(c));
		return LOADER_ERROR;
	}
	if (loader_interrupted(l, *lease) != 0)
		return l->fail;
	lease_stop(*lease);
	*lease = NULL;
	if (last) {
		total = *r;
		total.rows_loaded += others.rows_loaded;
		total.rows_rejected += others.rows_rejected;
		total.bytes_read += others.bytes_read;
		st = runner_db_end(c, l->job, RUNNER_DB_SUCCEEDED, &total);
		if (st == RUNNER_DB_GONE) {
			runner_db_command(c, "ROLLBACK");
			l->fail = LOADER_CANCELLED;
			return LOADER_CANCELLED;
		}
		if (st == RUNNER_DB_DUPLICATE) {
			/* Same content committed first by a concurrent load. */
			runner_db_command(c, "ROLLBACK");
			memset(&total, 0, sizeof(total));
			if ((total.duplicate_of = runner_db_winner(c, l->job)) >
			    0 && parts_db_end_job(c, l->job,
			    RUNNER_DB_SUCCEEDED, &total) == RUNNER_DB_OK) {
				log_info("job %d: same content as job %d, "
				    "loaded concurrently", l->job->id,
				    total.duplicate_of);
				*r = total;
				return LOADER_DONE;
			}
			loader_stop(l, LOADER_ERROR, "could not record the job");
			return LOADER_ERROR;
		}
		if (st != RUNNER_DB_OK) {
			loader_stop(l, LOADER_ERROR, "could not record the job: "
			    "%s", PQerrorMessage(c));
			runner_db_command(c, "ROLLBACK");
			return LOADER_ERROR;
		}
	}
	st = parts_db_loaded(c, l->job, l->part, r);
	if (st != RUNNER_DB_OK) {
		/* The message before the ROLLBACK, which clears it. */
		snprintf(why, sizeof(why), "%s", PQerrorMessage(c));
		runner_db_command(c, "ROLLBACK");
		if (st == RUNNER_DB_GONE) {
			l->fail = LOADER_LOST;
			return LOADER_LOST;
		}
		loader_stop(l, LOADER_ERROR, "could not record the part: %s",
		    why);
		return LOADER_ERROR;
	}
	if (runner_db_commit(c, why, sizeof(why)) != 0) {
		loader_stop(l, LOADER_ERROR, "could not commit: %s", why);
		return LOADER_ERROR;
	}
	if (last)
		*r = total;
	else			/* the lease is stopped: control is free */
		lease_part_loaded(l->env->control, l->job);
	return LOADER_DONE;
}

/* The load's counts as they stand, for the job's end. */
static void
loader_result(const struct loader *l, struct lease_counters *ctr,
    struct runner_db_result *r)
{
	r->rows_loaded = l->loaded;
	r->rows_rejected = l->rejects != NULL ? rejectlog_count(l->rejects) : 0;
	r->bytes_read = atomic_load(&ctr->bytes_read);
}

enum loader_outcome
loader_run(const struct loader_env *env, const struct runner_db_job *job,
    const struct parts_db_part *part, struct runner_db_result *r, char *err,
    size_t errsz)
{
	struct loader		 l;
	struct lease_counters	 ctr;
	struct lease		*lease = NULL;
	enum loader_outcome	 o;
	int64_t			 size;
	int			 fd = -1, permanent;

	memset(&l, 0, sizeof(l));
	memset(r, 0, sizeof(*r));
	l.env = env;
	l.job = job;
	l.part = part;
	l.err = err;
	l.errsz = errsz;
	l.fail = LOADER_ERROR;
	err[0] = '\0';
	lease_counters_init(&ctr, LEASE_PHASE_READING);
	l.ctr = &ctr;

	fd = jobfile_open(env->files, jobfile_source(job->source), job->path,
	    &size, &permanent, err, errsz);
	if (fd == -1) {
		l.fail = permanent ? LOADER_FAILED : LOADER_ERROR;
		goto out;
	}
	if (size == 0) {
		loader_stop(&l, LOADER_FAILED, "empty file");
		goto out;
	}
	if ((l.rejects = rejectlog_new(job->id)) == NULL ||
	    (l.csv = csvstream_new(LOADER_MAX_RECORD, loader_row, &l)) ==
	    NULL) {
		loader_stop(&l, LOADER_ERROR, "out of memory or temporary "
		    "files: %s", strerror(errno));
		goto out;
	}
	if (loader_slot_minutes(&l) != 0 || loader_begin(&l) != 0)
		goto out;
	if ((lease = lease_start(env->cfg, env->control, env->work, env->stop,
	    job, part, &ctr)) == NULL) {
		loader_stop(&l, LOADER_ERROR, "could not start the control "
		    "thread: %s", strerror(errno));
		goto out;
	}
	/*
	 * The lease outlives every aggregate_flush, aggregate_stage,
	 * aggregate_unstage and rejectlog_copy.
	 */
	aggregate_interrupt_with(l.agg, lease_interrupts, lease);
	rejectlog_interrupt_with(l.rejects, lease_interrupts, lease);
	l.mark = monoclock_seconds();
	if ((part == NULL ? loader_read(&l, fd, lease, &ctr) :
	    loader_read_part(&l, fd, lease, &ctr)) != 0)
		goto out;
	if (loader_flush_run(&l) != 0 || loader_copy_end(&l, NULL) != 0)
		goto out;
	loader_phase_end(&l, LOADER_PHASE_READ);
	/* A part's rejects are stored as part of its reading. */
	if (part == NULL)
		lease_counters_phase(&ctr, LEASE_PHASE_AGGREGATING);
	/*
	 * A whole job's table is indexed on its own connection while this
	 * one merges the aggregates: the merge is one backend, and the
	 * other core would wait (013_trips_index_apart.sql).
	 */
	if (part == NULL) {
		if (tripspart_index_send(l.tc, job->id) != 0) {
			loader_stop(&l, LOADER_ERROR, "could not index the "
			    "trips: %s", PQerrorMessage(l.tc));
			goto out;
		}
		l.tc_state = LOADER_TC_INDEXING;
	}
	/* A part's aggregates wait for loader_commit_part. */
	if (rejectlog_copy(l.rejects, env->work, err, errsz) != 0 ||
	    (part == NULL && aggregate_flush(l.agg) != 0)) {
		if (err[0] == '\0')
			snprintf(err, errsz, "%s", aggregate_error(l.agg));
		l.fail = LOADER_ERROR;
		goto out;
	}
	loader_phase_end(&l, LOADER_PHASE_AGGREGATE);
	lease_counters_phase(&ctr, LEASE_PHASE_INDEXING);
	/*
	 * Attach the job's table last (a part: index it): ATTACH locks the
	 * parent against other ATTACHes (SHARE UPDATE EXCLUSIVE) until our
	 * commit, so concurrent loads wait for each other only from here on.
	 * The index phase is the wait for the builds the merge did not hide.
	 */
	if (part == NULL && loader_index_wait(&l, lease) != 0)
		goto out;
	if ((part == NULL ? tripspart_attach(env->work, job->id) :
	    tripspart_part_index(env->work, job->id, part->part,
	    part->owner)) != 0) {
		loader_stop(&l, LOADER_ERROR, "could not index the trips: %s",
		    PQerrorMessage(env->work));
		goto out;
	}
	loader_phase_end(&l, LOADER_PHASE_INDEX);
	loader_result(&l, &ctr, r);
	if (part != NULL) {
		/*
		 * Done (committed), or a lost part whose row was gone (rolled
		 * back): nothing is open.  Any other end, a lease lost at the
		 * last check included, leaves the transaction open, and out
		 * rolls it back: else the next claim's BEGIN (a warning only
		 * inside a transaction) would have its COMMIT commit it.
		 */
		o = loader_commit_part(&l, &lease, r);
		if (PQtransactionStatus(env->work) == PQTRANS_IDLE) {
			lease_stop(lease);
			goto done;
		}
		goto out;
	}
	if (*env->stop || lease_cancelled(lease) || lease_lost(lease)) {
		loader_stop(&l, LOADER_STOPPED, "the runner is stopping");
		goto out;	/* which tells the three apart */
	}
	/*
	 * Stop the control thread before the job row is locked: its last
	 * progress event must come before 'succeeded', and its lease update
	 * would only wait for our commit.
	 */
	lease_stop(lease);
	lease = NULL;
	loader_result(&l, &ctr, r);
	o = loader_commit(&l, r);
	goto done;
out:
	/*
	 * An interruption explains whatever error it caused: the control
	 * thread cancels the running statement on a cancel request, a lost
	 * lease or a stop.
	 */
	o = l.fail;
	if (lease != NULL && lease_cancelled(lease))
		o = LOADER_CANCELLED;
	else if (lease != NULL && lease_lost(lease))
		o = LOADER_LOST;
	else if (*env->stop && o == LOADER_ERROR)
		o = LOADER_STOPPED;
	lease_stop(lease);
	if (l.in_copy)
		loader_copy_end(&l, "cancelled");
	if (PQtransactionStatus(env->work) != PQTRANS_IDLE &&
	    PQstatus(env->work) == CONNECTION_OK)
		runner_db_command(env->work, "ROLLBACK");
	loader_result(&l, &ctr, r);
done:
	if (l.tc != NULL && l.tc != env->work)
		loader_tc_end(&l);
	/* Only a commit comes here as done; failures pass through out. */
	if (o == LOADER_DONE) {
		loader_phase_end(&l, LOADER_PHASE_COMMIT);
		loader_phase_log(&l);
	}
	aggregate_free(l.agg);
	csvstream_free(l.csv);
	rejectlog_free(l.rejects);
	if (fd != -1)
		close(fd);
	return o;
}
