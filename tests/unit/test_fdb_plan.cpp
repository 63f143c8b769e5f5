// fdb_plan: the pure planner behind `ovnet-fdb apply` (fdb_apply_set), tested on made-up tables,
// and peers_validate, the one set validation of both the input readers and fdb_apply_set.
#include <linux/neighbour.h>
#include <sys/socket.h>

#include <set>
#include <sstream>

#include <fmt/format.h>

#include "helpers.hpp"
#include "ovnet/ovnet.hpp"

using namespace ovnet;
using ovnet_test::require_input_error;

namespace {
constexpr int kIf = 7;
IpAddr ip(const char* s) { return IpAddr::parse(s); }
Mac mac(const char* s) { return Mac::parse(s); }

PeerSpec peer(const char* i, const char* m, const char* v) {
    PeerSpec p;
    if (i) p.ip = ip(i);
    p.mac = mac(m);
    if (v) p.vtep = ip(v);
    return p;
}
// A table entry as the kernel dumps it.
Neigh fdb(const char* m, const char* dst, uint16_t state = NUD_PERMANENT, uint8_t flags = NTF_SELF) {
    Neigh n;
    n.family = AF_BRIDGE;
    n.ifindex = kIf;
    n.lladdr = mac(m);
    n.has_lladdr = true;
    if (dst) n.dst = ip(dst);
    n.state = state;
    n.flags = flags;
    return n;
}
Neigh nb(const char* i, const char* m, uint16_t state = NUD_PERMANENT) {
    Neigh n;
    n.dst = ip(i);
    n.family = n.dst.family;
    n.ifindex = kIf;
    n.lladdr = mac(m);
    n.has_lladdr = true;
    n.state = state;
    return n;
}
FdbState state(std::vector<Neigh> f, std::vector<Neigh> n) {
    FdbState s;
    s.ifindex = kIf;
    s.fdb = std::move(f);
    s.neighs = std::move(n);
    return s;
}
// The writes as short strings: "fdb+ 02:..:03 192.0.2.12", "nb+ 10.0.0.3 02:..", "fdb- ...", "nb- ...".
std::vector<std::string> writes(const FdbPlan& p) {
    static const char* kind[] = {"fdb+", "nb+", "fdb-", "fdb-prune", "nb-prune"};
    std::vector<std::string> out;
    for (auto& w : p.writes) {
        std::string s = kind[w.kind];
        if (w.fdb()) s += " " + w.entry.lladdr.str() + " " + w.entry.dst.str();
        else s += " " + w.entry.dst.str() + (w.entry.has_lladdr ? " " + w.entry.lladdr.str() : "");
        out.push_back(s + " #" + std::to_string(w.change));
    }
    return out;
}
std::string report(const Change& c) {
    std::string s;
    c.write_json(s);
    return s;
}
using V = std::vector<std::string>;
}  // namespace

TEST_CASE("fdb_plan: a new peer is its fdb entry then its neighbor", "[fdb][plan]") {
    auto p = fdb_plan(state({}, {}), {peer("10.0.0.3", "02:42:0a:00:00:03", "192.0.2.12")}, false);
    CHECK(writes(p) == V{"fdb+ 02:42:0a:00:00:03 192.0.2.12 #0", "nb+ 10.0.0.3 02:42:0a:00:00:03 #0"});
    REQUIRE(p.changes.size() == 1);
    CHECK(report(p.changes[0]) ==
          R"({"action":"added","object":"peer 10.0.0.3 02:42:0a:00:00:03 via 192.0.2.12","ip":"10.0.0.3","mac":"02:42:0a:00:00:03","vtep":"192.0.2.12"})");
    CHECK(p.changes[0].object == peer("10.0.0.3", "02:42:0a:00:00:03", "192.0.2.12").label());
    CHECK(p.stats.added == 1);
    CHECK(p.stats.writes == 2);
    // The requests are what Docker's peerAdd programs: permanent, the fdb entry `self`.
    auto& f = p.writes[0].entry;
    CHECK((f.family == AF_BRIDGE && f.ifindex == kIf && f.state == NUD_PERMANENT && f.flags == NTF_SELF));
    auto& n = p.writes[1].entry;
    CHECK((n.family == AF_INET && n.ifindex == kIf && n.state == NUD_PERMANENT && n.has_lladdr));
    CHECK_FALSE(p.writes[0].del());
}

