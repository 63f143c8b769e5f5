#include "ovnet/ovnet.hpp"

const char* ovnet::version() { return OVNET_VERSION; }
