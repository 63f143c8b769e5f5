// The packet tracer's walk (include/ovnet/trace.hpp): pure, over ovnet-inspect documents.
#include "ovnet/trace.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <functional>
#include <map>
#include <set>

#include "ovnet/error.hpp"
#include "ovnet/iptables.hpp"
#include "ovnet/snapshot_diff.hpp"

namespace ovnet {

namespace {

std::string hex(uint32_t v) {
    char b[16];
    std::snprintf(b, sizeof b, "0x%x", v);
    return b;
}

std::string str(const json& o, const char* k) {
    if (!o.is_object()) return {};
    auto it = o.find(k);
    if (it == o.end() || !it->is_string()) return {};
    return it->get<std::string>();
}

int64_t num(const json& o, const char* k, int64_t dflt = 0) {
    if (!o.is_object()) return dflt;
    auto it = o.find(k);
    if (it == o.end() || !it->is_number()) return dflt;
    return it->get<int64_t>();
}

std::optional<uint64_t> opt_u64(const json& o, const char* k) {
    if (!o.is_object()) return std::nullopt;
    auto it = o.find(k);
    if (it == o.end() || !it->is_number_unsigned()) return std::nullopt;
    return it->get<uint64_t>();
}

const json& arr(const json& o, const char* k) {
    static const json empty = json::array();
    if (!o.is_object()) return empty;
    auto it = o.find(k);
    return it != o.end() && it->is_array() ? *it : empty;
}

IpAddr ip_of(const std::string& s) {
    IpAddr a;
    IpAddr::try_parse(s, a);
    return a;
}

bool in_prefix(const IpAddr& a, const Prefix& p) {
    if (a.family != p.addr.family || !a.valid()) return false;
    int bits = p.len;
    for (size_t i = 0; i < a.size() && bits > 0; i++, bits -= 8) {
        uint8_t m = bits >= 8 ? 0xff : uint8_t(0xff << (8 - bits));
        if ((a.b[i] & m) != (p.addr.b[i] & m)) return false;
    }
    return true;
}

// "10.0.0.0/24", "10.0.0.2" (a /32), "default"
bool parse_net(const std::string& s, Prefix& p) {
    if (s == "default" || s == "0.0.0.0/0") {
        p = Prefix{};
        p.addr.family = AF_INET;
        p.len = 0;
        return true;
    }
    auto slash = s.find('/');
    IpAddr a;
    if (!IpAddr::try_parse(s.substr(0, slash), a)) return false;
    p.addr = a;
    p.len = slash == std::string::npos ? int(a.size() * 8) : std::atoi(s.c_str() + slash + 1);
    return true;
}

uint32_t parse_u32(const std::string& s) { return uint32_t(std::strtoul(s.c_str(), nullptr, 0)); }


bool port_in(uint16_t port, const std::string& spec) {
    auto one = [&](const std::string& r) {
        auto c = r.find(':');
        if (c == std::string::npos) return port == parse_u32(r);
        uint32_t lo = c ? parse_u32(r.substr(0, c)) : 0, hi = c + 1 < r.size() ? parse_u32(r.substr(c + 1)) : 65535;
        return port >= lo && port <= hi;
    };
    size_t b = 0;
    while (b <= spec.size()) {
        size_t e = spec.find(',', b);
        if (e == std::string::npos) e = spec.size();
        if (one(spec.substr(b, e - b))) return true;
        b = e + 1;
    }
    return false;
}

int proto_num(const std::string& p) {
    if (p == "tcp") return 6;
    if (p == "udp") return 17;
    if (p == "icmp") return 1;
    if (p == "sctp") return 132;
    if (p == "all") return 0;
    return std::isdigit(static_cast<unsigned char>(p.empty() ? 'x' : p[0])) ? int(parse_u32(p)) : -1;
}

bool iface_match(const std::string& pat, const std::string& ifn) {
    if (!pat.empty() && pat.back() == '+') return ifn.compare(0, pat.size() - 1, pat, 0, pat.size() - 1) == 0;
    return pat == ifn;
}

// A namespace's rules indexed by table and chain.
struct NfIndex {
    bool read = false;
    std::string error;
    std::map<std::pair<std::string, std::string>, std::vector<const json*>> rules;
    std::map<std::pair<std::string, std::string>, const json*> chains;
};

struct St {
    std::string ns, iif;
    TracePacket p;
    std::optional<TracePacket> inner;  // the encapsulated packet while on the underlay
    Mac inner_mac;
    Mac dst_mac;
    IpAddr dst_ip, inner_ip;           // the addresses whose neighbor gave dst_mac, inner_mac
    std::string out_dev;
    bool ipvs = false, dnat = false, snat = false;
    bool ipsec = false;                // came through an ESP SA (xfrm): "-m policy --dir in --pol ipsec"
    std::string ipvs_ns;               // where IPVS picked a destination (a local pick is delivered there)
    std::string mark_ns;               // where the mark was set
    std::string drop_code, drop_reason, drop_fix;
    TracePath path;
};

enum class Tri { No, Yes, Unknown };

class Walker {
public:
    Walker(TraceWorld& w, const TraceOptions& o) : w_(w), opt_(o) {}
    std::vector<TracePath> done;

    void local_out(St s, bool skip_output_hooks = false);
    void ingress(St s);

private:
    TraceWorld& w_;
    TraceOptions opt_;
    std::map<std::string, NfIndex> nf_;

    const json& ns(const std::string& label) {
        static const json empty = json::object();
        const json* j = w_.netns(label);
        return j ? *j : empty;
    }

    void hop(St& s, const std::string& stage, const std::string& object, const std::string& entry,
             const std::string& effect, std::optional<uint64_t> pk = {}, std::optional<uint64_t> by = {}) {
        TraceHop h;
        h.netns = s.ns, h.stage = stage, h.object = object, h.entry = entry, h.effect = effect;
        h.packets = pk, h.bytes = by;
        h.packet = s.p;
        s.path.hops.push_back(std::move(h));
    }
    void finish(St& s, const std::string& outcome, const std::string& code = {}, const std::string& reason = {},
                const std::string& fix = {}) {
        s.path.outcome = outcome, s.path.code = code, s.path.reason = reason, s.path.fix = fix;
        done.push_back(std::move(s.path));
    }
    void drop(St& s, const std::string& code, const std::string& reason, const std::string& fix) {
        finish(s, "dropped", code, reason, fix);
    }
    bool budget(St& s) {
        if (s.path.hops.size() < opt_.max_hops) return true;
        drop(s, "LOOP", "more than " + std::to_string(opt_.max_hops) + " hops: the packet loops", "");
        return false;
    }
    std::string exec_fix(const std::string& label, const std::string& cmd) {
        return "ovnet-sbox exec " + label + " -- " + cmd;
    }

    // ---- namespace facts ----
    const json* link(const std::string& label, const std::string& name) {
        for (auto& l : arr(ns(label), "links"))
            if (str(l, "name") == name) return &l;
        return nullptr;
    }
    bool owns(const std::string& label, const IpAddr& a, std::string* ifname = nullptr) {
        if (a.family == AF_INET && a.b[0] == 127) {
            if (ifname) *ifname = "lo";
            return true;
        }
        for (auto& ad : arr(ns(label), "addresses")) {
            Prefix p;
            if (parse_net(str(ad, "address"), p) && p.addr == a) {
                if (ifname) *ifname = str(ad, "ifname");
                return true;
            }
        }
        return false;
    }
    IpAddr addr_of(const std::string& label, const std::string& ifname) {
        for (auto& ad : arr(ns(label), "addresses")) {
            Prefix p;
            if (str(ad, "ifname") == ifname && parse_net(str(ad, "address"), p) && p.addr.family == AF_INET) return p.addr;
        }
        return {};
    }
    std::string sysctl(const std::string& label, const char* key) {
        const json& n = ns(label);
        auto it = n.find("sysctls");
        if (it == n.end() || !it->is_object()) return {};
        return str(*it, key);
    }
    NfIndex& nf(const std::string& label) {
        auto it = nf_.find(label);
        if (it != nf_.end()) return it->second;
        NfIndex& x = nf_[label];
        const json& n = ns(label);
        auto f = n.find("netfilter");
        if (f == n.end() || !f->is_object()) {
            x.error = str(n, "netfilter_error");
            if (x.error.empty()) x.error = "no netfilter state in the snapshot";
            return x;
        }
        x.read = true;
        for (auto& r : arr(*f, "rules")) x.rules[{str(r, "table"), str(r, "chain")}].push_back(&r);
        for (auto& [k, v] : x.rules)
            std::stable_sort(v.begin(), v.end(), [](auto* a, auto* b) { return num(*a, "position") < num(*b, "position"); });
        for (auto& c : arr(*f, "chains")) x.chains[{str(c, "table"), str(c, "chain")}] = &c;
        return x;
    }

    // ---- netfilter ----
    Tri match(St& s, const std::string& table, const std::vector<std::string>& w, std::string& unknown);
    using Outs = std::vector<std::pair<St, std::string>>;
    void run_chain(St s, const std::string& table, const std::string& builtin,
                   std::vector<std::pair<std::string, size_t>> stack, const std::string& chain, size_t idx,
                   long forced, Outs& outs, int depth);
    Outs hook(St s, const std::string& hook);
    void end_of_builtin(St& s, const std::string& table, const std::string& chain, Outs& outs);

