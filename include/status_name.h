/*
 * status_name.h: the names of gRPC's status codes, in grpc/status.h order,
 * for log lines, metric labels and the tools' messages.
 */
#ifndef STATUS_NAME_H
#define STATUS_NAME_H

#include <stddef.h>

#include "tc.h"

static inline const char *
status_name(int code)
{
    static const char *const names[] = {
        "OK",
        "CANCELLED",
        "UNKNOWN",
        "INVALID_ARGUMENT",
        "DEADLINE_EXCEEDED",
        "NOT_FOUND",
        "ALREADY_EXISTS",
        "PERMISSION_DENIED",
        "RESOURCE_EXHAUSTED",
        "FAILED_PRECONDITION",
        "ABORTED",
        "OUT_OF_RANGE",
        "UNIMPLEMENTED",
        "INTERNAL",
        "UNAVAILABLE",
        "DATA_LOSS",
        "UNAUTHENTICATED",
    };

    return code >= 0 && (size_t)code < TC_ARRAY_LEN(names) ? names[code]
                                                           : "UNKNOWN_CODE";
}

#endif
