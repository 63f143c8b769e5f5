// Mac, IpAddr, Prefix, validate_ifname, docker_mac.
#include <arpa/inet.h>

#include <fcntl.h>
#include <unistd.h>

#include <cstring>

#include "helpers.hpp"
#include "ovnet/ovnet.hpp"

using namespace ovnet;
using ovnet_test::require_input_error;
using Catch::Matchers::Contains;

TEST_CASE("Mac parses and prints aa:bb:cc:dd:ee:ff", "[types][mac]") {
    Mac m = Mac::parse("02:42:0a:00:00:07");
    CHECK(m.b == std::array<uint8_t, 6>{0x02, 0x42, 0x0a, 0x00, 0x00, 0x07});
    CHECK(m.str() == "02:42:0a:00:00:07");
    CHECK_FALSE(m.is_zero());
    CHECK_FALSE(m.is_multicast());

    // Case-insensitive in, lower case out.
    CHECK(Mac::parse("02:42:AC:11:Ff:0E").str() == "02:42:ac:11:ff:0e");

    for (const char* s : {"00:00:00:00:00:00", "ff:ff:ff:ff:ff:ff", "02:42:c0:a8:01:02", "de:ad:be:ef:00:01"})
        CHECK(Mac::parse(s).str() == s);

    CHECK(Mac::parse("00:00:00:00:00:00").is_zero());
    CHECK(Mac::parse("01:00:5e:00:00:01").is_multicast());
    CHECK(Mac::parse("33:33:00:00:00:01").is_multicast());
    CHECK(Mac::parse("ff:ff:ff:ff:ff:ff").is_multicast());
    CHECK(Mac{}.is_zero());

    CHECK(Mac::parse("02:42:0a:00:00:01") < Mac::parse("02:42:0a:00:00:02"));
    CHECK(Mac::parse("02:42:0a:00:00:01") == Mac::parse("02:42:0A:00:00:01"));
}

TEST_CASE("Mac rejects malformed addresses with an input error naming the value", "[types][mac]") {
    const char* bad[] = {
        "02:42:0a:00:00",        // five bytes
        "zz:42:0a:00:00:07",     // not hex
        "02-42-0a-00-00-07",     // wrong separator
        "",                      // empty
        "02:42:0a:00:00:07:08",  // seven bytes
        "02:42:0a:00:00:7",      // short last byte
        "0242.0a00.0007",        // Cisco notation
        "02:42:0a:00:00:07 ",    // trailing space
        " 02:42:0a:00:00:07",    // leading space
        "02:42:0a:00:00:0g",
        "02::42:0a:00:00:07",
    };
    for (const char* s : bad) {
        INFO("input: \"" << s << "\"");
        Mac out;
        out.b[0] = 0x99;
        CHECK_FALSE(Mac::try_parse(s, out));
        Error e = require_input_error([&] { Mac::parse(s); }, "mac");
        CHECK(e.field() == "mac");
        CHECK_THAT(std::string(e.what()), Contains(std::string("\"") + s + "\""));
    }
}

TEST_CASE("IpAddr parses IPv4 and IPv6 and prints them canonically", "[types][ip]") {
    IpAddr a = IpAddr::parse("10.0.0.7");
    CHECK(a.family == AF_INET);
    CHECK(a.valid());
    CHECK(a.size() == 4);
    CHECK(a.b[0] == 10);
    CHECK(a.b[3] == 7);
    for (size_t i = 4; i < 16; i++) CHECK(a.b[i] == 0);
    CHECK(a.str() == "10.0.0.7");

    IpAddr b = IpAddr::parse("2001:db8::1");
    CHECK(b.family == AF_INET6);
    CHECK(b.size() == 16);
    CHECK(b.b[0] == 0x20);
    CHECK(b.b[1] == 0x01);
    CHECK(b.b[15] == 1);
    CHECK(b.str() == "2001:db8::1");

    // Canonical IPv6 output.
    CHECK(IpAddr::parse("2001:0DB8:0000:0000:0000:0000:0000:0001").str() == "2001:db8::1");
    CHECK(IpAddr::parse("::").str() == "::");
    CHECK(IpAddr::parse("::ffff:192.0.2.1").family == AF_INET6);

    for (const char* s : {"0.0.0.0", "255.255.255.255", "192.0.2.12", "fe80::1", "fd00:1:2:3::42"})
        CHECK(IpAddr::parse(s).str() == s);

    IpAddr unset;
    CHECK_FALSE(unset.valid());
    CHECK(unset.size() == 0);
    CHECK(unset.str().empty());

    uint8_t raw[4] = {192, 0, 2, 12};
    IpAddr c = IpAddr::from_bytes(AF_INET, raw);
    CHECK(c == IpAddr::parse("192.0.2.12"));
    in6_addr six{};
    REQUIRE(inet_pton(AF_INET6, "fd00::5", &six) == 1);
    CHECK(IpAddr::from_bytes(AF_INET6, &six) == IpAddr::parse("fd00::5"));

    CHECK(IpAddr::parse("10.0.0.1") < IpAddr::parse("10.0.0.2"));
    CHECK(IpAddr::parse("10.0.0.1") != IpAddr::parse("::ffff:10.0.0.1"));
}

