#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "github_proxy/auth/registry.h"

namespace github_proxy::auth {
namespace {

std::shared_ptr<const registry_snapshot> snapshot_with(std::size_t clients) {
  std::string yaml = "clients:\n";
  for (std::size_t i = 0; i < clients; ++i) {
    yaml += "  - name: c" + std::to_string(i) + "\n    token: t" + std::to_string(i) + "\n";
  }
  auto result = load_registry_from_string(yaml, "registry.yaml");
  EXPECT_TRUE(result.snapshot);
  return result.snapshot;
}

TEST(RegistryStore, EmptyUntilReplaced) {
  registry_store store;
  EXPECT_EQ(store.current(), nullptr);
  const auto first = snapshot_with(1);
  store.replace(first);
  EXPECT_EQ(store.current(), first);
  const auto second = snapshot_with(2);
  store.replace(second);
  EXPECT_EQ(store.current(), second);
}

TEST(RegistryStore, StoresOnOneThreadDoNotShareTheCache) {
  registry_store a;
  registry_store b;
  const auto one = snapshot_with(1);
  const auto two = snapshot_with(2);
  a.replace(one);
  b.replace(two);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(a.current(), one);
    EXPECT_EQ(b.current(), two);
  }
}

TEST(RegistryStore, ANewStoreAtTheSameAddressIsNotConfused) {
  const auto one = snapshot_with(1);
  {
    registry_store store;
    store.replace(one);
    EXPECT_EQ(store.current(), one);
  }
  registry_store fresh;  // very likely reuses the address
  EXPECT_EQ(fresh.current(), nullptr);
}

TEST(RegistryStore, OtherThreadsSeeReplacement) {
  registry_store store;
  const auto first = snapshot_with(1);
  store.replace(first);
  std::thread([&] { EXPECT_EQ(store.current(), first); }).join();
  const auto second = snapshot_with(2);
  store.replace(second);
  std::thread([&] { EXPECT_EQ(store.current(), second); }).join();
}

// Readers never see a torn or dead snapshot while a writer keeps swapping.
TEST(RegistryStore, ConcurrentReadersAndReplace) {
  registry_store store;
  std::vector<std::shared_ptr<const registry_snapshot>> versions;
  for (std::size_t i = 1; i <= 4; ++i) versions.push_back(snapshot_with(i));
  store.replace(versions[0]);

  std::atomic<bool> done{false};
  std::atomic<std::size_t> reads{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 4; ++t) {
    readers.emplace_back([&] {
      while (!done.load()) {
        const auto snapshot = store.current();
        ASSERT_NE(snapshot, nullptr);
        const auto n = client_count(*snapshot);
        ASSERT_GE(n, 1u);
        ASSERT_LE(n, 4u);
        ASSERT_EQ(clients(*snapshot).back().name, "c" + std::to_string(n - 1));
        reads.fetch_add(1);
      }
    });
  }
  for (int i = 0; i < 2000; ++i)
    store.replace(versions[static_cast<std::size_t>(i) % versions.size()]);
  // Bounded: a reader that failed an assertion stops reading.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (reads.load() < 1000 && std::chrono::steady_clock::now() < deadline) std::this_thread::yield();
  done = true;
  EXPECT_GE(reads.load(), 1000u) << "the readers stopped before 1000 reads (see above) or never ran";
  for (auto& reader : readers) reader.join();
}

}  // namespace
}  // namespace github_proxy::auth
