// ovnet-crypt: encrypted overlays as Docker's `--opt encrypted`: ESP transport-mode SAs between this
// node and its peers, the outbound policy for the overlay's data port, and the iptables rules that
// mark the overlay's VXLAN packets and drop them when they arrive unencrypted.
#include <linux/netlink.h>

#include <algorithm>
#include <functional>

#include "common.hpp"
#include "ovnet/crypt.hpp"

using namespace ovnet;
using namespace ovnet::tool;

namespace {

struct Opts {
    uint32_t vni = 0;
    uint16_t port = 4789;
    std::string local, key_file;
    std::vector<std::string> peers;
    bool stdin_peers = false;
    bool pair_keys = false;
};

void add_overlay_opts(CLI::App* v, Opts& o, bool keys) {
    v->add_option("--vni", o.vni, "The overlay's VNI, 1..16777215")->required()->type_name("VNI");
    v->add_option("--port", o.port, "The overlay's UDP data port (default 4789)")->type_name("PORT");
    v->add_option("--local", o.local, "This node's underlay address (IPv4)")->required()->type_name("IP");
    v->add_option("--peer", o.peers, "A peer node's underlay address (repeatable)")->type_name("IP");
    if (keys)
        v->add_flag("--peers-from-stdin", o.stdin_peers,
                    "Also the peers named on stdin: the \"vtep\" of every row `ovnet-fdb local -j` printed on the "
                    "other hosts (each address once)");
    if (keys)
        v->add_flag("--pair-keys", o.pair_keys,
                    "Derive a key per node pair and direction (HKDF-SHA256 of the cluster key and both addresses) "
                    "instead of Docker's one shared key; every node must use it");
    if (keys)
        v->add_option("--key-file", o.key_file, "Keys, one \"<tag> <32 hex digits>\" line each, primary first; "
                                                "mode 0600; - for stdin")->required()->type_name("FILE");
}

// The distinct underlay addresses ("vtep") of peer rows read on stdin (ovnet-fdb local -j output).
void stdin_peers(const std::string& obj, const IpAddr& local, std::vector<IpAddr>& out) {
    std::function<void(const json&)> take = [&](const json& j) {
        if (j.is_array()) {
            for (auto& e : j) take(e);
            return;
        }
        require_object(j, "stdin peer row");
        if (!j.contains("vtep") || j["vtep"].is_null()) return;   // a row without an underlay address
        IpAddr a = arg_ip(obj, "vtep", get_string(j, "vtep", "stdin peer row"));
        if (a != local && std::find(out.begin(), out.end(), a) == out.end()) out.push_back(a);
    };
    for (auto& j : read_stdin("stdin")) take(j);
}

CryptOverlay overlay_of(const Opts& o, bool need_peers = false) {
    CryptOverlay ov;
    ov.vni = o.vni;
    ov.port = o.port;
    std::string obj = fmt::format("overlay {}", o.vni);
    ov.local = arg_ip(obj, "local", o.local);
    for (auto& p : o.peers) ov.peers.push_back(arg_ip(obj, "peer", p));
    if (o.stdin_peers) {
        if (o.key_file == "-") throw_input(obj, "key-file", "-", "stdin carries the peers (--peers-from-stdin): give the keys in a file");
        stdin_peers(obj, ov.local, ov.peers);
    }
    if (need_peers && ov.peers.empty()) throw_input(obj, "peer", "", "give --peer or --peers-from-stdin with at least one peer");
    validate_crypt_overlay(ov);
    return ov;
}

// The one set report (tools/common.hpp): the overlay's head members, the summary (writes: netlink
// writes and iptables-restore runs) and every change. A policy moved to another SPI and a chain
// rewritten are "replaced".
void report_overlay(const Global& g, const CryptOverlay& ov, const Changes& ch, size_t writes) {
    ChangeStats st = count(ch);
    st.writes = writes;
    report_set(g, fmt::format("overlay {}", ov.vni), "replaced",
               {{"vni", std::to_string(ov.vni)}, {"port", std::to_string(ov.port)}, {"local", json(ov.local.str()).dump()}},
               ch, st);
}

// add/apply/rotate: the keys' SAs and policies for the peers, then the overlay's rules.
void converge(Global& g, const Opts& o, bool prune, bool rotate) {
    CryptOverlay ov = overlay_of(o, !prune);
    CryptKeys keys = crypt_keys_read(o.key_file);
    keys.pair_keys = o.pair_keys;
    if (rotate && keys.keys.size() < 2)
        throw_input("key file " + o.key_file, "keys", "1", "rotate needs the new primary key first and the old key after it");
    Handle xh(g.netns, NETLINK_XFRM);
    Xfrm cur = xfrm_read(xh);
    auto plan = crypt_plan(crypt_owned_sas(cur, ov.local), crypt_owned_policies(cur, ov.local),
                           crypt_desired_sas(ov.local, ov.peers, keys),
                           crypt_desired_policies(ov.local, ov.peers, ov.port, keys), ov.local,
                           prune ? std::vector<IpAddr>{} : ov.peers, prune);
    if (prune) {
        // Other data ports' policies are another overlay's: apply converges this port only.
        std::erase_if(plan.pol_del, [&](const CryptPolicy& p) { return p.dport != ov.port; });
        std::erase_if(plan.changes, [&](const Change& c) {
            return c.action == Action::Removed && c.object.starts_with("policy ") &&
                   !c.object.ends_with(fmt::format(" dport {}", ov.port));
        });
    }
    size_t writes = crypt_execute(xh, plan);
    size_t restores = 0;
    Changes ch = plan.changes;
    for (auto& c : ipt_apply(g.netns, crypt_chains(ov.vni, ov.port, false), &restores)) ch.push_back(c);
    report_overlay(g, ov, ch, writes + restores);
}

void del(Global& g, const Opts& o) {
    CryptOverlay ov = overlay_of(o);
    Handle xh(g.netns, NETLINK_XFRM);
    Xfrm cur = xfrm_read(xh);
    auto have_sas = crypt_owned_sas(cur, ov.local);
    auto have_pols = crypt_owned_policies(cur, ov.local);
    Changes ch;
    size_t writes = 0;
    if (!ov.peers.empty()) {
        // Only these peers' SAs and policies; the overlay's rules stay.
        auto plan = crypt_plan(have_sas, have_pols, {}, {}, ov.local, ov.peers, true);
        writes = crypt_execute(xh, plan);
        ch = plan.changes;
    } else {
        size_t restores = 0;
        IptState st = ipt_read(g.netns);
        // Rules first: the overlay's packets stop being marked before their SAs go.
        ch = ipt_apply(g.netns, crypt_chains(ov.vni, ov.port, true), &restores);
        writes += restores;
        std::string mine = crypt_chain(ov.vni);
        bool port_used = false, any_used = false;
        for (auto& c : st.table("mangle").chains) {
            if (!c.starts_with(kCryptChainPrefix) || c == mine) continue;
            any_used = true;
            for (auto& r : st.table("mangle").chain_rules(c))
                if (r.find(fmt::format("--dport {} ", ov.port)) != std::string::npos) port_used = true;
        }
        CryptPlan plan;
        if (!port_used)
            for (auto& p : have_pols)
                if (p.dport == ov.port) plan.pol_del.push_back(p), plan.changes.emplace_back(Action::Removed, p.label());
        if (!any_used)
            for (auto& s : have_sas) plan.sa_del.push_back(s), plan.changes.emplace_back(Action::Removed, s.label());
        writes += crypt_execute(xh, plan);
        ch.insert(ch.end(), plan.changes.begin(), plan.changes.end());
    }
    report_overlay(g, ov, ch, writes);
}

void show_table(const json& doc) {
    Table t({"DIR", "SRC", "DST", "SPI", "ALG", "KEY", "FINGERPRINT", "PACKETS", "BYTES", "REPLAY-ERR", "INTEGRITY-ERR", "SEQ/LIMIT"});
    for (auto& s : doc["sas"]) {
        uint64_t seq = s["dir"] == "out" ? s["oseq"].get<uint64_t>() : s["seq"].get<uint64_t>();
        t.row({s["dir"].get<std::string>(), s["src"].get<std::string>(), s["dst"].get<std::string>(), s["spi"].get<std::string>(),
               s["alg"].get<std::string>(), fmt::format("{}b/icv{}", s["key_bits"].get<uint32_t>(), s["icv_bits"].get<uint32_t>()),
               s.contains("key") ? s["key"].get<std::string>() : cell(s["key_fingerprint"]),
               std::to_string(s["packets"].get<uint64_t>()), std::to_string(s["bytes"].get<uint64_t>()),
               std::to_string(s["replay_errors"].get<uint32_t>() + s["replay_window_errors"].get<uint32_t>()),
               std::to_string(s["integrity_errors"].get<uint32_t>()),
               fmt::format("{}/{}", seq, s["seq_limit"].get<uint64_t>())});
    }
    t.print(stdout);
    fmt::print("\n");
    Table p({"POLICY", "SRC", "DST", "DPORT", "MARK", "SPI"});
    for (auto& x : doc["policies"])
        p.row({"out", x["src"].get<std::string>(), x["dst"].get<std::string>(), std::to_string(x["dport"].get<int>()),
               x["mark"].get<std::string>() + "/" + x["mark_mask"].get<std::string>(), x["spi"].get<std::string>()});
    p.print(stdout);
    bool head = false;
    for (auto& s : doc["xfrm_stat"]) {
        if (s["value"].get<uint64_t>() == 0) continue;
        if (!head) fmt::print("\nxfrm errors (/proc/net/xfrm_stat):\n"), head = true;
        fmt::print("  {} {}{}\n", s["name"].get<std::string>(), s["value"].get<uint64_t>(),
                   s.contains("cause") ? " (" + s["cause"].get<std::string>() + ")" : "");
    }
}

}  // namespace

