/*
 * monoclock.h: the monotonic clock (CLOCK_MONOTONIC), for durations and
 * deadlines that a change of the wall clock must not move.
 */
#ifndef TRIPLINE_MONOCLOCK_H
#define TRIPLINE_MONOCLOCK_H

#include <stdint.h>

/* Seconds since an arbitrary fixed point. */
double	monoclock_seconds(void);
/* The same in milliseconds. */
int64_t	monoclock_ms(void);

#endif