TEST_CASE("fdb_plan: an unchanged peer writes nothing", "[fdb][plan]") {
    auto cur = state({fdb("02:42:0a:00:00:03", "192.0.2.12")}, {nb("10.0.0.3", "02:42:0a:00:00:03")});
    auto p = fdb_plan(cur, {peer("10.0.0.3", "02:42:0a:00:00:03", "192.0.2.12")}, false);
    CHECK(p.writes.empty());
    CHECK(p.changes.empty());
    CHECK(p.stats.unchanged == 1);
    CHECK(p.stats.writes == 0);
    // With prune too: it is in the set.
    p = fdb_plan(cur, {peer("10.0.0.3", "02:42:0a:00:00:03", "192.0.2.12")}, true);
    CHECK(p.writes.empty());
}

TEST_CASE("fdb_plan: a moved vtep is replaced in one write", "[fdb][plan]") {
    auto cur = state({fdb("02:42:0a:00:00:03", "192.0.2.12")}, {nb("10.0.0.3", "02:42:0a:00:00:03")});
    auto p = fdb_plan(cur, {peer("10.0.0.3", "02:42:0a:00:00:03", "192.0.2.77")}, false);
    CHECK(writes(p) == V{"fdb+ 02:42:0a:00:00:03 192.0.2.77 #0"});
    REQUIRE(p.changes.size() == 1);
    CHECK(p.changes[0].action == Action::Changed);
    CHECK(std::string(p.changes[0].word()) == "replaced");
    CHECK(p.stats.changed == 1);
    // A neighbor with another MAC is rewritten the same way.
    p = fdb_plan(cur, {peer("10.0.0.3", "02:42:0a:00:00:04", "192.0.2.12")}, false);
    CHECK(writes(p) == V{"fdb+ 02:42:0a:00:00:04 192.0.2.12 #0", "nb+ 10.0.0.3 02:42:0a:00:00:04 #0"});
    CHECK(p.changes[0].action == Action::Changed);   // the ip existed
}

TEST_CASE("fdb_plan: learned twins of a MAC are replaced or deleted", "[fdb][plan]") {
    // A learned entry with another remote: REPLACE rewrites it in place, permanent.
    auto cur = state({fdb("02:42:0a:00:00:05", "192.0.2.99", NUD_REACHABLE)}, {});
    auto p = fdb_plan(cur, {peer("10.0.0.5", "02:42:0a:00:00:05", "192.0.2.12")}, false);
    CHECK(writes(p) == V{"fdb+ 02:42:0a:00:00:05 192.0.2.12 #0", "nb+ 10.0.0.5 02:42:0a:00:00:05 #0"});
    CHECK(p.changes[0].action == Action::Changed);
    // The desired remote as a learned entry: made permanent.
    cur = state({fdb("02:42:0a:00:00:05", "192.0.2.12", NUD_REACHABLE)}, {nb("10.0.0.5", "02:42:0a:00:00:05")});
    p = fdb_plan(cur, {peer("10.0.0.5", "02:42:0a:00:00:05", "192.0.2.12")}, false);
    CHECK(writes(p) == V{"fdb+ 02:42:0a:00:00:05 192.0.2.12 #0"});
    // Several remotes: the extra ones are deleted first, the desired one kept and rewritten.
    cur = state({fdb("02:42:0a:00:00:05", "192.0.2.98", NUD_REACHABLE), fdb("02:42:0a:00:00:05", "192.0.2.12"),
                 fdb("02:42:0a:00:00:05", "192.0.2.99", NUD_REACHABLE)},
                {nb("10.0.0.5", "02:42:0a:00:00:05")});
    p = fdb_plan(cur, {peer("10.0.0.5", "02:42:0a:00:00:05", "192.0.2.12")}, false);
    CHECK(writes(p) == V{"fdb- 02:42:0a:00:00:05 192.0.2.98 #0", "fdb- 02:42:0a:00:00:05 192.0.2.99 #0",
                         "fdb+ 02:42:0a:00:00:05 192.0.2.12 #0"});
    CHECK(p.writes[0].del());
    CHECK(p.writes[0].entry.flags == NTF_SELF);
    // Two other remotes: the first is rewritten in place, the second deleted.
    cur = state({fdb("02:42:0a:00:00:05", "192.0.2.98"), fdb("02:42:0a:00:00:05", "192.0.2.99")}, {});
    p = fdb_plan(cur, {peer(nullptr, "02:42:0a:00:00:05", "192.0.2.12")}, false);
    CHECK(writes(p) == V{"fdb- 02:42:0a:00:00:05 192.0.2.99 #0", "fdb+ 02:42:0a:00:00:05 192.0.2.12 #0"});
}

