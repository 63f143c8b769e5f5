#include "ovnet/lb.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <fmt/format.h>
#include <regex>
#include <thread>

#include "ovnet/addr.hpp"
#include "ovnet/error.hpp"
#include "ovnet/link.hpp"
#include "ovnet/netlink.hpp"
#include "ovnet/netns.hpp"

namespace ovnet {

namespace {

bool contains(const Prefix& net, const IpAddr& a) {
    if (!a.valid() || a.family != net.addr.family) return false;
    return Prefix{a, net.len}.network().addr == net.network().addr;
}

std::string hex(uint32_t m) { return fmt::format("0x{:x}", m); }

#ifndef SO_NETNS_COOKIE
#define SO_NETNS_COOKIE 71
#endif

using Sysctls = std::vector<std::pair<std::string, std::string>>;

/// The sysctls Docker sets in a load-balancer namespace (and ovnet in the ingress sandbox).
Sysctls lb_sysctl_list() {
    return {{"net.ipv4.vs.conntrack", "1"},
            {"net.ipv4.vs.conn_reuse_mode", "0"},
            {"net.ipv4.vs.expire_nodest_conn", "1"},
            {"net.ipv4.vs.expire_quiescent_template", "1"},
            {"net.ipv4.ip_forward", "1"}};
}

// ---- the sysctl values ovnet overwrote, per namespace (see lb.hpp)

struct FdCloser {
    int fd = -1;
    ~FdCloser() {
        if (fd >= 0) ::close(fd);
    }
};

void mkdir_p(const std::string& dir) {
    for (size_t i = 1; i <= dir.size(); i++) {
        if (i < dir.size() && dir[i] != '/') continue;
        std::string d = dir.substr(0, i);
        if (::mkdir(d.c_str(), 0755) < 0 && errno != EEXIST) throw_sys(errno, "mkdir " + d);
    }
}

class SysctlState {
public:
    explicit SysctlState(const std::string& netns_path) {
        std::string p = netns_path.empty() ? "/proc/self/ns/net" : netns_path;
        struct stat st {};
        if (::stat(p.c_str(), &st) < 0) throw_sys(errno, "stat " + p);
        dev_ = uint64_t(st.st_dev);
        ino_ = uint64_t(st.st_ino);
        {
            NetnsGuard g(netns_path);
            FdCloser s{::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)};
            uint64_t c = 0;
            socklen_t len = sizeof c;
            if (s.fd >= 0 && ::getsockopt(s.fd, SOL_SOCKET, SO_NETNS_COOKIE, &c, &len) == 0) cookie_ = c;
        }
        dir_ = lb_state_dir();
        file_ = fmt::format("{}/sysctl-{}-{}.json", dir_, dev_, ino_);
    }
    bool exists() const { return ::access(file_.c_str(), F_OK) == 0; }
    /// Exclusive lock on the state directory for a read-modify-write (released with the object).
    void lock() {
        mkdir_p(dir_);
        lock_.fd = ::open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (lock_.fd < 0) throw_sys(errno, "open " + dir_);
        while (::flock(lock_.fd, LOCK_EX) < 0)
            if (errno != EINTR) throw_sys(errno, "flock " + dir_);
    }
    /// The saved values ({key: {original, ovnet}}); empty when there is no file, or when it belongs
    /// to an earlier namespace that had the same inode (another cookie; without cookies: when
    /// ovnet has nothing in the namespace, `in_use` false).
    json load(bool in_use) const {
        FILE* f = std::fopen(file_.c_str(), "re");
        if (!f) return json::object();
        std::string text;
        char buf[4096];
        size_t n;
        while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) text.append(buf, n);
        std::fclose(f);
        json doc = json::parse(text, nullptr, false);
        if (!doc.is_object() || !doc.contains("saved") || !doc["saved"].is_object()) return json::object();
        uint64_t c = doc.value("cookie", uint64_t(0));
        bool stale = (c && cookie_) ? c != cookie_ : !in_use;
        return stale ? json::object() : doc["saved"];
    }
    /// Writes atomically: a temporary file in the same directory, fsync, rename.
    void store(const std::string& netns, const json& saved) const {
        json doc{{"netns", netns}, {"dev", dev_}, {"ino", ino_}, {"cookie", cookie_}, {"saved", saved}};
        std::string tmp = file_ + ".tmp";
        std::string text = doc.dump(2) + "\n";
        FdCloser fd{::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)};
        if (fd.fd < 0) throw_sys(errno, "create " + tmp);
        if (::write(fd.fd, text.data(), text.size()) != ssize_t(text.size()) || ::fsync(fd.fd) < 0) {
            int e = errno;
            ::unlink(tmp.c_str());
            throw_sys(e, "write " + tmp);
        }
        if (::rename(tmp.c_str(), file_.c_str()) < 0) {
            int e = errno;
            ::unlink(tmp.c_str());
            throw_sys(e, "rename " + tmp);
        }
    }
    void remove() const {
        if (::unlink(file_.c_str()) < 0 && errno != ENOENT) throw_sys(errno, "remove " + file_);
    }

private:
    uint64_t dev_ = 0, ino_ = 0, cookie_ = 0;
    std::string dir_, file_;
    FdCloser lock_;
};

/// Sets `want` in the namespace, first saving the values it replaces (never overwriting a value
/// saved before: a second add keeps the original). `in_use`: ovnet had something in the namespace
/// before this add.
void sysctls_apply(const std::string& path, const std::string& netns, const Sysctls& want, bool in_use, Changes& ch,
                   const std::string& where) {
    Sysctls differ;   // key, current value
    for (auto& [k, v] : want)
        if (auto cur = sysctl_get(path, k); cur != v) differ.push_back({k, cur});
    if (differ.empty()) return;
    SysctlState state(path);
    state.lock();
    json saved = state.load(in_use);
    bool dirty = false;
    for (auto& [k, cur] : differ) {
        if (saved.contains(k)) continue;
        for (auto& [wk, wv] : want)
            if (wk == k) saved[k] = json{{"original", cur}, {"ovnet", wv}};
        dirty = true;
    }
    if (dirty) state.store(netns, saved);
    for (auto& [k, v] : want)
        if (sysctl_set(path, k, v)) ch.push_back(Change{Action::Changed, fmt::format("sysctl {}={}{}", k, v, where), "set"});
}

