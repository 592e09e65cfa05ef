/*
 * aggregate.c: the report aggregates of one job, kept as the job loads.
 *
 * Every loaded row updates a few in-memory hash maps (aggregate_add: no SQL,
 * no allocation in the common case); at the end of the load, in the same
 * transaction as the trips, the partial sums go to temporary tables by
 * binary COPY, one row per key, and tripline.agg_merge() adds them to
 * the aggregates with MERGE (sql/migrations/005_merge.sql); the groups
 * go to the job's stage table instead, merged after the load by the
 * idle runner (017_groups_later.sql).  The aggregates therefore commit
 * or roll back together with the job's trips.
 *
 * Memory is bounded: a map that reaches its largest size writes its
 * entries to AGG_PARTS temporary files, chosen by the top bits of their
 * hash, and starts empty again.  At the end each file in turn is summed
 * in the emptied map (a file holds 1/AGG_PARTS of the keys, so it fits)
 * and sent: every key once, with nothing left for the server to group
 * (the "grace" hash aggregation of Kitsuregawa et al., 1983).  The maps:
 *
 *	cells	 (origin or destination, 7-character cell, ISO week): trips
 *	coarse	 the same at the coarser levels of agg_levels() (3 to 6),
 *		 summed from the cells as they are sent
 *	regions	 (region, ISO week): trips
 *	sources	 (region, datasource): trips, first and last datetime
 *	groups	 (region, origin cell, destination cell at cell_precision,
 *		  time-of-day slot): trips, coordinate sums, first and last
 *		  datetime, datasource ids 1..63 as a bit set
 *	more	 (group key, datasource id >= 64): presence only
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "aggregate.h"
#include "copybin.h"
#include "geohash.h"
#include "log.h"
#include "num.h"

#define AGG_PG_EPOCH_DAYS	10957		/* 1970-01-01 to 2000-01-01 */
#define AGG_PG_EPOCH_US		INT64_C(946684800000000)
#define AGG_US_PER_DAY		INT64_C(86400000000)
#define AGG_FINE_CHARS		7		/* agg_levels() in SQL: last */
#define AGG_STR_(x)		#x
#define AGG_STR(x)		AGG_STR_(x)
#define AGG_MASK_IDS		64		/* ids below go in the bit set */
#define AGG_MAP_MIN		1024		/* first size, in slots */
#define AGG_COPYBUF		(1u << 20)
#define AGG_TUPLE_MAX		256		/* bytes of the widest tuple */
#define AGG_COARSE_MIN		3		/* agg_levels() in SQL: first */
#define AGG_PART_BITS		6
#define AGG_PARTS		(1 << AGG_PART_BITS)	/* spill files per map */
#define AGG_READ_ENTRIES	4096		/* entries read at once */
#define AGG_AHEAD		32		/* adds whose slots are prefetched */
#define AGG_HUGE_MIN		(4u << 20)	/* bytes: ask for huge pages */
#define AGG_HUGE_PAGE		(2u << 20)
#define AGG_ERR_SIZE		512		/* bytes of a failure's reason */

enum agg_map {
	AGG_MAP_CELLS,
	AGG_MAP_COARSE,		/* after CELLS: filled as the cells are sent */
	AGG_MAP_REGIONS,
	AGG_MAP_SOURCES,
	AGG_MAP_GROUPS,
	AGG_MAP_MORE,
	AGG_MAP__MAX
};

/* Keys are whole 8-byte words with padding zeroed: hashed and compared
 * as bytes. */
struct cell_key {
	int16_t		 kind, level;
	int32_t		 ix, iy, week;
};
struct region_key {
	int32_t		 region, week;
};
struct source_key {
	int32_t		 region, datasource;
};
struct source_val {
	int64_t		 trips, first, last;
};
struct group_key {
	uint64_t	 origin, dest;
	int32_t		 region, slot;
};
struct group_val {
	int64_t		 trips, first, last;
	double		 sum[4];	/* origin lon, lat, destination lon, lat */
	uint64_t	 datasources;
};
struct more_key {
	struct group_key g;
	int64_t		 datasource;
};

struct agg_type {
	const char	*name;		/* for log lines */
	const char	*copy_sql;
	size_t		 ksz, vsz;	/* bytes, multiples of 8 */
	size_t		 max_slots;	/* a power of two: the memory bound */
	/* Add src (vsz bytes) into dst. */
	void		(*merge)(void *dst, const void *src);
	/* One COPY tuple for an entry. */
	void		(*tuple)(struct copybin *, const void *key,
			    const void *val);
	/*
	 * A split job's staged rows (agg_stage_<job>_<stage>) read back by
	 * the last part: the inverse of tuple, 0 or -1.  NULL for the
	 * coarse cells, which are summed again from the fine ones.
	 */
	const char	*stage;
	int		(*untuple)(struct copybin_row *, void *key, void *val);
};

/*
 * An add to a big map, waiting while its slot is fetched: a map of
 * millions of keys is far bigger than the caches, so each add would
 * otherwise stall on memory (perf: map_slot was 36 % of the runner's
 * time at 10 M rows).  Adds leave in the order they came, so every key
 * sums its values in the same order as without the wait.
 */
struct agg_ahead {
	enum agg_map	 m;
	uint64_t	 h;
	union {
		struct cell_key		c;
		struct group_key	g;
	}		 key;
	union {
		int64_t			n;
		struct group_val	g;
	}		 val;
};

