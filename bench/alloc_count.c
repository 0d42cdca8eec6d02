/* Allocation-call counter for bench/run.sh (ALLOCS=1): an LD_PRELOAD shim that
 * counts every call of malloc, calloc, realloc, memalign, posix_memalign,
 * aligned_alloc, valloc and pvalloc in the process (operator new reaches
 * malloc through libstdc++, so it is counted too; free is not counted).
 *
 * On SIGUSR2 it appends the count so far, as one decimal line, to the file
 * named by ALLOC_COUNT_FILE (the handler only calls write(2): no allocation,
 * async-signal-safe). github-proxy does not use SIGUSR2 (it handles SIGTERM,
 * SIGINT and SIGHUP). run.sh signals before and after a run of revalidated
 * hits and divides the difference by the number of hits.
 *
 * Built by run.sh with the system compiler:
 *   cc -O2 -shared -fPIC -o alloc_count.so bench/alloc_count.c
 * The real allocator is glibc's, reached through its __libc_* entry points
 * (no dlsym, which itself allocates).
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

extern void* __libc_malloc(size_t);
extern void* __libc_calloc(size_t, size_t);
extern void* __libc_realloc(void*, size_t);
extern void* __libc_memalign(size_t, size_t);
extern void* __libc_valloc(size_t);
extern void* __libc_pvalloc(size_t);

static atomic_ulong calls;
static int out_fd = -1;

static inline void count(void) { atomic_fetch_add_explicit(&calls, 1, memory_order_relaxed); }

void* malloc(size_t n) { count(); return __libc_malloc(n); }
void* calloc(size_t n, size_t size) { count(); return __libc_calloc(n, size); }
void* realloc(void* p, size_t n) { count(); return __libc_realloc(p, n); }
void* memalign(size_t align, size_t n) { count(); return __libc_memalign(align, n); }
void* aligned_alloc(size_t align, size_t n) { count(); return __libc_memalign(align, n); }
void* valloc(size_t n) { count(); return __libc_valloc(n); }
void* pvalloc(size_t n) { count(); return __libc_pvalloc(n); }
int posix_memalign(void** p, size_t align, size_t n) {
  count();
  if (align < sizeof(void*) || (align & (align - 1)) != 0) return 22; /* EINVAL */
  void* r = __libc_memalign(align, n);
  if (r == NULL) return 12; /* ENOMEM */
  *p = r;
  return 0;
}

static void report(int signo) {
  (void)signo;
  if (out_fd < 0) return;
  char buf[32];
  int i = sizeof buf;
  buf[--i] = '\n';
  unsigned long v = atomic_load_explicit(&calls, memory_order_relaxed);
  do {
    buf[--i] = (char)('0' + v % 10);
    v /= 10;
  } while (v != 0 && i > 0);
  ssize_t ignored = write(out_fd, buf + i, sizeof buf - (size_t)i);
  (void)ignored;
}

__attribute__((constructor)) static void init(void) {
  const char* file = getenv("ALLOC_COUNT_FILE");
  if (file == NULL || *file == '\0') return;
  out_fd = open(file, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = report;
  sa.sa_flags = SA_RESTART;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGUSR2, &sa, NULL);
}
