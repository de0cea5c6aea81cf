/* Node-API glue for futex words: futexWait and futexWake (sys/futex.c), and the async
 * waits (waitAsyncInit, waitAsync, waitAsyncCancel, waitAsyncMode) on the waiter threads
 * of sys/waiter.c, delivered to JS through a thread-safe function. */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>

#include "glue.h"

/* futexWait(view, index, expected, timeoutMs) -> 'ok' | 'not-equal' | 'timed-out' */
static napi_value futex_wait(napi_env env, napi_callback_info info) {
  fx_arg a[3];
  if (!FX_GET_ARGS(env, info, a, FX_WORD("index"), FX_INT("expected", INT32_MIN, UINT32_MAX), FX_NUMBER("timeout")))
    return NULL;
  int rc = fx_futex_wait(a[0].word, (uint32_t)a[1].i, a[2].d);
  if (rc < 0) return throw_errno(env, -rc, "futex_wait");
  static const char *names[] = {"ok", "not-equal", "timed-out"};
  return fx_latin1(env, names[rc]);
}

/* futexWake(view, index, count) -> number woken */
static napi_value futex_wake(napi_env env, napi_callback_info info) {
  fx_arg a[2];
  if (!FX_GET_ARGS(env, info, a, FX_WORD("index"), FX_NUMBER("count"))) return NULL;
  double count = a[1].d;
  int n = !(count >= 0) ? 0 : count >= INT_MAX ? INT_MAX : (int)count;
  int rc = fx_futex_wake(a[0].word, n);
  if (rc < 0) return throw_errno(env, -rc, "futex_wake");
  return fx_int(env, rc);
}

/* ---- async waits: waiter.c's threads, delivered to JS through a thread-safe function ---- */

struct fx_async {
  napi_env env;
  fx_instance *instance;
  fx_waiters *waiters;
  napi_threadsafe_function tsfn;
  uint32_t pending;    /* waits started and not yet delivered or cancelled */
  napi_ref *callbacks; /* one per copy of the library loaded in this thread */
  uint32_t ncallbacks;
};

/* What a pending wait keeps: its memory (so it cannot be collected while the waiter
 * thread watches it) and which callback to report to. */
typedef struct {
  napi_ref memory;
  uint32_t channel;
} wait_user;

static fx_async *get_async(napi_env env) {
  fx_instance *inst = fx_instance_of(env);
  return inst ? inst->async : NULL;
}

/* The thread-safe function keeps the event loop alive only while a wait is pending, as a
 * pending timer does. On the JS thread; false after throwing. */
static bool pending_add(napi_env env, fx_async *c, int delta) {
  uint32_t before = c->pending;
  c->pending += delta;
  if (before == 0 && c->pending > 0) return !NAPI_FAILED(env, napi_ref_threadsafe_function(env, c->tsfn));
  if (before > 0 && c->pending == 0) return !NAPI_FAILED(env, napi_unref_threadsafe_function(env, c->tsfn));
  return true;
}

/* On a waiter thread, which has no env to throw on. The call fails only with napi_closing,
 * once the env is being torn down: then there is nothing left to deliver to. */
static void notify_js(void *arg) {
  (void)napi_call_threadsafe_function(((fx_async *)arg)->tsfn, NULL, napi_tsfn_nonblocking);
}

/* Moves a pending exception, if any, into *first unless that holds one already. */
static void keep_exception(napi_env env, napi_value *first) {
  bool pending = false;
  napi_value e;
  if (napi_is_exception_pending(env, &pending) == napi_ok && pending &&
      napi_get_and_clear_last_exception(env, &e) == napi_ok && !*first)
    *first = e;
}

/* On the JS thread: hand every completion to its channel's callback as (id, code). Every
 * completion taken is delivered and freed whatever happens to the others: an exception (a
 * callback's, or a failed Node-API call's) is kept while the batch goes on, and the first
 * one surfaces at the end. */
