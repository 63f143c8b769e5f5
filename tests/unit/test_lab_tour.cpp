// ovnet-lab's tour, tasks and checks, pure part: the step table from the deep dive's plan, and the
// checks on a live state faked from the plan (what `up` builds), then broken the way the break
// scenarios break it.
#include <fstream>
#include <sstream>

#include "helpers.hpp"
#include "ovnet/lab_tour.hpp"

namespace ovnet::lab {
json yaml_to_json(const std::string& text, const std::string& source);   // tools/lab_yaml.cpp
}

using namespace ovnet;
using ovnet_test::require_input_error;

namespace {

LabTopology deep_dive() {
    std::ifstream f(OVNET_LAB_DEFAULT_YAML);
    std::stringstream ss;
    ss << f.rdbuf();
    return LabTopology::from_json(lab::yaml_to_json(ss.str(), "deep-dive.yaml"));
}

LabPlan plan(bool scaled = false) { return lab_plan(deep_dive(), "lab", scaled); }

// What `up` builds, as lab_observe would read it: every namespace, link and peer of the plan.
LabSeen seen_of(const LabPlan& p) {
    LabSeen s;
    int ifindex = 100;
    for (auto& n : p.nodes) {
        NetnsState& st = s.netns[n.netns];
        st.label = n.netns;
        st.addresses.push_back(AddrView{"eth0", 2, n.underlay, "global"});
        for (auto& o : n.overlays) {
            Bridge b;
            b.name = o.bridge;
            b.mtu = o.mtu;
            st.bridges.push_back(b);
            Vtep v;
            v.name = o.vtep;
            v.mtu = o.mtu;
            v.master = o.bridge;
            v.vxlan.vni = o.vni;
            v.vxlan.port = 4789;
            v.vxlan.local = n.underlay.addr;
            st.vteps.push_back(v);
            auto& rows = st.peers[o.vtep];
            for (auto& sb : p.sandboxes) {
                if (sb.node == n.name) continue;
                for (auto& e : sb.endpoints)
                    if (e.network == o.network) {
                        PeerEntry r;
                        r.status = "peer";
                        r.ip = e.ip.addr;
                        r.mac = e.mac;
                        r.vtep = p.node(sb.node)->underlay.addr;
                        r.fdb_state = "permanent";
                        r.neigh_state = "permanent";
                        rows.push_back(r);
                    }
            }
        }
    }
    for (auto& sb : p.sandboxes) {
        NetnsState& st = s.netns[sb.netns];
        st.label = sb.netns;
        for (auto& e : sb.endpoints) {
            Endpoint x;
            x.ifname = e.ifname;
            x.ifindex = ++ifindex;
            x.kind = "veth";
            x.mac = e.mac;
            x.mtu = e.mtu;
            x.up = true;
            x.addresses = {e.ip};
            x.host_netns = p.node(sb.node)->netns;
            x.host_ifname = "veth" + std::to_string(ifindex);
            x.host_ifindex = ++ifindex;
            x.bridge = e.bridge;
            st.interfaces.push_back(x);
        }
    }
    s.netns[p.underlay_netns].label = p.underlay_netns;
    s.caps.ipvs = false;
    s.caps.ipvs_why = "no IPVS in this kernel";
    s.caps.gcm = false;
    s.caps.gcm_why = "no rfc4106(gcm(aes))";
    return s;
}

const CheckResult& by_id(const std::vector<CheckResult>& rs, const std::string& id) {
    for (auto& r : rs)
        if (r.id == id) return r;
    FAIL("no check " << id);
    return rs.front();
}

std::string all_text(const TourStep& s) {
    std::string t = s.section + "\n" + s.title + "\n" + s.seed_command + "\n" + s.seed_output + "\n";
    for (auto& c : s.commands) t += c.shell() + "\n";
    for (auto& l : s.look) t += l + "\n";
    for (auto& d : s.differs) t += d + "\n";
    return t;
}

std::string tour_text(const std::vector<TourStep>& steps) {
    std::string t;
    for (auto& s : steps) t += all_text(s);
    return t;
}

bool has(const std::string& hay, const std::string& needle) { return hay.find(needle) != std::string::npos; }

}  // namespace

