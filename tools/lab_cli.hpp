// ovnet-lab's verbs share this: the options every verb has, the lab's recorded plan, and the
// registration function of each verb file (tools/lab_*.cpp). The library does the work
// (include/ovnet/lab.hpp); these files parse, call, print.
#pragma once
#include <functional>
#include <optional>
#include <string>
#include <vector>
#include "common.hpp"
#include "ovnet/lab.hpp"
#include "ovnet/lab_tour.hpp"

namespace ovnet::lab {

/// Options of every verb.
struct LabCli {
    tool::App* app = nullptr;
    std::string prefix = "lab";        ///< --prefix: namespaces "<prefix>-swarm-01", ...
    std::string topology;              ///< --topology FILE (YAML or JSON); "" = the built-in deep dive
    unsigned nodes = 0;                ///< --nodes N (0: the topology's)
    bool vm = false;                   ///< --vm: the whole lab inside the project's qemu VM
    int exit_code = 0;                 ///< a verb's exit status other than 0 (check: 1, 77), returned by main
    /// The recorded plan of the lab; Error(Input) "no lab with prefix P (run ovnet-lab up)" when none.
    LabPlan plan() const;
    /// The topology from --topology (or the default), with --nodes applied.
    LabTopology topology_read() const;
    /// Where the ovnet-* tools are: next to this binary, else PATH.
    std::string tool_path(const std::string& tool) const;
};

/// The built-in default topology (examples/lab/deep-dive.yaml) in its JSON form, converted at build
/// time (lab_yaml2json.cpp): read without yaml-cpp.
const std::string& default_topology_json();
/// YAML text -> the topology's JSON form (yaml-cpp); Error(Input) naming `source`, line and key.
json yaml_to_json(const std::string& text, const std::string& source);

/// --vm anywhere before "--": the run goes to the VM (lab_vm.cpp).
bool wants_vm(int argc, char** argv);
/// One VM boot runs up, the verb, down; the guest's output streamed; exit 0 when the verb passed.
int run_in_vm(int argc, char** argv);

// ---- checks (tools/lab_tour.cpp): `ovnet-lab check ID [ANSWER...]`
/// Another verb file's checks (the break scenarios'): results for `id`, or nullopt when `id` is not
/// one of its. Providers are asked before the tour's own checks.
using CheckProvider = std::function<std::optional<std::vector<CheckResult>>(
    LabCli& c, const std::string& id, const std::vector<std::string>& answer)>;
void add_check_provider(CheckProvider p);
/// The results of check `id` (a task's number with the answer, a health check's id, "snapshot",
/// "journey-*", "health", "journeys", "all", or a provider's id). Error(Input) for no such check.
std::vector<CheckResult> check_results(LabCli& c, const std::string& id, const std::vector<std::string>& answer);
/// 1 if any failed, else 77 if every one was skipped (none passed), else 0.
int check_exit_code(const std::vector<CheckResult>& results);
/// check_results, printed (JSON when piped: {"checks": [...], "passed", "failed", "skipped"});
/// returns check_exit_code.
int run_check(LabCli& c, const std::string& id, const std::vector<std::string>& answer);

// Each verb file registers its verbs on the tool's command table.
void add_core_verbs(tool::App& app, LabCli& c);    // up, down, status, scale     (lab_core.cpp)
void add_tour_verbs(tool::App& app, LabCli& c);    // tour, task, check, selftest (lab_tour.cpp)
void add_break_verbs(tool::App& app, LabCli& c);   // break, capture, graph       (lab_break.cpp)

/// `check SCENARIO` for the break scenarios (lab_break.cpp, registered as a check provider): -1
/// when `name` is no scenario, else run_check's: 0 passed, 1 failed (the finding and the hint),
/// 77 the scenario needs the VM on this kernel.
int break_check(LabCli& c, const std::string& name);
/// The breaks recorded in the lab's state dir (for `status`): [{scenario, node, what, fix...}].
json break_status(const LabCli& c);

}  // namespace ovnet::lab
