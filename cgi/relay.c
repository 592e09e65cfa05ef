/*
 * relay.c: one connection LISTENs on tripline_events for the whole
 * process; each new job_events row is read once, formatted once and
 * queued to every stream that wants it.
 *
 * Threads: the relay thread owns the connection, the streams and their
 * queues.  Worker threads touch only the pending list and the published
 * horizon, under the mutex, and wake the relay through an eventfd.
 *
 * Order and gaps: identity values are taken at INSERT, but transactions
 * commit in any order, so id 11 may be visible before id 10.  The relay
 * reads "id > horizon ORDER BY id" and sends rows strictly in id order;
 * at a missing id it waits (RELAY_HOLE_MS) for the row to commit.  A
 * rolled-back insert leaves an id that never appears: after the wait the
 * relay goes on without it and remembers it for a while as "late", in
 * case it commits after all (it is then sent out of order rather than
 * lost).  NOTIFY is only the wake-up; a sweep every RELAY_SWEEP_MS reads
 * "id > horizon" anyway, so a lost notification or a reconnection costs
 * latency, never an event.  PostgreSQL docs, NOTIFY: "if a NOTIFY is
 * executed inside a transaction, the notify events are not delivered
 * until and unless the transaction is committed".
 *
 * Slow clients: each stream has a queue of shared messages.  A stream is
 * written only when poll(2) says its socket is writable, and a unix
 * socket is writable while at most a quarter of its send buffer is in
 * use (Linux net/unix/af_unix.c, unix_writable), so up to RELAY_WRITE_MAX
 * bytes go out without blocking; SO_SNDTIMEO bounds any write anyway.
 * While some stream has more than RELAY_QUEUE_HIGH bytes queued the relay
 * reads no new rows (a burst is passed on at the pace of the clients,
 * and memory stays bounded), and a stream that stays above that mark for
 * RELAY_STALL_MS is dropped: its client resumes with Last-Event-ID.  A
 * client that went away is noticed at once: nginx closes the connection
 * (POLLRDHUP), or the next write fails.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "config.h"
#include "db.h"
#include "jobstate.h"
#include "log.h"
#include "monoclock.h"
#include "num.h"
#include "relay.h"
#include "sse.h"

#define RELAY_CHANNEL		"tripline_events"
#define RELAY_BATCH		1000	/* rows per read: the LIMIT below */
#define RELAY_STR(x)		RELAY_STR_(x)
#define RELAY_STR_(x)		#x
#define RELAY_HEARTBEAT_MS	15000	/* the 15 s */
#define RELAY_SWEEP_MS		1000	/* read even without a NOTIFY */
#define RELAY_HOLE_MS		1000	/* wait for a missing id this long */
#define RELAY_RECONNECT_MS	1000
#define RELAY_READ_BYTES	(256 * 1024)	/* event data per read */
#define RELAY_QUEUE_HIGH	(512 * 1024)	/* bytes queued for a stream */
#define RELAY_STALL_MS		3000	/* above the mark this long: drop */
#define RELAY_WRITE_MAX		(64 * 1024)	/* per writable socket */
#define RELAY_SNDTIMEO_MS	1000
#define RELAY_GAPS		64
#define RELAY_LATE		256
#define RELAY_LATE_MS		(10 * 60 * 1000)
#define RELAY_NOFILE		65536

/* The relay's statements, all on its own connection. */
enum relay_sql {
	RELAY_SQL_LISTEN,
	RELAY_SQL_NEWEST,	/* the horizon of a first connection */
	RELAY_SQL_MISSING,	/* the ids below it not visible yet: late */
	RELAY_SQL_ROWS,		/* the rows above the horizon */
	RELAY_SQL_LATE,		/* late ids that committed after all */
	RELAY_SQL__MAX
};

static const char *const relay_sql[RELAY_SQL__MAX] = {
	"LISTEN " RELAY_CHANNEL,
	"SELECT coalesce(max(id), 0) FROM tripline.job_events",
	"SELECT g FROM generate_series(greatest($1::bigint - 63, 1), "
	"$1::bigint) g WHERE NOT EXISTS "
	"(SELECT 1 FROM tripline.job_events e WHERE e.id = g) ORDER BY g",
	"SELECT id, job_id, event, data::text FROM tripline.job_events "
	"WHERE id > $1::bigint ORDER BY id LIMIT " RELAY_STR(RELAY_BATCH),
	"SELECT id, job_id, event, data::text FROM tripline.job_events "
	"WHERE id = ANY($1::bigint[]) ORDER BY id",
};

