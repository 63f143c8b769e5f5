// Object schemas: BridgeSpec, VtepSpec, ConnectSpec (from_json / validate / to_json) and Docker names.
#include "helpers.hpp"
#include "ovnet/ovnet.hpp"

using namespace ovnet;
using ovnet_test::require_input_error;
using Catch::Matchers::Contains;

namespace {
Bridge sample_bridge() {
    Bridge b;
    b.netns = "h1";
    b.name = "ov-001001-7672d";
    b.ifindex = 5;
    b.mac = Mac::parse("6a:1e:2b:3c:4d:5e");
    b.mtu = 1450;
    b.up = true;
    b.addresses = {Prefix::parse("10.0.0.1/24"), Prefix::parse("fd00::1/64")};
    BridgePort vx;
    vx.name = "vx-001001-7672d";
    vx.ifindex = 6;
    vx.kind = "vxlan";
    vx.mac = Mac::parse("6a:1e:2b:3c:4d:5f");
    vx.mtu = 1450;
    vx.up = true;
    BridgePort veth;
    veth.name = "veth4dd295a";
    veth.ifindex = 17;
    veth.kind = "veth";
    veth.mac = Mac::parse("de:ad:be:ef:00:11");
    veth.mtu = 1450;
    veth.up = true;
    veth.peer = PeerRef{"c1", 16, "eth0", ""};
    b.ports = {vx, veth};
    return b;
}

Vtep sample_vtep() {
    Vtep v;
    v.netns = "h1";
    v.name = "vx-001001-7672d";
    v.ifindex = 6;
    v.mac = Mac::parse("6a:1e:2b:3c:4d:5f");
    v.mtu = 1400;
    v.up = true;
    v.master = "ov-001001-7672d";
    v.dev = "eth1";
    v.vxlan.vni = 4097;
    v.vxlan.port = 4790;
    v.vxlan.local = IpAddr::parse("192.0.2.11");
    v.vxlan.learning = true;
    v.vxlan.proxy = false;
    v.vxlan.l2miss = false;
    v.vxlan.l3miss = true;
    v.vxlan.ttl = 64;
    return v;
}

json vtep_min() { return {{"name", "vx0"}, {"vni", 4097}}; }
json ep_min() { return {{"sandbox", "c1"}, {"bridge", "br0"}, {"ip", "10.0.0.2/24"}}; }
}  // namespace

// ---- bridge --------------------------------------------------------------------------------------

TEST_CASE("Bridge::to_json has the documented shape", "[objects][bridge]") {
    json j = sample_bridge().to_json();
    CHECK(j["netns"] == "h1");
    CHECK(j["name"] == "ov-001001-7672d");
    CHECK(j["ifindex"] == 5);
    CHECK(j["mac"] == "6a:1e:2b:3c:4d:5e");
    CHECK(j["mtu"] == 1450);
    CHECK(j["state"] == "up");
    CHECK(j["addresses"] == json::array({"10.0.0.1/24", "fd00::1/64"}));
    REQUIRE(j["ports"].size() == 2);
    CHECK(j["ports"][0]["name"] == "vx-001001-7672d");
    CHECK(j["ports"][0]["kind"] == "vxlan");
    CHECK(j["ports"][0]["peer"].is_null());   // every key on every row: null, not left out
    CHECK(j["ports"][1]["peer"]["netns"] == "c1");
    CHECK(j["ports"][1]["peer"]["ifindex"] == 16);
    CHECK(j["ports"][1]["peer"]["ifname"] == "eth0");
    CHECK(j["ports"][1]["peer"]["master"].is_null());  // empty master is null
    PeerRef r{"root", 3, "veth0", "docker0"};
    CHECK(r.to_json()["master"] == "docker0");
    Bridge down;
    down.name = "x";
    CHECK(down.to_json()["state"] == "down");
    CHECK(down.to_json()["ports"] == json::array());
}

TEST_CASE("BridgeSpec::from_json accepts Bridge::to_json output", "[objects][bridge]") {
    Bridge b = sample_bridge();
    BridgeSpec s = BridgeSpec::from_json(b.to_json());
    CHECK(s.name == b.name);
    REQUIRE(s.mtu);
    CHECK(*s.mtu == 1450);
    REQUIRE(s.mac);
    CHECK(*s.mac == b.mac);
    CHECK(s.addresses == b.addresses);
    CHECK(s.ports == std::vector<std::string>{"vx-001001-7672d", "veth4dd295a"});
    // The kernel's 00:00:00:00:00:00 of a bridge whose last port left: shown, it is no MAC to set.
    b.mac = Mac{};
    b.ports.clear();
    BridgeSpec z = BridgeSpec::from_json(b.to_json());
    CHECK_FALSE(z.mac);
    CHECK_NOTHROW(z.validate());
}

