#!/bin/sh
# preStop of the sentinel container: Kubernetes stops both containers of the
# pod at once, but the redis container's preStop (redis-prestop.sh) asks
# this sentinel to fail over. So it keeps running while this pod's Redis
# still answers, up to 30 s.
waited=0
while [ "$waited" -lt 30 ] && [ "$(timeout 2 redis-cli ping 2>/dev/null)" = PONG ]; do
  sleep 1
  waited=$((waited + 1))
done
