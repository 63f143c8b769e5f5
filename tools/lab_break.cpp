// ovnet-lab verbs: break, capture, graph (and the scenario checks `check SCENARIO` dispatches to).
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "lab_cli.hpp"
#include "ovnet/audit.hpp"
#include "ovnet/bridge.hpp"
#include "ovnet/lab_break.hpp"
#include "ovnet/lab_graph.hpp"
#include "ovnet/netns.hpp"

namespace ovnet::lab {

namespace {

std::string record_path(const std::string& prefix, const std::string& scenario) {
    return lab_state_dir(prefix) + "/break-" + scenario + ".json";
}

std::optional<LabBreak> record_read(const std::string& prefix, const std::string& scenario) {
    std::ifstream in(record_path(prefix, scenario));
    if (!in) return std::nullopt;
    std::stringstream ss;
    ss << in.rdbuf();
    return LabBreak::from_json(json::parse(ss.str()));
}

void record_write(const std::string& prefix, const LabBreak& b) {
    std::string path = record_path(prefix, b.scenario), tmp = path + ".tmp";
    std::string text = b.to_json().dump(2) + "\n";
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) throw_sys(errno, "open " + tmp, {}, "lab " + prefix);
    bool ok = ::write(fd, text.data(), text.size()) == ssize_t(text.size());
    ::close(fd);
    if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0) throw_sys(errno ? errno : EIO, "write " + path, {}, "lab " + prefix);
}

void need_kernel(const LabScenario& s) {
    if (s.needs.empty()) return;
    LabCaps caps = lab_caps();
    if (s.needs == "ipvs" && !caps.ipvs)
        throw Error(ErrorKind::Runtime, s.name + " needs the routing mesh (IPVS): " + caps.ipvs_why +
                                            "; run it in the VM (ovnet-lab --vm up, then ovnet-lab --vm break " + s.name + ")");
    if (s.needs == "gcm" && !caps.gcm)
        throw Error(ErrorKind::Runtime, s.name + " needs the encrypted overlay (ESP): " + caps.gcm_why +
                                            "; run it in the VM (ovnet-lab --vm up, then ovnet-lab --vm break " +
                                            s.name + ")");
}

json scenario_json(const LabScenario& s) {
    return {{"name", s.name}, {"issue", s.issue.empty() ? json() : json(s.issue)}, {"title", s.title},
            {"needs", s.needs.empty() ? json() : json(s.needs)}, {"codes", s.codes}, {"symptom", s.symptom}, {"hint", s.hint}};
}

void print_fix(const std::vector<std::string>& fix) {
    fmt::print("to fix:\n");
    for (auto& c : fix) fmt::print("  {}\n", c);
}

// The host-side veth of every sandbox interface (the bridges' ports in the nodes' namespaces).
LabGraphLive graph_live(const LabPlan& plan) {
    LabGraphLive live;
    for (auto& n : plan.nodes) {
        try {
            Handle h(n.netns);
            for (auto& br : bridge_show(h))
                for (auto& port : br.ports)
                    if (port.peer && !port.peer->ifname.empty() && !port.peer->netns.empty())
                        live.host_veth[{port.peer->netns, port.peer->ifname}] = port.name;
        } catch (const Error&) {
            // The node is not up: the graph is the plan's alone.
        }
    }
    return live;
}

// The check of a scenario as the tour's `check` prints it: one result naming the first finding
// (and how many more), the hint, and the documented fix when a break is recorded. A scenario this
// kernel cannot run is skipped (exit 77), saying it needs the VM.
std::vector<CheckResult> break_check_results(LabCli& c, const LabScenario& s, const std::vector<std::string>& answer) {
    if (!answer.empty()) throw Error(ErrorKind::Input, "check " + s.name + ": takes no answer");
    CheckResult out;
    out.id = s.name;
    out.name = "break " + s.name + ": " + s.title + (s.issue.empty() ? "" : " (" + s.issue + ")");
    try {
        need_kernel(s);
    } catch (const Error& e) {
        out.status = CheckStatus::Skipped;
        out.message = e.what();
        return {out};
    }
    LabPlan plan = c.plan();
    auto rec = record_read(c.prefix, s.name);
    auto asnaps = lab_audit_snapshots(lab_inspect(plan));
    LabCheckResult r = lab_break_judge(plan, s, rec ? &*rec : nullptr, audit(asnaps), asnaps);
    if (r.passed) {
        if (rec) std::filesystem::remove(record_path(c.prefix, s.name));   // fixed
        out.message = rec ? "fixed: no " + fmt::format("{}", fmt::join(s.codes, " or ")) + " where " + rec->what
                          : "no " + fmt::format("{}", fmt::join(s.codes, " or ")) + " in the lab";
        return {out};
    }
    out.status = CheckStatus::Failed;
    auto& f = r.findings.front();
    out.message = f.code + " " + f.message +
                  (r.findings.size() > 1 ? fmt::format(" (and {} more finding{})", r.findings.size() - 1,
                                                       r.findings.size() > 2 ? "s" : "")
                                         : std::string());
    out.hint = s.hint;
    return {out};
}

}  // namespace