/// When ovnet has nothing left in the namespace (`in_use` false): gives every saved sysctl that
/// still has ovnet's value its original back, and forgets the saved values.
void sysctls_release(const std::string& path, bool in_use, Changes& ch, const std::string& where) {
    if (in_use) return;
    SysctlState state(path);
    if (!state.exists()) return;
    state.lock();
    json saved = state.load(false);
    for (auto& [k, e] : saved.items()) {
        if (!e.is_object() || !e.contains("original") || !e.contains("ovnet")) continue;
        std::string orig = e["original"].get<std::string>(), mine = e["ovnet"].get<std::string>(), cur;
        try {
            cur = sysctl_get(path, k);
        } catch (const Error&) {
            continue;   // gone with its interface (route_localnet of a deleted bridge)
        }
        if (cur != mine || cur == orig) continue;   // someone else changed it since: theirs now
        sysctl_set(path, k, orig);
        ch.push_back(Change::with_detail(Action::Changed, fmt::format("sysctl {}={}{}", k, orig, where), json{{"was", cur}}, "restored"));
    }
    state.remove();
}

void check_backends(const std::string& obj, const std::vector<IpAddr>& backends) {
    if (backends.empty()) throw_input(obj, "backends", "", "at least one --backend is required");
    std::vector<IpAddr> seen;
    for (auto& b : backends) {
        if (b.family != AF_INET) throw_input(obj, "backend", b.str(), "backends are IPv4 addresses");
        if (!is_unicast_host(b)) throw_input(obj, "backend", b.str(), "not a unicast host address");
        if (std::find(seen.begin(), seen.end(), b) != seen.end())
            throw_input(obj, "backend", b.str(), "appears twice");
        seen.push_back(b);
    }
}

void check_mark(const std::string& obj, uint32_t m) {
    (void)obj;
    (void)m;  // 0 means "allocate"; every other 32-bit value is a valid IPVS firewall mark
}

json dests_json(const std::vector<IpvsDest>& ds) {
    json a = json::array();
    for (auto& d : ds)
        a.push_back({{"ip", d.addr.str()}, {"port", d.port}, {"fwd", ipvs_fwd_name(d.fwd)}, {"weight", d.weight},
                     {"active", d.active}, {"inactive", d.inactive}});
    return a;
}

std::vector<IpAddr> dest_addrs(const std::vector<IpvsDest>& ds) {
    std::vector<IpAddr> v;
    for (auto& d : ds) v.push_back(d.addr);
    return v;
}

std::optional<IpvsService> find_fwm(const std::vector<IpvsService>& l, uint32_t mark) {
    for (auto& s : l)
        if (s.protocol == "fwm" && s.fwmark == mark && s.af == AF_INET) return s;
    return std::nullopt;
}

std::set<uint32_t> ipvs_marks(const std::vector<IpvsService>& l) {
    std::set<uint32_t> m;
    for (auto& s : l)
        if (s.protocol == "fwm") m.insert(s.fwmark);
    return m;
}

/// The namespace address `want` (if valid) or the one whose network contains `probe`.
std::optional<Addr> find_addr(const std::vector<Addr>& addrs, const IpAddr& want, const IpAddr& probe,
                              const std::optional<Prefix>& subnet, const IpAddr& exclude) {
    for (auto& a : addrs) {
        if (a.prefix.addr.family != AF_INET || a.prefix.addr == exclude) continue;
        if (want.valid()) {
            if (a.prefix.addr == want) return a;
            continue;
        }
        if (subnet ? contains(*subnet, a.prefix.addr) : (a.prefix.len < 32 && contains(a.prefix.network(), probe)))
            return a;
    }
    return std::nullopt;
}

std::string ifname_of(Handle& h, int ifindex) {
    auto l = link_get(h, ifindex);
    return l ? l->name : std::to_string(ifindex);
}

/// Runs the IPVS part: converge service `mark` to `backends`, draining removed ones first.
void ipvs_converge(IpvsHandle& ih, uint32_t mark, const std::string& sched, const std::vector<IpAddr>& backends,
                   unsigned drain, Changes& ch) {
    auto cur = find_fwm(ipvs_list(ih), mark);
    std::vector<IpAddr> draining;
    if (cur && drain)
        for (auto& d : cur->dests)
            if (std::find(backends.begin(), backends.end(), d.addr) == backends.end()) draining.push_back(d.addr);
    if (!draining.empty()) {
        auto c1 = ipvs_apply(ih, {lb_ipvs_service(mark, sched, backends, draining)}, false);
        for (auto& c : c1) if (c.action != Action::Unchanged) ch.push_back(c);
        std::string who;
        for (auto& d : draining) who += (who.empty() ? "" : " ") + d.str();
        ch.push_back(Change{Action::Changed, fmt::format("fwm {}: {} (weight 0 for {} s)", mark, who, drain), "draining"});
        std::this_thread::sleep_for(std::chrono::seconds(drain));
    }
    auto c2 = ipvs_apply(ih, {lb_ipvs_service(mark, sched, backends)}, false);
    for (auto& c : c2) ch.push_back(c);
}

void merge(Changes& into, const Changes& from) {
    for (auto& c : from) into.push_back(c);
}

/// Keeps "unchanged" entries only when nothing at all changed (then one per object is enough).
Changes tidy(const Changes& ch, const std::string& object) {
    Changes out;
    for (auto& c : ch)
        if (c.action != Action::Unchanged) out.push_back(c);
    if (out.empty()) out.push_back(Change{Action::Unchanged, object});
    return out;
}

}  // namespace

// ---------------------------------------------------------------- pure pieces

bool lb_scheduler_known(const std::string& s) {
    auto& l = ipvs_schedulers();
    return std::find(l.begin(), l.end(), s) != l.end();
}

uint32_t lb_parse_fwmark(const std::string& object, const std::string& s) {
    bool hexa = s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X');
    std::string digits = hexa ? s.substr(2) : s;
    bool ok = !digits.empty() && digits.size() <= 12;
    for (char c : digits) ok &= hexa ? std::isxdigit((unsigned char)c) != 0 : std::isdigit((unsigned char)c) != 0;
    if (!ok) throw_input(object, "fwmark", s, "not a number (decimal, or hex with 0x)");
    unsigned long long v = std::stoull(digits, nullptr, hexa ? 16 : 10);
    if (v == 0 || v > 0xffffffffULL) throw_input(object, "fwmark", s, "must be in 1..4294967295");
    return uint32_t(v);
}

