#!/usr/bin/env bash
# dotgate-dataplane end to end, on DPDK: the process owns one end of a veth pair through
# net_af_packet (EAL --no-huge: no hugepages needed); on the other end, in a namespace this
# test makes, two unbound DoT upstreams (a throwaway CA, names up1.test / up2.test) and the
# clients (dig, kdig, dnspython). Checks: UDP, TCP and DoT clients answered; a large answer
# truncated over UDP (TC=1) and complete over TCP; pipelined queries matched; a client
# outside the ACL refused; garbage frames and malformed DNS dropped and counted while
# service goes on; one upstream killed mid-run with no query lost; a capture on the link
# showing TLS to the upstreams and not one packet to their port 53; telemetry through
# dpdk-telemetry.py. Needs root (exit 77, "skipped", otherwise); cleans up on any exit.
# With WORKERS 2, two workers share the port (two af_packet queue pairs in one
# PACKET_FANOUT group, which spreads flows by the kernel's hash, not ours): every check
# again, and TCP connections spread over both workers, their frames handed to the owner.
#
#   dataplane_e2e.sh PATH/TO/dotgate-dataplane [WORKERS]
set -uo pipefail

dataplane=$1
workers=${2:-1}
if [ "$workers" = 1 ]; then
  placement='lcores = "1"'
  qpairs=
else
  # Two CPUs here: the main lcore and the workers share them (never in production).
  placement="lcores = \"1-$workers\"
cpus = \"0-$(($(nproc) - 1))\""
  qpairs=",qpairs=$workers"
fi
if [ "$(id -u)" != 0 ]; then
  echo "dataplane_e2e: needs root, skipped"
  exit 77
fi
for tool in unbound openssl dig kdig tcpdump ethtool dpdk-telemetry.py; do
  command -v "$tool" >/dev/null || { echo "dataplane_e2e: $tool missing (deploy/install-deps.sh)"; exit 1; }
done
peer="dge-p-$$"
dpns="dge-d-$$"
prefix="dge$$"
work=$(mktemp -d)
chmod 755 "$work"
dp_pid=
ub_pids=()
dump_pid=
cleanup() {
  [ -n "$dp_pid" ] && kill "$dp_pid" 2>/dev/null && wait "$dp_pid" 2>/dev/null
  for p in "${ub_pids[@]}"; do kill "$p" 2>/dev/null && wait "$p" 2>/dev/null; done
  [ -n "$dump_pid" ] && kill "$dump_pid" 2>/dev/null && wait "$dump_pid" 2>/dev/null
  ip netns del "$peer" 2>/dev/null
  ip netns del "$dpns" 2>/dev/null
  rm -rf "$work" "/var/run/dpdk/$prefix"
}
trap cleanup EXIT
at_peer() { ip netns exec "$peer" "$@"; }