struct agg_map_state {
	unsigned char	*slots;		/* cap * (8 + ksz + vsz) bytes */
	size_t		 cap, n;
	int		 spilled;	/* entries went to part[] */
	FILE		*part[AGG_PARTS]; /* entries by top hash bits */
};

struct aggregate {
	PGconn			*conn;
	int			 job_id;
	int			 group_shift;	/* 5 * (12 - cell_precision) */
	size_t			 max_slots[AGG_MAP__MAX]; /* agg_types', capped */
	struct agg_map_state	 map[AGG_MAP__MAX];
	struct agg_ahead	 ahead[AGG_AHEAD];	/* a ring */
	size_t			 ahead_first, ahead_n;
	struct copybin		 out;
	/* aggregate_interrupt_with's */
	int			(*interrupt)(void *);
	void			*interrupt_arg;
	int			 interrupted;	/* interrupt said so */
	/* The first failure's reason: the caller's to report, once. */
	char			 err[AGG_ERR_SIZE];
};

static void	agg_fail(struct aggregate *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));
static void	merge_count(void *, const void *);
static void	merge_source(void *, const void *);
static void	merge_group(void *, const void *);
static void	merge_none(void *, const void *);
static int	map_spill(struct aggregate *, enum agg_map);
static void	tuple_cell(struct copybin *, const void *, const void *);
static void	tuple_region(struct copybin *, const void *, const void *);
static void	tuple_source(struct copybin *, const void *, const void *);
static void	tuple_group(struct copybin *, const void *, const void *);
static void	tuple_more(struct copybin *, const void *, const void *);
static int	untuple_cell(struct copybin_row *, void *, void *);
static int	untuple_region(struct copybin_row *, void *, void *);
static int	untuple_source(struct copybin_row *, void *, void *);
static int	untuple_group(struct copybin_row *, void *, void *);
static int	untuple_more(struct copybin_row *, void *, void *);

/* The columns of a group's COPY, to agg_groups or to the job's stage. */
#define AGG_GROUP_COLS	"(region_id, origin_cell, dest_cell, slot, trips, " \
	"sum_olon, sum_olat, sum_dlon, sum_dlat, first_ts, last_ts, " \
	"datasources)"

/*
 * The sizes bound the runner's memory: entries of 32, 32, 24, 40, 96 and
 * 40 bytes with the hash, so at most 16 + 8 + 0.4 + 0.6 + 48 + 0.6 =
 * 74 MiB (98 MiB while the groups map doubles).  A map that is full
 * spills to its AGG_PARTS files, so one job can have AGG_PARTS times as
 * many keys as a full map holds (2^18 groups: 16.7 M) before a file no
 * longer fits in the map; past that the map grows while the file is
 * summed.  Groups have the most keys (0.36 per trip at 10 M generated
 * trips, 6 characters / 60 minutes).
 */
static const struct agg_type agg_types[AGG_MAP__MAX] = {
	{ "cells", "COPY pg_temp.agg_cells (kind, level, ix, iy, week, "
	    "trips) FROM STDIN (FORMAT binary)", sizeof(struct cell_key), 8,
	    1u << 19, merge_count, tuple_cell, "cells", untuple_cell },
							/* AGG_MAP_CELLS */
	{ "coarse cells", "COPY pg_temp.agg_cells (kind, level, ix, iy, "
	    "week, trips) FROM STDIN (FORMAT binary)", sizeof(struct cell_key),
	    8, 1u << 18, merge_count, tuple_cell, NULL, NULL },
							/* AGG_MAP_COARSE */
	{ "regions", "COPY pg_temp.agg_regions (region_id, week, trips) "
	    "FROM STDIN (FORMAT binary)", sizeof(struct region_key), 8,
	    1u << 14, merge_count, tuple_region, "regions", untuple_region },
							/* AGG_MAP_REGIONS */
	{ "sources", "COPY pg_temp.agg_sources (region_id, datasource_id, "
	    "trips, first_ts, last_ts) FROM STDIN (FORMAT binary)",
	    sizeof(struct source_key), sizeof(struct source_val),
	    1u << 14, merge_source, tuple_source, "sources", untuple_source },
							/* AGG_MAP_SOURCES */
	{ "groups", "COPY pg_temp.agg_groups " AGG_GROUP_COLS
	    " FROM STDIN (FORMAT binary)",
	    sizeof(struct group_key), sizeof(struct group_val),
	    1u << 19, merge_group, tuple_group, "groups", untuple_group },
							/* AGG_MAP_GROUPS */
	{ "more", "COPY pg_temp.agg_more (region_id, origin_cell, "
	    "dest_cell, slot, datasource_id) FROM STDIN (FORMAT binary)",
	    sizeof(struct more_key), 0,
	    1u << 14, merge_none, tuple_more, "more", untuple_more },
							/* AGG_MAP_MORE */
};

static const char agg_begin_sql[] = "SELECT tripline.agg_begin()";
static const char agg_merge_sql[] = "SELECT tripline.agg_merge($1)";
/*
 * The job's groups go to a table of their own, merged into trip_groups
 * after the load (sql/migrations/017_groups_later.sql).
 */
static const char group_stage_open_sql[] =
    "SELECT tripline.group_stage_open($1)";
/*
 * COPY takes no parameter: the table's name is formatted, from the job's
 * id (an integer) alone, as in jobs/tripspart.c; nothing of the input.
 * Macros, not arrays, so that the compiler checks the formats.
 */
