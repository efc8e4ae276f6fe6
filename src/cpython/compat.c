/* Run-time checks of what compat.h assumes about this interpreter. */
#include "compat.h"

#if defined(PLUMB_HAVE_LEGACY_HOOK) && PY_VERSION_HEX >= 0x030B0000
int plumb_frame_layout_ok;

int plumb_version_layer_check(void)
{
    /* The caller's frame: its code object, read both ways. */
    PyFrameObject *frame = PyEval_GetFrame();
    plumb_frame_layout_ok = 0;
    if (!frame)
        return 0;
    PyCodeObject *code = PyFrame_GetCode(frame);
    plumb_frame_layout_ok = 1;
    if (plumb_frame_code(frame) != code)
        plumb_frame_layout_ok = 0;
    Py_DECREF(code);
    return 0;
}
#else
int plumb_version_layer_check(void)
{
    return 0;
}
#endif
