// audit (ovnet-audit): a synthetic three-node cluster (the README's three hosts, as ovnet-inspect
// writes them) audits clean; each fault alone gives its code with severity, nodes, objects and the
// fix, and for the fdb and MTU faults the state the fix converges to audits clean again. Bad input
// (foreign, truncated, wrong schema, none, a host twice) is Error(Input), one line.
#include "helpers.hpp"

#include <set>

#include "ovnet/audit.hpp"

using namespace ovnet;
using namespace ovnet_test;

namespace {

const char* BR = "ov-001001-7672d";
const char* VX = "vx-001001-7672d";

std::string h(int i) { return "h" + std::to_string(i); }
std::string ul(int i) { return "192.0.2.1" + std::to_string(i); }
std::string ip(int i) { return "10.0.0." + std::to_string(i + 1); }
std::string mac(int i) { return "02:42:0a:00:00:0" + std::to_string(i + 1); }

json peer_row(int j) {
    return {{"status", "peer"}, {"ip", ip(j)}, {"mac", mac(j)}, {"vtep", ul(j)}, {"fdb_state", "permanent"},
            {"neigh_state", "permanent"}, {"flags", json::array({"self"})}, {"link_netnsid", nullptr}};
}

// Node i of the three hosts: namespace hI (underlay eth0 192.0.2.1I, bridge, VTEP, the peers of
// the two other containers) and container cI (10.0.0.I+1, Docker's MAC).
json node(int i) {
    json vtep = {{"netns", h(i)}, {"name", VX}, {"kind", "vxlan"}, {"ifindex", 4}, {"mac", "ca:fe:00:00:00:0" + std::to_string(i)},
                 {"mtu", 1450}, {"state", "up"}, {"master", BR}, {"vni", 4097}, {"port", 4789}, {"local", ul(i)},
                 {"dev", ""}, {"learning", false}, {"proxy", true}, {"l2miss", true}, {"l3miss", true}, {"ttl", 0},
                 {"ageing", 300}, {"udp_csum", false}, {"link_netns", ""}};
    json peers = json::array();
    for (int j = 1; j <= 3; j++)
        if (j != i) peers.push_back(peer_row(j));
    json host = {{"label", h(i)}, {"name", h(i)}, {"path", "/run/netns/" + h(i)}, {"source", "netns"}, {"container", nullptr},
                 {"links", json::array({{{"name", "lo"}, {"mtu", 65536}, {"kind", ""}},
                                        {{"name", "eth0"}, {"mtu", 1500}, {"kind", "veth"}},
                                        {{"name", BR}, {"mtu", 1450}, {"kind", "bridge"}},
                                        {{"name", VX}, {"mtu", 1450}, {"kind", "vxlan"}},
                                        {{"name", "veth" + std::to_string(i)}, {"mtu", 1450}, {"kind", "veth"}}})},
                 {"bridges", json::array({{{"netns", h(i)}, {"name", BR}, {"mtu", 1450}, {"ports", json::array()}}})},
                 {"vteps", json::array({vtep})},
                 {"interfaces", json::array()},
                 {"addresses", json::array({{{"ifname", "eth0"}, {"ifindex", 2}, {"address", ul(i) + "/24"}, {"scope", "global"}}})},
                 {"routes", json::array()},
                 {"peers", {{VX, peers}}},
                 {"ipvs", nullptr}, {"ipvs_error", "no IPVS"}, {"netfilter", nullptr}, {"netfilter_error", "none"},
                 {"xfrm", nullptr}, {"xfrm_error", "none"}, {"sysctls", {{"net.ipv4.ip_forward", "1"}}},
                 {"lb_services", json::array()}, {"published", json::array()}};
    json cont = {{"label", "c" + std::to_string(i)}, {"name", "c" + std::to_string(i)}, {"path", ""}, {"source", "netns"},
                 {"container", nullptr},
                 {"links", json::array({{{"name", "lo"}, {"mtu", 65536}}, {{"name", "eth0"}, {"mtu", 1450}}})},
                 {"addresses", json::array({{{"ifname", "eth0"}, {"address", ip(i) + "/24"}}})},
                 {"peers", json::object()}, {"ipvs", nullptr}, {"netfilter", nullptr}, {"xfrm", nullptr},
                 {"sysctls", json::object()}, {"lb_services", json::array()}, {"published", json::array()}};
    json ep = {{"sandbox", "c" + std::to_string(i)}, {"container", nullptr}, {"ifname", "eth0"},
               {"host_ifname", "veth" + std::to_string(i)}, {"mac", mac(i)}, {"addresses", json::array({ip(i) + "/24"})}};
    json net = {{"id", "7672d"}, {"netns", h(i)}, {"bridge", BR}, {"vtep", VX}, {"vni", 4097}, {"mtu", 1450}, {"port", 4789},
                {"local", ul(i)}, {"encrypted", false}, {"subnets", json::array({"10.0.0.0/24"})},
                {"endpoints", json::array({ep})}, {"peers", peers}, {"peer_hosts", json::array()},
                {"services", json::array()}, {"published", json::array()}};
    return {{"schema", "ovnet-inspect/1"}, {"host", h(i)}, {"time", "2026-11-26T00:00:00Z"},
            {"netns", {{h(i), host}, {"c" + std::to_string(i), cont}}}, {"networks", json::array({net})}};
}

struct Cluster {
    json n[4];   // n[1..3]
    Cluster() {
        for (int i = 1; i <= 3; i++) n[i] = node(i);
    }
    json& peers(int i) { return n[i]["netns"][h(i)]["peers"][VX]; }
    json& vtep(int i) { return n[i]["netns"][h(i)]["vteps"][0]; }
    json& endpoint(int i) { return n[i]["networks"][0]["endpoints"][0]; }
    std::string text() const {
        std::string s;
        for (int i = 1; i <= 3; i++) s += n[i].dump() + "\n";
        return s;
    }
    AuditReport audit() const {
        AuditReader r;
        r.read(text(), "test");
        return ovnet::audit(r.finish());
    }
    // The state the fixes of `rep` converge to, as far as the snapshot shows it: ovnet-fdb apply
    // --prune (the set's peers, every other permanent or half row gone; learned rows of MACs the
    // set names replaced), ovnet-fdb del, ovnet-vtep apply (mtu), ovnet-bridge add --mtu,
    // ovnet-sbox connect (Docker's MAC, --mtu).
    void converge(const AuditReport& rep) {
        for (auto& f : rep.findings) {
            REQUIRE(f.fix);
            for (auto& x : *f.fix) {
                int i = x.node[1] - '0';
                if (x.command.find("ovnet-fdb -n " + h(i) + " apply -d ") == 0) {
                    CHECK(x.command.find("--prune") != std::string::npos);
                    json rows = json::array();
                    std::set<std::string> named;
                    for (auto& p : x.input) {
                        json r = {{"status", "peer"}, {"ip", p["ip"]}, {"mac", p["mac"]}, {"vtep", p["vtep"]},
                                  {"fdb_state", "permanent"}, {"neigh_state", "permanent"}, {"flags", json::array({"self"})},
                                  {"link_netnsid", nullptr}};
                        rows.push_back(r);
                        named.insert(p["mac"].get<std::string>());
                    }
                    for (auto& p : peers(i))   // learned rows of other MACs stay
                        if (p["status"] == "learned" && !named.count(p["mac"].get<std::string>())) rows.push_back(p);
                    peers(i) = rows;
                } else if (x.command.find("ovnet-fdb -n " + h(i) + " del ") == 0) {
                    auto m = x.command.substr(x.command.find("--mac ") + 6, 17);
                    json rows = json::array();
                    for (auto& p : peers(i))
                        if (p["mac"] != m) rows.push_back(p);
                    peers(i) = rows;
                } else if (x.command == "ovnet-vtep -n " + h(i) + " apply") {
                    vtep(i)["mtu"] = x.input[0]["mtu"];
                } else if (x.command.find("ovnet-bridge -n " + h(i) + " add ") == 0) {
                    auto mtu = std::stoi(x.command.substr(x.command.find("--mtu ") + 6));
                    n[i]["netns"][h(i)]["bridges"][0]["mtu"] = mtu;
                    n[i]["networks"][0]["mtu"] = mtu;
                } else if (x.command.find("ovnet-sbox -n " + h(i) + " connect c") == 0) {
                    endpoint(i)["mac"] = mac(i);
                    if (auto p = x.command.find("--mtu "); p != std::string::npos)
                        n[i]["netns"]["c" + std::to_string(i)]["links"][1]["mtu"] = std::stoi(x.command.substr(p + 6));
                } else {
                    FAIL("unexpected fix command: " << x.command);
                }
            }
        }
    }
};

// The one finding of a report, with its code.
const AuditFinding& only(const AuditReport& r, const std::string& code) {
    INFO(r.to_json().dump(2));
    REQUIRE(r.findings.size() == 1);
    CHECK(r.findings[0].code == code);
    return r.findings[0];
}

std::vector<std::string> codes(const AuditReport& r) {
    std::vector<std::string> c;
    for (auto& f : r.findings) c.push_back(f.code);
    return c;
}

void check_fixed(Cluster& c, const AuditReport& r) {
    c.converge(r);
    auto again = c.audit();
    INFO(again.to_json().dump(2));
    CHECK(again.findings.empty());
}

using V = std::vector<std::string>;

}  // namespace

