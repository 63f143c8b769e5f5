// peers_read (the SAX path of `ovnet-fdb apply`) must follow exactly the rules of peers_from_json
// (the DOM path). Every input here goes through both and the results are compared.
#include <cstdio>
#include <sstream>

#include "helpers.hpp"
#include "ovnet/ovnet.hpp"

using namespace ovnet;
using ovnet_test::catch_error;
using ovnet_test::require_input_error;
using Catch::Matchers::Contains;

namespace {

std::vector<PeerSpec> via_dom(const std::string& s, const std::optional<IpAddr>& def) {
    std::istringstream in(s);
    return peers_from_json(read_json_stream(in, "stdin"), def);
}

std::vector<PeerSpec> via_sax(const std::string& s, const std::optional<IpAddr>& def) {
    std::istringstream in(s);
    return peers_read(in, def, "stdin");
}

struct Outcome {
    bool ok = false;
    std::vector<PeerSpec> peers;
    ErrorKind kind = ErrorKind::Runtime;
    std::string field, what;
};

Outcome run(std::vector<PeerSpec> (*f)(const std::string&, const std::optional<IpAddr>&), const std::string& s,
            const std::optional<IpAddr>& def) {
    Outcome o;
    try {
        o.peers = f(s, def);
        o.ok = true;
    } catch (const Error& e) {
        o.kind = e.kind();
        o.field = e.field();
        o.what = e.what();
    }
    return o;
}

std::string show(const std::vector<PeerSpec>& v) {
    std::string s;
    for (auto& p : v) s += p.label() + "; ";
    return s;
}

// Both paths accept with the same set, or both refuse with an input error on the same field.
void same(const std::string& input, const std::optional<IpAddr>& def = std::nullopt) {
    INFO("input: " << input);
    Outcome d = run(via_dom, input, def), s = run(via_sax, input, def);
    INFO("DOM: " << (d.ok ? "ok " + show(d.peers) : d.what));
    INFO("SAX: " << (s.ok ? "ok " + show(s.peers) : s.what));
    REQUIRE(d.ok == s.ok);
    if (d.ok) {
        REQUIRE(d.peers.size() == s.peers.size());
        for (size_t i = 0; i < d.peers.size(); i++) {
            CHECK(d.peers[i].ip == s.peers[i].ip);
            CHECK(d.peers[i].mac == s.peers[i].mac);
            CHECK(d.peers[i].vtep == s.peers[i].vtep);
        }
    } else {
        CHECK(d.kind == ErrorKind::Input);
        CHECK(s.kind == ErrorKind::Input);
        CHECK(d.field == s.field);
    }
}

const char* kAccepted[] = {
    "",
    "  \n ",
    "[]",
    R"({"ip":"10.0.0.3","mac":"02:42:0a:00:00:03","vtep":"192.0.2.12"})",
    R"([{"ip":"10.0.0.3","mac":"02:42:0a:00:00:03","vtep":"192.0.2.12"},{"ip":"10.0.0.4","mac":"02:42:0a:00:00:04","vtep":"192.0.2.13"}])",
    "{\"ip\":\"10.0.0.3\",\"mac\":\"02:42:0a:00:00:03\",\"vtep\":\"192.0.2.12\"}\n{\"ip\":\"10.0.0.4\",\"mac\":\"02:42:0a:00:00:04\"}\n",
    R"({"ip":"10.0.0.3","mac":"02:42:0a:00:00:03","vtep":"192.0.2.12"}{"mac":"02:42:0a:00:00:05"})",
    R"([{"ip":"10.0.0.3","mac":"02:42:0a:00:00:03"}][{"mac":"02:42:0a:00:00:05","vtep":"192.0.2.5"}]{"ip":"10.0.0.6","mac":"02:42:0a:00:00:06"})",
    R"([
      {"status":"peer","ip":"10.0.0.3","mac":"02:42:0a:00:00:03","vtep":"192.0.2.12","fdb_state":"permanent","neigh_state":"permanent","flags":["self"]},
      {"status":"fdb-only","ip":null,"mac":"02:42:0a:00:00:04","vtep":"192.0.2.13","fdb_state":"permanent","flags":["self"]},
      {"status":"neigh-only","ip":"10.0.0.5","mac":"02:42:0a:00:00:05","vtep":null,"neigh_state":"permanent"},
      {"status":"learned","ip":null,"mac":"02:42:0a:00:00:06","vtep":"192.0.2.14","fdb_state":"reachable","flags":["self"]},
      {"status":"local","ip":null,"mac":"00:00:00:00:00:00","vtep":null,"fdb_state":"permanent","flags":[]},
      {"status":"endpoint","ip":"10.0.0.2","mac":"02:42:0a:00:00:02","vtep":"192.0.2.11","dev":"vx0"}
    ])",
    R"([
      {"mac":"6a:1e:2b:3c:4d:5f","ifname":"vx-001001-7672d","vlan":1,"master":"ov-001001-7672d","state":"permanent"},
      {"mac":"02:42:0a:00:00:06","ifname":"vx-001001-7672d","dst":"192.0.2.12","flags":["self"],"state":"permanent"},
      {"mac":"02:42:0a:00:00:07","ifname":"vx-001001-7672d","dst":"192.0.2.13","viaIf":"eth1","flags":["self"],"state":"permanent"},
      {"mac":"02:42:0a:00:00:08","ifname":"vx-001001-7672d","dst":"192.0.2.14","flags":["self"],"state":""},
      {"mac":"02:42:0a:00:00:0b","ifname":"vx-001001-7672d","dst":"192.0.2.17","flags":["self","master"],"state":"permanent"},
      {"mac":"00:00:00:00:00:00","ifname":"vx-001001-7672d","dst":"192.0.2.12","flags":["self"],"state":"permanent"},
      {"mac":"33:33:00:00:00:01","ifname":"eth0","flags":["self"],"state":"permanent"},
      {"mac":"02:42:0a:00:00:0c","dst":"192.0.2.18","port":4789,"vni":4097,"src_vni":4097,"used":3,"updated":1,"linkNetNsId":0,"viaIfIndex":3,"nhid":0,"flags":["self","extern_learn"],"state":"permanent"}
    ])",
    R"({"ip":"fd00::3","mac":"02:42:0a:00:00:03","vtep":"2001:db8::12"})",
    R"({"status":"learned","mac":"02:42:0a:00:00:03","vtep":"192.0.2.14"} {"ip":"10.0.0.3","mac":"02:42:0a:00:00:03","vtep":"192.0.2.12"})",
    R"({"ip":"10.0.0.3","mac":"02:42:0a:00:00:03","vtep":"192.0.2.12","flags":[]})",
    R"({"ip":"10.0.0.3","mac":"02:42:0a:00:00:03","vtep":"192.0.2.12","flags":null,"fdb_state":null})",
    "{\"ip\":\"10.0.0.3\",\n  \"mac\" : \"02:42:0a:00:00:03\" ,\r\n \"vtep\":\"192.0.2.12\"}",
};