TEST_CASE("IpAddr rejects malformed addresses", "[types][ip]") {
    const char* bad[] = {"10.0.0.256", "1.2.3", "::g", "", "10.0.0.1/24", "1.2.3.4.5", "10.0.0.1 ",
                         "abc", "1:2:3:4:5:6:7:8:9", "fe80::1%eth0", "010.0.0.1x", "-1.0.0.0"};
    for (const char* s : bad) {
        INFO("input: \"" << s << "\"");
        IpAddr out;
        CHECK_FALSE(IpAddr::try_parse(s, out));
        CHECK_FALSE(out.valid());  // untouched on failure
        Error e = require_input_error([&] { IpAddr::parse(s); }, std::string("\"") + s + "\"");
        CHECK(e.field() == "ip");
    }
    // Longer than any textual address.
    require_input_error([] { IpAddr::parse(std::string(100, '1')); });
}

TEST_CASE("Prefix parses CIDR and keeps host bits", "[types][prefix]") {
    Prefix p = Prefix::parse("10.0.0.2/24");
    CHECK(p.addr == IpAddr::parse("10.0.0.2"));
    CHECK(p.len == 24);
    CHECK(p.str() == "10.0.0.2/24");

    for (const char* s : {"0.0.0.0/0", "10.0.0.1/32", "192.0.2.0/25", "fd00::1/64", "::/0", "2001:db8::1/128"})
        CHECK(Prefix::parse(s).str() == s);
    CHECK(Prefix::parse("2001:DB8::1/48").str() == "2001:db8::1/48");
}

TEST_CASE("Prefix rejects a missing or empty or out-of-range prefix length", "[types][prefix]") {
    const char* bad[] = {
        "10.0.0.1",         // no prefix
        "10.0.0.1/33",      // > 32 for IPv4
        "fd00::1/129",      // > 128 for IPv6
        "10.0.0.1/",        // empty length
        "10.0.0.1/x",       // not a number
        "10.0.0.1/24x",     // trailing junk
        "10.0.0.1/-1",      // negative
        "10.0.0.256/24",    // bad address
        "/24",              // no address
        "",                 // empty
        "10.0.0.1/24/8",
        "10.0.0.1/ 24",
    };
    for (const char* s : bad) {
        INFO("input: \"" << s << "\"");
        Error e = require_input_error([&] { Prefix::parse(s); }, std::string("\"") + s + "\"");
        CHECK(e.field() == "cidr");
    }
    CHECK_THAT(std::string(ovnet_test::catch_error([] { Prefix::parse("10.0.0.1/33"); }).what()),
               Contains("0..32"));
    CHECK_THAT(std::string(ovnet_test::catch_error([] { Prefix::parse("fd00::1/129"); }).what()),
               Contains("0..128"));
}

TEST_CASE("Prefix rejects a signed prefix length such as /-0", "[types][prefix]") {
    require_input_error([] { Prefix::parse("10.0.0.1/-0"); }, "10.0.0.1/-0");
    require_input_error([] { Prefix::parse("fd00::1/-0"); }, "fd00::1/-0");
}

TEST_CASE("Prefix::network clears the host bits", "[types][prefix]") {
    CHECK(Prefix::parse("10.0.0.2/24").network().str() == "10.0.0.0/24");
    CHECK(Prefix::parse("10.0.0.2/24").network().len == 24);
    CHECK(Prefix::parse("10.1.2.3/8").network().str() == "10.0.0.0/8");
    CHECK(Prefix::parse("10.1.255.3/20").network().str() == "10.1.240.0/20");
    CHECK(Prefix::parse("192.0.2.130/25").network().str() == "192.0.2.128/25");
    CHECK(Prefix::parse("192.0.2.131/31").network().str() == "192.0.2.130/31");
    CHECK(Prefix::parse("192.0.2.131/32").network().str() == "192.0.2.131/32");
    CHECK(Prefix::parse("192.0.2.131/0").network().str() == "0.0.0.0/0");
    CHECK(Prefix::parse("2001:db8:1:2:3:4:5:6/64").network().str() == "2001:db8:1:2::/64");
    CHECK(Prefix::parse("2001:db8:ffff::1/36").network().str() == "2001:db8:f000::/36");
    CHECK(Prefix::parse("fd00::1/128").network().str() == "fd00::1/128");
    CHECK(Prefix::parse("fd00::1/0").network().str() == "::/0");
    // The original is untouched.
    Prefix p = Prefix::parse("10.0.0.2/24");
    (void)p.network();
    CHECK(p.str() == "10.0.0.2/24");
}