#define GROUP_STAGE_COPY_FMT	"COPY tripline.group_stage_%d " \
    AGG_GROUP_COLS " FROM STDIN (FORMAT binary)"
/* The same for a stage table read back: the job's id and a fixed suffix. */
#define AGG_STAGE_READ_FMT	"COPY (SELECT * FROM tripline." \
    "agg_stage_%d_%s%s) TO STDOUT (FORMAT binary)"
/* A part of a split job (sql/migrations/008_parts.sql). */
static const char agg_stage_sql[] = "SELECT tripline.agg_stage($1)";
static const char agg_stage_close_sql[] = "SELECT tripline.agg_stage_close($1)";
static const char agg_precision_sql[] =
    "SELECT value FROM tripline.settings WHERE key = 'cell_precision'";

/* --- Values. --- */

static void
merge_count(void *dst, const void *src)
{
	int64_t a, b;

	memcpy(&a, dst, 8);
	memcpy(&b, src, 8);
	a += b;
	memcpy(dst, &a, 8);
}

static void
merge_source(void *dst, const void *src)
{
	struct source_val	*d = dst;
	const struct source_val	*s = src;

	d->trips += s->trips;
	if (s->first < d->first)
		d->first = s->first;
	if (s->last > d->last)
		d->last = s->last;
}

static void
merge_group(void *dst, const void *src)
{
	struct group_val	*d = dst;
	const struct group_val	*s = src;
	int			 i;

	d->trips += s->trips;
	for (i = 0; i < 4; i++)
		d->sum[i] += s->sum[i];
	if (s->first < d->first)
		d->first = s->first;
	if (s->last > d->last)
		d->last = s->last;
	d->datasources |= s->datasources;
}

/* Presence only: the key is the whole entry. */
static void
merge_none(void *dst, const void *src)
{
	(void)dst;
	(void)src;
}

/* --- COPY tuples (binary format; date = int32 days since 2000-01-01). --- */

static void
tuple_cell(struct copybin *b, const void *key, const void *val)
{
	const struct cell_key	*k = key;
	int64_t			 n;

	memcpy(&n, val, 8);
	copybin_tuple(b, 6);
	copybin_i16(b, k->kind);
	copybin_i16(b, k->level);
	copybin_i32(b, k->ix);
	copybin_i32(b, k->iy);
	copybin_i32(b, k->week);
	copybin_i64(b, n);
}

static void
tuple_region(struct copybin *b, const void *key, const void *val)
{
	const struct region_key	*k = key;
	int64_t			 n;

	memcpy(&n, val, 8);
	copybin_tuple(b, 3);
	copybin_i32(b, k->region);
	copybin_i32(b, k->week);
	copybin_i64(b, n);
}

static void
tuple_source(struct copybin *b, const void *key, const void *val)
{
	const struct source_key	*k = key;
	const struct source_val	*v = val;

	copybin_tuple(b, 5);
	copybin_i32(b, k->region);
	copybin_i16(b, (int16_t)k->datasource);
	copybin_i64(b, v->trips);
	copybin_i64(b, v->first);
	copybin_i64(b, v->last);
}

static void
tuple_group_key(struct copybin *b, const struct group_key *k)
{
	copybin_i32(b, k->region);
	copybin_i64(b, (int64_t)k->origin);
	copybin_i64(b, (int64_t)k->dest);
	copybin_i16(b, (int16_t)k->slot);
}

static void
tuple_group(struct copybin *b, const void *key, const void *val)
{
	const struct group_val	*v = val;
	int			 i;

	copybin_tuple(b, 12);
	tuple_group_key(b, key);
	copybin_i64(b, v->trips);
	for (i = 0; i < 4; i++)
		copybin_f64(b, v->sum[i]);
	copybin_i64(b, v->first);
	copybin_i64(b, v->last);
	copybin_i64(b, (int64_t)v->datasources);
}

/* A datasource id too large for the group's bit set. */
static void
tuple_more(struct copybin *b, const void *key, const void *val)
{
	const struct more_key	*k = key;

	(void)val;
	copybin_tuple(b, 5);
	tuple_group_key(b, &k->g);
	copybin_i16(b, (int16_t)k->datasource);
}

/* --- The same tuples read back (a split job's stage). --- */

static int
untuple_cell(struct copybin_row *r, void *key, void *val)
{
	struct cell_key	*k = key;
	int64_t		 n;

	memset(k, 0, sizeof(*k));
	k->kind = (int16_t)copybin_get_int(r, 2);
	k->level = (int16_t)copybin_get_int(r, 2);
	k->ix = (int32_t)copybin_get_int(r, 4);
	k->iy = (int32_t)copybin_get_int(r, 4);
	k->week = (int32_t)copybin_get_int(r, 4);
	n = copybin_get_int(r, 8);
	memcpy(val, &n, 8);
	return r->bad ? -1 : 0;
}

static int
untuple_region(struct copybin_row *r, void *key, void *val)
{
	struct region_key	*k = key;
	int64_t			 n;

	k->region = (int32_t)copybin_get_int(r, 4);
	k->week = (int32_t)copybin_get_int(r, 4);
	n = copybin_get_int(r, 8);
	memcpy(val, &n, 8);
	return r->bad ? -1 : 0;
}

