// ovnet-trace: the journey of one packet, hop by hop, computed from the kernel's state (live) or
// from ovnet-inspect snapshots (--snapshot). Exit 0 delivered, 1 dropped, 2 bad input.
#include <fcntl.h>
#include <unistd.h>

#include <cstring>
#include <set>

#include "common.hpp"
#include "ovnet/snapshot_diff.hpp"
#include "ovnet/trace.hpp"
#include "ovnet/trace_counters.hpp"
#ifdef OVNET_HAVE_PCAP
#include "probe.hpp"
#endif

using namespace ovnet;
using namespace ovnet::tool;

namespace {

std::vector<json> read_snapshots(const std::string& path) {
    std::string what = path == "-" ? "stdin" : path;
    std::string text = read_path_all(path);
    std::vector<json> docs;
    for_each_json_span(std::string_view(text), what, [&](std::string_view s, size_t) { docs.push_back(trace_snapshot_read(s)); });
    if (docs.empty()) throw Error(ErrorKind::Input, what + ": not an ovnet-inspect snapshot (no JSON value)");
    for (auto& d : docs) check_snapshot(d, what);
    return docs;
}

// One conntrack entry of the probe: "conntrack NS: ORIG: DNAT to ... (computed DNAT to ...): agrees".
std::string ct_line(const json& c) {
    auto list = [](const json& a) {
        std::string s;
        for (auto& x : a) s += (s.empty() ? "" : ", ") + x.get<std::string>();
        return s.empty() ? std::string("no NAT") : s;
    };
    return "conntrack " + c["netns"].get<std::string>() + ": " +
           (c["orig"].is_null() ? std::string("no entry") : c["orig"].get<std::string>() + ": " + list(c["nat"])) +
           " (computed " + list(c["computed"]) + "): " + (c["agrees"].get<bool>() ? "agrees" : "DIFFERS");
}

// The probe's IPVS connection: "ipvs NS: CLIENT -> VIRTUAL picked REAL (STATE); computed [..]: agrees".
std::string ipvs_line(const json& c) {
    std::string comp;
    for (auto& x : c["computed"]) comp += (comp.empty() ? "" : ", ") + x.get<std::string>();
    bool ok = c["agrees"].get<bool>();
    return "ipvs " + c["netns"].get<std::string>() + ": " + c["client"].get<std::string>() + " -> " + c["virtual"].get<std::string>() +
           (c["real"].is_null() ? ok ? std::string(" no connection (dropped before IPVS)") : std::string(" no connection")
                                : " picked " + c["real"].get<std::string>() + " (" + c["state"].get<std::string>() + ")") +
           "; computed [" + comp + "]: " + (ok ? "agrees" : "DIFFERS");
}

// The probe's moved counters, one "moved NETNS: rule ... +1; link eth0 tx+1 rx+1" line per
// namespace where something moved, in the path's order.
std::vector<std::string> moved_lines(const json& pr) {
    std::vector<std::string> out;
    std::vector<CounterMove> ms;
    auto flush = [&] {
        if (!ms.empty()) out.push_back("moved " + ms.front().netns + ": " + counters_line(ms));
        ms.clear();
    };
    for (auto& x : pr["moved"]) {
        CounterMove m;
        m.netns = x["netns"].get<std::string>(), m.kind = x["kind"].get<std::string>(), m.object = x["object"].get<std::string>();
        m.packets = x["packets"].get<uint64_t>();
        m.rx = x.value("rx", uint64_t(0)), m.tx = x.value("tx", uint64_t(0));
        if (!ms.empty() && ms.front().netns != m.netns) flush();
        ms.push_back(std::move(m));
    }
    flush();
    return out;
}

void print_table(const json& doc) {
    auto& pk = doc["packet"];
    fmt::print("{} {} {} -> {}{}  from {} {}{}\n", doc["mode"].get<std::string>(), pk["proto"].get<std::string>(),
               cell(pk["src"]), pk["dst"].get<std::string>(), pk["dport"].is_null() ? "" : ":" + pk["dport"].dump(),
               doc["start"]["kind"].get<std::string>(), doc["start"]["netns"].get<std::string>(),
               doc["start"]["iif"].is_null() ? "" : " iif " + doc["start"]["iif"].get<std::string>());
    // --probe: the observed column beside the compared path's netfilter hops (the kernel's rule
    // trace): "ran" when the kernel ran that rule or policy, "not run" where it traced the packet
    // and did not
    const json* prd = doc.contains("probe") ? &doc["probe"] : nullptr;
    std::set<size_t> ran;
    std::set<std::string> traced;
    if (prd) {
        for (auto& x : (*prd)["rules"])
            if (x["hop"].is_number()) ran.insert(x["hop"].get<size_t>());
        for (auto& x : (*prd)["traced"]) traced.insert(x.get<std::string>());
    }
    size_t n = 0;
    for (auto& p : doc["paths"]) {
        if (doc["paths"].size() > 1) fmt::print("\npath {}\n", ++n);
        for (auto& a : p["assumptions"]) fmt::print("  assumes: {}\n", a.get<std::string>());
        bool observed = prd && &p == &doc["paths"][(*prd)["path"].get<size_t>()];
        std::vector<std::string> head{"NETNS", "STAGE", "OBJECT", "ENTRY", "EFFECT", "PKTS", "PACKET"};
        if (observed) head.push_back("KERNEL RAN");
        Table t(head);
        size_t i = 0;
        for (auto& h : p["hops"]) {
            auto& q = h["packet"];
            std::string pkt = cell(q["src"]) + (q["sport"].is_number() && q["sport"] != 0 ? ":" + q["sport"].dump() : "") + " > " +
                              cell(q["dst"]) + (q["dport"].is_number() ? ":" + q["dport"].dump() : "") +
                              (q["mark"] != 0 ? " mark " + q["mark_hex"].get<std::string>() : "") +
                              (q["vni"].is_null() ? "" : " vni " + q["vni"].dump());
            std::vector<std::string> row{h["netns"].get<std::string>(), h["stage"].get<std::string>(), h["object"].get<std::string>(),
                                         h["entry"].get<std::string>(), h["effect"].get<std::string>(),
                                         h["packets"].is_null() ? "-" : h["packets"].dump(), pkt};
            if (observed)
                row.push_back(ran.count(i) ? "ran"
                              : h["stage"] == "netfilter" && traced.count(h["netns"].get<std::string>()) ? "NOT RUN"
                                                                                                     : "");
            t.row(row);
            i++;
        }
        t.print(stdout);
        std::string out = p["outcome"].get<std::string>();
        if (!p["code"].is_null()) out += " " + p["code"].get<std::string>() + ": " + p["reason"].get<std::string>();
        else if (!p["reason"].is_null()) out += ": " + p["reason"].get<std::string>();
        fmt::print("{}\n", out);
        if (!p["fix"].is_null()) fmt::print("fix: {}\n", p["fix"].get<std::string>());
    }
    if (doc.contains("probe")) {
        auto& pr = doc["probe"];
        fmt::print("\nprobe: {} ({})\n", pr["outcome"].get<std::string>(), pr["answer"].get<std::string>());
        for (auto& x : pr["seen"])
            fmt::print("  {} packet(s) leaving {} {}\n", x["packets"].dump(), x["netns"].get<std::string>(), x["iface"].get<std::string>());
        for (auto& c : pr["conntrack"]) fmt::print("  {}\n", ct_line(c));
        for (auto& c : pr["ipvs"]) fmt::print("  {}\n", ipvs_line(c));
        for (auto& l : moved_lines(pr)) fmt::print("  {}\n", l);
        for (auto& x : pr["rules"])   // the observed path; a rule the computed one lacks is marked
            fmt::print("  kernel ran {} {} {}: {} -> {}{}\n", x["netns"].get<std::string>(), x["table"].get<std::string>(),
                       x["chain"].get<std::string>(), x["rule"].is_null() ? std::string("?") : x["rule"].get<std::string>(),
                       x["verdict"].get<std::string>(), x["computed"].get<bool>() ? "" : " (NOT computed)");
        for (auto& x : pr["nftrace"]) fmt::print("  nftrace: {}\n", x.get<std::string>());
        if (!pr["rules_agree"].get<bool>()) fmt::print("RULES DIFFER: {}\n", pr["rules_differ"].get<std::string>());
        fmt::print("{}\n", pr["agrees"].get<bool>() ? "the probe agrees with the computed trace" : "DIFFERS: " + pr["differs"].get<std::string>());
    }
}

}  // namespace

