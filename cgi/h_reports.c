/*
 * h_reports.c: the report endpoints (see h_reports.h, docs/reports.md).
 *
 * One source of truth: each endpoint runs the very file a psql user runs,
 * sql/reports/NAME.sql.  At start the file is read (db_sql_load) and made
 * a statement for PQexecParams: lines starting with a backslash are psql
 * meta-commands (the defaults psql needs) and are left out, and every
 * psql variable :'name' (psql docs, "SQL Interpolation") becomes the
 * parameter $n of the name's place in the report's table below.  A
 * parameter the request leaves out is sent as NULL, which the files read
 * as "not given" through NULLIF(:'name', '').  The report logic itself
 * is in SQL functions (sql/migrations/003_reports.sql).
 *
 * Parameters are checked here first, so that each error names its
 * parameter; the SQL checks again for psql users (SQLSTATE 22023, which
 * is answered with 400 too).  An unknown region or datasource is SQLSTATE
 * P0002 (no_data_found): 404.
 *
 * Rows become JSON by column type: integers and float8 as numbers
 * (PostgreSQL prints float8 shortest-exact, extra_float_digits >= 1, and
 * the text is kept as is), json columns as JSON, everything else as a
 * string.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "db.h"
#include "h_reports.h"
#include "http.h"
#include "log.h"
#include "num.h"
#include "param.h"
#include "query.h"
#include "safetext.h"
#include "trip.h"
#include "utf8.h"

#define REPORT_MAX_PARAMS	8
/* sql_convert writes each "$N" with one digit (found by a review). */
_Static_assert(REPORT_MAX_PARAMS <= 9, "a parameter's $N is one digit");
#define REPORT_NAME_MAX		TRIP_NAME_MAX	/* region, datasource */
#define REPORT_NUM_SIZE		32		/* num_format_double */

enum report {
	REPORT_WEEKLY,
	REPORT_GROUPS,
	REPORT_LATEST,
	REPORT_SOURCES,
	REPORT__MAX
};

/*
 * The report files' psql variables.  A handler fills an array of values
 * indexed by these (NULL: not given); report_run sends each file those
 * it names, in its $n order.
 */
enum report_var {
	V_REGION,
	V_MINLON,	/* V_MINLON .. V_MAXLAT in bbox order */
	V_MINLAT,
	V_MAXLON,
	V_MAXLAT,
	V_MATCH,
	V_FROM,
	V_TO,
	V_MIN_TRIPS,
	V_LIMIT,
	V_TOP,
	V_DATASOURCE,
	V__MAX
};

static const char *const report_var_names[V__MAX] = {
	"region", "minlon", "minlat", "maxlon", "maxlat", "match", "from",
	"to", "min_trips", "limit", "top", "datasource",
};

struct report_def {
	const char	*file;		/* under TRIPLINE_SQL_DIR */
	const char	*what;		/* for log lines */
	/* The file's variables in $n order, ended by V__MAX. */
	enum report_var	 vars[REPORT_MAX_PARAMS + 1];
};

static const struct report_def reports[REPORT__MAX] = {
	[REPORT_WEEKLY] = { "reports/weekly_average.sql", "weekly average",
	    { V_REGION, V_MINLON, V_MINLAT, V_MAXLON, V_MAXLAT, V_MATCH,
	    V_FROM, V_TO, V__MAX } },
	[REPORT_GROUPS] = { "reports/trip_groups.sql", "trip groups",
	    { V_REGION, V_MINLON, V_MINLAT, V_MAXLON, V_MAXLAT, V_MIN_TRIPS,
	    V_LIMIT, V__MAX } },
	[REPORT_LATEST] = { "reports/latest_datasource.sql",
	    "latest datasource", { V_TOP, V__MAX } },
	[REPORT_SOURCES] = { "reports/datasource_regions.sql",
	    "datasource regions", { V_DATASOURCE, V__MAX } },
};

/* The statements, made once by h_reports_start, read-only afterwards. */
static char *report_sql[REPORT__MAX];

/* --- Query parameters. --- */

