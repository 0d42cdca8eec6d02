// Reading the proxy's /metrics in integration tests: the Prometheus text
// exposition format parsed into samples, series keyed by their labels, and
// `promtool check metrics` run on a scrape.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <sys/wait.h>
#include <unistd.h>

#include "support/harness.h"

namespace ghp_test {

// One sample line: `name{label="value",…} value`.
struct metric_sample {
  std::string name;
  std::map<std::string, std::string> labels;
  double value = 0;
};

// A scrape: the samples, and the declared type of each family (`# TYPE`).
struct metric_scrape {
  std::string text;
  std::vector<metric_sample> samples;
  std::map<std::string, std::string> types;  // family name → counter, gauge, histogram, …
};

// `{a="1",b="2"}` in label-name order (std::map), `{}` without labels: a
// stable key for one series of a metric.
inline std::string label_key(const std::map<std::string, std::string>& labels) {
  std::string out = "{";
  bool first = true;
  for (const auto& [k, v] : labels) {
    if (!first) out += ",";
    first = false;
    out += k + "=\"" + v + "\"";
  }
  return out + "}";
}

inline std::string series_key(const metric_sample& s) { return s.name + label_key(s.labels); }

inline metric_scrape parse_metrics(const std::string& text) {
  metric_scrape scrape;
  scrape.text = text;
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.empty()) continue;
    if (line[0] == '#') {
      std::istringstream words(line);
      std::string hash, kind, name, type;
      words >> hash >> kind >> name >> type;
      if (kind == "TYPE") scrape.types[name] = type;
      continue;
    }
    metric_sample sample;
    std::size_t pos = line.find_first_of("{ ");
    if (pos == std::string::npos) throw std::runtime_error("bad sample line: " + line);
    sample.name = line.substr(0, pos);
    if (line[pos] == '{') {
      ++pos;
      while (pos < line.size() && line[pos] != '}') {
        const auto eq = line.find('=', pos);
        if (eq == std::string::npos || eq + 1 >= line.size() || line[eq + 1] != '"') {
          throw std::runtime_error("bad labels: " + line);
        }
        const std::string name = line.substr(pos, eq - pos);
        std::string value;
        std::size_t i = eq + 2;
        for (; i < line.size() && line[i] != '"'; ++i) {
          if (line[i] == '\\' && i + 1 < line.size()) {
            ++i;
            value.push_back(line[i] == 'n' ? '\n' : line[i]);
          } else {
            value.push_back(line[i]);
          }
        }
        if (i >= line.size()) throw std::runtime_error("unterminated label value: " + line);
        sample.labels[name] = value;
        pos = i + 1;
        if (pos < line.size() && line[pos] == ',') ++pos;
      }
      if (pos >= line.size()) throw std::runtime_error("unterminated labels: " + line);
      ++pos;  // '}'
    }
    while (pos < line.size() && line[pos] == ' ') ++pos;
    const auto end = line.find(' ', pos);  // a timestamp may follow
    const std::string value = line.substr(pos, end == std::string::npos ? std::string::npos : end - pos);
    char* stop = nullptr;
    sample.value = std::strtod(value.c_str(), &stop);
    if (value.empty() || *stop != '\0') throw std::runtime_error("bad sample value: " + line);
    scrape.samples.push_back(std::move(sample));
  }
  return scrape;
}

inline metric_scrape scrape_metrics(const proxy_process& proxy) {
  const auto res = request(proxy.admin(), "GET", "/metrics");
  if (res.result_int() != 200) throw std::runtime_error("/metrics → " + std::to_string(res.result_int()));
  return parse_metrics(res.body());
}

// Every series of metric `name` (a sample name such as
// github_proxy_request_duration_seconds_count): label_key → value.
inline std::map<std::string, double> series_of(const metric_scrape& scrape, const std::string& name) {
  std::map<std::string, double> out;
  for (const auto& s : scrape.samples) {
    if (s.name == name) out[label_key(s.labels)] = s.value;
  }
  return out;
}

// The sum of every series of sample `name` whose labels include `wanted`
// (what proxy_process::metric returns).
inline double sum_matching(const metric_scrape& scrape, const std::string& name,
                           const std::map<std::string, std::string>& wanted) {
  double total = 0;
  for (const auto& s : scrape.samples) {
    if (s.name != name) continue;
    bool match = true;
    for (const auto& [k, v] : wanted) {
      const auto it = s.labels.find(k);
      match = match && it != s.labels.end() && it->second == v;
    }
    if (match) total += s.value;
  }
  return total;
}

inline double sum_of(const metric_scrape& scrape, const std::string& name) {
  double total = 0;
  for (const auto& s : scrape.samples) {
    if (s.name == name) total += s.value;
  }
  return total;
}

// `PATH` lookup of an executable; nullopt when it is not installed.
inline std::optional<std::string> find_program(const std::string& name) {
  std::string path = std::getenv("PATH") ? std::getenv("PATH") : "";
  path += ":/usr/bin:/usr/local/bin:/bin";
  std::istringstream dirs(path);
  std::string dir;
  while (std::getline(dirs, dir, ':')) {
    if (dir.empty()) continue;
    const auto candidate = dir + "/" + name;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return std::nullopt;
}

struct command_result {
  int exit_code = -1;  // 128 + signal when killed
  std::string output;  // stdout and stderr
};

// `promtool check metrics < FILE`: promtool reads the exposition on stdin.
inline command_result promtool_check_metrics(const std::string& promtool, const std::string& exposition,
                                             const temp_dir& dir) {
  static int counter = 0;
  const auto file = dir.file("metrics-" + std::to_string(++counter) + ".prom");
  {
    std::ofstream out(file, std::ios::binary | std::ios::trunc);
    out << exposition;
    if (!out) throw std::runtime_error("cannot write " + file);
  }
  const std::string command = "'" + promtool + "' check metrics < '" + file + "' 2>&1";
  command_result result;
  FILE* pipe = ::popen(command.c_str(), "r");
  if (!pipe) throw std::runtime_error("popen failed for: " + command);
  char buffer[4096];
  std::size_t n;
  while ((n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0) result.output.append(buffer, n);
  const int status = ::pclose(pipe);
  if (status == -1) throw std::runtime_error("pclose failed for: " + command);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return result;
}

}  // namespace ghp_test
