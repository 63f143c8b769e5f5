// The Catch2 runner for ovnet-unit-tests. Every other file only holds TEST_CASEs.
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
