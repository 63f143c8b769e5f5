// ovnet-lab break, graph and capture hops, the pure parts: the scenario table, each break's plan
// and documented fix on a hand-built deep-dive plan, the record's round trip, the grade of a check
// over audit findings and rules, the DOT writer (topology, live veth names, a trace drawn over it)
// and the resolution of capture hops.
#include "helpers.hpp"

#include <algorithm>
#include <fstream>
#include <sstream>

#include "ovnet/lab_break.hpp"
#include "ovnet/lab_graph.hpp"

namespace ovnet::lab {
json yaml_to_json(const std::string& text, const std::string& source);   // tools/lab_yaml.cpp
}

using namespace ovnet;
using namespace ovnet_test;

namespace {

LabEndpoint ep(const std::string& ifname, const std::string& network, const std::string& bridge, const std::string& cidr,
               uint32_t mtu) {
    LabEndpoint e;
    e.ifname = ifname;
    e.network = network;
    e.bridge = bridge;
    e.ip = Prefix::parse(cidr);
    e.mac = docker_mac(e.ip.addr);
    e.mtu = mtu;
    return e;
}

// The deep dive's cluster, the parts the break, graph and hop code read: three nodes, ingress
// (4096) and vote (4098, encrypted, 1424), redis.1 on swarm-02, redis.2 on swarm-01, worker.1 on
// swarm-03, redis.3 (after scale) on swarm-03, vote published on 30000.
LabPlan deep_dive() {
    LabPlan p;
    p.prefix = "t";
    p.topology.name = "deep-dive";
    p.topology.underlay = Prefix::parse("192.0.2.0/24");
    p.topology.gwbridge = Prefix::parse("172.18.0.0/16");
    p.topology.ingress = {"ingress", "lpq3tzoevynhq1sd5jr4k7h2x", 4096, Prefix::parse("10.255.0.0/16"), false, std::nullopt};
    p.topology.networks = {{"vote", "7672dxw1uq0l9ms3f4b5g2h6k", 4098, Prefix::parse("10.0.0.0/24"), true, std::nullopt}};
    p.underlay_netns = "t-ul";
    p.client = IpAddr::parse("192.0.2.100");
    for (int i = 1; i <= 3; i++) {
        LabNode n;
        n.name = "swarm-0" + std::to_string(i);
        n.netns = "t-" + n.name;
        n.underlay = Prefix::parse("192.0.2.1" + std::to_string(i) + "/24");
        n.overlays = {{"ingress", "ov-001000-lpq3t", "vx-001000-lpq3t", 4096, 1450, false},
                      {"vote", "ov-001002-7672d", "vx-001002-7672d", 4098, 1424, true}};
        p.topology.nodes.push_back(n.name);
        p.nodes.push_back(n);
        LabSandbox s;
        s.netns = n.netns + "-ingress_sbox";
        s.node = n.name;
        s.role = "ingress_sbox";
        s.endpoints = {ep("eth0", "ingress", "ov-001000-lpq3t", "10.255.0." + std::to_string(1 + i) + "/16", 1450),
                       ep("eth1", "docker_gwbridge", "docker_gwbridge", "172.18.0.2/16", 1500)};
        p.sandboxes.push_back(s);
    }
    auto task = [&](const std::string& node, const std::string& svc, unsigned slot, const std::string& ip, bool scaled) {
        LabSandbox s;
        s.node = node;
        s.role = "task";
        s.service = svc;
        s.slot = slot;
        s.task = svc + "." + std::to_string(slot);
        s.netns = "t-" + node + "-" + s.task;
        s.scaled = scaled;
        s.endpoints = {ep("eth0", "vote", "ov-001002-7672d", ip + "/24", 1424),
                       ep("eth1", "docker_gwbridge", "docker_gwbridge", "172.18.0.3/16", 1500)};
        p.sandboxes.push_back(s);
    };
    task("swarm-02", "redis", 1, "10.0.0.6", false);
    task("swarm-01", "redis", 2, "10.0.0.7", false);
    task("swarm-03", "worker", 1, "10.0.0.9", false);
    task("swarm-03", "redis", 3, "10.0.0.10", true);
    LabLbService v;
    v.service = "vote";
    v.network = "vote";
    v.vip = IpAddr::parse("10.0.0.13");
    v.fwmark = 259;
    v.publish = 30000;
    v.ingress_fwmark = 258;
    v.ingress_vip = IpAddr::parse("10.255.0.5");
    v.ingress_backends = {IpAddr::parse("10.255.0.6"), IpAddr::parse("10.255.0.7")};
    p.services.push_back(v);
    return p;
}

AuditFinding finding(const std::string& code, const std::vector<std::string>& nodes) {
    AuditFinding f;
    f.code = code;
    f.nodes = nodes;
    f.message = nodes[0] + ": something about " + code;
    return f;
}

}  // namespace