enum { W_BBOX, W_REGION, W_MATCH, W_FROM, W_TO, W__MAX };
static const struct query_param weekly_params[W__MAX] = {
	[W_BBOX] = { "bbox", QUERY_TEXT, 0, 0, 0, 0, 256 },
	[W_REGION] = { "region", QUERY_TEXT, 0, 0, 0, 0, REPORT_NAME_MAX },
	/* No length of their own: the checks below say what they take. */
	[W_MATCH] = { "match", QUERY_TEXT, 0, 0, 0, 0, 0 },
	[W_FROM] = { "from", QUERY_TEXT, 0, 0, 0, 0, 0 },
	[W_TO] = { "to", QUERY_TEXT, 0, 0, 0, 0, 0 },
};

enum { G_BBOX, G_REGION, G_MIN_TRIPS, G_LIMIT, G_FORMAT, G__MAX };
static const struct query_param groups_params[G__MAX] = {
	[G_BBOX] = { "bbox", QUERY_TEXT, 0, 0, 0, 0, 256 },
	[G_REGION] = { "region", QUERY_TEXT, 0, 0, 0, 0, REPORT_NAME_MAX },
	[G_MIN_TRIPS] = { "min_trips", QUERY_INT, 1, 2147483647, 0, 0, 0 },
	[G_LIMIT] = { "limit", QUERY_INT, 1, 10000, 0, 0, 0 },
	[G_FORMAT] = { "format", QUERY_TEXT, 0, 0, 0, 0, 0 },	/* as match */
};

enum { L_TOP, L__MAX };
static const struct query_param latest_params[L__MAX] = {
	[L_TOP] = { "top", QUERY_INT, 1, 1000, 0, 0, 0 },
};

enum { S_DATASOURCE, S__MAX };
static const struct query_param sources_params[S__MAX] = {
	[S_DATASOURCE] = { "datasource", QUERY_TEXT, 0, 0, 0, 0,
	    REPORT_NAME_MAX },
};

enum match {
	MATCH_ORIGIN,
	MATCH_DESTINATION,
	MATCH_BOTH,
	MATCH_EITHER,
	MATCH__MAX
};
static const char *const match_names[MATCH__MAX + 1] = {
	"origin", "destination", "both", "either", NULL
};

/*
 * For the lat,lon hint (box_swap_hint), by match: the end whose count in
 * a box comes from the aggregates, and whether an answer of no trip means
 * that end has none in the box (both does not: origins may be there).
 */
static const struct {
	const char	*end;		/* a match value */
	const char	*ends;		/* for the hint's words */
	int		 zero_says;
} match_hint[MATCH__MAX] = {
	[MATCH_ORIGIN] =	{ "origin", "origins", 1 },
	[MATCH_DESTINATION] =	{ "destination", "destinations", 1 },
	[MATCH_BOTH] =		{ "origin", "origins", 0 },
	[MATCH_EITHER] =	{ "origin", "origins", 1 },
};

enum group_format {
	FORMAT_JSON,
	FORMAT_GEOJSON,
	FORMAT__MAX
};
static const char *const format_names[FORMAT__MAX + 1] = {
	"json", "geojson", NULL
};

/* --- Preparing the SQL files. --- */

static int
ident_char(char c)
{
	return isalnum((unsigned char)c) || c == '_';
}

/*
 * Turn a psql script (buf, len) into one statement for PQexecParams:
 * drop lines starting with '\', replace :'name' by $n where names[n-1]
 * is name, outside double-dash comments and '...' literals.  The report
 * files use no block comment, E'' or $$ string: a :'name' inside one
 * would be replaced, where psql leaves it.  Returns a new string
 * (free it), or NULL with the reason in err: an unknown variable, or a
 * name of the table the file never uses.
 */
