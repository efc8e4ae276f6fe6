/* The trace or monitored request the instruments record into: plumb.web's
 * context variable, or else the record a synchronous request made current
 * in its thread (current_trace.c). */
#ifndef PLUMB_CURRENT_TRACE_H
#define PLUMB_CURRENT_TRACE_H

#include "request_record.h"

/* *trace = the context variable var's value if it is not None, else the
 * thread's current record if it has not ended, else None (a new
 * reference).  0, or -1 with an exception. */
int plumb_current_trace(PyObject *var, PyObject **trace);

/* record becomes the calling thread's current record; the one it replaces
 * is kept in it, to be put back by plumb_record_leave_thread. */
void plumb_record_enter_thread(RequestRecordObject *record);

/* The thread record entered is given its previous record back, if record
 * is still its current one and this is that thread; else (ended in another
 * thread, or not innermost) the thread keeps it until it is replaced: an
 * ended record is current nowhere. */
void plumb_record_leave_thread(RequestRecordObject *record);

extern PyTypeObject plumb_CurrentTraceType;

#endif