static void deliver(napi_env env, napi_value js_cb, void *context, void *data) {
  fx_async *c = context;
  if (!env) return; /* tearing down */
  napi_value first_error = NULL, undefined = NULL;
  if (NAPI_FAILED(env, napi_get_undefined(env, &undefined))) keep_exception(env, &first_error);
  for (fx_completion *done = fx_waiters_take(c->waiters), *next; done; done = next) {
    next = done->next;
    wait_user *u = done->user;
    if (NAPI_FAILED(env, napi_delete_reference(env, u->memory))) keep_exception(env, &first_error);
    if (!pending_add(env, c, -1)) keep_exception(env, &first_error);
    napi_value argv[2], fn = NULL;
    if (NAPI_FAILED(env, napi_create_uint32(env, done->id, &argv[0])) ||
        NAPI_FAILED(env, napi_create_int32(env, done->code, &argv[1])) ||
        NAPI_FAILED(env, napi_get_reference_value(env, c->callbacks[u->channel], &fn)) ||
        (fn && NAPI_FAILED(env, napi_call_function(env, undefined, fn, 2, argv, NULL))))
      keep_exception(env, &first_error);
    free(u);
    fx_completion_free(done);
  }
  /* Called by Node with nothing to return to: if even the throw fails, nothing is left. */
  if (first_error) (void)napi_throw(env, first_error);
}

static void drop_ref(void *user, void *arg) { free(user); /* the env takes its references along */ }

/* The env's cleanup hook (and start_async's undo): no exception can be thrown from here. */
static void teardown(void *arg) {
  fx_async *c = arg;
  c->instance->async = NULL;                   /* a late call finds no waiter */
  fx_waiters_free(c->waiters, drop_ref, NULL); /* joins the waiter threads first */
  /* fails only for a thread-safe function released already */
  (void)napi_release_threadsafe_function(c->tsfn, napi_tsfn_abort);
  free(c->callbacks);
  free(c);
}

/* The waiter and its thread-safe function, once per JS thread; NULL after throwing. */
static fx_async *start_async(napi_env env, fx_instance *inst) {
  napi_value name;
  NAPI_CALL(env, napi_create_string_utf8(env, "fastipc waiter", NAPI_AUTO_LENGTH, &name));
  fx_async *c = calloc(1, sizeof *c);
  if (!c || !(c->waiters = fx_waiters_new(notify_js, c))) {
    free(c);
    throw_code(env, FX_ERROR, fx_errno_name(ENOMEM), ENOMEM, "waitAsyncInit", "cannot start the async waiter: %s",
               strerror(ENOMEM));
    return NULL;
  }
  c->env = env;
  c->instance = inst;
  if (NAPI_FAILED(env,
                  napi_create_threadsafe_function(env, NULL, NULL, name, 0, 1, NULL, NULL, c, deliver, &c->tsfn))) {
    fx_waiters_free(c->waiters, drop_ref, NULL);
    free(c);
    return NULL;
  }
  /* the cleanup hook is added after the tsfn's own: it runs before it */
  if (NAPI_FAILED(env, napi_unref_threadsafe_function(env, c->tsfn)) ||
      NAPI_FAILED(env, napi_add_env_cleanup_hook(env, teardown, c))) {
    teardown(c);
    return NULL;
  }
  inst->async = c;
  return c;
}

/* waitAsyncInit(callback(id, code)) -> channel: once per copy of the library in a JS
 * thread (an ESM and a CJS copy, or jest's per-file module registries, each get theirs). */
static napi_value wait_async_init(napi_env env, napi_callback_info info) {
  fx_arg a[1];
  if (!FX_GET_ARGS(env, info, a, FX_FUNCTION("callback"))) return NULL;
  fx_instance *inst = fx_instance_or_throw(env);
  if (!inst) return NULL;
  fx_async *c = inst->async ? inst->async : start_async(env, inst);
  if (!c) return NULL;
  napi_ref *grown = realloc(c->callbacks, (c->ncallbacks + 1) * sizeof *grown);
  if (!grown) return throw_errno(env, ENOMEM, "waitAsyncInit");
  c->callbacks = grown;
  NAPI_CALL(env, napi_create_reference(env, a[0].value, 1, &c->callbacks[c->ncallbacks]));
  return fx_int(env, c->ncallbacks++);
}

