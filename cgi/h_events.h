/*
 * h_events.h: live job events as Server-Sent Events (docs/events.md).
 *
 *   GET /api/jobs/{id}/events   one job: its state so far, then every
 *                               event, ending after the final one
 *   GET /api/events             every job, from now (or from
 *                               Last-Event-ID); never ends by itself
 *
 * Both honour Last-Event-ID (or ?last_event_id=N, for a client that
 * cannot set the header).  A job stream asked to resume at or after the
 * job's final event answers 204, which makes EventSource stop.
 */
#ifndef TRIPLINE_H_EVENTS_H
#define TRIPLINE_H_EVENTS_H

struct http_req;

void	h_events_job(struct http_req *);
void	h_events_all(struct http_req *);

#endif
