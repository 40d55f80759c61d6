/*
 * tc.h: macros shared by every module of tiny-cache, and nothing else.
 */
#ifndef TC_H
#define TC_H

#define TC_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define TC_PRINTF(f, a) __attribute__((format(printf, f, a)))
#define TC_UNUSED       __attribute__((unused))
#define TC_LIKELY(x)    __builtin_expect(!!(x), 1)
#define TC_UNLIKELY(x)  __builtin_expect(!!(x), 0)
#define TC_CACHELINE    64

#endif
