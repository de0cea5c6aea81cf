/* The one argument helper of the glue (fx_get_args: a call's arguments, fetched and
 * checked against a spec), and the helpers that turn results into JS values. */
#include <math.h>

#include "glue.h"

/* A number argument; TypeError when it is not one. */
static bool get_number(napi_env env, napi_value v, const char *name, double *out) {
  if (napi_get_value_double(env, v, out) == napi_ok) return true;
  throw_code(env, FX_TYPE_ERROR, NULL, 0, NULL, "%s must be a number", name);
  return false;
}

/* An integer argument within [lo, hi], read through a double so that values past 32 bits
 * are rejected rather than silently truncated. */
static bool get_int(napi_env env, napi_value v, const char *name, double lo, double hi, int64_t *out) {
  double d;
  if (!get_number(env, v, name, &d)) return false;
  if (!(d >= lo && d <= hi) || d != floor(d)) {
    throw_code(env, FX_RANGE_ERROR, NULL, 0, NULL, "%s must be an integer in [%.0f, %.0f]", name, lo, hi);
    return false;
  }
  *out = (int64_t)d;
  return true;
}

/* The 32-bit word at `index` of an Int32Array or Uint32Array, bounds-checked; a detached
 * or closed buffer has length 0 and fails here instead of faulting. */
static bool get_word(napi_env env, napi_value view, napi_value index, const char *name, uint32_t **out) {
  napi_typedarray_type type;
  size_t length;
  void *data;
  bool is_typed = false;
  if (NAPI_FAILED(env, napi_is_typedarray(env, view, &is_typed))) return false;
  if (!is_typed || napi_get_typedarray_info(env, view, &type, &length, &data, NULL, NULL) != napi_ok ||
      (type != napi_int32_array && type != napi_uint32_array)) {
    throw_code(env, FX_TYPE_ERROR, NULL, 0, NULL, "expected an Int32Array or Uint32Array");
    return false;
  }
  int64_t i;
  if (!get_int(env, index, name, 0, 4294967295.0, &i)) return false;
  if (data == NULL || (size_t)i >= length) {
    throw_code(env, FX_RANGE_ERROR, "ERR_OUT_OF_RANGE", 0, NULL, "word index out of range (is the memory closed?)");
    return false;
  }
  *out = (uint32_t *)data + i;
  return true;
}

static bool get_function(napi_env env, napi_value v, const char *name, bool or_null, napi_value *out) {
  napi_valuetype type;
  if (NAPI_FAILED(env, napi_typeof(env, v, &type))) return false;
  if (or_null && (type == napi_null || type == napi_undefined)) {
    *out = NULL;
    return true;
  }
  if (type == napi_function) {
    *out = v;
    return true;
  }
  throw_code(env, FX_TYPE_ERROR, NULL, 0, NULL, "%s must be a function%s", name, or_null ? " or null" : "");
  return false;
}

static bool get_buffer(napi_env env, napi_value v) {
  bool is_ab = false;
  if (NAPI_FAILED(env, napi_is_arraybuffer(env, v, &is_ab))) return false;
  if (is_ab) return true;
  throw_code(env, FX_TYPE_ERROR, NULL, 0, NULL, "expected an ArrayBuffer");
  return false;
}

bool fx_get_args(napi_env env, napi_callback_info info, const fx_arg_spec *spec, size_t n, fx_arg *out) {
  size_t want = 0;
  for (size_t k = 0; k < n; k++) want += spec[k].kind == FX_ARG_WORD ? 2 : 1;
  napi_value argv[FX_MAX_ARGS];
  size_t argc = FX_MAX_ARGS;
  if (NAPI_FAILED(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL))) return false;
  if (argc < want || want > FX_MAX_ARGS) {
    throw_code(env, FX_TYPE_ERROR, NULL, 0, NULL, "too few arguments");
    return false;
  }
  napi_value *arg = argv;
  for (size_t k = 0; k < n; k++) {
    const fx_arg_spec *s = &spec[k];
    fx_arg *o = &out[k];
    o->value = *arg++;
    bool ok = true;
    switch (s->kind) {
      case FX_ARG_WORD: ok = get_word(env, o->value, *arg++, s->name, &o->word); break;
      case FX_ARG_INT: ok = get_int(env, o->value, s->name, s->lo, s->hi, &o->i); break;
      case FX_ARG_NUMBER: ok = get_number(env, o->value, s->name, &o->d); break;
      case FX_ARG_FUNCTION: ok = get_function(env, o->value, s->name, false, &o->value); break;
      case FX_ARG_FUNCTION_OR_NULL: ok = get_function(env, o->value, s->name, true, &o->value); break;
      case FX_ARG_BUFFER: ok = get_buffer(env, o->value); break;
    }
    if (!ok) return false;
  }
  return true;
}

napi_value fx_int(napi_env env, int64_t v) {
  napi_value out;
  NAPI_CALL(env, napi_create_int64(env, v, &out));
  return out;
}

napi_value fx_bool(napi_env env, bool v) {
  napi_value out;
  NAPI_CALL(env, napi_get_boolean(env, v, &out));
  return out;
}

napi_value fx_latin1(napi_env env, const char *s) {
  napi_value out;
  NAPI_CALL(env, napi_create_string_latin1(env, s, NAPI_AUTO_LENGTH, &out));
  return out;
}