TEST_CASE("BridgeSpec::from_json minimal and plain forms", "[objects][bridge]") {
    BridgeSpec s = BridgeSpec::from_json({{"name", "br0"}});
    CHECK(s.name == "br0");
    CHECK_FALSE(s.mtu);
    CHECK_FALSE(s.mac);
    CHECK(s.addresses.empty());
    CHECK(s.ports.empty());

    BridgeSpec p = BridgeSpec::from_json(json::parse(
        R"({"name":"br0","mtu":9000,"mac":"02:00:00:00:00:01","addresses":["10.0.0.1/24"],
            "ports":["eth1", {"name":"eth2"}],"kind":"bridge"})"));
    CHECK(*p.mtu == 9000);
    CHECK(p.mac->str() == "02:00:00:00:00:01");
    CHECK(p.ports == std::vector<std::string>{"eth1", "eth2"});
    // null means absent.
    CHECK_NOTHROW(BridgeSpec::from_json(json::parse(R"({"name":"br0","mtu":null,"mac":null,"addresses":null,"ports":null})")));
    CHECK(BridgeSpec::from_json({{"name", "br0"}, {"mtu", 68}}).mtu == 68u);
    CHECK(BridgeSpec::from_json({{"name", "br0"}, {"mtu", 65535}}).mtu == 65535u);
}

TEST_CASE("BridgeSpec::from_json rejects bad fields", "[objects][bridge]") {
    auto with = [](const char* key, json v) {
        json j = {{"name", "br0"}};
        j[key] = std::move(v);
        return j;
    };
    // Name longer than 15 bytes.
    Error n = require_input_error([] { BridgeSpec::from_json({{"name", "ov-001001-7672dx"}}); }, "ov-001001-7672dx");
    CHECK(n.field() == "name");
    require_input_error([] { BridgeSpec::from_json({{"name", ""}}); });
    require_input_error([] { BridgeSpec::from_json({{"name", "a/b"}}); });
    require_input_error([] { BridgeSpec::from_json(json::object()); }, "required");
    require_input_error([] { BridgeSpec::from_json({{"name", 5}}); }, "must be a string");
    // MAC.
    Error m = require_input_error([&] { BridgeSpec::from_json(with("mac", "02:00:00:00:01")); }, "\"02:00:00:00:01\"");
    CHECK(m.field() == "mac");
    require_input_error([&] { BridgeSpec::from_json(with("mac", "01:00:5e:00:00:01")); }, "unicast");
    require_input_error([&] { BridgeSpec::from_json(with("mac", "ff:ff:ff:ff:ff:ff")); }, "unicast");
    require_input_error([&] { BridgeSpec::from_json(with("mac", "00:00:00:00:00:00")); }, "non-zero");
    // MTU.
    require_input_error([&] { BridgeSpec::from_json(with("mtu", 67)); }, "68..65535");
    require_input_error([&] { BridgeSpec::from_json(with("mtu", 65536)); }, "68..65535");
    require_input_error([&] { BridgeSpec::from_json(with("mtu", 0)); }, "68..65535");
    require_input_error([&] { BridgeSpec::from_json(with("mtu", -1)); });
    require_input_error([&] { BridgeSpec::from_json(with("mtu", "1500")); }, "integer");
    // Addresses.
    Error a = require_input_error([&] { BridgeSpec::from_json(with("addresses", json::array({"10.0.0.1"}))); }, "\"10.0.0.1\"");
    CHECK(a.field() == "addresses");
    require_input_error([&] { BridgeSpec::from_json(with("addresses", json::array({"10.0.0.1/33"}))); });
    require_input_error([&] { BridgeSpec::from_json(with("addresses", json::array({"10.0.0.256/24"}))); });
    require_input_error([&] { BridgeSpec::from_json(with("addresses", json::array({24}))); });
    require_input_error([&] { BridgeSpec::from_json(with("addresses", "10.0.0.1/24")); }, "array");
    require_input_error([&] { BridgeSpec::from_json(with("addresses", json::array({"224.0.0.1/24"}))); }, "unicast");
    require_input_error([&] { BridgeSpec::from_json(with("addresses", json::array({"0.0.0.0/0"}))); }, "unicast");
    require_input_error([&] { BridgeSpec::from_json(with("addresses", json::array({"ff02::1/64"}))); }, "unicast");
    require_input_error([&] { BridgeSpec::from_json(with("addresses", json::array({"255.255.255.255/32"}))); }, "unicast");
    // Ports.
    require_input_error([&] { BridgeSpec::from_json(with("ports", json::array({5}))); }, "ports");
    require_input_error([&] { BridgeSpec::from_json(with("ports", json::array({json{{"ifindex", 3}}}))); }, "ports");
    require_input_error([&] { BridgeSpec::from_json(with("ports", json::array({"this-is-too-long0"}))); });
    require_input_error([&] { BridgeSpec::from_json(with("ports", json::array({"br0"}))); }, "own port");
    require_input_error([&] { BridgeSpec::from_json(with("ports", "eth0")); }, "array");
    // Unknown key and wrong kind.
    Error u = require_input_error([&] { BridgeSpec::from_json(with("mtux", 1500)); }, "unknown field");
    CHECK(u.field() == "mtux");
    CHECK_THAT(std::string(u.what()), Contains("bridge br0"));
    require_input_error([&] { BridgeSpec::from_json(with("kind", "vxlan")); }, "not a bridge");
    // Not an object.
    require_input_error([] { BridgeSpec::from_json(json::array()); }, "expected a JSON object");
    require_input_error([] { BridgeSpec::from_json(json("br0")); }, "expected a JSON object");
}

