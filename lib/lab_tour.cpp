// The tour's steps, the tasks and the checks of ovnet-lab (include/ovnet/lab_tour.hpp).
#include "ovnet/lab_tour.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <set>

#include "lab_tour_seed.hpp"
#include "ovnet/error.hpp"
#include "ovnet/netns.hpp"
#include "ovnet/vtep.hpp"

namespace ovnet {

namespace {

const lab_seed::Quote& quote(const std::string& key) {
    for (auto& q : lab_seed::quotes())
        if (key == q.key) return q;
    throw Error(ErrorKind::Runtime, "tour: no quotation \"" + key + "\"");
}

// ---------------------------------------------------------------- plan lookups

// A sandbox exists in the lab now: scaled tasks only after `scale`.
bool active(const LabPlan& p, const LabSandbox& s) { return !s.scaled || p.scaled; }

const LabEndpoint* endpoint_on(const LabSandbox& s, const std::string& network) {
    for (auto& e : s.endpoints)
        if (e.network == network) return &e;
    return nullptr;
}

// The first (not scaled) task of `service` on `node` (any node when empty), or on another node
// than `not_node`.
const LabSandbox* task_of(const LabPlan& p, const std::string& service, const std::string& node,
                          const std::string& not_node = {}) {
    for (auto& s : p.sandboxes)
        if (s.role == "task" && s.service == service && !s.scaled && (node.empty() || s.node == node) &&
            (not_node.empty() || s.node != not_node))
            return &s;
    return nullptr;
}

std::string node_of_underlay(const LabPlan& p, const IpAddr& a) {
    for (auto& n : p.nodes)
        if (n.underlay.addr == a) return n.name;
    return {};
}

std::string lower(std::string s) {
    for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

// The deep dive's cast, found in the plan: the first service (redis) and its network (vote), a
// second service there (worker), the published one (vote), the scaled one, and the nodes.
struct Cast {
    const LabNode* n1 = nullptr;
    const LabNode* n2 = nullptr;
    const LabNode* n3 = nullptr;
    const LabServiceSpec* a = nullptr;      // redis
    const LabServiceSpec* b = nullptr;      // worker
    const LabServiceSpec* pub = nullptr;    // vote
    const LabServiceSpec* scale = nullptr;  // redis (scale: 5)
    const LabNetworkSpec* net = nullptr;    // the network of a (vote)
    const LabNetworkSpec* other = nullptr;  // an overlay without tasks (mynet0)
};

Cast cast_of(const LabPlan& p) {
    Cast c;
    auto& t = p.topology;
    if (!p.nodes.empty()) c.n1 = &p.nodes[0];
    if (p.nodes.size() > 1) c.n2 = &p.nodes[1];
    if (p.nodes.size() > 2) c.n3 = &p.nodes[2];
    for (auto& s : t.services)
        if (!s.publish) { c.a = &s; break; }
    if (!c.a && !t.services.empty()) c.a = &t.services[0];
    if (c.a)
        for (auto& n : t.networks)
            if (n.name == c.a->network) c.net = &n;
    for (auto& s : t.services)
        if (c.a && &s != c.a && s.network == c.a->network && !s.publish) { c.b = &s; break; }
    for (auto& s : t.services)
        if (s.publish) { c.pub = &s; break; }
    for (auto& s : t.services)
        if (s.scale) { c.scale = &s; break; }
    for (auto& n : t.networks) {
        bool used = false;
        for (auto& s : t.services) used |= s.network == n.name;
        if (!used) { c.other = &n; break; }
    }
    return c;
}

TourCommand cmd(std::vector<std::string> argv, TourNeed need = TourNeed::None) {
    TourCommand c;
    c.argv = std::move(argv);
    c.need = need;
    return c;
}

std::string hexmark(uint32_t m) { return fmt::format("0x{:x}", m); }

}  // namespace

std::string TourCommand::shell() const {
    std::string s;
    for (auto& a : argv) {
        if (!s.empty()) s += ' ';
        bool plain = !a.empty() && a.find_first_of(" \t'\"$|&;<>()*?") == std::string::npos;
        s += plain ? a : "'" + a + "'";
    }
    return s;
}

// ---------------------------------------------------------------- the tour

std::vector<TourStep> tour_steps(const LabPlan& plan_in) {
    // Steps after the scale step show the scaled lab.
    LabPlan scaled = plan_in.scaled ? plan_in : lab_plan(plan_in.topology, plan_in.prefix, true);
    const LabPlan& p0 = plan_in.scaled ? scaled : plan_in;
    Cast c = cast_of(p0);
    std::vector<TourStep> steps;
    std::string P = plan_in.prefix;
    auto add = [&](const std::string& section, const std::string& title, const std::string& qkey) -> TourStep& {
        TourStep s;
        s.number = static_cast<unsigned>(steps.size() + 1);
        s.section = section;
        s.title = title;
        auto& q = quote(qkey);
        s.seed_command = q.command;
        s.seed_output = q.output;
        steps.push_back(std::move(s));
        return steps.back();
    };
    auto lab = [&](std::vector<std::string> rest) {
        std::vector<std::string> v{"ovnet-lab", "-t", "--prefix", P};
        v.insert(v.end(), rest.begin(), rest.end());
        return cmd(std::move(v));
    };
    if (!c.n1) return steps;
    const LabNode& n1 = *c.n1;
    const LabOverlay* ing = (n1).overlay(p0.topology.ingress.name);
    const LabSandbox* sb1 = (p0).ingress_sbox(n1.name);
    const std::string differs_layout =
        "Today's Docker moves the overlay's bridge and VTEP into the namespace 1-<netid[:10]> and renames them "
        "br0 and vxlan0; the lab keeps the seed's layout (ov-/vx- in the node's own namespace).";

    {
        auto& s = add("Installing pre reqs", "Nothing to install: ovnet reads bridges, VTEPs and tables over netlink",
                      "prereqs");
        s.commands.push_back(lab({"status"}));
        s.look.push_back("ovnet-lab up built every namespace, bridge, VTEP, veth pair and peer of the deep dive's "
                         "cluster with the ovnet library: no Docker, no bridge-utils.");
    }
    {
        auto& s = add("Examine the networks before setting up Swarm", "The underlay between the nodes", "before");
        s.commands.push_back(cmd({"ovnet-bridge", "-t", "-n", p0.underlay_netns, "show"}));
        std::string addrs;
        for (auto& n : p0.nodes) addrs += (addrs.empty() ? "" : ", ") + n.underlay.addr.str() + " (" + n.name + ")";
        s.look.push_back("ul0 in " + p0.underlay_netns + " is the cloud network between the VMs: " + addrs +
                         ", and the outside client " + p0.client.str() + ".");
        s.differs.push_back("The lab starts with Swarm already up; there is no docker0 (no container uses Docker's "
                            "default bridge network).");
    }
    if (ing) {
        auto& s = add("Examine the network configurations created by SWARM", "The networks of a node", "networks");
        auto ins = cmd({"ovnet-inspect", "-n", n1.netns});
        ins.networks_table = true;
        s.commands.push_back(ins);
        s.commands.push_back(cmd({"ovnet-bridge", "-t", "-n", n1.netns, "show", "docker_gwbridge"}));
        s.look.push_back(fmt::format("{}: the ingress overlay, VNI {} on {} (id {}); docker_gwbridge is a plain "
                                     "bridge ({}), so the networks view (bridges with a VXLAN port) leaves it out.",
                                     p0.topology.ingress.name, ing->vni, ing->bridge, p0.topology.ingress.id,
                                     p0.topology.gwbridge.str()));
        s.differs.push_back("ovnet-inspect is shown as a table of its \"networks\" view; it prints JSON (run it with "
                            "| jq .networks).");
    }
    if (sb1) {
        const LabEndpoint* gw = endpoint_on(*sb1, "docker_gwbridge");
        const LabEndpoint* ie = endpoint_on(*sb1, p0.topology.ingress.name);
        auto& s = add("Examine the overlay vxlan inmplemntation", "docker network inspect docker_gwbridge", "gwbridge");
        s.commands.push_back(cmd({"ovnet-sbox", "-t", "show", sb1->netns}));
        if (gw)
            s.look.push_back(fmt::format("{} {} MAC {}: the seed's ingress-sbox endpoint on docker_gwbridge "
                                         "(MacAddress 02:42:ac:12:00:02, IPv4Address 172.18.0.2/16).",
                                         gw->ifname, gw->ip.str(), gw->mac.str()));
        if (ie && ing) {
            auto& t = add("Examine the overlay vxlan inmplemntation", "docker network inspect ingress", "ingress");
            t.commands.push_back(cmd({"ovnet-vtep", "-t", "-n", n1.netns, "show", ing->vtep}));
            t.commands.push_back(cmd({"ovnet-fdb", "-t", "-n", n1.netns, "show", "-d", ing->vtep}));
            std::string peers;
            for (auto& n : p0.nodes)
                if (n.name != n1.name) peers += (peers.empty() ? "" : ", ") + n.underlay.addr.str();
            t.look.push_back(fmt::format("VNI {} = \"vxlanid_list\": \"{}\"; ingress_sbox's endpoint is {} MAC {} "
                                         "(the seed's 02:42:0a:ff:00:02).",
                                         ing->vni, ing->vni, ie->ip.str(), ie->mac.str()));
            t.look.push_back("The fdb's VTEP addresses " + peers +
                             " are Docker's \"Peers\": the other nodes of the overlay (Docker lists the node itself "
                             "too).");
        }
    }
    if (sb1 && ing) {
        auto& s = add("Examine the ingress-sbox namespace", "Interfaces inside ingress_sbox and on the host", "sbox_links");
        s.commands.push_back(cmd({"ovnet-sbox", "-t", "show", sb1->netns}));
        s.commands.push_back(cmd({"ovnet-bridge", "-t", "-n", n1.netns, "show"}));
        for (auto& e : sb1->endpoints)
            s.look.push_back(fmt::format("{{ifindex {0} {1}}} <==> {{peerindex {0} {1}}}: {1} in ingress_sbox (MAC {2}, "
                                         "MTU {3}) is the peer of {{peer {0} {1}}} on {4} ({5} network)",
                                         sb1->netns, e.ifname, e.mac.str(), e.mtu, e.bridge, e.network));
        s.differs.push_back(differs_layout);
        s.differs.push_back("The seed enters ingress_sbox with netshoot and nsenter; ovnet-sbox shows both ends of "
                            "each veth pair at once.");
    }
    if (ing) {
        auto& s = add("Interfaces and bridges", "brctl show and ip -d link show", "brctl");
        s.commands.push_back(cmd({"ovnet-bridge", "-t", "-n", n1.netns, "show"}));
        s.commands.push_back(cmd({"ovnet-vtep", "-t", "-n", n1.netns, "show", ing->vtep}));
        s.look.push_back(fmt::format("{} is a port of {}: VNI {}, UDP port 4789, local {} ({}'s underlay), MTU {}.",
                                     ing->vtep, ing->bridge, ing->vni, n1.underlay.addr.str(), n1.name, ing->mtu));
        s.differs.push_back("The seed's second capture comes from another cluster (ov-001000-wo0i1); the lab's ingress "
                            "id is " + p0.topology.ingress.id.substr(0, 5) + ".");
        auto& t = add("Interfaces and bridges", "Show forwarding table", "fdb_ingress");
        t.commands.push_back(cmd({"ovnet-fdb", "-t", "-n", n1.netns, "show", "-d", ing->vtep}));
        for (auto& n : p0.nodes) {
            if (n.name == n1.name) continue;
            auto* sb = (p0).ingress_sbox(n.name);
            auto* e = sb ? endpoint_on(*sb, p0.topology.ingress.name) : nullptr;
            if (e)
                t.look.push_back(fmt::format("{} dst {}: the ingress_sbox endpoint ({}) on {}.", e->mac.str(),
                                             n.underlay.addr.str(), e->ip.addr.str(), n.name));
        }
        t.differs.push_back("The seed's \"where\" lines name other MACs than its table; a Docker MAC is 02:42 and the "
                            "IPv4 address, so 02:42:0a:ff:00:03 is 10.255.0.3.");
    }
    // Traffic between an ingress_sbox and a published task on another node (the ingress overlay).
    const LabSandbox* pub_remote = c.pub ? task_of(p0, c.pub->name, {}, n1.name) : nullptr;
    if (ing) {
        auto& s = add("Examine the traffic", "tcpdump on the underlay: VXLAN, UDP port 4789", "traffic");
        s.capture = true;
        s.commands.push_back(cmd({"ovnet-capture", "-n", n1.netns, "-i", "eth0", "--vxlan", "-c", "4", "--timeout", "5"}));
        if (pub_remote && sb1) {
            auto* e = endpoint_on(*pub_remote, p0.topology.ingress.name);
            if (e && !pub_remote->listen.empty())
                s.traffic_from = sb1->netns, s.traffic_to = e->ip.addr, s.traffic_port = pub_remote->listen[0];
            if (e)
                s.look.push_back(fmt::format("The tour connects from {}'s ingress_sbox to {} ({} on {}): VXLAN "
                                             "packets VNI {} from {} to {}, UDP port 4789.",
                                             n1.name, e->ip.addr.str(), pub_remote->task, pub_remote->node, ing->vni,
                                             n1.underlay.addr.str(),
                                             p0.node(pub_remote->node)->underlay.addr.str()));
        }
        s.differs.push_back("The lab has no Swarm control plane: no 2377/tcp (cluster management) or 7946 (gossip) "
                            "traffic; ovnet-lab up programmed the peers as the README's pipe does.");
    }
    if (c.other && c.n1) {
        auto* o = (n1).overlay(c.other->name);
        if (o) {
            auto& s = add("Creating overlay networks", "docker network create -d overlay " + c.other->name, "mynet0");
            s.commands.push_back(cmd({"ovnet-vtep", "-t", "-n", n1.netns, "show", o->vtep}));
            s.look.push_back(fmt::format("{}: VNI {} (\"vxlanid_list\": \"{}\"), MTU {}, not encrypted.", o->vtep,
                                         o->vni, o->vni, o->mtu));
        }
    }
    const LabOverlay* vo = c.net ? (n1).overlay(c.net->name) : nullptr;
    if (vo) {
        auto& s = add("Creating overlay networks", "docker network create --opt encrypted -d overlay " + c.net->name,
                      "vote_net");
        s.commands.push_back(cmd({"ovnet-vtep", "-t", "-n", n1.netns, "show", vo->vtep}));
        if (vo->encrypted) s.commands.push_back(cmd({"ovnet-crypt", "-t", "-n", n1.netns, "show"}, TourNeed::Gcm));
        s.look.push_back(fmt::format("{}: VNI {}, MTU {}{}.", vo->vtep, vo->vni, vo->mtu,
                                     vo->encrypted ? " (encrypted: 1500 - 50 - 26, rounded down to a multiple of 4)"
                                                   : ""));
        s.differs.push_back(fmt::format("The seed names this network's devices ov-001001-7672d although its VNI is "
                                        "4098; the lab names them from the VNI: {} (VNI {}).",
                                        vo->bridge, vo->vni));
    }
    const LabSandbox* a1 = c.a ? task_of(p0, c.a->name, n1.name) : nullptr;
    const LabSandbox* a2 = c.a ? task_of(p0, c.a->name, {}, n1.name) : nullptr;
    if (c.a && a1) {
        auto& s = add("Launch Service with overlay network",
                      fmt::format("docker service create --name {} --network {} --replicas={}", c.a->name,
                                  c.a->network, c.a->replicas),
                      "redis");
        s.commands.push_back(cmd({"ovnet-sbox", "-t", "show", a1->netns}));
        std::string where;
        for (auto& sb : p0.sandboxes)
            if (sb.role == "task" && sb.service == c.a->name && !sb.scaled) {
                auto* e = endpoint_on(sb, c.a->network);
                where += (where.empty() ? "" : ", ") + sb.task + " on " + sb.node +
                         (e ? " (" + e->ip.addr.str() + ")" : "");
            }
        s.look.push_back("The tasks: " + where + ". Each is a namespace named <node>-<task>.");
        s.differs.push_back("Every lab node is a manager, so every node has every overlay (a Docker worker creates "
                            "one only when a task of it runs there).");
    }
    if (c.a && a1 && vo) {
        auto& s = add("Correlate interfaces and trace it", "veth Pairs", "correlate");
        s.commands.push_back(cmd({"ovnet-sbox", "-t", "show", a1->netns}));
        s.commands.push_back(cmd({"ovnet-bridge", "-t", "-n", n1.netns, "show", vo->bridge}));
        for (auto& e : a1->endpoints)
            s.look.push_back(fmt::format("{{ifindex {0} {1}}}: {1} <===> {{peerindex {0} {1}}}: {{peer {0} {1}}} ({2}{3}), "
                                         "MAC {4}, MTU {5}",
                                         a1->netns, e.ifname, e.network == "docker_gwbridge" ? "" : "Overlay ",
                                         e.bridge, e.mac.str(), e.mtu));
        s.differs.push_back(differs_layout);
    }
    if (c.a && a1 && a2 && vo) {
        auto& s = add("Show forwarding table for this overlay vtep", "bridge fdb show dev " + vo->vtep, "fdb_vote");
        s.commands.push_back(cmd({"ovnet-fdb", "-t", "-n", n1.netns, "show", "-d", vo->vtep}));
        s.commands.push_back(cmd({"ovnet-sbox", "-t", "show", a2->netns}));
        auto* e = endpoint_on(*a2, c.a->network);
        if (e)
            s.look.push_back(fmt::format("{} dst {}: eth0 of {} on {} ({}), the other end of this entry.",
                                         e->mac.str(), p0.node(a2->node)->underlay.addr.str(), a2->task, a2->node,
                                         e->ip.addr.str()));
        s.look.push_back("Task 1 (ovnet-lab task 1) asks for the same from the other end.");
    }
    const LabSandbox* b1 = c.b ? task_of(p0, c.b->name, {}) : nullptr;
    if (c.b && b1 && vo) {
        auto& s = add("Launch worker service in same overlay",
                      fmt::format("docker service create --name {} --network {}", c.b->name, c.b->network), "worker");
        s.commands.push_back(cmd({"ovnet-fdb", "-t", "-n", n1.netns, "show", "-d", vo->vtep}));
        if (c.n2) s.commands.push_back(cmd({"ovnet-fdb", "-t", "-n", c.n2->netns, "show", "-d", vo->vtep}));
        auto* e = endpoint_on(*b1, c.b->network);
        if (e)
            s.look.push_back(fmt::format("{} dst {}: {} on {} ({}), the new VTEP endpoint on the other nodes.",
                                         e->mac.str(), p0.node(b1->node)->underlay.addr.str(), b1->task, b1->node,
                                         e->ip.addr.str()));
    }
    if (c.scale && vo) {
        unsigned to = *c.scale->scale;
        auto& s = add("Scale redis service", fmt::format("docker service scale {}={}", c.scale->name, to), "scale");
        s.scale = true;
        s.scale_service = c.scale->name;
        s.scale_replicas = to;
        s.commands.push_back(lab({"scale", fmt::format("{}={}", c.scale->name, to)}));
        s.commands.push_back(cmd({"ovnet-fdb", "-t", "-n", n1.netns, "show", "-d", vo->vtep}));
        for (auto& sb : scaled.sandboxes) {
            if (!sb.scaled || sb.service != c.scale->name) continue;
            auto* e = endpoint_on(sb, c.scale->network);
            if (!e) continue;
            if (sb.node == n1.name)
                s.look.push_back(fmt::format("{} ({}) runs on {} itself: no fdb entry here, it is a port of {}.",
                                             sb.task, e->ip.addr.str(), n1.name, vo->bridge));
            else
                s.look.push_back(fmt::format("{} dst {}: the new {} on {} ({}).", e->mac.str(),
                                             scaled.node(sb.node)->underlay.addr.str(), sb.task, sb.node,
                                             e->ip.addr.str()));
        }
        s.differs.push_back("The seed's table also shows a learned entry (\"vlan 0\" without dst): the VTEP learns "
                            "source MACs once traffic flows; ovnet-fdb marks such rows \"learned\".");
    }
    const LabPlan& ps = scaled;
    Cast cs = cast_of(ps);
    const LabSandbox* sa1 = cs.a ? task_of(ps, cs.a->name, n1.name) : nullptr;
    if (vo && sa1) {
        auto& s = add("Underlying VXLAN service and traffic", "netstat -pan | grep 4789; tcpdump on the bridge",
                      "vxlan_port");
        s.capture = true;
        s.commands.push_back(cmd({"ovnet-capture", "-n", n1.netns, "-i", vo->bridge, "-c", "4", "--timeout", "5", "tcp"}));
        s.commands.push_back(cmd({"ovnet-vtep", "-t", "-n", n1.netns, "show"}));
        auto* a2s = cs.a ? task_of(ps, cs.a->name, {}, n1.name) : nullptr;
        if (a2s) {
            auto* e = endpoint_on(*a2s, cs.a->network);
            if (e && !a2s->listen.empty())
                s.traffic_from = sa1->netns, s.traffic_to = e->ip.addr, s.traffic_port = a2s->listen[0];
            if (e)
                s.look.push_back(fmt::format("The tour connects from {} to {}:{} ({} on {}): the packets cross {} "
                                             "unencrypted, before the VTEP wraps them.",
                                             sa1->task, e->ip.addr.str(), a2s->listen.empty() ? 0 : a2s->listen[0],
                                             a2s->task, a2s->node, vo->bridge));
        }
        s.look.push_back("Every VTEP's port is 4789 (the kernel's UDP socket has no process: netstat shows none).");
    }
    const LabLbService* lba = nullptr;
    for (auto& l : ps.services)
        if (cs.a && l.service == cs.a->name) lba = &l;
    if (sa1 && lba) {
        auto& s = add("Internal Load Balancing", "iptables -t nat, -t mangle and ipvsadm in a task", "ilb_nat");
        s.commands.push_back(cmd({"ovnet-lb", "-t", "-n", sa1->netns, "show"}, TourNeed::Ipvs));
        auto* e = endpoint_on(*sa1, cs.a->network);
        for (auto& l : ps.services)
            if (l.network == cs.a->network)
                s.look.push_back(fmt::format("{}: VIP {} MARK set {} = FWM {}, {} backend(s).", l.service, l.vip.str(),
                                             hexmark(l.fwmark), l.fwmark, l.backends.size()));
        if (e)
            s.look.push_back("SNAT ... ipvs to:" + e->ip.addr.str() + ": the task's own address, as in the seed's " +
                             "\"ipvs to:10.0.0.11\".");
        s.differs.push_back("Today's Docker marks in lb_<netid[:9]> (mangle INPUT) instead of each container's "
                            "OUTPUT chain (#30464), and hands out marks per daemon: 258 is not fixed.");
        auto& t = add("Internal Load Balancing", "The journey to the VIP", "ilb_ipvs");
        t.commands.push_back(cmd({"ovnet-trace", "-t", "--netns-prefix", P + "-", "--from", sa1->netns, "tcp",
                                  fmt::format("{}:{}", lba->vip.str(), cs.a->ports.empty() ? 0 : cs.a->ports[0])},
                                 TourNeed::Ipvs));
        std::string be;
        for (auto& b : lba->backends) be += (be.empty() ? "" : ", ") + b.str();
        t.look.push_back(fmt::format("FWM {} rr over {} (the seed names them by container: redis.1..., "
                                     "ovnet shows the addresses).",
                                     lba->fwmark, be));
    }
    const LabLbService* lbp = nullptr;
    for (auto& l : ps.services)
        if (l.publish) lbp = &l;
    const LabSandbox* pt = cs.pub ? task_of(ps, cs.pub->name, {}) : nullptr;
    if (ing && pt) {
        auto& s = add("Port Publishing, Routing Mesh, Ingress Network and External Service Discovery",
                      "docker network inspect ingress: Peers and ingress-sbox", "mesh_ingress");
        s.commands.push_back(cmd({"ovnet-fdb", "-t", "-n", n1.netns, "show", "-d", ing->vtep}));
        s.look.push_back(fmt::format("Peers: every other node's ingress_sbox and the published tasks' ingress "
                                     "endpoints ({} {} on {}...).",
                                     pt->task, endpoint_on(*pt, ps.topology.ingress.name)
                                                   ? endpoint_on(*pt, ps.topology.ingress.name)->ip.addr.str()
                                                   : std::string("?"),
                                     pt->node));
        auto& t = add("Port Publishing, Routing Mesh, Ingress Network and External Service Discovery",
                      "A published service's task: eth0 ingress, eth1 gwbridge, eth2 the app's overlay", "mesh_vote");
        t.commands.push_back(cmd({"ovnet-sbox", "-t", "show", pt->netns}));
        for (auto& e : pt->endpoints)
            t.look.push_back(fmt::format("{} => {} ({} on {}, MTU {})", e.ifname, e.network, e.ip.str(), e.bridge,
                                         e.mtu));
    }
    if (lbp && sb1) {
        auto& s = add("Service Networking and Routing Mesh", "The host's DNAT to ingress_sbox", "mesh_dnat");
        s.commands.push_back(cmd({"ovnet-publish", "-t", "-n", n1.netns, "show", "--ingress-sbox", sb1->netns},
                                 TourNeed::Ipvs));
        auto* gw = endpoint_on(*sb1, "docker_gwbridge");
        s.look.push_back(fmt::format("tcp dpt:{0} to:{1}:{0}: {1} is ingress_sbox's eth1 on docker_gwbridge.",
                                     *lbp->publish, gw ? gw->ip.addr.str() : std::string("?")));
        auto& t = add("Service Networking and Routing Mesh", "ingress_sbox: MARK and IPVS", "mesh_sbox");
        t.commands.push_back(cmd({"ovnet-ipvs", "-t", "-n", sb1->netns, "show"}, TourNeed::Ipvs));
        t.commands.push_back(cmd({"ovnet-trace", "-t", "--netns-prefix", P + "-", "--from", "client", "tcp",
                                  fmt::format("{}:{}", n1.underlay.addr.str(), *lbp->publish)},
                                 TourNeed::Ipvs));
        std::string be;
        for (auto& b : lbp->ingress_backends) be += (be.empty() ? "" : ", ") + b.str();
        t.look.push_back(fmt::format("MARK set {} for dpt:{}; FWM {} rr over {}.", hexmark(lbp->ingress_fwmark),
                                     *lbp->publish, lbp->ingress_fwmark, be));
    }
    if (ing && c.n2) {
        auto& s = add("Service Networking and Routing Mesh", "To see the traffic on ingress network", "mesh_capture");
        s.capture = true;
        s.commands.push_back(cmd({"ovnet-capture", "-n", c.n2->netns, "-i", "eth0", "--vxlan", "-c", "4", "--timeout", "5"}));
        if (vo && vo->encrypted)
            s.commands.push_back(cmd({"ovnet-capture", "-n", c.n2->netns, "-i", "eth0", "--esp", "-c", "2", "--timeout", "5"},
                                     TourNeed::Gcm));
        const LabSandbox* pr2 = c.pub ? task_of(p0, c.pub->name, c.n2->name) : nullptr;
        auto* e2 = pr2 ? endpoint_on(*pr2, p0.topology.ingress.name) : nullptr;
        if (e2 && sb1 && !pr2->listen.empty())
            s.traffic_from = sb1->netns, s.traffic_to = e2->ip.addr, s.traffic_port = pr2->listen[0];
        s.look.push_back(fmt::format("VXLAN packets of VNI {} on {}'s underlay; the {} overlay's are ESP when "
                                     "encrypted.",
                                     ing->vni, c.n2->name, c.net ? c.net->name : "app"));
    }
    {
        auto& s = add("Additional Commands", "Everything the lab has, in one view", "additional");
        s.commands.push_back(lab({"status"}));
        s.look.push_back("ovnet-sbox, ovnet-inspect and ovnet-audit read every namespace of /run/netns (the lab's "
                         "are named " + P + "-*): no symbolic link to Docker's netns directory is needed.");
    }
    return steps;
}

std::string tour_annotate(const std::string& line, const std::map<std::string, NetnsState>& seen) {
    std::string out;
    size_t i = 0;
    while (i < line.size()) {
        size_t o = line.find('{', i);
        size_t e = o == std::string::npos ? o : line.find('}', o);
        if (e == std::string::npos) { out += line.substr(i); break; }
        out += line.substr(i, o - i);
        std::string inner = line.substr(o + 1, e - o - 1);
        std::string what, ns, ifn;
        {
            size_t a = inner.find(' '), b = a == std::string::npos ? a : inner.find(' ', a + 1);
            if (b == std::string::npos) { out += line.substr(o, e - o + 1); i = e + 1; continue; }
            what = inner.substr(0, a), ns = inner.substr(a + 1, b - a - 1), ifn = inner.substr(b + 1);
        }
        std::string val = "?";
        auto it = seen.find(ns);
        if (it != seen.end())
            for (auto& ep : it->second.interfaces)
                if (ep.ifname == ifn) {
                    if (what == "ifindex") val = std::to_string(ep.ifindex);
                    else if (what == "peer" && !ep.host_ifname.empty()) val = ep.host_ifname;
                    else if (what == "peerindex" && ep.host_ifindex) val = std::to_string(ep.host_ifindex);
                }
        out += val;
        i = e + 1;
    }
    return out;
}

// ---------------------------------------------------------------- tasks

std::vector<LabTask> lab_tasks(const LabPlan& plan) {
    Cast c = cast_of(plan);
    std::vector<LabTask> t;
    auto add = [&](const std::string& section, std::string text, std::string answer) -> LabTask& {
        LabTask k;
        k.number = static_cast<unsigned>(t.size() + 1);
        k.section = section;
        k.text = std::move(text);
        k.answer = std::move(answer);
        t.push_back(std::move(k));
        return t.back();
    };
    std::string n1 = c.n1 ? c.n1->name : "swarm-01", n2 = c.n2 ? c.n2->name : n1;
    std::string P = plan.prefix;
    const LabOverlay* vo = c.n2 && c.net ? (*c.n2).overlay(c.net->name) : nullptr;
    std::string vtep = vo ? vo->vtep : "vx-...";
    add("Show forwarding table for this overlay vtep",
        fmt::format("Do the same from the other end: check the fdb of the {} overlay's VXLAN interface ({}) on {} and "
                    "correlate a remote entry with the MAC of a container running on {}. Which container is it?",
                    c.net ? c.net->name : "app", vtep, n2, n1),
        "ovnet-lab check 1 MAC [TASK] [NODE]   (e.g. check 1 02:42:0a:00:00:07 redis.2 " + n1 + ")");
    add("Creating overlay networks",
        fmt::format("Try this: list the networks on all nodes. Which nodes have the new overlay {}? (All manager "
                    "nodes have it; workers create it only when a task of it runs there.)",
                    c.other ? c.other->name : "mynet0"),
        "ovnet-lab check 2 NODE...   (or: all)");
    add("Creating overlay networks",
        fmt::format("Try this: what was created on {} for the overlay {}? Name its VXLAN interface and its VNI.", n1,
                    c.other ? c.other->name : "mynet0"),
        "ovnet-lab check 3 VTEP VNI");
    add("Launch Service with overlay network",
        fmt::format("Check the network on all nodes: on which nodes were the {} tasks scheduled?",
                    c.a ? c.a->name : "service's"),
        "ovnet-lab check 4 NODE...");
    add("Correlate interfaces and trace it",
        fmt::format("Correlate interfaces: which host interface of {} is the veth peer of eth0 in the {} task "
                    "there?",
                    n1, c.a ? c.a->name : "service's"),
        "ovnet-lab check 5 VETH");
    add("Launch worker service in same overlay",
        fmt::format("Now on {} and {} check the fdb again: which MAC is the new VTEP endpoint of {}?", n1, n2,
                    c.b ? c.b->name : "the second service"),
        "ovnet-lab check 6 MAC");
    auto& s = add("Scale redis service",
                  fmt::format("Scale {} to {} (ovnet-lab --prefix {} scale {}={}) and examine the fdb of {} on {} "
                              "again: how many remote endpoints (peers) does it have now?",
                              c.scale ? c.scale->name : "the service", c.scale && c.scale->scale ? *c.scale->scale : 0,
                              P, c.scale ? c.scale->name : "SVC", c.scale && c.scale->scale ? *c.scale->scale : 0,
                              vtep, n1),
                  "ovnet-lab check 7 N");
    s.needs_scale = true;
    auto& l = add("Internal Load Balancing",
                  fmt::format("Check the mangle markers in a {} task: which mark (decimal or hex) does the VIP of {} "
                              "get, and which FWM service balances it?",
                              c.a ? c.a->name : "service's", c.b ? c.b->name : "the second service"),
                  "ovnet-lab check 8 MARK");
    l.need = TourNeed::Ipvs;
    auto& m = add("Service Networking and Routing Mesh",
                  fmt::format("In {}'s ingress_sbox: to which addresses does the published port's FWM service "
                              "send the packets?",
                              n1),
                  "ovnet-lab check 9 IP...");
    m.need = TourNeed::Ipvs;
    return t;
}

// ---------------------------------------------------------------- checks

const char* check_status_name(CheckStatus s) {
    switch (s) {
        case CheckStatus::Passed: return "passed";
        case CheckStatus::Failed: return "failed";
        case CheckStatus::Skipped: return "skipped";
    }
    return "?";
}

json CheckResult::to_json() const {
    json j = json::object();
    j["id"] = id;
    j["name"] = name;
    j["status"] = check_status_name(status);
    j["message"] = message;
    j["hint"] = hint.empty() ? json(nullptr) : json(hint);
    return j;
}

LabSeen lab_observe(const LabPlan& plan, const LabCaps& caps) {
    LabSeen s;
    s.caps = caps;
    InspectOptions opt;   // one read of every namespace present: the views join them (published ports)
    for (auto& ns : plan.namespaces()) {
        try {
            netns_resolve(ns);
        } catch (const Error&) {
            continue;   // absent: the checks say so
        }
        opt.names.push_back(ns);
    }
    if (opt.names.empty()) return s;
    Snapshot snap = inspect_node(opt);
    for (auto& [label, st] : snap.netns) s.netns[label] = std::move(st);
    return s;
}

namespace {

const NetnsState* seen_ns(const LabSeen& s, const std::string& ns) {
    auto it = s.netns.find(ns);
    return it == s.netns.end() ? nullptr : &it->second;
}

const Endpoint* seen_if(const NetnsState& st, const std::string& ifname) {
    for (auto& e : st.interfaces)
        if (e.ifname == ifname) return &e;
    return nullptr;
}

const Vtep* seen_vtep(const NetnsState& st, const std::string& name) {
    for (auto& v : st.vteps)
        if (v.name == name) return &v;
    return nullptr;
}

const Bridge* seen_bridge(const NetnsState& st, const std::string& name) {
    for (auto& b : st.bridges)
        if (b.name == name) return &b;
    return nullptr;
}

const std::vector<PeerEntry>* seen_peers(const NetnsState& st, const std::string& vtep) {
    auto it = st.peers.find(vtep);
    return it == st.peers.end() ? nullptr : &it->second;
}

// The sandbox (of the plan) whose live interface carries `mac`, and that interface.
std::pair<const LabSandbox*, const Endpoint*> owner_of_mac(const LabPlan& p, const LabSeen& s, const Mac& mac) {
    for (auto& sb : p.sandboxes) {
        auto* st = seen_ns(s, sb.netns);
        if (!st) continue;
        for (auto& e : st->interfaces)
            if (e.mac == mac) return {&sb, &e};
    }
    return {nullptr, nullptr};
}

CheckResult result(const std::string& id, const std::string& name) {
    CheckResult r;
    r.id = id;
    r.name = name;
    return r;
}

CheckResult fail(CheckResult r, std::string msg, std::string hint) {
    r.status = CheckStatus::Failed;
    r.message = std::move(msg);
    r.hint = std::move(hint);
    return r;
}

CheckResult pass(CheckResult r, std::string msg) {
    r.status = CheckStatus::Passed;
    r.message = std::move(msg);
    return r;
}

CheckResult skip(CheckResult r, std::string msg) {
    r.status = CheckStatus::Skipped;
    r.message = std::move(msg);
    return r;
}

Mac arg_mac(const std::string& s, unsigned task) {
    Mac m;
    if (!Mac::try_parse(s, m))
        throw Error(ErrorKind::Input, fmt::format("check {}: \"{}\" is not a MAC (aa:bb:cc:dd:ee:ff)", task, s));
    return m;
}

[[noreturn]] void bad_answer(unsigned task, const std::string& expected) {
    throw Error(ErrorKind::Input, fmt::format("check {}: the answer is {}", task, expected));
}

std::string join(const std::set<std::string>& s) {
    std::string out;
    for (auto& x : s) out += (out.empty() ? "" : " ") + x;
    return out.empty() ? "(none)" : out;
}

// The nodes named in an answer ("all": every node of the plan).
std::set<std::string> answer_nodes(const LabPlan& p, const std::vector<std::string>& answer) {
    std::set<std::string> out;
    for (auto& a : answer) {
        if (lower(a) == "all")
            for (auto& n : p.nodes) out.insert(n.name);
        else
            out.insert(a);
    }
    return out;
}

// The permanent remote endpoints the plan gives the VTEP of `network` on `node`.
struct ExpectedPeer {
    IpAddr ip;
    Mac mac;
    IpAddr vtep;
    std::string who;     // "redis.1 on swarm-02"
};
std::vector<ExpectedPeer> expected_peers(const LabPlan& p, const std::string& node, const std::string& network) {
    std::vector<ExpectedPeer> out;
    for (auto& sb : p.sandboxes) {
        if (sb.node == node || !active(p, sb)) continue;
        auto* n = p.node(sb.node);
        if (!n) continue;
        for (auto& e : sb.endpoints)
            if (e.network == network)
                out.push_back({e.ip.addr, e.mac, n->underlay.addr,
                               (sb.role == "task" ? sb.task : sb.role) + " on " + sb.node});
    }
    return out;
}

}  // namespace

CheckResult lab_task_check(const LabPlan& p, const LabSeen& s, unsigned task, const std::vector<std::string>& answer) {
    Cast c = cast_of(p);
    auto tasks = lab_tasks(p);
    if (task == 0 || task > tasks.size())
        throw Error(ErrorKind::Input, fmt::format("check {}: no such task (tasks 1..{})", task, tasks.size()));
    CheckResult r = result(std::to_string(task), tasks[task - 1].text);
    const LabNode* n1 = c.n1;
    const LabNode* n2 = c.n2 ? c.n2 : c.n1;
    std::string P = p.prefix;
    switch (task) {
        case 1: {
            if (answer.empty()) bad_answer(task, "MAC [TASK] [NODE]");
            Mac mac = arg_mac(answer[0], task);
            const LabOverlay* o = c.net ? (*n2).overlay(c.net->name) : nullptr;
            if (!o) return skip(r, "the topology has no overlay with tasks on two nodes");
            std::string show = fmt::format("ovnet-fdb -t -n {} show -d {}", n2->netns, o->vtep);
            auto* st = seen_ns(s, n2->netns);
            if (!st) return fail(r, n2->netns + ": no such namespace", "is the lab up? (ovnet-lab status)");
            const PeerEntry* row = nullptr;
            if (auto* rows = seen_peers(*st, o->vtep))
                for (auto& e : *rows)
                    if (e.mac == mac && e.vtep.valid()) row = &e;
            if (!row)
                return fail(r, fmt::format("{} has no remote entry for {} on {}", n2->name, mac.str(), o->vtep),
                            "run " + show + " and take a row whose vtep is " + n1->underlay.addr.str() + " (" +
                                n1->name + ")");
            auto [sb, ep] = owner_of_mac(p, s, mac);
            std::string vnode = node_of_underlay(p, row->vtep);
            if (!sb)
                return fail(r, fmt::format("{}'s {} sends {} to {} ({}), but no sandbox of the lab has that MAC",
                                           n2->name, o->vtep, mac.str(), row->vtep.str(),
                                           vnode.empty() ? "no node" : vnode),
                            "a stale entry: compare with ovnet-sbox -t show on " + vnode);
            std::string who = (sb->role == "task" ? sb->task : sb->role) + " on " + sb->node;
            std::string addr = ep->addresses.empty() ? std::string() : " (" + ep->addresses[0].str() + ")";
            std::string found = fmt::format("{}: {}'s {} sends it to {} ({}); it is {} of {}{}", mac.str(), n2->name,
                                            o->vtep, row->vtep.str(), vnode.empty() ? "no node" : vnode, ep->ifname,
                                            who, addr);
            if (vnode != sb->node)
                return fail(r, found + ": the entry points to the wrong node",
                            "the fdb entry should send it to " + p.node(sb->node)->underlay.addr.str());
            if (sb->node != n1->name)
                return fail(r, found, "the task asks for a container running on " + n1->name);
            for (size_t i = 1; i < answer.size(); i++) {
                std::string a = lower(answer[i]);
                if (a == "on") continue;
                bool ok = a == lower(sb->task) || a == lower(sb->node) || a == lower(sb->service) ||
                          a == lower(sb->task + "@" + sb->node) || (sb->role != "task" && a == lower(sb->role));
                if (!ok)
                    return fail(r, found + "; not \"" + answer[i] + "\"",
                                "match the MAC with the sandboxes' interfaces: ovnet-sbox -t show " + sb->netns);
            }
            return pass(r, found);
        }
        case 2: {
            if (answer.empty()) bad_answer(task, "the nodes (NODE... or all)");
            if (!c.other) return skip(r, "the topology has no overlay without services");
            std::set<std::string> have;
            for (auto& n : p.nodes) {
                auto* o = (n).overlay(c.other->name);
                auto* st = seen_ns(s, n.netns);
                if (o && st && seen_bridge(*st, o->bridge)) have.insert(n.name);
            }
            auto said = answer_nodes(p, answer);
            std::string msg = c.other->name + " is on: " + join(have);
            if (said != have)
                return fail(r, msg + "; you said: " + join(said),
                            "ovnet-bridge -t -n NODE show on each node (" + P + "-swarm-0N)");
            return pass(r, msg + " (every node of the lab is a manager)");
        }
        case 3: {
            if (answer.size() != 2) bad_answer(task, "VTEP VNI");
            if (!c.other) return skip(r, "the topology has no overlay without services");
            auto* o = (*n1).overlay(c.other->name);
            auto* st = seen_ns(s, n1->netns);
            const Vtep* v = o && st ? seen_vtep(*st, o->vtep) : nullptr;
            if (!v) return fail(r, n1->name + " has no VTEP for " + c.other->name, "is the lab up? (ovnet-lab status)");
            std::string msg = fmt::format("{} on {}: bridge {}, VXLAN {} with VNI {}, MTU {}", c.other->name, n1->name,
                                          v->master, v->name, v->vxlan.vni, v->mtu);
            if (answer[0] != v->name || answer[1] != std::to_string(v->vxlan.vni))
                return fail(r, msg + "; you said: " + answer[0] + " " + answer[1],
                            "ovnet-bridge -t -n " + n1->netns + " show, then ovnet-vtep -t -n " + n1->netns + " show");
            return pass(r, msg);
        }
        case 4: {
            if (answer.empty()) bad_answer(task, "the nodes (NODE...)");
            if (!c.a) return skip(r, "the topology has no service");
            std::set<std::string> have;
            for (auto& sb : p.sandboxes)
                if (sb.role == "task" && sb.service == c.a->name && seen_ns(s, sb.netns)) have.insert(sb.node);
            auto said = answer_nodes(p, answer);
            std::string msg = c.a->name + " tasks run on: " + join(have);
            if (said != have)
                return fail(r, msg + "; you said: " + join(said),
                            "the tasks' namespaces are named <node>-<task>: ovnet-sbox -t show");
            return pass(r, msg);
        }
        case 5: {
            if (answer.size() != 1) bad_answer(task, "VETH (a host interface name)");
            const LabSandbox* a1 = c.a ? task_of(p, c.a->name, n1->name) : nullptr;
            if (!a1) return skip(r, "no task of the first service on " + n1->name);
            auto* st = seen_ns(s, a1->netns);
            const Endpoint* e = st ? seen_if(*st, "eth0") : nullptr;
            if (!e || e->host_ifname.empty())
                return fail(r, a1->netns + ": no eth0 with a veth peer", "is the lab up? (ovnet-lab status)");
            std::string msg = fmt::format("eth0 ({}) of {} on {} <==> {} ({}) on {}", e->ifindex, a1->task, a1->node,
                                          e->host_ifname, e->host_ifindex, e->bridge);
            if (answer[0] != e->host_ifname)
                return fail(r, msg + "; not " + answer[0],
                            "ovnet-sbox -t show " + a1->netns + " shows each interface's peer");
            return pass(r, msg);
        }
        case 6: {
            if (answer.size() != 1) bad_answer(task, "MAC");
            Mac mac = arg_mac(answer[0], task);
            const LabSandbox* b1 = c.b ? task_of(p, c.b->name, {}) : nullptr;
            if (!b1 || !c.net) return skip(r, "the topology has no second service on the first one's network");
            std::string msg;
            for (auto* n : {c.n1, c.n2}) {
                if (!n || n->name == b1->node) continue;
                auto* o = (*n).overlay(c.net->name);
                auto* st = seen_ns(s, n->netns);
                const PeerEntry* row = nullptr;
                if (o && st)
                    if (auto* rows = seen_peers(*st, o->vtep))
                        for (auto& e : *rows)
                            if (e.mac == mac && e.vtep.valid()) row = &e;
                if (!row)
                    return fail(r, fmt::format("{} has no remote entry for {}", n->name, mac.str()),
                                fmt::format("ovnet-fdb -t -n {} show -d {}", n->netns, o ? o->vtep : "VTEP"));
                msg += fmt::format("{}{}: {} -> {}", msg.empty() ? "" : "; ", n->name, mac.str(), row->vtep.str());
            }
            auto [sb, ep] = owner_of_mac(p, s, mac);
            if (!sb || sb->service != c.b->name)
                return fail(r, msg + (sb ? "; that is " + sb->task + " on " + sb->node : "; no sandbox has it"),
                            "the new endpoint belongs to " + c.b->name + ": ovnet-sbox -t show " + b1->netns);
            return pass(r, msg + "; it is " + ep->ifname + " of " + sb->task + " on " + sb->node);
        }
        case 7: {
            if (answer.size() != 1) bad_answer(task, "N (a number)");
            if (!c.net) return skip(r, "the topology has no service");
            auto* o = (*n1).overlay(c.net->name);
            auto* st = seen_ns(s, n1->netns);
            size_t live = 0;
            if (o && st)
                if (auto* rows = seen_peers(*st, o->vtep))
                    for (auto& e : *rows) live += e.status == "peer";
            size_t planned = expected_peers(p, n1->name, c.net->name).size();
            std::string msg = fmt::format("{}'s {} has {} peers{}", n1->name, o ? o->vtep : "?", live,
                                          p.scaled ? "" : " (the lab is not scaled yet)");
            if (answer[0] != std::to_string(live))
                return fail(r, msg + "; not " + answer[0],
                            fmt::format("count the rows with status peer: ovnet-fdb -t -n {} show -d {}", n1->netns,
                                        o ? o->vtep : "VTEP"));
            if (live != planned)
                return fail(r, msg + fmt::format(", but the plan has {}", planned),
                            "right count of the live table, but the lab is not as planned: ovnet-lab check fdb-peers");
            return pass(r, msg);
        }
        case 8: {
            if (answer.size() != 1) bad_answer(task, "MARK (decimal or 0x hex)");
            if (!s.caps.ipvs) return skip(r, "needs IPVS: " + s.caps.ipvs_why);
            const LabSandbox* a1 = c.a ? task_of(p, c.a->name, n1->name) : nullptr;
            const LabLbService* lb = nullptr;
            for (auto& l : p.services)
                if (c.b && l.service == c.b->name) lb = &l;
            if (!a1 || !lb) return skip(r, "the topology has no second service");
            uint32_t said = 0;
            try {
                said = static_cast<uint32_t>(std::stoul(answer[0], nullptr, 0));
            } catch (const std::exception&) {
                bad_answer(task, "MARK (decimal or 0x hex)");
            }
            auto* st = seen_ns(s, a1->netns);
            const LbService* live = nullptr;
            if (st)
                for (auto& l : st->lb_services)
                    if (l.vip == lb->vip) live = &l;
            if (!live)
                return fail(r, fmt::format("{}: no service for {} ({})", a1->netns, lb->vip.str(), lb->service),
                            "ovnet-lb -t -n " + a1->netns + " show");
            std::string msg = fmt::format("{} VIP {}: MARK set {} = FWM {}", lb->service, lb->vip.str(),
                                          hexmark(live->fwmark), live->fwmark);
            if (said != live->fwmark) return fail(r, msg + "; not " + answer[0], "0x101 is 257: the mark in hex");
            return pass(r, msg);
        }
        case 9: {
            if (answer.empty()) bad_answer(task, "IP... (the backends)");
            if (!s.caps.ipvs) return skip(r, "needs IPVS: " + s.caps.ipvs_why);
            auto* st = seen_ns(s, n1->netns);
            const PublishSpec* pub = st && !st->published.empty() ? &st->published[0] : nullptr;
            if (!pub)
                return fail(r, n1->name + ": no published port", "ovnet-publish -t -n " + n1->netns + " show");
            std::set<std::string> have, said(answer.begin(), answer.end());
            for (auto& b : pub->backends) have.insert(b.str());
            std::string msg = fmt::format("port {}: FWM {} -> {}", pub->port, pub->fwmark, join(have));
            if (have != said)
                return fail(r, msg + "; you said: " + join(said),
                            "ovnet-ipvs -t -n " + ((p).ingress_sbox(n1->name) ? (p).ingress_sbox(n1->name)->netns
                                                                             : std::string("INGRESS_SBOX")) +
                                " show");
            return pass(r, msg);
        }
    }
    throw Error(ErrorKind::Input, fmt::format("check {}: no such task", task));
}

const std::vector<std::pair<std::string, std::string>>& lab_health_check_ids() {
    static const std::vector<std::pair<std::string, std::string>> ids = {
        {"namespaces", "every namespace of the plan exists"},
        {"links", "bridges, VTEPs (VNI, port, local address) and sandbox interfaces as planned"},
        {"mtu", "every overlay endpoint and VTEP has its overlay's MTU"},
        {"fdb-peers", "every VTEP has exactly the other nodes' endpoints as permanent peers (fdb + neighbor), "
                      "no learned entry shadows one"},
        {"lb", "the services' VIPs, marks and backends in every task (IPVS)"},
        {"publish", "the published ports: host DNAT, ingress_sbox mark and FWM service (IPVS)"},
        {"crypt", "the encrypted overlays' ESP SAs between every pair of nodes (AES-GCM)"},
    };
    return ids;
}

std::vector<CheckResult> lab_health_checks(const LabPlan& p, const LabSeen& s) {
    std::vector<CheckResult> out;
    auto name_of = [](const std::string& id) {
        for (auto& [i, n] : lab_health_check_ids())
            if (i == id) return n;
        return std::string();
    };
    auto done = [&](const std::string& id, const std::vector<std::string>& problems, const std::string& ok,
                    const std::string& hint) {
        CheckResult r = result(id, name_of(id));
        if (problems.empty()) {
            out.push_back(pass(r, ok));
            return;
        }
        std::string msg = problems[0];
        for (size_t i = 1; i < problems.size() && i < 4; i++) msg += "; " + problems[i];
        if (problems.size() > 4) msg += fmt::format("; and {} more", problems.size() - 4);
        out.push_back(fail(r, msg, hint));
    };
    // namespaces
    {
        std::vector<std::string> pr;
        size_t n = 0;
        for (auto& ns : p.namespaces()) {
            n++;
            if (!seen_ns(s, ns)) pr.push_back(ns + ": missing");
        }
        // Scaled tasks are in namespaces() only once scaled.
        done("namespaces", pr, fmt::format("{} namespaces", n), "ovnet-lab up creates them (it is idempotent)");
    }
    // links
    std::vector<std::string> mtu_pr;
    {
        std::vector<std::string> pr;
        size_t n = 0;
        for (auto& node : p.nodes) {
            auto* st = seen_ns(s, node.netns);
            if (!st) continue;
            for (auto& o : node.overlays) {
                n += 2;
                auto* b = seen_bridge(*st, o.bridge);
                auto* v = seen_vtep(*st, o.vtep);
                if (!b) pr.push_back(node.name + ": bridge " + o.bridge + " missing");
                if (!v) {
                    pr.push_back(node.name + ": VTEP " + o.vtep + " missing");
                    continue;
                }
                if (v->vxlan.vni != o.vni)
                    pr.push_back(fmt::format("{}: {} has VNI {}, not {}", node.name, o.vtep, v->vxlan.vni, o.vni));
                if (v->vxlan.port != 4789)
                    pr.push_back(fmt::format("{}: {} has port {}, not 4789", node.name, o.vtep, v->vxlan.port));
                if (v->vxlan.local.valid() && v->vxlan.local != node.underlay.addr)
                    pr.push_back(fmt::format("{}: {} has local {}, not {}", node.name, o.vtep, v->vxlan.local.str(),
                                             node.underlay.addr.str()));
                if (v->master != o.bridge)
                    pr.push_back(fmt::format("{}: {} is not a port of {}", node.name, o.vtep, o.bridge));
                if (v->mtu != o.mtu)
                    mtu_pr.push_back(fmt::format("{}: {} has MTU {}, not {}", node.name, o.vtep, v->mtu, o.mtu));
                if (b && b->mtu != o.mtu)
                    mtu_pr.push_back(fmt::format("{}: {} has MTU {}, not {}", node.name, o.bridge, b->mtu, o.mtu));
            }
        }
        for (auto& sb : p.sandboxes) {
            if (!active(p, sb)) continue;
            auto* st = seen_ns(s, sb.netns);
            if (!st) continue;
            for (auto& e : sb.endpoints) {
                n++;
                auto* l = seen_if(*st, e.ifname);
                std::string what = sb.netns + " " + e.ifname;
                if (!l) {
                    pr.push_back(what + " missing");
                    continue;
                }
                bool has_ip = std::find(l->addresses.begin(), l->addresses.end(), e.ip) != l->addresses.end();
                if (!has_ip) pr.push_back(what + ": no address " + e.ip.str());
                if (l->mac != e.mac) pr.push_back(what + ": MAC " + l->mac.str() + ", not " + e.mac.str());
                if (l->bridge != e.bridge)
                    pr.push_back(what + ": its peer is on " + (l->bridge.empty() ? "no bridge" : l->bridge) +
                                 ", not " + e.bridge);
                if (!l->up) pr.push_back(what + ": down");
                if (l->mtu != e.mtu) mtu_pr.push_back(fmt::format("{}: MTU {}, not {}", what, l->mtu, e.mtu));
            }
        }
        done("links", pr, fmt::format("{} bridges, VTEPs and interfaces as planned", n),
             "ovnet-lab up converges them (it is idempotent); ovnet-inspect -n NS shows the namespace");
    }
    done("mtu", mtu_pr, "every overlay endpoint and VTEP has its overlay's MTU",
         "an MTU below the overlay's drops large packets, above it they are fragmented or dropped at the VTEP: "
         "set the planned MTU (ip link set DEV mtu N)");
    // fdb-peers
    {
        std::vector<std::string> pr;
        size_t n = 0;
        std::string hint;
        for (auto& node : p.nodes) {
            auto* st = seen_ns(s, node.netns);
            if (!st) continue;
            for (auto& o : node.overlays) {
                auto exp = expected_peers(p, node.name, o.network);
                static const std::vector<PeerEntry> none;
                auto* rows = seen_peers(*st, o.vtep);
                if (!rows) rows = &none;
                std::string where = node.name + " " + o.vtep;
                for (auto& e : exp) {
                    n++;
                    const PeerEntry* row = nullptr;
                    bool learned = false;
                    for (auto& r : *rows) {
                        if (r.mac != e.mac) continue;
                        // The bridge learns remote MACs on its VXLAN port ("master"): normal. A
                        // learned entry of the VTEP itself is what shadows a peer.
                        bool on_bridge = std::find(r.flags.begin(), r.flags.end(), "master") != r.flags.end();
                        if (r.status == "learned") learned |= !on_bridge;
                        else if (r.status != "local") row = &r;
                    }
                    if (!row) {
                        pr.push_back(fmt::format("{}: no peer {} {} ({})", where, e.ip.str(), e.mac.str(), e.who));
                        hint = "ovnet-fdb local on the other node | ovnet-fdb apply --prune here (the README's pipe)";
                    } else if (row->status == "fdb-only") {
                        pr.push_back(fmt::format("{}: {} ({}) has an fdb entry but no neighbor (moby #52661)", where,
                                                 e.mac.str(), e.who));
                        hint = fmt::format("add the neighbor: ovnet-fdb -n {} add -d {} --ip {} --vtep {}", node.netns,
                                           o.vtep, e.ip.str(), e.vtep.str());
                    } else if (row->status == "neigh-only") {
                        pr.push_back(fmt::format("{}: {} ({}) has a neighbor but no fdb entry", where, e.mac.str(),
                                                 e.who));
                        hint = fmt::format("ovnet-fdb -n {} add -d {} --ip {} --vtep {}", node.netns, o.vtep,
                                           e.ip.str(), e.vtep.str());
                    } else if (row->vtep != e.vtep) {
                        pr.push_back(fmt::format("{}: {} ({}) is sent to {}, not {}", where, e.mac.str(), e.who,
                                                 row->vtep.str(), e.vtep.str()));
                        hint = fmt::format("ovnet-fdb -n {} add -d {} --ip {} --vtep {} (replaces the entry)",
                                           node.netns, o.vtep, e.ip.str(), e.vtep.str());
                    } else if (row->ip.valid() && row->ip != e.ip) {
                        pr.push_back(fmt::format("{}: {} has neighbor {}, not {}", where, e.mac.str(), row->ip.str(),
                                                 e.ip.str()));
                    }
                    if (learned) {
                        pr.push_back(fmt::format("{}: a learned entry for {} ({}) shadows the peer (moby #31588)",
                                                 where, e.mac.str(), e.who));
                        hint = fmt::format("bridge fdb del {} dev {} master (in {}), then ovnet-fdb apply",
                                           e.mac.str(), o.vtep, node.netns);
                    }
                }
                for (auto& r : *rows) {
                    if (r.status == "learned" || r.status == "local") continue;
                    bool planned = false;
                    for (auto& e : exp) planned |= e.mac == r.mac;
                    if (!planned) {
                        std::string to = r.vtep.valid() ? r.vtep.str() : std::string("-");
                        std::string vn = r.vtep.valid() ? node_of_underlay(p, r.vtep) : std::string();
                        pr.push_back(fmt::format("{}: stale {} {} -> {}{}", where, r.status, r.mac.str(), to,
                                                 vn.empty() && r.vtep.valid() ? " (no node of the lab: departed)" : ""));
                        hint = fmt::format("ovnet-fdb -n {} del -d {} --mac {} (or apply --prune the peers' set)",
                                           node.netns, o.vtep, r.mac.str());
                    }
                }
            }
        }
        done("fdb-peers", pr, fmt::format("{} peers as planned", n), hint);
    }
    // lb
    {
        CheckResult r = result("lb", name_of("lb"));
        if (!s.caps.ipvs) {
            out.push_back(skip(r, "needs IPVS: " + s.caps.ipvs_why));
        } else {
            std::vector<std::string> pr;
            size_t n = 0;
            for (auto& l : p.services) {
                std::set<IpAddr> be(l.backends.begin(), l.backends.end());
                for (auto& sb : p.sandboxes) {
                    if (sb.role != "task" || !active(p, sb) || !endpoint_on(sb, l.network)) continue;
                    auto* st = seen_ns(s, sb.netns);
                    if (!st) continue;
                    n++;
                    const LbService* live = nullptr;
                    for (auto& x : st->lb_services)
                        if (x.vip == l.vip) live = &x;
                    if (!live) {
                        pr.push_back(fmt::format("{}: no service {} ({})", sb.netns, l.vip.str(), l.service));
                        continue;
                    }
                    if (live->fwmark != l.fwmark)
                        pr.push_back(fmt::format("{}: {} has mark {}, not {}", sb.netns, l.vip.str(), live->fwmark,
                                                 l.fwmark));
                    std::set<IpAddr> lbe(live->backends.begin(), live->backends.end());
                    if (lbe != be) pr.push_back(fmt::format("{}: {} has other backends", sb.netns, l.vip.str()));
                }
            }
            done("lb", pr, fmt::format("{} services in the tasks as planned", n),
                 "ovnet-lb -n TASK add --vip VIP --backend ... converges a service");
        }
    }
    // publish
    {
        CheckResult r = result("publish", name_of("publish"));
        bool any = false;
        for (auto& l : p.services) any |= l.publish.has_value();
        if (!any) {
            out.push_back(pass(r, "no published port in this topology"));
        } else if (!s.caps.ipvs) {
            out.push_back(skip(r, "needs IPVS: " + s.caps.ipvs_why));
        } else {
            std::vector<std::string> pr;
            size_t n = 0;
            for (auto& l : p.services) {
                if (!l.publish) continue;
                std::set<IpAddr> be(l.ingress_backends.begin(), l.ingress_backends.end());
                for (auto& node : p.nodes) {
                    auto* st = seen_ns(s, node.netns);
                    if (!st) continue;
                    n++;
                    const PublishSpec* live = nullptr;
                    for (auto& x : st->published)
                        if (x.port == *l.publish) live = &x;
                    if (!live) {
                        pr.push_back(fmt::format("{}: port {} is not published (no DNAT to ingress_sbox, moby #33195)",
                                                 node.name, *l.publish));
                        continue;
                    }
                    if (live->fwmark != l.ingress_fwmark)
                        pr.push_back(fmt::format("{}: port {} has mark {}, not {}", node.name, *l.publish,
                                                 live->fwmark, l.ingress_fwmark));
                    std::set<IpAddr> lbe(live->backends.begin(), live->backends.end());
                    if (lbe != be) pr.push_back(fmt::format("{}: port {} has other backends", node.name, *l.publish));
                    if (live->rules.empty())
                        pr.push_back(fmt::format("{}: port {} has no rules (DNAT, MARK)", node.name, *l.publish));
                }
            }
            done("publish", pr, fmt::format("{} published ports as planned", n),
                 "ovnet-publish -n NODE add --port P --gw-ip 172.18.0.2 --ingress-sbox SBOX --backend ... "
                 "converges a port");
        }
    }
    // crypt
    {
        CheckResult r = result("crypt", name_of("crypt"));
        bool any = false;
        for (auto& nw : p.topology.networks) any |= nw.encrypted;
        if (!any) {
            out.push_back(pass(r, "no encrypted overlay in this topology"));
        } else if (!s.caps.gcm) {
            out.push_back(skip(r, "needs AES-GCM: " + s.caps.gcm_why));
        } else {
            std::vector<std::string> pr;
            for (auto& a : p.nodes) {
                auto* st = seen_ns(s, a.netns);
                if (!st || !st->xfrm) continue;
                for (auto& b : p.nodes) {
                    if (a.name == b.name) continue;
                    bool out_sa = false, in_sa = false;
                    for (auto& x : st->xfrm->states) {
                        out_sa |= x.src == a.underlay.addr && x.dst == b.underlay.addr;
                        in_sa |= x.src == b.underlay.addr && x.dst == a.underlay.addr;
                    }
                    if (!out_sa || !in_sa)
                        pr.push_back(fmt::format("{}: no ESP SA {} {}", a.name, !out_sa ? "to" : "from", b.name));
                }
            }
            done("crypt", pr, "SAs between every pair of nodes",
                 "ovnet-crypt -n NODE add ... (the lab keeps its keys in its state directory)");
        }
    }
    return out;
}

json lab_expected_snapshot(const LabPlan& p) {
    json doc = json::object();
    for (auto& node : p.nodes) {
        json& n = doc[node.netns];
        n["addresses"]["eth0"] = json::array({node.underlay.str()});
        for (auto& o : node.overlays) {
            n["bridges"][o.bridge] = {{"mtu", o.mtu}};
            n["vteps"][o.vtep] = {{"vni", o.vni}, {"port", 4789}, {"mtu", o.mtu}, {"master", o.bridge},
                                  {"local", node.underlay.addr.str()}};
            json peers = json::array();
            auto exp = expected_peers(p, node.name, o.network);
            std::sort(exp.begin(), exp.end(), [](auto& x, auto& y) { return x.mac < y.mac; });
            for (auto& e : exp) peers.push_back(e.ip.str() + " " + e.mac.str() + " " + e.vtep.str());
            n["peers"][o.vtep] = peers;
        }
    }
    for (auto& sb : p.sandboxes) {
        if (!active(p, sb)) continue;
        json& n = doc[sb.netns];
        n["interfaces"] = json::object();
        for (auto& e : sb.endpoints)
            n["interfaces"][e.ifname] = {{"address", e.ip.str()}, {"mac", e.mac.str()}, {"mtu", e.mtu},
                                         {"bridge", e.bridge}};
    }
    return doc;
}

json lab_seen_snapshot(const LabPlan& p, const LabSeen& s) {
    json doc = json::object();
    json exp = lab_expected_snapshot(p);
    for (auto& [ns, want] : exp.items()) {
        auto* st = seen_ns(s, ns);
        if (!st) continue;
        json& n = doc[ns];
        if (want.contains("addresses")) {
            n["addresses"] = json::object();
            for (auto& a : st->addresses)
                if (want["addresses"].contains(a.ifname)) {
                    if (!n["addresses"].contains(a.ifname)) n["addresses"][a.ifname] = json::array();
                    n["addresses"][a.ifname].push_back(a.address.str());
                }
        }
        if (want.contains("bridges")) {
            n["bridges"] = json::object();
            for (auto& b : st->bridges)
                if (want["bridges"].contains(b.name)) n["bridges"][b.name] = {{"mtu", b.mtu}};
        }
        if (want.contains("vteps")) {
            n["vteps"] = json::object();
            n["peers"] = json::object();
            for (auto& v : st->vteps) {
                if (!want["vteps"].contains(v.name)) continue;
                n["vteps"][v.name] = {{"vni", v.vxlan.vni}, {"port", v.vxlan.port}, {"mtu", v.mtu},
                                      {"master", v.master},
                                      {"local", v.vxlan.local.valid() ? v.vxlan.local.str() : std::string()}};
                std::vector<std::pair<Mac, std::string>> rows;
                if (auto* pr = seen_peers(*st, v.name))
                    for (auto& r : *pr)
                        if (r.status != "learned" && r.status != "local")
                            rows.push_back({r.mac, (r.ip.valid() ? r.ip.str() : "-") + " " + r.mac.str() + " " +
                                                       (r.vtep.valid() ? r.vtep.str() : "-")});
                std::sort(rows.begin(), rows.end());
                json peers = json::array();
                for (auto& [m, t] : rows) peers.push_back(t);
                n["peers"][v.name] = peers;
            }
        }
        if (want.contains("interfaces")) {
            n["interfaces"] = json::object();
            for (auto& e : st->interfaces) {
                if (!want["interfaces"].contains(e.ifname)) continue;
                std::string addr = want["interfaces"][e.ifname]["address"].get<std::string>();
                bool has = false;
                for (auto& a : e.addresses) has |= a.str() == addr;
                n["interfaces"][e.ifname] = {{"address", has ? addr : (e.addresses.empty() ? std::string("-") : e.addresses[0].str())},
                                             {"mac", e.mac.str()}, {"mtu", e.mtu}, {"bridge", e.bridge}};
            }
        }
    }
    return doc;
}

namespace {
void json_diff(const json& want, const json& got, const std::string& path, std::vector<std::string>& out) {
    if (want.is_object()) {
        for (auto& [k, v] : want.items()) {
            std::string p = path.empty() ? k : path + " " + k;
            if (!got.is_object() || !got.contains(k)) {
                out.push_back(p + ": missing");
                continue;
            }
            json_diff(v, got[k], p, out);
        }
        return;
    }
    if (want.is_array() && got.is_array()) {
        for (auto& w : want)
            if (std::find(got.begin(), got.end(), w) == got.end()) out.push_back(path + ": missing " + w.dump());
        for (auto& g : got)
            if (std::find(want.begin(), want.end(), g) == want.end()) out.push_back(path + ": unexpected " + g.dump());
        return;
    }
    if (want != got) out.push_back(path + ": " + got.dump() + ", expected " + want.dump());
}
}  // namespace

CheckResult lab_snapshot_check(const LabPlan& p, const LabSeen& s) {
    CheckResult r = result("snapshot", "the live state (ovnet-inspect) matches the plan's expected snapshot, "
                                       "volatile fields ignored");
    json want = lab_expected_snapshot(p), got = lab_seen_snapshot(p, s);
    std::vector<std::string> diffs;
    json_diff(want, got, "", diffs);
    if (diffs.empty())
        return pass(r, fmt::format("{} namespaces as planned (ifindexes, veth names, counters and learned "
                                   "entries ignored)",
                                   want.size()));
    std::string msg = diffs[0];
    for (size_t i = 1; i < diffs.size() && i < 5; i++) msg += "; " + diffs[i];
    if (diffs.size() > 5) msg += fmt::format("; and {} more", diffs.size() - 5);
    return fail(r, msg, "ovnet-inspect -n NS shows a namespace; ovnet-lab up converges the lab to its plan");
}

}  // namespace ovnet

namespace ovnet {

std::optional<std::vector<std::string>> lab_task_answer(const LabPlan& p, const LabSeen& s, unsigned task) {
    Cast c = cast_of(p);
    if (!c.n1) return std::nullopt;
    const LabNode& n1 = *c.n1;
    switch (task) {
        case 1: {
            const LabSandbox* a1 = c.a ? task_of(p, c.a->name, n1.name) : nullptr;
            auto* e = a1 ? endpoint_on(*a1, c.a->network) : nullptr;
            if (!e || !c.n2) return std::nullopt;
            return std::vector<std::string>{e->mac.str(), a1->task, a1->node};
        }
        case 2: {
            if (!c.other) return std::nullopt;
            std::vector<std::string> v;
            for (auto& n : p.nodes)
                if ((n).overlay(c.other->name)) v.push_back(n.name);
            return v;
        }
        case 3: {
            auto* o = c.other ? (n1).overlay(c.other->name) : nullptr;
            if (!o) return std::nullopt;
            return std::vector<std::string>{o->vtep, std::to_string(o->vni)};
        }
        case 4: {
            if (!c.a) return std::nullopt;
            std::set<std::string> nodes;
            for (auto& sb : p.sandboxes)
                if (sb.role == "task" && sb.service == c.a->name && active(p, sb)) nodes.insert(sb.node);
            return std::vector<std::string>(nodes.begin(), nodes.end());
        }
        case 5: {
            const LabSandbox* a1 = c.a ? task_of(p, c.a->name, n1.name) : nullptr;
            auto it = a1 ? s.netns.find(a1->netns) : s.netns.end();
            if (it == s.netns.end()) return std::nullopt;
            auto* e = seen_if(it->second, "eth0");
            if (!e || e->host_ifname.empty()) return std::nullopt;
            return std::vector<std::string>{e->host_ifname};
        }
        case 6: {
            const LabSandbox* b1 = c.b ? task_of(p, c.b->name, {}) : nullptr;
            auto* e = b1 ? endpoint_on(*b1, c.b->network) : nullptr;
            if (!e) return std::nullopt;
            return std::vector<std::string>{e->mac.str()};
        }
        case 7: {
            if (!c.net) return std::nullopt;
            return std::vector<std::string>{std::to_string(expected_peers(p, n1.name, c.net->name).size())};
        }
        case 8: {
            for (auto& l : p.services)
                if (c.b && l.service == c.b->name) return std::vector<std::string>{hexmark(l.fwmark)};
            return std::nullopt;
        }
        case 9: {
            for (auto& l : p.services)
                if (l.publish) {
                    std::vector<std::string> v;
                    for (auto& b : l.ingress_backends) v.push_back(b.str());
                    return v;
                }
            return std::nullopt;
        }
    }
    return std::nullopt;
}

}  // namespace ovnet
