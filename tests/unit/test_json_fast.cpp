// The fast JSON reader's contract (json_sax_fast): whenever it accepts a text, it delivered exactly
// the SAX events nlohmann's parser delivers for the same text, read value by value as
// for_each_json_span cuts it. Checked over the mangled sets of the differential tests and over
// hand-written edge cases. Also the nesting bound every reader applies, and the bounded, escaped
// excerpts of error messages (shown_text, shown_value).
#include <chrono>
#include <cstdio>
#include <sstream>

#include "helpers.hpp"
#include "ovnet/ovnet.hpp"

using namespace ovnet;
using ovnet_test::require_input_error;
using Catch::Matchers::Contains;

namespace {

// Every SAX event as a line of text; floats with their exact value and their token.
struct Recorder : nlohmann::json_sax<json> {
    std::vector<std::string> ev;
    bool add(std::string s) {
        ev.push_back(std::move(s));
        return true;
    }
    bool null() override { return add("null"); }
    bool boolean(bool b) override { return add(b ? "true" : "false"); }
    bool number_integer(json::number_integer_t x) override { return add("int " + std::to_string(x)); }
    bool number_unsigned(json::number_unsigned_t x) override { return add("uint " + std::to_string(x)); }
    bool number_float(json::number_float_t x, const std::string& s) override {
        char buf[64];
        std::snprintf(buf, sizeof buf, "%a", x);
        return add("float " + std::string(buf) + " " + s);
    }
    bool string(std::string& s) override { return add("string " + s); }
    bool binary(json::binary_t&) override { return add("binary"); }
    bool start_object(std::size_t n) override { return add("{ " + std::to_string(n)); }
    bool key(std::string& s) override { return add("key " + s); }
    bool end_object() override { return add("}"); }
    bool start_array(std::size_t n) override { return add("[ " + std::to_string(n)); }
    bool end_array() override { return add("]"); }
    bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) override {
        add("error");
        return false;
    }
};

// nlohmann's verdict and events for a stream: each top-level value through json::sax_parse.
bool reference(const std::string& text, Recorder& r) {
    bool ok = true;
    try {
        for_each_json_span(text, "text", [&](std::string_view span, size_t) {
            if (ok) ok = json::sax_parse(span.begin(), span.end(), &r);
        });
    } catch (const Error&) {
        return false;   // the nesting bound
    }
    return ok;
}

std::string printable(const std::string& s) {
    std::string o;
    for (unsigned char c : s) {
        if (c >= 0x20 && c < 0x7f) o += char(c);
        else {
            char b[8];
            std::snprintf(b, sizeof b, "\\x%02x", c);
            o += b;
        }
    }
    return o;
}

struct Tally {
    size_t accepted = 0, gave_up = 0;
};

// The contract: if the fast reader accepts, nlohmann accepts with the same events.
void agree(const std::string& text, Tally& t) {
    Recorder fast, ref;
    if (!json_sax_fast(text, fast)) {
        t.gave_up++;
        return;
    }
    bool ref_ok = reference(text, ref);
    INFO("text: " << printable(text));
    REQUIRE(ref_ok);
    REQUIRE(fast.ev == ref.ev);
    t.accepted++;
}

const std::string kIpvsSet =
    R"({"netns":"x","fwmark":258,"scheduler":"rr","persistent":true,"timeout":60,"dests":[{"address":"10.255.0.6","weight":2},)"
    R"({"address":"10.255.0.7","port":0,"forward":"dr","stats":{"conns":1}}],"stats":{"conns":2}})"
    "\n"
    R"([{"protocol":"udp","address":"fd00::1","port":53,"scheduler":"sh","sh_port":true,"dests":[{"address":"fd00::2","port":5353,"forward":"tunnel","tun_type":"gue","tun_port":6080}]}])";
