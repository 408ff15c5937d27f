// A small thread pool for the executor's short parallel regions (a decode step runs ~170 of them, each
// 50-500 us). Workers spin briefly for the next region, then sleep on a condition variable, so a quiet
// machine gets llama.cpp-like hand-off latency while a loaded one does not burn its cores.
//
// Protocol: one 64-bit ticket = (generation << 32) | next task index. The caller publishes a region by
// storing (g, BLOCKED), writing the task, then storing (g, 0); workers claim indices with CAS on the ticket,
// so a worker that lags behind can never run a task of a later region.
#include "CKernels.h"
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#if defined(__x86_64__)
#include <immintrin.h>
#define RELAX() _mm_pause()
#else
#define RELAX() ((void)0)
#endif

#define BLOCKED 0xFFFFFFFFull
#define MAX_WORKERS 63
#define SPIN 4000

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t run_mu = PTHREAD_MUTEX_INITIALIZER;   // one region at a time
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static _Atomic uint64_t ticket = 0;
static _Atomic long done_count = 0;
static _Atomic int sleepers = 0;
static int workers = 0;
// Written by the caller while the ticket is BLOCKED, read by workers after they see the region published; atomics
// (relaxed: the ticket's release/acquire orders them) because a lagging worker may read them while the next
// region's caller writes them — it then never runs a task with them (its claim on the old ticket fails), but the
// plain read would still be a data race.
static _Atomic(omni_task_fn) task_fn;
static _Atomic(void *) task_ctx;
static _Atomic long task_count;

static inline uint64_t gen_of(uint64_t t) { return t >> 32; }
static inline uint64_t idx_of(uint64_t t) { return t & 0xFFFFFFFFull; }

static void run(uint64_t gen, omni_task_fn fn, void *ctx, long n) {
    for (;;) {
        uint64_t t = atomic_load(&ticket);
        if (gen_of(t) != gen || idx_of(t) >= (uint64_t)n) return;
        if (!atomic_compare_exchange_weak(&ticket, &t, t + 1)) continue;
        fn(ctx, (long)idx_of(t));
        atomic_fetch_add(&done_count, 1);
    }
}

static void *worker(void *arg) {
    (void)arg;
    uint64_t seen = 0;
    for (;;) {
        uint64_t t;
        int spins = 0;
        while (gen_of(t = atomic_load_explicit(&ticket, memory_order_acquire)) == seen || idx_of(t) == BLOCKED) {
            if (++spins < SPIN) { RELAX(); continue; }
            pthread_mutex_lock(&mu);
            atomic_fetch_add(&sleepers, 1);
            while (gen_of(t = atomic_load(&ticket)) == seen || idx_of(t) == BLOCKED) pthread_cond_wait(&cv, &mu);
            atomic_fetch_sub(&sleepers, 1);
            pthread_mutex_unlock(&mu);
            break;
        }
        seen = gen_of(t);
        // The task fields were written before (seen, 0) was published with release order.
        omni_task_fn fn = atomic_load_explicit(&task_fn, memory_order_relaxed);
        void *ctx = atomic_load_explicit(&task_ctx, memory_order_relaxed);
        long n = atomic_load_explicit(&task_count, memory_order_relaxed);
        if (gen_of(atomic_load(&ticket)) == seen) run(seen, fn, ctx, n);
    }
    return 0;
}

static void ensure_workers(int want) {
    if (want > MAX_WORKERS) want = MAX_WORKERS;
    while (workers < want) {
        pthread_t th;
        if (pthread_create(&th, 0, worker, 0) != 0) return;
        pthread_detach(th);
        workers++;
    }
}

void omni_pool_run(long n, omni_task_fn fn, void *ctx, int threads) {
    if (n <= 0) return;
    if (n == 1 || threads <= 1) { for (long i = 0; i < n; i++) fn(ctx, i); return; }
    pthread_mutex_lock(&run_mu);
    ensure_workers(threads - 1);
    uint64_t gen = gen_of(atomic_load(&ticket)) + 1;
    atomic_store(&ticket, (gen << 32) | BLOCKED);
    atomic_store_explicit(&task_fn, fn, memory_order_relaxed);
    atomic_store_explicit(&task_ctx, ctx, memory_order_relaxed);
    atomic_store_explicit(&task_count, n, memory_order_relaxed);
    atomic_store(&done_count, 0);
    atomic_store_explicit(&ticket, gen << 32, memory_order_release);
    if (atomic_load(&sleepers) > 0) {
        pthread_mutex_lock(&mu);
        pthread_cond_broadcast(&cv);
        pthread_mutex_unlock(&mu);
    }
    run(gen, fn, ctx, n);
    int spins = 0;
    while (atomic_load(&done_count) < n) {
        if (++spins < SPIN) RELAX(); else sched_yield();
    }
    pthread_mutex_unlock(&run_mu);
}