const char* kRefused[] = {
    R"({"ip":"10.0.0.3","mac":"02:42:0a:00:00:03","vtep":"192.0.2.12"}{"ip":"10.0.0.4","mac":"02:42:0a:00:00:03","vtep":"192.0.2.13"})",
    R"({"ip":"10.0.0.3","mac":"02:42:0a:00:00:03","vtep":"192.0.2.12"}{"ip":"10.0.0.3","mac":"02:42:0a:00:00:04","vtep":"192.0.2.13"})",
    R"({"ip":"10.0.0.3","mac":"00:00:00:00:00:00","vtep":"192.0.2.12"})",
    R"({"ip":"10.0.0.3","mac":"01:00:5e:00:00:03","vtep":"192.0.2.12"})",
    R"({"ip":"10.0.0.3","mac":"02:42:0a:00:00:03","vtep":"239.1.1.1"})",
    R"({"ip":"10.0.0.3","mac":"02:42:0a:00:00:03","vtep":"192.0.2.12"}{"ip":"10.0.0.4","mac":"02:42:0a:00:00:04","vtep":"2001:db8::1"})",
    R"({"mac":"02:42:0a:00:00:05"})",
    R"({"ip":"10.0.0.3","vtep":"192.0.2.12"})",
    R"({"ip":"10.0.0.3","mac":"02:42:0a:00:00","vtep":"192.0.2.12"})",
    R"({"ip":"10.0.0.300","mac":"02:42:0a:00:00:03","vtep":"192.0.2.12"})",
    R"({"ip":"10.0.0.3","mac":"02:42:0a:00:00:03","vtep":"192.0.2"})",
    R"({"ip":3,"mac":"02:42:0a:00:00:03","vtep":"192.0.2.12"})",
    R"({"ip":true,"mac":"02:42:0a:00:00:03","vtep":"192.0.2.12"})",
    R"({"ip":["10.0.0.3"],"mac":"02:42:0a:00:00:03","vtep":"192.0.2.12"})",
    R"({"ip":{"v4":"10.0.0.3"},"mac":"02:42:0a:00:00:03","vtep":"192.0.2.12"})",
    R"({"ip":"10.0.0.3","mac":"02:42:0a:00:00:03","vtep":"192.0.2.12","vni":5})",
    R"({"ip":"10.0.0.3","mac":"02:42:0a:00:00:03","vtep":"192.0.2.12","extra":{"a":[1,{"b":2}]}})",
    R"({"status":"bogus","mac":"02:42:0a:00:00:05","vtep":"192.0.2.1"})",
    R"({"status":5,"mac":"02:42:0a:00:00:05","vtep":"192.0.2.1"})",
    R"({"status":"fdb-only","ip":"10.0.0.4","mac":"02:42:0a:00:00:04","vtep":"192.0.2.13"})",
    R"({"status":"neigh-only","ip":"10.0.0.5","mac":"02:42:0a:00:00:05","vtep":"192.0.2.13"})",
    R"({"mac":"02:42:0a:00:00:06","ifname":"vx0","dst":"192.0.2.12","flags":"self","state":"permanent"})",
    R"({"mac":"02:42:0a:00:00:06","ifname":"vx0","dst":"192.0.2.12","flags":["self",1],"state":"permanent"})",
    R"({"mac":"02:42:0a:00:00:06","ifname":"vx0","dst":"192.0.2.12","flags":[["self"]],"state":"permanent"})",
    R"({"mac":"02:42:0a:00:00:06","ifname":"vx0","dst":"192.0.2.12","flags":[{"a":1}],"state":"permanent"})",
    R"({"mac":"02:42:0a:00:00:06","ifname":"vx0","dst":"192.0.2.300","state":"permanent"})",
    R"({"mac":"02:42:0a:00:00:06","ifname":"vx0","dst":"192.0.2.12","state":"permanent","bogus":1})",
    R"({"mac":"02:42:0a:00:00:06","ifname":"vx0","dst":"192.0.2.12","state":1})",
    R"({"ifname":"vx0","dst":"192.0.2.12","state":"permanent"})",
    R"(42)",
    R"("peer")",
    R"(null)",
    R"([1])",
    R"([{"ip":"10.0.0.3","mac":"02:42:0a:00:00:03","vtep":"192.0.2.12"}, "x"])",
    R"([[{"ip":"10.0.0.3","mac":"02:42:0a:00:00:03","vtep":"192.0.2.12"}]])",
    R"({"ip":"10.0.0.3","mac":"02:42:0a:00:00:03","vtep":"192.0.2.12"} 7)",
};

}  // namespace

