// ovnet-lab's pure part: the deep dive's topology (examples/lab/deep-dive.yaml, read through the
// tool's YAML reader) and the plan with the seed's own names and numbers.
#include <fstream>
#include <set>
#include <sstream>

#include "helpers.hpp"
#include "ovnet/lab.hpp"
#include "ovnet/schema.hpp"

namespace ovnet::lab {
json yaml_to_json(const std::string& text, const std::string& source);   // tools/lab_yaml.cpp
}

using namespace ovnet;
using ovnet_test::require_input_error;

namespace {

std::string deep_dive_yaml() {
    std::ifstream f(OVNET_LAB_DEFAULT_YAML);
    std::stringstream ss;
    ss << f.rdbuf();
    REQUIRE(!ss.str().empty());
    return ss.str();
}
json deep_dive_json() { return lab::yaml_to_json(deep_dive_yaml(), "deep-dive.yaml"); }
LabTopology deep_dive() { return LabTopology::from_json(deep_dive_json()); }

const LabEndpoint& ep(const LabSandbox& s, const std::string& ifname) {
    for (auto& e : s.endpoints)
        if (e.ifname == ifname) return e;
    FAIL("no " << ifname << " in " << s.netns);
    return s.endpoints.front();
}

}  // namespace

TEST_CASE("lab: the built-in topology's JSON (made at build time) is the YAML file read", "[lab]") {
    // ovnet-lab reads the JSON form (no YAML parse at each start); it must say what the YAML says.
    std::ifstream f(OVNET_LAB_DEFAULT_JSON);
    REQUIRE(f);
    json built = json::parse(f);
    CHECK(built == deep_dive_json());
    CHECK(LabTopology::from_json(built).to_json() == deep_dive().to_json());
}

TEST_CASE("lab: the default YAML reads into the topology's JSON form") {
    json j = deep_dive_json();
    CHECK(j["name"] == "deep-dive");
    CHECK(j["nodes"] == json::array({"swarm-01", "swarm-02", "swarm-03"}));
    CHECK(j["ingress"]["vni"] == 4096);
    CHECK(j["ingress"]["id"] == "lpq3tzoevynhq1sd5jr4k7h2x");
    CHECK(j["networks"][1]["encrypted"] == true);
    CHECK(j["services"][0]["ips"][0] == "10.0.0.6");
    CHECK(j["services"][2]["publish"] == 30000);
    LabTopology t = deep_dive();
    CHECK(t.networks.size() == 2);
    CHECK(t.services.size() == 3);
    // The JSON form round-trips, and to_text writes to_dom's bytes.
    CHECK(LabTopology::from_json(t.to_json()).to_json() == t.to_json());
    std::string text;
    schema::to_text(text, t);
    CHECK(text == t.to_json().dump());
}

TEST_CASE("lab: YAML errors name the source and the line") {
    auto e = require_input_error([] { lab::yaml_to_json("name: x\nnodes: [a, b\n", "topo.yaml"); }, "topo.yaml: line ");
    CHECK(std::string(e.what()).find('\n') == std::string::npos);
    require_input_error([] { lab::yaml_to_json("- a\n- b\n", "t.yaml"); }, "t.yaml: line 1");
    require_input_error([] { lab::yaml_to_json("name: a\nname: b\n", "t.yaml"); }, "key name given twice");
    // Quoted numbers stay strings.
    CHECK(lab::yaml_to_json("a: \"12\"\nb: 12\n", "t")["a"] == "12");
    CHECK(lab::yaml_to_json("a: \"12\"\nb: 12\n", "t")["b"] == 12);
}

