/* What the Node-API glue files share: the per-env instance data, the one argument helper,
 * the one error constructor and the status-checking macros. The glue converts arguments,
 * calls the plain C of shim/sys/ and converts results; no policy lives here.
 *   module.c   the entry point: instance data, every file's exports
 *   args.c     fx_get_args (the arguments of a call, checked) and result helpers
 *   errors.c   throw_code, the Node-API failure path, setErrorClass
 *   futex.c    futexWait, futexWake and the async waits (waitAsync*)
 *   memory.c   mmap, munmap
 *   process.c  gettid, startTime, threadExists, flock */
#ifndef FASTIPC_GLUE_H
#define FASTIPC_GLUE_H
#include <node_api.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "../sys/fastipc.h"

/* ---- per-env instance data (napi_set_instance_data), made by module.c's init ---- */
typedef struct fx_async fx_async; /* futex.c's async waits */
typedef struct {
  napi_ref error_class; /* setErrorClass's constructor; NULL: plain Errors */
  fx_async *async;      /* waitAsyncInit's state; NULL before it, and after teardown */
} fx_instance;
fx_instance *fx_instance_of(napi_env env); /* NULL only if the addon's init failed */
/* The same, for an export: throws ERR_FASTIPC_NAPI and returns NULL when there is none. */
fx_instance *fx_instance_or_throw(napi_env env);

/* ---- errors (errors.c) ---- */
typedef enum {
  FX_TYPE_ERROR,  /* a bad argument's kind: a plain TypeError */
  FX_RANGE_ERROR, /* a bad argument's value: a plain RangeError */
  FX_ERROR,       /* a system or state error: made by setErrorClass's class when there is one */
} fx_error_kind;

/* The one error constructor: every error the addon throws is made here. Throws and returns
 * NULL (unless an exception is pending already: then that one stays, and this adds none).
 * The message is printf-style, without the "fastipc: " prefix: a plain error gets it here,
 * setErrorClass's class adds it itself. `code` (NULL: none) is the error's `code`; a
 * FX_ERROR always has one. err != 0 makes a system error: `errno` = -err and `syscall`.
 * A FX_ERROR is `new ErrorClass(code, message)` once setErrorClass has been called, else
 * a plain Error with `code`; TypeError and RangeError are always plain. */
napi_value throw_code(napi_env env, fx_error_kind kind, const char *code, int err, const char *syscall, const char *fmt,
                      ...) __attribute__((format(printf, 6, 7)));

/* A failed system call: code 'ENOENT' (...), message "syscall: strerror". */
static inline napi_value throw_errno(napi_env env, int err, const char *syscall) {
  return throw_code(env, FX_ERROR, fx_errno_name(err), err, syscall, "%s: %s", syscall, strerror(err));
}

/* A napi_* call that did not return napi_ok: throws an ERR_FASTIPC_NAPI error naming
 * `what` (up to its first '(') and Node-API's reason, unless an exception is pending
 * already (a JS callback's, say): that one is the error. Returns NULL. */
void *fx_napi_failed(napi_env env, const char *what);

/* Makes a napi_* call; on any status but napi_ok it throws (fx_napi_failed) and returns
 * NULL from the calling function. */
#define NAPI_CALL(env, call)                                  \
  do {                                                        \
    if ((call) != napi_ok) return fx_napi_failed(env, #call); \
  } while (0)

/* The same as an expression, for a caller that has to clean up first: true when the call
 * failed (and threw). */
#define NAPI_FAILED(env, call) ((call) != napi_ok && !fx_napi_failed(env, #call))

/* ---- arguments (args.c) ---- */
typedef enum {
  FX_ARG_WORD,             /* two arguments, an Int32Array or Uint32Array and an index: .word (.value: the view) */
  FX_ARG_INT,              /* a number that is an integer in [lo, hi]: .i */
  FX_ARG_NUMBER,           /* any number: .d */
  FX_ARG_BUFFER,           /* an ArrayBuffer: .value */
  FX_ARG_FUNCTION,         /* a function: .value */
  FX_ARG_FUNCTION_OR_NULL, /* a function, or null or undefined (then .value is NULL) */
} fx_arg_kind;

typedef struct {
  fx_arg_kind kind;
  const char *name; /* for the messages */
  double lo, hi;    /* FX_ARG_INT's bounds */
} fx_arg_spec;

typedef struct {
  napi_value value;
  uint32_t *word;
  int64_t i;
  double d;
} fx_arg;

/* The entries of a spec */
#define FX_WORD(name_) ((fx_arg_spec){.kind = FX_ARG_WORD, .name = (name_)})
#define FX_INT(name_, lo_, hi_) ((fx_arg_spec){.kind = FX_ARG_INT, .name = (name_), .lo = (lo_), .hi = (hi_)})
#define FX_NUMBER(name_) ((fx_arg_spec){.kind = FX_ARG_NUMBER, .name = (name_)})
#define FX_BUFFER(name_) ((fx_arg_spec){.kind = FX_ARG_BUFFER, .name = (name_)})
#define FX_FUNCTION(name_) ((fx_arg_spec){.kind = FX_ARG_FUNCTION, .name = (name_)})
#define FX_FUNCTION_OR_NULL(name_) ((fx_arg_spec){.kind = FX_ARG_FUNCTION_OR_NULL, .name = (name_)})

#define FX_MAX_ARGS 8 /* JS arguments, an FX_ARG_WORD counting two */

/* The one argument helper: fetches the call's arguments and checks them against
 * spec[0..n), in order, into out[0..n). False after throwing a TypeError or RangeError
 * ("fastipc: too few arguments", "fastipc: timeout must be a number", ...). */
bool fx_get_args(napi_env env, napi_callback_info info, const fx_arg_spec *spec, size_t n, fx_arg *out);

/* fx_get_args with the spec written in place, one fx_arg in `out` (an array) per entry:
 *   fx_arg a[2];
 *   if (!FX_GET_ARGS(env, info, a, FX_INT("fd", 0, INT_MAX), FX_INT("op", 0, 7))) return NULL; */
#define FX_GET_ARGS(env, info, out, ...)                                                                           \
  __extension__({                                                                                                  \
    const fx_arg_spec fx_spec_[] = {__VA_ARGS__};                                                                  \
    _Static_assert(sizeof fx_spec_ / sizeof fx_spec_[0] == sizeof(out) / sizeof((out)[0]), "one fx_arg per spec"); \
    fx_get_args(env, info, fx_spec_, sizeof fx_spec_ / sizeof fx_spec_[0], out);                                   \
  })

/* Results; each returns NULL after throwing. */
napi_value fx_int(napi_env env, int64_t v);
napi_value fx_bool(napi_env env, bool v);
napi_value fx_latin1(napi_env env, const char *s);

/* ---- the exports of each file: NULL-terminated tables, exported by module.c ---- */
typedef struct {
  const char *name;
  napi_callback fn;
} fx_function;
extern const fx_function fx_futex_functions[], fx_memory_functions[], fx_process_functions[], fx_error_functions[];

/* futex.c: before memory at [base, base + len) is unmapped, completes its waits FX_CLOSED */
void fx_async_close_range(napi_env env, void *base, size_t len);
#endif
