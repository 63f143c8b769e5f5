#include "ovnet/iptables.hpp"

#include <linux/netfilter_ipv4/ip_tables.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <optional>
#include <fmt/format.h>
#include <set>
#include <sstream>

#include "ovnet/error.hpp"
#include "ovnet/netns.hpp"

namespace ovnet {

namespace {

const std::set<std::string>& known_tables() {
    static const std::set<std::string> t{"filter", "nat", "mangle", "raw", "security"};
    return t;
}

bool is_builtin(const std::string& chain) {
    static const std::set<std::string> b{"PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING"};
    return b.count(chain) != 0;
}

std::string env_or(const char* name, const char* def) {
    const char* v = std::getenv(name);
    return v && *v ? v : def;
}

}  // namespace

bool IptTable::has_chain(const std::string& c) const {
    return std::find(chains.begin(), chains.end(), c) != chains.end();
}

const std::vector<std::string>& IptTable::chain_rules(const std::string& c) const {
    static const std::vector<std::string> none;
    auto it = rules.find(c);
    return it == rules.end() ? none : it->second;
}

const IptTable& IptState::table(const std::string& name) const {
    static const IptTable empty;
    auto it = tables.find(name);
    return it == tables.end() ? empty : it->second;
}

IptState IptState::parse(const std::string& text) {
    IptState st;
    std::istringstream in(text);
    std::string line;
    IptTable* cur = nullptr;
    size_t n = 0;
    while (std::getline(in, line)) {
        n++;
        if (!line.empty() && line.back() == '\r') line.pop_back();
        if (line.empty() || line[0] == '#') continue;
        auto bad = [&](const char* why) {
            throw Error(ErrorKind::Runtime, fmt::format("iptables-save output line {}: {}: \"{}\"", n, why, line.substr(0, 80)));
        };
        if (line[0] == '*') {
            std::string name = line.substr(1);
            cur = &st.tables[name];
            cur->name = name;
        } else if (line == "COMMIT") {
            cur = nullptr;
        } else if (line[0] == ':') {
            if (!cur) bad("chain outside a table");
            auto sp = line.find(' ');
            std::string c = line.substr(1, sp == std::string::npos ? std::string::npos : sp - 1);
            if (!cur->has_chain(c)) cur->chains.push_back(c);
            cur->rules[c];
        } else if (line.rfind("-A ", 0) == 0) {
            if (!cur) bad("rule outside a table");
            auto sp = line.find(' ', 3);
            std::string c = line.substr(3, sp == std::string::npos ? std::string::npos : sp - 3);
            std::string spec = sp == std::string::npos ? std::string() : line.substr(sp + 1);
            cur->rules[c].push_back(spec);
        } else if (line[0] == '[') {
            // "[pkts:bytes] -A ..." (iptables-save -c): drop the counters.
            auto e = line.find("] ");
            if (e == std::string::npos) bad("unreadable counters");
            std::string rest = line.substr(e + 2);
            if (rest.rfind("-A ", 0) != 0 || !cur) bad("unreadable rule");
            auto sp = rest.find(' ', 3);
            std::string c = rest.substr(3, sp == std::string::npos ? std::string::npos : sp - 3);
            cur->rules[c].push_back(sp == std::string::npos ? std::string() : rest.substr(sp + 1));
        } else {
            bad("unexpected line");
        }
    }
    return st;
}

void validate_ipt_chain(const IptChain& c) {
    std::string obj = "chain " + c.table + " " + c.chain;
    if (!known_tables().count(c.table)) throw_input(obj, "table", c.table, "unknown table");
    if (c.chain.rfind(kOwnedChainPrefix, 0) != 0 || c.chain.size() > 28 ||
        c.chain.find_first_of(" \t\n") != std::string::npos)
        throw_input(obj, "chain", c.chain, "owned chains are named OVNET-* (at most 28 bytes, no blanks)");
    for (auto& r : c.rules)
        if (r.empty() || r.find('\n') != std::string::npos || r.find('\r') != std::string::npos)
            throw_input(obj, "rule", r, "a rule is one non-empty line");
    for (auto& h : c.hooks) {
        if (!is_builtin(h.chain)) throw_input(obj, "hook", h.chain, "hooks come from built-in chains");
        std::string tail = "-j " + c.chain;
        if (h.spec.size() < tail.size() || h.spec.compare(h.spec.size() - tail.size(), tail.size(), tail) != 0 ||
            h.spec.find('\n') != std::string::npos)
            throw_input(obj, "hook", h.spec, "a hook must end with \"" + tail + "\"");
    }
}

IptPlan ipt_plan(const IptState& current, const std::vector<IptChain>& desired) {
    for (auto& c : desired) validate_ipt_chain(c);
    IptPlan plan;
    // Group by table, keeping the order tables first appear in.
    std::vector<std::string> order;
    for (auto& c : desired)
        if (std::find(order.begin(), order.end(), c.table) == order.end()) order.push_back(c.table);
    for (auto& tname : order) {
        const IptTable& cur = current.table(tname);
        std::vector<std::string> decl, hook_del, rules, hook_add, chain_del;
        for (auto& c : desired) {
            if (c.table != tname) continue;
            std::string obj = "chain " + tname + " " + c.chain;
            bool exists = cur.has_chain(c.chain);
            if (c.rules.empty()) {
                if (!exists) {
                    // Stray hooks into a missing chain cannot exist (iptables refuses them).
                    plan.changes.push_back(Change::with_detail(Action::Unchanged, obj, json{{"reason", "absent"}}));
                    continue;
                }
                for (auto& h : c.hooks)
                    for (auto& r : cur.chain_rules(h.chain))
                        if (r == h.spec) hook_del.push_back(fmt::format("-D {} {}", h.chain, h.spec));
                // Any other jump into the chain from a built-in chain would make -X fail: remove it too.
                for (auto& bc : cur.chains) {
                    if (!is_builtin(bc)) continue;
                    for (auto& r : cur.chain_rules(bc)) {
                        bool listed = false;
                        for (auto& h : c.hooks) listed |= h.chain == bc && h.spec == r;
                        std::string tail = "-j " + c.chain;
                        if (!listed && r.size() >= tail.size() && r.compare(r.size() - tail.size(), tail.size(), tail) == 0)
                            hook_del.push_back(fmt::format("-D {} {}", bc, r));
                    }
                }
                decl.push_back(fmt::format(":{} - [0:0]", c.chain));
                chain_del.push_back(fmt::format("-X {}", c.chain));
                plan.changes.push_back(Change::with_detail(Action::Removed, obj, json{{"rules", cur.chain_rules(c.chain)}}));
                continue;
            }
            bool same = exists && cur.chain_rules(c.chain) == c.rules;
            std::vector<std::string> missing_hooks;
            for (auto& h : c.hooks) {
                auto& br = cur.chain_rules(h.chain);
                if (std::find(br.begin(), br.end(), h.spec) == br.end())
                    missing_hooks.push_back(fmt::format("-I {} 1 {}", h.chain, h.spec));
            }
            if (!same) {
                decl.push_back(fmt::format(":{} - [0:0]", c.chain));
                for (auto& r : c.rules) rules.push_back(fmt::format("-A {} {}", c.chain, r));
                plan.changes.push_back(Change::with_detail(exists ? Action::Changed : Action::Added, obj,
                                                           json{{"rules", c.rules}}, exists ? "replaced" : nullptr));
            }
            for (auto& h : missing_hooks) hook_add.push_back(h);
            if (same && !missing_hooks.empty())
                plan.changes.push_back(Change::with_detail(Action::Added, obj + " hooks", json{{"hooks", missing_hooks}}));
            if (same && missing_hooks.empty()) plan.changes.push_back(Change{Action::Unchanged, obj});
        }
        if (decl.empty() && hook_del.empty() && rules.empty() && hook_add.empty() && chain_del.empty()) continue;
        plan.payload += "*" + tname + "\n";
        for (auto* v : {&decl, &hook_del, &rules, &hook_add, &chain_del})
            for (auto& l : *v) plan.payload += l + "\n";
        plan.payload += "COMMIT\n";
        plan.tables++;
    }
    return plan;
}

namespace {

std::string first_line(const std::string& s) {
    std::istringstream in(s);
    std::string l, last;
    while (std::getline(in, l))
        if (!l.empty()) return l;
    return {};
}

[[noreturn]] void fail_exec(const std::string& bin, const ExecResult& r, const char* env) {
    if (r.err)
        throw Error(ErrorKind::Runtime,
                    fmt::format("cannot run {}: {} (install iptables, or set {})", bin, std::strerror(r.err), env), r.err);
    std::string msg = first_line(r.errout);
    throw Error(ErrorKind::Runtime,
                fmt::format("{} failed (exit status {}){}{}", bin, r.status, msg.empty() ? "" : ": ", msg));
}

}  // namespace

std::string ipt_save_text(const std::string& netns_path) {
    std::string bin = env_or("OVNET_IPTABLES_SAVE", "iptables-save");
    auto r = exec_in_netns(netns_path, {bin});
    if (r.status != 0) fail_exec(bin, r, "OVNET_IPTABLES_SAVE");
    return r.out;
}

IptState ipt_read(const std::string& netns_path) { return IptState::parse(ipt_save_text(netns_path)); }

IptState ipt_merge(IptState a, const IptState& b) {
    for (auto& [name, bt] : b.tables) {
        auto& t = a.tables[name];
        t.name = name;
        for (auto& c : bt.chains)
            if (!t.has_chain(c)) t.chains.push_back(c);
        for (auto& [c, rules] : bt.rules) {
            auto& mine = t.rules[c];
            for (auto& r : rules)
                if (std::find(mine.begin(), mine.end(), r) == mine.end()) mine.push_back(r);
        }
    }
    return a;
}

std::vector<IptSaveText> ipt_save_all(const std::string& netns_path, const std::vector<std::string>& args) {
    auto run = [&](const std::string& bin) {
        std::vector<std::string> argv{bin};
        argv.insert(argv.end(), args.begin(), args.end());
        return exec_in_netns(netns_path, argv);
    };
    std::vector<IptSaveText> out;
    if (const char* v = std::getenv("OVNET_IPTABLES_SAVE"); !(v && *v)) {
        for (const char* bin : {"iptables-nft-save", "iptables-legacy-save"}) {
            auto r = run(bin);
            if (r.err == ENOENT) continue;   // that backend is not installed
            if (r.status != 0) fail_exec(bin, r, "OVNET_IPTABLES_SAVE");
            out.push_back({bin, std::move(r.out)});
        }
        if (!out.empty()) return out;
    }
    std::string bin = env_or("OVNET_IPTABLES_SAVE", "iptables-save");
    auto r = run(bin);
    if (r.status != 0) fail_exec(bin, r, "OVNET_IPTABLES_SAVE");
    out.push_back({bin, std::move(r.out)});
    return out;
}

IptState ipt_read_all(const std::string& netns_path) {
    IptState st;
    for (auto& o : ipt_save_all(netns_path)) st = ipt_merge(std::move(st), IptState::parse(o.text));
    return st;
}

void ipt_restore(const std::string& netns_path, const std::string& payload) {
    std::string bin = env_or("OVNET_IPTABLES_RESTORE", "iptables-restore");
    auto r = exec_in_netns(netns_path, {bin, "-w", "--noflush"}, payload);
    if (r.status != 0) fail_exec(bin, r, "OVNET_IPTABLES_RESTORE");
}

namespace {

// The file `name` runs as, found on PATH as execvp finds it, its links resolved ("" when none).
std::string on_path(const std::string& name) {
    const char* path = std::getenv("PATH");
    std::string_view rest = path ? path : "/usr/sbin:/usr/bin:/sbin:/bin";
    while (true) {
        auto colon = rest.find(':');
        std::string dir(rest.substr(0, colon));
        std::string f = (dir.empty() ? "." : dir) + "/" + name;
        if (::access(f.c_str(), X_OK) == 0) {
            std::error_code ec;
            auto real = std::filesystem::canonical(f, ec);
            return ec ? std::string() : real.string();
        }
        if (colon == std::string_view::npos) return {};
        rest.remove_prefix(colon + 1);
    }
}

// Whether `name` on PATH (or $env when set) is iptables-legacy (xtables-legacy-multi).
bool legacy_binary(const char* env, const char* name) {
    if (const char* v = std::getenv(env); v && *v) return false;
    std::string real = on_path(name);
    return !real.empty() && std::filesystem::path(real).filename() == "xtables-legacy-multi";
}

// Whether the legacy table `table` of the current namespace has a user chain named `chain`, read
// as iptables-legacy-save reads it (IPT_SO_GET_INFO, IPT_SO_GET_ENTRIES: a user chain is an ERROR
// target naming it). nullopt when the table cannot be read (then iptables-save decides).
std::optional<bool> legacy_chain_present(const std::string& table, const std::string& chain) {
    Fd fd(::socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW));
    if (!fd) return std::nullopt;
    ipt_getinfo info{};
    if (table.size() >= sizeof info.name) return std::nullopt;
    std::memcpy(info.name, table.data(), table.size());
    socklen_t len = sizeof info;
    if (::getsockopt(fd.get(), IPPROTO_IP, IPT_SO_GET_INFO, &info, &len) < 0) return std::nullopt;
    std::vector<char> buf(sizeof(ipt_get_entries) + info.size);
    auto* ge = reinterpret_cast<ipt_get_entries*>(buf.data());
    std::memcpy(ge->name, info.name, sizeof ge->name);
    ge->size = info.size;
    len = socklen_t(buf.size());
    if (::getsockopt(fd.get(), IPPROTO_IP, IPT_SO_GET_ENTRIES, ge, &len) < 0) return std::nullopt;
    const char* base = reinterpret_cast<const char*>(ge->entrytable);
    for (size_t off = 0; off + sizeof(ipt_entry) <= ge->size;) {
        auto* e = reinterpret_cast<const ipt_entry*>(base + off);
        if (e->next_offset < sizeof(ipt_entry) || off + e->next_offset > ge->size ||
            e->target_offset + sizeof(xt_entry_target) > e->next_offset)
            return std::nullopt;
        auto* t = reinterpret_cast<const xt_entry_target*>(base + off + e->target_offset);
        if (std::strcmp(t->u.user.name, XT_ERROR_TARGET) == 0 &&
            t->u.user.target_size >= sizeof(xt_entry_target) + chain.size() + 1 &&
            std::strncmp(reinterpret_cast<const char*>(t->data), chain.c_str(), chain.size() + 1) == 0)
            return true;
        off += e->next_offset;
    }
    return false;
}

}  // namespace

