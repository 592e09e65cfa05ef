/*
 * h_upload.h: POST /api/jobs, queueing a file as a job.
 */
#ifndef TRIPLINE_H_UPLOAD_H
#define TRIPLINE_H_UPLOAD_H

struct http_req;

/* 202 with Location and the job, or a problem (see h_upload.c). */
void	h_upload_post(struct http_req *);

#endif
