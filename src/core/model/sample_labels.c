/* A thread's sample labels (samples.h): key=value pairs its samples carry
 * into formats that have labels (pprof). */
#include "model/samples.h"

#include <stdlib.h>
#include <string.h>

#include "base/errors.h"

void plumb_sample_labels_free(plumb_sampled_thread *t)
{
    for (uint32_t i = 0; i < t->nlabels; i++) {
        free(t->labels[i].key);
        free(t->labels[i].value);
    }
    free(t->labels);
    t->labels = NULL;
    t->nlabels = 0;
}

int plumb_samples_label_thread(plumb_samples *s, uint32_t thread, const char *key,
                               const char *value)
{
    if (thread >= s->nthreads || !key || !value)
        return PLUMB_EINVAL;
    plumb_sampled_thread *t = &s->threads[thread];
    char *v = strdup(value);
    if (!v)
        return PLUMB_ENOMEM;
    for (uint32_t i = 0; i < t->nlabels; i++) {
        if (strcmp(t->labels[i].key, key) == 0) {
            free(t->labels[i].value);
            t->labels[i].value = v;
            return PLUMB_OK;
        }
    }
    if (t->nlabels == PLUMB_MAX_SAMPLE_LABELS) {
        free(v);
        return PLUMB_ELIMIT;
    }
    char *k = strdup(key);
    /* Few labels per thread: grown one at a time. */
    plumb_sample_label *grown = k ? realloc(t->labels, (t->nlabels + 1) * sizeof *grown) : NULL;
    if (!grown) {
        free(k);
        free(v);
        return PLUMB_ENOMEM;
    }
    t->labels = grown;
    t->labels[t->nlabels++] = (plumb_sample_label){.key = k, .value = v};
    return PLUMB_OK;
}