TEST_CASE("audit: a clean cluster has no findings") {
    Cluster c;
    auto r = c.audit();
    CHECK(r.findings.empty());
    CHECK(r.nodes == V{"h1", "h2", "h3"});
    REQUIRE(r.networks.size() == 1);
    CHECK(r.networks[0].key == "7672d");
    CHECK(r.networks[0].vni == 4097);
    CHECK(r.networks[0].nodes == V{"h1", "h2", "h3"});
    auto j = r.to_json();
    CHECK(j["schema"] == "ovnet-audit/1");
    CHECK(j["summary"] == json({{"error", 0}, {"warning", 0}, {"info", 0}}));
    CHECK(audit_fix_script(r) == "#!/bin/sh\n# ovnet-audit --fix: run each node's part on that node\n");
}

TEST_CASE("audit: PEER_MISSING") {
    Cluster c;
    c.peers(1).erase(1);   // h1 loses h3's container
    auto r = c.audit();
    auto& f = only(r, "PEER_MISSING");
    CHECK(f.severity == Severity::Error);
    CHECK(f.network == "7672d");
    CHECK(f.nodes == V{"h1", "h3"});
    CHECK(f.objects == V{"h1:vx-001001-7672d peer 02:42:0a:00:00:04"});
    CHECK(f.evidence["h3"][0]["sandbox"] == "c3");
    REQUIRE(f.fix);
    REQUIRE(f.fix->size() == 1);
    CHECK((*f.fix)[0].node == "h1");
    CHECK((*f.fix)[0].command == "ovnet-fdb -n h1 apply -d vx-001001-7672d --prune");
    CHECK((*f.fix)[0].input == json::parse(R"([{"ip":"10.0.0.3","mac":"02:42:0a:00:00:03","vtep":"192.0.2.12"},
                                                {"ip":"10.0.0.4","mac":"02:42:0a:00:00:04","vtep":"192.0.2.13"}])"));
    check_fixed(c, r);
}