TEST_CASE("BridgeSpec::validate on hand-built specs", "[objects][bridge]") {
    BridgeSpec s;
    s.name = "br0";
    CHECK_NOTHROW(s.validate());
    s.mtu = 67;
    require_input_error([&] { s.validate(); }, "mtu");
    s.mtu = 1500;
    s.mac = Mac::parse("03:00:00:00:00:00");
    require_input_error([&] { s.validate(); }, "mac");
    s.mac.reset();
    s.ports = {"eth0", "bad:port"};
    require_input_error([&] { s.validate(); }, "bad:port");
}

// ---- vtep ----------------------------------------------------------------------------------------

TEST_CASE("VtepSpec::from_json defaults follow Docker except learning", "[objects][vtep]") {
    VtepSpec s = VtepSpec::from_json(vtep_min());
    CHECK(s.name == "vx0");
    CHECK(s.vni == 4097);
    CHECK(s.port == 4789);
    CHECK(s.port == kVxlanPort);
    CHECK_FALSE(s.local.valid());
    CHECK(s.dev.empty());
    CHECK(s.master.empty());
    CHECK(s.learning == false);
    CHECK(s.proxy == true);
    CHECK(s.l2miss == true);
    CHECK(s.l3miss == true);
    CHECK(s.ttl == 0);
    CHECK(s.mtu == 1450);
    CHECK(s.mtu == kOverlayMtu);
    // A default-constructed spec agrees.
    VtepSpec d;
    CHECK(d.port == 4789);
    CHECK_FALSE(d.learning);
    CHECK(d.proxy);
    CHECK(d.mtu == 1450);
}

TEST_CASE("VtepSpec::from_json VNI and port ranges", "[objects][vtep]") {
    auto with = [](const char* key, json v) {
        json j = vtep_min();
        j[key] = std::move(v);
        return j;
    };
    CHECK(VtepSpec::from_json(with("vni", 1)).vni == 1);
    CHECK(VtepSpec::from_json(with("vni", 16777215)).vni == 16777215);
    CHECK(kVniMax == 16777215u);
    Error v0 = require_input_error([&] { VtepSpec::from_json(with("vni", 0)); }, "1..16777215");
    CHECK(v0.field() == "vni");
    require_input_error([&] { VtepSpec::from_json(with("vni", 16777216)); }, "1..16777215");
    require_input_error([&] { VtepSpec::from_json(with("vni", -5)); });
    require_input_error([&] { VtepSpec::from_json(with("vni", "4097")); }, "integer");
    require_input_error([] { VtepSpec::from_json({{"name", "vx0"}}); }, "vni");

    CHECK(VtepSpec::from_json(with("port", 1)).port == 1);
    CHECK(VtepSpec::from_json(with("port", 65535)).port == 65535);
    Error p0 = require_input_error([&] { VtepSpec::from_json(with("port", 0)); }, "1..65535");
    CHECK(p0.field() == "port");
    require_input_error([&] { VtepSpec::from_json(with("port", 70000)); }, "1..65535");
    require_input_error([&] { VtepSpec::from_json(with("port", 65536)); }, "1..65535");

    CHECK(VtepSpec::from_json(with("ttl", 255)).ttl == 255);
    require_input_error([&] { VtepSpec::from_json(with("ttl", 256)); }, "0..255");
    require_input_error([&] { VtepSpec::from_json(with("mtu", 67)); }, "68..65535");
    require_input_error([&] { VtepSpec::from_json(with("mtu", 65536)); }, "68..65535");
    require_input_error([&] { VtepSpec::from_json(with("learning", "yes")); }, "true or false");
    require_input_error([&] { VtepSpec::from_json(with("proxy", 1)); }, "true or false");
}

TEST_CASE("VtepSpec::from_json other fields and rejects", "[objects][vtep]") {
    auto with = [](const char* key, json v) {
        json j = vtep_min();
        j[key] = std::move(v);
        return j;
    };
    CHECK(VtepSpec::from_json(with("local", "192.0.2.11")).local == IpAddr::parse("192.0.2.11"));
    CHECK(VtepSpec::from_json(with("local", "2001:db8::11")).local.family == AF_INET6);
    CHECK_FALSE(VtepSpec::from_json(with("local", "")).local.valid());  // as Vtep::to_json prints "no local"
    require_input_error([&] { VtepSpec::from_json(with("local", "192.0.2.256")); }, "local");
    require_input_error([&] { VtepSpec::from_json(with("local", "0.0.0.0")); }, "unicast");
    require_input_error([&] { VtepSpec::from_json(with("local", "239.1.1.1")); }, "unicast");
    require_input_error([&] { VtepSpec::from_json(with("local", "ff02::1")); }, "unicast");
    require_input_error([&] { VtepSpec::from_json(with("local", "::")); }, "unicast");
    CHECK(VtepSpec::from_json(with("dev", "eth1")).dev == "eth1");
    CHECK(VtepSpec::from_json(with("dev", "")).dev.empty());
    require_input_error([&] { VtepSpec::from_json(with("dev", "a-very-long-devname")); }, "dev");
    CHECK(VtepSpec::from_json(with("master", "br0")).master == "br0");
    require_input_error([&] { VtepSpec::from_json(with("master", "b r")); }, "master");
    require_input_error([&] { VtepSpec::from_json(with("name", "vx-001001-7672dx")); }, "15");
    Error u = require_input_error([&] { VtepSpec::from_json(with("vnid", 4097)); }, "unknown field");
    CHECK(u.field() == "vnid");
    require_input_error([&] { VtepSpec::from_json(with("kind", "bridge")); }, "not a vxlan");
    CHECK_NOTHROW(VtepSpec::from_json(with("kind", "vxlan")));
    require_input_error([&] { VtepSpec::from_json(with("group", "239.1.1.1")); }, "multicast groups");
    CHECK_NOTHROW(VtepSpec::from_json(with("group", nullptr)));
    require_input_error([] { VtepSpec::from_json(json::array({vtep_min()})); }, "expected a JSON object");
}

