#!/usr/bin/env bash
# The worker against a real DoT upstream: unbound, serving a synthetic zone over TLS on
# 853 with a certificate from a throwaway CA this test makes, in a network namespace this
# test makes, reached through a TAP device on the worker's own TCP and OpenSSL sessions.
# Then knot-resolver as a second upstream implementation. Clients (dig, kdig, dnspython)
# ask the worker over UDP, TCP and DoT. Checks: answers
# forwarded over DoT and cached, many queries in flight at once, the TLS facts of the
# upstream connection, a capture on the link showing TLS on 853 and not one packet to an
# upstream port 53 (strict mode), the upstream killed and restarted mid-run, and an
# upstream whose certificate does not match its name refused (SERVFAIL, still no
# plaintext). Needs root (exit 77, "skipped", otherwise). Cleans up even when a check fails.
#
#   dot_upstream_interop.sh PATH/TO/worker_tap
set -uo pipefail

harness=$1
if [ "$(id -u)" != 0 ]; then
  echo "dot_upstream_interop: needs root, skipped"
  exit 77
fi
for tool in unbound openssl dig tcpdump; do
  command -v "$tool" >/dev/null || { echo "dot_upstream_interop: $tool missing (deploy/install-deps.sh)"; exit 1; }
done
ns="dg-dot-$$"
work=$(mktemp -d)
chmod 755 "$work"
pid=
unbound_pid=
dump_pid=
cleanup() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  [ -n "$unbound_pid" ] && kill "$unbound_pid" 2>/dev/null && wait "$unbound_pid" 2>/dev/null
  [ -n "$dump_pid" ] && kill "$dump_pid" 2>/dev/null && wait "$dump_pid" 2>/dev/null
  ip netns del "$ns" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
in_ns() { ip netns exec "$ns" "$@"; }

# A throwaway CA and a certificate for the upstream: name dot.test, address 192.0.2.1.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=dotgate-test-ca \
  -keyout "$work/ca.key" -out "$work/ca.pem" 2>/dev/null || exit 1
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=dot.test \
  -keyout "$work/dot.key" -out "$work/dot.csr" 2>/dev/null || exit 1
printf 'subjectAltName=DNS:dot.test,IP:192.0.2.1\n' >"$work/san.ext"
openssl x509 -req -in "$work/dot.csr" -CA "$work/ca.pem" -CAkey "$work/ca.key" -CAcreateserial -days 2 \
  -extfile "$work/san.ext" -out "$work/dot.pem" 2>/dev/null || exit 1
# And one for the worker's own DoT listener: dotgate.test, 192.0.2.2.
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=dotgate.test \
  -keyout "$work/us.key" -out "$work/us.csr" 2>/dev/null || exit 1
printf 'subjectAltName=DNS:dotgate.test,IP:192.0.2.2\n' >"$work/us.ext"
openssl x509 -req -in "$work/us.csr" -CA "$work/ca.pem" -CAkey "$work/ca.key" -CAcreateserial -days 2 \
  -extfile "$work/us.ext" -out "$work/us.pem" 2>/dev/null || exit 1
