#!/usr/bin/env bash
# The dotgate lab: network namespaces, veth pairs, a throwaway CA, two unbound DoT
# upstreams serving a synthetic zone, and hugepages for the dataplane. The addressing
# plan and the paths are config/lab.toml's; deploy/lab/README.md draws the map.
#
#   lab.sh up                       build the lab (idempotent: completes a partial one)
#   lab.sh down                     stop and remove everything, even after a failed up
#   lab.sh status                   what is there; exits 0 only when the lab is complete
#   lab.sh upstream N stop|start [good|wrongname]
#                                   stop or (re)start upstream N (1 or 2); "wrongname"
#                                   serves a certificate for another name (strict-mode
#                                   tests), "good" (default) its own
#   lab.sh loss PERCENT             drop PERCENT % of the upstream namespace's packets in
#                                   each direction (nftables numgen); 0 removes the rule
#
# Runs as root. Environment: DOTGATE_LAB_HUGEPAGES (2 MiB pages to reserve, default 512).
set -euo pipefail

readonly RUN=/run/dotgate-lab        # lab.toml's paths point here; keep them in step
readonly PREFIX=dotgate-lab          # lab.toml's [dataplane] file_prefix
readonly NS_CLIENT=dg-client NS_ROUTER=dg-router NS_UPSTREAM=dg-upstream NS_DP=dg-dp
readonly ALL_NS=("$NS_CLIENT" "$NS_ROUTER" "$NS_UPSTREAM" "$NS_DP")
readonly ZONE=lab.dotgate.test
readonly HUGEPAGES=${DOTGATE_LAB_HUGEPAGES:-512}
readonly HP_SYS=/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages
readonly HP_DIR=/dev/hugepages

# Upstream N: addresses (the first IPv4 and IPv6 are its certificate's IP SANs too).
readonly UP1_V4=10.53.3.10 UP1_V6=fd00:53:3::10
readonly UP2_V4=10.53.3.11 UP2_V6=fd00:53:3::11

log() { echo "lab: $*"; }
die() { echo "lab: error: $*" >&2; exit 1; }
in_ns() { local ns=$1; shift; ip netns exec "$ns" "$@"; }
ns_exists() { [ -e "/run/netns/$1" ]; }
link_exists() { ip -n "$1" link show "$2" >/dev/null 2>&1; }

