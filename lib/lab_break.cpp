// ovnet-lab's break and fix: the scenario table, the pure plan of a break, its injection with the
// library, and the grade of a check over an audit of the lab's nodes.
#include "ovnet/lab_break.hpp"

#include <fmt/format.h>
#include <linux/neighbour.h>
#include <sys/socket.h>

#include <arpa/inet.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "ovnet/error.hpp"
#include "ovnet/fdb.hpp"
#include "ovnet/iptables.hpp"
#include "ovnet/link.hpp"
#include "ovnet/neigh.hpp"
#include "ovnet/netlink.hpp"
#include "ovnet/netns.hpp"
#include "ovnet/types.hpp"

namespace ovnet {

/// The filter chain the esp-blocked scenario writes: an ovnet-owned chain standing for the node's
/// firewall (hooked from INPUT).
static constexpr const char* kFirewallChain = "OVNET-LAB-FIREWALL";

const std::vector<LabScenario>& lab_scenarios() {
    static const std::vector<LabScenario> all = {
        {"fdb-half-entry", "moby/moby#52661", "an fdb entry without its neighbor", "",
         {"FDB_HALF_ENTRY"},
         "a task on one node no longer reaches one task on another node: ping says \"Destination Host "
         "Unreachable\" (ARP gets no answer), while every other task answers",
         "the VTEP answers the tasks' ARP itself (proxy) from its neighbor table; an fdb entry alone "
         "(MAC -> VTEP) is half a peer: compare `ovnet-fdb show` on the node with the remote task's address"},
        {"learned-shadow", "moby/moby#31588", "a learned entry shadowing a peer", "",
         {"LEARNED_SHADOWS_PERMANENT", "PEER_WRONG_VTEP"},
         "a task's packets to one remote task leave toward the wrong node: the ping times out, tcpdump "
         "on the underlay shows the VXLAN packets going to a node that has no such task",
         "a learned (dynamic) fdb entry replaced the permanent peer: `ovnet-fdb show` lists it as "
         "\"learned\", with another VTEP than the node the task runs on"},
        {"no-dnat", "moby/moby#33195", "a published port without its DNAT", "ipvs",
         {"DNAT_MISSING", "PUBLISHED_PORT_PARTIAL", "FWM_WITHOUT_MARK_RULE"},
         "the published port answers on every node but one: connections to that node's address are "
         "refused",
         "the routing mesh starts in the host's nat table: a DNAT of the published port to the "
         "ingress sandbox (172.18.0.2); compare `ovnet-publish show` on the nodes"},
        {"departed-peer", "", "a peer pointing to a departed node's VTEP", "",
         {"PEER_STALE"},
         "nothing fails yet, but a node keeps a peer whose VTEP is a node that left the swarm: an "
         "address reused later is sent to nowhere",
         "`ovnet-fdb show` lists a peer whose VTEP address is no node of the lab; ovnet-audit calls it "
         "stale"},
        {"mtu-mismatch", "", "one node's overlay with MTU 1500", "",
         {"MTU_MISMATCH", "MTU_TOO_LARGE"},
         "small packets pass, large ones from that node vanish: ping -s 1400 fails, ssh hangs after "
         "the banner",
         "the VXLAN header takes 50 bytes of the underlay's 1500 (ESP more): compare the MTU of the "
         "overlay's bridge and VTEP across the nodes (`ovnet-vtep show`, `ovnet-bridge show`)"},
        {"esp-blocked", "moby/moby#25266", "ESP dropped on a node's underlay", "gcm",
         {"ESP_BLOCKED"},
         "on the encrypted network the node's tasks reach nobody and nobody reaches them; the "
         "unencrypted networks work",
         "encrypted overlays carry VXLAN inside ESP (IP protocol 50), which firewalls often drop: "
         "capture ESP on the node's underlay (`ovnet-lab capture NODE/eth0 --esp`) and read its rules"},
    };
    return all;
}

const LabScenario* lab_scenario_find(const std::string& name) {
    for (auto& s : lab_scenarios())
        if (s.name == name) return &s;
    return nullptr;
}

// ---- the record ----

json LabBreak::to_json() const {
    json j = json::object();
    j["scenario"] = scenario;
    j["node"] = node;
    j["netns"] = netns;
    j["device"] = device;
    j["bridge"] = bridge.empty() ? json() : json(bridge);
    j["what"] = what;
    j["ip"] = ip.valid() ? json(ip.str()) : json();
    j["mac"] = mac.is_zero() ? json() : json(mac.str());
    j["vtep"] = vtep.valid() ? json(vtep.str()) : json();
    j["wrong_vtep"] = wrong_vtep.valid() ? json(wrong_vtep.str()) : json();
    j["mtu"] = mtu ? json(mtu) : json();
    j["good_mtu"] = good_mtu ? json(good_mtu) : json();
    j["port"] = port ? json(port) : json();
    j["fix"] = fix;
    return j;
}

LabBreak LabBreak::from_json(const json& j) {
    if (!j.is_object()) throw_input("break record", "", j.dump(), "expected an object");
    LabBreak b;
    auto s = [&](const char* k) { return j.contains(k) && j[k].is_string() ? j[k].get<std::string>() : std::string(); };
    auto u = [&](const char* k) { return j.contains(k) && j[k].is_number_unsigned() ? j[k].get<uint32_t>() : 0u; };
    b.scenario = s("scenario");
    if (!lab_scenario_find(b.scenario)) throw_input("break record", "scenario", b.scenario, "no such scenario");
    b.node = s("node");
    b.netns = s("netns");
    b.device = s("device");
    b.bridge = s("bridge");
    b.what = s("what");
    if (!s("ip").empty()) b.ip = IpAddr::parse(s("ip"));
    if (!s("mac").empty()) b.mac = Mac::parse(s("mac"));
    if (!s("vtep").empty()) b.vtep = IpAddr::parse(s("vtep"));
    if (!s("wrong_vtep").empty()) b.wrong_vtep = IpAddr::parse(s("wrong_vtep"));
    b.mtu = u("mtu");
    b.good_mtu = u("good_mtu");
    b.port = uint16_t(u("port"));
    if (j.contains("fix") && j["fix"].is_array())
        for (auto& c : j["fix"])
            if (c.is_string()) b.fix.push_back(c.get<std::string>());
    return b;
}

// ---- the plan of a break (pure) ----

namespace {

bool plain_network(const std::string& n) { return n == "ingress" || n == "docker_gwbridge"; }


bool exists(const LabPlan& p, const LabSandbox& s) { return !s.scaled || p.scaled; }

// The remote peer the fdb scenarios break on `victim`: the first task (in plan order) on another
// node, on an overlay the victim has too.
struct Remote {
    const LabSandbox* sb = nullptr;
    const LabEndpoint* ep = nullptr;
    const LabNode* node = nullptr;
    const LabOverlay* ov = nullptr;   ///< the victim's overlay of that network
};

Remote remote_task(const LabPlan& p, const LabNode& victim) {
    for (auto& s : p.sandboxes) {
        if (s.role != "task" || s.node == victim.name || !exists(p, s)) continue;
        for (auto& e : s.endpoints) {
            if (plain_network(e.network)) continue;
            auto* ov = (victim).overlay(e.network);
            auto* n = (p).node(s.node);
            if (ov && n) return {&s, &e, n, ov};
        }
    }
    throw_input("lab " + p.prefix, "topology", p.topology.name,
                "no task runs on a node other than " + victim.name + " on a network of " + victim.name + ": nothing to break");
}

// The overlay of the first task network (the one the tasks talk over), on node n.
const LabOverlay& task_overlay(const LabPlan& p, const LabNode& n) {
    for (auto& s : p.sandboxes)
        if (s.role == "task")
            for (auto& e : s.endpoints)
                if (!plain_network(e.network))
                    if (auto* ov = (n).overlay(e.network)) return *ov;
    for (auto& o : n.overlays)
        if (o.network != "ingress") return o;
    if (n.overlays.empty()) throw_input("node " + n.name, "overlays", "[]", "the node has no overlay");
    return n.overlays.front();
}

std::string peer_add_cmd(const std::string& ns, const std::string& dev, const IpAddr& ip, const Mac& mac, const IpAddr& vtep) {
    return fmt::format("ovnet-fdb -n {} add -d {} --ip {} --mac {} --vtep {}", ns, dev, ip.str(), mac.str(), vtep.str());
}

uint32_t u32(const IpAddr& a) {
    uint32_t v = 0;
    std::memcpy(&v, a.b.data(), 4);
    return ntohl(v);
}

IpAddr v4(uint32_t host_order) {
    uint32_t v = htonl(host_order);
    return IpAddr::from_bytes(AF_INET, &v);
}

// A host address of `pfx` no endpoint or VIP of the plan holds, from the top: a departed node's task.
IpAddr unused_address(const LabPlan& p, const Prefix& pfx) {
    std::vector<IpAddr> used;
    for (auto& s : p.sandboxes)
        for (auto& e : s.endpoints) used.push_back(e.ip.addr);
    for (auto& sv : p.services) used.push_back(sv.vip);
    if (pfx.addr.family != AF_INET || pfx.len > 30) throw_input("network", "subnet", pfx.str(), "no IPv4 host address to pick");
    uint32_t base = u32(pfx.network().addr), size = uint32_t(1) << (32 - pfx.len);
    for (uint32_t off = size - 2; off >= 1; off--) {
        IpAddr a = v4(base + off);
        if (std::find(used.begin(), used.end(), a) == used.end()) return a;
    }
    throw_input("network", "subnet", pfx.str(), "no free address for a departed node's task");
}

// The underlay address of node i (1-based): .10+i.
IpAddr underlay_of_index(const LabPlan& p, unsigned i) { return v4(u32(p.topology.underlay.network().addr) + 10 + i); }

}  // namespace

LabBreak lab_break_plan(const LabPlan& p, const std::string& scenario) {
    const LabScenario* sc = lab_scenario_find(scenario);
    if (!sc) {
        std::string names;
        for (auto& s : lab_scenarios()) names += (names.empty() ? "" : ", ") + s.name;
        throw_input("break", "scenario", scenario, "no such scenario (" + names + ")");
    }
    if (p.nodes.empty()) throw_input("lab " + p.prefix, "nodes", "[]", "the lab has no node");
    LabBreak b;
    b.scenario = scenario;
    // The fdb scenarios break the first node (where the tour's redis.2 runs); the MTU and ESP ones
    // a second node when there is one, so that the first still works.
    const LabNode& first = p.nodes.front();
    const LabNode& second = p.nodes.size() > 1 ? p.nodes[1] : first;
    if (scenario == "fdb-half-entry" || scenario == "learned-shadow" || scenario == "departed-peer") {
        b.node = first.name;
        b.netns = first.netns;
        if (scenario == "departed-peer") {
            const LabOverlay& ov = task_overlay(p, first);
            b.device = ov.vtep;
            Prefix subnet;
            for (auto& n : p.topology.networks)
                if (n.name == ov.network) subnet = n.subnet;
            if (ov.network == "ingress") subnet = p.topology.ingress.subnet;
            b.ip = unused_address(p, subnet);
            b.mac = docker_mac(b.ip);
            b.vtep = underlay_of_index(p, unsigned(p.nodes.size()) + 1);
            b.what = fmt::format("{}: {} keeps the peer {} {} of a task on a departed node (VTEP {})", b.node, b.device,
                                 b.ip.str(), b.mac.str(), b.vtep.str());
            b.fix = {fmt::format("ovnet-fdb -n {} del -d {} --mac {}", b.netns, b.device, b.mac.str())};
            return b;
        }
        Remote r = remote_task(p, first);
        b.device = r.ov->vtep;
        b.ip = r.ep->ip.addr;
        b.mac = r.ep->mac;
        b.vtep = r.node->underlay.addr;
        b.fix = {peer_add_cmd(b.netns, b.device, b.ip, b.mac, b.vtep)};
        if (scenario == "fdb-half-entry") {
            b.what = fmt::format("{}: {} lost the neighbor entry of {} ({} on {}); its fdb entry {} -> {} stays",
                                 b.node, b.device, b.ip.str(), r.sb->task, r.node->name, b.mac.str(), b.vtep.str());
        } else {
            // Toward a third node when there is one (a wrong but live VTEP), else a departed one.
            b.wrong_vtep = underlay_of_index(p, unsigned(p.nodes.size()) + 1);
            for (auto& n : p.nodes)
                if (n.name != first.name && n.name != r.node->name) { b.wrong_vtep = n.underlay.addr; break; }
            b.what = fmt::format("{}: {} learned {} ({} on {}) via {} instead of its peer's {}", b.node, b.device,
                                 b.mac.str(), r.sb->task, r.node->name, b.wrong_vtep.str(), b.vtep.str());
        }
        return b;
    }
    if (scenario == "mtu-mismatch") {
        const LabOverlay& ov = task_overlay(p, second);
        b.node = second.name;
        b.netns = second.netns;
        b.device = ov.vtep;
        b.bridge = ov.bridge;
        b.mtu = 1500;
        b.good_mtu = ov.mtu;
        b.what = fmt::format("{}: {} and {} of network {} set to MTU 1500 (the other nodes: {})", b.node, ov.vtep,
                             ov.bridge, ov.network, ov.mtu);
        b.fix = {fmt::format("ovnet-bridge -n {} add {} --mtu {}", b.netns, b.bridge, b.good_mtu),
                 fmt::format("ovnet-vtep -n {0} show {1} -j | sed 's/\"mtu\":1500/\"mtu\":{2}/' | ovnet-vtep -n {0} apply",
                             b.netns, b.device, b.good_mtu)};
        return b;
    }
    if (scenario == "no-dnat") {
        const LabLbService* pub = nullptr;
        for (auto& s : p.services)
            if (s.publish) { pub = &s; break; }
        if (!pub) throw_input("lab " + p.prefix, "services", p.topology.name, "no service publishes a port: nothing to break");
        b.node = first.name;
        b.netns = first.netns;
        b.device = "OVNET-INGRESS";
        b.port = *pub->publish;
        std::string sbox = p.prefix + "-" + first.name + "-ingress_sbox";
        std::string gw, lb_ip;   // lb_ip: the sandbox's own ingress address (the SNAT source), as up gives it
        for (auto& s : p.sandboxes)
            if (s.node == first.name && s.role == "ingress_sbox") {
                sbox = s.netns;
                for (auto& e : s.endpoints) {
                    if (e.network == "docker_gwbridge") gw = e.ip.addr.str();
                    else lb_ip = e.ip.addr.str();   // an ingress sandbox's other endpoint is the ingress
                }
            }
        std::string backends;
        for (auto& a : pub->ingress_backends) backends += " --backend " + a.str();
        b.what = fmt::format("{}: the DNAT of port {} to the ingress sandbox is gone from nat {}", b.node, b.port, b.device);
        b.fix = {fmt::format("ovnet-publish -n {} add --port {} --ingress-sbox {} --gw-ip {} --lb-ip {} --fwmark {}{}", b.netns,
                             b.port, sbox, gw.empty() ? "172.18.0.2" : gw, lb_ip, pub->ingress_fwmark, backends)};
        return b;
    }
    // esp-blocked
    b.node = second.name;
    b.netns = second.netns;
    b.device = kFirewallChain;
    b.what = fmt::format("{}: its firewall (filter {}, hooked from INPUT) drops ESP", b.node, kFirewallChain);
    b.fix = {"# no ovnet command: open the node's firewall for ESP (IP protocol 50) from the other nodes, here",
             fmt::format("ip netns exec {} iptables -D {} -p esp -j DROP", b.netns, kFirewallChain)};
    return b;
}

// ---- the injection ----

Changes lab_break_apply(const LabPlan& p, const LabBreak& b) {
    (void)p;
    Changes ch;
    auto vtep_link = [&](Handle& h) {
        auto l = link_get(h, b.device);
        if (!l) throw Error(ErrorKind::Runtime, b.node + ": no device " + b.device + " in " + b.netns + " (is the lab up?)");
        return *l;
    };
    if (b.scenario == "fdb-half-entry") {
        Handle h(b.netns);
        Link l = vtep_link(h);
        Neigh n;
        n.family = AF_INET;
        n.ifindex = l.ifindex;
        n.dst = b.ip;
        n.state = NUD_PERMANENT;
        h.request(n.msg(true), "neighbor " + b.ip.str() + " on " + b.device);
        ch.push_back(Change{Action::Removed, b.netns + " " + b.device + " neighbor " + b.ip.str() + " " + b.mac.str()});
    } else if (b.scenario == "learned-shadow") {
        Handle h(b.netns);
        Link l = vtep_link(h);
        // The permanent entry goes, a learned one (dynamic) takes its place: the kernel does not
        // turn a user's permanent entry into a learned one by a replace. extern_learn keeps the
        // VTEP's ageing from removing it during the lesson.
        Neigh old;
        old.family = AF_BRIDGE;
        old.ifindex = l.ifindex;
        old.lladdr = b.mac;
        old.has_lladdr = true;
        old.dst = b.vtep;
        old.flags = NTF_SELF;
        old.state = NUD_PERMANENT;
        int err = h.request_errno(old.msg(true));
        if (err && err != ENOENT) throw_sys(err, "delete", {}, "fdb entry " + b.mac.str() + " on " + b.device);
        Neigh f = old;
        f.dst = b.wrong_vtep;
        f.state = NUD_REACHABLE;
        f.flags = NTF_SELF | NTF_EXT_LEARNED;
        h.request(f.msg(false), "fdb entry " + b.mac.str() + " on " + b.device);
        ch.push_back(Change::with_detail(Action::Changed, b.netns + " " + b.device + " fdb entry " + b.mac.str(),
                                         json{{"vtep", b.wrong_vtep.str()}, {"state", "learned"}}, "replaced"));
    } else if (b.scenario == "departed-peer") {
        Handle h(b.netns);
        vtep_link(h);
        PeerSpec ps;
        ps.ip = b.ip;
        ps.mac = b.mac;
        ps.vtep = b.vtep;
        auto c = fdb_add(h, b.device, ps);
        ch.insert(ch.end(), c.begin(), c.end());
    } else if (b.scenario == "mtu-mismatch") {
        Handle h(b.netns);
        Link v = vtep_link(h);
        auto br = link_get(h, b.bridge);
        if (!br) throw Error(ErrorKind::Runtime, b.node + ": no bridge " + b.bridge + " in " + b.netns + " (is the lab up?)");
        LinkChange c;
        c.mtu = b.mtu;
        link_set(h, br->ifindex, c, "bridge " + b.bridge);
        link_set(h, v.ifindex, c, "vtep " + b.device);
        ch.push_back(Change::with_detail(Action::Changed, "bridge " + b.bridge, json{{"mtu", b.mtu}}, "set"));
        ch.push_back(Change::with_detail(Action::Changed, "vtep " + b.device, json{{"mtu", b.mtu}}, "set"));
    } else if (b.scenario == "no-dnat") {
        std::string path = netns_resolve(b.netns);
        IptState st = ipt_read_all(path);
        auto& t = st.table("nat");
        if (!t.has_chain(b.device))
            throw Error(ErrorKind::Runtime, b.node + ": no chain nat " + b.device + " (the routing mesh is not up)");
        IptChain c{"nat", b.device, {}, {}};
        std::string dport = "--dport " + std::to_string(b.port) + " ";
        for (auto& r : t.chain_rules(b.device))
            if (!(r.find("-j DNAT") != std::string::npos && r.find(dport) != std::string::npos)) c.rules.push_back(r);
        auto cc = ipt_apply(path, {c});
        ch.insert(ch.end(), cc.begin(), cc.end());
    } else if (b.scenario == "esp-blocked") {
        std::string path = netns_resolve(b.netns);
        IptChain c{"filter", kFirewallChain, {"-p esp -j DROP"}, {{"INPUT", std::string("-j ") + kFirewallChain}}};
        auto cc = ipt_apply(path, {c});
        ch.insert(ch.end(), cc.begin(), cc.end());
    }
    return ch;
}

// ---- the lab, inspected ----

std::vector<Snapshot> lab_inspect(const LabPlan& p) {
    std::vector<Snapshot> out;
    for (auto& n : p.nodes) {
        Snapshot s;
        s.host = n.name;
        std::vector<std::string> names{n.netns};
        for (auto& sb : p.sandboxes)
            if (sb.node == n.name && exists(p, sb)) names.push_back(sb.netns);
        InspectOptions o;   // the node's namespaces in one read: the views join them (published ports)
        o.names = names;
        Snapshot one;
        try {
            one = inspect_node(o);
        } catch (const Error& e) {
            if (e.kind() == ErrorKind::Input)
                throw Error(ErrorKind::Runtime, "a namespace of lab " + p.prefix + " is missing (ovnet-lab status): " + e.what());
            throw;
        }
        s.time = one.time;
        s.netns = std::move(one.netns);
        s.networks = networks_view(s.netns);
        out.push_back(std::move(s));
    }
    return out;
}

std::vector<AuditSnapshot> lab_audit_snapshots(const std::vector<Snapshot>& snaps) {
    AuditReader rd;
    for (auto& s : snaps) {
        std::string text;
        schema::to_text(text, s);
        rd.read(text, "lab node " + s.host);
    }
    return rd.finish();
}

// ---- the grade ----

json LabCheckResult::to_json() const {
    json j = json::object();
    j["scenario"] = scenario;
    j["passed"] = passed;
    j["message"] = message;
    j["hint"] = passed ? json() : json(hint);
    json f = json::array();
    for (auto& x : findings) f.push_back(x.to_json());
    j["findings"] = std::move(f);
    j["fix"] = fix;
    return j;
}

namespace {

std::string jstr(const json& o, const char* k) {
    return o.is_object() && o.contains(k) && o[k].is_string() ? o[k].get<std::string>() : std::string();
}

// The lab's own findings, from the rules of the nodes' host namespaces: a published port whose
// DNAT is missing on a node (DNAT_MISSING), ESP dropped by a node's filter table (ESP_BLOCKED).
void rule_findings(const LabScenario& s, const LabPlan& p, const std::vector<AuditSnapshot>& snaps,
                   std::vector<AuditFinding>& out) {
    bool want_dnat = std::count(s.codes.begin(), s.codes.end(), "DNAT_MISSING") > 0;
    bool want_esp = std::count(s.codes.begin(), s.codes.end(), "ESP_BLOCKED") > 0;
    if (!want_dnat && !want_esp) return;
    for (auto& snap : snaps) {
        const LabNode* n = (p).node(snap.host);
        if (!n) continue;
        auto it = snap.netns.find(n->netns);
        if (it == snap.netns.end() || !it->second.rules || !it->second.rules->is_array()) continue;
        const json& rules = *it->second.rules;
        if (want_dnat)
            for (auto& sv : p.services) {
                if (!sv.publish) continue;
                std::string dport = "--dport " + std::to_string(*sv.publish) + " ";
                bool found = false;
                for (auto& r : rules)
                    found |= jstr(r, "table") == "nat" && jstr(r, "target") == "DNAT" && (jstr(r, "spec") + " ").find(dport) != std::string::npos;
                if (found) continue;
                AuditFinding f;
                f.code = "DNAT_MISSING";
                f.nodes = {snap.host};
                f.objects = {snap.host + ":nat port " + std::to_string(*sv.publish)};
                f.message = fmt::format("{}: no DNAT of the published port {} ({}) in the nat table: the routing mesh "
                                        "does not start on this node", snap.host, *sv.publish, sv.service);
                out.push_back(std::move(f));
            }
        if (want_esp)
            for (auto& r : rules) {
                std::string proto = jstr(r, "protocol"), target = jstr(r, "target");
                if (jstr(r, "table") != "filter" || (proto != "esp" && proto != "50") || (target != "DROP" && target != "REJECT"))
                    continue;
                AuditFinding f;
                f.code = "ESP_BLOCKED";
                f.nodes = {snap.host};
                f.objects = {snap.host + ":filter " + jstr(r, "chain") + " " + jstr(r, "spec")};
                f.message = fmt::format("{}: filter {} drops ESP (-A {} {}): the encrypted overlay's packets never "
                                        "reach the node", snap.host, jstr(r, "chain"), jstr(r, "chain"), jstr(r, "spec"));
                out.push_back(std::move(f));
            }
    }
}

}  // namespace

LabCheckResult lab_break_judge(const LabPlan& p, const LabScenario& s, const LabBreak* b, const AuditReport& r,
                               const std::vector<AuditSnapshot>& snaps) {
    LabCheckResult res;
    res.scenario = s.name;
    res.hint = s.hint;
    if (b) res.fix = b->fix;
    std::vector<AuditFinding> all = r.findings;
    rule_findings(s, p, snaps, all);
    for (auto& f : all) {
        if (std::find(s.codes.begin(), s.codes.end(), f.code) == s.codes.end()) continue;
        if (b && !b->node.empty() && std::find(f.nodes.begin(), f.nodes.end(), b->node) == f.nodes.end()) continue;
        res.findings.push_back(f);
    }
    res.passed = res.findings.empty();
    res.message = res.passed ? fmt::format("{}: passed, no {} in the lab", s.name, fmt::join(s.codes, " or "))
                             : fmt::format("{}: failed: {} {}", s.name, res.findings.front().code, res.findings.front().message);
    return res;
}

}  // namespace ovnet