TEST_CASE("audit: PEER_WRONG_VTEP") {
    Cluster c;
    c.peers(2)[1]["vtep"] = "192.0.2.99";
    auto r = c.audit();
    auto& f = only(r, "PEER_WRONG_VTEP");
    CHECK(f.severity == Severity::Error);
    CHECK(f.nodes == V{"h2"});
    CHECK(f.objects == V{"h2:vx-001001-7672d peer 02:42:0a:00:00:04"});
    CHECK(f.evidence["h2"][0]["vtep"] == "192.0.2.99");
    CHECK((*f.fix)[0].command == "ovnet-fdb -n h2 apply -d vx-001001-7672d --prune");
    check_fixed(c, r);
}

TEST_CASE("audit: PEER_WRONG_MAC") {
    Cluster c;
    c.peers(3)[0]["mac"] = "02:42:0a:00:00:99";   // 10.0.0.2 -> a MAC nobody has
    auto r = c.audit();
    auto& f = only(r, "PEER_WRONG_MAC");
    CHECK(f.severity == Severity::Error);
    CHECK(f.nodes == V{"h3"});
    CHECK(f.objects == V{"h3:vx-001001-7672d peer 02:42:0a:00:00:02"});
    CHECK(f.evidence["h3"][0]["mac"] == "02:42:0a:00:00:99");
    CHECK((*f.fix)[0].command == "ovnet-fdb -n h3 apply -d vx-001001-7672d --prune");
    check_fixed(c, r);
}

TEST_CASE("audit: PEER_STALE") {
    Cluster c;
    json stale = peer_row(3);
    stale["ip"] = "10.0.0.9";
    stale["mac"] = "02:42:0a:00:00:09";
    c.peers(1).push_back(stale);
    auto r = c.audit();
    auto& f = only(r, "PEER_STALE");
    CHECK(f.severity == Severity::Warning);
    CHECK(f.nodes == V{"h1"});
    CHECK(f.objects == V{"h1:vx-001001-7672d peer 02:42:0a:00:00:09"});
    CHECK((*f.fix)[0].command == "ovnet-fdb -n h1 apply -d vx-001001-7672d --prune");
    check_fixed(c, r);
}

TEST_CASE("audit: PEER_STALE of a learned entry is removed with del") {
    Cluster c;
    json l = {{"status", "learned"}, {"ip", nullptr}, {"mac", "02:42:0a:00:00:09"}, {"vtep", "192.0.2.13"},
              {"fdb_state", "reachable"}, {"neigh_state", nullptr}, {"flags", json::array({"self"})}, {"link_netnsid", nullptr}};
    c.peers(1).push_back(l);
    auto r = c.audit();
    auto& f = only(r, "PEER_STALE");
    CHECK((*f.fix)[0].command == "ovnet-fdb -n h1 del -d vx-001001-7672d --mac 02:42:0a:00:00:09 --vtep 192.0.2.13");
    CHECK((*f.fix)[0].input.is_null());
    check_fixed(c, r);
}

TEST_CASE("audit: PEER_DUP") {
    Cluster c;
    json twin = peer_row(2);
    twin["vtep"] = "192.0.2.13";
    twin["ip"] = nullptr;
    twin["status"] = "fdb-only";
    c.peers(1).push_back(twin);   // a second remote for c2's MAC
    auto r = c.audit();
    auto& f = only(r, "PEER_DUP");
    CHECK(f.severity == Severity::Error);
    CHECK(f.objects == V{"h1:vx-001001-7672d peer 02:42:0a:00:00:03"});
    CHECK(f.evidence["h1"].size() == 2);
    check_fixed(c, r);
}

TEST_CASE("audit: FDB_HALF_ENTRY") {
    Cluster c;
    auto& p = c.peers(2)[0];   // h2's peer c1: the neighbor is gone
    p["status"] = "fdb-only";
    p["ip"] = nullptr;
    p["neigh_state"] = nullptr;
    auto r = c.audit();
    auto& f = only(r, "FDB_HALF_ENTRY");
    CHECK(f.severity == Severity::Error);
    CHECK(f.nodes == V{"h2"});
    CHECK(f.objects == V{"h2:vx-001001-7672d peer 02:42:0a:00:00:02"});
    CHECK((*f.fix)[0].command == "ovnet-fdb -n h2 apply -d vx-001001-7672d --prune");
    check_fixed(c, r);
}

