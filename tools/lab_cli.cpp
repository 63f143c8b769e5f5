// ovnet-lab: the options every verb shares (LabCli) and the topology file reader.
#include <unistd.h>

#include <climits>

#include "lab_cli.hpp"

namespace ovnet::lab {

LabPlan LabCli::plan() const {
    auto p = lab_load(prefix);
    if (!p) throw_input("no lab with prefix " + prefix + " (run ovnet-lab up)");
    return *p;
}

LabTopology LabCli::topology_read() const {
    std::string source = topology.empty() ? std::string("built-in deep-dive topology") : topology == "-" ? std::string("stdin") : topology;
    const std::string& text = topology.empty() ? default_topology_json() : read_path_all(topology);
    size_t first = text.find_first_not_of(" \t\r\n");
    json j;
    if (first != std::string::npos && (text[first] == '{')) {
        // JSON (the topology's own form, or a plan's "topology" member).
        std::vector<json> docs;
        for_each_json_span(std::string_view(text), source, [&](std::string_view span, size_t) {
            docs.push_back(json::parse(span));
        });
        if (docs.size() != 1) throw_input(source + ": expected one JSON object");
        j = std::move(docs[0]);
    } else {
        j = yaml_to_json(text, source);
    }
    try {
        return lab_topology_with_nodes(LabTopology::from_json(j), nodes);
    } catch (const Error& e) {
        if (e.kind() != ErrorKind::Input) throw;
        throw_input(source + ": " + e.what());
    }
}

std::string LabCli::tool_path(const std::string& tool) const {
    char buf[PATH_MAX];
    ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
    if (n > 0) {
        std::string dir(buf, size_t(n));
        dir.erase(dir.rfind('/') + 1);
        std::string p = dir + tool;
        if (::access(p.c_str(), X_OK) == 0) return p;
    }
    return tool;   // execvp finds it on PATH
}

}  // namespace ovnet::lab
