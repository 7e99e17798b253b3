/*
 * observe/trace.h - the event trace (Chrome trace-event JSON, for Perfetto)
 * and the sequence chart (mscgen), written from the event stream.
 *
 * Both are fed by trace_sink(), the slow path of event_record() taken
 * only while kevents.tracing is set, plus trace_message() where a message
 * moves between two threads (the event stream names only one of them).
 * The files are written through plat_out_*; nothing here is on a path
 * that runs when neither file is open.
 */
#ifndef HOPSIM_OBSERVE_TRACE_H
#define HOPSIM_OBSERVE_TRACE_H

#include <stdint.h>

#include "kern/event.h"

/*
 * Open the JSON trace at json_path and the chart at msc_path (either may
 * be NULL).  Returns HS_EINVAL, with nothing left open, if a file cannot
 * be created.  Called before the run's kernel state is set up.
 */
hs_status trace_open(const char *json_path, const char *msc_path);

/* Whether a trace or a chart is open (event_stream_start() reads it). */
int trace_enabled(void);

/* Whether any event goes anywhere this run: the text log, a trace or
 * chart, or the configuration's event_fn. */
int trace_wanted(void);

/* The event sink (kern/event.h) of a run for which trace_wanted(): the
 * text log, the JSON trace and chart, and the configured event_fn. */
void trace_sink(enum event_kind kind, const struct thread *t, uint64_t a,
                uint64_t b);

/* One event of the stream, for the trace and chart (from trace_sink()). */
void trace_event(enum event_kind kind, const struct thread *t, uint64_t a,
                 uint64_t b);

/* The message sink (kern/event.h) of a run for which trace_wanted(). */
void trace_message_slow(enum trace_msg kind, const struct thread *from,
                        const struct thread *to);

/* Finish and close both files (end of a run, or a failed start). */
void trace_close(void);

/* The run is over: close the spans of the threads still alive (a server
 * waiting for hops, say), at the final virtual time. */
void trace_run_end(void);

#endif