    // ---- stages ----
    std::optional<RouteAnswer> route(St& s, bool input);
    // The longest-prefix match over the namespace's main-table routes; nullptr: none.
    const json* lpm(const std::string& label, const IpAddr& dst) {
        const json* best = nullptr;
        int blen = -1;
        for (auto& rt : arr(ns(label), "routes")) {
            Prefix p;
            if (!parse_net(str(rt, "dst"), p) || p.addr.family != AF_INET) continue;
            if (in_prefix(dst, p) && p.len > blen) best = &rt, blen = p.len;
        }
        return best;
    }
    void after_prerouting(St s);
    void local_in(St s);
    void post_and_egress(St s, const RouteAnswer& r);
    void egress(St s, const RouteAnswer& r);
    void bridge_fwd(St s, const std::string& br, const std::string& in_port);
    void encap(St s, const json& vtep, const json& row);
    bool decap(St& s);
    bool ipvs(St& s);
    bool xfrm_out(St& s);
    bool neighbor(St& s, const IpAddr& nh, const std::string& l2ns, const std::string& l2if, const std::string& master);
};

// ---- netfilter ----

Tri Walker::match(St& s, const std::string& /*table*/, const std::vector<std::string>& w, std::string& unknown) {
    bool neg = false;
    std::string module, policy_dir;
    Tri res = Tri::Yes;
    auto want = [&](bool v) {
        if (neg) v = !v;
        neg = false;
        if (!v && res == Tri::Yes) res = Tri::No;
    };
    auto unk = [&](const std::string& what) {
        if (unknown.empty()) unknown = what;
        neg = false;
        if (res == Tri::Yes) res = Tri::Unknown;
    };
    int pnum = proto_num(s.p.proto);
    for (size_t i = 0; i < w.size(); i++) {
        const std::string& o = w[i];
        auto arg = [&]() -> std::string { return i + 1 < w.size() ? w[++i] : std::string(); };
        if (o == "!") {
            neg = true;
        } else if (o == "-s" || o == "--source" || o == "-d" || o == "--destination") {
            Prefix p;
            std::string v = arg();
            bool ok = parse_net(v, p);
            const IpAddr& a = (o == "-s" || o == "--source") ? s.p.src : s.p.dst;
            if (!ok) unk(o + " " + v);
            else want(in_prefix(a, p));
        } else if (o == "-i" || o == "--in-interface") {
            want(!s.iif.empty() && iface_match(arg(), s.iif));
        } else if (o == "-o" || o == "--out-interface") {
            want(!s.out_dev.empty() && iface_match(arg(), s.out_dev));
        } else if (o == "-p" || o == "--protocol") {
            int n = proto_num(arg());
            if (n < 0) unk("-p " + w[i]);
            else want(n == 0 || n == pnum);
        } else if (o == "-m" || o == "--match") {
            module = arg();
            static const std::set<std::string> known{"tcp", "udp", "mark", "addrtype", "conntrack", "state",
                                                     "ipvs", "comment", "multiport", "icmp", "u32", "policy"};
            if (!known.count(module)) {
                std::string t = "-m " + module;
                while (i + 1 < w.size() && w[i + 1].rfind("--", 0) == 0 && w[i + 1] != "--jump") {
                    t += " " + w[++i];
                    if (i + 1 < w.size() && w[i + 1].rfind("-", 0) != 0) t += " " + w[++i];
                }
                unk(t);
            }
        } else if (o == "--dport" || o == "--destination-port" || o == "--sport" || o == "--source-port" ||
                   o == "--dports" || o == "--sports" || o == "--ports" || o == "--destination-ports" ||
                   o == "--source-ports") {
            std::string v = arg();
            bool dst = o.find("d") == 2 || o == "--destination-ports";
            uint16_t port = dst ? s.p.dport : s.p.sport;
            if (o == "--ports") {
                want(port_in(s.p.dport, v) || port_in(s.p.sport, v));
            } else if (!dst && port == 0 && s.p.vni) {
                unk(o + " " + v + " (the VXLAN source port is a flow hash)");
            } else {
                want(port_in(port, v));
            }
        } else if (o == "--syn") {
            want(s.p.proto == "tcp");
        } else if (o == "--tcp-flags") {
            std::string mask = arg(), comp = arg();
            // the traced packet is a connection's first: SYN alone
            auto has = [](const std::string& l, const char* f) {
                return l == "ALL" || ("," + l + ",").find(std::string(",") + f + ",") != std::string::npos;
            };
            bool ok = true;
            for (const char* f : {"FIN", "SYN", "RST", "PSH", "ACK", "URG"})
                if (has(mask, f) && has(comp, f) != (std::strcmp(f, "SYN") == 0)) ok = false;
            want(ok);
        } else if (o == "--mark") {
            std::string v = arg();
            auto sl = v.find('/');
            uint32_t val = parse_u32(v.substr(0, sl)), m = sl == std::string::npos ? 0xffffffffu : parse_u32(v.substr(sl + 1));
            want((s.p.mark & m) == val);
        } else if (o == "--dst-type" || o == "--src-type") {
            std::string v = arg();
            const IpAddr& a = o == "--dst-type" ? s.p.dst : s.p.src;
            bool any = false, unknown_type = false;
            size_t b = 0;
            while (b <= v.size()) {
                size_t e = v.find(',', b);
                if (e == std::string::npos) e = v.size();
                std::string t = v.substr(b, e - b);
                if (t == "LOCAL") any |= owns(s.ns, a);
                else if (t == "UNICAST") any |= !is_multicast(a) && !owns(s.ns, a);
                else if (t == "MULTICAST") any |= is_multicast(a);
                else if (t == "BROADCAST") any |= a.family == AF_INET && a.b[3] == 255;
                else unknown_type = true;
                b = e + 1;
            }
            if (unknown_type && !any) unk(o + " " + v);
            else want(any);
        } else if (o == "--limit-iface-in" || o == "--limit-iface-out") {
            unk(o + " " + arg());
        } else if (o == "--ctstate" || o == "--state") {
            std::string v = arg();
            std::set<std::string> st{"NEW"};
            if (s.dnat) st.insert("DNAT");
            if (s.snat) st.insert("SNAT");
            bool any = false;
            size_t b = 0;
            while (b <= v.size()) {
                size_t e = v.find(',', b);
                if (e == std::string::npos) e = v.size();
                any |= st.count(v.substr(b, e - b)) > 0;
                b = e + 1;
            }
            want(any);
        } else if (o == "--ipvs") {
            want(s.ipvs);
        } else if (module == "policy" && o == "--dir") {
            policy_dir = arg();
        } else if (module == "policy" && o == "--pol") {
            // Inbound, the packet's own history decides (an ESP SA applied on the way in, as Docker's
            // encrypted overlays expect); outbound, it is the policy lookup still to come: not modelled.
            std::string v = arg();
            if (policy_dir == "in" && (v == "ipsec" || v == "none")) want((v == "ipsec") == s.ipsec);
            else unk("-m policy --dir " + policy_dir + " --pol " + v);
        } else if (o == "--comment") {
            arg();
        } else if (o == "--icmp-type") {
            std::string v = arg();
            if (v == "8" || v == "echo-request") want(s.p.proto == "icmp");
            else want(false);
        } else if (o == "--u32") {
            // Docker's VXLAN VNI match: "0x0>>0x16&0x3c@0xc&0xffffff00=0x<VNI><00>"
            std::string v = arg();
            const std::string head = "0x0>>0x16&0x3c@0xc&0xffffff00=";
            if (v.rfind(head, 0) == 0 && s.p.vni && s.p.proto == "udp") want((s.p.vni << 8) == parse_u32(v.substr(head.size())));
            else if (v.rfind(head, 0) == 0) want(false);
            else unk("-m u32 --u32 " + v);
        } else if (o == "-j" || o == "--jump" || o == "-g" || o == "--goto") {
            break;
        } else if (o == "-f" || o == "--fragment") {
            want(false);
        } else {
            unk((module.empty() ? "" : "-m " + module + " ") + o);
            if (i + 1 < w.size() && w[i + 1].rfind("-", 0) != 0) i++;
        }
    }
    return res;
}

void Walker::end_of_builtin(St& s, const std::string& table, const std::string& chain, Outs& outs) {
    auto& x = nf(s.ns);
    auto it = x.chains.find({table, chain});
    std::string pol = it != x.chains.end() ? str(*it->second, "policy") : std::string();
    if (pol.empty()) pol = "ACCEPT";
    bool has_rules = x.rules.count({table, chain}) > 0;
    std::optional<uint64_t> pk, by;
    if (it != x.chains.end()) pk = opt_u64(*it->second, "packets"), by = opt_u64(*it->second, "bytes");
    if (has_rules || pol != "ACCEPT") hop(s, "netfilter", table + " " + chain, "policy " + pol, pol, pk, by);
    if (pol == "DROP") {
        s.drop_code = "POLICY_DROP";
        s.drop_reason = "the policy of " + table + " " + chain + " is DROP and no rule accepted the packet";
        s.drop_fix = exec_fix(s.ns, "iptables -t " + table + " -I " + chain + " ... -j ACCEPT") +
                     (chain == "FORWARD" ? " (for a published port: ovnet-publish add, which accepts it in filter OVNET-INGRESS)" : "");
    }
    outs.emplace_back(std::move(s), pol == "DROP" ? "DROP" : "ACCEPT");
}

void Walker::run_chain(St s, const std::string& table, const std::string& builtin,
                       std::vector<std::pair<std::string, size_t>> stack, const std::string& chain, size_t idx,
                       long forced, Outs& outs, int depth) {
    auto& x = nf(s.ns);
    if (depth > 64) {
        s.drop_code = "LOOP", s.drop_reason = "chains jump deeper than 64 levels in " + table;
        outs.emplace_back(std::move(s), "DROP");
        return;
    }
    auto rit = x.rules.find({table, chain});
    static const std::vector<const json*> none;
    const auto& rules = rit != x.rules.end() ? rit->second : none;
    for (size_t i = idx; i < rules.size(); i++) {
        const json& r = *rules[i];
        std::string spec = str(r, "spec");
        auto w = ipt_words(spec);
        std::string unknown;
        Tri m = long(i) == forced ? Tri::Yes : match(s, table, w, unknown);
        std::string text = "-A " + chain + " " + spec;
        if (m == Tri::Unknown) {
            if (done.size() + outs.size() + 1 < opt_.max_paths) {
                St c = s;
                c.path.assumptions.push_back(s.ns + ": " + table + " " + text + ": \"" + unknown +
                                             "\" is not modelled; taken as matching");
                run_chain(std::move(c), table, builtin, stack, chain, i, long(i), outs, depth);
            }
            s.path.assumptions.push_back(s.ns + ": " + table + " " + text + ": \"" + unknown +
                                         "\" is not modelled; taken as not matching");
            continue;
        }
        if (m == Tri::No) continue;
        // matched: the target
        std::string target;
        bool go = false;
        size_t ti = 0;
        for (size_t k = 0; k < w.size(); k++)
            if (w[k] == "-j" || w[k] == "--jump" || w[k] == "-g" || w[k] == "--goto") {
                go = w[k] == "-g" || w[k] == "--goto";
                target = k + 1 < w.size() ? w[k + 1] : "";
                ti = k + 2;
                break;
            }
        auto topt = [&](const char* name) -> std::string {
            for (size_t k = ti; k + 1 < w.size(); k++)
                if (w[k] == name) return w[k + 1];
            return {};
        };
        std::optional<uint64_t> pk = opt_u64(r, "packets"), by = opt_u64(r, "bytes");
        std::string obj = table + " " + chain;
        if (target.empty()) {
            hop(s, "netfilter", obj, text, "counted", pk, by);
            continue;
        }
        if (x.rules.count({table, target}) || x.chains.count({table, target})) {
            hop(s, "netfilter", obj, text, (go ? "goto " : "jump ") + target, pk, by);
            if (!go) stack.emplace_back(chain, i + 1);
            run_chain(std::move(s), table, builtin, std::move(stack), target, 0, -1, outs, depth + 1);
            return;
        }
        if (target == "ACCEPT") {
            hop(s, "netfilter", obj, text, "ACCEPT", pk, by);
            outs.emplace_back(std::move(s), "ACCEPT");
            return;
        }
        if (target == "DROP" || target == "REJECT") {
            hop(s, "netfilter", obj, text, target, pk, by);
            s.drop_code = "DROP_RULE";
            s.drop_reason = "rule " + table + " " + text + " " + (target == "DROP" ? "drops" : "rejects") + " it";
            s.drop_fix = exec_fix(s.ns, "iptables -t " + table + " -D " + chain + " " + spec);
            outs.emplace_back(std::move(s), "DROP");
            return;
        }
        if (target == "RETURN") {
            hop(s, "netfilter", obj, text, "RETURN", pk, by);
            break;   // to the caller below
        }
        if (target == "MARK") {
            uint32_t before = s.p.mark;
            std::string v;
            if (!(v = topt("--set-xmark")).empty() || !(v = topt("--set-mark")).empty()) {
                auto sl = v.find('/');
                uint32_t val = parse_u32(v.substr(0, sl)), m2 = sl == std::string::npos ? 0xffffffffu : parse_u32(v.substr(sl + 1));
                s.p.mark = topt("--set-xmark").empty() ? ((s.p.mark & ~m2) | val) : ((s.p.mark & ~m2) ^ val);
            } else if (!(v = topt("--or-mark")).empty()) {
                s.p.mark |= parse_u32(v);
            } else if (!(v = topt("--and-mark")).empty()) {
                s.p.mark &= parse_u32(v);
            } else if (!(v = topt("--xor-mark")).empty()) {
                s.p.mark ^= parse_u32(v);
            }
            if (s.p.mark != before) s.mark_ns = s.ns;
            hop(s, "netfilter", obj, text, "MARK " + hex(s.p.mark) + " (" + std::to_string(s.p.mark) + ")", pk, by);
            continue;
        }
        if (target == "DNAT" || target == "SNAT" || target == "MASQUERADE" || target == "REDIRECT") {
            std::string eff;
            if (target == "DNAT") {
                std::string to = topt("--to-destination");
                auto c = to.find(':');
                IpAddr a = ip_of(to.substr(0, std::min(c, to.find('-'))));
                if (a.valid()) s.p.dst = a;
                if (c != std::string::npos) s.p.dport = uint16_t(parse_u32(to.substr(c + 1)));
                s.dnat = true;
                eff = "DNAT to " + to;
            } else if (target == "REDIRECT") {
                std::string to = topt("--to-ports");
                IpAddr a = s.iif.empty() ? ip_of("127.0.0.1") : addr_of(s.ns, s.iif);
                s.p.dst = a;
                if (!to.empty()) s.p.dport = uint16_t(parse_u32(to));
                s.dnat = true;
                eff = "REDIRECT to " + a.str() + ":" + std::to_string(s.p.dport);
            } else {
                std::string to = target == "SNAT" ? topt("--to-source") : std::string();
                auto c = to.find(':');
                IpAddr a = target == "SNAT" ? ip_of(to.substr(0, std::min(c, to.find('-')))) : addr_of(s.ns, s.out_dev);
                if (a.valid()) s.p.src = a;
                if (c != std::string::npos) s.p.sport = uint16_t(parse_u32(to.substr(c + 1)));
                s.snat = true;
                eff = (target == "SNAT" ? "SNAT to " + to : "MASQUERADE to " + a.str());
            }
            hop(s, "netfilter", obj, text, eff, pk, by);
            outs.emplace_back(std::move(s), "ACCEPT");
            return;
        }
        // LOG, TRACE, CT, CONNMARK, TCPMSS...: the path goes on.
        hop(s, "netfilter", obj, text, target + " (not a verdict; the packet goes on)", pk, by);
    }
    // end of chain, or RETURN
    if (!stack.empty()) {
        auto [c, n] = stack.back();
        stack.pop_back();
        run_chain(std::move(s), table, builtin, std::move(stack), c, n, -1, outs, depth + 1);
        return;
    }
    end_of_builtin(s, table, builtin, outs);
}

Walker::Outs Walker::hook(St s, const std::string& hk) {
    static const std::map<std::string, std::vector<std::string>> order{
        {"PREROUTING", {"raw", "mangle", "nat"}},
        {"INPUT", {"mangle", "filter", "nat"}},
        {"FORWARD", {"mangle", "filter"}},
        {"OUTPUT", {"raw", "mangle", "nat", "filter"}},
        {"POSTROUTING", {"mangle", "nat"}},
    };
    Outs cur;
    auto& x = nf(s.ns);
    if (!x.read) {
        std::string note = s.ns + ": netfilter rules not read (" + x.error + "); " + hk + " taken as accepting";
        if (std::find(s.path.assumptions.begin(), s.path.assumptions.end(), note) == s.path.assumptions.end())
            s.path.assumptions.push_back(note);
        cur.emplace_back(std::move(s), "ACCEPT");
        return cur;
    }
    cur.emplace_back(std::move(s), "ACCEPT");
    for (auto& t : order.at(hk)) {
        // nat sees a connection's first packet only, and never one IPVS already handled
        Outs next;
        for (auto& [st, v] : cur) {
            if (v == "DROP" || (t == "nat" && st.ipvs && hk != "POSTROUTING")) {
                next.emplace_back(std::move(st), v);
                continue;
            }
            run_chain(std::move(st), t, hk, {}, hk, 0, -1, next, 0);
        }
        cur = std::move(next);
    }
    return cur;
}

// ---- route ----

std::optional<RouteAnswer> Walker::route(St& s, bool input) {
    if (auto k = w_.route_get(s.ns, s.p, input ? s.iif : std::string())) {
        hop(s, "route", "kernel", k->entry.empty() ? std::strerror(k->error) : k->entry,
            k->type == "local" ? "local delivery" : k->type == "unicast" ? "out " + k->dev : k->type);
        return k;
    }
    RouteAnswer r;
    std::string ifn;
    if (owns(s.ns, s.p.dst, &ifn)) {
        r.type = "local";
        r.entry = "local " + s.p.dst.str() + " dev " + ifn;
        hop(s, "route", "local", r.entry, "local delivery");
        return r;
    }
    const json* best = lpm(s.ns, s.p.dst);
    if (!best) {
        r.type = "unreachable";
        r.error = ENETUNREACH;
        hop(s, "route", "main", "no route to " + s.p.dst.str(), "unreachable");
        return r;
    }
    r.type = "unicast";
    r.dev = str(*best, "dev");
    r.gateway = ip_of(str(*best, "gateway"));
    r.entry = str(*best, "dst") + (r.gateway.valid() ? " via " + r.gateway.str() : std::string()) + " dev " + r.dev;
    hop(s, "route", "main", r.entry, "out " + r.dev);
    return r;
}

// ---- stages ----

void Walker::local_out(St s, bool skip_output_hooks) {
    if (!budget(s)) return;
    s.iif.clear();
    auto r = route(s, false);
    if (r->type != "local" && r->type != "unicast") {
        drop(s, "NO_ROUTE", "no route to " + s.p.dst.str() + " in " + s.ns,
             exec_fix(s.ns, "ip route add " + s.p.dst.str() + " via <gateway>") + " (a sandbox: ovnet-sbox connect ... --gateway)");
        return;
    }
    if (!s.p.src.valid()) {
        s.p.src = r->prefsrc.valid() ? r->prefsrc : r->type == "local" ? s.p.dst : addr_of(s.ns, r->dev);
        s.path.hops.back().packet.src = s.p.src;   // the route chose it
    }
    s.out_dev = r->type == "local" ? "lo" : r->dev;
    if (skip_output_hooks) {
        post_and_egress(std::move(s), *r);
        return;
    }
    IpAddr dst0 = s.p.dst;
    uint32_t mark0 = s.p.mark;
    for (auto& [st, v] : hook(std::move(s), "OUTPUT")) {
        if (v == "DROP") {
            drop(st, st.drop_code, st.drop_reason, st.drop_fix);
            continue;
        }
        RouteAnswer rr = *r;
        if (st.p.dst != dst0 || st.p.mark != mark0) {
            // the kernel routes again when nat OUTPUT or a mark changed the packet
            auto r2 = route(st, false);
            if (r2->type != "local" && r2->type != "unicast") {
                drop(st, "NO_ROUTE", "no route to " + st.p.dst.str() + " in " + st.ns, exec_fix(st.ns, "ip route add ..."));
                continue;
            }
            rr = *r2;
            st.out_dev = rr.type == "local" ? "lo" : rr.dev;
        }
        post_and_egress(std::move(st), rr);
    }
}

void Walker::post_and_egress(St s, const RouteAnswer& r) {
    for (auto& [st, v] : hook(std::move(s), "POSTROUTING")) {
        if (v == "DROP") {
            drop(st, st.drop_code, st.drop_reason, st.drop_fix);
            continue;
        }
        if (r.type == "local") {
            St l = std::move(st);
            l.iif = "lo";
            after_prerouting(std::move(l));   // loopback: PREROUTING is not run again for conntracked local packets
            continue;
        }
        egress(std::move(st), r);
    }
}

void Walker::ingress(St s) {
    if (!budget(s)) return;
    for (auto& [st, v] : hook(std::move(s), "PREROUTING")) {
        if (v == "DROP") {
            drop(st, st.drop_code, st.drop_reason, st.drop_fix);
            continue;
        }
        after_prerouting(std::move(st));
    }
}

void Walker::after_prerouting(St s) {
    if (s.iif == "lo") {
        local_in(std::move(s));
        return;
    }
    auto r = route(s, true);
    if (r->type == "local") {
        local_in(std::move(s));
        return;
    }
    std::string fwd = sysctl(s.ns, "net.ipv4.ip_forward");
    // With forwarding off the kernel answers EHOSTUNREACH whether a route exists or not: the
    // routes tell the two apart (no route is the cause that turning forwarding on would not fix).
    bool routed = r->type == "unicast" || (r->error == EHOSTUNREACH && lpm(s.ns, s.p.dst));
    if (fwd == "0" && routed) {
        drop(s, "IP_FORWARD_OFF",
             s.ns + " must forward the packet (in on " + s.iif + ", toward " + s.p.dst.str() + ") but net.ipv4.ip_forward is 0",
             exec_fix(s.ns, "sysctl -w net.ipv4.ip_forward=1"));
        return;
    }
    if (r->error == EXDEV) {
        drop(s, "RP_FILTER", "reverse-path filter: " + s.p.src.str() + " is not routed back through " + s.iif + " in " + s.ns,
             exec_fix(s.ns, "sysctl -w net.ipv4.conf." + s.iif + ".rp_filter=2"));
        return;
    }
    if (r->type != "unicast") {
        drop(s, "NO_ROUTE", "no route to " + s.p.dst.str() + " in " + s.ns + (r->error ? std::string(" (") + std::strerror(r->error) + ")" : ""),
             exec_fix(s.ns, "ip route add " + s.p.dst.str() + " via <gateway>"));
        return;
    }
    s.out_dev = r->dev;
    RouteAnswer rr = *r;
    for (auto& [st, v] : hook(std::move(s), "FORWARD")) {
        if (v == "DROP") {
            drop(st, st.drop_code, st.drop_reason, st.drop_fix);
            continue;
        }
        post_and_egress(std::move(st), rr);
    }
}

bool Walker::ipvs(St& s) {
    const json& n = ns(s.ns);
    auto it = n.find("ipvs");
    bool has = it != n.end() && it->is_array();
    const json* svc = nullptr;
    if (has)
        for (auto& v : *it) {
            if (s.p.mark && num(v, "fwmark", -1) == int64_t(s.p.mark)) { svc = &v; break; }
            if (num(v, "fwmark", -1) < 0 && str(v, "protocol") == s.p.proto && ip_of(str(v, "address")) == s.p.dst &&
                num(v, "port") == s.p.dport) { svc = &v; break; }
        }
    if (!svc) {
        if (s.p.mark && s.mark_ns == s.ns) {
            std::string why = has ? "no IPVS service for firewall mark " + std::to_string(s.p.mark)
                                  : "the namespace has no IPVS (" + str(n, "ipvs_error") + ")";
            St c = s;
            drop(c, "FWM_WITHOUT_IPVS", "the packet carries mark " + hex(s.p.mark) + " (" + std::to_string(s.p.mark) + ") set in " +
                 s.ns + " but " + why, "ovnet-ipvs -n " + s.ns + " add -f " + std::to_string(s.p.mark) + " -s rr (or ovnet-lb / ovnet-publish add)");
            return true;
        }
        return false;
    }
    std::string key = str(*svc, "key"), sched = str(*svc, "scheduler");
    std::vector<const json*> cands;
    std::string all;
    for (auto& d : arr(*svc, "dests")) {
        all += (all.empty() ? "" : ", ") + str(d, "address") + ":" + std::to_string(num(d, "port")) + " w" + std::to_string(num(d, "weight"));
        if (num(d, "weight") > 0) cands.push_back(&d);
    }
    if (cands.empty()) {
        St c = s;
        hop(c, "ipvs", key, sched + " [" + all + "]", "no destination");
        drop(c, "IPVS_NO_LIVE_DEST", "IPVS service " + key + " has " + (all.empty() ? "no destination" : "only weight-0 destinations"),
             "ovnet-lb add ... --backend TASK (or ovnet-ipvs -n " + s.ns + " edit ... -w 1)");
        return true;
    }
    std::vector<const json*> picks;
    if (opt_.lb_dst) {
        for (auto* d : cands)
            if (ip_of(str(*d, "address")) == *opt_.lb_dst) picks.push_back(d);
        if (picks.empty())
            throw Error(ErrorKind::Input, "--lb-dst " + opt_.lb_dst->str() + ": not a live destination of IPVS service " + key +
                                              " in " + s.ns + " (" + all + ")");
    } else {
        picks = cands;
        if (picks.size() > opt_.max_paths) {
            s.path.assumptions.push_back(s.ns + ": IPVS " + key + ": only the first " + std::to_string(opt_.max_paths) + " of " +
                                         std::to_string(picks.size()) + " candidates followed (--lb-dst chooses one)");
            picks.resize(opt_.max_paths);
        }
    }
    for (size_t k = 0; k < picks.size(); k++) {
        St c = k + 1 == picks.size() ? std::move(s) : s;
        const json& d = *picks[k];
        if (picks.size() > 1)
            c.path.assumptions.push_back(c.ns + ": IPVS " + key + " (" + sched + ") picks " + str(d, "address") +
                                         " (one path per candidate; --lb-dst chooses)");
        c.p.dst = ip_of(str(d, "address"));
        if (num(d, "port")) c.p.dport = uint16_t(num(d, "port"));
        c.ipvs = true;
        c.ipvs_ns = c.ns;
        hop(c, "ipvs", key, sched + " [" + all + "]", "to " + str(d, "address") + " (" + str(d, "forward") + ")");
        local_out(std::move(c), true);
    }
    return true;
}

void Walker::local_in(St s) {
    for (auto& [st, v] : hook(std::move(s), "INPUT")) {
        if (v == "DROP") {
            drop(st, st.drop_code, st.drop_reason, st.drop_fix);
            continue;
        }
        if (st.inner && st.p.proto == "udp") {
            if (decap(st)) continue;
        }
        // A destination IPVS picked in this namespace that is local (a task balancing to itself) is
        // delivered, not balanced again: the connection exists (without this the walk looped).
        if (st.ipvs_ns != st.ns && ipvs(st)) continue;
        bool found = false;
        auto sock = w_.listener(st.ns, st.p, &found);
        std::string tuple = st.p.proto + " " + st.p.dst.str() + (st.p.proto == "icmp" ? "" : ":" + std::to_string(st.p.dport));
        if (st.p.proto == "icmp") {
            hop(st, "socket", "kernel", "icmp echo", "answered by the kernel");
            finish(st, "delivered");
            continue;
        }
        auto& x = nf(st.ns);
        bool mesh = x.rules.count({"nat", "DOCKER-INGRESS"}) || x.rules.count({"nat", "OVNET-INGRESS"});
        if (!sock) {
            if (mesh && !st.dnat) {
                drop(st, "NO_DNAT", "nothing publishes " + st.p.proto + "/" + std::to_string(st.p.dport) + " on " + st.ns +
                     " (no DNAT in nat DOCKER-INGRESS/OVNET-INGRESS matched)", "ovnet-publish -n " + st.ns + " add --port " +
                     std::to_string(st.p.dport) + " --gw-ip ... --backend ...");
                continue;
            }
            hop(st, "socket", tuple, "unknown", "not known: snapshots carry no socket table");
            finish(st, "delivered");
        } else if (found) {
            hop(st, "socket", tuple, *sock, "delivered");
            finish(st, "delivered");
        } else {
            hop(st, "socket", tuple, "none", "no socket");
            if (mesh && !st.dnat)
                drop(st, "NO_DNAT", "nothing publishes " + st.p.proto + "/" + std::to_string(st.p.dport) + " on " + st.ns,
                     "ovnet-publish -n " + st.ns + " add --port " + std::to_string(st.p.dport) + " --gw-ip ... --backend ...");
            else
                drop(st, "NO_LISTENER", "nothing listens on " + tuple + " in " + st.ns,
                     exec_fix(st.ns, "<server listening on " + std::to_string(st.p.dport) + ">"));
        }
    }
}

// The neighbor (ARP) answer for nh on the L2 segment behind l2if in l2ns: a bridge's port (its
// peer's MAC), the bridge itself, or a VTEP's proxy from its neighbor table. Sets s.dst_mac.
bool Walker::neighbor(St& s, const IpAddr& nh, const std::string& l2ns, const std::string& l2if, const std::string& master) {
    std::string from = s.ns;
    auto ok = [&](const Mac& m, const std::string& who) {
        s.dst_mac = m;
        s.dst_ip = nh;
        TraceHop h;
        hop(s, "neighbor", nh.str(), who, m.str());
        return true;
    };
    if (master.empty()) {
        std::string ifn;
        if (owns(l2ns, nh, &ifn) && ifn == l2if) {
            const json* l = link(l2ns, l2if);
            return ok(Mac::parse(str(l ? *l : json(), "mac").empty() ? "00:00:00:00:00:00" : str(*l, "mac")), l2ns + " " + l2if);
        }
    } else {
        for (auto& b : arr(ns(l2ns), "bridges")) {
            if (str(b, "name") != master) continue;
            std::string ifn;
            if (owns(l2ns, nh, &ifn) && ifn == master) return ok(Mac::parse(str(b, "mac")), l2ns + " bridge " + master);
            for (auto& p : arr(b, "ports")) {
                static const json none;
                const json& pr = p.contains("peer") ? p["peer"] : none;
                if (!pr.is_object()) continue;
                std::string pns = str(pr, "netns").empty() ? l2ns : str(pr, "netns");
                if (owns(pns, nh, &ifn) && ifn == str(pr, "ifname")) {
                    const json* l = link(pns, ifn);
                    if (l) return ok(Mac::parse(str(*l, "mac")), pns + " " + ifn + " (behind " + str(p, "name") + ")");
                }
            }
        }
        // a VTEP of the bridge answers from its neighbor table (proxy)
        for (auto& v : arr(ns(l2ns), "vteps")) {
            if (str(v, "master") != master) continue;
            const json* rows = w_.peer_rows(l2ns, str(v, "name"), nh, docker_mac(nh));
            if (!rows || !rows->is_array()) continue;
            for (auto& row : *rows) {
                if (ip_of(str(row, "ip")) != nh || str(row, "neigh_state").empty()) continue;
                return ok(Mac::parse(str(row, "mac")), l2ns + " " + str(v, "name") + " neighbor (" + str(row, "neigh_state") + ")");
            }
            for (auto& row : *rows) {
                // a VXLAN entry (with its VTEP), not a MAC the bridge learned on the port
                if (str(row, "mac") == docker_mac(nh).str() && !str(row, "fdb_state").empty() && !str(row, "vtep").empty()) {
                    drop(s, "FDB_HALF_ENTRY", str(v, "name") + " in " + l2ns + " has the fdb entry " + str(row, "mac") + " -> " +
                         str(row, "vtep") + " but no neighbor entry for " + nh.str() + ": ARP is not answered (moby #52661)",
                         "ovnet-fdb -n " + l2ns + " add -d " + str(v, "name") + " --ip " + nh.str() + " --mac " + str(row, "mac") +
                         " --vtep " + str(row, "vtep") + " (or re-run the peer distribution: ovnet-fdb local | ovnet-fdb apply --prune)");
                    return false;
                }
            }
            drop(s, "FDB_MISS", "no port of " + master + " in " + l2ns + " holds " + nh.str() + " and " + str(v, "name") +
                 " has no neighbor entry for it (l3miss): ARP is not answered",
                 "ovnet-fdb -n " + l2ns + " apply -d " + str(v, "name") + " with the peer's row (ovnet-fdb -n <its host> local)");
            return false;
        }
    }
    if (s.inner) {
        bool known = !w_.owners(nh).empty();
        drop(s, "VTEP_UNOWNED", "no namespace on the underlay behind " + l2if + " holds the VTEP address " + nh.str() +
             (known ? " on that segment" : ""), "ovnet-fdb apply --prune with the peers' current VTEPs (ovnet-fdb local on each host)");
        return false;
    }
    drop(s, "NO_NEIGHBOR", "nothing behind " + l2if + " in " + l2ns + " answers ARP for " + nh.str(),
         exec_fix(s.ns, "ip route get " + nh.str()) + " (check the next hop)");
    (void)from;
    return false;
}

// The xfrm policy (out) that selects the packet, and the SA its template needs: ESP with its SPI,
// or XFRM_NO_SA. False when the packet is dropped.
bool Walker::xfrm_out(St& s) {
    const json& n = ns(s.ns);
    auto xit = n.find("xfrm");
    if (xit == n.end() || !xit->is_object()) return true;
    const json* pol = nullptr;
    for (auto& p : arr(*xit, "policies")) {
        if (str(p, "dir") != "out") continue;
        Prefix ps, pd;
        if (!parse_net(str(p, "src"), ps) || !parse_net(str(p, "dst"), pd)) continue;
        if (!in_prefix(s.p.src, ps) || !in_prefix(s.p.dst, pd)) continue;
        if (num(p, "proto") && num(p, "proto") != proto_num(s.p.proto)) continue;
        if (num(p, "dport") && num(p, "dport") != s.p.dport) continue;
        if (num(p, "sport") && num(p, "sport") != s.p.sport) continue;
        uint32_t mm = parse_u32(str(p, "mark_mask")), mv = parse_u32(str(p, "mark"));
        if ((s.p.mark & mm) != mv) continue;
        if (!pol || num(p, "priority") < num(*pol, "priority")) pol = &p;
    }
    if (!pol) return true;
    std::string sel = "out " + str(*pol, "src") + " -> " + str(*pol, "dst") + (num(*pol, "proto") ? " proto " + std::to_string(num(*pol, "proto")) : "") +
                      (num(*pol, "dport") ? " dport " + std::to_string(num(*pol, "dport")) : "") +
                      (parse_u32(str(*pol, "mark_mask")) ? " mark " + str(*pol, "mark") + "/" + str(*pol, "mark_mask") : "");
    if (str(*pol, "action") == "block") {
        hop(s, "xfrm", "policy", sel, "block");
        drop(s, "POLICY_DROP", "xfrm policy " + sel + " in " + s.ns + " blocks it", exec_fix(s.ns, "ip xfrm policy show"));
        return false;
    }
    for (auto& t : arr(*pol, "templates")) {
        IpAddr td = ip_of(str(t, "dst"));
        if (!td.valid()) td = s.p.dst;
        const json* sa = nullptr;
        for (auto& st : arr(*xit, "states")) {
            if (ip_of(str(st, "dst")) != td || str(st, "proto") != str(t, "proto")) continue;
            if (parse_u32(str(t, "spi")) && str(st, "spi") != str(t, "spi")) continue;
            if (num(t, "reqid") && num(st, "reqid") != num(t, "reqid")) continue;
            sa = &st;
            break;
        }
        if (!sa) {
            hop(s, "xfrm", "policy", sel, "no SA");
            drop(s, "XFRM_NO_SA", "xfrm policy " + sel + " in " + s.ns + " needs an " + str(t, "proto") + " SA toward " + td.str() +
                 " and there is none", "create the SA on both ends (Docker: the encrypted overlay's key rotation), or remove the policy");
            return false;
        }
        s.p.size += 36;   // ESP header, IV, trailer and ICV of rfc4106(gcm(aes)), about
        if (str(t, "proto") == "esp") s.ipsec = true;
        hop(s, "xfrm", "policy", sel, str(t, "proto") == "esp" ? "ESP SPI " + str(*sa, "spi") + " (" + str(*sa, "mode") + ")"
                                                                : str(t, "proto") + " SPI " + str(*sa, "spi"));
    }
    return true;
}

void Walker::egress(St s, const RouteAnswer& r) {
    if (!budget(s)) return;
    if (!xfrm_out(s)) return;
    const json* l = link(s.ns, r.dev);
    IpAddr nh = r.gateway.valid() ? r.gateway : s.p.dst;
    if (!l) {
        hop(s, "egress", r.dev, "not in the snapshot", "leaves through " + r.dev);
        finish(s, "left", "", "the state read does not show where " + r.dev + " leads");
        return;
    }
    uint32_t mtu = uint32_t(num(*l, "mtu"));
    if (mtu && s.p.size > mtu) {
        if (s.p.df) {
            hop(s, "mtu", r.dev, "mtu " + std::to_string(mtu), "too big");
            drop(s, "MTU_EXCEEDED", std::to_string(s.p.size) + " bytes with DF set exceed the MTU " + std::to_string(mtu) + " of " + r.dev +
                 " in " + s.ns, "send at most " + std::to_string(mtu) + " bytes (TCP: clamp the MSS), or raise the path's MTU");
            return;
        }
        hop(s, "mtu", r.dev, "mtu " + std::to_string(mtu), "fragmented");
        s.p.size = mtu;   // the first fragment goes on
    }
    std::string kind = str(*l, "kind");
    if (kind == "veth") {
        static const json none;
        const json& pr = l->contains("peer") ? (*l)["peer"] : none;
        std::string pns = pr.is_object() ? (str(pr, "netns").empty() ? s.ns : str(pr, "netns")) : std::string();
        std::string pif = pr.is_object() ? str(pr, "ifname") : std::string();
        if (pns.empty() || pif.empty() || !w_.netns(pns)) {
            hop(s, "veth", r.dev, "peer " + (pns.empty() ? std::string("unknown") : pns + " " + pif), "leaves the state read");
            if (s.inner && w_.owners(s.p.dst).empty() && w_.mode() == "snapshot") {
                drop(s, "VTEP_UNOWNED", "no snapshot holds the VTEP address " + s.p.dst.str(),
                     "ovnet-fdb apply --prune with the peers' current VTEPs (ovnet-fdb local on each host)");
                return;
            }
            finish(s, "left", "", "the packet leaves " + s.ns + " through " + r.dev + " to a namespace the trace does not read");
            return;
        }
        std::string master = str(pr, "master");
        if (!neighbor(s, nh, pns, pif, master)) return;
        hop(s, "veth", r.dev, r.dev + " -> " + pns + " " + pif, master.empty() ? "in on " + pif : "into bridge " + master);
        if (pns != s.ns) s.p.mark = 0;   // crossing namespaces scrubs the mark
        s.ns = pns;
        s.out_dev.clear();
        if (master.empty()) {
            s.iif = pif;
            ingress(std::move(s));
        } else {
            bridge_fwd(std::move(s), master, pif);
        }
        return;
    }
    if (kind == "bridge") {
        if (!neighbor(s, nh, s.ns, r.dev, r.dev)) return;
        bridge_fwd(std::move(s), r.dev, "");
        return;
    }
    if (kind == "loopback" || r.dev == "lo") {
        s.iif = "lo";
        local_in(std::move(s));
        return;
    }
    hop(s, "egress", r.dev, kind.empty() ? "device" : kind, "leaves the node");
    if (s.inner && w_.owners(s.p.dst).empty() && w_.mode() == "snapshot") {
        drop(s, "VTEP_UNOWNED", "no snapshot holds the VTEP address " + s.p.dst.str(),
             "ovnet-fdb apply --prune with the peers' current VTEPs (ovnet-fdb local on each host)");
        return;
    }
    finish(s, "left", "", "the packet leaves the node through " + r.dev);
}

void Walker::bridge_fwd(St s, const std::string& br, const std::string& in_port) {
    if (!budget(s)) return;
    const json* b = nullptr;
    for (auto& x : arr(ns(s.ns), "bridges"))
        if (str(x, "name") == br) b = &x;
    std::string m = s.dst_mac.str();
    if (!b) {
        drop(s, "FDB_MISS", "bridge " + br + " is not in " + s.ns + "'s state", "");
        return;
    }
    if (str(*b, "mac") == m) {
        hop(s, "bridge", br, m + " = the bridge's own address", "up to " + s.ns);
        s.iif = br;
        ingress(std::move(s));
        return;
    }
    for (auto& p : arr(*b, "ports")) {
        static const json none;
        const json& pr = p.contains("peer") ? p["peer"] : none;
        if (str(p, "name") == in_port || !pr.is_object()) continue;
        std::string pns = str(pr, "netns").empty() ? s.ns : str(pr, "netns");
        const json* l = link(pns, str(pr, "ifname"));
        if (!l || str(*l, "mac") != m) continue;
        uint32_t mtu = uint32_t(num(p, "mtu"));
        hop(s, "bridge", br, m + " -> port " + str(p, "name") + " (" + pns + " " + str(pr, "ifname") + ")", "out " + str(p, "name"));
        if (mtu && s.p.size > mtu) {
            drop(s, "MTU_EXCEEDED", std::to_string(s.p.size) + " bytes exceed the MTU " + std::to_string(mtu) + " of bridge port " +
                 str(p, "name") + " (the bridge drops it)", "give every device of the overlay the same MTU");
            return;
        }
        if (pns != s.ns) s.p.mark = 0;
        s.ns = pns;
        s.iif = str(pr, "ifname");
        s.out_dev.clear();
        ingress(std::move(s));
        return;
    }
    for (auto& v : arr(ns(s.ns), "vteps")) {
        if (str(v, "master") != br || str(v, "name") == in_port) continue;
        const json* rows = w_.peer_rows(s.ns, str(v, "name"), s.dst_ip, s.dst_mac);
        const json* hit = nullptr;
        if (rows && rows->is_array())
            for (auto& row : *rows)
                if (str(row, "mac") == m) hit = &row;
        if (hit && !str(*hit, "fdb_state").empty() && !str(*hit, "vtep").empty()) {
            uint32_t mtu = uint32_t(num(v, "mtu"));
            hop(s, "bridge", br, m + " -> port " + str(v, "name") + " dst " + str(*hit, "vtep") + " (" + str(*hit, "fdb_state") + ")",
                "out " + str(v, "name"));
            if (mtu && s.p.size > mtu) {
                drop(s, "MTU_EXCEEDED", std::to_string(s.p.size) + " bytes exceed the MTU " + std::to_string(mtu) + " of the VTEP " +
                     str(v, "name") + " (the bridge drops it)", "give the sandboxes' interfaces the overlay's MTU (" +
                     std::to_string(mtu) + ")");
                return;
            }
            encap(std::move(s), v, *hit);
            return;
        }
        if (hit) {
            drop(s, "FDB_HALF_ENTRY", str(v, "name") + " in " + s.ns + " has a neighbor for " + str(*hit, "ip") + " (" + m +
                 ") but no fdb entry: the frame has no VTEP to go to (moby #52661)",
                 "ovnet-fdb -n " + s.ns + " add -d " + str(v, "name") + " --ip " + str(*hit, "ip") + " --mac " + m + " --vtep <its host>");
            return;
        }
        drop(s, "FDB_MISS", "no port of " + br + " in " + s.ns + " has " + m + ", and " + str(v, "name") + " has no fdb entry for it",
             "ovnet-fdb -n " + s.ns + " apply -d " + str(v, "name") + " with the peer's row (ovnet-fdb -n <its host> local)");
        return;
    }
    drop(s, "FDB_MISS", "no port of " + br + " in " + s.ns + " has " + m + " (flooded, nobody takes it)", "");
}

void Walker::encap(St s, const json& v, const json& row) {
    std::string sock_ns = str(v, "link_netns").empty() ? s.ns : str(v, "link_netns");
    TracePacket o;
    o.proto = "udp";
    o.src = ip_of(str(v, "local"));
    o.dst = ip_of(str(row, "vtep"));
    o.dport = uint16_t(num(v, "port", 4789));
    o.size = s.p.size + 50;
    std::string df = str(v, "df");
    o.df = df == "set" || (df == "inherit" && s.p.df);
    o.vni = uint32_t(num(v, "vni"));
    o.mark = sock_ns == s.ns ? s.p.mark : 0;
    s.inner = s.p;
    s.inner_mac = s.dst_mac;
    s.inner_ip = s.dst_ip;
    s.p = o;
    s.ipsec = false;   // a new (outer) packet: no SA has taken it yet
    std::string eff = "VXLAN VNI " + std::to_string(o.vni) + " " + (o.src.valid() ? o.src.str() : std::string("(route's source)")) +
                      " -> " + o.dst.str() + " udp/" + std::to_string(o.dport) + ", " + std::to_string(o.size) + " bytes";
    hop(s, "encap", str(v, "name"), "fdb " + str(row, "mac") + " dst " + str(row, "vtep"), eff);
    s.ns = sock_ns;
    local_out(std::move(s));
}

bool Walker::decap(St& s) {
    auto take = [&](const std::string& label, const json& v) {
        if (uint32_t(num(v, "vni")) != s.p.vni || uint16_t(num(v, "port", 4789)) != s.p.dport) return false;
        IpAddr loc = ip_of(str(v, "local"));
        if (loc.valid() && loc != s.p.dst) return false;
        hop(s, "decap", str(v, "name"), "VNI " + std::to_string(s.p.vni) + " udp/" + std::to_string(s.p.dport),
            "into " + label + " " + str(v, "name"));
        St c = s;
        c.p = *s.inner;
        c.p.mark = 0;
        c.ipsec = false;
        c.inner.reset();
        c.dst_mac = s.inner_mac;
        c.dst_ip = s.inner_ip;
        c.ns = label;
        c.out_dev.clear();
        std::string master = str(v, "master");
        if (master.empty()) {
            c.iif = str(v, "name");
            ingress(std::move(c));
        } else {
            bridge_fwd(std::move(c), master, str(v, "name"));
        }
        return true;
    };
    for (auto& v : arr(ns(s.ns), "vteps"))
        if (str(v, "link_netns").empty() && take(s.ns, v)) return true;
    for (auto& label : w_.vxlan_holders(s.ns))
        for (auto& v : arr(ns(label), "vteps"))
            if (str(v, "link_netns") == s.ns && take(label, v)) return true;
    hop(s, "socket", "udp " + s.p.dst.str() + ":" + std::to_string(s.p.dport), "no VXLAN device", "VNI " + std::to_string(s.p.vni) + " unknown");
    drop(s, "NO_LISTENER", "no VXLAN device for VNI " + std::to_string(s.p.vni) + " on udp/" + std::to_string(s.p.dport) + " in " + s.ns,
         "ovnet-vtep -n " + s.ns + " add ... --vni " + std::to_string(s.p.vni));
    return true;
}

}  // namespace

// ---- the packet ----

TracePacket TracePacket::parse(const std::string& proto, const std::string& dst) {
    TracePacket p;
    if (proto != "tcp" && proto != "udp" && proto != "icmp")
        throw Error(ErrorKind::Input, "packet: protocol \"" + proto + "\": must be tcp, udp or icmp");
    p.proto = proto;
    std::string a = dst;
    std::string port;
    auto c = dst.rfind(':');
    if (c != std::string::npos && dst.find(':') == c) {
        a = dst.substr(0, c);
        port = dst.substr(c + 1);
    }
    if (!IpAddr::try_parse(a, p.dst))
        throw Error(ErrorKind::Input, "packet: destination \"" + dst + "\": not an address (ADDR or ADDR:PORT)");
    if (p.dst.family != AF_INET) throw Error(ErrorKind::Input, "packet: destination \"" + dst + "\": IPv6 is not traced yet");
    if (proto == "icmp" && !port.empty())
        throw Error(ErrorKind::Input, "packet: destination \"" + dst + "\": icmp has no ports");
    if (proto != "icmp") {
        if (port.empty()) throw Error(ErrorKind::Input, "packet: destination \"" + dst + "\": " + proto + " needs ADDR:PORT");
        if (port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos || std::stoul(port) < 1 ||
            std::stoul(port) > 65535)
            throw Error(ErrorKind::Input, "packet: port \"" + port + "\": must be 1..65535");
        p.dport = uint16_t(std::stoul(port));
        p.sport = 40000;
    }
    p.size = proto == "tcp" ? 60 : proto == "udp" ? 28 : 84;
    return p;
}

json TracePacket::to_json() const {
    json j = json::object();
    j["proto"] = proto;
    j["src"] = src.valid() ? json(src.str()) : json();
    j["dst"] = dst.valid() ? json(dst.str()) : json();
    j["sport"] = proto == "icmp" ? json() : json(sport);
    j["dport"] = proto == "icmp" ? json() : json(dport);
    j["mark"] = mark;
    j["mark_hex"] = hex(mark);
    j["size"] = size;
    j["df"] = df;
    j["vni"] = vni ? json(vni) : json();
    return j;
}

json TraceStart::to_json() const {
    return json{{"kind", kind}, {"netns", netns}, {"iif", iif.empty() ? json() : json(iif)}};
}

json TraceHop::to_json() const {
    json j = json::object();
    j["netns"] = netns;
    j["stage"] = stage;
    j["object"] = object;
    j["entry"] = entry;
    j["effect"] = effect;
    j["packets"] = packets ? json(*packets) : json();
    j["bytes"] = bytes ? json(*bytes) : json();
    j["packet"] = packet.to_json();
    return j;
}

json TracePath::to_json() const {
    json j = json::object();
    j["assumptions"] = assumptions;
    j["outcome"] = outcome;
    j["code"] = code.empty() ? json() : json(code);
    j["reason"] = reason.empty() ? json() : json(reason);
    j["fix"] = fix.empty() ? json() : json(fix);
    json h = json::array();
    for (auto& x : hops) h.push_back(x.to_json());
    j["hops"] = std::move(h);
    return j;
}

bool TraceResult::delivered() const {
    for (auto& p : paths)
        if (p.outcome == "dropped") return false;
    return !paths.empty();
}

json TraceResult::to_json() const {
    json j = json::object();
    j["schema"] = kTraceSchema;
    j["mode"] = mode;
    j["start"] = start.to_json();
    j["packet"] = packet.to_json();
    const TracePath* first_drop = nullptr;
    for (auto& p : paths)
        if (p.outcome == "dropped" && !first_drop) first_drop = &p;
    bool all_left = !paths.empty();
    for (auto& p : paths) all_left &= p.outcome == "left";
    j["outcome"] = first_drop ? "dropped" : all_left ? "left" : "delivered";
    j["code"] = first_drop ? json(first_drop->code) : json();
    j["reason"] = first_drop ? json(first_drop->reason) : json();
    j["fix"] = first_drop && !first_drop->fix.empty() ? json(first_drop->fix) : json();
    json ps = json::array();
    for (auto& p : paths) ps.push_back(p.to_json());
    j["paths"] = std::move(ps);
    return j;
}

std::string TraceResult::minimal() const {
    std::string out;
    for (size_t i = 0; i < paths.size(); i++) {
        auto& p = paths[i];
        if (paths.size() > 1) out += "path " + std::to_string(i + 1) + "\n";
        for (auto& a : p.assumptions) out += "  assume " + a + "\n";
        for (auto& h : p.hops) {
            if (h.stage == "netfilter" && h.effect == "ACCEPT" && h.entry.rfind("policy ", 0) == 0) continue;
            if (h.stage == "route") {
                // the kernel's answer and the snapshot's match print the same
                out += h.netns + " route " + h.effect + "\n";
                continue;
            }
            out += h.netns + " " + h.stage + " " + h.object + ": " + h.entry + " => " + h.effect + "\n";
        }
        out += p.outcome + (p.code.empty() ? std::string() : " " + p.code) + "\n";
    }
    return out;
}

std::string TraceResult::dot() const {
    auto q = [](const std::string& s) {
        std::string o = "\"";
        for (char c : s) {
            if (c == '\x01') {   // a line break of the label
                o += "\\n";
                continue;
            }
            if (c == '"' || c == '\\') o += '\\';
            o += c;
        }
        return o + "\"";
    };
    std::string out = "digraph journey {\n  rankdir=LR;\n  node [shape=box, fontsize=10];\n  edge [fontsize=9];\n";
    std::map<std::string, std::vector<std::string>> clusters;
    std::string edges;
    for (size_t pi = 0; pi < paths.size(); pi++) {
        auto& p = paths[pi];
        std::string prev = "start";
        for (size_t i = 0; i < p.hops.size(); i++) {
            auto& h = p.hops[i];
            if (h.stage == "netfilter" && h.entry.rfind("policy ACCEPT", 0) == 0) continue;
            std::string id = "p" + std::to_string(pi) + "h" + std::to_string(i);
            clusters[h.netns].push_back("    " + id + " [label=" + q(h.stage + "\x01" + h.object) + "];\n");
            edges += "  " + prev + " -> " + id + " [label=" + q(h.effect) + "];\n";
            prev = id;
        }
        std::string end = "p" + std::to_string(pi) + "end";
        out += "  " + end + " [shape=oval, label=" + q(p.outcome + (p.code.empty() ? "" : " " + p.code)) + "];\n";
        edges += "  " + prev + " -> " + end + ";\n";
    }
    out += "  start [shape=oval, label=" + q(start.kind + " " + start.netns + ": " + packet.proto + " " + packet.dst.str() +
                                          (packet.dport ? ":" + std::to_string(packet.dport) : "")) + "];\n";
    int n = 0;
    for (auto& [ns, nodes] : clusters) {
        out += "  subgraph cluster_" + std::to_string(n++) + " {\n    label=" + q(ns) + ";\n";
        for (auto& x : nodes) out += x;
        out += "  }\n";
    }
    return out + edges + "}\n";
}

// ---- snapshots ----

SnapshotWorld::SnapshotWorld(std::vector<json> docs) : merged_(json::object()) {
    for (size_t i = 0; i < docs.size(); i++) {
        auto& d = docs[i];
        std::string host = str(d, "host");
        for (auto& [label, n] : d["netns"].items()) {
            std::string l = merged_.contains(label) ? host + ":" + label : label;
            merged_[l] = std::move(n);
        }
    }
}

namespace {

// The SAX handler of trace_snapshot_read: nlohmann's DOM, less what the walk never reads, and
// each VTEP's peer rows as compact text (10,000 rows as DOM objects are most of a big snapshot).
class TraceSnapSax : public nlohmann::json_sax<json> {
public:
    json root;
    bool done = false;

