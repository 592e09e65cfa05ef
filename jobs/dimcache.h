/*
 * dimcache.h: region and datasource names to their ids.  A hash map in
 * memory answers almost every row; an unknown name is added to its
 * dimension table on a connection of its own in autocommit mode, so that
 * concurrent runners never wait for each other's open load transaction.
 * A name that no loaded trip uses (its job failed or was cancelled) is
 * removed by an idle runner's sweep (sql/migrations/026_name_sweep.sql);
 * every load holds the names lock that keeps sweeps out (dimcache_hold).
 *
 * Names must be valid UTF-8 without NUL (trip_parse checks them); the
 * database refuses anything else.  The map holds at most DIMCACHE_MAX names per
 * dimension; when it is full it is emptied and refills on demand, so
 * memory stays flat and a file with millions of distinct names still
 * loads (slowly: one round trip per name) when the cap allows it.
 * datasources.id is a smallint: once the identity is used up, a new name
 * gets the lowest id a sweep freed, and when none is free its rows are
 * rejected.  So that one file cannot use up every id, a load adds at most
 * TRIPLINE_MAX_NEW_NAMES new names of each dimension (a part of a split
 * file is a load); the rows of further new names are rejected.
 */
#ifndef TRIPLINE_DIMCACHE_H
#define TRIPLINE_DIMCACHE_H

#include <stddef.h>

#include <libpq-fe.h>

struct config;
struct dimcache;

enum dimcache_dim {
	DIMCACHE_REGION,
	DIMCACHE_DATASOURCE,
	DIMCACHE_DIM__MAX
};

#define DIMCACHE_MAX		100000

enum dimcache_status {
	DIMCACHE_OK,
	DIMCACHE_REJECT,	/* the row cannot be loaded, reason set */
	DIMCACHE_ERROR		/* database trouble: transient, reason set */
};

/* Connects lazily, on the first unknown name. */
struct dimcache *dimcache_new(const struct config *);
void	dimcache_free(struct dimcache *);

/*
 * In the load transaction on load, before its first name: wait for a
 * sweep under way and keep the next out until that transaction ends.
 * Forgets every id kept when a sweep removed names since.  0, or -1 on
 * trouble (the load cannot go on), said in why.
 */
int	dimcache_hold(struct dimcache *, PGconn *load, char *why, size_t whysz);

/*
 * Autocommit on c: remove the names no loaded trip uses, when no load
 * and no unfinished job is there.  How many were removed, or -1.
 */
int	dimcache_sweep(PGconn *c);

enum dimcache_status dimcache_id(struct dimcache *, enum dimcache_dim,
	    const char *name, size_t len, int *id, char *reason,
	    size_t reasonsz);

#endif
