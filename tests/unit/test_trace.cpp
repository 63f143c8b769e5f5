// trace_packet (ovnet-trace) on synthetic snapshots: the README's three hosts (c1 -> c2 across
// VXLAN, and each failure code one at a time), unmodelled matches fork, and the routing mesh on
// the rules of a real Docker node (tests/fixtures/docker-node).
#include "helpers.hpp"

#include <fstream>
#include <sstream>

#include "ovnet/inspect.hpp"
#include "ovnet/trace.hpp"

using namespace ovnet;
using namespace ovnet_test;

namespace {

json veth(const std::string& name, int idx, const std::string& mac, int mtu, const std::string& pns, const std::string& pif,
          const std::string& pmaster = "", const std::string& master = "") {
    return json{{"name", name}, {"ifindex", idx}, {"kind", "veth"}, {"mac", mac}, {"mtu", mtu}, {"state", "up"},
                {"master", master.empty() ? json() : json(master)},
                {"peer", {{"netns", pns}, {"ifindex", 0}, {"ifname", pif}, {"master", pmaster.empty() ? json() : json(pmaster)}}}};
}
json addr(const std::string& ifn, const std::string& a) { return json{{"ifname", ifn}, {"address", a}, {"scope", "global"}}; }
json route(const std::string& dst, const std::string& dev) { return json{{"dst", dst}, {"gateway", nullptr}, {"dev", dev}}; }
json empty_nf() { return json{{"backends", json::array()}, {"chains", json::array()}, {"rules", json::array()}, {"text", json::object()}}; }
json ns(const std::string& label) {
    return json{{"label", label}, {"links", json::array()}, {"bridges", json::array()}, {"vteps", json::array()},
                {"addresses", json::array()}, {"routes", json::array()}, {"peers", json::object()}, {"ipvs", nullptr},
                {"netfilter", empty_nf()}, {"sysctls", {{"net.ipv4.ip_forward", "0"}}}};
}
json rule(const std::string& table, const std::string& chain, int pos, const std::string& spec) {
    return json{{"table", table}, {"chain", chain}, {"position", pos}, {"spec", spec}, {"packets", 0}, {"bytes", 0}};
}

// h<i> with container c<i> = 10.0.0.<i+1>, VTEP 192.0.2.1<i>, on the underlay namespace "ul".
json three_hosts() {
    json n = json::object();
    json ul = ns("ul");
    json ulbr{{"name", "ul0"}, {"mac", "02:00:00:00:00:01"}, {"mtu", 1500}, {"ports", json::array()}};
    for (int i = 1; i <= 2; i++) {
        std::string h = "h" + std::to_string(i), c = "c" + std::to_string(i), I = std::to_string(i);
        std::string cmac = "02:42:0a:00:00:0" + std::to_string(i + 1), ip = "10.0.0." + std::to_string(i + 1);
        json cn = ns(c);
        cn["links"] = {json{{"name", "lo"}, {"kind", "loopback"}, {"mtu", 65536}}, veth("eth0", 2, cmac, 1450, h, "veth-" + c, "ov")};
        cn["addresses"] = {addr("eth0", ip + "/24")};
        cn["routes"] = {route("10.0.0.0/24", "eth0")};
        n[c] = cn;
        json hn = ns(h);
        hn["links"] = {veth("eth0", 2, "02:00:00:00:01:1" + I, 1500, "ul", "veth-" + h, "ul0"),
                       json{{"name", "ov"}, {"kind", "bridge"}, {"mac", "02:00:00:00:0b:0" + I}, {"mtu", 1450}},
                       veth("veth-" + c, 4, "02:00:00:00:0c:0" + I, 1450, c, "eth0", "", "ov"),
                       json{{"name", "vx"}, {"kind", "vxlan"}, {"mac", "02:00:00:00:0d:0" + I}, {"mtu", 1450}, {"master", "ov"}}};
        hn["addresses"] = {addr("eth0", "192.0.2.1" + I + "/24")};
        hn["routes"] = {route("192.0.2.0/24", "eth0")};
        hn["bridges"] = {json{{"name", "ov"}, {"mac", "02:00:00:00:0b:0" + I}, {"mtu", 1450},
                              {"ports", {json{{"name", "veth-" + c}, {"mtu", 1450}, {"peer", {{"netns", c}, {"ifname", "eth0"}}}},
                                         json{{"name", "vx"}, {"kind", "vxlan"}, {"mtu", 1450}, {"peer", nullptr}}}}}};
        hn["vteps"] = {json{{"name", "vx"}, {"master", "ov"}, {"vni", 4097}, {"port", 4789}, {"local", "192.0.2.1" + I},
                            {"link_netns", nullptr}, {"mtu", 1450}, {"df", nullptr}}};
        int o = 3 - i;   // the other host
        std::string omac = "02:42:0a:00:00:0" + std::to_string(o + 1);
        hn["peers"] = {{"vx", {json{{"status", "peer"}, {"ip", "10.0.0." + std::to_string(o + 1)}, {"mac", omac},
                                    {"vtep", "192.0.2.1" + std::to_string(o)}, {"fdb_state", "permanent"},
                                    {"neigh_state", "permanent"}}}}};
        n[h] = hn;
        ul["links"].push_back(veth("veth-" + h, 10 + i, "02:00:00:00:02:0" + I, 1500, h, "eth0", "", "ul0"));
        ulbr["ports"].push_back(json{{"name", "veth-" + h}, {"mtu", 1500}, {"peer", {{"netns", h}, {"ifname", "eth0"}}}});
    }
    ul["links"].push_back(json{{"name", "ul0"}, {"kind", "bridge"}, {"mac", "02:00:00:00:00:01"}, {"mtu", 1500}});
    ul["bridges"] = {ulbr};
    n["ul"] = ul;
    return json{{"schema", "ovnet-inspect/1"}, {"host", "n"}, {"time", "t"}, {"netns", n}, {"networks", json::array()}};
}

TraceResult run(const json& snap, const std::string& from, const std::string& proto, const std::string& dst,
                TraceOptions o = {}, uint32_t size = 0) {
    SnapshotWorld w(std::vector<json>{snap});
    TraceStart s;
    s.netns = from;
    if (from == "client") s.kind = "client";
    TracePacket p = TracePacket::parse(proto, dst);
    if (size) p.size = size;
    return trace_packet(w, s, p, o);
}

bool has(const std::string& hay, const std::string& needle) { return hay.find(needle) != std::string::npos; }

}  // namespace