TEST_CASE("fdb_plan: neighbor-only and fdb-only halves are completed", "[fdb][plan]") {
    auto cur = state({fdb("02:42:0a:00:00:04", "192.0.2.13")}, {nb("10.0.0.3", "02:42:0a:00:00:03")});
    auto p = fdb_plan(cur, {peer("10.0.0.3", "02:42:0a:00:00:03", "192.0.2.12"),
                            peer("10.0.0.4", "02:42:0a:00:00:04", "192.0.2.13")}, false);
    CHECK(writes(p) == V{"fdb+ 02:42:0a:00:00:03 192.0.2.12 #0", "nb+ 10.0.0.4 02:42:0a:00:00:04 #1"});
    REQUIRE(p.changes.size() == 2);
    CHECK(p.changes[0].action == Action::Changed);
    CHECK(p.changes[1].action == Action::Changed);
    // A stale (not permanent) neighbor is made permanent.
    cur = state({fdb("02:42:0a:00:00:03", "192.0.2.12")}, {nb("10.0.0.3", "02:42:0a:00:00:03", NUD_STALE)});
    p = fdb_plan(cur, {peer("10.0.0.3", "02:42:0a:00:00:03", "192.0.2.12")}, false);
    CHECK(writes(p) == V{"nb+ 10.0.0.3 02:42:0a:00:00:03 #0"});
    // Set entries that are halves: an fdb entry alone, a neighbor alone.
    p = fdb_plan(state({}, {}), {peer(nullptr, "02:42:0a:00:00:06", "192.0.2.14"), peer("10.0.0.7", "02:42:0a:00:00:07", nullptr)},
                 false);
    CHECK(writes(p) == V{"fdb+ 02:42:0a:00:00:06 192.0.2.14 #0", "nb+ 10.0.0.7 02:42:0a:00:00:07 #1"});
    CHECK(report(p.changes[0]) ==
          R"({"action":"added","object":"fdb entry 02:42:0a:00:00:06 via 192.0.2.14","ip":null,"mac":"02:42:0a:00:00:06","vtep":"192.0.2.14"})");
    CHECK(report(p.changes[1]) ==
          R"({"action":"added","object":"peer 10.0.0.7 02:42:0a:00:00:07","ip":"10.0.0.7","mac":"02:42:0a:00:00:07","vtep":null})");
}

