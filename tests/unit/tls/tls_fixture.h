// The fixture the TLS session tests share: one PKI, its files, per-side library contexts
// (as two workers would have), and helpers that build contexts and join sessions.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <variant>

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

class TlsFixture : public ::testing::Test {
 protected:
  Pki pki;
  TempDir dir;
  LibraryContext client_lib = new_library_context();
  LibraryContext server_lib = new_library_context();
  std::string ca_file = dir.write("ca.pem", pem(pki.root.get()));
  uint64_t now_us = 1'000'000;

  std::unique_ptr<ClientContext> client_context(ClientConfig c = {}) {
    if (c.ca_file == ClientConfig{}.ca_file) c.ca_file = ca_file;
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