TEST_CASE("trace: c1 to c2 across VXLAN is delivered, hop by hop", "[trace]") {
    auto r = run(three_hosts(), "c1", "tcp", "10.0.0.3:6379");
    REQUIRE(r.paths.size() == 1);
    INFO(r.minimal());
    CHECK(r.delivered());
    std::string m = r.minimal();
    CHECK(has(m, "c1 route out eth0"));
    CHECK(has(m, "c1 neighbor 10.0.0.3: h1 vx neighbor (permanent) => 02:42:0a:00:00:03"));
    CHECK(has(m, "h1 bridge ov: 02:42:0a:00:00:03 -> port vx dst 192.0.2.12"));
    CHECK(has(m, "h1 encap vx: fdb 02:42:0a:00:00:03 dst 192.0.2.12 => VXLAN VNI 4097 192.0.2.11 -> 192.0.2.12 udp/4789, 110 bytes"));
    CHECK(has(m, "ul bridge ul0:"));
    CHECK(has(m, "h2 decap vx: VNI 4097 udp/4789 => into h2 vx"));
    CHECK(has(m, "h2 bridge ov: 02:42:0a:00:00:03 -> port veth-c2 (c2 eth0)"));
    CHECK(has(m, "c2 route local delivery"));
    CHECK(has(m, "c2 socket tcp 10.0.0.3:6379: unknown"));
    CHECK(r.paths[0].hops.back().packet.src.str() == "10.0.0.2");
    json j = r.to_json();
    CHECK(j["schema"] == "ovnet-trace/1");
    CHECK(j["outcome"] == "delivered");
    CHECK(j["code"].is_null());
    std::string dot = r.dot();
    CHECK(dot.rfind("digraph journey {", 0) == 0);
    CHECK(has(dot, "[label=\"encap\\nvx\"]"));
    CHECK(has(dot, "subgraph cluster_"));
    CHECK(has(dot, "label=\"delivered\""));
}

