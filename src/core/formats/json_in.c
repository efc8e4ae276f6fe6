#include "formats/json_in.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/grow.h"

typedef struct parser {
    plumb_json *j;
    const char *s;
    size_t len, pos;
    plumb_read_error *err;
} parser;

static int fail(parser *p, const char *what)
{
    return plumb_read_fail(p->err, "at byte", p->pos, what);
}

static void skip_space(parser *p)
{
    while (p->pos < p->len && (p->s[p->pos] == ' ' || p->s[p->pos] == '\t'
                               || p->s[p->pos] == '\n' || p->s[p->pos] == '\r'))
        p->pos++;
}

static int new_node(parser *p, int kind, uint32_t *out)
{
    plumb_json *j = p->j;
    int rc = PLUMB_GROW(j->nodes, &j->cap, (size_t)j->n + 1, 256, PLUMB_JSON_NONE - 1);
    if (rc == PLUMB_ELIMIT)
        return fail(p, "too many values");
    if (rc < 0)
        return rc;
    *out = j->n++;
    j->nodes[*out] = (plumb_json_node){.kind = (uint8_t)kind, .start = (uint32_t)p->pos,
                                       .first = PLUMB_JSON_NONE, .next = PLUMB_JSON_NONE};
    return PLUMB_OK;
}

static int hex4(const char *s)
{
    int v = 0;
    for (int i = 0; i < 4; i++) {
        char c = s[i];
        int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
              : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
        if (d < 0)
            return -1;
        v = v * 16 + d;
    }
    return v;
}

/* A string at p->pos (the opening quote): checked, not yet unescaped. */
static int scan_string(parser *p, uint32_t node)
{
    p->pos++;
    size_t start = p->pos;
    while (p->pos < p->len) {
        unsigned char c = (unsigned char)p->s[p->pos];
        if (c == '"') {
            p->j->nodes[node].start = (uint32_t)start;
            p->j->nodes[node].len = (uint32_t)(p->pos - start);
            p->pos++;
            return PLUMB_OK;
        }
        if (c < 0x20)
            return fail(p, "a control character in a string");
        if (c == '\\') {
            if (p->pos + 1 >= p->len)
                break;
            char e = p->s[p->pos + 1];
            if (e == 'u') {
                if (p->len - p->pos < 6 || hex4(p->s + p->pos + 2) < 0)
                    return fail(p, "a bad \\u escape");
                p->pos += 6;
                continue;
            }
            if (!strchr("\"\\/bfnrt", e) || e == 0)
                return fail(p, "a bad escape in a string");
            p->pos += 2;
            continue;
        }
        p->pos++;
    }
    return fail(p, "the text ends inside a string");
}

static int scan_number(parser *p, uint32_t node)
{
    size_t start = p->pos;
    const char *s = p->s;
    if (p->pos < p->len && s[p->pos] == '-')
        p->pos++;
    size_t digits = p->pos;
    while (p->pos < p->len && s[p->pos] >= '0' && s[p->pos] <= '9')
        p->pos++;
    if (p->pos == digits)
        return fail(p, "not a JSON value");
    if (p->pos < p->len && s[p->pos] == '.') {
        size_t frac = ++p->pos;
        while (p->pos < p->len && s[p->pos] >= '0' && s[p->pos] <= '9')
            p->pos++;
        if (p->pos == frac)
            return fail(p, "a number with no digits after its point");
    }
    if (p->pos < p->len && (s[p->pos] == 'e' || s[p->pos] == 'E')) {
        p->pos++;
        if (p->pos < p->len && (s[p->pos] == '+' || s[p->pos] == '-'))
            p->pos++;
        size_t exp = p->pos;
        while (p->pos < p->len && s[p->pos] >= '0' && s[p->pos] <= '9')
            p->pos++;
        if (p->pos == exp)
            return fail(p, "a number with an empty exponent");
    }
    if (p->pos - start > 64)
        return fail(p, "a number too long");
    p->j->nodes[node].start = (uint32_t)start;
    p->j->nodes[node].len = (uint32_t)(p->pos - start);
    return PLUMB_OK;
}

