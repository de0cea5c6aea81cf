/* The one error constructor of the glue (throw_code), what a failed Node-API call throws,
 * and setErrorClass, which lets the JS side have its system and state errors made by its
 * own class. System errors carry `code` ('ENOENT', ...), `errno` and `syscall`, as Node's
 * own system errors do. */
#include <stdarg.h>
#include <stdio.h>

#include "glue.h"

#define PREFIX "fastipc: "

/* new ErrorClass(code, message), or NULL when there is no class (or it threw: then the
 * plain error is made instead, and the class's exception is dropped). */
static napi_value from_class(napi_env env, const char *code, const char *message) {
  fx_instance *inst = fx_instance_of(env);
  napi_value ctor = NULL, argv[2], error;
  if (!code || !inst || !inst->error_class || napi_get_reference_value(env, inst->error_class, &ctor) != napi_ok ||
      !ctor || napi_create_string_utf8(env, code, NAPI_AUTO_LENGTH, &argv[0]) != napi_ok ||
      napi_create_string_utf8(env, message, NAPI_AUTO_LENGTH, &argv[1]) != napi_ok)
    return NULL;
  if (napi_new_instance(env, ctor, 2, argv, &error) == napi_ok) return error;
  napi_value dropped; /* if even this fails, the class's exception is the one that surfaces */
  (void)napi_get_and_clear_last_exception(env, &dropped);
  return NULL;
}

/* A plain TypeError, RangeError or Error with `code` (when there is one). */
static napi_value plain(napi_env env, fx_error_kind kind, const char *code, const char *message) {
  napi_value js_code = NULL, js_message, error;
  if ((code && napi_create_string_utf8(env, code, NAPI_AUTO_LENGTH, &js_code) != napi_ok) ||
      napi_create_string_utf8(env, message, NAPI_AUTO_LENGTH, &js_message) != napi_ok)
    return NULL;
  napi_status status = kind == FX_TYPE_ERROR    ? napi_create_type_error(env, js_code, js_message, &error)
                       : kind == FX_RANGE_ERROR ? napi_create_range_error(env, js_code, js_message, &error)
                                                : napi_create_error(env, js_code, js_message, &error);
  return status == napi_ok ? error : NULL;
}

static bool set_string(napi_env env, napi_value object, const char *key, const char *value) {
  napi_value v;
  return napi_create_string_utf8(env, value, NAPI_AUTO_LENGTH, &v) == napi_ok &&
         napi_set_named_property(env, object, key, v) == napi_ok;
}

napi_value throw_code(napi_env env, fx_error_kind kind, const char *code, int err, const char *syscall, const char *fmt,
                      ...) {
  bool pending = true;
  if (napi_is_exception_pending(env, &pending) != napi_ok || pending) return NULL;
  char buf[sizeof PREFIX + 320];
  char *message = buf + sizeof PREFIX - 1; /* buf is the message with the prefix */
  memcpy(buf, PREFIX, sizeof PREFIX - 1);
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(message, sizeof buf - (sizeof PREFIX - 1), fmt, ap);
  va_end(ap);

  napi_value error = kind == FX_ERROR ? from_class(env, code, message) : NULL;
  if (!error) error = plain(env, kind, code, buf);
  napi_value errno_value;
  if (error && err != 0 &&
      (napi_create_int32(env, -err, &errno_value) != napi_ok ||
       napi_set_named_property(env, error, "errno", errno_value) != napi_ok ||
       !set_string(env, error, "syscall", syscall ? syscall : "")))
    error = NULL;
  if (error && napi_throw(env, error) == napi_ok) return NULL;
  /* Making the error failed (out of memory, say): the simplest error there is. If even
   * that fails, nothing more can be done here. */
  if (napi_is_exception_pending(env, &pending) == napi_ok && !pending) {
    napi_status ignored = kind == FX_TYPE_ERROR    ? napi_throw_type_error(env, code, buf)
                          : kind == FX_RANGE_ERROR ? napi_throw_range_error(env, code, buf)
                                                   : napi_throw_error(env, code, buf);
    (void)ignored;
  }
  return NULL;
}

void *fx_napi_failed(napi_env env, const char *what) {
  const napi_extended_error_info *info = NULL;
  /* Node-API's messages are static strings: the pointer outlives the next call. */
  const char *why =
      napi_get_last_error_info(env, &info) == napi_ok && info && info->error_message ? info->error_message : "failed";
  const char *paren = strchr(what, '(');
  int len = paren ? (int)(paren - what) : (int)strlen(what);
  throw_code(env, FX_ERROR, "ERR_FASTIPC_NAPI", 0, NULL, "%.*s: %s", len, what, why);
  return NULL;
}

/* setErrorClass(ErrorClass | null): from now on, in this thread (env), system and state
 * errors are `new ErrorClass(code, message)` (message without the "fastipc: " prefix),
 * with `errno` and `syscall` set on it for system errors. null or undefined: plain Errors
 * again. The last call wins, for every copy of the library loaded in the thread. */
static napi_value set_error_class(napi_env env, napi_callback_info info) {
  fx_arg a[1];
  if (!FX_GET_ARGS(env, info, a, FX_FUNCTION_OR_NULL("ErrorClass"))) return NULL;
  fx_instance *inst = fx_instance_or_throw(env);
  if (!inst) return NULL;
  if (inst->error_class) {
    napi_ref old = inst->error_class;
    inst->error_class = NULL;
    NAPI_CALL(env, napi_delete_reference(env, old));
  }
  if (a[0].value) NAPI_CALL(env, napi_create_reference(env, a[0].value, 1, &inst->error_class));
  return NULL;
}

const fx_function fx_error_functions[] = {
    {"setErrorClass", set_error_class},
    {NULL, NULL},
};