TEST_CASE("trace: each failure is named by its code", "[trace]") {
    SECTION("NO_ROUTE") {
        auto r = run(three_hosts(), "c1", "tcp", "10.9.9.9:80");
        CHECK_FALSE(r.delivered());
        CHECK(r.paths[0].code == "NO_ROUTE");
    }
    SECTION("FDB_MISS: no peer row") {
        json s = three_hosts();
        s["netns"]["h1"]["peers"]["vx"] = json::array();
        auto r = run(s, "c1", "tcp", "10.0.0.3:6379");
        CHECK(r.paths[0].code == "FDB_MISS");
        // a MAC the bridge learned on the VXLAN port is no VXLAN entry: still a miss
        s["netns"]["h1"]["peers"]["vx"] = {json{{"status", "learned"}, {"ip", nullptr}, {"mac", "02:42:0a:00:00:03"}, {"vtep", nullptr},
                                                {"fdb_state", "reachable"}, {"neigh_state", nullptr}}};
        CHECK(run(s, "c1", "tcp", "10.0.0.3:6379").paths[0].code == "FDB_MISS");
    }
    SECTION("FDB_HALF_ENTRY: a neighbor without its fdb entry") {
        json s = three_hosts();
        auto& row = s["netns"]["h1"]["peers"]["vx"][0];
        row["status"] = "neigh-only", row["fdb_state"] = nullptr, row["vtep"] = nullptr;
        auto r = run(s, "c1", "tcp", "10.0.0.3:6379");
        CHECK(r.paths[0].code == "FDB_HALF_ENTRY");
    }
    SECTION("FDB_HALF_ENTRY: an fdb entry without its neighbor") {
        json s = three_hosts();
        auto& row = s["netns"]["h1"]["peers"]["vx"][0];
        row["status"] = "fdb-only", row["neigh_state"] = nullptr, row["ip"] = nullptr;
        auto r = run(s, "c1", "tcp", "10.0.0.3:6379");
        CHECK(r.paths[0].code == "FDB_HALF_ENTRY");
        CHECK(has(r.paths[0].fix, "ovnet-fdb"));
    }
    SECTION("DROP_RULE on the far host's INPUT") {
        json s = three_hosts();
        s["netns"]["h2"]["netfilter"]["rules"] = {rule("filter", "INPUT", 1, "-p udp -m udp --dport 4789 -j DROP")};
        auto r = run(s, "c1", "tcp", "10.0.0.3:6379");
        CHECK(r.paths[0].code == "DROP_RULE");
        CHECK(has(r.paths[0].fix, "iptables -t filter -D INPUT -p udp -m udp --dport 4789 -j DROP"));
    }
    SECTION("POLICY_DROP") {
        json s = three_hosts();
        s["netns"]["c2"]["netfilter"]["chains"] = {json{{"table", "filter"}, {"chain", "INPUT"}, {"policy", "DROP"}, {"packets", 3}, {"bytes", 180}}};
        auto r = run(s, "c1", "tcp", "10.0.0.3:6379");
        CHECK(r.paths[0].code == "POLICY_DROP");
    }
    SECTION("MTU_EXCEEDED with DF") {
        auto r = run(three_hosts(), "c1", "udp", "10.0.0.3:53", {}, 1472);
        CHECK(r.paths[0].code == "MTU_EXCEEDED");
    }
    SECTION("VTEP_UNOWNED") {
        json s = three_hosts();
        s["netns"]["h1"]["peers"]["vx"][0]["vtep"] = "192.0.2.99";
        auto r = run(s, "c1", "tcp", "10.0.0.3:6379");
        CHECK(r.paths[0].code == "VTEP_UNOWNED");
    }
    SECTION("IP_FORWARD_OFF where h1 must route") {
        json s = three_hosts();
        s["netns"]["c1"]["routes"].push_back(json{{"dst", "default"}, {"gateway", "10.0.0.1"}, {"dev", "eth0"}});
        s["netns"]["h1"]["addresses"].push_back(addr("ov", "10.0.0.1/24"));
        s["netns"]["h1"]["routes"].push_back(route("10.0.0.0/24", "ov"));
        CHECK(run(s, "c1", "tcp", "198.51.100.7:443").paths[0].code == "NO_ROUTE");   // h1 has no route on: that first
        s["netns"]["h1"]["routes"].push_back(json{{"dst", "default"}, {"gateway", "192.0.2.12"}, {"dev", "eth0"}});
        auto r = run(s, "c1", "tcp", "198.51.100.7:443");
        CHECK(r.paths[0].code == "IP_FORWARD_OFF");
        s["netns"]["h1"]["sysctls"]["net.ipv4.ip_forward"] = "1";
        auto r2 = run(s, "c1", "tcp", "198.51.100.7:443");
        INFO(r2.minimal());
        CHECK(r2.paths[0].code == "NO_ROUTE");   // h1 forwards; h2 has no route on
        CHECK(r2.paths[0].hops.back().netns == "h2");
    }
    SECTION("XFRM_NO_SA, then ESP with the SA's SPI (Docker's encrypted overlay: the u32 VNI mark)") {
        json s = three_hosts();
        s["netns"]["h1"]["netfilter"]["rules"] = {rule("mangle", "OUTPUT", 1,
            "-p udp -m udp --dport 4789 -m u32 --u32 \"0x0>>0x16&0x3c@0xc&0xffffff00=0x100100\" -j MARK --set-xmark 0xd0c4e3/0xffffffff")};
        json tmpl{{"src", "192.0.2.11"}, {"dst", "192.0.2.12"}, {"proto", "esp"}, {"mode", "transport"}, {"spi", "0x00000000"}, {"reqid", 0}};
        s["netns"]["h1"]["xfrm"] = {{"states", json::array()},
            {"policies", {json{{"dir", "out"}, {"src", "192.0.2.11/32"}, {"dst", "192.0.2.12/32"}, {"proto", 17}, {"sport", 0},
                               {"dport", 4789}, {"mark", "0x00d0c4e3"}, {"mark_mask", "0xffffffff"}, {"priority", 0},
                               {"index", 1}, {"action", "allow"}, {"templates", {tmpl}}}}}};
        auto r = run(s, "c1", "tcp", "10.0.0.3:6379");
        INFO(r.minimal());
        CHECK(r.paths.size() == 1);
        CHECK(r.paths[0].code == "XFRM_NO_SA");
        CHECK(has(r.minimal(), "MARK 0xd0c4e3 (13681891)"));
        s["netns"]["h1"]["xfrm"]["states"] = {json{{"src", "192.0.2.11"}, {"dst", "192.0.2.12"}, {"proto", "esp"}, {"spi", "0x00000101"},
                                                   {"reqid", 0}, {"mode", "transport"}, {"mark", "0x00000000"}, {"mark_mask", "0x00000000"}}};
        auto r2 = run(s, "c1", "tcp", "10.0.0.3:6379");
        INFO(r2.minimal());
        CHECK(r2.delivered());
        CHECK(has(r2.minimal(), "=> ESP SPI 0x00000101 (transport)"));
        // another VNI is not marked: no ESP
        s["netns"]["h1"]["netfilter"]["rules"][0]["spec"] =
            "-p udp -m udp --dport 4789 -m u32 --u32 \"0x0>>0x16&0x3c@0xc&0xffffff00=0x100200\" -j MARK --set-xmark 0xd0c4e3/0xffffffff";
        CHECK_FALSE(has(run(s, "c1", "tcp", "10.0.0.3:6379").minimal(), "ESP"));
        // the receiver's input rules of an encrypted overlay: clear VXLAN of that VNI dropped, the
        // ESP-protected accepted; "-m policy --dir in" is decided by the packet's history, no fork
        s["netns"]["h1"]["netfilter"]["rules"][0]["spec"] =
            "-p udp -m udp --dport 4789 -m u32 --u32 \"0x0>>0x16&0x3c@0xc&0xffffff00=0x100100\" -j MARK --set-xmark 0xd0c4e3/0xffffffff";
        s["netns"]["h2"]["netfilter"]["rules"] = {
            rule("filter", "INPUT", 1, "-p udp -m policy --dir in --pol none -m udp --dport 4789 -m u32 --u32 "
                                       "\"0x0>>0x16&0x3c@0xc&0xffffff00=0x100100\" -j DROP"),
            rule("filter", "INPUT", 2, "-p udp -m policy --dir in --pol ipsec -m udp --dport 4789 -m u32 --u32 "
                                       "\"0x0>>0x16&0x3c@0xc&0xffffff00=0x100100\" -j ACCEPT")};
        auto r3 = run(s, "c1", "tcp", "10.0.0.3:6379");
        INFO(r3.minimal());
        CHECK(r3.paths.size() == 1);
        CHECK(r3.delivered());
        CHECK(r3.paths[0].assumptions.empty());
        CHECK(has(r3.minimal(), "--pol ipsec"));
        // without the SA's mark the packet goes in clear: the receiver drops it
        s["netns"]["h1"]["netfilter"]["rules"] = json::array();
        auto r4 = run(s, "c1", "tcp", "10.0.0.3:6379");
        INFO(r4.minimal());
        CHECK(r4.paths.size() == 1);
        CHECK(r4.paths[0].code == "DROP_RULE");
        CHECK(has(r4.paths[0].reason, "--pol none"));
    }
    SECTION("an unmodelled match forks the trace") {
        json s = three_hosts();
        s["netns"]["c2"]["netfilter"]["rules"] = {rule("filter", "INPUT", 1, "-m recent --rcheck --seconds 60 --name x -j DROP")};
        auto r = run(s, "c1", "tcp", "10.0.0.3:6379");
        REQUIRE(r.paths.size() == 2);
        CHECK(r.paths[0].code == "DROP_RULE");
        CHECK(has(r.paths[0].assumptions.at(0), "-m recent"));
        CHECK(r.paths[1].outcome == "delivered");
        CHECK(has(r.paths[1].assumptions.at(0), "taken as not matching"));
        CHECK_FALSE(r.delivered());
    }
}

