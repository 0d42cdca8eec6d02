#include "github_proxy/cache/cache_store.h"

#include <string>

namespace github_proxy::cache {
namespace {

class store_category_impl final : public boost::system::error_category {
 public:
  const char* name() const noexcept override { return "cache_store"; }

  std::string message(int value) const override {
    switch (static_cast<store_error>(value)) {
      case store_error::unavailable:
        return "cache backend unavailable";
      case store_error::timeout:
        return "cache backend timed out";
      case store_error::too_large:
        return "value over the cache backend's per-entry limit";
      case store_error::corrupt:
        return "stored cache entry is unreadable";
    }
    return "unknown cache store error";
  }
};

}  // namespace

const boost::system::error_category& store_category() {
  static const store_category_impl category;
  return category;
}

boost::system::error_code make_error_code(store_error e) {
  return {static_cast<int>(e), store_category()};
}

}  // namespace github_proxy::cache
