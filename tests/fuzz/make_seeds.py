#!/usr/bin/python3
"""Writes the fuzzers' seed corpora (tests/fuzz/corpus/*) from realistic DNS messages.

Run with Debian's python3 (it has python3-dnspython): /usr/bin/python3 tests/fuzz/make_seeds.py
The output is committed; rerun only to change the seeds.
"""
import hashlib
import os

import dns.edns
import dns.flags
import dns.message
import dns.rrset

HERE = os.path.dirname(os.path.abspath(__file__))


def make_query(*args, **kwargs):
    """dns.message.make_query with a fixed ID, so the seeds are the same on every run."""
    q = dns.message.make_query(*args, **kwargs)
    q.id = 0x2b3c
    return q


def csum(b):
    """The Internet checksum (RFC 1071) of b."""
    import struct
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return (~s) & 0xffff


def queries():
    out = []
    for name, rdtype in [("www.example.com", "A"), ("WwW.ExAmPlE.CoM", "AAAA"),
                         ("example.org", "TXT"), ("_dns.resolver.arpa", "SVCB"),
                         (".", "NS"), ("a" * 63 + ".test", "MX")]:
        out.append(make_query(name, rdtype, use_edns=False).to_wire())
        out.append(make_query(name, rdtype, use_edns=0, want_dnssec=True,
                                          payload=1232).to_wire())
    q = make_query("client.example", "A", use_edns=0, options=[
        dns.edns.ECSOption("192.0.2.0", 24),
        dns.edns.GenericOption(10, b"\x01" * 8),
        dns.edns.GenericOption(11, b""),
        dns.edns.GenericOption(12, b"\x00" * 20)])
    out.append(q.to_wire())
    return out


def responses():
    out = []
    q = make_query("www.example.com", "A", use_edns=0)
    r = dns.message.make_response(q)
    r.answer.append(dns.rrset.from_text("www.example.com.", 300, "IN", "CNAME", "web.example.com."))
    # One record per rrset: dnspython orders a set differently from run to run.
    r.answer.append(dns.rrset.from_text("web.example.com.", 60, "IN", "A", "192.0.2.1"))
    r.additional.append(dns.rrset.from_text("ns.example.com.", 3600, "IN", "AAAA", "2001:db8::1"))
    out.append(r.to_wire())
    for rcode in (dns.rcode.NXDOMAIN, dns.rcode.NOERROR):
        q = make_query("nope.example.com", "AAAA", use_edns=0, want_dnssec=True)
        r = dns.message.make_response(q)
        r.set_rcode(rcode)
        r.authority.append(dns.rrset.from_text(
            "example.com.", 900, "IN", "SOA",
            "ns1.example.com. hostmaster.example.com. 2024010101 7200 3600 1209600 300"))
        out.append(r.to_wire())
    q = make_query("broken.example", "A", use_edns=False)
    r = dns.message.make_response(q)
    r.set_rcode(dns.rcode.SERVFAIL)
    out.append(r.to_wire())
    q = make_query("big.example", "TXT", use_edns=0)
    r = dns.message.make_response(q)
    r.flags |= dns.flags.TC
    out.append(r.to_wire())
    q = make_query("ka.example", "A", use_edns=0)
    r = dns.message.make_response(q)
    r.use_edns(0, options=[dns.edns.GenericOption(11, b"\x00\x64")])
    r.answer.append(dns.rrset.from_text("ka.example.", 2**31 + 5, "IN", "A", "198.51.100.7"))
    out.append(r.to_wire())
    return out


def write(corpus, blobs):
    d = os.path.join(HERE, "corpus", corpus)
    os.makedirs(d, exist_ok=True)
    for blob in blobs:
        name = hashlib.sha1(blob).hexdigest()[:16]
        with open(os.path.join(d, name), "wb") as f:
            f.write(blob)


qs, rs = queries(), responses()
write("dns_parse", qs + rs)
# fuzz_cache_path: the first byte picks the operation (bits 1-2: 0 insert, 2 query).
write("cache_path", [bytes([0x20]) + r for r in rs] + [bytes([0x22]) + q for q in qs]
      + [bytes([0x08]) + r for r in rs])