int main(int argc, char** argv) {
    App app("ovnet-trace", "The journey of one packet through the overlay, hop by hop, computed from the kernel's state.");
    auto& g = app.g;
    app.cli.require_subcommand(0, 0);
    app.cli.remove_option(app.cli.get_option("--netns"));
    app.cli.remove_option(app.cli.get_option("--quiet"));
    std::string from, iif, src, proto, dst, lb_dst, mark_s;
    std::vector<std::string> snapshots;
    std::string netns_prefix;
    uint32_t size = 0;
    uint16_t sport = 0;
    bool no_df = false, minimal = false, dot = false, dropped = false, do_probe = false;
    app.cli.add_option("--from", from,
                       "Where the packet starts: a sandbox (namespace or container name), sent by a process in it; "
                       "'client': an external client on the underlay, arriving at the node owning the destination")
        ->required()->type_name("SANDBOX");
    app.cli.add_option("--iif", iif, "The packet arrives on this interface of --from's namespace (needs --src)")->type_name("IFACE");
    app.cli.add_option("--src", src, "Source address (default: the route's; a client: 198.51.100.10)")->type_name("ADDR");
    app.cli.add_option("--sport", sport, "Source port (default 40000)")->type_name("PORT");
    app.cli.add_option("--mark", mark_s, "The packet's firewall mark as it starts (decimal or 0x hex)")->type_name("MARK");
    app.cli.add_option("--size", size, "IP packet size in bytes (default: a SYN, an empty datagram, a ping)")->type_name("BYTES");
    app.cli.add_flag("--no-df", no_df, "The packet may be fragmented (DF clear)");
    app.cli.add_option("--lb-dst", lb_dst, "IPVS: follow this destination instead of one path per candidate")->type_name("ADDR");
    app.cli.add_option("--snapshot", snapshots,
                       "Trace offline over ovnet-inspect snapshots (repeatable; a file may hold several; - for stdin)")
        ->type_name("FILE");
    app.cli.add_option("--netns-prefix", netns_prefix,
                       "Live: look only at the namespaces whose names start with P (a lab's: ovnet-lab's tour passes it)")
        ->type_name("P");
    app.cli.add_flag("--minimal", minimal, "A stable short form: one line per hop and the outcome");
    app.cli.add_flag("--dot", dot, "The journey as a Graphviz graph (dot -Tsvg)");
    app.cli.add_flag("--probe", do_probe,
                     "Also send one real packet (from the sandbox; from a client or --iif: from a throwaway namespace on the bridge the "
                     "start interface's peer is on), watch the path's devices, read its conntrack entries and the counters it moved, and say whether it agrees");
    app.cli.add_option("PROTO", proto, "tcp, udp or icmp")->required();
    app.cli.add_option("DST", dst, "Destination ADDR:PORT (icmp: ADDR)")->required();
    app.cli.callback([&] {
        if (do_probe && !snapshots.empty()) throw Error(ErrorKind::Input, "--probe: sends a real packet: not with --snapshot");
        TracePacket p = TracePacket::parse(proto, dst);
        if (!src.empty()) {
            p.src = arg_ip("packet", "--src", src);
            if (p.src.family != AF_INET) throw Error(ErrorKind::Input, "packet: --src \"" + src + "\": IPv6 is not traced yet");
        }
        if (sport) {
            if (p.proto == "icmp") throw Error(ErrorKind::Input, "packet: --sport: icmp has no ports");
            p.sport = sport;
        }
        if (!mark_s.empty()) {
            char* end = nullptr;
            errno = 0;
            unsigned long v = std::strtoul(mark_s.c_str(), &end, 0);
            if (mark_s[0] == '-' || !end || *end || errno || v > 0xffffffffUL)
                throw Error(ErrorKind::Input, "packet: --mark \"" + mark_s + "\": must be 0..4294967295 (or 0x hex)");
            p.mark = uint32_t(v);
        }
        if (size) {
            if (size < 20 || size > 65535) throw Error(ErrorKind::Input, "packet: --size \"" + std::to_string(size) + "\": must be 20..65535");
            p.size = size;
        }
        p.df = !no_df;
        TraceStart s;
        s.netns = from;
        if (from == "client") s.kind = "client";
        else if (!iif.empty()) s.kind = "netns";
        s.iif = iif;
        TraceOptions o;
        if (!lb_dst.empty()) o.lb_dst = arg_ip("packet", "--lb-dst", lb_dst);
        std::unique_ptr<TraceWorld> w;
        if (!snapshots.empty()) {
            std::vector<json> docs;
            for (auto& f : snapshots)
                for (auto& d : read_snapshots(f)) docs.push_back(std::move(d));
            w = std::make_unique<SnapshotWorld>(std::move(docs));
        } else {
            w = live_world(netns_prefix);
        }
        TraceResult r = trace_packet(*w, s, p, o);
        dropped = !r.delivered();
        json pr;
        if (do_probe) {
#ifdef OVNET_HAVE_PCAP
            pr = probe(r, *w);
#else
            throw Error(ErrorKind::Input, "--probe: this ovnet-trace was built without libpcap");
#endif
        }
        if (dot) {
            fmt::print("{}", r.dot());
        } else if (minimal) {
            fmt::print("{}", r.minimal());
            if (do_probe) {
                std::string seen;
                for (auto& x : pr["seen"])
                    if (x["packets"] != 0) seen += (seen.empty() ? "" : ", ") + x["netns"].get<std::string>() + " " + x["iface"].get<std::string>();
                // the NAT the kernel really did, where some was done or computed
                for (auto& c : pr["conntrack"])
                    if (!c["nat"].empty() || !c["computed"].empty()) fmt::print("probe {}\n", ct_line(c));
                for (auto& c : pr["ipvs"]) fmt::print("probe {}\n", ipvs_line(c));
                for (auto& l : moved_lines(pr)) fmt::print("probe {}\n", l);
                if (!pr["agrees"].get<bool>() && pr["differs"].is_string()) fmt::print("probe differs: {}\n", pr["differs"].get<std::string>());
                if (!pr["rules_agree"].get<bool>()) fmt::print("probe rules differ: {}\n", pr["rules_differ"].get<std::string>());
                fmt::print("probe {} ({}), seen leaving: {}; {}\n", pr["outcome"].get<std::string>(), pr["answer"].get<std::string>(),
                           seen.empty() ? "nowhere" : seen, pr["agrees"].get<bool>() ? "agrees" : "DIFFERS");
            }
        } else {
            json doc = r.to_json();
            if (do_probe) doc["probe"] = pr;
            emit(g, doc, print_table);
        }
    });
    int rc = app.run(argc, argv);
    return rc == 0 && dropped ? 1 : rc;
}