static int literal(parser *p, const char *word)
{
    size_t n = strlen(word);
    if (p->len - p->pos < n || memcmp(p->s + p->pos, word, n) != 0)
        return fail(p, "not a JSON value");
    p->pos += n;
    return PLUMB_OK;
}

int plumb_json_parse(plumb_json *j, const char *text, size_t len, plumb_read_error *err)
{
    memset(j, 0, sizeof *j);
    j->text = text;
    parser p = {.j = j, .s = text, .len = len, .err = err};
    if (len >= UINT32_MAX)
        return fail(&p, "the text is too long");
    /* The containers open around the current position, and each one's
     * last child so far (to link the next). */
    uint32_t open[PLUMB_JSON_MAX_DEPTH], last[PLUMB_JSON_MAX_DEPTH];
    int depth = 0, rc;
    int want_key = 0;   /* inside an object, a key comes next */
    for (;;) {
        skip_space(&p);
        if (p.pos >= len)
            return fail(&p, j->n ? "the text ends inside a value" : "the text is empty");
        char c = text[p.pos];
        /* Closing a container? */
        if (depth > 0 && (c == ']' || c == '}')) {
            plumb_json_node *top = &j->nodes[open[depth - 1]];
            int is_object = top->kind == PLUMB_JSON_OBJECT;
            if ((c == '}') != is_object || (top->count && want_key && is_object))
                return fail(&p, "a misplaced closing bracket");
            if (is_object && top->count % 2)
                return fail(&p, "an object member without a value");
            p.pos++;
            depth--;
            goto after_value;
        }
        if (want_key && c != '"')
            return fail(&p, "an object key that is not a string");
        uint32_t node = 0;
        int kind = c == '{' ? PLUMB_JSON_OBJECT : c == '[' ? PLUMB_JSON_ARRAY
                 : c == '"' ? PLUMB_JSON_STRING : c == 't' ? PLUMB_JSON_TRUE
                 : c == 'f' ? PLUMB_JSON_FALSE : c == 'n' ? PLUMB_JSON_NULL : PLUMB_JSON_NUMBER;
        if ((rc = new_node(&p, kind, &node)) < 0)
            return rc;
        if (depth > 0) {
            plumb_json_node *parent = &j->nodes[open[depth - 1]];
            if (parent->count == 0)
                parent->first = node;
            else
                j->nodes[last[depth - 1]].next = node;
            parent->count++;
            last[depth - 1] = node;
        }
        if (kind == PLUMB_JSON_OBJECT || kind == PLUMB_JSON_ARRAY) {
            if (depth == PLUMB_JSON_MAX_DEPTH)
                return fail(&p, "nested too deep");
            open[depth++] = node;
            p.pos++;
            want_key = kind == PLUMB_JSON_OBJECT;
            continue;   /* its first child, or its end */
        }
        rc = kind == PLUMB_JSON_STRING ? scan_string(&p, node)
           : kind == PLUMB_JSON_TRUE   ? literal(&p, "true")
           : kind == PLUMB_JSON_FALSE  ? literal(&p, "false")
           : kind == PLUMB_JSON_NULL   ? literal(&p, "null")
                                       : scan_number(&p, node);
        if (rc < 0)
            return rc;
        if (want_key) {
            skip_space(&p);
            if (p.pos >= len || text[p.pos] != ':')
                return fail(&p, "an object key without ':'");
            p.pos++;
            want_key = 0;
            continue;   /* its value */
        }
    after_value:
        if (depth == 0) {
            skip_space(&p);
            if (p.pos != len)
                return fail(&p, "more text after the value");
            return PLUMB_OK;
        }
        skip_space(&p);
        if (p.pos >= len)
            return fail(&p, "the text ends inside a value");
        if (text[p.pos] == ',') {
            p.pos++;
            want_key = j->nodes[open[depth - 1]].kind == PLUMB_JSON_OBJECT;
            skip_space(&p);
            if (p.pos < len && (text[p.pos] == ']' || text[p.pos] == '}'))
                return fail(&p, "a comma before a closing bracket");
            continue;
        }
        if (text[p.pos] != ']' && text[p.pos] != '}')
            return fail(&p, "a missing comma");
        want_key = 0;
    }
}

void plumb_json_free(plumb_json *j)
{
    free(j->nodes);
    memset(j, 0, sizeof *j);
}

