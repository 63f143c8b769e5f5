#include "ovnet/vtep.hpp"

#include <cerrno>
#include <fmt/format.h>
#include <map>

#include "ovnet/bridge.hpp"
#include "ovnet/error.hpp"
#include "ovnet/link.hpp"
#include "ovnet/netlink.hpp"

namespace ovnet {

VtepSpec VtepSpec::from_json(const json& j) {
    std::string obj = "vtep";
    require_object(j, obj);
    if (auto n = opt_string(j, "name", obj)) obj = "vtep " + *n;
    schema::check_keys<Vtep>(j, obj);
    if (auto k = opt_string(j, "kind", obj); k && *k != "vxlan") throw_input(obj, "kind", *k, "not a vxlan object");
    if (j.contains("group") && !j["group"].is_null())
        throw_input(obj, "group", j["group"].dump(), "multicast groups are not supported: peers are programmed by ovnet-fdb");
    if (j.contains("remote") && !j["remote"].is_null())
        throw_input(obj, "remote", j["remote"].dump(),
                    "a default remote or group is not supported: peers are programmed by ovnet-fdb");
    VtepSpec s;
    s.name = get_string(j, "name", obj);
    auto vni = opt_uint(j, "vni", 1, kVniMax, obj);
    if (!vni) throw_input(obj, "vni", "", "required field is missing");
    s.vni = uint32_t(*vni);
    if (auto v = opt_uint(j, "port", 1, 65535, obj)) s.port = uint16_t(*v);
    if (auto v = opt_string(j, "local", obj); v && !v->empty()) {
        if (!IpAddr::try_parse(*v, s.local)) throw_input(obj, "local", *v, "not an IPv4 or IPv6 address");
    }
    if (auto v = opt_string(j, "dev", obj)) s.dev = *v;
    if (auto v = opt_string(j, "master", obj)) s.master = *v;
    if (auto v = opt_bool(j, "learning", obj)) s.learning = *v;
    if (auto v = opt_bool(j, "proxy", obj)) s.proxy = *v;
    if (auto v = opt_bool(j, "l2miss", obj)) s.l2miss = *v;
    if (auto v = opt_bool(j, "l3miss", obj)) s.l3miss = *v;
    if (auto v = opt_uint(j, "ttl", 0, 255, obj)) s.ttl = uint8_t(*v);
    if (auto v = opt_uint(j, "mtu", 68, 65535, obj)) s.mtu = uint32_t(*v);
    if (auto v = opt_uint(j, "ageing", 0, UINT32_MAX, obj)) s.ageing = uint32_t(*v);
    s.udp_csum = opt_bool(j, "udp_csum", obj);
    s.udp6_zero_csum_tx = opt_bool(j, "udp6_zero_csum_tx", obj);
    s.udp6_zero_csum_rx = opt_bool(j, "udp6_zero_csum_rx", obj);
    if (auto v = opt_uint(j, "src_port_min", 0, 65535, obj)) s.src_port_min = uint16_t(*v);
    if (auto v = opt_uint(j, "src_port_max", 0, 65535, obj)) s.src_port_max = uint16_t(*v);
    if (auto v = opt_uint(j, "tos", 0, 255, obj)) s.tos = uint8_t(*v);
    if (auto v = opt_string(j, "df", obj)) {
        int d = vxlan_df_parse(*v);
        if (d < 0) throw_input(obj, "df", *v, "must be unset, set or inherit");
        s.df = uint8_t(d);
    }
    if (auto v = opt_uint(j, "label", 0, 0xfffff, obj)) s.label = uint32_t(*v);
    s.validate();
    return s;
}

void VtepSpec::validate() const {
    std::string obj = "vtep " + name;
    validate_ifname(name, obj, "name");
    if (vni < 1 || vni > kVniMax) throw_input(obj, "vni", std::to_string(vni), "must be in 1..16777215");
    if (port == 0) throw_input(obj, "port", "0", "must be in 1..65535");
    if (mtu < 68 || mtu > 65535) throw_input(obj, "mtu", std::to_string(mtu), "must be in 68..65535");
    if (!dev.empty()) validate_ifname(dev, obj, "dev");
    if (!master.empty()) validate_ifname(master, obj, "master");
    if (local.valid() && (local.b == std::array<uint8_t, 16>{} || is_multicast(local)))
        throw_input(obj, "local", local.str(), "must be a unicast address");
    // The kernel takes a range only when both ends are set (0 0 is its default range) and
    // refuses high < low.
    if (src_port_min.has_value() != src_port_max.has_value())
        throw_input(obj, src_port_min ? "src_port_max" : "src_port_min", "", "src_port_min and src_port_max go together");
    if (src_port_min && src_port_max && *src_port_max < *src_port_min)
        throw_input(obj, "src_port_max", std::to_string(*src_port_max),
                    fmt::format("must not be below src_port_min ({})", *src_port_min));
}

namespace {
void check_netid(const std::string& netid) {
    if (netid.empty()) throw_input({}, "netid", netid, "network id is empty");
    for (char c : netid)
        if (!isalnum((unsigned char)c)) throw_input({}, "netid", netid, "network ids are letters and digits");
}
}  // namespace

std::string docker_vxlan_name(uint32_t vni, const std::string& netid) {
    check_netid(netid);
    if (vni < 1 || vni > kVniMax) throw_input({}, "vni", std::to_string(vni), "must be in 1..16777215");
    return fmt::format("vx-{:06x}-{}", vni, netid.substr(0, 5));
}

std::string docker_bridge_name(uint32_t vni, const std::string& netid) {
    check_netid(netid);
    if (vni < 1 || vni > kVniMax) throw_input({}, "vni", std::to_string(vni), "must be in 1..16777215");
    return fmt::format("ov-{:06x}-{}", vni, netid.substr(0, 5));
}

namespace {
std::vector<Vtep> vteps_of(Handle& h, const std::vector<Link>& links, PeerResolver* given, const std::string& name) {
    auto name_of = [&](int idx) -> std::string {
        for (auto& l : links)
            if (l.ifindex == idx) return l.name;
        return idx ? std::to_string(idx) : "";
    };
    std::optional<PeerResolver> resolver;
    std::vector<Vtep> out;
    for (auto& l : links) {
        if (l.kind != "vxlan" || !l.vxlan || (!name.empty() && l.name != name)) continue;
        Vtep v;
        v.netns = h.netns_name();
        v.name = l.name;
        v.ifindex = l.ifindex;
        v.mac = l.mac;
        v.mtu = l.mtu;
        v.up = l.up;
        v.master = name_of(l.master);
        v.dev = name_of(l.vxlan->dev);
        v.vxlan = *l.vxlan;
        v.link_netnsid = l.link_netnsid;
        if (l.link_netnsid >= 0) {
            if (given) {
                v.link_netns = given->netns_label(l.link_netnsid);
            } else {
                if (!resolver) resolver.emplace(h, &links);
                v.link_netns = resolver->netns_label(l.link_netnsid);
            }
        }
        out.push_back(std::move(v));
    }
    return out;
}
}  // namespace

std::vector<Vtep> vtep_show(Handle& h, const std::vector<Link>& links, PeerResolver& resolver) {
    return vteps_of(h, links, &resolver, {});
}

std::vector<Vtep> vtep_show(Handle& h, const std::string& name) {
    if (!name.empty()) validate_ifname(name, "vtep " + name, "name");
    auto links = link_list(h);
    auto out = vteps_of(h, links, nullptr, name);
    if (!name.empty() && out.empty()) {
        bool exists = false;
        for (auto& l : links) exists |= l.name == name;
        throw_input("vtep " + name, "name", name, exists ? "is not a vxlan device" : "no such vtep");
    }
    return out;
}

namespace {
struct Pre {
    std::optional<Link> cur;
    int dev = 0, master = 0;
};

Pre precheck(Handle& h, const VtepSpec& s) {
    s.validate();
    std::string obj = "vtep " + s.name;
    Pre p;
    if (!s.dev.empty()) {
        auto d = link_get(h, s.dev);
        if (!d) throw_input(obj, "dev", s.dev, "no such device");
        p.dev = d->ifindex;
        // Over an underlay device the kernel silently clamps the MTU to the device's less the
        // VXLAN headroom (50 bytes over IPv4, 70 over IPv6): refuse instead of creating another MTU.
        uint32_t headroom = s.local.family == AF_INET6 ? 70 : 50;
        uint32_t max = d->mtu > headroom + 68 ? d->mtu - headroom : 68;
        if (s.mtu > max)
            throw_input(obj, "mtu", std::to_string(s.mtu),
                        fmt::format("must be at most {}: dev {} has MTU {}, less {} bytes of VXLAN headroom",
                                    max, s.dev, d->mtu, headroom));
    }
    if (!s.master.empty()) {
        auto m = link_get(h, s.master);
        if (!m) throw_input(obj, "master", s.master, "no such bridge");
        if (m->kind != "bridge") throw_input(obj, "master", s.master, "is not a bridge");
        p.master = m->ifindex;
    }
    p.cur = link_get(h, s.name);
    if (p.cur) {
        if (p.cur->kind != "vxlan" || !p.cur->vxlan)
            throw_sys(EEXIST, fmt::format("an interface named {} exists and is not a vxlan device", s.name), {}, obj);
        auto& v = *p.cur->vxlan;
        std::vector<std::string> diff;
        auto cmp = [&](const char* f, auto have, auto want) {
            if (have != want) diff.push_back(fmt::format("{} is {}, wanted {}", f, have, want));
        };
        cmp("vni", v.vni, s.vni);
        cmp("port", v.port, s.port);
        cmp("local", v.local.str().empty() ? "none" : v.local.str(), s.local.str().empty() ? "none" : s.local.str());
        cmp("dev", v.dev, p.dev);
        cmp("learning", v.learning, s.learning);
        cmp("proxy", v.proxy, s.proxy);
        cmp("l2miss", v.l2miss, s.l2miss);
        cmp("l3miss", v.l3miss, s.l3miss);
        cmp("ttl", int(v.ttl), int(s.ttl));
        // Creation settings the spec names (a shown VTEP names them all).
        auto cmp_opt = [&](const char* f, auto have, auto want) {
            if (want && have != want)
                diff.push_back(fmt::format("{} is {}, wanted {}", f, have ? fmt::format("{}", *have) : "unset", *want));
        };
        cmp_opt("ageing", v.ageing, s.ageing);
        cmp_opt("udp_csum", v.udp_csum, s.udp_csum);
        cmp_opt("udp6_zero_csum_tx", v.udp6_zero_csum_tx, s.udp6_zero_csum_tx);
        cmp_opt("udp6_zero_csum_rx", v.udp6_zero_csum_rx, s.udp6_zero_csum_rx);
        cmp_opt("src_port_min", v.src_port_min, s.src_port_min);
        cmp_opt("src_port_max", v.src_port_max, s.src_port_max);
        auto num = [](std::optional<uint8_t> x) { return x ? std::optional<int>(*x) : std::nullopt; };
        cmp_opt("tos", num(v.tos), num(s.tos));
        auto dfn = [](std::optional<uint8_t> x) {
            return x ? std::optional<std::string>(vxlan_df_name(*x)) : std::nullopt;
        };
        cmp_opt("df", dfn(v.df), dfn(s.df));
        cmp_opt("label", v.label, s.label);
        if (!diff.empty()) {
            std::string all;
            for (auto& d : diff) all += (all.empty() ? "" : ", ") + d;
            throw_sys(EEXIST, "exists with other settings (" + all + "); delete it first", {}, obj);
        }
    }
    return p;
}

Changes add_checked(Handle& h, const VtepSpec& s, const Pre& p) {
    std::string obj = "vtep " + s.name;
    Changes ch;
    if (!p.cur) {
        LinkSpec ls;
        ls.name = s.name;
        ls.kind = "vxlan";
        ls.mtu = s.mtu;
        ls.master = p.master;
        ls.up = true;
        VxlanInfo v;
        v.vni = s.vni;
        v.port = s.port;
        v.local = s.local;
        v.dev = p.dev;
        v.learning = s.learning;
        v.proxy = s.proxy;
        v.l2miss = s.l2miss;
        v.l3miss = s.l3miss;
        v.ttl = s.ttl;
        v.ageing = s.ageing;
        v.udp_csum = s.udp_csum;
        v.udp6_zero_csum_tx = s.udp6_zero_csum_tx;
        v.udp6_zero_csum_rx = s.udp6_zero_csum_rx;
        v.src_port_min = s.src_port_min;
        v.src_port_max = s.src_port_max;
        v.tos = s.tos;
        v.df = s.df;
        v.label = s.label;
        ls.vxlan = v;
        link_add(h, ls);
        json d = {{"vni", s.vni}};
        if (!s.master.empty()) d["master"] = s.master;
        ch.push_back(Change::with_detail(Action::Added, obj, d));
        return ch;
    }
    LinkChange c;
    json d = json::object();
    if (p.cur->mtu != s.mtu) { c.mtu = s.mtu; d["mtu"] = s.mtu; }
    if (p.master && p.cur->master != p.master) { c.master = p.master; d["master"] = s.master; }
    if (!p.cur->up) { c.up = true; d["state"] = "up"; }
    if (!d.empty()) {
        link_set(h, p.cur->ifindex, c, obj);
        ch.push_back(Change::with_detail(Action::Changed, obj, d, "set"));
    } else {
        ch.push_back(Change{Action::Unchanged, obj});
    }
    return ch;
}
}  // namespace

Changes vtep_add(Handle& h, const VtepSpec& s) { return add_checked(h, s, precheck(h, s)); }

Changes vtep_apply(Handle& h, const std::vector<VtepSpec>& specs) {
    std::vector<Pre> pre;
    std::map<std::string, int> seen;
    std::map<uint32_t, std::string> vnis;
    for (auto& s : specs) {
        if (seen[s.name]++) throw_input("vtep " + s.name, "name", s.name, "appears twice in the set");
        if (vnis.count(s.vni)) throw_input("vtep " + s.name, "vni", std::to_string(s.vni), "also used by " + vnis[s.vni]);
        vnis[s.vni] = s.name;
        pre.push_back(precheck(h, s));
    }
    Changes all;
    for (size_t i = 0; i < specs.size(); i++) {
        auto c = add_checked(h, specs[i], pre[i]);
        all.insert(all.end(), c.begin(), c.end());
    }
    return all;
}

Changes vtep_del(Handle& h, const std::vector<std::string>& names) { return links_del(h, names, "vxlan", "vtep"); }

}  // namespace ovnet
