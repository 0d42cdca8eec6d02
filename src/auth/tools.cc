#include "github_proxy/auth/tools.h"

#include <openssl/crypto.h>
#include <spdlog/fmt/fmt.h>

#include <algorithm>
#include <chrono>
#include <istream>
#include <iterator>
#include <ostream>

#include "auth/digest.h"
#include "auth/registry_values.h"
#include "auth/token.h"
#include "github_proxy/auth/registry.h"

namespace github_proxy::auth {
namespace {

// `file:line: message`; a problem not tied to a line is `file: message`.
void print(std::ostream& stream, const config::config_error& problem, std::string_view kind) {
  stream << problem.file;
  if (problem.line > 0) stream << ':' << problem.line;
  stream << ": " << kind << problem.message << '\n';
}

std::string plural(std::size_t count, std::string_view noun) {
  return fmt::format("{} {}{}", count, noun, count == 1 ? "" : "s");
}

// RFC 3339 in UTC, to the second.
std::string format_instant(std::chrono::system_clock::time_point instant) {
  const auto day = std::chrono::floor<std::chrono::days>(instant);
  const std::chrono::year_month_day date(day);
  const std::chrono::hh_mm_ss time(std::chrono::floor<std::chrono::seconds>(instant - day));
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z", static_cast<int>(date.year()),
                     static_cast<unsigned>(date.month()), static_cast<unsigned>(date.day()),
                     time.hours().count(), time.minutes().count(), time.seconds().count());
}

}  // namespace

int check_registry_command(const std::string& file, std::ostream& out, std::ostream& err) {
  registry_load_result result = load_registry(file);

  // A client past its expiry is valid YAML but worth a reviewer's eye.
  if (result.snapshot) {
    const auto now = std::chrono::system_clock::now();
    for (const client& entry : clients(*result.snapshot)) {
      if (entry.expires && *entry.expires <= now) {
        result.warnings.push_back({file, entry.source_line,
                                   fmt::format("client '{}' expired at {} and is refused",
                                               entry.name, format_instant(*entry.expires))});
      }
    }
    std::stable_sort(result.warnings.begin(), result.warnings.end(),
                     [](const auto& a, const auto& b) { return a.line < b.line; });
  }

  // Errors and warnings together in line order, as a reader walks the file.
  std::size_t e = 0;
  std::size_t w = 0;
  while (e < result.errors.size() || w < result.warnings.size()) {
    const bool error_next =
        w == result.warnings.size() ||
        (e < result.errors.size() && result.errors[e].line <= result.warnings[w].line);
    if (error_next) {
      print(err, result.errors[e++], "");
    } else {
      print(err, result.warnings[w++], "warning: ");
    }
  }
  if (!result.errors.empty()) {
    err << file << ": " << plural(result.errors.size(), "error") << ", "
        << plural(result.warnings.size(), "warning") << '\n';
    return 1;
  }
  out << file << ": ok, " << plural(client_count(*result.snapshot), "client") << ", "
      << plural(result.warnings.size(), "warning") << '\n';
  return 0;
}

int new_token_command(const std::string& client_name, std::ostream& out, std::ostream& err) {
  if (!is_valid_client_name(client_name)) {
    err << "new-token: client name '" << client_name << "' must match [a-z0-9_-]+\n";
    return 1;
  }
  std::string token = generate_token();
  const std::string hex = to_hex(sha256(token));
  out << token << "\n\n"
      << "# Registry entry. Only the SHA-256 goes in the registry; hand the token\n"
      << "# above to the client's owner through a secret store, never in the PR.\n"
      << "- name: " << client_name << '\n'
      << "  token_sha256: " << hex << '\n';
  OPENSSL_cleanse(token.data(), token.size());
  return 0;
}

int hash_token_command(std::istream& in, std::ostream& out, std::ostream& err) {
  std::string input((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const auto first = input.find_first_not_of(" \t\r\n");
  const auto last = input.find_last_not_of(" \t\r\n");
  int status = 0;
  if (first == std::string::npos) {
    err << "hash-token: expected a token on standard input\n";
    status = 1;
  } else {
    const std::string_view token(input.data() + first, last - first + 1);
    if (token.find_first_of(" \t\r\n") != std::string_view::npos) {
      err << "hash-token: expected one token on standard input, found several words\n";
      status = 1;
    } else {
      out << "sha256:" << to_hex(sha256(token)) << '\n';
    }
  }
  OPENSSL_cleanse(input.data(), input.size());
  return status;
}

}  // namespace github_proxy::auth