TEST_CASE("validate_ifname enforces 1..15 bytes without slash or colon or spaces", "[types][ifname]") {
    CHECK_NOTHROW(validate_ifname("eth0"));
    CHECK_NOTHROW(validate_ifname("vx-001001-7672d"));  // exactly 15 bytes
    CHECK(std::string("vx-001001-7672d").size() == 15);
    CHECK_NOTHROW(validate_ifname("veth4dd295a"));
    CHECK_NOTHROW(validate_ifname("a"));
    CHECK_NOTHROW(validate_ifname("br-0.1_x@y"));

    Error e = require_input_error([] { validate_ifname("vx-001001-7672dx"); }, "16 bytes");  // 16 bytes
    CHECK(e.field() == "name");
    CHECK_THAT(std::string(e.what()), Contains("vx-001001-7672dx"));

    for (const char* s : {"a/b", "eth0:1", "my br", "", "tab\tx", "nl\nx", ".", ".."}) {
        INFO("input: \"" << s << "\"");
        require_input_error([&] { validate_ifname(s); });
    }
    std::string del = "x";
    del += char(0x7f);
    require_input_error([&] { validate_ifname(del); });

    // Object and field are passed through.
    Error f = require_input_error([] { validate_ifname("a/b", "bridge a/b", "ports"); }, "bridge a/b");
    CHECK(f.object() == "bridge a/b");
    CHECK(f.field() == "ports");
    CHECK_THAT(std::string(f.what()), Contains("\"a/b\""));
}

TEST_CASE("docker_mac is 02:42 followed by the IPv4 address", "[types][mac]") {
    CHECK(docker_mac(IpAddr::parse("10.0.0.7")) == Mac::parse("02:42:0a:00:00:07"));
    CHECK(docker_mac(IpAddr::parse("10.0.0.7")).str() == "02:42:0a:00:00:07");
    CHECK(docker_mac(IpAddr::parse("172.17.0.2")).str() == "02:42:ac:11:00:02");
    CHECK(docker_mac(IpAddr::parse("255.255.255.254")).str() == "02:42:ff:ff:ff:fe");
    CHECK_FALSE(docker_mac(IpAddr::parse("10.0.0.7")).is_multicast());
}

TEST_CASE("is_unicast_host refuses unspecified and multicast and broadcast addresses", "[types][ip]") {
    for (const char* s : {"10.0.0.1", "192.0.2.12", "1.1.1.1", "223.255.255.254", "127.0.0.1", "10.0.0.0",
                          "fd00::1", "2001:db8::12", "::1", "fe80::1"}) {
        INFO(s);
        CHECK(is_unicast_host(IpAddr::parse(s)));
    }
    for (const char* s : {"0.0.0.0", "224.0.0.1", "239.1.1.1", "239.255.255.255", "255.255.255.255",
                          "::", "ff02::1", "ff0e::1234"}) {
        INFO(s);
        CHECK_FALSE(is_unicast_host(IpAddr::parse(s)));
    }
    CHECK_FALSE(is_unicast_host(IpAddr{}));
}

TEST_CASE("IpAddr::try_parse accepts exactly what inet_pton accepts", "[types][ip]") {
    const char* cases[] = {"0.0.0.0", "255.255.255.255", "10.0.0.2", "1.2.3.4", "256.0.0.1", "01.2.3.4", "1.2.3.04",
                           "1.2.3", "1.2.3.4.5", "1..2.3", ".1.2.3", "1.2.3.", "1.2.3.4 ", " 1.2.3.4", "1.2.3.-4",
                           "1.2.3.4a", "1234.1.1.1", "0.0.0.00", "00.0.0.0", "1.2.3.255", "1.2.3.256", "999.1.1.1",
                           "", ".", "1", "0x1.2.3.4", "1.2.3.4/8", "::1", "::ffff:1.2.3.4", "1.2.3.4\n"};
    for (const char* s : cases) {
        unsigned char want[16] = {};
        bool ok = inet_pton(AF_INET, s, want) == 1;
        IpAddr a;
        bool got = IpAddr::try_parse(s, a);
        if (std::string_view(s).find(':') != std::string_view::npos) continue;
        INFO(s);
        CHECK(got == ok);
        if (got && ok) CHECK(std::memcmp(a.b.data(), want, 4) == 0);
    }
    IpAddr a;
    CHECK(IpAddr::try_parse(std::string_view("1.2.3.4\0x", 9), a));  // as before: inet_pton stops at the NUL
}