TEST_CASE("peers_read accepts what peers_from_json accepts with the same result", "[peers][sax]") {
    for (const char* in : kAccepted) {
        same(in);
        same(in, IpAddr::parse("192.0.2.99"));
    }
    // Sanity: these really are accepted and non-trivial.
    CHECK(via_sax(kAccepted[9], std::nullopt).size() == 3);
    CHECK(via_sax(kAccepted[8], std::nullopt).size() == 4);
}

TEST_CASE("peers_read refuses what peers_from_json refuses", "[peers][sax]") {
    for (const char* in : kRefused) {
        same(in);
        INFO("input: " << in);
        require_input_error([&] { via_sax(in, std::nullopt); });
    }
}

TEST_CASE("peers_read: malformed JSON is an input error", "[peers][sax]") {
    for (const char* in : {R"({"ip":"10.0.0.3","mac":)", R"({"ip":"10.0.0.3",})", R"(])", "{\"a\":\"\\",
                           R"({"ip":"10.0.0.3","mac":"02:42:0a:00:00:03","vtep":"192.0.2.1"}})", "nope"}) {
        INFO("input: " << in);
        Error e = require_input_error([&] { via_sax(in, std::nullopt); }, "malformed JSON");
        CHECK_THAT(std::string(e.what()), Contains("stdin"));
    }
    std::istringstream in("{");
    require_input_error([&] { peers_read(in, std::nullopt, "peers.json"); }, "peers.json");
}