TEST_CASE("Vtep::to_json round-trips through VtepSpec::from_json", "[objects][vtep]") {
    Vtep v = sample_vtep();
    json j = v.to_json();
    CHECK(j["kind"] == "vxlan");
    CHECK(j["vni"] == 4097);
    CHECK(j["port"] == 4790);
    CHECK(j["local"] == "192.0.2.11");
    CHECK(j["ttl"] == 64);
    CHECK(j["state"] == "up");
    CHECK_FALSE(j.contains("group"));

    VtepSpec s = VtepSpec::from_json(j);
    CHECK(s.name == v.name);
    CHECK(s.vni == v.vxlan.vni);
    CHECK(s.port == v.vxlan.port);
    CHECK(s.local == v.vxlan.local);
    CHECK(s.dev == v.dev);
    CHECK(s.master == v.master);
    CHECK(s.learning == v.vxlan.learning);
    CHECK(s.proxy == v.vxlan.proxy);
    CHECK(s.l2miss == v.vxlan.l2miss);
    CHECK(s.l3miss == v.vxlan.l3miss);
    CHECK(s.ttl == v.vxlan.ttl);
    CHECK(s.mtu == v.mtu);

    // Without local, dev or master (printed as "").
    Vtep bare = sample_vtep();
    bare.vxlan.local = {};
    bare.dev.clear();
    bare.master.clear();
    json jb = bare.to_json();
    CHECK(jb["local"] == "");
    VtepSpec sb = VtepSpec::from_json(jb);
    CHECK_FALSE(sb.local.valid());
    CHECK(sb.dev.empty());
    CHECK(sb.master.empty());

    // A VTEP with a multicast group prints it, and it is refused as input.
    Vtep g = sample_vtep();
    g.vxlan.group = IpAddr::parse("239.1.1.1");
    CHECK(g.to_json()["group"] == "239.1.1.1");
    require_input_error([&] { VtepSpec::from_json(g.to_json()); }, "group");
    CHECK(g.to_json()["remote"] == "239.1.1.1");
}

TEST_CASE("Vtep: Docker's vxlan0 (moved out of the daemon's namespace) shows and round-trips", "[objects][vtep]") {
    // ip -d link: vxlan id 4097 srcport 0 0 dstport 4789 proxy l2miss l3miss ttl auto ageing 300
    //             udpcsum noudp6zerocsumtx noudp6zerocsumrx, link-netnsid 0, no local, no dev
    Vtep v = sample_vtep();
    v.vxlan.local = {};
    v.dev.clear();
    v.vxlan.learning = true;
    v.vxlan.ttl = 0;
    v.vxlan.ageing = 300;
    v.vxlan.udp_csum = true;
    v.vxlan.udp6_zero_csum_tx = false;
    v.vxlan.udp6_zero_csum_rx = false;
    v.vxlan.src_port_min = 0;
    v.vxlan.src_port_max = 0;
    v.vxlan.tos = 0;
    v.vxlan.df = 0;
    v.vxlan.label = 0;
    v.link_netnsid = 0;
    v.link_netns = "root";
    json j = v.to_json();
    CHECK(j["ageing"] == 300);
    CHECK(j["udp_csum"] == true);
    CHECK(j["df"] == "unset");
    CHECK(j["remote"].is_null());
    CHECK(j["external"] == false);
    CHECK(j["link_netnsid"] == 0);
    CHECK(j["link_netns"] == "root");
    auto text = [](const Vtep& x) {
        std::string t;
        schema::to_text(t, x);
        return t;
    };
    CHECK(text(v) == j.dump());
    VtepSpec s = VtepSpec::from_json(j);
    CHECK(s.ageing == 300u);
    CHECK(s.udp_csum == true);
    CHECK(s.udp6_zero_csum_tx == false);
    CHECK(s.src_port_min == 0);
    CHECK(s.df == 0);
    CHECK(s.label == 0u);
    // Keys the kernel did not report are null, and null is "the kernel's default" on input.
    Vtep old = sample_vtep();
    json jo = old.to_json();
    for (auto k : {"ageing", "udp_csum", "tos", "df", "label", "remote", "link_netnsid", "link_netns"})
        CHECK(jo[k].is_null());
    CHECK(text(old) == jo.dump());
    VtepSpec so = VtepSpec::from_json(jo);
    CHECK_FALSE(so.ageing);
    CHECK_FALSE(so.udp_csum);
    // Read-only keys are ignored; a remote cannot be created; bad values are named.
    json ro = j;
    ro["link_netnsid"] = 7;
    ro["link_netns"] = "elsewhere";
    ro["external"] = true;
    CHECK_NOTHROW(VtepSpec::from_json(ro));
    json bad = j;
    bad["remote"] = "192.0.2.9";
    require_input_error([&] { VtepSpec::from_json(bad); }, "remote");
    bad = j;
    bad["df"] = "maybe";
    require_input_error([&] { VtepSpec::from_json(bad); }, "df");
    bad = j;
    bad["label"] = 0x100000;
    require_input_error([&] { VtepSpec::from_json(bad); }, "label");
    bad = j;
    bad["src_port_min"] = 40000;
    bad["src_port_max"] = 30000;
    require_input_error([&] { VtepSpec::from_json(bad); }, "src_port_max");
    bad = j;
    bad.erase("src_port_max");
    require_input_error([&] { VtepSpec::from_json(bad); }, "src_port_max");
}

