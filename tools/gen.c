/*
 * gen.c: tripline-gen writes trip CSV files of any size in the fleets'
 * input format, for tests and benchmarks:
 *
 *	region,origin_coord,destination_coord,datetime,datasource
 *	Prague,POINT (14.42559591323251 50.05243955448663),POINT (...),2018-05-04 19:33:36,funny_car
 *
 * Trips start and end around a few real hotspots per city, so that
 * similar trips (same geohash cells, same hour) exist; more trips run at
 * rush hours on weekdays.  The output depends only on the options: the
 * same seed gives byte-identical files.  With --bad N, N rows that the
 * loader must reject are spread among the good ones, and their kinds are
 * counted on stderr so tests can check the reject counts.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "num.h"

#define GEN_PROG	"tripline-gen"
#define GEN_OUTBUF	(1u << 20)	/* bytes written per fwrite */
#define GEN_ROWMAX	1024		/* a row never needs more */
#define GEN_MAXROWS	1000000000000LL	/* 10^12 rows, keeps (j+1)*rows in 64 bits */
#define GEN_MAXBAD	1000000
#define GEN_MAXDAYS	36600
#define GEN_MAXREGIONS	64
#define GEN_NAMEMAX	64
#define GEN_MAXSPOTS	10
#define GEN_COORDMAX	32		/* "-179.9999999999999" and more */

/*
 * xoshiro256** (Blackman and Vigna, https://prng.di.unimi.it/), seeded
 * through splitmix64 as its authors recommend.  Fast and, unlike rand(),
 * the same sequence on every libc.
 */
struct rng {
	uint64_t	s[4];
};

static uint64_t
splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static inline uint64_t
rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

static void
rng_seed(struct rng *r, uint64_t seed)
{
	int i;

	for (i = 0; i < 4; i++)
		r->s[i] = splitmix64(&seed);
}

static inline uint64_t
rng_next(struct rng *r)
{
	uint64_t *s = r->s, res = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return res;
}

/* Uniform in [0, n) for n < 2^32 (multiply-shift, bias below 2^-32). */
static inline uint32_t
rng_below(struct rng *r, uint32_t n)
{
	return (uint32_t)(((rng_next(r) >> 32) * n) >> 32);
}

/* Uniform in [0, 1). */
static inline double
rng_unit(struct rng *r)
{
	return (double)(rng_next(r) >> 11) * 0x1.0p-53;
}

/* Mean 0, deviation 1, within +-3.47: the sum of four uniforms (Irwin-Hall). */
static inline double
rng_bell(struct rng *r)
{
	return (rng_unit(r) + rng_unit(r) + rng_unit(r) + rng_unit(r) - 2.0) *
	    1.7320508075688772;
}

/* Index drawn from cumulative weights cum[0..n-1] (cum[n-1] is the total). */
static size_t
pick_weighted(struct rng *r, const uint32_t *cum, size_t n)
{
	uint32_t	 x = rng_below(r, cum[n - 1]);
	size_t		 i = 0;

	while (cum[i] <= x)
		i++;
	return i;
}

/*
 * Cities.  The boxes follow the spread of the public sample file, the
 * hotspots are real places (stations, centres, business districts) with a
 * weight and a spread in degrees (about 1 km).
 */
struct spot {
	double		 lon, lat, sd;
	uint32_t	 weight;
};

struct city {
	const char	*name;
	double		 lon_min, lon_max, lat_min, lat_max;
	uint32_t	 weight;	/* share of trips; sample: 34/38/28 */
	struct spot	 spots[GEN_MAXSPOTS];
};