need_root() { [ "$(id -u)" = 0 ] || die "run as root"; }
need_tools() {
  local t missing=()
  for t in ip ethtool openssl unbound nft ss sysctl setsid; do
    command -v "$t" >/dev/null || missing+=("$t")
  done
  [ ${#missing[@]} -eq 0 ] || die "missing ${missing[*]} (run deploy/install-deps.sh)"
}

# ---- namespaces and links ------------------------------------------------------------

make_ns() {
  ns_exists "$1" || ip netns add "$1"
  ip -n "$1" link set lo up
}

# veth NS_A DEV_A NS_B DEV_B: a veth pair between two namespaces, both ends up, with
# checksum and segmentation offloads off. Offloads off matter twice over: a frame sent
# with a partial checksum (tx offload) reaches af_packet with the checksum not filled in,
# and a peer with rx offload on marks frames from the dataplane "checksum unnecessary",
# so the kernel would never check the dataplane's checksums.
veth() {
  local na=$1 da=$2 nb=$3 db=$4 ns dev ns_dev
  if ! link_exists "$na" "$da"; then
    link_exists "$nb" "$db" && ip -n "$nb" link del "$db"
    ip link add "$da" netns "$na" type veth peer name "$db" netns "$nb"
  fi
  for ns_dev in "$na:$da" "$nb:$db"; do
    ns=${ns_dev%%:*} dev=${ns_dev#*:}
    in_ns "$ns" ethtool -K "$dev" tx off rx off tso off gso off gro off rxvlan off txvlan off \
      >/dev/null 2>&1 || die "ethtool -K $dev (in $ns) failed"
    ip -n "$ns" link set "$dev" up
  done
}

addr() {  # ns dev address/len...
  local ns=$1 dev=$2 a; shift 2
  for a in "$@"; do
    if [[ $a == *:* ]]; then ip -n "$ns" -6 addr replace "$a" dev "$dev" nodad
    else ip -n "$ns" addr replace "$a" dev "$dev"; fi
  done
}

net_up() {
  local ns
  for ns in "${ALL_NS[@]}"; do make_ns "$ns"; done
  veth "$NS_CLIENT" dg-cl0 "$NS_ROUTER" dg-rt-cl
  veth "$NS_UPSTREAM" dg-up0 "$NS_ROUTER" dg-rt-up
  veth "$NS_DP" dg-dp0 "$NS_ROUTER" dg-rt-dp

  in_ns "$NS_ROUTER" sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
  addr "$NS_ROUTER" dg-rt-dp 10.53.1.1/24 fd00:53:1::1/64
  # 10.53.4.0/24 and fd00:53:4::/64: a second client prefix that lab.toml's listeners do
  # not allow, for the ACL tests (dig -b 10.53.4.2 ...).
  addr "$NS_ROUTER" dg-rt-cl 10.53.2.1/24 fd00:53:2::1/64 10.53.4.1/24 fd00:53:4::1/64
  addr "$NS_ROUTER" dg-rt-up 10.53.3.1/24 fd00:53:3::1/64

  addr "$NS_CLIENT" dg-cl0 10.53.2.2/24 fd00:53:2::2/64 10.53.4.2/24 fd00:53:4::2/64
  ip -n "$NS_CLIENT" route replace default via 10.53.2.1
  ip -n "$NS_CLIENT" -6 route replace default via fd00:53:2::1

  addr "$NS_UPSTREAM" dg-up0 "$UP1_V4/24" "$UP2_V4/24" "$UP1_V6/64" "$UP2_V6/64"
  ip -n "$NS_UPSTREAM" route replace default via 10.53.3.1
  ip -n "$NS_UPSTREAM" -6 route replace default via fd00:53:3::1

  # The dataplane's end. The kernel of dg-dp still sees every frame af_packet sees, so it
  # must own no address there (IPv6 off: no link-local, no DAD, RS or MLD), or it would
  # answer ARP/ND and reset TCP alongside the dataplane. Promiscuous, so frames reach
  # af_packet whatever MAC address the dataplane uses.
  in_ns "$NS_DP" sysctl -qw net.ipv6.conf.dg-dp0.disable_ipv6=1
  ip -n "$NS_DP" addr flush dev dg-dp0
  ip -n "$NS_DP" link set dg-dp0 promisc on
}

# ---- hugepages -----------------------------------------------------------------------

hugetlbfs_mounted() { awk '$3 == "hugetlbfs" { found = 1 } END { exit !found }' /proc/mounts; }

hugepages_up() {
  [ -w "$HP_SYS" ] || die "no 2 MiB hugepage support ($HP_SYS)"
  local cur
  cur=$(cat "$HP_SYS")
  [ -f "$RUN/state/nr_hugepages.prev" ] || echo "$cur" >"$RUN/state/nr_hugepages.prev"
  if [ "$cur" -lt "$HUGEPAGES" ]; then
    # down gives them back only if nobody changed the count meanwhile.
    echo "$HUGEPAGES" >"$RUN/state/nr_hugepages.set"
    echo "$HUGEPAGES" >"$HP_SYS"
    local got
    got=$(cat "$HP_SYS")
    if [ "$got" -lt "$HUGEPAGES" ]; then
      echo "$cur" >"$HP_SYS"
      rm -f "$RUN/state/nr_hugepages.set"
      die "the kernel gave only $got of $HUGEPAGES 2 MiB hugepages (memory fragmented or short?" \
        "DOTGATE_LAB_HUGEPAGES=N asks for fewer)"
    fi
  fi
  # DPDK needs a hugetlbfs mount; Debian's systemd mounts /dev/hugepages, a machine
  # without systemd may have none.
  if ! hugetlbfs_mounted; then
    mkdir -p "$HP_DIR"
    mount -t hugetlbfs -o pagesize=2M nodev "$HP_DIR"
    touch "$RUN/state/hugetlbfs.mounted"
  fi
}

# ---- CA and certificates -------------------------------------------------------------

# cert NAME FILE-STEM SAN: an ECDSA P-256 leaf signed by the lab CA, valid 30 days.
cert() {
  local name=$1 out=$2 san=$3
  [ -s "$out.pem" ] && [ -s "$out.key" ] && return 0
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$name" \
    -keyout "$out.key" -out "$out.csr" 2>/dev/null
  printf '%s\n' "subjectAltName=$san" "basicConstraints=critical,CA:FALSE" \
    "keyUsage=critical,digitalSignature" "extendedKeyUsage=serverAuth" >"$out.ext"
  openssl x509 -req -in "$out.csr" -CA "$RUN/ca/ca.pem" -CAkey "$RUN/ca/ca.key" \
    -CAcreateserial -days 30 -extfile "$out.ext" -out "$out.pem" 2>/dev/null
  rm -f "$out.csr" "$out.ext"
  chmod 600 "$out.key"
}

pki_up() {
  mkdir -p "$RUN/ca" "$RUN/tls"
  if [ ! -s "$RUN/ca/ca.pem" ] || [ ! -s "$RUN/ca/ca.key" ]; then
    rm -f "$RUN"/tls/*  # leaves of an older CA would no longer verify
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 \
      -subj "/CN=dotgate lab CA (throwaway)" \
      -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
      -keyout "$RUN/ca/ca.key" -out "$RUN/ca/ca.pem" 2>/dev/null
    chmod 600 "$RUN/ca/ca.key"
  fi
  cert "upstream1.$ZONE" "$RUN/tls/upstream1" "DNS:upstream1.$ZONE,IP:$UP1_V4,IP:$UP1_V6"
  cert "upstream2.$ZONE" "$RUN/tls/upstream2" "DNS:upstream2.$ZONE,IP:$UP2_V4,IP:$UP2_V6"
  cert "dotgate.$ZONE" "$RUN/tls/dotgate.lab" "DNS:dotgate.$ZONE,IP:10.53.1.2,IP:fd00:53:1::2"
  # Signed by the lab CA, valid, but for a name no upstream has (lab.sh upstream N start wrongname).
  cert "wrongname.$ZONE" "$RUN/tls/wrongname" \
    "DNS:wrongname.$ZONE,IP:$UP1_V4,IP:$UP1_V6,IP:$UP2_V4,IP:$UP2_V6"
}

# ---- the synthetic zone and the upstreams --------------------------------------------

# The zone both upstreams serve, as unbound local-data, and a dnsperf query file made from
# it. Names: www, h1..h500 (A and AAAA), alias (CNAME to www), big (a TXT RRset of about
# 2 KB: over 1232 bytes, so UDP clients get TC=1), ttl1 (TTL 1 s); nx.* names do not
# exist (NXDOMAIN with the SOA). which.lab.dotgate.test differs: TXT "upstream1" or
# "upstream2", and A 10.53.3.10 or 10.53.3.11, so a test can tell which one answered.
zone_up() {
  local i n filler f=$RUN/zone/lab.conf
  mkdir -p "$RUN/zone"
  {
    echo "local-zone: \"$ZONE.\" static"
    echo "local-data: \"$ZONE. 3600 IN SOA ns.$ZONE. hostmaster.$ZONE. 1 3600 600 86400 300\""
    echo "local-data: \"$ZONE. 3600 IN NS ns.$ZONE.\""
    echo "local-data: \"ns.$ZONE. 3600 IN A 10.53.3.10\""
    echo "local-data: \"www.$ZONE. 300 IN A 198.18.0.80\""
    echo "local-data: \"www.$ZONE. 300 IN AAAA 2001:db8:53::80\""
    echo "local-data: \"alias.$ZONE. 300 IN CNAME www.$ZONE.\""
    echo "local-data: \"ttl1.$ZONE. 1 IN A 198.18.0.1\""
    filler=$(seq -s- 1000 1100 | head -c 240)
    for i in $(seq 1 8); do
      echo "local-data: 'big.$ZONE. 300 IN TXT \"$i $filler\"'"
    done
    for i in $(seq 1 500); do
      echo "local-data: \"h$i.$ZONE. 300 IN A 198.18.$((i / 256)).$((i % 256))\""
      echo "local-data: \"h$i.$ZONE. 300 IN AAAA 2001:db8:53::$(printf %x "$i")\""
    done
  } >"$f.tmp"
  mv "$f.tmp" "$f"
  for n in 1 2; do
    f=$RUN/zone/which$n.conf
    {
      echo "local-data: 'which.$ZONE. 300 IN TXT \"upstream$n\"'"
      if [ "$n" = 1 ]; then echo "local-data: \"which.$ZONE. 300 IN A $UP1_V4\""
      else echo "local-data: \"which.$ZONE. 300 IN A $UP2_V4\""; fi
    } >"$f"
  done
  for i in $(seq 1 500); do echo "h$i.$ZONE A"; echo "h$i.$ZONE AAAA"; done >"$RUN/queries.txt"
}

# unbound_conf N CERT: the configuration of upstream N serving certificate CERT
# (a stem under $RUN/tls). DoT on 853 only; everything outside the zone is REFUSED, so
# no upstream ever tries to recurse out of the lab.
unbound_conf() {
  local n=$1 cert=$2 v4 v6 d=$RUN/upstream$1
  if [ "$n" = 1 ]; then v4=$UP1_V4 v6=$UP1_V6; else v4=$UP2_V4 v6=$UP2_V6; fi
  mkdir -p "$d"
  cat >"$d/unbound.conf" <<EOF
# upstream$n.$ZONE, written by deploy/lab/lab.sh
server:
  username: ""
  chroot: ""
  directory: "$d"
  pidfile: ""
  use-syslog: no
  logfile: "$d/unbound.log"
  log-time-ascii: yes
  verbosity: 1
  num-threads: 1
  interface-automatic: no
  interface: $v4@853
  interface: $v6@853
  tls-port: 853
  tls-service-key: "$RUN/tls/$cert.key"
  tls-service-pem: "$RUN/tls/$cert.pem"
  do-ip4: yes
  do-ip6: yes
  do-udp: yes
  do-tcp: yes
  incoming-num-tcp: 256
  edns-tcp-keepalive: yes
  access-control: 0.0.0.0/0 refuse
  access-control: ::/0 refuse
  access-control: 10.53.0.0/16 allow
  access-control: fd00:53::/32 allow
  module-config: "iterator"
  local-zone: "." refuse
  include: "$RUN/zone/lab.conf"
  include: "$RUN/zone/which$n.conf"
EOF
  echo "$cert" >"$d/cert"
}

upstream_pid() {  # N: the pid of a running upstream N, or nothing
  local f=$RUN/upstream$1.pid pid
  [ -f "$f" ] || return 0
  pid=$(cat "$f")
  if [ -n "$pid" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = unbound ]; then echo "$pid"; fi
}

upstream_listening() {  # N
  local v4=$UP1_V4
  [ "$1" = 2 ] && v4=$UP2_V4
  in_ns "$NS_UPSTREAM" ss -ltnH "sport = :853" 2>/dev/null | grep -qF "$v4:853"
}

upstream_start() {  # N [CERT]
  local n=$1 cert=${2:-upstream$1} pid i d=$RUN/upstream$1
  [ -n "$(upstream_pid "$n")" ] && return 0
  unbound_conf "$n" "$cert"
  unbound-checkconf "$d/unbound.conf" >"$d/checkconf.out" 2>&1 ||
    { cat "$d/checkconf.out" >&2; die "upstream$n: bad unbound.conf"; }
  # -d: unbound stays in the foreground (no fork), so the pid we record is unbound's own:
  # setsid and ip netns exec both exec, they do not fork.
  setsid ip netns exec "$NS_UPSTREAM" unbound -d -c "$d/unbound.conf" \
    >>"$d/unbound.out" 2>&1 </dev/null &
  pid=$!
  echo "$pid" >"$RUN/upstream$n.pid"
  for i in $(seq 100); do
    upstream_listening "$n" && [ -n "$(upstream_pid "$n")" ] && return 0
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  echo "--- $d/unbound.out" >&2; cat "$d/unbound.out" >&2 || true
  echo "--- $d/unbound.log" >&2; tail -20 "$d/unbound.log" >&2 || true
  die "upstream$n (unbound, pid $pid) did not start listening on 853"
}

upstream_stop() {  # N
  local n=$1 pid i
  pid=$(upstream_pid "$n")
  if [ -n "$pid" ]; then
    kill "$pid" 2>/dev/null || true
    for i in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$RUN/upstream$n.pid"
}

# ---- loss ----------------------------------------------------------------------------

loss() {  # PERCENT
  local pct=$1
  if ! [[ $pct =~ ^[0-9]+$ ]] || [ "$pct" -gt 100 ]; then die "loss: PERCENT is 0-100"; fi
  ns_exists "$NS_UPSTREAM" || die "the lab is not up"
  in_ns "$NS_UPSTREAM" nft delete table inet dotgate_lab_loss 2>/dev/null || true
  [ "$pct" = 0 ] && { log "upstream loss off"; return 0; }
  local rule="numgen random mod 100 < $pct drop"
  [ "$pct" = 100 ] && rule=drop  # numgen's range is 0-99
  in_ns "$NS_UPSTREAM" nft -f - <<EOF
table inet dotgate_lab_loss {
  chain input { type filter hook input priority 0; policy accept; $rule; }
  chain output { type filter hook output priority 0; policy accept; $rule; }
}
EOF
  log "upstream namespace drops $pct % of packets each way"
}

# ---- up / down / status --------------------------------------------------------------

up() {
  need_tools
  mkdir -p "$RUN/state"
  log "namespaces and links"
  net_up
  log "hugepages ($HUGEPAGES x 2 MiB)"
  hugepages_up
  log "CA and certificates in $RUN/ca, $RUN/tls"
  pki_up
  log "zone $ZONE and upstreams"
  zone_up
  local n
  for n in 1 2; do upstream_start "$n"; done
  log "up"
}

# Every process left in a lab namespace: the upstreams, a dataplane, a capture, a client.
lab_pids() {
  local ns
  for ns in "${ALL_NS[@]}"; do ns_exists "$ns" && ip netns pids "$ns" 2>/dev/null; done
  for ns in 1 2; do [ -f "$RUN/upstream$ns.pid" ] && upstream_pid "$ns"; done
  return 0
}

# Processes that map this prefix's hugepage files (a dataplane or a secondary process).
hugepage_users() {
  grep -l -s -F "/${PREFIX}map_" /proc/[0-9]*/maps 2>/dev/null | cut -d/ -f3 || true
}

down() {
  # Best effort all the way: a step that fails must not keep the later ones from running.
  set +e
  local pids pid i ns prev
  pids=$(lab_pids | sort -u)
  if [ -n "$pids" ]; then
    log "stopping $(echo "$pids" | wc -w) process(es) in the lab"
    # shellcheck disable=SC2086
    kill $pids 2>/dev/null || true
    for i in $(seq 50); do
      pids=$(for pid in $pids; do if kill -0 "$pid" 2>/dev/null; then echo "$pid"; fi; done)
      [ -z "$pids" ] && break
      sleep 0.1
    done
    # shellcheck disable=SC2086
    if [ -n "$pids" ]; then kill -9 $pids 2>/dev/null || true; fi
  fi
  for ns in "${ALL_NS[@]}"; do
    ns_exists "$ns" && { ip netns del "$ns" 2>/dev/null || log "could not delete namespace $ns"; }
  done
  # Hugepages: remove what a killed dataplane left (its runtime directory and hugepage
  # files), unless a process still maps them, then give the pages back.
  if [ -n "$(hugepage_users)" ]; then
    log "processes $(hugepage_users | tr '\n' ' ')still map $PREFIX hugepages; leaving them"
  else
    rm -rf "/var/run/dpdk/$PREFIX"
    awk '$3 == "hugetlbfs" { print $2 }' /proc/mounts | while read -r i; do
      rm -f "$i/${PREFIX}map_"* 2>/dev/null || true
    done
  fi
  # The mount we made goes too, unless something else keeps files there meanwhile.
  if [ -f "$RUN/state/hugetlbfs.mounted" ]; then
    if [ -n "$(ls -A "$HP_DIR" 2>/dev/null)" ]; then
      log "$HP_DIR holds other hugepage files; leaving it mounted"
    else
      umount "$HP_DIR" 2>/dev/null || log "could not unmount $HP_DIR (in use?)"
    fi
  fi
  if [ -f "$RUN/state/nr_hugepages.set" ] && [ -f "$RUN/state/nr_hugepages.prev" ]; then
    prev=$(cat "$RUN/state/nr_hugepages.prev")
    if [ "$(cat "$HP_SYS")" = "$(cat "$RUN/state/nr_hugepages.set")" ]; then
      echo "$prev" >"$HP_SYS" 2>/dev/null || log "could not restore nr_hugepages to $prev"
    else
      log "nr_hugepages changed since up ($(cat "$HP_SYS")); not restoring it to $prev"
    fi
  fi
  rm -rf "$RUN"
  log "down"
}

status() {
  local ok=0 ns n pid dev hp
  st() { printf '  %-34s %s\n' "$1" "$2"; }
  echo "namespaces:"
  for ns in "${ALL_NS[@]}"; do
    if ns_exists "$ns"; then st "$ns" "present"; else st "$ns" "MISSING"; ok=1; fi
  done
  echo "links:"
  for dev in "$NS_CLIENT:dg-cl0" "$NS_ROUTER:dg-rt-cl" "$NS_ROUTER:dg-rt-up" "$NS_ROUTER:dg-rt-dp" \
             "$NS_UPSTREAM:dg-up0" "$NS_DP:dg-dp0"; do
    ns=${dev%%:*} dev=${dev#*:}
    if link_exists "$ns" "$dev"; then
      st "$ns/$dev" "$(ip -n "$ns" -br addr show dev "$dev" | awk '{ $1 = ""; print }' | sed 's/^ //')"
    else
      st "$ns/$dev" "MISSING"; ok=1
    fi
  done
  echo "upstreams (DoT on 853):"
  for n in 1 2; do
    pid=$(upstream_pid "$n" 2>/dev/null || true)
    if [ -n "$pid" ] && ns_exists "$NS_UPSTREAM" && upstream_listening "$n"; then
      st "upstream$n.$ZONE" "unbound pid $pid, certificate $(cat "$RUN/upstream$n/cert" 2>/dev/null)"
    else
      st "upstream$n.$ZONE" "NOT RUNNING"; ok=1
    fi
  done
  if ns_exists "$NS_UPSTREAM" && in_ns "$NS_UPSTREAM" nft list table inet dotgate_lab_loss >/dev/null 2>&1; then
    st "upstream loss" "$(in_ns "$NS_UPSTREAM" nft list table inet dotgate_lab_loss |
      grep -o -E 'mod 100 < [0-9]+|^[[:space:]]*drop$' | head -1 | sed -E 's/.*< ([0-9]+)/\1/; s/.*drop/100/') %"
  fi
  echo "certificates:"
  for n in ca/ca.pem tls/upstream1.pem tls/upstream2.pem tls/dotgate.lab.pem; do
    if [ -s "$RUN/$n" ]; then
      st "$RUN/$n" "$(openssl x509 -in "$RUN/$n" -noout -enddate | sed 's/notAfter=/valid until /')"
    else
      st "$RUN/$n" "MISSING"; ok=1
    fi
  done
  echo "hugepages:"
  hp=$(cat "$HP_SYS")
  st "2 MiB pages reserved" "$hp (lab wants $HUGEPAGES)"
  [ "$hp" -ge "$HUGEPAGES" ] || ok=1
  if hugetlbfs_mounted; then st "hugetlbfs" "$(awk '$3 == "hugetlbfs" { print $2 }' /proc/mounts | tr '\n' ' ')"
  else st "hugetlbfs" "NOT MOUNTED"; ok=1; fi
  echo "dataplane namespace $NS_DP:"
  if ns_exists "$NS_DP" && [ -n "$(ip netns pids "$NS_DP")" ]; then
    for pid in $(ip netns pids "$NS_DP"); do st "pid $pid" "$(tr '\0' ' ' <"/proc/$pid/cmdline" | cut -c1-80)"; done
  else
    st "processes" "none"
  fi
  return "$ok"
}

usage() { sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }

[ $# -ge 1 ] || usage
case $1 in
  up) need_root; up ;;
  down) need_root; down ;;
  status) need_root; status ;;
  upstream)
    need_root
    if [ $# -lt 3 ] || ! [[ $2 =~ ^[12]$ ]]; then usage; fi
    ns_exists "$NS_UPSTREAM" || die "the lab is not up"
    case $3 in
      stop) upstream_stop "$2"; log "upstream$2 stopped" ;;
      start)
        cert=${4:-good}
        case $cert in
          good) cert=upstream$2 ;;
          wrongname) ;;
          *) usage ;;
        esac
        upstream_stop "$2"
        unbound_conf "$2" "$cert"
        upstream_start "$2" "$cert"
        log "upstream$2 serving certificate $cert" ;;
      *) usage ;;
    esac ;;
  loss) need_root; [ $# -eq 2 ] || usage; loss "$2" ;;
  *) usage ;;
esac