TEST_CASE("VtepSpec::validate on hand-built specs", "[objects][vtep]") {
    VtepSpec s;
    s.name = "vx0";
    require_input_error([&] { s.validate(); }, "vni");  // vni 0 by default
    s.vni = 10;
    CHECK_NOTHROW(s.validate());
    s.port = 0;
    require_input_error([&] { s.validate(); }, "port");
    s.port = 4789;
    s.mtu = 10;
    require_input_error([&] { s.validate(); }, "mtu");
    s.mtu = 1450;
    s.vni = kVniMax + 1;
    require_input_error([&] { s.validate(); }, "vni");
}

TEST_CASE("Docker device names", "[objects][vtep][docker]") {
    CHECK(docker_vxlan_name(4097, "7672dxyz") == "vx-001001-7672d");
    CHECK(docker_bridge_name(4096, "lpq3tzoevynh") == "ov-001000-lpq3t");
    CHECK(docker_vxlan_name(1, "abc") == "vx-000001-abc");
    CHECK(docker_vxlan_name(kVniMax, "abcdefgh") == "vx-ffffff-abcde");
    CHECK(docker_bridge_name(256, "ABCDE") == "ov-000100-ABCDE");
    // Always a valid interface name.
    CHECK_NOTHROW(validate_ifname(docker_vxlan_name(kVniMax, "zzzzzzzzzzzzzzzzzz")));
    CHECK(docker_vxlan_name(kVniMax, "zzzzzzzzzzzzzzzzzz").size() == 15);

    require_input_error([] { docker_vxlan_name(0, "abcde"); }, "vni");
    require_input_error([] { docker_vxlan_name(kVniMax + 1, "abcde"); }, "vni");
    require_input_error([] { docker_bridge_name(0, "abcde"); }, "vni");
    require_input_error([] { docker_vxlan_name(4097, ""); }, "netid");
    require_input_error([] { docker_bridge_name(4097, "ab/cd"); }, "netid");
    require_input_error([] { docker_bridge_name(4097, "ab-cd"); }, "netid");
}

// ---- sandbox endpoint ----------------------------------------------------------------------------

TEST_CASE("ConnectSpec::from_json full and minimal forms", "[objects][sbox]") {
    ConnectSpec s = ConnectSpec::from_json(json::parse(R"({
        "sandbox":"c1","bridge":"ov-001001-7672d","ip":"10.0.0.2/24","mac":"02:42:0a:00:00:99",
        "ifname":"eth0","host_ifname":"veth4dd295a","gateway":"10.0.0.1","mtu":1450,
        "sysctls":{"net.ipv4.ip_forward":"1","net.ipv4.conf.all.rp_filter":2}})"));
    CHECK(s.sandbox == "c1");
    CHECK(s.bridge == "ov-001001-7672d");
    CHECK(s.ip->str() == "10.0.0.2/24");
    CHECK(s.mac->str() == "02:42:0a:00:00:99");
    CHECK(s.ifname == "eth0");
    CHECK(s.host_ifname == "veth4dd295a");
    CHECK(*s.gateway == IpAddr::parse("10.0.0.1"));
    CHECK(*s.mtu == 1450);
    REQUIRE(s.sysctls.size() == 2);
    CHECK(s.sysctls[0] == std::pair<std::string, std::string>{"net.ipv4.ip_forward", "1"});
    CHECK(s.sysctls[1] == std::pair<std::string, std::string>{"net.ipv4.conf.all.rp_filter", "2"});

    ConnectSpec m = ConnectSpec::from_json(ep_min());
    CHECK_FALSE(m.mac);  // Docker's 02:42:<ip> is used later
    CHECK(m.ifname.empty());
    CHECK(m.host_ifname.empty());
    CHECK_FALSE(m.gateway);
    CHECK_FALSE(m.mtu);
    CHECK(m.sysctls.empty());

    // IPv6 works when a MAC is given.
    ConnectSpec six = ConnectSpec::from_json(
        {{"sandbox", "c1"}, {"bridge", "br0"}, {"ip", "fd00::2/64"}, {"mac", "02:42:0a:00:00:02"}, {"gateway", "fd00::1"}});
    CHECK(six.ip->addr.family == AF_INET6);
    // No ip at all is fine with a MAC.
    CHECK_NOTHROW(ConnectSpec::from_json({{"sandbox", "c1"}, {"bridge", "br0"}, {"mac", "02:42:0a:00:00:02"}}));
}

