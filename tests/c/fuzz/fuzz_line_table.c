/* Fuzz target: the line-table decoder (sampler/line_table.h) over the
 * input's bytes, as a target's code objects give them: untrusted.  The
 * first byte picks the instruction offset's scale, the rest is the table,
 * decoded in every format at a few offsets.  Every decode must end
 * without a crash or a read outside the table, and a line found must lie
 * within what the table's deltas can reach. */
#include <stdint.h>
#include <stdlib.h>

#include "base/errors.h"
#include "sampler/line_table.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    const uint8_t *table = data + 1;
    size_t len = size - 1;
    int64_t offsets[] = {-2, 0, 2, (int64_t)data[0] * 2, (int64_t)len, (int64_t)len * 8, INT32_MAX};
    for (int format = PLUMB_LINES_NONE; format <= PLUMB_LINES_LOCATIONS + 1; format++)
        for (size_t i = 0; i < sizeof offsets / sizeof *offsets; i++) {
            int64_t line = 0;
            int rc = plumb_line_at(format, table, len, 100, offsets[i], &line);
            if (rc != PLUMB_OK && rc != PLUMB_EFAULT)
                abort();
            /* Each byte moves the line by less than 2^31 (a varint of five
             * chunks at most): a line beyond is a read past an entry. */
            if (rc == PLUMB_OK && line != -1
                && (line > 100 + (int64_t)(len + 1) * ((int64_t)1 << 31)
                    || line < 100 - (int64_t)(len + 1) * ((int64_t)1 << 31)))
                abort();
        }
    return 0;
}