TEST_CASE("fdb_plan: prune removes permanent peers only", "[fdb][plan]") {
    auto cur = state(
        {fdb("02:42:0a:00:00:03", "192.0.2.12"), fdb("02:42:0a:00:00:14", "192.0.2.20"),
         fdb("06:00:00:00:00:bb", "192.0.2.88", NUD_REACHABLE),             // learned: kept
         fdb("00:00:00:00:00:00", "192.0.2.1"),                             // the default destination: kept
         fdb("06:00:00:00:00:cc", nullptr, NUD_PERMANENT | NUD_NOARP),      // the device's own: kept
         fdb("06:00:00:00:00:dd", "192.0.2.21", NUD_PERMANENT, NTF_SELF | NTF_MASTER),   // the bridge's
         fdb("02:42:0a:00:00:1e", "192.0.2.30")},
        {nb("10.0.0.3", "02:42:0a:00:00:03"), nb("10.0.0.20", "02:42:0a:00:00:14"),
         nb("10.0.0.40", "02:42:0a:00:00:28"),                               // a neighbor-only peer
         nb("10.0.0.50", "02:42:0a:00:00:32", NUD_REACHABLE)});             // learned: kept
    auto p = fdb_plan(cur, {peer("10.0.0.3", "02:42:0a:00:00:03", "192.0.2.12")}, true);
    // A pruned peer's fdb entry and neighbor are adjacent (one sendmsg(): whole even under kill -9).
    CHECK(writes(p) == V{"fdb-prune 02:42:0a:00:00:14 192.0.2.20 #0", "nb-prune 10.0.0.20 #0",
                         "fdb-prune 02:42:0a:00:00:1e 192.0.2.30 #1", "nb-prune 10.0.0.40 #2"});
    REQUIRE(p.changes.size() == 3);
    // A pruned peer is one change: its neighbor joined the fdb entry's.
    CHECK(report(p.changes[0]) ==
          R"({"action":"removed","object":"peer 10.0.0.20 02:42:0a:00:00:14 via 192.0.2.20","ip":"10.0.0.20","mac":"02:42:0a:00:00:14","vtep":"192.0.2.20"})");
    CHECK(p.changes[1].object == "fdb entry 02:42:0a:00:00:1e via 192.0.2.30");
    CHECK(p.changes[2].object == "peer 10.0.0.40 02:42:0a:00:00:28");
    CHECK(p.stats.removed == 3);
    CHECK(p.stats.unchanged == 1);
    CHECK(p.stats.writes == 4);
    for (auto& w : p.writes) CHECK(w.del());
    CHECK(p.writes[0].entry.flags == NTF_SELF);
    CHECK_FALSE(p.writes[1].entry.has_lladdr);   // neighbor deletes carry no lladdr
    CHECK_FALSE(p.writes[3].entry.has_lladdr);
    // Without prune nothing of it is touched.
    CHECK(fdb_plan(cur, {peer("10.0.0.3", "02:42:0a:00:00:03", "192.0.2.12")}, false).writes.empty());
}

TEST_CASE("fdb_plan: IPv6 overlay and underlay", "[fdb][plan]") {
    auto cur = state({fdb("02:42:0a:00:00:03", "2001:db8::12")}, {nb("fd00::3", "02:42:0a:00:00:03"), nb("fd00::9", "02:42:0a:00:00:09")});
    auto p = fdb_plan(cur, {peer("fd00::3", "02:42:0a:00:00:03", "2001:db8::12"), peer("fd00::4", "02:42:0a:00:00:04", "2001:db8::13")},
                      true);
    CHECK(writes(p) == V{"fdb+ 02:42:0a:00:00:04 2001:db8::13 #0", "nb+ fd00::4 02:42:0a:00:00:04 #0", "nb-prune fd00::9 #1"});
    CHECK(p.writes[1].entry.family == AF_INET6);
    CHECK(report(p.changes[0]) ==
          R"({"action":"added","object":"peer fd00::4 02:42:0a:00:00:04 via 2001:db8::13","ip":"fd00::4","mac":"02:42:0a:00:00:04","vtep":"2001:db8::13"})");
    // IPv4 and IPv6 neighbors of one table are told apart.
    cur = state({}, {nb("10.0.0.3", "02:42:0a:00:00:03"), nb("fd00::3", "02:42:0a:00:00:03")});
    p = fdb_plan(cur, {peer("fd00::3", "02:42:0a:00:00:03", nullptr)}, true);
    CHECK(writes(p) == V{"nb-prune 10.0.0.3 #0"});
}

