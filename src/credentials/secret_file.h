// Reading a credential's secret file (token_file, private_key_file) for the
// pool: bounded, never waiting on a FIFO or a device, and fingerprinted, so
// that a rotation is told from an unchanged file (docs/contract.md §7
// "Secrets").
//
// The path is opened as given, following symlinks at every read: a
// Kubernetes Secret volume holds `name -> ..data/name`, and an update swaps
// the `..data` link to a new directory, so the link's own mtime never
// changes while the content does. The fingerprint is the SHA-256 of the
// bytes read (or the errno that kept them from being read); like the
// content, it is never logged nor exported.
#pragma once

#include <cstddef>
#include <string>

namespace github_proxy::credentials::detail {

// Larger files are refused (EFBIG) before their content is read. A token is
// under 1 KiB (an installation token is 520 characters); an RSA private
// key in PEM is under 4 KiB, and app_jwt_signer refuses more than 64 KiB.
inline constexpr std::size_t max_token_file_bytes = 64 * 1024;
inline constexpr std::size_t max_key_file_bytes = 64 * 1024;

struct secret_file {
  secret_file() = default;
  secret_file(secret_file&& other) noexcept;
  secret_file& operator=(secret_file&&) = delete;
  secret_file(const secret_file&) = delete;
  secret_file& operator=(const secret_file&) = delete;
  ~secret_file();  // wipes `content`

  std::string content;  // the bytes, when error == 0
  // errno when the file could not be read: EFBIG over the limit, EINVAL
  // not a regular file, else open(2)'s or read(2)'s.
  int error = 0;
  // The size or mtime moved while it was read (written in place at that
  // moment): the content may be torn; read it again later.
  bool in_flux = false;
  std::size_t max_bytes = 0;  // the limit it was read with
  // "sha256:<hex>" of the content, or "errno:<n>". Two reads of the same
  // file state give the same fingerprint.
  std::string fingerprint;

  // Why it could not be read ("No such file or directory", "larger than
  // 64 KiB", "not a regular file"); empty when error == 0.
  std::string reason() const;
};

// Reads PATH: open (O_NONBLOCK, so a FIFO swapped in cannot hang the
// caller), fstat, refuse what is not a regular file or is larger than
// `max_bytes`, read, fstat again. Blocking but bounded; never throws for
// a file system error.
secret_file read_secret_file(const std::string& path, std::size_t max_bytes);

}  // namespace github_proxy::credentials::detail
