#!/bin/bash
# ipvs-vm.sh — run commands under a Debian 12 kernel that HAS IPVS, inside a qemu VM on this machine.
#
# Why: the host kernel here has no IPVS (and no modules), so keepalived's LVS/checker side and an IPVS
# back end cannot be tried on it. This boots Debian's linux-image-amd64 (6.1, ip_vs* as modules) in qemu
# and runs a bash command file inside it. The guest sees the HOST's whole root filesystem read-only
# through virtio-9p with a throw-away tmpfs overlay on top, so every host binary (keepalived, ipvsadm, ip,
# node, python3, the project checkout) is there at its usual path; writes in the guest are discarded,
# except under $IPVS_VM_OUT, which comes back to the host. No network device: nothing leaves the VM.
#
# Usage (options go before the command):
#   ipvs-vm.sh [options] run CMDFILE [ARGS...]  boot, run `bash CMDFILE ARGS...` as root in the guest,
#                                               print its stdout+stderr live, power off. Exit code = the
#                                               command's; 124 = timeout; 125 = VM did not get to run it.
#   ipvs-vm.sh [options] demo                   built-in end-to-end check: keepalived (checker only)
#                                               + IPVS rr/NAT, 3 busybox-httpd real servers, HTTP_GET,
#                                               a real server stopped and started again, node; timings.
#   ipvs-vm.sh [options] shell                  interactive root shell on the serial console
#                                               (exit the shell to power off; Ctrl-a x kills qemu).
#   ipvs-vm.sh build                            only build/refresh the cache (done by run/demo as needed).
#   ipvs-vm.sh clean                            remove the cache directory.
# Options (or the environment variable in brackets):
#   --mem MB        guest memory, default 2048                         [IPVS_VM_MEM]
#   --smp N         guest CPUs, default 1 (TCG: N>1 uses N host cores and was slower here)  [IPVS_VM_SMP]
#   --timeout S     kill the VM after S seconds, default 900           [IPVS_VM_TIMEOUT]
#   --accel A       auto | kvm | tcg, default auto: kvm only if the CPU shows vmx/svm and /dev/kvm opens
#                   (this machine's /dev/kvm is PVM, which a stock kernel cannot boot under) [IPVS_VM_ACCEL]
#   --modules "M.." modules loaded before the command, default "ip_vs ip_vs_rr ip_vs_wrr veth bridge";
#                   every other module of the kernel loads on demand or with `modprobe M` [IPVS_VM_MODULES]
#   --out DIR       copy the guest's $IPVS_VM_OUT files, output.log and console.log to DIR
#   -e NAME=VALUE   export a variable into the guest command's environment (repeatable)
#   --keep          keep the job directory ($IPVS_VM_CACHE/jobs/job.*) and print its path
#   -v              print the kernel console (boot log) to stderr at the end
# More environment: IPVS_VM_APPEND (extra kernel arguments), IPVS_VM_REFRESH=1 (re-resolve
#   linux-image-amd64 and fetch a newer kernel package if there is one), IPVS_VM_BZIMAGE=1 (boot the
#   compressed bzImage instead of the extracted vmlinux; ~3 s slower).
# Cache: $IPVS_VM_CACHE (default /var/tmp/ipvs-vm): kroot/ = the kernel package extracted, not installed
#   (~435 MB with boot/vmlinux), initramfs.cpio (busybox + the modules that mount 9p/overlay), jobs/.
# In the guest: / = host / read-only + tmpfs overlay (host /tmp and the checkout visible, writes are lost);
#   /proc /sys /dev /run are the guest's own; cwd = the host's cwd at invocation; IPVS_VM=1;
#   IPVS_VM_OUT=/job/out (writable, comes back with --out); IPVS_VM_BUSYBOX = a static busybox (httpd,
#   nc...; its `wget -T` segfaults, use curl -m); /lib/modules = the whole module tree; modprobe, lsmod,
#   rmmod = busybox's (kernel auto-loading works). Kernel arguments include mitigations=off.
# Speed (TCG, measured 2026-12): ~4 s for a trivial job, boot ~3 s to the command; guest code runs
#   ~10-25x slower than on the host (node -e: 0.4 s warm vs 0.05 s). docs/lvs.md ("IPVS") has the facts.
# Needs: root, apt (installs qemu-system-x86 busybox-static if missing, and keepalived ipvsadm for demo).
set -euo pipefail

