#include "formats/marshal_in.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/grow.h"

#define FLAG_REF 0x80

void plumb_mi_init(plumb_marshal_in *m, const void *buf, size_t len, plumb_read_error *err)
{
    memset(m, 0, sizeof *m);
    m->buf = buf;
    m->len = len;
    m->err = err;
}

void plumb_mi_free(plumb_marshal_in *m)
{
    free(m->refs);
    m->refs = NULL;
    m->nrefs = m->refs_capacity = 0;
}

int plumb_mi_fail(plumb_marshal_in *m, const char *what)
{
    return plumb_read_fail(m->err, "at byte", m->pos, what);
}

int plumb_mi_peek(const plumb_marshal_in *m)
{
    return m->pos < m->len ? m->buf[m->pos] & ~FLAG_REF : -1;
}

static int need(plumb_marshal_in *m, size_t n)
{
    if (m->len - m->pos < n)
        return plumb_mi_fail(m, "the file ends in the middle of a value (truncated?)");
    return PLUMB_OK;
}

static uint32_t u32_at(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Reads a type byte: *type without the flag; *ref is the index reserved
 * for it if it carries FLAG_REF, else UINT32_MAX. */
static int type_byte(plumb_marshal_in *m, int *type, uint32_t *ref)
{
    int rc = need(m, 1);
    if (rc < 0)
        return rc;
    unsigned char b = m->buf[m->pos++];
    *type = b & ~FLAG_REF;
    *ref = UINT32_MAX;
    if (b & FLAG_REF) {
        rc = PLUMB_GROW(m->refs, &m->refs_capacity, (size_t)m->nrefs + 1, 256, UINT32_MAX - 1);
        if (rc == PLUMB_ELIMIT)
            return plumb_mi_fail(m, "too many references");
        if (rc < 0)
            return rc;
        m->refs[m->nrefs] = (plumb_mref){.kind = PLUMB_MREF_PENDING};
        *ref = m->nrefs++;
    }
    return PLUMB_OK;
}

/* The entry an 'r' refers to, which must be of the given kind. */
static int backref(plumb_marshal_in *m, int kind, const plumb_mref **out)
{
    int rc = need(m, 4);
    if (rc < 0)
        return rc;
    uint32_t i = u32_at(m->buf + m->pos);
    if (i >= m->nrefs)
        return plumb_mi_fail(m, "a reference to an object not read yet");
    if (m->refs[i].kind != kind)
        return plumb_mi_fail(m, "a reference to an object of the wrong type here");
    m->pos += 4;
    *out = &m->refs[i];
    return PLUMB_OK;
}

/* marshal's long: a signed digit count, then 15-bit digits, least
 * significant first. */
static int read_long(plumb_marshal_in *m, int64_t *v)
{
    int rc = need(m, 4);
    if (rc < 0)
        return rc;
    int32_t n = (int32_t)u32_at(m->buf + m->pos);
    m->pos += 4;
    uint32_t digits = n < 0 ? (uint32_t)-(int64_t)n : (uint32_t)n;
    if ((rc = need(m, (size_t)digits * 2)) < 0)
        return rc;
    uint64_t mag = 0;
    for (uint32_t i = 0; i < digits; i++) {
        unsigned d = m->buf[m->pos + 2 * i] | (unsigned)m->buf[m->pos + 2 * i + 1] << 8;
        if (d >= 1u << 15)
            return plumb_mi_fail(m, "a malformed long integer");
        if (d && (i >= 5 || (i == 4 && d >= 1u << 3)))   /* beyond 63 bits */
            return plumb_mi_fail(m, "an integer too large for a count");
        if (d)   /* zero digits beyond 63 bits are allowed (and shift by nothing) */
            mag |= (uint64_t)d << (15 * i);
    }
    m->pos += (size_t)digits * 2;
    *v = n < 0 ? -(int64_t)mag : (int64_t)mag;
    return PLUMB_OK;
}

/* A float as marshal versions 0 and 1 write it: a length byte, then text. */
static int text_float(plumb_marshal_in *m, double *v)
{
    int rc = need(m, 1);
    if (rc < 0)
        return rc;
    unsigned n = m->buf[m->pos];
    if ((rc = need(m, 1 + (size_t)n)) < 0)
        return rc;
    char text[256], *end;
    memcpy(text, m->buf + m->pos + 1, n);
    text[n] = 0;
    *v = strtod(text, &end);
    if (n == 0 || *end != 0)
        return plumb_mi_fail(m, "a malformed float");
    m->pos += 1 + (size_t)n;
    return PLUMB_OK;
}

/* A number: an int ('i', 'l'), a float ('g', or 'f' as marshal versions 0
 * and 1 wrote text), or a reference to one.  *out is an INT or FLOAT ref. */
static int read_number(plumb_marshal_in *m, plumb_mref *out)
{
    int type;
    uint32_t ref;
    int rc = type_byte(m, &type, &ref);
    if (rc < 0)
        return rc;
    if (type == 'r') {
        if ((rc = need(m, 4)) < 0)
            return rc;
        uint32_t i = u32_at(m->buf + m->pos);
        if (i >= m->nrefs)
            return plumb_mi_fail(m, "a reference to an object not read yet");
        if (m->refs[i].kind != PLUMB_MREF_INT && m->refs[i].kind != PLUMB_MREF_FLOAT)
            return plumb_mi_fail(m, "a reference to an object of the wrong type here");
        m->pos += 4;
        *out = m->refs[i];
        return PLUMB_OK;
    }
    if (type == 'i') {
        if ((rc = need(m, 4)) < 0)
            return rc;
        *out = (plumb_mref){.kind = PLUMB_MREF_INT, .v.i = (int32_t)u32_at(m->buf + m->pos)};
        m->pos += 4;
    } else if (type == 'l') {
        *out = (plumb_mref){.kind = PLUMB_MREF_INT};
        if ((rc = read_long(m, &out->v.i)) < 0)
            return rc;
    } else if (type == 'g') {
        if ((rc = need(m, 8)) < 0)
            return rc;
        uint64_t bits = (uint64_t)u32_at(m->buf + m->pos) | (uint64_t)u32_at(m->buf + m->pos + 4) << 32;
        *out = (plumb_mref){.kind = PLUMB_MREF_FLOAT};
        memcpy(&out->v.d, &bits, sizeof out->v.d);
        m->pos += 8;
    } else if (type == 'f') {
        *out = (plumb_mref){.kind = PLUMB_MREF_FLOAT};
        if ((rc = text_float(m, &out->v.d)) < 0)
            return rc;
    } else {
        m->pos--;
        return plumb_mi_fail(m, "expected a number");
    }
    if (ref != UINT32_MAX)
        m->refs[ref] = *out;
    return PLUMB_OK;
}

int plumb_mi_int(plumb_marshal_in *m, int64_t *v)
{
    size_t start = m->pos;
    plumb_mref n;
    int rc = read_number(m, &n);
    if (rc == PLUMB_OK && n.kind != PLUMB_MREF_INT) {
        m->pos = start;
        return plumb_mi_fail(m, "expected an integer");
    }
    if (rc == PLUMB_OK)
        *v = n.v.i;
    return rc;
}

int plumb_mi_number(plumb_marshal_in *m, double *v)
{
    plumb_mref n;
    int rc = read_number(m, &n);
    if (rc == PLUMB_OK)
        *v = n.kind == PLUMB_MREF_INT ? (double)n.v.i : n.v.d;
    return rc;
}

/* Whether s[0..n) is UTF-8 as marshal reads it ("surrogatepass": encoded
 * surrogates are allowed, since file names that did not decode carry
 * them), with no NUL byte. */
static int valid_utf8(const unsigned char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        unsigned c = s[i];
        if (c == 0)
            return 0;
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t len = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc2 ? 2 : 0;
        if (len == 0 || c > 0xf4 || n - i < len)
            return 0;
        for (size_t k = 1; k < len; k++)
            if ((s[i + k] & 0xc0) != 0x80)
                return 0;
        if ((c == 0xe0 && s[i + 1] < 0xa0) || (c == 0xf0 && s[i + 1] < 0x90)
            || (c == 0xf4 && s[i + 1] >= 0x90))
            return 0;   /* overlong, or beyond U+10FFFF */
        i += len;
    }
    return 1;
}

