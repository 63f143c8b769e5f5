// ovnet/lab_tour.hpp - the deep dive's walk through the lab (ovnet-lab tour, task, check,
// selftest): the tour's steps and the learner's tasks as data computed from a LabPlan, and the
// checks, which compare the lab's live state with its plan. The step table and the checks' logic
// are pure (unit-tested without root); lab_observe() is the one place that reads the kernel.
#pragma once
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "ovnet/inspect.hpp"
#include "ovnet/json.hpp"
#include "ovnet/lab.hpp"

namespace ovnet {

// ---------------------------------------------------------------- tour

/// What a step needs from the kernel beyond veth/bridge/vxlan.
enum class TourNeed { None, Ipvs, Gcm };

/// One command of a step: an ovnet tool and its arguments (argv[0] is the tool's name, found
/// next to ovnet-lab), run with its live output shown. `networks_table`: the command prints an
/// ovnet-inspect snapshot, which the tour shows as a `docker network ls`-like table.
struct TourCommand {
    std::vector<std::string> argv;
    TourNeed need = TourNeed::None;
    bool networks_table = false;
    std::string shell() const;       ///< the command line as the learner would type it
};

/// One step of the tour: a part of a section of the deep dive.
struct TourStep {
    unsigned number = 0;             ///< 1-based
    std::string section;             ///< the seed's section title, verbatim
    std::string title;               ///< what this step shows
    std::string seed_command;        ///< the seed's command(s), one per line
    std::string seed_output;         ///< the output the seed shows ("" when it shows none)
    std::vector<TourCommand> commands;
    /// What to look at, computed from the plan. "{...}" parts name live values the tool fills
    /// in from the lab (see tour_annotate): "{ifindex NETNS IF}", "{peer NETNS IF}".
    std::vector<std::string> look;
    std::vector<std::string> differs;   ///< where today's Docker (or the lab) differs from the seed
    bool scale = false;              ///< the step scales a service first (docker service scale)
    std::string scale_service;       ///< the service scaled, and to how many replicas
    unsigned scale_replicas = 0;
    /// The step's first command is a capture: while it runs, the tour makes traffic by asking the
    /// responder at traffic_to:traffic_port from inside traffic_from (lab_ask).
    bool capture = false;
    std::string traffic_from;
    IpAddr traffic_to;
    uint16_t traffic_port = 0;
};

/// The tour for this plan: every section of the deep dive, in the seed's order. Steps that
/// follow the scale step show the scaled lab (lab_plan(..., true)); `plan` may be either. Pure.
std::vector<TourStep> tour_steps(const LabPlan& plan);

/// Fills the "{ifindex NETNS IF}" / "{peer NETNS IF}" / "{peerindex NETNS IF}" parts of a
/// look line from the observed namespaces ("?" when unknown). Pure.
std::string tour_annotate(const std::string& line, const std::map<std::string, NetnsState>& seen);

// ---------------------------------------------------------------- tasks

/// One "Try this" / "Task" item of the deep dive.
struct LabTask {
    unsigned number = 0;
    std::string section;             ///< the seed's section
    std::string text;                ///< the task as stated
    std::string answer;              ///< how to answer: "ovnet-lab check 1 MAC [TASK|NODE]"
    bool needs_scale = false;        ///< meaningful after `ovnet-lab scale` (tour's scale step)
    TourNeed need = TourNeed::None;
};
/// Every task for this plan (texts name the plan's nodes, devices, services). Pure.
std::vector<LabTask> lab_tasks(const LabPlan& plan);

// ---------------------------------------------------------------- checks

enum class CheckStatus { Passed, Failed, Skipped };
const char* check_status_name(CheckStatus s);   ///< "passed", "failed", "skipped"

/// The outcome of one check.
struct CheckResult {
    std::string id;                  ///< "1", "fdb-peers", "snapshot", ...
    std::string name;                ///< one line: what is checked
    CheckStatus status = CheckStatus::Passed;
    std::string message;             ///< what was found (the answer, the difference, why skipped)
    std::string hint;                ///< on failure: where to look / what to do
    json to_json() const;            ///< {"id","name","status","message","hint"}
};

/// The lab's live state, read once: every namespace of the plan that exists (by namespace name;
/// namespaces missing from the map do not exist), and the kernel's capabilities.
struct LabSeen {
    std::map<std::string, NetnsState> netns;
    LabCaps caps;
};
/// Reads every namespace of the plan (inspect_node per namespace, peers included). The one
/// reading function; everything else here is pure.
LabSeen lab_observe(const LabPlan& plan, const LabCaps& caps);

/// The answer-checks of the tasks: `check N ANSWER...`. Error(Input) when N is no task or the
/// answer has the wrong shape (says what is expected). Pure.
CheckResult lab_task_check(const LabPlan& plan, const LabSeen& seen, unsigned task,
                           const std::vector<std::string>& answer);

/// The lab's health, as its plan says it should be (the break scenarios are graded by these):
///  - "namespaces": every namespace of the plan exists;
///  - "links": every node has its overlays' bridges and VTEPs (VNI, port, local, MTU) and veths
///    with the planned names, addresses, MACs and MTUs in every sandbox;
///  - "fdb-peers": every VTEP has exactly the other nodes' endpoints as permanent peers, each with
///    its neighbor, and no learned entry shadows a peer;
///  - "mtu": every endpoint's MTU is its overlay's;
///  - "lb" and "publish" (IPVS): the services and published ports as planned; skipped without IPVS;
///  - "crypt" (AES-GCM): encrypted overlays have their SAs; skipped without GCM.
/// Pure.
std::vector<CheckResult> lab_health_checks(const LabPlan& plan, const LabSeen& seen);
/// The ids lab_health_checks() returns, in order, with their one-line names.
const std::vector<std::pair<std::string, std::string>>& lab_health_check_ids();

/// The right answer to task N as the plan gives it (the veth name of task 5 is read from `seen`:
/// the kernel names it); nullopt when this lab has none. What selftest answers. Pure.
std::optional<std::vector<std::string>> lab_task_answer(const LabPlan& plan, const LabSeen& seen, unsigned task);

/// The live state vs the plan's expected snapshot: every planned object present with its
/// planned values (names, addresses, MACs, MTUs, VNIs, peers); volatile fields (ifindexes, veth
/// host names, counters, learned entries, times) ignored. Pure.
CheckResult lab_snapshot_check(const LabPlan& plan, const LabSeen& seen);

/// The journeys, by connecting from inside the lab (I/O; each answer is the lab's responder's
/// "<task> on <node>"): "journey-overlay": a task reaches a task of its service on another node
/// over the overlay; "journey-vip" (IPVS): the service's VIP answers from one of its tasks;
/// "journey-mesh" (IPVS): the outside client reaches node 1's published port and a task of the
/// published service answers, through ingress_sbox. Without IPVS those two are skipped.
std::vector<CheckResult> lab_journey_checks(const LabPlan& plan, const LabCaps& caps);
/// Reads the responder's answer at addr:port from inside namespace `netns` (connect, send a line,
/// read until EOF; at most `timeout_ms` in all). Error(Runtime) naming the address on failure.
std::string lab_ask(const std::string& netns, const IpAddr& addr, uint16_t port, int timeout_ms = 3000);

/// The expected snapshot of a node, as far as the plan fixes it: the part of an ovnet-inspect
/// snapshot that lab_snapshot_check compares (volatile fields left out). Pure.
json lab_expected_snapshot(const LabPlan& plan);
/// The same projection of the live state (what is compared with lab_expected_snapshot). Pure.
json lab_seen_snapshot(const LabPlan& plan, const LabSeen& seen);

}  // namespace ovnet
