#include "ovnet/iptables.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fmt/format.h>
#include <set>
#include <sstream>

#include "ovnet/error.hpp"

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

void close_fd(int& fd) {
    if (fd >= 0) ::close(fd);
    fd = -1;
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

ExecResult exec_in_netns(const std::string& netns_path, const std::vector<std::string>& argv,
                         const std::string& input) {
    ExecResult res;
    if (argv.empty()) throw_input("exec: empty command");
    int in[2] = {-1, -1}, out[2] = {-1, -1}, err[2] = {-1, -1}, st[2] = {-1, -1};
    auto cleanup = [&] { for (int* p : {in, out, err, st}) { close_fd(p[0]); close_fd(p[1]); } };
    if (::pipe2(in, O_CLOEXEC) < 0 || ::pipe2(out, O_CLOEXEC) < 0 || ::pipe2(err, O_CLOEXEC) < 0 ||
        ::pipe2(st, O_CLOEXEC) < 0) {
        int e = errno;
        cleanup();
        throw_sys(e, "pipe");
    }
    int nsfd = -1;
    if (!netns_path.empty()) {
        nsfd = ::open(netns_path.c_str(), O_RDONLY | O_CLOEXEC);
        if (nsfd < 0) {
            int e = errno;
            cleanup();
            throw_sys(e, "open " + netns_path);
        }
    }
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    pid_t pid = ::fork();
    if (pid < 0) {
        int e = errno;
        cleanup();
        if (nsfd >= 0) ::close(nsfd);
        throw_sys(e, "fork");
    }
    if (pid == 0) {
        // Child: only async-signal-safe calls from here on.
        int e = 0;
        if (nsfd >= 0 && ::setns(nsfd, CLONE_NEWNET) < 0) e = errno;
        if (!e && (::dup2(in[0], 0) < 0 || ::dup2(out[1], 1) < 0 || ::dup2(err[1], 2) < 0)) e = errno;
        if (!e) {
            ::signal(SIGPIPE, SIG_DFL);
            ::execvp(args[0], args.data());
            e = errno;
        }
        (void)!::write(st[1], &e, sizeof e);
        ::_exit(127);
    }
    if (nsfd >= 0) ::close(nsfd);
    close_fd(in[0]);
    close_fd(out[1]);
    close_fd(err[1]);
    close_fd(st[1]);
    auto old = ::signal(SIGPIPE, SIG_IGN);
    ::fcntl(in[1], F_SETFL, O_NONBLOCK);
    size_t written = 0;
    if (input.empty()) close_fd(in[1]);
    char buf[65536];
    while (out[0] >= 0 || err[0] >= 0 || in[1] >= 0) {
        pollfd p[3];
        int n = 0;
        int io = -1, oo = -1, eo = -1;
        if (in[1] >= 0) { io = n; p[n++] = {in[1], POLLOUT, 0}; }
        if (out[0] >= 0) { oo = n; p[n++] = {out[0], POLLIN, 0}; }
        if (err[0] >= 0) { eo = n; p[n++] = {err[0], POLLIN, 0}; }
        if (::poll(p, n, -1) < 0) {
            if (errno == EINTR) continue;
            break;
        }
        if (io >= 0 && p[io].revents) {
            ssize_t w = ::write(in[1], input.data() + written, input.size() - written);
            if (w > 0) written += size_t(w);
            if (w < 0 && errno != EAGAIN && errno != EINTR) close_fd(in[1]);
            if (written == input.size()) close_fd(in[1]);
        }
        for (auto [idx, fdp, dst] : {std::tuple{oo, &out[0], &res.out}, std::tuple{eo, &err[0], &res.errout}}) {
            if (idx < 0 || !p[idx].revents) continue;
            ssize_t r = ::read(*fdp, buf, sizeof buf);
            if (r > 0) dst->append(buf, size_t(r));
            else if (r == 0 || (errno != EINTR && errno != EAGAIN)) close_fd(*fdp);
        }
    }
    ::signal(SIGPIPE, old);
    int child_err = 0;
    if (::read(st[0], &child_err, sizeof child_err) != sizeof child_err) child_err = 0;
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
    cleanup();
    if (child_err) {
        res.err = child_err;
        res.status = -1;
        return res;
    }
    res.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return res;
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

void ipt_restore(const std::string& netns_path, const std::string& payload) {
    std::string bin = env_or("OVNET_IPTABLES_RESTORE", "iptables-restore");
    auto r = exec_in_netns(netns_path, {bin, "-w", "--noflush"}, payload);
    if (r.status != 0) fail_exec(bin, r, "OVNET_IPTABLES_RESTORE");
}

Changes ipt_apply(const std::string& netns_path, const std::vector<IptChain>& desired, size_t* restores) {
    for (auto& c : desired) validate_ipt_chain(c);
    auto plan = ipt_plan(ipt_read(netns_path), desired);
    if (restores) *restores = 0;
    if (!plan.payload.empty()) {
        ipt_restore(netns_path, plan.payload);
        if (restores) *restores = 1;
    }
    return plan.changes;
}

}  // namespace ovnet