TEST_CASE("trace: a snapshot read for the tracer walks as the whole document does", "[trace]") {
    std::vector<json> snaps;
    snaps.push_back(three_hosts());
    json big = three_hosts();
    for (int i = 0; i < 1000; i++) {
        std::string ip = "10.1." + std::to_string(i / 250) + "." + std::to_string(i % 250 + 1);
        big["netns"]["h1"]["peers"]["vx"].push_back(json{{"status", "peer"}, {"ip", ip}, {"mac", docker_mac(IpAddr::parse(ip)).str()},
                                                         {"vtep", "192.0.2.99"}, {"fdb_state", "permanent"}, {"neigh_state", "permanent"},
                                                         {"flags", {"self"}}, {"link_netnsid", nullptr}});
    }
    big["networks"] = {json{{"bridge", "ov"}}};
    big["netns"]["h1"]["netfilter"]["text"] = {{"iptables-nft-save", "*filter\nCOMMIT\n"}};
    big["netns"]["h1"]["interfaces"] = {json{{"name", "eth0"}}};
    snaps.push_back(big);
    json half = big;
    auto& row = half["netns"]["h1"]["peers"]["vx"][0];
    row["status"] = "fdb-only", row["neigh_state"] = nullptr, row["ip"] = nullptr;
    snaps.push_back(half);
    half = big;
    auto& row2 = half["netns"]["h1"]["peers"]["vx"][0];
    row2["status"] = "neigh-only", row2["fdb_state"] = nullptr, row2["vtep"] = nullptr;
    snaps.push_back(half);
    json moved = big;
    moved["netns"]["h1"]["peers"]["vx"][0]["vtep"] = "192.0.2.99";
    snaps.push_back(moved);
    for (auto& snap : snaps) {
        json read = trace_snapshot_read(snap.dump());
        CHECK(read["networks"] == json::array());
        CHECK(read["netns"]["h1"]["netfilter"].value("text", json::object()) == json::object());
        CHECK(read["netns"]["h1"].value("interfaces", json::array()) == json::array());
        CHECK(read["netns"]["h1"]["peers"]["vx"][0].is_string());
        CHECK(read["netns"]["h1"]["links"] == snap["netns"]["h1"]["links"]);
        CHECK(read["netns"]["h1"]["netfilter"]["rules"] == snap["netns"]["h1"]["netfilter"]["rules"]);
        for (auto* dst : {"10.0.0.3:6379", "10.1.0.7:80"}) {
            auto whole = run(snap, "c1", "tcp", dst).to_json();
            auto fast = run(read, "c1", "tcp", dst).to_json();
            INFO(snap["netns"]["h1"]["peers"]["vx"][0].dump() << " " << dst);
            CHECK(fast == whole);
        }
    }
    // text the fast reader gives up on (a \u escape) is read whole
    json esc = three_hosts();
    esc["host"] = "n\u00e9";
    CHECK(trace_snapshot_read(esc.dump())["netns"]["h1"]["peers"]["vx"][0].is_object());
    CHECK(run(trace_snapshot_read(esc.dump()), "c1", "tcp", "10.0.0.3:6379").to_json() == run(esc, "c1", "tcp", "10.0.0.3:6379").to_json());
}

