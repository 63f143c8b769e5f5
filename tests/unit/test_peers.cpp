// peers_from_json: ovnet peer objects, `ovnet-fdb show -j` rows and iproute2 `bridge -j fdb show` rows.
#include <sstream>

#include "helpers.hpp"
#include "ovnet/ovnet.hpp"

using namespace ovnet;
using ovnet_test::require_input_error;
using Catch::Matchers::Contains;

namespace {
std::vector<json> docs(const std::string& s) {
    std::istringstream in(s);
    return read_json_stream(in, "test");
}
std::vector<PeerSpec> peers(const std::string& s, std::optional<IpAddr> def = std::nullopt) {
    return peers_from_json(docs(s), def);
}
IpAddr ip(const char* s) { return IpAddr::parse(s); }
Mac mac(const char* s) { return Mac::parse(s); }
}  // namespace

TEST_CASE("peers_from_json: ovnet peer objects", "[peers]") {
    auto v = peers(R"([{"ip":"10.0.0.3","mac":"02:42:0a:00:00:03","vtep":"192.0.2.12"},
                       {"ip":"10.0.0.4","mac":"02:42:0A:00:00:04","vtep":"192.0.2.13"}])");
    REQUIRE(v.size() == 2);
    CHECK(v[0].ip == ip("10.0.0.3"));
    CHECK(v[0].mac == mac("02:42:0a:00:00:03"));
    CHECK(v[0].vtep == ip("192.0.2.12"));
    CHECK(v[1].mac == mac("02:42:0a:00:00:04"));
    CHECK(v[0].label() == "peer 10.0.0.3 02:42:0a:00:00:03 via 192.0.2.12");

    // IPv6 overlay and underlay.
    auto six = peers(R"({"ip":"fd00::3","mac":"02:42:0a:00:00:03","vtep":"2001:db8::12"})");
    REQUIRE(six.size() == 1);
    CHECK(six[0].ip->family == AF_INET6);
    CHECK(six[0].vtep->family == AF_INET6);

    // Empty input, empty set.
    CHECK(peers("").empty());
    CHECK(peers("[]").empty());
}

TEST_CASE("peers_from_json: default_vtep fills entries without one", "[peers]") {
    auto def = ip("192.0.2.99");
    auto v = peers(R"({"ip":"10.0.0.3","mac":"02:42:0a:00:00:03"}
                      {"ip":"10.0.0.4","mac":"02:42:0a:00:00:04","vtep":"192.0.2.13"}
                      {"mac":"02:42:0a:00:00:05"})", def);
    REQUIRE(v.size() == 3);
    CHECK(v[0].vtep == def);
    CHECK(v[1].vtep == ip("192.0.2.13"));  // an explicit vtep wins
    CHECK(v[2].vtep == def);
    CHECK_FALSE(v[2].ip);
    CHECK(v[2].label() == "fdb entry 02:42:0a:00:00:05 via 192.0.2.99");

    // Without a default: ip+mac is a neighbor only, mac alone is an error.
    auto n = peers(R"({"ip":"10.0.0.3","mac":"02:42:0a:00:00:03"})");
    REQUIRE(n.size() == 1);
    CHECK_FALSE(n[0].vtep);
    CHECK(n[0].label() == "peer 10.0.0.3 02:42:0a:00:00:03");
    require_input_error([] { peers(R"({"mac":"02:42:0a:00:00:05"})"); }, "vtep");
}

