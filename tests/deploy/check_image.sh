#!/usr/bin/env bash
# Checks the container image's recipe without a container engine: the
# Dockerfile, .dockerignore and the image's config (config/container.yaml).
#
#   tests/deploy/check_image.sh libraries|dockerfile|config|all [SOURCE_DIR]
#
#   libraries   every shared library the built binary loads (ldd) comes from a
#               Debian package that the runtime stage installs or that
#               debian:bookworm-slim already has, and the runtime stage
#               installs nothing else (but ca-certificates)
#   dockerfile  base images pinned by digest; no curl or wget in the runtime
#               stage; HEALTHCHECK is `github-proxy healthcheck` on the CMD's
#               config; a non-root USER; no example registry in the image;
#               .dockerignore is an allowlist naming every COPY source
#   config      the image's config passes `github-proxy check-config` with a
#               temporary directory standing in for the mounts, and fails
#               closed, naming the registry, without them
#
# `libraries` and `config` run the binary named by GHP_PROXY_BINARY (ctest
# sets it to this build's). ctest runs each (tests/deploy/CMakeLists.txt,
# label `deploy`). A missing tool is a failure, never a silent skip.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
command="${1:-all}"
src="$(cd "${2:-$here/../..}" && pwd)"
dockerfile="$src/Dockerfile"
work="$(mktemp -d -t github-proxy-image.XXXXXX)"
trap 'rm -rf "$work"' EXIT

fail() {
  echo "check_image.sh $command: $*" >&2
  exit 1
}
need() {
  command -v "$1" >/dev/null 2>&1 || fail "$1 is not installed (needed to check $2)"
}
need_binary() {
  [ -n "${GHP_PROXY_BINARY:-}" ] || fail "GHP_PROXY_BINARY is not set (ctest sets it to the github-proxy target)"
  [ -x "$GHP_PROXY_BINARY" ] || fail "GHP_PROXY_BINARY=$GHP_PROXY_BINARY is not an executable (build the github-proxy target)"
}

# Packages debian:bookworm-slim contains, so the runtime stage need not
# install them. Checked against the package list docker-library publishes
# for the pinned image (github.com/docker-library/repo-info,
# repos/debian/local/bookworm-20260824-slim.md) and against why they are
# there: dpkg and apt, which every Debian image has, need them.
declare -A base_packages=(
  [libc6]="libc, libm and the dynamic loader; dpkg pre-depends on it"
  [libgcc-s1]="the unwinder C++ exceptions need; libc6 depends on it"
  [libstdc++6]="the C++ standard library; apt (written in C++) depends on it"
  [zlib1g]="zlib; dpkg pre-depends on it"
)
# Installed for what the binary does, not for a library it loads.
declare -A runtime_extras=(
  [ca-certificates]="the trust store that verifies api.github.com"
)

# The Dockerfile's instructions, one a line: comment lines dropped and
# continuation lines joined, as Docker reads them.
instructions() {
  grep -v '^[[:space:]]*#' "$dockerfile" | sed -e ':a' -e '/\\$/{N;s/\\\n/ /;ba' -e '}'
}

# The runtime stage: from `FROM … AS runtime` to the next FROM or the end.
runtime_stage() {
  instructions | awk '
    tolower($1) == "from" { on = (tolower($(NF-1)) == "as" && tolower($NF) == "runtime") }
    on'
}

# The packages the runtime stage's `apt-get install` names (versions cut).
runtime_install_list() {
  runtime_stage | awk '
    tolower($1) == "run" {
      on = 0
      for (i = 2; i <= NF; i++) {
        if (on) {
          if ($i == "&&" || $i == ";" || $i == "||" || $i == "|") on = 0
          else if ($i !~ /^-/) { sub(/=.*/, "", $i); print $i }
        } else if ($i == "install" && $(i-1) ~ /(^|\/)apt(-get)?$/) on = 1
      }
    }' | sort -u
}

