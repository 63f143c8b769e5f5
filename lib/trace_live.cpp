// The tracer's live world: namespaces read with inspect_node as the packet reaches them, the
// kernel's own route answer (RTM_GETROUTE with iif, source and mark), the socket table (sock_diag).
#include <arpa/inet.h>
#include <linux/capability.h>
#include <linux/inet_diag.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <netlink/msg.h>

#include <cstring>
#include <map>

#include "ovnet/addr.hpp"
#include "ovnet/docker.hpp"
#include "ovnet/error.hpp"
#include "ovnet/fdb.hpp"
#include "ovnet/inspect.hpp"
#include "ovnet/link.hpp"
#include "ovnet/netlink.hpp"
#include "ovnet/netns.hpp"
#include "ovnet/trace.hpp"

namespace ovnet {

namespace {

class LiveWorld : public TraceWorld {
public:
    explicit LiveWorld(const std::string& prefix) : list_(netns_list(prefix.empty())) {
        if (!prefix.empty())
            std::erase_if(list_, [&](const NetnsInfo& n) { return n.name.rfind(prefix, 0) != 0; });
    }
    std::string mode() const override { return "live"; }

    const json* netns(const std::string& label) override {
        auto it = cache_.find(label);
        if (it != cache_.end()) return it->second.is_null() ? nullptr : &it->second;
        json& slot = cache_[label];
        std::string path = path_of(label);
        if (path.empty()) return nullptr;
        try {
            InspectOptions o;
            o.netns = path;
            o.peers = false;   // peer_rows asks for the entries the walk needs
            Snapshot s = inspect_node(o);
            if (s.netns.empty()) return nullptr;
            slot = schema::to_dom(s.netns.begin()->second);
            slot["label"] = label;
        } catch (const Error& e) {
            if (e.err() == EPERM || e.err() == EACCES) throw;
            slot = json();
            return nullptr;
        }
        return &slot;
    }

    // The VTEP's rows for these addresses only (fdb_lookup: get requests, no dump of its table).
    const json* peer_rows(const std::string& label, const std::string& dev, const IpAddr& ip, const Mac& mac) override {
        std::string key = label + "|" + dev + "|" + ip.str() + "|" + mac.str();
        auto it = peers_.find(key);
        if (it != peers_.end()) return &it->second;
        const json* n = netns(label);
        if (!n) return nullptr;
        bool vtep = false;
        for (auto& v : (*n)["vteps"]) vtep |= v["name"] == dev;
        if (!vtep) return nullptr;
        Handle h(path_of(label));
        std::vector<IpAddr> ips;
        if (ip.valid()) ips.push_back(ip);
        std::vector<Mac> macs;
        if (!mac.is_zero()) macs.push_back(mac);
        return &(peers_[key] = schema::DomWriter::value(fdb_lookup(h, dev, ips, macs)));
    }

    std::vector<std::string> owners(const IpAddr& a) override {
        if (!addrs_loaded_) {
            addrs_loaded_ = true;
            for (auto& n : list_) {
                try {
                    Handle h(n.path);
                    for (auto& ad : addr_list(h)) addrs_.emplace(ad.prefix.addr, n.label);
                } catch (const Error& e) {
                    // without the capability: say so; with it, a namespace the machine still shields
                    // (the host's from inside a container, /proc/1/ns/net) holds nothing we can trace
                    if ((e.err() == EPERM || e.err() == EACCES) && !has_capability(CAP_SYS_ADMIN)) throw;
                }
            }
        }
        std::vector<std::string> out;
        auto [b, e] = addrs_.equal_range(a);
        for (auto it = b; it != e; ++it) out.push_back(it->second);
        return out;
    }

    std::string find_sandbox(const std::string& name) override {
        for (auto& n : list_)
            if (n.label == name || n.name == name) return n.label;
        for (auto& n : list_)
            if (n.source == "docker")
                if (auto c = docker_container_of(n.path); c && *c == name) return n.label;
        return {};
    }

