/*
 * dimcache.c: an open-addressing hash map (linear probing, FNV-1a) per
 * dimension, in front of regions and datasources.
 */
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "config.h"
#include "db.h"
#include "dimcache.h"

/* Cached: the name cannot get an id, for one of these reasons. */
#define DIMCACHE_NO_ID	(-1)	/* every id is taken */
#define DIMCACHE_CAPPED	(-2)	/* this load added max_new_names already */
/* A power of two at least DIMCACHE_MAX / 0.7, so probes stay short. */
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
	struct dimmap		 map[DIMCACHE_DIM__MAX];
	int64_t			 epoch;	/* name_sweeps.epoch of the ids kept */
	/* This load's: names it added, and whether one was refused so. */
	int			 added[DIMCACHE_DIM__MAX];
	int			 capped[DIMCACHE_DIM__MAX];
};

/*
 * A new name also sets name_sweeps.added (when not set: the row is
 * written once per sweep, not once per name), so that an idle runner's
 * sweep (026_name_sweep.sql) looks for names no trip uses.
 */
#define DIM_ADDED_CTE \
	"a AS (UPDATE tripline.name_sweeps SET added = true " \
	"WHERE NOT added AND EXISTS (SELECT FROM i)) "
/* $1 name -> id and whether this statement added it, or no row. */
#define DIM_ADD_SQL(table) \
	"WITH s AS (SELECT id FROM tripline." table " WHERE name = $1), " \
	"i AS (INSERT INTO tripline." table " (name) SELECT $1 " \
	"WHERE NOT EXISTS (SELECT FROM s) " \
	"ON CONFLICT (name) DO NOTHING RETURNING id), " \
	DIM_ADDED_CTE \
	"SELECT id, false FROM s UNION ALL SELECT id, true FROM i"
#define DIM_FIND_SQL(table) \
	"SELECT id, false FROM tripline." table " WHERE name = $1"

static const struct {
	const char	*what;		/* for reasons: "region" */
	const char	*sql;		/* DIM_ADD_SQL */
	const char	*find;		/* once this load may add no more */
	/*
	 * Once the identity is used up: $1 name -> the lowest id a sweep
	 * freed, or no row (none free, or taken at the same moment by
	 * another runner: the next try sees which).  NULL: ids are never
	 * given again (regions: an integer identity).
	 */
	const char	*reuse;
} dims[DIMCACHE_DIM__MAX] = {
	{ "region",	/* DIMCACHE_REGION */
	  DIM_ADD_SQL("regions"),
	  DIM_FIND_SQL("regions"),
	  NULL },
	{ "datasource",	/* DIMCACHE_DATASOURCE */
	  DIM_ADD_SQL("datasources"),
	  DIM_FIND_SQL("datasources"),
	  "WITH f AS (SELECT g FROM generate_series(1, 32767) g "
	  "WHERE NOT EXISTS (SELECT FROM tripline.datasources d "
	  "WHERE d.id = g) LIMIT 1), "
	  "i AS (INSERT INTO tripline.datasources (id, name) "
	  "SELECT g, $1 FROM f ON CONFLICT DO NOTHING RETURNING id), "
	  DIM_ADDED_CTE
	  "SELECT id, true FROM i "
	  "UNION ALL SELECT NULL, NULL WHERE NOT EXISTS (SELECT FROM f)" },
};

/* In the load transaction: the names lock, shared, and the epoch. */
#define DIM_HOLD_SQL	"SELECT tripline.names_hold()"
#define DIM_SWEEP_SQL	"SELECT tripline.names_sweep()"

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
	for (i = 0; i < DIMCACHE_DIM__MAX; i++)
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
	for (i = 0; i < DIMCACHE_DIM__MAX; i++) {
		dimmap_clear(&d->map[i]);
		free(d->map[i].slot);
	}
	PQfinish(d->conn);
	free(d);
}

/* Whether a failed statement ran out of ids. */
static int
dimcache_full(const PGresult *res)
{
	const char *state = db_sqlstate(res);

	/*
	 * 2200H: the identity sequence is exhausted (smallint datasources);
	 * 22003: a value out of range.
	 */
	return strcmp(state, "2200H") == 0 || strcmp(state, "22003") == 0;
}

/*
 * The reject of a row whose new name of kind k is over the cap.  Loading
 * the same file again would be a duplicate of its job and load nothing:
 * it says what does load them.
 */
static void
dimcache_capped(char *reason, size_t reasonsz, enum dimcache_dim k, int cap)
{
	snprintf(reason, reasonsz, "too many new %ss in one load (at most "
	    "%d): send these rows in a file of their own", dims[k].what, cap);
}

/*
 * Ask the database.  When a concurrent runner inserts the same name
 * between our SELECT and INSERT, ON CONFLICT DO NOTHING returns no row,
 * and the next try finds the committed name.  Reusing ids, every runner
 * picks the same lowest free id, so each runner that took it first costs
 * one more try.  Once this load added max_new_names names, only finds
 * (a file of 32,767 new names would otherwise take every datasource id
 * for good).  Returns 1 with *id, 0 when the name cannot get an id (*id
 * is DIMCACHE_NO_ID or DIMCACHE_CAPPED, reason set), -1 on trouble.
 */
#define DIMCACHE_TRIES	8

