# Run inside the IPVS VM (scripts: /work/shared/tools/ipvs-vm.sh run; test/lvs/ipvs-vm.test.ts starts it).
# The same keepalived configuration is run by keepalived 2.2.7 (`keepalived -C`) and by keepalived-ts
# (`bin/keepalived-ts -C`, built dist/) on the guest's IPVS, phase by phase; after each phase the IPVS table
# (`ipvsadm -Ln`, `--timeout`, `--persistent-conn`) is written to $IPVS_VM_OUT/<impl>.<phase>.txt and, for
# ours, `keepalived-ts --lvs-list` beside it. The host test compares the files; this script only records.
# Argument: the checkout directory. Namespaces: d (director), c (client), r1..r3 (real servers).
set -u
CHECKOUT=$1
OUT=${IPVS_VM_OUT:-/tmp/ipvs-out}
mkdir -p "$OUT"
BB=$IPVS_VM_BUSYBOX
T0=$(date +%s.%N)
el() { awk -v a="$T0" -v b="$(date +%s.%N)" 'BEGIN {printf "%.1f", b-a}'; }
say() { echo "[t+$(el)s] $*"; }
nsx() { local n=$1; shift; ip netns exec "$n" "$@"; }

for m in ip_vs ip_vs_rr ip_vs_wrr ip_vs_wlc ip_vs_lc ip_vs_sh ip_vs_mh ip_vs_lblc ip_vs_fo; do modprobe $m 2>/dev/null; done
modprobe sctp 2>/dev/null
ip link add br0 type bridge && ip link set br0 up
for n in c d r1 r2 r3; do ip netns add $n; nsx $n ip link set lo up; done
ip link add eth0 netns c type veth peer name eth0 netns d
ip link add eth1 netns d type veth peer name dv && ip link set dv master br0 up
nsx c ip addr add 198.51.100.10/24 dev eth0; nsx c ip link set eth0 up
nsx d ip addr add 198.51.100.1/24 dev eth0
for v in 100 101 102 103 104 105; do nsx d ip addr add 198.51.100.$v/32 dev eth0; done
nsx d ip -6 addr add 2001:db8:1::100/64 dev eth0 nodad
nsx d ip -6 addr add 2001:db8:1::101/128 dev eth0 nodad
nsx c ip -6 addr add 2001:db8:1::10/64 dev eth0 nodad
nsx d ip addr add 192.0.2.1/24 dev eth1
nsx d ip -6 addr add 2001:db8:2::1/64 dev eth1 nodad
nsx d ip link set eth0 up; nsx d ip link set eth1 up
nsx d sh -c 'echo 1 > /proc/sys/net/ipv4/ip_forward; echo 1 > /proc/sys/net/ipv4/vs/conntrack'
nsx d sh -c 'echo 1 > /proc/sys/net/ipv6/conf/all/forwarding'
# The administrator's marking for the IPv6 fwmark service (fwmark 11): TCP to [2001:db8:1::101]:80.
nsx d nft 'add table ip6 kvm; add chain ip6 kvm pre { type filter hook prerouting priority mangle; policy accept; }; add rule ip6 kvm pre ip6 daddr 2001:db8:1::101 tcp dport 80 meta mark set 11' \
  || echo "nft: the IPv6 mark rule could not be added"
for i in 1 2 3; do
  ip link add eth0 netns r$i type veth peer name rv$i && ip link set rv$i master br0 up
  nsx r$i ip addr add 192.0.2.1$i/24 dev eth0; nsx r$i ip link set eth0 up
  nsx r$i ip route add default via 192.0.2.1
  nsx r$i ip -6 addr add 2001:db8:2::1$i/64 dev eth0 nodad
  nsx r$i ip -6 route add default via 2001:db8:2::1
  # each real server's page names it (the IPv6 fwmark traffic's spread is read from the answers)
  mkdir -p /tmp/www$i; echo r$i > /tmp/www$i/index.html