static int
untuple_source(struct copybin_row *r, void *key, void *val)
{
	struct source_key	*k = key;
	struct source_val	*v = val;

	k->region = (int32_t)copybin_get_int(r, 4);
	k->datasource = (int32_t)copybin_get_int(r, 2);
	v->trips = copybin_get_int(r, 8);
	v->first = copybin_get_int(r, 8);
	v->last = copybin_get_int(r, 8);
	return r->bad ? -1 : 0;
}

static void
untuple_group_key(struct copybin_row *r, struct group_key *k)
{
	memset(k, 0, sizeof(*k));
	k->region = (int32_t)copybin_get_int(r, 4);
	k->origin = (uint64_t)copybin_get_int(r, 8);
	k->dest = (uint64_t)copybin_get_int(r, 8);
	k->slot = (int32_t)copybin_get_int(r, 2);
}

static int
untuple_group(struct copybin_row *r, void *key, void *val)
{
	struct group_val	*v = val;
	int			 i;

	untuple_group_key(r, key);
	v->trips = copybin_get_int(r, 8);
	for (i = 0; i < 4; i++)
		v->sum[i] = copybin_get_f64(r);
	v->first = copybin_get_int(r, 8);
	v->last = copybin_get_int(r, 8);
	v->datasources = (uint64_t)copybin_get_int(r, 8);
	return r->bad ? -1 : 0;
}

static int
untuple_more(struct copybin_row *r, void *key, void *val)
{
	struct more_key	*k = key;

	(void)val;
	memset(k, 0, sizeof(*k));
	untuple_group_key(r, &k->g);
	k->datasource = copybin_get_int(r, 2);
	return r->bad ? -1 : 0;
}

/* --- Hash maps: open addressing, linear probing, hash 0 = empty. --- */

static size_t
map_esz(enum agg_map m)
{
	return 8 + agg_types[m].ksz + agg_types[m].vsz;
}

static uint64_t
map_hash(const void *key, size_t ksz)
{
	const unsigned char	*p = key;
	uint64_t		 h = UINT64_C(0x9e3779b97f4a7c15), w;
	size_t			 i;

	for (i = 0; i < ksz; i += 8) {
		memcpy(&w, p + i, 8);
		h = (h ^ w) * UINT64_C(0xbf58476d1ce4e5b9);
		h ^= h >> 31;
	}
	h *= UINT64_C(0x94d049bb133111eb);
	h ^= h >> 29;
	return h | 1;
}

static int
map_alloc(struct agg_map_state *s, enum agg_map m, size_t cap)
{
	if ((s->slots = calloc(cap, map_esz(m))) == NULL)
		return -1;
	s->cap = cap;
	s->n = 0;
#ifdef MADV_HUGEPAGE
	/*
	 * Random adds over tens of MiB miss the TLB on every 4 KiB page;
	 * 2 MiB pages cover the map with a few entries.  Only a hint: with
	 * transparent huge pages off it changes nothing.
	 */
	if (cap * map_esz(m) >= AGG_HUGE_MIN) {
		uintptr_t lo = ((uintptr_t)s->slots + AGG_HUGE_PAGE - 1) &
		    ~(uintptr_t)(AGG_HUGE_PAGE - 1);
		uintptr_t hi = ((uintptr_t)s->slots + cap * map_esz(m)) &
		    ~(uintptr_t)(AGG_HUGE_PAGE - 1);

		if (hi > lo)
			(void)madvise((void *)lo, hi - lo, MADV_HUGEPAGE);
	}
#endif
	return 0;
}

/* The first slot where a key of hash h may be, as an index. */
static size_t
map_home(const struct agg_map_state *s, uint64_t h)
{
	return (size_t)(h >> 7) & (s->cap - 1);
}

/* The slot of key: its entry, or the empty slot where it belongs. */
static unsigned char *
map_slot(const struct agg_map_state *s, enum agg_map m, uint64_t h,
    const void *key)
{
	const size_t	 esz = map_esz(m), ksz = agg_types[m].ksz;
	size_t		 i = map_home(s, h);
	unsigned char	*e;
	uint64_t	 eh;

	for (;;) {
		e = s->slots + i * esz;
		memcpy(&eh, e, 8);
		if (eh == 0 || (eh == h && memcmp(e + 8, key, ksz) == 0))
			return e;
		i = (i + 1) & (s->cap - 1);
	}
}

/* Double the table. */
static int
map_grow(struct agg_map_state *s, enum agg_map m)
{
	struct agg_map_state	 old = *s;
	const size_t		 esz = map_esz(m);
	unsigned char		*e;
	uint64_t		 h;
	size_t			 i;

	if (map_alloc(s, m, old.cap * 2) != 0) {
		*s = old;
		return -1;
	}
	s->spilled = old.spilled;
	memcpy(s->part, old.part, sizeof(s->part));
	for (i = 0; i < old.cap; i++) {
		e = old.slots + i * esz;
		memcpy(&h, e, 8);
		if (h == 0)
			continue;
		memcpy(map_slot(s, m, h, e + 8), e, esz);
		s->n++;
	}
	free(old.slots);
	return 0;
}

/* Put an entry (hash h, key, value) into its slot, summing into an
 * existing one.  may_spill: a full map spills; otherwise it grows. */
