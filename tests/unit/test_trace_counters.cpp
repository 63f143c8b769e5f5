// counters_moved (ovnet-trace --probe's "moved"): two reads of a path's namespaces -> the counters
// that grew. Rules from iptables-save -c captures of both backends (tests/fixtures/trace-counters),
// links and SAs built here.
#include "helpers.hpp"

#include <fstream>
#include <sstream>

#include "ovnet/trace_counters.hpp"

using namespace ovnet;

namespace {

std::string fixture(const std::string& name) {
    std::ifstream in(std::string(OVNET_FIXTURES_DIR) + "/trace-counters/" + name);
    REQUIRE(in.good());
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

std::vector<IptSaveText> saves(const std::string& when) {
    return {{"iptables-nft-save", fixture("host-" + when + ".iptables-nft-save")},
            {"iptables-legacy-save", fixture("host-" + when + ".iptables-legacy-save")}};
}

CounterSnapshot snap(const std::string& ns, std::vector<CounterSnapshot::LinkCount> links,
                     std::vector<std::pair<std::string, uint64_t>> sas = {}, std::vector<std::pair<std::string, uint64_t>> rules = {}) {
    CounterSnapshot s;
    s.netns = ns;
    s.links = std::move(links);
    s.sas = std::move(sas);
    s.rules = std::move(rules);
    return s;
}

std::vector<std::string> brief(const std::vector<CounterMove>& ms) {
    std::vector<std::string> out;
    for (auto& m : ms)
        out.push_back(m.netns + " " + m.kind + " " + m.object + " " + std::to_string(m.packets) +
                      (m.kind == "link" ? " rx" + std::to_string(m.rx) + " tx" + std::to_string(m.tx) : ""));
    return out;
}

}  // namespace

TEST_CASE("counter_rules: both backends merged with their counters, in iptables-save's text", "[trace_counters]") {
    auto r = counter_rules(saves("before"));
    // tables by name, each with the nft backend's rules first, then what only legacy printed (its
    // mangle MARK rule); the nat PREROUTING jump both print is listed once, with nft's counters,
    // and so is the filter rule nft prints twice (its first counters)
    REQUIRE(r.size() == 8);
    CHECK(r[0] == std::pair<std::string, uint64_t>{"filter FORWARD -A FORWARD -j DOCKER-INGRESS", 41});
    CHECK(r[2] == std::pair<std::string, uint64_t>{"mangle PREROUTING -A PREROUTING -p tcp -m tcp --dport 30000 -j MARK --set-xmark 0x102/0xffffffff", 5});
    CHECK(r[3] == std::pair<std::string, uint64_t>{"nat PREROUTING -A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER-INGRESS", 12});
    CHECK(r[6].first == "nat DOCKER-INGRESS -A DOCKER-INGRESS -p tcp -m tcp --dport 30000 -j DNAT --to-destination 172.18.0.2:30000");
    CHECK(r[6].second == 9);
    // without -c there are no counters, hence nothing to compare
    CHECK(counter_rules({{"iptables-nft-save", "*nat\n:PREROUTING ACCEPT [0:0]\n-A PREROUTING -j ACCEPT\nCOMMIT\n"}}).empty());
}

TEST_CASE("counters_moved: rules, links and SAs that grew, in the path's namespace order", "[trace_counters]") {
    std::vector<CounterSnapshot> before{
        snap("c1", {{"lo", 0, 0}, {"eth0", 3, 5}}),
        snap("h1", {{"lo", 0, 0}, {"vx-001001-7672d", 10, 20}, {"eth0", 100, 200}}, {{"esp 0x5093b01b 192.0.2.11 -> 192.0.2.12", 7}}),
        snap("h2", {{"vx-001001-7672d", 10, 20}, {"veth1", 4, 4}}),
    };
    before[2].rules = counter_rules(saves("before"));
    // read after the probe: h2 first here, c1 last; the answer's packets moved the reverse way too
    std::vector<CounterSnapshot> after{
        snap("h2", {{"vx-001001-7672d", 12, 20}, {"veth1", 4, 6}, {"vethnew", 1, 0}}),
        snap("h1", {{"lo", 0, 0}, {"vx-001001-7672d", 11, 22}, {"eth0", 101, 202}},
             {{"esp 0x5093b01b 192.0.2.11 -> 192.0.2.12", 9}, {"esp 0x00000001 192.0.2.12 -> 192.0.2.11", 0}}),
        snap("c1", {{"lo", 0, 0}, {"eth0", 4, 6}}),
    };
    after[0].rules = counter_rules(saves("after"));
    auto m = counters_moved(before, after);
    CHECK(brief(m) == std::vector<std::string>{
                          "h2 rule filter FORWARD -A FORWARD -j DOCKER-INGRESS 2",
                          // the rule printed twice: once, with its first counters
                          "h2 rule filter DOCKER-INGRESS -A DOCKER-INGRESS -p tcp -m tcp --dport 30000 -j ACCEPT 2",
                          // a rule added in the window counts from 0
                          "h2 rule filter DOCKER-INGRESS -A DOCKER-INGRESS -s 198.51.100.10/32 -j ACCEPT 1",
                          "h2 rule mangle PREROUTING -A PREROUTING -p tcp -m tcp --dport 30000 -j MARK --set-xmark 0x102/0xffffffff 1",
                          // legacy's copy of this rule moved by 87, hidden behind nft's (merged once)
                          "h2 rule nat PREROUTING -A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER-INGRESS 1",
                          "h2 rule nat DOCKER-INGRESS -A DOCKER-INGRESS -p tcp -m tcp --dport 30000 -j DNAT --to-destination 172.18.0.2:30000 1",
                          "h2 link vx-001001-7672d 2 rx2 tx0",
                          "h2 link veth1 2 rx0 tx2",
                          "h2 link vethnew 1 rx1 tx0",
                          "h1 link vx-001001-7672d 3 rx1 tx2",
                          "h1 link eth0 3 rx1 tx2",
                          "h1 sa esp 0x5093b01b 192.0.2.11 -> 192.0.2.12 2",
                          "c1 link eth0 2 rx1 tx1",
                      });
    CHECK(counters_line({m[4], m[6], m[7]}) ==
          "rule nat PREROUTING -A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER-INGRESS +1; link vx-001001-7672d rx+2; link veth1 tx+2");
    CHECK(counters_line({m[9], m[11]}) == "link vx-001001-7672d tx+2 rx+1; sa esp 0x5093b01b 192.0.2.11 -> 192.0.2.12 +2");
    CHECK(counters_line({}).empty());
    // the JSON form: rx and tx for a link only
    CHECK(schema::to_dom(m[9]).dump() == R"({"netns":"h1","kind":"link","object":"vx-001001-7672d","packets":3,"rx":1,"tx":2})");
    CHECK(schema::to_dom(m[11]).dump() == R"({"netns":"h1","kind":"sa","object":"esp 0x5093b01b 192.0.2.11 -> 192.0.2.12","packets":2})");
    std::string text;
    schema::to_text(text, m[9]);
    CHECK(text == schema::to_dom(m[9]).dump());
}

TEST_CASE("counters_moved: nothing moved, counters that went down, a namespace read only after", "[trace_counters]") {
    std::vector<CounterSnapshot> same{snap("c1", {{"eth0", 3, 5}}, {{"esp 0x00000002 192.0.2.11 -> 192.0.2.12", 4}})};
    CHECK(counters_moved(same, same).empty());
    // a device recreated in the window (its counters restart) is left out; a namespace missing
    // before counts from 0
    std::vector<CounterSnapshot> after{snap("c1", {{"eth0", 1, 1}}, {{"esp 0x00000002 192.0.2.11 -> 192.0.2.12", 4}}),
                                       snap("c2", {{"eth0", 1, 0}, {"lo", 0, 0}})};
    CHECK(brief(counters_moved(same, after)) == std::vector<std::string>{"c2 link eth0 1 rx1 tx0"});
    // a name read twice counts once, its first
    std::vector<CounterSnapshot> b2{snap("h1", {}, {}, {{"nat OUTPUT -A OUTPUT -j X", 1}})};
    std::vector<CounterSnapshot> a2{snap("h1", {}, {}, {{"nat OUTPUT -A OUTPUT -j X", 3}, {"nat OUTPUT -A OUTPUT -j X", 9}})};
    CHECK(brief(counters_moved(b2, a2)) == std::vector<std::string>{"h1 rule nat OUTPUT -A OUTPUT -j X 2"});
}