int plumb_mi_str(plumb_marshal_in *m, const char **s, uint32_t *n)
{
    int type;
    uint32_t ref;
    int rc = type_byte(m, &type, &ref);
    if (rc < 0)
        return rc;
    if (type == 'r') {
        const plumb_mref *r;
        if ((rc = backref(m, PLUMB_MREF_STR, &r)) < 0)
            return rc;
        *s = (const char *)m->buf + r->v.s.off;
        *n = r->v.s.len;
        return PLUMB_OK;
    }
    size_t len;
    int ascii;
    if (type == 'z' || type == 'Z') {
        if ((rc = need(m, 1)) < 0)
            return rc;
        len = m->buf[m->pos++];
        ascii = 1;
    } else if (type == 'u' || type == 't' || type == 'a' || type == 'A') {
        if ((rc = need(m, 4)) < 0)
            return rc;
        len = u32_at(m->buf + m->pos);
        m->pos += 4;
        ascii = type == 'a' || type == 'A';
    } else {
        m->pos--;
        return plumb_mi_fail(m, "expected a string");
    }
    if ((rc = need(m, len)) < 0)
        return rc;
    const unsigned char *p = m->buf + m->pos;
    if (ascii) {
        for (size_t i = 0; i < len; i++)
            if (p[i] == 0 || p[i] >= 0x80)
                return plumb_mi_fail(m, "a NUL or non-ASCII byte in an ASCII string");
    } else if (!valid_utf8(p, len)) {
        return plumb_mi_fail(m, "a string that is not valid UTF-8 (or holds a NUL byte)");
    }
    *s = (const char *)p;
    *n = (uint32_t)len;
    if (ref != UINT32_MAX)
        m->refs[ref] = (plumb_mref){.kind = PLUMB_MREF_STR,
                                    .v.s = {.off = (uint32_t)m->pos, .len = (uint32_t)len}};
    m->pos += len;
    return PLUMB_OK;
}

