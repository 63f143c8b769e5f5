// read_json_stream, the opt_* field readers, check_keys, require_object and Changes.
#include <sstream>

#include "helpers.hpp"
#include "ovnet/ovnet.hpp"

using namespace ovnet;
using ovnet_test::require_input_error;
using Catch::Matchers::Contains;

namespace {
std::vector<json> read(const std::string& s) {
    std::istringstream in(s);
    return read_json_stream(in, "stdin");
}
}  // namespace

TEST_CASE("read_json_stream: one object", "[json][stream]") {
    auto v = read(R"({"name":"br0","mtu":1450})");
    REQUIRE(v.size() == 1);
    CHECK(v[0]["name"] == "br0");
    CHECK(v[0]["mtu"] == 1450);
    // Surrounding whitespace is fine.
    CHECK(read(" \n\t{\"a\":1}\r\n\n").size() == 1);
}

TEST_CASE("read_json_stream: a top-level array is flattened", "[json][stream]") {
    auto v = read(R"([{"a":1},{"b":2},{"c":3}])");
    REQUIRE(v.size() == 3);
    CHECK(v[0]["a"] == 1);
    CHECK(v[1]["b"] == 2);
    CHECK(v[2]["c"] == 3);
    CHECK(read("[]").empty());
    // Only one level: inner arrays stay arrays.
    auto w = read("[[1,2],[3]]");
    REQUIRE(w.size() == 2);
    CHECK(w[0].is_array());
    CHECK(w[0].size() == 2);
    // Pretty-printed (multi-line) arrays, as `-j -p` tools print them.
    auto p = read("[\n  {\n    \"a\": 1\n  },\n  {\n    \"b\": [ 1, 2 ]\n  }\n]\n");
    REQUIRE(p.size() == 2);
    CHECK(p[1]["b"][1] == 2);
}

TEST_CASE("read_json_stream: concatenated values", "[json][stream]") {
    auto v = read(R"({"a":1}{"b":2})");
    REQUIRE(v.size() == 2);
    CHECK(v[0]["a"] == 1);
    CHECK(v[1]["b"] == 2);
    // Arrays and objects mixed, several arrays in a row.
    auto w = read(R"([{"a":1}][{"b":2},{"c":3}]{"d":4})");
    REQUIRE(w.size() == 4);
    CHECK(w[3]["d"] == 4);
    // Scalars separated by whitespace.
    auto s = read("1 2\ttrue\n\"x\" null");
    REQUIRE(s.size() == 5);
    CHECK(s[0] == 1);
    CHECK(s[2] == true);
    CHECK(s[3] == "x");
    CHECK(s[4].is_null());
}

TEST_CASE("read_json_stream: newline-delimited JSON", "[json][stream]") {
    auto v = read("{\"ip\":\"10.0.0.3\"}\n{\"ip\":\"10.0.0.4\"}\r\n{\"ip\":\"10.0.0.5\"}\n");
    REQUIRE(v.size() == 3);
    CHECK(v[0]["ip"] == "10.0.0.3");
    CHECK(v[1]["ip"] == "10.0.0.4");
    CHECK(v[2]["ip"] == "10.0.0.5");
    // Blank lines between documents.
    CHECK(read("\n\n{\"a\":1}\n\n\n{\"a\":2}\n\n").size() == 2);
}

TEST_CASE("read_json_stream: empty and whitespace-only input yield nothing", "[json][stream]") {
    CHECK(read("").empty());
    CHECK(read("   ").empty());
    CHECK(read("\n\r\n\t \n").empty());
}