static const struct city cities[] = {
	{ "Prague", 14.30, 14.68, 49.98, 50.13, 34, {
		{ 14.4208, 50.0875, 0.008, 30 },	/* Old Town Square */
		{ 14.4353, 50.0831, 0.006, 20 },	/* main station */
		{ 14.4036, 50.0706, 0.008, 12 },	/* Andel */
		{ 14.4403, 50.1095, 0.010, 10 },	/* Holesovice */
		{ 14.4390, 50.0510, 0.010, 10 },	/* Pankrac */
		{ 14.4913, 50.0317, 0.012, 8 },		/* Chodov */
		{ 14.5737, 50.1065, 0.012, 6 },		/* Cerny Most */
		{ 14.3470, 50.0530, 0.012, 5 },		/* Stodulky */
	} },
	{ "Turin", 7.51, 7.78, 44.97, 45.14, 38, {
		{ 7.6858, 45.0712, 0.006, 30 },		/* Piazza Castello */
		{ 7.6781, 45.0621, 0.005, 20 },		/* Porta Nuova */
		{ 7.6654, 45.0717, 0.005, 15 },		/* Porta Susa */
		{ 7.6595, 45.0628, 0.006, 10 },		/* Politecnico */
		{ 7.6600, 45.0290, 0.008, 10 },		/* Lingotto */
		{ 7.6413, 45.1096, 0.008, 6 },		/* Allianz Stadium */
		{ 7.6150, 45.0380, 0.010, 6 },		/* Mirafiori */
		{ 7.7100, 45.0560, 0.010, 4 },		/* Gran Madre, hills */
	} },
	{ "Hamburg", 9.78, 10.22, 53.41, 53.66, 28, {
		{ 10.0069, 53.5526, 0.006, 30 },	/* Hauptbahnhof */
		{ 9.9930, 53.5530, 0.005, 20 },		/* Jungfernstieg */
		{ 9.9350, 53.5520, 0.008, 12 },		/* Altona */
		{ 9.9620, 53.5500, 0.006, 12 },		/* St. Pauli */
		{ 9.9990, 53.5410, 0.006, 10 },		/* HafenCity */
		{ 9.9800, 53.5900, 0.010, 8 },		/* Eppendorf */
		{ 10.0700, 53.5720, 0.010, 6 },		/* Wandsbek */
		{ 9.9880, 53.6300, 0.008, 5 },		/* airport */
		{ 9.9800, 53.4600, 0.012, 6 },		/* Harburg */
	} },
};
#define NCITIES	(sizeof(cities) / sizeof(cities[0]))

/* The shares of the public sample: 13, 16, 33, 18 and 20 of 100 trips. */
static const struct {
	const char	*name;
	uint32_t	 weight;
} sources[] = {
	{ "funny_car", 13 },
	{ "baba_car", 16 },
	{ "cheap_mobile", 33 },
	{ "bad_diesel_vehicles", 18 },
	{ "pt_search_app", 20 },
};
#define NSOURCES	(sizeof(sources) / sizeof(sources[0]))

/* Trips per hour of the day: rush hours on weekdays, late on weekends. */
static const uint32_t hour_weekday[24] = {
	2, 1, 1, 1, 1, 3, 6, 12, 14, 10, 7, 7,
	8, 8, 7, 8, 11, 14, 12, 8, 6, 5, 4, 3,
};
static const uint32_t hour_weekend[24] = {
	5, 4, 3, 2, 1, 1, 2, 3, 4, 6, 8, 9,
	9, 9, 9, 9, 8, 8, 7, 6, 6, 5, 5, 4,
};

/* A region as used: a city from the table or a made-up one (--regions). */
struct region {
	char		 name[GEN_NAMEMAX + 1];
	size_t		 namelen;
	double		 lon_min, lon_max, lat_min, lat_max;
	struct spot	 spots[GEN_MAXSPOTS];
	uint32_t	 spotcum[GEN_MAXSPOTS];
	size_t		 nspots;
	uint32_t	 weight;
};

/*
 * Bad rows, one kind after the other so that --bad N gives each kind
 * N / BAD__MAX or one more.  Each keeps the CSV framing intact (no quotes,
 * no newlines), so exactly one record is rejected per bad row.
 */
enum bad_kind {
	BAD_WKT,
	BAD_RANGE,
	BAD_NAN,
	BAD_DATE,
	BAD_MISSING,
	BAD_EXTRA,
	BAD_EMPTY_REGION,
	BAD__MAX
};

#define ROW_MAXFIELDS	6

struct row {
	const char	*f[ROW_MAXFIELDS];
	size_t		 len[ROW_MAXFIELDS];
	size_t		 nf;
	char		 from[GEN_ROWMAX / 8], to[GEN_ROWMAX / 8];
	char		 when[GEN_ROWMAX / 8];
	double		 pt[4];		/* origin lon, lat, destination lon, lat */
};

struct gen {
	struct rng	 rng;
	struct region	 reg[GEN_MAXREGIONS];
	uint32_t	 regcum[GEN_MAXREGIONS];
	size_t		 nreg;
	uint32_t	 srccum[NSOURCES];
	int64_t		 start_day;	/* days since 1970-01-01 */
	int64_t		 days;
	uint64_t	*slotcum;	/* per (day, hour): cumulative weight */
	char		(*dates)[11];	/* "YYYY-MM-DD" per day */
	int		 check;		/* verify coordinates read back */
	int		 checkfail;	/* one did not */
	uint64_t	 badcount[BAD__MAX];
	FILE		*fp;
	char		*buf;
	size_t		 buflen;
	int		 werr;		/* errno of the first failed write */
};

