// How much memory this machine has: for the decisions and messages about models larger than it
// (a mapped model that does not fit pages from disk; repacking copies only what fits).
#pragma once

#include <cstdint>

namespace dschat {

// Physical memory in bytes (sysconf), 0 when unknown.
uint64_t physical_memory_bytes();
// Memory the system can still give without swapping (MemAvailable of /proc/meminfo), 0 when unknown.
uint64_t available_memory_bytes();

}  // namespace dschat
