#!/bin/sh
# The redis container: redis-server with the flags of the StatefulSet's
# `args` ("$@"), as the master or as a replica of the master the sentinels
# name (find-master.sh). Every pod announces its stable name, not its
# address (replica-announce-ip), so that the sentinels, which learn the
# replicas from the master, hand out names that survive a restart.
#
# A master that crashed and restarts within seconds finds the sentinels
# still naming it. Starting as the master then would make its replicas copy
# its empty data set; when the sentinels know a healthy replica, it waits
# instead (up to 30 s) for them to promote it, and starts as its replica.
set -eu

# Replicas the sentinels see as healthy (flags exactly "slave", not
# "s_down,slave,disconnected"), summed over the sentinels that answer.
healthy_replicas() {
  for host in $GROUP_HOSTS; do
    timeout 3 redis-cli -h "$host" -p 26379 --raw SENTINEL replicas "$MASTER_NAME" 2>/dev/null || true
  done | awk 'previous == "flags" && $0 == "slave" { n++ } { previous = $0 } END { print n + 0 }'
}

master=$(sh /scripts/find-master.sh)
if [ "$master" = "$ANNOUNCE_HOST" ] && [ "$(healthy_replicas)" -gt 0 ]; then
  waited=0
  while [ "$master" = "$ANNOUNCE_HOST" ] && [ "$waited" -lt 30 ]; do
    echo "the sentinels still name this pod the master; waiting for them to promote a replica"
    sleep 2
    waited=$((waited + 2))
    master=$(sh /scripts/find-master.sh)
  done
fi
if [ "$master" = "$ANNOUNCE_HOST" ]; then
  echo "starting as the master of $MASTER_NAME"
  exec redis-server "$@" --replica-announce-ip "$ANNOUNCE_HOST"
fi
echo "starting as a replica of $master"
exec redis-server "$@" --replica-announce-ip "$ANNOUNCE_HOST" --replicaof "$master" 6379
