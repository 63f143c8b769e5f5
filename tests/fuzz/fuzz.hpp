// Shared pieces of the libFuzzer targets: every reader must either accept its input or raise
// ovnet::Error; anything else (a crash, another exception, a leak, a hang) is a finding.
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "ovnet/error.hpp"

namespace ovnet_fuzz {

inline std::string_view text(const uint8_t* data, size_t size) {
    return {reinterpret_cast<const char*>(data), size};
}

/// Runs f; ovnet::Error is an accepted answer (bad input), and its message must be one printable
/// line: the promise every tool makes on stderr.
template <class F>
void guarded(F&& f) {
    try {
        f();
    } catch (const ovnet::Error& e) {
        for (const char* p = e.what(); *p; p++) {
            unsigned char c = static_cast<unsigned char>(*p);
            if (c == '\n' || c == '\r' || c == 0x1b) {
                std::fprintf(stderr, "error message is not one printable line: %s\n", e.what());
                std::abort();
            }
        }
    }
}

/// Aborts with a message: an invariant of the reader does not hold.
[[noreturn]] inline void fail(const char* what, std::string_view detail = {}) {
    std::fprintf(stderr, "invariant broken: %s: %.*s\n", what, int(detail.size()), detail.data());
    std::abort();
}

}  // namespace ovnet_fuzz