    bool null() override { return scalar(nullptr, [&] { text_ += "null"; }); }
    bool boolean(bool b) override { return scalar(b, [&] { text_ += b ? "true" : "false"; }); }
    bool number_integer(number_integer_t v) override { return scalar(v, [&] { text_ += std::to_string(v); }); }
    bool number_unsigned(number_unsigned_t v) override { return scalar(v, [&] { text_ += std::to_string(v); }); }
    bool number_float(number_float_t v, const string_t& t) override { return scalar(v, [&] { text_ += t; }); }
    bool string(string_t& v) override { return scalar(std::move(v), [&] { json_append(text_, v); }); }
    bool binary(binary_t&) override { return false; }
    bool key(string_t& k) override {
        if (skip_) return true;
        if (!first_.empty()) {
            sep();
            json_append(text_, k);
            text_ += ':';
            after_key_ = true;
            return true;
        }
        key_ = std::move(k);
        return true;
    }
    bool start_object(std::size_t) override { return open(json::value_t::object, '{'); }
    bool start_array(std::size_t) override { return open(json::value_t::array, '['); }
    bool end_object() override { return close('}'); }
    bool end_array() override { return close(']'); }
    bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) override { return false; }

private:
    std::vector<json*> stack_;
    std::vector<std::string> keys_;   // the key of each open container ("" in an array)
    std::string key_;
    int skip_ = 0;                    // > 0: inside a left-out container
    std::string text_;                // the peer row being written
    std::vector<bool> first_;         // per open container of the row: nothing written yet
    bool after_key_ = false;

