// TLS 1.3 records after the switch from OpenSSL (see record_channel.h).
#include "tls/record_channel.h"

#include <openssl/crypto.h>
#include <openssl/ssl.h>

#include <algorithm>
#include <cstring>

namespace dotgate::tls {

namespace {

constexpr size_t kInCap = kRecordHeaderLen + kMaxCiphertext;
// One full application-data record and two control records (a KeyUpdate and an alert).
constexpr size_t kOutCap = kMaxPlaintext + kRecordOverhead + 2 * (kRecordOverhead + 8);

// Alert descriptions (RFC 8446 6).
constexpr uint8_t kAlertCloseNotify = 0, kAlertUnexpectedMessage = 10, kAlertBadRecordMac = 20,
                  kAlertRecordOverflow = 22, kAlertIllegalParameter = 47, kAlertDecodeError = 50,
                  kAlertInternalError = 80, kAlertUserCanceled = 90;
// KeyUpdates in a row without application data between them before we give up (OpenSSL
// allows as many: each costs three HKDF derivations and a key schedule).
constexpr uint32_t kMaxKeyUpdatesInARow = 32;
constexpr uint8_t kHandshakeNewSessionTicket = 4, kHandshakeKeyUpdate = 24;

uint8_t alert_for(RecordStatus s) {
  switch (s) {
    case RecordStatus::kBadRecordMac: return kAlertBadRecordMac;
    case RecordStatus::kRecordOverflow: return kAlertRecordOverflow;
    case RecordStatus::kBadHeader:
    case RecordStatus::kBadInnerPlaintext: return kAlertUnexpectedMessage;
    default: return kAlertInternalError;
  }
}

std::variant<Tls13RecordKeys, TlsError> keys_of(RecordCipher cipher, const TrafficSecret& s, OSSL_LIB_CTX* library) {
  return Tls13RecordKeys::from_secret(cipher, std::span<const uint8_t>(s.bytes.data(), s.len), library);
}

// RFC 8446 7.2: application_traffic_secret_N+1 = HKDF-Expand-Label(secret_N, "traffic upd", "", Hash.length).
bool next_secret(RecordCipher cipher, TrafficSecret* s, OSSL_LIB_CTX* library) {
  std::array<uint8_t, 48> next{};
  const bool ok = hkdf_expand_label(cipher, std::span<const uint8_t>(s->bytes.data(), s->len), "traffic upd", {},
                                    std::span<uint8_t>(next.data(), s->len), library);
  if (ok) std::memcpy(s->bytes.data(), next.data(), s->len);
  OPENSSL_cleanse(next.data(), next.size());
  return ok;
}

}  // namespace

void TrafficSecret::cleanse() noexcept {
  OPENSSL_cleanse(bytes.data(), bytes.size());
  len = 0;
}

RecordChannel::RecordChannel(const GcmEngine& engine, OSSL_LIB_CTX* library, const Start& start)
    : engine_(engine),
      library_(library),
      cipher_(start.cipher),
      read_secret_(start.read_secret),
      write_secret_(start.write_secret),
      client_(start.client),
      key_update_after_(std::max<uint64_t>(start.key_update_after_records, 1)) {}

std::variant<std::unique_ptr<RecordChannel>, TlsError> RecordChannel::create(const GcmEngine& engine,
                                                                             OSSL_LIB_CTX* library,
                                                                             const Start& start) {
  const size_t want = start.cipher == RecordCipher::kAes128GcmSha256 ? 32 : 48;
  if (start.read_secret.len != want || start.write_secret.len != want) {
    return TlsError{"traffic secrets of the wrong length for the suite"};
  }
  std::unique_ptr<RecordChannel> c(new RecordChannel(engine, library, start));
  auto rk = keys_of(c->cipher_, c->read_secret_, library);
  auto wk = keys_of(c->cipher_, c->write_secret_, library);
  const bool ok = std::holds_alternative<Tls13RecordKeys>(rk) && std::holds_alternative<Tls13RecordKeys>(wk);
  if (ok) {
    c->reader_.emplace(engine, std::get<Tls13RecordKeys>(rk), start.read_sequence);
    c->writer_.emplace(engine, std::get<Tls13RecordKeys>(wk), start.write_sequence);
  }
  for (auto* k : {&rk, &wk}) {
    if (auto* keys = std::get_if<Tls13RecordKeys>(k)) OPENSSL_cleanse(keys, sizeof *keys);
  }
  if (!ok) return std::get<TlsError>(std::holds_alternative<TlsError>(rk) ? rk : wk);
  return c;
}

RecordChannel::~RecordChannel() {
  read_secret_.cleanse();
  write_secret_.cleanse();
}

template <class Direction>
bool RecordChannel::rekey(TrafficSecret& secret, std::optional<Direction>& direction) {
  if (!next_secret(cipher_, &secret, library_)) return false;
  auto k = keys_of(cipher_, secret, library_);
  if (std::holds_alternative<TlsError>(k)) return false;
  direction.emplace(engine_, std::get<Tls13RecordKeys>(k), 0);
  OPENSSL_cleanse(&std::get<Tls13RecordKeys>(k), sizeof(Tls13RecordKeys));
  return true;
}

bool RecordChannel::ensure_buffers() {
  if (!in_) in_.reset(new (std::nothrow) uint8_t[kInCap]);
  if (!out_) out_.reset(new (std::nothrow) uint8_t[kOutCap]);
  return in_ && out_;
}

bool RecordChannel::release_buffers() noexcept {
  if (in_start_ == in_end_ && plain_len_ == 0) {
    in_.reset();
    in_start_ = in_end_ = 0;
  }
  if (out_start_ == out_end_ && held_plain_ == 0 && !reply_owed_ && !update_wanted_) {
    out_.reset();
    out_start_ = out_end_ = 0;
  }
  return !in_ && !out_;
}

bool RecordChannel::queue_record(ContentType type, const uint8_t* content, size_t len) {
  if (!ensure_buffers()) return false;
  if (out_start_ == out_end_) out_start_ = out_end_ = 0;
  size_t written = 0;
  if (writer_->protect(std::span<const uint8_t>(content, len), out_.get() + out_end_, kOutCap - out_end_, &written,
                       type) != ProtectStatus::kOk) {
    return false;
  }
  out_end_ += written;
  return true;
}

// KeyUpdate (RFC 8446 4.6.3) under the current keys, then the next keys for everything after.
bool RecordChannel::queue_key_update(bool request_peer) {
  const uint8_t msg[5] = {kHandshakeKeyUpdate, 0, 0, 1, static_cast<uint8_t>(request_peer ? 1 : 0)};
  if (!queue_record(ContentType::kHandshake, msg, sizeof msg) || !rekey(write_secret_, writer_)) return false;
  ++stats_.key_updates_sent;
  return true;
}

bool RecordChannel::flush(CipherStream& stream) {
  for (;;) {
    while (out_start_ < out_end_) {
      const size_t n = stream.send(out_.get() + out_start_, out_end_ - out_start_);
      if (n == 0) return false;
      out_start_ += n;
    }
    out_start_ = out_end_ = 0;
    if (send_closed_ || (!reply_owed_ && !update_wanted_)) return true;
    // A reply to the peer's request must not request one back (RFC 8446 4.6.3); it also
    // serves as our own update unless update_keys() asked the peer for one, which then
    // follows as a second KeyUpdate.
    bool request = false;
    if (reply_owed_) {
      reply_owed_ = false;
      if (!request_peer_) update_wanted_ = false;
    } else {
      request = request_peer_;
      update_wanted_ = request_peer_ = false;
    }
    if (!queue_key_update(request)) {
      failure_ = "cannot make a KeyUpdate";
      return false;
    }
  }
}

TlsResult RecordChannel::fail(std::string reason, uint8_t alert, CipherStream* stream) {
  if (failure_.empty()) failure_ = std::move(reason);
  if (stream && !send_closed_) {
    // Best effort: after what is queued (a record half sent must be completed, a queued
    // KeyUpdate precedes the keys the alert is sealed under), and it goes now or never.
    const uint8_t a[2] = {2, alert};
    if (queue_record(ContentType::kAlert, a, sizeof a)) {
      while (out_start_ < out_end_) {
        const size_t n = stream->send(out_.get() + out_start_, out_end_ - out_start_);
        if (n == 0) break;
        out_start_ += n;
      }
    }
  }
  send_closed_ = true;  // nothing is sent after a fatal alert
  return TlsResult::kFailed;
}

void RecordChannel::update_keys(bool request_peer) noexcept {
  update_wanted_ = true;
  request_peer_ = request_peer_ || request_peer;
}

// The messages of one post-handshake record. A message split over records is refused (no
// DoT server we know sends one: tickets are a few hundred bytes).
bool RecordChannel::handshake_messages(const uint8_t* p, size_t len) {
  while (len > 0) {
    if (len < 4) {
      failure_ = "a post-handshake message split over records";
      return false;
    }
    const size_t body = size_t{p[1]} << 16 | size_t{p[2]} << 8 | p[3];
    if (4 + body > len) {
      failure_ = "a post-handshake message split over records";
      return false;
    }
    switch (p[0]) {
      case kHandshakeNewSessionTicket:
        if (!client_) {
          failure_ = "a NewSessionTicket from the client";
          return false;
        }
        // Resumption keeps the ticket OpenSSL stored before the switch (the switch waits
        // for one when the server sends any right after the handshake).
        ++stats_.late_tickets;
        break;
      case kHandshakeKeyUpdate:
        if (body != 1 || p[4] > 1) {
          failure_ = "a malformed KeyUpdate";
          alert_ = body != 1 ? kAlertDecodeError : kAlertIllegalParameter;
          return false;
        }
        if (++key_updates_in_a_row_ > kMaxKeyUpdatesInARow) {
          failure_ = "too many KeyUpdates without application data";
          return false;
        }
        // The key change ends the record (5.1: no message may span it).
        if (4 + body != len) {
          failure_ = "data after a KeyUpdate in the same record";
          return false;
        }
        if (!rekey(read_secret_, reader_)) {
          failure_ = "cannot derive the peer's next keys";
          return false;
        }
        ++stats_.key_updates_received;
        if (p[4] == 1) reply_owed_ = true;
        break;
      default:
        failure_ = "an unexpected post-handshake message (type " + std::to_string(p[0]) + ")";
        return false;
    }
    p += 4 + body;
    len -= 4 + body;
  }
  return true;
}

TlsResult RecordChannel::read(CipherStream& stream, uint8_t* out, size_t cap, size_t* got) {
  *got = 0;
  if (failed()) return TlsResult::kFailed;
  if (reply_owed_ || out_end_ != out_start_) {
    flush(stream);  // what cannot go now goes with the next write
    if (failed()) return fail(failure_, kAlertInternalError, nullptr);
  }
  for (;;) {
    if (plain_len_ != 0) {
      const size_t n = std::min(cap - *got, plain_len_);
      std::memcpy(out + *got, in_.get() + plain_off_, n);
      *got += n;
      plain_off_ += n;
      plain_len_ -= n;
      if (plain_len_ != 0) return TlsResult::kDone;  // `out` is full
      in_start_ += plain_record_;
    }
    if (*got == cap) return TlsResult::kDone;
    if (peer_closed_) return *got ? TlsResult::kDone : TlsResult::kClosed;
    size_t avail = in_end_ - in_start_;
    Unprotected u;
    if (avail != 0) u = reader_->unprotect(in_.get() + in_start_, avail);
    if (u.status == RecordStatus::kNeedMore) {
      // Deliver what we have; the caller reads again until kWantInput.
      if (*got != 0) return TlsResult::kDone;
      if (!stream.has_input() && !stream.ended()) return TlsResult::kWantInput;
      if (!ensure_buffers()) return fail("out of memory for record buffers", kAlertInternalError, nullptr);
      if (in_start_ == in_end_) {
        in_start_ = in_end_ = 0;
      } else if (in_start_ != 0 && (in_end_ == kInCap || in_start_ + RecordUnprotector::record_length(in_.get() + in_start_, avail) > kInCap)) {
        std::memmove(in_.get(), in_.get() + in_start_, avail);
        in_start_ = 0;
        in_end_ = avail;
      }
      const size_t n = stream.receive(in_.get() + in_end_, kInCap - in_end_);
      if (n == 0) {
        if (stream.ended()) return fail("unexpected eof while reading", kAlertDecodeError, nullptr);
        return TlsResult::kWantInput;
      }
      in_end_ += n;
      continue;
    }
    switch (u.status) {
      case RecordStatus::kApplicationData:
        ++stats_.records_read;
        key_updates_in_a_row_ = 0;
        plain_off_ = static_cast<size_t>(u.payload - in_.get());
        plain_len_ = u.payload_len;
        plain_record_ = u.consumed;
        if (plain_len_ == 0) in_start_ += u.consumed;
        continue;
      case RecordStatus::kHandshake:
        in_start_ += u.consumed;
        alert_ = kAlertUnexpectedMessage;
        if (!handshake_messages(u.payload, u.payload_len)) return fail(failure_, alert_, &stream);
        if (reply_owed_) flush(stream);
        continue;
      case RecordStatus::kAlert: {
        in_start_ += u.consumed;
        if (u.payload_len != 2) return fail("a malformed alert", kAlertDecodeError, &stream);
        const uint8_t desc = u.payload[1];
        if (desc == kAlertCloseNotify) {
          peer_closed_ = true;
          continue;
        }
        if (desc == kAlertUserCanceled) continue;  // a close_notify follows (6.1)
        return fail(std::string("the peer sent an alert: ") + SSL_alert_desc_string_long(desc), 0, nullptr);
      }
      default:
        return fail(record_status_name(u.status), alert_for(u.status), &stream);
    }
  }
}

TlsResult RecordChannel::write(CipherStream& stream, const uint8_t* data, size_t len, size_t* taken) {
  *taken = 0;
  if (failed()) return TlsResult::kFailed;
  if (send_closed_) return TlsResult::kClosed;
  if (!flush(stream)) return failed() ? fail(failure_, kAlertInternalError, nullptr) : TlsResult::kWantOutput;
  // The record made from the caller's first bytes last time has gone out: they count now.
  *taken = std::min(held_plain_, len);
  held_plain_ -= *taken;
  if (held_plain_ != 0) return TlsResult::kDone;  // a shorter buffer than before: all of it was in the record
  while (*taken < len) {
    if (writer_->sequence() >= key_update_after_ && !queue_key_update(false)) {
      return fail("cannot make a KeyUpdate", kAlertInternalError, nullptr);
    }
    const size_t chunk = std::min(len - *taken, kMaxPlaintext);
    if (!queue_record(ContentType::kApplicationData, data + *taken, chunk)) {
      return fail("cannot protect a record", kAlertInternalError, nullptr);
    }
    ++stats_.records_written;
    if (!flush(stream)) {
      if (failed()) return fail(failure_, kAlertInternalError, nullptr);
      // As OpenSSL: the bytes of a record not yet wholly sent are not taken; the caller
      // comes back with them when the stream has room and they are taken then.
      held_plain_ = chunk;
      return TlsResult::kWantOutput;
    }
    *taken += chunk;
  }
  return TlsResult::kDone;
}

TlsResult RecordChannel::shutdown(CipherStream& stream) {
  if (failed()) return TlsResult::kFailed;
  if (!close_notify_queued_) {
    if (!flush(stream)) return failed() ? fail(failure_, kAlertInternalError, nullptr) : TlsResult::kWantOutput;
    const uint8_t a[2] = {1, kAlertCloseNotify};
    if (!queue_record(ContentType::kAlert, a, sizeof a)) {
      return fail("cannot protect close_notify", kAlertInternalError, nullptr);
    }
    close_notify_queued_ = send_closed_ = true;
  }
  return flush(stream) ? TlsResult::kDone : TlsResult::kWantOutput;
}

}  // namespace dotgate::tls