int plumb_mi_dict_begin(plumb_marshal_in *m)
{
    int type;
    uint32_t ref;
    int rc = type_byte(m, &type, &ref);
    if (rc < 0)
        return rc;
    if (type != '{') {
        m->pos--;
        return plumb_mi_fail(m, "expected a dict");
    }
    return PLUMB_OK;   /* a reference to a dict is refused: its entry stays pending */
}

int plumb_mi_dict_more(plumb_marshal_in *m, int *more)
{
    int rc = need(m, 1);
    if (rc < 0)
        return rc;
    *more = m->buf[m->pos] != '0';
    if (!*more)
        m->pos++;
    return PLUMB_OK;
}

int plumb_mi_tuple(plumb_marshal_in *m, uint32_t *n, uint32_t *ref, uint32_t *label)
{
    int type;
    int rc = type_byte(m, &type, ref);
    *label = UINT32_MAX;
    if (rc < 0)
        return rc;
    if (type == 'r') {
        const plumb_mref *r;
        if ((rc = backref(m, PLUMB_MREF_LABEL, &r)) < 0)
            return rc;
        *label = r->v.func;
        *n = 0;
        return PLUMB_OK;
    }
    if (type == ')') {
        if ((rc = need(m, 1)) < 0)
            return rc;
        *n = m->buf[m->pos++];
    } else if (type == '(') {
        if ((rc = need(m, 4)) < 0)
            return rc;
        *n = u32_at(m->buf + m->pos);
        m->pos += 4;
        if (*n > m->len - m->pos)   /* each item takes a byte at least */
            return plumb_mi_fail(m, "a tuple longer than the file");
    } else {
        m->pos--;
        return plumb_mi_fail(m, "expected a tuple");
    }
    return PLUMB_OK;
}

void plumb_mi_set_label(plumb_marshal_in *m, uint32_t ref, uint32_t func)
{
    if (ref < m->nrefs)
        m->refs[ref] = (plumb_mref){.kind = PLUMB_MREF_LABEL, .v.func = func};
}

/* Skipping any object, and the code objects inside the profile module's
 * labels.  Everything read is entered in the reference table as marshal
 * enters it, so that later references (a label's file or line, often)
 * find what they refer to. */

static int skip_object(plumb_marshal_in *m, int depth);

/* A code object's fields after its type byte, laid out as CPython writes
 * them: `ints` leading 32-bit ints (6 in 3.8-3.10: argcount,
 * posonlyargcount, kwonlyargcount, nlocals, stacksize, flags; 5 from
 * 3.11, without nlocals), then code, consts, names, and varnames,
 * freevars, cellvars (3.8-3.10) or localsplusnames, localspluskinds
 * (3.11+), then filename, name, qualname (3.11+), firstlineno as a raw
 * int, and lnotab (3.8-3.10) or linetable, exceptiontable (3.11+). */
static int code_fields(plumb_marshal_in *m, int ints, int depth, plumb_mi_code *out)
{
    int rc = need(m, 4 * (size_t)ints);
    if (rc < 0)
        return rc;
    m->pos += 4 * (size_t)ints;
    int before = ints == 6 ? 6 : 5, after = ints == 6 ? 1 : 2;
    for (int i = 0; i < before; i++)
        if ((rc = skip_object(m, depth + 1)) < 0)
            return rc;
    if ((rc = plumb_mi_str(m, &out->file, &out->file_len)) < 0
        || (rc = plumb_mi_str(m, &out->name, &out->name_len)) < 0
        || (ints == 5 && (rc = skip_object(m, depth + 1)) < 0) || (rc = need(m, 4)) < 0)
        return rc;
    out->line = (int32_t)u32_at(m->buf + m->pos);
    m->pos += 4;
    for (int i = 0; i < after; i++)
        if ((rc = skip_object(m, depth + 1)) < 0)
            return rc;
    return PLUMB_OK;
}

