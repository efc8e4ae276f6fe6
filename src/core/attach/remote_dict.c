#include "attach/remote_dict.h"

#include <string.h>

#include "base/errors.h"
#include "sampler/remote_str.h"

#define BATCH 64                  /* entries read in one call */
#define MAX_LOG2_SIZE 24          /* a dict's table of at most 16 M slots */
#define MAX_KEY_CHARS 64          /* keys looked up here are short names */

static uintptr_t word_at(const unsigned char *buf, int64_t off)
{
    uintptr_t v;
    memcpy(&v, buf + off, sizeof v);
    return v;
}

static int read_word(const plumb_remote_reader *r, uintptr_t addr, uintptr_t *out)
{
    return plumb_memread_cached(r->source, r->cache, addr, out, sizeof *out);
}

/* Where a keys object's entries start, how many are used and how large
 * each is: 0, or PLUMB_EFAULT if the header makes no sense. */
static int keys_shape(const plumb_remote_reader *r, uintptr_t keys, uintptr_t *entries,
                      uint32_t *count, uint32_t *entry_size, uint32_t *key_at)
{
    const plumb_py_object_layout *l = r->objects;
    unsigned char head[64];
    if (!keys || plumb_memread_cached(r->source, r->cache, keys, head, (size_t)l->keys_indices) < 0)
        return PLUMB_EFAULT;
    uint64_t slots, index_bytes;
    *entry_size = 24;   /* hash, key, value */
    *key_at = 8;
    if (l->keys_size >= 0) {
        /* 3.9-3.10: indices of 1, 2, 4 or 8 bytes as the table is large. */
        int64_t size = (int64_t)word_at(head, l->keys_size);
        if (size <= 0 || size > (int64_t)1 << MAX_LOG2_SIZE || (size & (size - 1)))
            return PLUMB_EFAULT;
        slots = (uint64_t)size;
        index_bytes = slots * (slots <= 0xff ? 1 : slots <= 0xffff ? 2 : 4);
    } else {
        unsigned log2 = head[l->keys_log2_size], log2_bytes = head[l->keys_log2_index_bytes];
        if (log2 > MAX_LOG2_SIZE || log2_bytes < log2 || log2_bytes > log2 + 3)
            return PLUMB_EFAULT;
        slots = (uint64_t)1 << log2;
        index_bytes = (uint64_t)1 << log2_bytes;
        if (head[l->keys_kind] != 0) {   /* str keys only: key, value */
            *entry_size = 16;
            *key_at = 0;
        }
    }
    int64_t used = (int64_t)word_at(head, l->keys_nentries);
    if (used < 0 || (uint64_t)used > slots)
        return PLUMB_EFAULT;
    *count = used > PLUMB_MAX_DICT_ENTRIES ? PLUMB_MAX_DICT_ENTRIES : (uint32_t)used;
    *entries = keys + (uintptr_t)l->keys_indices + (uintptr_t)index_bytes;
    return *entries < keys ? PLUMB_EFAULT : PLUMB_OK;
}

/* Visits the entries of keys, with their values in values[] when the
 * table is split (values != 0), else in the entries. */
static int each_entry(const plumb_remote_reader *r, uintptr_t keys, uintptr_t values,
                      plumb_dict_visitor visit, void *ctx)
{
    uintptr_t entries;
    uint32_t count, size, key_at;
    int rc = keys_shape(r, keys, &entries, &count, &size, &key_at);
    if (rc < 0)
        return rc;
    unsigned char batch[BATCH * 24];
    uintptr_t split[BATCH];
    for (uint32_t first = 0; first < count; first += BATCH) {
        uint32_t n = count - first < BATCH ? count - first : BATCH;
        if (plumb_memread_cached(r->source, r->cache, entries + (uintptr_t)first * size, batch,
                                 (size_t)n * size) < 0)
            return PLUMB_EFAULT;
        if (values && plumb_memread_cached(r->source, r->cache, values + (uintptr_t)first * 8,
                                           split, (size_t)n * sizeof *split) < 0)
            return PLUMB_EFAULT;
        for (uint32_t i = 0; i < n; i++) {
            uintptr_t key = word_at(batch, (int64_t)i * size + key_at);
            uintptr_t value = values ? split[i] : word_at(batch, (int64_t)i * size + key_at + 8);
            if (!key || !value)
                continue;   /* deleted, or not set in this split table */
            rc = visit(ctx, key, value);
            if (rc != 0)
                return rc;
        }
    }
    return PLUMB_OK;
}

int plumb_remote_dict_each(const plumb_remote_reader *r, uintptr_t dict, plumb_dict_visitor visit,
                           void *ctx)
{
    const plumb_py_object_layout *l = r->objects;
    uintptr_t type = 0, keys = 0, values = 0;
    if (!dict || !r->dict_type || read_word(r, dict + (uintptr_t)r->off->object_type, &type) < 0
        || type != r->dict_type || read_word(r, dict + (uintptr_t)l->dict_keys, &keys) < 0
        || read_word(r, dict + (uintptr_t)l->dict_values, &values) < 0)
        return PLUMB_EFAULT;
    return each_entry(r, keys, values ? values + (uintptr_t)l->values_values : 0, visit, ctx);
}

