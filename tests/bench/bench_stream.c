/*
 * bench_stream.c: N concurrent event streams on one job through nginx,
 * and the delay from each event's NOTIFY to its arrival on each stream.
 *
 *   bench_stream -p PORT -j JOB [-n 1000] [-t 600]
 *
 * It LISTENs on tripline_events itself (libpq; PGHOST, PGPORT, PGDATABASE
 * and PGUSER from the environment, as in var/env) and notes when each
 * event id is notified; each stream notes when each event arrives.  Both
 * are CLOCK_MONOTONIC in this one single-threaded process, so the delay
 * is NOTIFY -> relay -> nginx -> client, plus this loop's own turn.
 * Events that came in a stream's backlog (notified before we listened)
 * are not counted.
 *
 * Prints "ready" once every stream has its backlog (the job's 'queued'
 * event: the job must still be queued), then, when every stream has
 * ended or the time is up, lines "name value" for bench_stream.sh.
 *
 * A stream the program turns away before its first event (": busy" when
 * half its workers send backlogs: h_events.c, docs/events.md) is opened
 * again after its retry time, as EventSource would; how many were is
 * printed (busy_retries).
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>

#include <libpq-fe.h>

#define RAMP		100		/* connections being set up at once */
#define MAX_IDS		(1 << 22)	/* event ids tracked above the base */

enum cstate { C_IDLE, C_CONNECTING, C_HEAD, C_BODY, C_DONE, C_FAILED };
enum chunk { K_SIZE, K_SIZE_LF, K_DATA, K_DATA_CR, K_DATA_LF, K_END };

struct conn {
	int		 fd;
	enum cstate	 state;
	enum chunk	 chunk;
	long		 left;		/* bytes left in the chunk */
	char		 head[4096];
	size_t		 headlen;
	char		 line[1024];
	size_t		 linelen;
	int64_t		 id;		/* of the event being read */
	int		 final_ev;	/* ... and it is a final one */
	int		 events, got_first, got_final;
	int		 busy;		/* told ": busy" before any event */
	double		 not_before;	/* open again from then (busy) */
};

struct sample {
	int64_t	 id;
	double	 t;
};

static struct conn	*conns;
static int		 nconns, port, job;
static struct sample	*samples;
static size_t		 nsamples, capsamples;
static double		*notified;	/* by id - base; 0: not seen */
static int64_t		 base;
static int		 ep;
static int		 busy_retries;

#define BUSY_RETRY_S	1.0		/* the streams' retry: 1000 */

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
die(const char *what)
{
	fprintf(stderr, "bench_stream: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void
record(int64_t id, double t)
{
	if (nsamples == capsamples) {
		capsamples = capsamples ? capsamples * 2 : 65536;
		samples = realloc(samples, capsamples * sizeof(*samples));
		if (samples == NULL)
			die("realloc");
	}
	samples[nsamples].id = id;
	samples[nsamples].t = t;
	nsamples++;
}

static void
fail(struct conn *c, const char *why)
{
	if (c->state == C_FAILED || c->state == C_DONE)
		return;
	if (c->busy && !c->got_first) {
		/* Turned away: open again after the retry time. */
		epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
		close(c->fd);
		memset(c, 0, sizeof(*c));
		c->fd = -1;
		c->state = C_IDLE;
		c->not_before = now() + BUSY_RETRY_S;
		busy_retries++;
		return;
	}
	if (!c->got_final)
		fprintf(stderr, "stream %ld: %s after %d events\n",
		    (long)(c - conns), why, c->events);
	c->state = c->got_final ? C_DONE : C_FAILED;
	epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	c->fd = -1;
}

static void
start(struct conn *c)
{
	struct sockaddr_in	 sa;
	struct epoll_event	 ev;

	if ((c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0)) < 0)
		die("socket");
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 &&
	    errno != EINPROGRESS)
		die("connect");
	c->state = C_CONNECTING;
	ev.events = EPOLLOUT | EPOLLIN;
	ev.data.ptr = c;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev) != 0)
		die("epoll_ctl");
}

/* One line of the event stream (without its LF). */
static void
sse_line(struct conn *c, const char *l, size_t n, double t)
{
	if (n == 0) {
		if (c->id > 0) {
			c->events++;
			if (!c->got_first)
				c->got_first = 1;
			else
				record(c->id, t);
			if (c->final_ev)
				c->got_final = 1;
		}
		c->id = 0;
		c->final_ev = 0;
		return;
	}
	if (n >= 6 && memcmp(l, ": busy", 6) == 0)
		c->busy = 1;
	else if (n > 4 && memcmp(l, "id: ", 4) == 0)
		c->id = strtoll(l + 4, NULL, 10);
	else if (n > 7 && memcmp(l, "event: ", 7) == 0)
		c->final_ev = (n == 16 && memcmp(l + 7, "succeeded", 9) == 0) ||
		    (n == 13 && memcmp(l + 7, "failed", 6) == 0) ||
		    (n == 16 && memcmp(l + 7, "cancelled", 9) == 0);
}

