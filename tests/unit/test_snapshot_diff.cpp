// snapshot_diff (ovnet-diff): every kind added, removed and changed on hand-made snapshots;
// counters ignored unless asked; a rule that moves is "moved"; the schema tag is checked.
#include "helpers.hpp"

#include <set>

#include "ovnet/snapshot_diff.hpp"

using namespace ovnet;
using namespace ovnet_test;

namespace {

json base() {
    return json::parse(R"({
 "schema": "ovnet-inspect/1", "host": "n1", "time": "2026-11-26T00:00:00Z",
 "netns": {"h1": {
  "label": "h1", "name": "h1", "path": "/run/netns/h1", "source": "netns", "container": null,
  "links": [{"name": "eth0", "ifindex": 2, "kind": "veth", "mtu": 1500},
            {"name": "br0", "ifindex": 3, "kind": "bridge", "mtu": 1450}],
  "bridges": [{"name": "br0", "mtu": 1450, "ports": [{"name": "vx0", "mtu": 1450}]}],
  "vteps": [{"name": "vx0", "vni": 4097, "mtu": 1450}],
  "interfaces": [{"ifname": "eth0", "mtu": 1500}],
  "addresses": [{"ifname": "eth0", "ifindex": 2, "address": "192.0.2.11/24", "scope": "global"}],
  "routes": [{"dst": "192.0.2.0/24", "gateway": null, "dev": "eth0"},
             {"dst": "fe80::/64", "gateway": null, "dev": "eth0"},
             {"dst": "fe80::/64", "gateway": null, "dev": "br0"}],
  "peers": {"vx0": [{"status": "peer", "ip": "10.0.0.3", "mac": "02:42:0a:00:00:03", "vtep": "192.0.2.12"}]},
  "ipvs": [{"key": "fwm 257", "scheduler": "rr", "stats": {"conns": 1},
            "dests": [{"address": "10.0.0.3", "port": 0, "weight": 1, "active": 0, "inactive": 1, "persistent_conns": 0,
                       "stats": {"conns": 1}}]}],
  "ipvs_error": null,
  "netfilter": {"backends": ["iptables-nft-save"],
    "chains": [{"table": "nat", "chain": "PREROUTING", "policy": "ACCEPT", "packets": 1, "bytes": 60}],
    "rules": [{"table": "nat", "chain": "PREROUTING", "position": 1, "spec": "-d 10.0.0.2/32 -j DNAT", "packets": 5, "bytes": 300},
              {"table": "nat", "chain": "PREROUTING", "position": 2, "spec": "-d 10.0.0.4/32 -j DNAT", "packets": 0, "bytes": 0},
              {"table": "nat", "chain": "PREROUTING", "position": 3, "spec": "-j RETURN", "packets": 0, "bytes": 0}],
    "text": {"iptables-nft-save": "[5:300] -A PREROUTING -d 10.0.0.2/32 -j DNAT\n"}},
  "netfilter_error": null,
  "xfrm": {"states": [{"src": "192.0.2.11", "dst": "192.0.2.12", "proto": "esp", "spi": "0x00000101", "reqid": 1, "mode": "transport"}],
           "policies": [{"dir": "out", "src": "192.0.2.11/32", "dst": "192.0.2.12/32", "proto": 17, "sport": 0, "dport": 4789,
                         "mark": "0x00d0c4e3", "mark_mask": "0xffffffff", "priority": 0, "action": "allow"}]},
  "xfrm_error": null,
  "sysctls": {"net.ipv4.ip_forward": "1"},
  "lb_services": [{"vip": "10.0.0.2", "fwmark": 257, "backends": [{"address": "10.0.0.3", "active": 0, "stats": {"conns": 1}}]}],
  "published": [{"port": 8080, "proto": "tcp", "backends": []}]
 }},
 "networks": [{"id": null, "netns": "h1", "bridge": "br0", "vtep": "vx0", "vni": 4097, "mtu": 1450,
               "endpoints": [], "peers": [], "peer_hosts": [], "services": [], "published": []}]
})");
}