static char *
sql_convert(const char *buf, size_t len, const char *const *names,
    char *err, size_t errsz)
{
	char	*out, *o;
	size_t	 i = 0, j, k, n;
	int	 used[REPORT_MAX_PARAMS] = { 0 }, bol = 1;

	if ((out = malloc(len + 1)) == NULL) {
		snprintf(err, errsz, "out of memory");
		return NULL;
	}
	o = out;
	while (i < len) {
		if (bol && buf[i] == '\\') {
			while (i < len && buf[i] != '\n')
				i++;
			i++;
			continue;
		}
		bol = 0;
		if (buf[i] == '-' && i + 1 < len && buf[i + 1] == '-') {
			while (i < len && buf[i] != '\n')
				*o++ = buf[i++];
			continue;
		}
		if (buf[i] == '\'') {
			/* A literal; '' inside is a quote. */
			*o++ = buf[i++];
			while (i < len && buf[i] != '\'')
				*o++ = buf[i++];
			if (i < len)
				*o++ = buf[i++];
			continue;
		}
		if (buf[i] == ':' && i + 2 < len && buf[i + 1] == '\'' &&
		    ident_char(buf[i + 2])) {
			for (j = i + 2; j < len && ident_char(buf[j]); j++)
				;
			if (j >= len || buf[j] != '\'') {
				snprintf(err, errsz, "malformed variable at "
				    "byte %zu", i);
				goto fail;
			}
			n = j - (i + 2);
			for (k = 0; names[k] != NULL; k++)
				if (strlen(names[k]) == n &&
				    memcmp(names[k], buf + i + 2, n) == 0)
					break;
			if (names[k] == NULL) {
				snprintf(err, errsz, "unknown variable "
				    ":'%.*s'", (int)n, buf + i + 2);
				goto fail;
			}
			/*
			 * ":'x'" is 4 bytes at least, "$8" is 2: it fits in
			 * the variable's room (3 bytes with the NUL, which
			 * the next byte overwrites).
			 */
			o += snprintf(o, 3, "$%zu", k + 1);
			used[k] = 1;
			i = j + 1;
			continue;
		}
		if (buf[i] == '\n')
			bol = 1;
		*o++ = buf[i++];
	}
	*o = '\0';
	for (k = 0; names[k] != NULL; k++)
		if (!used[k]) {
			snprintf(err, errsz, "variable :'%s' is not used",
			    names[k]);
			goto fail;
		}
	return out;
fail:
	free(out);
	return NULL;
}

int
h_reports_start(const struct config *cfg)
{
	const char	*names[REPORT_MAX_PARAMS + 1];
	char		*text, err[128];
	int		 r, n;

	for (r = 0; r < REPORT__MAX; r++) {
		if ((text = db_sql_load(cfg->sql_dir, reports[r].file)) == NULL)
			goto fail;
		for (n = 0; reports[r].vars[n] != V__MAX; n++)
			names[n] = report_var_names[reports[r].vars[n]];
		names[n] = NULL;
		report_sql[r] = sql_convert(text, strlen(text), names, err,
		    sizeof(err));
		free(text);
		if (report_sql[r] == NULL) {
			log_error("%s/%s: %s", cfg->sql_dir, reports[r].file,
			    err);
			goto fail;
		}
	}
	return 0;
fail:
	h_reports_stop();
	return -1;
}

void
h_reports_stop(void)
{
	int r;

	for (r = 0; r < REPORT__MAX; r++) {
		free(report_sql[r]);
		report_sql[r] = NULL;
	}
}

/* --- Checking values: a refused one answers 400 naming its parameter. --- */

/* The index of s in a NULL-terminated list, or -1. */
static int
name_index(const char *const *list, const char *s)
{
	int i;

	for (i = 0; list[i] != NULL; i++)
		if (strcmp(list[i], s) == 0)
			return i;
	return -1;
}

/* 400 naming the parameter, the value (a C string, or NULL) quoted. */
static void
bad_param(struct http_req *req, const char *name, const char *value,
    const char *reason)
{
	http_problem_value(req, 400, name, value,
	    value != NULL ? strlen(value) : 0, reason);
}

/*
 * The area of weekly and groups: bbox (into v and the four $n texts) or
 * region, checked.  Returns 0, or -1 after answering 400.
 */
static int
area_params(struct http_req *req, const struct query_value *bbox,
    const struct query_value *region, int required, const char **values,
    double v[4], char num[4][REPORT_NUM_SIZE])
{
	const char	*reason;
	int		 i;

	if (bbox->present && region->present) {
		bad_param(req, "bbox", NULL, "give bbox or region, not both");
		return -1;
	}
	if (required && !bbox->present && !region->present) {
		bad_param(req, "bbox", NULL, "give bbox or region");
		return -1;
	}
	if (bbox->present) {
		if (param_bbox_parse(bbox->str, bbox->len, v, &reason) != 0) {
			bad_param(req, "bbox", bbox->str, reason);
			return -1;
		}
		for (i = 0; i < 4; i++) {
			num_format_double(v[i], num[i], REPORT_NUM_SIZE);
			values[V_MINLON + i] = num[i];
		}
	}
	if (region->present) {
		if (region->len == 0 || !utf8_valid(region->str, region->len)) {
			bad_param(req, "region", region->str,
			    "must be a region name");
			return -1;
		}
		values[V_REGION] = region->str;
	}
	return 0;
}

