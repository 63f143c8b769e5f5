// Shared plumbing of the ovnet-* tools: global options, one output path for tables and JSON,
// error reporting and exit codes. Tools stay thin: parse arguments, call the library, emit.
#pragma once
#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <functional>
#include <string>
#include <vector>

#include "ovnet/ovnet.hpp"

namespace ovnet::tool {

struct Global {
    std::string netns;
    std::vector<std::string> docker_netns_dirs;  ///< --docker-netns-dir (docker_netns_dirs_add)
    bool json = false;
    bool pretty = false;
    bool quiet = false;
    bool table = false;  ///< -t: a table even when stdout is not a terminal
    std::string name;   ///< tool name, for messages
    bool json_out() const;  ///< -j, -p, or stdout is not a terminal (and no -t)
};

/// A table built from the same JSON document that -j would print.
class Table {
public:
    explicit Table(std::vector<std::string> headers) : headers_(std::move(headers)) {}
    void row(std::vector<std::string> cells) { rows_.push_back(std::move(cells)); }
    void print(std::FILE* out) const;
private:
    std::vector<std::string> headers_;
    std::vector<std::vector<std::string>> rows_;
};

/// Whether a verb changes a namespace. A Mutating verb holds the namespace's NetnsLock from before
/// its callback (it reads the state it plans from there) until the tool exits. A MutatingFromStdin
/// verb, when stdin carries data, takes it only once it has read stdin (read_stdin, netns_for,
/// lock_netns): in `ovnet-bridge -n A add -j | ovnet-vtep -n A add` the reader must not hold A's
/// lock while it waits for a writer that needs it.
enum class VerbKind { ReadOnly, Mutating, MutatingFromStdin };

/// The tool's command table entry: a verb, its setup, and what it does.
struct App {
    CLI::App cli;
    Global g;
    App(const std::string& name, const std::string& description);
    /// Adds -n/-j/-p/-q to the app (and, through fallthrough, to every verb).
    CLI::App* verb(const std::string& name, const std::string& description, VerbKind kind = VerbKind::ReadOnly);
    /// Parses, locks the -n namespace (the caller's without -n) when the verb is Mutating, runs the
    /// verb's callback, maps errors to exit codes. Returns the exit code.
    int run(int argc, char** argv);

private:
    std::vector<std::pair<CLI::App*, VerbKind>> mutating_;
};

/// Takes the NetnsLock of the namespace named `netns` (a -n argument) for the rest of the run,
/// when the running verb is Mutating (else does nothing); once per namespace. netns_for() calls it
/// for the namespace it picks.
void lock_netns(const std::string& netns);

/// Prints a JSON document (-j/-p or not a terminal) or the table `to_table` builds from it.
void emit(const Global& g, const json& doc, const std::function<void(const json&)>& to_table);
/// Reports the changes of a mutating verb: on a terminal one line per change; in JSON mode the
/// document `doc` goes to stdout and a one-line summary to stderr (unless -q).
void report(const Global& g, const Changes& ch, const json& doc);
/// The JSON report of a bulk apply, too large for a DOM (100,000 changes): `head` members (name,
/// compact JSON text) then "changes": [...], written to stdout in blocks of about 64 KiB, laid out
/// as -p asks. Each next() starts a change; the caller appends its compact JSON text.
class BulkReport {
public:
    BulkReport(const Global& g, const std::vector<std::pair<const char*, std::string>>& head);
    std::string& next();
    void finish();   ///< closes the list and the document, writes the rest

private:
    const char *nl_, *in1_, *in2_;
    std::string out_;
    size_t n_ = 0;
};
/// The one-line summary of a set's apply: "vx0: 2 added, 1 replaced, 0 removed, 5 unchanged" (and
/// why no write was issued when none was); `text` is the terminal form.
std::string summary_line(const std::string& subject, const ChangeStats& s, const char* changed_word, bool text);
/// The report of a set's apply (ovnet-fdb apply, ovnet-ipvs apply): in JSON mode
/// {<head>..., "summary": {...}, "changes": [each Change::write_json()]} written in blocks (no DOM,
/// for 100,000 changes) and the summary line on stderr (unless -q); on a terminal a line per change
/// that is not "unchanged" and the summary line. `changed_word` names Action::Changed ("replaced").
void report_set(const Global& g, const std::string& subject, const char* changed_word,
                std::vector<std::pair<const char*, std::string>> head, const Changes& ch, const ChangeStats& s);
/// Prints changes as lines ("added bridge x", "bridge x: unchanged, nothing to do").
void print_changes(std::FILE* out, const Changes& ch);

/// True when stdin is a pipe or a file (not a terminal, not /dev/null).
bool stdin_has_data();
/// `apply --prune` with an empty set removes everything, which is what a failed producer upstream
/// (`ssh h2 ovnet-fdb local | ovnet-fdb apply --prune`) hands over: refused (Error(Input) naming
/// --allow-empty) unless allow_empty. `everything` says what would go ("every service in this
/// namespace").
void check_prune_set(size_t entries, bool prune, bool allow_empty, const std::string& everything);
/// Reads every JSON object on stdin (see read_json_stream), then takes the -n namespace's lock when
/// the verb is mutating.
std::vector<json> read_stdin(const std::string& what);

/// The namespace to work in: -n if given, else the one named by the objects' "netns" fields (what
/// `show -j` wrote), so that `ovnet-X -n A show | ovnet-X apply` stays in A. Objects from several
/// namespaces need -n.
std::string netns_for(const Global& g, const std::vector<json>& objs);

/// "K=V" pairs for --sysctl.
std::vector<std::pair<std::string, std::string>> parse_kv(const std::vector<std::string>& in,
                                                          const std::string& field);
/// Command-line values, parsed with the same messages as the JSON readers (Error(Input) naming
/// object, field and value).
IpAddr arg_ip(const std::string& object, const std::string& field, const std::string& value);
std::optional<IpAddr> arg_opt_ip(const std::string& object, const std::string& field, const std::string& value);
Prefix arg_prefix(const std::string& object, const std::string& field, const std::string& value);

/// A cell for an optional string value: "-" when empty or null.
std::string cell(const json& v);

}  // namespace ovnet::tool
