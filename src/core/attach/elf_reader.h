/* Reading a 64-bit little-endian ELF file (the target's python binary or
 * libpython) as untrusted data: its program headers (the first PT_LOAD,
 * for the load bias), its sections by name (.PyRuntime) and its symbols
 * (.dynsym, then .symtab).  The file is read through a callback, so that a
 * fuzzer can hand it bytes; every offset, count and name is checked against
 * the file's size and the bounds below before it is used. */
#ifndef PLUMB_ELF_READER_H
#define PLUMB_ELF_READER_H

#include <stddef.h>
#include <stdint.h>

#include "base/errors.h"

#define PLUMB_ELF_MAX_PHDRS 4096
#define PLUMB_ELF_MAX_SECTIONS 65535
#define PLUMB_ELF_MAX_TABLE (256u << 20)   /* bytes read of one symbol or string table */

/* Reads len bytes at offset whole: 0, or -1. */
typedef int (*plumb_elf_read_fn)(void *ctx, uint64_t offset, void *buf, size_t len);

typedef struct plumb_elf_section {
    uint32_t name;            /* in the section-name table */
    uint32_t type;
    uint64_t addr, offset, size;
    uint32_t link;
    uint64_t entsize;
} plumb_elf_section;

typedef struct plumb_elf {
    plumb_elf_read_fn read;
    void *ctx;
    uint64_t file_size;
    int fd;                   /* plumb_elf_open_fd's, closed by plumb_elf_close; else -1 */
    int is_executable;        /* ET_EXEC (not position-independent) */
    uint64_t first_load_vaddr;   /* the lowest PT_LOAD's p_vaddr, page-aligned down */
    uint64_t first_load_offset;
    plumb_elf_section *sections;
    uint32_t nsections;
    char *names;              /* the section-name table, NUL-terminated */
    uint64_t names_len;
    /* A symbol table and its strings, loaded on first use. */
    struct plumb_elf_symtab {
        int loaded;           /* 1 loaded, -1 absent or unreadable */
        unsigned char *symbols;
        uint64_t nsymbols;
        char *strings;
        uint64_t strings_len;
    } dynsym, symtab;
} plumb_elf;

/* Reads the headers: 0, PLUMB_ENOMEM, or PLUMB_EFORMAT with err saying
 * what is wrong ("not an ELF file", "not 64-bit little-endian", ...). */
int plumb_elf_open(plumb_elf *e, plumb_elf_read_fn read, void *ctx, uint64_t file_size,
                   plumb_read_error *err);
void plumb_elf_close(plumb_elf *e);

/* A defined symbol's value and size, from .dynsym or else .symtab: 0, or
 * PLUMB_EINVAL if there is none by that name (PLUMB_ENOMEM). */
int plumb_elf_symbol(plumb_elf *e, const char *name, uint64_t *value, uint64_t *size);

/* A section's address and size: 0, or PLUMB_EINVAL if there is none. */
int plumb_elf_section_by_name(plumb_elf *e, const char *name, uint64_t *addr, uint64_t *size);

/* An ELF file on disk, read with pread through fd, which the plumb_elf
 * then owns (closed by plumb_elf_close, or here on failure). */
int plumb_elf_open_fd(plumb_elf *e, int fd, plumb_read_error *err);

#endif
