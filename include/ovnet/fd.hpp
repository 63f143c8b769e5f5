// ovnet/fd.hpp - the one owner of a file descriptor.
#pragma once
#include <unistd.h>

namespace ovnet {

/// Owns a file descriptor and closes it on destruction: every open() of the library goes into
/// one, so no error path can leak it. Move-only; -1 means none.
class Fd {
public:
    Fd() noexcept = default;
    explicit Fd(int fd) noexcept : fd_(fd) {}
    ~Fd() { reset(); }
    Fd(Fd&& o) noexcept : fd_(o.release()) {}
    Fd& operator=(Fd&& o) noexcept {
        if (this != &o) reset(o.release());
        return *this;
    }
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;

    int get() const noexcept { return fd_; }
    bool valid() const noexcept { return fd_ >= 0; }
    explicit operator bool() const noexcept { return valid(); }
    /// Gives the descriptor up without closing it.
    int release() noexcept {
        int f = fd_;
        fd_ = -1;
        return f;
    }
    /// Closes the descriptor held (if any) and holds `fd` instead.
    void reset(int fd = -1) noexcept {
        if (fd_ >= 0) ::close(fd_);
        fd_ = fd;
    }

private:
    int fd_ = -1;
};

}  // namespace ovnet