# --- certificates: a throwaway CA, both upstreams, and the dataplane's own DoT name ----
. "$(dirname "$0")/lib.sh"
make_ca dge-ca || exit 1
issue up1.test 192.0.2.10 && issue up2.test 192.0.2.11 && issue dotgate.test 192.0.2.2 || exit 1
chmod 644 "$work"/*

big=$(printf '"%0250d" ' 1 2 3 4 5 6)  # a TXT of six 250-byte strings: 1.5 kB, over 1232
for n in 1 2; do
  {
    cat <<EOF
server:
  username: ""
  chroot: ""
  directory: "$work"
  pidfile: ""
  use-syslog: no
  logfile: "$work/unbound$n.log"
  interface: 192.0.2.1$((n - 1))@853
  tls-port: 853
  tls-service-key: "$work/up$n.test.key"
  tls-service-pem: "$work/up$n.test.pem"
  access-control: 192.0.2.0/24 allow
  do-ip6: no
  module-config: "iterator"
  local-zone: "example.test." static
  local-data: "www.example.test. 300 IN A 192.0.2.80"
  local-data: "who.example.test. 300 IN TXT \"upstream $n\""
  local-data: 'big.example.test. 300 IN TXT $big'
EOF
    for i in $(seq 1 200); do echo "  local-data: \"n$i.example.test. 300 IN A 198.51.100.$((i % 250))\""; done
  } >"$work/unbound$n.conf"
done
cat >"$work/dp.toml" <<EOF
[dataplane]
$placement
main_lcore = 0
file_prefix = "$prefix"
eal_args = ["--no-huge", "-m", "256"]

[[dataplane.ports]]
name = "e2e0"
device = "net_af_packet0,iface=dgv1,framesz=2048,blocksz=4096,framecnt=1024$qpairs"
ipv4 = "192.0.2.2/24"
mbuf_pool_size = 8191
rx_descriptors = 1024
tx_descriptors = 1024

[[listener]]
address = "192.0.2.2"
allow = ["192.0.2.0/25"]

[[listener]]
address = "192.0.2.2"
transport = "dot"
allow = ["192.0.2.0/25"]
tls_cert = "$work/dotgate.test.pem"
tls_key = "$work/dotgate.test.key"

[tls]
ca_bundle = "$work/ca.pem"

[pools.default]
upstreams = ["192.0.2.10#up1.test", "192.0.2.11#up2.test"]
# The defaults for timeouts (1.5 s an attempt, 4 s in all): through the loss phase a TCP
# stream may wait a retransmission timeout or two.
connect_backoff_max = "2s"

[cache]
size = "32MiB"

[limits]
client_qps = 1000
client_burst = 2000

[local]
hosts_file = "$work/hosts"

[local.zones]
"corp.example.test" = ["host.corp.example.test 60 A 10.9.9.9"]
"blocked.example.test" = "refuse"
EOF
printf '# the hosts file of the test\n10.8.8.8 printer.lan printer\n' >"$work/hosts"

# --- the link: the dataplane's namespace holds dgv1, the peer namespace dgv0 -----------
ip netns add "$peer" && ip netns add "$dpns" || exit 1
ip link add dgv1 netns "$dpns" type veth peer name dgv0 netns "$peer" || exit 1
ip -n "$dpns" link set dgv1 up
ip -n "$peer" link set lo up
ip -n "$peer" link set dgv0 up
for a in 192.0.2.1 192.0.2.10 192.0.2.11 192.0.2.200; do ip -n "$peer" addr add "$a/24" dev dgv0; done
# af_packet hands the dataplane frames as the kernel left them: no offloads on the link.
ip netns exec "$dpns" ethtool -K dgv1 tx off rx off tso off gso off gro off >/dev/null 2>&1
at_peer ethtool -K dgv0 tx off rx off tso off gso off gro off >/dev/null 2>&1

start_unbound() {  # n
  ip netns exec "$peer" unbound -d -c "$work/unbound$1.conf" >>"$work/unbound$1.out" 2>&1 &
  ub_pids[$1]=$!
  for _ in $(seq 50); do at_peer ss -ltn | grep -q "192.0.2.1$(($1 - 1)):853" && return 0; sleep 0.1; done
  echo "unbound $1 did not start"; cat "$work/unbound$1.out"; exit 1
}
start_unbound 1
start_unbound 2
ip netns exec "$peer" tcpdump -i dgv0 -n -U -w "$work/capture.pcap" >/dev/null 2>&1 &
dump_pid=$!
ip netns exec "$dpns" timeout 170 "$dataplane" --config "$work/dp.toml" >"$work/dp.out" 2>&1 &
dp_pid=$!
for _ in $(seq 300); do grep -q 'dotgate-dataplane: ready' "$work/dp.out" && break; sleep 0.1; done
grep -q 'dotgate-dataplane: ready' "$work/dp.out" || { echo "dataplane did not start:"; cat "$work/dp.out"; exit 1; }
grep '^dotgate-dataplane' "$work/dp.out"

short_is() {  # expected, dig arguments...
  local want=$1 got; shift
  got=$(at_peer dig +short +time=3 +tries=2 -b 192.0.2.1 @192.0.2.2 "$@" | grep -v '^;;')
  echo "dig $* -> '$got'"
  [ "$got" = "$want" ]
}
telemetry() { echo "$1" | ip netns exec "$dpns" dpdk-telemetry.py -f "$prefix" 2>/dev/null | tail -1; }
stat() { telemetry /dotgate/stats | /usr/bin/python3 -c "import json,sys; print(json.load(sys.stdin)['/dotgate/stats']['$1'])"; }

check "UDP: a miss forwarded over DoT and answered" short_is 192.0.2.80 www.example.test A
check "UDP: then from the cache" short_is 192.0.2.80 www.example.test A
check "TCP: answered" short_is 198.51.100.5 +tcp n5.example.test A
kdig_tls() {
  at_peer kdig +tls-ca="$work/ca.pem" +tls-hostname=dotgate.test +short -b 192.0.2.1 @192.0.2.2 n6.example.test A |
    tee /dev/stderr | grep -qx 198.51.100.6
}
check "DoT: kdig +tls-ca, our certificate verified, answered" kdig_tls
dot_resumes() {  # 8 DoT connections one after another, each offering the last one's ticket
  at_peer /usr/bin/python3 - "$work/ca.pem" <<'PY'
import socket, ssl, struct, sys, dns.message
ctx = ssl.create_default_context(cafile=sys.argv[1])
ctx.minimum_version = ssl.TLSVersion.TLSv1_3
session, resumed = None, []
for i in range(8):
    raw = socket.create_connection(("192.0.2.2", 853), timeout=10, source_address=("192.0.2.1", 0))
    t = ctx.wrap_socket(raw, server_hostname="dotgate.test", session=session)
    q = dns.message.make_query(f"n{60 + i}.example.test", "A")
    q.id = 600 + i
    t.sendall(struct.pack("!H", len(q.to_wire())) + q.to_wire())
    n = struct.unpack("!H", t.recv(2))[0]
    body = b""
    while len(body) < n:
        body += t.recv(n - len(body))
    assert dns.message.from_wire(body).answer[0][0].address == f"198.51.100.{60 + i}"
    resumed.append(t.session_reused)
    session = t.session  # the ticket came with the answer
    t.close()
print("resumed:", resumed)
assert resumed[0] is False and all(resumed[1:]), "a reconnect did not resume"
PY
}
check "DoT: reconnects resume the TLS session (on whichever worker they reach)" dot_resumes
truncated_then_tcp() {
  at_peer dig +ignore +time=3 -b 192.0.2.1 @192.0.2.2 big.example.test TXT | tee "$work/udp" >/dev/null
  grep -q 'flags:.* tc' "$work/udp" || { echo "no TC over UDP"; cat "$work/udp"; return 1; }
  at_peer dig +time=3 -b 192.0.2.1 @192.0.2.2 big.example.test TXT | tee "$work/tcp" >/dev/null
  grep -q 'status: NOERROR' "$work/tcp" && [ "$(grep -c '^big.example.test' "$work/tcp")" -eq 1 ] &&
    echo "TC=1 over UDP, then $(grep 'MSG SIZE' "$work/tcp") over TCP"
}
check "a 1.5 kB answer: TC=1 over UDP, whole over TCP" truncated_then_tcp
pipelined() {  # 200 UDP queries at once, then 100 pipelined on one TCP connection
  at_peer /usr/bin/python3 - <<'PY'
import socket, struct, time, dns.message
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("192.0.2.1", 0))
s.settimeout(1)
want, wire = {}, {}
for i in range(1, 201):
    q = dns.message.make_query(f"n{i}.example.test", "A")
    q.id = i  # unique: random IDs collide (birthday odds)
    want[q.id] = f"198.51.100.{i % 250}"
    wire[q.id] = q.to_wire()
    s.sendto(wire[q.id], ("192.0.2.2", 53))
# UDP may lose a datagram on a starved machine; like any client, ask again (3 rounds).
for round in range(4):
    deadline = time.time() + 3
    while want and time.time() < deadline:
        try:
            m = dns.message.from_wire(s.recvfrom(4096)[0])
        except socket.timeout:
            continue
        if m.id in want:
            assert m.answer[0][0].address == want.pop(m.id)
    if not want:
        break
    print(f"round {round}: {len(want)} unanswered, asking again")
    for qid in want:
        s.sendto(wire[qid], ("192.0.2.2", 53))
assert not want, f"{len(want)} UDP answers missing"
t = socket.create_connection(("192.0.2.2", 53), timeout=10, source_address=("192.0.2.1", 0))
out = b""
for i in range(1, 101):
    q = dns.message.make_query(f"n{i}.example.test", "A")
    q.id = i  # unique: random IDs collide (birthday odds)
    want[q.id] = f"198.51.100.{i % 250}"
    out += struct.pack("!H", len(q.to_wire())) + q.to_wire()
t.sendall(out)
buf = b""
while want:
    chunk = t.recv(65536)
    assert chunk, "TCP closed early"
    buf += chunk
    while len(buf) >= 2 and len(buf) >= 2 + struct.unpack("!H", buf[:2])[0]:
        n = struct.unpack("!H", buf[:2])[0]
        m = dns.message.from_wire(buf[2:2 + n])
        buf = buf[2 + n:]
        assert m.answer[0][0].address == want.pop(m.id)
print("200 over UDP and 100 pipelined over TCP, all matched")
PY
}
check "200 queries in flight over UDP, 100 pipelined on one TCP connection" pipelined
refused() {
  at_peer dig +time=3 +tries=1 -b 192.0.2.200 @192.0.2.2 www.example.test A | tee /dev/stderr | grep -q 'status: REFUSED'
}
check "a client outside the ACL is REFUSED" refused
check "local zone: answered from local data" short_is 10.9.9.9 host.corp.example.test A
local_refused() {
  at_peer dig +time=3 -b 192.0.2.1 @192.0.2.2 x.blocked.example.test A | tee /dev/stderr | grep -q 'status: REFUSED'
}
check "local zone of type refuse: REFUSED" local_refused
check "hosts file: answered" short_is 10.8.8.8 printer.lan A
garbage() {  # random frames at our MAC and random bytes at port 53, then service goes on
  local mac
  mac=$(at_peer ip neigh show 192.0.2.2 | grep -o 'lladdr [0-9a-f:]*' | cut -d' ' -f2)
  at_peer /usr/bin/python3 - "$mac" <<'PY'
import os, random, socket, sys
random.seed(7)
mac = bytes.fromhex(sys.argv[1].replace(":", ""))
raw = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
raw.bind(("dgv0", 0))
for i in range(2000):
    body = bytes(random.getrandbits(8) for _ in range(random.randint(0, 300)))
    kind = random.choice([b"\x08\x00", b"\x86\xdd", b"\x08\x06", b"\x81\x00", os.urandom(2)])
    raw.send(mac + b"\x02\x00\x00\x00\x00\x99" + kind + body)
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.bind(("192.0.2.1", 0))
for i in range(2000):
    u.sendto(bytes(random.getrandbits(8) for _ in range(random.randint(0, 100))), ("192.0.2.2", 53))
print("sent 2000 random frames and 2000 random datagrams")
PY
}
check "garbage: 2000 random frames and 2000 random datagrams sent" garbage
check "after the garbage, still answering" short_is 192.0.2.80 www.example.test A
counted_drops() {
  local dropped malformed
  dropped=$(stat frames_dropped)
  malformed=$(stat malformed)
  echo "frames_dropped=$dropped malformed=$malformed"
  [ "$dropped" -gt 100 ] && [ "$malformed" -gt 100 ] || return 1
  # Every dropped frame has its reason.
  telemetry /dotgate/stats | /usr/bin/python3 -c "
import json, sys
s = json.load(sys.stdin)['/dotgate/stats']
reasons = {k: v for k, v in s.items() if k.startswith('drop_')}
print(reasons)
assert len(reasons) >= 3 and sum(reasons.values()) == s['frames_dropped'], 'drops without a reason'"
}
check "telemetry: the garbage was counted (frames dropped, malformed queries)" counted_drops
upstreams_tls() {
  telemetry /dotgate/upstreams | tee /dev/stderr | grep -q '"tls_version": "TLSv1.3"'
}
check "telemetry: upstream connections are TLS 1.3 with a verified name" upstreams_tls
own_record_layer() {  # both directions moved off OpenSSL's records after the handshake
  telemetry /dotgate/upstreams | grep -q '"tls_record_layer": "ipsec-mb"' || { echo "upstreams not on ipsec-mb"; return 1; }
  local up cl
  up=$(stat tls_own_records_upstream)
  cl=$(stat tls_own_records_clients)
  echo "tls_own_records_upstream=$up tls_own_records_clients=$cl"
  [ "$up" -ge 1 ] && [ "$cl" -ge 9 ]  # kdig and the 8 reconnects
}
check "telemetry: upstream and DoT client sessions on the own record layer (ipsec-mb)" own_record_layer
flood() {  # 6000 queries as fast as Python sends them: past the 2000-query burst at 1000 q/s
  at_peer /usr/bin/python3 - <<'PY'
import socket, dns.message
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("192.0.2.1", 0))
w = dns.message.make_query("www.example.test", "A").to_wire()
for i in range(6000):
    s.sendto(w, ("192.0.2.2", 53))
print("sent 6000")
PY
  local limited
  limited=$(stat rate_limited)
  echo "rate_limited=$limited"
  [ "$limited" -gt 1000 ]
}
check "rate limit: a flood from one client is cut to its rate, and counted" flood
sleep 2.5  # its bucket refills before the next checks
latency() {
  telemetry /dotgate/latency | /usr/bin/python3 -c "
import json, sys
l = json.load(sys.stdin)['/dotgate/latency']
print(l)
assert l['forwarded']['count'] >= 200 and 0 < l['forwarded']['p50_us'] <= l['forwarded']['p99_us']
assert l['upstream0']['count'] + l['upstream1']['count'] >= 200"
}
check "telemetry: latency percentiles of forwarded queries and of each upstream" latency
failover() {  # one upstream killed; 40 fresh names are all answered
  kill "${ub_pids[1]}"; wait "${ub_pids[1]}" 2>/dev/null; ub_pids[1]=
  local ok=0
  for i in $(seq 101 140); do
    [ "$(at_peer dig +short +time=3 +tries=2 -b 192.0.2.1 @192.0.2.2 "n$i.example.test" A)" = "198.51.100.$i" ] &&
      ok=$((ok + 1))
  done
  echo "$ok of 40 answered with upstream 1 down"
  [ "$ok" -eq 40 ]
}
check "failover: upstream 1 killed mid-run, every query still answered" failover
recovers() {
  start_unbound 1
  sleep 3
  at_peer dig +short +time=3 -b 192.0.2.1 @192.0.2.2 n150.example.test A >/dev/null
  telemetry /dotgate/upstreams | /usr/bin/python3 -c "
import json, sys
u = json.load(sys.stdin)['/dotgate/upstreams']['upstream0']
print(u)
assert u['state'] == 'up'"
}
check "upstream 1 back: marked up again" recovers
kill "$dump_pid"; wait "$dump_pid" 2>/dev/null; dump_pid=
no_plaintext() {
  local plain tls
  plain=$(tcpdump -n -r "$work/capture.pcap" 'src host 192.0.2.2 and port 53 and (dst host 192.0.2.10 or dst host 192.0.2.11)' 2>/dev/null | wc -l)
  tls=$(tcpdump -n -r "$work/capture.pcap" 'src host 192.0.2.2 and tcp dst port 853' 2>/dev/null | wc -l)
  echo "to an upstream's port 53: $plain packets; to 853: $tls"
  [ "$plain" -eq 0 ] && [ "$tls" -gt 0 ]
}
check "capture: TLS to the upstreams, not one packet to their port 53" no_plaintext
if [ "$workers" != 1 ]; then
  spread() {  # 24 TCP connections from distinct ports, each with a fresh name forwarded
    at_peer /usr/bin/python3 - <<'PY' || return 1
import socket, struct, dns.message
for i in range(24):
    q = dns.message.make_query(f"n{160 + i}.example.test", "A")
    q.id = 1000 + i
    t = socket.create_connection(("192.0.2.2", 53), timeout=10, source_address=("192.0.2.1", 0))
    t.sendall(struct.pack("!H", len(q.to_wire())) + q.to_wire())
    buf = b""
    while len(buf) < 2 or len(buf) < 2 + struct.unpack("!H", buf[:2])[0]:
        chunk = t.recv(4096)
        assert chunk, "closed early"
        buf += chunk
    m = dns.message.from_wire(buf[2:])
    assert m.id == q.id and m.answer[0][0].address == f"198.51.100.{160 + i}", m
    t.close()
print("24 TCP connections, each answered")
PY
    sleep 0.5  # the workers publish their counters every 100 ms
    telemetry /dotgate/workers | /usr/bin/python3 -c "
import json, sys
w = json.load(sys.stdin)['/dotgate/workers']
for k, v in sorted(w.items()):
    print(k, {f: v[f] for f in ('lcore', 'queries', 'forwarded', 'tcp_connections_opened', 'handoff_passed',
                                'handoff_taken_in', 'handoff_copied', 'handoff_ring_full')})
assert len(w) == $workers
assert all(v['queries'] > 0 and v['tcp_connections_opened'] > 0 for v in w.values()), 'a worker idle'
assert sum(v['handoff_passed'] for v in w.values()) > 0, 'nothing handed off'
passed = sum(v['handoff_passed'] + v['handoff_copied'] for v in w.values())
assert passed == sum(v['handoff_taken_in'] for v in w.values()), 'frames lost between workers'

assert all(v['handoff_ring_full'] == 0 for v in w.values())"
  }
  check "$workers workers: TCP connections spread over all of them, frames handed to their owner" spread
fi
kill "$dp_pid"; wait "$dp_pid"; rc=$?; dp_pid=
check "SIGTERM: the dataplane stops cleanly (exit 0)" test "$rc" -eq 0
grep '^dotgate-dataplane' "$work/dp.out"

# --- through loss, delay and reordering: 5 % of the upstream link's packets dropped each
# way (nftables in the peer namespace: this kernel has no netem), and the dataplane's own
# impairment stage delaying its frames 20 ms (+-5) and reordering a tenth of them --------
DOTGATE_IMPAIRMENT="delay_ms=20,jitter_ms=5,reorder_pct=10,seed=5" \
  ip netns exec "$dpns" timeout 120 "$dataplane" --config "$work/dp.toml" >"$work/dp2.out" 2>&1 &
dp_pid=$!
for _ in $(seq 300); do grep -q 'dotgate-dataplane: ready' "$work/dp2.out" && break; sleep 0.1; done
grep '^dotgate-dataplane' "$work/dp2.out"
# The upstream connections are long-lived by design: open them first (a few names no run
# asks again), then the loss starts.
for i in 301 302 303 304 305 306 307 308; do at_peer dig +short +time=3 -b 192.0.2.1 @192.0.2.2 "n$i.example.test" A >/dev/null; done
at_peer nft -f - <<'NFT'
table inet impair {
  chain in { type filter hook input priority 0; tcp dport 853 ip saddr 192.0.2.2 numgen random mod 100 < 5 drop; }
  chain out { type filter hook output priority 0; tcp sport 853 ip daddr 192.0.2.2 numgen random mod 100 < 5 drop; }
}
NFT
for i in $(seq 1 200); do echo "n$i.example.test A"; done >"$work/queries"
dnsperf_lossy() {  # a bounded run: 10 s at 100 q/s over 200 fresh names, then repeats
  at_peer dnsperf -s 192.0.2.2 -a 192.0.2.1 -d "$work/queries" -l 10 -Q 100 -t 5 | tee "$work/dnsperf" |
    grep -E 'Queries (sent|completed|lost)|Response codes|Average Latency|Queries per second'
  grep -Eq 'Queries lost: +0 ' "$work/dnsperf" && ! grep -q 'SERVFAIL' "$work/dnsperf" && return 0
  telemetry /dotgate/upstreams
  telemetry /dotgate/stats
  return 1
}
check "5 % loss each way on the upstream link, 20 ms delay, 10 % reordering: dnsperf, every query answered NOERROR" dnsperf_lossy
retransmitted() {
  telemetry /dotgate/stats | /usr/bin/python3 -c "
import json, sys
s = json.load(sys.stdin)['/dotgate/stats']
print({k: s[k] for k in ('tcp_retransmits', 'forwarded', 'upstream_answers', 'servfail')})
assert s['tcp_retransmits'] > 0"
}
check "and our TCP retransmitted through it" retransmitted
kill "$dp_pid"; wait "$dp_pid"; dp_pid=

echo "dataplane_e2e: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