struct qnode {
	struct sse_msg	*msg;
	struct qnode	*next;
};

struct stream {
	FCGX_Request	*req;
	int		 fd;
	int		 job_id;	/* 0: every job */
	int64_t		 skip;		/* sent or had up to this id */
	int64_t		 after;		/* the client had every id up to
					 * here before its backlog */
	int		 ending;	/* the job's final event is queued */
	int		 dead;		/* the client is gone or too slow */
	struct qnode	*qhead, *qtail;
	size_t		 qbytes;
	int64_t		 high_since;	/* above RELAY_QUEUE_HIGH since (ms) */
	struct stream	*next;		/* in the pending list */
};

/* Ids seen missing since a time (ms), waited for in order. */
struct gap {
	int64_t	 lo, hi, since;
};

/* Ids given up on, sent after all should they commit. */
struct late {
	int64_t	 id, since;
};

static struct relay {
	/* Shared with the workers, under mu. */
	pthread_mutex_t	 mu;
	pthread_cond_t	 ready;
	int64_t		 published;	/* the horizon; -1: none yet */
	struct stream	*pending;
	int		 started, stopping;
	/* Set before the thread starts. */
	const struct config *cfg;
	int		 wakefd;
	pthread_t	 thread;
	/* The relay thread's own. */
	PGconn		*conn;
	int64_t		 horizon;	/* -1: never connected */
	struct stream	**streams;
	int		 nstreams, capstreams;
	struct gap	 gaps[RELAY_GAPS];
	int		 ngaps;
	struct late	 late[RELAY_LATE];
	int		 nlate;
	struct pollfd	*pfd;
	size_t		 cappfd;
} relay = {
	.mu = PTHREAD_MUTEX_INITIALIZER,
	.ready = PTHREAD_COND_INITIALIZER,
	.published = -1,
	.horizon = -1,		/* none until the first connection reads it */
	.wakefd = -1,
};

/*
 * An id in row, col of res, or -1 when it is not one (NULL, not a
 * number, negative): the callers test ids inline, -1 being none.
 */
static int64_t
col_id(const PGresult *res, int row, int col)
{
	int64_t	 v;

	if (db_get_i64(res, row, col, 0, INT64_MAX, &v) != 0)
		return -1;
	return v;
}

/* -- streams ------------------------------------------------------------ */

static void
stream_enqueue(struct stream *s, struct sse_msg *m)
{
	struct qnode	*n;

	if (s->dead || s->ending)
		return;
	if ((n = malloc(sizeof(*n))) == NULL) {
		log_error("relay: out of memory: event stream dropped");
		s->dead = 1;
		return;
	}
	n->msg = sse_msg_ref(m);
	n->next = NULL;
	if (s->qtail != NULL)
		s->qtail->next = n;
	else
		s->qhead = n;
	s->qtail = n;
	s->qbytes += m->len;
}

static void
stream_pop(struct stream *s)
{
	struct qnode	*n = s->qhead;

	s->qhead = n->next;
	if (s->qhead == NULL)
		s->qtail = NULL;
	s->qbytes -= n->msg->len;
	sse_msg_free(n->msg);
	free(n);
}

/*
 * Write from the queue while under RELAY_WRITE_MAX bytes; the socket was
 * found writable, so this does not block.  0, or -1 when the client is
 * gone.
 */
static int
stream_write(struct stream *s)
{
	FCGX_Stream	*out = s->req->out;
	struct sse_msg	*m;
	size_t		 done = 0;

	while (s->qhead != NULL && done < RELAY_WRITE_MAX) {
		m = s->qhead->msg;
		if (FCGX_PutStr(m->text, (int)m->len, out) != (int)m->len)
			return -1;
		done += m->len;
		stream_pop(s);
	}
	return FCGX_FFlush(out) == 0 && FCGX_GetError(out) == 0 ? 0 : -1;
}

