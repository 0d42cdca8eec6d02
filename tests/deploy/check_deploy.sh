#!/usr/bin/env bash
# Checks the deployment artefacts in deploy/ with the tools an operator uses.
#
#   tests/deploy/check_deploy.sh kustomize|config|prometheus|grafana|all [SOURCE_DIR]
#
#   kustomize   `kubectl kustomize` renders the base and the Redis overlay, with
#               the expected objects, and they fit together (tests/deploy/manifests.js)
#   config      the config.yaml and registry.yaml inside the rendered ConfigMaps
#               pass `github-proxy check-config` when GHP_PROXY_BINARY names the
#               binary; the overlay's config differs from the base's only in `cache:`
#   prometheus  `promtool check rules` and `promtool test rules`; every alert has
#               a severity, a runbook section in deploy/README.md, `namespace` in
#               every aggregation, and tests firing, resolving, quiet and at zero
#               traffic (tests/deploy/alert_rules.js); only docs/contract.md §8
#               metric names; components/monitoring's PrometheusRule equals
#               alerts.yaml and its PodMonitor fits the pods
#   grafana     the dashboard's queries use only docs/contract.md §8 metrics and
#               labels (and a few standard ones), the namespace and job
#               variables everywhere, and instant queries in stat panels
#
# ctest runs each (tests/deploy/CMakeLists.txt, label `deploy`). A missing
# tool is a failure, never a silent skip.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
command="${1:-all}"
src="$(cd "${2:-$here/../..}" && pwd)"
work="$(mktemp -d -t github-proxy-deploy.XXXXXX)"
trap 'rm -rf "$work"' EXIT

fail() {
  echo "check_deploy.sh $command: $*" >&2
  exit 1
}
need() {
  command -v "$1" >/dev/null 2>&1 || fail "$1 is not installed (needed to check $2)"
}

# Renders a kustomization to $work/NAME.yaml and, as JSON, to $work/NAME.json.
render() {
  local name="$1" dir="$2"
  kubectl kustomize "$dir" > "$work/$name.yaml" || fail "kubectl kustomize $dir failed"
  to_json "$work/$name.yaml" > "$work/$name.json"
}

# YAML manifests → a stream of JSON objects, without a YAML library: kubectl
# converts them. `annotate --local` never contacts a cluster; the empty
# kubeconfig makes sure no real one is read.
to_json() {
  : > "$work/kubeconfig"
  KUBECONFIG="$work/kubeconfig" kubectl annotate --local -f "$1" -o json github-proxy.test/rendered=true \
    || fail "kubectl could not read $1"
}

check_kustomize() {
  need kubectl "the Kubernetes manifests"
  need node "the Kubernetes manifests"
  local variant kind
  to_json "$src/deploy/kubernetes/base/secret.example.yaml" > "$work/secret.json"
  render base "$src/deploy/kubernetes/base"
  render redis "$src/deploy/kubernetes/overlays/redis"
  for variant in base redis; do
    for kind in Deployment Service ConfigMap PodDisruptionBudget HorizontalPodAutoscaler; do
      grep -q "^kind: $kind\$" "$work/$variant.yaml" || fail "$variant: renders no $kind"
    done
    node "$here/manifests.js" check "$variant" "$work/$variant.json" "$work/secret.json" \
      || fail "$variant: the rendered manifests do not fit together (above)"
  done
  grep -q '^  name: github-proxy-redis$' "$work/redis.yaml" || fail "redis overlay: no github-proxy-redis objects"
  grep -q 'redis://github-proxy-redis:6379/0' "$work/redis.yaml" || fail "redis overlay: config has no redis URL"
  echo "kustomize: base and overlays/redis render and fit together"
}

# A config without comments and without its `cache:` section.
without_cache() {
  awk '/^cache:/ { skip = 1; next } /^[^ #]/ { skip = 0 } !skip && !/^ *#/' "$1"
}

check_config() {
  need kubectl "the configs in the Kubernetes manifests"
  need node "the configs in the Kubernetes manifests"
  local variant dir
  render base "$src/deploy/kubernetes/base"
  render redis "$src/deploy/kubernetes/overlays/redis"
  for variant in base redis; do
    # The Deployment mounts everything under /etc/github-proxy/; here the
    # same tree lives under $dir/etc/.
    dir="$work/$variant-files"
    mkdir -p "$dir/etc/registry" "$dir/etc/secrets"
    node "$here/manifests.js" extract "$work/$variant.json" github-proxy-config config.yaml \
      > "$dir/config.rendered.yaml" || fail "$variant: no config.yaml in the rendered ConfigMap"
    node "$here/manifests.js" extract "$work/$variant.json" github-proxy-registry registry.yaml \
      > "$dir/etc/registry/registry.yaml" || fail "$variant: no registry.yaml in the rendered ConfigMap"
    sed "s#/etc/github-proxy/#$dir/etc/#g" "$dir/config.rendered.yaml" > "$dir/etc/config.yaml"
    # A GitHub App private key, as the Secret provides it.
    node -e 'const { generateKeyPairSync } = require("crypto");
      process.stdout.write(generateKeyPairSync("rsa", { modulusLength: 2048,
        publicKeyEncoding: { type: "spki", format: "pem" },
        privateKeyEncoding: { type: "pkcs1", format: "pem" } }).privateKey);' \
      > "$dir/etc/secrets/general-app.pem"
  done
  diff -u <(without_cache "$work/base-files/config.rendered.yaml") \
          <(without_cache "$work/redis-files/config.rendered.yaml") \
    || fail "overlays/redis/config.yaml must equal the base's config.yaml outside the cache: section"

  if [ -z "${GHP_PROXY_BINARY:-}" ]; then
    echo "config: GHP_PROXY_BINARY is not set: configs extracted and compared, not run through check-config"
    return
  fi
  [ -x "$GHP_PROXY_BINARY" ] || fail "GHP_PROXY_BINARY=$GHP_PROXY_BINARY is not an executable (build the github-proxy target)"
  for variant in base redis; do
    # Only the variables the Deployment sets: no GITHUB_PROXY_* override from
    # this shell may hide a problem in the file.
    env -i PATH="$PATH" GITHUB_PROXY_BOT_PAT=dummy-token-for-check-config \
      "$GHP_PROXY_BINARY" check-config "$work/$variant-files/etc/config.yaml" \
      || fail "$variant: github-proxy check-config rejects the rendered config (above)"
  done
  echo "config: base and overlays/redis configs pass github-proxy check-config"
}

