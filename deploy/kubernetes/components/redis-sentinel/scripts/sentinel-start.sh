#!/bin/sh
# The sentinel container: writes sentinel.conf (Sentinel rewrites it as the
# group changes, so it lives in an emptyDir, never in the read-only image)
# and runs redis-server in Sentinel mode with any `args` ("$@") appended.
#
# Host names everywhere (https://redis.io/docs/latest/operate/oss_and_stack/management/sentinel/#ip-addresses-and-dns-names):
# resolve-hostnames lets `sentinel monitor` and the replicas' announced
# names be names; announce-hostnames makes the sentinels hand out those
# names (to the proxy, in REPLICAOF, in their config) rather than the pods'
# addresses, which change with every restart. Sentinel refuses a name it
# cannot resolve when it reads its config, so it waits for the master's
# DNS record (a pod being created).
#
# The password protects the sentinels too (requirepass): the proxy, which
# authenticates to the sentinels and the master with the same password, and
# the other sentinels (which use their own requirepass) must present it.
set -eu
master=$(sh /scripts/find-master.sh)
until getent ahosts "$master" >/dev/null; do
  echo "waiting for $master to resolve"
  sleep 1
done
umask 077
cat > /data/sentinel.conf <<CONF
port 26379
protected-mode yes
sentinel resolve-hostnames yes
sentinel announce-hostnames yes
sentinel announce-ip $ANNOUNCE_HOST
sentinel announce-port 26379
requirepass $REDIS_PASSWORD
sentinel monitor $MASTER_NAME $master 6379 $SENTINEL_QUORUM
sentinel auth-pass $MASTER_NAME $REDIS_PASSWORD
sentinel down-after-milliseconds $MASTER_NAME $SENTINEL_DOWN_AFTER_MS
sentinel failover-timeout $MASTER_NAME $SENTINEL_FAILOVER_TIMEOUT_MS
sentinel parallel-syncs $MASTER_NAME 1
CONF
echo "monitoring $MASTER_NAME at $master"
exec redis-server /data/sentinel.conf --sentinel "$@"