uint32_t plumb_json_member(const plumb_json *j, uint32_t object, const char *key)
{
    if (object >= j->n || j->nodes[object].kind != PLUMB_JSON_OBJECT)
        return PLUMB_JSON_NONE;
    size_t klen = strlen(key);
    for (uint32_t k = j->nodes[object].first; k != PLUMB_JSON_NONE;) {
        const plumb_json_node *kn = &j->nodes[k];
        uint32_t v = kn->next;
        if (v == PLUMB_JSON_NONE)
            break;
        /* Keys with escapes are compared unescaped. */
        if (memchr(j->text + kn->start, '\\', kn->len)) {
            char buf[256];
            long n = plumb_json_string(j, k, buf, sizeof buf);
            if (n >= 0 && (size_t)n == klen && memcmp(buf, key, klen) == 0)
                return v;
        } else if (kn->len == klen && memcmp(j->text + kn->start, key, klen) == 0) {
            return v;
        }
        k = j->nodes[v].next;
    }
    return PLUMB_JSON_NONE;
}

static size_t put_utf8(char *out, size_t size, size_t n, uint32_t c)
{
    char b[4];
    size_t k;
    if (c < 0x80) {
        b[0] = (char)c;
        k = 1;
    } else if (c < 0x800) {
        b[0] = (char)(0xc0 | c >> 6);
        b[1] = (char)(0x80 | (c & 0x3f));
        k = 2;
    } else if (c < 0x10000) {
        b[0] = (char)(0xe0 | c >> 12);
        b[1] = (char)(0x80 | ((c >> 6) & 0x3f));
        b[2] = (char)(0x80 | (c & 0x3f));
        k = 3;
    } else {
        b[0] = (char)(0xf0 | c >> 18);
        b[1] = (char)(0x80 | ((c >> 12) & 0x3f));
        b[2] = (char)(0x80 | ((c >> 6) & 0x3f));
        b[3] = (char)(0x80 | (c & 0x3f));
        k = 4;
    }
    if (n + k < size)
        memcpy(out + n, b, k);
    return n + k < size ? n + k : n;
}

long plumb_json_string(const plumb_json *j, uint32_t node, char *out, size_t size)
{
    if (node >= j->n || j->nodes[node].kind != PLUMB_JSON_STRING || size == 0)
        return -1;
    const char *s = j->text + j->nodes[node].start;
    size_t len = j->nodes[node].len, n = 0;
    for (size_t i = 0; i < len;) {
        char c = s[i];
        if (c != '\\') {
            if (n + 1 < size)
                out[n++] = c;
            i++;
            continue;
        }
        char e = s[i + 1];   /* checked when scanned: every escape is whole */
        if (e == 'u') {
            uint32_t cp = (uint32_t)hex4(s + i + 2);
            i += 6;
            if (cp >= 0xd800 && cp < 0xdc00 && i + 6 <= len && s[i] == '\\' && s[i + 1] == 'u') {
                int low = hex4(s + i + 2);
                if (low >= 0xdc00 && low < 0xe000) {
                    cp = 0x10000 + ((cp - 0xd800) << 10) + (uint32_t)(low - 0xdc00);
                    i += 6;
                }
            }
            if (cp == 0)
                return -1;
            if (cp >= 0xd800 && cp < 0xe000)
                cp = 0xfffd;   /* a lone surrogate */
            n = put_utf8(out, size, n, cp);
            continue;
        }
        char plain = e == 'b' ? '\b' : e == 'f' ? '\f' : e == 'n' ? '\n' : e == 'r' ? '\r'
                   : e == 't' ? '\t' : e;
        if (n + 1 < size)
            out[n++] = plain;
        i += 2;
    }
    out[n] = 0;
    return (long)n;
}

int plumb_json_number(const plumb_json *j, uint32_t node, double *v)
{
    if (node >= j->n || j->nodes[node].kind != PLUMB_JSON_NUMBER)
        return -1;
    char buf[72];
    uint32_t len = j->nodes[node].len;
    memcpy(buf, j->text + j->nodes[node].start, len);
    buf[len] = 0;
    *v = strtod(buf, NULL);
    return 0;
}
