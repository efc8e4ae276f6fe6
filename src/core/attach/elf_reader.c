#define _GNU_SOURCE
#include "attach/elf_reader.h"

#include <elf.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Whether [offset, offset + len) lies in the file; no sum wraps. */
static int in_file(const plumb_elf *e, uint64_t offset, uint64_t len)
{
    return offset <= e->file_size && len <= e->file_size - offset;
}

static int read_at(plumb_elf *e, uint64_t offset, void *buf, uint64_t len)
{
    if (!in_file(e, offset, len))
        return -1;
    return len == 0 ? 0 : e->read(e->ctx, offset, buf, (size_t)len);
}

/* A table of len bytes at offset, read whole into a fresh buffer with a
 * NUL after it (so strings in it end). */
static int read_table(plumb_elf *e, uint64_t offset, uint64_t len, unsigned char **out)
{
    if (len > PLUMB_ELF_MAX_TABLE || !in_file(e, offset, len))
        return PLUMB_EFORMAT;
    unsigned char *buf = malloc((size_t)len + 1);
    if (!buf)
        return PLUMB_ENOMEM;
    if (read_at(e, offset, buf, len) < 0) {
        free(buf);
        return PLUMB_EFORMAT;
    }
    buf[len] = 0;
    *out = buf;
    return PLUMB_OK;
}

static int load_phdrs(plumb_elf *e, const Elf64_Ehdr *h, plumb_read_error *err)
{
    if (h->e_phnum == 0 || h->e_phnum > PLUMB_ELF_MAX_PHDRS || h->e_phentsize != sizeof(Elf64_Phdr))
        return plumb_read_fail(err, NULL, 0, "ELF: no program headers, or not 64-bit ones");
    int found = 0;
    for (uint32_t i = 0; i < h->e_phnum; i++) {
        Elf64_Phdr ph;
        if (read_at(e, h->e_phoff + (uint64_t)i * sizeof ph, &ph, sizeof ph) < 0
            || h->e_phoff > UINT64_MAX / 2)
            return plumb_read_fail(err, NULL, 0, "ELF: program headers outside the file");
        if (ph.p_type != PT_LOAD)
            continue;
        uint64_t vaddr = ph.p_vaddr & ~(uint64_t)4095;
        if (!found || vaddr < e->first_load_vaddr) {
            e->first_load_vaddr = vaddr;
            e->first_load_offset = ph.p_offset & ~(uint64_t)4095;
        }
        found = 1;
    }
    if (!found)
        return plumb_read_fail(err, NULL, 0, "ELF: no loadable segment");
    return PLUMB_OK;
}

static int load_sections(plumb_elf *e, const Elf64_Ehdr *h, plumb_read_error *err)
{
    if (h->e_shoff == 0 || h->e_shnum == 0)
        return PLUMB_OK;   /* no section headers: only symbols are missing */
    if (h->e_shentsize != sizeof(Elf64_Shdr)
        || h->e_shstrndx >= h->e_shnum || !in_file(e, h->e_shoff, (uint64_t)h->e_shnum * sizeof(Elf64_Shdr)))
        return plumb_read_fail(err, NULL, 0, "ELF: section headers outside the file");
    e->sections = calloc(h->e_shnum, sizeof *e->sections);
    if (!e->sections)
        return PLUMB_ENOMEM;
    for (uint32_t i = 0; i < h->e_shnum; i++) {
        Elf64_Shdr sh;
        if (read_at(e, h->e_shoff + (uint64_t)i * sizeof sh, &sh, sizeof sh) < 0)
            return plumb_read_fail(err, NULL, 0, "ELF: section headers outside the file");
        e->sections[i] = (plumb_elf_section){.name = sh.sh_name, .type = sh.sh_type,
                                             .addr = sh.sh_addr, .offset = sh.sh_offset,
                                             .size = sh.sh_size, .link = sh.sh_link,
                                             .entsize = sh.sh_entsize};
    }
    e->nsections = h->e_shnum;
    const plumb_elf_section *names = &e->sections[h->e_shstrndx];
    unsigned char *table;
    int rc = read_table(e, names->offset, names->size, &table);
    if (rc == PLUMB_ENOMEM)
        return rc;
    if (rc < 0)
        return plumb_read_fail(err, NULL, 0, "ELF: the section-name table is outside the file");
    e->names = (char *)table;
    e->names_len = names->size;
    return PLUMB_OK;
}

int plumb_elf_open(plumb_elf *e, plumb_elf_read_fn read, void *ctx, uint64_t file_size,
                   plumb_read_error *err)
{
    memset(e, 0, sizeof *e);
    e->read = read;
    e->ctx = ctx;
    e->file_size = file_size;
    e->fd = -1;
    Elf64_Ehdr h;
    if (read_at(e, 0, &h, sizeof h) < 0 || memcmp(h.e_ident, ELFMAG, SELFMAG) != 0)
        return plumb_read_fail(err, NULL, 0, "not an ELF file");
    if (h.e_ident[EI_CLASS] != ELFCLASS64 || h.e_ident[EI_DATA] != ELFDATA2LSB)
        return plumb_read_fail(err, NULL, 0, "ELF: not 64-bit little-endian");
    if (h.e_type != ET_EXEC && h.e_type != ET_DYN)
        return plumb_read_fail(err, NULL, 0, "ELF: neither an executable nor a shared object");
    e->is_executable = h.e_type == ET_EXEC;
    int rc = load_phdrs(e, &h, err);
    if (rc == PLUMB_OK)
        rc = load_sections(e, &h, err);
    if (rc < 0)
        plumb_elf_close(e);
    return rc;
}