json break_status(const LabCli& c) {
    json out = json::array();
    for (auto& s : lab_scenarios())
        if (auto b = record_read(c.prefix, s.name)) out.push_back(b->to_json());
    return out;
}

int break_check(LabCli& c, const std::string& scenario) {
    if (!lab_scenario_find(scenario)) return -1;
    return run_check(c, scenario, {});
}

void add_break_verbs(tool::App& app, LabCli& c) {
    auto& g = app.g;

    // ---- check SCENARIO: the tour's `check` asks this file first ----
    add_check_provider([](LabCli& cli, const std::string& id, const std::vector<std::string>& answer)
                           -> std::optional<std::vector<CheckResult>> {
        const LabScenario* s = lab_scenario_find(id);
        if (!s) return std::nullopt;
        return break_check_results(cli, *s, answer);
    });

    // ---- break ----
    static std::string scenario;
    static bool list = false;
    auto* brk = app.verb("break", "Inject one of the real bugs Docker users hit (--list names them), to be fixed and checked",
                         tool::VerbKind::ReadOnly);
    brk->add_option("SCENARIO", scenario, "The scenario (ovnet-lab break --list)")->type_name("SCENARIO");
    brk->add_flag("--list", list, "List the scenarios with their Docker issues");
    brk->callback([&] {
        if (list || scenario.empty()) {
            json doc = json::array();
            for (auto& s : lab_scenarios()) doc.push_back(scenario_json(s));
            if (!list && scenario.empty()) throw Error(ErrorKind::Input, "break: give a SCENARIO or --list");
            emit(g, doc, [](const json& d) {
                tool::Table t({"SCENARIO", "ISSUE", "NEEDS", "WHAT"});
                for (auto& s : d)
                    t.row({s["name"], tool::cell(s["issue"]), s["needs"].is_null() ? "-" : s["needs"] == "ipvs" ? "IPVS" : "ESP (GCM)",
                           s["title"]});
                t.print(stdout);
            });
            return;
        }
        const LabScenario* s = lab_scenario_find(scenario);
        if (!s) lab_break_plan(LabPlan{}, scenario);   // the "no such scenario" error, naming them
        need_kernel(*s);
        LabPlan plan = c.plan();
        if (auto old = record_read(c.prefix, scenario))
            throw Error(ErrorKind::Input, "break " + scenario + ": already broken in lab " + c.prefix + " (" + old->what +
                                              "): fix it, then ovnet-lab check " + scenario);
        LabBreak b = lab_break_plan(plan, scenario);
        record_write(c.prefix, b);   // first: a check knows even when the injection fails halfway
        Changes ch;
        try {
            ch = lab_break_apply(plan, b);
        } catch (...) {
            std::filesystem::remove(record_path(c.prefix, scenario));
            throw;
        }
        json doc = {{"scenario", scenario_json(*s)}, {"break", b.to_json()}, {"fix", b.fix},
                    {"check", "ovnet-lab --prefix " + c.prefix + " check " + scenario}};
        doc["changes"] = to_json(ch);
        emit(g, doc, [&](const json&) {
            fmt::print("broke {}{}: {}\n", scenario, s->issue.empty() ? "" : " (" + s->issue + ")", b.what);
            fmt::print("what you see: {}\n", s->symptom);
            fmt::print("hint: {}\n", s->hint);
            print_fix(b.fix);
            fmt::print("then: ovnet-lab --prefix {} check {}\n", c.prefix, scenario);
        });
    });

    // ---- capture ----
    static std::string hop;
    static std::vector<std::string> filter;
    static std::string count, timeout;
    static bool vxlan = false, esp = false;
    auto* cap = app.verb("capture", "Capture on a hop of the lab (a task's interface, a VTEP, a node's underlay), decoded");
    cap->add_option("HOP", hop, "NODE/TASK:IF (swarm-01/redis.2:eth0), NODE/DEV (swarm-01/eth0, swarm-01/vx-001002-7672d), ul/ul0")
        ->required()
        ->type_name("HOP");
    cap->add_option("-c,--count", count, "Stop after this many packets")->type_name("N");
    cap->add_option("--timeout", timeout, "Stop after this many seconds")->type_name("SECONDS");
    cap->add_flag("--vxlan", vxlan, "Only VXLAN packets");
    cap->add_flag("--esp", esp, "Only ESP packets");
    cap->add_option("FILTER", filter, "A pcap filter expression (tcpdump's syntax)")->type_name("FILTER");
    cap->callback([&] {
        LabPlan plan = c.plan();
        LabHop h = lab_hop_resolve(plan, hop);
        std::vector<std::string> args{c.tool_path("ovnet-capture"), "-n", h.netns, "-i", h.ifname};
        if (!count.empty()) args.insert(args.end(), {"-c", count});
        if (!timeout.empty()) args.insert(args.end(), {"--timeout", timeout});
        if (vxlan) args.push_back("--vxlan");
        if (esp) args.push_back("--esp");
        if (g.json) args.push_back("-j");
        if (g.pretty) args.push_back("-p");
        if (g.quiet) args.push_back("-q");
        if (!filter.empty()) {
            args.push_back("--");
            args.insert(args.end(), filter.begin(), filter.end());
        }
        if (!g.quiet) fmt::print(stderr, "ovnet-lab: capturing on {}: {} in {} (ovnet-capture -n {} -i {})\n", hop, h.what, h.netns,
                                 h.netns, h.ifname);
        std::fflush(stdout);
        std::fflush(stderr);
        std::vector<char*> argv;
        for (auto& a : args) argv.push_back(a.data());
        argv.push_back(nullptr);
        ::execv(argv[0], argv.data());
        throw_sys(errno, "run " + args[0], {}, "capture " + hop);
    });

    // ---- graph ----
    static std::string trace_file, out_file;
    auto* gr = app.verb("graph", "The lab's topology as Graphviz DOT (or SVG with -o FILE.svg), a traced journey drawn over it");
    gr->add_option("--trace", trace_file, "An ovnet-trace JSON document (- for stdin): its journey, numbered by hop")->type_name("FILE");
    gr->add_option("-o,--output", out_file, "Write to FILE: .svg/.png/.pdf through dot(1), else DOT")->type_name("FILE");
    gr->callback([&] {
        LabPlan plan = c.plan();
        json trace;
        if (!trace_file.empty()) {
            std::string text = read_path_all(trace_file);
            try {
                trace = json::parse(text);
            } catch (const json::exception& e) {
                throw Error(ErrorKind::Input, "trace " + (trace_file == "-" ? std::string("stdin") : trace_file) +
                                                  ": not JSON (ovnet-trace -j writes it): " + e.what());
            }
        }
        std::string dot = lab_graph_dot(plan, graph_live(plan), trace);
        if (out_file.empty() || out_file == "-") {
            std::fwrite(dot.data(), 1, dot.size(), stdout);
            return;
        }
        std::string ext = out_file.substr(out_file.rfind('.') == std::string::npos ? out_file.size() : out_file.rfind('.') + 1);
        if (ext == "svg" || ext == "png" || ext == "pdf") {
            ExecResult r = exec_in_netns("", {"dot", "-T" + ext, "-o", out_file}, dot);
            if (r.err == ENOENT)
                throw Error(ErrorKind::Runtime, "graph: dot (Graphviz) is not installed: install graphviz, or write DOT with -o " +
                                                    out_file.substr(0, out_file.size() - ext.size()) + "dot");
            if (r.status != 0)
                throw Error(ErrorKind::Runtime, "graph: dot -T" + ext + " failed (exit " + std::to_string(r.status) +
                                                    "): " + shown_text(r.errout));
        } else {
            std::ofstream o(out_file, std::ios::binary);
            o << dot;
            if (!o.flush()) throw_sys(errno ? errno : EIO, "write " + out_file, {}, "graph");
        }
        if (!g.quiet) fmt::print(stderr, "ovnet-lab: wrote {}\n", out_file);
    });
}

}  // namespace ovnet::lab