chmod 644 "$work"/*

{
  cat <<EOF
server:
  username: ""
  chroot: ""
  directory: "$work"
  pidfile: ""
  use-syslog: no
  logfile: "$work/unbound.log"
  verbosity: 1
  interface: 192.0.2.1@853
  interface: 192.0.2.1@53
  tls-port: 853
  tls-service-key: "$work/dot.key"
  tls-service-pem: "$work/dot.pem"
  access-control: 192.0.2.0/24 allow
  do-ip6: no
  incoming-num-tcp: 64
  module-config: "iterator"
  local-zone: "example.test." static
  local-data: "www.example.test. 300 IN A 192.0.2.80"
EOF
  for i in $(seq 1 100); do echo "  local-data: \"n$i.example.test. 300 IN A 198.51.100.$i\""; done
} >"$work/unbound.conf"

ip netns add "$ns" || exit 1
in_ns ip link set lo up

. "$(dirname "$0")/lib.sh"

start_worker() {  # upstream spec [privacy]
  ip netns exec "$ns" timeout 120 "$harness" tap0 90 "$work/ca.pem" "${2:-strict}" "$work/us.pem" "$work/us.key" "$1" >"$work/out" 2>&1 &
  pid=$!
  # A loaded machine may take a while; a harness that died says so at once.
  for _ in $(seq 300); do
    grep -q ready "$work/out" 2>/dev/null && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  grep -q ready "$work/out" || {
    wait "$pid"
    echo "worker did not start (exit status $?):"
    cat "$work/out"
    exit 1
  }
  in_ns ip link set tap0 up
  in_ns ip addr add 192.0.2.1/24 dev tap0 2>/dev/null
  in_ns ip -6 addr add 2001:db8::1/64 dev tap0 nodad 2>/dev/null
}
stop_worker() {  # leaves the counters in $work/counters
  kill "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  pid=
  grep -E '^(counters|upstream|pool|records):' "$work/out" >"$work/counters"
  cat "$work/counters"
}
start_unbound() {
  ip netns exec "$ns" unbound -d -c "$work/unbound.conf" >>"$work/unbound.out" 2>&1 &
  unbound_pid=$!
  for _ in $(seq 50); do in_ns ss -ltn | grep -q '192.0.2.1:853' && return 0; sleep 0.1; done
  echo "unbound did not start:"; cat "$work/unbound.out" "$work/unbound.log" 2>/dev/null
  exit 1
}
stop_unbound() {
  kill "$unbound_pid" 2>/dev/null
  wait "$unbound_pid" 2>/dev/null
  unbound_pid=
}
dig_is() {  # name, expected +short output
  local got
  got=$(in_ns dig +short +time=3 +tries=2 @192.0.2.2 "$1" A | grep -v '^;;')
  echo "dig $1 -> '$got'"
  [ "$got" = "$2" ]
}
status_is() {  # name, expected status
  in_ns dig +time=4 +tries=1 @192.0.2.2 "$1" A | tee /dev/stderr | grep -q "status: $2"
}
pipelined() {  # asks n1..n100 all at once over UDP, then waits for every answer
  in_ns /usr/bin/python3 - <<'PY'
import socket, time, dns.message, dns.rdatatype
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(5)
want = {}
for i in range(1, 101):
    q = dns.message.make_query(f"n{i}.example.test", "A")
    q.id = i  # unique: random IDs collide (birthday odds)
    want[q.id] = (f"n{i}.example.test.", f"198.51.100.{i}")
    s.sendto(q.to_wire(), ("192.0.2.2", 53))
got = 0
deadline = time.time() + 10
while want and time.time() < deadline:
    data, _ = s.recvfrom(4096)
    m = dns.message.from_wire(data)
    name, addr = want.pop(m.id)
    assert str(m.question[0].name) == name, (m.question[0].name, name)
    assert m.answer[0][0].address == addr, (m.answer[0][0].address, addr)
    got += 1
print(f"{got} answers, {len(want)} missing")
assert not want
PY
}

# --- strict mode against a good upstream ---------------------------------------------
start_worker "192.0.2.1@853#dot.test"
ip netns exec "$ns" tcpdump -i tap0 -n -U -w "$work/capture.pcap" >/dev/null 2>&1 &
dump_pid=$!
start_unbound
sleep 0.5

check "a miss is forwarded over DoT and answered" dig_is www.example.test 192.0.2.80
check "the same name again comes from the cache" dig_is www.example.test 192.0.2.80
check "100 queries in flight at once, all answered and matched" pipelined
dig_tcp() { in_ns dig +tcp +short +time=3 +tries=2 @192.0.2.2 www.example.test A | grep -qx 192.0.2.80; }
check "DNS over TCP from a client, answered" dig_tcp
kdig_tls() {  # kdig over DoT, verifying our certificate against the test CA
  in_ns kdig +tls-ca="$work/ca.pem" +tls-hostname=dotgate.test +short @192.0.2.2 n42.example.test A |
    tee /dev/stderr | grep -qx 198.51.100.42
}
check "kdig +tls-ca: DoT from a client, our certificate verified, answered" kdig_tls
kdig_tls_plain() { in_ns kdig +tls +short @192.0.2.2 www.example.test A | grep -qx 192.0.2.80; }
check "kdig +tls (opportunistic client) answered" kdig_tls_plain
kdig_keepalive() {  # RFC 7828: asked for, our idle timeout comes back (10 s: 100 units)
  in_ns dig +tls +keepalive +time=3 @192.0.2.2 www.example.test A | tee /dev/stderr | grep -q 'TCP KEEPALIVE: 10.0 secs'
}
check "DoT with edns-tcp-keepalive: our idle timeout is advertised" kdig_keepalive
dot_pipelined() {  # 60 queries on one DoT connection, answers matched by ID in any order
  in_ns /usr/bin/python3 - "$work/ca.pem" <<'PY'
import socket, ssl, struct, sys, dns.message
ctx = ssl.create_default_context(cafile=sys.argv[1])
s = ctx.wrap_socket(socket.create_connection(("192.0.2.2", 853), timeout=10), server_hostname="dotgate.test")
want = {}
out = b""
for i in range(1, 61):
    q = dns.message.make_query(f"n{i}.example.test", "A")
    q.id = i  # unique: random IDs collide (birthday odds)
    want[q.id] = f"198.51.100.{i}"
    w = q.to_wire()
    out += struct.pack("!H", len(w)) + w
s.sendall(out)
buf = b""
while want:
    chunk = s.recv(65536)
    assert chunk, "connection closed early"
    buf += chunk
    while len(buf) >= 2 and len(buf) >= 2 + struct.unpack("!H", buf[:2])[0]:
        n = struct.unpack("!H", buf[:2])[0]
        m = dns.message.from_wire(buf[2:2 + n])
        buf = buf[2 + n:]
        assert m.answer[0][0].address == want.pop(m.id)
print("60 answers over one DoT connection,", s.version())
PY
}
check "60 pipelined queries on one DoT connection, all matched" dot_pipelined
check "the upstream connection is TLS 1.3, verified as dot.test" grep -q 'tls: TLSv1.3 .* verified=dot.test' "$work/out"
check "and its records are ours (ipsec-mb) after the handshake" grep -q 'tls: TLSv1.3 .* layer=ipsec-mb' "$work/out"
stop_unbound
check "with the upstream down, a miss gets SERVFAIL within the budget" status_is n200.example.test SERVFAIL
start_unbound
upstream_back() {
  for _ in $(seq 10); do dig_is n7.example.test 198.51.100.7 && return 0; sleep 0.5; done
  return 1
}
check "after the upstream restarts, misses are answered again" upstream_back
check "and the first answer is still served from the cache" dig_is www.example.test 192.0.2.80
sleep 0.3
kill "$dump_pid" 2>/dev/null; wait "$dump_pid" 2>/dev/null; dump_pid=
stop_worker
no_plaintext() {
  local plain tls
  plain=$(tcpdump -n -r "$work/capture.pcap" 'host 192.0.2.1 and port 53 and not host 192.0.2.2' 2>/dev/null | wc -l)
  plain=$((plain + $(tcpdump -n -r "$work/capture.pcap" 'src host 192.0.2.2 and dst host 192.0.2.1 and dst port 53' 2>/dev/null | wc -l)))
  tls=$(tcpdump -n -r "$work/capture.pcap" 'tcp port 853' 2>/dev/null | wc -l)
  echo "packets to an upstream port 53: $plain; packets on 853: $tls"
  [ "$plain" -eq 0 ] && [ "$tls" -gt 0 ]
}
check "capture: TLS on 853, not one packet to the upstream's port 53" no_plaintext
counter() { grep -o "$1=[0-9]*" "$work/counters" | head -1 | cut -d= -f2; }
check "cache hits counted" test "$(counter cache_hits)" -ge 2
check "answers came back from the upstream" test "$(counter upstream_answers)" -ge 101
check "no packet buffer leaked" test "$(counter packets_in_use)" -le 8
check "upstream and DoT client sessions moved onto the own record layer" \
  test "$(counter own_records_upstream)" -ge 1 -a "$(counter own_records_clients)" -ge 1
# Our KeyUpdate every 16 records (worker_tap): unbound (OpenSSL) and kdig / Python (the
# DoT clients) followed them, or the pipelined checks above would have failed.
check "our KeyUpdates were sent and followed (connections ended counted)" test "$(counter key_updates_sent)" -ge 2

# --- strict mode against an upstream whose certificate does not match the name ------
start_worker "192.0.2.1@853#wrong.test"
ip netns exec "$ns" tcpdump -i tap0 -n -U -w "$work/capture2.pcap" >/dev/null 2>&1 &
dump_pid=$!
sleep 0.5
check "a certificate for another name: SERVFAIL" status_is www.example.test SERVFAIL
sleep 0.3
kill "$dump_pid" 2>/dev/null; wait "$dump_pid" 2>/dev/null; dump_pid=
stop_worker
check "the refusal names its reason (OpenSSL's words)" grep -q 'tls-failure: .*hostname mismatch' "$work/out"
check "the handshake was refused and counted" test "$(grep -o 'handshake_failures=[0-9]*' "$work/counters" | cut -d= -f2)" -ge 1
refused_no_plaintext() {
  local plain
  plain=$(tcpdump -n -r "$work/capture2.pcap" 'src host 192.0.2.2 and dst host 192.0.2.1 and dst port 53' 2>/dev/null | wc -l)
  echo "packets to the upstream's port 53: $plain"
  [ "$plain" -eq 0 ]
}
check "capture: still not one packet to the upstream's port 53" refused_no_plaintext

# --- opportunistic mode: the same bad certificate, then plaintext TCP to port 53 --------
start_worker "192.0.2.1@853#wrong.test" opportunistic
sleep 0.5
check "opportunistic: TLS refused, answered over plaintext TCP 53" dig_is www.example.test 192.0.2.80
stop_worker
check "opportunistic: the plaintext queries were counted" \
  test "$(grep -o 'plaintext_queries=[0-9]*' "$work/counters" | cut -d= -f2)" -ge 1
stop_unbound

# --- a second implementation as the upstream: knot-resolver (kresd) --------------------
# kresd answers names under RFC 6761 special-use domains (.test) NXDOMAIN by policy, so its
# data lives under example.com (hints), with nothing else reachable.
if command -v kresd >/dev/null; then
  mkdir -p "$work/kresd"
  {
    echo "net.listen('192.0.2.1', 853, { kind = 'tls' })"
    echo "net.tls('$work/dot.pem', '$work/dot.key')"
    echo "modules = { 'hints > iterate' }"
    echo "hints.set('www.example.com 192.0.2.81')"
    for i in $(seq 1 40); do echo "hints.set('k$i.example.com 203.0.113.$i')"; done
  } >"$work/kresd.conf"
  start_worker "192.0.2.1@853#dot.test"
  ip netns exec "$ns" kresd -n -c "$work/kresd.conf" "$work/kresd" >"$work/kresd.out" 2>&1 &
  unbound_pid=$!
  for _ in $(seq 50); do in_ns ss -ltn | grep -q '192.0.2.1:853' && break; sleep 0.1; done
  check "knot-resolver upstream: a miss forwarded over DoT and answered" dig_is www.example.com 192.0.2.81
  kresd_many() {  # 40 names at once over UDP
    in_ns /usr/bin/python3 - <<'PY'
import socket, time, dns.message
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(5)
want = {}
for i in range(1, 41):
    q = dns.message.make_query(f"k{i}.example.com", "A")
    q.id = i  # unique: random IDs collide (birthday odds)
    want[q.id] = f"203.0.113.{i}"
    s.sendto(q.to_wire(), ("192.0.2.2", 53))
while want:
    m = dns.message.from_wire(s.recvfrom(4096)[0])
    assert m.answer[0][0].address == want.pop(m.id)
print("40 answered through knot-resolver")
PY
  }
  check "knot-resolver upstream: 40 queries in flight, all matched" kresd_many
  check "knot-resolver upstream: TLS 1.3, verified as dot.test" grep -q 'tls: TLSv1.3 .* verified=dot.test' "$work/out"
  stop_worker
  check "knot-resolver (GnuTLS) followed our KeyUpdates on the open connection" \
    test "$(counter open_connection_rekeys)" -ge 1
  stop_unbound
else
  echo "skip: knot-resolver (kresd) not installed"
fi

echo "dot_upstream_interop: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
