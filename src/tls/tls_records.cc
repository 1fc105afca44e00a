// A TLS 1.3 application-data record layer on ipsec-mb AES-GCM (see tls_records.h).
#include "tls/tls_records.h"

#include <intel-ipsec-mb.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

#include <cstdio>
#include <cstring>
#include <memory>
#include <new>
#include <string>

namespace dotgate::tls {

namespace {

const char* digest_name(RecordCipher c) { return c == RecordCipher::kAes128GcmSha256 ? "SHA256" : "SHA384"; }
size_t hash_len(RecordCipher c) { return c == RecordCipher::kAes128GcmSha256 ? 32 : 48; }

constexpr uint8_t kLegacyVersionHi = 0x03, kLegacyVersionLo = 0x03;

}  // namespace

std::variant<RecordCipher, TlsError> record_cipher_from_suite(uint16_t suite) {
  switch (suite) {
    case 0x1301:
      return RecordCipher::kAes128GcmSha256;
    case 0x1302:
      return RecordCipher::kAes256GcmSha384;
    default:
      break;
  }
  char hex[8];
  std::snprintf(hex, sizeof hex, "%04x", suite);
  return TlsError{std::string("TLS 1.3 suite 0x") + hex + " is not done by the own record layer (AES-GCM only)"};
}

bool hkdf_expand_label(RecordCipher cipher, std::span<const uint8_t> secret, const char* label,
                       std::span<const uint8_t> context, std::span<uint8_t> out, OSSL_LIB_CTX* library) {
  // struct { uint16 length; opaque label<7..255> = "tls13 " + label; opaque context<0..255>; }
  static constexpr char kPrefix[] = "tls13 ";
  const size_t label_len = sizeof kPrefix - 1 + std::strlen(label);
  if (label_len > 255 || context.size() > 255 || out.size() > 0xffff) return false;
  uint8_t info[2 + 1 + 255 + 1 + 255];
  size_t n = 0;
  info[n++] = static_cast<uint8_t>(out.size() >> 8);
  info[n++] = static_cast<uint8_t>(out.size());
  info[n++] = static_cast<uint8_t>(label_len);
  std::memcpy(info + n, kPrefix, sizeof kPrefix - 1);
  n += sizeof kPrefix - 1;
  std::memcpy(info + n, label, label_len - (sizeof kPrefix - 1));
  n += label_len - (sizeof kPrefix - 1);
  info[n++] = static_cast<uint8_t>(context.size());
  if (!context.empty()) std::memcpy(info + n, context.data(), context.size());
  n += context.size();

  EVP_KDF* kdf = EVP_KDF_fetch(library, OSSL_KDF_NAME_HKDF, nullptr);
  if (!kdf) return false;
  EVP_KDF_CTX* kctx = EVP_KDF_CTX_new(kdf);
  EVP_KDF_free(kdf);
  if (!kctx) return false;
  int mode = EVP_KDF_HKDF_MODE_EXPAND_ONLY;
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_int(OSSL_KDF_PARAM_MODE, &mode),
      OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, const_cast<char*>(digest_name(cipher)), 0),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, const_cast<uint8_t*>(secret.data()), secret.size()),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, info, n),
      OSSL_PARAM_construct_end(),
  };
  const bool ok = EVP_KDF_derive(kctx, out.data(), out.size(), params) == 1;
  EVP_KDF_CTX_free(kctx);
  OPENSSL_cleanse(info, sizeof info);
  return ok;
}

std::variant<Tls13RecordKeys, TlsError> Tls13RecordKeys::from_secret(RecordCipher cipher,
                                                                     std::span<const uint8_t> secret,
                                                                     OSSL_LIB_CTX* library) {
  if (secret.size() != hash_len(cipher)) {
    return TlsError{"traffic secret of " + std::to_string(secret.size()) + " bytes; " + digest_name(cipher) +
                    " needs " + std::to_string(hash_len(cipher))};
  }
  Tls13RecordKeys k;
  k.cipher = cipher;
  if (!hkdf_expand_label(cipher, secret, "key", {}, std::span<uint8_t>(k.key.data(), k.key_len()), library) ||
      !hkdf_expand_label(cipher, secret, "iv", {}, k.iv, library)) {
    OPENSSL_cleanse(&k, sizeof k);
    return TlsError{"HKDF-Expand-Label failed: " + take_openssl_errors()};
  }
  return k;
}

// --- the engine --------------------------------------------------------------------------

