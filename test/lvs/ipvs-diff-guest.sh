# Run inside the IPVS VM by test/lvs/ipvs-diff.test.ts (opt-in: KATS_LVS_DIFF_SEEDS). Arguments: the
# checkout directory and a directory of generated configurations (b<N>.conf, each several seeds' virtual
# servers, test/lvs/vs-generator.ts). Each file is run by keepalived 2.2.7 (`keepalived -C`) and then by
# keepalived-ts (`bin/keepalived-ts -C`, built dist/) in one namespace of the guest's IPVS; once the table
# has settled (the same on four reads 3 s apart) `ipvsadm -Ln`, `-Ln --persistent-conn`, `-Ln
# --thresholds` and `-Ln --tun-info` go to $IPVS_VM_OUT/<impl>.<file>.txt, and after the daemon's stop the table again
# (<impl>.<file>.stopped.txt). The host compares; this script only records. Nothing sends traffic, so the
# connection counters are 0 in both runs.
set -u
CHECKOUT=$1
CONFS=$2
OUT=${IPVS_VM_OUT:-/tmp/ipvs-out}
mkdir -p "$OUT"
T0=$(date +%s.%N)
el() { awk -v a="$T0" -v b="$(date +%s.%N)" 'BEGIN {printf "%.1f", b-a}'; }
say() { echo "[t+$(el)s] $*"; }
nsx() { ip netns exec d "$@"; }

for m in ip_vs ip_vs_rr ip_vs_wrr ip_vs_wlc ip_vs_lc ip_vs_sh ip_vs_dh ip_vs_mh ip_vs_lblc ip_vs_lblcr \
  ip_vs_sed ip_vs_nq ip_vs_fo ip_vs_ovf ip_vs_twos; do modprobe $m 2>/dev/null; done
modprobe sctp 2>/dev/null
ip netns add d
nsx ip link set lo up
nsx ip link add eth0 type dummy
nsx ip addr add 198.51.100.1/24 dev eth0
nsx ip addr add 192.0.2.1/24 dev eth0
nsx ip -6 addr add 2001:db8:1::1/64 dev eth0 nodad
nsx ip -6 addr add 2001:db8:2::1/64 dev eth0 nodad
nsx ip link set eth0 up

table() { nsx ipvsadm -Ln; }
full() {
  table; echo "--- persistent-conn"; nsx ipvsadm -Ln --persistent-conn; echo "--- thresholds"; nsx ipvsadm -Ln --thresholds
  echo "--- tun-info"; nsx ipvsadm -Ln --tun-info
}
SETTLE_S=${SETTLE_S:-300}
# READY (a command) first, then the table the same on four reads 3 s apart
settle() {
  local ready=$1 end=$(( $(date +%s) + SETTLE_S )) prev="" same=0 cur
  until $ready; do
    [ "$(date +%s)" -le $end ] || { echo "settle: never ready ($ready)"; return 1; }
    sleep 0.5
  done
  while [ "$(date +%s)" -le $end ]; do
    cur=$(full)
    if [ "$cur" = "$prev" ]; then same=$((same + 1)); [ $same -ge 3 ] && return 0; else same=0; fi
    prev=$cur; sleep 3
  done
  echo "settle: the table never held still"; return 1
}
alive() { local p; p=$(cat "$CPID" 2>/dev/null) && [ -n "$p" ] && kill -0 "$p" 2>/dev/null; }
ka_ready() { alive; }
# ours logs the data plane it chose once its checker process has the configuration
ts_ready() { alive && grep -q 'LVS data plane' "$LOG"; }
start_impl() { # start_impl IMPL CONF
  local impl=$1 conf=$2 bin=keepalived
  [ "$impl" = ts ] && bin=$CHECKOUT/bin/keepalived-ts
  PIDF=/run/$impl.pid CPID=/run/$impl-check.pid
  rm -f $PIDF $CPID
  LOG="$OUT/$impl.$(basename "$conf" .conf).log"
  ip netns exec d "$bin" -C -n -l -D -f "$conf" -p $PIDF -c $CPID -r /run/$impl-vrrp.pid >> "$LOG" 2>&1 &
  JOB=$!
}
stop_impl() {
  local p t; p=$(cat "$PIDF" 2>/dev/null) || { echo "stop: no pid file $PIDF"; kill -TERM $JOB; wait $JOB; return 1; }
  kill -TERM "$p"
  for t in $(seq 300); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$p" 2>/dev/null && { echo "stop: $p still running"; kill -KILL "$p"; }
  wait $JOB 2>/dev/null
}

say "keepalived $(keepalived --version 2>&1 | head -1)"
for conf in "$CONFS"/*.conf; do
  b=$(basename "$conf" .conf)
  for impl in ka ts; do
    nsx ipvsadm -C
    start_impl $impl "$conf"
    settle ${impl}_ready || echo "$impl $b: not settled" > "$OUT/$impl.$b.unsettled"
    full > "$OUT/$impl.$b.txt"
    stop_impl
    sleep 1
    table > "$OUT/$impl.$b.stopped.txt"
    say "$impl $b recorded"
  done
done
nsx ipvsadm -C
say "done"
echo "ELAPSED $(el)"
