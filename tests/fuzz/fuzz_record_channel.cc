// Fuzzes the own TLS 1.3 record layer after the switch (tls/record_channel.h) as a client:
// a scripted peer sends records it protects under the keys the channel expects (any inner
// type and content: application data, post-handshake messages including KeyUpdates it
// follows itself, alerts, malformed ones) mixed with raw bytes, over a stream whose room
// and delivery the input chooses, while the channel reads, writes, updates keys and shuts
// down. Invariants: no crash or sanitizer report; the application data the channel hands
// out is exactly what the peer sent as application data, in order, up to the first
// failure or close_notify; once failed it stays failed; every record the channel writes
// opens under the peer's view of its keys (following the KeyUpdates it sends).
#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <optional>
#include <vector>

#include "fuzz_check.h"
#include "tls/record_channel.h"

using namespace dotgate::tls;

namespace {

struct Script {
  const uint8_t* p;
  size_t n;
  uint8_t byte() {
    if (n == 0) return 0;
    --n;
    return *p++;
  }
  uint16_t u16() { return static_cast<uint16_t>(byte() << 8 | byte()); }
};

struct Pipe final : CipherStream {
  std::vector<uint8_t> in;   // peer -> channel, not yet received
  std::vector<uint8_t> out;  // channel -> peer
  size_t room = SIZE_MAX;
  size_t chunk = SIZE_MAX;   // most bytes per receive()
  bool fin = false;
  size_t receive(uint8_t* dst, size_t cap) override {
    const size_t k = std::min({cap, chunk, in.size()});
    if (k == 0) return 0;
    std::memcpy(dst, in.data(), k);
    in.erase(in.begin(), in.begin() + static_cast<long>(k));
    return k;
  }
  size_t send(const uint8_t* data, size_t len) override {
    const size_t k = std::min(len, room);
    room -= k;
    out.insert(out.end(), data, data + k);
    return k;
  }
  bool ended() const override { return fin && in.empty(); }
  bool has_input() const override { return !in.empty(); }
};

TrafficSecret secret(uint8_t seed) {
  TrafficSecret s;
  s.len = 32;
  for (size_t i = 0; i < 32; ++i) s.bytes[i] = static_cast<uint8_t>(seed * 7 + i);
  return s;
}

bool next(TrafficSecret* s) {
  std::array<uint8_t, 48> n{};
  if (!hkdf_expand_label(RecordCipher::kAes128GcmSha256, std::span<const uint8_t>(s->bytes.data(), s->len),
                         "traffic upd", {}, std::span<uint8_t>(n.data(), s->len))) {
    return false;
  }
  std::memcpy(s->bytes.data(), n.data(), s->len);
  return true;
}

Tls13RecordKeys keys(const TrafficSecret& s) {
  auto k = Tls13RecordKeys::from_secret(RecordCipher::kAes128GcmSha256, std::span<const uint8_t>(s.bytes.data(), s.len));
  CHECK(std::holds_alternative<Tls13RecordKeys>(k));
  return std::get<Tls13RecordKeys>(k);
}

const GcmEngine& engine() {
  static std::unique_ptr<GcmEngine> e = [] {
    auto made = GcmEngine::create();
    CHECK(std::holds_alternative<std::unique_ptr<GcmEngine>>(made));
    return std::move(std::get<std::unique_ptr<GcmEngine>>(made));
  }();
  return *e;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Script in{data, size};
  TrafficSecret peer_write = secret(1), peer_read = secret(2);  // server -> client, client -> server
  RecordChannel::Start start;
  start.read_secret = peer_write;
  start.write_secret = peer_read;
  start.read_sequence = in.byte() % 4;
  start.write_sequence = in.byte() % 4;
  start.key_update_after_records = 1 + in.byte() % 8;  // the channel's own KeyUpdates, often
  auto made = RecordChannel::create(engine(), nullptr, start);
  CHECK(std::holds_alternative<std::unique_ptr<RecordChannel>>(made));
  RecordChannel& ch = *std::get<std::unique_ptr<RecordChannel>>(made);

  std::optional<RecordProtector> peer_out;
  peer_out.emplace(engine(), keys(peer_write), start.read_sequence);
  std::optional<RecordUnprotector> peer_in;
  peer_in.emplace(engine(), keys(peer_read), start.write_sequence);
  Pipe pipe;
  std::vector<uint8_t> sent_app, got_app;  // application data sent by the peer / delivered
  bool garbage = false;        // the peer sent something not a valid record: anything may fail
  int key_updates_in_a_row = 0;  // more than 32 without application data is refused
  bool peer_closed = false;    // the peer sent close_notify
  bool failed = false;
  std::vector<uint8_t> content(kMaxPlaintext + 300), record(kMaxPlaintext + 600);
  std::vector<uint8_t> out_buf(20000);
  size_t out_checked = 0;
  bool out_closed = false;

  for (int steps = 0; steps < 64 && in.n > 0; ++steps) {
    switch (in.byte() % 8) {
      case 0: {  // the peer sends one record
        const uint8_t type_pick = in.byte();
        ContentType type = ContentType::kApplicationData;
        if (type_pick % 5 == 1) type = ContentType::kHandshake;
        if (type_pick % 5 == 2) type = ContentType::kAlert;
        if (type_pick % 5 == 3) type = static_cast<ContentType>(in.byte());  // any inner type
        size_t len = in.u16() % (kMaxPlaintext + 2);
        const size_t padding = in.byte() % 4 == 0 ? in.u16() % 300 : 0;
        bool key_update = false;
        if (type == ContentType::kHandshake && (type_pick & 0x80)) {  // a well-formed KeyUpdate
          len = 5;
          content[0] = 24, content[1] = 0, content[2] = 0, content[3] = 1, content[4] = in.byte() % 3;
          key_update = content[4] <= 1;
        } else {
          for (size_t i = 0; i < len; ++i) content[i] = in.byte();
        }
        if (peer_closed) break;
        size_t written = 0;
        if (peer_out->protect(std::span<const uint8_t>(content.data(), len), record.data(), record.size(), &written,
                              type, padding) != ProtectStatus::kOk) {
          break;
        }
        pipe.in.insert(pipe.in.end(), record.begin(), record.begin() + static_cast<long>(written));
        if (type == ContentType::kApplicationData) {
          key_updates_in_a_row = 0;
          sent_app.insert(sent_app.end(), content.begin(), content.begin() + static_cast<long>(len));
        } else if (type == ContentType::kAlert && len == 2 && content[1] == 0) {
          peer_closed = true;
        } else if (key_update) {
          if (++key_updates_in_a_row > 32) garbage = true;
          CHECK(next(&peer_write));
          peer_out.emplace(engine(), keys(peer_write), 0);
        } else {
          garbage = true;  // unexpected content: the channel may fail from here on
        }
        break;
      }
      case 1: {  // raw bytes
        const size_t len = in.byte() % 40;
        for (size_t i = 0; i < len; ++i) pipe.in.push_back(in.byte());
        garbage = garbage || len > 0;
        break;
      }
      case 2: {  // the channel reads
        uint8_t buf[700];
        const size_t cap = 1 + in.byte() % sizeof buf;
        pipe.chunk = 1 + in.u16();
        size_t got = 0;
        const TlsResult r = ch.read(pipe, buf, cap, &got);
        CHECK(got <= cap);
        got_app.insert(got_app.end(), buf, buf + got);
        if (r == TlsResult::kFailed) failed = true;
        if (failed) CHECK(r == TlsResult::kFailed && ch.failed());
        if (r == TlsResult::kDone) CHECK(got > 0);
        break;
      }
      case 3: {  // the channel writes
        const size_t len = in.u16() % 20000;
        pipe.room = in.byte() % 2 ? SIZE_MAX : in.u16();
        size_t taken = 0;
        const TlsResult r = ch.write(pipe, out_buf.data(), len, &taken);
        CHECK(taken <= len);
        if (r == TlsResult::kDone) CHECK(taken == len);
        if (r == TlsResult::kFailed) failed = true;
        pipe.room = SIZE_MAX;
        break;
      }
      case 4:
        ch.update_keys(in.byte() & 1);
        break;
      case 5:
        if (ch.shutdown(pipe) == TlsResult::kFailed) failed = true;
        break;
      case 6:
        ch.release_buffers();
        break;
      case 7:
        if (in.byte() % 4 == 0) pipe.fin = true;
        break;
    }
    if (ch.failed()) failed = true;
    // The peer opens everything the channel sent, following its KeyUpdates.
    while (!out_closed && pipe.out.size() > out_checked) {
      std::vector<uint8_t> rec(pipe.out.begin() + static_cast<long>(out_checked), pipe.out.end());
      const Unprotected u = peer_in->unprotect(rec.data(), rec.size());
      if (u.status == RecordStatus::kNeedMore) break;
      CHECK(u.status == RecordStatus::kApplicationData || u.status == RecordStatus::kHandshake ||
            u.status == RecordStatus::kAlert);
      out_checked += u.consumed;
      if (u.status == RecordStatus::kHandshake) {
        CHECK(u.payload_len == 5 && u.payload[0] == 24 && u.payload[4] <= 1);
        CHECK(next(&peer_read));
        peer_in.emplace(engine(), keys(peer_read), 0);
      } else if (u.status == RecordStatus::kAlert) {
        out_closed = true;  // close_notify or a fatal alert: nothing may follow
        CHECK(pipe.out.size() == out_checked);
      }
    }
  }
  // What came out is what the peer sent as application data, in order.
  CHECK(got_app.size() <= sent_app.size());
  CHECK(got_app.empty() || std::memcmp(got_app.data(), sent_app.data(), got_app.size()) == 0);
  // A failure needs a cause: something not a valid record, or the stream's end (truncation).
  if (ch.failed() && !(garbage || pipe.fin)) std::fprintf(stderr, "failure: %s\n", ch.failure().c_str());
  if (ch.failed()) CHECK(garbage || pipe.fin);
  return 0;
}
