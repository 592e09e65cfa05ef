/*
 * jobsplit.c: the split pass of a large job (jobsplit.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "digest.h"
#include "jobfile.h"
#include "jobsplit.h"
#include "lease.h"
#include "log.h"
#include "parts_db.h"
#include "runner_db.h"
#include "split.h"

#define JOBSPLIT_CHUNK	(1024 * 1024)

/* Read the file once: hash and scan.  The outcome, DONE when read. */
static enum loader_outcome
jobsplit_read(const struct loader_env *env, const struct runner_db_job *job, int fd,
    const struct lease *lease, struct split *s, char *err, size_t errsz)
{
	char			*buf = NULL;
	struct digest		*sha = NULL;
	char			 hex[DIGEST_HEX_SIZE];
	enum loader_outcome	 o = LOADER_ERROR;
	uint64_t		 bytes = 0;
	ssize_t			 n;

	if ((buf = malloc(JOBSPLIT_CHUNK)) == NULL ||
	    (sha = digest_new()) == NULL) {
		snprintf(err, errsz, "out of memory");
		goto out;
	}
	for (;;) {
		if (*env->stop) {
			o = LOADER_STOPPED;
			snprintf(err, errsz, "the runner is stopping");
			goto out;
		}
		if (lease_cancelled(lease) || lease_lost(lease)) {
			o = lease_lost(lease) ? LOADER_LOST : LOADER_CANCELLED;
			snprintf(err, errsz, "cancelled");
			goto out;
		}
		n = read(fd, buf, JOBSPLIT_CHUNK);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			snprintf(err, errsz, "could not read the file: %s",
			    strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		if (digest_update(sha, buf, (size_t)n) != 0) {
			snprintf(err, errsz, "could not hash the file");
			goto out;
		}
		split_feed(s, buf, (size_t)n);
		bytes += (uint64_t)n;
	}
	if (digest_hex(sha, hex) != 0) {
		snprintf(err, errsz, "could not hash the file");
		goto out;
	}
	if (bytes != (uint64_t)job->bytes || strcmp(hex, job->sha256) != 0) {
		o = LOADER_FAILED;
		snprintf(err, errsz, "the file changed after it was queued "
		    "(%llu bytes, SHA-256 %.12s...; queued: %lld bytes, "
		    "%.12s...)", (unsigned long long)bytes, hex,
		    (long long)job->bytes, job->sha256);
		goto out;
	}
	o = LOADER_DONE;
out:
	digest_free(sha);
	free(buf);
	return o;
}

enum loader_outcome
jobsplit_run(const struct loader_env *env, const struct runner_db_job *job,
    int *split, char *err, size_t errsz)
{
	struct lease_counters	 ctr;
	struct lease		*lease = NULL;
	struct split		 s;
	char			 stamp[sizeof(((struct parts_db_part *)0)->stamp)];
	enum loader_outcome	 o = LOADER_ERROR;
	int64_t			 size;
	int			 fd, permanent, r;

	*split = 0;
	err[0] = '\0';
	lease_counters_init(&ctr, LEASE_PHASE_SPLITTING);
	fd = jobfile_open(env->files, jobfile_source(job->source), job->path,
	    &size, &permanent, err, errsz);
	if (fd == -1)
		return permanent ? LOADER_FAILED : LOADER_ERROR;
	if (jobfile_stamp(fd, stamp, sizeof(stamp)) != 0) {
		snprintf(err, errsz, "could not read the file: %s",
		    strerror(errno));
		goto out;
	}
	split_init(&s, (uint64_t)size, (uint64_t)env->cfg->split_bytes,
	    LOADER_MAX_RECORD);
	if ((lease = lease_start(env->cfg, env->control, env->work, env->stop,
	    job, NULL, &ctr)) == NULL) {
		snprintf(err, errsz, "could not start the control thread: %s",
		    strerror(errno));
		goto out;
	}
	if ((o = jobsplit_read(env, job, fd, lease, &s, err, errsz)) !=
	    LOADER_DONE)
		goto out;
	if (split_finish(&s) < 2) {
		log_info("job %d: loaded whole (no second line start found)",
		    job->id);
		goto out;
	}
	lease_stop(lease);
	lease = NULL;
	if ((r = parts_db_split(env->work, job, &s, stamp)) != 0) {
		o = r > 0 ? LOADER_CANCELLED : LOADER_ERROR;
		snprintf(err, errsz, r > 0 ? "cancelled" :
		    "could not write the parts");
		goto out;
	}
	log_info("job %d: split into %zu parts", job->id, s.nparts);
	*split = 1;
out:
	lease_stop(lease);
	close(fd);
	return o;
}
