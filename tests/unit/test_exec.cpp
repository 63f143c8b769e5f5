// exec_in_netns in the current namespace (no setns, no root): what the program gets (stdin, its
// signal state) and what comes back (stdout, stderr, exit status, why it did not start).
#include <signal.h>

#include <catch2/catch.hpp>
#include <cerrno>
#include <sstream>
#include <string>

#include "ovnet/netns.hpp"

using namespace ovnet;

namespace {

// The hexadecimal mask of one "SigXxx:" line of /proc/self/status as `cat` (the child) saw it.
unsigned long long status_mask(const std::string& status, const std::string& field) {
    std::istringstream in(status);
    std::string line;
    while (std::getline(in, line))
        if (line.rfind(field + ":", 0) == 0) return std::stoull(line.substr(field.size() + 1), nullptr, 16);
    FAIL("no " << field << " in: " << status);
    return 0;
}

}  // namespace

TEST_CASE("exec_in_netns: input, output, status") {
    SECTION("stdin to stdout, stderr apart, the exit status") {
        auto r = exec_in_netns("", {"sh", "-c", "cat; echo oops >&2; exit 3"}, "line 1\nline 2\n");
        CHECK(r.status == 3);
        CHECK(r.err == 0);
        CHECK(r.out == "line 1\nline 2\n");
        CHECK(r.errout == "oops\n");
    }
    SECTION("input and output larger than a pipe holds, both at once") {
        std::string big;
        for (int i = 0; big.size() < 1 << 20; ++i) big += "row " + std::to_string(i) + "\n";
        auto r = exec_in_netns("", {"sh", "-c", "cat; cat /proc/self/status >&2"}, big);
        CHECK(r.status == 0);
        CHECK(r.out.size() == big.size());
        CHECK(r.out == big);
        CHECK(r.errout.find("Name:") != std::string::npos);
    }
    SECTION("a program that does not read its input") {
        std::string big(1 << 20, 'x');
        auto r = exec_in_netns("", {"true"}, big);
        CHECK(r.status == 0);
    }
    SECTION("killed by a signal: 128 + the signal") {
        auto r = exec_in_netns("", {"sh", "-c", "kill -TERM $$"});
        CHECK(r.status == 128 + SIGTERM);
    }
    SECTION("a program that is not there: err, no status") {
        auto r = exec_in_netns("", {"ovnet-no-such-program-here"});
        CHECK(r.status == -1);
        CHECK(r.err == ENOENT);
    }
    SECTION("an empty command is bad input") { CHECK_THROWS(exec_in_netns("", {})); }
}

TEST_CASE("exec_in_netns: the program gets the caller's signal mask and SIGPIPE as default") {
    sigset_t usr1, old;
    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1);
    auto plain = exec_in_netns("", {"cat", "/proc/self/status"});
    REQUIRE(plain.status == 0);
    // The program gets the caller's mask, no more (a spawn that blocks signals around the start must restore it).
    sigset_t now;
    pthread_sigmask(SIG_SETMASK, nullptr, &now);
    bool usr1_blocked_here = sigismember(&now, SIGUSR1);
    CHECK((status_mask(plain.out, "SigBlk") & (1ull << (SIGUSR1 - 1))) == (usr1_blocked_here ? (1ull << (SIGUSR1 - 1)) : 0));
    CHECK((status_mask(plain.out, "SigBlk") & (1ull << (SIGTERM - 1))) == 0);
    CHECK((status_mask(plain.out, "SigIgn") & (1ull << (SIGPIPE - 1))) == 0);
    pthread_sigmask(SIG_BLOCK, &usr1, &old);
    auto blocked = exec_in_netns("", {"cat", "/proc/self/status"});
    pthread_sigmask(SIG_SETMASK, &old, nullptr);
    REQUIRE(blocked.status == 0);
    CHECK((status_mask(blocked.out, "SigBlk") & (1ull << (SIGUSR1 - 1))) != 0);
    CHECK((status_mask(blocked.out, "SigBlk") & (1ull << (SIGTERM - 1))) == 0);
    // A caller that ignores SIGPIPE itself: the program still gets the default.
    auto prev = ::signal(SIGPIPE, SIG_IGN);
    auto ign = exec_in_netns("", {"cat", "/proc/self/status"});
    ::signal(SIGPIPE, prev);
    REQUIRE(ign.status == 0);
    CHECK((status_mask(ign.out, "SigIgn") & (1ull << (SIGPIPE - 1))) == 0);
}