TEST_CASE("audit: LEARNED_SHADOWS_PERMANENT") {
    Cluster c;
    auto& p = c.peers(3)[1];   // h3's peer c2 became a learned entry
    p["status"] = "learned";
    p["fdb_state"] = "reachable";
    auto r = c.audit();
    auto& f = only(r, "LEARNED_SHADOWS_PERMANENT");
    CHECK(f.severity == Severity::Warning);
    CHECK(f.nodes == V{"h3"});
    CHECK(f.objects == V{"h3:vx-001001-7672d peer 02:42:0a:00:00:03"});
    CHECK((*f.fix)[0].command == "ovnet-fdb -n h3 apply -d vx-001001-7672d --prune");
    check_fixed(c, r);
}

TEST_CASE("audit: MAC_NOT_0242_IP alone when the peers still hold Docker's MAC") {
    Cluster c;
    c.endpoint(1)["mac"] = "02:42:0a:00:00:99";
    auto r = c.audit();
    auto& f = only(r, "MAC_NOT_0242_IP");
    CHECK(f.severity == Severity::Warning);
    CHECK(f.nodes == V{"h1"});
    CHECK(f.objects == V{"h1:ov-001001-7672d endpoint c1 eth0"});
    CHECK(f.evidence["h1"][0]["mac"] == "02:42:0a:00:00:99");
    REQUIRE(f.fix);
    CHECK((*f.fix)[0].command ==
          "ovnet-sbox -n h1 connect c1 --bridge ov-001001-7672d --ip 10.0.0.2/24 --host-ifname veth1");
    check_fixed(c, r);
}

TEST_CASE("audit: MAC_NOT_0242_IP with PEER_WRONG_MAC where the peers took the wrong MAC") {
    Cluster c;
    c.endpoint(1)["mac"] = "02:42:0a:00:00:99";
    for (int i : {2, 3}) c.peers(i)[0]["mac"] = "02:42:0a:00:00:99";
    auto r = c.audit();
    CHECK(codes(r) == V{"MAC_NOT_0242_IP", "PEER_WRONG_MAC", "PEER_WRONG_MAC"});
    CHECK(r.findings[1].nodes == V{"h2"});
    CHECK(r.findings[2].nodes == V{"h3"});
    check_fixed(c, r);
}

TEST_CASE("audit: DUP_ENDPOINT_IP") {
    Cluster c;
    c.endpoint(3)["addresses"] = json::array({"10.0.0.2/24"});
    c.endpoint(3)["mac"] = "02:42:0a:00:00:02";
    auto r = c.audit();
    INFO(r.to_json().dump(2));
    REQUIRE(!r.findings.empty());
    auto& f = r.findings[0];
    CHECK(f.code == "DUP_ENDPOINT_IP");
    CHECK(f.severity == Severity::Error);
    CHECK(f.nodes == V{"h1", "h3"});
    CHECK(f.objects == V{"h1:ov-001001-7672d endpoint c1 eth0", "h3:ov-001001-7672d endpoint c3 eth0"});
    CHECK(!f.fix);
    CHECK(f.message.find("disconnect") != std::string::npos);
    // The peers of the old c3 (10.0.0.4) are now stale; those of 10.0.0.2 are left alone.
    for (size_t i = 1; i < r.findings.size(); i++) CHECK(r.findings[i].code == "PEER_STALE");
}

TEST_CASE("audit: DUP_ENDPOINT_MAC") {
    Cluster c;
    // Two IPv6-only endpoints (no Docker MAC rule) with one MAC.
    for (int i : {1, 2}) {
        c.endpoint(i)["addresses"] = json::array({"fd00::" + std::to_string(i) + "/64"});
        c.endpoint(i)["mac"] = "02:00:00:00:00:01";
    }
    for (int i = 1; i <= 3; i++) c.peers(i) = json::array();
    auto r = c.audit();
    INFO(r.to_json().dump(2));
    REQUIRE(!r.findings.empty());
    auto& f = r.findings[0];
    CHECK(f.code == "DUP_ENDPOINT_MAC");
    CHECK(f.nodes == V{"h1", "h2"});
    CHECK(!f.fix);
}

TEST_CASE("audit: VNI_MISMATCH") {
    Cluster c;
    c.n[2]["networks"][0]["vni"] = 4098;
    c.vtep(2)["vni"] = 4098;
    auto r = c.audit();
    auto& f = only(r, "VNI_MISMATCH");
    CHECK(f.severity == Severity::Error);
    CHECK(f.nodes == V{"h2", "h1", "h3"});
    CHECK(f.objects == V{"h2:vx-001001-7672d"});
    CHECK(!f.fix);
    CHECK(f.message.find("4098") != std::string::npos);
    CHECK(f.message.find("--vni 4097") != std::string::npos);
}

TEST_CASE("audit: PORT_MISMATCH") {
    Cluster c;
    c.n[3]["networks"][0]["port"] = 8472;
    auto r = c.audit();
    auto& f = only(r, "PORT_MISMATCH");
    CHECK(f.nodes == V{"h3", "h1", "h2"});
    CHECK(!f.fix);
}

