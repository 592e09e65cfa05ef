/*
 * inbox.h: files named by clients inside TRIPLINE_INBOX, a directory on
 * the server where large files are dropped instead of uploaded.
 *
 * A name is resolved with openat2(2) and RESOLVE_BENEATH: "..", absolute
 * paths and symbolic links that lead out of the inbox fail with EXDEV in
 * the kernel, with no window between a check and the open; magic links
 * (/proc/self/fd/...) are refused too.  O_NONBLOCK keeps a FIFO from
 * blocking the open; fstat then refuses anything but a regular file.
 */
#ifndef TRIPLINE_INBOX_H
#define TRIPLINE_INBOX_H

#include <stddef.h>
#include <stdint.h>

#include "digest.h"

/* Longest inbox-relative name accepted, in bytes. */
#define INBOX_PATH_MAX	1024

enum inbox_status {
	INBOX_OK,
	INBOX_BAD_NAME,		/* empty, or a NUL in it */
	INBOX_TOO_LONG,		/* over INBOX_PATH_MAX bytes */
	INBOX_NAME_TOO_LONG,	/* a name in it over NAME_MAX (ENAMETOOLONG) */
	INBOX_LOOP,		/* too many links, or a magic link (ELOOP) */
	INBOX_OUTSIDE,		/* resolves outside the inbox (EXDEV) */
	INBOX_NOT_FOUND,	/* ENOENT, ENOTDIR */
	INBOX_DENIED,		/* EACCES, EPERM */
	INBOX_NOT_REGULAR,	/* a directory, FIFO, socket, device */
	INBOX_ERROR,		/* anything else: logged */
	INBOX__MAX
};

/*
 * Open the file named path (len bytes, not NUL-terminated) inside dir for
 * reading; *fd is set on INBOX_OK.
 */
enum inbox_status inbox_open(const char *dir, const char *path, size_t len,
	    int *fd);

/*
 * Read fd to its end: lower-case hex SHA-256 and size.  0, or -1 after
 * logging.
 */
int	inbox_digest(int fd, char hex[DIGEST_HEX_SIZE], int64_t *bytes);

#endif
