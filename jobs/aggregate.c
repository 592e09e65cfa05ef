/*
 * aggregate.c: placeholder.  The reports issue implements the aggregates
 * and replaces this file; until then every call succeeds and does nothing.
 */
#include <stdint.h>

#include "aggregate.h"

/* Any non-NULL pointer: the loader treats NULL as a failure. */
static char agg_none;

struct agg *
agg_new(PGconn *work, int job_id)
{
	(void)work;
	(void)job_id;
	return (struct agg *)&agg_none;
}

int
agg_add(struct agg *a, const struct trip *t, uint64_t origin_cell,
    uint64_t dest_cell, int slot, int region_id, int datasource_id)
{
	(void)a;
	(void)t;
	(void)origin_cell;
	(void)dest_cell;
	(void)slot;
	(void)region_id;
	(void)datasource_id;
	return 0;
}

int
agg_flush(struct agg *a)
{
	(void)a;
	return 0;
}

void
agg_free(struct agg *a)
{
	(void)a;
}