    std::vector<std::string> vxlan_holders(const std::string&) override {
        // The same answer for every label (the namespaces holding a VXLAN device whose socket is
        // elsewhere): read once.
        if (holders_) return *holders_;
        std::vector<std::string>& out = holders_.emplace();
        for (auto& n : list_) {
            try {
                Handle h(n.path);
                for (auto& l : link_list(h))
                    if (l.kind == "vxlan" && l.link_netnsid >= 0) {
                        out.push_back(n.label);
                        break;
                    }
            } catch (const Error& e) {
                if (e.err() == EPERM || e.err() == EACCES) throw;
            }
        }
        return out;
    }

    std::optional<RouteAnswer> route_get(const std::string& label, const TracePacket& p, const std::string& iif) override {
        const json* n = netns(label);
        if (!n) return std::nullopt;
        auto ifindex = [&](const std::string& name) {
            for (auto& l : (*n)["links"])
                if (l["name"] == name) return l["ifindex"].get<int>();
            return 0;
        };
        auto ifname = [&](int idx) -> std::string {
            for (auto& l : (*n)["links"])
                if (l["ifindex"] == idx) return l["name"].get<std::string>();
            return std::to_string(idx);
        };
        Handle h(path_of(label));
        void* hdr;
        NlMsg m = nl_new(RTM_GETROUTE, 0, sizeof(rtmsg), &hdr);
        auto* rt = static_cast<rtmsg*>(hdr);
        rt->rtm_family = AF_INET;
        rt->rtm_dst_len = 32;
        nla_put(m.get(), RTA_DST, 4, p.dst.b.data());
        if (!iif.empty()) {
            int idx = ifindex(iif);
            if (!idx) return std::nullopt;
            uint32_t i = uint32_t(idx);
            nla_put(m.get(), RTA_IIF, sizeof i, &i);
            if (p.src.valid()) {
                rt->rtm_src_len = 32;
                nla_put(m.get(), RTA_SRC, 4, p.src.b.data());
            }
        }
        if (p.mark) nla_put(m.get(), RTA_MARK, sizeof p.mark, &p.mark);
        if (p.proto != "icmp") {
            uint8_t ipp = p.proto == "tcp" ? IPPROTO_TCP : IPPROTO_UDP;
            nla_put(m.get(), RTA_IP_PROTO, 1, &ipp);
            uint16_t dp = htons(p.dport);
            nla_put(m.get(), RTA_DPORT, 2, &dp);
        }
        RouteAnswer a;
        int oif = 0;
        uint8_t type = 0;
        std::string ext;
        int err = h.get(std::move(m), [&](const nlmsghdr* r) {
            if (r->nlmsg_type != RTM_NEWROUTE) return;
            auto* rm = static_cast<const rtmsg*>(NLMSG_DATA(r));
            type = rm->rtm_type;
            int len = int(RTM_PAYLOAD(r));
            for (auto* at = RTM_RTA(rm); RTA_OK(at, len); at = RTA_NEXT(at, len)) {
                if (at->rta_type == RTA_OIF) oif = int(*static_cast<const uint32_t*>(RTA_DATA(at)));
                if (at->rta_type == RTA_GATEWAY) a.gateway = IpAddr::from_bytes(AF_INET, RTA_DATA(at));
                if (at->rta_type == RTA_PREFSRC) a.prefsrc = IpAddr::from_bytes(AF_INET, RTA_DATA(at));
            }
        }, &ext);
        if (err) {
            a.type = "unreachable";
            a.error = err;
            a.entry = std::string("RTM_GETROUTE ") + p.dst.str() + (iif.empty() ? "" : " iif " + iif) + ": " + std::strerror(err);
            return a;
        }
        switch (type) {
            case RTN_UNICAST: a.type = "unicast"; break;
            case RTN_LOCAL: a.type = "local"; break;
            case RTN_BLACKHOLE: a.type = "blackhole"; break;
            case RTN_PROHIBIT: a.type = "prohibit"; break;
            case RTN_UNREACHABLE: a.type = "unreachable"; break;
            default: a.type = std::to_string(type);
        }
        if (a.type == "unicast") a.dev = ifname(oif);
        a.entry = (a.type == "unicast" ? "" : a.type + " ") + p.dst.str() +
                  (a.gateway.valid() ? " via " + a.gateway.str() : std::string()) +
                  (a.type == "local" ? " dev lo" : a.dev.empty() ? std::string() : " dev " + a.dev) +
                  (a.prefsrc.valid() ? " src " + a.prefsrc.str() : std::string()) +
                  (iif.empty() ? "" : " iif " + iif) + (p.mark ? " mark " + std::to_string(p.mark) : std::string());
        return a;
    }

