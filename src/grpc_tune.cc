/*
 * grpc_tune.cc: settings of the libraries under gRPC that the C core's API
 * cannot reach, applied once before grpc_init().
 *
 * Debian builds Abseil without NDEBUG, so every absl::Mutex lock and
 * unlock, and gRPC takes several per call, also updates Abseil's
 * lock-order graph (its deadlock detection): a global graph behind a
 * global lock, shared by every thread. Release builds of Abseil leave it
 * out; so does tiny-cache, whose own locks are pthread mutexes checked
 * by ThreadSanitizer in CI. docs/benchmarks.md has what it costs per call.
 *
 * C++ only because Abseil's setting is a C++ function; nothing here
 * throws or allocates.
 */
#include <absl/synchronization/mutex.h>

#include "grpc_tune.h"

extern "C" void
grpc_tune_libraries(void)
{
    absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
}