uint32_t lb_alloc_mark(const std::set<uint32_t>& used) {
    uint32_t m = kFirstFwmark;
    while (used.count(m)) {
        if (m == 0xffffffffu) throw_input({}, "fwmark", "", "no free firewall mark");
        m++;
    }
    return m;
}

std::string lb_mark_rule(const IpAddr& vip, uint32_t mark) {
    return fmt::format("-d {}/32 -j MARK --set-xmark {}/0xffffffff", vip.str(), hex(mark));
}
std::string lb_port_mark_rule(const std::string& proto, uint16_t port, uint32_t mark) {
    return fmt::format("-p {0} -m {0} --dport {1} -j MARK --set-xmark {2}/0xffffffff", proto, port, hex(mark));
}
std::string lb_snat_rule(const Prefix& subnet, const IpAddr& lb_ip) {
    return fmt::format("-d {} -m ipvs --ipvs -j SNAT --to-source {}", subnet.network().str(), lb_ip.str());
}
std::string ingress_dnat_rule(const std::string& proto, uint16_t port, const IpAddr& gw_ip) {
    return fmt::format("-p {0} -m {0} --dport {1} -j DNAT --to-destination {2}:{1}", proto, port, gw_ip.str());
}
std::string ingress_masq_rule(const std::string& gw_bridge) {
    return fmt::format("-o {} -m addrtype --src-type LOCAL -j MASQUERADE", gw_bridge);
}
std::vector<std::string> ingress_accept_rules(const std::string& proto, uint16_t port) {
    return {fmt::format("-p {0} -m {0} --dport {1} -j ACCEPT", proto, port),
            fmt::format("-p {0} -m conntrack --ctstate RELATED,ESTABLISHED -m {0} --sport {1} -j ACCEPT", proto, port)};
}

bool lb_namespace_in_use(const IptState& st) {
    for (auto& r : st.table("mangle").chain_rules(kLbMarkChain))
        if (parse_mark_rule(r)) return true;
    for (auto& r : st.table("mangle").chain_rules(kIngressChain))
        if (parse_port_mark_rule(r)) return true;
    for (auto& r : st.table("nat").chain_rules(kIngressChain))
        if (parse_dnat_rule(r)) return true;
    return false;
}

IptState ipt_with_chains(IptState st, const std::vector<IptChain>& chains) {
    for (auto& c : chains) {
        auto& t = st.tables[c.table];
        t.name = c.table;
        if (c.rules.empty()) {
            t.chains.erase(std::remove(t.chains.begin(), t.chains.end(), c.chain), t.chains.end());
            t.rules.erase(c.chain);
        } else {
            if (!t.has_chain(c.chain)) t.chains.push_back(c.chain);
            t.rules[c.chain] = c.rules;
        }
    }
    return st;
}

std::string lb_state_dir() {
    const char* d = std::getenv("OVNET_STATE_DIR");
    std::string s = d && *d ? d : "/run/ovnet";
    while (s.size() > 1 && s.back() == '/') s.pop_back();
    return s;
}

namespace {
std::optional<uint32_t> parse_hex_mark(const std::string& s) {
    try {
        size_t n = 0;
        unsigned long v = std::stoul(s, &n, 16);
        if (n != s.size() || v > 0xffffffffUL) return std::nullopt;
        return uint32_t(v);
    } catch (...) {
        return std::nullopt;
    }
}
}  // namespace

std::optional<MarkRule> parse_mark_rule(const std::string& spec) {
    static const std::regex re(R"(^-d ([0-9.]+)/32 -j MARK --set-xmark 0x([0-9a-f]+)/0xffffffff$)");
    std::smatch m;
    if (!std::regex_match(spec, m, re)) return std::nullopt;
    MarkRule r;
    auto mk = parse_hex_mark(m[2]);
    if (!IpAddr::try_parse(m[1].str(), r.vip) || !mk) return std::nullopt;
    r.mark = *mk;
    return r;
}

std::optional<PortMarkRule> parse_port_mark_rule(const std::string& spec) {
    static const std::regex re(R"(^-p (tcp|udp|sctp) -m (tcp|udp|sctp) --dport ([0-9]+) -j MARK --set-xmark 0x([0-9a-f]+)/0xffffffff$)");
    std::smatch m;
    if (!std::regex_match(spec, m, re) || m[1] != m[2]) return std::nullopt;
    auto mk = parse_hex_mark(m[4]);
    unsigned long port = std::stoul(m[3]);
    if (!mk || port == 0 || port > 65535) return std::nullopt;
    return PortMarkRule{m[1], uint16_t(port), *mk};
}

std::optional<SnatRule> parse_snat_rule(const std::string& spec) {
    static const std::regex re(R"(^-d ([0-9.]+(/[0-9]+)?) -m ipvs --ipvs -j SNAT --to-source ([0-9.]+)$)");
    std::smatch m;
    if (!std::regex_match(spec, m, re)) return std::nullopt;
    SnatRule r;
    std::string net = m[1];
    if (net.find('/') == std::string::npos) net += "/32";
    try {
        r.subnet = Prefix::parse(net);
    } catch (const Error&) {
        return std::nullopt;
    }
    if (!IpAddr::try_parse(m[3].str(), r.lb_ip)) return std::nullopt;
    return r;
}

std::optional<DnatRule> parse_dnat_rule(const std::string& spec) {
    static const std::regex re(R"(^-p (tcp|udp|sctp) -m (tcp|udp|sctp) --dport ([0-9]+) -j DNAT --to-destination ([0-9.]+):([0-9]+)$)");
    std::smatch m;
    if (!std::regex_match(spec, m, re) || m[1] != m[2] || m[3] != m[5]) return std::nullopt;
    DnatRule r;
    r.proto = m[1];
    unsigned long port = std::stoul(m[3]);
    if (port == 0 || port > 65535 || !IpAddr::try_parse(m[4].str(), r.gw_ip)) return std::nullopt;
    r.port = uint16_t(port);
    return r;
}

std::set<uint32_t> lb_used_marks(const IptState& st) {
    std::set<uint32_t> used;
    auto& mg = st.table("mangle");
    for (auto& r : mg.chain_rules(kLbMarkChain))
        if (auto m = parse_mark_rule(r)) used.insert(m->mark);
    for (auto& r : mg.chain_rules(kIngressChain))
        if (auto m = parse_port_mark_rule(r)) used.insert(m->mark);
    return used;
}