static void
stream_free(struct stream *s)
{
	if (s == NULL)
		return;
	if (s->req != NULL) {
		/*
		 * A dropped client may have stopped reading: the closing
		 * records must fail rather than block.  FCGX_Detach makes
		 * FCGX_Finish_r close(2) the socket at once instead of
		 * libfcgi's lingering close, which polls for up to 2 s.
		 */
		if (s->dead)
			fcntl(s->fd, F_SETFL, fcntl(s->fd, F_GETFL) | O_NONBLOCK);
		FCGX_Detach(s->req);
		FCGX_Finish_r(s->req);
		free(s->req);
	}
	while (s->qhead != NULL)
		stream_pop(s);
	free(s);
}

/*
 * Take the streams handed over since the last call and publish the new
 * horizon in one step: every stream taken here joined at the old
 * horizon and is about to be sent everything above it.
 */
static void
relay_adopt(struct relay *r, int64_t horizon)
{
	struct stream	*s, *next;
	struct stream	**grown;
	int		 cap;

	pthread_mutex_lock(&r->mu);
	for (s = r->pending; s != NULL; s = next) {
		next = s->next;
		s->next = NULL;
		if (r->nstreams == r->capstreams) {
			cap = r->capstreams ? r->capstreams * 2 : 64;
			grown = realloc(r->streams, (size_t)cap * sizeof(*grown));
			if (grown == NULL) {
				log_error("out of memory: event stream ended");
				stream_free(s);
				continue;
			}
			r->streams = grown;
			r->capstreams = cap;
		}
		r->streams[r->nstreams++] = s;
	}
	r->pending = NULL;
	if (horizon > r->published) {
		r->published = horizon;
		pthread_cond_broadcast(&r->ready);
	}
	pthread_mutex_unlock(&r->mu);
}

/*
 * Poll the streams with a queue at once and write to the writable ones;
 * then drop those that stayed too long above the high mark.
 */
static void
relay_flush(struct relay *r, int64_t now)
{
	struct pollfd	*pfd;
	struct stream	*s;
	int		 i, n = 0;

	if ((size_t)r->nstreams > r->cappfd) {
		pfd = realloc(r->pfd, (size_t)r->nstreams * 2 * sizeof(*pfd));
		if (pfd == NULL)
			return;		/* next round */
		r->pfd = pfd;
		r->cappfd = (size_t)r->nstreams * 2;
	}
	for (i = 0; i < r->nstreams; i++) {
		s = r->streams[i];
		if (s->dead || s->qhead == NULL)
			continue;
		r->pfd[n].fd = s->fd;
		r->pfd[n].events = POLLOUT;
		r->pfd[n].revents = 0;
		n++;
	}
	if (n > 0 && poll(r->pfd, (nfds_t)n, 0) > 0) {
		for (i = 0, n = 0; i < r->nstreams; i++) {
			s = r->streams[i];
			if (s->dead || s->qhead == NULL)
				continue;
			if (r->pfd[n].revents & (POLLERR | POLLHUP | POLLNVAL))
				s->dead = 1;
			else if ((r->pfd[n].revents & POLLOUT) &&
			    stream_write(s) != 0)
				s->dead = 1;
			n++;
		}
	}
	for (i = 0; i < r->nstreams; i++) {
		s = r->streams[i];
		if (s->dead || s->qbytes <= RELAY_QUEUE_HIGH) {
			s->high_since = 0;
			continue;
		}
		if (s->high_since == 0)
			s->high_since = now;
		else if (now - s->high_since >= RELAY_STALL_MS) {
			log_info("event stream dropped: its client reads too "
			    "slowly (%zu bytes queued)", s->qbytes);
			s->dead = 1;
		}
	}
}

/*
 * While a stream is above the high mark no rows are read; returns the
 * time it will be dropped if it stays there (INT64_MAX: none is).
 */
static int64_t
relay_backlogged(const struct relay *r)
{
	const struct stream *s;
	int64_t		 until = INT64_MAX;
	int		 i;

	for (i = 0; i < r->nstreams; i++) {
		s = r->streams[i];
		if (!s->dead && s->high_since != 0 &&
		    s->high_since + RELAY_STALL_MS < until)
			until = s->high_since + RELAY_STALL_MS;
	}
	return until;
}

/* End the streams that are done: dropped, or sent their final event. */
static void
relay_reap(struct relay *r)
{
	struct stream	*s;
	int		 i = 0;

	while (i < r->nstreams) {
		s = r->streams[i];
		if (s->dead || (s->ending && s->qhead == NULL)) {
			r->streams[i] = r->streams[--r->nstreams];
			stream_free(s);
		} else
			i++;
	}
}