def frames():
    """Ethernet frames for fuzz_net_frames: UDP DNS query, ARP request, ICMP echo, VLAN."""
    import struct

    ours, peer = bytes([2, 0, 0, 0, 0, 1]), bytes([2, 0, 0, 0, 0, 2])
    our_ip, peer_ip = bytes([192, 0, 2, 1]), bytes([192, 0, 2, 2])

    def ipv4(proto, payload):
        h = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), 1, 0x4000, 64, proto, 0, peer_ip, our_ip)
        h = h[:10] + struct.pack("!H", csum(h)) + h[12:]
        return h + payload

    q = make_query("www.example.com", "A", use_edns=0).to_wire()
    udp = struct.pack("!HHHH", 5353, 53, 8 + len(q), 0) + q
    pseudo = peer_ip + our_ip + struct.pack("!BBH", 0, 17, len(udp))
    udp = udp[:6] + struct.pack("!H", csum(pseudo + udp) or 0xffff) + udp[8:]
    eth = ours + peer + b"\x08\x00"
    out = [eth + ipv4(17, udp)]
    out.append(ours + peer + b"\x81\x00\x00\x05\x08\x00" + ipv4(17, udp))
    icmp = struct.pack("!BBHHH", 8, 0, 0, 0x1234, 1) + b"ping-data"
    icmp = icmp[:2] + struct.pack("!H", csum(icmp)) + icmp[4:]
    out.append(eth + ipv4(1, icmp))
    arp = struct.pack("!HHBBH6s4s6s4s", 1, 0x0800, 6, 4, 1, peer, peer_ip, b"\0" * 6, our_ip)
    out.append(b"\xff" * 6 + peer + b"\x08\x06" + arp)
    return out


write("net_frames", frames())


def frames_v6():
    """IPv6 frames for fuzz_net_frames: neighbour solicitation, echo, UDP DNS query."""
    import struct

    ours, peer = bytes([2, 0, 0, 0, 0, 1]), bytes([2, 0, 0, 0, 0, 2])
    our_ip = bytes.fromhex("20010db8000000000000000000000001")
    peer_ip = bytes.fromhex("20010db8000000000000000000000002")
    sn = bytes.fromhex("ff0200000000000000000001ff000001")

    def ipv6(dst, nh, payload, hop=64):
        return struct.pack("!IHBB", 0x60000000, len(payload), nh, hop) + peer_ip + dst + payload

    def icmp6(dst, body):
        pseudo = peer_ip + dst + struct.pack("!I3xB", len(body), 58)
        return body[:2] + struct.pack("!H", csum(pseudo + body)) + body[4:]

    out = []
    ns = struct.pack("!BBHI", 135, 0, 0, 0) + our_ip + bytes([1, 1]) + peer
    out.append(bytes([0x33, 0x33, 0xff, 0, 0, 1]) + peer + b"\x86\xdd" + ipv6(sn, 58, icmp6(sn, ns), 255))
    echo = struct.pack("!BBHHH", 128, 0, 0, 7, 1) + b"ping6"
    out.append(ours + peer + b"\x86\xdd" + ipv6(our_ip, 58, icmp6(our_ip, echo)))
    q = make_query("www.example.com", "AAAA", use_edns=0).to_wire()
    udp = struct.pack("!HHHH", 5353, 53, 8 + len(q), 0) + q
    pseudo = peer_ip + our_ip + struct.pack("!I3xB", len(udp), 17)
    udp = udp[:6] + struct.pack("!H", csum(pseudo + udp) or 0xffff) + udp[8:]
    out.append(ours + peer + b"\x86\xdd" + ipv6(our_ip, 17, udp))
    return out


write("net_frames", frames() + frames_v6())


def tcp_segments():
    """Inputs for fuzz_tcp: a control byte (peer, time step, steering, checksum), then a
    TCP segment. Steered inputs get in-window seq/ack numbers from the harness."""
    import struct

    def seg(sport, dport, flags, payload=b"", options=b""):
        off = (20 + len(options)) // 4
        return struct.pack("!HHIIBBHHH", sport, dport, 1000, 0, off << 4, flags, 65535, 0, 0) + options + payload

    syn_opts = bytes([2, 4, 0x05, 0xb4, 1, 3, 3, 7, 1, 1, 8, 10]) + b"\0" * 8
    out = [
        bytes([0x04]) + seg(40000, 853, 0x02, options=syn_opts),            # SYN, checksum fixed
        bytes([0x0c]) + seg(40000, 853, 0x10),                              # steered ACK
        bytes([0x0c]) + seg(40000, 853, 0x18, b"\x00\x1dquery-bytes"),      # steered data
        bytes([0x0c]) + seg(40000, 853, 0x11),                              # steered FIN
        bytes([0x0c]) + seg(40000, 853, 0x04),                              # steered RST
        bytes([0xf4]) + seg(853, 32768, 0x12, options=syn_opts),            # connect + SYN-ACK
    ]
    return out


write("tcp", tcp_segments())


