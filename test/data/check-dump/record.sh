# Records keepalived 2.2.7's checker data dump in the IPVS VM (README.md here):
#   scripts/ipvs-vm.sh --out OUTDIR run test/data/check-dump/record.sh test/data/check-dump
# Writes $IPVS_VM_OUT/keepalived-2.2.7.check.data and keepalived.log.
set -u
DATA=$(cd "$1" && pwd)
OUT=${IPVS_VM_OUT:-/tmp/check-dump-out}
mkdir -p "$OUT" /tmp/www
ip link set lo up
ip addr add 192.0.2.1/24 dev lo
echo hi > /tmp/www/index.html
echo 0 > /tmp/tf1
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj /CN=kats \
  -keyout /tmp/key.pem -out /tmp/cert.pem 2>/dev/null
cp "$DATA/keepalived.conf" /tmp/keepalived.conf
python3 "$DATA/servers.py" /tmp/www /tmp/cert.pem /tmp/key.pem > /tmp/servers.log 2>&1 &
for _ in $(seq 1 100); do grep -q ready /tmp/servers.log && break; sleep 0.3; done
keepalived -n -l -C -f /tmp/keepalived.conf -p /tmp/k.pid -c /tmp/c.pid > "$OUT/keepalived.log" 2>&1 &
sleep ${WAIT:-20}
kill -USR1 "$(cat /tmp/c.pid)"
sleep 3
cp /tmp/keepalived_check.data "$OUT/keepalived-2.2.7.check.data"
kill -TERM "$(cat /tmp/k.pid)"; sleep 2
cat /tmp/servers.log >> "$OUT/keepalived.log"
ls -l "$OUT"