IptBoth ipt_read_both(const std::string& netns_path) {
    auto outs = ipt_save_all(netns_path);
    IptBoth b;
    for (auto& o : outs) b.all = ipt_merge(std::move(b.all), IptState::parse(o.text));
    // The backend ovnet writes is one of those just run (the same binary under another name, as
    // xtables-*-multi is): its output is already there, no second process.
    const char* v = std::getenv("OVNET_IPTABLES_SAVE");
    std::string own = v && *v ? std::string() : on_path("iptables-save");
    for (auto& o : outs)
        if ((v && *v) || (!own.empty() && on_path(o.backend) == own)) {
            b.own = IptState::parse(o.text);
            return b;
        }
    b.own = ipt_read(netns_path);
    return b;
}

bool ipt_chains_absent(const std::string& netns_path, const std::vector<IptChain>& desired) {
    if (desired.empty() || !legacy_binary("OVNET_IPTABLES_SAVE", "iptables-save") ||
        !legacy_binary("OVNET_IPTABLES_RESTORE", "iptables-restore"))
        return false;
    NetnsGuard in(netns_path);
    for (auto& c : desired) {
        auto present = legacy_chain_present(c.table, c.chain);
        if (!present || *present) return false;
    }
    return true;
}

Changes ipt_apply(const std::string& netns_path, const std::vector<IptChain>& desired, size_t* restores) {
    for (auto& c : desired) validate_ipt_chain(c);
    // Writing chains that do not exist yet (an overlay's first apply on a node) needs no
    // iptables-save: no rule can jump to a missing chain, so the plan against an empty state is
    // the plan against the real one. A process less (~50 ms in the VM, bench/crypt).
    bool writes_only = std::all_of(desired.begin(), desired.end(), [](auto& c) { return !c.rules.empty(); });
    auto plan = ipt_plan(writes_only && ipt_chains_absent(netns_path, desired) ? IptState{} : ipt_read(netns_path), desired);
    if (restores) *restores = 0;
    if (!plan.payload.empty()) {
        ipt_restore(netns_path, plan.payload);
        if (restores) *restores = 1;
    }
    return plan.changes;
}

