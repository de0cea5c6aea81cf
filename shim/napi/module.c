/* The addon's entry point: makes the per-env instance data (glue.h's fx_instance) and
 * exports every glue file's functions. */
#include <errno.h>
#include <stdlib.h>

#include "glue.h"

fx_instance *fx_instance_of(napi_env env) {
  void *data = NULL;
  return napi_get_instance_data(env, &data) == napi_ok ? data : NULL;
}

fx_instance *fx_instance_or_throw(napi_env env) {
  fx_instance *inst = fx_instance_of(env);
  if (!inst) throw_code(env, FX_ERROR, "ERR_FASTIPC_NAPI", 0, NULL, "the addon has no instance data");
  return inst;
}

/* At the env's teardown, after every cleanup hook (futex.c's teardown among them). The
 * error class's reference goes with the env, as every reference does. */
static void free_instance(napi_env env, void *data, void *hint) { free(data); }

NAPI_MODULE_INIT() {
  if (!fx_instance_of(env)) {
    fx_instance *inst = calloc(1, sizeof *inst);
    if (!inst) return throw_errno(env, ENOMEM, "calloc");
    if (NAPI_FAILED(env, napi_set_instance_data(env, inst, free_instance, NULL))) {
      free(inst);
      return NULL;
    }
  }
  static const fx_function *const files[] = {fx_futex_functions, fx_memory_functions, fx_process_functions,
                                             fx_error_functions};
  for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
    for (const fx_function *f = files[i]; f->name; f++) {
      napi_value fn;
      NAPI_CALL(env, napi_create_function(env, f->name, NAPI_AUTO_LENGTH, f->fn, NULL, &fn));
      NAPI_CALL(env, napi_set_named_property(env, exports, f->name, fn));
    }
  }
  return exports;
}