TEST_CASE("read_json_stream: braces and brackets and quotes inside strings", "[json][stream]") {
    auto v = read(R"({"a":"}{"}{"b":"]["}{"c":"\"}"}{"d":"\\"}{"e":"{[\"]}"})");
    REQUIRE(v.size() == 5);
    CHECK(v[0]["a"] == "}{");
    CHECK(v[1]["b"] == "][");
    CHECK(v[2]["c"] == "\"}");
    CHECK(v[3]["d"] == "\\");
    CHECK(v[4]["e"] == "{[\"]}");
    // Keys too.
    auto k = read(R"({"}":1,"{":2}{"x":3})");
    REQUIRE(k.size() == 2);
    CHECK(k[0]["}"] == 1);
    CHECK(k[0]["{"] == 2);
    // Top-level strings with escapes.
    auto s = read(R"("a\"b" "c\\" "{")");
    REQUIRE(s.size() == 3);
    CHECK(s[0] == "a\"b");
    CHECK(s[1] == "c\\");
    CHECK(s[2] == "{");
    // Unicode escapes and raw UTF-8.
    auto u = read(R"({"n":"caf\u00e9 \u2603"})" "\n{\"n\":\"h\xc3\xa9\"}");
    REQUIRE(u.size() == 2);
    CHECK(u[0]["n"] == "caf\xc3\xa9 \xe2\x98\x83");
    CHECK(u[1]["n"] == "h\xc3\xa9");
}

TEST_CASE("read_json_stream: malformed input is an input error naming the source", "[json][stream]") {
    const char* bad[] = {
        R"({"a":1)",              // unterminated object
        R"({"a":})",              // missing value
        R"({"a":1}})",            // stray closing brace
        R"(])",                   // stray bracket
        R"({"a":[1}])",           // mismatched
        R"({'a':1})",             // single quotes
        R"({"a":1,})",            // trailing comma
        R"({"a":"unterminated)",  // unterminated string
        "{\"a\":\"\\",            // ends inside an escape
        "\"\\",                   // top-level string ending in a backslash
        R"(nope)",
        R"({"a":1} x)",
        "{\"a\":1}\n{\"b\":tru}\n",
    };
    for (const char* s : bad) {
        INFO("input: " << s);
        Error e = require_input_error([&] { read(s); }, "malformed JSON");
        CHECK_THAT(std::string(e.what()), Contains("stdin"));
    }
}

TEST_CASE("read_json_stream: the error gives the byte offset in the whole stream", "[json][stream]") {
    // The second document starts at byte 8; its error ('}' where a value is due) is at byte 13.
    std::string in = "{\"a\":1}\n{\"b\":}";
    REQUIRE(in[13] == '}');
    Error e = require_input_error([&] { read(in); }, "malformed JSON at byte 13");
    std::istringstream s2("{\"a\":");
    Error f = require_input_error([&] { read_json_stream(s2, "peers.json"); }, "peers.json");
}

TEST_CASE("opt_string / get_string", "[json][fields]") {
    json o = {{"s", "x"}, {"n", 1}, {"nul", nullptr}, {"empty", ""}};
    CHECK(opt_string(o, "s", "obj") == std::optional<std::string>("x"));
    CHECK(opt_string(o, "empty", "obj") == std::optional<std::string>(""));
    CHECK_FALSE(opt_string(o, "missing", "obj"));
    CHECK_FALSE(opt_string(o, "nul", "obj"));
    Error e = require_input_error([&] { opt_string(o, "n", "bridge br0"); }, "must be a string");
    CHECK(e.object() == "bridge br0");
    CHECK(e.field() == "n");
    CHECK_THAT(std::string(e.what()), Contains("bridge br0"));

    CHECK(get_string(o, "s", "obj") == "x");
    Error m = require_input_error([&] { get_string(o, "missing", "vtep vx0"); }, "required");
    CHECK(m.field() == "missing");
    CHECK(m.object() == "vtep vx0");
    require_input_error([&] { get_string(o, "nul", "obj"); }, "required");
    require_input_error([&] { get_string(o, "n", "obj"); }, "must be a string");
}