done
start_rs() { ip netns exec r$1 "$BB" httpd -f -p "${2:-80}" -h /tmp/www$1 & echo $! > /tmp/r$1.${2:-80}.pid; }
stop_rs() { kill "$(cat /tmp/r$1.${2:-80}.pid)"; }
for i in 1 2 3; do start_rs $i; done
start_rs 3 443
say "namespaces and real servers up"

# ------------------------------------------------------------------------------------------ configuration
# Every construct compared: wrr + persistence with a /24 mask + inhibit_on_failure (.100), a sorry server
# taking over when the only live server fails and a server that never answers (.101), the default
# scheduler and protocol (.102), a group of two addresses and a fwmark with lc (.103/.104/fwmark 9), SCTP
# with lblc (.105), a fwmark DR/TUN service with sh-port,sh-fallback (fwmark 7), an IPv6 UDP service with
# mh, mh-port and a /64 persistence (2001:db8:1::100), a UDP service with ops, lvs_timeouts, and a fwmark
# service whose real servers are IPv6 (so is the service: docs/lvs.md, "The address family of a virtual
# server"), TCP_CHECKed over IPv6, taking the director's marked TCP to [2001:db8:1::101]:80.
cat > /tmp/main.conf <<'EOF'
global_defs {
  router_id ipvs_vm
  lvs_timeouts tcp 1000 tcpfin 100 udp 200
}
virtual_server 198.51.100.100 80 {
  delay_loop 1
  lb_algo wrr
  lb_kind NAT
  protocol TCP
  persistence_timeout 50
  persistence_granularity 255.255.255.0
  real_server 192.0.2.11 80 {
    weight 3
    TCP_CHECK { connect_timeout 1 }
  }
  real_server 192.0.2.12 80 {
    weight 1
    inhibit_on_failure
    TCP_CHECK { connect_timeout 1 }
  }
  real_server 192.0.2.13 80 {
    weight 2
    HTTP_GET { url { path / status_code 200 } connect_timeout 1 }
  }
}
virtual_server 198.51.100.101 80 {
  delay_loop 1
  lb_algo rr
  lb_kind NAT
  protocol TCP
  sorry_server 127.0.0.1 80
  real_server 192.0.2.12 80 {
    weight 2
    TCP_CHECK { connect_timeout 1 }
  }
  real_server 192.0.2.13 8080 {
    TCP_CHECK { connect_timeout 1 }
  }
}
virtual_server 198.51.100.102 443 {
  real_server 192.0.2.13 443 {
    weight 5
  }
}
virtual_server_group G1 {
  198.51.100.103 80
  198.51.100.104 80
  fwmark 9
}
virtual_server group G1 {
  lb_algo lc
  protocol TCP
  real_server 192.0.2.11 80 {
  }
}
virtual_server 198.51.100.105 9 {
  lb_algo lblc
  protocol SCTP
  real_server 192.0.2.11 9 {
  }
}
virtual_server fwmark 7 {
  lb_algo sh
  sh-port
  sh-fallback
  lb_kind DR
  protocol TCP
  real_server 192.0.2.11 80 {
    weight 2
  }
  real_server 192.0.2.12 80 {
    lvs_method TUN
  }
}
virtual_server 2001:db8:1::100 53 {
  lb_algo mh
  mh-port
  protocol UDP
  persistence_timeout 30
  persistence_granularity 64
  real_server 2001:db8:2::11 53 {
    weight 1
  }
  real_server 2001:db8:2::12 53 {
    weight 4
  }
}
virtual_server 198.51.100.100 53 {
  lb_algo rr
  ops
  protocol UDP
  real_server 192.0.2.11 53 {
  }
}
virtual_server fwmark 11 {
  delay_loop 1
  lb_algo rr
  lb_kind NAT
  real_server 2001:db8:2::11 80 {
    TCP_CHECK { connect_timeout 1 }
  }
  real_server 2001:db8:2::12 80 {
    weight 2
    TCP_CHECK { connect_timeout 1 }
  }
}
EOF
# A small configuration for the start/stop rules (no checkers: every server is up at once).
small() { # small EXTRA_GLOBAL_LINES
cat <<EOF
global_defs {
  router_id ipvs_vm_small
$1
}
virtual_server 198.51.100.100 80 {
  lb_algo rr
  protocol TCP
  real_server 192.0.2.11 80 {
  }
}
EOF
}
small "  lvs_flush" > /tmp/flush.conf
# the -I run configures one more service; the run after it no longer does
cat >> /tmp/flush.conf <<'EOF'
virtual_server 198.51.100.106 80 {
  lb_algo rr
  protocol TCP
  real_server 192.0.2.11 80 {
  }
}
EOF
small "  lvs_flush_on_stop" > /tmp/flushstop.conf
# Crash leftovers: the daemon runs crash1 and is SIGKILLed, then crash2 starts on what it left: .100 edited
# (scheduler, weights, one server swapped), .106 and the IPv6 fwmark 12 no longer configured, .107 new.
cat > /tmp/crash1.conf <<'EOF'
global_defs {
  router_id ipvs_vm_crash
}
virtual_server 198.51.100.100 80 {
  lb_algo rr
  protocol TCP
  real_server 192.0.2.11 80 {
  }
  real_server 192.0.2.12 80 {
  }
}
virtual_server 198.51.100.106 80 {
  lb_algo rr
  protocol TCP
  real_server 192.0.2.11 80 {
  }
}
virtual_server fwmark 12 {
  lb_algo rr
  real_server 2001:db8:2::13 80 {
  }
}
EOF
cat > /tmp/crash2.conf <<'EOF'
global_defs {
  router_id ipvs_vm_crash
}
virtual_server 198.51.100.100 80 {
  lb_algo wrr
  protocol TCP
  real_server 192.0.2.11 80 {
    weight 2
  }
  real_server 192.0.2.13 80 {
  }
}
virtual_server 198.51.100.107 80 {
  lb_algo rr
  protocol TCP
  real_server 192.0.2.12 80 {
  }
}
EOF

