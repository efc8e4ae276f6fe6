/* Reading threading's names (attach/thread_names.h) from the fuzzing seeds
 * (corpus/thread_names/, an address space per version in which sys.modules
 * leads to one Thread named MainThread): each version's row finds it,
 * through an instance dict, and on 3.11-3.13 through the managed values
 * each keeps instead (the seed edited here as that version lays them
 * out); a name cut at its bound; an address space of nonsense reads as no
 * name, not a crash. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attach/thread_names.h"
#include "base/errors.h"
#include "check.h"
#include "fuzz/image_source.h"

#define BASE ((uintptr_t)0x10000000)
#define STR_TYPE ((uintptr_t)0x70000100)
#define DICT_TYPE ((uintptr_t)0x70000200)
#define LONG_TYPE ((uintptr_t)0x70000300)
#define MODULE_TYPE ((uintptr_t)0x70000400)
/* Where make_thread_names_seeds.py puts them, from BASE. */
#define NAME_STR 0x2180
#define THREAD_DICT 0x2400
#define THREAD 0x2800
#define THREAD_TYPE 0x3800
#define VALUES 0x3c00
#define IDENT ((uint64_t)0x1f << 30 | 0x1234567)

typedef struct image {
    image_source source;
    unsigned char data[0x4000];
} image;

static void put_word(image *img, int64_t at, uint64_t v)
{
    memcpy(img->data + at, &v, sizeof v);
}

static uint64_t get_word(const image *img, int64_t at)
{
    uint64_t v;
    memcpy(&v, img->data + at, sizeof v);
    return v;
}

static int load(image *img, uint32_t version)
{
    char path[64];
    snprintf(path, sizeof path, "corpus/thread_names/path-3.%u.bin", version & 0xff);
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    size_t size = fread(img->data, 1, sizeof img->data, f);
    fclose(f);
    img->source = image_source_of(img->data, size, BASE);
    return 0;
}

/* Reads the names and returns how many; *name the first's. */
static uint32_t read_names(image *img, const plumb_py_object_layout *objects,
                           char *name, size_t size, uint64_t *ident)
{
    const plumb_py_layout *row = plumb_py_layout_find(objects->version);
    if (!row)
        row = &plumb_py_layouts[plumb_py_layouts_count - 1];
    plumb_py_offsets off;
    CHECK(plumb_py_offsets_from_layout(row, row->version << 16, &off) == PLUMB_OK);
    off.unicode_type = STR_TYPE;
    plumb_remote_reader r = {.source = &img->source.base, .off = &off, .objects = objects,
                             .dict_type = DICT_TYPE, .long_type = LONG_TYPE,
                             .module_type = MODULE_TYPE};
    plumb_thread_names names;
    int rc = plumb_read_thread_names(&r, BASE, &names);
    uint32_t n = rc == PLUMB_OK ? names.count : 0;
    if (n) {
        snprintf(name, size, "%s", names.items[0].name);
        *ident = names.items[0].ident;
    }
    plumb_thread_names_free(&names);
    return n;
}

/* The seed's Thread keeps _name as the version's managed values do: the
 * instance dict's keys become the type's cached keys and its value moves
 * to the values. */
static void make_managed(image *img, const plumb_py_object_layout *o)
{
    uint64_t keys = get_word(img, THREAD_DICT + o->dict_keys);
    put_word(img, THREAD_TYPE + o->heaptype_cached_keys, keys);
    put_word(img, THREAD + 16, 0);   /* no instance dict at tp_dictoffset */
    uint64_t flags = (uint64_t)o->tpflags_managed_dict;
    put_word(img, THREAD + o->managed_dict, 0);
    if (o->tpflags_inline_values != -1) {
        flags |= (uint64_t)o->tpflags_inline_values;
        int64_t values = THREAD + (int64_t)get_word(img, THREAD_TYPE + o->type_basicsize);
        img->data[values + o->values_valid] = 1;
        put_word(img, values + o->values_values, BASE + NAME_STR);
    } else {
        put_word(img, VALUES + o->values_values, BASE + NAME_STR);
        if (o->managed_values != -1)
            put_word(img, THREAD + o->managed_values, BASE + VALUES);
        else
            put_word(img, THREAD + o->managed_dict, BASE + VALUES - 1);   /* 3.12's tag */
    }
    put_word(img, THREAD_TYPE + o->type_flags, flags);
}

int main(void)
{
    static image img;
    char name[PLUMB_STR_BUFFER(PLUMB_MAX_THREAD_NAME)];
    uint64_t ident = 0;
    for (unsigned i = 0; i < plumb_py_object_layouts_count; i++) {
        const plumb_py_object_layout *o = &plumb_py_object_layouts[i];
        CHECK(plumb_py_object_layout_check(o) == PLUMB_OK);
        if (load(&img, o->version) < 0) {
            CHECK(!"seed missing: run corpus/make_thread_names_seeds.py");
            continue;
        }
        name[0] = 0;
        CHECK(read_names(&img, o, name, sizeof name, &ident) == 1);
        CHECK(strcmp(name, "MainThread") == 0 && ident == IDENT);
        if (o->tpflags_managed_dict != -1) {
            make_managed(&img, o);
            name[0] = 0;
            CHECK(read_names(&img, o, name, sizeof name, &ident) == 1);
            CHECK(strcmp(name, "MainThread") == 0);
        }
        /* A name longer than the bound is cut there: the name moved to a
         * str of 5000 characters (of which the image holds the first). */
        CHECK(load(&img, o->version) == 0);
        enum { LONG_STR = 0x3d00 };
        memcpy(img.data + LONG_STR, img.data + NAME_STR, 64);
        const plumb_py_layout *row = plumb_py_layout_find(o->version);
        if (!row)
            row = &plumb_py_layouts[plumb_py_layouts_count - 1];
        put_word(&img, LONG_STR + row->unicode_length, 5000);
        memset(img.data + LONG_STR + row->unicode_ascii_size, 'x', sizeof img.data - LONG_STR - 64);
        for (int64_t at = 0; at + 8 <= (int64_t)img.source.size; at += 8)
            if (get_word(&img, at) == BASE + NAME_STR)
                put_word(&img, at, BASE + LONG_STR);
        CHECK(read_names(&img, o, name, sizeof name, &ident) == 1);
        CHECK(strlen(name) == PLUMB_MAX_THREAD_NAME);
        /* The ident an int no 64 bits hold: that thread has no name. */
        CHECK(load(&img, o->version) == 0);
        put_word(&img, 0x2200 + o->long_size, (uint64_t)3 << o->long_tag_bits);
        put_word(&img, 0x2200 + o->long_digits + 8, 0x3fffffff);
        CHECK(read_names(&img, o, name, sizeof name, &ident) == 0);
        /* Every byte 0xff: nothing found, nothing crashed. */
        memset(img.data, 0xff, sizeof img.data);
        CHECK(read_names(&img, o, name, sizeof name, &ident) == 0);
    }
    return check_report("thread names: read from every version's layout");
}
