#include "common.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <fmt/format.h>
#include <iostream>
#include <list>

namespace ovnet::tool {

bool Global::json_out() const { return json || pretty || (!table && !::isatty(STDOUT_FILENO)); }

void Table::print(std::FILE* out) const {
    std::vector<size_t> w(headers_.size());
    for (size_t i = 0; i < headers_.size(); i++) w[i] = headers_[i].size();
    for (auto& r : rows_)
        for (size_t i = 0; i < r.size() && i < w.size(); i++) w[i] = std::max(w[i], r[i].size());
    auto line = [&](const std::vector<std::string>& cells) {
        std::string s;
        for (size_t i = 0; i < w.size(); i++) {
            const std::string& c = i < cells.size() ? cells[i] : std::string();
            s += i + 1 == w.size() ? c : fmt::format("{:<{}}  ", c, w[i]);
        }
        while (!s.empty() && s.back() == ' ') s.pop_back();
        fmt::print(out, "{}\n", s);
    };
    line(headers_);
    for (auto& r : rows_) line(r);
}

App::App(const std::string& name, const std::string& description) : cli(description, name) {
    g.name = name;
    cli.set_version_flag("-V,--version", std::string(name) + " (ovnet) " + ovnet::version());
    cli.add_option("-n,--netns", g.netns,
                   "Network namespace: a name in /run/netns, then in Docker's netns directories "
                   "(--docker-netns-dir, $OVNET_DOCKER_NETNS_DIR, <exec-root>/netns of every running dockerd, "
                   "/var/run/docker/netns), or a path")
        ->type_name("NETNS")
        // An unset shell variable must not silently mean the caller's namespace: omit -n for that.
        ->check([](const std::string& v) {
            return v.empty() ? std::string("netns \"\": empty namespace name (omit -n for the current namespace)")
                             : std::string();
        });
    cli.add_option("--docker-netns-dir", g.docker_netns_dirs,
                   "Also look for Docker's namespaces in DIR (repeatable; searched before the others)")
        ->type_name("DIR")
        ->allow_extra_args(false)
        ->check([](const std::string& v) {
            struct stat st;
            return ::stat(v.c_str(), &st) == 0 && S_ISDIR(st.st_mode)
                       ? std::string()
                       : "docker-netns-dir \"" + v + "\": no such directory";
        });
    cli.add_flag("-j,--json", g.json, "JSON output (the default when stdout is not a terminal)");
    cli.add_flag("-p,--pretty", g.pretty, "Pretty-printed JSON output");
    cli.add_flag("-q,--quiet", g.quiet, "No change summary on stderr");
    cli.add_flag("-t,--table", g.table, "Table output even when stdout is not a terminal");
    cli.require_subcommand(1);
    cli.fallthrough();
}

namespace {
bool g_mutating = false;             // the running verb is Mutating
std::string g_netns_arg;             // its -n
std::list<NetnsLock> g_locks;        // held until exit
std::vector<std::string> g_lock_files;
}  // namespace

void lock_netns(const std::string& netns) {
    if (!g_mutating) return;
    std::string path = netns_resolve(netns);
    std::string file = netns_lock_file(path);
    // flock() locks per open file: a second lock of the same file in this process would wait forever.
    if (std::find(g_lock_files.begin(), g_lock_files.end(), file) != g_lock_files.end()) return;
    g_locks.emplace_back(path);
    g_lock_files.push_back(file);
}

CLI::App* App::verb(const std::string& name, const std::string& description, VerbKind kind) {
    auto* v = cli.add_subcommand(name, description);
    if (kind != VerbKind::ReadOnly) mutating_.emplace_back(v, kind);
    v->fallthrough();
    v->footer("Global options -n NETNS, --docker-netns-dir DIR, -j, -p, -q, -t also work after the verb (see " + g.name +
              " --help).");
    return v;
}

int App::run(int argc, char** argv) {
    // A closed stdin would be taken by the next open() (a namespace file, a netlink socket) and read
    // as input: hold descriptor 0 with an O_PATH one, which read(2) refuses (EBADF).
    if (::fcntl(STDIN_FILENO, F_GETFD) < 0 && errno == EBADF) ::open("/", O_PATH | O_CLOEXEC);
    // After parsing (-n may follow the verb), before the verb's callback.
    cli.parse_complete_callback([this] {
        bool defer = false;
        for (auto* sc : cli.get_subcommands())
            for (auto& [v, kind] : mutating_)
                if (v == sc) g_mutating = true, defer = kind == VerbKind::MutatingFromStdin && stdin_has_data();
        g_netns_arg = g.netns;
        for (auto& d : g.docker_netns_dirs) docker_netns_dirs_add(d);
        if (!defer) lock_netns(g.netns);
    });
    // CLI11 reports an unknown verb as "a subcommand is required": name it instead.
    // (A tool without verbs, ovnet-inspect, leaves its arguments to CLI11.)
    for (int i = 1; i < argc && !cli.get_subcommands({}).empty(); i++) {
        std::string a = argv[i];
        if (a == "--") break;
        if (a == "-n" || a == "--netns" || a == "--docker-netns-dir") { i++; continue; }
        // Any other option of the tool that takes a value (ovnet-lab's --prefix P): skip the value.
        if (a.size() > 1 && a[0] == '-' && a.find('=') == std::string::npos)
            if (auto* o = cli.get_option_no_throw(a); o && std::min(o->get_type_size_min(), o->get_items_expected_min()) > 0) { i++; continue; }
        if (a.empty() || a[0] == '-') continue;
        bool known = false;
        std::string verbs;
        for (auto* sc : cli.get_subcommands({})) {
            known |= sc->get_name() == a;
            verbs += (verbs.empty() ? "" : ", ") + sc->get_name();
        }
        if (!known) {
            fmt::print(stderr, "{}: unknown verb \"{}\" (verbs: {})\n", g.name, a, verbs);
            return 2;
        }
        break;
    }
    try {
        cli.parse(argc, argv);
        return 0;
    } catch (const CLI::CallForHelp& e) {
        return cli.exit(e);
    } catch (const CLI::CallForAllHelp& e) {
        return cli.exit(e);
    } catch (const CLI::CallForVersion& e) {
        return cli.exit(e);
    } catch (const CLI::ParseError& e) {
        std::string msg = e.what();
        // One line, like every other input error.
        fmt::print(stderr, "{}: {} (run with --help for more information)\n", g.name, msg.empty() ? "bad usage" : msg);
        return 2;
    } catch (const ovnet::Error& e) {
        fmt::print(stderr, "{}: {}\n", g.name, e.what());
        return e.exit_code();
    } catch (const nlohmann::json::exception& e) {
        fmt::print(stderr, "{}: bad input: {}\n", g.name, e.what());
        return 2;
    } catch (const std::exception& e) {
        fmt::print(stderr, "{}: {}\n", g.name, e.what());
        return 1;
    }
}

void emit(const Global& g, const json& doc, const std::function<void(const json&)>& to_table) {
    if (g.json_out()) {
        std::string s = doc.dump(g.pretty ? 2 : -1);
        s += '\n';
        std::fwrite(s.data(), 1, s.size(), stdout);
    } else {
        to_table(doc);
    }
    std::fflush(stdout);
}

BulkReport::BulkReport(const Global& g, const std::vector<std::pair<const char*, std::string>>& head)
    : nl_(g.pretty ? "\n" : ""), in1_(g.pretty ? "  " : ""), in2_(g.pretty ? "    " : "") {
    const char* sp = g.pretty ? " " : "";
    out_.reserve((1 << 16) + 256);
    out_ += '{';
    for (auto& [k, v] : head) fmt::format_to(std::back_inserter(out_), "{}{}\"{}\":{}{},", nl_, in1_, k, sp, v);
    fmt::format_to(std::back_inserter(out_), "{}{}\"changes\":{}[", nl_, in1_, sp);
}

std::string& BulkReport::next() {
    if (out_.size() >= (1 << 16)) {
        std::fwrite(out_.data(), 1, out_.size(), stdout);
        out_.clear();
    }
    if (n_++) out_ += ',';
    out_ += nl_;
    out_ += in2_;
    return out_;
}

void BulkReport::finish() {
    if (n_) out_ += nl_, out_ += in1_;
    out_ += ']';
    out_ += nl_;
    out_ += "}\n";
    std::fwrite(out_.data(), 1, out_.size(), stdout);
    std::fflush(stdout);
}

void print_changes(std::FILE* out, const Changes& ch) {
    for (auto& c : ch) {
        if (c.action == Action::Unchanged) {
            std::string why = c.reason();
            fmt::print(out, "{}: unchanged{}, nothing to do\n", c.object, why.empty() ? "" : " (" + why + ")");
        } else {
            fmt::print(out, "{} {}\n", c.word(), c.object);
        }
    }
}

std::string summary_line(const std::string& subject, const ChangeStats& s, const char* changed_word, bool text) {
    return fmt::format("{}: {} added, {} {}, {} removed, {} unchanged{}", subject, s.added, s.changed, changed_word,
                       s.removed, s.unchanged,
                       s.writes ? "" : text ? " (nothing changed, no write issued)" : " (no write issued)");
}

void report_set(const Global& g, const std::string& subject, const char* changed_word,
                std::vector<std::pair<const char*, std::string>> head, const Changes& ch, const ChangeStats& s) {
    if (g.json_out()) {
        head.emplace_back("summary", fmt::format(R"({{"added":{},"{}":{},"removed":{},"unchanged":{},"writes":{}}})",
                                                 s.added, changed_word, s.changed, s.removed, s.unchanged, s.writes));
        BulkReport r(g, head);
        for (auto& c : ch) c.write_json(r.next());
        r.finish();
        if (!g.quiet) fmt::print(stderr, "{}: {}\n", g.name, summary_line(subject, s, changed_word, false));
    } else {
        for (auto& c : ch)
            if (c.action != Action::Unchanged) fmt::print("{} {}\n", c.word(), c.object);
        fmt::print("{}\n", summary_line(subject, s, changed_word, true));
    }
}

void report(const Global& g, const Changes& ch, const json& doc) {
    if (g.json_out()) {
        emit(g, doc, nullptr);
        if (!g.quiet) {
            size_t changed = count(ch).total_changed();
            if (changed == 0) fmt::print(stderr, "{}: nothing changed\n", g.name);
            else if (ch.size() <= 10) print_changes(stderr, ch);
            else fmt::print(stderr, "{}: {} changes\n", g.name, changed);
        }
    } else if (!g.quiet || any_change(ch)) {
        print_changes(stdout, ch);
    }
}

bool stdin_has_data() {
    struct stat st;
    if (::isatty(STDIN_FILENO) || ::fstat(STDIN_FILENO, &st) < 0) return false;
    return S_ISFIFO(st.st_mode) || S_ISREG(st.st_mode) || S_ISSOCK(st.st_mode);
}

void check_prune_set(size_t entries, bool prune, bool allow_empty, const std::string& everything) {
    if (prune && entries == 0 && !allow_empty)
        throw_input(fmt::format("stdin: empty set with --prune would remove {} (an upstream command failed?); "
                                "pass --allow-empty to mean it", everything));
}

std::vector<json> read_stdin(const std::string& what) {
    auto objs = read_json_stream(std::cin, what);
    lock_netns(g_netns_arg);
    return objs;
}

std::string netns_for(const Global& g, const std::vector<json>& objs) {
    if (!g.netns.empty()) return g.netns;
    std::string ns;
    bool first = true;
    for (auto& o : objs) {
        std::string n = o.is_object() && o.contains("netns") && o["netns"].is_string() ? o["netns"].get<std::string>() : "";
        if (!first && n != ns)
            throw_input({}, "netns", n.empty() ? "(none)" : n,
                        fmt::format("objects name several namespaces (\"{}\" too): choose one with -n", ns));
        ns = n;
        first = false;
    }
    lock_netns(ns);
    return ns;
}

std::vector<std::pair<std::string, std::string>> parse_kv(const std::vector<std::string>& in, const std::string& field) {
    std::vector<std::pair<std::string, std::string>> out;
    for (auto& s : in) {
        auto eq = s.find('=');
        if (eq == std::string::npos || eq == 0) throw_input({}, field, s, "expected KEY=VALUE");
        out.emplace_back(s.substr(0, eq), s.substr(eq + 1));
        validate_sysctl_key(out.back().first);
    }
    return out;
}

IpAddr arg_ip(const std::string& object, const std::string& field, const std::string& value) {
    IpAddr a;
    if (!IpAddr::try_parse(value, a)) throw_input(object, field, value, "not an IPv4 or IPv6 address");
    return a;
}

std::optional<IpAddr> arg_opt_ip(const std::string& object, const std::string& field, const std::string& value) {
    if (value.empty()) return std::nullopt;
    return arg_ip(object, field, value);
}

Prefix arg_prefix(const std::string& object, const std::string& field, const std::string& value) {
    try {
        return Prefix::parse(value);
    } catch (const Error&) {
        throw_input(object, field, value, "not a network in CIDR notation");
    }
}

std::string cell(const json& v) {
    if (v.is_null()) return "-";
    if (v.is_string()) return v.get<std::string>().empty() ? "-" : v.get<std::string>();
    if (v.is_boolean()) return v.get<bool>() ? "on" : "off";
    return v.dump();
}

}  // namespace ovnet::tool