// The order is what keeps a stopped batch from leaving half-made peers behind: each peer's writes
// are adjacent (its stale twins, its fdb entry, its neighbor) in set order, and prunes come last.
TEST_CASE("fdb_plan: writes are ordered peer by peer, in set order, prunes last", "[fdb][plan]") {
    auto cur = state({fdb("02:42:0a:00:00:09", "192.0.2.19"), fdb("02:42:0a:00:00:05", "192.0.2.98", NUD_REACHABLE),
                      fdb("02:42:0a:00:00:05", "192.0.2.99", NUD_REACHABLE)},
                     {nb("10.0.0.9", "02:42:0a:00:00:09")});
    auto p = fdb_plan(cur, {peer("10.0.0.8", "02:42:0a:00:00:08", "192.0.2.18"),
                            peer("10.0.0.5", "02:42:0a:00:00:05", "192.0.2.12"),
                            peer("10.0.0.2", "02:42:0a:00:00:02", "192.0.2.11")}, true);
    CHECK(writes(p) == V{"fdb+ 02:42:0a:00:00:08 192.0.2.18 #0", "nb+ 10.0.0.8 02:42:0a:00:00:08 #0",
                         "fdb- 02:42:0a:00:00:05 192.0.2.99 #1", "fdb+ 02:42:0a:00:00:05 192.0.2.12 #1",
                         "nb+ 10.0.0.5 02:42:0a:00:00:05 #1",
                         "fdb+ 02:42:0a:00:00:02 192.0.2.11 #2", "nb+ 10.0.0.2 02:42:0a:00:00:02 #2",
                         "fdb-prune 02:42:0a:00:00:09 192.0.2.19 #3", "nb-prune 10.0.0.9 #3"});
    // Every write names its change; the changes are in the same order.
    REQUIRE(p.changes.size() == 4);
    CHECK(p.changes[0].object == "peer 10.0.0.8 02:42:0a:00:00:08 via 192.0.2.18");
    CHECK(p.changes[1].object == "peer 10.0.0.5 02:42:0a:00:00:05 via 192.0.2.12");
    CHECK(p.changes[3].action == Action::Removed);
}

// The rollback of fdb_apply_set takes back the made half of a peer it was adding: it needs to
// know from the plan which change each write belongs to and whether that change is an add.
TEST_CASE("fdb_plan: what a failed write's rollback relies on", "[fdb][plan]") {
    auto cur = state({fdb("02:42:0a:00:00:03", "192.0.2.12")}, {});
    auto p = fdb_plan(cur, {peer("10.0.0.3", "02:42:0a:00:00:03", "192.0.2.77"), peer("10.0.0.4", "02:42:0a:00:00:04", "192.0.2.13")},
                      false);
    REQUIRE(p.writes.size() == 4);
    CHECK(p.changes[p.writes[0].change].action == Action::Changed);   // a replaced peer is not taken back
    CHECK(p.changes[p.writes[2].change].action == Action::Added);     // an added one is
    CHECK(p.writes[2].change == p.writes[3].change);
    CHECK(p.writes[2].entry.has_lladdr);                               // the delete request drops it for neighbors
}

TEST_CASE("fdb_plan: a large set in order", "[fdb][plan]") {
    std::vector<PeerSpec> set;
    std::vector<Neigh> f, n;
    for (uint32_t i = 0; i < 5000; i++) {
        PeerSpec p;
        IpAddr a = ip("10.0.0.0");
        a.b[2] = uint8_t(i >> 8), a.b[3] = uint8_t(i);
        p.ip = a;
        p.mac = docker_mac(a);
        p.vtep = ip("192.0.2.1");
        set.push_back(p);
        if (i % 2) {
            f.push_back(fdb(p.mac.str().c_str(), "192.0.2.1"));
            n.push_back(nb(a.str().c_str(), p.mac.str().c_str()));
        }
    }
    auto p = fdb_plan(state(f, n), set, false);
    CHECK(p.stats.added == 2500);
    CHECK(p.stats.unchanged == 2500);
    CHECK(p.writes.size() == 5000);
    for (size_t i = 0; i < p.writes.size(); i++) CHECK(p.writes[i].change == i / 2);
}