TEST_CASE("lab tour: the deep dive's sections in the seed's order, with its quotations and the ovnet commands") {
    auto steps = tour_steps(plan());
    REQUIRE(steps.size() >= 20);
    std::vector<std::string> sections;
    for (auto& s : steps) {
        CHECK(s.number == &s - &steps[0] + 1);
        CHECK(!s.seed_command.empty());
        CHECK(!s.commands.empty());
        if (sections.empty() || sections.back() != s.section) sections.push_back(s.section);
    }
    // The seed's titles, verbatim (its typos included), in its order.
    std::vector<std::string> seed = {"Installing pre reqs",
                                     "Examine the networks before setting up Swarm",
                                     "Examine the network configurations created by SWARM",
                                     "Examine the overlay vxlan inmplemntation",
                                     "Examine the ingress-sbox namespace",
                                     "Interfaces and bridges",
                                     "Examine the traffic",
                                     "Creating overlay networks",
                                     "Launch Service with overlay network",
                                     "Correlate interfaces and trace it",
                                     "Show forwarding table for this overlay vtep",
                                     "Launch worker service in same overlay",
                                     "Scale redis service",
                                     "Underlying VXLAN service and traffic",
                                     "Internal Load Balancing",
                                     "Port Publishing, Routing Mesh, Ingress Network and External Service Discovery",
                                     "Service Networking and Routing Mesh",
                                     "Additional Commands"};
    CHECK(sections == seed);
    std::string t = tour_text(steps);
    // The seed's quotations.
    CHECK(has(t, "\"com.docker.network.driver.overlay.vxlanid_list\": \"4096\""));
    CHECK(has(t, "02:42:0a:00:00:06 dst 159.89.39.105 self permanent"));
    CHECK(has(t, "0 0 DNAT tcp -- * * 0.0.0.0/0 0.0.0.0/0 tcp dpt:30000 to:172.18.0.2:30000"));
    // The real tools on the lab's names.
    CHECK(has(t, "ovnet-bridge -t -n lab-swarm-01 show\n"));
    CHECK(has(t, "ovnet-vtep -t -n lab-swarm-01 show vx-001000-lpq3t"));
    CHECK(has(t, "ovnet-fdb -t -n lab-swarm-01 show -d vx-001002-7672d"));
    CHECK(has(t, "ovnet-sbox -t show lab-swarm-01-ingress_sbox"));
    CHECK(has(t, "ovnet-sbox -t show lab-swarm-01-redis.2"));
    CHECK(has(t, "ovnet-lb -t -n lab-swarm-01-redis.2 show"));
    CHECK(has(t, "ovnet-trace -t --netns-prefix lab- --from lab-swarm-01-redis.2 tcp 10.0.0.5:6379"));
    CHECK(has(t, "ovnet-trace -t --netns-prefix lab- --from client tcp 192.0.2.11:30000"));
    CHECK(has(t, "ovnet-lab -t --prefix lab scale redis=5"));
    // What to look at, from the plan: the seed's numbers.
    CHECK(has(t, "VNI 4096"));
    CHECK(has(t, "VNI 4097"));
    CHECK(has(t, "MTU 1450"));
    CHECK(has(t, "02:42:0a:ff:00:03 dst 192.0.2.12: the ingress_sbox endpoint (10.255.0.3) on swarm-02"));
    CHECK(has(t, "02:42:0a:00:00:06 dst 192.0.2.12: eth0 of redis.1 on swarm-02 (10.0.0.6)"));
    CHECK(has(t, "02:42:0a:00:00:09 dst 192.0.2.13: worker.1 on swarm-03 (10.0.0.9)"));
    CHECK(has(t, "02:42:0a:00:00:0a dst 192.0.2.13: the new redis.3 on swarm-03 (10.0.0.10)"));
    CHECK(has(t, "redis.5 (10.0.0.12) runs on swarm-01 itself"));
    CHECK(has(t, "FWM 258 rr over 10.255.0.6, 10.255.0.7"));
    CHECK(has(t, "MARK set 0x102 for dpt:30000"));
    CHECK(has(t, "{ifindex lab-swarm-01-ingress_sbox eth0} <==> {peerindex lab-swarm-01-ingress_sbox eth0}"));
    // Where Docker differs.
    CHECK(has(t, "br0 and vxlan0"));
    CHECK(has(t, "ov-001002-7672d (VNI 4098)"));
    CHECK(has(t, "marks per daemon"));
    // IPVS steps say so; the scale step is marked.
    size_t ipvs = 0, scale = 0, capture = 0;
    for (auto& s : steps) {
        for (auto& c : s.commands) ipvs += c.need == TourNeed::Ipvs;
        scale += s.scale;
        if (s.capture) {
            capture++;
            CHECK(!s.traffic_from.empty());
            CHECK(s.traffic_port != 0);
        }
    }
    CHECK(ipvs >= 5);
    CHECK(scale == 1);
    CHECK(capture == 3);
    // A scaled plan gives the same steps.
    CHECK(tour_steps(plan(true)).size() == steps.size());
}

