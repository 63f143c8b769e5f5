// ovnet/json.hpp - the JSON contract helpers shared by every object, and change reports.
#pragma once
#include <functional>
#include <istream>
#include <string_view>
#include <optional>
#include <string>
#include <vector>
#include <nlohmann/json.hpp>
#include "ovnet/types.hpp"

namespace ovnet {
using json = nlohmann::ordered_json;

/// The deepest nesting of arrays and objects any reader accepts. Deeper input is refused with
/// Error(Input) "WHAT: JSON nested deeper than 512 levels at byte N" before any DOM is built: a
/// DOM that deep is not something a tool exchanges, and building, printing or destroying one
/// recurses once per level (1,000,000 nested `[` overflowed the stack).
constexpr int kJsonMaxDepth = 512;
/// Longest JSON string or number taken (1 MiB): no object has a value near that, and a 50 MB
/// token must be refused before a parser copies it (nlohmann's lexer used 7x its size).
constexpr size_t kJsonMaxToken = size_t(1) << 20;

/// Reads every JSON document from a stream: one value, several concatenated values, or
/// newline-delimited values. Top-level arrays are flattened, so `{...}{...}` and `[{...},{...}]`
/// both yield two objects. Malformed input raises Error(Input) with the byte offset; each value's
/// syntax and nesting are checked before its DOM is built.
std::vector<json> read_json_stream(std::istream& in, const std::string& what);
/// The splitter behind read_json_stream: calls fn with the text of each top-level value and its
/// byte offset; json::parse_error thrown by fn becomes Error(Input) with the offset. A value
/// nested deeper than kJsonMaxDepth is refused before fn sees it.
void for_each_json_span(std::istream& in, const std::string& what,
                        const std::function<void(std::string_view, size_t)>& fn);
void for_each_json_span(std::string_view text, const std::string& what,
                        const std::function<void(std::string_view, size_t)>& fn);
/// Everything left in a stream, read in large blocks. std::cin is read through read_fd_all(0,
/// "stdin"), so that a read error is never taken for the end of input.
std::string read_all(std::istream& in);
/// Everything left on a file descriptor, read with read(2) (one allocation for a regular file).
/// A read error is Error(Runtime) "WHAT: cannot read: <strerror>" (EISDIR for a directory, EBADF
/// for a descriptor that cannot be read), never an empty text.
std::string read_fd_all(int fd, const std::string& what);
/// The whole content of a file named on a command line, "-" for stdin (read_fd_all). A file that
/// cannot be opened is Error(Input) "PATH: cannot open: <strerror>" (the user named it).
std::string read_path_all(const std::string& path);

/// Reads JSON text (one value, or a stream of values one after the other) into a SAX handler.
/// It exists for speed: the bulk set readers (peers_read, ipvs_read) spent most of their time in
/// nlohmann's parser and DOM. bench/README.md measured reading ovnet-ipvs's set of 1,000 services
/// x 10 destinations with SAX through this reader at 3.7 ms against 7.7 ms with a DOM and from_json
/// (80 ms against 240 ms in the bench VM), and `ovnet-fdb apply` parsing and validating 10,000
/// peers in about 2.3 ms in all (bench/ipvs, bench/peers). It covers the JSON that tools exchange
/// (ASCII, the usual escapes) and gives up, returning false, on anything else: a syntax error,
/// non-ASCII text, a \\u escape, nesting deeper than kJsonMaxDepth, a number or literal at the
/// top level not followed by whitespace, or a handler returning false. The caller then reads the text with nlohmann, which
/// either accepts it or gives the canonical error message (json_sax_read does both). Whenever it
/// accepts, the handler has seen exactly the events nlohmann::json::sax_parse delivers for each
/// value of the stream (tests/unit/test_json_fast.cpp checks this). Events may have been delivered
/// before it gives up.
bool json_sax_fast(std::string_view text, nlohmann::json_sax<json>& handler);

/// Reads text (a stream of JSON values) fast, with nlohmann's parser as the fall-back: first the
/// whole text through json_sax_fast into handler; if that gives up, rollback() must forget all
/// that handler delivered, and the text is read again value by value (for_each_json_span, so
/// nesting is bounded and offsets count from the start of text): each value's syntax is checked
/// by nlohmann's parser without building anything (a syntax error is Error(Input) "WHAT:
/// malformed JSON at byte N: ..."), then reread(span, offset) reads it as the caller likes (with
/// nlohmann's SAX or DOM, whose verdicts and messages the fast reader does not reproduce).
void json_sax_read(std::string_view text, const std::string& what, nlohmann::json_sax<json>& handler,
                   const std::function<void()>& rollback,
                   const std::function<void(std::string_view span, size_t offset)>& reread);

/// Field readers that validate type and range and raise Error(Input) naming object and field.
/// `get_*` require the key; `opt_*` return nullopt when it is missing or null.
std::string get_string(const json& o, const char* key, const std::string& object);
std::optional<std::string> opt_string(const json& o, const char* key, const std::string& object);
std::optional<uint64_t> opt_uint(const json& o, const char* key, uint64_t min, uint64_t max,
                                 const std::string& object);
std::optional<bool> opt_bool(const json& o, const char* key, const std::string& object);
std::optional<Mac> opt_mac(const json& o, const char* key, const std::string& object);
std::optional<IpAddr> opt_ip(const json& o, const char* key, const std::string& object);
std::optional<Prefix> opt_prefix(const json& o, const char* key, const std::string& object);
/// Rejects keys not in `known` (typos must not be silently ignored).
void check_keys(const json& o, std::initializer_list<const char*> known, const std::string& object);
/// Compact-JSON pieces for writers that skip the DOM for bulk output; the bytes are what
/// nlohmann's dump() writes for the same value.
void json_append(std::string& out, std::string_view s);   ///< a JSON string, escaped when needed
void json_append(std::string& out, const IpAddr& a);      ///< "10.0.0.2", or null when unset
void json_append(std::string& out, const Mac& m);         ///< "02:42:0a:00:00:02"

/// A value as error messages show it: a string's text, other values as compact JSON, escaped and
/// cut like shown_text (at most 64 bytes). Only the part shown is written: a huge or deep value
/// costs no more than a small one.
std::string shown_value(const json& v);
/// Throws unless o is an object.
void require_object(const json& o, const std::string& object);

/// What a mutating call did to one object.
enum class Action : uint8_t { Added, Changed, Removed, Unchanged };
/// "added", "changed", "removed", "unchanged".
const char* action_name(Action a);

/// One change a mutating call made, or "unchanged" when it found the state already right. The
/// one change type of every tool, small (a bridge) or bulk (100,000 peers).
struct Change {
    Action action = Action::Unchanged;
    std::string object;           ///< the object's label: "bridge ov-001001-7672d", "peer 10.0.0.3 02:42:0a:00:00:03"
    const char* how = nullptr;    ///< the word for it when more precise than the action's name:
                                  ///< "set", "replaced", "attached", "detached", "edited", "restored", "draining"
    /// Compact JSON members added to the change's report object, e.g. `"detail":{"mtu":1450}` or,
    /// for a peer, `"ip":"10.0.0.3","mac":"02:42:0a:00:00:03","vtep":"192.0.2.12"`; "" for none.
    std::string fields;