namespace {

/// The OVNET-LB-SNAT chain after ensuring/removing the SNAT rule of `subnet`.
IptChain snat_chain(const IptState& cur, const std::optional<SnatRule>& add, const std::optional<Prefix>& drop) {
    IptChain c{"nat", kLbSnatChain, {}, {{"POSTROUTING", std::string("-j ") + kLbSnatChain}}};
    for (auto& r : cur.table("nat").chain_rules(kLbSnatChain)) {
        auto s = parse_snat_rule(r);
        if (s && add && s->subnet.network() == add->subnet.network()) continue;   // replaced below
        if (s && drop && s->subnet.network() == drop->network()) continue;
        c.rules.push_back(r);
    }
    if (add) c.rules.push_back(lb_snat_rule(add->subnet, add->lb_ip));
    return c;
}

/// True when a remaining ovnet rule of the namespace still needs the subnet's SNAT.
bool subnet_in_use(const std::vector<std::string>& mark_rules, const std::vector<std::string>& port_rules,
                   const Prefix& subnet) {
    for (auto& r : mark_rules)
        if (auto m = parse_mark_rule(r); m && contains(subnet, m->vip)) return true;
    for (auto& r : port_rules)
        if (parse_port_mark_rule(r)) return true;   // the ingress ports balance onto their subnet
    return false;
}

}  // namespace

std::vector<IptChain> lb_chains(const IptState& cur, const LbService& s, bool remove) {
    IptChain mark{"mangle", kLbMarkChain, {},
                  {{"INPUT", std::string("-j ") + kLbMarkChain}, {"OUTPUT", std::string("-j ") + kLbMarkChain}}};
    bool placed = false;
    std::string mine = remove ? std::string() : lb_mark_rule(s.vip, s.fwmark);
    for (auto& r : cur.table("mangle").chain_rules(kLbMarkChain)) {
        auto m = parse_mark_rule(r);
        if (m && m->vip == s.vip) {
            if (!remove && !placed) mark.rules.push_back(mine);   // keep the service's place
            placed = true;
            continue;
        }
        mark.rules.push_back(r);
    }
    if (!remove && !placed) mark.rules.push_back(mine);
    std::optional<Prefix> net = s.subnet;
    if (!net)
        for (auto& r : cur.table("nat").chain_rules(kLbSnatChain))
            if (auto sn = parse_snat_rule(r); sn && contains(sn->subnet, s.vip)) net = sn->subnet;
    std::vector<IptChain> out{mark};
    if (!remove) {
        out.push_back(snat_chain(cur, SnatRule{s.subnet->network(), s.lb_ip}, std::nullopt));
    } else if (net && !subnet_in_use(mark.rules, cur.table("mangle").chain_rules(kIngressChain), *net)) {
        out.push_back(snat_chain(cur, std::nullopt, net));
    } else {
        out.push_back(snat_chain(cur, std::nullopt, std::nullopt));
    }
    return out;
}

std::vector<IptChain> publish_sbox_chains(const IptState& cur, const PublishSpec& p, bool remove) {
    IptChain mark{"mangle", kIngressChain, {}, {{"PREROUTING", std::string("-j ") + kIngressChain}}};
    bool placed = false;
    for (auto& r : cur.table("mangle").chain_rules(kIngressChain)) {
        auto m = parse_port_mark_rule(r);
        if (m && m->proto == p.proto && m->port == p.port) {
            if (!remove && !placed) mark.rules.push_back(lb_port_mark_rule(p.proto, p.port, p.fwmark));
            placed = true;
            continue;
        }
        mark.rules.push_back(r);
    }
    if (!remove && !placed) mark.rules.push_back(lb_port_mark_rule(p.proto, p.port, p.fwmark));
    std::vector<IptChain> out{mark};
    if (!remove) {
        out.push_back(snat_chain(cur, SnatRule{p.subnet->network(), p.lb_ip}, std::nullopt));
    } else {
        std::optional<Prefix> net = p.subnet;
        if (!net) {
            auto& sn = cur.table("nat").chain_rules(kLbSnatChain);
            // the ingress subnet: the SNAT rule no VIP of OVNET-LB claims
            for (auto& r : sn) {
                auto s = parse_snat_rule(r);
                if (!s) continue;
                bool vip = false;
                for (auto& mr : cur.table("mangle").chain_rules(kLbMarkChain))
                    if (auto m = parse_mark_rule(mr); m && contains(s->subnet, m->vip)) vip = true;
                if (!vip) net = s->subnet;
            }
        }
        if (net && !subnet_in_use(cur.table("mangle").chain_rules(kLbMarkChain), mark.rules, *net))
            out.push_back(snat_chain(cur, std::nullopt, net));
        else
            out.push_back(snat_chain(cur, std::nullopt, std::nullopt));
    }
    return out;
}

std::vector<IptChain> publish_host_chains(const IptState& cur, const PublishSpec& p, bool remove) {
    std::string hook = std::string("-m addrtype --dst-type LOCAL -j ") + kIngressChain;
    IptChain dnat{"nat", kIngressChain, {}, {{"PREROUTING", hook}, {"OUTPUT", hook}}};
    bool placed = false;
    std::string mine = remove ? std::string() : ingress_dnat_rule(p.proto, p.port, p.gw_ip);
    for (auto& r : cur.table("nat").chain_rules(kIngressChain)) {
        if (r == "-j RETURN") continue;   // re-added last
        auto d = parse_dnat_rule(r);
        if (d && d->proto == p.proto && d->port == p.port) {
            if (!remove && !placed) dnat.rules.push_back(mine);
            placed = true;
            continue;
        }
        dnat.rules.push_back(r);
    }
    if (!remove && !placed) dnat.rules.push_back(mine);
    bool empty = dnat.rules.empty();
    if (!empty) dnat.rules.push_back("-j RETURN");   // as the seed's DOCKER-INGRESS
    IptChain post{"nat", kIngressPostChain, {}, {{"POSTROUTING", std::string("-j ") + kIngressPostChain}}};
    if (!empty) {
        post.rules = cur.table("nat").chain_rules(kIngressPostChain);
        if (!remove && !p.gw_bridge.empty()) {
            auto m = ingress_masq_rule(p.gw_bridge);
            if (std::find(post.rules.begin(), post.rules.end(), m) == post.rules.end()) post.rules.push_back(m);
        }
    }
    // filter: Docker's DOCKER-INGRESS, for hosts whose FORWARD policy is DROP; mirrors the DNATs.
    IptChain accept{"filter", kIngressChain, {}, {{"FORWARD", std::string("-j ") + kIngressChain}}};
    for (auto& r : dnat.rules)
        if (auto d = parse_dnat_rule(r))
            for (auto& a : ingress_accept_rules(d->proto, d->port)) accept.rules.push_back(a);
    if (!accept.rules.empty()) accept.rules.push_back("-j RETURN");
    return {dnat, post, accept};
}

