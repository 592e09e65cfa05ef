/*
 * router.h: one FastCGI request from accept to answer.
 */
#ifndef TRIPLINE_ROUTER_H
#define TRIPLINE_ROUTER_H

#include <fcgiapp.h>
#include <libpq-fe.h>

struct config;

/*
 * Start the background services of the handler modules (see the
 * services table in router.c), before the workers accept; 0, or -1
 * after logging.  At shutdown, router_stop(ROUTER_BEFORE_DRAIN) ends
 * those that requests may be waiting on, before the workers are joined,
 * and router_stop(ROUTER_AFTER_DRAIN) the rest, once no request runs.
 */
enum router_stage {
	ROUTER_BEFORE_DRAIN,
	ROUTER_AFTER_DRAIN,
	ROUTER_STAGE__MAX
};

int	router_start(const struct config *cfg);
void	router_stop(enum router_stage);

/*
 * Route the accepted request f to its handler (or answer 404, 405, 401
 * itself) and log one line for it.  conn is the calling worker's own
 * database connection slot (NULL until first needed).  Returns 1 when a
 * handler handed f over to another thread (the worker must then neither
 * finish nor reuse it), else 0.
 */
int	router_handle(FCGX_Request *f, const struct config *cfg,
	    PGconn **conn);

#endif
