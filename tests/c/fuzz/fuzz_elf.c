/* Fuzz target: the ELF reader (attach/elf_reader.h) on a file given as
 * bytes: headers, sections and symbol tables are untrusted.  Any input must
 * be read or refused (PLUMB_EFORMAT with a one-line reason, PLUMB_ENOMEM),
 * never crash or read outside the bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "attach/elf_reader.h"

typedef struct bytes {
    const uint8_t *data;
    size_t size;
} bytes;

static int read_bytes(void *ctx, uint64_t offset, void *buf, size_t len)
{
    const bytes *b = ctx;
    if (offset > b->size || len > b->size - offset)
        abort();   /* the reader must check against the file's size first */
    memcpy(buf, b->data + offset, len);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    bytes b = {data, size};
    plumb_elf e;
    plumb_read_error err = {{0}};
    int rc = plumb_elf_open(&e, read_bytes, &b, size, &err);
    if (rc == PLUMB_EFORMAT && (err.message[0] == 0 || strchr(err.message, '\n')))
        abort();
    if (rc != PLUMB_OK && rc != PLUMB_EFORMAT && rc != PLUMB_ENOMEM)
        abort();
    if (rc == PLUMB_OK) {
        uint64_t value, len;
        (void)plumb_elf_symbol(&e, "_PyRuntime", &value, &len);
        (void)plumb_elf_symbol(&e, "Py_Version", &value, &len);
        (void)plumb_elf_symbol(&e, "version", &value, &len);
        (void)plumb_elf_section_by_name(&e, ".PyRuntime", &value, &len);
        plumb_elf_close(&e);
    }
    return 0;
}