std::variant<std::unique_ptr<GcmEngine>, TlsError> GcmEngine::create() {
  std::unique_ptr<GcmEngine> e(new GcmEngine);
  e->mgr_ = alloc_mb_mgr(0);
  if (!e->mgr_) return TlsError{"ipsec-mb: alloc_mb_mgr failed"};
  IMB_ARCH arch = IMB_ARCH_NONE;
  init_mb_mgr_auto(e->mgr_, &arch);
  const int err = imb_get_errno(e->mgr_);
  if (err != 0) return TlsError{std::string("ipsec-mb: init_mb_mgr_auto: ") + imb_get_strerror(err)};
  if (arch == IMB_ARCH_NONE || arch == IMB_ARCH_NOAESNI) {
    // The software fallback works but is far slower than OpenSSL; refuse so the caller
    // keeps OpenSSL's record layer.
    return TlsError{"ipsec-mb: no AES-NI on this CPU"};
  }
  e->arch_ = static_cast<int>(arch);
  return e;
}

GcmEngine::~GcmEngine() {
  if (mgr_) free_mb_mgr(mgr_);
}

const char* GcmEngine::arch_name() const noexcept {
  switch (static_cast<IMB_ARCH>(arch_)) {
    case IMB_ARCH_AVX512:
      return "avx512";
    case IMB_ARCH_AVX2:
      return "avx2";
    case IMB_ARCH_AVX:
      return "avx";
    case IMB_ARCH_SSE:
      return "sse";
    default:
      return "none";
  }
}

// --- key state ---------------------------------------------------------------------------

RecordKeyState::RecordKeyState(const GcmEngine& engine, const Tls13RecordKeys& keys, uint64_t sequence)
    : mgr_(engine.manager()), cipher_(keys.cipher), iv_(keys.iv), sequence_(sequence) {
  constexpr size_t kAlign = 64;
  storage_.reset(new uint8_t[sizeof(gcm_key_data) + kAlign]);
  void* p = storage_.get();
  size_t space = sizeof(gcm_key_data) + kAlign;
  p = std::align(kAlign, sizeof(gcm_key_data), p, space);
  key_ = ::new (p) gcm_key_data;
  if (cipher_ == RecordCipher::kAes128GcmSha256) {
    IMB_AES128_GCM_PRE(mgr_, keys.key.data(), key_);
  } else {
    IMB_AES256_GCM_PRE(mgr_, keys.key.data(), key_);
  }
}

RecordKeyState::~RecordKeyState() {
  OPENSSL_cleanse(storage_.get(), sizeof(gcm_key_data) + 64);
  OPENSSL_cleanse(iv_.data(), iv_.size());
}

void RecordKeyState::nonce(uint8_t out[12]) const noexcept {
  std::memcpy(out, iv_.data(), 12);
  for (int i = 0; i < 8; ++i) out[11 - i] ^= static_cast<uint8_t>(sequence_ >> (8 * i));
}

// --- protect -----------------------------------------------------------------------------

ProtectStatus RecordProtector::protect(std::span<const uint8_t> content, uint8_t* out, size_t cap,
                                       size_t* written, ContentType type, size_t padding) noexcept {
  *written = 0;
  if (content.size() > kMaxPlaintext || padding > kMaxPlaintext - content.size()) return ProtectStatus::kTooLarge;
  const size_t inner = content.size() + 1 + padding;
  const size_t length = inner + kRecordTagLen;
  if (cap < kRecordHeaderLen + length) return ProtectStatus::kNoRoom;
  if (sequence_ == UINT64_MAX) return ProtectStatus::kSequenceExhausted;

  uint8_t* const body = out + kRecordHeaderLen;
  // The header first: when protecting in place it sits before the content, untouched.
  out[0] = static_cast<uint8_t>(ContentType::kApplicationData);
  out[1] = kLegacyVersionHi;
  out[2] = kLegacyVersionLo;
  out[3] = static_cast<uint8_t>(length >> 8);
  out[4] = static_cast<uint8_t>(length);
  if (body != content.data() && !content.empty()) std::memmove(body, content.data(), content.size());
  body[content.size()] = static_cast<uint8_t>(type);
  if (padding) std::memset(body + content.size() + 1, 0, padding);

  alignas(16) uint8_t iv[12];
  nonce(iv);
  gcm_context_data ctx;
  if (cipher_ == RecordCipher::kAes128GcmSha256) {
    IMB_AES128_GCM_ENC(mgr_, key_, &ctx, body, body, inner, iv, out, kRecordHeaderLen, body + inner, kRecordTagLen);
  } else {
    IMB_AES256_GCM_ENC(mgr_, key_, &ctx, body, body, inner, iv, out, kRecordHeaderLen, body + inner, kRecordTagLen);
  }
  ++sequence_;
  *written = kRecordHeaderLen + length;
  return ProtectStatus::kOk;
}

