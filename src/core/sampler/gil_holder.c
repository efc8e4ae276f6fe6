#include "sampler/gil_holder.h"

#include "base/errors.h"

int plumb_gil_probe_from_layout(const plumb_py_layout *l, uintptr_t runtime, uintptr_t interp,
                                plumb_gil_probe *out)
{
    *out = (plumb_gil_probe){0};
    if (l->runtime_gil_tstate_current >= 0 && runtime) {
        out->holder = runtime + (uintptr_t)l->runtime_gil_tstate_current;
        return PLUMB_OK;
    }
    if (l->interp_gil_locked < 0 || l->interp_gil_holder < 0 || !interp)
        return PLUMB_EINVAL;
    out->holder = interp + (uintptr_t)l->interp_gil_holder;
    out->locked = interp + (uintptr_t)l->interp_gil_locked;
    return PLUMB_OK;
}

int plumb_gil_probe_read(const plumb_gil_probe *p, plumb_memsource *src, plumb_page_cache *cache,
                         uintptr_t *tstate)
{
    *tstate = 0;
    uintptr_t holder = 0;
    int32_t locked = 1;
    if (!p->holder || plumb_memread_cached(src, cache, p->holder, &holder, sizeof holder) < 0
        || (p->locked && plumb_memread_cached(src, cache, p->locked, &locked, sizeof locked) < 0))
        return PLUMB_EFAULT;
    *tstate = locked ? holder : 0;
    return PLUMB_OK;
}