TEST_CASE("audit: MTU_TOO_LARGE and not also MTU_MISMATCH") {
    Cluster c;
    c.vtep(2)["mtu"] = 1500;
    auto r = c.audit();
    auto& f = only(r, "MTU_TOO_LARGE");
    CHECK(f.severity == Severity::Error);
    CHECK(f.nodes == V{"h2"});
    CHECK(f.objects == V{"h2:vx-001001-7672d"});
    REQUIRE(f.fix);
    CHECK((*f.fix)[0].command == "ovnet-vtep -n h2 apply");
    CHECK((*f.fix)[0].input[0]["mtu"] == 1450);
    CHECK((*f.fix)[0].input[0]["name"] == VX);
    CHECK(!(*f.fix)[0].input[0].contains("netns"));
    check_fixed(c, r);
}

TEST_CASE("audit: MTU_TOO_LARGE of an endpoint") {
    Cluster c;
    c.n[1]["netns"]["c1"]["links"][1]["mtu"] = 1500;
    auto r = c.audit();
    auto& f = only(r, "MTU_TOO_LARGE");
    CHECK(f.objects == V{"h1:ov-001001-7672d endpoint c1 eth0"});
    CHECK((*f.fix)[0].command ==
          "ovnet-sbox -n h1 connect c1 --bridge ov-001001-7672d --ip 10.0.0.2/24 --host-ifname veth1 --mtu 1450");
    check_fixed(c, r);
}

TEST_CASE("audit: MTU_TOO_LARGE limit of an encrypted overlay is 1424") {
    Cluster c;
    for (int i = 1; i <= 3; i++) c.n[i]["networks"][0]["encrypted"] = true;
    auto r = c.audit();
    CHECK(codes(r) == V{"MTU_TOO_LARGE", "MTU_TOO_LARGE", "MTU_TOO_LARGE", "MTU_TOO_LARGE", "MTU_TOO_LARGE",
                        "MTU_TOO_LARGE", "MTU_TOO_LARGE", "MTU_TOO_LARGE", "MTU_TOO_LARGE"});
    CHECK(r.findings[0].message.find("1424") != std::string::npos);
}

TEST_CASE("audit: MTU_MISMATCH") {
    Cluster c;
    c.n[3]["netns"]["h3"]["bridges"][0]["mtu"] = 1400;
    c.n[3]["networks"][0]["mtu"] = 1400;
    auto r = c.audit();
    auto& f = only(r, "MTU_MISMATCH");
    CHECK(f.severity == Severity::Warning);
    CHECK(f.nodes == V{"h3", "h1", "h2"});
    CHECK(f.objects == V{"h3:ov-001001-7672d"});
    CHECK((*f.fix)[0].command == "ovnet-bridge -n h3 add ov-001001-7672d --mtu 1450");
    check_fixed(c, r);
}

TEST_CASE("audit: fix script per node with quoted heredocs and --node") {
    Cluster c;
    c.peers(1).erase(1);
    c.vtep(2)["mtu"] = 1500;
    auto r = c.audit();
    auto s = audit_fix_script(r);
    CHECK(s.find("# node h1\novnet-fdb -n h1 apply -d vx-001001-7672d --prune <<'EOF'\n[{\"ip\":\"10.0.0.3\"") != std::string::npos);
    CHECK(s.find("\nEOF\n# node h2\novnet-vtep -n h2 apply <<'EOF'\n") != std::string::npos);
    CHECK(s.find("# node h3") == std::string::npos);
    auto s2 = audit_fix_script(r, "h2");
    CHECK(s2.find("# node h1") == std::string::npos);
    CHECK(s2.find("# node h2") != std::string::npos);
    // A namespace labelled root gets no -n; a fix shared by two findings is written once.
    Cluster d;
    for (int i = 1; i <= 3; i++) {
        auto ns = d.n[i]["netns"][h(i)];
        ns["label"] = "root";
        d.n[i]["netns"].erase(h(i));
        d.n[i]["netns"]["root"] = ns;
        d.n[i]["networks"][0]["netns"] = "root";
    }
    d.n[1]["netns"]["root"]["peers"][VX] = json::array();
    auto r2 = d.audit();
    CHECK(codes(r2) == V{"PEER_MISSING", "PEER_MISSING"});
    auto s3 = audit_fix_script(r2);
    CHECK(s3.find("# node h1\novnet-fdb apply -d vx-001001-7672d --prune <<'EOF'\n") != std::string::npos);
    CHECK(s3.find("ovnet-fdb apply", s3.find("EOF")) == std::string::npos);
}

TEST_CASE("audit: the report lists every code the schema knows") {
    CHECK(audit_codes().size() == 25);
    std::set<std::string> u(audit_codes().begin(), audit_codes().end());
    CHECK(u.size() == audit_codes().size());
}

