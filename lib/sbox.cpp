#include "ovnet/sbox.hpp"

#include <fcntl.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <cerrno>
#include <fmt/format.h>
#include <set>

#include "ovnet/bridge.hpp"
#include "ovnet/docker.hpp"
#include "ovnet/error.hpp"
#include "ovnet/link.hpp"
#include "ovnet/netlink.hpp"
#include "ovnet/netns.hpp"

namespace ovnet {

SandboxRoute SandboxRoute::of(const Route& r, const std::vector<Endpoint>& interfaces) {
    SandboxRoute v;
    v.dst = r.dst.len == 0 ? "default" : r.dst.network().str();
    v.gateway = r.gateway;
    for (auto& e : interfaces)
        if (e.ifindex == r.oif) v.dev = e.ifname;
    return v;
}

std::vector<SandboxRoute> Sandbox::route_views() const {
    std::vector<SandboxRoute> v;
    v.reserve(routes.size());
    for (auto& r : routes) v.push_back(SandboxRoute::of(r, interfaces));
    return v;
}

json ConnectSpec::sysctls_json() const {
    json o = json::object();
    for (auto& [k, v] : sysctls) o[k] = v;
    return o;
}

ConnectSpec ConnectSpec::from_json(const json& j) {
    std::string obj = "endpoint";
    require_object(j, obj);
    schema::check_keys<ConnectSpec>(j, obj);
    ConnectSpec s;
    s.sandbox = get_string(j, "sandbox", obj);
    obj = "sandbox " + s.sandbox;
    s.bridge = get_string(j, "bridge", obj);
    s.ip = opt_prefix(j, "ip", obj);
    s.mac = opt_mac(j, "mac", obj);
    if (auto v = opt_string(j, "ifname", obj)) s.ifname = *v;
    if (auto v = opt_string(j, "host_ifname", obj)) s.host_ifname = *v;
    s.gateway = opt_ip(j, "gateway", obj);
    if (auto v = opt_uint(j, "mtu", 68, 65535, obj)) s.mtu = uint32_t(*v);
    if (auto it = j.find("sysctls"); it != j.end() && !it->is_null()) {
        if (!it->is_object()) throw_input(obj, "sysctls", it->dump(), "must be an object of key: value");
        for (auto& [k, v] : it->items()) {
            if (!v.is_string() && !v.is_number_integer()) throw_input(obj, "sysctls", k, "value must be a string or integer");
            s.sysctls.emplace_back(k, v.is_string() ? v.get<std::string>() : v.dump());
        }
    }
    s.validate();
    return s;
}

void ConnectSpec::validate() const {
    validate_netns_name(sandbox);
    std::string obj = "sandbox " + sandbox;
    validate_ifname(bridge, obj, "bridge");
    if (!ifname.empty()) validate_ifname(ifname, obj, "ifname");
    if (!host_ifname.empty()) validate_ifname(host_ifname, obj, "host_ifname");
    if (mac && (mac->is_multicast() || mac->is_zero())) throw_input(obj, "mac", mac->str(), "must be a unicast, non-zero MAC address");
    if (ip && !is_unicast_host(ip->addr)) throw_input(obj, "ip", ip->str(), "must be a unicast address");
    if (gateway && !is_unicast_host(*gateway)) throw_input(obj, "gateway", gateway->str(), "must be a unicast address");
    if (!mac && (!ip || ip->addr.family != AF_INET))
        throw_input(obj, "mac", "", "required unless ip is IPv4 (then Docker's 02:42:<ip> is used)");
    if (gateway && ip && gateway->family != ip->addr.family)
        throw_input(obj, "gateway", gateway->str(), "is not of the same address family as ip");
    if (gateway && !ip) throw_input(obj, "gateway", gateway->str(), "needs an ip on the interface");
    if (mtu && (*mtu < 68 || *mtu > 65535)) throw_input(obj, "mtu", std::to_string(*mtu), "must be in 68..65535");
    for (auto& [k, v] : sysctls) {
        validate_sysctl_key(k);
        if (v.empty() || v.find('\n') != std::string::npos) throw_input(obj, "sysctls", k + "=" + v, "value must be one non-empty line");
    }
}

namespace {

std::string default_host_ifname(const std::string& sandbox, const std::string& bridge) {
    // Docker picks "veth" + 7 random hex digits; a hash keeps reruns idempotent.
    uint32_t h = 2166136261u;
    for (char c : sandbox + "\n" + bridge) h = (h ^ uint8_t(c)) * 16777619u;
    return fmt::format("veth{:07x}", h & 0xfffffff);
}

/// Brings lo up; `listed`: the namespace's links when the caller has listed them (no lookup then).
void lo_up(Handle& sh, const std::vector<Link>* listed = nullptr) {
    std::optional<Link> lo;
    if (!listed) lo = link_get(sh, "lo");
    else
        for (auto& l : *listed)
            if (l.name == "lo") lo = l;
    if (lo && !lo->up) {
        LinkChange c;
        c.up = true;
        link_set(sh, lo->ifindex, c, "lo");
    }
}

Changes apply_sysctls(const std::string& name, const std::string& path,
                      const std::vector<std::pair<std::string, std::string>>& sysctls) {
    Changes ch;
    auto written = sysctl_set_many(path, sysctls);
    for (size_t i = 0; i < sysctls.size(); ++i)
        if (written[i])
            ch.push_back(Change::with_detail(Action::Changed, "sandbox " + name + " sysctl " + sysctls[i].first,
                                             json{{"value", sysctls[i].second}}, "set"));
    return ch;
}

}  // namespace

Changes sbox_add(const std::string& name, const std::vector<std::pair<std::string, std::string>>& sysctls) {
    validate_netns_name(name);
    for (auto& [k, v] : sysctls) validate_sysctl_key(k);
    Changes ch;
    std::string obj = "sandbox " + name;
    bool created = netns_add(name);
    if (created) ch.push_back(Change{Action::Added, obj});
    try {
        Handle sh(name);
        lo_up(sh);
        auto s = apply_sysctls(name, sh.netns_path(), sysctls);
        ch.insert(ch.end(), s.begin(), s.end());
    } catch (...) {
        if (created) netns_del(name);  // a failed add leaves nothing behind
        throw;
    }
    if (ch.empty()) ch.push_back(Change{Action::Unchanged, obj});
    return ch;
}

namespace {
Changes connect_impl(Handle& host, const ConnectSpec& spec, bool& created) {
    spec.validate();
    std::string obj = "sandbox " + spec.sandbox;
    auto br = link_get(host, spec.bridge);
    if (!br) throw_input(obj, "bridge", spec.bridge, "no such bridge");
    if (br->kind != "bridge") throw_input(obj, "bridge", spec.bridge, "is not a bridge");
    std::string host_ifname = spec.host_ifname.empty() ? default_host_ifname(spec.sandbox, spec.bridge) : spec.host_ifname;
    Mac mac = spec.mac ? *spec.mac : docker_mac(spec.ip->addr);
    uint32_t mtu = spec.mtu ? *spec.mtu : br->mtu;

    Changes ch;
    std::string path;
    try {
        path = netns_resolve(spec.sandbox);
    } catch (const Error& e) {
        // No privilege to enter it, or a name two Docker directories hold: say so (never create another).
        if (e.kind() != ErrorKind::Input || netns_find(spec.sandbox).size() > 1) throw;
        path.clear();
    }
    auto existing = link_get(host, host_ifname);
    if (existing && (existing->kind != "veth" || existing->master != br->ifindex))
        throw_sys(EEXIST, fmt::format("host interface {} exists and is not this sandbox's port of {}", host_ifname,
                                      spec.bridge), {}, obj);
    if (path.empty()) {
        if (existing) throw_sys(EEXIST, "host interface " + host_ifname + " exists but the sandbox does not", {}, obj);
        auto c = sbox_add(spec.sandbox);
        created = true;
        ch.insert(ch.end(), c.begin(), c.end());
        path = netns_resolve(spec.sandbox);
    }
    Handle sh(path);

    std::optional<Link> inner;
    if (existing) {
        lo_up(sh);
        // Already connected: find our end by the peer index and converge it.
        inner = link_get(sh, existing->link);
        if (!inner) throw_sys(EEXIST, "host interface " + host_ifname + " exists but its peer is not in the sandbox", {}, obj);
        if (!spec.ifname.empty() && inner->name != spec.ifname)
            throw_sys(EEXIST, fmt::format("already connected to {} as {}, not {}", spec.bridge, inner->name, spec.ifname), {}, obj);
    } else {
        std::string ifname = spec.ifname;
        auto links = link_list(sh);
        std::set<std::string> names;
        lo_up(sh, &links);
        for (auto& l : links) names.insert(l.name);
        if (ifname.empty())
            for (int i = 0; ifname.empty(); i++)
                if (!names.count("eth" + std::to_string(i))) ifname = "eth" + std::to_string(i);
        if (names.count(ifname)) throw_sys(EEXIST, "interface " + ifname + " already exists in the sandbox", {}, obj);
        Fd nsfd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
        if (!nsfd) throw_sys(errno, "open " + path, {}, obj);
        LinkSpec ls;
        ls.name = host_ifname;
        ls.kind = "veth";
        ls.mtu = mtu;
        ls.master = br->ifindex;
        ls.up = true;
        ls.peer_name = ifname;
        ls.peer_netns_fd = nsfd.get();
        ls.peer_mac = mac;
        ls.peer_mtu = mtu;  // (the peer cannot be created up: veth_open needs both ends registered)
        link_add(host, ls);
        // A port with a smaller MTU drags an unpinned bridge's MTU down with it (the kernel's
        // auto-adjust): put the bridge back, which also pins it, so --mtu stays per endpoint.
        if (auto now = link_get(host, br->ifindex); now && now->mtu != br->mtu) {
            LinkChange bc;
            bc.mtu = br->mtu;
            link_set(host, br->ifindex, bc, "bridge " + spec.bridge);
        }
        inner = link_get(sh, ifname);
        if (!inner) throw_sys(ENODEV, "the sandbox end " + ifname + " did not appear", {}, obj);
        json d = {{"ifname", ifname}, {"host_ifname", host_ifname}, {"bridge", spec.bridge}, {"mac", mac.str()}};
        ch.push_back(Change::with_detail(Action::Added, obj + " endpoint " + ifname, d));
    }
    std::string eobj = obj + " endpoint " + inner->name;
    LinkChange c;
    json d = json::object();
    if (inner->mac != mac && (spec.mac || spec.ip)) { c.mac = mac; d["mac"] = mac.str(); }
    if (inner->mtu != mtu) { c.mtu = mtu; d["mtu"] = mtu; }
    bool fresh = !existing;
    if (!inner->up) {
        c.up = true;
        if (!fresh) d["state"] = "up";  // a new pair's inner end is always brought up: not news
    }
    if (c.up || !d.empty()) link_set(sh, inner->ifindex, c, eobj);
    if (!d.empty()) {
        ch.push_back(Change::with_detail(Action::Changed, eobj, d, "set"));
    }
    if (existing && existing->mtu != mtu) {
        LinkChange hc;
        hc.mtu = mtu;
        link_set(host, existing->ifindex, hc, obj + " host end " + host_ifname);
    }
    if (spec.ip && addr_add(sh, inner->ifindex, *spec.ip, eobj)) ch.push_back(Change{Action::Added, eobj + " address " + spec.ip->str()});
    if (spec.gateway) {
        Route r;
        r.dst.addr.family = spec.gateway->family;
        r.dst.len = 0;
        r.gateway = *spec.gateway;
        r.oif = inner->ifindex;
        if (route_replace(sh, r, eobj + " default route"))
            ch.push_back(Change{Action::Added, obj + " default route via " + spec.gateway->str()});
    }
    auto s = apply_sysctls(spec.sandbox, path, spec.sysctls);
    ch.insert(ch.end(), s.begin(), s.end());
    if (ch.empty()) ch.push_back(Change{Action::Unchanged, eobj});
    return ch;
}
}  // namespace

Changes sbox_connect(Handle& host, const ConnectSpec& spec) {
    bool created = false;
    try {
        return connect_impl(host, spec, created);
    } catch (...) {
        // A sandbox this call created goes again (with its veth), so a failed connect leaves nothing.
        if (created) try { sbox_del(spec.sandbox); } catch (...) {}
        throw;
    }
}

Changes sbox_disconnect(Handle& host, const std::string& sandbox, const std::string& bridge) {
    validate_netns_name(sandbox);
    std::string obj = "sandbox " + sandbox;
    validate_ifname(bridge, obj, "bridge");
    auto bs = bridge_show(host, bridge);
    Changes ch;
    for (auto& p : bs.at(0).ports) {
        // The label is the path when another directory holds the same name (NetnsInfo::label).
        if (!p.peer || (p.peer->netns != sandbox && p.peer->netns != std::string(kNetnsDir) + "/" + sandbox)) continue;
        link_del(host, p.ifindex, obj + " port " + p.name);
        ch.push_back(Change::with_detail(Action::Removed, obj + " endpoint " + p.peer->ifname, json{{"host_ifname", p.name}, {"bridge", bridge}}));
    }
    if (ch.empty()) ch.push_back(Change::with_detail(Action::Unchanged, obj, json{{"reason", "not connected to " + bridge}}));
    return ch;
}

Changes sbox_del(const std::string& name) {
    validate_netns_name(name);
    std::string obj = "sandbox " + name;
    std::string path = std::string(kNetnsDir) + "/" + name;
    struct stat st;
    if (::lstat(path.c_str(), &st) != 0) return {Change::with_detail(Action::Unchanged, obj, json{{"reason", "no such sandbox"}})};
    // Opened once, never through a link (netns_open refuses one too, if it appears meanwhile).
    if (S_ISLNK(st.st_mode))
        throw_input({}, "netns", name, "is a symbolic link (namespace entries are never followed through a link)");
    NetnsFile ns;
    try {
        ns = netns_open(path);
    } catch (const Error& e) {
        // A stale entry (a plain file, no longer a mounted namespace): remove it as ip netns del does.
        struct statfs sf;
        if (e.kind() != ErrorKind::Input || !S_ISREG(st.st_mode) || ::statfs(path.c_str(), &sf) != 0 ||
            sf.f_type == NSFS_MAGIC)
            throw;
        if (!netns_del(name)) return {Change::with_detail(Action::Unchanged, obj, json{{"reason", "no such sandbox"}})};
        return {Change::with_detail(Action::Removed, obj, json{{"reason", "stale entry, not a namespace"}})};
    }
    Changes ch;
    {
        // Delete the veth ends first so the host side disappears now, not when the kernel
        // gets round to destroying the namespace (which waits for every process in it).
        Handle sh(ns);
        for (auto& l : link_list(sh))
            if (l.kind == "veth") {
                // Both ends of a pair may be in the sandbox: deleting one took the other along.
                try {
                    link_del(sh, l.ifindex, obj + " endpoint " + l.name);
                } catch (const Error& e) {
                    if (e.err() != ENODEV) throw;
                    continue;
                }
                ch.push_back(Change{Action::Removed, obj + " endpoint " + l.name});
            }
    }
    netns_del(name);
    ch.push_back(Change{Action::Removed, obj});
    return ch;
}

Changes sbox_del(const std::vector<std::string>& names) {
    for (auto& n : names) validate_netns_name(n);
    Changes ch;
    for (auto& n : names) {
        auto c = sbox_del(n);
        ch.insert(ch.end(), c.begin(), c.end());
    }
    return ch;
}

namespace {
void read_sandbox(const NetnsInfo& ns, Sandbox& sb) {
    std::optional<Handle> sh;
    sh.emplace(ns.path);
    auto links = link_list(*sh);
    PeerResolver pr(*sh, &links);
    auto addrs = addr_list(*sh);
    sb.interfaces = sbox_interfaces(links, addrs, pr);
    sb.routes = route_list(*sh, AF_INET);
}
}  // namespace

std::vector<Endpoint> sbox_interfaces(const std::vector<Link>& links, const std::vector<Addr>& addrs, PeerResolver& pr) {
    std::vector<Endpoint> out;
    for (auto& l : links) {
        if (l.kind == "loopback") continue;
        Endpoint e;
        e.ifname = l.name;
        e.ifindex = l.ifindex;
        e.kind = l.kind;
        e.mac = l.mac;
        e.mtu = l.mtu;
        e.up = l.up;
        for (auto& a : addrs)
            if (a.ifindex == l.ifindex) e.addresses.push_back(a.prefix);
        if (l.kind == "veth" && l.link) {
            auto ref = pr.resolve(l.link_netnsid, l.link);
            e.host_netns = ref.netns;
            e.host_ifindex = ref.ifindex;
            e.host_ifname = ref.ifname;
            e.bridge = ref.master;
        }
        out.push_back(std::move(e));
    }
    return out;
}

std::vector<Sandbox> sbox_show(const std::string& name) {
    std::vector<NetnsInfo> list;
    if (!name.empty()) {
        std::string path = netns_resolve(name);
        list.push_back({name, path, netns_source(path), name});
    } else {
        list = netns_list(false);
    }
    std::vector<Sandbox> out;
    for (auto& ns : list) {
        Sandbox sb;
        sb.name = ns.name;
        sb.path = ns.path;
        sb.source = ns.source;
        if (sb.source != "netns") sb.container = docker_container_of(ns.path);
        try {
            read_sandbox(ns, sb);
        } catch (const Error& e) {
            if (!name.empty()) throw;
            // Not seeing a sandbox for want of privilege is an error, never an empty listing.
            if (e.err() == EPERM || e.err() == EACCES) throw;
            continue;  // vanished while we read it, or not a namespace: skip it in a listing
        }
        out.push_back(std::move(sb));
    }
    return out;
}

}  // namespace ovnet
