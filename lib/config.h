/*
 * config.h: the installation's settings, read once from the environment
 * (TRIPLINE_* variables, which scripts/stack.sh gives each program).  The
 * database is reached through libpq's own PGHOST, PGPORT and PGDATABASE.
 */
#ifndef TRIPLINE_CONFIG_H
#define TRIPLINE_CONFIG_H

#include <stdint.h>

struct config {
	const char	*db_user;	/* TRIPLINE_DB_USER: login role */
	const char	*spool_dir;	/* TRIPLINE_SPOOL: upload spool */
	const char	*inbox_dir;	/* TRIPLINE_INBOX: server-side inbox */
	const char	*socket_path;	/* TRIPLINE_SOCKET: FastCGI unix socket */
	const char	*sql_dir;	/* TRIPLINE_SQL_DIR: sql/ of the install */
	const char	*token;		/* TRIPLINE_TOKEN; "" when unset */
	int64_t		 max_upload;	/* TRIPLINE_MAX_UPLOAD: bytes */
	int		 threads;	/* TRIPLINE_THREADS: FastCGI workers */
	int		 lease_seconds;	/* TRIPLINE_LEASE_SECONDS */
	int		 max_attempts;	/* TRIPLINE_MAX_ATTEMPTS */
	int		 reports_public; /* TRIPLINE_REPORTS_PUBLIC: 0 = need token */
	size_t		 agg_map_keys;	/* TRIPLINE_AGG_MAP_KEYS: most keys an
					   aggregate map holds before it spills */
	int64_t		 split_bytes;	/* TRIPLINE_SPLIT_BYTES: a file larger
					   than this is loaded in parts of
					   about this size; 0 = never */
	int		 rim_compact;	/* TRIPLINE_RIM_COMPACT: an idle runner
					   builds each job's rim table, and
					   merges trip_rims partitions when at
					   least this many fit together (1:
					   never); 0: does neither */
	int		 rim_lag;	/* TRIPLINE_RIM_LAG: seconds a job's
					   rim table may wait for an idle
					   moment; then it is built before the
					   next job is claimed; 0: no limit */
	int		 spool_keep_failed; /* TRIPLINE_SPOOL_KEEP_FAILED:
					   seconds the runner keeps a failed
					   upload's spool file; 0: none */
	int		 max_new_names;	/* TRIPLINE_MAX_NEW_NAMES: new region
					   or datasource names one load may
					   add, each; 0: no cap */
};

/*
 * Fill cfg from the environment, with defaults for what is unset; the
 * strings point into the environment.  role_default names the database
 * role when TRIPLINE_DB_USER is unset.  Returns 0, or -1 after logging
 * which variable is malformed.
 */
int	config_load(struct config *cfg, const char *role_default);

#endif
