// null_server: the yardstick for tiny-cached's gRPC cost per call.
//
// A gRPC C++ server (the callback API of Debian's libgrpc++) for
// cache.CacheService built from the repository's own cache.proto, whose
// Get always answers found=true with a fixed 100-byte value and whose Set
// answers OK, storing nothing. Every other method is left to gRPC
// (UNIMPLEMENTED). What tiny-cached spends per call beyond this server is
// the cost of being a cache rather than of speaking gRPC; see
// docs/benchmarks.md and scripts/bench-grpc.sh.
//
// Usage: null-server [HOST:PORT]   (default 127.0.0.1:50071)
#include <cstdio>
#include <memory>
#include <string>

#include <grpcpp/grpcpp.h>

#include "cache.grpc.pb.h"

namespace {

const std::string kValue(100, 'v');

class NullCache final : public cache::CacheService::CallbackService {
    grpc::ServerUnaryReactor *Get(grpc::CallbackServerContext *ctx,
                                  const cache::CacheKey *,
                                  cache::CacheValue *reply) override
    {
        reply->set_found(true);
        reply->set_value(kValue);
        return Done(ctx);
    }

    grpc::ServerUnaryReactor *Set(grpc::CallbackServerContext *ctx,
                                  const cache::CacheItem *,
                                  cache::CacheResponse *reply) override
    {
        reply->set_status(cache::OK);
        return Done(ctx);
    }

    static grpc::ServerUnaryReactor *Done(grpc::CallbackServerContext *ctx)
    {
        grpc::ServerUnaryReactor *r = ctx->DefaultReactor();
        r->Finish(grpc::Status::OK);
        return r;
    }
};

} // namespace

int main(int argc, char **argv)
{
    const std::string addr = argc > 1 ? argv[1] : "127.0.0.1:50071";
    NullCache service;
    grpc::ServerBuilder builder;
    int port = 0;

    builder.AddListeningPort(addr, grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(&service);
    std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
    if (!server || port == 0) {
        std::fprintf(stderr, "null-server: cannot listen on %s\n",
                     addr.c_str());
        return 1;
    }
    std::fprintf(stderr, "null-server: listening on %s\n", addr.c_str());
    server->Wait();
    return 0;
}