    enum class Kind { Keep, Hollow, Row };
    // What becomes of a value starting here (its container holds stack_.size() levels).
    Kind kind(bool object) const {
        size_t d = stack_.size();
        if (d == 1 && key_ == "networks") return Kind::Hollow;
        if (d < 3 || keys_[1] != "netns") return Kind::Keep;
        if (d == 3 && (key_ == "interfaces" || key_ == "lb_services" || key_ == "published")) return Kind::Hollow;
        if (d == 4 && keys_[3] == "netfilter" && key_ == "text") return Kind::Hollow;
        if (d == 5 && object && keys_[3] == "peers" && stack_[4]->is_array()) return Kind::Row;
        return Kind::Keep;
    }
    json* place(json&& v) {
        if (stack_.empty()) {
            root = std::move(v);
            return &root;
        }
        json& top = *stack_.back();
        if (top.is_array()) {
            top.push_back(std::move(v));
            return &top.back();
        }
        json& slot = top[key_];
        slot = std::move(v);
        return &slot;
    }
    void sep() {
        if (after_key_) {
            after_key_ = false;
            return;
        }
        if (!first_.back()) text_ += ',';
        first_.back() = false;
    }
    template <class V, class W> bool scalar(V&& v, W write) {
        if (skip_) return true;
        if (!first_.empty()) {
            sep();
            write();
            return true;
        }
        place(json(std::forward<V>(v)));
        if (stack_.empty()) done = true;
        return true;
    }
    bool open(json::value_t t, char c) {
        if (skip_) {
            skip_++;
            return true;
        }
        if (!first_.empty()) {
            sep();
            text_ += c;
            first_.push_back(true);
            return true;
        }
        Kind k = kind(t == json::value_t::object);
        if (k == Kind::Row) {
            text_.assign(1, c);
            first_.push_back(true);
            return true;
        }
        json* slot = place(json(t));
        if (k == Kind::Hollow) {
            skip_ = 1;
            return true;
        }
        keys_.push_back(stack_.empty() || stack_.back()->is_array() ? std::string() : key_);
        stack_.push_back(slot);
        return true;
    }
    bool close(char c) {
        if (skip_) {
            skip_--;
            return true;
        }
        if (!first_.empty()) {
            text_ += c;
            first_.pop_back();
            if (first_.empty()) stack_.back()->push_back(json(std::move(text_)));
            return true;
        }
        if (stack_.empty()) return false;
        stack_.pop_back();
        keys_.pop_back();
        if (stack_.empty()) done = true;
        return true;
    }
};

}  // namespace

