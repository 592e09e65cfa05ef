/*
 * h_health.h: GET /api/health.
 */
#ifndef TRIPLINE_H_HEALTH_H
#define TRIPLINE_H_HEALTH_H

struct http_req;

/* 200 {"status":"ok","database":"ok"}, or a 503 problem. */
void	h_health_get(struct http_req *);

#endif