TEST_CASE("lab break: the scenario table", "[lab]") {
    auto& all = lab_scenarios();
    std::vector<std::string> names;
    for (auto& s : all) {
        names.push_back(s.name);
        CHECK(!s.title.empty());
        CHECK(!s.symptom.empty());
        CHECK(!s.hint.empty());
        CHECK(!s.codes.empty());
        CHECK(lab_scenario_find(s.name) == &s);
    }
    CHECK(names == std::vector<std::string>{"fdb-half-entry", "learned-shadow", "no-dnat", "departed-peer", "mtu-mismatch", "esp-blocked"});
    CHECK(lab_scenario_find("fdb-half-entry")->issue == "moby/moby#52661");
    CHECK(lab_scenario_find("learned-shadow")->issue == "moby/moby#31588");
    CHECK(lab_scenario_find("no-dnat")->issue == "moby/moby#33195");
    CHECK(lab_scenario_find("esp-blocked")->issue == "moby/moby#25266");
    CHECK(lab_scenario_find("no-dnat")->needs == "ipvs");
    CHECK(lab_scenario_find("esp-blocked")->needs == "gcm");
    CHECK(lab_scenario_find("nope") == nullptr);
}

TEST_CASE("lab break: each scenario's plan and documented fix", "[lab]") {
    LabPlan p = deep_dive();
    auto half = lab_break_plan(p, "fdb-half-entry");
    CHECK(half.node == "swarm-01");
    CHECK(half.netns == "t-swarm-01");
    CHECK(half.device == "vx-001002-7672d");
    CHECK(half.ip.str() == "10.0.0.6");
    CHECK(half.mac.str() == "02:42:0a:00:00:06");
    CHECK(half.vtep.str() == "192.0.2.12");
    CHECK(half.fix == std::vector<std::string>{
                          "ovnet-fdb -n t-swarm-01 add -d vx-001002-7672d --ip 10.0.0.6 --mac 02:42:0a:00:00:06 --vtep 192.0.2.12"});
    CHECK(half.what.find("redis.1 on swarm-02") != std::string::npos);

    auto shadow = lab_break_plan(p, "learned-shadow");
    CHECK(shadow.wrong_vtep.str() == "192.0.2.13");   // swarm-03: a live node without redis.1
    CHECK(shadow.fix == half.fix);

    auto gone = lab_break_plan(p, "departed-peer");
    CHECK(gone.device == "vx-001002-7672d");
    CHECK(gone.ip.str() == "10.0.0.254");
    CHECK(gone.mac.str() == "02:42:0a:00:00:fe");
    CHECK(gone.vtep.str() == "192.0.2.14");           // a fourth node, departed
    CHECK(gone.fix == std::vector<std::string>{"ovnet-fdb -n t-swarm-01 del -d vx-001002-7672d --mac 02:42:0a:00:00:fe"});

    auto mtu = lab_break_plan(p, "mtu-mismatch");
    CHECK(mtu.node == "swarm-02");
    CHECK(mtu.bridge == "ov-001002-7672d");
    CHECK(mtu.mtu == 1500);
    CHECK(mtu.good_mtu == 1424);
    REQUIRE(mtu.fix.size() == 2);
    CHECK(mtu.fix[0] == "ovnet-bridge -n t-swarm-02 add ov-001002-7672d --mtu 1424");
    CHECK(mtu.fix[1].find("ovnet-vtep -n t-swarm-02 apply") != std::string::npos);

    auto dnat = lab_break_plan(p, "no-dnat");
    CHECK(dnat.port == 30000);
    REQUIRE(dnat.fix.size() == 1);
    CHECK(dnat.fix[0] == "ovnet-publish -n t-swarm-01 add --port 30000 --ingress-sbox t-swarm-01-ingress_sbox --gw-ip 172.18.0.2 "
                         "--lb-ip 10.255.0.2 --fwmark 258 --backend 10.255.0.6 --backend 10.255.0.7");

    auto esp = lab_break_plan(p, "esp-blocked");
    CHECK(esp.node == "swarm-02");
    CHECK(esp.device == "OVNET-LAB-FIREWALL");

    auto e = require_input_error([&] { lab_break_plan(p, "nope"); }, "nope");
    CHECK(std::string(e.what()).find("fdb-half-entry") != std::string::npos);

    // Scaled tasks do not exist before scale: the departed peer's address stays clear of them anyway.
    p.scaled = true;
    CHECK(lab_break_plan(p, "departed-peer").ip.str() == "10.0.0.254");
}