static void
body_byte(struct conn *c, char b, double t)
{
	if (b == '\n') {
		sse_line(c, c->line, c->linelen, t);
		c->linelen = 0;
	} else if (c->linelen < sizeof(c->line))
		c->line[c->linelen++] = b;
}

/* Chunked transfer coding, RFC 9112 section 7.1. */
static void
body(struct conn *c, const char *p, size_t n, double t)
{
	size_t	 i;
	int	 h;

	for (i = 0; i < n; i++) {
		char b = p[i];

		switch (c->chunk) {
		case K_SIZE:
			if (b == '\r') {
				c->chunk = K_SIZE_LF;
				break;
			}
			h = b >= '0' && b <= '9' ? b - '0' :
			    b >= 'a' && b <= 'f' ? b - 'a' + 10 :
			    b >= 'A' && b <= 'F' ? b - 'A' + 10 : -1;
			if (h < 0) {
				fail(c, "bad chunk size");
				return;
			}
			c->left = c->left * 16 + h;
			break;
		case K_SIZE_LF:
			c->chunk = c->left == 0 ? K_END : K_DATA;
			if (c->left == 0) {
				/* The last chunk: the stream ended. */
				fail(c, "ended");
				return;
			}
			break;
		case K_DATA:
			body_byte(c, b, t);
			if (--c->left == 0)
				c->chunk = K_DATA_CR;
			break;
		case K_DATA_CR:
			c->chunk = K_DATA_LF;
			break;
		case K_DATA_LF:
			c->chunk = K_SIZE;
			c->left = 0;
			break;
		case K_END:
			return;
		}
	}
}

static void
readable(struct conn *c)
{
	char	 buf[65536], *end;
	ssize_t	 n;
	double	 t;
	size_t	 take, hl;

	for (;;) {
		n = read(c->fd, buf, sizeof(buf));
		t = now();
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n <= 0) {
			fail(c, n == 0 ? "closed" : strerror(errno));
			return;
		}
		if (c->state == C_HEAD) {
			take = (size_t)n;
			if (take > sizeof(c->head) - 1 - c->headlen)
				take = sizeof(c->head) - 1 - c->headlen;
			memcpy(c->head + c->headlen, buf, take);
			c->headlen += take;
			c->head[c->headlen] = '\0';
			if ((end = strstr(c->head, "\r\n\r\n")) == NULL)
				continue;
			if (strncmp(c->head, "HTTP/1.1 200", 12) != 0 ||
			    strstr(c->head, "chunked") == NULL) {
				fail(c, "not a 200 chunked stream");
				return;
			}
			hl = (size_t)(end + 4 - c->head);
			c->state = C_BODY;
			/* The rest of this read is body. */
			body(c, buf + (hl - (c->headlen - take)),
			    (size_t)n - (hl - (c->headlen - take)), t);
		} else if (c->state == C_BODY)
			body(c, buf, (size_t)n, t);
		if (c->fd < 0)
			return;
	}
}

static void
writable(struct conn *c)
{
	struct epoll_event	 ev;
	char			 req[256];
	int			 err = 0, len;
	socklen_t		 sl = sizeof(err);

	if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &sl) != 0 || err) {
		errno = err;
		fail(c, "connect failed");
		return;
	}
	len = snprintf(req, sizeof(req), "GET /api/jobs/%d/events HTTP/1.1\r\n"
	    "Host: 127.0.0.1:%d\r\nAccept: text/event-stream\r\n\r\n", job,
	    port);
	if (write(c->fd, req, (size_t)len) != len) {
		fail(c, "write");
		return;
	}
	c->state = C_HEAD;
	ev.events = EPOLLIN;
	ev.data.ptr = c;
	epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double
pct(const double *v, size_t n, double p)
{
	size_t i;

	if (n == 0)
		return -1;
	i = (size_t)(p * (double)(n - 1) + 0.5);
	return v[i];
}

