#include "ovnet/bridge.hpp"

#include <fcntl.h>
#include <linux/net_namespace.h>
#include <linux/rtnetlink.h>
#include <netlink/attr.h>
#include <netlink/msg.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <fmt/format.h>
#include <map>

#include "ovnet/addr.hpp"
#include "ovnet/error.hpp"
#include "ovnet/link.hpp"
#include "ovnet/netlink.hpp"
#include "ovnet/netns.hpp"

namespace ovnet {

// ---- peer resolution -------------------------------------------------------------------------

struct PeerResolver::Impl {
    Handle& h;
    std::vector<NetnsInfo> candidates;   // every named namespace, listed on first need
    size_t queried = 0;                  // candidates[0..queried) have been asked for their nsid
    bool listed = false;
    std::map<int, NetnsInfo> by_nsid;
    // One link dump per namespace, however many ports lead there ("" = the handle's own).
    std::map<std::string, std::vector<Link>> links;
    explicit Impl(Handle& hh) : h(hh) {}

    int nsid_of(const std::string& path) {
        Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
        if (!fd) return -1;
        void* hdr;
        NlMsg m = nl_new(RTM_GETNSID, 0, NLMSG_ALIGN(sizeof(rtgenmsg)), &hdr);
        static_cast<rtgenmsg*>(hdr)->rtgen_family = AF_UNSPEC;
        nla_put_u32(m.get(), NETNSA_FD, uint32_t(fd.get()));
        int id = -1;
        h.get(std::move(m), [&](const nlmsghdr* r) {
            if (r->nlmsg_type != RTM_NEWNSID) return;
            nlattr* tb[NETNSA_MAX + 1];
            if (nlmsg_parse(const_cast<nlmsghdr*>(r), NLMSG_ALIGN(sizeof(rtgenmsg)), tb, NETNSA_MAX, nullptr) < 0) return;
            if (tb[NETNSA_NSID]) id = nla_get_s32(tb[NETNSA_NSID]);
        });
        return id;
    }

    // Asks namespaces for their id only until the wanted one turns up: listing every sandbox
    // of a host must not cost one request per pair of namespaces.
    const NetnsInfo* find(int nsid) {
        if (!listed) {
            candidates = netns_list(true);
            listed = true;
        }
        for (auto it = by_nsid.find(nsid); it == by_nsid.end(); it = by_nsid.find(nsid)) {
            if (queried == candidates.size()) return nullptr;
            auto& ns = candidates[queried++];
            int id = nsid_of(ns.path);
            if (id >= 0 && !by_nsid.count(id)) by_nsid[id] = ns;
        }
        return &by_nsid[nsid];
    }

