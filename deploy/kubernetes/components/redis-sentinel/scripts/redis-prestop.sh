#!/bin/sh
# preStop of the redis container. A planned stop of the master (rolling
# update, node drain, eviction) hands its role to a replica first:
# SENTINEL FAILOVER on this pod's sentinel, then wait (up to 20 s) until
# the sentinels name another master. The proxy's connection to this pod is
# then closed, and it asks the sentinels again: a second or so of backend
# errors instead of down-after-milliseconds' worth. A replica just stops.
# (The sentinel container's preStop keeps it running until this Redis has
# stopped.)
[ "$(redis-cli role 2>/dev/null | sed -n 1p)" = master ] || exit 0
# OK, or NOGOODSLAVE (no replica to promote) / INPROG: stop all the same.
[ "$(redis-cli -p 26379 SENTINEL FAILOVER "$MASTER_NAME" 2>/dev/null)" = OK ] || exit 0
waited=0
while [ "$waited" -lt 20 ]; do
  master=$(redis-cli -p 26379 --raw SENTINEL get-master-addr-by-name "$MASTER_NAME" 2>/dev/null | sed -n 1p)
  if [ -n "$master" ] && [ "$master" != "$ANNOUNCE_HOST" ]; then
    echo "handed the master role to $master"
    exit 0
  fi
  sleep 1
  waited=$((waited + 1))
done
