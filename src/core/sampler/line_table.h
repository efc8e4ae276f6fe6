/* A code object's line table, decoded at one instruction: which source
 * line the instruction is on, as the interpreter itself answers it
 * (PyCode_Addr2Line) for a traceback.  Three formats:
 *   3.9   co_lnotab: (address increment, line increment) byte pairs;
 *   3.10  co_linetable (PEP 626): (address delta, signed line delta)
 *         pairs, a line delta of -128 marking no line;
 *   3.11+ co_linetable (PEP 657's location table): entries of a first
 *         byte (bit 7 set; code in bits 3-6, length-1 in code units in
 *         bits 0-2) and that code's varints.
 * The table is untrusted bytes: every read is within it, every loop ends
 * with it. */
#ifndef PLUMB_LINE_TABLE_H
#define PLUMB_LINE_TABLE_H

#include <stddef.h>
#include <stdint.h>

enum plumb_line_format {
    PLUMB_LINES_NONE = 0,        /* not known: a function's first line is shown */
    PLUMB_LINES_LNOTAB = 1,      /* 3.9 */
    PLUMB_LINES_PEP626 = 2,      /* 3.10 */
    PLUMB_LINES_LOCATIONS = 3,   /* 3.11-3.13 */
};

/* The line of the instruction at byte offset addr in a code object whose
 * first line is first_line and whose table is table[0..len): *line, -1
 * if the table says the instruction has no line.  A negative addr (a
 * frame not started yet) is on the first line.  0, or PLUMB_EFAULT if the
 * table ends before addr (or format is not one above). */
int plumb_line_at(int format, const uint8_t *table, size_t len, int64_t first_line, int64_t addr,
                  int64_t *line);

#endif