/* --- Calendar (proleptic Gregorian, H. Hinnant's days_from_civil). --- */

static int64_t
days_from_civil(int64_t y, unsigned m, unsigned d)
{
	int64_t		 era;
	unsigned	 yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (unsigned)(y - era * 400);
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

static void
civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
	int64_t		 era;
	unsigned	 doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = (unsigned)(z - era * 146097);
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = (int64_t)yoe + era * 400 + (*m <= 2);
}

/* "YYYY-MM-DD", years 1970 to 9999, checked against the calendar. */
static int
date_parse(const char *s, int64_t *day)
{
	int64_t		 y, m, d, yy;
	unsigned	 mm, dd;

	if (strlen(s) != 10 || s[4] != '-' || s[7] != '-' ||
	    num_parse_i64(s, 4, 1970, 9999, &y) != 0 ||
	    num_parse_i64(s + 5, 2, 1, 12, &m) != 0 ||
	    num_parse_i64(s + 8, 2, 1, 31, &d) != 0)
		return -1;
	*day = days_from_civil(y, (unsigned)m, (unsigned)d);
	civil_from_days(*day, &yy, &mm, &dd);
	return (yy == y && mm == m && dd == d) ? 0 : -1;
}

/* --- Formatting. --- */

static const char digits2[] =
    "00010203040506070809101112131415161718192021222324252627282930313233"
    "34353637383940414243444546474849505152535455565758596061626364656667"
    "68697071727374757677787980818283848586878889909192939495969798"
    "99";

static inline char *
put2(char *p, unsigned v)
{
	memcpy(p, digits2 + 2 * v, 2);
	return p + 2;
}

static const double pow10tab[] = {
	1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
	1e12, 1e13, 1e14, 1e15, 1e16,
};

/*
 * Write v as the shortest decimal that reads back as exactly the double it
 * denotes, the same text lib/num.c num_format_double prints for that
 * double, without snprintf and strtod (three of each per coordinate would
 * be most of the run time).
 *
 * Work in decimal first: round v to S = 16 significant digits, or 15 where
 * a step of the 16th digit is not larger than the spacing of doubles (ulp)
 * at v, and drop trailing zeros.  The text denotes the double x nearest to
 * it.  Up to 15 digits, any decimal survives the trip through a double
 * (DBL_DIG, C11 5.2.4.2.2), so "%.15g" of x prints the text again.  With 16
 * digits, the last one non-zero and a step larger than the ulp, x lies
 * within ulp/2 of the text and more than ulp/2 from any 15-digit decimal,
 * so "%.15g" does not read back and "%.16g" prints the text: again what the
 * ladder in num_format_double gives.  --check verifies this on every value.
 */
static size_t
coord_format(double v, char *out)
{
	char		 tmp[24], *p = out, *q;
	double		 a = fabs(v), ulp;
	uint64_t	 m;
	int		 e, frac, nint;
	size_t		 n;

	/* Outside [1, 1000) the %g layout differs; use the slow ladder. */
	if (!(a >= 1.0 && a < 1000.0))
		return num_format_double(v, out, GEN_COORDMAX);
	nint = a < 10.0 ? 1 : a < 100.0 ? 2 : 3;
	frac = 16 - nint;
	(void)frexp(a, &e);
	ulp = ldexp(1.0, e - 53);
	if (1.0 / pow10tab[frac] <= ulp)
		frac--;
	m = (uint64_t)llround(a * pow10tab[frac]);
	/* Digits backwards into tmp, fraction first. */
	q = tmp + sizeof(tmp);
	for (; frac > 0 && m % 10 == 0; frac--)
		m /= 10;
	for (; frac > 0; frac--) {
		*--q = (char)('0' + m % 10);
		m /= 10;
	}
	if (q != tmp + sizeof(tmp))
		*--q = '.';
	do {
		*--q = (char)('0' + m % 10);
		m /= 10;
	} while (m != 0);
	if (v < 0)
		*p++ = '-';
	n = (size_t)(tmp + sizeof(tmp) - q);
	memcpy(p, q, n);
	return (size_t)(p - out) + n;
}