TEST_CASE("ConnectSpec::from_json rejects", "[objects][sbox]") {
    auto with = [](const char* key, json v) {
        json j = ep_min();
        j[key] = std::move(v);
        return j;
    };
    auto without = [](const char* key) {
        json j = ep_min();
        j.erase(key);
        return j;
    };
    Error sb = require_input_error([&] { ConnectSpec::from_json(without("sandbox")); }, "required");
    CHECK(sb.field() == "sandbox");
    Error br = require_input_error([&] { ConnectSpec::from_json(without("bridge")); }, "required");
    CHECK(br.field() == "bridge");
    // MAC defaults only for an IPv4 ip.
    Error nomac = require_input_error([&] { ConnectSpec::from_json(without("ip")); }, "mac");
    CHECK(nomac.field() == "mac");
    require_input_error([&] { ConnectSpec::from_json(with("ip", "fd00::2/64")); }, "mac");
    // Gateway.
    Error gw = require_input_error([&] { ConnectSpec::from_json(with("gateway", "fd00::1")); }, "same address family");
    CHECK(gw.field() == "gateway");
    {
        json j = without("ip");
        j["mac"] = "02:42:0a:00:00:02";
        j["gateway"] = "10.0.0.1";
        require_input_error([&] { ConnectSpec::from_json(j); }, "gateway");
    }
    require_input_error([&] { ConnectSpec::from_json(with("gateway", "10.0.0.256")); }, "gateway");
    // Sysctls.
    Error sc = require_input_error([&] { ConnectSpec::from_json(with("sysctls", json{{"kernel.hostname", "x"}})); },
                                   "kernel.hostname");
    CHECK(sc.field() == "sysctl");
    require_input_error([&] { ConnectSpec::from_json(with("sysctls", json{{"net.ipv4..x", "1"}})); });
    require_input_error([&] { ConnectSpec::from_json(with("sysctls", json{{"net.ipv4.ip_forward;rm", "1"}})); });
    require_input_error([&] { ConnectSpec::from_json(with("sysctls", json{{"net.ipv4.ip_forward", true}})); }, "string or integer");
    require_input_error([&] { ConnectSpec::from_json(with("sysctls", json{{"net.ipv4.ip_forward", ""}})); }, "one non-empty line");
    require_input_error([&] { ConnectSpec::from_json(with("sysctls", json{{"net.ipv4.ip_forward", "1\n0"}})); }, "one non-empty line");
    require_input_error([&] { ConnectSpec::from_json(with("sysctls", json::array({"net.ipv4.ip_forward=1"}))); }, "sysctls");
    // Other fields.
    require_input_error([&] { ConnectSpec::from_json(with("sandbox", "a/b")); }, "a/b");
    require_input_error([&] { ConnectSpec::from_json(with("sandbox", "")); }, "netns");
    require_input_error([&] { ConnectSpec::from_json(with("bridge", "bridge-name-too-long")); }, "bridge");
    require_input_error([&] { ConnectSpec::from_json(with("ifname", "eth:0")); }, "ifname");
    require_input_error([&] { ConnectSpec::from_json(with("host_ifname", "veth-name-too-long")); }, "host_ifname");
    require_input_error([&] { ConnectSpec::from_json(with("mac", "01:00:5e:00:00:01")); }, "unicast");
    require_input_error([&] { ConnectSpec::from_json(with("mac", "00:00:00:00:00:00")); }, "non-zero");
    require_input_error([&] { ConnectSpec::from_json(with("ip", "10.0.0.2")); }, "ip");
    Error mc = require_input_error([&] { ConnectSpec::from_json(with("ip", "224.0.0.2/24")); }, "unicast");
    CHECK(mc.field() == "ip");
    require_input_error([&] { ConnectSpec::from_json(with("ip", "0.0.0.0/24")); }, "unicast");
    Error gz = require_input_error([&] { ConnectSpec::from_json(with("gateway", "0.0.0.0")); }, "unicast");
    CHECK(gz.field() == "gateway");
    require_input_error([&] { ConnectSpec::from_json(with("gateway", "255.255.255.255")); }, "unicast");
    require_input_error([&] { ConnectSpec::from_json(with("mtu", 67)); }, "68..65535");
    Error u = require_input_error([&] { ConnectSpec::from_json(with("addr", "10.0.0.2/24")); }, "unknown field");
    CHECK(u.field() == "addr");
    require_input_error([] { ConnectSpec::from_json(json::array()); }, "expected a JSON object");
}