    std::optional<std::string> listener(const std::string& label, const TracePacket& p, bool* found) override {
        if (p.proto != "tcp" && p.proto != "udp") return std::nullopt;
        Handle h(netns_open(path_of(label)), NETLINK_SOCK_DIAG);
        std::string hit;
        // IPv4 sockets, then IPv6 ones that take IPv4 too (bound to :: or ::ffff:DST without
        // IPV6_V6ONLY: busybox httpd, most servers' default).
        for (uint8_t fam : {uint8_t(AF_INET), uint8_t(AF_INET6)}) {
            if (!hit.empty()) break;
            void* hdr;
            NlMsg m = nl_new(SOCK_DIAG_BY_FAMILY, 0, sizeof(inet_diag_req_v2), &hdr);
            auto* rq = static_cast<inet_diag_req_v2*>(hdr);
            rq->sdiag_family = fam;
            rq->sdiag_protocol = p.proto == "tcp" ? IPPROTO_TCP : IPPROTO_UDP;
            rq->idiag_states = p.proto == "tcp" ? (1u << 10) : 0xffffffffu;   // TCP_LISTEN; every UDP socket
            h.dump(m, [&](const nlmsghdr* r) {
                if (r->nlmsg_type != SOCK_DIAG_BY_FAMILY || !hit.empty()) return;
                auto* d = static_cast<const inet_diag_msg*>(NLMSG_DATA(r));
                if (ntohs(d->id.idiag_sport) != p.dport) return;
                if (p.proto == "udp" && d->id.idiag_dport != 0) return;
                std::string shown;
                if (fam == AF_INET) {
                    IpAddr a = IpAddr::from_bytes(AF_INET, d->id.idiag_src);
                    bool any = d->id.idiag_src[0] == 0;
                    if (!any && a != p.dst) return;
                    shown = any ? std::string("0.0.0.0") : a.str();
                } else {
                    int len = int(r->nlmsg_len - NLMSG_LENGTH(sizeof(*d)));
                    for (auto* at = reinterpret_cast<const rtattr*>(d + 1); RTA_OK(at, len); at = RTA_NEXT(at, len))
                        if (at->rta_type == INET_DIAG_SKV6ONLY && *static_cast<const uint8_t*>(RTA_DATA(at))) return;
                    const auto* w = d->id.idiag_src;
                    bool any = !w[0] && !w[1] && !w[2] && !w[3];
                    bool mapped = !w[0] && !w[1] && w[2] == htonl(0xffff) && std::memcmp(&w[3], p.dst.b.data(), 4) == 0;
                    if (!any && !mapped) return;
                    shown = any ? std::string("[::]") : "[::ffff:" + p.dst.str() + "]";
                }
                hit = p.proto + (p.proto == "tcp" ? " LISTEN " : " ") + shown + ":" + std::to_string(p.dport);
            }, [&] { hit.clear(); });
        }
        *found = !hit.empty();
        return hit;
    }

private:
    std::vector<NetnsInfo> list_;
    std::map<std::string, json> cache_;
    std::map<std::string, json> peers_;
    std::optional<std::vector<std::string>> holders_;
    bool addrs_loaded_ = false;
    std::multimap<IpAddr, std::string> addrs_;

    std::string path_of(const std::string& label) {
        for (auto& n : list_)
            if (n.label == label) return n.path;
        try {
            return netns_resolve(label);
        } catch (const Error&) {
            return {};
        }
    }
};

}  // namespace

std::unique_ptr<TraceWorld> live_world(const std::string& netns_prefix) {
    return std::make_unique<LiveWorld>(netns_prefix);
}

}  // namespace ovnet
