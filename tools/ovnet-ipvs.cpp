// ovnet-ipvs: IPVS virtual services and their real servers (what ipvsadm manages), over generic netlink.
#include <iostream>
#include <sstream>

#include "common.hpp"

using namespace ovnet;
using namespace ovnet::tool;

namespace {

struct Opts {
    // service selection
    std::string tcp, udp, sctp, fwmark;
    bool six = false;
    // service settings
    std::string sched, persistent, netmask, sched_flags, pe;
    bool ops = false;
    CLI::Option *o_sched = nullptr, *o_pers = nullptr, *o_mask = nullptr, *o_ops = nullptr, *o_flags = nullptr,
                *o_pe = nullptr;
    // destination
    std::string real, weight, uth, lth, tun_type, tun_port;
    bool masq = false, gate = false, ipip = false;
    unsigned drain = 0;
};

// The options given, for the library's ipvsadm rules (the ones `apply --from-ipvsadm` reads with).
IpvsadmArgs args(const Opts& o) {
    IpvsadmArgs a;
    a.tcp = o.tcp, a.udp = o.udp, a.sctp = o.sctp, a.fwmark = o.fwmark, a.six = o.six;
    auto given = [](CLI::Option* opt, const std::string& v) {
        return opt && opt->count() ? std::optional<std::string>(v) : std::nullopt;
    };
    a.scheduler = given(o.o_sched, o.sched);
    a.persistent = given(o.o_pers, o.persistent);
    a.netmask = given(o.o_mask, o.netmask);
    a.sched_flags = given(o.o_flags, o.sched_flags);
    a.pe = given(o.o_pe, o.pe);
    a.onepacket = o.ops;
    a.real = o.real;
    a.masq = o.masq, a.gate = o.gate, a.ipip = o.ipip;
    auto str = [](const std::string& v) { return v.empty() ? std::nullopt : std::optional<std::string>(v); };
    a.weight = str(o.weight), a.u_thresh = str(o.uth), a.l_thresh = str(o.lth);
    a.tun_type = str(o.tun_type), a.tun_port = str(o.tun_port);
    return a;
}

// `show` takes the service by its long names only: there -t is the global --table (a listing is
// what a table is for), so `ovnet-ipvs show -t` prints the table as every other tool's does.
void add_key_opts(CLI::App* v, Opts& o, bool short_t = true) {
    v->add_option(short_t ? "-t,--tcp-service" : "--tcp-service", o.tcp,
                  "TCP virtual service ADDRESS:PORT ([IPv6]:PORT)")->type_name("ADDR:PORT");
    v->add_option("-u,--udp-service", o.udp, "UDP virtual service ADDRESS:PORT")->type_name("ADDR:PORT");
    v->add_option("--sctp-service", o.sctp, "SCTP virtual service ADDRESS:PORT")->type_name("ADDR:PORT");
    v->add_option("-f,--fwmark-service", o.fwmark, "Firewall-mark service (Docker's marks start at 256)")->type_name("MARK");
    v->add_flag("-6,--ipv6", o.six, "The firewall-mark service is IPv6");
}

void add_svc_opts(CLI::App* v, Opts& o) {
    std::string list;
    for (auto& s : ipvs_schedulers()) list += (list.empty() ? "" : " ") + s;
    o.o_sched = v->add_option("-s,--scheduler", o.sched, "Scheduler: " + list + " (default wlc)")->type_name("SCHED");
    o.o_pers = v->add_option("-p,--persistent", o.persistent, "Persistent service, timeout in seconds (default 360)")
                   ->expected(0, 1)->type_name("[TIMEOUT]");
    o.o_mask = v->add_option("-M,--netmask", o.netmask, "Persistence granularity: an IPv4 netmask or a prefix length")
                   ->type_name("NETMASK");
    o.o_ops = v->add_flag("-o,--ops", o.ops, "One-packet scheduling (UDP)");
    o.o_flags = v->add_option("-b,--sched-flags", o.sched_flags, "sh/mh flags: sh-fallback,sh-port (mh-fallback,mh-port)")
                    ->type_name("FLAGS");
    o.o_pe = v->add_option("--pe", o.pe, "Persistence engine (sip)")->type_name("ENGINE");
}

void add_dest_opts(CLI::App* v, Opts& o, bool with_settings) {
    v->add_option("-r,--real-server", o.real, "Destination ADDRESS[:PORT] (the port defaults to the service's)")
        ->type_name("ADDR[:PORT]");
    if (!with_settings) return;
    v->add_flag("-m,--masquerading", o.masq, "Forward by NAT (the default)");
    v->add_flag("-g,--gatewaying", o.gate, "Forward by direct routing");
    v->add_flag("-i,--ipip", o.ipip, "Forward by tunnelling (ipip, gue or gre)");
    v->add_option("-w,--weight", o.weight, "Destination weight, 0..65535 (default 1)")->type_name("WEIGHT");
    v->add_option("-x,--u-threshold", o.uth, "Upper connection threshold (0 = none)")->type_name("N");
    v->add_option("-y,--l-threshold", o.lth, "Lower connection threshold")->type_name("N");
    v->add_option("--tun-type", o.tun_type, "Tunnel type with -i: ipip (default), gue, gre")->type_name("TYPE");
    v->add_option("--tun-port", o.tun_port, "GUE tunnel port")->type_name("PORT");
}

const char* kFooter = "After add, edit, del and zero, -t and -p are ipvsadm's (--tcp-service, --persistent); give the "
                      "global -t/-p before the verb. After show, -t is the global --table (the service: --tcp-service). "
                      "Global options -n NETNS, -j, -q also work after the verb.";

std::string fwd_cell(const std::string& f) {
    return f == "masq" ? "Masq" : f == "dr" ? "Route" : f == "tunnel" ? "Tunnel" : f == "local" ? "Local" : f;
}

std::string svc_cell(const json& s) {
    std::string p = s["protocol"].get<std::string>();
    if (p == "fwm") return fmt::format("FWM  {}{}", s["fwmark"].get<uint32_t>(), s["family"] == "ipv6" ? " IPv6" : "");
    std::string a = s["address"].get<std::string>();
    if (s["family"] == "ipv6") a = "[" + a + "]";
    std::string up = p;
    for (auto& c : up) c = char(toupper(c));
    return fmt::format("{:<4} {}:{}", up, a, s["port"].get<uint32_t>());
}

std::string dest_cell(const json& d) {
    std::string a = d["address"].get<std::string>();
    if (a.find(':') != std::string::npos) a = "[" + a + "]";
    return fmt::format("{}:{}", a, d["port"].get<uint32_t>());
}

// ipvsadm -Ln, -Ln --stats, -Ln --rate, from the JSON document.
void print_table(const json& doc, bool stats, bool rate) {
    std::string out;
    if (stats || rate) {
        const char* k[2][5] = {{"conns", "inpkts", "outpkts", "inbytes", "outbytes"}, {"cps", "inpps", "outpps", "inbps", "outbps"}};
        int w = rate ? 1 : 0;
        out += rate ? fmt::format("{:<33}{:>9}{:>9}{:>9}{:>9}{:>9}\n", "Prot LocalAddress:Port", "CPS", "InPPS", "OutPPS", "InBPS", "OutBPS")
                    : fmt::format("{:<33}{:>9}{:>9}{:>9}{:>9}{:>9}\n", "Prot LocalAddress:Port", "Conns", "InPkts", "OutPkts", "InBytes", "OutBytes");
        out += "  -> RemoteAddress:Port\n";
        auto nums = [&](const json& st) {
            std::string r;
            for (auto* key : k[w]) r += fmt::format(" {:>8}", st[key].get<uint64_t>());
            return r;
        };
        for (auto& s : doc) {
            out += fmt::format("{:<33}{}\n", svc_cell(s), nums(s["stats"]));
            for (auto& d : s["dests"]) out += fmt::format("  -> {:<28} {}\n", dest_cell(d), nums(d["stats"]).substr(1));
        }
    } else {
        out += "Prot LocalAddress:Port Scheduler Flags\n";
        out += "  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n";
        for (auto& s : doc) {
            std::string line = svc_cell(s) + " " + s["scheduler"].get<std::string>();
            if (s.value("sh_fallback", false) || s.value("sh_port", false)) {
                std::string pre = s["scheduler"] == "mh" ? "mh-" : "sh-";
                std::string f;
                if (s.value("sh_fallback", false)) f = pre + "fallback";
                if (s.value("sh_port", false)) f += (f.empty() ? "" : ",") + pre + "port";
                line += " (" + f + ")";
            }
            if (s["persistent"].get<bool>()) {
                line += fmt::format(" persistent {}", s["timeout"].get<uint32_t>());
                int nm = s["netmask"].get<int>();
                bool six = s["family"] == "ipv6";
                if (nm != (six ? 128 : 32)) {
                    if (six) line += fmt::format(" mask {}", nm);
                    else {
                        uint32_t m = prefix_to_netmask(nm);
                        line += fmt::format(" mask {}.{}.{}.{}", m >> 24, (m >> 16) & 255, (m >> 8) & 255, m & 255);
                    }
                }
                if (s.contains("pe")) line += " pe " + s["pe"].get<std::string>();
            }
            if (s["onepacket"].get<bool>()) line += " ops";
            out += line + "\n";
            for (auto& d : s["dests"])
                out += fmt::format("  -> {:<28} {:<7} {:<6} {:<10} {}\n", dest_cell(d), fwd_cell(d["forward"]),
                                   d["weight"].get<uint32_t>(), d["active"].get<uint32_t>(), d["inactive"].get<uint32_t>());
        }
    }
    std::fwrite(out.data(), 1, out.size(), stdout);
}

}  // namespace

