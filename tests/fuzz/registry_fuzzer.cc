// The registry loader (auth/registry_loader.cc): YAML text in, a snapshot or
// errors with line numbers out. A loaded snapshot is then used once, so the
// compiled scopes are exercised too.
#include <cstdlib>
#include <string>

#include "fuzz_input.h"
#include "github_proxy/auth/registry.h"

using namespace github_proxy;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string yaml(fuzz::as_text(data, size));
  const auto loaded = auth::load_registry_from_string(yaml, "registry.yaml");
  if (loaded.snapshot.get() != nullptr && !loaded.errors.empty()) std::abort();
  if (loaded.snapshot == nullptr && loaded.errors.empty()) std::abort();
  for (const auto& e : loaded.errors) {
    if (e.line < 0 || e.message.empty()) std::abort();
  }
  if (loaded.snapshot) {
    const auto& all = auth::clients(*loaded.snapshot);
    for (std::size_t i = 0; i < all.size(); ++i) {
      if (all[i].index != i) std::abort();
    }
    const auth::request_view request{"GET", "/repos/babylon/app/releases?per_page=1", "token release-token", {},
                                     "application/json"};
    (void)auth::authorize(loaded.snapshot, request, std::chrono::system_clock::time_point{});
  }
  return 0;
}