TEST_CASE("lab: the deep dive's plan has the seed's names and numbers") {
    LabPlan p = lab_plan(deep_dive(), "lab");
    CHECK(p.underlay_netns == "lab-ul");
    CHECK(p.client.str() == "192.0.2.100");
    REQUIRE(p.nodes.size() == 3);
    CHECK(p.nodes[0].netns == "lab-swarm-01");
    CHECK(p.nodes[1].underlay.str() == "192.0.2.12/24");
    REQUIRE(p.nodes[0].overlays.size() == 3);
    CHECK(p.nodes[0].overlays[0].bridge == "ov-001000-lpq3t");
    CHECK(p.nodes[0].overlays[0].vtep == "vx-001000-lpq3t");
    CHECK(p.nodes[0].overlays[0].mtu == 1450);
    CHECK(p.nodes[0].overlays[1].bridge == "ov-001001-3n8zt");
    CHECK(p.nodes[0].overlays[1].vni == 4097);
    CHECK(p.nodes[0].overlays[2].bridge == "ov-001002-7672d");
    CHECK(p.nodes[0].overlays[2].mtu == 1424);
    CHECK(p.nodes[0].overlays[2].encrypted);

    for (unsigned i = 1; i <= 3; ++i) {
        auto* sb = p.ingress_sbox("swarm-0" + std::to_string(i));
        REQUIRE(sb);
        CHECK(sb->netns == "lab-swarm-0" + std::to_string(i) + "-ingress_sbox");
        CHECK(ep(*sb, "eth0").ip.str() == "10.255.0." + std::to_string(1 + i) + "/16");
        CHECK(ep(*sb, "eth0").mac.str() == "02:42:0a:ff:00:0" + std::to_string(1 + i));
        CHECK(ep(*sb, "eth0").mtu == 1450);
        CHECK(ep(*sb, "eth0").bridge == "ov-001000-lpq3t");
        CHECK(ep(*sb, "eth1").ip.str() == "172.18.0.2/16");
        CHECK(ep(*sb, "eth1").gateway->str() == "172.18.0.1");
    }
    auto* r1 = p.sandbox_of_task("redis.1");
    REQUIRE(r1);
    CHECK(r1->netns == "lab-swarm-02-redis.1");
    CHECK(r1->node == "swarm-02");
    CHECK(ep(*r1, "eth0").ip.str() == "10.0.0.6/24");
    CHECK(ep(*r1, "eth0").mac.str() == "02:42:0a:00:00:06");
    CHECK(ep(*r1, "eth0").mtu == 1424);
    CHECK(ep(*r1, "eth0").bridge == "ov-001002-7672d");
    CHECK(ep(*r1, "eth1").ip.str() == "172.18.0.3/16");
    CHECK(r1->listen == std::vector<uint16_t>{6379});
    CHECK(p.sandbox_of_task("redis.2")->node == "swarm-01");
    CHECK(ep(*p.sandbox_of_task("redis.2"), "eth0").ip.str() == "10.0.0.7/24");
    CHECK(p.sandbox_of_task("worker.1")->node == "swarm-03");
    CHECK(ep(*p.sandbox_of_task("worker.1"), "eth0").ip.str() == "10.0.0.9/24");
    CHECK(p.sandbox_of_task("redis.3") == nullptr);

    auto* v1 = p.sandbox_of_task("vote.1");
    REQUIRE(v1);
    CHECK(v1->node == "swarm-02");
    CHECK(ep(*v1, "eth0").network == "ingress");
    CHECK(ep(*v1, "eth0").ip.str() == "10.255.0.6/16");
    CHECK(ep(*v1, "eth1").network == "docker_gwbridge");
    CHECK(ep(*v1, "eth1").ip.str() == "172.18.0.4/16");   // after redis.1 on swarm-02
    CHECK(ep(*v1, "eth2").ip.str() == "10.0.0.14/24");
    CHECK(v1->listen == std::vector<uint16_t>{80, 30000});
    CHECK(ep(*p.sandbox_of_task("vote.2"), "eth0").ip.str() == "10.255.0.7/16");
    CHECK(ep(*p.sandbox_of_task("vote.2"), "eth2").ip.str() == "10.0.0.15/24");

    auto* redis = p.service("redis");
    REQUIRE(redis);
    CHECK(redis->vip.str() == "10.0.0.5");
    CHECK(redis->fwmark == 256);
    CHECK(redis->backends.size() == 2);
    CHECK(p.service("worker")->fwmark == 257);
    CHECK(p.service("worker")->vip.str() == "10.0.0.8");
    auto* vote = p.service("vote");
    CHECK(vote->fwmark == 259);
    CHECK(vote->ingress_fwmark == 258);
    CHECK(vote->vip.str() == "10.0.0.13");
    CHECK(vote->ingress_vip.str() == "10.255.0.5");
    CHECK(vote->publish == 30000);
    CHECK(vote->ingress_backends.size() == 2);

    auto ns = p.namespaces();
    CHECK(ns.size() == 3 + 3 + 5 + 1);
    CHECK(ns.back() == "lab-ul");
    CHECK(std::set<std::string>(ns.begin(), ns.end()).size() == ns.size());
}