static void
relay_broadcast_text(struct relay *r, const char *text)
{
	struct sse_msg	*m;
	int		 i;

	if ((m = sse_msg_new_text(text, strlen(text))) == NULL)
		return;
	for (i = 0; i < r->nstreams; i++)
		stream_enqueue(r->streams[i], m);
	sse_msg_free(m);
}

/* -- gaps and late ids ----------------------------------------------------- */

static void
gap_note(struct relay *r, int64_t lo, int64_t hi, int64_t now)
{
	int	 i, worst = 0;

	for (i = 0; i < r->ngaps; i++)
		if (r->gaps[i].lo <= lo && hi <= r->gaps[i].hi)
			return;
	if (r->ngaps == RELAY_GAPS) {
		/* Forget the highest gap: it is waited for last. */
		for (i = 1; i < r->ngaps; i++)
			if (r->gaps[i].lo > r->gaps[worst].lo)
				worst = i;
		r->gaps[worst] = r->gaps[--r->ngaps];
	}
	r->gaps[r->ngaps].lo = lo;
	r->gaps[r->ngaps].hi = hi;
	r->gaps[r->ngaps].since = now;
	r->ngaps++;
}

/* When lo..hi was first seen missing (now when it never was). */
static int64_t
gap_since(const struct relay *r, int64_t lo, int64_t hi, int64_t now)
{
	int	 i;

	for (i = 0; i < r->ngaps; i++)
		if (r->gaps[i].lo <= lo && hi <= r->gaps[i].hi)
			return r->gaps[i].since;
	return now;
}

static void
gap_prune(struct relay *r)
{
	int	 i = 0;

	while (i < r->ngaps) {
		if (r->gaps[i].hi <= r->horizon)
			r->gaps[i] = r->gaps[--r->ngaps];
		else
			i++;
	}
}

static int
late_find(const struct relay *r, int64_t id)
{
	int	 i;

	for (i = 0; i < r->nlate; i++)
		if (r->late[i].id == id)
			return i;
	return -1;
}

static void
late_add(struct relay *r, int64_t lo, int64_t hi, int64_t now)
{
	int64_t	 id;

	for (id = lo; id <= hi && id - lo < RELAY_LATE; id++) {
		if (late_find(r, id) >= 0)
			continue;
		if (r->nlate == RELAY_LATE) {
			/* The oldest goes. */
			memmove(&r->late[0], &r->late[1],
			    (RELAY_LATE - 1) * sizeof(r->late[0]));
			r->nlate--;
		}
		r->late[r->nlate].id = id;
		r->late[r->nlate].since = now;
		r->nlate++;
	}
}

static void
late_drop(struct relay *r, int i)
{
	memmove(&r->late[i], &r->late[i + 1],
	    (size_t)(r->nlate - i - 1) * sizeof(r->late[0]));
	r->nlate--;
}

static void
late_expire(struct relay *r, int64_t now)
{
	while (r->nlate > 0 && now - r->late[0].since > RELAY_LATE_MS)
		late_drop(r, 0);
}

/* -- database -------------------------------------------------------------- */

static void
relay_disconnect(struct relay *r)
{
	PQfinish(r->conn);
	r->conn = NULL;
}

/*
 * Connect and LISTEN.  The first time, the horizon starts at the newest
 * committed event ("from now"), and the ids just below it that are not
 * visible yet may belong to transactions still open: they are kept as
 * late ids.  LISTEN comes first, so nothing committed after the read
 * can pass unnoticed.
 */
static int
relay_connect(struct relay *r, int64_t now)
{
	PGresult	*res = NULL;
	const char	*vals[1];
	char		 buf[24];
	int64_t		 max, id;
	int		 i, rc = -1;

	if ((r->conn = db_connect(r->cfg, "tripline-cgi relay")) == NULL)
		return -1;
	res = PQexec(r->conn, relay_sql[RELAY_SQL_LISTEN]);
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		log_error("relay: LISTEN failed: %s", PQerrorMessage(r->conn));
		goto out;
	}
	if (r->published >= 0) {
		/* A reconnection: the next read starts at the horizon. */
		rc = 0;
		goto out;
	}
	PQclear(res);
	res = PQexec(r->conn, relay_sql[RELAY_SQL_NEWEST]);
	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1 ||
	    (max = col_id(res, 0, 0)) < 0) {
		log_error("relay: could not read the newest event: %s",
		    PQerrorMessage(r->conn));
		goto out;
	}
	PQclear(res);
	snprintf(buf, sizeof(buf), "%lld", (long long)max);
	vals[0] = buf;
	res = PQexecParams(r->conn, relay_sql[RELAY_SQL_MISSING], 1, NULL, vals,
	    NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		log_error("relay: could not read the newest event ids: %s",
		    PQerrorMessage(r->conn));
		goto out;
	}
	for (i = 0; i < PQntuples(res); i++)
		if ((id = col_id(res, i, 0)) > 0)
			late_add(r, id, id, now);
	r->horizon = max;
	relay_adopt(r, max);
	log_info("relay: listening on %s from event %lld", RELAY_CHANNEL,
	    (long long)max);
	rc = 0;