TEST_CASE("peers_validate: the checks of the input readers, naming entries by label", "[fdb][peers]") {
    CHECK_NOTHROW(peers_validate({peer("10.0.0.3", "02:42:0a:00:00:03", "192.0.2.12"), peer(nullptr, "02:42:0a:00:00:04", "192.0.2.12")}));
    Error d = require_input_error([] {
        peers_validate({peer("10.0.0.3", "02:42:0a:00:00:03", "192.0.2.12"), peer("10.0.0.4", "02:42:0a:00:00:03", "192.0.2.13")});
    }, "appears twice");
    CHECK(std::string(d.what()) ==
          "peer 10.0.0.4 02:42:0a:00:00:03 via 192.0.2.13: mac \"02:42:0a:00:00:03\": appears twice in the set (entries #1 and #2)");
    Error i = require_input_error([] {
        peers_validate({peer("10.0.0.3", "02:42:0a:00:00:03", "192.0.2.12"), peer("10.0.0.3", "02:42:0a:00:00:04", "192.0.2.13")});
    }, "appears twice");
    CHECK(i.field() == "ip");
    Error m = require_input_error([] { peers_validate({peer("10.0.0.3", "01:00:5e:00:00:03", "192.0.2.12")}); }, "unicast");
    CHECK(m.field() == "mac");
    require_input_error([] { peers_validate({peer(nullptr, "02:42:0a:00:00:03", nullptr)}); }, "an entry needs an ip, a vtep, or both");
    require_input_error([] { peers_validate({peer("10.0.0.3", "02:42:0a:00:00:03", "239.1.1.1")}); }, "a VTEP address must be unicast");
    require_input_error([] {
        peers_validate({peer("10.0.0.3", "02:42:0a:00:00:03", "192.0.2.12"), peer("10.0.0.4", "02:42:0a:00:00:04", "2001:db8::1")});
    }, "mixes IPv4 and IPv6 VTEPs");
}

// fdb_apply_set sends each change's writes in one sendmsg() (Handle::batch_fill's joins_previous),
// which is what keeps a killed apply from leaving half peers: that needs every change's writes to
// be one contiguous run, whatever mix of adds, replaces and prunes the plan holds.
TEST_CASE("fdb_plan: each change's writes are contiguous (kill -9 leaves whole peers)", "[fdb][plan]") {
    std::vector<Neigh> f, n;
    std::vector<PeerSpec> want;
    std::vector<std::string> keep_ip, keep_mac;
    for (int i = 0; i < 300; i++) {
        std::string m = fmt::format("02:42:0a:00:{:02x}:{:02x}", i / 256, i % 256);
        std::string a = fmt::format("10.0.{}.{}", i / 256, i % 256);
        keep_mac.push_back(m), keep_ip.push_back(a);
        if (i % 3 != 0) f.push_back(fdb(keep_mac.back().c_str(), i % 2 ? "192.0.2.11" : "192.0.2.12"));
        if (i % 5 != 0) n.push_back(nb(keep_ip.back().c_str(), keep_mac.back().c_str()));
    }
    for (int i = 0; i < 300; i += 2) want.push_back(peer(keep_ip[i].c_str(), keep_mac[i].c_str(), "192.0.2.12"));
    auto p = fdb_plan(state(f, n), want, true);
    REQUIRE(p.writes.size() >= 200);
    std::set<uint32_t> done;
    for (size_t i = 0; i < p.writes.size(); i++) {
        uint32_t c = p.writes[i].change;
        if (i && p.writes[i - 1].change == c) continue;
        CHECK(done.insert(c).second);   // a change seen before, apart from its run: split
    }
    CHECK(done.size() == p.changes.size());
}