TEST_CASE("peers_from_json: ovnet-fdb show -j rows", "[peers]") {
    const char* show = R"([
      {"status":"peer","ip":"10.0.0.3","mac":"02:42:0a:00:00:03","vtep":"192.0.2.12","fdb_state":"permanent","neigh_state":"permanent","flags":["self"]},
      {"status":"fdb-only","ip":null,"mac":"02:42:0a:00:00:04","vtep":"192.0.2.13","fdb_state":"permanent","flags":["self"]},
      {"status":"neigh-only","ip":"10.0.0.5","mac":"02:42:0a:00:00:05","vtep":null,"neigh_state":"permanent"},
      {"status":"learned","ip":null,"mac":"02:42:0a:00:00:06","vtep":"192.0.2.14","fdb_state":"reachable","flags":["self"]},
      {"status":"local","ip":null,"mac":"6a:1e:2b:3c:4d:5f","vtep":null,"fdb_state":"permanent","flags":["self"]},
      {"status":"local","ip":null,"mac":"00:00:00:00:00:00","vtep":null,"fdb_state":"permanent"},
      {"status":"endpoint","ip":"10.0.0.2","mac":"02:42:0a:00:00:02","vtep":"192.0.2.11"}
    ])";
    auto v = peers(show, ip("192.0.2.99"));
    REQUIRE(v.size() == 4);
    CHECK(v[0].ip == ip("10.0.0.3"));
    CHECK(v[0].vtep == ip("192.0.2.12"));
    CHECK_FALSE(v[1].ip);  // fdb-only
    CHECK(v[1].mac == mac("02:42:0a:00:00:04"));
    CHECK(v[1].vtep == ip("192.0.2.13"));
    CHECK(v[2].ip == ip("10.0.0.5"));  // neigh-only: no vtep, not even the default
    CHECK_FALSE(v[2].vtep);
    CHECK(v[3].ip == ip("10.0.0.2"));  // endpoint rows are peers for other hosts
    CHECK(v[3].vtep == ip("192.0.2.11"));

    // fdb-only rows must not carry an ip, neigh-only rows no vtep.
    require_input_error([] { peers(R"({"status":"fdb-only","ip":"10.0.0.4","mac":"02:42:0a:00:00:04","vtep":"192.0.2.13"})"); },
                        "fdb-only");
    require_input_error([] { peers(R"({"status":"neigh-only","ip":"10.0.0.5","mac":"02:42:0a:00:00:05","vtep":"192.0.2.13"})"); },
                        "neigh-only");
    require_input_error([] { peers(R"({"status":"neigh-only","mac":"02:42:0a:00:00:05"})"); }, "vtep");
    Error st = require_input_error([] { peers(R"({"status":"bogus","mac":"02:42:0a:00:00:05","vtep":"192.0.2.1"})"); }, "bogus");
    CHECK(st.field() == "status");
    require_input_error([] { peers(R"({"ip":"10.0.0.3","vtep":"192.0.2.12"})"); }, "mac");
    Error unk = require_input_error([] { peers(R"({"ip":"10.0.0.3","mac":"02:42:0a:00:00:03","vtep":"192.0.2.12","vni":5})"); },
                                    "unknown field");
    CHECK(unk.field() == "vni");
    require_input_error([] { peers(R"({"ip":"10.0.0.300","mac":"02:42:0a:00:00:03","vtep":"192.0.2.12"})"); }, "10.0.0.300");
    require_input_error([] { peers(R"({"ip":"10.0.0.3","mac":"02:42:0a:00:00","vtep":"192.0.2.12"})"); }, "mac");
    require_input_error([] { peers(R"({"ip":"10.0.0.3","mac":"02:42:0a:00:00:03","vtep":"192.0.2"})"); }, "vtep");
    require_input_error([] { peers(R"(["not an object"])"); }, "entry #1");
    require_input_error([] { peers(R"({"ip":"10.0.0.3","mac":"02:42:0a:00:00:03","vtep":"192.0.2.1"} 42)"); }, "entry #2");
}

TEST_CASE("peers_from_json: PeerEntry::to_json output is valid input", "[peers]") {
    PeerEntry p;
    p.status = "peer";
    p.ip = ip("10.0.0.3");
    p.mac = mac("02:42:0a:00:00:03");
    p.vtep = ip("192.0.2.12");
    p.fdb_state = "permanent";
    p.neigh_state = "permanent";
    p.flags = {"self"};
    PeerEntry f;
    f.status = "fdb-only";
    f.mac = mac("02:42:0a:00:00:04");
    f.vtep = ip("192.0.2.13");
    f.fdb_state = "permanent";
    PeerEntry n;
    n.status = "neigh-only";
    n.ip = ip("10.0.0.5");
    n.mac = mac("02:42:0a:00:00:05");
    n.neigh_state = "permanent";
    PeerEntry l;
    l.status = "learned";
    l.mac = mac("02:42:0a:00:00:06");
    l.vtep = ip("192.0.2.14");
    l.fdb_state = "reachable";

    json jp = p.to_json();
    CHECK(jp["status"] == "peer");
    CHECK(jp["ip"] == "10.0.0.3");
    CHECK(jp["flags"] == json::array({"self"}));
    json jf = f.to_json();
    CHECK(jf["ip"].is_null());
    // Every row carries every key: no neighbor entry, no flags, no link-netnsid are nulls.
    CHECK(jf["neigh_state"].is_null());
    CHECK(jf["flags"].is_null());
    CHECK(jf["link_netnsid"].is_null());
    CHECK(jf.size() == 8);
    CHECK(n.to_json()["fdb_state"].is_null());
    CHECK(n.to_json().size() == 8);
    CHECK(n.to_json()["vtep"].is_null());

    auto v = peers_from_json({jp, jf, n.to_json(), l.to_json()}, std::nullopt);
    REQUIRE(v.size() == 3);
    CHECK(v[0].ip == p.ip);
    CHECK(v[0].mac == p.mac);
    CHECK(v[0].vtep == p.vtep);
    CHECK_FALSE(v[1].ip);
    CHECK(v[1].vtep == f.vtep);
    CHECK(v[2].ip == n.ip);
    CHECK_FALSE(v[2].vtep);
}

