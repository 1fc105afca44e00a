// Tests for local/hosts_file.h: the hosts(5) format, its errors with file:line, and
// reading the file.
#include "local/hosts_file.h"

#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <stdexcept>
#include <string>

#include "dns/name.h"

namespace dotgate::local {
namespace {

std::string text(const std::vector<uint8_t>& wire) { return dns::name_to_text(wire.data(), wire.size()); }

TEST(HostsFile, AddressesNamesAndComments) {
  const HostsFile f = parse_hosts(
      "# comment line\n"
      "   \t  \n"
      "127.0.0.1\tlocalhost\n"
      "::1  localhost ip6-localhost ip6-loopback  # the IPv6 loopback\n"
      "192.0.2.10 NAS.Home.Arpa. nas\r\n"
      "  2001:db8::10   nas.home.arpa#no space before the comment\n",
      "hosts");
  EXPECT_TRUE(f.errors.empty());
  ASSERT_EQ(f.entries.size(), 4u);
  EXPECT_EQ(f.entries[0].line, 3u);
  EXPECT_FALSE(f.entries[0].addr.v6);
  EXPECT_EQ(f.entries[0].addr.v4, 0x7f000001u);
  ASSERT_EQ(f.entries[0].names.size(), 1u);
  EXPECT_EQ(text(f.entries[0].names[0]), "localhost.");

  EXPECT_EQ(f.entries[1].line, 4u);
  EXPECT_TRUE(f.entries[1].addr.v6);
  EXPECT_TRUE(f.entries[1].addr.v6addr.is_loopback());
  ASSERT_EQ(f.entries[1].names.size(), 3u);
  EXPECT_EQ(text(f.entries[1].names[2]), "ip6-loopback.");

  // Names are lower-cased; a trailing dot and a CR line end are fine.
  ASSERT_EQ(f.entries[2].names.size(), 2u);
  EXPECT_EQ(text(f.entries[2].names[0]), "nas.home.arpa.");
  EXPECT_EQ(text(f.entries[2].names[1]), "nas.");

  EXPECT_EQ(f.entries[3].line, 6u);
  ASSERT_EQ(f.entries[3].names.size(), 1u);
  EXPECT_FALSE(f.entries[3].null_addr);
}

TEST(HostsFile, NullAddressesAreMarked) {
  const HostsFile f = parse_hosts("0.0.0.0 ads.example\n:: tracker.example\n", "hosts");
  ASSERT_EQ(f.entries.size(), 2u);
  EXPECT_TRUE(f.entries[0].null_addr);
  EXPECT_TRUE(f.entries[1].null_addr);
}

TEST(HostsFile, EveryBadLineIsReportedWithFileAndLine) {
  const HostsFile f = parse_hosts(
      "10.0.0.1 good\n"
      "10.0.0.256 bad-address\n"
      "10.0.0.2\n"
      "10.0.0.3 fine bad..name\n"
      "fe80::1%eth0 zoned\n"
      "10.0.0.4 white space\\032name\n"
      "010.0.0.5 octal\n"
      "10.0.0.6 " + std::string(70, 'x') + "\n"
      "10.0.0.7 also-good",  // no final newline
      "/etc/dotgate/hosts");
  ASSERT_EQ(f.errors.size(), 7u);
  EXPECT_EQ(f.errors[0], "/etc/dotgate/hosts:2: '10.0.0.256' is not an IPv4 or IPv6 address");
  EXPECT_EQ(f.errors[1], "/etc/dotgate/hosts:3: address 10.0.0.2 has no host names");
  EXPECT_EQ(f.errors[2], "/etc/dotgate/hosts:4: 'bad..name' is not a host name");
  EXPECT_EQ(f.errors[3], "/etc/dotgate/hosts:5: 'fe80::1%eth0' is not an IPv4 or IPv6 address");
  EXPECT_EQ(f.errors[4], "/etc/dotgate/hosts:6: 'space\\032name' is not a host name");
  EXPECT_EQ(f.errors[5], "/etc/dotgate/hosts:7: '010.0.0.5' is not an IPv4 or IPv6 address");
  EXPECT_EQ(f.errors[6].rfind("/etc/dotgate/hosts:8: 'xxx", 0), 0u) << f.errors[6];
  // A bad line contributes nothing; the good ones stay.
  ASSERT_EQ(f.entries.size(), 2u);
  EXPECT_EQ(f.entries[0].line, 1u);
  EXPECT_EQ(f.entries[1].line, 9u);
}

TEST(HostsFile, LoadReadsAFileAndNamesAnUnreadableOne) {
  char path[] = "/tmp/dotgate-hosts-test-XXXXXX";
  const int fd = ::mkstemp(path);
  ASSERT_GE(fd, 0);
  const std::string content = "192.0.2.1 one\nbogus\n";
  ASSERT_EQ(::write(fd, content.data(), content.size()), static_cast<ssize_t>(content.size()));
  ::close(fd);
  const HostsFile f = load_hosts(path);
  ::unlink(path);
  EXPECT_EQ(f.path, path);
  ASSERT_EQ(f.entries.size(), 1u);
  ASSERT_EQ(f.errors.size(), 1u);
  EXPECT_EQ(f.errors[0], std::string(path) + ":2: 'bogus' is not an IPv4 or IPv6 address");

  try {
    load_hosts(path);  // gone now
    FAIL() << "no error";
  } catch (const std::runtime_error& e) {
    EXPECT_EQ(std::string(e.what()), std::string(path) + ": cannot read: No such file or directory");
  }
  try {
    load_hosts("/tmp");
    FAIL() << "no error";
  } catch (const std::runtime_error& e) {
    EXPECT_EQ(std::string(e.what()), "/tmp: cannot read: Is a directory");
  }
}

TEST(HostsFile, EmptyTextHasNothing) {
  const HostsFile f = parse_hosts("", "hosts");
  EXPECT_TRUE(f.entries.empty());
  EXPECT_TRUE(f.errors.empty());
}

}  // namespace
}  // namespace dotgate::local