out:
	PQclear(res);
	if (rc != 0)
		relay_disconnect(r);
	return rc;
}

/*
 * Send one row of (id, job_id, event, data) to the streams that want it.
 * late: an id given up on that committed after all (relay_late).
 */
static void
relay_dispatch(struct relay *r, const PGresult *res, int row, int late)
{
	struct sse_msg	*m;
	enum job_event	 ev;
	int64_t		 id = col_id(res, row, 0);
	int64_t		 job = col_id(res, row, 1);
	int		 i, final;
	struct stream	*s;

	ev = jobstate_event_from_name(PQgetvalue(res, row, 2));
	if (ev == JOB_EVENT__MAX) {
		log_warn("relay: event %lld has an unknown name, not sent",
		    (long long)id);
		return;
	}
	m = sse_msg_new(id, jobstate_event_names[ev], PQgetvalue(res, row, 3),
	    (size_t)PQgetlength(res, row, 3));
	if (m == NULL) {
		log_warn("relay: event %lld has malformed data, not sent",
		    (long long)id);
		return;
	}
	final = jobstate_event_is_final(ev);
	for (i = 0; i < r->nstreams; i++) {
		s = r->streams[i];
		if (s->job_id != 0 && s->job_id != job)
			continue;
		/*
		 * At or below the horizon a stream joined at, an id was its
		 * backlog's to send; below its Last-Event-ID, the client has
		 * it.  A late id was not committed when the relay went on
		 * without it, so the backlog of a stream that joined since
		 * may not have had it: it is sent unless the client had it
		 * before (a job stream whose backlog had its final event
		 * ended there and is not here).
		 */
		if (late ? id <= s->after : id <= s->skip)
			continue;
		stream_enqueue(s, m);
		if (final && s->job_id != 0)
			s->ending = 1;
	}
	sse_msg_free(m);
}

/*
 * Read the rows above the horizon; *upto is how many of them to send now
 * (those before the first gap still waited for), *hnew the horizon after
 * them.  Returns the result (NULL on failure) for relay_dispatch.
 */
static PGresult *
relay_read(struct relay *r, int64_t now, int *upto, int64_t *hnew,
    int64_t *wake)
{
	PGresult	*res;
	const char	*vals[1];
	char		 buf[24];
	int64_t		 prev, id, since;
	size_t		 bytes = 0;
	int		 i, n, hole = 0;

	*upto = 0;
	*hnew = r->horizon;
	snprintf(buf, sizeof(buf), "%lld", (long long)r->horizon);
	vals[0] = buf;
	res = PQexecParams(r->conn, relay_sql[RELAY_SQL_ROWS], 1, NULL, vals,
	    NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		log_error("relay: could not read events: %s",
		    PQerrorMessage(r->conn));
		PQclear(res);
		relay_disconnect(r);
		return NULL;
	}
	n = PQntuples(res);
	/* Note every gap first, so that they are all waited for at once. */
	for (i = 0, prev = r->horizon; i < n; i++, prev = id)
		if ((id = col_id(res, i, 0)) > prev + 1)
			gap_note(r, prev + 1, id - 1, now);
	for (i = 0, prev = r->horizon; i < n; i++, prev = id) {
		id = col_id(res, i, 0);
		if (id <= prev)
			break;		/* not ordered: cannot happen */
		if (id > prev + 1) {
			since = gap_since(r, prev + 1, id - 1, now);
			if (now - since < RELAY_HOLE_MS) {
				*wake = since + RELAY_HOLE_MS;
				hole = 1;
				break;
			}
			log_warn("relay: event ids %lld..%lld did not commit "
			    "within %d ms, going on without them",
			    (long long)(prev + 1), (long long)(id - 1),
			    RELAY_HOLE_MS);
			late_add(r, prev + 1, id - 1, now);
		}
		*upto = i + 1;
		*hnew = id;
		/* A burst goes out in parts, at the pace of the clients. */
		if ((bytes += (size_t)PQgetlength(res, i, 3)) >=
		    RELAY_READ_BYTES)
			break;
	}
	/*
	 * There is more to read now, unless the rows stop at a missing id:
	 * then nothing comes before its commit (a NOTIFY) or *wake.
	 */
	if (!hole && (*upto < n || n == RELAY_BATCH))
		*wake = now;
	return res;
}