TEST_CASE("lab tour: look lines are completed with live ifindexes and veth names") {
    LabPlan p = plan();
    LabSeen s = seen_of(p);
    auto& eps = s.netns["lab-swarm-01-ingress_sbox"].interfaces;
    std::string line = "{ifindex lab-swarm-01-ingress_sbox eth0} <==> {peerindex lab-swarm-01-ingress_sbox eth0}: "
                       "{peer lab-swarm-01-ingress_sbox eth0} {peer nowhere eth0} {no}";
    std::string want = std::to_string(eps[0].ifindex) + " <==> " + std::to_string(eps[0].host_ifindex) + ": " +
                       eps[0].host_ifname + " ? {no}";
    CHECK(tour_annotate(line, s.netns) == want);
    CHECK(tour_annotate("no braces", s.netns) == "no braces");
}

TEST_CASE("lab tasks: the seed's Try this and Task items, with the plan's names") {
    auto tasks = lab_tasks(plan());
    REQUIRE(tasks.size() == 9);
    CHECK(has(tasks[0].text, "Do the same from the other end"));
    CHECK(has(tasks[0].text, "(vx-001002-7672d) on swarm-02"));
    CHECK(has(tasks[0].text, "running on swarm-01"));
    CHECK(has(tasks[1].text, "mynet0"));
    CHECK(tasks[6].needs_scale);
    CHECK(tasks[7].need == TourNeed::Ipvs);
}

