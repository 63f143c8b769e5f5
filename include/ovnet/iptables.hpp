// ovnet/iptables.hpp - netfilter rules in ovnet-owned chains, written atomically with
// `iptables-restore --noflush` and read back with `iptables-save`.
//
// The model is kube-proxy's and Docker's: every rule ovnet writes lives in a user chain named
// OVNET-*, hooked once from a built-in chain by a jump rule that is added only when missing. A
// chain is always written whole (declaring an existing chain in a --noflush restore flushes it),
// so converging is "compare the chain's rules, in iptables-save's normalised form, with the
// desired list; rewrite it if they differ". Nobody else's rules or chains are touched. All the
// tables that change go into one restore payload, one process, each table committed atomically.
//
// The binaries run inside the target namespace (exec_in_netns in netns.hpp: fork, setns,
// execvp): never through a shell and never with rule text on a command line; the payload goes
// through a stdin pipe.
#pragma once
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "ovnet/json.hpp"

namespace ovnet {

/// Prefix of every chain ovnet owns.
inline constexpr const char* kOwnedChainPrefix = "OVNET-";

/// One table of `iptables-save` output: chains in order, and each chain's rules as iptables-save
/// prints them after "-A CHAIN " (the normalised form used for every comparison).
struct IptTable {
    std::string name;
    std::vector<std::string> chains;                          ///< declared chains, in order
    std::map<std::string, std::vector<std::string>> rules;    ///< chain -> rule specs
    bool has_chain(const std::string& c) const;
    const std::vector<std::string>& chain_rules(const std::string& c) const;  ///< empty if none
};

/// The tables of one `iptables-save` run, by name. A table the namespace never used is absent.
struct IptState {
    std::map<std::string, IptTable> tables;
    const IptTable& table(const std::string& name) const;    ///< an empty table if absent
    /// Parses iptables-save output. Throws Error(Runtime) on lines it cannot read.
    static IptState parse(const std::string& save_text);
};

/// A jump from a built-in chain into an owned chain, e.g. {"PREROUTING", "-m addrtype
/// --dst-type LOCAL -j OVNET-INGRESS"} (the spec must end with "-j <owned chain>").
struct IptHook {
    std::string chain;
    std::string spec;
    bool operator==(const IptHook&) const = default;
};

/// The desired content of one owned chain. Empty `rules` means the chain must not exist: its
/// hooks are deleted, then the chain. Otherwise the chain holds exactly `rules`, in order, and
/// every hook is present (inserted at the top of its built-in chain when missing).
struct IptChain {
    std::string table;                ///< "nat", "mangle", "filter", "raw"
    std::string chain;                ///< OVNET-*
    std::vector<std::string> rules;   ///< iptables-save form, without "-A CHAIN "
    std::vector<IptHook> hooks;
};

/// A computed change: the restore payload (empty when nothing differs) and what it does.
struct IptPlan {
    std::string payload;
    Changes changes;       ///< "added chain nat OVNET-INGRESS", "replaced ...", "unchanged"
    size_t tables = 0;     ///< tables the payload commits
};

/// Validates an owned chain spec (name prefix, table, no newlines; hooks jump into the chain).
void validate_ipt_chain(const IptChain& c);

/// Compares the desired chains with the current state and builds one --noflush payload that
/// converges them: per table, chain declarations first (which create or flush), then hook
/// deletions, rules, hook insertions and chain deletions, then COMMIT. Pure: no process is run.
IptPlan ipt_plan(const IptState& current, const std::vector<IptChain>& desired);

/// Splits a rule spec as iptables-save prints it into words, keeping "quoted strings" whole
/// without their quotes (`--comment "a b"` gives "--comment", "a b"; \" inside quotes is "). Pure.
std::vector<std::string> ipt_words(const std::string& spec);

/// Runs `iptables-save` (all tables) inside the namespace at `netns_path` ("" = current).
/// The binary is $OVNET_IPTABLES_SAVE, default "iptables-save".
std::string ipt_save_text(const std::string& netns_path);
IptState ipt_read(const std::string& netns_path);

/// The rules of both iptables backends merged, for reading other programs' rules (Docker on
/// Debian 12 writes through iptables-nft; older hosts and some images through iptables-legacy):
/// `iptables-nft-save`, then `iptables-legacy-save`, each run when installed; tables and chains
/// in that order, a rule both print listed once. With $OVNET_IPTABLES_SAVE set only that binary
/// runs; with neither installed, `iptables-save`. ovnet's own chains are still read (and written)
/// through the one backend ipt_read/ipt_restore use.
IptState ipt_read_all(const std::string& netns_path);
/// What one save binary printed.
struct IptSaveText {
    std::string backend;   ///< the binary: "iptables-nft-save", "iptables-legacy-save", ...
    std::string text;
};
/// The outputs ipt_read_all parses, binary by binary (the same binaries, in the same order), each
/// run with `args` (ovnet-inspect: {"-c"} for counters).
std::vector<IptSaveText> ipt_save_all(const std::string& netns_path, const std::vector<std::string>& args = {});
/// ipt_read and ipt_read_all at once: the backend ovnet writes is usually one of the backends
/// ipt_read_all runs (iptables-save is iptables-nft-save or iptables-legacy-save under another
/// name), and then its output serves both, one process less per backend.
struct IptBoth {
    IptState own;   ///< as ipt_read
    IptState all;   ///< as ipt_read_all
};
IptBoth ipt_read_both(const std::string& netns_path);
/// `a` followed by what `b` adds (the merge ipt_read_all does; pure).
IptState ipt_merge(IptState a, const IptState& b);

/// Runs `iptables-restore -w --noflush` inside the namespace with the payload on stdin. The
/// binary is $OVNET_IPTABLES_RESTORE, default "iptables-restore". Throws Error(Runtime) with the
/// tool's first stderr line on failure.
void ipt_restore(const std::string& netns_path, const std::string& payload);

/// True when iptables and iptables-save/-restore are the legacy backend (xtables-legacy-multi on
/// PATH, no $OVNET_IPTABLES_SAVE/_RESTORE) and none of the chains exists in its table, read in
/// the namespace through the kernel's legacy getsockopt interface as iptables-legacy-save reads
/// it (no process). False when that cannot be known (nft backend, a table unreadable).
bool ipt_chains_absent(const std::string& netns_path, const std::vector<IptChain>& desired);

/// Reads the state, plans and, when something differs, restores once. Returns the changes
/// (one "unchanged" entry per chain when nothing differs; then no process but iptables-save ran).
/// When every desired chain is to be written and ipt_chains_absent() says none exists yet, the
/// plan is made against an empty state without running iptables-save.
Changes ipt_apply(const std::string& netns_path, const std::vector<IptChain>& desired,
                  size_t* restores = nullptr);

/// `st` with the chains written as ipt_plan's payload writes them (an empty chain removed). Pure.
IptState ipt_with_chains(IptState st, const std::vector<IptChain>& chains);

/// Netfilter writes of several steps to several namespaces, gathered and committed with one
/// `iptables-restore` per namespace (ovnet-lab's up: every service of a task sandbox, the mesh and
/// ESP chains of a node, each namespace in one process instead of one or two per step). A step
/// reads a namespace's state through the batch (read once; later reads see the chains queued
/// since, as the kernel will once committed) and queues its chains instead of restoring them.
/// Nothing is written before commit().
class IptBatch {
public:
    /// Declares that the namespace has no rules yet in either backend (its caller just created
    /// it): its state is empty without running iptables-save.
    void fresh(const std::string& netns_path);
    /// The namespace's state through the backend ovnet writes (ipt_read), with the queued chains.
    const IptState& state(const std::string& netns_path);
    /// Both backends' rules merged (ipt_read_all), with the queued chains: for other programs'
    /// rules (Docker's), read once.
    const IptState& state_all(const std::string& netns_path);
    /// Queues chains (validated now); a chain queued again replaces the earlier version.
    void add(const std::string& netns_path, const std::vector<IptChain>& chains);
    /// Plans each namespace's queued chains against the state first read and restores once per
    /// namespace that differs, in the order the namespaces were first queued. Returns the changes,
    /// each object followed by " in NETNS" when `label` gives the namespace's name (else as is).
    Changes commit(const std::map<std::string, std::string>& label = {}, size_t* restores = nullptr);

private:
    struct Ns {
        std::optional<IptState> base, base_all;    // as read (or empty when fresh)
        std::optional<IptState> cur, cur_all;      // with the queued chains
        std::vector<IptChain> queued;
        bool fresh = false;
    };
    Ns& ns(const std::string& netns_path);
    void read(const std::string& netns_path, Ns& n);
    std::vector<std::string> order_;
    std::map<std::string, Ns> ns_;
};

}  // namespace ovnet