IpvsService lb_ipvs_service(uint32_t mark, const std::string& sched, const std::vector<IpAddr>& backends,
                            const std::vector<IpAddr>& draining) {
    IpvsService s;
    s.af = AF_INET;
    s.protocol = "fwm";
    s.fwmark = mark;
    s.scheduler = sched;
    auto add = [&](const IpAddr& a, uint32_t w) {
        IpvsDest d;
        d.addr = a;
        d.port = 0;
        d.fwd = IpvsFwd::Masq;
        d.weight = w;
        s.dests.push_back(d);
    };
    for (auto& b : backends) add(b, 1);
    for (auto& b : draining) add(b, 0);
    return s;
}

// ---------------------------------------------------------------- objects

void LbService::validate() const {
    std::string obj = "service " + (vip.valid() ? vip.str() : std::string("?"));
    if (vip.family != AF_INET) throw_input(obj, "vip", vip.valid() ? vip.str() : "", "the VIP must be an IPv4 address");
    if (!is_unicast_host(vip)) throw_input(obj, "vip", vip.str(), "not a unicast host address");
    if (!lb_scheduler_known(scheduler)) throw_input(obj, "scheduler", scheduler, "unknown IPVS scheduler");
    check_mark(obj, fwmark);
    check_backends(obj, backends);
    for (auto& b : backends)
        if (b == vip) throw_input(obj, "backend", b.str(), "a backend cannot be the VIP");
    if (subnet) {
        if (subnet->addr.family != AF_INET) throw_input(obj, "subnet", subnet->str(), "the subnet must be IPv4");
        if (subnet->len < 1 || subnet->len > 30) throw_input(obj, "subnet", subnet->str(), "prefix length must be 1..30");
        if (!contains(*subnet, vip)) throw_input(obj, "vip", vip.str(), "not inside subnet " + subnet->network().str());
        for (auto& b : backends)
            if (!contains(*subnet, b)) throw_input(obj, "backend", b.str(), "not inside subnet " + subnet->network().str());
    }
    if (lb_ip.valid()) {
        if (lb_ip.family != AF_INET || !is_unicast_host(lb_ip)) throw_input(obj, "lb_ip", lb_ip.str(), "not a unicast IPv4 address");
        if (lb_ip == vip) throw_input(obj, "lb_ip", lb_ip.str(), "the load balancer's address cannot be the VIP");
        if (subnet && !contains(*subnet, lb_ip)) throw_input(obj, "lb_ip", lb_ip.str(), "not inside subnet " + subnet->network().str());
    }
}

json LbService::to_json() const {
    json j;
    j["netns"] = netns;
    j["vip"] = vip.str();
    j["fwmark"] = fwmark;
    j["fwmark_hex"] = hex(fwmark);
    j["subnet"] = subnet ? json(subnet->network().str()) : json(nullptr);
    j["lb_ip"] = lb_ip.valid() ? json(lb_ip.str()) : json(nullptr);
    j["vip_iface"] = vip_iface.empty() ? json(nullptr) : json(vip_iface);
    j["scheduler"] = scheduler;
    j["backends"] = dests_json(dests);
    j["rules"] = rules;
    return j;
}

void PublishSpec::validate() const {
    std::string obj = fmt::format("port {}/{}", port, proto);
    if (proto != "tcp" && proto != "udp" && proto != "sctp") throw_input(obj, "proto", proto, "must be tcp, udp or sctp");
    if (port == 0) throw_input(obj, "port", "0", "must be in 1..65535");
    validate_netns_name(sbox);
    if (gw_ip.family != AF_INET || !is_unicast_host(gw_ip))
        throw_input(obj, "gw_ip", gw_ip.valid() ? gw_ip.str() : "", "the ingress sandbox's gwbridge address (IPv4) is required");
    if (!gw_bridge.empty()) validate_ifname(gw_bridge, obj, "gw_bridge");
    if (!lb_scheduler_known(scheduler)) throw_input(obj, "scheduler", scheduler, "unknown IPVS scheduler");
    check_mark(obj, fwmark);
    check_backends(obj, backends);
    if (subnet) {
        if (subnet->addr.family != AF_INET || subnet->len < 1 || subnet->len > 30)
            throw_input(obj, "subnet", subnet->str(), "must be an IPv4 network with prefix length 1..30");
        for (auto& b : backends)
            if (!contains(*subnet, b)) throw_input(obj, "backend", b.str(), "not inside subnet " + subnet->network().str());
    }
    if (lb_ip.valid() && (lb_ip.family != AF_INET || !is_unicast_host(lb_ip)))
        throw_input(obj, "lb_ip", lb_ip.str(), "not a unicast IPv4 address");
    if (lb_ip.valid() && subnet && !contains(*subnet, lb_ip))
        throw_input(obj, "lb_ip", lb_ip.str(), "not inside subnet " + subnet->network().str());
}

json PublishSpec::to_json() const {
    json j;
    j["netns"] = netns;
    j["proto"] = proto;
    j["port"] = port;
    j["ingress_sbox"] = sbox;
    j["gw_ip"] = gw_ip.valid() ? json(gw_ip.str()) : json(nullptr);
    j["gw_bridge"] = gw_bridge.empty() ? json(nullptr) : json(gw_bridge);
    j["fwmark"] = fwmark;
    j["fwmark_hex"] = hex(fwmark);
    j["subnet"] = subnet ? json(subnet->network().str()) : json(nullptr);
    j["lb_ip"] = lb_ip.valid() ? json(lb_ip.str()) : json(nullptr);
    j["scheduler"] = scheduler;
    j["backends"] = dests_json(dests);
    j["rules"] = rules;
    return j;
}

