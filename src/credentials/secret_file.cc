#include "credentials/secret_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>

#include <openssl/crypto.h>

#include "common/sha256.h"

namespace github_proxy::credentials::detail {

namespace {

void wipe(std::string& text) {
  if (!text.empty()) OPENSSL_cleanse(text.data(), text.size());
  text.clear();
}

bool same_state(const struct stat& a, const struct stat& b) {
  return a.st_size == b.st_size && a.st_mtim.tv_sec == b.st_mtim.tv_sec && a.st_mtim.tv_nsec == b.st_mtim.tv_nsec;
}

secret_file failed(int error, std::size_t max_bytes) {
  secret_file out;
  out.error = error;
  out.max_bytes = max_bytes;
  out.fingerprint = "errno:" + std::to_string(error);
  return out;
}

}  // namespace

secret_file::secret_file(secret_file&& other) noexcept
    : content(std::move(other.content)),
      error(other.error),
      in_flux(other.in_flux),
      max_bytes(other.max_bytes),
      fingerprint(std::move(other.fingerprint)) {
  wipe(other.content);
}

secret_file::~secret_file() { wipe(content); }

std::string secret_file::reason() const {
  switch (error) {
    case 0: return {};
    case EFBIG: return "larger than " + std::to_string(max_bytes / 1024) + " KiB";
    case EINVAL: return "not a regular file";
    default: return std::strerror(error);
  }
}

secret_file read_secret_file(const std::string& path, std::size_t max_bytes) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
  if (fd < 0) return failed(errno, max_bytes);
  struct stat before {};
  if (::fstat(fd, &before) != 0) {
    const int error = errno;
    ::close(fd);
    return failed(error, max_bytes);
  }
  if (!S_ISREG(before.st_mode)) {
    ::close(fd);
    return failed(EINVAL, max_bytes);
  }
  if (before.st_size < 0 || static_cast<std::size_t>(before.st_size) > max_bytes) {
    ::close(fd);
    return failed(EFBIG, max_bytes);
  }
  secret_file out;
  out.max_bytes = max_bytes;
  out.content.reserve(static_cast<std::size_t>(before.st_size));
  std::array<char, 4096> chunk{};
  int error = 0;
  for (;;) {
    const ssize_t n = ::read(fd, chunk.data(), chunk.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      error = errno;
      break;
    }
    if (n == 0) break;
    out.content.append(chunk.data(), static_cast<std::size_t>(n));
    if (out.content.size() > max_bytes) {  // grew while being read
      error = EFBIG;
      break;
    }
  }
  OPENSSL_cleanse(chunk.data(), chunk.size());
  struct stat after {};
  if (error == 0 && ::fstat(fd, &after) != 0) error = errno;
  ::close(fd);
  if (error != 0) return failed(error, max_bytes);
  out.in_flux = !same_state(before, after) || static_cast<std::size_t>(after.st_size) != out.content.size();
  out.fingerprint = "sha256:" + common::sha256_hex(out.content);
  return out;
}

}  // namespace github_proxy::credentials::detail
