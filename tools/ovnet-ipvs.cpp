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

// The apply report can list 11,000 changes: written straight out rather than through a DOM, in
// the shape of every other report ({"action", "object"} per change).
void write_apply_report(const Global& g, const IpvsApplyStats& st, const std::vector<IpvsChange>& ch,
                        const std::vector<std::string>& unchanged) {
    const char* sp = g.pretty ? " " : "";
    BulkReport r(g, {{"summary", fmt::format(R"({{"added":{},"edited":{},"removed":{},"unchanged":{},"writes":{}}})",
                                             st.added, st.edited, st.removed, st.unchanged, st.writes)}});
    // Keys and labels are protocol names, addresses and numbers: nothing to escape.
    auto item = [&](const char* action, std::initializer_list<std::string_view> parts) {
        std::string& out = r.next();
        out += "{\"action\":";
        out += sp;
        out += '"';
        out += action;
        out += "\",";
        out += sp;
        out += "\"object\":";
        out += sp;
        out += '"';
        for (auto p : parts) out += p;
        out += "\"}";
    };
    for (auto& c : ch) {
        if (c.dest.empty()) item(c.action_name(), {"service ", c.service});
        else item(c.action_name(), {"dest ", c.dest, " of ", c.service});
    }
    if (ch.empty()) {
        std::string many = fmt::format("{} services", unchanged.size());
        if (unchanged.size() > 1) item("unchanged", {many});
        else if (unchanged.size() == 1) item("unchanged", {"service ", unchanged[0]});
        else item("unchanged", {"ipvs"});
    }
    r.finish();
}

// "10.0.0.5:80", "[fd00::1]:443" -> address and port strings (port may be empty).
void split(const std::string& v, const std::string& what, std::string& addr, std::string& port) {
    std::string host = v;
    port.clear();
    if (!v.empty() && v[0] == '[') {
        auto e = v.find(']');
        if (e == std::string::npos) throw_input("service", what, v, "expected [IPv6]:PORT");
        host = v.substr(1, e - 1);
        if (e + 1 < v.size()) {
            if (v[e + 1] != ':') throw_input("service", what, v, "expected [IPv6]:PORT");
            port = v.substr(e + 2);
        }
    } else if (std::count(v.begin(), v.end(), ':') == 1) {
        host = v.substr(0, v.find(':'));
        port = v.substr(v.find(':') + 1);
    }
    addr = host;
}

json port_json(const std::string& obj, const std::string& field, const std::string& p) {
    if (p.empty() || p.size() > 9 || p.find_first_not_of("0123456789") != std::string::npos)
        throw_input(obj, field, p, "not a port number (0..65535)");
    return json(std::stoull(p));
}

json uint_json(const std::string& obj, const std::string& field, const std::string& v) {
    if (v.empty() || v.size() > 11 || v.find_first_not_of("0123456789") != std::string::npos)
        throw_input(obj, field, v, "not a non-negative number");
    return json(std::stoull(v));
}

// The service key as JSON from -t/-u/--sctp-service/-f (exactly one).
json key_json(const Opts& o) {
    int n = !o.tcp.empty() + !o.udp.empty() + !o.sctp.empty() + !o.fwmark.empty();
    if (n == 0) throw_input("service", "key", "", "give one of -t, -u, --sctp-service ADDRESS:PORT or -f FWMARK");
    if (n > 1) throw_input("service", "key", "", "give only one of -t, -u, --sctp-service, -f");
    json j = json::object();
    if (!o.fwmark.empty()) {
        j["fwmark"] = uint_json("service", "fwmark", o.fwmark);
        if (o.six) j["family"] = "ipv6";
        return j;
    }
    std::string v = !o.tcp.empty() ? o.tcp : !o.udp.empty() ? o.udp : o.sctp;
    j["protocol"] = !o.tcp.empty() ? "tcp" : !o.udp.empty() ? "udp" : "sctp";
    std::string a, p;
    split(v, "address", a, p);
    j["address"] = a;
    std::string obj = "service " + j["protocol"].get<std::string>() + " " + v;
    if (p.empty()) throw_input(obj, "port", "", "required (ADDRESS:PORT)");
    j["port"] = port_json(obj, "port", p);
    if (o.six) j["family"] = "ipv6";
    return j;
}