TEST_CASE("lab: the scaled plan adds exactly redis.3 to redis.5") {
    LabPlan a = lab_plan(deep_dive(), "lab");
    LabPlan b = lab_plan(deep_dive(), "lab", true);
    std::set<std::string> before, after;
    for (auto& s : a.sandboxes) before.insert(s.netns);
    for (auto& s : b.sandboxes) after.insert(s.netns);
    std::vector<std::string> added;
    for (auto& n : after)
        if (!before.count(n)) added.push_back(n);
    CHECK(added == std::vector<std::string>{"lab-swarm-01-redis.5", "lab-swarm-02-redis.4", "lab-swarm-03-redis.3"});
    // Everything else is the same.
    for (auto& s : a.sandboxes) CHECK(schema::to_dom(s) == schema::to_dom(*b.sandbox_of_netns(s.netns)));
    CHECK(ep(*b.sandbox_of_task("redis.3"), "eth0").ip.str() == "10.0.0.10/24");
    CHECK(ep(*b.sandbox_of_task("redis.4"), "eth0").ip.str() == "10.0.0.11/24");
    CHECK(ep(*b.sandbox_of_task("redis.5"), "eth0").ip.str() == "10.0.0.12/24");
    CHECK(b.sandbox_of_task("redis.5")->scaled);
    CHECK(b.service("redis")->backends.size() == 5);
    CHECK(b.service("redis")->vip.str() == "10.0.0.5");
}

TEST_CASE("lab: the plan's JSON form round-trips") {
    LabPlan p = lab_plan(deep_dive(), "t1", true);
    json j = p.to_json();
    CHECK(j["nodes"][0]["overlays"][0]["bridge"] == "ov-001000-lpq3t");
    LabPlan q = LabPlan::from_json(j);
    CHECK(q.to_json() == j);
    std::string text;
    schema::to_text(text, p);
    CHECK(text == j.dump());
    json bad = j;
    bad["prefx"] = "x";
    require_input_error([&] { LabPlan::from_json(bad); }, "prefx");
}

TEST_CASE("lab: --nodes 2 spreads the tasks of dropped nodes over the others") {
    LabTopology t = lab_topology_with_nodes(deep_dive(), 2);
    LabPlan p = lab_plan(t, "lab", true);
    CHECK(p.nodes.size() == 2);
    for (auto& s : p.sandboxes) CHECK(s.node != "swarm-03");
    CHECK(p.sandbox_of_task("redis.1")->node == "swarm-02");
    CHECK(p.sandbox_of_task("redis.2")->node == "swarm-01");
    CHECK(p.sandbox_of_task("worker.1")->node == "swarm-01");
    CHECK(p.sandbox_of_task("vote.1")->node == "swarm-02");
    CHECK(p.sandbox_of_task("vote.2")->node == "swarm-01");
    // Addresses stay the topology's.
    CHECK(ep(*p.sandbox_of_task("worker.1"), "eth0").ip.str() == "10.0.0.9/24");
    unsigned n1 = 0, n2 = 0;
    for (auto& s : p.sandboxes)
        if (s.service == "redis") (s.node == "swarm-01" ? n1 : n2)++;
    CHECK(n1 + n2 == 5);
    CHECK((n1 >= 2 && n2 >= 2));
    // More nodes than named: swarm-04...
    CHECK(lab_topology_with_nodes(deep_dive(), 4).nodes.back() == "swarm-04");
}