/* 0 when s reads back as the double that prints as s, else -1. */
static int
coord_check(const char *s, size_t len)
{
	char	 again[GEN_COORDMAX];
	double	 v;

	if (num_parse_double(s, len, &v) != 0 ||
	    num_format_double(v, again, sizeof(again)) != len ||
	    memcmp(again, s, len) != 0) {
		fprintf(stderr, GEN_PROG ": coordinate \"%.*s\" does not read "
		    "back as printed\n", (int)len, s);
		return -1;
	}
	return 0;
}

/* "POINT (lon lat)" (OGC 06-103r4, 7.2.1: WKT point, x = lon, y = lat). */
static size_t
point_format(struct gen *g, double lon, double lat, char *out)
{
	char	*p = out;
	size_t	 n;

	memcpy(p, "POINT (", 7);
	p += 7;
	n = coord_format(lon, p);
	if (g->check && coord_check(p, n) != 0)
		g->checkfail = 1;
	p += n;
	*p++ = ' ';
	n = coord_format(lat, p);
	if (g->check && coord_check(p, n) != 0)
		g->checkfail = 1;
	p += n;
	*p++ = ')';
	return (size_t)(p - out);
}

/* --- Output: one big buffer, flushed with fwrite. --- */

static void
out_flush(struct gen *g)
{
	if (g->buflen > 0 && fwrite(g->buf, 1, g->buflen, g->fp) != g->buflen &&
	    g->werr == 0)
		g->werr = errno != 0 ? errno : EIO;
	g->buflen = 0;
}

static void
row_emit(struct gen *g, const struct row *r)
{
	char	*p;
	size_t	 i;

	if (GEN_OUTBUF - g->buflen < GEN_ROWMAX)
		out_flush(g);
	p = g->buf + g->buflen;
	for (i = 0; i < r->nf; i++) {
		if (i > 0)
			*p++ = ',';
		memcpy(p, r->f[i], r->len[i]);
		p += r->len[i];
	}
	*p++ = '\n';
	g->buflen = (size_t)(p - g->buf);
}

/* --- Good rows. --- */

/* A point near a weighted hotspot, or one time in six anywhere in the box. */
static void
region_point(struct gen *g, const struct region *reg, size_t spot,
    double *lon, double *lat)
{
	const struct spot	*s = &reg->spots[spot];
	int			 tries;

	if (rng_below(&g->rng, 6) != 0) {
		for (tries = 0; tries < 8; tries++) {
			/* A degree of longitude is shorter than one of latitude. */
			*lon = s->lon + rng_bell(&g->rng) * s->sd * 1.5;
			*lat = s->lat + rng_bell(&g->rng) * s->sd;
			if (*lon > reg->lon_min && *lon < reg->lon_max &&
			    *lat > reg->lat_min && *lat < reg->lat_max)
				return;
		}
	}
	*lon = reg->lon_min + rng_unit(&g->rng) * (reg->lon_max - reg->lon_min);
	*lat = reg->lat_min + rng_unit(&g->rng) * (reg->lat_max - reg->lat_min);
}

static void
row_make(struct gen *g, struct row *r)
{
	const struct region	*reg;
	uint64_t		 slot, secs;
	size_t			 a, b, di;
	char			*p;

	reg = &g->reg[pick_weighted(&g->rng, g->regcum, g->nreg)];
	a = pick_weighted(&g->rng, reg->spotcum, reg->nspots);
	b = pick_weighted(&g->rng, reg->spotcum, reg->nspots);
	region_point(g, reg, a, &r->pt[0], &r->pt[1]);
	region_point(g, reg, b, &r->pt[2], &r->pt[3]);

	/* The (day, hour) slot by weight, then a second within the hour. */
	{
		uint64_t	 x = rng_next(&g->rng) % g->slotcum[g->days * 24 - 1];
		size_t		 lo = 0, hi = (size_t)g->days * 24 - 1;

		while (lo < hi) {
			size_t mid = lo + (hi - lo) / 2;

			if (g->slotcum[mid] <= x)
				lo = mid + 1;
			else
				hi = mid;
		}
		slot = lo;
	}
	secs = rng_below(&g->rng, 3600);
	di = (size_t)(slot / 24);
	p = r->when;
	memcpy(p, g->dates[di], 10);
	p += 10;
	*p++ = ' ';
	p = put2(p, (unsigned)(slot % 24));
	*p++ = ':';
	p = put2(p, (unsigned)(secs / 60));
	*p++ = ':';
	p = put2(p, (unsigned)(secs % 60));

	r->nf = 5;
	r->f[0] = reg->name;
	r->len[0] = reg->namelen;
	r->f[1] = r->from;
	r->len[1] = point_format(g, r->pt[0], r->pt[1], r->from);
	r->f[2] = r->to;
	r->len[2] = point_format(g, r->pt[2], r->pt[3], r->to);
	r->f[3] = r->when;
	r->len[3] = (size_t)(p - r->when);
	a = pick_weighted(&g->rng, g->srccum, NSOURCES);
	r->f[4] = sources[a].name;
	r->len[4] = strlen(sources[a].name);
}

