// ovnet-lab, the execution: builds a plan (lib/lab.cpp) in network namespaces with the library.
#include <fmt/format.h>
#include <sys/stat.h>

#include <fstream>
#include <sstream>

#include "ovnet/error.hpp"
#include "ovnet/lab.hpp"
#include "ovnet/lb.hpp"

namespace ovnet {

std::string lab_state_dir(const std::string& prefix) {
    lab_validate_prefix(prefix);
    return lb_state_dir() + "/lab-" + prefix;
}

std::optional<LabPlan> lab_load(const std::string& prefix) {
    std::string path = lab_state_dir(prefix) + "/plan.json";
    std::ifstream f(path);
    if (!f) return std::nullopt;
    std::stringstream ss;
    ss << f.rdbuf();
    json j;
    try {
        j = json::parse(ss.str());
    } catch (const json::exception& e) {
        throw_input(fmt::format("{}: malformed JSON: {}", path, e.what()));
    }
    return LabPlan::from_json(j);
}

LabCaps lab_caps() { throw Error(ErrorKind::Runtime, "lab_caps: not implemented yet"); }
LabResult lab_up(const LabPlan&, const LabCaps&) { throw Error(ErrorKind::Runtime, "lab_up: not implemented yet"); }
LabResult lab_scale(const std::string&, const std::string&, unsigned) {
    throw Error(ErrorKind::Runtime, "lab_scale: not implemented yet");
}
LabResult lab_down(const std::string&) { throw Error(ErrorKind::Runtime, "lab_down: not implemented yet"); }

}  // namespace ovnet