TEST_CASE("trace: bad input", "[trace]") {
    require_input_error([] { TracePacket::parse("icmp", "10.0.0.3:80"); }, "icmp has no ports");
    require_input_error([] { TracePacket::parse("tcp", "10.0.0.3"); }, "needs ADDR:PORT");
    require_input_error([] { TracePacket::parse("tcp", "10.0.0.300:80"); }, "not an address");
    require_input_error([] { TracePacket::parse("tcp", "10.0.0.3:70000"); }, "1..65535");
    require_input_error([] { TracePacket::parse("gre", "10.0.0.3"); }, "tcp, udp or icmp");
    require_input_error([] { run(three_hosts(), "nosuch", "tcp", "10.0.0.3:1"); }, "no such sandbox");
}

namespace {
std::string fixture(const std::string& f) {
    std::ifstream in(std::string(OVNET_FIXTURES_DIR) + "/docker-node/" + f);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}
}  // namespace

TEST_CASE("trace: the routing mesh on a real Docker node's rules", "[trace]") {
    // The host's and ingress_sbox's iptables-save of tests/fixtures/docker-node, with the
    // addresses and IPVS service that node had (FWM 257 over 10.0.0.4 and 10.0.0.5).
    json host = ns("root");
    host["netfilter"] = schema::to_dom(Netfilter::parse({{"iptables-nft-save", fixture("host.iptables-save")}}));
    host["sysctls"]["net.ipv4.ip_forward"] = "1";
    host["links"] = {json{{"name", "eth0"}, {"kind", ""}, {"mtu", 1500}, {"mac", "02:00:00:00:00:11"}},
                     json{{"name", "docker_gwbridge"}, {"kind", "bridge"}, {"mtu", 1500}, {"mac", "02:00:00:00:00:12"}},
                     veth("vethgw", 5, "02:00:00:00:00:13", 1500, "ingress_sbox", "eth1", "", "docker_gwbridge")};
    host["addresses"] = {addr("eth0", "192.0.2.11/24"), addr("docker_gwbridge", "172.18.0.1/16")};
    host["routes"] = {route("192.0.2.0/24", "eth0"), route("172.18.0.0/16", "docker_gwbridge")};
    host["bridges"] = {json{{"name", "docker_gwbridge"}, {"mac", "02:00:00:00:00:12"}, {"mtu", 1500},
                            {"ports", {json{{"name", "vethgw"}, {"mtu", 1500}, {"peer", {{"netns", "ingress_sbox"}, {"ifname", "eth1"}}}}}}}};
    json sb = ns("ingress_sbox");
    sb["netfilter"] = schema::to_dom(Netfilter::parse({{"iptables-nft-save", fixture("ingress_sbox.iptables-save")}}));
    sb["links"] = {json{{"name", "lo"}, {"kind", "loopback"}, {"mtu", 65536}},
                   json{{"name", "eth0"}, {"kind", "veth"}, {"mtu", 1450}, {"mac", "02:42:0a:00:00:02"}, {"peer", nullptr}},
                   veth("eth1", 7, "02:42:ac:12:00:02", 1500, "root", "vethgw", "docker_gwbridge")};
    sb["addresses"] = {addr("eth0", "10.0.0.2/24"), addr("eth1", "172.18.0.2/16")};
    sb["routes"] = {route("10.0.0.0/24", "eth0"), route("172.18.0.0/16", "eth1")};
    sb["ipvs"] = {json{{"key", "fwm 257"}, {"fwmark", 257}, {"protocol", nullptr}, {"scheduler", "rr"},
                       {"dests", {json{{"address", "10.0.0.4"}, {"port", 0}, {"weight", 1}, {"forward", "masq"}},
                                  json{{"address", "10.0.0.5"}, {"port", 0}, {"weight", 1}, {"forward", "masq"}}}}}};
    json snap{{"schema", "ovnet-inspect/1"}, {"host", "n1"}, {"time", "t"},
              {"netns", {{"root", host}, {"ingress_sbox", sb}}}, {"networks", json::array()}};

    auto r = run(snap, "client", "tcp", "192.0.2.11:30000");
    INFO(r.minimal());
    REQUIRE(r.paths.size() == 2);   // rr: one path per candidate
    std::string m = r.minimal();
    CHECK(has(m, "root netfilter nat DOCKER-INGRESS: -A DOCKER-INGRESS -p tcp -m tcp --dport 30000 -j DNAT --to-destination 172.18.0.2:30000 => DNAT to 172.18.0.2:30000"));
    CHECK(has(m, "ingress_sbox netfilter mangle PREROUTING: -A PREROUTING -p tcp -m tcp --dport 30000 -j MARK --set-xmark 0x101/0xffffffff => MARK 0x101 (257)"));
    CHECK(has(m, "ingress_sbox ipvs fwm 257: rr [10.0.0.4:0 w1, 10.0.0.5:0 w1] => to 10.0.0.4 (masq)"));
    CHECK(has(m, "ingress_sbox ipvs fwm 257: rr [10.0.0.4:0 w1, 10.0.0.5:0 w1] => to 10.0.0.5 (masq)"));
    CHECK(has(m, "-A POSTROUTING -d 10.0.0.0/24 -m ipvs --ipvs -j SNAT --to-source 10.0.0.2 => SNAT to 10.0.0.2"));
    // every forked path names where its assumption was made (the last one too)
    for (auto& p : r.paths) CHECK(p.assumptions.at(0).rfind("ingress_sbox: IPVS fwm 257 (rr) picks 10.0.0.", 0) == 0);
    // the host's FORWARD policy is DROP; the fixture's filter DOCKER-INGRESS accepts the port
    CHECK(r.paths[0].outcome != "dropped");

    TraceOptions o;
    o.lb_dst = IpAddr::parse("10.0.0.5");
    auto r2 = run(snap, "client", "tcp", "192.0.2.11:30000", o);
    REQUIRE(r2.paths.size() == 1);
    CHECK(r2.paths[0].hops.back().packet.dst.str() == "10.0.0.5");
    CHECK(r2.paths[0].hops.back().packet.src.str() == "10.0.0.2");

    SECTION("FWM_WITHOUT_IPVS and IPVS_NO_LIVE_DEST") {
        json s2 = snap;
        s2["netns"]["ingress_sbox"]["ipvs"] = json::array();
        CHECK(run(s2, "client", "tcp", "192.0.2.11:30000").paths[0].code == "FWM_WITHOUT_IPVS");
        json s3 = snap;
        for (auto& d : s3["netns"]["ingress_sbox"]["ipvs"][0]["dests"]) d["weight"] = 0;
        CHECK(run(s3, "client", "tcp", "192.0.2.11:30000").paths[0].code == "IPVS_NO_LIVE_DEST");
    }
    SECTION("NO_DNAT for a port nothing publishes") {
        auto r3 = run(snap, "client", "tcp", "192.0.2.11:30001");
        CHECK(r3.paths[0].code == "NO_DNAT");
    }
}