int main(int argc, char** argv) {
    App app("ovnet-crypt", "Encrypted overlays as Docker's --opt encrypted: ESP SAs, policies and the overlay's rules.");
    auto& g = app.g;
    Opts o;
    bool show_keys = false;
    std::string local;

    auto* show = app.verb("show", "List the ESP SAs (reqid 0xD0C4E3) with counters, the outbound policies and the "
                                  "kernel's xfrm error counters with their likely causes");
    show->add_option("--local", local, "Only SAs and policies of this local address")->type_name("IP");
    show->add_flag("--show-keys", show_keys, "Print the SAs' keys (key and salt) instead of their fingerprints");
    show->callback([&] {
        std::optional<IpAddr> only = arg_opt_ip("show", "local", local);
        Handle xh(g.netns, NETLINK_XFRM);
        json sas = json::array(), pols = json::array(), stats = json::array();
        for (auto& s : crypt_sa_status(xh, show_keys)) {
            if (only && s.sa.src != *only && s.sa.dst != *only) continue;
            // The direction is known relative to a local address; without --local, from the policies.
            s.sa.dir = only ? (s.sa.src == *only ? "out" : "in") : "";
            sas.push_back(schema::to_dom(s));
        }
        Xfrm cur = xfrm_read(xh);
        for (auto& p : cur.policies) {
            if (p.dir != "out" || p.mark != kCryptMark || p.proto != IPPROTO_UDP) continue;
            if (only && p.src.addr != *only) continue;
            for (auto& c : crypt_owned_policies(Xfrm{{}, {p}}, p.src.addr)) pols.push_back(schema::to_dom(c));
        }
        if (!only) {
            // Outbound are the SAs whose source some policy of ours sends from.
            for (auto& s : sas) {
                bool out = false;
                for (auto& p : pols) out = out || p["src"] == s["src"];
                s["dir"] = out ? "out" : "in";
            }
        }
        for (auto& s : xfrm_stat_read(g.netns)) stats.push_back(schema::to_dom(s));
        emit(g, json{{"sas", sas}, {"policies", pols}, {"xfrm_stat", stats}}, show_table);
    });

    auto* add = app.verb("add", "Encrypt an overlay between this node and the given peers (other peers are kept)", VerbKind::Mutating);
    add_overlay_opts(add, o, true);
    add->callback([&] { converge(g, o, false, false); });

    auto* apply = app.verb("apply", "Converge to exactly the given peers and keys in one batch: peers that left "
                                    "lose their SAs and policies, old keys' SAs go", VerbKind::Mutating);
    add_overlay_opts(apply, o, true);
    apply->callback([&] { converge(g, o, true, false); });

    auto* rotate = app.verb("rotate", "Switch to a new primary key without loss: its SAs first, then the policies, "
                                      "then the old outbound SAs go (the key file: new key, then the old one)", VerbKind::Mutating);
    add_overlay_opts(rotate, o, true);
    rotate->callback([&] { converge(g, o, true, true); });

    auto* d = app.verb("del", "Remove an overlay's rules, and its SAs and policies when no other encrypted overlay "
                              "needs them; with --peer only those peers' SAs and policies", VerbKind::Mutating);
    add_overlay_opts(d, o, false);
    d->callback([&] { del(g, o); });

    return app.run(argc, argv);
}