/* Whether the byte at pos (flag removed) is marshal's bytes type, which a
 * code object's bytecode is. */
static int bytes_at(const plumb_marshal_in *m, size_t pos)
{
    return pos < m->len && (m->buf[pos] & ~FLAG_REF) == 's';
}

/* A code object, its type byte read (ref: its reserved index).  Which
 * layout a file's code objects have is not written in it; one Python
 * wrote them all, so the first code object's layout is kept: the one
 * whose bytecode is where the layout puts it, and if both could be, the
 * one that reads (the table and cursor are put back between tries). */
static int read_code(plumb_marshal_in *m, uint32_t ref, int depth, plumb_mi_code *out)
{
    size_t start = m->pos;
    uint32_t nrefs = m->nrefs;
    int known = m->code_ints, rc = PLUMB_EFORMAT;
    int tries[2] = {known, 0}, ntries = known ? 1 : 0;
    if (!known) {
        if (bytes_at(m, start + 20))
            tries[ntries++] = 5;
        if (bytes_at(m, start + 24))
            tries[ntries++] = 6;
        if (ntries == 0)
            return plumb_mi_fail(m, "a code object of a layout plumb does not know");
    }
    for (int t = 0; t < ntries; t++) {
        m->pos = start;
        m->nrefs = nrefs;
        m->code_ints = tries[t];   /* for the code objects inside it too */
        rc = code_fields(m, tries[t], depth, out);
        if (rc != PLUMB_EFORMAT)
            break;
    }
    if (rc < 0) {
        m->code_ints = known;
        return rc;
    }
    if (ref != UINT32_MAX)
        m->refs[ref] = (plumb_mref){
            .kind = PLUMB_MREF_CODE,
            .v.code = {.name_off = (uint32_t)(out->name - (const char *)m->buf),
                       .name_len = out->name_len,
                       .file_off = (uint32_t)(out->file - (const char *)m->buf),
                       .file_len = out->file_len,
                       .line = (int32_t)out->line}};
    return PLUMB_OK;
}

