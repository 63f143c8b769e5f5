// The schema writers: one fields() list gives the DOM, the same bytes without a DOM, and the keys.
#include <catch2/catch.hpp>

#include "ovnet/schema.hpp"
#include "helpers.hpp"

using namespace ovnet;
using ovnet_test::require_input_error;

namespace {

struct Inner {
    std::string name;
    int ifindex = 0;
    template <class W> void fields(W& w) const {
        w("name", name);
        w("ifindex", ifindex, schema::ReadOnly);
    }
};

struct Outer {
    std::string name = "br\"0\n";
    uint32_t mtu = 1450;
    bool up = true;
    Mac mac = Mac::parse("02:42:0a:00:00:02");
    IpAddr unset;
    IpAddr ip = IpAddr::parse("192.0.2.11");
    std::vector<Prefix> addresses = {Prefix::parse("10.0.0.1/24")};
    std::optional<Inner> peer = Inner{"eth0", 7};
    std::optional<Inner> none;
    std::vector<Inner> ports = {{"a", 1}, {"b", 2}};
    std::string master;
    json detail = json{{"k", {1, 2}}};
    template <class W> void fields(W& w) const {
        w("name", name);
        w("mtu", mtu);
        w("state", up ? "up" : "down", schema::ReadOnly);
        w("mac", mac);
        w("unset", unset);
        w("ip", ip);
        w("addresses", addresses);
        w("peer", peer, schema::ReadOnly);
        w("none", none);
        w("ports", ports);
        w.opt("master", !master.empty(), master);
        w("detail", detail);
        w("neg", int64_t(-5));
        w("u8", uint8_t(200));
    }
};

}  // namespace

TEST_CASE("schema: the text writer writes the DOM's bytes", "[schema]") {
    Outer o;
    json d = schema::to_dom(o);
    std::string t;
    schema::to_text(t, o);
    CHECK(t == d.dump());
    CHECK(d["unset"].is_null());
    CHECK(d["none"].is_null());
    CHECK_FALSE(d.contains("master"));
    CHECK(d["peer"]["ifindex"] == 7);
    CHECK(d["addresses"][0] == "10.0.0.1/24");
    o.master = "ov-001001-7672d";
    t.clear();
    schema::to_text(t, std::vector<Outer>{o, Outer{}});
    CHECK(t == json::array({schema::to_dom(o), schema::to_dom(Outer{})}).dump());
    CHECK(schema::to_dom(o)["master"] == "ov-001001-7672d");
}

TEST_CASE("schema: keys, read-only marks and unknown keys", "[schema]") {
    auto& k = schema::keys<Outer>();
    REQUIRE(k.size() == 14);
    CHECK(std::string(k[0].name) == "name");
    CHECK(k[2].access == schema::ReadOnly);
    CHECK(std::string(k[10].name) == "master");   // optional keys are part of the schema too
    CHECK_NOTHROW(schema::check_keys<Outer>(json{{"name", "x"}, {"master", "y"}}, "bridge x"));
    CHECK_NOTHROW(schema::check_keys<Outer>(json{{"dst", "x"}}, "bridge x", {"dst"}));
    require_input_error([] { schema::check_keys<Outer>(json{{"nmae", "x"}}, "bridge x"); }, "bridge x: nmae");
}
