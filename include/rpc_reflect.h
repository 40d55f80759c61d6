/*
 * rpc_reflect.h: gRPC server reflection, grpc.reflection.v1 and v1alpha
 * ServerReflection/ServerReflectionInfo (the two differ only in their
 * package), over the descriptors the build embeds (reflect.h).
 *
 * Each request of the stream gets one ServerReflectionResponse, with
 * valid_host and original_request echoed:
 *   list_services           every service of the method table
 *                           (rpc_methods.h), reflection included;
 *   file_by_filename        the file and every file it imports, directly
 *                           or not, each once, under the names the imports
 *                           use;
 *   file_containing_symbol  the same for the file defining a message,
 *                           field, oneof, enum, enum value, service or
 *                           method, by full name;
 *   all_extension_numbers_of_type  an empty list for a known message;
 *   anything unknown        error_response NOT_FOUND (an extension always,
 *                           since the files define none), and a request
 *                           with no request set error_response
 *                           UNIMPLEMENTED.
 * A request that does not decode ends the stream with INVALID_ARGUMENT,
 * one over RPC_REFLECT_MAX_REQUEST bytes with RESOURCE_EXHAUSTED: names
 * are short, and each reply echoes its request whole, outside the reply
 * budget (rpc_budget.h), so a stream's reply stays small.
 */
#ifndef RPC_REFLECT_H
#define RPC_REFLECT_H

#include "rpc_call.h"

#define RPC_REFLECT_MAX_REQUEST ((size_t)16 * 1024)

void rpc_reflect_info(struct rpc_worker *w, const struct rpc_request *req,
                      struct rpc_reply *out);

#endif