TEST_CASE("lab break: a plan with nothing to break is an input error", "[lab]") {
    LabPlan p = deep_dive();
    p.sandboxes.erase(std::remove_if(p.sandboxes.begin(), p.sandboxes.end(),
                                     [](const LabSandbox& s) { return s.role == "task" && s.node != "swarm-01"; }),
                      p.sandboxes.end());
    require_input_error([&] { lab_break_plan(p, "fdb-half-entry"); }, "nothing to break");
    p.services.clear();
    require_input_error([&] { lab_break_plan(p, "no-dnat"); }, "no service publishes");
}

TEST_CASE("lab break: the record round-trips", "[lab]") {
    LabPlan p = deep_dive();
    for (auto& s : lab_scenarios()) {
        auto b = lab_break_plan(p, s.name);
        auto back = LabBreak::from_json(json::parse(b.to_json().dump()));
        CHECK(back.to_json() == b.to_json());
    }
    require_input_error([] { LabBreak::from_json(json{{"scenario", "x"}}); }, "scenario");
    require_input_error([] { LabBreak::from_json(json::array()); });
}

TEST_CASE("lab break: the check's grade", "[lab]") {
    LabPlan p = deep_dive();
    auto* s = lab_scenario_find("fdb-half-entry");
    auto b = lab_break_plan(p, "fdb-half-entry");
    AuditReport r;
    std::vector<AuditSnapshot> snaps;
    auto clean = lab_break_judge(p, *s, &b, r, snaps);
    CHECK(clean.passed);
    CHECK(clean.to_json()["hint"].is_null());

    r.findings.push_back(finding("PEER_MISSING", {"swarm-01"}));      // another scenario's code
    r.findings.push_back(finding("FDB_HALF_ENTRY", {"swarm-03"}));    // another node than the break's
    CHECK(lab_break_judge(p, *s, &b, r, snaps).passed);
    CHECK_FALSE(lab_break_judge(p, *s, nullptr, r, snaps).passed);   // nothing recorded: any node

    r.findings.push_back(finding("FDB_HALF_ENTRY", {"swarm-01"}));
    auto bad = lab_break_judge(p, *s, &b, r, snaps);
    CHECK_FALSE(bad.passed);
    REQUIRE(bad.findings.size() == 1);
    CHECK(bad.message.find("FDB_HALF_ENTRY") != std::string::npos);
    CHECK(bad.hint == s->hint);
    CHECK(bad.fix == b.fix);
    auto j = bad.to_json();
    CHECK(j["passed"] == false);
    CHECK(j["findings"][0]["code"] == "FDB_HALF_ENTRY");

    // The lab's own codes, from the nodes' rules.
    auto node_snap = [&](const std::string& node, json rules) {
        AuditSnapshot a;
        a.host = node;
        AuditNetns ns;
        ns.label = "t-" + node;
        ns.rules = std::move(rules);
        a.netns.emplace(ns.label, ns);
        return a;
    };
    json dnat = json::array({{{"table", "nat"}, {"chain", "OVNET-INGRESS"}, {"target", "DNAT"},
                              {"spec", "-p tcp -m tcp --dport 30000 -j DNAT --to-destination 172.18.0.2:30000"}}});
    json esp = json::array({{{"table", "filter"}, {"chain", "OVNET-LAB-FIREWALL"}, {"protocol", "esp"}, {"target", "DROP"},
                             {"spec", "-p esp -j DROP"}}});
    AuditReport none;
    std::vector<AuditSnapshot> ok{node_snap("swarm-01", dnat), node_snap("swarm-02", dnat)};
    auto* nd = lab_scenario_find("no-dnat");
    CHECK(lab_break_judge(p, *nd, nullptr, none, ok).passed);
    std::vector<AuditSnapshot> lost{node_snap("swarm-01", json::array()), node_snap("swarm-02", dnat)};
    auto g = lab_break_judge(p, *nd, nullptr, none, lost);
    CHECK_FALSE(g.passed);
    REQUIRE(g.findings.size() == 1);
    CHECK(g.findings[0].code == "DNAT_MISSING");
    CHECK(g.findings[0].nodes == std::vector<std::string>{"swarm-01"});

    auto* ep = lab_scenario_find("esp-blocked");
    CHECK(lab_break_judge(p, *ep, nullptr, none, ok).passed);
    std::vector<AuditSnapshot> blocked{node_snap("swarm-01", dnat), node_snap("swarm-02", esp)};
    auto eb = lab_break_judge(p, *ep, nullptr, none, blocked);
    CHECK_FALSE(eb.passed);
    CHECK(eb.message.find("ESP_BLOCKED") != std::string::npos);
    CHECK(eb.message.find("swarm-02") != std::string::npos);
}

