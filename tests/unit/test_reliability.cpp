// Reliability rules that need no root: a read error on the input is an error (never an empty
// set), the namespace lock, and the batch errors a bulk apply counts as success.
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "helpers.hpp"
#include "ovnet/ovnet.hpp"

using namespace ovnet;
using ovnet_test::catch_error;
using Catch::Matchers::Contains;

TEST_CASE("benign batch errors: a delete finding nothing, an add finding the entry", "[reliability]") {
    CHECK(benign_batch_error(true, ENOENT));
    CHECK(benign_batch_error(false, EEXIST));
    CHECK_FALSE(benign_batch_error(true, EEXIST));
    CHECK_FALSE(benign_batch_error(false, ENOENT));
    CHECK_FALSE(benign_batch_error(true, EPERM));
    CHECK_FALSE(benign_batch_error(false, EINVAL));
    CHECK_FALSE(benign_batch_error(true, EOPNOTSUPP));
}

TEST_CASE("read_fd_all: a read error is an error naming the input, never an empty text", "[reliability]") {
    int dir = ::open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    REQUIRE(dir >= 0);
    auto e = catch_error([&] { read_fd_all(dir, "stdin"); });
    ::close(dir);
    CHECK(e.kind() == ErrorKind::Runtime);
    CHECK(e.exit_code() == 1);
    CHECK(e.err() == EISDIR);
    CHECK(std::string(e.what()) == "stdin: cannot read: Is a directory");

    int path_only = ::open("/", O_PATH | O_CLOEXEC);   // what a tool puts on a closed stdin
    REQUIRE(path_only >= 0);
    e = catch_error([&] { read_fd_all(path_only, "stdin"); });
    ::close(path_only);
    CHECK(e.err() == EBADF);
    CHECK(std::string(e.what()) == "stdin: cannot read: Bad file descriptor");

    // The ordinary cases: a pipe (empty, and holding text), a regular file read from its offset.
    int p[2];
    REQUIRE(::pipe(p) == 0);
    REQUIRE(::write(p[1], "[1,", 3) == 3);
    REQUIRE(::write(p[1], "2]", 2) == 2);
    ::close(p[1]);
    CHECK(read_fd_all(p[0], "stdin") == "[1,2]");
    CHECK(read_fd_all(p[0], "stdin").empty());
    ::close(p[0]);
    std::string file = "/tmp/ovnet-unit-read." + std::to_string(::getpid());
    int f = ::open(file.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    REQUIRE(f >= 0);
    std::string big(200000, 'x');
    REQUIRE(::write(f, big.data(), big.size()) == ssize_t(big.size()));
    REQUIRE(::lseek(f, 1000, SEEK_SET) == 1000);
    CHECK(read_fd_all(f, "stdin") == big.substr(1000));
    ::close(f);
    ::unlink(file.c_str());
}

TEST_CASE("NetnsLock: one lock file per namespace identity under $OVNET_STATE_DIR, exclusive", "[reliability]") {
    const char* old = std::getenv("OVNET_STATE_DIR");
    std::string keep = old ? old : "";
    std::string dir = "/tmp/ovnet-unit-lock." + std::to_string(::getpid()) + "/state";
    ::setenv("OVNET_STATE_DIR", dir.c_str(), 1);
    struct stat st;
    REQUIRE(::stat("/proc/self/ns/net", &st) == 0);
    std::string want = dir + "/netns-" + std::to_string(uint64_t(st.st_dev)) + "-" + std::to_string(uint64_t(st.st_ino)) + ".lock";
    CHECK(netns_lock_file("") == want);
    CHECK(netns_lock_file("/proc/" + std::to_string(::getpid()) + "/ns/net") == want);   // another name, same namespace
    {
        NetnsLock lock("");   // creates the directory too
        CHECK(lock.held());
        int other = ::open(want.c_str(), O_RDONLY | O_CLOEXEC);   // another open file: another locker
        REQUIRE(other >= 0);
        CHECK(::flock(other, LOCK_EX | LOCK_NB) < 0);
        CHECK(errno == EWOULDBLOCK);
        ::close(other);
    }
    CHECK(::access(want.c_str(), F_OK) < 0);   // released with the object, its file removed
    {
        // A removed file still locked (a holder just done with it) blocks nobody: the path's new file is locked.
        int stale = ::open(want.c_str(), O_RDONLY | O_CREAT | O_CLOEXEC, 0644);
        REQUIRE(stale >= 0);
        REQUIRE(::flock(stale, LOCK_EX) == 0);
        ::unlink(want.c_str());   // as a holder does when done (the stale fd stays locked)
        NetnsLock lock("");       // would block forever if it locked the removed inode
        CHECK(lock.held());
        struct stat a, b;
        REQUIRE(::fstat(stale, &a) == 0);
        REQUIRE(::stat(want.c_str(), &b) == 0);
        CHECK(a.st_ino != b.st_ino);
        ::close(stale);
    }
    CHECK(::access(want.c_str(), F_OK) < 0);
    std::filesystem::remove_all(dir.substr(0, dir.rfind('/')));
    if (old) ::setenv("OVNET_STATE_DIR", keep.c_str(), 1);
    else ::unsetenv("OVNET_STATE_DIR");
}
