// lib/sysctl_store.hpp (private) - the sysctl values ovnet overwrote in a namespace, kept in
// $OVNET_STATE_DIR/sysctl-<dev>-<ino>.json so that the del which removes ovnet's last service or
// published port there gives them back (the contract is documented in ovnet/lb.hpp).
#pragma once
#include <string>
#include <utility>
#include <vector>

#include "ovnet/json.hpp"

namespace ovnet::detail {

/// Sysctl keys and values, in the order they are set.
using Sysctls = std::vector<std::pair<std::string, std::string>>;

/// Sets `want` in the namespace at `path` (named `netns` in the state file), first saving the
/// values it replaces (never overwriting a value saved before: a second add keeps the original).
/// `in_use`: ovnet had something in the namespace before this add (tells a stale file from ours
/// when the kernel has no netns cookies). Appends "set sysctl k=v<where>" changes.
void sysctls_apply(const std::string& path, const std::string& netns, const Sysctls& want, bool in_use, Changes& ch,
                   const std::string& where);

/// When ovnet has nothing left in the namespace (`in_use` false): gives every saved sysctl that
/// still has ovnet's value its original back ("restored sysctl k=orig<where>"), and forgets the
/// saved values.
void sysctls_release(const std::string& path, bool in_use, Changes& ch, const std::string& where);

}  // namespace ovnet::detail