json& ns(json& d) { return d["netns"]["h1"]; }

// The one change of a diff, required to be of that kind and action.
SnapshotChange only(const json& a, const json& b, const char* kind, const char* action, SnapshotDiffOptions o = {}) {
    auto ch = snapshot_diff(a, b, o);
    INFO(snapshot_diff_report(ch).dump());
    REQUIRE(ch.size() == 1);
    CHECK(ch[0].kind == kind);
    CHECK(std::string(ch[0].word()) == action);
    return ch[0];
}

}  // namespace

TEST_CASE("snapshot diff: equal snapshots and counters and time ignored") {
    json a = base(), b = base();
    CHECK(snapshot_diff(a, b).empty());
    b["time"] = "2026-11-26T01:00:00Z";
    ns(b)["netfilter"]["rules"][0]["packets"] = 9;
    ns(b)["netfilter"]["chains"][0]["bytes"] = 900;
    ns(b)["netfilter"]["text"]["iptables-nft-save"] = "[9:900] -A PREROUTING -d 10.0.0.2/32 -j DNAT\n";
    ns(b)["ipvs"][0]["stats"]["conns"] = 7;
    ns(b)["ipvs"][0]["dests"][0]["active"] = 3;
    ns(b)["ipvs"][0]["dests"][0]["inactive"] = 0;
    ns(b)["lb_services"][0]["backends"][0]["stats"]["conns"] = 5;
    auto r = snapshot_diff_report(snapshot_diff(a, b));
    CHECK(r["equal"] == true);
    CHECK(r["stats"]["changed"] == 0);
    SnapshotDiffOptions c;
    c.counters = true;
    auto ch = snapshot_diff(a, b, c);
    std::set<std::string> kinds;
    for (auto& x : ch) kinds.insert(x.kind);
    CHECK(kinds == std::set<std::string>{"host", "netfilter-rule", "netfilter-chain", "ipvs-service", "ipvs-dest", "lb-service"});
    for (auto& x : ch)
        if (x.kind == "ipvs-dest") CHECK(x.fields == std::vector<std::string>{"active", "inactive"});
}

