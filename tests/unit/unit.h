/*
 * unit.h: a table-driven test needs little more than a counter.  Each check
 * prints only on failure; unit_done() prints "name: N passed, N failed" and
 * returns the exit status, so tests/run.sh can add the counts up.
 */
#ifndef TRIPLINE_UNIT_H
#define TRIPLINE_UNIT_H

#include <stdio.h>

static int unit_passed, unit_failed;

#define UNIT_CHECK(cond, ...) do {					\
	if (cond) {							\
		unit_passed++;						\
	} else {							\
		unit_failed++;						\
		fprintf(stderr, "%s:%d: FAIL: ", __FILE__, __LINE__);	\
		fprintf(stderr, __VA_ARGS__);				\
		fputc('\n', stderr);					\
	}								\
} while (0)

static inline int
unit_done(const char *name)
{
	printf("%s: %d passed, %d failed\n", name, unit_passed, unit_failed);
	return unit_failed == 0 ? 0 : 1;
}

#endif
