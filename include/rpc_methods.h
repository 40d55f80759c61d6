/*
 * rpc_methods.h: every gRPC method the server knows, in one table.
 *
 * A row is X(NAME, path, label, handler):
 *   NAME     the enum rpc_method value is RPC_<NAME>;
 *   path     the method's full gRPC path, the same for server and client;
 *   label    its name in log lines and in the metrics' method label;
 *   handler  the rpc_handler that answers it (rpc_call.h), or NULL for a
 *            method that is not registered: it reaches the server as an
 *            unregistered call and answers UNIMPLEMENTED.
 * The last row, UNKNOWN, stands for any other path. Adding a method means
 * adding its row here and writing its handler; the enum, the registration,
 * the dispatch, the logs, the metrics and the client's paths all follow.
 * The handler names are only used where the table is expanded in
 * rpc_call.c, so this header needs no gRPC header.
 */
#ifndef RPC_METHODS_H
#define RPC_METHODS_H

#define RPC_METHOD_TABLE(X)                                                    \
    X(GET, "/cache.CacheService/Get", "Get", rpc_cache_get)                    \
    X(SET, "/cache.CacheService/Set", "Set", rpc_cache_set)                    \
    X(DELETE, "/cache.CacheService/Delete", "Delete", rpc_cache_delete)        \
    X(STATS, "/cache.CacheService/Stats", "Stats", rpc_cache_stats)            \
    X(MULTI_GET, "/cache.CacheService/MultiGet", "MultiGet", NULL)             \
    X(MULTI_SET, "/cache.CacheService/MultiSet", "MultiSet", NULL)             \
    X(MULTI_DELETE, "/cache.CacheService/MultiDelete", "MultiDelete", NULL)    \
    X(SET_IF_ABSENT, "/cache.CacheService/SetIfAbsent", "SetIfAbsent", NULL)   \
    X(COMPARE_AND_SET, "/cache.CacheService/CompareAndSet", "CompareAndSet",   \
      NULL)                                                                    \
    X(INCREMENT, "/cache.CacheService/Increment", "Increment", NULL)           \
    X(TOUCH, "/cache.CacheService/Touch", "Touch", NULL)                       \
    X(FLUSH, "/cache.CacheService/Flush", "Flush", NULL)                       \
    X(HEALTH_CHECK, "/grpc.health.v1.Health/Check", "Health/Check",            \
      rpc_health_check)                                                        \
    X(HEALTH_WATCH, "/grpc.health.v1.Health/Watch", "Health/Watch", NULL)      \
    X(UNKNOWN, NULL, "unknown", NULL)

enum rpc_method {
#define RPC_METHOD_ENUM(name, path, label, handler) RPC_##name,
    RPC_METHOD_TABLE(RPC_METHOD_ENUM)
#undef RPC_METHOD_ENUM
        RPC_METHOD_COUNT
};

/* The label of a method ("Get", "Health/Check", "unknown"). */
static inline const char *
rpc_method_label(enum rpc_method m)
{
    static const char *const labels[RPC_METHOD_COUNT] = {
#define RPC_METHOD_LABEL(name, path, label, handler) label,
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
#define RPC_METHOD_PATH(name, path, label, handler) path,
        RPC_METHOD_TABLE(RPC_METHOD_PATH)
#undef RPC_METHOD_PATH
    };

    return (unsigned)m < RPC_METHOD_COUNT ? paths[m] : NULL;
}

#endif