/* Send the late ids that committed after all, out of order. */
static void
relay_late(struct relay *r)
{
	PGresult	*res;
	const char	*vals[1];
	char		 list[RELAY_LATE * 21 + 3];
	size_t		 o = 0;
	int		 i, k, n;

	list[o++] = '{';
	for (i = 0; i < r->nlate; i++) {
		n = snprintf(list + o, sizeof(list) - o, "%s%lld",
		    i ? "," : "", (long long)r->late[i].id);
		if (n < 0 || (size_t)n >= sizeof(list) - o)
			return;
		o += (size_t)n;
	}
	list[o++] = '}';
	list[o] = '\0';
	vals[0] = list;
	res = PQexecParams(r->conn, relay_sql[RELAY_SQL_LATE], 1, NULL, vals,
	    NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		log_error("relay: could not read late events: %s",
		    PQerrorMessage(r->conn));
		PQclear(res);
		relay_disconnect(r);
		return;
	}
	for (i = 0; i < PQntuples(res); i++) {
		log_warn("relay: event %s committed late, sent out of order",
		    PQgetvalue(res, i, 0));
		relay_dispatch(r, res, i, 1);
		if ((k = late_find(r, col_id(res, i, 0))) >= 0)
			late_drop(r, k);
	}
	PQclear(res);
}

/*
 * Take the notifications libpq holds.  Returns 1 when there is something
 * to read: an id above the horizon (*late_due set for a late one).
 */
static int
relay_notifies(struct relay *r, int *late_due)
{
	PGnotify	*n;
	int64_t		 id;
	int		 any = 0;

	while ((n = PQnotifies(r->conn)) != NULL) {
		if (num_parse_i64(n->extra, strlen(n->extra), 1, INT64_MAX,
		    &id) == 0 && id <= r->horizon) {
			if (late_find(r, id) >= 0)
				*late_due = 1;
		} else
			any = 1;	/* a payload we cannot read: read */
		PQfreemem(n);
	}
	return any;
}

/* The socket is readable: read it, then take the notifications. */
static int
relay_notified(struct relay *r, int *late_due)
{
	if (!PQconsumeInput(r->conn)) {
		log_error("relay: connection lost: %s",
		    PQerrorMessage(r->conn));
		relay_disconnect(r);
		return 0;
	}
	return relay_notifies(r, late_due);
}

/* -- the thread --------------------------------------------------------------- */

static int
relay_stopping(struct relay *r)
{
	int	 v;

	pthread_mutex_lock(&r->mu);
	v = r->stopping;
	pthread_mutex_unlock(&r->mu);
	return v;
}

/* Build the poll set: the wakeup, the connection, every stream. */
static nfds_t
relay_pollset(struct relay *r)
{
	struct pollfd	*pfd;
	size_t		 need = (size_t)r->nstreams + 2;
	nfds_t		 n = 0;
	int		 i;

	if (need > r->cappfd) {
		if ((pfd = realloc(r->pfd, need * 2 * sizeof(*pfd))) == NULL)
			need = 2;	/* watch the streams next round */
		else {
			r->pfd = pfd;
			r->cappfd = need * 2;
		}
	}
	r->pfd[n].fd = r->wakefd;
	r->pfd[n++].events = POLLIN;
	r->pfd[n].fd = r->conn != NULL ? PQsocket(r->conn) : -1;
	r->pfd[n++].events = POLLIN;
	/*
	 * POLLRDHUP: nginx closes the connection when its client goes
	 * away; POLLIN is not asked for, the request's unread end of
	 * stdin would wake us forever.
	 */
	for (i = 0; i < r->nstreams && n < need; i++) {
		r->pfd[n].fd = r->streams[i]->fd;
		r->pfd[n++].events = POLLRDHUP |
		    (r->streams[i]->qhead != NULL ? POLLOUT : 0);
	}
	return n;
}