const std::string kPeerSet =
    R"([{"status":"peer","ip":"10.0.0.3","mac":"02:42:0a:00:00:03","vtep":"192.0.2.12","flags":["self"]},)"
    R"({"status":"fdb-only","ip":null,"mac":"02:42:0a:00:00:04","vtep":"192.0.2.13","flags":[]},)"
    R"({"mac":"02:42:0a:00:00:0c","dst":"192.0.2.18","port":4789,"vni":4097,"used":3,"sticky":false,"nhid":0}])"
    "\n"
    R"({"ip":"10.0.0.6","mac":"02:42:0a:00:00:06"} {"ip":"10.0.0.7","mac":"02:42:0a:00:00:07"})";
const std::string kShapes =
    R"([0,-0,1,-1,12345678901234567890,18446744073709551615,18446744073709551616,-9223372036854775808,)"
    R"(-9223372036854775809,1.5,-1.5e-3,1E5,1e+5,0.0,1e-400,2.5E-308,10,"a\"b\\c\/d\b\f\n\r\t",{},[],{"":""},)"
    R"(true,false,null,[[1,[2]],{"k":{"l":[]}}]])"
    " 7 \"s\"[8]{\"m\":9}";

}  // namespace

TEST_CASE("json_sax_fast: the same events as nlohmann whenever it accepts mangled sets", "[json][fast]") {
    for (const std::string* base : {&kIpvsSet, &kPeerSet, &kShapes}) {
        Tally t;
        agree(*base, t);
        REQUIRE(t.accepted == 1);   // the sets themselves are read fast
        ovnet_test::for_each_mangled(*base, 3000, [&](const std::string& s) { agree(s, t); });
        INFO("base: " << *base);
        CHECK(t.accepted > 400);    // enough accepted texts to compare (about 500 to 1,100 of 3,000)
        CHECK(t.gave_up > 1000);
    }
}

TEST_CASE("json_sax_fast: hand-written texts it accepts, with nlohmann's events", "[json][fast]") {
    const char* accepted[] = {
        // numbers of every shape
        "0", "-0", "1", "-1", "10", "123456789", "9223372036854775807", "9223372036854775808",
        "18446744073709551615", "18446744073709551616", "-9223372036854775808", "-9223372036854775809",
        "99999999999999999999999", "1.0", "-0.0", "0.5", "1e5", "1E5", "1e+5", "1e-5", "1E-05", "1.5e300",
        "1e-400", "2.2250738585072014e-308", "4.9e-324", "1.7976931348623157e308", "0e0", "-0e-0",
        "123.456e-7", "3.141592653589793238462643383279", "[1,-1,1.5,-0,0.0,1e2]",
        // strings and escapes
        R"("")", R"("abc")", R"("\"\\\/\b\f\n\r\t")", R"("a/b")", R"("{[\"]}")", "\"\x7f\"",
        R"({"a\"b":"c\\d","\n":"\/"})",
        // containers, empty and nested, with whitespace
        "[]", "{}", "[[]]", "[{}]", R"({"a":{}})", R"({"a":[]})", R"([{},[],""])", R"({"":0})",
        " [ 1 , 2 ] ", "\t{ \"a\" : 1 ,\r\n \"b\" : [ ] }\n", R"({"a":1,"a":2})",
        // literals
        "true", "false", "null", "[true,false,null]",
        // streams of concatenated values
        "", "   \n", R"({"a":1}{"b":2})", "[1][2]", "1 2", R"("a""b")", R"("a"1)", "[]{}", "1\n2\r\n3\t4",
        R"({}"x")", "true false null", "{\"a\":1}\n{\"a\":2}\n", "[1]2", "{}7 8",
    };
    Tally t;
    for (const char* s : accepted) {
        INFO("text: " << s);
        Recorder r;
        CHECK(json_sax_fast(s, r));
        agree(s, t);
    }
    CHECK(t.accepted == std::size(accepted));
}

