/*
 * rpc_log.c: gRPC core's own log lines, through the server's logger.
 *
 * gRPC logs some errors once per call (a request with a compression
 * algorithm the server refuses, a broken frame), so a hostile client could
 * fill the disk through them. Lines go through log.c with gRPC's severity,
 * at most RPC_LOG_LINES_PER_S a second; the excess is counted and reported
 * in one line when the next second's first line passes. DEBUG lines are
 * not limited (DEBUG is off in production, and then costs nothing).
 *
 * State: the current second, the lines logged in it and the lines dropped
 * are atomics; a line racing a change of second may be counted in either.
 */
#include <inttypes.h>
#include <stdatomic.h>

#include <grpc/support/log.h>

#include "clock.h"
#include "log.h"
#include "rpc_log.h"

static _Atomic int64_t rpc_log_second;
static _Atomic uint32_t rpc_log_lines;
static _Atomic uint64_t rpc_log_dropped;
static _Atomic bool rpc_log_is_quiet;

/* True when one more line may be written this second. */
static bool
rpc_log_admit(void)
{
    int64_t now = (int64_t)(clock_coarse_ms() / 1000);
    int64_t sec = atomic_load(&rpc_log_second);
    uint64_t dropped;

    if (sec != now &&
        atomic_compare_exchange_strong(&rpc_log_second, &sec, now)) {
        atomic_store(&rpc_log_lines, 0);
        dropped = atomic_exchange(&rpc_log_dropped, 0);
        if (dropped > 0)
            log_warn(NULL, "grpc: %" PRIu64 " more lines not logged", dropped);
    }
    if (atomic_fetch_add(&rpc_log_lines, 1) < RPC_LOG_LINES_PER_S)
        return true;
    atomic_fetch_add(&rpc_log_dropped, 1);
    return false;
}

static void
rpc_log_line(gpr_log_func_args *args)
{
    enum log_level lvl = LOG_DEBUG;

    if (atomic_load_explicit(&rpc_log_is_quiet, memory_order_relaxed))
        lvl = LOG_DEBUG;
    else if (args->severity == GPR_LOG_SEVERITY_ERROR)
        lvl = LOG_ERROR;
    else if (args->severity == GPR_LOG_SEVERITY_INFO)
        lvl = LOG_INFO;
    if (log_enabled(lvl) && (lvl == LOG_DEBUG || rpc_log_admit()))
        log_write(lvl, NULL, "grpc: %s", args->message);
}

void
rpc_log_start(void)
{
    gpr_set_log_function(rpc_log_line);
}

void
rpc_log_quiet(bool quiet)
{
    atomic_store(&rpc_log_is_quiet, quiet);
}
