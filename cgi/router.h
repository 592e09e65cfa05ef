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
 * after logging.  router_stop ends them, at shutdown.
 */
int	router_start(const struct config *cfg);
void	router_stop(void);

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
