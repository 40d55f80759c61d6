/*
 * rpc_methods.h: every gRPC method the server knows, in one table.
 *
 * A row is X(NAME, path, label, kind, handler):
 *   NAME     the enum rpc_method value is RPC_<NAME>;
 *   path     the method's full gRPC path, the same for server and client;
 *   label    its name in log lines and in the metrics' method label;
 *   kind     UNARY (one request, one reply), SERVER_STREAM (one request, a
 *            stream of replies) or BIDI (a stream of requests, each
 *            answered by one reply, until the client half-closes);
 *   handler  the rpc_handler that answers it (rpc_call.h): the request, or
 *            each request of a stream; NULL for a method that is not
 *            registered: it reaches the server as an unregistered call and
 *            answers UNIMPLEMENTED.
 * The last row, UNKNOWN, stands for any other path. Adding a method means
 * adding its row here and writing its handler; the enum, the registration,
 * the dispatch, the logs, the metrics, the client's paths and the services
 * that server reflection lists all follow.
 * The handler names are only used where the table is expanded in
 * rpc_call.c, so this header needs no gRPC header.
 */
#ifndef RPC_METHODS_H
#define RPC_METHODS_H

#include <stdbool.h>
#include <string.h>

#define RPC_METHOD_TABLE(X)                                                    \
    X(GET, "/cache.CacheService/Get", "Get", UNARY, rpc_cache_get)             \
    X(SET, "/cache.CacheService/Set", "Set", UNARY, rpc_cache_set)             \
    X(DELETE, "/cache.CacheService/Delete", "Delete", UNARY, rpc_cache_delete) \
    X(STATS, "/cache.CacheService/Stats", "Stats", UNARY, rpc_cache_stats)     \
    X(MULTI_GET, "/cache.CacheService/MultiGet", "MultiGet", UNARY,            \
      rpc_cache_multi_get)                                                     \
    X(MULTI_SET, "/cache.CacheService/MultiSet", "MultiSet", UNARY,            \
      rpc_cache_multi_set)                                                     \
    X(MULTI_DELETE, "/cache.CacheService/MultiDelete", "MultiDelete", UNARY,   \
      rpc_cache_multi_delete)                                                  \
    X(SET_IF_ABSENT, "/cache.CacheService/SetIfAbsent", "SetIfAbsent", UNARY,  \
      rpc_cache_set_if_absent)                                                 \
    X(COMPARE_AND_SET, "/cache.CacheService/CompareAndSet", "CompareAndSet",   \
      UNARY, rpc_cache_compare_and_set)                                        \
    X(INCREMENT, "/cache.CacheService/Increment", "Increment", UNARY,          \
      rpc_cache_increment)                                                     \
    X(TOUCH, "/cache.CacheService/Touch", "Touch", UNARY, rpc_cache_touch)     \
    X(FLUSH, "/cache.CacheService/Flush", "Flush", UNARY, rpc_cache_flush)     \
    X(HEALTH_CHECK, "/grpc.health.v1.Health/Check", "Health/Check", UNARY,     \
      rpc_health_check)                                                        \
    X(HEALTH_WATCH, "/grpc.health.v1.Health/Watch", "Health/Watch",            \
      SERVER_STREAM, NULL)                                                     \
    X(REFLECTION_V1,                                                           \
      "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",             \
      "Reflection/v1", BIDI, rpc_reflect_info)                                 \
    X(REFLECTION_V1ALPHA,                                                      \
      "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",        \
      "Reflection/v1alpha", BIDI, rpc_reflect_info)                            \
    X(UNKNOWN, NULL, "unknown", UNARY, NULL)

/* How a method's messages flow (the kind column). */
enum rpc_kind { RPC_KIND_UNARY, RPC_KIND_SERVER_STREAM, RPC_KIND_BIDI };

enum rpc_method {
#define RPC_METHOD_ENUM(name, path, label, kind, handler) RPC_##name,
    RPC_METHOD_TABLE(RPC_METHOD_ENUM)
#undef RPC_METHOD_ENUM
        RPC_METHOD_COUNT
};

/* The label of a method ("Get", "Health/Check", "unknown"). */
static inline const char *
rpc_method_label(enum rpc_method m)
{
    static const char *const labels[RPC_METHOD_COUNT] = {
#define RPC_METHOD_LABEL(name, path, label, kind, handler) label,
        RPC_METHOD_TABLE(RPC_METHOD_LABEL)
#undef RPC_METHOD_LABEL
    };

    return (unsigned)m < RPC_METHOD_COUNT ? labels[m] : "unknown";
}

/* The path of a method, NULL for RPC_UNKNOWN. */
static inline const char *
rpc_method_path(enum rpc_method m)
{
    static const char *const paths[RPC_METHOD_COUNT] = {
#define RPC_METHOD_PATH(name, path, label, kind, handler) path,
        RPC_METHOD_TABLE(RPC_METHOD_PATH)
#undef RPC_METHOD_PATH
    };

    return (unsigned)m < RPC_METHOD_COUNT ? paths[m] : NULL;
}

/* The prefix of the CacheService's paths. */
#define RPC_CACHE_SERVICE "/cache.CacheService/"

/* Whether m is a CacheService method: one that reads x-cache-namespace.
 * Health and reflection serve whatever namespace a call names. */
static inline bool
rpc_method_is_cache(enum rpc_method m)
{
    const char *path = rpc_method_path(m);

    return path != NULL &&
           strncmp(path, RPC_CACHE_SERVICE, sizeof RPC_CACHE_SERVICE - 1) == 0;
}

#endif
