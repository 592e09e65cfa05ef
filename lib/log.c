/*
 * log.c: timestamped log lines on stderr.  One fprintf per line keeps lines
 * whole when several threads log at once (stdio locks the stream per call).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "safetext.h"

static const char *const level_names[LOG_LEVEL__MAX] = {
	"debug",	/* LOG_LEVEL_DEBUG */
	"info",		/* LOG_LEVEL_INFO */
	"warn",		/* LOG_LEVEL_WARN */
	"error",	/* LOG_LEVEL_ERROR */
};

static const char *log_program = "tripline";
static enum log_level log_min = LOG_LEVEL_INFO;

int
log_init(const char *program)
{
	const char	*v = getenv("TRIPLINE_LOG_LEVEL");
	char		 q[SAFETEXT_QUOTE_SIZE];
	int		 i;

	log_program = program;
	if (v == NULL || *v == '\0')
		return 0;
	for (i = 0; i < LOG_LEVEL__MAX; i++)
		if (strcmp(v, level_names[i]) == 0) {
			log_min = (enum log_level)i;
			return 0;
		}
	safetext_quote(v, strlen(v), q, sizeof(q));
	log_error("invalid TRIPLINE_LOG_LEVEL: %s (debug, info, warn or "
	    "error)", q);
	return -1;
}

void
log_msg(enum log_level level, const char *fmt, ...)
{
	char		 msg[2048], stamp[32];
	struct timespec	 ts;
	struct tm	 tm;
	va_list		 ap;

	if (level < log_min || level >= LOG_LEVEL__MAX)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
	fprintf(stderr, "%s.%03ldZ %s %s: %s\n", stamp, ts.tv_nsec / 1000000L,
	    log_program, level_names[level], msg);
}