/* --- Running a report. --- */

/*
 * 404 for a region or datasource name that is not loaded; what is also
 * the parameter's name.  safetext_quote escapes a quote or backslash in
 * the name as the SQL functions' message does (to_json), so that a name
 * holding a quote reads one way: datasource "d\"s" not found.
 */
static void
not_found(struct http_req *req, const char *what, const char *name)
{
	char	 q[SAFETEXT_QUOTE_SIZE], detail[256], reason[64];

	if (name == NULL)
		name = "";
	safetext_quote(name, strlen(name), q, sizeof(q));
	snprintf(detail, sizeof(detail), "%s %s not found", what, q);
	snprintf(reason, sizeof(reason), "no such %s", what);
	http_problem_named(req, 404, detail, what, reason);
}

/* Report r's $n values from values (by enum report_var); how many. */
static int
report_params(enum report r, const char *const *values, const char **v)
{
	int n;

	for (n = 0; reports[r].vars[n] != V__MAX; n++)
		v[n] = values[reports[r].vars[n]];
	return n;
}

/*
 * Run report r with its values (by enum report_var, NULL = not given).
 * Returns the result, or NULL after answering: 404 for an unknown region or
 * datasource, 400 for a parameter the SQL refused, else 500/503.
 */
static PGresult *
report_run(struct http_req *req, enum report r, const char *const *values)
{
	const struct report_def	*def = &reports[r];
	PGresult		*res;
	const char		*state, *msg, *col, *v[REPORT_MAX_PARAMS];
	int			 n;

	n = report_params(r, values, v);
	/* A report only reads: run again after a database restart. */
	if ((res = http_exec_result(req, def->what, report_sql[r], n, v))
	    == NULL)
		return NULL;
	if (PQresultStatus(res) == PGRES_TUPLES_OK)
		return res;
	state = db_sqlstate(res);
	msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
	col = PQresultErrorField(res, PG_DIAG_COLUMN_NAME);
	if (strcmp(state, "P0002") == 0) {
		if (r == REPORT_SOURCES)
			not_found(req, "datasource", values[V_DATASOURCE]);
		else
			not_found(req, "region", values[V_REGION]);
	} else if (strcmp(state, "22023") == 0 && col != NULL && msg != NULL)
		http_problem_param(req, msg, col, msg);
	else
		http_db_fail(req, res, def->what);
	PQclear(res);
	return NULL;
}

/* --- Rows as JSON. --- */

/* One value of res, typed by its column (see the top comment). */
static struct json_object *
value_json(const PGresult *res, int row, int col)
{
	const char	*v;
	double		 d;

	if (PQgetisnull(res, row, col))
		return NULL;
	v = PQgetvalue(res, row, col);
	switch (PQftype(res, col)) {
	case DB_OID_INT2:
	case DB_OID_INT4:
	case DB_OID_INT8:
		return http_json_int(v);
	case DB_OID_FLOAT4:
	case DB_OID_FLOAT8:
		/* Already shortest-exact: keep PostgreSQL's text. */
		if (num_parse_double(v, strlen(v), &d) != 0)
			return NULL;	/* NaN, Infinity: null */
		return json_object_new_double_s(d, v);
	case DB_OID_BOOL:
		return json_object_new_boolean(v[0] == 't');
	case DB_OID_JSON:
	case DB_OID_JSONB:
		return json_tokener_parse(v);
	default:
		return json_object_new_string(v);
	}
}

/* A row as an object keyed by column name. */
static struct json_object *
row_json(const PGresult *res, int row)
{
	struct json_object	*o = json_object_new_object();
	int			 c;

	for (c = 0; c < PQnfields(res); c++)
		json_object_object_add(o, PQfname(res, c),
		    value_json(res, row, c));
	return o;
}

