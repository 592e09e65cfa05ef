/*
 * h_jobs.h: reading and cancelling jobs.
 *
 *   GET  /api/jobs?limit=N&before=ID     newest first, keyset paging
 *   GET  /api/jobs/{id}                  one job
 *   POST /api/jobs/{id}/cancel           cancel (token)
 *   GET  /api/jobs/{id}/rejects?limit=N&after_line=L
 */
#ifndef TRIPLINE_H_JOBS_H
#define TRIPLINE_H_JOBS_H

struct http_req;

void	h_jobs_list(struct http_req *);
void	h_jobs_get(struct http_req *);
void	h_jobs_cancel(struct http_req *);
void	h_jobs_rejects(struct http_req *);

#endif
