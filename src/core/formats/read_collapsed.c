/* Reading collapsed ("folded") stacks: one line per stack, frames from the
 * root to the leaf joined by ';', a space, and a sample count.  As written
 * by plumb and py-spy (`function (file:line)`), by Austin (`file:function:
 * line`, after `P<pid>;T<thread>;` markers) and by flamegraph.pl's
 * stackcollapse scripts (a bare name).  Lines are read as untrusted: a line
 * that is not a stack and a count is refused with its number.
 *
 * What real files hold besides: py-spy counts samples with no Python frame
 * on a line with an empty stack, Austin on a line with markers only; both
 * are skipped, as every writer leaves frameless samples out.  Austin starts
 * with "# key: value" lines, and its values are microseconds of the
 * mode's time, not counts: after "# austin:" they become samples of
 * s->interval, summed per stack before rounding.  plumb writes a
 * deterministic profile's stacks in microseconds after "# unit:
 * microseconds" (write_collapsed.c): such a line, before the first stack,
 * makes the values times in that unit, and the interval that unit.
 *
 * A UTF-8 byte order mark (Windows editors write one) is not part of the
 * first frame. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "formats/readers.h"

/* The most samples one file may hold: far beyond any profile, and far from
 * overflowing the 64-bit totals that writers add up. */
#define MAX_TOTAL (UINT64_C(1) << 53)

static int fail(plumb_read_error *err, size_t line, const char *what)
{
    return plumb_read_fail(err, "line", line, what);
}

/* Seconds per unit of a "# unit: <unit>" line's unit, 0 if unknown. */
static double unit_seconds(const char *u, size_t n)
{
    static const struct {
        const char *name;
        double seconds;
    } units[] = {{"nanoseconds", 1e-9}, {"microseconds", 1e-6}, {"milliseconds", 1e-3},
                 {"seconds", 1}};
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
        if (strlen(units[i].name) == n && memcmp(u, units[i].name, n) == 0)
            return units[i].seconds;
    return 0;
}

static int all_digits(const char *s, size_t n)
{
    if (n == 0)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return 0;
    return 1;
}

/* One frame's text (not NUL-terminated) as a label in names.  frame holds
 * room for the copy. */
static int frame_label(plumb_labels *names, const char *text, size_t n, char *copy,
                       uint32_t *func)
{
    memcpy(copy, text, n);
    copy[n] = 0;
    /* "name (file:line)" */
    if (n >= 5 && copy[n - 1] == ')') {
        char *open = strrchr(copy, '(');
        char *colon = open ? strrchr(open, ':') : NULL;
        if (open && open > copy && open[-1] == ' ' && colon
            && all_digits(colon + 1, (size_t)(copy + n - 1 - colon - 1))) {
            open[-1] = 0;
            copy[n - 1] = 0;
            *colon = 0;
            return plumb_labels_intern(names, open + 1, strtoll(colon + 1, NULL, 10),
                                       copy, func);
        }
    }
    /* "file:name:line" (Austin) */
    char *last = strrchr(copy, ':');
    if (last && all_digits(last + 1, strlen(last + 1))) {
        *last = 0;
        char *middle = strrchr(copy, ':');
        if (middle && middle > copy) {
            *middle = 0;
            return plumb_labels_intern(names, copy, strtoll(last + 1, NULL, 10),
                                       middle + 1, func);
        }
        *last = ':';
    }
    return plumb_labels_intern(names, "", 0, copy, func);
}

/* Austin's markers: "P<pid>" then "T<thread>" as the outermost frames. */
static int is_marker(const char *s, size_t n, char kind)
{
    if (n < 2 || s[0] != kind)
        return 0;
    for (size_t i = 1; i < n; i++)
        if (!strchr("0123456789abcdefxABCDEFX:", s[i]) || s[i] == 0)
            return 0;
    return 1;
}