static int skip_object(plumb_marshal_in *m, int depth)
{
    if (depth > PLUMB_MI_MAX_DEPTH)
        return plumb_mi_fail(m, "objects nested deeper than plumb reads");
    size_t at = m->pos;
    int type;
    uint32_t ref, n = 0;
    int rc = type_byte(m, &type, &ref);
    if (rc < 0)
        return rc;
    plumb_mref done = {.kind = PLUMB_MREF_OTHER};
    size_t len = 0;
    int text = 0;
    switch (type) {
    case 'N': case 'F': case 'T': case 'S': case '.':   /* None, False, True, StopIteration, ... */
        break;
    case 'i':
        if ((rc = need(m, 4)) < 0)
            return rc;
        done = (plumb_mref){.kind = PLUMB_MREF_INT, .v.i = (int32_t)u32_at(m->buf + m->pos)};
        m->pos += 4;
        break;
    case 'I':   /* a 64-bit int, as marshal version 0 wrote them */
    case 'g':
        if ((rc = need(m, 8)) < 0)
            return rc;
        if (type == 'g') {
            uint64_t bits = (uint64_t)u32_at(m->buf + m->pos) | (uint64_t)u32_at(m->buf + m->pos + 4) << 32;
            done.kind = PLUMB_MREF_FLOAT;
            memcpy(&done.v.d, &bits, sizeof done.v.d);
        }
        m->pos += 8;
        break;
    case 'y':   /* a binary complex */
        if ((rc = need(m, 16)) < 0)
            return rc;
        m->pos += 16;
        break;
    case 'f':
        if ((rc = text_float(m, &done.v.d)) < 0)
            return rc;
        done.kind = PLUMB_MREF_FLOAT;
        break;
    case 'x': {   /* a text complex: two text floats */
        double re, im;
        if ((rc = text_float(m, &re)) < 0 || (rc = text_float(m, &im)) < 0)
            return rc;
        break;
    }
    case 'l': {
        if ((rc = need(m, 4)) < 0)
            return rc;
        int32_t count = (int32_t)u32_at(m->buf + m->pos);
        uint32_t digits = count < 0 ? (uint32_t)-(int64_t)count : (uint32_t)count;
        m->pos += 4;
        if ((rc = need(m, (size_t)digits * 2)) < 0)
            return rc;
        if (digits <= 4) {   /* below 2^60: an int a label could refer to */
            int64_t v = 0;
            for (uint32_t i = digits; i-- > 0;)
                v = v << 15 | (m->buf[m->pos + 2 * i] | (int64_t)(m->buf[m->pos + 2 * i + 1] & 0x7f) << 8);
            done = (plumb_mref){.kind = PLUMB_MREF_INT, .v.i = count < 0 ? -v : v};
        }
        m->pos += (size_t)digits * 2;
        break;
    }
    case 'z': case 'Z':
        if ((rc = need(m, 1)) < 0)
            return rc;
        len = m->buf[m->pos++];
        text = 1;
        goto bytes;
    case 'a': case 'A': case 'u': case 't': case 's':
        if ((rc = need(m, 4)) < 0)
            return rc;
        len = u32_at(m->buf + m->pos);
        m->pos += 4;
        text = type != 's';
    bytes:
        if ((rc = need(m, len)) < 0)
            return rc;
        /* A constant may hold a NUL or (bytes) anything: only a string a
         * label could use is entered as one. */
        if (text && valid_utf8(m->buf + m->pos, len))
            done = (plumb_mref){.kind = PLUMB_MREF_STR,
                                .v.s = {.off = (uint32_t)m->pos, .len = (uint32_t)len}};
        m->pos += len;
        break;
    case ')':
        if ((rc = need(m, 1)) < 0)
            return rc;
        n = m->buf[m->pos++];
        goto items;
    case '(': case '[': case '<': case '>':
        if ((rc = need(m, 4)) < 0)
            return rc;
        n = u32_at(m->buf + m->pos);
        m->pos += 4;
        if (n > m->len - m->pos)   /* each item takes a byte at least */
            return plumb_mi_fail(m, "a container longer than the file");
    items:
        for (uint32_t i = 0; i < n; i++)
            if ((rc = skip_object(m, depth + 1)) < 0)
                return rc;
        break;
    case ':':   /* a slice (3.14): start, stop, step */
        for (int i = 0; i < 3; i++)
            if ((rc = skip_object(m, depth + 1)) < 0)
                return rc;
        break;
    case '{':
        for (;;) {   /* each pair takes two bytes at least: bounded by the file */
            if ((rc = need(m, 1)) < 0)
                return rc;
            if (m->buf[m->pos] == '0') {
                m->pos++;
                break;
            }
            if ((rc = skip_object(m, depth + 1)) < 0 || (rc = skip_object(m, depth + 1)) < 0)
                return rc;
        }
        break;
    case 'r':
        if ((rc = need(m, 4)) < 0)
            return rc;
        if (u32_at(m->buf + m->pos) >= m->nrefs)
            return plumb_mi_fail(m, "a reference to an object not read yet");
        m->pos += 4;
        return PLUMB_OK;
    case 'c': {
        plumb_mi_code code;
        return read_code(m, ref, depth, &code);
    }
    default:
        m->pos = at;
        return plumb_mi_fail(m, "an object marshal does not write");
    }
    if (ref != UINT32_MAX)
        m->refs[ref] = done;
    return PLUMB_OK;
}

int plumb_mi_skip(plumb_marshal_in *m)
{
    return skip_object(m, 0);
}

int plumb_mi_name(plumb_marshal_in *m, const char **s, uint32_t *n, int *is_code,
                  plumb_mi_code *code)
{
    int type = plumb_mi_peek(m);
    *is_code = 0;
    if (type == 'c') {
        uint32_t ref;
        int rc = type_byte(m, &type, &ref);
        if (rc == PLUMB_OK)
            rc = read_code(m, ref, 0, code);
        *is_code = rc == PLUMB_OK;
        return rc;
    }
    if (type == 'r' && m->len - m->pos >= 5) {
        uint32_t i = u32_at(m->buf + m->pos + 1);
        if (i < m->nrefs && m->refs[i].kind == PLUMB_MREF_CODE) {
            const plumb_mref *r = &m->refs[i];
            *code = (plumb_mi_code){.name = (const char *)m->buf + r->v.code.name_off,
                                    .name_len = r->v.code.name_len,
                                    .file = (const char *)m->buf + r->v.code.file_off,
                                    .file_len = r->v.code.file_len,
                                    .line = r->v.code.line};
            m->pos += 5;
            *is_code = 1;
            return PLUMB_OK;
        }
    }
    return plumb_mi_str(m, s, n);
}