TEST_CASE("audit: bad input is one line of Error(Input)") {
    Cluster c;
    auto read = [](const std::string& text) {
        AuditReader r;
        r.read(text, "in.json");
        return r.finish();
    };
    auto e = require_input_error([&] { read(c.text().substr(0, 200)); }, "in.json");
    CHECK(std::string(e.what()).find('\n') == std::string::npos);
    require_input_error([&] { read(R"({"foo": 1})"); }, "snapshot 1 (in.json): no \"schema\": expected ovnet-inspect/1");
    json v2 = c.n[2];
    v2["schema"] = "ovnet-inspect/2";
    require_input_error([&] { read(c.n[1].dump() + v2.dump()); },
                        "snapshot 2 (in.json): schema \"ovnet-inspect/2\": expected ovnet-inspect/1");
    require_input_error([&] { read("[1, 2]"); }, "snapshot 1 (in.json): not an ovnet-inspect snapshot (a JSON array");
    require_input_error([&] { read("42"); }, "not an ovnet-inspect snapshot (a JSON number");
    require_input_error([&] { read(""); }, "in.json: no snapshot");
    require_input_error([&] { read("  \n"); }, "no snapshot");
    require_input_error([&] { read(c.n[1].dump() + c.n[2].dump() + c.n[1].dump()); },
                        "snapshot 3 (in.json): host \"h1\" repeats snapshot 1 (in.json)");
    json no_nets = c.n[1];
    no_nets.erase("networks");
    require_input_error([&] { read(no_nets.dump()); }, "no \"netns\" object or \"networks\" array");
    json bad = c.n[1];
    bad["networks"][0]["vni"] = "x";
    require_input_error([&] { read(bad.dump()); }, "snapshot 1 (in.json)");
    // Non-ASCII text takes nlohmann's path: the same result.
    json u = c.n[1];
    u["netns"]["h1"]["name"] = "h\u00e9";
    AuditReader r;
    r.read(u.dump() + c.n[2].dump(), "x");
    auto s = r.finish();
    REQUIRE(s.size() == 2);
    CHECK(s[1].host == "h2");
    CHECK(s[0].netns.at("h1").peers.at(VX).size() == 2);
}

TEST_CASE("audit: snapshots numbered across files") {
    Cluster c;
    AuditReader r;
    r.read(c.n[1].dump(), "a.json");
    json v = c.n[2];
    v["schema"] = "x";
    require_input_error([&] { r.read(v.dump(), "b.json"); }, "snapshot 2 (b.json): schema \"x\": expected ovnet-inspect/1");
}

namespace {
json& ns1(Cluster& c, int i) { return c.n[i]["netns"][h(i)]; }
json fwm_service(uint32_t mark, json dests) {
    return {{"key", "fwm " + std::to_string(mark)}, {"family", "ipv4"}, {"protocol", "fwm"}, {"fwmark", mark},
            {"address", nullptr}, {"port", nullptr}, {"scheduler", "rr"}, {"dests", dests}};
}
json dest(const std::string& a, int weight) { return {{"address", a}, {"port", 0}, {"weight", weight}}; }
json mark_rule(const std::string& m) {
    return {{"table", "mangle"}, {"chain", "PREROUTING"}, {"position", 1},
            {"spec", "-d 10.0.0.100/32 -j MARK --set-xmark " + m + "/0xffffffff"}};
}
json sa(const std::string& src, const std::string& dst, const std::string& spi, const std::string& fp = "00112233aabbccdd") {
    return {{"src", src}, {"dst", dst}, {"proto", "esp"}, {"spi", spi}, {"reqid", 0}, {"mode", "transport"},
            {"algs", json::array({{{"kind", "aead"}, {"name", "rfc4106(gcm(aes))"}, {"key_bits", 160},
                                    {"key_fingerprint", fp}, {"icv_bits", 64}}})}};
}
}  // namespace

TEST_CASE("audit: IPVS_WEIGHT0_LEFTOVER") {
    Cluster c;
    ns1(c, 1)["ipvs"] = json::array({fwm_service(257, json::array({dest("10.0.0.3", 0), dest("10.0.0.4", 1)}))});
    ns1(c, 1)["netfilter"] = {{"rules", json::array({mark_rule("0x101")})}};
    auto r = c.audit();
    auto& f = only(r, "IPVS_WEIGHT0_LEFTOVER");
    CHECK(f.severity == Severity::Warning);
    CHECK(f.nodes == V{"h1"});
    CHECK(f.objects == V{"h1:h1 ipvs fwm 257 dest 10.0.0.3"});
    CHECK(f.evidence["h1"][0]["weight"] == 0);
    CHECK((*f.fix)[0].command == "ovnet-ipvs -n h1 del -f 257 -r 10.0.0.3");
}

TEST_CASE("audit: IPVS_DEST_UNKNOWN") {
    Cluster c;
    json svc = {{"key", "tcp 10.0.0.100:80"}, {"family", "ipv4"}, {"protocol", "tcp"}, {"fwmark", nullptr},
                {"address", "10.0.0.100"}, {"port", 80}, {"dests", json::array({{{"address", "10.0.0.77"}, {"port", 8080}, {"weight", 1}}})}};
    ns1(c, 2)["ipvs"] = json::array({svc});
    auto r = c.audit();
    auto& f = only(r, "IPVS_DEST_UNKNOWN");
    CHECK(f.nodes == V{"h2"});
    CHECK((*f.fix)[0].command == "ovnet-ipvs -n h2 del -t 10.0.0.100:80 -r 10.0.0.77:8080");
}