# /lib/x ⇄ /usr/lib/x: bookworm's /lib is a link to /usr/lib (merged /usr),
# and dpkg knows each file under the one path its package shipped it at.
merged_usr_alias() {
  case "$1" in
    /usr/lib/* | /usr/lib64/* | /usr/bin/* | /usr/sbin/*) echo "${1#/usr}" ;;
    /lib/* | /lib64/* | /bin/* | /sbin/*) echo "/usr$1" ;;
    *) echo "$1" ;;
  esac
}

# The package owning the library at PATH (ldd's path, its alias, the file
# its symlinks resolve to, or that file's alias), or nothing.
package_of() {
  local path="$1" real candidate owner
  real="$(readlink -f "$path")"
  for candidate in "$path" "$(merged_usr_alias "$path")" "$real" "$(merged_usr_alias "$real")"; do
    owner="$(dpkg-query -S "$candidate" 2>/dev/null | grep -v '^diversion' | head -n 1 | cut -d: -f1 || true)"
    if [ -n "$owner" ]; then
      echo "$owner"
      return
    fi
  done
}

check_libraries() {
  need_binary
  need ldd "the shared libraries of the binary"
  need dpkg-query "which Debian package provides each library"
  [ -f "$dockerfile" ] || fail "no Dockerfile in $src"
  local installs line name path owner problems=0
  installs="$(runtime_install_list)"
  [ -n "$installs" ] || fail "the Dockerfile's runtime stage (FROM … AS runtime) has no apt-get install list"

  declare -A needed=()
  while IFS= read -r line; do
    # "libz.so.1 => /lib/x86_64-linux-gnu/libz.so.1 (0x…)", "/lib64/ld-linux-x86-64.so.2 (0x…)",
    # "libfoo.so.1 => not found"; linux-vdso is the kernel's, in no file.
    read -r name _ <<<"$line"
    case "$line" in
      *"=> not found"*)
        echo "the binary needs $name, which is not installed on this machine" >&2
        problems=1
        continue
        ;;
      *"=> /"*) path="$(sed -n 's/.*=> \(\/[^ ]*\).*/\1/p' <<<"$line")" ;;
      /*) path="$name" ;;
      *) continue ;;
    esac
    # Sanitizer runtimes (a build configured with -fsanitize=…; CMakeLists.txt
    # has no such option) belong to that test build, never to the image.
    case "$(basename "$path")" in
      libasan.so* | libubsan.so* | libtsan.so* | liblsan.so* | libhwasan.so*) continue ;;
    esac
    owner="$(package_of "$path")"
    if [ -z "$owner" ]; then
      echo "$name ($path) belongs to no Debian package: the image cannot install it with apt" >&2
      problems=1
      continue
    fi
    needed[$owner]=1
    if [ -z "${base_packages[$owner]:-}" ] && ! grep -qxF "$owner" <<<"$installs"; then
      echo "$name ($path) is in package $owner, which the Dockerfile's runtime stage does not install" \
        "and debian:bookworm-slim does not have: add $owner to its apt-get install list" >&2
      problems=1
    fi
  done < <(ldd "$GHP_PROXY_BINARY")
  [ "${#needed[@]}" -gt 0 ] || fail "ldd $GHP_PROXY_BINARY listed no library"

  for name in $installs; do
    if [ -z "${needed[$name]:-}" ] && [ -z "${runtime_extras[$name]:-}" ]; then
      echo "the runtime stage installs $name, which provides no library the binary loads: remove it" \
        "(or, if the binary needs it otherwise, list it with its reason in check_image.sh runtime_extras)" >&2
      problems=1
    fi
  done
  [ "$problems" -eq 0 ] || fail "the runtime stage's packages do not match the libraries of $GHP_PROXY_BINARY (above)"
  echo "libraries: the runtime stage installs exactly the packages of the binary's ${#needed[@]} libraries" \
    "(less bookworm-slim's own) and ca-certificates"
}

# The path after `"--config",` in the instruction INSTRUCTION (exec form).
config_argument() {
  runtime_stage | awk -v want="$1" 'toupper($1) == want' \
    | sed -n 's/.*"--config", *"\([^"]*\)".*/\1/p' | tail -n 1
}

# The source of the runtime stage's COPY to DESTINATION.
copy_source() {
  runtime_stage | awk -v dest="$1" 'toupper($1) == "COPY" && $NF == dest && $2 !~ /^--from/ { print $2 }' | tail -n 1
}

