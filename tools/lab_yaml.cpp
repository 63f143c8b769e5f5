// ovnet-lab: topology files in YAML (yaml-cpp) read into the topology's JSON form. Kept free of the
// CLI (the unit tests compile this file alone).
#include <yaml-cpp/yaml.h>

#include <fmt/format.h>

#include <cstdlib>

#include "ovnet/error.hpp"
#include "ovnet/json.hpp"

namespace ovnet::lab {

namespace {

// A plain (unquoted) scalar is typed the way YAML 1.2's core schema does for what a topology
// holds: integers, true/false, null; anything else (addresses, prefixes, ids) stays a string.
json scalar(const YAML::Node& n) {
    const std::string& s = n.Scalar();
    if (n.Tag() != "?") return s;   // quoted: a string
    if (s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL") return nullptr;
    if (s == "true" || s == "True" || s == "TRUE") return true;
    if (s == "false" || s == "False" || s == "FALSE") return false;
    size_t i = (s[0] == '-' || s[0] == '+') ? 1 : 0;
    bool digits = i < s.size() && s.size() - i <= 18;
    for (size_t k = i; digits && k < s.size(); ++k) digits = s[k] >= '0' && s[k] <= '9';
    if (digits) {
        long long v = std::strtoll(s.c_str(), nullptr, 10);
        if (v >= 0) return uint64_t(v);
        return int64_t(v);
    }
    return s;
}

json convert(const YAML::Node& n, const std::string& source, const std::string& path, int depth) {
    if (depth > 64) throw_input(fmt::format("{}: line {}: nested deeper than 64 levels", source, n.Mark().line + 1));
    switch (n.Type()) {
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined:
        return nullptr;
    case YAML::NodeType::Scalar:
        return scalar(n);
    case YAML::NodeType::Sequence: {
        json a = json::array();
        size_t i = 0;
        for (auto& x : n) a.push_back(convert(x, source, fmt::format("{}[{}]", path, i++), depth + 1));
        return a;
    }
    case YAML::NodeType::Map: {
        json o = json::object();
        for (auto& kv : n) {
            if (!kv.first.IsScalar())
                throw_input(fmt::format("{}: line {}: {}: a key must be a plain string", source,
                                        kv.first.Mark().line + 1, path.empty() ? "top level" : path));
            const std::string& k = kv.first.Scalar();
            if (o.contains(k))
                throw_input(fmt::format("{}: line {}: key {} given twice", source, kv.first.Mark().line + 1,
                                        path.empty() ? k : path + "." + k));
            o[k] = convert(kv.second, source, path.empty() ? k : path + "." + k, depth + 1);
        }
        return o;
    }
    }
    return nullptr;
}

}  // namespace

json yaml_to_json(const std::string& text, const std::string& source) {
    try {
        YAML::Node root = YAML::Load(text);
        if (!root.IsMap())
            throw_input(fmt::format("{}: line {}: a topology is a mapping of keys (name, nodes, networks, ...)", source,
                                    root.Mark().line + 1 > 0 ? root.Mark().line + 1 : 1));
        return convert(root, source, "", 0);
    } catch (const YAML::Exception& e) {
        throw_input(fmt::format("{}: line {}: {}", source, e.mark.line + 1, e.msg));
    }
}

}  // namespace ovnet::lab
