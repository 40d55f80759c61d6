/*
 * fuzz.h: what every libFuzzer target under tests/fuzz/ shares: the entry
 * points libFuzzer calls (it ships no header for them) and FUZZ_CHECK, which
 * stops the run with a message when a property of the code under test does
 * not hold (libFuzzer reports the abort as a crash and keeps the input).
 */
#ifndef FUZZ_H
#define FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_CHECK(cond)                                                       \
    do {                                                                       \
        if (!(cond)) {                                                         \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__,   \
                    #cond);                                                    \
            abort();                                                           \
        }                                                                      \
    } while (0)

#endif
