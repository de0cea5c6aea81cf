/*
 * C baselines of bench/native.bench.mjs (issue 15), over one MAP_SHARED mapping; the
 * two-process modes fork.
 *
 *   native mutex N futex|pthread   one thread, N uncontended lock+unlock of a 3-state futex
 *                                  mutex (Drepper's "mutex2", as the bench's JS mutex) or a
 *                                  process-shared pthread_mutex_t: prints ns per pair
 *   native pingpong N              two processes, N round trips of a sleeping futex ping-pong
 *                                  (store + FUTEX_WAKE, FUTEX_WAIT while the peer's word is
 *                                  not there yet; no spin): prints µs per round trip
 *   native semq N                  producer/consumer, two processes: N ints through a ring
 *                                  of 8 counted by two process-shared sem_t (items, spaces):
 *                                  prints M items/s and the sum received
 *   native mq N                    two processes: N 64-byte messages one way through a POSIX
 *                                  message queue (mq_send/mq_receive, 10 messages deep):
 *                                  prints k messages/s and how many came
 *
 * Build: cc -O2 -pthread -o native native.c -lrt
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <linux/futex.h>
#include <mqueue.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct shared {
  atomic_int word;       /* the futex mutex */
  pthread_mutex_t m;     /* pshared */
  atomic_int ping, pong; /* ping-pong sequence words */
  sem_t items, spaces;   /* pshared */
  int ring[8];
  long long sum;
  atomic_int ready;
  atomic_long t_begin[2], t_end[2];
};

static long now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000000000L + ts.tv_nsec;
}

static void futex_wait(atomic_int *w, int v) { syscall(SYS_futex, w, FUTEX_WAIT, v, NULL, NULL, 0); }
static void futex_wake(atomic_int *w, int n) { syscall(SYS_futex, w, FUTEX_WAKE, n, NULL, NULL, 0); }

/* Drepper's mutex2: 0 free, 1 locked, 2 locked with waiters */
static void lock(atomic_int *w) {
  int c = 0;
  if (atomic_compare_exchange_strong(w, &c, 1)) return;
  if (c != 2) c = atomic_exchange(w, 2);
  while (c != 0) {
    futex_wait(w, 2);
    c = atomic_exchange(w, 2);
  }
}
static void unlock(atomic_int *w) {
  if (atomic_fetch_sub(w, 1) != 1) {
    atomic_store(w, 0);
    futex_wake(w, 1);
  }
}

/* both processes past it before either starts; each notes when it started */
static void start_barrier(struct shared *s, int me) {
  atomic_fetch_add(&s->ready, 1);
  while (atomic_load(&s->ready) < 2) {
  }
  atomic_store(&s->t_begin[me], now_ns());
}

static double span_s(struct shared *s) {
  long b = s->t_begin[0] < s->t_begin[1] ? s->t_begin[0] : s->t_begin[1];
  long e = s->t_end[0] > s->t_end[1] ? s->t_end[0] : s->t_end[1];
  return (e - b) / 1e9;
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: native mutex N futex|pthread | pingpong N | semq N | mq N\n");
    return 2;
  }
  const char *mode = argv[1];
  long n = atol(argv[2]);
  struct shared *s = mmap(NULL, sizeof *s, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (s == MAP_FAILED) return 1;
  memset(s, 0, sizeof *s);

  if (strcmp(mode, "mutex") == 0) {
    int use_pthread = argc > 3 && strcmp(argv[3], "pthread") == 0;
    pthread_mutexattr_t ma;
    pthread_mutexattr_init(&ma);
    pthread_mutexattr_setpshared(&ma, PTHREAD_PROCESS_SHARED);
    pthread_mutex_init(&s->m, &ma);
    long t0 = now_ns();
    if (use_pthread)
      for (long i = 0; i < n; i++) {
        pthread_mutex_lock(&s->m);
        pthread_mutex_unlock(&s->m);
      }
    else
      for (long i = 0; i < n; i++) {
        lock(&s->word);
        unlock(&s->word);
      }
    printf("%.4f\n", (double)(now_ns() - t0) / n);
    return 0;
  }

  int semq = strcmp(mode, "semq") == 0, mq = strcmp(mode, "mq") == 0, pp = strcmp(mode, "pingpong") == 0;
  if (!semq && !mq && !pp) {
    fprintf(stderr, "native: unknown mode %s\n", mode);
    return 2;
  }
  char qname[64];
  mqd_t q = (mqd_t)-1;
  if (mq) {
    snprintf(qname, sizeof qname, "/fastipc-bench-%d", (int)getpid());
    struct mq_attr attr = {.mq_maxmsg = 10, .mq_msgsize = 64};
    q = mq_open(qname, O_CREAT | O_EXCL | O_RDWR, 0600, &attr);
    if (q == (mqd_t)-1) {
      perror("mq_open");
      return 1;
    }
    mq_unlink(qname); /* gone from the namespace; both ends keep it open */
  }
  if (semq) {
    sem_init(&s->items, 1, 0);
    sem_init(&s->spaces, 1, 8);
  }
  pid_t child = fork();
  int me = child == 0 ? 1 : 0;
  start_barrier(s, me);
  long got = 0;
  if (pp) {
    /* A pings (ping = i), waits for pong = i; B waits for ping = i, answers */
    atomic_int *mine = me == 0 ? &s->ping : &s->pong, *theirs = me == 0 ? &s->pong : &s->ping;
    for (int i = 1; i <= n; i++) {
      if (me == 0) {
        atomic_store(mine, i);
        futex_wake(mine, 1);
      }
      int v;
      while ((v = atomic_load(theirs)) != i) futex_wait(theirs, v);
      if (me == 1) {
        atomic_store(mine, i);
        futex_wake(mine, 1);
      }
    }
  } else if (semq) {
    if (me == 0)
      for (int i = 1; i <= n; i++) {
        sem_wait(&s->spaces);
        s->ring[i & 7] = i;
        sem_post(&s->items);
      }
    else {
      long long sum = 0;
      for (int i = 1; i <= n; i++) {
        sem_wait(&s->items);
        sum += s->ring[i & 7];
        sem_post(&s->spaces);
      }
      s->sum = sum;
    }
  } else {
    char msg[64] = {0};
    if (me == 0)
      for (long i = 0; i < n; i++) mq_send(q, msg, sizeof msg, 0);
    else
      for (long i = 0; i < n; i++)
        if (mq_receive(q, msg, sizeof msg, NULL) == sizeof msg) got++;
    if (me == 1) s->sum = got;
  }
  atomic_store(&s->t_end[me], now_ns());
  if (child == 0) _exit(0);
  waitpid(child, NULL, 0);
  double secs = span_s(s);
  if (pp)
    printf("%.4f %ld\n", secs * 1e6 / n, n);
  else if (semq)
    printf("%.4f %lld\n", n / secs / 1e6, s->sum);
  else
    printf("%.4f %lld\n", n / secs / 1e3, s->sum);
  return 0;
}