TEST_CASE("audit: FWM_WITHOUT_MARK_RULE") {
    Cluster c;
    ns1(c, 1)["ipvs"] = json::array({fwm_service(257, json::array({dest("10.0.0.3", 1)}))});
    ns1(c, 1)["netfilter"] = {{"rules", json::array()}};
    auto r = c.audit();
    auto& f = only(r, "FWM_WITHOUT_MARK_RULE");
    CHECK(f.objects == V{"h1:h1 ipvs fwm 257"});
    CHECK(!f.fix);
}

TEST_CASE("audit: MARK_RULE_WITHOUT_SERVICE") {
    Cluster c;
    ns1(c, 3)["ipvs"] = json::array();
    ns1(c, 3)["netfilter"] = {{"rules", json::array({mark_rule("0x102"), mark_rule("0xd0c4e3")})}};
    auto r = c.audit();
    auto& f = only(r, "MARK_RULE_WITHOUT_SERVICE");
    CHECK(f.nodes == V{"h3"});
    CHECK(f.message.find("0x102") != std::string::npos);
    CHECK(!f.fix);
}

TEST_CASE("audit: SERVICE_PARTIAL") {
    Cluster c;
    for (int i : {1, 2}) c.n[i]["networks"][0]["services"] = json::array({{{"vip", "10.0.0.100"}, {"fwmark", 257}}});
    auto r = c.audit();
    auto& f = only(r, "SERVICE_PARTIAL");
    CHECK(f.network == "7672d");
    CHECK(f.nodes == V{"h3", "h1", "h2"});
    CHECK(f.objects == V{"h3:ov-001001-7672d service 10.0.0.100"});
    CHECK(!f.fix);
}

TEST_CASE("audit: PUBLISHED_PORT_PARTIAL") {
    Cluster c;
    for (int i : {1, 3}) ns1(c, i)["published"] = json::array({{{"port", 8080}, {"proto", "tcp"}}});
    auto r = c.audit();
    auto& f = only(r, "PUBLISHED_PORT_PARTIAL");
    CHECK(f.nodes == V{"h2", "h1", "h3"});
    CHECK(f.objects == V{"h2:published 8080/tcp"});
    CHECK(f.network == std::nullopt);
}

TEST_CASE("audit: SA_SP_ASYMMETRY") {
    Cluster c;
    ns1(c, 1)["xfrm"] = {{"states", json::array({sa(ul(1), ul(2), "0x00000101")})}, {"policies", json::array()}};
    ns1(c, 2)["xfrm"] = {{"states", json::array()}, {"policies", json::array()}};
    auto r = c.audit();
    auto& f = only(r, "SA_SP_ASYMMETRY");
    CHECK(f.nodes == V{"h2", "h1"});
    CHECK(f.objects == V{"h2:xfrm state 192.0.2.11 -> 192.0.2.12"});
    CHECK(!f.fix);
}

TEST_CASE("audit: SPI_MISMATCH") {
    Cluster c;
    ns1(c, 1)["xfrm"] = {{"states", json::array({sa(ul(1), ul(2), "0x00000101")})}, {"policies", json::array()}};
    ns1(c, 2)["xfrm"] = {{"states", json::array({sa(ul(1), ul(2), "0x00000202")})}, {"policies", json::array()}};
    auto r = c.audit();
    auto& f = only(r, "SPI_MISMATCH");
    CHECK(f.nodes == V{"h1", "h2"});
}

TEST_CASE("audit: KEY_MISMATCH") {
    Cluster c;
    ns1(c, 1)["xfrm"] = {{"states", json::array({sa(ul(1), ul(2), "0x00000101")})}, {"policies", json::array()}};
    ns1(c, 2)["xfrm"] = {{"states", json::array({sa(ul(1), ul(2), "0x00000101", "ffffffffffffffff")})}, {"policies", json::array()}};
    auto r = c.audit();
    auto& f = only(r, "KEY_MISMATCH");
    CHECK(f.nodes == V{"h1", "h2"});
    CHECK(f.evidence["h2"][0]["algs"][0]["key_fingerprint"] == "ffffffffffffffff");
}

TEST_CASE("audit: SYSCTL_DRIFT") {
    Cluster c;
    ns1(c, 3)["sysctls"]["net.ipv4.ip_forward"] = "0";
    auto r = c.audit();
    auto& f = only(r, "SYSCTL_DRIFT");
    CHECK(f.severity == Severity::Info);
    CHECK(f.objects == V{"h3:h3 sysctl net.ipv4.ip_forward"});
    CHECK(f.message.find("sysctl -w net.ipv4.ip_forward=1") != std::string::npos);
    CHECK(!f.fix);
}

TEST_CASE("audit: DNAT_WITHOUT_SERVICE") {
    Cluster c;
    json row = {{"netns", "h2"}, {"owner", "ovnet"}, {"proto", "tcp"}, {"port", 8080}, {"ingress_sbox", "ingress_sbox"},
                {"backends", json::array()}, {"ipvs", nullptr}};
    for (int i = 1; i <= 3; i++) {
        json r = row;
        if (i != 2) r["ipvs"] = fwm_service(256, json::array());
        ns1(c, i)["published"] = json::array({r});
    }
    auto r = c.audit();
    auto& f = only(r, "DNAT_WITHOUT_SERVICE");
    CHECK(f.nodes == V{"h2"});
    CHECK(f.objects == V{"h2:h2 published 8080/tcp"});
    REQUIRE(f.fix);
    CHECK((*f.fix)[0].command == "ovnet-publish -n h2 del --port 8080 --proto tcp --ingress-sbox ingress_sbox");
    // IPVS not readable (backends null): nothing to say.
    ns1(c, 2)["published"][0]["backends"] = nullptr;
    CHECK(c.audit().findings.empty());
}