static void *
relay_main(void *arg)
{
	struct relay	*r = arg;
	PGresult	*res;
	int64_t		 now, next_hb, next_read, next_conn, wake, hnew, stall;
	int		 i, upto, read_due = 1, late_due = 1, timeout;
	nfds_t		 n, k;
	uint64_t	 junk;

	now = monoclock_ms();
	next_hb = now + RELAY_HEARTBEAT_MS;
	next_read = next_conn = now;
	for (;;) {
		if (r->conn == NULL && now >= next_conn) {
			if (relay_connect(r, now) != 0)
				next_conn = now + RELAY_RECONNECT_MS;
			else
				read_due = late_due = 1;
		}
		/* Sleep until the next timer: heartbeat, read, reconnect,
		 * or a stalled stream's drop. */
		stall = relay_backlogged(r);
		wake = next_hb < stall ? next_hb : stall;
		if (r->conn != NULL && stall == INT64_MAX) {
			if (read_due || late_due)
				wake = now;
			else if (next_read < wake)
				wake = next_read;
		}
		if (r->conn == NULL && next_conn < wake)
			wake = next_conn;
		timeout = wake <= now ? 0 : (int)(wake - now);
		n = relay_pollset(r);
		if (poll(r->pfd, n, timeout) < 0 && errno != EINTR) {
			log_error("relay: poll: %s", strerror(errno));
			usleep(100000);
		}
		now = monoclock_ms();
		if (relay_stopping(r))
			break;
		if (r->pfd[0].revents & POLLIN)
			(void)!read(r->wakefd, &junk, sizeof(junk));
		if (r->conn != NULL && (r->pfd[1].revents & POLLIN) &&
		    relay_notified(r, &late_due))
			read_due = 1;
		for (k = 2; k < n; k++) {
			if (r->pfd[k].revents & (POLLERR | POLLHUP | POLLNVAL |
			    POLLRDHUP))
				r->streams[k - 2]->dead = 1;
		}
		if (now >= next_read)
			read_due = late_due = 1;
		hnew = r->horizon;
		res = NULL;
		upto = 0;
		if (r->conn != NULL && read_due &&
		    relay_backlogged(r) == INT64_MAX) {
			wake = INT64_MAX;
			res = relay_read(r, now, &upto, &hnew, &wake);
			read_due = wake <= now;
			next_read = now + RELAY_SWEEP_MS;
			if (wake < next_read)
				next_read = wake;
		}
		/* Streams handed over until now join at the old horizon. */
		relay_adopt(r, hnew);
		for (i = 0; i < upto; i++)
			relay_dispatch(r, res, i, 0);
		PQclear(res);
		r->horizon = hnew;
		gap_prune(r);
		late_expire(r, now);
		if (r->conn != NULL && late_due) {
			if (r->nlate > 0)
				relay_late(r);
			late_due = 0;
		}
		/*
		 * Notifications libpq read in with those queries' results: the
		 * socket will not show them again, and they would wait for the
		 * sweep (up to RELAY_SWEEP_MS).
		 */
		if (r->conn != NULL && relay_notifies(r, &late_due))
			read_due = 1;
		if (now >= next_hb) {
			relay_broadcast_text(r, SSE_HEARTBEAT);
			next_hb = now + RELAY_HEARTBEAT_MS;
		}
		relay_flush(r, now);
		relay_reap(r);
	}
	/* Stopping: take the last handed-over streams and end them all. */
	relay_adopt(r, r->horizon);
	relay_broadcast_text(r, SSE_STOPPING);
	relay_flush(r, now);
	for (i = 0; i < r->nstreams; i++) {
		/* What could not be written now never will be. */
		if (r->streams[i]->qhead != NULL)
			r->streams[i]->dead = 1;
		stream_free(r->streams[i]);
	}
	r->nstreams = 0;
	relay_disconnect(r);
	return NULL;
}

/* -- the API -------------------------------------------------------------- */