typedef struct find_ctx {
    const plumb_remote_reader *r;
    const char *key;
    size_t key_len;
    uintptr_t value;
} find_ctx;

static int match_key(void *arg, uintptr_t key, uintptr_t value)
{
    find_ctx *c = arg;
    char text[PLUMB_STR_BUFFER(MAX_KEY_CHARS)];
    int64_t length;
    /* A key that is not a str (or unreadable) is not the one sought. */
    if (plumb_remote_str(c->r->source, c->r->cache, c->r->off, key, MAX_KEY_CHARS, text,
                         sizeof text, &length) < 0 || length > MAX_KEY_CHARS)
        return 0;
    if (strlen(text) != c->key_len || memcmp(text, c->key, c->key_len) != 0)
        return 0;
    c->value = value;
    return 1;
}

static int finish_find(int rc, const find_ctx *c, uintptr_t *value)
{
    if (rc < 0)
        return rc;
    if (rc == 0)
        return PLUMB_EINVAL;
    *value = c->value;
    return PLUMB_OK;
}

int plumb_remote_dict_get(const plumb_remote_reader *r, uintptr_t dict, const char *key,
                          uintptr_t *value)
{
    find_ctx c = {r, key, strlen(key), 0};
    return finish_find(plumb_remote_dict_each(r, dict, match_key, &c), &c, value);
}

/* key among a split table's shared keys (the type's cached keys) and its
 * values. */
static int split_get(const plumb_remote_reader *r, uintptr_t keys, uintptr_t values,
                     const char *key, uintptr_t *value)
{
    find_ctx c = {r, key, strlen(key), 0};
    return finish_find(each_entry(r, keys, values + (uintptr_t)r->objects->values_values,
                                  match_key, &c), &c, value);
}

int plumb_remote_attribute(const plumb_remote_reader *r, uintptr_t obj, const char *key,
                           uintptr_t *value)
{
    const plumb_py_object_layout *l = r->objects;
    uintptr_t type = 0;
    if (!obj || read_word(r, obj + (uintptr_t)r->off->object_type, &type) < 0 || !type)
        return PLUMB_EFAULT;
    /* The type's fields, read at once (plumb_object_layout_check bounds
     * the offsets). */
    unsigned char t[PLUMB_MAX_STRUCT];
    int64_t end = l->heaptype_cached_keys;
    if (l->type_flags > end)
        end = l->type_flags;
    if (l->type_dictoffset > end)
        end = l->type_dictoffset;
    if (l->type_basicsize > end)
        end = l->type_basicsize;
    if (plumb_memread_cached(r->source, r->cache, type, t, (size_t)end + 8) < 0)
        return PLUMB_EFAULT;
    uint64_t flags = word_at(t, l->type_flags);
    uintptr_t cached_keys = word_at(t, l->heaptype_cached_keys);
    int64_t basicsize = (int64_t)word_at(t, l->type_basicsize);
    int64_t dictoffset = (int64_t)word_at(t, l->type_dictoffset);
    uintptr_t dict = 0, values = 0;
    if (l->tpflags_managed_dict >= 0 && (flags & (uint64_t)l->tpflags_managed_dict)) {
        uintptr_t word;
        if (read_word(r, obj + (uintptr_t)l->managed_dict, &word) < 0)
            return PLUMB_EFAULT;
        if (l->managed_values != -1) {
            /* 3.11: the values' pointer beside the dict's. */
            dict = word;
            if (read_word(r, obj + (uintptr_t)l->managed_values, &values) < 0)
                return PLUMB_EFAULT;
        } else if (l->tpflags_inline_values >= 0) {
            /* 3.13: a dict once made, else the values inline after the
             * object's own fields, while marked valid. */
            dict = word;
            if (!dict && (flags & (uint64_t)l->tpflags_inline_values)) {
                unsigned char valid = 0;
                if (basicsize <= 0 || basicsize > PLUMB_MAX_STRUCT
                    || plumb_memread_cached(r->source, r->cache,
                                            obj + (uintptr_t)basicsize + (uintptr_t)l->values_valid,
                                            &valid, 1) < 0)
                    return PLUMB_EFAULT;
                if (valid)
                    values = obj + (uintptr_t)basicsize;
            }
        } else if (word & 1) {
            values = word + 1;   /* 3.12: a tagged pointer to the values */
        } else {
            dict = word;
        }
    } else if (dictoffset > 0 && dictoffset <= PLUMB_MAX_STRUCT) {
        if (read_word(r, obj + (uintptr_t)dictoffset, &dict) < 0)
            return PLUMB_EFAULT;
    } else {
        return PLUMB_EINVAL;   /* no instance dict plumb can find */
    }
    if (values)
        return split_get(r, cached_keys, values, key, value);
    if (!dict)
        return PLUMB_EINVAL;
    return plumb_remote_dict_get(r, dict, key, value);
}