// --- unprotect ---------------------------------------------------------------------------

const char* record_status_name(RecordStatus s) noexcept {
  switch (s) {
    case RecordStatus::kApplicationData:
      return "application_data";
    case RecordStatus::kHandshake:
      return "handshake message after the handshake";
    case RecordStatus::kAlert:
      return "alert";
    case RecordStatus::kNeedMore:
      return "incomplete record";
    case RecordStatus::kBadRecordMac:
      return "bad record MAC (AES-GCM tag mismatch)";
    case RecordStatus::kBadHeader:
      return "bad record header (outer type not application_data or version not 0x0303)";
    case RecordStatus::kRecordOverflow:
      return "record overflow (ciphertext > 2^14 + 256 or plaintext > 2^14)";
    case RecordStatus::kBadInnerPlaintext:
      return "bad inner plaintext (no content type, or a type not allowed)";
    case RecordStatus::kSequenceExhausted:
      return "sequence number exhausted";
  }
  return "?";
}

size_t RecordUnprotector::record_length(const uint8_t* in, size_t available) noexcept {
  if (available < kRecordHeaderLen) return 0;
  return kRecordHeaderLen + (size_t{in[3]} << 8 | in[4]);
}

Unprotected RecordUnprotector::unprotect(uint8_t* in, size_t available) noexcept {
  Unprotected r;
  if (available < kRecordHeaderLen) return r;  // kNeedMore
  // The header is checked before waiting for the body: a peer sending garbage is refused
  // at once, not after 16 KiB have been buffered.
  if (in[0] != static_cast<uint8_t>(ContentType::kApplicationData) || in[1] != kLegacyVersionHi ||
      in[2] != kLegacyVersionLo) {
    r.status = RecordStatus::kBadHeader;
    return r;
  }
  const size_t length = size_t{in[3]} << 8 | in[4];
  if (length > kMaxCiphertext) {
    r.status = RecordStatus::kRecordOverflow;
    return r;
  }
  if (length < kRecordTagLen + 1) {  // not even a content type byte: cannot authenticate
    r.status = RecordStatus::kBadRecordMac;
    return r;
  }
  if (available < kRecordHeaderLen + length) return r;  // kNeedMore
  if (sequence_ == UINT64_MAX) {
    r.status = RecordStatus::kSequenceExhausted;
    return r;
  }

  uint8_t* const body = in + kRecordHeaderLen;
  const size_t inner = length - kRecordTagLen;
  alignas(16) uint8_t iv[12];
  nonce(iv);
  alignas(16) uint8_t tag[kRecordTagLen];
  gcm_context_data ctx;
  if (cipher_ == RecordCipher::kAes128GcmSha256) {
    IMB_AES128_GCM_DEC(mgr_, key_, &ctx, body, body, inner, iv, in, kRecordHeaderLen, tag, kRecordTagLen);
  } else {
    IMB_AES256_GCM_DEC(mgr_, key_, &ctx, body, body, inner, iv, in, kRecordHeaderLen, tag, kRecordTagLen);
  }
  if (CRYPTO_memcmp(tag, body + inner, kRecordTagLen) != 0) {
    r.status = RecordStatus::kBadRecordMac;
    return r;
  }
  // The content type is the last non-zero byte; zeros after it are padding (5.4).
  size_t end = inner;
  while (end > 0 && body[end - 1] == 0) --end;
  if (end == 0) {
    r.status = RecordStatus::kBadInnerPlaintext;
    return r;
  }
  const uint8_t type = body[end - 1];
  const size_t content_len = end - 1;
  if (inner > kMaxPlaintext + 1) {
    r.status = RecordStatus::kRecordOverflow;
    return r;
  }
  switch (static_cast<ContentType>(type)) {
    case ContentType::kApplicationData:
      r.status = RecordStatus::kApplicationData;
      break;
    case ContentType::kHandshake:
      // Zero-length handshake records are forbidden (5.1).
      r.status = content_len == 0 ? RecordStatus::kBadInnerPlaintext : RecordStatus::kHandshake;
      break;
    case ContentType::kAlert:
      r.status = content_len == 0 ? RecordStatus::kBadInnerPlaintext : RecordStatus::kAlert;
      break;
    default:
      r.status = RecordStatus::kBadInnerPlaintext;
      break;
  }
  if (r.status == RecordStatus::kBadInnerPlaintext) return r;
  ++sequence_;
  r.consumed = kRecordHeaderLen + length;
  r.payload = body;
  r.payload_len = content_len;
  return r;
}

}  // namespace dotgate::tls
