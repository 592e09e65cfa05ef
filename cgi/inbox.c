/*
 * inbox.c: opening client-named files beneath the inbox (see inbox.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>	/* struct open_how; glibc 2.36 has no wrapper */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "digest.h"
#include "inbox.h"
#include "log.h"

#define READ_CHUNK	(256 * 1024)

/* What an openat2 errno means for the client. */
static const struct {
	int			 err;
	enum inbox_status	 status;
} open_errors[] = {
	{ EXDEV, INBOX_OUTSIDE },	/* RESOLVE_BENEATH: it escapes */
	{ ENOENT, INBOX_NOT_FOUND },
	{ ENOTDIR, INBOX_NOT_FOUND },
	{ EACCES, INBOX_DENIED },
	{ EPERM, INBOX_DENIED },
	{ ELOOP, INBOX_LOOP },		/* too many links, or a magic link */
	{ ENAMETOOLONG, INBOX_NAME_TOO_LONG },
	{ ENXIO, INBOX_NOT_REGULAR },	/* a socket */
	{ ENODEV, INBOX_NOT_REGULAR },
	{ EWOULDBLOCK, INBOX_NOT_REGULAR },
};

enum inbox_status
inbox_open(const char *dir, const char *path, size_t len, int *fd)
{
	struct open_how		 how;
	struct stat		 st;
	enum inbox_status	 status = INBOX_ERROR;
	char			 name[INBOX_PATH_MAX + 1];
	size_t			 i;
	long			 rc;
	int			 dfd = -1, f = -1, e;

	if (len > INBOX_PATH_MAX)
		return INBOX_TOO_LONG;
	if (len == 0 || memchr(path, '\0', len) != NULL)
		return INBOX_BAD_NAME;
	memcpy(name, path, len);
	name[len] = '\0';
	if ((dfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC)) == -1) {
		log_error("inbox: %s: %m", dir);
		goto out;
	}
	memset(&how, 0, sizeof(how));
	how.flags = O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY;
	how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
	rc = syscall(SYS_openat2, dfd, name, &how, sizeof(how));
	if (rc < 0) {
		e = errno;
		for (i = 0; i < sizeof(open_errors) / sizeof(open_errors[0]);
		    i++)
			if (open_errors[i].err == e) {
				status = open_errors[i].status;
				goto out;
			}
		errno = e;
		log_error("inbox: openat2: %m");
		goto out;
	}
	f = (int)rc;
	if (fstat(f, &st) != 0) {
		log_error("inbox: fstat: %m");
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		status = INBOX_NOT_REGULAR;
		goto out;
	}
	*fd = f;
	f = -1;
	status = INBOX_OK;
out:
	if (f != -1)
		close(f);
	if (dfd != -1)
		close(dfd);
	return status;
}

int
inbox_digest(int fd, char hex[DIGEST_HEX_SIZE], int64_t *bytes)
{
	struct digest	*d = NULL;
	char		*buf = NULL;
	ssize_t		 n;
	int64_t		 total = 0;
	int		 rc = -1;

	if ((d = digest_new()) == NULL)
		goto out;
	if ((buf = malloc(READ_CHUNK)) == NULL) {
		log_error("inbox: out of memory");
		goto out;
	}
	for (;;) {
		n = read(fd, buf, READ_CHUNK);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			log_error("inbox: read: %m");
			goto out;
		}
		if (n == 0)
			break;
		if (digest_update(d, buf, (size_t)n) != 0)
			goto out;
		total += n;
	}
	if (digest_hex(d, hex) != 0)
		goto out;
	*bytes = total;
	rc = 0;
out:
	free(buf);
	digest_free(d);
	return rc;
}