TEST_CASE("json_sax_fast: gives up where nlohmann refuses, and on what it does not cover", "[json][fast]") {
    // nlohmann refuses these too (for_each_json_span hands `1true` to it as one value).
    const char* refused[] = {
        "1true", "1[2]", "01", "-01", "1-2", "truefalse", "nulltrue", "1\"a\"", "2{}", "[1,]", R"({"a"})",
        R"({"a":1,})", "[1 2]", R"("\x")", "\"a\nb\"", "\"a\x01\"", "1.", ".5", "-", "+1", "1e", "1e+", "tru",
        "nul", "[", "]", "{", "}", R"({"a":1e999})", "-1e999", "NaN", "Infinity", R"({1:2})", R"({"a" 1})",
        R"(["a":1])", "\"abc", "'a'", "[1]]",
    };
    for (const char* s : refused) {
        INFO("text: " << s);
        Recorder f, r;
        CHECK_FALSE(json_sax_fast(s, f));
        CHECK_FALSE(reference(s, r));
    }
    // nlohmann accepts these; the fast reader leaves them to it.
    const std::string covered_by_nlohmann[] = {
        R"("\u00e9")", "\"\xc3\xa9\"", R"("\u0000")", R"({"\u0061":1})", std::string(513, '[') + std::string(513, ']'),
    };
    for (auto& s : covered_by_nlohmann) {
        INFO("text: " << printable(s.substr(0, 40)));
        Recorder f;
        CHECK_FALSE(json_sax_fast(s, f));
        CHECK(json::accept(s));
    }
    // A handler that says stop stops it.
    struct Stop : Recorder {
        bool key(std::string&) override { return false; }
    } stop;
    CHECK_FALSE(json_sax_fast(R"({"a":1})", stop));
}

TEST_CASE("json_sax_fast: nesting up to the bound, not deeper", "[json][fast][depth]") {
    std::string ok = std::string(kJsonMaxDepth, '[') + std::string(kJsonMaxDepth, ']');
    Tally t;
    agree(ok, t);
    CHECK(t.accepted == 1);
    std::string obj;
    for (int i = 0; i < kJsonMaxDepth; i++) obj += "{\"a\":";
    obj += "1" + std::string(kJsonMaxDepth, '}');
    agree(obj, t);
    CHECK(t.accepted == 2);
    Recorder r;
    CHECK_FALSE(json_sax_fast("[" + ok + "]", r));
}

namespace {
std::vector<json> read(const std::string& s) {
    std::istringstream in(s);
    return read_json_stream(in, "stdin");
}
std::string nested_arrays(size_t n, bool closed) { return std::string(n, '[') + (closed ? std::string(n, ']') : ""); }
std::string nested_objects(size_t n) {
    std::string s;
    s.reserve(n * 6 + 1);
    for (size_t i = 0; i < n; i++) s += "{\"a\":";
    s += "1";
    s.append(n, '}');
    return s;
}
}  // namespace

TEST_CASE("read_json_stream: nesting deeper than 512 levels is refused before any DOM", "[json][depth]") {
    // 512 levels are read (the top-level array is flattened: one value, 511 levels deep).
    auto v = read(nested_arrays(512, true));
    REQUIRE(v.size() == 1);
    CHECK(v[0].is_array());
    CHECK(read(nested_objects(512)).size() == 1);
    // One more is refused, at the byte of the 513th bracket; as are a million, without a crash.
    auto t0 = std::chrono::steady_clock::now();
    for (bool closed : {false, true}) {
        for (size_t n : {size_t(513), size_t(1000000)}) {
            INFO(n << " nested arrays, closed " << closed);
            Error e = require_input_error([&] { read(nested_arrays(n, closed)); });
            CHECK(std::string(e.what()) == "stdin: JSON nested deeper than 512 levels at byte 512");
        }
    }
    Error e = require_input_error([&] { read(nested_objects(1000000)); });
    CHECK(std::string(e.what()) == "stdin: JSON nested deeper than 512 levels at byte 2560");
    CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(10));   // no DOM, no parse
    // The offset counts from the start of the stream, after values that were fine.
    std::string s = "{\"a\":1}\n[2]\n" + nested_arrays(600, true);
    require_input_error([&] { read(s); }, "JSON nested deeper than 512 levels at byte " + std::to_string(12 + 512));
    // Brackets inside strings are text, not nesting.
    auto w = read("[\"" + std::string(1000, '[') + "\",\"" + std::string(1000, '{') + "\"]");
    REQUIRE(w.size() == 2);
    CHECK(w[0].get<std::string>().size() == 1000);
}

