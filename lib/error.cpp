#include "ovnet/error.hpp"

#include <cstring>
#include <fmt/format.h>

namespace ovnet {

Error::Error(ErrorKind kind, std::string message, int err, std::string extack, std::string object,
             std::string field)
    : std::runtime_error(std::move(message)), kind_(kind), err_(err), extack_(std::move(extack)),
      object_(std::move(object)), field_(std::move(field)) {}

void throw_input(const std::string& object, const std::string& field, const std::string& value,
                 const std::string& why) {
    std::string msg;
    if (!object.empty()) msg = object + ": ";
    msg += fmt::format("{} \"{}\": {}", field, value, why);
    throw Error(ErrorKind::Input, msg, 0, {}, object, field);
}

void throw_input(const std::string& message) { throw Error(ErrorKind::Input, message); }

void throw_sys(int err, const std::string& what, const std::string& extack, const std::string& object) {
    std::string msg;
    if (!object.empty()) msg = object + ": ";
    msg += what + ": " + std::strerror(err);
    if (!extack.empty()) msg += " (kernel: " + extack + ")";
    throw Error(ErrorKind::Runtime, msg, err, extack, object);
}

}  // namespace ovnet
