#!/bin/sh
# Prints the host name of the current master of $MASTER_NAME, for the start
# scripts of both containers: the answer of the first sentinel of the group
# ($GROUP_HOSTS, pod 0 first) that knows it, or pod 0 when none does (the
# group's first start, or the whole group restarting at once).
#
# Asking first, rather than always starting pod 0 as the master: after a
# failover another pod is the master, and pod 0 coming back as a second,
# empty master would have replicas copy its empty data set.
#
# redis-cli reads the password from REDISCLI_AUTH and exits 0 even on an
# error reply (NOAUTH, an unknown name), so the answer is checked, not the
# status. `timeout` bounds a sentinel whose pod is gone: with
# publishNotReadyAddresses its name may still resolve.
for host in $GROUP_HOSTS; do
  answer=$(timeout 3 redis-cli -h "$host" -p 26379 --raw SENTINEL get-master-addr-by-name "$MASTER_NAME" 2>/dev/null) || continue
  master=$(echo "$answer" | sed -n 1p)
  port=$(echo "$answer" | sed -n 2p)
  case "$port" in
    '' | *[!0-9]*) continue ;;  # nil (not monitoring it yet), or an error reply
  esac
  echo "$master"
  exit 0
done
echo "${GROUP_HOSTS%% *}"