# ------------------------------------------------------------------------------------------ helpers
table() { nsx d ipvsadm -Ln; }
# until PRED (a shell function of the table in $T) holds on two reads 0.5 s apart, at most SETTLE_S s
# (keepalived-ts under TCG takes 20-60 s to start on a loaded host: node loads dist/ over 9p)
SETTLE_S=${SETTLE_S:-150}
settle() {
  local pred=$1 end=$(( $(date +%s) + SETTLE_S ))
  while [ "$(date +%s)" -le $end ]; do
    T=$(table); if $pred; then sleep 0.5; T=$(table); $pred && return 0; fi
    sleep 0.3
  done
  echo "settle: $pred never held"; return 1
}
has() { grep -q -- "$1" <<<"$T"; }
snap() { # snap IMPL PHASE [extra ipvsadm views]
  local f="$OUT/$1.$2.txt"
  table > "$f"
  if [ "${3:-}" = full ]; then
    { echo "--- timeout"; nsx d ipvsadm -Ln --timeout; echo "--- persistent-conn"; nsx d ipvsadm -Ln --persistent-conn; } > "$OUT/$1.$2.extra.txt"
  fi
  if [ "${3:-}" = list ] && [ "$1" = ts ]; then
    nsx d "$CHECKOUT/bin/keepalived-ts" --lvs-list -c "$TSLIST" > "$OUT/ts.$2.lvs-list.txt" 2>&1
    table > "$OUT/ts.$2.ipvsadm-beside.txt"
  fi
  say "$1 $2 recorded"
}
start_impl() { # start_impl IMPL CONF [OPTIONS]: the daemon in the director namespace, checker only
  local impl=$1 conf=$2; shift 2
  local tag=${PIDTAG:-$(basename "$conf" .conf)}
  local pid=/run/$impl-$tag.pid cpid=/run/$impl-$tag-check.pid vpid=/run/$impl-$tag-vrrp.pid
  local bin=keepalived
  [ "$impl" = ts ] && bin=$CHECKOUT/bin/keepalived-ts
  rm -f $pid
  ip netns exec d "$bin" -C -n -l -D -f "$conf" -p $pid -c $cpid -r $vpid "$@" >> "$OUT/$impl.$(basename "$conf" .conf).log" 2>&1 &
  JOB=$!; PIDFILE=$pid; TSLIST=$cpid
}
# SIGTERM to the daemon's main process (its pid file), then wait for it to be gone
stop_impl() {
  local p t; p=$(cat "$PIDFILE" 2>/dev/null) || { echo "stop: no pid file $PIDFILE"; return 1; }
  kill -TERM "$p"
  for t in $(seq 300); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$p" 2>/dev/null && { echo "stop: $p still running"; kill -KILL "$p"; }
  wait $JOB 2>/dev/null
}
foreign() { # a service that is not ours, and a stale copy of one of ours with an extra server
  nsx d ipvsadm -A -t 198.51.100.200:25 -s rr
  nsx d ipvsadm -a -t 198.51.100.200:25 -r 192.0.2.21:25 -m
}

