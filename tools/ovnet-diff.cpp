// ovnet-diff: what was added, removed and changed between two ovnet-inspect snapshots of one node.
// Exit 0 when equal, 1 when they differ, 2 on bad input (like diff(1)).
#include <fcntl.h>
#include <cstring>
#include <unistd.h>

#include "common.hpp"
#include "ovnet/snapshot_diff.hpp"

using namespace ovnet;
using namespace ovnet::tool;

namespace {

// The one snapshot in a file ("-": stdin), checked.
json read_snapshot(const std::string& path) {
    std::string what = path == "-" ? "stdin" : path;
    std::string text = read_path_all(path);
    std::vector<json> docs;
    for_each_json_span(std::string_view(text), what, [&](std::string_view s, size_t) { docs.push_back(json::parse(s)); });
    if (docs.size() != 1)
        throw Error(ErrorKind::Input, what + ": not an ovnet-inspect snapshot (" +
                                          (docs.empty() ? std::string("no JSON value") : std::to_string(docs.size()) + " JSON values") +
                                          ", not one)");
    check_snapshot(docs[0], what);
    return std::move(docs[0]);
}

std::string brief(const json& v) {
    std::string s = v.is_string() ? v.get<std::string>() : v.dump();
    return s.size() > 60 ? s.substr(0, 57) + "..." : s;
}

void print_list(const json& report) {
    for (auto& c : report["changes"]) {
        std::string a = c["action"].get<std::string>();
        std::string head = (a == "added" ? "+ " : a == "removed" ? "- " : a == "moved" ? "> " : "~ ");
        std::string ns = c["netns"].get<std::string>();
        if (!ns.empty()) head += "netns " + ns + " ";
        if (!(c["kind"] == "netns" && a != "changed"))
            head += c["kind"].get<std::string>() + " " + c["object"].get<std::string>();
        else
            head.pop_back();
        if (a != "changed" && a != "moved") {
            fmt::print("{}\n", head);
            continue;
        }
        std::string rest;
        for (auto& f : c["fields"]) {
            auto k = f.get<std::string>();
            auto side = [&](const json& o) { return o.is_object() && o.contains(k) ? brief(o[k]) : std::string("(none)"); };
            rest += fmt::format(" {} {} -> {}", k, side(c["before"]), side(c["after"]));
        }
        if (c["before"].is_string() || c["before"].is_null() || !c["before"].is_object())
            rest = fmt::format(" {} -> {}", brief(c["before"]), brief(c["after"]));
        fmt::print("{}{}\n", head, rest);
    }
    auto& s = report["stats"];
    fmt::print("{} added, {} removed, {} changed, {} moved\n", s["added"].get<size_t>(), s["removed"].get<size_t>(),
               s["changed"].get<size_t>(), s["moved"].get<size_t>());
}

}  // namespace

int main(int argc, char** argv) {
    App app("ovnet-diff", "What was added, removed and changed between two ovnet-inspect snapshots of one node.");
    auto& g = app.g;
    std::string file_a, file_b;
    bool counters = false, differ = false;
    app.cli.require_subcommand(0, 0);
    // Files are compared, no namespace is read.
    app.cli.remove_option(app.cli.get_option("--netns"));
    app.cli.remove_option(app.cli.get_option("--docker-netns-dir"));
    app.cli.add_option("A", file_a, "The earlier snapshot (- for stdin)")->required()->type_name("FILE");
    app.cli.add_option("B", file_b, "The later snapshot (- for stdin)")->required()->type_name("FILE");
    app.cli.add_flag("--counters", counters,
                     "Also compare counters: packets and bytes of rules and chains, IPVS stats and connections, "
                     "the snapshot's time");
    app.cli.callback([&] {
        if (file_a == "-" && file_b == "-") throw Error(ErrorKind::Input, "stdin (-) can be only one of A and B");
        json a = read_snapshot(file_a);
        json b = read_snapshot(file_b);
        SnapshotDiffOptions opt;
        opt.counters = counters;
        auto report = snapshot_diff_report(snapshot_diff(a, b, opt));
        differ = !report["equal"].get<bool>();
        emit(g, report, print_list);
    });
    int rc = app.run(argc, argv);
    return rc == 0 && differ ? 1 : rc;
}