static int
map_put(struct aggregate *a, enum agg_map m, uint64_t h, const void *key,
    const void *val, int may_spill)
{
	struct agg_map_state	*s = &a->map[m];
	const struct agg_type	*t = &agg_types[m];
	unsigned char		*e;

	e = map_slot(s, m, h, key);
	if (memcmp(e, &(uint64_t){ 0 }, 8) != 0) {
		t->merge(e + 8 + t->ksz, val);
		return 0;
	}
	/* A new key: keep the load factor at most 1/2. */
	if ((s->n + 1) * 2 > s->cap) {
		if (s->cap < a->max_slots[m] || !may_spill) {
			if (map_grow(s, m) != 0) {
				agg_fail(a, "out of memory for the %s "
				    "aggregate", t->name);
				return -1;
			}
		} else if (map_spill(a, m) != 0)
			return -1;
		e = map_slot(s, m, h, key);
	}
	memcpy(e, &h, 8);
	memcpy(e + 8, key, t->ksz);
	memcpy(e + 8 + t->ksz, val, t->vsz);
	s->n++;
	return 0;
}

/* Add val into key's entry. */
static int
map_add(struct aggregate *a, enum agg_map m, const void *key, const void *val)
{
	return map_put(a, m, map_hash(key, agg_types[m].ksz), key, val, 1);
}

/* Put the oldest waiting add into its map. */
static int
map_ahead_one(struct aggregate *a)
{
	struct agg_ahead *w = &a->ahead[a->ahead_first];

	a->ahead_first = (a->ahead_first + 1) % AGG_AHEAD;
	a->ahead_n--;
	return map_put(a, w->m, w->h, &w->key, &w->val, 1);
}

/* Every waiting add into its map: before the maps are read. */
static int
map_ahead_drain(struct aggregate *a)
{
	while (a->ahead_n > 0)
		if (map_ahead_one(a) != 0)
			return -1;
	return 0;
}

/* Like map_add for the big maps: the add waits while its slot is
 * fetched, and the oldest waiting one goes in. */
static int
map_add_ahead(struct aggregate *a, enum agg_map m, const void *key,
    const void *val)
{
	const struct agg_type	*t = &agg_types[m];
	struct agg_ahead	*w;
	const unsigned char	*e;

	if (a->ahead_n == AGG_AHEAD && map_ahead_one(a) != 0)
		return -1;
	w = &a->ahead[(a->ahead_first + a->ahead_n) % AGG_AHEAD];
	w->m = m;
	w->h = map_hash(key, t->ksz);
	memcpy(&w->key, key, t->ksz);
	memcpy(&w->val, val, t->vsz);
	e = a->map[m].slots + map_home(&a->map[m], w->h) * map_esz(m);
	__builtin_prefetch(e, 1);
	__builtin_prefetch(e + map_esz(m) - 1, 1);
	a->ahead_n++;
	return 0;
}

/* Move a full map's entries to its partition files and empty it. */
static int
map_spill(struct aggregate *a, enum agg_map m)
{
	struct agg_map_state	*s = &a->map[m];
	const size_t		 esz = map_esz(m);
	unsigned char		*e;
	uint64_t		 h;
	size_t			 i, p;

	for (i = 0; i < s->cap; i++) {
		e = s->slots + i * esz;
		memcpy(&h, e, 8);
		if (h == 0)
			continue;
		p = (size_t)(h >> (64 - AGG_PART_BITS));
		if (s->part[p] == NULL && (s->part[p] = tmpfile()) == NULL)
			goto fail;
		if (fwrite(e, esz, 1, s->part[p]) != 1)
			goto fail;
	}
	memset(s->slots, 0, s->cap * esz);
	s->n = 0;
	s->spilled = 1;
	return 0;
fail:
	agg_fail(a, "could not write the %s aggregate to a temporary file: "
	    "%s", agg_types[m].name, strerror(errno));
	return -1;
}

/* Sum partition file p of a spilled map into the emptied map. */
static int
map_load_part(struct aggregate *a, enum agg_map m, size_t p)
{
	struct agg_map_state	*s = &a->map[m];
	const struct agg_type	*t = &agg_types[m];
	const size_t		 esz = map_esz(m);
	unsigned char		*buf, *e;
	uint64_t		 h;
	size_t			 n, i;
	int			 rc = -1;

	if ((buf = malloc(AGG_READ_ENTRIES * esz)) == NULL) {
		agg_fail(a, "out of memory for the %s aggregate", t->name);
		return -1;
	}
	/*
	 * Not rewind(3): it clears the error of the flush of the file's last
	 * buffered block (a full disk), and fread would then read nothing
	 * without an error, losing that part of the aggregate unnoticed.
	 */
	if (fflush(s->part[p]) != 0 || fseek(s->part[p], 0, SEEK_SET) != 0) {
		agg_fail(a, "could not write the %s aggregate to a temporary "
		    "file: %s", t->name, strerror(errno));
		goto out;
	}
	while ((n = fread(buf, esz, AGG_READ_ENTRIES, s->part[p])) > 0)
		for (i = 0; i < n; i++) {
			e = buf + i * esz;
			memcpy(&h, e, 8);
			if (map_put(a, m, h, e + 8, e + 8 + t->ksz, 0) != 0)
				goto out;
		}
	if (ferror(s->part[p])) {
		agg_fail(a, "could not read the %s aggregate from a temporary "
		    "file: %s", t->name, strerror(errno));
		goto out;
	}
	rc = 0;
out:
	free(buf);
	return rc;
}

/* --- Cells and weeks. --- */

/*
 * The Monday of the ISO 8601 week (ISO 8601-1:2019, 5.2.3) of a time in
 * microseconds since 1970-01-01, as days since 2000-01-01 (the binary
 * date of PostgreSQL).  1970-01-01 was a Thursday.
 */