TEST_CASE("audit: peers toward a node whose sandbox was not read are not stale and the fix keeps them") {
    Cluster c;
    c.endpoint(3)["addresses"] = json::array();   // c3's sandbox unread: no address, no MAC
    c.endpoint(3)["mac"] = nullptr;
    CHECK(c.audit().findings.empty());
    c.peers(1).erase(0);   // h1 loses c2
    auto r = c.audit();
    auto& f = only(r, "PEER_MISSING");
    CHECK((*f.fix)[0].input == json::parse(R"([{"ip":"10.0.0.3","mac":"02:42:0a:00:00:03","vtep":"192.0.2.12"},
                                                {"ip":"10.0.0.4","mac":"02:42:0a:00:00:04","vtep":"192.0.2.13"}])"));
}

// Docker's vxlan0 has no local address (the kernel sends from its route's source): the audit
// takes the address of the VTEP's underlay namespace on the remote VTEPs' subnet, so the peer
// checks and the fdb fix know each node's VTEP; where none can be told, the fix keeps the node's
// own peers rather than pruning them.
TEST_CASE("audit: VTEPs without a local address (Docker's vxlan0)") {
    Cluster c;
    for (int i = 1; i <= 3; i++) {
        c.vtep(i)["local"] = "";
        c.n[i]["networks"][0]["local"] = nullptr;
        c.n[i]["netns"][h(i)]["addresses"].push_back(
            {{"ifname", "docker_gwbridge"}, {"ifindex", 3}, {"address", "172.18.0.1/16"}, {"scope", "global"}});
        c.n[i]["netns"][h(i)]["addresses"].push_back(
            {{"ifname", "lo"}, {"ifindex", 1}, {"address", "127.0.0.1/8"}, {"scope", "host"}});
    }
    CHECK(c.audit().findings.empty());
    SECTION("a missing peer: the fix names every remote VTEP") {
        c.peers(1).erase(1);
        auto r = c.audit();
        auto& f = only(r, "PEER_MISSING");
        CHECK(f.message.find("behind 192.0.2.13") != std::string::npos);
        REQUIRE(f.fix);
        CHECK((*f.fix)[0].input == json::parse(R"([{"ip":"10.0.0.3","mac":"02:42:0a:00:00:03","vtep":"192.0.2.12"},
                                                    {"ip":"10.0.0.4","mac":"02:42:0a:00:00:04","vtep":"192.0.2.13"}])"));
        check_fixed(c, r);
    }
    SECTION("a wrong VTEP is told") {
        c.peers(2)[1]["vtep"] = "192.0.2.99";
        auto r = c.audit();
        only(r, "PEER_WRONG_VTEP");
        check_fixed(c, r);
    }
    SECTION("the overlay's MTU limit comes from the underlay link of that address") {
        c.vtep(2)["mtu"] = 1500;
        only(c.audit(), "MTU_TOO_LARGE");
    }
    SECTION("a node whose address cannot be told: its peers are kept, not pruned") {
        c.n[3]["netns"][h(3)]["addresses"] = json::array();
        c.peers(1).erase(0);   // h1 loses h2's container
        auto r = c.audit();
        auto& f = only(r, "PEER_MISSING");
        REQUIRE(f.fix);
        CHECK((*f.fix)[0].input == json::parse(R"([{"ip":"10.0.0.3","mac":"02:42:0a:00:00:03","vtep":"192.0.2.12"},
                                                    {"ip":"10.0.0.4","mac":"02:42:0a:00:00:04","vtep":"192.0.2.13"}])"));
    }
}

TEST_CASE("audit: a fix names a namespace by its path unless /run/netns or Docker's default directory holds it by its label") {
    Cluster c;
    c.peers(1).erase(1);
    c.n[1]["netns"][h(1)]["path"] = "/run/od1-dk1/netns/" + h(1);   // a daemon with its own exec-root
    auto r = c.audit();
    auto& f = only(r, "PEER_MISSING");
    REQUIRE(f.fix);
    CHECK((*f.fix)[0].command == "ovnet-fdb -n /run/od1-dk1/netns/h1 apply -d vx-001001-7672d --prune");
    c.n[1]["netns"][h(1)]["path"] = "/var/run/docker/netns/" + h(1);
    auto r2 = c.audit();
    CHECK((*only(r2, "PEER_MISSING").fix)[0].command == "ovnet-fdb -n h1 apply -d vx-001001-7672d --prune");
}

TEST_CASE("audit: a service VIP (/32) on every node's load-balancing endpoint is no duplicate") {
    Cluster c;
    for (int i = 1; i <= 3; i++) c.endpoint(i)["addresses"].push_back("10.0.0.100/32");   // as lb_<id> holds it
    auto r = c.audit();
    INFO(r.to_json().dump(2));
    CHECK(r.findings.empty());
}
