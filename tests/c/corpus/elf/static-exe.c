/* The ELF reader's fuzzing seed static-exe.elf, built from this file with
 *     cc -Os -nostdlib -static -o static-exe.elf static-exe.c
 * a small static executable with a .PyRuntime section and a Py_Version
 * symbol, as a static CPython has (the seed was never checked in: the
 * .gitignore's *.so kept the first one out, and make test-c stopped at
 * "cannot read corpus/elf/*"). */
char _PyRuntime[64] __attribute__((section(".PyRuntime")));
const unsigned long Py_Version = 0x030C01F0;
void _start(void) { for (;;) ; }