static int
dimcache_fetch(struct dimcache *d, enum dimcache_dim k, const char *name,
    size_t len, int *id, char *reason, size_t reasonsz)
{
	const char	*vals[1] = { name };
	const int	 lens[1] = { (int)len };
	const int	 fmts[1] = { 1 };	/* binary: no NUL needed */
	PGresult	*res = NULL;
	int		 try, rc = -1, cap = d->cfg->max_new_names;
	const char	*sql;

	/* Idle since the last new name: the server may have ended it. */
	if ((d->conn = db_check(d->conn)) == NULL &&
	    (d->conn = db_connect(d->cfg, "tripline-runner-dims")) == NULL) {
		snprintf(reason, reasonsz, "could not connect to the database");
		return -1;
	}
	sql = cap > 0 && d->added[k] >= cap ? dims[k].find : dims[k].sql;
	for (try = 0; try < DIMCACHE_TRIES; try++) {
		/* text parameters sent in binary format are the raw bytes */
		res = PQexecParams(d->conn, sql, 1, NULL, vals, lens, fmts, 0);
		if (PQresultStatus(res) != PGRES_TUPLES_OK &&
		    dimcache_full(res) && dims[k].reuse != NULL) {
			PQclear(res);
			res = PQexecParams(d->conn, dims[k].reuse, 1, NULL,
			    vals, lens, fmts, 0);
		}
		if (PQresultStatus(res) != PGRES_TUPLES_OK) {
			if (dimcache_full(res)) {
				snprintf(reason, reasonsz, "too many %ss",
				    dims[k].what);
				*id = DIMCACHE_NO_ID;
				rc = 0;
			} else {
				snprintf(reason, reasonsz,
				    "could not add a %s: %s", dims[k].what,
				    PQerrorMessage(d->conn));
			}
			goto out;
		}
		if (PQntuples(res) == 1 && PQgetisnull(res, 0, 0)) {
			/* reuse: no id is free */
			snprintf(reason, reasonsz, "too many %ss", dims[k].what);
			*id = DIMCACHE_NO_ID;
			rc = 0;
			goto out;
		}
		if (PQntuples(res) == 1) {
			if (db_get_int(res, 0, 0, 0, INT_MAX, id) != 0) {
				snprintf(reason, reasonsz, "%s id \"%s\" is "
				    "not a number", dims[k].what,
				    PQgetvalue(res, 0, 0));
				goto out;
			}
			if (PQgetvalue(res, 0, 1)[0] == 't')
				d->added[k]++;
			rc = 1;
			goto out;
		}
		if (sql == dims[k].find) {
			dimcache_capped(reason, reasonsz, k, cap);
			*id = DIMCACHE_CAPPED;
			d->capped[k] = 1;
			rc = 0;
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

int
dimcache_hold(struct dimcache *d, PGconn *load, char *why, size_t whysz)
{
	PGresult	*res;
	int64_t		 epoch;
	int		 i, rc = -1;

	res = PQexec(load, DIM_HOLD_SQL);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		snprintf(why, whysz, "%s", PQerrorMessage(load));
		goto out;
	}
	if (PQntuples(res) != 1) {
		snprintf(why, whysz, "the names lock answered %d rows, not one",
		    PQntuples(res));
		goto out;
	}
	/* NULL when the one row of name_sweeps was deleted by hand. */
	if (PQgetisnull(res, 0, 0)) {
		snprintf(why, whysz, "tripline.name_sweeps has no row");
		goto out;
	}
	if (db_get_i64(res, 0, 0, 0, INT64_MAX, &epoch) != 0) {
		snprintf(why, whysz, "sweep epoch '%s' is no count",
		    PQgetvalue(res, 0, 0));
		goto out;
	}
	for (i = 0; i < DIMCACHE_DIM__MAX; i++) {
		/*
		 * A sweep removed names: an id kept may be gone, or given
		 * again.  A name refused for the last load's cap may come in
		 * this one.
		 */
		if (epoch != d->epoch || d->capped[i])
			dimmap_clear(&d->map[i]);
		d->added[i] = 0;
		d->capped[i] = 0;
	}
	d->epoch = epoch;
	rc = 0;
out:
	PQclear(res);
	return rc;
}

int
dimcache_sweep(PGconn *c)
{
	PGresult	*res;
	int		 n = -1;

	res = PQexec(c, DIM_SWEEP_SQL);
	if (PQresultStatus(res) != PGRES_TUPLES_OK ||
	    db_get_int(res, 0, 0, 0, INT_MAX, &n) != 0)
		n = -1;
	PQclear(res);
	return n;
}

enum dimcache_status
dimcache_id(struct dimcache *d, enum dimcache_dim k, const char *name, size_t len,
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
	if (m->count >= DIMCACHE_MAX) {
		dimmap_clear(m);
		i = h & (DIMCACHE_SLOTS - 1);
	}
	s = &m->slot[i];
	if ((s->name = malloc(len)) == NULL)	/* not cached, still correct */
		return r == 0 ? DIMCACHE_REJECT : DIMCACHE_OK;
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
	if (s->id == DIMCACHE_CAPPED) {
		dimcache_capped(reason, reasonsz, k, d->cfg->max_new_names);
		return DIMCACHE_REJECT;
	}
	m->last = s;
	*id = s->id;
	return DIMCACHE_OK;
}
