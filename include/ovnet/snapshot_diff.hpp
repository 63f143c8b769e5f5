// ovnet/snapshot_diff.hpp - what was added, removed and changed between two ovnet-inspect
// snapshots of one node (`ovnet-diff A B`). Pure: it reads two parsed documents, nothing else.
#pragma once
#include <string>
#include <vector>

#include "ovnet/json.hpp"

namespace ovnet {

/// The snapshot schema tag this diff reads (Snapshot's "schema", include/ovnet/inspect.hpp).
constexpr const char* kSnapshotSchema = "ovnet-inspect/1";

/// Throws Error(Input) "WHAT: ..." (one line) unless doc is an object whose "schema" is
/// kSnapshotSchema and which has the snapshot's "netns" object and "networks" array.
void check_snapshot(const json& doc, const std::string& what);

struct SnapshotDiffOptions {
    /// Also compare counters: rule and chain packets/bytes, IPVS stats, active/inactive/persistent
    /// connections, and the snapshot's "time". Off: they never make a difference.
    bool counters = false;
};

/// One difference. Identities: a namespace by label; in a namespace a link, bridge, VTEP by name,
/// a bridge port by "BRIDGE PORT", a peer by "VTEPDEV MAC", an address by prefix, a route by dst
/// (+ " table T"), an IPVS service by key and a destination by "KEY ADDRESS:PORT", a netfilter
/// chain by "TABLE CHAIN" and a rule by "TABLE CHAIN SPEC", an xfrm state by "SRC DST PROTO SPI", a
/// policy by "DIR SRC DST PROTO SPORT DPORT MARK/MASK", a sysctl by name, an lb service by
/// "VIP fwmark N", a published port by "PORT/PROTO"; a network by "vni N bridge B" (netns "" like
/// the host's "host" entry). When an identity repeats in one snapshot (a route on two devices, a
/// rule twice), a second key (the device) or "#2", "#3" is appended.
/// A namespace added or removed is one entry (its objects are in before/after). The derived views
/// (a namespace's "interfaces", netfilter "text", a network's endpoints, peers, services and
/// published ports) are not compared: their sources are.
struct SnapshotChange {
    Action action = Action::Changed;
    bool moved = false;             ///< a netfilter rule whose place among its chain's rules changed
    std::string netns;              ///< namespace label; "" for the node's own fields and networks
    std::string kind;               ///< "netns", "link", "bridge", "bridge-port", "vtep", "address",
                                    ///< "route", "peer", "ipvs-service", "ipvs-dest", "netfilter-chain",
                                    ///< "netfilter-rule", "xfrm-state", "xfrm-policy", "sysctl",
                                    ///< "lb-service", "published", "network", "host"
    std::string object;             ///< the identity
    json before, after;             ///< the object in A and in B (null when absent)
    std::vector<std::string> fields;   ///< the keys that differ (changed only; moved: "position")

    const char* word() const { return moved ? "moved" : action_name(action); }
    /// {"action","netns","kind","object","before","after","fields"}.
    json to_json() const;
    /// The project's change form: object "netns N KIND ID" (Change::write_json).
    Change to_change() const;
};

/// The differences from a to b, namespaces in a's order then b's new ones, kinds in the order
/// above. Both must have passed check_snapshot.
std::vector<SnapshotChange> snapshot_diff(const json& a, const json& b, const SnapshotDiffOptions& opt = {});

/// {"equal": bool, "changes": [...], "stats": {"added","removed","changed","moved"}}.
json snapshot_diff_report(const std::vector<SnapshotChange>& changes);

}  // namespace ovnet