check_dockerfile() {
  [ -f "$dockerfile" ] || fail "no Dockerfile in $src"
  local line image stage config_path source problems=0
  while IFS= read -r line; do
    image="$(awk '{ for (i = 2; i <= NF; i++) if ($i !~ /^--/) { print $i; exit } }' <<<"$line")"
    if ! [[ "$image" =~ ^[^@[:space:]]+@sha256:[0-9a-f]{64}$ ]]; then
      echo "not pinned by digest (image@sha256:…): $line" >&2
      problems=1
    fi
  done < <(instructions | awk 'toupper($1) == "FROM"')
  [ "$problems" -eq 0 ] || fail "every FROM must name its image by digest (see the Dockerfile's header)"

  stage="$(runtime_stage)"
  [ -n "$stage" ] || fail "no runtime stage (FROM … AS runtime) in the Dockerfile"
  if grep -Eiwn 'curl|wget' <<<"$stage" >&2; then
    fail "the runtime stage mentions curl or wget (above): the image must carry neither; HEALTHCHECK uses github-proxy healthcheck"
  fi
  awk 'toupper($1) == "USER" { user = $2 } END { exit !(user != "" && user !~ /^(root|0)(:|$)/) }' <<<"$stage" \
    || fail "the runtime stage must switch to a non-root USER"
  if grep -Ein 'registry[^ ]*\.example' <<<"$stage" >&2; then
    fail "the image must not contain an example registry (above): its proxy token is public and would be accepted"
  fi

  config_path="$(config_argument CMD)"
  [ -n "$config_path" ] || fail "CMD names no --config"
  [ "$(config_argument HEALTHCHECK)" = "$config_path" ] \
    || fail "HEALTHCHECK must run [\"…/github-proxy\", \"healthcheck\", \"--config\", \"$config_path\"] (the CMD's config)"
  runtime_stage | awk 'toupper($1) == "HEALTHCHECK"' | grep -q '"healthcheck"' \
    || fail "HEALTHCHECK must run github-proxy healthcheck"
  source="$(copy_source "$config_path")"
  [ "$source" = "config/container.yaml" ] \
    || fail "the CMD's config $config_path must be COPY'd from config/container.yaml (is: ${source:-nothing})"

  local ignore="$src/.dockerignore"
  [ -f "$ignore" ] || fail "no .dockerignore: the build context would carry build/, .git and every local file"
  [ "$(grep -v '^[[:space:]]*#' "$ignore" | grep -v '^[[:space:]]*$' | head -n 1)" = "*" ] \
    || fail ".dockerignore must start with * (an allowlist: only what the Dockerfile COPYs is sent)"
  while read -r source; do
    grep -qxF "!$source" "$ignore" || {
      echo "COPY $source: .dockerignore leaves it out of the build context; add !$source" >&2
      problems=1
    }
  done < <(instructions | awk 'toupper($1) == "COPY" && $2 !~ /^--/ { for (i = 2; i < NF; i++) print $i }' | sed 's#/$##')
  [ "$problems" -eq 0 ] || fail ".dockerignore does not let every COPY source through (above)"
  echo "dockerfile: FROM pinned by digest, no curl, non-root, HEALTHCHECK on $config_path, .dockerignore an allowlist"
}

check_config() {
  need_binary
  [ -f "$dockerfile" ] || fail "no Dockerfile in $src"
  local config="$src/config/container.yaml" dir="$work/image" file key
  [ -f "$config" ] || fail "no config/container.yaml"
  "$GHP_PROXY_BINARY" --help | grep -q '^  github-proxy healthcheck ' \
    || fail "$GHP_PROXY_BINARY has no healthcheck command, which the Dockerfile's HEALTHCHECK runs"
  for key in 'format: json' 'file: /etc/github-proxy/registry/' 'token_file: /etc/github-proxy/secrets/'; do
    grep -q "^ *\(- \)\?$key" "$config" || fail "config/container.yaml: expected \"$key\""
  done
  if grep -n 'registry\.example\|token_env' "$config" | grep -v '^[0-9]*: *#' >&2; then
    fail "config/container.yaml must name neither the example registry nor a token variable (above)"
  fi

  # The image's /etc/github-proxy/ lives under $dir/etc/ here; the mounts are
  # stood in for by the example registry and a dummy token.
  mkdir -p "$dir/etc"
  sed "s#/etc/github-proxy/#$dir/etc/#g" "$config" > "$dir/etc/config.yaml"
  # Only what the image sets: no GITHUB_PROXY_* of this shell may hide a problem.
  run() { env -i PATH="$PATH" "$GHP_PROXY_BINARY" check-config "$dir/etc/config.yaml"; }
  if run > "$work/unmounted.log" 2>&1; then
    fail "check-config accepts the image's config with nothing mounted: the image must fail closed without a registry"
  fi
  grep -q 'registry\.file' "$work/unmounted.log" \
    || fail "without a mounted registry, check-config must name registry.file; it said: $(cat "$work/unmounted.log")"

  mkdir -p "$dir/etc/registry" "$dir/etc/secrets"
  cp "$src/config/registry.example.yaml" "$dir/etc/registry/registry.yaml"
  for file in $(sed -n 's#^ *token_file: *'"$dir"'/etc/secrets/##p' "$dir/etc/config.yaml"); do
    echo "dummy-token-for-check-config" > "$dir/etc/secrets/$file"
  done
  run || fail "github-proxy check-config rejects config/container.yaml with the registry and secrets mounted (above)"
  echo "config: config/container.yaml passes check-config with its mounts, and fails closed without them"
}

case "$command" in
  libraries) check_libraries ;;
  dockerfile) check_dockerfile ;;
  config) check_config ;;
  all)
    check_libraries
    check_dockerfile
    check_config
    ;;
  *)
    echo "usage: $0 libraries|dockerfile|config|all [SOURCE_DIR]" >&2
    exit 2
    ;;
esac
