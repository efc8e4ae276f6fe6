/* Fuzz target: the pprof reader (decompressed profile.proto)
 * (sample_reader_target.h). */
#include "sample_reader_target.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return fuzz_sample_reader(plumb_read_pprof, "pprof", data, size);
}
