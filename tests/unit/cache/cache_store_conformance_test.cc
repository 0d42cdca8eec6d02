// The conformance tests, compiled once into unit_tests; backends instantiate
// them from their own files (memory: memory_store_conformance_test.cc).
#include "conformance/cache_store_conformance.h"

#include "conformance/cache_store_conformance_tests.inc"
