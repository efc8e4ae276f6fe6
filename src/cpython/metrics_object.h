/* plumb._plumb.Metrics's record, for the C request path (request_path.c),
 * which records without building Python ints for it. */
#ifndef PLUMB_METRICS_OBJECT_H
#define PLUMB_METRICS_OBJECT_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>

/* Metrics.record()'s values, in its order: minute, txn, duration_us,
 * error, apdex_t_us, queue_us, sql_us, sql_count, template_us,
 * template_count, http_us, http_count. */
enum { PLUMB_METRICS_RECORD_VALUES = 12 };

/* Metrics.record(*values) on metrics (a plumb._plumb.Metrics): 1 recorded,
 * 0 dropped and counted, -1 with ValueError (a value out of its range) or
 * RuntimeError. */
int plumb_metrics_object_record(PyObject *metrics, const long long *values);

#endif