TEST_CASE("the set readers refuse deep nesting with an input error", "[json][depth]") {
    for (const std::string& s : {nested_arrays(1000000, false), nested_arrays(1000000, true), nested_objects(1000000),
                                 "[" + nested_objects(600) + "]"}) {
        INFO(s.substr(0, 12));
        {
            std::istringstream in(s);
            require_input_error([&] { peers_read(in, std::nullopt, "stdin"); });
        }
        {
            std::istringstream in(s);
            require_input_error([&] { ipvs_read(in, "stdin"); }, "nested");
        }
    }
    std::istringstream in(nested_objects(1000000));
    require_input_error([&] { peers_read(in, std::nullopt, "stdin"); }, "stdin: JSON nested deeper than 512 levels at byte 2560");
}

TEST_CASE("json_sax_read: fast when it can, rolled back and re-read value by value when not", "[json][fast]") {
    Recorder h;
    int rollbacks = 0;
    std::vector<std::pair<std::string, size_t>> reread;
    auto run = [&](const std::string& text) {
        h.ev.clear();
        rollbacks = 0;
        reread.clear();
        json_sax_read(text, "in", h, [&] { rollbacks++; }, [&](std::string_view span, size_t off) {
            reread.emplace_back(std::string(span), off);
        });
    };
    run(R"({"a":1} [2])");
    CHECK(rollbacks == 0);
    CHECK(reread.empty());
    CHECK(h.ev.size() == 7);
    // A \u escape: the fast reader gives up, every value is re-read with its offset.
    run(R"({"a":1} ["\u00e9"])");
    CHECK(rollbacks == 1);
    REQUIRE(reread.size() == 2);
    CHECK(reread[1] == std::make_pair(std::string(R"(["\u00e9"])"), size_t(8)));
    // A syntax error: the re-read stops there with nlohmann's message and the offset in the text.
    Error e = require_input_error([&] { run("{\"a\":1}\n{\"b\":}"); }, "in: malformed JSON at byte 13: ");
    CHECK(reread.size() == 1);
    // Too deep: refused before the value is checked or re-read.
    require_input_error([&] { run("[1] " + nested_arrays(1000, true)); }, "in: JSON nested deeper than 512 levels at byte 516");
    CHECK(reread.size() == 1);
}

TEST_CASE("malformed-JSON messages quote a bounded excerpt of the input", "[json][excerpt]") {
    // An unterminated string and an overflowing number: nlohmann's message quotes them whole.
    for (const std::string& s : {"\"" + std::string(100000, 'a'), "[" + std::string(100000, '9') + "e9]",
                                 "{\"a\":\"" + std::string(100000, 'b') + "\x1b\"}", "1" + std::string(100000, '0') + "e400"}) {
        Error e = require_input_error([&] { read(s); }, "stdin: malformed JSON at byte ");
        std::string m = e.what();
        INFO(m);
        CHECK(m.size() < 400);
        CHECK(m.find('\n') == std::string::npos);
        CHECK_THAT(m, Contains("..."));
        std::istringstream in(s);
        Error p = require_input_error([&] { peers_read(in, std::nullopt, "stdin"); }, "stdin: malformed JSON at byte ");
        CHECK(std::string(p.what()).size() < 400);
    }
    // Short tokens are quoted as nlohmann quotes them.
    require_input_error([&] { read("[1,tru]"); }, "last read: '1,tru]'");
    require_input_error([&] { read("{\"a\":1e999}"); }, "number overflow parsing '1e999'");
}