json trace_snapshot_read(std::string_view text) {
    TraceSnapSax h;
    if (json_sax_fast(text, h) && h.done) return std::move(h.root);
    return json::parse(text);
}

const json* TraceWorld::peer_rows(const std::string& label, const std::string& dev, const IpAddr&, const Mac&) {
    const json* n = netns(label);
    if (!n) return nullptr;
    auto p = n->find("peers");
    if (p == n->end() || !p->is_object()) return nullptr;
    auto r = p->find(dev);
    return r == p->end() ? nullptr : &*r;
}

const json* SnapshotWorld::peer_rows(const std::string& label, const std::string& dev, const IpAddr& ip, const Mac& mac) {
    const json* rows = TraceWorld::peer_rows(label, dev, ip, mac);
    if (!rows || !rows->is_array() || rows->empty() || !rows->front().is_string()) return rows;
    // Rows kept as text (trace_snapshot_read): only those naming ip or mac are parsed.
    std::string kip = ip.valid() ? "\"ip\":\"" + ip.str() + "\"" : std::string();
    std::string kmac = mac.is_zero() ? std::string() : "\"mac\":\"" + mac.str() + "\"";
    std::string key = label + "|" + dev + "|" + kip + "|" + kmac;
    auto it = peers_.find(key);
    if (it != peers_.end()) return &it->second;
    json out = json::array();
    for (auto& r : *rows) {
        if (!r.is_string()) continue;
        const std::string& t = r.get_ref<const std::string&>();
        if ((kip.empty() || t.find(kip) == std::string::npos) && (kmac.empty() || t.find(kmac) == std::string::npos)) continue;
        json row = json::parse(t);
        if ((ip.valid() && ip_of(str(row, "ip")) == ip) || (!mac.is_zero() && str(row, "mac") == mac.str())) out.push_back(std::move(row));
    }
    return &(peers_[key] = std::move(out));
}