TEST_CASE("peers_from_json: iproute2 bridge -j fdb show rows", "[peers][iproute2]") {
    // A realistic `bridge -j fdb show` of a Docker overlay host.
    const char* fdb = R"([
      {"mac":"6a:1e:2b:3c:4d:5f","ifname":"vx-001001-7672d","vlan":1,"master":"ov-001001-7672d","state":"permanent"},
      {"mac":"6a:1e:2b:3c:4d:5f","ifname":"vx-001001-7672d","master":"ov-001001-7672d","state":"permanent"},
      {"mac":"02:42:0a:00:00:06","ifname":"vx-001001-7672d","dst":"192.0.2.12","flags":["self"],"state":"permanent"},
      {"mac":"02:42:0a:00:00:07","ifname":"vx-001001-7672d","dst":"192.0.2.13","flags":["self"],"state":"permanent"},
      {"mac":"02:42:0a:00:00:08","ifname":"vx-001001-7672d","dst":"192.0.2.14","flags":["self"],"state":""},
      {"mac":"02:42:0a:00:00:09","ifname":"vx-001001-7672d","dst":"192.0.2.15","flags":["self"],"state":"stale"},
      {"mac":"02:42:0a:00:00:0a","ifname":"vx-001001-7672d","dst":"192.0.2.16","flags":["self"]},
      {"mac":"02:42:0a:00:00:0b","ifname":"vx-001001-7672d","dst":"192.0.2.17","flags":["self","master"],"state":"permanent"},
      {"mac":"02:42:0a:00:00:0c","ifname":"vx-001001-7672d","dst":"192.0.2.18","flags":["self"],"master":"ov-001001-7672d","state":"permanent"},
      {"mac":"00:00:00:00:00:00","ifname":"vx-001001-7672d","dst":"192.0.2.12","flags":["self"],"state":"permanent"},
      {"mac":"00:00:00:00:00:00","ifname":"vx-001001-7672d","dst":"192.0.2.13","flags":["self"],"state":"permanent"},
      {"mac":"01:00:5e:00:00:01","ifname":"eth0","flags":["self"],"state":"permanent"},
      {"mac":"33:33:00:00:00:01","ifname":"eth0","flags":["self"],"state":"permanent"},
      {"mac":"02:42:0a:00:00:02","ifname":"veth4dd295a","master":"ov-001001-7672d","state":""},
      {"mac":"de:ad:be:ef:00:11","ifname":"veth4dd295a","vlan":1,"master":"ov-001001-7672d","state":"permanent"}
    ])";
    auto v = peers(fdb, ip("192.0.2.99"));
    REQUIRE(v.size() == 2);
    CHECK(v[0].mac == mac("02:42:0a:00:00:06"));
    CHECK(v[0].vtep == ip("192.0.2.12"));  // dst, never the default
    CHECK_FALSE(v[0].ip);
    CHECK(v[1].mac == mac("02:42:0a:00:00:07"));
    CHECK(v[1].vtep == ip("192.0.2.13"));

    // The exact row from the brief, alone.
    auto one = peers(R"({"mac":"02:42:0a:00:00:06","ifname":"vx-001001-7672d","dst":"192.0.2.12","flags":["self"],"state":"permanent"})");
    REQUIRE(one.size() == 1);
    CHECK(one[0].label() == "fdb entry 02:42:0a:00:00:06 via 192.0.2.12");

    // `bridge -j fdb show dev vx...` omits ifname; -s adds used/updated; vni/port/src_vni on
    // collect-metadata devices.
    auto dev = peers(R"({"mac":"02:42:0a:00:00:06","dst":"2001:db8::12","port":4789,"vni":4097,"src_vni":4097,
                         "used":12,"updated":3,"flags":["self"],"state":"permanent"})");
    REQUIRE(dev.size() == 1);
    CHECK(dev[0].vtep == ip("2001:db8::12"));

    // Bad values in rows that would be kept are errors, not skips.
    require_input_error([] { peers(R"({"mac":"02:42:0a:00:00:06","ifname":"vx0","dst":"192.0.2.300","state":"permanent"})"); }, "dst");
    require_input_error([] { peers(R"({"ifname":"vx0","dst":"192.0.2.12","state":"permanent"})"); }, "mac");
    require_input_error([] { peers(R"({"mac":"02:42:0a:00:00:06","ifname":"vx0","dst":"192.0.2.12","flags":"self","state":"permanent"})"); },
                        "flags");
    require_input_error([] { peers(R"({"mac":"02:42:0a:00:00:06","ifname":"vx0","dst":"192.0.2.12","state":"permanent","bogus":1})"); },
                        "unknown field");
}

