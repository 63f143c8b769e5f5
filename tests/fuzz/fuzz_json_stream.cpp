// read_json_stream: any byte string is JSON documents or one Error(Input) line; never a crash,
// a deep recursion or a hang.
#include <sstream>

#include "fuzz.hpp"
#include "ovnet/json.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::istringstream in{std::string(ovnet_fuzz::text(data, size))};
    ovnet_fuzz::guarded([&] {
        auto docs = ovnet::read_json_stream(in, "stdin");
        for (auto& d : docs) (void)ovnet::shown_value(d);
    });
    return 0;
}