int
main(int argc, char **argv)
{
	struct epoll_event	 evs[256];
	struct rlimit		 rl;
	PGconn			*pg;
	PGresult		*res;
	PGnotify		*nt;
	struct epoll_event	 pev;
	double			 t0, deadline, *d;
	double			 limit = 600;
	size_t			 nd = 0, i;
	int			 opt, n, k, pending, ready = 0, live, held = 0;
	int64_t			 id;

	nconns = 1000;
	while ((opt = getopt(argc, argv, "p:j:n:t:")) != -1) {
		switch (opt) {
		case 'p': port = atoi(optarg); break;
		case 'j': job = atoi(optarg); break;
		case 'n': nconns = atoi(optarg); break;
		case 't': limit = atof(optarg); break;
		default:
			fprintf(stderr, "usage: bench_stream -p PORT -j JOB "
			    "[-n STREAMS] [-t SECONDS]\n");
			return 2;
		}
	}
	if (port <= 0 || job <= 0 || nconns <= 0)
		return 2;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	if ((ep = epoll_create1(0)) < 0)
		die("epoll_create1");

	pg = PQconnectdb("application_name=bench_stream");
	if (PQstatus(pg) != CONNECTION_OK) {
		fprintf(stderr, "bench_stream: %s", PQerrorMessage(pg));
		return 1;
	}
	PQclear(PQexec(pg, "LISTEN tripline_events"));
	res = PQexec(pg, "SELECT coalesce(max(id), 0) FROM tripline.job_events");
	base = PQresultStatus(res) == PGRES_TUPLES_OK ?
	    strtoll(PQgetvalue(res, 0, 0), NULL, 10) : 0;
	PQclear(res);
	if ((notified = calloc(MAX_IDS, sizeof(*notified))) == NULL ||
	    (conns = calloc((size_t)nconns, sizeof(*conns))) == NULL)
		die("calloc");
	pev.events = EPOLLIN;
	pev.data.ptr = NULL;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, PQsocket(pg), &pev) != 0)
		die("epoll_ctl");

	t0 = now();
	deadline = t0 + limit;
	for (;;) {
		/* Ramp up: a few connections being set up at a time. */
		pending = 0;
		for (k = 0; k < nconns; k++)
			if (conns[k].state == C_CONNECTING ||
			    (conns[k].state == C_HEAD))
				pending++;
		for (k = 0; k < nconns && pending < RAMP; k++)
			if (conns[k].state == C_IDLE &&
			    now() >= conns[k].not_before) {
				start(&conns[k]);
				pending++;
			}
		live = 0;
		n = 0;
		for (k = 0; k < nconns; k++) {
			if (conns[k].state != C_DONE &&
			    conns[k].state != C_FAILED)
				live++;
			if (conns[k].got_first)
				n++;
		}
		if (!ready && n == nconns) {
			printf("ready %.3f\n", now() - t0);
			fflush(stdout);
			ready = 1;
		}
		if (live == 0 || now() > deadline)
			break;
		n = epoll_wait(ep, evs, 256, 100);
		/* The notifications first: they are the start of each delay. */
		for (k = 0; k < n; k++) {
			double t = now();

			if (evs[k].data.ptr != NULL)
				continue;
			PQconsumeInput(pg);
			while ((nt = PQnotifies(pg)) != NULL) {
				id = strtoll(nt->extra, NULL, 10);
				if (id > base && id - base < MAX_IDS &&
				    notified[id - base] == 0)
					notified[id - base] = t;
				PQfreemem(nt);
			}
		}
		for (k = 0; k < n; k++) {
			struct conn *c = evs[k].data.ptr;

			if (c == NULL || c->fd < 0)
				continue;
			if (c->state == C_CONNECTING)
				writable(c);
			else
				readable(c);
		}
	}

	/* Delays, in ms, of every event that was notified while we listened. */
	d = malloc((nsamples + 1) * sizeof(*d));
	for (i = 0; i < nsamples; i++) {
		id = samples[i].id;
		if (id <= base || id - base >= MAX_IDS || notified[id - base] == 0)
			continue;
		d[nd++] = (samples[i].t - notified[id - base]) * 1000;
	}
	qsort(d, nd, sizeof(*d), cmp_double);
	for (k = 0; k < nconns; k++)
		if (conns[k].got_final && conns[k].state != C_FAILED)
			held++;
	n = 0;
	for (k = 0; k < nconns; k++)
		if (conns[k].events > n)
			n = conns[k].events;
	printf("streams %d\n", nconns);
	printf("streams_held %d\n", held);
	printf("events_per_stream %d\n", n);
	printf("busy_retries %d\n", busy_retries);
	printf("samples %zu\n", nd);
	printf("delay_median_ms %.2f\n", pct(d, nd, 0.5));
	printf("delay_p99_ms %.2f\n", pct(d, nd, 0.99));
	printf("delay_max_ms %.2f\n", nd ? d[nd - 1] : -1.0);
	printf("seconds %.1f\n", now() - t0);
	free(d);
	PQfinish(pg);
	return held == nconns ? 0 : 1;
}