TEST_CASE("lab: allocation without explicit addresses and marks") {
    json j = deep_dive_json();
    for (auto& s : j["services"])
        for (auto k : {"vip", "fwmark", "ingress_fwmark", "ingress_vip", "ips", "ingress_ips", "nodes"}) s.erase(k);
    LabPlan p = lab_plan(LabTopology::from_json(j), "lab");
    CHECK(p.service("redis")->vip.str() == "10.0.0.5");
    CHECK(p.service("redis")->fwmark == 256);
    CHECK(p.service("worker")->fwmark == 257);
    CHECK(p.service("vote")->ingress_fwmark == 258);
    CHECK(p.service("vote")->fwmark == 259);
    CHECK(p.service("vote")->ingress_vip.str() == "10.255.0.5");
    CHECK(ep(*p.sandbox_of_task("redis.1"), "eth0").ip.str() == "10.0.0.6/24");
    CHECK(p.sandbox_of_task("redis.1")->node == "swarm-01");
    CHECK(p.sandbox_of_task("redis.2")->node == "swarm-02");
}

TEST_CASE("lab: bad topologies are input errors naming the key and value") {
    auto bad = [](const std::function<void(json&)>& edit, const std::string& needle) {
        json j = deep_dive_json();
        edit(j);
        INFO(needle);
        require_input_error([&] { lab_plan(LabTopology::from_json(j), "lab"); }, needle);
    };
    bad([](json& j) { j["nodes"][1] = "swarm-01"; }, "swarm-01");
    bad([](json& j) { j["nodes"][1] = "swarm-01"; }, "node named twice");
    bad([](json& j) { j["services"][0]["network"] = "nosuch"; }, "service redis: network");
    bad([](json& j) { j["services"][0]["nodes"][0] = "swarm-09"; }, "swarm-09");
    bad([](json& j) { j["services"][0]["ips"][0] = "10.9.9.9"; }, "10.9.9.9");
    bad([](json& j) { j["services"][1]["ips"][0] = "10.0.0.6"; }, "address already in use");
    bad([](json& j) { j["networks"][0]["vni"] = 4096; }, "VNI used by another network");
    bad([](json& j) { j["networks"][0]["vni"] = 16777216; }, "16777216");
    bad([](json& j) { j["networks"][0]["id"] = "short"; }, "short");
    bad([](json& j) { j["servces"] = json::array(); }, "servces");
    bad([](json& j) { j["services"][0]["replica"] = 2; }, "replica");
    bad([](json& j) { j["services"][0]["name"] = "Redis"; }, "Redis");
    bad([](json& j) { j["services"][0]["replicas"] = "two"; }, "replicas");
    bad([](json& j) { j["services"][0]["scale"] = 1; }, "scale");
    bad([](json& j) { j["services"][1]["fwmark"] = 256; }, "mark used by another service");
    bad([](json& j) { j["underlay"] = "192.0.2.0/25"; }, "underlay");
    bad([](json& j) { j.erase("ingress"); }, "ingress");
    bad([](json& j) {
        j["networks"][1]["subnet"] = "10.0.0.0/29";
        for (auto& s : j["services"]) s.erase("ips"), s.erase("vip");
    }, "address pool exhausted");
    require_input_error([] { lab_plan(deep_dive(), "bad/prefix"); }, "bad/prefix");
}
