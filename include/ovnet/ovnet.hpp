// ovnet/ovnet.hpp - everything public in libovnet.
#pragma once
#include "ovnet/error.hpp"
#include "ovnet/types.hpp"
#include "ovnet/fd.hpp"
#include "ovnet/netns.hpp"
#include "ovnet/docker.hpp"
#include "ovnet/netlink.hpp"
#include "ovnet/link.hpp"
#include "ovnet/addr.hpp"
#include "ovnet/neigh.hpp"
#include "ovnet/json.hpp"
#include "ovnet/bridge.hpp"
#include "ovnet/vtep.hpp"
#include "ovnet/sbox.hpp"
#include "ovnet/fdb.hpp"
#include "ovnet/ipvs.hpp"
#include "ovnet/iptables.hpp"
#include "ovnet/lb.hpp"
#include "ovnet/inspect.hpp"
#include "ovnet/snapshot_diff.hpp"

namespace ovnet {
/// Library version, "MAJOR.MINOR.PATCH".
const char* version();
}
