#!/usr/bin/env bash
# The host names `make run` answers to: loopback, the listen address, and with 0.0.0.0 (every
# address, to look at the demo from another machine) this machine's own addresses and name.
host=${1:-127.0.0.1}
names=(127.0.0.1 localhost)
if [ "$host" = 0.0.0.0 ]; then
  for address in $(hostname -I 2>/dev/null); do
    case "$address" in *:*) names+=("[$address]") ;; *) names+=("$address") ;; esac  # IPv6 as a URL writes it
  done
  names+=("$(hostname 2>/dev/null)" 0.0.0.0)  # 0.0.0.0: the demo terminals on this machine use the listen address
elif [ "$host" != 127.0.0.1 ] && [ "$host" != localhost ]; then
  names+=("$host")
fi
(IFS=,; echo "${names[*]}")
