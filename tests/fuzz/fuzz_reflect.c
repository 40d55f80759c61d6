/*
 * fuzz_reflect.c: libFuzzer target for server reflection's request decode
 * and replies (rpc_reflect.c), called as rpc_call.c calls a stream's
 * handler: the input is one ServerReflectionRequest body.
 *
 * Checked after every call: a request that decodes gets OK and a body
 * whose original_request (field 2) is the input byte for byte and which
 * holds exactly one answer (fields 4 to 7) and nothing else; each file of
 * a file answer names itself; anything else is INVALID_ARGUMENT with
 * details and no body. Reply slices are released, so LeakSanitizer sees
 * every leak.
 */
#include <string.h>

#include "fuzz.h"
#include "log.h"
#include "rpc_reflect.h"
#include "rpc_wire.h"

static struct rpc_worker fuzz_w;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    grpc_init();
    log_init(LOG_DEBUG, LOG_FORMAT_TEXT); /* so replies escape their key */
    return 0;
}

/* Each file of a file_descriptor_response carries its name. */
static void
fuzz_check_files(const uint8_t *p, size_t n)
{
    struct rpc_wire_in in;
    uint32_t field, type;
    const uint8_t *v;
    size_t vlen;
    struct rpc_wire_fields f;
    static const int types[4] = {RPC_WIRE_LEN, RPC_WIRE_LEN, -1, -1};

    rpc_wire_in_init(&in, p, n);
    while (rpc_wire_next(&in, &field, &type)) {
        FUZZ_CHECK(field == 1 && rpc_wire_bytes(&in, type, &v, &vlen));
        FUZZ_CHECK(rpc_wire_read_fields(v, vlen, types, &f) && f.has[1] &&
                   f.len[1] > 0);
    }
    FUZZ_CHECK(!in.error);
}

/* The reply echoes the request and answers it once. */
static void
fuzz_check_reply(const uint8_t *req, size_t len, grpc_slice body)
{
    struct rpc_wire_in in;
    uint32_t field, type;
    const uint8_t *v;
    size_t vlen;
    int answers = 0, echoed = 0;

    rpc_wire_in_init(&in, GRPC_SLICE_START_PTR(body), GRPC_SLICE_LENGTH(body));
    while (rpc_wire_next(&in, &field, &type)) {
        FUZZ_CHECK(rpc_wire_bytes(&in, type, &v, &vlen));
        if (field == 2) {
            FUZZ_CHECK(vlen == len && (len == 0 || memcmp(v, req, len) == 0));
            echoed++;
        } else if (field >= 4 && field <= 7) {
            answers++;
            if (field == 4)
                fuzz_check_files(v, vlen);
        } else {
            FUZZ_CHECK(field == 1);
        }
    }
    FUZZ_CHECK(!in.error && echoed == 1 && answers == 1);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct rpc_request r = {size > 0 ? data : NULL, size, NULL, 0};
    struct rpc_reply out;

    memset(&out, 0, sizeof out);
    rpc_reflect_info(&fuzz_w, &r, &out);
    FUZZ_CHECK(memchr(out.key_log, '\0', sizeof out.key_log) != NULL);
    if (out.code == GRPC_STATUS_OK) {
        FUZZ_CHECK(out.has_body);
        fuzz_check_reply(data, size, out.body);
        grpc_slice_unref(out.body);
        return 0;
    }
    FUZZ_CHECK(!out.has_body && out.details != NULL);
    FUZZ_CHECK(out.code == GRPC_STATUS_INVALID_ARGUMENT);
    return 0;
}