/* --- Bad rows: each spoils one field of a good row. --- */

/* Set field i (1 origin, 2 destination) to text made by snprintf. */
static void
row_setf(struct row *r, size_t i, const char *fmt, const char *x,
    const char *y)
{
	char	*dst = i == 1 ? r->from : i == 2 ? r->to : r->when;
	int	 n;

	n = snprintf(dst, sizeof(r->from), fmt, x, y);
	r->f[i] = dst;
	r->len[i] = n < 0 ? 0 : (size_t)n >= sizeof(r->from) ?
	    sizeof(r->from) - 1 : (size_t)n;
}

static void
bad_wkt(struct gen *g, struct row *r)
{
	static const char *const forms[] = {
		"POINT %s %s",
		"POINT (%s)%.0s",
		"POINT (%s %s 3)",
		"PIONT (%s %s)",
		"POINT EMPTY%.0s%.0s",
		"POINT (%s %s",
		"POINT (%s %s) x",
		"POINT (%s%s)",
		"POINT (%s abc%.0s)",
	};
	char	 lon[GEN_COORDMAX], lat[GEN_COORDMAX];
	size_t	 i = 1 + rng_below(&g->rng, 2), k = i == 1 ? 0 : 2;

	lon[coord_format(r->pt[k], lon)] = '\0';
	lat[coord_format(r->pt[k + 1], lat)] = '\0';
	row_setf(r, i, forms[rng_below(&g->rng,
	    sizeof(forms) / sizeof(forms[0]))], lon, lat);
}

static void
bad_range(struct gen *g, struct row *r)
{
	char	 lon[GEN_COORDMAX], lat[GEN_COORDMAX];
	size_t	 i = 1 + rng_below(&g->rng, 2), k = i == 1 ? 0 : 2;
	double	 x = r->pt[k], y = r->pt[k + 1], d = 0.5 + rng_unit(&g->rng) * 50;

	switch (rng_below(&g->rng, 4)) {
	case 0:
		x = 180.0 + d;
		break;
	case 1:
		x = -180.0 - d;
		break;
	case 2:
		y = 90.0 + d;
		break;
	default:
		y = -90.0 - d;
		break;
	}
	lon[coord_format(x, lon)] = '\0';
	lat[coord_format(y, lat)] = '\0';
	row_setf(r, i, "POINT (%s %s)", lon, lat);
}

static void
bad_nan(struct gen *g, struct row *r)
{
	static const char *const nans[] = { "nan", "NaN", "-nan", "NAN" };
	char		 num[GEN_COORDMAX];
	const char	*nan = nans[rng_below(&g->rng, 4)];
	size_t		 i = 1 + rng_below(&g->rng, 2), k = i == 1 ? 0 : 2;

	if (rng_below(&g->rng, 2) == 0) {
		num[coord_format(r->pt[k + 1], num)] = '\0';
		row_setf(r, i, "POINT (%s %s)", nan, num);
	} else {
		num[coord_format(r->pt[k], num)] = '\0';
		row_setf(r, i, "POINT (%s %s)", num, nan);
	}
}

/* Dates of the right shape that no calendar has. */
static void
bad_date(struct gen *g, struct row *r)
{
	static const char *const dates[] = {
		"2018-02-30%s", "2018-04-31%s", "2018-02-29%s", "2018-05-32%s",
		"2018-13-01%s", "2018-00-10%s", "2018-06-31%s", "2019-02-29%s",
	};
	static const char *const times[] = { " 25:00:00", " 12:60:00" };
	char	 t[10];

	if (rng_below(&g->rng, 4) == 0) {
		/* A good date with an impossible time. */
		memcpy(r->when + 10, times[rng_below(&g->rng, 2)], 9);
		r->len[3] = 19;
		return;
	}
	/* An impossible date with the row's own time " HH:MM:SS". */
	memcpy(t, r->when + 10, 9);
	t[9] = '\0';
	row_setf(r, 3, dates[rng_below(&g->rng,
	    sizeof(dates) / sizeof(dates[0]))], t, "");
}