TEST_CASE("validate_sysctl_key and validate_netns_name", "[objects][sbox]") {
    for (const char* k : {"net.ipv4.ip_forward", "net.ipv6.conf.all.disable_ipv6", "net/ipv4/conf/eth0.1/forwarding",
                          "net.ipv4.conf.vx-001001-7672d.proxy_arp"})
        CHECK_NOTHROW(validate_sysctl_key(k));
    for (const char* k : {"", "net.", "net", "kernel.hostname", "net.ipv4..ip_forward", "net.ipv4.ip_forward.",
                          "net/../../etc", "net.ipv4.ip forward", "vm.swappiness", "net.ipv4.ip_forward\n"})
        require_input_error([&] { validate_sysctl_key(k); });

    CHECK_NOTHROW(validate_netns_name("c1"));
    CHECK_NOTHROW(validate_netns_name("1-lpq3tzoevy"));
    CHECK_NOTHROW(validate_netns_name(std::string(255, 'n')));
    require_input_error([] { validate_netns_name(""); });
    require_input_error([] { validate_netns_name("."); });
    require_input_error([] { validate_netns_name(".."); });
    require_input_error([] { validate_netns_name("a/b"); });
    require_input_error([] { validate_netns_name(std::string(256, 'n')); }, "too long");
}

TEST_CASE("Sandbox and Endpoint to_json", "[objects][sbox]") {
    Endpoint e;
    e.ifname = "eth0";
    e.ifindex = 16;
    e.kind = "veth";
    e.mac = Mac::parse("02:42:0a:00:00:02");
    e.mtu = 1450;
    e.up = true;
    e.addresses = {Prefix::parse("10.0.0.2/24")};
    e.host_netns = "h1";
    e.host_ifname = "veth4dd295a";
    e.host_ifindex = 17;
    e.bridge = "ov-001001-7672d";
    json je = e.to_json();
    CHECK(je["ifname"] == "eth0");
    CHECK(je["mac"] == "02:42:0a:00:00:02");
    CHECK(je["addresses"] == json::array({"10.0.0.2/24"}));
    CHECK(je["peer"]["netns"] == "h1");
    CHECK(je["peer"]["ifname"] == "veth4dd295a");
    CHECK(je["peer"]["ifindex"] == 17);
    CHECK(je["peer"]["bridge"] == "ov-001001-7672d");
    Endpoint lo;
    lo.ifname = "dummy0";
    CHECK(lo.to_json()["peer"].is_null());

    Sandbox sb;
    sb.name = "c1";
    sb.path = "/run/netns/c1";
    sb.source = "netns";
    sb.interfaces = {e};
    Route def;
    def.dst = Prefix::parse("0.0.0.0/0");
    def.gateway = IpAddr::parse("10.0.0.1");
    def.oif = 16;
    Route net;
    net.dst = Prefix::parse("10.0.0.7/24");  // host bits are cleared on output
    net.oif = 16;
    sb.routes = {def, net};
    json js = sb.to_json();
    CHECK(js["name"] == "c1");
    CHECK(js["source"] == "netns");
    REQUIRE(js["routes"].size() == 2);
    CHECK(js["routes"][0]["dst"] == "default");
    CHECK(js["routes"][0]["gateway"] == "10.0.0.1");
    CHECK(js["routes"][0]["dev"] == "eth0");
    CHECK(js["routes"][1]["dst"] == "10.0.0.0/24");
    CHECK(js["routes"][1]["gateway"].is_null());
}

// ---- one schema per object: fields() gives the DOM, the text, and the keys from_json accepts ----

namespace {
template <class T>
std::string text_of(const T& v) {
    std::string s;
    schema::to_text(s, v);
    return s;
}
// Every key of Spec's input form is a key of the shown object's schema (so the spec's JSON is
// accepted where `show -j` output is).
template <class Spec, class Shown>
bool spec_keys_within() {
    for (auto& k : schema::keys<Spec>()) {
        bool found = false;
        for (auto& s : schema::keys<Shown>()) found |= std::string(k.name) == s.name;
        if (!found) return false;
    }
    return true;
}
std::vector<std::string> key_names(const std::vector<schema::Key>& k) {
    std::vector<std::string> v;
    for (auto& x : k) v.push_back(x.name);
    return v;
}
}  // namespace

