/*
 * spool.c: upload files in the spool directory (see spool.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "digest.h"
#include "log.h"
#include "spool.h"

struct spool {
	char		 tmp[PATH_MAX];		/* while streaming */
	char		 path[PATH_MAX];	/* after spool_commit */
	int		 fd;
	int		 committed;
	int		 kept;
	int64_t		 bytes;
	struct digest	*digest;
	char		 sha256[DIGEST_HEX_SIZE];
};

struct spool *
spool_new(const char *dir)
{
	struct spool	*sp;
	char		 abs[PATH_MAX];
	int		 n;

	if ((sp = calloc(1, sizeof(*sp))) == NULL) {
		log_error("spool: out of memory");
		return NULL;
	}
	sp->fd = -1;
	/* jobs.path is absolute: the runner may run in another directory. */
	if (realpath(dir, abs) == NULL) {
		log_error("spool: %s: %m", dir);
		goto fail;
	}
	n = snprintf(sp->tmp, sizeof(sp->tmp), "%s/.upload-XXXXXX", abs);
	if (n < 0 || (size_t)n >= sizeof(sp->tmp) ||
	    snprintf(sp->path, sizeof(sp->path), "%s/upload-XXXXXX.csv", abs)
	    >= (int)sizeof(sp->path)) {
		log_error("spool: path too long: %s", abs);
		goto fail;
	}
	if ((sp->digest = digest_new()) == NULL)
		goto fail;
	if ((sp->fd = mkostemp(sp->tmp, O_CLOEXEC)) == -1) {
		log_error("spool: could not create %s: %m", sp->tmp);
		sp->tmp[0] = '\0';
		goto fail;
	}
	return sp;
fail:
	sp->tmp[0] = '\0';
	spool_free(sp);
	return NULL;
}

int
spool_write(struct spool *sp, const void *buf, size_t len)
{
	const char	*p = buf;
	ssize_t		 n;
	int		 e;

	if (digest_update(sp->digest, buf, len) != 0)
		return EIO;
	while (len > 0) {
		n = write(sp->fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			e = errno;
			log_error("spool: could not write %s: %m", sp->tmp);
			return e;
		}
		p += n;
		len -= (size_t)n;
		sp->bytes += n;
	}
	return 0;
}

int64_t
spool_bytes(const struct spool *sp)
{
	return sp->bytes;
}

/* fsync a directory so that a rename in it survives a crash. */
static int
sync_dir(const char *path)
{
	int fd, rc;

	if ((fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return -1;
	rc = fsync(fd);
	close(fd);
	return rc;
}

int
spool_commit(struct spool *sp)
{
	char	 dir[PATH_MAX], *slash;
	int	 fd, rc;

	if (digest_hex(sp->digest, sp->sha256) != 0)
		return -1;
	/*
	 * The data first, then the name (POSIX rename is atomic).  Closed
	 * whether the sync worked or not: an open descriptor would keep
	 * the space of the file spool_free unlinks.
	 */
	rc = fsync(sp->fd);
	if (close(sp->fd) != 0)
		rc = -1;
	sp->fd = -1;
	if (rc != 0) {
		log_error("spool: could not sync %s: %m", sp->tmp);
		return -1;
	}
	if ((fd = mkostemps(sp->path, 4, O_CLOEXEC)) == -1) {
		log_error("spool: could not create %s: %m", sp->path);
		return -1;
	}
	close(fd);
	if (rename(sp->tmp, sp->path) != 0) {
		log_error("spool: could not rename %s: %m", sp->tmp);
		unlink(sp->path);
		return -1;
	}
	sp->committed = 1;
	snprintf(dir, sizeof(dir), "%s", sp->path);
	if ((slash = strrchr(dir, '/')) != NULL)
		*slash = '\0';
	if (sync_dir(dir) != 0) {
		log_error("spool: could not sync %s: %m", dir);
		return -1;
	}
	return 0;
}

const char *
spool_path(const struct spool *sp)
{
	return sp->path;
}

const char *
spool_sha256(const struct spool *sp)
{
	return sp->sha256;
}

void
spool_keep(struct spool *sp)
{
	sp->kept = 1;
}

void
spool_free(struct spool *sp)
{
	const char *name;

	if (sp == NULL)
		return;
	if (sp->fd != -1)
		close(sp->fd);
	name = sp->committed ? sp->path : sp->tmp;
	if (!sp->kept && name[0] != '\0' && unlink(name) != 0 &&
	    errno != ENOENT)
		log_error("spool: could not remove %s: %m", name);
	digest_free(sp->digest);
	free(sp);
}
