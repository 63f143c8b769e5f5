// The counters a probe moves: read whole per namespace and kind, compared purely.
#include "ovnet/trace_counters.hpp"

#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/xfrm.h>

#include <cstring>
#include <map>
#include <set>

#include "ovnet/error.hpp"
#include "ovnet/inspect.hpp"
#include "ovnet/iptables.hpp"
#include "ovnet/netlink.hpp"
#include "ovnet/netns.hpp"

namespace ovnet {

OVNET_SCHEMA_FIELDS(CounterMove)

std::vector<std::pair<std::string, uint64_t>> counter_rules(const std::vector<IptSaveText>& outputs) {
    Netfilter nf = Netfilter::parse(outputs);
    std::vector<std::pair<std::string, uint64_t>> out;
    out.reserve(nf.rules.size());
    for (auto& r : nf.rules)
        if (r.packets) out.emplace_back(r.table + " " + r.chain + " -A " + r.chain + (r.spec.empty() ? "" : " " + r.spec), *r.packets);
    return out;
}

CounterSnapshot counters_read(const std::string& label, const std::string& netns, const CounterRead& what) {
    CounterSnapshot s;
    s.netns = label;
    NetnsFile nsf = netns_open(netns);
    if (what.rules) s.rules = counter_rules(ipt_save_all(nsf.path(), {"-c"}));
    if (what.links) {
        Handle h(nsf);
        void* hdr;
        NlMsg m = nl_new(RTM_GETLINK, 0, sizeof(ifinfomsg), &hdr);
        static_cast<ifinfomsg*>(hdr)->ifi_family = AF_UNSPEC;
        h.dump(m, [&](const nlmsghdr* r) {
            if (r->nlmsg_type != RTM_NEWLINK || r->nlmsg_len < NLMSG_LENGTH(sizeof(ifinfomsg))) return;
            CounterSnapshot::LinkCount l;
            bool stats = false;
            each_attr(r, sizeof(ifinfomsg), [&](int type, const uint8_t* d, size_t n) {
                if (type == IFLA_IFNAME) l.name.assign(reinterpret_cast<const char*>(d), strnlen(reinterpret_cast<const char*>(d), n));
                if (type == IFLA_STATS64 && n >= sizeof(rtnl_link_stats64)) {
                    rtnl_link_stats64 st;   // 4-byte aligned in the message: read a copy
                    std::memcpy(&st, d, sizeof st);
                    l.rx = st.rx_packets, l.tx = st.tx_packets, stats = true;
                }
            });
            if (stats && !l.name.empty()) s.links.push_back(std::move(l));
        }, [&] { s.links.clear(); });
    }
    if (what.sas) {
        std::optional<Handle> xh;
        try {
            xh.emplace(nsf, NETLINK_XFRM);
        } catch (const Error&) {
            // a kernel without xfrm_user: no SA to move
        }
        if (xh) {
            void* hdr;
            NlMsg m = nl_new(XFRM_MSG_GETSA, 0, sizeof(xfrm_usersa_id), &hdr);
            xh->dump(m, [&](const nlmsghdr* r) {
                XfrmState st;
                if (!xfrm_state_parse(r, st)) return;
                xfrm_usersa_info info;   // holds 64-bit counters, 4-byte aligned in the message
                std::memcpy(&info, NLMSG_DATA(r), sizeof info);
                s.sas.emplace_back(st.proto + " " + hex32(st.spi) + " " + st.src.str() + " -> " + st.dst.str(), info.curlft.packets);
            }, [&] { s.sas.clear(); });
        }
    }
    return s;
}

std::vector<CounterMove> counters_moved(const std::vector<CounterSnapshot>& before, const std::vector<CounterSnapshot>& after) {
    std::map<std::string, const CounterSnapshot*> was;
    for (auto& b : before) was.try_emplace(b.netns, &b);
    std::vector<CounterMove> out;
    auto add = [&](const std::string& ns, const char* kind, const std::string& object, uint64_t rx, uint64_t tx, bool link) {
        if (rx + tx == 0) return;
        CounterMove m;
        m.netns = ns, m.kind = kind, m.object = object, m.packets = rx + tx;
        if (link) m.rx = rx, m.tx = tx;
        out.push_back(std::move(m));
    };
    auto grew = [](uint64_t now, const uint64_t* then) -> uint64_t { return !then ? now : now > *then ? now - *then : 0; };
    // a list of (name, packets): each name's first, against its first before
    using Pairs = std::vector<std::pair<std::string, uint64_t>>;
    auto pairs = [&](const std::string& ns, const char* kind, const Pairs& now, const Pairs* then) {
        std::map<std::string, uint64_t> was_n;
        if (then)
            for (auto& [k, n] : *then) was_n.try_emplace(k, n);
        std::set<std::string> done;
        for (auto& [k, n] : now) {
            if (!done.insert(k).second) continue;
            auto t = was_n.find(k);
            add(ns, kind, k, grew(n, t == was_n.end() ? nullptr : &t->second), 0, false);
        }
    };
    for (auto& a : after) {
        auto it = was.find(a.netns);
        const CounterSnapshot* b = it == was.end() ? nullptr : it->second;
        pairs(a.netns, "rule", a.rules, b ? &b->rules : nullptr);
        std::map<std::string, const CounterSnapshot::LinkCount*> links;
        if (b)
            for (auto& l : b->links) links.try_emplace(l.name, &l);
        std::set<std::string> done;
        for (auto& l : a.links) {
            if (!done.insert(l.name).second) continue;
            auto t = links.find(l.name);
            const CounterSnapshot::LinkCount* p = t == links.end() ? nullptr : t->second;
            add(a.netns, "link", l.name, grew(l.rx, p ? &p->rx : nullptr), grew(l.tx, p ? &p->tx : nullptr), true);
        }
        pairs(a.netns, "sa", a.sas, b ? &b->sas : nullptr);
    }
    return out;
}

std::string counters_line(const std::vector<CounterMove>& moves) {
    std::string out;
    for (auto& m : moves) {
        if (!out.empty()) out += "; ";
        out += m.kind + " " + m.object;
        if (m.kind == "link") {
            if (m.tx) out += " tx+" + std::to_string(m.tx);
            if (m.rx) out += " rx+" + std::to_string(m.rx);
        } else {
            out += " +" + std::to_string(m.packets);
        }
    }
    return out;
}

}  // namespace ovnet