TEST_CASE("lab check: the health checks pass on what up builds and name each break") {
    LabPlan p = plan();
    LabSeen s = seen_of(p);
    auto rs = lab_health_checks(p, s);
    REQUIRE(rs.size() == lab_health_check_ids().size());
    for (auto& r : rs) {
        INFO(r.id << ": " << r.message);
        if (r.id == "lb" || r.id == "publish" || r.id == "crypt") {
            CHECK(r.status == CheckStatus::Skipped);
            CHECK(has(r.message, "needs "));
        } else {
            CHECK(r.status == CheckStatus::Passed);
        }
    }
    CHECK(lab_snapshot_check(p, s).status == CheckStatus::Passed);

    auto peers_of = [&](LabSeen& x) -> std::vector<PeerEntry>& { return x.netns["lab-swarm-01"].peers["vx-001002-7672d"]; };
    auto find = [](std::vector<PeerEntry>& rows, const std::string& mac) -> PeerEntry& {
        for (auto& r : rows)
            if (r.mac == Mac::parse(mac)) return r;
        FAIL("no " << mac);
        return rows.front();
    };
    SECTION("an fdb entry without its neighbor (#52661)") {
        LabSeen b = s;
        auto& r = find(peers_of(b), "02:42:0a:00:00:06");
        r.status = "fdb-only";
        r.ip = IpAddr{};
        auto c = by_id(lab_health_checks(p, b), "fdb-peers");   // a copy: the vector is a temporary
        CHECK(c.status == CheckStatus::Failed);
        CHECK(has(c.message, "no neighbor (moby #52661)"));
        CHECK(has(c.hint, "ovnet-fdb -n lab-swarm-01 add -d vx-001002-7672d --ip 10.0.0.6 --vtep 192.0.2.12"));
    }
    SECTION("a learned entry shadowing a peer (#31588)") {
        LabSeen b = s;
        PeerEntry l;
        l.status = "learned";
        l.mac = Mac::parse("02:42:0a:00:00:06");
        l.vtep = IpAddr::parse("192.0.2.13");
        l.flags = {"self"};
        peers_of(b).push_back(l);
        // The bridge's own learned twin (flag master) is normal forwarding state.
        LabSeen m = s;
        PeerEntry bl;
        bl.status = "learned";
        bl.mac = Mac::parse("02:42:0a:00:00:06");
        bl.flags = {"master"};
        peers_of(m).push_back(bl);
        CHECK(by_id(lab_health_checks(p, m), "fdb-peers").status == CheckStatus::Passed);
        auto c = by_id(lab_health_checks(p, b), "fdb-peers");   // a copy: the vector is a temporary
        CHECK(c.status == CheckStatus::Failed);
        CHECK(has(c.message, "shadows the peer (moby #31588)"));
    }
    SECTION("a peer pointing to a departed node") {
        LabSeen b = s;
        PeerEntry d;
        d.status = "peer";
        d.ip = IpAddr::parse("10.0.0.99");
        d.mac = Mac::parse("02:42:0a:00:00:63");
        d.vtep = IpAddr::parse("192.0.2.44");
        peers_of(b).push_back(d);
        auto c = by_id(lab_health_checks(p, b), "fdb-peers");   // a copy: the vector is a temporary
        CHECK(c.status == CheckStatus::Failed);
        CHECK(has(c.message, "stale peer 02:42:0a:00:00:63 -> 192.0.2.44 (no node of the lab: departed)"));
        CHECK(lab_snapshot_check(p, b).status == CheckStatus::Failed);
    }
    SECTION("a peer sent to the wrong node") {
        LabSeen b = s;
        find(peers_of(b), "02:42:0a:00:00:06").vtep = IpAddr::parse("192.0.2.13");
        auto c = by_id(lab_health_checks(p, b), "fdb-peers");   // a copy: the vector is a temporary
        CHECK(c.status == CheckStatus::Failed);
        CHECK(has(c.message, "is sent to 192.0.2.13, not 192.0.2.12"));
    }
    SECTION("an MTU mismatch") {
        LabSeen b = s;
        b.netns["lab-swarm-02-redis.1"].interfaces[0].mtu = 1500;
        auto rs2 = lab_health_checks(p, b);
        CHECK(by_id(rs2, "mtu").status == CheckStatus::Failed);
        CHECK(has(by_id(rs2, "mtu").message, "lab-swarm-02-redis.1 eth0: MTU 1500, not 1424"));
        CHECK(by_id(rs2, "links").status == CheckStatus::Passed);
        auto snap = lab_snapshot_check(p, b);
        CHECK(snap.status == CheckStatus::Failed);
        CHECK(has(snap.message, "lab-swarm-02-redis.1 interfaces eth0 mtu: 1500, expected 1424"));
    }
    SECTION("a missing namespace") {
        LabSeen b = s;
        b.netns.erase("lab-swarm-03-worker.1");
        CHECK(by_id(lab_health_checks(p, b), "namespaces").status == CheckStatus::Failed);
    }
    SECTION("volatile fields do not count") {
        LabSeen b = s;
        for (auto& [ns, st] : b.netns)
            for (auto& e : st.interfaces) e.ifindex += 1000, e.host_ifname += "x";
        PeerEntry l;
        l.status = "learned";
        l.mac = Mac::parse("02:42:0a:00:00:77");
        peers_of(b).push_back(l);
        CHECK(lab_snapshot_check(p, b).status == CheckStatus::Passed);
    }
}