TEST_CASE("lab graph: the topology as DOT", "[lab]") {
    LabPlan p = deep_dive();
    LabGraphLive live;
    live.host_veth[{"t-swarm-01-redis.2", "eth0"}] = "veth3a1f";
    std::string dot = lab_graph_dot(p, live);
    CHECK(dot.rfind("digraph \"ovnet-lab t\" {", 0) == 0);
    CHECK(std::count(dot.begin(), dot.end(), '{') == std::count(dot.begin(), dot.end(), '}'));
    CHECK(dot.find("subgraph \"cluster_t-swarm-01\"") != std::string::npos);
    CHECK(dot.find("subgraph \"cluster_t-swarm-02-redis.1\"") != std::string::npos);
    CHECK(dot.find("subgraph \"cluster_t-ul\"") != std::string::npos);
    CHECK(dot.find("\"t-swarm-01/vx-001002-7672d\" [label=\"vx-001002-7672d\\nVTEP VNI 4098 MTU 1424\\nencrypted\"") != std::string::npos);
    CHECK(dot.find("\"t-swarm-01-redis.2/eth0\" -> \"t-swarm-01/ov-001002-7672d\" [label=\"veth3a1f\"]") != std::string::npos);
    CHECK(dot.find("\"t-swarm-02-redis.1/eth0\" -> \"t-swarm-02/ov-001002-7672d\" [label=\"veth\"]") != std::string::npos);
    CHECK(dot.find("\"t-swarm-01/eth0\" -> \"t-ul/ul0\"") != std::string::npos);
    CHECK(dot.find("10.0.0.6/24\\n02:42:0a:00:00:06") != std::string::npos);
    // Per overlay one edge between the VTEPs of every two nodes: 2 overlays x 3 pairs.
    size_t vni = 0;
    for (size_t at = 0; (at = dot.find("label=\"VNI 40", at)) != std::string::npos; at++) vni++;
    CHECK(vni == 6);
    CHECK(dot.find("\"t-swarm-01/vx-001002-7672d\" -> \"t-swarm-03/vx-001002-7672d\"") != std::string::npos);
    CHECK(dot.find("(after scale)") != std::string::npos);
    CHECK(dot.find("penwidth") == std::string::npos);   // no trace, no journey
}