// ---------------------------------------------------------------- service plumbing

std::vector<LbService> lb_list(const std::string& netns) {
    Handle h(netns);
    auto st = ipt_read(h.netns_path());
    IpvsHandle ih(netns);
    auto services = ipvs_list(ih);
    auto addrs = addr_list(h);
    std::vector<LbService> out;
    auto& snat = st.table("nat").chain_rules(kLbSnatChain);
    for (auto& r : st.table("mangle").chain_rules(kLbMarkChain)) {
        auto m = parse_mark_rule(r);
        if (!m) continue;
        LbService s;
        s.netns = netns;
        s.vip = m->vip;
        s.fwmark = m->mark;
        s.scheduler = "-";
        s.rules.push_back(std::string("mangle ") + kLbMarkChain + " " + r);
        for (auto& sr : snat)
            if (auto sn = parse_snat_rule(sr); sn && contains(sn->subnet, s.vip)) {
                s.subnet = sn->subnet.network();
                s.lb_ip = sn->lb_ip;
                s.rules.push_back(std::string("nat ") + kLbSnatChain + " " + sr);
            }
        if (auto sv = find_fwm(services, s.fwmark)) {
            s.scheduler = sv->scheduler;
            s.dests = sv->dests;
            s.backends = dest_addrs(sv->dests);
        }
        for (auto& a : addrs)
            if (a.prefix.addr == s.vip && a.prefix.len == 32) s.vip_iface = ifname_of(h, a.ifindex);
        out.push_back(std::move(s));
    }
    return out;
}

namespace {
json lb_doc(const std::string& netns, const IpAddr& vip) {
    for (auto& s : lb_list(netns))
        if (s.vip == vip) return s.to_json();
    return json::object();
}
}  // namespace

LbResult lb_add(const std::string& netns, LbService s, unsigned drain) {
    s.validate();
    std::string obj = "service " + s.vip.str();
    Handle h(netns);
    const std::string& path = h.netns_path();
    // Derive the subnet and the load balancer's address from the namespace's addresses.
    auto addrs = addr_list(h);
    auto a = find_addr(addrs, s.lb_ip, s.vip, s.subnet, s.vip);
    if (!a) {
        if (s.lb_ip.valid())
            throw_input(obj, "lb_ip", s.lb_ip.str(), "not an address of namespace " + (netns.empty() ? "(current)" : netns));
        throw_input(obj, "lb_ip", "", fmt::format("no address of namespace {} on the VIP's network: give --lb-ip",
                                                  netns.empty() ? "(current)" : netns));
    }
    s.lb_ip = a->prefix.addr;
    if (!s.subnet) s.subnet = a->prefix.network();
    s.subnet = s.subnet->network();
    s.validate();   // again, now with subnet and lb_ip
    auto st = ipt_read(path);
    IpvsHandle ih(netns);
    auto services = ipvs_list(ih);
    // The mark: the VIP's current one, the one given, or the lowest free one.
    std::optional<uint32_t> have;
    std::set<uint32_t> used = lb_used_marks(st);
    for (auto m : ipvs_marks(services)) used.insert(m);
    for (auto& r : st.table("mangle").chain_rules(kLbMarkChain))
        if (auto m = parse_mark_rule(r); m && m->vip == s.vip) have = m->mark;
    if (have) {
        if (s.fwmark && s.fwmark != *have)
            throw_input(obj, "fwmark", std::to_string(s.fwmark),
                        fmt::format("the service already has fwmark {} ({}); del it first", *have, hex(*have)));
        s.fwmark = *have;
    } else if (s.fwmark) {
        if (used.count(s.fwmark))
            throw_input(obj, "fwmark", std::to_string(s.fwmark), "already used by another service of the namespace");
    } else {
        s.fwmark = lb_alloc_mark(used);
    }
    auto chains = lb_chains(st, s, false);
    auto plan = ipt_plan(st, chains);   // validates the chains
    // Writes: sysctls, IPVS first (a marked packet needs its service), then the rules, then the VIP.
    LbResult res;
    sysctls_apply(path, netns, lb_sysctl_list(), lb_namespace_in_use(st), res.changes, "");
    ipvs_converge(ih, s.fwmark, s.scheduler, s.backends, drain, res.changes);
    if (!plan.payload.empty()) {
        ipt_restore(path, plan.payload);
        res.restores = 1;
    }
    merge(res.changes, plan.changes);
    if (addr_add(h, a->ifindex, Prefix{s.vip, 32}, obj))
        res.changes.push_back(Change{Action::Added, fmt::format("address {}/32 on {}", s.vip.str(), ifname_of(h, a->ifindex))});
    res.changes = tidy(res.changes, obj);
    res.doc = lb_doc(netns, s.vip);
    return res;
}

namespace {
void check_drain(const std::string& obj, unsigned drain) {
    if (drain > kMaxDrain) throw_input(obj, "drain", std::to_string(drain), fmt::format("must be at most {} seconds", kMaxDrain));
}

/// Graceful removal: every destination of service `mark` gets weight 0, then `drain` seconds pass.
void drain_service(IpvsHandle& ih, uint32_t mark, unsigned drain, Changes& ch, const std::string& where) {
    if (!drain) return;
    auto sv = find_fwm(ipvs_list(ih), mark);
    if (!sv || sv->dests.empty()) return;
    auto zero = ipvs_apply(ih, {lb_ipvs_service(mark, sv->scheduler, {}, dest_addrs(sv->dests))}, false);
    for (auto& c : zero)
        if (c.action != Action::Unchanged) ch.push_back(c);
    std::string who;
    for (auto& d : sv->dests) who += (who.empty() ? "" : " ") + d.addr.str();
    ch.push_back(Change{Action::Changed, fmt::format("fwm {}{}: {} (weight 0 for {} s)", mark, where, who, drain), "draining"});
    std::this_thread::sleep_for(std::chrono::seconds(drain));
}
}  // namespace

