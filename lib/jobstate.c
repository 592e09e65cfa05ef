/*
 * jobstate.c: names of job states and events.  Keep each table in the
 * order of its enum in jobstate.h and of the job_state type in
 * sql/migrations/001_core.sql.
 */
#include <string.h>

#include "jobstate.h"

static const char *const job_state_names[JOB_STATE__MAX] = {
	"queued",	/* JOB_QUEUED */
	"running",	/* JOB_RUNNING */
	"succeeded",	/* JOB_SUCCEEDED */
	"failed",	/* JOB_FAILED */
	"cancelled",	/* JOB_CANCELLED */
};

const char *const jobstate_event_names[JOB_EVENT__MAX] = {
	"queued",	/* JOB_EVENT_QUEUED */
	"started",	/* JOB_EVENT_STARTED */
	"progress",	/* JOB_EVENT_PROGRESS */
	"succeeded",	/* JOB_EVENT_SUCCEEDED */
	"failed",	/* JOB_EVENT_FAILED */
	"cancelled",	/* JOB_EVENT_CANCELLED */
	"retrying",	/* JOB_EVENT_RETRYING */
};

/* The events that end a job: nothing of it comes after one. */
static const int job_event_final[JOB_EVENT__MAX] = {
	[JOB_EVENT_SUCCEEDED] = 1,
	[JOB_EVENT_FAILED] = 1,
	[JOB_EVENT_CANCELLED] = 1,
};

int
jobstate_event_is_final(enum job_event e)
{
	return e >= 0 && e < JOB_EVENT__MAX && job_event_final[e];
}

enum job_state
jobstate_from_name(const char *name)
{
	int i;

	for (i = 0; i < JOB_STATE__MAX; i++)
		if (strcmp(job_state_names[i], name) == 0)
			break;
	return (enum job_state)i;
}

enum job_event
jobstate_event_from_name(const char *name)
{
	int i;

	for (i = 0; i < JOB_EVENT__MAX; i++)
		if (strcmp(jobstate_event_names[i], name) == 0)
			break;
	return (enum job_event)i;
}
