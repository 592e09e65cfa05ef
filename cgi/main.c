/*
 * main.c: tripline-cgi, the FastCGI program behind nginx.
 *
 * It listens on the unix socket TRIPLINE_SOCKET (mode 0660: nginx and the
 * program share the run user's group; never TCP) and serves with
 * TRIPLINE_THREADS worker threads, each with its own FCGX_Request and its
 * own PostgreSQL connection (libpq connections must not be shared between
 * threads that use them at once: libpq docs, 34.19 "Behavior in Threaded
 * Programs").  SIGTERM or SIGINT: stop accepting, remove the socket, give
 * the requests in progress a few seconds, exit.
 *
 * Only main and statics live here: the unit tests link every other
 * object of cgi/ without this file.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <fcgiapp.h>
#include <libpq-fe.h>

#include "config.h"
#include "log.h"
#include "router.h"

#define BACKLOG		1024
#define DRAIN_SECONDS	5	/* for requests in progress at shutdown */

struct worker {
	pthread_t	 tid;
	int		 started;
	FCGX_Request	*fcgi;
	PGconn		*conn;
};

static struct config	 cfg;
static int		 listen_fd = -1;
/*
 * One accept at a time: the classic libfcgi threaded example does the
 * same, and it keeps a thundering herd off the socket.
 */
static pthread_mutex_t	 accept_lock = PTHREAD_MUTEX_INITIALIZER;

static void *
worker_main(void *arg)
{
	struct worker	*w = arg;
	int		 rc;

	for (;;) {
		/* A request handed to the relay is its own: take a new one. */
		if (w->fcgi == NULL) {
			if ((w->fcgi = malloc(sizeof(*w->fcgi))) == NULL) {
				log_error("worker: out of memory");
				break;
			}
			FCGX_InitRequest(w->fcgi, listen_fd, 0);
		}
		pthread_mutex_lock(&accept_lock);
		rc = FCGX_Accept_r(w->fcgi);
		pthread_mutex_unlock(&accept_lock);
		if (rc < 0)
			break;
		if (router_handle(w->fcgi, &cfg, &w->conn)) {
			w->fcgi = NULL;
			continue;
		}
		FCGX_Finish_r(w->fcgi);
	}
	if (w->fcgi != NULL) {
		FCGX_Free(w->fcgi, 1);
		free(w->fcgi);
		w->fcgi = NULL;
	}
	PQfinish(w->conn);
	w->conn = NULL;
	return NULL;
}

/* A socket left by a previous run is removed; any other file is not. */
static int
clear_socket(const char *path)
{
	struct stat st;

	if (lstat(path, &st) != 0)
		return errno == ENOENT ? 0 : -1;
	if (!S_ISSOCK(st.st_mode)) {
		errno = EEXIST;
		return -1;
	}
	return unlink(path);
}

int
main(void)
{
	struct worker	*workers = NULL;
	struct timespec	 deadline;
	sigset_t	 sigs;
	mode_t		 old;
	int		 i, sig, rc = 1, started = 0;

	if (log_init("tripline-cgi") != 0 ||
	    config_load(&cfg, "tripline_web") != 0)
		return 1;
	/*
	 * Without a token anyone could queue and cancel jobs: refuse to
	 * start rather than serve them open (an unset secret in a
	 * deployment, docs/cloud.md).
	 */
	if (cfg.token == NULL || cfg.token[0] == '\0') {
		log_error("TRIPLINE_TOKEN is not set: uploads and cancels "
		    "would be open to anyone");
		return 1;
	}
	/* A client gone mid-answer is a write error, not a signal. */
	signal(SIGPIPE, SIG_IGN);
	/* Only the main thread takes the stop signals, in sigwait. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);

	/* libfcgi reads "host:port" as TCP: only a unix socket here. */
	if (strchr(cfg.socket_path, ':') != NULL) {
		log_error("TRIPLINE_SOCKET must be a unix socket path: \"%s\"",
		    cfg.socket_path);
		return 1;
	}
	if (FCGX_Init() != 0) {
		log_error("could not initialise libfcgi");
		return 1;
	}
	if (clear_socket(cfg.socket_path) != 0) {
		log_error("%s: %m", cfg.socket_path);
		return 1;
	}
	/* bind(2) creates the socket with the umask applied: 0660. */
	old = umask(0117);
	listen_fd = FCGX_OpenSocket(cfg.socket_path, BACKLOG);
	umask(old);
	if (listen_fd < 0) {
		log_error("could not listen on %s: %m", cfg.socket_path);
		return 1;
	}
	if (chmod(cfg.socket_path, 0660) != 0) {
		log_error("chmod %s: %m", cfg.socket_path);
		goto out;
	}
	if (router_start(&cfg) != 0)
		goto out;
	started = 1;
	if ((workers = calloc((size_t)cfg.threads, sizeof(*workers))) == NULL) {
		log_error("out of memory");
		goto out;
	}
	for (i = 0; i < cfg.threads; i++) {
		if (pthread_create(&workers[i].tid, NULL, worker_main,
		    &workers[i]) != 0) {
			log_error("could not start worker %d", i);
			goto out;
		}
		workers[i].started = 1;
	}
	log_info("listening on %s with %d threads", cfg.socket_path,
	    cfg.threads);
	if (sigwait(&sigs, &sig) == 0)
		log_info("signal %d: shutting down", sig);
	rc = 0;
out:
	/* New connections fail at once; accept(2) in progress returns. */
	FCGX_ShutdownPending();
	unlink(cfg.socket_path);
	shutdown(listen_fd, SHUT_RDWR);
	if (started)
		router_stop(ROUTER_BEFORE_DRAIN);
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += DRAIN_SECONDS;
	for (i = 0; workers != NULL && i < cfg.threads; i++)
		if (workers[i].started &&
		    pthread_timedjoin_np(workers[i].tid, NULL, &deadline) != 0) {
			log_warn("requests still running at exit");
			/* exit(3) ends the other threads. */
			exit(rc);
		}
	/* Once no worker runs: h_reports' stop frees what requests read. */
	if (started)
		router_stop(ROUTER_AFTER_DRAIN);
	close(listen_fd);
	free(workers);
	log_info("stopped");
	return rc;
}