// iproute2 prints NDA_IFINDEX as "viaIf" (or "viaIfIndex" with a link-netnsid), never "via":
// rows of entries added with `bridge fdb add ... via DEV` must be accepted.
TEST_CASE("peers_from_json: iproute2 rows with a via device (viaIf and viaIfIndex)", "[peers][iproute2]") {
    auto v = peers(R"({"mac":"02:42:0a:00:00:06","ifname":"vx0","dst":"192.0.2.12","viaIf":"eth1","flags":["self"],"state":"permanent"}
                      {"mac":"02:42:0a:00:00:07","ifname":"vx0","dst":"192.0.2.13","viaIfIndex":3,"linkNetNsId":0,"flags":["self"],"state":"permanent"})");
    CHECK(v.size() == 2);
}

TEST_CASE("peers_from_json: duplicates in one set are input errors", "[peers]") {
    Error m = require_input_error([] {
        peers(R"({"ip":"10.0.0.3","mac":"02:42:0a:00:00:03","vtep":"192.0.2.12"}
                 {"ip":"10.0.0.4","mac":"02:42:0A:00:00:03","vtep":"192.0.2.13"})");
    }, "appears twice");
    CHECK(m.field() == "mac");
    CHECK_THAT(std::string(m.what()), Contains("#1"));
    CHECK_THAT(std::string(m.what()), Contains("#2"));

    Error i = require_input_error([] {
        peers(R"({"ip":"10.0.0.3","mac":"02:42:0a:00:00:03","vtep":"192.0.2.12"}
                 {"ip":"10.0.0.3","mac":"02:42:0a:00:00:04","vtep":"192.0.2.12"})");
    }, "appears twice");
    CHECK(i.field() == "ip");

    // Across input formats too.
    require_input_error([] {
        peers(R"({"ip":"10.0.0.3","mac":"02:42:0a:00:00:03","vtep":"192.0.2.12"}
                 {"mac":"02:42:0a:00:00:03","ifname":"vx0","dst":"192.0.2.12","flags":["self"],"state":"permanent"})");
    }, "appears twice");

    // The same VTEP for many peers is normal.
    CHECK(peers(R"({"ip":"10.0.0.3","mac":"02:42:0a:00:00:03","vtep":"192.0.2.12"}
                   {"ip":"10.0.0.4","mac":"02:42:0a:00:00:04","vtep":"192.0.2.12"})").size() == 2);
    // Skipped rows do not count as duplicates.
    CHECK(peers(R"({"status":"learned","mac":"02:42:0a:00:00:03","vtep":"192.0.2.14"}
                   {"ip":"10.0.0.3","mac":"02:42:0a:00:00:03","vtep":"192.0.2.12"})").size() == 1);
}

TEST_CASE("peers_from_json: peer MACs must be unicast and non-zero and VTEPs unicast", "[peers]") {
    Error z = require_input_error([] { peers(R"({"ip":"10.0.0.3","mac":"00:00:00:00:00:00","vtep":"192.0.2.12"})"); }, "unicast");
    CHECK(z.field() == "mac");
    require_input_error([] { peers(R"({"ip":"10.0.0.3","mac":"01:00:5e:00:00:03","vtep":"192.0.2.12"})"); }, "unicast");
    require_input_error([] { peers(R"({"ip":"10.0.0.3","mac":"ff:ff:ff:ff:ff:ff","vtep":"192.0.2.12"})"); }, "unicast");
    require_input_error([] { peers(R"({"status":"neigh-only","ip":"10.0.0.3","mac":"03:00:00:00:00:00"})"); }, "unicast");

    Error v = require_input_error([] { peers(R"({"ip":"10.0.0.3","mac":"02:42:0a:00:00:03","vtep":"239.1.1.1"})"); }, "unicast");
    CHECK(v.field() == "vtep");
    require_input_error([] { peers(R"({"ip":"10.0.0.3","mac":"02:42:0a:00:00:03","vtep":"224.0.0.1"})"); }, "vtep");
    require_input_error([] { peers(R"({"ip":"10.0.0.3","mac":"02:42:0a:00:00:03","vtep":"ff02::1"})"); }, "vtep");
    require_input_error([] { peers(R"({"ip":"10.0.0.3","mac":"02:42:0a:00:00:03","vtep":"0.0.0.0"})"); }, "vtep");
    require_input_error([] { peers(R"({"ip":"10.0.0.3","mac":"02:42:0a:00:00:03","vtep":"::"})"); }, "vtep");
    // A multicast default is caught as well.
    require_input_error([] { peers(R"({"ip":"10.0.0.3","mac":"02:42:0a:00:00:03"})", ip("239.1.1.1")); }, "vtep");
    // iproute2 rows kept as peers are checked the same way.
    require_input_error([] { peers(R"({"mac":"02:42:0a:00:00:06","ifname":"vx0","dst":"239.1.1.1","flags":["self"],"state":"permanent"})"); },
                        "vtep");
    // 240.0.0.0/4 and 255.255.255.255 are not multicast; 223.x is unicast.
    CHECK(peers(R"({"ip":"10.0.0.3","mac":"02:42:0a:00:00:03","vtep":"223.255.255.254"})").size() == 1);
}

// The header promises "mixed families raise Error(Input)": a VXLAN device has one underlay family
// (the kernel answers EAFNOSUPPORT for an fdb dst of the other family), so a set whose VTEPs mix
// IPv4 and IPv6 is refused before anything is written. Overlay IPs may mix (dual-stack overlay).
TEST_CASE("peers_from_json: VTEPs of mixed address families are refused", "[peers]") {
    Error e = require_input_error([] {
        peers(R"({"ip":"10.0.0.3","mac":"02:42:0a:00:00:03","vtep":"192.0.2.12"}
                 {"ip":"10.0.0.4","mac":"02:42:0a:00:00:04","vtep":"2001:db8::13"})");
    }, "2001:db8::13");
    CHECK(e.field() == "vtep");
    // The default VTEP counts too.
    require_input_error([] {
        peers(R"({"ip":"10.0.0.3","mac":"02:42:0a:00:00:03","vtep":"2001:db8::12"}
                 {"ip":"10.0.0.4","mac":"02:42:0a:00:00:04"})", IpAddr::parse("192.0.2.1"));
    }, "vtep");
    // iproute2 rows as well.
    require_input_error([] {
        peers(R"({"mac":"02:42:0a:00:00:06","dst":"192.0.2.12","flags":["self"],"state":"permanent"}
                 {"mac":"02:42:0a:00:00:07","dst":"2001:db8::13","flags":["self"],"state":"permanent"})");
    }, "vtep");
    // IPv6 overlay over an IPv4 underlay, and IPv4 and IPv6 overlay addresses side by side, are fine.
    auto v = peers(R"({"ip":"fd00::3","mac":"02:42:0a:00:00:03","vtep":"192.0.2.12"}
                      {"ip":"10.0.0.4","mac":"02:42:0a:00:00:04","vtep":"192.0.2.13"}
                      {"status":"neigh-only","ip":"fd00::5","mac":"02:42:0a:00:00:05"})");
    CHECK(v.size() == 3);
    // Skipped rows do not fix the family.
    CHECK(peers(R"({"status":"learned","mac":"02:42:0a:00:00:09","vtep":"2001:db8::99"}
                   {"ip":"10.0.0.3","mac":"02:42:0a:00:00:03","vtep":"192.0.2.12"})").size() == 1);
}

TEST_CASE("PeerEntry: write_json writes what to_json().dump() writes", "[peers]") {
    const std::vector<std::string> statuses = {"peer", "fdb-only", "neigh-only", "learned", "local", "endpoint",
                                               "we\"ird\\\n\x01", "caf\xc3\xa9"};
    const std::vector<IpAddr> ips = {IpAddr{}, ip("10.0.0.3"), ip("0.0.0.0"), ip("255.255.255.255"),
                                     ip("fd00::3"), ip("2001:db8::ffff:1.2.3.4")};
    const std::vector<Mac> macs = {mac("02:42:0a:00:00:03"), mac("00:00:00:00:00:00"), mac("ff:ff:ff:ff:ff:ff")};
    const std::vector<std::string> states = {"", "permanent", "reachable", "stale", "noarp", "none", "unknown"};
    const std::vector<std::vector<std::string>> flagsets = {
        {}, {"self"}, {"self", "master"}, {"master"}, {"extern_learn", "offload", "router", "proxy", "use"},
        {"odd \"flag\""}};
    std::vector<PeerEntry> all;
    size_t n = 0;
    for (auto& st : statuses)
        for (auto& i : ips)
            for (auto& vt : ips)
                for (size_t k = 0; k < states.size() * states.size() * flagsets.size(); k++) {
                    // Every status, ip and vtep with every fdb/neigh state and flag set, the MAC rotating.
                    PeerEntry e;
                    e.status = st;
                    e.ip = i;
                    e.vtep = vt;
                    e.mac = macs[n++ % macs.size()];
                    e.fdb_state = states[k % states.size()];
                    e.neigh_state = states[k / states.size() % states.size()];
                    e.flags = flagsets[k / states.size() / states.size()];
                    e.link_netnsid = int(n % 4) - 1;   // none, 0, 1, 2
                    std::string out;
                    e.write_json(out);
                    REQUIRE(out == e.to_json().dump());
                    all.push_back(std::move(e));
                }
    CHECK(n == statuses.size() * ips.size() * ips.size() * states.size() * states.size() * flagsets.size());

    json a = json::array();
    for (auto& e : all) a.push_back(e.to_json());
    std::string out = "prefix";
    write_json(out, all);
    CHECK(out == "prefix" + a.dump());
    out.clear();
    write_json(out, {});
    CHECK(out == "[]");
    out.clear();
    write_json(out, {all[0]});
    CHECK(out == "[" + all[0].to_json().dump() + "]");
    // Docker's peer on its moved vxlan0 (iproute2: link-netnsid 0), and a row without any entry state.
    PeerEntry d;
    d.status = "peer";
    d.ip = ip("10.0.1.14");
    d.mac = mac("02:42:0a:00:01:0e");
    d.vtep = ip("192.0.2.2");
    d.fdb_state = d.neigh_state = "permanent";
    d.flags = {"self"};
    d.link_netnsid = 0;
    out.clear();
    d.write_json(out);
    CHECK(out == R"({"status":"peer","ip":"10.0.1.14","mac":"02:42:0a:00:01:0e","vtep":"192.0.2.2",)"
                 R"("fdb_state":"permanent","neigh_state":"permanent","flags":["self"],"link_netnsid":0})");
    CHECK(out == d.to_json().dump());
    PeerEntry bare;
    out.clear();
    bare.write_json(out);
    CHECK(out == R"({"status":"","ip":null,"mac":"00:00:00:00:00:00","vtep":null,"fdb_state":null,)"
                 R"("neigh_state":null,"flags":null,"link_netnsid":null})");
    CHECK(out == bare.to_json().dump());
}

// The peer's one schema: its keys, in output order, with the kernel's state read-only; every one
// of them (and nothing else but "dev" and iproute2's keys) is accepted as input.
TEST_CASE("PeerEntry: one schema gives the keys the readers accept", "[peers][schema]") {
    auto& k = schema::keys<PeerEntry>();
    std::vector<std::string> names;
    for (auto& x : k) names.push_back(x.name + std::string(x.access == schema::ReadOnly ? " (ro)" : ""));
    CHECK(names == std::vector<std::string>{"status", "ip", "mac", "vtep", "fdb_state (ro)", "neigh_state (ro)", "flags (ro)",
                                                "link_netnsid (ro)"});
    json o = json::object();
    for (auto& x : k) o[x.name] = nullptr;
    o["mac"] = "02:42:0a:00:00:03";
    o["ip"] = "10.0.0.3";
    o["vtep"] = "192.0.2.12";
    o["dev"] = "vx0";
    CHECK(peers_from_json({o}, std::nullopt).size() == 1);
    std::istringstream in(o.dump());
    CHECK(peers_read(in, std::nullopt).size() == 1);
    o["neigh_sate"] = "permanent";
    require_input_error([&] { peers_from_json({o}, std::nullopt); }, "neigh_sate");
}