TEST_CASE("is_multicast", "[types]") {
    CHECK(is_multicast(IpAddr::parse("224.0.0.1")));
    CHECK(is_multicast(IpAddr::parse("239.255.255.255")));
    CHECK_FALSE(is_multicast(IpAddr::parse("223.255.255.255")));
    CHECK_FALSE(is_multicast(IpAddr::parse("240.0.0.1")));
    CHECK_FALSE(is_multicast(IpAddr::parse("255.255.255.255")));
    CHECK(is_multicast(IpAddr::parse("ff02::1")));
    CHECK_FALSE(is_multicast(IpAddr::parse("fe80::1")));
    CHECK_FALSE(is_multicast(IpAddr{}));
    // is_unicast_host refuses what is_multicast accepts, and the rest as before.
    CHECK_FALSE(is_unicast_host(IpAddr::parse("239.1.1.1")));
    CHECK_FALSE(is_unicast_host(IpAddr::parse("ff02::1")));
    CHECK_FALSE(is_unicast_host(IpAddr::parse("255.255.255.255")));
    CHECK_FALSE(is_unicast_host(IpAddr::parse("0.0.0.0")));
    CHECK_FALSE(is_unicast_host(IpAddr::parse("::")));
    CHECK(is_unicast_host(IpAddr::parse("10.0.0.1")));
    CHECK(is_unicast_host(IpAddr::parse("240.0.0.1")));
    CHECK(is_unicast_host(IpAddr::parse("2001:db8::1")));
}

TEST_CASE("prefix_to_netmask and netmask_to_prefix", "[types]") {
    CHECK(prefix_to_netmask(0) == 0);
    CHECK(prefix_to_netmask(1) == 0x80000000u);
    CHECK(prefix_to_netmask(24) == 0xffffff00u);
    CHECK(prefix_to_netmask(31) == 0xfffffffeu);
    CHECK(prefix_to_netmask(32) == 0xffffffffu);
    CHECK(prefix_to_netmask(-3) == 0);
    CHECK(prefix_to_netmask(40) == 0xffffffffu);
    for (int len = 0; len <= 32; len++) CHECK(netmask_to_prefix(prefix_to_netmask(len)) == len);
    CHECK(netmask_to_prefix(0xffff00ffu) == -1);
    CHECK(netmask_to_prefix(0x00ffffffu) == -1);
    CHECK(netmask_to_prefix(1) == -1);
}

TEST_CASE("Fd closes what it owns, once", "[types][fd]") {
    int p[2];
    REQUIRE(::pipe(p) == 0);
    {
        Fd r(p[0]);
        Fd w(p[1]);
        CHECK(r.get() == p[0]);
        CHECK(r);
        Fd moved(std::move(w));
        CHECK_FALSE(w);
        CHECK(moved.get() == p[1]);
        int raw = moved.release();
        CHECK_FALSE(moved);
        CHECK(raw == p[1]);
        moved.reset(raw);   // owned again
        Fd other;
        other = std::move(moved);
        CHECK(other.get() == p[1]);
    }
    // Both ends were closed exactly once.
    CHECK(::fcntl(p[0], F_GETFD) == -1);
    CHECK(::fcntl(p[1], F_GETFD) == -1);
    Fd none;
    CHECK(none.get() == -1);
    none.reset();   // nothing to close
}

TEST_CASE("namespace labels: root, nsid:N, names", "[types][netns]") {
    CHECK(netns_label_root() == "root");
    CHECK(netns_label_nsid(0) == "nsid:0");
    CHECK(netns_label_nsid(12) == "nsid:12");
    CHECK(netns_label_is_nsid(netns_label_nsid(3)));
    CHECK_FALSE(netns_label_is_nsid("root"));
    CHECK_FALSE(netns_label_is_nsid("nsid"));
    CHECK_FALSE(netns_label_is_nsid(""));
    CHECK(netns_label_path(netns_label_root()) == "/proc/1/ns/net");
    CHECK(netns_label_path(netns_label_nsid(3)).empty());
    CHECK(netns_label_path("h1") == "h1");
    CHECK(netns_label_path("").empty());
}