static int32_t
agg_week(int64_t ts_us)
{
	int64_t d = ts_us / AGG_US_PER_DAY, wd;

	if (ts_us % AGG_US_PER_DAY < 0)
		d--;
	wd = (d + 3) % 7;
	if (wd < 0)
		wd += 7;
	return (int32_t)(d - wd - AGG_PG_EPOCH_DAYS);
}

/*
 * A 60-bit cell's column and row at AGG_FINE_CHARS characters: 18
 * longitude bits (at the odd positions of the 60) and 17 latitude bits.
 */
static void
agg_cell(uint64_t cell60, int32_t *ix, int32_t *iy)
{
	uint32_t col, row;

	geohash_axes(cell60, AGG_FINE_CHARS, &col, &row);
	*ix = (int32_t)col;
	*iy = (int32_t)row;
}

/* --- The hook. --- */

static int
agg_command(struct aggregate *a, const char *sql, const char *what)
{
	PGresult	*res = PQexec(a->conn, sql);
	int		 rc = 0;

	if (PQresultStatus(res) != PGRES_TUPLES_OK &&
	    PQresultStatus(res) != PGRES_COMMAND_OK) {
		agg_fail(a, "could not %s: %s", what, PQerrorMessage(a->conn));
		rc = -1;
	}
	PQclear(res);
	return rc;
}

/* Keep the reason of the first failure: what follows it is its echo. */
static void
agg_fail(struct aggregate *a, const char *fmt, ...)
{
	va_list	 ap;

	if (a->err[0] != '\0')
		return;
	va_start(ap, fmt);
	vsnprintf(a->err, sizeof(a->err), fmt, ap);
	va_end(ap);
}

const char *
aggregate_error(const struct aggregate *a)
{
	return a != NULL && a->err[0] != '\0' ? a->err :
	    "could not aggregate";
}

struct aggregate *
aggregate_new(PGconn *work, int job_id, size_t map_keys, char *err,
    size_t errsz)
{
	struct aggregate	*a;
	PGresult	*res = NULL;
	int64_t		 p;
	int		 m;
	const char	*v;

	if ((a = calloc(1, sizeof(*a))) == NULL) {
		snprintf(err, errsz, "out of memory for the aggregates");
		return NULL;
	}
	a->conn = work;
	a->job_id = job_id;
	/* At most map_keys entries: slots at a load factor of 1/2. */
	for (m = 0; m < AGG_MAP__MAX; m++) {
		a->max_slots[m] = AGG_MAP_MIN;
		while (a->max_slots[m] < agg_types[m].max_slots &&
		    a->max_slots[m] / 2 < map_keys)
			a->max_slots[m] *= 2;
	}
	if (copybin_init(&a->out, AGG_COPYBUF) != 0)
		goto fail;
	for (m = 0; m < AGG_MAP__MAX; m++)
		if (map_alloc(&a->map[m], m, AGG_MAP_MIN) != 0)
			goto fail;
	res = PQexec(work, agg_precision_sql);
	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1 ||
	    (v = PQgetvalue(res, 0, 0)) == NULL ||
	    num_parse_i64(v, strlen(v), 1, 12, &p) != 0) {
		agg_fail(a, "could not read the setting cell_precision: %s",
		    PQerrorMessage(work));
		goto fail;
	}
	a->group_shift = 5 * (12 - (int)p);
	if (agg_command(a, agg_begin_sql, "prepare the aggregates") != 0)
		goto fail;
	PQclear(res);
	return a;
fail:
	agg_fail(a, "out of memory for the aggregates");
	snprintf(err, errsz, "%s", a->err);
	PQclear(res);
	aggregate_free(a);
	return NULL;
}

int
aggregate_add(struct aggregate *a, const struct trip *t,
    uint64_t origin_cell, uint64_t dest_cell, int slot, int region_id,
    int datasource_id)
{
	const int64_t		 ts = t->ts_us - AGG_PG_EPOCH_US;
	const int64_t		 one = 1;
	const int32_t		 week = agg_week(t->ts_us);
	struct cell_key		 ck;
	struct region_key	 rk;
	struct source_key	 sk;
	struct source_val	 sv;
	struct group_key	 gk;
	struct group_val	 gv;
	struct more_key		 mk;

	memset(&ck, 0, sizeof(ck));
	ck.level = AGG_FINE_CHARS;
	ck.week = week;
	agg_cell(origin_cell, &ck.ix, &ck.iy);
	if (map_add_ahead(a, AGG_MAP_CELLS, &ck, &one) != 0)
		return -1;
	ck.kind = 1;
	agg_cell(dest_cell, &ck.ix, &ck.iy);
	if (map_add_ahead(a, AGG_MAP_CELLS, &ck, &one) != 0)
		return -1;

	rk.region = region_id;
	rk.week = week;
	if (map_add(a, AGG_MAP_REGIONS, &rk, &one) != 0)
		return -1;

	sk.region = region_id;
	sk.datasource = datasource_id;
	sv.trips = 1;
	sv.first = sv.last = ts;
	if (map_add(a, AGG_MAP_SOURCES, &sk, &sv) != 0)
		return -1;

	memset(&gk, 0, sizeof(gk));
	gk.origin = origin_cell >> a->group_shift;
	gk.dest = dest_cell >> a->group_shift;
	gk.region = region_id;
	gk.slot = slot;
	gv.trips = 1;
	gv.first = gv.last = ts;
	gv.sum[0] = t->olon;
	gv.sum[1] = t->olat;
	gv.sum[2] = t->dlon;
	gv.sum[3] = t->dlat;
	gv.datasources = 0;
	if (datasource_id > 0 && datasource_id < AGG_MASK_IDS)
		gv.datasources = UINT64_C(1) << datasource_id;
	if (map_add_ahead(a, AGG_MAP_GROUPS, &gk, &gv) != 0)
		return -1;
	if (datasource_id >= AGG_MASK_IDS) {
		memset(&mk, 0, sizeof(mk));
		mk.g = gk;
		mk.datasource = datasource_id;
		if (map_add(a, AGG_MAP_MORE, &mk, &mk) != 0)
			return -1;
	}
	return 0;
}

