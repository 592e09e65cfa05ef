/*
 * jobstate.h: the job states and event names, as stored in the database
 * (type job_state, job_events.event) and sent on the event stream.
 */
#ifndef TRIPLINE_JOBSTATE_H
#define TRIPLINE_JOBSTATE_H

enum job_state {
	JOB_QUEUED,
	JOB_RUNNING,
	JOB_SUCCEEDED,
	JOB_FAILED,
	JOB_CANCELLED,
	JOB_STATE__MAX
};

enum job_event {
	JOB_EVENT_QUEUED,
	JOB_EVENT_STARTED,
	JOB_EVENT_PROGRESS,
	JOB_EVENT_SUCCEEDED,
	JOB_EVENT_FAILED,
	JOB_EVENT_CANCELLED,
	JOB_EVENT_RETRYING,
	JOB_EVENT__MAX
};

extern const char *const jobstate_event_names[JOB_EVENT__MAX];

/* 1 when the event ends a job's stream (succeeded, failed, cancelled). */
int	jobstate_event_is_final(enum job_event);

/* The state or event for a name, or the __MAX value when unknown. */
enum job_state	jobstate_from_name(const char *);
enum job_event	jobstate_event_from_name(const char *);

#endif