TEST_CASE("opt_uint checks type and range", "[json][fields]") {
    json o = json::parse(R"({"u":1450,"zero":0,"neg":-1,"f":1.5,"fi":2.0,"s":"1450","b":true,"big":18446744073709551615,
                             "arr":[1],"nul":null})");
    CHECK(opt_uint(o, "u", 68, 65535, "o") == std::optional<uint64_t>(1450));
    CHECK(opt_uint(o, "u", 1450, 1450, "o") == std::optional<uint64_t>(1450));  // inclusive bounds
    CHECK(opt_uint(o, "zero", 0, 255, "o") == std::optional<uint64_t>(0));
    CHECK_FALSE(opt_uint(o, "missing", 0, 1, "o"));
    CHECK_FALSE(opt_uint(o, "nul", 0, 1, "o"));
    CHECK(opt_uint(o, "big", 0, UINT64_MAX, "o") == std::optional<uint64_t>(UINT64_MAX));

    Error lo = require_input_error([&] { opt_uint(o, "zero", 1, 10, "vtep v"); }, "1..10");
    CHECK(lo.field() == "zero");
    require_input_error([&] { opt_uint(o, "u", 68, 1449, "o"); }, "68..1449");
    require_input_error([&] { opt_uint(o, "u", 1451, 2000, "o"); }, "\"1450\"");
    require_input_error([&] { opt_uint(o, "neg", 0, 10, "o"); }, "\"-1\"");
    require_input_error([&] { opt_uint(o, "f", 0, 10, "o"); }, "must be an integer");
    require_input_error([&] { opt_uint(o, "fi", 0, 10, "o"); }, "must be an integer");
    require_input_error([&] { opt_uint(o, "s", 0, 65535, "o"); }, "must be an integer");
    require_input_error([&] { opt_uint(o, "b", 0, 1, "o"); }, "must be an integer");
    require_input_error([&] { opt_uint(o, "arr", 0, 1, "o"); }, "must be an integer");
    require_input_error([&] { opt_uint(o, "big", 0, 65535, "o"); });
}

TEST_CASE("opt_bool", "[json][fields]") {
    json o = json::parse(R"({"t":true,"f":false,"n":1,"s":"true","nul":null})");
    CHECK(opt_bool(o, "t", "o") == std::optional<bool>(true));
    CHECK(opt_bool(o, "f", "o") == std::optional<bool>(false));
    CHECK_FALSE(opt_bool(o, "missing", "o"));
    CHECK_FALSE(opt_bool(o, "nul", "o"));
    require_input_error([&] { opt_bool(o, "n", "o"); }, "true or false");
    require_input_error([&] { opt_bool(o, "s", "o"); }, "true or false");
}

TEST_CASE("opt_mac / opt_ip / opt_prefix", "[json][fields]") {
    json o = json::parse(R"({"mac":"02:42:0A:00:00:03","badmac":"02:42:0a:00:00","nummac":42,
                             "ip":"10.0.0.3","ip6":"fd00::3","badip":"10.0.0.256","emptyip":"",
                             "cidr":"10.0.0.3/24","nocidr":"10.0.0.3","badcidr":"10.0.0.3/33","nul":null})");
    CHECK(opt_mac(o, "mac", "o")->str() == "02:42:0a:00:00:03");
    CHECK_FALSE(opt_mac(o, "missing", "o"));
    CHECK_FALSE(opt_mac(o, "nul", "o"));
    Error m = require_input_error([&] { opt_mac(o, "badmac", "peer 10.0.0.3"); }, "\"02:42:0a:00:00\"");
    CHECK(m.field() == "badmac");
    CHECK(m.object() == "peer 10.0.0.3");
    require_input_error([&] { opt_mac(o, "nummac", "o"); }, "must be a string");

    CHECK(*opt_ip(o, "ip", "o") == IpAddr::parse("10.0.0.3"));
    CHECK(opt_ip(o, "ip6", "o")->family == AF_INET6);
    CHECK_FALSE(opt_ip(o, "missing", "o"));
    require_input_error([&] { opt_ip(o, "badip", "o"); }, "\"10.0.0.256\"");
    require_input_error([&] { opt_ip(o, "emptyip", "o"); });
    require_input_error([&] { opt_ip(o, "mac", "o"); });

    CHECK(opt_prefix(o, "cidr", "o")->str() == "10.0.0.3/24");
    CHECK_FALSE(opt_prefix(o, "missing", "o"));
    Error p = require_input_error([&] { opt_prefix(o, "nocidr", "sandbox c1"); }, "\"10.0.0.3\"");
    CHECK(p.field() == "nocidr");  // the caller's key, not Prefix::parse's "cidr"
    CHECK(p.object() == "sandbox c1");
    require_input_error([&] { opt_prefix(o, "badcidr", "o"); }, "\"10.0.0.3/33\"");
}

