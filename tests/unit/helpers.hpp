// Shared helpers for the unit tests.
#pragma once
#include <catch2/catch.hpp>

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

}  // namespace ovnet_test