/*
 * Answer with the report's one row as the object, and a "hint" when hint
 * is not NULL.
 */
static void
reply_row(struct http_req *req, const PGresult *res, const char *hint)
{
	struct json_object *o;

	if (PQntuples(res) != 1) {
		log_error("report: %d rows where one was expected",
		    PQntuples(res));
		http_problem(req, 500, "internal error");
		return;
	}
	o = row_json(res, 0);
	if (hint != NULL)
		json_object_object_add(o, "hint",
		    json_object_new_string(hint));
	http_json(req, 200, o);
	json_object_put(o);
}

/* The one row's total_trips, or -1. */
static long long
weekly_total(const PGresult *res)
{
	int	 col = PQfnumber(res, "total_trips");
	int64_t	 n;

	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1 ||
	    db_get_i64(res, 0, col, 0, INT64_MAX, &n) != 0)
		return -1;
	return (long long)n;
}

/*
 * The trips with end m in the box of values (weekly's layout; origin or
 * destination: from the aggregates, fast), or -1 on any trouble.
 * Nothing is answered here.
 */
static long long
weekly_count(struct http_req *req, const char *const *values, enum match m)
{
	const char	*mine[V__MAX], *v[REPORT_MAX_PARAMS];
	PGresult	*res;
	long long	 n;
	int		 k;

	memcpy(mine, values, sizeof(mine));
	mine[V_MATCH] = match_hint[m].end;
	k = report_params(REPORT_WEEKLY, mine, v);
	res = PQexecParams(*req->conn, report_sql[REPORT_WEEKLY], k, NULL, v,
	    NULL, NULL, 0);
	n = weekly_total(res);
	PQclear(res);
	return n;
}

/*
 * A box that holds no trip (for match m) may have been given lat,lon: the
 * order of most map sites and of EPSG:4326's axes, where OGC API -
 * Features (part 1, 7.15.3, "Parameter bbox") and this API take lon,lat.
 * When the box holds none of match_hint's end, and the box read the other
 * way round is another one and holds some (in the same span), say so in
 * hint, else leave it "".  box is the box as area_params read it.
 */
static void
box_swap_hint(struct http_req *req, const char *const *values,
    const double box[4], enum match m, int zero_known, char *hint,
    size_t hintsz)
{
	const char	*swapped[V__MAX];
	long long	 n;

	hint[0] = '\0';
	/* minLon,minLat and maxLon,maxLat equal: the same box read back. */
	if (box[0] == box[1] && box[2] == box[3])
		return;
	/* Longitudes that are no latitudes. */
	if (box[0] < -90 || box[0] > 90 || box[2] < -90 || box[2] > 90)
		return;
	memcpy(swapped, values, sizeof(swapped));
	swapped[V_MINLON] = values[V_MINLAT];
	swapped[V_MINLAT] = values[V_MINLON];
	swapped[V_MAXLON] = values[V_MAXLAT];
	swapped[V_MAXLAT] = values[V_MAXLON];
	if (!zero_known && weekly_count(req, values, m) != 0)
		return;
	if ((n = weekly_count(req, swapped, m)) > 0)
		snprintf(hint, hintsz, "no trip in this box; read as lat,lon "
		    "it holds %lld (their %s): bbox is minLon,minLat,"
		    "maxLon,maxLat, try bbox=%s,%s,%s,%s", n,
		    match_hint[m].ends, swapped[V_MINLON], swapped[V_MINLAT],
		    swapped[V_MAXLON], swapped[V_MAXLAT]);
}

/* Parse the query against a table, answering 400 on failure. */
static int
parse_query(struct http_req *req, const struct query_param *table,
    size_t n, struct query_values *qv)
{
	char err[256];

	if (query_parse(req->query, strlen(req->query), table, n, qv, err,
	    sizeof(err)) != 0) {
		http_problem_query(req, qv, err);
		return -1;
	}
	return 0;
}

/* --- Handlers. --- */

