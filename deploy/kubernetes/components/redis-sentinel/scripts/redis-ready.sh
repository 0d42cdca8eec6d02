#!/bin/sh
# Readiness of the redis container: the master when it answers, a replica
# once it holds the master's data set (master_link_status:up). So a rolling
# update moves to the next pod, and the PodDisruptionBudget lets a drain
# take another, only when the replicas are in sync: never is the last copy
# of the cache on a pod that is about to go. (redis-cli exits 0 on error
# replies, so the text is checked.)
info=$(timeout 2 redis-cli info replication 2>/dev/null) || exit 1
case "$info" in
  *role:master*) exit 0 ;;
  *master_link_status:up*) exit 0 ;;
esac
exit 1