LbResult lb_del(const std::string& netns, const IpAddr& vip, unsigned drain) {
    std::string obj = "service " + vip.str();
    if (vip.family != AF_INET) throw_input(obj, "vip", vip.valid() ? vip.str() : "", "the VIP must be an IPv4 address");
    check_drain(obj, drain);
    Handle h(netns);
    const std::string& path = h.netns_path();
    auto st = ipt_read(path);
    std::optional<uint32_t> mark;
    for (auto& r : st.table("mangle").chain_rules(kLbMarkChain))
        if (auto m = parse_mark_rule(r); m && m->vip == vip) mark = m->mark;
    LbResult res;
    if (!mark) {
        // Nothing of the service left; sysctls still saved (an interrupted del) are restored.
        sysctls_release(path, lb_namespace_in_use(st), res.changes, "");
        res.changes.push_back(Change::with_detail(Action::Unchanged, obj, json{{"reason", "no such service"}}));
        res.changes = tidy(res.changes, obj);
        res.doc = json::object();
        return res;
    }
    LbService s;
    s.vip = vip;
    s.fwmark = *mark;
    IpvsHandle ih(netns);
    auto chains = lb_chains(st, s, true);
    auto plan = ipt_plan(st, chains);
    // Writes: with --drain, weight 0 and the wait first; then as without it.
    drain_service(ih, *mark, drain, res.changes, "");
    if (!plan.payload.empty()) {
        ipt_restore(path, plan.payload);
        res.restores = 1;
    }
    merge(res.changes, plan.changes);
    if (find_fwm(ipvs_list(ih), *mark)) merge(res.changes, ipvs_del_service(ih, lb_ipvs_service(*mark, "rr", {})));
    for (auto& a : addr_list(h))
        if (a.prefix.addr == vip && a.prefix.len == 32 && addr_del(h, a.ifindex, a.prefix, obj))
            res.changes.push_back(Change{Action::Removed, fmt::format("address {}/32 on {}", vip.str(), ifname_of(h, a.ifindex))});
    sysctls_release(path, lb_namespace_in_use(ipt_with_chains(st, chains)), res.changes, "");
    res.changes = tidy(res.changes, obj);
    res.doc = json{{"netns", netns}, {"vip", vip.str()}, {"fwmark", *mark}, {"fwmark_hex", hex(*mark)}};
    return res;
}

// ---------------------------------------------------------------- routing mesh

std::vector<PublishSpec> publish_list(const std::string& netns, const std::string& sbox) {
    Handle hh(netns);
    auto hst = ipt_read(hh.netns_path());
    std::vector<PublishSpec> out;
    Handle sh(sbox);
    auto sst = ipt_read(sh.netns_path());
    IpvsHandle ih(sbox);
    auto services = ipvs_list(ih);
    std::string gwbr;
    for (auto& r : hst.table("nat").chain_rules(kIngressPostChain)) {
        static const std::regex re(R"(^-o (\S+) -m addrtype --src-type LOCAL -j MASQUERADE$)");
        std::smatch m;
        if (std::regex_match(r, m, re)) gwbr = m[1];
    }
    for (auto& r : hst.table("nat").chain_rules(kIngressChain)) {
        auto d = parse_dnat_rule(r);
        if (!d) continue;
        PublishSpec p;
        p.netns = netns;
        p.proto = d->proto;
        p.port = d->port;
        p.sbox = sbox;
        p.gw_ip = d->gw_ip;
        p.gw_bridge = gwbr;
        p.scheduler = "-";
        p.rules.push_back(fmt::format("{}: nat {} {}", netns.empty() ? "host" : netns, kIngressChain, r));
        auto acc = ingress_accept_rules(p.proto, p.port);
        for (auto& fr : hst.table("filter").chain_rules(kIngressChain))
            if (std::find(acc.begin(), acc.end(), fr) != acc.end())
                p.rules.push_back(fmt::format("{}: filter {} {}", netns.empty() ? "host" : netns, kIngressChain, fr));
        for (auto& mr : sst.table("mangle").chain_rules(kIngressChain))
            if (auto m = parse_port_mark_rule(mr); m && m->proto == p.proto && m->port == p.port) {
                p.fwmark = m->mark;
                p.rules.push_back(fmt::format("{}: mangle {} {}", sbox, kIngressChain, mr));
            }
        if (auto sv = p.fwmark ? find_fwm(services, p.fwmark) : std::nullopt) {
            p.scheduler = sv->scheduler;
            p.dests = sv->dests;
            p.backends = dest_addrs(sv->dests);
            for (auto& sr : sst.table("nat").chain_rules(kLbSnatChain))
                if (auto sn = parse_snat_rule(sr); sn && !sv->dests.empty() && contains(sn->subnet, sv->dests[0].addr)) {
                    p.subnet = sn->subnet.network();
                    p.lb_ip = sn->lb_ip;
                    p.rules.push_back(fmt::format("{}: nat {} {}", sbox, kLbSnatChain, sr));
                }
        }
        out.push_back(std::move(p));
    }
    return out;
}

namespace {
json publish_doc(const std::string& netns, const PublishSpec& p) {
    for (auto& x : publish_list(netns, p.sbox))
        if (x.proto == p.proto && x.port == p.port) return x.to_json();
    return json::object();
}
}  // namespace