TEST_CASE("objects: to_text writes to_dom's bytes for bridges, VTEPs and sandboxes", "[objects][schema]") {
    Bridge b = sample_bridge();
    b.ports[1].peer->master = "docker0";
    CHECK(text_of(b) == b.to_json().dump());
    Bridge empty;
    CHECK(text_of(empty) == empty.to_json().dump());
    Vtep v = sample_vtep();
    CHECK(text_of(v) == v.to_json().dump());
    v.vxlan.local = {};
    v.vxlan.group = IpAddr::parse("239.1.1.1");
    CHECK(text_of(v) == v.to_json().dump());

    Endpoint e;
    e.ifname = "eth0";
    e.ifindex = 2;
    e.kind = "veth";
    e.host_netns = netns_label_nsid(3);
    e.host_ifindex = 9;
    Sandbox sb;
    sb.name = "c1";
    sb.interfaces = {e, Endpoint{}};
    Route r;
    r.dst = Prefix::parse("0.0.0.0/0");
    r.gateway = IpAddr::parse("10.0.0.1");
    r.oif = 2;
    Route r2;
    r2.dst = Prefix::parse("10.9.0.0/24");
    r2.oif = 77;
    sb.routes = {r, r2};
    CHECK(text_of(sb) == sb.to_json().dump());
    CHECK(sb.to_json()["container"].is_null());
    sb.container = "c1";
    CHECK(text_of(sb) == sb.to_json().dump());
    CHECK(sb.to_json()["container"] == "c1");
    CHECK(sb.to_json()["interfaces"][0]["peer"]["netns"] == "nsid:3");
    CHECK(sb.to_json()["routes"][1]["dev"].is_null());
}

TEST_CASE("objects: key lists come from fields()", "[objects][schema]") {
    CHECK(key_names(schema::keys<Bridge>()) ==
          std::vector<std::string>{"netns", "name", "ifindex", "mac", "mtu", "state", "addresses", "ports"});
    CHECK(key_names(schema::keys<Vtep>()) ==
          std::vector<std::string>{"netns", "name", "kind", "ifindex", "mac", "mtu", "state", "master", "vni", "port",
                                   "local", "dev", "learning", "proxy", "l2miss", "l3miss", "ttl", "group",
                                   "ageing", "udp_csum", "udp6_zero_csum_tx", "udp6_zero_csum_rx", "src_port_min",
                                   "src_port_max", "tos", "df", "label", "remote", "external", "link_netnsid",
                                   "link_netns"});
    CHECK(key_names(schema::keys<ConnectSpec>()) ==
          std::vector<std::string>{"sandbox", "bridge", "ip", "mac", "ifname", "host_ifname", "gateway", "mtu", "sysctls"});
    CHECK(key_names(schema::keys<PeerRef>()) == std::vector<std::string>{"netns", "ifindex", "ifname", "master"});
    CHECK(key_names(schema::keys<Endpoint>()) ==
          std::vector<std::string>{"ifname", "ifindex", "kind", "mac", "mtu", "state", "addresses", "peer"});
    CHECK(key_names(schema::keys<Sandbox>()) ==
          std::vector<std::string>{"name", "path", "source", "container", "interfaces", "routes"});
    CHECK(spec_keys_within<BridgeSpec, Bridge>());
    CHECK(spec_keys_within<VtepSpec, Vtep>());
    // Read-only keys are accepted on input, and ignored.
    json j = sample_bridge().to_json();
    j["ifindex"] = 999;
    j["state"] = "down";
    j["kind"] = "bridge";
    CHECK(BridgeSpec::from_json(j).name == "ov-001001-7672d");
    require_input_error([] { BridgeSpec::from_json(json{{"name", "br0"}, {"vni", 1}}); }, "bridge br0: vni");
    require_input_error([] { VtepSpec::from_json(json{{"name", "vx0"}, {"vni", 1}, {"ports", 1}}); }, "vtep vx0: ports");
    require_input_error([] { ConnectSpec::from_json(json{{"sandbox", "c1"}, {"bridge", "br0"}, {"peer", 1}}); },
                        "endpoint: peer");
}

TEST_CASE("objects: a spec's JSON form reads back as the same spec", "[objects][schema]") {
    BridgeSpec bs = BridgeSpec::from_json(sample_bridge().to_json());
    BridgeSpec bs2 = BridgeSpec::from_json(schema::to_dom(bs));
    CHECK(bs2.name == bs.name);
    CHECK(bs2.mtu == bs.mtu);
    CHECK(bs2.mac == bs.mac);
    CHECK(bs2.addresses == bs.addresses);
    CHECK(bs2.ports == bs.ports);
    CHECK(text_of(bs) == schema::to_dom(bs).dump());

    VtepSpec vs = VtepSpec::from_json(sample_vtep().to_json());
    json vj = schema::to_dom(vs);
    VtepSpec vs2 = VtepSpec::from_json(vj);
    CHECK(schema::to_dom(vs2) == vj);
    CHECK(vs2.local == IpAddr::parse("192.0.2.11"));
    CHECK(vs2.ttl == 64);

    ConnectSpec cs = ConnectSpec::from_json(json{{"sandbox", "c1"}, {"bridge", "br0"}, {"ip", "10.0.0.2/24"},
                                                 {"gateway", "10.0.0.1"}, {"mtu", 1400},
                                                 {"sysctls", {{"net.ipv4.ip_forward", 1}}}});
    json cj = cs.to_json();
    CHECK(cj["sysctls"]["net.ipv4.ip_forward"] == "1");
    CHECK_FALSE(cj.contains("mac"));
    CHECK(ConnectSpec::from_json(cj).to_json() == cj);
    CHECK(text_of(cs) == cj.dump());
}
