// Item 6 of "Isolation": a revalidation with another credential derives the
// ETag of a gzip entry without ever holding the inflated body. The proof is
// the allocations themselves: this file replaces the global operator new
// and delete of the unit test binary with ones that forward to malloc/free
// and, while a thread's tracking is on, record the largest single request.
// Outside a tracked span they only forward, so the other tests of the
// binary see the usual allocator.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <new>
#include <string>

#include "cache_test_support.h"
#include "github_proxy/cache/etag.h"
#include "github_proxy/cache/policy.h"

namespace {

// Per thread: the pipeline's revalidation runs on the calling thread, and
// gtest runs one test at a time on its main thread.
thread_local bool tracking = false;
thread_local std::size_t largest_allocation = 0;

void note(std::size_t size) noexcept {
  if (tracking && size > largest_allocation) largest_allocation = size;
}

void* allocate(std::size_t size) noexcept {
  note(size);
  return std::malloc(size == 0 ? 1 : size);
}

void* allocate_aligned(std::size_t size, std::align_val_t alignment) noexcept {
  note(size);
  void* p = nullptr;
  const auto align = std::max(static_cast<std::size_t>(alignment), sizeof(void*));
  if (::posix_memalign(&p, align, size == 0 ? 1 : size) != 0) return nullptr;
  return p;
}

void* or_throw(void* p) {
  if (!p) throw std::bad_alloc();
  return p;
}

}  // namespace

// Every replaceable form (C++17 [new.delete]): plain, array, nothrow,
// aligned, sized. Memory from either family is freed with free().
void* operator new(std::size_t size) { return or_throw(allocate(size)); }
void* operator new[](std::size_t size) { return or_throw(allocate(size)); }
void* operator new(std::size_t size, const std::nothrow_t&) noexcept { return allocate(size); }
void* operator new[](std::size_t size, const std::nothrow_t&) noexcept { return allocate(size); }
void* operator new(std::size_t size, std::align_val_t a) { return or_throw(allocate_aligned(size, a)); }
void* operator new[](std::size_t size, std::align_val_t a) { return or_throw(allocate_aligned(size, a)); }
void* operator new(std::size_t size, std::align_val_t a, const std::nothrow_t&) noexcept {
  return allocate_aligned(size, a);
}
void* operator new[](std::size_t size, std::align_val_t a, const std::nothrow_t&) noexcept {
  return allocate_aligned(size, a);
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t, const std::nothrow_t&) noexcept { std::free(p); }

namespace github_proxy::cache {
namespace {

// The largest single allocation made by `run` on this thread.
template <class Function>
std::size_t largest_allocation_during(Function run) {
  largest_allocation = 0;
  tracking = true;
  run();
  tracking = false;
  return largest_allocation;
}

TEST(CacheRevalidationMemory, TheTrackerSeesLargeAllocations) {
  // Without this, a tracker that saw nothing would pass the test below.
  const auto largest = largest_allocation_during([] {
    // A direct call (not a new-expression): the compiler may not elide it.
    void* big = ::operator new(2 * 1024 * 1024);
    asm volatile("" : : "r"(big) : "memory");
    ::operator delete(big);
  });
  EXPECT_GE(largest, 2u * 1024 * 1024);
}

TEST(CacheRevalidationMemory, DerivingTheEtagOfALargeGzipEntryAllocatesNoBodySizedBuffer) {
  // 20 MiB inflated (JSON lines, compressing to a few hundred KiB).
  std::string inflated;
  inflated.reserve(20 * 1024 * 1024 + 64);
  for (int i = 0; inflated.size() < 20 * 1024 * 1024; ++i) {
    inflated += "{\"id\":" + std::to_string(i) + ",\"state\":\"open\",\"title\":\"a line of an answer\"},\n";
  }
  entry e;
  e.credential = "abc";
  e.authorization_fingerprint = authorization_fingerprint("token abc");
  e.etag = "W/\"" + std::string(64, 'a') + "\"";
  e.vary_accept = true;
  e.vary_authorization = true;
  e.accept = "application/vnd.github+json";
  e.body = test::gzip(inflated);
  e.encoding = body_encoding::gzip;
  vary_inputs vary;
  vary.accept = vary.authorization = true;
  const auto expected = derive_etag(e.accept, "token xyz", {}, vary, std::string_view(inflated));
  const std::size_t compressed = e.body.size();
  inflated = std::string();  // nothing body-sized left behind by the test itself

  revalidation plan;
  const auto largest = largest_allocation_during([&] { plan = revalidation_plan(e, "xyz", "token xyz"); });
  EXPECT_TRUE(plan.derived);
  EXPECT_EQ(plan.if_none_match, expected);
  // The inflate buffer is 64 KiB; the inflated body is 20 MiB and the
  // stored one `compressed` bytes. 1 MiB leaves room for neither.
  EXPECT_LT(largest, 1024u * 1024) << "an allocation of " << largest << " bytes while deriving the ETag of a "
                                   << compressed << "-byte gzip entry: the inflated body was materialised";
}

}  // namespace
}  // namespace github_proxy::cache