static void
bad_missing(struct gen *g, struct row *r)
{
	size_t i = rng_below(&g->rng, 5);

	/* Drop one field, any of the five. */
	for (; i + 1 < r->nf; i++) {
		r->f[i] = r->f[i + 1];
		r->len[i] = r->len[i + 1];
	}
	r->nf--;
}

static void
bad_extra(struct gen *g, struct row *r)
{
	static const char *const extras[] = { "", "x", "42", "funny_car" };
	const char *x = extras[rng_below(&g->rng, 4)];

	r->f[r->nf] = x;
	r->len[r->nf] = strlen(x);
	r->nf++;
}

static void
bad_empty_region(struct gen *g, struct row *r)
{
	(void)g;
	r->f[0] = "";
	r->len[0] = 0;
}

static const struct {
	const char	*name;
	void		(*spoil)(struct gen *, struct row *);
} bad_kinds[BAD__MAX] = {
	{ "bad_wkt", bad_wkt },			/* BAD_WKT */
	{ "out_of_range", bad_range },		/* BAD_RANGE */
	{ "nan", bad_nan },			/* BAD_NAN */
	{ "bad_date", bad_date },		/* BAD_DATE */
	{ "missing_column", bad_missing },	/* BAD_MISSING */
	{ "extra_column", bad_extra },		/* BAD_EXTRA */
	{ "empty_region", bad_empty_region },	/* BAD_EMPTY_REGION */
};

/* --- Setup. --- */

static void
region_from_city(struct region *reg, const struct city *c)
{
	size_t i;

	memset(reg, 0, sizeof(*reg));
	reg->namelen = strlen(c->name);
	memcpy(reg->name, c->name, reg->namelen);
	reg->lon_min = c->lon_min;
	reg->lon_max = c->lon_max;
	reg->lat_min = c->lat_min;
	reg->lat_max = c->lat_max;
	reg->weight = c->weight;
	for (i = 0; i < GEN_MAXSPOTS && c->spots[i].weight > 0; i++)
		reg->spots[i] = c->spots[i];
	reg->nspots = i;
}

/*
 * A region not in the table gets a made-up city somewhere in Europe,
 * placed by a hash of its name (FNV-1a) so that it stays put across runs.
 */
static void
region_invent(struct region *reg, const char *name, size_t len)
{
	uint64_t	 h = 0xcbf29ce484222325ULL;
	double		 lon, lat;
	size_t		 i;

	for (i = 0; i < len; i++)
		h = (h ^ (unsigned char)name[i]) * 0x100000001b3ULL;
	memset(reg, 0, sizeof(*reg));
	memcpy(reg->name, name, len);
	reg->namelen = len;
	lon = 2.0 + (double)(splitmix64(&h) % 2000) / 100.0;
	lat = 41.0 + (double)(splitmix64(&h) % 1500) / 100.0;
	reg->lon_min = lon - 0.18;
	reg->lon_max = lon + 0.18;
	reg->lat_min = lat - 0.08;
	reg->lat_max = lat + 0.08;
	reg->weight = 30;
	reg->nspots = 4;
	for (i = 0; i < reg->nspots; i++) {
		reg->spots[i].lon = lon - 0.1 + (double)(splitmix64(&h) % 200) / 1000;
		reg->spots[i].lat = lat - 0.05 + (double)(splitmix64(&h) % 100) / 1000;
		reg->spots[i].sd = 0.008;
		reg->spots[i].weight = (uint32_t)(40 >> i);
	}
}

/* "A,B,C": names from the table, or new ones (no comma, quote or control). */
static int
regions_parse(struct gen *g, const char *list)
{
	const char	*p = list, *end;
	size_t		 len, i;

	g->nreg = 0;
	for (;;) {
		end = strchr(p, ',');
		len = end != NULL ? (size_t)(end - p) : strlen(p);
		if (len == 0 || len > GEN_NAMEMAX || g->nreg == GEN_MAXREGIONS)
			goto bad;
		for (i = 0; i < len; i++)
			if ((unsigned char)p[i] < 0x20 || p[i] == '"' ||
			    p[i] == 0x7f)
				goto bad;
		for (i = 0; i < NCITIES; i++)
			if (strlen(cities[i].name) == len &&
			    memcmp(cities[i].name, p, len) == 0)
				break;
		if (i < NCITIES)
			region_from_city(&g->reg[g->nreg], &cities[i]);
		else
			region_invent(&g->reg[g->nreg], p, len);
		g->nreg++;
		if (end == NULL)
			return 0;
		p = end + 1;
	}
bad:
	fprintf(stderr, GEN_PROG ": invalid region list \"%s\"\n", list);
	return -1;
}

