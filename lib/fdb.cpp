#include "ovnet/fdb.hpp"

#include <linux/neighbour.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fmt/format.h>
#include <map>
#include <unordered_map>
#include <unordered_set>

#include "ovnet/addr.hpp"
#include "ovnet/bridge.hpp"
#include "ovnet/error.hpp"
#include "ovnet/link.hpp"
#include "ovnet/neigh.hpp"
#include "ovnet/netlink.hpp"

namespace ovnet {

namespace {
struct MacHash {
    size_t operator()(const Mac& m) const noexcept {
        uint64_t v = 0;
        std::memcpy(&v, m.b.data(), 6);
        return std::hash<uint64_t>()(v);
    }
};
struct IpHash {
    size_t operator()(const IpAddr& a) const noexcept {
        uint64_t x, y;
        std::memcpy(&x, a.b.data(), 8);
        std::memcpy(&y, a.b.data() + 8, 8);
        return std::hash<uint64_t>()(x * 31 + y + uint64_t(a.family));
    }
};
}  // namespace

std::string PeerSpec::label() const {
    std::string s = ip ? "peer " + ip->str() + " " + mac.str() : "fdb entry " + mac.str();
    if (vtep) s += " via " + vtep->str();
    return s;
}

json PeerEntry::to_json() const {
    json j = {{"status", status}, {"ip", ip.valid() ? json(ip.str()) : json(nullptr)}, {"mac", mac.str()},
              {"vtep", vtep.valid() ? json(vtep.str()) : json(nullptr)}};
    if (!fdb_state.empty()) j["fdb_state"] = fdb_state;
    if (!neigh_state.empty()) j["neigh_state"] = neigh_state;
    if (!flags.empty()) j["flags"] = flags;
    return j;
}

// ---- input -----------------------------------------------------------------------------------

std::vector<PeerSpec> peers_from_json(const std::vector<json>& docs, const std::optional<IpAddr>& default_vtep) {
    std::vector<PeerSpec> out;
    out.reserve(docs.size());
    std::unordered_map<Mac, size_t, MacHash> macs;
    std::unordered_map<IpAddr, size_t, IpHash> ips;
    size_t n = 0;
    for (auto& o : docs) {
        n++;
        std::string obj = fmt::format("entry #{}", n);
        require_object(o, obj);
        bool iproute = o.contains("ifname") || o.contains("dst") || o.contains("master") ||
                       (o.contains("state") && !o.contains("status"));
        PeerSpec p;
        if (iproute) {
            check_keys(o, {"mac", "ifname", "dst", "state", "flags", "master", "vlan", "vni", "port", "via",
                           "src_vni", "linkNetNsId", "nhid", "updated", "used"}, obj);
            auto mac = opt_mac(o, "mac", obj);
            if (!mac) throw_input(obj, "mac", "", "required field is missing");
            obj = "fdb entry " + mac->str();
            auto state = opt_string(o, "state", obj).value_or("");
            auto dst = opt_ip(o, "dst", obj);
            bool master = o.contains("master");
            if (auto it = o.find("flags"); it != o.end()) {
                if (!it->is_array()) throw_input(obj, "flags", it->dump(), "must be an array of strings");
                for (auto& f : *it) {
                    if (!f.is_string()) throw_input(obj, "flags", f.dump(), "must be a string");
                    if (f == "master") master = true;
                }
            }
            // Only permanent unicast entries pointing at a remote VTEP describe peers.
            if (!dst || state != "permanent" || master || mac->is_zero() || mac->is_multicast()) continue;
            p.mac = *mac;
            p.vtep = dst;
        } else {
            check_keys(o, {"status", "ip", "mac", "vtep", "fdb_state", "neigh_state", "flags", "dev"}, obj);
            auto status = opt_string(o, "status", obj).value_or("peer");
            if (status == "learned" || status == "local") continue;
            if (status != "peer" && status != "fdb-only" && status != "neigh-only" && status != "endpoint")
                throw_input(obj, "status", status, "must be peer, fdb-only, neigh-only, endpoint, learned or local");
            auto mac = opt_mac(o, "mac", obj);
            if (!mac) throw_input(obj, "mac", "", "required field is missing");
            p.mac = *mac;
            p.ip = opt_ip(o, "ip", obj);
            p.vtep = opt_ip(o, "vtep", obj);
            obj = p.ip ? "peer " + p.ip->str() : "entry " + mac->str();
            if (status == "fdb-only" && p.ip) throw_input(obj, "ip", p.ip->str(), "an fdb-only entry has no ip");
            if (status == "neigh-only" && p.vtep) throw_input(obj, "vtep", p.vtep->str(), "a neigh-only entry has no vtep");
            if (!p.vtep && status != "neigh-only") p.vtep = default_vtep;
            if (!p.ip && !p.vtep) throw_input(obj, "vtep", "", "an entry needs an ip, a vtep, or both");
        }
        if (p.mac.is_zero() || p.mac.is_multicast())
            throw_input(obj, "mac", p.mac.str(), "a peer MAC must be unicast and non-zero");
        if (p.vtep) {
            auto& v = *p.vtep;
            bool zero = v.b == std::array<uint8_t, 16>{};
            bool mcast = v.family == AF_INET ? (v.b[0] & 0xf0) == 0xe0 : v.b[0] == 0xff;
            if (zero || mcast) throw_input(obj, "vtep", v.str(), "a VTEP address must be unicast");
        }
        if (auto [it, fresh] = macs.emplace(p.mac, n); !fresh)
            throw_input(obj, "mac", p.mac.str(), fmt::format("appears twice in the set (entries #{} and #{})", it->second, n));
        if (p.ip)
            if (auto [it, fresh] = ips.emplace(*p.ip, n); !fresh)
                throw_input(obj, "ip", p.ip->str(), fmt::format("appears twice in the set (entries #{} and #{})", it->second, n));
        out.push_back(p);
    }
    return out;
}

// ---- show ------------------------------------------------------------------------------------

namespace {
Link need_dev(Handle& h, const std::string& dev) {
    validate_ifname(dev, "vtep " + dev, "dev");
    auto l = link_get(h, dev);
    if (!l) throw_input("vtep " + dev, "dev", dev, "no such device");
    return *l;
}

std::vector<Neigh> dump_neighs(Handle& h, int ifindex) {
    auto v4 = neigh_list(h, AF_INET, ifindex);
    auto v6 = neigh_list(h, AF_INET6, ifindex);
    v4.insert(v4.end(), v6.begin(), v6.end());
    return v4;
}
}  // namespace

std::vector<PeerEntry> fdb_show(Handle& h, const std::string& dev) {
    Link l = need_dev(h, dev);
    auto fdb = neigh_list(h, AF_BRIDGE, l.ifindex);
    auto neighs = dump_neighs(h, l.ifindex);
    std::unordered_map<Mac, std::vector<const Neigh*>, MacHash> by_mac;
    for (auto& n : neighs)
        if (n.has_lladdr) by_mac[n.lladdr].push_back(&n);
    std::unordered_set<const Neigh*> used;
    std::vector<PeerEntry> out;
    out.reserve(fdb.size() + 8);
    for (auto& f : fdb) {
        PeerEntry e;
        e.mac = f.lladdr;
        e.vtep = f.dst;
        e.fdb_state = f.state_name();
        e.flags = f.flag_names();
        bool perm = f.permanent();
        if (!f.dst.valid()) {
            e.status = perm || (f.state & NUD_NOARP) ? "local" : "learned";
            out.push_back(std::move(e));
            continue;
        }
        const Neigh* nb = nullptr;
        if (auto it = by_mac.find(f.lladdr); it != by_mac.end())
            for (auto* n : it->second)
                if (!used.count(n)) { nb = n; break; }
        if (nb) {
            used.insert(nb);
            e.ip = nb->dst;
            e.neigh_state = nb->state_name();
            e.status = perm && nb->permanent() ? "peer" : perm ? "fdb-only" : "learned";
        } else {
            e.status = perm ? "fdb-only" : "learned";
        }
        out.push_back(std::move(e));
    }
    for (auto& n : neighs) {
        // Multicast neighbors (ff02::*, 224.*) are the kernel's own, not peers.
        bool mcast = n.dst.family == AF_INET6 ? n.dst.b[0] == 0xff : (n.dst.b[0] & 0xf0) == 0xe0;
        if (used.count(&n) || !n.has_lladdr || mcast) continue;
        PeerEntry e;
        e.status = "neigh-only";
        e.ip = n.dst;
        e.mac = n.lladdr;
        e.neigh_state = n.state_name();
        out.push_back(std::move(e));
    }
    return out;
}

// ---- mutations -------------------------------------------------------------------------------

namespace {
Neigh fdb_entry(int ifindex, const Mac& mac, const IpAddr& vtep) {
    Neigh n;
    n.family = AF_BRIDGE;
    n.ifindex = ifindex;
    n.lladdr = mac;
    n.has_lladdr = true;
    n.dst = vtep;
    n.state = NUD_PERMANENT;
    n.flags = NTF_SELF;
    return n;
}
Neigh neigh_entry(int ifindex, const IpAddr& ip, const Mac& mac) {
    Neigh n;
    n.family = ip.family;
    n.ifindex = ifindex;
    n.dst = ip;
    n.lladdr = mac;
    n.has_lladdr = true;
    n.state = NUD_PERMANENT;
    return n;
}

struct Op {
    Neigh n;
    bool del;
    size_t change;  // index into the Changes list
};

Changes run_ops(Handle& h, std::vector<Op>& ops, Changes& ch, ApplyStats* st) {
    if (st) st->writes = ops.size();
    if (ops.empty()) return ch;
    auto errs = h.batch(ops.size(), [&](size_t i) { return ops[i].n.msg(ops[i].del); });
    if (!errs.empty()) {
        auto& e = errs.front();
        auto& op = ops[e.index];
        std::string what = op.del ? "delete" : "program";
        what += op.n.family == AF_BRIDGE ? " fdb entry" : " neighbor";
        if (errs.size() > 1) what += fmt::format(" ({} of {} requests failed; first shown)", errs.size(), ops.size());
        throw_sys(e.err, what, e.extack, ch[op.change].object);
    }
    return ch;
}
}  // namespace

Changes fdb_apply(Handle& h, const std::string& dev, const std::vector<PeerSpec>& desired, bool prune,
                  ApplyStats* st) {
    Link l = need_dev(h, dev);
    std::string obj = "vtep " + dev;
    bool any_vtep = std::any_of(desired.begin(), desired.end(), [](auto& p) { return bool(p.vtep); });
    if ((any_vtep || prune) && l.kind != "vxlan") throw_input(obj, "dev", dev, "is not a vxlan device");
    // Validate the whole set before the first write.
    {
        std::unordered_set<Mac, MacHash> macs;
        std::unordered_set<IpAddr, IpHash> ips;
        for (auto& p : desired) {
            if (!macs.insert(p.mac).second) throw_input(p.label(), "mac", p.mac.str(), "appears twice in the set");
            if (p.ip && !ips.insert(*p.ip).second) throw_input(p.label(), "ip", p.ip->str(), "appears twice in the set");
            if (!p.ip && !p.vtep) throw_input(p.label(), "vtep", "", "an entry needs an ip, a vtep, or both");
        }
    }
    auto fdb = neigh_list(h, AF_BRIDGE, l.ifindex);
    bool need4 = prune || std::any_of(desired.begin(), desired.end(), [](auto& p) { return p.ip && p.ip->family == AF_INET; });
    bool need6 = prune || std::any_of(desired.begin(), desired.end(), [](auto& p) { return p.ip && p.ip->family == AF_INET6; });
    std::vector<Neigh> neighs;
    if (need4) neighs = neigh_list(h, AF_INET, l.ifindex);
    if (need6) {
        auto v6 = neigh_list(h, AF_INET6, l.ifindex);
        neighs.insert(neighs.end(), v6.begin(), v6.end());
    }
    std::unordered_map<Mac, std::vector<const Neigh*>, MacHash> fdb_by_mac;
    fdb_by_mac.reserve(fdb.size());
    std::erase_if(fdb, [](const Neigh& f) { return f.flags & NTF_MASTER; });
    for (auto& f : fdb) fdb_by_mac[f.lladdr].push_back(&f);
    std::unordered_map<IpAddr, const Neigh*, IpHash> nb_by_ip;
    nb_by_ip.reserve(neighs.size());
    for (auto& n : neighs) nb_by_ip[n.dst] = &n;

    Changes ch;
    std::vector<Op> ops;
    ApplyStats local;
    ApplyStats& s = st ? *st : local;
    s = ApplyStats{};
    std::unordered_set<Mac, MacHash> want_mac;
    std::unordered_set<IpAddr, IpHash> want_ip;
    want_mac.reserve(desired.size());
    want_ip.reserve(desired.size());
    for (auto& p : desired) {
        bool existed = false, differs = false;
        std::vector<Neigh> todo, todo_del;
        if (p.vtep) {
            want_mac.insert(p.mac);
            bool equal = false;
            std::vector<Neigh> stale;
            if (auto it = fdb_by_mac.find(p.mac); it != fdb_by_mac.end()) {
                existed = true;
                // Equal only if the single entry is our permanent one. Other remotes for this MAC
                // (learned, or left by an earlier peer) go first, so no stale twin survives.
                equal = it->second.size() == 1 && it->second[0]->permanent() && it->second[0]->dst == *p.vtep;
                if (!equal)
                    for (auto* f : it->second)
                        if (f->dst != *p.vtep) stale.push_back(*f);
            }
            if (!equal) {
                differs = true;
                for (auto& d : stale) { d.flags = NTF_SELF; d.state = 0; todo_del.push_back(d); }
                todo.push_back(fdb_entry(l.ifindex, p.mac, *p.vtep));
            }
        }
        if (p.ip) {
            want_ip.insert(*p.ip);
            bool equal = false;
            if (auto it = nb_by_ip.find(*p.ip); it != nb_by_ip.end()) {
                existed = true;
                equal = it->second->permanent() && it->second->has_lladdr && it->second->lladdr == p.mac;
            }
            if (!equal) { differs = true; todo.push_back(neigh_entry(l.ifindex, *p.ip, p.mac)); }
        }
        if (!differs) { s.unchanged++; continue; }
        json d = {{"ip", p.ip ? json(p.ip->str()) : json(nullptr)}, {"mac", p.mac.str()},
                  {"vtep", p.vtep ? json(p.vtep->str()) : json(nullptr)}};
        ch.push_back({existed ? "replaced" : "added", p.label(), std::move(d)});
        (existed ? s.replaced : s.added)++;
        for (auto& n : todo_del) ops.push_back({std::move(n), true, ch.size() - 1});
        for (auto& n : todo) ops.push_back({std::move(n), false, ch.size() - 1});
    }
    if (prune) {
        for (auto& f : fdb) {
            if (!f.permanent() || !f.dst.valid() || !(f.flags & NTF_SELF) || want_mac.count(f.lladdr)) continue;
            ch.push_back({"removed", "fdb entry " + f.lladdr.str() + " via " + f.dst.str(),
                          {{"ip", nullptr}, {"mac", f.lladdr.str()}, {"vtep", f.dst.str()}}});
            s.removed++;
            Neigh d = f;
            d.flags = NTF_SELF;
            ops.push_back({d, true, ch.size() - 1});
        }
        for (auto& n : neighs) {
            if (!n.permanent() || want_ip.count(n.dst)) continue;
            ch.push_back({"removed", "neighbor " + n.dst.str() + " " + n.lladdr.str(),
                          {{"ip", n.dst.str()}, {"mac", n.lladdr.str()}, {"vtep", nullptr}}});
            s.removed++;
            Neigh d = n;
            d.has_lladdr = false;
            ops.push_back({d, true, ch.size() - 1});
        }
    }
    return run_ops(h, ops, ch, &s);
}

Changes fdb_add(Handle& h, const std::string& dev, const PeerSpec& p) {
    auto ch = fdb_apply(h, dev, {p}, false);
    if (ch.empty()) ch.push_back({"unchanged", p.label()});
    return ch;
}

Changes fdb_del(Handle& h, const std::string& dev, const PeerSpec& p) {
    Link l = need_dev(h, dev);
    auto fdb = neigh_list(h, AF_BRIDGE, l.ifindex);
    auto neighs = dump_neighs(h, l.ifindex);
    Changes ch;
    std::vector<Op> ops;
    for (auto& f : fdb) {
        if (f.lladdr != p.mac || !f.dst.valid() || (p.vtep && f.dst != *p.vtep)) continue;
        ch.push_back({"removed", "fdb entry " + f.lladdr.str() + " via " + f.dst.str()});
        Neigh d = f;
        d.flags |= NTF_SELF;
        ops.push_back({d, true, ch.size() - 1});
    }
    for (auto& n : neighs) {
        if (!n.has_lladdr || n.lladdr != p.mac || (p.ip && n.dst != *p.ip)) continue;
        ch.push_back({"removed", "neighbor " + n.dst.str() + " " + n.lladdr.str()});
        Neigh d = n;
        d.has_lladdr = false;
        ops.push_back({d, true, ch.size() - 1});
    }
    if (ops.empty()) return {{"unchanged", p.label(), {{"reason", "no such entries"}}}};
    return run_ops(h, ops, ch, nullptr);
}

std::vector<PeerEntry> fdb_local(Handle& h, const std::string& dev, const std::optional<IpAddr>& vtep_in) {
    Link l = need_dev(h, dev);
    std::string obj = "vtep " + dev;
    if (l.kind != "vxlan" || !l.vxlan) throw_input(obj, "dev", dev, "is not a vxlan device");
    IpAddr vtep;
    if (vtep_in) vtep = *vtep_in;
    else if (l.vxlan->local.valid()) vtep = l.vxlan->local;
    else if (l.vxlan->dev)
        for (auto& a : addr_list(h, l.vxlan->dev))
            if (a.prefix.addr.family == AF_INET) { vtep = a.prefix.addr; break; }
    if (!vtep.valid())
        throw_input(obj, "vtep", "", "the VTEP has no local address and no underlay device address; give one");
    if (!l.master) throw_input(obj, "dev", dev, "is not attached to a bridge, so it has no local endpoints");
    auto br = link_get(h, l.master);
    std::vector<PeerEntry> out;
    for (auto& b : bridge_show(h, br->name)) {
        for (auto& port : b.ports) {
            if (!port.peer || port.peer->netns.empty() || port.peer->netns.rfind("nsid:", 0) == 0) continue;
            Handle ph(port.peer->netns == "root" ? std::string("/proc/1/ns/net") : port.peer->netns);
            auto inner = link_get(ph, port.peer->ifindex);
            if (!inner) continue;
            IpAddr ip;
            for (auto& a : addr_list(ph, inner->ifindex))
                if (!ip.valid() || (a.prefix.addr.family == AF_INET && ip.family != AF_INET)) ip = a.prefix.addr;
            if (!ip.valid()) continue;
            PeerEntry e;
            e.status = "endpoint";
            e.ip = ip;
            e.mac = inner->mac;
            e.vtep = vtep;
            out.push_back(std::move(e));
        }
    }
    return out;
}

}  // namespace ovnet
