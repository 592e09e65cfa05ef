/*
 * dimcache.h: region and datasource names to their ids.  A hash map in
 * memory answers almost every row; an unknown name is added to its
 * dimension table on a connection of its own in autocommit mode, so that
 * concurrent runners never wait for each other's open load transaction
 * and a name, once added, is never taken back (a failed load leaves it:
 * harmless, the next file with that name reuses it).
 *
 * Names must be valid UTF-8 without NUL (trip_parse checks them); the
 * database refuses anything else.  The map holds at most DIMCACHE_MAX names per
 * dimension; when it is full it is emptied and refills on demand, so
 * memory stays flat and a file with millions of distinct names still
 * loads (slowly: one round trip per name).  datasources.id is a smallint:
 * the 32768th name cannot get an id, and its rows are rejected.
 */
#ifndef TRIPLINE_DIMCACHE_H
#define TRIPLINE_DIMCACHE_H

#include <stddef.h>

struct config;
struct dimcache;

enum dim {
	DIM_REGION,
	DIM_DATASOURCE,
	DIM__MAX
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

enum dimcache_status dimcache_id(struct dimcache *, enum dim,
	    const char *name, size_t len, int *id, char *reason,
	    size_t reasonsz);

#endif
