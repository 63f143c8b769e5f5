// ovnet-lab verbs: up, down, status, scale (and the options every verb shares).
#include <unistd.h>

#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "lab_cli.hpp"

namespace ovnet::lab {

namespace {

json result_doc(const std::string& prefix, const LabResult& r) {
    ChangeStats s = count(r.changes);
    json doc = json::object();
    doc["prefix"] = prefix;
    doc["summary"] = {{"added", s.added}, {"changed", s.changed}, {"removed", s.removed}, {"unchanged", s.unchanged}};
    doc["skipped"] = r.skipped;
    doc["changes"] = to_json(r.changes);
    return doc;
}

/// JSON on a pipe; on a terminal the changes made (not the unchanged ones), a summary and what
/// was skipped.
void print_result(tool::Global& g, const std::string& verb, const std::string& prefix, const LabResult& r,
                  bool timings = false) {
    json doc = result_doc(prefix, r);
    std::string took;
    if (timings) {
        json ph = json::object();
        double total = 0;
        for (auto& [name, ms] : r.phases) {
            ph[name] = std::round(ms * 10) / 10;
            total += ms;
            took += fmt::format("{}{} {:.0f}", took.empty() ? "" : ", ", name, ms);
        }
        doc["timings_ms"] = std::move(ph);
        doc["restores"] = r.restores;
        took = fmt::format("took {:.0f} ms ({} ms; {} iptables-restore)", total, took, r.restores);
    }
    ChangeStats s = count(r.changes);
    std::string summary = fmt::format("ovnet-lab {} (prefix {}): {} added, {} changed, {} removed, {} unchanged", verb, prefix,
                                      s.added, s.changed, s.removed, s.unchanged);
    if (g.json_out()) {
        tool::emit(g, doc, nullptr);
        if (!g.quiet) fmt::print(stderr, "{}\n", summary);
        for (auto& k : r.skipped)
            if (!g.quiet) fmt::print(stderr, "skipped: {}\n", k);
        if (timings && !g.quiet) fmt::print(stderr, "{}\n", took);
        return;
    }
    if (!g.quiet) {
        Changes made;
        for (auto& c : r.changes)
            if (c.action != Action::Unchanged) made.push_back(c);
        if (made.size() <= 40) tool::print_changes(stdout, made);
    }
    fmt::print("{}\n", summary);
    for (auto& k : r.skipped) fmt::print("skipped: {}\n", k);
    if (timings) fmt::print("{}\n", took);
}

/// Exit status 1 without an error line of App::run (status reports what is missing itself).
[[noreturn]] void exit_now(int code) {
    std::fflush(stdout);
    std::fflush(stderr);
    std::exit(code);
}

}  // namespace

void add_core_verbs(tool::App& app, LabCli& c) {
    app.cli.add_option("--prefix", c.prefix, "Name prefix of the lab's namespaces (several labs can coexist)")
        ->type_name("P")
        ->default_str("lab");
    app.cli.add_option("--topology", c.topology, "The cluster (YAML or JSON; default: the built-in deep dive)")
        ->type_name("FILE");
    app.cli.add_option("--nodes", c.nodes, "Use this many nodes (tasks of dropped nodes are spread over the others)")
        ->type_name("N")
        ->check(CLI::Range(1, 89));
    app.cli.add_flag("--vm", c.vm, "Run in the project's qemu VM (IPVS, AES-GCM): one boot runs up, the verb and down");

    static bool up_timings = false, scale_timings = false;
    auto* up = app.verb("up", "Build the lab (idempotent: a second up changes nothing)");
    up->callback([&] {
        auto t0 = std::chrono::steady_clock::now();
        LabPlan p = lab_plan(c.topology_read(), c.prefix);
        LabCaps caps = lab_caps();
        double plan_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
        LabResult r = lab_up(p, caps);
        r.phases.insert(r.phases.begin(), {"plan", plan_ms});   // the topology read, planned, the kernel's features
        print_result(app.g, "up", c.prefix, r, up_timings);
    });
    up->add_flag("--timings", up_timings, "Say where the time went (per phase) and how many iptables-restore processes ran");

    auto* down = app.verb("down", "Remove the lab: responders, namespaces, state (also after a crash of up)");
    down->callback([&] {
        lab_validate_prefix(c.prefix);
        LabResult r = lab_down(c.prefix);
        print_result(app.g, "down", c.prefix, r);
    });

    auto* status = app.verb("status", "What of the lab exists (exit 1 when something is missing or there is no lab)");
    status->callback([&] {
        LabStatus s = lab_status(c.prefix);
        if (!s.exists) {
            fmt::print(stderr, "ovnet-lab: no lab with prefix {} (run ovnet-lab --prefix {} up)\n", c.prefix, c.prefix);
            exit_now(1);
        }
        json doc = json::object();
        doc["prefix"] = c.prefix;
        doc["complete"] = s.missing == 0;
        doc["present"] = s.present;
        doc["missing"] = s.missing;
        doc["skipped"] = s.skipped;
        doc["items"] = schema::DomWriter::value(s.items);
        doc["breaks"] = break_status(c);   // scenarios injected with `break` and not fixed yet
        tool::emit(app.g, doc, [&](const json&) {
            tool::Table t({"KIND", "NETNS", "NAME", "STATE", "DETAIL"});
            for (auto& i : s.items)
                t.row({i.kind, i.netns, i.name, i.present ? "ok" : "MISSING", i.detail.empty() ? "-" : i.detail});
            t.print(stdout);
            fmt::print("{}: {} present, {} missing\n", c.prefix, s.present, s.missing);
            for (auto& k : s.skipped) fmt::print("skipped: {}\n", k);
            for (auto& b : doc["breaks"])
                fmt::print("broken: {} on {}: {} (ovnet-lab check {} passes once it is fixed)\n",
                           b.value("scenario", std::string()), b.value("node", std::string()),
                           b.value("what", std::string()), b.value("scenario", std::string()));
        });
        if (s.missing) {
            if (app.g.json_out() && !app.g.quiet)
                fmt::print(stderr, "ovnet-lab: lab {}: {} of {} objects missing\n", c.prefix, s.missing, s.present + s.missing);
            exit_now(1);
        }
    });

    static std::string spec;
    auto* scale = app.verb("scale", "Scale a service: SERVICE=N (the new tasks, their peers, the LB backends)");
    scale->add_option("SERVICE=N", spec, "e.g. redis=5")->required();
    scale->callback([&] {
        auto eq = spec.find('=');
        if (eq == std::string::npos || eq == 0) throw_input("scale", "SERVICE=N", spec, "expected SERVICE=N, e.g. redis=5");
        std::string svc = spec.substr(0, eq), n = spec.substr(eq + 1);
        unsigned v = 0;
        auto [ptr, ec] = std::from_chars(n.data(), n.data() + n.size(), v);
        if (ec != std::errc() || ptr != n.data() + n.size() || v < 1 || v > 1000)
            throw_input("scale", "N", n, "must be an integer in 1..1000");
        LabResult r = lab_scale(c.prefix, svc, v);
        print_result(app.g, "scale", c.prefix, r, scale_timings);
    });
    scale->add_flag("--timings", scale_timings, "As for up");
}

}  // namespace ovnet::lab
