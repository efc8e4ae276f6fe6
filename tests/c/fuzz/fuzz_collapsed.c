/* Fuzz target: the collapsed-stacks reader (sample_reader_target.h). */
#include "sample_reader_target.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return fuzz_sample_reader(plumb_read_collapsed, "collapsed", data, size);
}