const json* SnapshotWorld::netns(const std::string& label) {
    auto it = merged_.find(label);
    return it == merged_.end() ? nullptr : &*it;
}

std::vector<std::string> SnapshotWorld::owners(const IpAddr& a) {
    std::vector<std::string> out;
    for (auto& [label, n] : merged_.items())
        for (auto& ad : arr(n, "addresses")) {
            Prefix p;
            if (parse_net(str(ad, "address"), p) && p.addr == a) {
                out.push_back(label);
                break;
            }
        }
    return out;
}

std::vector<std::string> SnapshotWorld::vxlan_holders(const std::string& label) {
    std::vector<std::string> out;
    for (auto& [l, n] : merged_.items())
        for (auto& v : arr(n, "vteps"))
            if (str(v, "link_netns") == label) {
                out.push_back(l);
                break;
            }
    return out;
}

std::string SnapshotWorld::find_sandbox(const std::string& name) {
    if (merged_.contains(name)) return name;
    for (auto& [l, n] : merged_.items())
        if (str(n, "container") == name || str(n, "name") == name) return l;
    return {};
}

// ---- the walk ----

TraceResult trace_packet(TraceWorld& w, const TraceStart& start, const TracePacket& pkt, const TraceOptions& opt) {
    TraceResult res;
    res.mode = w.mode();
    res.start = start;
    res.packet = pkt;
    if (pkt.dst.family != AF_INET) throw Error(ErrorKind::Input, "packet: destination: IPv6 is not traced yet");
    St s;
    s.p = pkt;
    if (start.kind == "client") {
        auto own = w.owners(pkt.dst);
        if (own.empty())
            throw Error(ErrorKind::Input, "client: destination " + pkt.dst.str() + ": no namespace holds it (give a node's underlay address)");
        s.ns = own.front();
        const json* n = w.netns(s.ns);
        for (auto& ad : arr(*n, "addresses")) {
            Prefix p;
            if (parse_net(str(ad, "address"), p) && p.addr == pkt.dst) s.iif = str(ad, "ifname");
        }
        if (!start.iif.empty()) s.iif = start.iif;
        if (!s.p.src.valid()) s.p.src = ip_of("198.51.100.10");
        res.start.netns = s.ns;
        res.start.iif = s.iif;
        Walker wk(w, opt);
        wk.ingress(std::move(s));
        res.paths = std::move(wk.done);
        return res;
    }
    std::string label = w.find_sandbox(start.netns);
    if (label.empty()) throw Error(ErrorKind::Input, "--from \"" + start.netns + "\": no such sandbox or namespace");
    s.ns = label;
    res.start.netns = label;
    Walker wk(w, opt);
    if (start.kind == "netns") {
        bool found = false;
        for (auto& l : arr(*w.netns(label), "links")) found |= str(l, "name") == start.iif;
        if (!found) throw Error(ErrorKind::Input, "--iif \"" + start.iif + "\": no such interface in " + label);
        if (!s.p.src.valid()) throw Error(ErrorKind::Input, "--iif " + start.iif + ": a packet arriving from outside needs --src");
        s.iif = start.iif;
        wk.ingress(std::move(s));
    } else {
        wk.local_out(std::move(s));
    }
    res.paths = std::move(wk.done);
    return res;
}

}  // namespace ovnet
