/*
 * wkt.c: WKT points.  The grammar is the <point tagged text> production
 * of OGC 06-103r4 section 7.2.1, restricted to two coordinates; the
 * numbers go through num_parse_double(), so "nan", "inf", hex floats and
 * overflow are refused like any other number from outside.
 */
#include <string.h>

#include "num.h"
#include "wkt.h"

static const char *const wkt_errors[WKT__MAX] = {
	"ok",				/* WKT_OK */
	"not a WKT point",		/* WKT_ESYNTAX */
	"not a finite decimal number",	/* WKT_ENUMBER */
	"coordinate out of range",	/* WKT_ERANGE */
	"number longer than 64 characters",	/* WKT_ELONG */
};

/* Words that name a number without being one: "nan", "-inf" and so on. */
static const char *const wkt_nonfinite[] = {
	"nan", "inf", "infinity",
};

static int
wkt_space(char c)
{
	return c == ' ' || c == '\t';
}

static size_t
wkt_skip_spaces(const char *buf, size_t len, size_t i)
{
	while (i < len && wkt_space(buf[i]))
		i++;
	return i;
}

static int
wkt_lower(char c)
{
	return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

/*
 * A token that looks like it was meant as a number: it starts like a
 * decimal, or it is a spelling of NaN or infinity.  Its failure to parse
 * is then a number error rather than a syntax error, which tells the user
 * more ("POINT (nan 50)" vs "POINT (abc 50)").
 */
static int
wkt_numberish(const char *tok, size_t len)
{
	size_t	 i, j, k;

	if (tok[0] == '-' || tok[0] == '+' || tok[0] == '.' ||
	    (tok[0] >= '0' && tok[0] <= '9'))
		return 1;
	for (i = 0; i < sizeof(wkt_nonfinite) / sizeof(wkt_nonfinite[0]);
	    i++) {
		k = strlen(wkt_nonfinite[i]);
		if (k != len)
			continue;
		for (j = 0; j < k; j++)
			if (wkt_lower(tok[j]) != wkt_nonfinite[i][j])
				break;
		if (j == k)
			return 1;
	}
	return 0;
}

/*
 * The coordinate token at buf[*i]: the bytes up to a space, parenthesis
 * or comma.  Advances *i past it.
 */
static enum wkt_err
wkt_number(const char *buf, size_t len, size_t *i, double *out)
{
	const char	*num;
	size_t		 start = *i, n;

	while (*i < len && !wkt_space(buf[*i]) && buf[*i] != '(' &&
	    buf[*i] != ')' && buf[*i] != ',')
		(*i)++;
	if (*i == start)
		return WKT_ESYNTAX;
	/*
	 * OGC 06-103r4 section 7.2.1: <signed numeric literal> ::= [<sign>]
	 * <unsigned numeric literal>, <sign> ::= <plus sign> | <minus sign>.
	 * num_parse_double() takes '-' only (it also reads query strings),
	 * so a '+' is dropped here; what follows must then be unsigned.
	 */
	num = buf + start;
	n = *i - start;
	if (n > 1 && num[0] == '+' && num[1] != '-') {
		num++;
		n--;
	}
	if (num_parse_double(num, n, out) == 0)
		return WKT_OK;
	if (!wkt_numberish(buf + start, *i - start))
		return WKT_ESYNTAX;
	return n > NUM_DOUBLE_LEN_MAX ? WKT_ELONG : WKT_ENUMBER;
}

enum wkt_err
wkt_point_parse(const char *buf, size_t len, double *lon, double *lat)
{
	static const char tag[] = "point";
	enum wkt_err	 e;
	size_t		 i, j;
	double		 x, y;

	i = wkt_skip_spaces(buf, len, 0);
	for (j = 0; j < sizeof(tag) - 1; j++, i++)
		if (i >= len || wkt_lower(buf[i]) != tag[j])
			return WKT_ESYNTAX;
	i = wkt_skip_spaces(buf, len, i);
	if (i >= len || buf[i] != '(')
		return WKT_ESYNTAX;
	i = wkt_skip_spaces(buf, len, i + 1);
	if ((e = wkt_number(buf, len, &i, &x)) != WKT_OK)
		return e;
	/* At least one space between the coordinates. */
	if (i >= len || !wkt_space(buf[i]))
		return WKT_ESYNTAX;
	i = wkt_skip_spaces(buf, len, i);
	if ((e = wkt_number(buf, len, &i, &y)) != WKT_OK)
		return e;
	i = wkt_skip_spaces(buf, len, i);
	if (i >= len || buf[i] != ')')
		return WKT_ESYNTAX;
	i = wkt_skip_spaces(buf, len, i + 1);
	if (i != len)
		return WKT_ESYNTAX;
	if (!(x >= -180.0 && x <= 180.0 && y >= -90.0 && y <= 90.0))
		return WKT_ERANGE;
	*lon = x;
	*lat = y;
	return WKT_OK;
}

const char *
wkt_strerror(enum wkt_err e)
{
	return (unsigned)e < WKT__MAX ? wkt_errors[e] : "unknown error";
}
