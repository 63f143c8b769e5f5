// ovnet/fdb.hpp - the peer table of an overlay: permanent neighbor + fdb entries on a VTEP.
#pragma once
#include <functional>
#include <istream>
#include <memory>
#include <optional>
#include <span>
#include <string_view>
#include <string>
#include <vector>
#include "ovnet/json.hpp"
#include "ovnet/neigh.hpp"
#include "ovnet/schema.hpp"
#include "ovnet/types.hpp"

namespace ovnet {
class Handle;

/// One row of the joined fdb/neighbor view of a VTEP.
struct PeerEntry {
    /// "peer" (permanent neighbor + permanent fdb with dst), "fdb-only", "neigh-only",
    /// "learned" (dynamic fdb entry) or "local" (the device's own or a bridge entry without dst).
    std::string status;
    IpAddr ip;                     ///< unset for fdb-only/learned/local
    Mac mac;
    IpAddr vtep;                   ///< the fdb entry's dst, unset when none
    std::string fdb_state;         ///< "" when there is no fdb entry
    std::string neigh_state;       ///< "" when there is no neighbor entry
    std::vector<std::string> flags;
    int link_netnsid = -1;         ///< the fdb entry's NDA_LINK_NETNSID, -1 when none

    /// The peer's JSON schema, the one list of its keys, every one on every row: status, ip, mac,
    /// vtep (null when unset), fdb_state and neigh_state (null without that entry), flags (the fdb
    /// entry's, null when none), link_netnsid (null when the fdb entry has none). The states,
    /// flags and link_netnsid are what the kernel reports: read-only, ignored by apply. Input
    /// (peers_read, peers_from_json) also takes "dev" (`ovnet-fdb local` rows) and iproute2's
    /// `bridge -j fdb show` keys.
    template <class W>
    void fields(W& w) const {
        using Sv = std::optional<std::string_view>;
        w("status", status);
        w("ip", ip);
        w("mac", mac);
        w("vtep", vtep);
        w("fdb_state", fdb_state.empty() ? Sv() : Sv(fdb_state), schema::ReadOnly);
        w("neigh_state", neigh_state.empty() ? Sv() : Sv(neigh_state), schema::ReadOnly);
        using Flags = std::optional<std::span<const std::string>>;
        w("flags", flags.empty() ? Flags() : Flags(std::span<const std::string>(flags)), schema::ReadOnly);
        w("link_netnsid", link_netnsid >= 0 ? std::optional<int>(link_netnsid) : std::nullopt, schema::ReadOnly);
    }
    json to_json() const { return schema::to_dom(*this); }
    /// Appends to_json().dump()'s text (compact JSON) without building a DOM.
    void write_json(std::string& out) const { schema::to_text(out, *this); }
};
/// Appends the entries as a compact JSON array: the bytes of a json array of their to_json()
/// dumped, what `ovnet-fdb show -j` prints for 100,000 peers without a DOM.
void write_json(std::string& out, const std::vector<PeerEntry>& entries);

/// A desired entry. ip+mac+vtep is a peer, mac+vtep an fdb-only entry, ip+mac a neighbor only.
struct PeerSpec {
    std::optional<IpAddr> ip;
    Mac mac;
    std::optional<IpAddr> vtep;
    std::string label() const;     ///< "peer 10.0.0.3 02:42:0a:00:00:03"
};

/// Parses a desired set: ovnet peer objects (`ovnet-fdb show -j` output, learned/local rows are
/// skipped), iproute2 `bridge -j fdb show` objects (mac, ifname, dst, state, flags; entries without
/// dst or not permanent are skipped), or `ovnet-fdb local -j` output. Entries lacking a vtep get
/// `default_vtep`. Duplicate MACs or IPs, bad fields and mixed families raise Error(Input).
std::vector<PeerSpec> peers_from_json(const std::vector<json>& docs,
                                      const std::optional<IpAddr>& default_vtep);

/// The same rules, parsing a stream (one or more JSON documents) without building a DOM: what
/// `ovnet-fdb apply` uses for sets of 100,000 peers.
std::vector<PeerSpec> peers_read(std::istream& in, const std::optional<IpAddr>& default_vtep,
                                 const std::string& what = "stdin");

/// The joined view of a VTEP's fdb and neighbor tables.
std::vector<PeerEntry> fdb_show(Handle& h, const std::string& dev);
/// fdb_show's rows for some addresses only, read with single get requests (as `bridge fdb get`
/// and `ip neigh get` do) instead of dumping the tables: the neighbors of `ips` and of the IPv4
/// address a Docker MAC (02:42:...) carries, the fdb entries (the bridge's and the VTEP's own) of
/// `macs` and of those neighbors' MACs. Falls back to fdb_show on a kernel without fdb get.
std::vector<PeerEntry> fdb_lookup(Handle& h, const std::string& dev, const std::vector<IpAddr>& ips,
                                  const std::vector<Mac>& macs);
/// fdb_show's join of an fdb dump (AF_BRIDGE entries of the device) and its neighbors. Pure.
std::vector<PeerEntry> peers_join(const std::vector<Neigh>& fdb, const std::vector<Neigh>& neighs);
/// Programs one peer exactly as Docker's peerAdd does. Idempotent.
Changes fdb_add(Handle& h, const std::string& dev, const PeerSpec& p);
/// Removes a peer's entries (by mac, and ip if given). Idempotent.
Changes fdb_del(Handle& h, const std::string& dev, const PeerSpec& p);

/// Checks a desired set as a whole, the one validation of both input paths (peers_read and
/// peers_from_json, which name entries by position, and fdb_apply_set, which names them by
/// label): every entry has an ip or a vtep, unicast non-zero MACs, unicast VTEPs of one family,
/// no MAC or IP twice. Raises Error(Input) naming the first offending entry.
void peers_validate(const std::vector<PeerSpec>& desired);

/// The tables a plan compares a set with: a VTEP's entries, as the kernel dumps them.
struct FdbState {
    int ifindex = 0;               ///< the VTEP's, for the requests that create entries
    std::vector<Neigh> fdb;        ///< AF_BRIDGE entries (the bridge's own, NDA_MASTER, are skipped)
    std::vector<Neigh> neighs;     ///< AF_INET and AF_INET6 neighbors
};

/// One request of a plan.
struct FdbWrite {
    enum Kind : uint8_t {
        FdbAdd,       ///< create or replace the fdb entry mac -> vtep of a desired entry
        NeighAdd,     ///< create or replace the neighbor ip -> mac of a desired entry
        FdbDel,       ///< delete an extra remote (stale twin) of a desired MAC
        FdbPrune,     ///< delete a permanent fdb entry missing from the set (--prune)
        NeighPrune,   ///< delete a permanent neighbor missing from the set (--prune)
    } kind;
    Neigh entry;                   ///< what is written (RTM_NEWNEIGH) or deleted (RTM_DELNEIGH)
    uint32_t change;               ///< index of its change in FdbPlan::changes
    bool del() const { return kind >= FdbDel; }
    bool fdb() const { return kind == FdbAdd || kind == FdbDel || kind == FdbPrune; }
};

/// What converging a VTEP to a set takes: the writes in the order they are sent, one change per
/// peer that differs (not the unchanged ones) and the counts.
///
/// Order: for each desired entry, in set order, the deletes of its MAC's extra remotes, then its
/// fdb entry, then its neighbor; after all of them the prunes: each pruned fdb entry (by MAC)
/// followed by its neighbor, then the neighbors no pruned fdb entry has. A peer's writes (those of
/// one change) are adjacent, and fdb_apply_set sends them in one sendmsg(), which the kernel
/// carries out whole: an apply killed at any point leaves every peer whole or untouched. When the
/// kernel refuses half of a peer, fdb_apply_set takes back the made half of a peer it was adding.
/// A pruned neighbor joins the change of the pruned fdb entry with the same MAC (one "removed").
struct FdbPlan {
    std::vector<FdbWrite> writes;
    /// Action::Added, Changed (how "replaced") or Removed; object = PeerSpec::label() of the
    /// peer; fields = `"ip":...,"mac":...,"vtep":...` (null when absent).
    Changes changes;
    ChangeStats stats;             ///< writes = writes.size()
};

/// The plan: a pure function of the current tables, the desired set (one that passed
/// peers_validate) and the options. A desired entry is unchanged when its fdb entry is the MAC's
/// only one, permanent, with the desired vtep, and its neighbor permanent with the desired MAC;
/// otherwise the differing halves are written (the other half of a neighbor-only or fdb-only
/// pair is completed). With `prune`, permanent fdb entries with a dst (not the all-zeros default
/// destination) and permanent neighbors that the set does not name are removed; learned and
/// local entries never are.
FdbPlan fdb_plan(FdbState cur, const std::vector<PeerSpec>& desired, bool prune);

/// What fdb_apply_set() compares a set with: the device and its fdb and neighbor tables, read
/// ahead (`ovnet-fdb apply` reads it on a second thread while it parses the set). Failures are
/// kept, and fdb_apply_set() raises them where it would have met them reading the state itself.
struct FdbSnapshot;
std::shared_ptr<FdbSnapshot> fdb_snapshot(Handle& h, const std::string& dev);

/// Converges the VTEP to the desired set in one batched exchange: reads the tables (or takes them
/// from `snap`, from fdb_snapshot() on the same handle and device; the call consumes it), validates
/// (peers_validate, and a vxlan device), plans (fdb_plan) and sends the plan's writes. Returns the
/// plan's changes (the changed peers only) and puts the counts in *stats. When the kernel refuses
/// a write, the made half of a peer being added is removed and Error(Runtime) names the first
/// refused write's peer.
Changes fdb_apply_set(Handle& h, const std::string& dev, const std::vector<PeerSpec>& desired, bool prune,
                      ChangeStats* stats = nullptr, FdbSnapshot* snap = nullptr);

/// Whether a batched fdb/neighbor request's error means its goal was already reached, which a
/// bulk apply counts as success: ENOENT on a delete (the entry is gone), EEXIST on an add (the
/// entry is there). Another writer (iproute2, not under ovnet's NetnsLock) can race an apply.
bool benign_batch_error(bool del, int err);

/// The VTEP to work on: `dev` when given, else the namespace's only vxlan device (Error(Input)
/// when there is none or several).
std::string fdb_pick_dev(Handle& h, const std::string& dev);

/// `ovnet-fdb apply` in one call: reads the set from `in` (peers_read) while a second thread opens
/// the namespace, picks the device (fdb_pick_dev) and reads its tables (fdb_snapshot), then applies
/// (fdb_apply_set). Errors come in the order a sequential run meets them: the set's first, then
/// the namespace's, the device's and the state's. The device used goes to *dev_out.
/// `check`, when given, sees the set read and the device before anything is written and may
/// throw (ovnet-fdb refuses an empty set with --prune there).
using FdbSetCheck = std::function<void(const std::vector<PeerSpec>& set, const std::string& dev)>;
Changes fdb_apply_read(const std::string& netns, const std::string& dev, std::istream& in,
                       const std::optional<IpAddr>& default_vtep, bool prune, ChangeStats* stats = nullptr,
                       std::string* dev_out = nullptr, const FdbSetCheck& check = {});

/// fdb_apply_set() for small sets (`ovnet-fdb add`): each change carries its ip, mac and vtep
/// as a "detail" object.
Changes fdb_apply(Handle& h, const std::string& dev, const std::vector<PeerSpec>& desired,
                  bool prune, ChangeStats* stats = nullptr);

/// The local endpoints behind a VTEP, as peers other hosts should program: for every veth port
/// of the VTEP's bridge, the sandbox end's IPv4 address(es) and MAC, with vtep = the VTEP's local
/// address (or the first IPv4 address of its underlay device, or `vtep` when given). Status is
/// "endpoint"; peers_from_json takes these as peers.
std::vector<PeerEntry> fdb_local(Handle& h, const std::string& dev, const std::optional<IpAddr>& vtep = {});

}  // namespace ovnet
