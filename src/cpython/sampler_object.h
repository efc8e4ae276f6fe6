/* plumb._plumb.Sampler's object, shared by its methods' files
 * (sampler_object.c, sampler_harvest.c). */
#ifndef PLUMB_SAMPLER_OBJECT_H
#define PLUMB_SAMPLER_OBJECT_H

#include "binding.h"

#include "sampler/sampler.h"

typedef struct SamplerObject {
    PyObject_HEAD
    plumb_sampler sampler;
    int ready;                 /* sampler initialised */
    PyObject *names;           /* dict: thread id -> name, from threading */
} SamplerObject;

/* 0, or -1 with RuntimeError if the sampler was not initialised. */
int plumb_sampler_check_ready(SamplerObject *self);

/* Sampler._harvest() (sampler_harvest.c). */
PyObject *plumb_sampler_harvest_method(SamplerObject *self, PyObject *ignored);

#endif
