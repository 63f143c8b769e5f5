// ovnet/lab_break.hpp - ovnet-lab's break and fix: the real bugs Docker users hit, injected into a
// lab with the library, each with what the learner sees, a hint, the documented fix as ovnet
// commands, and a check that names the problem (ovnet-audit's findings over the lab's nodes).
//
// Planning a break is pure (lab_break_plan: what to break where, and the fix, from the plan);
// lab_break_apply writes it; lab_break_judge grades an audit of the live lab.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "ovnet/audit.hpp"
#include "ovnet/inspect.hpp"
#include "ovnet/json.hpp"
#include "ovnet/lab.hpp"

namespace ovnet {

/// One scenario of `ovnet-lab break`.
struct LabScenario {
    std::string name;                 ///< "fdb-half-entry"
    std::string issue;                ///< "moby/moby#52661", "" when none
    std::string title;                ///< one line: what is broken
    std::string needs;                ///< "" (any kernel), "ipvs" (the routing mesh), "gcm" (encryption)
    std::vector<std::string> codes;   ///< the findings that name it (audit codes, or the lab's own
                                      ///< DNAT_MISSING / ESP_BLOCKED)
    std::string symptom;              ///< what the learner sees
    std::string hint;                 ///< where to look
};

/// Every scenario, in `break --list` order.
const std::vector<LabScenario>& lab_scenarios();
/// The scenario named `name`, nullptr when none.
const LabScenario* lab_scenario_find(const std::string& name);

/// One break: where, what, and the documented fix. Recorded in the lab's state dir
/// (break-<scenario>.json) so that `status` and `check` know.
struct LabBreak {
    std::string scenario;
    std::string node, netns;          ///< the node broken, its host namespace
    std::string device;               ///< the VTEP (peers, MTU) or the chain (rules)
    std::string bridge;               ///< mtu-mismatch: the overlay's bridge
    std::string what;                 ///< one line: what was done
    IpAddr ip, vtep;                  ///< the peer concerned (unset when none)
    Mac mac;
    IpAddr wrong_vtep;                ///< learned-shadow: where the learned entry points
    uint32_t mtu = 0, good_mtu = 0;   ///< mtu-mismatch
    uint16_t port = 0;                ///< no-dnat: the published port
    std::vector<std::string> fix;     ///< shell commands, in order
    json to_json() const;
    static LabBreak from_json(const json& j);
};

/// What breaking `scenario` in the lab means (pure). Error(Input) for an unknown scenario, or
/// when the plan has nothing the scenario can break (no task on a second node...).
LabBreak lab_break_plan(const LabPlan& plan, const std::string& scenario);

/// Injects the break with the library (neighbor/fdb writes, link MTU, iptables-restore into an
/// ovnet-owned chain); never runs ip or bridge.
Changes lab_break_apply(const LabPlan& plan, const LabBreak& b);

/// The lab's nodes as ovnet-inspect snapshots: each node's host namespace and its sandboxes (the
/// plan's, scaled ones only once scaled), read one namespace at a time. Error(Runtime) naming a
/// namespace of the plan that is missing.
std::vector<Snapshot> lab_inspect(const LabPlan& plan);
/// The same, as ovnet-audit reads them.
std::vector<AuditSnapshot> lab_audit_snapshots(const std::vector<Snapshot>& snaps);

/// The grade of a scenario's check.
struct LabCheckResult {
    std::string scenario;
    bool passed = false;
    std::vector<AuditFinding> findings;   ///< those naming the problem
    std::string message;                  ///< one line
    std::string hint;
    std::vector<std::string> fix;         ///< the documented fix (when a break is recorded)
    json to_json() const;
};

/// Grades scenario `s` over an audit of the lab (and its snapshots, for the lab's own codes):
/// failed when a finding of the scenario's codes concerns the broken node (any node when `b` is
/// null: nothing recorded). Pure.
LabCheckResult lab_break_judge(const LabPlan& plan, const LabScenario& s, const LabBreak* b, const AuditReport& r,
                               const std::vector<AuditSnapshot>& snaps);

}  // namespace ovnet
