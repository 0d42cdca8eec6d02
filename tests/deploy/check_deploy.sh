#!/usr/bin/env bash
# Checks the deployment artefacts in deploy/ with the tools an operator uses.
#
#   tests/deploy/check_deploy.sh kustomize|config|prometheus|grafana|all [SOURCE_DIR]
#
#   kustomize   `kubectl kustomize` renders every variant (the base and each
#               overlay, alone and with each component no overlay includes, one
#               at a time and all together; a new overlay must be listed) and
#               tests/deploy/manifests.js checks them: no Secret and no registry
#               ConfigMap, the admin port on no Service, NetworkPolicies, Redis'
#               password, the Sentinel group's names, ports and quorum, HPA and
#               replicas, sizes and timeouts, TLS mounts, ...
#   config      for each variant, the files and variables a proxy pod would see
#               (examples/ standing in for the Secrets and the registry) pass
#               `github-proxy check-config` (GHP_PROXY_BINARY names the binary;
#               unset is a failure); overlays' configs differ from the base's
#               only in `credentials:`
#   prometheus  `promtool check rules` and `promtool test rules`; every alert has
#               a severity, a runbook section in deploy/README.md, `namespace` in
#               every aggregation, and tests firing, resolving, quiet and at zero
#               traffic; every recording rule a conventional name and tests,
#               one at zero traffic (tests/deploy/alert_rules.js); only
#               docs/contract.md §8 metric names; components/monitoring's
#               PrometheusRule equals alerts.yaml and its PodMonitor fits the pods
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

# The variants: NAME|DIRECTORY|FEATURES (manifests.js check). Every other
# component (one no overlay includes: tls, ...) is also rendered added to
# each of them, alone (NAME+COMPONENT) and all together (NAME+all), the way a
# user's overlay lists them; its name joins FEATURES.
variants=(
  "base|deploy/kubernetes/base|memory,pat,app"
  "redis|deploy/kubernetes/overlays/redis|redis,pat,app"
  "redis-sentinel|deploy/kubernetes/overlays/redis-sentinel|redis,sentinel,pat,app"
  "pat-only|deploy/kubernetes/overlays/pat-only|redis,pat"
  "app-only|deploy/kubernetes/overlays/app-only|redis,app"
)
# Components the overlays above include, so not added again, and
# shared-cache, which those include and which never stands alone.
included_components=(redis redis-sentinel shared-cache)

# Renders a kustomization to $work/NAME.yaml and, as JSON, to $work/NAME.json.
render() {
  local name="$1" dir="$2"
  kubectl kustomize "$dir" > "$work/$name.yaml" || fail "kubectl kustomize $dir failed"
  to_json "$work/$name.yaml" > "$work/$name.json"
}

# Renders DIR plus COMPONENTS (directories), as a user's overlay would
# (kustomize wants relative paths).
render_with() {
  local name="$1" dir="$2" tmp="$work/$1.kustomization" component
  shift 2
  mkdir -p "$tmp"
  {
    echo "apiVersion: kustomize.config.k8s.io/v1beta1"
    echo "kind: Kustomization"
    echo "resources: [$(realpath --relative-to="$tmp" "$dir")]"
    echo "components:"
    for component in "$@"; do
      echo "  - $(realpath --relative-to="$tmp" "$component")"
    done
  } > "$tmp/kustomization.yaml"
  render "$name" "$tmp"
}

# YAML manifests → a stream of JSON objects, without a YAML library: kubectl
# converts them. `annotate --local` never contacts a cluster; the empty
# kubeconfig makes sure no real one is read.
to_json() {
  : > "$work/kubeconfig"
  KUBECONFIG="$work/kubeconfig" kubectl annotate --local -f "$1" -o json github-proxy.test/rendered=true \
    || fail "kubectl could not read $1"
}