LbResult publish_add(const std::string& netns, PublishSpec p, unsigned drain) {
    p.validate();
    std::string obj = fmt::format("port {}/{}", p.port, p.proto);
    Handle hh(netns);
    Handle sh(p.sbox);
    const std::string hpath = hh.netns_path(), spath = sh.netns_path();
    if (hpath == spath)
        throw_input(obj, "ingress_sbox", p.sbox, "the ingress sandbox must be another namespace than the host's");
    // The sandbox: its gwbridge address, its address on the ingress network.
    auto saddrs = addr_list(sh);
    if (!find_addr(saddrs, p.gw_ip, {}, std::nullopt, {}))
        throw_input(obj, "gw_ip", p.gw_ip.str(), "not an address of the ingress sandbox " + p.sbox);
    auto a = find_addr(saddrs, p.lb_ip, p.backends[0], p.subnet, p.gw_ip);
    if (!a) {
        if (p.lb_ip.valid()) throw_input(obj, "lb_ip", p.lb_ip.str(), "not an address of the ingress sandbox " + p.sbox);
        throw_input(obj, "backend", p.backends[0].str(),
                    "the ingress sandbox " + p.sbox + " has no address on this backend's network: give --lb-ip");
    }
    p.lb_ip = a->prefix.addr;
    if (!p.subnet) p.subnet = a->prefix.network();
    p.subnet = p.subnet->network();
    p.validate();
    // The host's bridge towards the sandbox (docker_gwbridge).
    if (p.gw_bridge.empty()) {
        for (auto& ha : addr_list(hh))
            if (ha.prefix.addr.family == AF_INET && ha.prefix.len < 32 && contains(ha.prefix.network(), p.gw_ip))
                p.gw_bridge = ifname_of(hh, ha.ifindex);
        if (p.gw_bridge.empty())
            throw_input(obj, "gw_ip", p.gw_ip.str(), "no interface of the host namespace is on this network: give --gw-bridge");
    } else if (!link_get(hh, p.gw_bridge)) {
        throw_input(obj, "gw_bridge", p.gw_bridge, "no such interface in the host namespace");
    }
    auto hst = ipt_read(hpath);
    auto sst = ipt_read(spath);
    IpvsHandle ih(p.sbox);
    auto services = ipvs_list(ih);
    std::optional<uint32_t> have;
    std::set<uint32_t> used = lb_used_marks(sst);
    for (auto m : ipvs_marks(services)) used.insert(m);
    for (auto& r : sst.table("mangle").chain_rules(kIngressChain))
        if (auto m = parse_port_mark_rule(r); m && m->proto == p.proto && m->port == p.port) have = m->mark;
    if (have) {
        if (p.fwmark && p.fwmark != *have)
            throw_input(obj, "fwmark", std::to_string(p.fwmark),
                        fmt::format("the port already has fwmark {} ({}); del it first", *have, hex(*have)));
        p.fwmark = *have;
    } else if (p.fwmark) {
        // Another port of the same service may share the mark (Docker: one mark per service).
        bool shared = false;
        for (auto& r : sst.table("mangle").chain_rules(kIngressChain))
            if (auto m = parse_port_mark_rule(r); m && m->mark == p.fwmark) shared = true;
        if (used.count(p.fwmark) && !shared)
            throw_input(obj, "fwmark", std::to_string(p.fwmark), "already used by a service VIP of the sandbox");
    } else {
        p.fwmark = lb_alloc_mark(used);
    }
    auto splan = ipt_plan(sst, publish_sbox_chains(sst, p, false));
    auto hplan = ipt_plan(hst, publish_host_chains(hst, p, false));
    LbResult res;
    // Sandbox first (sysctls, IPVS, mark + SNAT), then the host's DNAT that sends traffic there.
    sysctls_apply(spath, p.sbox, lb_sysctl_list(), lb_namespace_in_use(sst), res.changes, " in " + p.sbox);
    ipvs_converge(ih, p.fwmark, p.scheduler, p.backends, drain, res.changes);
    if (!splan.payload.empty()) {
        ipt_restore(spath, splan.payload);
        res.restores++;
    }
    for (auto c : splan.changes) {
        c.object += " in " + p.sbox;
        res.changes.push_back(c);
    }
    sysctls_apply(hpath, netns, {{"net.ipv4.ip_forward", "1"}, {"net.ipv4.conf." + p.gw_bridge + ".route_localnet", "1"}},
                  lb_namespace_in_use(hst), res.changes, "");
    if (!hplan.payload.empty()) {
        ipt_restore(hpath, hplan.payload);
        res.restores++;
    }
    merge(res.changes, hplan.changes);
    res.changes = tidy(res.changes, obj);
    res.doc = publish_doc(netns, p);
    return res;
}

LbResult publish_del(const std::string& netns, PublishSpec p, unsigned drain) {
    std::string obj = fmt::format("port {}/{}", p.port, p.proto);
    if (p.proto != "tcp" && p.proto != "udp" && p.proto != "sctp") throw_input(obj, "proto", p.proto, "must be tcp, udp or sctp");
    if (p.port == 0) throw_input(obj, "port", "0", "must be in 1..65535");
    check_drain(obj, drain);
    validate_netns_name(p.sbox);
    Handle hh(netns);
    Handle sh(p.sbox);
    const std::string hpath = hh.netns_path(), spath = sh.netns_path();
    auto hst = ipt_read(hpath);
    auto sst = ipt_read(spath);
    std::optional<uint32_t> mark;
    for (auto& r : sst.table("mangle").chain_rules(kIngressChain))
        if (auto m = parse_port_mark_rule(r); m && m->proto == p.proto && m->port == p.port) mark = m->mark;
    LbResult res;
    IpvsHandle ih(p.sbox);
    auto hchains = publish_host_chains(hst, p, true);
    auto hplan = ipt_plan(hst, hchains);
    auto schains = publish_sbox_chains(sst, p, true);
    auto splan = ipt_plan(sst, schains);
    bool still = false;   // another port (or VIP) keeps using the mark
    if (mark) {
        for (auto& r : schains[0].rules)
            if (auto m = parse_port_mark_rule(r); m && m->mark == *mark) still = true;
        for (auto& r : sst.table("mangle").chain_rules(kLbMarkChain))
            if (auto m = parse_mark_rule(r); m && m->mark == *mark) still = true;
    }
    // With --drain, the IPVS service that goes gets weight 0 on every destination first, and the
    // wait; the port stays published meanwhile, so established connections carry on.
    if (mark && !still) drain_service(ih, *mark, drain, res.changes, " in " + p.sbox);
    // Host first: stop sending traffic to the sandbox, then take the sandbox's part down.
    if (!hplan.payload.empty()) {
        ipt_restore(hpath, hplan.payload);
        res.restores++;
    }
    merge(res.changes, hplan.changes);
    if (!splan.payload.empty()) {
        ipt_restore(spath, splan.payload);
        res.restores++;
    }
    for (auto c : splan.changes) {
        c.object += " in " + p.sbox;
        res.changes.push_back(c);
    }
    if (mark && !still && find_fwm(ipvs_list(ih), *mark))
        merge(res.changes, ipvs_del_service(ih, lb_ipvs_service(*mark, "rr", {})));
    sysctls_release(hpath, lb_namespace_in_use(ipt_with_chains(hst, hchains)), res.changes, "");
    sysctls_release(spath, lb_namespace_in_use(ipt_with_chains(sst, schains)), res.changes, " in " + p.sbox);
    res.changes = tidy(res.changes, obj);
    res.doc = json{{"netns", netns}, {"proto", p.proto}, {"port", p.port}, {"ingress_sbox", p.sbox},
                   {"fwmark", mark ? json(*mark) : json(nullptr)}};
    return res;
}

}  // namespace ovnet
