/* Forced into the glibc prebuilds (scripts/prebuild.mjs, -include): bind the oldest
 * versions of the symbols that newer glibc re-versioned, so that the addon built here
 * (glibc 2.36) loads on glibc 2.28 (RHEL 8, Node 20's own floor). glibc 2.34 moved
 * libpthread into libc and gave its functions new versions; the old
 * ones stay exported, and on older glibc they are found in libpthread.so.0, which the
 * prebuild lists as needed. scripts/elf.mjs checks the result. */
#if defined(__x86_64__)
#define FX_GLIBC_BASE "GLIBC_2.2.5"
#define FX_GLIBC_SETCLOCK "GLIBC_2.3.3"
#elif defined(__aarch64__)
#define FX_GLIBC_BASE "GLIBC_2.17"
#define FX_GLIBC_SETCLOCK "GLIBC_2.17"
#else
#error "no glibc floor known for this architecture"
#endif
__asm__(".symver pthread_create,pthread_create@" FX_GLIBC_BASE);
__asm__(".symver pthread_join,pthread_join@" FX_GLIBC_BASE);
__asm__(".symver pthread_attr_setstacksize,pthread_attr_setstacksize@" FX_GLIBC_BASE);
__asm__(".symver pthread_condattr_setclock,pthread_condattr_setclock@" FX_GLIBC_SETCLOCK);
