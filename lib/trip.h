/*
 * trip.h: one record of a trips CSV, checked and typed.
 *
 *   region,origin_coord,destination_coord,datetime,datasource
 *   Prague,POINT (14.4973794438195 50.00136875782316),POINT (...),
 *       2018-05-28 09:03:40,funny_car
 */
#ifndef TRIPLINE_TRIP_H
#define TRIPLINE_TRIP_H

#include <stddef.h>
#include <stdint.h>

enum trip_col {
	TRIP_COL_REGION,
	TRIP_COL_ORIGIN,
	TRIP_COL_DEST,
	TRIP_COL_DATETIME,
	TRIP_COL_DATASOURCE,
	TRIP_COL__MAX
};

/* "region", "origin_coord", "destination_coord", "datetime", "datasource" */
extern const char *const trip_col_names[TRIP_COL__MAX];

/* The longest region or datasource name, in bytes. */
#define TRIP_NAME_MAX	128

/* Where each column is in the file's records, and how many fields. */
struct trip_header {
	size_t	 col[TRIP_COL__MAX];
	size_t	 nfields;
};

/*
 * Whether the first line of a file, line of len bytes as read (the raw
 * text csvstream gives, a UTF-8 byte order mark already dropped), can be
 * UTF-8 text at all: a UTF-16 or UTF-32 byte order mark, or a NUL byte
 * (no text holds one; UTF-16 text of Latin letters is every other
 * byte NUL), says it is not.  To be asked before anything else about the
 * line: read as UTF-8, such a line also has misplaced quotes or a CR
 * inside.  Returns 0, or -1 with a message in err (cut to errsz):
 *   not a trips CSV: the file is UTF-16 text; save it as UTF-8
 *   not a trips CSV: the file looks like UTF-16 text without a byte
 *       order mark; save it as UTF-8
 *   not a trips CSV: the first line holds NUL bytes: not UTF-8 text
 */
int	trip_header_text(const char *line, size_t len, char *err,
	    size_t errsz);

/*
 * Whether line (len bytes, a first line as trip_header_text takes it),
 * split on semicolons or on tabs instead of commas, names two columns or
 * more: then -1 with a message in err (cut to errsz) that quotes it
 * (as safetext_quote does, cut after 60 bytes), else 0.
 * trip_header_parse asks it of a first line that names no column; the
 * loader also of one the reader could not split into fields
 * ("region";"origin_coord" read with commas has misplaced quotes):
 *   not a trips CSV: the header "region;origin_coord;..." is separated
 *       by semicolons; columns must be separated by commas
 */
int	trip_header_separator(const char *line, size_t len, char *err,
	    size_t errsz);

/*
 * Find the columns in a header record by name: case-insensitive,
 * surrounding spaces and tabs ignored, in any order; other columns are
 * allowed and ignored.  line (linelen bytes) is the record's raw text,
 * quoted (as safetext_quote does, cut after 60 bytes) when no field is a
 * column name.  Returns 0, or -1 with a message in err (cut to errsz):
 *   missing column "datasource" in header
 *   duplicate column "region" in header
 *   not a trips CSV: the header "region;origin_coord;..." is separated
 *       by semicolons; columns must be separated by commas
 *   not a trips CSV: the first line "Prague,POINT (...)..." is not a
 *       header: it must name region, origin_coord, destination_coord,
 *       datetime, datasource
 * The first of the two "not a trips CSV" is trip_header_separator's.
 */
int	trip_header_parse(const char *line, size_t linelen,
	    const char *const *field, const size_t *len, size_t n,
	    struct trip_header *h, char *err, size_t errsz);

struct trip {
	double		 olon, olat, dlon, dlat;
	int64_t		 ts_us;		/* see datetime.h */
	const char	*region;	/* points into the record's fields */
	size_t		 region_len;
	const char	*datasource;
	size_t		 datasource_len;
};

/*
 * Check and convert one record of n fields; n must be h->nfields.  The
 * columns are checked in the order of enum trip_col and the first
 * failure is reported.  Names (region, datasource) are kept as written
 * but for spaces and tabs at either end, which are dropped (quoted or
 * not: " Prague " is "Prague"); they must not be empty or blank, and
 * must be at most TRIP_NAME_MAX bytes of valid UTF-8 without control
 * characters (C0, DEL and C1: U+0085 too) or bidirectional controls
 * (U+202A to U+202E, U+2066 to U+2069).  Returns 0, or -1 with a
 * short lower-case reason in reason (cut to reasonsz) that quotes the
 * offending value as safetext_quote quotes it, cut after 60 bytes:
 *   expected 5 fields, got 4
 *   region: empty
 *   region: contains a NUL or control character: "Pra\ufffdgue"
 *   region: contains a bidirectional control character: "\ufffdeugarP"
 *   region: not valid UTF-8: "Pr\ufffdgue"
 *   datasource: longer than 128 bytes: "aaaa..."
 *   origin_coord: not a WKT point: "POINT (14.4 abc)"
 *   origin_coord: not a finite decimal number: "POINT (nan 50)"
 *   destination_coord: coordinate out of range: "POINT (200 50)"
 *   datetime: expected YYYY-MM-DD HH:MM:SS: "08/03/2019 08:00"
 *   datetime: a time zone is not accepted, expected YYYY-MM-DD
 *       HH:MM:SS: "2019-03-04 08:00:00+02:00"
 *   datetime: no such date: "2018-02-30 10:00:00"
 * (the datetime reasons are datetime_strerror's, datetime.h).
 */
int	trip_parse(const struct trip_header *h, const char *const *field,
	    const size_t *len, size_t n, struct trip *t, char *reason,
	    size_t reasonsz);

#endif