TEST_CASE("shown_text escapes control characters and cuts long text", "[json][excerpt]") {
    CHECK(shown_text("br0") == "br0");
    CHECK(shown_text("10.0.0.3/24") == "10.0.0.3/24");
    CHECK(shown_text("") == "");
    CHECK(shown_text("a\nb") == "a\\nb");
    CHECK(shown_text(std::string("a\0b", 3)) == "a\\u0000b");
    CHECK(shown_text("\x1b[31mred") == "\\u001b[31mred");
    CHECK(shown_text("\t\r\b\f\x7f") == "\\t\\r\\b\\f\\u007f");
    CHECK(shown_text("a\xc2\x9b" "b") == "a\\u009bb");          // C1 control (CSI)
    CHECK(shown_text("caf\xc3\xa9 \xe2\x82\xac") == "caf\xc3\xa9 \xe2\x82\xac");   // UTF-8 text stays
    CHECK(shown_text("a\xff" "b\xc3") == "a\\xffb\\xc3");         // not UTF-8
    CHECK(shown_text("\xed\xa0\x80") == "\\xed\\xa0\\x80");       // a surrogate is not UTF-8 either
    // Up to 64 bytes as they are; longer: 61 bytes and "...".
    CHECK(shown_text(std::string(64, 'x')) == std::string(64, 'x'));
    CHECK(shown_text(std::string(65, 'x')) == std::string(61, 'x') + "...");
    CHECK(shown_text(std::string(1000000, 'x')) == std::string(61, 'x') + "...");
    // Never inside an escape or a character.
    CHECK(shown_text(std::string(60, 'x') + "\n" + std::string(10, 'x')) == std::string(60, 'x') + "...");
    std::string e;
    for (int i = 0; i < 40; i++) e += "\xc3\xa9";
    CHECK(shown_text(e) == e.substr(0, 60) + "...");
    // Idempotent: what it shows is shown as it is.
    CHECK(shown_text(shown_text("a\nb\x1b")) == shown_text("a\nb\x1b"));
}

TEST_CASE("shown_value: bounded, escaped, and no recursion past the excerpt", "[json][excerpt]") {
    // Strings: their text, escaped.
    CHECK(shown_value(json("a\nb")) == "a\\nb");
    CHECK(shown_value(json(std::string(100, 'y'))) == std::string(61, 'y') + "...");
    // Other values: what dump() writes, cut as before at 61 bytes and "...".
    for (const char* s : {"17", "-3", "2.5", "true", "null", "[]", "{}", R"([1,"a\nb",{"k":null}])",
                          R"({"a":[1,2.5,"x"],"b":{"c":"d"}})",
                          R"({"address":"10.255.0.7","port":0,"forward":"dr","stats":{"conns":1},"weight":2})",
                          R"(["caf\u00e9","\u0000",[[[[[]]]]]])"}) {
        json v = json::parse(s);
        std::string d = v.dump();
        INFO(s);
        CHECK(shown_value(v) == (d.size() > 64 ? d.substr(0, 61) + "..." : d));
    }
    // A value 100,000 levels deep (dump() would recurse once per level) and a large one.
    json deep = json::array();
    for (int i = 0; i < 100000; i++) deep = json::array({std::move(deep)});
    CHECK(shown_value(deep) == std::string(61, '[') + "...");
    json big = json::array();
    for (int i = 0; i < 1000000; i++) big.push_back(i);
    CHECK(shown_value(big) == big.dump().substr(0, 61) + "...");
    json key = json::object();
    key[std::string(200, 'k') + "\n"] = 1;
    CHECK(shown_value(key) == "{\"" + std::string(59, 'k') + "...");
}

TEST_CASE("input errors show a bounded, escaped field and value", "[json][excerpt]") {
    Error e = require_input_error([] { throw_input("bridge br0", "ma\nc", std::string(1 << 20, 'v') + "\n", "bad"); });
    CHECK(std::string(e.what()) == "bridge br0: ma\\nc \"" + std::string(61, 'v') + "...\": bad");
    CHECK(e.field() == "ma\nc");   // the field itself is kept as given
    // An unknown key of a megabyte in an object.
    json o = json::object();
    o[std::string(1 << 20, 'k')] = std::string(1 << 20, 'v');
    Error k = require_input_error([&] { check_keys(o, {"name"}, "bridge"); }, "unknown field");
    CHECK(std::string(k.what()).size() < 200);
    // Ordinary fields and values print as they did.
    Error m = require_input_error([] { throw_input("peer 10.0.0.3", "mac", "02:42:0a:00:00", "not a MAC address"); });
    CHECK(std::string(m.what()) == "peer 10.0.0.3: mac \"02:42:0a:00:00\": not a MAC address");
}
