/*
 * test_param.c: cgi/param.c, the report parameters bbox and from/to.
 */
#include <stdlib.h>
#include <string.h>

#include "param.h"
#include "unit.h"

#define R_SPACES "must be four numbers separated by commas, without spaces"
#define R_COUNT	"must be four numbers"
#define R_FINITE "must be four finite numbers"
#define R_RANGE	"longitudes must be within -180 to 180 and latitudes " \
	"within -90 to 90"
#define R_ORDER	"minimum above maximum"

static const struct {
	const char	*label;
	const char	*in;
	size_t		 len;		/* 0: strlen(in) */
	const char	*reason;	/* NULL: accepted */
	double		 v[4];
} bboxes[] = {
	{ "sample", "14.35,50.0,14.6,50.2", 0, NULL,
	    { 14.35, 50, 14.6, 50.2 } },
	{ "the world", "-180,-90,180,90", 0, NULL, { -180, -90, 180, 90 } },
	{ "a point", "1,2,1,2", 0, NULL, { 1, 2, 1, 2 } },
	{ "exponents", "-1e1,.5,1e1,5.", 0, NULL, { -10, 0.5, 10, 5 } },

	{ "space", "14.35, 50.0,14.6,50.2", 0, R_SPACES, { 0 } },
	{ "tab", "14.35,\t50.0,14.6,50.2", 0, R_SPACES, { 0 } },
	{ "trailing space", "1,2,3,4 ", 0, R_SPACES, { 0 } },
	{ "empty", "", 0, R_FINITE, { 0 } },
	{ "three", "1,2,3", 0, R_COUNT, { 0 } },
	{ "five", "1,2,3,4,5", 0, R_COUNT, { 0 } },
	{ "trailing comma", "1,2,3,4,", 0, R_COUNT, { 0 } },
	{ "empty number", "1,,3,4", 0, R_FINITE, { 0 } },
	{ "leading comma", ",1,2,3", 0, R_FINITE, { 0 } },
	{ "nan", "nan,2,3,4", 0, R_FINITE, { 0 } },
	{ "inf", "1,2,inf,4", 0, R_FINITE, { 0 } },
	{ "plus", "+1,2,3,4", 0, R_FINITE, { 0 } },
	{ "word", "a,b,c,d", 0, R_FINITE, { 0 } },
	{ "NUL", "1,2,3,4\0", 8, R_FINITE, { 0 } },

	/* Each bound of each of the four, one past it, the others in range. */
	{ "minlon below", "-180.1,0,0,0", 0, R_RANGE, { 0 } },
	{ "minlon above", "180.1,0,180,0", 0, R_RANGE, { 0 } },
	{ "minlat below", "0,-90.1,0,0", 0, R_RANGE, { 0 } },
	{ "minlat above", "0,90.1,0,90", 0, R_RANGE, { 0 } },
	{ "maxlon below", "-180,0,-180.1,0", 0, R_RANGE, { 0 } },
	{ "maxlon above", "0,0,180.1,0", 0, R_RANGE, { 0 } },
	{ "maxlat below", "0,-90,0,-90.1", 0, R_RANGE, { 0 } },
	{ "maxlat above", "0,0,0,90.1", 0, R_RANGE, { 0 } },
	{ "range before order", "10,0,-200,0", 0, R_RANGE, { 0 } },

	{ "lon swapped", "14.6,50.0,14.35,50.2", 0, R_ORDER, { 0 } },
	{ "lat swapped", "14.35,50.2,14.6,50.0", 0, R_ORDER, { 0 } },
};

static void
test_bbox(void)
{
	size_t	 i, k, len;

	for (i = 0; i < sizeof(bboxes) / sizeof(bboxes[0]); i++) {
		const char *reason = NULL;
		double	 v[4] = { 0, 0, 0, 0 };
		char	*p;
		int	 rc;

		len = bboxes[i].len ? bboxes[i].len : strlen(bboxes[i].in);
		/* Exactly len bytes: ASan reports a read of buf[len]. */
		if ((p = malloc(len)) == NULL && len > 0)
			abort();
		memcpy(p, bboxes[i].in, len);
		rc = param_bbox_parse(p, len, v, &reason);
		free(p);
		if (bboxes[i].reason == NULL) {
			UNIT_CHECK(rc == 0, "bbox %s: refused: %s",
			    bboxes[i].label, reason);
			for (k = 0; k < 4; k++)
				UNIT_CHECK(v[k] == bboxes[i].v[k],
				    "bbox %s: v[%zu] %.17g", bboxes[i].label, k,
				    v[k]);
		} else
			UNIT_CHECK(rc == -1 && reason != NULL &&
			    strcmp(reason, bboxes[i].reason) == 0,
			    "bbox %s: rc %d \"%s\"", bboxes[i].label, rc,
			    reason != NULL ? reason : "(null)");
	}
}

static const struct {
	const char	*in;
	int		 valid;
} dates[] = {
	{ "2018-05-28", 1 },
	{ "1900-01-01", 1 },
	{ "2100-12-31", 1 },
	{ "2000-02-29", 1 },
	{ "2019-02-29", 0 },
	{ "1899-12-31", 0 },
	{ "2101-01-01", 0 },
	{ "2018-13-01", 0 },
	{ "2018-5-28", 0 },
	{ "2018-05-288", 0 },
	{ "2018-05-28 ", 0 },
	{ "2018-05-28T00:00:00", 0 },
	{ "2018-05-28 00:00:00", 0 },
	{ "2018/05/28", 0 },
	{ "28-05-2018", 0 },
	{ "", 0 },
};

static void
test_date(void)
{
	size_t	 i, len;

	for (i = 0; i < sizeof(dates) / sizeof(dates[0]); i++) {
		char	*p;

		len = strlen(dates[i].in);
		if ((p = malloc(len)) == NULL && len > 0)
			abort();
		memcpy(p, dates[i].in, len);
		UNIT_CHECK(param_date_valid(p, len) == dates[i].valid,
		    "date \"%s\": want %d", dates[i].in, dates[i].valid);
		free(p);
	}
}

int
main(void)
{
	test_bbox();
	test_date();
	return unit_done("test_param");
}
