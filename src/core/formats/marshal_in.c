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
        if ((rc = need(m, 1)) < 0)
            return rc;
        unsigned n = m->buf[m->pos++];
        if ((rc = need(m, n)) < 0)
            return rc;
        char text[256], *end;
        memcpy(text, m->buf + m->pos, n);
        text[n] = 0;
        *out = (plumb_mref){.kind = PLUMB_MREF_FLOAT, .v.d = strtod(text, &end)};
        if (n == 0 || *end != 0)
            return plumb_mi_fail(m, "a malformed float");
        m->pos += n;
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