/* waitAsync(view, index, expected, timeoutMs, id, channel) -> 0 started (the channel's
 * callback gets (id, code) later), 1 'not-equal' now */
static napi_value wait_async(napi_env env, napi_callback_info info) {
  fx_async *c = get_async(env);
  if (!c) return throw_code(env, FX_ERROR, "ERR_FASTIPC_NO_CHANNEL", 0, NULL, "waitAsync needs waitAsyncInit first");
  fx_arg a[5];
  if (!FX_GET_ARGS(env, info, a, FX_WORD("index"), FX_INT("expected", INT32_MIN, UINT32_MAX), FX_NUMBER("timeout"),
                   FX_INT("id", 0, UINT32_MAX), FX_INT("channel", 0, c->ncallbacks - 1.0)))
    return NULL;
  wait_user *u = malloc(sizeof *u);
  if (!u) return throw_errno(env, ENOMEM, "waitAsync");
  u->channel = (uint32_t)a[4].i;
  if (NAPI_FAILED(env, napi_create_reference(env, a[0].value, 1, &u->memory))) {
    free(u);
    return NULL;
  }
  int rc = fx_waiters_add(c->waiters, a[0].word, (uint32_t)a[1].i, a[2].d, (uint32_t)a[3].i, u);
  if (rc != 0) {
    bool failed = NAPI_FAILED(env, napi_delete_reference(env, u->memory));
    free(u);
    if (failed) return NULL;
    if (rc < 0) return throw_errno(env, -rc, "waitAsync");
    return fx_int(env, rc);
  }
  /* Started: should what follows throw, the wait still completes into its callback (which
   * knows no such id) and lets its memory go then. */
  if (!pending_add(env, c, 1)) return NULL;
  return fx_int(env, 0);
}

/* waitAsyncCancel(id) -> true if it was still pending (no callback will come). Ids are
 * unique per thread: the JS side draws them from one counter per channel, channel in the
 * top 12 bits. */
static napi_value wait_async_cancel(napi_env env, napi_callback_info info) {
  fx_arg a[1];
  if (!FX_GET_ARGS(env, info, a, FX_INT("id", 0, UINT32_MAX))) return NULL;
  fx_async *c = get_async(env);
  void *user = NULL;
  int found = c && fx_waiters_cancel(c->waiters, (uint32_t)a[0].i, &user);
  if (found) {
    bool deleted = !NAPI_FAILED(env, napi_delete_reference(env, ((wait_user *)user)->memory));
    free(user);
    bool counted = pending_add(env, c, -1); /* even after a failure: the count must stay right */
    if (!deleted || !counted) return NULL;
  }
  return fx_bool(env, found);
}

/* waitAsyncMode() -> 'futex_waitv' | 'futex_wait': how this thread's async waits sleep
 * (the second without futex_waitv: Linux < 5.16, or a seccomp profile that refuses it). */
static napi_value wait_async_mode(napi_env env, napi_callback_info info) {
  fx_async *c = get_async(env);
  int fallback = c ? fx_waiters_fallback(c->waiters) : fx_waitv_supported() < 0;
  return fx_latin1(env, fallback ? "futex_wait" : "futex_waitv");
}

void fx_async_close_range(napi_env env, void *base, size_t len) {
  fx_async *c = get_async(env);
  if (c) fx_waiters_close_range(c->waiters, base, len);
}

const fx_function fx_futex_functions[] = {
    {"futexWait", futex_wait},
    {"futexWake", futex_wake},
    {"waitAsyncInit", wait_async_init},
    {"waitAsync", wait_async},
    {"waitAsyncCancel", wait_async_cancel},
    {"waitAsyncMode", wait_async_mode},
    {NULL, NULL},
};