int plumb_read_collapsed(plumb_samples *s, const void *buf, size_t len, plumb_read_error *err)
{
    const char *text = buf;
    if (len >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0) {
        text += 3;
        len -= 3;
    }
    uint32_t *funcs = malloc(PLUMB_MAX_SAMPLE_DEPTH * sizeof *funcs);
    char *copy = malloc(len + 1);
    uint64_t total = 0;
    size_t lineno = 0, stacks = 0;
    int austin = 0, timed = 0;
    plumb_sample_weights austin_weights = {0};
    int rc = funcs && copy ? PLUMB_OK : PLUMB_ENOMEM;
    uint32_t main_thread;
    if (rc == PLUMB_OK)
        rc = plumb_samples_thread(s, 0, 0, &main_thread);
    if (rc == PLUMB_OK && memchr(text, 0, len))
        rc = fail(err, 1, "a NUL byte: not a text file");
    for (size_t pos = 0; rc == PLUMB_OK && pos < len;) {
        const char *line = text + pos;
        const char *nl = memchr(line, '\n', len - pos);
        size_t n = nl ? (size_t)(nl - line) : len - pos;
        pos += n + 1;
        lineno++;
        if (n && line[n - 1] == '\r')
            n--;
        if (n == 0)
            continue;
        if (line[0] == '#') {
            if (n >= 9 && memcmp(line, "# austin:", 9) == 0)
                austin = 1;
            if (n >= 7 && memcmp(line, "# unit:", 7) == 0 && stacks == 0) {
                size_t at = 7;
                while (at < n && line[at] == ' ')
                    at++;
                size_t end = at;
                while (end < n && line[end] != ' ')
                    end++;
                double seconds = unit_seconds(line + at, end - at);
                if (seconds == 0) {
                    rc = fail(err, lineno, "a unit plumb does not know (it knows nanoseconds, "
                                           "microseconds, milliseconds and seconds)");
                    break;
                }
                s->interval = seconds;
                timed = 1;
            }
            continue;
        }
        const char *space = NULL;
        for (size_t i = n; i-- > 0;)
            if (line[i] == ' ') {
                space = line + i;
                break;
            }
        size_t digits = space ? (size_t)(line + n - space - 1) : 0;
        if (space && digits > 1 && space[1] == '-' && all_digits(space + 2, digits - 1)) {
            rc = fail(err, lineno, "a negative sample count");
            break;
        }
        if (!space || !all_digits(space + 1, digits) || digits > 16) {
            rc = fail(err, lineno, "not a collapsed stack (frames;joined;by;semicolons COUNT)");
            break;
        }
        /* Parsed by hand: the line is not NUL-terminated (the file's last
         * line may end at the buffer's end), so strtoull could read on. */
        uint64_t count = 0;
        for (size_t i = 1; i <= digits; i++)
            count = count * 10 + (uint64_t)(space[i] - '0');
        if (count > MAX_TOTAL - total) {
            rc = fail(err, lineno, "sample counts too large");
            break;
        }
        total += count;
        /* Frames, outermost first; Austin's P and T markers pick a thread. */
        uint32_t depth = 0, thread = main_thread, skipped = 0;
        const char *frame = line;
        int first = 1;
        while (rc == PLUMB_OK && frame < space) {
            const char *end = memchr(frame, ';', (size_t)(space - frame));
            size_t fn = end ? (size_t)(end - frame) : (size_t)(space - frame);
            if (fn == 0) {
                rc = fail(err, lineno, "an empty frame");
                break;
            }
            if (first && is_marker(frame, fn, 'P')) {
                /* the process: one per file is all plumb keeps apart */
            } else if (depth == 0 && !skipped && is_marker(frame, fn, 'T')) {
                uint64_t id = 0;
                for (size_t i = 1; i < fn; i++)
                    id = id * 31 + (unsigned char)frame[i];
                rc = plumb_samples_thread(s, id ? id : 1, 0, &thread);
                if (rc == PLUMB_OK && !s->threads[thread].name) {
                    memcpy(copy, frame, fn);
                    copy[fn] = 0;
                    rc = plumb_samples_name_thread(s, thread, copy);
                }
            } else if (depth == PLUMB_MAX_SAMPLE_DEPTH) {
                /* Too deep: the innermost frames are kept, as the sampler keeps them. */
                memmove(funcs, funcs + 1, (PLUMB_MAX_SAMPLE_DEPTH - 1) * sizeof *funcs);
                rc = frame_label(&s->names, frame, fn, copy, &funcs[depth - 1]);
                skipped++;
            } else {
                rc = frame_label(&s->names, frame, fn, copy, &funcs[depth++]);
            }
            first = 0;
            frame += fn + 1;
        }
        if (rc < 0)
            break;
        stacks++;
        if (depth == 0)
            continue;   /* no Python frame in these samples: nothing to place */
        if (skipped)
            s->truncated++;
        if (!austin || timed) {   /* counts, or times in s->interval */
            rc = plumb_samples_add(s, thread, funcs, depth, count);
            s->taken += count;
            continue;
        }
        uint32_t node;
        if ((rc = plumb_samples_node(s, thread, funcs, depth, &node)) < 0)
            break;
        rc = plumb_sample_weights_add(&austin_weights, node, (double)count * 1e-6 / s->interval);
    }
    if (rc == PLUMB_OK && plumb_sample_weights_finish(&austin_weights, s) < 0)
        rc = fail(err, lineno, "sample counts too large");
    if (rc == PLUMB_OK && stacks == 0)
        rc = fail(err, lineno ? lineno : 1, "no stacks: the file is empty");
    free(austin_weights.weight);
    free(funcs);
    free(copy);
    return rc;
}