void
h_reports_weekly(struct http_req *req)
{
	struct query_values	 qv;
	const char		*values[V__MAX] = { NULL };
	char			 num[4][REPORT_NUM_SIZE], hint[256];
	double			 box[4];
	PGresult		*res;
	enum match		 m = MATCH_ORIGIN;
	int			 k;

	if (parse_query(req, weekly_params, W__MAX, &qv) != 0 ||
	    area_params(req, &qv.v[W_BBOX], &qv.v[W_REGION], 1, values, box,
	    num) != 0)
		return;
	if (qv.v[W_MATCH].present) {
		if (qv.v[W_REGION].present) {
			bad_param(req, "match", qv.v[W_MATCH].str,
			    "applies to bbox only");
			return;
		}
		if ((k = name_index(match_names, qv.v[W_MATCH].str)) < 0) {
			bad_param(req, "match", qv.v[W_MATCH].str,
			    "must be origin, destination, both or either");
			return;
		}
		m = (enum match)k;
		values[V_MATCH] = qv.v[W_MATCH].str;
	}
	for (k = W_FROM; k <= W_TO; k++) {
		if (!qv.v[k].present)
			continue;
		if (!param_date_valid(qv.v[k].str, qv.v[k].len)) {
			bad_param(req, weekly_params[k].name, qv.v[k].str,
			    "must be a date YYYY-MM-DD of the years 1900 to 2100");
			return;
		}
		values[k == W_FROM ? V_FROM : V_TO] = qv.v[k].str;
	}
	/* Same format, so the text order is the date order. */
	if (values[V_FROM] != NULL && values[V_TO] != NULL &&
	    strcmp(values[V_FROM], values[V_TO]) > 0) {
		char	 q[SAFETEXT_QUOTE_SIZE], why[SAFETEXT_QUOTE_SIZE + 32];

		safetext_quote(values[V_FROM], strlen(values[V_FROM]), q,
		    sizeof(q));
		snprintf(why, sizeof(why), "must not be before from %s", q);
		bad_param(req, "to", values[V_TO], why);
		return;
	}
	if ((res = report_run(req, REPORT_WEEKLY, values)) == NULL)
		return;
	hint[0] = '\0';
	if (values[V_MINLON] != NULL && weekly_total(res) == 0)
		box_swap_hint(req, values, box, m, match_hint[m].zero_says,
		    hint, sizeof(hint));
	reply_row(req, res, hint[0] != '\0' ? hint : NULL);
	PQclear(res);
}

/*
 * A group as a GeoJSON Feature (RFC 7946 section 3.2): a LineString from
 * the origin centroid to the destination centroid, [longitude, latitude]
 * (section 3.1.1), with the row as properties.
 */
static struct json_object *
group_feature(const PGresult *res, int row)
{
	static const char *const cols[4] = {
		"origin_lon", "origin_lat", "dest_lon", "dest_lat"
	};
	struct json_object	*f, *g, *line, *pt = NULL;
	int			 i, c;

	f = json_object_new_object();
	g = json_object_new_object();
	line = json_object_new_array();
	for (i = 0; i < 4; i++) {
		if (i % 2 == 0) {
			pt = json_object_new_array();
			json_object_array_add(line, pt);
		}
		c = PQfnumber(res, cols[i]);
		json_object_array_add(pt, c < 0 ? NULL : value_json(res, row, c));
	}
	json_object_object_add(g, "type", json_object_new_string("LineString"));
	json_object_object_add(g, "coordinates", line);
	json_object_object_add(f, "type", json_object_new_string("Feature"));
	json_object_object_add(f, "geometry", g);
	json_object_object_add(f, "properties", row_json(res, row));
	return f;
}

