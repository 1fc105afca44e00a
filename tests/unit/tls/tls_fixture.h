// The fixture the TLS session tests share: one PKI, its files, per-side library contexts
// (as two workers would have), and helpers that build contexts and join sessions.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>
#include <variant>

#include "tls/dot_framing.h"
#include "tls/tls_context.h"
#include "tls/tls_session.h"
#include "tls_test_util.h"

namespace dotgate::tls::testutil {

template <typename T>
std::unique_ptr<T> ok(std::variant<std::unique_ptr<T>, TlsError> r) {
  if (auto* e = std::get_if<TlsError>(&r)) {
    ADD_FAILURE() << e->message;
    return nullptr;
  }
  return std::move(std::get<std::unique_ptr<T>>(r));
}

template <typename T>
std::string error_of(std::variant<std::unique_ptr<T>, TlsError> r) {
  if (auto* e = std::get_if<TlsError>(&r)) return e->message;
  ADD_FAILURE() << "expected a failure";
  return "";
}

// A DNS-looking message of `len` bytes whose content depends on `seed`.
inline std::vector<uint8_t> message(size_t len, uint8_t seed) {
  std::vector<uint8_t> m(len);
  for (size_t i = 0; i < len; ++i) m[i] = static_cast<uint8_t>(seed * 31 + i);
  return m;
}

inline std::vector<std::vector<uint8_t>> messages_in(const std::vector<uint8_t>& stream) {
  DotReassembler r;
  r.feed(stream.data(), stream.size());
  std::vector<std::vector<uint8_t>> out;
  const uint8_t* m;
  size_t len;
  while (r.next(&m, &len) == FrameResult::kMessage) out.emplace_back(m, m + len);
  EXPECT_FALSE(r.in_frame());
  return out;
}

// Pipelined DoT both ways: a burst of queries coalesced into one write, answers back in
// another order, over a stream with the given knobs (what either side received before is
// cleared first).
inline void exchange(Link& link, size_t queries) {
  link.server.received.clear();
  link.client.received.clear();
  DotWriter out;
  std::vector<std::vector<uint8_t>> sent;
  for (size_t i = 0; i < queries; ++i) {
    sent.push_back(message(40 + i * 7 % 90, static_cast<uint8_t>(i)));
    ASSERT_TRUE(out.append(sent.back().data(), sent.back().size()));
  }
  link.client.to_send.assign(out.data(), out.data() + out.size());
  link.pump();
  ASSERT_TRUE(link.client.to_send.empty());
  const auto got = messages_in(link.server.received);
  ASSERT_EQ(got, sent);
  DotWriter back;
  std::vector<std::vector<uint8_t>> answers;
  for (size_t i = queries; i-- > 0;) {
    answers.push_back(message(200 + i, static_cast<uint8_t>(i + 100)));
    back.append(answers.back().data(), answers.back().size());
  }
  link.server.to_send.assign(back.data(), back.data() + back.size());
  link.pump();
  EXPECT_EQ(messages_in(link.client.received), answers);
}

class TlsFixture : public ::testing::Test {
 protected:
  Pki pki;
  TempDir dir;
  LibraryContext client_lib = new_library_context();
  LibraryContext server_lib = new_library_context();
  std::string ca_file = dir.write("ca.pem", pem(pki.root.get()));
  uint64_t now_us = 1'000'000;
  // Which sides may move onto the own record layer (ANDed with what a test configures).
  bool client_own_records = true;
  bool server_own_records = true;

  std::unique_ptr<ClientContext> client_context(ClientConfig c = {}) {
    if (c.ca_file == ClientConfig{}.ca_file) c.ca_file = ca_file;
    c.protocol.own_record_layer = c.protocol.own_record_layer && client_own_records;
    return ok(ClientContext::create(c, client_lib.get()));
  }
  // A server presenting `leaf` (the good leaf by default) and `extra` (by default the
  // intermediate).
  std::unique_ptr<ServerContext> server_context(ServerConfig c = {}, X509* leaf = nullptr, X509* extra = nullptr) {
    X509Ptr good;
    if (!leaf) {
      good = pki.leaf();
      leaf = good.get();
    }
    static int files = 0;
    const auto [chain, key] = pki.server_files(dir, leaf, extra ? extra : pki.inter.get(),
                                               "server" + std::to_string(files++));
    c.protocol.own_record_layer = c.protocol.own_record_layer && server_own_records;
    c.certificate_chain_file = chain;
    c.private_key_file = key;
    return ok(ServerContext::create(c, server_lib.get(), now_us));
  }
  // Joins a new client session (to upstream `key`) and server session; not pumped yet.
  std::unique_ptr<Link> join(ClientContext& cc, ServerContext& sc, const ClientAuth& auth, uint32_t key = 0) {
    auto link = std::make_unique<Link>();
    link->client.session = ok(TlsSession::client(cc, link->client.end, auth, key));
    link->server.session = ok(TlsSession::server(sc, link->server.end));
    return link;
  }
  // Joins and runs the handshake (and the tickets after it) to quiet.
  std::unique_ptr<Link> connect(ClientContext& cc, ServerContext& sc, const ClientAuth& auth, uint32_t key = 0) {
    auto link = join(cc, sc, auth, key);
    link->pump();
    return link;
  }
  static ClientAuth by_name(std::string name = kName) { return ClientAuth{std::move(name), {}}; }
};

}  // namespace dotgate::tls::testutil
