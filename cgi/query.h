/*
 * query.h: a strict parser of URL query strings (the QUERY_STRING of
 * RFC 3875 section 4.1.7) against a per-endpoint table of parameters.
 *
 * Pairs are separated by '&' (empty pairs are skipped), name and value by
 * the first '='; both are percent-decoded (RFC 3986 section 2.1) with '+'
 * read as a space (the application/x-www-form-urlencoded rules of the
 * WHATWG URL Standard, section 5).  Refused, each with a short message
 * naming the parameter: a name not in the table, a name given twice, a
 * malformed '%' escape, a decoded NUL, a value that does not fit its type
 * or range, a query longer than QUERY_MAX_LEN bytes.  As each name may
 * appear once, a query holds at most as many pairs as its table has
 * entries (QUERY_MAX_PARAMS): that bounds the count, and so the work.
 *
 * A pure function over (buf, len): no I/O, no globals, no allocation; the
 * decoded values live inside the struct query_values.
 */
#ifndef TRIPLINE_QUERY_H
#define TRIPLINE_QUERY_H

#include <stddef.h>
#include <stdint.h>

#define QUERY_MAX_LEN		2048	/* bytes of raw query string */
#define QUERY_MAX_PARAMS	16	/* entries in one table */
#define QUERY_NAME_MAX		32	/* bytes of a decoded name */

enum query_type {
	QUERY_TEXT,	/* any text without NUL, up to maxlen bytes */
	QUERY_INT,	/* num_parse_i64 within [min, max] */
	QUERY_DOUBLE,	/* num_parse_double within [dmin, dmax] */
	QUERY_TYPE__MAX
};

/* One accepted parameter; tables are static const arrays per endpoint. */
struct query_param {
	const char	*name;
	enum query_type	 type;
	int64_t		 min, max;	/* QUERY_INT */
	double		 dmin, dmax;	/* QUERY_DOUBLE */
	size_t		 maxlen;	/* QUERY_TEXT; 0 = QUERY_MAX_LEN */
};

struct query_value {
	int		 present;
	const char	*str;	/* decoded, NUL-terminated, in buf below */
	size_t		 len;
	int64_t		 i;	/* QUERY_INT */
	double		 d;	/* QUERY_DOUBLE */
};

struct query_values {
	/* v[k] belongs to table[k]. */
	struct query_value	 v[QUERY_MAX_PARAMS];
	/*
	 * After an error: the parameter's name as the client sent it,
	 * decoded and sanitized for display, without quotes ("" when the
	 * query as a whole is at fault), and why it was refused, without the
	 * name (for RFC 9457 invalid_params).
	 */
	char			 bad_name[64];	/* query.c asserts the room */
	char			 bad_reason[96];
	char			 buf[QUERY_MAX_LEN + QUERY_MAX_PARAMS];
};

/*
 * Parse buf (len bytes, may be 0) against table (n entries, at most
 * QUERY_MAX_PARAMS) into out.  Returns 0, or -1 with a short message for
 * the client in err (size errsz) and out->bad_name, out->bad_reason set.
 */
int	query_parse(const char *buf, size_t len,
	    const struct query_param *table, size_t n,
	    struct query_values *out, char *err, size_t errsz);

#endif