    const std::vector<Link>& links_of(const std::string& path) {
        auto it = links.find(path);
        if (it != links.end()) return it->second;
        std::vector<Link> v;
        if (path.empty()) {
            v = link_list(h);
        } else {
            Handle ph(path);
            v = link_list(ph);
        }
        return links.emplace(path, std::move(v)).first->second;
    }
};

PeerResolver::PeerResolver(Handle& h, const std::vector<Link>* links) : impl_(new Impl(h)) {
    if (links) impl_->links.emplace("", *links);
}
PeerResolver::~PeerResolver() { delete impl_; }

PeerRef PeerResolver::resolve(int link_netnsid, int peer_ifindex) {
    PeerRef ref;
    ref.ifindex = peer_ifindex;
    std::string path;
    if (link_netnsid >= 0) {
        const NetnsInfo* ns = impl_->find(link_netnsid);
        if (!ns) {
            ref.netns = netns_label_nsid(link_netnsid);
            return ref;
        }
        ref.netns = ns->label;
        path = ns->path;
    }
    try {
        auto& links = impl_->links_of(path);
        auto by_index = [&](int idx) -> const Link* {
            for (auto& l : links)
                if (l.ifindex == idx) return &l;
            return nullptr;
        };
        if (auto* l = by_index(peer_ifindex)) {
            ref.ifname = l->name;
            if (auto* m = by_index(l->master)) ref.master = m->name;
        }
    } catch (const Error&) {
        // The namespace vanished between listing and opening: report what we know.
    }
    return ref;
}

std::string PeerResolver::netns_label(int nsid) {
    const NetnsInfo* ns = nsid >= 0 ? impl_->find(nsid) : nullptr;
    return ns ? ns->label : netns_label_nsid(nsid);
}

std::string PeerResolver::netns_path(int nsid) {
    const NetnsInfo* ns = nsid >= 0 ? impl_->find(nsid) : nullptr;
    return ns ? ns->path : std::string();
}

// ---- JSON ------------------------------------------------------------------------------------

BridgeSpec BridgeSpec::from_json(const json& j) {
    std::string obj = "bridge";
    require_object(j, obj);
    if (auto n = opt_string(j, "name", obj)) obj = "bridge " + *n;
    schema::check_keys<Bridge>(j, obj, {"kind"});   // "kind" (input only): refuses another kind of object
    if (auto k = opt_string(j, "kind", obj); k && *k != "bridge")
        throw_input(obj, "kind", *k, "not a bridge object");
    BridgeSpec s;
    s.name = get_string(j, "name", obj);
    if (auto v = opt_uint(j, "mtu", 68, 65535, obj)) s.mtu = uint32_t(*v);
    s.mac = opt_mac(j, "mac", obj);
    // A bridge whose last port left has the kernel's 00:00:00:00:00:00 until a port joins again:
    // in a shown object (it carries the read-only ifindex) that is no MAC to set, not a bad one.
    if (s.mac && s.mac->is_zero() && j.contains("ifindex")) s.mac.reset();
    if (auto it = j.find("addresses"); it != j.end() && !it->is_null()) {
        if (!it->is_array()) throw_input(obj, "addresses", it->dump(), "must be an array of CIDR strings");
        for (auto& a : *it) {
            if (!a.is_string()) throw_input(obj, "addresses", a.dump(), "must be a CIDR string");
            try {
                s.addresses.push_back(Prefix::parse(a.get<std::string>()));
            } catch (const Error&) {
                throw_input(obj, "addresses", a.get<std::string>(), "not an address with a prefix length (10.0.0.1/24)");
            }
        }
    }
    if (auto it = j.find("ports"); it != j.end() && !it->is_null()) {
        if (!it->is_array()) throw_input(obj, "ports", it->dump(), "must be an array");
        for (auto& p : *it) {
            if (p.is_string()) s.ports.push_back(p.get<std::string>());
            else if (p.is_object() && p.contains("name") && p["name"].is_string()) s.ports.push_back(p["name"].get<std::string>());
            else throw_input(obj, "ports", p.dump(), "a port is a name or an object with a name");
        }
    }
    s.validate();
    return s;
}

void BridgeSpec::validate() const {
    std::string obj = "bridge " + name;
    validate_ifname(name, obj, "name");
    if (mtu && (*mtu < 68 || *mtu > 65535)) throw_input(obj, "mtu", std::to_string(*mtu), "must be in 68..65535");
    if (mac && (mac->is_multicast() || mac->is_zero()))
        throw_input(obj, "mac", mac->str(), "must be a unicast, non-zero MAC address");
    for (auto& a : addresses)
        if (!is_unicast_host(a.addr)) throw_input(obj, "addresses", a.str(), "must be a unicast address");
    for (auto& p : ports) {
        validate_ifname(p, obj, "ports");
        if (p == name) throw_input(obj, "ports", p, "a bridge cannot be its own port");
    }
}

// ---- show ------------------------------------------------------------------------------------

namespace {
std::vector<Bridge> bridges_of(Handle& h, const std::vector<Link>& links, const std::vector<Addr>& addrs,
                               PeerResolver& resolver, const std::string& name) {
    std::vector<Bridge> out;
    for (auto& l : links) {
        if (l.kind != "bridge" || (!name.empty() && l.name != name)) continue;
        Bridge b;
        b.netns = h.netns_name();
        b.name = l.name;
        b.ifindex = l.ifindex;
        b.mac = l.mac;
        b.mtu = l.mtu;
        b.up = l.up;
        for (auto& a : addrs)
            if (a.ifindex == l.ifindex) b.addresses.push_back(a.prefix);
        for (auto& p : links) {
            if (p.master != l.ifindex) continue;
            BridgePort bp;
            bp.name = p.name;
            bp.ifindex = p.ifindex;
            bp.kind = p.kind;
            bp.mac = p.mac;
            bp.mtu = p.mtu;
            bp.up = p.up;
            if (p.kind == "veth" && p.link) bp.peer = resolver.resolve(p.link_netnsid, p.link);
            b.ports.push_back(std::move(bp));
        }
        out.push_back(std::move(b));
    }
    return out;
}
}  // namespace

std::vector<Bridge> bridge_show(Handle& h, const std::vector<Link>& links, const std::vector<Addr>& addrs,
                                PeerResolver& resolver) {
    return bridges_of(h, links, addrs, resolver, {});
}

std::vector<Bridge> bridge_show(Handle& h, const std::string& name) {
    if (!name.empty()) validate_ifname(name, "bridge " + name, "name");
    auto links = link_list(h);
    auto addrs = addr_list(h);
    PeerResolver resolver(h, &links);
    auto out = bridges_of(h, links, addrs, resolver, name);
    if (!name.empty() && out.empty()) {
        bool exists = std::any_of(links.begin(), links.end(), [&](auto& l) { return l.name == name; });
        throw_input("bridge " + name, "name", name, exists ? "is not a bridge" : "no such bridge");
    }
    return out;
}

// ---- mutations -------------------------------------------------------------------------------

namespace {
// Checks everything add() needs before the first write.
std::optional<Link> precheck(Handle& h, const BridgeSpec& s, std::map<std::string, Link>& ports) {
    s.validate();
    std::string obj = "bridge " + s.name;
    auto br = link_get(h, s.name);
    if (br && br->kind != "bridge")
        throw_sys(EEXIST, fmt::format("an interface named {} exists and is a {}, not a bridge", s.name,
                                      br->kind.empty() ? "device" : br->kind), {}, obj);
    for (auto& p : s.ports) {
        auto l = link_get(h, p);
        if (!l) throw_input(obj, "ports", p, "no such interface");
        if (l->kind == "bridge") throw_input(obj, "ports", p, "is a bridge");
        ports[p] = *l;
    }
    return br;
}

Changes add_checked(Handle& h, const BridgeSpec& s, std::optional<Link> br, std::map<std::string, Link>& ports) {
    Changes ch;
    std::string obj = "bridge " + s.name;
    if (!br) {
        LinkSpec ls;
        ls.name = s.name;
        ls.kind = "bridge";
        ls.mac = s.mac;
        ls.up = true;
        link_add(h, ls);
        ch.push_back(Change{Action::Added, obj});
        br = link_get(h, s.name);
        if (!br) throw_sys(ENODEV, "bridge vanished right after creation", {}, obj);
        if (s.mtu) {
            // An MTU given at creation is not "set by the user" for the bridge code: the first port
            // with a smaller MTU would drag it down. Changing it afterwards pins it; when it already
            // has the wanted value, step away and back.
            LinkChange c;
            if (br->mtu == *s.mtu) {
                c.mtu = *s.mtu > 68 ? *s.mtu - 1 : *s.mtu + 1;
                link_set(h, br->ifindex, c, obj);
            }
            c.mtu = s.mtu;
            link_set(h, br->ifindex, c, obj);
            br->mtu = *s.mtu;
        }
    } else {
        LinkChange c;
        json d = json::object();
        if (s.mtu && br->mtu != *s.mtu) { c.mtu = s.mtu; d["mtu"] = *s.mtu; }
        if (s.mac && br->mac != *s.mac) { c.mac = s.mac; d["mac"] = s.mac->str(); }
        if (!br->up) { c.up = true; d["state"] = "up"; }
        if (!d.empty()) {
            link_set(h, br->ifindex, c, obj);
            ch.push_back(Change::with_detail(Action::Changed, obj, d, "set"));
        }
    }
    for (auto& a : s.addresses)
        if (addr_add(h, br->ifindex, a, obj)) ch.push_back(Change{Action::Added, obj + " address " + a.str()});
    for (auto& p : s.ports) {
        auto& l = ports[p];
        if (l.master == br->ifindex) continue;
        LinkChange c;
        c.master = br->ifindex;
        link_set(h, l.ifindex, c, obj + " port " + p);
        // Up only once enslaved: in one request the kernel sets IFF_UP before it tries the master,
        // so a refused port (lo) would be left up.
        if (!l.up) {
            LinkChange u;
            u.up = true;
            link_set(h, l.ifindex, u, obj + " port " + p);
        }
        ch.push_back(Change{Action::Changed, obj + " port " + p, "attached"});
    }
    // Enslaving a port moves the bridge's MTU to the smallest port MTU unless the MTU was set
    // after creation (an IFLA_MTU given at creation does not count): set it again if it moved.
    if (s.mtu) {
        auto now = link_get(h, br->ifindex);
        if (now && now->mtu != *s.mtu) {
            LinkChange c;
            c.mtu = s.mtu;
            link_set(h, br->ifindex, c, obj);
            bool noted = std::any_of(ch.begin(), ch.end(), [&](auto& x) { return x.object == obj; });
            if (!noted) ch.push_back(Change::with_detail(Action::Changed, obj, json{{"mtu", *s.mtu}}, "set"));
        }
    }
    if (ch.empty()) ch.push_back(Change{Action::Unchanged, obj});
    return ch;
}
}  // namespace

Changes bridge_add(Handle& h, const BridgeSpec& s) {
    std::map<std::string, Link> ports;
    auto br = precheck(h, s, ports);
    return add_checked(h, s, br, ports);
}

Changes bridge_apply(Handle& h, const std::vector<BridgeSpec>& specs) {
    std::map<std::string, int> seen;
    std::vector<std::pair<std::optional<Link>, std::map<std::string, Link>>> pre;
    for (auto& s : specs) {
        if (seen[s.name]++) throw_input("bridge " + s.name, "name", s.name, "appears twice in the set");
        std::map<std::string, Link> ports;
        auto br = precheck(h, s, ports);
        pre.emplace_back(br, std::move(ports));
    }
    Changes all;
    for (size_t i = 0; i < specs.size(); i++) {
        auto c = add_checked(h, specs[i], pre[i].first, pre[i].second);
        all.insert(all.end(), c.begin(), c.end());
    }
    return all;
}

Changes bridge_del(Handle& h, const std::vector<std::string>& names) {
    return links_del(h, names, "bridge", "bridge");
}

namespace {
Changes set_ports(Handle& h, const std::string& bridge, const std::vector<std::string>& ports, bool attach) {
    std::string obj = "bridge " + bridge;
    validate_ifname(bridge, obj, "name");
    for (auto& p : ports) validate_ifname(p, obj, "ports");
    auto br = link_get(h, bridge);
    if (!br) throw_input(obj, "name", bridge, "no such bridge");
    if (br->kind != "bridge") throw_input(obj, "name", bridge, "is not a bridge");
    std::vector<Link> ls;
    for (auto& p : ports) {
        auto l = link_get(h, p);
        if (!l) throw_input(obj, "ports", p, "no such interface");
        if (l->ifindex == br->ifindex || l->kind == "bridge") throw_input(obj, "ports", p, "is a bridge");
        ls.push_back(*l);
    }
    Changes ch;
    for (auto& l : ls) {
        std::string po = obj + " port " + l.name;
        if (attach) {
            if (l.master == br->ifindex) { ch.push_back(Change{Action::Unchanged, po}); continue; }
            LinkChange c;
            c.master = br->ifindex;
            link_set(h, l.ifindex, c, po);
            if (!l.up) {   // separately, see add_checked
                LinkChange u;
                u.up = true;
                link_set(h, l.ifindex, u, po);
            }
            ch.push_back(Change{Action::Changed, po, "attached"});
        } else {
            if (l.master != br->ifindex) { ch.push_back(Change::with_detail(Action::Unchanged, po, json{{"reason", "not a port of this bridge"}})); continue; }
            LinkChange c;
            c.master = 0;
            link_set(h, l.ifindex, c, po);
            ch.push_back(Change{Action::Changed, po, "detached"});
        }
    }
    return ch;
}
}  // namespace

Changes bridge_attach(Handle& h, const std::string& bridge, const std::vector<std::string>& ports) {
    return set_ports(h, bridge, ports, true);
}
Changes bridge_detach(Handle& h, const std::string& bridge, const std::vector<std::string>& ports) {
    return set_ports(h, bridge, ports, false);
}

}  // namespace ovnet