p_started() { has '^TCP  198.51.100.101:80' && ! has '192.0.2.13:8080' && has '192.0.2.12:80 .*Masq    1 ' \
  && has '^FWM  11 IPv6 rr' && has '\[2001:db8:2::11\]:80 ' && has '\[2001:db8:2::12\]:80 '; }
p_rs2down() { has '127.0.0.1:80' && has '192.0.2.12:80 .*Masq    0 ' && ! grep -A3 '^TCP  198.51.100.101:80' <<<"$T" | grep -q '192.0.2.12' \
  && ! has '\[2001:db8:2::12\]:80 '; }
p_rs2up() { ! has '127.0.0.1:80' && has '192.0.2.12:80 .*Masq    1 ' && has '\[2001:db8:2::12\]:80 '; }
p_small() { has '^TCP  198.51.100.100:80 rr'; }
p_small2() { p_small && has '^TCP  198.51.100.106:80 rr'; }
p_small_fixed() { p_small && ! has '192.0.2.99' && ! has '198.51.100.106'; }
# keepalived 2.2.7 keeps an existing service as it finds it (EEXIST is ignored): only wait for it to run
p_small_ka() { has '^TCP  198.51.100.100:80 ' && has '192.0.2.11:80' && sleep 1; }

# Ours also runs its status listener (metrics_listen): the traffic counters it serves are IPVS's own.
mkdir -p /tmp/ts
sed 's/^  router_id ipvs_vm$/&\n  metrics_listen 127.0.0.1:9650/' /tmp/main.conf > /tmp/ts/main.conf
run_main() { # run_main IMPL
  local impl=$1 main=/tmp/main.conf
  [ $impl = ts ] && main=/tmp/ts/main.conf
  foreign
  start_impl $impl $main
  settle p_started; snap $impl start full
  stop_rs 2
  settle p_rs2down; snap $impl rs2down
  start_rs 2
  settle p_rs2up; snap $impl rs2up
  # traffic through the VIP (NAT, persistence): the counters ipvsadm and --lvs-list show
  local okn=0
  for i in 1 2 3 4; do nsx c curl -s -m 3 -o /dev/null http://198.51.100.100/ && okn=$((okn+1)); done
  echo $okn > "$OUT/$impl.traffic.ok"
  # and through the IPv6 fwmark service: the answering servers' names, one a line (rr: two each)
  for i in 1 2 3 4; do nsx c curl -g -s -m 3 'http://[2001:db8:1::101]/' || echo failed; done > "$OUT/$impl.traffic6.txt"
  snap $impl traffic list
  if [ $impl = ts ]; then
    # the checker reads the counters every 2 s while a listener runs; nothing flows now, so both agree
    sleep 5
    nsx d curl -s -m 5 http://127.0.0.1:9650/metrics > "$OUT/ts.traffic.metrics.txt"
    nsx d ipvsadm -Ln --stats --exact > "$OUT/ts.traffic.stats.txt"
  fi
  stop_impl; snap $impl stopped
  # lvs_flush at start (the foreign service goes), then -I: nothing removed on stop
  PIDTAG=small start_impl $impl /tmp/flush.conf -I
  settle p_small2; snap $impl flush-start
  stop_impl; snap $impl keep-I
  # restarted on what -I left after someone changed it (scheduler edited, a server added by hand), then
  # lvs_flush_on_stop: the whole table goes on stop, a foreign service too
  nsx d ipvsadm -E -t 198.51.100.100:80 -s wrr
  nsx d ipvsadm -a -t 198.51.100.100:80 -r 192.0.2.99:80 -m
  PIDTAG=small start_impl $impl /tmp/flushstop.conf
  if [ $impl = ka ]; then settle p_small_ka; else settle p_small_fixed; fi
  snap $impl restart-after-I
  foreign
  stop_impl; snap $impl flush-stop
  nsx d ipvsadm -C
}

