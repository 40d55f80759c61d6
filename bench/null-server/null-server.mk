# Builds the C++ null server, the benchmark peer of scripts/bench-grpc.sh:
#   make -f bench/null-server/null-server.mk OUT=DIR   -> DIR/null-server
# from the repository's cache.proto. Needs Debian's g++, libgrpc++-dev,
# protobuf-compiler and protobuf-compiler-grpc (benchmarks only: neither
# the daemon nor its tests use them).
HERE := $(dir $(abspath $(lastword $(MAKEFILE_LIST))))
TOP := $(abspath $(HERE)../..)
OUT ?= $(HERE)out
CXX ?= g++
CXXFLAGS ?= -O2
GEN = $(OUT)/cache.pb.cc $(OUT)/cache.grpc.pb.cc

$(OUT)/null-server: $(HERE)null_server.cc $(GEN)
	$(CXX) $(CXXFLAGS) -std=c++17 -I$(OUT) -o $@ $(HERE)null_server.cc \
	    $(GEN) $$(pkg-config --cflags --libs grpc++ protobuf)

$(GEN): $(TOP)/cache.proto
	mkdir -p $(OUT)
	protoc -I$(TOP) --cpp_out=$(OUT) --grpc_out=$(OUT) \
	    --plugin=protoc-gen-grpc=$$(command -v grpc_cpp_plugin) \
	    $(TOP)/cache.proto

clean:
	rm -rf $(OUT)

.PHONY: clean
