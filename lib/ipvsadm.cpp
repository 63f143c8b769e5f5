// The ipvsadm syntax, parsed once: the `ipvsadm -S -n` writer and reader, and the option rules
// that both the reader and ovnet-ipvs's command line go through (ipvsadm itself feeds each
// restore line to its command-line parser). The edit verbs' merge of a partial update lives here.
#include <arpa/inet.h>

#include <algorithm>
#include <cstring>
#include <fmt/format.h>
#include <map>
#include <sstream>

#include "ipvs_wire.hpp"
#include "ovnet/error.hpp"
#include "ovnet/ipvs.hpp"

namespace ovnet {

using namespace ipvs_detail;

namespace {

std::string svc_opt(const IpvsService& s) {
    if (s.fwmark) return fmt::format("-f {}{}", s.fwmark, s.af == AF_INET6 ? " -6" : "");
    const char* o = s.protocol == "tcp" ? "-t" : s.protocol == "udp" ? "-u" : "--sctp-service";
    return fmt::format("{} {}", o, addr_port(s.addr, s.port));
}

// A decimal number in min..max.
uint64_t num(const std::string& v, uint64_t min, uint64_t max, const std::string& obj, const char* field) {
    if (v.empty() || v.size() > 10 || v.find_first_not_of("0123456789") != std::string::npos || std::stoull(v) > max ||
        std::stoull(v) < min)
        throw_input(obj, field, v, fmt::format("must be a number in {}..{}", min, max));
    return std::stoull(v);
}

// The service settings given (-s -p -M -o --pe -b), laid over `s`.
void apply_settings(IpvsService& s, const IpvsadmArgs& a) {
    std::string obj = "service " + s.key();
    if (a.scheduler) s.scheduler = *a.scheduler;
    if (a.persistent) {
        // -p without a value (or 0): ipvsadm's 360 seconds, or the timeout the service has.
        uint32_t t = a.persistent->empty() ? 0 : uint32_t(num(*a.persistent, 0, 0xffffffffULL, obj, "timeout"));
        if (t) s.timeout = t;
        else if (!s.persistent || !s.timeout) s.timeout = kDefaultPersist;
        s.persistent = true;
    }
    if (a.netmask) s.netmask = ipvs_parse_netmask(*a.netmask, s.af, obj);
    if (a.onepacket) s.onepacket = true;
    if (a.pe) s.pe = *a.pe;
    if (a.sched_flags) ipvs_parse_sched_flags(*a.sched_flags, s.sh_fallback, s.sh_port, obj);
}

// The destination settings given (-m -g -i -w -x -y --tun-type --tun-port), laid over `d`.
void apply_dest_settings(IpvsDest& d, const IpvsadmArgs& a, const std::string& obj) {
    if (a.masq + a.gate + a.ipip > 1) throw_input(obj, "forward", "", "give only one of -m, -g, -i");
    if (a.masq) d.fwd = IpvsFwd::Masq;
    if (a.gate) d.fwd = IpvsFwd::Route;
    if (a.ipip) d.fwd = IpvsFwd::Tunnel;
    if (a.weight) d.weight = uint32_t(num(*a.weight, 0, 65535, obj, "weight"));
    if (a.u_thresh) d.u_thresh = uint32_t(num(*a.u_thresh, 0, 0xffffffffULL, obj, "u-threshold"));
    if (a.l_thresh) d.l_thresh = uint32_t(num(*a.l_thresh, 0, 0xffffffffULL, obj, "l-threshold"));
    if (a.tun_type) {
        d.tun_type = *a.tun_type;
        if (d.tun_type != "gue" && !a.tun_port) d.tun_port = 0;
    }
    if (a.tun_port) d.tun_port = uint16_t(num(*a.tun_port, 0, 65535, obj, "tun-port"));
    if (d.fwd != IpvsFwd::Tunnel) {
        if (a.tun_type || a.tun_port)
            throw_input(obj, a.tun_type ? "tun-type" : "tun-port", a.tun_type ? *a.tun_type : *a.tun_port,
                        "only for tunnel forwarding (-i)");
        d.tun_type.clear();
        d.tun_port = 0;
    } else if (d.tun_type.empty()) {
        d.tun_type = "ipip";
    }
}

// The address and port of -r (the port defaults to the service's).
void real_server(const IpvsadmArgs& a, uint16_t svc_port, IpAddr& addr, uint16_t& port) {
    std::string obj = "dest " + a.real;
    std::optional<uint32_t> p;
    if (!ipvs_parse_addr_port(a.real, addr, p)) throw_input(obj, "address", a.real, "expected ADDRESS[:PORT] ([IPv6]:PORT)");
    if (p && *p > 65535) throw_input(obj, "port", std::to_string(*p), "must be in 0..65535");
    port = p ? uint16_t(*p) : svc_port;
}

void validate_with(const IpvsService& svc, const IpvsDest& d) {
    IpvsService probe = svc;
    probe.dests = {d};
    probe.stats = {};
    probe.validate();
}

}  // namespace

bool ipvs_parse_addr_port(std::string_view v, IpAddr& a, std::optional<uint32_t>& port) {
    std::string_view host = v, p;
    bool has_port = false;
    if (!v.empty() && v[0] == '[') {
        auto e = v.find(']');
        if (e == std::string_view::npos) return false;
        host = v.substr(1, e - 1);
        if (e + 1 < v.size()) {
            if (v[e + 1] != ':') return false;
            p = v.substr(e + 2);
            has_port = true;
        }
    } else if (std::count(v.begin(), v.end(), ':') == 1) {
        auto c = v.find(':');
        host = v.substr(0, c);
        p = v.substr(c + 1);
        has_port = true;
    }
    if (!IpAddr::try_parse(host, a)) return false;
    port.reset();
    if (has_port) {
        if (p.empty() || p.size() > 6 || p.find_first_not_of("0123456789") != std::string_view::npos) return false;
        port = uint32_t(std::stoul(std::string(p)));
    }
    return true;
}

int ipvs_parse_netmask(const std::string& v, int af, const std::string& obj) {
    int plen;
    if (!v.empty() && v.find_first_not_of("0123456789") == std::string::npos) {
        plen = int(num(v, 0, uint64_t(max_plen(af)), obj, "netmask"));
    } else {
        IpAddr m;
        if (af != AF_INET || !IpAddr::try_parse(v, m) || m.family != AF_INET)
            throw_input(obj, "netmask", v, "must be a prefix length or an IPv4 netmask");
        uint32_t be;
        std::memcpy(&be, m.b.data(), 4);
        plen = netmask_to_prefix(ntohl(be));
        if (plen < 0) throw_input(obj, "netmask", v, "not a contiguous netmask");
    }
    return plen == max_plen(af) ? -1 : plen;
}

void ipvs_parse_sched_flags(const std::string& v, bool& fallback, bool& port, const std::string& obj) {
    fallback = port = false;
    std::stringstream fs(v);
    for (std::string f; std::getline(fs, f, ',');) {
        if (f == "sh-fallback" || f == "mh-fallback" || f == "flag-1") fallback = true;
        else if (f == "sh-port" || f == "mh-port" || f == "flag-2") port = true;
        else throw_input(obj, "sched-flags", f, "must be sh-fallback, sh-port, mh-fallback, mh-port, flag-1 or flag-2");
    }
}

bool ipvsadm_take(IpvsadmArgs& a, const std::vector<std::string>& w, size_t& i, bool dest, const std::string& obj) {
    const std::string& o = w[i];
    auto arg = [&]() -> const std::string& {
        if (i + 1 >= w.size()) throw_input(obj, o, "", "needs a value");
        return w[++i];
    };
    if (o == "-t" || o == "--tcp-service") a.tcp = arg();
    else if (o == "-u" || o == "--udp-service") a.udp = arg();
    else if (o == "--sctp-service") a.sctp = arg();
    else if (o == "-f" || o == "--fwmark-service") a.fwmark = arg();
    else if (o == "-6" || o == "--ipv6") a.six = true;
    else if (!dest) {
        if (o == "-s" || o == "--scheduler") a.scheduler = arg();
        else if (o == "-p" || o == "--persistent")
            // The timeout is optional: the next word is it unless it is an option.
            a.persistent = i + 1 < w.size() && !w[i + 1].empty() && w[i + 1][0] != '-' ? w[++i] : std::string();
        else if (o == "-M" || o == "--netmask") a.netmask = arg();
        else if (o == "-o" || o == "--ops") a.onepacket = true;
        else if (o == "--pe") a.pe = arg();
        else if (o == "-b" || o == "--sched-flags") a.sched_flags = arg();
        else return false;
    } else {
        if (o == "-r" || o == "--real-server") a.real = arg();
        else if (o == "-m" || o == "--masquerading") a.masq = true;
        else if (o == "-g" || o == "--gatewaying") a.gate = true;
        else if (o == "-i" || o == "--ipip") a.ipip = true;
        else if (o == "-w" || o == "--weight") a.weight = arg();
        else if (o == "-x" || o == "--u-threshold") a.u_thresh = arg();
        else if (o == "-y" || o == "--l-threshold") a.l_thresh = arg();
        else if (o == "--tun-type") a.tun_type = arg();
        else if (o == "--tun-port") a.tun_port = arg();
        else if (o == "--tun-nocsum") {}   // the only checksum mode ovnet programs
        else return false;
    }
    return true;
}

IpvsService ipvsadm_key(const IpvsadmArgs& a) {
    int n = !a.tcp.empty() + !a.udp.empty() + !a.sctp.empty() + !a.fwmark.empty();
    if (n == 0) throw_input("service", "key", "", "missing -t, -u, --sctp-service ADDRESS:PORT or -f FWMARK");
    if (n > 1) throw_input("service", "key", "", "give only one of -t, -u, --sctp-service, -f");
    IpvsService s;
    if (!a.fwmark.empty()) {
        s.protocol = "fwm";
        s.fwmark = uint32_t(num(a.fwmark, 1, 0xffffffffULL, "service fwm " + a.fwmark, "fwmark"));
        s.af = a.six ? AF_INET6 : AF_INET;
        return s;
    }
    s.protocol = !a.tcp.empty() ? "tcp" : !a.udp.empty() ? "udp" : "sctp";
    const std::string& v = !a.tcp.empty() ? a.tcp : !a.udp.empty() ? a.udp : a.sctp;
    std::string obj = "service " + s.protocol + " " + v;
    std::optional<uint32_t> port;
    if (!ipvs_parse_addr_port(v, s.addr, port)) throw_input(obj, "address", v, "expected ADDRESS:PORT ([IPv6]:PORT)");
    if (!port) throw_input(obj, "port", "", "required (ADDRESS:PORT)");
    if (*port > 65535) throw_input(obj, "port", std::to_string(*port), "must be in 0..65535");
    s.port = uint16_t(*port);
    s.af = s.addr.family;
    if (a.six && s.af != AF_INET6) throw_input(obj, "-6", "", "given with an IPv4 service address");
    if (!is_unicast_host(s.addr)) throw_input(obj, "address", s.addr.str(), "must be a unicast address");
    return s;
}

IpvsService ipvsadm_service(const IpvsadmArgs& a) {
    IpvsService s = ipvsadm_key(a);
    apply_settings(s, a);
    s.validate();
    return s;
}

IpvsDest ipvsadm_dest(const IpvsadmArgs& a, const IpvsService& svc, bool validate) {
    IpvsDest d;
    real_server(a, svc.port, d.addr, d.port);
    apply_dest_settings(d, a, "dest " + a.real);
    if (validate) validate_with(svc, d);
    return d;
}

IpvsService ipvs_merge_edit(const IpvsService& cur, const IpvsadmArgs& a) {
    IpvsService s = cur;
    s.dests.clear();
    s.stats = {};
    apply_settings(s, a);
    s.validate();
    return s;
}

IpvsDest ipvs_merge_edit_dest(const IpvsService& cur, const IpvsadmArgs& a) {
    IpAddr addr;
    uint16_t port = 0;
    real_server(a, cur.port, addr, port);
    const IpvsDest* x = nullptr;
    for (auto& d : cur.dests)
        if (d.addr == addr && d.port == port) x = &d;
    if (!x) throw_input("dest " + a.real + " of " + cur.key(), "address", a.real, "no such destination");
    IpvsDest d = *x;
    d.active = d.inactive = d.persistent = 0;
    d.stats = {};
    apply_dest_settings(d, a, "dest " + a.real);
    validate_with(cur, d);
    return d;
}

std::string ipvs_format_ipvsadm(const std::vector<IpvsService>& services) {
    auto sorted = services;
    std::sort(sorted.begin(), sorted.end(), svc_less);
    std::string out;
    for (auto& s0 : sorted) {
        auto s = s0;
        std::string so = svc_opt(s);
        out += "-A " + so + " -s " + s.scheduler;
        if (s.persistent) {
            out += fmt::format(" -p {}", s.timeout);
            int plen = s.netmask < 0 ? max_plen(s.af) : s.netmask;
            if (plen != max_plen(s.af)) {
                if (s.af == AF_INET) {
                    uint32_t m = htonl(prefix_to_netmask(plen));
                    out += " -M " + IpAddr::from_bytes(AF_INET, &m).str();
                } else {
                    out += fmt::format(" -M {}", plen);
                }
            }
            if (!s.pe.empty()) out += " --pe " + s.pe;
        }
        if (s.onepacket) out += " -o";
        if (s.sh_fallback || s.sh_port) {
            std::string pre = s.scheduler == "mh" ? "mh-" : "sh-";
            out += " -b ";
            if (s.sh_fallback) out += pre + "fallback";
            if (s.sh_port) out += (s.sh_fallback ? "," : "") + pre + "port";
        }
        out += '\n';
        std::sort(s.dests.begin(), s.dests.end(), dest_less);
        for (auto& d : s.dests) {
            const char* fw = d.fwd == IpvsFwd::Masq ? "-m" : d.fwd == IpvsFwd::Tunnel ? "-i" : "-g";
            out += fmt::format("-a {} -r {} {} -w {}", so, addr_port(d.addr, d.port), fw, d.weight);
            if (d.fwd == IpvsFwd::Tunnel && !d.tun_type.empty() && d.tun_type != "ipip") {
                out += " --tun-type " + d.tun_type;
                if (d.tun_type == "gue") out += fmt::format(" --tun-port {}", d.tun_port);
                out += " --tun-nocsum";
            }
            // ipvsadm -S leaves thresholds out; ipvsadm -R reads them, so they are kept here.
            if (d.u_thresh) out += fmt::format(" -x {}", d.u_thresh);
            if (d.l_thresh) out += fmt::format(" -y {}", d.l_thresh);
            out += '\n';
        }
    }
    return out;
}

std::vector<IpvsService> ipvs_parse_ipvsadm(std::istream& in) {
    std::vector<IpvsService> out;
    std::map<std::string, size_t> index;
    std::string line;
    size_t lineno = 0;
    while (std::getline(in, line)) {
        lineno++;
        std::istringstream ls(line);
        std::vector<std::string> w;
        for (std::string t; ls >> t;) w.push_back(t);
        if (w.empty() || w[0][0] == '#') continue;
        std::string obj = fmt::format("ipvsadm line {}", lineno);
        bool is_svc = w[0] == "-A" || w[0] == "--add-service";
        bool is_dst = w[0] == "-a" || w[0] == "--add-server";
        if (!is_svc && !is_dst) throw_input(obj, "command", w[0], "only -A (add service) and -a (add server) lines are read");
        IpvsadmArgs a;
        for (size_t i = 1; i < w.size(); i++)
            if (!ipvsadm_take(a, w, i, is_dst, obj))
                throw_input(obj, "option", w[i], is_svc ? "not an option of -A" : "not an option of -a");
        try {
            if (is_svc) {
                IpvsService s = ipvsadm_service(a);
                std::string key = s.key();
                if (index.count(key)) throw_input("service " + key, "service", key, "added twice");
                index.emplace(std::move(key), out.size());
                out.push_back(std::move(s));
            } else {
                std::string key = ipvsadm_key(a).key();
                auto it = index.find(key);
                if (it == index.end())
                    throw_input("service " + key, "service", key, "destination before its service (no -A line for it)");
                if (!a.has_dest()) throw_input("service " + key, "-r", "", "missing the real server (-r ADDRESS[:PORT])");
                auto& svc = out[it->second];
                svc.dests.push_back(ipvsadm_dest(a, svc, false));
                svc.validate();
            }
        } catch (const Error& e) {
            if (e.kind() != ErrorKind::Input) throw;
            throw Error(ErrorKind::Input, fmt::format("{}: {}", obj, e.what()), 0, {}, e.object(), e.field());
        }
    }
    return out;
}

}  // namespace ovnet