TEST_CASE("lab graph: a trace drawn over the topology", "[lab]") {
    LabPlan p = deep_dive();
    auto hop = [](const std::string& ns, const std::string& stage, const std::string& obj) {
        return json{{"netns", ns}, {"stage", stage}, {"object", obj}, {"entry", ""}, {"effect", ""}};
    };
    json trace = {{"schema", "ovnet-trace/1"},
                  {"paths", json::array({{{"hops", json::array({
                                                       hop("t-swarm-01-redis.2", "route", "eth0"),
                                                       hop("t-swarm-01-redis.2", "netfilter", "nat OUTPUT"),
                                                       hop("t-swarm-01", "bridge", "ov-001002-7672d"),
                                                       hop("t-swarm-01", "encap", "vx-001002-7672d"),
                                                       hop("t-swarm-01", "egress", "eth0"),
                                                       hop("t-swarm-02", "decap", "vx-001002-7672d"),
                                                       hop("t-swarm-02-redis.1", "socket", "eth0 (10.0.0.6:6379)"),
                                                   })}}})}};
    std::string dot = lab_graph_dot(p, {}, trace);
    CHECK(dot.find("\"t-swarm-01-redis.2/eth0\" -> \"t-swarm-01/ov-001002-7672d\" [dir=forward") != std::string::npos);
    CHECK(dot.find("\"t-swarm-01/ov-001002-7672d\" -> \"t-swarm-01/vx-001002-7672d\" [dir=forward") != std::string::npos);
    CHECK(dot.find("\"t-swarm-02/vx-001002-7672d\" -> \"t-swarm-02-redis.1/eth0\" [dir=forward") != std::string::npos);
    size_t n = 0;
    for (size_t at = 0; (at = dot.find("penwidth=2.5", at)) != std::string::npos; at++) n++;
    CHECK(n == 5);   // 6 hops on devices, joined by 5 edges ("nat OUTPUT" keeps its number 2)
    CHECK(dot.find("label=\"3\"];") != std::string::npos);
    CHECK(dot.find("label=\"2\"];") == std::string::npos);

    // ovnet-trace's live form: hops naming no device ("kernel" routes, the socket) in a namespace
    // the journey enters are drawn at the device it entered by.
    json live = {{"schema", "ovnet-trace/1"},
                 {"paths", json::array({{{"hops", json::array({
                                                      hop("t-swarm-01-redis.2", "route", "kernel"),
                                                      hop("t-swarm-01-redis.2", "neighbor", "10.0.0.6"),
                                                      hop("t-swarm-01-redis.2", "veth", "eth0"),
                                                      hop("t-swarm-01", "bridge", "ov-001002-7672d"),
                                                      hop("t-swarm-01", "encap", "vx-001002-7672d"),
                                                      hop("t-swarm-01", "route", "kernel"),
                                                      hop("t-swarm-01", "veth", "eth0"),
                                                      hop("t-ul", "bridge", "ul0"),
                                                      hop("t-swarm-02", "route", "kernel"),
                                                      hop("t-swarm-02", "decap", "vx-001002-7672d"),
                                                      hop("t-swarm-02", "bridge", "ov-001002-7672d"),
                                                      hop("t-swarm-02-redis.1", "route", "kernel"),
                                                      hop("t-swarm-02-redis.1", "socket", "kernel"),
                                                  })}}})}};
    std::string ld = lab_graph_dot(p, {}, live);
    CHECK(ld.find("\"t-ul/ul0\" -> \"t-swarm-02/eth0\" [dir=forward") != std::string::npos);
    CHECK(ld.find("\"t-swarm-02/eth0\" -> \"t-swarm-02/vx-001002-7672d\" [dir=forward") != std::string::npos);
    CHECK(ld.find("\"t-swarm-02/ov-001002-7672d\" -> \"t-swarm-02-redis.1/eth0\" [dir=forward") != std::string::npos);
    n = 0;
    for (size_t at = 0; (at = ld.find("penwidth=2.5", at)) != std::string::npos; at++) n++;
    CHECK(n == 8);

    require_input_error([&] { lab_graph_dot(p, {}, json{{"schema", "ovnet-inspect/1"}}); }, "ovnet-trace/1");
    require_input_error([&] { lab_graph_dot(p, {}, json::array()); }, "trace");
}