TEST_CASE("snapshot diff: each kind added and removed and changed") {
    json a = base();
    struct Case {
        const char* kind;
        std::function<void(json&)> change, add, remove;
        const char* object;
    };
    auto arr_add = [](const char* k, json v) { return [k, v](json& d) { ns(d)[k].push_back(v); }; };
    std::vector<Case> cases = {
        {"link", [](json& d) { ns(d)["links"][0]["mtu"] = 1400; },
         arr_add("links", {{"name", "veth1"}, {"mtu", 1500}}), [](json& d) { ns(d)["links"].erase(0); }, "eth0"},
        {"bridge", [](json& d) { ns(d)["bridges"][0]["mtu"] = 1400; },
         arr_add("bridges", {{"name", "br1"}, {"ports", json::array()}}), [](json& d) { ns(d)["bridges"] = json::array(); }, "br0"},
        {"vtep", [](json& d) { ns(d)["vteps"][0]["vni"] = 4098; }, arr_add("vteps", {{"name", "vx1"}}),
         [](json& d) { ns(d)["vteps"] = json::array(); }, "vx0"},
        {"address", [](json& d) { ns(d)["addresses"][0]["scope"] = "link"; },
         arr_add("addresses", {{"ifname", "br0"}, {"address", "10.0.0.1/24"}}), [](json& d) { ns(d)["addresses"] = json::array(); },
         "192.0.2.11/24"},
        {"route", [](json& d) { ns(d)["routes"][0]["gateway"] = "192.0.2.1"; },
         arr_add("routes", {{"dst", "10.1.0.0/16"}, {"gateway", nullptr}, {"dev", "br0"}}),
         [](json& d) { ns(d)["routes"].erase(0); }, "192.0.2.0/24"},
        {"peer", [](json& d) { ns(d)["peers"]["vx0"][0]["vtep"] = "192.0.2.13"; },
         [](json& d) { ns(d)["peers"]["vx0"].push_back({{"ip", "10.0.0.4"}, {"mac", "02:42:0a:00:00:04"}}); },
         [](json& d) { ns(d)["peers"]["vx0"] = json::array(); }, "vx0 02:42:0a:00:00:03"},
        {"ipvs-service", [](json& d) { ns(d)["ipvs"][0]["scheduler"] = "wrr"; },
         arr_add("ipvs", {{"key", "fwm 258"}, {"dests", json::array()}}), [](json& d) { ns(d)["ipvs"] = nullptr; }, "fwm 257"},
        {"netfilter-chain", [](json& d) { ns(d)["netfilter"]["chains"][0]["policy"] = "DROP"; },
         [](json& d) { ns(d)["netfilter"]["chains"].push_back({{"table", "nat"}, {"chain", "DOCKER"}}); },
         [](json& d) { ns(d)["netfilter"]["chains"] = json::array(); }, "nat PREROUTING"},
        {"xfrm-state", [](json& d) { ns(d)["xfrm"]["states"][0]["reqid"] = 2; },
         [](json& d) { ns(d)["xfrm"]["states"].push_back({{"src", "192.0.2.12"}, {"dst", "192.0.2.11"}, {"proto", "esp"}, {"spi", "0x1"}}); },
         [](json& d) { ns(d)["xfrm"]["states"] = json::array(); }, "192.0.2.11 192.0.2.12 esp 0x00000101"},
        {"xfrm-policy", [](json& d) { ns(d)["xfrm"]["policies"][0]["action"] = "block"; },
         [](json& d) { ns(d)["xfrm"]["policies"].push_back({{"dir", "in"}}); },
         [](json& d) { ns(d)["xfrm"]["policies"] = json::array(); }, "out 192.0.2.11/32 192.0.2.12/32 17 0 4789 0x00d0c4e3/0xffffffff"},
        {"sysctl", [](json& d) { ns(d)["sysctls"]["net.ipv4.ip_forward"] = "0"; },
         [](json& d) { ns(d)["sysctls"]["net.ipv4.conf.all.route_localnet"] = "1"; },
         [](json& d) { ns(d)["sysctls"] = json::object(); }, "net.ipv4.ip_forward"},
        {"lb-service", [](json& d) { ns(d)["lb_services"][0]["backends"][0]["address"] = "10.0.0.5"; },
         arr_add("lb_services", {{"vip", "10.0.0.9"}, {"fwmark", 258}}), [](json& d) { ns(d)["lb_services"] = json::array(); },
         "10.0.0.2 fwmark 257"},
        {"published", [](json& d) { ns(d)["published"][0]["backends"].push_back("x"); },
         arr_add("published", {{"port", 80}, {"proto", "tcp"}}), [](json& d) { ns(d)["published"] = json::array(); }, "8080/tcp"},
        {"network", [](json& d) { d["networks"][0]["mtu"] = 1400; },
         [](json& d) { d["networks"].push_back({{"netns", "h1"}, {"bridge", "br1"}, {"vni", 4098}}); },
         [](json& d) { d["networks"] = json::array(); }, "vni 4097 bridge h1/br0"},
    };
    for (auto& c : cases) {
        INFO(c.kind);
        json b = a;
        c.change(b);
        auto x = only(a, b, c.kind, "changed");
        CHECK(x.object == c.object);
        CHECK(x.fields.size() == 1);
        CHECK(x.before != x.after);
        b = a;
        c.add(b);
        auto y = only(a, b, c.kind, "added");
        CHECK(y.before.is_null());
        y = only(b, a, c.kind, "removed");
        CHECK(y.after.is_null());
        b = a;
        c.remove(b);
        auto z = only(a, b, c.kind, "removed");
        CHECK(z.object == c.object);
    }
}

