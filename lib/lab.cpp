// ovnet-lab, the pure part: the topology's JSON form and checks, and the plan computed from it.
#include "ovnet/lab.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <set>

#include "ovnet/error.hpp"
#include "ovnet/schema.hpp"
#include "ovnet/vtep.hpp"

namespace ovnet {

// ---------------------------------------------------------------- JSON forms

template <class W>
void LabServiceSpec::fields(W& w) const {
    w("name", name);
    w("network", network);
    w("replicas", replicas);
    w.opt("scale", scale.has_value(), scale);
    w("ports", ports);
    w.opt("publish", publish.has_value(), publish);
    w.opt("vip", vip.has_value(), vip);
    w.opt("fwmark", fwmark.has_value(), fwmark);
    w.opt("ingress_fwmark", ingress_fwmark.has_value(), ingress_fwmark);
    w.opt("ingress_vip", ingress_vip.has_value(), ingress_vip);
    w.opt("nodes", !nodes.empty(), nodes);
    w.opt("ips", !ips.empty(), ips);
    w.opt("ingress_ips", !ingress_ips.empty(), ingress_ips);
}

template <class W>
void LabNetworkSpec::fields(W& w) const {
    w("name", name);
    w("id", id);
    w("vni", vni);
    w("subnet", subnet);
    w.opt("encrypted", encrypted, encrypted);
    w.opt("mtu", mtu.has_value(), mtu);
}

template <class W>
void LabTopology::fields(W& w) const {
    w("name", name);
    w("underlay", underlay);
    w("nodes", nodes);
    w("gwbridge", gwbridge);
    w("ingress", ingress);
    w("networks", networks);
    w("services", services);
}

template <class W>
void LabEndpoint::fields(W& w) const {
    w("ifname", ifname);
    w("network", network);
    w("bridge", bridge);
    w("ip", ip);
    w("mac", mac);
    w("mtu", mtu);
    w("gateway", gateway);
}

template <class W>
void LabSandbox::fields(W& w) const {
    w("netns", netns);
    w("node", node);
    w("role", role);
    w("service", service);
    w("task", task);
    w("slot", slot);
    w("scaled", scaled);
    w("endpoints", endpoints);
    w("listen", listen);
}

template <class W>
void LabOverlay::fields(W& w) const {
    w("network", network);
    w("bridge", bridge);
    w("vtep", vtep);
    w("vni", vni);
    w("mtu", mtu);
    w("encrypted", encrypted);
}

template <class W>
void LabLbService::fields(W& w) const {
    w("service", service);
    w("network", network);
    w("vip", vip);
    w("fwmark", fwmark);
    w("backends", backends);
    w("publish", publish);
    w("ingress_fwmark", ingress_fwmark);
    w("ingress_vip", ingress_vip);
    w("ingress_backends", ingress_backends);
}

template <class W>
void LabNode::fields(W& w) const {
    w("name", name);
    w("netns", netns);
    w("underlay", underlay);
    w("overlays", overlays);
}

template <class W>
void LabPlan::fields(W& w) const {
    w("prefix", prefix);
    w("scaled", scaled);
    w("topology", topology);
    w("underlay_netns", underlay_netns, schema::ReadOnly);
    w("client", client, schema::ReadOnly);
    w("nodes", nodes, schema::ReadOnly);
    w("sandboxes", sandboxes, schema::ReadOnly);
    w("services", services, schema::ReadOnly);
}

OVNET_SCHEMA_FIELDS(LabServiceSpec)
OVNET_SCHEMA_FIELDS(LabNetworkSpec)
OVNET_SCHEMA_FIELDS(LabTopology)
OVNET_SCHEMA_FIELDS(LabEndpoint)
OVNET_SCHEMA_FIELDS(LabSandbox)
OVNET_SCHEMA_FIELDS(LabOverlay)
OVNET_SCHEMA_FIELDS(LabLbService)
OVNET_SCHEMA_FIELDS(LabNode)
OVNET_SCHEMA_FIELDS(LabPlan)

json LabTopology::to_json() const { return schema::to_dom(*this); }
json LabPlan::to_json() const { return schema::to_dom(*this); }

namespace {

Prefix get_prefix(const json& o, const char* key, const std::string& obj) {
    auto p = opt_prefix(o, key, obj);
    if (!p) throw_input(obj, key, "", "required field is missing");
    return *p;
}

const json& get_array(const json& o, const char* key, const std::string& obj, bool required) {
    static const json empty = json::array();
    auto it = o.find(key);
    if (it == o.end() || it->is_null()) {
        if (required) throw_input(obj, key, "", "required field is missing");
        return empty;
    }
    if (!it->is_array()) throw_input(obj, key, shown_value(*it), "must be an array");
    return *it;
}

std::vector<std::string> string_list(const json& o, const char* key, const std::string& obj, bool required) {
    std::vector<std::string> out;
    for (auto& v : get_array(o, key, obj, required)) {
        if (!v.is_string()) throw_input(obj, key, shown_value(v), "must be an array of strings");
        out.push_back(v.get<std::string>());
    }
    return out;
}

std::vector<IpAddr> ip_list(const json& o, const char* key, const std::string& obj) {
    std::vector<IpAddr> out;
    for (auto& v : get_array(o, key, obj, false)) {
        IpAddr a;
        if (!v.is_string() || !IpAddr::try_parse(v.get<std::string>(), a))
            throw_input(obj, key, shown_value(v), "must be an array of IP addresses");
        out.push_back(a);
    }
    return out;
}

LabNetworkSpec network_from_json(const json& j, const std::string& where) {
    require_object(j, where);
    schema::check_keys<LabNetworkSpec>(j, where);
    LabNetworkSpec n;
    n.name = get_string(j, "name", where);
    std::string obj = "network " + n.name;
    n.id = get_string(j, "id", obj);
    auto vni = opt_uint(j, "vni", 1, 16777215, obj);
    if (!vni) throw_input(obj, "vni", "", "required field is missing");
    n.vni = uint32_t(*vni);
    n.subnet = get_prefix(j, "subnet", obj);
    n.encrypted = opt_bool(j, "encrypted", obj).value_or(false);
    if (auto m = opt_uint(j, "mtu", 68, 65535, obj)) n.mtu = uint32_t(*m);
    return n;
}

LabServiceSpec service_from_json(const json& j) {
    require_object(j, "service");
    schema::check_keys<LabServiceSpec>(j, "service");
    LabServiceSpec s;
    s.name = get_string(j, "name", "service");
    std::string obj = "service " + s.name;
    s.network = get_string(j, "network", obj);
    s.replicas = unsigned(opt_uint(j, "replicas", 0, 1000, obj).value_or(1));
    if (auto v = opt_uint(j, "scale", 0, 1000, obj)) s.scale = unsigned(*v);
    for (auto& v : get_array(j, "ports", obj, false)) {
        if (!v.is_number_unsigned() || v.get<uint64_t>() < 1 || v.get<uint64_t>() > 65535)
            throw_input(obj, "ports", shown_value(v), "must be an array of ports 1..65535");
        s.ports.push_back(uint16_t(v.get<uint64_t>()));
    }
    if (auto v = opt_uint(j, "publish", 1, 65535, obj)) s.publish = uint16_t(*v);
    s.vip = opt_ip(j, "vip", obj);
    if (auto v = opt_uint(j, "fwmark", 1, 0xffffffffu, obj)) s.fwmark = uint32_t(*v);
    if (auto v = opt_uint(j, "ingress_fwmark", 1, 0xffffffffu, obj)) s.ingress_fwmark = uint32_t(*v);
    s.ingress_vip = opt_ip(j, "ingress_vip", obj);
    s.nodes = string_list(j, "nodes", obj, false);
    s.ips = ip_list(j, "ips", obj);
    s.ingress_ips = ip_list(j, "ingress_ips", obj);
    return s;
}

bool name_ok(const std::string& s, size_t max) {
    if (s.empty() || s.size() > max) return false;
    for (char c : s)
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
    return s.front() != '-';
}

uint32_t v4(const IpAddr& a) {
    return (uint32_t(a.b[0]) << 24) | (uint32_t(a.b[1]) << 16) | (uint32_t(a.b[2]) << 8) | a.b[3];
}
IpAddr from_v4(uint32_t x) {
    IpAddr a;
    a.family = AF_INET;
    a.b[0] = uint8_t(x >> 24);
    a.b[1] = uint8_t(x >> 16);
    a.b[2] = uint8_t(x >> 8);
    a.b[3] = uint8_t(x);
    return a;
}
/// Host number `n` of an IPv4 prefix, empty when the prefix has no such host.
std::optional<IpAddr> host(const Prefix& p, uint32_t n) {
    uint32_t size = p.len >= 32 ? 1 : (uint32_t(1) << (32 - p.len));
    if (n == 0 || n + 1 >= size) return std::nullopt;   // network and broadcast addresses
    return from_v4((v4(p.network().addr) & prefix_to_netmask(p.len)) + n);
}
bool contains(const Prefix& p, const IpAddr& a) {
    return a.family == AF_INET && (v4(a) & prefix_to_netmask(p.len)) == (v4(p.addr) & prefix_to_netmask(p.len));
}
Prefix with_len(const IpAddr& a, int len) { return Prefix{a, len}; }

void check_subnet(const Prefix& p, const std::string& obj, const char* key, int max_len) {
    if (p.addr.family != AF_INET) throw_input(obj, key, p.str(), "must be an IPv4 prefix");
    if (p.len > max_len) throw_input(obj, key, p.str(), fmt::format("must be /{} or larger", max_len));
    if (p.network() != p) throw_input(obj, key, p.str(), "has host bits set");
}

void check_network(const LabNetworkSpec& n, const std::string& obj) {
    if (n.id.size() != 25 || !name_ok(n.id, 25) || n.id.find('-') != std::string::npos)
        throw_input(obj, "id", n.id, "must be Docker's 25-character network id ([a-z0-9])");
    if (n.vni < 1 || n.vni > 16777215) throw_input(obj, "vni", std::to_string(n.vni), "must be in 1..16777215");
    check_subnet(n.subnet, obj, "subnet", 29);
    if (n.mtu && (*n.mtu < 68 || *n.mtu > 65535)) throw_input(obj, "mtu", std::to_string(*n.mtu), "must be in 68..65535");
}

uint32_t mtu_of(const LabNetworkSpec& n) { return n.mtu ? *n.mtu : n.encrypted ? 1424 : 1450; }

/// The next free host of a subnet: addresses handed out in order, skipping those taken.
class Pool {
public:
    Pool(const Prefix& p, std::string what) : p_(p), what_(std::move(what)) {}
    void take(const IpAddr& a) { used_.insert(v4(a)); }
    bool taken(const IpAddr& a) const { return used_.count(v4(a)) != 0; }
    IpAddr next(uint32_t from) {
        for (uint32_t n = std::max(from, next_);; ++n) {
            auto a = host(p_, n);
            if (!a) throw_input(what_, "subnet", p_.str(), "address pool exhausted");
            if (!used_.count(v4(*a))) {
                used_.insert(v4(*a));
                next_ = n + 1;
                return *a;
            }
        }
    }

private:
    Prefix p_;
    std::string what_;
    std::set<uint32_t> used_;
    uint32_t next_ = 0;
};

}  // namespace

LabTopology LabTopology::from_json(const json& j) {
    const std::string top = "topology";
    require_object(j, top);
    schema::check_keys<LabTopology>(j, top);
    LabTopology t;
    t.name = get_string(j, "name", top);
    t.underlay = get_prefix(j, "underlay", top);
    t.nodes = string_list(j, "nodes", top, true);
    t.gwbridge = get_prefix(j, "gwbridge", top);
    auto ing = j.find("ingress");
    if (ing == j.end() || ing->is_null()) throw_input(top, "ingress", "", "required field is missing");
    t.ingress = network_from_json(*ing, "ingress");
    for (auto& n : get_array(j, "networks", top, false)) t.networks.push_back(network_from_json(n, "network"));
    for (auto& s : get_array(j, "services", top, false)) t.services.push_back(service_from_json(s));
    t.validate();
    return t;
}

void LabTopology::validate() const {
    const std::string top = "topology";
    if (!name_ok(name, 64)) throw_input(top, "name", name, "must be [a-z0-9-], 1..64 characters");
    check_subnet(underlay, top, "underlay", 24);
    check_subnet(gwbridge, top, "gwbridge", 24);
    if (nodes.empty()) throw_input(top, "nodes", "[]", "needs at least one node");
    if (nodes.size() > 89) throw_input(top, "nodes", std::to_string(nodes.size()), "at most 89 nodes (underlay hosts .11 to .99)");
    std::set<std::string> seen;
    for (auto& n : nodes) {
        if (!name_ok(n, 32)) throw_input(top, "nodes", n, "a node name must be [a-z0-9-], 1..32 characters");
        if (!seen.insert(n).second) throw_input(top, "nodes", n, "node named twice");
    }
    if (ingress.name != "ingress") throw_input("ingress", "name", ingress.name, "must be \"ingress\"");
    if (ingress.encrypted) throw_input("network ingress", "encrypted", "true", "the ingress network is never encrypted");
    check_network(ingress, "network ingress");
    std::set<std::string> nets{"ingress"};
    std::set<uint32_t> vnis{ingress.vni};
    std::set<std::string> ids{ingress.id.substr(0, 5)};
    for (auto& n : networks) {
        std::string obj = "network " + n.name;
        if (!name_ok(n.name, 32)) throw_input(obj, "name", n.name, "must be [a-z0-9-], 1..32 characters");
        if (n.name == "docker_gwbridge" || !nets.insert(n.name).second) throw_input(obj, "name", n.name, "network named twice");
        check_network(n, obj);
        if (!vnis.insert(n.vni).second) throw_input(obj, "vni", std::to_string(n.vni), "VNI used by another network");
        if (!ids.insert(n.id.substr(0, 5)).second) throw_input(obj, "id", n.id, "its first 5 characters name another network's links");
    }
    std::set<std::string> svcs;
    std::set<uint32_t> marks;
    std::set<uint16_t> published;
    for (auto& s : services) {
        std::string obj = "service " + s.name;
        if (!name_ok(s.name, 15)) throw_input(obj, "name", s.name, "must be [a-z0-9-], 1..15 characters");
        if (!svcs.insert(s.name).second) throw_input(obj, "name", s.name, "service named twice");
        auto net = std::find_if(networks.begin(), networks.end(), [&](auto& n) { return n.name == s.network; });
        if (net == networks.end()) throw_input(obj, "network", s.network, "no such overlay network in the topology");
        if (s.replicas < 1 || s.replicas > 1000) throw_input(obj, "replicas", std::to_string(s.replicas), "must be in 1..1000");
        unsigned slots = std::max(s.replicas, s.scale.value_or(0));
        if (s.scale && (*s.scale < s.replicas || *s.scale > 1000))
            throw_input(obj, "scale", std::to_string(*s.scale), "must be in replicas..1000");
        if (s.nodes.size() > slots) throw_input(obj, "nodes", std::to_string(s.nodes.size()), "more nodes than task slots");
        for (auto& n : s.nodes)
            if (!seen.count(n)) throw_input(obj, "nodes", n, "no such node in the topology");
        if (s.ips.size() > slots) throw_input(obj, "ips", std::to_string(s.ips.size()), "more addresses than task slots");
        for (auto& a : s.ips)
            if (!contains(net->subnet, a)) throw_input(obj, "ips", a.str(), "not in network " + net->name + "'s subnet " + net->subnet.str());
        if (s.vip && !contains(net->subnet, *s.vip)) throw_input(obj, "vip", s.vip->str(), "not in network " + net->name + "'s subnet " + net->subnet.str());
        for (uint16_t p : s.ports)
            if (p == 0) throw_input(obj, "ports", "0", "must be in 1..65535");
        if (!s.publish && (s.ingress_vip || s.ingress_fwmark || !s.ingress_ips.empty()))
            throw_input(obj, "publish", "", "ingress_vip, ingress_fwmark and ingress_ips need a published port");
        if (s.publish && !published.insert(*s.publish).second)
            throw_input(obj, "publish", std::to_string(*s.publish), "port published by another service");
        if (s.ingress_ips.size() > slots) throw_input(obj, "ingress_ips", std::to_string(s.ingress_ips.size()), "more addresses than task slots");
        for (auto& a : s.ingress_ips)
            if (!contains(ingress.subnet, a)) throw_input(obj, "ingress_ips", a.str(), "not in the ingress subnet " + ingress.subnet.str());
        if (s.ingress_vip && !contains(ingress.subnet, *s.ingress_vip))
            throw_input(obj, "ingress_vip", s.ingress_vip->str(), "not in the ingress subnet " + ingress.subnet.str());
        for (auto m : {s.fwmark, s.ingress_fwmark})
            if (m && !marks.insert(*m).second) throw_input(obj, "fwmark", std::to_string(*m), "mark used by another service");
    }
}

LabTopology lab_topology_with_nodes(const LabTopology& t, unsigned nodes) {
    if (nodes == 0 || nodes == t.nodes.size()) return t;
    if (nodes > 89) throw_input("topology", "nodes", std::to_string(nodes), "at most 89 nodes");
    LabTopology r = t;
    if (nodes < t.nodes.size()) {
        r.nodes.resize(nodes);
    } else {
        // More nodes than the topology names: swarm-NN style names continue the list.
        for (unsigned i = unsigned(t.nodes.size()) + 1; i <= nodes; ++i) {
            std::string n = fmt::format("swarm-{:02}", i);
            while (std::find(r.nodes.begin(), r.nodes.end(), n) != r.nodes.end()) n += "x";
            r.nodes.push_back(n);
        }
    }
    std::set<std::string> kept(r.nodes.begin(), r.nodes.end());
    for (auto& s : r.services) {
        // Placement is by slot: from the first dropped node on, the slots are spread again.
        auto it = std::find_if(s.nodes.begin(), s.nodes.end(), [&](auto& n) { return !kept.count(n); });
        s.nodes.erase(it, s.nodes.end());
    }
    r.validate();
    return r;
}

// ---------------------------------------------------------------- the plan

void lab_validate_prefix(const std::string& prefix) {
    if (prefix.empty() || prefix.size() > 32 || prefix[0] == '-' ||
        !std::all_of(prefix.begin(), prefix.end(), [](char c) {
            return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
        }))
        throw_input("lab", "prefix", prefix, "must be [A-Za-z0-9_-], 1..32 characters, not starting with '-'");
}

LabPlan lab_plan(const LabTopology& t, const std::string& prefix, bool scaled) {
    t.validate();
    lab_validate_prefix(prefix);
    LabPlan p;
    p.prefix = prefix;
    p.topology = t;
    p.scaled = scaled;
    p.underlay_netns = prefix + "-ul";
    p.client = *host(t.underlay, 100);
    const unsigned N = unsigned(t.nodes.size());
    const std::string gw = "docker_gwbridge";
    const IpAddr gw_addr = *host(t.gwbridge, 1);

    auto overlay_of = [&](const LabNetworkSpec& n) {
        return LabOverlay{n.name, docker_bridge_name(n.vni, n.id), docker_vxlan_name(n.vni, n.id), n.vni, mtu_of(n), n.encrypted};
    };
    for (unsigned i = 0; i < N; ++i) {
        LabNode node;
        node.name = t.nodes[i];
        node.netns = prefix + "-" + node.name;
        node.underlay = with_len(*host(t.underlay, 11 + i), t.underlay.len);
        node.overlays.push_back(overlay_of(t.ingress));
        for (auto& n : t.networks) node.overlays.push_back(overlay_of(n));
        p.nodes.push_back(std::move(node));
    }

    // Address pools: .1 is each network's gateway, .2.. one per node (ingress_sbox on ingress, the
    // lb_<id> endpoints on the others, as Docker hands them out), then VIPs and tasks in order.
    std::map<std::string, Pool> pools;
    pools.emplace("ingress", Pool(t.ingress.subnet, "network ingress"));
    for (auto& n : t.networks) pools.emplace(n.name, Pool(n.subnet, "network " + n.name));
    for (auto& entry : pools) {
        const std::string& name = entry.first;   // (not a structured binding: clang 14 cannot capture one)
        Pool& pool = entry.second;
        for (uint32_t k = 1; k <= 1 + N; ++k) {
            auto a = host(name == "ingress" ? t.ingress.subnet
                                            : std::find_if(t.networks.begin(), t.networks.end(),
                                                           [&](auto& n) { return n.name == name; })->subnet, k);
            if (!a) throw_input("network " + name, "subnet", "", "too small for " + std::to_string(N) + " nodes");
            pool.take(*a);
        }
    }
    std::set<uint32_t> marks;
    for (auto& s : t.services) {
        auto& pool = pools.at(s.network);
        auto check_take = [&](Pool& pl, const IpAddr& a, const std::string& key) {
            if (pl.taken(a)) throw_input("service " + s.name, key, a.str(), "address already in use");
            pl.take(a);
        };
        if (s.vip) check_take(pool, *s.vip, "vip");
        for (auto& a : s.ips) check_take(pool, a, "ips");
        if (s.ingress_vip) check_take(pools.at("ingress"), *s.ingress_vip, "ingress_vip");
        for (auto& a : s.ingress_ips) check_take(pools.at("ingress"), a, "ingress_ips");
        if (s.fwmark) marks.insert(*s.fwmark);
        if (s.ingress_fwmark) marks.insert(*s.ingress_fwmark);
    }
    auto next_mark = [&] {
        uint32_t m = 256;
        while (marks.count(m)) ++m;
        marks.insert(m);
        return m;
    };

    struct Task {
        const LabServiceSpec* svc;
        unsigned slot;
        std::string node;
        IpAddr ip, ingress_ip;
    };
    std::vector<Task> tasks;
    std::vector<std::map<std::string, unsigned>> per_service(t.services.size());
    // Unscaled tasks of every service first, then the scaled slots: the addresses and the
    // placement of the first ones do not depend on a later scale.
    for (int phase = 0; phase < 2; ++phase)
        for (size_t si = 0; si < t.services.size(); ++si) {
            auto& s = t.services[si];
            auto& pool = pools.at(s.network);
            if (phase == 0) {
                LabLbService lb;
                lb.service = s.name;
                lb.network = s.network;
                lb.vip = s.vip ? *s.vip : pool.next(2 + N);
                if (s.publish) {
                    lb.publish = s.publish;
                    lb.ingress_fwmark = s.ingress_fwmark ? *s.ingress_fwmark : next_mark();
                    lb.ingress_vip = s.ingress_vip ? *s.ingress_vip : pools.at("ingress").next(2 + N);
                }
                lb.fwmark = s.fwmark ? *s.fwmark : next_mark();
                p.services.push_back(lb);
            }
            unsigned first = phase == 0 ? 1 : s.replicas + 1;
            unsigned last = phase == 0 ? s.replicas : std::max(s.replicas, s.scale.value_or(0));
            for (unsigned slot = first; slot <= last; ++slot) {
                Task k{&s, slot, {}, {}, {}};
                auto& count = per_service[si];
                if (slot <= s.nodes.size()) {
                    k.node = s.nodes[slot - 1];
                } else {
                    // Swarm's spread: the node with the fewest tasks of the service, ties in node order.
                    k.node = t.nodes[0];
                    for (auto& n : t.nodes)
                        if (count[n] < count[k.node]) k.node = n;
                }
                ++count[k.node];
                k.ip = slot <= s.ips.size() ? s.ips[slot - 1] : pool.next(2 + N);
                if (s.publish)
                    k.ingress_ip = slot <= s.ingress_ips.size() ? s.ingress_ips[slot - 1] : pools.at("ingress").next(2 + N);
                tasks.push_back(k);
            }
        }

    // Sandboxes: every node's ingress_sbox, then the tasks; docker_gwbridge addresses per node in
    // creation order (.2 ingress_sbox, tasks from .3).
    std::map<std::string, uint32_t> gw_next;
    auto endpoint = [&](const std::string& ifname, const std::string& network, const std::string& bridge,
                        const IpAddr& ip, int len, uint32_t mtu, std::optional<IpAddr> gateway) {
        return LabEndpoint{ifname, network, bridge, with_len(ip, len), docker_mac(ip), mtu, gateway};
    };
    auto gw_endpoint = [&](const std::string& node, const std::string& ifname, const std::string& what) {
        uint32_t k = gw_next.count(node) ? gw_next[node] : 2;
        auto a = host(t.gwbridge, k);
        if (!a) throw_input(what, "gwbridge", t.gwbridge.str(), "address pool exhausted");
        gw_next[node] = k + 1;
        return endpoint(ifname, gw, gw, *a, t.gwbridge.len, 1500, gw_addr);
    };
    const LabOverlay& ingress_ov = p.nodes[0].overlays[0];
    for (unsigned i = 0; i < N; ++i) {
        LabSandbox sb;
        sb.node = t.nodes[i];
        sb.netns = prefix + "-" + sb.node + "-ingress_sbox";
        sb.role = "ingress_sbox";
        sb.endpoints.push_back(endpoint("eth0", "ingress", ingress_ov.bridge, *host(t.ingress.subnet, 2 + i),
                                        t.ingress.subnet.len, ingress_ov.mtu, std::nullopt));
        sb.endpoints.push_back(gw_endpoint(sb.node, "eth1", "ingress_sbox " + sb.node));
        p.sandboxes.push_back(std::move(sb));
    }
    for (auto& k : tasks) {
        auto& s = *k.svc;
        auto& net = *std::find_if(t.networks.begin(), t.networks.end(), [&](auto& n) { return n.name == s.network; });
        const LabOverlay& ov = *std::find_if(p.nodes[0].overlays.begin(), p.nodes[0].overlays.end(),
                                             [&](auto& o) { return o.network == s.network; });
        LabSandbox sb;
        sb.node = k.node;
        sb.role = "task";
        sb.service = s.name;
        sb.slot = k.slot;
        sb.task = s.name + "." + std::to_string(k.slot);
        sb.netns = prefix + "-" + k.node + "-" + sb.task;
        sb.scaled = k.slot > s.replicas;
        unsigned idx = 0;
        auto eth = [&] { return "eth" + std::to_string(idx++); };
        if (s.publish)
            sb.endpoints.push_back(endpoint(eth(), "ingress", ingress_ov.bridge, k.ingress_ip, t.ingress.subnet.len,
                                            ingress_ov.mtu, std::nullopt));
        LabEndpoint netep = endpoint(s.publish ? "eth2" : "eth0", net.name, ov.bridge, k.ip, net.subnet.len, ov.mtu, std::nullopt);
        if (!s.publish) {
            sb.endpoints.push_back(netep);
            ++idx;
        }
        sb.endpoints.push_back(gw_endpoint(k.node, eth(), "task " + sb.task));
        if (s.publish) sb.endpoints.push_back(netep);
        sb.listen = s.ports;
        if (s.publish && std::find(sb.listen.begin(), sb.listen.end(), *s.publish) == sb.listen.end())
            sb.listen.push_back(*s.publish);
        auto lb = std::find_if(p.services.begin(), p.services.end(), [&](auto& l) { return l.service == s.name; });
        if (sb.scaled && !scaled) continue;
        lb->backends.push_back(k.ip);
        if (s.publish) lb->ingress_backends.push_back(k.ingress_ip);
        p.sandboxes.push_back(std::move(sb));
    }
    return p;
}

LabPlan LabPlan::from_json(const json& j) {
    const std::string obj = "plan";
    require_object(j, obj);
    schema::check_keys<LabPlan>(j, obj);
    std::string prefix = get_string(j, "prefix", obj);
    bool scaled = opt_bool(j, "scaled", obj).value_or(false);
    auto t = j.find("topology");
    if (t == j.end() || t->is_null()) throw_input(obj, "topology", "", "required field is missing");
    return lab_plan(LabTopology::from_json(*t), prefix, scaled);
}

const LabNode* LabPlan::node(const std::string& name) const {
    for (auto& n : nodes)
        if (n.name == name) return &n;
    return nullptr;
}
const LabSandbox* LabPlan::sandbox_of_task(const std::string& task) const {
    for (auto& s : sandboxes)
        if (s.role == "task" && s.task == task) return &s;
    return nullptr;
}
const LabSandbox* LabPlan::sandbox_of_netns(const std::string& netns) const {
    for (auto& s : sandboxes)
        if (s.netns == netns) return &s;
    return nullptr;
}
const LabSandbox* LabPlan::ingress_sbox(const std::string& node) const {
    for (auto& s : sandboxes)
        if (s.role == "ingress_sbox" && s.node == node) return &s;
    return nullptr;
}
const LabLbService* LabPlan::service(const std::string& name) const {
    for (auto& s : services)
        if (s.service == name) return &s;
    return nullptr;
}
const LabNetworkSpec* LabPlan::network(const std::string& name) const {
    if (name == topology.ingress.name) return &topology.ingress;
    for (auto& n : topology.networks)
        if (n.name == name) return &n;
    return nullptr;
}

std::vector<std::string> LabPlan::namespaces() const {
    std::vector<std::string> out;
    for (auto it = sandboxes.rbegin(); it != sandboxes.rend(); ++it) out.push_back(it->netns);
    for (auto& n : nodes) out.push_back(n.netns);
    out.push_back(underlay_netns);
    return out;
}

}  // namespace ovnet