def dot_streams():
    """Inputs for fuzz_dot_framing: a control byte (bits 0-1 the message limit: 65535, 512,
    12, 1; bit 2 tiny chunks), three bytes seeding the chunk sizes, then a DoT stream: the
    queries and responses above, each with its 2-byte length (RFC 7766 8)."""
    import struct

    def framed(msgs):
        return b"".join(struct.pack("!H", len(m)) + m for m in msgs)

    out = [
        b"\x00\x12\x34\x56" + framed(qs),                       # a pipelined burst of queries
        b"\x04\x00\x00\x07" + framed(rs),                       # answers, cut into tiny chunks
        b"\x01\xab\xcd\xef" + framed(qs[:3] + rs[:2]),          # 512-byte limit, mixed
        b"\x00\x01\x02\x03" + framed(qs[:2]) + b"\x00\x00" + framed(rs[:1]),  # a zero-length frame
        b"\x02\x10\x20\x30" + framed(rs[:3]),                   # 12-byte limit: everything skipped
        b"\x00\x55\x55\x55" + framed(qs[:1]) + b"\x01\x00" + b"\x00" * 40,    # a partial tail
    ]
    return out


def configs():
    """Config files for fuzz_config: the shipped examples, a smallest valid file, and
    files with one mistake each of the kinds the validator names."""
    root = os.path.join(HERE, "..", "..", "config")
    out = []
    for name in ("dotgate.toml", "lab.toml"):
        with open(os.path.join(root, name), "rb") as f:
            out.append(f.read())
    base = b"""[dataplane]
[[dataplane.ports]]
name = "p0"
device = "net_null0"
ipv4 = "192.0.2.2/24"
ipv6 = "2001:db8::2/64"

[[listener]]
address = "192.0.2.2"
allow = ["198.51.100.0/24"]

[pools.default]
upstreams = ["1.1.1.1#cloudflare-dns.com"]
"""
    out.append(base)
    out += [
        b"privacy = \n" + base,                                                  # TOML syntax
        base + b"[cache]\nmin-ttl = 5\nsize = \"512MB\"\nmax_ttl = \"1h30m\"\n",  # unknown key, size, duration
        base + b"[[listener]]\naddress = \"192.0.2.2\"\ntransport = \"dot\"\n",  # DoT without certificate
        base + b"fallback = [\"1.1.1.1@853\", \"[2001:db8::53]:853#x.example\"]\n"
               b"[pools.b]\nupstreams = [{ address = \"9.9.9.9\", pins = [\"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\"] }]\n"
               b"zones = [\"corp.example\", \".\"]\n",                              # zone in two pools, fallback primary
        base + b"[tls]\nmin_version = \"1.3\"\nmax_version = \"1.2\"\n",          # TLS versions crossed
        base + b"[[listener]]\naddress = \"0.0.0.0\"\npool = \"nope\"\n",         # overlap, undefined pool
        base + b"[local.zones]\n\"corp.example\" = [\"@ MX 10 mail\", \"www A 1.2.3.4\", \"x.corp.example TXT \\\"a\\\"\"]\n"
               b"\"b.example\" = { type = \"refuse\", records = [] }\n",          # local records
        b"[dataplane]\nlcores = \"0-2,5\"\nworkers = 2\neal_args = [\"-l\", \"1\"]\n",  # lcores
    ]
    return out


write("dot_framing", dot_streams())
write("config", configs())


def upstream_scripts():
    """Event scripts for fuzz_upstream_answers (ops: 0 ask, 1 connected, 2 connect failed,
    3 closed, 4 message, 5 time passes): asks answered in and out of order, an answer to
    another question, a duplicate, a connection lost with queries in flight, timeouts."""
    ask = lambda n: bytes([0, n])
    up = lambda c: bytes([1, c])
    answer = lambda c, mode: bytes([4, c, mode])
    wait = lambda t: bytes([5, t])
    return [
        ask(1) + ask(2) + up(0) + up(1) + answer(0, 1) + answer(1, 1),
        ask(3) + ask(4) + ask(5) + up(0) + up(1) + up(2) + answer(2, 3) + answer(0, 2) + wait(30) + answer(0, 1),
        ask(6) + up(0) + bytes([3, 0]) + wait(50) + up(1) + answer(1, 1),
        ask(7) + bytes([2, 0, 1]) + bytes([2, 1, 0]) + wait(100) + ask(8) + up(2) + answer(2, 1),
        ask(9) + up(0) + answer(0, 0) + bytes([12]) + bytes(range(12)) + wait(255) + wait(255),
    ]


write("upstream_answers", upstream_scripts())
