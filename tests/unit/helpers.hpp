// Shared helpers for the unit tests.
#pragma once
#include <catch2/catch.hpp>

#include <cstdint>
#include <functional>
#include <sstream>
#include <string>

#include "ovnet/error.hpp"

namespace ovnet_test {

/// Runs f, requires it to throw ovnet::Error, and returns a copy of it (so the caller can inspect
/// kind(), field(), what() ...). Fails the test when nothing or something else is thrown.
inline ovnet::Error catch_error(const std::function<void()>& f) {
    try {
        f();
    } catch (const ovnet::Error& e) {
        return e;
    } catch (const std::exception& e) {
        FAIL("expected ovnet::Error, got another exception: " << e.what());
    }
    FAIL("expected ovnet::Error, nothing was thrown");
    return ovnet::Error(ovnet::ErrorKind::Runtime, "unreachable");  // FAIL aborts the test case
}

/// Requires f to raise an input error (kind Input, exit status 2) whose message holds `needle`.
inline ovnet::Error require_input_error(const std::function<void()>& f, const std::string& needle = {}) {
    ovnet::Error e = catch_error(f);
    INFO("what(): " << e.what());
    CHECK(e.kind() == ovnet::ErrorKind::Input);
    CHECK(e.exit_code() == 2);
    CHECK(e.err() == 0);
    if (!needle.empty()) CHECK_THAT(std::string(e.what()), Catch::Matchers::Contains(needle));
    return e;
}

/// The mangler of the differential tests: calls fn with `rounds` variants of base, each with one
/// to three single-byte edits (a byte deleted, inserted or overwritten with a byte of a JSON-ish
/// alphabet, control and non-ASCII bytes included) at random places. The generator has a fixed
/// seed, so every run sees the same inputs.
inline void for_each_mangled(const std::string& base, int rounds, const std::function<void(const std::string&)>& fn) {
    const std::string alphabet = "{}[],:\"\\ 0123456789.-eE+truefalsnul\t\nabcxyz/\x01\xc3\xa9";
    uint32_t rnd = 12345;
    auto next = [&](uint32_t n) { rnd = rnd * 1103515245u + 12345u; return (rnd >> 8) % n; };
    for (int round = 0; round < rounds; round++) {
        std::string t = base;
        for (uint32_t k = 0, m = 1 + next(3); k < m; k++) {
            size_t at = next(uint32_t(t.size()));
            switch (next(3)) {
            case 0: t.erase(at, 1); break;
            case 1: t.insert(t.begin() + long(at), alphabet[next(uint32_t(alphabet.size()))]); break;
            default: t[at] = alphabet[next(uint32_t(alphabet.size()))]; break;
            }
        }
        fn(t);
    }
}

}  // namespace ovnet_test