static int
gen_setup(struct gen *g, const char *regions, uint64_t seed)
{
	uint64_t	 total = 0;
	int64_t		 d, y;
	unsigned	 m, dd, wd;
	size_t		 i, j;

	rng_seed(&g->rng, seed);
	if (regions != NULL) {
		if (regions_parse(g, regions) != 0)
			return -1;
	} else {
		for (i = 0; i < NCITIES; i++)
			region_from_city(&g->reg[i], &cities[i]);
		g->nreg = NCITIES;
	}
	for (i = 0; i < g->nreg; i++) {
		g->regcum[i] = (i > 0 ? g->regcum[i - 1] : 0) + g->reg[i].weight;
		for (j = 0; j < g->reg[i].nspots; j++)
			g->reg[i].spotcum[j] = (j > 0 ? g->reg[i].spotcum[j - 1] :
			    0) + g->reg[i].spots[j].weight;
	}
	for (i = 0; i < NSOURCES; i++)
		g->srccum[i] = (i > 0 ? g->srccum[i - 1] : 0) + sources[i].weight;

	g->slotcum = calloc((size_t)g->days * 24, sizeof(*g->slotcum));
	g->dates = calloc((size_t)g->days, sizeof(*g->dates));
	g->buf = malloc(GEN_OUTBUF);
	if (g->slotcum == NULL || g->dates == NULL || g->buf == NULL) {
		fprintf(stderr, GEN_PROG ": out of memory\n");
		return -1;
	}
	for (d = 0; d < g->days; d++) {
		const uint32_t *hw;

		civil_from_days(g->start_day + d, &y, &m, &dd);
		snprintf(g->dates[d], sizeof(g->dates[d]), "%04d-%02u-%02u",
		    (int)y, m, dd);
		/* 1970-01-01 was a Thursday: 0 = Monday ... 6 = Sunday. */
		wd = (unsigned)((g->start_day + d + 3) % 7);
		hw = wd >= 5 ? hour_weekend : hour_weekday;
		for (i = 0; i < 24; i++) {
			/*
			 * A weekday has 159 hour weights, a weekend day 133:
			 * times 6 and 5, a weekend day has 70% of the trips.
			 */
			total += hw[i] * (wd >= 5 ? 5u : 6u);
			g->slotcum[d * 24 + (int64_t)i] = total;
		}
	}
	return 0;
}

static void
usage(FILE *fp)
{
	fprintf(fp,
	    "usage: " GEN_PROG " [-n rows] [-s seed] [-o file] [--start YYYY-MM-DD]\n"
	    "                    [--days n] [--regions A,B,C] [--bad n] [--check]\n"
	    "  -n, --rows n        good rows to write (default 1000)\n"
	    "  -s, --seed n        same seed, same bytes (default 1)\n"
	    "  -o, --output file   write there instead of stdout\n"
	    "      --start date    first day of trips (default 2018-05-01)\n"
	    "      --days n        days of trips (default 31)\n"
	    "      --regions list  regions to use (default Prague,Turin,Hamburg;\n"
	    "                      other names get a made-up city)\n"
	    "      --bad n         add n bad rows in all, the kinds taken in\n"
	    "                      turn, and count them by kind on stderr\n"
	    "      --check         verify that every coordinate reads back\n"
	    "                      exactly as printed (slow)\n"
	    "  -h, --help          this text\n");
}

enum gen_opt {
	OPT_START = 256,
	OPT_DAYS,
	OPT_REGIONS,
	OPT_BAD,
	OPT_CHECK,
};

static const struct option longopts[] = {
	{ "rows", required_argument, NULL, 'n' },
	{ "seed", required_argument, NULL, 's' },
	{ "output", required_argument, NULL, 'o' },
	{ "help", no_argument, NULL, 'h' },
	{ "start", required_argument, NULL, OPT_START },
	{ "days", required_argument, NULL, OPT_DAYS },
	{ "regions", required_argument, NULL, OPT_REGIONS },
	{ "bad", required_argument, NULL, OPT_BAD },
	{ "check", no_argument, NULL, OPT_CHECK },
	{ NULL, 0, NULL, 0 },
};