/* A fine cell's counts into the coarser levels. */
static int
agg_rollup(struct aggregate *a, const struct cell_key *fine, const void *val)
{
	struct cell_key	k = *fine;
	int		l;

	for (l = AGG_COARSE_MIN; l < AGG_FINE_CHARS; l++) {
		k.level = (int16_t)l;
		k.ix = fine->ix >> (geohash_axis_bits(AGG_FINE_CHARS, 0) -
		    geohash_axis_bits(l, 0));
		k.iy = fine->iy >> (geohash_axis_bits(AGG_FINE_CHARS, 1) -
		    geohash_axis_bits(l, 1));
		if (map_add(a, AGG_MAP_COARSE, &k, val) != 0)
			return -1;
	}
	return 0;
}

/*
 * Whether aggregate_interrupt_with's function asks to stop; it then
 * stays so.
 */
static int
agg_interrupted(struct aggregate *a)
{
	if (!a->interrupted && a->interrupt != NULL)
		a->interrupted = a->interrupt(a->interrupt_arg) != 0;
	return a->interrupted;
}

/* Send every entry of the map (unique keys) as a COPY tuple and empty
 * it; the fine cells also go to the coarse map. */
static int
agg_send(struct aggregate *a, enum agg_map m)
{
	struct agg_map_state	*s = &a->map[m];
	const struct agg_type	*t = &agg_types[m];
	const size_t		 esz = map_esz(m);
	unsigned char		*e;
	uint64_t		 h;
	size_t			 i;

	for (i = 0; i < s->cap; i++) {
		e = s->slots + i * esz;
		memcpy(&h, e, 8);
		if (h == 0)
			continue;
		if (copybin_room(&a->out) < AGG_TUPLE_MAX) {
			if (agg_interrupted(a) ||
			    PQputCopyData(a->conn, a->out.buf,
			    (int)a->out.len) != 1)
				return -1;
			a->out.len = 0;
			/*
			 * Keep libpq's input buffer drained: a backend sends
			 * notices during a COPY, and libpq reads input only
			 * when a send blocks.  Its error waits for the COPY's
			 * end (tripsend.c), hence agg_interrupted.
			 */
			if (PQconsumeInput(a->conn) != 1)
				return -1;
		}
		t->tuple(&a->out, e + 8, e + 8 + t->ksz);
		if (m == AGG_MAP_CELLS && agg_rollup(a, (const void *)(e + 8),
		    e + 8 + t->ksz) != 0)
			return -1;
	}
	memset(s->slots, 0, s->cap * esz);
	s->n = 0;
	return 0;
}

/* COPY one map's entries with sql, one row per key. */
static int
agg_copy(struct aggregate *a, enum agg_map m, const char *sql)
{
	struct agg_map_state	*s = &a->map[m];
	PGresult		*res;
	size_t			 p;
	int			 rc = -1;

	if (s->n == 0 && !s->spilled)
		return 0;
	res = PQexec(a->conn, sql);
	if (PQresultStatus(res) != PGRES_COPY_IN) {
		PQclear(res);
		goto out;
	}
	PQclear(res);
	a->out.len = 0;
	copybin_header(&a->out);
	if (!s->spilled) {
		if (agg_send(a, m) != 0)
			goto end;
	} else {
		log_info("job %d: the %s aggregate spilled to disk (at most "
		    "%zu keys in memory)", a->job_id, agg_types[m].name,
		    a->max_slots[m] / 2);
		if (map_spill(a, m) != 0)
			goto end;
		for (p = 0; p < AGG_PARTS; p++) {
			if (s->part[p] == NULL)
				continue;
			if (agg_interrupted(a) || map_load_part(a, m, p) != 0 ||
			    agg_send(a, m) != 0)
				goto end;
			fclose(s->part[p]);
			s->part[p] = NULL;
		}
	}
	copybin_trailer(&a->out);
	if (PQputCopyData(a->conn, a->out.buf, (int)a->out.len) != 1)
		goto end;
	rc = 0;
end:
	if (PQputCopyEnd(a->conn, rc == 0 ? NULL : "aggregate failed") != 1)
		rc = -1;
	while ((res = PQgetResult(a->conn)) != NULL) {
		if (PQresultStatus(res) != PGRES_COMMAND_OK)
			rc = -1;
		PQclear(res);
	}
out:
	a->out.len = 0;
	/* An interruption is logged where it is handled. */
	if (rc != 0 && !a->interrupted)
		agg_fail(a, "could not store the %s aggregate: %s",
		    agg_types[m].name, PQerrorMessage(a->conn));
	return rc;
}