# Renders every variant, alone and with the other components, to $work, and
# the examples to $work/examples.json; writes "NAME FEATURES" lines to
# $work/variants.
render_all() {
  local entry name dir features file component i
  local -a addons=() addon_dirs=()
  for dir in "$src"/deploy/kubernetes/components/*/; do
    component="$(basename "$dir")"
    [[ " ${included_components[*]} " == *" $component "* ]] || {
      addons+=("$component")
      addon_dirs+=("${dir%/}")
    }
  done
  : > "$work/variants"
  for entry in "${variants[@]}"; do
    IFS='|' read -r name dir features <<< "$entry"
    render "$name" "$src/$dir"
    echo "$name $features" >> "$work/variants"
    for i in "${!addons[@]}"; do
      render_with "$name+${addons[$i]}" "$src/$dir" "${addon_dirs[$i]}"
      echo "$name+${addons[$i]} $features,${addons[$i]}" >> "$work/variants"
    done
    if [ "${#addons[@]}" -gt 1 ]; then
      render_with "$name+all" "$src/$dir" "${addon_dirs[@]}"
      echo "$name+all $features,$(IFS=,; echo "${addons[*]}")" >> "$work/variants"
    fi
  done
  # A new overlay must join the list above.
  for dir in "$src"/deploy/kubernetes/overlays/*/; do
    dir="${dir%/}"
    dir="${dir#"$src/"}"
    [[ " ${variants[*]} " == *"|$dir|"* ]] || fail "$dir is not among the variants check_deploy.sh renders"
  done
  # The objects no render may contain (Secrets, the registry), as the
  # examples show them.
  for file in "$src"/deploy/kubernetes/examples/*.yaml; do
    echo "---"
    cat "$file"
  done > "$work/examples.yaml"
  to_json "$work/examples.yaml" > "$work/examples.json"
}

check_kustomize() {
  need kubectl "the Kubernetes manifests"
  need node "the Kubernetes manifests"
  local name features failed=0
  render_all
  while read -r name features; do
    node "$here/manifests.js" check "$name" "$features" "$work/$name.json" "$work/examples.json" || failed=1
  done < "$work/variants"
  [ "$failed" -eq 0 ] || fail "the rendered manifests do not fit together (above)"
  echo "kustomize: $(wc -l < "$work/variants") variants render and fit together"
}

# A config without comments, blank lines and its top-level SECTION.
without_section() {
  awk -v section="$1:" '/^[^ #]/ { skip = ($1 == section) } !skip && !/^ *#/ && !/^ *$/' "$2"
}

check_config() {
  need kubectl "the configs in the Kubernetes manifests"
  need node "the configs in the Kubernetes manifests"
  local name features root failed=0
  render_all
  while read -r name features; do
    # The tree the pod sees, under $work/NAME-files/ (ROOT/etc/github-proxy/...),
    # the Secrets and the registry taken from examples/.
    root="$work/$name-files"
    mkdir -p "$root"
    node "$here/manifests.js" materialise "$work/$name.json" "$work/examples.json" "$root" > "$root/config-path" \
      || fail "$name: cannot lay out the pod's files (above)"
    node "$here/manifests.js" extract "$work/$name.json" github-proxy-config config.yaml > "$root/config.rendered.yaml" \
      || fail "$name: no config.yaml in the rendered ConfigMap"
  done < "$work/variants"
  for name in pat-only app-only; do
    diff -u <(without_section credentials "$work/base-files/config.rendered.yaml") \
            <(without_section credentials "$work/$name-files/config.rendered.yaml") \
      || fail "overlays/$name/config.yaml must equal the base's config.yaml outside the credentials: section"
  done

  # Passing without running check-config would claim what was not checked.
  [ -n "${GHP_PROXY_BINARY:-}" ] || fail "GHP_PROXY_BINARY is not set (ctest sets it to the github-proxy target)"
  [ -x "$GHP_PROXY_BINARY" ] || fail "GHP_PROXY_BINARY=$GHP_PROXY_BINARY is not an executable (build the github-proxy target)"
  while read -r name features; do
    root="$work/$name-files"
    # Only the variables the Deployment sets: no GITHUB_PROXY_* override from
    # this shell may hide a problem in the file.
    mapfile -t pod_env < "$root/pod.env"
    env -i PATH="$PATH" "${pod_env[@]}" "$GHP_PROXY_BINARY" check-config "$(cat "$root/config-path")" \
      > "$root/check-config.out" 2>&1 || {
      cat "$root/check-config.out" >&2
      echo "$name: github-proxy check-config rejects what the pod would run (above)" >&2
      failed=1
    }
  done < "$work/variants"
  [ "$failed" -eq 0 ] || fail "check-config rejects some variants (above)"
  echo "config: $(wc -l < "$work/variants") variants pass github-proxy check-config with the pod's files and variables"
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
  local test tests=() test_yaml=() kustomization="$work/monitoring-kustomization"
  local test_files=(alerts_test alerts_history_test recording_rules_test)
  promtool check rules "$dir/alerts.yaml" || fail "promtool check rules failed"
  # The test files side by side: the alerts' take tens of seconds each.
  for test in "${test_files[@]}"; do
    (cd "$dir" && if promtool test rules "$test.yaml" > "$work/$test.log" 2>&1; then echo ok; else echo failed; fi \
      > "$work/$test.status") &
  done
  wait
  for test in "${test_files[@]}"; do
    cat "$work/$test.log"
    [ "$(cat "$work/$test.status")" = ok ] || fail "promtool test rules $test.yaml failed"
  done
  # Every alert: severity, summary, description, a runbook_url whose anchor
  # is in deploy/README.md's Runbook, namespace kept in every aggregation,
  # and tests firing, resolving, quiet and at zero traffic; every recording
  # rule: its name, namespace kept, and tests, one at zero traffic.
  yaml_as_json alerts "$dir/alerts.yaml"
  for test in "${test_files[@]}"; do
    yaml_as_json "$test" "$dir/$test.yaml"
    tests+=("$work/$test.json")
    test_yaml+=("$dir/$test.yaml")
  done
  node "$here/alert_rules.js" rules "$work/alerts.json" "$src/deploy/README.md" "${tests[@]}" \
    || fail "the rules, their runbook or their tests are incomplete (above)"
  node "$here/metric_names.js" rules "$work/alerts.json" "${test_yaml[@]}" \
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