/* An integer option within [min, max], or exit with a message. */
static int64_t
opt_int(const char *what, const char *s, int64_t min, int64_t max)
{
	int64_t v;

	if (num_parse_i64(s, strlen(s), min, max, &v) != 0) {
		fprintf(stderr, GEN_PROG ": invalid %s \"%s\" (%lld to %lld)\n",
		    what, s, (long long)min, (long long)max);
		exit(2);
	}
	return v;
}

int
main(int argc, char *argv[])
{
	static struct gen	 g;
	static const char	 header[] =
	    "region,origin_coord,destination_coord,datetime,datasource\n";
	struct row		 r;
	const char		*out = NULL, *regions = NULL;
	int64_t			 rows = 1000, seed = 1, bad = 0;
	uint64_t		 total, i, j = 0, nextbad;
	int			 c, rc = 1;

	g.days = 31;
	g.start_day = days_from_civil(2018, 5, 1);
	while ((c = getopt_long(argc, argv, "n:s:o:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'n':
			rows = opt_int("row count", optarg, 0, GEN_MAXROWS);
			break;
		case 's':
			seed = opt_int("seed", optarg, 0, INT64_MAX);
			break;
		case 'o':
			out = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case OPT_START:
			if (date_parse(optarg, &g.start_day) != 0) {
				fprintf(stderr, GEN_PROG ": invalid start date "
				    "\"%s\" (YYYY-MM-DD)\n", optarg);
				return 2;
			}
			break;
		case OPT_DAYS:
			g.days = opt_int("day count", optarg, 1, GEN_MAXDAYS);
			break;
		case OPT_REGIONS:
			regions = optarg;
			break;
		case OPT_BAD:
			bad = opt_int("bad row count", optarg, 0, GEN_MAXBAD);
			break;
		case OPT_CHECK:
			g.check = 1;
			break;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	if (g.start_day + g.days > days_from_civil(10000, 1, 1)) {
		fprintf(stderr, GEN_PROG ": trips would run past year 9999\n");
		return 2;
	}
	if (gen_setup(&g, regions, (uint64_t)seed) != 0)
		goto out;
	if (out == NULL)
		g.fp = stdout;
	else if ((g.fp = fopen(out, "w")) == NULL) {
		fprintf(stderr, GEN_PROG ": cannot create \"%s\": %s\n", out,
		    strerror(errno));
		goto out;
	}

	/* Bad row j goes at (j + 1) * total / (bad + 1): evenly spread. */
	total = (uint64_t)rows + (uint64_t)bad;
	nextbad = bad > 0 ? total / ((uint64_t)bad + 1) : UINT64_MAX;
	memcpy(g.buf, header, sizeof(header) - 1);
	g.buflen = sizeof(header) - 1;
	for (i = 0; i < total && g.werr == 0; i++) {
		row_make(&g, &r);
		if (g.checkfail)
			goto out;
		if (i == nextbad) {
			enum bad_kind k = (enum bad_kind)(j % BAD__MAX);

			bad_kinds[k].spoil(&g, &r);
			g.badcount[k]++;
			j++;
			nextbad = j < (uint64_t)bad ?
			    (j + 1) * total / ((uint64_t)bad + 1) : UINT64_MAX;
		}
		row_emit(&g, &r);
	}
	out_flush(&g);
	if ((fflush(g.fp) != 0 || ferror(g.fp)) && g.werr == 0)
		g.werr = errno != 0 ? errno : EIO;
	if (g.fp != stdout) {
		if (fclose(g.fp) != 0 && g.werr == 0)
			g.werr = errno != 0 ? errno : EIO;
		g.fp = NULL;
	}
	if (g.werr) {
		fprintf(stderr, GEN_PROG ": cannot write \"%s\": %s\n",
		    out != NULL ? out : "stdout", strerror(g.werr));
		goto out;
	}
	if (bad > 0) {
		fprintf(stderr, GEN_PROG ": %lld good rows, %lld bad rows:",
		    (long long)rows, (long long)bad);
		for (c = 0; c < BAD__MAX; c++)
			fprintf(stderr, " %s=%llu", bad_kinds[c].name,
			    (unsigned long long)g.badcount[c]);
		fputc('\n', stderr);
	}
	rc = 0;
out:
	if (g.fp != NULL && g.fp != stdout)
		fclose(g.fp);
	free(g.slotcum);
	free(g.dates);
	free(g.buf);
	return rc;
}