TEST_CASE("trace: Docker's layout, the VXLAN socket in another namespace than the device", "[trace]") {
    // h2's bridge, VTEP and c2's host end live in "o2" (Docker's 1-<id>); the VTEP's UDP socket is
    // in h2 (link_netns), where the outer packet arrives.
    json s = three_hosts();
    json& h2 = s["netns"]["h2"];
    json o2 = ns("o2");
    for (auto it = h2["links"].begin(); it != h2["links"].end();) {
        if ((*it)["name"] != "eth0") o2["links"].push_back(*it), it = h2["links"].erase(it);
        else ++it;
    }
    o2["bridges"] = h2["bridges"];
    o2["vteps"] = h2["vteps"];
    o2["vteps"][0]["link_netns"] = "h2";
    o2["vteps"][0]["local"] = nullptr;
    o2["peers"] = h2["peers"];
    h2["bridges"] = json::array(), h2["vteps"] = json::array(), h2["peers"] = json::object();
    s["netns"]["c2"]["links"][1]["peer"]["netns"] = "o2";
    s["netns"]["o2"] = o2;
    auto r = run(s, "c1", "tcp", "10.0.0.3:6379");
    INFO(r.minimal());
    CHECK(r.delivered());
    CHECK(has(r.minimal(), "h2 decap vx: VNI 4097 udp/4789 => into o2 vx"));
    CHECK(has(r.minimal(), "o2 bridge ov: 02:42:0a:00:00:03 -> port veth-c2 (c2 eth0)"));

    // another VNI on the far side: no device takes it
    s["netns"]["o2"]["vteps"][0]["vni"] = 4098;
    auto r2 = run(s, "c1", "tcp", "10.0.0.3:6379");
    CHECK(r2.paths[0].code == "NO_LISTENER");
    CHECK(has(r2.paths[0].reason, "no VXLAN device for VNI 4097"));
}

TEST_CASE("trace: a packet arriving on an interface (--iif)", "[trace]") {
    SnapshotWorld w(std::vector<json>{three_hosts()});
    TraceStart st;
    st.kind = "netns", st.netns = "h2", st.iif = "eth0";
    TracePacket p = TracePacket::parse("tcp", "10.0.0.3:80");
    require_input_error([&] { trace_packet(w, st, p); }, "needs --src");
    p.src = IpAddr::parse("192.0.2.11");
    auto r = trace_packet(w, st, p);
    CHECK(r.paths[0].code == "NO_ROUTE");
    CHECK(r.paths[0].hops.front().netns == "h2");
    st.iif = "nosuch0";
    require_input_error([&] { trace_packet(w, st, p); }, "no such interface");
}
