// ovnet/error.hpp - typed errors shared by the library and the tools.
#pragma once
#include <stdexcept>
#include <string>
#include <string_view>

namespace ovnet {

/// Why an operation failed. Tools map Input to exit status 2 and Runtime to 1.
enum class ErrorKind {
    Input,    ///< bad usage or bad input: nothing was written to the kernel
    Runtime,  ///< the kernel or the system refused a well-formed request
};

/// Every failure raised by libovnet.
///
/// `what()` is one line meant for stderr: it names the object and field at fault and, for kernel
/// errors, carries strerror(errno) and the kernel's extended-ack message verbatim.
class Error : public std::runtime_error {
public:
    Error(ErrorKind kind, std::string message, int err = 0, std::string extack = {},
          std::string object = {}, std::string field = {});

    ErrorKind kind() const noexcept { return kind_; }
    /// Positive errno for kernel/system errors, 0 for input errors.
    int err() const noexcept { return err_; }
    /// The kernel's extended ack message (NLMSGERR_ATTR_MSG), empty if none.
    const std::string& extack() const noexcept { return extack_; }
    /// The object at fault ("peer 10.0.0.3", "bridge ov-001001-7672d"), may be empty.
    const std::string& object() const noexcept { return object_; }
    /// The field at fault ("mac", "vni"), may be empty.
    const std::string& field() const noexcept { return field_; }
    /// Exit status a tool should use: 2 for input errors, 1 otherwise.
    int exit_code() const noexcept { return kind_ == ErrorKind::Input ? 2 : 1; }

private:
    ErrorKind kind_;
    int err_;
    std::string extack_, object_, field_;
};

/// Text as error messages show it, so that every error stays one printable line of bounded
/// length: control characters escaped as JSON escapes them (\n, \t, \u0000, \u001b, and
/// U+007F..U+009F as \u007f..\u009f), bytes that are not UTF-8 as \xNN, and anything longer
/// than 64 bytes once escaped cut to 61 bytes plus "..." (never inside an escape or a character).
/// Other text is unchanged, so ordinary names and values print as they are.
std::string shown_text(std::string_view s);
/// The same with another bound (Error applies it, at 1024 bytes, to every whole message).
std::string shown_text(std::string_view s, size_t max);

/// Input error naming the object, the field and the offending value (field and value are shown
/// through shown_text).
[[noreturn]] void throw_input(const std::string& object, const std::string& field,
                              const std::string& value, const std::string& why);
/// Input error with a free-form message.
[[noreturn]] void throw_input(const std::string& message);
/// Runtime error from a failing system call or netlink request (err is a positive errno).
[[noreturn]] void throw_sys(int err, const std::string& what, const std::string& extack = {},
                            const std::string& object = {});

}  // namespace ovnet