TEST_CASE("lab capture: hops resolved from the plan", "[lab]") {
    LabPlan p = deep_dive();
    auto h = lab_hop_resolve(p, "swarm-01/redis.2:eth0");
    CHECK(h.netns == "t-swarm-01-redis.2");
    CHECK(h.ifname == "eth0");
    CHECK(h.node == "swarm-01");
    CHECK(h.what == "task redis.2 eth0 (vote)");
    CHECK(lab_hop_resolve(p, "redis.1:eth1").netns == "t-swarm-02-redis.1");
    CHECK(lab_hop_resolve(p, "swarm-03/ingress_sbox:eth0").netns == "t-swarm-03-ingress_sbox");
    auto vx = lab_hop_resolve(p, "swarm-01/vx-001002-7672d");
    CHECK(vx.netns == "t-swarm-01");
    CHECK(vx.what == "VTEP vx-001002-7672d (VNI 4098)");
    CHECK(lab_hop_resolve(p, "swarm-02/eth0").what == "underlay eth0 (192.0.2.12/24)");
    CHECK(lab_hop_resolve(p, "swarm-02/veth3a1f").ifname == "veth3a1f");
    CHECK(lab_hop_resolve(p, "t-swarm-02/eth0").netns == "t-swarm-02");
    CHECK(lab_hop_resolve(p, "ul/ul0").netns == "t-ul");

    require_input_error([&] { lab_hop_resolve(p, "swarm-01/redis.1:eth0"); }, "runs on swarm-02");
    require_input_error([&] { lab_hop_resolve(p, "swarm-09/eth0"); }, "swarm-01, swarm-02, swarm-03");
    require_input_error([&] { lab_hop_resolve(p, "redis.3:eth0"); }, "after scale");
    require_input_error([&] { lab_hop_resolve(p, "redis.2:eth7"); }, "eth0, eth1");
    require_input_error([&] { lab_hop_resolve(p, "eth0"); }, "NODE/");
    require_input_error([&] { lab_hop_resolve(p, "swarm-01/"); }, "names no interface");
    p.scaled = true;
    CHECK(lab_hop_resolve(p, "redis.3:eth0").netns == "t-swarm-03-redis.3");
}

TEST_CASE("lab break: on lab_plan's deep dive (the built-in topology)", "[lab]") {
    std::ifstream f(OVNET_LAB_DEFAULT_YAML);
    std::stringstream ss;
    ss << f.rdbuf();
    LabPlan p = lab_plan(LabTopology::from_json(lab::yaml_to_json(ss.str(), "deep-dive.yaml")), "lab");
    auto half = lab_break_plan(p, "fdb-half-entry");
    CHECK(half.fix == std::vector<std::string>{
                          "ovnet-fdb -n lab-swarm-01 add -d vx-001002-7672d --ip 10.0.0.6 --mac 02:42:0a:00:00:06 --vtep 192.0.2.12"});
    CHECK(lab_break_plan(p, "learned-shadow").wrong_vtep.str() == "192.0.2.13");
    auto mtu = lab_break_plan(p, "mtu-mismatch");
    CHECK(mtu.fix[0] == "ovnet-bridge -n lab-swarm-02 add ov-001002-7672d --mtu 1424");
    CHECK(lab_break_plan(p, "no-dnat").fix[0] ==
          "ovnet-publish -n lab-swarm-01 add --port 30000 --ingress-sbox lab-swarm-01-ingress_sbox --gw-ip 172.18.0.2 "
          "--lb-ip 10.255.0.2 --fwmark 258 --backend 10.255.0.6 --backend 10.255.0.7");
    CHECK(lab_hop_resolve(p, "swarm-01/redis.2:eth0").netns == "lab-swarm-01-redis.2");
    CHECK(lab_hop_resolve(p, "swarm-02/vote.1:eth2").what == "task vote.1 eth2 (vote)");
    std::string dot = lab_graph_dot(p);
    CHECK(dot.find("subgraph \"cluster_lab-swarm-02-vote.1\"") != std::string::npos);
    CHECK(dot.find("\"lab-swarm-01/eth0\" -> \"lab-ul/ul0\"") != std::string::npos);
}
