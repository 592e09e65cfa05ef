/*
 * relay.h: the one thread per FastCGI process that LISTENs for job events
 * and writes them to every event stream the process serves.  A worker
 * thread answers an events request up to its backlog, then hands the
 * FCGX_Request over and goes back to accepting: a thousand streams cost a
 * thousand sockets and one database connection, not a thousand threads
 * or connections (docs/events.md explains the design).
 *
 * The relay dispatches events in id order.  Its horizon is the id through
 * which every event has been sent to every stream it holds; a stream
 * handed over with after == horizon misses nothing and gets nothing
 * twice:
 *
 *	h = relay_horizon(wait);
 *	send the events in (last_event_id, h] from the worker's connection;
 *	while (relay_subscribe(req, job, h, last_event_id, &h) ==
 *	    RELAY_BEHIND)
 *		send the events in (previous h, h];
 */
#ifndef TRIPLINE_RELAY_H
#define TRIPLINE_RELAY_H

#include <stdint.h>

#include <fcgiapp.h>

struct config;

enum relay_take {
	RELAY_TAKEN,	/* the relay owns the request now */
	RELAY_BEHIND,	/* the horizon moved: send up to it, call again */
	RELAY_REFUSED,	/* stopping or not started: the caller keeps it */
	RELAY_TAKE__MAX
};

/*
 * Start the relay thread.  It connects (and reconnects) by itself, so a
 * database that is still starting does not stop the program.  Raises the
 * soft limit of open files to the hard one and ignores SIGPIPE: a stream
 * is a socket, and a client that went away must be a write error, not a
 * signal.  Returns 0, or -1 after logging.
 */
int	relay_start(const struct config *cfg);

/*
 * End every stream (clients resume elsewhere with Last-Event-ID), close
 * the connection and join the thread.  Safe to call when not started.
 */
void	relay_stop(void);

/*
 * The horizon, waiting up to wait_ms for the relay's first connection;
 * -1 when it has none yet or is stopping.
 */
int64_t	relay_horizon(int wait_ms);

/*
 * Hand req over: the relay sends it every event of job_id (every job when
 * job_id is 0) with an id above both at and after, a heartbeat comment
 * every 15 s, and for a job ends it after the job's final event.  at is
 * the horizon through which the caller sent the backlog; after is what
 * the client had before the backlog (its Last-Event-ID), which may be
 * above it.  An id at or below at that commits late (more than a second
 * after a higher one) is sent too when above after: the backlog may
 * not have had it.
 * When at is no longer the horizon, returns RELAY_BEHIND with the new
 * one in *horizon.  When taken, the relay owns req: it ends it with
 * FCGX_Finish_r and free(3), so req must come from malloc(3) and
 * FCGX_InitRequest, and the head and backlog must be flushed already.
 */
enum relay_take	relay_subscribe(FCGX_Request *req, int job_id, int64_t at,
	    int64_t after, int64_t *horizon);

#endif
