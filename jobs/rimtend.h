/*
 * rimtend.h: the upkeep of the reports' tables by an idle runner, on its
 * trips connection without waiting: merge each loaded job's groups into
 * trip_groups, build its rim table, then merge rim tables; cancelled
 * when a job comes (sql/migrations/015_rims_both_ends.sql and
 * 017_groups_later.sql, trip_rims_tend).
 */
#ifndef TRIPLINE_RIMTEND_H
#define TRIPLINE_RIMTEND_H

#include <libpq-fe.h>

struct rimtend;

/*
 * min_parts: TRIPLINE_RIM_COMPACT (0: off; 1: all but the rim merge);
 * lag: TRIPLINE_RIM_LAG, seconds a job's groups or rim table may wait
 * for an idle moment (0: for ever).
 */
struct rimtend	*rimtend_new(int min_parts, int lag);
void		 rimtend_free(struct rimtend *);
/*
 * When idle: start the next step on c if none runs, the upkeep is on and
 * its retry time has come; otherwise see whether the running one ended
 * (and log what it did).  Never waits.  1 while a step runs (look again
 * soon), 0 when none does, -1 if c broke.
 */
int	rimtend_idle(struct rimtend *, PGconn *c);
/*
 * Before claiming a job: whether to wait instead, because a job's groups
 * or rim table have waited longer than the lag (asked on work) and are
 * being done on c; a queue that never empties would otherwise leave
 * every report on its slower way.  Never waits.  1: do not claim yet
 * (look again soon), 0: claim, -1 if c broke.
 */
int	rimtend_hold(struct rimtend *, PGconn *work, PGconn *c);
/*
 * Before c is used for anything else: cancel a running step (its
 * transaction rolls back) and wait for c to be free.
 */
void	rimtend_stop(struct rimtend *, PGconn *c);
/* A job ended: the next idle moment has its groups and rim table to do. */
void	rimtend_due(struct rimtend *);
/*
 * The socket of c while a step runs on it and has not answered (what
 * came is read first), so that a wait ends when it answers; -1 when none
 * runs, or its answer is there to take (a wait on it would not wait).
 */
int	rimtend_socket(const struct rimtend *, PGconn *c);

#endif