# A YAML file that is no Kubernetes object (alerts.yaml, a promtool test
# file) as JSON in $work/NAME.json, under `spec`: wrapped in an object kubectl
# reads (indenting a YAML document keeps its meaning).
yaml_as_json() {
  local name="$1" file="$2"
  {
    printf 'apiVersion: github-proxy.test/v1\nkind: File\nmetadata:\n  name: %s\nspec:\n' "$name"
    sed 's/^\(.\)/  \1/' "$file"
  } > "$work/$name.wrapped.yaml"
  to_json "$work/$name.wrapped.yaml" > "$work/$name.json"
}

check_prometheus() {
  need promtool "the Prometheus rules"
  need node "the Prometheus rules"
  need kubectl "the Prometheus rules"
  local dir="$src/deploy/prometheus" monitoring="$src/deploy/kubernetes/components/monitoring"
  local test tests=() kustomization="$work/monitoring-kustomization"
  promtool check rules "$dir/alerts.yaml" || fail "promtool check rules failed"
  # The two test files side by side: each takes tens of seconds.
  for test in alerts_test alerts_history_test; do
    (cd "$dir" && if promtool test rules "$test.yaml" > "$work/$test.log" 2>&1; then echo ok; else echo failed; fi \
      > "$work/$test.status") &
  done
  wait
  for test in alerts_test alerts_history_test; do
    cat "$work/$test.log"
    [ "$(cat "$work/$test.status")" = ok ] || fail "promtool test rules $test.yaml failed"
  done
  # Every alert: severity, summary, description, a runbook_url whose anchor
  # is in deploy/README.md's Runbook, namespace kept in every aggregation,
  # and tests firing, resolving, quiet and at zero traffic.
  yaml_as_json alerts "$dir/alerts.yaml"
  for test in alerts_test alerts_history_test; do
    yaml_as_json "$test" "$dir/$test.yaml"
    tests+=("$work/$test.json")
  done
  node "$here/alert_rules.js" rules "$work/alerts.json" "$src/deploy/README.md" "${tests[@]}" \
    || fail "the rules, their runbook or their tests are incomplete (above)"
  node "$here/metric_names.js" rules "$work/alerts.json" "$dir/alerts_test.yaml" "$dir/alerts_history_test.yaml" \
    || fail "the rules name metrics or labels that docs/contract.md §8 does not define"
  # The Prometheus Operator component: the PrometheusRule carries the same
  # groups, and the PodMonitor fits the base's pods (rendered together, the
  # way an overlay includes the component; kustomize wants relative paths).
  to_json "$monitoring/prometheusrule.yaml" > "$work/prometheusrule.json"
  mkdir -p "$kustomization"
  printf 'apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: [%s]\ncomponents: [%s]\n' \
    "$(realpath --relative-to="$kustomization" "$src/deploy/kubernetes/base")" \
    "$(realpath --relative-to="$kustomization" "$monitoring")" > "$kustomization/kustomization.yaml"
  render monitoring "$kustomization"
  node "$here/alert_rules.js" operator "$work/alerts.json" "$work/prometheusrule.json" "$work/monitoring.json" \
    || fail "deploy/kubernetes/components/monitoring does not match the rules or the pods (above)"
  echo "prometheus: rules valid and tested; PrometheusRule and PodMonitor match"
}

check_grafana() {
  need node "the Grafana dashboard"
  node "$here/metric_names.js" dashboard "$src/deploy/grafana/github-proxy.json" \
    || fail "the dashboard names unknown metrics or labels, or misses its variables (above)"
  echo "grafana: dashboard uses only known metrics, \$namespace and \$job everywhere, instant stats"
}

case "$command" in
  kustomize) check_kustomize ;;
  config) check_config ;;
  prometheus) check_prometheus ;;
  grafana) check_grafana ;;
  all)
    check_kustomize
    check_config
    check_prometheus
    check_grafana
    ;;
  *)
    echo "usage: $0 kustomize|config|prometheus|grafana|all [SOURCE_DIR]" >&2
    exit 2
    ;;
esac