# the block (service line and its servers) of the service whose line starts with $1
blk() { awk -v s="$1" 'substr($0, 1, 1) != " " { p = index($0, s) == 1 } p' <<<"$T"; }
# crash1's services (after the respawn, with or without the stray server the killed checker half added)
p_crash1() { has '^TCP  198.51.100.106:80 rr' && has '^FWM  12 IPv6 rr' && has '\[2001:db8:2::13\]:80 ' \
  && blk 'TCP  198.51.100.100:80 rr' | grep -q '192.0.2.12:80'; }
# a new checker process (its pid file names another pid)
respawned() { local p; p=$(cat "$TSLIST" 2>/dev/null); [ -n "$p" ] && [ "$p" != "$CPID0" ]; }
p_crash1_fixed() { p_crash1 && ! has '192.0.2.99' && respawned; }
p_crash1_ka() { p_crash1 && respawned && sleep 2; }
# crash2 exactly (ours) / crash2's services there (keepalived 2.2.7: what it does with the rest is recorded)
p_crash2() { has '^TCP  198.51.100.100:80 wrr' && has '^TCP  198.51.100.107:80 rr' && has '192.0.2.13:80 .*Masq    1 ' \
  && has '192.0.2.11:80 .*Masq    2 ' && ! has '198.51.100.106' && ! has 'FWM  12' && ! blk 'TCP  198.51.100.100:80' | grep -q '192.0.2.12:80'; }
p_crash2_ka() { has '^TCP  198.51.100.107:80 rr' && has '192.0.2.13:80' && sleep 2; }
run_crash() { # run_crash IMPL
  local impl=$1 pred
  foreign
  PIDTAG=crash start_impl $impl /tmp/crash1.conf
  settle p_crash1; snap $impl crash-start
  # the checker process SIGKILLed after it had half made a change: its parent respawns it, same configuration
  nsx d ipvsadm -a -t 198.51.100.100:80 -r 192.0.2.99:80 -m
  CPID0=$(cat "$TSLIST"); kill -KILL "$CPID0"
  pred=p_crash1_fixed; [ $impl = ka ] && pred=p_crash1_ka
  settle $pred; snap $impl crash-respawn
  # the whole daemon SIGKILLed (both stopped first: neither sees the other go), then started with crash2
  local pids; pids="$(cat "$TSLIST") $(cat "$PIDFILE")"
  kill -STOP $pids; kill -KILL $pids
  wait $JOB 2>/dev/null
  sleep 1; snap $impl crash-killed
  PIDTAG=crash start_impl $impl /tmp/crash2.conf
  pred=p_crash2; [ $impl = ka ] && pred=p_crash2_ka
  settle $pred; snap $impl crash-restart
  stop_impl; snap $impl crash-stopped
  nsx d ipvsadm -C
}

say "keepalived $(keepalived --version 2>&1 | head -1)"
run_main ka
run_crash ka
say "keepalived-ts"
run_main ts
run_crash ts
say "done"
echo "ELAPSED $(el)"