TEST_CASE("check_keys rejects unknown keys and require_object non-objects", "[json][fields]") {
    json o = {{"name", "br0"}, {"mtu", 1500}};
    CHECK_NOTHROW(check_keys(o, {"name", "mtu", "mac"}, "bridge br0"));
    CHECK_NOTHROW(check_keys(json::object(), {"name"}, "x"));
    Error e = require_input_error([&] { check_keys(o, {"name"}, "bridge br0"); }, "unknown field");
    CHECK(e.field() == "mtu");
    CHECK(e.object() == "bridge br0");
    json typo = {{"name", "br0"}, {"mut", 1500}};
    require_input_error([&] { check_keys(typo, {"name", "mtu"}, "bridge br0"); }, "mut");
    // Keys are case-sensitive.
    require_input_error([&] { check_keys(json{{"Name", "x"}}, {"name"}, "o"); }, "Name");

    CHECK_NOTHROW(require_object(json::object(), "x"));
    require_input_error([] { require_object(json::array(), "entry #1"); }, "entry #1");
    require_input_error([] { require_object(json("str"), "entry #2"); }, "expected a JSON object");
    require_input_error([] { require_object(json(3), "x"); }, "number");
    require_input_error([] { require_object(json(nullptr), "x"); }, "null");
}

TEST_CASE("Changes: any_change and to_json", "[json][changes]") {
    Changes none;
    CHECK_FALSE(any_change(none));
    CHECK(to_json(none) == json::array());

    Changes same = {Change{Action::Unchanged, "bridge br0"}, Change{Action::Unchanged, "vtep vx0"}};
    CHECK_FALSE(any_change(same));

    Changes ch = {Change{Action::Unchanged, "bridge br0"},
                  Change::with_detail(Action::Added, "peer 10.0.0.3", json{{"mac", "02:42:0a:00:00:03"}})};
    CHECK(any_change(ch));
    json j = to_json(ch);
    REQUIRE(j.is_array());
    REQUIRE(j.size() == 2);
    CHECK(j[0]["action"] == "unchanged");
    CHECK(j[0]["object"] == "bridge br0");
    CHECK_FALSE(j[0].contains("detail"));  // empty detail is left out
    CHECK(j[1]["action"] == "added");
    CHECK(j[1]["detail"]["mac"] == "02:42:0a:00:00:03");
    // Key order is stable (ordered_json): action, object, detail.
    CHECK(j[1].dump() == R"({"action":"added","object":"peer 10.0.0.3","detail":{"mac":"02:42:0a:00:00:03"}})");
}