/* A statement with the job as $1: 0 or -1. */
static int
agg_job_call(struct aggregate *a, const char *sql, const char *what)
{
	char		 job[16];
	const char	*vals[1] = { job };
	PGresult	*res;
	int		 rc = 0;

	/* A cancel that reached the idle backend before it was ignored. */
	if (agg_interrupted(a))
		return -1;
	snprintf(job, sizeof(job), "%d", a->job_id);
	res = PQexecParams(a->conn, sql, 1, NULL, vals, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		/*
		 * A cancel or a stop that ended the statement is logged
		 * where it is handled (the loader), not as an error.
		 */
		if (!agg_interrupted(a))
			agg_fail(a, "could not %s: %s", what,
			    PQerrorMessage(a->conn));
		rc = -1;
	}
	PQclear(res);
	return rc;
}

/*
 * COPY every map: into temporary tables, but for the load's last flush
 * (final) the groups into the job's stage table.
 */
static int
agg_send_all(struct aggregate *a, int final)
{
	char		 sql[sizeof(GROUP_STAGE_COPY_FMT) + 16];
	const char	*q;
	int		 m;

	if (map_ahead_drain(a) != 0)
		return -1;
	if (final && agg_job_call(a, group_stage_open_sql,
	    "open the groups' stage") != 0)
		return -1;
	for (m = 0; m < AGG_MAP__MAX; m++) {
		q = agg_types[m].copy_sql;
		if (final && m == AGG_MAP_GROUPS) {
			snprintf(sql, sizeof(sql), GROUP_STAGE_COPY_FMT,
			    a->job_id);
			q = sql;
		}
		if (agg_copy(a, m, q) != 0)
			return -1;
	}
	return 0;
}

int
aggregate_flush(struct aggregate *a)
{
	if (agg_send_all(a, 1) != 0)
		return -1;
	return agg_job_call(a, agg_merge_sql, "merge the aggregates");
}

int
aggregate_stage(struct aggregate *a)
{
	if (agg_send_all(a, 0) != 0)
		return -1;
	return agg_job_call(a, agg_stage_sql, "stage the aggregates");
}

/* Read one staged table back into its map; 0 or -1. */
static int
agg_reload_map(struct aggregate *a, enum agg_map m)
{
	const struct agg_type	*t = &agg_types[m];
	struct copybin_row	 r;
	PGresult		*res;
	char			 sql[160];
	char			*buf;
	union {
		struct cell_key		c;
		struct group_key	g;
		struct more_key		mo;
	}			 key;
	union {
		int64_t			n;
		struct source_val	s;
		struct group_val	g;
	}			 val;
	int			 n, rc = 0;

	/* Only the fine cells: the coarse levels are summed from them. */
	snprintf(sql, sizeof(sql), AGG_STAGE_READ_FMT, a->job_id, t->stage,
	    m == AGG_MAP_CELLS ? " WHERE level = " AGG_STR(AGG_FINE_CHARS) :
	    "");
	res = PQexec(a->conn, sql);
	if (PQresultStatus(res) != PGRES_COPY_OUT) {
		PQclear(res);
		return -1;
	}
	PQclear(res);
	while ((n = PQgetCopyData(a->conn, &buf, 0)) > 0) {
		if (rc == 0) {
			switch (copybin_row_begin(&r, buf, (size_t)n)) {
			case 0:		/* the trailer */
				break;
			case -1:
				rc = -1;
				break;
			default:
				memset(&val, 0, sizeof(val));
				if (t->untuple(&r, &key, &val) != 0 ||
				    map_add(a, m, &key, &val) != 0)
					rc = -1;
				break;
			}
		}
		PQfreemem(buf);
	}
	if (n == -2)
		rc = -1;
	while ((res = PQgetResult(a->conn)) != NULL) {
		if (PQresultStatus(res) != PGRES_COMMAND_OK)
			rc = -1;
		PQclear(res);
	}
	return rc;
}

int
aggregate_unstage(struct aggregate *a)
{
	int m;

	/*
	 * Summed here, in the maps that hold this part's own rows, rather
	 * than by a GROUP BY in the server: by hand, 5 M staged group rows
	 * took 6.4 s to group there (twelve aggregates a key), a cost the
	 * maps pay as they read.
	 */
	if (map_ahead_drain(a) != 0)
		return -1;
	for (m = 0; m < AGG_MAP__MAX; m++) {
		if (agg_types[m].stage == NULL)
			continue;
		if (agg_reload_map(a, m) != 0) {
			agg_fail(a, "could not read the staged %s aggregate: "
			    "%s", agg_types[m].name, PQerrorMessage(a->conn));
			return -1;
		}
	}
	if (aggregate_flush(a) != 0)
		return -1;
	return agg_job_call(a, agg_stage_close_sql, "drop the stage");
}

void
aggregate_interrupt_with(struct aggregate *a, int (*fn)(void *),
    void *arg)
{
	a->interrupt = fn;
	a->interrupt_arg = arg;
}

void
aggregate_free(struct aggregate *a)
{
	size_t	p;
	int	m;

	if (a == NULL)
		return;
	for (m = 0; m < AGG_MAP__MAX; m++) {
		free(a->map[m].slots);
		for (p = 0; p < AGG_PARTS; p++)
			if (a->map[m].part[p] != NULL)
				fclose(a->map[m].part[p]);
	}
	copybin_release(&a->out);
	free(a);
}