// Service settings given on the command line, laid over `j`.
void service_settings(const Opts& o, json& j) {
    std::string obj = "service";
    if (o.o_sched && o.o_sched->count()) j["scheduler"] = o.sched;
    if (o.o_pers && o.o_pers->count()) {
        j["persistent"] = true;
        if (!o.persistent.empty()) j["timeout"] = uint_json(obj, "timeout", o.persistent);
        else if (!j.contains("timeout") || j["timeout"] == 0) j["timeout"] = 360;
    }
    if (o.o_mask && o.o_mask->count()) {
        if (o.netmask.find_first_not_of("0123456789") == std::string::npos && !o.netmask.empty())
            j["netmask"] = uint_json(obj, "netmask", o.netmask);
        else
            j["netmask"] = o.netmask;
    }
    if (o.o_ops && o.o_ops->count()) j["onepacket"] = true;
    if (o.o_pe && o.o_pe->count()) j["pe"] = o.pe;
    if (o.o_flags && o.o_flags->count()) {
        j["sh_fallback"] = false;
        j["sh_port"] = false;
        std::stringstream fs(o.sched_flags);
        for (std::string f; std::getline(fs, f, ',');) {
            if (f == "sh-fallback" || f == "mh-fallback" || f == "flag-1") j["sh_fallback"] = true;
            else if (f == "sh-port" || f == "mh-port" || f == "flag-2") j["sh_port"] = true;
            else throw_input(obj, "sched-flags", f, "must be sh-fallback, sh-port, mh-fallback or mh-port");
        }
    }
}

bool has_dest(const Opts& o) { return !o.real.empty(); }

// Destination fields given on the command line, laid over `d`.
void dest_settings(const Opts& o, json& d) {
    std::string a, p;
    split(o.real, "real-server", a, p);
    std::string obj = "dest " + o.real;
    d["address"] = a;
    if (!p.empty()) d["port"] = port_json(obj, "port", p);
    int fw = o.masq + o.gate + o.ipip;
    if (fw > 1) throw_input(obj, "forward", "", "give only one of -m, -g, -i");
    if (o.masq) d["forward"] = "masq";
    if (o.gate) d["forward"] = "dr";
    if (o.ipip) d["forward"] = "tunnel";
    if (!o.weight.empty()) d["weight"] = uint_json(obj, "weight", o.weight);
    if (!o.uth.empty()) d["u_threshold"] = uint_json(obj, "u-threshold", o.uth);
    if (!o.lth.empty()) d["l_threshold"] = uint_json(obj, "l-threshold", o.lth);
    if (!o.tun_type.empty()) d["tun_type"] = o.tun_type;
    if (!o.tun_port.empty()) d["tun_port"] = port_json(obj, "tun-port", o.tun_port);
    if (d.value("forward", std::string()) != "tunnel") {
        d.erase("tun_type");
        d.erase("tun_port");
        if (!o.tun_type.empty() || !o.tun_port.empty())
            throw_input(obj, !o.tun_type.empty() ? "tun-type" : "tun-port", !o.tun_type.empty() ? o.tun_type : o.tun_port,
                        "only for tunnel forwarding (-i)");
    }
}