int main(int argc, char** argv) {
    App app("ovnet-ipvs", "IPVS virtual services and their destinations (ipvsadm's state), in any namespace.");
    auto& g = app.g;
    // One set of options per verb: CLI11 options (and their counts) belong to one subcommand.
    Opts o_show, o_add, o_edit, o_del, o_zero;

    bool stats = false, rate = false, ipvsadm = false;
    auto* show = app.verb("show", "List services with destinations, connections, stats and rates (ipvsadm -Ln)");
    add_key_opts(show, o_show, false);
    show->add_flag("--stats", stats, "Table: counters (ipvsadm -Ln --stats)");
    show->add_flag("--rate", rate, "Table: rates (ipvsadm -Ln --rate)");
    show->add_flag("--ipvsadm", ipvsadm, "Write the rules as ipvsadm -S -n does (ipvsadm -R reads them)");
    show->callback([&] {
        std::optional<IpvsService> key;
        if (args(o_show).has_key()) key = ipvsadm_key(args(o_show));
        IpvsHandle h(g.netns);
        std::vector<IpvsService> list;
        if (key) {
            auto s = ipvs_get(h, *key);
            if (!s) throw_input("service " + key->key(), "key", key->key(), "no such service");
            list.push_back(*s);
        } else {
            list = ipvs_list(h);
        }
        if (ipvsadm) {
            std::string s = ipvs_format_ipvsadm(list);
            std::fwrite(s.data(), 1, s.size(), stdout);
            return;
        }
        if (g.json_out() && !g.pretty) {
            // Thousands of services with their stats: written straight out (to_json's bytes).
            std::string out = "[";
            out.reserve(list.size() * 2048);
            for (size_t i = 0; i < list.size(); i++) {
                if (i) out += ',';
                list[i].write_json(out, g.netns);
            }
            out += "]\n";
            std::fwrite(out.data(), 1, out.size(), stdout);
            std::fflush(stdout);
            return;
        }
        json a = json::array();
        for (auto& s : list) {
            json j = s.to_json();
            if (!g.netns.empty()) {
                json k = json::object();
                k["netns"] = g.netns;
                k.update(j);
                j = std::move(k);
            }
            a.push_back(std::move(j));
        }
        emit(g, a, [&](const json& d) { print_table(d, stats, rate); });
    });

    auto* add = app.verb("add", "Add a service (-A) or, with -r, a destination (-a); an equal one is left alone", VerbKind::Mutating);
    add_key_opts(add, o_add);
    add_svc_opts(add, o_add);
    add_dest_opts(add, o_add, true);
    add->footer(kFooter);
    add->callback([&] {
        IpvsadmArgs a = args(o_add);
        if (a.has_dest()) {
            // -p with -r names a persistent service (whose destinations may have port 0).
            IpvsService key = ipvsadm_key(a);
            if (a.persistent) key.persistent = true, key.timeout = 360;
            IpvsDest d = ipvsadm_dest(a, key);
            IpvsHandle h(g.netns);
            auto ch = ipvs_add_dest(h, key, d);
            report(g, ch, to_json(ch));
        } else {
            IpvsService spec = ipvsadm_service(a);
            IpvsHandle h(g.netns);
            auto ch = ipvs_add_service(h, spec);
            report(g, ch, to_json(ch));
        }
    });

    auto* edit = app.verb("edit", "Change a service (-E) or, with -r, a destination (-e); unset options keep their value", VerbKind::Mutating);
    add_key_opts(edit, o_edit);
    add_svc_opts(edit, o_edit);
    add_dest_opts(edit, o_edit, true);
    edit->footer(kFooter);
    edit->callback([&] {
        IpvsadmArgs a = args(o_edit);
        IpvsService key = ipvsadm_key(a);
        IpvsHandle h(g.netns);
        auto cur = ipvs_get(h, key);
        if (!cur) throw_input("service " + key.key(), "key", key.key(), "no such service");
        if (a.has_dest()) {
            auto ch = ipvs_edit_dest(h, key, ipvs_merge_edit_dest(*cur, a));
            report(g, ch, to_json(ch));
        } else {
            auto ch = ipvs_edit_service(h, ipvs_merge_edit(*cur, a));
            report(g, ch, to_json(ch));
        }
    });

    auto* del = app.verb("del", "Remove a service (-D) or, with -r, a destination (-d); a missing one is left alone", VerbKind::Mutating);
    add_key_opts(del, o_del);
    add_dest_opts(del, o_del, false);
    del->add_option("--drain", o_del.drain, "With -r: set the weight to 0, wait SECONDS, then remove (Docker's drain)")
        ->type_name("SECONDS")->check(CLI::Range(0u, 86400u));
    del->footer(kFooter);
    del->callback([&] {
        IpvsadmArgs a = args(o_del);
        IpvsService key = ipvsadm_key(a);
        if (o_del.drain && !a.has_dest()) throw_input("service " + key.key(), "drain", std::to_string(o_del.drain), "needs -r (a destination)");
        if (a.has_dest()) {
            IpvsDest dd = ipvsadm_dest(a, key, false);
            if (dd.addr.family != key.af)
                throw_input("dest " + o_del.real + " of " + key.key(), "address", dd.addr.str(), "address family differs from the service's");
            IpvsHandle h(g.netns);
            auto ch = ipvs_del_dest(h, key, dd, o_del.drain);
            report(g, ch, to_json(ch));
        } else {
            IpvsHandle h(g.netns);
            auto ch = ipvs_del_service(h, key);
            report(g, ch, to_json(ch));
        }
    });

    bool prune = false, from_ipvsadm = false, allow_empty = false;
    auto* apply = app.verb("apply", "Converge to the set of services read on stdin (JSON, or ipvsadm -S) in one batch", VerbKind::MutatingFromStdin);
    apply->add_flag("--prune", prune, "Also remove services missing from the set");
    apply->add_flag("--allow-empty", allow_empty, "With --prune, accept an empty set (remove every service)");
    apply->add_flag("--from-ipvsadm", from_ipvsadm, "Read ipvsadm -S -n output instead of JSON");
    apply->callback([&] {
        std::vector<IpvsService> set;
        std::string ns = g.netns;
        if (from_ipvsadm) {
            std::istringstream text(read_all(std::cin));   // a read error is not an empty set
            set = ipvs_parse_ipvsadm(text);
        } else {
            std::vector<json> stubs;
            set = ipvs_read(std::cin, "services", &stubs);
            ns = netns_for(g, stubs);
        }
        lock_netns(ns);
        IpvsHandle h(ns);   // first: a kernel without IPVS is said before the set is judged
        check_prune_set(set.size(), prune, allow_empty,
                        ns.empty() ? std::string("every service in this namespace") : "every service in " + ns);
        ChangeStats st;
        auto ch = ipvs_apply_set(h, set, prune, &st);
        report_set(g, ns.empty() ? "ipvs" : ns, "edited", {}, ch, st);
    });

    auto* zero = app.verb("zero", "Zero the counters of one service, or of all (ipvsadm -Z)", VerbKind::Mutating);
    add_key_opts(zero, o_zero);
    zero->footer(kFooter);
    zero->callback([&] {
        std::optional<IpvsService> key;
        if (args(o_zero).has_key()) key = ipvsadm_key(args(o_zero));
        IpvsHandle h(g.netns);
        auto ch = ipvs_zero(h, key);
        report(g, ch, to_json(ch));
    });

    auto* flush = app.verb("flush", "Remove every service and destination (ipvsadm -C)", VerbKind::Mutating);
    flush->callback([&] {
        IpvsHandle h(g.netns);
        auto ch = ipvs_flush(h);
        report(g, ch, to_json(ch));
    });

    std::string t_tcp, t_fin, t_udp;
    auto* timeout = app.verb("timeout", "Show the connection timeouts, or set those given (ipvsadm --set)", VerbKind::Mutating);
    timeout->add_option("--tcp", t_tcp, "TCP session timeout in seconds")->type_name("SECONDS");
    timeout->add_option("--tcp-fin", t_fin, "TCP timeout after FIN in seconds")->type_name("SECONDS");
    timeout->add_option("--udp", t_udp, "UDP timeout in seconds")->type_name("SECONDS");
    timeout->callback([&] {
        auto sec = [](const std::string& f, const std::string& v) -> uint32_t {
            if (v.empty()) return 0;
            if (v.size() > 10 || v.find_first_not_of("0123456789") != std::string::npos || std::stoull(v) == 0 ||
                std::stoull(v) > 2147483)
                throw_input("timeouts", f, v, "must be in 1..2147483 seconds");
            return uint32_t(std::stoull(v));
        };
        IpvsTimeouts t{sec("tcp", t_tcp), sec("tcp-fin", t_fin), sec("udp", t_udp)};
        IpvsHandle h(g.netns);
        if (!t.tcp && !t.tcp_fin && !t.udp) {
            emit(g, ipvs_get_timeouts(h).to_json(), [](const json& d) {
                fmt::print("Timeout (tcp tcpfin udp): {} {} {}\n", d["tcp"].get<uint32_t>(), d["tcp_fin"].get<uint32_t>(),
                           d["udp"].get<uint32_t>());
            });
            return;
        }
        auto ch = ipvs_set_timeouts(h, t);
        report(g, ch, to_json(ch));
    });

    return app.run(argc, argv);
}