    Change() = default;
    Change(Action a, std::string obj, const char* how_ = nullptr, std::string fields_ = {})
        : action(a), object(std::move(obj)), how(how_), fields(std::move(fields_)) {}
    /// A change with a "detail" object (what was set, why it was unchanged: {"reason": ...}).
    static Change with_detail(Action a, std::string obj, const json& detail, const char* how = nullptr);

    const char* word() const { return how ? how : action_name(action); }   ///< what reports print
    /// The detail's "reason" (unchanged changes), "" when none.
    std::string reason() const;
    /// Appends the change's report object: {"action":word,"object":...,<fields>}.
    void write_json(std::string& out) const;
};
using Changes = std::vector<Change>;

/// Counts of a mutating call's changes, and how many writes (netlink requests, restores) it made.
struct ChangeStats {
    size_t added = 0, changed = 0, removed = 0, unchanged = 0, writes = 0;
    void count(Action a, size_t n = 1);
    size_t total_changed() const { return added + changed + removed; }
};
/// Counts the changes of a list (writes left at 0).
ChangeStats count(const Changes& c);

/// True if any change is not "unchanged".
bool any_change(const Changes& c);
/// The changes as a JSON array (the DOM of each change's write_json()).
json to_json(const Changes& c);

}  // namespace ovnet