IptBatch::Ns& IptBatch::ns(const std::string& netns_path) {
    auto [it, added] = ns_.try_emplace(netns_path);
    if (added) order_.push_back(netns_path);
    return it->second;
}

void IptBatch::fresh(const std::string& netns_path) {
    Ns& n = ns(netns_path);
    if (n.base || n.base_all) return;   // already read: what was read stands
    n.fresh = true;
    n.base = n.cur = n.base_all = n.cur_all = IptState{};
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

void IptBatch::read(const std::string& netns_path, Ns& n) {
    if (n.base && n.base_all) return;
    auto both = ipt_read_both(netns_path);
    if (!n.base) n.base = std::move(both.own), n.cur = ipt_with_chains(*n.base, n.queued);
    if (!n.base_all) n.base_all = std::move(both.all), n.cur_all = ipt_with_chains(*n.base_all, n.queued);
}

const IptState& IptBatch::state(const std::string& netns_path) {
    Ns& n = ns(netns_path);
    read(netns_path, n);
    return *n.cur;
}

const IptState& IptBatch::state_all(const std::string& netns_path) {
    Ns& n = ns(netns_path);
    read(netns_path, n);
    return *n.cur_all;
}

void IptBatch::add(const std::string& netns_path, const std::vector<IptChain>& chains) {
    for (auto& c : chains) validate_ipt_chain(c);
    Ns& n = ns(netns_path);
    for (auto& c : chains) {
        auto same = [&](const IptChain& q) { return q.table == c.table && q.chain == c.chain; };
        n.queued.erase(std::remove_if(n.queued.begin(), n.queued.end(), same), n.queued.end());
        n.queued.push_back(c);
    }
    if (n.cur) n.cur = ipt_with_chains(std::move(*n.cur), chains);
    if (n.cur_all) n.cur_all = ipt_with_chains(std::move(*n.cur_all), chains);
}

Changes IptBatch::commit(const std::map<std::string, std::string>& label, size_t* restores) {
    Changes out;
    if (restores) *restores = 0;
    for (auto& path : order_) {
        Ns& n = ns_.at(path);
        if (n.queued.empty()) continue;
        if (!n.base) n.base = ipt_read(path);
        auto plan = ipt_plan(*n.base, n.queued);
        if (!plan.payload.empty()) {
            ipt_restore(path, plan.payload);
            if (restores) ++*restores;
        }
        auto l = label.find(path);
        for (auto c : plan.changes) {
            if (l != label.end()) c.object += " in " + l->second;
            out.push_back(std::move(c));
        }
        // committed: the batch goes on from the state written
        n.base = ipt_with_chains(std::move(*n.base), n.queued);
        if (n.base_all) n.base_all = ipt_with_chains(std::move(*n.base_all), n.queued);
        n.queued.clear();
    }
    return out;
}

std::vector<std::string> ipt_words(const std::string& spec) {
    std::vector<std::string> w;
    std::string cur;
    bool q = false, any = false;
    for (size_t i = 0; i < spec.size(); i++) {
        char c = spec[i];
        if (c == '\\' && q && i + 1 < spec.size()) {
            cur += spec[++i];
        } else if (c == '"') {
            q = !q;
            any = true;
        } else if (c == ' ' && !q) {
            if (any || !cur.empty()) w.push_back(cur);
            cur.clear();
            any = false;
        } else {
            cur += c;
            any = true;
        }
    }
    if (any || !cur.empty()) w.push_back(cur);
    return w;
}

}  // namespace ovnet
