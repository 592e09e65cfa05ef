/*
 * db.c: libpq connections and the SQL files of sql/.
 */
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "db.h"
#include "log.h"
#include "num.h"

PGconn *
db_connect(const struct config *cfg, const char *appname)
{
	/*
	 * Everything else (host, port, dbname) comes from the PG* variables.
	 * extra_float_digits above 0 prints a float8 in its shortest exact
	 * form (PostgreSQL docs, 20.11.2 "Locale and Formatting"), which the
	 * reports' JSON keeps as text; 0, set in a server's configuration,
	 * would round 14.42559591323251 to 15 digits.  DateStyle ISO prints
	 * a timestamp as the input files write it, "2018-05-31 06:20:59"
	 * (docs/reports.md); "SQL, DMY" printed "31/05/2018 06:20:59".  A
	 * client's startup option outranks the server's, database's and
	 * role's settings.
	 */
	const char *const keys[] = { "user", "application_name",
	    "connect_timeout", "options", NULL };
	const char *const vals[] = { cfg->db_user, appname, "10",
	    "-c extra_float_digits=1 -c datestyle=ISO", NULL };
	PGconn	*conn;

	conn = PQconnectdbParams(keys, vals, 0);
	if (conn == NULL) {
		log_error("could not connect to the database: out of memory");
		return NULL;
	}
	if (PQstatus(conn) != CONNECTION_OK) {
		log_error("could not connect to the database: %s",
		    PQerrorMessage(conn));
		PQfinish(conn);
		return NULL;
	}
	return conn;
}

PGconn *
db_check(PGconn *c)
{
	struct pollfd	 pfd;
	int		 i;

	if (c == NULL)
		return NULL;
	pfd.fd = PQsocket(c);
	pfd.events = POLLIN;
	/*
	 * One read takes the server's FATAL message, the next its end of
	 * file: read while the socket has something (a few times at most,
	 * for notifications that keep coming).
	 */
	for (i = 0; i < 8 && PQstatus(c) == CONNECTION_OK && pfd.fd >= 0 &&
	    poll(&pfd, 1, 0) == 1; i++)
		if (PQconsumeInput(c) == 0)
			break;
	if (PQstatus(c) != CONNECTION_OK) {
		PQfinish(c);
		c = NULL;
	}
	return c;
}

int
db_cancel_wait(PGconn *c)
{
	PGcancel	*cancel;
	PGresult	*res;
	char		 err[256];
	int		 rc = 0;

	if ((cancel = PQgetCancel(c)) == NULL ||
	    PQcancel(cancel, err, sizeof(err)) == 0)
		rc = -1;
	PQfreeCancel(cancel);
	while ((res = PQgetResult(c)) != NULL)
		PQclear(res);
	return rc;
}

const char *
db_sqlstate(const PGresult *res)
{
	const char *s = res == NULL ? NULL :
	    PQresultErrorField(res, PG_DIAG_SQLSTATE);

	return s == NULL ? "" : s;
}

int
db_get_i64(const PGresult *res, int row, int col, int64_t min, int64_t max,
    int64_t *out)
{
	if (res == NULL || row < 0 || row >= PQntuples(res) || col < 0 ||
	    col >= PQnfields(res) || PQgetisnull(res, row, col))
		return -1;
	return num_parse_i64(PQgetvalue(res, row, col),
	    (size_t)PQgetlength(res, row, col), min, max, out);
}

int
db_get_int(const PGresult *res, int row, int col, int min, int max,
    int *out)
{
	int64_t	 v;

	if (db_get_i64(res, row, col, min, max, &v) != 0)
		return -1;
	*out = (int)v;
	return 0;
}

int
db_get_counts(const PGresult *res, int row, int col, size_t n,
    uint64_t *out)
{
	int64_t	 v[8];
	size_t	 i;

	if (n > sizeof(v) / sizeof(v[0]) || col < 0 ||
	    (size_t)col + n > (size_t)INT_MAX)
		return -1;
	for (i = 0; i < n; i++)
		if (db_get_i64(res, row, col + (int)i, 0, INT64_MAX,
		    &v[i]) != 0)
			return -1;
	for (i = 0; i < n; i++)
		out[i] = (uint64_t)v[i];
	return 0;
}

char *
db_sql_load(const char *dir, const char *name)
{
	char	 path[4096];
	char	*buf = NULL;
	FILE	*f = NULL;
	long	 sz;
	int	 n;

	n = snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (n < 0 || (size_t)n >= sizeof(path)) {
		log_error("sql path too long: \"%s/%s\"", dir, name);
		goto out;
	}
	if ((f = fopen(path, "r")) == NULL ||
	    fseek(f, 0, SEEK_END) != 0 || (sz = ftell(f)) < 0 ||
	    fseek(f, 0, SEEK_SET) != 0) {
		log_error("could not read %s: %m", path);
		goto out;
	}
	if ((buf = malloc((size_t)sz + 1)) == NULL ||
	    fread(buf, 1, (size_t)sz, f) != (size_t)sz) {
		log_error("could not read %s", path);
		free(buf);
		buf = NULL;
		goto out;
	}
	buf[sz] = '\0';
out:
	if (f != NULL)
		fclose(f);
	return buf;
}