int
relay_start(const struct config *cfg)
{
	struct relay	*r = &relay;
	struct rlimit	 rl;
	struct sigaction sa;

	/* A thousand streams are a thousand sockets. */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max &&
	    rl.rlim_cur < RELAY_NOFILE) {
		rl.rlim_cur = rl.rlim_max < RELAY_NOFILE ? rl.rlim_max :
		    RELAY_NOFILE;
		if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
			log_warn("relay: could not raise the open files "
			    "limit: %s", strerror(errno));
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_IGN;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGPIPE, &sa, NULL);

	r->cfg = cfg;
	if ((r->wakefd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0) {
		log_error("relay: eventfd: %s", strerror(errno));
		return -1;
	}
	if ((r->pfd = calloc(64, sizeof(*r->pfd))) == NULL) {
		log_error("relay: out of memory");
		goto fail;
	}
	r->cappfd = 64;
	pthread_mutex_lock(&r->mu);
	r->started = 1;
	r->stopping = 0;
	pthread_mutex_unlock(&r->mu);
	if ((errno = pthread_create(&r->thread, NULL, relay_main, r)) != 0) {
		log_error("relay: could not start its thread: %s",
		    strerror(errno));
		pthread_mutex_lock(&r->mu);
		r->started = 0;
		pthread_mutex_unlock(&r->mu);
		goto fail;
	}
	return 0;
fail:
	free(r->pfd);
	r->pfd = NULL;
	r->cappfd = 0;
	close(r->wakefd);
	r->wakefd = -1;
	return -1;
}

static void
relay_wake(struct relay *r)
{
	uint64_t one = 1;

	(void)!write(r->wakefd, &one, sizeof(one));
}

void
relay_stop(void)
{
	struct relay	*r = &relay;
	int		 started;

	pthread_mutex_lock(&r->mu);
	started = r->started;
	r->stopping = 1;
	pthread_cond_broadcast(&r->ready);
	pthread_mutex_unlock(&r->mu);
	if (!started)
		return;
	relay_wake(r);
	pthread_join(r->thread, NULL);
	pthread_mutex_lock(&r->mu);
	r->started = 0;
	r->published = -1;
	pthread_mutex_unlock(&r->mu);
	free(r->streams);
	r->streams = NULL;
	r->capstreams = 0;
	free(r->pfd);
	r->pfd = NULL;
	r->cappfd = 0;
	/*
	 * Under the lock: a worker in relay_subscribe writes to it under
	 * the lock, and must not write to a closed (or reused) descriptor.
	 */
	pthread_mutex_lock(&r->mu);
	close(r->wakefd);
	r->wakefd = -1;
	pthread_mutex_unlock(&r->mu);
}

int64_t
relay_horizon(int wait_ms)
{
	struct relay	*r = &relay;
	struct timespec	 until;
	int64_t		 h;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += wait_ms / 1000;
	until.tv_nsec += (long)(wait_ms % 1000) * 1000000;
	if (until.tv_nsec >= 1000000000) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000;
	}
	pthread_mutex_lock(&r->mu);
	while (r->started && !r->stopping && r->published < 0)
		if (pthread_cond_timedwait(&r->ready, &r->mu, &until) != 0)
			break;
	h = r->started && !r->stopping ? r->published : -1;
	pthread_mutex_unlock(&r->mu);
	return h;
}

enum relay_take
relay_subscribe(FCGX_Request *req, int job_id, int64_t at, int64_t after,
    int64_t *horizon)
{
	struct relay	*r = &relay;
	struct stream	*s;
	struct timeval	 tv = { RELAY_SNDTIMEO_MS / 1000,
	    (RELAY_SNDTIMEO_MS % 1000) * 1000 };
	enum relay_take	 rc = RELAY_TAKEN;

	if ((s = calloc(1, sizeof(*s))) == NULL) {
		log_error("relay: out of memory");
		return RELAY_REFUSED;
	}
	s->req = req;
	s->fd = req->ipcFd;
	s->job_id = job_id;
	s->skip = after > at ? after : at;
	s->after = after;
	/* The relay never waits long on one client. */
	setsockopt(s->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	pthread_mutex_lock(&r->mu);
	if (!r->started || r->stopping || r->published < 0)
		rc = RELAY_REFUSED;
	else if (at != r->published) {
		*horizon = r->published;
		rc = RELAY_BEHIND;
	} else {
		s->next = r->pending;
		r->pending = s;
		/* Under the lock: relay_stop closes the descriptor under it. */
		relay_wake(r);
	}
	pthread_mutex_unlock(&r->mu);
	if (rc != RELAY_TAKEN)
		free(s);
	return rc;
}
