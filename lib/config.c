/*
 * config.c: settings from the environment, validated once at start.
 */
#include <string.h>
#include <stdlib.h>

#include "config.h"
#include "log.h"
#include "num.h"

enum config_int {
	CONFIG_MAX_UPLOAD,
	CONFIG_THREADS,
	CONFIG_LEASE_SECONDS,
	CONFIG_MAX_ATTEMPTS,
	CONFIG_REPORTS_PUBLIC,
	CONFIG_AGG_MAP_KEYS,
	CONFIG_SPLIT_BYTES,
	CONFIG_RIM_COMPACT,
	CONFIG_RIM_LAG,
	CONFIG_SPOOL_KEEP_FAILED,
	CONFIG_MAX_NEW_NAMES,
	CONFIG__MAX
};

static const struct {
	const char	*name;
	int64_t		 def, min, max;
} config_ints[CONFIG__MAX] = {
	/* CONFIG_MAX_UPLOAD: 4 GiB, the size of a 30M-row file */
	{ "TRIPLINE_MAX_UPLOAD", 4LL << 30, 1, INT64_MAX },
	/*
	 * CONFIG_THREADS: each worker holds a connection and the relay one
	 * more, and tripline_web may hold 64 (000_roles.sql, CONNECTION
	 * LIMIT): more threads would wait for one that never comes.
	 */
	{ "TRIPLINE_THREADS", 8, 1, 63 },
	{ "TRIPLINE_LEASE_SECONDS", 30, 2, 86400 },	/* CONFIG_LEASE_SECONDS */
	{ "TRIPLINE_MAX_ATTEMPTS", 3, 1, 100 },	/* CONFIG_MAX_ATTEMPTS */
	{ "TRIPLINE_REPORTS_PUBLIC", 1, 0, 1 },	/* CONFIG_REPORTS_PUBLIC */
	/* CONFIG_AGG_MAP_KEYS: jobs/aggregate.c, the runner's memory bound */
	{ "TRIPLINE_AGG_MAP_KEYS", 1 << 18, 512, 1 << 24 },
	/* CONFIG_SPLIT_BYTES: jobs/split.h, 0 = load every file whole */
	{ "TRIPLINE_SPLIT_BYTES", 0, 0, INT64_MAX },
	/* CONFIG_RIM_COMPACT: jobs/rimtend.h, 0 = no upkeep at all */
	{ "TRIPLINE_RIM_COMPACT", 2, 0, 100 },
	/* CONFIG_RIM_LAG: jobs/rimtend.h, seconds, 0 = only when idle */
	{ "TRIPLINE_RIM_LAG", 600, 0, 86400 * 365 },
	/*
	 * CONFIG_SPOOL_KEEP_FAILED: jobs/spoolsweep.h, seconds; a week for
	 * an operator to look at what failed; ten years at most, so that
	 * the seconds stay an SQL integer.
	 */
	{ "TRIPLINE_SPOOL_KEEP_FAILED", 604800, 0, 86400 * 3650 },
	/*
	 * CONFIG_MAX_NEW_NAMES: jobs/dimcache.h, 0 = no cap; at most the
	 * datasource ids there are (smallint).
	 */
	{ "TRIPLINE_MAX_NEW_NAMES", 1000, 0, 32767 },
};

static const char *
env_or(const char *name, const char *def)
{
	const char *v = getenv(name);

	return (v != NULL && v[0] != '\0') ? v : def;
}

int
config_load(struct config *cfg, const char *role_default)
{
	int64_t		 v[CONFIG__MAX];
	const char	*s;
	size_t		 i;

	for (i = 0; i < CONFIG__MAX; i++) {
		v[i] = config_ints[i].def;
		s = getenv(config_ints[i].name);
		if (s == NULL || s[0] == '\0')
			continue;
		if (num_parse_i64(s, strlen(s), config_ints[i].min,
		    config_ints[i].max, &v[i]) != 0) {
			log_error("invalid %s: \"%s\" (a whole number from "
			    "%lld to %lld)", config_ints[i].name, s,
			    (long long)config_ints[i].min,
			    (long long)config_ints[i].max);
			return -1;
		}
	}
	cfg->db_user = env_or("TRIPLINE_DB_USER", role_default);
	cfg->spool_dir = env_or("TRIPLINE_SPOOL", "var/spool");
	cfg->inbox_dir = env_or("TRIPLINE_INBOX", "var/inbox");
	cfg->socket_path = env_or("TRIPLINE_SOCKET", "var/run/cgi.sock");
	cfg->sql_dir = env_or("TRIPLINE_SQL_DIR", "sql");
	cfg->token = env_or("TRIPLINE_TOKEN", "");
	cfg->max_upload = v[CONFIG_MAX_UPLOAD];
	cfg->threads = (int)v[CONFIG_THREADS];
	cfg->lease_seconds = (int)v[CONFIG_LEASE_SECONDS];
	cfg->max_attempts = (int)v[CONFIG_MAX_ATTEMPTS];
	cfg->reports_public = (int)v[CONFIG_REPORTS_PUBLIC];
	cfg->agg_map_keys = (size_t)v[CONFIG_AGG_MAP_KEYS];
	cfg->split_bytes = v[CONFIG_SPLIT_BYTES];
	cfg->rim_compact = (int)v[CONFIG_RIM_COMPACT];
	cfg->rim_lag = (int)v[CONFIG_RIM_LAG];
	cfg->spool_keep_failed = (int)v[CONFIG_SPOOL_KEEP_FAILED];
	cfg->max_new_names = (int)v[CONFIG_MAX_NEW_NAMES];
	return 0;
}