TEST_CASE("for_each_json_span yields each top-level value with its byte offset", "[json][stream]") {
    std::istringstream in("{\"a\":1}\n  [1,2]{\"s\":\"}\"} 42\t\"x\"\n");
    std::vector<std::pair<std::string, size_t>> spans;
    for_each_json_span(in, "stdin", [&](std::string_view s, size_t off) { spans.emplace_back(std::string(s), off); });
    REQUIRE(spans.size() == 5);
    CHECK(spans[0] == std::pair<std::string, size_t>{"{\"a\":1}", 0});
    CHECK(spans[1] == std::pair<std::string, size_t>{"[1,2]", 10});
    CHECK(spans[2] == std::pair<std::string, size_t>{"{\"s\":\"}\"}", 15});
    CHECK(spans[3] == std::pair<std::string, size_t>{"42", 25});
    CHECK(spans[4] == std::pair<std::string, size_t>{"\"x\"", 28});

    std::istringstream empty(" \n\t ");
    int calls = 0;
    for_each_json_span(empty, "stdin", [&](std::string_view, size_t) { calls++; });
    CHECK(calls == 0);

    // A span never runs past the end of the input, even when it ends inside an escape.
    std::istringstream cut("{\"a\":\"\\");
    std::string got;
    for_each_json_span(cut, "stdin", [&](std::string_view s, size_t) { got = std::string(s); });
    CHECK(got == "{\"a\":\"\\");

    // json::parse_error thrown by the callback becomes an input error with the stream offset.
    std::istringstream bad("{\"a\":1}\n{\"b\":}");
    Error e = require_input_error(
        [&] { for_each_json_span(bad, "peers", [](std::string_view s, size_t) { json j = json::parse(s); (void)j; }); },
        "peers: malformed JSON at byte 13");
    // Input larger than one read block (64 KiB) is read whole.
    std::string big;
    for (int i = 0; i < 20000; i++) big += "{\"i\":" + std::to_string(i) + "}\n";
    REQUIRE(big.size() > (1u << 17));
    std::istringstream bin(big);
    size_t count = 0, last_off = 0;
    for_each_json_span(bin, "stdin", [&](std::string_view, size_t off) { count++; last_off = off; });
    CHECK(count == 20000);
    CHECK(last_off == big.rfind('{'));
    std::istringstream bin2(big);
    auto docs = read_json_stream(bin2, "stdin");
    REQUIRE(docs.size() == 20000);
    CHECK(docs.back()["i"] == 19999);
}

TEST_CASE("Change: words, reasons, fields and stats", "[json][changes]") {
    Change set = Change::with_detail(Action::Changed, "bridge br0", json{{"mtu", 1450}}, "set");
    CHECK(std::string(set.word()) == "set");
    CHECK(std::string(Change{Action::Removed, "x"}.word()) == "removed");
    CHECK(std::string(Change{Action::Changed, "x"}.word()) == "changed");
    std::string t;
    set.write_json(t);
    CHECK(t == R"({"action":"set","object":"bridge br0","detail":{"mtu":1450}})");
    auto why = Change::with_detail(Action::Unchanged, "port p", json{{"reason", "not a port of this bridge"}});
    CHECK(why.reason() == "not a port of this bridge");
    CHECK(set.reason().empty());
    // Bulk changes carry their identity as members of the change object.
    Change peer{Action::Changed, "peer 10.0.0.3", "replaced", R"("ip":"10.0.0.3","vtep":null)"};
    t.clear();
    peer.write_json(t);
    CHECK(t == R"({"action":"replaced","object":"peer 10.0.0.3","ip":"10.0.0.3","vtep":null})");
    CHECK(to_json(Changes{peer})[0]["ip"] == "10.0.0.3");
    ChangeStats s = count(Changes{set, why, peer, Change{Action::Added, "a"}});
    CHECK(s.added == 1);
    CHECK(s.changed == 2);
    CHECK(s.removed == 0);
    CHECK(s.unchanged == 1);
    CHECK(s.total_changed() == 3);
}

TEST_CASE("a string or number longer than kJsonMaxToken is refused before any parser copies it", "[json][bounds]") {
    std::string digits(kJsonMaxToken + 10, '7');
    std::string str = "{\"ip\":\"" + std::string(kJsonMaxToken + 10, 'x') + "\"}";
    for (auto* t : {&digits, &str}) {
        std::istringstream in(*t);
        ovnet_test::require_input_error([&] { read_json_stream(in, "stdin"); }, "longer than 1048576 bytes");
    }
    // Right at the bound both are still read.
    std::string ok = "\"" + std::string(kJsonMaxToken - 10, 'y') + "\" " + std::string(300, '1');
    std::istringstream in(ok);
    auto v = read_json_stream(in, "stdin");
    REQUIRE(v.size() == 2);
    CHECK(v[0].get<std::string>().size() == kJsonMaxToken - 10);
    // `1"a"` stays one malformed value, not two.
    std::istringstream bad("1\"a\"");
    ovnet_test::require_input_error([&] { read_json_stream(bad, "stdin"); }, "malformed JSON");
}