void add_key_opts(CLI::App* v, Opts& o) {
    v->add_option("-t,--tcp-service", o.tcp, "TCP virtual service ADDRESS:PORT ([IPv6]:PORT)")->type_name("ADDR:PORT");
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

const char* kFooter = "After the verb, -t and -p are ipvsadm's (--tcp-service, --persistent); give the global -t/-p "
                      "before the verb. Global options -n NETNS, -j, -q also work after the verb.";

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
                        uint32_t m = nm ? ~uint32_t(0) << (32 - nm) : 0;
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
    add_key_opts(show, o_show);
    show->add_flag("--stats", stats, "Table: counters (ipvsadm -Ln --stats)");
    show->add_flag("--rate", rate, "Table: rates (ipvsadm -Ln --rate)");
    show->add_flag("--ipvsadm", ipvsadm, "Write the rules as ipvsadm -S -n does (ipvsadm -R reads them)");
    show->callback([&] {
        std::optional<IpvsService> key;
        if (!o_show.tcp.empty() || !o_show.udp.empty() || !o_show.sctp.empty() || !o_show.fwmark.empty())
            key = IpvsService::from_json(key_json(o_show));
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
        json k = key_json(o_add);
        if (has_dest(o_add)) {
            json d = json::object();
            dest_settings(o_add, d);
            json s = k;
            if (o_add.o_pers->count()) s["persistent"] = true;
            s["dests"] = json::array({d});
            IpvsService spec = IpvsService::from_json(s);
            IpvsHandle h(g.netns);
            IpvsService key = spec;
            key.dests.clear();
            auto ch = ipvs_add_dest(h, key, spec.dests[0]);
            report(g, ch, to_json(ch));
        } else {
            json s = k;
            service_settings(o_add, s);
            IpvsService spec = IpvsService::from_json(s);
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
        IpvsService key = IpvsService::from_json(key_json(o_edit));
        IpvsHandle h(g.netns);
        auto cur = ipvs_get(h, key);
        if (!cur) throw_input("service " + key.key(), "key", key.key(), "no such service");
        json s = cur->to_json();
        s.erase("stats");
        s.erase("key");
        if (has_dest(o_edit)) {
            json d = json::object();
            dest_settings(o_edit, d);
            std::string a = d["address"].get<std::string>();
            uint32_t port = d.contains("port") ? d["port"].get<uint32_t>() : cur->port;
            json found;
            for (auto& x : s["dests"])
                if (IpAddr::parse(x["address"].get<std::string>()) == IpAddr::parse(a) && x["port"] == port) found = x;
            if (found.is_null()) {
                arg_ip("dest " + o_edit.real, "address", a);
                throw_input("dest " + o_edit.real + " of " + key.key(), "address", o_edit.real, "no such destination");
            }
            for (auto* f : {"active", "inactive", "persistent_conns", "stats"}) found.erase(f);
            if ((o_edit.masq || o_edit.gate) && !o_edit.ipip) { found.erase("tun_type"); found.erase("tun_port"); }
            found.update(d);
            if (found["forward"] != "tunnel") { found.erase("tun_type"); found.erase("tun_port"); }
            s["dests"] = json::array({found});
            IpvsService spec = IpvsService::from_json(s);
            auto ch = ipvs_edit_dest(h, key, spec.dests[0]);
            report(g, ch, to_json(ch));
        } else {
            s["dests"] = json::array();
            service_settings(o_edit, s);
            IpvsService spec = IpvsService::from_json(s);
            auto ch = ipvs_edit_service(h, spec);
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
        IpvsService key = IpvsService::from_json(key_json(o_del));
        if (o_del.drain && !has_dest(o_del)) throw_input("service " + key.key(), "drain", std::to_string(o_del.drain), "needs -r (a destination)");
        if (has_dest(o_del)) {
            json d = json::object();
            dest_settings(o_del, d);
            IpvsDest dd;
            std::string a = d["address"].get<std::string>();
            dd.addr = arg_ip("dest " + o_del.real, "address", a);
            if (dd.addr.family != key.af)
                throw_input("dest " + o_del.real + " of " + key.key(), "address", a, "address family differs from the service's");
            dd.port = d.contains("port") ? d["port"].get<uint16_t>() : key.port;
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
        IpvsApplyStats st;
        std::vector<std::string> unchanged;
        auto ch = ipvs_apply_set(h, set, prune, &st, &unchanged);
        std::string summary = fmt::format("{} added, {} edited, {} removed, {} unchanged{}", st.added, st.edited, st.removed,
                                          st.unchanged, st.writes ? fmt::format(" ({} writes in one batch)", st.writes)
                                                                  : " (no write issued)");
        if (g.json_out()) {
            write_apply_report(g, st, ch, unchanged);
            if (!g.quiet) fmt::print(stderr, "ovnet-ipvs: {}\n", summary);
        } else {
            if (!ch.empty() && ch.size() <= 50)
                for (auto& c : ch) fmt::print("{} {}\n", c.action_name(), c.object());
            fmt::print("{}\n", summary);
        }
    });

    auto* zero = app.verb("zero", "Zero the counters of one service, or of all (ipvsadm -Z)", VerbKind::Mutating);
    add_key_opts(zero, o_zero);
    zero->footer(kFooter);
    zero->callback([&] {
        std::optional<IpvsService> key;
        if (!o_zero.tcp.empty() || !o_zero.udp.empty() || !o_zero.sctp.empty() || !o_zero.fwmark.empty())
            key = IpvsService::from_json(key_json(o_zero));
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
