// ovnet::Error and the throw_* helpers.
#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>

#include "helpers.hpp"
#include "ovnet/ovnet.hpp"

using namespace ovnet;
using ovnet_test::catch_error;
using Catch::Matchers::Contains;

TEST_CASE("throw_sys carries errno extack and object with exit status 1", "[error]") {
    Error e = catch_error([] { throw_sys(ENOENT, "x", "ext msg", "obj"); });
    CHECK(e.kind() == ErrorKind::Runtime);
    CHECK(e.err() == ENOENT);
    CHECK(e.extack() == "ext msg");
    CHECK(e.object() == "obj");
    CHECK(e.field().empty());
    CHECK(e.exit_code() == 1);
    std::string w = e.what();
    CHECK_THAT(w, Contains(std::strerror(ENOENT)));
    CHECK_THAT(w, Contains("kernel: ext msg"));
    CHECK_THAT(w, Contains("obj"));
    CHECK_THAT(w, Contains("x"));
    // One line for stderr.
    CHECK(w.find('\n') == std::string::npos);
}

TEST_CASE("throw_sys without extack or object", "[error]") {
    Error e = catch_error([] { throw_sys(EPERM, "create link"); });
    CHECK(e.kind() == ErrorKind::Runtime);
    CHECK(e.err() == EPERM);
    CHECK(e.extack().empty());
    CHECK(e.object().empty());
    CHECK(std::string(e.what()) == std::string("create link: ") + std::strerror(EPERM));
    CHECK_THAT(std::string(e.what()), !Contains("kernel:"));
}

TEST_CASE("throw_input names object field and value with exit status 2", "[error]") {
    Error e = catch_error([] { throw_input("peer 10.0.0.3", "mac", "zz", "not a MAC"); });
    CHECK(e.kind() == ErrorKind::Input);
    CHECK(e.exit_code() == 2);
    CHECK(e.err() == 0);
    CHECK(e.object() == "peer 10.0.0.3");
    CHECK(e.field() == "mac");
    std::string w = e.what();
    CHECK_THAT(w, Contains("peer 10.0.0.3"));
    CHECK_THAT(w, Contains("mac"));
    CHECK_THAT(w, Contains("\"zz\""));
    CHECK_THAT(w, Contains("not a MAC"));

    Error f = catch_error([] { throw_input("free-form message"); });
    CHECK(f.kind() == ErrorKind::Input);
    CHECK(f.exit_code() == 2);
    CHECK(std::string(f.what()) == "free-form message");
    CHECK(f.object().empty());
    CHECK(f.field().empty());
}

TEST_CASE("Error is a std::runtime_error", "[error]") {
    CHECK_THROWS_AS(throw_input("x"), std::runtime_error);
    CHECK_THROWS_AS(throw_sys(EIO, "x"), std::runtime_error);
    Error direct(ErrorKind::Runtime, "msg", EBUSY, "busy", "bridge br0", "mtu");
    CHECK(direct.err() == EBUSY);
    CHECK(direct.extack() == "busy");
    CHECK(direct.object() == "bridge br0");
    CHECK(direct.field() == "mtu");
    CHECK(direct.exit_code() == 1);
}

TEST_CASE("version() is MAJOR.MINOR.PATCH", "[error]") {
    std::string v = ovnet::version();
    REQUIRE_FALSE(v.empty());
    CHECK(std::count(v.begin(), v.end(), '.') == 2);
    for (char c : v) CHECK((std::isdigit((unsigned char)c) || c == '.'));
}
