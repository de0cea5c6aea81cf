/*
 * C baselines of bench/sync.bench.mjs, two processes (fork) over one MAP_SHARED mapping,
 * with pthread's process-shared objects:
 *
 *   sync condq N     producer/consumer: N ints through a bounded queue (capacity 8)
 *                    guarded by a pthread_mutex_t and two pthread_cond_t (not empty,
 *                    not full), as the Node side does with Mutex + 2 Conditions
 *   sync rwlock N P  both processes do N operations on a pthread_rwlock_t: P of every
 *                    100 take it to write (counter++), the others to read (the counter)
 *
 * Prints one line: "<M per second> <check>" (items or operations per second, both
 * processes together for rwlock, from a start barrier to the last finish; check: the
 * sum received, or the final counter). Build: cc -O2 -pthread -o sync sync.c
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define CAP 8

struct shared {
  pthread_mutex_t m;
  pthread_cond_t not_empty, not_full;
  pthread_rwlock_t rw;
  int ring[CAP];
  int head, tail, count;
  long long sum;
  long counter;
  atomic_int ready;
  atomic_long t_begin[2], t_end[2];
};

static long now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000000000L + ts.tv_nsec;
}

static void start_barrier(struct shared *s, int me) {
  atomic_fetch_add(&s->ready, 1);
  while (atomic_load(&s->ready) < 2) {
  }
  /* each notes its own start: the span is from the earlier (one descheduled right after
   * the barrier would otherwise start the clock late) */
  atomic_store(&s->t_begin[me], now_ns());
}

static void producer(struct shared *s, int n) {
  for (int i = 1; i <= n; i++) {
    pthread_mutex_lock(&s->m);
    while (s->count == CAP) pthread_cond_wait(&s->not_full, &s->m);
    s->ring[s->tail] = i;
    s->tail = (s->tail + 1) % CAP;
    s->count++;
    pthread_cond_signal(&s->not_empty);
    pthread_mutex_unlock(&s->m);
  }
}

static void consumer(struct shared *s, int n) {
  long long sum = 0;
  for (int i = 0; i < n; i++) {
    pthread_mutex_lock(&s->m);
    while (s->count == 0) pthread_cond_wait(&s->not_empty, &s->m);
    sum += s->ring[s->head];
    s->head = (s->head + 1) % CAP;
    s->count--;
    pthread_cond_signal(&s->not_full);
    pthread_mutex_unlock(&s->m);
  }
  s->sum = sum;
}

static void rw_worker(struct shared *s, int n, int pct) {
  long seen = 0;
  for (int i = 0; i < n; i++) {
    if (i % 100 < pct) {
      pthread_rwlock_wrlock(&s->rw);
      s->counter++;
      pthread_rwlock_unlock(&s->rw);
    } else {
      pthread_rwlock_rdlock(&s->rw);
      seen += s->counter;
      pthread_rwlock_unlock(&s->rw);
    }
  }
  if (seen < 0) puts("");
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: sync condq N | sync rwlock N P\n");
    return 2;
  }
  int n = atoi(argv[2]);
  int rw = strcmp(argv[1], "rwlock") == 0;
  int pct = argc > 3 ? atoi(argv[3]) : 5;
  struct shared *s = mmap(NULL, sizeof *s, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (s == MAP_FAILED) return 1;
  memset(s, 0, sizeof *s);
  pthread_mutexattr_t ma;
  pthread_mutexattr_init(&ma);
  pthread_mutexattr_setpshared(&ma, PTHREAD_PROCESS_SHARED);
  pthread_mutex_init(&s->m, &ma);
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setpshared(&ca, PTHREAD_PROCESS_SHARED);
  pthread_cond_init(&s->not_empty, &ca);
  pthread_cond_init(&s->not_full, &ca);
  pthread_rwlockattr_t ra;
  pthread_rwlockattr_init(&ra);
  pthread_rwlockattr_setpshared(&ra, PTHREAD_PROCESS_SHARED);
  pthread_rwlock_init(&s->rw, &ra);
  pid_t child = fork();
  int me = child == 0 ? 1 : 0;
  start_barrier(s, me);
  if (rw)
    rw_worker(s, n, pct);
  else if (me == 0)
    producer(s, n);
  else
    consumer(s, n);
  atomic_store(&s->t_end[me], now_ns());
  if (child == 0) _exit(0);
  waitpid(child, NULL, 0);
  long end = s->t_end[0] > s->t_end[1] ? s->t_end[0] : s->t_end[1];
  long begin = s->t_begin[0] < s->t_begin[1] ? s->t_begin[0] : s->t_begin[1];
  double secs = (end - begin) / 1e9;
  double per_s = (rw ? 2.0 * n : n) / secs / 1e6;
  printf("%.4f %lld\n", per_s, rw ? (long long)s->counter : s->sum);
  return 0;
}