CACHE=${IPVS_VM_CACHE:-/var/tmp/ipvs-vm}
MEM=${IPVS_VM_MEM:-2048}
SMP=${IPVS_VM_SMP:-1}
TIMEOUT=${IPVS_VM_TIMEOUT:-900}
ACCEL=${IPVS_VM_ACCEL:-auto}
MODULES=${IPVS_VM_MODULES:-ip_vs ip_vs_rr ip_vs_wrr veth bridge}
OUTDIR=""; KEEP=0; VERBOSE=0; ENVS=()

die() { echo "ipvs-vm: $*" >&2; exit 2; }
log() { echo "ipvs-vm: $*" >&2; }
usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit 2; }

while [ $# -gt 0 ]; do
  case $1 in --mem|--smp|--timeout|--accel|--modules|--out|-e) [ $# -ge 2 ] || die "$1 needs a value" ;; esac
  case $1 in
    --mem) MEM=$2; shift 2 ;;
    --smp) SMP=$2; shift 2 ;;
    --timeout) TIMEOUT=$2; shift 2 ;;
    --accel) ACCEL=$2; shift 2 ;;
    --modules) MODULES=$2; shift 2 ;;
    --out) OUTDIR=$2; shift 2 ;;
    -e) [[ $2 == [A-Za-z_]*=* ]] || die "-e wants NAME=VALUE"; ENVS+=("$2"); shift 2 ;;
    --keep) KEEP=1; shift ;;
    -v) VERBOSE=1; shift ;;
    -h|--help) usage ;;
    -*) die "unknown option $1 (see --help)" ;;
    *) break ;;
  esac