void
h_reports_groups(struct http_req *req)
{
	struct query_values	 qv;
	struct json_object	*body, *list;
	const char		*values[V__MAX] = { NULL };
	const char		*corners[V__MAX] = { NULL };
	char			 num[4][REPORT_NUM_SIZE], mt[24], lim[24];
	double			 box[4];
	char			 hint[256] = "";
	const char		*s;
	PGresult		*res;
	size_t			 len;
	int			 fmt = FORMAT_JSON, i;

	if (parse_query(req, groups_params, G__MAX, &qv) != 0 ||
	    area_params(req, &qv.v[G_BBOX], &qv.v[G_REGION], 0, values, box,
	    num) != 0)
		return;
	if (qv.v[G_FORMAT].present &&
	    (fmt = name_index(format_names, qv.v[G_FORMAT].str)) < 0) {
		bad_param(req, "format", qv.v[G_FORMAT].str,
		    "must be json or geojson");
		return;
	}
	if (qv.v[G_MIN_TRIPS].present) {
		snprintf(mt, sizeof(mt), "%lld",
		    (long long)qv.v[G_MIN_TRIPS].i);
		values[V_MIN_TRIPS] = mt;
	}
	if (qv.v[G_LIMIT].present) {
		snprintf(lim, sizeof(lim), "%lld", (long long)qv.v[G_LIMIT].i);
		values[V_LIMIT] = lim;
	}
	if ((res = report_run(req, REPORT_GROUPS, values)) == NULL)
		return;
	/* No group, and not for min_trips: no trip in the box at all. */
	if (values[V_MINLON] != NULL && PQntuples(res) == 0) {
		for (i = V_MINLON; i <= V_MAXLAT; i++)
			corners[i] = values[i];
		box_swap_hint(req, corners, box, MATCH_ORIGIN, 0, hint,
		    sizeof(hint));
	}
	body = json_object_new_object();
	list = json_object_new_array();
	if (fmt == FORMAT_GEOJSON) {
		json_object_object_add(body, "type",
		    json_object_new_string("FeatureCollection"));
		for (i = 0; i < PQntuples(res); i++)
			json_object_array_add(list, group_feature(res, i));
		json_object_object_add(body, "features", list);
		/* A foreign member (RFC 7946 section 6.1). */
		if (hint[0] != '\0')
			json_object_object_add(body, "hint",
			    json_object_new_string(hint));
		/* RFC 7946 section 12: application/geo+json. */
		s = json_object_to_json_string_length(body,
		    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE,
		    &len);
		http_head(req, 200, "application/geo+json", (int64_t)len + 1);
		http_write(req, s, len);
		http_write(req, "\n", 1);
	} else {
		for (i = 0; i < PQntuples(res); i++)
			json_object_array_add(list, row_json(res, i));
		json_object_object_add(body, "groups", list);
		json_object_object_add(body, "count",
		    json_object_new_int(PQntuples(res)));
		if (hint[0] != '\0')
			json_object_object_add(body, "hint",
			    json_object_new_string(hint));
		http_json(req, 200, body);
	}
	json_object_put(body);
	PQclear(res);
}

void
h_reports_latest(struct http_req *req)
{
	struct query_values	 qv;
	/* Left out, top is NULL: the file's default (2). */
	const char		*values[V__MAX] = { NULL };
	char			 top[24];
	PGresult		*res;

	if (parse_query(req, latest_params, L__MAX, &qv) != 0)
		return;
	if (qv.v[L_TOP].present) {
		snprintf(top, sizeof(top), "%lld", (long long)qv.v[L_TOP].i);
		values[V_TOP] = top;
	}
	if ((res = report_run(req, REPORT_LATEST, values)) == NULL)
		return;
	reply_row(req, res, NULL);
	PQclear(res);
}

void
h_reports_sources(struct http_req *req)
{
	struct query_values	 qv;
	struct json_object	*body, *list;
	const char		*values[V__MAX] = { NULL };
	const struct query_value *ds = &qv.v[S_DATASOURCE];
	PGresult		*res;
	int			 i;

	if (parse_query(req, sources_params, S__MAX, &qv) != 0)
		return;
	if (!ds->present) {
		bad_param(req, "datasource", NULL, "is required");
		return;
	}
	if (ds->len == 0 || !utf8_valid(ds->str, ds->len)) {
		bad_param(req, "datasource", ds->str,
		    "must be a datasource name");
		return;
	}
	values[V_DATASOURCE] = ds->str;
	if ((res = report_run(req, REPORT_SOURCES, values)) == NULL)
		return;
	body = json_object_new_object();
	list = json_object_new_array();
	json_object_object_add(body, "datasource",
	    json_object_new_string(ds->str));
	for (i = 0; i < PQntuples(res); i++)
		json_object_array_add(list, row_json(res, i));
	json_object_object_add(body, "regions", list);
	http_json(req, 200, body);
	json_object_put(body);
	PQclear(res);
}
