#include "common/yaml_stream.h"

#include <sstream>

#include <yaml-cpp/eventhandler.h>

namespace github_proxy::common {

namespace {

// Where the root of the second document is (the mark a Node would carry).
class second_root final : public YAML::EventHandler {
 public:
  std::optional<int> line;
  int documents = 0;

  void OnDocumentStart(const YAML::Mark&) override { ++documents; }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark& mark, YAML::anchor_t) override { node(mark); }
  void OnAlias(const YAML::Mark& mark, YAML::anchor_t) override { node(mark); }
  void OnScalar(const YAML::Mark& mark, const std::string&, YAML::anchor_t, const std::string&) override {
    node(mark);
  }
  void OnSequenceStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {
    node(mark);
  }
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {
    node(mark);
  }
  void OnMapEnd() override {}

 private:
  void node(const YAML::Mark& mark) {
    if (documents == 2 && !line) line = mark.line + 1;
  }
};

}  // namespace

yaml_stream load_yaml_stream(const std::string& yaml) {
  yaml_stream out;
  std::istringstream in(yaml);
  YAML::Parser parser(in);
  second_root marks;
  // Two documents at most: the loop LoadAll runs is the one that never ends.
  for (int n = 0; n < 2 && parser.HandleNextDocument(marks); ++n) {
  }
  out.second_line = marks.line;
  out.first = YAML::Load(yaml);  // the first document only
  return out;
}

}  // namespace github_proxy::common