TEST_CASE("lab check: task answers, right and wrong") {
    LabPlan p = plan();
    LabSeen s = seen_of(p);
    auto ok = [&](unsigned n, std::vector<std::string> a) {
        auto r = lab_task_check(p, s, n, a);
        INFO(n << ": " << r.message << " / " << r.hint);
        return r.status;
    };
    // Task 1: redis.2 on swarm-01 has 02:42:0a:00:00:07; swarm-02's fdb sends it to 192.0.2.11.
    auto r1 = lab_task_check(p, s, 1, {"02:42:0a:00:00:07", "redis.2", "swarm-01"});
    CHECK(r1.status == CheckStatus::Passed);
    CHECK(has(r1.message, "sends it to 192.0.2.11 (swarm-01); it is eth0 of redis.2 on swarm-01 (10.0.0.7/24)"));
    CHECK(ok(1, {"02:42:0a:00:00:07"}) == CheckStatus::Passed);
    CHECK(ok(1, {"02:42:0a:00:00:07", "redis.1"}) == CheckStatus::Failed);
    CHECK(ok(1, {"02:42:0a:00:00:09"}) == CheckStatus::Failed);   // worker.1 is on swarm-03
    CHECK(ok(1, {"02:42:0a:00:00:06"}) == CheckStatus::Failed);   // swarm-02's own task: no remote entry
    require_input_error([&] { lab_task_check(p, s, 1, {"not-a-mac"}); }, "check 1: \"not-a-mac\" is not a MAC");
    require_input_error([&] { lab_task_check(p, s, 1, {}); }, "check 1: the answer is MAC");
    require_input_error([&] { lab_task_check(p, s, 10, {"x"}); }, "check 10: no such task (tasks 1..9)");
    CHECK(ok(2, {"all"}) == CheckStatus::Passed);
    CHECK(ok(2, {"swarm-01"}) == CheckStatus::Failed);
    CHECK(ok(3, {"vx-001001-3n8zt", "4097"}) == CheckStatus::Passed);
    CHECK(ok(3, {"vx-001001-3n8zt", "4096"}) == CheckStatus::Failed);
    CHECK(ok(4, {"swarm-02", "swarm-01"}) == CheckStatus::Passed);
    CHECK(ok(4, {"swarm-03"}) == CheckStatus::Failed);
    CHECK(ok(6, {"02:42:0a:00:00:09"}) == CheckStatus::Passed);
    CHECK(ok(6, {"02:42:0a:00:00:06"}) == CheckStatus::Failed);
    // Before the scale: swarm-01's vote VTEP has redis.1, worker.1, vote.1 and vote.2.
    CHECK(ok(7, {"4"}) == CheckStatus::Passed);
    CHECK(ok(7, {"6"}) == CheckStatus::Failed);
    CHECK(ok(8, {"0x101"}) == CheckStatus::Skipped);   // no IPVS here
    // Every task's own answer passes (the IPVS ones are skipped here).
    for (auto& t : lab_tasks(p)) {
        auto a = lab_task_answer(p, s, t.number);
        REQUIRE(a);
        CHECK(ok(t.number, *a) == (t.need == TourNeed::Ipvs ? CheckStatus::Skipped : CheckStatus::Passed));
    }
    CHECK(*lab_task_answer(p, s, 8) == std::vector<std::string>{"0x101"});
    CHECK(*lab_task_answer(p, s, 9) == std::vector<std::string>{"10.255.0.6", "10.255.0.7"});
    // After the scale: 3 more on other nodes (redis.3 swarm-03, redis.4 swarm-02), redis.5 is local.
    LabPlan ps = plan(true);
    LabSeen ss = seen_of(ps);
    CHECK(*lab_task_answer(ps, ss, 7) == std::vector<std::string>{"6"});
    CHECK(lab_task_check(ps, ss, 7, {"6"}).status == CheckStatus::Passed);
    // The scaled plan vs the unscaled lab: the live count is right but the plan has more.
    CHECK(lab_task_check(ps, s, 7, {"4"}).status == CheckStatus::Failed);
}

TEST_CASE("lab check: results as JSON") {
    CheckResult r;
    r.id = "fdb-peers";
    r.name = "x";
    r.status = CheckStatus::Skipped;
    r.message = "needs IPVS";
    CHECK(r.to_json().dump() ==
          R"({"id":"fdb-peers","name":"x","status":"skipped","message":"needs IPVS","hint":null})");
}