done
[ $# -ge 1 ] || usage
CMD=$1; shift
[ "$(id -u)" = 0 ] || die "needs root"
case $CACHE in /*) ;; *) die "IPVS_VM_CACHE must be an absolute path" ;; esac
[[ $CACHE != *[[:space:]]* ]] || die "IPVS_VM_CACHE must not contain spaces"

# ---------------------------------------------------------------------------------------------- host side
APT_UPDATED=0
need_pkgs() { # need_pkgs pkg... : apt-get install the missing ones
  local p miss=()
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || miss+=("$p")
  done
  [ ${#miss[@]} -eq 0 ] && return 0
  log "installing ${miss[*]}"
  [ $APT_UPDATED = 1 ] || { apt-get update -qq >/dev/null 2>&1 || true; APT_UPDATED=1; }
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -o DPkg::Lock::Timeout=300 --no-install-recommends "${miss[@]}" >/dev/null 2>&1 \
    || die "apt-get install ${miss[*]} failed"
  # a package's postinst may have started its daemon; the host must not run one
  if printf '%s\n' "${miss[@]}" | grep -qx keepalived; then
    systemctl stop keepalived 2>/dev/null || service keepalived stop >/dev/null 2>&1 || true
  fi
}

STAGE1_MODULES="virtio_pci 9pnet_virtio 9p overlay virtio_rng"

write_init() { # the initramfs /init: mount host root (9p) + tmpfs overlay, then switch_root to stage2
cat <<'EOF'
#!/bin/busybox sh
# ipvs-vm stage 1 (initramfs)
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc; mount -t sysfs sys /sys; mount -t devtmpfs dev /dev
up() { cut -d' ' -f1 /proc/uptime; }
echo "ipvs-vm: stage1 at $(up)s"
CACHE=/var/tmp/ipvs-vm MODE=run MODS=""
for a in $(cat /proc/cmdline); do
  case $a in ipvsvm.cache=*) CACHE=${a#*=} ;; ipvsvm.mode=*) MODE=${a#*=} ;; ipvsvm.modules=*) MODS=$(echo ${a#*=} | tr , ' ') ;; esac
done
fail() { echo "ipvs-vm: stage1 FAILED: $*"; sleep 1; poweroff -f; }
for m in virtio_pci 9pnet_virtio 9p overlay virtio_rng; do modprobe $m || fail "modprobe $m"; done
mkdir -p /lower /rw /newroot
mount -t 9p -o trans=virtio,version=9p2000.L,ro,cache=loose,msize=262144 hostroot /lower || fail "9p hostroot"
mount -t tmpfs -o mode=755 rw /rw && mkdir -p /rw/upper /rw/work
mount -t overlay -o lowerdir=/lower,upperdir=/rw/upper,workdir=/rw/work overlay /newroot || fail overlay
N=/newroot
mkdir -p $N/job && mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144 job $N/job || fail "9p job"
echo "ipvs-vm: root mounted at $(up)s"
mount --move /proc $N/proc; mount --move /sys $N/sys; mount --move /dev $N/dev
mount -t tmpfs -o mode=755 run $N/run
mkdir -p $N/dev/pts $N/dev/shm
mount -t devpts -o gid=5,mode=620,ptmxmode=666 devpts $N/dev/pts; mount -t tmpfs -o mode=1777 shm $N/dev/shm
[ -d $N$CACHE/kroot/lib/modules ] || fail "no $CACHE/kroot/lib/modules in the host root"
mkdir -p $N/usr/lib/modules && mount --bind $N$CACHE/kroot/lib/modules $N/usr/lib/modules
mkdir -p $N/run/ipvs-vm/bin $N/usr/sbin
cp /bin/busybox $N/run/ipvs-vm/busybox
for t in modprobe lsmod rmmod insmod modinfo depmod; do
  printf '#!/run/ipvs-vm/busybox sh\nexec /run/ipvs-vm/busybox %s "$@"\n' $t > $N/run/ipvs-vm/bin/$t
  chmod 755 $N/run/ipvs-vm/bin/$t; rm -f $N/usr/sbin/$t; ln -s /run/ipvs-vm/bin/$t $N/usr/sbin/$t
done
cp /stage2 $N/run/ipvs-vm/stage2
echo "$MODE" > $N/run/ipvs-vm/mode; echo "$MODS" > $N/run/ipvs-vm/modules
exec switch_root $N /run/ipvs-vm/busybox sh /run/ipvs-vm/stage2
EOF
}

write_stage2() { # runs as pid 1 in the overlay root
cat <<'EOF'
# ipvs-vm stage 2 (pid 1 in the overlay root)
B=/run/ipvs-vm/busybox
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 TERM=dumb
up() { $B cut -d' ' -f1 /proc/uptime; }
$B hostname ipvs-vm
echo /run/ipvs-vm/bin/modprobe > /proc/sys/kernel/modprobe
$B ip link set lo up 2>/dev/null || true
for m in $($B cat /run/ipvs-vm/modules); do $B modprobe $m || echo "ipvs-vm: modprobe $m failed"; done
echo "ipvs-vm: stage2 ready at $(up)s"
MODE=$($B cat /run/ipvs-vm/mode)
if [ "$MODE" = shell ]; then
  $B setsid $B cttyhack /bin/bash -l
else
  echo "uptime_job_start=$(up)" > /job/timing
  /bin/bash /job/run.sh < /dev/null >> /job/output.log 2>&1
  echo $? > /job/rc.tmp
  echo "uptime_job_end=$(up)" >> /job/timing
  $B mv /job/rc.tmp /job/rc
fi
$B sync
$B umount /job 2>/dev/null
$B poweroff -f
EOF
}

build() {
  need_pkgs qemu-system-x86 busybox-static
  mkdir -p "$CACHE"
  exec 9>"$CACHE/.lock"; flock 9
  # kernel: the package linux-image-amd64 depends on, extracted (not installed) into $CACHE/kroot
  if [ ! -f "$CACHE/kroot/.done" ] || [ -n "${IPVS_VM_REFRESH:-}" ]; then
    [ $APT_UPDATED = 1 ] || { apt-get update -qq >/dev/null 2>&1 || true; APT_UPDATED=1; }
    local kpkg kver
    kpkg=$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/ {print $2; exit}')
    [ -n "$kpkg" ] || die "cannot resolve linux-image-amd64 (apt-get update?)"
    kver=$(apt-cache policy "$kpkg" | awk '/Candidate:/ {print $2}')
    if [ "$(cat "$CACHE/kroot/.done" 2>/dev/null)" != "$kpkg $kver" ]; then
      log "fetching $kpkg $kver"
      rm -rf "$CACHE/dl" "$CACHE/kroot.new"; mkdir -p "$CACHE/dl"
      ( cd "$CACHE/dl" && apt-get download "$kpkg" >/dev/null 2>&1 ) || die "apt-get download $kpkg failed"
      dpkg-deb -x "$CACHE"/dl/"$kpkg"_*.deb "$CACHE/kroot.new"
      busybox depmod -b "$CACHE/kroot.new" "$(ls "$CACHE/kroot.new/lib/modules")"
      echo "$kpkg $kver" > "$CACHE/kroot.new/.done"
      rm -rf "$CACHE/kroot" "$CACHE/dl"; mv "$CACHE/kroot.new" "$CACHE/kroot"
      rm -f "$CACHE/initramfs.cpio"
    fi
  fi
  # uncompressed ELF vmlinux: qemu boots it through the PVH entry (CONFIG_PVH), which skips the xz
  # decompression that takes ~3 s under TCG; the bzImage stays as the fallback
  if [ ! -f "$CACHE/kroot/boot/vmlinux" ] && [ ! -f "$CACHE/kroot/boot/.no-vmlinux" ]; then
    local vz off; vz=$(ls "$CACHE"/kroot/boot/vmlinuz-* | head -1)
    off=$(LC_ALL=C grep -obUaP '\xfd7zXZ\x00' "$vz" | head -1 | cut -d: -f1 || true)
    if [ -n "$off" ] && command -v xz >/dev/null; then
      tail -c +$((off + 1)) "$vz" | xz -dc 2>/dev/null > "$CACHE/kroot/boot/vmlinux.new" || true
      if [ "$(head -c 4 "$CACHE/kroot/boot/vmlinux.new" | od -An -tx1 | tr -d ' ')" = 7f454c46 ]; then
        mv "$CACHE/kroot/boot/vmlinux.new" "$CACHE/kroot/boot/vmlinux"
      fi
    fi
    rm -f "$CACHE/kroot/boot/vmlinux.new"
    [ -f "$CACHE/kroot/boot/vmlinux" ] || touch "$CACHE/kroot/boot/.no-vmlinux"
  fi
  # initramfs: busybox, /init, stage2, the stage-1 modules with their dependencies
  local K want
  K=$(ls "$CACHE/kroot/lib/modules")
  want="$(write_init; write_stage2; cat /bin/busybox | md5sum; echo "$K $STAGE1_MODULES")"
  if [ ! -f "$CACHE/initramfs.cpio" ] || [ "$(cat "$CACHE/initramfs.key" 2>/dev/null)" != "$(echo "$want" | md5sum)" ]; then
    local S="$CACHE/initramfs.d" m f
    rm -rf "$S"; mkdir -p "$S"/{bin,proc,sys,dev,lib/modules/$K}
    cp /bin/busybox "$S/bin/busybox"
    write_init > "$S/init"; chmod 755 "$S/init"
    write_stage2 > "$S/stage2"
    for m in $STAGE1_MODULES; do
      for f in $(awk -v m="$m" '{n=$1; sub(/:$/,"",n); b=n; sub(/.*\//,"",b); sub(/\.ko$/,"",b); gsub(/-/,"_",b);
                                if (b==m) {sub(/:/,""); print; exit}}' "$CACHE/kroot/lib/modules/$K/modules.dep"); do
        mkdir -p "$S/lib/modules/$K/$(dirname "$f")"
        cp "$CACHE/kroot/lib/modules/$K/$f" "$S/lib/modules/$K/$f"
      done
    done
    busybox depmod -b "$S" "$K"
    ( cd "$S" && find . | busybox cpio -o -H newc 2>/dev/null ) > "$CACHE/initramfs.cpio.new"
    mv "$CACHE/initramfs.cpio.new" "$CACHE/initramfs.cpio"
    echo "$want" | md5sum > "$CACHE/initramfs.key"
    rm -rf "$S"
  fi
  flock -u 9; exec 9>&-
}

pick_accel() {
  case $ACCEL in
    tcg) echo tcg ;;
    kvm) echo kvm ;;
    auto) if grep -qw -E 'vmx|svm' /proc/cpuinfo && [ -r /dev/kvm ] && [ -w /dev/kvm ]; then echo kvm; else echo tcg; fi ;;
    *) die "--accel must be auto, kvm or tcg" ;;
  esac
}

QPID=""; TPID=""; JOB=""
cleanup() {
  local rc=$?
  [ -n "$TPID" ] && kill "$TPID" 2>/dev/null || true
  if [ -n "$QPID" ] && kill -0 "$QPID" 2>/dev/null; then
    kill "$QPID" 2>/dev/null || true; sleep 1; kill -9 "$QPID" 2>/dev/null || true
  fi
  if [ -n "$JOB" ] && [ $KEEP = 0 ]; then rm -rf "$JOB"; fi
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

boot() { # boot MODE CMDFILE [ARGS...]
  local mode=$1 cmdfile=$2; shift 2
  local accel kernel a; accel=$(pick_accel)
  kernel=$(ls "$CACHE"/kroot/boot/vmlinux "$CACHE"/kroot/boot/vmlinuz-* 2>/dev/null | head -1)
  [ -n "$kernel" ] || die "no kernel in $CACHE/kroot/boot"
  [ -n "${IPVS_VM_BZIMAGE:-}" ] && kernel=$(ls "$CACHE"/kroot/boot/vmlinuz-* | head -1)
  mkdir -p "$CACHE/jobs"
  JOB=$(mktemp -d "$CACHE/jobs/job.XXXXXX")
  mkdir -p "$JOB/out"; : > "$JOB/output.log"
  {
    echo '#!/bin/bash'
    echo "export IPVS_VM=1 IPVS_VM_OUT=/job/out IPVS_VM_BUSYBOX=/run/ipvs-vm/busybox"
    for a in "${ENVS[@]+"${ENVS[@]}"}"; do printf 'export %q\n' "$a"; done
    printf 'cd %q 2>/dev/null || cd /job\n' "$PWD"
    printf 'exec /bin/bash /job/cmd'; for a in "$@"; do printf ' %q' "$a"; done; echo
  } > "$JOB/run.sh"
  [ "$mode" = run ] && cp "$cmdfile" "$JOB/cmd"
  # shellcheck disable=SC2054  # commas belong to qemu's option syntax
  local qargs=(-nodefaults -no-user-config -display none -no-reboot
    -m "$MEM" -smp "$SMP" -kernel "$kernel" -initrd "$CACHE/initramfs.cpio"
    -append "console=ttyS0 quiet panic=-1 mitigations=off ipvsvm.cache=$CACHE ipvsvm.mode=$mode ipvsvm.modules=$(echo $MODULES | tr ' ' ,) ${IPVS_VM_APPEND:-}"
    -virtfs local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap
    -virtfs "local,path=$JOB,mount_tag=job,security_model=none,multidevs=remap"
    -device virtio-rng-pci)
  # shellcheck disable=SC2054
  if [ "$accel" = kvm ]; then qargs+=(-accel kvm -cpu host); else qargs+=(-accel tcg,thread=multi -cpu max); fi
  local t0 t1; t0=$(date +%s.%N)
  if [ "$mode" = shell ]; then
    qemu-system-x86_64 "${qargs[@]}" -serial mon:stdio || true
    return 0
  fi
  timeout -k 5 "$TIMEOUT" qemu-system-x86_64 "${qargs[@]}" -serial "file:$JOB/console.log" -monitor none \
    > "$JOB/qemu.log" 2>&1 &
  QPID=$!
  tail -n +1 -s 0.2 -F --pid=$QPID "$JOB/output.log" 2>/dev/null &
  TPID=$!
  local qrc=0; wait $QPID || qrc=$?
  QPID=""
  wait $TPID 2>/dev/null || true; TPID=""
  t1=$(date +%s.%N)
  local rc js je
  js=$(sed -n 's/^uptime_job_start=//p' "$JOB/timing" 2>/dev/null || true)
  je=$(sed -n 's/^uptime_job_end=//p' "$JOB/timing" 2>/dev/null || true)
  if [ -f "$JOB/rc" ]; then rc=$(cat "$JOB/rc"); elif [ $qrc = 124 ] || [ $qrc = 137 ]; then rc=124; else rc=125; fi
  if [ $rc = 124 ] && [ ! -f "$JOB/rc" ]; then log "timeout after ${TIMEOUT}s"; fi
  if [ $VERBOSE = 1 ] || [ $rc = 125 ] || { [ $rc = 124 ] && [ ! -f "$JOB/rc" ]; }; then
    echo "----- guest console ($JOB/console.log) -----" >&2
    tr -d '\r' < "$JOB/console.log" | sed 's/\x1b[^a-zA-Z]*[a-zA-Z]//g; s/\x1bc//g' | tail -n 60 >&2 || true
    [ -s "$JOB/qemu.log" ] && { echo "----- qemu -----" >&2; cat "$JOB/qemu.log" >&2; }
  fi
  log "$(awk -v t0="$t0" -v t1="$t1" -v js="${js:-0}" -v je="${je:-0}" -v a="$accel" -v rc="$rc" 'BEGIN {
    printf "accel=%s rc=%s total=%.1fs guest-uptime-at-job-start=%.1fs", a, rc, t1-t0, js
    if (je > 0) printf " job=%.1fs", je-js }')"
  if [ -n "$OUTDIR" ]; then
    mkdir -p "$OUTDIR"; cp -r "$JOB/out/." "$OUTDIR/"; cp "$JOB/output.log" "$JOB/console.log" "$OUTDIR/" 2>/dev/null || true
  fi
  [ $KEEP = 1 ] && log "job dir kept: $JOB"
  return "$rc"
}

demo_cmd() { # the built-in end-to-end check, run inside the guest
cat <<'EOF'
# keepalived (checker process only) driving IPVS rr/NAT over 3 busybox-httpd real servers.
# client 198.51.100.10 -- director eth0 198.51.100.1 + VIP 198.51.100.100 | director eth1 192.0.2.1
# -- br0 (guest root netns) -- rs1..rs3 192.0.2.11-13 (default route via the director)
set -u
BB=$IPVS_VM_BUSYBOX
T0=$(date +%s.%N); TL=$T0; FAILS=0
el() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN {printf "%.2f", b-a}'; }
step() { echo "[t+$(el $T0)s, step $(el $TL)s] $*"; TL=$(date +%s.%N); }
ok() { echo "PASS: $*"; }
bad() { echo "FAIL: $*"; FAILS=$((FAILS+1)); }
nsx() { local n=$1; shift; ip netns exec "$n" "$@"; }
echo "kernel $(uname -r); $(keepalived --version 2>&1 | head -1); $(ipvsadm --version 2>&1 | head -1)"
step "start"
modprobe ip_vs && modprobe ip_vs_rr; cat /proc/net/ip_vs | head -1
step "ip_vs loaded"
ip link add br0 type bridge && ip link set br0 up
for n in client director rs1 rs2 rs3; do ip netns add $n; nsx $n ip link set lo up; done
ip link add eth0 netns client type veth peer name eth0 netns director
ip link add eth1 netns director type veth peer name d1 && ip link set d1 master br0 up
nsx client ip addr add 198.51.100.10/24 dev eth0; nsx client ip link set eth0 up
nsx director ip addr add 198.51.100.1/24 dev eth0
nsx director ip addr add 198.51.100.100/24 dev eth0
nsx director ip addr add 192.0.2.1/24 dev eth1
nsx director ip link set eth0 up; nsx director ip link set eth1 up
nsx director sh -c 'echo 1 > /proc/sys/net/ipv4/ip_forward'
for i in 1 2 3; do
  ip link add eth0 netns rs$i type veth peer name r$i && ip link set r$i master br0 up
  nsx rs$i ip addr add 192.0.2.1$i/24 dev eth0; nsx rs$i ip link set eth0 up
  nsx rs$i ip route add default via 192.0.2.1
  mkdir -p /tmp/www$i; echo "rs$i" > /tmp/www$i/index.html
done
step "5 netns, bridge, veths"
if command -v curl >/dev/null; then GET="curl -s -m 2"; else GET="timeout 3 $BB wget -q -O -"; fi  # busybox 1.35 wget -T segfaults
start_rs() { ip netns exec rs$1 $BB httpd -f -p 80 -h /tmp/www$1 & echo $! > /tmp/rs$1.pid; }
for i in 1 2 3; do start_rs $i; done
for i in 1 2 3; do for t in $(seq 50); do nsx director $GET http://192.0.2.1$i/ >/dev/null 2>&1 && break; sleep 0.1; done; done
step "3 httpd real servers answer"
cat > /tmp/ka.conf <<'KA'
global_defs {
  router_id ipvs_vm
}
virtual_server 198.51.100.100 80 {
  delay_loop 1
  lb_algo rr
  lb_kind NAT
  protocol TCP
  real_server 192.0.2.11 80 {
    weight 1
    HTTP_GET { url { path / status_code 200 } connect_timeout 1 retry 0 delay_before_retry 1 }
  }
  real_server 192.0.2.12 80 {
    weight 1
    HTTP_GET { url { path / status_code 200 } connect_timeout 1 retry 0 delay_before_retry 1 }
  }
  real_server 192.0.2.13 80 {
    weight 1
    HTTP_GET { url { path / status_code 200 } connect_timeout 1 retry 0 delay_before_retry 1 }
  }
}
KA
keepalived -t -f /tmp/ka.conf && ok "keepalived -t accepts the config" || bad "keepalived -t"
ip netns exec director keepalived -C -n -l -D -f /tmp/ka.conf -p /run/ka.pid -c /run/ka-check.pid > /tmp/ka.log 2>&1 &
KAPID=$!
rs_count() { nsx director ipvsadm -Ln | grep -c -- '-> 192.0.2.1' || true; }
n=0; for t in $(seq 300); do n=$(rs_count); [ "$n" = 3 ] && break; sleep 0.1; done
[ "$n" = 3 ] && ok "ipvsadm shows 3 real servers" || bad "ipvsadm shows $n real servers"
step "keepalived started, IPVS service with 3 real servers"
nsx director ipvsadm -Ln
declare -A hits=(); for i in $(seq 9); do r=$(nsx client $GET http://198.51.100.100/ 2>/dev/null || echo none); hits[$r]=$(( ${hits[$r]:-0} + 1 )); done
echo "9 requests from client: $(for k in "${!hits[@]}"; do printf '%s=%s ' $k ${hits[$k]}; done)"
[ "${hits[rs1]:-0}" = 3 ] && [ "${hits[rs2]:-0}" = 3 ] && [ "${hits[rs3]:-0}" = 3 ] && ok "rr spreads 9 requests 3/3/3" || bad "rr spread"
step "9 client requests through the VIP"
sleep 2; nsx director ipvsadm -Ln --stats   # 6.1 folds per-CPU counters into these every 2 s
kill "$(cat /tmp/rs2.pid)"; TK=$(date +%s.%N)
for t in $(seq 200); do nsx director ipvsadm -Ln | grep -q '192.0.2.12:' || break; sleep 0.1; done
if nsx director ipvsadm -Ln | grep -q '192.0.2.12:'; then bad "rs2 still in IPVS 20 s after its httpd stopped"; else ok "rs2 removed from IPVS $(el $TK)s after its httpd stopped"; fi
step "rs2 stopped and removed"
declare -A h2=(); for i in $(seq 6); do r=$(nsx client $GET http://198.51.100.100/ 2>/dev/null || echo none); h2[$r]=$(( ${h2[$r]:-0} + 1 )); done
echo "6 requests: $(for k in "${!h2[@]}"; do printf '%s=%s ' $k ${h2[$k]}; done)"
[ -z "${h2[rs2]:-}" ] && [ -z "${h2[none]:-}" ] && ok "no request to rs2, none failed" || bad "requests after removal"
start_rs 2; TS=$(date +%s.%N)
for t in $(seq 200); do nsx director ipvsadm -Ln | grep -q '192.0.2.12:' && break; sleep 0.1; done
nsx director ipvsadm -Ln | grep -q '192.0.2.12:' && ok "rs2 back in IPVS $(el $TS)s after its httpd restarted" || bad "rs2 not re-added"
step "rs2 restarted and re-added"
kill $KAPID; wait $KAPID 2>/dev/null
nsx director ipvsadm -Ln | grep -q 'TCP  198.51.100.100:80' && bad "virtual server left after keepalived stopped" || ok "keepalived removed the virtual server on exit"
step "keepalived stopped"
echo "--- keepalived log (tail) ---"; tail -n 15 /tmp/ka.log
for i in 1 2 3; do kill "$(cat /tmp/rs$i.pid)" 2>/dev/null; done
if command -v node >/dev/null; then
  TN=$(date +%s.%N); v=$(node -e 'const os=require("os"); console.log(process.version, os.release())' 2>&1) && ok "node runs: $v ($(el $TN)s)" || bad "node: $v"
  step "node"
fi
echo "RESULT: $FAILS failure(s)"; [ $FAILS = 0 ]
EOF
}

case $CMD in
  build) build; log "cache ready: $CACHE ($(cat "$CACHE/kroot/.done"))" ;;
  clean)
    rm -rf "$CACHE"/{kroot,kroot.new,dl,jobs,initramfs.d} "$CACHE"/{initramfs.cpio,initramfs.cpio.new,initramfs.key,.lock}
    rmdir "$CACHE" 2>/dev/null || true; log "removed $CACHE" ;;
  run)
    [ $# -ge 1 ] || die "run needs a command file"
    f=$1; shift; [ -f "$f" ] || die "no file $f"
    build; boot run "$f" "$@" ;;
  demo)
    need_pkgs keepalived ipvsadm; build
    tmp=$(mktemp); demo_cmd > "$tmp"; rc=0; boot run "$tmp" || rc=$?; rm -f "$tmp"; exit $rc ;;
  shell) build; boot shell /dev/null ;;
  *) die "unknown command $CMD (see --help)" ;;
esac
