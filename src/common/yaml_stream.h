// The first document of a YAML stream, and where a second one starts, read
// with a bounded number of documents.
//
// Why not YAML::LoadAll: yaml-cpp 0.7 (Debian bookworm) never returns on
// some malformed streams. Its parser keeps reporting an empty document
// without consuming the token it cannot place (jbeder/yaml-cpp#1040 and
// PR #1319, e.g. the 17 bytes of tests/fuzz/corpus/registry/
// hang-tag-after-comma), and LoadAll collects those documents for ever,
// growing until the process is killed. The config and the registry are one
// document each, so nothing past the second is ever needed.
#pragma once

#include <optional>
#include <string>

#include <yaml-cpp/yaml.h>

namespace github_proxy::common {

struct yaml_stream {
  YAML::Node first;                 // Null when the stream holds no document
  std::optional<int> second_line;   // 1-based line of a second document's root
};

// Throws YAML::Exception on a syntax error in the first two documents, as
// YAML::LoadAll would.
yaml_stream load_yaml_stream(const std::string& yaml);

}  // namespace github_proxy::common