TEST_CASE("snapshot diff: a namespace added or removed is one change and a route on two devices is keyed by device") {
    json a = base(), b = base();
    b["netns"]["c1"] = ns(b);
    b["netns"]["c1"]["label"] = "c1";
    auto x = only(a, b, "netns", "added");
    CHECK(x.object == "c1");
    CHECK(x.after["label"] == "c1");
    only(b, a, "netns", "removed");
    b = base();
    ns(b)["routes"].erase(2);   // the identity stays "DST dev DEV" while the dst repeats in either
    x = only(a, b, "route", "removed");
    CHECK(x.object == "fe80::/64 dev br0");
    b = base();
    ns(b)["bridges"] = json::array();   // a bridge removed with its ports: one change
    x = only(a, b, "bridge", "removed");
    b = base();
    ns(b)["netfilter_error"] = "no iptables";
    x = only(a, b, "netns", "changed");
    CHECK(x.fields == std::vector<std::string>{"netfilter_error"});
    b = base();
    ns(b)["bridges"][0]["ports"].push_back({{"name", "veth1"}});
    x = only(a, b, "bridge-port", "added");
    CHECK(x.object == "br0 veth1");
    // A derived view (interfaces, a network's endpoints) is not compared itself.
    b = base();
    ns(b)["interfaces"][0]["mtu"] = 9000;
    b["networks"][0]["endpoints"].push_back("x");
    CHECK(snapshot_diff(a, b).empty());
}

TEST_CASE("snapshot diff: a rule that changes place is moved not removed and added") {
    json a = base(), b = base();
    auto& r = ns(b)["netfilter"]["rules"];
    json ret = r[2];   // RETURN first now, the DNAT rules after it
    r.erase(2);
    r.insert(r.begin(), ret);
    for (int i = 0; i < 3; i++) r[i]["position"] = i + 1;
    auto x = only(a, b, "netfilter-rule", "moved");
    CHECK(x.object == "nat PREROUTING -j RETURN");
    CHECK(x.fields == std::vector<std::string>{"position"});
    CHECK(x.to_change().word() == std::string("moved"));
    // A rule inserted at the head shifts the others' positions: only the new rule is reported.
    b = base();
    json accept = {{"table", "nat"}, {"chain", "PREROUTING"}, {"position", 1}, {"spec", "-j ACCEPT"}};
    ns(b)["netfilter"]["rules"].insert(ns(b)["netfilter"]["rules"].begin(), accept);
    for (int i = 0; i < 4; i++) ns(b)["netfilter"]["rules"][i]["position"] = i + 1;
    x = only(a, b, "netfilter-rule", "added");
    CHECK(x.object == "nat PREROUTING -j ACCEPT");
    auto rep = snapshot_diff_report(snapshot_diff(a, b));
    CHECK(rep["equal"] == false);
    CHECK(rep["stats"]["added"] == 1);
}

TEST_CASE("snapshot diff: the schema tag is checked") {
    CHECK_NOTHROW(check_snapshot(base(), "a.json"));
    json v = base();
    v["schema"] = "ovnet-inspect/2";
    require_input_error([&] { check_snapshot(v, "a.json"); }, "a.json: schema \"ovnet-inspect/2\" is not \"ovnet-inspect/1\"");
    v.erase("schema");
    require_input_error([&] { check_snapshot(v, "b.json"); }, "b.json: not an ovnet-inspect snapshot");
    require_input_error([&] { check_snapshot(json::array(), "c.json"); }, "c.json: not an ovnet-inspect snapshot");
    v = base();
    v["netns"] = json::array();
    require_input_error([&] { check_snapshot(v, "d.json"); }, "d.json");
}
