// ovnet-lab's verbs share this: the options every verb has, the lab's recorded plan, and the
// registration function of each verb file (tools/lab_*.cpp). The library does the work
// (include/ovnet/lab.hpp); these files parse, call, print.
#pragma once
#include <string>
#include "common.hpp"
#include "ovnet/lab.hpp"

namespace ovnet::lab {

/// Options of every verb.
struct LabCli {
    tool::App* app = nullptr;
    std::string prefix = "lab";        ///< --prefix: namespaces "<prefix>-swarm-01", ...
    std::string topology;              ///< --topology FILE (YAML or JSON); "" = the built-in deep dive
    unsigned nodes = 0;                ///< --nodes N (0: the topology's)
    bool vm = false;                   ///< --vm: the whole lab inside the project's qemu VM
    /// The recorded plan of the lab; Error(Input) "no lab with prefix P (run ovnet-lab up)" when none.
    LabPlan plan() const;
    /// The topology from --topology (or the default), with --nodes applied.
    LabTopology topology_read() const;
    /// Where the ovnet-* tools are: next to this binary, else PATH.
    std::string tool_path(const std::string& tool) const;
};

/// The built-in default topology (examples/lab/deep-dive.yaml, compiled in).
const std::string& default_topology_yaml();
/// YAML text -> the topology's JSON form (yaml-cpp); Error(Input) naming `source`, line and key.
json yaml_to_json(const std::string& text, const std::string& source);

// Each verb file registers its verbs on the tool's command table.
void add_core_verbs(tool::App& app, LabCli& c);    // up, down, status, scale     (lab_core.cpp)
void add_tour_verbs(tool::App& app, LabCli& c);    // tour, task, check, selftest (lab_tour.cpp)
void add_break_verbs(tool::App& app, LabCli& c);   // break, capture, graph       (lab_break.cpp)

/// `check SCENARIO` for the break scenarios (lab_break.cpp): -1 when `name` is no scenario, else
/// prints the grade and returns 0 (passed) or 1 (failed, with the finding and the hint).
int break_check(LabCli& c, const std::string& name);
/// The breaks recorded in the lab's state dir (for `status`): [{scenario, node, what, fix...}].
json break_status(const LabCli& c);

}  // namespace ovnet::lab
