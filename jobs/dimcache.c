/*
 * dimcache.c: an open-addressing hash map (linear probing, FNV-1a) per
 * dimension, in front of regions and datasources.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "config.h"
#include "db.h"
#include "dimcache.h"
#include "log.h"

/* A power of two at least DIMCACHE_MAX / 0.7, so probes stay short. */
#define DIMCACHE_NO_ID	(-1)	/* cached: the name cannot get an id */
#define DIMCACHE_SLOTS	(1u << 18)

struct dimslot {
	uint64_t	 hash;
	char		*name;		/* NULL: empty slot */
	size_t		 len;
	int		 id;
};

struct dimmap {
	struct dimslot	*slot;
	size_t		 count;
	/* The last name found: consecutive rows mostly repeat it. */
	const struct dimslot *last;
};

struct dimcache {
	const struct config	*cfg;
	PGconn			*conn;
	struct dimmap		 map[DIM__MAX];
};

static const struct {
	const char	*what;		/* for reasons: "region" */
	const char	*sql;		/* $1 name -> id, or no row */
} dims[DIM__MAX] = {
	{ "region",	/* DIM_REGION */
	  "WITH s AS (SELECT id FROM tripline.regions WHERE name = $1), "
	  "i AS (INSERT INTO tripline.regions (name) SELECT $1 "
	  "WHERE NOT EXISTS (SELECT FROM s) "
	  "ON CONFLICT (name) DO NOTHING RETURNING id) "
	  "SELECT id FROM s UNION ALL SELECT id FROM i" },
	{ "datasource",	/* DIM_DATASOURCE */
	  "WITH s AS (SELECT id FROM tripline.datasources WHERE name = $1), "
	  "i AS (INSERT INTO tripline.datasources (name) SELECT $1 "
	  "WHERE NOT EXISTS (SELECT FROM s) "
	  "ON CONFLICT (name) DO NOTHING RETURNING id) "
	  "SELECT id FROM s UNION ALL SELECT id FROM i" },
};

static uint64_t
dimcache_hash(const char *s, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	size_t	 i;

	for (i = 0; i < len; i++) {
		h ^= (unsigned char)s[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

static void
dimmap_clear(struct dimmap *m)
{
	size_t i;

	if (m->slot == NULL)
		return;
	for (i = 0; i < DIMCACHE_SLOTS; i++) {
		free(m->slot[i].name);
		m->slot[i].name = NULL;
	}
	m->count = 0;
	m->last = NULL;
}

struct dimcache *
dimcache_new(const struct config *cfg)
{
	struct dimcache	*d;
	int		 i;

	if ((d = calloc(1, sizeof(*d))) == NULL)
		return NULL;
	d->cfg = cfg;
	for (i = 0; i < DIM__MAX; i++)
		if ((d->map[i].slot = calloc(DIMCACHE_SLOTS,
		    sizeof(struct dimslot))) == NULL) {
			dimcache_free(d);
			return NULL;
		}
	return d;
}

void
dimcache_free(struct dimcache *d)
{
	int i;

	if (d == NULL)
		return;
	for (i = 0; i < DIM__MAX; i++) {
		dimmap_clear(&d->map[i]);
		free(d->map[i].slot);
	}
	PQfinish(d->conn);
	free(d);
}

/*
 * Ask the database.  Two tries: when a concurrent runner inserts the same
 * name between our SELECT and INSERT, ON CONFLICT DO NOTHING returns no
 * row, and the second try finds the committed name.  Returns 1 with *id,
 * 0 when the name cannot get an id (reason set), -1 on trouble.
 */
static int
dimcache_fetch(struct dimcache *d, enum dim k, const char *name,
    size_t len, int *id, char *reason, size_t reasonsz)
{
	const char	*vals[1] = { name };
	const int	 lens[1] = { (int)len };
	const int	 fmts[1] = { 1 };	/* binary: no NUL needed */
	PGresult	*res = NULL;
	const char	*state;
	int		 try, rc = -1;

	if (d->conn != NULL && PQstatus(d->conn) != CONNECTION_OK) {
		PQfinish(d->conn);
		d->conn = NULL;
	}
	if (d->conn == NULL &&
	    (d->conn = db_connect(d->cfg, "tripline-runner-dims")) == NULL) {
		snprintf(reason, reasonsz, "could not connect to the database");
		return -1;
	}
	for (try = 0; try < 2; try++) {
		/* text parameters sent in binary format are the raw bytes */
		res = PQexecParams(d->conn, dims[k].sql, 1, NULL, vals, lens,
		    fmts, 0);
		if (PQresultStatus(res) != PGRES_TUPLES_OK) {
			state = db_sqlstate(res);
			/*
			 * 2200H: the identity sequence is exhausted (smallint
			 * datasources); 22003: a value out of range.
			 */
			if (strcmp(state, "2200H") == 0 ||
			    strcmp(state, "22003") == 0) {
				snprintf(reason, reasonsz, "too many %ss",
				    dims[k].what);
				rc = 0;
			} else {
				snprintf(reason, reasonsz,
				    "could not add a %s: %s", dims[k].what,
				    PQerrorMessage(d->conn));
				log_error("%s", reason);
			}
			goto out;
		}
		if (PQntuples(res) == 1) {
			*id = atoi(PQgetvalue(res, 0, 0));
			rc = 1;
			goto out;
		}
		PQclear(res);
		res = NULL;
	}
	snprintf(reason, reasonsz, "could not add a %s", dims[k].what);
out:
	PQclear(res);
	return rc;
}

enum dimcache_status
dimcache_id(struct dimcache *d, enum dim k, const char *name, size_t len,
    int *id, char *reason, size_t reasonsz)
{
	struct dimmap	*m = &d->map[k];
	struct dimslot	*s;
	uint64_t	 h;
	size_t		 i;
	int		 r;

	if (m->last != NULL && m->last->len == len &&
	    memcmp(m->last->name, name, len) == 0) {
		*id = m->last->id;
		return DIMCACHE_OK;
	}
	h = dimcache_hash(name, len);
	for (i = h & (DIMCACHE_SLOTS - 1); m->slot[i].name != NULL;
	    i = (i + 1) & (DIMCACHE_SLOTS - 1)) {
		s = &m->slot[i];
		if (s->hash == h && s->len == len &&
		    memcmp(s->name, name, len) == 0)
			goto found;
	}
	if ((r = dimcache_fetch(d, k, name, len, id, reason, reasonsz)) < 0)
		return DIMCACHE_ERROR;
	/* A name without an id is cached too: one round trip, not one a row. */
	if (r == 0)
		*id = DIMCACHE_NO_ID;
	if (m->count >= DIMCACHE_MAX) {
		dimmap_clear(m);
		i = h & (DIMCACHE_SLOTS - 1);
	}
	s = &m->slot[i];
	if ((s->name = malloc(len)) == NULL)	/* not cached, still correct */
		return *id == DIMCACHE_NO_ID ? DIMCACHE_REJECT : DIMCACHE_OK;
	memcpy(s->name, name, len);
	s->hash = h;
	s->len = len;
	s->id = *id;
	m->count++;
found:
	if (s->id == DIMCACHE_NO_ID) {
		snprintf(reason, reasonsz, "too many %ss", dims[k].what);
		return DIMCACHE_REJECT;
	}
	m->last = s;
	*id = s->id;
	return DIMCACHE_OK;
}
