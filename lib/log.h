/*
 * log.h: one line per event on stderr, which the stack scripts send to
 * var/log/<program>.log.  Never log a token or a request body.
 */
#ifndef TRIPLINE_LOG_H
#define TRIPLINE_LOG_H

enum log_level {
	LOG_LEVEL_DEBUG,
	LOG_LEVEL_INFO,
	LOG_LEVEL_WARN,
	LOG_LEVEL_ERROR,
	LOG_LEVEL__MAX
};

/*
 * Name the program in every line ("tripline-cgi"); call once at start.
 * TRIPLINE_LOG_LEVEL (debug, info, warn or error; info when unset) is
 * the least level logged.  0, or -1 after logging that it is invalid.
 */
int	log_init(const char *program);
void	log_msg(enum log_level, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));

#define log_debug(...)	log_msg(LOG_LEVEL_DEBUG, __VA_ARGS__)
#define log_info(...)	log_msg(LOG_LEVEL_INFO, __VA_ARGS__)
#define log_warn(...)	log_msg(LOG_LEVEL_WARN, __VA_ARGS__)
#define log_error(...)	log_msg(LOG_LEVEL_ERROR, __VA_ARGS__)

#endif
