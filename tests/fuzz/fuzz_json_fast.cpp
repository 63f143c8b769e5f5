// json_sax_fast against nlohmann's own SAX parser: whenever the fast reader accepts a text, the
// events it delivered must be exactly nlohmann's (the fast reader's contract).
#include <string>
#include <vector>

#include "fuzz.hpp"
#include "ovnet/json.hpp"

namespace {

using ovnet::json;

struct Recorder : nlohmann::json_sax<json> {
    std::vector<std::string> ev;
    bool null() override { ev.emplace_back("n"); return true; }
    bool boolean(bool v) override { ev.push_back(v ? "t" : "f"); return true; }
    bool number_integer(number_integer_t v) override { ev.push_back("i" + std::to_string(v)); return true; }
    bool number_unsigned(number_unsigned_t v) override { ev.push_back("u" + std::to_string(v)); return true; }
    bool number_float(number_float_t v, const string_t& s) override {
        ev.push_back("d" + std::to_string(v) + "/" + s);
        return true;
    }
    bool string(string_t& v) override { ev.push_back("s" + v); return true; }
    bool binary(binary_t&) override { ev.emplace_back("b"); return true; }
    bool start_object(std::size_t) override { ev.emplace_back("{"); return true; }
    bool key(string_t& v) override { ev.push_back("k" + v); return true; }
    bool end_object() override { ev.emplace_back("}"); return true; }
    bool start_array(std::size_t) override { ev.emplace_back("["); return true; }
    bool end_array() override { ev.emplace_back("]"); return true; }
    bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) override { return false; }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view s = ovnet_fuzz::text(data, size);
    Recorder fast;
    bool ok = false;
    ovnet_fuzz::guarded([&] { ok = ovnet::json_sax_fast(s, fast); });
    if (!ok) return 0;
    // The fast reader takes a stream of values; nlohmann's SAX takes one: compare value by value.
    Recorder slow;
    bool slow_ok = true;
    ovnet_fuzz::guarded([&] {
        ovnet::for_each_json_span(s, "fuzz", [&](std::string_view v, size_t) {
            if (!json::sax_parse(v.begin(), v.end(), &slow)) slow_ok = false;
        });
    });
    if (!slow_ok) ovnet_fuzz::fail("json_sax_fast accepted what nlohmann refuses", s.substr(0, 200));
    if (fast.ev != slow.ev) ovnet_fuzz::fail("json_sax_fast events differ from nlohmann's", s.substr(0, 200));
    return 0;
}