static void free_symtab(struct plumb_elf_symtab *t)
{
    free(t->symbols);
    free(t->strings);
    memset(t, 0, sizeof *t);
}

void plumb_elf_close(plumb_elf *e)
{
    if (e->fd >= 0)
        close(e->fd);
    free(e->sections);
    free(e->names);
    free_symtab(&e->dynsym);
    free_symtab(&e->symtab);
    memset(e, 0, sizeof *e);
}

static const char *section_name(const plumb_elf *e, const plumb_elf_section *s)
{
    return e->names && s->name < e->names_len ? e->names + s->name : "";
}

/* Loads the symbol table of this type (SHT_DYNSYM or SHT_SYMTAB) and the
 * strings its sh_link names. */
static int load_symtab(plumb_elf *e, uint32_t type, struct plumb_elf_symtab *t)
{
    if (t->loaded)
        return t->loaded > 0 ? PLUMB_OK : PLUMB_EINVAL;
    t->loaded = -1;
    for (uint32_t i = 0; i < e->nsections; i++) {
        const plumb_elf_section *s = &e->sections[i];
        if (s->type != type || s->entsize != sizeof(Elf64_Sym) || s->link >= e->nsections)
            continue;
        const plumb_elf_section *str = &e->sections[s->link];
        unsigned char *symbols = NULL, *strings = NULL;
        int rc = read_table(e, s->offset, s->size, &symbols);
        if (rc == PLUMB_OK)
            rc = read_table(e, str->offset, str->size, &strings);
        if (rc < 0) {
            free(symbols);
            if (rc == PLUMB_ENOMEM)
                return rc;
            continue;
        }
        t->symbols = symbols;
        t->nsymbols = s->size / sizeof(Elf64_Sym);
        t->strings = (char *)strings;
        t->strings_len = str->size;
        t->loaded = 1;
        return PLUMB_OK;
    }
    return PLUMB_EINVAL;
}

static int find_in(const struct plumb_elf_symtab *t, const char *name, uint64_t *value,
                   uint64_t *size)
{
    for (uint64_t i = 0; i < t->nsymbols; i++) {
        Elf64_Sym sym;
        memcpy(&sym, t->symbols + i * sizeof sym, sizeof sym);
        /* strings has a NUL after its last byte: every name ends. */
        if (sym.st_name >= t->strings_len || sym.st_shndx == SHN_UNDEF
            || strcmp(t->strings + sym.st_name, name) != 0)
            continue;
        *value = sym.st_value;
        *size = sym.st_size;
        return PLUMB_OK;
    }
    return PLUMB_EINVAL;
}

int plumb_elf_symbol(plumb_elf *e, const char *name, uint64_t *value, uint64_t *size)
{
    int rc = load_symtab(e, SHT_DYNSYM, &e->dynsym);
    if (rc == PLUMB_ENOMEM)
        return rc;
    if (rc == PLUMB_OK && find_in(&e->dynsym, name, value, size) == PLUMB_OK)
        return PLUMB_OK;
    rc = load_symtab(e, SHT_SYMTAB, &e->symtab);
    if (rc == PLUMB_ENOMEM)
        return rc;
    return rc == PLUMB_OK ? find_in(&e->symtab, name, value, size) : PLUMB_EINVAL;
}

int plumb_elf_section_by_name(plumb_elf *e, const char *name, uint64_t *addr, uint64_t *size)
{
    for (uint32_t i = 0; i < e->nsections; i++)
        if (strcmp(section_name(e, &e->sections[i]), name) == 0) {
            *addr = e->sections[i].addr;
            *size = e->sections[i].size;
            return PLUMB_OK;
        }
    return PLUMB_EINVAL;
}

static int pread_whole(void *ctx, uint64_t offset, void *buf, size_t len)
{
    int fd = (int)(intptr_t)ctx;
    unsigned char *out = buf;
    while (len > 0) {
        ssize_t got = pread(fd, out, len, (off_t)offset);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            return -1;
        out += got;
        offset += (uint64_t)got;
        len -= (size_t)got;
    }
    return 0;
}

int plumb_elf_open_fd(plumb_elf *e, int fd, plumb_read_error *err)
{
    struct stat st;
    if (fstat(fd, &st) != 0) {
        close(fd);
        return PLUMB_EIO;
    }
    int rc = plumb_elf_open(e, pread_whole, (void *)(intptr_t)fd, (uint64_t)st.st_size, err);
    if (rc < 0)
        close(fd);
    else
        e->fd = fd;
    return rc;
}
