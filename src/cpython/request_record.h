/* plumb._plumb.RequestRecord: one monitored request while it runs
 * (plumb/monitor/record.py), shared by the C request path (request_path.c)
 * and Django's query hook (query_hook.c), which fill it directly. */
#ifndef PLUMB_REQUEST_RECORD_H
#define PLUMB_REQUEST_RECORD_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>

/* Segments kept per request; beyond, they are counted in the sums and in
 * dropped only (_plumb.RECORD_MAX_SEGMENTS). */
#define PLUMB_RECORD_MAX_SEGMENTS 2000

typedef struct RequestRecordObject {
    PyObject_HEAD
    PyObject *tag, *kind, *name, *method, *path, *query;
    PyObject *queue_s;          /* seconds (float) or None */
    PyObject *status, *error;   /* None until known; error: "module.Name" */
    PyObject *sql_params;
    PyObject *segments;         /* list of segment tuples (record.py) */
    unsigned long thread;       /* the agent's: the thread it tagged, if thread_tagged, */
    int thread_tagged;
    unsigned long long previous_tag;   /* the tag it had before, */
    PyObject *token;            /* and the context variable's token, */
    /* or, made current in its thread (current_trace.h), which one and
     * the record that was current there before it (owned): */
    unsigned long current_thread;
    int in_thread;
    PyObject *previous_current;
    int ended;                  /* set by the agent's end: then current nowhere */
    double started, wall_start; /* perf_counter() and time() at its start */
    double sql_s, template_s, http_s;
    Py_ssize_t sql_n, template_n, http_n, dropped;
    PyObject *weakrefs;
} RequestRecordObject;

extern PyTypeObject plumb_RequestRecordType;

/* A new record, its sums zero, its start given; NULL with an exception. */
RequestRecordObject *plumb_request_record_new(PyObject *tag, PyObject *kind, PyObject *name,
                                              PyObject *method, PyObject *path, PyObject *query,
                                              PyObject *queue_s, PyObject *sql_params,
                                              double wall_start, double started);

/* RequestRecord.sql(sql, params, started, seconds, many, error) with the
 * seconds already a double (seconds_obj is what the segment keeps).  0, or
 * -1 with an exception (no memory). */
int plumb_request_record_sql(RequestRecordObject *self, PyObject *sql, PyObject *params,
                             PyObject *started, PyObject *seconds_obj, double seconds,
                             PyObject *many, PyObject *error);

/* RequestRecord.segment(kind, name, started, seconds, detail, error,
 * arguments): kept as a segment, a template's or an HTTP call's summed too.
 * 0, or -1 with an exception. */
int plumb_request_record_segment(RequestRecordObject *self, PyObject *kind, PyObject *name,
                                 PyObject *started, PyObject *seconds, PyObject *detail,
                                 PyObject *error, PyObject *arguments);

int plumb_module_add_request_record(PyObject *module);

#endif