TEST_CASE("peers_read: the malformed-JSON byte offset counts from the start of the stream", "[peers][sax]") {
    std::string in = "{\"ip\":\"10.0.0.3\",\"mac\":\"02:42:0a:00:00:03\",\"vtep\":\"192.0.2.12\"}\n{\"b\":}";
    size_t bad = in.rfind('}');
    Error dom = catch_error([&] { via_dom(in, std::nullopt); });
    CHECK_THAT(std::string(dom.what()), Contains("at byte " + std::to_string(bad)));
    Error sax = catch_error([&] { via_sax(in, std::nullopt); });
    CHECK_THAT(std::string(sax.what()), Contains("at byte " + std::to_string(bad)));
}

TEST_CASE("peers_read: a key given twice is read like peers_from_json reads it", "[peers][sax]") {
    same(R"({"ip":"10.0.0.3","mac":"02:42:0a:00:00:03","mac":"02:42:0a:00:00:04","vtep":"192.0.2.12"})");
    same(R"({"ip":"10.0.0.3","mac":"02:42:0a:00:00:03","vtep":"192.0.2.12","vtep":null})", IpAddr::parse("192.0.2.99"));
}

TEST_CASE("peers_read handles a large set like peers_from_json", "[peers][sax]") {
    const int n = 20000;
    std::string s = "[";
    char buf[160];
    for (int i = 0; i < n; i++) {
        uint32_t a = 0x0a000000u + uint32_t(i) + 2;  // 10.0.0.2 ...
        std::snprintf(buf, sizeof buf, "%s{\"ip\":\"10.%u.%u.%u\",\"mac\":\"02:42:0a:%02x:%02x:%02x\",\"vtep\":\"192.0.2.%d\"}",
                      i ? "," : "", (a >> 16) & 255, (a >> 8) & 255, a & 255, (a >> 16) & 255, (a >> 8) & 255, a & 255,
                      i % 200 + 1);
        s += buf;
    }
    s += "]";
    auto sax = via_sax(s, std::nullopt);
    auto dom = via_dom(s, std::nullopt);
    REQUIRE(sax.size() == size_t(n));
    REQUIRE(dom.size() == size_t(n));
    bool equal = true;
    for (int i = 0; i < n; i++)
        equal &= sax[i].ip == dom[i].ip && sax[i].mac == dom[i].mac && sax[i].vtep == dom[i].vtep;
    CHECK(equal);
    CHECK(sax.front().label() == "peer 10.0.0.2 02:42:0a:00:00:02 via 192.0.2.1");
    CHECK(sax.back().ip == IpAddr::parse("10.0.78.33"));
    CHECK(sax.back().mac == docker_mac(*sax.back().ip));

    // One duplicate at the very end is still found.
    std::string dup = s.substr(0, s.size() - 1) + R"(,{"ip":"10.99.0.1","mac":"02:42:0a:00:00:02","vtep":"192.0.2.1"}])";
    Error e = require_input_error([&] { via_sax(dup, std::nullopt); }, "appears twice");
    CHECK(e.field() == "mac");
    CHECK_THAT(std::string(e.what()), Contains("#" + std::to_string(n + 1)));
}

// The change labels of an apply (PeerChange::label before, now the plan's Change::object) read
// like PeerSpec::label.
TEST_CASE("A peer change's object reads like PeerSpec::label", "[peers]") {
    PeerSpec a{IpAddr::parse("10.0.0.3"), Mac::parse("02:42:0a:00:00:03"), IpAddr::parse("192.0.2.12")};
    auto pa = fdb_plan(FdbState{}, {a}, false);
    REQUIRE(pa.changes.size() == 1);
    CHECK(pa.changes[0].object == "peer 10.0.0.3 02:42:0a:00:00:03 via 192.0.2.12");
    CHECK(pa.changes[0].object == a.label());
    FdbState cur;
    Neigh f;
    f.family = AF_BRIDGE;
    f.lladdr = Mac::parse("02:42:0a:00:00:04");
    f.dst = IpAddr::parse("192.0.2.13");
    f.state = 0x80;   // NUD_PERMANENT
    f.flags = 0x02;   // NTF_SELF
    Neigh n;
    n.family = AF_INET;
    n.dst = IpAddr::parse("10.0.0.5");
    n.lladdr = Mac::parse("02:42:0a:00:00:05");
    n.has_lladdr = true;
    n.state = 0x80;
    cur.fdb = {f};
    cur.neighs = {n};
    auto pr = fdb_plan(cur, {}, true);
    REQUIRE(pr.changes.size() == 2);
    CHECK(pr.changes[0].object == "fdb entry 02:42:0a:00:00:04 via 192.0.2.13");
    CHECK(pr.changes[1].object == "peer 10.0.0.5 02:42:0a:00:00:05");
}
